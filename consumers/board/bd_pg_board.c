/*
 * bd_pg_board: 案件看板, the officer's open cases (ql.case_board) with
 * filters (status, priority, overdue, due soon, officer, region, a search),
 * a sort order, counts at the top and pages of 100.  /board.csv exports
 * every matching case; /api/board is the page's data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bd_html.h"
#include "bd_page.h"
#include "bd_pages.h"

#define PAGE_SIZE 100

static const bd_col_t cols[] = {
    {"case_no", "案件编号", BD_COL_CASE, 0, NULL},
    {"enterprise_name", "企业名称", BD_COL_ENTERPRISE, 0, "credit_code"},
    {"credit_code", "统一社会信用代码", BD_COL_TEXT, 0, NULL},
    {"region_code", "辖区", BD_COL_REGION, 0, NULL},
    {"status", "状态", BD_COL_TITLE, BD_T_CASE_STATUS, NULL},
    {"priority", "优先级", BD_COL_TITLE, BD_T_PRIORITY, NULL},
    {"open_findings", "未清零问题", BD_COL_NUM, 0, NULL},
    {"serious_findings", "其中严重", BD_COL_NUM, 0, NULL},
    {"next_action", "下一事项", BD_COL_TITLE, BD_T_ACTION, NULL},
    {"next_due", "期限", BD_COL_DATE, 0, NULL},
    {"overdue", "逾期", BD_COL_BOOL, 0, NULL},
    {"officer", "承办人", BD_COL_TEXT, 0, NULL},
    {"opened_at", "立案时间", BD_COL_TIME, 0, NULL},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static const struct {
        const char *key, *label;
        bd_query_t q;
} sorts[] = {
    {"priority", "按优先级", BD_Q_BOARD_BY_PRIORITY},
    {"due", "按期限", BD_Q_BOARD_BY_DUE},
    {"opened", "按立案时间（新→旧）", BD_Q_BOARD_BY_OPENED},
    {"enterprise", "按企业名称", BD_Q_BOARD_BY_ENTERPRISE},
    {"case", "按案件编号", BD_Q_BOARD_BY_CASE},
};

typedef struct {
        const char *status, *priority, *overdue, *officer, *region, *due_soon,
            *q, *sort;
        int page;
        char due_days[8], limit[16], offset[24];
} filter_t;

static int one_of(const char *v, const char *const *allowed)
{
        for (; *allowed; allowed++)
                if (!strcmp(v, *allowed))
                        return 1;
        return 0;
}

static int digits(const char *v, size_t max)
{
        size_t n = strlen(v);
        if (n == 0 || n > max)
                return 0;
        for (; *v; v++)
                if (*v < '0' || *v > '9')
                        return 0;
        return 1;
}

/* Read and check the filters; -1 (with the page answered 400) on a value
 * that is not one the form offers. */
