/*
 * bd_session: the signed-in officers.  A session is created when a login's
 * password opened a PostgreSQL connection as that login; it owns that
 * connection (the password itself is never kept) and is named by a random
 * id from the kernel's CSPRNG (getrandom), sent as the ql_session cookie.
 * Each session also has its own random CSRF token, which every form must
 * carry back.
 *
 * Life of a session:
 *
 *   bd_sessions_create() --> in use --bd_sessions_release()--> idle
 *        ^                     |  ^                             |
 *        |                     |  +---bd_sessions_acquire()-----+
 *        |                     |                                |
 *        |        bd_sessions_end() (sign-out,        idle longer than the
 *        |        broken connection): ended, freed    timeout: freed by the
 *        |        at its last release                 next acquire/reap
 *
 * A session in use is held by exactly one request at a time (the `use`
 * lock), since its connection runs one query at a time; a second request
 * with the same cookie waits for the first.  At most `max` sessions exist;
 * the table refuses more.  Thread-safe.
 */
#ifndef BD_SESSION_H
#define BD_SESSION_H

#include <libpq-fe.h>
#include <stddef.h>
#include <time.h>

#define BD_SESSION_ID_LEN    64 /* hex characters: 32 random bytes */
#define BD_SESSION_LOGIN_MAX 63
#define BD_SESSION_STMTS     128 /* prepared statements a connection may hold */
#define BD_SESSION_FLASH_MAX 512

typedef struct bd_session_s bd_session_t;
typedef struct bd_sessions_s bd_sessions_t;

bd_sessions_t *bd_sessions_new(int max, int idle_timeout);
/* Ends every session and closes its connection.  No request may hold one.
 * Accepts NULL. */
void bd_sessions_destroy(bd_sessions_t *t);

/* A new session for `login` owning `conn`, returned in use (release it when
 * the request is done).  NULL when the table is full even after dropping
 * expired sessions, or memory or randomness ran out: *full tells which;
 * conn is then still the caller's. */
bd_session_t *bd_sessions_create(bd_sessions_t *t, const char *login,
                                 PGconn *conn, time_t now, int *full);

/* The session named by `id`, now in use; NULL if unknown, ended or idle
 * past the timeout (an expired one is freed here). */
bd_session_t *bd_sessions_acquire(bd_sessions_t *t, const char *id, time_t now);

/* Done with it: idle from `now` on.  A session ended meanwhile is freed. */
void bd_sessions_release(bd_sessions_t *t, bd_session_t *s, time_t now);

/* End it (sign-out, lost connection): the id stops working at once; the
 * connection is closed at the holder's release. */
void bd_sessions_end(bd_sessions_t *t, bd_session_t *s);

/* Free sessions idle past the timeout.  Returns how many. */
size_t bd_sessions_reap(bd_sessions_t *t, time_t now);

size_t bd_sessions_count(bd_sessions_t *t);

/* Accessors of a session in use. */
const char *bd_session_id(const bd_session_t *s);
const char *bd_session_csrf(const bd_session_t *s);
const char *bd_session_login(const bd_session_t *s);
PGconn *bd_session_conn(bd_session_t *s);
/* Which prepared statements exist on the connection (bd_db's). */
unsigned char *bd_session_prepared(bd_session_t *s);
/* What the database offers (bd_db's BD_CAP_* bits, found at sign-in). */
unsigned bd_session_caps(const bd_session_t *s);
void bd_session_set_caps(bd_session_t *s, unsigned caps);

/* A one-time message for the next page (after a form's redirect). */
void bd_session_flash(bd_session_t *s, int error, const char *msg);
/* Copy out and clear the message; returns 0 if there is none, else 1
 * (error) or 2 (notice). */
int bd_session_take_flash(bd_session_t *s, char *buf, size_t size);

/* Constant-time comparison of two NUL-terminated strings (tokens). */
int bd_session_token_eq(const char *a, const char *b);

/* Fill buf with 2 * nbytes hex characters of fresh randomness and a NUL.
 * 0, or -1 if the kernel's generator failed. */
int bd_session_random_hex(char *buf, size_t nbytes);

#endif
