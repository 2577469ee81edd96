/*
 * spool_file: reading one spool file.  The bytes go through three stages in
 * fixed-size chunks: the charset sniffer (first pass over the head of the
 * file), the converter to UTF-8, and the format's reader (ql_csvread, which
 * makes a scan pass of its own first, or ql_jsonlread).  Each record the
 * reader hands back is either written to the errors list or encoded and
 * produced at once; nothing of the file is held beyond the current report.
 */
#include "spool_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ql_charset.h"
#include "ql_csvread.h"
#include "ql_jsonlread.h"
#include "ql_kafka.h"
#include "ql_result.h"

#define CHUNK           (256u << 10)
#define POLL_EVERY      100 /* records between delivery-report polls */
#define WARNINGS_LOGGED 10  /* per file; the rest are counted */
#define STOP_GRACE_MS   5000
#define ACK_SLACK_MS    2000

typedef struct {
        const spool_ctx_t *ctx;
        const char *name;
        spool_result_t *res;
        FILE *check_out;     /* --check: problems printed here */
        spool_rejects_t *rj; /* publishing: the errors list */
        ql_delivery_t *d;
        size_t since_poll;
        int fault; /* res->why says what */
        int stop;
        size_t problems; /* --check: records and file problems */
} job_t;

typedef enum { READ_OK, READ_UNREADABLE, READ_FAULT, READ_STOPPED } read_rc_t;

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------
 * Records
 */

static void print_problems(FILE *out, size_t line, const char *report_no,
                           const char *kind, const ql_problems_t *p)
{
        for (size_t i = 0; i < p->n; i++) {
                fprintf(out, "line %zu: ", line);
                if (report_no)
                        fprintf(out, "report %s: ", report_no);
                fputs(kind, out);
                if (p->v[i].field && *p->v[i].field)
                        fprintf(out, "%s: ", p->v[i].field);
                fprintf(out, "%s\n", p->v[i].message);
        }
}

/* A record with problems: to the errors list, or printed. */
static int reject(job_t *j, size_t line, const char *report_no,
                  const ql_problems_t *errors)
{
        j->res->rejected++;
        if (j->check_out) {
                print_problems(j->check_out, line, report_no, "", errors);
                j->problems++;
                return 0;
        }
        char why[512];
        if (spool_rejects_add(j->rj, line, report_no, errors, why,
                              sizeof(why))) {
                snprintf(j->res->why, sizeof(j->res->why), "%s", why);
                j->fault = 1;
                return -1;
        }
        return 0;
}

