"""ql-gateway when Kafka fails, and at shutdown.

Every broker of the dev broker taken down (its `broker down -1` command):
a push is answered 503 within --ack-timeout-ms, with a body saying the
request may be retried as it is, and /readyz turns 503; brokers back up
(`broker up -1`): the very same request is answered 202 and /readyz 200.
The records are then on the topic (the 503'd attempt may have been
delivered too, later: duplicates are allowed, losses are not).  Kafka
refusing the records (`error Produce TOPIC_AUTHORIZATION_FAILED`): 503 whose
body says what the lab can do and carries the request id, but no word of
librdkafka's (those are in the log, under that id).  Then SIGTERM while a
request waits for slow acknowledgements (`broker rtt`): that request is
still answered 202, new connections are refused, and the gateway exits 0.
"""
import os
import signal
import socket
import sys
import threading
import time

from qltest import gateway as gs
from qltest.broker import DevBroker
from qltest.procs import TempDir
from qltest.report import check, fail, ok


TOKEN = "fault-lab-Jd81mQ2x"
ACK_MS = 2000


def wait_ready(gw, status, timeout=20):
    deadline = time.time() + timeout
    while True:
        r = gw.ops("/readyz")
        if r.status == status:
            return r
        if time.time() > deadline:
            fail("/readyz stayed %r, expected %d" % (r, status))
        time.sleep(0.3)


def command(broker, line):
    broker.command(line)
    time.sleep(0.3)


def check_broker_outage(gw, broker, published):
    first = gs.make_doc("LAB9", "F-0001")
    gs.expect_status(gw.push(first, TOKEN), 202, "before the outage")
    published[first["result_id"]] = first
    wait_ready(gw, 200)

    command(broker, "broker down -1")
    doc = gs.make_doc("LAB9", "F-0002")
    batch = [doc, gs.make_doc("LAB9", "F-0003")]
    t0 = time.time()
    r = gw.push(batch, TOKEN)
    took = time.time() - t0
    gs.expect_status(r, 503, "every broker down")
    check(ACK_MS / 1000 - 0.2 <= took <= ACK_MS / 1000 + 1.5,
          "503 after %.2f s, ack timeout %d ms" % (took, ACK_MS))
    check("retried" in r.json["message"] and r.json.get("retry") is True,
          "503 does not say the request may be retried: %r" % r)
    check(r.headers.get("Retry-After"), "503 without Retry-After")
    r = wait_ready(gw, 503)
    check("Kafka" in r.raw.decode(), "/readyz 503 without a reason: %r" % r)

    command(broker, "broker up -1")
    deadline = time.time() + 40
    attempts = 0
    while True:
        attempts += 1
        r = gw.push(batch, TOKEN)
        if r.status == 202:
            break
        gs.expect_status(r, 503, "retry while Kafka recovers")
        if time.time() > deadline:
            fail("the same request never got its 202:\n" + gw.text())
        time.sleep(1)
    check(r.json["accepted"] == [d["result_id"] for d in batch],
          "accepted after recovery: %r" % r)
    published.update((d["result_id"], d) for d in batch)
    wait_ready(gw, 200)
    print("recovered after %d attempt(s)" % attempts)


# librdkafka's and the broker's words for the refusal below, and the
# gateway's own (former) wording around them: none may reach a lab.
INTERNALS = ["Broker:", "Local:", "authori", "TOPIC_AUTHORIZATION",
             "librdkafka", "rd_kafka", "Kafka refused", "codec", "avro"]


