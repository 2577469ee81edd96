/*
 * partitions: the table of held partitions behind one mutex.  It is small
 * (a consumer holds a handful of partitions), so lookups are linear.
 */
#include "partitions.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct triage_partitions_s {
        pthread_mutex_t lock;
        char *topic;
        triage_partition_t *v;
        size_t n;
};

triage_partitions_t *triage_partitions_new(const char *topic)
{
        triage_partitions_t *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->topic = strdup(topic);
        if (!t->topic) {
                free(t);
                return NULL;
        }
        pthread_mutex_init(&t->lock, NULL);
        return t;
}

void triage_partitions_destroy(triage_partitions_t *t)
{
        if (!t)
                return;
        pthread_mutex_destroy(&t->lock);
        free(t->topic);
        free(t->v);
        free(t);
}

static triage_partition_t *find(triage_partitions_t *t, int32_t partition)
{
        for (size_t i = 0; i < t->n; i++)
                if (t->v[i].partition == partition)
                        return &t->v[i];
        return NULL;
}

int triage_partitions_assign(triage_partitions_t *t, const int32_t *ids,
                             size_t n)
{
        triage_partition_t *v = NULL;
        if (n) {
                v = calloc(n, sizeof(*v));
                if (!v)
                        return -1;
        }
        for (size_t i = 0; i < n; i++)
                v[i] = (triage_partition_t){
                    .partition = ids[i],
                    .stored = TRIAGE_OFFSET_NONE,
                    .base = TRIAGE_OFFSET_NONE,
                    .position = TRIAGE_OFFSET_NONE,
                    .low = TRIAGE_OFFSET_NONE,
                    .high = TRIAGE_OFFSET_NONE,
                };
        pthread_mutex_lock(&t->lock);
        free(t->v);
        t->v = v;
        t->n = n;
        pthread_mutex_unlock(&t->lock);
        return 0;
}

size_t triage_partitions_count(triage_partitions_t *t)
{
        pthread_mutex_lock(&t->lock);
        size_t n = t->n;
        pthread_mutex_unlock(&t->lock);
        return n;
}

int triage_partitions_at(triage_partitions_t *t, size_t i,
                         triage_partition_t *out)
{
        pthread_mutex_lock(&t->lock);
        int rc = i < t->n ? 0 : -1;
        if (!rc)
                *out = t->v[i];
        pthread_mutex_unlock(&t->lock);
        return rc;
}

int triage_partitions_find(triage_partitions_t *t, int32_t partition,
                           triage_partition_t *out)
{
        pthread_mutex_lock(&t->lock);
        triage_partition_t *p = find(t, partition);
        if (p)
                *out = *p;
        pthread_mutex_unlock(&t->lock);
        return p ? 0 : -1;
}

void triage_partitions_set_stored(triage_partitions_t *t, int32_t partition,
                                  int64_t stored)
{
        pthread_mutex_lock(&t->lock);
        triage_partition_t *p = find(t, partition);
        if (p) {
                p->stored = p->base = p->position = stored;
                p->loaded = 1;
        }
        pthread_mutex_unlock(&t->lock);
}

int triage_partitions_all_loaded(triage_partitions_t *t)
{
        int rc = 0;
        pthread_mutex_lock(&t->lock);
        for (size_t i = 0; i < t->n; i++)
                if (!t->v[i].loaded)
                        rc = -1;
        pthread_mutex_unlock(&t->lock);
        return rc;
}

int triage_partitions_accept(triage_partitions_t *t, int32_t partition,
                             int64_t offset, int64_t *base, int64_t *expected)
{
        int take = 0;
        pthread_mutex_lock(&t->lock);
        triage_partition_t *p = find(t, partition);
        if (p && p->loaded && offset >= p->position) {
                *expected = p->position >= 0 ? p->position : 0;
                p->position = offset + 1;
                *base = p->base;
                take = 1;
        }
        pthread_mutex_unlock(&t->lock);
        return take;
}

void triage_partitions_skip_to(triage_partitions_t *t, int32_t partition,
                               int64_t offset)
{
        pthread_mutex_lock(&t->lock);
        triage_partition_t *p = find(t, partition);
        if (p && p->loaded && offset > p->position)
                p->position = offset;
        pthread_mutex_unlock(&t->lock);
}

