/*
 * simlab_acts: the legal acts the simulated bureau's officers took on the
 * nonconforming results ql-simlab generated -- the result served on the
 * enterprise (送达), the re-test applied for (申请复检), the order to
 * rectify with its document number (责令整改, 湖市监责改〔2024〕37号), the
 * announcement after a failed recheck (公告) -- written as a psql script
 * an officer runs after the triage (ql.record_act, docs/officers.md).
 *
 * The generator decides every date when it decides a nonconforming result
 * (simlab_acts_add) and says which of its follow-ups it produced
 * (simlab_acts_settled, simlab_acts_failed); only then is it known which
 * results are still open at the end of the run, and the database records
 * acts on open cases only.  So everything is kept until simlab_acts_write:
 * memory grows with the number of nonconforming results.
 */
#ifndef SIMLAB_ACTS_H
#define SIMLAB_ACTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIMLAB_NO_DAY INT32_MIN /* an act that did not happen */

/* One nonconforming supervision result and the days of the acts on it
 * (days since 1970-01-01, China Standard Time). */
typedef struct {
        const char *result_id;  /* copied */
        const char *bureau;     /* document-number prefix, 湖市监 (static) */
        const char *retest_lab; /* the re-test lab's name (static), or NULL */
        int32_t reported;       /* the report day */
        int32_t served;         /* 送达 */
        int32_t objection;      /* 申请复检, or SIMLAB_NO_DAY */
        int32_t ordered;        /* 责令整改 */
        int32_t announced;      /* 公告 after a failed recheck, or NO_DAY */
} simlab_acts_original_t;

typedef struct simlab_acts_s simlab_acts_t;

simlab_acts_t *simlab_acts_new(void); /* NULL: out of memory */

/* Record o; returns its number for the calls below, or -1 when out of
 * memory. */
long simlab_acts_add(simlab_acts_t *a, const simlab_acts_original_t *o);

/* Original n was cleared by a recheck or voided by a re-test that was
 * produced: no act on it is written (its case may be closed). */
void simlab_acts_settled(simlab_acts_t *a, long n);

/* Original n's failing recheck was produced: its announcement may be
 * written. */
void simlab_acts_failed(simlab_acts_t *a, long n);

/* Write the psql script of the acts on the originals still open, dated up
 * to `today` (the last day of the run), in date order.  Orders are
 * numbered per bureau and year in the order of their dates, counting the
 * orders on settled originals too.  -1 with errstr on a write error or
 * when out of memory. */
int simlab_acts_write(simlab_acts_t *a, FILE *fp, int32_t today, char *errstr,
                      size_t errstr_size);

size_t simlab_acts_count(const simlab_acts_t *a); /* originals recorded */

void simlab_acts_destroy(simlab_acts_t *a); /* accepts NULL */

#endif
