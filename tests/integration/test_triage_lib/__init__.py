"""Helpers shared by the ql-triage integration tests (test_triage_*.py).

Everything a test needs to drive the real thing: a dev broker, a fresh
database on the tests/run cluster, result documents with valid credit codes
(computed here, independently of the C code), single-object Avro encoded by
the Python `avro` library, confluent_kafka to produce and read, and the
ql-triage process itself.
"""
import datetime
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.environ["QL_SRC"], "tests/lib"))
import qltest  # noqa: E402

QL_BIN = os.environ["QL_BIN"]
QL_SRC = os.environ["QL_SRC"]
TOPIC = "inspection.results"
DLQ = "inspection.results.dlq"

# --- credit codes (GB 32100), computed independently of ql_uscc ----------

_ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _org_check(s8):
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    val = lambda ch: int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10
    c = 11 - sum(val(ch) * w for ch, w in zip(s8, weights)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def _full_check(s17):
    c = 31 - sum(_ALPHA.index(ch) * pow(3, i, 31) for i, ch in enumerate(s17)) % 31
    return _ALPHA[0 if c == 31 else c]


def credit_code(n):
    """The n-th of a family of valid enterprise credit codes in Xiamen."""
    regions = ["350203", "350205", "350206", "350211", "350212", "350213"]
    s16 = "91" + regions[n % len(regions)] + "%08d" % (10000000 + n)
    s17 = s16 + _org_check(s16[8:16])
    return s17 + _full_check(s17)


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


def _iso_to_datetime(s):
    return datetime.datetime.fromisoformat(s)


def to_datum(doc):
    """The document with the Python types avro's DatumWriter expects."""
    d = json.loads(json.dumps(doc))
    d["sampled_on"] = datetime.date.fromisoformat(d["sampled_on"])
    d["reported_at"] = _iso_to_datetime(d["reported_at"])
    return d


_writers = {}


def encode(doc, schema=None):
    """Single-object Avro of doc, written by the Python avro library (the
    newest schema unless told; parsed and fingerprinted once)."""
    import io
    import avro.io
    if schema is None:
        schema = _writers.get("newest") or qltest.newest_schema()
        _writers["newest"] = schema
    if id(schema) not in _writers:
        _writers[id(schema)] = (avro.io.DatumWriter(schema),
                                b"\xc3\x01" + struct.pack("<Q", qltest.fingerprint(schema)))
    writer, header = _writers[id(schema)]
    buf = io.BytesIO()
    writer.write(to_datum(doc), avro.io.BinaryEncoder(buf))
    return header + buf.getvalue()


# --- Kafka ---------------------------------------------------------------

def produce(brokers, messages, topic=TOPIC):
    """Produce [(key bytes, value bytes)] idempotently; all acknowledged."""
    import logging
    from confluent_kafka import Producer
    quiet = logging.getLogger("qltest.producer")  # retries are expected
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    p = Producer({"bootstrap.servers": brokers, "enable.idempotence": True,
                  "linger.ms": 5}, logger=quiet)
    failed = []

    def report(err, msg):
        if err:
            failed.append(err)
    for key, value in messages:
        while True:
            try:
                p.produce(topic, value=value, key=key, on_delivery=report)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(30)
    if left or failed:
        raise RuntimeError("produce: %d left, failures %s" % (left, failed[:3]))


def high_watermarks(brokers, topic=TOPIC, partitions=6):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": brokers, "group.id": "qltest-wm"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)}
    finally:
        c.close()


# --- PostgreSQL ------------------------------------------------------------

def sql(q):
    return qltest.psql(q)


def count(table="ql.inspection_result", where="true"):
    return int(sql("SELECT count(*) FROM %s WHERE %s" % (table, where))[0])


def rows_so_far():
    """Rows stored so far; 0 before the schema exists (ql-triage applies
    the migrations when it starts)."""
    if sql("SELECT to_regclass('ql.inspection_result') IS NULL") == ["t"]:
        return 0
    return count()


def stored_offsets(group="ql-triage", topic=TOPIC):
    rows = sql("SELECT kafka_partition, next_offset FROM ql.consumer_offset "
               "WHERE group_id = '%s' AND topic = '%s'" % (group, topic))
    return {int(p): int(o) for p, o in (r.split("|") for r in rows)}


def check_offsets_at_watermarks(brokers, group="ql-triage"):
    hw = high_watermarks(brokers)
    st = stored_offsets(group)
    for p, h in hw.items():
        if st.get(p, 0) != h:
            qltest.fail("partition %d: stored offset %s, high watermark %d"
                        % (p, st.get(p), h))


# --- the daemon --------------------------------------------------------------

class Triage:
    """A ql-triage child process with its log in the test's temp dir."""
    n = 0

    def __init__(self, env, *args, name=None):
        Triage.n += 1
        self.name = name or "triage%d" % Triage.n
        self.log_path = os.path.join(env.tmp.path, self.name + ".log")
        # Read back through this same descriptor: the log stays readable
        # even if the temp dir goes away early.
        self.log = open(self.log_path, "w+b")
        self.proc = subprocess.Popen([os.path.join(QL_BIN, "ql-triage"), *args],
                                     env=env.environ(), stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait(self, timeout=60):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            qltest.fail("%s did not exit in %d s; log:\n%s"
                        % (self.name, timeout, self.text()[-3000:]))

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def kill(self):
        self.signal(signal.SIGKILL)
        self.proc.wait()

    def text(self):
        self.log.flush()
        size = os.fstat(self.log.fileno()).st_size
        return os.pread(self.log.fileno(), size, 0).decode("utf-8", "replace")

    def totals(self):
        """The numbers of the final 'stopped:' line."""
        m = re.search(r"stopped: (\d+) records, (\d+) stored, (\d+) duplicates, "
                      r"(\d+) rejected", self.text())
        if not m:
            qltest.fail("%s: no final totals line; log:\n%s"
                        % (self.name, self.text()[-3000:]))
        return dict(zip(("records", "stored", "duplicates", "rejected"),
                        map(int, m.groups())))


def scrape(addr, path="/metrics"):
    try:
        with urllib.request.urlopen("http://%s%s" % (addr, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text, name, labels=None):
    """Value of one series in a Prometheus exposition (None if absent)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"([a-z_]+)(\{[^}]*\})? (\S+)$", line)
        if m and m.group(1) == name and (labels is None or m.group(2) == labels):
            return float(m.group(3))
    return None


def pg_ctl(*args):
    """pg_ctl on the tests/run cluster (QL_TEST_PGDATA), as its owner; the
    test fails with pg_ctl's output if it does."""
    pgdata = os.environ.get("QL_TEST_PGDATA")
    if not pgdata:
        qltest.fail("QL_TEST_PGDATA not set: run the suite through tests/run")
    bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True,
                            text=True).stdout.strip()
    pgctl = os.path.join(bindir, "pg_ctl")
    if not os.path.exists(pgctl):
        pgctl = "/usr/lib/postgresql/15/bin/pg_ctl"
    cmd = "%s -D '%s' %s" % (pgctl, pgdata, " ".join(args))
    shell = ["su", "postgres", "-c", cmd] if os.getuid() == 0 else ["bash", "-c", cmd]
    r = subprocess.run(shell, capture_output=True, text=True)
    if r.returncode != 0:
        qltest.fail("pg_ctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))


def wait_for(what, fn, timeout=45, every=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(every)
    qltest.fail("timed out after %d s waiting for %s" % (timeout, what))


free_port = qltest.free_port


class Env:
    """One test's world: temp dir, dev broker, fresh database."""

    def __init__(self, db, partitions=6):
        self.tmp = qltest.TempDir()
        self.extra = {}
        self.children = []
        self.broker = None
        try:
            self.broker = qltest.DevBroker("--partitions", str(partitions))
            self.brokers = self.broker.brokers
            qltest.new_db(db)
        except BaseException:
            # A broker left running would hold the test's output open.
            self.close()
            raise

    def environ(self, **more):
        e = dict(os.environ)
        e.update({"QL_BROKERS": self.brokers, "QL_PG": os.environ["QL_PG"],
                  "QL_SCHEMA_DIR": qltest.SCHEMA_DIR,
                  "QL_SQL_DIR": os.path.join(QL_SRC, "schemas/sql"),
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
            if t.alive():
                t.kill()
            t.log.close()
        if self.broker:
            self.broker.stop()
        self.tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def encoded_docs(n, start=0, **kw):
    """[(key, value)] of n valid documents numbered from start."""
    docs = [make_doc(i, **kw) for i in range(start, start + n)]
    return [(d["enterprise"]["credit_code"].encode(), encode(d)) for d in docs]


class Streamer:
    """Produce messages in a background thread, `chunk` at a time with a
    pause between chunks, so a consumer sees a stream rather than a
    backlog.  .join() waits and re-raises a failure.

    With `hold_at`, the stream stops after that many messages until
    .release(): a test that must act mid-stream (kill, restart) then does
    not depend on how fast the machine is."""

    def __init__(self, brokers, messages, chunk=500, pause=0.25, hold_at=None):
        import threading
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
            qltest.fail("the producer did not finish")
        if self.error:
            raise self.error

    def done(self):
        return not self.thread.is_alive()


def caught_up(brokers, n, group="ql-triage"):
    """All n rows stored and every stored offset at its high watermark."""
    if rows_so_far() != n:
        return False
    hw = high_watermarks(brokers)
    st = stored_offsets(group)
    return all(st.get(p, 0) == h for p, h in hw.items())
