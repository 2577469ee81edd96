/*
 * bd_page: layout, tables and the query helper shared by the pages (see
 * bd_page.h).  The layout is written here once; a page writes only what is
 * between bd_page_begin() and bd_page_end().
 */
#include "bd_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bd_csv.h"
#include "bd_db.h"
#include "bd_html.h"
#include "ql_time.h"

static const struct {
        bd_route_id_t id;
        const char *href, *label;
} nav[] = {
    {BD_R_BOARD, "/", "案件看板"},
    {BD_R_OVERDUE, "/overdue", "逾期与临期"},
    {BD_R_WORKLOAD, "/workload", "承办人工作量"},
    {BD_R_PROGRESS, "/progress", "清零进度"},
    {BD_R_RECHECKS, "/rechecks", "待确认复查"},
    {BD_R_STATS, "/stats", "质量统计"},
};

void bd_page_today(char buf[11])
{
        int64_t ms = (int64_t)time(NULL) * 1000 + QL_TIME_CST_OFFSET_MS;
        ql_time_format_date((int32_t)(ms / 86400000), buf, 11);
}

void bd_page_csrf_field(bd_req_t *rq)
{
        bd_buf_puts(&rq->body, "<input type=\"hidden\" name=\"csrf\" value=\"");
        bd_html_attr(&rq->body,
                     rq->session ? bd_session_csrf(rq->session) : "");
        bd_buf_puts(&rq->body, "\">");
}

void bd_page_begin(bd_req_t *rq, const char *title, bd_route_id_t active)
{
        bd_buf_t *b = &rq->body;
        const bd_config_t *cfg = bd_app_config(rq->app);
        rq->status = 200;
        rq->content_type = "text/html; charset=utf-8";
        bd_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head>"
                       "<meta charset=\"utf-8\">"
                       "<meta name=\"viewport\" content=\"width=device-width, "
                       "initial-scale=1\"><title>");
        bd_html_txt(b, title);
        bd_buf_puts(b, " · 清零工作台</title>"
                       "<link rel=\"stylesheet\" href=\"/static/board.css\">"
                       "<script src=\"/static/board.js\" defer></script>"
                       "</head><body><header class=\"top\"><div "
                       "class=\"brand\"><span class=\"bureau\">");
        bd_html_txt(b, cfg->bureau_name);
        bd_buf_puts(b, "</span> <span class=\"app\">清零工作台</span></div>");
        if (rq->session) {
                bd_buf_puts(b, "<nav>");
                for (size_t i = 0; i < sizeof(nav) / sizeof(nav[0]); i++) {
                        bd_buf_printf(b, "<a href=\"%s\"%s>%s</a>", nav[i].href,
                                      nav[i].id == active
                                          ? " class=\"active\" "
                                            "aria-current=\"page\""
                                          : "",
                                      nav[i].label);
                }
                bd_buf_puts(b, "</nav><form class=\"who\" method=\"post\" "
                               "action=\"/logout\"><span class=\"login\">");
                bd_html_txt(b, bd_session_login(rq->session));
                bd_buf_puts(b, "</span>");
                bd_page_csrf_field(rq);
                bd_buf_puts(b, "<button type=\"submit\">退出</button></form>");
        }
        bd_buf_puts(b, "</header><main>");
        if (rq->session) {
                char msg[BD_SESSION_FLASH_MAX];
                int k = bd_session_take_flash(rq->session, msg, sizeof(msg));
                if (k) {
                        bd_buf_printf(b, "<p class=\"flash %s\" role=\"%s\">",
                                      k == 1 ? "error" : "notice",
                                      k == 1 ? "alert" : "status");
                        bd_html_txt(b, msg);
                        bd_buf_puts(b, "</p>");
                }
        }
        bd_buf_puts(b, "<h1>");
        bd_html_txt(b, title);
        bd_buf_puts(b, "</h1>");
}

void bd_page_end(bd_req_t *rq)
{
        char today[11];
        bd_page_today(today);
        bd_buf_puts(&rq->body, "</main><footer>日期按北京时间（UTC+8）计算 · "
                               "今日 ");
        bd_buf_puts(&rq->body, today);
        bd_buf_puts(&rq->body, "</footer></body></html>\n");
}

void bd_page_error(bd_req_t *rq, int status, const char *title, const char *msg)
{
        bd_buf_free(&rq->body);
        rq->filename[0] = '\0';
        if (rq->route.format == BD_FMT_JSON) {
                bd_page_json(
                    rq, json_pack("{s:s,s:s}", "error", msg, "title", title));
                rq->status = status;
                return;
        }
        if (rq->route.format == BD_FMT_CSV) {
                rq->status = status;
                rq->content_type = "text/plain; charset=utf-8";
                bd_buf_puts(&rq->body, msg);
                bd_buf_puts(&rq->body, "\n");
                return;
        }
        bd_page_begin(rq, title, BD_R_NOT_FOUND);
        rq->status = status;
        bd_buf_puts(&rq->body, "<p class=\"flash error\" role=\"alert\">");
        bd_html_txt(&rq->body, msg);
        bd_buf_puts(&rq->body, "</p><p><a href=\"/\">返回案件看板</a></p>");
        bd_page_end(rq);
}

