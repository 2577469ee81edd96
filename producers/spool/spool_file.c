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
 * items each.
 */
#include "spool_file.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool_charset.h"
#include "spool_csvread.h"
#include "spool_jsonlread.h"
#include "ql_kafka.h"
#include "ql_result.h"

#define CHUNK           (256u << 10)
#define POLL_EVERY      100 /* records between delivery-report polls */
#define WARNINGS_LOGGED 10  /* per file; the rest are counted */
#define STOP_GRACE_MS   5000
#define ACK_SLACK_MS    2000
#define QUEUE_LEN       32          /* records read ahead of the publisher */
#define QUEUE_BATCH     8           /* records the publisher takes at a time */
#define ROWS_SLICE      (32u << 10) /* CSV bytes parsed into one batch */
#define SPLIT_MIN       (4 << 20)   /* bytes: CSV files scanned in halves */
#define LINES_SLICE     (64u << 10) /* JSON Lines bytes split into a batch */
#define PARSERS         2           /* JSON Lines parsing threads */
#define IDLE_POLL_MS    100 /* publisher waiting for records: Kafka polls */

/* What one thread hands the next, everything owned: a record, or a
 * builder's or parser's reader (once, first), then batches of parsed CSV
 * rows or of JSON Lines lines; or the mark that ends the records of one
 * batch of lines. */
typedef struct {
        size_t line;
        char *report_no;                /* NULL if none */
        json_t *doc;                    /* the valid document, or NULL */
        ql_problems_t errors, warnings; /* errors: why doc is NULL */
        spool_csvread_t *builder;
        spool_csvread_rows_t *rows;
        spool_jsonlread_t *parser;      /* JSON Lines: a parser's reader */
        spool_jsonlread_lines_t *lines; /* JSON Lines: a batch of lines */
        int mark;                    /* the end of a batch's records */
} rec_t;

/* The records between the two threads, in file order: a ring of
 * QUEUE_LEN under one lock.  A waiting publisher is woken once QUEUE_BATCH
 * records are there (or the reader is done), and takes them all at once,
 * so the threads meet once per batch, not once per record.  `done` says
 * the reader wrote its last one; `cancel` that the publisher wants no
 * more. */
typedef struct {
        pthread_mutex_t lock;
        pthread_cond_t put, take; /* room freed / records or done came */
        rec_t ring[QUEUE_LEN];
        size_t head, n;
        /* Items the taker is through with go back to the putter to be
         * freed there: memory is then allocated and freed by one thread,
         * which keeps malloc's per-thread caches working (and jansson's
         * reference counts touched by one thread but for atomic steps).
         * Every put empties `back`, and between two puts the taker can
         * give back what it held at the first (QUEUE_LEN at most) and what
         * was in the ring then (QUEUE_LEN), so 2 * QUEUE_LEN always fit. */
        rec_t back[2 * QUEUE_LEN];
        size_t nback;
        rec_t scratch[2 * QUEUE_LEN]; /* the putter's: freed unlocked */
        size_t marks;                 /* batch marks in the ring */
        int put_waits, take_waits;
        int done, cancel;
} queue_t;

typedef enum { READ_OK, READ_UNREADABLE, READ_FAULT, READ_STOPPED } read_rc_t;

/* A thread that hands items over: where to, and how it ended.  Written by
 * that thread alone until it is joined. */
typedef struct {
        const spool_ctx_t *ctx;
        queue_t *q;
        queue_t *ctl; /* cancelled when the thread is to stop */
        int fault, stop;
        char why[512]; /* fault: the reason */
} sender_t;

/* The reading side: it runs on its own thread, owns the file descriptor
 * and the format's reader, and hands over records (JSON Lines) or the
 * report builder and batches of rows (CSV). */
typedef struct {
        sender_t s;
        int fd;
        spool_name_t kind;
        read_rc_t rc;
        ql_problems_t file_problems; /* READ_UNREADABLE: the file's own */
        size_t file_line;
        ql_problems_t file_warnings; /* CSV: the header's (unknown columns) */
        size_t warn_line;
        int tracking_full;
        spool_csvread_rows_t *rows; /* CSV: the batch being filled */
        /* JSON Lines: batches of lines to the parsers, in turn */
        queue_t *pq[PARSERS];
        size_t next;
        spool_jsonlread_lines_t *lines; /* the batch being filled */
} reader_t;

/* JSON Lines: a parsing side, PARSERS of them on threads of their own:
 * each parses and validates every PARSERS-th batch of lines and hands the
 * records over, each batch's followed by a mark. */
typedef struct {
        sender_t s;         /* records to the publisher */
        queue_t *in;        /* batches of lines from the reader */
        spool_jsonlread_t *jr; /* handed over first */
} parser_t;

/* CSV: the building side, on a thread of its own between the reader and
 * the publisher: it builds and validates the reports from the rows and
 * hands the records over. */
