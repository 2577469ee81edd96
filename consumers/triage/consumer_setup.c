/*
 * consumer_setup: one group member built and torn down: its librdkafka
 * consumer (our defaults under the operator's [kafka] pairs, the
 * callbacks), its store, dead-letter producer, partitions table, two
 * batches and writer thread, and its metrics.  The first connection to
 * PostgreSQL is waited for here, with a back-off, before the member joins
 * the group.
 */
#include "consumer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer_private.h"
#include "ql_kafka.h"
#include "ql_util.h"

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

/* Is `key` among the operator's [kafka] pairs? */
static int operator_set(const triage_config_t *cfg, const char *key)
{
        for (size_t i = 0; i < cfg->base.kafka_n; i++)
                if (!strcmp(cfg->base.kafka[i].key, key))
                        return 1;
        return 0;
}

/* Group members in this process: the prefetch and the batch size are
 * split between them. */
static int members(const triage_config_t *cfg)
{
        return cfg->workers > 1 ? cfg->workers : 1;
}

static rd_kafka_t *make_consumer(triage_consumer_t *c,
                                 const triage_config_t *cfg, char *errstr,
                                 size_t errstr_size)
{
        rd_kafka_conf_t *conf =
            ql_kafka_conf_new(&cfg->base, errstr, errstr_size);
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
         * fault suite; it stays at librdkafka's default.)  That bound is
         * checked before a fetch, and a fetch answer (one per broker, in
         * flight while the queue fills) may carry up to fetch.max.bytes,
         * 50 MB by librdkafka's default: on a backlog of large message sets
         * over 128 partitions, a replay of a million records peaked at
         * 191 MB, 91 MB with 2 MB answers, 66-72 MB with 1 MB ones and
         * 57 MB with 512 KB ones, at the same rate (an answer holds at
         * least one whole message set, so a larger set still comes). */
        char kbytes[16];
        snprintf(kbytes, sizeof(kbytes), "%d", PREFETCH_KB / members(cfg));
        /* librdkafka refuses a fetch.max.bytes below message.max.bytes
         * (librdkafka's default: 1,000,000), which this consumer needs only
         * for its own requests, all small: unless [kafka] sets it, it is
         * the answers' bound.  An operator may raise it in [kafka] for the
         * dead-letter producer, and the answers' bound follows. */
        char fetch[32], mmb[32];
        size_t mmb_size = sizeof(mmb);
        long fetch_bytes = FETCH_BYTES;
        if (operator_set(cfg, "message.max.bytes") &&
            rd_kafka_conf_get(conf, "message.max.bytes", mmb, &mmb_size) ==
                RD_KAFKA_CONF_OK &&
            atol(mmb) > fetch_bytes)
                fetch_bytes = atol(mmb);
        snprintf(fetch, sizeof(fetch), "%ld", fetch_bytes);
        char own_fetch[32];
        size_t own_size = sizeof(own_fetch);
        const char *mmb_default = fetch;
        if (operator_set(cfg, "fetch.max.bytes") &&
            rd_kafka_conf_get(conf, "fetch.max.bytes", own_fetch, &own_size) ==
                RD_KAFKA_CONF_OK &&
            atol(own_fetch) < fetch_bytes)
                mmb_default = own_fetch; /* the operator's, smaller */
        const char *defaults[][2] = {
            {"message.max.bytes", mmb_default},
            {"queued.max.messages.kbytes", kbytes},
            {"queued.min.messages", "10000000"}, /* librdkafka's maximum */
            {"fetch.max.bytes", fetch},
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
        rd_kafka_conf_set_rebalance_cb(conf, consumer_on_rebalance);
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
        c->m_drained = ql_metrics_counter(
            m, "ql_triage_queued_derivations_total",
            "Enterprises derived from the queue after bulk mode (or a "
            "crash) left their results queued.",
            NULL);
        c->m_bulk = ql_metrics_gauge(
            m, "ql_triage_bulk_mode",
            "1 while batches only register their enterprises (lag at "
            "--bulk-lag), the cases derived when caught up.",
            NULL);
}

triage_consumer_t *triage_consumer_new(const triage_consumer_opts_t *opts,
                                       char *errstr, size_t errstr_size)
{
        const triage_config_t *cfg = opts->cfg;
        triage_consumer_t *c = calloc(1, sizeof(*c));
        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        c->lg = opts->lg;
        c->codec = opts->codec;
        c->run = opts->run;
        c->lead = opts->lead;
        c->deriving = opts->deriving;
        pthread_mutex_init(&c->expired_lock, NULL);
        atomic_init(&c->uscc_mode, (int)cfg->base.uscc_check);
        atomic_init(&c->recategorize, 0);
        /* Like the prefetch, the batch size is the process's: members
         * split it, so memory does not grow with --workers (each member
         * holds the batch it fills and the one being written). */
        c->batch_size = cfg->batch_size / members(cfg);
        if (c->batch_size < 1)
                c->batch_size = 1;
        c->batch_ms = cfg->batch_ms;
        c->idle_exit = cfg->idle_exit;
        /* Each member sees its own partitions' lag: its share of the mark. */
        c->bulk_lag =
            cfg->bulk_lag > 0 ? (int64_t)cfg->bulk_lag / members(cfg) + 1 : 0;
        /* A queue left by a crash (or a member that stopped mid-way) is
         * derived as soon as there is time. */
        c->queued = 1;
        c->backoff_ms = BACKOFF_MIN_MS;
        atomic_init(&c->kafka_ok, 0);
        atomic_init(&c->pg_ok, 0);
        c->topic = strdup(cfg->base.topic);
        c->parts = triage_partitions_new(cfg->base.topic);
        c->batch = triage_batch_new(cfg->base.topic);
        c->spare = triage_batch_new(cfg->base.topic);
        c->store = triage_store_new(opts->pg, cfg->group, cfg->base.topic,
                                    cfg->pg_statement_timeout_ms, c->lg);
        if (!c->topic || !c->parts || !c->batch || !c->spare || !c->store) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (!(c->dlq = triage_dlq_new(cfg, c->lg, errstr, errstr_size)) ||
            !(c->writer =
                  triage_writer_new(c->store, c->dlq, errstr, errstr_size)))
                goto fail;
        while (consumer_ensure_pg(c)) {
                int wait = consumer_next_backoff(c);
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
        rd_kafka_topic_partition_list_add(sub, cfg->base.topic,
                                          RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err) {
                snprintf(errstr, errstr_size, "subscribe to %s: %s",
                         cfg->base.topic, rd_kafka_err2str(err));
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
                cfg->base.topic, cfg->group, c->batch_size, c->batch_ms);
        return c;
fail:
        triage_consumer_destroy(c);
        return NULL;
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
