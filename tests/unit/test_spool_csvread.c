/*
 * Unit tests for spool_csvread: reports grouped from consecutive rows, English
 * and Chinese headers giving the same documents, the line of every report
 * and of every problem, chunking at every byte, rows that disagree, invalid
 * UTF-8, split reports (every part rejected), unreadable headers and
 * structures, unknown columns ignored with one warning, schema version 2's
 * columns (the contact joined from two), size limits, quoted line breaks, CRLF,
 * blank lines and the callback's stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spool_csvread.h"
#include "seen.h"

/*------------------------------------------------------------------------
 * Helpers
 */

#define CC1 "91350200MA2YJ1XR9G"
#define CC2 "914403001922038216"

static const char header_en[] =
    "report_no,lab_code,lab_name,plan_id,level,kind,refers_to,stage,"
    "sampled_on,reported_at,enterprise_credit_code,enterprise_name,"
    "enterprise_region_code,enterprise_role,product_category,product_name,"
    "item_name,item_importance,item_safety,item_verdict,verdict\n";

static const char header_zh[] =
    "报告编号,承检机构代码,承检机构,抽查计划编号,抽查级别,抽查类型,原报告编号,"
    "抽样环节,抽样日期,报告日期,统一社会信用代码,受检单位,所在地区代码,"
    "企业类型,"
    "产品类别,产品名称,检验项目,重要程度,安全项目,单项判定,检验结论\n";

/* One English row. */
static void row_en(char **buf, const char *report, const char *cc,
                   const char *ent, const char *item, const char *iv,
                   const char *verdict)
{
        char *old = *buf;
        if (asprintf(buf,
                     "%s%s,XMQI,厦门市产品质量监督检验院,P-1,DISTRICT,"
                     "SUPERVISION,/,CIRCULATION,2026-02-10,"
                     "2026-03-02T10:15:00+08:00,%s,%s,350206,SELLER,"
                     "儿童用品,积木,%s,A,true,%s,%s\n",
                     old, report, cc, ent, item, iv, verdict) < 0)
                fail();
        free(old);
}

static void row_zh(char **buf, const char *report, const char *cc,
                   const char *ent, const char *item, const char *iv,
                   const char *verdict)
{
        char *old = *buf;
        if (asprintf(buf,
                     "%s%s,XMQI,厦门市产品质量监督检验院,P-1,区级,监督抽查,/,"
                     "流通,2026-02-10,2026-03-02T10:15:00+08:00,%s,%s,350206,"
                     "销售者,儿童用品,积木,%s,A,是,%s,%s\n",
                     old, report, cc, ent, item, iv, verdict) < 0)
                fail();
        free(old);
}

static int collect(void *arg, const spool_csvread_rec_t *rec)
{
        return seen_add(arg, rec->line, rec->report_no, rec->doc, rec->errors);
}

/* Read text in chunks of `chunk` bytes (0: all at once) through both
 * passes.  Returns the last rc. */
static spool_csvread_rc_t read_csv(const char *text, size_t chunk,
                                   const spool_csvread_opts_t *opts, seen_t *s,
                                   spool_csvread_t **keep)
{
        spool_csvread_t *r = spool_csvread_new(opts);
        assert_non_null(r);
        size_t len = strlen(text), step = chunk ? chunk : len;
        spool_csvread_rc_t rc = SPOOL_CSVREAD_OK;
        for (size_t off = 0; off < len && rc == SPOOL_CSVREAD_OK; off += step)
                rc = spool_csvread_scan(r, text + off,
                                        off + step > len ? len - off : step);
        if (rc == SPOOL_CSVREAD_OK)
                rc = spool_csvread_scan_end(r);
        for (size_t off = 0; off < len && rc == SPOOL_CSVREAD_OK; off += step)
                rc = spool_csvread_feed(r, text + off,
                                        off + step > len ? len - off : step,
                                        collect, s);
        if (rc == SPOOL_CSVREAD_OK)
                rc = spool_csvread_end(r, collect, s);
        if (keep)
                *keep = r;
        else
                spool_csvread_destroy(r);
        return rc;
}

static const char *str_at(const json_t *doc, const char *a, const char *b)
{
        const json_t *v = json_object_get(doc, a);
        if (b)
                v = json_object_get(v, b);
        return json_string_value(v);
}

