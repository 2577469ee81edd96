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

#include "bd_db.h"
#include "bd_html.h"
#include "bd_page.h"
#include "bd_pages.h"

static const bd_col_t plan_cols[] = {
    {"action_id", "事项编号", BD_COL_NUM, 0, NULL},
    {"action_title", "事项", BD_COL_TEXT, 0, NULL},
    {"due_date", "期限", BD_COL_DATE, 0, NULL},
    {"provisional", "预估日期", BD_COL_BOOL, 0, NULL},
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

static const bd_col_t finding_cols[] = {
    {"report_no", "报告编号", BD_COL_TEXT, 0, NULL},
    {"lab_name", "承检机构", BD_COL_TEXT, 0, NULL},
    {"sampled_on", "抽样日期", BD_COL_DATE, 0, NULL},
    {"product_name", "产品名称", BD_COL_TEXT, 0, NULL},
    {"brand", "商标", BD_COL_TEXT, 0, NULL},
    {"model", "规格型号", BD_COL_TEXT, 0, NULL},
    {"batch", "批号", BD_COL_TEXT, 0, NULL},
    {"item_name", "不合格项目", BD_COL_TEXT, 0, NULL},
    {"requirement", "标准要求", BD_COL_TEXT, 0, NULL},
    {"measured", "实测值", BD_COL_TEXT, 0, NULL},
    {"severity", "程度", BD_COL_TITLE, BD_T_SEVERITY, NULL},
    {"category", "问题类别", BD_COL_TITLE, BD_T_CATEGORY, NULL},
    {"status", "状态", BD_COL_TITLE, BD_T_FINDING_STATUS, NULL},
};
#define NFINDING (sizeof(finding_cols) / sizeof(finding_cols[0]))

static const bd_col_t history_cols[] = {
    {"happened_at", "时间", BD_COL_TIME, 0, NULL},
    {"event_title", "事件", BD_COL_TEXT, 0, NULL},
    {"caused_by", "经办/来源", BD_COL_TEXT, 0, NULL},
    {"detail", "详情", BD_COL_TEXT, 0, NULL},
};
#define NHISTORY (sizeof(history_cols) / sizeof(history_cols[0]))

static void head_html(bd_req_t *rq, const PGresult *h, const PGresult *o)
{
        bd_buf_t *b = &rq->body;
        const char *code = bd_val(h, 0, "credit_code");
        char region[96];
        bd_col_t rcol = {"region_code", "", BD_COL_REGION, 0, NULL};
        const char *rt = bd_cell_text(h, 0, &rcol, region, sizeof(region));
        if (rt != region)
                snprintf(region, sizeof(region), "%s", rt ? rt : "");
        bd_buf_puts(b, "<section class=\"case-head\"><dl>"
                       "<dt>企业</dt><dd><a href=\"/enterprises/");
        bd_html_url_arg(b, code);
        bd_buf_puts(b, "\">");
        bd_html_txt(b, bd_val(h, 0, "enterprise_name"));
        bd_buf_puts(b, "</a></dd>");
        dt(b, "统一社会信用代码", code);
        dt(b, "辖区", region);
        bd_col_t st = {"case_status", "", BD_COL_TITLE, BD_T_CASE_STATUS, NULL};
        bd_col_t pr = {"priority", "", BD_COL_TITLE, BD_T_PRIORITY, NULL};
        char tb[128];
        dt(b, "案件状态", bd_cell_text(h, 0, &st, tb, sizeof(tb)));
        dt(b, "优先级", bd_cell_text(h, 0, &pr, tb, sizeof(tb)));
        if (bd_val(h, 0, "objection_title"))
                dt(b, "异议复检", bd_val(h, 0, "objection_title"));
        if (o && PQntuples(o) == 1) {
                char opened[32];
                const char *at = bd_val(o, 0, "opened_at");
                snprintf(opened, sizeof(opened), "%.16s", at ? at : "");
                dt(b, "承办人",
                   bd_val(o, 0, "officer") ? bd_val(o, 0, "officer")
                                           : "未指派");
                dt(b, "立案时间", opened);
                dt(b, "未清零问题", bd_val(o, 0, "open_findings"));
                dt(b, "其中严重", bd_val(o, 0, "serious_findings"));
                bd_col_t na = {"next_action", "", BD_COL_TITLE, BD_T_ACTION,
                               NULL};
                dt(b, "下一事项", bd_cell_text(o, 0, &na, tb, sizeof(tb)));
                const char *prov = bd_val(o, 0, "next_due_provisional");
                char due[64];
                snprintf(due, sizeof(due), "%s%s",
                         bd_val(o, 0, "next_due") ? bd_val(o, 0, "next_due")
                                                  : "—",
                         prov && !strcmp(prov, "t") ? "（预估）" : "");
                dt(b, "期限", due);
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
        bd_html_txt(b, bd_val(p, i, "status_title")
                           ? bd_val(p, i, "status_title")
                           : bd_title(BD_T_ACTION_STATUS, status));
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
        const char *period = bd_val(p, i, "is_period");
        if (period && !strcmp(period, "t")) {
                /* OBJECTION_WINDOW is a period: its state follows the acts
                 * 送达 and 申请复检, nothing to complete. */
                bd_buf_puts(b, "<p class=\"period\">");
                bd_html_txt(b, bd_val(p, i, "objection_title"));
                bd_buf_puts(b, "（异议复检期是期间，随“送达检验结果”“申请复检”"
                               "的登记而定）</p>");
        } else if (pending) {
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

static void option(bd_buf_t *b, const char *value, const char *label)
{
        bd_buf_puts(b, "<option value=\"");
        bd_html_attr(b, value);
        bd_buf_puts(b, "\">");
        bd_html_txt(b, label);
        bd_buf_puts(b, "</option>");
}

/* The acts recorded (ql.case_acts), each in force with its revoke form,
 * and the form that records a new one (ql.record_act). */
static void acts_html(bd_req_t *rq, const PGresult *a, int open)
{
        bd_buf_t *b = &rq->body;
        bd_buf_puts(b, "<section id=\"acts\"><h2>执法文书与行为</h2>");
        if (PQntuples(a) == 0)
                bd_buf_puts(b, "<p class=\"empty\">尚未登记执法行为；整改、复查"
                               "等期限为按报告日期推算的预估日期。</p>");
        else
                bd_buf_puts(b, "<div class=\"scroll\"><table class=\"rows\">"
                               "<thead><tr><th>行为</th><th>日期</th><th>文号"
                               "</th><th>整顿期限至</th><th>备注</th><th>登记人"
                               "</th><th>状态</th></tr></thead><tbody>");
        for (int i = 0; i < PQntuples(a); i++) {
                const char *force = bd_val(a, i, "in_force");
                int in_force = force && !strcmp(force, "t");
                bd_buf_puts(b, in_force ? "<tr>" : "<tr class=\"revoked\">");
                static const char *const cols[] = {"act_title", "on_date",
                                                   "doc_no",    "until_date",
                                                   "note",      "recorded_by"};
                for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
                        bd_buf_puts(b, "<td>");
                        bd_html_txt(b, bd_val(a, i, cols[k]));
                        bd_buf_puts(b, "</td>");
                }
                bd_buf_puts(b, "<td>");
                if (in_force && open) {
                        bd_buf_puts(b, "有效<form class=\"inline\" "
                                       "method=\"post\" action=\"/acts/");
                        bd_html_url_arg(b, bd_val(a, i, "act_id"));
                        bd_buf_puts(b, "/revoke\">");
                        bd_page_csrf_field(rq);
                        bd_buf_puts(b, "<input type=\"text\" name=\"reason\" "
                                       "maxlength=\"500\" required "
                                       "placeholder=\"撤销理由\" "
                                       "aria-label=\"撤销理由\"><button "
                                       "type=\"submit\" class=\"secondary\">"
                                       "撤销</button></form>");
                } else if (in_force) {
                        bd_buf_puts(b, "有效");
                } else {
                        bd_buf_puts(b, "已撤销（");
                        bd_html_txt(b, bd_val(a, i, "revoked_by"));
                        bd_buf_puts(b, "：");
                        bd_html_txt(b, bd_val(a, i, "revoke_reason"));
                        bd_buf_puts(b, "）");
                }
                bd_buf_puts(b, "</td></tr>");
        }
        if (PQntuples(a))
                bd_buf_puts(b, "</tbody></table></div>");
        if (open) {
                char today[11];
                bd_page_today(today);
                bd_buf_puts(b, "<h3>登记执法行为</h3><form class=\"act-form\" "
                               "method=\"post\" action=\"/cases/");
                bd_html_url_arg(b, rq->route.case_no);
                bd_buf_puts(b, "/acts\">");
                bd_page_csrf_field(rq);
                bd_buf_puts(b, "<label>行为 <select name=\"act\" required>");
                option(b, "RECTIFY_ORDER", "责令整改（须填文号）");
                option(b, "SERVED", "送达检验结果");
                option(b, "OBJECTION_FILED", "申请复检");
                option(b, "ANNOUNCED", "公告");
                option(b, "SUSPENSION_ORDER", "责令停业整顿（须填整顿期限）");
                bd_buf_puts(b, "</select></label><label>日期 <input "
                               "type=\"date\" name=\"on_date\" required "
                               "max=\"");
                bd_buf_puts(b, today);
                bd_buf_puts(b, "\" value=\"");
                bd_buf_puts(b, today);
                bd_buf_puts(b,
                            "\"></label><label>文号 <input type=\"text\" "
                            "name=\"doc_no\" maxlength=\"100\" "
                            "placeholder=\"如：湖市监责改〔2026〕12号\">"
                            "</label><label>整顿期限至 <input type=\"date\" "
                            "name=\"until_date\"></label><label>备注 "
                            "<input type=\"text\" name=\"note\" "
                            "maxlength=\"500\"></label><button "
                            "type=\"submit\">登记</button></form><p "
                            "class=\"hint\">登记后，相关期限自该日期起依法"
                            "计算（责令整改：整改期限 60 日、复查 75 日；公告："
                            "公告后复查 60–90 日；送达：异议复检期 15 日）。"
                            "</p>");
        }
        bd_buf_puts(b, "</section>");
}

/* A case whose licence revocation was completed waits for a supervisor
 * of the region (not the officer who completed it) to confirm the close. */
static void close_html(bd_req_t *rq)
{
        bd_buf_t *b = &rq->body;
        bd_buf_puts(b, "<section class=\"close-request\"><h2>待确认结案</h2>"
                       "<p>“吊销营业执照”已办结，结案须由本辖区另一名审核人员"
                       "确认。</p><form class=\"inline\" method=\"post\" "
                       "action=\"/cases/");
        bd_html_url_arg(b, rq->route.case_no);
        bd_buf_puts(b, "/confirm-close\" data-confirm=\"确认结案？结案后未完成"
                       "的事项将取消。\">");
        bd_page_csrf_field(rq);
        bd_buf_puts(b, "<button type=\"submit\">确认结案</button></form>"
                       "</section>");
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

/* Run a statement of the case-work functions (docs/officers.md,
 * "Recording work") when the database has it; an empty result stays
 * NULL otherwise.  -1 when the page was answered with an error. */
static int optional(bd_req_t *rq, bd_query_t q, unsigned cap,
                    const char *const *params, PGresult **res)
{
        *res = NULL;
        if (!(bd_session_caps(rq->session) & cap))
                return 0;
        return bd_page_query(rq, q, params, res);
}

static void json_add(json_t *doc, const char *key, const PGresult *r)
{
        if (r)
                json_object_set_new(doc, key, bd_rows_json(r));
}

void bd_pg_case_warm(bd_session_t *s, ql_log_t *lg)
{
        static const bd_query_t qs[] = {BD_Q_CASE_PLAN,      BD_Q_CASE_OPEN,
                                        BD_Q_CASE_DIAGNOSIS, BD_Q_CASE_FINDINGS,
                                        BD_Q_CASE_ACTS,      BD_Q_CASE_HISTORY};
        const char *params[1] = {""};
        for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
                const bd_sql_t *st = bd_sql(qs[i]);
                if (st->caps && (bd_session_caps(s) & st->caps) != st->caps)
                        continue;
                PGresult *r = NULL;
                char msg[256];
                bd_db_rc_t rc =
                    bd_db_run(s, lg, qs[i], params, &r, msg, sizeof(msg));
                PQclear(r);
                /* An error is the page's to report when it is asked for. */
                if (rc == BD_DB_LOST)
                        return;
        }
}

void bd_pg_case(bd_req_t *rq)
{
        const char *params[1] = {rq->route.case_no};
        PGresult *h = NULL, *o = NULL, *plan = NULL, *diag = NULL;
        PGresult *fnd = NULL, *acts = NULL, *hist = NULL;
        /* The plan's rows carry the case's own columns: its first row is
         * the head.  No rows: no such case in the officer's regions. */
        if (bd_page_query(rq, BD_Q_CASE_PLAN, params, &plan))
                return;
        if (PQntuples(plan) == 0) {
                PQclear(plan);
                char msg[200];
                snprintf(msg, sizeof(msg),
                         "未找到案件 %s，或该案件不在您负责的辖区内。",
                         rq->route.case_no);
                bd_page_error(rq, 404, "未找到案件", msg);
                return;
        }
        h = plan;
        if (rq->route.format == BD_FMT_CSV) {
                char name[80];
                snprintf(name, sizeof(name), "%s-整改方案.csv",
                         rq->route.case_no);
                bd_page_csv(rq, name, plan, plan_cols, NPLAN);
                goto out;
        }
        if (bd_page_query(rq, BD_Q_CASE_OPEN, params, &o) ||
            bd_page_query(rq, BD_Q_CASE_DIAGNOSIS, params, &diag) ||
            optional(rq, BD_Q_CASE_FINDINGS, BD_CAP_FINDINGS, params, &fnd) ||
            optional(rq, BD_Q_CASE_ACTS, BD_CAP_CASE_ACTS, params, &acts) ||
            optional(rq, BD_Q_CASE_HISTORY, BD_CAP_HISTORY, params, &hist))
                goto out;
        if (rq->route.format == BD_FMT_JSON) {
                json_t *c = bd_row_json(h, 0);
                /* The plan's per-action columns do not describe the case. */
                static const char *const per_action[] = {"action_id",
                                                         "action",
                                                         "action_title",
                                                         "about_result_id",
                                                         "due_date",
                                                         "not_before",
                                                         "status",
                                                         "measure",
                                                         "basis",
                                                         "done_at",
                                                         "done_by",
                                                         "done_by_result",
                                                         "note",
                                                         "overdue",
                                                         "status_title",
                                                         "provisional",
                                                         "original_result_id",
                                                         "is_period",
                                                         "action_sort"};
                for (size_t k = 0;
                     c && k < sizeof(per_action) / sizeof(per_action[0]); k++)
                        json_object_del(c, per_action[k]);
                if (c && PQntuples(o) == 1) {
                        json_t *open = bd_row_json(o, 0);
                        json_object_update_missing(c, open);
                        json_object_set(c, "officer",
                                        json_object_get(open, "officer"));
                        json_decref(open);
                }
                json_t *doc = json_pack("{s:o,s:o,s:o}", "case", c, "plan",
                                        bd_rows_json(plan), "diagnosis",
                                        bd_rows_json(diag));
                if (doc) {
                        json_add(doc, "findings", fnd);
                        json_add(doc, "acts", acts);
                        json_add(doc, "history", hist);
                }
                bd_page_json(rq, doc);
                goto out;
        }
        char title[96];
        snprintf(title, sizeof(title), "案件详情 %s", rq->route.case_no);
        bd_page_begin(rq, title, BD_R_CASE);
        bd_buf_t *b = &rq->body;
        head_html(rq, h, o);
        const char *st = bd_val(h, 0, "case_status");
        int open = st && (!strcmp(st, "OPEN") || !strcmp(st, "ESCALATED"));
        const char *cr =
            PQntuples(o) == 1 ? bd_val(o, 0, "close_requested") : NULL;
        if (cr && !strcmp(cr, "t") &&
            (bd_session_caps(rq->session) & BD_CAP_CONFIRM_CLOSE))
                close_html(rq);
        if (fnd) {
                bd_buf_puts(b, "<section><h2>不合格项目</h2>");
                bd_table_html(b, fnd, finding_cols, NFINDING, NULL,
                              "暂无不合格项目。");
                bd_buf_puts(b, "</section>");
        }
        bd_buf_puts(b, "<section><h2>把脉问诊</h2>");
        bd_table_html(b, diag, diag_cols, NDIAG, NULL, "暂无问题记录。");
        bd_buf_puts(b, "</section><section><h2>整改方案（一企一策）</h2>"
                       "<ol class=\"timeline\">");
        for (int i = 0; i < PQntuples(plan); i++)
                action_html(rq, plan, i);
        bd_buf_puts(b, "</ol></section>");
        if (acts && (bd_session_caps(rq->session) & BD_CAP_ACTS))
                acts_html(rq, acts, open);
        if (open)
                assign_form(rq, o);
        if (hist) {
                bd_buf_puts(b, "<section><h2>案件经过</h2>");
                bd_table_html(b, hist, history_cols, NHISTORY, NULL,
                              "暂无记录。");
                bd_buf_puts(b, "</section>");
        }
        bd_page_end(rq);
out:
        PQclear(o);
        PQclear(plan);
        PQclear(diag);
        PQclear(fnd);
        PQclear(acts);
        PQclear(hist);
}
