/*
 * spool_file_private.h: what the files reading one spool file share,
 * private to them: the items threads hand over, the hand-off queues, the
 * reader's, builders' and parsers' state, and the functions one stage
 * calls in another (spool_file.c's head draws the threads).
 */
#ifndef SPOOL_FILE_PRIVATE_H
#define SPOOL_FILE_PRIVATE_H

#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "ql_kafka.h"
#include "ql_result.h"
#include "spool_charset.h"
#include "spool_csvread.h"
#include "spool_file.h"
#include "spool_jsonlread.h"

#define CHUNK           (256u << 10)
#define POLL_EVERY      100 /* records between delivery-report polls */
#define WARNINGS_LOGGED 10  /* per file; the rest are counted */
#define STOP_GRACE_MS   5000
#define ACK_SLACK_MS    2000
#define QUEUE_LEN       32          /* records read ahead of the publisher */
#define QUEUE_BATCH     8           /* records the publisher takes at a time */
#define ROWS_SLICE      (32u << 10) /* CSV bytes parsed into one batch */
#define SPLIT_MIN       (4 << 20)   /* bytes: CSV files scanned in halves */
#define LINES_SLICE     (64u << 10) /* JSON Lines bytes split into a batch */
#define PARSERS         2           /* JSON Lines parsing threads */
#define IDLE_POLL_MS    100 /* publisher waiting for records: Kafka polls */

/* What one thread hands the next, everything owned: a record, or a
 * builder's or parser's reader (once, first), then batches of parsed CSV
 * rows or of JSON Lines lines; or the mark that ends the records of one
 * batch of lines. */
typedef struct {
        size_t line;
        char *report_no;                /* NULL if none */
        json_t *doc;                    /* the valid document, or NULL */
        ql_problems_t errors, warnings; /* errors: why doc is NULL */
        spool_csvread_t *builder;
        spool_csvread_rows_t *rows;
        spool_jsonlread_t *parser;      /* JSON Lines: a parser's reader */
        spool_jsonlread_lines_t *lines; /* JSON Lines: a batch of lines */
        int mark;                       /* the end of a batch's records */
} rec_t;

/* The records between the two threads, in file order: a ring of
 * QUEUE_LEN under one lock.  A waiting publisher is woken once QUEUE_BATCH
 * records are there (or the reader is done), and takes them all at once,
 * so the threads meet once per batch, not once per record.  `done` says
 * the reader wrote its last one; `cancel` that the publisher wants no
 * more. */
typedef struct {
        pthread_mutex_t lock;
        pthread_cond_t put, take; /* room freed / records or done came */
        rec_t ring[QUEUE_LEN];
        size_t head, n;
        /* Items the taker is through with go back to the putter to be
         * freed there: memory is then allocated and freed by one thread,
         * which keeps malloc's per-thread caches working (and jansson's
         * reference counts touched by one thread but for atomic steps).
         * Every put empties `back`, and between two puts the taker can
         * give back what it held at the first (QUEUE_LEN at most) and what
         * was in the ring then (QUEUE_LEN), so 2 * QUEUE_LEN always fit. */
        rec_t back[2 * QUEUE_LEN];
        size_t nback;
        rec_t scratch[2 * QUEUE_LEN]; /* the putter's: freed unlocked */
        size_t marks;                 /* batch marks in the ring */
        int put_waits, take_waits;
        int done, cancel;
} handoff_t;

typedef enum { READ_OK, READ_UNREADABLE, READ_FAULT, READ_STOPPED } read_rc_t;

/* A thread that hands items over: where to, and how it ended.  Written by
 * that thread alone until it is joined. */
typedef struct {
        const spool_ctx_t *ctx;
        handoff_t *q;
        handoff_t *ctl; /* cancelled when the thread is to stop */
        int fault, stop;
        char why[512]; /* fault: the reason */
} sender_t;

/* The reading side: it runs on its own thread, owns the file descriptor
 * and the format's reader, and hands over records (JSON Lines) or the
 * report builder and batches of rows (CSV). */
