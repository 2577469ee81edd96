/*
 * ql_config: the shared settings' table and the one way a configuration is
 * built: defaults, then the INI file (-c FILE), then QL_* environment
 * variables, then command-line options, then validation of the whole.
 * Every setting is one row of a table (`shared` below, or a program's own
 * in its directory); --help, the INI keys, the environment names and the
 * long options are all derived from that row, so they cannot drift.
 */
#include "ql_config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OFF(f) offsetof(ql_config_t, f)

/* A program's struct starts with its ql_config_t, so these offsets hold in
 * every program's struct. */
static const ql_setting_t shared[] = {
    {"brokers", "QL_BROKERS", QL_SETTING_STR, OFF(brokers), "127.0.0.1:9092", 0,
     0, 0, "HOSTS", "Kafka bootstrap servers"},
    {"topic", "QL_TOPIC", QL_SETTING_STR, OFF(topic), "inspection.results", 0,
     0, 0, "NAME", "results topic"},
    {"schema_dir", "QL_SCHEMA_DIR", QL_SETTING_STR, OFF(schema_dir), NULL, 0, 0,
     0, "DIR", "directory of the *.avsc record schemas"},
    {"metrics_addr", "QL_METRICS_ADDR", QL_SETTING_STR, OFF(metrics_addr), "",
     0, 0, 0, "HOST:PORT",
     "serve /metrics, /healthz, /readyz here (empty: off)"},
    {"log_level", "QL_LOG_LEVEL", QL_SETTING_LOGLEVEL, OFF(log_level), "info",
     1, 0, 0, "LEVEL", "debug, info, warn or error"},
    {"log_format", "QL_LOG_FORMAT", QL_SETTING_LOGFORMAT, OFF(log_format),
     "text", 1, 0, 0, "FORMAT", "text or json"},
    {"uscc_check", "QL_USCC_CHECK", QL_SETTING_USCC, OFF(uscc_check), "strict",
     1, 0, 0, "MODE",
     "credit code check characters: strict rejects, warn accepts with a "
     "warning"},
    {"kafka_timeout_ms", "QL_KAFKA_TIMEOUT_MS", QL_SETTING_INT,
     OFF(kafka_timeout_ms), "30000", 0, 100, 3600000, "MS",
     "give up on a Kafka acknowledgement after this long"},
};

#define NSHARED (sizeof(shared) / sizeof(shared[0]))

/* The INI sections of the programs: a program skips the others'. */
static const char *const sections[] = {"spool", "gateway", "triage", "board",
                                       NULL};

const char *const ql_config_program_keys[] = {
    /* ql-spool (producers/spool/spool_config.c) */
    "dir", "lab", "once", "check", "rescan", "min_age", "done_retention",
    /* ql-gateway (producers/gateway/gw_config.c) */
    "gateway_addr", "gateway_tokens", "tls_cert", "tls_key", "tls_priorities",
    "allow_plain_http", "max_body", "max_records", "ack_timeout_ms", "threads",
    "client_timeout", "request_timeout", "max_connections",
    "max_connections_per_address",
    /* ql-triage (consumers/triage/triage_config.c) */
    "dlq_topic", "pg", "pg_password_file", "pg_statement_timeout_ms",
    "bureau_region", "group", "batch_size", "batch_ms", "workers", "bulk_lag",
    "idle_exit", "migrate_only", "redrive", "sql_dir",
    /* ql-board (consumers/board/bd_config.c) */
    "board_addr", "board_pg", "board_tls_cert", "board_tls_key", "bureau_name",
    "board_static_dir", "board_idle_timeout", "board_max_sessions",
    "board_threads", "board_max_body", NULL};

/* Room for a program's rows in the option parser. */
#define MAX_SETTINGS 64

static void errf(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void errf(char *errstr, size_t size, const char *fmt, ...)
{
        if (!errstr || !size)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, size, fmt, ap);
        va_end(ap);
}

static const ql_setting_t *find_shared(const char *name)
{
        for (size_t i = 0; i < NSHARED; i++)
                if (!strcmp(shared[i].name, name))
                        return &shared[i];
        return NULL;
}

/* Row i of prog's table, a QL_SHARED row resolved to the shared row. */
static const ql_setting_t *row(const ql_program_t *prog, size_t i)
{
        const ql_setting_t *s = &prog->settings[i];
        return s->type == QL_SETTING_SHARED ? find_shared(s->name) : s;
}

