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
 */
#include "simlab_gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_time.h"
#include "ql_uscc.h"
#include "simlab_catalogue.h"
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

/* ---- small helpers ------------------------------------------------------ */

static const simlab_lab_t *lab_at(const simlab_gen_t *g, int i)
{
        return i == (int)simlab_nlabs ? &g->custom : &simlab_labs[i];
}

static const char *pick(simlab_rng_t *r, const char *const *list)
{
        return list[simlab_rng_below(r, (uint32_t)simlab_count(list))];
}

/* Move a day off Saturday and Sunday (1970-01-01 was a Thursday). */
static int32_t working_day(int32_t day)
{
        int dow = (int)(((int64_t)day + 4) % 7); /* 0 Sunday .. 6 Saturday */
        return day + (dow == 6 ? 2 : dow == 0 ? 1 : 0);
}

static void fmt_date(int32_t day, char *buf, size_t size)
{
        ql_time_format_date(day, buf, size);
}

static int year_of(int32_t day)
{
        int y;
        unsigned m, d;
        ql_time_civil_from_days(day, &y, &m, &d);
        return y;
}

/* ---- enterprises and manufacturers -------------------------------------- */

/* A valid credit code: `kind` ("91" enterprise, "92" individual business),
 * the registration region, then an organisation code: a new-style "MA..."
 * one or an old all-digit one; ql_uscc_complete() adds both checks. */
static void make_credit_code(simlab_rng_t *r, const char *kind,
                             const char *region, char code[19])
{
        memcpy(code, kind, 2);
        memcpy(code + 2, region, 6);
        int modern = simlab_rng_chance(r, 0.6);
        for (int i = 8; i < 16; i++) {
                if (modern && i == 8)
                        code[i] = 'M';
                else if (modern && i == 9)
                        code[i] = 'A';
                else if (modern)
                        code[i] = uscc_alphabet[simlab_rng_below(
                            r, sizeof(uscc_alphabet) - 1)];
                else
                        code[i] = (char)('0' + simlab_rng_below(r, 10));
        }
        code[16] = '\0';
        ql_uscc_complete(code); /* well formed by construction */
}

/* A permutation of [0, n) chosen by seed: a few rounds of multiply-add and
 * xorshift, each a bijection on `bits`-bit numbers, walked until the value
 * falls back into range ("cycle walking"). */
static uint64_t permute(uint64_t x, uint64_t n, uint64_t seed)
{
        int bits = 2;
        while (bits < 63 && (1ULL << bits) < n)
                bits++;
        uint64_t mask = (1ULL << bits) - 1;
        do {
                for (uint64_t round = 0; round < 3; round++) {
                        x = (x * 0x9E3779B97F4A7C15ULL + seed + round) & mask;
                        x ^= x >> (bits / 2 + 1);
                }
        } while (x >= n);
        return x;
}

/* The trade name (字号) of entity `idx` of a pool of `pool`: as short as
 * lets every entity of the pool have its own (2 to 4 characters).
 * Distinct for distinct idx < pool while the pool fits 4 characters. */
static void trade_name(uint64_t seed, long idx, long pool, char *buf,
                       size_t size)
{
        uint64_t na = simlab_count(simlab_trade_first);
        uint64_t nb = simlab_count(simlab_trade_second);
        uint64_t cap = na * nb;
        int len = 2;
        while (len < 4 && cap < (uint64_t)pool)
                cap *= nb, len++;
        uint64_t x = permute((uint64_t)idx % cap, cap, seed);
        size_t off =
            (size_t)snprintf(buf, size, "%s", simlab_trade_first[x % na]);
        x /= na;
        for (int i = 1; i < len && off < size; i++, x /= nb)
                off += (size_t)snprintf(buf + off, size - off, "%s",
                                        simlab_trade_second[x % nb]);
}

/* Where enterprise e is and whom the lab spoke to (联系人, 联系电话), from
 * their own stream: a plant in an industrial area, a shop on a street, an
 * office for an online seller; a person with a mobile or a Xiamen landline
 * number (0592, seven digits), a number alone, or nothing. */