typedef struct {
        sender_t s;
        int fd;
        spool_name_t kind;
        read_rc_t rc;
        ql_problems_t file_problems; /* READ_UNREADABLE: the file's own */
        size_t file_line;
        ql_problems_t file_warnings; /* CSV: the header's (unknown columns) */
        size_t warn_line;
        int tracking_full;
        spool_csvread_rows_t *rows; /* CSV: the batch being filled */
        /* JSON Lines: batches of lines to the parsers, in turn */
        handoff_t *pq[PARSERS];
        size_t next;
        spool_jsonlread_lines_t *lines; /* the batch being filled */
} reader_t;

/* JSON Lines: a parsing side, PARSERS of them on threads of their own:
 * each parses and validates every PARSERS-th batch of lines and hands the
 * records over, each batch's followed by a mark. */
typedef struct {
        sender_t s;            /* records to the publisher */
        handoff_t *in;         /* batches of lines from the reader */
        spool_jsonlread_t *jr; /* handed over first */
} parser_t;

/* CSV: the building side, on a thread of its own between the reader and
 * the publisher: it builds and validates the reports from the rows and
 * hands the records over. */
typedef struct {
        sender_t s;
        handoff_t *in;        /* from the reader */
        const reader_t *rd;   /* its rc, read once `in` is done */
        spool_csvread_t *csv; /* the builder */
        int unreadable;       /* what the builder found, then: */
        ql_problems_t file_problems;
        size_t file_line;
} builder_t;

typedef struct {
        const spool_ctx_t *ctx;
        const char *name;
        spool_result_t *res;
        FILE *check_out;     /* --check: problems printed here */
        spool_rejects_t *rj; /* publishing: the errors list */
        ql_delivery_t *d;
        size_t since_poll;
        int fault; /* res->why says what */
        int stop;
        size_t problems; /* --check: records and file problems */
} job_t;

/* spool_file.c */
/* Append a copy of every problem of src to dst. */
void spool_problems_copy(ql_problems_t *dst, const ql_problems_t *src);
/* Free what r owns and zero it. */
void spool_rec_clear(rec_t *r);

/* spool_handoff.c */
/* Taker: stop the putter (its next put fails) and wake it. */
void spool_handoff_cancel(handoff_t *q);
/* Free q and what it still holds (accepts NULL). */
void spool_handoff_destroy(handoff_t *q);
/* Putter: nothing more comes; the taker gets 0 once it took all. */
void spool_handoff_finish(handoff_t *q);
/* Publisher: hand the n records of batch, done with, back to the reader
 * to be freed (those that do not fit are freed here). */
void spool_handoff_give_back(handoff_t *q, rec_t *batch, size_t n);
/* An empty queue, or NULL if memory ran out. */
handoff_t *spool_handoff_new(void);
/* Reader: append *r (moved; *r is emptied).  Waits for room.  -1 if the
 * publisher cancelled (then *r is cleared). */
int spool_handoff_put(handoff_t *q, rec_t *r);
/* Taker: move the items there are into out (QUEUE_LEN of them at most, up
 * to and with the first mark; yours to clear) and return their number; 0
 * once the putter is done and everything was taken, or -1 after waiting
 * wait_ms for a batch that did not come. */
int spool_handoff_take(handoff_t *q, rec_t *out, int wait_ms);
/* Whether the thread of s is to stop.  Only the calling thread reads the
 * signal flag (ctx->run); it cancels every queue when asked to stop, and
 * the other threads learn it here. */
int spool_stop_asked(const sender_t *s);

/* spool_publish.c */
/* Read the open file fd of kind on the reader thread (and its helpers)
 * while this thread encodes and publishes the records (or prints them,
 * for --check), in file order. */
read_rc_t spool_read_and_publish(job_t *j, int fd, spool_name_t kind);

/* spool_workers.c */
/* Thread bodies: arg is the builder_t, parser_t or reader_t. */
void *spool_builder_main(void *arg);
void *spool_parser_main(void *arg);

/* spool_reader.c */
void *spool_reader_main(void *arg);

#endif
