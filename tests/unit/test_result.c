/*
 * Unit tests of ql_result: a full valid document passes; for each rule of
 * README.md, "The record", a mutation of it is rejected with exactly the
 * expected field paths (and nothing else); mutations the contract allows are
 * accepted; several problems are all reported; the fields of schema version 2
 * (optional, bounded in characters) with documents of both shapes; WARN
 * mode, the expected lab, REFUSED
 * without items, UTF-8 and the dotted-path accessor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ql_result.h"

/* A NONCONFORMING supervision result with one FAIL item of three, a
 * manufacturer and every optional field exercised (given, null, absent). */
static const char valid_json[] =
    "{"
    " \"result_id\": \"FJQI:2026-ET-0142\","
    " \"report_no\": \"2026-ET-0142\","
    " \"lab\": {\"code\": \"FJQI\", \"name\": \"福建省产品质量检验研究院\"},"
    " \"plan_id\": \"XM-2026-SC-03\","
    " \"level\": \"MUNICIPAL\","
    " \"kind\": \"SUPERVISION\","
    " \"refers_to\": null,"
    " \"stage\": \"CIRCULATION\","
    " \"sampled_on\": \"2026-03-02\","
    " \"reported_at\": \"2026-03-20T10:15:00+08:00\","
    " \"enterprise\": {\"credit_code\": \"91350200MA2YJ1XR9G\","
    "   \"name\": \"厦门湖里某某商贸有限公司\", \"region_code\": \"350206\","
    "   \"role\": \"SELLER\"},"
    " \"manufacturer\": {\"credit_code\": \"914403001922038216\","
    "   \"name\": \"深圳某某电器有限公司\", \"region_code\": \"440300\"},"
    " \"product\": {\"category\": \"家用电器及电器附件\", \"name\": "
    "   \"电热水壶\", \"brand\": \"某某\", \"model\": \"SWF-17E\","
    "   \"grade\": null, \"batch\": \"20251108\","
    "   \"production_date\": \"2025-11-08\"},"
    " \"items\": ["
    "   {\"name\": \"标志和说明\", \"clause\": \"GB 4706.1-2005 7\","
    "    \"requirement\": \"应符合标准要求\", \"measured\": \"符合\","
    "    \"unit\": null, \"importance\": \"B\", \"safety\": false,"
    "    \"verdict\": \"PASS\"},"
    "   {\"name\": \"泄漏电流\", \"clause\": \"GB 4706.1-2005 16.2\","
    "    \"requirement\": \"≤0.75\", \"measured\": \"0.42\","
    "    \"unit\": \"mA\", \"importance\": \"A\", \"safety\": true,"
    "    \"verdict\": \"PASS\"},"
    "   {\"name\": \"电气强度\", \"requirement\": \"不击穿\","
    "    \"measured\": \"击穿\", \"importance\": \"A\", \"safety\": true,"
    "    \"verdict\": \"FAIL\"}"
    " ],"
    " \"verdict\": \"NONCONFORMING\","
    " \"remarks\": null"
    "}";

static json_t *valid_doc(void)
{
        json_error_t jerr;
        json_t *doc = json_loads(valid_json, 0, &jerr);
        if (!doc)
                fail_msg("test document does not parse: %s (line %d)",
                         jerr.text, jerr.line);
        return doc;
}

/* Every problem's path and message must be valid UTF-8 and the message a
 * non-empty single line. */
static void assert_well_formed(const ql_problems_t *p)
{
        for (size_t i = 0; i < p->n; i++) {
                const char *f = p->v[i].field, *m = p->v[i].message;
                assert_non_null(f);
                assert_non_null(m);
                assert_true(ql_result_utf8_valid(f, strlen(f)));
                assert_true(ql_result_utf8_valid(m, strlen(m)));
                assert_true(strlen(m) > 0);
                assert_null(strchr(m, '\n'));
        }
}

static void print_problems(const char *what, const ql_problems_t *p)
{
        for (size_t i = 0; i < p->n; i++)
                print_message("  %s %s: %s\n", what, p->v[i].field,
                              p->v[i].message);
}

/* Set the value at a dotted path ("a.b", "items[2].verdict") to the JSON
 * text `json` (NULL deletes the member).  The parent must exist. */
static void set_path(json_t *doc, const char *path, const char *json)
{
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", path);
        json_t *parent = doc;
        char *seg = buf, *dot;
        while ((dot = strchr(seg, '.')) != NULL) {
                *dot = '\0';
                char *br = strchr(seg, '[');
                if (br) {
                        *br = '\0';
                        parent = json_array_get(json_object_get(parent, seg),
                                                strtoul(br + 1, NULL, 10));
                } else {
                        parent = json_object_get(parent, seg);
                }
                if (!parent)
                        fail_msg("no parent for %s", path);
                seg = dot + 1;
        }
        char *br = strchr(seg, '[');
        if (br) {
                *br = '\0';
                json_t *arr = json_object_get(parent, seg);
                size_t i = strtoul(br + 1, NULL, 10);
                assert_true(json_is_array(arr));
                if (json)
                        json_array_set_new(
                            arr, i, json_loads(json, JSON_DECODE_ANY, NULL));
                else
                        json_array_remove(arr, i);
                return;
        }
        if (!json) {
                json_object_del(parent, seg);
                return;
        }
        json_error_t jerr;
        json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!v)
                fail_msg("bad mutation value %s: %s", json, jerr.text);
        assert_int_equal(json_object_set_new(parent, seg, v), 0);
}