/* The setting `name` of prog, or NULL when prog does not take it. */
static const ql_setting_t *find_setting(const ql_program_t *prog,
                                        const char *name)
{
        for (size_t i = 0; i < prog->n_settings; i++)
                if (!strcmp(prog->settings[i].name, name))
                        return row(prog, i);
        return NULL;
}

/* Is `name` a setting of any program? */
static int known_key(const char *name)
{
        if (find_shared(name))
                return 1;
        for (const char *const *k = ql_config_program_keys; *k; k++)
                if (!strcmp(*k, name))
                        return 1;
        return 0;
}

/* Every QL_SHARED row names a shared setting: a table that says otherwise
 * is a mistake of the program's, reported rather than skipped. */
static int check_table(const ql_program_t *prog, char *errstr,
                       size_t errstr_size)
{
        if (prog->n_settings > MAX_SETTINGS) {
                errf(errstr, errstr_size, "[%s]: more than %d settings",
                     prog->section, MAX_SETTINGS);
                return -1;
        }
        for (size_t i = 0; i < prog->n_settings; i++)
                if (!row(prog, i)) {
                        errf(errstr, errstr_size,
                             "[%s]: %s is not a shared setting", prog->section,
                             prog->settings[i].name);
                        return -1;
                }
        return 0;
}

static int parse_long(const char *v, long min, long max, long *out)
{
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < min || x > max)
                return -1;
        *out = x;
        return 0;
}

static int apply(void *cfg, const ql_setting_t *s, const char *value,
                 char *errstr, size_t errstr_size)
{
        char *base = cfg;
        long l;
        int e;
        switch (s->type) {
        case QL_SETTING_STR: {
                char **slot = (char **)(base + s->offset);
                char *copy = strdup(value);
                if (!copy) {
                        errf(errstr, errstr_size, "%s: out of memory", s->name);
                        return -1;
                }
                free(*slot);
                *slot = copy;
                return 0;
        }
        case QL_SETTING_INT:
        case QL_SETTING_LONG:
                if (parse_long(value, s->min, s->max, &l)) {
                        errf(errstr, errstr_size,
                             "%s: '%s' is not a whole number from %ld to %ld",
                             s->name, value, s->min, s->max);
                        return -1;
                }
                if (s->type == QL_SETTING_INT)
                        *(int *)(base + s->offset) = (int)l;
                else
                        *(long *)(base + s->offset) = l;
                return 0;
        case QL_SETTING_FLAG:
                if (!strcmp(value, "1") || !strcmp(value, "true") ||
                    !strcmp(value, "yes"))
                        *(int *)(base + s->offset) = 1;
                else if (!strcmp(value, "0") || !strcmp(value, "false") ||
                         !strcmp(value, "no"))
                        *(int *)(base + s->offset) = 0;
                else {
                        errf(errstr, errstr_size,
                             "%s: '%s' is not true or false", s->name, value);
                        return -1;
                }
                return 0;
        case QL_SETTING_LOGLEVEL:
                if ((e = ql_log_level_parse(value)) < 0) {
                        errf(errstr, errstr_size,
                             "%s: '%s' is not debug, info, warn or error",
                             s->name, value);
                        return -1;
                }
                *(ql_log_level_t *)(base + s->offset) = (ql_log_level_t)e;
                return 0;
        case QL_SETTING_LOGFORMAT:
                if ((e = ql_log_format_parse(value)) < 0) {
                        errf(errstr, errstr_size,
                             "%s: '%s' is not text or json", s->name, value);
                        return -1;
                }
                *(ql_log_format_t *)(base + s->offset) = (ql_log_format_t)e;
                return 0;
        case QL_SETTING_USCC:
                if ((e = ql_uscc_mode_parse(value)) < 0) {
                        errf(errstr, errstr_size,
                             "%s: '%s' is not strict or warn", s->name, value);
                        return -1;
                }
                *(ql_uscc_mode_t *)(base + s->offset) = (ql_uscc_mode_t)e;
                return 0;
        case QL_SETTING_SHARED:
                break;
        }
        errf(errstr, errstr_size, "%s: not a setting", s->name);
        return -1;
}

