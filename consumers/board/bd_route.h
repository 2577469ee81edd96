/*
 * bd_route: which page or form a request path names, and its parameters.
 * The pages answer in three formats from the same path:
 *
 *     /overdue            HTML page
 *     /overdue.csv        the page's table as CSV (the board: /board.csv)
 *     /api/overdue        the page's data as JSON (the board: /api/board)
 *
 * Parameters taken from the path are checked against their shape here (a
 * case number, a credit code, a number), so nothing else reaches a query.
 * Pure: no I/O, unit-tested.
 */
#ifndef BD_ROUTE_H
#define BD_ROUTE_H

typedef enum {
        BD_R_NOT_FOUND = 0,
        /* pages (GET) */
        BD_R_BOARD,
        BD_R_CASE,
        BD_R_NOTICE,
        BD_R_OVERDUE,
        BD_R_PROGRESS,
        BD_R_ENTERPRISE,
        BD_R_RECHECKS,
        BD_R_STATS,
        BD_R_WORKLOAD,
        /* sign-in (GET shows the form, POST signs in) and out (POST) */
        BD_R_LOGIN,
        BD_R_LOGOUT,
        /* forms (POST) */
        BD_R_RECORD_ACT,
        BD_R_ASSIGN,
        BD_R_CONFIRM_CLOSE,
        BD_R_COMPLETE,
        BD_R_REOPEN,
        BD_R_REVOKE_ACT,
        BD_R_ACCEPT_FOLLOWUP,
        /* no session needed (GET) */
        BD_R_STATIC,
        BD_R_HEALTHZ,
        BD_R_READYZ,
} bd_route_id_t;

typedef enum { BD_FMT_HTML = 0, BD_FMT_CSV, BD_FMT_JSON } bd_format_t;

#define BD_CASE_NO_MAX 32
#define BD_CODE_MAX    18
#define BD_STATIC_MAX  64

typedef struct {
        bd_route_id_t id;
        bd_format_t format;
        int is_post; /* the route takes POST (forms, login, logout) */
        char case_no[BD_CASE_NO_MAX + 1];
        char credit_code[BD_CODE_MAX + 1];
        char static_name[BD_STATIC_MAX + 1];
        long long number; /* action_id or act_id */
} bd_route_t;

/* Match a decoded path (no query string).  Always fills r; r->id is
 * BD_R_NOT_FOUND when nothing matches, including a path of the right form
 * with a malformed parameter.  `post` is whether the method is POST: a form
 * path matches only for POST, a page path only for anything else. */
void bd_route_match(const char *path, int post, bd_route_t *r /* OUT */);

/* Does s look like a case number (QL-YYYY-NNNNN: letters, digits and '-',
 * at most BD_CASE_NO_MAX)?  And like a credit code (18 characters of
 * 0-9A-Z)? */
int bd_route_case_no_ok(const char *s);
int bd_route_credit_code_ok(const char *s);

#endif
