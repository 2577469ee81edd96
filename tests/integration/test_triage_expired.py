"""Records that expired before they were stored are reported, not lost in
silence.  The dev broker keeps only the newest ~5 MB of a partition (the
mock cluster drops its oldest message sets), so 10 MB of results produced
while ql-triage is not reading loses the partition's start, as Kafka's
retention would.  Three ways to meet that, each checked for the exact range
(from the broker's own log start), in ql.expired_range, in the ERROR log
line, in ql_triage_expired_records_total and in the /readyz detail, and
every record still on the broker stored exactly once:

  A. a new group, nothing stored: the gap is 0 .. log start - 1;
  B. a stored offset, then an outage (ql-triage stopped) longer than the
     retention: stored offset .. log start - 1;
  C. ql-triage frozen (SIGSTOP) while the partition's start moves past its
     position: its next fetch finds the offset out of range and the gap is
     position .. log start - 1.
"""
import re
import signal

from qltest import broker, pg, procs, triage as T
from qltest.report import fail, ok


PER_ROUND = 200          # results of ~50 KB each: 10 MB, twice what is kept
PAD = "x" * 50000


def produce_round(env, k):
    """PER_ROUND big results onto partition 0; the offsets they took."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": env.brokers, "enable.idempotence": True,
                  "linger.ms": 5})
    offsets, failed = {}, []

    def report(err, msg):
        if err:
            failed.append(err)
        else:
            offsets[msg.offset()] = msg.key()
    for i in range(k * PER_ROUND, (k + 1) * PER_ROUND):
        d = T.make_doc(i)
        d["remarks"] = PAD
        p.produce(broker.TOPIC, key=d["result_id"].encode(), value=T.encode(d),
                  partition=0, on_delivery=report)
        p.poll(0)
    if p.flush(60) or failed:
        fail("produce: %s" % failed[:3])
    return offsets


def log_start(env):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": env.brokers, "group.id": "qltest-lo"})
    try:
        return c.get_watermark_offsets(TopicPartition(broker.TOPIC, 0), timeout=10)
    finally:
        c.close()


def expect_ranges(want):
    got = pg.sql("SELECT group_id, topic, kafka_partition, first_offset, "
                 "last_offset, records FROM ql.expired_range "
                 "ORDER BY first_offset")
    exp = ["ql-triage|%s|0|%d|%d|%d" % (broker.TOPIC, a, b, b - a + 1)
           for a, b in want]
    if got != exp:
        fail("ql.expired_range:\n  %s\nwant\n  %s" % (got, exp))


def expect_stored(keys_by_offset, lo, hi):
    """Exactly the results at offsets lo..hi-1 of partition 0 are stored,
    once each, from those offsets."""
    rows = pg.sql("SELECT result_id, kafka_offset FROM ql.inspection_result "
                  "WHERE kafka_partition = 0 ORDER BY kafka_offset")
    want = ["%s|%d" % (keys_by_offset[o].decode(), o) for o in range(lo, hi)]
    if rows != want:
        fail("stored rows of partition 0: %d (offsets %s..%s), want %d "
             "(offsets %d..%d)" % (len(rows), rows[0] if rows else None,
                                    rows[-1] if rows else None, len(want),
                                    lo, hi - 1))


def check_process(t, addr, ranges):
    """The ERROR lines, the counter and the /readyz detail of one run."""
    log = t.text()
    n = 0
    for a, b in ranges:
        line = "%s/0: offsets %d..%d (%d records) expired" % (broker.TOPIC, a, b,
                                                              b - a + 1)
        if line not in log:
            fail("no ERROR line '%s':\n%s" % (line, log[-3000:]))
        if not re.search(r"level=error .*" + re.escape(line), log):
            fail("'%s' is not an ERROR" % line)
        n += b - a + 1
    _, text = procs.scrape(addr)
    got = procs.metric(text, "ql_triage_expired_records_total")
    if got != n:
        fail("ql_triage_expired_records_total %s, want %d" % (got, n))
    code, body = procs.scrape(addr, "/readyz")
    a, b = ranges[-1]
    want = "%d records expired before they were stored, %d ranges in " \
        "ql.expired_range (last %s/0 %d..%d)" % (n, len(ranges), broker.TOPIC, a, b)
    if code != 200 or want not in body:
        fail("/readyz %d %r, want 200 with %r" % (code, body, want))


def start(env, name):
    addr = "127.0.0.1:%d" % procs.free_port()
    return env.triage("--metrics-addr", addr, name=name), addr


def main():
    with T.Env("ql_test_triage_expired") as env:
        keys = {}
        # A: new group, nothing stored, the start already gone.
        keys.update(produce_round(env, 0))
        lo1, hi1 = log_start(env)
        if not 0 < lo1 < hi1:
            fail("the broker kept the whole partition (%d..%d): the test "
                 "needs its start gone" % (lo1, hi1))
        t, addr = start(env, "triage-a")
        procs.wait_for("partition 0 stored up to %d" % hi1,
                       lambda: T.caught_up(env.brokers, hi1 - lo1), timeout=90)
        expect_ranges([(0, lo1 - 1)])
        expect_stored(keys, lo1, hi1)
        check_process(t, addr, [(0, lo1 - 1)])
        t.signal(signal.SIGTERM)
        if t.wait(30) != 0:
            fail("triage-a exit status %s" % t.proc.returncode)

        # B: an outage longer than the retention, with an offset stored.
        keys.update(produce_round(env, 1))
        lo2, hi2 = log_start(env)
        if not hi1 < lo2:
            fail("the outage lost nothing (%d..%d after %d)" % (lo2, hi2, hi1))
        t, addr = start(env, "triage-b")
        stored = (hi1 - lo1) + (hi2 - lo2)
        procs.wait_for("partition 0 stored up to %d" % hi2,
                       lambda: T.caught_up(env.brokers, stored), timeout=90)
        expect_ranges([(0, lo1 - 1), (hi1, lo2 - 1)])
        check_process(t, addr, [(hi1, lo2 - 1)])

        # C: the running consumer frozen while the start moves past it.
        t.signal(signal.SIGSTOP)
        try:
            keys.update(produce_round(env, 2))
        finally:
            t.signal(signal.SIGCONT)
        lo3, hi3 = log_start(env)
        if not hi2 < lo3:
            fail("the freeze lost nothing (%d..%d after %d)" % (lo3, hi3, hi2))
        stored += hi3 - lo3
        procs.wait_for("partition 0 stored up to %d" % hi3,
                       lambda: T.caught_up(env.brokers, stored), timeout=90)
        expect_ranges([(0, lo1 - 1), (hi1, lo2 - 1), (hi2, lo3 - 1)])
        check_process(t, addr, [(hi1, lo2 - 1), (hi2, lo3 - 1)])
        rows = pg.sql("SELECT kafka_offset FROM ql.inspection_result "
                      "WHERE kafka_partition = 0 ORDER BY 1")
        want = [str(o) for r in ((lo1, hi1), (lo2, hi2), (lo3, hi3))
                for o in range(*r)]
        if rows != want:
            fail("stored offsets of partition 0 are not exactly the ones the "
                 "broker kept")
        t.signal(signal.SIGTERM)
        if t.wait(30) != 0:
            fail("triage-b exit status %s" % t.proc.returncode)
    ok("expired ranges 0..%d, %d..%d, %d..%d reported exactly"
       % (lo1 - 1, hi1, lo2 - 1, hi2, lo3 - 1))


if __name__ == "__main__":
    main()
