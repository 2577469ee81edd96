# ql-simlab: deterministic output, the counts and shares asked for, the
# 湖里区 scenario's exact 314 (266 cleared, 48 open, 7 failed rechecks),
# follow-ups that refer back to earlier results at the days the law gives,
# nonconforming rates that differ by stage and category around the mean
# asked for, failing items weighted towards labelling and performance, the
# officers' acts (--acts) on the results still open, the catalogue
# (--catalogue), valid credit codes (checked by an independent GB 32100
# implementation), GB18030 that decodes to the UTF-8 output, CSV that
# carries the same documents as JSONL under English and Chinese headers,
# and every document accepted by the producers' validation.
# Option lists in variables ($args, $fmt, $bad) are split on purpose:
# shellcheck shell=bash disable=SC2086
. "$QL_SRC/tests/lib/common.sh"

S="$QL_BIN/ql-simlab"
T="$QL_TMP"

# ---- usage ---------------------------------------------------------------
"$S" --help | grep -q -- '--scenario huli' || ql_fail "--help lists no --scenario"
"$S" --help | grep -q -- '--acts FILE' || ql_fail "--help lists no --acts"
"$S" --help | grep -q -- '--catalogue' || ql_fail "--help lists no --catalogue"
for bad in "--format xml" "--count -1" "--nonconforming 1.5" \
        "--scenario huli --nonconforming 0.2" "--headers zh" \
        "--encoding gb18030 --bom" "--start-date 2025-02-30" "--lab a:b" \
        "--scenario hula" "stray" "--acts -" "--catalogue --count 5"; do
        rc=0
        "$S" $bad >/dev/null 2>"$T/err" || rc=$?
        ql_assert_eq 2 "$rc" "ql-simlab $bad exit status"
        grep -q '^ql-simlab: ' "$T/err" || ql_fail "no message for $bad"
done

# ---- determinism ---------------------------------------------------------
args="--count 600 --duplicates 0.05 --nonconforming 0.3 --recheck-share 0.8"
"$S" --seed 7 $args --out "$T/a.jsonl"
"$S" --seed 7 $args >"$T/b.jsonl"
cmp -s "$T/a.jsonl" "$T/b.jsonl" || ql_fail "same seed, different output"
"$S" --seed 8 $args --out "$T/c.jsonl"
cmp -s "$T/a.jsonl" "$T/c.jsonl" && ql_fail "another seed, same output"
for fmt in "--format csv --headers zh --encoding gb18030" "--format csv --bom"; do
        "$S" --seed 7 $args $fmt --out "$T/d1"
        "$S" --seed 7 $args $fmt --out "$T/d2"
        cmp -s "$T/d1" "$T/d2" || ql_fail "same seed, different output ($fmt)"
done
ql_assert_eq 600 "$(wc -l <"$T/a.jsonl")" "JSONL lines for --count 600"

# ---- the CSV forms of the same documents ----------------------------------
"$S" --seed 7 $args --format csv --out "$T/a.en.csv"
"$S" --seed 7 $args --format csv --headers zh --out "$T/a.zh.csv"
"$S" --seed 7 $args --format csv --headers zh --encoding gb18030 --out "$T/a.gb.csv"
"$S" --seed 7 $args --format csv --bom --out "$T/a.bom.csv"
"$S" --seed 7 $args --lab CMA-170012 --out "$T/lab.jsonl"

# ---- the 湖里区 scenario ------------------------------------------------------
"$S" --scenario huli --seed 42 --validate --out "$T/huli.jsonl" --acts "$T/huli.acts.sql"
"$S" --scenario huli --seed 42 --format csv --headers zh --encoding gb18030 \
        --out "$T/huli.gb.csv"
