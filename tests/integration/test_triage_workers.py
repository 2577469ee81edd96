"""ql-triage with two group members (the default on two cores; --workers 2
elsewhere): two group members in one process share the
partitions (each logs as ql-triage/N and holds its own), every record is
stored exactly once with the case logic applied, /metrics lists each
partition's lag once under one HELP/TYPE header and counts across both
members, SIGHUP re-applies the cause rules once, SIGTERM stops both and the
closing totals add up.  --batch-size is the process's: each member closes
batches of half of it.
"""
import os
import re
import signal
import time

from qltest import broker, pg, procs, triage as T
from qltest.report import fail, ok


N = 3000


def held(t, member):
    """Partitions member N of t holds now (after its last revocation)."""
    text = "\n".join(l for l in t.text().splitlines()
                     if "prog=ql-triage/%d " % member in l)
    text = text[max(0, text.rfind("revoked inspection.results")):]
    return set(int(p) for p in re.findall(r"assigned inspection\.results/(\d+)", text))


def main():
    with T.Env("ql_test_triage_workers") as env:
        docs = [T.make_doc(i, code=T.credit_code(i % 40),
                           verdict="NONCONFORMING" if i % 10 == 0 else "CONFORMING")
                for i in range(N)]
        broker.produce(env.brokers, [(d["enterprise"]["credit_code"].encode(), T.encode(d))
                                     for d in docs])
        addr = "127.0.0.1:%d" % procs.free_port()
        # Unset, --workers is one member per core (at most 4): on two
        # cores that is these two.
        env.extra["QL_WORKERS"] = None
        if min(os.cpu_count() or 1, 4) == 2:
            t = env.triage("--batch-size", "200", "--metrics-addr", addr)
        else:
            print("note: %s cores: --workers 2 given, the default not checked"
                  % os.cpu_count())
            t = env.triage("--workers", "2", "--batch-size", "200", "--metrics-addr", addr)
        procs.wait_for("both members hold partitions",
                       lambda: held(t, 1) and held(t, 2)
                       and held(t, 1) | held(t, 2) == set(range(6))
                       and not held(t, 1) & held(t, 2))
        for member in (1, 2):
            started = [l for l in t.text().splitlines()
                       if "prog=ql-triage/%d msg=\"consuming" % member in l]
            if not started or "batches of 100 records" not in started[0]:
                fail("member %d does not batch 100 records (200 split by 2): %s"
                     % (member, started))
        procs.wait_for("all %d rows and offsets at the high watermarks" % N,
                       lambda: T.caught_up(env.brokers, N), timeout=90)
        # Each member stored its partitions: every stored offset is at its
        # high watermark.
        T.check_offsets_at_watermarks(env.brokers)
        if pg.count() != N:
            fail("%d rows, want %d" % (pg.count(), N))
        nonconforming = sum(1 for d in docs if d["verdict"] == "NONCONFORMING")
        procs.wait_for("every nonconforming result triaged",
                       lambda: pg.count("ql.nonconformity") == nonconforming)
        if pg.count("ql.triage_pending") != 0:
            fail("results left in ql.triage_pending")
        open_cases = pg.count("ql.enforcement_case", "status IN ('OPEN', 'ESCALATED')")
        codes = {d["enterprise"]["credit_code"] for d in docs
                 if d["verdict"] == "NONCONFORMING"}
        if open_cases != len(codes):
            fail("%d open cases, want one per enterprise with a nonconformity (%d)"
                 % (open_cases, len(codes)))

        def lag(p):
            return procs.metric(procs.scrape(addr)[1], "ql_triage_lag",
                                '{topic="%s",partition="%d"}' % (broker.TOPIC, p))
        procs.wait_for("lag 0 for every partition",
                       lambda: all(lag(p) == 0 for p in range(6)))
        _, text = procs.scrape(addr)
        for line in ("# TYPE ql_triage_lag gauge", "# TYPE ql_triage_stored_total counter"):
            if text.count(line + "\n") != 1:
                fail("%r appears %d times in /metrics:\n%s" % (line, text.count(line), text))
        for p in range(6):
            series = 'ql_triage_lag{topic="%s",partition="%d"}' % (broker.TOPIC, p)
            if text.count(series + " ") != 1:
                fail("%s listed %d times" % (series, text.count(series + " ")))
        if procs.metric(text, "ql_triage_stored_total") != N:
            fail("ql_triage_stored_total = %s, want %d (both members counted)"
                 % (procs.metric(text, "ql_triage_stored_total"), N))
        status, body = procs.scrape(addr, "/readyz")
        if status != 200:
            fail("/readyz answered %d: %s" % (status, body))

        # SIGHUP: the configuration is reloaded, the cause rules re-applied
        # by one member only.
        t.signal(signal.SIGHUP)
        procs.wait_for("cause rules reloaded", lambda: "cause rules reloaded" in t.text())
        procs.wait_for("configuration reloaded", lambda: "configuration reloaded" in t.text())
        time.sleep(2)  # a second member re-applying them would show by now
        if t.text().count("cause rules reloaded") != 1:
            fail("cause rules reloaded %d times:\n%s"
                 % (t.text().count("cause rules reloaded"), t.text()[-3000:]))

        t.signal(signal.SIGTERM)
        if t.wait(30) != 0:
            fail("SIGTERM: exit status %s\n%s" % (t.proc.returncode, t.text()[-3000:]))
        for member in (1, 2):
            if "prog=ql-triage/%d msg=\"stopping" % member not in t.text():
                fail("member %d did not stop cleanly:\n%s" % (member, t.text()[-3000:]))
        totals = t.totals()
        if totals["stored"] != N or totals["records"] != N:
            fail("closing totals %s, want %d stored" % (totals, N))
        if pg.count() != N:
            fail("%d rows after stopping, want %d" % (pg.count(), N))
    ok("two members in one process stored exactly %d results; metrics, "
       "SIGHUP and SIGTERM cover both" % N)


if __name__ == "__main__":
    main()
