/*
 * gw_http: the HTTP side of a request: libmicrohttpd's
 * callbacks (access handler, completion, connection, log), the checks of
 * the headers (route, token, Content-Type, Content-Length), the body's
 * arrival, every answer, and the request's one log line.
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

/* ---- answering ---- */

static void mark_answered(rq_t *rq, int status)
{
        rq->status = status;
        rq->state = RQ_ANSWERED;
        ql_counter_add(gw_status_counter(rq->s, status), 1);
}

/* Queue a JSON answer.  Takes body (may be NULL only when out of memory:
 * then the connection is closed).  hname/hvalue: one extra header or NULL. */
enum MHD_Result gw_answer_json(rq_t *rq, int status, json_t *body,
                               const char *hname, const char *hvalue)
{
        if (!body)
                return MHD_NO;
        size_t n = json_dumpb(body, NULL, 0, JSON_COMPACT);
        char *text = n ? malloc(n + 1) : NULL;
        if (text) {
                json_dumpb(body, text, n, JSON_COMPACT);
                text[n++] = '\n';
        }
        json_decref(body);
        if (!text)
                return MHD_NO;
        struct MHD_Response *r =
            MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(text);
                return MHD_NO;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/json; charset=utf-8");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(r, "X-Request-Id", rq->id);
        if (hname)
                MHD_add_response_header(r, hname, hvalue);
        if (atomic_load(&rq->s->stopping))
                MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        enum MHD_Result ret = MHD_queue_response(rq->conn, (unsigned)status, r);
        MHD_destroy_response(r);
        mark_answered(rq, status);
        /* The request is over; the next one's clock starts when this
         * answer has been sent (on_completed()). */
        gw_conn_disarm(rq->gc);
        return ret;
}

/* Is a request body on its way that the client will send without waiting
 * for our answer? */
static int body_in_transit(rq_t *rq, long long content_length)
{
        struct MHD_Connection *c = rq->conn;
        const char *te = MHD_lookup_connection_value(
            c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        const char *expect = MHD_lookup_connection_value(
            c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        if (expect && strcasestr(expect, "100-continue"))
                return 0;
        return content_length > 0 || (te && strcasestr(te, "chunked"));
}

/* Answer a rejection decided from the headers: at once, or after reading
 * and dropping a small body (see the file comment). */
static enum MHD_Result reject(rq_t *rq, long long content_length, int status,
                              json_t *body, const char *hname,
                              const char *hvalue)
{
        long long max = rq->s->cfg->max_body;
        if (!body_in_transit(rq, content_length) || content_length > max)
                return gw_answer_json(rq, status, body, hname, hvalue);
        if (!body)
                return MHD_NO;
        rq->state = RQ_DISCARD;
        rq->late_status = status;
        rq->late_reply = body;
        rq->late_hname = hname;
        rq->late_hvalue = hvalue;
        return MHD_YES;
}

static enum MHD_Result reject_late(rq_t *rq)
{
        json_t *body = rq->late_reply;
        rq->late_reply = NULL;
        return gw_answer_json(rq, rq->late_status, body, rq->late_hname,
                              rq->late_hvalue);
}

/* 503 when Kafka did not take or acknowledge the records in time, or the
 * gateway is short of memory: what the lab can do about it, and the id under
 * which the log keeps the reason (Kafka's own words never reach the lab). */
json_t *gw_not_stored(const rq_t *rq)
{
        return json_pack("{s:s,s:b,s:s}", "message",
                         "the results could not be queued for storage; "
                         "nothing of this request was accepted; retry "
                         "later: the request may be retried as it is "
                         "(resending is harmless, results are deduplicated "
                         "by result_id)",
                         "retry", 1, "request_id", rq->id);
}

static json_t *too_large(gw_server_t *s)
{
        return gw_body_message("the body is larger than the limit of %ld "
                               "bytes; split the results into several "
                               "requests",
                               s->cfg->max_body);
}

/* ---- request checks ---- */

/* "Bearer TOKEN" -> TOKEN (scheme case-insensitive, RFC 7235).  NULL if the
 * header is absent or not a bearer credential. */
static const char *bearer_token(const char *h, size_t *len)
{
        if (!h)
                return NULL;
        while (*h == ' ' || *h == '\t')
                h++;
        if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
                return NULL;
        h += 6;
        while (*h == ' ' || *h == '\t')
                h++;
        size_t n = strlen(h);
        while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
                n--;
        if (n == 0 || n > TOKEN_MAX || memchr(h, ' ', n))
                return NULL;
        *len = n;
        return h;
}

/* application/json, parameters allowed; a charset must be UTF-8. */
static int is_json_type(const char *ct)
{
        if (!ct)
                return 0;
        while (*ct == ' ' || *ct == '\t')
                ct++;
        if (strncasecmp(ct, "application/json", 16) != 0)
                return 0;
        const char *p = ct + 16;
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p && *p != ';')
                return 0;
        while (*p == ';') {
                p++;
                while (*p == ' ' || *p == '\t')
                        p++;
                const char *end = strchr(p, ';');
                size_t n = end ? (size_t)(end - p) : strlen(p);
                if (n >= 8 && !strncasecmp(p, "charset=", 8)) {
                        const char *v = p + 8;
                        size_t vn = n - 8;
                        while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
                                vn--;
                        if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
                                v++;
                                vn -= 2;
                        }
                        if (!((vn == 5 && !strncasecmp(v, "utf-8", 5)) ||
                              (vn == 4 && !strncasecmp(v, "utf8", 4))))
                                return 0;
                }
                p += n;
        }
        return 1;
}

