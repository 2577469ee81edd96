/*
 * ql_codec: qingling.InspectionResult documents <-> Avro single-object
 * messages.  Every schema file is held in three forms: a small node graph
 * built here from the schema JSON (avro-c drops logical types and field
 * defaults, and the canonical form, the document shapes and the resolution
 * need them), the avro-c schema with its generic value class (which writes
 * and reads the binary datum), and a resolver from that schema to the newest
 * one, built once at load time.  Decoding is three passes: a bounded scan
 * that proves the datum well formed before avro-c sees it (avro-c allocates
 * a declared length before checking it against the input, and leaks on a
 * short read), avro-c's read into a generic value of the writer schema, and
 * the walk of the resolver that turns that value into a document of the
 * newest schema.  Resolution is done here rather than by avro-c's resolved
 * reader because, in avro-c 1.11, that reader refuses a reader field missing
 * from the writer even when it has a default ("NIY: Default values") and
 * passes enum indexes through instead of matching symbols by name.
 */
#include "ql_codec.h"

#include <avro.h>
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ql_time.h"

#define CODEC_HEADER_LEN       10
#define CODEC_SMALL_DATUM      8192 /* bytes: datums written without sizing */
#define CODEC_MAX_DEPTH        64   /* nesting in a schema or a value */
#define CODEC_MAX_ELEMENTS     (1u << 20) /* array/map entries in one datum */
#define CODEC_MAX_SCHEMA_BYTES (1 << 20)
#define CODEC_POOL_MAX         32 /* idle avro-c values kept per schema */
#define CODEC_POOL_MAX_MSG     (64 * 1024) /* values of bigger messages: freed */
#define CRC64_AVRO_EMPTY       0xc15d213aa4d7a795ULL

/* Dates and timestamps decode only within what ql_time parses back
 * (years 1900..9999), so a decoded document always encodes again. */
#define DATE_MIN_DAYS (-25567)           /* 1900-01-01 */
#define DATE_MAX_DAYS 2932896            /* 9999-12-31 */
#define TS_MIN_MS     (-2208988800000LL) /* 1900-01-01T00:00:00Z */
#define TS_MAX_MS     253402300799999LL  /* 9999-12-31T23:59:59.999Z */

