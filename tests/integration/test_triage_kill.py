"""ql-triage crash: kill -9 in the middle of a stream (batches being
written while records keep arriving), restart: exactly N rows, and the
stored offsets equal the high watermarks.  Nothing lost, nothing doubled.
"""

from qltest import pg, procs, triage as T
from qltest.report import fail, ok


N = 8000


def main():
    with T.Env("ql_test_triage_kill") as env:
        msgs = T.encoded_docs(N)
        # The stream holds at half until the kill, so the kill always
        # lands mid-stream however slow or fast the machine is.
        stream = T.Streamer(env.brokers, msgs, chunk=500, pause=0.25, hold_at=N // 2)
        ini = env.fast_group_config()
        t = env.triage("-c", ini, "--batch-size", "150")
        procs.wait_for("a third of the records stored",
                       lambda: T.rows_so_far() >= N // 3, timeout=60)
        if stream.done():
            fail("the stream ended before the kill: not mid-stream")
        t.kill()
        at_kill = pg.count()
        if at_kill >= N:
            fail("everything was stored before the kill")
        stream.release()
        stream.join()

        t2 = env.triage("-c", ini, "--batch-size", "150", "--idle-exit", "2")
        if t2.wait(90) != 0:
            fail("restart: exit status %s\n%s" % (t2.proc.returncode, t2.text()[-3000:]))
        if pg.count() != N:
            fail("%d rows after the restart, want %d" % (pg.count(), N))
        if pg.count(where="true", table="(SELECT DISTINCT kafka_partition, "
                    "kafka_offset FROM ql.inspection_result) x") != N:
            fail("a Kafka position is stored twice")
        T.check_offsets_at_watermarks(env.brokers)
        totals = t2.totals()
        # The restart stores what the killed process had not committed, and
        # meets nothing it had: no record is read twice into the table.
        if totals["stored"] != N - at_kill or totals["duplicates"] != 0:
            fail("restart totals %s, %d were stored before the kill" % (totals, at_kill))
    ok("killed at %d of %d, restart completed exactly" % (at_kill, N))


if __name__ == "__main__":
    main()