typedef struct {
        sender_t s;
        queue_t *in;        /* from the reader */
        const reader_t *rd; /* its rc, read once `in` is done */
        spool_csvread_t *csv;  /* the builder */
        int unreadable;     /* what the builder found, then: */
        ql_problems_t file_problems;
        size_t file_line;
} builder_t;

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

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void problems_copy(ql_problems_t *dst, const ql_problems_t *src)
{
        for (size_t i = 0; src && i < src->n; i++)
                ql_problems_add(dst, src->v[i].field, "%s", src->v[i].message);
}

static void rec_clear(rec_t *r)
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
 * The queue
 */

static queue_t *queue_new(void)
{
        queue_t *q = calloc(1, sizeof(*q));
        if (!q)
                return NULL;
        if (pthread_mutex_init(&q->lock, NULL)) {
                free(q);
                return NULL;
        }
        if (pthread_cond_init(&q->put, NULL)) {
                pthread_mutex_destroy(&q->lock);
                free(q);
                return NULL;
        }
        if (pthread_cond_init(&q->take, NULL)) {
                pthread_cond_destroy(&q->put);
                pthread_mutex_destroy(&q->lock);
                free(q);
                return NULL;
        }
        return q;
}

static void queue_destroy(queue_t *q)
{
        if (!q)
                return;
        for (size_t i = 0; i < q->n; i++)
                rec_clear(&q->ring[(q->head + i) % QUEUE_LEN]);
        for (size_t i = 0; i < q->nback; i++)
                rec_clear(&q->back[i]);
        pthread_cond_destroy(&q->take);
        pthread_cond_destroy(&q->put);
        pthread_mutex_destroy(&q->lock);
        free(q);
}

/* Reader: append *r (moved; *r is emptied).  Waits for room.  -1 if the
 * publisher cancelled (then *r is cleared). */
static int queue_put(queue_t *q, rec_t *r)
{
        pthread_mutex_lock(&q->lock);
        while (q->n == QUEUE_LEN && !q->cancel) {
                q->put_waits = 1;
                pthread_cond_wait(&q->put, &q->lock);
        }
        int cancelled = q->cancel;
        if (!cancelled) {
                int mark = r->mark;
                q->ring[(q->head + q->n) % QUEUE_LEN] = *r;
                memset(r, 0, sizeof(*r));
                q->marks += mark;
                if ((++q->n >= QUEUE_BATCH || mark) && q->take_waits) {
                        q->take_waits = 0;
                        pthread_cond_signal(&q->take);
                }
        }
        size_t nback = q->nback;
        memcpy(q->scratch, q->back, nback * sizeof(*q->back));
        q->nback = 0;
        pthread_mutex_unlock(&q->lock);
        for (size_t i = 0; i < nback; i++)
                rec_clear(&q->scratch[i]);
        if (cancelled)
                rec_clear(r);
        return cancelled ? -1 : 0;
}

static void queue_finish(queue_t *q)
{
        pthread_mutex_lock(&q->lock);
        q->done = 1;
        pthread_cond_signal(&q->take);
        pthread_mutex_unlock(&q->lock);
}

/* Taker: move the items there are into out (QUEUE_LEN of them at most, up
 * to and with the first mark; yours to clear) and return their number; 0
 * once the putter is done and everything was taken, or -1 after waiting
 * wait_ms for a batch that did not come. */
static int queue_take(queue_t *q, rec_t *out, int wait_ms)
{
        pthread_mutex_lock(&q->lock);
        if (q->n < QUEUE_BATCH && !q->marks && !q->done) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += (long)wait_ms * 1000000L;
                ts.tv_sec += ts.tv_nsec / 1000000000L;
                ts.tv_nsec %= 1000000000L;
                while (q->n < QUEUE_BATCH && !q->marks && !q->done) {
                        q->take_waits = 1;
                        if (pthread_cond_timedwait(&q->take, &q->lock, &ts))
                                break;
                }
                q->take_waits = 0;
        }
        size_t n = 0;
        while (n < q->n) {
                out[n] = q->ring[(q->head + n) % QUEUE_LEN];
                if (out[n++].mark) {
                        q->marks--;
                        break;
                }
        }
        q->head = (q->head + n) % QUEUE_LEN;
        q->n -= n;
        if (n && q->put_waits) {
                q->put_waits = 0;
                pthread_cond_signal(&q->put);
        }
        int got = n ? (int)n : q->done && !q->n ? 0 : -1;
        pthread_mutex_unlock(&q->lock);
        return got;
}

/* Publisher: hand the n records of batch, done with, back to the reader
 * to be freed (those that do not fit are freed here). */
static void queue_give_back(queue_t *q, rec_t *batch, size_t n)
{
        pthread_mutex_lock(&q->lock);
        size_t k = 2 * QUEUE_LEN - q->nback;
        if (k > n)
                k = n;
        memcpy(q->back + q->nback, batch, k * sizeof(*batch));
        q->nback += k;
        pthread_mutex_unlock(&q->lock);
        for (size_t i = k; i < n; i++)
                rec_clear(&batch[i]);
}

