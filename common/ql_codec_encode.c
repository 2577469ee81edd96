/*
 * ql_codec_encode: a document checked against the newest schema and
 * written as a single-object Avro message.
 */
#include "ql_codec.h"

#include <avro.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_codec_private.h"
#include "ql_time.h"

/*------------------------------------------------------------------------
 * Encoding: document -> avro-c generic value of the newest schema.
 */

static const char *json_kind(const json_t *j)
{
        switch (json_typeof(j)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a real number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

/* A timestamp string whose instant ql_time can write and read back. */
static int parse_timestamp(const json_t *j, int64_t *ms)
{
        if (!json_is_string(j) ||
            ql_time_parse_timestamp(json_string_value(j), ms) ||
            *ms < TS_MIN_MS || *ms > TS_MAX_MS)
                return -1;
        return 0;
}

/* Length of the longest prefix of string j of at most max bytes that ends
 * on a character boundary (errors quote the value and stay UTF-8). */
static int utf8_prefix(const json_t *j, size_t max)
{
        const unsigned char *s = (const unsigned char *)json_string_value(j);
        size_t n = json_string_length(j);
        if (n > max) {
                n = max;
                while (n > 0 && (s[n] & 0xC0) == 0x80)
                        n--;
        }
        return (int)n;
}

static int enum_index(const sch_node_t *n, const char *s)
{
        for (size_t i = 0; i < n->n_symbols; i++)
                if (strcmp(n->symbols[i], s) == 0)
                        return (int)i;
        return -1;
}

/* Whether a document value can be written as node n (shallow, enough to
 * pick a union branch). */
static int accepts(const sch_node_t *n, const json_t *j)
{
        int32_t days;
        int64_t ms;
        switch (n->type) {
        case SCH_NULL:
                return json_is_null(j);
        case SCH_BOOLEAN:
                return json_is_boolean(j);
        case SCH_INT:
                if (n->logical == SCH_DATE)
                        return json_is_string(j) &&
                               ql_time_parse_date(json_string_value(j),
                                                  &days) == 0;
                return json_is_integer(j) &&
                       json_integer_value(j) >= INT32_MIN &&
                       json_integer_value(j) <= INT32_MAX;
        case SCH_LONG:
                if (n->logical == SCH_TIMESTAMP_MILLIS)
                        return parse_timestamp(j, &ms) == 0;
                return json_is_integer(j);
        case SCH_FLOAT:
        case SCH_DOUBLE:
                return json_is_number(j);
        case SCH_STRING:
        case SCH_BYTES:
        case SCH_FIXED:
                return json_is_string(j);
        case SCH_ENUM:
                return json_is_string(j) &&
                       enum_index(n, json_string_value(j)) >= 0;
        case SCH_RECORD:
                if (!json_is_object(j))
                        return 0;
                for (size_t i = 0; i < n->n_fields; i++)
                        if (!json_object_get(j, n->fields[i].name) &&
                            !n->fields[i].dflt)
                                return 0;
                return 1;
        case SCH_MAP:
                return json_is_object(j);
        case SCH_ARRAY:
                return json_is_array(j);
        default:
                return 0;
        }
}

static int union_has_null(const sch_node_t *n)
{
        for (size_t i = 0; n->type == SCH_UNION && i < n->n_branches; i++)
                if (n->branches[i]->type == SCH_NULL)
                        return 1;
        return 0;
}

static int union_expected(const sch_node_t *n, walk_t *w, const json_t *j)
{
        char list[200] = "";
        size_t len = 0;
        for (size_t i = 0; i < n->n_branches && len < sizeof(list); i++) {
                const sch_node_t *b = n->branches[i];
                const char *name =
                    b->type == SCH_INT && b->logical == SCH_DATE ? "date"
                    : b->type == SCH_LONG && b->logical == SCH_TIMESTAMP_MILLIS
                        ? "timestamp"
                        : codec_node_name(b);
                int k = snprintf(list + len, sizeof(list) - len, "%s%s",
                                 i ? " or " : "", name);
                if (k > 0)
                        len += (size_t)k;
        }
        return codec_walk_fail(w, "expected %s, got %s", list, json_kind(j));
}

static int avro_oom(walk_t *w)
{
        return codec_walk_fail(
            w, "avro-c could not build the value (out of memory)");
}

static int enc_value(const sch_node_t *n, const json_t *j, avro_value_t *v,
                     walk_t *w);

static int enc_record(const sch_node_t *n, const json_t *j, avro_value_t *v,
                      walk_t *w)
{
        if (!json_is_object(j))
                return codec_walk_fail(w, "expected an object, got %s",
                                       json_kind(j));
        for (size_t i = 0; i < n->n_fields; i++) {
                const sch_field_t *f = &n->fields[i];
                const json_t *fj = json_object_get(j, f->name);
                if (!fj)
                        fj = f->dflt;
                if (!fj && union_has_null(f->type))
                        fj = json_null();
                avro_value_t child;
                if (!fj)
                        codec_walk_fail(w, "missing");
                else if (avro_value_get_by_index(v, i, &child, NULL))
                        avro_oom(w);
                else if (enc_value(f->type, fj, &child, w) == 0)
                        continue;
                return codec_walk_up_name(w, f->name);
        }
        return 0;
}

static int enc_value(const sch_node_t *n, const json_t *j, avro_value_t *v,
                     walk_t *w)
{
        if (w->depth > CODEC_MAX_DEPTH)
                return codec_walk_fail(w, "nested too deeply");
        int rc = 0;
        switch (n->type) {
        case SCH_NULL:
                if (!json_is_null(j))
                        return codec_walk_fail(w, "expected null, got %s",
                                               json_kind(j));
                rc = avro_value_set_null(v);
                break;
        case SCH_BOOLEAN:
                if (!json_is_boolean(j))
                        return codec_walk_fail(w, "expected a boolean, got %s",
                                               json_kind(j));
                rc = avro_value_set_boolean(v, json_is_true(j));
                break;
        case SCH_INT:
                if (n->logical == SCH_DATE) {
                        int32_t days;
                        if (!json_is_string(j) ||
                            ql_time_parse_date(json_string_value(j), &days))
                                return codec_walk_fail(w,
                                                       "expected a date "
                                                       "YYYY-MM-DD, got %s",
                                                       json_kind(j));
                        rc = avro_value_set_int(v, days);
                } else {
                        if (!accepts(n, j))
                                return codec_walk_fail(
                                    w,
                                    "expected a 32-bit integer, "
                                    "got %s",
                                    json_kind(j));
                        rc = avro_value_set_int(v,
                                                (int32_t)json_integer_value(j));
                }
                break;
        case SCH_LONG:
                if (n->logical == SCH_TIMESTAMP_MILLIS) {
                        int64_t ms;
                        if (parse_timestamp(j, &ms))
                                return codec_walk_fail(
                                    w,
                                    "expected an ISO 8601 "
                                    "timestamp with offset, "
                                    "1900..9999 in UTC, got %s",
                                    json_kind(j));
                        rc = avro_value_set_long(v, ms);
                } else {
                        if (!json_is_integer(j))
                                return codec_walk_fail(
                                    w, "expected an integer, got %s",
                                    json_kind(j));
                        rc = avro_value_set_long(v, json_integer_value(j));
                }
                break;
        case SCH_FLOAT:
        case SCH_DOUBLE:
                if (!json_is_number(j))
                        return codec_walk_fail(w, "expected a number, got %s",
                                               json_kind(j));
                rc = n->type == SCH_FLOAT
                         ? avro_value_set_float(v, (float)json_number_value(j))
                         : avro_value_set_double(v, json_number_value(j));
                break;
        case SCH_STRING: {
                if (!json_is_string(j))
                        return codec_walk_fail(w, "expected a string, got %s",
                                               json_kind(j));
                /* Lend the document's bytes (NUL included) to avro-c; the
                 * value dies before the document does. */
                avro_wrapped_buffer_t buf;
                rc = avro_wrapped_buffer_new(&buf, json_string_value(j),
                                             json_string_length(j) + 1);
                if (!rc)
                        rc = avro_value_give_string_len(v, &buf);
                break;
        }
        case SCH_BYTES:
        case SCH_FIXED: {
                unsigned char *b;
                size_t len;
                if (!json_is_string(j) || codec_latin1_from_json(j, &b, &len))
                        return codec_walk_fail(
                            w, "expected a string of code points "
                               "U+0000..U+00FF");
                if (n->type == SCH_FIXED && len != n->fixed_size) {
                        free(b);
                        return codec_walk_fail(w, "expected %zu bytes, got %zu",
                                               n->fixed_size, len);
                }
                rc = n->type == SCH_BYTES ? avro_value_set_bytes(v, b, len)
                                          : avro_value_set_fixed(v, b, len);
                free(b);
                break;
        }
        case SCH_ENUM: {
                int idx = json_is_string(j)
                              ? enum_index(n, json_string_value(j))
                              : -1;
                if (idx < 0) {
                        char list[200] = "";
                        size_t len = 0;
                        for (size_t i = 0;
                             i < n->n_symbols && len < sizeof(list); i++) {
                                int k = snprintf(list + len, sizeof(list) - len,
                                                 "%s%s", i ? " " : "",
                                                 n->symbols[i]);
                                if (k > 0)
                                        len += (size_t)k;
                        }
                        if (json_is_string(j))
                                return codec_walk_fail(
                                    w, "\"%.*s\" is not one of %s",
                                    utf8_prefix(j, 60), json_string_value(j),
                                    list);
                        return codec_walk_fail(w, "expected one of %s, got %s",
                                               list, json_kind(j));
                }
                rc = avro_value_set_enum(v, idx);
                break;
        }
        case SCH_ARRAY: {
                if (!json_is_array(j))
                        return codec_walk_fail(w, "expected an array, got %s",
                                               json_kind(j));
                size_t i;
                const json_t *e;
                w->depth++;
                json_array_foreach(j, i, e)
                {
                        avro_value_t child;
                        if (avro_value_append(v, &child, NULL))
                                return avro_oom(w), codec_walk_up_index(w, i);
                        if (enc_value(n->items, e, &child, w))
                                return codec_walk_up_index(w, i);
                }
                w->depth--;
                break;
        }
        case SCH_MAP: {
                if (!json_is_object(j))
                        return codec_walk_fail(w, "expected an object, got %s",
                                               json_kind(j));
                const char *k;
                json_t *e;
                w->depth++;
                json_object_foreach((json_t *)j, k, e)
                {
                        avro_value_t child;
                        if (avro_value_add(v, k, &child, NULL, NULL))
                                return avro_oom(w), codec_walk_up_name(w, k);
                        if (enc_value(n->items, e, &child, w))
                                return codec_walk_up_name(w, k);
                }
                w->depth--;
                break;
        }
        case SCH_RECORD:
                w->depth++;
                if (enc_record(n, j, v, w))
                        return -1;
                w->depth--;
                break;
        case SCH_UNION: {
                size_t b;
                for (b = 0; b < n->n_branches; b++)
                        if (accepts(n->branches[b], j))
                                break;
                if (b == n->n_branches)
                        return union_expected(n, w, j);
                avro_value_t branch;
                if (avro_value_set_branch(v, (int)b, &branch))
                        return avro_oom(w);
                return enc_value(n->branches[b], j, &branch, w);
        }
        }
        return rc ? avro_oom(w) : 0;
}

int ql_codec_encode(const ql_codec_t *codec, const json_t *doc,
                    unsigned char **out, size_t *out_len, char *errstr,
                    size_t errstr_size)
{
        const codec_version_t *v = &codec->v[codec->n - 1];
        *out = NULL;
        *out_len = 0;
        if (!doc)
                return codec_set_err(errstr, errstr_size, "no document");
        avro_value_t val;
        if (codec_value_get(v, &val))
                return codec_set_err(errstr, errstr_size,
                                     "avro-c could not allocate a value");
        walk_t w;
        codec_walk_init(&w);
        int rc = -1;
        unsigned char *buf = NULL;
        size_t size = 0;
        if (enc_value(v->sch.root, doc, &val, &w)) {
                codec_walk_report(&w, errstr, errstr_size);
                goto out;
        }
        /* Most datums fit the stack buffer: written there, they need no
         * sizing walk first; bigger ones are sized, then written. */
        char small[CODEC_SMALL_DATUM];
        avro_writer_t wr = avro_writer_memory(small, sizeof(small));
        int fits = wr && avro_value_write(wr, &val) == 0;
        if (fits)
                size = (size_t)avro_writer_tell(wr);
        if (wr)
                avro_writer_free(wr);
        if (!fits && avro_value_sizeof(&val, &size)) {
                codec_set_err(errstr, errstr_size,
                              "avro-c could not size the datum");
                goto out;
        }
        buf = malloc(CODEC_HEADER_LEN + size);
        if (!buf) {
                codec_set_err(errstr, errstr_size, "out of memory");
                goto out;
        }
        buf[0] = 0xC3;
        buf[1] = 0x01;
        for (int i = 0; i < 8; i++)
                buf[2 + i] = (unsigned char)(v->fingerprint >> (8 * i));
        if (fits) {
                memcpy(buf + CODEC_HEADER_LEN, small, size);
        } else {
                wr = avro_writer_memory((const char *)buf + CODEC_HEADER_LEN,
                                        (int64_t)size);
                if (!wr || avro_value_write(wr, &val) ||
                    (size_t)avro_writer_tell(wr) != size) {
                        if (wr)
                                avro_writer_free(wr);
                        codec_set_err(errstr, errstr_size,
                                      "avro-c could not write the datum");
                        goto out;
                }
                avro_writer_free(wr);
        }
        *out = buf;
        *out_len = CODEC_HEADER_LEN + size;
        buf = NULL;
        rc = 0;
out:
        free(buf);
        codec_value_put(v, &val, size);
        return rc;
}
