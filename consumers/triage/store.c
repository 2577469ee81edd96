/*
 * store: the batch transaction on libpq (see store.h for the sequence).
 * Every statement with a value is a named prepared statement with
 * parameters; only the constant COPY commands and transaction control go
 * as plain text.  Errors are sorted by SQLSTATE into the three outcomes the
 * caller acts on: a row PostgreSQL refuses (classes 22, 23, 54: redo the
 * batch row by row), a fault (the connection, or a class that a retry may
 * cure), and anything else (schema problems: also retried, loudly).
 */
#include "store.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct triage_store_s {
        char *conninfo;
        char *group;
        char *topic;
        ql_log_t *lg;
        PGconn *conn;
        int has_retriage;
        char describe[512];
        triage_buf_t scratch; /* array literals, COPY lines */
};

/* What an error means for the batch. */
typedef enum {
        ERR_ROW,       /* a value PostgreSQL refuses: isolate the row */
        ERR_TRANSIENT, /* the connection or the server: retry later */
        ERR_OTHER,     /* the schema or the SQL: retry later, loudly */
} err_class_t;

static const char *const statements[][2] = {
    {"offsets_load", "SELECT kafka_partition, next_offset"
                     " FROM ql.consumer_offset"
                     " WHERE group_id = $1 AND topic = $2"},
    {"offset_cas", "UPDATE ql.consumer_offset"
                   " SET next_offset = $4, updated_at = now()"
                   " WHERE group_id = $1 AND topic = $2"
                   " AND kafka_partition = $3 AND next_offset = $5"},
    {"offset_new", "INSERT INTO ql.consumer_offset"
                   " (group_id, topic, kafka_partition, next_offset)"
                   " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"},
    {"exists", "SELECT result_id FROM ql.inspection_result"
               " WHERE result_id = ANY ($1::text[])"},
    /* Content compared with null and absent alike: a record stored before
     * a schema version added fields lacks them, the same result decoded
     * now has them null, and that is no conflict. */
    {"conflicts", "SELECT s.seq FROM pg_temp.triage_stage s"
                  " JOIN ql.inspection_result r USING (result_id)"
                  " WHERE jsonb_strip_nulls(r.record)"
                  " <> jsonb_strip_nulls(s.record::jsonb)"},
    {"conflict_row", "SELECT s.seq FROM pg_temp.triage_stage s"
                     " JOIN ql.inspection_result r USING (result_id)"
                     " WHERE s.seq = $1 AND jsonb_strip_nulls(r.record)"
                     " <> jsonb_strip_nulls(s.record::jsonb)"},
    {"stage_insert",
     "INSERT INTO ql.inspection_result (result_id, credit_code, kind,"
     " verdict, refers_to, reported_at, record, kafka_topic,"
     " kafka_partition, kafka_offset)"
     " SELECT result_id, credit_code, kind, verdict, refers_to,"
     " reported_at::timestamptz, record::jsonb, kafka_topic,"
     " kafka_partition, kafka_offset"
     " FROM pg_temp.triage_stage WHERE seq = $1"
     " ON CONFLICT (result_id) DO NOTHING RETURNING result_id"},
    {"reject", "INSERT INTO ql.rejected_record (topic, kafka_partition,"
               " kafka_offset, key, payload, error, result_id, kind)"
               " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
               " ON CONFLICT (topic, kafka_partition, kafka_offset)"
               " DO NOTHING"},
};

static const char copy_rows_sql[] =
    "COPY ql.inspection_result (result_id, credit_code, kind, verdict,"
    " refers_to, reported_at, record, kafka_topic, kafka_partition,"
    " kafka_offset) FROM STDIN";
static const char copy_stage_sql[] =
    "COPY pg_temp.triage_stage (seq, result_id, credit_code, kind, verdict,"
    " refers_to, reported_at, record, kafka_topic, kafka_partition,"
    " kafka_offset) FROM STDIN";
/* Text columns only: loading the stage never fails on a value; the casts
 * happen in the statements that read it. */
