/*
 * gw_server_private.h: what the files of the server share, private to
 * them: the request (rq_t, whose states gw_server.c draws), the server
 * struct, and the functions one file calls in another.
 */
#ifndef GW_SERVER_PRIVATE_H
#define GW_SERVER_PRIVATE_H

#include <microhttpd.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "gw_body.h"
#include "gw_conns.h"
#include "gw_server.h"
#include "gw_tls.h"
#include "ql_kafka.h"
#include "ql_result.h"

#include "ql_util.h"

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
        const gw_config_t *cfg;
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

/* gw_server.c */
ql_counter_t *gw_status_counter(gw_server_t *s, int status);

/* gw_http.c */
enum MHD_Result gw_answer_json(rq_t *rq, int status, json_t *body,
                               const char *hname, const char *hvalue);
/* 503 when Kafka did not take or acknowledge the records in time, or the
 * gateway is short of memory: what the lab can do about it, and the id under
 * which the log keeps the reason (Kafka's own words never reach the lab). */
json_t *gw_not_stored(const rq_t *rq);
enum MHD_Result gw_on_access(void *cls, struct MHD_Connection *conn,
                             const char *url, const char *method,
                             const char *version, const char *upload,
                             size_t *upload_size, void **con_cls);
void gw_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                     enum MHD_RequestTerminationCode toe);
/* A connection opened or closed.  Opened: its request deadline starts, and
 * a TLS connection is given the certificate current now (a SIGHUP may have
 * replaced the one libmicrohttpd started with).  Closed (before its socket
 * is closed, and normally after its TLS session was freed): forget it. */
void gw_on_connection(void *cls, struct MHD_Connection *conn,
                      void **socket_context,
                      enum MHD_ConnectionNotificationCode code);
void gw_on_mhd_log(void *cls, const char *fmt, va_list ap);

/* gw_workers.c */
enum MHD_Result gw_queue_work(rq_t *rq);
void *gw_worker_main(void *arg);

/* gw_publisher.c */
void gw_pending_unlink(gw_server_t *s, rq_t *rq);
/* The publisher thread: serves delivery reports and settles requests.  A
 * report arriving during rd_kafka_poll() is seen by the settle_ready() right
 * after it, so no acknowledgement waits for the next round. */
void *gw_publisher_main(void *arg);
/* Settle every pending request that is complete, past its deadline, or
 * (force) any. */
void gw_settle_ready(gw_server_t *s, int force);

#endif
