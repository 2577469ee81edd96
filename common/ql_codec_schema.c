/*
 * ql_codec_schema: the schema graph: a schema file's JSON parsed into
 * nodes (named types, logical types, aliases, field defaults converted to
 * document shape), with every rule of the Avro specification checked that
 * avro-c does not check.
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

const char *const codec_sch_type_names[] = {
    "null",   "boolean", "int",  "long",  "float", "double", "bytes",
    "string", "record",  "enum", "array", "map",   "union",  "fixed",
};

static void free_strings(char **v, size_t n)
{
        if (!v)
                return;
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void codec_sch_clear(sch_t *s)
{
        for (size_t i = 0; i < s->n_nodes; i++) {
                sch_node_t *n = s->nodes[i];
                free(n->fullname);
                free_strings(n->aliases, n->n_aliases);
                for (size_t f = 0; n->fields && f < n->n_fields; f++) {
                        free(n->fields[f].name);
                        json_decref(n->fields[f].raw_default);
                        json_decref(n->fields[f].dflt);
                        free_strings(n->fields[f].aliases,
                                     n->fields[f].n_aliases);
                }
                free(n->fields);
                free_strings(n->symbols, n->n_symbols);
                free(n->branches);
                free(n);
        }
        free(s->nodes);
        memset(s, 0, sizeof(*s));
}

typedef struct {
        sch_t *s;
        char *errstr;
        size_t errstr_size;
} parse_t;

static sch_node_t *sch_new_node(parse_t *p, sch_type_t type)
{
        sch_t *s = p->s;
        if (s->n_nodes == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 32;
                sch_node_t **v = realloc(s->nodes, cap * sizeof(*v));
                if (!v)
                        goto oom;
                s->nodes = v;
                s->cap = cap;
        }
        sch_node_t *n = calloc(1, sizeof(*n));
        if (!n)
                goto oom;
        n->type = type;
        n->id = s->n_nodes;
        n->enum_default = -1;
        s->nodes[s->n_nodes++] = n;
        return n;
oom:
        codec_set_err(p->errstr, p->errstr_size, "out of memory");
        return NULL;
}

static int primitive_type(const char *name)
{
        for (int t = SCH_NULL; t <= SCH_STRING; t++)
                if (strcmp(name, codec_sch_type_names[t]) == 0)
                        return t;
        return -1;
}

/* [A-Za-z_][A-Za-z0-9_]* over n bytes. */
static int valid_simple_name(const char *s, size_t n)
{
        if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') ||
                        (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
                return 0;
        for (size_t i = 1; i < n; i++) {
                char c = s[i];
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '_'))
                        return 0;
        }
        return 1;
}

/* Dot-separated simple names. */
static int valid_fullname(const char *s)
{
        for (;;) {
                const char *dot = strchr(s, '.');
                size_t n = dot ? (size_t)(dot - s) : strlen(s);
                if (!valid_simple_name(s, n))
                        return 0;
                if (!dot)
                        return 1;
                s = dot + 1;
        }
}

/* name if it has a dot, else ns.name (or name in the null namespace). */
static char *make_fullname(const char *name, const char *ns)
{
        if (strchr(name, '.') || !ns || !*ns)
                return strdup(name);
        size_t a = strlen(ns), b = strlen(name);
        char *s = malloc(a + b + 2);
        if (s) {
                memcpy(s, ns, a);
                s[a] = '.';
                memcpy(s + a + 1, name, b + 1);
        }
        return s;
}

const char *codec_unqualified(const char *fullname)
{
        const char *dot = strrchr(fullname, '.');
        return dot ? dot + 1 : fullname;
}

static sch_node_t *sch_lookup(const sch_t *s, const char *fullname)
{
        for (size_t i = 0; i < s->n_nodes; i++)
                if (s->nodes[i]->fullname &&
                    strcmp(s->nodes[i]->fullname, fullname) == 0)
                        return s->nodes[i];
        return NULL;
}

static sch_node_t *parse_schema(parse_t *p, const json_t *j, const char *ns,
                                int depth);