/*------------------------------------------------------------------------
 * Tests
 */

static char *two_reports(void)
{
        char *t = strdup(header_en);
        row_en(&t, "R1", CC1, "甲商行", "小零件", "FAIL", "NONCONFORMING");
        row_en(&t, "R1", CC1, "甲商行", "锐利边缘", "PASS", "NONCONFORMING");
        row_en(&t, "R2", CC2, "乙公司", "标识", "PASS", "CONFORMING");
        return t;
}

static void test_two_reports(void **state)
{
        char *t = two_reports();
        seen_t s = {0};
        assert_int_equal(read_csv(t, 0, NULL, &s, NULL), SPOOL_CSVREAD_OK);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.line[0], 2);
        assert_int_equal(s.line[1], 4);
        assert_string_equal(s.report_no[0], "R1");
        assert_string_equal(s.errors[0], "");
        assert_non_null(s.doc[0]);
        assert_non_null(s.doc[1]);
        json_t *d = s.doc[0];
        assert_string_equal(str_at(d, "result_id", NULL), "XMQI:R1");
        assert_string_equal(str_at(d, "enterprise", "credit_code"), CC1);
        assert_string_equal(str_at(d, "enterprise", "name"), "甲商行");
        json_t *items = json_object_get(d, "items");
        assert_int_equal(json_array_size(items), 2);
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(items, 1), "name")),
                            "锐利边缘");
        assert_true(
            json_is_true(json_object_get(json_array_get(items, 0), "safety")));
        assert_int_equal(json_array_size(json_object_get(s.doc[1], "items")),
                         1);
        seen_free(&s);
        free(t);
}

/* Every chunk size gives the same records as one chunk. */
static void test_chunking(void **state)
{
        char *t = two_reports();
        seen_t whole = {0};
        assert_int_equal(read_csv(t, 0, NULL, &whole, NULL), SPOOL_CSVREAD_OK);
        for (size_t chunk = 1; chunk < 64; chunk += 7) {
                seen_t s = {0};
                assert_int_equal(read_csv(t, chunk, NULL, &s, NULL),
                                 SPOOL_CSVREAD_OK);
                assert_int_equal(s.n, whole.n);
                for (size_t i = 0; i < s.n; i++) {
                        assert_int_equal(s.line[i], whole.line[i]);
                        assert_true(json_equal(s.doc[i], whole.doc[i]));
                }
                seen_free(&s);
        }
        seen_free(&whole);
        free(t);
}

static void test_chinese_headers_same_documents(void **state)
{
        char *en = two_reports();
        char *zh = strdup(header_zh);
        row_zh(&zh, "R1", CC1, "甲商行", "小零件", "不合格", "不合格");
        row_zh(&zh, "R1", CC1, "甲商行", "锐利边缘", "合格", "不合格");
        row_zh(&zh, "R2", CC2, "乙公司", "标识", "合格", "合格");
        seen_t a = {0}, b = {0};
        assert_int_equal(read_csv(en, 0, NULL, &a, NULL), SPOOL_CSVREAD_OK);
        assert_int_equal(read_csv(zh, 0, NULL, &b, NULL), SPOOL_CSVREAD_OK);
        assert_int_equal(a.n, 2);
        assert_int_equal(b.n, 2);
        for (size_t i = 0; i < 2; i++) {
                assert_string_equal(b.errors[i], "");
                assert_true(json_equal(a.doc[i], b.doc[i]));
        }
        seen_free(&a);
        seen_free(&b);
        free(en);
        free(zh);
}

static void test_rows_disagree(void **state)
{
        char *t = strdup(header_en);
        row_en(&t, "R1", CC1, "甲商行", "小零件", "FAIL", "NONCONFORMING");
        row_en(&t, "R1", CC1, "乙商行", "锐利边缘", "PASS", "NONCONFORMING");
        row_en(&t, "R2", CC2, "乙公司", "标识", "PASS", "CONFORMING");
        seen_t s = {0};
        assert_int_equal(read_csv(t, 0, NULL, &s, NULL), SPOOL_CSVREAD_OK);
        assert_int_equal(s.n, 2);
        assert_null(s.doc[0]);
        assert_non_null(strstr(s.errors[0], "enterprise.name"));
        assert_non_null(strstr(s.errors[0], "'甲商行' on line 2"));
        assert_non_null(strstr(s.errors[0], "'乙商行' on line 3"));
        assert_non_null(s.doc[1]);
        seen_free(&s);
        free(t);
}

