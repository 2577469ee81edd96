/*
 * ql-spool: the lab spool-directory daemon.  A lab's LIMS drops export files
 * into DIR/incoming/; ql-spool reads each one, publishes every valid result
 * to Kafka with an idempotent producer, lists the rejected ones in
 * DIR/rejected/NAME.errors.jsonl and moves the file to DIR/done/ once Kafka
 * acknowledged all of them.  This file owns the process: configuration,
 * signals, the Kafka producer, the metrics endpoint, and the three modes
 * (daemon with inotify, --once, --check).  The daemon also lists incoming/
 * every --rescan seconds (network shares send no inotify events) and takes
 * what it finds there once unmodified for --min-age seconds, and removes
 * what has been in done/ longer than --done-retention days.  The work on a
 * file is spool_file's.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ql_codec.h"
#include "ql_kafka.h"
#include "ql_log.h"
#include "ql_metrics.h"
#include "ql_time.h"
#include "ql_util.h"
#include "spool_config.h"
#include "spool_dir.h"
#include "spool_file.h"
#include "spool_pending.h"
#include "spool_watch.h"

#define PROG "ql-spool"

enum { EXIT_OK = 0, EXIT_FAULT = 1, EXIT_REJECTS = 3 };

static const char summary[] =
    "Publish the result files a lab exports into a spool directory to Kafka\n"
    "(QL_TOPIC): one Avro record per result, keyed by the enterprise's credit\n"
    "code, with an idempotent producer.\n"
    "\n"
    "  ql-spool --dir DIR --lab CODE [-c FILE]   watch DIR/incoming/ until "
    "SIGTERM\n"
    "  ql-spool --dir DIR --lab CODE --once      process what is there, then "
    "exit\n"
    "  ql-spool --check FILE --lab CODE          only validate FILE (no "
    "Kafka)\n"
    "\n"
    "Spool layout (created if missing):\n"
    "  DIR/incoming/  *.csv and *.jsonl files to publish.  A file is taken "
    "when it is\n"
    "                 closed after writing or moved in (inotify).  Files "
    "found by\n"
    "                 listing incoming/ instead (at start, and every "
    "--rescan seconds,\n"
    "                 for network shares that send no inotify events) are "
    "taken once\n"
    "                 unmodified for --min-age seconds; so write elsewhere "
    "(or as a\n"
    "                 .dotfile) and rename into incoming/.  Dot files are "
    "ignored;\n"
    "                 other names are left alone and logged once.\n"
    "  DIR/done/      a file moves here once Kafka acknowledged every valid "
    "record;\n"
    "                 a name already taken gets a counter (export.1.csv).  "
    "With\n"
    "                 --done-retention DAYS, files older than that are "
    "removed (at\n"
    "                 start, then hourly).\n"
    "  DIR/rejected/  NAME.errors.jsonl lists the rejected records of NAME, "
    "one\n"
    "                 {\"line\": N, \"report_no\": \"...\", \"error\": "
    "\"field: message; ...\"}\n"
    "                 a line (line: where the record starts in the file).  "
    "A file\n"
    "                 that cannot be read at all (e.g. an unknown CSV column) "
    "moves\n"
    "                 here itself, next to its errors list.\n"
    "  A file whose records were not all acknowledged stays in incoming/ and "
    "is\n"
    "  retried after 1 s, 2 s, 4 s, ... at most 60 s.  After a crash a file "
    "is\n"
    "  read again from the start; duplicates are removed downstream by "
    "result_id.\n"
    "  One ql-spool serves a DIR: it holds DIR/.ql-spool.lock while it "
    "runs.\n"
    "\n"
    "Formats: JSON Lines (one result document a line) and CSV (a header row "
    "in\n"
    "English or Chinese, one row per inspection item, rows of a report "
    "together),\n"
    "in UTF-8 (with or without BOM) or GB18030, detected.  See docs/labs.md.\n"
    "\n"
    "Exit status: 0 every record published (--check: no problem); 3 some "
    "records\n"
    "rejected (--check: problems printed); 1 a fault: Kafka did not "
    "acknowledge\n"
    "within --kafka-timeout-ms (the file stays in incoming/), bad "
    "configuration,\n"
    "unusable directory, unreadable --check file.\n"
    "\n"
    "Signals: SIGTERM and SIGINT finish or leave the current file (it stays "
    "in\n"
    "incoming/) and exit 0; SIGHUP reloads log_level, log_format and "
    "uscc_check.\n"
    "\n"
    "Producer defaults, each overridable in the [kafka] section: linger.ms=10,"
    "\n"
    "batch.num.messages=10000, compression.codec=lz4,\n"
    "queue.buffering.max.kbytes=8192 (bounds memory).";

static volatile sig_atomic_t run = 1;
static volatile sig_atomic_t reload = 0;

static void on_stop(int sig)
{
        run = 0;
}

static void on_hup(int sig)
{
        reload = 1;
}

static void install_signals(void)
{
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sigemptyset(&sa.sa_mask);
        sa.sa_handler = on_stop; /* no SA_RESTART: poll() returns EINTR */
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sa.sa_handler = on_hup;
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
}

