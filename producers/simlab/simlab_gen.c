/*
 * simlab_gen: builds the synthetic result documents.  A result is first
 * decided as a small plain struct (result_spec_t: who, what, when, verdict,
 * which items fail), then rendered to JSON by build_doc(); follow-ups are
 * specs waiting in a heap ordered by their report day.  Each output slot
 * takes, in this order, a follow-up that is due, a duplicate of a recent
 * document, or a new supervision result:
 *
 *   slot k (day = start + k * 730 / count, moved off weekends)
 *     |-- heap top due by day --> heap_pop(), build_doc()  (RECHECK, RETEST)
 *     |-- chance(duplicates) ---> a recent document again  (unchanged)
 *     '-- otherwise ------------> supervision(), build_doc(), and schedule()
 *                                 its follow-ups if it is NONCONFORMING
 *
 * What schedule() decides for a nonconforming result reported on day R
 * (every day a working day):
 *
 *   R + 2..4     served on the enterprise (送达)
 *   served + 1..6  it may apply for a retest (申请复检), the retest report
 *                follows 3..5 days later, still within served + 15
 *   served (or the retest) + 3..11   the order to rectify (责令整改)
 *   order + 60..66  the recheck sample, its report 3..5 days later, by
 *                order + 75 (Order 18 Arts. 46, 47)
 *   a failed recheck + 10..29   the announcement (公告, Art. 47)
 *
 * This file decides the results (who is sampled, what fails, the
 * follow-ups and their dates) and runs the generator; simlab_doc.c makes
 * the enterprises, manufacturers and measured values and renders a
 * decided result as its document.
 */
#include "simlab_gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_time.h"
#include "ql_uscc.h"
#include "simlab_catalogue.h"
#include "simlab_gen_private.h"
#include "simlab_rng.h"

/* ---- small helpers ------------------------------------------------------ */

const simlab_lab_t *simlab_lab_at(const simlab_gen_t *g, int i)
{
        return i == (int)simlab_nlabs ? &g->custom : &simlab_labs[i];
}

const char *simlab_pick(simlab_rng_t *r, const char *const *list)
{
        return list[simlab_rng_below(r, (uint32_t)simlab_count(list))];
}

/* Move a day off Saturday and Sunday (1970-01-01 was a Thursday). */
static int32_t working_day(int32_t day)
{
        int dow = (int)(((int64_t)day + 4) % 7); /* 0 Sunday .. 6 Saturday */
        return day + (dow == 6 ? 2 : dow == 0 ? 1 : 0);
}

void simlab_fmt_date(int32_t day, char *buf, size_t size)
{
        ql_time_format_date(day, buf, size);
}

int simlab_year_of(int32_t day)
{
        int y;
        unsigned m, d;
        ql_time_civil_from_days(day, &y, &m, &d);
        return y;
}

/* ---- follow-ups: a min-heap on (report_day, order) ---------------------- */

static int before(const result_spec_t *a, const result_spec_t *b)
{
        return a->report_day != b->report_day ? a->report_day < b->report_day
                                              : a->order < b->order;
}

static int heap_push(simlab_gen_t *g, const result_spec_t *s)
{
        if (g->nheap == g->heap_cap) {
                size_t cap = g->heap_cap ? g->heap_cap * 2 : 64;
                result_spec_t *h = realloc(g->heap, cap * sizeof(*h));
                if (!h)
                        return -1;
                g->heap = h, g->heap_cap = cap;
        }
        size_t i = g->nheap++;
        g->heap[i] = *s;
        g->heap[i].order = g->order++;
        while (i > 0 && before(&g->heap[i], &g->heap[(i - 1) / 2])) {
                result_spec_t t = g->heap[i];
                g->heap[i] = g->heap[(i - 1) / 2];
                g->heap[(i - 1) / 2] = t;
                i = (i - 1) / 2;
        }
        return 0;
}

