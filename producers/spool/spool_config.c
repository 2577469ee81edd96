/*
 * spool_config: the table of ql-spool's own settings and their checks
 * (spool_config.h).  ql_config parses them.
 */
#include "spool_config.h"

#include <stddef.h>
#include <stdio.h>

#define OFF(f) offsetof(spool_config_t, f)

static const ql_setting_t settings[] = {
    QL_SHARED("brokers"),
    QL_SHARED("topic"),
    QL_SHARED("schema_dir"),
    QL_SHARED("metrics_addr"),
    QL_SHARED("log_level"),
    QL_SHARED("log_format"),
    QL_SHARED("uscc_check"),
    QL_SHARED("kafka_timeout_ms"),
    {"dir", "QL_SPOOL_DIR", QL_SETTING_STR, OFF(dir), NULL, 0, 0, 0, "DIR",
     "spool directory (incoming/, done/, rejected/ inside)"},
    {"lab", "QL_LAB", QL_SETTING_STR, OFF(lab), NULL, 0, 0, 0, "CODE",
     "the lab whose files these are; every record must carry it"},
    {"once", NULL, QL_SETTING_FLAG, OFF(once), "0", 0, 0, 0, NULL,
     "process what is in incoming/ and exit (0 ok, 3 rejects, 1 fault)"},
    {"check", NULL, QL_SETTING_STR, OFF(check), NULL, 0, 0, 0, "FILE",
     "only validate FILE and print every problem (no Kafka)"},
    {"rescan", "QL_SPOOL_RESCAN", QL_SETTING_INT, OFF(rescan), "30", 0, 0,
     86400, "SECONDS",
     "also list incoming/ this often, for network shares that send no "
     "inotify events (0: off)"},
    {"min_age", "QL_SPOOL_MIN_AGE", QL_SETTING_INT, OFF(min_age), "5", 0, 0,
     86400, "SECONDS",
     "take a file found by listing incoming/ only once it is unmodified "
     "this long"},
    {"done_retention", "QL_SPOOL_DONE_RETENTION", QL_SETTING_INT,
     OFF(done_retention), "0", 0, 0, 36500, "DAYS",
     "remove files older than this from done/ (0: keep them)"},
};

static int validate(const void *pcfg, char *errstr, size_t errstr_size)
{
        const spool_config_t *cfg = pcfg;
        if (!cfg->lab || !*cfg->lab) {
                snprintf(errstr, errstr_size, "lab: required (--lab CODE)");
                return -1;
        }
        if (!cfg->check && (!cfg->dir || !*cfg->dir)) {
                snprintf(errstr, errstr_size, "dir: required (--dir DIR)");
                return -1;
        }
        return 0;
}

const ql_program_t spool_config_program = {
    .section = "spool",
    .settings = settings,
    .n_settings = sizeof(settings) / sizeof(settings[0]),
    .size = sizeof(spool_config_t),
    .validate = validate,
};