int ql_config_set(const ql_program_t *prog, void *cfg, const char *name,
                  const char *value, char *errstr, size_t errstr_size)
{
        const ql_setting_t *s = find_setting(prog, name);
        if (!s) {
                errf(errstr, errstr_size, "%s: unknown setting", name);
                return -1;
        }
        return apply(cfg, s, value, errstr, errstr_size);
}

/* Every shared setting gets its default, taken or not: a program may use
 * one it does not let the operator set. */
static int set_defaults(const ql_program_t *prog, void *cfg, char *errstr,
                        size_t errstr_size)
{
        for (size_t i = 0; i < NSHARED; i++)
                if (shared[i].def &&
                    apply(cfg, &shared[i], shared[i].def, errstr, errstr_size))
                        return -1;
        for (size_t i = 0; i < prog->n_settings; i++) {
                const ql_setting_t *s = &prog->settings[i];
                if (s->type != QL_SETTING_SHARED && s->def &&
                    apply(cfg, s, s->def, errstr, errstr_size))
                        return -1;
        }
        if (prog->defaults && prog->defaults(cfg, errstr, errstr_size))
                return -1;
        return apply(cfg, find_shared("schema_dir"),
                     ql_config_default_schema_dir(), errstr, errstr_size);
}

const char *ql_config_dir_or(const char *source, const char *installed)
{
        struct stat st;
        if (stat(source, &st) == 0 && S_ISDIR(st.st_mode))
                return source;
        return installed;
}

const char *ql_config_default_schema_dir(void)
{
        return ql_config_dir_or(QL_SOURCE_SCHEMA_DIR, QL_INSTALL_SCHEMA_DIR);
}

/* INI parsing: inih calls back per key; the first error wins. */
typedef struct {
        const ql_program_t *prog;
        void *cfg;
        const char *path;
        char *errstr;
        size_t errstr_size;
        int failed;
} ini_ctx_t;

static int kv_append(ql_config_t *cfg, const char *key, const char *value)
{
        ql_kv_t *v = realloc(cfg->kafka, (cfg->kafka_n + 1) * sizeof(*v));
        if (!v)
                return -1;
        cfg->kafka = v;
        v[cfg->kafka_n].key = strdup(key);
        v[cfg->kafka_n].value = strdup(value);
        if (!v[cfg->kafka_n].key || !v[cfg->kafka_n].value) {
                free(v[cfg->kafka_n].key);
                free(v[cfg->kafka_n].value);
                return -1;
        }
        cfg->kafka_n++;
        return 0;
}

static int known_section(const char *section)
{
        if (!strcmp(section, "") || !strcmp(section, "qingling"))
                return 1;
        for (const char *const *s = sections; *s; s++)
                if (!strcmp(*s, section))
                        return 1;
        return 0;
}

static int config_ini_cb(void *user, const char *section, const char *name,
                         const char *value)
{
        ini_ctx_t *c = user;
        if (c->failed)
                return 0;
        char why[256];
        if (!strcmp(section, "kafka")) {
                if (kv_append(c->cfg, name, value) == 0)
                        return 1;
                snprintf(why, sizeof(why), "out of memory");
        } else if (known_section(section)) {
                /* A program ignores the sections of the others, so one file
                 * can configure a whole deployment. */
                int own = !strcmp(section, c->prog->section);
                int mine =
                    own || !strcmp(section, "") || !strcmp(section, "qingling");
                const ql_setting_t *s = find_setting(c->prog, name);
                if (!s && !known_key(name)) {
                        snprintf(why, sizeof(why), "unknown key '%s'", name);
                } else if (!mine) {
                        return 1;
                } else if (!s) {
                        /* [qingling] is shared by all programs. */
                        if (!own)
                                return 1;
                        snprintf(why, sizeof(why),
                                 "key '%s' does not apply to [%s]", name,
                                 section);
                } else if (apply(c->cfg, s, value, why, sizeof(why)) == 0) {
                        return 1;
                }
        } else {
                snprintf(why, sizeof(why), "unknown section [%s]", section);
        }
        errf(c->errstr, c->errstr_size, "%s: [%s] %s", c->path, section, why);
        c->failed = 1;
        return 0;
}

