/*
 * spool_file: reading one spool file.  The bytes go through three stages in
 * fixed-size chunks: the charset sniffer (first pass over the head of the
 * file), the converter to UTF-8, and the format's reader (spool_csvread, which
 * makes a scan pass of its own first, or spool_jsonlread).  The work is shared
 * by threads that hand over in file order through short queues:
 *
 *   CSV:    reader thread   scan pass (a big file's second half on a
 *                           helper thread), then pass 2 parsed into rows
 *           builder thread  reports built and validated from the rows
 *   JSON Lines:
 *           reader thread   lines split into batches
 *           PARSERS threads batches parsed and validated, in turn
 *   both:   calling thread  encoding, producing, the errors list (--check:
 *                           printing)
 *
 * Items go back to the thread that allocated them to be freed.  Nothing of
 * the file is held beyond the current report and the queues' QUEUE_LEN
 *
 * This file is the life of one file (open, read and publish, wait for the
 * acknowledgements, move it) and --check; the stages are in
 * spool_reader.c (the reader thread), spool_workers.c (the builder and
 * parser threads), spool_publish.c (the calling thread's side) and
 * spool_handoff.c (the queues between them).
 */
#include "spool_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ql_kafka.h"
#include "ql_result.h"
#include "ql_util.h"
#include "spool_charset.h"
#include "spool_csvread.h"
#include "spool_file_private.h"
#include "spool_jsonlread.h"

void spool_problems_copy(ql_problems_t *dst, const ql_problems_t *src)
{
        for (size_t i = 0; src && i < src->n; i++)
                ql_problems_add(dst, src->v[i].field, "%s", src->v[i].message);
}