static void test_invalid_utf8_row(void **state)
{
        char *t = strdup(header_en);
        row_en(&t, "R1", CC1, "甲商行", "小零件", "PASS", "CONFORMING");
        row_en(&t, "R1", CC1, "甲商行", "bad\xff\xfe", "PASS", "CONFORMING");
        row_en(&t, "R2", CC2, "乙公司", "标识", "PASS", "CONFORMING");
        seen_t s = {0};
        assert_int_equal(read_csv(t, 0, NULL, &s, NULL), SPOOL_CSVREAD_OK);
        assert_int_equal(s.n, 2);
        assert_null(s.doc[0]);
        assert_int_equal(s.line[0], 2);
        assert_non_null(strstr(s.errors[0],
                               "items[1].name: not valid UTF-8 text (line 3)"));
        /* The name failed, so "missing name" is not said again. */
        assert_null(strstr(s.errors[0], "missing"));
        assert_non_null(s.doc[1]);
        seen_free(&s);
        free(t);
}

static void test_split_report_rejected_whole(void **state)
{
        char *t = strdup(header_en);
        row_en(&t, "R1", CC1, "甲商行", "小零件", "PASS", "CONFORMING");
        row_en(&t, "R2", CC2, "乙公司", "标识", "PASS", "CONFORMING");
        row_en(&t, "R1", CC1, "甲商行", "锐利边缘", "PASS", "CONFORMING");
        row_en(&t, "R3", CC2, "乙公司", "标识", "PASS", "CONFORMING");
        seen_t s = {0};
        spool_csvread_t *r;
        assert_int_equal(read_csv(t, 0, NULL, &s, &r), SPOOL_CSVREAD_OK);
        assert_int_equal(spool_csvread_split_reports(r), 1);
        spool_csvread_destroy(r);
        assert_int_equal(s.n, 4);
        assert_null(s.doc[0]);
        assert_int_equal(s.line[0], 2);
        assert_non_null(strstr(s.errors[0], "report_no: the rows of this "
                                            "report are not together"));
        assert_non_null(s.doc[1]);
        assert_null(s.doc[2]);
        assert_int_equal(s.line[2], 4);
        assert_string_equal(s.report_no[2], "R1");
        assert_non_null(s.doc[3]);
        seen_free(&s);
        free(t);
}

static void test_verdict_and_lab(void **state)
{
        char *t = strdup(header_en);
        /* FAIL under CONFORMING */
        row_en(&t, "R1", CC1, "甲商行", "小零件", "FAIL", "CONFORMING");
        /* bad credit code */
        row_en(&t, "R2", "914403001922038217", "乙公司", "标识", "PASS",
               "CONFORMING");
        seen_t s = {0};
        spool_csvread_opts_t o = {.validate = {QL_USCC_STRICT, "OTHER"}};
        assert_int_equal(read_csv(t, 0, &o, &s, NULL), SPOOL_CSVREAD_OK);
        assert_int_equal(s.n, 2);
        assert_null(s.doc[0]);
        assert_null(s.doc[1]);
        assert_non_null(strstr(s.errors[0], "lab.code"));
        assert_non_null(strstr(s.errors[0], "verdict"));
        assert_non_null(strstr(s.errors[1], "enterprise.credit_code"));
        seen_free(&s);
        free(t);
}

static void test_header_problems(void **state)
{
        const char *texts[] = {
            "report_no,lab_code,bogus\nR1,XMQI,x\n",
            "报告编号,报告编号\nR1,R1\n",
            "",
            "\n\n  \n",
            "报告编号,联系人,联系人\nR1,a,b\n",
        };
        /* An unknown column alone does not make a file unreadable, but
         * when the header does not do, the unknown ones are named too: a
         * misspelt required column is both. */
        const char *expect[] = {
            "1 column not in the table ignored: 'bogus' (cell 3)",
            "appears twice", "no header row", "no header row",
            "column enterprise_contact appears twice (cells 2 and 3)"};
        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                seen_t s = {0};
                spool_csvread_t *r;
                assert_int_equal(read_csv(texts[i], 0, NULL, &s, &r),
                                 SPOOL_CSVREAD_BAD_FILE);
                assert_int_equal(s.n, 0);
                size_t line = 99;
                const ql_problems_t *p = spool_csvread_problems(r, &line);
                assert_true(p->n > 0);
                int found = 0;
                for (size_t k = 0; k < p->n; k++)
                        found |= strstr(p->v[k].message, expect[i]) != NULL;
                if (!found)
                        fail_msg("case %zu: '%s' not in '%s'", i, expect[i],
                                 p->v[0].message);
                if (i == 0) {
                        assert_int_equal(line, 1);
                        /* and the missing required columns are listed */
                        assert_true(p->n > 3);
                }
                spool_csvread_destroy(r);
        }
}

