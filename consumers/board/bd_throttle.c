/*
 * bd_throttle: a fixed table of (key, failures, first failure) entries
 * under one mutex (see bd_throttle.h).  Keys are short (an address, a login
 * with a prefix), sign-ins are rare, and the table is small: a linear scan
 * is all it needs.
 */
#include "bd_throttle.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 96

typedef struct {
        char key[KEY_MAX];
        int failures;
        time_t first;
} entry_t;

struct bd_throttle_s {
        pthread_mutex_t lock;
        entry_t *e;
        size_t cap;
        int limit, window;
};

bd_throttle_t *bd_throttle_new(size_t capacity, int limit, int window)
{
        bd_throttle_t *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->e = calloc(capacity ? capacity : 1, sizeof(*t->e));
        if (!t->e) {
                free(t);
                return NULL;
        }
        pthread_mutex_init(&t->lock, NULL);
        t->cap = capacity ? capacity : 1;
        t->limit = limit;
        t->window = window;
        return t;
}

void bd_throttle_destroy(bd_throttle_t *t)
{
        if (!t)
                return;
        pthread_mutex_destroy(&t->lock);
        free(t->e);
        free(t);
}

/* The entry of key, expired ones cleared; NULL if none.  Under lock. */
static entry_t *find(bd_throttle_t *t, const char *key, time_t now)
{
        for (size_t i = 0; i < t->cap; i++) {
                entry_t *e = &t->e[i];
                if (!e->key[0])
                        continue;
                if (now - e->first >= t->window) {
                        memset(e, 0, sizeof(*e));
                        continue;
                }
                if (!strncmp(e->key, key, KEY_MAX - 1))
                        return e;
        }
        return NULL;
}

int bd_throttle_wait(bd_throttle_t *t, const char *key, time_t now)
{
        pthread_mutex_lock(&t->lock);
        entry_t *e = find(t, key, now);
        int wait = 0;
        if (e && e->failures >= t->limit)
                wait = (int)(e->first + t->window - now);
        pthread_mutex_unlock(&t->lock);
        return wait > 0 ? wait : 0;
}

void bd_throttle_fail(bd_throttle_t *t, const char *key, time_t now)
{
        pthread_mutex_lock(&t->lock);
        entry_t *e = find(t, key, now);
        if (!e) {
                entry_t *oldest = &t->e[0];
                for (size_t i = 0; i < t->cap; i++) {
                        if (!t->e[i].key[0]) {
                                oldest = &t->e[i];
                                break;
                        }
                        if (t->e[i].first < oldest->first)
                                oldest = &t->e[i];
                }
                e = oldest;
                memset(e, 0, sizeof(*e));
                strncpy(e->key, key, KEY_MAX - 1);
                e->first = now;
        }
        e->failures++;
        pthread_mutex_unlock(&t->lock);
}

void bd_throttle_forget(bd_throttle_t *t, const char *key)
{
        pthread_mutex_lock(&t->lock);
        for (size_t i = 0; i < t->cap; i++)
                if (t->e[i].key[0] && !strncmp(t->e[i].key, key, KEY_MAX - 1))
                        memset(&t->e[i], 0, sizeof(t->e[i]));
        pthread_mutex_unlock(&t->lock);
}
