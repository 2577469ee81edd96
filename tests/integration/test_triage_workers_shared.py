"""ql-triage --workers 2 when one enterprise's results arrive through
several partitions (a producer that keys by result_id instead of credit
code): both members triage the same enterprises in concurrent transactions.
The derived state must still be what a full re-derivation gives:
ql.retriage_all() afterwards changes nothing.  Rechecks arrive in the same
burst as, and on other partitions than, their originals.
"""
import datetime
import signal

from qltest import broker, pg, procs, triage as T
from qltest.report import fail, ok


ENTERPRISES = 12
ORIGINALS = 240

# The derived state, without the identifiers that only say in which order
# things were allocated (case numbers, action ids).
SNAPSHOT = """
WITH cn AS (SELECT case_no, opening_result_id AS opening FROM ql.enforcement_case)
SELECT 'case ' || row(c.credit_code, c.opening_result_id, c.status, c.priority,
                      c.opened_at, c.escalated_at, c.cleared_at, c.cleared_by,
                      c.repeat_offender, c.open_findings, c.serious_findings)::text
  FROM ql.enforcement_case c
UNION ALL
SELECT 'original ' || row(n.result_id, cn.opening, n.status, n.settled_by,
                          n.failed_rechecks, n.repeat_offender)::text
  FROM ql.nonconformity n LEFT JOIN cn USING (case_no)
UNION ALL
SELECT 'finding ' || row(f.result_id, f.item_no, cn.opening, f.status,
                         f.resolved_by, f.category)::text
  FROM ql.finding f LEFT JOIN cn USING (case_no)
UNION ALL
SELECT 'plan ' || row(cn.opening, p.action, p.about_result_id, p.due_date,
                      p.status, p.done_by_result)::text
  FROM ql.plan_action p LEFT JOIN cn USING (case_no)
UNION ALL
SELECT 'link ' || row(l.result_id, l.original_result_id, l.effect, l.reason,
                      l.failure_no)::text
  FROM ql.followup_link l
ORDER BY 1
"""


def docs():
    """Originals of a few enterprises, about half of them failing; each
    failing one rechecked, some twice (first failing, then passing)."""
    out = []
    for i in range(ORIGINALS):
        code = T.credit_code(1000 + i % ENTERPRISES)
        verdict = "NONCONFORMING" if i % 2 == 0 else "CONFORMING"
        d = T.make_doc(i, code=code, verdict=verdict)
        out.append(d)
        if verdict != "NONCONFORMING":
            continue
        when = datetime.datetime.fromisoformat(d["reported_at"])
        checks = ["NONCONFORMING", "CONFORMING"] if i % 6 == 0 else ["CONFORMING"]
        for k, v in enumerate(checks):
            r = T.make_doc(10000 + i * 4 + k, code=code, verdict=v)
            r["kind"] = "RECHECK"
            r["refers_to"] = d["result_id"]
            r["reported_at"] = (when + datetime.timedelta(days=70 + 20 * k)).isoformat()
            out.append(r)
    return out


def main():
    with T.Env("ql_test_triage_workers_shared") as env:
        all_docs = docs()
        # Keyed by result_id: an enterprise's results spread over every
        # partition.
        msgs = [(d["result_id"].encode(), T.encode(d)) for d in all_docs]
        t = env.triage("--workers", "2", "--batch-size", "20", "--batch-ms", "50")
        procs.wait_for("both members assigned",
                       lambda: "prog=ql-triage/1 msg=\"assigned" in t.text()
                       and "prog=ql-triage/2 msg=\"assigned" in t.text())
        broker.produce(env.brokers, msgs)
        procs.wait_for("all %d rows and offsets at the high watermarks" % len(msgs),
                       lambda: T.caught_up(env.brokers, len(msgs)), timeout=90)
        if pg.count("ql.triage_pending") != 0:
            fail("results left in ql.triage_pending")
        before = pg.sql(SNAPSHOT)
        failing = sum(1 for d in all_docs
                      if d["kind"] == "SUPERVISION" and d["verdict"] == "NONCONFORMING")
        if sum(1 for r in before if r.startswith("original ")) != failing:
            fail("%d originals derived, want %d" % (
                sum(1 for r in before if r.startswith("original ")), failing))
        pg.sql("SELECT ql.retriage_all()")
        after = pg.sql(SNAPSHOT)
        if before != after:
            gone = sorted(set(before) - set(after))[:10]
            new = sorted(set(after) - set(before))[:10]
            fail("a full re-derivation changed the state the two members left:\n"
                 "  only before: %s\n  only after: %s" % (gone, new))
        t.signal(signal.SIGTERM)
        if t.wait(30) != 0:
            fail("SIGTERM: exit status %s" % t.proc.returncode)
    ok("%d results of %d enterprises through every partition, two members: "
       "the state equals a full re-derivation" % (len(msgs), ENTERPRISES))


if __name__ == "__main__":
    main()
