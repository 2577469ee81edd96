"""ql-triage and record schema version 2 (enterprise.address,
enterprise.contact, manufacturer.address).

A triage that knows only version 1 (the deployment before) stores a
record; then the triage with the repository's schemas stores a version 1
record (written by Python's avro with v1), whose `record` column then has
the three fields present and null, and a version 2 record with them set,
readable as `record -> 'enterprise' ->> 'address'`.  A result stored before
the upgrade (its record lacks the three keys) and sent again, by an old or
an upgraded producer, is a plain duplicate, not a conflicting one: null and
absent mean the same.
"""
import json
import os
import shutil

import qltest
from qltest import broker, codec, pg, triage as T
from qltest.report import fail, ok


NEW = (("enterprise", "address"), ("enterprise", "contact"),
       ("manufacturer", "address"))


def doc(i, v2_fields):
    d = T.make_doc(i)
    d["enterprise"].pop("address", None)
    d["enterprise"].pop("contact", None)
    d["manufacturer"] = {"credit_code": None, "name": "深圳市星趣玩具有限公司",
                         "region_code": "440306"}
    if v2_fields:
        d["enterprise"]["address"] = "厦门市湖里区云顶中路%d号" % i
        d["enterprise"]["contact"] = "王芳 0592-555%04d" % i
        d["manufacturer"]["address"] = "深圳市宝安区宝石南路88号"
    return d


def record(rid):
    return json.loads(pg.sql("SELECT record::text FROM ql.inspection_result "
                             "WHERE result_id = '%s'" % rid)[0])


def msg(d, schema=None):
    return (d["enterprise"]["credit_code"].encode(), T.encode(d, schema=schema))


def run(env, *args, name):
    t = env.triage("--idle-exit", "2", *args, name=name)
    if t.wait(90) != 0:
        fail("%s: exit status %s\n%s" % (name, t.proc.returncode, t.text()))
    return t


def main():
    v1 = codec.schema_version(1)
    with T.Env("ql_test_triage_record_v2") as env:
        # Before: a triage whose schema dir holds version 1 only.
        old_dir = os.path.join(env.tmp.path, "avro-v1")
        os.makedirs(old_dir)
        shutil.copy(os.path.join(qltest.SCHEMA_DIR,
                                 "inspection_result.v1.avsc"), old_dir)
        before = doc(1, False)
        broker.produce(env.brokers, [msg(before, v1)])
        env.extra["QL_SCHEMA_DIR"] = old_dir
        t = run(env, name="v1-only")
        if t.totals()["stored"] != 1:
            fail("v1-only triage: %s" % t.totals())
        old = record(before["result_id"])
        if any(f in old[r] for r, f in NEW):
            fail("a v1-only triage stored the new fields: %s" % old)

        # After: the repository's schemas.
        env.extra["QL_SCHEMA_DIR"] = qltest.SCHEMA_DIR
        a_v1, b_v2, c_v2 = doc(2, False), doc(3, True), doc(4, False)
        broker.produce(env.brokers, [
            msg(a_v1, v1),        # a v1 record
            msg(b_v2),            # v2 with the fields
            msg(c_v2),            # v2 without them
            msg(before, v1),      # resent by an old producer
            msg(before),          # ... and by an upgraded one
        ])
        t = run(env, name="v2")
        totals = t.totals()
        if totals != {"records": 5, "stored": 3, "duplicates": 2,
                      "rejected": 0}:
            fail("totals %s (a resend of a result stored before the upgrade "
                 "must be a duplicate)\n%s" % (totals, t.text()[-2000:]))
        if pg.count("ql.rejected_record"):
            fail("rejected: %s" % pg.sql("SELECT kind, error FROM "
                                         "ql.rejected_record"))

        for d in (a_v1, c_v2):
            got = record(d["result_id"])
            for r, f in NEW:
                if f not in got[r] or got[r][f] is not None:
                    fail("%s: %s.%s stored as %r, want null" %
                         (d["result_id"], r, f, got[r].get(f, "<absent>")))
        got = record(b_v2["result_id"])
        for r, f in NEW:
            if got[r][f] != b_v2[r][f]:
                fail("%s.%s stored as %r, sent %r" % (r, f, got[r][f],
                                                      b_v2[r][f]))
        # What the views read: absent and null alike.
        rows = pg.sql("SELECT result_id, "
                      "coalesce(record -> 'enterprise' ->> 'address', '-'), "
                      "coalesce(record -> 'manufacturer' ->> 'address', '-') "
                      "FROM ql.inspection_result ORDER BY result_id")
        want = sorted([
            "%s|-|-" % before["result_id"], "%s|-|-" % a_v1["result_id"],
            "%s|%s|%s" % (b_v2["result_id"], b_v2["enterprise"]["address"],
                          b_v2["manufacturer"]["address"]),
            "%s|-|-" % c_v2["result_id"]])
        if rows != want:
            fail("addresses read from record:\n%s\nwant\n%s" % (rows, want))
        T.check_offsets_at_watermarks(env.brokers)
    ok("v1 records stored with the new fields null, v2 with them set, "
       "resends across the upgrade are duplicates")


if __name__ == "__main__":
    main()
