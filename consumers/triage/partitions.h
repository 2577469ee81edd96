/*
 * partitions: the partitions this consumer holds and, for each, the offsets
 * the exactly-once bookkeeping turns on:
 *
 *     stored     next offset committed in ql.consumer_offset (-1: none)
 *     base       where the batch being built starts: stored, or the end of
 *                the batch being written (which will be stored if it
 *                commits); the batch's compare-and-set expects it
 *     position   next offset to accept from Kafka: base plus the records
 *                of the batch being built
 *     high       the partition's high watermark, as last seen
 *
 *     stored <= base <= position
 *
 * A record below `position` was accepted before (a re-delivery after a
 * seek) and is skipped.  Handing a batch to the writer moves `base` to its
 * end; its commit moves `stored` there; a failure discards every batch not
 * committed and moves `base` and `position` back to `stored`.  Lag is
 * high - stored.
 *
 * The consumer thread changes the table; the metrics thread reads it for the
 * lag series.  Every function takes the table's lock.
 */
#ifndef TRIAGE_PARTITIONS_H
#define TRIAGE_PARTITIONS_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "ql_metrics.h"

#define TRIAGE_OFFSET_NONE (-1) /* no offset stored, or watermark unknown */

typedef struct {
        int32_t partition;
        int64_t stored;
        int64_t base;
        int64_t position;
        int64_t low, high;
        int loaded; /* stored was read from PostgreSQL */
} triage_partition_t;

typedef struct triage_partitions_s triage_partitions_t;

triage_partitions_t *triage_partitions_new(const char *topic);
void triage_partitions_destroy(triage_partitions_t *t); /* accepts NULL */

/* Replace the set held with these n partitions, offsets not yet loaded.
 * 0, or -1 if memory ran out. */
int triage_partitions_assign(triage_partitions_t *t, const int32_t *ids,
                             size_t n);
size_t triage_partitions_count(triage_partitions_t *t);
/* A copy of entry i; 0, or -1 if i is out of range. */
int triage_partitions_at(triage_partitions_t *t, size_t i,
                         triage_partition_t *out /* OUT */);
/* A copy of the entry of `partition`; 0, or -1 if it is not held. */
int triage_partitions_find(triage_partitions_t *t, int32_t partition,
                           triage_partition_t *out /* OUT */);

/* The offset loaded from PostgreSQL (TRIAGE_OFFSET_NONE: none stored);
 * position follows it.  Unknown partitions are ignored. */
void triage_partitions_set_stored(triage_partitions_t *t, int32_t partition,
                                  int64_t stored);
/* Every partition not loaded: -1 if some are not, else 0. */
int triage_partitions_all_loaded(triage_partitions_t *t);

/* Decide on a record at partition/offset: 1 to take it (position moves past
 * it and *base gets where the batch being built starts on this partition),
 * 0 to skip it (not held, not loaded, or below position).  *expected gets
 * the offset that was due (0 when nothing is stored and nothing was taken
 * yet: a partition's offsets start at 0): a record beyond it means the ones
 * between are gone from the broker. */
int triage_partitions_accept(triage_partitions_t *t, int32_t partition,
                             int64_t offset, int64_t *base /* OUT */,
                             int64_t *expected /* OUT */);

/* The offsets below `offset` are gone from the broker and the fetcher goes
 * to `offset`: position moves there (never back).  The gap is the
 * caller's to record. */
void triage_partitions_skip_to(triage_partitions_t *t, int32_t partition,
                               int64_t offset);

/* A batch goes to the writer: the next batch starts where it ends. */
void triage_partitions_submit(triage_partitions_t *t, const triage_batch_t *b);
/* A batch committed: each of its partitions' stored offset moves to the
 * batch's end. */
void triage_partitions_commit(triage_partitions_t *t, const triage_batch_t *b);
/* Batches were discarded: base and position go back to stored. */
void triage_partitions_rewind(triage_partitions_t *t);

void triage_partitions_set_watermarks(triage_partitions_t *t, int32_t partition,
                                      int64_t low, int64_t high);
/* 1 when every partition held is loaded, has a known high watermark and has
 * nothing left to store: stored >= high, or nothing stored and the
 * partition empty (low >= high). */
int triage_partitions_caught_up(triage_partitions_t *t);
/* Sum of the known lags (high - stored; nothing stored counts from low). */
int64_t triage_partitions_lag(triage_partitions_t *t);
/* Records on the held partitions beyond those taken into batches, as far
 * as the high watermarks last seen tell (high - position; nothing taken
 * counts from low): 0 when everything known is in hand.  -1 if that is
 * not known of some partition (offsets not loaded, no watermark yet). */
int64_t triage_partitions_ahead(triage_partitions_t *t);

/* The ql_triage_lag gauge family in Prometheus text: its HELP and TYPE
 * lines once, then one series per partition held, from every consumer of
 * the process (see ql_metrics_add_collector). */
void triage_partitions_emit_help(ql_metrics_emit_fn emit, void *emit_ctx);
void triage_partitions_emit_lag(triage_partitions_t *t, ql_metrics_emit_fn emit,
                                void *emit_ctx);

#endif