static int reject_one(job_t *j, size_t line, const char *report_no,
                      const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int reject_one(job_t *j, size_t line, const char *report_no,
                      const char *field, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        ql_problems_t p = {0};
        ql_problems_add(&p, field, "%s", msg);
        int rc = reject(j, line, report_no, &p);
        ql_problems_clear(&p);
        return rc;
}

static void warn(job_t *j, size_t line, const char *report_no,
                 const ql_problems_t *warnings)
{
        j->res->warnings++;
        if (j->check_out) {
                print_problems(j->check_out, line, report_no,
                               "warning: ", warnings);
                return;
        }
        if (j->res->warnings > WARNINGS_LOGGED)
                return;
        for (size_t i = 0; i < warnings->n; i++)
                ql_warn(j->ctx->lg,
                        "%s line %zu: report %s: accepted with a "
                        "warning: %s: %s",
                        j->name, line, report_no ? report_no : "-",
                        warnings->v[i].field, warnings->v[i].message);
}

static int publish(job_t *j, size_t line, const char *report_no,
                   const json_t *doc)
{
        const spool_ctx_t *ctx = j->ctx;
        unsigned char *buf = NULL;
        size_t len = 0;
        char why[512];
        if (ql_codec_encode(ctx->codec, doc, &buf, &len, why, sizeof(why)))
                return reject_one(j, line, report_no, "",
                                  "cannot be encoded: %s", why);
        if (j->check_out) {
                free(buf);
                return 0;
        }
        if (ctx->max_message_bytes && len > ctx->max_message_bytes) {
                free(buf);
                return reject_one(j, line, report_no, "",
                                  "the encoded record is %zu bytes, more "
                                  "than Kafka's limit of %zu",
                                  len, ctx->max_message_bytes);
        }
        const char *key = ql_result_str(doc, "enterprise.credit_code");
        int rc =
            ql_delivery_produce(j->d, ctx->rk, ctx->topic, key, strlen(key),
                                buf, len, NULL, why, sizeof(why));
        free(buf);
        if (rc) {
                snprintf(j->res->why, sizeof(j->res->why), "%s", why);
                j->fault = 1;
                return -1;
        }
        if (++j->since_poll >= POLL_EVERY) {
                j->since_poll = 0;
                rd_kafka_poll(ctx->rk, 0);
                if (ql_delivery_failed(j->d)) {
                        char first[256];
                        ql_delivery_first_error(j->d, first, sizeof(first));
                        snprintf(j->res->why, sizeof(j->res->why),
                                 "Kafka did not take a record: %s", first);
                        j->fault = 1;
                        return -1;
                }
        }
        return 0;
}

/* Every record of either format ends here.  Non-zero stops the reader. */
static int on_record(job_t *j, size_t line, const char *report_no,
                     const json_t *doc, const ql_problems_t *errors,
                     const ql_problems_t *warnings)
{
        if (!*j->ctx->run) {
                j->stop = 1;
                return 1;
        }
        int rc;
        j->res->records++;
        if (!doc) {
                rc = reject(j, line, report_no, errors);
        } else {
                if (warnings->n)
                        warn(j, line, report_no, warnings);
                rc = publish(j, line, report_no, doc);
        }
        return rc != 0;
}

static int on_csv(void *arg, const ql_csvread_rec_t *r)
{
        return on_record(arg, r->line, r->report_no, r->doc, r->errors,
                         r->warnings);
}

static int on_jsonl(void *arg, const ql_jsonlread_rec_t *r)
{
        return on_record(arg, r->line, r->report_no, r->doc, r->errors,
                         r->warnings);
}

/* ------------------------------------------------------------------------
 * Reading
 */

/* Read up to size bytes; -1 with res->why on an error. */
static ssize_t read_chunk(job_t *j, int fd, char *buf, size_t size)
{
        for (;;) {
                ssize_t n = read(fd, buf, size);
                if (n >= 0)
                        return n;
                if (errno == EINTR)
                        continue;
                snprintf(j->res->why, sizeof(j->res->why), "read: %s",
                         strerror(errno));
                return -1;
        }
}

static int rewind_fd(job_t *j, int fd)
{
        if (lseek(fd, 0, SEEK_SET) == 0)
                return 0;
        snprintf(j->res->why, sizeof(j->res->why), "seek: %s", strerror(errno));
        return -1;
}

static int sniff(job_t *j, int fd, char *buf, ql_charset_t *cs)
{
        ql_charset_sniff_t s;
        ql_charset_sniff_init(&s);
        ssize_t n;
        while ((n = read_chunk(j, fd, buf, CHUNK)) > 0)
                if (ql_charset_sniff_feed(&s, buf, (size_t)n))
                        break;
        if (n < 0)
                return -1;
        *cs = ql_charset_sniff_result(&s);
        return rewind_fd(j, fd);
}

/* One pass over the file: bytes -> UTF-8 -> step(). */
typedef int (*step_fn)(job_t *j, void *reader, const char *utf8, size_t len,
                       int end);

static read_rc_t pass(job_t *j, int fd, char *buf, ql_charset_t cs,
                      void *reader, step_fn step)
{
        char why[256];
        ql_charset_conv_t *conv = ql_charset_conv_new(cs, why, sizeof(why));
        if (!conv) {
                snprintf(j->res->why, sizeof(j->res->why), "%s", why);
                return READ_FAULT;
        }
        read_rc_t rc = READ_OK;
        for (;;) {
                if (!*j->ctx->run) {
                        rc = READ_STOPPED;
                        break;
                }
                ssize_t n = read_chunk(j, fd, buf, CHUNK);
                if (n < 0) {
                        rc = READ_FAULT;
                        break;
                }
                const char *out;
                size_t out_len;
                if (ql_charset_conv(conv, buf, (size_t)n, n == 0, &out,
                                    &out_len, why, sizeof(why))) {
                        snprintf(j->res->why, sizeof(j->res->why), "%s", why);
                        rc = READ_FAULT;
                        break;
                }
                int s = step(j, reader, out, out_len, n == 0);
                if (s < 0) {
                        rc = READ_UNREADABLE;
                        break;
                }
                if (j->fault) {
                        rc = READ_FAULT;
                        break;
                }
                if (j->stop || s > 0) {
                        rc = READ_STOPPED;
                        break;
                }
                if (n == 0)
                        break;
        }
        ql_charset_conv_destroy(conv);
        return rc;
}

static read_rc_t csv_rc(job_t *j, ql_csvread_rc_t rc)
{
        switch (rc) {
        case QL_CSVREAD_OK:
                return READ_OK;
        case QL_CSVREAD_STOPPED:
                return READ_STOPPED;
        case QL_CSVREAD_BAD_FILE:
                return READ_UNREADABLE;
        case QL_CSVREAD_NOMEM:
                break;
        }
        snprintf(j->res->why, sizeof(j->res->why), "out of memory");
        j->fault = 1;
        return READ_FAULT;
}

/* step results: 0 go on, 1 stop, -1 unreadable */
static int step_of(read_rc_t rc)
{
        return rc == READ_UNREADABLE ? -1 : rc == READ_OK ? 0 : 1;
}

static int csv_scan_step(job_t *j, void *reader, const char *s, size_t len,
                         int end)
{
        ql_csvread_t *r = reader;
        ql_csvread_rc_t rc = ql_csvread_scan(r, s, len);
        if (rc == QL_CSVREAD_OK && end)
                rc = ql_csvread_scan_end(r);
        return step_of(csv_rc(j, rc));
}

static int csv_build_step(job_t *j, void *reader, const char *s, size_t len,
                          int end)
{
        ql_csvread_t *r = reader;
        ql_csvread_rc_t rc = ql_csvread_feed(r, s, len, on_csv, j);
        if (rc == QL_CSVREAD_OK && end)
                rc = ql_csvread_end(r, on_csv, j);
        return step_of(csv_rc(j, rc));
}

static int jsonl_step(job_t *j, void *reader, const char *s, size_t len,
                      int end)
{
        ql_jsonlread_t *r = reader;
        ql_jsonlread_rc_t rc = ql_jsonlread_feed(r, s, len, on_jsonl, j);
        if (rc == QL_JSONLREAD_OK && end)
                rc = ql_jsonlread_end(r, on_jsonl, j);
        if (rc == QL_JSONLREAD_NOMEM) {
                snprintf(j->res->why, sizeof(j->res->why), "out of memory");
                j->fault = 1;
        }
        return rc == QL_JSONLREAD_OK ? 0 : 1;
}

/* The file's own problems (unreadable) go to the errors list as one entry. */
static int file_problems(job_t *j, size_t line, const ql_problems_t *p)
{
        char *joined = spool_rejects_join(p);
        snprintf(j->res->why, sizeof(j->res->why), "%s",
                 joined ? joined : "unreadable");
        free(joined);
        if (j->check_out) {
                print_problems(j->check_out, line, NULL, "", p);
                j->problems++;
                return 0;
        }
        char why[512];
        if (spool_rejects_add(j->rj, line, NULL, p, why, sizeof(why))) {
                snprintf(j->res->why, sizeof(j->res->why), "%s", why);
                j->fault = 1;
                return -1;
        }
        return 0;
}

static read_rc_t read_file(job_t *j, int fd, spool_name_t kind)
{
        char *buf = malloc(CHUNK);
        if (!buf) {
                snprintf(j->res->why, sizeof(j->res->why), "out of memory");
                return READ_FAULT;
        }
        ql_charset_t cs;
        read_rc_t rc = READ_FAULT;
        if (sniff(j, fd, buf, &cs)) {
                free(buf);
                return READ_FAULT;
        }
        ql_result_opts_t vopts = {j->ctx->uscc_mode, j->ctx->lab};
        if (kind == SPOOL_NAME_CSV) {
                ql_csvread_opts_t o = {.validate = vopts,
                                       .charset = ql_charset_name(cs)};
                ql_csvread_t *r = ql_csvread_new(&o);
                if (!r) {
                        snprintf(j->res->why, sizeof(j->res->why),
                                 "out of memory");
                } else {
                        rc = pass(j, fd, buf, cs, r, csv_scan_step);
                        if (rc == READ_OK && ql_csvread_tracking_full(r))
                                ql_warn(j->ctx->lg,
                                        "%s: too many reports to check all "
                                        "for split rows; duplicates are "
                                        "removed downstream by result_id",
                                        j->name);
                        if (rc == READ_OK && !rewind_fd(j, fd))
                                rc = pass(j, fd, buf, cs, r, csv_build_step);
                        else if (rc == READ_OK)
                                rc = READ_FAULT;
                        if (rc == READ_UNREADABLE) {
                                size_t line;
                                const ql_problems_t *p =
                                    ql_csvread_problems(r, &line);
                                if (file_problems(j, line, p))
                                        rc = READ_FAULT;
                        }
                }
                ql_csvread_destroy(r);
        } else {
                ql_jsonlread_opts_t o = {.validate = vopts,
                                         .charset = ql_charset_name(cs)};
                ql_jsonlread_t *r = ql_jsonlread_new(&o);
                if (!r)
                        snprintf(j->res->why, sizeof(j->res->why),
                                 "out of memory");
                else
                        rc = pass(j, fd, buf, cs, r, jsonl_step);
                ql_jsonlread_destroy(r);
        }
        free(buf);
        if (j->fault && rc != READ_UNREADABLE)
                rc = READ_FAULT;
        return rc;
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
        double start = now_s(), stop_at = 0;
        double bound = (ctx->kafka_timeout_ms + ACK_SLACK_MS) / 1000.0;
        size_t left;
        while ((left = ql_delivery_wait(j->d, ctx->rk, 200)) > 0) {
                double t = now_s();
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
        read_rc_t rc = read_file(j, fd, spool_dir_classify(j->name));
        close(fd);
        size_t left = wait_acks(j);
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
        double start = now_s();
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
        res->seconds = now_s() - start;
        return out;
}

int spool_file_check(const spool_ctx_t *ctx, const char *path, FILE *out,
                     spool_result_t *res)
{
        memset(res, 0, sizeof(*res));
        double start = now_s();
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
        read_rc_t rc = read_file(&j, fd, kind);
        close(fd);
        res->seconds = now_s() - start;
        if (rc == READ_FAULT || rc == READ_STOPPED) {
                if (rc == READ_STOPPED)
                        snprintf(res->why, sizeof(res->why), "interrupted");
                return 1;
        }
        return j.problems ? 3 : 0;
}
