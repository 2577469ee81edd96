"""The ql-triage tests (test_triage_*.py and the other tests that run
ql-triage): Env (a dev broker and a fresh database on the tests/run
cluster), result documents with valid credit codes, their single-object
Avro written by Python's avro, the consumer's stored offsets, and the
ql-triage process itself (Triage)."""
import datetime
import io
import json
import os
import re
import struct
import threading
import time

import avro.io

from qltest import SCHEMA_DIR, SQL_DIR, binary, codec, pg, uscc
from qltest.broker import TOPIC, DevBroker, high_watermarks, produce
from qltest.procs import Daemon, TempDir
from qltest.report import fail

REGIONS = ["350203", "350205", "350206", "350211", "350212", "350213"]


def credit_code(n):
    """The n-th of a family of valid enterprise credit codes in Xiamen."""
    return uscc.code(REGIONS[n % len(REGIONS)], 10000000 + n)


# --- documents and their encoding ------------------------------------------

def make_doc(i, code=None, verdict="CONFORMING", lab="XMQI"):
    """A valid result document (lab JSON shape) numbered i."""
    code = code or credit_code(i % 50)
    items = [{"name": "标识和使用说明", "clause": "GB 6675.1-2014 6",
              "requirement": "应有警告语", "measured": "符合", "unit": None,
              "importance": "B", "safety": False, "verdict": "PASS"},
             {"name": "小零件", "clause": None, "requirement": None,
              "measured": None, "unit": None, "importance": "A",
              "safety": True,
              "verdict": "FAIL" if verdict == "NONCONFORMING" else "PASS"}]
    day = datetime.date(2026, 1, 1) + datetime.timedelta(days=i % 300)
    return {
        "result_id": "%s:R-%06d" % (lab, i),
        "report_no": "R-%06d" % i,
        "lab": {"code": lab, "name": "厦门市产品质量监督检验院"},
        "plan_id": "XM-2026-%02d" % (i % 7),
        "level": "DISTRICT",
        "kind": "SUPERVISION",
        "refers_to": None,
        "stage": "CIRCULATION",
        "sampled_on": day.isoformat(),
        "reported_at": "%sT09:%02d:%02d+08:00" % (
            (day + datetime.timedelta(days=10)).isoformat(), i % 60, (i * 7) % 60),
        "enterprise": {"credit_code": code, "name": "厦门市第%d商行" % i,
                       "region_code": code[2:8], "role": "SELLER",
                       "address": "厦门市湖里区第%d号" % i if i % 3 else None,
                       "contact": None},
        "manufacturer": None,
        "product": {"category": "儿童用品", "name": "积木玩具 #%d" % i,
                    "brand": "星趣", "model": None, "grade": None,
                    "batch": "B%d" % i, "production_date": None},
        "items": items,
        "verdict": verdict,
        "remarks": "tab\there, newline\nhere, backslash \\ here" if i % 10 == 3 else None,
    }


def to_datum(doc):
    """The document with the Python types avro's DatumWriter expects."""
    d = json.loads(json.dumps(doc))
    d["sampled_on"] = datetime.date.fromisoformat(d["sampled_on"])
    d["reported_at"] = datetime.datetime.fromisoformat(d["reported_at"])
    return d


_writers = {}


def encode(doc, schema=None):
    """Single-object Avro of doc, written by the Python avro library (the
    newest schema unless told; parsed and fingerprinted once)."""
    if schema is None:
        schema = _writers.get("newest") or codec.newest_schema()
        _writers["newest"] = schema
    if id(schema) not in _writers:
        _writers[id(schema)] = (avro.io.DatumWriter(schema),
                                b"\xc3\x01" + struct.pack("<Q", codec.fingerprint(schema)))
    writer, header = _writers[id(schema)]
    buf = io.BytesIO()
    writer.write(to_datum(doc), avro.io.BinaryEncoder(buf))
    return header + buf.getvalue()


def encoded_docs(n, start=0, **kw):
    """[(key, value)] of n valid documents numbered from start."""
    docs = [make_doc(i, **kw) for i in range(start, start + n)]
    return [(d["enterprise"]["credit_code"].encode(), encode(d)) for d in docs]


# --- what is stored ----------------------------------------------------------

def rows_so_far():
    """Rows stored so far; 0 before the schema exists (ql-triage applies
    the migrations when it starts)."""
    if pg.sql("SELECT to_regclass('ql.inspection_result') IS NULL") == ["t"]:
        return 0
    return pg.count()


def stored_offsets(group="ql-triage", topic=TOPIC):
    """{partition: next offset} the group stored in ql.consumer_offset."""
    rows = pg.sql("SELECT kafka_partition, next_offset FROM ql.consumer_offset "
                  "WHERE group_id = '%s' AND topic = '%s'" % (group, topic))
    return {int(p): int(o) for p, o in (r.split("|") for r in rows)}


