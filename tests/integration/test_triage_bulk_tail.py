"""When ql-triage leaves bulk mode: once caught up (every record the high
watermarks tell of taken into a batch), not as soon as the lag is below
half the mark; and, if records keep coming so that it never catches up,
once the lag has stayed below half the mark for 5 s.

One member, batches of 20, --bulk-lag 2000 (half: 1,000); a test trigger
slows every row (1 ms in phase 1, 4 ms in phase 2) so that the lag is seen
falling.  Phase 1: a backlog of 2,600 results; the log must say bulk mode
ended "caught up" with a lag of at most one batch, and the batch it ended
with must have been stored in bulk too: PostgreSQL's function statistics
(track_functions) must show no call of ql.retriage, the per-batch
derivation, from that process (leaving below half the mark stored the last
few hundred batch by batch; leaving with a batch still to come stored that
one batch by batch).  Phase 2, a second process: 2,800 more, then the test
keeps the lag at about 880 (its own count of records produced minus the
stored offsets) for 10 s; the log must say bulk mode ended because the lag
stayed below half the mark, at least 5 s after the lag first fell below
1,000 (3 s as the test sees it: ql-triage's high watermarks are those of
its last fetch), and the records after it start no other bulk phase and are
derived per batch (ql.retriage is called).  At the end nothing is queued,
every nonconforming enterprise has its case, and the state equals a full
re-derivation.
"""
import os
import re
import signal
import time

from qltest import broker, pg, triage as T
from qltest.report import fail, ok
from test_triage_workers_shared import SNAPSHOT

BATCH, HALF = 20, 1000
# The lag the test keeps in phase 2: ql-triage sees less, its high
# watermarks being those of the last fetch (a second or two old).
TARGET = 880


def make(n, start):
    return [T.make_doc(start + i, code=T.credit_code(500 + i % 40),
                       verdict="NONCONFORMING" if i % 5 == 0 else "CONFORMING")
            for i in range(n)]


def send(env, docs):
    broker.produce(env.brokers, [(d["result_id"].encode(), T.encode(d)) for d in docs])


def stored():
    return int(pg.sql("SELECT coalesce(sum(next_offset), 0) FROM ql.consumer_offset")[0])


def ends(t):
    return re.findall(r"bulk mode ends: lag (\d+) records \(([^)]*)\)", t.text())


def calls(fn):
    """Calls of ql.`fn` counted by the statistics of the backends gone."""
    r = pg.sql("SELECT calls FROM pg_stat_user_functions"
               " WHERE schemaname = 'ql' AND funcname = %s" % pg.literal(fn))
    return int(r[0]) if r else 0


def stop(t):
    """SIGTERM ql-triage, then wait until its backends have gone (a backend
    writes its function statistics as it exits)."""
    t.signal(signal.SIGTERM)
    if t.wait(30) != 0:
        fail("SIGTERM: exit status %s" % t.proc.returncode)
    deadline = time.time() + 30
    while int(pg.sql("SELECT count(*) FROM pg_stat_activity WHERE datname ="
                     " current_database() AND pid <> pg_backend_pid()")[0]):
        if time.time() > deadline:
            fail("ql-triage's backends stayed after it exited")
        time.sleep(0.1)


def wait_for(what, cond, t, secs=120):
    deadline = time.time() + secs
    while not cond():
        if not t.alive():
            fail("ql-triage exited:\n" + t.text()[-3000:])
        if time.time() > deadline:
            fail("%s: not within %d s; %d stored, %d queued; log:\n%s"
                 % (what, secs, stored(), pg.count("ql.triage_pending"), t.text()[-5000:]))
        time.sleep(0.1)