static void test_ignored_columns(void **state)
{
        /* 序号 and an empty header cell are ignored columns. */
        char *t = NULL;
        if (asprintf(&t, "序号,%.*s,\n", (int)strlen(header_en) - 1,
                     header_en) < 0)
                fail();
        char *rows = strdup("");
        row_en(&rows, "R1", CC1, "甲商行", "小零件", "PASS", "CONFORMING");
        char *text = NULL;
        rows[strlen(rows) - 1] = '\0';
        if (asprintf(&text, "%s1,%s,\n2,%s,stray\n", t, rows, rows) < 0)
                fail();
        seen_t s = {0};
        assert_int_equal(read_csv(text, 0, NULL, &s, NULL), SPOOL_CSVREAD_OK);
        assert_int_equal(s.n, 1);
        assert_null(s.doc[0]);
        assert_non_null(strstr(s.errors[0], "cell 23 has no column header "
                                            "(line 3)"));
        seen_free(&s);
        free(t);
        free(rows);
        free(text);
}

/* The header's warnings as one string ("" if none); checks there is at
 * most one. */
static const char *warnings_of(const spool_csvread_t *r, size_t *line)
{
        const ql_problems_t *w = spool_csvread_warnings(r, line);
        assert_true(w->n <= 1);
        if (!w->n)
                return "";
        assert_string_equal(w->v[0].field, "header");
        return w->v[0].message;
}

/* Columns not in the table, wherever they are and whatever their cells
 * hold, are ignored: the file is read, with one warning naming them. */