def check_error_body(gw, broker, published):
    """Kafka refuses the records: the 503 tells the lab what to do and
    nothing of Kafka's; the log has the reason with the request id."""
    command(broker, "error Produce TOPIC_AUTHORIZATION_FAILED 3")
    doc = gs.make_doc("LAB9", "F-REFUSED")
    r = gw.push(doc, TOKEN)
    command(broker, "clear Produce")
    gs.expect_status(r, 503, "Kafka refuses the records")
    text = r.raw.decode()
    leaked = [w for w in INTERNALS if w.lower() in text.lower()]
    check(not leaked, "503 body shows internals %s: %s" % (leaked, text))
    for words in ("retry", "nothing of this request was accepted"):
        check(words in r.json["message"],
              "503 message lacks %r: %s" % (words, text))
    rid = r.json.get("request_id")
    check(rid and r.headers.get("X-Request-Id") == rid,
          "503 without its request id: %r %r" % (r, dict(r.headers)))
    deadline = time.time() + 5
    while True:
        line = [l for l in gw.text().splitlines() if "rid=%s" % rid in l]
        if line:
            break
        check(time.time() < deadline, "no log line with rid=%s" % rid)
        time.sleep(0.1)
    check("authorization" in line[0].lower(),
          "the log line of %s lacks Kafka's reason: %s" % (rid, line[0]))
    # the same request again, Kafka willing: 202 (any earlier attempt that
    # got through after all is a duplicate, removed downstream)
    deadline = time.time() + 30
    while True:
        r = gw.push(doc, TOKEN)
        if r.status == 202:
            break
        gs.expect_status(r, 503, "retry after the refusal")
        check(time.time() < deadline, "no 202 after the refusal")
        time.sleep(0.5)
    published[doc["result_id"]] = doc


def check_topic(brokers, published):
    got = gs.topic_records(brokers, expect=None, timeout=30)
    for rid, doc in published.items():
        check(rid in got, "%s was answered 202 but is not on the topic" % rid)
        want = gs.expected_datum(doc)
        check(all(rec == want for rec in got[rid]),
              "%s on the topic differs from the post" % rid)
    extra = set(got) - set(published)
    check(not extra, "records nobody accepted: %s" % sorted(extra))


def check_drain(gw, broker, published):
    """SIGTERM during a slow publish: the request in flight still gets its
    202, then the gateway exits 0."""
    command(broker, "broker rtt -1 400")
    doc = gs.make_doc("LAB9", "F-DRAIN")
    result = {}

    def push():
        try:
            result["r"] = gw.push(doc, TOKEN)
        except Exception as e:  # reported below
            result["e"] = e

    t = threading.Thread(target=push)
    t.start()
    deadline = time.time() + 5
    while gw.metric("ql_gateway_requests_publishing") < 1:
        check(time.time() < deadline, "request never reached publishing")
        time.sleep(0.05)
    gw.signal(signal.SIGTERM)
    time.sleep(0.3)
    refused = False
    try:
        socket.create_connection(("127.0.0.1", gw.port), timeout=2).close()
    except OSError:
        refused = True
    check(refused, "new connections accepted while draining")
    t.join(30)
    check("e" not in result, "push during drain failed: %r" % result.get("e"))
    gs.expect_status(result["r"], 202, "request in flight at SIGTERM")
    published[doc["result_id"]] = doc
    rc = gw.stop(timeout=ACK_MS / 1000 + 15)
    check(rc == 0, "exit status %d after SIGTERM" % rc)
    command(broker, "broker rtt -1 0")


def main():
    tmp = TempDir()
    with DevBroker() as broker:
        tokens = os.path.join(tmp.path, "tokens")
        gs.write_tokens(tokens, [("LAB9", TOKEN)])
        conf = os.path.join(tmp.path, "gateway.ini")
        with open(conf, "w") as f:
            f.write("[kafka]\nreconnect.backoff.ms = 100\n"
                    "reconnect.backoff.max.ms = 500\n")
        gw = gs.Gateway(tmp.path, broker.brokers, tokens, "-c", conf,
                        "--ack-timeout-ms", str(ACK_MS),
                        "--kafka-timeout-ms", "60000")
        published = {}
        try:
            check_broker_outage(gw, broker, published)
            check_error_body(gw, broker, published)
            check_drain(gw, broker, published)
            check_topic(broker.brokers, published)
        except BaseException:
            print(gw.text(), file=sys.stderr)
            raise
        finally:
            gw.stop()
        check(TOKEN not in gw.text(), "the token reached the log")
    tmp.cleanup()
    ok("503 on outage, 202 on retry, drain on SIGTERM")


if __name__ == "__main__":
    main()
