/*
 * spool_csvread: a lab's CSV export (docs/labs.md, "CSV") read into result
 * documents, streaming: bytes go in in chunks of any size (libcsv does the
 * CSV syntax), one validated document or the list of its problems comes out
 * per report.  At most one report's rows are held at a time.  The column
 * table, header languages and value words are ql_csvmap's; validation is
 * ql_result_validate()'s.  Input is UTF-8 (spool_charset converts other
 * encodings first); a cell that is not valid UTF-8 is a problem of its
 * report, reported with the cell's line.
 *
 * A file is read in two passes over the same bytes:
 *
 *     scan:   spool_csvread_scan() ... spool_csvread_scan_end()
 *             checks the header and the file's structure and notes which
 *             report numbers occur in more than one run of rows;
 *     build:  spool_csvread_feed() ... spool_csvread_end()
 *             calls fn once per report, in file order.
 *
 * Rules a lab should know (docs/labs.md says the same):
 *   - The first non-blank row is the header: English field names or the
 *     Chinese headers of ql_csvmap, mixed freely.  A column named twice
 *     (except a joining one, enterprise_contact, under different headers)
 *     or a required column missing makes the file unreadable (nothing in
 *     it is published).  A header that is not in ql_csvmap's table is an
 *     ignored column, whatever its cells hold, and the file gets one
 *     warning naming every such column (spool_csvread_warnings()): exports
 *     carry many columns of their own.  An empty header cell and the row
 *     counter 序号 are ignored columns too, without a warning; a cell under
 *     an empty header, or past the last header, must be empty.
 *   - Consecutive rows with the same report_no are one report.  A report
 *     number that comes back after other rows ("split report") would make
 *     two records with one result_id, and downstream keeps only the first:
 *     so every part of a split report is rejected, and none of it is
 *     published.  The scan remembers up to max_tracked_reports report
 *     numbers (8 bytes each); past that, repeats of untracked ones are not
 *     detected (spool_csvread_tracking_full() says so).
 *   - Result-level cells must be equal on every row of a report; a report
 *     whose rows disagree is rejected, naming the field and both values
 *     with their lines.
 *   - A row longer than max_row_bytes (a quote that is never closed makes
 *     the rest of the file one row) and a quoted field still open at the end
 *     of the file make the file unreadable; the scan finds both before
 *     anything is published.
 *   - A report with more than max_report_rows rows is rejected.
 *   - Blank lines are skipped.  Lines are counted by line feeds, so a cell
 *     with a line break in quotes moves later rows down, as in the file.
 *
 * Skipping the scan is allowed (e.g. for a stream): then split reports are
 * not detected, and a structural problem is found only when reached.
 */
#ifndef SPOOL_CSVREAD_H
#define SPOOL_CSVREAD_H

#include <jansson.h>
#include <stddef.h>

#include "ql_result.h"

typedef struct spool_csvread_s spool_csvread_t;

typedef struct {
        ql_result_opts_t validate;  /* lab code, credit code mode */
        const char *charset;        /* the file's encoding, for messages
                                       ("GB18030"); NULL: "UTF-8" */
        size_t max_row_bytes;       /* 0: 1 MiB */
        size_t max_report_rows;     /* 0: 1000 */
        size_t max_tracked_reports; /* 0: 1,000,000 */
} spool_csvread_opts_t;

/* One report.  Everything is borrowed for the duration of the callback. */
typedef struct {
        size_t line;           /* 1-based line of the report's first row */
        const char *report_no; /* as in the file, or NULL if empty/unusable */
        json_t *doc;           /* the valid document, NULL if rejected */
        const ql_problems_t *errors;   /* why it was rejected (n > 0) */
        const ql_problems_t *warnings; /* accepted with these warnings */
} spool_csvread_rec_t;

/* Called once per report.  Return 0 to go on, non-zero to stop reading
 * (the feed call then returns SPOOL_CSVREAD_STOPPED). */
typedef int (*spool_csvread_fn)(void *arg, const spool_csvread_rec_t *rec);

typedef enum {
        SPOOL_CSVREAD_OK = 0,
        SPOOL_CSVREAD_STOPPED = 1, /* fn asked to stop */
        SPOOL_CSVREAD_BAD_FILE =
            -1, /* unreadable: see spool_csvread_problems() */
        SPOOL_CSVREAD_NOMEM = -2,
} spool_csvread_rc_t;

/* opts is copied (strings are borrowed and must outlive the reader). */
spool_csvread_t *spool_csvread_new(const spool_csvread_opts_t *opts);
void spool_csvread_destroy(spool_csvread_t *r); /* accepts NULL */

/* Pass 1 over the file's bytes, then its end. */
spool_csvread_rc_t spool_csvread_scan(spool_csvread_t *r, const char *buf,
                                      size_t len);
spool_csvread_rc_t spool_csvread_scan_end(spool_csvread_t *r);

/* Pass 2 over the same bytes, from the start; fn is called per report. */
spool_csvread_rc_t spool_csvread_feed(spool_csvread_t *r, const char *buf,
                                      size_t len, spool_csvread_fn fn,
                                      void *arg);
