/*
 * store_session: ql-triage's connection to PostgreSQL and every exchange
 * on it.  Connecting prepares the session (UTF-8, the time limits, the
 * staging table, every named statement the store uses: the table below).
 * Errors are sorted by SQLSTATE into the three outcomes the store acts
 * on: a row PostgreSQL refuses (classes 22, 23, 54: redo the batch row by
 * row), a fault (the connection, or a class that a retry may cure), and
 * anything else (schema problems: also retried, loudly).
 *
 * The connection is in libpq's non-blocking mode and every exchange goes
 * through store_io_wait(), which polls the socket against a deadline:
 * libpq's own blocking calls would wait for a frozen or unreachable server
 * for as long as TCP lets them (hours).
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_pg.h"
#include "ql_util.h"
#include "store_private.h"

#define CONNECT_WAIT_MAX_MS 10000
#define ANSWER_GRACE_MAX_MS 5000

/* Every named statement of the store, prepared at connect; the other
 * files run them by name (store_run). */
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
    /* Bulk mode and the queue's drain: 016_bulk_triage, 021_bulk_drain,
     * 022_queue_taken (a bulk batch does not wait for the drain). */
    {"register", "SELECT ql.register_queued($1::text[])"},
    {"pending", "SELECT unnest(ql.pending_enterprises($1::integer))"},
    {"derive_queued", "SELECT ql.derive_queued($1::text[])"},
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
int store_io_wait(triage_store_t *s, int until_result, int64_t deadline)
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
PGresult *store_collect(triage_store_t *s, int sent, int64_t deadline)
{
        if (!sent)
                return NULL;
        PGresult *keep = NULL;
        for (;;) {
                if (store_io_wait(s, 1, deadline)) {
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
int store_ready(triage_store_t *s)
{
        s->io_error[0] = '\0';
        if (s->conn)
                return 1;
        snprintf(s->io_error, sizeof(s->io_error), "not connected");
        return 0;
}

/* A plain-text command (constant SQL only). */
PGresult *store_exec(triage_store_t *s, const char *sql)
{
        int64_t deadline = ql_util_mono_ms() + s->wait_ms;
        return store_collect(s, store_ready(s) && PQsendQuery(s->conn, sql),
                             deadline);
}

/* A prepared statement with text parameters (binary where lengths say). */
PGresult *store_run(triage_store_t *s, const char *name, int n,
                    const char *const *values, const int *lengths,
                    const int *formats)
{
        int64_t deadline = ql_util_mono_ms() + s->wait_ms;
        return store_collect(s,
                             store_ready(s) &&
                                 PQsendQueryPrepared(s->conn, name, n, values,
                                                     lengths, formats, 0),
                             deadline);
}

/* Check r (which may be NULL) for status `want`.  On anything else: the
 * error in errstr as "what: message (SQLSTATE)", its class in *cls, and
 * -1.  r is not cleared. */
int store_check(triage_store_t *s, PGresult *r, ExecStatusType want,
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
int store_command(triage_store_t *s, const char *sql, err_class_t *cls,
                  char *errstr, size_t errstr_size)
{
        PGresult *r = store_exec(s, sql);
        int rc =
            store_check(s, r, PGRES_COMMAND_OK, sql, cls, errstr, errstr_size);
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
                PGresult *r = store_collect(
                    s,
                    store_ready(s) &&
                        PQsendPrepare(s->conn, v[i][0], v[i][1], 0, NULL),
                    deadline);
                int rc = store_check(s, r, PGRES_COMMAND_OK, v[i][0], cls,
                                     errstr, errstr_size);
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
        s->conn = ql_pg_connect_start(triage_pgconn_params(s->pg));
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
        if (store_command(s, session, &cls, errstr, errstr_size) ||
            store_command(s, stage_sql, &cls, errstr, errstr_size) ||
            prepare_all(s, statements, NSTATEMENTS(statements), &cls, errstr,
                        errstr_size))
                goto fail;
        s->open_failures = 0;
        PGresult *r = store_run(s, "failure_open", 0, NULL, NULL, NULL);
        int rc = store_check(s, r, PGRES_TUPLES_OK, "derivation failures", &cls,
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
        PGresult *r = store_exec(s, "SELECT 1");
        int rc = store_check(s, r, PGRES_TUPLES_OK, "ping", NULL, errstr,
                             errstr_size);
        PQclear(r);
        if (rc)
                triage_store_disconnect(s);
        return rc;
}

void store_rollback(triage_store_t *s)
{
        char ignore[256];
        if (triage_store_connected(s) &&
            PQtransactionStatus(s->conn) != PQTRANS_IDLE &&
            store_command(s, "ROLLBACK", NULL, ignore, sizeof(ignore)))
                triage_store_disconnect(s);
}
