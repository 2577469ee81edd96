/*
 * consumer: the loop drawn in consumer.h.  The invariant everything here
 * protects: a record reaches a batch only if its offset is at or past the
 * partition's position, and a partition's position only ever moves back to
 * its stored offset together with a seek of the Kafka fetcher to that same
 * offset (rd_kafka_seek_partitions with a timeout, which purges what was
 * fetched before).  So every offset from stored onwards reaches a batch
 * exactly once per attempt, and the store's compare-and-set makes exactly
 * one attempt count.
 *
 * Two batches take turns: one fills on this thread while the writer thread
 * stores the other.  The filling batch starts where the one being written
 * ends (partitions.h: base); if that one fails, both are discarded.
 *
 * Position moves forward past offsets that are not there only in two
 * ways, both exact: a record arrives beyond the position (the ones between
 * are gone: a gap, from the position to the record), or, before the
 * fetcher is sent somewhere (assignment, resync), the partition's log
 * start is asked for and found past the position (a gap up to it, and the
 * fetcher goes to the log start: nothing below it can arrive after that).
 * A gap travels in the batch like a record, so the batch's transaction
 * records it in ql.expired_range with the offset move.
 *
 * Nothing here waits on PostgreSQL without a bound (store.h), and the
 * rebalance callback tries it once: partitions whose offsets it could not
 * read are assigned paused and picked up by the resync.
 *
 * This file is the loop: records into the filling batch, batches to the
 * writer and their outcome acted on, the periodic work between batches.
 * The positions' side (assignment, resync) is consumer_assign.c; building
 * a member, consumer_setup.c.
 */
#include "consumer.h"
#include "consumer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer_private.h"
#include "ql_kafka.h"
#include "record.h"
#include "ql_util.h"

/* Copy the committed offsets to Kafka's group offsets, for tools. */
static void commit_to_kafka(triage_consumer_t *c, const triage_batch_t *b)
{
        size_t n = triage_batch_part_count(b);
        if (!n)
                return;
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new((int)n);
        for (size_t i = 0; i < n; i++) {
                const triage_batch_part_t *p = triage_batch_part(b, i);
                rd_kafka_topic_partition_list_add(l, c->topic, p->partition)
                    ->offset = p->end;
        }
        rd_kafka_commit(c->rk, l, 1);
        rd_kafka_topic_partition_list_destroy(l);
}

static void count_batch(triage_consumer_t *c, const triage_batch_t *b,
                        double seconds)
{
        uint64_t records = triage_batch_records(b),
                 stored = triage_batch_count(b, TRIAGE_ROW_NEW),
                 dups = triage_batch_count(b, TRIAGE_ROW_DUPLICATE),
                 rejected = triage_batch_reject_count(b);
        /* A conflicting duplicate is counted as a duplicate and a reject. */
        for (size_t i = 0; i < triage_batch_reject_count(b); i++)
                if (triage_batch_reject(b, i)->kind == TRIAGE_REJECT_CONFLICT)
                        dups++;
        c->totals.records += records;
        c->totals.stored += stored;
        c->totals.duplicates += dups;
        c->totals.rejected += rejected;
        c->totals.batches++;
        ql_counter_add(c->m_records, records);
        ql_counter_add(c->m_stored, stored);
        ql_counter_add(c->m_duplicates, dups);
        ql_counter_add(c->m_rejected, rejected);
        ql_counter_add(c->m_batches, 1);
        ql_histogram_observe(c->m_batch_seconds, seconds);
        for (size_t i = 0; i < triage_batch_reject_count(b); i++) {
                const triage_reject_t *j = triage_batch_reject(b, i);
                if (j->kind == TRIAGE_REJECT_CONFLICT ||
                    j->kind == TRIAGE_REJECT_UNSTORABLE)
                        ql_warn(c->lg,
                                "%s/%" PRId32 "/%" PRId64
                                " result_id=%s rejected (%s): %s",
                                c->topic, j->partition, j->offset,
                                j->result_id ? j->result_id : "?",
                                triage_reject_kind_name(j->kind), j->error);
        }
        ql_debug(c->lg,
                 "batch stored: %" PRIu64 " records, %" PRIu64 " new, %" PRIu64
                 " duplicates, %" PRIu64 " rejected in %.3f s",
                 records, stored, dups, rejected, seconds);
}

