"""ql-gateway over HTTPS with self-signed certificates made by openssl here.

- A push over https (the client verifying the certificate) is answered 202
  and its record is on the topic, equal to the post; plain HTTP to the TLS
  port gets no HTTP answer; an unreadable key stops the gateway at start.
- SIGHUP with new certificate and key files: a new connection is served the
  new certificate (its SHA-256 fingerprint, as the client sees it), a
  connection opened before keeps working; new files that do not belong
  together (a key of another certificate), or are not PEM at all, are
  refused with a log line and the running certificate stays.
- tls_priorities is applied: with "NORMAL:-VERS-ALL:+VERS-TLS1.3" a client
  that speaks at most TLS 1.2 is refused and a TLS 1.3 client served; with
  the default, TLS 1.2 with AES-GCM is served but a TLS 1.2 client offering
  only CBC ciphers (which GnuTLS's plain NORMAL would take) is refused; a
  priority string GnuTLS rejects stops the gateway at start with one line.
- With TLS, a non-loopback address is fine (the loopback rule is for plain
  HTTP).
"""
import hashlib
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

import qltest
from qltest import gateway as gs, procs
from qltest.broker import DevBroker
from qltest.procs import TempDir
from qltest.report import check, fail, ok


TOKEN = "tls-lab-Wm4c8Pq1"


def make_cert(tmp, name):
    """A self-signed certificate for 127.0.0.1 and its key: (cert, key)."""
    cert = os.path.join(tmp, name + ".crt")
    key = os.path.join(tmp, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1/O=%s" % name,
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def der_fingerprint(cert_pem):
    with open(cert_pem) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).hexdigest()


def served_fingerprint(gw, ctx=None):
    """SHA-256 of the certificate a new connection is served."""
    ctx = ctx or gw.ssl_context()
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


