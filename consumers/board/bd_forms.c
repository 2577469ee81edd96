/*
 * bd_forms: the form handlers.  Each calls one officer function on the
 * officer's own connection -- the function checks the region and the state
 * -- and redirects back to the case page with the outcome as the session's
 * one-time message.  A refusal is shown in Chinese (bd_db_message); the
 * details are in the log.
 */
#include <stdio.h>
#include <string.h>

#include "bd_db.h"
#include "bd_page.h"
#include "bd_pages.h"

#define NOTE_MAX 1500 /* bytes: 500 Chinese characters */

void bd_redirect(bd_req_t *rq, const char *path, int error, const char *msg)
{
        bd_buf_free(&rq->body);
        rq->status = 303;
        rq->content_type = "text/plain; charset=utf-8";
        snprintf(rq->location, sizeof(rq->location), "%s", path);
        if (msg && rq->session)
                bd_session_flash(rq->session, error, msg);
}

static void case_path(char *buf, size_t size, const char *case_no)
{
        snprintf(buf, size, "/cases/%s", case_no);
}

/* Run a function call; redirect to `back` with `done` or the refusal. */
static void call(bd_req_t *rq, bd_query_t q, const char *const *params,
                 const char *back, const char *done)
{
        PGresult *r = NULL;
        char msg[400];
        bd_db_rc_t rc = bd_db_run(rq->session, bd_app_log(rq->app), q, params,
                                  &r, msg, sizeof(msg));
        PQclear(r);
        if (rc == BD_DB_LOST) {
                bd_sessions_end(bd_app_sessions(rq->app), rq->session);
                bd_redirect(rq, "/login", 1, NULL);
                return;
        }
        bd_redirect(rq, back, rc != BD_DB_OK, rc == BD_DB_OK ? done : msg);
}

static const char *field(bd_req_t *rq, const char *name, size_t max)
{
        const char *v = bd_form_get(rq->form, name);
        if (!v)
                return NULL;
        while (*v == ' ')
                v++;
        return *v && strlen(v) <= max ? v : NULL;
}

void bd_form_assign(bd_req_t *rq)
{
        char back[80];
        case_path(back, sizeof(back), rq->route.case_no);
        const char *login = field(rq, "login", BD_SESSION_LOGIN_MAX);
        if (!login) {
                bd_redirect(rq, back, 1, "请填写承办人的登录账号。");
                return;
        }
        const char *params[2] = {rq->route.case_no, login};
        char done[160];
        snprintf(done, sizeof(done), "已将案件指派给 %s。", login);
        call(rq, BD_Q_ASSIGN, params, back, done);
}

void bd_form_complete(bd_req_t *rq)
{
        char id[24];
        snprintf(id, sizeof(id), "%lld", rq->route.number);
        const char *idp[1] = {id};
        PGresult *r = NULL;
        char msg[400];
        /* The case to return to; an action the officer cannot see is not
         * found (and the function would refuse it anyway). */
        bd_db_rc_t rc = bd_db_run(rq->session, bd_app_log(rq->app),
                                  BD_Q_ACTION_CASE, idp, &r, msg, sizeof(msg));
        if (rc == BD_DB_LOST) {
                bd_sessions_end(bd_app_sessions(rq->app), rq->session);
                bd_redirect(rq, "/login", 1, NULL);
                return;
        }
        if (rc != BD_DB_OK || PQntuples(r) != 1) {
                PQclear(r);
                bd_page_error(rq, 404, "未找到事项",
                              rc != BD_DB_OK
                                  ? msg
                                  : "未找到该事项，或它不在您负责的辖区内。");
                return;
        }
        char back[80];
        case_path(back, sizeof(back), PQgetvalue(r, 0, 0));
        PQclear(r);
        const char *note = field(rq, "note", NOTE_MAX);
        if (!note) {
                bd_redirect(rq, back, 1, "请填写办理情况（不超过 500 字）。");
                return;
        }
        const char *params[2] = {id, note};
        call(rq, BD_Q_COMPLETE, params, back, "已标记完成。");
}

void bd_form_accept(bd_req_t *rq)
{
        const char *id = field(rq, "result_id", 200);
        const char *note = bd_form_get(rq->form, "note");
        if (!id) {
                bd_redirect(rq, "/rechecks", 1, "请指明要确认的检验结果。");
                return;
        }
        if (note && (!*note || strlen(note) > NOTE_MAX))
                note = NULL;
        const char *params[2] = {id, note};
        call(rq, BD_Q_ACCEPT, params, "/rechecks",
             "已确认该复查（复检）结果，将计入对应案件。");
}
