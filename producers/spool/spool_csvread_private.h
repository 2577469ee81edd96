/*
 * spool_csvread_private.h: what the files of the CSV reader share,
 * private to them: the reader's state, the rows handed between the two
 * threads of pass 2, the set of report-number hashes, and the functions
 * one file calls in another.
 */
#ifndef SPOOL_CSVREAD_PRIVATE_H
#define SPOOL_CSVREAD_PRIVATE_H

#include <csv.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ql_csvmap.h"
#include "spool_csvread.h"
#include "spool_grow.h"

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
        int building;                   /* builds from rows (take_rows) */

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

/* Cells, inline: called for every cell of every row. */

static inline const char *csvread_cell_text(const spool_csvread_t *r, size_t i,
                                            size_t *len)
{
        if (i >= r->ncells) {
                *len = 0;
                return "";
        }
        *len = r->cells[i].len;
        return r->buf + r->cells[i].off;
}

/* Trim blanks (space, tab, U+3000) from both ends. */
static inline const char *csvread_trim(const char *s, size_t *len)
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

/* spool_csvread.c */
spool_csvread_rc_t csvread_building(spool_csvread_t *r, spool_csvread_fn fn,
                                    void *arg);
spool_csvread_rc_t csvread_feed(spool_csvread_t *r, const char *buf,
                                size_t len);
spool_csvread_rc_t csvread_finish(spool_csvread_t *r);
uint64_t csvread_hash_bytes(const char *s, size_t len);
/* 0, or -1 when out of memory. */
int csvread_hset_add(hset_t *s, uint64_t h);
/* nothing to track */
int csvread_hset_has(const hset_t *s, uint64_t h);
int csvread_row_blank(const spool_csvread_t *r);
/* the header is the builder's */
spool_csvread_rc_t csvread_status(spool_csvread_t *r);

/* spool_csvread_header.c */
void csvread_file_problem(spool_csvread_t *r, size_t line, const char *field,
                          const char *fmt, ...);
/* Returns 0, or -1 with file problems (or nomem). */
int csvread_take_header(spool_csvread_t *r);

/* spool_csvread_report.c */
int csvread_emit(spool_csvread_t *r);
void csvread_on_row(int term, void *data);
/* Between rows: nothing of one is held, and the next byte that is not
 * blank starts the next. */
void csvread_row_clear(spool_csvread_t *r);
/* A finished row.  Returns -1 when the file turned out unreadable. */
int csvread_take_row(spool_csvread_t *r);

#endif
