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
 */
#include "consumer.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "batch.h"
#include "dlq.h"
#include "partitions.h"
#include "ql_kafka.h"
#include "record.h"
#include "store.h"
#include "writer.h"
#include "ql_util.h"

#define POLL_MS          100
#define BACKOFF_MIN_MS   200
#define BACKOFF_MAX_MS   5000
#define SEEK_TIMEOUT_MS  5000
#define PROGRESS_MS      10000
#define PING_MS          5000
#define PREFETCH_KB      12288 /* queued.max.messages.kbytes, split by --workers */
#define LOG_START_MS     5000  /* asking the brokers for the log starts */
#define QUIET_MS         2000  /* no record for this long: the queue is empty */
#define RETRY_EVERY_MS   5000  /* failed derivations: look for due ones */
#define RETRY_OVERDUE_MS 60000 /* ...between batches when never idle */
#define RETRY_MAX        20    /* enterprises per look */
#define RETRY_BUDGET_MS  5000  /* ...started within this long (the poll waits) \
                                */

struct triage_consumer_s {
        ql_log_t *lg;
        const ql_codec_t *codec;
        const volatile sig_atomic_t *run;
        atomic_int uscc_mode; /* ql_uscc_mode_t; SIGHUP may change it */
        char *topic;
        int batch_size, batch_ms, idle_exit;
        int lead; /* the process's first member: retries derivations */

        rd_kafka_t *rk;
        triage_store_t *store;
        triage_dlq_t *dlq;
        triage_partitions_t *parts;
        triage_writer_t *writer;
        triage_batch_t *batch; /* filling */
        triage_batch_t *spare; /* NULL while the writer holds it */

        int64_t batch_started; /* ms; valid while the batch is not empty */
        int assigned;          /* a group assignment happened */
        int64_t last_activity; /* ms: a record or an assignment */
        int64_t next_idle_check;

        int resync;        /* batch discarded: reload offsets and seek */
        int64_t resync_at; /* not before (ms) */
        int backoff_ms;
        int64_t next_ping, next_watermarks, next_progress;
        atomic_int recategorize; /* SIGHUP: re-apply the cause rules when
                                  * idle */
        uint64_t progress_stored;
        int64_t progress_at;
        int64_t next_retry; /* ms: look for due failed derivations */

        atomic_int kafka_ok, pg_ok;
        triage_totals_t totals;
        /* Records that expired before they were stored, for /readyz (read
         * from the metrics thread). */
        pthread_mutex_t expired_lock;
        uint64_t expired;
        size_t expired_ranges;
        char expired_last[160];
        ql_counter_t *m_records, *m_stored, *m_duplicates, *m_rejected,
            *m_batches, *m_pg_errors, *m_lost, *m_dlq_failures,
            *m_dlq_truncated, *m_expired, *m_derivation_failures;
        ql_histogram_t *m_batch_seconds;
};

static int next_backoff(triage_consumer_t *c)
{
        int b = c->backoff_ms;
        c->backoff_ms = b * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b * 2;
        return b;
}

/* Connect to PostgreSQL if needed.  0 when connected. */
static int ensure_pg(triage_consumer_t *c)
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
static rd_kafka_topic_partition_list_t *held_list(triage_consumer_t *c)
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
 * now; where that is past the position (nothing stored counts as 0), the
 * records between expired before they were stored: the gap goes into the
 * filling batch, and the position and l's offset move to the log start, so
 * nothing below it can arrive afterwards.  Without an answer nothing
 * changes: a gap then shows when the first record beyond it arrives. */
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
                if (q->elems[i].err || lo <= 0 ||
                    triage_partitions_find(c->parts, q->elems[i].partition,
                                           &p) ||
                    !p.loaded)
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
static void start_resync(triage_consumer_t *c)
{
        triage_batch_reset(c->batch);
        triage_partitions_rewind(c->parts);
        rd_kafka_topic_partition_list_t *l = held_list(c);
        if (l) {
                rd_kafka_pause_partitions(c->rk, l);
                rd_kafka_topic_partition_list_destroy(l);
        }
        int wait = next_backoff(c);
        c->resync = 1;
        c->resync_at = ql_util_mono_ms() + wait;
        ql_info(c->lg, "retrying from the stored offsets in %d ms", wait);
}

