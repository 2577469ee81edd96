"""ql-simlab --acts, end to end: the 湖里区 scenario's results go through
ql-spool and ql-triage into a fresh database, and its acts script runs as an
officer of 350206 (psql -U officer -f acts.sql), the way deploy/demo does.

The run starts 500 days before today, so that part of its acts lie in the
future.  Then:
- the script succeeds: every act dated up to today is recorded (the
  database refuses none: each names an open case, none is dated before its
  result, ANNOUNCED only on a case whose recheck failed), and the script's
  notice counts the ones dated after today as not recorded;
- ql.case_acts (the officer's view) holds exactly those acts, each on the
  case ql.case_plan gives for its result, with the order's 文号;
- the dates count from the acts (provisional = false): OBJECTION_WINDOW =
  served + 15, RECTIFY = order + 60, RECHECK = order + 75, SECOND_RECHECK =
  announcement + 60..90, for the results alone in their case;
- what simlab says about its results holds in the database: the results it
  wrote acts for are the nonconforming ones still open there, and 266 of
  the 314 are cleared (the headline deploy/demo prints).
"""
import datetime
import os
import re
import subprocess

import qltest
from qltest import pg, triage as T
from qltest.report import fail, ok


OFFICER = "ql_test_acts_officer"
SIMLAB = os.path.join(qltest.QL_BIN, "ql-simlab")
ROW = re.compile(r"^        \((\d+), '([^']*)', '([A-Z_]+)', DATE '([0-9-]{10})', "
                 r"(NULL|'[^']*'), '[^']*'\),?$")


def as_officer(*args):
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                        "-U", OFFICER, "-d", os.environ["QL_DB"], *args],
                       capture_output=True, text=True)
    if r.returncode:
        fail("as %s: %s: %s" % (OFFICER, args, r.stderr.strip()))
    return r


def rows(out):
    return [line.split("|") for line in out.splitlines() if line]


def day(s):
    return datetime.date.fromisoformat(s)


