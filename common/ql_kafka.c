/*
 * ql_kafka: client configuration from ql_config_t, the idempotent producer,
 * and the delivery tracker.  A tracker counts the messages of one unit of
 * work in flight; librdkafka's delivery report callback (on whichever thread
 * polls the producer) settles them.  Each in-flight message holds a
 * reference, so the tracker outlives a caller that stopped waiting.
 */
#include "ql_kafka.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ql_util.h"

struct ql_delivery_s {
        pthread_mutex_t lock;
        pthread_cond_t settled;
        int refs;
        size_t in_flight, acked, failed;
        char first_error[256];
};

rd_kafka_conf_t *ql_kafka_conf_new(const ql_config_t *cfg, char *errstr,
                                   size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char why[512];
        if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->brokers, why,
                              sizeof(why)) != RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "brokers: %s", why);
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        for (size_t i = 0; i < cfg->kafka_n; i++) {
                if (rd_kafka_conf_set(conf, cfg->kafka[i].key,
                                      cfg->kafka[i].value, why,
                                      sizeof(why)) != RD_KAFKA_CONF_OK) {
                        snprintf(errstr, errstr_size, "[kafka] %s: %s",
                                 cfg->kafka[i].key, why);
                        rd_kafka_conf_destroy(conf);
                        return NULL;
                }
        }
        return conf;
}

/* Drop one reference; the last one frees the tracker. */
static void delivery_unref(ql_delivery_t *d)
{
        pthread_mutex_lock(&d->lock);
        int last = --d->refs == 0;
        pthread_mutex_unlock(&d->lock);
        if (last) {
                pthread_cond_destroy(&d->settled);
                pthread_mutex_destroy(&d->lock);
                free(d);
        }
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
        ql_delivery_t *d = m->_private;
        if (!d)
                return;
        pthread_mutex_lock(&d->lock);
        d->in_flight--;
        if (m->err) {
                d->failed++;
                if (!d->first_error[0])
                        snprintf(d->first_error, sizeof(d->first_error), "%s",
                                 rd_kafka_err2str(m->err));
        } else {
                d->acked++;
        }
        pthread_cond_broadcast(&d->settled);
        pthread_mutex_unlock(&d->lock);
        delivery_unref(d);
}

/* librdkafka's own log lines, through our logger. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
        ql_log_t *lg = rd_kafka_opaque(rk);
        ql_log(lg,
               level <= 3   ? QL_LOG_ERROR
               : level <= 5 ? QL_LOG_WARN
                            : QL_LOG_DEBUG,
               "kafka %s: %s", fac, buf);
}

rd_kafka_t *ql_kafka_producer_new(const ql_config_t *cfg, ql_log_t *lg,
                                  char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = ql_kafka_conf_new(cfg, errstr, errstr_size);
        if (!conf)
                return NULL;
        char timeout[32], why[512];
        snprintf(timeout, sizeof(timeout), "%d", cfg->kafka_timeout_ms);
        /* Operators may tune anything in [kafka], but not the guarantees:
         * idempotence and acks=all are set after their pairs. */
        const char *fixed[][2] = {
            {"enable.idempotence", "true"},
            {"acks", "all"},
            {"message.timeout.ms", timeout},
        };
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
                if (rd_kafka_conf_set(conf, fixed[i][0], fixed[i][1], why,
                                      sizeof(why)) != RD_KAFKA_CONF_OK) {
                        snprintf(errstr, errstr_size, "%s: %s", fixed[i][0],
                                 why);
                        rd_kafka_conf_destroy(conf);
                        return NULL;
                }
        }
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_opaque(conf, lg);
        rd_kafka_conf_set_log_cb(conf, on_log);
        rd_kafka_t *rk =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
        if (!rk) {
                snprintf(errstr, errstr_size, "kafka producer: %s", why);
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        /* rd_kafka_new() owns conf now. */
        return rk;
}

ql_delivery_t *ql_delivery_new(void)
{
        ql_delivery_t *d = calloc(1, sizeof(*d));
        if (!d)
                return NULL;
        pthread_mutex_init(&d->lock, NULL);
        pthread_cond_init(&d->settled, NULL);
        d->refs = 1;
        return d;
}

void ql_delivery_release(ql_delivery_t *d)
{
        if (d)
                delivery_unref(d);
}

int ql_delivery_produce(ql_delivery_t *d, rd_kafka_t *rk, const char *topic,
                        const void *key, size_t key_len, const void *payload,
                        size_t len, rd_kafka_headers_t *hdrs, char *errstr,
                        size_t errstr_size)
{
        pthread_mutex_lock(&d->lock);
        d->refs++;
        d->in_flight++;
        pthread_mutex_unlock(&d->lock);
        for (;;) {
                rd_kafka_resp_err_t err =
                    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                      RD_KAFKA_V_KEY((void *)key, key_len),
                                      RD_KAFKA_V_VALUE((void *)payload, len),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_HEADERS(hdrs),
                                      RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
                if (!err)
                        return 0; /* librdkafka owns hdrs now */
                if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        /* Back-pressure: serve delivery reports to make
                         * room.  Another thread may be polling too, which
                         * is harmless. */
                        rd_kafka_poll(rk, 50);
                        continue;
                }
                snprintf(errstr, errstr_size, "produce to %s: %s", topic,
                         rd_kafka_err2str(err));
                if (hdrs)
                        rd_kafka_headers_destroy(hdrs);
                pthread_mutex_lock(&d->lock);
                d->in_flight--;
                pthread_mutex_unlock(&d->lock);
                delivery_unref(d);
                return -1;
        }
}