void triage_partitions_submit(triage_partitions_t *t, const triage_batch_t *b)
{
        pthread_mutex_lock(&t->lock);
        for (size_t i = 0; i < triage_batch_part_count(b); i++) {
                const triage_batch_part_t *bp = triage_batch_part(b, i);
                triage_partition_t *p = find(t, bp->partition);
                if (p)
                        p->base = bp->end;
        }
        pthread_mutex_unlock(&t->lock);
}

void triage_partitions_commit(triage_partitions_t *t, const triage_batch_t *b)
{
        pthread_mutex_lock(&t->lock);
        for (size_t i = 0; i < triage_batch_part_count(b); i++) {
                const triage_batch_part_t *bp = triage_batch_part(b, i);
                triage_partition_t *p = find(t, bp->partition);
                if (!p)
                        continue;
                p->stored = bp->end;
                if (p->base < p->stored)
                        p->base = p->stored;
                if (p->position < p->stored)
                        p->position = p->stored;
        }
        pthread_mutex_unlock(&t->lock);
}

void triage_partitions_rewind(triage_partitions_t *t)
{
        pthread_mutex_lock(&t->lock);
        for (size_t i = 0; i < t->n; i++)
                t->v[i].base = t->v[i].position = t->v[i].stored;
        pthread_mutex_unlock(&t->lock);
}

void triage_partitions_set_watermarks(triage_partitions_t *t, int32_t partition,
                                      int64_t low, int64_t high)
{
        pthread_mutex_lock(&t->lock);
        triage_partition_t *p = find(t, partition);
        if (p) {
                p->low = low;
                p->high = high;
        }
        pthread_mutex_unlock(&t->lock);
}

/* Records not yet stored, or -1 if unknown.  Call locked. */
static int64_t lag_of(const triage_partition_t *p)
{
        if (!p->loaded || p->high < 0)
                return -1;
        int64_t from = p->stored >= 0 ? p->stored : p->low;
        if (from < 0)
                return -1;
        return p->high > from ? p->high - from : 0;
}

int triage_partitions_caught_up(triage_partitions_t *t)
{
        int ok = 1;
        pthread_mutex_lock(&t->lock);
        for (size_t i = 0; i < t->n; i++)
                if (lag_of(&t->v[i]) != 0)
                        ok = 0;
        pthread_mutex_unlock(&t->lock);
        return ok;
}

int64_t triage_partitions_lag(triage_partitions_t *t)
{
        int64_t sum = 0;
        pthread_mutex_lock(&t->lock);
        for (size_t i = 0; i < t->n; i++) {
                int64_t l = lag_of(&t->v[i]);
                if (l > 0)
                        sum += l;
        }
        pthread_mutex_unlock(&t->lock);
        return sum;
}

int64_t triage_partitions_ahead(triage_partitions_t *t)
{
        int64_t sum = 0;
        pthread_mutex_lock(&t->lock);
        for (size_t i = 0; i < t->n && sum >= 0; i++) {
                const triage_partition_t *p = &t->v[i];
                int64_t from = p->position >= 0 ? p->position : p->low;
                if (!p->loaded || p->high < 0 || from < 0)
                        sum = -1;
                else if (p->high > from)
                        sum += p->high - from;
        }
        pthread_mutex_unlock(&t->lock);
        return sum;
}

void triage_partitions_emit_help(ql_metrics_emit_fn emit, void *emit_ctx)
{
        emit(emit_ctx, "# HELP ql_triage_lag Records on the partition not yet "
                       "stored: high watermark - stored offset.\n"
                       "# TYPE ql_triage_lag gauge\n");
}

void triage_partitions_emit_lag(triage_partitions_t *t, ql_metrics_emit_fn emit,
                                void *emit_ctx)
{
        pthread_mutex_lock(&t->lock);
        for (size_t i = 0; i < t->n; i++) {
                int64_t l = lag_of(&t->v[i]);
                if (l >= 0)
                        emit(emit_ctx,
                             "ql_triage_lag{topic=\"%s\",partition=\"%" PRId32
                             "\"} %" PRId64 "\n",
                             t->topic, t->v[i].partition, l);
        }
        pthread_mutex_unlock(&t->lock);
}
