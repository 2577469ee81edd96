/*
 * store: ql-triage's PostgreSQL writer.  It owns the connection and writes a
 * batch in ONE transaction:
 *
 *     BEGIN
 *     move each touched partition's stored offset from the batch's start to
 *       its end, compare-and-set (rows in partition order: no deadlocks)
 *       -- 0 rows: another consumer owns the partition -> ROLLBACK, LOST
 *     look up which result_ids exist; COPY the new rows straight into
 *       ql.inspection_result; COPY the duplicates into a temporary table
 *       and compare their content with the stored rows (a difference is a
 *       conflicting duplicate, kept as a reject)
 *     insert the rejects into ql.rejected_record
 *     SELECT ql.retriage(credit codes of the new rows)   (if it exists)
 *     hook (the caller produces the dead letters and waits for them)
 *     COMMIT
 *
 * If PostgreSQL refuses a row (a value out of a column's range, a check, an
 * error raised by ql.retriage), the transaction is rolled back and redone
 * row by row under savepoints: a refused row becomes an UNSTORABLE reject,
 * a failed retriage of one enterprise is logged, the rest commits.  So one
 * bad record never stalls a partition.  Anything else (connection lost,
 * server restarting, serialization failure) rolls back and is reported as a
 * fault; the caller reconnects and re-reads from the stored offsets.
 *
 * The COPY straight into the table is what makes the writer nearly as fast
 * as a plain COPY; a concurrent writer inserting one of the same result_ids
 * between the look-up and the COPY makes the COPY fail, and the row-by-row
 * path (INSERT ... ON CONFLICT DO NOTHING) then settles it.
 */
#ifndef TRIAGE_STORE_H
#define TRIAGE_STORE_H

#include <stddef.h>

#include "batch.h"
#include "partitions.h"
#include "ql_log.h"

typedef struct triage_store_s triage_store_t;

typedef enum {
        TRIAGE_STORE_OK = 0,
        TRIAGE_STORE_LOST = 1,   /* a partition's stored offset moved on */
        TRIAGE_STORE_FAULT = -1, /* PostgreSQL failed; rolled back */
        TRIAGE_STORE_HOOK = -2,  /* the hook refused; rolled back */
} triage_store_rc_t;

/* Called inside the transaction just before COMMIT, when the batch's
 * rejects are final.  Return 0 to commit; anything else rolls back. */
typedef int (*triage_store_hook_fn)(void *arg, const triage_batch_t *b,
                                    char *errstr, size_t errstr_size);

/* A store for consumer group `group` on `topic`.  Nothing is connected
 * yet.  lg is borrowed and must outlive the store. */
triage_store_t *triage_store_new(const char *conninfo, const char *group,
                                 const char *topic, ql_log_t *lg);
void triage_store_destroy(triage_store_t *s); /* accepts NULL */

/* Connect (dropping any old connection) and prepare the session: UTF-8,
 * the staging table, the statements, whether ql.retriage exists.  0, or -1
 * with errstr; *fatal set when retrying cannot help (the database is not
 * UTF8, the schema is missing). */
int triage_store_connect(triage_store_t *s, int *fatal /* OUT */, char *errstr,
                         size_t errstr_size);
int triage_store_connected(const triage_store_t *s);
void triage_store_disconnect(triage_store_t *s);
/* A round trip to check the connection; a failure disconnects. */
int triage_store_ping(triage_store_t *s, char *errstr, size_t errstr_size);

/* Re-apply the cause rules (ql.cause_rule, edited by an administrator) to
 * every finding and re-derive the plans that changed: ql.recategorize().
 * *changed gets the number of findings recategorized (0 when the database
 * has no triage functions).  Only when no batch is being written. */
int triage_store_recategorize(triage_store_t *s, long *changed, char *errstr,
                              size_t errstr_size);
/* "host=... port=... dbname=... user=..." of the connection (never the
 * password), for log lines. */
const char *triage_store_describe(const triage_store_t *s);
int triage_store_has_retriage(const triage_store_t *s);

/* Read the stored offsets of every partition t holds (none stored:
 * TRIAGE_OFFSET_NONE) into t.  0, or -1 with errstr (a fault). */
int triage_store_load_offsets(triage_store_t *s, triage_partitions_t *t,
                              char *errstr, size_t errstr_size);

/* Write the batch as described above.  On OK every row of b is marked NEW,
 * DUPLICATE or REJECTED and b's rejects are what was stored. */
triage_store_rc_t triage_store_write(triage_store_t *s, triage_batch_t *b,
                                     triage_store_hook_fn hook, void *hook_arg,
                                     char *errstr, size_t errstr_size);

#endif
