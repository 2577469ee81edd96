/*
 * bd_pg_case: 案件详情, one case: the enterprise, the diagnosis (把脉问诊)
 * with its measures, the plan as a timeline of dated actions, and the forms
 * that act on the case (complete an action with a note, assign the case).
 * /cases/{case_no}.csv exports the plan; /api/cases/{case_no} is all of it.
 * A case outside the officer's regions is "not found": row-level security
 * hides it, and the page says no more than that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bd_html.h"
#include "bd_page.h"
#include "bd_pages.h"

static const bd_col_t plan_cols[] = {
    {"action_id", "事项编号", BD_COL_NUM, 0, NULL},
    {"action_title", "事项", BD_COL_TEXT, 0, NULL},
    {"due_date", "期限", BD_COL_DATE, 0, NULL},
    {"not_before", "最早", BD_COL_DATE, 0, NULL},
    {"status", "状态", BD_COL_TITLE, BD_T_ACTION_STATUS, NULL},
    {"overdue", "逾期", BD_COL_BOOL, 0, NULL},
    {"measure", "措施", BD_COL_TEXT, 0, NULL},
    {"basis", "依据", BD_COL_TEXT, 0, NULL},
    {"done_at", "完成时间", BD_COL_TIME, 0, NULL},
    {"done_by", "完成人", BD_COL_TEXT, 0, NULL},
    {"note", "备注", BD_COL_TEXT, 0, NULL},
};
#define NPLAN (sizeof(plan_cols) / sizeof(plan_cols[0]))

static const bd_col_t diag_cols[] = {
    {"category_title", "问题类别", BD_COL_TEXT, 0, NULL},
    {"failed_items", "不合格项目", BD_COL_TEXT, 0, NULL},
    {"findings", "问题数", BD_COL_NUM, 0, NULL},
    {"open_findings", "未清零", BD_COL_NUM, 0, NULL},
    {"serious_findings", "严重", BD_COL_NUM, 0, NULL},
    {"diagnosis", "原因分析", BD_COL_TEXT, 0, NULL},
    {"measures", "整改措施", BD_COL_TEXT, 0, NULL},
};
#define NDIAG (sizeof(diag_cols) / sizeof(diag_cols[0]))

static void dt(bd_buf_t *b, const char *label, const char *value)
{
        bd_buf_puts(b, "<dt>");
        bd_html_txt(b, label);
        bd_buf_puts(b, "</dt><dd>");
        bd_html_txt(b, value ? value : "—");
        bd_buf_puts(b, "</dd>");
}

static void head_html(bd_req_t *rq, const PGresult *h, const PGresult *o)
{
        bd_buf_t *b = &rq->body;
        const char *code = bd_val(h, 0, "credit_code");
        char region[64];
        const char *rc = bd_val(h, 0, "region_code");
        const char *rn = bd_title_known(BD_T_REGION, rc);
        snprintf(region, sizeof(region), "%s%s%s", rn ? rn : "", rn ? " " : "",
                 rc ? rc : "");
        bd_buf_puts(b, "<section class=\"case-head\"><dl>"
                       "<dt>企业</dt><dd><a href=\"/enterprises/");
        bd_html_url_arg(b, code);
        bd_buf_puts(b, "\">");
        bd_html_txt(b, bd_val(h, 0, "enterprise_name"));
        bd_buf_puts(b, "</a></dd>");
        dt(b, "统一社会信用代码", code);
        dt(b, "辖区", region);
        dt(b, "案件状态",
           bd_title(BD_T_CASE_STATUS, bd_val(h, 0, "case_status")));
        dt(b, "优先级", bd_title(BD_T_PRIORITY, bd_val(h, 0, "priority")));
        if (o && PQntuples(o) == 1) {
                char opened[32];
                const char *at = bd_val(o, 0, "opened_at");
                snprintf(opened, sizeof(opened), "%.16s", at ? at : "");
                dt(b, "承办人", bd_val(o, 0, "officer") ? bd_val(o, 0, "officer")
                                                       : "未分配");
                dt(b, "立案时间", opened);
                dt(b, "未清零问题", bd_val(o, 0, "open_findings"));
                dt(b, "其中严重", bd_val(o, 0, "serious_findings"));
                dt(b, "下一事项",
                   bd_title(BD_T_ACTION, bd_val(o, 0, "next_action")));
                dt(b, "期限", bd_val(o, 0, "next_due"));
        }
        bd_buf_puts(b, "</dl><p class=\"tools\"><a class=\"button\" "
                       "href=\"/cases/");
        bd_html_url_arg(b, rq->route.case_no);
        bd_buf_puts(b, "/notice\">责令整改通知书</a> <a class=\"button\" "
                       "href=\"/cases/");
        bd_html_url_arg(b, rq->route.case_no);
        bd_buf_puts(b, ".csv\" download>导出整改方案 CSV</a></p></section>");
}

/* One action of the plan as an item of the timeline, with its form. */
static void action_html(bd_req_t *rq, const PGresult *p, int i)
{
        bd_buf_t *b = &rq->body;
        const char *status = bd_val(p, i, "status");
        const char *overdue = bd_val(p, i, "overdue");
        const char *prov = bd_val(p, i, "provisional");
        int pending = status && !strcmp(status, "PENDING");
        int late = overdue && !strcmp(overdue, "t");
        bd_buf_puts(b, "<li class=\"step s-");
        bd_html_attr(b, status);
        if (late)
                bd_buf_puts(b, " late");
        bd_buf_puts(b, "\"><div class=\"when\"><span class=\"date");
        if (prov && !strcmp(prov, "t"))
                bd_buf_puts(b, " provisional\" title=\"预估日期：相应执法"
                               "文书尚未登记");
        bd_buf_puts(b, "\">");
        bd_html_txt(b, bd_val(p, i, "due_date"));
        bd_buf_puts(b, "</span>");
        if (prov)
                bd_buf_puts(b, !strcmp(prov, "t")
                                   ? "<span class=\"tag prov\">预估</span>"
                                   : "<span class=\"tag firm\">确定</span>");
        if (bd_val(p, i, "not_before")) {
                bd_buf_puts(b, "<span class=\"nb\">不早于 ");
                bd_html_txt(b, bd_val(p, i, "not_before"));
                bd_buf_puts(b, "</span>");
        }
        bd_buf_puts(b, "</div><div class=\"what\"><h3>");
        bd_html_txt(b, bd_val(p, i, "action_title"));
        bd_buf_puts(b, " <span class=\"code c-");
        bd_html_attr(b, status);
        bd_buf_puts(b, "\">");
        bd_html_txt(b, bd_title(BD_T_ACTION_STATUS, status));
        bd_buf_puts(b, "</span>");
        if (late)
                bd_buf_puts(b, " <span class=\"code c-overdue\">已逾期</span>");
        bd_buf_puts(b, "</h3><p class=\"measure\">");
        bd_html_txt(b, bd_val(p, i, "measure"));
        bd_buf_puts(b, "</p><p class=\"basis\">依据：");
        bd_html_txt(b, bd_val(p, i, "basis"));
        bd_buf_puts(b, "</p>");
        if (bd_val(p, i, "done_at") || bd_val(p, i, "done_by_result")) {
                char at[32];
                const char *d = bd_val(p, i, "done_at");
                snprintf(at, sizeof(at), "%.16s", d ? d : "");
                bd_buf_puts(b, "<p class=\"done\">");
                if (d) {
                        bd_html_txt(b, at);
                        bd_buf_puts(b, " ");
                }
                if (bd_val(p, i, "done_by")) {
                        bd_buf_puts(b, "由 ");
                        bd_html_txt(b, bd_val(p, i, "done_by"));
                        bd_buf_puts(b, " 完成");
                }
                if (bd_val(p, i, "done_by_result")) {
                        bd_buf_puts(b, "由检验结果 ");
                        bd_html_txt(b, bd_val(p, i, "done_by_result"));
                        bd_buf_puts(b, " 完成");
                }
                if (bd_val(p, i, "note")) {
                        bd_buf_puts(b, "：");
                        bd_html_txt(b, bd_val(p, i, "note"));
                }
                bd_buf_puts(b, "</p>");
        }
        const char *id = bd_val(p, i, "action_id");
        if (pending) {
                bd_buf_puts(b, "<form class=\"inline\" method=\"post\" "
                               "action=\"/actions/");
                bd_html_url_arg(b, id);
                bd_buf_puts(b, "/complete\">");
                bd_page_csrf_field(rq);
                bd_buf_puts(b, "<input type=\"text\" name=\"note\" "
                               "maxlength=\"500\" placeholder=\"办理情况"
                               "（必填）\" required aria-label=\"办理情况\">"
                               "<button type=\"submit\">标记完成</button>"
                               "</form>");
        } else if (status && !strcmp(status, "DONE") &&
                   (bd_session_caps(rq->session) & BD_CAP_REOPEN)) {
                bd_buf_puts(b, "<form class=\"inline\" method=\"post\" "
                               "action=\"/actions/");
                bd_html_url_arg(b, id);
                bd_buf_puts(b, "/reopen\">");
                bd_page_csrf_field(rq);
                bd_buf_puts(b, "<input type=\"text\" name=\"reason\" "
                               "maxlength=\"500\" placeholder=\"撤销完成的原因"
                               "（必填）\" required aria-label=\"撤销原因\">"
                               "<button type=\"submit\" class=\"secondary\">"
                               "撤销完成</button></form>");
        }
        bd_buf_puts(b, "</div></li>");
}

