/*
 * bd_session: the session table (see bd_session.h for the life cycle).  One
 * mutex guards the list, reference counts and idle times; each session's own
 * `use` mutex serialises the requests on its connection.  A connection is
 * closed (PQfinish) outside the table lock: it may wait on the network.
 */
#include "bd_session.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct bd_session_s {
        struct bd_session_s *next;
        char id[BD_SESSION_ID_LEN + 1];
        char csrf[BD_SESSION_ID_LEN + 1];
        char login[BD_SESSION_LOGIN_MAX + 1];
        PGconn *conn;
        pthread_mutex_t use;
        int refs;  /* requests holding or waiting for it (table lock) */
        int ended; /* table lock */
        time_t last_used;
        unsigned caps;
        unsigned char prepared[BD_SESSION_STMTS];
        int flash_kind; /* 0 none, 1 error, 2 notice */
        char flash[BD_SESSION_FLASH_MAX];
};

struct bd_sessions_s {
        pthread_mutex_t lock;
        bd_session_t *head;
        size_t n;
        int max, idle_timeout;
};

int bd_session_random_hex(char *buf, size_t nbytes)
{
        static const char hex[] = "0123456789abcdef";
        unsigned char raw[64];
        if (nbytes > sizeof(raw))
                return -1;
        size_t got = 0;
        while (got < nbytes) {
                ssize_t r = getrandom(raw + got, nbytes - got, 0);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                got += (size_t)r;
        }
        for (size_t i = 0; i < nbytes; i++) {
                buf[2 * i] = hex[raw[i] >> 4];
                buf[2 * i + 1] = hex[raw[i] & 15];
        }
        buf[2 * nbytes] = '\0';
        explicit_bzero(raw, sizeof(raw));
        return 0;
}

int bd_session_token_eq(const char *a, const char *b)
{
        size_t na = strlen(a), nb = strlen(b);
        unsigned char diff = na != nb;
        size_t n = na < nb ? na : nb;
        for (size_t i = 0; i < n; i++)
                diff |= (unsigned char)(a[i] ^ b[i]);
        return diff == 0;
}

bd_sessions_t *bd_sessions_new(int max, int idle_timeout)
{
        bd_sessions_t *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        pthread_mutex_init(&t->lock, NULL);
        t->max = max;
        t->idle_timeout = idle_timeout;
        return t;
}

static void session_free(bd_session_t *s)
{
        if (!s)
                return;
        if (s->conn)
                PQfinish(s->conn);
        pthread_mutex_destroy(&s->use);
        explicit_bzero(s->id, sizeof(s->id));
        explicit_bzero(s->csrf, sizeof(s->csrf));
        free(s);
}

/* Unlink s from the table.  Under lock. */
static void unlink_session(bd_sessions_t *t, bd_session_t *s)
{
        for (bd_session_t **p = &t->head; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        s->next = NULL;
                        t->n--;
                        return;
                }
}

/* Move the idle sessions past the timeout from the table to *dead.  Under
 * lock. */
static size_t collect_expired(bd_sessions_t *t, time_t now, bd_session_t **dead)
{
        size_t n = 0;
        for (bd_session_t **p = &t->head; *p;) {
                bd_session_t *s = *p;
                if (s->refs == 0 &&
                    (s->ended || now - s->last_used > t->idle_timeout)) {
                        *p = s->next;
                        t->n--;
                        s->next = *dead;
                        *dead = s;
                        n++;
                } else {
                        p = &s->next;
                }
        }
        return n;
}

static void free_list(bd_session_t *s)
{
        while (s) {
                bd_session_t *next = s->next;
                session_free(s);
                s = next;
        }
}

void bd_sessions_destroy(bd_sessions_t *t)
{
        if (!t)
                return;
        free_list(t->head);
        pthread_mutex_destroy(&t->lock);
        free(t);
}