/* Reload the stored offsets, seek the fetcher there, resume.  0 when done;
 * on failure the resync is rescheduled. */
static int resync(triage_consumer_t *c)
{
        char err[512];
        int loaded = !ensure_pg(c); /* a failure is said by ensure_pg */
        if (loaded &&
            triage_store_load_offsets(c->store, c->parts, err, sizeof(err))) {
                ql_warn(c->lg, "%s", err);
                loaded = 0;
        }
        if (!loaded) {
                atomic_store(&c->pg_ok, triage_store_connected(c->store));
                c->resync_at = ql_util_mono_ms() + next_backoff(c);
                return -1;
        }
        rd_kafka_topic_partition_list_t *l = held_list(c);
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
                        c->resync_at = ql_util_mono_ms() + next_backoff(c);
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
        start_resync(c);
        if (res->rc == TRIAGE_STORE_LOST)
                c->resync_at = ql_util_mono_ms(); /* no need to wait */
        return -1;
}

/* Wait for the batch in flight, if any, and act on it.  0 unless it
 * failed. */
static int drain(triage_consumer_t *c, int revoking)
{
        triage_writer_result_t res;
        if (!triage_writer_collect(c->writer, -1, &res))
                return 0;
        return handle(c, &res, revoking);
}

/* Hand the filling batch to the writer and start filling the spare one.
 * The writer must be idle. */
static void submit(triage_consumer_t *c)
{
        triage_partitions_submit(c->parts, c->batch);
        triage_writer_submit(c->writer, c->batch);
        c->batch = c->spare;
        c->spare = NULL;
}

/* Store everything taken so far, now.  0 when all of it committed. */
static int flush_now(triage_consumer_t *c, int revoking)
{
        int rc = drain(c, revoking);
        if (!rc && triage_batch_pending(c->batch) && !c->resync) {
                submit(c);
                rc = drain(c, revoking);
        }
        return rc;
}

/* Read the stored offsets of the partitions just assigned: one try,
 * bounded (store.h), for the rebalance callback must not hold the group.
 * 0 when loaded. */
static int load_assigned(triage_consumer_t *c)
{
        char err[512];
        if (ensure_pg(c))
                return -1;
        if (!triage_store_load_offsets(c->store, c->parts, err, sizeof(err)))
                return 0;
        ql_warn(c->lg, "%s", err);
        atomic_store(&c->pg_ok, triage_store_connected(c->store));
        return -1;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
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
                drain(c, 1);
                triage_batch_reset(c->batch);
                int32_t ids[list->cnt ? list->cnt : 1];
                size_t n = 0;
                for (int i = 0; i < list->cnt; i++)
                        if (!strcmp(list->elems[i].topic, c->topic))
                                ids[n++] = list->elems[i].partition;
                c->resync = 0;
                if (triage_partitions_assign(c->parts, ids, n)) {
                        /* Out of memory: hold nothing. */
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
                        c->resync_at = ql_util_mono_ms() + next_backoff(c);
                }
                atomic_store(&c->kafka_ok, 1);
                c->assigned = 1;
                c->last_activity = ql_util_mono_ms();
                return;
        }
        if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
                /* Finish what was taken while the partitions are ours; what
                 * fails is re-read by the next owner from the stored
                 * offsets. */
                flush_now(c, 1);
                ql_info(c->lg, "revoked %s/[%s]", c->topic, names);
        } else {
                ql_error(c->lg, "rebalance error: %s", rd_kafka_err2str(err));
                drain(c, 1);
                triage_batch_reset(c->batch);
        }
        c->resync = 0;
        triage_partitions_assign(c->parts, NULL, 0);
        rd_kafka_assign(rk, NULL);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
        triage_consumer_t *c = opaque;
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
                atomic_store(&c->kafka_ok, 0);
        /* librdkafka logs connection failures itself (on_log): say them
         * once. */
        ql_log(c->lg,
               err == RD_KAFKA_RESP_ERR__TRANSPORT ? QL_LOG_DEBUG : QL_LOG_WARN,
               "kafka: %s: %s", rd_kafka_err2name(err), reason);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
        triage_consumer_t *c = rd_kafka_opaque(rk);
        ql_log(c->lg,
               level <= 3   ? QL_LOG_ERROR
               : level <= 5 ? QL_LOG_WARN
                            : QL_LOG_DEBUG,
               "kafka %s: %s", fac, buf);
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

