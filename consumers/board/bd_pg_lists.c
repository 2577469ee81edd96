/*
 * bd_pg_lists: the list pages that show one view each -- 逾期与临期
 * (ql.overdue_actions, longest overdue first, and ql.due_soon), 待确认复查
 * (ql.unmatched_recheck), 质量统计 (ql.quality_stats) -- in HTML, CSV and
 * JSON from one column list each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bd_chart.h"

#include "bd_html.h"
#include "bd_page.h"
#include "bd_pages.h"

#define LIST_PAGE 200

static const bd_col_t overdue_cols[] = {
    {"days_overdue", "逾期天数", BD_COL_NUM, 0, NULL},
    {"case_no", "案件编号", BD_COL_CASE, 0, NULL},
    {"enterprise_name", "企业名称", BD_COL_ENTERPRISE, 0, "credit_code"},
    {"region_code", "辖区", BD_COL_REGION, 0, NULL},
    {"priority", "优先级", BD_COL_TITLE, BD_T_PRIORITY, NULL},
    {"action_title", "事项", BD_COL_TEXT, 0, NULL},
    {"due_date", "期限", BD_COL_DATE, 0, NULL},
    {"provisional", "预估日期", BD_COL_BOOL, 0, NULL},
    {"officer", "承办人", BD_COL_TEXT, 0, NULL},
    {"action_id", "事项编号", BD_COL_NUM, 0, NULL},
};
#define NOVERDUE (sizeof(overdue_cols) / sizeof(overdue_cols[0]))

static const bd_col_t due_soon_cols[] = {
    {"days_left", "剩余天数", BD_COL_NUM, 0, NULL},
    {"case_no", "案件编号", BD_COL_CASE, 0, NULL},
    {"enterprise_name", "企业名称", BD_COL_ENTERPRISE, 0, "credit_code"},
    {"region_code", "辖区", BD_COL_REGION, 0, NULL},
    {"priority", "优先级", BD_COL_TITLE, BD_T_PRIORITY, NULL},
    {"action_title", "事项", BD_COL_TEXT, 0, NULL},
    {"due_date", "期限", BD_COL_DATE, 0, NULL},
    {"provisional", "预估日期", BD_COL_BOOL, 0, NULL},
    {"officer", "承办人", BD_COL_TEXT, 0, NULL},
    {"action_id", "事项编号", BD_COL_NUM, 0, NULL},
};
#define NDUESOON (sizeof(due_soon_cols) / sizeof(due_soon_cols[0]))

/* The CSV of both lists (BD_Q_OVERDUE_ALL). */
static const bd_col_t both_cols[] = {
    {"kind", "类别", BD_COL_TEXT, 0, NULL},
    {"days_overdue", "逾期天数", BD_COL_NUM, 0, NULL},
    {"days_left", "剩余天数", BD_COL_NUM, 0, NULL},
    {"case_no", "案件编号", BD_COL_CASE, 0, NULL},
    {"enterprise_name", "企业名称", BD_COL_TEXT, 0, NULL},
    {"region_code", "辖区", BD_COL_REGION, 0, NULL},
    {"priority", "优先级", BD_COL_TITLE, BD_T_PRIORITY, NULL},
    {"action_title", "事项", BD_COL_TEXT, 0, NULL},
    {"due_date", "期限", BD_COL_DATE, 0, NULL},
    {"provisional", "预估日期", BD_COL_BOOL, 0, NULL},
    {"officer", "承办人", BD_COL_TEXT, 0, NULL},
    {"action_id", "事项编号", BD_COL_NUM, 0, NULL},
};
#define NBOTH (sizeof(both_cols) / sizeof(both_cols[0]))

