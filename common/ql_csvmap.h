/*
 * ql_csvmap: the one table of CSV columns for result documents (docs/labs.md,
 * "CSV").  A CSV file holds a header row, then one row per inspection item;
 * the result-level columns repeat on every row of a report and the rows of a
 * report are consecutive.  Each column has an English header (the document's
 * field name, nested names flattened with '_': enterprise_credit_code,
 * item_name), one or more Chinese headers as labs write them, a level
 * (result or item), the JSON path it maps to and a value type.  Both
 * directions use this table, so a file ql-simlab writes is a file ql-spool
 * reads.  Pure logic: no I/O.
 *
 * Values.  `/` (or an empty cell, or the full-width `／`) means empty: JSON
 * null.  Enum columns carry the contract's symbols (PASS, A, SUPERVISION...),
 * booleans `true`/`false`, dates `YYYY-MM-DD`, timestamps ISO 8601 with an
 * offset; symbols and true/false are matched ignoring ASCII case (Excel
 * writes TRUE).  Under a Chinese header the usual Chinese words are accepted
 * too, and written when writing Chinese headers:
 *
 *   - item_verdict: 合格/符合 PASS, 不合格/不符合 FAIL,
 *     不判定/不作判定 NOT_JUDGED;
 *   - verdict: 合格 (所检项目未发现不合格) CONFORMING, 不合格 NONCONFORMING,
 *     拒检 REFUSED;
 *   - level: 国家 NATIONAL, 省级 PROVINCIAL, 市级 MUNICIPAL, 区级 DISTRICT;
 *   - kind: 监督抽查 SUPERVISION, 复查 RECHECK, 复检 RETEST;
 *   - stage: 生产 PRODUCTION, 流通 CIRCULATION, 电商 ECOMMERCE;
 *   - enterprise_role: 生产者 PRODUCER, 销售者 SELLER;
 *   - item_importance: A, B, 未分级 UNCLASSIFIED (A类, B类 read too);
 *   - item_safety: 是 true, 否 false;
 *
 * and dates may also be written 2025/3/1, 2025.3.1 or 2025年3月1日;
 * timestamps without an offset ("2025-03-01 09:30[:00]", "2025/3/1 9:30", a
 * date alone) are China Standard Time.  Both are normalised to the
 * contract's forms.  The full list of words is the table in ql_csvmap.c.
 *
 * Decisions a reader should know:
 * - 生产日期/批号 (one column holding "date or batch" in many lab exports)
 *   maps to product.production_date, which the contract defines as the
 *   production date *as printed*, free text; the cell is kept verbatim.
 *   Files with separate 生产日期 and 批号 columns map them one to one.
 * - refers_to (原报告编号) carries the original's result_id
 *   (`<lab code>:<report_no>`), as in JSON.
 * - result_id (结果编号) may be left out of a file: ql_csvmap_finish()
 *   derives it as `<lab.code>:<report_no>`.
 * - The manufacturer_* columns build the nullable `manufacturer` object; a
 *   report whose manufacturer cells are all empty has manufacturer null.
 * - A report without items is written as one row whose item cells are
 *   empty; a row whose item cells are all empty adds no item.
 * - enterprise_contact is one free-text field, and exports often split it
 *   into 联系人 (a person) and 联系电话 (a telephone number): the column
 *   joins, so a file may have either or both, and the contact is the
 *   non-empty cells joined with a space in file order ("王芳 0592-5551234").
 *   Written as one column, 联系人.
 *
 * Reading (ql-spool), one CSV file:
 *
 *     header:  for each cell i: col[i] = ql_csvmap_header(text, len, &lang[i])
 *              (NULL: a column not in the table, which the reader ignores;
 *              a column named twice unless col->joins, and a missing
 *              required column (col->required) are the reader's to reject)
 *     rows:    a row whose report_no differs from the previous row's starts a
 *              new document: doc = json_object().  For each mapped cell:
 *                ql_csvmap_value(col[i], lang[i], cell, len, &v, err, size)
 *              result-level: on the report's first row
 *                ql_csvmap_set(doc, NULL, col[i], v); on later rows compare
 *                v with ql_csvmap_get(doc, NULL, col[i]) (json_equal) and
 *                reject a report whose result-level cells disagree;
 *              item-level: ql_csvmap_set(NULL, item, col[i], v) into a fresh
 *                item object, then ql_csvmap_add_item(doc, item).
 *              A joining column named by several cells: v is the values of
 *                its cells folded with ql_csvmap_join(), in file order.
 *     report:  ql_csvmap_finish(doc), then ql_result_validate(doc, ...).
 *
 * Writing (ql-simlab): the header row is col->en or col->zh[0] for every
 * column in table order (ql_csvmap_column(0 .. QL_CSV_NCOLUMNS-1)); each item
 * of a document is one row whose cells are ql_csvmap_cell(col, lang, doc,
 * item).  Cell text is unquoted: the writer quotes it (libcsv csv_write).
 * Writing then reading gives back the document (absent nullable fields come
 * back as null).
 */
