"""ql-triage as its own role: the schema owner applies the migrations
(--migrate-only), then the daemon runs as a login that is only a member of
ql_triage and still stores every result, runs the triage (findings, cases)
and keeps its offsets — without owning or being able to change anything
else.
"""
import os

from qltest import broker, pg, triage as T
from qltest.report import fail, ok


N = 200
LOGIN = "qltest_triage_daemon"


def main():
    with T.Env("ql_test_triage_role") as env:
        m = env.triage("--migrate-only", name="migrate-as-owner")
        if m.wait(60) != 0:
            fail("--migrate-only as the owner failed:\n" + m.text())
        pg.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles "
               "WHERE rolname = '%s') THEN CREATE ROLE %s LOGIN IN ROLE "
               "ql_triage; END IF; END $$" % (LOGIN, LOGIN), db="postgres")

        docs = [T.make_doc(i, verdict="NONCONFORMING" if i % 10 == 0 else "CONFORMING")
                for i in range(N)]
        broker.produce(env.brokers, [(d["enterprise"]["credit_code"].encode(), T.encode(d))
                                     for d in docs])
        env.extra["QL_PG"] = "dbname=%s user=%s" % (os.environ["QL_DB"], LOGIN)
        t = env.triage("--idle-exit", "2", name="triage-as-role")
        if t.wait(120) != 0:
            fail("ql-triage as a ql_triage member failed:\n" + t.text()[-3000:])
        if pg.count() != N:
            fail("%d rows stored, expected %d" % (pg.count(), N))
        if pg.count("ql.finding") != N // 10:
            fail("%d findings, expected %d: the triage did not run"
                 % (pg.count("ql.finding"), N // 10))
        if pg.count("ql.enforcement_case") == 0:
            fail("no cases opened")
        T.check_offsets_at_watermarks(env.brokers)
        # The role cannot touch what is not its business.
        r = __import__("subprocess").run(
            ["psql", "-X", "-q", "-At", "-U", LOGIN, "-d", os.environ["QL_DB"],
             "-c", "DELETE FROM ql.inspection_result"],
            capture_output=True, text=True)
        if r.returncode == 0 or "permission denied" not in r.stderr:
            fail("ql_triage member could delete results: %s %s" % (r.stdout, r.stderr))
    ok("ql-triage stores and triages as a ql_triage member")


if __name__ == "__main__":
    main()