static void enterprise_address(const simlab_gen_t *g, long idx, enterprise_t *e)
{
        static const char *const digits[] = {"一", "二", "三", NULL};
        static const char *const mobiles[] = {"133", "135", "136", "137", "138",
                                              "139", "150", "151", "158", "159",
                                              "186", "189", NULL};
        simlab_rng_t r;
        simlab_rng_derive(&r, g->o.seed, STREAM_ADDRESS, (uint64_t)idx);
        const simlab_district_t *d = e->district;
        int number = (int)simlab_rng_range(&r, 1, 399);
        int floor = (int)simlab_rng_range(&r, 1, 12);
        if (e->role == ROLE_PRODUCER)
                snprintf(e->address, sizeof(e->address),
                         "厦门市%s%s%d号%d号厂房%s", d->name,
                         pick(&r, d->parks), number,
                         (int)simlab_rng_range(&r, 1, 8),
                         simlab_rng_chance(&r, 0.5) ? "一层" : "");
        else if (e->stage == STAGE_ECOMMERCE)
                snprintf(e->address, sizeof(e->address),
                         "厦门市%s%s%d号%d%02d室", d->name, pick(&r, d->roads),
                         number, floor, (int)simlab_rng_range(&r, 1, 20));
        else if (e->credit_code[0] == '9' && e->credit_code[1] == '2')
                snprintf(e->address, sizeof(e->address), "厦门市%s%s%d号%s",
                         d->name, pick(&r, d->roads), number,
                         simlab_rng_chance(&r, 0.4)
                             ? (simlab_rng_chance(&r, 0.5) ? "之一" : "之二")
                             : "店面");
        else
                snprintf(e->address, sizeof(e->address), "厦门市%s%s%d号%s楼",
                         d->name, pick(&r, d->roads), number, pick(&r, digits));

        char person[32], phone[24];
        snprintf(person, sizeof(person), "%s%s", pick(&r, simlab_surnames),
                 simlab_rng_chance(&r, 0.1)
                     ? (simlab_rng_chance(&r, 0.5) ? "先生" : "女士")
                     : pick(&r, simlab_given_names));
        unsigned form = simlab_rng_below(&r, 100);
        if (form < 65)
                snprintf(phone, sizeof(phone), "%s%08u", pick(&r, mobiles),
                         (unsigned)simlab_rng_below(&r, 100000000));
        else
                snprintf(phone, sizeof(phone), "0592-%c%06u",
                         "2356"[simlab_rng_below(&r, 4)],
                         (unsigned)simlab_rng_below(&r, 1000000));
        if (form < 90)
                snprintf(e->contact, sizeof(e->contact), "%s %s", person,
                         phone);
        else if (form < 95)
                snprintf(e->contact, sizeof(e->contact), "%s", phone);
        else
                e->contact[0] = '\0';
}

