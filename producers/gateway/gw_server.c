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
#include "gw_tls.h"
#include "ql_kafka.h"
#include "ql_result.h"

#define PUSH_PATH        "/v1/results"
#define REALM            "Bearer realm=\"ql-gateway\""
#define TOKEN_MAX        4096
#define READY_CACHE_MS   2000
#define READY_TIMEOUT_MS 1000
#define LOG_IDS          3 /* result_ids named in a request's log line */
#define DISCARD_MIN      (1024 * 1024) /* bytes a rejected body may run on */
/* Connections refused over the limits: one log line per 10 s at most. */
#define REFUSED_LOG_NS (10 * 1000000000LL)

typedef enum {
        RQ_HEADERS = 0,
        RQ_BODY,
        RQ_DISCARD,
        RQ_WORKING,
        RQ_DECIDED,
        RQ_PUBLISHING,
        RQ_SETTLED,
        RQ_ANSWERED,
} rq_state_t;

typedef struct rq_s {
        gw_server_t *s;
        struct MHD_Connection *conn;
        gw_conn_t *gc; /* its connection's deadline; may be NULL */
        rq_state_t state;
        int counted; /* in s->active */
        char id[20]; /* the request id: in the log and the answer */
        char method[16];
        char path[96]; /* printable, for the log */
        char client[64];
        char lab[GW_LAB_MAX + 1];
        int64_t t_start;

        /* RQ_BODY */
        char *body;
        size_t len, cap;
        /* RQ_DISCARD, RQ_DECIDED: the answer decided before the body was
         * read, or by a worker */
        size_t discarded;
        int late_status;
        json_t *late_reply;
        const char *late_hname, *late_hvalue;

        /* RQ_PUBLISHING .. RQ_SETTLED */
        ql_delivery_t *d;
        json_t *ids;      /* result_ids, in request order */
        json_t *warnings; /* NULL or problems to pass on with the 202 */
        int64_t t_publish, deadline;
        int outcome; /* 202 or 503, set by settle() */
        char reason[512];
        struct rq_s *prev, *next; /* s->pending */
        struct rq_s *work_next;   /* s->work queue */

        /* for the log line */
        int status;
        size_t nrecords, nerrors;
} rq_t;

/* The statuses the gateway answers, each with its counter. */
static const int statuses[] = {202, 400, 401, 403, 404,
                               405, 413, 415, 500, 503};
#define NSTATUSES (sizeof(statuses) / sizeof(statuses[0]))

struct gw_server_s {
        const ql_config_t *cfg;
        ql_log_t *lg;
        ql_metrics_t *m;
        const ql_codec_t *codec;
        rd_kafka_t *rk;
        ql_kafka_probe_t *probe; /* /readyz: Kafka reachable, topic known */
        struct MHD_Daemon *httpd;
        struct addrinfo *listen_ai;
        gw_tls_t *tls;            /* NULL: plain HTTP */
        gw_tls_cred_t *tls_start; /* the credentials libmicrohttpd loaded */
        gw_conns_t *conns;
        uint32_t id_base;
        _Atomic uint32_t id_next;
        _Atomic int64_t refused_logged_at;
        _Atomic uint64_t refused_unlogged;

        pthread_rwlock_t tokens_lock;
        gw_tokens_t *tokens;
        _Atomic int uscc_mode;
        _Atomic int stopping;
        _Atomic size_t active; /* push requests not yet completed */

        pthread_mutex_t work_lock;
        pthread_cond_t work_cond;
        rq_t *work_head, *work_tail;
        int work_run; /* under work_lock: workers take requests */
        pthread_t *workers;
        int nworkers;

        pthread_mutex_t pending_lock;
        rq_t *pending;
        pthread_t publisher;
        int publisher_started;
        _Atomic int publisher_run;

        ql_counter_t *by_status[NSTATUSES];
        ql_counter_t *accepted, *auth_missing, *auth_invalid;
        ql_counter_t *conns_refused, *conns_cut;
        ql_histogram_t *publish_seconds, *request_seconds;
        ql_gauge_t *in_flight;
};

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static ql_counter_t *status_counter(gw_server_t *s, int status)
{
        for (size_t i = 0; i < NSTATUSES; i++)
                if (statuses[i] == status)
                        return s->by_status[i];
        return NULL;
}

/* ---- answering ---- */

static void mark_answered(rq_t *rq, int status)
{
        rq->status = status;
        rq->state = RQ_ANSWERED;
        ql_counter_add(status_counter(rq->s, status), 1);
}