static void test_unknown_columns_warned(void **state)
{
        char *t = NULL;
        if (asprintf(&t, "\n检验员,%.*s,抽样单编号,x_lims_id\n",
                     (int)strlen(header_en) - 1, header_en) < 0)
                fail();
        char *rows = strdup("");
        row_en(&rows, "R1", CC1, "甲商行", "小零件", "FAIL", "NONCONFORMING");
        row_en(&rows, "R1", CC1, "甲商行", "锐利边缘", "PASS", "NONCONFORMING");
        row_en(&rows, "R2", CC2, "乙公司", "标识", "PASS", "CONFORMING");
        /* each row: a value before and two after, different per row */
        int n = 0;
        for (char *line = strtok(rows, "\n"); line; line = strtok(NULL, "\n")) {
                char *old = t;
                if (asprintf(&t, "%s张三%d,%s,CY-%d,\"a,b\"\n", old, n, line,
                             n) < 0)
                        fail();
                free(old);
                n++;
        }
        const char *want = "3 columns not in the table ignored: '检验员' "
                           "(cell 1), '抽样单编号' (cell 23), 'x_lims_id' "
                           "(cell 24)";
        seen_t whole = {0};
        spool_csvread_t *r;
        assert_int_equal(read_csv(t, 0, NULL, &whole, &r), SPOOL_CSVREAD_OK);
        assert_int_equal(whole.n, 2);
        assert_non_null(whole.doc[0]);
        assert_non_null(whole.doc[1]);
        size_t line = 0;
        assert_string_equal(warnings_of(r, &line), want);
        assert_int_equal(line, 2);
        assert_int_equal(spool_csvread_problems(r, NULL)->n, 0);
        spool_csvread_destroy(r);
        /* The same read in chunks. */
        for (size_t chunk = 1; chunk < 40; chunk += 13) {
                seen_t s = {0};
                assert_int_equal(read_csv(t, chunk, NULL, &s, &r),
                                 SPOOL_CSVREAD_OK);
                assert_int_equal(s.n, whole.n);
                for (size_t i = 0; i < s.n; i++)
                        assert_true(json_equal(s.doc[i], whole.doc[i]));
                assert_string_equal(warnings_of(r, NULL), want);
                spool_csvread_destroy(r);
                seen_free(&s);
        }
        /* The scan alone has them already (what ql-spool reports). */
        r = spool_csvread_new(NULL);
        assert_int_equal(spool_csvread_scan(r, t, strlen(t)), SPOOL_CSVREAD_OK);
        assert_int_equal(spool_csvread_scan_end(r), SPOOL_CSVREAD_OK);
        assert_string_equal(warnings_of(r, NULL), want);
        spool_csvread_destroy(r);
        seen_free(&whole);
        free(t);
        free(rows);

        /* A file whose columns are all known: no warning. */
        t = two_reports();
        seen_t s = {0};
        assert_int_equal(read_csv(t, 0, NULL, &s, &r), SPOOL_CSVREAD_OK);
        assert_string_equal(warnings_of(r, NULL), "");
        spool_csvread_destroy(r);
        seen_free(&s);
        free(t);

        /* Many of them: twenty named, the rest counted; names quoted
         * short and without control characters. */
        char *h = NULL;
        if (asprintf(&h, "%.*s", (int)strlen(header_en) - 1, header_en) < 0)
                fail();
        for (int i = 0; i < 24; i++) {
                char *old = h;
                if (asprintf(&h, "%s,extra%d", old, i) < 0)
                        fail();
                free(old);
        }
        char *text = NULL;
        if (asprintf(&text, "%s,\"tab\there\",%s\n", h,
                     "一二三四五六七八九十一二三四五六七八九十") < 0)
                fail();
        rows = strdup("");
        row_en(&rows, "R1", CC1, "甲商行", "小零件", "PASS", "CONFORMING");
        char *old = text;
        if (asprintf(&text, "%s%s", old, rows) < 0)
                fail();
        free(old);
        assert_int_equal(read_csv(text, 0, NULL, &s, &r), SPOOL_CSVREAD_OK);
        assert_int_equal(s.n, 1);
        assert_non_null(s.doc[0]);
        const char *w = warnings_of(r, NULL);
        assert_non_null(strstr(w, "26 columns not in the table ignored: "
                                  "'extra0' (cell 22), 'extra1' (cell 23)"));
        assert_non_null(strstr(w, "'extra19' (cell 41) and 6 more"));
        assert_null(strstr(w, "extra20"));
        spool_csvread_destroy(r);
        seen_free(&s);
        /* ... and the control character and the long name, when named */
        free(text);
        if (asprintf(&text, "%.*s,\"tab\there\",%s\n%s",
                     (int)strlen(header_en) - 1, header_en,
                     "一二三四五六七八九十一二三四五六七八九十", rows) < 0)
                fail();
        assert_int_equal(read_csv(text, 0, NULL, &s, &r), SPOOL_CSVREAD_OK);
        assert_string_equal(warnings_of(r, NULL),
                            "2 columns not in the table ignored: 'tab?here' "
                            "(cell 22), '一二三四五六七八九十一二三...' "
                            "(cell 23)");
        spool_csvread_destroy(r);
        seen_free(&s);
        free(text);
        free(rows);
        free(h);
}

/* Schema version 2's columns: the same documents from English and Chinese
 * headers; the contact from 联系人 and 联系电话 together or either alone;
 * the header variants of real exports. */
