/*
 * ql_csvmap: the CSV column table and the translations between CSV cells and
 * result-document values, in both directions.  The table below is the single
 * place where a CSV header, its Chinese names, its JSON path and its value
 * type are defined; ql-spool reads with it, ql-simlab writes with it.
 */
#include "ql_csvmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ql_result.h"
#include "ql_time.h"

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const ql_csv_symbol_t level_symbols[] = {
    {"NATIONAL", WORDS("国家", "国家级", "国抽")},
    {"PROVINCIAL", WORDS("省级", "省", "省抽")},
    {"MUNICIPAL", WORDS("市级", "市", "市抽")},
    {"DISTRICT", WORDS("区级", "区", "区县级", "县级")},
    {NULL, NULL},
};

static const ql_csv_symbol_t kind_symbols[] = {
    {"SUPERVISION", WORDS("监督抽查", "抽查")},
    {"RECHECK", WORDS("复查", "跟踪复查", "整改复查")},
    {"RETEST", WORDS("复检")},
    {NULL, NULL},
};

static const ql_csv_symbol_t stage_symbols[] = {
    {"PRODUCTION", WORDS("生产", "生产领域", "生产环节")},
    {"CIRCULATION", WORDS("流通", "流通领域", "流通环节", "销售")},
    {"ECOMMERCE", WORDS("电商", "电子商务", "网络销售", "电商平台")},
    {NULL, NULL},
};

static const ql_csv_symbol_t role_symbols[] = {
    {"PRODUCER", WORDS("生产者", "生产企业", "生产")},
    {"SELLER", WORDS("销售者", "销售企业", "经销商", "销售")},
    {NULL, NULL},
};

static const ql_csv_symbol_t importance_symbols[] = {
    {"A", WORDS("A", "A类")},
    {"B", WORDS("B", "B类")},
    {"UNCLASSIFIED", WORDS("未分级", "不分级")},
    {NULL, NULL},
};

static const ql_csv_symbol_t item_verdict_symbols[] = {
    {"PASS", WORDS("合格", "符合")},
    {"FAIL", WORDS("不合格", "不符合")},
    {"NOT_JUDGED", WORDS("不判定", "不作判定", "不做判定")},
    {NULL, NULL},
};

static const ql_csv_symbol_t verdict_symbols[] = {
    {"CONFORMING",
     WORDS("合格", "所检项目未发现不合格", "所检项目合格", "符合")},
    {"NONCONFORMING", WORDS("不合格", "不符合")},
    {"REFUSED", WORDS("拒检", "拒绝检验", "拒绝抽样")},
    {NULL, NULL},
};

#define R QL_CSV_RESULT_LEVEL
#define I QL_CSV_ITEM_LEVEL

