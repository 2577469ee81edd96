"""Kafka goes away during ql-spool --once: the dev broker is killed while
the file's records are in flight (its responses are slowed so the kill
lands mid-file).  ql-spool exits 1 after --kafka-timeout-ms with the file
still in incoming/ and nothing in done/ or rejected/.  The same happens with
no broker at all.  With a broker back, the next run publishes every record
once and moves the file to done/."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spool_lib as sl  # noqa: E402
from spool_lib import check, qltest  # noqa: E402

COUNT = 400


def main():
    tmp = qltest.TempDir()
    try:
        run(tmp.path)
    finally:
        tmp.cleanup()
    print("ok")


def run(t):
    spool = os.path.join(t, "spool")
    os.makedirs(os.path.join(spool, "incoming"))
    path = os.path.join(spool, "incoming", "export.csv")
    sl.simlab(path, "--seed", "9", "--count", str(COUNT), "--format", "csv")
    untouched = {"incoming": ["export.csv"], "done": [], "rejected": []}

    # ---- killed mid-file ---------------------------------------------------
    broker = qltest.DevBroker()
    broker.command("broker rtt -1 2000")
    time.sleep(0.3)
    p = subprocess.Popen(sl.spool_cmd("--dir", spool, "--lab", sl.LAB,
                                      "--once", "--brokers", broker.brokers,
                                      "--kafka-timeout-ms", "4000"),
                         stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    check(p.poll() is None, "ql-spool finished before the broker died")
    broker.proc.kill()
    broker.proc.wait()
    start = time.time()
    _, err = p.communicate(timeout=60)
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
    with qltest.DevBroker() as b2:
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


if __name__ == "__main__":
    main()