#ifndef QL_CSVMAP_H
#define QL_CSVMAP_H

#include <jansson.h>
#include <stddef.h>

/* The columns, in the order a writer puts them. */
typedef enum {
        QL_CSV_RESULT_ID = 0,
        QL_CSV_REPORT_NO,
        QL_CSV_LAB_CODE,
        QL_CSV_LAB_NAME,
        QL_CSV_PLAN_ID,
        QL_CSV_LEVEL,
        QL_CSV_KIND,
        QL_CSV_REFERS_TO,
        QL_CSV_STAGE,
        QL_CSV_SAMPLED_ON,
        QL_CSV_REPORTED_AT,
        QL_CSV_ENTERPRISE_CREDIT_CODE,
        QL_CSV_ENTERPRISE_NAME,
        QL_CSV_ENTERPRISE_REGION_CODE,
        QL_CSV_ENTERPRISE_ROLE,
        QL_CSV_ENTERPRISE_ADDRESS, /* schema version 2 */
        QL_CSV_ENTERPRISE_CONTACT, /* schema version 2 */
        QL_CSV_MANUFACTURER_CREDIT_CODE,
        QL_CSV_MANUFACTURER_NAME,
        QL_CSV_MANUFACTURER_REGION_CODE,
        QL_CSV_MANUFACTURER_ADDRESS, /* schema version 2 */
        QL_CSV_PRODUCT_CATEGORY,
        QL_CSV_PRODUCT_NAME,
        QL_CSV_PRODUCT_BRAND,
        QL_CSV_PRODUCT_MODEL,
        QL_CSV_PRODUCT_GRADE,
        QL_CSV_PRODUCT_BATCH,
        QL_CSV_PRODUCT_PRODUCTION_DATE,
        QL_CSV_ITEM_NAME,
        QL_CSV_ITEM_CLAUSE,
        QL_CSV_ITEM_REQUIREMENT,
        QL_CSV_ITEM_MEASURED,
        QL_CSV_ITEM_UNIT,
        QL_CSV_ITEM_IMPORTANCE,
        QL_CSV_ITEM_SAFETY,
        QL_CSV_ITEM_VERDICT,
        QL_CSV_VERDICT,
        QL_CSV_REMARKS,
        QL_CSV_NCOLUMNS
} ql_csv_col_t;

typedef enum {
        QL_CSV_STRING,    /* string (required where its object is present) */
        QL_CSV_NSTRING,   /* null or string */
        QL_CSV_ENUM,      /* one of the column's symbols */
        QL_CSV_BOOL,      /* true / false */
        QL_CSV_DATE,      /* YYYY-MM-DD */
        QL_CSV_TIMESTAMP, /* ISO 8601 with offset */
} ql_csv_type_t;

typedef enum {
        QL_CSV_RESULT_LEVEL, /* repeats on every row of a report */
        QL_CSV_ITEM_LEVEL,   /* one value per row (per item) */
} ql_csv_level_t;

/* The language of a header, which decides the words its cells may use. */
typedef enum { QL_CSV_EN = 0, QL_CSV_ZH = 1 } ql_csv_lang_t;

/* An enum symbol and its Chinese words (NULL-terminated; zh[0] is the one
 * written). */
typedef struct {
        const char *symbol;
        const char *const *zh;
} ql_csv_symbol_t;

