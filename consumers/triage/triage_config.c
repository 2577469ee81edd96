/*
 * triage_config: the table of ql-triage's own settings, their checks and
 * the default migrations directory (triage_config.h).  ql_config parses
 * them.
 */
#include "triage_config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define OFF(f) offsetof(triage_config_t, f)

static const ql_setting_t settings[] = {
    QL_SHARED("brokers"),
    QL_SHARED("topic"),
    {"dlq_topic", "QL_DLQ_TOPIC", QL_SETTING_STR, OFF(dlq_topic),
     "inspection.results.dlq", 0, 0, 0, "NAME", "dead-letter topic"},
    QL_SHARED("schema_dir"),
    QL_SHARED("metrics_addr"),
    QL_SHARED("log_level"),
    QL_SHARED("log_format"),
    QL_SHARED("uscc_check"),
    {"pg", "QL_PG", QL_SETTING_STR, OFF(pg), "dbname=qingling", 0, 0, 0,
     "CONNINFO", "libpq connection string"},
    {"pg_password_file", "QL_PG_PASSWORD_FILE", QL_SETTING_STR,
     OFF(pg_password_file), NULL, 0, 0, 0, "FILE",
     "PostgreSQL password, read from FILE at start (one line; e.g. a Docker "
     "secret); overrides a password in --pg"},
    {"pg_statement_timeout_ms", "QL_PG_STATEMENT_TIMEOUT_MS", QL_SETTING_INT,
     OFF(pg_statement_timeout_ms), "60000", 0, 100, 3600000, "MS",
     "PostgreSQL statement_timeout; a statement not answered within it "
     "(plus at most 5 s) drops the connection"},
    {"bureau_region", "QL_BUREAU_REGION", QL_SETTING_STR, OFF(bureau_region),
     NULL, 0, 0, 0, "PREFIX",
     "the bureau's region, a GB/T 2260 prefix (e.g. 350206): a seller's "
     "product made outside it is notified to the producer's bureau (Art. 44); "
     "recorded in the database at start (unset: left as recorded)"},
    {"group", "QL_GROUP", QL_SETTING_STR, OFF(group), "ql-triage", 0, 0, 0,
     "ID", "Kafka consumer group"},
    {"batch_size", "QL_BATCH_SIZE", QL_SETTING_INT, OFF(batch_size), "2000", 0,
     1, 100000, "N",
     "records per database transaction (split between --workers)"},
    {"batch_ms", "QL_BATCH_MS", QL_SETTING_INT, OFF(batch_ms), "200", 0, 1,
     60000, "MS", "close a batch after this long"},
    {"workers", "QL_WORKERS", QL_SETTING_INT, OFF(workers), "0", 0, 0, 16, "N",
     "group members in this process, each with its own PostgreSQL "
     "connection (0: one per core, at most 4)"},
    {"bulk_lag", "QL_BULK_LAG", QL_SETTING_INT, OFF(bulk_lag), "10000", 0, 0,
     1000000000, "N",
     "with N records or more not yet stored, store batches with only their "
     "enterprises registered and derive the cases once caught up (0: "
     "never)"},
    {"idle_exit", NULL, QL_SETTING_INT, OFF(idle_exit), "0", 0, 0, 86400,
     "SECONDS",
     "exit 0 once every member is caught up and idle this long (0: never)"},
    {"migrate_only", NULL, QL_SETTING_FLAG, OFF(migrate_only), "0", 0, 0, 0,
     NULL, "apply the database migrations and exit"},
    {"redrive", NULL, QL_SETTING_FLAG, OFF(redrive), "0", 0, 0, 0, NULL,
     "re-submit dead letters of ql.rejected_record to the topic, then exit"},
    {"sql_dir", "QL_SQL_DIR", QL_SETTING_STR, OFF(sql_dir), NULL, 0, 0, 0,
     "DIR", "directory of the NNN_*.sql database migrations"},
};

/* The migrations when QL_SQL_DIR is not set: the source tree's schemas/sql
 * when run from a build tree, else the installed one. */
static int defaults(void *cfg, char *errstr, size_t errstr_size)
{
        return ql_config_set(
            &triage_config_program, cfg, "sql_dir",
            ql_config_dir_or(QL_SOURCE_SQL_DIR, QL_INSTALL_SQL_DIR), errstr,
            errstr_size);
}

static int validate(const void *pcfg, char *errstr, size_t errstr_size)
{
        const triage_config_t *cfg = pcfg;
        if (!cfg->group || !*cfg->group) {
                snprintf(errstr, errstr_size, "group: must not be empty");
                return -1;
        }
        if (cfg->bureau_region && *cfg->bureau_region) {
                size_t n = strlen(cfg->bureau_region);
                int digits = n >= 2 && n <= 6;
                for (size_t i = 0; digits && i < n; i++)
                        digits = cfg->bureau_region[i] >= '0' &&
                                 cfg->bureau_region[i] <= '9';
                if (!digits) {
                        snprintf(errstr, errstr_size,
                                 "bureau_region: '%s' is not a GB/T 2260 "
                                 "prefix (2 to 6 digits)",
                                 cfg->bureau_region);
                        return -1;
                }
        }
        return 0;
}

const ql_program_t triage_config_program = {
    .section = "triage",
    .settings = settings,
    .n_settings = sizeof(settings) / sizeof(settings[0]),
    .size = sizeof(triage_config_t),
    .defaults = defaults,
    .validate = validate,
};
