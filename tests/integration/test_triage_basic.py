"""ql-triage end to end: N records produced by an independent client (Python
confluent_kafka + avro single-object framing) become exactly N rows whose
columns and record equal what was sent; the stored offsets reach the high
watermarks; /metrics, /readyz and SIGTERM behave; migrations apply once.
"""
import datetime
import json
import os
import signal

import qltest
from qltest import broker, pg, procs, triage as T
from qltest.report import fail, ok


N = 600


def utc(ts):
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))


def main():
    with T.Env("ql_test_triage_basic") as env:
        # --migrate-only applies every migration once and exits 0.
        m = env.triage("--migrate-only", name="migrate")
        if m.wait(60) != 0:
            fail("--migrate-only failed:\n" + m.text())
        files = sorted(f[:-4] for f in os.listdir(os.path.join(qltest.QL_SRC, "schemas/sql"))
                       if f.endswith(".sql"))
        applied = pg.sql("SELECT version FROM ql.schema_migrations ORDER BY version")
        if applied != files:
            fail("schema_migrations %s, files %s" % (applied, files))
        m = env.triage("--migrate-only", name="migrate-again")
        if m.wait(60) != 0 or "(0 migrations applied now" not in m.text():
            fail("second --migrate-only did not apply nothing:\n" + m.text())

        docs = [T.make_doc(i, verdict="NONCONFORMING" if i % 5 == 0 else "CONFORMING")
                for i in range(N)]
        broker.produce(env.brokers, [(d["enterprise"]["credit_code"].encode(), T.encode(d))
                                     for d in docs])

        addr = "127.0.0.1:%d" % procs.free_port()
        t = env.triage("--metrics-addr", addr)
        procs.wait_for("%d rows" % N, lambda: T.rows_so_far() >= N)
        procs.wait_for("lag 0 on every partition",
                       lambda: procs.metric(procs.scrape(addr)[1], "ql_triage_stored_total") == N
                       and all(procs.metric(procs.scrape(addr)[1], "ql_triage_lag",
                                            '{topic="%s",partition="%d"}' % (broker.TOPIC, p)) == 0
                               for p in range(6)))
        status, text = procs.scrape(addr, "/readyz")
        if status != 200:
            fail("/readyz answered %d: %s" % (status, text))
        _, text = procs.scrape(addr)
        for name, want in (("ql_triage_records_total", N),
                           ("ql_triage_duplicates_total", 0),
                           ("ql_triage_rejected_total", 0),
                           ("ql_triage_pg_errors_total", 0)):
            if procs.metric(text, name) != want:
                fail("%s = %s, want %d" % (name, procs.metric(text, name), want))
        if not procs.metric(text, "ql_triage_batches_total"):
            fail("no batches counted")
        if procs.metric(text, "ql_triage_batch_seconds_count") != procs.metric(
                text, "ql_triage_batches_total"):
            fail("batch_seconds histogram does not count every batch")

        t.signal(signal.SIGTERM)
        if t.wait(30) != 0:
            fail("SIGTERM: exit status %s\n%s" % (t.proc.returncode, t.text()))
        totals = t.totals()
        if totals["stored"] != N or totals["records"] != N:
            fail("totals %s" % totals)

        if pg.count() != N:
            fail("%d rows, want %d" % (pg.count(), N))
        T.check_offsets_at_watermarks(env.brokers)

        # Every row: the columns and the record equal what was sent.
        rows = pg.sql("SELECT result_id, credit_code, kind, verdict, "
                      "coalesce(refers_to, '-'), "
                      "extract(epoch FROM reported_at)::numeric(20,3), record::text, "
                      "kafka_topic, kafka_partition, kafka_offset "
                      "FROM ql.inspection_result")
        by_id = {d["result_id"]: d for d in docs}
        positions = set()
        for r in rows:
            (rid, code, kind, verdict, refers_to, reported_at, record, topic,
             part, off) = r.split("|")
            d = by_id.pop(rid)
            got = json.loads(record)
            if (code, kind, verdict, refers_to) != (
                    d["enterprise"]["credit_code"], d["kind"], d["verdict"], "-"):
                fail("%s: columns %s" % (rid, r[:200]))
            if utc(got["reported_at"]) != utc(d["reported_at"]):
                fail("%s: record reported_at %s, sent %s"
                     % (rid, got["reported_at"], d["reported_at"]))
            if abs(float(reported_at) - utc(d["reported_at"]).timestamp()) > 0.0005:
                fail("%s: reported_at column %s, sent %s"
                     % (rid, reported_at, d["reported_at"]))
            got["reported_at"] = d["reported_at"]
            if got != d:
                fail("%s: stored record differs:\n%s\n%s" % (rid, got, d))
            if topic != broker.TOPIC:
                fail("%s: topic %s" % (rid, topic))
            positions.add((int(part), int(off)))
        if by_id:
            fail("not stored: %s" % sorted(by_id)[:5])
        if len(positions) != N:
            fail("Kafka positions are not distinct")

        # The Kafka group offsets carry a copy, for tools.
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": env.brokers, "group.id": "ql-triage"})
        committed = c.committed([TopicPartition(broker.TOPIC, p) for p in range(6)],
                                timeout=10)
        c.close()
        stored = T.stored_offsets()
        for tp in committed:
            if tp.offset != stored.get(tp.partition, -1001):
                fail("Kafka committed %s/%d = %d, stored %s"
                     % (tp.topic, tp.partition, tp.offset, stored.get(tp.partition)))

        # ql.retriage ran for the new results: a case per enterprise with a
        # nonconforming result (when the case logic is installed).
        if pg.sql("SELECT to_regclass('ql.enforcement_case') IS NOT NULL") == ["t"]:
            want = sorted({d["enterprise"]["credit_code"] for d in docs
                           if d["verdict"] == "NONCONFORMING"})
            got = pg.sql("SELECT DISTINCT credit_code FROM ql.enforcement_case "
                         "ORDER BY 1")
            if got != want:
                fail("cases for %d enterprises, want %d" % (len(got), len(want)))

        if "password" in t.text().lower():
            fail("the log mentions a password")
    ok("%d records stored exactly once" % N)


if __name__ == "__main__":
    main()
