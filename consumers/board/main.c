/*
 * ql-board: the officers' web workbench (docs/board.md).  main() builds the
 * configuration, starts the metrics endpoint, the app (sessions, static
 * files) and the HTTP server, then only waits for signals: every 30 s it
 * ends the sessions idle past the timeout; SIGHUP reloads the log settings;
 * SIGTERM and SIGINT stop the server (requests in progress finish), end
 * every session -- closing its database connection -- and exit 0.  Signals
 * are blocked in every thread and taken here with sigtimedwait().
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bd_app.h"
#include "bd_config.h"
#include "bd_db.h"
#include "bd_server.h"
#include "ql_log.h"
#include "ql_metrics.h"

#define PROG         "ql-board"
#define REAP_SECONDS 30

static const char summary[] =
    "The officers' web workbench (清零工作台), in Chinese: the case board, "
    "each\n"
    "case with its diagnosis and dated plan, the rectification notice, "
    "overdue\n"
    "actions, 清零 progress, enterprise records and waiting rechecks; CSV "
    "exports\n"
    "(PATH.csv) and JSON (/api/PATH).  Officers sign in with their own "
    "PostgreSQL\n"
    "login and password: ql-board connects as that login (QL_BOARD_PG "
    "plus the\n"
    "login), keeps the connection for the session and runs every page and "
    "form\n"
    "on it, so row-level security and the officer functions decide what "
    "each\n"
    "officer sees and may do.  The password is never stored.  /healthz and "
    "/readyz\n"
    "are served on the same port, /metrics on QL_METRICS_ADDR.";

/* /readyz on the metrics address: the database accepts connections. */
static int ready(void *arg, char *why, size_t why_size)
{
        const bd_config_t *cfg = arg;
        if (bd_db_ping(cfg->board_pg))
                return 1;
        snprintf(why, why_size, "the database does not accept connections");
        return 0;
}

static void reload(int argc, char **argv, ql_log_t *lg)
{
        bd_config_t ncfg;
        char errstr[512];
        if (ql_config_build(&bd_config_program, &ncfg, summary, argc, argv,
                            errstr, sizeof(errstr)) != QL_CONFIG_OK) {
                ql_error(lg, "reload: %s; the running configuration stays",
                         errstr);
        } else {
                ql_log_configure(lg, ncfg.base.log_level, ncfg.base.log_format);
                ql_info(lg, "reload: log settings applied");
        }
        ql_config_free(&bd_config_program, &ncfg);
}

int main(int argc, char **argv)
{
        bd_config_t cfg;
        char errstr[512];
        ql_config_rc_t crc =
            ql_config_build(&bd_config_program, &cfg, summary, argc, argv,
                            errstr, sizeof(errstr));
        if (crc != QL_CONFIG_OK) {
                if (crc == QL_CONFIG_ERROR)
                        fprintf(stderr, PROG ": %s\n", errstr);
                ql_config_free(&bd_config_program, &cfg);
                return crc == QL_CONFIG_HELP ? 0 : 1;
        }
        ql_log_t *lg =
            ql_log_new(PROG, cfg.base.log_level, cfg.base.log_format);

        sigset_t sigs;
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGTERM);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
        signal(SIGPIPE, SIG_IGN);

        int status = 1;
        ql_metrics_t *metrics = ql_metrics_new(PROG);
        bd_app_t *app = NULL;
        bd_server_t *srv = NULL;
        int tls = cfg.board_tls_cert != NULL;
        bd_app_opts_t ao = {&cfg, lg, metrics, tls};
        if (!(app = bd_app_new(&ao, errstr, sizeof(errstr)))) {
                ql_error(lg, "%s", errstr);
                goto out;
        }
        ql_metrics_set_ready(metrics, ready, &cfg);
        if (cfg.base.metrics_addr && *cfg.base.metrics_addr &&
            ql_metrics_serve(metrics, cfg.base.metrics_addr, errstr,
                             sizeof(errstr))) {
                ql_error(lg, "%s", errstr);
                goto out;
        }
        if (!(srv = bd_server_new(&cfg, lg, metrics, app, errstr,
                                  sizeof(errstr)))) {
                ql_error(lg, "%s", errstr);
                goto out;
        }
        ql_info(lg,
                "serving %s://%s (%d threads, at most %d sessions, idle "
                "timeout %d s), static files from %s",
                tls ? "https" : "http", cfg.board_addr, cfg.board_threads,
                cfg.board_max_sessions, cfg.board_idle_timeout,
                cfg.board_static_dir);

        for (;;) {
                struct timespec wait = {REAP_SECONDS, 0};
                siginfo_t si;
                int sig = sigtimedwait(&sigs, &si, &wait);
                if (sig == SIGHUP)
                        reload(argc, argv, lg);
                else if (sig == SIGTERM || sig == SIGINT)
                        break;
                bd_app_reap(app, time(NULL));
        }
        ql_info(lg, "stopping");
        status = 0;
out:
        bd_server_destroy(srv);
        ql_metrics_stop(metrics);
        bd_app_destroy(app);
        ql_metrics_destroy(metrics);
        if (status == 0)
                ql_info(lg, "stopped");
        ql_log_destroy(lg);
        ql_config_free(&bd_config_program, &cfg);
        return status;
}