/* Taker: take no more; the putter stops at its next put. */
static void queue_cancel(queue_t *q)
{
        pthread_mutex_lock(&q->lock);
        q->cancel = 1;
        pthread_cond_signal(&q->put);
        pthread_mutex_unlock(&q->lock);
}

/* Whether the thread of s is to stop.  Only the calling thread reads the
 * signal flag (ctx->run); it cancels every queue when asked to stop, and
 * the other threads learn it here. */
static int stop_asked(const sender_t *s)
{
        int cancelled = 0;
        if (s->ctl) {
                pthread_mutex_lock(&s->ctl->lock);
                cancelled = s->ctl->cancel;
                pthread_mutex_unlock(&s->ctl->lock);
        }
        return cancelled;
}

/* ------------------------------------------------------------------------
 * Records, on the publishing side
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

/* Every record of either format ends here.  Non-zero: take no more. */
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

/* One record from the builder or a parser.  Non-zero: take no more. */
static int on_item(job_t *j, rec_t *r)
{
        if (r->mark)
                return 0;
        return on_record(j, r->line, r->report_no, r->doc, &r->errors,
                         &r->warnings);
}

/* ------------------------------------------------------------------------
 * Handing records over (reader and builder threads)
 */

/* A record of the format's reader, copied into the sender's queue.
 * Non-zero stops the sender. */
static int hand_over(sender_t *s, size_t line, const char *report_no,
                     json_t *doc, const ql_problems_t *errors,
                     const ql_problems_t *warnings)
{
        if (stop_asked(s)) {
                s->stop = 1;
                return 1;
        }
        rec_t r = {.line = line};
        if (report_no && !(r.report_no = strdup(report_no)))
                goto nomem;
        if (doc) {
                r.doc = json_incref(doc); /* outlives the reader's */
        } else {
                problems_copy(&r.errors, errors);
                if (!r.errors.n) /* a rejection must say why */
                        goto nomem;
        }
        problems_copy(&r.warnings, warnings);
        if (warnings->n && !r.warnings.n)
                goto nomem;
        if (queue_put(s->q, &r)) {
                s->stop = 1;
                return 1;
        }
        return 0;
nomem:
        rec_clear(&r);
        snprintf(s->why, sizeof(s->why), "out of memory");
        s->fault = 1;
        return 1;
}

/* ------------------------------------------------------------------------
 * Building CSV reports, on the builder thread
 */

static int on_built(void *arg, const spool_csvread_rec_t *r)
{
        builder_t *b = arg;
        return hand_over(&b->s, r->line, r->report_no, r->doc, r->errors,
                         r->warnings);
}

/* What the builder said: 0 go on, else stop. */
static int built(builder_t *b, spool_csvread_rc_t rc)
{
        switch (rc) {
        case SPOOL_CSVREAD_OK:
                return 0;
        case SPOOL_CSVREAD_STOPPED:
                return 1;
        case SPOOL_CSVREAD_BAD_FILE:
                b->unreadable = 1;
                return 1;
        case SPOOL_CSVREAD_NOMEM:
                break;
        }
        snprintf(b->s.why, sizeof(b->s.why), "out of memory");
        b->s.fault = 1;
        return 1;
}

/* One item from the reader.  Non-zero: stop. */
static int build_item(builder_t *b, rec_t *r)
{
        if (r->builder) {
                spool_csvread_destroy(b->csv);
                b->csv = r->builder; /* ours now */
                r->builder = NULL;
                return 0;
        }
        if (!r->rows || !b->csv)
                return 0;
        if (stop_asked(&b->s)) {
                b->s.stop = 1;
                return 1;
        }
        return built(b, spool_csvread_take_rows(b->csv, r->rows, on_built, b));
}

static void *builder_main(void *arg)
{
        builder_t *b = arg;
        rec_t *batch = malloc(QUEUE_LEN * sizeof(*batch));
        int taking = batch != NULL;
        if (!taking) {
                snprintf(b->s.why, sizeof(b->s.why), "out of memory");
                b->s.fault = 1;
        }
        for (int got;
             taking && (got = queue_take(b->in, batch, IDLE_POLL_MS));) {
                for (int i = 0; i < got; i++)
                        if (taking && build_item(b, &batch[i]))
                                taking = 0;
                if (got > 0)
                        queue_give_back(b->in, batch, (size_t)got);
        }
        if (!taking)
                queue_cancel(b->in);
        /* The reader is done (its rc was set before `in` said so): the
         * last report follows its last row. */
        else if (b->rd->rc == READ_OK && b->csv)
                built(b, spool_csvread_take_end(b->csv, on_built, b));
        if (b->unreadable)
                problems_copy(&b->file_problems,
                              spool_csvread_problems(b->csv, &b->file_line));
        free(batch);
        queue_finish(b->s.q);
        return NULL;
}

