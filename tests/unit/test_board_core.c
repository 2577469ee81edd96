/*
 * Unit tests for ql-board's pure modules: HTML escaping (content,
 * attributes, URL components, invalid UTF-8 and control characters), CSV
 * cells (quoting, the formula guard), form decoding, path routing with its
 * parameter checks, the sign-in throttle's policy, the session table
 * (ids, expiry, sign-out), and the officer column of a table (a result
 * made by libpq itself, no server: a link to the board filtered by the
 * officer, 未指派 for no one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bd_buf.h"
#include "bd_csv.h"
#include "bd_form.h"
#include "bd_html.h"
#include "bd_page.h"
#include "bd_route.h"
#include "bd_session.h"
#include "bd_throttle.h"
#include "bd_titles.h"

static char *txt(void (*fn)(bd_buf_t *, const char *), const char *s)
{
        bd_buf_t b = {0};
        fn(&b, s);
        size_t n;
        return bd_buf_take(&b, &n);
}

static void test_html_txt(void **state)
{
        char *s = txt(bd_html_txt, "<script>alert(1)</script> & \"'");
        assert_string_equal(s, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; "
                               "&quot;&#39;");
        free(s);
        s = txt(bd_html_txt, "厦门市第1商行\t甲\n乙");
        assert_string_equal(s, "厦门市第1商行\t甲\n乙");
        free(s);
        /* Control characters and broken UTF-8 become U+FFFD. */
        s = txt(bd_html_txt, "a\x01"
                             "b\xff"
                             "c\xe5\x8e"
                             "d");
        assert_string_equal(s, "a\xEF\xBF\xBD"
                               "b\xEF\xBF\xBD"
                               "c\xEF\xBF\xBD"
                               "\xEF\xBF\xBD"
                               "d");
        free(s);
        /* An overlong encoding of '<' is not let through as one. */
        s = txt(bd_html_txt, "\xc0\xbc");
        assert_null(strchr(s, '<'));
        assert_null(strstr(s, "\xc0"));
        free(s);
        s = txt(bd_html_txt, NULL);
        assert_string_equal(s, "");
        free(s);
}

static void test_html_attr_and_url(void **state)
{
        char *s = txt(bd_html_attr, "\" onmouseover=\"x\nline");
        assert_string_equal(s, "&quot; onmouseover=&quot;x&#10;line");
        free(s);
        s = txt(bd_html_url_arg, "QL-2026-00001/../x?a=1&b=<\"> 湖");
        assert_string_equal(s,
                            "QL-2026-00001%2F..%2Fx%3Fa%3D1%26b%3D%3C%22%3E%20"
                            "%E6%B9%96");
        free(s);
        assert_true(bd_html_valid_utf8("湖里", strlen("湖里")));
        assert_false(bd_html_valid_utf8("a\0b", 3));
        assert_false(bd_html_valid_utf8("\xed\xa0\x80", 3)); /* surrogate */
}

static char *csv(const char *cell, int numeric)
{
        bd_buf_t b = {0};
        bd_csv_cell(&b, cell, 1, numeric);
        bd_csv_cell(&b, "x", 0, 0);
        size_t n;
        return bd_buf_take(&b, &n);
}

static void test_csv_cells(void **state)
{
        char *s = csv("plain", 0);
        assert_string_equal(s, "\"plain\",\"x\"");
        free(s);
        s = csv("say \"hi\", then\r\nleave", 0);
        assert_string_equal(s, "\"say \"\"hi\"\", then\r\nleave\",\"x\"");
        free(s);
        const char *danger[] = {"=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"};
        for (size_t i = 0; i < sizeof(danger) / sizeof(danger[0]); i++) {
                s = csv(danger[i], 0);
                assert_int_equal(s[0], '"');
                assert_int_equal(s[1], '\'');
                free(s);
        }
        s = csv("-5", 1); /* a number from the database stays a number */
        assert_string_equal(s, "\"-5\",\"x\"");
        free(s);
        s = csv(NULL, 0);
        assert_string_equal(s, "\"\",\"x\"");
        free(s);
        bd_buf_t b = {0};
        bd_csv_bom(&b);
        assert_memory_equal(b.data, "\xEF\xBB\xBF", 3);
        bd_buf_free(&b);
}