typedef struct {
        const char *path;
        const char *json; /* NULL: delete */
} edit_t;

typedef struct {
        edit_t edits[3];
        const char *expect; /* comma-separated error paths, in any order */
} mutation_t;

#define DEL NULL

/* One or more mutations per rule.  Each must produce exactly the listed
 * error paths: the rule fires, and no other rule echoes it. */
static const mutation_t rejected[] = {
    /* required, typed, non-empty top-level strings */
    {{{"result_id", DEL}}, "result_id"},
    {{{"result_id", "\"\""}}, "result_id"},
    {{{"result_id", "42"}}, "result_id"},
    {{{"result_id", "null"}}, "result_id"},
    {{{"report_no", "\"   \""}}, "report_no"},
    {{{"report_no", "[]"}}, "report_no"},
    {{{"plan_id", "null"}}, "plan_id"},
    {{{"plan_id", DEL}}, "plan_id"},
    /* result_id = <lab.code>:<report_no> */
    {{{"result_id", "\"FJQI:2026-ET-0143\""}}, "result_id"},
    {{{"result_id", "\"2026-ET-0142\""}}, "result_id"},
    {{{"result_id", "\"FJQI-2026-ET-0142\""}}, "result_id"},
    {{{"lab.code", "\"XMQI\""}}, "result_id"},
    {{{"report_no", "\"2026-ET-0143\""}}, "result_id"},
    /* lab */
    {{{"lab", DEL}}, "lab"},
    {{{"lab", "\"FJQI\""}}, "lab"},
    {{{"lab", "null"}}, "lab"},
    {{{"lab.code", DEL}}, "lab.code"},
    {{{"lab.code", "7"}}, "lab.code"},
    {{{"lab.name", "\"\""}}, "lab.name"},
    {{{"lab.nmae", "\"x\""}}, "lab.nmae"},
    /* enums: exactly the contract's symbols */
    {{{"level", "\"national\""}}, "level"},
    {{{"level", "\"COUNTY\""}}, "level"},
    {{{"level", "1"}}, "level"},
    {{{"kind", "\"\""}}, "kind"},
    {{{"kind", DEL}}, "kind"},
    {{{"stage", "\"RETAIL\""}}, "stage"},
    {{{"stage", "true"}}, "stage"},
    {{{"enterprise.role", "\"MAKER\""}}, "enterprise.role"},
    {{{"items[0].importance", "\"C\""}}, "items[0].importance"},
    {{{"items[0].importance", "null"}}, "items[0].importance"},
    {{{"items[1].verdict", "\"NOT JUDGED\""}}, "items[1].verdict"},
    {{{"verdict", "\"Nonconforming\""}}, "verdict"},
    {{{"verdict", "null"}}, "verdict"},
    /* refers_to */
    {{{"kind", "\"RECHECK\""}}, "refers_to"},
    {{{"kind", "\"RETEST\""}, {"refers_to", DEL}}, "refers_to"},
    {{{"refers_to", "\"FJQI:2025-ET-0001\""}}, "refers_to"},
    {{{"kind", "\"RECHECK\""}, {"refers_to", "\"FJQI:2026-ET-0142\""}},
     "refers_to"},
    {{{"kind", "\"RECHECK\""}, {"refers_to", "\"\""}}, "refers_to"},
    {{{"kind", "\"RETEST\""}, {"refers_to", "17"}}, "refers_to"},
    {{{"refers_to", "{}"}}, "refers_to"},
    /* dates and timestamps */
    {{{"sampled_on", "\"2026-02-30\""}}, "sampled_on"},
    {{{"sampled_on", "\"2026/03/02\""}}, "sampled_on"},
    {{{"sampled_on", "\"20260302\""}}, "sampled_on"},
    {{{"sampled_on", "\"2026-03-02T00:00:00+08:00\""}}, "sampled_on"},
    {{{"sampled_on", "20260302"}}, "sampled_on"},
    {{{"reported_at", "\"2026-03-20T10:15:00\""}}, "reported_at"},
    {{{"reported_at", "\"2026-03-20\""}}, "reported_at"},
    {{{"reported_at", "\"2026-03-20T25:15:00+08:00\""}}, "reported_at"},
    {{{"reported_at", "1773972900000"}}, "reported_at"},
    /* enterprise */
    {{{"enterprise", "null"}}, "enterprise"},
    {{{"enterprise", "[]"}}, "enterprise"},
    {{{"enterprise.credit_code", "\"914403001922038217\""}},
     "enterprise.credit_code"},
    {{{"enterprise.credit_code", "\"91350200MA2YJ1XR8G\""}},
     "enterprise.credit_code"},
    {{{"enterprise.credit_code", "\"91350200MA2YJ1XR9\""}},
     "enterprise.credit_code"},
    {{{"enterprise.credit_code", "\"91350200MA2YJ1XR9GG\""}},
     "enterprise.credit_code"},
    {{{"enterprise.credit_code", "\"91350200MA2YJ1XR9O\""}},
     "enterprise.credit_code"},
    {{{"enterprise.credit_code", "\"\""}}, "enterprise.credit_code"},
    {{{"enterprise.credit_code", "913502001"}}, "enterprise.credit_code"},
    {{{"enterprise.credit_code", "null"}}, "enterprise.credit_code"},
    {{{"enterprise.name", "\"\""}}, "enterprise.name"},
    {{{"enterprise.region_code", "\"35020\""}}, "enterprise.region_code"},
    {{{"enterprise.region_code", "\"35020A\""}}, "enterprise.region_code"},
    {{{"enterprise.region_code", "\"3502060\""}}, "enterprise.region_code"},
    {{{"enterprise.region_code", "350206"}}, "enterprise.region_code"},
    {{{"enterprise.role", DEL}}, "enterprise.role"},
    {{{"enterprise.credit_cod", "\"914403001922038216\""}},
     "enterprise.credit_cod"},
    /* schema version 2: optional strings, no other field */
    {{{"enterprise.address", "7"}}, "enterprise.address"},
    {{{"enterprise.address", "{}"}}, "enterprise.address"},
    {{{"enterprise.address", "\"厦门\\u0000湖里\""}}, "enterprise.address"},
    {{{"enterprise.contact", "false"}}, "enterprise.contact"},
    {{{"enterprise.contacts", "\"王芳\""}}, "enterprise.contacts"},
    {{{"enterprise.phone", "\"0592-5551234\""}}, "enterprise.phone"},
    {{{"address", "\"厦门\""}}, "address"},
    /* manufacturer */
    {{{"manufacturer", "\"深圳某某电器有限公司\""}}, "manufacturer"},
    {{{"manufacturer", "[]"}}, "manufacturer"},
    {{{"manufacturer.credit_code", "\"914403001922038217\""}},
     "manufacturer.credit_code"},
    {{{"manufacturer.credit_code", "\"\""}}, "manufacturer.credit_code"},
    {{{"manufacturer.credit_code", "false"}}, "manufacturer.credit_code"},
    {{{"manufacturer.name", DEL}}, "manufacturer.name"},
    {{{"manufacturer.region_code", "\"4403\""}}, "manufacturer.region_code"},
    {{{"manufacturer.adress", "\"深圳\""}}, "manufacturer.adress"},
    {{{"manufacturer.address", "440300"}}, "manufacturer.address"},
    {{{"manufacturer.address", "[\"深圳\"]"}}, "manufacturer.address"},
    /* product */
    {{{"product", DEL}}, "product"},
    {{{"product.category", "\"\""}}, "product.category"},
    {{{"product.name", DEL}}, "product.name"},
    {{{"product.brand", "3"}}, "product.brand"},
    {{{"product.grade", "false"}}, "product.grade"},
    {{{"product.production_date", "{}"}}, "product.production_date"},
    {{{"product.colour", "\"red\""}}, "product.colour"},
    /* items */
    {{{"items", DEL}}, "items"},
    {{{"items", "{}"}}, "items"},
    {{{"items", "[]"}}, "items"},
    {{{"items", "null"}}, "items"},
    {{{"items[1]", "\"泄漏电流\""}}, "items[1]"},
    {{{"items[0].name", "\"\""}}, "items[0].name"},
    {{{"items[0].name", DEL}}, "items[0].name"},
    {{{"items[0].clause", "4"}}, "items[0].clause"},
    {{{"items[1].unit", "[\"mA\"]"}}, "items[1].unit"},
    {{{"items[0].safety", "\"true\""}}, "items[0].safety"},
    {{{"items[0].safety", "1"}}, "items[0].safety"},
    {{{"items[0].safety", DEL}}, "items[0].safety"},
    {{{"items[1].verdct", "\"PASS\""}}, "items[1].verdct"},
    /* verdict against items */
    {{{"items[2].verdict", "\"PASS\""}}, "verdict"},
    {{{"items[2].verdict", "\"NOT_JUDGED\""}}, "verdict"},
    {{{"items[2].verdict", "\"fail\""}}, "items[2].verdict,verdict"},
    {{{"verdict", "\"CONFORMING\""}}, "verdict"},
    {{{"verdict", "\"REFUSED\""}}, "verdict"},
    {{{"verdict", "\"CONFORMING\""}, {"items", "[]"}}, "items"},
    /* other members */
    {{{"remarks", "{}"}}, "remarks"},
    {{{"remarks", "0"}}, "remarks"},
    {{{"verdic", "\"NONCONFORMING\""}}, "verdic"},
    {{{"Result_Id", "\"x\""}}, "Result_Id"},
    {{{"extra", "{\"a\": 1}"}}, "extra"},
    /* a NUL inside a string (JSON_ALLOW_NUL lets one through) */
    {{{"enterprise.name", "\"a\\u0000b\""}}, "enterprise.name"},
    {{{"remarks", "\"ok\\u0000\""}}, "remarks"},
};

