"""Helpers for the ql-gateway integration tests, and a check of themselves.

Imported by the other test_gateway_*.py files: it starts a real ql-gateway
against a real ql-devbroker, writes token files, builds result documents and
speaks HTTP with Python's http.client.  Run directly (as CTest does), it
checks that the documents it builds are what the record schema describes,
by encoding each with Python's avro library, independently of our C code.
"""
import datetime
import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.join(os.environ["QL_SRC"], "tests/lib"))
import qltest  # noqa: E402

CODES = ["914403001922038216", "91520000214434146R", "91440300708461136T",
         "91110108551385082Q", "91350200MA2YJ1XR9G"]
TOPIC = "inspection.results"


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
    """A valid result document of lab `lab` (design §3)."""
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
    return _fill(qltest.newest_schema(), doc)


def topic_records(brokers, expect, timeout=30.0):
    """{result_id: [decoded datum, ...]} of the whole results topic, with
    each message's key checked against its credit code."""
    known = qltest.schemas_by_fingerprint()
    out = {}
    for key, value, _ in qltest.consume_all(brokers, TOPIC, expect=expect,
                                            timeout=timeout):
        rec = qltest.decode_single_object(value, known)
        if key.decode() != rec["enterprise"]["credit_code"]:
            qltest.fail("key %r is not the record's credit code" % key)
        out.setdefault(rec["result_id"], []).append(rec)
    return out


free_port = qltest.free_port


class Response:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "%d %s" % (self.status, self.raw[:300])


class Gateway:
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
        self.log_path = os.path.join(tmp, "gateway.%d.log" % self.port)
        self.tls = tls
        self.cafile = cafile or (tls[0] if tls else None)
        cmd = [os.path.join(qltest.QL_BIN, "ql-gateway"),
               "--brokers", brokers, "--gateway-addr", self.addr,
               "--metrics-addr", self.metrics_addr,
               "--gateway-tokens", tokens_file, *args]
        if tls:
            cmd += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        deadline = time.time() + 15
        while True:
            if self.proc.poll() is not None:
                qltest.fail("ql-gateway exited %d at start:\n%s"
                            % (self.proc.returncode, self.logs()))
            try:
                if self.ops("/healthz").status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                qltest.fail("ql-gateway did not answer /healthz:\n"
                            + self.logs())
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

    def logs(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        """SIGTERM; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                qltest.fail("ql-gateway ignored SIGTERM for %d s" % timeout)
        self.log.close()
        return self.proc.returncode


def expect(cond, msg):
    if not cond:
        qltest.fail(msg)


def expect_status(r, status, what):
    expect(r.status == status, "%s: expected %d, got %r" % (what, status, r))
    if r.status >= 400:
        expect(r.json is not None and isinstance(r.json.get("message"), str)
               and r.json["message"],
               "%s: error body without a message: %r" % (what, r))


def main():
    """The documents built here must be valid datums of the newest schema
    (checked by Python's avro writer) and survive an encode/decode round
    trip as expected_datum() predicts."""
    import avro.io
    schema = qltest.newest_schema()
    for i, (nc, code) in enumerate([(True, CODES[0]), (False, CODES[4])]):
        doc = make_doc("LAB%d" % i, "R-%d" % i, code=code, nonconforming=nc)
        datum = expected_datum(doc)
        if not avro.io.validate(schema, datum):
            qltest.fail("make_doc() builds an invalid record: %r" % datum)
        back = qltest.decode_single_object(
            qltest.encode_single_object(datum, schema))
        if back != datum:
            qltest.fail("round trip changed the record:\n%r\n%r"
                        % (datum, back))
        if back["reported_at"].astimezone(datetime.timezone.utc).hour != 1:
            qltest.fail("reported_at not converted to UTC: %r"
                        % back["reported_at"])
    print("ok: gateway test documents match the schema")


if __name__ == "__main__":
    main()
