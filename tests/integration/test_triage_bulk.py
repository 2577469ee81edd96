"""ql-triage's bulk mode: a backlog is stored with only the registration of
its enterprises and derived once it has caught up, leaving the state a
batch-by-batch derivation leaves.

A backlog of originals and rechecks (rechecks keyed apart from their
originals, so they arrive through other partitions and in other batches) is
produced before ql-triage starts, two members, --bulk-lag below the
backlog.  Checked: the log says bulk mode was entered and the queue
drained; nothing is left in ql.triage_pending; the derived state equals a
full re-derivation (ql.retriage_all changes nothing); an enterprise whose
derivation fails is recorded in ql.derivation_failure, keeps its results
queued and does not stall the drain, nor is it retried by the drain (the
drain refuses a chunk for it at most once per member); records that
arrive after the catch-up are derived batch by batch (no second bulk
phase).
"""
import re
import signal
import time

from qltest import broker, pg, procs, triage as T
from qltest.report import fail, ok
from test_triage_workers_shared import SNAPSHOT, docs



def drained(text):
    """Every member that entered bulk mode has drained the queue since it
    left it.  One member's drain skips the enterprises another member is
    deriving (SKIP LOCKED) and may say "drained" while the other is still at
    work; the queue is empty once each has said so (the last to finish says
    that no member of the process has more to derive: checked in main)."""
    members = set(re.findall(r'prog=(ql-triage/\d+) msg="bulk mode: lag', text))
    if not members:
        return False
    for m in members:
        tail = text.rsplit('prog=%s msg="bulk mode ends' % m, 1)
        if len(tail) < 2 or ('prog=%s msg="derivation queue drained' % m) not in tail[1]:
            return False
    return True


def main():
    with T.Env("ql_test_triage_bulk") as env:
        m = env.triage("--migrate-only", name="migrate")
        if m.wait(60) != 0:
            fail("--migrate-only failed:\n" + m.text())
        # Enterprises 1000, 1002, ... 1010 have nonconforming results (docs()).
        failing = T.credit_code(1002)
        pg.sql("CREATE FUNCTION public.qltest_refuse() RETURNS trigger "
              "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
              "'qltest: derivation refused for %', NEW.credit_code; END $$")
        pg.sql("CREATE TRIGGER qltest_refuse BEFORE INSERT OR UPDATE ON "
              "ql.finding FOR EACH ROW WHEN (NEW.credit_code = '%s') "
              "EXECUTE FUNCTION public.qltest_refuse()" % failing)

        backlog = docs()
        msgs = [(d["result_id"].encode(), T.encode(d)) for d in backlog]
        broker.produce(env.brokers, msgs)
        t = env.triage("--workers", "2", "--batch-size", "40", "--batch-ms", "50",
                       "--bulk-lag", "100")
        deadline = time.time() + 120
        while not (T.caught_up(env.brokers, len(msgs)) and
                   drained(t.text())) and t.alive():
            if time.time() > deadline:
                fail("backlog not stored and drained in 120 s: %d rows, %d queued; log:\n%s"
                     % (pg.count(), pg.count("ql.triage_pending"), t.text()[-6000:]))
            time.sleep(0.2)
        if not t.alive():
            fail("ql-triage exited:\n" + t.text()[-3000:])
        log = t.text()
        if not re.search(r"bulk mode: lag \d+ records", log):
            fail("bulk mode was not entered:\n" + log[-3000:])
        if pg.count("ql.triage_pending", "credit_code <> '%s'" % failing):
            fail("results of healthy enterprises left queued")
        # The last member to finish says that none has more to derive; one
        # that finishes first, how many others still store or derive (two
        # finishing at once may write their lines in either order).
        said = re.findall(r'msg="derivation queue drained: \d+ enterprises in [\d.]+ s;'
                          r' ([^"]*)"', log)
        if "no member of this process has more to derive" not in said[-2:]:
            fail("no drain says that no member has more to derive: %s\n%s"
                 % (said, log[-3000:]))
        if any(x not in ("no member of this process has more to derive",
                         "1 other member still storing in bulk or deriving") for x in said):
            fail("a drain line counts the members wrongly: %s" % said)
        if not pg.count("ql.triage_pending", "credit_code = '%s'" % failing):
            fail("the failing enterprise's results are not queued any more")
        rows = pg.sql("SELECT attempts FROM ql.derivation_failure "
                     "WHERE credit_code = '%s' AND resolved_at IS NULL" % failing)
        if not rows:
            fail("the failed derivation in the drain is not recorded:\n" + log[-3000:])
        # The drain hands a failing enterprise to the retry: it meets it at
        # most once (twice when both members raced for it before the failure
        # was committed; never when a batch of the first second, before the
        # lag was known, had failed it already), not at every chunk.
        refused = len(re.findall(r"derivation of \d+ queued enterprises refused", log))
        if refused > 3:
            fail("the drain met the failing enterprise %d times:\n%s" % (refused, log[-3000:]))
        cases = pg.sql("SELECT count(DISTINCT credit_code) FROM ql.enforcement_case")
        if int(cases[0]) != 5:
            fail("only %s enterprises have cases after the drain" % cases[0])

        # The cause removed: the retry derives it; then the whole state is
        # what a full re-derivation gives.
        pg.sql("DROP TRIGGER qltest_refuse ON ql.finding")
        # Due now, whatever its backoff has grown to (every batch that
        # carried its results before bulk mode began counted an attempt).
        pg.sql("UPDATE ql.derivation_failure SET last_failed_at = now() - interval '1 hour'")
        procs.wait_for("the failing enterprise derived by the retry",
                   lambda: not pg.count("ql.triage_pending"), 60)
        before = pg.sql(SNAPSHOT)
        failing_originals = sum(1 for d in backlog if d["kind"] == "SUPERVISION"
                                and d["verdict"] == "NONCONFORMING")
        if sum(1 for r in before if r.startswith("original ")) != failing_originals:
            fail("%d originals derived, want %d" % (
                sum(1 for r in before if r.startswith("original ")), failing_originals))
        pg.sql("SELECT ql.retriage_all()")
        after = pg.sql(SNAPSHOT)
        if before != after:
            gone = sorted(set(before) - set(after))[:10]
            new = sorted(set(after) - set(before))[:10]
            fail("a full re-derivation changed the state bulk mode left:\n"
                 "  only before: %s\n  only after: %s" % (gone, new))

        # Caught up: what comes now is derived with its batch.
        phases = len(re.findall(r"bulk mode: lag", t.text()))
        late = [T.make_doc(50000 + i, code=T.credit_code(2000 + i),
                           verdict="NONCONFORMING") for i in range(5)]
        broker.produce(env.brokers, [(d["result_id"].encode(), T.encode(d)) for d in late])
        procs.wait_for("the late results stored",
                   lambda: T.caught_up(env.brokers, len(msgs) + len(late)), 60)
        if pg.count("ql.enforcement_case", "credit_code IN (%s)" % ", ".join(
                "'%s'" % d["enterprise"]["credit_code"] for d in late)) != len(late):
            fail("the late results' cases were not derived with their batch")
        if len(re.findall(r"bulk mode: lag", t.text())) != phases:
            fail("a second bulk phase for 5 records:\n" + t.text()[-3000:])
        t.signal(signal.SIGTERM)
        if t.wait(30) != 0:
            fail("SIGTERM: exit status %s" % t.proc.returncode)
    ok("%d records stored in bulk by two members, the queue drained around a "
          "failing enterprise, the state equals a full re-derivation" % len(msgs))


if __name__ == "__main__":
    main()