static void heap_pop(simlab_gen_t *g, result_spec_t *out)
{
        *out = g->heap[0];
        g->heap[0] = g->heap[--g->nheap];
        size_t i = 0;
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;
                if (l < g->nheap && before(&g->heap[l], &g->heap[m]))
                        m = l;
                if (r < g->nheap && before(&g->heap[r], &g->heap[m]))
                        m = r;
                if (m == i)
                        break;
                result_spec_t t = g->heap[i];
                g->heap[i] = g->heap[m];
                g->heap[m] = t;
                i = m;
        }
}

/* ---- deciding results --------------------------------------------------- */

static int32_t slot_day(const simlab_gen_t *g, long k)
{
        return working_day(g->o.start_day +
                           (int32_t)((int64_t)k * SPAN_DAYS / g->o.count));
}

static void sample_dates(simlab_rng_t *r, result_spec_t *s)
{
        int32_t made = s->sampled_day - (int32_t)simlab_rng_range(r, 20, 240);
        char date[16];
        simlab_fmt_date(made, date, sizeof(date));
        s->production_date[0] = '\0';
        if (simlab_rng_chance(r, 0.85))
                snprintf(s->production_date, sizeof(s->production_date), "%s",
                         date);
        unsigned form = simlab_rng_below(r, 10);
        if (form < 5) /* the production date, as digits */
                snprintf(s->batch, sizeof(s->batch), "%.4s%.2s%.2s", date,
                         date + 5, date + 8);
        else if (form < 8)
                snprintf(s->batch, sizeof(s->batch), "%c%.2s%.2s-%02u",
                         "ABCDHKLM"[simlab_rng_below(r, 8)], date + 2, date + 5,
                         (unsigned)simlab_rng_range(r, 1, 30));
        else
                s->batch[0] = '\0';
}

/* 1 or, rarely, 2 or 3 failing items, each drawn by its fail_weight. */
static uint32_t fail_mask(simlab_rng_t *r, const simlab_category_t *c)
{
        unsigned weights[32];
        _Static_assert(sizeof(uint32_t) * 8 == 32, "a mask bit per item");
        for (size_t i = 0; i < c->nitems && i < 32; i++)
                weights[i] = c->items[i].fail_weight;
        unsigned n = simlab_rng_chance(r, 0.7)   ? 1
                     : simlab_rng_chance(r, 0.8) ? 2
                                                 : 3;
        uint32_t mask = 0;
        while (n--)
                mask |= 1u << simlab_rng_weighted(
                            r, weights,
                            (unsigned)(c->nitems < 32 ? c->nitems : 32));
        return mask;
}

/* The first failing item alone, or the whole mask: what a failed recheck or
 * a confirming retest finds again. */
static uint32_t fails_again(simlab_rng_t *r, uint32_t mask)
{
        if (simlab_rng_chance(r, 0.5))
                return mask;
        return mask & -mask;
}

/* In the 湖里区 scenario: draw exactly `*need` events over the supervision
 * slots before the cutoff, spreading them evenly, a slot's chance scaled by
 * `weight` (1 on average); past the cutoff every remaining one is forced. */
static int quota(simlab_gen_t *g, long *need, double weight)
{
        if (*need <= 0)
                return 0;
        long left = g->cutoff_slot - g->slot;
        if (left <= 0)
                return --*need, 1;
        /* Expected supervision slots left: slots left times the share of
         * slots that were supervision results so far. */
        double share =
            g->slot > 0 ? (double)g->supervisions / (double)g->slot : 1.0;
        double p = (double)*need / ((double)left * share + 1e-9);
        if (simlab_rng_chance(&g->rng, p * weight))
                return --*need, 1;
        return 0;
}

/* Exactly `*need` of the next `left` draws hit: each one with the chance
 * need / left. */
static int draw_exact(simlab_rng_t *r, long *need, long left)
{
        if (*need <= 0)
                return 0;
        if (left <= *need || simlab_rng_chance(r, (double)*need / (double)left))
                return --*need, 1;
        return 0;
}

/* ---- nonconforming rates ------------------------------------------------ */

