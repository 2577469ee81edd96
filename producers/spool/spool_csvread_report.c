/*
 * spool_csvread_report: rows into reports: the rows of one report
 * number joined into one document (the first row's report-level values,
 * each row's item), every cell checked and every problem placed at its
 * line and field, and the finished report handed to the caller.
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
 * Reports
 */

static void add_problem(spool_csvread_t *r, const char *field, size_t line,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_problem(spool_csvread_t *r, const char *field, size_t line,
                        const char *fmt, ...)
{
        char msg[MSG_SIZE];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (line && line != r->doc_line)
                ql_problems_add(&r->errors, field, "%s (line %zu)", msg, line);
        else
                ql_problems_add(&r->errors, field, "%s", msg);
}

static int has_problem(const ql_problems_t *p, const char *field)
{
        for (size_t i = 0; i < p->n; i++)
                if (!strcmp(p->v[i].field, field))
                        return 1;
        return 0;
}

/* Line of the item a path like "items[3].verdict" names, or 0. */
static size_t path_item_line(const spool_csvread_t *r, const char *path)
{
        if (strncmp(path, "items[", 6) != 0)
                return 0;
        char *end;
        unsigned long i = strtoul(path + 6, &end, 10);
        if (*end != ']' || i >= r->doc_rows || i >= r->o.max_report_rows)
                return 0;
        return r->item_line[i];
}

int csvread_emit(spool_csvread_t *r)
{
        if (!r->doc && !r->doc_split)
                return 0;
        size_t klen = r->prev_len;
        const char *key = csvread_trim(r->prev, &klen);
        char *report_no = NULL;
        if (klen && !(klen == 1 && *key == '/') &&
            ql_result_utf8_valid(key, klen))
                report_no = strndup(key, klen);
        if (r->doc_split) {
                ql_problems_add(
                    &r->errors, "report_no",
                    "the rows of this report are not together: the same "
                    "report number appears again elsewhere in the file, so "
                    "no part of it is published; put all its rows together");
        } else {
                ql_csvmap_finish(r->doc);
                ql_problems_clear(&r->verrors);
                ql_result_validate(r->doc, &r->o.validate, &r->verrors,
                                   &r->warnings);
                for (size_t i = 0; i < r->verrors.n; i++) {
                        const ql_problem_t *p = &r->verrors.v[i];
                        if (has_problem(&r->errors, p->field))
                                continue; /* said already, as read */
                        add_problem(r, p->field, path_item_line(r, p->field),
                                    "%s", p->message);
                }
        }
        spool_csvread_rec_t rec = {
            .line = r->doc_line,
            .report_no = report_no,
            .doc = r->errors.n ? NULL : r->doc,
            .errors = &r->errors,
            .warnings = &r->warnings,
        };
        int stop = r->fn ? r->fn(r->arg, &rec) : 0;
        free(report_no);
        json_decref(r->doc);
        r->doc = NULL;
        r->doc_split = 0;
        ql_problems_clear(&r->errors);
        ql_problems_clear(&r->warnings);
        return stop;
}

static void start_report(spool_csvread_t *r, int split)
{
        r->doc_line = r->row_line;
        r->doc_rows = 0;
        r->doc_split = split;
        r->stray_reported = 0;
        memset(r->first_ok, 0, sizeof(r->first_ok));
        memset(r->disagree, 0, sizeof(r->disagree));
        r->doc = split ? NULL : json_object();
        if (!split && !r->doc)
                r->nomem = 1;
}

/* Text for a value in a message: strings as they are, null as empty. */
static const char *value_text(const json_t *v, char *buf, size_t size)
{
        if (!v || json_is_null(v))
                return "(empty)";
        if (json_is_string(v)) {
                snprintf(buf, size, "'%s'", json_string_value(v));
                return buf;
        }
        if (json_is_boolean(v))
                return json_is_true(v) ? "true" : "false";
        return "?";
}

static void field_path(const ql_csv_column_t *c, size_t item, char *buf,
                       size_t size)
{
        if (c->level == QL_CSV_ITEM_LEVEL)
                snprintf(buf, size, "items[%zu].%s", item, c->key);
        else
                snprintf(buf, size, "%s", c->path);
}

/* A csvmap message starts with the column's English name; the path says
 * that already. */
static const char *strip_column(const ql_csv_column_t *c, const char *msg)
{
        size_t n = strlen(c->en);
        if (!strncmp(msg, c->en, n) && msg[n] == ':' && msg[n + 1] == ' ')
                return msg + n + 2;
        return msg;
}

/* Keep a copy of the report's first row: later rows whose result-level
 * cells are byte for byte the same need no translation. */
static void keep_first_row(spool_csvread_t *r)
{
        if (r->buf_n > r->first_buf_cap) {
                char *b = realloc(r->first_buf, r->buf_n);
                if (!b) {
                        r->nomem = 1;
                        return;
                }
                r->first_buf = b;
                r->first_buf_cap = r->buf_n;
        }
        if (r->ncells > r->first_cells_cap) {
                cell_t *c = realloc(r->first_cells, r->ncells * sizeof(*c));
                if (!c) {
                        r->nomem = 1;
                        return;
                }
                r->first_cells = c;
                r->first_cells_cap = r->ncells;
        }
        if (r->buf_n)
                memcpy(r->first_buf, r->buf, r->buf_n);
        if (r->ncells)
                memcpy(r->first_cells, r->cells, r->ncells * sizeof(cell_t));
        r->first_ncells = r->ncells;
}

static int same_as_first(const spool_csvread_t *r, size_t i, const char *s,
                         size_t len)
{
        if (i >= r->first_ncells)
                return len == 0;
        return r->first_cells[i].len == len &&
               !memcmp(r->first_buf + r->first_cells[i].off, s, len);
}

/* An enum cell's value when it is one of the column's words: the shared
 * string of its symbol (a new reference), else NULL. */
static json_t *symbol_value(spool_csvread_t *r, const ql_csv_column_t *c,
                            ql_csv_lang_t lang, const char *s, size_t len)
{
        const char *sym = ql_csvmap_symbol(c, lang, s, len);
        if (!sym)
                return NULL;
        for (size_t i = 0; i < r->nsyms; i++)
                if (r->syms[i].symbol == sym)
                        return json_incref(r->syms[i].value);
        json_t *v = json_string_nocheck(sym);
        if (v && r->nsyms < SYMBOLS_CACHED) {
                r->syms[r->nsyms].symbol = sym;
                r->syms[r->nsyms++].value = json_incref(v);
        }
        return v;
}

/* Every cell of the column at header cell i (one, or the parts of a
 * joining column) the same as on the report's first row. */
static int column_same_as_first(const spool_csvread_t *r, size_t i)
{
        for (size_t k = i + 1; k; k = r->part_next[k - 1]) {
                size_t len;
                const char *s = csvread_cell_text(r, k - 1, &len);
                if (!same_as_first(r, k - 1, s, len))
                        return 0;
        }
        return 1;
}

/* The value of column c in the current row, from its cell at i (and the
 * further cells of a joining column), or NULL when a cell is not valid
 * (the problem is added) or memory ran out. */
static json_t *column_value(spool_csvread_t *r, size_t i,
                            const ql_csv_column_t *c, size_t index, size_t line)
{
        char path[128], why[MSG_SIZE];
        json_t *v = NULL;
        for (size_t k = i + 1; k; k = r->part_next[k - 1]) {
                size_t len;
                const char *s = csvread_cell_text(r, k - 1, &len);
                if (!ql_result_utf8_valid(s, len)) {
                        field_path(c, index, path, sizeof(path));
                        add_problem(r, path, line, "not valid %s text",
                                    r->o.charset);
                        json_decref(v);
                        return NULL;
                }
                json_t *part = c->type == QL_CSV_ENUM
                                   ? symbol_value(r, c, r->lang[k - 1], s, len)
                                   : NULL;
                if (!part && ql_csvmap_value(c, r->lang[k - 1], s, len, &part,
                                             why, sizeof(why))) {
                        field_path(c, index, path, sizeof(path));
                        add_problem(r, path, line, "%s", strip_column(c, why));
                        json_decref(v);
                        return NULL;
                }
                if (!v) {
                        v = part;
                } else if (ql_csvmap_join(&v, part)) {
                        json_decref(v);
                        r->nomem = 1;
                        return NULL;
                }
        }
        return v;
}

static void add_row(spool_csvread_t *r)
{
        size_t row = r->doc_rows++;
        size_t line = r->row_line;
        if (r->doc_split)
                return;
        if (row >= r->o.max_report_rows) {
                if (row == r->o.max_report_rows)
                        add_problem(r, "items", 0,
                                    "the report has more than %zu rows",
                                    r->o.max_report_rows);
                return;
        }
        if (row == 0)
                keep_first_row(r);
        json_t *items = json_object_get(r->doc, "items");
        size_t index = items ? json_array_size(items) : 0;
        json_t *item = json_object();
        if (!item) {
                r->nomem = 1;
                return;
        }
        char path[128], a[160], b[160];
        size_t n = r->ncells > r->ncols ? r->ncells : r->ncols;
        for (size_t i = 0; i < n; i++) {
                size_t len;
                const char *s = csvread_cell_text(r, i, &len);
                if (i >= r->ncols || r->kind[i] == COL_NONE) {
                        size_t tl = len;
                        csvread_trim(s, &tl);
                        if (tl && !r->stray_reported) {
                                r->stray_reported = 1;
                                add_problem(r, "", line,
                                            "cell %zu has no column header",
                                            i + 1);
                        }
                        continue;
                }
                if (r->kind[i] != COL_MAPPED)
                        continue; /* ignored, or read with its first part */
                const ql_csv_column_t *c = r->col[i];
                if (c->level == QL_CSV_RESULT_LEVEL && row > 0 &&
                    column_same_as_first(r, i))
                        continue; /* checked and taken on the first row */
                json_t *v = column_value(r, i, c, index, line);
                if (!v)
                        continue;
                if (c->level == QL_CSV_ITEM_LEVEL) {
                        ql_csvmap_set(NULL, item, c, v);
                } else if (row == 0) {
                        ql_csvmap_set(r->doc, NULL, c, v);
                        r->first_ok[c->id] = 1;
                } else {
                        json_t *had = ql_csvmap_get(r->doc, NULL, c);
                        int same = (!had || json_is_null(had))
                                       ? json_is_null(v)
                                       : json_equal(had, v);
                        if (!same && r->first_ok[c->id] &&
                            !r->disagree[c->id]) {
                                r->disagree[c->id] = 1;
                                field_path(c, index, path, sizeof(path));
                                add_problem(
                                    r, path, 0,
                                    "rows of this report disagree on column "
                                    "%s: %s on line %zu, %s on line %zu",
                                    c->en, value_text(had, a, sizeof(a)),
                                    r->doc_line, value_text(v, b, sizeof(b)),
                                    line);
                        }
                        json_decref(v);
                }
        }
        ql_csvmap_add_item(r->doc, item); /* dropped if the row has none */
        r->item_line[index] = line;
}

/* A finished row.  Returns -1 when the file turned out unreadable. */
int csvread_take_row(spool_csvread_t *r)
{
        if (!r->have_header)
                return csvread_take_header(r);
        size_t len;
        const char *s = csvread_cell_text(
            r, r->phase == PHASE_SCAN ? 0 : r->report_idx, &len);
        const char *key = csvread_trim(s, &len);
        int same =
            r->have_prev && len == r->prev_len && !memcmp(key, r->prev, len);
        if (!same && r->phase == PHASE_BUILD && csvread_emit(r))
                r->stop = 1;
        if (!same) {
                if (len + 1 > r->prev_cap) {
                        char *p = realloc(r->prev, len + 1);
                        if (!p) {
                                r->nomem = 1;
                                return 0;
                        }
                        r->prev = p;
                        r->prev_cap = len + 1;
                }
                memcpy(r->prev, key, len);
                r->prev[len] = '\0';
                r->prev_len = len;
                r->have_prev = 1;
                /* Rows without a report number are rejected for that; they
                 * are not tracked as a report. */
                int keyed = len && !(len == 1 && *key == '/');
                uint64_t h = csvread_hash_bytes(key, len);
                if (r->phase == PHASE_SCAN && r->resumed && !r->have_first) {
                        r->first_key = malloc(len + 1);
                        if (!r->first_key) {
                                r->nomem = 1;
                                return 0;
                        }
                        memcpy(r->first_key, key, len);
                        r->first_key[len] = '\0';
                        r->first_len = len;
                        r->have_first = 1;
                }
                if (r->phase == PHASE_SCAN) {
                        if (!keyed) {
                                /* nothing to track */
                        } else if (csvread_hset_has(&r->seen, h)) {
                                if (csvread_hset_add(&r->split, h))
                                        r->nomem = 1;
                        } else if (r->seen.n >= r->o.max_tracked_reports) {
                                r->tracking_full = 1;
                        } else if (csvread_hset_add(&r->seen, h)) {
                                r->nomem = 1;
                        }
                        return 0;
                }
                if (r->stop)
                        return 0;
                start_report(r, keyed && csvread_hset_has(&r->split, h));
        }
        if (r->phase == PHASE_BUILD && !r->stop && !r->nomem)
                add_row(r);
        return 0;
}

/* The current row, appended to the rows being handed over. */
static void put_row(spool_csvread_t *r, spool_csvread_rows_t *out)
{
        if (spool_grow(&out->rows, &out->cap, out->n + 1, sizeof(*out->rows)) ||
            spool_grow(&out->cells, &out->cells_cap, out->ncells + r->ncells,
                       sizeof(*out->cells)) ||
            spool_grow(&out->text, &out->text_cap, out->text_n + r->buf_n, 1)) {
                r->nomem = 1;
                return;
        }
        out->rows[out->n++] =
            (row_t){r->row_line, out->ncells, r->ncells, out->text_n, r->buf_n};
        if (r->ncells)
                memcpy(out->cells + out->ncells, r->cells,
                       r->ncells * sizeof(*r->cells));
        out->ncells += r->ncells;
        if (r->buf_n)
                memcpy(out->text + out->text_n, r->buf, r->buf_n);
        out->text_n += r->buf_n;
}

/* Between rows: nothing of one is held, and the next byte that is not
 * blank starts the next. */
void csvread_row_clear(spool_csvread_t *r)
{
        r->in_row = 0;
        r->nfields = 0;
        r->row_nonblank = 0;
        r->ncells = 0;
        r->buf_n = 0;
}

void csvread_on_row(int term, void *data)
{
        spool_csvread_t *r = data;
        if (!r->nomem && !r->stop && !r->file_problems.n &&
            (r->row_nonblank || !csvread_row_blank(r))) {
                if (r->rows_out)
                        put_row(r, r->rows_out);
                else
                        csvread_take_row(r);
        }
        csvread_row_clear(r);
}
