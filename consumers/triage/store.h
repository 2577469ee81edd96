/*
 * store: ql-triage's PostgreSQL writer.  It owns the connection
 * (store_session.c: connecting, the named statements, every exchange
 * bounded in time) and writes a batch in ONE transaction (store.c), the
 * case derivation included (store_derive.c, which also retries the
 * enterprises whose derivation failed):
 *
 *     BEGIN
 *     move each touched partition's stored offset from the batch's start to
 *       its end, compare-and-set (rows in partition order: no deadlocks)
 *       -- 0 rows: another consumer owns the partition -> ROLLBACK, LOST
 *     record the batch's gaps (offsets the broker no longer had) in
 *       ql.expired_range
 *     look up which result_ids exist; COPY the new rows straight into
 *       ql.inspection_result; COPY the duplicates into a temporary table
 *       and compare their content with the stored rows (a difference is a
 *       conflicting duplicate, kept as a reject)
 *     insert the rejects into ql.rejected_record
 *     SELECT ql.retriage(credit codes of the new rows)
 *       or, for a batch in bulk mode (batch.h), only
 *       SELECT ql.register_queued(the same codes): the results stay
 *       queued in ql.triage_pending for triage_store_drain (it waits for
 *       a derivation of those enterprises in progress, but not for the
 *       drain's: 022_queue_taken)
 *     hook (the caller produces the dead letters and waits for them)
 *     COMMIT
 *
 * If PostgreSQL refuses a row (a value out of a column's range, a check, an
 * error raised by ql.retriage), the transaction is rolled back and redone
 * row by row under savepoints: a refused row becomes an UNSTORABLE reject,
 * a failed retriage of one enterprise is recorded in ql.derivation_failure
 * (and retried later, see triage_store_retry_derivations), the rest
 * commits.  So one bad record never stalls a partition.  Anything else
 * (connection lost, server restarting, serialization failure, a statement
 * over the time limit) rolls back and is reported as a fault; the caller
 * reconnects and re-reads from the stored offsets.
 *
 * Every wait is bounded.  The session runs with statement_timeout set, and
 * the client itself gives up on a statement that got no answer within the
 * timeout plus min(timeout, 5 s) -- a server that is frozen or cut off
 * cannot enforce its own timeout -- by dropping the connection: the
 * transaction is then lost on both sides, and the compare-and-set on the
 * stored offsets makes whatever the server may still have committed count
 * once.  Connecting is bounded the same way (min(that bound, 10 s)).
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
#include "pgconn.h"
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

/* A store for consumer group `group` on `topic`, connecting with pg and
 * statement_timeout set to statement_timeout_ms.  Nothing is connected yet.
 * pg and lg are borrowed and must outlive the store. */
triage_store_t *triage_store_new(const triage_pgconn_t *pg, const char *group,
                                 const char *topic, int statement_timeout_ms,
                                 ql_log_t *lg);
void triage_store_destroy(triage_store_t *s); /* accepts NULL */

/* Connect (dropping any old connection) and prepare the session: UTF-8,
 * the staging table, the statements.  0, or -1 with errstr; *fatal set when
 * retrying cannot help (the database is not UTF8, the schema lacks a table
 * or function ql-triage uses: the migrations up to 020_triage_faults are
 * all needed). */
int triage_store_connect(triage_store_t *s, int *fatal /* OUT */, char *errstr,
                         size_t errstr_size);
int triage_store_connected(const triage_store_t *s);
void triage_store_disconnect(triage_store_t *s);
/* A round trip to check the connection; a failure disconnects. */
int triage_store_ping(triage_store_t *s, char *errstr, size_t errstr_size);

/* Re-apply the cause rules (ql.cause_rule, edited by an administrator) to
 * every finding and re-derive the plans that changed: ql.recategorize().
 * *changed gets the number of findings recategorized.  Only when no batch
 * is being written. */
int triage_store_recategorize(triage_store_t *s, long *changed, char *errstr,
                              size_t errstr_size);
/* "host=... port=... dbname=... user=..." of the connection (never the
 * password), for log lines. */
const char *triage_store_describe(const triage_store_t *s);

/* Read the stored offsets of every partition t holds (none stored:
 * TRIAGE_OFFSET_NONE) into t.  0, or -1 with errstr (a fault). */
int triage_store_load_offsets(triage_store_t *s, triage_partitions_t *t,
                              char *errstr, size_t errstr_size);

/* What a committed write did besides storing rows. */
typedef struct {
        size_t derivation_failures; /* enterprises recorded as failed */
} triage_store_stats_t;

/* Write the batch as described above.  On OK every row of b is marked NEW,
 * DUPLICATE or REJECTED, b's rejects are what was stored and *stats says
 * what else the transaction did. */
triage_store_rc_t triage_store_write(triage_store_t *s, triage_batch_t *b,
                                     triage_store_hook_fn hook, void *hook_arg,
                                     triage_store_stats_t *stats /* OUT */,
                                     char *errstr, size_t errstr_size);

/* Retry up to `max` failed case derivations that are due (an enterprise's
 * n-th attempt waits 5 s * 2^(n-1), at most an hour, after the last one),
 * each in its own transaction, starting none after budget_ms: a success
 * marks its ql.derivation_failure row resolved, a failure counts the
 * attempt.  Only when no batch is being written.  0 with the counts, or -1
 * with errstr (a fault: the rest waits for the next call). */
typedef struct {
        size_t retried, resolved, failed;
        size_t open; /* rows left unresolved, all enterprises */
} triage_retry_stats_t;
int triage_store_retry_derivations(triage_store_t *s, int max, int budget_ms,
                                   triage_retry_stats_t *out /* OUT */,
                                   char *errstr, size_t errstr_size);

/* Derive the queued enterprises (bulk mode's backlog, or a queue a crash
 * left): chunks of up to max_codes enterprises, each taken with
 * ql.pending_enterprises (locked for its transaction; those another member
 * derives, or whose derivation is failing, are left) and derived with
 * ql.derive_queued in one transaction (bulk batches of other members go on
 * meanwhile; what they queue for these enterprises is left for the next
 * chunk); a chunk the case rules refuse is redone
 * one enterprise at a time, a failing one recorded in
 * ql.derivation_failure as for a batch.  Starts no chunk after budget_ms.
 * Only when no batch is being written.  0 with the counts (out->empty: the
 * queue had nothing more for this member), or -1 with errstr. */
typedef struct {
        size_t chunks, derived, failed;
        int empty;
} triage_drain_stats_t;
int triage_store_drain(triage_store_t *s, int max_codes, int budget_ms,
                       triage_drain_stats_t *out /* OUT */, char *errstr,
                       size_t errstr_size);

#endif