"$S" --scenario huli --seed 13 --out "$T/huli13.jsonl" --acts "$T/huli13.acts.sql"
# The acts do not change the documents.
"$S" --scenario huli --seed 42 | cmp -s - "$T/huli.jsonl" || ql_fail "--acts changed the documents"
"$S" --seed 3 --count 5000 --nonconforming 0.2 --validate --out "$T/share.jsonl"
"$S" --seed 3 --count 5000 --nonconforming 0 --out "$T/zero.jsonl"
# Rates and weights, over many results; retests and acts without rechecks
# (every nonconforming result not voided stays open and has its acts).
"$S" --seed 4 --count 40000 --out "$T/big.jsonl"
"$S" --seed 5 --count 12000 --recheck-share 0 --out "$T/open.jsonl" --acts "$T/open.acts.sql"
"$S" --catalogue >"$T/catalogue.jsonl"

$PY - "$T" <<'EOF'
import collections, csv, datetime, io, json, re, sys

T = sys.argv[1]

def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)

def load(name):
    with open(f"{T}/{name}", "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")
    if "\\u" in text:
        fail(f"{name}: JSON escapes non-ASCII text")
    docs = [json.loads(line) for line in text.splitlines()]
    if text.splitlines()[0] != json.dumps(docs[0], ensure_ascii=False,
                                          separators=(",", ":")):
        fail(f"{name}: lines are not compact JSON")
    return docs

# GB 32100, written from the standard, independent of common/ql_uscc.c.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
def uscc_valid(code):
    if not isinstance(code, str) or len(code) != 18:
        return False
    if any(c not in ALPHABET for c in code) or not code[2:8].isdigit():
        return False
    org = [int(c) if c.isdigit() else ord(c) - 55 for c in code[8:16]]
    c = 11 - sum(v * w for v, w in zip(org, [3, 7, 9, 10, 5, 8, 4, 2])) % 11
    if code[16] != {10: "X", 11: "0"}.get(c, str(c)):
        return False
    s = sum(ALPHABET.index(ch) * pow(3, i, 31) for i, ch in enumerate(code[:17]))
    return code[17] == ALPHABET[(31 - s % 31) % 31]

for good in ["914403001922038216", "91520000214434146R", "91440300708461136T",
             "91110108551385082Q", "91350200MA2YJ1XR9G"]:
    assert uscc_valid(good), good
assert not uscc_valid("914403001922038217")

LEVELS = {"NATIONAL", "PROVINCIAL", "MUNICIPAL", "DISTRICT"}
KINDS = {"SUPERVISION", "RECHECK", "RETEST"}
STAGES = {"PRODUCTION", "CIRCULATION", "ECOMMERCE"}
ROLES = {"PRODUCER", "SELLER"}
XIAMEN = {"350203", "350205", "350206", "350211", "350212", "350213"}
DISTRICTS = dict(zip(sorted(XIAMEN), ["思明区", "海沧区", "湖里区", "集美区",
                                     "同安区", "翔安区"]))

