/*
 * dlq: dead letters through an idempotent producer of our own, whose
 * delivery reports say, per message, what Kafka answered: the hook must
 * tell a refusal for good (skip it) from a failure that a retry may cure
 * (fail the batch).  Each hook call is a round; a message carries its
 * round and its index in the batch's rejects packed into its opaque, so a
 * late report of an earlier round (one the hook stopped waiting for) is
 * recognised and ignored without any memory to free.
 *
 * The producer is only ever polled by the hook (the writer thread) and at
 * destroy, so the reports land on that thread: no locking.  A producer
 * that raised a fatal error (possible with idempotence) is replaced by a
 * new one at the next call.
 */
#include "dlq.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ql_kafka.h"
#include "ql_util.h"

#define INDEX_BITS 20 /* rejects per batch: < 2^20 (batch_size <= 100000) */
#define ROUND_MASK (UINTPTR_MAX >> INDEX_BITS)
/* Room left in a message for what librdkafka adds around the key, the
 * value and the headers (record framing, varints). */
#define FRAMING_BYTES 1024

struct triage_dlq_s {
        rd_kafka_t *rk;
        rd_kafka_conf_t *tmpl; /* to build a new producer after a fatal one */
        char *topic;
        int timeout_ms;
        size_t max_bytes; /* the producer's message.max.bytes */
        ql_log_t *lg;
        uintptr_t round;
        rd_kafka_resp_err_t *err; /* per reject of the round */
        unsigned char *settled;
        size_t cap, unsettled;
        triage_dlq_stats_t last;
};

static void *tag_of(uintptr_t round, size_t index)
{
        return (void *)(((round & ROUND_MASK) << INDEX_BITS) |
                        (uintptr_t)(index + 1));
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
        (void)rk;
        triage_dlq_t *d = opaque;
        uintptr_t tag = (uintptr_t)m->_private;
        size_t index = (size_t)(tag & (((uintptr_t)1 << INDEX_BITS) - 1));
        if (!index || (tag >> INDEX_BITS) != (d->round & ROUND_MASK) ||
            index > d->cap || d->settled[index - 1])
                return; /* an earlier round's, given up on */
        d->settled[index - 1] = 1;
        d->err[index - 1] = m->err;
        d->unsettled--;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
        triage_dlq_t *d = rd_kafka_opaque(rk);
        ql_log(d->lg,
               level <= 3   ? QL_LOG_ERROR
               : level <= 5 ? QL_LOG_WARN
                            : QL_LOG_DEBUG,
               "kafka %s: %s", fac, buf);
}

/* Was `key` set in [kafka]? */
static int operator_set(const triage_config_t *cfg, const char *key)
{
        for (size_t i = 0; i < cfg->base.kafka_n; i++)
                if (!strcmp(cfg->base.kafka[i].key, key))
                        return 1;
        return 0;
}

static int make_producer(triage_dlq_t *d, char *errstr, size_t errstr_size)
{
        char why[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_dup(d->tmpl);
        d->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
        if (!d->rk) {
                rd_kafka_conf_destroy(conf);
                snprintf(errstr, errstr_size, "dead-letter producer: %s", why);
                return -1;
        }
        /* rd_kafka_new() owns conf now. */
        char v[32];
        size_t len = sizeof(v);
        d->max_bytes = 1000000;
        if (rd_kafka_conf_get(rd_kafka_conf(d->rk), "message.max.bytes", v,
                              &len) == RD_KAFKA_CONF_OK)
                d->max_bytes = (size_t)strtoul(v, NULL, 10);
        return 0;
}

triage_dlq_t *triage_dlq_new(const triage_config_t *cfg, ql_log_t *lg,
                             char *errstr, size_t errstr_size)
{
        triage_dlq_t *d = calloc(1, sizeof(*d));
        if (!d) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        d->lg = lg;
        d->timeout_ms = cfg->base.kafka_timeout_ms + 5000;
        d->topic = strdup(cfg->dlq_topic);
        if (!d->topic) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (!(d->tmpl = ql_kafka_conf_new(&cfg->base, errstr, errstr_size)))
                goto fail;
        char timeout[32], why[512];
        snprintf(timeout, sizeof(timeout), "%d", cfg->base.kafka_timeout_ms);
        /* The guarantees, after the operator's pairs; and a topic that
         * does not exist is reported as such well before the message
         * times out (which would count as a failure to retry). */
        const char *fixed[][2] = {
            {"enable.idempotence", "true"},
            {"acks", "all"},
            {"message.timeout.ms", timeout},
        };
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
                if (rd_kafka_conf_set(d->tmpl, fixed[i][0], fixed[i][1], why,
                                      sizeof(why)) != RD_KAFKA_CONF_OK) {
                        snprintf(errstr, errstr_size, "%s: %s", fixed[i][0],
                                 why);
                        goto fail;
                }
        if (!operator_set(cfg, "topic.metadata.propagation.max.ms") &&
            rd_kafka_conf_set(d->tmpl, "topic.metadata.propagation.max.ms",
                              "10000", why, sizeof(why)) != RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size,
                         "topic.metadata.propagation.max.ms: %s", why);
                goto fail;
        }
        rd_kafka_conf_set_dr_msg_cb(d->tmpl, on_delivery);
        rd_kafka_conf_set_log_cb(d->tmpl, on_log);
        rd_kafka_conf_set_opaque(d->tmpl, d);
        if (make_producer(d, errstr, errstr_size))
                goto fail;
        return d;
fail:
        triage_dlq_destroy(d);
        return NULL;
}