/* What a committed batch did besides storing records: the gaps it
 * recorded (said here, once committed), the dead letters Kafka refused for
 * good or that were cut to fit, the case derivations that failed. */
static void count_extras(triage_consumer_t *c, const triage_batch_t *b,
                         const triage_writer_result_t *res)
{
        for (size_t i = 0; i < triage_batch_gap_count(b); i++) {
                const triage_gap_t *g = triage_batch_gap(b, i);
                uint64_t n = (uint64_t)(g->last - g->first + 1);
                ql_error(c->lg,
                         "%s/%" PRId32 ": offsets %" PRId64 "..%" PRId64
                         " (%" PRIu64
                         " records) expired from the broker (retention) "
                         "before they were stored; recorded in "
                         "ql.expired_range",
                         c->topic, g->partition, g->first, g->last, n);
                ql_counter_add(c->m_expired, n);
                pthread_mutex_lock(&c->expired_lock);
                c->expired += n;
                c->expired_ranges++;
                snprintf(c->expired_last, sizeof(c->expired_last),
                         "%s/%" PRId32 " %" PRId64 "..%" PRId64, c->topic,
                         g->partition, g->first, g->last);
                pthread_mutex_unlock(&c->expired_lock);
        }
        ql_counter_add(c->m_dlq_failures, res->dead.skipped);
        ql_counter_add(c->m_dlq_truncated, res->dead.truncated);
        ql_counter_add(c->m_derivation_failures,
                       res->stats.derivation_failures);
}

/* Act on a written batch: count it and move the stored offsets, or, if it
 * failed, discard it and the batch filling behind it and go back to the
 * stored offsets (`revoking`: the partitions are going anyway, so no
 * resync).  The batch returns to the pool.  0 when it committed. */
static int handle(triage_consumer_t *c, triage_writer_result_t *res,
                  int revoking)
{
        triage_batch_t *b = res->batch;
        c->spare = b;
        atomic_store(&c->pg_ok, res->connected);
        if (res->rc == TRIAGE_STORE_OK) {
                count_batch(c, b, res->seconds);
                count_extras(c, b, res);
                triage_partitions_commit(c->parts, b);
                commit_to_kafka(c, b);
                triage_batch_reset(b);
                c->backoff_ms = BACKOFF_MIN_MS;
                return 0;
        }
        size_t lost = triage_batch_records(b) + triage_batch_records(c->batch);
        if (res->rc == TRIAGE_STORE_LOST) {
                ql_counter_add(c->m_lost, 1);
                ql_warn(c->lg,
                        "batch rolled back, %zu records to re-read: %s "
                        "(another consumer took the partition)",
                        lost, res->error);
        } else {
                if (res->rc == TRIAGE_STORE_FAULT) {
                        c->totals.pg_errors++;
                        ql_counter_add(c->m_pg_errors, 1);
                }
                ql_error(c->lg, "batch rolled back, %zu records to re-read: %s",
                         lost, res->error);
        }
        triage_batch_reset(b);
        triage_batch_reset(c->batch);
        if (revoking) {
                triage_partitions_rewind(c->parts);
                return -1;
        }
        consumer_start_resync(c);
        if (res->rc == TRIAGE_STORE_LOST)
                c->resync_at = ql_util_mono_ms(); /* no need to wait */
        return -1;
}

/* Wait for the batch in flight, if any, and act on it.  0 unless it
 * failed. */
int consumer_drain(triage_consumer_t *c, int revoking)
{
        triage_writer_result_t res;
        if (!triage_writer_collect(c->writer, -1, &res))
                return 0;
        return handle(c, &res, revoking);
}

