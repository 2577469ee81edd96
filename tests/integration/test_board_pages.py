"""ql-board's pages, exports and API on real data: every value escaped (an
enterprise named <script>alert(1)</script> is text), no inline script or
style (the Content-Security-Policy allows none), the security headers, the
CSV exports (BOM, the rows the view has, the formula guard), the JSON API,
the notice (责令整改通知书), progress charts, the dossier, overdue actions
longest first, the officers' workload (承办人工作量) against its view and the
board its links lead to, and the acceptance of a recheck from another lab.
"""
import csv
import html
import io
import json
import re
import urllib.parse

from qltest import board as B, pg
from qltest.report import check, ok


HULI, JIMEI = "350206", "350211"
XSS = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example/","点击")'


def no_inline(page, what):
    """Nothing the policy default-src 'self' would block."""
    check(not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page),
          "%s: an inline <script>" % what)
    check(not re.search(r"\sstyle\s*=", page), "%s: a style attribute" % what)
    check(not re.search(r"\son[a-z]+\s*=", page), "%s: an event handler attribute" % what)
    check("<style" not in page, "%s: a <style> element" % what)
    check("javascript:" not in page, "%s: a javascript: URL" % what)


# An officer's login with markup in it (PostgreSQL takes any quoted name).
XSS_LOGIN = "li<script>alert(1)</script>"
WORKLOAD_HEAD = ["承办人", "在办案件", "有逾期事项的案件", "逾期事项", "7日内到期事项",
                 "P1 紧急案件"]
WORKLOAD_COLS = ["officer", "open_cases", "overdue_cases", "overdue_actions",
                 "due_soon_actions", "p1_cases"]


def workload_view(w, login):
    """ql.officer_workload as `login` reads it, as the page's rows: the
    officer (None: unassigned) and the numbers."""
    doc = "\n".join(w.sql("SELECT coalesce(json_agg(v), '[]') FROM ql.officer_workload v",
                          user=login))
    return sorted((tuple(r[c] for c in WORKLOAD_COLS) for r in json.loads(doc)),
                  key=repr)


def table_rows(page):
    """The cells of the page's <table class="rows">, as text, with each
    row's first link."""
    body = page.split('<table class="rows">', 1)[1].split("</table>", 1)[0]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1]):
        cells = [html.unescape(re.sub(r"<[^>]*>", "", td))
                 for td in re.findall(r"<td[^>]*>(.*?)</td>", tr)]
        href = re.search(r'<a href="([^"]*)"', tr)
        rows.append((cells, html.unescape(href.group(1)) if href else None))
    return rows


def cards(page):
    """The counts at the top: label -> (number, link)."""
    return {html.unescape(l): (int(n), html.unescape(h)) for h, n, l in re.findall(
        r'<li class="count[^"]*"><a href="([^"]*)"><span class="n">(\d+)</span>'
        r'<span class="l">([^<]*)</span>', page)}


def board_api(o, href):
    """The board's JSON for a board link of the page ("/?officer=x")."""
    check(href.startswith("/?") or href == "/", "not a board link: %s" % href)
    r = o.get("/api/board" + href[1:])
    check(r.status == 200, "%s: %d %s" % (href, r.status, r.body[:200]))
    return json.loads(r.body)


