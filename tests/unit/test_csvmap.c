/*
 * Unit tests of ql_csvmap: the column table agrees with the Avro schema
 * (every leaf field has exactly one column of the right type and enum
 * symbols), headers are unique and found in both languages, cells translate
 * to contract values and back, a joining column's cells fold into one value,
 * and a document written as CSV cells and read
 * back through the documented reading loop is the same document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

#include "ql_csvmap.h"

static const ql_csv_column_t *col(ql_csv_col_t id)
{
        const ql_csv_column_t *c = ql_csvmap_column(id);
        assert_non_null(c);
        return c;
}

/* ---- the table ---------------------------------------------------------- */

static void test_table_shape(void **state)
{
        (void)state;
        assert_null(ql_csvmap_column(QL_CSV_NCOLUMNS));
        assert_null(ql_csvmap_column((ql_csv_col_t)-1));
        for (int i = 0; i < QL_CSV_NCOLUMNS; i++) {
                const ql_csv_column_t *c = col((ql_csv_col_t)i);
                assert_int_equal(c->id, i);
                /* English header = flattened field name. */
                char flat[128];
                if (c->level == QL_CSV_ITEM_LEVEL)
                        snprintf(flat, sizeof(flat), "item_%s", c->key);
                else if (c->parent)
                        snprintf(flat, sizeof(flat), "%s_%s", c->parent,
                                 c->key);
                else
                        snprintf(flat, sizeof(flat), "%s", c->key);
                assert_string_equal(c->en, flat);
                assert_non_null(c->zh[0]);
                assert_int_equal(c->type == QL_CSV_ENUM, c->symbols != NULL);
        }
}

static void test_headers_unique(void **state)
{
        (void)state;
        const char *seen[512];
        size_t n = 0;
        for (int i = 0; i < QL_CSV_NCOLUMNS; i++) {
                const ql_csv_column_t *c = col((ql_csv_col_t)i);
                seen[n++] = c->en;
                for (const char *const *w = c->zh; *w; w++)
                        seen[n++] = *w;
                assert_true(n < 500);
        }
        for (size_t a = 0; a < n; a++)
                for (size_t b = a + 1; b < n; b++)
                        if (!strcasecmp(seen[a], seen[b]))
                                fail_msg("header '%s' names two columns",
                                         seen[a]);
}

/* The newest schema file of QL_SCHEMA_DIR (the tests' environment). */
static json_t *load_schema(void)
{
        const char *dir = getenv("QL_SCHEMA_DIR");
        if (!dir)
                dir = QL_SOURCE_SCHEMA_DIR;
        char path[1024];
        json_t *newest = NULL;
        for (int v = 1; v < 100; v++) {
                snprintf(path, sizeof(path), "%s/inspection_result.v%d.avsc",
                         dir, v);
                json_error_t err;
                json_t *s = json_load_file(path, 0, &err);
                if (!s)
                        break;
                json_decref(newest);
                newest = s;
        }
        if (!newest)
                fail_msg("no schema in %s", dir);
        return newest;
}

static json_t *field_of(json_t *record, const char *name)
{
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(record, "fields"), i, f)
        {
                if (!strcmp(json_string_value(json_object_get(f, "name")),
                            name))
                        return f;
        }
        return NULL;
}

/* The record inside a field type that is a record or ["null", record]. */
static json_t *record_of(json_t *type)
{
        if (json_is_array(type))
                type = json_array_get(type, 1);
        if (!json_is_object(type))
                return NULL;
        const char *t = json_string_value(json_object_get(type, "type"));
        if (t && !strcmp(t, "array"))
                type = json_object_get(type, "items");
        return json_is_object(type) ? type : NULL;
}

static int is_nullable_string(json_t *t)
{
        return json_is_array(t) && json_array_size(t) == 2 &&
               !strcmp(json_string_value(json_array_get(t, 0)), "null") &&
               !strcmp(json_string_value(json_array_get(t, 1)), "string");
}