static const ql_csv_column_t columns[QL_CSV_NCOLUMNS] = {
    {QL_CSV_RESULT_ID, "result_id", WORDS("结果编号"), R, "result_id", NULL,
     "result_id", QL_CSV_STRING, NULL, 0, 0},
    {QL_CSV_REPORT_NO, "report_no", WORDS("报告编号", "报告号"), R, "report_no",
     NULL, "report_no", QL_CSV_STRING, NULL, 1, 0},
    {QL_CSV_LAB_CODE, "lab_code", WORDS("承检机构代码", "检验机构代码"), R,
     "lab.code", "lab", "code", QL_CSV_STRING, NULL, 1, 0},
    {QL_CSV_LAB_NAME, "lab_name",
     WORDS("承检机构", "承检机构名称", "检验机构", "承检单位"), R, "lab.name",
     "lab", "name", QL_CSV_STRING, NULL, 1, 0},
    {QL_CSV_PLAN_ID, "plan_id",
     WORDS("抽查计划编号", "计划编号", "任务编号", "抽查任务编号"), R,
     "plan_id", NULL, "plan_id", QL_CSV_STRING, NULL, 1, 0},
    {QL_CSV_LEVEL, "level", WORDS("抽查级别", "抽查层级"), R, "level", NULL,
     "level", QL_CSV_ENUM, level_symbols, 1, 0},
    {QL_CSV_KIND, "kind", WORDS("抽查类型", "检验类别", "检验类型"), R, "kind",
     NULL, "kind", QL_CSV_ENUM, kind_symbols, 1, 0},
    {QL_CSV_REFERS_TO, "refers_to", WORDS("原报告编号", "原结果编号"), R,
     "refers_to", NULL, "refers_to", QL_CSV_NSTRING, NULL, 0, 0},
    {QL_CSV_STAGE, "stage", WORDS("抽样环节", "抽样领域"), R, "stage", NULL,
     "stage", QL_CSV_ENUM, stage_symbols, 1, 0},
    {QL_CSV_SAMPLED_ON, "sampled_on", WORDS("抽样日期"), R, "sampled_on", NULL,
     "sampled_on", QL_CSV_DATE, NULL, 1, 0},
    {QL_CSV_REPORTED_AT, "reported_at",
     WORDS("报告日期", "签发日期", "报告签发日期"), R, "reported_at", NULL,
     "reported_at", QL_CSV_TIMESTAMP, NULL, 1, 0},
    {QL_CSV_ENTERPRISE_CREDIT_CODE, "enterprise_credit_code",
     WORDS("统一社会信用代码", "受检单位统一社会信用代码", "受检单位信用代码"),
     R, "enterprise.credit_code", "enterprise", "credit_code", QL_CSV_STRING,
     NULL, 1, 0},
    {QL_CSV_ENTERPRISE_NAME, "enterprise_name",
     WORDS("受检单位", "受检单位名称", "被抽样单位", "被抽样单位名称"), R,
     "enterprise.name", "enterprise", "name", QL_CSV_STRING, NULL, 1, 0},
    {QL_CSV_ENTERPRISE_REGION_CODE, "enterprise_region_code",
     WORDS("所在地区代码", "受检单位地区代码", "行政区划代码"), R,
     "enterprise.region_code", "enterprise", "region_code", QL_CSV_STRING, NULL,
     1, 0},
    {QL_CSV_ENTERPRISE_ROLE, "enterprise_role",
     WORDS("企业类型", "受检单位类型"), R, "enterprise.role", "enterprise",
     "role", QL_CSV_ENUM, role_symbols, 1, 0},
    {QL_CSV_ENTERPRISE_ADDRESS, "enterprise_address",
     WORDS("受检单位地址", "被抽样单位地址", "受检企业地址"), R,
     "enterprise.address", "enterprise", "address", QL_CSV_NSTRING, NULL, 0, 0},
    {QL_CSV_ENTERPRISE_CONTACT, "enterprise_contact",
     WORDS("联系人", "联系电话", "联系方式", "受检单位联系人",
           "受检单位联系电话", "被抽样单位联系人", "被抽样单位联系电话"),
     R, "enterprise.contact", "enterprise", "contact", QL_CSV_NSTRING, NULL, 0,
     1},
    {QL_CSV_MANUFACTURER_CREDIT_CODE, "manufacturer_credit_code",
     WORDS("生产企业信用代码", "生产企业统一社会信用代码",
           "标称生产企业信用代码"),
     R, "manufacturer.credit_code", "manufacturer", "credit_code",
     QL_CSV_NSTRING, NULL, 0, 0},
    {QL_CSV_MANUFACTURER_NAME, "manufacturer_name",
     WORDS("生产企业", "生产企业名称", "标称生产企业", "标称生产者",
           "标称生产企业名称", "生产单位"),
     R, "manufacturer.name", "manufacturer", "name", QL_CSV_STRING, NULL, 0, 0},
    {QL_CSV_MANUFACTURER_REGION_CODE, "manufacturer_region_code",
     WORDS("生产企业地区代码", "标称生产企业地区代码"), R,
     "manufacturer.region_code", "manufacturer", "region_code", QL_CSV_NSTRING,
     NULL, 0, 0},
    {QL_CSV_MANUFACTURER_ADDRESS, "manufacturer_address",
     WORDS("生产企业地址", "标称生产企业地址", "标称生产者地址"), R,
     "manufacturer.address", "manufacturer", "address", QL_CSV_NSTRING, NULL, 0,
     0},
    {QL_CSV_PRODUCT_CATEGORY, "product_category",
     WORDS("产品类别", "产品种类", "产品大类"), R, "product.category",
     "product", "category", QL_CSV_STRING, NULL, 1, 0},
    {QL_CSV_PRODUCT_NAME, "product_name", WORDS("产品名称", "样品名称"), R,
     "product.name", "product", "name", QL_CSV_STRING, NULL, 1, 0},
    {QL_CSV_PRODUCT_BRAND, "product_brand", WORDS("商标", "品牌"), R,
     "product.brand", "product", "brand", QL_CSV_NSTRING, NULL, 0, 0},
    {QL_CSV_PRODUCT_MODEL, "product_model", WORDS("规格型号", "型号规格"), R,
     "product.model", "product", "model", QL_CSV_NSTRING, NULL, 0, 0},
    {QL_CSV_PRODUCT_GRADE, "product_grade", WORDS("质量等级", "等级"), R,
     "product.grade", "product", "grade", QL_CSV_NSTRING, NULL, 0, 0},
    {QL_CSV_PRODUCT_BATCH, "product_batch", WORDS("批号", "生产批号"), R,
     "product.batch", "product", "batch", QL_CSV_NSTRING, NULL, 0, 0},
    {QL_CSV_PRODUCT_PRODUCTION_DATE, "product_production_date",
     WORDS("生产日期", "生产日期/批号", "生产日期／批号"), R,
     "product.production_date", "product", "production_date", QL_CSV_NSTRING,
     NULL, 0, 0},
    {QL_CSV_ITEM_NAME, "item_name",
     WORDS("检验项目", "检验项目名称", "项目名称"), I, "items[].name", NULL,
     "name", QL_CSV_STRING, NULL, 1, 0},
    {QL_CSV_ITEM_CLAUSE, "item_clause",
     WORDS("标准条款", "检验依据条款", "条款"), I, "items[].clause", NULL,
     "clause", QL_CSV_NSTRING, NULL, 0, 0},
    {QL_CSV_ITEM_REQUIREMENT, "item_requirement",
     WORDS("标准要求", "技术要求", "标准值"), I, "items[].requirement", NULL,
     "requirement", QL_CSV_NSTRING, NULL, 0, 0},
    {QL_CSV_ITEM_MEASURED, "item_measured",
     WORDS("实测值", "检验结果", "检测结果"), I, "items[].measured", NULL,
     "measured", QL_CSV_NSTRING, NULL, 0, 0},
    {QL_CSV_ITEM_UNIT, "item_unit", WORDS("单位", "计量单位"), I,
     "items[].unit", NULL, "unit", QL_CSV_NSTRING, NULL, 0, 0},
    {QL_CSV_ITEM_IMPORTANCE, "item_importance",
     WORDS("重要程度", "项目类别", "项目重要程度"), I, "items[].importance",
     NULL, "importance", QL_CSV_ENUM, importance_symbols, 1, 0},
    {QL_CSV_ITEM_SAFETY, "item_safety", WORDS("安全项目", "是否安全项目"), I,
     "items[].safety", NULL, "safety", QL_CSV_BOOL, NULL, 1, 0},
    {QL_CSV_ITEM_VERDICT, "item_verdict",
     WORDS("单项判定", "单项结论", "单项判定结果"), I, "items[].verdict", NULL,
     "verdict", QL_CSV_ENUM, item_verdict_symbols, 1, 0},
    {QL_CSV_VERDICT, "verdict", WORDS("检验结论", "结论", "判定结论"), R,
     "verdict", NULL, "verdict", QL_CSV_ENUM, verdict_symbols, 1, 0},
    {QL_CSV_REMARKS, "remarks", WORDS("备注"), R, "remarks", NULL, "remarks",
     QL_CSV_NSTRING, NULL, 0, 0},
};