/* Mutations the contract allows: each must leave no error at all. */
static const mutation_t accepted[] = {
    {{{"refers_to", DEL}}, ""},
    {{{"manufacturer", "null"}}, ""},
    {{{"manufacturer", DEL}}, ""},
    {{{"manufacturer.credit_code", "null"}}, ""},
    {{{"manufacturer.address", "\"深圳市宝安区某路2号\""}}, ""},
    {{{"manufacturer.address", "null"}}, ""},
    {{{"enterprise.address", "\"厦门市湖里区云顶中路2188号\""},
      {"enterprise.contact", "\"王芳 0592-5551234\""}},
     ""},
    {{{"enterprise.address", "null"}, {"enterprise.contact", "null"}}, ""},
    {{{"enterprise.address", "\"\""}, {"enterprise.contact", "\"\""}}, ""},
    {{{"manufacturer.credit_code", DEL}, {"manufacturer.region_code", DEL}},
     ""},
    {{{"product.brand", DEL}, {"product.model", "null"}}, ""},
    {{{"product.production_date", "\"2025年11月\""}}, ""},
    {{{"product.batch", "\"\""}}, ""},
    {{{"items[0].clause", DEL}, {"items[0].unit", DEL}}, ""},
    {{{"remarks", "\"复查时企业已整改\""}}, ""},
    {{{"remarks", "\"\""}}, ""},
    {{{"kind", "\"RECHECK\""}, {"refers_to", "\"FJQI:2025-ET-0001\""}}, ""},
    {{{"kind", "\"RETEST\""}, {"refers_to", "\"XMQI:2025-0007\""}}, ""},
    {{{"verdict", "\"CONFORMING\""}, {"items[2].verdict", "\"PASS\""}}, ""},
    {{{"verdict", "\"CONFORMING\""}, {"items[2].verdict", "\"NOT_JUDGED\""}},
     ""},
    {{{"verdict", "\"REFUSED\""}, {"items", "[]"}}, ""},
    {{{"verdict", "\"REFUSED\""}, {"items[2].verdict", "\"NOT_JUDGED\""}}, ""},
    {{{"reported_at", "\"2026-03-20T02:15:00Z\""}}, ""},
    {{{"reported_at", "\"2026-03-20T10:15:00.123+0800\""}}, ""},
    {{{"reported_at", "\"2026-03-20T10:15+08:00\""}}, ""},
    {{{"sampled_on", "\"2024-02-29\""}}, ""},
    {{{"level", "\"DISTRICT\""}, {"stage", "\"ECOMMERCE\""}}, ""},
    {{{"enterprise.role", "\"PRODUCER\""}}, ""},
    {{{"items[1].importance", "\"UNCLASSIFIED\""}}, ""},
    {{{"enterprise.credit_code", "\"91110108551385082Q\""}}, ""},
};

