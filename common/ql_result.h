/*
 * ql_result: the result document (design §3) as labs send it, in JSON.
 * Validation checks every rule of the contract and reports every problem it
 * finds, each as {field path, message} with paths like "items[2].verdict" or
 * "enterprise.credit_code".  It does not stop at the first problem.
 *
 * Pure logic: no I/O.  Used by every producer, the gateway and the triage.
 */
#ifndef QL_RESULT_H
#define QL_RESULT_H

#include <jansson.h>
#include <stddef.h>

#include "ql_uscc.h"

typedef struct {
        char *field;   /* path, "" for the whole document */
        char *message; /* one sentence */
} ql_problem_t;

/* A growable list of problems.  Zero-initialise, then ql_problems_clear(). */
typedef struct {
        ql_problem_t *v;
        size_t n, cap;
} ql_problems_t;

void ql_problems_add(ql_problems_t *p, const char *field, const char *fmt,
                     ...) __attribute__((format(printf, 3, 4)));
void ql_problems_clear(ql_problems_t *p); /* frees entries, keeps it usable */

typedef struct {
        ql_uscc_mode_t uscc_mode; /* STRICT rejects failed check characters */
        const char *lab_code; /* if non-NULL, lab.code must equal it */
} ql_result_opts_t;

/* Validate doc.  Errors go to errors, warnings (e.g. a credit code accepted
 * in WARN mode) to warnings (may be NULL).  Returns the number of errors
 * added; 0 means the document may be encoded. */
size_t ql_result_validate(const json_t *doc, const ql_result_opts_t *opts,
                          ql_problems_t *errors, ql_problems_t *warnings);

/* Convenience accessors on a validated document (borrowed strings, NULL if
 * absent): "result_id", "report_no", "enterprise.credit_code", ... */
const char *ql_result_str(const json_t *doc, const char *path);

/* Check that s is valid UTF-8 (no overlongs, no surrogates).  1 if valid. */
int ql_result_utf8_valid(const char *s, size_t len);

#endif
