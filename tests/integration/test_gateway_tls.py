"""ql-gateway over HTTPS with a self-signed certificate made by openssl here.

A push over https (the client verifying the certificate) is answered 202 and
its record is on the topic, equal to the post; plain HTTP to the TLS port
gets no HTTP answer; an unreadable key stops the gateway at start.
"""
import http.client
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_gateway_support as gs  # noqa: E402
from test_gateway_support import expect, expect_status  # noqa: E402

qltest = gs.qltest
TOKEN = "tls-lab-Wm4c8Pq1"


def make_cert(tmp):
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def main():
    tmp = qltest.TempDir()
    cert, key = make_cert(tmp.path)
    with qltest.DevBroker() as broker:
        tokens = os.path.join(tmp.path, "tokens")
        gs.write_tokens(tokens, [("LABT", TOKEN)])

        r = subprocess.run([os.path.join(qltest.QL_BIN, "ql-gateway"),
                            "--brokers", broker.brokers,
                            "--gateway-addr", "127.0.0.1:%d" % gs.free_port(),
                            "--gateway-tokens", tokens, "--tls-cert", cert,
                            "--tls-key", os.path.join(tmp.path, "nokey")],
                           capture_output=True, text=True, timeout=20)
        expect(r.returncode != 0 and "tls_key" in r.stderr,
               "missing key: %d %s" % (r.returncode, r.stderr))

        gw = gs.Gateway(tmp.path, broker.brokers, tokens, tls=(cert, key))
        try:
            doc = gs.make_doc("LABT", "TLS-1")
            r = gw.push(doc, TOKEN)
            expect_status(r, 202, "push over https")
            expect(r.json["accepted"] == ["LABT:TLS-1"], "202 body %r" % r)
            expect_status(gw.push(doc, "wrong"), 401, "https, bad token")

            plain = http.client.HTTPConnection("127.0.0.1", gw.port,
                                               timeout=5)
            try:
                plain.request("GET", "/healthz")
                answer = plain.getresponse()
                ok = answer.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
            plain.close()
            expect(not ok, "plain HTTP answered on the TLS port")

            got = gs.topic_records(broker.brokers, expect=1)
            expect(list(got) == ["LABT:TLS-1"], "topic: %r" % list(got))
            expect(got["LABT:TLS-1"][0] == gs.expected_datum(doc),
                   "record over https differs from the post")
        except BaseException:
            print(gw.logs(), file=sys.stderr)
            raise
        finally:
            rc = gw.stop()
        expect(rc == 0, "exit status %d" % rc)
    tmp.cleanup()
    print("ok: https push")


if __name__ == "__main__":
    main()