/* A type name: a primitive or a reference to a named type defined before. */
static sch_node_t *parse_name(parse_t *p, const char *name, const char *ns)
{
        int prim = primitive_type(name);
        if (prim >= 0)
                return sch_new_node(p, (sch_type_t)prim);
        char *full = make_fullname(name, ns);
        if (!full) {
                codec_set_err(p->errstr, p->errstr_size, "out of memory");
                return NULL;
        }
        sch_node_t *n = sch_lookup(p->s, full);
        if (!n)
                n = sch_lookup(p->s, name);
        free(full);
        if (!n)
                codec_set_err(p->errstr, p->errstr_size, "unknown type \"%s\"",
                              name);
        return n;
}

/* Read an optional array of names into *out (qualified with ns if ns). */
static int parse_aliases(parse_t *p, const json_t *j, const char *ns,
                         char ***out, size_t *n_out)
{
        const json_t *a = json_object_get(j, "aliases");
        if (!a)
                return 0;
        if (!json_is_array(a))
                return codec_set_err(p->errstr, p->errstr_size,
                                     "\"aliases\" must be an array of names");
        size_t n = json_array_size(a);
        if (n == 0)
                return 0;
        *out = calloc(n, sizeof(char *));
        if (!*out)
                return codec_set_err(p->errstr, p->errstr_size,
                                     "out of memory");
        *n_out = n;
        for (size_t i = 0; i < n; i++) {
                const char *s = json_string_value(json_array_get(a, i));
                if (!s ||
                    !(ns ? valid_fullname(s) : valid_simple_name(s, strlen(s))))
                        return codec_set_err(p->errstr, p->errstr_size,
                                             "invalid alias in \"aliases\"");
                (*out)[i] = ns ? make_fullname(s, ns) : strdup(s);
                if (!(*out)[i])
                        return codec_set_err(p->errstr, p->errstr_size,
                                             "out of memory");
        }
        return 0;
}

/* The name, namespace and aliases of a record, enum or fixed.  *own_ns is
 * the namespace its nested definitions inherit (caller frees). */
static sch_node_t *parse_named(parse_t *p, sch_type_t type, const json_t *j,
                               const char *ns, char **own_ns)
{
        const char *name = json_string_value(json_object_get(j, "name"));
        if (!name)
                return codec_set_err(p->errstr, p->errstr_size,
                                     "a %s needs a \"name\"",
                                     codec_sch_type_names[type]),
                       NULL;
        const json_t *jns = json_object_get(j, "namespace");
        if (jns && !json_is_null(jns)) {
                if (!json_is_string(jns))
                        return codec_set_err(
                                   p->errstr, p->errstr_size,
                                   "%s: \"namespace\" must be a string", name),
                               NULL;
                ns = json_string_value(jns);
                if (*ns && !valid_fullname(ns))
                        return codec_set_err(p->errstr, p->errstr_size,
                                             "%s: invalid namespace \"%s\"",
                                             name, ns),
                               NULL;
        }
        char *full = make_fullname(name, ns);
        if (!full)
                return codec_set_err(p->errstr, p->errstr_size,
                                     "out of memory"),
                       NULL;
        if (!valid_fullname(full) ||
            primitive_type(codec_unqualified(full)) >= 0) {
                codec_set_err(p->errstr, p->errstr_size,
                              "invalid type name \"%s\"", full);
                free(full);
                return NULL;
        }
        if (sch_lookup(p->s, full)) {
                codec_set_err(p->errstr, p->errstr_size,
                              "type \"%s\" is defined twice", full);
                free(full);
                return NULL;
        }
        sch_node_t *n = sch_new_node(p, type);
        if (!n) {
                free(full);
                return NULL;
        }
        n->fullname = full;
        size_t nslen = (size_t)(codec_unqualified(full) - full);
        *own_ns = strndup(full, nslen ? nslen - 1 : 0);
        if (!*own_ns)
                return codec_set_err(p->errstr, p->errstr_size,
                                     "out of memory"),
                       NULL;
        if (parse_aliases(p, j, *own_ns, &n->aliases, &n->n_aliases)) {
                free(*own_ns);
                *own_ns = NULL;
                return NULL;
        }
        return n;
}

