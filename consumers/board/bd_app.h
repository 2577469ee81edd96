/*
 * bd_app: ql-board's request handling without the HTTP server around it.
 * The server (bd_server) turns each HTTP request into a bd_req_t -- method,
 * decoded path, query arguments, form fields, the ql_session cookie -- and
 * bd_app_handle() fills in the answer: status, body, redirect, cookie.
 *
 * It decides, in this order: which route the path names (bd_route); static
 * files and health checks need no session; the sign-in form and POST
 * /login; every other route needs a live session (else: the sign-in page,
 * or 401 for CSV and JSON); every POST needs the session's CSRF token
 * (else 403); then the page or form handler runs on the session's own
 * database connection.
 *
 * The app borrows the configuration, logger and metrics registry; it owns
 * the session table, the sign-in throttle and the static files.
 */
#ifndef BD_APP_H
#define BD_APP_H

#include <stddef.h>
#include <time.h>

#include "bd_buf.h"
#include "bd_config.h"
#include "bd_form.h"
#include "bd_route.h"
#include "bd_session.h"
#include "ql_log.h"
#include "ql_metrics.h"

typedef struct bd_app_s bd_app_t;

typedef const char *(*bd_arg_fn)(void *ctx, const char *name);

typedef struct {
        /* in */
        const char *method;
        const char *path; /* decoded, without the query */
        bd_arg_fn arg;    /* query arguments */
        void *arg_ctx;
        const bd_form_t *form; /* POST fields (empty for GET) */
        int form_invalid;      /* the body was not a valid form */
        const char *cookie;    /* the ql_session cookie's value, or NULL */
        const char *client;    /* address, for throttling and the log */
        time_t now;

        /* set by bd_app_handle */
        bd_app_t *app;
        bd_route_t route;
        bd_session_t *session;
        char login[BD_SESSION_LOGIN_MAX + 1]; /* for the log line */

        /* out */
        int status;
        const char *content_type;
        bd_buf_t body;
        const char *static_data; /* a static file: served from here, not
                                    body */
        size_t static_len;
        const char *etag;
        char location[600]; /* a redirect (303) */
        char set_cookie[256];
        char filename[96]; /* CSV download name */
        int cacheable;     /* static file: may be cached */
} bd_req_t;

typedef struct {
        const bd_config_t *cfg;
        ql_log_t *lg;
        ql_metrics_t *metrics;
        int tls; /* cookies get Secure */
} bd_app_opts_t;

bd_app_t *bd_app_new(const bd_app_opts_t *o, char *errstr, size_t errstr_size);
void bd_app_destroy(bd_app_t *app); /* accepts NULL; ends every session */

/* Answer rq (its `in` part filled).  Free rq->body afterwards. */
void bd_app_handle(bd_app_t *app, bd_req_t *rq);

/* Drop sessions idle past the timeout (called now and then by main). */
void bd_app_reap(bd_app_t *app, time_t now);

/* For the pages: */
const bd_config_t *bd_app_config(const bd_app_t *app);
ql_log_t *bd_app_log(const bd_app_t *app);
bd_sessions_t *bd_app_sessions(bd_app_t *app);

#endif
