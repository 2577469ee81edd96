/*
 * bd_page: what every page shares -- the layout (head, the bureau's name,
 * the navigation, the officer's name with the sign-out button, the one-time
 * message of the last form), the tables that show a view's rows in HTML and
 * the same rows as CSV or JSON, and the one way a page runs a statement and
 * answers a database error.  Every value goes through bd_html or bd_csv.
 */
#ifndef BD_PAGE_H
#define BD_PAGE_H

#include <jansson.h>
#include <libpq-fe.h>

#include "bd_app.h"
#include "bd_sql.h"
#include "bd_titles.h"

/* Open the page: <head> with the stylesheet and script, header and
 * navigation (`active` marked).  Sets status 200 and the HTML type. */
void bd_page_begin(bd_req_t *rq, const char *title, bd_route_id_t active);
void bd_page_end(bd_req_t *rq);

/* A whole error answer in the route's format: an HTML page with the
 * layout (when signed in), or {"error": msg} for JSON, or text for CSV. */
void bd_page_error(bd_req_t *rq, int status, const char *title,
                   const char *msg);

/* Run a statement for the page.  0 with *res (PQclear it); -1 when the page
 * was answered already (error page, or the session ended and the officer
 * sent to sign in again). */
int bd_page_query(bd_req_t *rq, bd_query_t q, const char *const *params,
                  PGresult **res /* OUT */);

/* <input type="hidden" name="csrf" value="..."> of the session. */
void bd_page_csrf_field(bd_req_t *rq);

/* A query argument, NULL when absent or empty. */
const char *bd_page_arg(bd_req_t *rq, const char *name);

/* A column's value in row `row`: NULL for SQL NULL or no such column. */
const char *bd_val(const PGresult *r, int row, const char *col);

/* How a case no one is assigned to names its officer. */
#define BD_PAGE_UNASSIGNED "未指派"

/* Show a value the way a table cell does (title, date, time ...). */
typedef enum {
        BD_COL_TEXT = 0,
        BD_COL_NUM,
        BD_COL_DATE,
        BD_COL_TIME,       /* timestamp: "YYYY-MM-DD HH:MM" China time */
        BD_COL_BOOL,       /* 是 / 否 */
        BD_COL_TITLE,      /* a code shown by its Chinese title */
        BD_COL_CASE,       /* a case number linking to its page */
        BD_COL_ENTERPRISE, /* a name linking to the dossier of link_col */
        BD_COL_REGION,     /* a region code with its name */
        BD_COL_RATE,       /* 0..1 as a percentage */
        BD_COL_OFFICER,    /* a login linking to the board filtered by it;
                              NULL (no one assigned) is 未指派 */
} bd_col_kind_t;

typedef struct {
        const char *col;    /* the result's column */
        const char *header; /* Chinese column header */
        bd_col_kind_t kind;
        bd_title_kind_t titles; /* for BD_COL_TITLE */
        const char *link_col;   /* for BD_COL_ENTERPRISE: credit code */
} bd_col_t;

/* The text of a cell as shown (titles, cut timestamps ...), in buf.  NULL
 * for SQL NULL, except where the kind gives NULL a meaning (an officer). */
const char *bd_cell_text(const PGresult *r, int row, const bd_col_t *c,
                         char *buf, size_t size);

/* A <table> of r's rows.  `flag_col`: a boolean column that marks a row
 * (class "flag") when true, or NULL.  `empty`: shown when no rows. */
void bd_table_html(bd_buf_t *b, const PGresult *r, const bd_col_t *cols,
                   size_t ncols, const char *flag_col, const char *empty);

/* The same as CSV rows (header, then one row each), no BOM. */
void bd_table_csv(bd_buf_t *b, const PGresult *r, const bd_col_t *cols,
                  size_t ncols);

/* Answer a CSV download (BOM, then the table). */
void bd_page_csv(bd_req_t *rq, const char *filename, const PGresult *r,
                 const bd_col_t *cols, size_t ncols);

/* Every column of every row as JSON objects, typed by the column's SQL
 * type (numbers, booleans, strings, null).  Columns named cnt_* are
 * counts of the whole list riding on each row (window aggregates), not
 * row data: left out. */
json_t *bd_rows_json(const PGresult *r);
json_t *bd_row_json(const PGresult *r, int row);

/* Answer a JSON document (takes doc). */
void bd_page_json(bd_req_t *rq, json_t *doc);

/* Today in China time as YYYY-MM-DD (from the system clock). */
void bd_page_today(char buf[11]);

#endif
