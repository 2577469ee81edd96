/*
 * simlab_doc: what a decided result looks like: the enterprise sampled
 * (credit code, trade name, address) and the manufacturer, the measured
 * value of each item, passing or failing, and the result document built
 * from a result_spec_t.  Every draw comes from a stream keyed by what it
 * describes, so a document renders the same every time.
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
                         simlab_pick(&r, d->parks), number,
                         (int)simlab_rng_range(&r, 1, 8),
                         simlab_rng_chance(&r, 0.5) ? "一层" : "");
        else if (e->stage == STAGE_ECOMMERCE)
                snprintf(e->address, sizeof(e->address),
                         "厦门市%s%s%d号%d%02d室", d->name,
                         simlab_pick(&r, d->roads), number, floor,
                         (int)simlab_rng_range(&r, 1, 20));
        else if (e->credit_code[0] == '9' && e->credit_code[1] == '2')
                snprintf(e->address, sizeof(e->address), "厦门市%s%s%d号%s",
                         d->name, simlab_pick(&r, d->roads), number,
                         simlab_rng_chance(&r, 0.4)
                             ? (simlab_rng_chance(&r, 0.5) ? "之一" : "之二")
                             : "店面");
        else
                snprintf(e->address, sizeof(e->address), "厦门市%s%s%d号%s楼",
                         d->name, simlab_pick(&r, d->roads), number,
                         simlab_pick(&r, digits));

        char person[32], phone[24];
        snprintf(person, sizeof(person), "%s%s",
                 simlab_pick(&r, simlab_surnames),
                 simlab_rng_chance(&r, 0.1)
                     ? (simlab_rng_chance(&r, 0.5) ? "先生" : "女士")
                     : simlab_pick(&r, simlab_given_names));
        unsigned form = simlab_rng_below(&r, 100);
        if (form < 65)
                snprintf(phone, sizeof(phone), "%s%08u",
                         simlab_pick(&r, mobiles),
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

void simlab_enterprise(const simlab_gen_t *g, long idx, enterprise_t *e)
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
                         c->industry, simlab_pick(&r, forms));
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
                         simlab_pick(&r, forms));
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
                         p->prefix, simlab_pick(&r, p->towns),
                         simlab_pick(&r, simlab_factory_roads),
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

json_t *simlab_build_doc(simlab_gen_t *g, const result_spec_t *s,
                         char *result_id, size_t result_id_size)
{
        /* The time of day and the measured values come from a stream keyed
         * by the report, apart from the main stream that decides results. */
        const simlab_category_t *c = &simlab_categories[s->category];
        const simlab_product_t *p = &c->products[s->product];
        const simlab_lab_t *lab = simlab_lab_at(g, s->lab);
        enterprise_t e;
        simlab_enterprise(g, s->enterprise, &e);

        char report_no[48], day[16], ts[40], remarks[512];
        unsigned seq = ++g->lab_seq[s->lab];
        static const char *const kind_codes[] = {"JD", "FC", "FJ"};
        snprintf(report_no, sizeof(report_no), "%s%04d%s%06u", lab->prefix,
                 simlab_year_of(s->report_day), kind_codes[s->kind], seq);
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
        simlab_fmt_date(s->sampled_day, day, sizeof(day));
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