static int set_err(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Format an error into errstr; when it is cut short, the cut does not
 * split a UTF-8 character (the text may quote the document).  Returns -1. */
static int set_err(char *errstr, size_t size, const char *fmt, ...)
{
        if (!errstr || !size)
                return -1;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(errstr, size, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n < size)
                return -1;
        size_t end = size - 1, cont = 0;
        while (end > 0 && cont < 3 &&
               ((unsigned char)errstr[end - 1] & 0xC0) == 0x80) {
                end--;
                cont++;
        }
        unsigned char lead = end ? (unsigned char)errstr[end - 1] : 0;
        size_t need = lead >= 0xF0   ? 3
                      : lead >= 0xE0 ? 2
                      : lead >= 0xC0 ? 1
                                     : 0;
        if (lead >= 0xC0 && need != cont)
                errstr[end - 1] = '\0';
        return -1;
}

/*------------------------------------------------------------------------
 * Walk context: depth and entry counts of a walk over a schema or a value,
 * and its failure: a message, and the path of the value it concerns
 * ("items[2].verdict").  The path is built right to left while the failure
 * unwinds, so the success path pays nothing for it.
 */

typedef struct {
        char msg[320];
        char path[256]; /* the path is path + start */
        size_t start;
        int depth;
        size_t elements; /* array/map entries seen by the scan */
} walk_t;

static void walk_init(walk_t *w)
{
        w->msg[0] = '\0';
        w->start = sizeof(w->path) - 1;
        w->path[w->start] = '\0';
        w->depth = 0;
        w->elements = 0;
}

static int walk_fail(walk_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int walk_fail(walk_t *w, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
        va_end(ap);
        w->start = sizeof(w->path) - 1;
        w->path[w->start] = '\0';
        return -1;
}

static void walk_prepend(walk_t *w, const char *s, size_t n)
{
        if (n <= w->start) {
                w->start -= n;
                memcpy(w->path + w->start, s, n);
        }
}

/* Unwinding a failure out of field or map key `name`.  Returns -1. */
static int walk_up_name(walk_t *w, const char *name)
{
        if (w->path[w->start] && w->path[w->start] != '[')
                walk_prepend(w, ".", 1);
        walk_prepend(w, name, strlen(name));
        return -1;
}

/* Unwinding a failure out of array entry i.  Returns -1. */
static int walk_up_index(walk_t *w, size_t i)
{
        char tmp[24];
        size_t n = sizeof(tmp);
        tmp[--n] = ']';
        do {
                tmp[--n] = (char)('0' + i % 10);
                i /= 10;
        } while (i);
        tmp[--n] = '[';
        if (w->path[w->start] && w->path[w->start] != '[')
                walk_prepend(w, ".", 1);
        walk_prepend(w, tmp + n, sizeof(tmp) - n);
        return -1;
}

/* The failure as "path: message" into errstr.  Returns -1. */
static int walk_report(const walk_t *w, char *errstr, size_t errstr_size)
{
        if (w->path[w->start])
                return set_err(errstr, errstr_size, "%s: %s",
                               w->path + w->start, w->msg);
        return set_err(errstr, errstr_size, "%s", w->msg);
}

/*------------------------------------------------------------------------
 * Schema graph.  Nodes live in an arena owned by sch_t; a named type is one
 * node however often it is referenced, so the graph may be cyclic.
 */

typedef enum {
        SCH_NULL,
        SCH_BOOLEAN,
        SCH_INT,
        SCH_LONG,
        SCH_FLOAT,
        SCH_DOUBLE,
        SCH_BYTES,
        SCH_STRING, /* last primitive */
        SCH_RECORD,
        SCH_ENUM,
        SCH_ARRAY,
        SCH_MAP,
        SCH_UNION,
        SCH_FIXED,
} sch_type_t;

static const char *const sch_type_names[] = {
    "null",   "boolean", "int",  "long",  "float", "double", "bytes",
    "string", "record",  "enum", "array", "map",   "union",  "fixed",
};

typedef enum { SCH_PLAIN, SCH_DATE, SCH_TIMESTAMP_MILLIS } sch_logical_t;

typedef struct sch_node sch_node_t;

typedef struct {
        char *name;
        sch_node_t *type;
        json_t *raw_default; /* as written in the schema, NULL if none */
        json_t *dflt;        /* the default in document shape */
        char **aliases;
        size_t n_aliases;
} sch_field_t;

struct sch_node {
        sch_type_t type;
        sch_logical_t logical;
        size_t id; /* index in the arena */
        int is_error;
        char *fullname; /* record, enum, fixed */
        char **aliases; /* full names */
        size_t n_aliases;
        sch_field_t *fields; /* record */
        size_t n_fields;
        char **symbols; /* enum */
        size_t n_symbols;
        int enum_default;      /* index of the enum's default symbol, or -1 */
        sch_node_t *items;     /* array items, map values */
        sch_node_t **branches; /* union */
        size_t n_branches;
        size_t fixed_size;
        int may_be_empty; /* some value of it encodes in zero bytes */
};

typedef struct {
        sch_node_t **nodes;
        size_t n_nodes, cap;
        sch_node_t *root;
} sch_t;

static void free_strings(char **v, size_t n)
{
        if (!v)
                return;
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static void sch_clear(sch_t *s)
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
        set_err(p->errstr, p->errstr_size, "out of memory");
        return NULL;
}

static int primitive_type(const char *name)
{
        for (int t = SCH_NULL; t <= SCH_STRING; t++)
                if (strcmp(name, sch_type_names[t]) == 0)
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

static const char *unqualified(const char *fullname)
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
                set_err(p->errstr, p->errstr_size, "out of memory");
                return NULL;
        }
        sch_node_t *n = sch_lookup(p->s, full);
        if (!n)
                n = sch_lookup(p->s, name);
        free(full);
        if (!n)
                set_err(p->errstr, p->errstr_size, "unknown type \"%s\"", name);
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
                return set_err(p->errstr, p->errstr_size,
                               "\"aliases\" must be an array of names");
        size_t n = json_array_size(a);
        if (n == 0)
                return 0;
        *out = calloc(n, sizeof(char *));
        if (!*out)
                return set_err(p->errstr, p->errstr_size, "out of memory");
        *n_out = n;
        for (size_t i = 0; i < n; i++) {
                const char *s = json_string_value(json_array_get(a, i));
                if (!s ||
                    !(ns ? valid_fullname(s) : valid_simple_name(s, strlen(s))))
                        return set_err(p->errstr, p->errstr_size,
                                       "invalid alias in \"aliases\"");
                (*out)[i] = ns ? make_fullname(s, ns) : strdup(s);
                if (!(*out)[i])
                        return set_err(p->errstr, p->errstr_size,
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
                return set_err(p->errstr, p->errstr_size,
                               "a %s needs a \"name\"", sch_type_names[type]),
                       NULL;
        const json_t *jns = json_object_get(j, "namespace");
        if (jns && !json_is_null(jns)) {
                if (!json_is_string(jns))
                        return set_err(p->errstr, p->errstr_size,
                                       "%s: \"namespace\" must be a string",
                                       name),
                               NULL;
                ns = json_string_value(jns);
                if (*ns && !valid_fullname(ns))
                        return set_err(p->errstr, p->errstr_size,
                                       "%s: invalid namespace \"%s\"", name,
                                       ns),
                               NULL;
        }
        char *full = make_fullname(name, ns);
        if (!full)
                return set_err(p->errstr, p->errstr_size, "out of memory"),
                       NULL;
        if (!valid_fullname(full) || primitive_type(unqualified(full)) >= 0) {
                set_err(p->errstr, p->errstr_size, "invalid type name \"%s\"",
                        full);
                free(full);
                return NULL;
        }
        if (sch_lookup(p->s, full)) {
                set_err(p->errstr, p->errstr_size,
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
        size_t nslen = (size_t)(unqualified(full) - full);
        *own_ns = strndup(full, nslen ? nslen - 1 : 0);
        if (!*own_ns)
                return set_err(p->errstr, p->errstr_size, "out of memory"),
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
                set_err(p->errstr, p->errstr_size,
                        "record %s needs a \"fields\" array", n->fullname);
                goto fail;
        }
        size_t nf = json_array_size(fields);
        n->fields = nf ? calloc(nf, sizeof(sch_field_t)) : NULL;
        if (nf && !n->fields) {
                set_err(p->errstr, p->errstr_size, "out of memory");
                goto fail;
        }
        n->n_fields = nf;
        for (size_t i = 0; i < nf; i++) {
                const json_t *jf = json_array_get(fields, i);
                sch_field_t *f = &n->fields[i];
                const char *fname =
                    json_string_value(json_object_get(jf, "name"));
                if (!fname || !valid_simple_name(fname, strlen(fname))) {
                        set_err(p->errstr, p->errstr_size,
                                "record %s: field %zu needs a valid \"name\"",
                                n->fullname, i);
                        goto fail;
                }
                for (size_t k = 0; k < i; k++)
                        if (strcmp(n->fields[k].name, fname) == 0) {
                                set_err(p->errstr, p->errstr_size,
                                        "record %s: field %s appears twice",
                                        n->fullname, fname);
                                goto fail;
                        }
                f->name = strdup(fname);
                if (!f->name) {
                        set_err(p->errstr, p->errstr_size, "out of memory");
                        goto fail;
                }
                const json_t *jt = json_object_get(jf, "type");
                if (!jt) {
                        set_err(p->errstr, p->errstr_size,
                                "field %s.%s needs a \"type\"", n->fullname,
                                fname);
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
                return set_err(p->errstr, p->errstr_size,
                               "enum %s needs a \"symbols\" array",
                               n->fullname),
                       NULL;
        size_t nsym = json_array_size(syms);
        n->symbols = nsym ? calloc(nsym, sizeof(char *)) : NULL;
        if (nsym && !n->symbols)
                return set_err(p->errstr, p->errstr_size, "out of memory"),
                       NULL;
        n->n_symbols = nsym;
        for (size_t i = 0; i < nsym; i++) {
                const char *sym = json_string_value(json_array_get(syms, i));
                if (!sym || !valid_simple_name(sym, strlen(sym)))
                        return set_err(p->errstr, p->errstr_size,
                                       "enum %s: invalid symbol %zu",
                                       n->fullname, i),
                               NULL;
                for (size_t k = 0; k < i; k++)
                        if (strcmp(n->symbols[k], sym) == 0)
                                return set_err(p->errstr, p->errstr_size,
                                               "enum %s: symbol %s appears "
                                               "twice",
                                               n->fullname, sym),
                                       NULL;
                n->symbols[i] = strdup(sym);
                if (!n->symbols[i])
                        return set_err(p->errstr, p->errstr_size,
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
                        return set_err(p->errstr, p->errstr_size,
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
                return set_err(p->errstr, p->errstr_size,
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
                return set_err(p->errstr, p->errstr_size, "out of memory"),
                       NULL;
        n->n_branches = nb;
        for (size_t i = 0; i < nb; i++) {
                sch_node_t *b =
                    parse_schema(p, json_array_get(j, i), ns, depth + 1);
                if (!b)
                        return NULL;
                if (b->type == SCH_UNION)
                        return set_err(p->errstr, p->errstr_size,
                                       "a union may not contain a union"),
                               NULL;
                for (size_t k = 0; k < i; k++) {
                        const sch_node_t *o = n->branches[k];
                        if (o->type == b->type &&
                            (!b->fullname ||
                             strcmp(o->fullname, b->fullname) == 0))
                                return set_err(p->errstr, p->errstr_size,
                                               "union has two %s branches",
                                               b->fullname
                                                   ? b->fullname
                                                   : sch_type_names[b->type]),
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
                return set_err(p->errstr, p->errstr_size,
                               "schema nested too deeply"),
                       NULL;
        if (json_is_string(j))
                return parse_name(p, json_string_value(j), ns);
        if (json_is_array(j))
                return parse_union(p, j, ns, depth);
        if (!json_is_object(j))
                return set_err(p->errstr, p->errstr_size,
                               "a schema is a name, an object or an array"),
                       NULL;
        const char *t = json_string_value(json_object_get(j, "type"));
        if (!t)
                return set_err(p->errstr, p->errstr_size,
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
                        return set_err(p->errstr, p->errstr_size,
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
static int latin1_from_json(const json_t *s, unsigned char **out, size_t *len)
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

static json_t *latin1_to_json(const unsigned char *b, size_t n)
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
static json_t *number_to_json(const sch_node_t *r, int64_t x)
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
                return walk_fail(w, "default nested too deeply"), NULL;
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
                    (out = number_to_json(n, json_integer_value(v))))
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
                        if (latin1_from_json(v, &b, &len) == 0) {
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
                        return walk_fail(w, "out of memory"), NULL;
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
                        return walk_fail(w, "out of memory"), NULL;
                for (size_t i = 0; i < n->n_fields; i++) {
                        const sch_field_t *f = &n->fields[i];
                        const json_t *e = json_object_get(v, f->name);
                        if (!e)
                                e = f->raw_default;
                        if (!e) {
                                json_decref(out);
                                return walk_fail(w,
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
        return walk_fail(w, "default is not a valid %s",
                         n->fullname ? n->fullname : sch_type_names[n->type]),
               NULL;
}

/* Parse schema JSON into s.  Also converts every field default to the
 * document shape and marks the types that can encode in zero bytes. */
static int sch_build(sch_t *s, const json_t *j, char *errstr,
                     size_t errstr_size)
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
                        walk_init(&w);
                        fd->dflt =
                            default_to_doc(fd->type, fd->raw_default, 0, &w);
                        if (!fd->dflt)
                                return set_err(errstr, errstr_size,
                                               "field %s.%s: %s", n->fullname,
                                               fd->name, w.msg);
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
                return json_string(sch_type_names[n->type]);
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
        const char *type = n->is_error ? "error" : sch_type_names[n->type];
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

static char *sch_canonical(const sch_t *s, char *errstr, size_t errstr_size)
{
        canon_t c = {calloc(s->n_nodes + 1, 1), 1};
        json_t *j = c.seen ? canon_json(&c, s->root) : NULL;
        char *out =
            j && c.ok ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(j);
        free(c.seen);
        if (!out)
                set_err(errstr, errstr_size, "out of memory");
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
                set_err(errstr, errstr_size, "schema is not JSON: %s (line %d)",
                        jerr.text, jerr.line);
                return NULL;
        }
        sch_t s = {0};
        char *out = NULL;
        if (sch_build(&s, j, errstr, errstr_size) == 0)
                out = sch_canonical(&s, errstr, errstr_size);
        sch_clear(&s);
        json_decref(j);
        return out;
}

/*------------------------------------------------------------------------
 * Resolvers: how to read data written with one schema node as another
 * (Avro specification, "Schema Resolution").  Built once per writer schema
 * and memoised per node pair, so recursive types give cyclic resolvers.
 */

typedef enum {
        RES_PRIM, /* same primitive, or a promotion */
        RES_RECORD,
        RES_ENUM,
        RES_ARRAY, /* inner: items */
        RES_MAP,   /* inner: values */
        RES_FIXED,
        RES_WUNION, /* writer union: one resolver per writer branch */
        RES_RUNION, /* writer non-union read as one reader union branch */
} res_kind_t;

typedef struct res res_t;

typedef struct {
        const char *name;
        size_t name_len;
        int windex; /* writer field, or -1: use dflt */
        res_t *res; /* when windex >= 0 */
        const json_t *dflt;
} res_field_t;

struct res {
        res_kind_t kind;
        int failed; /* resolution failed; never reached by a valid plan */
        const sch_node_t *w, *r;
        res_field_t *fields; /* RECORD: per reader field */
        size_t n_fields;
        int *symbol_map;  /* ENUM: writer index -> reader index or -1 */
        res_t **branches; /* WUNION: per writer branch, NULL if unreadable */
        res_t *inner;
};

typedef struct {
        res_t **v;
        size_t n, cap;
} res_set_t;

static void res_set_clear(res_set_t *set)
{
        for (size_t i = 0; i < set->n; i++) {
                free(set->v[i]->fields);
                free(set->v[i]->symbol_map);
                free(set->v[i]->branches);
                free(set->v[i]);
        }
        free(set->v);
        memset(set, 0, sizeof(*set));
}

static res_t *res_new(res_set_t *set, res_kind_t kind, const sch_node_t *w,
                      const sch_node_t *r, walk_t *wk)
{
        if (set->n == set->cap) {
                size_t cap = set->cap ? set->cap * 2 : 64;
                res_t **v = realloc(set->v, cap * sizeof(*v));
                if (!v)
                        return walk_fail(wk, "out of memory"), NULL;
                set->v = v;
                set->cap = cap;
        }
        res_t *rs = calloc(1, sizeof(*rs));
        if (!rs)
                return walk_fail(wk, "out of memory"), NULL;
        rs->kind = kind;
        rs->w = w;
        rs->r = r;
        set->v[set->n++] = rs;
        return rs;
}

static int names_match(const sch_node_t *w, const sch_node_t *r)
{
        if (strcmp(w->fullname, r->fullname) == 0 ||
            strcmp(unqualified(w->fullname), unqualified(r->fullname)) == 0)
                return 1;
        for (size_t i = 0; i < r->n_aliases; i++)
                if (strcmp(r->aliases[i], w->fullname) == 0)
                        return 1;
        return 0;
}

static int promotable(sch_type_t w, sch_type_t r)
{
        return (w == SCH_INT &&
                (r == SCH_LONG || r == SCH_FLOAT || r == SCH_DOUBLE)) ||
               (w == SCH_LONG && (r == SCH_FLOAT || r == SCH_DOUBLE)) ||
               (w == SCH_FLOAT && r == SCH_DOUBLE) ||
               (w == SCH_STRING && r == SCH_BYTES) ||
               (w == SCH_BYTES && r == SCH_STRING);
}

static const char *node_name(const sch_node_t *n)
{
        return n->fullname ? n->fullname : sch_type_names[n->type];
}

static res_t *resolve(res_set_t *set, const sch_node_t *w, const sch_node_t *r,
                      walk_t *wk);

static res_t *resolve_record(res_set_t *set, res_t *rs, walk_t *wk)
{
        const sch_node_t *w = rs->w, *r = rs->r;
        rs->n_fields = r->n_fields;
        rs->fields = calloc(r->n_fields ? r->n_fields : 1, sizeof(res_field_t));
        if (!rs->fields)
                return walk_fail(wk, "out of memory"), NULL;
        for (size_t i = 0; i < r->n_fields; i++) {
                const sch_field_t *rf = &r->fields[i];
                res_field_t *f = &rs->fields[i];
                f->name = rf->name;
                f->name_len = strlen(rf->name);
                f->windex = -1;
                for (size_t k = 0; k < w->n_fields && f->windex < 0; k++) {
                        if (strcmp(w->fields[k].name, rf->name) == 0)
                                f->windex = (int)k;
                        for (size_t a = 0; a < rf->n_aliases; a++)
                                if (strcmp(w->fields[k].name, rf->aliases[a]) ==
                                    0)
                                        f->windex = (int)k;
                }
                if (f->windex >= 0) {
                        f->res = resolve(set, w->fields[f->windex].type,
                                         rf->type, wk);
                        if (!f->res)
                                return walk_up_name(wk, rf->name), NULL;
                } else if (rf->dflt) {
                        f->dflt = rf->dflt;
                } else {
                        walk_fail(wk, "not in the writer's schema and "
                                      "without a default");
                        return walk_up_name(wk, rf->name), NULL;
                }
        }
        return rs;
}

static res_t *resolve_enum(res_t *rs, walk_t *wk)
{
        const sch_node_t *w = rs->w, *r = rs->r;
        rs->symbol_map = calloc(w->n_symbols ? w->n_symbols : 1, sizeof(int));
        if (!rs->symbol_map)
                return walk_fail(wk, "out of memory"), NULL;
        for (size_t i = 0; i < w->n_symbols; i++) {
                rs->symbol_map[i] = r->enum_default;
                for (size_t k = 0; k < r->n_symbols; k++)
                        if (strcmp(w->symbols[i], r->symbols[k]) == 0)
                                rs->symbol_map[i] = (int)k;
        }
        return rs;
}

/* The reader union branch a writer node is read as: the first of the same
 * type (and name), else the first it promotes to; -1 if none. */
static int reader_branch(const sch_node_t *w, const sch_node_t *r)
{
        for (size_t i = 0; i < r->n_branches; i++) {
                const sch_node_t *b = r->branches[i];
                if (b->type == w->type && (!w->fullname || names_match(w, b)))
                        return (int)i;
        }
        for (size_t i = 0; i < r->n_branches; i++)
                if (promotable(w->type, r->branches[i]->type))
                        return (int)i;
        return -1;
}

static res_t *resolve(res_set_t *set, const sch_node_t *w, const sch_node_t *r,
                      walk_t *wk)
{
        for (size_t i = 0; i < set->n; i++)
                if (set->v[i]->w == w && set->v[i]->r == r)
                        return set->v[i]->failed
                                   ? (walk_fail(wk, "%s cannot be read as %s",
                                                node_name(w), node_name(r)),
                                      NULL)
                                   : set->v[i];
        if (++wk->depth > CODEC_MAX_DEPTH) {
                wk->depth--;
                return walk_fail(wk, "schema nested too deeply"), NULL;
        }
        res_t *rs = NULL, *ok = NULL;
        if (w->type == SCH_UNION) {
                if (!(rs = res_new(set, RES_WUNION, w, r, wk)))
                        goto out;
                rs->branches =
                    calloc(w->n_branches ? w->n_branches : 1, sizeof(res_t *));
                if (!rs->branches) {
                        walk_fail(wk, "out of memory");
                        goto out;
                }
                size_t readable = 0;
                for (size_t i = 0; i < w->n_branches; i++) {
                        rs->branches[i] = resolve(set, w->branches[i], r, wk);
                        readable += rs->branches[i] != NULL;
                }
                /* A writer branch the reader cannot read is an error only
                 * for the data that uses it; none readable is an error. */
                if (readable || w->n_branches == 0)
                        ok = rs;
        } else if (r->type == SCH_UNION) {
                int b = reader_branch(w, r);
                if (b < 0) {
                        walk_fail(wk,
                                  "%s is none of the reader's %zu union "
                                  "branches",
                                  node_name(w), r->n_branches);
                        goto out;
                }
                if (!(rs = res_new(set, RES_RUNION, w, r, wk)))
                        goto out;
                if ((rs->inner = resolve(set, w, r->branches[b], wk)))
                        ok = rs;
        } else if (w->type != r->type) {
                if (promotable(w->type, r->type))
                        ok = rs = res_new(set, RES_PRIM, w, r, wk);
                else
                        walk_fail(wk, "%s cannot be read as %s", node_name(w),
                                  node_name(r));
        } else if (w->fullname && !names_match(w, r)) {
                walk_fail(wk, "%s cannot be read as %s", w->fullname,
                          r->fullname);
        } else {
                switch (w->type) {
                case SCH_RECORD:
                        if ((rs = res_new(set, RES_RECORD, w, r, wk)))
                                ok = resolve_record(set, rs, wk);
                        break;
                case SCH_ENUM:
                        if ((rs = res_new(set, RES_ENUM, w, r, wk)))
                                ok = resolve_enum(rs, wk);
                        break;
                case SCH_ARRAY:
                case SCH_MAP: {
                        res_kind_t k =
                            w->type == SCH_ARRAY ? RES_ARRAY : RES_MAP;
                        if (!(rs = res_new(set, k, w, r, wk)))
                                break;
                        if ((rs->inner = resolve(set, w->items, r->items, wk)))
                                ok = rs;
                        else
                                walk_up_name(wk, "[]");
                        break;
                }
                case SCH_FIXED:
                        if (w->fixed_size != r->fixed_size)
                                walk_fail(wk, "fixed %s changed size",
                                          w->fullname);
                        else
                                ok = rs = res_new(set, RES_FIXED, w, r, wk);
                        break;
                default:
                        ok = rs = res_new(set, RES_PRIM, w, r, wk);
                        break;
                }
        }
out:
        wk->depth--;
        if (rs && !ok)
                rs->failed = 1;
        return ok;
}

/*------------------------------------------------------------------------
 * The codec.  Building an avro-c generic value is a good part of the cost
 * of a call, so each schema keeps a small pool of idle values, emptied, for
 * the next call on any thread; the pool is the only state calls share, and
 * its lock is held just to push or pop.
 */

typedef struct {
        pthread_mutex_t lock;
        avro_value_t idle[CODEC_POOL_MAX];
        size_t n_idle;
} value_pool_t;

typedef struct {
        char *file; /* base name */
        char *canonical;
        uint64_t fingerprint;
        sch_t sch;
        avro_schema_t avro;
        avro_value_iface_t *iface; /* generic value class */
        value_pool_t *pool;
        res_t *to_newest;
} codec_version_t;

/* A generic value of v's schema (any content: callers reset or overwrite
 * it), from the pool or new.  0 or an errno. */
static int value_get(const codec_version_t *v, avro_value_t *out)
{
        value_pool_t *p = v->pool;
        pthread_mutex_lock(&p->lock);
        int pooled = p->n_idle > 0;
        if (pooled)
                *out = p->idle[--p->n_idle];
        pthread_mutex_unlock(&p->lock);
        return pooled ? 0 : avro_generic_value_new(v->iface, out);
}

/* Give val back.  It is emptied first (an encoded value points into the
 * caller's document); one that served a big message is freed instead, so
 * the pool does not keep its capacity. */
static void value_put(const codec_version_t *v, avro_value_t *val,
                      size_t msg_len)
{
        value_pool_t *p = v->pool;
        int kept = 0;
        if (msg_len <= CODEC_POOL_MAX_MSG && avro_value_reset(val) == 0) {
                pthread_mutex_lock(&p->lock);
                if (p->n_idle < CODEC_POOL_MAX) {
                        p->idle[p->n_idle++] = *val;
                        kept = 1;
                }
                pthread_mutex_unlock(&p->lock);
        }
        if (!kept)
                avro_value_decref(val);
}

struct ql_codec_s {
        codec_version_t *v; /* oldest first, newest last */
        size_t n;
        res_set_t res;
};

void ql_codec_destroy(ql_codec_t *codec)
{
        if (!codec)
                return;
        for (size_t i = 0; i < codec->n; i++) {
                codec_version_t *v = &codec->v[i];
                free(v->file);
                free(v->canonical);
                sch_clear(&v->sch);
                if (v->pool) {
                        for (size_t k = 0; k < v->pool->n_idle; k++)
                                avro_value_decref(&v->pool->idle[k]);
                        pthread_mutex_destroy(&v->pool->lock);
                        free(v->pool);
                }
                if (v->iface)
                        avro_value_iface_decref(v->iface);
                if (v->avro)
                        avro_schema_decref(v->avro);
        }
        free(codec->v);
        res_set_clear(&codec->res);
        free(codec);
}

size_t ql_codec_schema_count(const ql_codec_t *codec)
{
        return codec->n;
}

uint64_t ql_codec_newest_fingerprint(const ql_codec_t *codec)
{
        return codec->v[codec->n - 1].fingerprint;
}

int ql_codec_schema_info(const ql_codec_t *codec, size_t i, const char **file,
                         uint64_t *fingerprint, const char **canonical)
{
        if (i >= codec->n)
                return -1;
        if (file)
                *file = codec->v[i].file;
        if (fingerprint)
                *fingerprint = codec->v[i].fingerprint;
        if (canonical)
                *canonical = codec->v[i].canonical;
        return 0;
}

/* Version order: names compared with digit runs taken as numbers, so
 * "v10" sorts after "v9". */
static int version_cmp(const void *pa, const void *pb)
{
        const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
        const char *sa = a, *sb = b;
        while (*a && *b) {
                if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
                        while (*a == '0')
                                a++;
                        while (*b == '0')
                                b++;
                        size_t na = 0, nb = 0;
                        while (a[na] >= '0' && a[na] <= '9')
                                na++;
                        while (b[nb] >= '0' && b[nb] <= '9')
                                nb++;
                        if (na != nb)
                                return na < nb ? -1 : 1;
                        int c = memcmp(a, b, na);
                        if (c)
                                return c;
                        a += na;
                        b += nb;
                } else {
                        if (*a != *b)
                                return (unsigned char)*a < (unsigned char)*b
                                           ? -1
                                           : 1;
                        a++;
                        b++;
                }
        }
        if (*a || *b)
                return *a ? 1 : -1;
        return strcmp(sa, sb);
}

static char *read_file(const char *path, size_t *len, char *errstr,
                       size_t errstr_size)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                set_err(errstr, errstr_size, "%s: cannot open", path);
                return NULL;
        }
        char *buf = malloc(CODEC_MAX_SCHEMA_BYTES + 1);
        size_t n = buf ? fread(buf, 1, CODEC_MAX_SCHEMA_BYTES + 1, f) : 0;
        int bad = !buf || ferror(f) || n > CODEC_MAX_SCHEMA_BYTES;
        fclose(f);
        if (bad) {
                set_err(errstr, errstr_size,
                        "%s: cannot read (or over %d bytes)", path,
                        CODEC_MAX_SCHEMA_BYTES);
                free(buf);
                return NULL;
        }
        buf[n] = '\0';
        *len = n;
        return buf;
}

/* Load one schema file into v. */
static int load_version(codec_version_t *v, const char *dir, const char *name,
                        char *errstr, size_t errstr_size)
{
        char path[4096], why[400];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        v->file = strdup(name);
        if (!v->file)
                return set_err(errstr, errstr_size, "out of memory");
        size_t len;
        char *text = read_file(path, &len, errstr, errstr_size);
        if (!text)
                return -1;
        json_error_t jerr;
        json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
        int rc = -1;
        if (!j) {
                set_err(errstr, errstr_size, "%s: not JSON: %s (line %d)", path,
                        jerr.text, jerr.line);
                goto out;
        }
        if (sch_build(&v->sch, j, why, sizeof(why)) ||
            !(v->canonical = sch_canonical(&v->sch, why, sizeof(why)))) {
                set_err(errstr, errstr_size, "%s: %s", path, why);
                goto out;
        }
        v->fingerprint = ql_codec_crc64(v->canonical, strlen(v->canonical));
        /* avro-c keeps its error text in a process-wide buffer; see the
         * header on calling ql_codec_new concurrently. */
        if (avro_schema_from_json_length(text, len, &v->avro)) {
                v->avro = NULL;
                set_err(errstr, errstr_size, "%s: avro-c rejects it: %s", path,
                        avro_strerror());
                goto out;
        }
        v->iface = avro_generic_class_from_schema(v->avro);
        if (!v->iface) {
                set_err(errstr, errstr_size, "%s: avro-c: %s", path,
                        avro_strerror());
                goto out;
        }
        v->pool = calloc(1, sizeof(*v->pool));
        if (!v->pool || pthread_mutex_init(&v->pool->lock, NULL)) {
                free(v->pool);
                v->pool = NULL;
                set_err(errstr, errstr_size, "out of memory");
                goto out;
        }
        rc = 0;
out:
        json_decref(j);
        free(text);
        return rc;
}

ql_codec_t *ql_codec_new(const char *dir, char *errstr, size_t errstr_size)
{
        ql_codec_t *codec = calloc(1, sizeof(*codec));
        char **names = NULL;
        size_t n_names = 0, cap = 0;
        DIR *d = opendir(dir);
        if (!codec || !d) {
                set_err(errstr, errstr_size, "schema directory %s: %s", dir,
                        codec ? "cannot open" : "out of memory");
                goto fail;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                size_t nl = strlen(de->d_name);
                if (nl <= 5 || de->d_name[0] == '.' ||
                    strcmp(de->d_name + nl - 5, ".avsc") != 0)
                        continue;
                if (n_names == cap) {
                        cap = cap ? 2 * cap : 8;
                        char **nv = realloc(names, cap * sizeof(char *));
                        if (!nv)
                                goto oom;
                        names = nv;
                }
                if (!(names[n_names] = strdup(de->d_name)))
                        goto oom;
                n_names++;
        }
        closedir(d);
        d = NULL;
        if (n_names == 0) {
                set_err(errstr, errstr_size, "no *.avsc schema in %s", dir);
                goto fail;
        }
        qsort(names, n_names, sizeof(char *), version_cmp);
        codec->v = calloc(n_names, sizeof(codec_version_t));
        if (!codec->v)
                goto oom;
        for (size_t i = 0; i < n_names; i++) {
                codec->n = i + 1;
                if (load_version(&codec->v[i], dir, names[i], errstr,
                                 errstr_size))
                        goto fail;
                for (size_t k = 0; k < i; k++)
                        if (codec->v[k].fingerprint ==
                            codec->v[i].fingerprint) {
                                set_err(errstr, errstr_size,
                                        "%s and %s are the same schema "
                                        "(fingerprint %" PRIu64 ")",
                                        names[k], names[i],
                                        codec->v[i].fingerprint);
                                goto fail;
                        }
        }
        const codec_version_t *newest = &codec->v[codec->n - 1];
        for (size_t i = 0; i < codec->n; i++) {
                char why[400];
                walk_t wk;
                walk_init(&wk);
                codec->v[i].to_newest = resolve(
                    &codec->res, codec->v[i].sch.root, newest->sch.root, &wk);
                if (!codec->v[i].to_newest) {
                        walk_report(&wk, why, sizeof(why));
                        set_err(errstr, errstr_size,
                                "%s cannot be read as the newest schema %s: "
                                "%s",
                                codec->v[i].file, newest->file, why);
                        goto fail;
                }
        }
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        free(names);
        return codec;
oom:
        set_err(errstr, errstr_size, "out of memory");
fail:
        if (d)
                closedir(d);
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        free(names);
        ql_codec_destroy(codec);
        return NULL;
}

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
                        : node_name(b);
                int k = snprintf(list + len, sizeof(list) - len, "%s%s",
                                 i ? " or " : "", name);
                if (k > 0)
                        len += (size_t)k;
        }
        return walk_fail(w, "expected %s, got %s", list, json_kind(j));
}

static int avro_oom(walk_t *w)
{
        return walk_fail(w, "avro-c could not build the value (out of memory)");
}

static int enc_value(const sch_node_t *n, const json_t *j, avro_value_t *v,
                     walk_t *w);

static int enc_record(const sch_node_t *n, const json_t *j, avro_value_t *v,
                      walk_t *w)
{
        if (!json_is_object(j))
                return walk_fail(w, "expected an object, got %s", json_kind(j));
        for (size_t i = 0; i < n->n_fields; i++) {
                const sch_field_t *f = &n->fields[i];
                const json_t *fj = json_object_get(j, f->name);
                if (!fj)
                        fj = f->dflt;
                if (!fj && union_has_null(f->type))
                        fj = json_null();
                avro_value_t child;
                if (!fj)
                        walk_fail(w, "missing");
                else if (avro_value_get_by_index(v, i, &child, NULL))
                        avro_oom(w);
                else if (enc_value(f->type, fj, &child, w) == 0)
                        continue;
                return walk_up_name(w, f->name);
        }
        return 0;
}

static int enc_value(const sch_node_t *n, const json_t *j, avro_value_t *v,
                     walk_t *w)
{
        if (w->depth > CODEC_MAX_DEPTH)
                return walk_fail(w, "nested too deeply");
        int rc = 0;
        switch (n->type) {
        case SCH_NULL:
                if (!json_is_null(j))
                        return walk_fail(w, "expected null, got %s",
                                         json_kind(j));
                rc = avro_value_set_null(v);
                break;
        case SCH_BOOLEAN:
                if (!json_is_boolean(j))
                        return walk_fail(w, "expected a boolean, got %s",
                                         json_kind(j));
                rc = avro_value_set_boolean(v, json_is_true(j));
                break;
        case SCH_INT:
                if (n->logical == SCH_DATE) {
                        int32_t days;
                        if (!json_is_string(j) ||
                            ql_time_parse_date(json_string_value(j), &days))
                                return walk_fail(w,
                                                 "expected a date "
                                                 "YYYY-MM-DD, got %s",
                                                 json_kind(j));
                        rc = avro_value_set_int(v, days);
                } else {
                        if (!accepts(n, j))
                                return walk_fail(w,
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
                                return walk_fail(w,
                                                 "expected an ISO 8601 "
                                                 "timestamp with offset, "
                                                 "1900..9999 in UTC, got %s",
                                                 json_kind(j));
                        rc = avro_value_set_long(v, ms);
                } else {
                        if (!json_is_integer(j))
                                return walk_fail(w,
                                                 "expected an integer, got %s",
                                                 json_kind(j));
                        rc = avro_value_set_long(v, json_integer_value(j));
                }
                break;
        case SCH_FLOAT:
        case SCH_DOUBLE:
                if (!json_is_number(j))
                        return walk_fail(w, "expected a number, got %s",
                                         json_kind(j));
                rc = n->type == SCH_FLOAT
                         ? avro_value_set_float(v, (float)json_number_value(j))
                         : avro_value_set_double(v, json_number_value(j));
                break;
        case SCH_STRING: {
                if (!json_is_string(j))
                        return walk_fail(w, "expected a string, got %s",
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
                if (!json_is_string(j) || latin1_from_json(j, &b, &len))
                        return walk_fail(w, "expected a string of code points "
                                            "U+0000..U+00FF");
                if (n->type == SCH_FIXED && len != n->fixed_size) {
                        free(b);
                        return walk_fail(w, "expected %zu bytes, got %zu",
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
                                return walk_fail(w, "\"%.*s\" is not one of %s",
                                                 utf8_prefix(j, 60),
                                                 json_string_value(j), list);
                        return walk_fail(w, "expected one of %s, got %s", list,
                                         json_kind(j));
                }
                rc = avro_value_set_enum(v, idx);
                break;
        }
        case SCH_ARRAY: {
                if (!json_is_array(j))
                        return walk_fail(w, "expected an array, got %s",
                                         json_kind(j));
                size_t i;
                const json_t *e;
                w->depth++;
                json_array_foreach(j, i, e)
                {
                        avro_value_t child;
                        if (avro_value_append(v, &child, NULL))
                                return avro_oom(w), walk_up_index(w, i);
                        if (enc_value(n->items, e, &child, w))
                                return walk_up_index(w, i);
                }
                w->depth--;
                break;
        }
        case SCH_MAP: {
                if (!json_is_object(j))
                        return walk_fail(w, "expected an object, got %s",
                                         json_kind(j));
                const char *k;
                json_t *e;
                w->depth++;
                json_object_foreach((json_t *)j, k, e)
                {
                        avro_value_t child;
                        if (avro_value_add(v, k, &child, NULL, NULL))
                                return avro_oom(w), walk_up_name(w, k);
                        if (enc_value(n->items, e, &child, w))
                                return walk_up_name(w, k);
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
                return set_err(errstr, errstr_size, "no document");
        avro_value_t val;
        if (value_get(v, &val))
                return set_err(errstr, errstr_size,
                               "avro-c could not allocate a value");
        walk_t w;
        walk_init(&w);
        int rc = -1;
        unsigned char *buf = NULL;
        size_t size = 0;
        if (enc_value(v->sch.root, doc, &val, &w)) {
                walk_report(&w, errstr, errstr_size);
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
                set_err(errstr, errstr_size, "avro-c could not size the datum");
                goto out;
        }
        buf = malloc(CODEC_HEADER_LEN + size);
        if (!buf) {
                set_err(errstr, errstr_size, "out of memory");
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
                        set_err(errstr, errstr_size,
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
        value_put(v, &val, size);
        return rc;
}

/*------------------------------------------------------------------------
 * Decoding, pass 1: the bounded scan.  It accepts exactly the datums that
 * avro-c then reads without error and without trusting a length it has not
 * seen the bytes for: varints of at most 5 (int) or 10 (long) bytes that
 * fit, lengths and counts within the bytes left, enum and union indexes in
 * range, block sizes that match.
 */

typedef struct {
        const unsigned char *p;
        size_t len, pos;
        walk_t *w;
} scan_t;

static int scan_truncated(scan_t *s)
{
        return walk_fail(s->w, "datum truncated at byte %zu of %zu", s->pos,
                         s->len);
}

static int scan_varint(scan_t *s, int max_bytes, uint64_t *out)
{
        uint64_t v = 0;
        for (int i = 0; i < max_bytes; i++) {
                if (s->pos >= s->len)
                        return scan_truncated(s);
                unsigned b = s->p[s->pos++];
                if (i == max_bytes - 1 &&
                    (b & 0x80 || b >> (max_bytes == 5 ? 4 : 1)))
                        return walk_fail(s->w, "varint too long at byte %zu",
                                         s->pos - 1);
                v |= (uint64_t)(b & 0x7F) << (7 * i);
                if (!(b & 0x80))
                        break;
        }
        *out = v;
        return 0;
}

static int scan_long(scan_t *s, int64_t *out)
{
        uint64_t v;
        if (scan_varint(s, 10, &v))
                return -1;
        *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
        return 0;
}

static int scan_int(scan_t *s, int64_t *out)
{
        uint64_t v;
        if (scan_varint(s, 5, &v))
                return -1;
        *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
        return 0;
}

static int scan_skip(scan_t *s, int64_t n, const char *what)
{
        if (n < 0)
                return walk_fail(s->w, "negative %s length %" PRId64, what, n);
        if ((uint64_t)n > s->len - s->pos)
                return walk_fail(s->w,
                                 "%s length %" PRId64 " exceeds the %zu bytes "
                                 "left",
                                 what, n, s->len - s->pos);
        s->pos += (size_t)n;
        return 0;
}

static int scan_value(scan_t *s, const sch_node_t *n);

/* avro-c hands map keys on as C strings: no NUL inside. */
static int scan_map_key(scan_t *s)
{
        int64_t len;
        if (scan_long(s, &len))
                return -1;
        size_t start = s->pos;
        if (scan_skip(s, len, "map key"))
                return -1;
        if (memchr(s->p + start, 0, (size_t)len))
                return walk_fail(s->w, "map key contains NUL");
        return 0;
}

/* Array and map blocks: count (negative: followed by its byte size), items,
 * until a zero count. */
static int scan_blocks(scan_t *s, const sch_node_t *n)
{
        size_t index = 0;
        for (;;) {
                int64_t count, bsize = -1;
                if (scan_long(s, &count))
                        return -1;
                if (count == 0)
                        return 0;
                if (count < 0) {
                        if (count == INT64_MIN)
                                return walk_fail(s->w, "bad block count");
                        count = -count;
                        if (scan_long(s, &bsize))
                                return -1;
                        if (bsize < 0 || (uint64_t)bsize > s->len - s->pos)
                                return walk_fail(
                                    s->w, "block size %" PRId64 " out of range",
                                    bsize);
                }
                /* Each entry takes a byte at least, unless it can be
                 * empty; then the total is capped instead. */
                if (n->type == SCH_MAP || !n->items->may_be_empty) {
                        if ((uint64_t)count > s->len - s->pos)
                                return walk_fail(s->w,
                                                 "block of %" PRId64
                                                 " entries exceeds the %zu "
                                                 "bytes left",
                                                 count, s->len - s->pos);
                }
                if ((uint64_t)count > CODEC_MAX_ELEMENTS - s->w->elements)
                        return walk_fail(s->w, "more than %u entries",
                                         CODEC_MAX_ELEMENTS);
                s->w->elements += (size_t)count;
                size_t start = s->pos;
                for (int64_t i = 0; i < count; i++, index++) {
                        if ((n->type == SCH_MAP && scan_map_key(s)) ||
                            scan_value(s, n->items))
                                return walk_up_index(s->w, index);
                }
                if (bsize >= 0 && (uint64_t)bsize != s->pos - start)
                        return walk_fail(s->w,
                                         "block size %" PRId64
                                         " does not match its %zu bytes",
                                         bsize, s->pos - start);
        }
}

static int scan_value(scan_t *s, const sch_node_t *n)
{
        int64_t x;
        if (s->w->depth > CODEC_MAX_DEPTH)
                return walk_fail(s->w, "value nested too deeply");
        switch (n->type) {
        case SCH_NULL:
                return 0;
        case SCH_BOOLEAN:
                if (s->pos >= s->len)
                        return scan_truncated(s);
                if (s->p[s->pos] > 1)
                        return walk_fail(s->w, "boolean byte is %u",
                                         s->p[s->pos]);
                s->pos++;
                return 0;
        case SCH_INT:
                if (scan_int(s, &x))
                        return -1;
                if (x < INT32_MIN || x > INT32_MAX)
                        return walk_fail(s->w, "int out of range");
                return 0;
        case SCH_LONG:
                return scan_long(s, &x);
        case SCH_FLOAT:
                return scan_skip(s, 4, "float");
        case SCH_DOUBLE:
                return scan_skip(s, 8, "double");
        case SCH_BYTES:
        case SCH_STRING:
                if (scan_long(s, &x))
                        return -1;
                return scan_skip(s, x, sch_type_names[n->type]);
        case SCH_FIXED:
                return scan_skip(s, (int64_t)n->fixed_size, "fixed");
        case SCH_ENUM:
                if (scan_long(s, &x))
                        return -1;
                if (x < 0 || (uint64_t)x >= n->n_symbols)
                        return walk_fail(s->w,
                                         "enum index %" PRId64
                                         " out of range (%zu symbols)",
                                         x, n->n_symbols);
                return 0;
        case SCH_UNION:
                if (scan_long(s, &x))
                        return -1;
                if (x < 0 || (uint64_t)x >= n->n_branches)
                        return walk_fail(s->w,
                                         "union index %" PRId64
                                         " out of range (%zu branches)",
                                         x, n->n_branches);
                return scan_value(s, n->branches[x]);
        case SCH_ARRAY:
        case SCH_MAP: {
                s->w->depth++;
                int rc = scan_blocks(s, n);
                s->w->depth--;
                return rc;
        }
        case SCH_RECORD:
                s->w->depth++;
                for (size_t i = 0; i < n->n_fields; i++) {
                        if (scan_value(s, n->fields[i].type))
                                return walk_up_name(s->w, n->fields[i].name);
                }
                s->w->depth--;
                return 0;
        }
        return walk_fail(s->w, "unknown schema node");
}

/*------------------------------------------------------------------------
 * Decoding, pass 3: avro-c value of the writer schema -> document of the
 * newest schema, following the resolver.
 */

static int dec_value(const res_t *rs, avro_value_t *v, walk_t *w, json_t **out);

static int dec_fail_oom(walk_t *w)
{
        return walk_fail(w, "out of memory");
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
                if (!rc && !(*out = number_to_json(r, x)))
                        return walk_fail(w, "%s %" PRId64 " out of range",
                                         r->logical == SCH_DATE ? "date"
                                         : r->logical == SCH_TIMESTAMP_MILLIS
                                             ? "timestamp"
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
                        return walk_fail(w, "number not representable in "
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
                                return walk_fail(w,
                                                 "string is not valid UTF-8");
                } else {
                        *out = latin1_to_json(b, size);
                }
                break;
        }
        default:
                return walk_fail(w, "unexpected writer type");
        }
        if (rc)
                return walk_fail(w, "avro-c could not read the value");
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
                return walk_fail(w, "avro-c lost the field");
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
                        return walk_up_name(w, f->name);
                }
        }
        *out = obj;
        return 0;
}

static int dec_value(const res_t *rs, avro_value_t *v, walk_t *w, json_t **out)
{
        *out = NULL;
        if (rs->failed)
                return walk_fail(w, "%s cannot be read as %s", node_name(rs->w),
                                 node_name(rs->r));
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
                        return walk_fail(w, "avro-c lost the union branch");
                if (!rs->branches[d])
                        return walk_fail(w,
                                         "writer's branch %s is not readable "
                                         "as %s",
                                         node_name(rs->w->branches[d]),
                                         node_name(rs->r));
                return dec_value(rs->branches[d], &branch, w, out);
        }
        case RES_ENUM: {
                int e = -1;
                if (avro_value_get_enum(v, &e) || e < 0 ||
                    (size_t)e >= rs->w->n_symbols)
                        return walk_fail(w, "enum index out of range");
                int r = rs->symbol_map[e];
                if (r < 0)
                        return walk_fail(w,
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
                        return walk_fail(w, "avro-c lost the size");
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
                                walk_fail(w, "avro-c lost the entry");
                                return walk_up_index(w, i);
                        }
                        if (dec_value(rs->inner, &child, w, &e)) {
                                json_decref(c);
                                return walk_up_index(w, i);
                        }
                        int bad = rs->kind == RES_ARRAY
                                      ? json_array_append_new(c, e)
                                      : json_object_set_new(c, key, e);
                        if (bad) {
                                json_decref(c);
                                walk_fail(w, "map key is not valid UTF-8 (or "
                                             "out of memory)");
                                return walk_up_index(w, i);
                        }
                }
                w->depth--;
                *out = c;
                return 0;
        }
        }
        return walk_fail(w, "unknown resolver");
}

int ql_codec_decode(const ql_codec_t *codec, const void *buf, size_t len,
                    json_t **doc, char *errstr, size_t errstr_size)
{
        const unsigned char *p = buf;
        *doc = NULL;
        if (!buf || len < 2 || p[0] != 0xC3 || p[1] != 0x01)
                return set_err(errstr, errstr_size,
                               "not Avro single-object encoding (no C3 01 "
                               "header)");
        if (len < CODEC_HEADER_LEN)
                return set_err(errstr, errstr_size,
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
                return set_err(errstr, errstr_size,
                               "unknown writer schema fingerprint %" PRIu64,
                               fp);
        walk_t w;
        walk_init(&w);
        scan_t s = {p + CODEC_HEADER_LEN, len - CODEC_HEADER_LEN, 0, &w};
        if (scan_value(&s, v->sch.root))
                return walk_report(&w, errstr, errstr_size);
        if (s.pos != s.len)
                return set_err(errstr, errstr_size,
                               "%zu trailing bytes after the datum",
                               s.len - s.pos);

        avro_value_t val;
        if (value_get(v, &val))
                return set_err(errstr, errstr_size,
                               "avro-c could not allocate a value");
        avro_reader_t rd =
            avro_reader_memory((const char *)s.p, (int64_t)s.len);
        int rc = -1;
        if (!rd || avro_value_read(rd, &val)) {
                set_err(errstr, errstr_size, "avro-c could not read the datum");
                goto out;
        }
        walk_init(&w);
        if ((rc = dec_value(v->to_newest, &val, &w, doc)))
                walk_report(&w, errstr, errstr_size);
out:
        if (rd)
                avro_reader_free(rd);
        value_put(v, &val, len);
        return rc;
}
