"""ql-spool on a directory that sends no inotify events (an NFS or SMB
share): files reach incoming/ as hard links, which raise neither of the
events ql-spool waits for (IN_CLOSE_WRITE, IN_MOVED_TO).

- Without listings (--rescan 0, from QL_SPOOL_RESCAN) such a file stays in
  incoming/, while a file written in place is taken at once although it is
  younger than --min-age 30: inotify's close-after-write needs no age.
- With --rescan 1 and min_age = 3 (from the -c file) a linked file is taken
  by a rescan, not before it is 3 s old, and counted and logged as found by
  listing; one linked with an old modification time is taken at the next
  rescan.
- A file appended to while it is read (its writer had paused for longer
  than --min-age) is not moved: it stays in incoming/, logged, and is read
  again once unmodified; every record reaches the topic.
- --done-retention 7: at start, done/ loses its files older than 7 days
  (logged, counted) and keeps younger ones, dot files and directories; so
  does --once.
"""
import os
import signal
import subprocess
import time
import urllib.request

from qltest import procs, spool as sl
from qltest.broker import DevBroker, consume_all
from qltest.report import check, fail, ok


DAY = 86400


def main():
    tmp = procs.TempDir()
    broker = DevBroker("--topic", "t.changed")
    try:
        run(tmp.path, broker)
    finally:
        broker.stop()
        tmp.cleanup()
    ok("every check passed")


