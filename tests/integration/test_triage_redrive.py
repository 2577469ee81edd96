"""ql-triage --redrive: a record written with a schema version not yet
deployed (the next one, not in the schema dir) is rejected as UNDECODABLE;
once it is deployed (here: a copy of the schema dir with it added), `ql-triage
--redrive` re-submits it with its original key and bytes and marks the
rejected row redriven_at; the triage with the new schema dir then stores
it.  A conflicting duplicate is not re-driven: it needs a person.
"""
import json
import os
import shutil

import avro.schema
import qltest
from qltest import broker, codec, pg, triage as T
from qltest.report import fail, ok


PUBLISHED = len(codec.schema_files())  # versions 1..PUBLISHED


def v2_schema_text():
    """The next version: the level enum gains a symbol (a change that
    alters the fingerprint but leaves older documents valid)."""
    with open(codec.schema_files()[-1], encoding="utf-8") as f:
        s = json.load(f)
    for field in s["fields"]:
        if field["name"] == "level":
            field["type"]["symbols"].append("COUNTY")
    s["doc"] += " Next version (test)."
    return json.dumps(s, ensure_ascii=False, indent=1)


def main():
    with T.Env("ql_test_triage_redrive") as env:
        v2_text = v2_schema_text()
        v2 = avro.schema.parse(v2_text)
        first = T.make_doc(1)
        later = T.make_doc(2)
        key_first = first["enterprise"]["credit_code"].encode()
        key_later = later["enterprise"]["credit_code"].encode()
        later_bytes = T.encode(later, schema=v2)
        conflicting = dict(first, remarks="a different story")
        broker.produce(env.brokers, [(key_first, T.encode(first)),
                                     (key_later, later_bytes),
                                     (key_first, T.encode(conflicting))])

        t = env.triage("--idle-exit", "2")
        if t.wait(90) != 0:
            fail("exit status %s\n%s" % (t.proc.returncode, t.text()))
        if pg.count() != 1:
            fail("%d rows before the re-drive, want 1" % pg.count())
        rej = pg.sql("SELECT kind, error FROM ql.rejected_record ORDER BY kind")
        if len(rej) != 2 or not rej[0].startswith("CONFLICTING_DUPLICATE|") or \
                not rej[1].startswith("UNDECODABLE|") or "fingerprint" not in rej[1]:
            fail("rejected_record: %s" % rej)

        # Deploy v2 next to v1, then re-drive.
        newdir = os.path.join(env.tmp.path, "avro")
        shutil.copytree(qltest.SCHEMA_DIR, newdir)
        with open(os.path.join(newdir, "inspection_result.v%d.avsc"
                               % (PUBLISHED + 1)), "w", encoding="utf-8") as f:
            f.write(v2_text)
        r = env.triage("--redrive", name="redrive")
        if r.wait(60) != 0:
            fail("--redrive: exit status %s\n%s" % (r.proc.returncode, r.text()))
        if "re-drove 1 dead letters" not in r.text():
            fail("--redrive did not report one record:\n" + r.text())
        marks = pg.sql("SELECT kind, redriven_at IS NOT NULL FROM ql.rejected_record "
                       "ORDER BY kind")
        if marks != ["CONFLICTING_DUPLICATE|f", "UNDECODABLE|t"]:
            fail("redriven_at after --redrive: %s" % marks)
        again = env.triage("--redrive", name="redrive-again")
        if again.wait(60) != 0 or "re-drove 0 dead letters" not in again.text():
            fail("a second --redrive re-sent something:\n" + again.text())

        # The re-driven copy is on the topic with its original key and bytes.
        topic = broker.consume_all(env.brokers, broker.TOPIC, expect=4)
        copies = [h for k, v, h in topic if (k, v) == (key_later, later_bytes)]
        if len(topic) != 4 or len(copies) != 2 or \
                not any(dict(h or []).get("redrive.rejected_id") for h in copies):
            fail("the re-driven record is not on %s as it was sent" % broker.TOPIC)

        # The triage with v2 deployed stores it.
        env.extra["QL_SCHEMA_DIR"] = newdir
        t = env.triage("--idle-exit", "2", name="with-v2")
        if t.wait(90) != 0:
            fail("exit status %s\n%s" % (t.proc.returncode, t.text()))
        if "%d record schema versions loaded" % (PUBLISHED + 1) not in t.text():
            fail("v2 not loaded:\n" + t.text())
        if pg.count() != 2 or pg.count("ql.rejected_record") != 2:
            fail("after the re-drive: %d rows, %d rejected; want 2 and 2"
                 % (pg.count(), pg.count("ql.rejected_record")))
        got = json.loads(pg.sql("SELECT record::text FROM ql.inspection_result "
                                "WHERE result_id = '%s'" % later["result_id"])[0])
        if got["level"] != later["level"] or got["product"] != later["product"]:
            fail("re-driven record stored as %s" % got)
        T.check_offsets_at_watermarks(env.brokers)
    ok("rejected under v1, re-driven, stored under v2")


if __name__ == "__main__":
    main()
