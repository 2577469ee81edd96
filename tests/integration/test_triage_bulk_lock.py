"""Bulk batches and the drain of the derivation queue, side by side.

In bulk mode a member stores its batches with only their enterprises
registered (ql.register_queued) while another member may be draining the
queue (ql.pending_enterprises + ql.derive_queued).  Three things must hold:

1. The bulk batch does not wait for the drain, even for an enterprise the
   drain holds (022: the drain locks FOR NO KEY UPDATE, the batch takes
   KEY SHARE).  Before 022 it waited for the whole chunk.
2. What the batch commits while the drain derives that enterprise is not
   derived and not lost: the drain derives only the queue it took
   (ql_work.taken); a result queued after that stays queued, and is not
   followed as the original of a recheck the drain derives (the recheck
   waits for it, as had it come first).  The next drain derives it, and the
   state is then what a full derivation of everything gives.
3. A bulk batch still waits for any other derivation of its enterprises
   (ql.retriage in READ COMMITTED, an officer's function), which would see
   what commits under it.

Here psql sessions play it step by step; a test trigger on ql_work.taken
holds the drain right after it has taken the queue, until the test lets go.
"""
import json
import os
import queue
import subprocess
import threading
import time

from qltest import pg, triage as T
from qltest.report import fail, ok



def insert(doc, offset):
    return ("INSERT INTO ql.inspection_result (result_id, credit_code, kind, verdict, "
            "refers_to, reported_at, record, kafka_topic, kafka_partition, kafka_offset) "
            "SELECT r ->> 'result_id', r -> 'enterprise' ->> 'credit_code', r ->> 'kind', "
            "r ->> 'verdict', r ->> 'refers_to', (r ->> 'reported_at')::timestamptz, r, "
            "'inspection.results', 0, "
            "%d FROM (SELECT %s::jsonb AS r) x;"
            % (offset, "'" + json.dumps(doc).replace("'", "''") + "'"))


class Session:
    """An interactive psql session, one statement at a time; its output is
    read by a thread, so that a test can wait for it with a timeout."""

    def __init__(self):
        self.p = subprocess.Popen(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                                   "-d", os.environ["QL_DB"]],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        self.n = 0
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, sql):
        self.p.stdin.write(sql + "\n")
        self.p.stdin.flush()

    def done(self, timeout):
        """Whether what was sent so far has run within timeout seconds: the
        output up to a marker, or None."""
        self.n += 1
        self.send("\\echo done-%d" % self.n)
        out = []
        deadline = time.time() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.time()))
            except queue.Empty:
                return None
            if line is None:
                fail("psql ended: %s" % out)
            if line == "done-%d" % self.n:
                return out
            if not line.startswith("done-"):
                out.append(line)

    def run(self, sql):
        """Send and wait for the statement's output."""
        self.send(sql)
        out = self.done(60)
        if out is None:
            fail("psql did not answer: %s" % sql)
        return out

    def close(self):
        self.p.stdin.close()
        self.p.wait(30)


DERIVED = """
SELECT 'nc ' || row(n.result_id, n.status, n.settled_by, n.failed_rechecks, c.opening_result_id)
  FROM ql.nonconformity n LEFT JOIN ql.enforcement_case c ON c.case_no = n.case_no
UNION ALL
SELECT 'link ' || row(l.result_id, l.original_result_id, l.effect, l.reason) FROM ql.followup_link l
UNION ALL
SELECT 'finding ' || row(f.result_id, f.item_no, f.status) FROM ql.finding f
UNION ALL
SELECT 'case ' || row(c.opening_result_id, c.status, c.priority, c.open_findings) FROM ql.enforcement_case c
UNION ALL
SELECT 'action ' || row(a.about_result_id, a.action, a.status, a.due_date) FROM ql.plan_action a
ORDER BY 1
"""