def check_offsets_at_watermarks(brokers, group="ql-triage"):
    hw = high_watermarks(brokers)
    st = stored_offsets(group)
    for p, h in hw.items():
        if st.get(p, 0) != h:
            fail("partition %d: stored offset %s, high watermark %d"
                 % (p, st.get(p), h))


def caught_up(brokers, n, group="ql-triage"):
    """All n rows stored and every stored offset at its high watermark."""
    if rows_so_far() != n:
        return False
    hw = high_watermarks(brokers)
    st = stored_offsets(group)
    return all(st.get(p, 0) == h for p, h in hw.items())


# --- the daemon --------------------------------------------------------------

class Triage(Daemon):
    """A ql-triage child process with its log in the test's temp dir."""
    n = 0

    def __init__(self, env, *args, name=None):
        Triage.n += 1
        name = name or "triage%d" % Triage.n
        super().__init__([binary("ql-triage"), *args],
                         os.path.join(env.tmp.path, name + ".log"),
                         env=env.environ())

    def totals(self):
        """The numbers of the final 'stopped:' line."""
        m = re.search(r"stopped: (\d+) records, (\d+) stored, (\d+) duplicates, "
                      r"(\d+) rejected", self.text())
        if not m:
            fail("%s: no final totals line; log:\n%s"
                 % (self.name, self.text()[-3000:]))
        return dict(zip(("records", "stored", "duplicates", "rejected"),
                        map(int, m.groups())))


class Env:
    """One test's world: temp dir, dev broker, fresh database."""

    def __init__(self, db, partitions=6):
        self.tmp = TempDir()
        self.extra = {}
        self.children = []
        self.broker = None
        try:
            self.broker = DevBroker("--partitions", str(partitions))
            self.brokers = self.broker.brokers
            pg.new_db(db)
        except BaseException:
            # A broker left running would hold the test's output open.
            self.close()
            raise

    def environ(self, **more):
        e = dict(os.environ)
        e.update({"QL_BROKERS": self.brokers, "QL_PG": os.environ["QL_PG"],
                  "QL_SCHEMA_DIR": SCHEMA_DIR, "QL_SQL_DIR": SQL_DIR,
                  "QL_LOG_LEVEL": "info",
                  # One member unless a test asks for more (the default is
                  # one per core): the tests' timings and log lines assume
                  # one.  None in extra removes a variable.
                  "QL_WORKERS": "1"})
        e.update(self.extra)
        e.update(more)
        return {k: v for k, v in e.items() if v is not None}

    def fast_group_config(self):
        """A -c FILE that lets the group notice a killed member in seconds
        (librdkafka's default session timeout is 45 s)."""
        path = os.path.join(self.tmp.path, "fast-group.ini")
        with open(path, "w") as f:
            f.write("[kafka]\nsession.timeout.ms = 6000\n"
                    "heartbeat.interval.ms = 500\n")
        return path

    def triage(self, *args, name=None):
        """Start ql-triage.  Unless the test passes its own -c FILE, the
        group settles in seconds: the dev broker makes the next member of a
        group wait out the session timeout of the one before, even after a
        clean LeaveGroup."""
        if "-c" not in args:
            args = ("-c", self.fast_group_config()) + args
        t = Triage(self, *args, name=name)
        self.children.append(t)
        return t

    def close(self):
        for t in self.children:
            t.close()
        if self.broker:
            self.broker.stop()
        self.tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Streamer:
    """Produce messages in a background thread, `chunk` at a time with a
    pause between chunks, so a consumer sees a stream rather than a
    backlog.  .join() waits and re-raises a failure.

    With `hold_at`, the stream stops after that many messages until
    .release(): a test that must act mid-stream (kill, restart) then does
    not depend on how fast the machine is."""

    def __init__(self, brokers, messages, chunk=500, pause=0.25, hold_at=None):
        self.error = None
        self.produced = 0
        self.gate = threading.Event()
        if hold_at is None:
            self.gate.set()

        def run():
            try:
                for i in range(0, len(messages), chunk):
                    if hold_at is not None and i >= hold_at:
                        self.gate.wait()
                    produce(brokers, messages[i:i + chunk])
                    self.produced = i + len(messages[i:i + chunk])
                    time.sleep(pause)
            except Exception as e:  # reported by join()
                self.error = e
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def release(self):
        self.gate.set()

    def join(self, timeout=120):
        self.gate.set()
        self.thread.join(timeout)
        if self.thread.is_alive():
            fail("the producer did not finish")
        if self.error:
            raise self.error

    def done(self):
        return not self.thread.is_alive()