static void apply(json_t *doc, const mutation_t *m)
{
        for (size_t i = 0; i < 3 && m->edits[i].path; i++)
                set_path(doc, m->edits[i].path, m->edits[i].json);
}

static void describe(const mutation_t *m, char *buf, size_t size)
{
        size_t o = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < 3 && m->edits[i].path && o < size; i++)
                o += (size_t)snprintf(buf + o, size - o, "%s%s=%s",
                                      i ? ", " : "", m->edits[i].path,
                                      m->edits[i].json ? m->edits[i].json
                                                       : "(deleted)");
}

/* 1 if the comma-separated list names path. */
static int listed(const char *list, const char *path)
{
        size_t n = strlen(path);
        for (const char *p = list; *p;) {
                size_t len = strcspn(p, ",");
                if (len == n && !strncmp(p, path, n))
                        return 1;
                p += len + (p[len] == ',');
        }
        return 0;
}

static size_t list_count(const char *list)
{
        size_t n = 0;
        for (const char *p = list; *p;) {
                size_t len = strcspn(p, ",");
                n++;
                p += len + (p[len] == ',');
        }
        return n;
}

/* Validate mutated copies; every expected path reported, nothing else. */
static void run_mutations(const mutation_t *tab, size_t n)
{
        int failures = 0;
        for (size_t i = 0; i < n; i++) {
                char what[256];
                json_t *doc = valid_doc();
                ql_problems_t errs = {0}, warns = {0};
                apply(doc, &tab[i]);
                describe(&tab[i], what, sizeof(what));
                size_t nerr = ql_result_validate(doc, NULL, &errs, &warns);
                assert_int_equal(nerr, errs.n);
                assert_well_formed(&errs);

                int ok = errs.n == list_count(tab[i].expect);
                for (size_t k = 0; k < errs.n; k++)
                        ok &= listed(tab[i].expect, errs.v[k].field);
                for (size_t k = 0; k < errs.n; k++)
                        for (size_t j = 0; j < k; j++)
                                ok &= strcmp(errs.v[k].field,
                                             errs.v[j].field) != 0;
                if (!ok) {
                        print_message("mutation %s: expected errors at "
                                      "[%s], got %zu:\n",
                                      what, tab[i].expect, errs.n);
                        print_problems("error", &errs);
                        failures++;
                }
                ql_problems_clear(&errs);
                ql_problems_clear(&warns);
                json_decref(doc);
        }
        assert_int_equal(failures, 0);
}

