"""ql-board over HTTPS (QL_BOARD_TLS_CERT / QL_BOARD_TLS_KEY): the sign-in
works, the session cookie is marked Secure, and a certificate without its
key stops the program at start with one line naming the setting.
"""
import http.client
import os
import ssl
import subprocess
import urllib.parse

import qltest
from qltest import board as B, procs
from qltest.report import check, ok


def main():
    with B.World("ql_test_board_tls") as w:
        w.officer("huli_wang", "huli-secret-1", "350206")
        cert = os.path.join(w.tmp, "board.crt")
        key = os.path.join(w.tmp, "board.key")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                            "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                           capture_output=True, text=True)
        check(r.returncode == 0, "openssl: " + r.stderr)

        # Half a TLS configuration: refused at start, naming the key.
        bad = subprocess.run([os.path.join(qltest.QL_BIN, "ql-board"), "--board-tls-cert", cert,
                              "--board-addr", "127.0.0.1:%d" % procs.free_port()],
                             capture_output=True, text=True, timeout=30)
        check(bad.returncode != 0 and "board_tls_key" in bad.stderr,
              "a certificate without a key: %d %s" % (bad.returncode, bad.stderr))

        board = w.board("tls", QL_BOARD_TLS_CERT=cert, QL_BOARD_TLS_KEY=key)
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False
        c = http.client.HTTPSConnection("127.0.0.1", board.port, context=ctx, timeout=30)
        c.request("POST", "/login", body=urllib.parse.urlencode(
            {"login": "huli_wang", "password": "huli-secret-1"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        r.read()
        cookie = r.getheader("Set-Cookie") or ""
        check(r.status == 303, "HTTPS sign-in: %d" % r.status)
        for flag in ("Secure", "HttpOnly", "SameSite=Strict"):
            check(flag in cookie, "cookie under TLS without %s: %s" % (flag, cookie))
        c.request("GET", "/", headers={"Cookie": cookie.split(";")[0]})
        r = c.getresponse()
        body = r.read().decode()
        check(r.status == 200 and "案件看板" in body, "board over HTTPS: %d" % r.status)
        c.close()
        # Plain HTTP to the TLS port gets no page.
        try:
            p = http.client.HTTPConnection("127.0.0.1", board.port, timeout=10)
            p.request("GET", "/login")
            st = p.getresponse().status
        except (http.client.HTTPException, OSError):
            st = None
        check(st != 200, "plain HTTP answered 200 on the TLS port")
    ok("HTTPS with a Secure cookie")


if __name__ == "__main__":
    main()