def check_docs(name, docs):
    """The essentials of every document, follow-ups pointing back."""
    seen = set()
    for n, d in enumerate(docs, 1):
        where = f"{name} document {n} ({d.get('result_id')})"
        lab, rno = d["lab"]["code"], d["report_no"]
        if d["result_id"] != f"{lab}:{rno}":
            fail(f"{where}: result_id is not <lab code>:<report_no>")
        if d["level"] not in LEVELS or d["kind"] not in KINDS or \
           d["stage"] not in STAGES or d["enterprise"]["role"] not in ROLES:
            fail(f"{where}: a bad enum value")
        e = d["enterprise"]
        if not uscc_valid(e["credit_code"]):
            fail(f"{where}: invalid credit code {e['credit_code']}")
        if e["region_code"] not in XIAMEN or \
           e["credit_code"][2:6] != "3502":
            fail(f"{where}: enterprise not registered in Xiamen")
        if not e["name"].startswith("厦门"):
            fail(f"{where}: enterprise name {e['name']}")
        # Record schema v2: where the enterprise is, whom to call.
        if not re.fullmatch(r"厦门市" + DISTRICTS[e["region_code"]] +
                            r"\S+?\d+号\S*", e["address"] or ""):
            fail(f"{where}: enterprise address {e['address']!r}")
        if e["contact"] is not None and not re.fullmatch(
                r"(\S{2,4} )?(1[35-9]\d{9}|0592-\d{7})", e["contact"]):
            fail(f"{where}: enterprise contact {e['contact']!r}")
        m = d["manufacturer"]
        if m is not None:
            if e["role"] != "SELLER":
                fail(f"{where}: a producer sample names a manufacturer")
            if m["credit_code"] is not None and not uscc_valid(m["credit_code"]):
                fail(f"{where}: invalid manufacturer code {m['credit_code']}")
            if m["address"] is not None and not re.fullmatch(
                    r"\S+?(市|区)\S+?\d+号", m["address"]):
                fail(f"{where}: manufacturer address {m['address']!r}")
        elif e["role"] == "SELLER":
            fail(f"{where}: a seller sample without manufacturer")
        if not (d["sampled_on"] <= d["reported_at"][:10]):
            fail(f"{where}: sampled after the report")
        if not d["reported_at"].endswith("+08:00"):
            fail(f"{where}: reported_at not in +08:00")
        fails = [i for i in d["items"] if i["verdict"] == "FAIL"]
        for i in d["items"]:
            if i["importance"] not in ("A", "B", "UNCLASSIFIED") or \
               not isinstance(i["safety"], bool) or \
               i["verdict"] not in ("PASS", "FAIL", "NOT_JUDGED"):
                fail(f"{where}: bad item {i}")
        v = d["verdict"]
        if (v == "NONCONFORMING") != bool(fails) or \
           (v == "CONFORMING" and not d["items"]) or \
           (v == "REFUSED" and d["items"]):
            fail(f"{where}: verdict {v} does not match the items")
        if d["kind"] == "SUPERVISION":
            if d["refers_to"] is not None:
                fail(f"{where}: a supervision result refers to another")
        elif d["refers_to"] not in seen:
            fail(f"{where}: {d['kind']} refers to {d['refers_to']}, "
                 "not an earlier result")
        seen.add(d["result_id"])

def distinct(docs):
    out = {}
    for d in docs:
        out.setdefault(d["result_id"], d)
    return list(out.values())

# -- determinism run: duplicates and follow-ups --------------------------
a = load("a.jsonl")
check_docs("a.jsonl", a)
u = distinct(a)
dups = len(a) - len(u)
if not 10 <= dups <= 60:
    fail(f"--duplicates 0.05 of 600 gave {dups} duplicates")
by_id = {d["result_id"]: d for d in u}
if any(d != by_id[d["result_id"]] for d in a):
    fail("a duplicate differs from its original")
kinds = collections.Counter(d["kind"] for d in u)
if kinds["RECHECK"] < 20:
    fail(f"too few rechecks: {kinds}")
for d in u:
    if d["kind"] == "SUPERVISION":
        continue
    orig = by_id[d["refers_to"]]
    days = (datetime.date.fromisoformat(d["reported_at"][:10]) -
            datetime.date.fromisoformat(orig["reported_at"][:10])).days
    if orig["verdict"] != "NONCONFORMING" or \
       d["enterprise"] != orig["enterprise"] or \
       d["product"]["category"] != orig["product"]["category"]:
        fail(f"{d['result_id']} does not follow up {orig['result_id']}")
    # Served 2-6 days after the report; a retest applied for within the 15
    # days after that, reported within them; the order to rectify 3-13
    # days after the service or the retest, the recheck reported 63-75
    # days after the order (checked against the acts below).
    if d["kind"] == "RECHECK" and not 68 <= days <= 109:
        fail(f"recheck {d['result_id']} {days} days after the original")
    if d["kind"] == "RETEST" and not 6 <= days <= 21:
        fail(f"retest {d['result_id']} {days} days after the original")

lab = load("lab.jsonl")
if {d["lab"]["code"] for d in lab} != {"CMA-170012"} or \
   not all(d["result_id"].startswith("CMA-170012:") for d in lab):
    fail("--lab: results from other labs")