static void valid_document_passes(void **state)
{
        (void)state;
        json_t *doc = valid_doc();
        ql_problems_t errs = {0}, warns = {0};
        ql_result_opts_t opts = {QL_USCC_STRICT, "FJQI"};
        size_t n = ql_result_validate(doc, &opts, &errs, &warns);
        print_problems("error", &errs);
        assert_int_equal(n, 0);
        assert_int_equal(errs.n, 0);
        assert_int_equal(warns.n, 0);
        json_decref(doc);
}

static void each_rule_rejects_its_mutation(void **state)
{
        (void)state;
        run_mutations(rejected, sizeof(rejected) / sizeof(rejected[0]));
}

static void allowed_mutations_pass(void **state)
{
        (void)state;
        run_mutations(accepted, sizeof(accepted) / sizeof(accepted[0]));
}

static void not_an_object(void **state)
{
        (void)state;
        static const char *const docs[] = {"[]", "\"x\"", "3", "null"};
        for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
                json_t *doc = json_loads(docs[i], JSON_DECODE_ANY, NULL);
                ql_problems_t errs = {0};
                assert_int_equal(ql_result_validate(doc, NULL, &errs, NULL), 1);
                assert_string_equal(errs.v[0].field, "");
                ql_problems_clear(&errs);
                json_decref(doc);
        }
        ql_problems_t errs = {0};
        assert_int_equal(ql_result_validate(NULL, NULL, &errs, NULL), 1);
        assert_string_equal(errs.v[0].field, "");
        ql_problems_clear(&errs);

        /* An empty object: every required field is reported missing. */
        json_t *doc = json_object();
        assert_int_equal(ql_result_validate(doc, NULL, &errs, NULL), 13);
        for (size_t i = 0; i < errs.n; i++)
                assert_non_null(strstr(errs.v[i].message, "missing"));
        ql_problems_clear(&errs);
        json_decref(doc);
}

static void all_problems_reported(void **state)
{
        (void)state;
        json_t *doc = valid_doc();
        static const edit_t edits[] = {
            {"enterprise.credit_code", "\"914403001922038217\""},
            {"items[1].verdict", "\"PASSED\""},
            {"items[0].safety", "\"no\""},
            {"sampled_on", "\"2026-13-01\""},
            {"kind", "\"RECHECK\""},
            {"product.colour", "\"white\""},
            {"lab.name", "\"\""},
        };
        for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++)
                set_path(doc, edits[i].path, edits[i].json);
        ql_problems_t errs = {0};
        ql_result_opts_t opts = {QL_USCC_STRICT, "XMQI"};
        size_t n = ql_result_validate(doc, &opts, &errs, NULL);
        print_problems("error", &errs);
        static const char *const expect[] = {
            "enterprise.credit_code",
            "items[1].verdict",
            "items[0].safety",
            "sampled_on",
            "refers_to",
            "product.colour",
            "lab.name",
            "lab.code",
        };
        assert_int_equal(n, sizeof(expect) / sizeof(expect[0]));
        for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
                size_t k = 0;
                while (k < errs.n && strcmp(errs.v[k].field, expect[i]))
                        k++;
                if (k == errs.n)
                        fail_msg("no error reported at %s", expect[i]);
        }
        assert_well_formed(&errs);
        /* Counting without a list gives the same number. */
        assert_int_equal(ql_result_validate(doc, &opts, NULL, NULL), n);
        ql_problems_clear(&errs);
        json_decref(doc);
}

static const char *message_at(const ql_problems_t *p, const char *field)
{
        for (size_t i = 0; i < p->n; i++)
                if (!strcmp(p->v[i].field, field))
                        return p->v[i].message;
        return NULL;
}

