/*
 * bd_config: ql-board's settings, the shared ones it takes (metrics and
 * logging, ql_config.h) and its own (docs/board.md): the listen address,
 * the connection string officers sign in through, TLS, the bureau's name,
 * the static files and the limits on sessions and requests.  Built with
 * ql_config_build(&bd_config_program, &cfg, ...).
 */
#ifndef BD_CONFIG_H
#define BD_CONFIG_H

#include "ql_config.h"

typedef struct {
        ql_config_t base;       /* first: the shared table's offsets apply */
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
} bd_config_t;

extern const ql_program_t bd_config_program;

#endif