/* The share of samples taken at each stage (see enterprise()). */
static double stage_share(int stage)
{
        double seller = 1 - PRODUCER_SHARE;
        return stage == STAGE_PRODUCTION ? PRODUCER_SHARE
               : stage == STAGE_CIRCULATION
                   ? seller * (100 - ECOMMERCE_SELLER) / 100.0
                   : seller * ECOMMERCE_SELLER / 100.0;
}

/* The relative rate of a stage and of a category, each 1 on average over
 * the samples (categories are drawn uniformly); a negative index: 1. */
static double stage_factor(int stage)
{
        double mean = 0;
        for (int i = 0; i < SIMLAB_NSTAGES; i++)
                mean += stage_share(i) * simlab_stage_nc_rate[i];
        return stage < 0 ? 1 : simlab_stage_nc_rate[stage] / mean;
}

static double category_factor(int category)
{
        double mean = 0;
        for (size_t i = 0; i < simlab_ncategories; i++)
                mean += simlab_categories[i].nc_rate;
        mean /= (double)simlab_ncategories;
        return category < 0 ? 1 : simlab_categories[category].nc_rate / mean;
}

/* The rate of stage and category relative to the mean (1 on average); the
 * rates multiply, as a shop's share of bad goods rises with the goods'. */
static double nc_factor(int stage, int category)
{
        return stage_factor(stage) * category_factor(category);
}

double simlab_nc_rate(double mean, int stage, int category)
{
        /* Where mean * factor would pass 1, the contrast between the rates
         * is narrowed (towards 1, the average) just enough: the mean stays
         * what was asked, up to a mean of 1 with every rate 1. */
        double top = 0;
        for (int i = 0; i < SIMLAB_NSTAGES; i++)
                for (size_t j = 0; j < simlab_ncategories; j++)
                        if (nc_factor(i, (int)j) > top)
                                top = nc_factor(i, (int)j);
        double contrast = 1;
        if (mean > 0 && mean * top > 1)
                contrast = (1 / mean - 1) / (top - 1);
        return mean * (1 + contrast * (nc_factor(stage, category) - 1));
}

/* A general lab (one that tests any category) other than `not`. */
static int general_lab(simlab_gen_t *g, int not )
{
        int labs[8], n = 0;
        for (size_t i = 0; i < simlab_nlabs && n < 8; i++)
                if (simlab_labs[i].general && (int)i != not )
                        labs[n++] = (int)i;
        return labs[simlab_rng_below(&g->rng, (uint32_t)n)];
}

static int choose_lab(simlab_gen_t *g, unsigned category)
{
        if (g->fixed_lab >= 0)
                return g->fixed_lab;
        if (simlab_rng_chance(&g->rng, 0.7))
                return simlab_categories[category].lab;
        return general_lab(g, -1);
}

