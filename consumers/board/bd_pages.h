/*
 * bd_pages: the page and form handlers, one file each (bd_pg_*.c).  Each
 * runs with a live session and answers in the route's format (HTML, CSV or
 * JSON); a form handler answers with a redirect (303) back to the page it
 * came from, its outcome kept as the session's one-time message.
 */
#ifndef BD_PAGES_H
#define BD_PAGES_H

#include "bd_app.h"

void bd_pg_board(bd_req_t *rq);
void bd_pg_case(bd_req_t *rq);
void bd_pg_notice(bd_req_t *rq);
void bd_pg_overdue(bd_req_t *rq);
void bd_pg_progress(bd_req_t *rq);
void bd_pg_enterprise(bd_req_t *rq);
void bd_pg_rechecks(bd_req_t *rq);
void bd_pg_stats(bd_req_t *rq);
void bd_pg_workload(bd_req_t *rq);

/* Run the case page's statements once on a new session's connection, for
 * no case (case number ''), so that its first case page does not pay for
 * the backend's cold caches (the views' definitions, the tables' indexes
 * and statistics are loaded per connection).  Called at sign-in. */
void bd_pg_case_warm(bd_session_t *s, ql_log_t *lg);

/* The sign-in page (no session): status 200 or 401, with an error or not,
 * the login typed kept in the field. */
void bd_pg_login(bd_req_t *rq, int status, const char *error,
                 const char *login);

/* Forms (POST, CSRF already checked). */
void bd_form_assign(bd_req_t *rq);
void bd_form_complete(bd_req_t *rq);
void bd_form_accept(bd_req_t *rq);
void bd_form_reopen(bd_req_t *rq);
void bd_form_revoke_act(bd_req_t *rq);
void bd_form_record_act(bd_req_t *rq);
void bd_form_confirm_close(bd_req_t *rq);

/* Redirect (303) to a path; `msg` becomes the session's one-time message
 * (error or notice) unless NULL. */
void bd_redirect(bd_req_t *rq, const char *path, int error, const char *msg);

#endif
