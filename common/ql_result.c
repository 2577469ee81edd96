/*
 * ql_result: validation of a lab's result document against README.md, "The
 * record".  The shape of the record lives in one set of declarative tables
 * (record -> fields -> type, enum symbols, nested record, extra string check)
 * walked by one generic validator; the rules that tie fields together
 * (result_id, refers_to, verdict against items, the expected lab) are a second
 * table of small functions run after the walk on whatever parts of the document
 * were well formed, so that one mistake is reported once, not echoed by every
 * rule that reads the same field.  Keep the tables in step with
 * schemas/avro/inspection_result.v*.avsc (the newest version).
 *
 * One file of ~900 lines on purpose: about half is the tables themselves,
 * and the tables, the walker that reads them and the cross-field rules
 * change together with every schema version; apart, a field added to one
 * would be easy to miss in the others.
 */
#include "ql_result.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_time.h"
#include "ql_util.h"

#define QUOTE_MAX 60  /* bytes of an offending value quoted in a message */
#define PATH_SIZE 256 /* deep enough for any path the tables can produce */
#define MSG_SIZE  512

/* ------------------------------------------------------------------------
 * UTF-8
 */

/* Length of the valid UTF-8 sequence at s (len > 0 bytes available), or 0
 * if the bytes there are not one. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
        unsigned c = s[0], cp, min;
        size_t n;
        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF)
                n = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
                n = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
                n = 4, cp = c & 0x07, min = 0x10000;
        else
                return 0;
        if (len < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        return n;
}

int ql_result_utf8_valid(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s;
        if (!s)
                return len == 0;
        /* The same sequences utf8_seq() accepts, decided from the lead
         * byte and the first continuation byte; runs of ASCII are skipped
         * eight bytes at a time. */
        const unsigned char *end = p + len;
        while (p < end) {
                unsigned c = *p;
                if (c < 0x80) {
                        uint64_t w;
                        p++;
                        while (end - p >= 8 &&
                               (memcpy(&w, p, 8), !(w & 0x8080808080808080ULL)))
                                p += 8;
                        continue;
                }
                size_t n = c < 0xC2   ? 0
                           : c < 0xE0 ? 2
                           : c < 0xF0 ? 3
                           : c < 0xF5 ? 4
                                      : 0;
                if (n == 0 || (size_t)(end - p) < n)
                        return 0;
                unsigned c1 = p[1];
                if ((c1 & 0xC0) != 0x80 || (n >= 3 && (p[2] & 0xC0) != 0x80) ||
                    (n == 4 && (p[3] & 0xC0) != 0x80))
                        return 0;
                if ((c == 0xE0 && c1 < 0xA0) ||  /* overlong */
                    (c == 0xED && c1 >= 0xA0) || /* surrogate */
                    (c == 0xF0 && c1 < 0x90) ||  /* overlong */
                    (c == 0xF4 && c1 >= 0x90))   /* above U+10FFFF */
                        return 0;
                p += n;
        }
        return 1;
}

/* Characters (code points) of valid UTF-8 text: the bytes that do not
 * continue a sequence. */
static size_t utf8_chars(const char *s, size_t len)
{
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
                n += ((unsigned char)s[i] & 0xC0) != 0x80;
        return n;
}

/* Replace every byte that does not start a valid sequence with '?'. */
static void utf8_sanitize(char *s)
{
        unsigned char *p = (unsigned char *)s;
        size_t len = strlen(s);
        while (len > 0) {
                size_t n = utf8_seq(p, len);
                if (n == 0) {
                        *p = '?';
                        n = 1;
                }
                p += n;
                len -= n;
        }
}

/* Copy at most QUOTE_MAX bytes of s (len bytes) into buf for quoting in a
 * message: cut only between characters, control characters and invalid
 * bytes become '?', "..." marks a cut.  Returns buf. */
