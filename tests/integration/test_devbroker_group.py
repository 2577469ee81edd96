"""ql-devbroker serving real clients from other processes (confluent_kafka,
librdkafka underneath): an idempotent producer with acks=all, a consumer
group that commits and is resumed by a second member, a rebalance between
two live members, and faults injected through the control commands -- a
broker down and up again, produce requests failing with
NOT_LEADER_FOR_PARTITION -- after which every message is still delivered and
consumed exactly once.

librdkafka 2.0.2's mock group coordinator waits 3 s before a new group's
first assignment and session.timeout.ms - 1 s for the members whenever the
group changes, so the consumers here use a short session timeout.
"""
import collections
import json
import time

from confluent_kafka import (Consumer, KafkaError, KafkaException,
                             Producer, TopicPartition)

from qltest.broker import DevBroker
from qltest.report import check, ok

PARTITIONS = 4


def producer(brokers, **extra):
    conf = {"bootstrap.servers": brokers,
            "enable.idempotence": True, "acks": "all",
            "partitioner": "murmur2_random",
            "reconnect.backoff.max.ms": 500,
            "message.timeout.ms": 30000}
    conf.update(extra)
    return Producer(conf)


def consumer(brokers, group, **extra):
    conf = {"bootstrap.servers": brokers, "group.id": group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "session.timeout.ms": 3000, "heartbeat.interval.ms": 250}
    conf.update(extra)
    return Consumer(conf)


class Deliveries:
    """Delivery reports by message value."""

    def __init__(self):
        self.ok = {}      # value -> (partition, offset)
        self.failed = {}  # value -> KafkaError

    def __call__(self, err, msg):
        if err:
            self.failed[msg.value()] = err
        else:
            self.ok[msg.value()] = (msg.partition(), msg.offset())

    def check_all(self, values, what):
        check(not self.failed, "%s: delivery failed: %s"
              % (what, sorted(set(str(e) for e in self.failed.values()))))
        check(set(self.ok) == set(values), "%s: %d of %d acknowledged"
              % (what, len(set(self.ok) & set(values)), len(values)))
        # Exactly once in the log: per partition the offsets are 0..n-1.
        offsets = collections.defaultdict(list)
        for p, o in self.ok.values():
            offsets[p].append(o)
        for p, os_ in offsets.items():
            check(sorted(os_) == list(range(len(os_))),
                  "%s: partition %d offsets not 0..%d" % (what, p, len(os_)))


def produce(p, topic, values, partition=None, key=None):
    d = Deliveries()
    for i, v in enumerate(values):
        args = {"key": key(i) if key else b"enterprise-%02d" % (i % 40),
                "value": v, "on_delivery": d}
        if partition is not None:
            args["partition"] = partition(i)
        p.produce(topic, **args)
    return d


def poll_until(consumers, done, timeout, sink):
    """Poll every consumer in turn until done() or timeout; messages go to
    sink(consumer, msg)."""
    deadline = time.time() + timeout
    while time.time() < deadline and not done():
        for c in consumers:
            m = c.poll(0.05)
            if m is None:
                continue
            if m.error():
                check(m.error().code() == KafkaError._PARTITION_EOF,
                      "consumer error: %s" % m.error())
                continue
            sink(c, m)
    return done()