void spool_rec_clear(rec_t *r)
{
        free(r->report_no);
        json_decref(r->doc);
        ql_problems_clear(&r->errors);
        ql_problems_clear(&r->warnings);
        spool_csvread_destroy(r->builder);
        spool_csvread_rows_destroy(r->rows);
        spool_jsonlread_destroy(r->parser);
        spool_jsonlread_lines_destroy(r->lines);
        memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------------------
 * Publishing a file
 */

/* Wait for the acknowledgements of what was produced: up to the delivery
 * timeout (librdkafka fails each message by then), or a short grace once
 * asked to stop.  Returns the number still unsettled. */
static size_t wait_acks(job_t *j)
{
        const spool_ctx_t *ctx = j->ctx;
        double start = ql_util_mono_s(), stop_at = 0;
        double bound = (ctx->kafka_timeout_ms + ACK_SLACK_MS) / 1000.0;
        size_t left;
        while ((left = ql_delivery_wait(j->d, ctx->rk, 200)) > 0) {
                double t = ql_util_mono_s();
                if (t - start > bound)
                        break;
                if (!*ctx->run) {
                        if (!stop_at)
                                stop_at = t;
                        else if (t - stop_at > STOP_GRACE_MS / 1000.0)
                                break;
                }
        }
        return left;
}

static spool_outcome_t finish(job_t *j, spool_dest_t dest)
{
        char why[512];
        if (spool_dir_finish(j->ctx->dir, j->name, dest, j->rj, j->res->final,
                             sizeof(j->res->final), why, sizeof(why))) {
                snprintf(j->res->why, sizeof(j->res->why), "%s", why);
                return SPOOL_FILE_RETRY;
        }
        return dest == SPOOL_TO_DONE ? SPOOL_FILE_DONE : SPOOL_FILE_REJECTED;
}

static spool_outcome_t process(job_t *j)
{
        const spool_ctx_t *ctx = j->ctx;
        int fd = openat(spool_dir_incoming_fd(ctx->dir), j->name,
                        O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        struct stat st;
        if (fd < 0) {
                if (errno == ENOENT || errno == ELOOP)
                        return SPOOL_FILE_GONE;
                snprintf(j->res->why, sizeof(j->res->why), "cannot open: %s",
                         strerror(errno));
                ql_problems_t p = {0};
                ql_problems_add(&p, "", "%s", j->res->why);
                int rc = spool_rejects_add(j->rj, 0, NULL, &p, j->res->why,
                                           sizeof(j->res->why));
                ql_problems_clear(&p);
                return rc ? SPOOL_FILE_RETRY : finish(j, SPOOL_TO_REJECTED);
        }
        if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
                close(fd);
                return SPOOL_FILE_GONE;
        }
        j->d = ql_delivery_new();
        if (!j->d) {
                close(fd);
                snprintf(j->res->why, sizeof(j->res->why), "out of memory");
                return SPOOL_FILE_RETRY;
        }
        read_rc_t rc =
            spool_read_and_publish(j, fd, spool_dir_classify(j->name));
        size_t left = wait_acks(j);
        /* A writer still at work (a file found by listing incoming/, whose
         * writer paused) changes the size or modification time while the
         * file is read: it must not move on half-read. */
        struct stat after;
        int changed = fstat(fd, &after) == 0 &&
                      (after.st_size != st.st_size ||
                       after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
                       after.st_mtim.tv_nsec != st.st_mtim.tv_nsec);
        close(fd);
        j->res->published = ql_delivery_acked(j->d);
        size_t failed = ql_delivery_failed(j->d);
        if (failed) {
                char first[256];
                ql_delivery_first_error(j->d, first, sizeof(first));
                if (rc != READ_FAULT)
                        snprintf(j->res->why, sizeof(j->res->why),
                                 "%zu records not acknowledged: %s", failed,
                                 first);
        } else if (left && rc != READ_FAULT) {
                snprintf(j->res->why, sizeof(j->res->why),
                         "%zu records not acknowledged in time", left);
        }
        if (changed && rc != READ_STOPPED) {
                snprintf(j->res->why, sizeof(j->res->why),
                         "modified while being read");
                return SPOOL_FILE_CHANGED;
        }
        switch (rc) {
        case READ_UNREADABLE:
                return finish(j, SPOOL_TO_REJECTED);
        case READ_FAULT:
                return SPOOL_FILE_RETRY;
        case READ_STOPPED:
                return SPOOL_FILE_STOPPED;
        case READ_OK:
                break;
        }
        if (failed || left)
                return *ctx->run ? SPOOL_FILE_RETRY : SPOOL_FILE_STOPPED;
        return finish(j, SPOOL_TO_DONE);
}

spool_outcome_t spool_file_process(const spool_ctx_t *ctx, const char *name,
                                   spool_result_t *res)
{
        memset(res, 0, sizeof(*res));
        double start = ql_util_mono_s();
        job_t j = {.ctx = ctx, .name = name, .res = res};
        j.rj = spool_rejects_new(spool_dir_rejected_fd(ctx->dir), name);
        spool_outcome_t out;
        if (!j.rj) {
                snprintf(res->why, sizeof(res->why), "out of memory");
                out = SPOOL_FILE_RETRY;
        } else {
                out = process(&j);
        }
        spool_rejects_destroy(j.rj); /* discards the list if not committed */
        ql_delivery_release(j.d);
        res->seconds = ql_util_mono_s() - start;
        return out;
}

int spool_file_check(const spool_ctx_t *ctx, const char *path, FILE *out,
                     spool_result_t *res)
{
        memset(res, 0, sizeof(*res));
        double start = ql_util_mono_s();
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        job_t j = {.ctx = ctx, .name = base, .res = res, .check_out = out};
        spool_name_t kind = spool_dir_classify(base);
        if (kind != SPOOL_NAME_CSV && kind != SPOOL_NAME_JSONL) {
                snprintf(res->why, sizeof(res->why),
                         "%s: not a .csv or .jsonl file", path);
                return 1;
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                snprintf(res->why, sizeof(res->why), "%s: %s", path,
                         strerror(errno));
                return 1;
        }
        read_rc_t rc = spool_read_and_publish(&j, fd, kind);
        close(fd);
        res->seconds = ql_util_mono_s() - start;
        if (rc == READ_FAULT || rc == READ_STOPPED) {
                if (rc == READ_STOPPED)
                        snprintf(res->why, sizeof(res->why), "interrupted");
                return 1;
        }
        return j.problems ? 3 : 0;
}