static const char *quote(const char *s, size_t len, char buf[QUOTE_MAX + 4])
{
        const unsigned char *p = (const unsigned char *)s;
        size_t o = 0;
        while (len > 0) {
                size_t n = utf8_seq(p, len);
                if (o + (n ? n : 1) > QUOTE_MAX) {
                        memcpy(buf + o, "...", 3);
                        o += 3;
                        break;
                }
                if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7F))) {
                        buf[o++] = '?';
                        n = n ? n : 1;
                } else {
                        memcpy(buf + o, p, n);
                        o += n;
                }
                p += n;
                len -= n;
        }
        buf[o] = '\0';
        return buf;
}

/* ------------------------------------------------------------------------
 * Problem lists
 */

void ql_problems_add(ql_problems_t *p, const char *field, const char *fmt, ...)
{
        if (!p)
                return;
        va_list ap, ap2;
        va_start(ap, fmt);
        va_copy(ap2, ap);
        int len = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        char *msg = len >= 0 ? malloc((size_t)len + 1) : NULL;
        if (msg)
                vsnprintf(msg, (size_t)len + 1, fmt, ap2);
        va_end(ap2);
        char *f = strdup(field ? field : "");
        if (msg && f && p->n == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 8;
                ql_problem_t *v = realloc(p->v, cap * sizeof(*v));
                if (v) {
                        p->v = v;
                        p->cap = cap;
                }
        }
        if (!msg || !f || p->n == p->cap) {
                free(msg);
                free(f);
                return;
        }
        utf8_sanitize(f);
        utf8_sanitize(msg);
        p->v[p->n].field = f;
        p->v[p->n].message = msg;
        p->n++;
}

void ql_problems_clear(ql_problems_t *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++) {
                free(p->v[i].field);
                free(p->v[i].message);
        }
        free(p->v);
        p->v = NULL;
        p->n = p->cap = 0;
}

/* ------------------------------------------------------------------------
 * Validation context
 */

typedef struct {
        const ql_result_opts_t *opts;
        ql_problems_t *errors;   /* may be NULL */
        ql_problems_t *warnings; /* may be NULL */
        size_t nerrors;          /* counted here, whatever errors holds */
} vctx_t;

/* Where a value sits, as a chain up to the document: a member name, or an
 * array entry's index when name is NULL.  The chain lives on the walk's
 * stack and becomes text ("items[2].verdict") only when a problem is
 * reported, so a valid document costs no formatting.  NULL is the whole
 * document. */
typedef struct path_s {
        const struct path_s *up;
        const char *name;
        size_t index;
} path_t;

/* A path given as text ("lab.code"), for the rules. */
#define AT(text) (&(const path_t){NULL, (text), 0})

/* The path's text into buf (cut short if it does not fit); returns the
 * length written. */
static size_t path_text(const path_t *p, char *buf, size_t size)
{
        if (!p) {
                buf[0] = '\0';
                return 0;
        }
        size_t n = path_text(p->up, buf, size);
        int k = p->name
                    ? snprintf(buf + n, size - n, "%s%s", n ? "." : "", p->name)
                    : snprintf(buf + n, size - n, "[%zu]", p->index);
        if (k < 0)
                return n;
        return n + (size_t)k < size ? n + (size_t)k : size - 1;
}

static void report(ql_problems_t *list, const path_t *path, const char *fmt,
                   va_list ap) __attribute__((format(printf, 3, 0)));
static void report(ql_problems_t *list, const path_t *path, const char *fmt,
                   va_list ap)
{
        if (!list)
                return;
        char msg[MSG_SIZE], where[PATH_SIZE + 24];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        path_text(path, where, sizeof(where));
        ql_problems_add(list, where, "%s", msg);
}