void bd_pg_overdue(bd_req_t *rq)
{
        PGresult *r = NULL, *soon = NULL;
        unsigned caps = bd_session_caps(rq->session);
        int both = (caps & (BD_CAP_DUE_SOON | BD_CAP_REGION_NAME)) ==
                   (BD_CAP_DUE_SOON | BD_CAP_REGION_NAME);
        if (rq->route.format == BD_FMT_CSV && both) {
                if (bd_page_query(rq, BD_Q_OVERDUE_ALL, NULL, &r))
                        return;
                bd_page_csv(rq, "逾期与临期.csv", r, both_cols, NBOTH);
                PQclear(r);
                return;
        }
        /* Pages of LIST_PAGE (a district may have thousands overdue); the
         * CSV has them all. */
        const char *page = bd_page_arg(rq, "page");
        long pg = page && strlen(page) < 7 ? strtol(page, NULL, 10) : 1;
        if (pg < 1)
                pg = 1;
        char limit[16], offset[24];
        snprintf(limit, sizeof(limit), "%d", LIST_PAGE);
        snprintf(offset, sizeof(offset), "%ld", (pg - 1) * LIST_PAGE);
        int all = rq->route.format == BD_FMT_CSV;
        const char *params[2] = {all ? NULL : limit, all ? "0" : offset};
        if (bd_page_query(
                rq, (caps & BD_CAP_REGION_NAME) ? BD_Q_OVERDUE8 : BD_Q_OVERDUE,
                params, &r))
                return;
        const char *soon_params[1] = {limit};
        if ((caps & (BD_CAP_DUE_SOON | BD_CAP_REGION_NAME)) ==
                (BD_CAP_DUE_SOON | BD_CAP_REGION_NAME) &&
            rq->route.format != BD_FMT_CSV &&
            bd_page_query(rq, BD_Q_DUE_SOON, soon_params, &soon)) {
                PQclear(r);
                return;
        }
        const char *tv = PQntuples(r) ? bd_val(r, 0, "cnt_total") : NULL;
        long long total = tv ? strtoll(tv, NULL, 10) : 0;
        if (rq->route.format == BD_FMT_CSV) {
                bd_page_csv(rq, "逾期事项.csv", r, overdue_cols, NOVERDUE);
        } else if (rq->route.format == BD_FMT_JSON) {
                json_t *doc =
                    json_pack("{s:o,s:I,s:i,s:i}", "overdue", bd_rows_json(r),
                              "overdue_total", (json_int_t)total, "page",
                              (int)pg, "page_size", LIST_PAGE);
                if (doc && soon)
                        json_object_set_new(doc, "due_soon",
                                            bd_rows_json(soon));
                bd_page_json(rq, doc);
        } else {
                bd_page_begin(rq, "逾期与临期", BD_R_OVERDUE);
                bd_buf_t *b = &rq->body;
                bd_buf_printf(b,
                              "<section><h2>已逾期事项 <span "
                              "class=\"badge\">%d</span></h2>",
                              PQntuples(r));
                bd_buf_puts(b, "<p class=\"tools\"><a class=\"button\" "
                               "href=\"/overdue.csv\" download>导出 CSV</a>"
                               "</p>");
                bd_table_html(b, r, overdue_cols, NOVERDUE, NULL,
                              "没有逾期事项。");
                bd_buf_puts(b, "</section>");
                if (soon) {
                        bd_buf_printf(b,
                                      "<section><h2>7 日内到期 <span "
                                      "class=\"badge soon\">%d</span></h2>",
                                      PQntuples(soon));
                        bd_table_html(b, soon, due_soon_cols, NDUESOON, NULL,
                                      "7 日内没有到期的事项。");
                        bd_buf_puts(b, "</section>");
                }
                bd_page_end(rq);
        }
        PQclear(r);
        PQclear(soon);
}

