"""ql-triage's bulk mode with two members whose backlogs end apart: the
member that catches up first holds its drain of the derivation queue until
the other has stored its backlog too (on two cores a drain beside a member
still storing halves that member's rate), then both drain.

Six partitions, two members (the range assignor gives each three).  A
backlog of 1,000 results on partitions 3-5 and one of 1,200 on partitions
0-2; a test trigger slows the rows (2 ms and 6 ms each), so both members
are in bulk mode for seconds, one about five seconds longer.  Checked:
both members enter bulk mode; one done first says it holds its drain; no
member drains the queue while the other is in bulk mode (the log, walked
in order); at the end nothing is queued, every nonconforming enterprise has its case, and the
state equals a full re-derivation.
"""
import re
import signal
import time

from qltest import broker, pg, triage as T
from qltest.report import fail, ok
from test_triage_workers_shared import SNAPSHOT

FAST, SLOW = 1000, 1200


def docs(n, start, lab):
    out = []
    for i in range(n):
        bad = i % 5 == 0
        d = T.make_doc(start + i, code=T.credit_code(start // 100 + i % 30),
                       verdict="NONCONFORMING" if bad else "CONFORMING", lab=lab)
        out.append(d)
    return out


def stamp(line):
    """The log line's time in seconds (ts=...Z)."""
    m = re.search(r"ts=\S+T(\d+):(\d+):([\d.]+)Z", line)
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def check_log(log):
    """Walk the log keeping which members are in bulk mode.  Each member
    enters bulk mode; a member held its drain (after leaving bulk mode,
    while the other was in it); no drain ran while the other member was in
    bulk mode, unless it had started before that member entered it (the
    "drained" line gives the drain's length); the last member to leave
    bulk mode is followed by a drain."""
    in_bulk, entered_at, ever = {}, {}, set()
    held = drained_after_last = False
    for line in log.splitlines():
        m = re.search(r"prog=ql-triage/(\d)", line)
        if not m:
            continue
        who = m.group(1)
        others = [o for o, b in in_bulk.items() if b and o != who]
        if re.search(r"bulk mode: lag \d+ records", line):
            in_bulk[who] = True
            entered_at[who] = stamp(line)
            ever.add(who)
        elif "bulk mode ends" in line:
            in_bulk[who] = False
        elif "deriving the queue once the other members" in line:
            if in_bulk.get(who) or not others:
                fail("member %s said it holds its drain, but it is in bulk mode "
                     "or no other member is:\n%s" % (who, log[-6000:]))
            held = True
        elif "derivation queue drained" in line:
            took = float(re.search(r"in ([\d.]+) s", line).group(1))
            began = stamp(line) - took - 0.2
            late = [o for o in others if entered_at[o] <= began]
            if late:
                fail("member %s drained the queue while member %s was in bulk mode:\n"
                     "  %s\n%s" % (who, late[0], line, log[-6000:]))
            drained_after_last = not any(in_bulk.values())
    if len(ever) != 2:
        fail("both members should enter bulk mode; entered: %s\n%s"
             % (sorted(ever), log[-6000:]))
    if any(in_bulk.values()):
        fail("bulk mode did not end for both members:\n" + log[-6000:])
    if not held:
        fail("no member held its drain for the other:\n" + log[-6000:])
    if not drained_after_last:
        fail("no drain after the last member left bulk mode:\n" + log[-6000:])


def main():
    with T.Env("ql_test_triage_bulk_hold", partitions=6) as env:
        m = env.triage("--migrate-only", name="migrate")
        if m.wait(60) != 0:
            fail("--migrate-only failed:\n" + m.text())
        pg.sql("CREATE FUNCTION public.qltest_slow() RETURNS trigger LANGUAGE plpgsql "
               "AS $$ BEGIN PERFORM pg_sleep(CASE WHEN NEW.result_id LIKE 'XMSL:%' "
               "THEN 0.006 ELSE 0.002 END); RETURN NEW; END $$")
        pg.sql("CREATE TRIGGER qltest_slow BEFORE INSERT ON ql.inspection_result "
               "FOR EACH ROW EXECUTE FUNCTION public.qltest_slow()")
        fast = docs(FAST, 10000, "XMQI")
        slow = docs(SLOW, 20000, "XMSL")
        for part in range(3):
            broker.produce(env.brokers, [(d["result_id"].encode(), T.encode(d))
                                         for d in fast[part::3]], partition=3 + part)
            broker.produce(env.brokers, [(d["result_id"].encode(), T.encode(d))
                                         for d in slow[part::3]], partition=part)
        total = FAST + SLOW
        t = env.triage("--workers", "2", "--batch-size", "40", "--batch-ms", "50",
                       "--bulk-lag", "100")
        deadline = time.time() + 120
        while not (T.caught_up(env.brokers, total) and
                   len(re.findall(r"derivation queue drained", t.text())) >= 2) \
                and t.alive():
            if time.time() > deadline:
                fail("backlog not stored and drained in 120 s: %d rows, %d queued; log:\n%s"
                     % (pg.count(), pg.count("ql.triage_pending"), t.text()[-6000:]))
            time.sleep(0.2)
        if not t.alive():
            fail("ql-triage exited:\n" + t.text()[-3000:])
        log = t.text()
        check_log(log)

        if pg.count("ql.triage_pending"):
            fail("%d results left queued" % pg.count("ql.triage_pending"))
        bad = {d["enterprise"]["credit_code"] for d in fast + slow
               if d["verdict"] == "NONCONFORMING"}
        cases = pg.sql("SELECT count(DISTINCT credit_code) FROM ql.enforcement_case")
        if int(cases[0]) != len(bad):
            fail("%s enterprises have cases, want %d" % (cases[0], len(bad)))
        before = pg.sql(SNAPSHOT)
        pg.sql("SELECT ql.retriage_all()")
        if pg.sql(SNAPSHOT) != before:
            fail("a full re-derivation changed the state the drain left")
        t.signal(signal.SIGTERM)
        if t.wait(30) != 0:
            fail("SIGTERM: exit status %s" % t.proc.returncode)
    ok("%d + %d records in bulk by two members; the one done first held its drain "
       "until the other was done; the state equals a full re-derivation" % (FAST, SLOW))


if __name__ == "__main__":
    main()
