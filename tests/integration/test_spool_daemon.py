"""ql-spool as a daemon: a file already in incoming/ at start is taken; a
file moved in (rename) and a file written in place are taken once closed,
not before; dot files and other names are left alone (the latter logged
once); a name already in done/ gets a counter, as does its errors list; an
unreadable CSV moves to rejected/ with its errors list; a second ql-spool
on the same directory is refused; the metrics endpoint counts files and
records; SIGHUP reloads the log level (and refuses a bad file); SIGTERM
exits 0."""
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request

from qltest import procs, spool as sl
from qltest.broker import DevBroker, consume_all
from qltest.report import check, fail, ok


def main():
    tmp = procs.TempDir()
    broker = DevBroker()
    try:
        run(tmp.path, broker.brokers)
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


def run(t, brokers):
    spool = os.path.join(t, "spool")
    inc = os.path.join(spool, "incoming")
    os.makedirs(inc)
    outside = os.path.join(t, "outside")
    os.makedirs(outside)
    total = 0

    def make(name, seed, count, *fmt):
        nonlocal total
        path = os.path.join(outside, name)
        sl.simlab(path, "--seed", str(seed), "--count", str(count), *fmt)
        total += count
        return path

    shutil.move(make("pre.jsonl", 1, 5), inc)
    conf = os.path.join(t, "spool.ini")
    with open(conf, "w") as f:
        f.write("[spool]\nlog_level = info\n")
    addr = "127.0.0.1:%d" % procs.free_port()
    log = open(os.path.join(t, "spool.log"), "w+")
    p = subprocess.Popen(sl.spool_cmd("--dir", spool, "--lab", sl.LAB,
                                      "--brokers", brokers, "-c", conf,
                                      "--metrics-addr", addr),
                         stderr=log)

    def logtext():
        log.flush()
        with open(log.name) as f:
            return f.read()

    try:
        done = lambda *names: lambda: all(  # noqa: E731
            os.path.exists(os.path.join(spool, "done", n)) for n in names)
        procs.wait_for("the file present at start", done("pre.jsonl"), timeout=20)

        # moved in
        os.rename(make("moved.csv", 2, 6, "--format", "csv"),
                  os.path.join(inc, "moved.csv"))
        procs.wait_for("the file moved in", done("moved.csv"), timeout=20)

        # written in place: not taken while open
        data = open(make("inplace.jsonl", 3, 7), "rb").read()
        with open(os.path.join(inc, "inplace.jsonl"), "wb") as f:
            f.write(data[:len(data) // 2])
            f.flush()
            time.sleep(1.5)
            check(sl.tree(spool)["incoming"] == ["inplace.jsonl"],
                  "a file still being written was taken")
            f.write(data[len(data) // 2:])
        procs.wait_for("the file written in place", done("inplace.jsonl"), timeout=20)

        # left alone
        for name in (".partial.csv", "notes.txt"):
            with open(os.path.join(inc, name), "w") as f:
                f.write("x\n")
        with open(os.path.join(inc, "notes.txt"), "a") as f:
            f.write("y\n")

        # same name twice, with a rejected record each time
        for seed in (4, 5):
            src = make("dup.jsonl", seed, 3)
            with open(src, "a") as f:
                f.write('{"report_no": "broken"}\n')
            os.rename(src, os.path.join(inc, "dup.jsonl"))
            procs.wait_for("dup.jsonl (seed %d)" % seed,
                           lambda: "dup.jsonl" not in os.listdir(inc),
                           timeout=20)
        check(done("dup.jsonl", "dup.1.jsonl")(), "dup: %s" % sl.tree(spool))
        rej = sl.tree(spool)["rejected"]
        check("dup.jsonl.errors.jsonl" in rej and
              "dup.1.jsonl.errors.jsonl" in rej, "dup errors: %s" % rej)
        with open(os.path.join(spool, "rejected",
                               "dup.1.jsonl.errors.jsonl")) as f:
            e = [json.loads(l) for l in f]
        check(len(e) == 1 and e[0]["line"] == 4 and
              e[0]["report_no"] == "broken", "dup.1 errors: %s" % e)

        # unreadable (an unknown column alone would only be ignored)
        with open(os.path.join(outside, "u.csv"), "w") as f:
            f.write("report_no,colour\nR1,red\n")
        os.rename(os.path.join(outside, "u.csv"), os.path.join(inc, "u.csv"))
        procs.wait_for("the unreadable file",
                       lambda: "u.csv" in sl.tree(spool)["rejected"],
                       timeout=20)
        with open(os.path.join(spool, "rejected", "u.csv.errors.jsonl")) as f:
            e = [json.loads(l) for l in f]
        check(len(e) == 1 and e[0]["line"] == 1 and
              "missing column lab_code" in e[0]["error"] and
              "'colour' (cell 2)" in e[0]["error"], "u.csv: %s" % e)

        check(sl.tree(spool)["incoming"] == [".partial.csv", "notes.txt"],
              "incoming: %s" % sl.tree(spool)["incoming"])
        check(logtext().count("file notes.txt: not a .csv or .jsonl") == 1,
              "notes.txt is logged once:\n" + logtext())
        check(".partial.csv" not in logtext(), "dot files are quiet")

        # a second ql-spool on the same directory
        r = sl.run_spool("--dir", spool, "--lab", sl.LAB, "--once",
                         "--brokers", brokers)
        check(r.returncode == 1 and "another ql-spool" in r.stderr,
              "second ql-spool: %d %s" % (r.returncode, r.stderr))

        # metrics
        check(metric(addr, "ql_spool_files_total") == 6, "files_total")
        published = total - 0  # every simlab record is valid
        check(metric(addr, "ql_spool_records_published_total") == published,
              "records_published_total")
        check(metric(addr, "ql_spool_records_rejected_total") == 2,
              "records_rejected_total")
        check(metric(addr, "ql_spool_retries_total") == 0, "retries_total")
        check(metric(addr, "ql_spool_file_seconds_count") == 6,
              "file_seconds_count")

        # SIGHUP: reload, then refuse a bad configuration
        with open(conf, "w") as f:
            f.write("[spool]\nlog_level = debug\n")
        p.send_signal(signal.SIGHUP)
        procs.wait_for("the reload",
                       lambda: "configuration reloaded" in logtext(),
                       timeout=20)
        with open(conf, "w") as f:
            f.write("[spool]\nlog_level = loud\n")
        p.send_signal(signal.SIGHUP)
        procs.wait_for("the refused reload",
                       lambda: "reload refused" in logtext(),
                       timeout=20)
        check(p.poll() is None, "a bad reload stopped the daemon")

        p.send_signal(signal.SIGTERM)
        check(p.wait(timeout=15) == 0, "SIGTERM: exit %s" % p.returncode)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    recs = consume_all(brokers, "inspection.results", expect=published)
    check(len(recs) == published, "%d records on the topic, want %d" %
          (len(recs), published))


if __name__ == "__main__":
    main()