static void test_v2_columns(void **state)
{
#define ROW_START "XMQI,厦门院,P-1,DISTRICT,SUPERVISION,CIRCULATION,2026-02-10,"
        static const char en[] =
            "report_no,lab_code,lab_name,plan_id,level,kind,stage,sampled_on,"
            "reported_at,enterprise_credit_code,enterprise_name,"
            "enterprise_region_code,enterprise_role,enterprise_address,"
            "enterprise_contact,manufacturer_name,manufacturer_address,"
            "product_category,product_name,item_name,item_importance,"
            "item_safety,item_verdict,verdict\n"
            "R1," ROW_START "2026-03-02T10:15:00+08:00," CC1 ",甲商行,350206,"
            "SELLER,\"厦门市湖里区云顶中路2188号, 101室\",王芳 0592-5551234,"
            "深圳某厂,深圳市宝安区某路2号,儿童用品,积木,小零件,A,true,PASS,"
            "CONFORMING\n"
            "R2," ROW_START "2026-03-02T10:15:00+08:00," CC1 ",甲商行,350206,"
            "SELLER,/,0592-5551234,/,/,儿童用品,积木,小零件,A,true,PASS,"
            "CONFORMING\n"
            "R3," ROW_START "2026-03-02T10:15:00+08:00," CC1 ",甲商行,350206,"
            "SELLER,/,/,/,/,儿童用品,积木,小零件,A,true,PASS,CONFORMING\n";
        static const char zh[] =
            "报告编号,承检机构代码,承检机构,抽查计划编号,抽查级别,抽查类型,"
            "抽样环节,抽样日期,报告日期,统一社会信用代码,受检单位,"
            "所在地区代码,企业类型,被抽样单位地址,联系人,标称生产企业名称,"
            "标称生产企业地址,产品类别,产品名称,检验项目,重要程度,安全项目,"
            "单项判定,检验结论,联系电话\n"
            "R1," ROW_START "2026-03-02T10:15:00+08:00," CC1 ",甲商行,350206,"
            "SELLER,\"厦门市湖里区云顶中路2188号, 101室\",王芳,深圳某厂,"
            "深圳市宝安区某路2号,儿童用品,积木,小零件,A,true,PASS,CONFORMING,"
            "0592-5551234\n"
            "R2," ROW_START "2026-03-02T10:15:00+08:00," CC1 ",甲商行,350206,"
            "SELLER,/,/,/,/,儿童用品,积木,小零件,A,true,PASS,CONFORMING,"
            "0592-5551234\n"
            "R3," ROW_START "2026-03-02T10:15:00+08:00," CC1 ",甲商行,350206,"
            "SELLER,/,／,/,/,儿童用品,积木,小零件,A,true,PASS,CONFORMING,\n";
        seen_t a = {0}, b = {0};
        spool_csvread_t *r;
        assert_int_equal(read_csv(en, 0, NULL, &a, NULL), SPOOL_CSVREAD_OK);
        assert_int_equal(read_csv(zh, 3, NULL, &b, &r), SPOOL_CSVREAD_OK);
        assert_string_equal(warnings_of(r, NULL), "");
        spool_csvread_destroy(r);
        assert_int_equal(a.n, 3);
        assert_int_equal(b.n, 3);
        for (size_t i = 0; i < 3; i++) {
                assert_string_equal(a.errors[i], "");
                assert_string_equal(b.errors[i], "");
                assert_true(json_equal(a.doc[i], b.doc[i]));
        }
        json_t *d = b.doc[0];
        assert_string_equal(str_at(d, "enterprise", "address"),
                            "厦门市湖里区云顶中路2188号, 101室");
        assert_string_equal(str_at(d, "enterprise", "contact"),
                            "王芳 0592-5551234");
        assert_string_equal(str_at(d, "manufacturer", "name"), "深圳某厂");
        assert_string_equal(str_at(d, "manufacturer", "address"),
                            "深圳市宝安区某路2号");
        d = b.doc[1];
        assert_true(json_is_null(
            json_object_get(json_object_get(d, "enterprise"), "address")));
        assert_string_equal(str_at(d, "enterprise", "contact"), "0592-5551234");
        assert_true(json_is_null(json_object_get(d, "manufacturer")));
        d = b.doc[2];
        assert_true(json_is_null(
            json_object_get(json_object_get(d, "enterprise"), "contact")));
        seen_free(&a);
        seen_free(&b);

        /* Other names: 受检单位地址, 联系电话 alone, 生产单位, 生产企业地址;
         * a file without the new columns gives them null. */
        static const char zh2[] =
            "报告编号,承检机构代码,承检机构,抽查计划编号,抽查级别,抽查类型,"
            "抽样环节,抽样日期,报告日期,统一社会信用代码,受检单位,"
            "所在地区代码,企业类型,受检单位地址,联系电话,生产单位,"
            "生产企业地址,产品类别,产品名称,检验项目,重要程度,安全项目,"
            "单项判定,检验结论\n"
            "R1," ROW_START "2026-03-02T10:15:00+08:00," CC1 ",甲商行,350206,"
            "SELLER,厦门市思明区某路1号,13800000000,某厂,某地,儿童用品,积木,"
            "小零件,A,true,PASS,CONFORMING\n";
        assert_int_equal(read_csv(zh2, 0, NULL, &a, NULL), SPOOL_CSVREAD_OK);
        assert_int_equal(a.n, 1);
        d = a.doc[0];
        assert_non_null(d);
        assert_string_equal(str_at(d, "enterprise", "address"),
                            "厦门市思明区某路1号");
        assert_string_equal(str_at(d, "enterprise", "contact"), "13800000000");
        assert_string_equal(str_at(d, "manufacturer", "name"), "某厂");
        assert_string_equal(str_at(d, "manufacturer", "address"), "某地");
        seen_free(&a);
        char *t = two_reports();
        assert_int_equal(read_csv(t, 0, NULL, &a, NULL), SPOOL_CSVREAD_OK);
        d = a.doc[0];
        assert_true(json_is_null(
            json_object_get(json_object_get(d, "enterprise"), "address")));
        assert_true(json_is_null(
            json_object_get(json_object_get(d, "enterprise"), "contact")));
        seen_free(&a);
        free(t);

        /* The rows of a report must agree on each part of the contact. */
        static const char split[] =
            "报告编号,承检机构代码,承检机构,抽查计划编号,抽查级别,抽查类型,"
            "抽样环节,抽样日期,报告日期,统一社会信用代码,受检单位,"
            "所在地区代码,企业类型,联系人,产品类别,产品名称,检验项目,"
            "重要程度,安全项目,单项判定,检验结论,联系电话\n"
            "R1," ROW_START "2026-03-02T10:15:00+08:00," CC1 ",甲商行,350206,"
            "SELLER,王芳,儿童用品,积木,小零件,A,true,PASS,CONFORMING,1\n"
            "R1," ROW_START "2026-03-02T10:15:00+08:00," CC1 ",甲商行,350206,"
            "SELLER,王芳,儿童用品,积木,标识,A,true,PASS,CONFORMING,1\n"
            "R2," ROW_START "2026-03-02T10:15:00+08:00," CC1 ",甲商行,350206,"
            "SELLER,王芳,儿童用品,积木,小零件,A,true,PASS,CONFORMING,1\n"
            "R2," ROW_START "2026-03-02T10:15:00+08:00," CC1 ",甲商行,350206,"
            "SELLER,王芳,儿童用品,积木,标识,A,true,PASS,CONFORMING,2\n";
        assert_int_equal(read_csv(split, 0, NULL, &a, NULL), SPOOL_CSVREAD_OK);
        assert_int_equal(a.n, 2);
        assert_non_null(a.doc[0]);
        assert_string_equal(str_at(a.doc[0], "enterprise", "contact"),
                            "王芳 1");
        assert_int_equal(json_array_size(json_object_get(a.doc[0], "items")),
                         2);
        assert_null(a.doc[1]);
        assert_non_null(strstr(a.errors[1],
                               "enterprise.contact: rows of this report "
                               "disagree on column enterprise_contact: "
                               "'王芳 1' on line 4, '王芳 2' on line 5"));
        seen_free(&a);
#undef ROW_START
}