#undef R
#undef I

/* The booleans' words: [0] true, [1] false. */
static const char *const bool_zh[2][3] = {{"是", "true", NULL},
                                          {"否", "false", NULL}};

const ql_csv_column_t *ql_csvmap_column(ql_csv_col_t id)
{
        if ((int)id < 0 || id >= QL_CSV_NCOLUMNS)
                return NULL;
        return &columns[id];
}

/* Trim ASCII blanks, U+3000 and U+FEFF (the BOM) at both ends. */
static void trim(const char **s, size_t *len)
{
        const unsigned char *p = (const unsigned char *)*s;
        size_t n = *len;
        for (;;) {
                if (n && (p[0] == ' ' || p[0] == '\t' || p[0] == '\r' ||
                          p[0] == '\n')) {
                        p++, n--;
                } else if (n >= 3 &&
                           ((p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) ||
                            (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80))) {
                        p += 3, n -= 3;
                } else {
                        break;
                }
        }
        for (;;) {
                if (n && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
                          p[n - 1] == '\r' || p[n - 1] == '\n')) {
                        n--;
                } else if (n >= 3 && ((p[n - 3] == 0xEF && p[n - 2] == 0xBB &&
                                       p[n - 1] == 0xBF) ||
                                      (p[n - 3] == 0xE3 && p[n - 2] == 0x80 &&
                                       p[n - 1] == 0x80))) {
                        n -= 3;
                } else {
                        break;
                }
        }
        *s = (const char *)p;
        *len = n;
}

