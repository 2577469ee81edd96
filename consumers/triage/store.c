/*
 * store: the batch transaction (store.h draws the sequence): the offsets'
 * compare-and-set, the gaps, the rows by COPY (or one by one under
 * savepoints once PostgreSQL refused a value), the rejects, then the
 * derivation (store_derive.c) and the caller's hook before COMMIT.  Every
 * statement with a value is a named prepared statement with parameters
 * (store_session.c); only the constant COPY commands and transaction
 * control go as plain text.
 */
#include "store.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_util.h"
#include "store_private.h"

static const char copy_rows_sql[] =
    "COPY ql.inspection_result (result_id, credit_code, kind, verdict,"
    " refers_to, reported_at, record, kafka_topic, kafka_partition,"
    " kafka_offset) FROM STDIN";
static const char copy_stage_sql[] =
    "COPY pg_temp.triage_stage (seq, result_id, credit_code, kind, verdict,"
    " refers_to, reported_at, record, kafka_topic, kafka_partition,"
    " kafka_offset) FROM STDIN";

int triage_store_load_offsets(triage_store_t *s, triage_partitions_t *t,
                              char *errstr, size_t errstr_size)
{
        if (!triage_store_connected(s)) {
                snprintf(errstr, errstr_size, "PostgreSQL: not connected");
                return -1;
        }
        const char *params[] = {s->group, s->topic};
        PGresult *r = store_run(s, "offsets_load", 2, params, NULL, NULL);
        if (store_check(s, r, PGRES_TUPLES_OK, "load offsets", NULL, errstr,
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
                PGresult *r =
                    p->start >= 0
                        ? store_run(s, "offset_cas", 5, params, NULL, NULL)
                        : store_run(s, "offset_new", 4, params, NULL, NULL);
                err_class_t cls;
                if (store_check(s, r, PGRES_COMMAND_OK, "store offset", &cls,
                                errstr, errstr_size)) {
                        PQclear(r);
                        return store_fault_of(cls);
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
                        if (store_io_wait(o->s, 0, o->deadline))
                                return 0;
                if (!o->s->conn || rc != 1)
                        return 0;
                p += k;
                n -= k;
                o->unflushed += k;
                if (o->unflushed >= COPY_SLICE) {
                        if (store_io_wait(o->s, 0, o->deadline))
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
        PGresult *r = store_collect(
            s, store_ready(s) && PQsendQuery(s->conn, sql), o.deadline);
        err_class_t cls;
        if (store_check(s, r, PGRES_COPY_IN, "COPY", &cls, errstr,
                        errstr_size)) {
                PQclear(r);
                return store_fault_of(cls);
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
                if (store_io_wait(s, 0, o.deadline)) {
                        snprintf(errstr, errstr_size, "COPY: %s", s->io_error);
                        return ATTEMPT_FAULT;
                }
        if (ended != 1)
                ok = 0;
        r = store_collect(s, 1, o.deadline);
        attempt_t a = ATTEMPT_OK;
        if (store_check(s, r, PGRES_COMMAND_OK, "COPY", &cls, errstr,
                        errstr_size))
                a = store_fault_of(cls);
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
        PGresult *r = store_run(s, "exists", 1, params, NULL, NULL);
        err_class_t cls;
        if (store_check(s, r, PGRES_TUPLES_OK, "look up result_ids", &cls,
                        errstr, errstr_size)) {
                PQclear(r);
                return store_fault_of(cls);
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
        r = store_run(s, "conflicts", 0, NULL, NULL, NULL);
        if (store_check(s, r, PGRES_TUPLES_OK, "compare duplicates", &cls,
                        errstr, errstr_size)) {
                PQclear(r);
                return store_fault_of(cls);
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
                if (store_command(s, "SAVEPOINT triage_row", &cls, errstr,
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
                            store_run(s, "stage_insert", 1, params, NULL, NULL);
                        if (store_check(s, r, PGRES_TUPLES_OK, "insert result",
                                        &cls, errstr, errstr_size))
                                a = store_fault_of(cls);
                        else
                                status = PQntuples(r) ? TRIAGE_ROW_NEW
                                                      : TRIAGE_ROW_DUPLICATE;
                        PQclear(r);
                }
                int conflict = 0;
                if (a == ATTEMPT_OK && status == TRIAGE_ROW_DUPLICATE) {
                        PGresult *r =
                            store_run(s, "conflict_row", 1, params, NULL, NULL);
                        if (store_check(s, r, PGRES_TUPLES_OK,
                                        "compare duplicate", &cls, errstr,
                                        errstr_size))
                                a = store_fault_of(cls);
                        else
                                conflict = PQntuples(r) > 0;
                        PQclear(r);
                }
                if (a == ATTEMPT_FAULT)
                        return a;
                if (a == ATTEMPT_ROW) {
                        /* errstr holds PostgreSQL's reason for this row. */
                        if (store_command(s, "ROLLBACK TO SAVEPOINT triage_row",
                                          &cls, errstr, errstr_size))
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
                if (store_command(s, "RELEASE SAVEPOINT triage_row", &cls,
                                  errstr, errstr_size))
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
                PGresult *r =
                    store_run(s, "reject", 8, params, lengths, formats);
                err_class_t cls;
                int rc = store_check(s, r, PGRES_COMMAND_OK, "store reject",
                                     &cls, errstr, errstr_size);
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
                PGresult *r = store_run(s, "expired", 5, params, NULL, NULL);
                err_class_t cls;
                int rc =
                    store_check(s, r, PGRES_COMMAND_OK, "record expired range",
                                &cls, errstr, errstr_size);
                PQclear(r);
                /* Like a reject, a gap is no row to isolate. */
                if (rc)
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
        if (store_command(s, "BEGIN", &cls, errstr, errstr_size))
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
                a = store_retriage(s, b, one_by_one, failures, errstr,
                                   errstr_size);
        if (a == ATTEMPT_OK && hook && hook(hook_arg, b, errstr, errstr_size))
                a = ATTEMPT_HOOK;
        if (a == ATTEMPT_OK &&
            store_command(s, "COMMIT", &cls, errstr, errstr_size))
                a = ATTEMPT_FAULT;
        if (a == ATTEMPT_OK)
                return ATTEMPT_OK;
        s->open_failures = open_before;
        store_rollback(s);
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