static void test_form(void **state)
{
        bd_form_t f;
        const char *body =
            "login=wang&password=p%40ss+w%C3%B6rd&csrf=ab&empty=&login=x";
        assert_int_equal(bd_form_parse(&f, body, strlen(body)), 0);
        assert_string_equal(bd_form_get(&f, "login"), "wang"); /* first wins */
        assert_string_equal(bd_form_get(&f, "password"), "p@ss w\xc3\xb6rd");
        assert_string_equal(bd_form_get(&f, "empty"), "");
        assert_null(bd_form_get(&f, "nothing"));
        bd_form_clear(&f);
        assert_int_equal(bd_form_parse(&f, "a=%zz", 5), -1);
        assert_int_equal(bd_form_parse(&f, "a=%4", 4), -1);
        assert_int_equal(bd_form_parse(&f, "a=%ff", 5), -1); /* not UTF-8 */
        assert_int_equal(bd_form_parse(&f, "a=%00", 5), -1);
        /* Not NUL-terminated: only n bytes are read. */
        assert_int_equal(bd_form_parse(&f, "note=abcdef", 8), 0);
        assert_string_equal(bd_form_get(&f, "note"), "abc");
        bd_form_clear(&f);
        char many[40 * 4 + 1] = "";
        for (int i = 0; i < 40; i++)
                strcat(many, "a=1&");
        assert_int_equal(bd_form_parse(&f, many, strlen(many)), -1);
}

static void test_routes(void **state)
{
        bd_route_t r;
        bd_route_match("/", 0, &r);
        assert_int_equal(r.id, BD_R_BOARD);
        assert_int_equal(r.format, BD_FMT_HTML);
        bd_route_match("/board.csv", 0, &r);
        assert_int_equal(r.id, BD_R_BOARD);
        assert_int_equal(r.format, BD_FMT_CSV);
        bd_route_match("/api/board", 0, &r);
        assert_int_equal(r.format, BD_FMT_JSON);
        bd_route_match("/.csv", 0, &r);
        assert_int_equal(r.id, BD_R_NOT_FOUND);
        bd_route_match("/cases/QL-2026-00017", 0, &r);
        assert_int_equal(r.id, BD_R_CASE);
        assert_string_equal(r.case_no, "QL-2026-00017");
        bd_route_match("/cases/QL-2026-00017/notice", 0, &r);
        assert_int_equal(r.id, BD_R_NOTICE);
        bd_route_match("/api/cases/QL-2026-00017/notice", 0, &r);
        assert_int_equal(r.id, BD_R_NOTICE);
        assert_int_equal(r.format, BD_FMT_JSON);
        bd_route_match("/cases/QL-2026-00017.csv", 0, &r);
        assert_int_equal(r.id, BD_R_CASE);
        assert_int_equal(r.format, BD_FMT_CSV);
        assert_string_equal(r.case_no, "QL-2026-00017");
        bd_route_match("/overdue.csv", 0, &r);
        assert_int_equal(r.id, BD_R_OVERDUE);
        bd_route_match("/workload", 0, &r);
        assert_int_equal(r.id, BD_R_WORKLOAD);
        assert_int_equal(r.format, BD_FMT_HTML);
        bd_route_match("/workload.csv", 0, &r);
        assert_int_equal(r.id, BD_R_WORKLOAD);
        assert_int_equal(r.format, BD_FMT_CSV);
        bd_route_match("/api/workload", 0, &r);
        assert_int_equal(r.id, BD_R_WORKLOAD);
        assert_int_equal(r.format, BD_FMT_JSON);
        bd_route_match("/workload", 1, &r);
        assert_int_equal(r.id, BD_R_NOT_FOUND);
        bd_route_match("/workload/x", 0, &r);
        assert_int_equal(r.id, BD_R_NOT_FOUND);
        bd_route_match("/enterprises/91350200MA2YJ1XR9G", 0, &r);
        assert_int_equal(r.id, BD_R_ENTERPRISE);
        assert_string_equal(r.credit_code, "91350200MA2YJ1XR9G");
        /* Malformed parameters do not match. */
        bd_route_match("/cases/ql-2026-1'--", 0, &r);
        assert_int_equal(r.id, BD_R_NOT_FOUND);
        bd_route_match("/enterprises/9135", 0, &r);
        assert_int_equal(r.id, BD_R_NOT_FOUND);
        bd_route_match("/cases//x", 0, &r);
        assert_int_equal(r.id, BD_R_NOT_FOUND);
        /* Forms only for POST, pages only for GET. */
        bd_route_match("/actions/42/complete", 1, &r);
        assert_int_equal(r.id, BD_R_COMPLETE);
        assert_int_equal(r.number, 42);
        assert_true(r.is_post);
        bd_route_match("/actions/42/complete", 0, &r);
        assert_int_equal(r.id, BD_R_NOT_FOUND);
        bd_route_match("/actions/0/complete", 1, &r);
        assert_int_equal(r.id, BD_R_NOT_FOUND);
        bd_route_match("/actions/99999999999999999999/complete", 1, &r);
        assert_int_equal(r.id, BD_R_NOT_FOUND);
        bd_route_match("/cases/QL-2026-00017/confirm-close", 1, &r);
        assert_int_equal(r.id, BD_R_CONFIRM_CLOSE);
        bd_route_match("/overdue", 1, &r);
        assert_int_equal(r.id, BD_R_NOT_FOUND);
        bd_route_match("/login", 1, &r);
        assert_int_equal(r.id, BD_R_LOGIN);
        assert_true(r.is_post);
        bd_route_match("/login", 0, &r);
        assert_int_equal(r.id, BD_R_LOGIN);
        assert_false(r.is_post);
        bd_route_match("/static/board.css", 0, &r);
        assert_int_equal(r.id, BD_R_STATIC);
        assert_string_equal(r.static_name, "board.css");
        bd_route_match("/static/../main.c", 0, &r);
        assert_int_equal(r.id, BD_R_NOT_FOUND);
        bd_route_match("/static/.hidden", 0, &r);
        assert_int_equal(r.id, BD_R_NOT_FOUND);
        bd_route_match("relative", 0, &r);
        assert_int_equal(r.id, BD_R_NOT_FOUND);
}