static void check_type(const ql_csv_column_t *c, json_t *t)
{
        const char *logical =
            json_string_value(json_object_get(t, "logicalType"));
        const char *prim = json_is_string(t)
                               ? json_string_value(t)
                               : json_string_value(json_object_get(t, "type"));
        switch (c->type) {
        case QL_CSV_STRING:
                assert_true(json_is_string(t) && !strcmp(prim, "string"));
                break;
        case QL_CSV_NSTRING:
                if (!is_nullable_string(t))
                        fail_msg("%s is not [null, string]", c->en);
                break;
        case QL_CSV_BOOL:
                assert_string_equal(prim, "boolean");
                break;
        case QL_CSV_DATE:
                assert_string_equal(prim, "int");
                assert_string_equal(logical, "date");
                break;
        case QL_CSV_TIMESTAMP:
                assert_string_equal(prim, "long");
                assert_string_equal(logical, "timestamp-millis");
                break;
        case QL_CSV_ENUM: {
                assert_string_equal(prim, "enum");
                json_t *syms = json_object_get(t, "symbols");
                size_t n = 0;
                for (const ql_csv_symbol_t *s = c->symbols; s->symbol; s++) {
                        assert_string_equal(
                            s->symbol,
                            json_string_value(json_array_get(syms, n)));
                        assert_non_null(s->zh[0]);
                        n++;
                }
                assert_int_equal(n, json_array_size(syms));
                break;
        }
        }
}

/* Every column's path exists in the schema with the column's type, and every
 * leaf field of the schema has a column. */
static void test_table_matches_schema(void **state)
{
        (void)state;
        json_t *schema = load_schema();
        json_t *items =
            record_of(json_object_get(field_of(schema, "items"), "type"));
        assert_non_null(items);
        for (int i = 0; i < QL_CSV_NCOLUMNS; i++) {
                const ql_csv_column_t *c = col((ql_csv_col_t)i);
                json_t *f;
                if (c->level == QL_CSV_ITEM_LEVEL) {
                        f = field_of(items, c->key);
                } else if (c->parent) {
                        json_t *p = field_of(schema, c->parent);
                        assert_non_null(p);
                        f = field_of(record_of(json_object_get(p, "type")),
                                     c->key);
                } else {
                        f = field_of(schema, c->key);
                }
                if (!f)
                        fail_msg("column %s: no field %s in the schema", c->en,
                                 c->path);
                check_type(c, json_object_get(f, "type"));
        }
        /* Completeness: count the schema's leaves. */
        size_t leaves = 0, i, j;
        json_t *f, *g;
        json_array_foreach(json_object_get(schema, "fields"), i, f)
        {
                const char *name =
                    json_string_value(json_object_get(f, "name"));
                json_t *rec = record_of(json_object_get(f, "type"));
                if (rec && json_is_array(json_object_get(rec, "fields"))) {
                        json_array_foreach(json_object_get(rec, "fields"), j, g)
                        {
                                char flat[128];
                                snprintf(flat, sizeof(flat), "%s_%s",
                                         !strcmp(name, "items") ? "item" : name,
                                         json_string_value(
                                             json_object_get(g, "name")));
                                if (!ql_csvmap_header(flat, strlen(flat), NULL))
                                        fail_msg(
                                            "schema field %s has no column",
                                            flat);
                                leaves++;
                        }
                } else {
                        if (!ql_csvmap_header(name, strlen(name), NULL))
                                fail_msg("schema field %s has no column", name);
                        leaves++;
                }
        }
        assert_int_equal(leaves, QL_CSV_NCOLUMNS);
        json_decref(schema);
}

/* ---- headers ------------------------------------------------------------ */

static void expect_header(const char *text, ql_csv_col_t id, ql_csv_lang_t lang)
{
        ql_csv_lang_t got = (ql_csv_lang_t)-1;
        const ql_csv_column_t *c = ql_csvmap_header(text, strlen(text), &got);
        if (!c)
                fail_msg("header '%s' not found", text);
        assert_int_equal(c->id, id);
        assert_int_equal(got, lang);
}

