"""ql-spool stopped in the middle of a large file (some of its records
already on the topic, the rest not): by SIGTERM, it exits 0 within its
bound and leaves the file in incoming/; killed with SIGKILL, it leaves the
file in incoming/ too.  Started again, it publishes the file: every record
of the file is on the topic at least once and the file ends in done/.
Nothing half-written is left in done/ or rejected/."""
import os
import signal
import subprocess
import time

from qltest import codec, procs, spool as sl
from qltest.broker import DevBroker, consume_all
from qltest.report import check, ok


COUNT = 6000


def count_on_topic(consumer, seen):
    m = consumer.poll(0.1)
    return seen + 1 if m is not None and not m.error() else seen


def main():
    tmp = procs.TempDir()
    broker = DevBroker()
    try:
        run(tmp.path, broker)
    finally:
        broker.stop()
        tmp.cleanup()
    ok("every check passed")


def run(t, broker):
    from confluent_kafka import Consumer
    spool = os.path.join(t, "spool")
    os.makedirs(os.path.join(spool, "incoming"))
    ref = os.path.join(t, "ref.jsonl")
    args = ("--seed", "4", "--count", str(COUNT))
    sl.simlab(ref, *args)
    want = {d["result_id"] for d in sl.read_jsonl(ref)}
    check(len(want) == COUNT, "distinct result ids")
    sl.simlab(os.path.join(spool, "incoming", "big.csv"), *args, "--format",
              "csv")
    # Slow responses and small batches: the file takes several seconds.
    broker.command("broker rtt -1 100")
    conf = os.path.join(t, "spool.ini")
    with open(conf, "w") as f:
        f.write("[kafka]\nbatch.num.messages = 10\n")

    c = Consumer({"bootstrap.servers": broker.brokers,
                  "group.id": "crash-monitor", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    assigned = []
    c.subscribe(["inspection.results"],
                on_assign=lambda cons, parts: assigned.append(parts))
    deadline = time.time() + 30
    while not assigned and time.time() < deadline:
        c.poll(0.1)
    check(assigned, "the monitor consumer got no partitions")
    log = os.path.join(t, "spool.log")

    def start():
        return subprocess.Popen(sl.spool_cmd("--dir", spool, "--lab", sl.LAB,
                                             "--brokers", broker.brokers,
                                             "-c", conf),
                                stderr=open(log, "a"))

    def run_until(p, target):
        nonlocal seen
        deadline = time.time() + 60
        while seen < target and time.time() < deadline and p.poll() is None:
            seen = count_on_topic(c, seen)
        check(p.poll() is None, "ql-spool ended before it could be stopped")

    def unfinished(when):
        tree = sl.tree(spool)
        check(tree["incoming"] == ["big.csv"] and tree["done"] == [],
              "%s: %s" % (when, tree))
        check([n for n in tree["rejected"] if not n.startswith(".")] == [],
              "%s: %s" % (when, tree))

    # ---- SIGTERM: the rest cannot be acknowledged within the bound ---------
    seen = 0
    broker.command("broker rtt -1 1000")
    p = start()
    run_until(p, COUNT // 20)
    t0 = time.time()
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=30)
    check(rc == 0, "SIGTERM: exit %d" % rc)
    check(time.time() - t0 < 15, "SIGTERM took %.1f s" % (time.time() - t0))
    unfinished("after SIGTERM")
    with open(log) as f:
        check("file big.csv: stopped after" in f.read(),
              "the log says the file was left")

    # ---- SIGKILL ------------------------------------------------------------
    broker.command("broker rtt -1 100")
    killed_from = seen
    p = start()
    run_until(p, seen + COUNT // 10)
    c.close()
    p.send_signal(signal.SIGKILL)
    p.wait()
    unfinished("after SIGKILL")

    broker.command("broker rtt -1 0")
    r = sl.run_spool("--dir", spool, "--lab", sl.LAB, "--once", "--brokers",
                     broker.brokers)
    check(r.returncode == 0, "restart: exit %d: %s" % (r.returncode, r.stderr))
    tree = sl.tree(spool)
    check(tree == {"incoming": [], "done": ["big.csv"], "rejected": []},
          "after the restart: %s" % tree)
    msgs = consume_all(broker.brokers, "inspection.results", timeout=120)
    known = codec.schemas_by_fingerprint()
    got = set()
    for _, v, _ in msgs:
        got.add(codec.decode_single_object(v, known)["result_id"])
    missing = want - got
    check(not missing, "%d records never reached the topic, e.g. %s" %
          (len(missing), sorted(missing)[:3]))
    check(got == want, "records that are not in the file: %s" %
          sorted(got - want)[:3])
    check(len(msgs) >= COUNT, "%d messages for %d records" % (len(msgs),
                                                              COUNT))
    print("stopped after %d records, killed after %d more; %d messages in "
          "all" % (killed_from, seen - killed_from, len(msgs)))


if __name__ == "__main__":
    main()
