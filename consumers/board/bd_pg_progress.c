/*
 * bd_pg_progress: 清零进度, how many nonconforming results are cleared, per
 * district (ql.zero_out_summary, each result once) and per cause category
 * (ql.zero_out_progress, summed over the officer's districts), as SVG bar
 * charts and tables, and (with ql.case_findings) the last twelve months'
 * trend of cleared and still open results.  /progress.csv exports
 * ql.zero_out_progress's rows; /api/progress gives both views.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bd_chart.h"
#include "bd_html.h"
#include "bd_page.h"
#include "bd_pages.h"

static const bd_col_t progress_cols[] = {
    {"region_code", "辖区", BD_COL_REGION, 0, NULL},
    {"category_title", "问题类别", BD_COL_TEXT, 0, NULL},
    {"nonconforming", "不合格批次", BD_COL_NUM, 0, NULL},
    {"cleared", "已清零", BD_COL_NUM, 0, NULL},
    {"open", "未清零", BD_COL_NUM, 0, NULL},
    {"clear_rate", "清零率", BD_COL_RATE, 0, NULL},
};
#define NPROGRESS (sizeof(progress_cols) / sizeof(progress_cols[0]))

static const bd_col_t summary_cols[] = {
    {"region_code", "辖区", BD_COL_REGION, 0, NULL},
    {"nonconforming", "不合格批次", BD_COL_NUM, 0, NULL},
    {"cleared", "已清零", BD_COL_NUM, 0, NULL},
    {"open", "未清零", BD_COL_NUM, 0, NULL},
    {"clear_rate", "清零率", BD_COL_RATE, 0, NULL},
};
#define NSUMMARY (sizeof(summary_cols) / sizeof(summary_cols[0]))

static const char *const parts_class[BD_CHART_PARTS] = {"bar-cleared",
                                                        "bar-open"};
static const char *const parts_name[BD_CHART_PARTS] = {"已清零", "未清零"};

#define MAX_BARS 64

static void region_chart(bd_buf_t *b, const PGresult *s)
{
        bd_bar_t bars[MAX_BARS];
        char labels[MAX_BARS][48];
        size_t n = 0;
        for (int i = 0; i < PQntuples(s) && n < MAX_BARS; i++, n++) {
                bd_col_t c = {"region_code", "", BD_COL_REGION, 0, NULL};
                const char *t =
                    bd_cell_text(s, i, &c, labels[n], sizeof(labels[n]));
                if (t != labels[n])
                        snprintf(labels[n], sizeof(labels[n]), "%s",
                                 t ? t : "");
                bars[n].label = labels[n];
                bars[n].v[0] = strtoll(bd_val(s, i, "cleared"), NULL, 10);
                bars[n].v[1] = strtoll(bd_val(s, i, "open"), NULL, 10);
        }
        bd_chart_bars(b, "各辖区清零进度", bars, n, parts_class, parts_name);
}

/* Sum ql.zero_out_progress over regions, per category title. */
static void category_chart(bd_buf_t *b, const PGresult *p)
{
        bd_bar_t bars[MAX_BARS];
        size_t n = 0;
        for (int i = 0; i < PQntuples(p); i++) {
                const char *t = bd_val(p, i, "category_title");
                size_t k = 0;
                while (k < n && strcmp(bars[k].label, t ? t : ""))
                        k++;
                if (k == n) {
                        if (n == MAX_BARS)
                                continue;
                        bars[n].label = t ? t : "";
                        bars[n].v[0] = bars[n].v[1] = 0;
                        n++;
                }
                bars[k].v[0] += strtoll(bd_val(p, i, "cleared"), NULL, 10);
                bars[k].v[1] += strtoll(bd_val(p, i, "open"), NULL, 10);
        }
        bd_chart_bars(b, "各类问题清零进度", bars, n, parts_class, parts_name);
}

