"""ql-triage SIGHUP: the cause rules are data an administrator edits; after
an edit, SIGHUP makes the running daemon re-apply them to existing findings
(ql.recategorize) and their plans.  A finding on an item no rule knows is
OTHER, never an error.
"""
import signal

from qltest import broker, pg, procs, triage as T
from qltest.report import fail, ok


def main():
    with T.Env("ql_test_triage_rules") as env:
        doc = T.make_doc(1, verdict="NONCONFORMING")
        doc["items"][1]["name"] = "奇异新项目甲"   # no rule matches it
        broker.produce(env.brokers, [(doc["enterprise"]["credit_code"].encode(),
                                      T.encode(doc))])
        t = env.triage()

        def findings():
            try:
                return pg.count("ql.finding")
            except Exception:  # the migrations have not run yet
                return 0
        procs.wait_for("the finding", lambda: findings() >= 1)
        cat = pg.sql("SELECT category FROM ql.finding WHERE item_name = '奇异新项目甲'")
        if cat != ["OTHER"]:
            fail("unknown item categorized %s, expected OTHER" % cat)

        pg.sql("INSERT INTO ql.cause_rule (priority, pattern, category, note) "
               "VALUES (1, '奇异新项目', 'HAZARDOUS_SUBSTANCE', 'test rule')")
        t.signal(signal.SIGHUP)
        procs.wait_for("the rules reloaded",
                       lambda: "cause rules reloaded: 1 findings recategorized" in t.text())
        cat = pg.sql("SELECT category FROM ql.finding WHERE item_name = '奇异新项目甲'")
        if cat != ["HAZARDOUS_SUBSTANCE"]:
            fail("after SIGHUP the finding is %s, expected HAZARDOUS_SUBSTANCE" % cat)
        if not t.alive():
            fail("ql-triage exited on SIGHUP:\n" + t.text()[-2000:])
        t.signal(signal.SIGTERM)
        if t.wait(30) != 0:
            fail("SIGTERM exit status %s" % t.proc.returncode)
    ok("SIGHUP re-applied the edited cause rules")


if __name__ == "__main__":
    main()
