/*
 * spool_csvread: CSV rows -> result documents.  Bytes are handed to libcsv one
 * line at a time, which is how the reader knows the line of every row: a row
 * begins in the first segment holding something other than blanks after the
 * previous row ended, and libcsv ends rows only at line breaks.  Cells of a
 * row are collected in one buffer; at the row's end the row is either the
 * header, or joins the current report, or closes it and starts the next.
 *
 *     new --scan()*--> scan_end() --feed()*--> end()
 *          (header, structure,        (reports to fn, in order)
 *           split report numbers)
 *
 * Report numbers are remembered in the scan as 64-bit hashes in an
 * open-addressing set; a collision could only make a report look split (a
 * false rejection, about 1 in 10^7 for a million reports), never let a split
 * one through.
 *
 * This file is the reader object, the cells of a row (libcsv's callbacks)
 * and the feeding of bytes; the header is read in spool_csvread_header.c,
 * rows become reports in spool_csvread_report.c, and the two-thread
 * passes are in spool_csvread_halves.c.
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

uint64_t csvread_hash_bytes(const char *s, size_t len)
{
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then a mixer */
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= 0x100000001b3ULL;
        }
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 33;
        return h ? h : 1;
}

int csvread_hset_has(const hset_t *s, uint64_t h)
{
        if (!s->cap)
                return 0;
        for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
                if (s->slot[i] == h)
                        return 1;
                if (!s->slot[i])
                        return 0;
        }
}

static void hset_put_slot(uint64_t *slot, size_t cap, uint64_t h)
{
        size_t i = h & (cap - 1);
        while (slot[i] && slot[i] != h)
                i = (i + 1) & (cap - 1);
        slot[i] = h;
}

/* 0, or -1 when out of memory. */
int csvread_hset_add(hset_t *s, uint64_t h)
{
        if (csvread_hset_has(s, h))
                return 0;
        if ((s->n + 1) * 10 > s->cap * 7) {
                size_t cap = s->cap ? s->cap * 2 : 1024;
                uint64_t *slot = calloc(cap, sizeof(*slot));
                if (!slot)
                        return -1;
                for (size_t i = 0; i < s->cap; i++)
                        if (s->slot[i])
                                hset_put_slot(slot, cap, s->slot[i]);
                free(s->slot);
                s->slot = slot;
                s->cap = cap;
        }
        hset_put_slot(s->slot, s->cap, h);
        s->n++;
        return 0;
}

static void hset_free(hset_t *s)
{
        free(s->slot);
        memset(s, 0, sizeof(*s));
}

spool_csvread_t *spool_csvread_new(const spool_csvread_opts_t *opts)
{
        spool_csvread_t *r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        if (opts)
                r->o = *opts;
        if (!r->o.charset)
                r->o.charset = "UTF-8";
        if (!r->o.max_row_bytes)
                r->o.max_row_bytes = DEFAULT_MAX_ROW;
        if (!r->o.max_report_rows)
                r->o.max_report_rows = DEFAULT_MAX_ROWS;
        if (!r->o.max_tracked_reports)
                r->o.max_tracked_reports = DEFAULT_MAX_TRACKED;
        r->item_line = calloc(r->o.max_report_rows, sizeof(*r->item_line));
        if (!r->item_line) {
                free(r);
                return NULL;
        }
        return r;
}

static void header_free(spool_csvread_t *r)
{
        free(r->kind);
        free(r->col);
        free(r->lang);
        free(r->part_next);
        r->kind = NULL;
        r->col = NULL;
        r->lang = NULL;
        r->part_next = NULL;
        r->ncols = 0;
        r->have_header = 0;
}

void spool_csvread_destroy(spool_csvread_t *r)
{
        if (!r)
                return;
        if (r->csv_ready)
                csv_free(&r->csv);
        header_free(r);
        free(r->buf);
        free(r->cells);
        free(r->prev);
        free(r->first_buf);
        free(r->first_cells);
        free(r->first_key);
        free(r->item_line);
        for (size_t i = 0; i < r->nsyms; i++)
                json_decref(r->syms[i].value);
        hset_free(&r->seen);
        hset_free(&r->split);
        json_decref(r->doc);
        ql_problems_clear(&r->errors);
        ql_problems_clear(&r->warnings);
        ql_problems_clear(&r->verrors);
        ql_problems_clear(&r->file_problems);
        ql_problems_clear(&r->file_warnings);
        free(r);
}