static int read_filter(bd_req_t *rq, filter_t *f)
{
        static const char *const statuses[] = {"OPEN", "ESCALATED", NULL};
        static const char *const priorities[] = {"P1", "P2", "P3", NULL};
        static const char *const bools[] = {"1", "0", "true", "false", NULL};
        memset(f, 0, sizeof(*f));
        f->status = bd_page_arg(rq, "status");
        f->priority = bd_page_arg(rq, "priority");
        f->overdue = bd_page_arg(rq, "overdue");
        f->officer = bd_page_arg(rq, "officer");
        f->region = bd_page_arg(rq, "region");
        f->due_soon = bd_page_arg(rq, "due_soon");
        f->q = bd_page_arg(rq, "q");
        f->sort = bd_page_arg(rq, "sort");
        const char *page = bd_page_arg(rq, "page");
        const char *bad = NULL;
        if (f->status && !one_of(f->status, statuses))
                bad = "status";
        else if (f->priority && !one_of(f->priority, priorities))
                bad = "priority";
        else if (f->overdue && !one_of(f->overdue, bools))
                bad = "overdue";
        else if (f->due_soon && !one_of(f->due_soon, bools) &&
                 !digits(f->due_soon, 3))
                bad = "due_soon";
        else if (f->region && !digits(f->region, 6))
                bad = "region";
        else if (f->officer && strlen(f->officer) > BD_SESSION_LOGIN_MAX)
                bad = "officer";
        else if (f->q && strlen(f->q) > 100)
                bad = "q";
        else if (page && !digits(page, 6))
                bad = "page";
        if (bad) {
                char msg[200];
                snprintf(msg, sizeof(msg),
                         "筛选条件“%s”的取值无效，请使用页面上的选项。", bad);
                bd_page_error(rq, 400, "筛选条件无效", msg);
                return -1;
        }
        if (f->officer && !strcmp(f->officer, "me"))
                f->officer = bd_session_login(rq->session);
        if (f->overdue)
                f->overdue =
                    (!strcmp(f->overdue, "1") || !strcmp(f->overdue, "true"))
                        ? "true"
                        : "false";
        if (f->due_soon) {
                if (!strcmp(f->due_soon, "0") || !strcmp(f->due_soon, "false"))
                        f->due_soon = NULL;
                else
                        snprintf(f->due_days, sizeof(f->due_days), "%s",
                                 digits(f->due_soon, 3) &&
                                         strcmp(f->due_soon, "1")
                                     ? f->due_soon
                                     : "7");
        }
        f->page = page ? atoi(page) : 1;
        if (f->page < 1)
                f->page = 1;
        return 0;
}

/* The statement of the sort order: with 015's titles and region names
 * when the database has them. */
static bd_query_t sort_query(bd_req_t *rq, const filter_t *f)
{
        bd_query_t q = BD_Q_BOARD_BY_PRIORITY;
        for (size_t i = 0; f->sort && i < sizeof(sorts) / sizeof(sorts[0]); i++)
                if (!strcmp(f->sort, sorts[i].key))
                        q = sorts[i].q;
        if (bd_session_caps(rq->session) & BD_CAP_REGION_NAME)
                q = (bd_query_t)(q - BD_Q_BOARD_BY_PRIORITY +
                                 BD_Q_BOARD8_BY_PRIORITY);
        return q;
}

static void option(bd_buf_t *b, const char *value, const char *label,
                   const char *current)
{
        bd_buf_puts(b, "<option value=\"");
        bd_html_attr(b, value);
        bd_buf_puts(b, "\"");
        if (current && !strcmp(current, value))
                bd_buf_puts(b, " selected");
        bd_buf_puts(b, ">");
        bd_html_txt(b, label);
        bd_buf_puts(b, "</option>");
}