def metric(addr, name):
    body = urllib.request.urlopen("http://%s/metrics" % addr,
                                  timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    fail("no %s in /metrics:\n%s" % (name, body))


class Spool:
    """A ql-spool daemon with its log and metrics endpoint."""

    def __init__(self, t, name, spool, brokers, *args, env=None):
        self.addr = "127.0.0.1:%d" % procs.free_port()
        self.log = os.path.join(t, name + ".log")
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen(
            sl.spool_cmd("--dir", spool, "--lab", sl.LAB, "--brokers",
                         brokers, "--metrics-addr", self.addr, *args),
            stderr=open(self.log, "w"), env=e)
        procs.wait_for(name + " start", lambda: "watching " in self.text(), timeout=20)

    def text(self):
        with open(self.log) as f:
            return f.read()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                rc = self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                fail("SIGTERM did not stop ql-spool")
            check(rc == 0, "SIGTERM: exit %d:\n%s" % (rc, self.text()))


def run(t, broker):
    brokers = broker.brokers
    spool = os.path.join(t, "spool")
    inc = os.path.join(spool, "incoming")
    done = os.path.join(spool, "done")
    os.makedirs(inc)
    os.makedirs(done)
    outside = os.path.join(t, "outside")
    os.makedirs(outside)
    seed = [10]

    def export(name, age=0.0):
        """A finished export outside incoming/, modified age seconds ago."""
        path = os.path.join(outside, name)
        seed[0] += 1
        sl.simlab(path, "--seed", str(seed[0]), "--count", "3")
        when = time.time() - age
        os.utime(path, (when, when))
        return path

    def link_in(path):
        os.link(path, os.path.join(inc, os.path.basename(path)))

    def in_done(name):
        return os.path.exists(os.path.join(done, name))

    # ---- done/ retention at start ------------------------------------------
    now = time.time()
    for name, age in (("old.csv", 10 * DAY), ("week.jsonl", 8 * DAY),
                      ("new.csv", 1 * DAY), (".old-hidden", 30 * DAY)):
        with open(os.path.join(done, name), "w") as f:
            f.write("x\n")
        os.utime(os.path.join(done, name), (now - age, now - age))
    os.makedirs(os.path.join(done, "old-dir"))
    os.utime(os.path.join(done, "old-dir"), (now - 30 * DAY,) * 2)

    # ---- no listings: only inotify ------------------------------------------
    s = Spool(t, "norescan", spool, brokers, "--min-age", "30",
              "--done-retention", "7", env={"QL_SPOOL_RESCAN": "0"})
    try:
        check(sorted(os.listdir(done)) == [".old-hidden", "new.csv",
                                           "old-dir"],
              "retention at start: %s" % sorted(os.listdir(done)))
        check(metric(s.addr, "ql_spool_done_removed_total") == 2,
              "done_removed_total")
        log = s.text()
        check("done/old.csv: removed" in log and
              "done/week.jsonl: removed" in log, "removals logged:\n" + log)

        link_in(export("unseen.jsonl", age=60))
        data = open(export("inplace.jsonl"), "rb").read()
        t0 = time.time()
        with open(os.path.join(inc, "inplace.jsonl"), "wb") as f:
            f.write(data)
        procs.wait_for("the file written in place",
                       lambda: in_done("inplace.jsonl"),
                       timeout=20)
        check(time.time() - t0 < 15, "inotify's file waited for --min-age")
        time.sleep(3)
        check(sl.tree(spool)["incoming"] == ["unseen.jsonl"],
              "a hard link raised an event ql-spool took, or rescan 0 "
              "listed: %s" % sl.tree(spool))
        check(metric(s.addr, "ql_spool_rescan_found_total") == 0,
              "rescan_found_total without rescans")
    finally:
        s.stop()
    os.unlink(os.path.join(inc, "unseen.jsonl"))

    # ---- rescans every second, min_age 3 s from the config file ------------
    conf = os.path.join(t, "spool.ini")
    with open(conf, "w") as f:
        f.write("[spool]\nmin_age = 3\n")
    s = Spool(t, "rescan", spool, brokers, "-c", conf, "--rescan", "1")
    try:
        path = export("young.jsonl")
        mtime = os.stat(path).st_mtime
        link_in(path)
        while time.time() < mtime + 2.5:
            check(not in_done("young.jsonl"),
                  "taken %.1f s after its last change, before --min-age 3"
                  % (time.time() - mtime))
            time.sleep(0.05)
        procs.wait_for("the rescan to take young.jsonl",
                       lambda: in_done("young.jsonl"),
                       timeout=10)
        check(time.time() < mtime + 3 + 1 + 3,
              "young.jsonl taken %.1f s after its last change"
              % (time.time() - mtime))

        link_in(export("aged.jsonl", age=60))
        t0 = time.time()
        procs.wait_for("the rescan to take aged.jsonl",
                       lambda: in_done("aged.jsonl"),
                       timeout=10)
        check(time.time() - t0 < 3, "aged.jsonl waited %.1f s"
              % (time.time() - t0))

        check(metric(s.addr, "ql_spool_rescan_found_total") == 2,
              "rescan_found_total")
        log = s.text()
        for n in ("young.jsonl", "aged.jsonl"):
            check("file %s: found by listing incoming/" % n in log,
                  "%s not logged as found by listing:\n%s" % (n, log))
        check(sl.tree(spool)["incoming"] == [], "incoming: %s"
              % sl.tree(spool))
    finally:
        s.stop()

    # ---- a file modified while it is read stays in incoming/ ---------------
    # Slow acknowledgements keep the file open for seconds; the writer
    # appends through the link outside incoming/ (no inotify event there).
    broker.command("broker rtt -1 200")
    conf = os.path.join(t, "slow.ini")
    with open(conf, "w") as f:
        f.write("[spool]\nmin_age = 1\n[kafka]\nbatch.num.messages = 10\n")
    big = os.path.join(outside, "big.jsonl")
    count = 3000
    sl.simlab(big, "--seed", "77", "--count", str(count))
    os.utime(big, (now - 60, now - 60))
    s = Spool(t, "changed", spool, brokers, "-c", conf, "--rescan", "1",
              "--topic", "t.changed")
    try:
        link_in(big)
        got = consume_all(brokers, "t.changed", expect=1, timeout=30)
        check(got, "no record of big.jsonl reached the topic")
        with open(big, "a") as f:
            f.write("\n")
        procs.wait_for("the change to be noticed",
                       lambda: "file big.jsonl: modified while being read" in s.text(),
                       timeout=60)
        check(not in_done("big.jsonl"), "big.jsonl moved although it changed")
        broker.command("broker rtt -1 0")
        procs.wait_for("big.jsonl read again", lambda: in_done("big.jsonl"), timeout=60)
    finally:
        s.stop()
    recs = sl.topic_records(brokers, "t.changed", timeout=60)
    check(len({r["result_id"] for _, r in recs}) == count,
          "%d distinct records of big.jsonl on the topic, want %d"
          % (len({r["result_id"] for _, r in recs}), count))

    # ---- --once sweeps done/ too --------------------------------------------
    old = os.path.join(done, "young.jsonl")
    os.utime(old, (now - 9 * DAY,) * 2)
    r = sl.run_spool("--dir", spool, "--lab", sl.LAB, "--once", "--brokers",
                     brokers, "--done-retention", "7")
    check(r.returncode == 0, "--once: %d %s" % (r.returncode, r.stderr))
    check(not os.path.exists(old) and in_done("aged.jsonl") and
          in_done("new.csv") and in_done("big.jsonl"),
          "--once retention: %s" % sorted(os.listdir(done)))

    # ---- the options are documented ----------------------------------------
    r = sl.run_spool("--help")
    for text in ("--rescan SECONDS", "QL_SPOOL_RESCAN", "--min-age SECONDS",
                 "QL_SPOOL_MIN_AGE", "--done-retention DAYS",
                 "QL_SPOOL_DONE_RETENTION"):
        check(text in r.stdout, "--help lacks %s" % text)


if __name__ == "__main__":
    main()