static int equals(const char *word, const char *s, size_t len)
{
        return strlen(word) == len && memcmp(word, s, len) == 0;
}

static int equals_nocase(const char *word, const char *s, size_t len)
{
        return strlen(word) == len && strncasecmp(word, s, len) == 0;
}

const ql_csv_column_t *ql_csvmap_header(const char *text, size_t len,
                                        ql_csv_lang_t *lang)
{
        if (!text)
                return NULL;
        trim(&text, &len);
        for (size_t i = 0; i < QL_CSV_NCOLUMNS; i++) {
                if (equals_nocase(columns[i].en, text, len)) {
                        if (lang)
                                *lang = QL_CSV_EN;
                        return &columns[i];
                }
        }
        for (size_t i = 0; i < QL_CSV_NCOLUMNS; i++) {
                for (const char *const *w = columns[i].zh; *w; w++) {
                        if (equals(*w, text, len)) {
                                if (lang)
                                        *lang = QL_CSV_ZH;
                                return &columns[i];
                        }
                }
        }
        return NULL;
}

const char *ql_csvmap_symbol(const ql_csv_column_t *col, ql_csv_lang_t lang,
                             const char *text, size_t len)
{
        if (!col || col->type != QL_CSV_ENUM || !text)
                return NULL;
        trim(&text, &len);
        for (const ql_csv_symbol_t *s = col->symbols; s->symbol; s++)
                if (equals_nocase(s->symbol, text, len))
                        return s->symbol;
        if (lang != QL_CSV_ZH)
                return NULL;
        for (const ql_csv_symbol_t *s = col->symbols; s->symbol; s++)
                for (const char *const *w = s->zh; *w; w++)
                        if (equals(*w, text, len))
                                return s->symbol;
        return NULL;
}

static int is_empty(const char *s, size_t len)
{
        return len == 0 || equals("/", s, len) || equals("／", s, len);
}

/* Read 1..max ASCII digits at *s (advancing it); -1 if there are none. */
static int read_number(const char **s, const char *end, int max)
{
        int v = 0, n = 0;
        while (*s < end && n < max && **s >= '0' && **s <= '9') {
                v = v * 10 + (**s - '0');
                (*s)++, n++;
        }
        return n ? v : -1;
}

/* Skip the literal `lit` at *s; 0 if it is there. */
static int skip(const char **s, const char *end, const char *lit)
{
        size_t n = strlen(lit);
        if ((size_t)(end - *s) < n || memcmp(*s, lit, n) != 0)
                return -1;
        *s += n;
        return 0;
}

static int valid_date(int y, int m, int d)
{
        if (y < 1 || m < 1 || m > 12 || d < 1 || d > 31)
                return 0;
        int32_t days = ql_time_days_from_civil(y, (unsigned)m, (unsigned)d);
        int yy;
        unsigned mm, dd;
        ql_time_civil_from_days(days, &yy, &mm, &dd);
        return yy == y && (int)mm == m && (int)dd == d;
}

/* A lab's way of writing a date: 2025-03-01, 2025-3-1, 2025/3/1, 2025.3.1,
 * 2025年3月1日.  Reads from *s, advancing it; 0 on success. */
static int read_local_date(const char **s, const char *end, int *y, int *m,
                           int *d)
{
        const char *p = *s;
        const char *year = p;
        *y = read_number(&p, end, 4);
        if (*y < 0 || p - year != 4)
                return -1;
        const char *sep2;
        if (!skip(&p, end, "年")) {
                sep2 = "月";
        } else if (p < end && (*p == '-' || *p == '/' || *p == '.')) {
                static const char *const seps[] = {"-", "/", "."};
                sep2 = seps[*p == '-' ? 0 : *p == '/' ? 1 : 2];
                p++;
        } else {
                return -1;
        }
        *m = read_number(&p, end, 2);
        if (*m < 0 || skip(&p, end, sep2))
                return -1;
        *d = read_number(&p, end, 2);
        if (*d < 0)
                return -1;
        if (!strcmp(sep2, "月"))
                skip(&p, end, "日");
        if (!valid_date(*y, *m, *d))
                return -1;
        *s = p;
        return 0;
}