/* How often done/ is swept when --done-retention is set (a retention is
 * counted in days: an hour late is soon enough). */
#define SWEEP_EVERY_MS (3600 * 1000)

/* How a listing of incoming/ treats what it finds. */
typedef enum {
        SCAN_ALL,   /* --once: everything, at once */
        SCAN_START, /* the daemon's first listing: files older than min_age */
        SCAN_AGAIN, /* a rescan: the same, and say what inotify missed */
} scan_t;

typedef struct {
        int argc;
        char **argv;
        spool_config_t cfg;
        ql_log_t *lg;
        ql_metrics_t *metrics;
        ql_codec_t *codec;
        rd_kafka_t *rk;
        ql_kafka_probe_t *probe; /* /readyz: Kafka reachable */
        spool_dir_t *dir;
        spool_watch_t *watch;
        spool_pending_t *queue;
        spool_ctx_t ctx;
        ql_counter_t *files, *published, *rejected, *retries;
        ql_counter_t *rescan_found, *done_removed;
        ql_histogram_t *file_seconds;
        ql_gauge_t *pending;
        int status;          /* --once: exit status so far */
        int64_t next_rescan; /* monotonic ms of the next listing */
        int64_t next_sweep;  /* monotonic ms of done/'s next sweep */
} app_t;

/* Throughput defaults for the producer, placed before the operator's [kafka]
 * pairs so that any of them can be overridden there. */
static int tune_kafka(ql_config_t *cfg)
{
        static const char *const defaults[][2] = {
            {"linger.ms", "10"},
            {"batch.num.messages", "10000"},
            {"batch.size", "1000000"},
            {"compression.codec", "lz4"},
            {"queue.buffering.max.kbytes", "8192"},
            {"queue.buffering.max.messages", "100000"},
        };
        size_t nd = sizeof(defaults) / sizeof(defaults[0]);
        ql_kv_t *v = calloc(cfg->kafka_n + nd, sizeof(*v));
        if (!v)
                return -1;
        size_t n = 0;
        for (size_t i = 0; i < nd; i++) {
                int set = 0;
                for (size_t k = 0; k < cfg->kafka_n; k++)
                        set |= !strcmp(cfg->kafka[k].key, defaults[i][0]);
                if (set)
                        continue;
                v[n].key = strdup(defaults[i][0]);
                v[n].value = strdup(defaults[i][1]);
                n++;
                if (!v[n - 1].key || !v[n - 1].value) {
                        for (size_t k = 0; k < n; k++) {
                                free(v[k].key);
                                free(v[k].value);
                        }
                        free(v);
                        return -1;
                }
        }
        if (cfg->kafka_n)
                memcpy(v + n, cfg->kafka, cfg->kafka_n * sizeof(*v));
        free(cfg->kafka); /* its strings now belong to v */
        cfg->kafka = v;
        cfg->kafka_n += n;
        return 0;
}

