"""ql-spool on a mixed CSV export: valid reports and five bad ones (a credit
code failing its check, a FAIL item under a CONFORMING verdict, a RECHECK
without refers_to, another lab's code, a row with invalid UTF-8).  Exactly the
valid reports reach the topic, decoded by Python's avro equal to the file's
documents and keyed by credit code; the errors file names each bad report
with the line it starts on; --once exits 3 and the file ends in done/.
--check prints the same problems as "line N: report R: field: message" and
exits 3, and exits 0 silently on a clean file."""
import csv
import io
import json
import os

from qltest import procs, spool as sl
from qltest.broker import DevBroker, consume_all
from qltest.report import check, fail, ok


def groups_of(rows):
    """[(report_no, [row indexes])] in file order."""
    out = []
    for i, r in enumerate(rows):
        if out and out[-1][0] == r["report_no"]:
            out[-1][1].append(i)
        else:
            out.append((r["report_no"], [i]))
    return out


def main():
    tmp = procs.TempDir()
    broker = DevBroker()
    try:
        run(tmp.path, broker.brokers)
    finally:
        broker.stop()
        tmp.cleanup()
    ok("every check passed")


def run(t, brokers):
    base_csv, base_jsonl = os.path.join(t, "base.csv"), os.path.join(
        t, "base.jsonl")
    args = ("--seed", "11", "--count", "40", "--nonconforming", "0.2")
    sl.simlab(base_csv, *args, "--format", "csv")
    sl.simlab(base_jsonl, *args)
    docs = {d["report_no"]: d for d in sl.read_jsonl(base_jsonl)}

    with open(base_csv, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        rows = list(reader)
    for r in rows:
        check(all("\n" not in v for v in r.values()),
              "simlab wrote a line break inside a cell; line counting below "
              "assumes none")
    groups = groups_of(rows)
    check(len(groups) == len(docs), "one CSV report per document")

    def first(pred, taken):
        for no, idx in groups:
            if no not in taken and pred(docs[no], idx):
                taken.add(no)
                return no, idx
        fail("no report fits a mutation")

    taken = set()
    bad = {}
    # a: a credit code whose overall check fails
    no, idx = first(lambda d, i: True, taken)
    for i in idx:
        cc = rows[i]["enterprise_credit_code"]
        last = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        rows[i]["enterprise_credit_code"] = cc[:17] + last[
            (last.index(cc[17]) + 1) % 31]
    bad[no] = "enterprise.credit_code"
    # b: a FAIL item under a CONFORMING verdict
    no, idx = first(lambda d, i: d["verdict"] == "CONFORMING" and
                    d["kind"] == "SUPERVISION", taken)
    rows[idx[-1]]["item_verdict"] = "FAIL"
    bad[no] = "verdict"
    # c: a RECHECK without refers_to
    no, idx = first(lambda d, i: d["kind"] == "SUPERVISION", taken)
    for i in idx:
        rows[i]["kind"] = "RECHECK"
        rows[i]["refers_to"] = "/"
    bad[no] = "refers_to"
    # d: another lab's code
    no, idx = first(lambda d, i: True, taken)
    for i in idx:
        rows[i]["lab_code"] = "FJQI"
    bad[no] = "lab.code"
    # e: a row (not the report's first) with invalid UTF-8
    no, idx = first(lambda d, i: len(i) >= 2, taken)
    rows[idx[1]]["item_name"] = "@@BAD@@"
    bad_line_e = idx[1] + 2
    bad[no] = "not valid UTF-8 text (line %d)" % bad_line_e

    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    data = out.getvalue().encode("utf-8").replace(b"@@BAD@@",
                                                   b"\xe6\xa0\xff\xfe")
    start_line = {no: idx[0] + 2 for no, idx in groups}

    # ---- --check ---------------------------------------------------------
    mixed = os.path.join(t, "mixed.csv")
    with open(mixed, "wb") as f:
        f.write(data)
    r = sl.run_spool("--check", mixed, "--lab", sl.LAB)
    check(r.returncode == 3, "--check on the mixed file: exit %d, want 3: %s"
          % (r.returncode, r.stderr))
    lines = r.stdout.splitlines()
    for no, what in bad.items():
        prefix = "line %d: report %s: " % (start_line[no], no)
        mine = [l for l in lines if l.startswith(prefix)]
        check(mine, "--check says nothing about %s:\n%s" % (no, r.stdout))
        check(any(what in l for l in mine),
              "--check on %s lacks '%s': %s" % (no, what, mine))
    named = {l.split(": ")[1] for l in lines}
    check(named == {"report " + no for no in bad},
          "--check names other reports: %s" % sorted(named))
    r = sl.run_spool("--check", base_csv, "--lab", sl.LAB)
    check(r.returncode == 0 and r.stdout == "",
          "--check on a clean file: exit %d, output %r" % (r.returncode,
                                                           r.stdout))
    r = sl.run_spool("--check", base_csv, "--lab", "OTHER")
    check(r.returncode == 3 and r.stdout.count("lab.code") >= len(groups),
          "--check --lab OTHER flags every report")

    # ---- --once ----------------------------------------------------------
    spool = os.path.join(t, "spool")
    os.makedirs(os.path.join(spool, "incoming"))
    with open(os.path.join(spool, "incoming", "mixed.csv"), "wb") as f:
        f.write(data)
    r = sl.run_spool("--dir", spool, "--lab", sl.LAB, "--once", "--brokers",
                     brokers)
    check(r.returncode == 3, "--once exit %d, want 3: %s" % (r.returncode,
                                                            r.stderr))
    check(sl.tree(spool) == {"incoming": [], "done": ["mixed.csv"],
                             "rejected": ["mixed.csv.errors.jsonl"]},
          "spool after --once: %s" % sl.tree(spool))
    check("file mixed.csv: published %d, rejected 5" % (len(groups) - 5)
          in r.stderr, "the file's log line: %s" % r.stderr)

    with open(os.path.join(spool, "rejected", "mixed.csv.errors.jsonl"),
              encoding="utf-8") as f:
        errors = [json.loads(l) for l in f]
    check(len(errors) == 5, "5 errors, got %d: %s" % (len(errors), errors))
    for e in errors:
        no = e["report_no"]
        check(no in bad, "errors file names a good report: %s" % e)
        check(e["line"] == start_line[no],
              "%s starts on line %d, errors file says %s" %
              (no, start_line[no], e["line"]))
        check(bad[no] in e["error"], "%s: '%s' not in '%s'" %
              (no, bad[no], e["error"]))

    valid = [no for no, _ in groups if no not in bad]
    recs = sl.topic_records(brokers, "inspection.results", expect=len(valid))
    # nothing more arrives
    more = consume_all(brokers, "inspection.results", timeout=5)
    check(len(more) == len(valid), "topic holds %d records, want %d" %
          (len(more), len(valid)))
    got = {}
    for key, rec in recs:
        check(key == rec["enterprise"]["credit_code"],
              "key %s is not the credit code" % key)
        got[rec["report_no"]] = rec
    check(sorted(got) == sorted(valid), "topic has %s, want %s" %
          (sorted(got), sorted(valid)))
    for no in valid:
        want = sl.normal_doc(docs[no])
        if got[no] != want:
            fail("record %s differs from the file:\n got %s\nwant %s" %
                 (no, json.dumps(got[no], ensure_ascii=False),
                  json.dumps(want, ensure_ascii=False)))


if __name__ == "__main__":
    main()
