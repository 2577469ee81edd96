"""Helpers shared by the ql-spool integration tests (test_spool_*.py).

Documents come from ql-simlab's JSONL (the reference for what a file holds);
records come back from the topic through confluent_kafka and Python's own
avro (tests/lib/qltest.py), so nothing of our C code judges its own output.
"""
import datetime
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["QL_SRC"], "tests/lib"))
import qltest  # noqa: E402

QL_BIN = qltest.QL_BIN
LAB = "XMQI"


def fail(msg):
    qltest.fail(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def simlab(out, *args):
    subprocess.run([os.path.join(QL_BIN, "ql-simlab"), "--lab", LAB,
                    "--out", out, *args], check=True)


def spool_cmd(*args):
    return [os.path.join(QL_BIN, "ql-spool"), *args]


def run_spool(*args, timeout=120, env=None):
    """Run ql-spool to its end; returns the CompletedProcess (text)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(spool_cmd(*args), capture_output=True, text=True,
                          timeout=timeout, env=e)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


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
    known = qltest.schemas_by_fingerprint()
    msgs = qltest.consume_all(brokers, topic, expect=expect, timeout=timeout)
    return [(k.decode() if k is not None else None,
             normal_record(qltest.decode_single_object(v, known)))
            for k, v, _ in msgs]


def tree(d):
    """{subdir: sorted names} of a spool directory."""
    return {s: sorted(os.listdir(os.path.join(d, s)))
            for s in ("incoming", "done", "rejected")}


def wait_for(pred, timeout=20.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    fail("timed out waiting for " + what)
