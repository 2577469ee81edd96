/*
 * bd_throttle: slows down password guessing at the sign-in form.  Failed
 * sign-ins are counted per key -- the client's address, and separately the
 * login tried -- in a window; a key that failed `limit` times within
 * `window` seconds is refused until the window of its first failure has
 * passed, whatever password it brings.  A success forgets the login's
 * failures (not the address's: one address guessing many logins stays
 * slowed).  The table holds at most `capacity` keys; when full, the key
 * whose window started first is forgotten.  Thread-safe; time is passed in,
 * so the policy is unit-tested without waiting.
 */
#ifndef BD_THROTTLE_H
#define BD_THROTTLE_H

#include <stddef.h>
#include <time.h>

typedef struct bd_throttle_s bd_throttle_t;

bd_throttle_t *bd_throttle_new(size_t capacity, int limit, int window);
void bd_throttle_destroy(bd_throttle_t *t); /* accepts NULL */

/* Seconds until `key` may try again (0: it may now). */
int bd_throttle_wait(bd_throttle_t *t, const char *key, time_t now);

/* Count a failure of `key`. */
void bd_throttle_fail(bd_throttle_t *t, const char *key, time_t now);

/* Forget `key`'s failures. */
void bd_throttle_forget(bd_throttle_t *t, const char *key);

#endif