static const char stage_sql[] =
    "CREATE TEMPORARY TABLE IF NOT EXISTS triage_stage (seq integer,"
    " result_id text, credit_code text, kind text, verdict text,"
    " refers_to text, reported_at text, record text, kafka_topic text,"
    " kafka_partition integer, kafka_offset bigint) ON COMMIT DELETE ROWS";

triage_store_t *triage_store_new(const char *conninfo, const char *group,
                                 const char *topic, ql_log_t *lg)
{
        triage_store_t *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->conninfo = strdup(conninfo);
        s->group = strdup(group);
        s->topic = strdup(topic);
        s->lg = lg;
        if (!s->conninfo || !s->group || !s->topic) {
                triage_store_destroy(s);
                return NULL;
        }
        snprintf(s->describe, sizeof(s->describe), "(not connected)");
        return s;
}

void triage_store_destroy(triage_store_t *s)
{
        if (!s)
                return;
        triage_store_disconnect(s);
        free(s->conninfo);
        free(s->group);
        free(s->topic);
        triage_buf_free(&s->scratch);
        free(s);
}

void triage_store_disconnect(triage_store_t *s)
{
        if (s->conn)
                PQfinish(s->conn);
        s->conn = NULL;
}

int triage_store_connected(const triage_store_t *s)
{
        return s->conn && PQstatus(s->conn) == CONNECTION_OK;
}

const char *triage_store_describe(const triage_store_t *s)
{
        return s->describe;
}

int triage_store_has_retriage(const triage_store_t *s)
{
        return s->has_retriage;
}

static err_class_t classify(const char *sqlstate)
{
        if (!sqlstate || strlen(sqlstate) != 5)
                return ERR_TRANSIENT;
        if (!strncmp(sqlstate, "22", 2) || !strncmp(sqlstate, "23", 2) ||
            !strncmp(sqlstate, "54", 2))
                return ERR_ROW;
        static const char *const transient[] = {"08", "40", "53", "55",
                                                "57", "58", "XX"};
        for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
                if (!strncmp(sqlstate, transient[i], 2))
                        return ERR_TRANSIENT;
        return ERR_OTHER;
}

/* Check r (which may be NULL) for status `want`.  On anything else: the
 * error in errstr as "what: message (SQLSTATE)", its class in *cls, and
 * -1.  r is not cleared. */
static int check(triage_store_t *s, PGresult *r, ExecStatusType want,
                 const char *what, err_class_t *cls, char *errstr,
                 size_t errstr_size)
{
        if (r && PQresultStatus(r) == want)
                return 0;
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        const char *msg =
            r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        if (!msg)
                msg = PQerrorMessage(s->conn);
        char clean[400];
        snprintf(clean, sizeof(clean), "%s", msg && *msg ? msg : "failed");
        clean[strcspn(clean, "\n")] = '\0';
        snprintf(errstr, errstr_size, "%s: %s%s%s%s", what, clean,
                 state ? " (SQLSTATE " : "", state ? state : "",
                 state ? ")" : "");
        if (cls)
                *cls = PQstatus(s->conn) == CONNECTION_OK ? classify(state)
                                                          : ERR_TRANSIENT;
        return -1;
}

/* Run a constant command expecting COMMAND_OK.  0 or -1. */
static int command(triage_store_t *s, const char *sql, err_class_t *cls,
                   char *errstr, size_t errstr_size)
{
        PGresult *r = PQexec(s->conn, sql);
        int rc = check(s, r, PGRES_COMMAND_OK, sql, cls, errstr, errstr_size);
        PQclear(r);
        return rc;
}

/* A prepared statement with text parameters (binary where lengths say). */
static PGresult *run(triage_store_t *s, const char *name, int n,
                     const char *const *values, const int *lengths,
                     const int *formats)
{
        return PQexecPrepared(s->conn, name, n, values, lengths, formats, 0);
}

/* Server notices (NOTICE, WARNING) go to the log, not to stderr raw. */
static void on_notice(void *arg, const char *message)
{
        char line[512];
        snprintf(line, sizeof(line), "%s", message);
        line[strcspn(line, "\n")] = '\0';
        ql_debug(arg, "PostgreSQL: %s", line);
}