def read_log(brokers, topic):
    """Every message value in the topic, read from the partitions directly
    (no group, so no join delay) up to their ends."""
    c = Consumer({"bootstrap.servers": brokers, "group.id": "read-log",
                  "enable.partition.eof": True, "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    values, at_end, deadline = [], set(), time.time() + 15
    while len(at_end) < PARTITIONS and time.time() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            check(m.error().code() == KafkaError._PARTITION_EOF,
                  "read_log: %s" % m.error())
            at_end.add(m.partition())
        else:
            values.append(m.value())
    c.close()
    check(len(at_end) == PARTITIONS, "read_log: %s not read to the end" % topic)
    return values


def all_partitions(topic):
    return [TopicPartition(topic, p) for p in range(PARTITIONS)]


def test_commit_and_resume(brokers):
    """Member A consumes part of the topic and commits; member B of the same
    group resumes exactly at the committed offsets."""
    topic, group, n = "t.resume", "g.resume", 400
    values = [b"result-%04d" % i for i in range(n)]
    p = producer(brokers)
    d = produce(p, topic, values)
    check(p.flush(20) == 0, "resume: produce did not finish")
    d.check_all(values, "resume")
    check(len({part for part, _ in d.ok.values()}) == PARTITIONS,
          "resume: keys did not spread over all partitions")

    a = consumer(brokers, group)
    a.subscribe([topic])
    got_a, last = [], {}

    def sink_a(_c, m):
        got_a.append(m.value())
        last[m.partition()] = m.offset()
    check(poll_until([a], lambda: len(got_a) >= 150, 15, sink_a),
          "resume: member A got %d of 150 messages" % len(got_a))
    committed = a.commit(asynchronous=False)
    want = {p: o + 1 for p, o in last.items()}
    check({tp.partition: tp.offset for tp in committed
           if tp.partition in want} == want,
          "resume: commit() returned %s, expected %s" % (committed, want))
    stored = a.committed(all_partitions(topic), timeout=10)
    check({tp.partition: tp.offset for tp in stored if tp.offset >= 0}
          == want, "resume: committed() read %s, expected %s"
          % (stored, want))
    a.close()

    b = consumer(brokers, group)
    b.subscribe([topic])
    got_b, first = [], {}

    def sink_b(_c, m):
        got_b.append(m.value())
        first.setdefault(m.partition(), m.offset())
    poll_until([b], lambda: len(got_a) + len(got_b) >= n, 20, sink_b)
    poll_until([b], lambda: False, 1.0, sink_b)  # anything repeated?
    counts = collections.Counter(got_a + got_b)
    check(set(counts) == set(values),
          "resume: %d of %d messages consumed" % (len(counts), n))
    repeated = [v for v, c in counts.items() if c > 1]
    check(not repeated, "resume: %d messages consumed twice, e.g. %s"
          % (len(repeated), repeated[:3]))
    for part, off in first.items():
        check(off == want.get(part, 0), "resume: B started partition %d at "
              "%d, committed %s" % (part, off, want.get(part)))
    b.commit(asynchronous=False)
    ends = {tp.partition: b.get_watermark_offsets(tp, timeout=10)[1]
            for tp in all_partitions(topic)}
    stored = b.committed(all_partitions(topic), timeout=10)
    check({tp.partition: tp.offset for tp in stored} == ends,
          "resume: final commits %s, high watermarks %s" % (stored, ends))
    b.close()


def test_rebalance(brokers):
    """A second live member joins: the partitions are split between the two,
    nothing consumed and committed before is consumed again, and what is
    produced afterwards is consumed once, by both members together."""
    topic, group = "t.rebalance", "g.rebalance"
    first = [b"first-%04d" % i for i in range(200)]
    later = [b"later-%04d" % i for i in range(200)]
    p = producer(brokers)
    d = produce(p, topic, first)
    check(p.flush(20) == 0, "rebalance: produce did not finish")
    d.check_all(first, "rebalance")

    revoked = []
    c1 = consumer(brokers, group)
    c1.subscribe([topic], on_revoke=lambda c, parts: revoked.append(parts))
    c2 = consumer(brokers, group)
    got = {c1: [], c2: []}
    uncommitted = set()  # consumed, but the commit was refused

    def sink(c, m):
        got[c].append(m.value())
        try:
            c.commit(message=m, asynchronous=False)
        except KafkaException:
            uncommitted.add(m.value())
    check(poll_until([c1], lambda: len(got[c1]) >= len(first), 15, sink),
          "rebalance: first member got %d of %d" % (len(got[c1]), len(first)))
    check(len(c1.assignment()) == PARTITIONS,
          "rebalance: a lone member holds %d partitions" % len(c1.assignment()))

    c2.subscribe([topic])
    check(poll_until([c1, c2], lambda: c1.assignment() and c2.assignment(),
                     20, sink), "rebalance: the second member got nothing")
    check(revoked, "rebalance: the first member was never revoked")
    a1 = {tp.partition for tp in c1.assignment()}
    a2 = {tp.partition for tp in c2.assignment()}
    check(not a1 & a2 and a1 | a2 == set(range(PARTITIONS)),
          "rebalance: assignments %s and %s" % (sorted(a1), sorted(a2)))

    d_later = produce(p, topic, later)
    check(p.flush(20) == 0, "rebalance: second produce did not finish")
    d_later.ok.update(d.ok)
    d_later.check_all(first + later, "rebalance")
    total = len(first) + len(later)
    poll_until([c1, c2], lambda: len(set(got[c1] + got[c2])) >= total, 20,
               sink)
    poll_until([c1, c2], lambda: False, 1.0, sink)  # anything repeated?
    counts = collections.Counter(got[c1] + got[c2])
    check(set(counts) == set(first + later),
          "rebalance: %d of %d messages consumed" % (len(counts), total))
    repeated = {v for v, c in counts.items() if c > 1}
    check(repeated <= uncommitted and max(counts.values()) <= 2,
          "rebalance: consumed again although committed: %s"
          % sorted(repeated - uncommitted)[:5])
    for c, name in ((c1, "first"), (c2, "second")):
        check(any(v.startswith(b"later-") for v in got[c]),
              "rebalance: the %s member consumed nothing after the split"
              % name)
    c1.close()
    c2.close()


def test_broker_down(broker):
    """With broker 1 down, messages for the partition it leads wait (the
    mock moves no leaders) while the others are acknowledged; once it is up
    again every message is acknowledged and consumed exactly once."""
    topic = "t.down"
    for part in range(PARTITIONS):
        broker.command("leader %s %d %d" % (topic, part, 1 if part == 0 else 2))
    p = producer(broker.brokers)
    warm = produce(p, topic, [b"warm-%d" % i for i in range(PARTITIONS)],
                   partition=lambda i: i)  # connections and producer id
    check(p.flush(20) == 0, "down: warm-up produce did not finish")

    broker.command("broker down 1")
    values = [b"down-%03d" % i for i in range(100)]
    d = produce(p, topic, values, partition=lambda i: i % PARTITIONS)
    deadline = time.time() + 10
    waiting_for = {v for i, v in enumerate(values) if i % PARTITIONS != 0}
    while time.time() < deadline and not waiting_for <= set(d.ok):
        p.poll(0.1)
    check(waiting_for <= set(d.ok),
          "down: partitions of live brokers not acknowledged")
    p.poll(1.0)
    held = [v for i, v in enumerate(values) if i % PARTITIONS == 0]
    check(not set(held) & set(d.ok) and not d.failed,
          "down: partition 0 acknowledged or failed while its leader was "
          "down (%d ok, %d failed)" % (len(set(held) & set(d.ok)),
                                       len(d.failed)))

    broker.command("broker up 1")
    check(p.flush(20) == 0, "down: %d messages never acknowledged after "
          "broker up" % (len(values) - len(d.ok)))
    d.ok.update(warm.ok)
    d.check_all(values + list(warm.ok), "down")
    log = read_log(broker.brokers, topic)
    counts = collections.Counter(log)
    check(set(counts) == set(d.ok) and max(counts.values()) == 1,
          "down: the log holds %d messages (%d distinct), produced %d"
          % (len(log), len(counts), len(d.ok)))


class ProduceRequests:
    """Counts the Produce requests a producer sent, from its statistics."""

    def __init__(self):
        self.stats = []

    def __call__(self, text):
        self.stats.append(json.loads(text))

    def count(self, p):
        """The total so far.  The first statistics served after this call
        may have been queued before it: the second were taken after it."""
        self.stats, deadline = [], time.time() + 5
        while len(self.stats) < 2 and time.time() < deadline:
            p.poll(0.05)
        check(len(self.stats) >= 2, "errors: no producer statistics")
        return sum(b["req"].get("Produce", 0)
                   for b in self.stats[-1]["brokers"].values())


def test_produce_errors(broker):
    """Produce requests failing: the errors reach the client
    (NOT_LEADER_FOR_PARTITION costs a retry, a fatal error fails the
    message), and the idempotent producer rides out NOT_LEADER_FOR_PARTITION
    and still writes every message exactly once."""
    topic = "t.errors"
    reqs = ProduceRequests()
    plain = producer(broker.brokers, **{"enable.idempotence": False,
                                        "message.send.max.retries": 0,
                                        "statistics.interval.ms": 50,
                                        "stats_cb": reqs})

    def one(value):
        """Produce one message with the plain producer: (deliveries,
        Produce requests it took)."""
        before = reqs.count(plain)
        d = produce(plain, topic, [value])
        plain.flush(20)
        return d, reqs.count(plain) - before

    d, n = one(b"warm")
    check(d.ok and n == 1, "errors: warm-up: %s, %d requests" % (d.ok, n))

    broker.command("error Produce NOT_LEADER_FOR_PARTITION 1")
    d, n = one(b"retried")
    check(d.ok and not d.failed and n == 2,
          "errors: NOT_LEADER_FOR_PARTITION once: %s %s after %d requests"
          % (d.ok, d.failed, n))

    broker.command("error Produce NOT_LEADER_FOR_PARTITION 2")
    p = producer(broker.brokers)
    values = [b"idem-%03d" % i for i in range(200)]
    d = produce(p, topic, values)
    check(p.flush(20) == 0, "errors: idempotent produce did not finish")
    check(not d.failed and set(d.ok) == set(values),
          "errors: idempotent producer: %d ok, %d failed"
          % (len(d.ok), len(d.failed)))

    # Both errors went to the idempotent producer's requests: the next
    # message takes one request.
    d, n = one(b"after")
    check(d.ok and n == 1, "errors: errors left over after the idempotent "
          "producer: %s, %d requests" % (d.failed, n))

    # Last, as librdkafka then refuses the topic locally: a fatal error
    # fails the message.
    broker.command("error Produce TOPIC_AUTHORIZATION_FAILED 1")
    d, n = one(b"refused")
    check([e.code() for e in d.failed.values()]
          == [KafkaError.TOPIC_AUTHORIZATION_FAILED],
          "errors: a pushed fatal error did not fail the message: %s %s"
          % (d.ok, d.failed))

    log = read_log(broker.brokers, topic)
    counts = collections.Counter(log)
    check(all(counts[v] == 1 for v in values) and
          len(log) == len(values) + 3,
          "errors: the log holds %d messages, %d distinct; produced %d (+3)"
          % (len(log), len(counts), len(values)))
    check(b"refused" not in counts, "errors: the refused message was written")


def main():
    t0 = time.time()
    topics = ["t.resume", "t.rebalance", "t.down", "t.errors"]
    args = ["--brokers", "3", "--partitions", str(PARTITIONS)]
    for t in topics:
        args += ["--topic", t]
    with DevBroker(*args) as broker:
        for test in (test_commit_and_resume, test_rebalance):
            test(broker.brokers)
            ok("%s (%.1f s)" % (test.__name__, time.time() - t0))
        for test in (test_broker_down, test_produce_errors):
            test(broker)
            ok("%s (%.1f s)" % (test.__name__, time.time() - t0))


if __name__ == "__main__":
    main()
