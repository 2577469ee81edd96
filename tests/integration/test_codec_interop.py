"""The C codec against the independent Python avro library.

For every schema in QL_SCHEMA_DIR, codec_tool's canonical form and
fingerprint equal Python's; messages codec_tool writes decode in Python to
the same document; messages Python writes (single-object framing from
qltest.codec) decode with codec_tool to the same document, byte-identical to what
codec_tool writes for it.  The repository's versions: a message Python
writes with version 1 decodes in C as the newest version with the fields
version 2 added (enterprise.address, enterprise.contact,
manufacturer.address) null, as Python resolves it too; a message Python
writes with version 2 decodes with them set; a version 1 document that C
encodes is read by Python with them null.  Then schema evolution across
both: a v1 message read as a made-up v2 schema gives the same document in
C and in Python.  Documents are compared field by field with timestamps as
instants and dates as "YYYY-MM-DD".
"""
import copy
import datetime
import json
import os
import struct
import subprocess

from qltest import codec
from qltest.procs import TempDir
from qltest.report import fail, ok


TOOL = os.path.join(os.environ["QL_TEST_TOOLS"], "codec_tool")
FULL = os.path.join(os.environ["QL_SRC"], "tests/data/result_full.json")


def tool(args, data=b"", schema_dir=None):
    env = dict(os.environ)
    if schema_dir:
        env["QL_SCHEMA_DIR"] = schema_dir
    r = subprocess.run([TOOL, *args], input=data, capture_output=True,
                       env=env, timeout=60)
    if r.returncode != 0:
        fail("codec_tool %s: %s" % (" ".join(args),
                                    r.stderr.decode(errors="replace")))
    return r.stdout


def c_encode(doc, schema_dir=None):
    return tool(["encode"], json.dumps(doc).encode(), schema_dir)


def c_decode(msg, schema_dir=None):
    return json.loads(tool(["decode"], msg, schema_dir))


# Documents (lab JSON shape) <-> Python avro datums, by walking the schema.

def logical(schema):
    return getattr(schema, "logical_type", None)


def to_datum(schema, v):
    """A document value as the datum Python avro writes."""
    if schema.type == "union":
        for b in schema.schemas:
            if (b.type == "null") == (v is None):
                return to_datum(b, v)
        raise ValueError("no branch for %r" % (v,))
    if schema.type in ("record", "error"):
        return {f.name: to_datum(f.type, v.get(f.name)) for f in schema.fields}
    if schema.type == "array":
        return [to_datum(schema.items, x) for x in v]
    if schema.type == "map":
        return {k: to_datum(schema.values, x) for k, x in v.items()}
    if logical(schema) == "date":
        return datetime.date.fromisoformat(v)
    if logical(schema) == "timestamp-millis":
        return datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
    return v


def instant_ms(t):
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (t - epoch) // datetime.timedelta(milliseconds=1)


def norm_doc(schema, v):
    """A document value made comparable: timestamps as epoch ms, absent
    nullable fields as None."""
    if schema.type == "union":
        if v is None:
            return None
        return norm_doc(next(b for b in schema.schemas if b.type != "null"), v)
    if schema.type in ("record", "error"):
        return {f.name: norm_doc(f.type, v.get(f.name)) for f in schema.fields}
    if schema.type == "array":
        return [norm_doc(schema.items, x) for x in v]
    if logical(schema) == "timestamp-millis":
        return instant_ms(datetime.datetime.fromisoformat(
            v.replace("Z", "+00:00")))
    return v


def norm_datum(schema, d):
    """A datum Python avro read, made comparable like norm_doc."""
    if schema.type == "union":
        if d is None:
            return None
        return norm_datum(next(b for b in schema.schemas if b.type != "null"),
                          d)
    if schema.type in ("record", "error"):
        return {f.name: norm_datum(f.type, d[f.name]) for f in schema.fields}
    if schema.type == "array":
        return [norm_datum(schema.items, x) for x in d]
    if isinstance(d, datetime.datetime):
        return instant_ms(d)
    if isinstance(d, datetime.date):
        return d.isoformat()
    # Python avro gives a default as the schema writes it, without its
    # logical type.
    if logical(schema) == "date" and isinstance(d, int):
        return (datetime.date(1970, 1, 1) +
                datetime.timedelta(days=d)).isoformat()
    return d


