"""The ql-gateway tests (test_gateway_*.py, test_simlab_post.py) and its
benchmark: a real ql-gateway (Gateway) against a real ql-devbroker, token
files, result documents, and HTTP spoken with Python's http.client."""
import datetime
import hashlib
import http.client
import json
import os
import signal
import subprocess
import time
import zlib

from qltest import binary, codec
from qltest.broker import TOPIC, consume_all
from qltest.procs import Daemon, free_port
from qltest.report import check, fail

CODES = ["914403001922038216", "91520000214434146R", "91440300708461136T",
         "91110108551385082Q", "91350200MA2YJ1XR9G"]


def sha256_hex(token):
    return hashlib.sha256(token.encode()).hexdigest()


def write_tokens(path, pairs, mode=0o600):
    """pairs: [(lab, token), ...]; the file holds their hashes."""
    with open(path, "w") as f:
        f.write("# lab  sha256(token)\n\n")
        for lab, token in pairs:
            f.write("%s %s\n" % (lab, sha256_hex(token)))
    os.chmod(path, mode)


def make_doc(lab, report_no, code=None, nonconforming=True, **over):
    """A valid result document of lab `lab` (docs/labs.md)."""
    code = code or CODES[zlib.crc32(report_no.encode()) % len(CODES)]
    items = [{"name": "泄漏电流", "clause": "GB 4706.1-2005 13.2",
              "requirement": "≤0.75 mA", "measured": "1.2", "unit": "mA",
              "importance": "A", "safety": True,
              "verdict": "FAIL" if nonconforming else "PASS"},
             {"name": "标志和说明", "importance": "B", "safety": False,
              "verdict": "PASS"}]
    doc = {
        "result_id": "%s:%s" % (lab, report_no),
        "report_no": report_no,
        "lab": {"code": lab, "name": "厦门市产品质量监督检验院"},
        "plan_id": "XM-2026-SC-01",
        "level": "DISTRICT",
        "kind": "SUPERVISION",
        "refers_to": None,
        "stage": "CIRCULATION",
        "sampled_on": "2026-03-01",
        "reported_at": "2026-03-10T09:30:00+08:00",
        "enterprise": {"credit_code": code, "name": "厦门某某贸易有限公司",
                       "region_code": "350206", "role": "SELLER"},
        "manufacturer": {"credit_code": None, "name": "深圳某某电器有限公司",
                         "region_code": "440300"},
        "product": {"category": "家用电器及电器附件", "name": "电热水壶",
                    "brand": "某牌", "model": "SH-1718",
                    "batch": "20260101"},
        "items": items,
        "verdict": "NONCONFORMING" if nonconforming else "CONFORMING",
        "remarks": "单项不合格" if nonconforming else None,
    }
    doc.update(over)
    return doc


def _ms(ts):
    return int(datetime.datetime.fromisoformat(ts).timestamp() * 1000)


def _fill(schema, value):
    """value shaped like the lab's JSON -> the datum Python's avro reads
    back: absent nullable fields None, dates as date, timestamps as aware
    UTC datetimes."""
    t = schema.type
    if t == "union":
        if value is None:
            return None
        branch = [s for s in schema.schemas if s.type != "null"][0]
        return _fill(branch, value)
    if t == "record":
        return {f.name: _fill(f.type, value.get(f.name)) for f in schema.fields}
    if t == "array":
        return [_fill(schema.items, v) for v in value]
    logical = getattr(schema, "logical_type", None) or \
        schema.props.get("logicalType")
    if logical == "date":
        return datetime.date.fromisoformat(value)
    if logical == "timestamp-millis":
        return datetime.datetime.fromtimestamp(
            _ms(value) / 1000, tz=datetime.timezone.utc)
    return value


def expected_datum(doc):
    return _fill(codec.newest_schema(), doc)


def topic_records(brokers, expect, timeout=30.0):
    """{result_id: [decoded datum, ...]} of the whole results topic, with
    each message's key checked against its credit code."""
    known = codec.schemas_by_fingerprint()
    out = {}
    for key, value, _ in consume_all(brokers, TOPIC, expect=expect,
                                     timeout=timeout):
        rec = codec.decode_single_object(value, known)
        if key.decode() != rec["enterprise"]["credit_code"]:
            fail("key %r is not the record's credit code" % key)
        out.setdefault(rec["result_id"], []).append(rec)
    return out


class Response:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "%d %s" % (self.status, self.raw[:300])


class Gateway(Daemon):
    """A ql-gateway child: the labs' port and the metrics endpoint
    (--metrics-addr) on free loopback ports; logs in TMP/gateway.PORT.log.
    tls: (cert, key) files, or None for plain HTTP; cafile: what the client
    trusts (the certificate itself by default)."""

    def __init__(self, tmp, brokers, tokens_file, *args, tls=None,
                 cafile=None):
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.metrics_port = free_port()
        self.metrics_addr = "127.0.0.1:%d" % self.metrics_port
        self.tls = tls
        self.cafile = cafile or (tls[0] if tls else None)
        cmd = [binary("ql-gateway"),
               "--brokers", brokers, "--gateway-addr", self.addr,
               "--metrics-addr", self.metrics_addr,
               "--gateway-tokens", tokens_file, *args]
        if tls:
            cmd += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        super().__init__(cmd, os.path.join(tmp, "gateway.%d.log" % self.port))
        deadline = time.time() + 15
        while True:
            if self.proc.poll() is not None:
                fail("ql-gateway exited %d at start:\n%s"
                     % (self.proc.returncode, self.text()))
            try:
                if self.ops("/healthz").status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                fail("ql-gateway did not answer /healthz:\n" + self.text())
            time.sleep(0.1)

    def ssl_context(self):
        import ssl
        return ssl.create_default_context(cafile=self.cafile)

    def connection(self, timeout=30, source=None):
        """A client connection to the labs' port, from the loopback address
        source (e.g. "127.0.0.2") if given."""
        src = (source, 0) if source else None
        if self.tls:
            return http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=timeout,
                context=self.ssl_context(), source_address=src)
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout, source_address=src)

    def ops(self, path):
        """GET path from the metrics endpoint (never the labs' port)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.metrics_port,
                                          timeout=10)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return Response(r.status, r.headers, r.read())
        finally:
            conn.close()

    def request(self, method, path, body=None, headers=None, conn=None):
        own = conn is None
        conn = conn or self.connection()
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body, ensure_ascii=False).encode()
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return Response(r.status, r.headers, r.read())
        finally:
            if own:
                conn.close()

    def push(self, body, token, ctype="application/json", conn=None):
        headers = {"Content-Type": ctype}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        return self.request("POST", "/v1/results", body, headers, conn)

    def metric(self, name):
        """Sum of a metric's samples whose line starts with name."""
        text = self.ops("/metrics").raw.decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def stop(self, timeout=30):
        """SIGTERM; returns the exit status.  The test fails if ql-gateway
        has not exited within `timeout` s."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                fail("ql-gateway ignored SIGTERM for %d s" % timeout)
        self.log.close()
        return self.proc.returncode


def expect_status(r, status, what):
    """r answered `status`; an error answer carries a JSON message."""
    check(r.status == status, "%s: expected %d, got %r" % (what, status, r))
    if r.status >= 400:
        check(r.json is not None and isinstance(r.json.get("message"), str)
              and r.json["message"],
              "%s: error body without a message: %r" % (what, r))