# -- nonconforming share --------------------------------------------------
for name, want in (("share.jsonl", 0.2), ("zero.jsonl", 0.0)):
    docs = load(name)
    check_docs(name, docs)
    sup = [d for d in distinct(docs) if d["kind"] == "SUPERVISION"]
    share = sum(d["verdict"] == "NONCONFORMING" for d in sup) / len(sup)
    if abs(share - want) > 0.025:
        fail(f"{name}: nonconforming share {share:.3f}, asked {want}")
    print(f"{name}: {len(docs)} documents, nonconforming share {share:.3f}")

# -- huli -----------------------------------------------------------------
huli = load("huli.jsonl")
if len(huli) != 3000:
    fail(f"huli: {len(huli)} documents, not 3000")
check_docs("huli.jsonl", huli)
hu = distinct(huli)
if {d["enterprise"]["region_code"] for d in hu} != {"350206"}:
    fail("huli: enterprises outside 350206")
nc = [d["result_id"] for d in hu
      if d["kind"] == "SUPERVISION" and d["verdict"] == "NONCONFORMING"]
if len(nc) != 314:
    fail(f"huli: {len(nc)} nonconforming supervision results, not 314")
rechecked = {d["refers_to"] for d in hu if d["kind"] == "RECHECK"}
failed = [d for d in hu if d["kind"] == "RECHECK" and d["verdict"] == "NONCONFORMING"]
share = len(rechecked & set(nc)) / len(nc)
retests = sum(d["kind"] == "RETEST" for d in hu)
refused = sum(d["verdict"] == "REFUSED" for d in hu)
if not 0.8 <= share <= 0.95 or not 1 <= retests <= 25 or not 1 <= refused <= 10:
    fail(f"huli: rechecked {share:.2f}, retests {retests}, refused {refused}")

def settled(docs):
    """Result ids cleared by a conforming recheck or voided by a
    conforming retest."""
    return {d["refers_to"] for d in docs
            if d["kind"] != "SUPERVISION" and d["verdict"] == "CONFORMING"}

# The headline deploy/demo prints, for any seed: 266 cleared, 48 open.
for name, docs in (("huli.jsonl", hu), ("huli13.jsonl", distinct(load("huli13.jsonl")))):
    ncs = {d["result_id"] for d in docs
           if d["kind"] == "SUPERVISION" and d["verdict"] == "NONCONFORMING"}
    fails = sum(d["kind"] == "RECHECK" and d["verdict"] == "NONCONFORMING" for d in docs)
    if (len(ncs), len(ncs & settled(docs)), fails) != (314, 266, 7):
        fail(f"{name}: {len(ncs)} nonconforming, {len(ncs & settled(docs))} "
             f"cleared, {fails} failed rechecks; want 314, 266, 7")
print(f"huli: 314 nonconforming, 266 cleared, {share:.0%} rechecked, 7 failed "
      f"rechecks, {retests} retests, {refused} refused")

# -- nonconforming rates per stage and category, failing items -------------
big = distinct(load("big.jsonl"))
sup = [d for d in big if d["kind"] == "SUPERVISION" and d["verdict"] != "REFUSED"]
def rate(key):
    n, bad = collections.Counter(), collections.Counter()
    for d in sup:
        n[key(d)] += 1
        bad[key(d)] += d["verdict"] == "NONCONFORMING"
    return {k: bad[k] / n[k] for k in n}
overall = rate(lambda d: 0)[0]
stage = rate(lambda d: d["stage"])
cat = rate(lambda d: d["product"]["category"])
if abs(overall - 0.1) > 0.01:
    fail(f"default mean nonconforming share {overall:.3f}, not 0.1")
if not (0.04 <= stage["PRODUCTION"] <= 0.09 and 0.09 <= stage["CIRCULATION"] <= 0.15
        and 0.14 <= stage["ECOMMERCE"] <= 0.24):
    fail(f"nonconforming rates per stage: {stage}")
if not cat["电线电缆"] > 1.8 * cat["食品相关产品"]:
    fail(f"nonconforming rates per category do not differ: {cat}")
ncd = [d for d in sup if d["verdict"] == "NONCONFORMING"]
safety = sum(any(i["verdict"] == "FAIL" and i["safety"] for i in d["items"])
             for d in ncd) / len(ncd)