typedef struct {
        ql_csv_col_t id;
        const char *en;        /* English header: the flattened field name */
        const char *const *zh; /* Chinese headers, NULL-terminated; zh[0]
                                  is the one written */
        ql_csv_level_t level;
        const char *path;   /* for messages: "enterprise.credit_code",
                               "items[].name" */
        const char *parent; /* result-level: the nested object's key
                               ("enterprise"), NULL for a top-level field;
                               item-level: NULL (the item object) */
        const char *key;    /* the field's key inside its object */
        ql_csv_type_t type;
        const ql_csv_symbol_t *symbols; /* ENUM: terminated by {NULL, NULL};
                                           NULL for other types */
        int required; /* a file without this column cannot make valid
                         documents */
        int joins;    /* several header cells may name this column (with
                         different headers): the value is their cells'
                         joined, see ql_csvmap_join() */
} ql_csv_column_t;

/* The column with id `id`, or NULL if id is out of range. */
const ql_csv_column_t *ql_csvmap_column(ql_csv_col_t id);

/* Look up a header cell (len bytes, need not be NUL-terminated) after
 * trimming spaces, tabs, U+3000 and a UTF-8 BOM.  English headers match
 * ignoring ASCII case.  Returns the column, or NULL if unknown; *lang
 * (OUT, may be NULL) says which language matched. */
const ql_csv_column_t *ql_csvmap_header(const char *text, size_t len,
                                        ql_csv_lang_t *lang);

/* Translate a word of an enum column to its symbol ("不合格" under
 * item_verdict and ZH -> "FAIL"; "fail" -> "FAIL").  The cell is trimmed
 * first.  Returns a static string, or NULL if the word is not one of the
 * column's (or the column is not an enum). */
const char *ql_csvmap_symbol(const ql_csv_column_t *col, ql_csv_lang_t lang,
                             const char *text, size_t len);

/* Translate one cell (len bytes, trimmed first) of column col, read under a
 * header of language lang, into its JSON value: null for an empty cell
 * (whatever the type: validation decides whether the field may be empty), a
 * string, true/false, an enum symbol, a normalised date or timestamp.
 * Returns 0 and *value (OUT: a new reference, yours) or -1 with a message
 * naming the column in errstr ("item_verdict: '良好' is not one of PASS,
 * FAIL, NOT_JUDGED"). */
int ql_csvmap_value(const ql_csv_column_t *col, ql_csv_lang_t lang,
                    const char *cell, size_t len, json_t **value, char *errstr,
                    size_t errstr_size);

/* Fold the value of one more cell of a joining column (part, stolen, from
 * ql_csvmap_value()) into *acc: NULL before the first cell, then the value
 * so far.  A null part leaves a value as it is, a string part after a
 * string makes one string with a space between.  0, or -1 if part is NULL,
 * not a string or null, or memory ran out (then *acc is left as it
 * was). */
int ql_csvmap_join(json_t **acc, json_t *part);

/* Put value (stolen, even on error) at the column's place: into doc for a
 * result-level column (creating the nested object), into item for an
 * item-level one.  -1 if the needed object is NULL or not an object. */
int ql_csvmap_set(json_t *doc, json_t *item, const ql_csv_column_t *col,
                  json_t *value);

/* The value at the column's place (borrowed), or NULL if absent. */
json_t *ql_csvmap_get(const json_t *doc, const json_t *item,
                      const ql_csv_column_t *col);

/* Append item (stolen) to doc["items"], creating the array, unless every
 * member of item is null (an item-less row): then it is dropped.  -1 if doc
 * is not an object. */
int ql_csvmap_add_item(json_t *doc, json_t *item);

/* Complete a document read from CSV: result_id derived from lab.code and
 * report_no when absent or null; "items" an empty array when absent; a
 * manufacturer whose members are all null becomes null, an absent one null;
 * absent nullable fields (refers_to, remarks, product.brand, ...,
 * items[].clause, ...) null. */
void ql_csvmap_finish(json_t *doc);

/* The cell text of column col for doc and item (item may be NULL for a row
 * without items), in language lang: "/" for a null, absent or empty value;
 * the string itself for strings, dates and timestamps; the symbol (EN) or
 * its first Chinese word (ZH) for enums; true/false or 是/否 for booleans.
 * The pointer is borrowed from doc or static.  NULL if the value has the
 * wrong JSON type or an unknown symbol (the document is not valid). */
const char *ql_csvmap_cell(const ql_csv_column_t *col, ql_csv_lang_t lang,
                           const json_t *doc, const json_t *item);

#endif