static void error(vctx_t *c, const path_t *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void error(vctx_t *c, const path_t *path, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        report(c->errors, path, fmt, ap);
        va_end(ap);
        c->nerrors++;
}

static void warning(vctx_t *c, const path_t *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warning(vctx_t *c, const path_t *path, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        report(c->warnings, path, fmt, ap);
        va_end(ap);
}

static int blank(const char *s)
{
        return s[strspn(s, " \t\r\n\v\f")] == '\0';
}

/* ------------------------------------------------------------------------
 * Checks on single string values (run only on a present string)
 */

typedef void (*string_check_fn)(vctx_t *c, const path_t *path, const char *s);

static void check_date(vctx_t *c, const path_t *path, const char *s)
{
        int32_t days;
        char q[QUOTE_MAX + 4];
        if (ql_time_parse_date(s, &days) != 0)
                error(c, path,
                      "\"%s\" is not a real date in the form "
                      "YYYY-MM-DD",
                      quote(s, strlen(s), q));
}

static void check_timestamp(vctx_t *c, const path_t *path, const char *s)
{
        int64_t ms;
        char q[QUOTE_MAX + 4];
        if (ql_time_parse_timestamp(s, &ms) != 0)
                error(c, path,
                      "\"%s\" is not an ISO 8601 timestamp with an "
                      "offset, e.g. 2026-03-01T09:30:00+08:00",
                      quote(s, strlen(s), q));
}

static void check_region(vctx_t *c, const path_t *path, const char *s)
{
        char q[QUOTE_MAX + 4];
        if (strlen(s) != 6 || strspn(s, "0123456789") != 6)
                error(c, path,
                      "region code \"%s\" must be 6 digits "
                      "(GB/T 2260)",
                      quote(s, strlen(s), q));
}

static void check_uscc(vctx_t *c, const path_t *path, const char *s)
{
        char why[256];
        switch (ql_uscc_check(s, why, sizeof(why))) {
        case QL_USCC_OK:
                return;
        case QL_USCC_BAD_ORG_CHECK:
        case QL_USCC_BAD_CHECK:
                if (c->opts->uscc_mode == QL_USCC_WARN) {
                        warning(c, path, "%s (accepted: uscc_check = warn)",
                                why);
                        return;
                }
                break;
        case QL_USCC_BAD_FORMAT:
                break;
        }
        error(c, path, "%s", why);
}

/* For nullable strings that, when given, must say something. */
static void check_not_blank(vctx_t *c, const path_t *path, const char *s)
{
        if (blank(s))
                error(c, path, "must not be empty (use null for none)");
}

/* ------------------------------------------------------------------------
 * The record's shape
 */

typedef enum {
        T_STRING,       /* required string, not blank */
        T_OPT_STRING,   /* null, absent or a string */
        T_ENUM,         /* required string, one of symbols */
        T_BOOL,         /* required true/false */
        T_RECORD,       /* required object */
        T_OPT_RECORD,   /* null, absent or an object */
        T_RECORD_ARRAY, /* required array of objects */
} field_type_t;

typedef struct record_spec record_spec_t;

typedef struct {
        const char *name;
        size_t len; /* strlen(name) */
        field_type_t type;
        const char *const *symbols; /* T_ENUM: NULL-terminated */
        /* T_RECORD, T_OPT_RECORD, T_RECORD_ARRAY: */
        const record_spec_t *record;
        string_check_fn check; /* extra rule on a present string */
        size_t max_chars;      /* strings: at most this many characters
                                  (code points); 0 = no bound of its own */
} field_spec_t;

struct record_spec {
        const field_spec_t *fields;
        size_t n;
};

/* clang-format off */
#define F_STRING(n, chk)       {.name = n, .len = sizeof(n) - 1, .type = T_STRING, .check = chk}
#define F_OPT_STRING(n, chk)   {.name = n, .len = sizeof(n) - 1, .type = T_OPT_STRING, .check = chk}
#define F_OPT_TEXT(n, max)     {.name = n, .len = sizeof(n) - 1, .type = T_OPT_STRING, .max_chars = max}
#define F_ENUM(n, syms)        {.name = n, .len = sizeof(n) - 1, .type = T_ENUM, .symbols = syms}
#define F_BOOL(n)              {.name = n, .len = sizeof(n) - 1, .type = T_BOOL}
#define F_RECORD(n, rec)       {.name = n, .len = sizeof(n) - 1, .type = T_RECORD, .record = rec}
#define F_OPT_RECORD(n, rec)   {.name = n, .len = sizeof(n) - 1, .type = T_OPT_RECORD, .record = rec}
#define F_RECORD_ARRAY(n, rec) {.name = n, .len = sizeof(n) - 1, .type = T_RECORD_ARRAY, .record = rec}
#define RECORD(fields)         {fields, sizeof(fields) / sizeof(fields[0])}
/* clang-format on */

/* Enum symbols, in schema order (the index is what the rules compare). */
enum { KIND_SUPERVISION, KIND_RECHECK, KIND_RETEST };
enum { VERDICT_CONFORMING, VERDICT_NONCONFORMING, VERDICT_REFUSED };

static const char *const level_symbols[] = {"NATIONAL", "PROVINCIAL",
                                            "MUNICIPAL", "DISTRICT", NULL};
static const char *const kind_symbols[] = {"SUPERVISION", "RECHECK", "RETEST",
                                           NULL};
static const char *const stage_symbols[] = {"PRODUCTION", "CIRCULATION",
                                            "ECOMMERCE", NULL};
static const char *const role_symbols[] = {"PRODUCER", "SELLER", NULL};
static const char *const importance_symbols[] = {"A", "B", "UNCLASSIFIED",
                                                 NULL};
static const char *const item_verdict_symbols[] = {"PASS", "FAIL", "NOT_JUDGED",
                                                   NULL};
static const char *const verdict_symbols[] = {"CONFORMING", "NONCONFORMING",
                                              "REFUSED", NULL};

static const field_spec_t lab_fields[] = {
    F_STRING("code", NULL),
    F_STRING("name", NULL),
};
static const record_spec_t lab_record = RECORD(lab_fields);

/* Since schema version 2: where a notice is served, and whom to call.
 * Bounded because they are printed on notices and shown in lists; real
 * ones are a few dozen characters. */
#define ADDRESS_MAX_CHARS 256
#define CONTACT_MAX_CHARS 128

static const field_spec_t enterprise_fields[] = {
    F_STRING("credit_code", check_uscc),
    F_STRING("name", NULL),
    F_STRING("region_code", check_region),
    F_ENUM("role", role_symbols),
    F_OPT_TEXT("address", ADDRESS_MAX_CHARS),
    F_OPT_TEXT("contact", CONTACT_MAX_CHARS),
};
static const record_spec_t enterprise_record = RECORD(enterprise_fields);

static const field_spec_t manufacturer_fields[] = {
    F_OPT_STRING("credit_code", check_uscc),
    F_STRING("name", NULL),
    F_OPT_STRING("region_code", check_region),
    F_OPT_TEXT("address", ADDRESS_MAX_CHARS),
};
static const record_spec_t manufacturer_record = RECORD(manufacturer_fields);

static const field_spec_t product_fields[] = {
    F_STRING("category", NULL),
    F_STRING("name", NULL),
    F_OPT_STRING("brand", NULL),
    F_OPT_STRING("model", NULL),
    F_OPT_STRING("grade", NULL),
    F_OPT_STRING("batch", NULL),
    F_OPT_STRING("production_date", NULL),
};
static const record_spec_t product_record = RECORD(product_fields);

static const field_spec_t item_fields[] = {
    F_STRING("name", NULL),
    F_OPT_STRING("clause", NULL),
    F_OPT_STRING("requirement", NULL),
    F_OPT_STRING("measured", NULL),
    F_OPT_STRING("unit", NULL),
    F_ENUM("importance", importance_symbols),
    F_BOOL("safety"),
    F_ENUM("verdict", item_verdict_symbols),
};
static const record_spec_t item_record = RECORD(item_fields);

static const field_spec_t result_fields[] = {
    F_STRING("result_id", NULL),
    F_STRING("report_no", NULL),
    F_RECORD("lab", &lab_record),
    F_STRING("plan_id", NULL),
    F_ENUM("level", level_symbols),
    F_ENUM("kind", kind_symbols),
    F_OPT_STRING("refers_to", check_not_blank),
    F_ENUM("stage", stage_symbols),
    F_STRING("sampled_on", check_date),
    F_STRING("reported_at", check_timestamp),
    F_RECORD("enterprise", &enterprise_record),
    F_OPT_RECORD("manufacturer", &manufacturer_record),
    F_RECORD("product", &product_record),
    F_RECORD_ARRAY("items", &item_record),
    F_ENUM("verdict", verdict_symbols),
    F_OPT_STRING("remarks", NULL),
};
static const record_spec_t result_record = RECORD(result_fields);

/* ------------------------------------------------------------------------
 * The generic walk
 */

static int enum_index(const char *const *symbols, const char *s)
{
        for (int i = 0; s && symbols[i]; i++)
                if (!strcmp(symbols[i], s))
                        return i;
        return -1;
}

/* Edit distance of two short names, for "did you mean" hints; a large
 * number when either is too long to bother. */
static size_t edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b), row[33];
        if (la > 32 || lb > 32)
                return (size_t)-1;
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0];
                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t best = diag + (a[i - 1] != b[j - 1]);
                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

