"""The same export as UTF-8 CSV with English headers (with a BOM), GB18030
CSV with Chinese headers and words, and JSON Lines: ql-spool publishes
identical records from all three (decoded by Python's avro), equal to the
documents ql-simlab wrote, each keyed by its enterprise's credit code."""
import json
import os

from qltest import procs, spool as sl
from qltest.broker import DevBroker
from qltest.report import check, fail, ok


FORMS = {
    "utf8": ("export.csv", ["--format", "csv", "--bom"]),
    "gb18030": ("export.csv", ["--format", "csv", "--headers", "zh",
                               "--encoding", "gb18030"]),
    "jsonl": ("export.jsonl", []),
}
ARGS = ["--seed", "5", "--count", "300", "--nonconforming", "0.3"]


def main():
    tmp = procs.TempDir()
    broker = DevBroker("--topic", "t.utf8", "--topic", "t.gb18030",
                       "--topic", "t.jsonl")
    try:
        run(tmp.path, broker.brokers)
    finally:
        broker.stop()
        tmp.cleanup()
    ok("every check passed")


def run(t, brokers):
    ref = os.path.join(t, "ref.jsonl")
    sl.simlab(ref, *ARGS)
    docs = {d["result_id"]: sl.normal_doc(d) for d in sl.read_jsonl(ref)}
    check(len(docs) == 300, "simlab wrote 300 distinct results")
    got = {}
    for form, (name, fmt) in FORMS.items():
        spool = os.path.join(t, form)
        os.makedirs(os.path.join(spool, "incoming"))
        path = os.path.join(spool, "incoming", name)
        sl.simlab(path, *ARGS, *fmt)
        if form == "gb18030":
            raw = open(path, "rb").read()
            check("报告编号".encode("gb18030") in raw and
                  "报告编号".encode("utf-8") not in raw,
                  "the GB18030 file has GB18030 Chinese headers")
        r = sl.run_spool("--dir", spool, "--lab", sl.LAB, "--once",
                         "--brokers", brokers, "--topic", "t." + form)
        check(r.returncode == 0, "%s: exit %d: %s" % (form, r.returncode,
                                                       r.stderr))
        check(sl.tree(spool)["done"] == [name], "%s: file not in done/" % form)
        recs = sl.topic_records(brokers, "t." + form, expect=len(docs))
        by_id = {}
        for key, rec in recs:
            check(key == rec["enterprise"]["credit_code"], "key")
            check(rec["result_id"] not in by_id, "%s: %s twice" %
                  (form, rec["result_id"]))
            by_id[rec["result_id"]] = rec
        got[form] = by_id
    for form, by_id in got.items():
        check(sorted(by_id) == sorted(docs), "%s: result ids differ" % form)
        for rid, rec in by_id.items():
            if rec != docs[rid]:
                fail("%s: %s differs:\n got %s\nwant %s" % (
                    form, rid, json.dumps(rec, ensure_ascii=False),
                    json.dumps(docs[rid], ensure_ascii=False)))
    check(got["utf8"] == got["gb18030"] == got["jsonl"],
          "the three forms give different records")


if __name__ == "__main__":
    main()