static long long content_length_of(struct MHD_Connection *c)
{
        const char *cl = MHD_lookup_connection_value(
            c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (!cl)
                return -1;
        char *end;
        errno = 0;
        long long v = strtoll(cl, &end, 10);
        if (errno || end == cl || v < 0)
                return LLONG_MAX; /* absurd: treat as over any limit */
        return v;
}

/* Authenticate: copy the token's lab into rq->lab.  0 on success. */
static int authenticate(rq_t *rq, int *missing)
{
        gw_server_t *s = rq->s;
        size_t len = 0;
        const char *tok = bearer_token(
            MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                        MHD_HTTP_HEADER_AUTHORIZATION),
            &len);
        *missing = tok == NULL;
        if (!tok)
                return -1;
        ql_counter_t *c = NULL;
        pthread_rwlock_rdlock(&s->tokens_lock);
        int i = gw_tokens_match(s->tokens, tok, len);
        if (i >= 0) {
                snprintf(rq->lab, sizeof(rq->lab), "%s",
                         gw_tokens_lab(s->tokens, i));
                c = gw_tokens_counter(s->tokens, i);
        }
        pthread_rwlock_unlock(&s->tokens_lock);
        if (i < 0)
                return -1;
        ql_counter_add(c, 1);
        return 0;
}