static sch_node_t *parse_record(parse_t *p, const json_t *j, const char *ns,
                                int depth, int is_error)
{
        char *own_ns = NULL;
        sch_node_t *n = parse_named(p, SCH_RECORD, j, ns, &own_ns);
        if (!n)
                return NULL;
        n->is_error = is_error;
        const json_t *fields = json_object_get(j, "fields");
        if (!json_is_array(fields)) {
                codec_set_err(p->errstr, p->errstr_size,
                              "record %s needs a \"fields\" array",
                              n->fullname);
                goto fail;
        }
        size_t nf = json_array_size(fields);
        n->fields = nf ? calloc(nf, sizeof(sch_field_t)) : NULL;
        if (nf && !n->fields) {
                codec_set_err(p->errstr, p->errstr_size, "out of memory");
                goto fail;
        }
        n->n_fields = nf;
        for (size_t i = 0; i < nf; i++) {
                const json_t *jf = json_array_get(fields, i);
                sch_field_t *f = &n->fields[i];
                const char *fname =
                    json_string_value(json_object_get(jf, "name"));
                if (!fname || !valid_simple_name(fname, strlen(fname))) {
                        codec_set_err(
                            p->errstr, p->errstr_size,
                            "record %s: field %zu needs a valid \"name\"",
                            n->fullname, i);
                        goto fail;
                }
                for (size_t k = 0; k < i; k++)
                        if (strcmp(n->fields[k].name, fname) == 0) {
                                codec_set_err(
                                    p->errstr, p->errstr_size,
                                    "record %s: field %s appears twice",
                                    n->fullname, fname);
                                goto fail;
                        }
                f->name = strdup(fname);
                if (!f->name) {
                        codec_set_err(p->errstr, p->errstr_size,
                                      "out of memory");
                        goto fail;
                }
                const json_t *jt = json_object_get(jf, "type");
                if (!jt) {
                        codec_set_err(p->errstr, p->errstr_size,
                                      "field %s.%s needs a \"type\"",
                                      n->fullname, fname);
                        goto fail;
                }
                f->type = parse_schema(p, jt, own_ns, depth + 1);
                if (!f->type)
                        goto fail;
                f->raw_default = json_incref(json_object_get(jf, "default"));
                if (parse_aliases(p, jf, NULL, &f->aliases, &f->n_aliases))
                        goto fail;
        }
        free(own_ns);
        return n;
fail:
        free(own_ns);
        return NULL;
}

static sch_node_t *parse_enum(parse_t *p, const json_t *j, const char *ns)
{
        char *own_ns = NULL;
        sch_node_t *n = parse_named(p, SCH_ENUM, j, ns, &own_ns);
        free(own_ns);
        if (!n)
                return NULL;
        const json_t *syms = json_object_get(j, "symbols");
        if (!json_is_array(syms))
                return codec_set_err(p->errstr, p->errstr_size,
                                     "enum %s needs a \"symbols\" array",
                                     n->fullname),
                       NULL;
        size_t nsym = json_array_size(syms);
        n->symbols = nsym ? calloc(nsym, sizeof(char *)) : NULL;
        if (nsym && !n->symbols)
                return codec_set_err(p->errstr, p->errstr_size,
                                     "out of memory"),
                       NULL;
        n->n_symbols = nsym;
        for (size_t i = 0; i < nsym; i++) {
                const char *sym = json_string_value(json_array_get(syms, i));
                if (!sym || !valid_simple_name(sym, strlen(sym)))
                        return codec_set_err(p->errstr, p->errstr_size,
                                             "enum %s: invalid symbol %zu",
                                             n->fullname, i),
                               NULL;
                for (size_t k = 0; k < i; k++)
                        if (strcmp(n->symbols[k], sym) == 0)
                                return codec_set_err(
                                           p->errstr, p->errstr_size,
                                           "enum %s: symbol %s appears "
                                           "twice",
                                           n->fullname, sym),
                                       NULL;
                n->symbols[i] = strdup(sym);
                if (!n->symbols[i])
                        return codec_set_err(p->errstr, p->errstr_size,
                                             "out of memory"),
                               NULL;
        }
        const json_t *d = json_object_get(j, "default");
        if (d) {
                const char *ds = json_string_value(d);
                for (size_t i = 0; ds && i < n->n_symbols; i++)
                        if (strcmp(n->symbols[i], ds) == 0)
                                n->enum_default = (int)i;
                if (n->enum_default < 0)
                        return codec_set_err(
                                   p->errstr, p->errstr_size,
                                   "enum %s: default is not one of its "
                                   "symbols",
                                   n->fullname),
                               NULL;
        }
        return n;
}

