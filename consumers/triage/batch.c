/*
 * batch: one transaction's worth of records.  Rows live in three arenas that
 * survive triage_batch_reset(): the COPY text lines, the NUL-terminated
 * result_ids and credit codes, and the raw Kafka keys and payloads.  Rows
 * refer to them by offset, so growing an arena never invalidates a row.
 * Duplicate marking uses an open-addressing set of string pointers, rebuilt
 * per call.
 */
#include "batch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
        int32_t partition;
        int64_t offset;
        size_t line_off, line_len;
        size_t id_off, code_off;
        size_t key_off, key_len, payload_off, payload_len;
        unsigned char has_key, has_payload;
        triage_row_status_t status;
} row_t;

struct triage_batch_s {
        char *topic;
        row_t *rows;
        size_t nrows, rows_cap;
        triage_batch_part_t *parts;
        size_t nparts, parts_cap;
        triage_reject_t *rejects;
        size_t nrejects, rejects_cap;
        triage_gap_t *gaps;
        size_t ngaps, gaps_cap;
        triage_buf_t lines, strs, bytes;
        const char **set; /* string set for triage_batch_mark() */
        size_t set_cap;
        int bulk; /* store with registration only (triage_batch_set_bulk) */
};

const char *triage_reject_kind_name(triage_reject_kind_t kind)
{
        switch (kind) {
        case TRIAGE_REJECT_UNDECODABLE:
                return "UNDECODABLE";
        case TRIAGE_REJECT_INVALID:
                return "INVALID";
        case TRIAGE_REJECT_CONFLICT:
                return "CONFLICTING_DUPLICATE";
        case TRIAGE_REJECT_UNSTORABLE:
                return "UNSTORABLE";
        }
        return "INVALID";
}

void triage_buf_free(triage_buf_t *t)
{
        free(t->buf);
        t->buf = NULL;
        t->len = t->cap = 0;
}

static int buf_reserve(triage_buf_t *t, size_t more)
{
        if (t->len + more + 1 <= t->cap)
                return 0;
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + more + 1)
                cap *= 2;
        char *p = realloc(t->buf, cap);
        if (!p)
                return -1;
        t->buf = p;
        t->cap = cap;
        return 0;
}

int triage_buf_append(triage_buf_t *t, const void *p, size_t n)
{
        if (buf_reserve(t, n))
                return -1;
        if (n)
                memcpy(t->buf + t->len, p, n);
        t->len += n;
        t->buf[t->len] = '\0';
        return 0;
}

int triage_buf_copy_field(triage_buf_t *t, const char *s)
{
        if (!s)
                return triage_buf_append(t, "\\N", 2);
        size_t n = strlen(s);
        if (buf_reserve(t, 2 * n))
                return -1;
        char *o = t->buf + t->len;
        for (const char *p = s; *p; p++) {
                switch (*p) {
                case '\\':
                        *o++ = '\\';
                        *o++ = '\\';
                        break;
                case '\t':
                        *o++ = '\\';
                        *o++ = 't';
                        break;
                case '\n':
                        *o++ = '\\';
                        *o++ = 'n';
                        break;
                case '\r':
                        *o++ = '\\';
                        *o++ = 'r';
                        break;
                default:
                        *o++ = *p;
                }
        }
        t->len = (size_t)(o - t->buf);
        t->buf[t->len] = '\0';
        return 0;
}

/* A JSON string's text, quotes included.  JSON escapes start with a
 * backslash, which COPY text doubles; no other byte needs COPY escaping,
 * since JSON writes control characters as escapes. */
static int copy_json_string(triage_buf_t *t, const char *s, size_t n)
{
        static const char hex[] = "0123456789ABCDEF";
        if (n > (SIZE_MAX - 8) / 7 || buf_reserve(t, 7 * n + 8))
                return -1;
        char *o = t->buf + t->len;
        *o++ = '"';
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c >= 0x20 && c != '"' && c != '\\') {
                        *o++ = (char)c;
                        continue;
                }
                *o++ = '\\';
                *o++ = '\\';
                switch (c) {
                case '"':
                        *o++ = '"';
                        break;
                case '\\':
                        *o++ = '\\';
                        *o++ = '\\';
                        break;
                case '\b':
                        *o++ = 'b';
                        break;
                case '\f':
                        *o++ = 'f';
                        break;
                case '\n':
                        *o++ = 'n';
                        break;
                case '\r':
                        *o++ = 'r';
                        break;
                case '\t':
                        *o++ = 't';
                        break;
                default:
                        *o++ = 'u';
                        *o++ = '0';
                        *o++ = '0';
                        *o++ = hex[c >> 4];
                        *o++ = hex[c & 15];
                }
        }
        *o++ = '"';
        t->len = (size_t)(o - t->buf);
        t->buf[t->len] = '\0';
        return 0;
}

