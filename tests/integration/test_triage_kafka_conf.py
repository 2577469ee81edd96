"""ql-triage's consumer defaults give way to what the operator writes in
[kafka]: its bound on a fetch answer (fetch.max.bytes, 512 KB) follows a
message.max.bytes raised above it (librdkafka refuses a fetch.max.bytes
below message.max.bytes, and the [kafka] section is shared with the
dead-letter producer), and a fetch.max.bytes the operator sets is taken as
it is, larger or smaller than librdkafka's default message.max.bytes
(1,000,000).  Each run stores the records it is given.
"""
import os

from qltest import broker, pg, triage as T
from qltest.report import fail, ok


def run(env, name, kafka, docs):
    path = os.path.join(env.tmp.path, name + ".ini")
    with open(path, "w") as f:
        f.write("[kafka]\nsession.timeout.ms = 6000\nheartbeat.interval.ms = 500\n" + kafka)
    broker.produce(env.brokers, [(d["enterprise"]["credit_code"].encode(), T.encode(d))
                                 for d in docs])
    t = env.triage("-c", path, "--idle-exit", "2", name=name)
    if t.wait(90) != 0:
        fail("%s: ql-triage exited %s:\n%s" % (name, t.proc.returncode, t.text()))
    return t


def main():
    with T.Env("ql_test_triage_kafka_conf") as env:
        docs = [T.make_doc(i) for i in range(40)]
        run(env, "raised", "message.max.bytes = 2000000\n", docs[:20])
        if pg.count() != 20:
            fail("message.max.bytes 2,000,000: %d rows stored, want 20" % pg.count())
        run(env, "own", "fetch.max.bytes = 3000000\n", docs[20:])
        if pg.count() != 40:
            fail("fetch.max.bytes 3,000,000: %d rows stored, want 40" % pg.count())
        more = [T.make_doc(i) for i in range(40, 60)]
        run(env, "small", "fetch.max.bytes = 300000\n", more)
        if pg.count() != 60:
            fail("fetch.max.bytes 300,000: %d rows stored, want 60" % pg.count())
    ok("[kafka] message.max.bytes and fetch.max.bytes are honoured")


if __name__ == "__main__":
    main()
