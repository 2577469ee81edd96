/*
 * ql_codec_decode: decoding's last pass: the avro-c value of the writer
 * schema turned into a document of the newest schema by walking its
 * resolver; and ql_codec_decode(), which runs the three passes.
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
 * Decoding, pass 3: avro-c value of the writer schema -> document of the
 * newest schema, following the resolver.
 */

static int dec_value(const res_t *rs, avro_value_t *v, walk_t *w, json_t **out);

static int dec_fail_oom(walk_t *w)
{
        return codec_walk_fail(w, "out of memory");
}

static int dec_prim(const res_t *rs, avro_value_t *v, walk_t *w, json_t **out)
{
        const sch_node_t *r = rs->r;
        int rc = 0;
        switch (rs->w->type) {
        case SCH_NULL:
                *out = json_null();
                break;
        case SCH_BOOLEAN: {
                int b = 0;
                rc = avro_value_get_boolean(v, &b);
                *out = json_boolean(b);
                break;
        }
        case SCH_INT:
        case SCH_LONG: {
                int64_t x = 0;
                if (rs->w->type == SCH_INT) {
                        int32_t i = 0;
                        rc = avro_value_get_int(v, &i);
                        x = i;
                } else {
                        rc = avro_value_get_long(v, &x);
                }
                if (!rc && !(*out = codec_number_to_json(r, x)))
                        return codec_walk_fail(
                            w, "%s %" PRId64 " out of range",
                            r->logical == SCH_DATE               ? "date"
                            : r->logical == SCH_TIMESTAMP_MILLIS ? "timestamp"
                                                                 : "value",
                            x);
                break;
        }
        case SCH_FLOAT:
        case SCH_DOUBLE: {
                double d = 0;
                if (rs->w->type == SCH_FLOAT) {
                        float f = 0;
                        rc = avro_value_get_float(v, &f);
                        d = f;
                } else {
                        rc = avro_value_get_double(v, &d);
                }
                if (!rc && !(*out = json_real(d)))
                        return codec_walk_fail(w, "number not representable in "
                                                  "JSON");
                break;
        }
        case SCH_STRING:
        case SCH_BYTES:
        case SCH_FIXED: {
                const void *b = NULL;
                size_t size = 0;
                if (rs->w->type == SCH_STRING) {
                        const char *s = NULL;
                        rc = avro_value_get_string(v, &s, &size);
                        b = s;
                        size = size ? size - 1 : 0;
                } else if (rs->w->type == SCH_BYTES) {
                        rc = avro_value_get_bytes(v, &b, &size);
                } else {
                        rc = avro_value_get_fixed(v, &b, &size);
                }
                if (rc)
                        break;
                if (r->type == SCH_STRING) {
                        *out = json_stringn(b ? b : "", size);
                        if (!*out)
                                return codec_walk_fail(
                                    w, "string is not valid UTF-8");
                } else {
                        *out = codec_latin1_to_json(b, size);
                }
                break;
        }
        default:
                return codec_walk_fail(w, "unexpected writer type");
        }
        if (rc)
                return codec_walk_fail(w, "avro-c could not read the value");
        return *out ? 0 : dec_fail_oom(w);
}

/* One reader field's value: the writer's field, or the reader's default. */
static int dec_field(const res_field_t *f, avro_value_t *v, walk_t *w,
                     json_t **out)
{
        if (f->windex < 0) {
                *out = json_deep_copy(f->dflt);
                return *out ? 0 : dec_fail_oom(w);
        }
        avro_value_t child;
        if (avro_value_get_by_index(v, (size_t)f->windex, &child, NULL))
                return codec_walk_fail(w, "avro-c lost the field");
        return dec_value(f->res, &child, w, out);
}

static int dec_record(const res_t *rs, avro_value_t *v, walk_t *w, json_t **out)
{
        json_t *obj = json_object();
        if (!obj)
                return dec_fail_oom(w);
        for (size_t i = 0; i < rs->n_fields; i++) {
                const res_field_t *f = &rs->fields[i];
                json_t *fv;
                if (dec_field(f, v, w, &fv) ||
                    (json_object_setn_new_nocheck(obj, f->name, f->name_len,
                                                  fv) &&
                     dec_fail_oom(w))) {
                        json_decref(obj);
                        return codec_walk_up_name(w, f->name);
                }
        }
        *out = obj;
        return 0;
}

