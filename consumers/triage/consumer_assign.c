/*
 * consumer_assign: the partitions' positions (the invariant consumer.c
 * states).  An assignment reads the stored offsets once, bounded, and
 * takes the partitions paused if PostgreSQL does not answer; a revocation
 * stores what was taken while the partitions are still ours; a failed
 * batch sends the fetcher back to the stored offsets (the resync), after
 * asking where each partition's log now starts, so that records the
 * broker deleted before they were stored become a recorded gap.
 */
#include "consumer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer_private.h"
#include "ql_kafka.h"
#include "ql_util.h"

int consumer_next_backoff(triage_consumer_t *c)
{
        int b = c->backoff_ms;
        c->backoff_ms = b * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b * 2;
        return b;
}

/* Connect to PostgreSQL if needed.  0 when connected. */
int consumer_ensure_pg(triage_consumer_t *c)
{
        if (triage_store_connected(c->store))
                return 0;
        char err[512];
        int fatal;
        if (triage_store_connect(c->store, &fatal, err, sizeof(err))) {
                atomic_store(&c->pg_ok, 0);
                ql_warn(c->lg, "%s%s", err,
                        fatal ? " (fix the database; retrying)" : "");
                return -1;
        }
        atomic_store(&c->pg_ok, 1);
        ql_info(c->lg, "connected to PostgreSQL %s",
                triage_store_describe(c->store));
        return 0;
}

/* The held partitions as a librdkafka list, offsets at their positions
 * (the stored offsets, or past a gap; nothing stored: the beginning).
 * NULL if none are held. */
rd_kafka_topic_partition_list_t *consumer_held_list(triage_consumer_t *c)
{
        size_t n = triage_partitions_count(c->parts);
        if (!n)
                return NULL;
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new((int)n);
        for (size_t i = 0; i < n; i++) {
                triage_partition_t p;
                if (triage_partitions_at(c->parts, i, &p))
                        break;
                rd_kafka_topic_partition_list_add(l, c->topic, p.partition)
                    ->offset =
                    p.position >= 0 ? p.position : RD_KAFKA_OFFSET_BEGINNING;
        }
        return l;
}

/* The fetcher is about to be sent to the offsets in l (positions of held,
 * loaded partitions).  Ask the brokers where each partition's log starts
 * now (its low watermark, kept for the lag); where that is past the position
 * (nothing stored counts as 0), the records between expired before they were
 * stored: the gap goes into the filling batch, and the position and l's offset
 * move to the log start, so nothing below it can arrive afterwards.  Without an
 * answer nothing changes: a gap then shows when the first record beyond it
 * arrives. */
static void check_log_starts(triage_consumer_t *c,
                             rd_kafka_topic_partition_list_t *l)
{
        rd_kafka_topic_partition_list_t *q =
            rd_kafka_topic_partition_list_copy(l);
        for (int i = 0; i < q->cnt; i++)
                q->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING; /* earliest */
        rd_kafka_resp_err_t err =
            rd_kafka_offsets_for_times(c->rk, q, LOG_START_MS);
        if (err) {
                ql_warn(c->lg,
                        "cannot ask where the partitions' logs start (%s); "
                        "expired records will show when the next record "
                        "arrives",
                        rd_kafka_err2str(err));
                rd_kafka_topic_partition_list_destroy(q);
                return;
        }
        for (int i = 0; i < q->cnt; i++) {
                triage_partition_t p;
                int64_t lo = q->elems[i].offset;
                if (q->elems[i].err || lo < 0 ||
                    triage_partitions_find(c->parts, q->elems[i].partition,
                                           &p) ||
                    !p.loaded)
                        continue;
                /* The low watermark: the lag of a partition with nothing
                 * stored counts from it. */
                triage_partitions_set_watermarks(c->parts, p.partition, lo,
                                                 p.high);
                if (!lo)
                        continue;
                int64_t due = p.position >= 0 ? p.position : 0;
                if (lo <= due)
                        continue;
                int was_empty = !triage_batch_pending(c->batch);
                if (triage_batch_add_gap(c->batch, p.partition, due, lo - 1,
                                         p.base)) {
                        ql_error(c->lg, "out of memory recording a gap");
                        continue;
                }
                if (was_empty)
                        c->batch_started = ql_util_mono_ms();
                triage_partitions_skip_to(c->parts, p.partition, lo);
                for (int k = 0; k < l->cnt; k++)
                        if (l->elems[k].partition == p.partition)
                                l->elems[k].offset = lo;
                ql_warn(c->lg,
                        "%s/%" PRId32 ": the log starts at %" PRId64
                        ", past offset %" PRId64
                        " that was due: fetching from %" PRId64,
                        c->topic, p.partition, lo, due, lo);
        }
        rd_kafka_topic_partition_list_destroy(q);
}

