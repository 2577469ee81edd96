"""ql-spool on CSV exports with the columns of record schema version 2 and
the headers real LIMS exports use: enterprise_address / enterprise_contact
/ manufacturer_address under English headers, and under Chinese ones
(被抽样单位地址 or 受检单位地址; 联系人 and 联系电话 joined into the contact,
or either alone; 标称生产企业地址 or 生产企业地址; 标称生产企业名称 and 生产单位
for the manufacturer's name), with the LIMS's own extra columns, which are
ignored with exactly one warning per file naming them (in the log of
--once and in --check's output).  A file of version 1's columns publishes
the new fields as null.  Records are decoded by Python's avro."""
import csv
import io
import os

from qltest import procs, spool as sl
from qltest.broker import DevBroker
from qltest.report import check, fail, ok


CC = ("91350200MA2YJ1XR9G", "914403001922038216", "91440300708461136T")

# The columns every file has: (English header, Chinese header, getter).
COMMON = [
    ("report_no", "报告编号", lambda d, it: d["report_no"]),
    ("lab_code", "承检机构代码", lambda d, it: d["lab"]["code"]),
    ("lab_name", "承检机构", lambda d, it: d["lab"]["name"]),
    ("plan_id", "抽查计划编号", lambda d, it: d["plan_id"]),
    ("level", "抽查级别", lambda d, it: d["level"]),
    ("kind", "抽查类型", lambda d, it: d["kind"]),
    ("stage", "抽样环节", lambda d, it: d["stage"]),
    ("sampled_on", "抽样日期", lambda d, it: d["sampled_on"]),
    ("reported_at", "报告日期", lambda d, it: d["reported_at"]),
    ("enterprise_credit_code", "统一社会信用代码",
     lambda d, it: d["enterprise"]["credit_code"]),
    ("enterprise_name", "受检单位", lambda d, it: d["enterprise"]["name"]),
    ("enterprise_region_code", "所在地区代码",
     lambda d, it: d["enterprise"]["region_code"]),
    ("enterprise_role", "企业类型", lambda d, it: d["enterprise"]["role"]),
    ("product_category", "产品类别", lambda d, it: d["product"]["category"]),
    ("product_name", "产品名称", lambda d, it: d["product"]["name"]),
    ("item_name", "检验项目", lambda d, it: it["name"]),
    ("item_importance", "重要程度", lambda d, it: it["importance"]),
    ("item_safety", "安全项目", lambda d, it: "true" if it["safety"] else "false"),
    ("item_verdict", "单项判定", lambda d, it: it["verdict"]),
    ("verdict", "检验结论", lambda d, it: d["verdict"]),
]


def cell(v):
    return "/" if v is None else v


def ent(d, k):
    return cell(d["enterprise"].get(k))


def mf(d, k):
    return cell((d["manufacturer"] or {}).get(k))


def contact_name(d, it):
    c = d["enterprise"].get("contact")
    return cell(c.split(" ")[0]) if c and " " in c else "/"


def contact_phone(d, it):
    c = d["enterprise"].get("contact")
    return cell(c.split(" ")[-1]) if c else "/"


# Each file: its extra columns (header, getter), and whether its headers are
# Chinese.  Unknown columns are named in the file's warning.
FILES = {
    "en.csv": (False, [
        ("x_lims_id", lambda d, it: "L-" + d["report_no"]),
        ("enterprise_address", lambda d, it: ent(d, "address")),
        ("enterprise_contact", lambda d, it: ent(d, "contact")),
        ("manufacturer_name", lambda d, it: mf(d, "name")),
        ("manufacturer_address", lambda d, it: mf(d, "address")),
        ("inspector", lambda d, it: "Zhang San"),
    ]),
    "zh.csv": (True, [
        ("检验员", lambda d, it: "张三"),
        ("被抽样单位地址", lambda d, it: ent(d, "address")),
        ("联系人", contact_name),
        ("标称生产企业名称", lambda d, it: mf(d, "name")),
        ("标称生产企业地址", lambda d, it: mf(d, "address")),
        ("抽样单编号", lambda d, it: "CY-" + d["report_no"]),
        ("联系电话", contact_phone),
    ]),
    "zh2.csv": (True, [
        ("受检单位地址", lambda d, it: ent(d, "address")),
        ("联系电话", contact_phone),
        ("生产单位", lambda d, it: mf(d, "name")),
        ("生产企业地址", lambda d, it: mf(d, "address")),
    ]),
    "v1.csv": (False, [
        ("manufacturer_name", lambda d, it: mf(d, "name")),
    ]),
}
UNKNOWN = {"en.csv": "2 columns not in the table ignored: 'x_lims_id' "
                     "(cell 21), 'inspector' (cell 26)",
           "zh.csv": "2 columns not in the table ignored: '检验员' (cell 21), "
                     "'抽样单编号' (cell 26)"}


