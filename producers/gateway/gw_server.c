/*
 * gw_server: HTTP requests in, Kafka messages out, and the answer only after
 * Kafka acknowledged.  Each request carries a rq_t through libmicrohttpd's
 * access-handler calls (the first with the headers, then one per body chunk,
 * then one at the end of the body) and through the publisher thread:
 *
 *   RQ_HEADERS --(first call, on_headers(): route, token, Content-Type,
 *       |         Content-Length)--> rejected: answered at once, or, when a
 *       |         small body is on its way, RQ_DISCARD
 *       v
 *   RQ_BODY --(on_body(): over max_body)--> RQ_DISCARD
 *       |                                     |
 *       | end of body: connection suspended,  | end of body: reject_late()
 *       | the request queued for a worker     v
 *       v                                  (answered)
 *   RQ_WORKING --(judge(), a worker thread: 400/403/413/415/500/503
 *       |         decided --> RQ_DECIDED, resumed, answered like a late
 *       |         rejection; or every record encoded and produced)
 *       v
 *   RQ_PUBLISHING --(settle(), publisher thread: all acknowledged, one
 *       |             failed, or ack_timeout_ms passed; resumes it)
 *       v
 *   RQ_SETTLED --(resumed call, answer_outcome(): 202 or 503)--> (answered)
 *
 * A rejection known from the headers alone is answered at once when no body
 * follows, when the client waits for "100 Continue", or when the body is
 * over the limit anyway; otherwise the (small) body is read and dropped first,
 * so that the client, still sending, is not cut off by a reset before it can
 * read the answer.  on_completed() logs the request's one line and frees it.
 *
 * The work on a body (parse, validate, encode, produce) runs on the worker
 * threads, not on libmicrohttpd's: its pool hands each connection to one of
 * its threads for good, and a burst of connections often lands on one, which
 * would then do all their work on one core.
 *
 * Exposure: this port is the labs'; it serves only POST /v1/results.  The
 * health, readiness and metrics endpoints (which carry per-lab counters) are
 * on QL_METRICS_ADDR alone (ql_metrics.h).  Plain HTTP is served on a
 * loopback address only, unless allow_plain_http says a TLS-terminating
 * proxy is in front.  libmicrohttpd caps the connections in all and per
 * client address; gw_conns.h cuts a connection whose request does not
 * arrive within request_timeout; gw_tls.h gives each new TLS connection the
 * certificate current when it opens.  Error answers tell the lab what it can
 * do, never Kafka's or the codec's words: those go to the log, under the
 * request id that the answer also carries.
 *
 * This file is the server's life cycle (configuration check, start,
 * reload of tokens and certificate, drain, stop) and its readiness; the
 * request's path is in gw_http.c (libmicrohttpd's callbacks, the checks
 * of the headers, the answers), gw_workers.c (judging a body: parse,
 * validate, encode, produce) and gw_publisher.c (settling a request once
 * Kafka answered).
 */
#include "gw_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gw_body.h"
#include "gw_conns.h"
#include "gw_server_private.h"
#include "gw_tls.h"
#include "ql_kafka.h"
#include "ql_result.h"

ql_counter_t *gw_status_counter(gw_server_t *s, int status)
{
        for (size_t i = 0; i < NSTATUSES; i++)
                if (statuses[i] == status)
                        return s->by_status[i];
        return NULL;
}

/* ---- readiness ---- */

/* /readyz: not while draining; otherwise can the producer reach a broker
 * that knows the topic (asked at most every READY_CACHE_MS)? */
static int is_ready(void *arg, char *why, size_t why_size)
{
        gw_server_t *s = arg;
        if (atomic_load(&s->stopping)) {
                snprintf(why, why_size, "shutting down");
                return 0;
        }
        return ql_kafka_probe_ready(s->probe, why, why_size);
}

/* ---- life cycle ---- */