static const field_spec_t *find_field(const record_spec_t *rec,
                                      const char *name, size_t len)
{
        for (size_t i = 0; i < rec->n; i++)
                if (rec->fields[i].len == len &&
                    !memcmp(rec->fields[i].name, name, len))
                        return &rec->fields[i];
        return NULL;
}

static void unknown_field(vctx_t *c, const path_t *base,
                          const record_spec_t *rec, const char *key, size_t len)
{
        char q[QUOTE_MAX + 4];
        const char *hint = NULL;
        size_t best = 3; /* suggest only names at most 2 edits away */
        for (size_t i = 0; i < rec->n && len == strlen(key); i++) {
                size_t d = edit_distance(key, rec->fields[i].name);
                if (d < best) {
                        best = d;
                        hint = rec->fields[i].name;
                }
        }
        quote(key, len, q);
        const path_t path = {base, q, 0};
        if (hint)
                error(c, &path, "unknown field \"%s\"; did you mean \"%s\"?", q,
                      hint);
        else
                error(c, &path,
                      "unknown field \"%s\" is not part of the "
                      "result record",
                      q);
}

/* A present JSON string: no NUL inside, valid UTF-8.  1 if fine. */
static int check_text(vctx_t *c, const path_t *path, const json_t *v)
{
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (memchr(s, '\0', len)) {
                error(c, path, "must not contain a NUL character");
                return 0;
        }
        if (!ql_result_utf8_valid(s, len)) {
                error(c, path, "is not valid UTF-8 text");
                return 0;
        }
        return 1;
}

