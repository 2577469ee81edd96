/*
 * writer: the thread that writes batches to PostgreSQL, so that decoding the
 * next batch (on the consumer's thread) overlaps with storing this one.  At
 * most one batch is in flight; the consumer hands it over with
 * triage_writer_submit() and takes it back, with the outcome, from
 * triage_writer_collect().  While a batch is in flight the store and the
 * dead-letter producer belong to the writer thread: the consumer collects
 * before it touches either.
 *
 *     idle --submit--> writing --(store done)--> done --collect--> idle
 */
#ifndef TRIAGE_WRITER_H
#define TRIAGE_WRITER_H

#include <stddef.h>

#include "batch.h"
#include "dlq.h"
#include "store.h"

typedef struct triage_writer_s triage_writer_t;

typedef struct {
        triage_batch_t *batch; /* yours again */
        triage_store_rc_t rc;
        char error[1024];
        double seconds;
        int connected;              /* the store's connection after the write */
        triage_store_stats_t stats; /* when rc is OK */
        triage_dlq_stats_t dead;    /* when rc is OK: the hook's last call */
} triage_writer_result_t;

/* Start the thread.  store and dlq are borrowed and must outlive it. */
triage_writer_t *triage_writer_new(triage_store_t *store, triage_dlq_t *dlq,
                                   char *errstr, size_t errstr_size);
/* Wait for a batch in flight (its outcome is dropped), stop, free. */
void triage_writer_destroy(triage_writer_t *w); /* accepts NULL */

/* Hand b over; the writer must be idle.  The writer owns b until it is
 * collected. */
void triage_writer_submit(triage_writer_t *w, triage_batch_t *b);
int triage_writer_busy(triage_writer_t *w);
/* Wait up to timeout_ms (-1: as long as it takes) for the batch in
 * flight.  1 with *out filled when one was collected, 0 if none is in
 * flight or it is not done yet. */
int triage_writer_collect(triage_writer_t *w, int timeout_ms,
                          triage_writer_result_t *out /* OUT */);

#endif