static void do_reload(app_t *a)
{
        spool_config_t next;
        char why[512];
        ql_config_rc_t rc =
            ql_config_build(&spool_config_program, &next, summary, a->argc,
                            a->argv, why, sizeof(why));
        if (rc == QL_CONFIG_OK) {
                ql_log_configure(a->lg, next.base.log_level,
                                 next.base.log_format);
                a->ctx.uscc_mode = next.base.uscc_check;
                ql_info(a->lg, "configuration reloaded");
        } else {
                ql_error(a->lg, "reload refused, configuration unchanged: %s",
                         why);
        }
        ql_config_free(&spool_config_program, &next);
}

/* Process one queued file and account for it.  Returns the outcome. */
static spool_outcome_t process_one(app_t *a, const char *queued)
{
        char name[1024];
        snprintf(name, sizeof(name), "%s", queued);
        spool_result_t res;
        spool_outcome_t out = spool_file_process(&a->ctx, name, &res);
        ql_counter_add(a->published, res.published);
        if (out != SPOOL_FILE_GONE)
                ql_histogram_observe(a->file_seconds, res.seconds);
        switch (out) {
        case SPOOL_FILE_DONE:
                ql_counter_add(a->files, 1);
                ql_counter_add(a->rejected, res.rejected);
                ql_info(a->lg,
                        "file %s: published %zu, rejected %zu, %.3f s -> "
                        "done/%s%s%s%s",
                        name, res.published, res.rejected, res.seconds,
                        res.final, res.rejected ? " (errors in rejected/" : "",
                        res.rejected ? res.final : "",
                        res.rejected ? ".errors.jsonl)" : "");
                if (res.warnings > 0)
                        ql_warn(a->lg,
                                "file %s: %zu records accepted with "
                                "warnings",
                                name, res.warnings);
                spool_pending_remove(a->queue, name);
                if (res.rejected && a->status == EXIT_OK)
                        a->status = EXIT_REJECTS;
                break;
        case SPOOL_FILE_REJECTED:
                ql_counter_add(a->files, 1);
                ql_warn(a->lg,
                        "file %s: published 0, rejected the file, %.3f s -> "
                        "rejected/%s: %s",
                        name, res.seconds, res.final, res.why);
                spool_pending_remove(a->queue, name);
                if (a->status == EXIT_OK)
                        a->status = EXIT_REJECTS;
                break;
        case SPOOL_FILE_RETRY: {
                ql_counter_add(a->retries, 1);
                int64_t backoff =
                    spool_pending_retry(a->queue, name, ql_util_mono_ms());
                if (a->cfg.once)
                        ql_error(a->lg,
                                 "file %s: %s; %zu of its records "
                                 "acknowledged; left in incoming/",
                                 name, res.why, res.published);
                else
                        ql_warn(a->lg,
                                "file %s: %s; %zu of its records "
                                "acknowledged; left in incoming/, retry in "
                                "%.0f s",
                                name, res.why, res.published, backoff / 1000.0);
                a->status = EXIT_FAULT;
                break;
        }
        case SPOOL_FILE_STOPPED:
                ql_info(a->lg,
                        "file %s: stopped after %zu records; left in "
                        "incoming/",
                        name, res.published);
                break;
        case SPOOL_FILE_CHANGED:
                /* Out of the queue: a listing takes it again once it is
                 * unmodified for min_age (or inotify, once it is closed);
                 * the records already sent are sent again then, which is
                 * harmless. */
                ql_counter_add(a->retries, 1);
                ql_warn(a->lg,
                        "file %s: modified while being read (%zu of its "
                        "records acknowledged); left in incoming/ until "
                        "unmodified for %d s",
                        name, res.published, a->cfg.min_age);
                spool_pending_remove(a->queue, name);
                if (ql_util_mono_ms() + (int64_t)a->cfg.min_age * 1000 <
                    a->next_rescan)
                        a->next_rescan =
                            ql_util_mono_ms() + (int64_t)a->cfg.min_age * 1000;
                a->status = EXIT_FAULT;
                break;
        case SPOOL_FILE_GONE:
                spool_pending_remove(a->queue, name);
                break;
        }
        ql_gauge_set(a->pending, (double)spool_pending_len(a->queue));
        return out;
}