/* ------------------------------------------------------------------------
 * Parsing JSON Lines, on the parser threads
 */

static int on_parsed(void *arg, const spool_jsonlread_rec_t *r)
{
        parser_t *p = arg;
        return hand_over(&p->s, r->line, r->report_no, r->doc, r->errors,
                         r->warnings);
}

/* One item from the reader.  Non-zero: stop. */
static int parse_item(parser_t *p, rec_t *r)
{
        if (r->parser) {
                spool_jsonlread_destroy(p->jr);
                p->jr = r->parser; /* ours now */
                r->parser = NULL;
                return 0;
        }
        if (!r->lines || !p->jr)
                return 0;
        if (stop_asked(&p->s)) {
                p->s.stop = 1;
                return 1;
        }
        if (spool_jsonlread_take_lines(p->jr, r->lines, on_parsed, p))
                return 1; /* on_parsed said why */
        rec_t mark = {.mark = 1};
        if (queue_put(p->s.q, &mark)) {
                p->s.stop = 1;
                return 1;
        }
        return 0;
}

static void *parser_main(void *arg)
{
        parser_t *p = arg;
        rec_t *batch = malloc(QUEUE_LEN * sizeof(*batch));
        int taking = batch != NULL;
        if (!taking) {
                snprintf(p->s.why, sizeof(p->s.why), "out of memory");
                p->s.fault = 1;
        }
        for (int got;
             taking && (got = queue_take(p->in, batch, IDLE_POLL_MS));) {
                for (int i = 0; i < got; i++)
                        if (taking && parse_item(p, &batch[i]))
                                taking = 0;
                if (got > 0)
                        queue_give_back(p->in, batch, (size_t)got);
        }
        if (!taking)
                queue_cancel(p->in);
        free(batch);
        queue_finish(p->s.q);
        return NULL;
}

/* ------------------------------------------------------------------------
 * Reading, on the reader thread
 */

/* Read up to size bytes at offset off; -1 with rd->s.why on an error.
 * Offsets, not the descriptor's position: two threads read one file. */
static ssize_t read_chunk(reader_t *rd, char *buf, size_t size, off_t off)
{
        for (;;) {
                ssize_t n = pread(rd->fd, buf, size, off);
                if (n >= 0)
                        return n;
                if (errno == EINTR)
                        continue;
                snprintf(rd->s.why, sizeof(rd->s.why), "read: %s",
                         strerror(errno));
                return -1;
        }
}

static int sniff(reader_t *rd, char *buf, spool_charset_t *cs)
{
        spool_charset_sniff_t s;
        spool_charset_sniff_init(&s);
        ssize_t n;
        off_t off = 0;
        while ((n = read_chunk(rd, buf, CHUNK, off)) > 0) {
                off += n;
                if (spool_charset_sniff_feed(&s, buf, (size_t)n))
                        break;
        }
        if (n < 0)
                return -1;
        *cs = spool_charset_sniff_result(&s);
        return 0;
}

/* One pass over the bytes of the file from offset `from` to `to` (-1: its
 * end): bytes -> UTF-8 -> step(), whose `end` says the file ended.  A
 * pass that stops short of the end starts and ends at line feeds. */
typedef int (*step_fn)(reader_t *rd, void *reader, const char *utf8, size_t len,
                       int end);

static read_rc_t pass(reader_t *rd, char *buf, spool_charset_t cs, void *reader,
                      step_fn step, off_t from, off_t to)
{
        char why[256];
        spool_charset_conv_t *conv = spool_charset_conv_new(cs, why, sizeof(why));
        if (!conv) {
                snprintf(rd->s.why, sizeof(rd->s.why), "%s", why);
                return READ_FAULT;
        }
        read_rc_t rc = READ_OK;
        for (;;) {
                if (stop_asked(&rd->s)) {
                        rc = READ_STOPPED;
                        break;
                }
                size_t want = CHUNK;
                if (to >= 0 && (off_t)want > to - from)
                        want = (size_t)(to - from);
                if (to >= 0 && !want)
                        break; /* the range ends here, not the file */
                ssize_t n = read_chunk(rd, buf, want, from);
                if (n < 0) {
                        rc = READ_FAULT;
                        break;
                }
                from += n;
                const char *out;
                size_t out_len;
                if (spool_charset_conv(conv, buf, (size_t)n, n == 0, &out,
                                    &out_len, why, sizeof(why))) {
                        snprintf(rd->s.why, sizeof(rd->s.why), "%s", why);
                        rc = READ_FAULT;
                        break;
                }
                int s = step(rd, reader, out, out_len, n == 0);
                if (s < 0) {
                        rc = READ_UNREADABLE;
                        break;
                }
                if (rd->s.fault) {
                        rc = READ_FAULT;
                        break;
                }
                if (rd->s.stop || s > 0) {
                        rc = READ_STOPPED;
                        break;
                }
                if (n == 0)
                        break;
        }
        spool_charset_conv_destroy(conv);
        return rc;
}

