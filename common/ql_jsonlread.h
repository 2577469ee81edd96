/*
 * ql_jsonlread: a JSON Lines export (one result document per line) read into
 * validated documents, streaming: bytes go in in chunks of any size, one
 * document or the list of its problems comes out per non-blank line.  Only
 * the current line is held, and a line longer than max_line_bytes is not
 * held at all: it is skipped to its end and reported.  Input is UTF-8
 * (ql_charset converts other encodings first).
 *
 * Per line: blank lines (spaces, tabs, a CR) are skipped; a line that is not
 * valid UTF-8, not one JSON value (jansson, duplicate keys refused) or not
 * an object is rejected with the reason; otherwise ql_result_validate()
 * decides.
 */
#ifndef QL_JSONLREAD_H
#define QL_JSONLREAD_H

#include <jansson.h>
#include <stddef.h>

#include "ql_result.h"

typedef struct ql_jsonlread_s ql_jsonlread_t;

typedef struct {
        ql_result_opts_t validate;
        const char *charset;   /* the file's encoding, for messages */
        size_t max_line_bytes; /* 0: 4 MiB */
        /* Hand over each line's JSON object without validating it: rec.doc
         * is then the parsed object (NULL only for a line that is not one)
         * and the caller runs ql_result_validate(doc, &validate, ...)
         * itself, e.g. on another thread. */
        int unvalidated;
} ql_jsonlread_opts_t;

/* One line's record.  Everything is borrowed for the callback's duration. */
typedef struct {
        size_t line;           /* 1-based */
        const char *report_no; /* the document's, or NULL */
        json_t *doc;           /* the valid document, NULL if rejected */
        const ql_problems_t *errors;
        const ql_problems_t *warnings;
} ql_jsonlread_rec_t;

/* Return 0 to go on, non-zero to stop (the call returns
 * QL_JSONLREAD_STOPPED). */
typedef int (*ql_jsonlread_fn)(void *arg, const ql_jsonlread_rec_t *rec);

typedef enum {
        QL_JSONLREAD_OK = 0,
        QL_JSONLREAD_STOPPED = 1,
        QL_JSONLREAD_NOMEM = -2,
} ql_jsonlread_rc_t;

ql_jsonlread_t *ql_jsonlread_new(const ql_jsonlread_opts_t *opts);
void ql_jsonlread_destroy(ql_jsonlread_t *r); /* accepts NULL */

ql_jsonlread_rc_t ql_jsonlread_feed(ql_jsonlread_t *r, const char *buf,
                                    size_t len, ql_jsonlread_fn fn, void *arg);
/* The end of the input: a last line without a line feed is read too. */
ql_jsonlread_rc_t ql_jsonlread_end(ql_jsonlread_t *r, ql_jsonlread_fn fn,
                                   void *arg);

#endif