static void supervision(simlab_gen_t *g, int32_t day, result_spec_t *s)
{
        simlab_rng_t *r = &g->rng;
        memset(s, 0, sizeof(*s));
        s->act = -1;
        s->kind = KIND_SUPERVISION;
        s->report_day = day;
        s->enterprise = (long)simlab_rng_below(r, (uint32_t)g->nenterprises);
        enterprise_t e;
        simlab_enterprise(g, s->enterprise, &e);
        s->category = e.role == ROLE_PRODUCER || simlab_rng_chance(r, 0.7)
                          ? e.category
                          : simlab_rng_below(r, (uint32_t)simlab_ncategories);
        const simlab_category_t *c = &simlab_categories[s->category];
        s->product = simlab_rng_below(r, (uint32_t)c->nproducts);
        s->model = simlab_rng_below(
            r, (uint32_t)simlab_count(c->products[s->product].models));
        s->grade =
            c->grades
                ? (int)simlab_rng_below(r, (uint32_t)simlab_count(c->grades))
                : -1;
        if (e.role == ROLE_PRODUCER) {
                s->brand = e.brand;
                s->manufacturer = -1;
        } else {
                s->brand = simlab_rng_chance(r, 0.85)
                               ? (int)simlab_rng_below(
                                     r, (uint32_t)simlab_count(simlab_brands))
                               : -1;
                s->manufacturer = (long)simlab_rng_below(r, MANUFACTURERS);
        }
        static const unsigned level_weights[] = {10, 25, 40, 25};
        static const unsigned huli_level_weights[] = {5, 15, 35, 45};
        s->level = (int)simlab_rng_weighted(
            r, g->o.huli ? huli_level_weights : level_weights, 4);
        s->unclassified =
            s->level == LEVEL_DISTRICT && simlab_rng_chance(r, 0.05);
        s->lab = choose_lab(g, s->category);
        s->sampled_day = day - (int32_t)simlab_rng_range(r, 10, 35);
        sample_dates(r, s);

        static const char *const level_prefix[] = {"SAMR", "FJ", "XM"};
        int y;
        unsigned m, d;
        ql_time_civil_from_days(s->sampled_day, &y, &m, &d);
        snprintf(s->plan_id, sizeof(s->plan_id), "%s-CC%dQ%u-%02u",
                 s->level == LEVEL_DISTRICT ? e.district->abbr
                                            : level_prefix[s->level],
                 y, (m - 1) / 3 + 1, s->category + 1);

        g->supervisions++;
        if (g->o.huli) {
                if (quota(g, &g->refused_need, 1))
                        s->verdict = VERDICT_REFUSED;
                else if (quota(g, &g->nc_need,
                               nc_factor(e.stage, (int)s->category)))
                        s->verdict = VERDICT_NONCONFORMING;
                else
                        s->verdict = VERDICT_CONFORMING;
        } else if (simlab_rng_chance(r, REFUSED_SHARE)) {
                s->verdict = VERDICT_REFUSED;
        } else {
                double p = simlab_nc_rate(g->o.nonconforming, e.stage,
                                          (int)s->category);
                s->verdict = simlab_rng_chance(r, p) ? VERDICT_NONCONFORMING
                                                     : VERDICT_CONFORMING;
        }
        if (s->verdict == VERDICT_NONCONFORMING)
                s->fail_mask = fail_mask(r, c);
}

/* What becomes of a nonconforming result. */
typedef struct {
        int retest, voided;         /* retested (复检); the retest voids it */
        int recheck, recheck_fails; /* rechecked (复查); it fails */
} outcome_t;

static void decide_outcome(simlab_gen_t *g, outcome_t *o)
{
        simlab_rng_t *r = &g->rng;
        if (g->o.huli) {
                /* Exact counts: cleared ones among the nonconforming ones
                 * left, failed rechecks among the open ones left. */
                long open_left = g->nc_left - g->cleared_need;
                int cleared = draw_exact(r, &g->cleared_need, g->nc_left);
                g->nc_left--;
                if (cleared) {
                        o->voided = simlab_rng_chance(r, HULI_VOIDED);
                        o->retest = o->voided ||
                                    simlab_rng_chance(r, HULI_RETEST_CONFIRMED);
                        o->recheck = !o->voided;
                        o->recheck_fails = 0;
                } else {
                        o->retest = simlab_rng_chance(r, HULI_OPEN_RETESTED);
                        o->voided = 0;
                        o->recheck = o->recheck_fails =
                            draw_exact(r, &g->failed_need, open_left);
                }
                return;
        }
        o->retest = simlab_rng_chance(r, RETEST_SHARE);
        o->voided = o->retest && simlab_rng_chance(r, RETEST_VOIDS);
        o->recheck = !o->voided && simlab_rng_chance(r, g->o.recheck_share);
        o->recheck_fails = o->recheck && simlab_rng_chance(r, RECHECK_FAIL);
}

/* A working day lo..hi days after day. */
static int32_t days_after(simlab_rng_t *r, int32_t day, int lo, int hi)
{
        return working_day(day + (int32_t)simlab_rng_range(r, lo, hi));
}

/* Schedule the retest and recheck of nonconforming result orig, and keep
 * the days of the officers' acts on it (see the top of this file). */