/* Flush, drop the producer; what is left undelivered is said. */
static void close_producer(triage_dlq_t *d, int flush_ms)
{
        if (!d->rk)
                return;
        rd_kafka_flush(d->rk, flush_ms);
        int left = rd_kafka_outq_len(d->rk);
        if (left > 0)
                ql_error(d->lg,
                         "dead-letter producer closed with %d messages "
                         "undelivered (they are in ql.rejected_record)",
                         left);
        rd_kafka_destroy(d->rk);
        d->rk = NULL;
}

void triage_dlq_destroy(triage_dlq_t *d)
{
        if (!d)
                return;
        close_producer(d, 5000);
        if (d->tmpl)
                rd_kafka_conf_destroy(d->tmpl);
        free(d->topic);
        free(d->err);
        free(d->settled);
        free(d);
}

void triage_dlq_last(const triage_dlq_t *d, triage_dlq_stats_t *out)
{
        *out = d->last;
}

/* A refusal that sending again cannot change. */
static int permanent(rd_kafka_resp_err_t e)
{
        switch (e) {
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
        case RD_KAFKA_RESP_ERR_INVALID_RECORD:
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
        case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
        case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
        case RD_KAFKA_RESP_ERR__INVALID_ARG:
                return 1;
        default:
                return 0;
        }
}

/* Size of the headers on the wire, with room for their varints. */
static size_t header_bytes(const char *const (*h)[2], size_t n)
{
        size_t sum = 0;
        for (size_t i = 0; i < n; i++)
                sum += strlen(h[i][0]) + strlen(h[i][1]) + 10;
        return sum;
}

/* Produce reject i of b; truncated if it would not fit.  0 when queued,
 * else librdkafka's error. */
static rd_kafka_resp_err_t produce_one(triage_dlq_t *d, const triage_batch_t *b,
                                       size_t i, int64_t deadline)
{
        const triage_reject_t *j = triage_batch_reject(b, i);
        char part[16], off[24], whole[24], whole_key[24];
        snprintf(part, sizeof(part), "%" PRId32, j->partition);
        snprintf(off, sizeof(off), "%" PRId64, j->offset);
        const char *h[7][2] = {
            {"error", j->error},
            {"kind", triage_reject_kind_name(j->kind)},
            {"source.topic", triage_batch_topic(b)},
            {"source.partition", part},
            {"source.offset", off},
        };
        size_t nh = 5;
        size_t key_len = j->key_len, len = j->len;
        /* Two more headers at most, counted in advance. */
        size_t room = header_bytes(h, nh) + 2 * 48 + FRAMING_BYTES;
        if (d->max_bytes > room && key_len + len > d->max_bytes - room) {
                size_t budget = d->max_bytes - room;
                if (key_len > budget / 2) {
                        snprintf(whole_key, sizeof(whole_key), "%zu", key_len);
                        h[nh][0] = "key.truncated";
                        h[nh++][1] = whole_key;
                        key_len = budget / 2;
                }
                if (len > budget - key_len) {
                        snprintf(whole, sizeof(whole), "%zu", len);
                        h[nh][0] = "truncated";
                        h[nh++][1] = whole;
                        len = budget - key_len;
                }
                d->last.truncated++;
                ql_warn(d->lg,
                        "%s/%s/%s: dead letter of %zu bytes cut to %zu to fit "
                        "message.max.bytes %zu (header 'truncated'; the "
                        "whole record is in ql.rejected_record)",
                        triage_batch_topic(b), part, off, j->key_len + j->len,
                        key_len + len, d->max_bytes);
        }
        for (;;) {
                rd_kafka_headers_t *hdrs = rd_kafka_headers_new(nh);
                for (size_t k = 0; k < nh; k++)
                        rd_kafka_header_add(hdrs, h[k][0], -1, h[k][1], -1);
                rd_kafka_resp_err_t err = rd_kafka_producev(
                    d->rk, RD_KAFKA_V_TOPIC(d->topic),
                    RD_KAFKA_V_KEY(j->key, key_len),
                    RD_KAFKA_V_VALUE(j->payload, len),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_HEADERS(hdrs),
                    RD_KAFKA_V_OPAQUE(tag_of(d->round, i)), RD_KAFKA_V_END);
                if (!err)
                        return 0; /* librdkafka owns hdrs now */
                rd_kafka_headers_destroy(hdrs);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        return err;
                /* Back-pressure: serve reports to make room. */
                if (ql_util_mono_ms() >= deadline)
                        return RD_KAFKA_RESP_ERR__TIMED_OUT;
                rd_kafka_poll(d->rk, 50);
        }
}

