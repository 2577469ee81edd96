/*
 * redrive: chunks of pending dead letters, each in its own transaction:
 * lock the rows, produce them, wait for every acknowledgement, mark them,
 * commit.  If Kafka does not acknowledge a chunk, the transaction rolls back
 * and the rows stay pending for the next run.
 */
#include "redrive.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "ql_kafka.h"

#define REDRIVE_CHUNK "500"

static const char pending_sql[] =
    "SELECT rejected_id, key, payload, topic, kafka_partition, kafka_offset"
    " FROM ql.rejected_record"
    " WHERE redriven_at IS NULL AND payload IS NOT NULL"
    " AND kind <> 'CONFLICTING_DUPLICATE'"
    " ORDER BY rejected_id LIMIT $1 FOR UPDATE SKIP LOCKED";
static const char mark_sql[] = "UPDATE ql.rejected_record SET redriven_at ="
                               " now() WHERE rejected_id = ANY ($1::bigint[])";

static int pg_ok(PGconn *c, PGresult *r, ExecStatusType want, const char *what,
                 char *errstr, size_t errstr_size)
{
        if (r && PQresultStatus(r) == want)
                return 1;
        snprintf(errstr, errstr_size, "%s: %s", what, PQerrorMessage(c));
        errstr[strcspn(errstr, "\n")] = '\0';
        return 0;
}

static int simple(PGconn *c, const char *sql, char *errstr, size_t errstr_size)
{
        PGresult *r = PQexec(c, sql);
        int ok = pg_ok(c, r, PGRES_COMMAND_OK, sql, errstr, errstr_size);
        PQclear(r);
        return ok ? 0 : -1;
}

/* Produce the chunk in r; 0 when every message was acknowledged. */
static int produce_chunk(const triage_config_t *cfg, ql_log_t *lg,
                         rd_kafka_t *rk, PGresult *r, char *errstr,
                         size_t errstr_size)
{
        ql_delivery_t *d = ql_delivery_new();
        if (!d) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        int rc = 0;
        for (int i = 0; i < PQntuples(r) && !rc; i++) {
                size_t key_len = 0, len = 0;
                unsigned char *key =
                    PQgetisnull(r, i, 1)
                        ? NULL
                        : PQunescapeBytea(
                              (const unsigned char *)PQgetvalue(r, i, 1),
                              &key_len);
                unsigned char *payload = PQunescapeBytea(
                    (const unsigned char *)PQgetvalue(r, i, 2), &len);
                const char *id = PQgetvalue(r, i, 0);
                rd_kafka_headers_t *h = rd_kafka_headers_new(1);
                rd_kafka_header_add(h, "redrive.rejected_id", -1, id, -1);
                if (!payload || (!PQgetisnull(r, i, 1) && !key)) {
                        rd_kafka_headers_destroy(h);
                        snprintf(errstr, errstr_size, "out of memory");
                        rc = -1;
                } else {
                        rc = ql_delivery_produce(d, rk, cfg->base.topic, key,
                                                 key_len, payload, len, h,
                                                 errstr, errstr_size);
                }
                if (!rc)
                        ql_info(lg,
                                "re-driving rejected_id=%s (%s/%s/%s) to %s",
                                id, PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
                                PQgetvalue(r, i, 5), cfg->base.topic);
                PQfreemem(key);
                PQfreemem(payload);
        }
        size_t left =
            ql_delivery_wait(d, rk, cfg->base.kafka_timeout_ms + 5000);
        if (!rc && (left || ql_delivery_failed(d))) {
                char why[256];
                ql_delivery_first_error(d, why, sizeof(why));
                snprintf(errstr, errstr_size,
                         "re-drive to %s: %zu records not acknowledged%s%s",
                         cfg->base.topic, left + ql_delivery_failed(d),
                         why[0] ? ": " : "", why);
                rc = -1;
        }
        ql_delivery_release(d);
        return rc;
}

long triage_redrive(const triage_config_t *cfg, const triage_pgconn_t *pg,
                    ql_log_t *lg, char *errstr, size_t errstr_size)
{
        PGconn *c = triage_pgconn_connect(pg);
        if (!c || PQstatus(c) != CONNECTION_OK) {
                snprintf(errstr, errstr_size, "PostgreSQL connection: %s",
                         c ? PQerrorMessage(c) : "out of memory");
                errstr[strcspn(errstr, "\n")] = '\0';
                PQfinish(c);
                return -1;
        }
        rd_kafka_t *rk =
            ql_kafka_producer_new(&cfg->base, lg, errstr, errstr_size);
        if (!rk) {
                PQfinish(c);
                return -1;
        }
        long total = 0;
        for (;;) {
                if (simple(c, "BEGIN", errstr, errstr_size))
                        goto fail;
                const char *chunk[] = {REDRIVE_CHUNK};
                PGresult *r =
                    PQexecParams(c, pending_sql, 1, NULL, chunk, NULL, NULL, 0);
                if (!pg_ok(c, r, PGRES_TUPLES_OK, "pending dead letters",
                           errstr, errstr_size)) {
                        PQclear(r);
                        goto fail;
                }
                int n = PQntuples(r);
                if (n == 0) {
                        PQclear(r);
                        if (simple(c, "COMMIT", errstr, errstr_size))
                                goto fail;
                        break;
                }
                if (produce_chunk(cfg, lg, rk, r, errstr, errstr_size)) {
                        PQclear(r);
                        goto fail;
                }
                const char **ids = malloc((size_t)n * sizeof(*ids));
                triage_buf_t lit = {0};
                int bad = !ids;
                for (int i = 0; !bad && i < n; i++)
                        ids[i] = PQgetvalue(r, i, 0);
                bad = bad || triage_buf_array_literal(&lit, ids, (size_t)n);
                free(ids);
                PQclear(r);
                if (bad) {
                        triage_buf_free(&lit);
                        snprintf(errstr, errstr_size, "out of memory");
                        goto fail;
                }
                const char *params[] = {lit.buf};
                r = PQexecParams(c, mark_sql, 1, NULL, params, NULL, NULL, 0);
                int ok = pg_ok(c, r, PGRES_COMMAND_OK, "mark re-driven", errstr,
                               errstr_size);
                PQclear(r);
                triage_buf_free(&lit);
                if (!ok || simple(c, "COMMIT", errstr, errstr_size))
                        goto fail;
                total += n;
        }
        rd_kafka_flush(rk, 5000);
        rd_kafka_destroy(rk);
        PQfinish(c);
        return total;
fail:
        if (PQstatus(c) == CONNECTION_OK) {
                char ignore[256];
                simple(c, "ROLLBACK", ignore, sizeof(ignore));
        }
        rd_kafka_flush(rk, 5000);
        rd_kafka_destroy(rk);
        PQfinish(c);
        return -1;
}