if not 0.15 <= safety < 0.6:
    fail(f"{safety:.2f} of nonconforming results have a failed safety item")
fails = collections.Counter(i["name"] for d in ncd for i in d["items"]
                            if i["verdict"] == "FAIL")
labelling = sum(v for k, v in fails.items() if "标" in k or "说明" in k)
if labelling < 0.25 * sum(fails.values()):
    fail(f"labelling items are {labelling} of {sum(fails.values())} failures")
contacts = sum(d["enterprise"]["contact"] is not None for d in sup) / len(sup)
made = [d["manufacturer"] for d in sup if d["manufacturer"]]
labelled = sum(m["address"] is not None for m in made) / len(made)
if not 0.8 <= contacts < 1 or not 0.7 <= labelled < 1:
    fail(f"{contacts:.2f} of results name a contact, {labelled:.2f} of "
         "manufacturers an address")
print(f"rates: {overall:.3f} overall, " +
      ", ".join(f"{k.lower()} {v:.3f}" for k, v in sorted(stage.items())) +
      f"; {safety:.0%} with a failed safety item")

# -- the catalogue ----------------------------------------------------------
with open(f"{T}/catalogue.jsonl", encoding="utf-8") as f:
    catalogue = [json.loads(line) for line in f]
if any(list(c) != ["category", "item", "importance", "safety"] or
       c["importance"] not in ("A", "B") or not isinstance(c["safety"], bool)
       for c in catalogue):
    fail(f"--catalogue: a bad line among {catalogue[:3]}")
listed = {(c["category"], c["item"], c["importance"], c["safety"]) for c in catalogue}
seen = {(d["product"]["category"], i["name"], i["importance"], i["safety"])
        for d in big for i in d["items"] if i["importance"] != "UNCLASSIFIED"}
if listed != seen or len(listed) != len(catalogue):
    fail(f"--catalogue lists {len(listed)} items, the results have {len(seen)}: "
         f"{sorted(listed ^ seen)[:5]}")
print(f"catalogue: {len(catalogue)} items in "
      f"{len({c['category'] for c in catalogue})} categories, as drawn")

# -- the acts ----------------------------------------------------------------
ROW = re.compile(r"^        \((\d+), '([^']*)', '([A-Z_]+)', DATE '([0-9-]{10})', "
                 r"(NULL|'[^']*'), '([^']*)'\),?$")
def load_acts(name):
    acts = collections.defaultdict(dict)
    with open(f"{T}/{name}", encoding="utf-8") as f:
        text = f.read()
    if "\\set ON_ERROR_STOP on\nDO $acts$" not in text or not text.endswith("$acts$;\n"):
        fail(f"{name}: not the psql script")
    n = 0
    for line in text.splitlines():
        m = ROW.match(line)
        if not m:
            continue
        n += 1
        num, rid, act, on, doc, note = m.groups()
        if int(num) != n or act in acts[rid] or not note:
            fail(f"{name}: row {num}: {line}")
        acts[rid][act] = (datetime.date.fromisoformat(on),
                          None if doc == "NULL" else doc[1:-1])
    return acts, n

def day(d):
    return datetime.date.fromisoformat(d["reported_at"][:10])