static void test_unclosed_quote_and_long_row(void **state)
{
        char *t = two_reports();
        char *open = NULL;
        if (asprintf(&open, "%sR3,\"never closed,\n%s", t, "more\n") < 0)
                fail();
        seen_t s = {0};
        spool_csvread_t *r;
        assert_int_equal(read_csv(open, 0, NULL, &s, &r),
                         SPOOL_CSVREAD_BAD_FILE);
        assert_int_equal(s.n, 0); /* found by the scan: nothing read */
        size_t line;
        const ql_problems_t *p = spool_csvread_problems(r, &line);
        assert_int_equal(line, 5);
        assert_non_null(strstr(p->v[0].message, "never closed"));
        spool_csvread_destroy(r);

        /* The unclosed quote runs on: the row is too long at line 5. */
        char *runaway = strdup(open);
        for (int i = 0; i < 20; i++) {
                char *old = runaway;
                if (asprintf(&runaway, "%stwenty-nine bytes of text ..\n",
                             old) < 0)
                        fail();
                free(old);
        }
        spool_csvread_opts_t o = {.max_row_bytes = 400};
        assert_int_equal(read_csv(runaway, 0, &o, &s, &r),
                         SPOOL_CSVREAD_BAD_FILE);
        assert_int_equal(s.n, 0);
        p = spool_csvread_problems(r, &line);
        assert_int_equal(line, 5);
        assert_non_null(strstr(p->v[0].message, "longer than 400 bytes"));
        spool_csvread_destroy(r);
        free(runaway);
        seen_free(&s);
        free(open);
        free(t);
}

