/*
 * bench_load: load a JSONL file of result documents onto a Kafka topic as
 * fast as it goes, for the ql-triage benchmark.  Each line is encoded with
 * ql_codec (single-object Avro, newest schema of QL_SCHEMA_DIR) and produced
 * with the enterprise's credit code as key, by an idempotent producer
 * compressing with lz4 as ql-spool does (the dev broker keeps about 5 MB
 * of each partition: compressed, a million results fit on 128); the
 * tool exits 0 once every record was acknowledged, printing the count and
 * the rate on stdout.  Lines that do not encode are counted and skipped.
 *
 *     bench_load BROKERS TOPIC FILE.jsonl
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "ql_codec.h"
#include "ql_result.h"

typedef struct {
        size_t acked, failed;
        char first_error[256];
} load_stats_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
        load_stats_t *st = opaque;
        if (m->err) {
                if (!st->failed++)
                        snprintf(st->first_error, sizeof(st->first_error), "%s",
                                 rd_kafka_err2str(m->err));
        } else {
                st->acked++;
        }
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static rd_kafka_t *producer(const char *brokers, load_stats_t *st)
{
        const char *props[][2] = {
            {"bootstrap.servers", brokers},
            {"enable.idempotence", "true"},
            {"linger.ms", "20"},
            {"batch.num.messages", "1000"},
            {"batch.size", "1000000"},
            {"queue.buffering.max.kbytes", "65536"},
            {"compression.codec", "lz4"},
        };
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
                if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err,
                                      sizeof(err)) != RD_KAFKA_CONF_OK) {
                        fprintf(stderr, "bench_load: %s: %s\n", props[i][0],
                                err);
                        rd_kafka_conf_destroy(conf);
                        return NULL;
                }
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_opaque(conf, st);
        rd_kafka_t *rk =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!rk) {
                fprintf(stderr, "bench_load: %s\n", err);
                rd_kafka_conf_destroy(conf);
        }
        return rk; /* rd_kafka_new() owns conf now */
}

int main(int argc, char **argv)
{
        if (argc != 4) {
                fprintf(stderr, "usage: bench_load BROKERS TOPIC FILE.jsonl "
                                "(schemas from QL_SCHEMA_DIR)\n");
                return 2;
        }
        const char *dir = getenv("QL_SCHEMA_DIR");
        char err[512];
        ql_codec_t *codec = ql_codec_new(
            dir && *dir ? dir : QL_SOURCE_SCHEMA_DIR, err, sizeof(err));
        if (!codec) {
                fprintf(stderr, "bench_load: %s\n", err);
                return 1;
        }
        FILE *in = fopen(argv[3], "r");
        if (!in) {
                fprintf(stderr, "bench_load: %s: %s\n", argv[3],
                        strerror(errno));
                ql_codec_destroy(codec);
                return 1;
        }
        load_stats_t st = {0};
        rd_kafka_t *rk = producer(argv[1], &st);
        if (!rk) {
                fclose(in);
                ql_codec_destroy(codec);
                return 1;
        }
        double t0 = now_s();
        size_t sent = 0, skipped = 0;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, in)) > 0) {
                json_error_t jerr;
                json_t *doc = json_loadb(line, (size_t)n, 0, &jerr);
                unsigned char *msg = NULL;
                size_t len = 0;
                const char *key =
                    doc ? ql_result_str(doc, "enterprise.credit_code") : NULL;
                if (!doc || !key ||
                    ql_codec_encode(codec, doc, &msg, &len, err, sizeof(err))) {
                        skipped++;
                        json_decref(doc);
                        continue;
                }
                for (;;) {
                        rd_kafka_resp_err_t e = rd_kafka_producev(
                            rk, RD_KAFKA_V_TOPIC(argv[2]),
                            RD_KAFKA_V_KEY((void *)key, strlen(key)),
                            RD_KAFKA_V_VALUE(msg, len),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
                            RD_KAFKA_V_END);
                        if (!e) {
                                msg = NULL; /* librdkafka frees it */
                                break;
                        }
                        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                                fprintf(stderr, "bench_load: produce: %s\n",
                                        rd_kafka_err2str(e));
                                free(msg);
                                msg = NULL;
                                st.failed++;
                                break;
                        }
                        rd_kafka_poll(rk, 10);
                }
                sent++;
                rd_kafka_poll(rk, 0);
                json_decref(doc);
        }
        free(line);
        fclose(in);
        rd_kafka_flush(rk, 60000);
        double secs = now_s() - t0;
        int left = rd_kafka_outq_len(rk);
        rd_kafka_destroy(rk);
        ql_codec_destroy(codec);
        printf("%zu records loaded in %.2f s (%.0f records/s), %zu skipped\n",
               st.acked, secs, secs > 0 ? (double)st.acked / secs : 0.0,
               skipped);
        if (left || st.failed || st.acked != sent) {
                fprintf(stderr, "bench_load: %zu failed, %d undelivered%s%s\n",
                        st.failed, left, st.first_error[0] ? ": " : "",
                        st.first_error);
                return 1;
        }
        return 0;
}