def main():
    tmp = None
    with T.Env("ql_test_simlab_acts") as env:
        tmp = env.tmp.path
        today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date()
        start = today - datetime.timedelta(days=500)
        spool = os.path.join(tmp, "spool")
        os.makedirs(os.path.join(spool, "incoming"))
        acts_sql = os.path.join(tmp, "acts.sql")
        subprocess.run([SIMLAB, "--scenario", "huli", "--seed", "5", "--lab", "XMQI",
                        "--start-date", start.isoformat(), "--acts", acts_sql,
                        "--out", os.path.join(spool, "incoming", "huli.jsonl")],
                       check=True)
        r = subprocess.run([os.path.join(qltest.QL_BIN, "ql-spool"), "--dir", spool,
                            "--lab", "XMQI", "--once"], env=env.environ(),
                           capture_output=True, text=True, timeout=120)
        if r.returncode:
            fail("ql-spool: %s" % r.stderr[-2000:])
        t = env.triage("--idle-exit", "3")
        if t.wait(240) != 0:
            fail("ql-triage exited %s:\n%s" % (t.proc.returncode, t.text()[-3000:]))
        if pg.count() != 3000:
            fail("%d results stored, not 3000" % pg.count())

        # The acts as written, in order.
        acts = []
        with open(acts_sql, encoding="utf-8") as f:
            for line in f:
                m = ROW.match(line.rstrip("\n"))
                if m:
                    n, rid, act, on, doc = m.groups()
                    acts.append((int(n), rid, act, day(on), None if doc == "NULL" else doc[1:-1]))
        if [a[0] for a in acts] != list(range(1, len(acts) + 1)) or len(acts) < 50:
            fail("acts.sql: %d rows, not numbered 1..n" % len(acts))
        if [a[3] for a in acts] != sorted(a[3] for a in acts):
            fail("acts.sql: not in date order")
        due = [a for a in acts if a[3] <= today]
        later = len(acts) - len(due)
        if not due or not later:
            fail("want acts on both sides of today: %d due, %d later" % (len(due), later))
        for a in acts:
            if a[2] == "RECTIFY_ORDER" and not re.fullmatch(r"湖市监责改〔%d〕[1-9][0-9]*号" % a[3].year, a[4] or ""):
                fail("order %s: document number %r" % (a[1], a[4]))
            if a[2] != "RECTIFY_ORDER" and a[4] is not None:
                fail("%s %s carries a document number" % (a[2], a[1]))

        # What simlab says is open is what the database says.
        open_db = set(pg.sql("SELECT result_id FROM ql.nonconformity n JOIN ql.inspection_result r"
                             " USING (result_id) WHERE n.status = 'OPEN'"
                             " AND r.verdict = 'NONCONFORMING'"))
        named = {a[1] for a in acts}
        if named != open_db:
            fail("acts name %d results, the database has %d open nonconforming ones; "
                 "only in acts: %s, only open: %s" % (len(named), len(open_db),
                                                      sorted(named - open_db)[:5],
                                                      sorted(open_db - named)[:5]))
        cleared = pg.sql("""
            WITH nc AS (SELECT r.result_id, bool_and(f.status IN ('CLEARED', 'VOIDED')) AS cleared
                          FROM ql.inspection_result r JOIN ql.finding f USING (result_id)
                         WHERE r.kind = 'SUPERVISION' AND r.verdict = 'NONCONFORMING'
                         GROUP BY r.result_id)
            SELECT count(*) || '/' || count(*) FILTER (WHERE cleared) FROM nc""")
        if cleared != ["314/266"]:
            fail("nonconforming/cleared in the database: %s, not 314/266" % cleared)

        # Apply as the officer.
        pg.sql('DROP ROLE IF EXISTS "%s"' % OFFICER)
        pg.sql('CREATE ROLE "%s" LOGIN IN ROLE ql_officer' % OFFICER)
        pg.sql("INSERT INTO ql.officer (login, region_prefix) VALUES ('%s', '350206')" % OFFICER)
        try:
            r = as_officer("-f", acts_sql)
            m = re.search(r"ql-simlab acts: (\d+) recorded, (\d+) dated after today not yet",
                          r.stderr)
            if not m or (int(m.group(1)), int(m.group(2))) != (len(due), later):
                fail("the script's notice: %r, want %d recorded, %d later"
                     % (r.stderr.strip(), len(due), later))

            case_of = dict(rows(as_officer("-c", "SELECT DISTINCT original_result_id, case_no"
                                                 " FROM ql.case_plan").stdout))
            got = sorted((c, a, d, doc) for c, a, d, doc in rows(as_officer(
                "-c", "SELECT case_no, act, on_date, coalesce(doc_no, '') FROM ql.case_acts"
                      " WHERE in_force").stdout))
            want = sorted((case_of[a[1]], a[2], a[3].isoformat(), a[4] or "") for a in due)
            if got != want:
                fail("ql.case_acts differs from the acts due:\n%s\n%s" % (got[:6], want[:6]))

            # Firm dates, for the results alone in their case.
            plan = rows(as_officer("-c", """
                SELECT p.original_result_id, p.action, p.due_date,
                       coalesce(p.not_before::text, ''), p.provisional
                  FROM ql.case_plan p
                 WHERE (SELECT count(DISTINCT q.original_result_id) FROM ql.case_plan q
                         WHERE q.case_no = p.case_no) = 1""").stdout)
            by = {}
            for rid, action, d, nb, prov in plan:
                by[(rid, action)] = (day(d), nb and day(nb), prov == "t")
            checked = 0
            for n, rid, act, on, doc in due:
                add = {"SERVED": [("OBJECTION_WINDOW", 15, None)],
                       "RECTIFY_ORDER": [("RECTIFY", 60, None), ("RECHECK", 75, None)],
                       "ANNOUNCED": [("SECOND_RECHECK", 90, 60)]}.get(act, [])
                for action, days, not_before in add:
                    if (rid, action) not in by:
                        continue  # a case of several results, or no such action
                    d, nb, prov = by[(rid, action)]
                    want_nb = on + datetime.timedelta(days=not_before) if not_before else nb
                    if prov or d != on + datetime.timedelta(days=days) or nb != want_nb:
                        fail("%s %s: due %s (not before %s, provisional %s) after %s on %s"
                             % (rid, action, d, nb, prov, act, on))
                    checked += 1
            if checked < 20 or not any(a[2] == "ANNOUNCED" for a in due):
                fail("only %d firm dates checked" % checked)
            firm = sum(1 for v in by.values() if not v[2])
            ok("%d acts recorded, %d after today left; %d firm dates checked, "
               "%d firm in all" % (len(due), later, checked, firm))
        finally:
            pg.sql('DROP OWNED BY "%s"' % OFFICER)
            pg.sql('DROP ROLE "%s"' % OFFICER)


if __name__ == "__main__":
    main()
