"""ql-gateway answers each status of design §4 to real HTTP requests against
a real dev broker, and survives hostile input.

202 single and batch requests, whose records are then read back from the
topic and decoded with Python's avro: exactly the accepted ones are there,
equal to what was posted, keyed by credit code; 400 (a batch with bad
records: every problem listed with index and field, nothing of it
published), 401 (no token, unknown token), 403 (lab B's record with lab A's
token: nothing published), 413 (Content-Length over the limit, a chunked
body over the limit, too many records), 415 (wrong Content-Type, not JSON,
invalid UTF-8), 404, 405; hostile bodies (deep nesting, duplicate keys,
numbers for strings, NUL characters); a client that stalls after its
headers is cut off after --client-timeout while others are served; the
metrics count it all, on the metrics address only (the labs' port answers
/healthz, /readyz and /metrics 404); no token ever reaches the log.
"""
import os
import socket
import sys
import time

from qltest import gateway as gs
from qltest.broker import DevBroker
from qltest.procs import TempDir
from qltest.report import check, ok


T1, T2 = "lab1-Zq8t2VwC9sRk4", "lab2-Yp3m6XbN1dLf7"
MAX_BODY = 65536


def problems(r):
    return {(e.get("index"), e.get("field")) for e in r.json.get("errors", [])}


def raw_exchange(gw, head, body=b"", timeout=10):
    """Send raw bytes; return the status line's code and the whole answer."""
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=timeout)
    try:
        s.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return int(data.split(b" ", 2)[1]), data
    finally:
        s.close()


def check_accepts(gw, published):
    doc = gs.make_doc("LAB1", "R-0001")
    r = gw.push(doc, T1)
    gs.expect_status(r, 202, "one document")
    check(r.json == {"accepted": ["LAB1:R-0001"]}, "202 body: %r" % r)
    published[doc["result_id"]] = doc

    batch = [gs.make_doc("LAB1", "R-00%02d" % i, nonconforming=i % 2 == 0)
             for i in range(2, 6)]
    batch[1]["manufacturer"] = None
    del batch[2]["remarks"]  # nullable and absent
    r = gw.push(batch, T1)
    gs.expect_status(r, 202, "a batch")
    check(r.json["accepted"] == [d["result_id"] for d in batch],
          "accepted ids not in request order: %r" % r)
    published.update((d["result_id"], d) for d in batch)

    # keep-alive: several requests on one connection
    conn = gw.connection()
    for i in range(6, 9):
        d = gs.make_doc("LAB2", "R-%04d" % i)
        gs.expect_status(gw.push(d, T2, conn=conn), 202, "keep-alive push %d" % i)
        published[d["result_id"]] = d
    conn.close()


def check_invalid(gw):
    batch = [gs.make_doc("LAB1", "BAD-1"), gs.make_doc("LAB1", "BAD-2"),
             gs.make_doc("LAB1", "BAD-3")]
    batch[1]["enterprise"]["credit_code"] = "914403001922038217"
    batch[2]["report_no"] = 12345  # a number where a string belongs
    r = gw.push(batch, T1)
    gs.expect_status(r, 400, "batch with two bad records")
    got = problems(r)
    check((1, "enterprise.credit_code") in got and (2, "report_no") in got,
          "400 does not list index and field of each problem: %r" % r)
    check(not any(i == 0 for i, _ in got), "good record 0 blamed: %r" % r)
    check(all(isinstance(e.get("error"), str) and e["error"]
              for e in r.json["errors"]), "problem without text: %r" % r)

    r = gw.push([gs.make_doc("LAB1", "BAD-4", verdict="CONFORMING")], T1)
    gs.expect_status(r, 400, "verdict inconsistent with the items")
    check((0, "verdict") in problems(r) or (0, "items") in problems(r),
          "inconsistent verdict not named: %r" % r)

    r = gw.push([], T1)
    gs.expect_status(r, 400, "empty array")
    r = gw.push(b"42", T1)
    gs.expect_status(r, 400, "a JSON scalar")


def check_auth(gw):
    doc = gs.make_doc("LAB1", "AUTH-1")
    r = gw.push(doc, None)
    gs.expect_status(r, 401, "no Authorization")
    check(r.headers.get("WWW-Authenticate", "").startswith("Bearer"),
          "401 without WWW-Authenticate: Bearer: %r" % r.headers)
    r = gw.push(doc, "not-a-known-token")
    gs.expect_status(r, 401, "unknown token")
    check("invalid_token" in r.headers.get("WWW-Authenticate", ""),
          "unknown token: WWW-Authenticate %r" % r.headers)
    r = gw.request("POST", "/v1/results", doc,
                   {"Content-Type": "application/json",
                    "Authorization": "Basic " + T1})
    gs.expect_status(r, 401, "Basic instead of Bearer")
    # a token's prefix or the token with more is not the token
    gs.expect_status(gw.push(doc, T1[:-1]), 401, "token prefix")
    gs.expect_status(gw.push(doc, T1 + "x"), 401, "token with a suffix")

    # LAB2's token, LAB1's record in second place: 403, nothing published
    batch = [gs.make_doc("LAB2", "FOREIGN-1"), gs.make_doc("LAB1", "FOREIGN-2")]
    r = gw.push(batch, T2)
    gs.expect_status(r, 403, "lab B posts lab A's record")
    check(problems(r) == {(1, "lab.code")}, "403 names the record: %r" % r)

    # a long lab code of Chinese characters, quoted (and cut) in the answer
    lab = "实验室" * 30
    r = gw.push(gs.make_doc(lab, "FOREIGN-3"), T1)
    gs.expect_status(r, 403, "long multibyte lab code of another lab")
    check(problems(r) == {(0, "lab.code")}, "403 names the record: %r" % r)