/* Lag figures from the watermarks librdkafka keeps from its fetches. */
static void cached_watermarks(triage_consumer_t *c)
{
        size_t n = triage_partitions_count(c->parts);
        for (size_t i = 0; i < n; i++) {
                triage_partition_t p;
                if (triage_partitions_at(c->parts, i, &p))
                        break;
                int64_t lo = -1, hi = -1;
                if (rd_kafka_get_watermark_offsets(c->rk, c->topic, p.partition,
                                                   &lo, &hi) ==
                        RD_KAFKA_RESP_ERR_NO_ERROR &&
                    hi >= 0)
                        triage_partitions_set_watermarks(c->parts, p.partition,
                                                         lo, hi);
        }
}

/* Bulk mode on or off, from this member's lag (the stored offsets against
 * the high watermarks of the fetcher's last answers): on at bulk_lag;
 * off once caught up, that is with every record the watermarks tell of
 * taken into a batch (the one about to be submitted, or the one being
 * stored when nothing is filling), or once the lag has stayed below half
 * the mark for BULK_TAIL_MS (records keep coming as fast as they are
 * stored).  Whether the batch about to be submitted is stored in bulk: it
 * is when bulk mode ends with it, so that the last of a backlog is derived
 * by the drain too and no batch after it derives per batch.  Leaving at
 * half the mark stored the last thousands of a replay batch by batch, and
 * each such batch derived its enterprises' whole queue left by the bulk
 * batches (FOR UPDATE, waiting for the drain's chunks). */
static int choose_mode(triage_consumer_t *c)
{
        if (!c->bulk_lag)
                return 0;
        int was = c->bulk;
        /* Those of the last fetch: the first batches of a backlog are
         * stored in bulk too, before the periodic refresh has run. */
        cached_watermarks(c);
        int64_t lag = triage_partitions_lag(c->parts);
        int64_t now = ql_util_mono_ms();
        if (!c->bulk && lag >= c->bulk_lag) {
                c->bulk = 1;
                c->tail_since = 0;
                if (!c->counted && c->deriving) {
                        atomic_fetch_add(c->deriving, 1);
                        c->counted = 1;
                }
                ql_info(c->lg,
                        "bulk mode: lag %" PRId64 " records >= %" PRId64
                        ": batches register their enterprises only; the "
                        "cases are derived from the queue once caught up",
                        lag, c->bulk_lag);
        } else if (c->bulk) {
                int caught_up = triage_partitions_ahead(c->parts) == 0;
                if (lag >= c->bulk_lag / 2)
                        c->tail_since = 0;
                else if (!c->tail_since)
                        c->tail_since = now;
                if (caught_up ||
                    (c->tail_since && now - c->tail_since >= BULK_TAIL_MS)) {
                        c->bulk = 0;
                        c->bulk_done = 1;
                        /* The batch in the writer first (the drain looks
                         * when none is pending, or after this long). */
                        c->next_drain = now + DRAIN_OVERDUE_MS;
                        ql_info(c->lg,
                                "bulk mode ends: lag %" PRId64
                                " records (%s); deriving the queued "
                                "enterprises",
                                lag,
                                caught_up ? "caught up"
                                          : "below half the mark for 5 s");
                }
        }
        ql_gauge_set(c->m_bulk, c->bulk);
        if (c->bulk)
                c->queued = 1;
        return was || c->bulk;
}

/* Hand the filling batch to the writer and start filling the spare one.
 * The writer must be idle. */
static void submit(triage_consumer_t *c)
{
        triage_batch_set_bulk(c->batch, choose_mode(c));
        triage_partitions_submit(c->parts, c->batch);
        triage_writer_submit(c->writer, c->batch);
        c->batch = c->spare;
        c->spare = NULL;
}

/* Store everything taken so far, now.  0 when all of it committed. */
int consumer_flush_now(triage_consumer_t *c, int revoking)
{
        int rc = consumer_drain(c, revoking);
        if (!rc && triage_batch_pending(c->batch) && !c->resync) {
                submit(c);
                rc = consumer_drain(c, revoking);
        }
        return rc;
}