/* A name seen in incoming/: queue it, or say once that it is left alone. */
static void offer(app_t *a, const char *name)
{
        switch (spool_dir_classify(name)) {
        case SPOOL_NAME_CSV:
        case SPOOL_NAME_JSONL:
                if (spool_pending_add(a->queue, name, ql_util_mono_ms()))
                        ql_error(a->lg, "file %s: out of memory; not queued",
                                 name);
                break;
        case SPOOL_NAME_OTHER:
                if (spool_pending_ignore(a->queue, name))
                        ql_info(a->lg,
                                "file %s: not a .csv or .jsonl file; "
                                "left alone in incoming/",
                                name);
                break;
        case SPOOL_NAME_HIDDEN:
                break;
        }
}

/* A name found by listing incoming/, where no inotify event said that its
 * writer finished: a file to publish is offered once unmodified for
 * min_age; until then the next listing is brought forward to the moment it
 * will be (and the check is made again then: a writer may still be at it). */
static void offer_listed(app_t *a, const char *name, scan_t kind)
{
        spool_name_t k = spool_dir_classify(name);
        if (kind == SCAN_ALL ||
            (k != SPOOL_NAME_CSV && k != SPOOL_NAME_JSONL) ||
            spool_pending_has(a->queue, name)) {
                offer(a, name);
                return;
        }
        int64_t mtime;
        if (spool_dir_mtime(a->dir, name, &mtime))
                return; /* gone since the listing */
        int64_t need = (int64_t)a->cfg.min_age * 1000;
        int64_t age = ql_util_wall_ms() - mtime;
        if (age < need) {
                /* A modification time in the future (another host's clock)
                 * is looked at again after min_age, not waited out. */
                int64_t wait = need - age > need ? need : need - age;
                if (ql_util_mono_ms() + wait < a->next_rescan)
                        a->next_rescan = ql_util_mono_ms() + wait;
                ql_debug(a->lg,
                         "file %s: modified %.1f s ago; taken once "
                         "unmodified for %d s",
                         name, age / 1000.0, a->cfg.min_age);
                return;
        }
        if (kind == SCAN_AGAIN) {
                ql_counter_add(a->rescan_found, 1);
                ql_info(a->lg,
                        "file %s: found by listing incoming/ (no inotify "
                        "event announced it)",
                        name);
        }
        offer(a, name);
}

static int scan_incoming(app_t *a, scan_t kind)
{
        char **names, why[512];
        size_t n;
        if (kind != SCAN_ALL)
                a->next_rescan =
                    a->cfg.rescan > 0
                        ? ql_util_mono_ms() + (int64_t)a->cfg.rescan * 1000
                        : INT64_MAX;
        if (spool_dir_list(a->dir, &names, &n, why, sizeof(why))) {
                ql_error(a->lg, "%s", why);
                return -1;
        }
        for (size_t i = 0; i < n; i++)
                offer_listed(a, names[i], kind);
        spool_dir_names_free(names, n);
        ql_gauge_set(a->pending, (double)spool_pending_len(a->queue));
        return 0;
}

static void on_expired(void *arg, const char *name, int64_t mtime_ms, int err)
{
        app_t *a = arg;
        if (err) {
                ql_warn(a->lg, "done/%s: not removed: %s", name, strerror(err));
                return;
        }
        char when[40];
        ql_time_format_timestamp(mtime_ms, 0, when, sizeof(when));
        ql_counter_add(a->done_removed, 1);
        ql_info(a->lg,
                "done/%s: removed (last modified %s, more than %d days ago)",
                name, when, a->cfg.done_retention);
}

