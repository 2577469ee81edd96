/*
 * bd_pg_workload: 承办人工作量, the open cases of the officer's districts per
 * assigned officer (ql.officer_workload): how many, how many with an
 * overdue action, the actions overdue and due within 7 days, the P1 cases;
 * the cases no one is assigned to are one row, 未指派.  It is where a
 * supervisor sees whose cases are falling behind before they are assigned
 * more: each officer links to the case board filtered by that officer, the
 * totals to the board's matching filters.  /workload.csv and /api/workload
 * export the view's rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bd_chart.h"
#include "bd_html.h"
#include "bd_page.h"
#include "bd_pages.h"

static const bd_col_t cols[] = {
    {"officer", "承办人", BD_COL_OFFICER, 0, NULL},
    {"open_cases", "在办案件", BD_COL_NUM, 0, NULL},
    {"overdue_cases", "有逾期事项的案件", BD_COL_NUM, 0, NULL},
    {"overdue_actions", "逾期事项", BD_COL_NUM, 0, NULL},
    {"due_soon_actions", "7日内到期事项", BD_COL_NUM, 0, NULL},
    {"p1_cases", "P1 紧急案件", BD_COL_NUM, 0, NULL},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

#define MAX_BARS 64

static long long num(const PGresult *r, int row, const char *col)
{
        const char *v = bd_val(r, row, col);
        return v ? strtoll(v, NULL, 10) : 0;
}

/* The totals over the officers, each a link to the list it counts.  A
 * case with an overdue action is exactly a case the board marks overdue
 * (its next action is the earliest pending one, the objection period
 * left out in both), so the two numbers agree; actions are listed on
 * 逾期与临期. */
static void counts_html(bd_buf_t *b, const PGresult *r)
{
        long long open = 0, late = 0, late_actions = 0, soon = 0, p1 = 0,
                  unassigned = 0;
        for (int i = 0; i < PQntuples(r); i++) {
                open += num(r, i, "open_cases");
                late += num(r, i, "overdue_cases");
                late_actions += num(r, i, "overdue_actions");
                soon += num(r, i, "due_soon_actions");
                p1 += num(r, i, "p1_cases");
                if (!bd_val(r, i, "officer"))
                        unassigned = num(r, i, "open_cases");
        }
        const struct {
                long long n;
                const char *label, *href, *cls;
        } cards[] = {
            {open, "在办案件", "/", ""},
            {late, "有逾期事项的案件", "/?overdue=1", " alert"},
            {late_actions, "逾期事项", "/overdue", " alert"},
            {soon, "7日内到期事项", "/overdue", ""},
            {p1, "P1 紧急案件", "/?priority=P1", " warn"},
            {unassigned, BD_PAGE_UNASSIGNED "案件", "/?officer=-", ""},
        };
        bd_buf_puts(b, "<ul class=\"counts\">");
        for (size_t i = 0; i < sizeof(cards) / sizeof(cards[0]); i++) {
                bd_buf_printf(b, "<li class=\"count%s\"><a href=\"",
                              cards[i].cls);
                bd_html_attr(b, cards[i].href);
                bd_buf_printf(b,
                              "\"><span class=\"n\">%lld</span><span "
                              "class=\"l\">",
                              cards[i].n);
                bd_html_txt(b, cards[i].label);
                bd_buf_puts(b, "</span></a></li>");
        }
        bd_buf_puts(b, "</ul>");
}

/* Each officer's open cases, those with an overdue action first: who
 * carries how much, and how much of it is late. */
static void officer_chart(bd_buf_t *b, const PGresult *r)
{
        bd_bar_t bars[MAX_BARS];
        char labels[MAX_BARS][72];
        size_t n = 0;
        for (int i = 0; i < PQntuples(r) && n < MAX_BARS; i++, n++) {
                const char *t =
                    bd_cell_text(r, i, &cols[0], labels[n], sizeof(labels[n]));
                if (t != labels[n])
                        snprintf(labels[n], sizeof(labels[n]), "%s",
                                 t ? t : "");
                bars[n].label = labels[n];
                bars[n].v[0] = num(r, i, "overdue_cases");
                bars[n].v[1] = num(r, i, "open_cases") - bars[n].v[0];
        }
        static const char *const cls[BD_CHART_PARTS] = {"bar-open",
                                                        "bar-cleared"};
        static const char *const names[BD_CHART_PARTS] = {"有逾期事项",
                                                          "无逾期事项"};
        bd_chart_bars(b, "各承办人在办案件", bars, n, cls, names);
}

void bd_pg_workload(bd_req_t *rq)
{
        if (!(bd_session_caps(rq->session) & BD_CAP_WORKLOAD)) {
                bd_page_error(rq, 501, "承办人工作量",
                              "承办人工作量需要更新的数据库版本"
                              "（ql.officer_workload），请联系系统管理员。");
                return;
        }
        PGresult *r = NULL;
        if (bd_page_query(rq, BD_Q_WORKLOAD, NULL, &r))
                return;
        if (rq->route.format == BD_FMT_CSV) {
                bd_page_csv(rq, "承办人工作量.csv", r, cols, NCOLS);
        } else if (rq->route.format == BD_FMT_JSON) {
                bd_page_json(rq,
                             json_pack("{s:o}", "workload", bd_rows_json(r)));
        } else {
                bd_page_begin(rq, "承办人工作量", BD_R_WORKLOAD);
                bd_buf_t *b = &rq->body;
                counts_html(b, r);
                bd_buf_puts(b, "<p class=\"hint\">按承办人统计所辖辖区的在办"
                               "案件（整改中、已升级）；逾期与临期按待办事项"
                               "计，异议复检期不计。点击承办人查看其案件。"
                               "</p><section><h2>各承办人</h2>");
                if (PQntuples(r))
                        officer_chart(b, r);
                bd_buf_puts(b, "<p class=\"tools\"><a class=\"button\" "
                               "href=\"/workload.csv\" download>导出 CSV</a>"
                               "</p>");
                bd_table_html(b, r, cols, NCOLS, NULL,
                              "所辖辖区没有在办案件。");
                bd_buf_puts(b, "</section>");
                bd_page_end(rq);
        }
        PQclear(r);
}