static read_rc_t csv_rc(reader_t *rd, spool_csvread_rc_t rc)
{
        switch (rc) {
        case SPOOL_CSVREAD_OK:
                return READ_OK;
        case SPOOL_CSVREAD_STOPPED:
                return READ_STOPPED;
        case SPOOL_CSVREAD_BAD_FILE:
                return READ_UNREADABLE;
        case SPOOL_CSVREAD_NOMEM:
                break;
        }
        snprintf(rd->s.why, sizeof(rd->s.why), "out of memory");
        rd->s.fault = 1;
        return READ_FAULT;
}

/* step results: 0 go on, 1 stop, -1 unreadable */
static int step_of(read_rc_t rc)
{
        return rc == READ_UNREADABLE ? -1 : rc == READ_OK ? 0 : 1;
}

static int csv_scan_step(reader_t *rd, void *reader, const char *s, size_t len,
                         int end)
{
        spool_csvread_t *r = reader;
        spool_csvread_rc_t rc = spool_csvread_scan(r, s, len);
        if (rc == SPOOL_CSVREAD_OK && end)
                rc = spool_csvread_scan_end(r);
        return step_of(csv_rc(rd, rc));
}

/* Hand the batch of rows over; 0, or -1 to stop. */
static int hand_rows(reader_t *rd)
{
        if (!rd->rows || !spool_csvread_rows_count(rd->rows))
                return 0;
        rec_t r = {.rows = rd->rows};
        rd->rows = NULL;
        if (queue_put(rd->s.q, &r)) {
                rd->s.stop = 1;
                return -1;
        }
        return 0;
}

/* Pass 2 of a CSV file: its bytes parsed into rows, ROWS_SLICE at a time,
 * for the publishing thread to build the reports from. */
static int csv_rows_step(reader_t *rd, void *reader, const char *s, size_t len,
                         int end)
{
        spool_csvread_t *r = reader;
        spool_csvread_rc_t rc = SPOOL_CSVREAD_OK;
        do {
                size_t n = len < ROWS_SLICE ? len : ROWS_SLICE;
                if (!rd->rows && !(rd->rows = spool_csvread_rows_new()))
                        rc = SPOOL_CSVREAD_NOMEM;
                if (rc == SPOOL_CSVREAD_OK)
                        rc = spool_csvread_feed_rows(r, s, n, rd->rows);
                if (rc == SPOOL_CSVREAD_OK && end && n == len)
                        rc = spool_csvread_end_rows(r, rd->rows);
                if (rc == SPOOL_CSVREAD_OK && stop_asked(&rd->s)) {
                        rd->s.stop = 1;
                        return 1;
                }
                if (rc == SPOOL_CSVREAD_OK && hand_rows(rd))
                        return 1;
                s += n;
                len -= n;
        } while (rc == SPOOL_CSVREAD_OK && len > 0);
        return step_of(csv_rc(rd, rc));
}

/* The batch of lines to the next parser; 0, or -1 to stop. */
static int hand_lines(reader_t *rd)
{
        if (!rd->lines || !spool_jsonlread_lines_count(rd->lines))
                return 0;
        rec_t r = {.lines = rd->lines};
        rd->lines = NULL;
        if (queue_put(rd->pq[rd->next], &r)) {
                rd->s.stop = 1;
                return -1;
        }
        rd->next = (rd->next + 1) % PARSERS;
        return 0;
}

/* JSON Lines: the bytes split into batches of whole lines, LINES_SLICE at
 * a time, for the parsers in turn. */
static int jsonl_split_step(reader_t *rd, void *reader, const char *s,
                            size_t len, int end)
{
        spool_jsonlread_t *r = reader;
        spool_jsonlread_rc_t rc = SPOOL_JSONLREAD_OK;
        do {
                size_t n = len < LINES_SLICE ? len : LINES_SLICE;
                if (!rd->lines && !(rd->lines = spool_jsonlread_lines_new()))
                        rc = SPOOL_JSONLREAD_NOMEM;
                if (rc == SPOOL_JSONLREAD_OK)
                        rc = spool_jsonlread_split(r, s, n, end && n == len,
                                                rd->lines);
                if (rc == SPOOL_JSONLREAD_NOMEM) {
                        snprintf(rd->s.why, sizeof(rd->s.why), "out of memory");
                        rd->s.fault = 1;
                        return 1;
                }
                if (stop_asked(&rd->s)) {
                        rd->s.stop = 1;
                        return 1;
                }
                if (hand_lines(rd))
                        return 1;
                s += n;
                len -= n;
        } while (len > 0);
        return 0;
}