static sch_node_t *parse_fixed(parse_t *p, const json_t *j, const char *ns)
{
        char *own_ns = NULL;
        sch_node_t *n = parse_named(p, SCH_FIXED, j, ns, &own_ns);
        free(own_ns);
        if (!n)
                return NULL;
        const json_t *size = json_object_get(j, "size");
        if (!json_is_integer(size) || json_integer_value(size) < 0 ||
            json_integer_value(size) > (1 << 30))
                return codec_set_err(p->errstr, p->errstr_size,
                                     "fixed %s needs a \"size\"", n->fullname),
                       NULL;
        n->fixed_size = (size_t)json_integer_value(size);
        return n;
}

static sch_node_t *parse_union(parse_t *p, const json_t *j, const char *ns,
                               int depth)
{
        sch_node_t *n = sch_new_node(p, SCH_UNION);
        if (!n)
                return NULL;
        size_t nb = json_array_size(j);
        n->branches = nb ? calloc(nb, sizeof(sch_node_t *)) : NULL;
        if (nb && !n->branches)
                return codec_set_err(p->errstr, p->errstr_size,
                                     "out of memory"),
                       NULL;
        n->n_branches = nb;
        for (size_t i = 0; i < nb; i++) {
                sch_node_t *b =
                    parse_schema(p, json_array_get(j, i), ns, depth + 1);
                if (!b)
                        return NULL;
                if (b->type == SCH_UNION)
                        return codec_set_err(p->errstr, p->errstr_size,
                                             "a union may not contain a union"),
                               NULL;
                for (size_t k = 0; k < i; k++) {
                        const sch_node_t *o = n->branches[k];
                        if (o->type == b->type &&
                            (!b->fullname ||
                             strcmp(o->fullname, b->fullname) == 0))
                                return codec_set_err(
                                           p->errstr, p->errstr_size,
                                           "union has two %s branches",
                                           b->fullname
                                               ? b->fullname
                                               : codec_sch_type_names[b->type]),
                                       NULL;
                }
                n->branches[i] = b;
        }
        return n;
}

static sch_node_t *parse_schema(parse_t *p, const json_t *j, const char *ns,
                                int depth)
{
        if (depth > CODEC_MAX_DEPTH)
                return codec_set_err(p->errstr, p->errstr_size,
                                     "schema nested too deeply"),
                       NULL;
        if (json_is_string(j))
                return parse_name(p, json_string_value(j), ns);
        if (json_is_array(j))
                return parse_union(p, j, ns, depth);
        if (!json_is_object(j))
                return codec_set_err(
                           p->errstr, p->errstr_size,
                           "a schema is a name, an object or an array"),
                       NULL;
        const char *t = json_string_value(json_object_get(j, "type"));
        if (!t)
                return codec_set_err(p->errstr, p->errstr_size,
                                     "schema object without a \"type\" name"),
                       NULL;
        int prim = primitive_type(t);
        if (prim >= 0) {
                sch_node_t *n = sch_new_node(p, (sch_type_t)prim);
                const char *lt =
                    json_string_value(json_object_get(j, "logicalType"));
                if (n && lt && prim == SCH_INT && strcmp(lt, "date") == 0)
                        n->logical = SCH_DATE;
                if (n && lt && prim == SCH_LONG &&
                    strcmp(lt, "timestamp-millis") == 0)
                        n->logical = SCH_TIMESTAMP_MILLIS;
                return n;
        }
        if (strcmp(t, "record") == 0 || strcmp(t, "error") == 0)
                return parse_record(p, j, ns, depth, t[0] == 'e');
        if (strcmp(t, "enum") == 0)
                return parse_enum(p, j, ns);
        if (strcmp(t, "fixed") == 0)
                return parse_fixed(p, j, ns);
        if (strcmp(t, "array") == 0 || strcmp(t, "map") == 0) {
                int is_array = t[0] == 'a';
                const json_t *jt =
                    json_object_get(j, is_array ? "items" : "values");
                if (!jt)
                        return codec_set_err(p->errstr, p->errstr_size,
                                             "%s needs \"%s\"", t,
                                             is_array ? "items" : "values"),
                               NULL;
                sch_node_t *n = sch_new_node(p, is_array ? SCH_ARRAY : SCH_MAP);
                if (!n)
                        return NULL;
                n->items = parse_schema(p, jt, ns, depth + 1);
                return n->items ? n : NULL;
        }
        return parse_name(p, t, ns);
}

