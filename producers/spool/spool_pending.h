/*
 * spool_pending: the files of incoming/ waiting to be read, each with the time
 * it is due.  A new file is due at once; a file whose records Kafka did not
 * all acknowledge is retried after a back-off that doubles with every failed
 * attempt, from SPOOL_RETRY_FIRST_MS up to SPOOL_RETRY_MAX_MS.  It also
 * remembers the names it was told to ignore, so each is logged once.
 * Times are monotonic milliseconds.
 */
#ifndef SPOOL_PENDING_H
#define SPOOL_PENDING_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_RETRY_FIRST_MS 1000
#define SPOOL_RETRY_MAX_MS   60000

typedef struct spool_pending_s spool_pending_t;

spool_pending_t *spool_pending_new(void);
void spool_pending_destroy(spool_pending_t *q); /* accepts NULL */

/* Queue name, due now; a name already queued keeps its due time.  -1 if
 * memory ran out. */
int spool_pending_add(spool_pending_t *q, const char *name, int64_t now);

/* Forget name (read, or gone), as queued and as ignored. */
void spool_pending_remove(spool_pending_t *q, const char *name);

/* The queued name due earliest if it is due at `now` (borrowed until the
 * queue changes), else NULL with *wait_ms (OUT) the time until the next one
 * is due, or -1 if the queue is empty. */
const char *spool_pending_next(const spool_pending_t *q, int64_t now,
                               int64_t *wait_ms);

/* name failed: due again after its back-off, which is returned (ms). */
int64_t spool_pending_retry(spool_pending_t *q, const char *name, int64_t now);

size_t spool_pending_len(const spool_pending_t *q);

/* 1 if name is queued. */
int spool_pending_has(const spool_pending_t *q, const char *name);

/* 1 the first time name is ignored, 0 after (or if memory ran out). */
int spool_pending_ignore(spool_pending_t *q, const char *name);

#endif
