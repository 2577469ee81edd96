/*
 * ql_config: every setting of the Qingling daemons in one declarative table
 * (name, environment variable, type, default, which programs use it, whether
 * SIGHUP reloads it).  A program's configuration is built once at start:
 *
 *     defaults  <  INI file given with -c FILE  <  QL_* environment  <  options
 *
 * and validated as a whole; a bad value stops the program with one line
 * naming the key.  The INI file holds settings under [qingling] (or a section
 * named after the program, e.g. [spool]), and librdkafka properties under
 * [kafka], passed through unchanged.  Command-line long options are the
 * setting names with '_' written as '-' (--schema-dir, --log-level).
 *
 * Reload (SIGHUP): build a new ql_config_t the same way and swap it in only
 * if it validates; the old one stays in force otherwise.
 */
#ifndef QL_CONFIG_H
#define QL_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "ql_log.h"
#include "ql_uscc.h"

/* Programs, as a bit mask: which settings each one takes. */
enum {
        QL_PROG_SPOOL = 1 << 0,
        QL_PROG_GATEWAY = 1 << 1,
        QL_PROG_TRIAGE = 1 << 2,
        QL_PROG_BOARD = 1 << 3,
};

typedef struct {
        char *key;
        char *value;
} ql_kv_t;

typedef struct {
        /* shared (README.md, "Configuration") */
        char *brokers;      /* QL_BROKERS */
        char *topic;        /* QL_TOPIC */
        char *dlq_topic;    /* QL_DLQ_TOPIC */
        char *schema_dir;   /* QL_SCHEMA_DIR */
        char *metrics_addr; /* QL_METRICS_ADDR, NULL/"" = off */
        ql_log_level_t log_level;
        ql_log_format_t log_format;
        ql_uscc_mode_t uscc_check;
        int kafka_timeout_ms; /* delivery bound for producers */

        /* ql-triage */
        char *pg;               /* QL_PG */
        char *pg_password_file; /* QL_PG_PASSWORD_FILE, or NULL */
        char *bureau_region;    /* QL_BUREAU_REGION, or NULL */
        int pg_statement_timeout_ms;
        char *group; /* QL_GROUP */
        int batch_size;
        int batch_ms;
        int workers;   /* consumers in the group, one connection each;
                        * 0: one per core (ql-triage caps it) */
        int bulk_lag;  /* lag that switches ql-triage to bulk mode; 0 off */
        int idle_exit; /* seconds, 0 = run until signalled */
        int migrate_only;
        int redrive;
        char *sql_dir; /* QL_SQL_DIR: the NNN_*.sql migrations */

        /* ql-spool */
        char *dir;
        char *lab;
        char *check; /* --check FILE */
        int once;
        int rescan;         /* seconds between listings of incoming/, 0 off */
        int min_age;        /* seconds a listed file must be unmodified */
        int done_retention; /* days files stay in done/, 0 = for ever */

        /* ql-gateway */
        char *gateway_addr;   /* QL_GATEWAY_ADDR */
        char *gateway_tokens; /* QL_GATEWAY_TOKENS */
        char *tls_cert;
        char *tls_key;
        char *tls_priorities; /* GnuTLS priority string */
        int allow_plain_http; /* plain HTTP on a non-loopback address */
        long max_body;
        int max_records;
        int ack_timeout_ms;
        int threads;
        int client_timeout;  /* seconds a connection may stay idle */
        int request_timeout; /* seconds for a whole request to arrive */
        int max_connections;
        int max_connections_per_address; /* 0: no limit */

        /* ql-board (docs/board.md) */
        char *board_addr;       /* QL_BOARD_ADDR */
        char *board_pg;         /* QL_BOARD_PG: no user, no password */
        char *board_tls_cert;   /* QL_BOARD_TLS_CERT */
        char *board_tls_key;    /* QL_BOARD_TLS_KEY */
        char *bureau_name;      /* QL_BUREAU_NAME: on the notices */
        char *board_static_dir; /* QL_BOARD_STATIC_DIR: CSS and JS */
        int board_idle_timeout; /* seconds a session may stay unused */
        int board_max_sessions; /* sessions (and connections) at once */
        int board_threads;      /* HTTP threads */
        long board_max_body;    /* largest form body */

        /* [kafka] section, in file order */
        ql_kv_t *kafka;
        size_t kafka_n;

        char *config_file; /* -c FILE, or NULL */
} ql_config_t;

typedef enum {
        QL_CONFIG_OK = 0,
        QL_CONFIG_ERROR = -1, /* errstr says which key and why */
        QL_CONFIG_HELP = 1,   /* --help was given; usage was printed */
} ql_config_rc_t;

/* Build cfg for program `prog` (QL_PROG_*) from defaults, -c FILE, the
 * environment and argv, then validate it.  `summary` is the first paragraph
 * of --help.  Positional arguments are an error.  On error cfg holds
 * whatever was set so far; ql_config_free() it in every case. */
ql_config_rc_t ql_config_build(ql_config_t *cfg, int prog, const char *summary,
                               int argc, char **argv, char *errstr,
                               size_t errstr_size);

/* Set one setting by name ("brokers", "log_level", ...) from text, as the INI
 * file and options do.  -1 with errstr on an unknown name or a bad value. */
int ql_config_set(ql_config_t *cfg, int prog, const char *name,
                  const char *value, char *errstr, size_t errstr_size);

/* Print the option list of `prog`, with environment variables and defaults. */
void ql_config_usage(FILE *out, int prog);

void ql_config_free(ql_config_t *cfg); /* frees members; cfg itself is yours */

/* Split "host:port" (host may be empty or [v6]).  0 on success. */
int ql_config_split_addr(const char *addr, char *host, size_t host_size,
                         int *port);

/* Directory holding the schemas when QL_SCHEMA_DIR is not set: the source
 * tree's schemas/avro when run from a build tree, else the installed one. */
const char *ql_config_default_schema_dir(void);

/* Directory holding the migrations when QL_SQL_DIR is not set: the source
 * tree's schemas/sql when run from a build tree, else the installed one. */
const char *ql_config_default_sql_dir(void);

/* Directory holding ql-board's static files when QL_BOARD_STATIC_DIR is not
 * set: the source tree's consumers/board/static when run from a build tree,
 * else the installed share/qingling/board. */
const char *ql_config_default_board_static_dir(void);

#endif