/* Date cell -> "YYYY-MM-DD" in out (>= 11 bytes); 0 on success. */
static int parse_date(ql_csv_lang_t lang, const char *s, size_t len, char *out,
                      size_t out_size)
{
        if (lang == QL_CSV_EN) {
                char buf[16];
                int32_t days;
                if (len >= sizeof(buf))
                        return -1;
                memcpy(buf, s, len);
                buf[len] = '\0';
                if (ql_time_parse_date(buf, &days))
                        return -1;
                ql_time_format_date(days, out, out_size);
                return 0;
        }
        const char *p = s, *end = s + len;
        int y, m, d;
        if (read_local_date(&p, end, &y, &m, &d) || p != end)
                return -1;
        snprintf(out, out_size, "%04d-%02d-%02d", y, m, d);
        return 0;
}

/* Timestamp cell -> ISO 8601 with offset in out (>= 40 bytes).  A timestamp
 * with an offset is kept as written; under ZH a local one is CST. */
static int parse_timestamp(ql_csv_lang_t lang, const char *s, size_t len,
                           char *out, size_t out_size)
{
        char buf[64];
        int64_t ms;
        if (len >= sizeof(buf) || len >= out_size)
                return -1;
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (!ql_time_parse_timestamp(buf, &ms)) {
                memcpy(out, buf, len + 1);
                return 0;
        }
        if (lang == QL_CSV_EN)
                return -1;
        const char *p = s, *end = s + len;
        int y, m, d, hh = 0, mi = 0, ss = 0;
        if (read_local_date(&p, end, &y, &m, &d))
                return -1;
        if (p < end) {
                if (*p != ' ' && *p != 'T')
                        return -1;
                p++;
                hh = read_number(&p, end, 2); /* Excel writes 9:30 */
                if (hh < 0 || skip(&p, end, ":"))
                        return -1;
                const char *mm = p;
                mi = read_number(&p, end, 2);
                if (mi < 0 || p - mm != 2)
                        return -1;
                if (!skip(&p, end, ":")) {
                        const char *sp = p;
                        ss = read_number(&p, end, 2);
                        if (ss < 0 || p - sp != 2)
                                return -1;
                }
                if (p != end || hh > 23 || mi > 59 || ss > 59)
                        return -1;
        }
        snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02d+08:00", y, m, d,
                 hh, mi, ss);
        return 0;
}

static void symbol_list(const ql_csv_column_t *col, char *buf, size_t size)
{
        size_t off = 0;
        buf[0] = '\0';
        for (const ql_csv_symbol_t *s = col->symbols; s->symbol; s++) {
                int n = snprintf(buf + off, size - off, "%s%s", off ? ", " : "",
                                 s->symbol);
                if (n < 0 || (size_t)n >= size - off)
                        break;
                off += (size_t)n;
        }
}

static int bad_value(const ql_csv_column_t *col, const char *cell, size_t len,
                     const char *what, char *errstr, size_t errstr_size)
{
        if (errstr && errstr_size) {
                int shown = len > 60 ? 60 : (int)len;
                snprintf(errstr, errstr_size, "%s: '%.*s'%s %s", col->en, shown,
                         cell, len > 60 ? "..." : "", what);
        }
        return -1;
}

