"""Operations: every daemon answers /healthz, /readyz and /metrics to a real
HTTP client; the metric names follow ql_<binary>_..._total for counters and
_seconds for histograms, with a ql_build_info gauge; /readyz turns unready
when the broker (all daemons) or the database (ql-triage) goes away and
ready again when it is back; SIGTERM stops each within 10 s with status 0.

Stops and starts the shared PostgreSQL cluster, so CTest runs it alone.
"""
import hashlib
import os
import re
import signal
import subprocess
import time

from qltest import pg, procs, triage as T
from qltest.report import fail, ok


QL_BIN = os.environ["QL_BIN"]


def check_exposition(prog, text):
    """Names, types and build info of one daemon's /metrics."""
    binary = prog.replace("ql-", "")
    if not re.search(r'^ql_build_info\{program="%s",version="[^"]+"\} 1$' % prog,
                     text, re.M):
        fail("%s: no ql_build_info gauge:\n%s" % (prog, text[:2000]))
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    if len(types) < 4:
        fail("%s: only %d metric families" % (prog, len(types)))
    for name, kind in types.items():
        if name != "ql_build_info" and not name.startswith("ql_%s_" % binary):
            fail("%s: metric %s is not named ql_%s_..." % (prog, name, binary))
        if kind == "counter" and not name.endswith("_total"):
            fail("%s: counter %s does not end in _total" % (prog, name))
        if kind == "histogram" and not name.endswith("_seconds"):
            fail("%s: histogram %s does not end in _seconds" % (prog, name))
    if "histogram" not in types.values():
        fail("%s: no duration histogram" % prog)


def status(addr, path):
    try:
        return procs.scrape(addr, path)[0]
    except OSError:
        return None


def main():
    with T.Env("ql_test_ops_health", partitions=3) as env:
        tmp = env.tmp.path
        daemons = {}

        taddr = "127.0.0.1:%d" % procs.free_port()
        triage = env.triage("--metrics-addr", taddr)
        daemons["ql-triage"] = (taddr, triage.proc)

        saddr = "127.0.0.1:%d" % procs.free_port()
        spool_dir = os.path.join(tmp, "spool")
        slog = open(os.path.join(tmp, "spool.log"), "wb")
        spool = subprocess.Popen(
            [os.path.join(QL_BIN, "ql-spool"), "--dir", spool_dir, "--lab", "XMQI",
             "--metrics-addr", saddr], env=env.environ(), stdout=slog,
            stderr=subprocess.STDOUT)
        daemons["ql-spool"] = (saddr, spool)

        gaddr = "127.0.0.1:%d" % procs.free_port()
        gmaddr = "127.0.0.1:%d" % procs.free_port()  # never the labs' port
        tokens = os.path.join(tmp, "tokens")
        with open(tokens, "w") as f:
            f.write("XMQI %s\n" % hashlib.sha256(b"ops-token").hexdigest())
        os.chmod(tokens, 0o600)
        glog = open(os.path.join(tmp, "gateway.log"), "wb")
        gateway = subprocess.Popen(
            [os.path.join(QL_BIN, "ql-gateway"), "--gateway-tokens", tokens,
             "--gateway-addr", gaddr, "--metrics-addr", gmaddr],
            env=env.environ(), stdout=glog, stderr=subprocess.STDOUT)
        daemons["ql-gateway"] = (gmaddr, gateway)

        try:
            for prog, (addr, proc) in daemons.items():
                procs.wait_for("%s /healthz" % prog, lambda: status(addr, "/healthz") == 200)
                procs.wait_for("%s ready" % prog, lambda: status(addr, "/readyz") == 200,
                               timeout=60)
                code, text = procs.scrape(addr, "/metrics")
                if code != 200:
                    fail("%s /metrics answered %d" % (prog, code))
                check_exposition(prog, text)
                if status(addr, "/nothing-here") != 404:
                    fail("%s: unknown path not 404" % prog)

            # Every broker down: each daemon stops saying it is ready.
            for b in (1, 2, 3):
                env.broker.command("broker down %d" % b)
            for prog, (addr, _) in daemons.items():
                procs.wait_for("%s unready with the brokers down" % prog,
                               lambda: status(addr, "/readyz") == 503, timeout=30)
                if status(addr, "/healthz") != 200:
                    fail("%s: /healthz must stay 200 (alive) while unready" % prog)
            for b in (1, 2, 3):
                env.broker.command("broker up %d" % b)
            for prog, (addr, _) in daemons.items():
                procs.wait_for("%s ready again" % prog,
                               lambda: status(addr, "/readyz") == 200, timeout=60)

            # The database away: the triage is not ready; back: ready.
            pg.ctl("stop", "-m", "fast", "-w")
            try:
                procs.wait_for("ql-triage unready with PostgreSQL stopped",
                               lambda: status(taddr, "/readyz") == 503, timeout=30)
                code, text = procs.scrape(taddr, "/readyz")
                if "postgres" not in text.lower():
                    fail("/readyz does not say the database is the reason: %s" % text)
            finally:
                # pg_ctl start does not remember the options of the first
                # start (restart would): give the same socket and port.
                pg.ctl("start", "-w", "-l",
                       "'%s'" % os.path.join(os.environ["QL_TEST_PGDATA"], "..",
                                             "ops-restart.log"),
                       "-o", "\"-k '%s' -p %s -c listen_addresses=127.0.0.1 "
                       "-c fsync=off -c max_connections=200\""
                       % (os.environ["PGHOST"], os.environ["PGPORT"]))
            procs.wait_for("ql-triage ready after PostgreSQL is back",
                           lambda: status(taddr, "/readyz") == 200, timeout=60)

            # SIGTERM: each exits 0 within 10 s.
            for prog, (addr, proc) in daemons.items():
                proc.send_signal(signal.SIGTERM)
                t0 = time.time()
                try:
                    rc = proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    fail("%s did not exit within 10 s of SIGTERM" % prog)
                if rc != 0:
                    fail("%s exited %d on SIGTERM" % (prog, rc))
                print("%s: SIGTERM -> exit 0 in %.1f s" % (prog, time.time() - t0))
        finally:
            for _, proc in daemons.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    ok("health, readiness and metrics of ql-triage, ql-spool, ql-gateway")


if __name__ == "__main__":
    main()
