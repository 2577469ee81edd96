/*
 * triage_config: ql-triage's settings, the shared ones (ql_config.h) and
 * its own: the dead-letter topic, PostgreSQL, the consumer group and its
 * members, batches, bulk mode, the one-shot modes and the migrations.
 * Built with ql_config_build(&triage_config_program, &cfg, ...).
 */
#ifndef TRIAGE_CONFIG_H
#define TRIAGE_CONFIG_H

#include "ql_config.h"

typedef struct {
        ql_config_t base;       /* first: the shared table's offsets apply */
        char *dlq_topic;        /* QL_DLQ_TOPIC */
        char *pg;               /* QL_PG */
        char *pg_password_file; /* QL_PG_PASSWORD_FILE, or NULL */
        char *bureau_region;    /* QL_BUREAU_REGION, or NULL */
        int pg_statement_timeout_ms;
        char *group; /* QL_GROUP */
        int batch_size;
        int batch_ms;
        int workers;   /* consumers in the group, one connection each;
                        * 0: one per core (main.c caps it) */
        int bulk_lag;  /* lag that switches to bulk mode; 0 off */
        int idle_exit; /* seconds, 0 = run until signalled */
        int migrate_only;
        int redrive;
        char *sql_dir; /* QL_SQL_DIR: the NNN_*.sql migrations */
} triage_config_t;

extern const ql_program_t triage_config_program;

#endif
