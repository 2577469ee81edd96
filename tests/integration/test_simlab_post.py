"""ql-simlab --post sends to a real ql-gateway (on a real dev broker) the
very documents it would write.

- `--post --count 300 --batch 50 --lab XMQI --seed 7` exits 0 with a summary
  of 6 requests, 300 accepted, 0 rejected, and the topic then holds the
  result_ids of `--format jsonl` with the same options, each as many times
  as the stream has it (the gateway publishes what it accepts, so a
  document simlab repeats by design is on the topic twice), with the credit
  code, verdict and lab of the written document;
- the same with a wrong token: exit 3, every request's 401 and the
  gateway's JSON error body on stderr, nothing more on the topic;
- `--batch 1` with `--token-file` and `--duplicates`: each document posted
  alone (not in an array), the repeats on the topic as often as written;
- nobody listening: exit 1 after the retries;
- what goes over the wire, caught by a small HTTP server of this test:
  the bodies are exactly the written documents, in order, as arrays of
  --batch (the last one shorter) or bare objects with --batch 1, with
  `Authorization: Bearer TOKEN` and `Content-Type: application/json`;
- every broker down while posting (the gateway answers 503): simlab retries
  the same request and, once the brokers are back, exits 0 with every
  document on the topic (a 503'd attempt may be delivered too, later:
  duplicates are allowed there, losses are not);
- no token in the gateway's log.
"""
import collections
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time

import qltest
from qltest import gateway as gs, procs
from qltest.broker import DevBroker
from qltest.procs import TempDir
from qltest.report import check, ok


SIMLAB = os.path.join(qltest.QL_BIN, "ql-simlab")
TOKENS = {"XMQI": "xmqi-Rw7Kp2Lq9Vd3", "FJQI": "fjqi-Hs5Tn8Cb1Mx4",
          "XMEB": "xmeb-Pa6Gy0Ue2Zk7"}
ACK_MS = 2000
SUMMARY = re.compile(r"ql-simlab: (\d+) requests, (\d+) accepted, (\d+) "
                     r"rejected, (\d+) retries, [0-9.]+ s")


def written(*args):
    """The documents `ql-simlab ARGS --format jsonl` writes."""
    r = subprocess.run([SIMLAB, *args, "--format", "jsonl"], check=True,
                       capture_output=True)
    return [json.loads(line) for line in r.stdout.decode().splitlines()]


def post(url, *args, timeout=120):
    r = subprocess.run([SIMLAB, "--post", url, *args], capture_output=True,
                       timeout=timeout)
    return r.returncode, r.stderr.decode(errors="replace")


def summary(stderr):
    """(requests, accepted, rejected, retries) of the last line."""
    lines = stderr.strip().splitlines()
    m = SUMMARY.fullmatch(lines[-1]) if lines else None
    check(m, "no summary line at the end of stderr:\n" + stderr)
    return tuple(int(x) for x in m.groups())