static void describe_conn(triage_store_t *s)
{
        const char *host = PQhost(s->conn);
        snprintf(s->describe, sizeof(s->describe),
                 "host=%s port=%s dbname=%s user=%s",
                 host && *host ? host : "(default)", PQport(s->conn),
                 PQdb(s->conn), PQuser(s->conn));
}

int triage_store_connect(triage_store_t *s, int *fatal, char *errstr,
                         size_t errstr_size)
{
        *fatal = 0;
        triage_store_disconnect(s);
        /* The operator's conninfo comes last, so it overrides these. */
        const char *const keys[] = {
            "connect_timeout", "fallback_application_name", "dbname", NULL};
        const char *const vals[] = {"5", "ql-triage", s->conninfo, NULL};
        s->conn = PQconnectdbParams(keys, vals, 1);
        if (!s->conn) {
                snprintf(errstr, errstr_size, "PostgreSQL: out of memory");
                return -1;
        }
        if (PQstatus(s->conn) != CONNECTION_OK) {
                char msg[400];
                snprintf(msg, sizeof(msg), "%s", PQerrorMessage(s->conn));
                msg[strcspn(msg, "\n")] = '\0';
                snprintf(errstr, errstr_size, "PostgreSQL connection: %s", msg);
                triage_store_disconnect(s);
                return -1;
        }
        PQsetNoticeProcessor(s->conn, on_notice, s->lg);
        describe_conn(s);
        const char *enc = PQparameterStatus(s->conn, "server_encoding");
        if (!enc || strcmp(enc, "UTF8")) {
                snprintf(errstr, errstr_size,
                         "PostgreSQL database %s has encoding %s; ql-triage "
                         "needs UTF8",
                         PQdb(s->conn), enc ? enc : "(unknown)");
                *fatal = 1;
                triage_store_disconnect(s);
                return -1;
        }
        err_class_t cls = ERR_TRANSIENT;
        if (PQsetClientEncoding(s->conn, "UTF8") ||
            command(s, stage_sql, &cls, errstr, errstr_size))
                goto fail;
        for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]);
             i++) {
                PGresult *r = PQprepare(s->conn, statements[i][0],
                                        statements[i][1], 0, NULL);
                int rc = check(s, r, PGRES_COMMAND_OK, statements[i][0], &cls,
                               errstr, errstr_size);
                PQclear(r);
                if (rc)
                        goto fail;
        }
        /* ql.retriage may take more arguments, as long as they have
         * defaults: what matters is that ql.retriage(text[]) resolves. */
        PGresult *r =
            PQexec(s->conn, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc"
                            " WHERE pronamespace = to_regnamespace('ql')"
                            " AND proname = 'retriage' AND pronargs >= 1"
                            " AND proargtypes[0] = 'text[]'::regtype"
                            " AND pronargs - pronargdefaults <= 1)");
        int rc = check(s, r, PGRES_TUPLES_OK, "retriage look-up", &cls, errstr,
                       errstr_size);
        s->has_retriage =
            !rc && PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
        PQclear(r);
        if (rc)
                goto fail;
        if (s->has_retriage) {
                r = PQprepare(s->conn, "retriage",
                              "SELECT ql.retriage($1::text[])", 0, NULL);
                rc = check(s, r, PGRES_COMMAND_OK, "retriage", &cls, errstr,
                           errstr_size);
                PQclear(r);
                if (rc)
                        goto fail;
        }
        return 0;
fail:
        /* A missing table is not cured by reconnecting. */
        *fatal = cls == ERR_OTHER;
        triage_store_disconnect(s);
        return -1;
}

int triage_store_ping(triage_store_t *s, char *errstr, size_t errstr_size)
{
        if (!triage_store_connected(s)) {
                snprintf(errstr, errstr_size, "PostgreSQL: not connected");
                return -1;
        }
        PGresult *r = PQexec(s->conn, "SELECT 1");
        int rc =
            check(s, r, PGRES_TUPLES_OK, "ping", NULL, errstr, errstr_size);
        PQclear(r);
        if (rc)
                triage_store_disconnect(s);
        return rc;
}

