/*
 * ql-triage: Kafka -> PostgreSQL, exactly once.  main() builds the
 * configuration, applies the database migrations, then runs the consumer
 * loop until SIGTERM/SIGINT (or --idle-exit), and owns the signals:
 * SIGTERM/SIGINT stop the loop (the batch in flight is finished, the group
 * left), SIGHUP reloads the log level, the credit code check and the cause
 * rules (re-applied to existing findings).
 * --migrate-only and --redrive are one-shot modes.  The PostgreSQL
 * password file is read once, here, before anything connects.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "consumer.h"
#include "bureau.h"
#include "migrate.h"
#include "partitions.h"
#include "pgconn.h"
#include "ql_codec.h"
#include "ql_log.h"
#include "ql_metrics.h"
#include "redrive.h"
#include "ql_util.h"
#include "triage_config.h"

#define PROG             "ql-triage"
#define MAX_AUTO_WORKERS 4 /* --workers 0 */

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
static int migrate(const triage_config_t *cfg, const triage_pgconn_t *pg,
                   ql_log_t *lg)
{
        int wait_ms = 200;
        for (;;) {
                char err[1024];
                int fatal;
                int n = triage_migrate(pg, cfg->sql_dir, lg, &fatal, err,
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

/* The group members of this process (--workers), each stepped by its own
 * thread. */
typedef struct lanes_s lanes_t;

typedef struct {
        triage_consumer_t *c;
        ql_log_t *lg; /* its own "ql-triage/N" with several workers */
        pthread_t thread;
        int started;
        atomic_int idle; /* --idle-exit satisfied at its last turn */
        lanes_t *all;
} lane_t;

struct lanes_s {
        lane_t *v;
        int n;
        atomic_int deriving; /* triage_consumer_opts_t */
        atomic_int finish;   /* every member was idle at once: stop */
};

static int all_idle(lanes_t *ls)
{
        for (int i = 0; i < ls->n; i++)
                if (!atomic_load(&ls->v[i].idle))
                        return 0;
        return 1;
}

/* --idle-exit: a member that has caught up goes on polling (it stays in
 * the group, so that its partitions are not handed round to the others
 * while they still work) until every member is caught up; then all stop
 * together. */
static void *lane_main(void *arg)
{
        lane_t *l = arg;
        while (run && !atomic_load(&l->all->finish)) {
                int idle = triage_consumer_step(l->c);
                atomic_store(&l->idle, idle);
                if (idle && all_idle(l->all))
                        atomic_store(&l->all->finish, 1);
        }
        ql_info(l->lg, "stopping: finishing the batch in flight, leaving the "
                       "group");
        triage_consumer_close(l->c);
        return NULL;
}

static void collect_lag(void *arg, ql_metrics_emit_fn emit, void *emit_ctx)
{
        const lanes_t *ls = arg;
        triage_partitions_emit_help(emit, emit_ctx);
        for (int i = 0; i < ls->n; i++)
                if (ls->v[i].c)
                        triage_consumer_emit_lag(ls->v[i].c, emit, emit_ctx);
}

/* Ready when every member is; either way the detail says how many records
 * expired from the broker before they were stored, since start. */
static int ready_all(void *arg, char *why, size_t why_size)
{
        const lanes_t *ls = arg;
        int ready = 1;
        uint64_t expired = 0;
        size_t ranges = 0;
        char last[160] = "";
        for (int i = 0; i < ls->n; i++) {
                if (!ls->v[i].c)
                        return 0;
                if (ready && !triage_consumer_ready(ls->v[i].c, why, why_size))
                        ready = 0;
                uint64_t n;
                char one[160];
                size_t r =
                    triage_consumer_expired(ls->v[i].c, &n, one, sizeof(one));
                if (r) {
                        expired += n;
                        ranges += r;
                        snprintf(last, sizeof(last), "%s", one);
                }
        }
        if (ranges) {
                size_t len = ready ? 0 : strlen(why);
                snprintf(why + len, why_size - len,
                         "%s%" PRIu64 " records expired before they were "
                         "stored, %zu ranges in ql.expired_range (last %s)",
                         len ? "; " : "", expired, ranges, last);
        }
        return ready;
}

static void do_reload(int argc, char **argv, ql_log_t *lg, const lanes_t *ls)
{
        triage_config_t next;
        char err[512];
        ql_config_rc_t rc =
            ql_config_build(&triage_config_program, &next, summary, argc, argv,
                            err, sizeof(err));
        if (rc == QL_CONFIG_OK) {
                ql_log_configure(lg, next.base.log_level, next.base.log_format);
                for (int i = 0; i < ls->n; i++) {
                        if (ls->v[i].lg != lg)
                                ql_log_configure(ls->v[i].lg,
                                                 next.base.log_level,
                                                 next.base.log_format);
                        /* One member re-applies the cause rules for all. */
                        triage_consumer_reload(ls->v[i].c, &next, i == 0);
                }
                ql_info(lg, "configuration reloaded");
        } else {
                ql_error(lg,
                         "reload refused, keeping the running "
                         "configuration: %s",
                         err);
        }
        ql_config_free(&triage_config_program, &next);
}

/* Create the members and start their threads; 0 when all run.  On failure
 * the caller stops the ones started (run cleared, joined). */
static int start_lanes(const triage_config_t *cfg, const triage_pgconn_t *pg,
                       ql_log_t *lg, ql_metrics_t *metrics,
                       const ql_codec_t *codec, lanes_t *ls)
{
        /* Every lane's state first: a running member reads the others'. */
        for (int i = 0; i < ls->n; i++) {
                atomic_init(&ls->v[i].idle, 0);
                ls->v[i].all = ls;
        }
        for (int i = 0; i < ls->n; i++) {
                lane_t *l = &ls->v[i];
                char name[32], err[1024];
                if (ls->n == 1) {
                        l->lg = lg;
                } else {
                        snprintf(name, sizeof(name), PROG "/%d", i + 1);
                        if (!(l->lg = ql_log_new(name, cfg->base.log_level,
                                                 cfg->base.log_format))) {
                                ql_error(lg, "out of memory");
                                return -1;
                        }
                }
                triage_consumer_opts_t opts = {
                    .cfg = cfg,
                    .lg = l->lg,
                    .metrics = metrics,
                    .codec = codec,
                    .pg = pg,
                    .run = &run,
                    .lead = i == 0,
                    .deriving = &ls->deriving,
                };
                if (!(l->c = triage_consumer_new(&opts, err, sizeof(err)))) {
                        ql_error(l->lg, "%s", err);
                        return -1;
                }
                if (pthread_create(&l->thread, NULL, lane_main, l)) {
                        ql_error(l->lg, "cannot start a thread");
                        return -1;
                }
                l->started = 1;
        }
        return 0;
}

/* Wait for every member's thread, handling SIGHUP meanwhile. */
static void join_lanes(int argc, char **argv, ql_log_t *lg, lanes_t *ls)
{
        for (int i = 0; i < ls->n; i++) {
                lane_t *l = &ls->v[i];
                if (!l->started)
                        continue;
                for (;;) {
                        if (reload) {
                                reload = 0;
                                do_reload(argc, argv, lg, ls);
                        }
                        struct timespec ts;
                        ql_util_abstime(&ts, 100);
                        if (!pthread_timedjoin_np(l->thread, NULL, &ts))
                                break;
                }
                l->started = 0;
        }
}

/* glibc gives a thread that finds the arenas busy an arena of its own (up
 * to eight per core), and memory freed there stays there: every consumer,
 * writer and librdkafka thread would keep a batch's worth.  As many arenas
 * as cores keeps the footprint flat at no cost in contention to speak of.
 * And blocks of 256 KB and more (fetch answers, decompressed message sets,
 * a batch's COPY buffer) are mapped on their own and given back when freed:
 * by default glibc raises that threshold to the largest block freed, up to
 * 32 MB, after which such blocks come from the heap and the heap keeps the
 * space (peak RSS of the million-result replay: see docs/triage.md).
 * MALLOC_ARENA_MAX and MALLOC_MMAP_THRESHOLD_ in the environment still
 * decide. */
static void bound_malloc(void)
{
#ifdef __GLIBC__
        if (!getenv("MALLOC_ARENA_MAX")) {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                mallopt(M_ARENA_MAX, n < 2 ? 2 : n > 64 ? 64 : (int)n);
        }
        if (!getenv("MALLOC_MMAP_THRESHOLD_"))
                mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
}

int main(int argc, char **argv)
{
        triage_config_t cfg;
        char err[1024];
        bound_malloc();
        ql_config_rc_t rc =
            ql_config_build(&triage_config_program, &cfg, summary, argc, argv,
                            err, sizeof(err));
        if (rc != QL_CONFIG_OK) {
                if (rc == QL_CONFIG_ERROR)
                        fprintf(stderr, PROG ": %s\n", err);
                ql_config_free(&triage_config_program, &cfg);
                return rc == QL_CONFIG_HELP ? 0 : 2;
        }
        /* --workers 0 (the default): a member per core, at most
         * MAX_AUTO_WORKERS (docs/triage.md, Performance: the derivation
         * stops gaining beyond what PostgreSQL's cores give it). */
        if (!cfg.workers) {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                cfg.workers = n < 1                  ? 1
                              : n > MAX_AUTO_WORKERS ? MAX_AUTO_WORKERS
                                                     : (int)n;
        }
        /* Like a bad setting, an unusable password stops the start. */
        triage_pgconn_t *pg = triage_pgconn_new(&cfg, err, sizeof(err));
        if (!pg) {
                fprintf(stderr, PROG ": %s\n", err);
                ql_config_free(&triage_config_program, &cfg);
                return 2;
        }
        ql_log_t *lg =
            ql_log_new(PROG, cfg.base.log_level, cfg.base.log_format);
        if (!lg) {
                fprintf(stderr, PROG ": out of memory\n");
                triage_pgconn_destroy(pg);
                ql_config_free(&triage_config_program, &cfg);
                return 1;
        }
        install_signals();
        int status = 1;
        ql_codec_t *codec = NULL;
        ql_metrics_t *metrics = NULL;
        lanes_t lanes = {.v = NULL, .n = 0};
        atomic_init(&lanes.deriving, 0);
        atomic_init(&lanes.finish, 0);

        if (cfg.redrive) {
                long n = triage_redrive(&cfg, pg, lg, err, sizeof(err));
                if (n < 0)
                        ql_error(lg, "%s", err);
                else
                        ql_info(lg, "re-drove %ld dead letters to %s", n,
                                cfg.base.topic);
                status = n < 0;
                goto out;
        }
        if (migrate(&cfg, pg, lg)) {
                status = run ? 1 : 0;
                goto out;
        }
        if (cfg.migrate_only) {
                status = 0;
                goto out;
        }
        if (cfg.bureau_region && *cfg.bureau_region) {
                int changed;
                if (triage_bureau_set(pg, cfg.bureau_region, &changed, err,
                                      sizeof(err))) {
                        ql_error(lg, "%s", err);
                        goto out;
                }
                ql_info(lg, "bureau region %s%s", cfg.bureau_region,
                        changed ? " recorded: every plan derived again"
                                : " (as recorded)");
        }
        if (!(codec = ql_codec_new(cfg.base.schema_dir, err, sizeof(err)))) {
                ql_error(lg, "schema_dir %s: %s", cfg.base.schema_dir, err);
                goto out;
        }
        ql_info(lg, "%zu record schema versions loaded from %s",
                ql_codec_schema_count(codec), cfg.base.schema_dir);
        if (cfg.base.metrics_addr && *cfg.base.metrics_addr &&
            !(metrics = ql_metrics_new(PROG))) {
                ql_error(lg, "out of memory");
                goto out;
        }
        lanes.v = calloc((size_t)cfg.workers, sizeof(lane_t));
        if (!lanes.v) {
                ql_error(lg, "out of memory");
                goto out;
        }
        lanes.n = cfg.workers;
        if (start_lanes(&cfg, pg, lg, metrics, codec, &lanes)) {
                status = run ? 1 : 0;
                run = 0;
                join_lanes(argc, argv, lg, &lanes);
                goto out;
        }
        if (metrics) {
                ql_metrics_add_collector(metrics, collect_lag, &lanes);
                ql_metrics_set_ready(metrics, ready_all, &lanes);
                if (ql_metrics_serve(metrics, cfg.base.metrics_addr, err,
                                     sizeof(err))) {
                        ql_error(lg, "metrics_addr %s: %s",
                                 cfg.base.metrics_addr, err);
                        run = 0;
                        join_lanes(argc, argv, lg, &lanes);
                        goto out;
                }
                ql_info(lg, "metrics on http://%s/metrics",
                        cfg.base.metrics_addr);
        }
        if (lanes.n > 1)
                ql_info(lg, "%d consumers in group %s, logging as %s/1..%d",
                        lanes.n, cfg.group, PROG, lanes.n);
        join_lanes(argc, argv, lg, &lanes);
        triage_totals_t t = {0};
        for (int i = 0; i < lanes.n; i++) {
                triage_totals_t one;
                triage_consumer_totals(lanes.v[i].c, &one);
                t.records += one.records;
                t.stored += one.stored;
                t.duplicates += one.duplicates;
                t.rejected += one.rejected;
                t.batches += one.batches;
                t.pg_errors += one.pg_errors;
        }
        ql_info(lg,
                "stopped: %llu records, %llu stored, %llu duplicates, %llu "
                "rejected, %llu batches, %llu PostgreSQL errors",
                (unsigned long long)t.records, (unsigned long long)t.stored,
                (unsigned long long)t.duplicates,
                (unsigned long long)t.rejected, (unsigned long long)t.batches,
                (unsigned long long)t.pg_errors);
        status = 0;
out:
        /* The metrics server reads the consumers: stop it first. */
        ql_metrics_destroy(metrics);
        for (int i = 0; i < lanes.n; i++) {
                triage_consumer_destroy(lanes.v[i].c);
                if (lanes.v[i].lg != lg)
                        ql_log_destroy(lanes.v[i].lg);
        }
        free(lanes.v);
        ql_codec_destroy(codec);
        ql_log_destroy(lg);
        triage_pgconn_destroy(pg);
        ql_config_free(&triage_config_program, &cfg);
        return status;
}