/* Is `key` among the operator's [kafka] pairs? */
static int operator_set(const ql_config_t *cfg, const char *key)
{
        for (size_t i = 0; i < cfg->kafka_n; i++)
                if (!strcmp(cfg->kafka[i].key, key))
                        return 1;
        return 0;
}

/* Group members in this process: the prefetch and the batch size are
 * split between them. */
static int members(const ql_config_t *cfg)
{
        return cfg->workers > 1 ? cfg->workers : 1;
}

static rd_kafka_t *make_consumer(triage_consumer_t *c, const ql_config_t *cfg,
                                 char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = ql_kafka_conf_new(cfg, errstr, errstr_size);
        if (!conf)
                return NULL;
        /* Defaults an operator may override in [kafka]: a bounded prefetch
         * keeps memory flat whatever the backlog; the members of one
         * process (--workers) share the budget.  librdkafka 2.0 stops
         * fetching a partition while the consumer queue is over either
         * bound and looks again only when its broker thread wakes, about
         * once a second: the queue must hold a second's worth of records,
         * or a backlog is consumed at one queue-full per second.  So the
         * bound is in bytes (12 MB, ~17,000 records of ~700 bytes) and the
         * message-count bound is set out of the way.  (A shorter
         * fetch.error.backoff.ms does not shorten that wait, and with
         * librdkafka 2.0.2 partitions stalled after leader moves in the
         * fault suite; it stays at librdkafka's default.) */
        char kbytes[16];
        snprintf(kbytes, sizeof(kbytes), "%d", PREFETCH_KB / members(cfg));
        const char *defaults[][2] = {
            {"queued.max.messages.kbytes", kbytes},
            {"queued.min.messages", "10000000"}, /* librdkafka's maximum */
            {"auto.offset.reset", "earliest"},
        };
        /* The guarantees, not negotiable: offsets live in PostgreSQL, and
         * the rebalance callback speaks the eager protocol. */
        const char *fixed[][2] = {
            {"group.id", cfg->group},
            {"enable.auto.commit", "false"},
            {"enable.auto.offset.store", "false"},
            {"enable.partition.eof", "false"},
            {"partition.assignment.strategy", "range,roundrobin"},
        };
        char why[512];
        for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
                if (!operator_set(cfg, defaults[i][0]) &&
                    rd_kafka_conf_set(conf, defaults[i][0], defaults[i][1], why,
                                      sizeof(why)) != RD_KAFKA_CONF_OK)
                        goto bad;
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
                if (rd_kafka_conf_set(conf, fixed[i][0], fixed[i][1], why,
                                      sizeof(why)) != RD_KAFKA_CONF_OK)
                        goto bad;
        rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
        rd_kafka_conf_set_error_cb(conf, on_error);
        rd_kafka_conf_set_log_cb(conf, on_log);
        rd_kafka_conf_set_opaque(conf, c);
        rd_kafka_t *rk =
            rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
        if (!rk)
                goto bad;
        /* rd_kafka_new() owns conf now. */
        rd_kafka_poll_set_consumer(rk);
        return rk;
bad:
        snprintf(errstr, errstr_size, "kafka consumer: %s", why);
        rd_kafka_conf_destroy(conf);
        return NULL;
}