static void assign_form(bd_req_t *rq, const PGresult *o)
{
        bd_buf_t *b = &rq->body;
        bd_buf_puts(b, "<section><h2>指派承办人</h2><form class=\"inline\" "
                       "method=\"post\" action=\"/cases/");
        bd_html_url_arg(b, rq->route.case_no);
        bd_buf_puts(b, "/assign\">");
        bd_page_csrf_field(rq);
        bd_buf_puts(b, "<input type=\"text\" name=\"login\" maxlength=\"63\" "
                       "required aria-label=\"承办人账号\" value=\"");
        const char *cur = o && PQntuples(o) ? bd_val(o, 0, "officer") : NULL;
        bd_html_attr(b, cur ? cur : bd_session_login(rq->session));
        bd_buf_puts(b, "\"><button type=\"submit\">指派</button></form>"
                       "<p class=\"hint\">填写承办人的登录账号；承办人须负责该"
                       "企业所在辖区。</p></section>");
}

void bd_pg_case(bd_req_t *rq)
{
        const char *params[1] = {rq->route.case_no};
        PGresult *h = NULL, *o = NULL, *plan = NULL, *diag = NULL;
        if (bd_page_query(rq, BD_Q_CASE_HEAD, params, &h))
                return;
        if (PQntuples(h) == 0) {
                PQclear(h);
                char msg[200];
                snprintf(msg, sizeof(msg),
                         "未找到案件 %s，或该案件不在您负责的辖区内。",
                         rq->route.case_no);
                bd_page_error(rq, 404, "未找到案件", msg);
                return;
        }
        if (bd_page_query(rq, BD_Q_CASE_PLAN, params, &plan))
                goto out;
        if (rq->route.format == BD_FMT_CSV) {
                char name[80];
                snprintf(name, sizeof(name), "%s-整改方案.csv",
                         rq->route.case_no);
                bd_page_csv(rq, name, plan, plan_cols, NPLAN);
                goto out;
        }
        if (bd_page_query(rq, BD_Q_CASE_OPEN, params, &o) ||
            bd_page_query(rq, BD_Q_CASE_DIAGNOSIS, params, &diag))
                goto out;
        if (rq->route.format == BD_FMT_JSON) {
                json_t *c = bd_row_json(h, 0);
                if (c && PQntuples(o) == 1) {
                        json_t *open = bd_row_json(o, 0);
                        json_object_update(c, open);
                        json_decref(open);
                }
                bd_page_json(rq, json_pack("{s:o,s:o,s:o}", "case", c, "plan",
                                           bd_rows_json(plan), "diagnosis",
                                           bd_rows_json(diag)));
                goto out;
        }
        char title[96];
        snprintf(title, sizeof(title), "案件详情 %s", rq->route.case_no);
        bd_page_begin(rq, title, BD_R_CASE);
        bd_buf_t *b = &rq->body;
        head_html(rq, h, o);
        bd_buf_puts(b, "<section><h2>把脉问诊</h2>");
        bd_table_html(b, diag, diag_cols, NDIAG, NULL, "暂无问题记录。");
        bd_buf_puts(b, "</section><section><h2>整改方案（一企一策）</h2>"
                       "<ol class=\"timeline\">");
        for (int i = 0; i < PQntuples(plan); i++)
                action_html(rq, plan, i);
        bd_buf_puts(b, "</ol></section>");
        const char *st = bd_val(h, 0, "case_status");
        if (st && (!strcmp(st, "OPEN") || !strcmp(st, "ESCALATED")))
                assign_form(rq, o);
        bd_page_end(rq);
out:
        PQclear(h);
        PQclear(o);
        PQclear(plan);
        PQclear(diag);
}