def workload(w, board, o):
    """承办人工作量: the page, its CSV and JSON show ql.officer_workload as
    the officer reads it; each officer links to the board filtered by that
    officer, whose counts are the row's; the totals link to the lists they
    count; an officer of another district sees only that district."""
    w.officer("huli_zhao", "zhao-secret-3", HULI)
    w.sql('CREATE ROLE "%s" LOGIN IN ROLE ql_officer' % XSS_LOGIN)
    w.sql("INSERT INTO ql.officer (login, region_prefix) VALUES (%s, %s)"
          % (pg.literal(XSS_LOGIN), pg.literal(HULI)))
    w.officer("jimei_li", "jimei-secret-2", JIMEI)
    more = [B.credit_code(HULI, 14), B.credit_code(HULI, 15)]
    w.put("XMQI:P-4", more[0], name="厦门湖里戊贸易有限公司", days_ago=2)
    w.put("XMQI:P-5", more[1], name="厦门湖里己贸易有限公司", days_ago=30)
    jimei = [B.credit_code(JIMEI, 21), B.credit_code(JIMEI, 22)]
    w.put("XMQI:J-1", jimei[0], name="厦门集美庚贸易有限公司", days_ago=45)
    w.put("XMQI:J-2", jimei[1], name="厦门集美辛贸易有限公司", days_ago=3)

    # Nobody assigned yet: one row, 未指派, with every open case.
    r = o.get("/workload")
    check(r.status == 200, "/workload: %d %s" % (r.status, r.body[:300]))
    rows = table_rows(r.body)
    check(len(rows) == 1 and rows[0][0][0] == "未指派" and rows[0][1] == "/?officer=-",
          "before any assignment: %s" % rows)

    # Assigned through the case page's form, as huli_wang: the two oldest
    # cases (70 and 40 days) to huli_zhao, one to the login with markup, the
    # newest to huli_wang, who has stopped its sale: nothing of it overdue.
    # The case of 10 days stays unassigned.
    check(int(w.sql("SELECT count(*) FROM ql.case_board", user="huli_wang")[0]) == 5,
          "湖里 has not 5 open cases")
    for n, login in ((13, "huli_zhao"), (11, "huli_zhao"), (15, XSS_LOGIN),
                     (14, "huli_wang")):
        case = w.case_of(B.credit_code(HULI, n))
        r = o.post("/cases/%s/assign" % case, {"login": login})
        check(r.status == 303, "assign %s: %d" % (case, r.status))
        got = w.sql("SELECT officer FROM ql.enforcement_case WHERE case_no = '%s'" % case)
        check(got == [login], "%s assigned to %s, want %s" % (case, got, login))
    stop = w.sql("SELECT action_id FROM ql.plan_action WHERE case_no = '%s' "
                 "AND action = 'STOP_SALE' AND status = 'PENDING'" % case)
    check(len(stop) == 1, "the newest case has no pending STOP_SALE: %s" % stop)
    check(o.post("/actions/%s/complete" % stop[0], {"note": "已下架封存"}).status == 303,
          "complete STOP_SALE")
    li = board.client()
    check(li.login("jimei_li", "jimei-secret-2").status == 303, "jimei_li sign-in")
    jimei_case = w.case_of(jimei[0])
    check(li.post("/cases/%s/assign" % jimei_case, {"login": "jimei_li"}).status == 303,
          "jimei_li assigns")

    view = workload_view(w, "huli_wang")
    check(len(view) == 4 and None in [v[0] for v in view], "湖里's workload view: %s" % view)
    # The numbers mean something: every column counted, and no two columns
    # alike (a column shown in another's place would be seen).
    for k, col in enumerate(WORKLOAD_COLS[1:], 1):
        check(sum(v[k] for v in view) > 0, "the seeded view has no %s: %s" % (col, view))
    columns = [tuple(v[k] for v in view) for k in range(1, len(WORKLOAD_COLS))]
    check(len(set(columns)) == len(columns), "two columns of the view alike: %s" % view)

    # The page: the view's rows, most overdue actions first, escaped.
    r = o.get("/workload")
    check(r.status == 200, "/workload: %d" % r.status)
    print("workload of 湖里:", view)
    no_inline(r.body, "/workload")
    check(XSS not in r.body and XSS_LOGIN not in r.body, "/workload: a login not escaped")
    check("li&lt;script&gt;alert(1)&lt;/script&gt;" in r.body, "the login is not shown as text")
    check('<a href="/workload" class="active" aria-current="page">承办人工作量</a>' in r.body,
          "the navigation does not mark the page")
    check("<svg" in r.body and "各承办人在办案件" in r.body, "no chart of the officers")
    rows = table_rows(r.body)
    shown = sorted(((None if c[0] == "未指派" else c[0],) + tuple(int(x) for x in c[1:])
                    for c, _ in rows), key=repr)
    check(shown == view, "the page shows %s, the view has %s" % (shown, view))
    order = [int(c[3]) for c, _ in rows]
    check(order == sorted(order, reverse=True), "not most overdue first: %s" % order)
    check("jimei_li" not in r.body, "湖里's page shows 集美's officer")

    # Each officer links to the board filtered by them, with the same numbers.
    for cells, href in rows:
        login = None if cells[0] == "未指派" else cells[0]
        # Percent-encoded but for RFC 3986's unreserved characters.
        want = "/?officer=" + (urllib.parse.quote(login, safe="-_.~") if login else "-")
        check(href == want, "%s links to %s, want %s" % (cells[0], href, want))
        doc = board_api(o, href)
        got = (doc["total"], doc["counts"]["overdue"], doc["counts"]["p1"])
        check(got == (int(cells[1]), int(cells[2]), int(cells[5])),
              "%s: the board shows %s cases/overdue/P1, the page %s"
              % (cells[0], got, cells[1:]))
        check(all(c["officer"] == login for c in doc["cases"]),
              "%s: the board lists other officers' cases" % cells[0])
        page = o.get(href)
        check(page.status == 200 and XSS not in page.body,
              "%s's board: %d, escaped: %s" % (cells[0], page.status, XSS not in page.body))

    # The totals: each the count of the list it links to.
    c = cards(r.body)
    board_all = board_api(o, "/")
    for label, want in (("在办案件", board_all["total"]),
                        ("有逾期事项的案件", board_api(o, "/?overdue=1")["total"]),
                        ("P1 紧急案件", board_api(o, "/?priority=P1")["total"]),
                        ("未指派案件", board_api(o, "/?officer=-")["total"]),
                        ("逾期事项", int(w.sql("SELECT count(*) FROM ql.overdue_actions",
                                              user="huli_wang")[0])),
                        ("7日内到期事项", int(w.sql("SELECT count(*) FROM ql.due_soon",
                                                   user="huli_wang")[0]))):
        check(label in c and c[label][0] == want,
              "the count %s is %s, its list has %d" % (label, c.get(label), want))
    check(c["在办案件"][0] == sum(v[1] for v in view) == 5, "open cases: %s" % c)
    check(c["逾期事项"][1] == "/overdue" and c["未指派案件"][1] == "/?officer=-",
          "count links: %s" % c)

    # CSV: BOM, the header, the view's rows with 未指派 for no one.
    r = o.get("/workload.csv")
    check(r.status == 200 and r.raw.startswith(b"\xef\xbb\xbf")
          and "attachment" in (r.header("Content-Disposition") or ""),
          "/workload.csv: %d" % r.status)
    rows = list(csv.reader(io.StringIO(r.raw[3:].decode("utf-8"), newline="")))
    check(rows[0] == WORKLOAD_HEAD, "CSV header: %s" % rows[0])
    got = sorted(((None if row[0] == "未指派" else row[0],) + tuple(int(x) for x in row[1:])
                  for row in rows[1:]), key=repr)
    check(got == view, "CSV rows %s, the view %s" % (got, view))

    # JSON: the view's columns, typed; null for no one.
    r = o.get("/api/workload")
    check(r.status == 200 and r.header("Content-Type").startswith("application/json"),
          "/api/workload: %d" % r.status)
    doc = json.loads(r.body)["workload"]
    check(all(isinstance(d["open_cases"], int) for d in doc), "JSON types: %s" % doc)
    got = sorted((tuple(d[k] for k in WORKLOAD_COLS) for d in doc), key=repr)
    check(got == view, "JSON rows %s, the view %s" % (got, view))

    # Another district: jimei_li sees 集美's officer and unassigned case only,
    # and the board behind a 湖里 officer's link is empty for them.
    jview = workload_view(w, "jimei_li")
    check(sorted((v[0] or "", v[1]) for v in jview) == [("", 1), ("jimei_li", 1)],
          "集美's view: %s" % jview)
    doc = json.loads(li.get("/api/workload").body)["workload"]
    got = sorted((tuple(d[k] for k in WORKLOAD_COLS) for d in doc), key=repr)
    check(got == jview, "jimei_li's JSON %s, the view %s" % (got, jview))
    page = li.get("/workload").body
    for other in ("huli_zhao", "huli_wang", "li&lt;script&gt;"):
        check(other not in page, "jimei_li's page shows %s" % other)
    shown = sorted(((None if c[0] == "未指派" else c[0],) + tuple(int(x) for x in c[1:])
                    for c, _ in table_rows(page)), key=repr)
    check(shown == jview, "jimei_li's page %s, the view %s" % (shown, jview))
    check(board_api(li, "/?officer=huli_zhao")["total"] == 0,
          "jimei_li sees huli_zhao's cases on the board")
    rows = list(csv.reader(io.StringIO(li.get("/workload.csv").raw[3:].decode(),
                                       newline="")))
    check(len(rows) == 3 and sum(int(r[1]) for r in rows[1:]) == 2,
          "jimei_li's CSV: %s" % rows)