def make_docs(prefix):
    """Three results: both addresses and a two-part contact; a phone only
    and no manufacturer; none of the new fields."""
    docs = []
    for i in range(3):
        fail = i == 0
        items = [{"name": "小零件", "importance": "A", "safety": True,
                  "verdict": "FAIL" if fail else "PASS"},
                 {"name": "标识", "importance": "B", "safety": False,
                  "verdict": "PASS"}]
        d = {
            "result_id": "%s:%s-%d" % (sl.LAB, prefix, i),
            "report_no": "%s-%d" % (prefix, i),
            "lab": {"code": sl.LAB, "name": "厦门市产品质量监督检验院"},
            "plan_id": "XM-2026-01", "level": "DISTRICT",
            "kind": "SUPERVISION", "stage": "CIRCULATION",
            "sampled_on": "2026-02-1%d" % i,
            "reported_at": "2026-03-0%dT10:15:00+08:00" % (i + 1),
            "enterprise": {"credit_code": CC[i], "name": "厦门第%d商行" % i,
                           "region_code": "350206", "role": "SELLER"},
            "manufacturer": None,
            "product": {"category": "儿童用品", "name": "积木"},
            "items": items,
            "verdict": "NONCONFORMING" if fail else "CONFORMING",
        }
        if i == 0:
            d["enterprise"]["address"] = "厦门市湖里区云顶中路2188号, 101室"
            d["enterprise"]["contact"] = "王芳 0592-5551234"
            d["manufacturer"] = {"name": "深圳市星趣玩具有限公司",
                                 "address": "深圳市宝安区宝石南路88号"}
        elif i == 1:
            d["enterprise"]["contact"] = "13800000000"
        docs.append(d)
    return docs


def expected(d, name):
    """The record a file's document becomes: a file of version 1's columns
    carries none of the new fields, zh2.csv the contact's phone only."""
    e = sl.normal_doc(d)
    v1 = name == "v1.csv"
    if v1:
        e["enterprise"]["address"] = e["enterprise"]["contact"] = None
    if name == "zh2.csv":
        e["enterprise"]["contact"] = None if contact_phone(d, None) == "/" \
            else contact_phone(d, None)
    if e["manufacturer"] is not None and v1:
        e["manufacturer"]["address"] = None
    for it in e["items"]:
        for k in ("clause", "requirement", "measured", "unit"):
            it.setdefault(k, None)
    for k in ("brand", "model", "grade", "batch", "production_date"):
        e["product"].setdefault(k, None)
    return e


def write_csv(path, zh, extra, docs):
    cols = [(h_zh if zh else h_en, get) for h_en, h_zh, get in COMMON]
    cols += extra
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([h for h, _ in cols])
    for d in docs:
        for it in d["items"]:
            w.writerow([get(d, it) for _, get in cols])
    with open(path, "w", encoding="utf-8-sig" if zh else "utf-8",
              newline="") as f:
        f.write(buf.getvalue())


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
    spool = os.path.join(t, "spool")
    inc = os.path.join(spool, "incoming")
    os.makedirs(inc)
    want = {}
    for name, (zh, extra) in FILES.items():
        docs = make_docs(name.split(".")[0].upper())
        write_csv(os.path.join(inc, name), zh, extra, docs)
        for d in docs:
            want[d["result_id"]] = expected(d, name)

    # --check: the file's problems and its one warning, exit 0.
    for name in FILES:
        r = sl.run_spool("--check", os.path.join(inc, name), "--lab", sl.LAB)
        check(r.returncode == 0, "--check %s: exit %d\n%s%s" %
              (name, r.returncode, r.stdout, r.stderr))
        lines = r.stdout.splitlines()
        if name in UNKNOWN:
            check(lines == ["line 1: warning: header: " + UNKNOWN[name]],
                  "--check %s printed %r" % (name, lines))
        else:
            check(lines == [], "--check %s printed %r" % (name, lines))

    r = sl.run_spool("--dir", spool, "--lab", sl.LAB, "--once",
                     "--brokers", brokers)
    check(r.returncode == 0, "--once: exit %d\n%s" % (r.returncode, r.stderr))
    check(sl.tree(spool)["done"] == sorted(FILES),
          "done/: %s" % sl.tree(spool))
    for name in FILES:
        said = [l for l in r.stderr.splitlines()
                if "not in the table" in l and (name + " line 1:") in l]
        if name in UNKNOWN:
            check(len(said) == 1 and UNKNOWN[name] in said[0] and
                  "level=warn" in said[0],
                  "%s: want one warning naming its columns, got %r\n%s" %
                  (name, said, r.stderr))
        else:
            check(said == [], "%s: unexpected warning %r" % (name, said))

    recs = sl.topic_records(brokers, "inspection.results", expect=len(want))
    got = {}
    for key, rec in recs:
        check(key == rec["enterprise"]["credit_code"], "key")
        check(rec["result_id"] not in got, "%s twice" % rec["result_id"])
        got[rec["result_id"]] = rec
    check(sorted(got) == sorted(want), "result ids: %s" % sorted(got))
    for rid, rec in got.items():
        if rec != want[rid]:
            fail("%s differs:\n got %s\nwant %s" % (rid, rec, want[rid]))
    # The contact joined from 联系人 and 联系电话, as the English file has it.
    check(got["XMQI:ZH-0"]["enterprise"]["contact"] == "王芳 0592-5551234",
          "joined contact: %r" % got["XMQI:ZH-0"]["enterprise"]["contact"])
    check(got["XMQI:ZH2-0"]["enterprise"]["contact"] == "0592-5551234",
          "the phone alone: %r" % got["XMQI:ZH2-0"]["enterprise"]["contact"])


if __name__ == "__main__":
    main()