static void validate_record(vctx_t *c, const path_t *path, const json_t *obj,
                            const record_spec_t *rec);

static void validate_field(vctx_t *c, const path_t *path, const field_spec_t *f,
                           const json_t *v)
{
        char q[QUOTE_MAX + 4];
        int nullable = f->type == T_OPT_STRING || f->type == T_OPT_RECORD;
        if (!v || json_is_null(v)) {
                if (!nullable)
                        error(c, path,
                              v ? "must not be null"
                                : "required field is missing");
                return;
        }
        switch (f->type) {
        case T_STRING:
        case T_OPT_STRING:
        case T_ENUM:
                if (!json_is_string(v)) {
                        error(c, path, "must be a string%s, not %s",
                              nullable ? " or null" : "",
                              ql_util_json_type_name(v));
                        return;
                }
                if (!check_text(c, path, v))
                        return;
                if (f->type == T_ENUM) {
                        const char *s = json_string_value(v);
                        if (enum_index(f->symbols, s) < 0) {
                                char list[256] = "";
                                for (int i = 0; f->symbols[i]; i++)
                                        snprintf(list + strlen(list),
                                                 sizeof(list) - strlen(list),
                                                 "%s%s", i ? ", " : "",
                                                 f->symbols[i]);
                                error(c, path, "\"%s\" is not one of %s",
                                      quote(s, strlen(s), q), list);
                        }
                        return;
                }
                if (f->type == T_STRING && blank(json_string_value(v))) {
                        error(c, path, "must not be empty");
                        return;
                }
                if (f->max_chars) {
                        size_t n = utf8_chars(json_string_value(v),
                                              json_string_length(v));
                        if (n > f->max_chars) {
                                error(c, path,
                                      "is %zu characters long; at most %zu "
                                      "are accepted",
                                      n, f->max_chars);
                                return;
                        }
                }
                if (f->check)
                        f->check(c, path, json_string_value(v));
                return;
        case T_BOOL:
                if (!json_is_boolean(v))
                        error(c, path, "must be true or false, not %s",
                              ql_util_json_type_name(v));
                return;
        case T_RECORD:
        case T_OPT_RECORD:
                if (!json_is_object(v)) {
                        error(c, path, "must be an object%s, not %s",
                              nullable ? " or null" : "",
                              ql_util_json_type_name(v));
                        return;
                }
                validate_record(c, path, v, f->record);
                return;
        case T_RECORD_ARRAY:
                if (!json_is_array(v)) {
                        error(c, path, "must be an array, not %s",
                              ql_util_json_type_name(v));
                        return;
                }
                for (size_t i = 0; i < json_array_size(v); i++) {
                        const path_t ipath = {path, NULL, i};
                        const json_t *e = json_array_get(v, i);
                        if (!json_is_object(e))
                                error(c, &ipath, "must be an object, not %s",
                                      ql_util_json_type_name(e));
                        else
                                validate_record(c, &ipath, e, f->record);
                }
                return;
        }
}

