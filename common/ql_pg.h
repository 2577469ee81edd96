/*
 * ql_pg: how a program reaches PostgreSQL from an operator's connection
 * string (QL_PG, QL_BOARD_PG): the check of that string at start, and the
 * keyword/value arrays libpq connects with, the program's fixed keys around
 * the operator's string.  ql-triage (pgconn.c) and ql-board (bd_db.c) use
 * it.  It is a library of its own, ql_pg, so that only the programs that
 * use PostgreSQL link libpq.
 */
#ifndef QL_PG_H
#define QL_PG_H

#include <stddef.h>

#include <libpq-fe.h>

typedef enum {
        QL_PG_CONNINFO_OK = 0,
        QL_PG_CONNINFO_SYNTAX,  /* libpq cannot parse it */
        QL_PG_CONNINFO_REFUSED, /* the caller's rule refused a keyword */
} ql_pg_conninfo_rc_t;

/* A caller's rule on the keywords of a connection string: nonzero refuses
 * `keyword` set to `value` (never NULL nor empty). */
typedef int (*ql_pg_rule_fn)(const char *keyword, const char *value);

/* Parse `conninfo` (key=value pairs or a URI; NULL is taken as "") as
 * libpq would, and apply `rule` (NULL: none) to every keyword it sets to a
 * non-empty value, in libpq's order of keywords, up to the first refused.
 * Into `why` goes, for QL_PG_CONNINFO_SYNTAX, libpq's reason as libpq wrote
 * it (it may end in a newline; "" when memory ran out), for
 * QL_PG_CONNINFO_REFUSED the keyword refused.  Never the values: they may
 * be passwords. */
ql_pg_conninfo_rc_t ql_pg_check_conninfo(const char *conninfo,
                                         ql_pg_rule_fn rule,
                                         char *why /* OUT */, size_t why_size);

typedef struct {
        const char *key;
        const char *value;
} ql_pg_param_t;

#define QL_PG_PARAMS_MAX 16

/* NULL-terminated keyword and value arrays for libpq's *Params functions
 * with expand_dbname = 1.  The strings are borrowed: they must outlive the
 * arrays' use. */
typedef struct {
        const char *keys[QL_PG_PARAMS_MAX + 1];
        const char *values[QL_PG_PARAMS_MAX + 1];
} ql_pg_params_t;

/* Fill p with the pairs of `before`, then "dbname" = conninfo, then the
 * pairs of `after`.  libpq reads them in order, a later value winning, and
 * expands the connection string where "dbname" stands: what the operator
 * wrote overrides `before` (defaults), `after` overrides the operator
 * (what the program insists on, a password read from a file).  -1 when
 * the pairs are more than QL_PG_PARAMS_MAX (p then holds none). */
int ql_pg_params_set(ql_pg_params_t *p, const ql_pg_param_t *before,
                     size_t nbefore, const char *conninfo,
                     const ql_pg_param_t *after, size_t nafter);

/* libpq's calls on p: a blocking connection (bounded by connect_timeout;
 * NULL only when memory ran out, check PQstatus), the start of a
 * non-blocking one (PQconnectPoll it; NULL likewise), and whether the
 * server accepts connections (no credentials needed). */
PGconn *ql_pg_connect(const ql_pg_params_t *p);
PGconn *ql_pg_connect_start(const ql_pg_params_t *p);
int ql_pg_ping(const ql_pg_params_t *p);

#endif