bd_session_t *bd_sessions_create(bd_sessions_t *t, const char *login,
                                 PGconn *conn, time_t now, int *full)
{
        *full = 0;
        bd_session_t *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        if (bd_session_random_hex(s->id, BD_SESSION_ID_LEN / 2) ||
            bd_session_random_hex(s->csrf, BD_SESSION_ID_LEN / 2)) {
                free(s);
                return NULL;
        }
        snprintf(s->login, sizeof(s->login), "%s", login);
        pthread_mutex_init(&s->use, NULL);
        s->refs = 1;
        s->last_used = now;

        bd_session_t *dead = NULL;
        pthread_mutex_lock(&t->lock);
        collect_expired(t, now, &dead);
        if (t->n >= (size_t)t->max) {
                pthread_mutex_unlock(&t->lock);
                free_list(dead);
                pthread_mutex_destroy(&s->use);
                free(s);
                *full = 1;
                return NULL;
        }
        s->conn = conn;
        s->next = t->head;
        t->head = s;
        t->n++;
        pthread_mutex_lock(&s->use);
        pthread_mutex_unlock(&t->lock);
        free_list(dead);
        return s;
}

bd_session_t *bd_sessions_acquire(bd_sessions_t *t, const char *id, time_t now)
{
        if (!id || strlen(id) != BD_SESSION_ID_LEN)
                return NULL;
        bd_session_t *found = NULL, *dead = NULL;
        pthread_mutex_lock(&t->lock);
        /* Every entry is compared, in constant time, so the time taken
         * says nothing about how close a guess came. */
        for (bd_session_t *s = t->head; s; s = s->next)
                if (bd_session_token_eq(s->id, id))
                        found = s;
        if (found &&
            (found->ended ||
             (found->refs == 0 && now - found->last_used > t->idle_timeout))) {
                if (found->refs == 0) {
                        unlink_session(t, found);
                        dead = found;
                }
                found = NULL;
        }
        if (found)
                found->refs++;
        pthread_mutex_unlock(&t->lock);
        session_free(dead);
        if (found)
                pthread_mutex_lock(&found->use);
        return found;
}

void bd_sessions_release(bd_sessions_t *t, bd_session_t *s, time_t now)
{
        if (!s)
                return;
        pthread_mutex_unlock(&s->use);
        bd_session_t *dead = NULL;
        pthread_mutex_lock(&t->lock);
        s->refs--;
        s->last_used = now;
        if (s->ended && s->refs == 0) {
                unlink_session(t, s);
                dead = s;
        }
        pthread_mutex_unlock(&t->lock);
        session_free(dead);
}

void bd_sessions_end(bd_sessions_t *t, bd_session_t *s)
{
        pthread_mutex_lock(&t->lock);
        s->ended = 1;
        pthread_mutex_unlock(&t->lock);
}

size_t bd_sessions_reap(bd_sessions_t *t, time_t now)
{
        bd_session_t *dead = NULL;
        pthread_mutex_lock(&t->lock);
        size_t n = collect_expired(t, now, &dead);
        pthread_mutex_unlock(&t->lock);
        free_list(dead);
        return n;
}

size_t bd_sessions_count(bd_sessions_t *t)
{
        pthread_mutex_lock(&t->lock);
        size_t n = t->n;
        pthread_mutex_unlock(&t->lock);
        return n;
}

const char *bd_session_id(const bd_session_t *s)
{
        return s->id;
}

const char *bd_session_csrf(const bd_session_t *s)
{
        return s->csrf;
}

const char *bd_session_login(const bd_session_t *s)
{
        return s->login;
}

PGconn *bd_session_conn(bd_session_t *s)
{
        return s->conn;
}

unsigned char *bd_session_prepared(bd_session_t *s)
{
        return s->prepared;
}

unsigned bd_session_caps(const bd_session_t *s)
{
        return s->caps;
}

void bd_session_set_caps(bd_session_t *s, unsigned caps)
{
        s->caps = caps;
}

void bd_session_flash(bd_session_t *s, int error, const char *msg)
{
        s->flash_kind = error ? 1 : 2;
        snprintf(s->flash, sizeof(s->flash), "%s", msg);
}

int bd_session_take_flash(bd_session_t *s, char *buf, size_t size)
{
        int k = s->flash_kind;
        if (k)
                snprintf(buf, size, "%s", s->flash);
        s->flash_kind = 0;
        s->flash[0] = '\0';
        return k;
}