def main():
    with B.World("ql_test_board_pages") as w:
        w.officer("huli_wang", "huli-secret-1", HULI)
        xss = B.credit_code(HULI, 11)
        formula = B.credit_code(HULI, 12)
        plain = B.credit_code(HULI, 13)
        w.put("XMQI:P-1", xss, name=XSS, days_ago=40)
        w.put("XMQI:P-2", formula, name=FORMULA, days_ago=10)
        serious = [{"name": "小零件", "clause": "GB 6675.2-2014 4.4",
                    "requirement": "不应有小零件", "measured": "有", "unit": None,
                    "importance": "A", "safety": True, "verdict": "FAIL"},
                   {"name": "标识和使用说明", "clause": "5.1", "requirement": "应有警告语",
                    "measured": "无", "unit": None, "importance": "B",
                    "safety": False, "verdict": "FAIL"}]
        w.put("XMQI:P-3", plain, name="厦门湖里丁玩具有限公司", days_ago=70,
              items=serious, address="厦门市湖里区湖里大道 88 号 3 楼")
        # A recheck from a lab that is neither the original's nor registered.
        w.put("OTHERLAB:P-3R", plain, verdict="CONFORMING", days_ago=5,
              kind="RECHECK", refers_to="XMQI:P-3", name="厦门湖里丁玩具有限公司")
        case_x, case_f, case_p = w.case_of(xss), w.case_of(formula), w.case_of(plain)

        board = w.board()
        o = board.client()
        check(o.login("huli_wang", "huli-secret-1").status == 303, "sign-in")

        pages = ["/", "/board", "/cases/" + case_x, "/cases/%s/notice" % case_x,
                 "/overdue", "/progress", "/enterprises/" + xss, "/rechecks", "/stats",
                 "/workload", "/cases/" + case_p, "/?q=script"]
        for path in pages:
            r = o.get(path)
            check(r.status == 200, "%s: %d %s" % (path, r.status, r.body[:300]))
            check(r.header("Content-Type") == "text/html; charset=utf-8",
                  "%s: Content-Type %s" % (path, r.header("Content-Type")))
            csp = r.header("Content-Security-Policy") or ""
            check("default-src 'self'" in csp and "unsafe-inline" not in csp,
                  "%s: CSP %r" % (path, csp))
            check(r.header("X-Content-Type-Options") == "nosniff", path + ": nosniff")
            check(r.header("X-Frame-Options") == "DENY", path + ": framing")
            check(r.header("Cache-Control") == "no-store", path + ": cached")
            no_inline(r.body, path)
            check(XSS not in r.body, "%s: the enterprise name was not escaped" % path)
        for path in ("/", "/cases/" + case_x, "/enterprises/" + xss, "/overdue"):
            body = o.get(path).body
            check("&lt;script&gt;alert(1)&lt;/script&gt;" in body,
                  "%s: the name is not shown as text" % path)
        r = o.get("/?q=" + "%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        check(XSS not in r.body and "&lt;script&gt;" in r.body,
              "the search box echoes markup")

        # The static files, with revalidation.
        r = o.get("/static/board.css")
        check(r.status == 200 and r.header("Content-Type").startswith("text/css"),
              "board.css: %d" % r.status)
        etag = r.header("ETag")
        r = o.request("GET", "/static/board.css", headers={"If-None-Match": etag})
        check(r.status == 304, "board.css revalidation: %d" % r.status)
        check(o.get("/static/board.js").status == 200, "board.js")
        check(o.get("/static/..%2Fmain.c").status == 404, "static path escape")

        # CSV: BOM, Excel-safe cells, the rows the view has.
        r = o.get("/board.csv")
        check(r.status == 200 and r.header("Content-Type") == "text/csv; charset=utf-8",
              "board.csv: %d %s" % (r.status, r.header("Content-Type")))
        check(r.raw.startswith(b"\xef\xbb\xbf"), "board.csv has no BOM")
        check("attachment" in (r.header("Content-Disposition") or ""),
              "board.csv is not a download")
        rows = list(csv.reader(io.StringIO(r.raw[3:].decode("utf-8"), newline="")))
        check(rows[0][0] == "案件编号" and "企业名称" in rows[0], "CSV header: %s" % rows[0])
        view = w.sql("SELECT case_no FROM ql.case_board ORDER BY case_no", user="huli_wang")
        got = sorted(row[0] for row in rows[1:])
        check(got == view and len(view) == 3, "CSV rows %s, view %s" % (got, view))
        names = {row[0]: row[1] for row in rows[1:]}
        check(names[case_x] == XSS, "CSV changed a plain name: %r" % names[case_x])
        check(names[case_f] == "'" + FORMULA, "CSV formula not neutralised: %r" % names[case_f])
        check(b"\r\n" in r.raw, "CSV rows do not end in CRLF")
        for path, view_sql in (
                ("/overdue.csv", "SELECT (SELECT count(*) FROM ql.overdue_actions) + "
                                 "(SELECT count(*) FROM ql.due_soon)"),
                ("/stats.csv", "SELECT count(*) FROM ql.quality_stats"),
                ("/progress.csv", "SELECT count(*) FROM ql.zero_out_progress"),
                ("/rechecks.csv", "SELECT count(*) FROM ql.unmatched_recheck"),
                ("/workload.csv", "SELECT count(*) FROM ql.officer_workload"),
                ("/cases/%s.csv" % case_p,
                 "SELECT count(*) FROM ql.case_plan WHERE case_no = '%s'" % case_p)):
            r = o.get(path)
            check(r.status == 200 and r.raw.startswith(b"\xef\xbb\xbf"),
                  "%s: %d" % (path, r.status))
            n = len(list(csv.reader(io.StringIO(r.raw[3:].decode(), newline="")))) - 1
            want = int(w.sql(view_sql, user="huli_wang")[0])
            check(n == want and want > 0, "%s: %d rows, the view has %d" % (path, n, want))

        # JSON mirrors the pages, typed.
        r = o.get("/api/board")
        check(r.header("Content-Type").startswith("application/json"), "JSON type")
        doc = json.loads(r.body)
        check(sorted(c["case_no"] for c in doc["cases"]) == view, "JSON board rows")
        check(doc["counts"]["total"] == 3 and doc["total"] == 3, "JSON counts: %s" % doc["counts"])
        one = [c for c in doc["cases"] if c["case_no"] == case_x][0]
        check(one["enterprise_name"] == XSS and isinstance(one["overdue"], bool)
              and isinstance(one["open_findings"], int), "JSON types: %s" % one)
        doc = json.loads(o.get("/api/cases/" + case_p).body)
        check(doc["case"]["case_no"] == case_p and len(doc["plan"]) >= 5
              and doc["diagnosis"], "JSON case: %s" % list(doc))
        for path in ("/api/overdue", "/api/progress", "/api/rechecks", "/api/stats",
                     "/api/workload",
                     "/api/enterprises/" + plain, "/api/cases/%s/notice" % case_p):
            r = o.get(path)
            check(r.status == 200 and json.loads(r.body), "%s: %d" % (path, r.status))

        # Overdue: longest first, as the view counts.
        r = json.loads(o.get("/api/overdue").body)["overdue"]
        days = [a["days_overdue"] for a in r]
        check(days == sorted(days, reverse=True) and days[0] >= 70,
              "overdue order: %s" % days)

        workload(w, board, o)

        # An order to rectify recorded through the case page's form: the
        # RECTIFY date becomes firm, counted from the order (+60 days).
        def rectify():
            return w.sql("SELECT due_date || '|' || CASE WHEN provisional THEN 't' ELSE 'f' END "
                         "FROM ql.plan_action "
                         "WHERE case_no = '%s' AND action = 'RECTIFY'" % case_p)[0]
        check(rectify().endswith("|t"), "RECTIFY firm before any order: %s" % rectify())
        ordered = w.sql("SELECT (ql.cst_today() - 3)::text")[0]
        r = o.post("/cases/%s/acts" % case_p, {"act": "RECTIFY_ORDER", "on_date": ordered})
        page = o.get(r.header("Location")).body
        check("责令整改须填写文号" in page, "an order without 文号 was not refused in Chinese")
        check(rectify().endswith("|t"), "an order without 文号 was recorded")
        docno = "湖市监责改〔2026〕12号"
        r = o.post("/cases/%s/acts" % case_p, {"act": "RECTIFY_ORDER", "on_date": ordered,
                                              "doc_no": docno, "note": "当场送达"})
        check(r.status == 303, "record act: %d" % r.status)
        page = o.get(r.header("Location")).body
        check("已登记“责令整改”" in page, "no confirmation of the act")
        want_due = w.sql("SELECT ('%s'::date + 60)::text" % ordered)[0]
        check(rectify() == want_due + "|f", "RECTIFY after the order: %s, want %s|f"
              % (rectify(), want_due))
        check(docno in page and "确定" in page, "the case page does not show the act")

        # The notice: bureau, 文号, enterprise, address and code, products,
        # failed items, basis, the RECTIFY deadline, printable.
        page = o.get("/cases/%s/notice" % case_p).body
        for want in ("厦门市湖里区市场监督管理局", "责令整改通知书", docno, "厦门湖里丁玩具有限公司",
                     "厦门市湖里区湖里大道 88 号 3 楼", plain, "小零件", "塑胶玩具",
                     "《产品质量监督抽查管理暂行办法》第四十六条",
                     "《中华人民共和国产品质量法》第十七条", want_due, ordered):
            check(want in page, "the notice lacks %s" % want)
        check('class="print"' in page, "the notice has no print button")
        doc = json.loads(o.get("/api/cases/%s/notice" % case_p).body)
        check(doc["doc_no"] == docno and doc["deadline"] == want_due
              and doc["address"].startswith("厦门市湖里区"), "notice JSON: %s" % doc)

        # Revoking the order makes the date an estimate again.
        act_id = w.sql("SELECT act_id FROM ql.case_act WHERE case_no = '%s'" % case_p)[0]
        r = o.post("/acts/%s/revoke" % act_id, {"reason": "文号填错"})
        check(r.status == 303, "revoke: %d" % r.status)
        check(rectify().endswith("|t"), "RECTIFY firm after the order was revoked")
        check(docno not in o.get("/cases/%s/notice" % case_p).body,
              "the notice still names the revoked order")

        # Statistics and the monthly trend.
        page = o.get("/stats").body
        check("儿童用品" in page and "2026" in page or "20" in page, "stats table")
        page = o.get("/progress").body
        check("月度趋势" in page, "no monthly trend on the progress page")

        # Progress: SVG charts drawn by the page, with the numbers.
        page = o.get("/progress").body
        check(page.count("<svg") >= 2 and "bar-open" in page and "湖里区" in page,
              "progress charts missing")
        # The dossier.
        page = o.get("/enterprises/" + plain).body
        check("厦门湖里丁玩具有限公司" in page and case_p in page, "dossier content")

        # A recheck from another lab waits; accepting it applies it.
        page = o.get("/rechecks").body
        check("OTHERLAB:P-3R" in page and "/rechecks/accept" in page,
              "the other lab's recheck is not listed")
        if "/rechecks/accept" in page:
            r = o.post("/rechecks/accept", {"result_id": "OTHERLAB:P-3R",
                                            "note": "经核实由我局委托"})
            check(r.status == 303 and r.header("Location") == "/rechecks",
                  "accept: %d" % r.status)
            page = o.get("/rechecks").body
            check("已确认" in page and "OTHERLAB:P-3R" not in page.split("</h1>", 1)[1]
                  .split("<footer")[0].replace("已确认", ""),
                  "the accepted recheck still waits")
            st = w.sql("SELECT status FROM ql.finding WHERE result_id = 'XMQI:P-3'")
            check(set(st) == {"CLEARED"}, "accepted recheck did not clear: %s" % st)
        else:
            print("note: ql.accept_followup not in this database; acceptance not tested")
        # A migration that adds a column to a view under a signed-in
        # session: the statement is prepared again, the page still shows.
        check("湖里区" in o.get("/progress").body, "progress before the change")
        w.sql("DO $$ BEGIN EXECUTE format('CREATE OR REPLACE VIEW ql.zero_out_summary "
              "WITH (security_barrier) AS SELECT v.*, 1 AS added_later FROM (%s) v', "
              "rtrim(pg_get_viewdef('ql.zero_out_summary'), ';')); END $$")
        r = o.get("/progress")
        check(r.status == 200 and "湖里区" in r.body,
              "a view changed under the session: %d %s" % (r.status, r.body[-400:]))

        # A database without ql.officer_workload: the page says so (501)
        # instead of failing, for a session signed in after it went.
        w.sql("DROP VIEW ql.officer_workload")
        old = board.client()
        check(old.login("huli_wang", "huli-secret-1").status == 303, "sign-in (old schema)")
        r = old.get("/workload")
        check(r.status == 501 and "ql.officer_workload" in r.body,
              "/workload without the view: %d %s" % (r.status, r.body[-300:]))
        r = old.get("/api/workload")
        check(r.status == 501 and "error" in json.loads(r.body),
              "/api/workload without the view: %d" % r.status)
    ok("pages escape, export and serve as the views say")


if __name__ == "__main__":
    main()