static void warn_mode(void **state)
{
        (void)state;
        static const char *const check_failures[] = {
            "914403001922038217", /* 18th character */
            "91350200MA2YJ1XR8G", /* 17th character */
        };
        for (size_t i = 0; i < 2; i++) {
                json_t *doc = valid_doc();
                char v[64];
                snprintf(v, sizeof(v), "\"%s\"", check_failures[i]);
                set_path(doc, "enterprise.credit_code", v);
                set_path(doc, "manufacturer.credit_code", v);
                ql_problems_t errs = {0}, warns = {0};
                ql_result_opts_t opts = {QL_USCC_WARN, NULL};
                assert_int_equal(ql_result_validate(doc, &opts, &errs, &warns),
                                 0);
                assert_int_equal(errs.n, 0);
                assert_int_equal(warns.n, 2);
                assert_non_null(message_at(&warns, "enterprise.credit_code"));
                assert_non_null(message_at(&warns, "manufacturer.credit_code"));
                assert_well_formed(&warns);
                /* NULL warnings: still accepted. */
                assert_int_equal(ql_result_validate(doc, &opts, &errs, NULL),
                                 0);
                /* STRICT: both rejected, no warnings. */
                ql_problems_clear(&warns);
                opts.uscc_mode = QL_USCC_STRICT;
                assert_int_equal(ql_result_validate(doc, &opts, &errs, &warns),
                                 2);
                assert_int_equal(warns.n, 0);
                ql_problems_clear(&errs);
                json_decref(doc);
        }

        /* A format error is an error in WARN mode too. */
        json_t *doc = valid_doc();
        set_path(doc, "enterprise.credit_code", "\"91350200MA2YJ1XR9\"");
        ql_problems_t errs = {0}, warns = {0};
        ql_result_opts_t opts = {QL_USCC_WARN, NULL};
        assert_int_equal(ql_result_validate(doc, &opts, &errs, &warns), 1);
        assert_string_equal(errs.v[0].field, "enterprise.credit_code");
        assert_int_equal(warns.n, 0);
        ql_problems_clear(&errs);
        json_decref(doc);
}

/* n copies of the UTF-8 character c as a JSON string (malloc'ed). */
static char *json_repeat(const char *c, size_t n)
{
        size_t l = strlen(c);
        char *s = malloc(n * l + 3);
        assert_non_null(s);
        s[0] = '"';
        for (size_t i = 0; i < n; i++)
                memcpy(s + 1 + i * l, c, l);
        memcpy(s + 1 + n * l, "\"", 2);
        return s;
}

/* The fields of schema version 2 are bounded in characters, not bytes: an
 * address of 256 Chinese characters (768 bytes) passes, 257 do not. */
static void address_and_contact_bounds(void **state)
{
        (void)state;
        static const struct {
                const char *path;
                size_t max;
        } fields[] = {
            {"enterprise.address", 256},
            {"manufacturer.address", 256},
            {"enterprise.contact", 128},
        };
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                for (int over = 0; over <= 1; over++) {
                        const char *c = over ? "a" : "路";
                        char *v = json_repeat(c, fields[i].max);
                        json_t *doc = valid_doc();
                        set_path(doc, fields[i].path, v);
                        ql_problems_t errs = {0};
                        assert_int_equal(
                            ql_result_validate(doc, NULL, &errs, NULL), 0);
                        free(v);
                        v = json_repeat(c, fields[i].max + 1);
                        set_path(doc, fields[i].path, v);
                        assert_int_equal(
                            ql_result_validate(doc, NULL, &errs, NULL), 1);
                        assert_string_equal(errs.v[0].field, fields[i].path);
                        char want[96];
                        snprintf(want, sizeof(want),
                                 "is %zu characters long; at most %zu are "
                                 "accepted",
                                 fields[i].max + 1, fields[i].max);
                        assert_string_equal(errs.v[0].message, want);
                        assert_well_formed(&errs);
                        ql_problems_clear(&errs);
                        free(v);
                        json_decref(doc);
                }
        }
        /* Other free text has no bound of its own. */
        char *v = json_repeat("路", 2000);
        json_t *doc = valid_doc();
        set_path(doc, "remarks", v);
        assert_int_equal(ql_result_validate(doc, NULL, NULL, NULL), 0);
        free(v);
        json_decref(doc);
}

static void lab_mismatch(void **state)
{
        (void)state;
        json_t *doc = valid_doc();
        ql_problems_t errs = {0};
        ql_result_opts_t opts = {QL_USCC_STRICT, "XMQI"};
        assert_int_equal(ql_result_validate(doc, &opts, &errs, NULL), 1);
        assert_string_equal(errs.v[0].field, "lab.code");
        /* The message names both labs. */
        assert_non_null(strstr(errs.v[0].message, "FJQI"));
        assert_non_null(strstr(errs.v[0].message, "XMQI"));
        ql_problems_clear(&errs);

        opts.lab_code = "FJQI";
        assert_int_equal(ql_result_validate(doc, &opts, &errs, NULL), 0);
        /* Case matters. */
        opts.lab_code = "fjqi";
        assert_int_equal(ql_result_validate(doc, &opts, &errs, NULL), 1);
        ql_problems_clear(&errs);
        json_decref(doc);
}

