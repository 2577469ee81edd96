"""ql-triage duplicates: the same N records produced twice are stored once
and counted N times as duplicates; a record reusing a stored result_id with
different content is a conflicting duplicate: the stored row is kept, the
newcomer goes to ql.rejected_record and the dead-letter topic.
"""
import json

from qltest import broker, pg, triage as T
from qltest.report import fail, ok


N = 400


def main():
    with T.Env("ql_test_triage_duplicates") as env:
        docs = [T.make_doc(i) for i in range(N)]
        msgs = [(d["enterprise"]["credit_code"].encode(), T.encode(d)) for d in docs]
        broker.produce(env.brokers, msgs)
        broker.produce(env.brokers, msgs)

        t = env.triage("--idle-exit", "2")
        if t.wait(90) != 0:
            fail("exit status %s\n%s" % (t.proc.returncode, t.text()))
        totals = t.totals()
        if totals != {"records": 2 * N, "stored": N, "duplicates": N, "rejected": 0}:
            fail("totals %s" % totals)
        if pg.count() != N:
            fail("%d rows, want %d" % (pg.count(), N))
        T.check_offsets_at_watermarks(env.brokers)
        # The first copy is the one stored: its offset is the lower one.
        hw = broker.high_watermarks(env.brokers)
        for p, h in hw.items():
            if h % 2:
                fail("partition %d has an odd number of records" % p)
            late = pg.count(where="kafka_partition = %d AND kafka_offset >= %d" % (p, h // 2))
            if late:
                fail("partition %d: %d rows from the second copy" % (p, late))

        # A resend of record 7 with other content: kept out, reported.
        changed = dict(docs[7])
        changed["remarks"] = "corrected by the lab"
        key = changed["enterprise"]["credit_code"].encode()
        value = T.encode(changed)
        broker.produce(env.brokers, [(key, value)])
        t = env.triage("--idle-exit", "2")
        if t.wait(90) != 0:
            fail("exit status %s\n%s" % (t.proc.returncode, t.text()))
        if t.totals()["duplicates"] != 1 or t.totals()["rejected"] != 1:
            fail("conflicting duplicate: totals %s" % t.totals())
        stored = json.loads(pg.sql("SELECT record::text FROM ql.inspection_result "
                                   "WHERE result_id = '%s'" % changed["result_id"])[0])
        if stored["remarks"] != docs[7]["remarks"]:
            fail("the stored record was overwritten")
        rej = pg.sql("SELECT kind, result_id, encode(key, 'escape'), "
                     "payload = '\\x%s'::bytea FROM ql.rejected_record"
                     % value.hex())
        if rej != ["CONFLICTING_DUPLICATE|%s|%s|t" % (changed["result_id"], key.decode())]:
            fail("rejected_record: %s" % rej)
        dlq = broker.consume_all(env.brokers, broker.DLQ, expect=1)
        if len(dlq) != 1 or dlq[0][1] != value or dlq[0][0] != key:
            fail("dead-letter topic: %s" % dlq)
        headers = dict(dlq[0][2] or [])
        if headers.get("kind") != b"CONFLICTING_DUPLICATE" or b"conflicting" not in headers.get("error", b""):
            fail("dead-letter headers: %s" % headers)
        if "conflicting duplicate" not in t.text() or changed["result_id"] not in t.text():
            fail("the conflict is not logged with its result_id")
        T.check_offsets_at_watermarks(env.brokers)
    ok("duplicates counted, conflicting duplicate kept apart")


if __name__ == "__main__":
    main()
