/*
 * bd_pg_lists: the list pages that show one view each -- 逾期与临期
 * (ql.overdue_actions, longest overdue first), 待确认复查
 * (ql.unmatched_recheck) -- in HTML, CSV and JSON from one column list.
 */
#include <stdio.h>
#include <string.h>

#include "bd_html.h"
#include "bd_page.h"
#include "bd_pages.h"

static const bd_col_t overdue_cols[] = {
    {"days_overdue", "逾期天数", BD_COL_NUM, 0, NULL},
    {"case_no", "案件编号", BD_COL_CASE, 0, NULL},
    {"enterprise_name", "企业名称", BD_COL_ENTERPRISE, 0, "credit_code"},
    {"region_code", "辖区", BD_COL_REGION, 0, NULL},
    {"priority", "优先级", BD_COL_TITLE, BD_T_PRIORITY, NULL},
    {"action_title", "事项", BD_COL_TEXT, 0, NULL},
    {"due_date", "期限", BD_COL_DATE, 0, NULL},
    {"officer", "承办人", BD_COL_TEXT, 0, NULL},
    {"action_id", "事项编号", BD_COL_NUM, 0, NULL},
};
#define NOVERDUE (sizeof(overdue_cols) / sizeof(overdue_cols[0]))

void bd_pg_overdue(bd_req_t *rq)
{
        PGresult *r = NULL;
        if (bd_page_query(rq, BD_Q_OVERDUE, NULL, &r))
                return;
        if (rq->route.format == BD_FMT_CSV) {
                bd_page_csv(rq, "逾期事项.csv", r, overdue_cols, NOVERDUE);
        } else if (rq->route.format == BD_FMT_JSON) {
                bd_page_json(rq, json_pack("{s:o}", "overdue",
                                           bd_rows_json(r)));
        } else {
                bd_page_begin(rq, "逾期与临期", BD_R_OVERDUE);
                bd_buf_t *b = &rq->body;
                bd_buf_printf(b, "<section><h2>已逾期事项 <span "
                                 "class=\"badge\">%d</span></h2>",
                              PQntuples(r));
                bd_buf_puts(b, "<p class=\"tools\"><a class=\"button\" "
                               "href=\"/overdue.csv\" download>导出 CSV</a>"
                               "</p>");
                bd_table_html(b, r, overdue_cols, NOVERDUE, NULL,
                              "没有逾期事项。");
                bd_buf_puts(b, "</section>");
                bd_page_end(rq);
        }
        PQclear(r);
}

static const bd_col_t recheck_cols[] = {
    {"result_id", "检验结果编号", BD_COL_TEXT, 0, NULL},
    {"kind", "类型", BD_COL_TITLE, BD_T_KIND, NULL},
    {"verdict", "结论", BD_COL_TITLE, BD_T_VERDICT, NULL},
    {"refers_to", "所指原结果", BD_COL_TEXT, 0, NULL},
    {"enterprise_name", "企业名称", BD_COL_ENTERPRISE, 0, "credit_code"},
    {"region_code", "辖区", BD_COL_REGION, 0, NULL},
    {"reported_at", "报告时间", BD_COL_TIME, 0, NULL},
    {"reason", "待确认原因", BD_COL_TITLE, BD_T_RECHECK_REASON, NULL},
};
#define NRECHECK (sizeof(recheck_cols) / sizeof(recheck_cols[0]))

/* The follow-ups from a lab other than the original's wait for an
 * officer's acceptance (ql.accept_followup): one form each. */
static void accept_forms(bd_req_t *rq, const PGresult *r)
{
        bd_buf_t *b = &rq->body;
        int any = 0;
        for (int i = 0; i < PQntuples(r); i++) {
                const char *reason = bd_val(r, i, "reason");
                if (!reason || strcmp(reason, "OTHER_LAB"))
                        continue;
                if (!any)
                        bd_buf_puts(b, "<section><h2>确认其他机构的复查"
                                       "</h2><p class=\"hint\">由原承检机构"
                                       "以外、且未登记承担复查的机构出具的"
                                       "结果，经确认后计入案件。</p>");
                any = 1;
                bd_buf_puts(b, "<form class=\"inline\" method=\"post\" "
                               "action=\"/rechecks/accept\" data-confirm=\""
                               "确认采信该结果？\">");
                bd_page_csrf_field(rq);
                bd_buf_puts(b, "<input type=\"hidden\" name=\"result_id\" "
                               "value=\"");
                bd_html_attr(b, bd_val(r, i, "result_id"));
                bd_buf_puts(b, "\"><span class=\"what\">");
                bd_html_txt(b, bd_val(r, i, "result_id"));
                bd_buf_puts(b, " · ");
                bd_html_txt(b, bd_val(r, i, "enterprise_name"));
                bd_buf_puts(b, "</span><input type=\"text\" name=\"note\" "
                               "maxlength=\"500\" placeholder=\"确认说明"
                               "（可选）\" aria-label=\"确认说明\"><button "
                               "type=\"submit\">确认采信</button></form>");
        }
        if (any)
                bd_buf_puts(b, "</section>");
}

void bd_pg_rechecks(bd_req_t *rq)
{
        PGresult *r = NULL;
        if (bd_page_query(rq, BD_Q_RECHECKS, NULL, &r))
                return;
        if (rq->route.format == BD_FMT_CSV) {
                bd_page_csv(rq, "待确认复查.csv", r, recheck_cols, NRECHECK);
        } else if (rq->route.format == BD_FMT_JSON) {
                bd_page_json(rq, json_pack("{s:o}", "rechecks",
                                           bd_rows_json(r)));
        } else {
                bd_page_begin(rq, "待确认复查", BD_R_RECHECKS);
                bd_buf_t *b = &rq->body;
                bd_buf_puts(b, "<p class=\"hint\">复查、复检结果须与原检验"
                               "结果对应后才计入案件。以下结果尚在等待原结果"
                               "到达或确认。</p><p class=\"tools\"><a "
                               "class=\"button\" href=\"/rechecks.csv\" "
                               "download>导出 CSV</a></p>");
                bd_table_html(b, r, recheck_cols, NRECHECK, NULL,
                              "没有待确认的复查或复检结果。");
                if (bd_session_caps(rq->session) & BD_CAP_ACCEPT)
                        accept_forms(rq, r);
                bd_page_end(rq);
        }
        PQclear(r);
}

void bd_pg_stats(bd_req_t *rq)
{
        const char *msg = "质量统计需要更新的数据库版本（ql.quality_stats），"
                          "请联系系统管理员。";
        if (rq->route.format != BD_FMT_HTML) {
                bd_page_error(rq, 501, "质量统计", msg);
                return;
        }
        bd_page_begin(rq, "质量统计", BD_R_STATS);
        bd_buf_puts(&rq->body, "<p class=\"empty\">");
        bd_html_txt(&rq->body, msg);
        bd_buf_puts(&rq->body, "</p>");
        bd_page_end(rq);
}