/* done/'s retention, when one is set. */
static void sweep_done(app_t *a)
{
        a->next_sweep = ql_util_mono_ms() + SWEEP_EVERY_MS;
        if (a->cfg.done_retention <= 0)
                return;
        char why[512];
        int64_t cutoff =
            ql_util_wall_ms() - (int64_t)a->cfg.done_retention * 86400 * 1000;
        if (spool_dir_expire_done(a->dir, cutoff, on_expired, a, why,
                                  sizeof(why)) < 0)
                ql_error(a->lg, "retention: %s", why);
}

static void on_watch(void *arg, const char *name, spool_watch_event_t ev)
{
        app_t *a = arg;
        if (ev == SPOOL_WATCH_READY)
                offer(a, name);
        else
                spool_pending_remove(a->queue, name);
}

/* Pending inotify events; -1 when the watch broke. */
static int drain_watch(app_t *a)
{
        char why[512];
        int rc = spool_watch_read(a->watch, on_watch, a, why, sizeof(why));
        if (rc < 0) {
                ql_error(a->lg, "%s", why);
                return -1;
        }
        if (rc == 1) {
                ql_warn(a->lg, "inotify queue overflowed; rescanning "
                               "incoming/");
                return scan_incoming(a, SCAN_AGAIN);
        }
        ql_gauge_set(a->pending, (double)spool_pending_len(a->queue));
        return 0;
}

static int fatal_kafka(app_t *a)
{
        char why[512];
        if (rd_kafka_fatal_error(a->rk, why, sizeof(why)) ==
            RD_KAFKA_RESP_ERR_NO_ERROR)
                return 0;
        ql_error(a->lg, "Kafka producer failed for good: %s", why);
        return 1;
}

static int run_once(app_t *a)
{
        sweep_done(a);
        if (scan_incoming(a, SCAN_ALL))
                return EXIT_FAULT;
        int64_t wait;
        const char *name;
        while (run && (name = spool_pending_next(a->queue, INT64_MAX, &wait))) {
                spool_outcome_t out = process_one(a, name);
                if (out == SPOOL_FILE_RETRY || out == SPOOL_FILE_STOPPED ||
                    fatal_kafka(a))
                        break; /* the rest stays in incoming/ */
        }
        if (fatal_kafka(a))
                a->status = EXIT_FAULT;
        return a->status;
}

static int run_daemon(app_t *a)
{
        char why[512];
        a->watch =
            spool_watch_new(spool_dir_incoming(a->dir), why, sizeof(why));
        if (!a->watch) {
                ql_error(a->lg, "%s", why);
                return EXIT_FAULT;
        }
        sweep_done(a);
        /* Watch first, then list: a file arriving in between is seen by
         * both, and the queue keeps it once. */
        if (scan_incoming(a, SCAN_START))
                return EXIT_FAULT;
        ql_info(a->lg,
                "watching %s (lab %s, topic %s, %zu files waiting; listing "
                "it every %d s, taking listed files unmodified for %d s)",
                spool_dir_incoming(a->dir), a->cfg.lab, a->cfg.base.topic,
                spool_pending_len(a->queue), a->cfg.rescan, a->cfg.min_age);
        while (run) {
                if (reload) {
                        reload = 0;
                        do_reload(a);
                }
                /* A listing that fails now (a share gone for a moment) is
                 * tried again at the next one. */
                if (ql_util_mono_ms() >= a->next_rescan)
                        scan_incoming(a, SCAN_AGAIN);
                if (ql_util_mono_ms() >= a->next_sweep)
                        sweep_done(a);
                int64_t wait;
                const char *name =
                    spool_pending_next(a->queue, ql_util_mono_ms(), &wait);
                if (name) {
                        process_one(a, name);
                        if (fatal_kafka(a))
                                return EXIT_FAULT;
                        if (drain_watch(a))
                                return EXIT_FAULT;
                        continue;
                }
                struct pollfd p = {.fd = spool_watch_fd(a->watch),
                                   .events = POLLIN};
                int64_t until = a->next_rescan - ql_util_mono_ms();
                if (wait < 0 || wait > until)
                        wait = until < 0 ? 0 : until;
                int timeout = wait > 1000 ? 1000 : (int)wait;
                if (poll(&p, 1, timeout) < 0 && errno != EINTR) {
                        ql_error(a->lg, "poll: %s", strerror(errno));
                        return EXIT_FAULT;
                }
                rd_kafka_poll(a->rk, 0);
                if ((p.revents & POLLIN) && drain_watch(a))
                        return EXIT_FAULT;
        }
        ql_info(a->lg, "stopping");
        return EXIT_OK;
}