static int copy_json(triage_buf_t *t, const json_t *v, int depth)
{
        char num[32];
        if (depth > 1000)
                return -1; /* ql_codec builds at most CODEC_MAX_DEPTH (64) */
        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                int fail = triage_buf_append(t, "{", 1);
                const char *sep = "";
                for (void *it = json_object_iter((json_t *)v); it && !fail;
                     it = json_object_iter_next((json_t *)v, it)) {
                        fail =
                            triage_buf_append(t, sep, *sep ? 1 : 0) ||
                            copy_json_string(t, json_object_iter_key(it),
                                             json_object_iter_key_len(it)) ||
                            triage_buf_append(t, ":", 1) ||
                            copy_json(t, json_object_iter_value(it), depth + 1);
                        sep = ",";
                }
                return fail || triage_buf_append(t, "}", 1) ? -1 : 0;
        }
        case JSON_ARRAY: {
                int fail = triage_buf_append(t, "[", 1);
                for (size_t i = 0; i < json_array_size(v) && !fail; i++)
                        fail = (i && triage_buf_append(t, ",", 1)) ||
                               copy_json(t, json_array_get(v, i), depth + 1);
                return fail || triage_buf_append(t, "]", 1) ? -1 : 0;
        }
        case JSON_STRING:
                return copy_json_string(t, json_string_value(v),
                                        json_string_length(v));
        case JSON_INTEGER: {
                int n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                                 json_integer_value(v));
                return triage_buf_append(t, num, (size_t)n);
        }
        case JSON_REAL: {
                /* jansson's own digits, so the text is exactly its. */
                char *r = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                int rc = r ? triage_buf_append(t, r, strlen(r)) : -1;
                free(r);
                return rc;
        }
        case JSON_TRUE:
                return triage_buf_append(t, "true", 4);
        case JSON_FALSE:
                return triage_buf_append(t, "false", 5);
        case JSON_NULL:
                return triage_buf_append(t, "null", 4);
        }
        return -1;
}

int triage_buf_copy_json(triage_buf_t *t, const json_t *v)
{
        if (!v)
                return triage_buf_append(t, "\\N", 2);
        size_t len = t->len;
        if (copy_json(t, v, 0)) {
                t->len = len;
                if (t->buf)
                        t->buf[len] = '\0';
                return -1;
        }
        return 0;
}

int triage_buf_array_literal(triage_buf_t *t, const char *const *v, size_t n)
{
        if (triage_buf_append(t, "{", 1))
                return -1;
        for (size_t i = 0; i < n; i++) {
                size_t len = strlen(v[i]);
                if (buf_reserve(t, 2 * len + 3))
                        return -1;
                char *o = t->buf + t->len;
                if (i)
                        *o++ = ',';
                *o++ = '"';
                for (const char *p = v[i]; *p; p++) {
                        if (*p == '"' || *p == '\\')
                                *o++ = '\\';
                        *o++ = *p;
                }
                *o++ = '"';
                t->len = (size_t)(o - t->buf);
                t->buf[t->len] = '\0';
        }
        return triage_buf_append(t, "}", 1);
}

triage_batch_t *triage_batch_new(const char *topic)
{
        triage_batch_t *b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        b->topic = strdup(topic);
        if (!b->topic) {
                free(b);
                return NULL;
        }
        return b;
}

static void reject_free(triage_reject_t *r)
{
        free(r->key);
        free(r->payload);
        free(r->error);
        free(r->result_id);
}

void triage_batch_reset(triage_batch_t *b)
{
        for (size_t i = 0; i < b->nrejects; i++)
                reject_free(&b->rejects[i]);
        b->nrows = b->nparts = b->nrejects = b->ngaps = 0;
        b->lines.len = b->strs.len = b->bytes.len = 0;
        b->bulk = 0;
}

void triage_batch_set_bulk(triage_batch_t *b, int on)
{
        b->bulk = on;
}