/* A producer fit to send: one that raised a fatal error is replaced. */
static int usable_producer(triage_dlq_t *d, char *errstr, size_t errstr_size)
{
        char why[256];
        if (d->rk && rd_kafka_fatal_error(d->rk, why, sizeof(why)) ==
                         RD_KAFKA_RESP_ERR_NO_ERROR)
                return 0;
        if (d->rk) {
                ql_error(d->lg,
                         "dead-letter producer failed for good (%s); "
                         "starting a new one",
                         why);
                close_producer(d, 0);
        }
        return make_producer(d, errstr, errstr_size);
}

int triage_dlq_hook(void *arg, const triage_batch_t *b, char *errstr,
                    size_t errstr_size)
{
        triage_dlq_t *d = arg;
        memset(&d->last, 0, sizeof(d->last));
        size_t n = triage_batch_reject_count(b);
        if (!n)
                return 0;
        if (usable_producer(d, errstr, errstr_size))
                return -1;
        if (n > d->cap) {
                rd_kafka_resp_err_t *e = realloc(d->err, n * sizeof(*e));
                if (e)
                        d->err = e;
                unsigned char *s = e ? realloc(d->settled, n) : NULL;
                if (!s) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                d->settled = s;
                d->cap = n;
        }
        /* Reports of earlier rounds are ignored from here on. */
        d->round++;
        memset(d->settled, 0, d->cap);
        d->unsettled = 0;
        int64_t deadline = ql_util_mono_ms() + d->timeout_ms;
        for (size_t i = 0; i < n; i++) {
                rd_kafka_resp_err_t e = produce_one(d, b, i, deadline);
                if (e) {
                        d->settled[i] = 1;
                        d->err[i] = e;
                } else {
                        d->unsettled++;
                }
        }
        for (int64_t left;
             d->unsettled && (left = deadline - ql_util_mono_ms()) > 0;)
                rd_kafka_poll(d->rk, left < 100 ? (int)left : 100);

        size_t retry = 0, skipped = 0;
        const char *first = NULL;
        for (size_t i = 0; i < n; i++) {
                if (!d->settled[i]) {
                        retry++;
                        if (!first)
                                first = "no acknowledgement in time";
                } else if (d->err[i] && !permanent(d->err[i])) {
                        retry++;
                        if (!first)
                                first = rd_kafka_err2str(d->err[i]);
                } else if (d->err[i]) {
                        skipped++;
                }
        }
        if (retry) {
                snprintf(errstr, errstr_size,
                         "dead letters to %s: %zu of %zu not acknowledged: %s",
                         d->topic, retry, n, first);
                d->last.truncated = 0;
                return -1;
        }
        for (size_t i = 0; i < n; i++) {
                if (!d->err[i] || !d->settled[i])
                        continue;
                const triage_reject_t *j = triage_batch_reject(b, i);
                ql_error(d->lg,
                         "%s/%" PRId32 "/%" PRId64
                         ": dead letter not put on %s, Kafka refused it for "
                         "good (%s); the record stays in ql.rejected_record",
                         triage_batch_topic(b), j->partition, j->offset,
                         d->topic, rd_kafka_err2str(d->err[i]));
        }
        d->last.skipped = skipped;
        return 0;
}
