/*
 * consumer: the ql-triage loop.  A librdkafka balanced consumer in group
 * QL_GROUP reads QL_TOPIC; records are decoded into a batch, which is
 * written by the store in one PostgreSQL transaction together with the
 * partitions' next offsets.  Kafka's own committed offsets are only a copy
 * for tools: the truth is ql.consumer_offset.
 *
 *    assign: offsets loaded from PostgreSQL (one bounded try, else the
 *    partitions stay paused until a resync), fetch from there or from the
 *    log start if the records before it expired
 *                 |
 *                 v
 *     +------> RUNNING ---- batch full or old ----> flush
 *     |           |                                   |
 *     |           |  revoke: flush once or discard    | OK: stored offsets
 *     |           v                                   |     move, Kafka copy
 *     |        (unassigned)                           |     committed async
 *     |                                               |
 *     |   LOST (CAS failed): reload offsets, seek ----+
 *     |                                               |
 *     +-- RESYNC <--- FAULT (PostgreSQL or dead-letter Kafka): discard the
 *           |         batch, pause the partitions, back off (<= 5 s)
 *           +-------> reconnect, reload offsets, ask the log starts,
 *                     seek, resume
 *
 * triage_consumer_step() does one turn of the loop; a thread of main()
 * calls it until a signal or until it reports that --idle-exit is
 * satisfied.  A consumer is one group member: with --workers N, main()
 * runs N of them, each on its own thread with its own Kafka handle,
 * PostgreSQL connection and writer thread, sharing the codec, the log and
 * the metrics registry.  Only the metrics endpoint (lag, readiness) and
 * reload read or change a consumer from another thread.
 */
#ifndef TRIAGE_CONSUMER_H
#define TRIAGE_CONSUMER_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pgconn.h"
#include "ql_codec.h"
#include "ql_log.h"
#include "ql_metrics.h"
#include "triage_config.h"

typedef struct triage_consumer_s triage_consumer_t;

typedef struct {
        const triage_config_t *cfg; /* read at creation; may go afterwards */
        ql_log_t *lg;               /* borrowed */
        ql_metrics_t *metrics;      /* borrowed; NULL: no metrics */
        const ql_codec_t *codec;    /* borrowed */
        const triage_pgconn_t *pg;  /* borrowed */
        const volatile sig_atomic_t *run; /* main clears it to stop */
        int lead; /* the process's first member: it retries failed case
                   * derivations when idle */
        /* Shared by the process's members: how many are in bulk mode or
         * deriving the queue it left, for the log line that says when the
         * last of them is done.  NULL: this member alone. */
        atomic_int *deriving;
} triage_consumer_opts_t;

/* Connect to PostgreSQL (retrying until *run is cleared), create the
 * consumer and the dead-letter producer, subscribe.  NULL with errstr on a
 * configuration error or when stopped before PostgreSQL answered. */
triage_consumer_t *triage_consumer_new(const triage_consumer_opts_t *opts,
                                       char *errstr, size_t errstr_size);

/* One turn: poll Kafka (at most ~100 ms), flush the batch when due, keep
 * the connections alive, update lag and progress.  Returns 1 while
 * --idle-exit is satisfied: the group assignment happened and no rebalance
 * is under way (between a revocation and the next assignment a member
 * holds nothing, which is not being caught up), every partition held is
 * stored up to its high watermark, nothing arrived for idle_exit seconds.
 * Otherwise 0.  A member that is satisfied stays in the group: leaving
 * would hand its partitions round while the others still work; main()
 * stops the members together once all are. */
int triage_consumer_step(triage_consumer_t *c);

/* Apply settings SIGHUP may change (the credit code check); recategorize:
 * also re-apply the cause rules to the stored findings when next idle (one
 * consumer of the process does it).  Any thread may call it. */
void triage_consumer_reload(triage_consumer_t *c, const triage_config_t *cfg,
                            int recategorize);

/* Readiness for /readyz: Kafka and PostgreSQL both reachable; else 0 and
 * why.  Any thread may call it. */
int triage_consumer_ready(const triage_consumer_t *c, char *why,
                          size_t why_size);

/* The ql_triage_lag series of the partitions this consumer holds
 * (triage_partitions_emit_lag); any thread may call it. */
void triage_consumer_emit_lag(const triage_consumer_t *c,
                              ql_metrics_emit_fn emit, void *emit_ctx);

/* Finish the batch in flight (one attempt), leave the group, close. */
void triage_consumer_close(triage_consumer_t *c);
void triage_consumer_destroy(triage_consumer_t *c); /* accepts NULL */

/* Records that expired from the broker before they were stored, since
 * start: their number, the number of ranges (the return value) and the
 * last range as "topic/partition first..last".  Any thread may call it. */
size_t triage_consumer_expired(triage_consumer_t *c, uint64_t *records,
                               char *last, size_t last_size);

/* Totals so far. */
typedef struct {
        uint64_t records, stored, duplicates, rejected, batches, pg_errors;
} triage_totals_t;
void triage_consumer_totals(const triage_consumer_t *c,
                            triage_totals_t *out /* OUT */);

#endif
