"""Follow-ups from another lab, end to end through ql-triage (schemas/sql/
013_followup_lab.sql): a recheck from a lab other than the original's,
arriving before its original, waits with reason OTHER_LAB while the
original's own lab clears its findings as before; an officer of the region
accepts it (ql.accept_followup, as that officer's login) and it clears; a
retest from a lab registered in ql.followup_lab applies at once.
"""
import os
import subprocess

from qltest import broker, pg, triage as T
from qltest.report import fail, ok


OFFICER = "ql_test_fl_officer"


def followup(i, original, kind, verdict, lab):
    d = T.make_doc(i, code=original["enterprise"]["credit_code"], verdict=verdict, lab=lab)
    d["kind"] = kind
    d["refers_to"] = original["result_id"]
    return d


def as_officer(q):
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-U", OFFICER,
                        "-d", os.environ["QL_DB"], "-c", q],
                       capture_output=True, text=True)
    if r.returncode:
        fail("as %s: %s: %s" % (OFFICER, q, r.stderr.strip()))
    return [l for l in r.stdout.splitlines() if l]


def run_triage(env, name):
    t = env.triage("--idle-exit", "2", name=name)
    if t.wait(90) != 0:
        fail("ql-triage exited %s:\n%s" % (t.proc.returncode, t.text()))


def status(result_id):
    return pg.sql("SELECT status FROM ql.nonconformity WHERE result_id = '%s'" % result_id)


def main():
    with T.Env("ql_test_followup_lab") as env:
        code_a, code_b, code_c = T.credit_code(2), T.credit_code(8), T.credit_code(14)
        orig_a = T.make_doc(1, code=code_a, verdict="NONCONFORMING", lab="XMQI")
        other = followup(61, orig_a, "RECHECK", "CONFORMING", "FJQI")
        orig_b = T.make_doc(3, code=code_b, verdict="NONCONFORMING", lab="XMQI")
        same = followup(63, orig_b, "RECHECK", "CONFORMING", "XMQI")
        # The follow-ups first: each waits for its original, then is judged.
        broker.produce(env.brokers, [(d["enterprise"]["credit_code"].encode(), T.encode(d))
                                     for d in (other, same, orig_a, orig_b)])
        run_triage(env, "first")

        got = pg.sql("SELECT reason FROM ql.followup_link WHERE result_id = '%s'"
                     % other["result_id"])
        if got != ["OTHER_LAB"]:
            fail("another lab's recheck: reason %s, want OTHER_LAB" % got)
        if status(orig_a["result_id"]) != ["OPEN"]:
            fail("another lab's recheck cleared the findings: %s" % status(orig_a["result_id"]))
        if status(orig_b["result_id"]) != ["CLEARED"]:
            fail("the original's lab did not clear: %s" % status(orig_b["result_id"]))

        pg.sql('DROP ROLE IF EXISTS "%s"' % OFFICER)
        pg.sql('CREATE ROLE "%s" LOGIN IN ROLE ql_officer' % OFFICER)
        pg.sql("INSERT INTO ql.officer VALUES ('%s', '%s')" % (OFFICER, code_a[2:8]))
        waiting = as_officer("SELECT result_id, reason, lab_code FROM ql.unmatched_recheck")
        if waiting != ["%s|OTHER_LAB|FJQI" % other["result_id"]]:
            fail("the officer sees %s waiting" % waiting)
        as_officer("SELECT ql.accept_followup('%s', '委托复查')" % other["result_id"])
        if status(orig_a["result_id"]) != ["CLEARED"]:
            fail("accepted, yet not cleared: %s" % status(orig_a["result_id"]))

        # A registered lab's retest applies as soon as it is stored.
        pg.sql("INSERT INTO ql.followup_lab (lab_code) VALUES ('FJQI')")
        orig_c = T.make_doc(5, code=code_c, verdict="NONCONFORMING", lab="XMQI")
        retest = followup(9, orig_c, "RETEST", "CONFORMING", "FJQI")
        broker.produce(env.brokers, [(code_c.encode(), T.encode(d)) for d in (orig_c, retest)])
        run_triage(env, "second")
        if status(orig_c["result_id"]) != ["VOIDED"]:
            fail("a registered lab's retest did not void: %s" % status(orig_c["result_id"]))
        pg.sql('DROP OWNED BY "%s"' % OFFICER)
        pg.sql('DROP ROLE "%s"' % OFFICER)
    ok("other labs' follow-ups wait for acceptance or registration")


if __name__ == "__main__":
    main()
