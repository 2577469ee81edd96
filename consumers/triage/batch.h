/*
 * batch: the records of one database transaction of ql-triage, and the
 * bookkeeping that makes the transaction exactly-once.  For each partition
 * the batch touches it remembers where the batch begins (the offset
 * ql.consumer_offset holds for it once the batches before this one are
 * committed, or "none stored") and where it ends (one past its last
 * record); the store moves each stored offset from the first to the second,
 * compare-and-set.
 *
 * A batch also carries gaps: offsets the broker no longer had, which its
 * transaction records (ql.expired_range) while moving the stored offset
 * past them.
 *
 * Good records are kept as ready-made lines of PostgreSQL COPY text for
 * ql.inspection_result; bad ones as copies of their Kafka key and payload
 * with the reason.  Once the store knows which result_ids exist already, the
 * batch marks every row new or duplicate (a second copy inside the batch is
 * a duplicate of the first).
 *
 * Pure logic: no I/O.  A batch is reused: triage_batch_reset() empties it
 * and keeps its buffers.
 */
#ifndef TRIAGE_BATCH_H
#define TRIAGE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Why a record did not become a row.  The names are stored in
 * ql.rejected_record.kind. */
typedef enum {
        TRIAGE_REJECT_UNDECODABLE = 0, /* framing, fingerprint, Avro datum */
        TRIAGE_REJECT_INVALID,         /* decoded, failed validation */
        TRIAGE_REJECT_CONFLICT,        /* result_id stored with other content */
        TRIAGE_REJECT_UNSTORABLE,      /* PostgreSQL refused the row */
} triage_reject_kind_t;

const char *triage_reject_kind_name(triage_reject_kind_t kind);

typedef enum {
        TRIAGE_ROW_PENDING = 0, /* not yet known */
        TRIAGE_ROW_NEW,         /* inserted by this batch */
        TRIAGE_ROW_DUPLICATE,   /* result_id stored before, or earlier here */
        TRIAGE_ROW_REJECTED,    /* turned into a reject (conflict, refused) */
} triage_row_status_t;

/* The columns of one good record, borrowed by triage_batch_add_row(). */
typedef struct {
        const char *result_id;
        const char *credit_code;
        const char *kind;
        const char *verdict;
        const char *refers_to; /* NULL: SQL NULL */
        const char *reported_at;
        const json_t *record; /* the whole record, written as JSON text */
} triage_row_t;

typedef struct {
        int32_t partition;
        int64_t start; /* stored next offset at batch start; -1: none stored */
        int64_t end;   /* one past the batch's last record */
        size_t count;  /* records of this partition in the batch */
} triage_batch_part_t;

typedef struct {
        int32_t partition;
        int64_t offset;
        unsigned char *key; /* NULL: the message had no key */
        size_t key_len;
        unsigned char *payload; /* NULL: the message had no value */
        size_t len;
        char *error;
        char *result_id; /* NULL when not known */
        triage_reject_kind_t kind;
        int from_row; /* index of the row it replaced, or -1 */
} triage_reject_t;

/* Offsets first..last of a partition that the broker no longer has
 * (retention deleted them before they were stored).  The batch's
 * transaction records them in ql.expired_range and moves the partition's
 * stored offset past them. */
typedef struct {
        int32_t partition;
        int64_t first, last;
} triage_gap_t;

typedef struct triage_batch_s triage_batch_t;

/* A batch for `topic` (copied). */
triage_batch_t *triage_batch_new(const char *topic);
void triage_batch_destroy(triage_batch_t *b); /* accepts NULL */

/* Empty it for the next transaction, keeping the allocated buffers. */
void triage_batch_reset(triage_batch_t *b);

/* Bulk mode (store.h): the batch's enterprises are only registered when it
 * is stored, their cases derived later from the queue.  Off after reset. */
void triage_batch_set_bulk(triage_batch_t *b, int on);
int triage_batch_bulk(const triage_batch_t *b);

/* Add a good record at partition/offset.  `start` is where the batch
 * starts on the partition: the offset the partition's stored offset will
 * hold when the batches before this one committed (-1: none stored); it is
 * read only when this is the partition's first record of the batch.  The Kafka
 * key and payload are copied too, in case the row turns into a reject later. 0,
 * or -1 if memory ran out (the batch is unchanged then). */
int triage_batch_add_row(triage_batch_t *b, int32_t partition, int64_t offset,
                         int64_t start, const void *key, size_t key_len,
                         const void *payload, size_t len,
                         const triage_row_t *row);

/* Add a bad record (key and payload are copied; either may be NULL). */
int triage_batch_add_reject(triage_batch_t *b, int32_t partition,
                            int64_t offset, int64_t start, const void *key,
                            size_t key_len, const void *payload, size_t len,
                            triage_reject_kind_t kind, const char *result_id,
                            const char *error);