int triage_store_recategorize(triage_store_t *s, long *changed, char *errstr,
                              size_t errstr_size)
{
        *changed = 0;
        if (!triage_store_connected(s)) {
                snprintf(errstr, errstr_size, "PostgreSQL: not connected");
                return -1;
        }
        if (!s->has_retriage)
                return 0;
        PGresult *r = PQexec(s->conn, "SELECT ql.recategorize()");
        int rc = check(s, r, PGRES_TUPLES_OK, "recategorize", NULL, errstr,
                       errstr_size);
        if (!rc && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
                *changed = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        return rc;
}

int triage_store_load_offsets(triage_store_t *s, triage_partitions_t *t,
                              char *errstr, size_t errstr_size)
{
        if (!triage_store_connected(s)) {
                snprintf(errstr, errstr_size, "PostgreSQL: not connected");
                return -1;
        }
        const char *params[] = {s->group, s->topic};
        PGresult *r = run(s, "offsets_load", 2, params, NULL, NULL);
        if (check(s, r, PGRES_TUPLES_OK, "load offsets", NULL, errstr,
                  errstr_size)) {
                PQclear(r);
                return -1;
        }
        size_t n = triage_partitions_count(t);
        for (size_t i = 0; i < n; i++) {
                triage_partition_t p;
                if (triage_partitions_at(t, i, &p))
                        break;
                int64_t stored = TRIAGE_OFFSET_NONE;
                for (int row = 0; row < PQntuples(r); row++)
                        if (strtol(PQgetvalue(r, row, 0), NULL, 10) ==
                            p.partition)
                                stored =
                                    strtoll(PQgetvalue(r, row, 1), NULL, 10);
                triage_partitions_set_stored(t, p.partition, stored);
        }
        PQclear(r);
        return 0;
}

/* The outcome of one attempt at the transaction. */
typedef enum {
        ATTEMPT_OK,
        ATTEMPT_LOST,
        ATTEMPT_ROW,   /* a refused value: try row by row */
        ATTEMPT_FAULT, /* errstr says what */
        ATTEMPT_HOOK,
} attempt_t;

static attempt_t fault_of(err_class_t cls)
{
        return cls == ERR_ROW ? ATTEMPT_ROW : ATTEMPT_FAULT;
}

/* Compare-and-set each touched partition's stored offset, in partition
 * order so two consumers never wait on each other in a cycle. */
static attempt_t move_offsets(triage_store_t *s, const triage_batch_t *b,
                              char *errstr, size_t errstr_size)
{
        size_t n = triage_batch_part_count(b);
        const triage_batch_part_t *order[n ? n : 1];
        for (size_t i = 0; i < n; i++) {
                const triage_batch_part_t *p = triage_batch_part(b, i);
                size_t j = i;
                while (j > 0 && order[j - 1]->partition > p->partition) {
                        order[j] = order[j - 1];
                        j--;
                }
                order[j] = p;
        }
        for (size_t i = 0; i < n; i++) {
                const triage_batch_part_t *p = order[i];
                char part[16], end[24], start[24];
                snprintf(part, sizeof(part), "%" PRId32, p->partition);
                snprintf(end, sizeof(end), "%" PRId64, p->end);
                snprintf(start, sizeof(start), "%" PRId64, p->start);
                const char *params[] = {s->group, s->topic, part, end, start};
                PGresult *r = p->start >= 0
                                  ? run(s, "offset_cas", 5, params, NULL, NULL)
                                  : run(s, "offset_new", 4, params, NULL, NULL);
                err_class_t cls;
                if (check(s, r, PGRES_COMMAND_OK, "store offset", &cls, errstr,
                          errstr_size)) {
                        PQclear(r);
                        return fault_of(cls);
                }
                int moved = !strcmp(PQcmdTuples(r), "1");
                PQclear(r);
                if (!moved) {
                        snprintf(errstr, errstr_size,
                                 "partition %s: stored offset is no longer %s",
                                 part, p->start >= 0 ? start : "unset");
                        return ATTEMPT_LOST;
                }
        }
        return ATTEMPT_OK;
}

#define ALL_ROWS ((size_t)-1)

/* Send COPY data in slices: libpq's output buffer grows to the largest
 * message and keeps that size, so one message per batch would hold a
 * batch's worth of memory per connection for good.  The server joins the
 * slices (a line may span two). */
#define COPY_SLICE (64 * 1024)

static int put_copy(PGconn *conn, const char *p, size_t n)
{
        while (n) {
                size_t k = n < COPY_SLICE ? n : COPY_SLICE;
                if (PQputCopyData(conn, p, (int)k) != 1)
                        return 0;
                p += k;
                n -= k;
        }
        return 1;
}

/* COPY `sql` FROM STDIN with the lines of the rows whose status is `want`
 * (or just row `only`, whatever its status); with_seq prefixes each line
 * with the row's index (the stage's seq). */
static attempt_t copy_rows(triage_store_t *s, const triage_batch_t *b,
                           const char *sql, triage_row_status_t want,
                           size_t only, int with_seq, char *errstr,
                           size_t errstr_size)
{
        PGresult *r = PQexec(s->conn, sql);
        err_class_t cls;
        if (check(s, r, PGRES_COPY_IN, "COPY", &cls, errstr, errstr_size)) {
                PQclear(r);
                return fault_of(cls);
        }
        PQclear(r);
        /* Adjacent lines are adjacent in the batch's buffer: send runs. */
        const char *run_start = NULL;
        size_t run_len = 0;
        int ok = 1;
        for (size_t i = 0; ok && i < triage_batch_rows(b); i++) {
                if (only == ALL_ROWS ? triage_batch_row_status(b, i) != want
                                     : i != only)
                        continue;
                size_t len;
                const char *line = triage_batch_row_line(b, i, &len);
                if (with_seq) {
                        char seq[24];
                        int n = snprintf(seq, sizeof(seq), "%zu\t", i);
                        ok = put_copy(s->conn, seq, (size_t)n) &&
                             put_copy(s->conn, line, len);
                        continue;
                }
                if (run_start && run_start + run_len == line) {
                        run_len += len;
                        continue;
                }
                if (run_start)
                        ok = put_copy(s->conn, run_start, run_len);
                run_start = line;
                run_len = len;
        }
        if (ok && run_start)
                ok = put_copy(s->conn, run_start, run_len);
        if (PQputCopyEnd(s->conn, ok ? NULL : "client failed to send") != 1)
                ok = 0;
        attempt_t a = ATTEMPT_OK;
        while ((r = PQgetResult(s->conn))) {
                if (a == ATTEMPT_OK && check(s, r, PGRES_COMMAND_OK, "COPY",
                                             &cls, errstr, errstr_size))
                        a = fault_of(cls);
                PQclear(r);
        }
        if (a == ATTEMPT_OK && !ok) {
                snprintf(errstr, errstr_size, "COPY: %s",
                         PQerrorMessage(s->conn));
                a = ATTEMPT_FAULT;
        }
        return a;
}

/* Fast path: look up the batch's result_ids, COPY the new rows, compare
 * the duplicates. */
static attempt_t write_rows(triage_store_t *s, triage_batch_t *b, char *errstr,
                            size_t errstr_size)
{
        if (!triage_batch_rows(b))
                return ATTEMPT_OK;
        s->scratch.len = 0;
        if (triage_batch_id_array(b, &s->scratch)) {
                snprintf(errstr, errstr_size, "out of memory");
                return ATTEMPT_FAULT;
        }
        const char *params[] = {s->scratch.buf};
        PGresult *r = run(s, "exists", 1, params, NULL, NULL);
        err_class_t cls;
        if (check(s, r, PGRES_TUPLES_OK, "look up result_ids", &cls, errstr,
                  errstr_size)) {
                PQclear(r);
                return fault_of(cls);
        }
        int n = PQntuples(r);
        const char **existing = malloc((n ? (size_t)n : 1) * sizeof(char *));
        if (!existing) {
                PQclear(r);
                snprintf(errstr, errstr_size, "out of memory");
                return ATTEMPT_FAULT;
        }
        for (int i = 0; i < n; i++)
                existing[i] = PQgetvalue(r, i, 0);
        int rc = triage_batch_mark(b, existing, (size_t)n);
        free(existing);
        PQclear(r);
        if (rc) {
                snprintf(errstr, errstr_size, "out of memory");
                return ATTEMPT_FAULT;
        }
        attempt_t a = ATTEMPT_OK;
        if (triage_batch_count(b, TRIAGE_ROW_NEW))
                a = copy_rows(s, b, copy_rows_sql, TRIAGE_ROW_NEW, ALL_ROWS, 0,
                              errstr, errstr_size);
        if (a != ATTEMPT_OK || !triage_batch_count(b, TRIAGE_ROW_DUPLICATE))
                return a;
        a = copy_rows(s, b, copy_stage_sql, TRIAGE_ROW_DUPLICATE, ALL_ROWS, 1,
                      errstr, errstr_size);
        if (a != ATTEMPT_OK)
                return a;
        r = run(s, "conflicts", 0, NULL, NULL, NULL);
        if (check(s, r, PGRES_TUPLES_OK, "compare duplicates", &cls, errstr,
                  errstr_size)) {
                PQclear(r);
                return fault_of(cls);
        }
        for (int i = 0; i < PQntuples(r); i++) {
                size_t row = (size_t)strtoul(PQgetvalue(r, i, 0), NULL, 10);
                if (row >= triage_batch_rows(b) ||
                    triage_batch_reject_row(
                        b, row, TRIAGE_REJECT_CONFLICT,
                        "conflicting duplicate: this result_id is stored "
                        "with different content")) {
                        PQclear(r);
                        snprintf(errstr, errstr_size, "out of memory");
                        return ATTEMPT_FAULT;
                }
        }
        PQclear(r);
        return ATTEMPT_OK;
}

/* Slow path, one row at a time under a savepoint: a row PostgreSQL refuses
 * becomes an UNSTORABLE reject instead of failing the batch. */
static attempt_t write_rows_one_by_one(triage_store_t *s, triage_batch_t *b,
                                       char *errstr, size_t errstr_size)
{
        err_class_t cls;
        for (size_t i = 0; i < triage_batch_rows(b); i++) {
                if (command(s, "SAVEPOINT triage_row", &cls, errstr,
                            errstr_size))
                        return ATTEMPT_FAULT;
                attempt_t a =
                    copy_rows(s, b, copy_stage_sql, TRIAGE_ROW_PENDING, i, 1,
                              errstr, errstr_size);
                char seq[24];
                snprintf(seq, sizeof(seq), "%zu", i);
                const char *params[] = {seq};
                triage_row_status_t status = TRIAGE_ROW_PENDING;
                if (a == ATTEMPT_OK) {
                        PGresult *r =
                            run(s, "stage_insert", 1, params, NULL, NULL);
                        if (check(s, r, PGRES_TUPLES_OK, "insert result", &cls,
                                  errstr, errstr_size))
                                a = fault_of(cls);
                        else
                                status = PQntuples(r) ? TRIAGE_ROW_NEW
                                                      : TRIAGE_ROW_DUPLICATE;
                        PQclear(r);
                }
                int conflict = 0;
                if (a == ATTEMPT_OK && status == TRIAGE_ROW_DUPLICATE) {
                        PGresult *r =
                            run(s, "conflict_row", 1, params, NULL, NULL);
                        if (check(s, r, PGRES_TUPLES_OK, "compare duplicate",
                                  &cls, errstr, errstr_size))
                                a = fault_of(cls);
                        else
                                conflict = PQntuples(r) > 0;
                        PQclear(r);
                }
                if (a == ATTEMPT_FAULT)
                        return a;
                if (a == ATTEMPT_ROW) {
                        /* errstr holds PostgreSQL's reason for this row. */
                        if (command(s, "ROLLBACK TO SAVEPOINT triage_row", &cls,
                                    errstr, errstr_size))
                                return ATTEMPT_FAULT;
                        char why[600];
                        snprintf(why, sizeof(why), "unstorable: %s", errstr);
                        if (triage_batch_reject_row(
                                b, i, TRIAGE_REJECT_UNSTORABLE, why))
                                return ATTEMPT_FAULT;
                        continue;
                }
                triage_batch_set_status(b, i, status);
                if (conflict &&
                    triage_batch_reject_row(
                        b, i, TRIAGE_REJECT_CONFLICT,
                        "conflicting duplicate: this result_id is stored "
                        "with different content"))
                        return ATTEMPT_FAULT;
                if (command(s, "RELEASE SAVEPOINT triage_row", &cls, errstr,
                            errstr_size))
                        return ATTEMPT_FAULT;
        }
        return ATTEMPT_OK;
}

static attempt_t write_rejects(triage_store_t *s, const triage_batch_t *b,
                               char *errstr, size_t errstr_size)
{
        for (size_t i = 0; i < triage_batch_reject_count(b); i++) {
                const triage_reject_t *j = triage_batch_reject(b, i);
                char part[16], off[24];
                snprintf(part, sizeof(part), "%" PRId32, j->partition);
                snprintf(off, sizeof(off), "%" PRId64, j->offset);
                const char *params[] = {s->topic,
                                        part,
                                        off,
                                        (const char *)j->key,
                                        (const char *)j->payload,
                                        j->error,
                                        j->result_id,
                                        triage_reject_kind_name(j->kind)};
                const int lengths[] = {0,           0, 0, (int)j->key_len,
                                       (int)j->len, 0, 0, 0};
                const int formats[] = {0, 0, 0, 1, 1, 0, 0, 0};
                PGresult *r = run(s, "reject", 8, params, lengths, formats);
                err_class_t cls;
                int rc = check(s, r, PGRES_COMMAND_OK, "store reject", &cls,
                               errstr, errstr_size);
                PQclear(r);
                /* A reject that cannot be stored is not a row to isolate:
                 * retry the whole batch later. */
                if (rc)
                        return ATTEMPT_FAULT;
        }
        return ATTEMPT_OK;
}

/* ql.retriage for the enterprises with new results.  one_by_one: each
 * enterprise under a savepoint, a failure logged and skipped. */
static attempt_t retriage(triage_store_t *s, triage_batch_t *b, int one_by_one,
                          char *errstr, size_t errstr_size)
{
        if (!s->has_retriage)
                return ATTEMPT_OK;
        size_t n;
        s->scratch.len = 0;
        if (triage_batch_new_codes(b, &s->scratch, &n)) {
                snprintf(errstr, errstr_size, "out of memory");
                return ATTEMPT_FAULT;
        }
        if (!n)
                return ATTEMPT_OK;
        err_class_t cls;
        if (!one_by_one) {
                const char *params[] = {s->scratch.buf};
                PGresult *r = run(s, "retriage", 1, params, NULL, NULL);
                int rc = check(s, r, PGRES_TUPLES_OK, "ql.retriage", &cls,
                               errstr, errstr_size);
                PQclear(r);
                if (!rc)
                        return ATTEMPT_OK;
                /* The case rules refused: isolate the enterprise. */
                return cls == ERR_TRANSIENT ? ATTEMPT_FAULT : ATTEMPT_ROW;
        }
        /* Each enterprise once (the first NEW row with its code), each
         * under its own savepoint. */
        for (size_t i = 0; i < triage_batch_rows(b); i++) {
                if (triage_batch_row_status(b, i) != TRIAGE_ROW_NEW)
                        continue;
                const char *code = triage_batch_row_credit_code(b, i);
                int seen = 0;
                for (size_t j = 0; j < i && !seen; j++)
                        seen =
                            triage_batch_row_status(b, j) == TRIAGE_ROW_NEW &&
                            !strcmp(code, triage_batch_row_credit_code(b, j));
                if (seen)
                        continue;
                triage_buf_t one = {0};
                const char *v[] = {code};
                if (triage_buf_array_literal(&one, v, 1)) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return ATTEMPT_FAULT;
                }
                if (command(s, "SAVEPOINT triage_retriage", &cls, errstr,
                            errstr_size)) {
                        triage_buf_free(&one);
                        return ATTEMPT_FAULT;
                }
                const char *params[] = {one.buf};
                PGresult *r = run(s, "retriage", 1, params, NULL, NULL);
                char why[512];
                int rc = check(s, r, PGRES_TUPLES_OK, "ql.retriage", &cls, why,
                               sizeof(why));
                PQclear(r);
                triage_buf_free(&one);
                if (rc && cls == ERR_TRANSIENT) {
                        snprintf(errstr, errstr_size, "%s", why);
                        return ATTEMPT_FAULT;
                }
                if (rc) {
                        ql_error(s->lg,
                                 "retriage of enterprise %s failed, its case "
                                 "is left as it was: %s",
                                 code, why);
                        if (command(s, "ROLLBACK TO SAVEPOINT triage_retriage",
                                    &cls, errstr, errstr_size))
                                return ATTEMPT_FAULT;
                }
                if (command(s, "RELEASE SAVEPOINT triage_retriage", &cls,
                            errstr, errstr_size))
                        return ATTEMPT_FAULT;
        }
        return ATTEMPT_OK;
}

