/*
 * ql_kafka: the thin layer between a ql_config_t and librdkafka.  It builds
 * client configurations (bootstrap servers from the config, then every
 * [kafka] pair verbatim, so an operator can set any librdkafka property), the
 * idempotent producer both lab-facing daemons use, and the delivery tracker
 * that tells a producer when every message of a unit of work (a file, an HTTP
 * request) was acknowledged or which failed.
 */
#ifndef QL_KAFKA_H
#define QL_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "ql_config.h"
#include "ql_log.h"

/* A new conf with bootstrap.servers and the [kafka] pairs applied.  NULL on
 * a bad property, naming it in errstr.  You own the result until you hand it
 * to rd_kafka_new(). */
rd_kafka_conf_t *ql_kafka_conf_new(const ql_config_t *cfg, char *errstr,
                                   size_t errstr_size);

/* An idempotent producer (enable.idempotence, acks=all,
 * message.timeout.ms = cfg->kafka_timeout_ms) whose delivery reports settle
 * the ql_delivery_t passed as each message's opaque (may be NULL).  lg is
 * borrowed for librdkafka's own log lines and must outlive the producer. */
rd_kafka_t *ql_kafka_producer_new(const ql_config_t *cfg, ql_log_t *lg,
                                  char *errstr, size_t errstr_size);

/*
 * Delivery tracker.  Reference counted: the creator holds one reference and
 * every message in flight holds one, so a caller that gives up waiting (a
 * gateway request that timed out) can release its reference safely while
 * reports are still due.  Thread-safe.
 */
typedef struct ql_delivery_s ql_delivery_t;

ql_delivery_t *ql_delivery_new(void);
/* Drop the creator's reference.  Accepts NULL. */
void ql_delivery_release(ql_delivery_t *d);

/* Produce one message tracked by d (copied payload, RD_KAFKA_PARTITION_UA,
 * partitioned by key).  Retries internally while the local queue is full,
 * polling rk.  0 on success; -1 if librdkafka refused it at once, with the
 * reason in errstr (then it is not counted as in flight). */
int ql_delivery_produce(ql_delivery_t *d, rd_kafka_t *rk, const char *topic,
                        const void *key, size_t key_len, const void *payload,
                        size_t len, rd_kafka_headers_t *hdrs /* consumed */,
                        char *errstr, size_t errstr_size);

/* Wait until nothing is in flight or timeout_ms passed.  If poll_rk is not
 * NULL this call polls it for delivery reports; otherwise another thread must
 * be polling.  Returns the number still in flight. */
size_t ql_delivery_wait(ql_delivery_t *d, rd_kafka_t *poll_rk, int timeout_ms);

/* Counts so far and the first failure's reason ("" if none). */
size_t ql_delivery_in_flight(ql_delivery_t *d);
size_t ql_delivery_acked(ql_delivery_t *d);
size_t ql_delivery_failed(ql_delivery_t *d);
void ql_delivery_first_error(ql_delivery_t *d, char *buf, size_t buf_size);

/*
 * Readiness probe: is the cluster reachable and does the topic exist?  Asks
 * for the topic's metadata at most every cache_ms (so /readyz scraped often
 * costs Kafka nothing) and answers from the cached verdict meanwhile; only
 * one caller asks at a time.  Thread-safe.  rk is borrowed and must outlive
 * the probe.
 */
typedef struct ql_kafka_probe_s ql_kafka_probe_t;

ql_kafka_probe_t *ql_kafka_probe_new(rd_kafka_t *rk, const char *topic,
                                     int cache_ms, int timeout_ms);
void ql_kafka_probe_destroy(ql_kafka_probe_t *p); /* accepts NULL */

/* 1 if ready; else 0 with the reason in why.  Matches ql_metrics_ready_fn,
 * so it can be handed to ql_metrics_set_ready() with the probe as arg. */
int ql_kafka_probe_ready(void *probe, char *why, size_t why_size);

#endif
