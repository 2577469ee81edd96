"""ql-triage when a dead letter cannot go to the dead-letter topic as it is.

1. A 1,020,000-byte undecodable message (over the producer's default
   message.max.bytes of 1,000,000), then valid records on the same
   partition: the valid records are stored, the message is kept whole in
   ql.rejected_record, a copy cut to fit goes to the dead-letter topic with
   a `truncated` header giving the original length, and ql-triage catches
   up and exits (--idle-exit) in bounded time instead of retrying the batch
   forever.
2. Kafka refusing the dead letter for good (the broker answers Produce with
   TOPIC_AUTHORIZATION_FAILED, as for a denied topic): the record stays in
   ql.rejected_record, an ERROR line says so, ql_triage_dlq_failures_total
   counts it, and the records after it are stored.
"""
import hashlib
import os
import time

from qltest import broker, pg, procs, triage as T
from qltest.report import fail, ok


BIG = 1020000
N = 50


def produce_raw(brokers, messages):
    """[(key, value)] to partition 0, with a producer that allows messages
    of up to 2 MB (the broker takes them; ql-triage's producer would not)."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": brokers, "enable.idempotence": True,
                  "message.max.bytes": 2000000, "linger.ms": 5})
    failed = []
    for key, value in messages:
        p.produce(broker.TOPIC, key=key, value=value, partition=0,
                  on_delivery=lambda err, msg: err and failed.append(err))
        p.poll(0)
    if p.flush(30) or failed:
        fail("produce: %s" % failed[:3])


def main():
    with T.Env("ql_test_triage_dlq_limits") as env:
        big = b"\x00not avro, and too big " + os.urandom(BIG - 23)
        assert len(big) == BIG
        produce_raw(env.brokers, [(b"garbage-big", big)] +
                    T.encoded_docs(N, start=0))

        # 1. Too big for the dead-letter producer: truncated, not stalled.
        t0 = time.time()
        t = env.triage("--idle-exit", "2", name="triage-big")
        if t.wait(90) != 0:
            fail("exit status %s (the batch with the big dead letter never "
                 "committed?)\n%s" % (t.proc.returncode, t.text()[-3000:]))
        took = time.time() - t0
        log = t.text()
        if pg.count() != N:
            fail("%d results stored, want %d" % (pg.count(), N))
        rej = pg.sql("SELECT kafka_offset, kind, length(payload), "
                     "md5(payload) = '%s' FROM ql.rejected_record"
                     % hashlib.md5(big).hexdigest())
        if rej != ["0|UNDECODABLE|%d|t" % BIG]:
            fail("ql.rejected_record: %s" % rej)
        dlq = broker.consume_all(env.brokers, broker.DLQ, expect=1)
        if len(dlq) != 1:
            fail("%d messages on the dead-letter topic, want 1" % len(dlq))
        _, value, headers = dlq[0]
        h = dict(headers or [])
        if h.get("truncated") != str(BIG).encode():
            fail("no 'truncated: %d' header: %s" % (BIG, sorted(h)))
        if not (0 < len(value) <= 1000000 and big.startswith(value)):
            fail("the dead letter is not a prefix of the record that fits: "
                 "%d bytes" % len(value))
        if h.get("source.offset") != b"0" or h.get("kind") != b"UNDECODABLE":
            fail("headers: %s" % h)
        if "cut to" not in log:
            fail("the truncation is not logged:\n" + log[-3000:])
        if log.count("rolled back") or log.count("not acknowledged"):
            fail("the batch was retried:\n" + log[-3000:])
        T.check_offsets_at_watermarks(env.brokers)

        # 2. Refused for good: skipped, counted, the partition goes on.
        small = b"\x00refused dead letter " + os.urandom(20)
        produce_raw(env.brokers, [(b"garbage-refused", small)] +
                    T.encoded_docs(N, start=N))
        env.broker.command("error Produce TOPIC_AUTHORIZATION_FAILED 3")
        addr = "127.0.0.1:%d" % procs.free_port()
        t = env.triage("--metrics-addr", addr, name="triage-refused")
        try:
            procs.wait_for("the records after the refused dead letter",
                           lambda: T.caught_up(env.brokers, 2 * N) or
                           not t.alive(), timeout=60)
            if not t.alive():
                fail("ql-triage exited:\n" + t.text()[-3000:])
            _, text = procs.scrape(addr)
            if procs.metric(text, "ql_triage_dlq_failures_total") != 1:
                fail("ql_triage_dlq_failures_total %s, want 1"
                     % procs.metric(text, "ql_triage_dlq_failures_total"))
        finally:
            env.broker.command("clear Produce")
            t.signal(15)
            if t.wait(30) != 0:
                fail("exit status %s after SIGTERM" % t.proc.returncode)
        log = t.text()
        if "refused it for good" not in log or \
                "Topic authorization failed" not in log:
            fail("the skipped dead letter is not logged as an error:\n"
                 + log[-3000:])
        rej = pg.sql("SELECT kafka_offset, payload = '\\x%s'::bytea "
                     "FROM ql.rejected_record WHERE key = 'garbage-refused'"
                     % small.hex())
        if rej != ["%d|t" % (N + 1)]:
            fail("the refused dead letter is not in ql.rejected_record: %s"
                 % rej)
        dlq = broker.consume_all(env.brokers, broker.DLQ, timeout=8)
        if len(dlq) != 1:
            fail("%d messages on the dead-letter topic, want only the first"
                 % len(dlq))
    ok("a dead letter too big went truncated in %.1f s, one refused "
       "for good was skipped and counted; %d stored" % (took, 2 * N))


if __name__ == "__main__":
    main()
