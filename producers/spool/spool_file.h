/*
 * spool_file: one spool file, from its bytes to its end in done/ or
 * rejected/ (or back to the queue), and the same reading for --check.
 *
 *     open --sniff--> charset --(CSV: scan pass)--> records --> wait for acks
 *       |                          |                   |             |
 *       | cannot open              | header/structure  | fault,      | all
 * acked v                          v unusable          v signal      v
 *     rejected/NAME            rejected/NAME       stays in     done/NAME
 *     (+ errors list)          (+ errors list)     incoming/    (+ errors list)
 *
 * Records are produced as they are read (each tracked by the file's
 * ql_delivery_t), so memory stays bounded whatever the file's size; the file
 * moves only after every produced record was acknowledged, so a crash at any
 * moment leaves it in incoming/ to be read again (at least once).  A file
 * whose size or modification time changed between its opening and the last
 * acknowledgement was still being written: it stays in incoming/ too
 * (SPOOL_FILE_CHANGED), whatever its records' fate.
 */
#ifndef SPOOL_FILE_H
#define SPOOL_FILE_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>

#include "ql_codec.h"
#include "ql_log.h"
#include "ql_uscc.h"
#include "spool_dir.h"

/* What a file's reading needs; owned by the caller, read-only here. */
typedef struct {
        ql_log_t *lg;
        const ql_codec_t *codec;
        const char *lab;          /* every record's lab.code */
        ql_uscc_mode_t uscc_mode; /* credit code check characters */
        /* publishing (NULL for --check) */
        rd_kafka_t *rk;
        const char *topic;
        int kafka_timeout_ms;
        size_t max_message_bytes; /* larger records are rejected */
        spool_dir_t *dir;
        /* becomes 0 when the program is asked to stop */
        const volatile sig_atomic_t *run;
} spool_ctx_t;

typedef enum {
        SPOOL_FILE_DONE,     /* good records acknowledged; in done/ */
        SPOOL_FILE_REJECTED, /* unreadable; in rejected/ */
        SPOOL_FILE_RETRY,    /* a fault (Kafka, I/O); still in incoming/ */
        SPOOL_FILE_STOPPED,  /* asked to stop; still in incoming/ */
        SPOOL_FILE_GONE,     /* no longer there, or not a regular file */
        SPOOL_FILE_CHANGED,  /* modified while it was read (its writer had
                              * not finished); still in incoming/ */
} spool_outcome_t;

typedef struct {
        size_t records;   /* records read, good or not */
        size_t published; /* acknowledged records */
        size_t rejected;  /* records in the errors list */
        size_t warnings;  /* accepted records with warnings */
        double seconds;
        char final[1024]; /* name in done/ or rejected/ */
        char why[512];    /* RETRY, REJECTED: the reason */
} spool_result_t;

/* Read incoming/name and publish it; see the diagram. */
spool_outcome_t spool_file_process(const spool_ctx_t *ctx, const char *name,
                                   spool_result_t *res /* OUT */);

/* Validate (and encode) the file at path without publishing, printing every
 * problem to out as "line N: report R: field: message" (warnings as
 * "line N: report R: warning: field: message").  Returns 0 if the file is
 * clean, 3 if any record or the file itself has a problem, 1 if it cannot
 * be read (res->why). */
int spool_file_check(const spool_ctx_t *ctx, const char *path, FILE *out,
                     spool_result_t *res /* OUT */);

#endif
