/*
 * writer: one thread, one slot, a mutex and a condition variable.  The slot
 * holds the batch from submit to collect; the thread only runs
 * triage_store_write() on it.
 */
#include "writer.h"
#include "ql_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum { SLOT_IDLE, SLOT_WRITING, SLOT_DONE } slot_t;

struct triage_writer_s {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t changed;
        slot_t slot;
        int stop;
        triage_store_t *store;
        triage_dlq_t *dlq;
        triage_writer_result_t result;
};

static void *writer_main(void *arg)
{
        triage_writer_t *w = arg;
        pthread_mutex_lock(&w->lock);
        for (;;) {
                while (w->slot != SLOT_WRITING && !w->stop)
                        pthread_cond_wait(&w->changed, &w->lock);
                if (w->slot != SLOT_WRITING)
                        break; /* stopping, nothing to write */
                triage_writer_result_t *r = &w->result;
                pthread_mutex_unlock(&w->lock);
                /* The slot is ours until it is DONE: no lock needed. */
                double t0 = ql_util_mono_s();
                r->rc = triage_store_write(w->store, r->batch, triage_dlq_hook,
                                           w->dlq, &r->stats, r->error,
                                           sizeof(r->error));
                triage_dlq_last(w->dlq, &r->dead);
                r->seconds = ql_util_mono_s() - t0;
                r->connected = triage_store_connected(w->store);
                pthread_mutex_lock(&w->lock);
                w->slot = SLOT_DONE;
                pthread_cond_broadcast(&w->changed);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

triage_writer_t *triage_writer_new(triage_store_t *store, triage_dlq_t *dlq,
                                   char *errstr, size_t errstr_size)
{
        triage_writer_t *w = calloc(1, sizeof(*w));
        if (!w) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        w->store = store;
        w->dlq = dlq;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->changed, NULL);
        int e = pthread_create(&w->thread, NULL, writer_main, w);
        if (e) {
                snprintf(errstr, errstr_size, "writer thread: %s", strerror(e));
                pthread_cond_destroy(&w->changed);
                pthread_mutex_destroy(&w->lock);
                free(w);
                return NULL;
        }
        return w;
}

void triage_writer_destroy(triage_writer_t *w)
{
        if (!w)
                return;
        pthread_mutex_lock(&w->lock);
        while (w->slot == SLOT_WRITING)
                pthread_cond_wait(&w->changed, &w->lock);
        w->stop = 1;
        pthread_cond_broadcast(&w->changed);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        pthread_cond_destroy(&w->changed);
        pthread_mutex_destroy(&w->lock);
        free(w);
}

void triage_writer_submit(triage_writer_t *w, triage_batch_t *b)
{
        pthread_mutex_lock(&w->lock);
        memset(&w->result, 0, sizeof(w->result));
        w->result.batch = b;
        w->slot = SLOT_WRITING;
        pthread_cond_broadcast(&w->changed);
        pthread_mutex_unlock(&w->lock);
}

int triage_writer_busy(triage_writer_t *w)
{
        pthread_mutex_lock(&w->lock);
        int busy = w->slot != SLOT_IDLE;
        pthread_mutex_unlock(&w->lock);
        return busy;
}

int triage_writer_collect(triage_writer_t *w, int timeout_ms,
                          triage_writer_result_t *out)
{
        struct timespec until;
        ql_util_abstime(&until, timeout_ms);
        pthread_mutex_lock(&w->lock);
        while (w->slot == SLOT_WRITING && timeout_ms != 0) {
                if (timeout_ms < 0)
                        pthread_cond_wait(&w->changed, &w->lock);
                else if (pthread_cond_timedwait(&w->changed, &w->lock,
                                                &until) == ETIMEDOUT)
                        break;
        }
        int got = w->slot == SLOT_DONE;
        if (got) {
                *out = w->result;
                w->slot = SLOT_IDLE;
        }
        pthread_mutex_unlock(&w->lock);
        return got;
}