const ql_problems_t *spool_csvread_problems(const spool_csvread_t *r,
                                            size_t *line)
{
        if (line)
                *line = r->file_line;
        return &r->file_problems;
}

const ql_problems_t *spool_csvread_warnings(const spool_csvread_t *r,
                                            size_t *line)
{
        if (line)
                *line = r->warn_line;
        return &r->file_warnings;
}

size_t spool_csvread_split_reports(const spool_csvread_t *r)
{
        return r->split.n;
}

int spool_csvread_tracking_full(const spool_csvread_t *r)
{
        return r->tracking_full;
}

/* ------------------------------------------------------------------------
 * Cells
 */

int csvread_row_blank(const spool_csvread_t *r)
{
        for (size_t i = 0; i < r->ncells; i++) {
                size_t len;
                const char *s = csvread_cell_text(r, i, &len);
                csvread_trim(s, &len);
                if (len)
                        return 0;
        }
        return 1;
}

static void on_field(void *s, size_t len, void *data)
{
        spool_csvread_t *r = data;
        if (r->nomem)
                return;
        /* The scan needs only each row's report number (kept as cell 0)
         * and whether the row is blank. */
        if (r->phase == PHASE_SCAN && r->have_header) {
                size_t idx = r->nfields++;
                if (idx != r->report_idx) {
                        if (!r->row_nonblank) {
                                size_t l = len;
                                csvread_trim(s, &l);
                                r->row_nonblank = l > 0;
                        }
                        return;
                }
        }
        if (!r->in_row) { /* cannot happen: rows start at non-blank bytes */
                r->in_row = 1;
                r->row_line = r->line;
                r->row_bytes = 0;
        }
        if (r->ncells == r->cells_cap &&
            spool_grow(&r->cells, &r->cells_cap, r->ncells + 1,
                       sizeof(*r->cells))) {
                r->nomem = 1;
                return;
        }
        if (r->buf_n + len + 1 > r->buf_cap) {
                size_t cap = r->buf_cap ? r->buf_cap : 4096;
                while (cap < r->buf_n + len + 1)
                        cap *= 2;
                char *b = realloc(r->buf, cap);
                if (!b) {
                        r->nomem = 1;
                        return;
                }
                r->buf = b;
                r->buf_cap = cap;
        }
        if (len)
                memcpy(r->buf + r->buf_n, s, len);
        r->buf[r->buf_n + len] = '\0';
        r->cells[r->ncells++] = (cell_t){r->buf_n, len};
        r->buf_n += len + 1;
}

/* ------------------------------------------------------------------------
 * Feeding
 */

static spool_csvread_rc_t start(spool_csvread_t *r, int phase)
{
        if (r->csv_ready)
                csv_free(&r->csv);
        r->csv_ready = 0;
        if (csv_init(&r->csv, CSV_APPEND_NULL))
                return SPOOL_CSVREAD_NOMEM;
        csv_set_blk_size(&r->csv, 1024);
        r->csv_ready = 1;
        r->phase = phase;
        r->line = 1;
        csvread_row_clear(r);
        r->have_prev = 0;
        r->prev_len = 0;
        r->stop = 0;
        json_decref(r->doc);
        r->doc = NULL;
        r->doc_split = 0;
        header_free(r);
        return SPOOL_CSVREAD_OK;
}

spool_csvread_rc_t csvread_status(spool_csvread_t *r)
{
        if (r->nomem) {
                r->failed = 1;
                return SPOOL_CSVREAD_NOMEM;
        }
        if (r->file_problems.n) {
                r->failed = 1;
                return SPOOL_CSVREAD_BAD_FILE;
        }
        return r->stop ? SPOOL_CSVREAD_STOPPED : SPOOL_CSVREAD_OK;
}

