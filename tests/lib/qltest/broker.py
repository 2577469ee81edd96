"""Kafka for the tests: the real ql-devbroker (librdkafka's mock cluster
behind our fault-control stdin) and confluent_kafka clients to produce to
it and read from it."""
import logging
import os
import subprocess
import time

from qltest import binary

TOPIC = "inspection.results"
DLQ = "inspection.results.dlq"


class DevBroker:
    """A ql-devbroker child process; .brokers is its bootstrap list.  Its
    stderr goes to log_path if given (the fault suite keeps its table
    readable that way), else to ours."""

    def __init__(self, *args, log_path=None):
        self.log = open(log_path, "ab") if log_path else None
        self.proc = subprocess.Popen(
            [binary("ql-devbroker"), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            text=True)
        self.brokers = self.proc.stdout.readline().strip()
        if not self.brokers:
            self.stop()
            raise RuntimeError("ql-devbroker printed no bootstrap list")

    def command(self, line, check=True):
        """Send one fault-control command to the broker's stdin and wait
        until it is in force.  Returns the answer ("ok" or "error: ...");
        with check, an error answer raises RuntimeError."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        if not line.strip() or line.lstrip().startswith("#"):
            return None  # blank lines and comments get no answer
        while True:
            reply = self.proc.stdout.readline()
            if not reply:
                raise RuntimeError("ql-devbroker exited during: " + line)
            reply = reply.rstrip("\n")
            if reply == "ok" or reply.startswith("error: "):
                break
        if check and reply != "ok":
            raise RuntimeError("ql-devbroker: %s: %s" % (line, reply))
        return reply

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc.stdin.close()
        self.proc.stdout.close()
        if self.log:
            self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def consume_all(brokers, topic, expect=None, timeout=20.0):
    """Read a topic from the beginning with confluent_kafka until `expect`
    messages arrived or nothing new came for 3 s (or timeout).  Returns a
    list of (key bytes, value bytes, headers)."""
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": brokers,
                  "group.id": "qltest-%d-%d" % (os.getpid(), time.time_ns()),
                  "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    out, deadline, last = [], time.time() + timeout, time.time()
    try:
        while time.time() < deadline:
            if expect is not None and len(out) >= expect:
                break
            if expect is None and out and time.time() - last > 3:
                break
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            out.append((m.key(), m.value(), m.headers()))
            last = time.time()
    finally:
        c.close()
    return out


def produce(brokers, messages, topic=TOPIC, partition=None):
    """Produce [(key bytes, value bytes)] idempotently (onto one partition
    when given, else by key); all acknowledged, or RuntimeError."""
    from confluent_kafka import Producer
    quiet = logging.getLogger("qltest.producer")  # retries are expected
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    p = Producer({"bootstrap.servers": brokers, "enable.idempotence": True,
                  "linger.ms": 5}, logger=quiet)
    failed = []

    def report(err, msg):
        if err:
            failed.append(err)
    for key, value in messages:
        while True:
            try:
                if partition is None:
                    p.produce(topic, value=value, key=key, on_delivery=report)
                else:
                    p.produce(topic, value=value, key=key, partition=partition,
                              on_delivery=report)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(30)
    if left or failed:
        raise RuntimeError("produce: %d left, failures %s" % (left, failed[:3]))


def high_watermarks(brokers, topic=TOPIC, partitions=6):
    """{partition: high watermark} of topic."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": brokers, "group.id": "qltest-wm"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)}
    finally:
        c.close()