static void filter_form(bd_req_t *rq, const filter_t *f)
{
        bd_buf_t *b = &rq->body;
        const char *raw_officer = bd_page_arg(rq, "officer");
        bd_buf_puts(b, "<form class=\"filters\" method=\"get\" action=\"/\" "
                       "id=\"filters\"><label>状态 <select name=\"status\">");
        option(b, "", "全部", f->status);
        option(b, "OPEN", "整改中", f->status);
        option(b, "ESCALATED", "已升级", f->status);
        bd_buf_puts(b, "</select></label><label>优先级 <select "
                       "name=\"priority\">");
        option(b, "", "全部", f->priority);
        option(b, "P1", "P1 紧急", f->priority);
        option(b, "P2", "P2 较急", f->priority);
        option(b, "P3", "P3 一般", f->priority);
        bd_buf_puts(b, "</select></label><label>期限 <select "
                       "name=\"overdue\">");
        const char *od =
            f->overdue ? (!strcmp(f->overdue, "true") ? "1" : "0") : "";
        option(b, "", "全部", od);
        option(b, "1", "已逾期", od);
        option(b, "0", "未逾期", od);
        bd_buf_puts(b, "</select></label><label><input type=\"checkbox\" "
                       "name=\"due_soon\" value=\"1\"");
        if (f->due_soon)
                bd_buf_puts(b, " checked");
        bd_buf_puts(b, "> 7日内到期</label><label>承办人 <select "
                       "name=\"officer\">");
        option(b, "", "全部", raw_officer);
        option(b, "me", "我的案件", raw_officer);
        option(b, "-", "未指派", raw_officer);
        if (raw_officer && strcmp(raw_officer, "me") &&
            strcmp(raw_officer, "-"))
                option(b, raw_officer, raw_officer, raw_officer);
        bd_buf_puts(b, "</select></label><label>辖区 <select name=\"region\">");
        static const char *const regions[] = {
            "350203", "350205", "350206", "350211", "350212", "350213", NULL};
        option(b, "", "全部", f->region);
        int known = 0;
        for (const char *const *r = regions; *r; r++) {
                option(b, *r, bd_title(BD_T_REGION, *r), f->region);
                known |= f->region && !strcmp(f->region, *r);
        }
        if (f->region && !known)
                option(b, f->region, f->region, f->region);
        bd_buf_puts(b, "</select></label><label>排序 <select name=\"sort\">");
        for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++)
                option(b, sorts[i].key, sorts[i].label,
                       f->sort ? f->sort : "priority");
        bd_buf_puts(b,
                    "</select></label><label>查找 <input type=\"search\" "
                    "name=\"q\" placeholder=\"企业名称、案件编号或信用代码\" "
                    "value=\"");
        bd_html_attr(b, f->q);
        bd_buf_puts(b, "\"></label><button type=\"submit\">筛选</button> "
                       "<a href=\"/\">清除</a></form>");
}

/* The current query with one argument replaced (or dropped if value is
 * NULL), as an escaped href. */
static void href_with(bd_buf_t *b, bd_req_t *rq, const char *path,
                      const char *key, const char *value)
{
        static const char *const keys[] = {
            "status", "priority", "overdue", "due_soon", "officer",
            "region", "q",        "sort",    "page",     NULL};
        bd_buf_t q = {0};
        for (const char *const *k = keys; *k; k++) {
                const char *v = strcmp(*k, key) ? bd_page_arg(rq, *k) : value;
                if (!v)
                        continue;
                bd_buf_puts(&q, q.len ? "&" : "?");
                bd_html_url_arg(&q, *k);
                bd_buf_puts(&q, "=");
                bd_html_url_arg(&q, v);
        }
        bd_html_attr(b, path);
        if (q.data)
                bd_html_attr(b, q.data);
        bd_buf_free(&q);
}

/* The counts of the filtered cases, from the cnt_* columns of the
 * board's first row (or of the counts statement). */
static void counts_html(bd_req_t *rq, const PGresult *c)
{
        static const struct {
                const char *col, *label, *key, *value, *cls;
        } cards[] = {
            {"cnt_total", "在办案件", NULL, NULL, ""},
            {"cnt_p1", "P1 紧急", "priority", "P1", " warn"},
            {"cnt_escalated", "已升级", "status", "ESCALATED", " warn"},
            {"cnt_overdue", "已逾期", "overdue", "1", " alert"},
            {"cnt_due_soon", "7日内到期", "due_soon", "1", ""},
            {"cnt_unassigned", "未指派", "officer", "-", ""},
            {"cnt_serious", "有严重问题", NULL, NULL, ""},
        };
        bd_buf_t *b = &rq->body;
        bd_buf_puts(b, "<ul class=\"counts\">");
        for (size_t i = 0; i < sizeof(cards) / sizeof(cards[0]); i++) {
                bd_buf_printf(b, "<li class=\"count%s\">", cards[i].cls);
                if (cards[i].key) {
                        bd_buf_puts(b, "<a href=\"");
                        href_with(b, rq, "/", cards[i].key, cards[i].value);
                        bd_buf_puts(b, "\">");
                }
                bd_buf_puts(b, "<span class=\"n\">");
                const char *v = bd_val(c, 0, cards[i].col);
                bd_html_txt(b, v ? v : "0");
                bd_buf_puts(b, "</span><span class=\"l\">");
                bd_html_txt(b, cards[i].label);
                bd_buf_puts(b, "</span>");
                if (cards[i].key)
                        bd_buf_puts(b, "</a>");
                bd_buf_puts(b, "</li>");
        }
        bd_buf_puts(b, "</ul>");
}

