/*
 * gw_conns: a doubly linked list of connections under one lock, and a
 * reaper thread that walks it REAP_MS apart.  Deadlines are atomics, so
 * libmicrohttpd's threads arm and disarm them without the lock; the lock
 * only guards the list, which is what keeps a socket from being shut down
 * after libmicrohttpd has let go of it.
 */
#include "gw_conns.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define REAP_MS 100

struct gw_conn_s {
        gw_conns_t *r;
        struct gw_conn_s *prev, *next;
        int fd;
        _Atomic int64_t deadline; /* CLOCK_MONOTONIC ns; 0: none */
        int64_t opened;
        int cut; /* under r->lock: shut down by the reaper */
        gw_tls_cred_t *cred;
        char client[64];
};

struct gw_conns_s {
        int64_t timeout_ns;
        ql_log_t *lg;
        ql_counter_t *cut;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        gw_conn_t *head;
        int run; /* under lock */
        pthread_t reaper;
};

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Shut down every connection past its deadline.  Under r->lock. */
static void reap(gw_conns_t *r, int64_t now)
{
        for (gw_conn_t *c = r->head; c; c = c->next) {
                int64_t d = atomic_load(&c->deadline);
                if (c->cut || d == 0 || now < d)
                        continue;
                c->cut = 1;
                shutdown(c->fd, SHUT_RDWR);
                ql_counter_add(r->cut, 1);
                ql_info(r->lg,
                        "connection from %s closed: its request was not in "
                        "within request_timeout (%lld s); open %.1f s",
                        c->client, (long long)(r->timeout_ns / 1000000000LL),
                        (double)(now - c->opened) / 1e9);
        }
}

static void *reaper_main(void *arg)
{
        gw_conns_t *r = arg;
        pthread_mutex_lock(&r->lock);
        while (r->run) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += REAP_MS * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                int rc = pthread_cond_timedwait(&r->wake, &r->lock, &ts);
                if (rc == ETIMEDOUT || rc == 0)
                        reap(r, now_ns());
        }
        pthread_mutex_unlock(&r->lock);
        return NULL;
}

gw_conns_t *gw_conns_new(int request_timeout_ms, ql_log_t *lg,
                         ql_counter_t *cut, char *errstr, size_t errstr_size)
{
        gw_conns_t *r = calloc(1, sizeof(*r));
        if (!r) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        r->timeout_ns = (int64_t)request_timeout_ms * 1000000LL;
        r->lg = lg;
        r->cut = cut;
        r->run = 1;
        pthread_mutex_init(&r->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&r->wake, &ca);
        pthread_condattr_destroy(&ca);
        if (pthread_create(&r->reaper, NULL, reaper_main, r) != 0) {
                snprintf(errstr, errstr_size, "cannot start a thread");
                pthread_cond_destroy(&r->wake);
                pthread_mutex_destroy(&r->lock);
                free(r);
                return NULL;
        }
        return r;
}

void gw_conns_destroy(gw_conns_t *r)
{
        if (!r)
                return;
        pthread_mutex_lock(&r->lock);
        r->run = 0;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->reaper, NULL);
        /* Connections left only if the HTTP daemon did not close them. */
        for (gw_conn_t *c = r->head, *next; c; c = next) {
                next = c->next;
                gw_tls_release(c->cred);
                free(c);
        }
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        free(r);
}

gw_conn_t *gw_conns_open(gw_conns_t *r, int fd, const char *client)
{
        gw_conn_t *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->r = r;
        c->fd = fd;
        c->opened = now_ns();
        atomic_init(&c->deadline, c->opened + r->timeout_ns);
        snprintf(c->client, sizeof(c->client), "%s", client);
        pthread_mutex_lock(&r->lock);
        c->next = r->head;
        if (r->head)
                r->head->prev = c;
        r->head = c;
        pthread_mutex_unlock(&r->lock);
        return c;
}

void gw_conns_close(gw_conns_t *r, gw_conn_t *c)
{
        if (!c)
                return;
        pthread_mutex_lock(&r->lock);
        if (c->prev)
                c->prev->next = c->next;
        else
                r->head = c->next;
        if (c->next)
                c->next->prev = c->prev;
        pthread_mutex_unlock(&r->lock);
        gw_tls_release(c->cred);
        free(c);
}

void gw_conn_hold_tls(gw_conn_t *c, gw_tls_cred_t *cred)
{
        gw_tls_release(c->cred);
        c->cred = cred;
}

void gw_conn_disarm(gw_conn_t *c)
{
        if (c)
                atomic_store(&c->deadline, 0);
}

void gw_conn_arm(gw_conn_t *c)
{
        if (c)
                atomic_store(&c->deadline, now_ns() + c->r->timeout_ns);
}