/* Queue a JSON answer.  Takes body (may be NULL only when out of memory:
 * then the connection is closed).  hname/hvalue: one extra header or NULL. */
static enum MHD_Result answer_json(rq_t *rq, int status, json_t *body,
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
                return answer_json(rq, status, body, hname, hvalue);
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
        return answer_json(rq, rq->late_status, body, rq->late_hname,
                           rq->late_hvalue);
}

/* 503 when Kafka did not take or acknowledge the records in time, or the
 * gateway is short of memory: what the lab can do about it, and the id under
 * which the log keeps the reason (Kafka's own words never reach the lab). */
static json_t *not_stored(const rq_t *rq)
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
                return answer_json(rq, 413, too_large(s), NULL, NULL);
        if (cl > 0) {
                rq->body = malloc((size_t)cl);
                if (!rq->body) {
                        snprintf(rq->reason, sizeof(rq->reason),
                                 "out of memory for a body of %lld bytes", cl);
                        return answer_json(rq, 503, not_stored(rq),
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

/* ---- publishing ---- */

/* Decide a taken-out request's outcome and wake its connection.  The
 * request must not be touched after MHD_resume_connection(): its worker may
 * answer and free it at once. */
static void settle(rq_t *rq, int64_t now)
{
        gw_server_t *s = rq->s;
        size_t total = json_array_size(rq->ids);
        size_t left = ql_delivery_in_flight(rq->d);
        size_t failed = ql_delivery_failed(rq->d);
        if (left == 0 && failed == 0) {
                rq->outcome = 202;
        } else {
                char first[256];
                ql_delivery_first_error(rq->d, first, sizeof(first));
                rq->outcome = 503;
                if (failed)
                        snprintf(rq->reason, sizeof(rq->reason),
                                 "Kafka refused %zu of %zu record%s (%s)",
                                 failed, total, total == 1 ? "" : "s", first);
                else
                        snprintf(rq->reason, sizeof(rq->reason),
                                 "Kafka did not acknowledge %zu of %zu "
                                 "record%s within %d ms",
                                 left, total, total == 1 ? "" : "s",
                                 s->cfg->ack_timeout_ms);
        }
        ql_histogram_observe(s->publish_seconds,
                             (double)(now - rq->t_publish) / 1e9);
        rq->state = RQ_SETTLED;
        struct MHD_Connection *conn = rq->conn;
        MHD_resume_connection(conn);
}

static void pending_unlink(gw_server_t *s, rq_t *rq)
{
        if (rq->prev)
                rq->prev->next = rq->next;
        else
                s->pending = rq->next;
        if (rq->next)
                rq->next->prev = rq->prev;
        rq->prev = rq->next = NULL;
}

/* Settle every pending request that is complete, past its deadline, or
 * (force) any. */
static void settle_ready(gw_server_t *s, int force)
{
        int64_t now = now_ns();
        rq_t *ready = NULL;
        pthread_mutex_lock(&s->pending_lock);
        for (rq_t *rq = s->pending, *next; rq; rq = next) {
                next = rq->next;
                if (force || now >= rq->deadline ||
                    ql_delivery_in_flight(rq->d) == 0) {
                        pending_unlink(s, rq);
                        rq->next = ready;
                        ready = rq;
                }
        }
        pthread_mutex_unlock(&s->pending_lock);
        for (rq_t *rq = ready, *next; rq; rq = next) {
                next = rq->next;
                rq->next = NULL;
                settle(rq, now);
        }
}

/* The publisher thread: serves delivery reports and settles requests.  A
 * report arriving during rd_kafka_poll() is seen by the settle_ready() right
 * after it, so no acknowledgement waits for the next round. */
static void *publisher_main(void *arg)
{
        gw_server_t *s = arg;
        while (atomic_load(&s->publisher_run)) {
                rd_kafka_poll(s->rk, 10);
                settle_ready(s, 0);
                pthread_mutex_lock(&s->pending_lock);
                size_t n = 0;
                for (rq_t *rq = s->pending; rq; rq = rq->next)
                        n++;
                pthread_mutex_unlock(&s->pending_lock);
                ql_gauge_set(s->in_flight, (double)n);
        }
        return NULL;
}

/* A worker's answer for a request it will not publish: kept for the
 * resumed call (reject_late()), and the connection woken.  The request must
 * not be touched afterwards. */
static void decide(rq_t *rq, int status, json_t *body, const char *hname,
                   const char *hvalue)
{
        rq->late_status = status;
        rq->late_reply = body;
        rq->late_hname = hname;
        rq->late_hvalue = hvalue;
        rq->state = RQ_DECIDED;
        MHD_resume_connection(rq->conn);
}

/* A fault of the gateway's own (the codec refusing a validated record):
 * the details go to the log only. */
static void fail_500(rq_t *rq, const char *why)
{
        ql_error(rq->s->lg, "request %s from %s lab=%s: %s", rq->id, rq->client,
                 rq->lab, why);
        snprintf(rq->reason, sizeof(rq->reason), "%s", why);
        decide(rq, 500,
               json_pack("{s:s,s:s}", "message",
                         "the gateway could not process this request; "
                         "nothing of it was published; if this persists, "
                         "tell the bureau the request_id",
                         "request_id", rq->id),
               NULL, NULL);
}

/* On a worker: the whole body is here; judge it, then encode and produce
 * every record and leave the connection suspended until they are settled. */
static void judge(rq_t *rq)
{
        gw_server_t *s = rq->s;
        gw_body_opts_t o = {rq->lab, (ql_uscc_mode_t)atomic_load(&s->uscc_mode),
                            (size_t)s->cfg->max_records};
        gw_body_result_t res;
        gw_body_check(rq->body ? rq->body : "", rq->len, &o, &res);
        free(rq->body);
        rq->body = NULL;
        rq->nrecords = res.nrecords;
        rq->nerrors = res.nerrors;
        if (res.status) {
                int status = res.status;
                json_t *reply = res.reply;
                res.reply = NULL;
                gw_body_result_clear(&res);
                decide(rq, status, reply, NULL, NULL);
                return;
        }
        if (atomic_load(&s->stopping)) {
                gw_body_result_clear(&res);
                decide(rq, 503,
                       gw_body_message("the gateway is shutting down; the "
                                       "request may be retried as it is"),
                       MHD_HTTP_HEADER_RETRY_AFTER, "1");
                return;
        }

        /* Encode everything before producing anything: an encoding failure
         * then publishes nothing. */
        size_t n = json_array_size(res.records);
        unsigned char **bufs = calloc(n, sizeof(*bufs));
        size_t *lens = calloc(n, sizeof(*lens));
        rq->ids = json_array();
        char err[512] = "";
        size_t i;
        json_t *doc;
        if (!bufs || !lens || !rq->ids)
                snprintf(err, sizeof(err), "out of memory");
        json_array_foreach(res.records, i, doc)
        {
                if (err[0])
                        break;
                char why[400];
                if (ql_codec_encode(s->codec, doc, &bufs[i], &lens[i], why,
                                    sizeof(why)) != 0)
                        snprintf(err, sizeof(err),
                                 "record %zu could not be encoded: %s", i, why);
                else
                        json_array_append_new(
                            rq->ids,
                            json_string(ql_result_str(doc, "result_id")));
        }
        if (!err[0] && !(rq->d = ql_delivery_new()))
                snprintf(err, sizeof(err), "out of memory");
        if (err[0]) {
                for (size_t k = 0; bufs && k < n; k++)
                        free(bufs[k]);
                free(bufs);
                free(lens);
                gw_body_result_clear(&res);
                fail_500(rq, err);
                return;
        }

        rq->t_publish = now_ns();
        rq->deadline =
            rq->t_publish + (int64_t)s->cfg->ack_timeout_ms * 1000000LL;
        int produce_failed = 0;
        json_array_foreach(res.records, i, doc)
        {
                const char *key = ql_result_str(doc, "enterprise.credit_code");
                if (!produce_failed &&
                    ql_delivery_produce(rq->d, s->rk, s->cfg->topic, key,
                                        strlen(key), bufs[i], lens[i], NULL,
                                        err, sizeof(err)) != 0)
                        produce_failed = 1;
                free(bufs[i]);
        }
        free(bufs);
        free(lens);
        rq->warnings = res.warnings;
        res.warnings = NULL;
        gw_body_result_clear(&res);
        if (produce_failed) {
                snprintf(rq->reason, sizeof(rq->reason),
                         "Kafka did not take the records (%s)", err);
                decide(rq, 503, not_stored(rq), MHD_HTTP_HEADER_RETRY_AFTER,
                       "1");
                return;
        }

        rq->state = RQ_PUBLISHING;
        pthread_mutex_lock(&s->pending_lock);
        rq->next = s->pending;
        if (s->pending)
                s->pending->prev = rq;
        s->pending = rq;
        pthread_mutex_unlock(&s->pending_lock);
        /* The acknowledgements may all be in already. */
        if (ql_delivery_in_flight(rq->d) == 0)
                settle_ready(s, 0);
}

static void *worker_main(void *arg)
{
        gw_server_t *s = arg;
        for (;;) {
                pthread_mutex_lock(&s->work_lock);
                while (s->work_run && !s->work_head)
                        pthread_cond_wait(&s->work_cond, &s->work_lock);
                rq_t *rq = s->work_head;
                if (rq) {
                        s->work_head = rq->work_next;
                        if (!s->work_head)
                                s->work_tail = NULL;
                        rq->work_next = NULL;
                }
                pthread_mutex_unlock(&s->work_lock);
                if (!rq)
                        return NULL; /* stopped, and the queue is empty */
                judge(rq);
        }
}

/* End of a body: hand the request to a worker, the connection suspended
 * until the answer is known.  With the workers stopped (the server going
 * down), answered here. */
static enum MHD_Result queue_work(rq_t *rq)
{
        gw_server_t *s = rq->s;
        pthread_mutex_lock(&s->work_lock);
        if (!s->work_run) {
                pthread_mutex_unlock(&s->work_lock);
                return answer_json(rq, 503,
                                   gw_body_message("the gateway is shutting "
                                                   "down; the request may be "
                                                   "retried as it is"),
                                   MHD_HTTP_HEADER_RETRY_AFTER, "1");
        }
        rq->state = RQ_WORKING;
        gw_conn_disarm(rq->gc); /* the request is in */
        MHD_suspend_connection(rq->conn);
        if (s->work_tail)
                s->work_tail->work_next = rq;
        else
                s->work_head = rq;
        s->work_tail = rq;
        pthread_cond_signal(&s->work_cond);
        pthread_mutex_unlock(&s->work_lock);
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
                return answer_json(rq, 202, body, NULL, NULL);
        }
        return answer_json(rq, 503, not_stored(rq), MHD_HTTP_HEADER_RETRY_AFTER,
                           "1");
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

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
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
                rq->t_start = now_ns();
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
                return queue_work(rq);
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
        double ms = (double)(now_ns() - rq->t_start) / 1e6;
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

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
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
                pending_unlink(s, rq);
                pthread_mutex_unlock(&s->pending_lock);
        }
        log_request(rq, toe);
        ql_histogram_observe(s->request_seconds,
                             (double)(now_ns() - rq->t_start) / 1e9);
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

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
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
                int64_t now = now_ns(),
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
static void on_connection(void *cls, struct MHD_Connection *conn,
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
static int resolve_listen(const ql_config_t *cfg, struct addrinfo **ai,
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

int gw_server_check_config(const ql_config_t *cfg, char *errstr,
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
        const ql_config_t *cfg = s->cfg;
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
        OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, s);
        OPT(MHD_OPTION_NOTIFY_CONNECTION, on_connection, s);
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
        s->httpd = MHD_start_daemon(flags, 0, NULL, NULL, on_access, s,
                                    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
                                    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
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
        atomic_init(&s->refused_logged_at, now_ns() - REFUSED_LOG_NS);
        atomic_init(&s->refused_unlogged, 0);
        atomic_init(&s->uscc_mode, (int)o->cfg->uscc_check);
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
        s->probe = ql_kafka_probe_new(s->rk, s->cfg->topic, READY_CACHE_MS,
                                      READY_TIMEOUT_MS);
        if (!s->probe) {
                snprintf(errstr, errstr_size, "topic %s: %s", s->cfg->topic,
                         rd_kafka_err2str(rd_kafka_last_error()));
                gw_server_destroy(s);
                return NULL;
        }
        if (!(s->conns = gw_conns_new(s->cfg->request_timeout * 1000, s->lg,
                                      s->conns_cut, errstr, errstr_size))) {
                gw_server_destroy(s);
                return NULL;
        }
        if (pthread_create(&s->publisher, NULL, publisher_main, s) != 0) {
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
                if (pthread_create(&s->workers[s->nworkers], NULL, worker_main,
                                   s) != 0) {
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
        int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000LL;
        size_t left;
        while ((left = atomic_load(&s->active)) > 0 && now_ns() < deadline) {
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
                settle_ready(s, 1);
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
