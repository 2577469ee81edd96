"""ql-board: closing a case takes two people.  Three failed rechecks bring
an enterprise to LICENSE_REVOCATION; an officer completes it on the case
page, which then asks for a supervisor's confirmation.  The officer who
completed it, and an officer who is not a supervisor, are refused (the
database's reasons shown in Chinese); a supervisor of the region confirms,
and the case is CLOSED, off the board and without forms.  On the way, the
completion is undone through the reopen form (the action is PENDING
again), and reopening a pending action is refused in Chinese.
"""

from qltest import board as B
from qltest.report import check, ok


HULI = "350206"


def main():
    with B.World("ql_test_board_close") as w:
        w.officer("huli_wang", "wang-pw-1", HULI)
        w.officer("huli_chief", "chief-pw-2", HULI, supervisor=True)
        code = B.credit_code(HULI, 31)
        w.put("XMQI:C-0", code, name="厦门湖里屡查不改商行", days_ago=300)
        for k, days in enumerate((220, 140, 60), start=1):
            w.put("XMQI:C-R%d" % k, code, name="厦门湖里屡查不改商行", days_ago=days,
                  kind="RECHECK", refers_to="XMQI:C-0")
        case = w.case_of(code)
        check(case, "no open case")
        rows = w.sql("SELECT action_id FROM ql.plan_action WHERE case_no = '%s' "
                     "AND action = 'LICENSE_REVOCATION' AND status = 'PENDING'" % case)
        check(len(rows) == 1, "no pending LICENSE_REVOCATION after three failed "
              "rechecks: %s" % w.sql("SELECT action || ':' || status FROM ql.plan_action "
                                     "WHERE case_no = '%s'" % case))
        revoke = rows[0]

        board = w.board()
        wang, chief = board.client(), board.client()
        check(wang.login("huli_wang", "wang-pw-1").status == 303, "wang signs in")
        check(chief.login("huli_chief", "chief-pw-2").status == 303, "chief signs in")

        # Complete, reopen (the form's undo), complete again.
        r = wang.post("/actions/%s/complete" % revoke, {"note": "已作出吊销决定"})
        check(r.status == 303, "complete: %d" % r.status)
        page = wang.get("/cases/" + case).body
        check("待确认结案" in page and "confirm-close" in page,
              "the case page does not ask for the close")
        r = wang.post("/actions/%s/reopen" % revoke, {"reason": "决定书有误"})
        page = wang.get(r.header("Location")).body
        check("已撤销完成" in page, "reopen: no confirmation")
        check(w.sql("SELECT status FROM ql.plan_action WHERE action_id = %s" % revoke)
              == ["PENDING"], "the reopened action is not PENDING")
        r = wang.post("/actions/%s/reopen" % revoke, {"reason": "再来一次"})
        page = wang.get(r.header("Location")).body
        check("不能重新打开" in page, "reopening a pending action: no Chinese refusal")
        r = wang.post("/actions/%s/complete" % revoke, {"note": "已重新作出吊销决定"})
        revoke = w.sql("SELECT action_id FROM ql.plan_action WHERE case_no = '%s' "
                       "AND action = 'LICENSE_REVOCATION'" % case)[0]

        # Not a supervisor: refused, in Chinese.
        r = wang.post("/cases/%s/confirm-close" % case, {})
        page = wang.get(r.header("Location")).body
        check("只有本辖区的审核人员可以确认结案" in page,
              "a non-supervisor's confirmation: no refusal shown")
        check(w.sql("SELECT status FROM ql.enforcement_case WHERE case_no = '%s'" % case)
              != ["CLOSED"], "a non-supervisor closed the case")
        # Without the CSRF token: 403.
        r = chief.post("/cases/%s/confirm-close" % case, {}, csrf=False)
        check(r.status == 403, "confirm-close without the token: %d" % r.status)
        # The supervisor confirms.
        r = chief.post("/cases/%s/confirm-close" % case, {})
        check(r.status == 303, "confirm-close: %d" % r.status)
        page = chief.get(r.header("Location")).body
        check("已确认结案" in page, "no confirmation of the close")
        check(w.sql("SELECT status FROM ql.enforcement_case WHERE case_no = '%s'" % case)
              == ["CLOSED"], "the case is not CLOSED")
        # Closed: off the board, its page says so and offers no forms.
        check(case not in chief.get("/").body, "a closed case on the board")
        page = chief.get("/cases/" + case).body
        check("已结案" in page and "/acts\"" not in page and "/assign\"" not in page,
              "a closed case still offers forms")
    ok("a close takes an officer and a supervisor")


if __name__ == "__main__":
    main()
