/*
 * ql_codec_canon: a schema's Parsing Canonical Form and its CRC-64-AVRO
 * fingerprint (the 8 bytes after the single-object marker).
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
 * Parsing Canonical Form, built as jansson values and dumped compactly:
 * primitives as their names, full names, only name/type/fields/symbols/
 * items/values/size in that order, a named type spelled out the first time
 * only.
 */

typedef struct {
        unsigned char *seen; /* per node id */
        int ok;
} canon_t;

static void canon_set(canon_t *c, json_t *o, const char *key, json_t *v)
{
        if (!v || json_object_set_new(o, key, v))
                c->ok = 0;
}

static void canon_append(canon_t *c, json_t *a, json_t *v)
{
        if (!v || json_array_append_new(a, v))
                c->ok = 0;
}

static json_t *canon_json(canon_t *c, const sch_node_t *n)
{
        if (n->type <= SCH_STRING)
                return json_string(codec_sch_type_names[n->type]);
        if (n->type == SCH_UNION) {
                json_t *a = json_array();
                for (size_t i = 0; a && i < n->n_branches; i++)
                        canon_append(c, a, canon_json(c, n->branches[i]));
                return a;
        }
        if (n->fullname) {
                if (c->seen[n->id])
                        return json_string(n->fullname);
                c->seen[n->id] = 1;
        }
        json_t *o = json_object();
        if (!o)
                return NULL;
        if (n->fullname)
                canon_set(c, o, "name", json_string(n->fullname));
        const char *type =
            n->is_error ? "error" : codec_sch_type_names[n->type];
        canon_set(c, o, "type", json_string(type));
        switch (n->type) {
        case SCH_RECORD: {
                json_t *fields = json_array();
                for (size_t i = 0; fields && i < n->n_fields; i++) {
                        json_t *f = json_object();
                        if (f) {
                                canon_set(c, f, "name",
                                          json_string(n->fields[i].name));
                                canon_set(c, f, "type",
                                          canon_json(c, n->fields[i].type));
                        }
                        canon_append(c, fields, f);
                }
                canon_set(c, o, "fields", fields);
                break;
        }
        case SCH_ENUM: {
                json_t *syms = json_array();
                for (size_t i = 0; syms && i < n->n_symbols; i++)
                        canon_append(c, syms, json_string(n->symbols[i]));
                canon_set(c, o, "symbols", syms);
                break;
        }
        case SCH_ARRAY:
                canon_set(c, o, "items", canon_json(c, n->items));
                break;
        case SCH_MAP:
                canon_set(c, o, "values", canon_json(c, n->items));
                break;
        case SCH_FIXED:
                canon_set(c, o, "size",
                          json_integer((json_int_t)n->fixed_size));
                break;
        default:
                break;
        }
        return o;
}

char *codec_sch_canonical(const sch_t *s, char *errstr, size_t errstr_size)
{
        canon_t c = {calloc(s->n_nodes + 1, 1), 1};
        json_t *j = c.seen ? canon_json(&c, s->root) : NULL;
        char *out =
            j && c.ok ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(j);
        free(c.seen);
        if (!out)
                codec_set_err(errstr, errstr_size, "out of memory");
        return out;
}

uint64_t ql_codec_crc64(const void *buf, size_t len)
{
        const unsigned char *p = buf;
        uint64_t fp = CRC64_AVRO_EMPTY;
        for (size_t i = 0; i < len; i++) {
                fp ^= p[i];
                for (int k = 0; k < 8; k++)
                        fp = (fp >> 1) ^ (CRC64_AVRO_EMPTY & (0 - (fp & 1)));
        }
        return fp;
}

char *ql_codec_canonical_form(const char *schema_json, char *errstr,
                              size_t errstr_size)
{
        json_error_t jerr;
        json_t *j = json_loads(schema_json, JSON_DECODE_ANY, &jerr);
        if (!j) {
                codec_set_err(errstr, errstr_size,
                              "schema is not JSON: %s (line %d)", jerr.text,
                              jerr.line);
                return NULL;
        }
        sch_t s = {0};
        char *out = NULL;
        if (codec_sch_build(&s, j, errstr, errstr_size) == 0)
                out = codec_sch_canonical(&s, errstr, errstr_size);
        codec_sch_clear(&s);
        json_decref(j);
        return out;
}
