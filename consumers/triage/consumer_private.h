/*
 * consumer_private.h: what the three files of the consumer share, private
 * to them.  consumer.c runs the loop (records into batches, batches to the
 * writer, the periodic work); consumer_assign.c keeps the partitions'
 * positions right (assignment, revocation, the resync to the stored
 * offsets, the log starts); consumer_setup.c builds and tears down the
 * member (the Kafka consumer, the store, the writer, the metrics).
 */
#ifndef TRIAGE_CONSUMER_PRIVATE_H
#define TRIAGE_CONSUMER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "batch.h"
#include "consumer.h"
#include "dlq.h"
#include "partitions.h"
#include "store.h"
#include "writer.h"

#define POLL_MS          100
#define BACKOFF_MIN_MS   200
#define BACKOFF_MAX_MS   5000
#define SEEK_TIMEOUT_MS  5000
#define PROGRESS_MS      10000
#define PING_MS          5000
#define PREFETCH_KB      12288 /* queued.max.messages.kbytes, split by --workers */
#define FETCH_BYTES      524288L /* fetch.max.bytes: one answer's bound */
#define LOG_START_MS     5000    /* asking the brokers for the log starts */
#define QUIET_MS         2000  /* no record for this long: the queue is empty */
#define RETRY_EVERY_MS   5000  /* failed derivations: look for due ones */
#define RETRY_OVERDUE_MS 60000 /* ...between batches when never idle */
#define RETRY_MAX        20    /* enterprises per look */
#define DRAIN_CHUNK      4000  /* queued enterprises per transaction */
#define DRAIN_BUDGET_MS  1000  /* chunks started per look (the poll waits) */
#define DRAIN_OVERDUE_MS 2000  /* ...between batches if records keep coming */
#define BULK_TAIL_MS     5000  /* bulk mode left after this long below half */
/* Failed derivations retried in one look are started within this long
 * (the poll waits meanwhile). */
#define RETRY_BUDGET_MS 5000

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
        int rebalancing;       /* revoked; the next assignment not yet
                                * come (holds nothing meanwhile) */
        int idle_ok;           /* --idle-exit satisfied at the last look */
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

        /* Bulk mode: while this member's lag is at least bulk_lag, batches
         * only register their enterprises; the queue they leave is
         * derived (drained) once caught up (choose_mode). */
        int64_t bulk_lag;   /* 0: never */
        int bulk;           /* the next batches are stored in bulk */
        int queued;         /* the queue may hold enterprises to derive */
        int bulk_done;      /* a bulk phase ended; its drain not yet done */
        int64_t tail_since; /* ms: lag below half the mark since, 0: not */
        int64_t next_drain;
        int64_t drain_started; /* ms: first chunk of this drain, 0: none */
        size_t drained;        /* enterprises derived by this drain */
        atomic_int *deriving;  /* opts: members counted there, NULL */
        int counted;           /* this member is counted in *deriving */

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
            *m_dlq_truncated, *m_expired, *m_derivation_failures, *m_drained;
        ql_gauge_t *m_bulk;
        ql_histogram_t *m_batch_seconds;
};

/* consumer_assign.c */

/* The next back-off (ms), doubling up to BACKOFF_MAX_MS. */
int consumer_next_backoff(triage_consumer_t *c);
/* Connect to PostgreSQL if needed.  0 when connected. */
int consumer_ensure_pg(triage_consumer_t *c);
/* The held partitions as a librdkafka list, offsets at their positions
 * (nothing stored: the beginning).  NULL if none are held; the caller
 * destroys it. */
rd_kafka_topic_partition_list_t *consumer_held_list(triage_consumer_t *c);
/* Discard the filling batch, pause the partitions and ask for a resync
 * after a back-off.  Nothing may be in flight. */
void consumer_start_resync(triage_consumer_t *c);
/* Reload the stored offsets, seek the fetcher there, resume.  0 when done;
 * on failure the resync is rescheduled. */
int consumer_resync(triage_consumer_t *c);
/* librdkafka's rebalance callback (opaque: the consumer). */
void consumer_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t *list, void *opaque);

/* consumer.c */

/* Wait for the batch in flight, if any, and act on it (`revoking`: the
 * partitions are going, so no resync on failure).  0 unless it failed. */
int consumer_drain(triage_consumer_t *c, int revoking);
/* Store everything taken so far, now.  0 when all of it committed. */
int consumer_flush_now(triage_consumer_t *c, int revoking);
/* Ask the brokers for every held partition's end offset, all partitions in
 * one round (ListOffsets with the "latest" timestamp): the last word before
 * --idle-exit, and the lag of a new assignment before its first fetch.  0
 * when every answer came. */
int consumer_fresh_watermarks(triage_consumer_t *c);

#endif