static void refused_without_items(void **state)
{
        (void)state;
        json_t *doc = valid_doc();
        set_path(doc, "verdict", "\"REFUSED\"");
        set_path(doc, "items", "[]");
        ql_problems_t errs = {0};
        assert_int_equal(ql_result_validate(doc, NULL, &errs, NULL), 0);
        /* NONCONFORMING without items is not. */
        set_path(doc, "verdict", "\"NONCONFORMING\"");
        assert_int_equal(ql_result_validate(doc, NULL, &errs, NULL), 1);
        assert_string_equal(errs.v[0].field, "items");
        ql_problems_clear(&errs);
        json_decref(doc);
}

static void unknown_field_hint(void **state)
{
        (void)state;
        json_t *doc = valid_doc();
        set_path(doc, "enterprise.credit_cod", "\"x\"");
        set_path(doc, "zzzzzz", "1");
        set_path(doc, "manufacturer.adress", "\"深圳\"");
        ql_problems_t errs = {0};
        assert_int_equal(ql_result_validate(doc, NULL, &errs, NULL), 3);
        const char *m = message_at(&errs, "enterprise.credit_cod");
        assert_non_null(m);
        assert_non_null(strstr(m, "did you mean \"credit_code\""));
        m = message_at(&errs, "manufacturer.adress");
        assert_non_null(m);
        assert_non_null(strstr(m, "did you mean \"address\""));
        m = message_at(&errs, "zzzzzz");
        assert_non_null(m);
        assert_null(strstr(m, "did you mean"));
        ql_problems_clear(&errs);
        json_decref(doc);
}

static void reported_before_sampled_warns(void **state)
{
        (void)state;
        json_t *doc = valid_doc();
        set_path(doc, "reported_at", "\"2026-03-01T23:00:00+08:00\"");
        ql_problems_t errs = {0}, warns = {0};
        assert_int_equal(ql_result_validate(doc, NULL, &errs, &warns), 0);
        assert_int_equal(warns.n, 1);
        assert_string_equal(warns.v[0].field, "reported_at");
        ql_problems_clear(&warns);
        json_decref(doc);
}

static void invalid_utf8_in_document(void **state)
{
        (void)state;
        /* jansson's parser refuses such strings; a CSV mapping that builds
         * the document by hand might not. */
        json_t *doc = valid_doc();
        json_object_set_new(json_object_get(doc, "product"), "name",
                            json_stringn_nocheck("\xD6\xD0\xB9\xFA", 4));
        /* An unknown key made of bytes that are not UTF-8. */
        json_object_set_new_nocheck(doc, "bad\xFFkey", json_true());
        ql_problems_t errs = {0};
        assert_int_equal(ql_result_validate(doc, NULL, &errs, NULL), 2);
        assert_non_null(message_at(&errs, "product.name"));
        assert_non_null(strstr(message_at(&errs, "product.name"), "UTF-8"));
        assert_well_formed(&errs);
        ql_problems_clear(&errs);
        json_decref(doc);
}

static void long_values_are_quoted_short(void **state)
{
        (void)state;
        json_t *doc = valid_doc();
        /* 200 x U+4E2D: 600 bytes, cut between characters. */
        char big[700] = "";
        for (int i = 0; i < 200; i++)
                strcat(big, "中");
        json_object_set_new(json_object_get(doc, "enterprise"), "region_code",
                            json_string(big));
        json_object_set_new(doc, "level", json_string(big));
        ql_problems_t errs = {0};
        assert_int_equal(ql_result_validate(doc, NULL, &errs, NULL), 2);
        assert_well_formed(&errs);
        for (size_t i = 0; i < errs.n; i++) {
                assert_true(strlen(errs.v[i].message) < 200);
                assert_non_null(strstr(errs.v[i].message, "中中中..."));
        }
        ql_problems_clear(&errs);
        /* Control characters in a quoted value become '?'. */
        json_object_set_new(doc, "level", json_string("A\nB\tC"));
        json_object_set_new(json_object_get(doc, "enterprise"), "region_code",
                            json_string("350206"));
        assert_int_equal(ql_result_validate(doc, NULL, &errs, NULL), 1);
        assert_non_null(strstr(errs.v[0].message, "\"A?B?C\""));
        ql_problems_clear(&errs);
        json_decref(doc);
}