/* The first call: everything that can be judged from the headers. */
static enum MHD_Result on_headers(rq_t *rq)
{
        gw_server_t *s = rq->s;
        long long cl = content_length_of(rq->conn);
        if (strcmp(rq->path, PUSH_PATH) != 0)
                return reject(rq, cl, 404,
                              gw_body_message("no such resource; results are "
                                              "pushed with POST %s",
                                              PUSH_PATH),
                              NULL, NULL);
        if (strcmp(rq->method, "POST") != 0)
                return reject(rq, cl, 405,
                              gw_body_message("%s takes only POST", PUSH_PATH),
                              MHD_HTTP_HEADER_ALLOW, "POST");
        if (atomic_load(&s->stopping))
                return reject(rq, cl, 503,
                              gw_body_message("the gateway is shutting down; "
                                              "the request may be retried as "
                                              "it is"),
                              MHD_HTTP_HEADER_RETRY_AFTER, "1");
        int missing;
        if (authenticate(rq, &missing) != 0) {
                ql_counter_add(missing ? s->auth_missing : s->auth_invalid, 1);
                return reject(
                    rq, cl, 401,
                    gw_body_message(
                        missing ? "a bearer token is required: send "
                                  "'Authorization: Bearer TOKEN'"
                                : "the bearer token is not known; ask the "
                                  "bureau for a valid one"),
                    MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                    missing ? REALM : REALM ", error=\"invalid_token\"");
        }
        if (!is_json_type(MHD_lookup_connection_value(
                rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
                return reject(rq, cl, 415,
                              gw_body_message("the body must be JSON, sent "
                                              "with Content-Type: "
                                              "application/json (UTF-8)"),
                              NULL, NULL);
        if (cl > s->cfg->max_body)
                return gw_answer_json(rq, 413, too_large(s), NULL, NULL);
        if (cl > 0) {
                rq->body = malloc((size_t)cl);
                if (!rq->body) {
                        snprintf(rq->reason, sizeof(rq->reason),
                                 "out of memory for a body of %lld bytes", cl);
                        return gw_answer_json(rq, 503, gw_not_stored(rq),
                                              MHD_HTTP_HEADER_RETRY_AFTER, "1");
                }
                rq->cap = (size_t)cl;
        }
        rq->state = RQ_BODY;
        return MHD_YES;
}

/* A body chunk.  libmicrohttpd cannot answer in the middle of a body, so a
 * body over the limit is read on and dropped, up to a bound past which the
 * connection is simply closed. */
static enum MHD_Result on_body(rq_t *rq, const char *data, size_t n)
{
        size_t max = (size_t)rq->s->cfg->max_body;
        size_t bound = max + (max > DISCARD_MIN ? max : DISCARD_MIN);
        if (rq->state == RQ_DISCARD) {
                rq->discarded += n;
                return rq->discarded > bound ? MHD_NO : MHD_YES;
        }
        if (rq->state != RQ_BODY)
                return MHD_YES;
        if (rq->len + n > max) {
                /* Over the limit (a chunked body): keep nothing more. */
                free(rq->body);
                rq->body = NULL;
                rq->discarded = rq->len + n;
                rq->len = rq->cap = 0;
                rq->state = RQ_DISCARD;
                rq->late_status = 413;
                rq->late_reply = too_large(rq->s);
                return rq->late_reply && rq->discarded <= bound ? MHD_YES
                                                                : MHD_NO;
        }
        if (rq->len + n > rq->cap) {
                size_t ncap = rq->cap ? rq->cap : 16384;
                while (ncap < rq->len + n)
                        ncap *= 2;
                if (ncap > max)
                        ncap = max;
                char *b = realloc(rq->body, ncap);
                if (!b)
                        return MHD_NO;
                rq->body = b;
                rq->cap = ncap;
        }
        memcpy(rq->body + rq->len, data, n);
        rq->len += n;
        return MHD_YES;
}

/* The resumed call: answer what settle() decided. */
static enum MHD_Result answer_outcome(rq_t *rq)
{
        gw_server_t *s = rq->s;
        ql_delivery_release(rq->d);
        rq->d = NULL;
        if (rq->outcome == 202) {
                ql_counter_add(s->accepted, json_array_size(rq->ids));
                json_t *body = json_pack("{s:O}", "accepted", rq->ids);
                if (body && rq->warnings)
                        json_object_set(body, "warnings", rq->warnings);
                return gw_answer_json(rq, 202, body, NULL, NULL);
        }
        return gw_answer_json(rq, 503, gw_not_stored(rq),
                              MHD_HTTP_HEADER_RETRY_AFTER, "1");
}

/* ---- libmicrohttpd callbacks ---- */

static void copy_printable(char *dst, size_t size, const char *src)
{
        size_t i = 0;
        for (; src && src[i] && i + 1 < size; i++) {
                unsigned char c = (unsigned char)src[i];
                dst[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
        }
        dst[i] = '\0';
}

static void client_address(struct MHD_Connection *c, char *buf, size_t size)
{
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        snprintf(buf, size, "?");
        if (!ci || !ci->client_addr)
                return;
        socklen_t len = ci->client_addr->sa_family == AF_INET6
                            ? sizeof(struct sockaddr_in6)
                            : sizeof(struct sockaddr_in);
        if (getnameinfo(ci->client_addr, len, buf, (socklen_t)size, NULL, 0,
                        NI_NUMERICHOST) != 0)
                snprintf(buf, size, "?");
}

enum MHD_Result gw_on_access(void *cls, struct MHD_Connection *conn,
                             const char *url, const char *method,
                             const char *version, const char *upload,
                             size_t *upload_size, void **con_cls)
{
        gw_server_t *s = cls;
        rq_t *rq = *con_cls;
        if (!rq) {
                rq = calloc(1, sizeof(*rq));
                if (!rq)
                        return MHD_NO;
                *con_cls = rq;
                rq->s = s;
                rq->conn = conn;
                const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
                    conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
                rq->gc = ci ? ci->socket_context : NULL;
                rq->t_start = ql_util_mono_ns();
                snprintf(rq->id, sizeof(rq->id), "%08x%08x", s->id_base,
                         (unsigned)atomic_fetch_add(&s->id_next, 1));
                copy_printable(rq->method, sizeof(rq->method), method);
                copy_printable(rq->path, sizeof(rq->path), url);
                client_address(conn, rq->client, sizeof(rq->client));
                rq->counted = 1;
                atomic_fetch_add(&s->active, 1);
                return on_headers(rq);
        }
        if (*upload_size) {
                size_t n = *upload_size;
                *upload_size = 0;
                return on_body(rq, upload, n);
        }
        switch (rq->state) {
        case RQ_BODY:
                return gw_queue_work(rq);
        case RQ_DISCARD:
        case RQ_DECIDED:
                return reject_late(rq);
        case RQ_SETTLED:
                return answer_outcome(rq);
        default:
                return MHD_YES;
        }
}

static void log_request(rq_t *rq, enum MHD_RequestTerminationCode toe)
{
        gw_server_t *s = rq->s;
        double ms = (double)(ql_util_mono_ns() - rq->t_start) / 1e6;
        if (!rq->status) {
                ql_info(s->lg,
                        "%s %s - rid=%s client=%s lab=%s: connection closed "
                        "before an answer (%s) ms=%.1f",
                        rq->method, rq->path, rq->id, rq->client,
                        rq->lab[0] ? rq->lab : "-",
                        toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED
                            ? "idle timeout"
                        : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN
                            ? "shutdown"
                            : "client went away or error",
                        ms);
                return;
        }
        char detail[640] = "";
        if (rq->status == 202) {
                size_t n = json_array_size(rq->ids), off = 0;
                off += (size_t)snprintf(detail, sizeof(detail), " ids=");
                for (size_t i = 0; i < n && i < LOG_IDS; i++)
                        off += (size_t)snprintf(
                            detail + off, sizeof(detail) - off, "%s%s",
                            i ? "," : "",
                            json_string_value(json_array_get(rq->ids, i)));
                if (n > LOG_IDS && off < sizeof(detail))
                        snprintf(detail + off, sizeof(detail) - off,
                                 ",...(%zu more)", n - LOG_IDS);
        } else if (rq->nerrors) {
                snprintf(detail, sizeof(detail), " errors=%zu", rq->nerrors);
        } else if (rq->reason[0]) {
                snprintf(detail, sizeof(detail), " reason=\"%s\"", rq->reason);
        }
        ql_log(s->lg, rq->status >= 500 ? QL_LOG_WARN : QL_LOG_INFO,
               "%s %s %d rid=%s client=%s lab=%s records=%zu%s ms=%.1f",
               rq->method, rq->path, rq->status, rq->id, rq->client,
               rq->lab[0] ? rq->lab : "-", rq->nrecords, detail, ms);
}

void gw_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                     enum MHD_RequestTerminationCode toe)
{
        gw_server_t *s = cls;
        rq_t *rq = *con_cls;
        if (!rq)
                return;
        *con_cls = NULL;
        if (rq->state == RQ_PUBLISHING) {
                /* Only when the daemon is torn down around a suspended
                 * request. */
                pthread_mutex_lock(&s->pending_lock);
                gw_pending_unlink(s, rq);
                pthread_mutex_unlock(&s->pending_lock);
        }
        log_request(rq, toe);
        ql_histogram_observe(s->request_seconds,
                             (double)(ql_util_mono_ns() - rq->t_start) / 1e9);
        /* Kept alive, the connection waits for its next request now. */
        gw_conn_arm(rq->gc);
        if (rq->counted)
                atomic_fetch_sub(&s->active, 1);
        ql_delivery_release(rq->d);
        json_decref(rq->ids);
        json_decref(rq->warnings);
        json_decref(rq->late_reply);
        free(rq->body);
        free(rq);
}

void gw_on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void gw_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
        gw_server_t *s = cls;
        char buf[512];
        vsnprintf(buf, sizeof(buf), fmt, ap);
        size_t n = strlen(buf);
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                buf[--n] = '\0';
        if (strstr(buf, "connection limit")) {
                /* A host over max_connections_per_address may open
                 * connections as fast as it likes: count each, log a line
                 * per REFUSED_LOG_NS at most. */
                ql_counter_add(s->conns_refused, 1);
                atomic_fetch_add(&s->refused_unlogged, 1);
                int64_t now = ql_util_mono_ns(),
                        last = atomic_load(&s->refused_logged_at);
                if (now - last < REFUSED_LOG_NS ||
                    !atomic_compare_exchange_strong(&s->refused_logged_at,
                                                    &last, now))
                        return;
                ql_warn(s->lg,
                        "http: %llu connection(s) refused since the last such "
                        "line: max_connections (%d) or "
                        "max_connections_per_address (%d) reached",
                        (unsigned long long)atomic_exchange(
                            &s->refused_unlogged, 0),
                        s->cfg->max_connections,
                        s->cfg->max_connections_per_address);
                return;
        }
        ql_warn(s->lg, "http: %s", buf);
}

/* A connection opened or closed.  Opened: its request deadline starts, and
 * a TLS connection is given the certificate current now (a SIGHUP may have
 * replaced the one libmicrohttpd started with).  Closed (before its socket
 * is closed, and normally after its TLS session was freed): forget it. */
void gw_on_connection(void *cls, struct MHD_Connection *conn,
                      void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
        gw_server_t *s = cls;
        if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
                gw_conns_close(s->conns, *socket_context);
                *socket_context = NULL;
                return;
        }
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        char client[64];
        client_address(conn, client, sizeof(client));
        gw_conn_t *c =
            ci ? gw_conns_open(s->conns, ci->connect_fd, client) : NULL;
        *socket_context = c;
        if (!s->tls || !c)
                return;
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        gw_tls_cred_t *cred = gw_tls_acquire(s->tls);
        if (ci && ci->tls_session && gw_tls_apply(cred, ci->tls_session) == 0)
                gw_conn_hold_tls(c, cred);
        else
                gw_tls_release(cred); /* the certificate of the start stays */
}