def check_acts(name, docs, acts):
    """The acts name the nonconforming results still open, at the days
    the law gives, and nothing after the run's last day."""
    by_id = {d["result_id"]: d for d in docs}
    end = max(day(d) for d in docs)
    ncs = {d["result_id"] for d in docs
           if d["kind"] == "SUPERVISION" and d["verdict"] == "NONCONFORMING"}
    open_ = ncs - settled(docs)
    if set(acts) - open_:
        fail(f"{name}: acts on results not open: {sorted(set(acts) - open_)[:3]}")
    follow = collections.defaultdict(list)
    for d in docs:
        if d["refers_to"]:
            follow[d["refers_to"]].append(d)
    numbers = collections.defaultdict(list)
    for rid in open_:
        a, orig = acts.get(rid, {}), by_id[rid]
        retest = [d for d in follow[rid] if d["kind"] == "RETEST"]
        recheck = [d for d in follow[rid] if d["kind"] == "RECHECK"]
        if any(on > end for on, _ in a.values()):
            fail(f"{name}: {rid}: an act after the run's last day {end}")
        if "SERVED" not in a:
            if day(orig) + datetime.timedelta(days=2) <= end - datetime.timedelta(days=4):
                fail(f"{name}: {rid} reported {day(orig)} was never served")
            continue
        served = a["SERVED"][0]
        if not 2 <= (served - day(orig)).days <= 6 or served.weekday() >= 5:
            fail(f"{name}: {rid} reported {day(orig)}, served {served}")
        if retest:
            filed = a.get("OBJECTION_FILED", (None,))[0]
            if not filed or not served < filed < day(retest[0]) <= served + datetime.timedelta(days=15):
                fail(f"{name}: {rid} served {served}, retest applied for {filed}, "
                     f"reported {day(retest[0])}: not within the 15 days")
        elif "OBJECTION_FILED" in a:
            fail(f"{name}: {rid}: a retest applied for, none reported")
        if "RECTIFY_ORDER" in a:
            ordered, doc = a["RECTIFY_ORDER"]
            after = day(retest[0]) if retest else served
            if not 3 <= (ordered - after).days <= 13:
                fail(f"{name}: {rid}: ordered {ordered}, {after} before")
            m = re.fullmatch(r"(.市监)责改〔(\d{4})〕(\d+)号", doc or "")
            if not m or int(m.group(2)) != ordered.year:
                fail(f"{name}: {rid}: order number {doc}")
            numbers[(m.group(1), ordered.year)].append((ordered, int(m.group(3))))
            for r in recheck:
                sampled = datetime.date.fromisoformat(r["sampled_on"])
                if not (ordered + datetime.timedelta(days=60) <= sampled < day(r)
                        <= ordered + datetime.timedelta(days=75)):
                    fail(f"{name}: {rid}: ordered {ordered}, recheck sampled "
                         f"{sampled}, reported {day(r)}")
        failed_rc = [r for r in recheck if r["verdict"] == "NONCONFORMING"]
        if "ANNOUNCED" in a:
            if not failed_rc or not day(failed_rc[0]) < a["ANNOUNCED"][0]:
                fail(f"{name}: {rid}: announced without a failed recheck before")
        elif failed_rc and day(failed_rc[0]) + datetime.timedelta(days=31) <= end:
            fail(f"{name}: {rid}: a failed recheck, no announcement")
    # Order numbers rise with the date, one per order, in each bureau's year.
    for key, v in numbers.items():
        v.sort()
        if [n for _, n in v] != sorted({n for _, n in v}) or len({n for _, n in v}) != len(v):
            fail(f"{name}: order numbers of {key} do not rise with the date: {v[:6]}")
    return len(open_)

acts, rows_ = load_acts("huli.acts.sql")
n_open = check_acts("huli.acts.sql", hu, acts)
if n_open != 48 or len(acts) != 48:
    fail(f"huli.acts.sql: acts on {len(acts)} results, {n_open} open")
kinds = collections.Counter(k for a in acts.values() for k in a)
if kinds["ANNOUNCED"] != 7 or kinds["SERVED"] != 48 or kinds["RECTIFY_ORDER"] != 48:
    fail(f"huli.acts.sql: {dict(kinds)}")
if not any(doc.startswith("湖市监责改") for a in acts.values()
           for _, doc in [a["RECTIFY_ORDER"]]):
    fail("huli.acts.sql: orders not of the 湖里 bureau")
acts13, _ = load_acts("huli13.acts.sql")
check_acts("huli13.acts.sql", distinct(load("huli13.jsonl")), acts13)
opened = distinct(load("open.jsonl"))
oacts, orows = load_acts("open.acts.sql")
check_acts("open.acts.sql", opened, oacts)
retested = [a for a in oacts.values() if "OBJECTION_FILED" in a]
bureaus = {a["RECTIFY_ORDER"][1][:3] for a in oacts.values() if "RECTIFY_ORDER" in a}
if len(retested) < 10 or len(bureaus) != 6:
    fail(f"open.acts.sql: {len(retested)} retests, bureaus {bureaus}")
