"""ql-gateway against clients that hold its connections, and where it
agrees to listen.

- max_connections: with the per-address limit off, one host (127.0.0.1)
  holding every connection with idle sockets keeps another host (127.0.0.2,
  loopback too) from being answered -- the attack the next check defends
  against; the other host is answered once they let go.
- max_connections_per_address: the same host can hold only that many; its
  further connections are closed at once (and counted), and the other host
  is answered while it holds them.
- request_timeout: a client dribbling its headers, or its body, a byte every
  0.4 s is never idle for client_timeout, yet is cut off once its request is
  not in after request_timeout; a kept-alive connection whose requests each
  arrive in time lives longer than request_timeout; a request waiting for
  slow Kafka acknowledgements longer than request_timeout still gets its 202.
- Plain HTTP on an address that is not loopback is refused at start with
  one line, unless --allow-plain-http (or QL_GATEWAY_ALLOW_PLAIN=1) says a
  TLS-terminating proxy is in front.
"""
import http.client
import os
import socket
import subprocess
import sys
import time

import qltest
from qltest import gateway as gs, procs
from qltest.broker import DevBroker
from qltest.procs import TempDir
from qltest.report import check, fail, ok


TOKEN = "exposure-lab-Vb7nQ2sK"
OTHER_HOST = "127.0.0.2"  # loopback on Linux, another client address


