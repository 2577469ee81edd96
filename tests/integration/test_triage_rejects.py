"""ql-triage dead letters: a record with an unknown schema fingerprint,
garbage bytes, a record failing validation and a message without a value,
each between good records of the same enterprise (so on one partition), go
to ql.rejected_record with their original key and bytes and to the
dead-letter topic with the error and source headers; every good record
around them is stored and the partition's offset moves past them all.
"""
import struct

from qltest import broker, pg, triage as T
from qltest.report import fail, ok


def main():
    with T.Env("ql_test_triage_rejects") as env:
        code = T.credit_code(7)
        key = code.encode()
        good = [T.make_doc(i, code=code) for i in range(40)]
        enc = [T.encode(d) for d in good]

        unknown_fp = b"\xc3\x01" + struct.pack("<Q", 0x0123456789ABCDEF) + enc[0][10:]
        garbage = b"\x00\xffnot avro at all"
        invalid_doc = T.make_doc(1000, code=code)
        invalid_doc["enterprise"]["credit_code"] = "914403001922038217"  # bad check
        invalid = T.encode(invalid_doc)
        bad = {10: ("UNDECODABLE", unknown_fp, "fingerprint"),
               20: ("UNDECODABLE", garbage, "undecodable"),
               30: ("INVALID", invalid, "enterprise.credit_code"),
               35: ("UNDECODABLE", None, "empty")}
        msgs = []
        for i, value in enumerate(enc):
            if i in bad:
                msgs.append((key, bad[i][1]))
            msgs.append((key, value))
        broker.produce(env.brokers, msgs)
        # Which offset each bad record got: they are all on one partition.
        hw = broker.high_watermarks(env.brokers)
        part = [p for p, h in hw.items() if h][0]
        if hw[part] != len(msgs):
            fail("records spread over partitions: %s" % hw)
        offset_of = {}
        o = 0
        for i in range(len(enc)):
            if i in bad:
                offset_of[i] = o
                o += 1
            o += 1

        t = env.triage("--idle-exit", "2")
        if t.wait(90) != 0:
            fail("exit status %s\n%s" % (t.proc.returncode, t.text()))
        if pg.count() != len(good):
            fail("%d rows, want %d" % (pg.count(), len(good)))
        totals = t.totals()
        if totals["rejected"] != len(bad) or totals["stored"] != len(good):
            fail("totals %s" % totals)
        T.check_offsets_at_watermarks(env.brokers)

        rows = pg.sql("SELECT kafka_offset, kind, error, coalesce(result_id, '-'), "
                      "encode(key, 'hex'), coalesce(encode(payload, 'hex'), '-'), "
                      "topic, kafka_partition, redriven_at IS NULL "
                      "FROM ql.rejected_record ORDER BY kafka_offset")
        if len(rows) != len(bad):
            fail("rejected_record has %d rows: %s" % (len(rows), rows))
        for (i, (kind, value, word)), row in zip(sorted(bad.items()), rows):
            off, rkind, err, rid, rkey, payload, topic, rpart, pending = row.split("|")
            want_payload = value.hex() if value is not None else "-"
            if (int(off), rkind, rkey, payload, topic, int(rpart), pending) != (
                    offset_of[i], kind, key.hex(), want_payload, broker.TOPIC, part, "t"):
                fail("rejected row for bad record %d: %s" % (i, row[:300]))
            if word not in err:
                fail("rejected row for bad record %d: error %r lacks %r" % (i, err, word))
            if kind == "INVALID" and rid != invalid_doc["result_id"]:
                fail("invalid record's result_id not kept: %s" % rid)

        dlq = broker.consume_all(env.brokers, broker.DLQ, expect=len(bad))
        if len(dlq) != len(bad):
            fail("dead-letter topic has %d messages, want %d" % (len(dlq), len(bad)))
        by_offset = {}
        for k, v, headers in dlq:
            h = dict(headers or [])
            if k != key or h.get("source.topic") != broker.TOPIC.encode() or \
                    h.get("source.partition") != str(part).encode():
                fail("dead letter key/headers: %s %s" % (k, h))
            by_offset[int(h["source.offset"])] = (v, h)
        for i, (kind, value, word) in bad.items():
            v, h = by_offset[offset_of[i]]
            if v != value or h.get("kind") != kind.encode() or \
                    word.encode() not in h.get("error", b""):
                fail("dead letter for bad record %d: %r %s" % (i, v, h))
        for i in bad:
            if "%s/%d/%d" % (broker.TOPIC, part, offset_of[i]) not in t.text():
                fail("rejection of offset %d not logged" % offset_of[i])
    ok("%d bad records dead-lettered, %d good stored" % (len(bad), len(good)))


if __name__ == "__main__":
    main()