static void register_metrics(triage_consumer_t *c, ql_metrics_t *m)
{
        if (!m)
                return;
        c->m_records = ql_metrics_counter(
            m, "ql_triage_records_total",
            "Records read and settled: stored, duplicate or rejected.", NULL);
        c->m_stored = ql_metrics_counter(
            m, "ql_triage_stored_total",
            "Results inserted into ql.inspection_result.", NULL);
        c->m_duplicates = ql_metrics_counter(
            m, "ql_triage_duplicates_total",
            "Records whose result_id was stored already.", NULL);
        c->m_rejected = ql_metrics_counter(
            m, "ql_triage_rejected_total",
            "Records kept in ql.rejected_record and sent to the dead-letter "
            "topic.",
            NULL);
        c->m_batches = ql_metrics_counter(m, "ql_triage_batches_total",
                                          "Batches committed.", NULL);
        c->m_pg_errors = ql_metrics_counter(
            m, "ql_triage_pg_errors_total",
            "Batches rolled back by a PostgreSQL fault.", NULL);
        c->m_lost = ql_metrics_counter(
            m, "ql_triage_offset_conflicts_total",
            "Batches rolled back because another consumer had moved the "
            "partition's stored offset.",
            NULL);
        c->m_batch_seconds = ql_metrics_histogram(
            m, "ql_triage_batch_seconds",
            "Time to write one batch to PostgreSQL, dead letters included.",
            NULL);
        c->m_dlq_failures = ql_metrics_counter(
            m, "ql_triage_dlq_failures_total",
            "Dead letters Kafka refused for good (topic deleted, access "
            "denied, too large): kept in ql.rejected_record only.",
            NULL);
        c->m_dlq_truncated = ql_metrics_counter(
            m, "ql_triage_dlq_truncated_total",
            "Dead letters cut to fit message.max.bytes (header "
            "'truncated').",
            NULL);
        c->m_expired = ql_metrics_counter(
            m, "ql_triage_expired_records_total",
            "Records deleted by the topic's retention before they were "
            "stored (ql.expired_range).",
            NULL);
        c->m_derivation_failures = ql_metrics_counter(
            m, "ql_triage_derivation_failures_total",
            "Failed case derivations of an enterprise, retries included "
            "(ql.derivation_failure).",
            NULL);
}

triage_consumer_t *triage_consumer_new(const triage_consumer_opts_t *opts,
                                       char *errstr, size_t errstr_size)
{
        const ql_config_t *cfg = opts->cfg;
        triage_consumer_t *c = calloc(1, sizeof(*c));
        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        c->lg = opts->lg;
        c->codec = opts->codec;
        c->run = opts->run;
        c->lead = opts->lead;
        pthread_mutex_init(&c->expired_lock, NULL);
        atomic_init(&c->uscc_mode, (int)cfg->uscc_check);
        atomic_init(&c->recategorize, 0);
        /* Like the prefetch, the batch size is the process's: members
         * split it, so memory does not grow with --workers (each member
         * holds the batch it fills and the one being written). */
        c->batch_size = cfg->batch_size / members(cfg);
        if (c->batch_size < 1)
                c->batch_size = 1;
        c->batch_ms = cfg->batch_ms;
        c->idle_exit = cfg->idle_exit;
        c->backoff_ms = BACKOFF_MIN_MS;
        atomic_init(&c->kafka_ok, 0);
        atomic_init(&c->pg_ok, 0);
        c->topic = strdup(cfg->topic);
        c->parts = triage_partitions_new(cfg->topic);
        c->batch = triage_batch_new(cfg->topic);
        c->spare = triage_batch_new(cfg->topic);
        c->store = triage_store_new(opts->pg, cfg->group, cfg->topic,
                                    cfg->pg_statement_timeout_ms, c->lg);
        if (!c->topic || !c->parts || !c->batch || !c->spare || !c->store) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (!(c->dlq = triage_dlq_new(cfg, c->lg, errstr, errstr_size)) ||
            !(c->writer =
                  triage_writer_new(c->store, c->dlq, errstr, errstr_size)))
                goto fail;
        while (ensure_pg(c)) {
                int wait = next_backoff(c);
                for (int waited = 0; waited < wait; waited += 50) {
                        if (!*c->run) {
                                snprintf(errstr, errstr_size,
                                         "stopped before PostgreSQL answered");
                                goto fail;
                        }
                        ql_util_sleep_ms(50);
                }
        }
        c->backoff_ms = BACKOFF_MIN_MS;
        if (!(c->rk = make_consumer(c, cfg, errstr, errstr_size)))
                goto fail;
        rd_kafka_topic_partition_list_t *sub =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, cfg->topic,
                                          RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err) {
                snprintf(errstr, errstr_size, "subscribe to %s: %s", cfg->topic,
                         rd_kafka_err2str(err));
                goto fail;
        }
        register_metrics(c, opts->metrics);
        int64_t now = ql_util_mono_ms();
        c->next_progress = now + PROGRESS_MS;
        c->progress_at = now;
        c->next_ping = now + PING_MS;
        c->next_retry = now + RETRY_EVERY_MS;
        ql_info(c->lg,
                "consuming %s in group %s (batches of %d records or %d ms)",
                cfg->topic, cfg->group, c->batch_size, c->batch_ms);
        return c;
