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
#include "bd_titles.h"

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

/* The case page an action or act (the route's number) belongs to, as
 * the officer sees it: 0 with back filled, or -1 with the page answered
 * (not found: outside the officer's regions, or no such id). */
static int owner_case(bd_req_t *rq, bd_query_t q, char *id, size_t id_size,
                      char *back, size_t back_size)
{
        snprintf(id, id_size, "%lld", rq->route.number);
        const char *idp[1] = {id};
        PGresult *r = NULL;
        char msg[400];
        bd_db_rc_t rc = bd_db_run(rq->session, bd_app_log(rq->app), q, idp, &r,
                                  msg, sizeof(msg));
        if (rc == BD_DB_LOST) {
                bd_sessions_end(bd_app_sessions(rq->app), rq->session);
                bd_redirect(rq, "/login", 1, NULL);
                return -1;
        }
        if (rc != BD_DB_OK || PQntuples(r) != 1) {
                PQclear(r);
                bd_page_error(rq, rc != BD_DB_OK ? 500 : 404, "未找到",
                              rc != BD_DB_OK
                                  ? msg
                                  : "未找到该记录，或它不在您负责的辖区内。");
                return -1;
        }
        case_path(back, back_size, PQgetvalue(r, 0, 0));
        PQclear(r);
        return 0;
}

void bd_form_complete(bd_req_t *rq)
{
        char id[24], back[80];
        /* An action the officer cannot see is not found (and the function
         * would refuse it anyway). */
        if (owner_case(rq, BD_Q_ACTION_CASE, id, sizeof(id), back,
                       sizeof(back)))
                return;
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

void bd_form_reopen(bd_req_t *rq)
{
        char id[24], back[80];
        if (owner_case(rq, BD_Q_ACTION_CASE, id, sizeof(id), back,
                       sizeof(back)))
                return;
        const char *reason = field(rq, "reason", NOTE_MAX);
        if (!reason) {
                bd_redirect(rq, back, 1, "请填写撤销完成的原因。");
                return;
        }
        const char *params[2] = {id, reason};
        call(rq, BD_Q_REOPEN, params, back, "已撤销完成，事项重新待办。");
}

void bd_form_revoke_act(bd_req_t *rq)
{
        char id[24], back[80];
        if (owner_case(rq, BD_Q_ACT_CASE, id, sizeof(id), back, sizeof(back)))
                return;
        const char *reason = field(rq, "reason", NOTE_MAX);
        if (!reason) {
                bd_redirect(rq, back, 1, "请填写撤销理由。");
                return;
        }
        const char *params[2] = {id, reason};
        call(rq, BD_Q_REVOKE_ACT, params, back,
             "已撤销该执法行为记录，相关期限已重新计算。");
}

/* YYYY-MM-DD, or NULL when empty; *bad set when not a date. */
static const char *date_field(bd_req_t *rq, const char *name, int *bad)
{
        const char *v = field(rq, name, 10);
        if (!v)
                return NULL;
        int ok = strlen(v) == 10 && v[4] == '-' && v[7] == '-';
        for (int i = 0; ok && i < 10; i++)
                if (i != 4 && i != 7 && (v[i] < '0' || v[i] > '9'))
                        ok = 0;
        if (!ok)
                *bad = 1;
        return v;
}

void bd_form_record_act(bd_req_t *rq)
{
        char back[80];
        case_path(back, sizeof(back), rq->route.case_no);
        static const char *const acts[] = {"SERVED",           "RECTIFY_ORDER",
                                           "OBJECTION_FILED",  "ANNOUNCED",
                                           "SUSPENSION_ORDER", NULL};
        const char *act = field(rq, "act", 32);
        int known = 0;
        for (const char *const *a = acts; act && *a; a++)
                known |= !strcmp(act, *a);
        int bad = 0;
        const char *on = date_field(rq, "on_date", &bad);
        const char *until = date_field(rq, "until_date", &bad);
        if (!known || !on || bad) {
                bd_redirect(rq, back, 1,
                            "请选择执法行为并按“年-月-日”填写日期。");
                return;
        }
        const char *params[6] = {
            rq->route.case_no,           act,  on, field(rq, "doc_no", 300),
            field(rq, "note", NOTE_MAX), until};
        char done[200];
        snprintf(done, sizeof(done),
                 "已登记“%s”（%s），相关期限已按此重新计算。",
                 bd_title(BD_T_ACT, act), on);
        call(rq, BD_Q_RECORD_ACT, params, back, done);
}

void bd_form_confirm_close(bd_req_t *rq)
{
        char back[80];
        case_path(back, sizeof(back), rq->route.case_no);
        const char *params[1] = {rq->route.case_no};
        call(rq, BD_Q_CONFIRM_CLOSE, params, back, "已确认结案。");
}