static int blank_byte(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

spool_csvread_rc_t csvread_feed(spool_csvread_t *r, const char *buf, size_t len)
{
        if (r->failed)
                return r->nomem ? SPOOL_CSVREAD_NOMEM : SPOOL_CSVREAD_BAD_FILE;
        while (len > 0 && !r->stop) {
                /* A segment ends at a line feed or a carriage return:
                 * libcsv may end a row at either, and the row length must
                 * be counted the same however the input was cut. */
                const char *lf = memchr(buf, '\n', len);
                size_t seg = lf ? (size_t)(lf - buf) : len;
                const char *cr = memchr(buf, '\r', seg);
                if (cr)
                        seg = (size_t)(cr - buf);
                int nl = !cr && lf;
                if (seg < len)
                        seg++;
                size_t lead = 0; /* blanks before a row's first byte */
                if (!r->in_row) {
                        for (size_t i = 0; i < seg; i++)
                                if (!blank_byte(buf[i])) {
                                        r->in_row = 1;
                                        r->row_line = r->line;
                                        r->row_bytes = 0;
                                        lead = i;
                                        break;
                                }
                }
                if (r->in_row) {
                        r->row_bytes += seg - lead;
                        if (r->row_bytes > r->o.max_row_bytes) {
                                csvread_file_problem(
                                    r, r->row_line, "",
                                    "a row longer than %zu bytes "
                                    "starts here (is a quote not "
                                    "closed?); the file cannot be "
                                    "read",
                                    r->o.max_row_bytes);
                                return csvread_status(r);
                        }
                }
                if (csv_parse(&r->csv, buf, seg, on_field, csvread_on_row, r) !=
                    seg) {
                        r->nomem = 1;
                        return csvread_status(r);
                }
                if (r->nomem || r->file_problems.n)
                        return csvread_status(r);
                if (nl)
                        r->line++;
                buf += seg;
                len -= seg;
        }
        return csvread_status(r);
}

spool_csvread_rc_t csvread_finish(spool_csvread_t *r)
{
        if (r->failed)
                return r->nomem ? SPOOL_CSVREAD_NOMEM : SPOOL_CSVREAD_BAD_FILE;
        if (r->stop)
                return SPOOL_CSVREAD_STOPPED;
        if (r->csv.quoted && r->csv.pstate == CSV_STATE_FIELD_BEGUN) {
                csvread_file_problem(
                    r, r->row_line, "",
                    "a quoted field starting in the row here is "
                    "never closed; the file cannot be read");
                return csvread_status(r);
        }
        csv_fini(&r->csv, on_field, csvread_on_row, r);
        spool_csvread_rc_t rc = csvread_status(r);
        if (rc != SPOOL_CSVREAD_OK)
                return rc;
        if (r->rows_out) /* the header is the builder's */
                return csvread_status(r);
        if (!r->have_header) {
                csvread_file_problem(r, r->line, "header",
                                     "the file has no header row");
                return csvread_status(r);
        }
        if (r->phase == PHASE_BUILD && csvread_emit(r))
                r->stop = 1;
        return csvread_status(r);
}

spool_csvread_rc_t spool_csvread_scan(spool_csvread_t *r, const char *buf,
                                      size_t len)
{
        if (!r->csv_ready) {
                spool_csvread_rc_t rc = start(r, PHASE_SCAN);
                if (rc)
                        return rc;
        }
        return csvread_feed(r, buf, len);
}

spool_csvread_rc_t spool_csvread_scan_end(spool_csvread_t *r)
{
        if (!r->csv_ready) {
                spool_csvread_rc_t rc = start(r, PHASE_SCAN);
                if (rc)
                        return rc;
        }
        spool_csvread_rc_t rc = csvread_finish(r);
        if (rc == SPOOL_CSVREAD_OK) {
                csv_free(&r->csv);
                r->csv_ready = 0;
                r->phase = PHASE_BUILD; /* the next feed starts pass 2 */
        }
        return rc;
}

/* Every pass-2 call: the parser restarted from the file's first byte
 * unless pass 2 is already under way, and fn the one reports go to. */
spool_csvread_rc_t csvread_building(spool_csvread_t *r, spool_csvread_fn fn,
                                    void *arg)
{
        if (!r->csv_ready || r->phase != PHASE_BUILD) {
                spool_csvread_rc_t rc = start(r, PHASE_BUILD);
                if (rc)
                        return rc;
        }
        r->fn = fn;
        r->arg = arg;
        return SPOOL_CSVREAD_OK;
}

spool_csvread_rc_t spool_csvread_feed(spool_csvread_t *r, const char *buf,
                                      size_t len, spool_csvread_fn fn,
                                      void *arg)
{
        spool_csvread_rc_t rc = csvread_building(r, fn, arg);
        return rc ? rc : csvread_feed(r, buf, len);
}

spool_csvread_rc_t spool_csvread_end(spool_csvread_t *r, spool_csvread_fn fn,
                                     void *arg)
{
        spool_csvread_rc_t rc = csvread_building(r, fn, arg);
        return rc ? rc : csvread_finish(r);
}
