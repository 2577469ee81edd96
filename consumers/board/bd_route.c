/*
 * bd_route: path matching (see bd_route.h).  A path is cut into the format
 * (/api prefix, .csv suffix) and at most four segments, then compared with
 * the table of routes; a segment written {x} in a pattern is a parameter
 * checked by its own shape function.
 */
#include "bd_route.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEGS 4
#define SEG_MAX  64

int bd_route_case_no_ok(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > BD_CASE_NO_MAX)
                return 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-'))
                        return 0;
        }
        return 1;
}

int bd_route_credit_code_ok(const char *s)
{
        if (strlen(s) != BD_CODE_MAX)
                return 0;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
                        return 0;
        return 1;
}

static int number_ok(const char *s, long long *out)
{
        if (!*s || strlen(s) > 18)
                return 0;
        for (const char *p = s; *p; p++)
                if (*p < '0' || *p > '9')
                        return 0;
        errno = 0;
        *out = strtoll(s, NULL, 10);
        return errno == 0 && *out > 0;
}

static int static_ok(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > BD_STATIC_MAX || s[0] == '.')
                return 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == '_'))
                        return 0;
        }
        return 1;
}

typedef enum { P_HTML_ONLY = 1, P_ALL_FORMATS, P_POST, P_GET_POST } kind_t;

typedef struct {
        const char *pattern; /* segments joined by '/'; {c} case, {e}
                                credit code, {n} number, {s} static name */
        bd_route_id_t id;
        kind_t kind;
} route_def_t;

static const route_def_t routes[] = {
    {"", BD_R_BOARD, P_ALL_FORMATS},
    {"board", BD_R_BOARD, P_ALL_FORMATS},
    {"cases/{c}", BD_R_CASE, P_ALL_FORMATS},
    {"cases/{c}/notice", BD_R_NOTICE, P_ALL_FORMATS},
    {"overdue", BD_R_OVERDUE, P_ALL_FORMATS},
    {"progress", BD_R_PROGRESS, P_ALL_FORMATS},
    {"enterprises/{e}", BD_R_ENTERPRISE, P_ALL_FORMATS},
    {"rechecks", BD_R_RECHECKS, P_ALL_FORMATS},
    {"stats", BD_R_STATS, P_ALL_FORMATS},
    {"workload", BD_R_WORKLOAD, P_ALL_FORMATS},
    {"login", BD_R_LOGIN, P_GET_POST},
    {"logout", BD_R_LOGOUT, P_POST},
    {"cases/{c}/acts", BD_R_RECORD_ACT, P_POST},
    {"cases/{c}/assign", BD_R_ASSIGN, P_POST},
    {"cases/{c}/confirm-close", BD_R_CONFIRM_CLOSE, P_POST},
    {"actions/{n}/complete", BD_R_COMPLETE, P_POST},
    {"actions/{n}/reopen", BD_R_REOPEN, P_POST},
    {"acts/{n}/revoke", BD_R_REVOKE_ACT, P_POST},
    {"rechecks/accept", BD_R_ACCEPT_FOLLOWUP, P_POST},
    {"static/{s}", BD_R_STATIC, P_HTML_ONLY},
    {"healthz", BD_R_HEALTHZ, P_HTML_ONLY},
    {"readyz", BD_R_READYZ, P_HTML_ONLY},
};

/* Split "a/b/c" into segments; -1 if too many or too long or empty
 * segments (a doubled or trailing slash). */
static int split(const char *p, char segs[MAX_SEGS][SEG_MAX + 1], int *n)
{
        *n = 0;
        if (!*p)
                return 0;
        for (;;) {
                const char *slash = strchr(p, '/');
                size_t len = slash ? (size_t)(slash - p) : strlen(p);
                if (len == 0 || len > SEG_MAX || *n == MAX_SEGS)
                        return -1;
                memcpy(segs[*n], p, len);
                segs[*n][len] = '\0';
                (*n)++;
                if (!slash)
                        return 0;
                p = slash + 1;
        }
}

static int match_def(const route_def_t *d, char segs[MAX_SEGS][SEG_MAX + 1],
                     int n, bd_route_t *r)
{
        char pat[MAX_SEGS][SEG_MAX + 1];
        int pn;
        if (split(d->pattern, pat, &pn) || pn != n)
                return 0;
        for (int i = 0; i < n; i++) {
                if (!strcmp(pat[i], "{c}")) {
                        if (!bd_route_case_no_ok(segs[i]))
                                return 0;
                        strcpy(r->case_no, segs[i]);
                } else if (!strcmp(pat[i], "{e}")) {
                        if (!bd_route_credit_code_ok(segs[i]))
                                return 0;
                        strcpy(r->credit_code, segs[i]);
                } else if (!strcmp(pat[i], "{n}")) {
                        if (!number_ok(segs[i], &r->number))
                                return 0;
                } else if (!strcmp(pat[i], "{s}")) {
                        if (!static_ok(segs[i]))
                                return 0;
                        strcpy(r->static_name, segs[i]);
                } else if (strcmp(pat[i], segs[i])) {
                        return 0;
                }
        }
        return 1;
}

void bd_route_match(const char *path, int post, bd_route_t *r)
{
        memset(r, 0, sizeof(*r));
        if (!path || path[0] != '/' || strlen(path) > 512)
                return;
        char buf[520];
        const char *p = path + 1;
        bd_format_t fmt = BD_FMT_HTML;
        if (!strcmp(path, "/api") || !strncmp(path, "/api/", 5)) {
                fmt = BD_FMT_JSON;
                p = path[4] ? path + 5 : "";
        }
        snprintf(buf, sizeof(buf), "%s", p);
        size_t len = strlen(buf);
        if (fmt == BD_FMT_HTML && len > 4 && !strcmp(buf + len - 4, ".csv")) {
                fmt = BD_FMT_CSV;
                buf[len - 4] = '\0';
        }
        char segs[MAX_SEGS][SEG_MAX + 1];
        int n;
        if (split(buf, segs, &n))
                return;
        for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
                const route_def_t *d = &routes[i];
                bd_route_t cand;
                memset(&cand, 0, sizeof(cand));
                if (!match_def(d, segs, n, &cand))
                        continue;
                int ok;
                switch (d->kind) {
                case P_POST:
                        ok = post && fmt == BD_FMT_HTML;
                        break;
                case P_GET_POST:
                        ok = fmt == BD_FMT_HTML;
                        break;
                case P_HTML_ONLY:
                        ok = !post && fmt == BD_FMT_HTML;
                        break;
                default:
                        ok = !post;
                }
                /* The board's CSV and JSON live at /board.csv and
                 * /api/board; "/.csv" is not a path. */
                if (ok && d->id == BD_R_BOARD && n == 0 && fmt == BD_FMT_CSV)
                        ok = 0;
                if (!ok)
                        continue;
                *r = cand;
                r->id = d->id;
                r->format = fmt;
                r->is_post =
                    d->kind == P_POST || (d->kind == P_GET_POST && post);
                return;
        }
}