int triage_consumer_ready(const triage_consumer_t *c, char *why,
                          size_t why_size)
{
        int k = atomic_load(&c->kafka_ok), p = atomic_load(&c->pg_ok);
        if (!k || !p)
                snprintf(why, why_size, "%s%s%s", k ? "" : "kafka unreachable",
                         !k && !p ? ", " : "",
                         p ? "" : "postgresql unreachable");
        return k && p;
}

/* A message from the consumer queue. */
static void take(triage_consumer_t *c, rd_kafka_message_t *m)
{
        if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        ql_warn(c->lg, "kafka: %s", rd_kafka_message_errstr(m));
                return;
        }
        atomic_store(&c->kafka_ok, 1);
        int64_t start, expected;
        if (c->resync || strcmp(rd_kafka_topic_name(m->rkt), c->topic) ||
            !triage_partitions_accept(c->parts, m->partition, m->offset, &start,
                                      &expected))
                return;
        int64_t now = ql_util_mono_ms();
        c->last_activity = now;
        if (!triage_batch_pending(c->batch))
                c->batch_started = now;
        /* The fetcher skipped offsets: they expired before they were
         * stored (typically after a fetch found its offset out of range
         * and librdkafka went on from the log start).  The gap is said
         * when its batch commits. */
        if (m->offset > expected &&
            triage_batch_add_gap(c->batch, m->partition, expected,
                                 m->offset - 1, start)) {
                ql_error(c->lg,
                         "%s/%" PRId32 "/%" PRId64
                         ": out of memory; re-reading the batch",
                         c->topic, m->partition, m->offset);
                consumer_drain(c, 0);
                if (!c->resync)
                        consumer_start_resync(c);
                return;
        }

        triage_record_t rec;
        triage_reject_kind_t kind;
        char err[1024];
        int rc = triage_record_decode(
            c->codec, (ql_uscc_mode_t)atomic_load(&c->uscc_mode), m->payload,
            m->len, &rec, &kind, err, sizeof(err));
        int added;
        if (rc == 0) {
                if (rec.warnings)
                        ql_warn(c->lg,
                                "%s/%" PRId32 "/%" PRId64
                                " result_id=%s accepted with warnings: %s",
                                c->topic, m->partition, m->offset,
                                rec.row.result_id, rec.warnings);
                added = triage_batch_add_row(c->batch, m->partition, m->offset,
                                             start, m->key, m->key_len,
                                             m->payload, m->len, &rec.row);
        } else {
                ql_warn(c->lg,
                        "%s/%" PRId32 "/%" PRId64 "%s%s rejected (%s): %s",
                        c->topic, m->partition, m->offset,
                        rec.row.result_id ? " result_id=" : "",
                        rec.row.result_id ? rec.row.result_id : "",
                        triage_reject_kind_name(kind), err);
                added = triage_batch_add_reject(c->batch, m->partition,
                                                m->offset, start, m->key,
                                                m->key_len, m->payload, m->len,
                                                kind, rec.row.result_id, err);
        }
        triage_record_clear(&rec);
        if (added) {
                ql_error(c->lg,
                         "%s/%" PRId32 "/%" PRId64
                         ": out of memory; re-reading the batch",
                         c->topic, m->partition, m->offset);
                consumer_drain(c, 0);
                if (!c->resync)
                        consumer_start_resync(c);
        }
}

int consumer_fresh_watermarks(triage_consumer_t *c)
{
        rd_kafka_topic_partition_list_t *l = consumer_held_list(c);
        if (!l)
                return 0;
        for (int i = 0; i < l->cnt; i++)
                l->elems[i].offset = RD_KAFKA_OFFSET_END; /* latest */
        rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(c->rk, l, 5000);
        int rc = err ? -1 : 0;
        for (int i = 0; !rc && i < l->cnt; i++) {
                if (l->elems[i].err || l->elems[i].offset < 0) {
                        rc = -1;
                        break;
                }
                triage_partition_t p;
                int64_t lo = -1;
                for (size_t j = 0; !triage_partitions_at(c->parts, j, &p); j++)
                        if (p.partition == l->elems[i].partition)
                                lo = p.low;
                triage_partitions_set_watermarks(
                    c->parts, l->elems[i].partition, lo, l->elems[i].offset);
        }
        rd_kafka_topic_partition_list_destroy(l);
        if (!rc)
                atomic_store(&c->kafka_ok, 1);
        return rc;
}