static void enterprise(const simlab_gen_t *g, long idx, enterprise_t *e)
{
        simlab_rng_t r;
        simlab_rng_derive(&r, g->o.seed, STREAM_ENTERPRISE, (uint64_t)idx);
        unsigned weights[SIMLAB_MAX_DISTRICTS];
        for (size_t i = 0; i < simlab_ndistricts; i++)
                weights[i] = simlab_districts[i].weight;
        e->district = g->o.huli
                          ? simlab_district(SIMLAB_HULI_REGION)
                          : &simlab_districts[simlab_rng_weighted(
                                &r, weights, (unsigned)simlab_ndistricts)];
        e->category = simlab_rng_below(&r, (uint32_t)simlab_ncategories);
        e->brand =
            (int)simlab_rng_below(&r, (uint32_t)simlab_count(simlab_brands));
        const simlab_category_t *c = &simlab_categories[e->category];
        char trade[32];
        trade_name(g->o.seed, idx, g->nenterprises, trade, sizeof(trade));
        /* Registered with the city (350200) or with the district. */
        const char *registrar =
            simlab_rng_chance(&r, 0.4) ? "350200" : e->district->code;

        e->role =
            simlab_rng_chance(&r, PRODUCER_SHARE) ? ROLE_PRODUCER : ROLE_SELLER;
        if (e->role == ROLE_PRODUCER) {
                static const char *const forms[] = {"有限公司", "科技有限公司",
                                                    "实业有限公司",
                                                    "工贸有限公司", NULL};
                e->stage = STAGE_PRODUCTION;
                snprintf(e->name, sizeof(e->name), "厦门%s%s%s%s",
                         simlab_rng_chance(&r, 0.3) ? "市" : "", trade,
                         c->industry, pick(&r, forms));
                make_credit_code(&r, "91", registrar, e->credit_code);
                enterprise_address(g, idx, e);
                return;
        }
        unsigned form = simlab_rng_below(&r, 100);
        if (form < 35) { /* 个体工商户 */
                e->stage = STAGE_CIRCULATION;
                snprintf(e->name, sizeof(e->name), "厦门市%s%s%s",
                         e->district->name, trade, c->seller);
                make_credit_code(&r, "92", e->district->code, e->credit_code);
        } else if (form < 100 - ECOMMERCE_SELLER) {
                static const char *const forms[] = {
                    "商贸有限公司", "贸易有限公司", "百货有限公司",
                    "超市有限公司", NULL};
                e->stage = STAGE_CIRCULATION;
                snprintf(e->name, sizeof(e->name), "厦门%s%s", trade,
                         pick(&r, forms));
                make_credit_code(&r, "91", registrar, e->credit_code);
        } else {
                e->stage = STAGE_ECOMMERCE;
                snprintf(e->name, sizeof(e->name), "厦门%s电子商务有限公司",
                         trade);
                make_credit_code(&r, "91", registrar, e->credit_code);
        }
        enterprise_address(g, idx, e);
}

static void manufacturer(const simlab_gen_t *g, unsigned category, long idx,
                         manufacturer_t *m)
{
        simlab_rng_t r;
        simlab_rng_derive(&r, g->o.seed, STREAM_MANUFACTURER,
                          (uint64_t)category * 1000 + (uint64_t)idx);
        const simlab_category_t *c = &simlab_categories[category];
        const simlab_place_t *p = simlab_rng_chance(&r, 0.6)
                                      ? &simlab_places[c->home]
                                      : &simlab_places[simlab_rng_below(
                                            &r, (uint32_t)simlab_nplaces)];
        char trade[32];
        trade_name(g->o.seed + category, idx, MANUFACTURERS, trade,
                   sizeof(trade));
        snprintf(m->name, sizeof(m->name), "%s%s%s有限公司", p->prefix, trade,
                 c->industry);
        m->credit_code[0] = '\0';
        if (simlab_rng_chance(&r, 0.7))
                make_credit_code(&r, "91", p->code, m->credit_code);
        m->region_code = simlab_rng_chance(&r, 0.8) ? p->code : NULL;
        /* The label's address, drawn last: the draws above stay those of
         * the manufacturer before addresses were written. */
        m->address[0] = '\0';
        if (simlab_rng_chance(&r, 0.85))
                snprintf(m->address, sizeof(m->address), "%s%s%s%d号",
                         p->prefix, pick(&r, p->towns),
                         pick(&r, simlab_factory_roads),
                         (int)simlab_rng_range(&r, 1, 299));
}

/* ---- measured values ---------------------------------------------------- */