def differences(a, b, path=""):
    """Field-by-field differences between two normalised documents."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += differences(a.get(k, "<absent>"), b.get(k, "<absent>"),
                               path + "." + k if path else k)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return ["%s: %d entries vs %d" % (path, len(a), len(b))]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += differences(x, y, "%s[%d]" % (path, i))
        return out
    if a != b or type(a) != type(b):
        return ["%s: %r vs %r" % (path, a, b)]
    return []


def assert_same(what, got, want):
    diff = differences(got, want)
    if diff:
        fail("%s differs:\n  %s" % (what, "\n  ".join(diff)))


def variants(doc):
    """The example document and the shapes it can take."""
    out = [("full", doc)]
    d = copy.deepcopy(doc)
    d["manufacturer"] = None
    d["kind"], d["refers_to"] = "RECHECK", "XMQI:XMQI-2025-CC-0001"
    d["reported_at"] = "2026-12-31T23:59:59.987-05:30"
    out.append(("manufacturer null, recheck", d))
    d = copy.deepcopy(doc)
    d["manufacturer"] = {"credit_code": None, "name": "无名厂",
                         "region_code": None}
    for k in ("remarks", "refers_to"):
        del d[k]
    del d["product"]["brand"]
    d["items"] = d["items"][:1]
    out.append(("optional fields absent", d))
    return out


def check_fingerprints(schema_dir):
    rows = [line.split(" ", 2) for line in
            tool(["fingerprints"], schema_dir=schema_dir).decode().splitlines()]
    codec.SCHEMA_DIR = schema_dir
    files = codec.schema_files()
    if [r[0] for r in rows] != [os.path.basename(f) for f in files]:
        fail("schema order: codec_tool %s, Python %s" %
             ([r[0] for r in rows], files))
    for (name, fp, canonical), path in zip(rows, files):
        schema = codec.load_schema(path)
        if canonical != codec.canonical_form(schema):
            fail("%s: canonical form\n  C:      %s\n  Python: %s" %
                 (name, canonical, codec.canonical_form(schema)))
        if int(fp) != codec.fingerprint(schema) or \
                int(fp) != codec.crc64_avro(canonical.encode()):
            fail("%s: fingerprint %s, Python %d" %
                 (name, fp, codec.fingerprint(schema)))
    return len(rows)


def check_both_ways(schema_dir, doc):
    codec.SCHEMA_DIR = schema_dir
    newest = codec.newest_schema()
    for what, d in variants(doc):
        want = norm_doc(newest, d)
        # C writes, Python reads.
        msg = c_encode(d, schema_dir)
        (fp,) = struct.unpack("<Q", msg[2:10])
        if msg[:2] != b"\xc3\x01" or fp != codec.fingerprint(newest):
            fail("%s: header %s" % (what, msg[:10].hex()))
        got = norm_datum(newest, codec.decode_single_object(msg))
        assert_same("%s, written in C, read in Python" % what, got, want)
        # Python writes, C reads.
        py_msg = codec.encode_single_object(to_datum(newest, d), newest)
        if py_msg != msg:
            fail("%s: Python's bytes differ from C's:\n  %s\n  %s" %
                 (what, py_msg.hex(), msg.hex()))
        decoded = c_decode(py_msg, schema_dir)
        if not decoded["reported_at"].endswith("Z"):
            fail("%s: reported_at %s not in UTC" %
                 (what, decoded["reported_at"]))
        assert_same("%s, written in Python, read in C" % what,
                    norm_doc(newest, decoded), want)


V2_FIELDS = (("enterprise", "address"), ("enterprise", "contact"),
             ("manufacturer", "address"))


def v1_shape(doc):
    """doc without the fields schema version 2 added."""
    d = copy.deepcopy(doc)
    for rec, field in V2_FIELDS:
        if d.get(rec) is not None:
            d[rec].pop(field, None)
    return d


def check_repo_versions(schema_dir, doc):
    """Python writes version 1 and version 2 of the repository's schema
    explicitly; C reads both as the newest."""
    codec.SCHEMA_DIR = schema_dir
    v1 = codec.schema_version(1)
    v2 = codec.schema_version(2)
    newest = codec.newest_schema()
    names = {f.name for f in
             next(f for f in newest.fields if f.name == "enterprise").type.fields}
    if not {"address", "contact"} <= names:
        fail("the newest schema lacks enterprise.address/contact")
    if any(doc[rec].get(field) is None for rec, field in V2_FIELDS):
        fail("the example document should set every version 2 field")

    for what, d in (("v1, manufacturer", v1_shape(doc)),
                    ("v1, no manufacturer",
                     dict(v1_shape(doc), manufacturer=None))):
        msg = codec.encode_single_object(to_datum(v1, d), version=1)
        (fp,) = struct.unpack("<Q", msg[2:10])
        if fp != codec.fingerprint(v1) or fp == codec.fingerprint(newest):
            fail("%s: not written with version 1: %s" %
                 (what, msg[:10].hex()))
        in_c = c_decode(msg, schema_dir)
        for rec, field in V2_FIELDS:
            if in_c[rec] is None:
                continue
            if field not in in_c[rec] or in_c[rec][field] is not None:
                fail("%s: %s.%s decoded as %r, want null" %
                     (what, rec, field, in_c[rec].get(field, "<absent>")))
        want = norm_doc(newest, d)
        assert_same("%s, written in Python, read in C" % what,
                    norm_doc(newest, in_c), want)
        assert_same("%s, resolved by Python" % what,
                    norm_datum(newest, codec.decode_single_object(msg)), want)
        # The same document encoded in C: the newest version, read in
        # Python with the fields null.
        c_msg = c_encode(d, schema_dir)
        (fp,) = struct.unpack("<Q", c_msg[2:10])
        if fp != codec.fingerprint(newest):
            fail("%s: C did not write the newest version" % what)
        assert_same("%s, written in C, read in Python" % what,
                    norm_datum(newest, codec.decode_single_object(c_msg)),
                    want)

    msg = codec.encode_single_object(to_datum(v2, doc), version=2)
    (fp,) = struct.unpack("<Q", msg[2:10])
    if fp != codec.fingerprint(v2):
        fail("version 2 message: %s" % msg[:10].hex())
    in_c = c_decode(msg, schema_dir)
    for rec, field in V2_FIELDS:
        if in_c[rec][field] != doc[rec][field]:
            fail("version 2: %s.%s decoded as %r, sent %r" %
                 (rec, field, in_c[rec][field], doc[rec][field]))
    assert_same("version 2, written in Python, read in C",
                norm_doc(newest, in_c), norm_doc(newest, doc))


def check_evolution(doc):
    """v1 (the repository's) and a made-up v2 that adds fields with
    defaults and an enum symbol in front: both libraries resolve a v1
    message the same."""
    tmp = TempDir()
    try:
        v1_path = os.path.join(codec.SCHEMA_DIR, "inspection_result.v1.avsc")
        with open(v1_path, encoding="utf-8") as f:
            v1 = json.load(f)
        v2 = copy.deepcopy(v1)
        v2["fields"].append({"name": "risk", "type": "string",
                             "default": "UNASSESSED"})
        v2["fields"].append({"name": "checked_on", "default": 20000, "type": {
            "type": "int", "logicalType": "date"}})
        stage = next(f for f in v2["fields"] if f["name"] == "stage")
        stage["type"]["symbols"].insert(0, "CROSS_BORDER")
        item = v2["fields"][[f["name"] for f in v2["fields"]].index("items")]
        item["type"]["items"]["fields"].append(
            {"name": "method", "type": ["null", "string"], "default": None})
        for name, schema in (("inspection_result.v1.avsc", v1),
                             ("inspection_result.v2.avsc", v2)):
            with open(os.path.join(tmp.path, name), "w",
                      encoding="utf-8") as f:
                json.dump(schema, f, ensure_ascii=False, indent=1)
        if check_fingerprints(tmp.path) != 2:
            fail("the temporary directory should hold two schemas")

        codec.SCHEMA_DIR = tmp.path
        old = codec.load_schema(os.path.join(tmp.path,
                                             "inspection_result.v1.avsc"))
        newest = codec.newest_schema()
        doc = v1_shape(doc)
        v1_msg = codec.encode_single_object(to_datum(old, doc), old)
        in_c = c_decode(v1_msg, tmp.path)
        if in_c.get("risk") != "UNASSESSED" or \
                in_c.get("checked_on") != "2024-10-04" or \
                any(i.get("method", 1) is not None for i in in_c["items"]):
            fail("defaults not filled: %s" % json.dumps(in_c))
        in_py = norm_datum(newest, codec.decode_single_object(v1_msg))
        assert_same("a v1 message read as v2, C vs Python",
                    norm_doc(newest, in_c), in_py)

        # And a v2 message written in C, read in Python.
        in_c["risk"], in_c["stage"] = "HIGH", "CROSS_BORDER"
        v2_msg = c_encode(in_c, tmp.path)
        assert_same("a v2 message written in C, read in Python",
                    norm_datum(newest, codec.decode_single_object(v2_msg)),
                    norm_doc(newest, in_c))
    finally:
        tmp.cleanup()


def main():
    schema_dir = codec.SCHEMA_DIR
    with open(FULL, encoding="utf-8") as f:
        doc = json.load(f)
    n = check_fingerprints(schema_dir)
    check_both_ways(schema_dir, doc)
    check_repo_versions(schema_dir, doc)
    check_evolution(doc)
    codec.SCHEMA_DIR = schema_dir
    ok("%d schema(s), %d documents both ways, repository v1 and v2 "
       "read as the newest, evolution v1 -> v2" % (n, len(variants(doc))))


if __name__ == "__main__":
    main()