static void register_metrics(gw_server_t *s)
{
        for (size_t i = 0; i < NSTATUSES; i++) {
                char labels[32];
                snprintf(labels, sizeof(labels), "status=\"%d\"", statuses[i]);
                s->by_status[i] = ql_metrics_counter(
                    s->m, "ql_gateway_requests_total",
                    "Push requests answered, by HTTP status.", labels);
        }
        s->accepted = ql_metrics_counter(
            s->m, "ql_gateway_records_accepted_total",
            "Records acknowledged by Kafka and reported accepted.", NULL);
        const char *auth_help = "Push requests refused for a missing or "
                                "unknown bearer token.";
        s->auth_missing =
            ql_metrics_counter(s->m, "ql_gateway_auth_failures_total",
                               auth_help, "reason=\"missing\"");
        s->auth_invalid =
            ql_metrics_counter(s->m, "ql_gateway_auth_failures_total",
                               auth_help, "reason=\"unknown\"");
        s->publish_seconds = ql_metrics_histogram(
            s->m, "ql_gateway_publish_seconds",
            "From producing a request's records to Kafka's last "
            "acknowledgement (or the timeout).",
            NULL);
        s->request_seconds = ql_metrics_histogram(
            s->m, "ql_gateway_request_seconds",
            "From a push request's headers to its answer.", NULL);
        s->in_flight = ql_metrics_gauge(
            s->m, "ql_gateway_requests_publishing",
            "Push requests waiting for Kafka's acknowledgement.", NULL);
        s->conns_refused =
            ql_metrics_counter(s->m, "ql_gateway_connections_refused_total",
                               "Connections closed at once: max_connections or "
                               "max_connections_per_address reached.",
                               NULL);
        s->conns_cut = ql_metrics_counter(
            s->m, "ql_gateway_connections_timed_out_total",
            "Connections closed because their request was not in within "
            "request_timeout.",
            NULL);
}

/* Is sa a loopback address (127.0.0.0/8, ::1, or 127.x mapped to IPv6)? */
static int is_loopback(const struct sockaddr *sa)
{
        if (sa->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
                return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
        }
        if (sa->sa_family == AF_INET6) {
                const struct in6_addr *a =
                    &((const struct sockaddr_in6 *)sa)->sin6_addr;
                return IN6_IS_ADDR_LOOPBACK(a) ||
                       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
        }
        return 0;
}

/* Resolve gateway_addr into *ai; plain HTTP only on loopback unless
 * allowed. */
static int resolve_listen(const gw_config_t *cfg, struct addrinfo **ai,
                          char *errstr, size_t errstr_size)
{
        if (ql_metrics_resolve_listen("gateway_addr", cfg->gateway_addr, ai,
                                      errstr, errstr_size))
                return -1;
        if (!cfg->tls_cert && !cfg->allow_plain_http &&
            !is_loopback((*ai)->ai_addr)) {
                snprintf(errstr, errstr_size,
                         "gateway_addr: %s is not a loopback address, and "
                         "plain HTTP would carry the labs' tokens in clear: "
                         "set tls_cert and tls_key, or allow_plain_http "
                         "(--allow-plain-http, QL_GATEWAY_ALLOW_PLAIN=1) "
                         "when a TLS-terminating proxy is in front",
                         cfg->gateway_addr);
                freeaddrinfo(*ai);
                *ai = NULL;
                return -1;
        }
        return 0;
}

int gw_server_check_config(const gw_config_t *cfg, char *errstr,
                           size_t errstr_size)
{
        struct addrinfo *ai;
        if (resolve_listen(cfg, &ai, errstr, errstr_size))
                return -1;
        freeaddrinfo(ai);
        if (cfg->tls_cert &&
            MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
                snprintf(errstr, errstr_size,
                         "tls_cert: this libmicrohttpd was built without TLS "
                         "support");
                return -1;
        }
        if (cfg->tls_cert) {
                if (gw_tls_check_priorities(cfg->tls_priorities, errstr,
                                            errstr_size))
                        return -1;
                /* Loaded again by gw_server_new(): the files are checked
                 * here so that a bad one stops the start before Kafka is
                 * asked anything. */
                gw_tls_t *t = gw_tls_new(cfg->tls_cert, cfg->tls_key, errstr,
                                         errstr_size);
                if (!t)
                        return -1;
                gw_tls_destroy(t);
        }
        return 0;
}