static int dec_value(const res_t *rs, avro_value_t *v, walk_t *w, json_t **out)
{
        *out = NULL;
        if (rs->failed)
                return codec_walk_fail(w, "%s cannot be read as %s",
                                       codec_node_name(rs->w),
                                       codec_node_name(rs->r));
        switch (rs->kind) {
        case RES_PRIM:
        case RES_FIXED:
                return dec_prim(rs, v, w, out);
        case RES_RUNION:
                return dec_value(rs->inner, v, w, out);
        case RES_WUNION: {
                int d = -1;
                avro_value_t branch;
                if (avro_value_get_discriminant(v, &d) || d < 0 ||
                    (size_t)d >= rs->w->n_branches ||
                    avro_value_get_current_branch(v, &branch))
                        return codec_walk_fail(w,
                                               "avro-c lost the union branch");
                if (!rs->branches[d])
                        return codec_walk_fail(
                            w,
                            "writer's branch %s is not readable "
                            "as %s",
                            codec_node_name(rs->w->branches[d]),
                            codec_node_name(rs->r));
                return dec_value(rs->branches[d], &branch, w, out);
        }
        case RES_ENUM: {
                int e = -1;
                if (avro_value_get_enum(v, &e) || e < 0 ||
                    (size_t)e >= rs->w->n_symbols)
                        return codec_walk_fail(w, "enum index out of range");
                int r = rs->symbol_map[e];
                if (r < 0)
                        return codec_walk_fail(
                            w,
                            "symbol %s is unknown to the newest "
                            "schema",
                            rs->w->symbols[e]);
                *out = json_string(rs->r->symbols[r]);
                return *out ? 0 : dec_fail_oom(w);
        }
        case RES_RECORD: {
                w->depth++;
                int rc = dec_record(rs, v, w, out);
                w->depth--;
                return rc;
        }
        case RES_ARRAY:
        case RES_MAP: {
                size_t n = 0;
                if (avro_value_get_size(v, &n))
                        return codec_walk_fail(w, "avro-c lost the size");
                json_t *c =
                    rs->kind == RES_ARRAY ? json_array() : json_object();
                if (!c)
                        return dec_fail_oom(w);
                w->depth++;
                for (size_t i = 0; i < n; i++) {
                        avro_value_t child;
                        const char *key = NULL;
                        json_t *e = NULL;
                        if (avro_value_get_by_index(v, i, &child, &key)) {
                                json_decref(c);
                                codec_walk_fail(w, "avro-c lost the entry");
                                return codec_walk_up_index(w, i);
                        }
                        if (dec_value(rs->inner, &child, w, &e)) {
                                json_decref(c);
                                return codec_walk_up_index(w, i);
                        }
                        int bad = rs->kind == RES_ARRAY
                                      ? json_array_append_new(c, e)
                                      : json_object_set_new(c, key, e);
                        if (bad) {
                                json_decref(c);
                                codec_walk_fail(
                                    w, "map key is not valid UTF-8 (or "
                                       "out of memory)");
                                return codec_walk_up_index(w, i);
                        }
                }
                w->depth--;
                *out = c;
                return 0;
        }
        }
        return codec_walk_fail(w, "unknown resolver");
}

int ql_codec_decode(const ql_codec_t *codec, const void *buf, size_t len,
                    json_t **doc, char *errstr, size_t errstr_size)
{
        const unsigned char *p = buf;
        *doc = NULL;
        if (!buf || len < 2 || p[0] != 0xC3 || p[1] != 0x01)
                return codec_set_err(
                    errstr, errstr_size,
                    "not Avro single-object encoding (no C3 01 "
                    "header)");
        if (len < CODEC_HEADER_LEN)
                return codec_set_err(errstr, errstr_size,
                                     "message of %zu bytes is shorter than the "
                                     "single-object header",
                                     len);
        uint64_t fp = 0;
        for (int i = 0; i < 8; i++)
                fp |= (uint64_t)p[2 + i] << (8 * i);
        const codec_version_t *v = NULL;
        for (size_t i = 0; i < codec->n && !v; i++)
                if (codec->v[i].fingerprint == fp)
                        v = &codec->v[i];
        if (!v)
                return codec_set_err(
                    errstr, errstr_size,
                    "unknown writer schema fingerprint %" PRIu64, fp);
        walk_t w;
        codec_walk_init(&w);
        scan_t s = {p + CODEC_HEADER_LEN, len - CODEC_HEADER_LEN, 0, &w};
        if (codec_scan_value(&s, v->sch.root))
                return codec_walk_report(&w, errstr, errstr_size);
        if (s.pos != s.len)
                return codec_set_err(errstr, errstr_size,
                                     "%zu trailing bytes after the datum",
                                     s.len - s.pos);

        avro_value_t val;
        if (codec_value_get(v, &val))
                return codec_set_err(errstr, errstr_size,
                                     "avro-c could not allocate a value");
        avro_reader_t rd =
            avro_reader_memory((const char *)s.p, (int64_t)s.len);
        int rc = -1;
        if (!rd || avro_value_read(rd, &val)) {
                codec_set_err(errstr, errstr_size,
                              "avro-c could not read the datum");
                goto out;
        }
        codec_walk_init(&w);
        if ((rc = dec_value(v->to_newest, &val, &w, doc)))
                codec_walk_report(&w, errstr, errstr_size);
out:
        if (rd)
                avro_reader_free(rd);
        codec_value_put(v, &val, len);
        return rc;
}
