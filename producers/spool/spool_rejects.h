/*
 * spool_rejects: the errors list of one spool file, rejected/NAME.errors.jsonl,
 * one JSON object a line:
 *
 *     {"line": 12, "report_no": "XM2025-0012", "error": "field: message; ..."}
 *
 * `line` is the 1-based line of the file where the record starts,
 * `report_no` the record's report number or null when it has none, `error`
 * every problem of the record as "field: message" joined with "; " (a
 * problem of the whole record has no "field: ").  Lines are written as the
 * records are read, to a temporary file in rejected/ (so a file with a
 * million bad records needs no memory for them), and the list appears under
 * its name only when committed (rename), or not at all when discarded.
 */
#ifndef SPOOL_REJECTS_H
#define SPOOL_REJECTS_H

#include <stddef.h>

#include "ql_result.h"

typedef struct spool_rejects_s spool_rejects_t;

/* The list for incoming/NAME, kept in the directory dirfd (rejected/).
 * Nothing is created before the first spool_rejects_add(). */
spool_rejects_t *spool_rejects_new(int dirfd, const char *name);
/* Discards an uncommitted list.  Accepts NULL. */
void spool_rejects_destroy(spool_rejects_t *rj);

/* Append a record's entry.  report_no may be NULL.  -1 with errstr on a
 * write error. */
int spool_rejects_add(spool_rejects_t *rj, size_t line, const char *report_no,
                      const ql_problems_t *errors, char *errstr,
                      size_t errstr_size);

size_t spool_rejects_count(const spool_rejects_t *rj);

/* "field: message; field: message" for a record's problems: a malloc'ed
 * string you own, or NULL if memory ran out. */
char *spool_rejects_join(const ql_problems_t *errors);

/* Flush and sync the list and give it its name in the directory, never
 * replacing a file: -1 with errno EEXIST if `final` is taken (the list stays
 * uncommitted), -1 with errstr on other errors.  Nothing to do if empty. */
int spool_rejects_commit(spool_rejects_t *rj, const char *final, char *errstr,
                         size_t errstr_size);

/* Rename src to dst (both relative to their dirfds) unless dst exists:
 * renameat2(RENAME_NOREPLACE), or link+unlink where that is unsupported.
 * -1 with errno set (EEXIST when dst is taken). */
int spool_rename_noreplace(int srcfd, const char *src, int dstfd,
                           const char *dst);

#endif
