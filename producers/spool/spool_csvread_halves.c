/*
 * spool_csvread_halves: the passes on two threads: pass 2's rows
 * parsed on one thread and built into reports on another, and pass 1 of a
 * big file in two halves, joined at a line feed (the report-number sets
 * of both halves merged, a split report found across the seam).
 */
#include "spool_csvread.h"

#include <csv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_csvmap.h"
#include "spool_csvread_private.h"
#include "spool_grow.h"

/* ------------------------------------------------------------------------
 * Pass 2 on two threads
 */

spool_csvread_rows_t *spool_csvread_rows_new(void)
{
        return calloc(1, sizeof(spool_csvread_rows_t));
}

void spool_csvread_rows_destroy(spool_csvread_rows_t *rows)
{
        if (!rows)
                return;
        free(rows->text);
        free(rows->cells);
        free(rows->rows);
        free(rows);
}

void spool_csvread_rows_clear(spool_csvread_rows_t *rows)
{
        rows->n = rows->ncells = rows->text_n = 0;
}

size_t spool_csvread_rows_count(const spool_csvread_rows_t *rows)
{
        return rows->n;
}

size_t spool_csvread_rows_bytes(const spool_csvread_rows_t *rows)
{
        return rows->text_n;
}

static spool_csvread_rc_t into_rows(spool_csvread_t *r, const char *buf,
                                    size_t len, int end,
                                    spool_csvread_rows_t *out)
{
        spool_csvread_rc_t rc =
            csvread_building(r, NULL, NULL); /* rows, not reports */
        if (rc)
                return rc;
        r->rows_out = out;
        rc = end ? csvread_finish(r) : csvread_feed(r, buf, len);
        r->rows_out = NULL;
        out->line = r->line;
        return rc;
}

spool_csvread_rc_t spool_csvread_feed_rows(spool_csvread_t *r, const char *buf,
                                           size_t len,
                                           spool_csvread_rows_t *out)
{
        return into_rows(r, buf, len, 0, out);
}

spool_csvread_rc_t spool_csvread_end_rows(spool_csvread_t *r,
                                          spool_csvread_rows_t *out)
{
        return into_rows(r, NULL, 0, 1, out);
}

void spool_csvread_adopt_scan(spool_csvread_t *builder,
                              spool_csvread_t *scanned)
{
        hset_t t = builder->split;
        builder->split = scanned->split;
        scanned->split = t;
        builder->tracking_full = scanned->tracking_full;
}

spool_csvread_rc_t spool_csvread_take_rows(spool_csvread_t *r,
                                           const spool_csvread_rows_t *rows,
                                           spool_csvread_fn fn, void *arg)
{
        if (r->failed)
                return r->nomem ? SPOOL_CSVREAD_NOMEM : SPOOL_CSVREAD_BAD_FILE;
        if (!r->building) {
                r->building = 1;
                r->phase = PHASE_BUILD;
        }
        r->fn = fn;
        r->arg = arg;
        /* Each row is read where it lies in the batch: the current row's
         * buffers are lent the batch's for the call (a builder parses
         * nothing, so its own stay unused). */
        char *own_buf = r->buf;
        cell_t *own_cells = r->cells;
        for (size_t i = 0; i < rows->n && !r->stop; i++) {
                const row_t *w = &rows->rows[i];
                r->buf = rows->text + w->text;
                r->cells = rows->cells + w->cell;
                r->ncells = w->ncells;
                r->buf_n = w->text_n;
                r->row_line = w->line;
                csvread_take_row(r);
                r->ncells = 0;
                r->buf_n = 0;
                if (r->nomem || r->file_problems.n)
                        break;
        }
        r->buf = own_buf;
        r->cells = own_cells;
        r->line = rows->line;
        return csvread_status(r);
}

spool_csvread_rc_t spool_csvread_take_end(spool_csvread_t *r,
                                          spool_csvread_fn fn, void *arg)
{
        if (r->failed)
                return r->nomem ? SPOOL_CSVREAD_NOMEM : SPOOL_CSVREAD_BAD_FILE;
        if (r->stop)
                return SPOOL_CSVREAD_STOPPED;
        r->fn = fn;
        r->arg = arg;
        if (!r->have_header) {
                csvread_file_problem(r, r->line, "header",
                                     "the file has no header row");
                return csvread_status(r);
        }
        if (csvread_emit(r))
                r->stop = 1;
        return csvread_status(r);
}