static void test_throttle(void **state)
{
        bd_throttle_t *t = bd_throttle_new(2, 3, 100);
        assert_int_equal(bd_throttle_wait(t, "login:wang", 1000), 0);
        for (int i = 0; i < 3; i++)
                bd_throttle_fail(t, "login:wang", 1000 + i);
        /* Refused until the window of the first failure has passed. */
        assert_int_equal(bd_throttle_wait(t, "login:wang", 1010), 90);
        assert_int_equal(bd_throttle_wait(t, "login:li", 1010), 0);
        assert_int_equal(bd_throttle_wait(t, "login:wang", 1100), 0);
        /* Forgotten on success. */
        for (int i = 0; i < 3; i++)
                bd_throttle_fail(t, "login:li", 2000);
        assert_true(bd_throttle_wait(t, "login:li", 2001) > 0);
        bd_throttle_forget(t, "login:li");
        assert_int_equal(bd_throttle_wait(t, "login:li", 2001), 0);
        /* A full table forgets the oldest key, not the newest. */
        bd_throttle_fail(t, "a", 3000);
        bd_throttle_fail(t, "b", 3001);
        bd_throttle_fail(t, "c", 3002);
        for (int i = 0; i < 2; i++)
                bd_throttle_fail(t, "c", 3003);
        assert_true(bd_throttle_wait(t, "c", 3004) > 0);
        bd_throttle_destroy(t);
}

static void test_sessions(void **state)
{
        bd_sessions_t *t = bd_sessions_new(2, 60);
        int full;
        /* A session without a connection: the table only stores it. */
        bd_session_t *s = bd_sessions_create(t, "wang", NULL, 1000, &full);
        assert_non_null(s);
        char id[BD_SESSION_ID_LEN + 1];
        strcpy(id, bd_session_id(s));
        assert_int_equal(strlen(id), 64);
        assert_string_not_equal(id, bd_session_csrf(s));
        bd_sessions_release(t, s, 1000);

        assert_null(bd_sessions_acquire(t, "nope", 1001));
        char wrong[BD_SESSION_ID_LEN + 1];
        strcpy(wrong, id);
        wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
        assert_null(bd_sessions_acquire(t, wrong, 1001));
        s = bd_sessions_acquire(t, id, 1059);
        assert_non_null(s);
        assert_string_equal(bd_session_login(s), "wang");
        bd_session_flash(s, 1, "出错了");
        char msg[64];
        assert_int_equal(bd_session_take_flash(s, msg, sizeof(msg)), 1);
        assert_string_equal(msg, "出错了");
        assert_int_equal(bd_session_take_flash(s, msg, sizeof(msg)), 0);
        bd_sessions_release(t, s, 1059);

        /* The table holds two; a third is refused, until one expires. */
        bd_session_t *s2 = bd_sessions_create(t, "li", NULL, 1060, &full);
        assert_non_null(s2);
        bd_sessions_release(t, s2, 1060);
        assert_null(bd_sessions_create(t, "zhao", NULL, 1061, &full));
        assert_true(full);
        /* Idle past the timeout (60 s after its last use): gone. */
        assert_null(bd_sessions_acquire(t, id, 1120));
        assert_int_equal(bd_sessions_count(t), 1);
        bd_session_t *s3 = bd_sessions_create(t, "zhao", NULL, 1121, &full);
        assert_non_null(s3);
        /* Creating dropped li's too: idle since 1060. */
        assert_int_equal(bd_sessions_count(t), 1);
        /* Ended while in use: the id stops working at once. */
        char id3[BD_SESSION_ID_LEN + 1];
        strcpy(id3, bd_session_id(s3));
        bd_sessions_end(t, s3);
        bd_sessions_release(t, s3, 1122);
        assert_null(bd_sessions_acquire(t, id3, 1123));
        assert_int_equal(bd_sessions_count(t), 0);
        /* The reaper frees idle sessions nobody asks for. */
        s = bd_sessions_create(t, "wang", NULL, 1300, &full);
        bd_sessions_release(t, s, 1300);
        assert_int_equal(bd_sessions_reap(t, 1360), 0);
        assert_int_equal(bd_sessions_reap(t, 1361), 1);
        assert_int_equal(bd_sessions_count(t), 0);
        bd_sessions_destroy(t);

        assert_true(bd_session_token_eq("abc", "abc"));
        assert_false(bd_session_token_eq("abc", "abd"));
        assert_false(bd_session_token_eq("abc", "abcd"));
}

