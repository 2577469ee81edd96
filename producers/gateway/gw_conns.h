/*
 * gw_conns: the gateway's open connections, each with the deadline for its
 * request.  libmicrohttpd closes a connection that sends nothing for
 * client_timeout, but a client that sends a byte now and then is never idle:
 * dribbling its headers or body, it could hold a connection for ever, and
 * with a few hundred such connections every slot.  So the whole request --
 * TLS handshake, headers and body -- must arrive within request_timeout,
 * counted from the connection's opening or, on a kept-alive connection,
 * from the end of the previous answer.  The clock stops once the request is
 * in (the wait for Kafka is bounded by ack_timeout_ms) and starts again
 * when its answer has been sent.
 *
 * A reaper thread shuts down the socket of every connection past its
 * deadline; libmicrohttpd then sees the connection end and closes it the
 * usual way (the socket stays libmicrohttpd's: it is never closed here, and
 * a connection is unregistered before libmicrohttpd closes its socket, so
 * the reaper never touches a descriptor that may have been reused).
 *
 * A connection also holds the TLS credentials it was opened with (gw_tls.h)
 * until it is unregistered.
 */
#ifndef GW_CONNS_H
#define GW_CONNS_H

#include <stddef.h>

#include "gw_tls.h"
#include "ql_log.h"
#include "ql_metrics.h"

typedef struct gw_conns_s gw_conns_t;
typedef struct gw_conn_s gw_conn_t;

/* A registry whose connections get request_timeout_ms for each request.
 * cut (may be NULL) counts the connections closed for it.  NULL with errstr
 * if the reaper thread cannot start. */
gw_conns_t *gw_conns_new(int request_timeout_ms, ql_log_t *lg,
                         ql_counter_t *cut, char *errstr, size_t errstr_size);

/* Stop the reaper and free the registry and any connection still in it.
 * Accepts NULL. */
void gw_conns_destroy(gw_conns_t *r);

/* Register a connection that just opened on socket fd (client: its address,
 * for the log); its deadline runs from now.  NULL if out of memory (the
 * connection then has no deadline). */
gw_conn_t *gw_conns_open(gw_conns_t *r, int fd, const char *client);

/* Unregister and free c, before its socket is closed; releases the TLS
 * credentials it holds.  Accepts NULL. */
void gw_conns_close(gw_conns_t *r, gw_conn_t *c);

/* The connection now holds cred (it owns that reference). */
void gw_conn_hold_tls(gw_conn_t *c, gw_tls_cred_t *cred);

/* A request was received in full: no deadline until gw_conn_arm(). */
void gw_conn_disarm(gw_conn_t *c);

/* A new request may begin (the previous answer was sent): its deadline is
 * request_timeout_ms from now. */
void gw_conn_arm(gw_conn_t *c);

#endif