def main():
    with T.Env("ql_test_triage_bulk_lock") as env:
        m = env.triage("--migrate-only", name="migrate")
        if m.wait(60) != 0:
            fail("--migrate-only failed:\n" + m.text())
        code = T.credit_code(4242)
        first = T.make_doc(1, code=code, verdict="NONCONFORMING")
        original = T.make_doc(2, code=code, verdict="NONCONFORMING")
        # A passing recheck of `original`, which arrives first.
        recheck = T.make_doc(3, code=code, verdict="CONFORMING")
        recheck.update(kind="RECHECK", refers_to=original["result_id"],
                       reported_at="2026-12-01T09:00:00+08:00")
        later = T.make_doc(4, code=code, verdict="NONCONFORMING")

        # `first` derived; the recheck queued by a bulk batch.
        pg.sql(insert(first, 1) + " SELECT ql.retriage(ARRAY['%s']);" % code)
        pg.sql(insert(recheck, 2) + " SELECT ql.register_queued(ARRAY['%s']);" % code)
        # The drain will stop right after taking the queue while the test
        # holds advisory lock 4242.
        pg.sql("CREATE FUNCTION public.qltest_hold() RETURNS trigger LANGUAGE plpgsql AS $$ "
               "BEGIN PERFORM pg_advisory_lock(4242); PERFORM pg_advisory_unlock(4242); "
               "RETURN NULL; END $$; "
               "CREATE TRIGGER qltest_hold AFTER INSERT ON ql_work.taken "
               "FOR EACH STATEMENT EXECUTE FUNCTION public.qltest_hold()")
        hold, drain, batch = Session(), Session(), Session()
        hold.run("SELECT pg_advisory_lock(4242);")
        got = drain.run("BEGIN; SELECT ql.pending_enterprises(10);")
        if got != ["{%s}" % code]:
            fail("the drain took %s" % got)
        drain.send("SELECT ql.derive_queued(ARRAY['%s']);" % code)
        time.sleep(0.5)
        if drain.done(0.5) is not None:
            fail("the drain did not stop at the test trigger")
        # 1. The recheck's original comes in a bulk batch meanwhile.
        batch.send("BEGIN; " + insert(original, 3) +
                   " SELECT ql.register_queued(ARRAY['%s']); COMMIT;" % code)
        if batch.done(10) is None:
            fail("the bulk batch waited for the drain (it holds the enterprise)")
        hold.run("SELECT pg_advisory_unlock(4242);")
        if drain.done(30) is None:
            fail("the drain did not finish")
        drain.run("COMMIT;")
        pg.sql("DROP TRIGGER qltest_hold ON ql_work.taken; DROP FUNCTION public.qltest_hold()")
        ok("a bulk batch does not wait for the drain of its enterprise")

        # 2. The batch's result is queued, not derived; the recheck waits.
        queued = pg.sql("SELECT result_id FROM ql.triage_pending ORDER BY 1")
        if queued != [original["result_id"]]:
            fail("queued after the drain: %s, want the bulk batch's %s"
                 % (queued, original["result_id"]))
        derived = pg.sql("SELECT result_id FROM ql.nonconformity ORDER BY 1")
        if derived != [first["result_id"]]:
            fail("derived by the drain: %s, want only %s" % (derived, first["result_id"]))
        link = pg.sql("SELECT original_result_id IS NULL, effect FROM ql.followup_link "
                      "WHERE result_id = '%s'" % recheck["result_id"])
        if link != ["t|WAITING"]:
            fail("the recheck followed a result queued after the drain took the queue: %s"
                 % link)
        pg.sql("SELECT ql.retriage_pending()")
        if pg.count("ql.triage_pending"):
            fail("the next drain left results queued")
        status = pg.sql("SELECT status FROM ql.nonconformity WHERE result_id = '%s'"
                        % original["result_id"])
        if status != ["CLEARED"]:
            fail("the original derived by the next drain: %s, want CLEARED by its "
                 "passing recheck" % status)
        before = pg.sql(DERIVED)
        pg.sql("SELECT ql.retriage_all()")
        after = pg.sql(DERIVED)
        if before != after:
            fail("a full derivation changes the state the drains left:\n%s" %
                 "\n".join(sorted(set(before) ^ set(after))))
        ok("what a bulk batch commits under the drain stays queued and is derived next, "
           "as a full derivation has it")

        # 3. Against a derivation in READ COMMITTED the bulk batch waits.
        pg.sql(insert(later, 4) + " SELECT ql.register_queued(ARRAY['%s']);" % code)
        fifth = T.make_doc(5, code=code, verdict="NONCONFORMING")
        deriving = Session()
        deriving.run("BEGIN; SELECT ql.retriage(ARRAY['%s']);" % code)
        batch.send("BEGIN; " + insert(fifth, 5) +
                   " SELECT ql.register_queued(ARRAY['%s']); COMMIT;" % code)
        if batch.done(1.5) is not None:
            fail("the bulk batch did not wait for a derivation in READ COMMITTED")
        deriving.run("COMMIT;")
        if batch.done(30) is None:
            fail("the bulk batch did not go on after the derivation committed")
        queued = pg.sql("SELECT result_id FROM ql.triage_pending ORDER BY 1")
        if queued != [fifth["result_id"]]:
            fail("queued after the derivation: %s, want %s" % (queued, fifth["result_id"]))
        for s_ in (hold, drain, batch, deriving):
            s_.close()
        ok("a bulk batch waits for a batch's own derivation of its enterprise")


if __name__ == "__main__":
    main()