/* The latin-1 convention of Avro's JSON encoding for bytes and fixed: each
 * byte is the code point of the same value.  Decodes s into a malloc'ed
 * buffer; -1 if a code point is above U+00FF. */
int codec_latin1_from_json(const json_t *s, unsigned char **out, size_t *len)
{
        const unsigned char *p = (const unsigned char *)json_string_value(s);
        size_t n = json_string_length(s), k = 0;
        unsigned char *buf = malloc(n ? n : 1);
        if (!buf)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (p[i] < 0x80) {
                        buf[k++] = p[i];
                } else if ((p[i] == 0xC2 || p[i] == 0xC3) && i + 1 < n) {
                        buf[k++] = (unsigned char)(((p[i] & 0x03) << 6) |
                                                   (p[i + 1] & 0x3F));
                        i++;
                } else {
                        free(buf);
                        return -1;
                }
        }
        *out = buf;
        *len = k;
        return 0;
}

json_t *codec_latin1_to_json(const unsigned char *b, size_t n)
{
        char *s = malloc(2 * n + 1);
        if (!s)
                return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                if (b[i] < 0x80) {
                        s[k++] = (char)b[i];
                } else {
                        s[k++] = (char)(0xC0 | (b[i] >> 6));
                        s[k++] = (char)(0x80 | (b[i] & 0x3F));
                }
        }
        json_t *j = json_stringn(s, k);
        free(s);
        return j;
}

static json_t *date_to_json(int64_t days)
{
        char buf[16];
        if (days < DATE_MIN_DAYS || days > DATE_MAX_DAYS)
                return NULL;
        ql_time_format_date((int32_t)days, buf, sizeof(buf));
        return json_string(buf);
}

static json_t *timestamp_to_json(int64_t ms)
{
        char buf[40];
        if (ms < TS_MIN_MS || ms > TS_MAX_MS)
                return NULL;
        ql_time_format_timestamp(ms, 0, buf, sizeof(buf));
        return json_string(buf);
}

/* An integer read as node r (int, long, float, double), in document shape;
 * NULL if out of range for r. */
json_t *codec_number_to_json(const sch_node_t *r, int64_t x)
{
        switch (r->type) {
        case SCH_INT:
                if (r->logical == SCH_DATE)
                        return date_to_json(x);
                return x >= INT32_MIN && x <= INT32_MAX ? json_integer(x)
                                                        : NULL;
        case SCH_LONG:
                if (r->logical == SCH_TIMESTAMP_MILLIS)
                        return timestamp_to_json(x);
                return json_integer(x);
        default:
                return json_real((double)x);
        }
}

/* A field default as written in the schema (Avro's JSON encoding, union
 * defaults for the first branch) -> the document shape (dates as strings,
 * timestamps as UTC ISO 8601).  NULL with the reason on error. */