int bd_page_query(bd_req_t *rq, bd_query_t q, const char *const *params,
                  PGresult **res)
{
        char msg[400];
        bd_db_rc_t rc = bd_db_run(rq->session, bd_app_log(rq->app), q, params,
                                  res, msg, sizeof(msg));
        if (rc == BD_DB_OK)
                return 0;
        if (rc == BD_DB_LOST) {
                bd_sessions_end(bd_app_sessions(rq->app), rq->session);
                bd_page_error(rq, 503, "连接已中断", msg);
                return -1;
        }
        bd_page_error(rq, 500, "无法显示", msg);
        return -1;
}

const char *bd_page_arg(bd_req_t *rq, const char *name)
{
        const char *v = rq->arg ? rq->arg(rq->arg_ctx, name) : NULL;
        return v && *v ? v : NULL;
}

const char *bd_val(const PGresult *r, int row, const char *col)
{
        int c = PQfnumber(r, col);
        if (c < 0 || row >= PQntuples(r) || PQgetisnull(r, row, c))
                return NULL;
        return PQgetvalue(r, row, c);
}

const char *bd_cell_text(const PGresult *r, int row, const bd_col_t *c,
                         char *buf, size_t size)
{
        const char *v = bd_val(r, row, c->col);
        if (!v)
                return c->kind == BD_COL_OFFICER ? BD_PAGE_UNASSIGNED : NULL;
        switch (c->kind) {
        case BD_COL_TIME:
                snprintf(buf, size, "%.16s", v);
                return buf;
        case BD_COL_BOOL:
                return !strcmp(v, "t") ? "是" : "否";
        case BD_COL_TITLE: {
                /* The view's own title column (status -> status_title)
                 * when it has one, else ours. */
                char col[80];
                snprintf(col, sizeof(col), "%s_title", c->col);
                const char *t = bd_val(r, row, col);
                return t ? t : bd_title(c->titles, v);
        }
        case BD_COL_REGION: {
                /* region_code -> region_name, manufacturer_region ->
                 * manufacturer_region_name, else our table. */
                char col[80];
                size_t n = strlen(c->col);
                if (n > 5 && !strcmp(c->col + n - 5, "_code"))
                        snprintf(col, sizeof(col), "%.*s_name", (int)(n - 5),
                                 c->col);
                else
                        snprintf(col, sizeof(col), "%s_name", c->col);
                const char *name = bd_val(r, row, col);
                if (!name)
                        name = bd_title_known(BD_T_REGION, v);
                if (!name)
                        return v;
                snprintf(buf, size, "%s %s", name, v);
                return buf;
        }
        case BD_COL_RATE:
                snprintf(buf, size, "%.1f%%", strtod(v, NULL) * 100);
                return buf;
        default:
                return v;
        }
}

