/*
 * spool_publish: the calling thread's side of a file's reading: it
 * takes the records in file order, encodes and produces the good ones
 * (or, for --check, prints every problem), keeps the errors list and the
 * warnings, while the reader thread reads ahead.
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

read_rc_t spool_read_and_publish(job_t *j, int fd, spool_name_t kind)
{
        int csv = kind == SPOOL_NAME_CSV;
        reader_t rd = {.s = {.ctx = j->ctx}, .fd = fd, .kind = kind};
        builder_t b = {.s = {.ctx = j->ctx}, .rd = &rd};
        parser_t ps[PARSERS];
        memset(ps, 0, sizeof(ps));
        /* Records come from the builder (CSV) or from the parsers in turn
         * (JSON Lines), through the queues of src. */
        handoff_t *src[PARSERS] = {0};
        size_t nsrc = csv ? 1 : PARSERS;
        pthread_t reader, workers[PARSERS];
        size_t started = 0; /* workers */
        int have_reader = 0, ok = 1;
        rec_t *batch = malloc(QUEUE_LEN * sizeof(*batch));
        /* Every queue, for stopping every thread at once. */
        handoff_t *all[2 * PARSERS] = {0};
        if (csv) {
                ok = (rd.s.q = b.in = spool_handoff_new()) &&
                     (b.s.q = spool_handoff_new());
                src[0] = b.s.q;
                rd.s.ctl = rd.s.q;
                b.s.ctl = b.s.q;
                all[0] = rd.s.q;
                all[1] = b.s.q;
        } else {
                for (size_t i = 0; i < PARSERS && ok; i++) {
                        ps[i].s.ctx = j->ctx;
                        ok = (rd.pq[i] = ps[i].in = spool_handoff_new()) &&
                             (ps[i].s.q = src[i] = spool_handoff_new());
                        ps[i].s.ctl = src[i];
                        all[2 * i] = rd.pq[i];
                        all[2 * i + 1] = src[i];
                }
                rd.s.ctl = rd.pq[0];
        }
        ok = ok && batch;
        for (size_t i = 0; ok && i < nsrc; i++) {
                ok = !pthread_create(&workers[i], NULL,
                                     csv ? spool_builder_main
                                         : spool_parser_main,
                                     csv ? (void *)&b : (void *)&ps[i]);
                started += ok;
        }
        have_reader =
            ok && !pthread_create(&reader, NULL, spool_reader_main, &rd);
        int taking = have_reader;
        if (!taking) {
                snprintf(j->res->why, sizeof(j->res->why),
                         "cannot start reading: out of resources");
                j->fault = 1;
                for (size_t i = 0; i < 2 * PARSERS; i++)
                        if (all[i]) {
                                spool_handoff_cancel(all[i]);
                                spool_handoff_finish(all[i]);
                        }
        }
        size_t cur = 0;
        for (int got; taking && (got = spool_handoff_take(src[cur], batch,
                                                          IDLE_POLL_MS));) {
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
                                        spool_handoff_cancel(all[k]);
                if (got > 0) {
                        int mark = batch[got - 1].mark;
                        spool_handoff_give_back(src[cur], batch, (size_t)got);
                        if (mark) /* the next batch is the next parser's */
                                cur = (cur + 1) % nsrc;
                }
        }
        for (size_t i = 0; i < started; i++)
                pthread_join(workers[i], NULL);
        if (have_reader)
                pthread_join(reader, NULL);
        for (size_t i = 0; i < PARSERS; i++) {
                spool_handoff_destroy(src[i]); /* clears what was not taken */
                spool_handoff_destroy(rd.pq[i]);
                spool_jsonlread_destroy(ps[i].jr);
        }
        if (csv)
                spool_handoff_destroy(rd.s.q);
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