/* Discard the filling batch and ask for a resync after a back-off: the
 * partitions pause until their offsets are reloaded and the fetcher sought
 * there.  Nothing may be in flight (a failed write was just collected). */
void consumer_start_resync(triage_consumer_t *c)
{
        triage_batch_reset(c->batch);
        triage_partitions_rewind(c->parts);
        rd_kafka_topic_partition_list_t *l = consumer_held_list(c);
        if (l) {
                rd_kafka_pause_partitions(c->rk, l);
                rd_kafka_topic_partition_list_destroy(l);
        }
        int wait = consumer_next_backoff(c);
        c->resync = 1;
        c->resync_at = ql_util_mono_ms() + wait;
        ql_info(c->lg, "retrying from the stored offsets in %d ms", wait);
}

/* Reload the stored offsets, seek the fetcher there, resume.  0 when done;
 * on failure the resync is rescheduled. */
int consumer_resync(triage_consumer_t *c)
{
        char err[512];
        int loaded =
            !consumer_ensure_pg(c); /* a failure is said by ensure_pg */
        if (loaded &&
            triage_store_load_offsets(c->store, c->parts, err, sizeof(err))) {
                ql_warn(c->lg, "%s", err);
                loaded = 0;
        }
        if (!loaded) {
                atomic_store(&c->pg_ok, triage_store_connected(c->store));
                c->resync_at = ql_util_mono_ms() + consumer_next_backoff(c);
                return -1;
        }
        rd_kafka_topic_partition_list_t *l = consumer_held_list(c);
        if (l) {
                check_log_starts(c, l);
                rd_kafka_error_t *e =
                    rd_kafka_seek_partitions(c->rk, l, SEEK_TIMEOUT_MS);
                int bad = e != NULL;
                if (e) {
                        ql_warn(c->lg, "seek: %s", rd_kafka_error_string(e));
                        rd_kafka_error_destroy(e);
                }
                for (int i = 0; !bad && i < l->cnt; i++)
                        if (l->elems[i].err) {
                                ql_warn(c->lg, "seek %s/%" PRId32 ": %s",
                                        c->topic, l->elems[i].partition,
                                        rd_kafka_err2str(l->elems[i].err));
                                bad = 1;
                        }
                if (bad) {
                        rd_kafka_topic_partition_list_destroy(l);
                        c->resync_at =
                            ql_util_mono_ms() + consumer_next_backoff(c);
                        return -1;
                }
                rd_kafka_resume_partitions(c->rk, l);
                for (int i = 0; i < l->cnt; i++) {
                        if (l->elems[i].offset >= 0)
                                ql_info(c->lg,
                                        "resuming %s/%" PRId32
                                        " at stored offset %" PRId64,
                                        c->topic, l->elems[i].partition,
                                        l->elems[i].offset);
                        else
                                ql_info(c->lg,
                                        "resuming %s/%" PRId32
                                        " from the beginning",
                                        c->topic, l->elems[i].partition);
                }
                rd_kafka_topic_partition_list_destroy(l);
        }
        c->resync = 0;
        return 0;
}

/* Read the stored offsets of the partitions just assigned: one try,
 * bounded (store.h), for the rebalance callback must not hold the group.
 * 0 when loaded. */
static int load_assigned(triage_consumer_t *c)
{
        char err[512];
        if (consumer_ensure_pg(c))
                return -1;
        if (!triage_store_load_offsets(c->store, c->parts, err, sizeof(err)))
                return 0;
        ql_warn(c->lg, "%s", err);
        atomic_store(&c->pg_ok, triage_store_connected(c->store));
        return -1;
}

