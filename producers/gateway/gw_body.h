/*
 * gw_body: what a push request's body means, apart from HTTP and Kafka.  It
 * parses the body as JSON (duplicate keys rejected), accepts one result
 * document or an array of them, validates every record (ql_result.h) and
 * checks every record's lab against the token's, and decides the answer:
 *
 *   415  not JSON: a syntax error, a truncated or empty body, invalid UTF-8
 *   400  JSON, but not acceptable: nesting deeper than jansson's limit,
 *        duplicate keys, "\u0000" in a string, numbers too large, a scalar
 *        instead of a document or array, an empty array, or records that
 *        fail validation (every problem listed with the record's index)
 *   413  more records than max_records
 *   403  every record valid, but one names another lab than the token's
 *     0  every record valid and the token lab's: publish them
 *
 * Error bodies are {"message": "<sentence>", "errors": [{"index": i,
 * "field": "...", "error": "..."}]}; "index" is null for a problem of the
 * body as a whole.  Pure logic: no I/O, safe on any thread.
 */
#ifndef GW_BODY_H
#define GW_BODY_H

#include <jansson.h>
#include <stddef.h>

#include "ql_uscc.h"

/* At most this many problems are listed in one answer. */
#define GW_BODY_MAX_ERRORS 1000

typedef struct {
        const char *lab_code; /* the token's lab */
        ql_uscc_mode_t uscc_mode;
        size_t max_records;
} gw_body_opts_t;

typedef struct {
        int status;       /* 0 (publish) or the HTTP status to answer */
        json_t *records;  /* status 0: array of the documents (you own it) */
        json_t *reply;    /* status != 0: the error body (you own it) */
        json_t *warnings; /* status 0: NULL or array of {index, field,
                             warning} to pass on in the 202 (you own it) */
        size_t nrecords;  /* records in the body, when it parsed */
        size_t nerrors;   /* problems found (400, 403) */
} gw_body_result_t;

/* Judge a request body of len bytes (need not be NUL-terminated).  Fills
 * *out; free its members with gw_body_result_clear(). */
void gw_body_check(const char *body, size_t len, const gw_body_opts_t *opts,
                   gw_body_result_t *out /* OUT */);
void gw_body_result_clear(gw_body_result_t *r);

/* {"message": <printf text>}: a new reference you own (NULL if out of
 * memory). */
json_t *gw_body_message(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
