/*
 * simlab_gen: the synthetic labs.  A generator yields result documents one
 * at a time, in the order a stream of lab reports would arrive: supervision
 * results spread evenly over two years from the start date (working days
 * only), and, as their dates come up, the follow-ups that refer to them:
 * retests (复检 on the reserve sample) the enterprise applied for within
 * 15 days of being served the result (PQL Art. 15), and rechecks (复查)
 * within 75 days of the order to rectify (Order 18 Art. 47).  The days of
 * the officers' acts are decided with the result (simlab_acts).  Only the
 * follow-ups not yet due and a few recent documents (for --duplicates) are
 * held in memory; enterprises and manufacturers are recomputed from their
 * number when drawn.
 *
 * Everything derives from the seed: the same options give the same
 * documents, byte for byte, with or without the acts recorded.
 *
 * Counting: `count` documents are produced in all (supervision results,
 * follow-ups and duplicates); `nonconforming` is the mean share of
 * SUPERVISION results that are NONCONFORMING (about 0.3% more are
 * REFUSED): the share of each sample is simlab_nc_rate() of its stage and
 * product category; follow-ups due after the last document are not
 * produced.  The items that fail are drawn by their fail_weight.
 */
#ifndef SIMLAB_GEN_H
#define SIMLAB_GEN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "simlab_acts.h"

typedef struct {
        uint64_t seed;
        long count;           /* documents in all */
        double nonconforming; /* mean share of supervision results */
        double recheck_share; /* share of nonconforming ones rechecked */
        double duplicates;    /* share of documents re-emitted unchanged */
        const char *lab;      /* every result from this lab; NULL: several */
        int32_t start_day;    /* days since 1970-01-01 */
        int huli;             /* the 湖里区 scenario (see simlab_gen_new) */
        simlab_acts_t *acts;  /* borrowed: gets every nonconforming result
                                 and its acts; NULL: none kept */
} simlab_opts_t;

/* What the 湖里区 scenario fixes: every enterprise in 350206, exactly
 * SIMLAB_HULI_NONCONFORMING nonconforming supervision results (all early
 * enough for their recheck to fall within the two years), of which exactly
 * SIMLAB_HULI_CLEARED are cleared by a conforming recheck or voided by a
 * conforming retest and SIMLAB_HULI_FAILED fail their recheck; a few are
 * retested; SIMLAB_HULI_REFUSED refusals. */
#define SIMLAB_HULI_COUNT         3000
#define SIMLAB_HULI_MIN_COUNT     1000
#define SIMLAB_HULI_NONCONFORMING 314
#define SIMLAB_HULI_CLEARED       266
#define SIMLAB_HULI_FAILED        7
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

/* The report day of the last document produced: the simulated today
 * (days since 1970-01-01; the day before the start before the first). */
int32_t simlab_gen_today(const simlab_gen_t *g);

void simlab_gen_destroy(simlab_gen_t *g); /* accepts NULL */

/* The share of nonconforming supervision results, when `mean` is asked for
 * overall, among samples taken at `stage` (0 PRODUCTION, 1 CIRCULATION,
 * 2 ECOMMERCE) of product category `category` (an index into
 * simlab_categories); a negative stage or category: averaged over them, as
 * samples are drawn. */
double simlab_nc_rate(double mean, int stage, int category);

#endif
