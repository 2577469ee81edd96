/*
 * store_derive: the case derivation ql-triage runs with the rows it
 * stores (ql.retriage, inside the batch's transaction), the record of the
 * enterprises whose derivation failed (ql.derivation_failure: one row per
 * enterprise, an episode open until a derivation succeeds), their retries
 * between batches with a back-off, and re-applying edited cause rules
 * (ql.recategorize).  A hint, s->open_failures, saves the batch a look-up
 * when no failure is open.
 */
#include "store.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_util.h"
#include "store_private.h"

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
        PGresult *r = store_run(s, "failure_resolve", 1, params, NULL, NULL);
        err_class_t cls;
        if (store_check(s, r, PGRES_TUPLES_OK, "resolve derivation failures",
                        &cls, errstr, errstr_size)) {
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
        PGresult *r = store_run(s, "failure_record", 2, params, NULL, NULL);
        err_class_t cls;
        int rc =
            store_check(s, r, PGRES_COMMAND_OK, "record derivation failure",
                        &cls, errstr, errstr_size);
        PQclear(r);
        if (rc)
                return ATTEMPT_FAULT;
        s->open_failures++;
        return ATTEMPT_OK;
}

/* ql.retriage of one enterprise under a savepoint: a failure is logged,
 * recorded in ql.derivation_failure (counted in *failures) and rolled back
 * to the savepoint, so the transaction goes on without it. */
static attempt_t derive_one(triage_store_t *s, const char *code,
                            size_t *failures, char *errstr, size_t errstr_size)
{
        err_class_t cls;
        triage_buf_t one = {0};
        const char *v[] = {code};
        if (triage_buf_array_literal(&one, v, 1)) {
                snprintf(errstr, errstr_size, "out of memory");
                return ATTEMPT_FAULT;
        }
        if (store_command(s, "SAVEPOINT triage_retriage", &cls, errstr,
                          errstr_size)) {
                triage_buf_free(&one);
                return ATTEMPT_FAULT;
        }
        const char *params[] = {one.buf};
        PGresult *r = store_run(s, "retriage", 1, params, NULL, NULL);
        char why[512];
        int rc = store_check(s, r, PGRES_TUPLES_OK, "ql.retriage", &cls, why,
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
                if (store_command(s, "ROLLBACK TO SAVEPOINT triage_retriage",
                                  &cls, errstr, errstr_size))
                        a = ATTEMPT_FAULT;
                else
                        a = record_failure(s, code, why, errstr, errstr_size);
                if (a == ATTEMPT_OK)
                        (*failures)++;
        } else {
                a = resolve_failures(s, one.buf, "with its next results",
                                     errstr, errstr_size);
        }
        triage_buf_free(&one);
        if (a != ATTEMPT_OK)
                return a;
        if (store_command(s, "RELEASE SAVEPOINT triage_retriage", &cls, errstr,
                          errstr_size))
                return ATTEMPT_FAULT;
        return ATTEMPT_OK;
}