static void validate_record(vctx_t *c, const path_t *path, const json_t *obj,
                            const record_spec_t *rec)
{
        size_t known = 0; /* members that are fields of rec */
        for (size_t i = 0; i < rec->n; i++) {
                const field_spec_t *f = &rec->fields[i];
                const path_t fpath = {path, f->name, 0};
                const json_t *v = json_object_getn(obj, f->name, f->len);
                known += v != NULL;
                validate_field(c, &fpath, f, v);
        }
        /* Keys are unique: when every member is a known field, there is no
         * unknown one to look for. */
        if (json_object_size(obj) == known)
                return;
        /* jansson's iterator is not const-qualified; it does not modify. */
        json_t *o = (json_t *)obj;
        for (void *it = json_object_iter(o); it;
             it = json_object_iter_next(o, it)) {
                const char *key = json_object_iter_key(it);
                size_t len = json_object_iter_key_len(it);
                if (!find_field(rec, key, len))
                        unknown_field(c, path, rec, key, len);
        }
}

/* ------------------------------------------------------------------------
 * Rules across fields.  Each reads only values that passed the walk (a
 * malformed field was reported there already) and skips otherwise.
 */

typedef struct {
        const json_t *doc;
        const char *result_id, *report_no, *lab_code; /* NULL unless usable */
        const json_t *refers_to; /* as given: NULL if absent */
        int kind, verdict;       /* symbol index, -1 if unusable */
        const json_t *items;     /* NULL unless an array */
        size_t fails, first_fail;
} facts_t;