static int run_check(app_t *a)
{
        spool_result_t res;
        int rc = spool_file_check(&a->ctx, a->cfg.check, stdout, &res);
        fflush(stdout);
        if (rc == EXIT_FAULT)
                fprintf(stderr, PROG ": %s\n", res.why);
        else
                fprintf(stderr,
                        PROG ": %s: %zu records, %zu rejected, %zu accepted "
                             "with warnings%s\n",
                        a->cfg.check, res.records, res.rejected, res.warnings,
                        rc == EXIT_REJECTS && !res.records
                            ? "; the file cannot be read"
                            : "");
        return rc;
}

static void register_metrics(app_t *a)
{
        ql_metrics_t *m = a->metrics;
        a->files = ql_metrics_counter(
            m, "ql_spool_files_total",
            "Spool files finished (moved to done/ or rejected/).", NULL);
        a->published = ql_metrics_counter(m, "ql_spool_records_published_total",
                                          "Records Kafka acknowledged.", NULL);
        a->rejected =
            ql_metrics_counter(m, "ql_spool_records_rejected_total",
                               "Records listed in an errors file.", NULL);
        a->retries = ql_metrics_counter(
            m, "ql_spool_retries_total",
            "Files left in incoming/ to retry after a fault.", NULL);
        a->file_seconds = ql_metrics_histogram(
            m, "ql_spool_file_seconds", "Time spent on one spool file.", NULL);
        a->pending = ql_metrics_gauge(m, "ql_spool_pending_files",
                                      "Files waiting in incoming/.", NULL);
        a->rescan_found = ql_metrics_counter(
            m, "ql_spool_rescan_found_total",
            "Files a listing of incoming/ found that no inotify event "
            "announced.",
            NULL);
        a->done_removed = ql_metrics_counter(
            m, "ql_spool_done_removed_total",
            "Files removed from done/ by its retention.", NULL);
}

/* Room left for the record itself under message.max.bytes (key and the
 * message's framing take the rest). */
static size_t message_limit(rd_kafka_t *rk)
{
        char buf[64];
        size_t size = sizeof(buf);
        if (rd_kafka_conf_get(rd_kafka_conf(rk), "message.max.bytes", buf,
                              &size) != RD_KAFKA_CONF_OK)
                return 0;
        long v = strtol(buf, NULL, 10);
        return v > 1024 ? (size_t)v - 512 : 0;
}

