/*
 * gw_server: the gateway's HTTP side.  A libmicrohttpd daemon with a pool of
 * worker threads serves POST /v1/results (authenticated push of results)
 * and nothing else: /healthz, /readyz and /metrics are the metrics
 * endpoint's (ql_metrics_serve() on QL_METRICS_ADDR), whose readiness the
 * server answers (Kafka reachable, not draining).  A publisher thread polls the
 * Kafka producer for delivery reports and answers each push request once Kafka
 * acknowledged all its records, or with 503 when the acknowledgement timeout
 * passed first.  Workers never block on Kafka: a request waiting for its
 * acknowledgements is suspended, not holding a thread.
 *
 * The server borrows the configuration, logger, metrics registry, codec and
 * producer: they must outlive it.  It owns the token table given to it.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "gw_config.h"
#include "gw_tokens.h"
#include "ql_codec.h"
#include "ql_log.h"
#include "ql_metrics.h"

typedef struct gw_server_s gw_server_t;

typedef struct {
        const gw_config_t *cfg; /* gateway_addr, tls_*, limits, topic; read
                                   at start only, except as said below */
        ql_log_t *lg;
        ql_metrics_t *metrics;
        const ql_codec_t *codec;
        rd_kafka_t *rk;      /* the idempotent producer (ql_kafka.h) */
        gw_tokens_t *tokens; /* the server owns it now */
} gw_server_opts_t;

/* Listen on cfg->gateway_addr (HTTPS when cfg->tls_cert is set) and start
 * serving.  NULL with errstr on failure (bad address, plain HTTP on an
 * address that is not loopback without allow_plain_http, port in use,
 * unreadable certificate, a priority string GnuTLS rejects); opts->tokens is
 * destroyed then too. */
gw_server_t *gw_server_new(const gw_server_opts_t *opts, char *errstr,
                           size_t errstr_size);

/* The checks of the configuration gw_server_new() makes first, to be made
 * before anything else starts too: gateway_addr resolves, and is loopback
 * unless TLS is on or allow_plain_http is set; with TLS, libmicrohttpd has
 * TLS, GnuTLS accepts tls_priorities, and the certificate and key load.
 * 0, or -1 with errstr. */
int gw_server_check_config(const gw_config_t *cfg, char *errstr,
                           size_t errstr_size);

/* Replace the token table (SIGHUP); the server owns t now and frees the old
 * one once no request reads it.  Connections stay open. */
void gw_server_set_tokens(gw_server_t *s, gw_tokens_t *t);

/* Change the credit code check mode (SIGHUP). */
void gw_server_set_uscc_mode(gw_server_t *s, ql_uscc_mode_t mode);

/* Load the certificate and key anew (SIGHUP): connections opened from now
 * on use them, open ones keep theirs.  0 with *about describing the
 * certificate now served, or -1 with errstr, and the running certificate
 * stays.  TLS cannot be turned on or off this way. */
int gw_server_reload_tls(gw_server_t *s, const char *cert, const char *key,
                         char *about, size_t about_size, char *errstr,
                         size_t errstr_size);

/* One line on the certificate served ("no TLS" without one). */
void gw_server_describe_tls(gw_server_t *s, char *about, size_t about_size);

/* Begin shutting down: stop accepting connections, answer new requests on
 * open connections 503, and wait up to timeout_ms for the requests in
 * flight to be answered.  Returns the number of requests still unanswered
 * (they are answered 503 by gw_server_destroy()). */
size_t gw_server_drain(gw_server_t *s, int timeout_ms);

/* Stop serving, close every connection and free the server.  Accepts NULL.
 * Kafka messages still in flight stay the producer's: flush it after. */
void gw_server_destroy(gw_server_t *s);

#endif