static attempt_t attempt(triage_store_t *s, triage_batch_t *b, int one_by_one,
                         triage_store_hook_fn hook, void *hook_arg,
                         char *errstr, size_t errstr_size)
{
        err_class_t cls;
        if (command(s, "BEGIN", &cls, errstr, errstr_size))
                return ATTEMPT_FAULT;
        attempt_t a = move_offsets(s, b, errstr, errstr_size);
        if (a == ATTEMPT_OK)
                a = one_by_one
                        ? write_rows_one_by_one(s, b, errstr, errstr_size)
                        : write_rows(s, b, errstr, errstr_size);
        if (a == ATTEMPT_OK)
                a = write_rejects(s, b, errstr, errstr_size);
        if (a == ATTEMPT_OK)
                a = retriage(s, b, one_by_one, errstr, errstr_size);
        if (a == ATTEMPT_OK && hook && hook(hook_arg, b, errstr, errstr_size))
                a = ATTEMPT_HOOK;
        if (a == ATTEMPT_OK) {
                if (command(s, "COMMIT", &cls, errstr, errstr_size))
                        return ATTEMPT_FAULT;
                return ATTEMPT_OK;
        }
        if (PQstatus(s->conn) == CONNECTION_OK &&
            PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
                char ignore[256];
                if (command(s, "ROLLBACK", NULL, ignore, sizeof(ignore)))
                        triage_store_disconnect(s);
        }
        return a;
}

