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
 *
 * The store calls triage_dlq_hook() just before COMMIT and commits only if
 * Kafka acknowledged every dead letter: a crash can repeat a dead letter,
 * never lose one.
 */
#ifndef TRIAGE_DLQ_H
#define TRIAGE_DLQ_H

#include <stddef.h>

#include "batch.h"
#include "ql_config.h"
#include "ql_log.h"

typedef struct triage_dlq_s triage_dlq_t;

/* An idempotent producer for cfg->dlq_topic; cfg is read at creation only,
 * lg is borrowed.  NULL with errstr on a bad Kafka configuration. */
triage_dlq_t *triage_dlq_new(const ql_config_t *cfg, ql_log_t *lg, char *errstr,
                             size_t errstr_size);
/* Flush for at most a few seconds, log what is left undelivered, free. */
void triage_dlq_destroy(triage_dlq_t *d); /* accepts NULL */

/* Produce b's rejects and wait until Kafka acknowledged all of them
 * (bounded by the Kafka timeout).  0, or -1 with errstr.  Matches
 * triage_store_hook_fn with arg = the dlq. */
int triage_dlq_hook(void *arg, const triage_batch_t *b, char *errstr,
                    size_t errstr_size);

/* Serve delivery reports without waiting. */
void triage_dlq_poll(triage_dlq_t *d);

#endif