def handshake(gw, ctx):
    """The TLS version agreed with ctx, or None if the gateway refused."""
    try:
        with socket.create_connection(("127.0.0.1", gw.port),
                                      timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                return s.version()
    except (ssl.SSLError, ConnectionResetError):
        return None


def install(cert, key, live):
    """Copy cert and key over the files the gateway was started with."""
    for src, dst in ((cert, live[0]), (key, live[1])):
        shutil.copyfile(src, dst + ".new")
        os.replace(dst + ".new", dst)


def wait_log(gw, text, timeout=10):
    deadline = time.time() + timeout
    while text not in gw.text():
        if time.time() > deadline:
            fail("no %r in the log:\n%s" % (text, gw.text()))
        time.sleep(0.1)


def start_fails(tokens, args, want):
    r = subprocess.run([os.path.join(qltest.QL_BIN, "ql-gateway"),
                        "--brokers", "127.0.0.1:1",
                        "--gateway-addr", "127.0.0.1:%d" % procs.free_port(),
                        "--gateway-tokens", tokens, *args],
                       capture_output=True, text=True, timeout=20)
    check(r.returncode != 0 and want in r.stderr,
          "%r: %d %s" % (args, r.returncode, r.stderr))
    return r


def check_push(gw, broker):
    doc = gs.make_doc("LABT", "TLS-1")
    r = gw.push(doc, TOKEN)
    gs.expect_status(r, 202, "push over https")
    check(r.json["accepted"] == ["LABT:TLS-1"], "202 body %r" % r)
    gs.expect_status(gw.push(doc, "wrong"), 401, "https, bad token")

    plain = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
    try:
        plain.request("GET", "/v1/results")
        answer = plain.getresponse()
        ok = answer.status > 0
    except (OSError, http.client.HTTPException):
        ok = False
    plain.close()
    check(not ok, "plain HTTP answered on the TLS port")

    got = gs.topic_records(broker.brokers, expect=1)
    check(list(got) == ["LABT:TLS-1"], "topic: %r" % list(got))
    check(got["LABT:TLS-1"][0] == gs.expected_datum(doc),
          "record over https differs from the post")


def check_reload(gw, live, a, b, c):
    fp_a, fp_b = der_fingerprint(a[0]), der_fingerprint(b[0])
    check(served_fingerprint(gw) == fp_a, "not serving the first cert")
    keep = gw.connection()
    gs.expect_status(gw.push(gs.make_doc("LABT", "TLS-2"), TOKEN, conn=keep),
                     202, "push before the reload")

    install(*b, live)
    gw.signal(signal.SIGHUP)
    wait_log(gw, "reload: tls: new connections get the certificate")
    check(served_fingerprint(gw) == fp_b,
          "a new connection after SIGHUP is not served the new certificate")
    colons = ":".join(fp_b[i:i + 2] for i in range(0, 64, 2)).upper()
    check("SHA-256 %s" % colons in gw.text(),
          "the reload's log line does not name the new fingerprint %s:\n%s"
          % (colons, gw.text()))
    gs.expect_status(gw.push(gs.make_doc("LABT", "TLS-3"), TOKEN, conn=keep),
                     202, "connection from before the reload")
    gs.expect_status(gw.push(gs.make_doc("LABT", "TLS-4"), TOKEN), 202,
                     "new connection after the reload")
    keep.close()

    # a key of another certificate: refused, the running one stays
    install(c[0], b[1], live)
    gw.signal(signal.SIGHUP)
    wait_log(gw, "the running certificate stays")
    check(served_fingerprint(gw) == fp_b,
          "a failed reload changed the certificate served")
    # not PEM at all
    with open(live[0], "w") as f:
        f.write("not a certificate\n")
    gw.signal(signal.SIGHUP)
    deadline = time.time() + 10
    while gw.text().count("the running certificate stays") < 2:
        check(time.time() < deadline, "second failed reload not logged")
        time.sleep(0.1)
    check(served_fingerprint(gw) == fp_b,
          "a garbage certificate file changed the certificate served")
    gs.expect_status(gw.push(gs.make_doc("LABT", "TLS-5"), TOKEN), 202,
                     "push after failed reloads")


def tls12(ciphers=None):
    def make(gw):
        ctx = gw.ssl_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if ciphers:
            ctx.set_ciphers(ciphers)
        return ctx
    return make


def check_default_priorities(gw):
    check(handshake(gw, gw.ssl_context()) == "TLSv1.3",
          "default priorities: no TLS 1.3")
    check(handshake(gw, tls12("ECDHE+AESGCM")(gw)) == "TLSv1.2",
          "default priorities: TLS 1.2 with AES-GCM refused")
    check(handshake(gw, tls12("AES128-SHA:AES256-SHA")(gw)) is None,
          "default priorities: TLS 1.2 with CBC ciphers accepted")


def check_tls13_only(tmp, broker, tokens, cert):
    gw = gs.Gateway(tmp, broker.brokers, tokens, "--tls-priorities",
                    "NORMAL:-VERS-ALL:+VERS-TLS1.3", tls=cert)
    try:
        # the same CBC client is served by NORMAL's TLS 1.2 elsewhere; here
        # nothing but TLS 1.3 is
        check(handshake(gw, tls12("ECDHE+AESGCM")(gw)) is None,
              "TLS 1.3 only: a TLS 1.2 client was served")
        check(handshake(gw, gw.ssl_context()) == "TLSv1.3",
              "TLS 1.3 only: a TLS 1.3 client was refused")
        gs.expect_status(gw.push(gs.make_doc("LABT", "TLS13-1"), TOKEN), 202,
                         "push over TLS 1.3")
    except BaseException:
        print(gw.text(), file=sys.stderr)
        raise
    finally:
        rc = gw.stop()
    check(rc == 0, "exit status %d" % rc)


def check_any_address_with_tls(tmp, tokens, cert):
    maddr = "127.0.0.1:%d" % procs.free_port()
    p = subprocess.Popen([os.path.join(qltest.QL_BIN, "ql-gateway"),
                          "--brokers", "127.0.0.1:1", "--gateway-addr",
                          "0.0.0.0:%d" % procs.free_port(), "--metrics-addr",
                          maddr, "--gateway-tokens", tokens, "--tls-cert",
                          cert[0], "--tls-key", cert[1]],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    deadline = time.time() + 15
    while True:
        if p.poll() is not None:
            fail("TLS on 0.0.0.0 refused: " + p.communicate()[1])
        try:
            c = http.client.HTTPConnection("127.0.0.1", int(maddr.split(":")[1]),
                                           timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        check(time.time() < deadline, "TLS on 0.0.0.0: no /healthz")
        time.sleep(0.1)
    p.terminate()
    p.communicate(timeout=20)


def main():
    tmp = TempDir()
    a, b, c = (make_cert(tmp.path, n) for n in ("first", "second", "third"))
    bundle = os.path.join(tmp.path, "trusted.pem")
    with open(bundle, "w") as out:
        for cert, _ in (a, b, c):
            with open(cert) as f:
                out.write(f.read())
    live = (os.path.join(tmp.path, "live.crt"),
            os.path.join(tmp.path, "live.key"))
    install(*a, live)
    os.chmod(live[1], 0o600)
    tokens = os.path.join(tmp.path, "tokens")
    gs.write_tokens(tokens, [("LABT", TOKEN)])

    start_fails(tokens, ["--tls-cert", a[0], "--tls-key",
                         os.path.join(tmp.path, "nokey")], "tls_key")
    start_fails(tokens, ["--tls-cert", a[0], "--tls-key", b[1]], "tls_key")
    r = start_fails(tokens, ["--tls-cert", a[0], "--tls-key", a[1],
                             "--tls-priorities", "NORMAL:+NO-SUCH-THING"],
                    "tls_priorities")
    check(len(r.stderr.strip().splitlines()) == 1 and
          "NO-SUCH-THING" in r.stderr, "bad priorities: " + r.stderr)
    check_any_address_with_tls(tmp.path, tokens, a)

    with DevBroker() as broker:
        gw = gs.Gateway(tmp.path, broker.brokers, tokens, tls=live,
                        cafile=bundle)
        try:
            check_push(gw, broker)
            check_default_priorities(gw)
            check_reload(gw, live, a, b, c)
        except BaseException:
            print(gw.text(), file=sys.stderr)
            raise
        finally:
            rc = gw.stop()
        check(rc == 0, "exit status %d" % rc)
        check_tls13_only(tmp.path, broker, tokens, a)
    tmp.cleanup()
    ok("https push, certificate reload, priorities")


if __name__ == "__main__":
    main()
