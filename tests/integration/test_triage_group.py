"""ql-triage in a group: two consumers share the partitions while records
stream in; one is killed with SIGKILL in the middle; the survivor takes its
partitions over from the stored offsets.  Exactly N rows, stored offsets at
the high watermarks, and the survivor leaves cleanly on SIGTERM.
"""
import re
import signal

from qltest import pg, procs, triage as T
from qltest.report import fail, ok


N = 8000


def assigned(t, now=True):
    """Partitions t holds (now) or has ever held."""
    text = t.text()
    if now:
        text = text[max(0, text.rfind("revoked inspection.results")):]
    return set(int(p) for p in re.findall(r"assigned inspection\.results/(\d+)", text))


def main():
    with T.Env("ql_test_triage_group") as env:
        msgs = T.encoded_docs(N)
        ini = env.fast_group_config()
        a = env.triage("-c", ini, "--batch-size", "150", name="a")
        b = env.triage("-c", ini, "--batch-size", "150", name="b")
        # Both members hold partitions before the stream starts.
        procs.wait_for("both consumers assigned",
                       lambda: assigned(a) and assigned(b)
                       and len(assigned(a) | assigned(b)) == 6 and not assigned(a) & assigned(b))
        stream = T.Streamer(env.brokers, msgs, chunk=400, pause=0.25, hold_at=N // 2)
        procs.wait_for("a quarter of the records stored",
                       lambda: T.rows_so_far() >= N // 4, timeout=60)
        if stream.done():
            fail("the stream ended before the kill: not mid-stream")
        b.kill()
        killed_at = T.rows_so_far()
        stream.release()
        stream.join()
        procs.wait_for("all %d rows and offsets at the high watermarks" % N,
                       lambda: T.caught_up(env.brokers, N), timeout=60)
        if len(assigned(a)) != 6:
            fail("the survivor does not hold every partition: %s" % sorted(assigned(a)))
        if not a.alive():
            fail("the survivor died:\n" + a.text()[-3000:])
        a.signal(signal.SIGTERM)
        if a.wait(30) != 0:
            fail("survivor: exit status %s" % a.proc.returncode)
        if pg.count() != N:
            fail("%d rows, want %d" % (pg.count(), N))
        T.check_offsets_at_watermarks(env.brokers)
    ok("one of two consumers killed at %d of %d rows; exactly %d stored"
       % (killed_at, N, N))


if __name__ == "__main__":
    main()