triage_store_rc_t triage_store_write(triage_store_t *s, triage_batch_t *b,
                                     triage_store_hook_fn hook, void *hook_arg,
                                     char *errstr, size_t errstr_size)
{
        if (!triage_store_connected(s)) {
                snprintf(errstr, errstr_size, "PostgreSQL: not connected");
                return TRIAGE_STORE_FAULT;
        }
        triage_batch_unmark(b);
        attempt_t a = attempt(s, b, 0, hook, hook_arg, errstr, errstr_size);
        if (a == ATTEMPT_ROW) {
                ql_warn(s->lg,
                        "batch of %zu records refused (%s); storing it row "
                        "by row",
                        triage_batch_records(b), errstr);
                triage_batch_unmark(b);
                a = attempt(s, b, 1, hook, hook_arg, errstr, errstr_size);
        }
        if (a != ATTEMPT_OK && s->conn && PQstatus(s->conn) != CONNECTION_OK)
                triage_store_disconnect(s);
        switch (a) {
        case ATTEMPT_OK:
                return TRIAGE_STORE_OK;
        case ATTEMPT_LOST:
                return TRIAGE_STORE_LOST;
        case ATTEMPT_HOOK:
                return TRIAGE_STORE_HOOK;
        case ATTEMPT_ROW:
        case ATTEMPT_FAULT:
                break;
        }
        return TRIAGE_STORE_FAULT;
}