static void test_titles(void **state)
{
        assert_string_equal(bd_title(BD_T_CASE_STATUS, "ESCALATED"), "已升级");
        assert_string_equal(bd_title(BD_T_REGION, "350206"), "湖里区");
        assert_string_equal(bd_title(BD_T_ACT, "RECTIFY_ORDER"), "责令整改");
        assert_string_equal(bd_title(BD_T_KIND, "NEW_KIND"), "NEW_KIND");
        assert_null(bd_title_known(BD_T_REGION, "110101"));
        assert_null(bd_title(BD_T_KIND, NULL));
}

/* A result of two columns, officer (text, NULL in the last row) and
 * open_cases, built by libpq without a server. */
static PGresult *workload_result(const char *const *logins, int n)
{
        PGresAttDesc att[2] = {{"officer", 0, 0, 0, 25, -1, -1},
                               {"open_cases", 0, 0, 0, 20, 8, -1}};
        PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
        assert_non_null(r);
        assert_true(PQsetResultAttrs(r, 2, att));
        for (int i = 0; i < n; i++) {
                char cnt[8];
                snprintf(cnt, sizeof(cnt), "%d", i + 1);
                assert_true(
                    PQsetvalue(r, i, 0, (char *)logins[i],
                               logins[i] ? (int)strlen(logins[i]) : -1));
                assert_true(PQsetvalue(r, i, 1, cnt, (int)strlen(cnt)));
        }
        return r;
}

static void test_officer_column(void **state)
{
        static const bd_col_t cols[] = {
            {"officer", "承办人", BD_COL_OFFICER, 0, NULL},
            {"open_cases", "在办案件", BD_COL_NUM, 0, NULL},
        };
        const char *logins[] = {"huli_wang", "<b>\"x&y\"</b>", NULL};
        PGresult *r = workload_result(logins, 3);
        bd_buf_t b = {0};
        bd_table_html(&b, r, cols, 2, NULL, "");
        size_t n;
        char *html = bd_buf_take(&b, &n);
        assert_non_null(strstr(html, "<a href=\"/?officer=huli_wang\">"
                                     "huli_wang</a>"));
        /* A login is data: percent-encoded in the link, escaped as text. */
        assert_non_null(strstr(html, "<a href=\"/?officer=%3Cb%3E%22x%26y%22"
                                     "%3C%2Fb%3E\">&lt;b&gt;&quot;x&amp;y"
                                     "&quot;&lt;/b&gt;</a>"));
        assert_null(strstr(html, "<b>"));
        /* No one assigned: the board's "-" filter, shown as 未指派. */
        assert_non_null(strstr(html, "<a href=\"/?officer=-\" "
                                     "class=\"unassigned\">未指派</a>"));
        free(html);

        char buf[64];
        assert_string_equal(bd_cell_text(r, 2, &cols[0], buf, sizeof(buf)),
                            "未指派");
        assert_string_equal(bd_cell_text(r, 0, &cols[0], buf, sizeof(buf)),
                            "huli_wang");
        bd_table_csv(&b, r, cols, 2);
        char *csv = bd_buf_take(&b, &n);
        assert_non_null(strstr(csv, "\"未指派\",\"3\"\r\n"));
        free(csv);
        PQclear(r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_html_txt),
            cmocka_unit_test(test_html_attr_and_url),
            cmocka_unit_test(test_csv_cells),
            cmocka_unit_test(test_form),
            cmocka_unit_test(test_routes),
            cmocka_unit_test(test_throttle),
            cmocka_unit_test(test_sessions),
            cmocka_unit_test(test_titles),
            cmocka_unit_test(test_officer_column),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