attempt_t store_retriage(triage_store_t *s, triage_batch_t *b, int one_by_one,
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
        if (!one_by_one && triage_batch_bulk(b)) {
                /* Derived later from the queue (triage_store_drain); a
                 * refusal here redoes the batch row by row, derived. */
                const char *params[] = {s->scratch.buf};
                PGresult *r = store_run(s, "register", 1, params, NULL, NULL);
                int rc =
                    store_check(s, r, PGRES_TUPLES_OK, "ql.register_queued",
                                &cls, errstr, errstr_size);
                PQclear(r);
                if (!rc)
                        return ATTEMPT_OK;
                return cls == ERR_TRANSIENT ? ATTEMPT_FAULT : ATTEMPT_ROW;
        }
        if (!one_by_one) {
                const char *params[] = {s->scratch.buf};
                PGresult *r = store_run(s, "retriage", 1, params, NULL, NULL);
                int rc = store_check(s, r, PGRES_TUPLES_OK, "ql.retriage", &cls,
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
                attempt_t a =
                    derive_one(s, code, failures, errstr, errstr_size);
                if (a != ATTEMPT_OK)
                        return a;
        }
        return ATTEMPT_OK;
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
        if (store_command(s, "BEGIN", &cls, errstr, errstr_size))
                goto out;
        const char *params[] = {one.buf};
        PGresult *r = store_run(s, "retriage", 1, params, NULL, NULL);
        char why[512];
        int rc = store_check(s, r, PGRES_TUPLES_OK, "ql.retriage", &cls, why,
                             sizeof(why));
        PQclear(r);
        if (rc && cls == ERR_TRANSIENT) {
                snprintf(errstr, errstr_size, "%s", why);
                goto out;
        }
        if (rc) {
                /* The derivation's work is undone; only the attempt is
                 * counted. */
                if (store_command(s, "ROLLBACK", &cls, errstr, errstr_size) ||
                    store_command(s, "BEGIN", &cls, errstr, errstr_size))
                        goto out;
                const char *again[] = {code, why};
                r = store_run(s, "failure_again", 2, again, NULL, NULL);
                int bad = store_check(s, r, PGRES_COMMAND_OK,
                                      "count derivation attempt", &cls, errstr,
                                      errstr_size);
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
        if (store_command(s, "COMMIT", &cls, errstr, errstr_size))
                outcome = -1;
out:
        triage_buf_free(&one);
        if (outcome < 0)
                store_rollback(s);
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
        PGresult *due = store_run(s, "failure_due", 1, params, NULL, NULL);
        if (store_check(s, due, PGRES_TUPLES_OK, "due derivation failures",
                        NULL, errstr, errstr_size)) {
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
        PGresult *r = store_run(s, "failure_open", 0, NULL, NULL, NULL);
        rc = store_check(s, r, PGRES_TUPLES_OK, "derivation failures", NULL,
                         errstr, errstr_size);
        if (!rc)
                s->open_failures = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        out->open = rc ? 0 : (size_t)s->open_failures;
        PQclear(r);
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
        PGresult *r = store_exec(s, "SELECT ql.recategorize()");
        int rc = store_check(s, r, PGRES_TUPLES_OK, "recategorize", NULL,
                             errstr, errstr_size);
        if (!rc && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
                *changed = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        return rc;
}

/* One chunk of the queue in one transaction: 1 derived (*n enterprises),
 * 0 nothing queued for this member, -1 a fault (errstr). */
static int drain_chunk(triage_store_t *s, const char *limit, size_t *n,
                       size_t *failures, char *errstr, size_t errstr_size)
{
        err_class_t cls;
        const char *params[] = {limit};
        for (int one_by_one = 0; one_by_one < 2; one_by_one++) {
                *n = 0;
                if (store_command(s, "BEGIN", &cls, errstr, errstr_size))
                        return -1;
                PGresult *codes =
                    store_run(s, "pending", 1, params, NULL, NULL);
                if (store_check(s, codes, PGRES_TUPLES_OK,
                                "ql.pending_enterprises", &cls, errstr,
                                errstr_size)) {
                        PQclear(codes);
                        store_rollback(s);
                        return -1;
                }
                *n = (size_t)PQntuples(codes);
                attempt_t a = ATTEMPT_OK;
                if (!*n) {
                        PQclear(codes);
                        return store_command(s, "COMMIT", &cls, errstr,
                                             errstr_size)
                                   ? -1
                                   : 0;
                }
                if (!one_by_one) {
                        const char **v = malloc(*n * sizeof(*v));
                        s->scratch.len = 0;
                        if (!v) {
                                snprintf(errstr, errstr_size, "out of memory");
                                a = ATTEMPT_FAULT;
                        } else {
                                for (size_t i = 0; i < *n; i++)
                                        v[i] = PQgetvalue(codes, (int)i, 0);
                                if (triage_buf_array_literal(&s->scratch, v,
                                                             *n)) {
                                        snprintf(errstr, errstr_size,
                                                 "out of memory");
                                        a = ATTEMPT_FAULT;
                                }
                                free(v);
                        }
                        if (a == ATTEMPT_OK) {
                                const char *p[] = {s->scratch.buf};
                                PGresult *r = store_run(s, "derive_queued", 1,
                                                        p, NULL, NULL);
                                if (store_check(s, r, PGRES_TUPLES_OK,
                                                "ql.derive_queued", &cls,
                                                errstr, errstr_size))
                                        a = cls == ERR_TRANSIENT ? ATTEMPT_FAULT
                                                                 : ATTEMPT_ROW;
                                PQclear(r);
                        }
                } else {
                        for (size_t i = 0; i < *n && a == ATTEMPT_OK; i++)
                                a = derive_one(s, PQgetvalue(codes, (int)i, 0),
                                               failures, errstr, errstr_size);
                }
                PQclear(codes);
                if (a == ATTEMPT_OK &&
                    !store_command(s, "COMMIT", &cls, errstr, errstr_size))
                        return 1;
                store_rollback(s);
                if (a != ATTEMPT_ROW)
                        return -1;
                /* The case rules refused one of the chunk: again, each
                 * enterprise under its own savepoint. */
                ql_warn(s->lg,
                        "derivation of %zu queued enterprises refused (%s); "
                        "deriving them one by one",
                        *n, errstr);
        }
        return -1;
}

int triage_store_drain(triage_store_t *s, int max_codes, int budget_ms,
                       triage_drain_stats_t *out, char *errstr,
                       size_t errstr_size)
{
        int64_t until = ql_util_mono_ms() + budget_ms;
        memset(out, 0, sizeof(*out));
        if (!triage_store_connected(s)) {
                snprintf(errstr, errstr_size, "PostgreSQL: not connected");
                return -1;
        }
        char limit[16];
        snprintf(limit, sizeof(limit), "%d", max_codes);
        while (ql_util_mono_ms() < until) {
                size_t n, failures = 0;
                long open_before = s->open_failures;
                int rc =
                    drain_chunk(s, limit, &n, &failures, errstr, errstr_size);
                if (rc < 0) {
                        s->open_failures = open_before;
                        if (s->conn && PQstatus(s->conn) != CONNECTION_OK)
                                triage_store_disconnect(s);
                        return -1;
                }
                if (!rc) {
                        out->empty = 1;
                        break;
                }
                out->chunks++;
                out->derived += n - failures;
                out->failed += failures;
        }
        return 0;
}