static int load_file(const ql_program_t *prog, void *cfg, const char *path,
                     char *errstr, size_t errstr_size)
{
        FILE *f = fopen(path, "r");
        if (!f) {
                errf(errstr, errstr_size, "config file %s: %s", path,
                     strerror(errno));
                return -1;
        }
        ini_ctx_t c = {prog, cfg, path, errstr, errstr_size, 0};
        int rc = ini_parse_file(f, config_ini_cb, &c);
        fclose(f);
        if (c.failed)
                return -1;
        if (rc != 0) {
                errf(errstr, errstr_size, "%s:%d: not valid INI syntax", path,
                     rc);
                return -1;
        }
        return 0;
}

static int load_env(const ql_program_t *prog, void *cfg, char *errstr,
                    size_t errstr_size)
{
        for (size_t i = 0; i < prog->n_settings; i++) {
                const ql_setting_t *s = row(prog, i);
                const char *v;
                if (!s->env || !(v = getenv(s->env)))
                        continue;
                char why[256];
                if (apply(cfg, s, v, why, sizeof(why))) {
                        errf(errstr, errstr_size, "environment %s: %s", s->env,
                             why);
                        return -1;
                }
        }
        return 0;
}

int ql_config_split_addr(const char *addr, char *host, size_t host_size,
                         int *port)
{
        const char *colon;
        if (!addr || !*addr)
                return -1;
        if (addr[0] == '[') {
                const char *end = strchr(addr, ']');
                if (!end || end[1] != ':')
                        return -1;
                if ((size_t)(end - addr - 1) >= host_size)
                        return -1;
                memcpy(host, addr + 1, (size_t)(end - addr - 1));
                host[end - addr - 1] = '\0';
                colon = end + 1;
        } else {
                colon = strrchr(addr, ':');
                if (!colon || (size_t)(colon - addr) >= host_size)
                        return -1;
                memcpy(host, addr, (size_t)(colon - addr));
                host[colon - addr] = '\0';
        }
        long p;
        if (parse_long(colon + 1, 1, 65535, &p))
                return -1;
        *port = (int)p;
        return 0;
}

/* The shared settings, checked for every program; then the program's. */
static int validate(const ql_program_t *prog, const void *pcfg, char *errstr,
                    size_t errstr_size)
{
        const ql_config_t *cfg = pcfg;
        char host[256];
        int port;
        if (!cfg->brokers || !*cfg->brokers) {
                errf(errstr, errstr_size, "brokers: must not be empty");
                return -1;
        }
        if (!cfg->topic || !*cfg->topic) {
                errf(errstr, errstr_size, "topic: must not be empty");
                return -1;
        }
        if (cfg->metrics_addr && *cfg->metrics_addr &&
            ql_config_split_addr(cfg->metrics_addr, host, sizeof(host),
                                 &port)) {
                errf(errstr, errstr_size, "metrics_addr: '%s' is not HOST:PORT",
                     cfg->metrics_addr);
                return -1;
        }
        return prog->validate ? prog->validate(pcfg, errstr, errstr_size) : 0;
}

void ql_config_usage(FILE *out, const ql_program_t *prog)
{
        fprintf(out, "Options (also settable in the -c FILE and, where "
                     "named, the environment):\n");
        fprintf(out,
                "  -c, --config FILE        INI file: [qingling] or "
                "[%s] settings, [kafka] librdkafka properties\n",
                prog->section);
        for (size_t i = 0; i < prog->n_settings; i++) {
                const ql_setting_t *s = row(prog, i);
                if (!s)
                        continue;
                char opt[64];
                snprintf(opt, sizeof(opt), "--%s%s%s", s->name,
                         s->metavar ? " " : "", s->metavar ? s->metavar : "");
                for (char *p = opt + 2; *p && *p != ' '; p++)
                        if (*p == '_')
                                *p = '-';
                fprintf(out, "      %-22s %s", opt, s->help);
                if (s->type != QL_SETTING_FLAG && s->def && *s->def)
                        fprintf(out, " [%s]", s->def);
                if (s->env)
                        fprintf(out, " (%s)", s->env);
                if (s->reloadable)
                        fprintf(out, " (SIGHUP reloads)");
                fputc('\n', out);
        }
        fprintf(out, "  -h, --help               show this help\n"
                     "  -V, --version            show the version\n");
}

