"""ql-board in a real browser: Debian's headless Chromium driven by
chromedriver (python3-selenium).  An officer signs in, filters the board
(the select submits itself: the page's script runs under the
Content-Security-Policy), opens a case, completes an action with a note,
downloads the board's CSV, opens the rectification notice, and goes from
the officers' workload (承办人工作量, reached by the navigation) to the board
filtered by one officer.  A screenshot of every page is kept under the build tree
(build/tests/board-screenshots/) for a person to look at; the browser's
console must hold no error (a blocked script or style would show there).
"""
import csv
import io
import os
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

import qltest
from qltest import board as B
from qltest.report import check, ok

SHOTS = os.environ.get("QL_BOARD_SHOTS",
                       os.path.join(qltest.QL_BIN, "..", "tests", "board-screenshots"))

NAMES = ["厦门湖里星趣玩具有限公司", "厦门市湖里区乐乐母婴用品店", "厦门禾山电器商行",
         "厦门金山灯具有限公司", "厦门殿前服装店", "厦门江头日用品超市",
         "厦门集美学村文具店", "厦门杏林电线电缆有限公司"]


def seed(w):
    """A small district: cases of several ages and priorities in 湖里 and
    one in 集美."""
    serious = [{"name": "小零件", "clause": "GB 6675.2-2014 4.4", "requirement": "不应有小零件",
                "measured": "有", "unit": None, "importance": "A", "safety": True,
                "verdict": "FAIL"}]
    for i, name in enumerate(NAMES):
        region = "350211" if "集美" in name or "杏林" in name else "350206"
        code = B.credit_code(region, 100 + i)
        w.put("XMQI:B-%d" % i, code, name=name, days_ago=[80, 50, 20, 5, 62, 1, 30, 12][i],
              items=serious if i % 3 == 0 else None)
    # A second nonconformity of the same enterprise: two GENERAL findings.
    w.put("XMQI:B-9", B.credit_code("350206", 101), name=NAMES[1], days_ago=4)