/* ------------------------------------------------------------------------
 * The scan pass of a big CSV file in two halves, on two threads: this one
 * scans up to a line feed near the middle, a helper thread reads the header
 * and scans from there to the end, and spool_csvread joins the two (or, when
 * the seam turns out to be inside a quoted field, this thread goes on alone
 * from the middle).
 */

typedef struct {
        reader_t rd; /* a copy: its own errors; the same descriptor */
        spool_charset_t cs;
        spool_csvread_t *csv;
        off_t from;
        read_rc_t rc;
} half_t;

/* The head of the file, a line at a time, until the header was taken
 * (then 1: stop). */
static int csv_head_step(reader_t *rd, void *reader, const char *s, size_t len,
                         int end)
{
        spool_csvread_t *r = reader;
        while (len > 0 && !spool_csvread_has_header(r)) {
                size_t n = 0;
                while (n < len && s[n] != '\n' && s[n] != '\r')
                        n++;
                if (n < len)
                        n++;
                int st = step_of(csv_rc(rd, spool_csvread_scan(r, s, n)));
                if (st)
                        return st;
                s += n;
                len -= n;
        }
        return spool_csvread_has_header(r);
}

static void *half_main(void *arg)
{
        half_t *h = arg;
        char *buf = malloc(CHUNK);
        h->rc = READ_FAULT;
        if (buf) {
                h->rc =
                    pass(&h->rd, buf, h->cs, h->csv, csv_head_step, 0, h->from);
                if (spool_csvread_has_header(h->csv) &&
                    spool_csvread_scan_resume(h->csv) == SPOOL_CSVREAD_OK)
                        h->rc = pass(&h->rd, buf, h->cs, h->csv, csv_scan_step,
                                     h->from, -1);
        }
        free(buf);
        return NULL;
}

/* Where to split the scan: just after the first line feed past the
 * middle of a big file; 0 for a file scanned in one piece. */
static off_t seam(reader_t *rd, char *buf)
{
        struct stat st;
        if (fstat(rd->fd, &st) || st.st_size < SPLIT_MIN)
                return 0;
        off_t mid = st.st_size / 2;
        ssize_t n = read_chunk(rd, buf, CHUNK, mid);
        const char *nl = n > 0 ? memchr(buf, '\n', (size_t)n) : NULL;
        return nl && mid + (nl - buf) + 1 < st.st_size ? mid + (nl - buf) + 1
                                                       : 0;
}

static read_rc_t scan(reader_t *rd, char *buf, spool_charset_t cs, spool_csvread_t *r,
                      const spool_csvread_opts_t *o)
{
        off_t m = seam(rd, buf);
        rd->s.why[0] = '\0';
        if (!m)
                return pass(rd, buf, cs, r, csv_scan_step, 0, -1);
        half_t h = {.rd = *rd, .cs = cs, .csv = spool_csvread_new(o), .from = m};
        pthread_t tid;
        if (!h.csv || pthread_create(&tid, NULL, half_main, &h)) {
                spool_csvread_destroy(h.csv);
                return pass(rd, buf, cs, r, csv_scan_step, 0, -1);
        }
        read_rc_t rc = pass(rd, buf, cs, r, csv_scan_step, 0, m);
        pthread_join(tid, NULL);
        spool_csvread_rc_t jrc;
        if (rc == READ_OK && h.rc != READ_FAULT &&
            spool_csvread_scan_join(r, h.csv, &jrc))
                rc = step_of(csv_rc(rd, jrc)) < 0 ? READ_UNREADABLE
                     : jrc == SPOOL_CSVREAD_OK       ? READ_OK
                                                  : READ_FAULT;
        else if (rc == READ_OK)
                rc = pass(rd, buf, cs, r, csv_scan_step, m, -1);
        spool_csvread_destroy(h.csv);
        return rc;
}

/* After the scan: the reader that builds the reports, for the publishing
 * thread. */
static read_rc_t hand_builder(reader_t *rd, spool_csvread_t *scanned,
                              const spool_csvread_opts_t *o)
{
        rec_t r = {.builder = spool_csvread_new(o)};
        if (!r.builder) {
                snprintf(rd->s.why, sizeof(rd->s.why), "out of memory");
                rd->s.fault = 1;
                return READ_FAULT;
        }
        spool_csvread_adopt_scan(r.builder, scanned);
        if (queue_put(rd->s.q, &r)) {
                rd->s.stop = 1;
                return READ_STOPPED;
        }
        return READ_OK;
}