/* The measured value of item it, passing or failing, as the lab writes it. */
static void measure(simlab_rng_t *r, const simlab_item_t *it, int fail,
                    char *buf, size_t size)
{
        if (it->check == SIMLAB_TEXT) {
                snprintf(buf, size, "%s",
                         fail            ? it->fail_text
                         : it->pass_text ? it->pass_text
                                         : "符合");
                return;
        }
        double scale = pow(10, it->decimals);
        int64_t min = llround(it->min * scale), max = llround(it->max * scale);
        int64_t lo = llround(it->lo * scale), hi = llround(it->hi * scale);
        int64_t v;
        double u = simlab_rng_unit(r);
        switch (it->check) {
        case SIMLAB_MAX:
                /* Most passing values lie well below the limit. */
                v = fail ? simlab_rng_range(r, hi + 1, max)
                         : min + (int64_t)((double)(hi - min) * u * u);
                break;
        case SIMLAB_MIN:
                v = fail ? simlab_rng_range(r, min, lo - 1)
                         : max - (int64_t)((double)(max - lo) * u * u);
                break;
        default: /* SIMLAB_RANGE */
                if (!fail)
                        v = simlab_rng_range(r, lo, hi);
                else if (simlab_rng_chance(r, 0.5))
                        v = simlab_rng_range(r, min, lo - 1);
                else
                        v = simlab_rng_range(r, hi + 1, max);
                break;
        }
        if (!fail && it->nd > 0 && (double)v < it->nd * scale) {
                snprintf(buf, size, "未检出");
                return;
        }
        snprintf(buf, size, "%.*f", it->decimals, (double)v / scale);
}

/* ---- documents ---------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
        return s && *s ? json_string(s) : json_null();
}

/* Item names of the failing items, joined with 、. */
static void failed_names(const simlab_category_t *c, uint32_t mask, char *buf,
                         size_t size)
{
        size_t off = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < c->nitems; i++) {
                if (!(mask & (1u << i)))
                        continue;
                int n = snprintf(buf + off, size - off, "%s%s", off ? "、" : "",
                                 c->items[i].name);
                if (n < 0 || (size_t)n >= size - off)
                        break;
                off += (size_t)n;
        }
}