print(f"acts: huli {rows_} acts on 48 open results ({dict(kinds)}); "
      f"{orows} acts, {len(retested)} retests applied for, in 6 bureaus")

# -- CSV ------------------------------------------------------------------
EN = ["result_id", "report_no", "lab_code", "lab_name", "plan_id", "level",
      "kind", "refers_to", "stage", "sampled_on", "reported_at",
      "enterprise_credit_code", "enterprise_name", "enterprise_region_code",
      "enterprise_role", "enterprise_address", "enterprise_contact",
      "manufacturer_credit_code", "manufacturer_name",
      "manufacturer_region_code", "manufacturer_address", "product_category",
      "product_name",
      "product_brand", "product_model", "product_grade", "product_batch",
      "product_production_date", "item_name", "item_clause",
      "item_requirement", "item_measured", "item_unit", "item_importance",
      "item_safety", "item_verdict", "verdict", "remarks"]
ITEM_KEYS = ["name", "clause", "requirement", "measured", "unit",
             "importance", "safety", "verdict"]
# The Chinese words a lab writes, per column (the writer's first choice).
ZH = {
    "level": {"国家": "NATIONAL", "省级": "PROVINCIAL", "市级": "MUNICIPAL",
              "区级": "DISTRICT"},
    "kind": {"监督抽查": "SUPERVISION", "复查": "RECHECK", "复检": "RETEST"},
    "stage": {"生产": "PRODUCTION", "流通": "CIRCULATION", "电商": "ECOMMERCE"},
    "enterprise_role": {"生产者": "PRODUCER", "销售者": "SELLER"},
    "item_importance": {"A": "A", "B": "B", "未分级": "UNCLASSIFIED"},
    "item_safety": {"是": True, "否": False},
    "item_verdict": {"合格": "PASS", "不合格": "FAIL", "不判定": "NOT_JUDGED"},
    "verdict": {"合格": "CONFORMING", "不合格": "NONCONFORMING",
                "拒检": "REFUSED"},
}
ZH_HEADERS = {"报告编号": "report_no", "受检单位": "enterprise_name",
              "统一社会信用代码": "enterprise_credit_code",
              "产品名称": "product_name", "规格型号": "product_model",
              "检验项目": "item_name", "标准要求": "item_requirement",
              "实测值": "item_measured", "单项判定": "item_verdict",
              "检验结论": "verdict", "承检机构": "lab_name",
              "受检单位地址": "enterprise_address", "联系人": "enterprise_contact",
              "生产企业地址": "manufacturer_address"}

def read_csv(name, encoding, zh):
    with open(f"{T}/{name}", "rb") as f:
        raw = f.read()
    text = raw.decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = [h.lstrip("\ufeff") for h in rows[0]]
    if zh:
        for h, en in ZH_HEADERS.items():
            if header.index(h) != EN.index(en):
                fail(f"{name}: {h} is not the {en} column")
    elif header != EN:
        fail(f"{name}: English header is {header}")
    if any(len(r) != len(EN) for r in rows[1:]):
        fail(f"{name}: a row has the wrong number of cells")
    return raw, rows[1:]

def docs_from_rows(rows, zh):
    """Rebuild documents from CSV rows (rows of a report are consecutive)."""
    docs = []
    def val(col, cell):
        if cell == "/":
            return None
        if zh and col in ZH:
            return ZH[col][cell]
        if col == "item_safety":
            return {"true": True, "false": False}[cell]
        return cell
    for r in rows:
        cells = {c: val(c, x) for c, x in zip(EN, r)}
        first = not docs or docs[-1]["report_no"] != cells["report_no"]
        if first:
            mf = {k: cells["manufacturer_" + k]
                  for k in ("credit_code", "name", "region_code", "address")}
            docs.append({
                "result_id": cells["result_id"], "report_no": cells["report_no"],
                "lab": {"code": cells["lab_code"], "name": cells["lab_name"]},
                "plan_id": cells["plan_id"], "level": cells["level"],
                "kind": cells["kind"], "refers_to": cells["refers_to"],
                "stage": cells["stage"], "sampled_on": cells["sampled_on"],
                "reported_at": cells["reported_at"],
                "enterprise": {k: cells["enterprise_" + k] for k in
                               ("credit_code", "name", "region_code", "role",
                                "address", "contact")},
                "manufacturer": mf if any(mf.values()) else None,
                "product": {k: cells["product_" + k] for k in
                            ("category", "name", "brand", "model", "grade",
                             "batch", "production_date")},
                "items": [], "verdict": cells["verdict"],
                "remarks": cells["remarks"]})
        if cells["item_name"] is not None:
            docs[-1]["items"].append({k: cells["item_" + k] for k in ITEM_KEYS})
    return docs