/* Retry the failed case derivations that are due (store.h). */
static void retry_derivations(triage_consumer_t *c, int64_t now)
{
        triage_retry_stats_t r;
        char err[512];
        c->next_retry = now + RETRY_EVERY_MS;
        if (triage_store_retry_derivations(c->store, RETRY_MAX, RETRY_BUDGET_MS,
                                           &r, err, sizeof(err))) {
                ql_warn(c->lg, "retrying failed case derivations: %s", err);
                atomic_store(&c->pg_ok, triage_store_connected(c->store));
                return;
        }
        ql_counter_add(c->m_derivation_failures, r.failed);
        if (r.retried)
                ql_info(c->lg,
                        "retried %zu failed case derivations: %zu derived, "
                        "%zu failed again; %zu unresolved "
                        "(ql.derivation_failure)",
                        r.retried, r.resolved, r.failed, r.open);
}

/* Quiet partitions (no record for QUIET_MS, so none waits in the queue)
 * whose log, by the fetcher's last answer, now starts past the position:
 * their records expired with nothing after them to show it (a fetch found
 * its offset out of range, librdkafka went to the log start, and nothing
 * came).  A resync asks the log starts and records the gap. */
static void check_quiet_partitions(triage_consumer_t *c, int64_t now)
{
        if (c->resync || !c->assigned || triage_batch_pending(c->batch) ||
            triage_writer_busy(c->writer) || now - c->last_activity < QUIET_MS)
                return;
        triage_partition_t p;
        for (size_t i = 0; !triage_partitions_at(c->parts, i, &p); i++) {
                int64_t due = p.position >= 0 ? p.position : 0;
                if (p.loaded && p.low > due) {
                        ql_warn(c->lg,
                                "%s/%" PRId32 ": the log now starts at "
                                "%" PRId64 ", past offset %" PRId64
                                " that is due; reading the log starts again",
                                c->topic, p.partition, p.low, due);
                        consumer_start_resync(c);
                        c->resync_at = now;
                        return;
                }
        }
}

/* Derive queued enterprises for a while (store.h); the rest at the next
 * look. */
static void drain_queue(triage_consumer_t *c, int64_t now)
{
        triage_drain_stats_t d;
        char err[512];
        c->next_drain = now + DRAIN_OVERDUE_MS;
        if (!c->drain_started)
                c->drain_started = now;
        if (triage_store_drain(c->store, DRAIN_CHUNK, DRAIN_BUDGET_MS, &d, err,
                               sizeof(err))) {
                ql_warn(c->lg, "deriving the queued enterprises: %s", err);
                atomic_store(&c->pg_ok, triage_store_connected(c->store));
                return;
        }
        c->drained += d.derived;
        ql_counter_add(c->m_drained, d.derived);
        ql_counter_add(c->m_derivation_failures, d.failed);
        if (d.chunks)
                ql_debug(c->lg,
                         "derived %zu queued enterprises in %zu transactions "
                         "(%zu failed)",
                         d.derived, d.chunks, d.failed);
        if (d.empty) {
                /* Said after every bulk phase (the batches after it may
                 * have derived the queue already) and whenever a drain
                 * derived something (a queue left by a crash).  The queue
                 * is this member's view: enterprises another member is
                 * deriving are skipped, and a member still in bulk mode
                 * adds to the queue, so with several members the line
                 * says how many of them are still at it. */
                double secs =
                    (double)(ql_util_mono_ms() - c->drain_started) / 1000.0;
                int others = -1;
                if (c->bulk_done && c->counted) {
                        others = atomic_fetch_sub(c->deriving, 1) - 1;
                        c->counted = 0;
                }
                char others_say[80] = "";
                if (others > 0)
                        snprintf(others_say, sizeof(others_say),
                                 "; %d other member%s still storing in bulk "
                                 "or deriving",
                                 others, others == 1 ? "" : "s");
                else if (!others)
                        snprintf(others_say, sizeof(others_say),
                                 "; no member of this process has more to "
                                 "derive");
                if (c->drained || d.failed || c->bulk_done)
                        ql_info(c->lg,
                                "derivation queue drained: %zu enterprises "
                                "in %.1f s%s",
                                c->drained, secs, others_say);
                c->queued = 0;
                c->bulk_done = 0;
                c->drained = 0;
                c->drain_started = 0;
        }
}

