/*
 * bd_config: the table of ql-board's own settings, their checks and the
 * default directory of the static files (bd_config.h).  ql_config parses
 * them.
 */
#include "bd_config.h"

#include <stddef.h>
#include <stdio.h>

#define OFF(f) offsetof(bd_config_t, f)

static const ql_setting_t settings[] = {
    QL_SHARED("metrics_addr"),
    QL_SHARED("log_level"),
    QL_SHARED("log_format"),
    {"board_addr", "QL_BOARD_ADDR", QL_SETTING_STR, OFF(board_addr),
     "127.0.0.1:8090", 0, 0, 0, "HOST:PORT", "listen address of the workbench"},
    {"board_pg", "QL_BOARD_PG", QL_SETTING_STR, OFF(board_pg),
     "dbname=qingling", 0, 0, 0, "CONNINFO",
     "libpq connection string without user or password: each officer "
     "connects with their own login"},
    {"board_tls_cert", "QL_BOARD_TLS_CERT", QL_SETTING_STR, OFF(board_tls_cert),
     NULL, 0, 0, 0, "FILE", "serve HTTPS with this PEM certificate"},
    {"board_tls_key", "QL_BOARD_TLS_KEY", QL_SETTING_STR, OFF(board_tls_key),
     NULL, 0, 0, 0, "FILE", "PEM private key for --board-tls-cert"},
    {"bureau_name", "QL_BUREAU_NAME", QL_SETTING_STR, OFF(bureau_name),
     "市场监督管理局", 0, 0, 0, "NAME",
     "the bureau named on notices (e.g. 厦门市湖里区市场监督管理局)"},
    {"board_static_dir", "QL_BOARD_STATIC_DIR", QL_SETTING_STR,
     OFF(board_static_dir), NULL, 0, 0, 0, "DIR",
     "directory of the workbench's CSS and JavaScript"},
    {"board_idle_timeout", "QL_BOARD_IDLE_TIMEOUT", QL_SETTING_INT,
     OFF(board_idle_timeout), "1800", 0, 1, 86400, "SECONDS",
     "end a session (and its database connection) unused this long"},
    {"board_max_sessions", "QL_BOARD_MAX_SESSIONS", QL_SETTING_INT,
     OFF(board_max_sessions), "200", 0, 1, 10000, "N",
     "most sessions at once, each holding one database connection"},
    {"board_threads", "QL_BOARD_THREADS", QL_SETTING_INT, OFF(board_threads),
     "8", 0, 1, 256, "N", "HTTP threads (requests served at once)"},
    {"board_max_body", "QL_BOARD_MAX_BODY", QL_SETTING_LONG,
     OFF(board_max_body), "65536", 0, 1024, 16777216, "BYTES",
     "largest form body"},
};

/* The static files when QL_BOARD_STATIC_DIR is not set: the source tree's
 * consumers/board/static when run from a build tree, else the installed
 * share/qingling/board. */
static int defaults(void *cfg, char *errstr, size_t errstr_size)
{
        return ql_config_set(
            &bd_config_program, cfg, "board_static_dir",
            ql_config_dir_or(QL_SOURCE_BOARD_DIR, QL_INSTALL_BOARD_DIR), errstr,
            errstr_size);
}

static int validate(const void *pcfg, char *errstr, size_t errstr_size)
{
        const bd_config_t *cfg = pcfg;
        char host[256];
        int port;
        if (ql_config_split_addr(cfg->board_addr, host, sizeof(host), &port)) {
                snprintf(errstr, errstr_size,
                         "board_addr: '%s' is not HOST:PORT",
                         cfg->board_addr ? cfg->board_addr : "");
                return -1;
        }
        if (!cfg->board_tls_cert != !cfg->board_tls_key) {
                snprintf(errstr, errstr_size,
                         "%s: TLS needs both board_tls_cert and board_tls_key",
                         cfg->board_tls_cert ? "board_tls_key"
                                             : "board_tls_cert");
                return -1;
        }
        if (!cfg->bureau_name || !*cfg->bureau_name) {
                snprintf(errstr, errstr_size, "bureau_name: must not be empty");
                return -1;
        }
        return 0;
}

const ql_program_t bd_config_program = {
    .section = "board",
    .settings = settings,
    .n_settings = sizeof(settings) / sizeof(settings[0]),
    .size = sizeof(bd_config_t),
    .defaults = defaults,
    .validate = validate,
};