void consumer_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t *list, void *opaque)
{
        triage_consumer_t *c = opaque;
        char names[512] = "";
        size_t len = 0;
        for (int i = 0; i < list->cnt && len < sizeof(names) - 16; i++)
                len += (size_t)snprintf(names + len, sizeof(names) - len,
                                        "%s%" PRId32, i ? "," : "",
                                        list->elems[i].partition);
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                /* The store is needed here: nothing may be in flight.  What
                 * is left of the partitions held before is not ours to
                 * write any more. */
                consumer_drain(c, 1);
                triage_batch_reset(c->batch);
                int32_t ids[list->cnt ? list->cnt : 1];
                size_t n = 0;
                for (int i = 0; i < list->cnt; i++)
                        if (!strcmp(list->elems[i].topic, c->topic))
                                ids[n++] = list->elems[i].partition;
                c->resync = 0;
                if (triage_partitions_assign(c->parts, ids, n)) {
                        /* Out of memory: hold nothing, and do not count
                         * as caught up (rebalancing stays set): partitions
                         * were given that nobody reads. */
                        ql_error(c->lg,
                                 "out of memory: the %zu partitions "
                                 "assigned are not read until the "
                                 "next assignment",
                                 n);
                        rd_kafka_assign(rk, NULL);
                        return;
                }
                /* PostgreSQL not answering: take the partitions anyway
                 * (the group goes on), paused, and let the resync read
                 * their offsets once it answers. */
                int loaded = !load_assigned(c);
                for (int i = 0; i < list->cnt; i++)
                        list->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
                if (loaded) {
                        for (int i = 0; i < list->cnt; i++) {
                                triage_partition_t p;
                                if (!triage_partitions_find(
                                        c->parts, list->elems[i].partition,
                                        &p) &&
                                    p.position >= 0)
                                        list->elems[i].offset = p.position;
                        }
                        check_log_starts(c, list);
                        /* The lag before the first fetch answers: the first
                         * batch of a backlog is stored in bulk too. */
                        if (c->bulk_lag)
                                (void)consumer_fresh_watermarks(c);
                }
                for (int i = 0; i < list->cnt; i++) {
                        triage_partition_t p = {.stored = TRIAGE_OFFSET_NONE};
                        triage_partitions_find(c->parts,
                                               list->elems[i].partition, &p);
                        if (!loaded)
                                ql_info(c->lg,
                                        "assigned %s/%" PRId32
                                        " paused until its stored offset "
                                        "can be read",
                                        c->topic, list->elems[i].partition);
                        else if (p.stored >= 0)
                                ql_info(c->lg,
                                        "assigned %s/%" PRId32
                                        " from stored offset %" PRId64 "%s",
                                        c->topic, p.partition, p.stored,
                                        p.position > p.stored
                                            ? " (past expired records)"
                                            : "");
                        else if (p.position > 0)
                                ql_info(c->lg,
                                        "assigned %s/%" PRId32
                                        " from offset %" PRId64
                                        ", where its log starts (nothing "
                                        "stored; the records before it "
                                        "expired)",
                                        c->topic, p.partition, p.position);
                        else
                                ql_info(c->lg,
                                        "assigned %s/%" PRId32
                                        " from the beginning (nothing "
                                        "stored)",
                                        c->topic, list->elems[i].partition);
                }
                rd_kafka_assign(rk, list);
                if (loaded) {
                        /* A partition paused during an earlier resync may
                         * come back paused: this assignment starts
                         * afresh. */
                        rd_kafka_resume_partitions(rk, list);
                        c->backoff_ms = BACKOFF_MIN_MS;
                } else {
                        rd_kafka_pause_partitions(rk, list);
                        c->resync = 1;
                        c->resync_at =
                            ql_util_mono_ms() + consumer_next_backoff(c);
                }
                atomic_store(&c->kafka_ok, 1);
                c->assigned = 1;
                c->rebalancing = 0;
                c->last_activity = ql_util_mono_ms();
                return;
        }
        if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
                /* Finish what was taken while the partitions are ours; what
                 * fails is re-read by the next owner from the stored
                 * offsets. */
                consumer_flush_now(c, 1);
                ql_info(c->lg, "revoked %s/[%s]", c->topic, names);
        } else {
                ql_error(c->lg, "rebalance error: %s", rd_kafka_err2str(err));
                consumer_drain(c, 1);
                triage_batch_reset(c->batch);
        }
        c->resync = 0;
        /* Holding nothing until the next assignment is not being caught
         * up: --idle-exit waits for it. */
        c->rebalancing = 1;
        triage_partitions_assign(c->parts, NULL, 0);
        rd_kafka_assign(rk, NULL);
}
