/*
 * spool_handoff: the queues that hand items from one thread of a
 * file's reading to the next, in order: a ring of QUEUE_LEN items, the
 * taker giving finished items back to the putter to be freed where they
 * were allocated, and cancellation when the program is asked to stop.
 */
#include "spool_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ql_kafka.h"
#include "ql_result.h"
#include "ql_util.h"
#include "spool_charset.h"
#include "spool_csvread.h"
#include "spool_file_private.h"
#include "spool_jsonlread.h"

/* ------------------------------------------------------------------------
 * The hand-off queue between two threads (a ring of QUEUE_LEN items, and
 * the items given back to the putter to be freed)
 */

handoff_t *spool_handoff_new(void)
{
        handoff_t *q = calloc(1, sizeof(*q));
        if (!q)
                return NULL;
        if (pthread_mutex_init(&q->lock, NULL)) {
                free(q);
                return NULL;
        }
        if (pthread_cond_init(&q->put, NULL)) {
                pthread_mutex_destroy(&q->lock);
                free(q);
                return NULL;
        }
        if (pthread_cond_init(&q->take, NULL)) {
                pthread_cond_destroy(&q->put);
                pthread_mutex_destroy(&q->lock);
                free(q);
                return NULL;
        }
        return q;
}

void spool_handoff_destroy(handoff_t *q)
{
        if (!q)
                return;
        for (size_t i = 0; i < q->n; i++)
                spool_rec_clear(&q->ring[(q->head + i) % QUEUE_LEN]);
        for (size_t i = 0; i < q->nback; i++)
                spool_rec_clear(&q->back[i]);
        pthread_cond_destroy(&q->take);
        pthread_cond_destroy(&q->put);
        pthread_mutex_destroy(&q->lock);
        free(q);
}

/* Reader: append *r (moved; *r is emptied).  Waits for room.  -1 if the
 * publisher cancelled (then *r is cleared). */
int spool_handoff_put(handoff_t *q, rec_t *r)
{
        pthread_mutex_lock(&q->lock);
        while (q->n == QUEUE_LEN && !q->cancel) {
                q->put_waits = 1;
                pthread_cond_wait(&q->put, &q->lock);
        }
        int cancelled = q->cancel;
        if (!cancelled) {
                int mark = r->mark;
                q->ring[(q->head + q->n) % QUEUE_LEN] = *r;
                memset(r, 0, sizeof(*r));
                q->marks += mark;
                if ((++q->n >= QUEUE_BATCH || mark) && q->take_waits) {
                        q->take_waits = 0;
                        pthread_cond_signal(&q->take);
                }
        }
        size_t nback = q->nback;
        memcpy(q->scratch, q->back, nback * sizeof(*q->back));
        q->nback = 0;
        pthread_mutex_unlock(&q->lock);
        for (size_t i = 0; i < nback; i++)
                spool_rec_clear(&q->scratch[i]);
        if (cancelled)
                spool_rec_clear(r);
        return cancelled ? -1 : 0;
}

void spool_handoff_finish(handoff_t *q)
{
        pthread_mutex_lock(&q->lock);
        q->done = 1;
        pthread_cond_signal(&q->take);
        pthread_mutex_unlock(&q->lock);
}

/* Taker: move the items there are into out (QUEUE_LEN of them at most, up
 * to and with the first mark; yours to clear) and return their number; 0
 * once the putter is done and everything was taken, or -1 after waiting
 * wait_ms for a batch that did not come. */
int spool_handoff_take(handoff_t *q, rec_t *out, int wait_ms)
{
        pthread_mutex_lock(&q->lock);
        if (q->n < QUEUE_BATCH && !q->marks && !q->done) {
                struct timespec ts;
                ql_util_abstime(&ts, wait_ms);
                while (q->n < QUEUE_BATCH && !q->marks && !q->done) {
                        q->take_waits = 1;
                        if (pthread_cond_timedwait(&q->take, &q->lock, &ts))
                                break;
                }
                q->take_waits = 0;
        }
        size_t n = 0;
        while (n < q->n) {
                out[n] = q->ring[(q->head + n) % QUEUE_LEN];
                if (out[n++].mark) {
                        q->marks--;
                        break;
                }
        }
        q->head = (q->head + n) % QUEUE_LEN;
        q->n -= n;
        if (n && q->put_waits) {
                q->put_waits = 0;
                pthread_cond_signal(&q->put);
        }
        int got = n ? (int)n : q->done && !q->n ? 0 : -1;
        pthread_mutex_unlock(&q->lock);
        return got;
}

/* Publisher: hand the n records of batch, done with, back to the reader
 * to be freed (those that do not fit are freed here). */
void spool_handoff_give_back(handoff_t *q, rec_t *batch, size_t n)
{
        pthread_mutex_lock(&q->lock);
        size_t k = 2 * QUEUE_LEN - q->nback;
        if (k > n)
                k = n;
        memcpy(q->back + q->nback, batch, k * sizeof(*batch));
        q->nback += k;
        pthread_mutex_unlock(&q->lock);
        for (size_t i = k; i < n; i++)
                spool_rec_clear(&batch[i]);
}

/* Taker: take no more; the putter stops at its next put. */
void spool_handoff_cancel(handoff_t *q)
{
        pthread_mutex_lock(&q->lock);
        q->cancel = 1;
        pthread_cond_signal(&q->put);
        pthread_mutex_unlock(&q->lock);
}

/* Whether the thread of s is to stop.  Only the calling thread reads the
 * signal flag (ctx->run); it cancels every queue when asked to stop, and
 * the other threads learn it here. */
int spool_stop_asked(const sender_t *s)
{
        int cancelled = 0;
        if (s->ctl) {
                pthread_mutex_lock(&s->ctl->lock);
                cancelled = s->ctl->cancel;
                pthread_mutex_unlock(&s->ctl->lock);
        }
        return cancelled;
}
