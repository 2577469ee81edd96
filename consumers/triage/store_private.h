/*
 * store_private.h: what the three files of the store share, private to
 * them.  store_session.c owns the connection and the bounded exchange with
 * PostgreSQL (every other file sends through store_run / store_exec /
 * store_command and reads errors with store_check); store.c writes a batch
 * in one transaction (store.h draws it); store_derive.c runs the case
 * derivation, records the enterprises whose derivation failed and retries
 * them.
 */
#ifndef TRIAGE_STORE_PRIVATE_H
#define TRIAGE_STORE_PRIVATE_H

#include <stdint.h>

#include <libpq-fe.h>

#include "store.h"

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

/* The outcome of one attempt at the transaction. */
typedef enum {
        ATTEMPT_OK,
        ATTEMPT_LOST,
        ATTEMPT_ROW,   /* a refused value: try row by row */
        ATTEMPT_FAULT, /* errstr says what */
        ATTEMPT_HOOK,
} attempt_t;

static inline attempt_t store_fault_of(err_class_t cls)
{
        return cls == ERR_ROW ? ATTEMPT_ROW : ATTEMPT_FAULT;
}

/* store_session.c: the exchange.  Every wait ends by `deadline` (ms on
 * ql_util_mono_ms) or drops the connection (s->io_error says why). */

/* Send what libpq holds and, with until_result, wait until a result can be
 * read without blocking.  0, or -1 with the connection dropped. */
int store_io_wait(triage_store_t *s, int until_result, int64_t deadline);
/* The results of the command just sent (sent: it was): the first failed
 * one if any, else the last; a COPY IN result at once.  NULL when nothing
 * was sent or no answer came in time. */
PGresult *store_collect(triage_store_t *s, int sent, int64_t deadline);
/* Connected?  Clears the last exchange's error first. */
int store_ready(triage_store_t *s);
/* A plain-text command (constant SQL only). */
PGresult *store_exec(triage_store_t *s, const char *sql);
/* A prepared statement (store_session.c's table) with text parameters
 * (binary where lengths and formats say). */
PGresult *store_run(triage_store_t *s, const char *name, int n,
                    const char *const *values, const int *lengths,
                    const int *formats);
/* Check r (which may be NULL) for status `want`.  On anything else: the
 * error in errstr as "what: message (SQLSTATE)", its class in *cls (cls
 * may be NULL), and -1.  r is not cleared. */
int store_check(triage_store_t *s, PGresult *r, ExecStatusType want,
                const char *what, err_class_t *cls, char *errstr,
                size_t errstr_size);
/* End a transaction left open by a failure: ROLLBACK, or drop the
 * connection when even that fails.  Nothing when none is open. */
void store_rollback(triage_store_t *s);
/* A constant command expecting COMMAND_OK.  0 or -1. */
int store_command(triage_store_t *s, const char *sql, err_class_t *cls,
                  char *errstr, size_t errstr_size);

/* store_derive.c, inside the batch's transaction. */

/* ql.retriage for the enterprises with new rows in b.  one_by_one: each
 * enterprise under a savepoint; a failure is logged, recorded in
 * ql.derivation_failure (counted in *failures) and skipped. */
attempt_t store_retriage(triage_store_t *s, triage_batch_t *b, int one_by_one,
                         size_t *failures, char *errstr, size_t errstr_size);

#endif