int triage_batch_bulk(const triage_batch_t *b)
{
        return b->bulk;
}

void triage_batch_destroy(triage_batch_t *b)
{
        if (!b)
                return;
        triage_batch_reset(b);
        free(b->topic);
        free(b->rows);
        free(b->parts);
        free(b->rejects);
        free(b->gaps);
        free(b->set);
        triage_buf_free(&b->lines);
        triage_buf_free(&b->strs);
        triage_buf_free(&b->bytes);
        free(b);
}

/* Grow an array of `size`-byte elements to hold one more. */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
        if (n < *cap)
                return 0;
        size_t c = *cap ? *cap * 2 : 64;
        void *p = realloc(*v, c * size);
        if (!p)
                return -1;
        *v = p;
        *cap = c;
        return 0;
}

/* The partition's entry, added with `start` if new. */
static triage_batch_part_t *part_for(triage_batch_t *b, int32_t partition,
                                     int64_t start)
{
        for (size_t i = 0; i < b->nparts; i++)
                if (b->parts[i].partition == partition)
                        return &b->parts[i];
        if (grow((void **)&b->parts, &b->parts_cap, b->nparts,
                 sizeof(*b->parts)))
                return NULL;
        triage_batch_part_t *p = &b->parts[b->nparts++];
        *p = (triage_batch_part_t){partition, start, start, 0};
        return p;
}

static void part_note(triage_batch_part_t *p, int64_t offset)
{
        if (offset + 1 > p->end)
                p->end = offset + 1;
        p->count++;
}

static int append_str(triage_buf_t *t, const char *s, size_t *off)
{
        *off = t->len;
        return triage_buf_append(t, s, strlen(s) + 1);
}

int triage_batch_add_row(triage_batch_t *b, int32_t partition, int64_t offset,
                         int64_t start, const void *key, size_t key_len,
                         const void *payload, size_t len,
                         const triage_row_t *row)
{
        size_t lines_len = b->lines.len, strs_len = b->strs.len,
               bytes_len = b->bytes.len, nparts = b->nparts;
        if (grow((void **)&b->rows, &b->rows_cap, b->nrows, sizeof(*b->rows)))
                return -1;
        row_t *r = &b->rows[b->nrows];
        memset(r, 0, sizeof(*r));
        r->partition = partition;
        r->offset = offset;
        r->line_off = b->lines.len;
        char tail[64];
        snprintf(tail, sizeof(tail), "\t%" PRId32 "\t%" PRId64 "\n", partition,
                 offset);
        const char *fields[] = {row->result_id, row->credit_code,
                                row->kind,      row->verdict,
                                row->refers_to, row->reported_at};
        int fail = 0;
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                fail |= triage_buf_copy_field(&b->lines, fields[i]);
                fail |= triage_buf_append(&b->lines, "\t", 1);
        }
        fail |= triage_buf_copy_json(&b->lines, row->record);
        fail |= triage_buf_append(&b->lines, "\t", 1);
        fail |= triage_buf_copy_field(&b->lines, b->topic);
        fail |= triage_buf_append(&b->lines, tail, strlen(tail));
        r->line_len = b->lines.len - r->line_off;
        fail |= append_str(&b->strs, row->result_id, &r->id_off);
        fail |= append_str(&b->strs, row->credit_code, &r->code_off);
        r->has_key = key != NULL;
        r->key_off = b->bytes.len;
        r->key_len = key ? key_len : 0;
        if (key)
                fail |= triage_buf_append(&b->bytes, key, key_len);
        r->has_payload = payload != NULL;
        r->payload_off = b->bytes.len;
        r->payload_len = payload ? len : 0;
        if (payload)
                fail |= triage_buf_append(&b->bytes, payload, len);
        triage_batch_part_t *p = fail ? NULL : part_for(b, partition, start);
        if (!p) {
                b->lines.len = lines_len;
                b->strs.len = strs_len;
                b->bytes.len = bytes_len;
                b->nparts = nparts;
                return -1;
        }
        part_note(p, offset);
        b->nrows++;
        return 0;
}

static unsigned char *dup_bytes(const void *p, size_t n, int *fail)
{
        if (!p)
                return NULL;
        unsigned char *c = malloc(n ? n : 1);
        if (!c) {
                *fail = 1;
                return NULL;
        }
        memcpy(c, p, n);
        return c;
}