int ql_csvmap_value(const ql_csv_column_t *col, ql_csv_lang_t lang,
                    const char *cell, size_t len, json_t **value, char *errstr,
                    size_t errstr_size)
{
        *value = NULL;
        if (!col) {
                if (errstr && errstr_size)
                        snprintf(errstr, errstr_size, "no column");
                return -1;
        }
        if (!cell)
                cell = "", len = 0;
        trim(&cell, &len);
        if (is_empty(cell, len)) {
                *value = json_null();
                return 0;
        }
        char buf[64];
        switch (col->type) {
        case QL_CSV_STRING:
        case QL_CSV_NSTRING:
                *value = ql_result_utf8_valid(cell, len)
                             ? json_stringn_nocheck(cell, len)
                             : NULL;
                if (!*value)
                        return bad_value(col, "", 0,
                                         "(cell is not valid UTF-8)", errstr,
                                         errstr_size);
                return 0;
        case QL_CSV_ENUM: {
                const char *sym = ql_csvmap_symbol(col, lang, cell, len);
                if (!sym) {
                        char list[160], what[200];
                        symbol_list(col, list, sizeof(list));
                        snprintf(what, sizeof(what), "is not one of %s%s", list,
                                 lang == QL_CSV_EN
                                     ? " (Chinese words are accepted under "
                                       "Chinese headers)"
                                     : " or their Chinese words");
                        return bad_value(col, cell, len, what, errstr,
                                         errstr_size);
                }
                *value = json_string_nocheck(sym); /* ASCII, from the table */
                return 0;
        }
        case QL_CSV_BOOL:
                for (int b = 0; b < 2; b++) {
                        for (const char *const *w = bool_zh[b]; *w; w++) {
                                int ascii = (unsigned char)(*w)[0] < 0x80;
                                if (ascii ? equals_nocase(*w, cell, len)
                                          : lang == QL_CSV_ZH &&
                                                equals(*w, cell, len)) {
                                        *value = json_boolean(b == 0);
                                        return 0;
                                }
                        }
                }
                return bad_value(col, cell, len,
                                 lang == QL_CSV_ZH
                                     ? "is not true/false or 是/否"
                                     : "is not true or false",
                                 errstr, errstr_size);
        case QL_CSV_DATE:
                if (parse_date(lang, cell, len, buf, sizeof(buf)))
                        return bad_value(col, cell, len,
                                         lang == QL_CSV_ZH
                                             ? "is not a date (YYYY-MM-DD, "
                                               "YYYY/M/D or YYYY年M月D日)"
                                             : "is not a date (YYYY-MM-DD)",
                                         errstr, errstr_size);
                *value = json_string(buf);
                return 0;
        case QL_CSV_TIMESTAMP:
                if (parse_timestamp(lang, cell, len, buf, sizeof(buf)))
                        return bad_value(
                            col, cell, len,
                            lang == QL_CSV_ZH
                                ? "is not a timestamp (ISO 8601, or "
                                  "'YYYY-MM-DD HH:MM[:SS]' in China time)"
                                : "is not an ISO 8601 timestamp with offset",
                            errstr, errstr_size);
                *value = json_string(buf);
                return 0;
        }
        return bad_value(col, cell, len, "has an unknown column type", errstr,
                         errstr_size);
}

/* The object a column's value lives in; created in doc when `create`. */
static json_t *container(const json_t *doc, const json_t *item,
                         const ql_csv_column_t *col, int create)
{
        if (col->level == QL_CSV_ITEM_LEVEL)
                return json_is_object(item) ? (json_t *)item : NULL;
        if (!json_is_object(doc))
                return NULL;
        if (!col->parent)
                return (json_t *)doc;
        json_t *obj = json_object_get(doc, col->parent);
        if (json_is_object(obj) || !create)
                return json_is_object(obj) ? obj : NULL;
        obj = json_object();
        if (json_object_set_new((json_t *)doc, col->parent, obj))
                return NULL;
        return obj;
}

int ql_csvmap_set(json_t *doc, json_t *item, const ql_csv_column_t *col,
                  json_t *value)
{
        json_t *obj = col ? container(doc, item, col, 1) : NULL;
        if (!obj || !value) {
                json_decref(value);
                return -1;
        }
        return json_object_set_new_nocheck(obj, col->key, value);
}

json_t *ql_csvmap_get(const json_t *doc, const json_t *item,
                      const ql_csv_column_t *col)
{
        json_t *obj = col ? container(doc, item, col, 0) : NULL;
        return obj ? json_object_get(obj, col->key) : NULL;
}

