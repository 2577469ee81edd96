/*
 * bd_pg_notice: 责令整改通知书, the rectification order for a case, laid out
 * for printing on A4 (the stylesheet's print rules hide the workbench
 * around it): the bureau, the document number (文号), the enterprise with
 * its credit code, the products and failed items, the legal basis, the
 * deadline (the RECTIFY action's due date) and the date.  Where the
 * database does not hold a value yet (no 文号 recorded), a blank line is
 * left to fill in by hand.  /api/cases/{no}/notice gives the same fields.
 */
#include <stdio.h>
#include <string.h>

#include "bd_csv.h"
#include "bd_html.h"
#include "bd_page.h"
#include "bd_pages.h"

#define BASIS                                                                                                    \
        "《产品质量监督抽查管理暂行办法》第四十六条、《中华人民共和国产品质量" \
        "法》第十七条"

static void blank(bd_buf_t *b, const char *v, const char *fill)
{
        if (v && *v)
                bd_html_txt(b, v);
        else
                bd_buf_puts(b, fill);
}

void bd_pg_notice(bd_req_t *rq)
{
        const char *params[1] = {rq->route.case_no};
        PGresult *h = NULL, *plan = NULL, *diag = NULL, *n = NULL;
        if (bd_page_query(rq, BD_Q_CASE_HEAD, params, &h))
                return;
        if (PQntuples(h) == 0) {
                PQclear(h);
                bd_page_error(rq, 404, "未找到案件",
                              "未找到该案件，或该案件不在您负责的辖区内。");
                return;
        }
        if (bd_page_query(rq, BD_Q_CASE_PLAN, params, &plan) ||
            bd_page_query(rq, BD_Q_CASE_DIAGNOSIS, params, &diag))
                goto out;
        if ((bd_session_caps(rq->session) & BD_CAP_NOTICE) &&
            bd_page_query(rq, BD_Q_NOTICE, params, &n))
                goto out;
        /* ql.case_notice (when the database has it) names the order's 文号
         * and date, the address, the products and batches, the open failed
         * items and the RECTIFY deadline counted from the order. */
        int has_n = n && PQntuples(n) == 1;
        const char *deadline = NULL;
        for (int i = 0; i < PQntuples(plan); i++) {
                const char *a = bd_val(plan, i, "action");
                const char *st = bd_val(plan, i, "status");
                if (a && !strcmp(a, "RECTIFY") &&
                    (!deadline || (st && !strcmp(st, "PENDING"))))
                        deadline = bd_val(plan, i, "due_date");
        }
        const bd_config_t *cfg = bd_app_config(rq->app);
        char today[11];
        bd_page_today(today);
        const char *doc_no = has_n ? bd_val(n, 0, "order_doc_no") : NULL;
        const char *address = has_n ? bd_val(n, 0, "address") : NULL;
        const char *ordered_on = has_n ? bd_val(n, 0, "ordered_on") : NULL;
        const char *products = has_n ? bd_val(n, 0, "products") : NULL;
        const char *report_nos = has_n ? bd_val(n, 0, "report_nos") : NULL;
        if (has_n && bd_val(n, 0, "rectify_due"))
                deadline = bd_val(n, 0, "rectify_due");
        const char *date = ordered_on ? ordered_on : today;
        if (rq->route.format == BD_FMT_CSV) {
                const char *rows[][2] = {
                    {"机关", cfg->bureau_name},
                    {"文号", doc_no},
                    {"案件编号", rq->route.case_no},
                    {"企业名称", bd_val(h, 0, "enterprise_name")},
                    {"统一社会信用代码", bd_val(h, 0, "credit_code")},
                    {"地址", address},
                    {"产品及批号", products},
                    {"检验报告编号", report_nos},
                    {"整改期限", deadline},
                    {"依据", BASIS},
                    {"日期", date},
                };
                rq->status = 200;
                rq->content_type = "text/csv; charset=utf-8";
                snprintf(rq->filename, sizeof(rq->filename),
                         "%s-责令整改通知书.csv", rq->route.case_no);
                bd_csv_bom(&rq->body);
                bd_csv_cell(&rq->body, "字段", 1, 0);
                bd_csv_cell(&rq->body, "内容", 0, 0);
                bd_csv_end_row(&rq->body);
                for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                        bd_csv_cell(&rq->body, rows[i][0], 1, 0);
                        bd_csv_cell(&rq->body, rows[i][1], 0, 0);
                        bd_csv_end_row(&rq->body);
                }
                for (int i = 0; i < PQntuples(diag); i++) {
                        bd_csv_cell(&rq->body, "不合格项目", 1, 0);
                        bd_csv_cell(&rq->body, bd_val(diag, i, "failed_items"),
                                    0, 0);
                        bd_csv_end_row(&rq->body);
                }
                goto out;
        }
        if (rq->route.format == BD_FMT_JSON) {
                json_t *items = json_array();
                for (int i = 0; i < PQntuples(diag); i++)
                        json_array_append_new(
                            items, json_pack("{s:s?,s:s?}", "category",
                                             bd_val(diag, i, "category_title"),
                                             "items",
                                             bd_val(diag, i, "failed_items")));
                bd_page_json(
                    rq, json_pack(
                            "{s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,"
                            "s:o,s:s,s:s}",
                            "bureau", cfg->bureau_name, "case_no",
                            rq->route.case_no, "doc_no", doc_no,
                            "enterprise_name", bd_val(h, 0, "enterprise_name"),
                            "credit_code", bd_val(h, 0, "credit_code"),
                            "address", address, "products", products,
                            "report_nos", report_nos, "deadline", deadline,
                            "failed", items, "basis", BASIS, "date", date));
                goto out;
        }
        rq->status = 200;
        rq->content_type = "text/html; charset=utf-8";
        bd_buf_t *b = &rq->body;
        bd_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head>"
                       "<meta charset=\"utf-8\"><title>责令整改通知书 ");
        bd_html_txt(b, rq->route.case_no);
        bd_buf_puts(b, "</title><link rel=\"stylesheet\" "
                       "href=\"/static/board.css\"><script "
                       "src=\"/static/board.js\" defer></script></head>"
                       "<body class=\"notice-page\"><p class=\"noprint "
                       "tools\"><a href=\"/cases/");
        bd_html_url_arg(b, rq->route.case_no);
        bd_buf_puts(b, "\">← 返回案件</a> <button type=\"button\" "
                       "class=\"print\">打印</button></p>"
                       "<article class=\"notice\"><h1 class=\"bureau\">");
        bd_html_txt(b, cfg->bureau_name);
        bd_buf_puts(b, "</h1><h2>责令整改通知书</h2><p class=\"docno\">");
        blank(b, doc_no, "〔　　　　〕第　　　　号");
        bd_buf_puts(b, "</p><p class=\"to\">");
        bd_html_txt(b, bd_val(h, 0, "enterprise_name"));
        bd_buf_puts(b, "：</p><table class=\"facts\"><tr><th>统一社会信用代码"
                       "</th><td>");
        bd_html_txt(b, bd_val(h, 0, "credit_code"));
        bd_buf_puts(b, "</td></tr><tr><th>地址</th><td>");
        blank(b, address, "＿＿＿＿＿＿＿＿＿＿＿＿＿＿＿＿");
        bd_buf_puts(b, "</td></tr>");
        if (products) {
                bd_buf_puts(b, "<tr><th>产品及批号</th><td>");
                bd_html_txt(b, products);
                bd_buf_puts(b, "</td></tr>");
        }
        if (report_nos) {
                bd_buf_puts(b, "<tr><th>检验报告编号</th><td>");
                bd_html_txt(b, report_nos);
                bd_buf_puts(b, "</td></tr>");
        }
        bd_buf_puts(b, "<tr><th>案件编号</th><td>");
        bd_html_txt(b, rq->route.case_no);
        bd_buf_puts(b, "</td></tr></table><p>经监督抽查检验，你单位的产品"
                       "存在下列不合格项目：</p><table class=\"items\">"
                       "<thead><tr><th>问题类别</th><th>不合格项目</th>"
                       "</tr></thead><tbody>");
        for (int i = 0; i < PQntuples(diag); i++) {
                bd_buf_puts(b, "<tr><td>");
                bd_html_txt(b, bd_val(diag, i, "category_title"));
                bd_buf_puts(b, "</td><td>");
                bd_html_txt(b, bd_val(diag, i, "failed_items"));
                bd_buf_puts(b, "</td></tr>");
        }
        bd_buf_puts(b, "</tbody></table><p>依据" BASIS "的规定，现责令你单位"
                       "对上述不合格产品立即停止生产、销售，查明不合格原因，"
                       "依法进行整改，并于 <strong class=\"deadline\">");
        blank(b, deadline, "＿＿＿＿年＿＿月＿＿日");
        bd_buf_puts(b, "</strong> 前完成整改，向本局报送整改报告，接受复查。"
                       "</p><p>逾期不整改或者整改不符合要求的，本局将依法"
                       "予以公告，并依照有关法律、法规的规定处理。</p>"
                       "<p class=\"sign\">");
        bd_html_txt(b, cfg->bureau_name);
        bd_buf_puts(b, "<br><span class=\"date\">");
        bd_html_txt(b, date);
        bd_buf_puts(b, "</span></p></article></body></html>\n");
out:
        PQclear(h);
        PQclear(plan);
        PQclear(diag);
        PQclear(n);
}
