/*
 * spool_jsonlread: a JSON Lines export (one result document per line) read into
 * validated documents, streaming: bytes go in in chunks of any size, one
 * document or the list of its problems comes out per non-blank line.  Only
 * the current line is held, and a line longer than max_line_bytes is not
 * held at all: it is skipped to its end and reported.  Input is UTF-8
 * (spool_charset converts other encodings first).
 *
 * Per line: blank lines (spaces, tabs, a CR) are skipped; a line that is not
 * valid UTF-8, not one JSON value (jansson, duplicate keys refused) or not
 * an object is rejected with the reason; otherwise ql_result_validate()
 * decides.
 */
#ifndef SPOOL_JSONLREAD_H
#define SPOOL_JSONLREAD_H

#include <jansson.h>
#include <stddef.h>

#include "ql_result.h"

typedef struct spool_jsonlread_s spool_jsonlread_t;

typedef struct {
        ql_result_opts_t validate;
        const char *charset;   /* the file's encoding, for messages */
        size_t max_line_bytes; /* 0: 4 MiB */
} spool_jsonlread_opts_t;

/* One line's record.  Everything is borrowed for the callback's duration. */
typedef struct {
        size_t line;           /* 1-based */
        const char *report_no; /* the document's, or NULL */
        json_t *doc;           /* the valid document, NULL if rejected */
        const ql_problems_t *errors;
        const ql_problems_t *warnings;
} spool_jsonlread_rec_t;

/* Return 0 to go on, non-zero to stop (the call returns
 * SPOOL_JSONLREAD_STOPPED). */
typedef int (*spool_jsonlread_fn)(void *arg, const spool_jsonlread_rec_t *rec);

typedef enum {
        SPOOL_JSONLREAD_OK = 0,
        SPOOL_JSONLREAD_STOPPED = 1,
        SPOOL_JSONLREAD_NOMEM = -2,
} spool_jsonlread_rc_t;

spool_jsonlread_t *spool_jsonlread_new(const spool_jsonlread_opts_t *opts);
void spool_jsonlread_destroy(spool_jsonlread_t *r); /* accepts NULL */

spool_jsonlread_rc_t spool_jsonlread_feed(spool_jsonlread_t *r, const char *buf,
                                          size_t len, spool_jsonlread_fn fn,
                                          void *arg);
/* The end of the input: a last line without a line feed is read too. */
spool_jsonlread_rc_t spool_jsonlread_end(spool_jsonlread_t *r,
                                         spool_jsonlread_fn fn, void *arg);

/*
 * Reading on several threads.  Lines do not depend on each other, so one
 * reader can split the input into whole lines (memchr's work) and others
 * parse and validate them (jansson's), each a batch at a time; a line too
 * long is not held, only marked, and comes out rejected as from feed().
 *
 *     splitting reader S                  reading readers R1, R2, ...
 *     split(S, bytes, 0, lines)* --lines--> take_lines(Ri, lines, fn)
 *     split(S, bytes, 1, lines)  --lines--> take_lines(Ri, lines, fn)
 *
 * The records of each batch come out as feed() would give them, with the
 * file's line numbers; putting batches back in order is the caller's.
 * Each reader is used by one thread at a time.
 */
typedef struct spool_jsonlread_lines_s spool_jsonlread_lines_t;

spool_jsonlread_lines_t *spool_jsonlread_lines_new(void);
void spool_jsonlread_lines_destroy(
    spool_jsonlread_lines_t *lines); /* NULL ok */
size_t spool_jsonlread_lines_count(const spool_jsonlread_lines_t *lines);
size_t spool_jsonlread_lines_bytes(const spool_jsonlread_lines_t *lines);

/* S: append the next bytes' whole lines to out (end: the input ends after
 * these bytes, so a last line without a line feed is one too). */
spool_jsonlread_rc_t spool_jsonlread_split(spool_jsonlread_t *r,
                                           const char *buf, size_t len, int end,
                                           spool_jsonlread_lines_t *out);

/* Ri: read the lines as feed() would; fn per non-blank line. */
spool_jsonlread_rc_t
spool_jsonlread_take_lines(spool_jsonlread_t *r,
                           const spool_jsonlread_lines_t *lines,
                           spool_jsonlread_fn fn, void *arg);

#endif
