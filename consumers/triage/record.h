/*
 * record: one Kafka message's value turned into the columns of a
 * ql.inspection_result row, or into the reason it cannot be one.  Decoding
 * (single-object Avro, any known writer schema) is ql_codec's, the rules are
 * ql_result's; this module joins them and picks the columns.  Pure logic: no
 * I/O.
 */
#ifndef TRIAGE_RECORD_H
#define TRIAGE_RECORD_H

#include <jansson.h>
#include <stddef.h>

#include "batch.h"
#include "ql_codec.h"
#include "ql_result.h"
#include "ql_uscc.h"

/* A decoded record.  Zero-initialise; triage_record_clear() frees it. */
typedef struct {
        json_t *doc;      /* the decoded record */
        triage_row_t row; /* columns, borrowed from doc */
        char *warnings;   /* validation warnings joined, or NULL */
} triage_record_t;

void triage_record_clear(triage_record_t *r);

/* Decode and validate `payload` (may be NULL: a message without a value).
 * 0: rec holds the row.  -1: the record is bad; *kind says why
 * (UNDECODABLE or INVALID), errstr the reason, and rec->row.result_id is
 * set when the record decoded far enough to have one.  In either case
 * triage_record_clear() rec afterwards. */
int triage_record_decode(const ql_codec_t *codec, ql_uscc_mode_t uscc_mode,
                         const void *payload, size_t len,
                         triage_record_t *rec /* OUT */,
                         triage_reject_kind_t *kind /* OUT */, char *errstr,
                         size_t errstr_size);

/* Problems as one line: "field: message; field: message" ("" for the whole
 * document is written without a field), cut to fit. */
void triage_record_join(const ql_problems_t *p, char *buf, size_t size);

#endif
