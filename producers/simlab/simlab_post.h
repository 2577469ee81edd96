/*
 * simlab_post: sends result documents to a ql-gateway (docs/labs.md,
 * POST /v1/results) instead of writing them, as a lab's LIMS pushing its
 * reports would.  Documents are gathered into batches of `batch` (sent as
 * a JSON array; a batch of 1 sends the bare document) and each batch goes
 * out as one request with libcurl, on one kept-alive connection:
 *
 *   202          accepted; nothing is printed
 *   503, or no answer at all (connection refused, reset, timed out)
 *                the same request again after a pause that doubles from
 *                SIMLAB_POST_BACKOFF_MS (at least the Retry-After the
 *                gateway asks for, at most SIMLAB_POST_BACKOFF_MAX_MS), up
 *                to `retries` times; resending is safe because the gateway
 *                is all-or-nothing and results are deduplicated by
 *                result_id downstream.  When the retries are spent the
 *                poster stops: a transport failure.
 *   anything else (400, 401, 403, 413, 415, ...)
 *                the batch is rejected: its status and the gateway's JSON
 *                error body are printed on `log`, its documents counted as
 *                rejected, and the next batch goes on.
 *
 * The caller must have called curl_global_init() before simlab_post_new().
 */
#ifndef SIMLAB_POST_H
#define SIMLAB_POST_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define SIMLAB_POST_DEFAULT_BATCH   100
#define SIMLAB_POST_MAX_BATCH       10000
#define SIMLAB_POST_DEFAULT_RETRIES 8
#define SIMLAB_POST_BACKOFF_MS      200
#define SIMLAB_POST_BACKOFF_MAX_MS  5000

typedef struct {
        const char *url;   /* e.g. http://127.0.0.1:8080/v1/results */
        const char *token; /* the lab's bearer token (copied) */
        long batch;        /* documents per request, 1..MAX_BATCH */
        int retries;       /* repeats of one request after 503 or no answer */
        FILE *log;         /* rejections go here (borrowed), e.g. stderr */
} simlab_post_opts_t;

typedef struct {
        long requests; /* distinct requests sent (a repeat is a retry) */
        long accepted; /* documents the gateway answered 202 for */
        long rejected; /* documents of requests answered otherwise */
        long retries;  /* repeats after 503 or no answer */
} simlab_post_stats_t;

typedef struct simlab_post_s simlab_post_t;

/* A poster for opts (url and token copied, log borrowed).  NULL with
 * errstr if libcurl cannot be set up or an option is out of range. */
simlab_post_t *simlab_post_new(const simlab_post_opts_t *opts, char *errstr,
                               size_t errstr_size);

/* Add one document (a new reference is taken); a full batch is sent.
 * 0 when the batch is accepted, rejected (and reported) or not yet full;
 * -1 with errstr on a transport failure after the retries, or out of
 * memory: stop there. */
int simlab_post_add(simlab_post_t *p, json_t *doc, char *errstr,
                    size_t errstr_size);

/* Send the last, partial batch.  Same returns as simlab_post_add. */
int simlab_post_finish(simlab_post_t *p, char *errstr, size_t errstr_size);

/* The counts so far (OUT: *stats). */
void simlab_post_stats(const simlab_post_t *p, simlab_post_stats_t *stats);

void simlab_post_destroy(simlab_post_t *p); /* accepts NULL */

#endif