/* A string worth comparing: present, non-blank, valid text. */
static const char *usable(const json_t *doc, const char *path)
{
        const char *s = ql_result_str(doc, path);
        return s && !blank(s) && ql_result_utf8_valid(s, strlen(s)) ? s : NULL;
}

static void rule_result_id(vctx_t *c, const facts_t *f)
{
        char q1[QUOTE_MAX + 4], q2[QUOTE_MAX + 4], q3[QUOTE_MAX + 4];
        if (!f->result_id || !f->lab_code || !f->report_no)
                return;
        size_t ll = strlen(f->lab_code);
        if (!strncmp(f->result_id, f->lab_code, ll) &&
            f->result_id[ll] == ':' &&
            !strcmp(f->result_id + ll + 1, f->report_no))
                return;
        error(c, AT("result_id"),
              "\"%s\" must be lab.code, a colon and report_no: \"%s:%s\"",
              quote(f->result_id, strlen(f->result_id), q1),
              quote(f->lab_code, ll, q2),
              quote(f->report_no, strlen(f->report_no), q3));
}

static void rule_lab(vctx_t *c, const facts_t *f)
{
        char q1[QUOTE_MAX + 4], q2[QUOTE_MAX + 4];
        const char *want = c->opts->lab_code;
        if (!want || !f->lab_code || !strcmp(want, f->lab_code))
                return;
        error(c, AT("lab.code"),
              "result is from lab \"%s\" but this source accepts only lab "
              "\"%s\"",
              quote(f->lab_code, strlen(f->lab_code), q1),
              quote(want, strlen(want), q2));
}

static void rule_refers_to(vctx_t *c, const facts_t *f)
{
        const json_t *r = f->refers_to;
        int given = r && !json_is_null(r); /* a bad one was reported */
        if (f->kind == KIND_SUPERVISION && json_is_string(r) &&
            !blank(json_string_value(r)))
                error(c, AT("refers_to"),
                      "a SUPERVISION result must not refer to another "
                      "result (refers_to is for RECHECK and RETEST)");
        if ((f->kind == KIND_RECHECK || f->kind == KIND_RETEST) && !given)
                error(c, AT("refers_to"),
                      "a %s result must give the result_id of the original "
                      "result in refers_to",
                      kind_symbols[f->kind]);
        if (f->result_id && json_is_string(r) &&
            !strcmp(json_string_value(r), f->result_id))
                error(c, AT("refers_to"),
                      "must name another result, not this result itself");
}

static void rule_verdict(vctx_t *c, const facts_t *f)
{
        char q[QUOTE_MAX + 4];
        if (f->verdict < 0 || !f->items)
                return;
        size_t n = json_array_size(f->items);
        const char *fail_name =
            f->fails
                ? ql_result_str(json_array_get(f->items, f->first_fail), "name")
                : NULL;
        if (!fail_name)
                fail_name = "";
        quote(fail_name, strlen(fail_name), q);

        switch (f->verdict) {
        case VERDICT_NONCONFORMING:
        case VERDICT_CONFORMING:
                if (n == 0) {
                        error(c, AT("items"),
                              "must list at least one inspection item "
                              "unless verdict is REFUSED");
                        return;
                }
                if (f->verdict == VERDICT_NONCONFORMING && f->fails == 0)
                        error(c, AT("verdict"),
                              "verdict is NONCONFORMING but no item has "
                              "verdict FAIL");
                if (f->verdict == VERDICT_CONFORMING && f->fails > 0)
                        error(c, AT("verdict"),
                              "verdict is CONFORMING but %zu item(s) have "
                              "verdict FAIL, first items[%zu] \"%s\"",
                              f->fails, f->first_fail, q);
                return;
        case VERDICT_REFUSED:
                if (f->fails > 0)
                        error(c, AT("verdict"),
                              "verdict is REFUSED (no inspection) but "
                              "items[%zu] \"%s\" has verdict FAIL",
                              f->first_fail, q);
                return;
        }
}

