"""ql-triage and a PostgreSQL restart: while records stream in, the test
cluster is restarted (pg_ctl restart -m fast: every connection is cut).
ql-triage rolls back, reconnects with back-off, re-reads from the stored
offsets and carries on: exactly N rows, offsets at the high watermarks, the
process never exited.

tests/run runs the cluster as the postgres user and exports its data
directory as QL_TEST_PGDATA.
"""
import os
import re
import signal
import time

from qltest import pg, procs, triage as T
from qltest.report import fail, ok


N = 8000


def main():
    with T.Env("ql_test_triage_pgrestart") as env:
        msgs = T.encoded_docs(N)
        addr = "127.0.0.1:%d" % procs.free_port()
        t = env.triage("--batch-size", "150", "--metrics-addr", addr)
        procs.wait_for("the consumer assigned", lambda: "assigned inspection.results" in t.text())
        stream = T.Streamer(env.brokers, msgs, chunk=400, pause=0.25, hold_at=N // 2)
        procs.wait_for("a quarter of the records stored",
                       lambda: T.rows_so_far() >= N // 4, timeout=60)
        if stream.done():
            fail("the stream ended before the restart: not mid-stream")
        pg.ctl("restart", "-m", "fast", "-w", "-l", "'%s'" % os.path.join(
            os.environ["QL_TEST_PGDATA"], "..", "restart.log"))
        restarted_at = time.time()
        stream.release()
        stream.join()
        procs.wait_for("all %d rows and offsets at the high watermarks" % N,
                       lambda: T.caught_up(env.brokers, N), timeout=60)
        if not t.alive():
            fail("ql-triage exited:\n" + t.text()[-3000:])
        log = t.text()
        if len(re.findall(r"connected to PostgreSQL", log)) < 2:
            fail("no reconnection logged:\n" + log[-3000:])
        status, text = procs.scrape(addr, "/readyz")
        if status != 200:
            fail("/readyz after the restart: %d %s" % (status, text))
        t.signal(signal.SIGTERM)
        if t.wait(30) != 0:
            fail("exit status %s" % t.proc.returncode)
        if pg.count() != N:
            fail("%d rows, want %d" % (pg.count(), N))
        T.check_offsets_at_watermarks(env.brokers)
    ok("PostgreSQL restarted mid-stream, %d rows exactly, recovered in %.1f s"
       % (N, time.time() - restarted_at))


if __name__ == "__main__":
    main()