static void test_quoted_newline_crlf_blank_lines(void **state)
{
        char *t = strdup(header_en);
        row_en(&t, "R1", CC1, "\"甲\n商行\"", "小零件", "PASS", "CONFORMING");
        char *text = NULL;
        if (asprintf(&text, "\r\n%s\r\n\r\n", t) < 0)
                fail();
        row_en(&text, "R2", CC2, "乙公司", "标识", "PASS", "CONFORMING");
        /* CRLF everywhere the rows end */
        char *crlf = malloc(strlen(text) * 2 + 1), *o = crlf;
        for (const char *p = text; *p; p++) {
                if (*p == '\n' && (p == text || p[-1] != '\r'))
                        *o++ = '\r';
                *o++ = *p;
        }
        *o = '\0';
        seen_t s = {0};
        assert_int_equal(read_csv(crlf, 5, NULL, &s, NULL), SPOOL_CSVREAD_OK);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.line[0], 3); /* after a blank line and the header */
        assert_int_equal(s.line[1], 7); /* the cell spans lines 3-4 */
        assert_non_null(s.doc[0]);
        assert_non_null(strstr(str_at(s.doc[0], "enterprise", "name"), "\n"));
        assert_non_null(s.doc[1]);
        seen_free(&s);
        free(t);
        free(text);
        free(crlf);
}

static void test_too_many_rows(void **state)
{
        char *t = strdup(header_en);
        for (int i = 0; i < 5; i++)
                row_en(&t, "R1", CC1, "甲商行", "小零件", "PASS", "CONFORMING");
        row_en(&t, "R2", CC2, "乙公司", "标识", "PASS", "CONFORMING");
        seen_t s = {0};
        spool_csvread_opts_t o = {.max_report_rows = 3};
        assert_int_equal(read_csv(t, 0, &o, &s, NULL), SPOOL_CSVREAD_OK);
        assert_int_equal(s.n, 2);
        assert_null(s.doc[0]);
        assert_non_null(strstr(s.errors[0], "more than 3 rows"));
        assert_non_null(s.doc[1]);
        seen_free(&s);
        free(t);
}

static void test_stop(void **state)
{
        char *t = two_reports();
        seen_t s = {.stop_after = 1};
        assert_int_equal(read_csv(t, 0, NULL, &s, NULL), SPOOL_CSVREAD_STOPPED);
        assert_int_equal(s.n, 1);
        seen_free(&s);
        free(t);
}

static void test_bad_words_and_slash(void **state)
{
        char *t = strdup(header_zh);
        row_zh(&t, "R1", CC1, "甲商行", "小零件", "良好", "合格");
        row_zh(&t, "/", CC1, "甲商行", "小零件", "合格", "合格");
        seen_t s = {0};
        assert_int_equal(read_csv(t, 0, NULL, &s, NULL), SPOOL_CSVREAD_OK);
        assert_int_equal(s.n, 2);
        assert_null(s.doc[0]);
        assert_non_null(strstr(s.errors[0], "items[0].verdict: "));
        assert_non_null(strstr(s.errors[0], "良好"));
        assert_null(s.report_no[1]); /* "/" is empty */
        assert_null(s.doc[1]);
        assert_non_null(strstr(s.errors[1], "report_no"));
        seen_free(&s);
        free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_two_reports),
            cmocka_unit_test(test_chunking),
            cmocka_unit_test(test_chinese_headers_same_documents),
            cmocka_unit_test(test_rows_disagree),
            cmocka_unit_test(test_invalid_utf8_row),
            cmocka_unit_test(test_split_report_rejected_whole),
            cmocka_unit_test(test_verdict_and_lab),
            cmocka_unit_test(test_header_problems),
            cmocka_unit_test(test_ignored_columns),
            cmocka_unit_test(test_unknown_columns_warned),
            cmocka_unit_test(test_v2_columns),
            cmocka_unit_test(test_unclosed_quote_and_long_row),
            cmocka_unit_test(test_quoted_newline_crlf_blank_lines),
            cmocka_unit_test(test_too_many_rows),
            cmocka_unit_test(test_stop),
            cmocka_unit_test(test_bad_words_and_slash),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