static void test_header_lookup(void **state)
{
        (void)state;
        expect_header("report_no", QL_CSV_REPORT_NO, QL_CSV_EN);
        expect_header("  Enterprise_Credit_Code\t",
                      QL_CSV_ENTERPRISE_CREDIT_CODE, QL_CSV_EN);
        expect_header("\xEF\xBB\xBFresult_id", QL_CSV_RESULT_ID, QL_CSV_EN);
        expect_header("\xEF\xBB\xBF报告编号", QL_CSV_REPORT_NO, QL_CSV_ZH);
        expect_header("　受检单位　", QL_CSV_ENTERPRISE_NAME, QL_CSV_ZH);
        expect_header("统一社会信用代码", QL_CSV_ENTERPRISE_CREDIT_CODE,
                      QL_CSV_ZH);
        expect_header("产品名称", QL_CSV_PRODUCT_NAME, QL_CSV_ZH);
        expect_header("规格型号", QL_CSV_PRODUCT_MODEL, QL_CSV_ZH);
        expect_header("生产日期/批号", QL_CSV_PRODUCT_PRODUCTION_DATE,
                      QL_CSV_ZH);
        expect_header("批号", QL_CSV_PRODUCT_BATCH, QL_CSV_ZH);
        expect_header("检验项目", QL_CSV_ITEM_NAME, QL_CSV_ZH);
        expect_header("标准要求", QL_CSV_ITEM_REQUIREMENT, QL_CSV_ZH);
        expect_header("实测值", QL_CSV_ITEM_MEASURED, QL_CSV_ZH);
        expect_header("单项判定", QL_CSV_ITEM_VERDICT, QL_CSV_ZH);
        expect_header("检验结论", QL_CSV_VERDICT, QL_CSV_ZH);
        expect_header("承检机构", QL_CSV_LAB_NAME, QL_CSV_ZH);
        expect_header("承检机构代码", QL_CSV_LAB_CODE, QL_CSV_ZH);
        expect_header("单位", QL_CSV_ITEM_UNIT, QL_CSV_ZH);
        /* Schema version 2's fields, and the names real exports use. */
        expect_header("enterprise_address", QL_CSV_ENTERPRISE_ADDRESS,
                      QL_CSV_EN);
        expect_header("Enterprise_Contact", QL_CSV_ENTERPRISE_CONTACT,
                      QL_CSV_EN);
        expect_header("manufacturer_address", QL_CSV_MANUFACTURER_ADDRESS,
                      QL_CSV_EN);
        expect_header("受检单位地址", QL_CSV_ENTERPRISE_ADDRESS, QL_CSV_ZH);
        expect_header("被抽样单位地址", QL_CSV_ENTERPRISE_ADDRESS, QL_CSV_ZH);
        expect_header("联系人", QL_CSV_ENTERPRISE_CONTACT, QL_CSV_ZH);
        expect_header("联系电话", QL_CSV_ENTERPRISE_CONTACT, QL_CSV_ZH);
        expect_header("标称生产企业地址", QL_CSV_MANUFACTURER_ADDRESS,
                      QL_CSV_ZH);
        expect_header("生产企业地址", QL_CSV_MANUFACTURER_ADDRESS, QL_CSV_ZH);
        expect_header("标称生产企业名称", QL_CSV_MANUFACTURER_NAME, QL_CSV_ZH);
        expect_header("生产单位", QL_CSV_MANUFACTURER_NAME, QL_CSV_ZH);
        expect_header("受检单位", QL_CSV_ENTERPRISE_NAME, QL_CSV_ZH);
        /* Only the contact joins several header cells. */
        for (int i = 0; i < QL_CSV_NCOLUMNS; i++)
                assert_int_equal(col((ql_csv_col_t)i)->joins,
                                 i == QL_CSV_ENTERPRISE_CONTACT);
        /* Length is honoured: the text need not be NUL-terminated. */
        const ql_csv_column_t *c = ql_csvmap_header("kindXYZ", 4, NULL);
        assert_non_null(c);
        assert_int_equal(c->id, QL_CSV_KIND);
        assert_null(ql_csvmap_header("colour", 6, NULL));
        assert_null(ql_csvmap_header("受检", strlen("受检"), NULL));
        assert_null(ql_csvmap_header("", 0, NULL));
        assert_null(ql_csvmap_header(NULL, 0, NULL));
}

/* ---- values ------------------------------------------------------------- */

/* Translate and return the value as compact JSON text (static buffer). */
static const char *val(ql_csv_col_t id, ql_csv_lang_t lang, const char *cell)
{
        static char out[256];
        char err[256] = "";
        json_t *v = NULL;
        if (ql_csvmap_value(col(id), lang, cell, strlen(cell), &v, err,
                            sizeof(err))) {
                assert_null(v);
                snprintf(out, sizeof(out), "ERROR %s", err);
                return out;
        }
        assert_non_null(v);
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(out, sizeof(out), "%s", s);
        free(s);
        json_decref(v);
        return out;
}

