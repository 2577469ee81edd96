"""ql-gateway's token file: strict at start, reloaded on SIGHUP.

At start, a missing setting, a bad line (named by number), a file without
tokens, a repeated hash or a world-writable file stop the gateway with one
line; a group-readable file only warns.  Running: the token file rewritten
and SIGHUP sent -> the old token is answered 401 and the new one 202, on a
keep-alive connection opened before the reload (no connection dropped); a
bad new file keeps the running table; the log level from -c FILE is
reloaded too.  No token ever appears in the log.
"""
import os
import signal
import subprocess
import sys
import time

import qltest
from qltest import gateway as gs, procs
from qltest.broker import DevBroker
from qltest.procs import TempDir
from qltest.report import check, fail, ok


OLD, NEW, OTHER = "old-3Kf9sQ0pZ", "new-8Hx2mT5wB", "other-6Nc1rV7yD"


def start_fails(tmp, tokens_args, expect_text):
    r = subprocess.run([os.path.join(qltest.QL_BIN, "ql-gateway"),
                        "--brokers", "127.0.0.1:1",
                        "--gateway-addr", "127.0.0.1:%d" % procs.free_port(),
                        *tokens_args],
                       capture_output=True, text=True, timeout=20)
    check(r.returncode != 0, "started with %r" % tokens_args)
    check(expect_text in r.stderr,
          "start with %r: expected %r in\n%s"
          % (tokens_args, expect_text, r.stderr))
    check(len(r.stderr.strip().splitlines()) == 1,
          "not one line:\n%s" % r.stderr)


def check_start(tmp):
    start_fails(tmp, [], "gateway_tokens")
    bad = os.path.join(tmp, "bad")
    good = "LAB1 " + gs.sha256_hex(OLD)
    for text, want in [
            ("# ok\n%s\nLAB2 abc123\n" % good, "bad:3:"),
            ("%s\nLAB2 %s extra\n" % (good, gs.sha256_hex(NEW)), "bad:2:"),
            ("LA B1 %s\n" % gs.sha256_hex(OLD), "bad:1:"),
            ("# only a comment\n\n", "no tokens"),
            ("%s\nLAB2 %s\n" % (good, gs.sha256_hex(OLD)), "line 1"),
            ("LAB\"1 %s\n" % gs.sha256_hex(OLD), "bad:1:")]:
        with open(bad, "w") as f:
            f.write(text)
        os.chmod(bad, 0o600)
        start_fails(tmp, ["--gateway-tokens", bad], want)
    start_fails(tmp, ["--gateway-tokens", os.path.join(tmp, "absent")],
                "absent")
    with open(bad, "w") as f:
        f.write(good + "\n")
    os.chmod(bad, 0o666)
    start_fails(tmp, ["--gateway-tokens", bad], "writable by others")


def push_until(gw, token, status, timeout=10):
    deadline = time.time() + timeout
    n = 0
    while True:
        n += 1
        doc = gs.make_doc("LAB1", "RL-%d-%d" % (int(time.time() * 1000), n))
        r = gw.push(doc, token)
        if r.status == status:
            return r, doc
        if time.time() > deadline:
            fail("token %s...: %r, expected %d"
                 % (token[:3], r, status))
        time.sleep(0.2)


def main():
    tmp = TempDir()
    check_start(tmp.path)
    with DevBroker() as broker:
        tokens = os.path.join(tmp.path, "tokens")
        gs.write_tokens(tokens, [("LAB1", OLD), ("LAB2", OTHER)], mode=0o640)
        conf = os.path.join(tmp.path, "gw.ini")
        with open(conf, "w") as f:
            f.write("[gateway]\nlog_level = warn\n")
        gw = gs.Gateway(tmp.path, broker.brokers, tokens, "-c", conf)
        try:
            check("accessible by group or others" in gw.text(),
                  "no warning for a group-readable token file")
            keep = gw.connection()
            gs.expect_status(gw.push(gs.make_doc("LAB1", "RL-1"), OLD, conn=keep),
                             202, "old token before the reload")
            check("POST /v1/results" not in gw.text(),
                  "info line logged at log_level warn")

            gs.write_tokens(tokens, [("LAB1", NEW), ("LAB2", OTHER)])
            with open(conf, "w") as f:
                f.write("[gateway]\nlog_level = info\n")
            gw.signal(signal.SIGHUP)
            push_until(gw, OLD, 401)
            gs.expect_status(gw.push(gs.make_doc("LAB1", "RL-2"), NEW, conn=keep),
                             202, "new token on a connection from before")
            gs.expect_status(gw.push(gs.make_doc("LAB2", "RL-3"), OTHER),
                             202, "unchanged token of another lab")
            check("POST /v1/results 202" in gw.text(),
                  "log level not reloaded")
            check("reload: 2 tokens for 2 labs" in gw.text(),
                  "reload not logged")

            # a bad file: the running table stays
            with open(tokens, "a") as f:
                f.write("LAB3 not-a-hash\n")
            gw.signal(signal.SIGHUP)
            deadline = time.time() + 10
            while "tokens:5:" not in gw.text():
                check(time.time() < deadline,
                      "bad token file on reload not reported:\n" + gw.text())
                time.sleep(0.1)
            gs.expect_status(gw.push(gs.make_doc("LAB1", "RL-4"), NEW, conn=keep),
                             202, "new token after a failed reload")
            gs.expect_status(gw.push(gs.make_doc("LAB1", "RL-5"), OLD), 401,
                             "old token after a failed reload")
            keep.close()
            check(gw.metric('ql_gateway_requests_by_lab_total{lab="LAB1"}')
                  >= 3, "per-lab counter lost across reloads")
        except BaseException:
            print(gw.text(), file=sys.stderr)
            raise
        finally:
            rc = gw.stop()
        check(rc == 0, "exit status %d" % rc)
        logs = gw.text()
        for t in (OLD, NEW, OTHER):
            check(t not in logs, "a token reached the log")
    tmp.cleanup()
    ok("token file checks and SIGHUP reload")


if __name__ == "__main__":
    main()