void bd_table_html(bd_buf_t *b, const PGresult *r, const bd_col_t *cols,
                   size_t ncols, const char *flag_col, const char *empty)
{
        int n = PQntuples(r);
        if (n == 0) {
                bd_buf_puts(b, "<p class=\"empty\">");
                bd_html_txt(b, empty);
                bd_buf_puts(b, "</p>");
                return;
        }
        bd_buf_puts(b, "<div class=\"scroll\"><table class=\"rows\"><thead>"
                       "<tr>");
        for (size_t i = 0; i < ncols; i++) {
                bd_buf_puts(b, cols[i].kind == BD_COL_NUM ||
                                       cols[i].kind == BD_COL_RATE
                                   ? "<th class=\"num\">"
                                   : "<th>");
                bd_html_txt(b, cols[i].header);
                bd_buf_puts(b, "</th>");
        }
        bd_buf_puts(b, "</tr></thead><tbody>");
        char buf[256];
        for (int row = 0; row < n; row++) {
                const char *flag = flag_col ? bd_val(r, row, flag_col) : NULL;
                bd_buf_puts(b, flag && !strcmp(flag, "t")
                                   ? "<tr class=\"flag\">"
                                   : "<tr>");
                for (size_t i = 0; i < ncols; i++) {
                        const bd_col_t *c = &cols[i];
                        const char *t =
                            bd_cell_text(r, row, c, buf, sizeof(buf));
                        int num =
                            c->kind == BD_COL_NUM || c->kind == BD_COL_RATE;
                        bd_buf_puts(b, num ? "<td class=\"num\">" : "<td>");
                        if (t && c->kind == BD_COL_CASE) {
                                bd_buf_puts(b, "<a href=\"/cases/");
                                bd_html_url_arg(b, t);
                                bd_buf_puts(b, "\">");
                                bd_html_txt(b, t);
                                bd_buf_puts(b, "</a>");
                        } else if (t && c->kind == BD_COL_ENTERPRISE &&
                                   c->link_col && bd_val(r, row, c->link_col)) {
                                bd_buf_puts(b, "<a href=\"/enterprises/");
                                bd_html_url_arg(b, bd_val(r, row, c->link_col));
                                bd_buf_puts(b, "\">");
                                bd_html_txt(b, t);
                                bd_buf_puts(b, "</a>");
                        } else if (c->kind == BD_COL_OFFICER) {
                                /* "-" is the board's filter for the cases
                                 * no one is assigned to. */
                                const char *login = bd_val(r, row, c->col);
                                bd_buf_puts(b, "<a href=\"/?officer=");
                                bd_html_url_arg(b, login ? login : "-");
                                bd_buf_puts(b,
                                            login ? "\">"
                                                  : "\" class=\"unassigned\">");
                                bd_html_txt(b, t);
                                bd_buf_puts(b, "</a>");
                        } else if (t && c->kind == BD_COL_TITLE) {
                                bd_buf_puts(b, "<span class=\"code c-");
                                bd_html_attr(b, bd_val(r, row, c->col));
                                bd_buf_puts(b, "\">");
                                bd_html_txt(b, t);
                                bd_buf_puts(b, "</span>");
                        } else {
                                bd_html_txt(b, t);
                        }
                        bd_buf_puts(b, "</td>");
                }
                bd_buf_puts(b, "</tr>");
        }
        bd_buf_puts(b, "</tbody></table></div>");
}

void bd_table_csv(bd_buf_t *b, const PGresult *r, const bd_col_t *cols,
                  size_t ncols)
{
        for (size_t i = 0; i < ncols; i++)
                bd_csv_cell(b, cols[i].header, i == 0, 0);
        bd_csv_end_row(b);
        char buf[256];
        for (int row = 0; row < PQntuples(r); row++) {
                for (size_t i = 0; i < ncols; i++) {
                        const bd_col_t *c = &cols[i];
                        bd_csv_cell(
                            b, bd_cell_text(r, row, c, buf, sizeof(buf)),
                            i == 0,
                            c->kind == BD_COL_NUM || c->kind == BD_COL_RATE);
                }
                bd_csv_end_row(b);
        }
}

void bd_page_csv(bd_req_t *rq, const char *filename, const PGresult *r,
                 const bd_col_t *cols, size_t ncols)
{
        rq->status = 200;
        rq->content_type = "text/csv; charset=utf-8";
        snprintf(rq->filename, sizeof(rq->filename), "%s", filename);
        bd_csv_bom(&rq->body);
        bd_table_csv(&rq->body, r, cols, ncols);
}

/* PostgreSQL type OIDs (pg_type.h) of the columns typed in JSON. */
#define OID_BOOL    16
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_FLOAT4  700
#define OID_FLOAT8  701
#define OID_NUMERIC 1700

json_t *bd_row_json(const PGresult *r, int row)
{
        json_t *o = json_object();
        for (int c = 0; o && c < PQnfields(r); c++) {
                json_t *v;
                if (!strncmp(PQfname(r, c), "cnt_", 4))
                        continue; /* a count of the page, not of the row */
                if (PQgetisnull(r, row, c)) {
                        v = json_null();
                } else {
                        const char *s = PQgetvalue(r, row, c);
                        switch (PQftype(r, c)) {
                        case OID_BOOL:
                                v = json_boolean(!strcmp(s, "t"));
                                break;
                        case OID_INT2:
                        case OID_INT4:
                        case OID_INT8:
                                v = json_integer(strtoll(s, NULL, 10));
                                break;
                        case OID_FLOAT4:
                        case OID_FLOAT8:
                        case OID_NUMERIC:
                                v = json_real(strtod(s, NULL));
                                break;
                        default:
                                v = json_string(s);
                        }
                }
                json_object_set_new(o, PQfname(r, c), v);
        }
        return o;
}

json_t *bd_rows_json(const PGresult *r)
{
        json_t *a = json_array();
        for (int row = 0; a && row < PQntuples(r); row++)
                json_array_append_new(a, bd_row_json(r, row));
        return a;
}

void bd_page_json(bd_req_t *rq, json_t *doc)
{
        rq->status = 200;
        rq->content_type = "application/json; charset=utf-8";
        if (!doc) {
                rq->body.failed = 1;
                return;
        }
        char *s = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (!s) {
                rq->body.failed = 1;
                return;
        }
        bd_buf_puts(&rq->body, s);
        bd_buf_puts(&rq->body, "\n");
        free(s);
}
