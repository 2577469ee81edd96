/*
 * spool_csvread_header: the header row: its cells mapped to the record's
 * fields (ql_csvmap), columns ignored or unknown (warned about once), a
 * column split over several cells, and the header a file repeats.
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
 * Header
 */

void csvread_file_problem(spool_csvread_t *r, size_t line, const char *field,
                          const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void csvread_file_problem(spool_csvread_t *r, size_t line, const char *field,
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
                const char *s = csvread_cell_text(r, unknown[u], &len);
                if (len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
                        s += 3, len -= 3;
                s = csvread_trim(s, &len);
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
        const char *sa = csvread_cell_text(r, a, &la),
                   *sb = csvread_cell_text(r, b, &lb);
        sa = csvread_trim(sa, &la);
        sb = csvread_trim(sb, &lb);
        return la == lb && !memcmp(sa, sb, la);
}

/* Returns 0, or -1 with file problems (or nomem). */
int csvread_take_header(spool_csvread_t *r)
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
                const char *s = csvread_cell_text(r, i, &len);
                if (!ql_result_utf8_valid(s, len)) {
                        csvread_file_problem(
                            r, r->row_line, "header",
                            "header cell %zu is not valid %s text", i + 1,
                            r->o.charset);
                        continue;
                }
                const char *t = s;
                size_t tlen = len;
                if (tlen >= 3 && !memcmp(t, "\xEF\xBB\xBF", 3))
                        t += 3, tlen -= 3;
                t = csvread_trim(t, &tlen);
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
                        csvread_file_problem(
                            r, r->row_line, "header",
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
                        csvread_file_problem(
                            r, r->row_line, "header", "missing column %s (%s)",
                            c->en, c->zh && c->zh[0] ? c->zh[0] : c->en);
        }
        if (!r->file_problems.n && !where[QL_CSV_REPORT_NO])
                csvread_file_problem(r, r->row_line, "header",
                                     "missing column %s", "report_no");
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
