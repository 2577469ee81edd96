"""ql-triage when PostgreSQL refuses: a row the database will not take (here
a CHECK constraint the test adds) and a ql.retriage that raises for one
enterprise (here a wrapper the test installs).  The batch is redone row by
row: the refused record becomes an UNSTORABLE dead letter (table and topic),
the enterprise whose triage failed keeps its stored results and the error is
logged, everything else is stored and triaged, and the offsets move on.
"""

from qltest import broker, pg, triage as T
from qltest.report import fail, ok


N = 60


def main():
    with T.Env("ql_test_triage_unstorable") as env:
        m = env.triage("--migrate-only", name="migrate")
        if m.wait(60) != 0:
            fail("--migrate-only failed:\n" + m.text())
        refused_id = "XMQI:R-%06d" % 7
        pg.sql("ALTER TABLE ql.inspection_result ADD CONSTRAINT test_refuse "
               "CHECK (result_id <> '%s')" % refused_id)
        failing, healthy = T.credit_code(999), T.credit_code(998)
        has_retriage = pg.sql("SELECT count(*) FROM pg_proc WHERE proname = 'retriage' "
                              "AND pronamespace = 'ql'::regnamespace") != ["0"]
        if has_retriage:
            pg.sql("ALTER FUNCTION ql.retriage RENAME TO retriage_orig")
            pg.sql("CREATE FUNCTION ql.retriage(codes text[]) RETURNS integer "
                   "LANGUAGE plpgsql AS $$ BEGIN "
                   "IF '%s' = ANY (codes) THEN RAISE EXCEPTION 'test: no triage for %s'; "
                   "END IF; RETURN ql.retriage_orig(codes); END $$" % (failing, failing))

        docs = [T.make_doc(i) for i in range(N)]
        docs[13] = T.make_doc(13, code=failing, verdict="NONCONFORMING")
        docs[20] = T.make_doc(20, code=healthy, verdict="NONCONFORMING")
        refused_bytes = T.encode(docs[7])
        broker.produce(env.brokers, [(d["enterprise"]["credit_code"].encode(), T.encode(d))
                                     for d in docs])

        t = env.triage("--idle-exit", "2")
        if t.wait(90) != 0:
            fail("exit status %s\n%s" % (t.proc.returncode, t.text()[-3000:]))
        log = t.text()
        if pg.count() != N - 1:
            fail("%d rows, want %d" % (pg.count(), N - 1))
        if pg.count(where="result_id = '%s'" % refused_id):
            fail("the refused row was stored")
        rej = pg.sql("SELECT kind, result_id, payload = '\\x%s'::bytea, error "
                     "FROM ql.rejected_record" % refused_bytes.hex())
        if len(rej) != 1 or not rej[0].startswith("UNSTORABLE|%s|t|" % refused_id) \
                or "test_refuse" not in rej[0]:
            fail("rejected_record: %s" % rej)
        dlq = broker.consume_all(env.brokers, broker.DLQ, expect=1)
        if len(dlq) != 1 or dlq[0][1] != refused_bytes or \
                dict(dlq[0][2]).get("kind") != b"UNSTORABLE":
            fail("dead-letter topic: %s" % [(k, h) for k, _, h in dlq])
        if "row by row" not in log:
            fail("the row-by-row path was not taken:\n" + log[-3000:])
        if has_retriage:
            if "retriage of enterprise %s failed" % failing not in log:
                fail("the failed retriage is not logged:\n" + log[-3000:])
            cases = pg.sql("SELECT DISTINCT credit_code FROM ql.enforcement_case ORDER BY 1")
            if cases != [healthy]:
                fail("cases for %s, want only %s" % (cases, healthy))
            if not pg.count(where="credit_code = '%s'" % failing):
                fail("the results of the enterprise whose triage failed were not kept")
        T.check_offsets_at_watermarks(env.brokers)
    ok("refused row dead-lettered, failed triage isolated, %d stored" % (N - 1))


if __name__ == "__main__":
    main()
