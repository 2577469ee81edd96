/*
 * spool_pending: a small array of pending names with due times and attempt
 * counts, searched linearly (a spool holds a handful of files at a time),
 * and a list of ignored names.
 */
#include "spool_pending.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
        char *name;
        int64_t due;
        unsigned attempts;
} entry_t;

struct spool_pending_s {
        entry_t *v;
        size_t n, cap;
        char **ignored;
        size_t ni, icap;
};

spool_pending_t *spool_pending_new(void)
{
        return calloc(1, sizeof(spool_pending_t));
}

void spool_pending_destroy(spool_pending_t *q)
{
        if (!q)
                return;
        for (size_t i = 0; i < q->n; i++)
                free(q->v[i].name);
        for (size_t i = 0; i < q->ni; i++)
                free(q->ignored[i]);
        free(q->v);
        free(q->ignored);
        free(q);
}

static entry_t *find(const spool_pending_t *q, const char *name)
{
        for (size_t i = 0; i < q->n; i++)
                if (!strcmp(q->v[i].name, name))
                        return &q->v[i];
        return NULL;
}

int spool_pending_add(spool_pending_t *q, const char *name, int64_t now)
{
        if (find(q, name))
                return 0;
        if (q->n == q->cap) {
                size_t cap = q->cap ? q->cap * 2 : 16;
                entry_t *v = realloc(q->v, cap * sizeof(*v));
                if (!v)
                        return -1;
                q->v = v;
                q->cap = cap;
        }
        char *copy = strdup(name);
        if (!copy)
                return -1;
        q->v[q->n++] = (entry_t){copy, now, 0};
        return 0;
}

void spool_pending_remove(spool_pending_t *q, const char *name)
{
        entry_t *e = find(q, name);
        if (e) {
                free(e->name);
                memmove(e, e + 1, (size_t)(q->v + q->n - (e + 1)) * sizeof(*e));
                q->n--;
        }
        for (size_t i = 0; i < q->ni; i++)
                if (!strcmp(q->ignored[i], name)) {
                        free(q->ignored[i]);
                        q->ignored[i] = q->ignored[--q->ni];
                        break;
                }
}

const char *spool_pending_next(const spool_pending_t *q, int64_t now,
                               int64_t *wait_ms)
{
        const entry_t *best = NULL;
        for (size_t i = 0; i < q->n; i++)
                if (!best || q->v[i].due < best->due)
                        best = &q->v[i]; /* ties: the earlier queued */
        if (!best) {
                *wait_ms = -1;
                return NULL;
        }
        if (best->due <= now)
                return best->name;
        *wait_ms = best->due - now;
        return NULL;
}

int64_t spool_pending_retry(spool_pending_t *q, const char *name, int64_t now)
{
        entry_t *e = find(q, name);
        if (!e)
                return 0;
        int64_t backoff = SPOOL_RETRY_FIRST_MS;
        for (unsigned i = 0; i < e->attempts && backoff < SPOOL_RETRY_MAX_MS;
             i++)
                backoff *= 2;
        if (backoff > SPOOL_RETRY_MAX_MS)
                backoff = SPOOL_RETRY_MAX_MS;
        e->attempts++;
        e->due = now + backoff;
        return backoff;
}

size_t spool_pending_len(const spool_pending_t *q)
{
        return q->n;
}

int spool_pending_has(const spool_pending_t *q, const char *name)
{
        return find(q, name) != NULL;
}

int spool_pending_ignore(spool_pending_t *q, const char *name)
{
        for (size_t i = 0; i < q->ni; i++)
                if (!strcmp(q->ignored[i], name))
                        return 0;
        if (q->ni == q->icap) {
                size_t cap = q->icap ? q->icap * 2 : 16;
                char **v = realloc(q->ignored, cap * sizeof(*v));
                if (!v)
                        return 0;
                q->ignored = v;
                q->icap = cap;
        }
        if (!(q->ignored[q->ni] = strdup(name)))
                return 0;
        q->ni++;
        return 1;
}