static int start_httpd(gw_server_t *s, char *errstr, size_t errstr_size)
{
        const gw_config_t *cfg = s->cfg;
        unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
        if (s->listen_ai->ai_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        struct MHD_OptionItem opts[16];
        size_t n = 0;
#define OPT(o, v, p)                                                           \
        opts[n++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (p)}
        OPT(MHD_OPTION_SOCK_ADDR, 0, s->listen_ai->ai_addr);
        OPT(MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL);
        OPT(MHD_OPTION_THREAD_POOL_SIZE, cfg->threads, NULL);
        OPT(MHD_OPTION_CONNECTION_TIMEOUT, cfg->client_timeout, NULL);
        OPT(MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, NULL);
        OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            cfg->max_connections_per_address, NULL);
        OPT(MHD_OPTION_NOTIFY_COMPLETED, gw_on_completed, s);
        OPT(MHD_OPTION_NOTIFY_CONNECTION, gw_on_connection, s);
        if (s->tls) {
                flags |= MHD_USE_TLS;
                /* Read only (the option's pointer is not const). */
                OPT(MHD_OPTION_HTTPS_MEM_CERT, 0,
                    (void *)(uintptr_t)gw_tls_cert_pem(s->tls_start));
                OPT(MHD_OPTION_HTTPS_MEM_KEY, 0,
                    (void *)(uintptr_t)gw_tls_key_pem(s->tls_start));
                OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, cfg->tls_priorities);
        }
        OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
        s->httpd = MHD_start_daemon(flags, 0, NULL, NULL, gw_on_access, s,
                                    MHD_OPTION_EXTERNAL_LOGGER, gw_on_mhd_log,
                                    s, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
        if (!s->httpd) {
                snprintf(errstr, errstr_size,
                         "gateway_addr: cannot serve %s on %s (port in use?)",
                         s->tls ? "HTTPS" : "HTTP", cfg->gateway_addr);
                return -1;
        }
        return 0;
}