def hold(gw, n, source="127.0.0.1"):
    """n connected sockets from source that send nothing."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=5,
                                     source_address=(source, 0))
        socks.append(s)
    time.sleep(0.5)  # let the gateway accept (or refuse) them all
    return socks


def closed_by_server(s, timeout=3):
    """Did the gateway close s without an answer?"""
    s.settimeout(timeout)
    try:
        s.sendall(b"GET /v1/results HTTP/1.1\r\nHost: x\r\n\r\n")
        return s.recv(100) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def other_host_push(gw, report_no, timeout):
    """A push from OTHER_HOST: its Response, or None if not answered in
    time."""
    conn = gw.connection(timeout=timeout, source=OTHER_HOST)
    try:
        return gw.push(gs.make_doc("LABX", report_no), TOKEN, conn=conn)
    except (OSError, ConnectionError):
        return None
    finally:
        conn.close()


def check_total_limit(tmp, broker, tokens):
    """Without a per-address limit, one host can hold every connection."""
    gw = gs.Gateway(tmp, broker.brokers, tokens, "--threads", "2",
                    "--max-connections", "8",
                    "--max-connections-per-address", "0",
                    "--client-timeout", "30", "--request-timeout", "30")
    try:
        socks = hold(gw, 8)
        r = other_host_push(gw, "EXP-1", timeout=2)
        check(r is None or r.status != 202,
              "answered 202 although one host held all 8 connections: %r"
              % r)
        for s in socks:
            s.close()
        time.sleep(0.5)
        gs.expect_status(other_host_push(gw, "EXP-2", timeout=10), 202,
                         "the other host once the first let go")
    except BaseException:
        print(gw.text(), file=sys.stderr)
        raise
    finally:
        gw.stop()


def check_per_address_limit(tmp, broker, tokens):
    gw = gs.Gateway(tmp, broker.brokers, tokens, "--threads", "2",
                    "--max-connections", "8",
                    "--max-connections-per-address", "4",
                    "--client-timeout", "30", "--request-timeout", "30")
    try:
        socks = hold(gw, 8)
        t0 = time.time()
        r = other_host_push(gw, "EXP-3", timeout=10)
        check(r is not None, "the other host was not answered while one "
              "host held its per-address limit of connections")
        gs.expect_status(r, 202, "push from the other host")
        check(time.time() - t0 < 3, "the other host waited %.1f s"
              % (time.time() - t0))
        # four were closed at once; the four within the limit are open (and
        # answer a request: 405 for GET)
        refused = [s for s in socks if closed_by_server(s)]
        check(len(refused) == 4, "%d of 8 connections from one address "
              "closed, the limit being 4" % len(refused))
        for s in socks:
            s.close()
        check(gw.metric("ql_gateway_connections_refused_total") >= 4,
              "refused connections not counted")
        logs = gw.text()
        check("max_connections_per_address (4)" in logs,
              "refusals not logged:\n" + logs)
        check(logs.count("connection(s) refused") <= 2,
              "a log line per refused connection:\n" + logs)
    except BaseException:
        print(gw.text(), file=sys.stderr)
        raise
    finally:
        gw.stop()


def dribble(gw, first, drip, every=0.4, limit=8.0):
    """Send first, then drip a byte at a time every `every` s until the
    gateway closes the connection; seconds until it did (None: not within
    limit)."""
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    t0 = time.time()
    try:
        s.sendall(first)
        i = 0
        while time.time() - t0 < limit:
            time.sleep(every)
            try:
                s.sendall(drip[i % len(drip):i % len(drip) + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.time() - t0
            i += 1
            s.settimeout(0.01)
            try:
                data = s.recv(4096)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return time.time() - t0
            if data == b"" or data.startswith(b"HTTP/1.1 "):
                return time.time() - t0
        return None
    finally:
        s.close()


def check_request_timeout(tmp, broker, tokens):
    gw = gs.Gateway(tmp, broker.brokers, tokens, "--client-timeout", "2",
                    "--request-timeout", "3", "--ack-timeout-ms", "10000")
    try:
        took = dribble(gw, b"POST /v1/results HTTP/1.1\r\nHost: x\r\n",
                       b"X-Padding-Header-That-Never-Ends: aaaaaaaaaaaaaaa")
        check(took is not None, "a client dribbling its headers was never "
              "cut off")
        check(2.5 <= took <= 5, "headers dribbler cut after %.1f s, "
              "request_timeout 3 s" % took)
        head = ("POST /v1/results HTTP/1.1\r\nHost: x\r\n"
                "Authorization: Bearer %s\r\n"
                "Content-Type: application/json\r\nContent-Length: 4000\r\n"
                "\r\n[" % TOKEN).encode()
        took = dribble(gw, head, b" ")
        check(took is not None, "a client dribbling its body was never cut "
              "off")
        check(2.5 <= took <= 5, "body dribbler cut after %.1f s" % took)
        check(gw.metric("ql_gateway_connections_timed_out_total") >= 2,
              "cut connections not counted")

        # each request in time: the clock starts again after each answer
        conn = gw.connection()
        t0 = time.time()
        for i in range(4):
            gs.expect_status(gw.push(gs.make_doc("LABX", "KA-%d" % i), TOKEN,
                                     conn=conn), 202, "kept-alive push %d" % i)
            time.sleep(1.5)
        check(time.time() - t0 > 3, "the kept-alive check was too short")
        gs.expect_status(gw.push(gs.make_doc("LABX", "KA-4"), TOKEN, conn=conn),
                         202, "kept-alive push after %.1f s" % (time.time() - t0))
        conn.close()

        # the wait for Kafka does not count against the request
        broker.command("broker rtt -1 4000")
        try:
            t0 = time.time()
            r = gw.push(gs.make_doc("LABX", "SLOW-ACK"), TOKEN)
            took = time.time() - t0
        finally:
            broker.command("broker rtt -1 0")
        gs.expect_status(r, 202, "push acknowledged slowly")
        check(took > 3, "Kafka answered in %.1f s, not slower than "
              "request_timeout: nothing shown" % took)
    except BaseException:
        print(gw.text(), file=sys.stderr)
        raise
    finally:
        gw.stop()


def start(tokens, *args, env=None):
    return subprocess.Popen(
        [os.path.join(qltest.QL_BIN, "ql-gateway"), "--brokers",
         "127.0.0.1:1", "--gateway-tokens", tokens, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env)


def check_plain_only_on_loopback(tmp, tokens):
    port = procs.free_port()
    p = start(tokens, "--gateway-addr", "0.0.0.0:%d" % port)
    out, err = p.communicate(timeout=20)
    check(p.returncode == 1, "plain HTTP on 0.0.0.0: exit %d" % p.returncode)
    lines = err.strip().splitlines()
    check(len(lines) == 1 and "not a loopback address" in lines[0]
          and "allow_plain_http" in lines[0] and "tls_cert" in lines[0],
          "refusal is not one clear line:\n" + err)

    for how, args, env in [
            ("--allow-plain-http", ["--allow-plain-http"], None),
            ("QL_GATEWAY_ALLOW_PLAIN=1", [],
             dict(os.environ, QL_GATEWAY_ALLOW_PLAIN="1"))]:
        maddr = "127.0.0.1:%d" % procs.free_port()
        p = start(tokens, "--gateway-addr", "0.0.0.0:%d" % procs.free_port(),
                  "--metrics-addr", maddr, *args, env=env)
        deadline = time.time() + 15
        while True:
            if p.poll() is not None:
                fail("%s: did not start:\n%s"
                     % (how, p.communicate()[1]))
            try:
                c = http.client.HTTPConnection(*maddr.split(":"), timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            check(time.time() < deadline, "%s: no /healthz" % how)
            time.sleep(0.1)
        p.terminate()
        p.communicate(timeout=20)
        check(p.returncode == 0, "%s: exit %d" % (how, p.returncode))


def main():
    tmp = TempDir()
    tokens = os.path.join(tmp.path, "tokens")
    gs.write_tokens(tokens, [("LABX", TOKEN)])
    check_plain_only_on_loopback(tmp.path, tokens)
    with DevBroker() as broker:
        check_total_limit(tmp.path, broker, tokens)
        check_per_address_limit(tmp.path, broker, tokens)
        check_request_timeout(tmp.path, broker, tokens)
    tmp.cleanup()
    ok("connection limits, request deadline, plain HTTP on loopback "
       "only")


if __name__ == "__main__":
    main()
