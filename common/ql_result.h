/*
 * ql_result: the result document (README.md, "The record") as labs send it, in
 * JSON. Validation checks every rule of the contract and reports every problem
 * it finds, each as {field path, message} with paths like "items[2].verdict" or
 * "enterprise.credit_code".  It does not stop at the first problem.
 *
 * Pure logic: no I/O.  Used by every producer, the gateway and the triage.
 *
 * Rules beyond the field types of the newest schema,
 * schemas/avro/inspection_result.v2.avsc (a document of an older version's
 * shape is valid too: the fields added since are optional):
 *   - every field the schema declares non-null must be present; nullable
 *     fields may be null, absent or (for strings) any string, "" included;
 *   - required strings must not be empty or blank; no string may hold a NUL
 *     character or invalid UTF-8;
 *   - enterprise.address and manufacturer.address hold at most 256
 *     characters (code points), enterprise.contact at most 128;
 *   - a field the schema does not know is an error naming it (a lab's typo
 *     must not be dropped silently);
 *   - enums are exactly the contract's symbols (case matters);
 *   - sampled_on is a real YYYY-MM-DD date, reported_at ISO 8601 with an
 *     offset (ql_time.h);
 *   - result_id is "<lab.code>:<report_no>";
 *   - credit codes (enterprise's, and the manufacturer's when not null) pass
 *     ql_uscc_check(); a failed check character is an error in STRICT mode,
 *     a warning in WARN mode; a format error is always an error;
 *   - region codes are 6 ASCII digits;
 *   - RECHECK and RETEST need a non-empty refers_to naming another result;
 *     SUPERVISION must have refers_to null or absent (a supervision result
 *     is an original, and a lab that sets refers_to has most likely got the
 *     kind wrong; the triage would otherwise treat it as an original);
 *   - items is non-empty unless verdict is REFUSED; NONCONFORMING needs at
 *     least one FAIL item; CONFORMING and REFUSED must have none;
 *   - lab.code equals opts->lab_code when that is given.
 * One warning (never an error): reported_at's local date before sampled_on.
 *
 * Paths: object members joined with '.', array elements as "[i]" with i
 * counted from 0, "" for the whole document.  Messages are one lowercase
 * sentence without the path; quoted values are cut to about 60 bytes.  Both
 * are always valid UTF-8, so they can go into a JSON reply as they are.
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

/* Append a problem (copies field and the formatted message; invalid UTF-8
 * in either becomes '?').  p may be NULL (nothing happens).  If memory runs
 * out the entry is dropped; ql_result_validate() counts errors itself, so a
 * dropped entry never turns a rejection into an acceptance. */
void ql_problems_add(ql_problems_t *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ql_problems_clear(ql_problems_t *p); /* frees entries, keeps it usable */

typedef struct {
        ql_uscc_mode_t uscc_mode; /* STRICT rejects failed check characters */
        const char *lab_code;     /* if non-NULL, lab.code must equal it */
} ql_result_opts_t;

/* Validate doc.  Errors go to errors, warnings (e.g. a credit code accepted
 * in WARN mode) to warnings; either may be NULL (then those problems are
 * only counted, or dropped).  opts may be NULL: STRICT, any lab.  Returns the
 * number of errors found; 0 means the document may be encoded. */
size_t ql_result_validate(const json_t *doc, const ql_result_opts_t *opts,
                          ql_problems_t *errors, ql_problems_t *warnings);

/* Convenience accessors on a validated document (borrowed strings, NULL if
 * absent or not a string): "result_id", "report_no",
 * "enterprise.credit_code", "items[2].name", ... */
const char *ql_result_str(const json_t *doc, const char *path);

/* Check that s is valid UTF-8 (no overlongs, no surrogates, nothing above
 * U+10FFFF).  1 if valid.  For raw input such as CSV fields; strings jansson
 * parsed are valid already. */
int ql_result_utf8_valid(const char *s, size_t len);

#endif