static read_rc_t read_file(reader_t *rd)
{
        char *buf = malloc(CHUNK);
        if (!buf) {
                snprintf(rd->s.why, sizeof(rd->s.why), "out of memory");
                return READ_FAULT;
        }
        spool_charset_t cs;
        read_rc_t rc = READ_FAULT;
        if (sniff(rd, buf, &cs)) {
                free(buf);
                return READ_FAULT;
        }
        ql_result_opts_t vopts = {rd->s.ctx->uscc_mode, rd->s.ctx->lab};
        if (rd->kind == SPOOL_NAME_CSV) {
                spool_csvread_opts_t o = {.validate = vopts,
                                       .charset = spool_charset_name(cs)};
                spool_csvread_t *r = spool_csvread_new(&o);
                if (!r) {
                        snprintf(rd->s.why, sizeof(rd->s.why), "out of memory");
                } else {
                        rc = scan(rd, buf, cs, r, &o);
                        if (rc == READ_OK) {
                                rd->tracking_full = spool_csvread_tracking_full(r);
                                problems_copy(
                                    &rd->file_warnings,
                                    spool_csvread_warnings(r, &rd->warn_line));
                        }
                        if (rc == READ_OK)
                                rc = hand_builder(rd, r, &o);
                        if (rc == READ_OK)
                                rc = pass(rd, buf, cs, r, csv_rows_step, 0, -1);
                        spool_csvread_rows_destroy(rd->rows);
                        rd->rows = NULL;
                        if (rc == READ_UNREADABLE) {
                                problems_copy(
                                    &rd->file_problems,
                                    spool_csvread_problems(r, &rd->file_line));
                                if (!rd->file_problems.n) {
                                        snprintf(rd->s.why, sizeof(rd->s.why),
                                                 "out of memory");
                                        rc = READ_FAULT;
                                }
                        }
                }
                spool_csvread_destroy(r);
        } else {
                spool_jsonlread_opts_t o = {.validate = vopts,
                                         .charset = spool_charset_name(cs)};
                spool_jsonlread_t *r = spool_jsonlread_new(&o);
                rc = r ? READ_OK : READ_FAULT;
                for (size_t i = 0; i < PARSERS && rc == READ_OK; i++) {
                        rec_t p = {.parser = spool_jsonlread_new(&o)};
                        if (!p.parser)
                                rc = READ_FAULT;
                        else if (queue_put(rd->pq[i], &p))
                                rc = READ_STOPPED;
                }
                if (rc == READ_FAULT)
                        snprintf(rd->s.why, sizeof(rd->s.why), "out of memory");
                if (rc == READ_OK)
                        rc = pass(rd, buf, cs, r, jsonl_split_step, 0, -1);
                spool_jsonlread_lines_destroy(rd->lines);
                rd->lines = NULL;
                spool_jsonlread_destroy(r);
        }
        free(buf);
        if (rd->s.fault && rc != READ_UNREADABLE)
                rc = READ_FAULT;
        return rc;
}

static void *reader_main(void *arg)
{
        reader_t *rd = arg;
        rd->rc = read_file(rd);
        if (rd->s.q)
                queue_finish(rd->s.q);
        for (size_t i = 0; i < PARSERS; i++)
                if (rd->pq[i])
                        queue_finish(rd->pq[i]);
        return NULL;
}

/* ------------------------------------------------------------------------
 * Reading and publishing together: the reader thread parses, builds and
 * validates records while this thread encodes and publishes them (or
 * prints them, for --check), in file order.
 */

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

/* How a sender thread ended, into rc and why (the first fault wins). */
static void sender_result(const sender_t *s, read_rc_t *rc, const char **why)
{
        if (s->fault && *rc != READ_FAULT) {
                *rc = READ_FAULT;
                *why = s->why;
        } else if (s->stop && *rc == READ_OK) {
                *rc = READ_STOPPED;
        }
}