/* Month by month: cleared in the month, and still open at its end. */
static void trend_chart(bd_buf_t *b, const PGresult *t)
{
        bd_bar_t bars[MAX_BARS];
        char labels[MAX_BARS][16];
        size_t n = 0;
        for (int i = 0; i < PQntuples(t) && n < MAX_BARS; i++, n++) {
                const char *m = bd_val(t, i, "month");
                snprintf(labels[n], sizeof(labels[n]), "%s", m ? m : "");
                bars[n].label = labels[n];
                bars[n].v[0] = strtoll(bd_val(t, i, "cleared"), NULL, 10);
                bars[n].v[1] = strtoll(bd_val(t, i, "open"), NULL, 10);
        }
        static const char *const names[BD_CHART_PARTS] = {"当月清零",
                                                          "月末未清零"};
        bd_chart_columns(b, "近12个月清零趋势", bars, n, parts_class, names);
}

static const bd_col_t trend_cols[] = {
    {"month", "月份", BD_COL_TEXT, 0, NULL},
    {"reported", "新增不合格", BD_COL_NUM, 0, NULL},
    {"cleared", "当月清零", BD_COL_NUM, 0, NULL},
    {"open", "月末未清零", BD_COL_NUM, 0, NULL},
};
#define NTREND (sizeof(trend_cols) / sizeof(trend_cols[0]))

void bd_pg_progress(bd_req_t *rq)
{
        PGresult *p = NULL, *s = NULL, *t = NULL;
        if (bd_page_query(rq, BD_Q_PROGRESS, NULL, &p))
                return;
        if (rq->route.format == BD_FMT_CSV) {
                bd_page_csv(rq, "清零进度.csv", p, progress_cols, NPROGRESS);
                PQclear(p);
                return;
        }
        if (bd_page_query(rq, BD_Q_SUMMARY, NULL, &s)) {
                PQclear(p);
                return;
        }
        if ((bd_session_caps(rq->session) & BD_CAP_FINDINGS) &&
            bd_page_query(rq, BD_Q_TREND, NULL, &t)) {
                PQclear(p);
                PQclear(s);
                return;
        }
        if (rq->route.format == BD_FMT_JSON) {
                json_t *doc = json_pack("{s:o,s:o}", "summary", bd_rows_json(s),
                                        "progress", bd_rows_json(p));
                if (doc && t)
                        json_object_set_new(doc, "trend", bd_rows_json(t));
                bd_page_json(rq, doc);
        } else {
                bd_page_begin(rq, "清零进度", BD_R_PROGRESS);
                bd_buf_t *b = &rq->body;
                long long nc = 0, cl = 0;
                for (int i = 0; i < PQntuples(s); i++) {
                        nc += strtoll(bd_val(s, i, "nonconforming"), NULL, 10);
                        cl += strtoll(bd_val(s, i, "cleared"), NULL, 10);
                }
                bd_buf_printf(b,
                              "<ul class=\"counts\"><li class=\"count\">"
                              "<span class=\"n\">%lld</span><span "
                              "class=\"l\">不合格批次</span></li><li "
                              "class=\"count\"><span class=\"n\">%lld"
                              "</span><span class=\"l\">已清零</span></li>"
                              "<li class=\"count alert\"><span "
                              "class=\"n\">%lld</span><span class=\"l\">"
                              "未清零</span></li><li class=\"count\"><span "
                              "class=\"n\">%.1f%%</span><span "
                              "class=\"l\">清零率</span></li></ul>",
                              nc, cl, nc - cl,
                              nc ? 100.0 * (double)cl / (double)nc : 0.0);
                bd_buf_puts(b, "<section><h2>按辖区</h2>");
                region_chart(b, s);
                bd_table_html(b, s, summary_cols, NSUMMARY, NULL,
                              "暂无不合格检验结果。");
                bd_buf_puts(b, "</section><section><h2>按问题类别</h2>");
                category_chart(b, p);
                bd_buf_puts(b, "<p class=\"tools\"><a class=\"button\" "
                               "href=\"/progress.csv\" download>导出 CSV</a>"
                               "</p>");
                bd_table_html(b, p, progress_cols, NPROGRESS, NULL,
                              "暂无不合格检验结果。");
                bd_buf_puts(b, "</section>");
                if (t) {
                        bd_buf_puts(b, "<section><h2>月度趋势</h2>");
                        trend_chart(b, t);
                        bd_table_html(b, t, trend_cols, NTREND, NULL, "");
                        bd_buf_puts(b, "</section>");
                }
                bd_page_end(rq);
        }
        PQclear(p);
        PQclear(s);
        PQclear(t);
}
