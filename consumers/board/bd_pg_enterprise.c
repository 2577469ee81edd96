/*
 * bd_pg_enterprise: 企业档案, one enterprise's record (ql.enterprise_dossier)
 * and its cases (from ql.case_plan).  /enterprises/{code}.csv exports the
 * cases; /api/enterprises/{code} gives both.
 */
#include <stdio.h>
#include <string.h>

#include "bd_html.h"
#include "bd_page.h"
#include "bd_pages.h"

static const bd_col_t case_cols[] = {
    {"case_no", "案件编号", BD_COL_CASE, 0, NULL},
    {"case_status", "状态", BD_COL_TITLE, BD_T_CASE_STATUS, NULL},
    {"priority", "优先级", BD_COL_TITLE, BD_T_PRIORITY, NULL},
    {"actions", "事项", BD_COL_NUM, 0, NULL},
    {"pending", "待办", BD_COL_NUM, 0, NULL},
    {"next_due", "最近期限", BD_COL_DATE, 0, NULL},
};
#define NCASES (sizeof(case_cols) / sizeof(case_cols[0]))

static const bd_col_t dossier_cols[] = {
    {"enterprise_name", "企业名称", BD_COL_TEXT, 0, NULL},
    {"credit_code", "统一社会信用代码", BD_COL_TEXT, 0, NULL},
    {"region_code", "辖区", BD_COL_REGION, 0, NULL},
    {"address", "地址", BD_COL_TEXT, 0, NULL},
    {"contact", "联系方式", BD_COL_TEXT, 0, NULL},
    {"results", "检验结果", BD_COL_NUM, 0, NULL},
    {"nonconforming", "不合格", BD_COL_NUM, 0, NULL},
    {"last_result_id", "最近结果", BD_COL_TEXT, 0, NULL},
    {"last_kind", "最近结果类型", BD_COL_TITLE, BD_T_KIND, NULL},
    {"last_verdict", "最近结论", BD_COL_TITLE, BD_T_VERDICT, NULL},
    {"last_reported_at", "最近报告时间", BD_COL_TIME, 0, NULL},
    {"open_case", "在办案件", BD_COL_CASE, 0, NULL},
    {"open_case_status", "在办案件状态", BD_COL_TITLE, BD_T_CASE_STATUS, NULL},
    {"open_case_priority", "优先级", BD_COL_TITLE, BD_T_PRIORITY, NULL},
    {"open_findings", "未清零问题", BD_COL_NUM, 0, NULL},
    {"cases", "历史案件", BD_COL_NUM, 0, NULL},
    {"cleared_cases", "已清零案件", BD_COL_NUM, 0, NULL},
};
#define NDOSSIER (sizeof(dossier_cols) / sizeof(dossier_cols[0]))

void bd_pg_enterprise(bd_req_t *rq)
{
        const char *params[1] = {rq->route.credit_code};
        PGresult *d = NULL, *c = NULL;
        if (bd_page_query(rq, BD_Q_DOSSIER, params, &d))
                return;
        if (PQntuples(d) == 0) {
                PQclear(d);
                char msg[200];
                snprintf(msg, sizeof(msg),
                         "未找到统一社会信用代码为 %s 的企业，或该企业不在"
                         "您负责的辖区内。",
                         rq->route.credit_code);
                bd_page_error(rq, 404, "未找到企业", msg);
                return;
        }
        if (bd_page_query(rq, BD_Q_ENTERPRISE_CASES, params, &c)) {
                PQclear(d);
                return;
        }
        if (rq->route.format == BD_FMT_CSV) {
                char name[64];
                snprintf(name, sizeof(name), "%s-案件.csv",
                         rq->route.credit_code);
                bd_page_csv(rq, name, c, case_cols, NCASES);
        } else if (rq->route.format == BD_FMT_JSON) {
                bd_page_json(rq, json_pack("{s:o,s:o}", "enterprise",
                                           bd_row_json(d, 0), "cases",
                                           bd_rows_json(c)));
        } else {
                char title[160];
                snprintf(title, sizeof(title), "企业档案");
                bd_page_begin(rq, title, BD_R_ENTERPRISE);
                bd_buf_t *b = &rq->body;
                bd_buf_puts(b, "<section class=\"case-head\"><dl>");
                char buf[256];
                for (size_t i = 0; i < NDOSSIER; i++) {
                        /* Columns of a newer schema only when there. */
                        if (PQfnumber(d, dossier_cols[i].col) < 0)
                                continue;
                        const char *t = bd_cell_text(d, 0, &dossier_cols[i],
                                                     buf, sizeof(buf));
                        bd_buf_puts(b, "<dt>");
                        bd_html_txt(b, dossier_cols[i].header);
                        bd_buf_puts(b, "</dt><dd>");
                        if (t && dossier_cols[i].kind == BD_COL_CASE) {
                                bd_buf_puts(b, "<a href=\"/cases/");
                                bd_html_url_arg(b, t);
                                bd_buf_puts(b, "\">");
                                bd_html_txt(b, t);
                                bd_buf_puts(b, "</a>");
                        } else {
                                bd_html_txt(b, t ? t : "—");
                        }
                        bd_buf_puts(b, "</dd>");
                }
                bd_buf_puts(b, "</dl></section><section><h2>案件</h2>");
                bd_table_html(b, c, case_cols, NCASES, NULL, "没有案件。");
                bd_buf_puts(b, "</section>");
                bd_page_end(rq);
        }
        PQclear(d);
        PQclear(c);
}