/* A report issued before its sample was taken is suspicious, not wrong
 * enough to refuse: time zones and back-dated paperwork exist. */
static void rule_dates(vctx_t *c, const facts_t *f)
{
        const char *sampled = usable(f->doc, "sampled_on");
        const char *reported = usable(f->doc, "reported_at");
        int32_t sd, rd;
        int64_t ms;
        char day[11];
        if (!sampled || !reported || ql_time_parse_date(sampled, &sd) ||
            ql_time_parse_timestamp(reported, &ms))
                return;
        memcpy(day, reported, 10); /* its own local date */
        day[10] = '\0';
        if (ql_time_parse_date(day, &rd) == 0 && rd < sd)
                warning(c, AT("reported_at"),
                        "report issued on %s, before the sample was taken "
                        "on %s",
                        day, sampled);
}

typedef void (*rule_fn)(vctx_t *c, const facts_t *f);

static const rule_fn rules[] = {
    rule_result_id, /* result_id = <lab.code>:<report_no> */
    rule_lab,       /* lab.code = the source's lab */
    rule_refers_to, /* RECHECK/RETEST refer to an original, SUPERVISION not */
    rule_verdict,   /* verdict consistent with the items */
    rule_dates,     /* warning only */
};

static void gather_facts(const json_t *doc, facts_t *f)
{
        memset(f, 0, sizeof(*f));
        f->doc = doc;
        f->result_id = usable(doc, "result_id");
        f->report_no = usable(doc, "report_no");
        f->lab_code = usable(doc, "lab.code");
        f->refers_to = json_object_get(doc, "refers_to");
        f->kind = enum_index(kind_symbols, ql_result_str(doc, "kind"));
        f->verdict = enum_index(verdict_symbols, ql_result_str(doc, "verdict"));
        const json_t *items = json_object_get(doc, "items");
        if (!json_is_array(items))
                return;
        f->items = items;
        for (size_t i = 0; i < json_array_size(items); i++) {
                const char *v =
                    ql_result_str(json_array_get(items, i), "verdict");
                if (v && !strcmp(v, "FAIL") && f->fails++ == 0)
                        f->first_fail = i;
        }
}

size_t ql_result_validate(const json_t *doc, const ql_result_opts_t *opts,
                          ql_problems_t *errors, ql_problems_t *warnings)
{
        static const ql_result_opts_t defaults = {QL_USCC_STRICT, NULL};
        vctx_t c = {opts ? opts : &defaults, errors, warnings, 0};
        if (!json_is_object(doc)) {
                error(&c, NULL,
                      "the result document must be a JSON object, "
                      "not %s",
                      ql_util_json_type_name(doc));
                return c.nerrors;
        }
        validate_record(&c, NULL, doc, &result_record);
        facts_t f;
        gather_facts(doc, &f);
        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
                rules[i](&c, &f);
        return c.nerrors;
}

/* ------------------------------------------------------------------------
 * Accessor
 */

const char *ql_result_str(const json_t *doc, const char *path)
{
        const json_t *v = doc;
        const char *p = path;
        if (!doc || !path)
                return NULL;
        for (;;) {
                size_t n = strcspn(p, ".[");
                if (n == 0)
                        return NULL;
                v = json_is_object(v) ? json_object_getn(v, p, n) : NULL;
                p += n;
                while (v && *p == '[') {
                        char *end;
                        if (p[1] < '0' || p[1] > '9')
                                return NULL;
                        unsigned long long i = strtoull(p + 1, &end, 10);
                        if (*end != ']')
                                return NULL;
                        v = json_is_array(v) ? json_array_get(v, (size_t)i)
                                             : NULL;
                        p = end + 1;
                }
                if (!v)
                        return NULL;
                if (*p == '\0')
                        return json_string_value(v);
                if (*p != '.')
                        return NULL;
                p++;
        }
}