gw_server_t *gw_server_new(const gw_server_opts_t *o, char *errstr,
                           size_t errstr_size)
{
        gw_server_t *s = calloc(1, sizeof(*s));
        if (!s) {
                gw_tokens_destroy(o->tokens);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        s->cfg = o->cfg;
        s->lg = o->lg;
        s->m = o->metrics;
        s->codec = o->codec;
        s->rk = o->rk;
        s->tokens = o->tokens;
        s->id_base = (uint32_t)time(NULL);
        atomic_init(&s->id_next, 0);
        atomic_init(&s->refused_logged_at, ql_util_mono_ns() - REFUSED_LOG_NS);
        atomic_init(&s->refused_unlogged, 0);
        atomic_init(&s->uscc_mode, (int)o->cfg->base.uscc_check);
        atomic_init(&s->stopping, 0);
        atomic_init(&s->active, 0);
        atomic_init(&s->publisher_run, 1);
        pthread_rwlock_init(&s->tokens_lock, NULL);
        pthread_mutex_init(&s->pending_lock, NULL);
        pthread_mutex_init(&s->work_lock, NULL);
        pthread_cond_init(&s->work_cond, NULL);
        register_metrics(s);
        if (gw_server_check_config(s->cfg, errstr, errstr_size) ||
            resolve_listen(s->cfg, &s->listen_ai, errstr, errstr_size)) {
                gw_server_destroy(s);
                return NULL;
        }
        if (s->cfg->tls_cert) {
                if (!(s->tls = gw_tls_new(s->cfg->tls_cert, s->cfg->tls_key,
                                          errstr, errstr_size))) {
                        gw_server_destroy(s);
                        return NULL;
                }
                s->tls_start = gw_tls_acquire(s->tls);
        }
        s->probe = ql_kafka_probe_new(s->rk, s->cfg->base.topic, READY_CACHE_MS,
                                      READY_TIMEOUT_MS);
        if (!s->probe) {
                snprintf(errstr, errstr_size, "topic %s: %s",
                         s->cfg->base.topic,
                         rd_kafka_err2str(rd_kafka_last_error()));
                gw_server_destroy(s);
                return NULL;
        }
        if (!(s->conns = gw_conns_new(s->cfg->request_timeout * 1000, s->lg,
                                      s->conns_cut, errstr, errstr_size))) {
                gw_server_destroy(s);
                return NULL;
        }
        if (pthread_create(&s->publisher, NULL, gw_publisher_main, s) != 0) {
                snprintf(errstr, errstr_size, "cannot start a thread");
                gw_server_destroy(s);
                return NULL;
        }
        s->publisher_started = 1;
        int nworkers = s->cfg->threads > 0 ? s->cfg->threads : 1;
        if (!(s->workers = calloc((size_t)nworkers, sizeof(*s->workers)))) {
                snprintf(errstr, errstr_size, "out of memory");
                gw_server_destroy(s);
                return NULL;
        }
        s->work_run = 1;
        for (; s->nworkers < nworkers; s->nworkers++)
                if (pthread_create(&s->workers[s->nworkers], NULL,
                                   gw_worker_main, s) != 0) {
                        snprintf(errstr, errstr_size, "cannot start a thread");
                        gw_server_destroy(s);
                        return NULL;
                }
        if (start_httpd(s, errstr, errstr_size)) {
                gw_server_destroy(s);
                return NULL;
        }
        ql_metrics_set_ready(s->m, is_ready, s);
        return s;
}

int gw_server_reload_tls(gw_server_t *s, const char *cert, const char *key,
                         char *about, size_t about_size, char *errstr,
                         size_t errstr_size)
{
        if (!s->tls != !cert) {
                snprintf(errstr, errstr_size,
                         "tls_cert: TLS is %s; turning it %s needs a restart",
                         s->tls ? "on" : "off", s->tls ? "off" : "on");
                return -1;
        }
        if (!s->tls) {
                snprintf(about, about_size, "no TLS");
                return 0;
        }
        if (gw_tls_reload(s->tls, cert, key, errstr, errstr_size))
                return -1;
        gw_tls_describe(s->tls, about, about_size);
        return 0;
}

void gw_server_describe_tls(gw_server_t *s, char *about, size_t about_size)
{
        if (s->tls)
                gw_tls_describe(s->tls, about, about_size);
        else
                snprintf(about, about_size, "no TLS");
}

void gw_server_set_tokens(gw_server_t *s, gw_tokens_t *t)
{
        pthread_rwlock_wrlock(&s->tokens_lock);
        gw_tokens_t *old = s->tokens;
        s->tokens = t;
        pthread_rwlock_unlock(&s->tokens_lock);
        gw_tokens_destroy(old);
}

void gw_server_set_uscc_mode(gw_server_t *s, ql_uscc_mode_t mode)
{
        atomic_store(&s->uscc_mode, (int)mode);
}

static size_t wait_idle(gw_server_t *s, int timeout_ms)
{
        int64_t deadline = ql_util_mono_ns() + (int64_t)timeout_ms * 1000000LL;
        size_t left;
        while ((left = atomic_load(&s->active)) > 0 &&
               ql_util_mono_ns() < deadline) {
                struct timespec ts = {0, 20 * 1000000L};
                nanosleep(&ts, NULL);
        }
        return left;
}

size_t gw_server_drain(gw_server_t *s, int timeout_ms)
{
        atomic_store(&s->stopping, 1);
        if (s->httpd) {
                MHD_socket fd = MHD_quiesce_daemon(s->httpd);
                if (fd != MHD_INVALID_SOCKET)
                        close(fd);
        }
        return wait_idle(s, timeout_ms);
}

void gw_server_destroy(gw_server_t *s)
{
        if (!s)
                return;
        atomic_store(&s->stopping, 1);
        /* The workers finish what is queued (answering 503: stopping) and
         * exit; a body that ends after this is answered by its thread. */
        pthread_mutex_lock(&s->work_lock);
        s->work_run = 0;
        pthread_cond_broadcast(&s->work_cond);
        pthread_mutex_unlock(&s->work_lock);
        for (int i = 0; i < s->nworkers; i++)
                pthread_join(s->workers[i], NULL);
        free(s->workers);
        if (s->httpd) {
                /* No connection may stay suspended: answer what still waits
                 * for Kafka with 503, and give libmicrohttpd's threads a
                 * moment to send it. */
                gw_settle_ready(s, 1);
                wait_idle(s, 1000);
                ql_metrics_set_ready(s->m, NULL, NULL);
                MHD_stop_daemon(s->httpd);
        }
        if (s->publisher_started) {
                atomic_store(&s->publisher_run, 0);
                pthread_join(s->publisher, NULL);
        }
        /* Every connection is closed now: nothing holds credentials. */
        gw_conns_destroy(s->conns);
        gw_tls_release(s->tls_start);
        gw_tls_destroy(s->tls);
        if (s->listen_ai)
                freeaddrinfo(s->listen_ai);
        ql_kafka_probe_destroy(s->probe);
        gw_tokens_destroy(s->tokens);
        pthread_mutex_destroy(&s->pending_lock);
        pthread_mutex_destroy(&s->work_lock);
        pthread_cond_destroy(&s->work_cond);
        pthread_rwlock_destroy(&s->tokens_lock);
        free(s);
}
