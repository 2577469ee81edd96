"""ql-triage and a Kafka outage: while records (some of them bad) stream in,
every broker of the dev cluster goes down for a few seconds, then one
partition's leader moves and fetches fail for a while.  ql-triage does not
exit; once Kafka is back every good record is stored exactly once, every bad
one is in ql.rejected_record and on the dead-letter topic, and the stored
offsets reach the high watermarks.
"""
import signal
import time

from qltest import broker, pg, procs, triage as T
from qltest.report import fail, ok


N = 6000
BAD_EVERY = 500


def main():
    with T.Env("ql_test_triage_kafka_outage") as env:
        msgs = T.encoded_docs(N)
        bad = 0
        stream = []
        for i, m in enumerate(msgs):
            if i % BAD_EVERY == 250:
                stream.append((m[0], b"not avro %d" % i))
                bad += 1
            stream.append(m)
        addr = "127.0.0.1:%d" % procs.free_port()
        t = env.triage("--batch-size", "200", "--metrics-addr", addr)
        procs.wait_for("the consumer assigned", lambda: "assigned inspection.results" in t.text())
        producer = T.Streamer(env.brokers, stream, chunk=300, pause=0.3)
        procs.wait_for("a quarter stored", lambda: T.rows_so_far() >= N // 4, timeout=60)
        # The producer rides the outage out on its own retries.
        env.broker.command("broker down -1")
        time.sleep(4)
        status, text = procs.scrape(addr, "/readyz")
        env.broker.command("broker up -1")
        if status == 200:
            fail("/readyz said ready with every broker down: %s" % text)
        env.broker.command("error Fetch NOT_LEADER_FOR_PARTITION 20")
        env.broker.command("leader inspection.results 0 2")
        producer.join()
        procs.wait_for("all %d rows and offsets at the high watermarks" % N,
                       lambda: T.caught_up(env.brokers, N), timeout=90)
        if not t.alive():
            fail("ql-triage exited:\n" + t.text()[-3000:])
        procs.wait_for("/readyz ready again", lambda: procs.scrape(addr, "/readyz")[0] == 200)
        if pg.count("ql.rejected_record") != bad:
            fail("%d rejected rows, want %d" % (pg.count("ql.rejected_record"), bad))
        dlq = broker.consume_all(env.brokers, broker.DLQ, expect=bad)
        offsets = {dict(h)["source.offset"] for _, _, h in dlq}
        if len(offsets) < bad:
            fail("%d distinct dead letters on the topic, want %d" % (len(offsets), bad))
        t.signal(signal.SIGTERM)
        if t.wait(30) != 0:
            fail("exit status %s" % t.proc.returncode)
        if pg.count() != N:
            fail("%d rows, want %d" % (pg.count(), N))
        T.check_offsets_at_watermarks(env.brokers)
    ok("Kafka outage ridden out, %d stored, %d dead letters" % (N, bad))


if __name__ == "__main__":
    main()