def same_docs(name, got, want):
    if len(got) != len(want):
        fail(f"{name}: {len(got)} reports, JSONL has {len(want)}")
    for g, w in zip(got, want):
        if g != w:
            fail(f"{name}: report {w['result_id']} differs:\n{g}\n{w}")

raw_en, en_rows = read_csv("a.en.csv", "utf-8", False)
raw_zh, zh_rows = read_csv("a.zh.csv", "utf-8", True)
raw_gb, gb_rows = read_csv("a.gb.csv", "gb18030", True)
raw_bom, _ = read_csv("a.bom.csv", "utf-8", False)
if len(en_rows) != len(zh_rows) or len(en_rows) != sum(max(1, len(d["items"])) for d in a):
    fail(f"CSV rows: en {len(en_rows)}, zh {len(zh_rows)}")
if not raw_en.endswith(b"\r\n") or raw_en.startswith(b"\xef\xbb\xbf"):
    fail("CSV lines do not end with CRLF, or a BOM was not asked for")
if b'"TY-8821 ""' not in raw_en or b'"BV 450/750V 1\xc3\x972.5mm\xc2\xb2, 100m/' not in raw_en:
    fail("CSV: fields with quotes or commas are not quoted")
if raw_bom != b"\xef\xbb\xbf" + raw_en:
    fail("--bom is not the UTF-8 output with a BOM in front")
try:
    raw_gb.decode("utf-8")
    fail("GB18030 output is valid UTF-8: not converted")
except UnicodeDecodeError:
    pass
if raw_gb.decode("gb18030") != raw_zh.decode("utf-8"):
    fail("GB18030 output does not decode to the UTF-8 output")
same_docs("a.en.csv", docs_from_rows(en_rows, False), a)
same_docs("a.zh.csv", docs_from_rows(zh_rows, True), a)

_, hg_rows = read_csv("huli.gb.csv", "gb18030", True)
same_docs("huli.gb.csv", docs_from_rows(hg_rows, True), huli)
print(f"CSV: {len(en_rows)} rows in en, zh and GB18030 carry the JSONL documents")
EOF

# ---- every document passes the producers' validation --------------------
for a in "--seed 11 --count 3000 --nonconforming 0.3 --recheck-share 1 --duplicates 0.1" \
        "--seed 12 --count 2000 --lab XMQI" "--scenario huli --seed 13"; do
        "$S" $a --validate --out /dev/null || ql_fail "invalid documents from: $a"
done

# ---- the spool reads what simlab writes (once ql-spool is built) ---------
if [ -x "$QL_BIN/ql-spool" ]; then
        n=0
        for fmt in "--format jsonl" "--format csv" "--format csv --headers zh --bom" \
                "--format csv --headers zh --encoding gb18030"; do
                n=$((n + 1))
                case $fmt in
                *csv*) f="$T/spool$n.csv" ;;
                *) f="$T/spool$n.jsonl" ;;
                esac
                "$S" --seed 21 --count 400 --lab XMQI $fmt --out "$f"
                "$QL_BIN/ql-spool" --check "$f" --lab XMQI >"$T/check.out" 2>&1 ||
                        ql_fail "ql-spool --check rejects simlab $fmt: $(head -5 "$T/check.out")"
        done
fi
echo "ok"