int ql_csvmap_join(json_t **acc, json_t *part)
{
        if (!json_is_string(part) && !json_is_null(part)) {
                json_decref(part);
                return -1; /* only string columns join */
        }
        if (*acc && json_is_null(part)) {
                json_decref(part);
                return 0;
        }
        if (!*acc || json_is_null(*acc)) {
                json_decref(*acc);
                *acc = part;
                return 0;
        }
        if (!json_is_string(*acc)) {
                json_decref(part);
                return -1;
        }
        size_t a = json_string_length(*acc), b = json_string_length(part);
        char *s = malloc(a + 1 + b);
        json_t *v = NULL;
        if (s) {
                memcpy(s, json_string_value(*acc), a);
                s[a] = ' ';
                memcpy(s + a + 1, json_string_value(part), b);
                /* both parts came through ql_csvmap_value(): valid UTF-8 */
                v = json_stringn_nocheck(s, a + 1 + b);
                free(s);
        }
        json_decref(part);
        if (!v)
                return -1;
        json_decref(*acc);
        *acc = v;
        return 0;
}

int ql_csvmap_add_item(json_t *doc, json_t *item)
{
        if (!json_is_object(doc) || !json_is_object(item)) {
                json_decref(item);
                return -1;
        }
        const char *key;
        json_t *v;
        int empty = 1;
        json_object_foreach(item, key, v)
        {
                if (!json_is_null(v))
                        empty = 0;
        }
        if (empty) {
                json_decref(item);
                return 0;
        }
        json_t *items = json_object_get(doc, "items");
        if (!json_is_array(items)) {
                items = json_array();
                if (json_object_set_new(doc, "items", items)) {
                        json_decref(item);
                        return -1;
                }
        }
        return json_array_append_new(items, item);
}

/* Set obj[key] to null when it is absent. */
static void default_null(json_t *obj, const char *key)
{
        if (json_is_object(obj) && !json_object_get(obj, key))
                json_object_set_new(obj, key, json_null());
}

void ql_csvmap_finish(json_t *doc)
{
        if (!json_is_object(doc))
                return;
        json_t *id = json_object_get(doc, "result_id");
        if (!id || json_is_null(id)) {
                const char *lab = json_string_value(
                    json_object_get(json_object_get(doc, "lab"), "code"));
                const char *no =
                    json_string_value(json_object_get(doc, "report_no"));
                if (lab && no)
                        json_object_set_new(doc, "result_id",
                                            json_sprintf("%s:%s", lab, no));
        }
        if (!json_is_array(json_object_get(doc, "items")))
                json_object_set_new(doc, "items", json_array());

        json_t *mf = json_object_get(doc, "manufacturer");
        if (json_is_object(mf)) {
                const char *key;
                json_t *v;
                int empty = 1;
                json_object_foreach(mf, key, v)
                {
                        if (!json_is_null(v))
                                empty = 0;
                }
                if (empty)
                        json_object_set_new(doc, "manufacturer", json_null());
        } else if (!mf) {
                json_object_set_new(doc, "manufacturer", json_null());
        }

        for (size_t i = 0; i < QL_CSV_NCOLUMNS; i++) {
                const ql_csv_column_t *col = &columns[i];
                if (col->type != QL_CSV_NSTRING)
                        continue;
                if (col->level == QL_CSV_ITEM_LEVEL) {
                        size_t k;
                        json_t *item;
                        json_array_foreach(json_object_get(doc, "items"), k,
                                           item)
                        {
                                default_null(item, col->key);
                        }
                } else {
                        default_null(container(doc, NULL, col, 0), col->key);
                }
        }
}

const char *ql_csvmap_cell(const ql_csv_column_t *col, ql_csv_lang_t lang,
                           const json_t *doc, const json_t *item)
{
        if (!col)
                return NULL;
        json_t *v = ql_csvmap_get(doc, item, col);
        if (!v || json_is_null(v))
                return "/";
        switch (col->type) {
        case QL_CSV_STRING:
        case QL_CSV_NSTRING:
        case QL_CSV_DATE:
        case QL_CSV_TIMESTAMP:
                if (!json_is_string(v))
                        return NULL;
                return json_string_length(v) ? json_string_value(v) : "/";
        case QL_CSV_ENUM:
                if (!json_is_string(v))
                        return NULL;
                for (const ql_csv_symbol_t *s = col->symbols; s->symbol; s++)
                        if (!strcmp(s->symbol, json_string_value(v)))
                                return lang == QL_CSV_ZH ? s->zh[0] : s->symbol;
                return NULL;
        case QL_CSV_BOOL:
                if (!json_is_boolean(v))
                        return NULL;
                if (lang == QL_CSV_ZH)
                        return bool_zh[json_is_true(v) ? 0 : 1][0];
                return json_is_true(v) ? "true" : "false";
        }
        return NULL;
}
