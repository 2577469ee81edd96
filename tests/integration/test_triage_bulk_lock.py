"""A batch stored in bulk mode while another member derives the same
enterprise from the queue: the batch's results must stay queued.

ql.recompute ends by deleting the queued results of the enterprises it
derived; in READ COMMITTED that statement sees results committed after the
derivation began.  A bulk batch (results stored, ql.register_enterprises,
no derivation) committed under a drain's derivation would so lose its
results' derivation.  Here two psql sessions play it step by step: the
drain takes the enterprise (ql.pending_enterprises), the bulk batch stores
a result and registers, the drain derives and commits, the batch commits.
The batch's result must still be queued afterwards (021_bulk_drain makes
ql.register_enterprises wait for the derivation in progress).
"""
import json
import os
import subprocess
import time

from qltest import pg, triage as T
from qltest.report import fail, ok



def insert(doc, offset):
    return ("INSERT INTO ql.inspection_result (result_id, credit_code, kind, verdict, "
            "reported_at, record, kafka_topic, kafka_partition, kafka_offset) "
            "SELECT r ->> 'result_id', r -> 'enterprise' ->> 'credit_code', r ->> 'kind', "
            "r ->> 'verdict', (r ->> 'reported_at')::timestamptz, r, 'inspection.results', 0, "
            "%d FROM (SELECT %s::jsonb AS r) x;"
            % (offset, "'" + json.dumps(doc).replace("'", "''") + "'"))


class Session:
    """An interactive psql session, one statement at a time."""

    def __init__(self):
        self.p = subprocess.Popen(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                                   "-d", os.environ["QL_DB"]],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        self.n = 0

    def send(self, sql):
        self.p.stdin.write(sql + "\n")
        self.p.stdin.flush()

    def run(self, sql):
        """Send and read up to a marker: the statement's output."""
        self.n += 1
        self.send(sql + "\n\\echo done-%d" % self.n)
        out = []
        for line in self.p.stdout:
            if line.strip() == "done-%d" % self.n:
                return out
            out.append(line.rstrip("\n"))
        fail("psql ended: %s" % out)

    def close(self):
        self.p.stdin.close()
        self.p.wait(30)


def main():
    with T.Env("ql_test_triage_bulk_lock") as env:
        m = env.triage("--migrate-only", name="migrate")
        if m.wait(60) != 0:
            fail("--migrate-only failed:\n" + m.text())
        code = T.credit_code(4242)
        first = T.make_doc(1, code=code, verdict="NONCONFORMING")
        second = T.make_doc(2, code=code, verdict="NONCONFORMING")
        third = T.make_doc(3, code=code, verdict="NONCONFORMING")
        # Derived once; then one more result queued by a bulk batch.
        pg.sql(insert(first, 1) + " SELECT ql.retriage(ARRAY['%s']);" % code)
        pg.sql(insert(second, 2) + " SELECT ql.register_enterprises(ARRAY['%s']);" % code)

        drain, batch = Session(), Session()
        got = drain.run("BEGIN; SELECT ql.pending_enterprises(10);")
        if got != ["{%s}" % code]:
            fail("the drain took %s" % got)
        batch.send("BEGIN; " + insert(third, 3) +
                   " SELECT ql.register_enterprises(ARRAY['%s']); COMMIT;" % code)
        time.sleep(1.5)  # the batch registers (or waits) meanwhile
        drain.run("SELECT ql.retriage(ARRAY['%s']); COMMIT;" % code)
        batch.close()
        drain.close()
        if batch.p.returncode != 0:
            fail("the bulk batch failed: %s" % batch.p.stdout.read())
        queued = pg.sql("SELECT result_id FROM ql.triage_pending ORDER BY 1")
        if queued != [third["result_id"]]:
            fail("queued after the drain: %s, want the bulk batch's %s (its derivation "
                 "was lost)" % (queued, third["result_id"]))
        derived = pg.sql("SELECT result_id FROM ql.nonconformity ORDER BY 1")
        if derived != sorted([first["result_id"], second["result_id"]]):
            fail("derived: %s" % derived)
        # The next drain derives it.
        pg.sql("SELECT ql.retriage_pending()")
        if pg.count("ql.nonconformity") != 3 or pg.count("ql.triage_pending"):
            fail("the next drain did not derive the bulk batch's result")
    ok("a bulk batch committed under a drain keeps its result queued")


if __name__ == "__main__":
    main()
