"""ql-board over HTTP: sign-in right and wrong, sessions (cookie flags,
sign-out, idle expiry), the CSRF token on every form, and two officers of
different districts who see different boards and can neither open nor act
on each other's cases -- the database's row-level security and officer
functions deciding, on each officer's own connection.
"""
import time

from qltest import board as B
from qltest.report import check, ok


HULI, JIMEI = "350206", "350211"


def main():
    with B.World("ql_test_board_http") as w:
        w.officer("huli_wang", "huli-secret-1", HULI)
        w.officer("jimei_li", "jimei-secret-2", JIMEI)
        w.officer("huli_zhao", "zhao-secret-3", HULI)
        w.sql("CREATE ROLE not_an_officer LOGIN PASSWORD 'x-secret-4'")
        a = B.credit_code(HULI, 1)
        b = B.credit_code(HULI, 2)
        c = B.credit_code(JIMEI, 3)
        w.put("XMQI:H-1", a, name="厦门湖里甲贸易有限公司")
        w.put("XMQI:H-2", b, name="厦门湖里乙贸易有限公司", days_ago=3)
        w.put("XMQI:J-1", c, name="厦门集美丙贸易有限公司")
        case_a, case_b, case_c = w.case_of(a), w.case_of(b), w.case_of(c)
        check(case_a and case_b and case_c, "the fixtures opened no cases")

        board = w.board()
        anon = board.client()

        # Not signed in: pages send to the sign-in form, exports answer 401.
        r = anon.get("/")
        check(r.status == 303 and r.header("Location") == "/login",
              "GET / without a session: %d %s" % (r.status, r.header("Location")))
        r = anon.get("/board.csv")
        check(r.status == 401, "CSV without a session: %d" % r.status)
        r = anon.get("/api/board")
        check(r.status == 401 and '"error"' in r.body, "JSON without a session: %d" % r.status)
        r = anon.get("/login")
        check(r.status == 200 and 'name="password"' in r.body, "no sign-in form")

        # Wrong credentials: the form again, 401, and no cookie.
        wrong = board.client()
        r = wrong.login("huli_wang", "not-the-password")
        check(r.status == 401, "wrong password answered %d" % r.status)
        check("账号或密码不正确" in r.body and 'name="password"' in r.body,
              "the form with the error was not shown again")
        check(wrong.cookie is None, "a cookie was set for a wrong password")
        r = wrong.login("nobody_here", "whatever")
        check(r.status == 401, "unknown login answered %d" % r.status)
        r = wrong.login("not_an_officer", "x-secret-4")
        check(r.status == 401 and "不是案件承办人" in r.body,
              "a login outside ql_officer was let in: %d" % r.status)
        r = wrong.login("forger\n2026-01-01T00:00:00Z INFO  ql-board: forged", "x")
        check(r.status == 401, "a login with a newline: %d" % r.status)
        r = wrong.login("postgres", "anything")
        check(r.status == 401, "postgres without its password: %d" % r.status)

        # Right credentials: a session cookie with the right flags.
        wang = board.client()
        r = wang.request("POST", "/login", fields={"login": "huli_wang",
                                                   "password": "huli-secret-1"})
        check(r.status == 303 and r.header("Location") == "/",
              "sign-in answered %d %s" % (r.status, r.body[:300]))
        sc = r.header("Set-Cookie") or ""
        for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
            check(flag in sc, "ql_session cookie without %s: %s" % (flag, sc))
        check("Secure" not in sc, "Secure cookie over plain HTTP: %s" % sc)
        check(wang.cookie and len(wang.cookie) == 64, "session id: %r" % wang.cookie)
        r = wang.get("/")
        check(r.status == 200 and "案件看板" in r.body, "board after sign-in: %d" % r.status)
        check(wang.csrf, "no CSRF token on the board")

        li = board.client()
        check(li.login("jimei_li", "jimei-secret-2").status == 303, "jimei_li sign-in")

        # Two districts, two boards.
        wb = wang.get("/").body
        lb = li.get("/").body
        check(case_a in wb and case_b in wb and case_c not in wb,
              "huli_wang's board: %s %s %s" % (case_a in wb, case_b in wb, case_c in wb))
        check(case_c in lb and case_a not in lb and case_b not in lb,
              "jimei_li's board shows other districts' cases")
        # ... and neither opens the other's case, its notice or its enterprise.
        for path in ("/cases/" + case_c, "/cases/%s/notice" % case_c,
                     "/enterprises/" + c, "/api/cases/" + case_c):
            r = wang.get(path)
            check(r.status == 404, "huli_wang opened %s: %d" % (path, r.status))
        check(li.get("/cases/" + case_a).status == 404, "jimei_li opened " + case_a)
        check(wang.get("/cases/" + case_a).status == 200, "huli_wang's own case")

        # Posting to another district's case: refused by the database.
        r = wang.post("/cases/%s/assign" % case_c, {"login": "huli_wang"})
        check(r.status == 303, "assign to another district: %d" % r.status)
        r = wang.get(r.header("Location"))
        officer = w.sql("SELECT coalesce(officer, '-') FROM ql.enforcement_case "
                        "WHERE case_no = '%s'" % case_c)
        check(officer == ["-"], "huli_wang assigned jimei's case: %s" % officer)
        action_c = w.sql("SELECT min(action_id) FROM ql.plan_action WHERE case_no = '%s' "
                         "AND status = 'PENDING'" % case_c)[0]
        r = wang.post("/actions/%s/complete" % action_c, {"note": "越权"})
        check(r.status == 404, "complete another district's action: %d" % r.status)
        check(w.sql("SELECT status FROM ql.plan_action WHERE action_id = %s" % action_c)
              == ["PENDING"], "another district's action was completed")

        # CSRF: without the token, or with another session's, 403 and nothing done.
        action_a = w.sql("SELECT min(action_id) FROM ql.plan_action WHERE case_no = '%s' "
                         "AND status = 'PENDING'" % case_a)[0]
        r = wang.post("/actions/%s/complete" % action_a, {"note": "无令牌"}, csrf=False)
        check(r.status == 403, "POST without the CSRF token: %d" % r.status)
        r = wang.post("/actions/%s/complete" % action_a, {"note": "他人令牌",
                                                          "csrf": li.csrf})
        check(r.status == 403, "POST with another session's token: %d" % r.status)
        r = wang.post("/cases/%s/assign" % case_a, {"login": "huli_wang"}, csrf=False)
        check(r.status == 403, "assign without the CSRF token: %d" % r.status)
        r = wang.post("/logout", {}, csrf=False)
        check(r.status == 403, "sign-out without the CSRF token: %d" % r.status)
        check(w.sql("SELECT status FROM ql.plan_action WHERE action_id = %s" % action_a)
              == ["PENDING"], "a POST without a valid token changed the action")

        # With the token: done, redirected back to the case with a message.
        r = wang.post("/actions/%s/complete" % action_a, {"note": "已责令停售，封存库存"})
        check(r.status == 303 and r.header("Location") == "/cases/" + case_a,
              "complete: %d %s" % (r.status, r.header("Location")))
        page = wang.get("/cases/" + case_a).body
        check("已标记完成" in page, "no confirmation after completing")
        row = w.sql("SELECT a.status, c.note, c.completed_by FROM ql.plan_action a "
                    "JOIN ql.action_completion c USING (about_result_id, action) "
                    "WHERE a.action_id = %s" % action_a)
        check(row == ["DONE|已责令停售，封存库存|huli_wang"], "after complete: %s" % row)
        # Completing it again: the function refuses, the officer reads why.
        r = wang.post("/actions/%s/complete" % action_a, {"note": "again"})
        page = wang.get(r.header("Location")).body
        check("操作未被接受" in page and "只有待办事项可以办结" in page,
              "the function's refusal of a done action is not shown")

        # Assign within the district: to a colleague, then to an outsider.
        r = wang.post("/cases/%s/assign" % case_a, {"login": "huli_zhao"})
        check(r.status == 303, "assign: %d" % r.status)
        check(w.sql("SELECT officer FROM ql.enforcement_case WHERE case_no = '%s'"
                    % case_a) == ["huli_zhao"], "case not assigned to huli_zhao")
        r = wang.post("/cases/%s/assign" % case_a, {"login": "jimei_li"})
        page = wang.get(r.header("Location")).body
        check("操作未被接受" in page and "不负责辖区" in page,
              "assigning to an officer of another district: no refusal shown")
        check(w.sql("SELECT officer FROM ql.enforcement_case WHERE case_no = '%s'"
                    % case_a) == ["huli_zhao"], "case assigned outside the district")

        # Filters narrow the board.
        r = wang.get("/?officer=huli_zhao")
        check(case_a in r.body and case_b not in r.body, "officer filter")
        r = wang.get("/?officer=-")
        check(case_b in r.body and case_a not in r.body, "unassigned filter")
        r = wang.get("/?status=CLOSED")
        check(r.status == 400, "an unknown status value: %d" % r.status)

        # A body over the limit: 413.
        r = wang.request("POST", "/cases/%s/assign" % case_a,
                         body=b"login=" + b"x" * 70000 + b"&csrf=" + wang.csrf.encode())
        check(r.status == 413, "oversized form: %d" % r.status)

        # Sign-out ends the session: the old cookie stops working.
        old = wang.cookie
        r = wang.post("/logout", {})
        check(r.status == 303 and r.header("Location") == "/login",
              "sign-out: %d" % r.status)
        check("Max-Age=0" in (r.header("Set-Cookie") or ""), "cookie not cleared")
        ghost = board.client()
        ghost.cookie = old
        r = ghost.get("/")
        check(r.status == 303 and r.header("Location") == "/login",
              "the signed-out session still works: %d" % r.status)

        # Throttling: five wrong passwords for a login, then even the right
        # one waits.
        t = board.client()
        for _ in range(5):
            check(t.login("huli_zhao", "wrong").status == 401, "wrong password")
        r = t.login("huli_zhao", "zhao-secret-3")
        check(r.status == 429 and "登录失败次数过多" in r.body,
              "sign-in after five failures: %d" % r.status)

        # Operations endpoints.
        r = anon.get("/healthz")
        check(r.status == 200, "/healthz: %d" % r.status)
        r = anon.get("/readyz")
        check(r.status == 200, "/readyz: %d %s" % (r.status, r.body))
        r = B.Client(board.metrics_port).get("/readyz")
        check(r.status == 200 and r.body.startswith("ready"), "metrics /readyz: %d" % r.status)
        m = B.Client(board.metrics_port).get("/metrics").body
        check('ql_board_logins_total{outcome="ok"} 2' in m,
              "sign-ins not counted:\n" + m[-1500:])
        check('ql_board_logins_total{outcome="throttled"} 1' in m, "throttle not counted")
        check("ql_board_csrf_refused_total 4" in m, "CSRF refusals not counted")

        # Nothing of a password or a session id in the log.
        log = board.text()
        for secret in ("huli-secret-1", "jimei-secret-2", "zhao-secret-3", "x-secret-4",
                       "not-the-password", old, li.cookie):
            check(secret not in log, "the log holds a secret: %s" % secret[:6])
        check("huli_wang signed in" in log, "sign-ins are not logged")
        check("\n2026-01-01T00:00:00Z INFO  ql-board: forged" not in log,
              "a login forged a log line")

        # Idle expiry: a board with a 2 s timeout.
        short = w.board("short", QL_BOARD_IDLE_TIMEOUT="2")
        s = short.client()
        check(s.login("jimei_li", "jimei-secret-2").status == 303, "sign-in (short)")
        check(s.get("/").status == 200, "board (short)")
        time.sleep(3.5)
        r = s.get("/")
        check(r.status == 303 and r.header("Location") == "/login",
              "a session idle past the timeout still works: %d" % r.status)
        r = s.get("/api/board")
        check(r.status == 401, "expired session, JSON: %d" % r.status)
    ok("sign-in, sessions, CSRF and district separation")


if __name__ == "__main__":
    main()
