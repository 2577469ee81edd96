"""Kafka goes away during ql-spool --once: the dev broker is killed while
the file's records are in flight (its responses are slowed so the kill
lands mid-file).  ql-spool exits 1 after --kafka-timeout-ms with the file
still in incoming/ and nothing in done/ or rejected/.  The same happens with
no broker at all.  With a broker back, the next run publishes every record
once and moves the file to done/.  As a daemon, ql-spool retries such a file
with a growing back-off (counted on /metrics) until the brokers accept
connections again, then publishes it."""
import os
import signal
import socket
import subprocess
import time
import urllib.request

from qltest import procs, spool as sl
from qltest.broker import DevBroker
from qltest.report import check, ok


COUNT = 400


def main():
    tmp = procs.TempDir()
    try:
        run(tmp.path)
    finally:
        tmp.cleanup()
    ok("every check passed")


def run(t):
    spool = os.path.join(t, "spool")
    os.makedirs(os.path.join(spool, "incoming"))
    path = os.path.join(spool, "incoming", "export.csv")
    sl.simlab(path, "--seed", "9", "--count", str(COUNT), "--format", "csv")
    untouched = {"incoming": ["export.csv"], "done": [], "rejected": []}

    # ---- killed mid-file ---------------------------------------------------
    broker = DevBroker()
    try:
        broker.command("broker rtt -1 2000")
        time.sleep(0.3)
        p = subprocess.Popen(sl.spool_cmd("--dir", spool, "--lab", sl.LAB,
                                          "--once", "--brokers",
                                          broker.brokers,
                                          "--kafka-timeout-ms", "4000"),
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        check(p.poll() is None, "ql-spool finished before the broker died")
        broker.proc.kill()
        broker.proc.wait()
        start = time.time()
        _, err = p.communicate(timeout=60)
    finally:
        broker.stop()
    check(p.returncode == 1, "exit %d with the broker killed, want 1: %s" %
          (p.returncode, err))
    check(time.time() - start < 20, "gave up only after %.1f s" %
          (time.time() - start))
    check(sl.tree(spool) == untouched, "after the fault: %s" % sl.tree(spool))
    check("left in incoming/" in err, "the log says where the file is: " + err)

    # ---- no broker at all ----------------------------------------------------
    r = sl.run_spool("--dir", spool, "--lab", sl.LAB, "--once", "--brokers",
                     broker.brokers, "--kafka-timeout-ms", "1500")
    check(r.returncode == 1, "exit %d with no broker, want 1" % r.returncode)
    check(sl.tree(spool) == untouched, "after no broker: %s" % sl.tree(spool))

    # ---- broker back ---------------------------------------------------------
    with DevBroker() as b2:
        r = sl.run_spool("--dir", spool, "--lab", sl.LAB, "--once",
                         "--brokers", b2.brokers)
        check(r.returncode == 0, "exit %d with the broker back: %s" %
              (r.returncode, r.stderr))
        check(sl.tree(spool) == {"incoming": [], "done": ["export.csv"],
                                 "rejected": []},
              "after the retry: %s" % sl.tree(spool))
        recs = sl.topic_records(b2.brokers, "inspection.results",
                                expect=COUNT)
        ids = [rec["result_id"] for _, rec in recs]
        check(len(ids) == COUNT and len(set(ids)) == COUNT,
              "%d records (%d distinct), want %d" %
              (len(ids), len(set(ids)), COUNT))

    # ---- daemon: retried with back-off until the brokers are back -----------
    os.rename(os.path.join(spool, "done", "export.csv"), path)
    with DevBroker() as b3:
        b3.command("broker down -1")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        addr = "127.0.0.1:%d" % s.getsockname()[1]
        s.close()
        log = os.path.join(t, "daemon.log")
        p = subprocess.Popen(sl.spool_cmd("--dir", spool, "--lab", sl.LAB,
                                          "--brokers", b3.brokers,
                                          "--kafka-timeout-ms", "1000",
                                          "--metrics-addr", addr),
                             stderr=open(log, "w"))
        try:
            text = lambda: open(log).read()  # noqa: E731
            procs.wait_for("a second retry",
                           lambda: "retry in 2 s" in text(),
                           timeout=30)
            check("retry in 1 s" in text(), "the first back-off is 1 s")
            check(sl.tree(spool) == untouched, "while retrying: %s" %
                  sl.tree(spool))
            body = urllib.request.urlopen("http://%s/metrics" % addr,
                                          timeout=5).read().decode()
            retries = [float(l.split()[1]) for l in body.splitlines()
                       if l.startswith("ql_spool_retries_total ")]
            check(retries and retries[0] >= 2, "retries_total: %s" % retries)
            b3.command("broker up -1")
            procs.wait_for("the file after the brokers came back",
                           lambda: sl.tree(spool)["done"] == ["export.csv"],
                           timeout=60)
            p.send_signal(signal.SIGTERM)
            check(p.wait(timeout=15) == 0, "SIGTERM: exit %s" % p.returncode)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        recs = sl.topic_records(b3.brokers, "inspection.results",
                                expect=COUNT)
        check(len({rec["result_id"] for _, rec in recs}) == COUNT,
              "the daemon published %d distinct records, want %d" %
              (len({rec["result_id"] for _, rec in recs}), COUNT))


if __name__ == "__main__":
    main()