static void test_enum_values(void **state)
{
        (void)state;
        assert_string_equal(val(QL_CSV_ITEM_VERDICT, QL_CSV_ZH, "合格"),
                            "\"PASS\"");
        assert_string_equal(val(QL_CSV_ITEM_VERDICT, QL_CSV_ZH, " 不符合 "),
                            "\"FAIL\"");
        assert_string_equal(val(QL_CSV_ITEM_VERDICT, QL_CSV_ZH, "不作判定"),
                            "\"NOT_JUDGED\"");
        assert_string_equal(val(QL_CSV_VERDICT, QL_CSV_ZH, "合格"),
                            "\"CONFORMING\"");
        assert_string_equal(val(QL_CSV_VERDICT, QL_CSV_ZH, "不合格"),
                            "\"NONCONFORMING\"");
        assert_string_equal(val(QL_CSV_VERDICT, QL_CSV_ZH, "拒检"),
                            "\"REFUSED\"");
        assert_string_equal(val(QL_CSV_LEVEL, QL_CSV_ZH, "区级"),
                            "\"DISTRICT\"");
        assert_string_equal(val(QL_CSV_LEVEL, QL_CSV_ZH, "国家"),
                            "\"NATIONAL\"");
        assert_string_equal(val(QL_CSV_KIND, QL_CSV_ZH, "复查"), "\"RECHECK\"");
        assert_string_equal(val(QL_CSV_KIND, QL_CSV_ZH, "复检"), "\"RETEST\"");
        assert_string_equal(val(QL_CSV_STAGE, QL_CSV_ZH, "电商"),
                            "\"ECOMMERCE\"");
        assert_string_equal(val(QL_CSV_ENTERPRISE_ROLE, QL_CSV_ZH, "销售者"),
                            "\"SELLER\"");
        assert_string_equal(val(QL_CSV_ITEM_IMPORTANCE, QL_CSV_ZH, "未分级"),
                            "\"UNCLASSIFIED\"");
        assert_string_equal(val(QL_CSV_ITEM_IMPORTANCE, QL_CSV_ZH, "A类"),
                            "\"A\"");
        /* Symbols are accepted in both languages, ignoring case. */
        assert_string_equal(val(QL_CSV_ITEM_VERDICT, QL_CSV_EN, "FAIL"),
                            "\"FAIL\"");
        assert_string_equal(val(QL_CSV_ITEM_VERDICT, QL_CSV_ZH, "fail"),
                            "\"FAIL\"");
        assert_string_equal(val(QL_CSV_KIND, QL_CSV_EN, "Supervision"),
                            "\"SUPERVISION\"");
        /* Chinese words only under Chinese headers. */
        const char *e = val(QL_CSV_ITEM_VERDICT, QL_CSV_EN, "合格");
        assert_non_null(strstr(e, "ERROR item_verdict: '合格' is not one of "
                                  "PASS, FAIL, NOT_JUDGED"));
        e = val(QL_CSV_VERDICT, QL_CSV_ZH, "良好");
        assert_non_null(strstr(e, "ERROR verdict: '良好'"));
        /* The same word means what its column says. */
        const char *sym = ql_csvmap_symbol(col(QL_CSV_VERDICT), QL_CSV_ZH,
                                           "不合格", strlen("不合格"));
        assert_string_equal(sym, "NONCONFORMING");
        assert_null(ql_csvmap_symbol(col(QL_CSV_REPORT_NO), QL_CSV_ZH, "A", 1));
}

