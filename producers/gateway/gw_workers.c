/*
 * gw_workers: the worker threads: a request whose body has
 * arrived is judged (parsed, validated, encoded) and its records produced
 * to Kafka, or its rejection decided; libmicrohttpd's threads only move
 * bytes.
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

        rq->t_publish = ql_util_mono_ns();
        rq->deadline =
            rq->t_publish + (int64_t)s->cfg->ack_timeout_ms * 1000000LL;
        int produce_failed = 0;
        json_array_foreach(res.records, i, doc)
        {
                const char *key = ql_result_str(doc, "enterprise.credit_code");
                if (!produce_failed &&
                    ql_delivery_produce(rq->d, s->rk, s->cfg->base.topic, key,
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
                decide(rq, 503, gw_not_stored(rq), MHD_HTTP_HEADER_RETRY_AFTER,
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
                gw_settle_ready(s, 0);
}

void *gw_worker_main(void *arg)
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
enum MHD_Result gw_queue_work(rq_t *rq)
{
        gw_server_t *s = rq->s;
        pthread_mutex_lock(&s->work_lock);
        if (!s->work_run) {
                pthread_mutex_unlock(&s->work_lock);
                return gw_answer_json(
                    rq, 503,
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
