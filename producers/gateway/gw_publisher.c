/*
 * gw_publisher: the publisher thread: it polls Kafka's delivery
 * reports and settles each request once all its records are acknowledged,
 * one failed, or ack_timeout_ms passed, then resumes its connection.
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

void gw_pending_unlink(gw_server_t *s, rq_t *rq)
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
void gw_settle_ready(gw_server_t *s, int force)
{
        int64_t now = ql_util_mono_ns();
        rq_t *ready = NULL;
        pthread_mutex_lock(&s->pending_lock);
        for (rq_t *rq = s->pending, *next; rq; rq = next) {
                next = rq->next;
                if (force || now >= rq->deadline ||
                    ql_delivery_in_flight(rq->d) == 0) {
                        gw_pending_unlink(s, rq);
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
void *gw_publisher_main(void *arg)
{
        gw_server_t *s = arg;
        while (atomic_load(&s->publisher_run)) {
                rd_kafka_poll(s->rk, 10);
                gw_settle_ready(s, 0);
                pthread_mutex_lock(&s->pending_lock);
                size_t n = 0;
                for (rq_t *rq = s->pending; rq; rq = rq->next)
                        n++;
                pthread_mutex_unlock(&s->pending_lock);
                ql_gauge_set(s->in_flight, (double)n);
        }
        return NULL;
}
