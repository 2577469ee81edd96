/*
 * dlq: the dead-letter producer.  Every reject of a batch goes to
 * QL_DLQ_TOPIC with its original key and bytes and these headers:
 *
 *     error             why it was rejected (one line)
 *     kind              UNDECODABLE, INVALID, CONFLICTING_DUPLICATE or
 *                       UNSTORABLE
 *     source.topic      where it was read
 *     source.partition
 *     source.offset
 *     truncated         only when the record did not fit the producer's
 *                       message.max.bytes: the original payload length in
 *                       bytes; the payload (and, if it alone was too long,
 *                       the key: key.truncated) is cut to fit.  The whole
 *                       record is in ql.rejected_record.
 *
 * The store calls triage_dlq_hook() just before COMMIT and commits only if
 * Kafka acknowledged every dead letter that can be delivered: a crash can
 * repeat a dead letter, never lose one.  A dead letter Kafka refuses for
 * good (the topic deleted, access denied, a broker's size limit below the
 * producer's) is not worth a stalled partition: it is skipped with an
 * ERROR line, counted, and stays in ql.rejected_record.  Anything else --
 * a broker down, no acknowledgement in time -- fails the hook, the batch
 * rolls back and is retried with back-off.
 */
#ifndef TRIAGE_DLQ_H
#define TRIAGE_DLQ_H

#include <stddef.h>

#include "batch.h"
#include "ql_log.h"
#include "triage_config.h"

typedef struct triage_dlq_s triage_dlq_t;

/* An idempotent producer for cfg->dlq_topic; cfg is read at creation only,
 * lg is borrowed.  NULL with errstr on a bad Kafka configuration. */
triage_dlq_t *triage_dlq_new(const triage_config_t *cfg, ql_log_t *lg,
                             char *errstr, size_t errstr_size);
/* Flush for at most a few seconds, log what is left undelivered, free. */
void triage_dlq_destroy(triage_dlq_t *d); /* accepts NULL */

/* Produce b's rejects and wait until Kafka acknowledged all of them or
 * refused some for good (bounded by the Kafka timeout).  0, or -1 with
 * errstr.  Matches triage_store_hook_fn with arg = the dlq. */
int triage_dlq_hook(void *arg, const triage_batch_t *b, char *errstr,
                    size_t errstr_size);

/* What the last call of the hook did besides delivering. */
typedef struct {
        size_t skipped;   /* refused for good: not on the topic */
        size_t truncated; /* on the topic, cut to fit */
} triage_dlq_stats_t;
void triage_dlq_last(const triage_dlq_t *d, triage_dlq_stats_t *out /* OUT */);

#endif