static const bd_col_t recheck_cols[] = {
    {"result_id", "检验结果编号", BD_COL_TEXT, 0, NULL},
    {"kind", "类型", BD_COL_TITLE, BD_T_KIND, NULL},
    {"verdict", "结论", BD_COL_TITLE, BD_T_VERDICT, NULL},
    {"refers_to", "所指原结果", BD_COL_TEXT, 0, NULL},
    {"enterprise_name", "企业名称", BD_COL_ENTERPRISE, 0, "credit_code"},
    {"region_code", "辖区", BD_COL_REGION, 0, NULL},
    {"lab_name", "承检机构", BD_COL_TEXT, 0, NULL},
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
                bd_page_json(rq,
                             json_pack("{s:o}", "rechecks", bd_rows_json(r)));
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

static const bd_col_t stats_cols[] = {
    {"quarter", "季度", BD_COL_TEXT, 0, NULL},
    {"region_code", "辖区", BD_COL_REGION, 0, NULL},
    {"product_category", "产品类别", BD_COL_TEXT, 0, NULL},
    {"level", "抽查级别", BD_COL_TITLE, BD_T_LEVEL, NULL},
    {"stage", "抽样环节", BD_COL_TITLE, BD_T_STAGE, NULL},
    {"results", "抽查批次", BD_COL_NUM, 0, NULL},
    {"refused", "拒检", BD_COL_NUM, 0, NULL},
    {"nonconforming", "不合格", BD_COL_NUM, 0, NULL},
    {"rate", "不合格率", BD_COL_RATE, 0, NULL},
    {"cleared", "已清零", BD_COL_NUM, 0, NULL},
    {"open", "未清零", BD_COL_NUM, 0, NULL},
};
#define NSTATS (sizeof(stats_cols) / sizeof(stats_cols[0]))

static const bd_col_t quarter_cols[] = {
    {"quarter", "季度", BD_COL_TEXT, 0, NULL},
    {"results", "抽查批次", BD_COL_NUM, 0, NULL},
    {"refused", "拒检", BD_COL_NUM, 0, NULL},
    {"nonconforming", "不合格", BD_COL_NUM, 0, NULL},
    {"rate", "不合格率", BD_COL_RATE, 0, NULL},
    {"cleared", "已清零", BD_COL_NUM, 0, NULL},
    {"open", "未清零", BD_COL_NUM, 0, NULL},
};
#define NQUARTER (sizeof(quarter_cols) / sizeof(quarter_cols[0]))

void bd_pg_stats(bd_req_t *rq)
{
        if (!(bd_session_caps(rq->session) & BD_CAP_STATS)) {
                bd_page_error(rq, 501, "质量统计",
                              "质量统计需要更新的数据库版本"
                              "（ql.quality_stats），请联系系统管理员。");
                return;
        }
        PGresult *r = NULL, *q = NULL;
        if (bd_page_query(rq, BD_Q_STATS, NULL, &r))
                return;
        if (rq->route.format == BD_FMT_CSV) {
                bd_page_csv(rq, "质量统计.csv", r, stats_cols, NSTATS);
                PQclear(r);
                return;
        }
        if (bd_page_query(rq, BD_Q_STATS_QUARTERS, NULL, &q)) {
                PQclear(r);
                return;
        }
        if (rq->route.format == BD_FMT_JSON) {
                bd_page_json(rq,
                             json_pack("{s:o,s:o}", "quarters", bd_rows_json(q),
                                       "stats", bd_rows_json(r)));
        } else {
                bd_page_begin(rq, "质量统计", BD_R_STATS);
                bd_buf_t *b = &rq->body;
                bd_buf_puts(b, "<section><h2>按季度（抽样日期）</h2>");
                bd_bar_t bars[24];
                char labels[24][16];
                size_t n = 0;
                int first = PQntuples(q) > 24 ? PQntuples(q) - 24 : 0;
                for (int i = first; i < PQntuples(q); i++, n++) {
                        snprintf(labels[n], sizeof(labels[n]), "%s",
                                 bd_val(q, i, "quarter")
                                     ? bd_val(q, i, "quarter")
                                     : "");
                        bars[n].label = labels[n];
                        long long nc =
                            strtoll(bd_val(q, i, "nonconforming")
                                        ? bd_val(q, i, "nonconforming")
                                        : "0",
                                    NULL, 10);
                        bars[n].v[0] = strtoll(bd_val(q, i, "cleared")
                                                   ? bd_val(q, i, "cleared")
                                                   : "0",
                                               NULL, 10);
                        bars[n].v[1] = nc - bars[n].v[0];
                }
                static const char *const cls[BD_CHART_PARTS] = {"bar-cleared",
                                                                "bar-open"};
                static const char *const names[BD_CHART_PARTS] = {
                    "不合格已清零", "不合格未清零"};
                bd_chart_columns(b, "各季度不合格批次", bars, n, cls, names);
                bd_table_html(b, q, quarter_cols, NQUARTER, NULL,
                              "暂无抽查结果。");
                bd_buf_puts(b, "</section><section><h2>按产品类别、级别、环节"
                               "</h2><p class=\"tools\"><a class=\"button\" "
                               "href=\"/stats.csv\" download>导出 CSV</a></p>");
                bd_table_html(b, r, stats_cols, NSTATS, NULL, "暂无抽查结果。");
                bd_buf_puts(b, "</section>");
                bd_page_end(rq);
        }
        PQclear(r);
        PQclear(q);
}
