/*
 * ql_config: how every Qingling daemon builds its configuration, from
 * declarative tables of settings (name, environment variable, type,
 * default, bounds, whether SIGHUP reloads it, the help line).  This module
 * owns the settings every daemon shares (ql_config_t) and the parsing; each
 * program declares its own settings in a table of its own, in its own
 * directory (producers/spool/spool_config.c, producers/gateway/gw_config.c,
 * consumers/triage/triage_config.c, consumers/board/bd_config.c), with a
 * struct whose first member is ql_config_t and a ql_program_t describing it.
 * A configuration is built once at start:
 *
 *     defaults  <  INI file given with -c FILE  <  QL_* environment  <  options
 *
 * and validated as a whole; a bad value stops the program with one line
 * naming the key.  The INI file holds settings under [qingling] (shared by
 * every program) or a section named after the program (e.g. [spool]), and
 * librdkafka properties under [kafka], passed through unchanged.  A program
 * skips the other programs' sections, so one file can configure a whole
 * deployment.  Command-line long options are the setting names with '_'
 * written as '-' (--schema-dir, --log-level).
 *
 * Reload (SIGHUP): build a new configuration the same way and swap it in
 * only if it validates; the old one stays in force otherwise.
 */
#ifndef QL_CONFIG_H
#define QL_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "ql_log.h"
#include "ql_uscc.h"

typedef struct {
        char *key;
        char *value;
} ql_kv_t;

/* The settings the daemons share (README.md, "Configuration").  Every
 * field has its default even in a program that does not take the setting
 * (ql-triage's dead-letter producer uses kafka_timeout_ms's). */
typedef struct {
        char *brokers;      /* QL_BROKERS */
        char *topic;        /* QL_TOPIC */
        char *schema_dir;   /* QL_SCHEMA_DIR */
        char *metrics_addr; /* QL_METRICS_ADDR, NULL/"" = off */
        ql_log_level_t log_level;
        ql_log_format_t log_format;
        ql_uscc_mode_t uscc_check;
        int kafka_timeout_ms; /* delivery bound for producers */

        /* [kafka] section, in file order */
        ql_kv_t *kafka;
        size_t kafka_n;

        char *config_file; /* -c FILE, or NULL */
} ql_config_t;

typedef enum {
        QL_SETTING_STR,       /* char *, strdup'ed; NULL when unset */
        QL_SETTING_INT,       /* int within [min, max] */
        QL_SETTING_LONG,      /* long within [min, max] */
        QL_SETTING_FLAG,      /* int 0/1: "1" "true" "yes", "0" "false" "no";
                               * an option without a value */
        QL_SETTING_LOGLEVEL,  /* ql_log_level_t */
        QL_SETTING_LOGFORMAT, /* ql_log_format_t */
        QL_SETTING_USCC,      /* ql_uscc_mode_t */
        QL_SETTING_SHARED,    /* a row made by QL_SHARED(): see below */
} ql_setting_type_t;

/* One setting: its INI key `name` (the long option is --name with '_'
 * written as '-'), its environment variable (NULL: none), where it lives
 * (offset into the program's struct), its default as text (NULL: unset),
 * whether SIGHUP applies it without a restart, and its --help line:
 * "--name METAVAR  help [default] (ENV) (SIGHUP reloads)". */
typedef struct {
        const char *name;
        const char *env;
        ql_setting_type_t type;
        size_t offset;
        const char *def;
        int reloadable;
        long min, max; /* QL_SETTING_INT / QL_SETTING_LONG bounds */
        const char *metavar;
        const char *help;
} ql_setting_t;

/* A row of a program's table taking the shared setting `name` ("brokers",
 * "topic", "schema_dir", "metrics_addr", "log_level", "log_format",
 * "uscc_check", "kafka_timeout_ms"): where it stands in the table is where
 * --help lists it. */
#define QL_SHARED(name)                                                        \
        {                                                                      \
                (name), NULL, QL_SETTING_SHARED, 0, NULL, 0, 0, 0, NULL, NULL  \
        }

/* A program: its INI section, its table (its own settings, offsets into
 * its struct, and QL_SHARED rows for the shared ones it takes, in --help
 * order), the size of its struct (which starts with a ql_config_t), and two
 * hooks, either may be NULL:
 *   defaults  sets defaults no table row can hold (a directory found at
 *             run time), after the table's; 0 or -1 with errstr;
 *   validate  checks the program's own settings once all are in, after the
 *             shared ones passed; 0 or -1 with errstr naming the key. */
typedef struct {
        const char *section;
        const ql_setting_t *settings;
        size_t n_settings;
        size_t size;
        int (*defaults)(void *cfg, char *errstr, size_t errstr_size);
        int (*validate)(const void *cfg, char *errstr, size_t errstr_size);
} ql_program_t;

typedef enum {
        QL_CONFIG_OK = 0,
        QL_CONFIG_ERROR = -1, /* errstr says which key and why */
        QL_CONFIG_HELP = 1,   /* --help was given; usage was printed */
} ql_config_rc_t;

/* Build cfg, a struct of `prog` (prog->size bytes, ql_config_t first), from
 * defaults, -c FILE, the environment and argv, then validate it.
 * `summary` is the first paragraph of --help.  Positional arguments are an
 * error.  On error cfg holds whatever was set so far; ql_config_free() it
 * in every case. */
ql_config_rc_t ql_config_build(const ql_program_t *prog, void *cfg,
                               const char *summary, int argc, char **argv,
                               char *errstr, size_t errstr_size);

/* Set one setting of prog by name ("brokers", "log_level", ...) from text,
 * as the INI file and options do.  -1 with errstr on a name prog does not
 * take or a bad value. */
int ql_config_set(const ql_program_t *prog, void *cfg, const char *name,
                  const char *value, char *errstr, size_t errstr_size);

/* Print the option list of prog, with environment variables and defaults. */
void ql_config_usage(FILE *out, const ql_program_t *prog);

/* Frees the members of cfg, a struct of prog; cfg itself is yours. */
void ql_config_free(const ql_program_t *prog, void *cfg);

/* The keys of every program's own table, NULL-terminated.  A key in
 * [qingling] that this program does not take is skipped when it is one of
 * these (it belongs to another program) and an error otherwise (a typo);
 * in the program's own section, it "does not apply".  A new setting of a
 * program adds its name here (tests/unit/test_config.c checks the list
 * against the tables). */
extern const char *const ql_config_program_keys[];

/* Split "host:port" (host may be empty or [v6]).  0 on success. */
int ql_config_split_addr(const char *addr, char *host, size_t host_size,
                         int *port);

/* Directory holding the schemas when QL_SCHEMA_DIR is not set: the source
 * tree's schemas/avro when run from a build tree, else the installed one. */
const char *ql_config_default_schema_dir(void);

/* Directory `source` when it exists (the program runs from a build tree),
 * else `installed`: for defaults like the schema directory. */
const char *ql_config_dir_or(const char *source, const char *installed);

#endif