static void periodic(triage_consumer_t *c, int64_t now)
{
        /* The cause rules are data: a reload re-applies them, between
         * batches, on the connection the writer is not using then. */
        if (atomic_load(&c->recategorize) && !triage_batch_pending(c->batch) &&
            !triage_writer_busy(c->writer) &&
            triage_store_connected(c->store)) {
                char err[512];
                long changed;
                atomic_store(&c->recategorize, 0);
                if (triage_store_recategorize(c->store, &changed, err,
                                              sizeof(err)))
                        ql_warn(c->lg, "reloading the cause rules: %s", err);
                else
                        ql_info(c->lg,
                                "cause rules reloaded: %ld findings "
                                "recategorized",
                                changed);
        }
        if (now >= c->next_watermarks) {
                cached_watermarks(c);
                c->next_watermarks = now + 1000;
                /* Caught up with no batch to come.  A batch filling is
                 * submitted in bulk mode, and its submission decides. */
                if (c->bulk && !triage_batch_pending(c->batch))
                        (void)choose_mode(c);
                check_quiet_partitions(c, now);
        }
        if (c->queued && !c->bulk && !c->resync &&
            !triage_writer_busy(c->writer) &&
            triage_store_connected(c->store) &&
            (!triage_batch_pending(c->batch) || now >= c->next_drain))
                drain_queue(c, now);
        if (c->lead && now >= c->next_retry && !c->resync &&
            !triage_writer_busy(c->writer) &&
            triage_store_connected(c->store) &&
            (!triage_batch_pending(c->batch) ||
             now >= c->next_retry + RETRY_OVERDUE_MS))
                retry_derivations(c, now);
        if (now >= c->next_ping && !triage_batch_pending(c->batch) &&
            !triage_writer_busy(c->writer)) {
                char err[512];
                if (triage_store_connected(c->store) &&
                    triage_store_ping(c->store, err, sizeof(err))) {
                        ql_warn(c->lg, "%s", err);
                        atomic_store(&c->pg_ok, 0);
                        consumer_start_resync(c);
                } else if (!triage_store_connected(c->store) && !c->resync) {
                        /* Dropped between batches (a retry timed out): the
                         * resync reconnects. */
                        atomic_store(&c->pg_ok, 0);
                        consumer_start_resync(c);
                }
                const struct rd_kafka_metadata *md;
                if (!atomic_load(&c->kafka_ok) &&
                    rd_kafka_metadata(c->rk, 0, NULL, &md, 1000) ==
                        RD_KAFKA_RESP_ERR_NO_ERROR) {
                        rd_kafka_metadata_destroy(md);
                        atomic_store(&c->kafka_ok, 1);
                }
                c->next_ping = now + PING_MS;
        }
        if (now >= c->next_progress) {
                double secs = (double)(now - c->progress_at) / 1000.0;
                uint64_t stored = c->totals.records - c->progress_stored;
                ql_info(c->lg,
                        "progress: %" PRIu64 " records (%" PRIu64
                        " stored, %" PRIu64 " duplicates, %" PRIu64
                        " rejected), %.0f records/s, lag %" PRId64,
                        c->totals.records, c->totals.stored,
                        c->totals.duplicates, c->totals.rejected,
                        secs > 0 ? (double)stored / secs : 0.0,
                        triage_partitions_lag(c->parts));
                c->progress_stored = c->totals.records;
                c->progress_at = now;
                c->next_progress = now + PROGRESS_MS;
        }
}