def check_limits(gw):
    docs = [gs.make_doc("LAB1", "MANY-%d" % i) for i in range(6)]
    r = gw.push(docs, T1)
    gs.expect_status(r, 413, "6 records over --max-records 5")

    # Content-Length over the limit: answered from the headers alone
    head = ("POST /v1/results HTTP/1.1\r\nHost: x\r\n"
            "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (T1, MAX_BODY + 1)).encode()
    t0 = time.time()
    status, answer = raw_exchange(gw, head)
    check(status == 413, "Content-Length over the limit: %r" % answer[:200])
    check(time.time() - t0 < 2, "413 waited for the body")

    # chunked body running over the limit: 413, nothing kept
    filler = b"[" + b" " * (MAX_BODY + 1000) + b"]"
    conn = gw.connection()
    conn.request("POST", "/v1/results", body=iter([filler[:40000],
                                                   filler[40000:]]),
                 headers={"Authorization": "Bearer " + T1,
                          "Content-Type": "application/json"},
                 encode_chunked=True)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    check(r.status == 413, "chunked body over the limit: %d %r"
          % (r.status, body[:200]))

    # a body just under the limit is read (and judged on its content)
    pad = {"x": " " * (MAX_BODY - 100)}
    r = gw.push(pad, T1)
    gs.expect_status(r, 400, "large but allowed body")


def check_not_json(gw):
    doc = gs.make_doc("LAB1", "CT-1")
    gs.expect_status(gw.push(doc, T1, ctype="text/plain"), 415, "text/plain")
    gs.expect_status(gw.push(doc, T1, ctype="application/json; charset=latin-1"),
                     415, "charset latin-1")
    gs.expect_status(gw.push(doc, T1, ctype="application/json; charset=UTF-8"),
                     202, "charset UTF-8")
    gs.expect_status(gw.push(b'{"result_id": "LAB1:x", ', T1), 415,
                     "truncated JSON")
    gs.expect_status(gw.push(b"<xml/>", T1), 415, "XML")
    gs.expect_status(gw.push(b"", T1), 415, "empty body")
    bad_utf8 = b'{"result_id": "LAB1:\xff\xfe", "report_no": "x"}'
    r = gw.push(bad_utf8, T1)
    gs.expect_status(r, 415, "invalid UTF-8")
    return doc


def check_hostile(gw):
    deep = b"[" * 30000 + b"]" * 30000
    r = gw.push(deep, T1)
    gs.expect_status(r, 400, "30000 levels of nesting")
    check(r.json["errors"][0]["index"] is None, "nesting: %r" % r)

    doc = gs.make_doc("LAB1", "DEEP-2")
    nested = "x"
    for _ in range(500):
        nested = [nested]
    doc["remarks"] = nested
    r = gw.push(doc, T1)
    gs.expect_status(r, 400, "nested arrays where a string belongs")
    check((0, "remarks") in problems(r), "nested remarks: %r" % r)

    r = gw.push(b'{"result_id": "LAB1:D-1", "result_id": "LAB1:D-2"}', T1)
    gs.expect_status(r, 400, "duplicate keys")
    check("duplicate" in r.json["errors"][0]["error"], "dup: %r" % r)

    doc = gs.make_doc("LAB1", "NUM-1")
    doc["enterprise"]["region_code"] = 350206
    doc["items"][0]["safety"] = "yes"
    r = gw.push(doc, T1)
    gs.expect_status(r, 400, "wrong types")
    check({(0, "enterprise.region_code"), (0, "items[0].safety")}
          <= problems(r), "wrong types not named: %r" % r)

    r = gw.push(b'{"report_no": "a\\u0000b"}', T1)
    gs.expect_status(r, 400, "NUL in a string")
    r = gw.push(b'{"n": 1' + b"0" * 400 + b"}", T1)
    gs.expect_status(r, 400, "a huge number")

    gs.expect_status(gw.request("GET", "/v1/results"), 405, "GET /v1/results")
    gs.expect_status(gw.request("POST", "/v2/results", b"{}"), 404, "unknown path")


def check_slow_client(gw, published):
    """Headers, then silence: the gateway cuts the connection after
    --client-timeout (2 s) and serves others meanwhile."""
    slow = socket.create_connection(("127.0.0.1", gw.port))
    slow.sendall(("POST /v1/results HTTP/1.1\r\nHost: x\r\n"
                  "Authorization: Bearer %s\r\n"
                  "Content-Type: application/json\r\nContent-Length: 500\r\n"
                  "\r\n{\"result_id\":" % T1).encode())
    half = socket.create_connection(("127.0.0.1", gw.port))
    half.sendall(b"POST /v1/results HTTP/1.1\r\nHost: x\r\nAuthor")
    t0 = time.time()
    for i in range(5):
        d = gs.make_doc("LAB1", "SLOW-%d" % i)
        r = gw.push(d, T1)
        gs.expect_status(r, 202, "push while a client stalls")
        published[d["result_id"]] = d
    check(time.time() - t0 < 2, "stalled clients slowed others down")
    for name, s in (("after headers", slow), ("inside headers", half)):
        s.settimeout(15)
        try:
            got = s.recv(4096)
        except ConnectionResetError:
            got = b""
        waited = time.time() - t0
        check(not got or got.startswith(b"HTTP/1.1 4"),
              "stalled client (%s) got %r" % (name, got[:100]))
        check(waited < 10, "stalled client (%s) held %.1f s" % (name, waited))
        s.close()
    check(time.time() - t0 >= 1.5, "connection cut before the timeout")


def check_ops(gw, published):
    """Health, readiness and metrics -- per-lab counters among them -- on
    the metrics address only; the labs' port knows none of them, with a
    token or without."""
    check(gw.ops("/healthz").status == 200, "/healthz on the metrics address")
    check(gw.ops("/readyz").status == 200, "/readyz on the metrics address")
    for path in ("/healthz", "/readyz", "/metrics"):
        for headers in ({}, {"Authorization": "Bearer " + T1}):
            r = gw.request("GET", path, headers=headers)
            gs.expect_status(r, 404, "GET %s on the labs' port" % path)
            check(b"ql_gateway" not in r.raw and b"LAB1" not in r.raw,
                  "%s on the labs' port shows metrics: %r" % (path, r))
    accepted = gw.metric("ql_gateway_records_accepted_total")
    check(accepted == len(published),
          "records_accepted_total %s, expected %d" % (accepted, len(published)))
    check(gw.metric('ql_gateway_requests_total{status="401"}') >= 5,
          "401s not counted")
    check(gw.metric('ql_gateway_requests_total{status="413"}') >= 3,
          "413s not counted")
    check(gw.metric("ql_gateway_auth_failures_total") >= 5,
          "auth failures not counted")
    check(gw.metric('ql_gateway_requests_by_lab_total{lab="LAB2"}') >= 4,
          "per-lab requests not counted")
    check(gw.metric("ql_gateway_publish_seconds_count") >= 5,
          "publish latency not observed")


def check_topic(brokers, published):
    """Exactly the accepted records are on the topic, equal to the posts."""
    # read until the topic is quiet, not just up to the count expected, so
    # that a record published by a rejected request would show
    got = gs.topic_records(brokers, expect=None)
    check(set(got) == set(published),
          "topic holds %s, expected %s" % (sorted(got), sorted(published)))
    for rid, doc in published.items():
        check(len(got[rid]) == 1, "%s published %d times" % (rid, len(got[rid])))
        want = gs.expected_datum(doc)
        check(got[rid][0] == want, "%s decoded as\n%r\nposted\n%r"
              % (rid, got[rid][0], want))


def main():
    tmp = TempDir()
    with DevBroker() as broker:
        tokens = os.path.join(tmp.path, "tokens")
        gs.write_tokens(tokens, [("LAB1", T1), ("LAB2", T2)])
        gw = gs.Gateway(tmp.path, broker.brokers, tokens,
                        "--max-body", str(MAX_BODY), "--max-records", "5",
                        "--client-timeout", "2")
        published = {}
        try:
            check_accepts(gw, published)
            check_invalid(gw)
            check_auth(gw)
            check_limits(gw)
            d = check_not_json(gw)
            published[d["result_id"]] = d
            check_hostile(gw)
            check_slow_client(gw, published)
            check_ops(gw, published)
            check_topic(broker.brokers, published)
        except BaseException:
            print(gw.text(), file=sys.stderr)
            raise
        finally:
            rc = gw.stop()
        check(rc == 0, "ql-gateway exited %d on SIGTERM" % rc)
        logs = gw.text()
        check(T1 not in logs and T2 not in logs, "a token reached the log")
        check("POST /v1/results 202" in logs, "no per-request log line")
    tmp.cleanup()
    ok("gateway statuses, hostile input, topic contents")


if __name__ == "__main__":
    main()