def main():
    with T.Env("ql_test_triage_bulk_tail") as env:
        m = env.triage("--migrate-only", name="migrate")
        if m.wait(60) != 0:
            fail("--migrate-only failed:\n" + m.text())
        # Each row waits qltest_delay's seconds: 1 ms in phase 1 (its lag
        # must go from half the mark to the batches in hand well within
        # 5 s, on a loaded machine too), 4 ms in phase 2.
        pg.sql("CREATE TABLE public.qltest_delay (secs float8 NOT NULL)")
        pg.sql("INSERT INTO public.qltest_delay VALUES (0.001)")
        pg.sql("CREATE FUNCTION public.qltest_slow() RETURNS trigger LANGUAGE plpgsql "
               "AS $$ BEGIN PERFORM pg_sleep((SELECT secs FROM public.qltest_delay)); "
               "RETURN NEW; END $$")
        pg.sql("CREATE TRIGGER qltest_slow BEFORE INSERT ON ql.inspection_result "
               "FOR EACH ROW EXECUTE FUNCTION public.qltest_slow()")

        # Which functions the sessions call (ql-triage's connect after this).
        pg.sql("ALTER DATABASE \"%s\" SET track_functions = 'pl'" % os.environ["QL_DB"])
        args = ("--workers", "1", "--batch-size", str(BATCH), "--batch-ms", "50",
                "--bulk-lag", "2000")

        # Phase 1: a backlog, stored in bulk mode to its end.
        docs = make(2600, 0)
        send(env, docs)
        t = env.triage(*args, name="triage-1")
        wait_for("phase 1 stored and drained",
                 lambda: stored() == len(docs) and "derivation queue drained" in t.text(), t)
        first = ends(t)
        if len(first) != 1:
            fail("phase 1: want one end of bulk mode, got %s:\n%s" % (first, t.text()[-4000:]))
        lag, why = int(first[0][0]), first[0][1]
        if why != "caught up" or lag > BATCH:
            fail("phase 1: bulk mode ended with lag %d (%s); want caught up, lag <= %d"
                 % (lag, why, BATCH))
        stop(t)
        if not calls("register_queued"):
            fail("phase 1: no call of ql.register_queued in the function statistics")
        if calls("retriage"):
            fail("phase 1: %d batches derived per batch (ql.retriage) after a backlog "
                 "stored in bulk mode; want none:\n%s" % (calls("retriage"), t.text()[-4000:]))

        # Phase 2: enough to enter bulk mode again, then a steady flow that
        # keeps the lag between the batches in hand and half the mark.
        pg.sql("UPDATE public.qltest_delay SET secs = 0.004")
        more = make(2800, 3000)
        send(env, more)
        produced = len(docs) + len(more)
        t = env.triage(*args, name="triage-2")
        wait_for("phase 2 bulk mode", lambda: "bulk mode: lag" in t.text(), t, 30)
        wait_for("phase 2 lag below half", lambda: produced - stored() < HALF, t, 60)
        below = time.time()
        from confluent_kafka import Producer
        flow = Producer({"bootstrap.servers": env.brokers, "enable.idempotence": True,
                         "linger.ms": 5})
        extra, flow_until = 0, below + 10
        while time.time() < flow_until and not ends(t):
            lag = produced - stored()
            if lag < TARGET:
                batch = make(TARGET - lag, 100000 + extra)
                for d in batch:
                    flow.produce(broker.TOPIC, key=d["result_id"].encode(), value=T.encode(d))
                if flow.flush(10):
                    fail("the steady flow was not acknowledged")
                extra += len(batch)
                produced += len(batch)
                more += batch
            time.sleep(0.1)
        wait_for("phase 2 end of bulk mode", lambda: ends(t), t, 10)
        lag, why = int(ends(t)[0][0]), ends(t)[0][1]
        ended = time.time()
        if why != "below half the mark for 5 s" or lag <= BATCH:
            fail("phase 2: bulk mode ended with lag %d (%s); want a lag above %d, "
                 "below half the mark for 5 s:\n%s" % (lag, why, BATCH, t.text()[-4000:]))
        if ended - below < 3.0:
            fail("phase 2: bulk mode ended %.1f s after the lag fell below half the mark"
                 % (ended - below))
        # A few more once it is out of bulk mode: derived batch by batch.
        tail = make(100, 200000)
        send(env, tail)
        produced += len(tail)
        more += tail
        wait_for("everything stored and drained",
                 lambda: stored() == produced and not pg.count("ql.triage_pending"), t)
        if t.text().count("bulk mode: lag") != 1:
            fail("phase 2: a second bulk phase:\n" + t.text()[-4000:])

        everything = docs + more
        if pg.count() != len(everything):
            fail("%d rows stored, want %d" % (pg.count(), len(everything)))
        bad = {d["enterprise"]["credit_code"] for d in everything
               if d["verdict"] == "NONCONFORMING"}
        cases = pg.sql("SELECT count(DISTINCT credit_code) FROM ql.enforcement_case")
        if int(cases[0]) != len(bad):
            fail("%s enterprises have cases, want %d" % (cases[0], len(bad)))
        before = pg.sql(SNAPSHOT)
        pg.sql("SELECT ql.retriage_all()")
        if pg.sql(SNAPSHOT) != before:
            fail("a full re-derivation changed the state")
        stop(t)
        if not calls("retriage"):
            fail("phase 2: no batch derived per batch (ql.retriage) after bulk mode")
    ok("bulk mode left caught up (lag %d) after a backlog, and after %.1f s below half "
       "the mark while records kept coming; %d results, state equals a full re-derivation"
       % (int(first[0][0]), ended - below, len(everything)))


if __name__ == "__main__":
    main()