static void test_scalar_values(void **state)
{
        (void)state;
        assert_string_equal(val(QL_CSV_ITEM_SAFETY, QL_CSV_ZH, "是"), "true");
        assert_string_equal(val(QL_CSV_ITEM_SAFETY, QL_CSV_ZH, "否"), "false");
        assert_string_equal(val(QL_CSV_ITEM_SAFETY, QL_CSV_EN, "TRUE"), "true");
        assert_string_equal(val(QL_CSV_ITEM_SAFETY, QL_CSV_ZH, "false"),
                            "false");
        assert_true(
            !strncmp(val(QL_CSV_ITEM_SAFETY, QL_CSV_EN, "是"), "ERROR", 5));
        assert_true(
            !strncmp(val(QL_CSV_ITEM_SAFETY, QL_CSV_EN, "yes"), "ERROR", 5));

        /* Empty cells are null whatever the type. */
        assert_string_equal(val(QL_CSV_REMARKS, QL_CSV_ZH, "/"), "null");
        assert_string_equal(val(QL_CSV_REMARKS, QL_CSV_EN, " ／ "), "null");
        assert_string_equal(val(QL_CSV_REPORT_NO, QL_CSV_EN, ""), "null");
        assert_string_equal(val(QL_CSV_ITEM_VERDICT, QL_CSV_EN, "/"), "null");
        assert_string_equal(val(QL_CSV_ITEM_SAFETY, QL_CSV_EN, "  "), "null");

        /* Strings: trimmed, kept otherwise, UTF-8 checked. */
        assert_string_equal(val(QL_CSV_ITEM_MEASURED, QL_CSV_ZH, " 0.12 "),
                            "\"0.12\"");
        assert_string_equal(val(QL_CSV_PRODUCT_MODEL, QL_CSV_ZH, "BV 2.5mm²"),
                            "\"BV 2.5mm²\"");
        assert_true(!strncmp(val(QL_CSV_PRODUCT_NAME, QL_CSV_EN, "\xff\xfe"),
                             "ERROR product_name", 18));

        /* Dates. */
        assert_string_equal(val(QL_CSV_SAMPLED_ON, QL_CSV_EN, "2025-03-01"),
                            "\"2025-03-01\"");
        assert_true(!strncmp(val(QL_CSV_SAMPLED_ON, QL_CSV_EN, "2025/3/1"),
                             "ERROR sampled_on", 16));
        assert_string_equal(val(QL_CSV_SAMPLED_ON, QL_CSV_ZH, "2025/3/1"),
                            "\"2025-03-01\"");
        assert_string_equal(val(QL_CSV_SAMPLED_ON, QL_CSV_ZH, "2025.12.31"),
                            "\"2025-12-31\"");
        assert_string_equal(val(QL_CSV_SAMPLED_ON, QL_CSV_ZH, "2024年2月29日"),
                            "\"2024-02-29\"");
        assert_true(!strncmp(val(QL_CSV_SAMPLED_ON, QL_CSV_ZH, "2025年2月29日"),
                             "ERROR", 5));
        assert_true(!strncmp(val(QL_CSV_SAMPLED_ON, QL_CSV_ZH, "2025/3-1"),
                             "ERROR", 5));
        assert_true(!strncmp(val(QL_CSV_SAMPLED_ON, QL_CSV_ZH, "2025-03-01x"),
                             "ERROR", 5));

        /* Timestamps. */
        assert_string_equal(
            val(QL_CSV_REPORTED_AT, QL_CSV_EN, "2025-03-01T09:30:00.000+08:00"),
            "\"2025-03-01T09:30:00.000+08:00\"");
        assert_true(
            !strncmp(val(QL_CSV_REPORTED_AT, QL_CSV_EN, "2025-03-01 09:30"),
                     "ERROR reported_at", 17));
        assert_string_equal(
            val(QL_CSV_REPORTED_AT, QL_CSV_ZH, "2025-03-01 09:30"),
            "\"2025-03-01T09:30:00+08:00\"");
        assert_string_equal(val(QL_CSV_REPORTED_AT, QL_CSV_ZH, "2025/3/1 9:30"),
                            "\"2025-03-01T09:30:00+08:00\"");
        assert_string_equal(
            val(QL_CSV_REPORTED_AT, QL_CSV_ZH, "2025/3/1 24:00"),
            "ERROR reported_at: '2025/3/1 24:00' is not a "
            "timestamp (ISO 8601, or 'YYYY-MM-DD HH:MM[:SS]' "
            "in China time)");
        assert_string_equal(val(QL_CSV_REPORTED_AT, QL_CSV_ZH, "2025年3月1日"),
                            "\"2025-03-01T00:00:00+08:00\"");
        assert_string_equal(val(QL_CSV_REPORTED_AT, QL_CSV_ZH, "2025-03-01Z"),
                            "ERROR reported_at: '2025-03-01Z' is not a "
                            "timestamp (ISO 8601, or 'YYYY-MM-DD HH:MM[:SS]' "
                            "in China time)");
}