/* Add a gap (see triage_gap_t) on partition, first <= last; `start` as
 * for triage_batch_add_row().  The partition's end moves to last + 1 at
 * least.  0, or -1 if memory ran out (the batch is unchanged then). */
int triage_batch_add_gap(triage_batch_t *b, int32_t partition, int64_t first,
                         int64_t last, int64_t start);
size_t triage_batch_gap_count(const triage_batch_t *b);
const triage_gap_t *triage_batch_gap(const triage_batch_t *b, size_t i);

/* Records in the batch (rows plus rejects that did not come from a row). */
size_t triage_batch_records(const triage_batch_t *b);
/* Records plus gaps: 0 when the batch has nothing to write. */
size_t triage_batch_pending(const triage_batch_t *b);
size_t triage_batch_rows(const triage_batch_t *b);
const char *triage_batch_topic(const triage_batch_t *b);

/* Partitions touched, in order of first appearance. */
size_t triage_batch_part_count(const triage_batch_t *b);
const triage_batch_part_t *triage_batch_part(const triage_batch_t *b, size_t i);

/* Row i: its result_id, credit code, status and Kafka position. */
const char *triage_batch_row_id(const triage_batch_t *b, size_t i);
const char *triage_batch_row_credit_code(const triage_batch_t *b, size_t i);
triage_row_status_t triage_batch_row_status(const triage_batch_t *b, size_t i);
void triage_batch_row_position(const triage_batch_t *b, size_t i,
                               int32_t *partition /* OUT */,
                               int64_t *offset /* OUT */);
void triage_batch_set_status(triage_batch_t *b, size_t i,
                             triage_row_status_t status);

/* Row i's COPY text line (with its trailing newline) for the columns
 * result_id, credit_code, kind, verdict, refers_to, reported_at, record,
 * kafka_topic, kafka_partition, kafka_offset.  Borrowed until the batch
 * changes. */
const char *triage_batch_row_line(const triage_batch_t *b, size_t i,
                                  size_t *len /* OUT */);

/* Mark every pending row: DUPLICATE if its result_id is one of `existing`
 * (n strings) or appeared in an earlier row of the batch, else NEW.
 * 0, or -1 if memory ran out (nothing marked then). */
int triage_batch_mark(triage_batch_t *b, const char *const *existing, size_t n);

/* Turn row i into a reject (a conflicting duplicate, a row PostgreSQL
 * refused), with its original key and payload.  0, or -1 if memory ran
 * out. */
int triage_batch_reject_row(triage_batch_t *b, size_t i,
                            triage_reject_kind_t kind, const char *error);

/* Undo triage_batch_mark() and triage_batch_reject_row(): every row pending
 * again, rejects made from rows dropped.  For a transaction that is retried
 * another way. */
void triage_batch_unmark(triage_batch_t *b);

size_t triage_batch_reject_count(const triage_batch_t *b);
const triage_reject_t *triage_batch_reject(const triage_batch_t *b, size_t i);

/* Counts by status, for the metrics and the log. */
size_t triage_batch_count(const triage_batch_t *b, triage_row_status_t s);

/*
 * Text helpers (exported for the tests).  Each appends to a growable
 * buffer and returns 0, or -1 if memory ran out.
 */
typedef struct {
        char *buf;
        size_t len, cap;
} triage_buf_t;

void triage_buf_free(triage_buf_t *t);
int triage_buf_append(triage_buf_t *t, const void *p, size_t n);
/* A COPY text field: \ tab newline CR escaped; NULL becomes \N. */
int triage_buf_copy_field(triage_buf_t *t, const char *s);
/* A COPY text field holding v as compact JSON: the text json_dumps(v,
 * JSON_COMPACT) gives (keys in insertion order, non-ASCII as is), with
 * COPY's escaping applied in the same pass.  Strings must be valid UTF-8,
 * as jansson's checking constructors (the codec's) make them. */
int triage_buf_copy_json(triage_buf_t *t, const json_t *v);
/* A PostgreSQL array literal {"a","b"} of n strings, " and \ escaped. */
int triage_buf_array_literal(triage_buf_t *t, const char *const *v, size_t n);

/* The distinct credit codes of the NEW rows as an array literal, for
 * ql.retriage(text[]); *n says how many.  0, or -1 if memory ran out. */
int triage_batch_new_codes(triage_batch_t *b, triage_buf_t *t,
                           size_t *n /* OUT */);

/* The result_ids of all rows as an array literal (NUL-terminated). */
int triage_batch_id_array(const triage_batch_t *b, triage_buf_t *t);

#endif