ql_config_rc_t ql_config_build(const ql_program_t *prog, void *cfg,
                               const char *summary, int argc, char **argv,
                               char *errstr, size_t errstr_size)
{
        memset(cfg, 0, prog->size); /* first: ql_config_free() is safe */
        if (check_table(prog, errstr, errstr_size) ||
            set_defaults(prog, cfg, errstr, errstr_size))
                return QL_CONFIG_ERROR;

        /* Long options derived from the table; option index i >= 0x100 maps
         * to row i - 0x100 of prog's table. */
        struct option longopts[MAX_SETTINGS + 4];
        char names[MAX_SETTINGS][64];
        size_t n = 0;
        for (size_t i = 0; i < prog->n_settings; i++) {
                const ql_setting_t *s = row(prog, i);
                snprintf(names[i], sizeof(names[i]), "%s", s->name);
                for (char *p = names[i]; *p; p++)
                        if (*p == '_')
                                *p = '-';
                longopts[n++] = (struct option){names[i],
                                                s->type == QL_SETTING_FLAG
                                                    ? no_argument
                                                    : required_argument,
                                                NULL, (int)(0x100 + i)};
        }
        longopts[n++] = (struct option){"config", required_argument, NULL, 'c'};
        longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
        longopts[n++] = (struct option){"version", no_argument, NULL, 'V'};
        longopts[n] = (struct option){NULL, 0, NULL, 0};

        /* Options win over everything, but are applied last: remember them. */
        struct {
                const ql_setting_t *s;
                const char *v;
        } cli[128];
        size_t ncli = 0;
        const char *file = NULL;
        int c;
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":c:hV", longopts, NULL)) != -1) {
                switch (c) {
                case 'c':
                        file = optarg;
                        break;
                case 'h':
                        printf("Usage: %s [OPTIONS]\n%s\n\n", argv[0], summary);
                        ql_config_usage(stdout, prog);
                        return QL_CONFIG_HELP;
                case 'V':
                        printf("%s %s\n", argv[0], QL_VERSION);
                        return QL_CONFIG_HELP;
                case ':':
                        errf(errstr, errstr_size, "%s: needs a value",
                             argv[optind - 1]);
                        return QL_CONFIG_ERROR;
                case '?':
                        errf(errstr, errstr_size,
                             "%s: unknown option (see --help)",
                             argv[optind - 1]);
                        return QL_CONFIG_ERROR;
                default:
                        if (ncli == sizeof(cli) / sizeof(cli[0])) {
                                errf(errstr, errstr_size, "too many options");
                                return QL_CONFIG_ERROR;
                        }
                        cli[ncli].s = row(prog, (size_t)(c - 0x100));
                        cli[ncli].v =
                            cli[ncli].s->type == QL_SETTING_FLAG ? "1" : optarg;
                        ncli++;
                }
        }
        if (optind < argc) {
                errf(errstr, errstr_size, "unexpected argument '%s'",
                     argv[optind]);
                return QL_CONFIG_ERROR;
        }
        ql_config_t *base = cfg;
        if (file) {
                base->config_file = strdup(file);
                if (load_file(prog, cfg, file, errstr, errstr_size))
                        return QL_CONFIG_ERROR;
        }
        if (load_env(prog, cfg, errstr, errstr_size))
                return QL_CONFIG_ERROR;
        for (size_t i = 0; i < ncli; i++) {
                char why[256];
                if (apply(cfg, cli[i].s, cli[i].v, why, sizeof(why))) {
                        errf(errstr, errstr_size, "option %s", why);
                        return QL_CONFIG_ERROR;
                }
        }
        if (validate(prog, cfg, errstr, errstr_size))
                return QL_CONFIG_ERROR;
        return QL_CONFIG_OK;
}

static void free_strings(void *cfg, const ql_setting_t *table, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (table[i].type == QL_SETTING_STR) {
                        char **slot = (char **)((char *)cfg + table[i].offset);
                        free(*slot);
                        *slot = NULL;
                }
}

void ql_config_free(const ql_program_t *prog, void *pcfg)
{
        if (!pcfg)
                return;
        ql_config_t *cfg = pcfg;
        free_strings(pcfg, shared, NSHARED);
        free_strings(pcfg, prog->settings, prog->n_settings);
        for (size_t i = 0; i < cfg->kafka_n; i++) {
                free(cfg->kafka[i].key);
                free(cfg->kafka[i].value);
        }
        free(cfg->kafka);
        cfg->kafka = NULL;
        cfg->kafka_n = 0;
        free(cfg->config_file);
        cfg->config_file = NULL;
}