static json_t *build_doc(simlab_gen_t *g, const result_spec_t *s,
                         char *result_id, size_t result_id_size)
{
        /* The time of day and the measured values come from a stream keyed
         * by the report, apart from the main stream that decides results. */
        const simlab_category_t *c = &simlab_categories[s->category];
        const simlab_product_t *p = &c->products[s->product];
        const simlab_lab_t *lab = lab_at(g, s->lab);
        enterprise_t e;
        enterprise(g, s->enterprise, &e);

        char report_no[48], day[16], ts[40], remarks[512];
        unsigned seq = ++g->lab_seq[s->lab];
        static const char *const kind_codes[] = {"JD", "FC", "FJ"};
        snprintf(report_no, sizeof(report_no), "%s%04d%s%06u", lab->prefix,
                 year_of(s->report_day), kind_codes[s->kind], seq);
        snprintf(result_id, result_id_size, "%s:%s", lab->code, report_no);

        simlab_rng_t r;
        simlab_rng_derive(&r, g->o.seed, STREAM_REPORT,
                          (uint64_t)s->lab << 32 | seq);
        /* Between 08:30 and 17:30 China Standard Time (UTC+8). */
        int64_t local =
            8 * 3600 + 30 * 60 + simlab_rng_range(&r, 0, 9 * 3600 - 1);
        int64_t secs = (int64_t)s->report_day * 86400 + local - 8 * 3600;
        ql_time_format_timestamp(secs * 1000, 480, ts, sizeof(ts));

        json_t *doc = json_object();
        json_object_set_new(doc, "result_id", json_string(result_id));
        json_object_set_new(doc, "report_no", json_string(report_no));
        json_object_set_new(
            doc, "lab",
            json_pack("{s:s, s:s}", "code", lab->code, "name", lab->name));
        json_object_set_new(doc, "plan_id", json_string(s->plan_id));
        json_object_set_new(doc, "level", json_string(level_symbols[s->level]));
        json_object_set_new(doc, "kind", json_string(kind_symbols[s->kind]));
        json_object_set_new(doc, "refers_to", str_or_null(s->refers_to));
        json_object_set_new(doc, "stage", json_string(stage_symbols[e.stage]));
        fmt_date(s->sampled_day, day, sizeof(day));
        json_object_set_new(doc, "sampled_on", json_string(day));
        json_object_set_new(doc, "reported_at", json_string(ts));
        /* address and contact: record schema version 2. */
        json_object_set_new(
            doc, "enterprise",
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "credit_code",
                      e.credit_code, "name", e.name, "region_code",
                      e.district->code, "role", role_symbols[e.role], "address",
                      e.address, "contact", str_or_null(e.contact)));
        if (s->manufacturer >= 0) {
                manufacturer_t m;
                manufacturer(g, s->category, s->manufacturer, &m);
                json_object_set_new(
                    doc, "manufacturer",
                    json_pack("{s:o, s:s, s:o, s:o}", "credit_code",
                              str_or_null(m.credit_code), "name", m.name,
                              "region_code", str_or_null(m.region_code),
                              "address", str_or_null(m.address)));
        } else {
                json_object_set_new(doc, "manufacturer", json_null());
        }
        json_object_set_new(
            doc, "product",
            json_pack(
                "{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "category", c->name,
                "name", p->name, "brand",
                str_or_null(s->brand >= 0 ? simlab_brands[s->brand] : NULL),
                "model", str_or_null(p->models[s->model]), "grade",
                str_or_null(s->grade >= 0 ? c->grades[s->grade] : NULL),
                "batch", str_or_null(s->batch), "production_date",
                str_or_null(s->production_date)));

        json_t *items = json_array();
        if (s->verdict != VERDICT_REFUSED) { /* a refusal inspects nothing */
                for (size_t i = 0; i < c->nitems; i++) {
                        const simlab_item_t *it = &c->items[i];
                        int fail = (s->fail_mask >> i) & 1;
                        /* Now and then a B item the lab could not judge. */
                        int unjudged = !fail && it->importance == 'B' &&
                                       simlab_rng_chance(&r, 0.005);
                        char measured[128];
                        measure(&r, it, fail, measured, sizeof(measured));
                        const char imp[2] = {it->importance, '\0'};
                        json_array_append_new(
                            items,
                            json_pack(
                                "{s:s, s:o, s:o, s:o, s:o, s:s, s:b, s:s}",
                                "name", it->name, "clause",
                                str_or_null(it->clause), "requirement",
                                str_or_null(it->requirement), "measured",
                                str_or_null(unjudged ? NULL : measured), "unit",
                                str_or_null(it->unit), "importance",
                                s->unclassified ? "UNCLASSIFIED" : imp,
                                "safety", it->safety, "verdict",
                                fail       ? "FAIL"
                                : unjudged ? "NOT_JUDGED"
                                           : "PASS"));
                }
        }
        json_object_set_new(doc, "items", items);
        json_object_set_new(doc, "verdict",
                            json_string(verdict_symbols[s->verdict]));

        char names[256];
        failed_names(c, s->fail_mask, names, sizeof(names));
        remarks[0] = '\0';
        if (s->verdict == VERDICT_REFUSED)
                snprintf(remarks, sizeof(remarks), "受检单位拒绝接受抽样");
        else if (s->kind == KIND_RECHECK)
                snprintf(remarks, sizeof(remarks), "%s%s",
                         s->verdict == VERDICT_CONFORMING
                             ? "整改后复查，所检项目未发现不合格"
                             : "整改后复查仍不合格：",
                         s->verdict == VERDICT_CONFORMING ? "" : names);
        else if (s->kind == KIND_RETEST)
                snprintf(remarks, sizeof(remarks), "复检（备样）：%s",
                         s->verdict == VERDICT_CONFORMING
                             ? "复检合格，原检验结论不成立"
                             : "维持原检验结论");
        else if (s->verdict == VERDICT_NONCONFORMING)
                snprintf(remarks, sizeof(remarks), "不合格项目：%s", names);
        json_object_set_new(doc, "remarks", str_or_null(remarks));
        return doc;
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
        fmt_date(made, date, sizeof(date));
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
        enterprise(g, s->enterprise, &e);
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
                enterprise(g, orig->enterprise, &e);
                simlab_acts_original_t a = {
                    result_id,
                    e.district->bureau,
                    o.retest ? lab_at(g, retest.lab)->name : NULL,
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
                doc = build_doc(g, &s, result_id, sizeof(result_id));
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
                doc = build_doc(g, &s, result_id, sizeof(result_id));
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