static int schedule(simlab_gen_t *g, const result_spec_t *orig,
                    const char *result_id)
{
        simlab_rng_t *r = &g->rng;
        outcome_t o;
        decide_outcome(g, &o);
        result_spec_t retest = {0}, recheck = {0};
        int32_t served = days_after(r, orig->report_day, 2, 4);
        int32_t objection = SIMLAB_NO_DAY, announced = SIMLAB_NO_DAY;
        int32_t order_from = served;

        if (o.retest) {
                /* 复检: the enterprise applies within 15 days of being
                 * served; the reserve sample of the same batch is tested at
                 * another lab, which reports within the same 15 days; it
                 * may void the original. */
                objection = days_after(r, served, 1, 6);
                retest = *orig;
                retest.kind = KIND_RETEST;
                retest.report_day = days_after(r, objection, 3, 5);
                if (g->fixed_lab < 0)
                        retest.lab = general_lab(g, orig->lab);
                retest.verdict =
                    o.voided ? VERDICT_CONFORMING : VERDICT_NONCONFORMING;
                retest.fail_mask =
                    o.voided ? 0 : fails_again(r, orig->fail_mask);
                snprintf(retest.plan_id, sizeof(retest.plan_id), "%.36s-FJ",
                         orig->plan_id);
                snprintf(retest.refers_to, sizeof(retest.refers_to), "%.90s",
                         result_id);
                order_from = retest.report_day;
        }
        int32_t ordered = days_after(r, order_from, 3, 11);
        if (o.recheck) {
                /* 复查: a new sample after the 60 days of rectification,
                 * reported within 75 days of the order. */
                recheck = *orig;
                recheck.kind = KIND_RECHECK;
                recheck.sampled_day = days_after(r, ordered, 60, 66);
                recheck.report_day = days_after(r, recheck.sampled_day, 3, 5);
                sample_dates(r, &recheck);
                recheck.verdict = o.recheck_fails ? VERDICT_NONCONFORMING
                                                  : VERDICT_CONFORMING;
                recheck.fail_mask =
                    o.recheck_fails ? fails_again(r, orig->fail_mask) : 0;
                snprintf(recheck.plan_id, sizeof(recheck.plan_id), "%.36s-FC",
                         orig->plan_id);
                snprintf(recheck.refers_to, sizeof(recheck.refers_to), "%.90s",
                         result_id);
                if (o.recheck_fails)
                        announced = days_after(r, recheck.report_day, 10, 29);
        }

        long act = -1;
        if (g->o.acts) {
                enterprise_t e;
                simlab_enterprise(g, orig->enterprise, &e);
                simlab_acts_original_t a = {
                    result_id,
                    e.district->bureau,
                    o.retest ? simlab_lab_at(g, retest.lab)->name : NULL,
                    orig->report_day,
                    served,
                    objection,
                    ordered,
                    announced};
                act = simlab_acts_add(g->o.acts, &a);
                if (act < 0)
                        return -1;
        }
        if (o.retest) {
                retest.act = act;
                if (heap_push(g, &retest))
                        return -1;
        }
        if (o.recheck) {
                recheck.act = act;
                if (heap_push(g, &recheck))
                        return -1;
        }
        return 0;
}

/* ---- the generator ------------------------------------------------------ */