static json_t *default_to_doc(const sch_node_t *n, const json_t *v, int depth,
                              walk_t *w)
{
        if (depth > CODEC_MAX_DEPTH)
                return codec_walk_fail(w, "default nested too deeply"), NULL;
        json_t *out = NULL;
        switch (n->type) {
        case SCH_NULL:
                if (json_is_null(v))
                        return json_null();
                break;
        case SCH_BOOLEAN:
                if (json_is_boolean(v))
                        return json_boolean(json_is_true(v));
                break;
        case SCH_INT:
        case SCH_LONG:
                if (json_is_integer(v) &&
                    (out = codec_number_to_json(n, json_integer_value(v))))
                        return out;
                break;
        case SCH_FLOAT:
        case SCH_DOUBLE:
                if (json_is_number(v))
                        return json_real(json_number_value(v));
                break;
        case SCH_STRING:
                if (json_is_string(v))
                        return json_stringn(json_string_value(v),
                                            json_string_length(v));
                break;
        case SCH_BYTES:
        case SCH_FIXED:
                if (json_is_string(v)) {
                        unsigned char *b;
                        size_t len;
                        if (codec_latin1_from_json(v, &b, &len) == 0) {
                                int ok = n->type == SCH_BYTES ||
                                         len == n->fixed_size;
                                free(b);
                                if (ok)
                                        return json_stringn(
                                            json_string_value(v),
                                            json_string_length(v));
                        }
                }
                break;
        case SCH_ENUM:
                for (size_t i = 0; json_is_string(v) && i < n->n_symbols; i++)
                        if (strcmp(n->symbols[i], json_string_value(v)) == 0)
                                return json_string(n->symbols[i]);
                break;
        case SCH_ARRAY:
        case SCH_MAP:
                if (n->type == SCH_ARRAY ? !json_is_array(v)
                                         : !json_is_object(v))
                        break;
                out = n->type == SCH_ARRAY ? json_array() : json_object();
                if (!out)
                        return codec_walk_fail(w, "out of memory"), NULL;
                if (n->type == SCH_ARRAY) {
                        size_t i;
                        const json_t *e;
                        json_array_foreach(v, i, e)
                        {
                                json_t *d =
                                    default_to_doc(n->items, e, depth + 1, w);
                                if (!d || json_array_append_new(out, d))
                                        return json_decref(out), NULL;
                        }
                } else {
                        const char *k;
                        json_t *e;
                        json_object_foreach((json_t *)v, k, e)
                        {
                                json_t *d =
                                    default_to_doc(n->items, e, depth + 1, w);
                                if (!d || json_object_set_new(out, k, d))
                                        return json_decref(out), NULL;
                        }
                }
                return out;
        case SCH_RECORD:
                if (!json_is_object(v))
                        break;
                if (!(out = json_object()))
                        return codec_walk_fail(w, "out of memory"), NULL;
                for (size_t i = 0; i < n->n_fields; i++) {
                        const sch_field_t *f = &n->fields[i];
                        const json_t *e = json_object_get(v, f->name);
                        if (!e)
                                e = f->raw_default;
                        if (!e) {
                                json_decref(out);
                                return codec_walk_fail(w,
                                                       "default lacks field %s "
                                                       "which has no default",
                                                       f->name),
                                       NULL;
                        }
                        json_t *d = default_to_doc(f->type, e, depth + 1, w);
                        if (!d || json_object_set_new(out, f->name, d))
                                return json_decref(out), NULL;
                }
                return out;
        case SCH_UNION:
                /* The specification wants the first branch; a default that
                 * fits a later one is taken too, as other readers do. */
                for (size_t i = 0; i < n->n_branches; i++)
                        if ((out = default_to_doc(n->branches[i], v, depth + 1,
                                                  w)))
                                return out;
                break;
        }
        return codec_walk_fail(w, "default is not a valid %s",
                               n->fullname ? n->fullname
                                           : codec_sch_type_names[n->type]),
               NULL;
}

/* Parse schema JSON into s.  Also converts every field default to the
 * document shape and marks the types that can encode in zero bytes. */
int codec_sch_build(sch_t *s, const json_t *j, char *errstr, size_t errstr_size)
{
        parse_t p = {s, errstr, errstr_size};
        s->root = parse_schema(&p, j, "", 0);
        if (!s->root)
                return -1;
        for (size_t i = 0; i < s->n_nodes; i++) {
                sch_node_t *n = s->nodes[i];
                for (size_t f = 0; n->type == SCH_RECORD && f < n->n_fields;
                     f++) {
                        sch_field_t *fd = &n->fields[f];
                        if (!fd->raw_default)
                                continue;
                        walk_t w;
                        codec_walk_init(&w);
                        fd->dflt =
                            default_to_doc(fd->type, fd->raw_default, 0, &w);
                        if (!fd->dflt)
                                return codec_set_err(
                                    errstr, errstr_size, "field %s.%s: %s",
                                    n->fullname, fd->name, w.msg);
                }
        }
        /* Least fixpoint: a record is empty when all its fields can be. */
        for (int changed = 1; changed;) {
                changed = 0;
                for (size_t i = 0; i < s->n_nodes; i++) {
                        sch_node_t *n = s->nodes[i];
                        int e = n->type == SCH_NULL ||
                                (n->type == SCH_FIXED && n->fixed_size == 0);
                        if (n->type == SCH_RECORD) {
                                e = 1;
                                for (size_t f = 0; f < n->n_fields; f++)
                                        e = e &&
                                            n->fields[f].type->may_be_empty;
                        }
                        if (e && !n->may_be_empty) {
                                n->may_be_empty = 1;
                                changed = 1;
                        }
                }
        }
        return 0;
}