static void utf8_validity(void **state)
{
        (void)state;
        static const struct {
                const char *s;
                size_t len;
                int valid;
        } cases[] = {
            {"", 0, 1},
            {"plain ASCII", 11, 1},
            {"中文", 6, 1},
            {"\xF0\x9F\x98\x80", 4, 1}, /* U+1F600 */
            {"\xF4\x8F\xBF\xBF", 4, 1}, /* U+10FFFF */
            {"\xEF\xBB\xBF", 3, 1},     /* BOM */
            {"\xC0\x80", 2, 0},         /* overlong NUL */
            {"\xC1\xBF", 2, 0},         /* overlong */
            {"\xE0\x80\xAF", 3, 0},     /* overlong '/' */
            {"\xF0\x80\x80\xAF", 4, 0}, /* overlong */
            {"\xED\xA0\x80", 3, 0},     /* U+D800 surrogate */
            {"\xED\xBF\xBF", 3, 0},     /* U+DFFF surrogate */
            {"\xF4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
            {"\xF5\x80\x80\x80", 4, 0}, /* F5 never appears */
            {"\xE4\xB8", 2, 0},         /* truncated 中 */
            {"\x80", 1, 0},             /* lone continuation */
            {"\xD6\xD0\xB9\xFA", 4, 0}, /* 中国 in GB18030 */
            {"ab\xFF", 3, 0},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                if (ql_result_utf8_valid(cases[i].s, cases[i].len) !=
                    cases[i].valid)
                        fail_msg("case %zu: expected %d", i, cases[i].valid);
        assert_int_equal(ql_result_utf8_valid(NULL, 0), 1);
        assert_int_equal(ql_result_utf8_valid(NULL, 1), 0);
}

static void dotted_path_accessor(void **state)
{
        (void)state;
        json_t *doc = valid_doc();
        assert_string_equal(ql_result_str(doc, "result_id"),
                            "FJQI:2026-ET-0142");
        assert_string_equal(ql_result_str(doc, "enterprise.credit_code"),
                            "91350200MA2YJ1XR9G");
        assert_string_equal(ql_result_str(doc, "lab.code"), "FJQI");
        assert_string_equal(ql_result_str(doc, "items[2].name"), "电气强度");
        assert_string_equal(ql_result_str(doc, "items[0].verdict"), "PASS");
        assert_null(ql_result_str(doc, "refers_to"));       /* null */
        assert_null(ql_result_str(doc, "items[2].unit"));   /* absent */
        assert_null(ql_result_str(doc, "items[3].name"));   /* past end */
        assert_null(ql_result_str(doc, "items[0].safety")); /* boolean */
        assert_null(ql_result_str(doc, "enterprise"));      /* object */
        assert_null(ql_result_str(doc, "enterprise.nope"));
        assert_null(ql_result_str(doc, "lab..code"));
        assert_null(ql_result_str(doc, "lab.code."));
        assert_null(ql_result_str(doc, ".lab"));
        assert_null(ql_result_str(doc, "items[x].name"));
        assert_null(ql_result_str(doc, "items[0"));
        assert_null(ql_result_str(doc, "lab[0]"));
        assert_null(ql_result_str(doc, ""));
        assert_null(ql_result_str(doc, NULL));
        assert_null(ql_result_str(NULL, "lab.code"));
        json_decref(doc);
}

static void problems_list(void **state)
{
        (void)state;
        ql_problems_t p = {0};
        for (int i = 0; i < 100; i++)
                ql_problems_add(&p, "items[0].name", "problem %d", i);
        assert_int_equal(p.n, 100);
        assert_string_equal(p.v[99].message, "problem 99");
        assert_string_equal(p.v[99].field, "items[0].name");
        ql_problems_clear(&p);
        assert_int_equal(p.n, 0);
        /* Usable after clearing; NULL field means the whole document. */
        ql_problems_add(&p, NULL, "%s", "whole \xFF document");
        assert_int_equal(p.n, 1);
        assert_string_equal(p.v[0].field, "");
        assert_string_equal(p.v[0].message, "whole ? document");
        ql_problems_clear(&p);
        ql_problems_clear(&p);
        ql_problems_clear(NULL);
        ql_problems_add(NULL, "x", "ignored");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(valid_document_passes),
            cmocka_unit_test(each_rule_rejects_its_mutation),
            cmocka_unit_test(allowed_mutations_pass),
            cmocka_unit_test(not_an_object),
            cmocka_unit_test(all_problems_reported),
            cmocka_unit_test(warn_mode),
            cmocka_unit_test(address_and_contact_bounds),
            cmocka_unit_test(lab_mismatch),
            cmocka_unit_test(refused_without_items),
            cmocka_unit_test(unknown_field_hint),
            cmocka_unit_test(reported_before_sampled_warns),
            cmocka_unit_test(invalid_utf8_in_document),
            cmocka_unit_test(long_values_are_quoted_short),
            cmocka_unit_test(utf8_validity),
            cmocka_unit_test(dotted_path_accessor),
            cmocka_unit_test(problems_list),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