static triage_reject_t *reject_push(triage_batch_t *b, int32_t partition,
                                    int64_t offset, const void *key,
                                    size_t key_len, const void *payload,
                                    size_t len, triage_reject_kind_t kind,
                                    const char *result_id, const char *error,
                                    int from_row)
{
        if (grow((void **)&b->rejects, &b->rejects_cap, b->nrejects,
                 sizeof(*b->rejects)))
                return NULL;
        int fail = 0;
        triage_reject_t r = {
            .partition = partition,
            .offset = offset,
            .key = dup_bytes(key, key_len, &fail),
            .key_len = key ? key_len : 0,
            .payload = dup_bytes(payload, len, &fail),
            .len = payload ? len : 0,
            .error = strdup(error ? error : "unknown error"),
            .result_id = result_id ? strdup(result_id) : NULL,
            .kind = kind,
            .from_row = from_row,
        };
        if (fail || !r.error || (result_id && !r.result_id)) {
                reject_free(&r);
                return NULL;
        }
        b->rejects[b->nrejects] = r;
        return &b->rejects[b->nrejects++];
}

int triage_batch_add_reject(triage_batch_t *b, int32_t partition,
                            int64_t offset, int64_t start, const void *key,
                            size_t key_len, const void *payload, size_t len,
                            triage_reject_kind_t kind, const char *result_id,
                            const char *error)
{
        size_t nparts = b->nparts;
        triage_batch_part_t *p = part_for(b, partition, start);
        if (!p)
                return -1;
        if (!reject_push(b, partition, offset, key, key_len, payload, len, kind,
                         result_id, error, -1)) {
                b->nparts = nparts;
                return -1;
        }
        part_note(p, offset);
        return 0;
}

int triage_batch_add_gap(triage_batch_t *b, int32_t partition, int64_t first,
                         int64_t last, int64_t start)
{
        if (first > last ||
            grow((void **)&b->gaps, &b->gaps_cap, b->ngaps, sizeof(*b->gaps)))
                return -1;
        triage_batch_part_t *p = part_for(b, partition, start);
        if (!p)
                return -1;
        if (last + 1 > p->end)
                p->end = last + 1;
        b->gaps[b->ngaps++] = (triage_gap_t){partition, first, last};
        return 0;
}

size_t triage_batch_gap_count(const triage_batch_t *b)
{
        return b->ngaps;
}

const triage_gap_t *triage_batch_gap(const triage_batch_t *b, size_t i)
{
        return i < b->ngaps ? &b->gaps[i] : NULL;
}

size_t triage_batch_pending(const triage_batch_t *b)
{
        return triage_batch_records(b) + b->ngaps;
}

size_t triage_batch_records(const triage_batch_t *b)
{
        size_t n = b->nrows;
        for (size_t i = 0; i < b->nrejects; i++)
                if (b->rejects[i].from_row < 0)
                        n++;
        return n;
}

size_t triage_batch_rows(const triage_batch_t *b)
{
        return b->nrows;
}

const char *triage_batch_topic(const triage_batch_t *b)
{
        return b->topic;
}

size_t triage_batch_part_count(const triage_batch_t *b)
{
        return b->nparts;
}

const triage_batch_part_t *triage_batch_part(const triage_batch_t *b, size_t i)
{
        return i < b->nparts ? &b->parts[i] : NULL;
}

const char *triage_batch_row_id(const triage_batch_t *b, size_t i)
{
        return b->strs.buf + b->rows[i].id_off;
}

const char *triage_batch_row_credit_code(const triage_batch_t *b, size_t i)
{
        return b->strs.buf + b->rows[i].code_off;
}

triage_row_status_t triage_batch_row_status(const triage_batch_t *b, size_t i)
{
        return b->rows[i].status;
}

void triage_batch_row_position(const triage_batch_t *b, size_t i,
                               int32_t *partition, int64_t *offset)
{
        *partition = b->rows[i].partition;
        *offset = b->rows[i].offset;
}

void triage_batch_set_status(triage_batch_t *b, size_t i,
                             triage_row_status_t status)
{
        b->rows[i].status = status;
}

const char *triage_batch_row_line(const triage_batch_t *b, size_t i,
                                  size_t *len)
{
        *len = b->rows[i].line_len;
        return b->lines.buf + b->rows[i].line_off;
}

