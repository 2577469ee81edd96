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
 */
#include "spool_csvread.h"

#include <csv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_csvmap.h"
#include "spool_grow.h"

#define DEFAULT_MAX_ROW     (1u << 20)
#define DEFAULT_MAX_ROWS    1000
#define DEFAULT_MAX_TRACKED 1000000
#define MSG_SIZE            512
#define SYMBOLS_CACHED      48
#define UNKNOWN_NAMED       20 /* unknown columns named in the warning */
#define UNKNOWN_QUOTE       40 /* bytes of each name quoted */

/* libcsv's parser state "inside a field" (libcsv.c FIELD_BEGUN); with
 * `quoted` set it means a quoted field whose closing quote has not come. */
#define CSV_STATE_FIELD_BEGUN 2

/* ------------------------------------------------------------------------
 * A set of 64-bit hashes (0 marks an empty slot; a hash of 0 is stored as 1).
 */
typedef struct {
        uint64_t *slot;
        size_t cap, n; /* cap is 0 or a power of two */
} hset_t;

static uint64_t hash_bytes(const char *s, size_t len)
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

static int hset_has(const hset_t *s, uint64_t h)
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
static int hset_add(hset_t *s, uint64_t h)
{
        if (hset_has(s, h))
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

/* ------------------------------------------------------------------------
 * The reader
 */

/* A header cell: empty (its cells must be empty too), ignored (序号, a
 * column not in the table), the first or only cell of a column, or a
 * further cell of a joining column (read with the first). */
typedef enum { COL_NONE = 0, COL_IGNORED, COL_MAPPED, COL_PART } col_kind_t;

typedef struct {
        size_t off, len;
} cell_t;

enum { PHASE_SCAN = 0, PHASE_BUILD = 1 };

struct spool_csvread_s {
        spool_csvread_opts_t o;
        int phase;
        struct csv_parser csv;
        int csv_ready;
        int failed; /* a BAD_FILE or NOMEM was returned: feed no more */

        size_t line;      /* line of the next byte fed */
        int in_row;       /* a row has begun and not ended */
        size_t row_line;  /* where it began */
        size_t row_bytes; /* bytes fed since */

        char *buf; /* the current row's cells, each NUL-terminated */
        size_t buf_n, buf_cap;
        cell_t *cells;
        size_t ncells, cells_cap;
        size_t nfields;   /* fields of the current row (scan) */
        int row_nonblank; /* a field other than the key has text (scan) */

        /* header */
        int have_header;
        size_t ncols;
        col_kind_t *kind;
        const ql_csv_column_t **col;
        ql_csv_lang_t *lang;
        size_t *part_next; /* joining columns: 1 + the next cell of the same
                              column, 0 after the last (and elsewhere) */
        size_t report_idx;

        /* the file's warnings (the unknown columns), from the header */
        ql_problems_t file_warnings;
        size_t warn_line;

        /* grouping */
        char *prev; /* report number of the previous row */
        size_t prev_len, prev_cap;
        int have_prev;
        hset_t seen, split;
        int tracking_full;

        /* build: the current report */
        json_t *doc;
        size_t doc_line, doc_rows;
        int doc_split;
        int first_ok[QL_CSV_NCOLUMNS]; /* first row's value set */
        int disagree[QL_CSV_NCOLUMNS]; /* already reported */
        int stray_reported;
        char *first_buf; /* the report's first row, to compare later rows */
        cell_t *first_cells;
        size_t first_ncells, first_buf_cap, first_cells_cap;
        size_t *item_line; /* line of items[i] */
        ql_problems_t errors, warnings, verrors;

        /* why the file is unreadable */
        ql_problems_t file_problems;
        size_t file_line;

        spool_csvread_fn fn;
        void *arg;
        int stop, nomem;

        spool_csvread_rows_t *rows_out; /* pass 2 into rows: rows go here */
        int building;                /* builds from rows (take_rows) */

        /* enum values, one shared string per symbol (documents hold
         * references; jansson counts them atomically) */
        struct {
                const char *symbol;
                json_t *value;
        } syms[SYMBOLS_CACHED];
        size_t nsyms;

        /* the second half of a split scan: the first row's key */
        int resumed, have_first;
        char *first_key;
        size_t first_len;
};

/* Rows of pass 2 between a reader that parses and one that builds: each
 * row's cells (NUL-terminated text, offsets from the row's text) one after
 * the other. */
typedef struct {
        size_t line;
        size_t cell, ncells; /* its cells: cells[cell .. cell + ncells) */
        size_t text, text_n; /* its text: text[text .. text + text_n) */
} row_t;

struct spool_csvread_rows_s {
        char *text;
        size_t text_n, text_cap;
        cell_t *cells;
        size_t ncells, cells_cap;
        row_t *rows;
        size_t n, cap;
        size_t line; /* the reader's line after these rows */
};

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

const ql_problems_t *spool_csvread_problems(const spool_csvread_t *r, size_t *line)
{
        if (line)
                *line = r->file_line;
        return &r->file_problems;
}

const ql_problems_t *spool_csvread_warnings(const spool_csvread_t *r, size_t *line)
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

static const char *cell_text(const spool_csvread_t *r, size_t i, size_t *len)
{
        if (i >= r->ncells) {
                *len = 0;
                return "";
        }
        *len = r->cells[i].len;
        return r->buf + r->cells[i].off;
}

/* Trim blanks (space, tab, U+3000) from both ends. */
static const char *trim(const char *s, size_t *len)
{
        size_t n = *len;
        for (;;) {
                if (n && (*s == ' ' || *s == '\t')) {
                        s++, n--;
                } else if (n >= 3 && !memcmp(s, "\xE3\x80\x80", 3)) {
                        s += 3, n -= 3;
                } else {
                        break;
                }
        }
        for (;;) {
                if (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                        n--;
                else if (n >= 3 && !memcmp(s + n - 3, "\xE3\x80\x80", 3))
                        n -= 3;
                else
                        break;
        }
        *len = n;
        return s;
}

static int row_blank(const spool_csvread_t *r)
{
        for (size_t i = 0; i < r->ncells; i++) {
                size_t len;
                const char *s = cell_text(r, i, &len);
                trim(s, &len);
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
                                trim(s, &l);
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
 * Header
 */

static void file_problem(spool_csvread_t *r, size_t line, const char *field,
                         const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void file_problem(spool_csvread_t *r, size_t line, const char *field,
                         const char *fmt, ...)
{
        char msg[MSG_SIZE];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (!r->file_problems.n)
                r->file_line = line;
        ql_problems_add(&r->file_problems, field, "%s", msg);
}

/* Header cells that are not data: the row counter labs put first. */
static int ignored_header(const char *s, size_t len)
{
        static const char *const words[] = {"序号", "No.", "no", NULL};
        for (size_t i = 0; words[i]; i++)
                if (strlen(words[i]) == len && !memcmp(words[i], s, len))
                        return 1;
        return 0;
}

/* Append a header cell's text to a message: quoted, cut to
 * UNKNOWN_QUOTE bytes between characters, control characters as '?' (it
 * goes into logs and lists as it is). */
static void put_name(char *buf, size_t size, size_t *off, const char *s,
                     size_t len)
{
        char q[UNKNOWN_QUOTE + 8];
        size_t o = 0, i = 0;
        while (i < len) {
                unsigned char c = (unsigned char)s[i];
                size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
                if (i + n > len || o + n > UNKNOWN_QUOTE) {
                        memcpy(q + o, "...", 3);
                        o += 3;
                        break;
                }
                if (n == 1 && (c < 0x20 || c == 0x7F))
                        q[o++] = '?';
                else
                        memcpy(q + o, s + i, n), o += n;
                i += n;
        }
        q[o] = '\0';
        if (*off < size) {
                int k = snprintf(buf + *off, size - *off, "'%s'", q);
                *off += k > 0 ? (size_t)k : 0;
        }
}

/* The columns not in the table, as one sentence: the first UNKNOWN_NAMED
 * of them named with their cells. */
static void unknown_columns(spool_csvread_t *r, const size_t *unknown, size_t n,
                            char *buf, size_t size)
{
        size_t off = 0;
        int k =
            snprintf(buf, size, "%zu column%s not in the table ignored: ", n,
                     n == 1 ? "" : "s");
        off = k > 0 ? (size_t)k : 0;
        for (size_t u = 0; u < n && u < UNKNOWN_NAMED && off < size; u++) {
                size_t len;
                const char *s = cell_text(r, unknown[u], &len);
                if (len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
                        s += 3, len -= 3;
                s = trim(s, &len);
                if (u && off < size)
                        off += (size_t)snprintf(buf + off, size - off, ", ");
                put_name(buf, size, &off, s, len);
                if (off < size)
                        off += (size_t)snprintf(buf + off, size - off,
                                                " (cell %zu)", unknown[u] + 1);
        }
        if (n > UNKNOWN_NAMED && off < size)
                snprintf(buf + off, size - off, " and %zu more",
                         n - UNKNOWN_NAMED);
}

/* Two header cells with the same text (after trimming). */
static int same_header(const spool_csvread_t *r, size_t a, size_t b)
{
        size_t la, lb;
        const char *sa = cell_text(r, a, &la), *sb = cell_text(r, b, &lb);
        sa = trim(sa, &la);
        sb = trim(sb, &lb);
        return la == lb && !memcmp(sa, sb, la);
}

/* Returns 0, or -1 with file problems (or nomem). */
static int take_header(spool_csvread_t *r)
{
        ql_problems_clear(&r->file_warnings);
        r->warn_line = r->row_line;
        r->ncols = r->ncells;
        size_t cols = r->ncols ? r->ncols : 1;
        r->kind = calloc(cols, sizeof(*r->kind));
        r->col = calloc(cols, sizeof(*r->col));
        r->lang = calloc(cols, sizeof(*r->lang));
        r->part_next = calloc(cols, sizeof(*r->part_next));
        size_t *unknown = calloc(cols, sizeof(*unknown));
        size_t nunknown = 0;
        if (!r->kind || !r->col || !r->lang || !r->part_next || !unknown) {
                free(unknown);
                r->nomem = 1;
                return -1;
        }
        size_t where[QL_CSV_NCOLUMNS]; /* header index + 1 of each column */
        size_t last[QL_CSV_NCOLUMNS];  /* ... of its last cell (joining) */
        memset(where, 0, sizeof(where));
        for (size_t i = 0; i < r->ncols; i++) {
                size_t len;
                const char *s = cell_text(r, i, &len);
                if (!ql_result_utf8_valid(s, len)) {
                        file_problem(r, r->row_line, "header",
                                     "header cell %zu is not valid %s text",
                                     i + 1, r->o.charset);
                        continue;
                }
                const char *t = s;
                size_t tlen = len;
                if (tlen >= 3 && !memcmp(t, "\xEF\xBB\xBF", 3))
                        t += 3, tlen -= 3;
                t = trim(t, &tlen);
                if (!tlen || ignored_header(t, tlen)) {
                        r->kind[i] = tlen ? COL_IGNORED : COL_NONE;
                        continue;
                }
                const ql_csv_column_t *c =
                    ql_csvmap_header(s, len, &r->lang[i]);
                if (!c) {
                        /* A LIMS export carries many columns of its own:
                         * ignored, and named once in a warning. */
                        r->kind[i] = COL_IGNORED;
                        unknown[nunknown++] = i;
                        continue;
                }
                r->col[i] = c;
                if (!where[c->id]) {
                        where[c->id] = last[c->id] = i + 1;
                        r->kind[i] = COL_MAPPED;
                        continue;
                }
                int twice = !c->joins;
                for (size_t j = where[c->id]; j && !twice;
                     j = r->part_next[j - 1])
                        twice = same_header(r, j - 1, i);
                if (twice) {
                        file_problem(r, r->row_line, "header",
                                     "column %s appears twice (cells %zu and "
                                     "%zu)",
                                     c->en, where[c->id], i + 1);
                        r->col[i] = NULL;
                        continue;
                }
                r->part_next[last[c->id] - 1] = i + 1;
                last[c->id] = i + 1;
                r->kind[i] = COL_PART;
        }
        if (nunknown) {
                char msg[MSG_SIZE * 4];
                unknown_columns(r, unknown, nunknown, msg, sizeof(msg));
                ql_problems_add(&r->file_warnings, "header", "%s", msg);
        }
        free(unknown);
        for (int id = 0; id < QL_CSV_NCOLUMNS; id++) {
                const ql_csv_column_t *c = ql_csvmap_column((ql_csv_col_t)id);
                if (c && c->required && !where[id])
                        file_problem(r, r->row_line, "header",
                                     "missing column %s (%s)", c->en,
                                     c->zh && c->zh[0] ? c->zh[0] : c->en);
        }
        if (!r->file_problems.n && !where[QL_CSV_REPORT_NO])
                file_problem(r, r->row_line, "header", "missing column %s",
                             "report_no");
        if (r->file_problems.n) {
                /* A misspelt required column is missing and unknown at
                 * once: the unknown names help to see why. */
                for (size_t i = 0; i < r->file_warnings.n; i++)
                        ql_problems_add(&r->file_problems, "header", "%s",
                                        r->file_warnings.v[i].message);
                return -1;
        }
        r->report_idx = where[QL_CSV_REPORT_NO] - 1;
        r->have_header = 1;
        return 0;
}

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

static int emit(spool_csvread_t *r)
{
        if (!r->doc && !r->doc_split)
                return 0;
        size_t klen = r->prev_len;
        const char *key = trim(r->prev, &klen);
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
                const char *s = cell_text(r, k - 1, &len);
                if (!same_as_first(r, k - 1, s, len))
                        return 0;
        }
        return 1;
}

/* The value of column c in the current row, from its cell at i (and the
 * further cells of a joining column), or NULL when a cell is not valid
 * (the problem is added) or memory ran out. */
static json_t *column_value(spool_csvread_t *r, size_t i, const ql_csv_column_t *c,
                            size_t index, size_t line)
{
        char path[128], why[MSG_SIZE];
        json_t *v = NULL;
        for (size_t k = i + 1; k; k = r->part_next[k - 1]) {
                size_t len;
                const char *s = cell_text(r, k - 1, &len);
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
                const char *s = cell_text(r, i, &len);
                if (i >= r->ncols || r->kind[i] == COL_NONE) {
                        size_t tl = len;
                        trim(s, &tl);
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
static int take_row(spool_csvread_t *r)
{
        if (!r->have_header)
                return take_header(r);
        size_t len;
        const char *s =
            cell_text(r, r->phase == PHASE_SCAN ? 0 : r->report_idx, &len);
        const char *key = trim(s, &len);
        int same =
            r->have_prev && len == r->prev_len && !memcmp(key, r->prev, len);
        if (!same && r->phase == PHASE_BUILD && emit(r))
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
                uint64_t h = hash_bytes(key, len);
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
                        } else if (hset_has(&r->seen, h)) {
                                if (hset_add(&r->split, h))
                                        r->nomem = 1;
                        } else if (r->seen.n >= r->o.max_tracked_reports) {
                                r->tracking_full = 1;
                        } else if (hset_add(&r->seen, h)) {
                                r->nomem = 1;
                        }
                        return 0;
                }
                if (r->stop)
                        return 0;
                start_report(r, keyed && hset_has(&r->split, h));
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
static void row_clear(spool_csvread_t *r)
{
        r->in_row = 0;
        r->nfields = 0;
        r->row_nonblank = 0;
        r->ncells = 0;
        r->buf_n = 0;
}

static void on_row(int term, void *data)
{
        spool_csvread_t *r = data;
        if (!r->nomem && !r->stop && !r->file_problems.n &&
            (r->row_nonblank || !row_blank(r))) {
                if (r->rows_out)
                        put_row(r, r->rows_out);
                else
                        take_row(r);
        }
        row_clear(r);
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
        row_clear(r);
        r->have_prev = 0;
        r->prev_len = 0;
        r->stop = 0;
        json_decref(r->doc);
        r->doc = NULL;
        r->doc_split = 0;
        header_free(r);
        return SPOOL_CSVREAD_OK;
}

static spool_csvread_rc_t status(spool_csvread_t *r)
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

static spool_csvread_rc_t feed(spool_csvread_t *r, const char *buf, size_t len)
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
                                file_problem(r, r->row_line, "",
                                             "a row longer than %zu bytes "
                                             "starts here (is a quote not "
                                             "closed?); the file cannot be "
                                             "read",
                                             r->o.max_row_bytes);
                                return status(r);
                        }
                }
                if (csv_parse(&r->csv, buf, seg, on_field, on_row, r) != seg) {
                        r->nomem = 1;
                        return status(r);
                }
                if (r->nomem || r->file_problems.n)
                        return status(r);
                if (nl)
                        r->line++;
                buf += seg;
                len -= seg;
        }
        return status(r);
}

static spool_csvread_rc_t finish(spool_csvread_t *r)
{
        if (r->failed)
                return r->nomem ? SPOOL_CSVREAD_NOMEM : SPOOL_CSVREAD_BAD_FILE;
        if (r->stop)
                return SPOOL_CSVREAD_STOPPED;
        if (r->csv.quoted && r->csv.pstate == CSV_STATE_FIELD_BEGUN) {
                file_problem(r, r->row_line, "",
                             "a quoted field starting in the row here is "
                             "never closed; the file cannot be read");
                return status(r);
        }
        csv_fini(&r->csv, on_field, on_row, r);
        spool_csvread_rc_t rc = status(r);
        if (rc != SPOOL_CSVREAD_OK)
                return rc;
        if (r->rows_out) /* the header is the builder's */
                return status(r);
        if (!r->have_header) {
                file_problem(r, r->line, "header",
                             "the file has no header row");
                return status(r);
        }
        if (r->phase == PHASE_BUILD && emit(r))
                r->stop = 1;
        return status(r);
}

spool_csvread_rc_t spool_csvread_scan(spool_csvread_t *r, const char *buf, size_t len)
{
        if (!r->csv_ready) {
                spool_csvread_rc_t rc = start(r, PHASE_SCAN);
                if (rc)
                        return rc;
        }
        return feed(r, buf, len);
}

spool_csvread_rc_t spool_csvread_scan_end(spool_csvread_t *r)
{
        if (!r->csv_ready) {
                spool_csvread_rc_t rc = start(r, PHASE_SCAN);
                if (rc)
                        return rc;
        }
        spool_csvread_rc_t rc = finish(r);
        if (rc == SPOOL_CSVREAD_OK) {
                csv_free(&r->csv);
                r->csv_ready = 0;
                r->phase = PHASE_BUILD; /* the next feed starts pass 2 */
        }
        return rc;
}

/* Every pass-2 call: the parser restarted from the file's first byte
 * unless pass 2 is already under way, and fn the one reports go to. */
static spool_csvread_rc_t building(spool_csvread_t *r, spool_csvread_fn fn, void *arg)
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

spool_csvread_rc_t spool_csvread_feed(spool_csvread_t *r, const char *buf, size_t len,
                                spool_csvread_fn fn, void *arg)
{
        spool_csvread_rc_t rc = building(r, fn, arg);
        return rc ? rc : feed(r, buf, len);
}

spool_csvread_rc_t spool_csvread_end(spool_csvread_t *r, spool_csvread_fn fn, void *arg)
{
        spool_csvread_rc_t rc = building(r, fn, arg);
        return rc ? rc : finish(r);
}

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

static spool_csvread_rc_t into_rows(spool_csvread_t *r, const char *buf, size_t len,
                                 int end, spool_csvread_rows_t *out)
{
        spool_csvread_rc_t rc = building(r, NULL, NULL); /* rows, not reports */
        if (rc)
                return rc;
        r->rows_out = out;
        rc = end ? finish(r) : feed(r, buf, len);
        r->rows_out = NULL;
        out->line = r->line;
        return rc;
}

spool_csvread_rc_t spool_csvread_feed_rows(spool_csvread_t *r, const char *buf,
                                     size_t len, spool_csvread_rows_t *out)
{
        return into_rows(r, buf, len, 0, out);
}

spool_csvread_rc_t spool_csvread_end_rows(spool_csvread_t *r, spool_csvread_rows_t *out)
{
        return into_rows(r, NULL, 0, 1, out);
}

void spool_csvread_adopt_scan(spool_csvread_t *builder, spool_csvread_t *scanned)
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
                take_row(r);
                r->ncells = 0;
                r->buf_n = 0;
                if (r->nomem || r->file_problems.n)
                        break;
        }
        r->buf = own_buf;
        r->cells = own_cells;
        r->line = rows->line;
        return status(r);
}

spool_csvread_rc_t spool_csvread_take_end(spool_csvread_t *r, spool_csvread_fn fn,
                                    void *arg)
{
        if (r->failed)
                return r->nomem ? SPOOL_CSVREAD_NOMEM : SPOOL_CSVREAD_BAD_FILE;
        if (r->stop)
                return SPOOL_CSVREAD_STOPPED;
        r->fn = fn;
        r->arg = arg;
        if (!r->have_header) {
                file_problem(r, r->line, "header",
                             "the file has no header row");
                return status(r);
        }
        if (emit(r))
                r->stop = 1;
        return status(r);
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
        row_clear(r);
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
                if (from->slot[i] && !hset_has(to, from->slot[i]))
                        n++;
        return n;
}

int spool_csvread_scan_join(spool_csvread_t *a, spool_csvread_t *c, spool_csvread_rc_t *rc)
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
                seam = hash_bytes(a->prev, a->prev_len);
        for (size_t i = 0; i < c->split.cap; i++)
                if (c->split.slot[i] && hset_add(&a->split, c->split.slot[i]))
                        goto nomem;
        for (size_t i = 0; i < c->seen.cap; i++) {
                uint64_t h = c->seen.slot[i];
                if (!h)
                        continue;
                if (hset_has(&a->seen, h)) {
                        if ((h != seam || hset_has(&a->split, h)) &&
                            hset_add(&a->split, h))
                                goto nomem;
                } else if (hset_add(&a->seen, h)) {
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
