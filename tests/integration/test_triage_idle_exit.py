"""ql-triage --workers 2 --idle-exit: the process stops once every member has
caught up, and no member leaves the group before: a member that left early
handed its partitions round in a rebalance, and a member holding nothing
while that rebalance went on (the dev broker takes seconds over it) counted
as caught up and stopped too, leaving records unstored with exit status 0.

Two partitions: five results on one, 1,000 on the other, every row slowed by
a test trigger (4 ms), so that one member is idle for seconds while the
other still stores.  Checked: exit status 0, every record stored, every
member's "caught up" before the first "stopping" (a member that stopped
first left the group while the other still stored).
"""
import re

from qltest import broker, pg, triage as T
from qltest.report import fail, ok

BUSY, IDLE = 1000, 5


def main():
    with T.Env("ql_test_triage_idle_exit", partitions=2) as env:
        m = env.triage("--migrate-only", name="migrate")
        if m.wait(60) != 0:
            fail("--migrate-only failed:\n" + m.text())
        pg.sql("CREATE FUNCTION public.qltest_slow() RETURNS trigger LANGUAGE plpgsql "
               "AS $$ BEGIN PERFORM pg_sleep(0.004); RETURN NEW; END $$")
        pg.sql("CREATE TRIGGER qltest_slow BEFORE INSERT ON ql.inspection_result "
               "FOR EACH ROW EXECUTE FUNCTION public.qltest_slow()")

        docs = [T.make_doc(i, code=T.credit_code(700 + i % 30),
                           verdict="NONCONFORMING" if i % 7 == 0 else "CONFORMING")
                for i in range(BUSY + IDLE)]
        msgs = [(d["result_id"].encode(), T.encode(d)) for d in docs]
        broker.produce(env.brokers, msgs[:BUSY], partition=1)
        broker.produce(env.brokers, msgs[BUSY:], partition=0)

        t = env.triage("--workers", "2", "--idle-exit", "1", "--batch-size", "40",
                       "--batch-ms", "50")
        status = t.wait(180)
        log = t.text()
        if status != 0:
            fail("exit status %s:\n%s" % (status, log[-4000:]))
        rows = pg.count()
        if rows != BUSY + IDLE:
            fail("%d of %d records stored when ql-triage exited:\n%s"
                 % (rows, BUSY + IDLE, log[-4000:]))
        lines = log.splitlines()
        caught = [i for i, l in enumerate(lines) if 'msg="caught up:' in l]
        stops = [i for i, l in enumerate(lines) if 'msg="stopping: finishing' in l]
        members = {re.search(r"prog=(\S+)", lines[i]).group(1) for i in caught}
        if members != {"ql-triage/1", "ql-triage/2"}:
            fail("not every member said it caught up (%s):\n%s" % (sorted(members), log[-4000:]))
        if not stops or max(caught) > min(stops):
            fail("a member stopped before the other had caught up:\n%s" % log[-4000:])
    ok("two members, one idle for seconds: the process stopped once both had "
       "caught up, all %d records stored, no member left early" % (BUSY + IDLE))


if __name__ == "__main__":
    main()
