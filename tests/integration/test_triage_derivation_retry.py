"""A failed case derivation is recorded and retried, never only logged.

The derivation of one enterprise is made to fail by a trigger the test
installs as superuser on ql.finding (a derived table) that raises for that
credit code only -- nothing a deployment has or could trigger by accident --
and drops afterwards.  ql-triage runs as a login that is only a member of
ql_triage, so the privileges migration 020 grants are the ones exercised.
Checked: the results of that enterprise are stored all the same, the
failure is an ERROR line, a row of ql.derivation_failure (error, attempts)
and ql_triage_derivation_failures_total; while the cause stays, the idle
retries count more attempts; once it is gone, a retry derives the case and
resolves the row.  The role may not delete or rewrite those rows, nor read
ql.expired_range.
"""
import os
import subprocess

from qltest import broker, pg, procs, triage as T
from qltest.report import fail, ok


N = 40
LOGIN = "qltest_triage_retrier"


def as_login(sql):
    return subprocess.run(["psql", "-X", "-q", "-At", "-U", LOGIN, "-d",
                           os.environ["QL_DB"], "-c", sql],
                          capture_output=True, text=True)


def failure_row(code):
    rows = pg.sql("SELECT attempts, resolved_at IS NOT NULL, error "
                  "FROM ql.derivation_failure WHERE credit_code = '%s'" % code)
    if not rows:
        return None
    attempts, resolved, error = rows[0].split("|", 2)
    return int(attempts), resolved == "t", error


def main():
    with T.Env("ql_test_triage_derivation_retry") as env:
        m = env.triage("--migrate-only", name="migrate")
        if m.wait(60) != 0:
            fail("--migrate-only failed:\n" + m.text())
        pg.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles "
               "WHERE rolname = '%s') THEN CREATE ROLE %s LOGIN IN ROLE "
               "ql_triage; END IF; END $$" % (LOGIN, LOGIN), db="postgres")
        failing, healthy = T.credit_code(901), T.credit_code(902)
        pg.sql("CREATE FUNCTION public.qltest_refuse() RETURNS trigger "
               "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
               "'qltest: derivation refused for %', NEW.credit_code; END $$")
        pg.sql("CREATE TRIGGER qltest_refuse BEFORE INSERT OR UPDATE ON "
               "ql.finding FOR EACH ROW WHEN (NEW.credit_code = '%s') "
               "EXECUTE FUNCTION public.qltest_refuse()" % failing)

        docs = [T.make_doc(i) for i in range(N)]
        docs[13] = T.make_doc(13, code=failing, verdict="NONCONFORMING")
        docs[20] = T.make_doc(20, code=healthy, verdict="NONCONFORMING")
        broker.produce(env.brokers, [(d["enterprise"]["credit_code"].encode(),
                                      T.encode(d)) for d in docs])
        env.extra["QL_PG"] = "dbname=%s user=%s" % (os.environ["QL_DB"], LOGIN)
        addr = "127.0.0.1:%d" % procs.free_port()
        t = env.triage("--metrics-addr", addr, name="triage-as-role")
        procs.wait_for("every result stored",
                       lambda: T.caught_up(env.brokers, N) or not t.alive(), 60)
        if not t.alive():
            fail("ql-triage exited:\n" + t.text()[-3000:])

        # Failed: stored, logged, recorded, counted; the others derived.
        if not pg.count(where="credit_code = '%s'" % failing):
            fail("the results of the enterprise whose derivation failed "
                 "were not stored")
        row = failure_row(failing)
        if not row or row[1] or "qltest: derivation refused for " + failing \
                not in row[2]:
            fail("ql.derivation_failure: %s" % (row,))
        if "retriage of enterprise %s failed" % failing not in t.text():
            fail("the failure is not logged:\n" + t.text()[-3000:])
        _, text = procs.scrape(addr)
        if (procs.metric(text, "ql_triage_derivation_failures_total") or 0) < 1:
            fail("ql_triage_derivation_failures_total: %s"
                 % procs.metric(text, "ql_triage_derivation_failures_total"))
        cases = pg.sql("SELECT DISTINCT credit_code FROM ql.enforcement_case "
                       "ORDER BY 1")
        if cases != [healthy]:
            fail("cases for %s, want only %s" % (cases, healthy))

        # Still failing: retried when idle, each attempt counted.
        procs.wait_for("an idle retry", lambda: failure_row(failing)[0] >= 2, 30)
        row = failure_row(failing)
        if row[1]:
            fail("resolved while the cause is still there: %s" % (row,))
        _, text = procs.scrape(addr)
        if (procs.metric(text, "ql_triage_derivation_failures_total") or 0) < 2:
            fail("the failed retry is not counted: %s"
                 % procs.metric(text, "ql_triage_derivation_failures_total"))

        # The cause removed: the next retry derives and resolves.
        pg.sql("DROP TRIGGER qltest_refuse ON ql.finding")
        procs.wait_for("the row resolved", lambda: failure_row(failing)[1], 60)
        cases = pg.sql("SELECT DISTINCT credit_code FROM ql.enforcement_case "
                       "ORDER BY 1")
        if cases != sorted([failing, healthy]):
            fail("after the retry, cases for %s" % cases)
        if not pg.count("ql.finding", "credit_code = '%s'" % failing):
            fail("no findings for %s after the retry" % failing)
        if "enterprise %s succeeded on retry" % failing not in t.text():
            fail("the resolution is not logged:\n" + t.text()[-3000:])
        T.check_offsets_at_watermarks(env.brokers)

        # Exactly the privileges it needs.
        for sql in ("DELETE FROM ql.derivation_failure",
                    "UPDATE ql.derivation_failure SET credit_code = 'x'",
                    "SELECT * FROM ql.expired_range",
                    "DELETE FROM ql.expired_range"):
            r = as_login(sql)
            if r.returncode == 0 or "permission denied" not in r.stderr:
                fail("%s may: %s: %s %s" % (LOGIN, sql, r.stdout, r.stderr))
        t.signal(15)
        if t.wait(30) != 0:
            fail("exit status %s after SIGTERM" % t.proc.returncode)
        pg.sql("DROP FUNCTION public.qltest_refuse()")
    ok("a failed derivation was recorded, counted, retried and "
       "resolved once its cause was gone")


if __name__ == "__main__":
    main()