def driver(download_dir, profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--user-data-dir=" + profile,
                 "--window-size=1400,1000", "--lang=zh-CN"):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {
        "download.default_directory": download_dir,
        "download.prompt_for_download": False,
        "safebrowsing.enabled": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.set_page_load_timeout(30)
    # Headless Chromium asks before downloading unless told where to.
    d.execute_cdp_cmd("Page.setDownloadBehavior",
                      {"behavior": "allow", "downloadPath": download_dir})
    return d


def shot(d, name):
    os.makedirs(SHOTS, exist_ok=True)
    path = os.path.join(SHOTS, name + ".png")
    # The whole page, not only the window.
    height = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(1400, max(900, min(int(height) + 40, 4000)))
    d.save_screenshot(path)
    d.set_window_size(1400, 1000)
    return path


def console_errors(d):
    """Errors in the console: a script or style the policy blocked, a
    script error.  The sign-in form's deliberate 401 and the missing
    favicon are expected."""
    return [e for e in d.get_log("browser") if e.get("level") == "SEVERE"
            and "favicon.ico" not in e.get("message", "")
            and "status of 401" not in e.get("message", "")]


def main():
    with B.World("ql_test_board_browser") as w:
        w.officer("huli_wang", "huli-secret-1", "350206")
        seed(w)
        board = w.board()
        base = "http://" + board.addr
        downloads = os.path.join(w.tmp, "downloads")
        profile = os.path.join(w.tmp, "chromium-profile")
        os.makedirs(downloads)
        os.makedirs(profile)
        d = driver(downloads, profile)
        wait = WebDriverWait(d, 20)
        try:
            d.get(base + "/")
            wait.until(lambda d: d.find_elements(By.NAME, "password"))
            check("/login" in d.current_url, "not sent to sign in: " + d.current_url)
            shot(d, "01-login")
            d.find_element(By.NAME, "login").send_keys("huli_wang")
            d.find_element(By.NAME, "password").send_keys("wrong")
            d.find_element(By.CSS_SELECTOR, "form.login button").click()
            wait.until(lambda d: "账号或密码不正确" in d.page_source)
            d.find_element(By.NAME, "password").send_keys("huli-secret-1")
            d.find_element(By.CSS_SELECTOR, "form.login button").click()
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "table.rows"))
            check(d.title.startswith("案件看板"), "board title: " + d.title)
            rows = d.find_elements(By.CSS_SELECTOR, "table.rows tbody tr")
            check(len(rows) == 6, "湖里 has 6 open cases, the board shows %d" % len(rows))
            check("厦门集美学村文具店" not in d.page_source, "another district's case shown")
            shot(d, "02-board")

            # Filter: choosing P1 submits the form by itself (board.js).
            Select(d.find_element(By.NAME, "priority")).select_by_value("P1")
            wait.until(lambda d: "priority=P1" in d.current_url)
            rows = d.find_elements(By.CSS_SELECTOR, "table.rows tbody tr")
            want = int(w.sql("SELECT count(*) FROM ql.case_board WHERE priority = 'P1'",
                             user="huli_wang")[0])
            check(len(rows) == want and want > 0,
                  "P1 filter: %d rows, the view has %d" % (len(rows), want))
            shot(d, "03-board-p1")

            # Open the first case.
            link = d.find_element(By.CSS_SELECTOR, "table.rows tbody tr td a")
            case_no = link.text
            link.click()
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "ol.timeline"))
            check(case_no in d.title, "case page title: " + d.title)
            check("把脉问诊" in d.page_source and "整改方案" in d.page_source,
                  "case page sections")
            shot(d, "04-case")

            # Complete the first pending action with a note.
            form = d.find_element(By.CSS_SELECTOR, "ol.timeline form.inline")
            action_id = form.get_attribute("action").rstrip("/").split("/")[-2]
            form.find_element(By.NAME, "note").send_keys("已现场检查，责令停售并封存库存")
            form.find_element(By.CSS_SELECTOR, "button").click()
            wait.until(lambda d: "已标记完成" in d.page_source)
            st = w.sql("SELECT status FROM ql.plan_action WHERE action_id = %s" % action_id)
            check(st == ["DONE"], "the action is %s after the form" % st)
            check("已现场检查，责令停售并封存库存" in d.page_source, "the note is not shown")
            shot(d, "05-case-completed")

            # Record a 责令整改 with its 文号: RECTIFY's date becomes firm,
            # the order date + 60.
            ordered = w.sql("SELECT (ql.cst_today() - 2)::text")[0]
            form = d.find_element(By.CSS_SELECTOR, "form.act-form")
            Select(form.find_element(By.NAME, "act")).select_by_value("RECTIFY_ORDER")
            on = form.find_element(By.NAME, "on_date")
            d.execute_script("arguments[0].value = arguments[1]", on, ordered)
            form.find_element(By.NAME, "doc_no").send_keys("湖市监责改〔2026〕7号")
            form.find_element(By.CSS_SELECTOR, "button").click()
            wait.until(lambda d: "已登记" in d.page_source)
            due = w.sql("SELECT ('%s'::date + 60)::text" % ordered)[0]
            steps = [li for li in d.find_elements(By.CSS_SELECTOR, "ol.timeline li.step")
                     if "限期整改" in li.text]
            check(steps, "no RECTIFY step on the case page")
            check(due in steps[0].text and "确定" in steps[0].text,
                  "RECTIFY is not firm at %s: %r" % (due, steps[0].text))
            check("湖市监责改〔2026〕7号" in d.page_source, "the act is not listed")
            shot(d, "05b-case-order-recorded")

            # The board's CSV, downloaded by the browser.
            d.get(base + "/")
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "table.rows"))
            d.find_element(By.CSS_SELECTOR, "p.tools a.button").click()
            deadline = time.time() + 20
            files = []
            while time.time() < deadline:
                files = [f for f in os.listdir(downloads) if f.endswith(".csv")]
                if files:
                    break
                time.sleep(0.2)
            check(files, "no CSV downloaded: %s" % os.listdir(downloads))
            raw = open(os.path.join(downloads, files[0]), "rb").read()
            check(raw.startswith(b"\xef\xbb\xbf"), "the downloaded CSV has no BOM")
            rows = list(csv.reader(io.StringIO(raw[3:].decode(), newline="")))
            check(len(rows) == 7 and rows[0][0] == "案件编号",
                  "downloaded CSV: %d rows, header %s" % (len(rows), rows[0]))

            # The notice.
            d.get(base + "/cases/%s/notice" % case_no)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "article.notice"))
            text = d.find_element(By.CSS_SELECTOR, "article.notice").text
            for want in ("责令整改通知书", "厦门市湖里区市场监督管理局", "第四十六条",
                         "湖市监责改〔2026〕7号", due):
                check(want in text, "the notice lacks " + want)
            shot(d, "06-notice")

            for path, name in (("/overdue", "07-overdue"), ("/progress", "08-progress"),
                               ("/rechecks", "09-rechecks"), ("/stats", "10-stats"),
                               ("/enterprises/" + B.credit_code("350206", 100),
                                "11-enterprise")):
                d.get(base + path)
                wait.until(lambda d: d.find_elements(By.TAG_NAME, "footer"))
                shot(d, name)

            # 承办人工作量: two cases to huli_wang, one to huli_zhao, the rest
            # unassigned; from the navigation to the page, from an officer
            # to the board filtered by them.
            w.officer("huli_zhao", "zhao-secret-3", "350206")
            cases = w.sql("SELECT case_no FROM ql.case_board ORDER BY case_no",
                          user="huli_wang")
            for case, login in zip(cases, ["huli_wang", "huli_wang", "huli_zhao"]):
                w.sql("SELECT ql.assign_case('%s', '%s')" % (case, login), user="huli_wang")
            d.find_element(By.LINK_TEXT, "承办人工作量").click()
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "table.rows"))
            check(d.title.startswith("承办人工作量"), "workload title: " + d.title)
            view = w.sql("SELECT coalesce(officer, '未指派') || ' ' || open_cases || ' ' || "
                         "overdue_cases || ' ' || overdue_actions || ' ' || due_soon_actions "
                         "|| ' ' || p1_cases FROM ql.officer_workload", user="huli_wang")
            shown = [" ".join(td.text for td in tr.find_elements(By.TAG_NAME, "td"))
                     for tr in d.find_elements(By.CSS_SELECTOR, "table.rows tbody tr")]
            check(sorted(shown) == sorted(view) and len(view) == 3,
                  "the workload page shows %s, the view has %s" % (shown, view))
            check(d.find_elements(By.CSS_SELECTOR, "svg.chart"), "no workload chart")
            shot(d, "12-workload")
            d.find_element(By.LINK_TEXT, "huli_wang").click()
            wait.until(lambda d: "officer=huli_wang" in d.current_url
                       and d.find_elements(By.CSS_SELECTOR, "table.rows"))
            rows = d.find_elements(By.CSS_SELECTOR, "table.rows tbody tr")
            check(len(rows) == 2 and all("huli_wang" in r.text for r in rows),
                  "the board of huli_wang shows %d rows" % len(rows))
            shot(d, "13-board-officer")
            errs = console_errors(d)
            check(not errs, "browser console errors: %s" % errs)
        finally:
            d.quit()
        print("screenshots in " + os.path.abspath(SHOTS))
    ok("the workbench works in Chromium")


if __name__ == "__main__":
    main()
