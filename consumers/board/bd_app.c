/*
 * bd_app: routing, sign-in and sign-out, the session and CSRF checks, and
 * the dispatch to the pages (see bd_app.h for the order of the checks).
 */
#include "bd_app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bd_db.h"
#include "bd_page.h"
#include "bd_pages.h"
#include "bd_static.h"
#include "bd_throttle.h"

/* Sign-in throttling: a login or an address with this many failures in the
 * window waits until the window of its first failure has passed. */
#define LOGIN_LIMIT      5
#define ADDRESS_LIMIT    20
#define THROTTLE_WINDOW  900
#define THROTTLE_ENTRIES 4096

struct bd_app_s {
        const bd_config_t *cfg;
        ql_log_t *lg;
        ql_metrics_t *m;
        int tls;
        bd_sessions_t *sessions;
        bd_throttle_t *throttle;      /* per login */
        bd_throttle_t *throttle_addr; /* per client address: a higher limit,
                                         an office may share one */
        bd_static_t *statics;
        ql_counter_t *login_ok, *login_denied, *login_throttled, *login_refused,
            *csrf_refused;
        ql_gauge_t *sessions_gauge;
};

bd_app_t *bd_app_new(const bd_app_opts_t *o, char *errstr, size_t errstr_size)
{
        if (bd_db_check_conninfo(o->cfg->board_pg, errstr, errstr_size))
                return NULL;
        bd_app_t *app = calloc(1, sizeof(*app));
        if (!app) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        app->cfg = o->cfg;
        app->lg = o->lg;
        app->m = o->metrics;
        app->tls = o->tls;
        app->statics =
            bd_static_load(o->cfg->board_static_dir, errstr, errstr_size);
        app->sessions = bd_sessions_new(o->cfg->board_max_sessions,
                                        o->cfg->board_idle_timeout);
        app->throttle =
            bd_throttle_new(THROTTLE_ENTRIES, LOGIN_LIMIT, THROTTLE_WINDOW);
        app->throttle_addr =
            bd_throttle_new(THROTTLE_ENTRIES, ADDRESS_LIMIT, THROTTLE_WINDOW);
        if (!app->statics || !app->sessions || !app->throttle ||
            !app->throttle_addr) {
                if (app->statics)
                        snprintf(errstr, errstr_size, "out of memory");
                bd_app_destroy(app);
                return NULL;
        }
        const char *h = "Sign-ins by outcome.";
        app->login_ok = ql_metrics_counter(app->m, "ql_board_logins_total", h,
                                           "outcome=\"ok\"");
        app->login_denied = ql_metrics_counter(app->m, "ql_board_logins_total",
                                               h, "outcome=\"denied\"");
        app->login_throttled = ql_metrics_counter(
            app->m, "ql_board_logins_total", h, "outcome=\"throttled\"");
        app->login_refused = ql_metrics_counter(app->m, "ql_board_logins_total",
                                                h, "outcome=\"refused\"");
        app->csrf_refused = ql_metrics_counter(
            app->m, "ql_board_csrf_refused_total",
            "Form posts refused for a missing or wrong CSRF token.", NULL);
        app->sessions_gauge = ql_metrics_gauge(
            app->m, "ql_board_sessions",
            "Signed-in sessions (each holds one database connection).", NULL);
        return app;
}

void bd_app_destroy(bd_app_t *app)
{
        if (!app)
                return;
        bd_sessions_destroy(app->sessions);
        bd_throttle_destroy(app->throttle);
        bd_throttle_destroy(app->throttle_addr);
        bd_static_destroy(app->statics);
        free(app);
}

const bd_config_t *bd_app_config(const bd_app_t *app)
{
        return app->cfg;
}

ql_log_t *bd_app_log(const bd_app_t *app)
{
        return app->lg;
}

bd_sessions_t *bd_app_sessions(bd_app_t *app)
{
        return app->sessions;
}

void bd_app_reap(bd_app_t *app, time_t now)
{
        size_t n = bd_sessions_reap(app->sessions, now);
        if (n)
                ql_info(app->lg, "%zu idle sessions ended", n);
        ql_gauge_set(app->sessions_gauge,
                     (double)bd_sessions_count(app->sessions));
}

static void set_cookie(bd_req_t *rq, const char *id, int clear)
{
        snprintf(rq->set_cookie, sizeof(rq->set_cookie),
                 "ql_session=%s; Path=/; HttpOnly; SameSite=Strict%s%s",
                 clear ? "" : id, rq->app->tls ? "; Secure" : "",
                 clear ? "; Max-Age=0" : "");
}

static void answer_text(bd_req_t *rq, int status, const char *text)
{
        bd_buf_free(&rq->body);
        rq->status = status;
        rq->content_type = "text/plain; charset=utf-8";
        bd_buf_puts(&rq->body, text);
}

