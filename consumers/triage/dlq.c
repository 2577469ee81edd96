/*
 * dlq: dead letters through ql_kafka's idempotent producer and delivery
 * tracker.  One tracker per batch: the hook waits on it and gives up after
 * the producer's own message timeout, so a Kafka outage turns into a failed
 * hook (the batch rolls back and is retried), not a hang.
 */
#include "dlq.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_kafka.h"

struct triage_dlq_s {
        rd_kafka_t *rk;
        char *topic;
        int timeout_ms;
        ql_log_t *lg;
};

triage_dlq_t *triage_dlq_new(const ql_config_t *cfg, ql_log_t *lg, char *errstr,
                             size_t errstr_size)
{
        triage_dlq_t *d = calloc(1, sizeof(*d));
        if (!d) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        d->lg = lg;
        d->timeout_ms = cfg->kafka_timeout_ms + 5000;
        d->topic = strdup(cfg->dlq_topic);
        d->rk = ql_kafka_producer_new(cfg, lg, errstr, errstr_size);
        if (!d->topic || !d->rk) {
                if (!d->topic)
                        snprintf(errstr, errstr_size, "out of memory");
                triage_dlq_destroy(d);
                return NULL;
        }
        return d;
}

void triage_dlq_destroy(triage_dlq_t *d)
{
        if (!d)
                return;
        if (d->rk) {
                rd_kafka_flush(d->rk, 5000);
                int left = rd_kafka_outq_len(d->rk);
                if (left > 0)
                        ql_error(d->lg,
                                 "dead-letter producer closed with %d "
                                 "messages undelivered",
                                 left);
                rd_kafka_destroy(d->rk);
        }
        free(d->topic);
        free(d);
}

void triage_dlq_poll(triage_dlq_t *d)
{
        rd_kafka_poll(d->rk, 0);
}

static rd_kafka_headers_t *headers_for(const triage_batch_t *b,
                                       const triage_reject_t *j)
{
        char part[16], off[24];
        snprintf(part, sizeof(part), "%" PRId32, j->partition);
        snprintf(off, sizeof(off), "%" PRId64, j->offset);
        rd_kafka_headers_t *h = rd_kafka_headers_new(5);
        rd_kafka_header_add(h, "error", -1, j->error, -1);
        rd_kafka_header_add(h, "kind", -1, triage_reject_kind_name(j->kind),
                            -1);
        rd_kafka_header_add(h, "source.topic", -1, triage_batch_topic(b), -1);
        rd_kafka_header_add(h, "source.partition", -1, part, -1);
        rd_kafka_header_add(h, "source.offset", -1, off, -1);
        return h;
}

int triage_dlq_hook(void *arg, const triage_batch_t *b, char *errstr,
                    size_t errstr_size)
{
        triage_dlq_t *d = arg;
        size_t n = triage_batch_reject_count(b);
        if (!n)
                return 0;
        ql_delivery_t *dl = ql_delivery_new();
        if (!dl) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        int rc = 0;
        for (size_t i = 0; i < n && !rc; i++) {
                const triage_reject_t *j = triage_batch_reject(b, i);
                rc = ql_delivery_produce(
                    dl, d->rk, d->topic, j->key, j->key_len, j->payload, j->len,
                    headers_for(b, j), errstr, errstr_size);
        }
        size_t left = ql_delivery_wait(dl, d->rk, d->timeout_ms);
        if (!rc && (left || ql_delivery_failed(dl))) {
                char why[256];
                ql_delivery_first_error(dl, why, sizeof(why));
                snprintf(errstr, errstr_size,
                         "dead letters to %s: %zu of %zu not acknowledged%s%s",
                         d->topic, left + ql_delivery_failed(dl), n,
                         why[0] ? ": " : "", why);
                rc = -1;
        }
        ql_delivery_release(dl);
        return rc;
}