class Capture(http.server.ThreadingHTTPServer):
    """Answers every POST 202 like the gateway; keeps (headers, body)."""

    def __init__(self):
        self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(h):
                n = int(h.headers.get("Content-Length", "0"))
                body = json.loads(h.rfile.read(n))
                self.seen.append((dict(h.headers), body))
                docs = body if isinstance(body, list) else [body]
                answer = json.dumps(
                    {"accepted": [d["result_id"] for d in docs]}).encode()
                h.send_response(202)
                h.send_header("Content-Type", "application/json")
                h.send_header("Content-Length", str(len(answer)))
                h.end_headers()
                h.wfile.write(answer)

            def log_message(h, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def check_wire():
    srv = Capture()
    url = "http://127.0.0.1:%d/v1/results" % srv.server_address[1]
    try:
        opts = ["--count", "7", "--lab", "XMQI", "--seed", "11"]
        docs = written(*opts)
        for batch, shapes in ((3, [3, 3, 1]), (1, [None] * 7)):
            srv.seen.clear()
            rc, err = post(url, *opts, "--batch", str(batch), "--token",
                           "wire-token")
            check(rc == 0, "capture, --batch %d: exit %d:\n%s"
                  % (batch, rc, err))
            got = [len(b) if isinstance(b, list) else None
                   for _, b in srv.seen]
            check(got == shapes, "--batch %d sent bodies shaped %r, "
                  "expected %r" % (batch, got, shapes))
            sent = [d for _, b in srv.seen
                    for d in (b if isinstance(b, list) else [b])]
            check(sent == docs, "--batch %d: the posted documents are not "
                  "the written ones" % batch)
            for headers, _ in srv.seen:
                check(headers.get("Authorization") == "Bearer wire-token"
                      and headers.get("Content-Type") ==
                      "application/json", "request headers: %r" % headers)
    finally:
        srv.shutdown()
        srv.server_close()


def by_lab(records, lab):
    return {rid: recs for rid, recs in records.items()
            if recs[0]["lab"]["code"] == lab}


def check_same(got, docs, what, exact=True):
    """got: {result_id: [record, ...]} of one lab; docs: what was written."""
    want = collections.Counter(d["result_id"] for d in docs)
    check(set(got) == set(want),
          "%s: topic ids differ from the written ones: missing %s, extra %s"
          % (what, sorted(set(want) - set(got))[:5],
             sorted(set(got) - set(want))[:5]))
    for rid, n in want.items():
        if exact:
            check(len(got[rid]) == n, "%s: %s on the topic %d times, "
                  "written %d times" % (what, rid, len(got[rid]), n))
        else:
            check(len(got[rid]) >= n, "%s: %s lost" % (what, rid))
    for d in docs:
        for rec in got[d["result_id"]]:
            check(rec["enterprise"]["credit_code"] ==
                  d["enterprise"]["credit_code"] and
                  rec["verdict"] == d["verdict"] and
                  rec["lab"]["code"] == d["lab"]["code"],
                  "%s: %s on the topic is not the written document"
                  % (what, d["result_id"]))


def main():
    check_wire()
    tmp = TempDir()
    with DevBroker() as broker:
        tokens = os.path.join(tmp.path, "tokens")
        gs.write_tokens(tokens, sorted(TOKENS.items()))
        conf = os.path.join(tmp.path, "gateway.ini")
        with open(conf, "w") as f:
            f.write("[kafka]\nreconnect.backoff.ms = 100\n"
                    "reconnect.backoff.max.ms = 500\n")
        gw = gs.Gateway(tmp.path, broker.brokers, tokens, "-c", conf,
                        "--ack-timeout-ms", str(ACK_MS),
                        "--kafka-timeout-ms", "60000")
        url = "http://%s/v1/results" % gw.addr
        try:
            opts = ["--count", "300", "--lab", "XMQI", "--seed", "7"]
            main_docs = written(*opts)
            check(len(main_docs) == 300, "jsonl: %d documents"
                  % len(main_docs))
            rc, err = post(url, *opts, "--batch", "50",
                           "--token", TOKENS["XMQI"])
            check(rc == 0, "--post exited %d:\n%s" % (rc, err))
            check(summary(err) == (6, 300, 0, 0),
                  "summary of the good run: %s" % err)
            check(len(err.strip().splitlines()) == 1,
                  "a good run printed more than its summary:\n" + err)

            rc, err = post(url, *opts, "--batch", "50", "--token",
                           "not-the-token")
            check(rc == 3, "wrong token: exit %d, expected 3:\n%s"
                  % (rc, err))
            rejections = [line for line in err.splitlines()
                          if "HTTP 401" in line]
            check(len(rejections) == 6, "expected six 401 lines:\n" + err)
            for line in rejections:
                body = json.loads(line.split("HTTP 401: ", 1)[1])
                check(isinstance(body.get("message"), str),
                      "401 line without the gateway's body: " + line)
            check(summary(err) == (6, 0, 300, 0),
                  "summary of the wrong-token run: %s" % err)

            tokfile = os.path.join(tmp.path, "fjqi.token")
            with open(tokfile, "w") as f:
                f.write(TOKENS["FJQI"] + "\n")
            os.chmod(tokfile, 0o600)
            opts1 = ["--count", "40", "--lab", "FJQI", "--seed", "8",
                     "--duplicates", "0.2"]
            single_docs = written(*opts1)
            ids = [d["result_id"] for d in single_docs]
            check(len(set(ids)) < len(ids),
                  "--duplicates 0.2 repeated nothing; the check is void")
            rc, err = post(url, *opts1, "--batch", "1",
                           "--token-file", tokfile)
            check(rc == 0, "--batch 1 exited %d:\n%s" % (rc, err))
            check(summary(err) == (40, 40, 0, 0),
                  "summary of --batch 1: %s" % err)

            # nobody listening
            port = procs.free_port()
            rc, err = post("http://127.0.0.1:%d/v1/results" % port,
                           "--count", "5", "--token", "x", "--retries", "2")
            check(rc == 1, "nobody listening: exit %d, expected 1:\n%s"
                  % (rc, err))
            check(summary(err)[1:] == (0, 0, 2),
                  "summary with nobody listening: %s" % err)

            # Kafka away: 503, retried until the brokers are back
            opts503 = ["--count", "25", "--lab", "XMEB", "--seed", "9"]
            outage_docs = written(*opts503)
            broker.command("broker down -1")
            time.sleep(0.3)
            p = subprocess.Popen([SIMLAB, "--post", url, *opts503, "--batch",
                                  "10", "--retries", "30", "--token",
                                  TOKENS["XMEB"]], stderr=subprocess.PIPE)
            time.sleep(ACK_MS / 1000 * 2 + 1)
            check(p.poll() is None, "simlab did not wait for Kafka")
            broker.command("broker up -1")
            _, err = p.communicate(timeout=120)
            err = err.decode(errors="replace")
            check(p.returncode == 0, "after the outage: exit %d:\n%s"
                  % (p.returncode, err))
            requests, accepted, rejected, retries = summary(err)
            check((requests, accepted, rejected) == (3, 25, 0) and
                  retries >= 1, "summary after the outage: %s" % err)
            print("outage: %d retries" % retries)

            got = gs.topic_records(broker.brokers, expect=None, timeout=60)
            check_same(by_lab(got, "XMQI"), main_docs, "batch 50")
            check_same(by_lab(got, "FJQI"), single_docs, "batch 1")
            check_same(by_lab(got, "XMEB"), outage_docs, "outage",
                       exact=False)
            check(set(got) == set(by_lab(got, "XMQI")) |
                  set(by_lab(got, "FJQI")) | set(by_lab(got, "XMEB")),
                  "records of another lab on the topic")
        except BaseException:
            print(gw.text(), file=sys.stderr)
            raise
        finally:
            gw.stop()
        for token in TOKENS.values():
            check(token not in gw.text(), "a token reached the log")
    tmp.cleanup()
    ok("simlab posts the written documents; 401 rejected with exit "
       "3; 503 retried; unreachable exit 1")


if __name__ == "__main__":
    main()
