/*
 * ql-triage: Kafka -> PostgreSQL, exactly once.  main() builds the
 * configuration, applies the database migrations, then runs the consumer
 * loop until SIGTERM/SIGINT (or --idle-exit), and owns the signals:
 * SIGTERM/SIGINT stop the loop (the batch in flight is finished, the group
 * left), SIGHUP reloads the log level, the credit code check and the cause
 * rules (re-applied to existing findings).
 * --migrate-only and --redrive are one-shot modes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consumer.h"
#include "migrate.h"
#include "ql_codec.h"
#include "ql_config.h"
#include "ql_log.h"
#include "ql_metrics.h"
#include "redrive.h"

#define PROG "ql-triage"

static volatile sig_atomic_t run = 1;
static volatile sig_atomic_t reload = 0;

static void on_stop(int sig)
{
        (void)sig;
        run = 0;
}

static void on_hup(int sig)
{
        (void)sig;
        reload = 1;
}

static void install_signals(void)
{
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sigemptyset(&sa.sa_mask);
        sa.sa_handler = on_stop;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sa.sa_handler = on_hup;
        sigaction(SIGHUP, &sa, NULL);
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
}

static const char summary[] =
    "Consume inspection results from Kafka and store each exactly once in "
    "PostgreSQL,\nkeeping records that cannot be decoded or validated in "
    "ql.rejected_record and\non the dead-letter topic.";

/* Apply the migrations; retry while PostgreSQL is unreachable (not in the
 * one-shot mode).  0 when the schema is current. */
static int migrate(const ql_config_t *cfg, ql_log_t *lg)
{
        int wait_ms = 200;
        for (;;) {
                char err[1024];
                int fatal;
                int n = triage_migrate(cfg->pg, cfg->sql_dir, lg, &fatal, err,
                                       sizeof(err));
                if (n >= 0) {
                        ql_info(lg,
                                "database schema current (%d migrations "
                                "applied now, from %s)",
                                n, cfg->sql_dir);
                        return 0;
                }
                if (fatal || cfg->migrate_only) {
                        ql_error(lg, "%s", err);
                        return -1;
                }
                ql_warn(lg, "%s; retrying in %d ms", err, wait_ms);
                for (int waited = 0; waited < wait_ms; waited += 50) {
                        if (!run)
                                return -1;
                        struct timespec ts = {0, 50 * 1000000L};
                        nanosleep(&ts, NULL);
                }
                wait_ms = wait_ms * 2 > 5000 ? 5000 : wait_ms * 2;
        }
}

static void do_reload(int argc, char **argv, ql_log_t *lg, triage_consumer_t *c)
{
        ql_config_t next;
        char err[512];
        ql_config_rc_t rc = ql_config_build(&next, QL_PROG_TRIAGE, summary,
                                            argc, argv, err, sizeof(err));
        if (rc == QL_CONFIG_OK) {
                ql_log_configure(lg, next.log_level, next.log_format);
                triage_consumer_reload(c, &next);
                ql_info(lg, "configuration reloaded");
        } else {
                ql_error(lg,
                         "reload refused, keeping the running "
                         "configuration: %s",
                         err);
        }
        ql_config_free(&next);
}

int main(int argc, char **argv)
{
        ql_config_t cfg;
        char err[1024];
        ql_config_rc_t rc = ql_config_build(&cfg, QL_PROG_TRIAGE, summary, argc,
                                            argv, err, sizeof(err));
        if (rc != QL_CONFIG_OK) {
                if (rc == QL_CONFIG_ERROR)
                        fprintf(stderr, PROG ": %s\n", err);
                ql_config_free(&cfg);
                return rc == QL_CONFIG_HELP ? 0 : 2;
        }
        ql_log_t *lg = ql_log_new(PROG, cfg.log_level, cfg.log_format);
        if (!lg) {
                fprintf(stderr, PROG ": out of memory\n");
                ql_config_free(&cfg);
                return 1;
        }
        install_signals();
        int status = 1;
        ql_codec_t *codec = NULL;
        ql_metrics_t *metrics = NULL;
        triage_consumer_t *c = NULL;

        if (cfg.redrive) {
                long n = triage_redrive(&cfg, lg, err, sizeof(err));
                if (n < 0)
                        ql_error(lg, "%s", err);
                else
                        ql_info(lg, "re-drove %ld dead letters to %s", n,
                                cfg.topic);
                status = n < 0;
                goto out;
        }
        if (migrate(&cfg, lg)) {
                status = run ? 1 : 0;
                goto out;
        }
        if (cfg.migrate_only) {
                status = 0;
                goto out;
        }
        if (!(codec = ql_codec_new(cfg.schema_dir, err, sizeof(err)))) {
                ql_error(lg, "schema_dir %s: %s", cfg.schema_dir, err);
                goto out;
        }
        ql_info(lg, "%zu record schema versions loaded from %s",
                ql_codec_schema_count(codec), cfg.schema_dir);
        if (cfg.metrics_addr && *cfg.metrics_addr &&
            !(metrics = ql_metrics_new(PROG))) {
                ql_error(lg, "out of memory");
                goto out;
        }
        triage_consumer_opts_t opts = {
            .cfg = &cfg,
            .lg = lg,
            .metrics = metrics,
            .codec = codec,
            .run = &run,
        };
        if (!(c = triage_consumer_new(&opts, err, sizeof(err)))) {
                ql_error(lg, "%s", err);
                status = run ? 1 : 0;
                goto out;
        }
        if (metrics) {
                if (ql_metrics_serve(metrics, cfg.metrics_addr, err,
                                     sizeof(err))) {
                        ql_error(lg, "metrics_addr %s: %s", cfg.metrics_addr,
                                 err);
                        goto out;
                }
                ql_info(lg, "metrics on http://%s/metrics", cfg.metrics_addr);
        }
        while (run) {
                if (reload) {
                        reload = 0;
                        do_reload(argc, argv, lg, c);
                }
                if (triage_consumer_step(c))
                        break;
        }
        ql_info(lg, "stopping: finishing the batch in flight, leaving the "
                    "group");
        triage_consumer_close(c);
        triage_totals_t t;
        triage_consumer_totals(c, &t);
        ql_info(lg,
                "stopped: %llu records, %llu stored, %llu duplicates, %llu "
                "rejected, %llu batches, %llu PostgreSQL errors",
                (unsigned long long)t.records, (unsigned long long)t.stored,
                (unsigned long long)t.duplicates,
                (unsigned long long)t.rejected, (unsigned long long)t.batches,
                (unsigned long long)t.pg_errors);
        status = 0;
out:
        /* The metrics server reads the consumer: stop it first. */
        ql_metrics_destroy(metrics);
        triage_consumer_destroy(c);
        ql_codec_destroy(codec);
        ql_log_destroy(lg);
        ql_config_free(&cfg);
        return status;
}
