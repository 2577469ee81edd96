/*
 * spool_workers: the threads behind the reader: the CSV builder
 * (reports built and validated from parsed rows) and the JSON Lines parsers
 * (batches of lines parsed and validated, in turn), and the copying of a
 * format reader's record into the next queue.
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
 * Handing records over (reader and builder threads)
 */

/* A record of the format's reader, copied into the sender's queue.
 * Non-zero stops the sender. */
static int hand_over(sender_t *s, size_t line, const char *report_no,
                     json_t *doc, const ql_problems_t *errors,
                     const ql_problems_t *warnings)
{
        if (spool_stop_asked(s)) {
                s->stop = 1;
                return 1;
        }
        rec_t r = {.line = line};
        if (report_no && !(r.report_no = strdup(report_no)))
                goto nomem;
        if (doc) {
                r.doc = json_incref(doc); /* outlives the reader's */
        } else {
                spool_problems_copy(&r.errors, errors);
                if (!r.errors.n) /* a rejection must say why */
                        goto nomem;
        }
        spool_problems_copy(&r.warnings, warnings);
        if (warnings->n && !r.warnings.n)
                goto nomem;
        if (spool_handoff_put(s->q, &r)) {
                s->stop = 1;
                return 1;
        }
        return 0;
nomem:
        spool_rec_clear(&r);
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
        if (spool_stop_asked(&b->s)) {
                b->s.stop = 1;
                return 1;
        }
        return built(b, spool_csvread_take_rows(b->csv, r->rows, on_built, b));
}

void *spool_builder_main(void *arg)
{
        builder_t *b = arg;
        rec_t *batch = malloc(QUEUE_LEN * sizeof(*batch));
        int taking = batch != NULL;
        if (!taking) {
                snprintf(b->s.why, sizeof(b->s.why), "out of memory");
                b->s.fault = 1;
        }
        for (int got; taking &&
                      (got = spool_handoff_take(b->in, batch, IDLE_POLL_MS));) {
                for (int i = 0; i < got; i++)
                        if (taking && build_item(b, &batch[i]))
                                taking = 0;
                if (got > 0)
                        spool_handoff_give_back(b->in, batch, (size_t)got);
        }
        if (!taking)
                spool_handoff_cancel(b->in);
        /* The reader is done (its rc was set before `in` said so): the
         * last report follows its last row. */
        else if (b->rd->rc == READ_OK && b->csv)
                built(b, spool_csvread_take_end(b->csv, on_built, b));
        if (b->unreadable)
                spool_problems_copy(
                    &b->file_problems,
                    spool_csvread_problems(b->csv, &b->file_line));
        free(batch);
        spool_handoff_finish(b->s.q);
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
        if (spool_stop_asked(&p->s)) {
                p->s.stop = 1;
                return 1;
        }
        if (spool_jsonlread_take_lines(p->jr, r->lines, on_parsed, p))
                return 1; /* on_parsed said why */
        rec_t mark = {.mark = 1};
        if (spool_handoff_put(p->s.q, &mark)) {
                p->s.stop = 1;
                return 1;
        }
        return 0;
}

void *spool_parser_main(void *arg)
{
        parser_t *p = arg;
        rec_t *batch = malloc(QUEUE_LEN * sizeof(*batch));
        int taking = batch != NULL;
        if (!taking) {
                snprintf(p->s.why, sizeof(p->s.why), "out of memory");
                p->s.fault = 1;
        }
        for (int got; taking &&
                      (got = spool_handoff_take(p->in, batch, IDLE_POLL_MS));) {
                for (int i = 0; i < got; i++)
                        if (taking && parse_item(p, &batch[i]))
                                taking = 0;
                if (got > 0)
                        spool_handoff_give_back(p->in, batch, (size_t)got);
        }
        if (!taking)
                spool_handoff_cancel(p->in);
        free(batch);
        spool_handoff_finish(p->s.q);
        return NULL;
}