simlab_gen_t *simlab_gen_new(const simlab_opts_t *opts, char *errstr,
                             size_t errstr_size)
{
        if (opts->count < 0) {
                snprintf(errstr, errstr_size, "count must not be negative");
                return NULL;
        }
        if (opts->huli && opts->count < SIMLAB_HULI_MIN_COUNT) {
                snprintf(errstr, errstr_size,
                         "the huli scenario needs a count of at least %d",
                         SIMLAB_HULI_MIN_COUNT);
                return NULL;
        }
        simlab_gen_t *g = calloc(1, sizeof(*g));
        if (!g) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        g->o = *opts;
        g->fixed_lab = -1;
        g->lab_seq = calloc(simlab_nlabs + 1, sizeof(*g->lab_seq));
        if (opts->lab) {
                g->lab_code = strdup(opts->lab);
                for (size_t i = 0; i < simlab_nlabs; i++)
                        if (!strcmp(simlab_labs[i].code, opts->lab))
                                g->fixed_lab = (int)i;
                if (g->fixed_lab < 0)
                        g->fixed_lab = (int)simlab_nlabs;
        }
        if (!g->lab_seq || (opts->lab && !g->lab_code)) {
                simlab_gen_destroy(g);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        g->o.lab = g->lab_code;
        g->custom.code = g->lab_code;
        g->custom.name = "第三方检验检测机构";
        g->custom.prefix = "JC";
        simlab_rng_derive(&g->rng, opts->seed, STREAM_MAIN, 0);
        /* About five results per enterprise. */
        g->nenterprises = opts->count / 5 > 40 ? opts->count / 5 : 40;
        g->cutoff_slot = (long)((int64_t)opts->count *
                                (SPAN_DAYS - HULI_CUTOFF) / SPAN_DAYS);
        g->today = opts->start_day - 1;
        if (opts->huli) {
                g->nc_need = g->nc_left = SIMLAB_HULI_NONCONFORMING;
                g->cleared_need = SIMLAB_HULI_CLEARED;
                g->failed_need = SIMLAB_HULI_FAILED;
                g->refused_need = SIMLAB_HULI_REFUSED;
        }
        return g;
}

static void remember(simlab_gen_t *g, json_t *doc)
{
        if (g->nrecent < RECENT) {
                g->recent[g->nrecent++] = json_incref(doc);
        } else {
                json_decref(g->recent[g->recent_pos]);
                g->recent[g->recent_pos] = json_incref(doc);
                g->recent_pos = (g->recent_pos + 1) % RECENT;
        }
}

int simlab_gen_next(simlab_gen_t *g, json_t **out, char *errstr,
                    size_t errstr_size)
{
        *out = NULL;
        if (g->slot >= g->o.count)
                return 0;
        int32_t day = slot_day(g, g->slot);
        char result_id[96];
        json_t *doc;

        g->today = day;
        if (g->nheap && g->heap[0].report_day <= day) {
                result_spec_t s;
                heap_pop(g, &s);
                doc = simlab_build_doc(g, &s, result_id, sizeof(result_id));
                /* Tell the acts what became of the original. */
                if (doc && g->o.acts && s.act >= 0) {
                        if (s.verdict == VERDICT_CONFORMING)
                                simlab_acts_settled(g->o.acts, s.act);
                        else if (s.kind == KIND_RECHECK)
                                simlab_acts_failed(g->o.acts, s.act);
                }
        } else if (g->o.duplicates > 0 && g->nrecent >= 2 &&
                   simlab_rng_chance(&g->rng, g->o.duplicates)) {
                /* Any recent document but the one just produced, so that
                 * the rows of two copies never run together in a CSV. */
                do
                        doc = g->recent[simlab_rng_below(&g->rng,
                                                         (uint32_t)g->nrecent)];
                while (doc == g->last);
                g->last = doc;
                g->slot++;
                *out = json_incref(doc);
                return 1;
        } else {
                result_spec_t s;
                supervision(g, day, &s);
                doc = simlab_build_doc(g, &s, result_id, sizeof(result_id));
                if (s.verdict == VERDICT_NONCONFORMING &&
                    schedule(g, &s, result_id)) {
                        json_decref(doc);
                        snprintf(errstr, errstr_size,
                                 "out of memory for pending follow-ups");
                        return -1;
                }
        }
        if (!doc) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        remember(g, doc);
        g->last = doc;
        g->slot++;
        *out = doc;
        return 1;
}

int32_t simlab_gen_today(const simlab_gen_t *g)
{
        return g->today;
}

void simlab_gen_destroy(simlab_gen_t *g)
{
        if (!g)
                return;
        for (size_t i = 0; i < g->nrecent; i++)
                json_decref(g->recent[i]);
        free(g->heap);
        free(g->lab_seq);
        free(g->lab_code);
        free(g);
}
