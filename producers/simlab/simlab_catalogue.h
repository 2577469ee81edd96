/*
 * simlab_catalogue: the fixed world ql-simlab draws from — product
 * categories of the national key industrial product catalogue with their
 * real inspection items (standard clause, requirement, unit, A/B importance,
 * safety flag and how a measured value passes or fails), the inspection
 * labs, Xiamen's districts (with streets and industrial areas for
 * addresses), places where manufacturers of sold goods are (with their
 * towns), and the words enterprise names, brands and contact persons are
 * made of.  Read-only data.
 *
 * How often things fail (the nonconforming rates per category and per
 * stage, each item's share of a category's failures) are illustrative
 * defaults chosen to look like Chinese supervision spot checks -- national
 * rates of a few percent to about 15%, e-commerce among the highest,
 * labelling and performance items failing more often than safety items --
 * not statistics of any real campaign.
 */
#ifndef SIMLAB_CATALOGUE_H
#define SIMLAB_CATALOGUE_H

#include <stddef.h>

/* How an item's measured value is judged. */
typedef enum {
        SIMLAB_MAX,   /* passes when <= hi */
        SIMLAB_MIN,   /* passes when >= lo */
        SIMLAB_RANGE, /* passes when lo <= value <= hi */
        SIMLAB_TEXT,  /* a finding in words */
} simlab_check_t;

typedef struct {
        const char *name;
        const char *clause;      /* standard and clause */
        const char *requirement; /* as printed in the report */
        const char *unit;        /* NULL: none */
        char importance;         /* 'A' or 'B' */
        int safety;
        simlab_check_t check;
        double lo, hi;         /* the limits (see check) */
        double min, max;       /* plausible measured values */
        int decimals;          /* digits after the point */
        double nd;             /* below this a lab writes 未检出; 0: never */
        const char *pass_text; /* TEXT: NULL means 符合 */
        const char *fail_text; /* TEXT: the finding when it fails */
        unsigned fail_weight;  /* its share of the category's failing items,
                                  relative to the category's other items */
} simlab_item_t;

typedef struct {
        const char *name;
        const char *const *models; /* NULL-terminated */
} simlab_product_t;

typedef struct {
        const char *name;     /* catalogue category */
        const char *industry; /* the trade word in a producer's name */
        const char *seller;   /* shop word for a small seller */
        const simlab_product_t *products;
        size_t nproducts;
        const simlab_item_t *items;
        size_t nitems;
        const char *const *grades; /* NULL-terminated, or NULL: no grade */
        int home; /* index into simlab_places of its typical origin */
        int lab;  /* index into simlab_labs of its usual lab */
        /* Nonconforming rate, in tenths of a percent, where the mean over
         * all categories is 100 (10%): relative, scaled to the share asked
         * for (illustrative, see above). */
        unsigned nc_rate;
} simlab_category_t;

typedef struct {
        const char *code;
        const char *name;
        const char *prefix; /* report number prefix */
        int general;        /* tests any category (at least two labs do) */
} simlab_lab_t;

typedef struct {
        const char *code;   /* GB/T 2260 */
        const char *name;   /* 湖里区 */
        const char *abbr;   /* plan prefix, "HL" */
        unsigned weight;    /* share of the city's enterprises */
        const char *bureau; /* its bureau's document-number prefix, 湖市监 */
        const char *const *roads; /* NULL-terminated: where shops are */
        const char *const *parks; /* NULL-terminated: where plants are */
} simlab_district_t;

typedef struct {
        const char *code;         /* GB/T 2260 */
        const char *prefix;       /* the start of a manufacturer's name */
        const char *const *towns; /* NULL-terminated: 镇, 街道 of its plants */
} simlab_place_t;

extern const simlab_category_t simlab_categories[];
extern const size_t simlab_ncategories;
extern const simlab_lab_t simlab_labs[];
extern const size_t simlab_nlabs;
#define SIMLAB_MAX_DISTRICTS 16 /* simlab_ndistricts is at most this */
extern const simlab_district_t simlab_districts[];
extern const size_t simlab_ndistricts;
extern const simlab_place_t simlab_places[];
extern const size_t simlab_nplaces;

/* Nonconforming rates by where the sample was taken, in the order of the
 * record's stage enum (PRODUCTION, CIRCULATION, ECOMMERCE), in tenths of a
 * percent: relative, like simlab_category_t.nc_rate (illustrative). */
#define SIMLAB_NSTAGES 3
extern const unsigned simlab_stage_nc_rate[SIMLAB_NSTAGES];

/* Word lists, NULL-terminated. */
extern const char *const simlab_trade_first[]; /* 鑫 宏 华 ... */
extern const char *const simlab_trade_second[];
extern const char *const simlab_brands[];
extern const char *const simlab_surnames[];      /* 陈 林 黄 ... */
extern const char *const simlab_given_names[];   /* 晓燕 志强 ... */
extern const char *const simlab_factory_roads[]; /* 工业大道 兴业路 ... */

/* Entries in a NULL-terminated list. */
size_t simlab_count(const char *const *list);

/* The district with this code, or NULL. */
const simlab_district_t *simlab_district(const char *code);

#endif
