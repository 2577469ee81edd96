"""Shared helpers for the Python integration tests.

Import with:  sys.path.insert(0, os.path.join(os.environ["QL_SRC"], "tests/lib"))
It starts real servers (the dev broker) in a private temp dir, decodes
single-object Avro with the independent Python `avro` library, computes
CRC-64-AVRO fingerprints independently of our C code, and reads topics with
confluent_kafka.  Debian's modules: run under /usr/bin/python3.
"""
import glob
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import avro.io
import avro.schema

QL_BIN = os.environ.get("QL_BIN", "")
QL_SRC = os.environ.get("QL_SRC", "")
SCHEMA_DIR = os.environ.get("QL_SCHEMA_DIR", os.path.join(QL_SRC, "schemas/avro"))

_EMPTY = 0xC15D213AA4D7A795
_TABLE = []
for _i in range(256):
    _fp = _i
    for _ in range(8):
        _fp = (_fp >> 1) ^ (_EMPTY & -(_fp & 1))
    _TABLE.append(_fp)


def crc64_avro(data: bytes) -> int:
    """CRC-64-AVRO as the Avro specification defines it (unsigned)."""
    fp = _EMPTY
    for b in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ b) & 0xFF]
    return fp


def _version_key(path):
    """Numbers inside names compare as numbers: v10 sorts after v9."""
    return [int(p) if p.isdigit() else p
            for p in re.split(r"(\d+)", os.path.basename(path))]


def schema_files():
    """Every schema file, oldest first (the codec's version order)."""
    return sorted(glob.glob(os.path.join(SCHEMA_DIR, "*.avsc")),
                  key=_version_key)


def load_schema(path):
    with open(path, encoding="utf-8") as f:
        return avro.schema.parse(f.read())


_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes",
               "string"}


def canonical_form(schema) -> str:
    """Parsing Canonical Form as the Avro specification defines it.  Python
    avro 1.11 keeps {"type": "int"} for a primitive that carries attributes
    such as logicalType; the specification's PRIMITIVES rule (and Java's
    SchemaNormalization) reduce it to "int", and the fingerprint with it."""
    def fix(j):
        if isinstance(j, dict):
            if len(j) == 1 and j.get("type") in _PRIMITIVES:
                return j["type"]
            return {k: fix(v) for k, v in j.items()}
        if isinstance(j, list):
            return [fix(v) for v in j]
        return j
    return json.dumps(fix(schema.to_canonical_json()), separators=(",", ":"))


def fingerprint(schema) -> int:
    return crc64_avro(canonical_form(schema).encode("utf-8"))


def schemas_by_fingerprint():
    return {fingerprint(s): s for s in map(load_schema, schema_files())}


def newest_schema():
    return load_schema(schema_files()[-1])


def schema_version(n):
    """The published schema of version n (inspection_result.vN.avsc), for
    writing records as an older producer did."""
    return load_schema(os.path.join(SCHEMA_DIR,
                                    "inspection_result.v%d.avsc" % n))


def decode_single_object(msg: bytes, known=None):
    """Decode single-object Avro with Python's avro; returns a dict."""
    known = known or schemas_by_fingerprint()
    if len(msg) < 10 or msg[0:2] != b"\xc3\x01":
        raise ValueError("not single-object encoding")
    (fp,) = struct.unpack("<Q", msg[2:10])
    writer = known[fp]
    reader = avro.io.DatumReader(writer, newest_schema())
    return reader.read(avro.io.BinaryDecoder(io.BytesIO(msg[10:])))


def encode_single_object(datum, schema=None, version=None) -> bytes:
    """Encode a datum (Python avro types) with single-object framing, with
    the given schema, or the published schema of `version`, or else the
    newest."""
    if schema is None and version is not None:
        schema = schema_version(version)
    schema = schema or newest_schema()
    buf = io.BytesIO()
    avro.io.DatumWriter(schema).write(datum, avro.io.BinaryEncoder(buf))
    return b"\xc3\x01" + struct.pack("<Q", fingerprint(schema)) + buf.getvalue()


class TempDir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="qltest.")

    def cleanup(self):
        if not os.environ.get("QL_KEEP_TMP"):
            shutil.rmtree(self.path, ignore_errors=True)


class DevBroker:
    """A ql-devbroker child process; .brokers is its bootstrap list."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [os.path.join(QL_BIN, "ql-devbroker"), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.brokers = self.proc.stdout.readline().strip()
        if not self.brokers:
            raise RuntimeError("ql-devbroker printed no bootstrap list")

    def command(self, line, check=True):
        """Send one fault-control command to the broker's stdin and wait
        until it is in force.  Returns the answer ("ok" or "error: ...");
        with check, an error answer raises RuntimeError."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        if not line.strip() or line.lstrip().startswith("#"):
            return None  # blank lines and comments get no answer
        while True:
            reply = self.proc.stdout.readline()
            if not reply:
                raise RuntimeError("ql-devbroker exited during: " + line)
            reply = reply.rstrip("\n")
            if reply == "ok" or reply.startswith("error: "):
                break
        if check and reply != "ok":
            raise RuntimeError("ql-devbroker: %s: %s" % (line, reply))
        return reply

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc.stdin.close()
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def consume_all(brokers, topic, expect=None, timeout=20.0):
    """Read a topic from the beginning with confluent_kafka until `expect`
    messages arrived or nothing new came for 3 s (or timeout).  Returns a
    list of (key bytes, value bytes, headers)."""
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": brokers,
                  "group.id": "qltest-%d-%d" % (os.getpid(), time.time_ns()),
                  "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    out, deadline, last = [], time.time() + timeout, time.time()
    try:
        while time.time() < deadline:
            if expect is not None and len(out) >= expect:
                break
            if expect is None and out and time.time() - last > 3:
                break
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            out.append((m.key(), m.value(), m.headers()))
            last = time.time()
    finally:
        c.close()
    return out


def psql(sql, db=None):
    """Run SQL with psql on the tests/run cluster; returns stdout rows."""
    db = db or os.environ["QL_DB"]
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                        "-d", db, "-c", sql],
                       check=True, capture_output=True, text=True)
    return [l for l in r.stdout.splitlines() if l]


def new_db(name):
    """Fresh database `name`; sets QL_DB and QL_PG in os.environ."""
    if not os.environ.get("PGHOST"):
        raise RuntimeError("no PostgreSQL: run the suite through tests/run")
    psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name, db="postgres")
    psql('CREATE DATABASE "%s"' % name, db="postgres")
    os.environ["QL_DB"] = name
    os.environ["QL_PG"] = "dbname=" + name
    return name


def free_port():
    """A loopback TCP port free at the time of asking."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)
