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
 * The records go partition by partition (each to the partition its key
 * hashes to, librdkafka's default consistent_random partitioner, in file
 * order within a partition), so that every partition's log is a few large
 * message sets.  The dev broker's Fetch (librdkafka's mock cluster) answers
 * with one message set per partition and finds it by walking the
 * partition's list of sets from the start; with the small sets of keyed
 * records spread over 128 partitions (a few records each), a consumer's
 * rate there falls with its offset (measured: 8,700 records/s at the
 * second 100,000 of a million, 1,700 at the last), which a Kafka broker
 * (an offset index; up to max.partition.fetch.bytes per partition) does
 * not do.
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
            {"linger.ms", "100"},
            {"batch.num.messages", "10000"},
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

/* The lines of one partition: their offsets and lengths in the file. */
typedef struct {
        long *at;
        size_t *len;
        size_t n, cap;
} line_set_t;

static int line_set_add(line_set_t *s, long at, size_t len)
{
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 1024;
                long *a = realloc(s->at, cap * sizeof(*a));
                if (!a)
                        return -1;
                s->at = a;
                size_t *l = realloc(s->len, cap * sizeof(*l));
                if (!l)
                        return -1;
                s->len = l;
                s->cap = cap;
        }
        s->at[s->n] = at;
        s->len[s->n++] = len;
        return 0;
}

static int partition_count(rd_kafka_t *rk, rd_kafka_topic_t *rkt)
{
        const struct rd_kafka_metadata *md = NULL;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
                return -1;
        int n = md->topic_cnt == 1 && !md->topics[0].err
                    ? md->topics[0].partition_cnt
                    : -1;
        rd_kafka_metadata_destroy(md);
        return n;
}

/* Encode one line and produce it to partition p (waiting while the
 * producer's queue is full).  0, or -1 when the line does not encode or
 * the produce fails (counted in st). */
static int produce_line(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t p,
                        ql_codec_t *codec, const char *line, size_t len,
                        load_stats_t *st)
{
        json_error_t jerr;
        char err[512];
        json_t *doc = json_loadb(line, len, 0, &jerr);
        const char *key =
            doc ? ql_result_str(doc, "enterprise.credit_code") : NULL;
        unsigned char *msg = NULL;
        size_t mlen = 0;
        if (!key ||
            ql_codec_encode(codec, doc, &msg, &mlen, err, sizeof(err))) {
                json_decref(doc);
                return -1;
        }
        int rc = 0;
        for (;;) {
                rd_kafka_resp_err_t e = rd_kafka_producev(
                    rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(p),
                    RD_KAFKA_V_KEY((void *)key, strlen(key)),
                    RD_KAFKA_V_VALUE(msg, mlen),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_END);
                if (!e)
                        break; /* librdkafka frees msg */
                if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        fprintf(stderr, "bench_load: produce: %s\n",
                                rd_kafka_err2str(e));
                        free(msg);
                        st->failed++;
                        rc = -1;
                        break;
                }
                rd_kafka_poll(rk, 10);
        }
        rd_kafka_poll(rk, 0);
        json_decref(doc);
        return rc;
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
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, argv[2], NULL);
        int nparts = rkt ? partition_count(rk, rkt) : -1;
        line_set_t *parts =
            nparts > 0 ? calloc((size_t)nparts, sizeof(*parts)) : NULL;
        if (!parts) {
                fprintf(stderr, "bench_load: topic %s: no partitions\n",
                        argv[2]);
                if (rkt)
                        rd_kafka_topic_destroy(rkt);
                rd_kafka_destroy(rk);
                fclose(in);
                ql_codec_destroy(codec);
                return 1;
        }
        /* First pass: each line's partition, from its key. */
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        long pos = 0;
        while ((n = getline(&line, &cap, in)) > 0) {
                long at = pos;
                pos += (long)n;
                json_error_t jerr;
                json_t *doc = json_loadb(line, (size_t)n, 0, &jerr);
                const char *key =
                    doc ? ql_result_str(doc, "enterprise.credit_code") : NULL;
                if (!key) {
                        skipped++;
                        json_decref(doc);
                        continue;
                }
                int32_t p = rd_kafka_msg_partitioner_consistent_random(
                    rkt, key, strlen(key), nparts, NULL, NULL);
                json_decref(doc);
                if (line_set_add(&parts[p], at, (size_t)n)) {
                        fprintf(stderr, "bench_load: out of memory\n");
                        return 1;
                }
        }
        /* Second pass: partition by partition, in file order. */
        for (int p = 0; p < nparts; p++) {
                for (size_t i = 0; i < parts[p].n; i++) {
                        size_t len = parts[p].len[i];
                        if (len + 1 > cap) {
                                char *grown = realloc(line, len + 1);
                                if (!grown) {
                                        fprintf(stderr,
                                                "bench_load: out of memory\n");
                                        return 1;
                                }
                                line = grown;
                                cap = len + 1;
                        }
                        if (fseek(in, parts[p].at[i], SEEK_SET) ||
                            fread(line, 1, len, in) != len) {
                                fprintf(stderr, "bench_load: %s: read: %s\n",
                                        argv[3], strerror(errno));
                                return 1;
                        }
                        if (produce_line(rk, rkt, p, codec, line, len, &st))
                                skipped++;
                        else
                                sent++;
                }
        }
        for (int p = 0; p < nparts; p++) {
                free(parts[p].at);
                free(parts[p].len);
        }
        free(parts);
        free(line);
        fclose(in);
        rd_kafka_flush(rk, 60000);
        double secs = now_s() - t0;
        int left = rd_kafka_outq_len(rk);
        rd_kafka_topic_destroy(rkt);
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
