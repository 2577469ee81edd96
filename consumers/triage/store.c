/*
 * store: the batch transaction on libpq (see store.h for the sequence).
 * Every statement with a value is a named prepared statement with
 * parameters; only the constant COPY commands and transaction control go
 * as plain text.  Errors are sorted by SQLSTATE into the three outcomes the
 * caller acts on: a row PostgreSQL refuses (classes 22, 23, 54: redo the
 * batch row by row), a fault (the connection, or a class that a retry may
 * cure), and anything else (schema problems: also retried, loudly).
 *
 * The connection is in libpq's non-blocking mode and every exchange goes
 * through io_wait(), which polls the socket against a deadline: libpq's
 * own blocking calls would wait for a frozen or unreachable server for as
 * long as TCP lets them (hours).
 */
#include "store.h"
#include "ql_util.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONNECT_WAIT_MAX_MS 10000
#define ANSWER_GRACE_MAX_MS 5000

struct triage_store_s {
        const triage_pgconn_t *pg;
        char *group;
        char *topic;
        ql_log_t *lg;
        PGconn *conn;
        int statement_timeout_ms;
        int wait_ms;         /* a statement's answer, at most */
        int connect_wait_ms; /* a connection, at most */
        long open_failures;  /* unresolved derivation failures, as last seen
                              * (a hint: > 0 makes a batch resolve its
                              * enterprises' rows) */
        char io_error[256];  /* why the last exchange failed on our side */
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
    {"retriage", "SELECT ql.retriage($1::text[])"},
    /* ql.expired_range and ql.derivation_failure: 020_triage_faults. */
    {"expired", "INSERT INTO ql.expired_range (group_id, topic,"
                " kafka_partition, first_offset, last_offset)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"},
    /* A failure starts an episode, or counts as one more attempt of the
     * open one. */
    {"failure_record",
     "INSERT INTO ql.derivation_failure AS f (credit_code, error)"
     " VALUES ($1, $2) ON CONFLICT (credit_code) DO UPDATE"
     " SET error = excluded.error, last_failed_at = now(),"
     " attempts = CASE WHEN f.resolved_at IS NULL THEN f.attempts + 1"
     " ELSE 1 END,"
     " first_failed_at = CASE WHEN f.resolved_at IS NULL"
     " THEN f.first_failed_at ELSE now() END,"
     " resolved_at = NULL"},
    {"failure_resolve", "UPDATE ql.derivation_failure SET resolved_at = now()"
                        " WHERE resolved_at IS NULL"
                        " AND credit_code = ANY ($1::text[])"
                        " RETURNING credit_code"},
    {"failure_due",
     "SELECT credit_code FROM ql.derivation_failure"
     " WHERE resolved_at IS NULL AND last_failed_at <= now() -"
     " least(interval '5 seconds' * power(2, least(attempts - 1, 10)),"
     " interval '1 hour')"
     " ORDER BY last_failed_at LIMIT $1"},
    {"failure_again", "UPDATE ql.derivation_failure"
                      " SET attempts = attempts + 1, last_failed_at = now(),"
                      " error = $2"
                      " WHERE credit_code = $1 AND resolved_at IS NULL"},
    {"failure_open", "SELECT count(*) FROM ql.derivation_failure"
                     " WHERE resolved_at IS NULL"},
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

triage_store_t *triage_store_new(const triage_pgconn_t *pg, const char *group,
                                 const char *topic, int statement_timeout_ms,
                                 ql_log_t *lg)
{
        triage_store_t *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->pg = pg;
        s->group = strdup(group);
        s->topic = strdup(topic);
        s->lg = lg;
        s->statement_timeout_ms = statement_timeout_ms;
        s->wait_ms =
            statement_timeout_ms + (statement_timeout_ms < ANSWER_GRACE_MAX_MS
                                        ? statement_timeout_ms
                                        : ANSWER_GRACE_MAX_MS);
        s->connect_wait_ms =
            s->wait_ms < CONNECT_WAIT_MAX_MS ? s->wait_ms : CONNECT_WAIT_MAX_MS;
        if (!s->group || !s->topic) {
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

/* The exchange failed on our side (no answer in time, a broken socket):
 * say why and drop the connection, which also ends the server's
 * transaction as soon as it notices. */
static void io_fail(triage_store_t *s, const char *why)
{
        snprintf(s->io_error, sizeof(s->io_error), "%s", why);
        s->io_error[strcspn(s->io_error, "\n")] = '\0';
        triage_store_disconnect(s);
}

/* Send what libpq holds and, with until_result, wait until a result can be
 * read without blocking, all before `deadline` (ms).  Input is consumed
 * while output waits, so a server that answers an error in the middle of a
 * COPY is heard.  0, or -1 with the connection dropped. */
static int io_wait(triage_store_t *s, int until_result, int64_t deadline)
{
        for (;;) {
                if (!s->conn) {
                        if (!s->io_error[0])
                                snprintf(s->io_error, sizeof(s->io_error),
                                         "not connected");
                        return -1;
                }
                int pending = PQflush(s->conn);
                if (pending < 0) {
                        io_fail(s, PQerrorMessage(s->conn));
                        return -1;
                }
                if (!pending) {
                        if (!until_result)
                                return 0;
                        if (!PQconsumeInput(s->conn)) {
                                io_fail(s, PQerrorMessage(s->conn));
                                return -1;
                        }
                        if (!PQisBusy(s->conn))
                                return 0;
                }
                int64_t left = deadline - ql_util_mono_ms();
                if (left <= 0) {
                        char why[128];
                        snprintf(why, sizeof(why),
                                 "no answer from PostgreSQL within %d ms; "
                                 "connection dropped",
                                 s->wait_ms);
                        io_fail(s, why);
                        return -1;
                }
                struct pollfd pfd = {
                    .fd = PQsocket(s->conn),
                    .events = (short)(POLLIN | (pending ? POLLOUT : 0))};
                int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
                if (n < 0 && errno != EINTR) {
                        io_fail(s, strerror(errno));
                        return -1;
                }
                if (n > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP)) &&
                    !PQconsumeInput(s->conn)) {
                        io_fail(s, PQerrorMessage(s->conn));
                        return -1;
                }
        }
}

static int failed_status(ExecStatusType st)
{
        return st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR ||
               st == PGRES_FATAL_ERROR;
}

/* The results of the command just sent: the first failed one if any, else
 * the last; a COPY IN result at once (the caller sends the data).  NULL
 * when the command could not be sent or no answer came in time. */
static PGresult *collect(triage_store_t *s, int sent, int64_t deadline)
{
        if (!sent)
                return NULL;
        PGresult *keep = NULL;
        for (;;) {
                if (io_wait(s, 1, deadline)) {
                        PQclear(keep);
                        return NULL;
                }
                PGresult *r = PQgetResult(s->conn);
                if (!r)
                        return keep;
                if (PQresultStatus(r) == PGRES_COPY_IN) {
                        PQclear(keep);
                        return r;
                }
                if (!keep || (!failed_status(PQresultStatus(keep)) &&
                              failed_status(PQresultStatus(r)))) {
                        PQclear(keep);
                        keep = r;
                } else {
                        PQclear(r);
                }
        }
}

/* Ready to send a command?  Clears the last exchange's error. */
static int ready(triage_store_t *s)
{
        s->io_error[0] = '\0';
        if (s->conn)
                return 1;
        snprintf(s->io_error, sizeof(s->io_error), "not connected");
        return 0;
}

/* A plain-text command (constant SQL only). */
static PGresult *exec_sql(triage_store_t *s, const char *sql)
{
        int64_t deadline = ql_util_mono_ms() + s->wait_ms;
        return collect(s, ready(s) && PQsendQuery(s->conn, sql), deadline);
}

/* A prepared statement with text parameters (binary where lengths say). */
static PGresult *run(triage_store_t *s, const char *name, int n,
                     const char *const *values, const int *lengths,
                     const int *formats)
{
        int64_t deadline = ql_util_mono_ms() + s->wait_ms;
        return collect(s,
                       ready(s) && PQsendQueryPrepared(s->conn, name, n, values,
                                                       lengths, formats, 0),
                       deadline);
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
                msg = s->io_error[0] ? s->io_error
                      : s->conn      ? PQerrorMessage(s->conn)
                                     : "not connected";
        char clean[400];
        snprintf(clean, sizeof(clean), "%s", msg && *msg ? msg : "failed");
        clean[strcspn(clean, "\n")] = '\0';
        snprintf(errstr, errstr_size, "%s: %s%s%s%s", what, clean,
                 state ? " (SQLSTATE " : "", state ? state : "",
                 state ? ")" : "");
        if (cls)
                *cls =
                    triage_store_connected(s) ? classify(state) : ERR_TRANSIENT;
        return -1;
}

/* Run a constant command expecting COMMAND_OK.  0 or -1. */
static int command(triage_store_t *s, const char *sql, err_class_t *cls,
                   char *errstr, size_t errstr_size)
{
        PGresult *r = exec_sql(s, sql);
        int rc = check(s, r, PGRES_COMMAND_OK, sql, cls, errstr, errstr_size);
        PQclear(r);
        return rc;
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

#define NSTATEMENTS(v) (sizeof(v) / sizeof((v)[0]))

/* Prepare n named statements.  0, or -1 with errstr and *cls. */
static int prepare_all(triage_store_t *s, const char *const (*v)[2], size_t n,
                       err_class_t *cls, char *errstr, size_t errstr_size)
{
        for (size_t i = 0; i < n; i++) {
                int64_t deadline = ql_util_mono_ms() + s->wait_ms;
                PGresult *r =
                    collect(s,
                            ready(s) && PQsendPrepare(s->conn, v[i][0], v[i][1],
                                                      0, NULL),
                            deadline);
                int rc = check(s, r, PGRES_COMMAND_OK, v[i][0], cls, errstr,
                               errstr_size);
                PQclear(r);
                if (rc)
                        return -1;
        }
        return 0;
}

/* Connect without blocking longer than connect_wait_ms: libpq's own
 * connect_timeout applies to its blocking calls only.  0, or -1 with
 * errstr (the connection dropped). */
static int open_conn(triage_store_t *s, char *errstr, size_t errstr_size)
{
        s->conn = PQconnectStartParams(triage_pgconn_keys(s->pg),
                                       triage_pgconn_values(s->pg), 1);
        if (!s->conn) {
                snprintf(errstr, errstr_size, "PostgreSQL: out of memory");
                return -1;
        }
        int64_t deadline = ql_util_mono_ms() + s->connect_wait_ms;
        PostgresPollingStatusType st = PGRES_POLLING_WRITING;
        while (PQstatus(s->conn) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
               st != PGRES_POLLING_FAILED) {
                int64_t left = deadline - ql_util_mono_ms();
                if (left <= 0) {
                        snprintf(errstr, errstr_size,
                                 "PostgreSQL connection: no answer within "
                                 "%d ms",
                                 s->connect_wait_ms);
                        triage_store_disconnect(s);
                        return -1;
                }
                struct pollfd pfd = {
                    .fd = PQsocket(s->conn),
                    .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
                int n = poll(&pfd, 1, (int)left);
                if (n < 0 && errno != EINTR)
                        break;
                if (n > 0)
                        st = PQconnectPoll(s->conn);
        }
        if (PQstatus(s->conn) != CONNECTION_OK) {
                char msg[400];
                snprintf(msg, sizeof(msg), "%s", PQerrorMessage(s->conn));
                msg[strcspn(msg, "\n")] = '\0';
                snprintf(errstr, errstr_size, "PostgreSQL connection: %s", msg);
                triage_store_disconnect(s);
                return -1;
        }
        if (PQsetnonblocking(s->conn, 1)) {
                snprintf(errstr, errstr_size,
                         "PostgreSQL connection: cannot go non-blocking");
                triage_store_disconnect(s);
                return -1;
        }
        return 0;
}

int triage_store_connect(triage_store_t *s, int *fatal, char *errstr,
                         size_t errstr_size)
{
        *fatal = 0;
        triage_store_disconnect(s);
        if (open_conn(s, errstr, errstr_size))
                return -1;
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
        /* The server keeps its own watch too: the backend of a connection
         * cut off is ended within about 25 s instead of holding the
         * batch's row locks for the kernel's two hours. */
        char session[256];
        snprintf(session, sizeof(session),
                 "SET client_encoding = 'UTF8';"
                 " SET statement_timeout = %d;"
                 " SET tcp_keepalives_idle = 10;"
                 " SET tcp_keepalives_interval = 5;"
                 " SET tcp_keepalives_count = 3",
                 s->statement_timeout_ms);
        err_class_t cls = ERR_TRANSIENT;
        if (command(s, session, &cls, errstr, errstr_size) ||
            command(s, stage_sql, &cls, errstr, errstr_size) ||
            prepare_all(s, statements, NSTATEMENTS(statements), &cls, errstr,
                        errstr_size))
                goto fail;
        s->open_failures = 0;
        PGresult *r = run(s, "failure_open", 0, NULL, NULL, NULL);
        int rc = check(s, r, PGRES_TUPLES_OK, "derivation failures", &cls,
                       errstr, errstr_size);
        if (!rc)
                s->open_failures = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        if (rc)
                goto fail;
        return 0;
fail:
        /* A missing table or function (a database the migrations have not
         * reached) is not cured by reconnecting. */
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
        PGresult *r = exec_sql(s, "SELECT 1");
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
        PGresult *r = exec_sql(s, "SELECT ql.recategorize()");
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
 * slices (a line may span two).  In non-blocking mode libpq queues what
 * the socket does not take at once, so after every slice's worth the
 * queue is drained (against the COPY's deadline) before more is added. */
#define COPY_SLICE (64 * 1024)

typedef struct {
        triage_store_t *s;
        int64_t deadline;
        size_t unflushed; /* bytes queued since the last drain */
} copy_out_t;

static int put_copy(copy_out_t *o, const char *p, size_t n)
{
        while (n) {
                size_t k = n < COPY_SLICE ? n : COPY_SLICE;
                int rc = -1;
                while (o->s->conn &&
                       (rc = PQputCopyData(o->s->conn, p, (int)k)) == 0)
                        if (io_wait(o->s, 0, o->deadline))
                                return 0;
                if (!o->s->conn || rc != 1)
                        return 0;
                p += k;
                n -= k;
                o->unflushed += k;
                if (o->unflushed >= COPY_SLICE) {
                        if (io_wait(o->s, 0, o->deadline))
                                return 0;
                        o->unflushed = 0;
                }
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
        copy_out_t o = {s, ql_util_mono_ms() + s->wait_ms, 0};
        PGresult *r =
            collect(s, ready(s) && PQsendQuery(s->conn, sql), o.deadline);
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
                        ok = put_copy(&o, seq, (size_t)n) &&
                             put_copy(&o, line, len);
                        continue;
                }
                if (run_start && run_start + run_len == line) {
                        run_len += len;
                        continue;
                }
                if (run_start)
                        ok = put_copy(&o, run_start, run_len);
                run_start = line;
                run_len = len;
        }
        if (ok && run_start)
                ok = put_copy(&o, run_start, run_len);
        if (!s->conn) {
                /* The wait ran out: the connection is gone. */
                snprintf(errstr, errstr_size, "COPY: %s", s->io_error);
                return ATTEMPT_FAULT;
        }
        int ended;
        while ((ended = PQputCopyEnd(s->conn,
                                     ok ? NULL : "client failed to send")) == 0)
                if (io_wait(s, 0, o.deadline)) {
                        snprintf(errstr, errstr_size, "COPY: %s", s->io_error);
                        return ATTEMPT_FAULT;
                }
        if (ended != 1)
                ok = 0;
        r = collect(s, 1, o.deadline);
        attempt_t a = ATTEMPT_OK;
        if (check(s, r, PGRES_COMMAND_OK, "COPY", &cls, errstr, errstr_size))
                a = fault_of(cls);
        PQclear(r);
        if (a == ATTEMPT_OK && !ok) {
                snprintf(errstr, errstr_size, "COPY: %s",
                         s->conn ? PQerrorMessage(s->conn) : s->io_error);
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

/* Record the batch's gaps in ql.expired_range. */
static attempt_t write_gaps(triage_store_t *s, const triage_batch_t *b,
                            char *errstr, size_t errstr_size)
{
        for (size_t i = 0; i < triage_batch_gap_count(b); i++) {
                const triage_gap_t *g = triage_batch_gap(b, i);
                char part[16], first[24], last[24];
                snprintf(part, sizeof(part), "%" PRId32, g->partition);
                snprintf(first, sizeof(first), "%" PRId64, g->first);
                snprintf(last, sizeof(last), "%" PRId64, g->last);
                const char *params[] = {s->group, s->topic, part, first, last};
                PGresult *r = run(s, "expired", 5, params, NULL, NULL);
                err_class_t cls;
                int rc = check(s, r, PGRES_COMMAND_OK, "record expired range",
                               &cls, errstr, errstr_size);
                PQclear(r);
                /* Like a reject, a gap is no row to isolate. */
                if (rc)
                        return ATTEMPT_FAULT;
        }
        return ATTEMPT_OK;
}

/* Mark the failed derivations of the enterprises in `codes` (an array
 * literal) resolved, now that they derived.  Only asked when some are
 * known to be open. */
static attempt_t resolve_failures(triage_store_t *s, const char *codes,
                                  const char *how, char *errstr,
                                  size_t errstr_size)
{
        if (s->open_failures <= 0)
                return ATTEMPT_OK;
        const char *params[] = {codes};
        PGresult *r = run(s, "failure_resolve", 1, params, NULL, NULL);
        err_class_t cls;
        if (check(s, r, PGRES_TUPLES_OK, "resolve derivation failures", &cls,
                  errstr, errstr_size)) {
                PQclear(r);
                return ATTEMPT_FAULT;
        }
        for (int i = 0; i < PQntuples(r); i++)
                ql_info(s->lg,
                        "case derivation of enterprise %s succeeded %s; its "
                        "ql.derivation_failure row is resolved",
                        PQgetvalue(r, i, 0), how);
        s->open_failures -= PQntuples(r);
        PQclear(r);
        return ATTEMPT_OK;
}

/* Record a failed derivation of one enterprise (inside the transaction,
 * after its savepoint was rolled back). */
static attempt_t record_failure(triage_store_t *s, const char *code,
                                const char *why, char *errstr,
                                size_t errstr_size)
{
        const char *params[] = {code, why};
        PGresult *r = run(s, "failure_record", 2, params, NULL, NULL);
        err_class_t cls;
        int rc = check(s, r, PGRES_COMMAND_OK, "record derivation failure",
                       &cls, errstr, errstr_size);
        PQclear(r);
        if (rc)
                return ATTEMPT_FAULT;
        s->open_failures++;
        return ATTEMPT_OK;
}

/* ql.retriage for the enterprises with new results.  one_by_one: each
 * enterprise under a savepoint; a failure is logged, recorded in
 * ql.derivation_failure (counted in *failures) and skipped. */
static attempt_t retriage(triage_store_t *s, triage_batch_t *b, int one_by_one,
                          size_t *failures, char *errstr, size_t errstr_size)
{
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
                        return resolve_failures(s, s->scratch.buf,
                                                "with its next results", errstr,
                                                errstr_size);
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
                attempt_t a = ATTEMPT_OK;
                if (rc && cls == ERR_TRANSIENT) {
                        snprintf(errstr, errstr_size, "%s", why);
                        a = ATTEMPT_FAULT;
                } else if (rc) {
                        ql_error(s->lg,
                                 "retriage of enterprise %s failed, its case "
                                 "is left as it was; recorded in "
                                 "ql.derivation_failure and retried: %s",
                                 code, why);
                        if (command(s, "ROLLBACK TO SAVEPOINT triage_retriage",
                                    &cls, errstr, errstr_size))
                                a = ATTEMPT_FAULT;
                        else
                                a = record_failure(s, code, why, errstr,
                                                   errstr_size);
                        if (a == ATTEMPT_OK)
                                (*failures)++;
                } else {
                        a = resolve_failures(s, one.buf,
                                             "with its next results", errstr,
                                             errstr_size);
                }
                triage_buf_free(&one);
                if (a != ATTEMPT_OK)
                        return a;
                if (command(s, "RELEASE SAVEPOINT triage_retriage", &cls,
                            errstr, errstr_size))
                        return ATTEMPT_FAULT;
        }
        return ATTEMPT_OK;
}

static attempt_t attempt(triage_store_t *s, triage_batch_t *b, int one_by_one,
                         triage_store_hook_fn hook, void *hook_arg,
                         size_t *failures, char *errstr, size_t errstr_size)
{
        err_class_t cls;
        *failures = 0;
        long open_before = s->open_failures;
        if (command(s, "BEGIN", &cls, errstr, errstr_size))
                return ATTEMPT_FAULT;
        attempt_t a = move_offsets(s, b, errstr, errstr_size);
        if (a == ATTEMPT_OK)
                a = write_gaps(s, b, errstr, errstr_size);
        if (a == ATTEMPT_OK)
                a = one_by_one
                        ? write_rows_one_by_one(s, b, errstr, errstr_size)
                        : write_rows(s, b, errstr, errstr_size);
        if (a == ATTEMPT_OK)
                a = write_rejects(s, b, errstr, errstr_size);
        if (a == ATTEMPT_OK)
                a = retriage(s, b, one_by_one, failures, errstr, errstr_size);
        if (a == ATTEMPT_OK && hook && hook(hook_arg, b, errstr, errstr_size))
                a = ATTEMPT_HOOK;
        if (a == ATTEMPT_OK && command(s, "COMMIT", &cls, errstr, errstr_size))
                a = ATTEMPT_FAULT;
        if (a == ATTEMPT_OK)
                return ATTEMPT_OK;
        s->open_failures = open_before;
        if (triage_store_connected(s) &&
            PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
                char ignore[256];
                if (command(s, "ROLLBACK", NULL, ignore, sizeof(ignore)))
                        triage_store_disconnect(s);
        }
        return a;
}

triage_store_rc_t triage_store_write(triage_store_t *s, triage_batch_t *b,
                                     triage_store_hook_fn hook, void *hook_arg,
                                     triage_store_stats_t *stats, char *errstr,
                                     size_t errstr_size)
{
        memset(stats, 0, sizeof(*stats));
        if (!triage_store_connected(s)) {
                snprintf(errstr, errstr_size, "PostgreSQL: not connected");
                return TRIAGE_STORE_FAULT;
        }
        triage_batch_unmark(b);
        size_t failures = 0;
        attempt_t a =
            attempt(s, b, 0, hook, hook_arg, &failures, errstr, errstr_size);
        if (a == ATTEMPT_ROW) {
                ql_warn(s->lg,
                        "batch of %zu records refused (%s); storing it row "
                        "by row",
                        triage_batch_records(b), errstr);
                triage_batch_unmark(b);
                a = attempt(s, b, 1, hook, hook_arg, &failures, errstr,
                            errstr_size);
        }
        if (a != ATTEMPT_OK && s->conn && PQstatus(s->conn) != CONNECTION_OK)
                triage_store_disconnect(s);
        switch (a) {
        case ATTEMPT_OK:
                stats->derivation_failures = failures;
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

/* One due enterprise's retry in its own transaction: 1 derived (row
 * resolved), 0 failed again (attempt counted), -1 a fault (errstr). */
static int retry_one(triage_store_t *s, const char *code, char *errstr,
                     size_t errstr_size)
{
        err_class_t cls;
        triage_buf_t one = {0};
        const char *v[] = {code};
        if (triage_buf_array_literal(&one, v, 1)) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        int outcome = -1;
        if (command(s, "BEGIN", &cls, errstr, errstr_size))
                goto out;
        const char *params[] = {one.buf};
        PGresult *r = run(s, "retriage", 1, params, NULL, NULL);
        char why[512];
        int rc =
            check(s, r, PGRES_TUPLES_OK, "ql.retriage", &cls, why, sizeof(why));
        PQclear(r);
        if (rc && cls == ERR_TRANSIENT) {
                snprintf(errstr, errstr_size, "%s", why);
                goto out;
        }
        if (rc) {
                /* The derivation's work is undone; only the attempt is
                 * counted. */
                if (command(s, "ROLLBACK", &cls, errstr, errstr_size) ||
                    command(s, "BEGIN", &cls, errstr, errstr_size))
                        goto out;
                const char *again[] = {code, why};
                r = run(s, "failure_again", 2, again, NULL, NULL);
                int bad =
                    check(s, r, PGRES_COMMAND_OK, "count derivation attempt",
                          &cls, errstr, errstr_size);
                PQclear(r);
                if (bad)
                        goto out;
                ql_error(s->lg,
                         "retriage of enterprise %s failed again "
                         "(ql.derivation_failure): %s",
                         code, why);
                outcome = 0;
        } else {
                long open = s->open_failures;
                s->open_failures = 1; /* ask, whatever the hint says */
                attempt_t a = resolve_failures(s, one.buf, "on retry", errstr,
                                               errstr_size);
                s->open_failures = open;
                if (a != ATTEMPT_OK)
                        goto out;
                outcome = 1;
        }
        if (command(s, "COMMIT", &cls, errstr, errstr_size))
                outcome = -1;
out:
        triage_buf_free(&one);
        if (outcome < 0 && triage_store_connected(s) &&
            PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
                char ignore[256];
                if (command(s, "ROLLBACK", NULL, ignore, sizeof(ignore)))
                        triage_store_disconnect(s);
        }
        return outcome;
}

int triage_store_retry_derivations(triage_store_t *s, int max, int budget_ms,
                                   triage_retry_stats_t *out, char *errstr,
                                   size_t errstr_size)
{
        int64_t until = ql_util_mono_ms() + budget_ms;
        memset(out, 0, sizeof(*out));
        if (!triage_store_connected(s)) {
                snprintf(errstr, errstr_size, "PostgreSQL: not connected");
                return -1;
        }
        char limit[16];
        snprintf(limit, sizeof(limit), "%d", max);
        const char *params[] = {limit};
        PGresult *due = run(s, "failure_due", 1, params, NULL, NULL);
        if (check(s, due, PGRES_TUPLES_OK, "due derivation failures", NULL,
                  errstr, errstr_size)) {
                PQclear(due);
                return -1;
        }
        int rc = 0;
        for (int i = 0; i < PQntuples(due) && ql_util_mono_ms() < until; i++) {
                int o =
                    retry_one(s, PQgetvalue(due, i, 0), errstr, errstr_size);
                if (o < 0) {
                        rc = -1;
                        break;
                }
                out->retried++;
                if (o)
                        out->resolved++;
                else
                        out->failed++;
        }
        PQclear(due);
        if (rc)
                return -1;
        PGresult *r = run(s, "failure_open", 0, NULL, NULL, NULL);
        rc = check(s, r, PGRES_TUPLES_OK, "derivation failures", NULL, errstr,
                   errstr_size);
        if (!rc)
                s->open_failures = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        out->open = rc ? 0 : (size_t)s->open_failures;
        PQclear(r);
        return rc;
}
