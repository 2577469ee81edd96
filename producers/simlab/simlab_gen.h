/*
 * simlab_gen: the synthetic labs.  A generator yields result documents one
 * at a time, in the order a stream of lab reports would arrive: supervision
 * results spread evenly over two years from the start date (working days
 * only), and, as their dates come up, the rechecks (复查, 60-75 days after a
 * nonconforming result) and retests (复检 on the reserve sample, within 15
 * days) that refer to them.  Only the follow-ups not yet due and a few
 * recent documents (for --duplicates) are held in memory; enterprises and
 * manufacturers are recomputed from their number when drawn.
 *
 * Everything derives from the seed: the same options give the same
 * documents, byte for byte.
 *
 * Counting: `count` documents are produced in all (supervision results,
 * follow-ups and duplicates); `nonconforming` is the share of SUPERVISION
 * results that are NONCONFORMING (about 0.3% more are REFUSED); follow-ups
 * due after the last document are not produced.
 */
#ifndef SIMLAB_GEN_H
#define SIMLAB_GEN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
        uint64_t seed;
        long count;           /* documents in all */
        double nonconforming; /* share of supervision results */
        double recheck_share; /* share of nonconforming ones rechecked */
        double duplicates;    /* share of documents re-emitted unchanged */
        const char *lab;      /* every result from this lab; NULL: several */
        int32_t start_day;    /* days since 1970-01-01 */
        int huli;             /* the 湖里区 scenario (see simlab_gen_new) */
} simlab_opts_t;

/* What the 湖里区 scenario fixes: every enterprise in 350206, exactly
 * SIMLAB_HULI_NONCONFORMING nonconforming supervision results (all early
 * enough for their recheck to fall within the two years), most of them
 * rechecked, a few retested, SIMLAB_HULI_REFUSED refusals. */
#define SIMLAB_HULI_COUNT         3000
#define SIMLAB_HULI_MIN_COUNT     1000
#define SIMLAB_HULI_NONCONFORMING 314
#define SIMLAB_HULI_REFUSED       5
#define SIMLAB_HULI_REGION        "350206"

typedef struct simlab_gen_s simlab_gen_t;

/* A generator for opts (copied; opts->lab is copied too).  NULL with a
 * reason in errstr if the options cannot be honoured. */
simlab_gen_t *simlab_gen_new(const simlab_opts_t *opts, char *errstr,
                             size_t errstr_size);

/* The next document: 1 and *doc (OUT: a new reference, yours); 0 when
 * `count` documents have been produced; -1 with errstr when out of memory. */
int simlab_gen_next(simlab_gen_t *g, json_t **doc, char *errstr,
                    size_t errstr_size);

void simlab_gen_destroy(simlab_gen_t *g); /* accepts NULL */

#endif