fail:
        triage_consumer_destroy(c);
        return NULL;
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
                drain(c, 0);
                if (!c->resync)
                        start_resync(c);
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
                drain(c, 0);
                if (!c->resync)
                        start_resync(c);
        }
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

/* Ask the brokers for every held partition's end offset, all partitions in
 * one round (ListOffsets with the "latest" timestamp), for the last word
 * before --idle-exit.  0 when every answer came. */
static int fresh_watermarks(triage_consumer_t *c)
{
        rd_kafka_topic_partition_list_t *l = held_list(c);
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
                        start_resync(c);
                        c->resync_at = now;
                        return;
                }
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
                check_quiet_partitions(c, now);
        }
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
                        start_resync(c);
                } else if (!triage_store_connected(c->store) && !c->resync) {
                        /* Dropped between batches (a retry timed out): the
                         * resync reconnects. */
                        atomic_store(&c->pg_ok, 0);
                        start_resync(c);
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

static int idle_done(triage_consumer_t *c, int64_t now)
{
        if (!c->idle_exit || !c->assigned || c->resync ||
            triage_batch_pending(c->batch) || triage_writer_busy(c->writer) ||
            !triage_store_connected(c->store) ||
            triage_partitions_all_loaded(c->parts) ||
            now - c->last_activity < (int64_t)c->idle_exit * 1000 ||
            now < c->next_idle_check)
                return 0;
        c->next_idle_check = now + 1000;
        /* The fetcher's figures first; the brokers' word only when those
         * say there is nothing left, so a record produced since the last
         * fetch cannot slip by. */
        cached_watermarks(c);
        if (!triage_partitions_caught_up(c->parts) || fresh_watermarks(c) ||
            !triage_partitions_caught_up(c->parts))
                return 0;
        ql_info(c->lg,
                "caught up: %zu partitions stored up to their high "
                "watermarks, idle for %d s",
                triage_partitions_count(c->parts), c->idle_exit);
        return 1;
}

int triage_consumer_step(triage_consumer_t *c)
{
        triage_writer_result_t res;
        if (triage_writer_collect(c->writer, 0, &res))
                handle(c, &res, 0);
        int64_t now = ql_util_mono_ms();
        if (c->resync && now >= c->resync_at)
                resync(c);
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
                drain(c, 0);
                if (!c->resync && triage_batch_pending(c->batch))
                        submit(c);
        }
        periodic(c, now);
        return idle_done(c, now);
}

void triage_consumer_reload(triage_consumer_t *c, const ql_config_t *cfg,
                            int recategorize)
{
        atomic_store(&c->uscc_mode, (int)cfg->uscc_check);
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
        flush_now(c, 1);
        rd_kafka_resp_err_t err = rd_kafka_consumer_close(c->rk);
        if (err)
                ql_warn(c->lg, "closing the consumer: %s",
                        rd_kafka_err2str(err));
}

void triage_consumer_destroy(triage_consumer_t *c)
{
        if (!c)
                return;
        if (c->rk)
                rd_kafka_destroy(c->rk);
        triage_writer_destroy(c->writer); /* before what it borrows */
        triage_dlq_destroy(c->dlq);
        triage_store_destroy(c->store);
        triage_batch_destroy(c->batch);
        triage_batch_destroy(c->spare);
        triage_partitions_destroy(c->parts);
        pthread_mutex_destroy(&c->expired_lock);
        free(c->topic);
        free(c);
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