/* A login as typed, safe for a log line: control characters become '?'
 * (a newline must not forge a line). */
static void loggable(char *dst, size_t size, const char *src)
{
        size_t i = 0;
        for (; src && *src && i + 1 < size; src++) {
                unsigned char c = (unsigned char)*src;
                dst[i++] = c < 0x20 || c == 0x7F ? '?' : (char)c;
        }
        dst[i] = '\0';
}

static void do_login(bd_req_t *rq)
{
        bd_app_t *app = rq->app;
        const char *login = bd_form_get(rq->form, "login");
        const char *password = bd_form_get(rq->form, "password");
        if (!login || !*login || !password || !*password ||
            strlen(login) > BD_SESSION_LOGIN_MAX) {
                bd_pg_login(rq, 401, "请输入账号和密码。", login);
                return;
        }
        loggable(rq->login, sizeof(rq->login), login);
        char key_login[96], key_addr[96];
        snprintf(key_login, sizeof(key_login), "login:%s", login);
        snprintf(key_addr, sizeof(key_addr), "addr:%s", rq->client);
        int wait = bd_throttle_wait(app->throttle, key_login, rq->now);
        int wait_addr = bd_throttle_wait(app->throttle_addr, key_addr, rq->now);
        if (wait_addr > wait)
                wait = wait_addr;
        if (wait > 0) {
                ql_counter_add(app->login_throttled, 1);
                ql_warn(app->lg, "sign-in of %s from %s throttled for %d s",
                        rq->login, rq->client, wait);
                char msg[200];
                snprintf(msg, sizeof(msg),
                         "登录失败次数过多，请 %d 分钟后再试。",
                         (wait + 59) / 60);
                bd_pg_login(rq, 429, msg, login);
                return;
        }
        PGconn *conn = NULL;
        unsigned caps = 0;
        char why[512];
        bd_login_rc_t rc = bd_db_login(app->cfg->board_pg, login, password,
                                       &conn, &caps, why, sizeof(why));
        if (rc == BD_LOGIN_DENIED || rc == BD_LOGIN_NOT_OFFICER) {
                bd_throttle_fail(app->throttle, key_login, rq->now);
                bd_throttle_fail(app->throttle_addr, key_addr, rq->now);
                ql_counter_add(app->login_denied, 1);
                ql_info(app->lg, "sign-in of %s from %s refused: %s", rq->login,
                        rq->client, why);
                bd_pg_login(rq, 401,
                            rc == BD_LOGIN_DENIED
                                ? "账号或密码不正确。"
                                : "该账号不是案件承办人账号，不能使用工作台。",
                            login);
                return;
        }
        if (rc != BD_LOGIN_OK) {
                ql_counter_add(app->login_refused, 1);
                ql_error(app->lg, "sign-in of %s: database unavailable: %s",
                         rq->login, why);
                bd_pg_login(rq, 503, "暂时无法连接数据库，请稍后再试。", login);
                return;
        }
        int full;
        bd_session_t *s =
            bd_sessions_create(app->sessions, login, conn, rq->now, &full);
        if (!s) {
                PQfinish(conn);
                ql_counter_add(app->login_refused, 1);
                ql_warn(app->lg, "sign-in of %s refused: %s", rq->login,
                        full ? "session table full" : "out of memory");
                bd_pg_login(rq, 503,
                            full ? "同时在线人数已满，请稍后再试。"
                                 : "服务器忙，请稍后再试。",
                            login);
                return;
        }
        bd_session_set_caps(s, caps);
        bd_pg_case_warm(s, app->lg);
        bd_throttle_forget(app->throttle, key_login);
        ql_counter_add(app->login_ok, 1);
        ql_gauge_set(app->sessions_gauge,
                     (double)bd_sessions_count(app->sessions));
        ql_info(app->lg, "%s signed in from %s", rq->login, rq->client);
        rq->session = s;
        set_cookie(rq, bd_session_id(s), 0);
        bd_redirect(rq, "/", 0, NULL);
}

static void serve_static(bd_req_t *rq)
{
        size_t len;
        const char *type, *etag;
        const char *data = bd_static_get(
            rq->app->statics, rq->route.static_name, &len, &type, &etag);
        if (!data) {
                answer_text(rq, 404, "not found\n");
                return;
        }
        rq->status = 200;
        rq->content_type = type;
        rq->static_data = data;
        rq->static_len = len;
        rq->etag = etag;
        rq->cacheable = 1;
}

static int csrf_ok(bd_req_t *rq)
{
        const char *t = bd_form_get(rq->form, "csrf");
        return t && bd_session_token_eq(t, bd_session_csrf(rq->session));
}

