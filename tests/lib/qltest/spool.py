"""The ql-spool tests (test_spool_*.py) and the fault suite's files.

Documents come from ql-simlab's JSONL (the reference for what a file
holds); records come back from the topic through confluent_kafka and
Python's own avro (qltest.codec), so nothing of our C code judges its own
output.
"""
import datetime
import json
import os
import subprocess

from qltest import binary, codec
from qltest.broker import consume_all

LAB = "XMQI"


def simlab(out, *args, lab=LAB):
    """ql-simlab writing to `out` as lab `lab` (None: args name it)."""
    lab_args = ["--lab", lab] if lab else []
    subprocess.run([binary("ql-simlab"), *lab_args, "--out", out, *args],
                   check=True)


def spool_cmd(*args):
    return [binary("ql-spool"), *args]


def run_spool(*args, timeout=120, env=None):
    """Run ql-spool to its end; returns the CompletedProcess (text)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(spool_cmd(*args), capture_output=True, text=True,
                          timeout=timeout, env=e)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _ms(ts):
    return int(datetime.datetime.fromisoformat(ts).timestamp() * 1000)


def normal_doc(doc):
    """A lab's document in the form a decoded record takes: every nullable
    field present, dates as text, timestamps as epoch milliseconds."""
    d = json.loads(json.dumps(doc))
    d["reported_at"] = _ms(d["reported_at"])
    d.setdefault("refers_to", None)
    d.setdefault("remarks", None)
    d.setdefault("manufacturer", None)
    if d["manufacturer"] is not None:
        for k in ("credit_code", "region_code", "address"):
            d["manufacturer"].setdefault(k, None)
    for k in ("address", "contact"):
        d["enterprise"].setdefault(k, None)
    for k in ("brand", "model", "grade", "batch", "production_date"):
        d["product"].setdefault(k, None)
    for it in d["items"]:
        for k in ("clause", "requirement", "measured", "unit"):
            it.setdefault(k, None)
    return d


def normal_record(rec):
    """A record decoded by Python's avro, in normal_doc's form."""
    def conv(v):
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        if isinstance(v, datetime.datetime):
            return int(v.timestamp() * 1000)
        if isinstance(v, datetime.date):
            return v.isoformat()
        return v
    return conv(rec)


def topic_records(brokers, topic, expect=None, timeout=30.0):
    """Every message of topic as (key, normalised record)."""
    known = codec.schemas_by_fingerprint()
    msgs = consume_all(brokers, topic, expect=expect, timeout=timeout)
    return [(k.decode() if k is not None else None,
             normal_record(codec.decode_single_object(v, known)))
            for k, v, _ in msgs]


def tree(d):
    """{subdir: sorted names} of a spool directory."""
    return {s: sorted(os.listdir(os.path.join(d, s)))
            for s in ("incoming", "done", "rejected")}