void bd_pg_board(bd_req_t *rq)
{
        filter_t f;
        if (read_filter(rq, &f))
                return;
        int all = rq->route.format == BD_FMT_CSV;
        snprintf(f.limit, sizeof(f.limit), "%d", PAGE_SIZE);
        snprintf(f.offset, sizeof(f.offset), "%lld",
                 (long long)(f.page - 1) * PAGE_SIZE);
        const char *params[9] = {f.status,
                                 f.priority,
                                 f.overdue,
                                 f.officer,
                                 f.region,
                                 f.due_soon ? f.due_days : NULL,
                                 f.q,
                                 all ? NULL : f.limit,
                                 all ? "0" : f.offset};
        PGresult *rows = NULL, *counts = NULL;
        if (bd_page_query(rq, sort_query(rq, &f), params, &rows))
                return;
        if (rq->route.format == BD_FMT_CSV) {
                bd_page_csv(rq, "案件看板.csv", rows, cols, NCOLS);
                PQclear(rows);
                return;
        }
        /* The counts ride on the rows; a page past the end has none. */
        if (PQntuples(rows) == 0 &&
            bd_page_query(rq, BD_Q_BOARD_COUNTS, params, &counts)) {
                PQclear(rows);
                return;
        }
        const PGresult *cr = counts ? counts : rows;
        const char *tv = bd_val(cr, 0, "cnt_total");
        long long total = tv ? strtoll(tv, NULL, 10) : 0;
        if (rq->route.format == BD_FMT_JSON) {
                json_t *c = json_object();
                for (int k = 0; c && PQntuples(cr) > 0 && k < PQnfields(cr);
                     k++)
                        if (!strncmp(PQfname(cr, k), "cnt_", 4))
                                json_object_set_new(
                                    c, PQfname(cr, k) + 4,
                                    json_integer(strtoll(PQgetvalue(cr, 0, k),
                                                         NULL, 10)));
                json_t *doc = json_pack(
                    "{s:o,s:o,s:i,s:i,s:I}", "cases", bd_rows_json(rows),
                    "counts", c ? c : json_object(), "page", f.page,
                    "page_size", PAGE_SIZE, "total", (json_int_t)total);
                PQclear(rows);
                PQclear(counts);
                bd_page_json(rq, doc);
                return;
        }
        bd_page_begin(rq, "案件看板", BD_R_BOARD);
        bd_buf_t *b = &rq->body;
        counts_html(rq, cr);
        filter_form(rq, &f);
        bd_buf_puts(b, "<p class=\"tools\"><a class=\"button\" href=\"");
        href_with(b, rq, "/board.csv", "page", NULL);
        bd_buf_puts(b, "\" download>导出 CSV</a></p>");
        bd_table_html(b, rows, cols, NCOLS, "overdue",
                      "没有符合条件的在办案件。");
        long long pages = (total + PAGE_SIZE - 1) / PAGE_SIZE;
        if (pages > 1) {
                bd_buf_printf(b, "<nav class=\"pages\">第 %d / %lld 页 ",
                              f.page, pages);
                char n[24];
                if (f.page > 1) {
                        snprintf(n, sizeof(n), "%d", f.page - 1);
                        bd_buf_puts(b, "<a href=\"");
                        href_with(b, rq, "/", "page", n);
                        bd_buf_puts(b, "\">上一页</a> ");
                }
                if (f.page < pages) {
                        snprintf(n, sizeof(n), "%d", f.page + 1);
                        bd_buf_puts(b, "<a href=\"");
                        href_with(b, rq, "/", "page", n);
                        bd_buf_puts(b, "\">下一页</a>");
                }
                bd_buf_puts(b, "</nav>");
        }
        PQclear(rows);
        PQclear(counts);
        bd_page_end(rq);
}