size_t ql_delivery_wait(ql_delivery_t *d, rd_kafka_t *poll_rk, int timeout_ms)
{
        int64_t deadline = ql_util_mono_ms() + timeout_ms;
        for (;;) {
                size_t left = ql_delivery_in_flight(d);
                int64_t remain = deadline - ql_util_mono_ms();
                if (left == 0 || remain <= 0)
                        return left;
                if (poll_rk) {
                        rd_kafka_poll(poll_rk,
                                      remain < 100 ? (int)remain : 100);
                        continue;
                }
                struct timespec until;
                ql_util_abstime(&until, remain < 100 ? remain : 100);
                pthread_mutex_lock(&d->lock);
                if (d->in_flight > 0)
                        pthread_cond_timedwait(&d->settled, &d->lock, &until);
                pthread_mutex_unlock(&d->lock);
        }
}

#define DELIVERY_GETTER(field)                                                 \
        size_t ql_delivery_##field(ql_delivery_t *d)                           \
        {                                                                      \
                pthread_mutex_lock(&d->lock);                                  \
                size_t v = d->field;                                           \
                pthread_mutex_unlock(&d->lock);                                \
                return v;                                                      \
        }
DELIVERY_GETTER(in_flight)
DELIVERY_GETTER(acked)
DELIVERY_GETTER(failed)

void ql_delivery_first_error(ql_delivery_t *d, char *buf, size_t buf_size)
{
        pthread_mutex_lock(&d->lock);
        snprintf(buf, buf_size, "%s", d->first_error);
        pthread_mutex_unlock(&d->lock);
}

struct ql_kafka_probe_s {
        rd_kafka_t *rk;
        rd_kafka_topic_t *rkt;
        char *topic;
        int cache_ms, timeout_ms;
        pthread_mutex_t lock;   /* guards the verdict */
        pthread_mutex_t asking; /* held by the one caller asking Kafka */
        int64_t checked_at;     /* ms, 0 = never */
        int ok;
        char why[256];
};

ql_kafka_probe_t *ql_kafka_probe_new(rd_kafka_t *rk, const char *topic,
                                     int cache_ms, int timeout_ms)
{
        ql_kafka_probe_t *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->rk = rk;
        p->topic = strdup(topic);
        p->rkt = rd_kafka_topic_new(rk, topic, NULL);
        if (!p->topic || !p->rkt) {
                ql_kafka_probe_destroy(p);
                return NULL;
        }
        p->cache_ms = cache_ms;
        p->timeout_ms = timeout_ms;
        pthread_mutex_init(&p->lock, NULL);
        pthread_mutex_init(&p->asking, NULL);
        snprintf(p->why, sizeof(p->why), "Kafka not checked yet");
        return p;
}

void ql_kafka_probe_destroy(ql_kafka_probe_t *p)
{
        if (!p)
                return;
        if (p->rkt) {
                rd_kafka_topic_destroy(p->rkt);
                pthread_mutex_destroy(&p->lock);
                pthread_mutex_destroy(&p->asking);
        }
        free(p->topic);
        free(p);
}

int ql_kafka_probe_ready(void *probe, char *why, size_t why_size)
{
        ql_kafka_probe_t *p = probe;
        pthread_mutex_lock(&p->lock);
        int stale =
            !p->checked_at || ql_util_mono_ms() - p->checked_at > p->cache_ms;
        pthread_mutex_unlock(&p->lock);
        if (stale && pthread_mutex_trylock(&p->asking) == 0) {
                char reason[sizeof(p->why)] = "";
                const struct rd_kafka_metadata *md = NULL;
                rd_kafka_resp_err_t err =
                    rd_kafka_metadata(p->rk, 0, p->rkt, &md, p->timeout_ms);
                if (err)
                        snprintf(reason, sizeof(reason), "Kafka: %s",
                                 rd_kafka_err2str(err));
                else if (md->topic_cnt != 1 || md->topics[0].err ||
                         md->topics[0].partition_cnt == 0)
                        snprintf(reason, sizeof(reason), "Kafka: topic %s: %s",
                                 p->topic,
                                 md->topic_cnt == 1
                                     ? rd_kafka_err2str(md->topics[0].err)
                                     : "not found");
                if (md)
                        rd_kafka_metadata_destroy(md);
                pthread_mutex_lock(&p->lock);
                p->ok = reason[0] == '\0';
                memcpy(p->why, reason, sizeof(reason));
                p->checked_at = ql_util_mono_ms();
                pthread_mutex_unlock(&p->lock);
                pthread_mutex_unlock(&p->asking);
        }
        pthread_mutex_lock(&p->lock);
        int ok = p->ok;
        snprintf(why, why_size, "%s", p->why);
        pthread_mutex_unlock(&p->lock);
        return ok;
}
