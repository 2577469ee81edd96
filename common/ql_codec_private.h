/*
 * ql_codec_private.h: what the files of the codec share, private to them
 * (nothing outside common/ql_codec*.c includes it).  ql_codec.c holds the
 * codec object (loading the schema files, the pools of avro-c values, the
 * errors and the walk context every pass uses); ql_codec_schema.c parses a
 * schema's JSON into the node graph; ql_codec_canon.c writes its Parsing
 * Canonical Form and fingerprint; ql_codec_resolve.c builds the resolvers
 * from a writer schema to the newest; ql_codec_encode.c turns a document
 * into an Avro datum; ql_codec_scan.c proves a datum well formed before
 * avro-c reads it; ql_codec_decode.c walks the value avro-c read into a
 * document of the newest schema.
 */
#ifndef QL_CODEC_PRIVATE_H
#define QL_CODEC_PRIVATE_H

#include <avro.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ql_codec.h"

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

struct ql_codec_s {
        codec_version_t *v; /* oldest first, newest last */
        size_t n;
        res_set_t res;
};

typedef struct {
        const unsigned char *p;
        size_t len, pos;
        walk_t *w;
} scan_t;

/* ql_codec.c: errors and the walk context. */

/* Format an error into errstr without splitting a UTF-8 character where it
 * is cut short.  Returns -1. */
int codec_set_err(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void codec_walk_init(walk_t *w);
/* Set the failure message (the path is added while unwinding).  -1. */
int codec_walk_fail(walk_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prepend ".name" / "[i]" to the failure's path.  -1. */
int codec_walk_up_name(walk_t *w, const char *name);
int codec_walk_up_index(walk_t *w, size_t i);
/* "path: message" (or the message alone) into errstr.  -1. */
int codec_walk_report(const walk_t *w, char *errstr, size_t errstr_size);
/* A generic value of v's schema from its pool (or new), and back: 0 or an
 * errno; value_put empties it, or frees one that served a message over
 * CODEC_POOL_MAX_MSG bytes. */
int codec_value_get(const codec_version_t *v, avro_value_t *out);
void codec_value_put(const codec_version_t *v, avro_value_t *val,
                     size_t msg_len);

/* ql_codec_schema.c: the schema graph. */

extern const char *const codec_sch_type_names[]; /* by sch_type_t */
/* Parse schema JSON j into s.  0, or -1 with errstr. */
int codec_sch_build(sch_t *s, const json_t *j, char *errstr,
                    size_t errstr_size);
void codec_sch_clear(sch_t *s);
/* The name after the last dot. */
const char *codec_unqualified(const char *fullname);
/* Document values: bytes and fixed travel as JSON strings of code points
 * 0-255; an int or long of a date or timestamp as its text. */
int codec_latin1_from_json(const json_t *s, unsigned char **out, size_t *len);
json_t *codec_latin1_to_json(const unsigned char *b, size_t n);
json_t *codec_number_to_json(const sch_node_t *r, int64_t x);

/* ql_codec_canon.c */

/* The Parsing Canonical Form of s (malloc'd), or NULL with errstr. */
char *codec_sch_canonical(const sch_t *s, char *errstr, size_t errstr_size);

/* ql_codec_resolve.c */

/* The resolver reading data written as w as r, memoised in set (which owns
 * it); NULL with the failure in wk. */
res_t *codec_resolve(res_set_t *set, const sch_node_t *w, const sch_node_t *r,
                     walk_t *wk);
void codec_res_set_clear(res_set_t *set);
/* A node's full name, or its type's name. */
const char *codec_node_name(const sch_node_t *n);

/* ql_codec_scan.c */

/* Scan one datum of node n from s's position.  0, or -1 with s->w. */
int codec_scan_value(scan_t *s, const sch_node_t *n);

#endif