spool_csvread_rc_t spool_csvread_end(spool_csvread_t *r, spool_csvread_fn fn,
                                     void *arg);

/*
 * Pass 2 on two threads.  The reader that made the scan parses pass 2's
 * bytes into rows (libcsv's work), and a second reader, which adopted the
 * first one's scan, builds the reports from those rows (everything else),
 * calling fn as spool_csvread_feed() would:
 *
 *     scanning reader A                    building reader B
 *     scan()* scan_end()
 *                                          adopt_scan(B, A)
 *     feed_rows(A, bytes, rows)* ---rows--> take_rows(B, rows, fn)*
 *     end_rows(A, rows)          ---rows--> take_rows(B, rows, fn)
 *                                          take_end(B, fn)
 *
 * A and B may be used on different threads (each by one at a time); a
 * rows batch belongs to one of them at a time.  A's calls report what
 * libcsv finds (BAD_FILE for a row too long, as in feed()); B's what the
 * rows hold.  Reports come out exactly as from one reader's feed().
 */
typedef struct spool_csvread_rows_s spool_csvread_rows_t;

spool_csvread_rows_t *spool_csvread_rows_new(void);
void spool_csvread_rows_destroy(spool_csvread_rows_t *rows); /* accepts NULL */
void spool_csvread_rows_clear(
    spool_csvread_rows_t *rows); /* empty, for reuse */
size_t spool_csvread_rows_count(const spool_csvread_rows_t *rows);
size_t
spool_csvread_rows_bytes(const spool_csvread_rows_t *rows); /* cell text */

/* A, after its scan: parse pass 2's next bytes, appending the complete
 * non-blank rows to out; then the end of the file. */
spool_csvread_rc_t spool_csvread_feed_rows(spool_csvread_t *r, const char *buf,
                                           size_t len,
                                           spool_csvread_rows_t *out);
spool_csvread_rc_t spool_csvread_end_rows(spool_csvread_t *r,
                                          spool_csvread_rows_t *out);

/* B, new, made with the same options as A: take over what A's scan found
 * (A keeps parsing, but can no longer build reports itself). */
void spool_csvread_adopt_scan(spool_csvread_t *builder,
                              spool_csvread_t *scanned);

/* B: the next rows, in the order A gave them; after the last, take_end()
 * hands over the last report. */
spool_csvread_rc_t spool_csvread_take_rows(spool_csvread_t *r,
                                           const spool_csvread_rows_t *rows,
                                           spool_csvread_fn fn, void *arg);
spool_csvread_rc_t spool_csvread_take_end(spool_csvread_t *r,
                                          spool_csvread_fn fn, void *arg);

/*
 * Pass 1 in two halves, e.g. on two threads.  Reader A scans the file from
 * its start up to M, the offset just after a line feed (without
 * scan_end); reader C, made with the same options, reads the header from
 * the start of the file (fed until spool_csvread_has_header(), a line at a
 * time so that no row after the header is taken), then
 * spool_csvread_scan_resume() and scans from M to the end with scan_end.
 * spool_csvread_scan_join(A, C, &rc) then returns 1 when A now holds the
 * whole file's scan, exactly as if A had scanned it alone (rc as
 * scan_end() would have returned), or 0 when the halves cannot be joined
 * (M is inside a quoted field, a half is unfinished, a tracking limit was
 * reached): then A goes on scanning from M itself.  C is left for
 * destroying.
 */
int spool_csvread_has_header(const spool_csvread_t *r);
spool_csvread_rc_t spool_csvread_scan_resume(spool_csvread_t *r);
int spool_csvread_scan_join(spool_csvread_t *a, spool_csvread_t *c,
                            spool_csvread_rc_t *rc /* OUT */);

/* Why the file is unreadable (paths "header", messages naming columns), and
 * *line (OUT, may be NULL) the line concerned.  Empty unless a call returned
 * SPOOL_CSVREAD_BAD_FILE. */
const ql_problems_t *spool_csvread_problems(const spool_csvread_t *r,
                                            size_t *line);

/* The file's warnings: today at most one, path "header", naming the
 * columns of the header that are not in ql_csvmap's table, which were
 * ignored ("2 columns not in the table ignored: '检验员' (cell 5),
 * '抽样单编号' (cell 9)"; at most 20 named, each cut to 40 bytes, control
 * characters as '?').  *line (OUT, may be NULL) is the header's line.
 * Set when the header is read (by the scan, and again by pass 2), so the
 * scanning reader has them once its scan has taken the header.  When the
 * header makes the file unreadable, the same text is among
 * spool_csvread_problems() too. */
const ql_problems_t *spool_csvread_warnings(const spool_csvread_t *r,
                                            size_t *line);

/* After the scan: reports found split, and whether more report numbers
 * than max_tracked_reports occurred (then not every split is found). */
size_t spool_csvread_split_reports(const spool_csvread_t *r);
int spool_csvread_tracking_full(const spool_csvread_t *r);

#endif