/* Fold cells as a reader does for a column named by several headers. */
static const char *joined(const char *const *cells, size_t n)
{
        static char out[256];
        json_t *acc = NULL;
        for (size_t i = 0; i < n; i++) {
                json_t *v;
                char err[256];
                assert_int_equal(ql_csvmap_value(col(QL_CSV_ENTERPRISE_CONTACT),
                                                 QL_CSV_ZH, cells[i],
                                                 strlen(cells[i]), &v, err,
                                                 sizeof(err)),
                                 0);
                assert_int_equal(ql_csvmap_join(&acc, v), 0);
        }
        char *s = json_dumps(acc, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(out, sizeof(out), "%s", s);
        free(s);
        json_decref(acc);
        return out;
}

static void test_join(void **state)
{
        (void)state;
        const char *both[] = {" 王芳 ", "0592-5551234"};
        assert_string_equal(joined(both, 2), "\"王芳 0592-5551234\"");
        const char *phone_only[] = {"/", "0592-5551234"};
        assert_string_equal(joined(phone_only, 2), "\"0592-5551234\"");
        const char *name_only[] = {"王芳", "", "／"};
        assert_string_equal(joined(name_only, 3), "\"王芳\"");
        const char *none[] = {"/", " "};
        assert_string_equal(joined(none, 2), "null");
        const char *one[] = {"王芳 13800000000"};
        assert_string_equal(joined(one, 1), "\"王芳 13800000000\"");
        /* Only strings join; a failed join leaves the value alone. */
        json_t *acc = json_string("a");
        assert_int_equal(ql_csvmap_join(&acc, json_true()), -1);
        assert_string_equal(json_string_value(acc), "a");
        json_decref(acc);
}

/* ---- documents ---------------------------------------------------------- */

static json_t *sample_doc(int with_manufacturer, int items)
{
        json_error_t err;
        json_t *doc = json_loads(
            "{\"result_id\": \"XMQI:2025-JD-000123\","
            " \"report_no\": \"2025-JD-000123\","
            " \"lab\": {\"code\": \"XMQI\", \"name\": "
            "\"厦门市产品质量监督检验院\"},"
            " \"plan_id\": \"XM-SC2025-03\", \"level\": \"MUNICIPAL\","
            " \"kind\": \"RECHECK\", \"refers_to\": \"XMQI:2024-JD-000042\","
            " \"stage\": \"CIRCULATION\", \"sampled_on\": \"2025-03-01\","
            " \"reported_at\": \"2025-03-20T10:15:00.000+08:00\","
            " \"enterprise\": {\"credit_code\": \"91350200MA2YJ1XR9G\","
            "   \"name\": \"厦门市鑫华商贸有限公司\", \"region_code\": "
            "\"350206\","
            "   \"role\": \"SELLER\","
            "   \"address\": \"厦门市湖里区金山街道云顶中路2188号, 101室\","
            "   \"contact\": \"王芳 0592-5551234\"},"
            " \"manufacturer\": null,"
            " \"product\": {\"category\": \"儿童用品\", \"name\": \"塑胶玩具\","
            "   \"brand\": \"乐宝\", \"model\": \"LB-22, \\\"大号\\\"\","
            "   \"grade\": null, \"batch\": \"20250105\","
            "   \"production_date\": \"2025-01-05\"},"
            " \"items\": ["
            "  {\"name\": \"邻苯二甲酸酯增塑剂\", \"clause\": \"GB 6675.1-2014 "
            "4.3.3\","
            "   \"requirement\": \"≤0.1\", \"measured\": \"0.35\", \"unit\": "
            "\"%\","
            "   \"importance\": \"A\", \"safety\": true, \"verdict\": "
            "\"FAIL\"},"
            "  {\"name\": \"标识和使用说明\", \"clause\": null,"
            "   \"requirement\": \"应符合标准要求\", \"measured\": \"符合\","
            "   \"unit\": null, \"importance\": \"B\", \"safety\": false,"
            "   \"verdict\": \"PASS\"},"
            "  {\"name\": \"小零件\", \"clause\": \"GB 6675.2-2014 5.1\","
            "   \"requirement\": \"不应有小零件\", \"measured\": \"/\","
            "   \"unit\": null, \"importance\": \"UNCLASSIFIED\", \"safety\": "
            "true,"
            "   \"verdict\": \"NOT_JUDGED\"}"
            " ],"
            " \"verdict\": \"NONCONFORMING\", \"remarks\": \"复查\\n第二行\"}",
            0, &err);
        if (!doc)
                fail_msg("sample: %s", err.text);
        if (with_manufacturer) {
                json_t *m =
                    json_pack("{s:n, s:s, s:s, s:s}", "credit_code", "name",
                              "东莞市某某玩具有限公司", "region_code", "441900",
                              "address", "广东省东莞市\"某某\"工业园");
                json_object_set_new(doc, "manufacturer", m);
        }
        json_t *arr = json_object_get(doc, "items");
        while (json_array_size(arr) > (size_t)items)
                json_array_remove(arr, json_array_size(arr) - 1);
        /* "/" as a measured value reads back as empty: use null. */
        if (items >= 3)
                json_object_set_new(json_array_get(arr, 2), "measured",
                                    json_null());
        return doc;
}

static void test_cells(void **state)
{
        (void)state;
        json_t *doc = sample_doc(0, 3);
        json_t *item0 = json_array_get(json_object_get(doc, "items"), 0);
        json_t *item2 = json_array_get(json_object_get(doc, "items"), 2);
        assert_string_equal(
            ql_csvmap_cell(col(QL_CSV_ENTERPRISE_NAME), QL_CSV_ZH, doc, item0),
            "厦门市鑫华商贸有限公司");
        assert_string_equal(
            ql_csvmap_cell(col(QL_CSV_ITEM_VERDICT), QL_CSV_ZH, doc, item0),
            "不合格");
        assert_string_equal(
            ql_csvmap_cell(col(QL_CSV_ITEM_VERDICT), QL_CSV_EN, doc, item0),
            "FAIL");
        assert_string_equal(
            ql_csvmap_cell(col(QL_CSV_ITEM_SAFETY), QL_CSV_ZH, doc, item0),
            "是");
        assert_string_equal(
            ql_csvmap_cell(col(QL_CSV_ITEM_SAFETY), QL_CSV_EN, doc, item0),
            "true");
        assert_string_equal(
            ql_csvmap_cell(col(QL_CSV_ITEM_IMPORTANCE), QL_CSV_ZH, doc, item2),
            "未分级");
        assert_string_equal(
            ql_csvmap_cell(col(QL_CSV_ITEM_VERDICT), QL_CSV_ZH, doc, item2),
            "不判定");
        assert_string_equal(
            ql_csvmap_cell(col(QL_CSV_VERDICT), QL_CSV_ZH, doc, item0),
            "不合格");
        assert_string_equal(
            ql_csvmap_cell(col(QL_CSV_LEVEL), QL_CSV_ZH, doc, NULL), "市级");
        assert_string_equal(
            ql_csvmap_cell(col(QL_CSV_KIND), QL_CSV_ZH, doc, NULL), "复查");
        /* Empty, absent and null are "/". */
        assert_string_equal(ql_csvmap_cell(col(QL_CSV_MANUFACTURER_NAME),
                                           QL_CSV_ZH, doc, item0),
                            "/");
        assert_string_equal(
            ql_csvmap_cell(col(QL_CSV_PRODUCT_GRADE), QL_CSV_EN, doc, item0),
            "/");
        assert_string_equal(
            ql_csvmap_cell(col(QL_CSV_ITEM_NAME), QL_CSV_EN, doc, NULL), "/");
        /* A value of the wrong type has no cell. */
        json_object_set_new(item0, "safety", json_string("yes"));
        assert_null(
            ql_csvmap_cell(col(QL_CSV_ITEM_SAFETY), QL_CSV_EN, doc, item0));
        json_object_set_new(doc, "level", json_string("GALACTIC"));
        assert_null(ql_csvmap_cell(col(QL_CSV_LEVEL), QL_CSV_EN, doc, item0));
        json_decref(doc);
}

/* Write doc as rows of cells, then read them back the way the header comment
 * of ql_csvmap.h says a reader does.  Returns the document read. */
static json_t *round_trip(const json_t *doc, ql_csv_lang_t lang)
{
        json_t *items = json_object_get(doc, "items");
        size_t nrows = json_array_size(items) ? json_array_size(items) : 1;
        const ql_csv_column_t *cols[QL_CSV_NCOLUMNS];
        ql_csv_lang_t langs[QL_CSV_NCOLUMNS];

        /* Header row, in reverse order to show order does not matter. */
        for (int i = 0; i < QL_CSV_NCOLUMNS; i++) {
                const ql_csv_column_t *c =
                    col((ql_csv_col_t)(QL_CSV_NCOLUMNS - 1 - i));
                const char *h = lang == QL_CSV_ZH ? c->zh[0] : c->en;
                cols[i] = ql_csvmap_header(h, strlen(h), &langs[i]);
                assert_ptr_equal(cols[i], c);
                assert_int_equal(langs[i], lang);
        }

        json_t *out = json_object();
        for (size_t r = 0; r < nrows; r++) {
                json_t *item_in = json_array_get(items, r);
                json_t *item = json_object();
                for (int i = 0; i < QL_CSV_NCOLUMNS; i++) {
                        const char *cell =
                            ql_csvmap_cell(cols[i], lang, doc, item_in);
                        assert_non_null(cell);
                        char err[256];
                        json_t *v;
                        if (ql_csvmap_value(cols[i], langs[i], cell,
                                            strlen(cell), &v, err, sizeof(err)))
                                fail_msg("%s", err);
                        if (cols[i]->level == QL_CSV_ITEM_LEVEL) {
                                assert_int_equal(
                                    ql_csvmap_set(NULL, item, cols[i], v), 0);
                        } else if (r == 0) {
                                assert_int_equal(
                                    ql_csvmap_set(out, NULL, cols[i], v), 0);
                        } else {
                                assert_true(json_equal(
                                    v, ql_csvmap_get(out, NULL, cols[i])));
                                json_decref(v);
                        }
                }
                assert_int_equal(ql_csvmap_add_item(out, item), 0);
        }
        ql_csvmap_finish(out);
        return out;
}

static void expect_round_trip(json_t *doc)
{
        for (int lang = QL_CSV_EN; lang <= QL_CSV_ZH; lang++) {
                json_t *back = round_trip(doc, (ql_csv_lang_t)lang);
                if (!json_equal(doc, back)) {
                        char *a = json_dumps(doc, JSON_SORT_KEYS);
                        char *b = json_dumps(back, JSON_SORT_KEYS);
                        fail_msg("round trip (%s):\n%s\n%s", lang ? "zh" : "en",
                                 a, b);
                }
                json_decref(back);
        }
}

static void test_round_trip(void **state)
{
        (void)state;
        for (int m = 0; m < 2; m++) {
                for (int n = 0; n <= 3; n++) {
                        json_t *doc = sample_doc(m, n);
                        expect_round_trip(doc);
                        json_decref(doc);
                }
        }
        /* A document of schema version 1's shape comes back with the
         * fields added since as null. */
        json_t *doc = sample_doc(1, 2);
        json_t *ent = json_object_get(doc, "enterprise");
        json_t *mf = json_object_get(doc, "manufacturer");
        json_object_del(ent, "address");
        json_object_del(ent, "contact");
        json_object_del(mf, "address");
        json_t *back = round_trip(doc, QL_CSV_ZH);
        assert_true(json_is_null(
            json_object_get(json_object_get(back, "enterprise"), "address")));
        assert_true(json_is_null(
            json_object_get(json_object_get(back, "enterprise"), "contact")));
        assert_true(json_is_null(
            json_object_get(json_object_get(back, "manufacturer"), "address")));
        json_object_set_new(ent, "address", json_null());
        json_object_set_new(ent, "contact", json_null());
        json_object_set_new(mf, "address", json_null());
        assert_true(json_equal(back, doc));
        json_decref(back);
        json_decref(doc);
}

static void test_finish(void **state)
{
        (void)state;
        json_t *doc =
            json_pack("{s:s, s:{s:s}, s:{s:n, s:n}}", "report_no", "R1", "lab",
                      "code", "L1", "manufacturer", "name", "credit_code");
        ql_csvmap_finish(doc);
        assert_string_equal(
            json_string_value(json_object_get(doc, "result_id")), "L1:R1");
        assert_true(json_is_null(json_object_get(doc, "manufacturer")));
        assert_true(json_is_array(json_object_get(doc, "items")));
        assert_true(json_is_null(json_object_get(doc, "refers_to")));
        assert_true(json_is_null(json_object_get(doc, "remarks")));
        /* No product object was read: finish does not invent one. */
        assert_null(json_object_get(doc, "product"));
        json_decref(doc);

        /* A given result_id is kept; a partial manufacturer is completed. */
        doc =
            json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:[{s:s}]}", "result_id",
                      "X:1", "report_no", "R1", "lab", "code", "L1",
                      "manufacturer", "name", "某厂", "items", "name", "甲醛");
        ql_csvmap_finish(doc);
        assert_string_equal(
            json_string_value(json_object_get(doc, "result_id")), "X:1");
        json_t *m = json_object_get(doc, "manufacturer");
        assert_true(json_is_null(json_object_get(m, "credit_code")));
        assert_true(json_is_null(json_object_get(m, "region_code")));
        json_t *it = json_array_get(json_object_get(doc, "items"), 0);
        assert_true(json_is_null(json_object_get(it, "clause")));
        assert_true(json_is_null(json_object_get(it, "unit")));
        json_decref(doc);

        /* set/add_item refuse what has no place. */
        assert_int_equal(
            ql_csvmap_set(NULL, NULL, col(QL_CSV_ITEM_NAME), json_string("x")),
            -1);
        assert_int_equal(
            ql_csvmap_set(NULL, NULL, col(QL_CSV_REPORT_NO), json_string("x")),
            -1);
        assert_int_equal(ql_csvmap_add_item(NULL, json_object()), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_table_shape),
            cmocka_unit_test(test_headers_unique),
            cmocka_unit_test(test_table_matches_schema),
            cmocka_unit_test(test_header_lookup),
            cmocka_unit_test(test_enum_values),
            cmocka_unit_test(test_scalar_values),
            cmocka_unit_test(test_join),
            cmocka_unit_test(test_cells),
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_finish),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