static read_rc_t read_and_publish(job_t *j, int fd, spool_name_t kind)
{
        int csv = kind == SPOOL_NAME_CSV;
        reader_t rd = {.s = {.ctx = j->ctx}, .fd = fd, .kind = kind};
        builder_t b = {.s = {.ctx = j->ctx}, .rd = &rd};
        parser_t ps[PARSERS];
        memset(ps, 0, sizeof(ps));
        /* Records come from the builder (CSV) or from the parsers in turn
         * (JSON Lines), through the queues of src. */
        queue_t *src[PARSERS] = {0};
        size_t nsrc = csv ? 1 : PARSERS;
        pthread_t reader, workers[PARSERS];
        size_t started = 0; /* workers */
        int have_reader = 0, ok = 1;
        rec_t *batch = malloc(QUEUE_LEN * sizeof(*batch));
        /* Every queue, for stopping every thread at once. */
        queue_t *all[2 * PARSERS] = {0};
        if (csv) {
                ok = (rd.s.q = b.in = queue_new()) && (b.s.q = queue_new());
                src[0] = b.s.q;
                rd.s.ctl = rd.s.q;
                b.s.ctl = b.s.q;
                all[0] = rd.s.q;
                all[1] = b.s.q;
        } else {
                for (size_t i = 0; i < PARSERS && ok; i++) {
                        ps[i].s.ctx = j->ctx;
                        ok = (rd.pq[i] = ps[i].in = queue_new()) &&
                             (ps[i].s.q = src[i] = queue_new());
                        ps[i].s.ctl = src[i];
                        all[2 * i] = rd.pq[i];
                        all[2 * i + 1] = src[i];
                }
                rd.s.ctl = rd.pq[0];
        }
        ok = ok && batch;
        for (size_t i = 0; ok && i < nsrc; i++) {
                ok = !pthread_create(&workers[i], NULL,
                                     csv ? builder_main : parser_main,
                                     csv ? (void *)&b : (void *)&ps[i]);
                started += ok;
        }
        have_reader = ok && !pthread_create(&reader, NULL, reader_main, &rd);
        int taking = have_reader;
        if (!taking) {
                snprintf(j->res->why, sizeof(j->res->why),
                         "cannot start reading: out of resources");
                j->fault = 1;
                for (size_t i = 0; i < 2 * PARSERS; i++)
                        if (all[i]) {
                                queue_cancel(all[i]);
                                queue_finish(all[i]);
                        }
        }
        size_t cur = 0;
        for (int got;
             taking && (got = queue_take(src[cur], batch, IDLE_POLL_MS));) {
                if (got < 0 && j->d)
                        rd_kafka_poll(j->ctx->rk, 0);
                if (got < 0 && !*j->ctx->run)
                        j->stop = 1;
                for (int i = 0; i < got && taking && !j->stop; i++)
                        if (on_item(j, &batch[i]))
                                taking = 0;
                if (j->stop || j->fault)
                        taking = 0;
                if (!taking) /* stop every thread */
                        for (size_t k = 0; k < 2 * PARSERS; k++)
                                if (all[k])
                                        queue_cancel(all[k]);
                if (got > 0) {
                        int mark = batch[got - 1].mark;
                        queue_give_back(src[cur], batch, (size_t)got);
                        if (mark) /* the next batch is the next parser's */
                                cur = (cur + 1) % nsrc;
                }
        }
        for (size_t i = 0; i < started; i++)
                pthread_join(workers[i], NULL);
        if (have_reader)
                pthread_join(reader, NULL);
        for (size_t i = 0; i < PARSERS; i++) {
                queue_destroy(src[i]); /* clears what was not taken */
                queue_destroy(rd.pq[i]);
                spool_jsonlread_destroy(ps[i].jr);
        }
        if (csv)
                queue_destroy(rd.s.q);
        free(batch);
        spool_csvread_destroy(b.csv);

        read_rc_t rc = have_reader ? rd.rc : READ_FAULT;
        const char *why = rd.s.why;
        if (csv) {
                if (b.unreadable && rc != READ_FAULT && !b.s.fault) {
                        ql_problems_clear(&rd.file_problems);
                        rd.file_problems = b.file_problems; /* moved */
                        memset(&b.file_problems, 0, sizeof(b.file_problems));
                        rd.file_line = b.file_line;
                        rc = READ_UNREADABLE;
                }
                sender_result(&b.s, &rc, &why);
        }
        for (size_t i = 0; !csv && i < PARSERS; i++)
                sender_result(&ps[i].s, &rc, &why);
        ql_problems_clear(&b.file_problems);
        if (rd.file_warnings.n && j->check_out)
                print_problems(j->check_out, rd.warn_line, NULL,
                               "warning: ", &rd.file_warnings);
        for (size_t i = 0; !j->check_out && i < rd.file_warnings.n; i++)
                ql_warn(j->ctx->lg, "%s line %zu: %s: %s", j->name,
                        rd.warn_line, rd.file_warnings.v[i].field,
                        rd.file_warnings.v[i].message);
        ql_problems_clear(&rd.file_warnings);
        if (rd.tracking_full)
                ql_warn(j->ctx->lg,
                        "%s: too many reports to check all for split rows; "
                        "duplicates are removed downstream by result_id",
                        j->name);
        if (rc == READ_FAULT && !j->fault)
                snprintf(j->res->why, sizeof(j->res->why), "%s", why);
        if (rc == READ_UNREADABLE &&
            file_problems(j, rd.file_line, &rd.file_problems))
                rc = READ_FAULT;
        ql_problems_clear(&rd.file_problems);
        if (j->fault && rc != READ_UNREADABLE)
                rc = READ_FAULT;
        else if (j->stop && rc == READ_OK)
                rc = READ_STOPPED;
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
        read_rc_t rc = read_and_publish(j, fd, spool_dir_classify(j->name));
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
        read_rc_t rc = read_and_publish(&j, fd, kind);
        close(fd);
        res->seconds = now_s() - start;
        if (rc == READ_FAULT || rc == READ_STOPPED) {
                if (rc == READ_STOPPED)
                        snprintf(res->why, sizeof(res->why), "interrupted");
                return 1;
        }
        return j.problems ? 3 : 0;
}
