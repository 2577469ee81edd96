/*
 * ql_config: the settings table and the one way a configuration is built:
 * defaults, then the INI file (-c FILE), then QL_* environment variables,
 * then command-line options, then validation of the whole.  Every setting is
 * one row of `settings` below; --help, the INI keys, the environment names
 * and the long options are all derived from that row, so they cannot drift.
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

typedef enum {
        T_STR,
        T_INT,
        T_LONG,
        T_FLAG,
        T_LOGLEVEL,
        T_LOGFORMAT,
        T_USCC,
} setting_type_t;

#define ALL_DAEMONS (QL_PROG_SPOOL | QL_PROG_GATEWAY | QL_PROG_TRIAGE)
#define PRODUCERS   (QL_PROG_SPOOL | QL_PROG_GATEWAY)

typedef struct {
        const char *name; /* INI key; option is --name with '_' -> '-' */
        const char *env;  /* NULL: not from the environment */
        setting_type_t type;
        size_t offset;
        const char *def; /* NULL: unset */
        int progs;
        int reloadable; /* SIGHUP applies it without a restart */
        long min, max;  /* T_INT / T_LONG bounds */
        const char *metavar;
        const char *help;
} setting_t;

#define OFF(f) offsetof(ql_config_t, f)

static const setting_t settings[] = {
    {"brokers", "QL_BROKERS", T_STR, OFF(brokers), "127.0.0.1:9092",
     ALL_DAEMONS, 0, 0, 0, "HOSTS", "Kafka bootstrap servers"},
    {"topic", "QL_TOPIC", T_STR, OFF(topic), "inspection.results", ALL_DAEMONS,
     0, 0, 0, "NAME", "results topic"},
    {"dlq_topic", "QL_DLQ_TOPIC", T_STR, OFF(dlq_topic),
     "inspection.results.dlq", QL_PROG_TRIAGE, 0, 0, 0, "NAME",
     "dead-letter topic"},
    {"schema_dir", "QL_SCHEMA_DIR", T_STR, OFF(schema_dir), NULL, ALL_DAEMONS,
     0, 0, 0, "DIR", "directory of the *.avsc record schemas"},
    {"metrics_addr", "QL_METRICS_ADDR", T_STR, OFF(metrics_addr), "",
     ALL_DAEMONS | QL_PROG_BOARD, 0, 0, 0, "HOST:PORT",
     "serve /metrics, /healthz, /readyz here (empty: off)"},
    {"log_level", "QL_LOG_LEVEL", T_LOGLEVEL, OFF(log_level), "info",
     ALL_DAEMONS | QL_PROG_BOARD, 1, 0, 0, "LEVEL",
     "debug, info, warn or error"},
    {"log_format", "QL_LOG_FORMAT", T_LOGFORMAT, OFF(log_format), "text",
     ALL_DAEMONS | QL_PROG_BOARD, 1, 0, 0, "FORMAT", "text or json"},
    {"uscc_check", "QL_USCC_CHECK", T_USCC, OFF(uscc_check), "strict",
     ALL_DAEMONS, 1, 0, 0, "MODE",
     "credit code check characters: strict rejects, warn accepts with a "
     "warning"},
    {"kafka_timeout_ms", "QL_KAFKA_TIMEOUT_MS", T_INT, OFF(kafka_timeout_ms),
     "30000", PRODUCERS, 0, 100, 3600000, "MS",
     "give up on a Kafka acknowledgement after this long"},

    {"pg", "QL_PG", T_STR, OFF(pg), "dbname=qingling", QL_PROG_TRIAGE, 0, 0, 0,
     "CONNINFO", "libpq connection string"},
    {"pg_password_file", "QL_PG_PASSWORD_FILE", T_STR, OFF(pg_password_file),
     NULL, QL_PROG_TRIAGE, 0, 0, 0, "FILE",
     "PostgreSQL password, read from FILE at start (one line; e.g. a Docker "
     "secret); overrides a password in --pg"},
    {"pg_statement_timeout_ms", "QL_PG_STATEMENT_TIMEOUT_MS", T_INT,
     OFF(pg_statement_timeout_ms), "60000", QL_PROG_TRIAGE, 0, 100, 3600000,
     "MS",
     "PostgreSQL statement_timeout; a statement not answered within it "
     "(plus at most 5 s) drops the connection"},
    {"bureau_region", "QL_BUREAU_REGION", T_STR, OFF(bureau_region), NULL,
     QL_PROG_TRIAGE, 0, 0, 0, "PREFIX",
     "the bureau's region, a GB/T 2260 prefix (e.g. 350206): a seller's "
     "product made outside it is notified to the producer's bureau (Art. 44); "
     "recorded in the database at start (unset: left as recorded)"},
    {"group", "QL_GROUP", T_STR, OFF(group), "ql-triage", QL_PROG_TRIAGE, 0, 0,
     0, "ID", "Kafka consumer group"},
    {"batch_size", "QL_BATCH_SIZE", T_INT, OFF(batch_size), "2000",
     QL_PROG_TRIAGE, 0, 1, 100000, "N",
     "records per database transaction (split between --workers)"},
    {"batch_ms", "QL_BATCH_MS", T_INT, OFF(batch_ms), "200", QL_PROG_TRIAGE, 0,
     1, 60000, "MS", "close a batch after this long"},
    {"workers", "QL_WORKERS", T_INT, OFF(workers), "0", QL_PROG_TRIAGE, 0, 0,
     16, "N",
     "group members in this process, each with its own PostgreSQL "
     "connection (0: one per core, at most 4)"},
    {"bulk_lag", "QL_BULK_LAG", T_INT, OFF(bulk_lag), "10000", QL_PROG_TRIAGE,
     0, 0, 1000000000, "N",
     "with N records or more not yet stored, store batches with only their "
     "enterprises registered and derive the cases once caught up (0: "
     "never)"},
    {"idle_exit", NULL, T_INT, OFF(idle_exit), "0", QL_PROG_TRIAGE, 0, 0, 86400,
     "SECONDS", "exit 0 once caught up and idle this long (0: never)"},
    {"migrate_only", NULL, T_FLAG, OFF(migrate_only), "0", QL_PROG_TRIAGE, 0, 0,
     0, NULL, "apply the database migrations and exit"},
    {"redrive", NULL, T_FLAG, OFF(redrive), "0", QL_PROG_TRIAGE, 0, 0, 0, NULL,
     "re-submit dead letters of ql.rejected_record to the topic, then exit"},
    {"sql_dir", "QL_SQL_DIR", T_STR, OFF(sql_dir), NULL, QL_PROG_TRIAGE, 0, 0,
     0, "DIR", "directory of the NNN_*.sql database migrations"},

    {"dir", "QL_SPOOL_DIR", T_STR, OFF(dir), NULL, QL_PROG_SPOOL, 0, 0, 0,
     "DIR", "spool directory (incoming/, done/, rejected/ inside)"},
    {"lab", "QL_LAB", T_STR, OFF(lab), NULL, QL_PROG_SPOOL, 0, 0, 0, "CODE",
     "the lab whose files these are; every record must carry it"},
    {"once", NULL, T_FLAG, OFF(once), "0", QL_PROG_SPOOL, 0, 0, 0, NULL,
     "process what is in incoming/ and exit (0 ok, 3 rejects, 1 fault)"},
    {"check", NULL, T_STR, OFF(check), NULL, QL_PROG_SPOOL, 0, 0, 0, "FILE",
     "only validate FILE and print every problem (no Kafka)"},
    {"rescan", "QL_SPOOL_RESCAN", T_INT, OFF(rescan), "30", QL_PROG_SPOOL, 0, 0,
     86400, "SECONDS",
     "also list incoming/ this often, for network shares that send no "
     "inotify events (0: off)"},
    {"min_age", "QL_SPOOL_MIN_AGE", T_INT, OFF(min_age), "5", QL_PROG_SPOOL, 0,
     0, 86400, "SECONDS",
     "take a file found by listing incoming/ only once it is unmodified "
     "this long"},
    {"done_retention", "QL_SPOOL_DONE_RETENTION", T_INT, OFF(done_retention),
     "0", QL_PROG_SPOOL, 0, 0, 36500, "DAYS",
     "remove files older than this from done/ (0: keep them)"},

    {"gateway_addr", "QL_GATEWAY_ADDR", T_STR, OFF(gateway_addr),
     "127.0.0.1:8080", QL_PROG_GATEWAY, 0, 0, 0, "HOST:PORT", "listen address"},
    {"gateway_tokens", "QL_GATEWAY_TOKENS", T_STR, OFF(gateway_tokens), NULL,
     QL_PROG_GATEWAY, 1, 0, 0, "FILE",
     "token file: lines 'LAB_CODE SHA256_HEX' (required)"},
    {"tls_cert", "QL_TLS_CERT", T_STR, OFF(tls_cert), NULL, QL_PROG_GATEWAY, 1,
     0, 0, "FILE", "serve HTTPS with this PEM certificate (chain)"},
    {"tls_key", "QL_TLS_KEY", T_STR, OFF(tls_key), NULL, QL_PROG_GATEWAY, 1, 0,
     0, "FILE", "PEM private key for --tls-cert"},
    {"tls_priorities", "QL_TLS_PRIORITIES", T_STR, OFF(tls_priorities),
     "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:"
     "+AES-256-GCM:+CHACHA20-POLY1305:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA",
     QL_PROG_GATEWAY, 0, 0, 0, "PRIORITIES",
     "GnuTLS priority string: TLS versions, ciphers, key exchanges"},
    {"allow_plain_http", "QL_GATEWAY_ALLOW_PLAIN", T_FLAG,
     OFF(allow_plain_http), "0", QL_PROG_GATEWAY, 0, 0, 0, NULL,
     "serve plain HTTP on a non-loopback gateway_addr (behind a "
     "TLS-terminating proxy)"},
    {"max_body", "QL_MAX_BODY", T_LONG, OFF(max_body), "1048576",
     QL_PROG_GATEWAY, 0, 1024, 1073741824, "BYTES", "largest request body"},
    {"max_records", "QL_MAX_RECORDS", T_INT, OFF(max_records), "1000",
     QL_PROG_GATEWAY, 0, 1, 100000, "N", "most records in one request"},
    {"ack_timeout_ms", "QL_ACK_TIMEOUT_MS", T_INT, OFF(ack_timeout_ms), "10000",
     QL_PROG_GATEWAY, 0, 100, 600000, "MS",
     "answer 503 if Kafka has not acknowledged a request by then"},
    {"threads", "QL_THREADS", T_INT, OFF(threads), "4", QL_PROG_GATEWAY, 0, 1,
     256, "N",
     "HTTP threads, and as many threads judging and encoding request bodies"},
    {"client_timeout", "QL_CLIENT_TIMEOUT", T_INT, OFF(client_timeout), "30",
     QL_PROG_GATEWAY, 0, 1, 3600, "SECONDS",
     "close a connection that sent nothing for this long (slow clients)"},
    {"request_timeout", "QL_REQUEST_TIMEOUT", T_INT, OFF(request_timeout), "60",
     QL_PROG_GATEWAY, 0, 1, 3600, "SECONDS",
     "close a connection whose request (headers and body) is not in by "
     "then"},
    {"max_connections", "QL_MAX_CONNECTIONS", T_INT, OFF(max_connections),
     "1000", QL_PROG_GATEWAY, 0, 1, 65535, "N",
     "most connections open at once"},
    {"max_connections_per_address", "QL_MAX_CONNECTIONS_PER_ADDRESS", T_INT,
     OFF(max_connections_per_address), "32", QL_PROG_GATEWAY, 0, 0, 65535, "N",
     "most connections open at once from one client address (0: no "
     "limit)"},

    /* ql-board */
    {"board_addr", "QL_BOARD_ADDR", T_STR, OFF(board_addr), "127.0.0.1:8090",
     QL_PROG_BOARD, 0, 0, 0, "HOST:PORT", "listen address of the workbench"},
    {"board_pg", "QL_BOARD_PG", T_STR, OFF(board_pg), "dbname=qingling",
     QL_PROG_BOARD, 0, 0, 0, "CONNINFO",
     "libpq connection string without user or password: each officer "
     "connects with their own login"},
    {"board_tls_cert", "QL_BOARD_TLS_CERT", T_STR, OFF(board_tls_cert), NULL,
     QL_PROG_BOARD, 0, 0, 0, "FILE", "serve HTTPS with this PEM certificate"},
    {"board_tls_key", "QL_BOARD_TLS_KEY", T_STR, OFF(board_tls_key), NULL,
     QL_PROG_BOARD, 0, 0, 0, "FILE", "PEM private key for --board-tls-cert"},
    {"bureau_name", "QL_BUREAU_NAME", T_STR, OFF(bureau_name), "市场监督管理局",
     QL_PROG_BOARD, 0, 0, 0, "NAME",
     "the bureau named on notices (e.g. 厦门市湖里区市场监督管理局)"},
    {"board_static_dir", "QL_BOARD_STATIC_DIR", T_STR, OFF(board_static_dir),
     NULL, QL_PROG_BOARD, 0, 0, 0, "DIR",
     "directory of the workbench's CSS and JavaScript"},
    {"board_idle_timeout", "QL_BOARD_IDLE_TIMEOUT", T_INT,
     OFF(board_idle_timeout), "1800", QL_PROG_BOARD, 0, 1, 86400, "SECONDS",
     "end a session (and its database connection) unused this long"},
    {"board_max_sessions", "QL_BOARD_MAX_SESSIONS", T_INT,
     OFF(board_max_sessions), "200", QL_PROG_BOARD, 0, 1, 10000, "N",
     "most sessions at once, each holding one database connection"},
    {"board_threads", "QL_BOARD_THREADS", T_INT, OFF(board_threads), "8",
     QL_PROG_BOARD, 0, 1, 256, "N", "HTTP threads (requests served at once)"},
    {"board_max_body", "QL_BOARD_MAX_BODY", T_LONG, OFF(board_max_body),
     "65536", QL_PROG_BOARD, 0, 1024, 16777216, "BYTES", "largest form body"},
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

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

static const setting_t *find_setting(const char *name)
{
        for (size_t i = 0; i < NSETTINGS; i++)
                if (!strcmp(settings[i].name, name))
                        return &settings[i];
        return NULL;
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

static int apply(ql_config_t *cfg, const setting_t *s, const char *value,
                 char *errstr, size_t errstr_size)
{
        char *base = (char *)cfg;
        long l;
        int e;
        switch (s->type) {
        case T_STR: {
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
        case T_INT:
        case T_LONG:
                if (parse_long(value, s->min, s->max, &l)) {
                        errf(errstr, errstr_size,
                             "%s: '%s' is not a whole number from %ld to %ld",
                             s->name, value, s->min, s->max);
                        return -1;
                }
                if (s->type == T_INT)
                        *(int *)(base + s->offset) = (int)l;
                else
                        *(long *)(base + s->offset) = l;
                return 0;
        case T_FLAG:
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
        case T_LOGLEVEL:
                if ((e = ql_log_level_parse(value)) < 0) {
                        errf(errstr, errstr_size,
                             "%s: '%s' is not debug, info, warn or error",
                             s->name, value);
                        return -1;
                }
                *(ql_log_level_t *)(base + s->offset) = (ql_log_level_t)e;
                return 0;
        case T_LOGFORMAT:
                if ((e = ql_log_format_parse(value)) < 0) {
                        errf(errstr, errstr_size,
                             "%s: '%s' is not text or json", s->name, value);
                        return -1;
                }
                *(ql_log_format_t *)(base + s->offset) = (ql_log_format_t)e;
                return 0;
        case T_USCC:
                if ((e = ql_uscc_mode_parse(value)) < 0) {
                        errf(errstr, errstr_size,
                             "%s: '%s' is not strict or warn", s->name, value);
                        return -1;
                }
                *(ql_uscc_mode_t *)(base + s->offset) = (ql_uscc_mode_t)e;
                return 0;
        }
        return -1;
}

int ql_config_set(ql_config_t *cfg, int prog, const char *name,
                  const char *value, char *errstr, size_t errstr_size)
{
        const setting_t *s = find_setting(name);
        if (!s || !(s->progs & prog)) {
                errf(errstr, errstr_size, "%s: unknown setting", name);
                return -1;
        }
        return apply(cfg, s, value, errstr, errstr_size);
}

static int set_defaults(ql_config_t *cfg, char *errstr, size_t errstr_size)
{
        memset(cfg, 0, sizeof(*cfg));
        for (size_t i = 0; i < NSETTINGS; i++)
                if (settings[i].def && apply(cfg, &settings[i], settings[i].def,
                                             errstr, errstr_size))
                        return -1;
        if (apply(cfg, find_setting("sql_dir"), ql_config_default_sql_dir(),
                  errstr, errstr_size))
                return -1;
        if (apply(cfg, find_setting("board_static_dir"),
                  ql_config_default_board_static_dir(), errstr, errstr_size))
                return -1;
        return apply(cfg, find_setting("schema_dir"),
                     ql_config_default_schema_dir(), errstr, errstr_size);
}

const char *ql_config_default_board_static_dir(void)
{
        struct stat st;
        if (stat(QL_SOURCE_BOARD_DIR, &st) == 0 && S_ISDIR(st.st_mode))
                return QL_SOURCE_BOARD_DIR;
        return QL_INSTALL_BOARD_DIR;
}

const char *ql_config_default_sql_dir(void)
{
        struct stat st;
        if (stat(QL_SOURCE_SQL_DIR, &st) == 0 && S_ISDIR(st.st_mode))
                return QL_SOURCE_SQL_DIR;
        return QL_INSTALL_SQL_DIR;
}

const char *ql_config_default_schema_dir(void)
{
        struct stat st;
        if (stat(QL_SOURCE_SCHEMA_DIR, &st) == 0 && S_ISDIR(st.st_mode))
                return QL_SOURCE_SCHEMA_DIR;
        return QL_INSTALL_SCHEMA_DIR;
}

/* INI parsing: inih calls back per key; the first error wins. */
typedef struct {
        ql_config_t *cfg;
        int prog;
        const char *path;
        char *errstr;
        size_t errstr_size;
        int failed;
} ini_ctx_t;

static const char *prog_section(int prog)
{
        switch (prog) {
        case QL_PROG_SPOOL:
                return "spool";
        case QL_PROG_GATEWAY:
                return "gateway";
        case QL_PROG_TRIAGE:
                return "triage";
        case QL_PROG_BOARD:
                return "board";
        }
        return "";
}

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
        } else if (!strcmp(section, "") || !strcmp(section, "qingling") ||
                   !strcmp(section, "spool") || !strcmp(section, "gateway") ||
                   !strcmp(section, "triage") || !strcmp(section, "board")) {
                /* A program ignores the sections of the others, so one file
                 * can configure a whole deployment. */
                int mine = !strcmp(section, "") ||
                           !strcmp(section, "qingling") ||
                           !strcmp(section, prog_section(c->prog));
                const setting_t *s = find_setting(name);
                if (!s) {
                        snprintf(why, sizeof(why), "unknown key '%s'", name);
                } else if (!mine) {
                        return 1;
                } else if (!(s->progs & c->prog)) {
                        /* [qingling] is shared by all programs. */
                        if (strcmp(section, prog_section(c->prog)) != 0)
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

static int load_file(ql_config_t *cfg, int prog, const char *path, char *errstr,
                     size_t errstr_size)
{
        FILE *f = fopen(path, "r");
        if (!f) {
                errf(errstr, errstr_size, "config file %s: %s", path,
                     strerror(errno));
                return -1;
        }
        ini_ctx_t c = {cfg, prog, path, errstr, errstr_size, 0};
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

static int load_env(ql_config_t *cfg, int prog, char *errstr,
                    size_t errstr_size)
{
        for (size_t i = 0; i < NSETTINGS; i++) {
                const setting_t *s = &settings[i];
                const char *v;
                if (!s->env || !(s->progs & prog) || !(v = getenv(s->env)))
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

static int validate(const ql_config_t *cfg, int prog, char *errstr,
                    size_t errstr_size)
{
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
        if (prog == QL_PROG_GATEWAY) {
                if (ql_config_split_addr(cfg->gateway_addr, host, sizeof(host),
                                         &port)) {
                        errf(errstr, errstr_size,
                             "gateway_addr: '%s' is not HOST:PORT",
                             cfg->gateway_addr ? cfg->gateway_addr : "");
                        return -1;
                }
                if (!cfg->gateway_tokens || !*cfg->gateway_tokens) {
                        errf(errstr, errstr_size,
                             "gateway_tokens: required (QL_GATEWAY_TOKENS or "
                             "--gateway-tokens FILE)");
                        return -1;
                }
                if (!cfg->tls_priorities || !*cfg->tls_priorities) {
                        errf(errstr, errstr_size,
                             "tls_priorities: must not be empty");
                        return -1;
                }
                if (!cfg->tls_cert != !cfg->tls_key) {
                        errf(errstr, errstr_size,
                             "%s: TLS needs both tls_cert and tls_key",
                             cfg->tls_cert ? "tls_key" : "tls_cert");
                        return -1;
                }
        }
        if (prog == QL_PROG_SPOOL) {
                if (!cfg->lab || !*cfg->lab) {
                        errf(errstr, errstr_size, "lab: required (--lab CODE)");
                        return -1;
                }
                if (!cfg->check && (!cfg->dir || !*cfg->dir)) {
                        errf(errstr, errstr_size, "dir: required (--dir DIR)");
                        return -1;
                }
        }
        if (prog == QL_PROG_BOARD) {
                if (ql_config_split_addr(cfg->board_addr, host, sizeof(host),
                                         &port)) {
                        errf(errstr, errstr_size,
                             "board_addr: '%s' is not HOST:PORT",
                             cfg->board_addr ? cfg->board_addr : "");
                        return -1;
                }
                if (!cfg->board_tls_cert != !cfg->board_tls_key) {
                        errf(errstr, errstr_size,
                             "%s: TLS needs both board_tls_cert and "
                             "board_tls_key",
                             cfg->board_tls_cert ? "board_tls_key"
                                                 : "board_tls_cert");
                        return -1;
                }
                if (!cfg->bureau_name || !*cfg->bureau_name) {
                        errf(errstr, errstr_size,
                             "bureau_name: must not be empty");
                        return -1;
                }
        }
        if (prog == QL_PROG_TRIAGE && (!cfg->group || !*cfg->group)) {
                errf(errstr, errstr_size, "group: must not be empty");
                return -1;
        }
        if (prog == QL_PROG_TRIAGE && cfg->bureau_region &&
            *cfg->bureau_region) {
                size_t n = strlen(cfg->bureau_region);
                int digits = n >= 2 && n <= 6;
                for (size_t i = 0; digits && i < n; i++)
                        digits = cfg->bureau_region[i] >= '0' &&
                                 cfg->bureau_region[i] <= '9';
                if (!digits) {
                        errf(errstr, errstr_size,
                             "bureau_region: '%s' is not a GB/T 2260 prefix "
                             "(2 to 6 digits)",
                             cfg->bureau_region);
                        return -1;
                }
        }
        return 0;
}

void ql_config_usage(FILE *out, int prog)
{
        fprintf(out, "Options (also settable in the -c FILE and, where "
                     "named, the environment):\n");
        fprintf(out,
                "  -c, --config FILE        INI file: [qingling] or "
                "[%s] settings, [kafka] librdkafka properties\n",
                prog_section(prog));
        for (size_t i = 0; i < NSETTINGS; i++) {
                const setting_t *s = &settings[i];
                if (!(s->progs & prog))
                        continue;
                char opt[64];
                snprintf(opt, sizeof(opt), "--%s%s%s", s->name,
                         s->metavar ? " " : "", s->metavar ? s->metavar : "");
                for (char *p = opt + 2; *p && *p != ' '; p++)
                        if (*p == '_')
                                *p = '-';
                fprintf(out, "      %-22s %s", opt, s->help);
                if (s->type != T_FLAG && s->def && *s->def)
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

ql_config_rc_t ql_config_build(ql_config_t *cfg, int prog, const char *summary,
                               int argc, char **argv, char *errstr,
                               size_t errstr_size)
{
        if (set_defaults(cfg, errstr, errstr_size))
                return QL_CONFIG_ERROR;

        /* Long options derived from the table; option index i >= 0x100 maps
         * to settings[i - 0x100]. */
        struct option longopts[NSETTINGS + 4];
        char names[NSETTINGS][64];
        size_t n = 0;
        for (size_t i = 0; i < NSETTINGS; i++) {
                if (!(settings[i].progs & prog))
                        continue;
                snprintf(names[i], sizeof(names[i]), "%s", settings[i].name);
                for (char *p = names[i]; *p; p++)
                        if (*p == '_')
                                *p = '-';
                longopts[n++] = (struct option){names[i],
                                                settings[i].type == T_FLAG
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
                const setting_t *s;
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
                        cli[ncli].s = &settings[c - 0x100];
                        cli[ncli].v =
                            settings[c - 0x100].type == T_FLAG ? "1" : optarg;
                        ncli++;
                }
        }
        if (optind < argc) {
                errf(errstr, errstr_size, "unexpected argument '%s'",
                     argv[optind]);
                return QL_CONFIG_ERROR;
        }
        if (file) {
                cfg->config_file = strdup(file);
                if (load_file(cfg, prog, file, errstr, errstr_size))
                        return QL_CONFIG_ERROR;
        }
        if (load_env(cfg, prog, errstr, errstr_size))
                return QL_CONFIG_ERROR;
        for (size_t i = 0; i < ncli; i++) {
                char why[256];
                if (apply(cfg, cli[i].s, cli[i].v, why, sizeof(why))) {
                        errf(errstr, errstr_size, "option %s", why);
                        return QL_CONFIG_ERROR;
                }
        }
        if (validate(cfg, prog, errstr, errstr_size))
                return QL_CONFIG_ERROR;
        return QL_CONFIG_OK;
}

void ql_config_free(ql_config_t *cfg)
{
        if (!cfg)
                return;
        for (size_t i = 0; i < NSETTINGS; i++)
                if (settings[i].type == T_STR) {
                        char **slot =
                            (char **)((char *)cfg + settings[i].offset);
                        free(*slot);
                        *slot = NULL;
                }
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