/* ------------------------------------------------------------------------
 * Pass 1 in two halves
 */

int spool_csvread_has_header(const spool_csvread_t *r)
{
        return r->have_header;
}

spool_csvread_rc_t spool_csvread_scan_resume(spool_csvread_t *r)
{
        if (r->failed)
                return r->nomem ? SPOOL_CSVREAD_NOMEM : SPOOL_CSVREAD_BAD_FILE;
        if (!r->csv_ready || r->phase != PHASE_SCAN || !r->have_header ||
            r->seen.n || r->resumed)
                return SPOOL_CSVREAD_BAD_FILE; /* not how it is used */
        csv_free(&r->csv);
        if (csv_init(&r->csv, CSV_APPEND_NULL)) {
                r->csv_ready = 0;
                r->nomem = r->failed = 1;
                return SPOOL_CSVREAD_NOMEM;
        }
        csv_set_blk_size(&r->csv, 1024);
        r->line = 1;
        csvread_row_clear(r);
        r->have_prev = 0;
        r->prev_len = 0;
        r->resumed = 1;
        return SPOOL_CSVREAD_OK;
}

/* Every hash of from that is not in to; stops counting past limit. */
static size_t hset_count_new(const hset_t *from, const hset_t *to, size_t limit)
{
        size_t n = 0;
        for (size_t i = 0; i < from->cap && n <= limit; i++)
                if (from->slot[i] && !csvread_hset_has(to, from->slot[i]))
                        n++;
        return n;
}

int spool_csvread_scan_join(spool_csvread_t *a, spool_csvread_t *c,
                            spool_csvread_rc_t *rc)
{
        /* a must have ended a row exactly where c began, with the header
         * taken and its scan going on; c must have read to the end. */
        if (a->failed || a->phase != PHASE_SCAN || !a->csv_ready ||
            !a->have_header || a->in_row || a->csv.pstate != 0 ||
            a->file_problems.n || !c->resumed || c->nomem || a->stop)
                return 0;
        if (c->file_problems.n) { /* the first problem is c's */
                ql_problems_clear(&a->file_problems);
                a->file_problems = c->file_problems; /* moved */
                memset(&c->file_problems, 0, sizeof(c->file_problems));
                a->file_line = a->line + c->file_line - 1;
                a->failed = c->failed = 1;
                *rc = SPOOL_CSVREAD_BAD_FILE;
                return 1;
        }
        if (c->csv_ready || c->phase != PHASE_BUILD)
                return 0; /* c has not ended its scan */
        /* Tracking limits: exact only while nothing was left untracked. */
        if (a->tracking_full || c->tracking_full ||
            a->seen.n + hset_count_new(&c->seen, &a->seen,
                                       a->o.max_tracked_reports) >
                a->o.max_tracked_reports)
                return 0;
        /* A report is split if it has two runs of rows: two in one half,
         * or one in each, unless those two are one run going on across
         * the seam (a's last key is c's first). */
        uint64_t seam = 0;
        if (a->have_prev && c->have_first && a->prev_len == c->first_len &&
            !memcmp(a->prev, c->first_key, a->prev_len))
                seam = csvread_hash_bytes(a->prev, a->prev_len);
        for (size_t i = 0; i < c->split.cap; i++)
                if (c->split.slot[i] &&
                    csvread_hset_add(&a->split, c->split.slot[i]))
                        goto nomem;
        for (size_t i = 0; i < c->seen.cap; i++) {
                uint64_t h = c->seen.slot[i];
                if (!h)
                        continue;
                if (csvread_hset_has(&a->seen, h)) {
                        if ((h != seam || csvread_hset_has(&a->split, h)) &&
                            csvread_hset_add(&a->split, h))
                                goto nomem;
                } else if (csvread_hset_add(&a->seen, h)) {
                        goto nomem;
                }
        }
        csv_free(&a->csv);
        a->csv_ready = 0;
        a->phase = PHASE_BUILD; /* as after scan_end */
        *rc = SPOOL_CSVREAD_OK;
        return 1;
nomem:
        a->nomem = a->failed = 1;
        *rc = SPOOL_CSVREAD_NOMEM;
        return 1;
}
