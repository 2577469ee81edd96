/*
 * redrive: re-submit dead letters once their cause is fixed (typically a
 * schema version that was not yet deployed when the records arrived).
 * Every ql.rejected_record row with a payload and redriven_at unset --
 * except conflicting duplicates, which need a person to decide -- is
 * produced again to QL_TOPIC with its original key and bytes, and marked
 * redriven_at once Kafka acknowledged it.  Rows go in chunks, each chunk
 * locked (FOR UPDATE SKIP LOCKED) until it is marked, so two re-drives at
 * once do not send a row twice.  A re-driven record that is still bad is
 * simply rejected again, as a new row.
 */
#ifndef TRIAGE_REDRIVE_H
#define TRIAGE_REDRIVE_H

#include <stddef.h>

#include "pgconn.h"
#include "ql_log.h"
#include "triage_config.h"

/* Re-drive everything pending.  Returns the number of records re-driven,
 * or -1 with errstr (rows not acknowledged by Kafka stay pending). */
long triage_redrive(const triage_config_t *cfg, const triage_pgconn_t *pg,
                    ql_log_t *lg, char *errstr, size_t errstr_size);

#endif