static int start(app_t *a)
{
        char why[512];
        a->codec = ql_codec_new(a->cfg.base.schema_dir, why, sizeof(why));
        if (!a->codec) {
                ql_error(a->lg, "schema_dir %s: %s", a->cfg.base.schema_dir,
                         why);
                return -1;
        }
        a->ctx.lg = a->lg;
        a->ctx.codec = a->codec;
        a->ctx.lab = a->cfg.lab;
        a->ctx.uscc_mode = a->cfg.base.uscc_check;
        a->ctx.run = &run;
        if (a->cfg.check)
                return 0;

        a->dir = spool_dir_open(a->cfg.dir, why, sizeof(why));
        if (!a->dir) {
                ql_error(a->lg, "dir: %s", why);
                return -1;
        }
        a->queue = spool_pending_new();
        a->metrics = ql_metrics_new(PROG);
        if (!a->queue || !a->metrics || tune_kafka(&a->cfg.base)) {
                ql_error(a->lg, "out of memory");
                return -1;
        }
        register_metrics(a);
        if (a->cfg.base.metrics_addr && *a->cfg.base.metrics_addr &&
            ql_metrics_serve(a->metrics, a->cfg.base.metrics_addr, why,
                             sizeof(why))) {
                ql_error(a->lg, "metrics_addr: %s", why);
                return -1;
        }
        a->rk = ql_kafka_producer_new(&a->cfg.base, a->lg, why, sizeof(why));
        if (!a->rk) {
                ql_error(a->lg, "%s", why);
                return -1;
        }
        a->probe = ql_kafka_probe_new(a->rk, a->cfg.base.topic, 2000, 1000);
        if (!a->probe) {
                ql_error(a->lg, "out of memory");
                return -1;
        }
        ql_metrics_set_ready(a->metrics, ql_kafka_probe_ready, a->probe);
        a->ctx.rk = a->rk;
        a->ctx.topic = a->cfg.base.topic;
        a->ctx.kafka_timeout_ms = a->cfg.base.kafka_timeout_ms;
        a->ctx.max_message_bytes = message_limit(a->rk);
        a->ctx.dir = a->dir;
        return 0;
}

static void stop(app_t *a)
{
        if (a->rk) {
                /* Bounded (a file's own wait had its grace already):
                 * whatever is still unacknowledged belongs to a file that
                 * stays in incoming/.  Purging fails those messages, and
                 * serving their reports releases the trackers they hold. */
                /* The endpoint goes first: /readyz uses the producer. */
                ql_metrics_stop(a->metrics);
                ql_kafka_probe_destroy(a->probe);
                rd_kafka_flush(a->rk, 1000);
                int left = rd_kafka_outq_len(a->rk);
                if (left > 0) {
                        ql_warn(a->lg,
                                "%d messages not acknowledged at exit; "
                                "their files stay in incoming/",
                                left);
                        rd_kafka_purge(a->rk, RD_KAFKA_PURGE_F_QUEUE |
                                                  RD_KAFKA_PURGE_F_INFLIGHT);
                        rd_kafka_flush(a->rk, 1000);
                }
                rd_kafka_destroy(a->rk);
        }
        spool_watch_destroy(a->watch);
        spool_pending_destroy(a->queue);
        spool_dir_close(a->dir);
        ql_metrics_destroy(a->metrics);
        ql_codec_destroy(a->codec);
}

int main(int argc, char **argv)
{
        app_t a;
        memset(&a, 0, sizeof(a));
        a.argc = argc;
        a.argv = argv;
        char why[512];
        ql_config_rc_t rc =
            ql_config_build(&spool_config_program, &a.cfg, summary, argc, argv,
                            why, sizeof(why));
        if (rc != QL_CONFIG_OK) {
                ql_config_free(&spool_config_program, &a.cfg);
                if (rc == QL_CONFIG_HELP)
                        return EXIT_OK;
                fprintf(stderr, PROG ": %s\n", why);
                return EXIT_FAULT;
        }
        a.lg = ql_log_new(PROG, a.cfg.base.log_level, a.cfg.base.log_format);
        install_signals();
        int status = EXIT_FAULT;
        if (start(&a) == 0) {
                if (a.cfg.check)
                        status = run_check(&a);
                else if (a.cfg.once)
                        status = run_once(&a);
                else
                        status = run_daemon(&a);
        }
        stop(&a);
        ql_log_destroy(a.lg);
        ql_config_free(&spool_config_program, &a.cfg);
        return status;
}
