/*
 * bd_server: ql-board's HTTP side.  A libmicrohttpd daemon with a pool of
 * threads reads each request (headers, the query, the ql_session cookie, a
 * form body up to board_max_body bytes), hands it to bd_app_handle() and
 * writes the answer with the security headers every answer carries
 * (Content-Security-Policy default-src 'self', no framing, no sniffing, no
 * caching of pages).  One log line per request: method, path, status, the
 * officer's login (never a password or session id), time taken.
 *
 * The server borrows the configuration, logger, metrics and app: they must
 * outlive it.
 */
#ifndef BD_SERVER_H
#define BD_SERVER_H

#include <stddef.h>

#include "bd_app.h"

typedef struct bd_server_s bd_server_t;

/* Listen on cfg->board_addr (HTTPS when board_tls_cert is set).  NULL with
 * errstr on failure (bad address, port in use, unreadable certificate). */
bd_server_t *bd_server_new(const bd_config_t *cfg, ql_log_t *lg,
                           ql_metrics_t *metrics, bd_app_t *app, char *errstr,
                           size_t errstr_size);

/* Stop serving and free.  Accepts NULL. */
void bd_server_destroy(bd_server_t *s);

#endif
