/*
 * simlab_gen_private.h: what simlab_gen.c (deciding results, the
 * generator) and simlab_doc.c (enterprises, values, documents) share,
 * private to them.
 */
#ifndef SIMLAB_GEN_PRIVATE_H
#define SIMLAB_GEN_PRIVATE_H

#include <stdint.h>

#include <jansson.h>

#include "simlab_catalogue.h"
#include "simlab_gen.h"
#include "simlab_rng.h"

#define SPAN_DAYS     730 /* results spread over two years */
#define RECENT        16  /* documents kept for --duplicates */
#define MANUFACTURERS 40  /* manufacturers per category */
#define REFUSED_SHARE 0.003
#define RETEST_SHARE  0.04
#define RETEST_VOIDS  0.4 /* share of retests that void the original */
#define RECHECK_FAIL  0.2
/* Who is sampled: producers at their plant, sellers in shops or, a few of
 * them, online (the mix simlab_nc_rate() averages over). */
#define PRODUCER_SHARE   0.45
#define ECOMMERCE_SELLER 15 /* percent of sellers */
/* The 湖里区 scenario: how its cleared results came about, and how many of
 * the open ones had been retested. */
#define HULI_VOIDED           0.015 /* of the cleared: voided by a retest */
#define HULI_RETEST_CONFIRMED 0.015 /* of the cleared by recheck */
#define HULI_OPEN_RETESTED    0.04
/* No nonconformity this close to the end: its recheck comes up to 109 days
 * later, the announcement of a failed one up to 140. */
#define HULI_CUTOFF 145

/* Streams derived from the seed: the main one decides the results in
 * order; the others are keyed by what they describe (enterprise number,
 * manufacturer number, report) so that it renders the same every time. */
enum {
        STREAM_MAIN,
        STREAM_ENTERPRISE,
        STREAM_MANUFACTURER,
        STREAM_REPORT,
        STREAM_ADDRESS, /* an enterprise's address and contact */
};

enum { KIND_SUPERVISION, KIND_RECHECK, KIND_RETEST };
enum { VERDICT_CONFORMING, VERDICT_NONCONFORMING, VERDICT_REFUSED };
enum { LEVEL_NATIONAL, LEVEL_PROVINCIAL, LEVEL_MUNICIPAL, LEVEL_DISTRICT };
enum { STAGE_PRODUCTION, STAGE_CIRCULATION, STAGE_ECOMMERCE };
enum { ROLE_PRODUCER, ROLE_SELLER };

static const char *const kind_symbols[] = {"SUPERVISION", "RECHECK", "RETEST"};
static const char *const verdict_symbols[] = {"CONFORMING", "NONCONFORMING",
                                              "REFUSED"};
static const char *const level_symbols[] = {"NATIONAL", "PROVINCIAL",
                                            "MUNICIPAL", "DISTRICT"};
static const char *const stage_symbols[] = {"PRODUCTION", "CIRCULATION",
                                            "ECOMMERCE"};
static const char *const role_symbols[] = {"PRODUCER", "SELLER"};

static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* An enterprise, recomputed from its number whenever it is drawn. */
typedef struct {
        char credit_code[19];
        char name[160];
        const simlab_district_t *district;
        int role;
        int stage;         /* where its samples are taken */
        unsigned category; /* what it makes, or mostly sells */
        int brand;         /* a producer's own brand */
        char address[192];
        char contact[96]; /* "" when the lab wrote none */
} enterprise_t;

typedef struct {
        char credit_code[19]; /* "" when the sample does not say */
        char name[160];
        const char *region_code; /* NULL when unknown */
        char address[192];       /* "" when the label gives none */
} manufacturer_t;

/* One result, decided; rendered by build_doc(). */
typedef struct {
        int32_t report_day;
        uint64_t order; /* tie-break among follow-ups due the same day */
        int kind, verdict;
        long enterprise;
        long manufacturer; /* -1: none */
        unsigned category, product, model;
        int brand; /* -1: none */
        int grade; /* -1: none */
        int level, lab;
        int32_t sampled_day;
        int unclassified; /* the lab does not grade items A/B */
        char batch[24], production_date[16];
        uint32_t fail_mask; /* bit i: items[i] fails */
        char plan_id[40];
        char refers_to[96];
        long act; /* follow-up: its original's number in o.acts, or -1 */
} result_spec_t;

struct simlab_gen_s {
        simlab_opts_t o;
        char *lab_code;      /* opts.lab, owned */
        simlab_lab_t custom; /* --lab not in the catalogue */
        int fixed_lab;       /* index for lab_at(), -1: several */
        simlab_rng_t rng;
        long slot;
        long nenterprises;
        unsigned *lab_seq; /* report numbers per lab */
        uint64_t order;

        result_spec_t *heap; /* pending follow-ups, a binary min-heap */
        size_t nheap, heap_cap;

        json_t *recent[RECENT];
        size_t nrecent, recent_pos;
        const json_t *last; /* the document produced last (borrowed) */

        int32_t today; /* the day of the last document produced */

        /* 湖里区 scenario quotas */
        long cutoff_slot;
        long nc_need, refused_need, supervisions;
        long nc_left, cleared_need, failed_need; /* outcomes to decide */
};

/* simlab_gen.c: small helpers. */
/* "YYYY-MM-DD" of a day since the epoch (buf of 11 bytes or more). */
void simlab_fmt_date(int32_t day, char *buf, size_t size);
/* The i-th lab of the catalogue; a random entry of a NULL-ended list; the
 * year of a day. */
const simlab_lab_t *simlab_lab_at(const simlab_gen_t *g, int i);
const char *simlab_pick(simlab_rng_t *r, const char *const *list);
int simlab_year_of(int32_t day);

/* simlab_doc.c */
/* The result document of spec s (its result_id written to result_id);
 * NULL if memory ran out. */
json_t *simlab_build_doc(simlab_gen_t *g, const result_spec_t *s,
                         char *result_id, size_t result_id_size);
/* Enterprise idx, drawn from its own stream: the same every time. */
void simlab_enterprise(const simlab_gen_t *g, long idx, enterprise_t *e);

#endif