/* FNV-1a: enough to spread result_ids and credit codes. */
static uint64_t str_hash(const char *s)
{
        uint64_t h = 1469598103934665603ULL;
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return h;
}

/* Prepare an empty set for at least n strings. */
static int set_init(triage_batch_t *b, size_t n)
{
        size_t cap = 64;
        while (cap < 2 * n)
                cap *= 2;
        if (cap > b->set_cap) {
                const char **s = realloc(b->set, cap * sizeof(*s));
                if (!s)
                        return -1;
                b->set = s;
                b->set_cap = cap;
        }
        memset(b->set, 0, b->set_cap * sizeof(*b->set));
        return 0;
}

/* Insert s; 1 if it was new, 0 if it was there already. */
static int set_add(triage_batch_t *b, const char *s)
{
        size_t mask = b->set_cap - 1;
        for (size_t i = str_hash(s) & mask;; i = (i + 1) & mask) {
                if (!b->set[i]) {
                        b->set[i] = s;
                        return 1;
                }
                if (!strcmp(b->set[i], s))
                        return 0;
        }
}

int triage_batch_mark(triage_batch_t *b, const char *const *existing, size_t n)
{
        if (set_init(b, n + b->nrows))
                return -1;
        for (size_t i = 0; i < n; i++)
                set_add(b, existing[i]);
        for (size_t i = 0; i < b->nrows; i++)
                if (b->rows[i].status == TRIAGE_ROW_PENDING)
                        b->rows[i].status =
                            set_add(b, triage_batch_row_id(b, i))
                                ? TRIAGE_ROW_NEW
                                : TRIAGE_ROW_DUPLICATE;
        return 0;
}

int triage_batch_reject_row(triage_batch_t *b, size_t i,
                            triage_reject_kind_t kind, const char *error)
{
        row_t *r = &b->rows[i];
        if (!reject_push(
                b, r->partition, r->offset,
                r->has_key ? b->bytes.buf + r->key_off : NULL, r->key_len,
                r->has_payload ? b->bytes.buf + r->payload_off : NULL,
                r->payload_len, kind, triage_batch_row_id(b, i), error, (int)i))
                return -1;
        r->status = TRIAGE_ROW_REJECTED;
        return 0;
}

void triage_batch_unmark(triage_batch_t *b)
{
        for (size_t i = 0; i < b->nrows; i++)
                b->rows[i].status = TRIAGE_ROW_PENDING;
        size_t keep = 0;
        for (size_t i = 0; i < b->nrejects; i++) {
                if (b->rejects[i].from_row >= 0)
                        reject_free(&b->rejects[i]);
                else
                        b->rejects[keep++] = b->rejects[i];
        }
        b->nrejects = keep;
}

size_t triage_batch_reject_count(const triage_batch_t *b)
{
        return b->nrejects;
}

const triage_reject_t *triage_batch_reject(const triage_batch_t *b, size_t i)
{
        return i < b->nrejects ? &b->rejects[i] : NULL;
}

size_t triage_batch_count(const triage_batch_t *b, triage_row_status_t s)
{
        size_t n = 0;
        for (size_t i = 0; i < b->nrows; i++)
                n += b->rows[i].status == s;
        return n;
}

int triage_batch_new_codes(triage_batch_t *b, triage_buf_t *t, size_t *n)
{
        *n = 0;
        const char **codes = malloc((b->nrows ? b->nrows : 1) * sizeof(*codes));
        if (!codes || set_init(b, b->nrows)) {
                free(codes);
                return -1;
        }
        for (size_t i = 0; i < b->nrows; i++) {
                const char *code = triage_batch_row_credit_code(b, i);
                if (b->rows[i].status == TRIAGE_ROW_NEW && set_add(b, code))
                        codes[(*n)++] = code;
        }
        int rc = triage_buf_array_literal(t, codes, *n);
        free(codes);
        return rc;
}

int triage_batch_id_array(const triage_batch_t *b, triage_buf_t *t)
{
        const char **ids = malloc((b->nrows ? b->nrows : 1) * sizeof(*ids));
        if (!ids)
                return -1;
        for (size_t i = 0; i < b->nrows; i++)
                ids[i] = triage_batch_row_id(b, i);
        int rc = triage_buf_array_literal(t, ids, b->nrows);
        free(ids);
        return rc;
}