static void dispatch(bd_req_t *rq)
{
        switch (rq->route.id) {
        case BD_R_BOARD:
                bd_pg_board(rq);
                return;
        case BD_R_CASE:
                bd_pg_case(rq);
                return;
        case BD_R_NOTICE:
                bd_pg_notice(rq);
                return;
        case BD_R_OVERDUE:
                bd_pg_overdue(rq);
                return;
        case BD_R_PROGRESS:
                bd_pg_progress(rq);
                return;
        case BD_R_ENTERPRISE:
                bd_pg_enterprise(rq);
                return;
        case BD_R_RECHECKS:
                bd_pg_rechecks(rq);
                return;
        case BD_R_STATS:
                bd_pg_stats(rq);
                return;
        case BD_R_WORKLOAD:
                bd_pg_workload(rq);
                return;
        case BD_R_ASSIGN:
                bd_form_assign(rq);
                return;
        case BD_R_COMPLETE:
                bd_form_complete(rq);
                return;
        case BD_R_ACCEPT_FOLLOWUP:
                bd_form_accept(rq);
                return;
        case BD_R_REOPEN:
                bd_form_reopen(rq);
                return;
        case BD_R_REVOKE_ACT:
                bd_form_revoke_act(rq);
                return;
        case BD_R_RECORD_ACT:
                bd_form_record_act(rq);
                return;
        case BD_R_CONFIRM_CLOSE:
                bd_form_confirm_close(rq);
                return;
        case BD_R_LOGOUT:
                ql_info(rq->app->lg, "%s signed out", rq->login);
                bd_sessions_end(rq->app->sessions, rq->session);
                set_cookie(rq, "", 1);
                bd_redirect(rq, "/login", 0, NULL);
                return;
        default:
                bd_page_error(rq, 501, "暂不可用",
                              "此功能需要更新的数据库版本，请联系系统管理员。");
                return;
        }
}

void bd_app_handle(bd_app_t *app, bd_req_t *rq)
{
        rq->app = app;
        int post = !strcmp(rq->method, "POST");
        int get = !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
        bd_route_match(rq->path, post, &rq->route);
        if (!post && !get) {
                answer_text(rq, 405, "method not allowed\n");
                return;
        }
        switch (rq->route.id) {
        case BD_R_NOT_FOUND:
                break;
        case BD_R_STATIC:
                serve_static(rq);
                return;
        case BD_R_HEALTHZ:
                answer_text(rq, 200, "ok\n");
                return;
        case BD_R_READYZ:
                if (bd_db_ping(app->cfg->board_pg))
                        answer_text(rq, 200, "ready\n");
                else
                        answer_text(rq, 503,
                                    "not ready: the database does not "
                                    "accept connections\n");
                return;
        case BD_R_LOGIN:
                if (rq->form_invalid) {
                        bd_pg_login(rq, 400, "表单内容无效。", NULL);
                        return;
                }
                if (post) {
                        do_login(rq);
                        /* A new session is created in use. */
                        bd_sessions_release(app->sessions, rq->session,
                                            rq->now);
                        rq->session = NULL;
                } else
                        bd_pg_login(rq, 200, NULL, NULL);
                return;
        default:
                break;
        }

        rq->session = bd_sessions_acquire(app->sessions, rq->cookie, rq->now);
        if (!rq->session) {
                if (rq->cookie)
                        set_cookie(rq, "", 1);
                if (rq->route.format != BD_FMT_HTML) {
                        bd_page_error(rq, 401, "未登录",
                                      "请先登录（会话不存在或已超时）。");
                } else if (!post && rq->route.id != BD_R_NOT_FOUND) {
                        bd_redirect(rq, "/login", 0, NULL);
                } else {
                        bd_pg_login(rq, 401, "会话已超时或不存在，请重新登录。",
                                    NULL);
                }
                return;
        }
        loggable(rq->login, sizeof(rq->login), bd_session_login(rq->session));
        if (rq->route.id == BD_R_NOT_FOUND) {
                bd_page_error(rq, 404, "页面不存在", "没有这个页面。");
        } else if (rq->route.is_post && (rq->form_invalid || !csrf_ok(rq))) {
                ql_counter_add(app->csrf_refused, 1);
                ql_warn(app->lg, "%s %s by %s from %s: no valid CSRF token",
                        rq->method, rq->path, rq->login, rq->client);
                bd_page_error(rq, 403, "请求被拒绝",
                              "表单已失效或来源不明，请返回页面后重新提交。");
        } else {
                dispatch(rq);
        }
        bd_sessions_release(app->sessions, rq->session, rq->now);
        /* Pages must not use it after release. */
        rq->session = NULL;
}