/* 1 while --idle-exit is satisfied: the brokers are asked at most once a
 * second, the answer holds until something happens. */
static int idle_done(triage_consumer_t *c, int64_t now)
{
        if (!c->idle_exit || !c->assigned || c->rebalancing || c->resync ||
            c->queued || triage_batch_pending(c->batch) ||
            triage_writer_busy(c->writer) ||
            !triage_store_connected(c->store) ||
            triage_partitions_all_loaded(c->parts) ||
            now - c->last_activity < (int64_t)c->idle_exit * 1000) {
                c->idle_ok = 0;
                return 0;
        }
        if (now < c->next_idle_check)
                return c->idle_ok;
        c->next_idle_check = now + 1000;
        /* The fetcher's figures first; the brokers' word only when those
         * say there is nothing left, so a record produced since the last
         * fetch cannot slip by. */
        cached_watermarks(c);
        if (!triage_partitions_caught_up(c->parts) ||
            consumer_fresh_watermarks(c) ||
            !triage_partitions_caught_up(c->parts)) {
                c->idle_ok = 0;
                return 0;
        }
        if (!c->idle_ok)
                ql_info(c->lg,
                        "caught up: %zu partitions stored up to their high "
                        "watermarks, idle for %d s",
                        triage_partitions_count(c->parts), c->idle_exit);
        c->idle_ok = 1;
        return 1;
}

int triage_consumer_step(triage_consumer_t *c)
{
        triage_writer_result_t res;
        if (triage_writer_collect(c->writer, 0, &res))
                handle(c, &res, 0);
        int64_t now = ql_util_mono_ms();
        if (c->resync && now >= c->resync_at)
                consumer_resync(c);
        int timeout = POLL_MS;
        if (triage_batch_pending(c->batch)) {
                int64_t due = c->batch_started + c->batch_ms - now;
                timeout = due < 0 ? 0 : due < POLL_MS ? (int)due : POLL_MS;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout);
        if (m) {
                take(c, m);
                rd_kafka_message_destroy(m);
        }
        now = ql_util_mono_ms();
        size_t n = triage_batch_pending(c->batch);
        if (n && !c->resync &&
            (n >= (size_t)c->batch_size ||
             now >= c->batch_started + c->batch_ms)) {
                /* One batch in flight at most: wait for the one before. */
                consumer_drain(c, 0);
                if (!c->resync && triage_batch_pending(c->batch))
                        submit(c);
        }
        periodic(c, now);
        return idle_done(c, now);
}

void triage_consumer_reload(triage_consumer_t *c, const triage_config_t *cfg,
                            int recategorize)
{
        atomic_store(&c->uscc_mode, (int)cfg->base.uscc_check);
        if (recategorize)
                atomic_store(&c->recategorize, 1);
}

void triage_consumer_emit_lag(const triage_consumer_t *c,
                              ql_metrics_emit_fn emit, void *emit_ctx)
{
        triage_partitions_emit_lag(c->parts, emit, emit_ctx);
}

void triage_consumer_close(triage_consumer_t *c)
{
        if (!c || !c->rk)
                return;
        consumer_flush_now(c, 1);
        rd_kafka_resp_err_t err = rd_kafka_consumer_close(c->rk);
        if (err)
                ql_warn(c->lg, "closing the consumer: %s",
                        rd_kafka_err2str(err));
}

void triage_consumer_totals(const triage_consumer_t *c, triage_totals_t *out)
{
        *out = c->totals;
}

size_t triage_consumer_expired(triage_consumer_t *c, uint64_t *records,
                               char *last, size_t last_size)
{
        pthread_mutex_lock(&c->expired_lock);
        size_t ranges = c->expired_ranges;
        *records = c->expired;
        snprintf(last, last_size, "%s", c->expired_last);
        pthread_mutex_unlock(&c->expired_lock);
        return ranges;
}
