/*
 * ql_pg: the connection string's check and the keyword/value arrays of
 * ql_pg.h.
 */
#include "ql_pg.h"

#include <stdio.h>
#include <string.h>

ql_pg_conninfo_rc_t ql_pg_check_conninfo(const char *conninfo,
                                         ql_pg_rule_fn rule, char *why,
                                         size_t why_size)
{
        char *err = NULL;
        PQconninfoOption *opts =
            PQconninfoParse(conninfo ? conninfo : "", &err);
        if (!opts) {
                snprintf(why, why_size, "%s", err ? err : "");
                PQfreemem(err);
                return QL_PG_CONNINFO_SYNTAX;
        }
        ql_pg_conninfo_rc_t rc = QL_PG_CONNINFO_OK;
        for (PQconninfoOption *o = opts; rule && o->keyword; o++)
                if (o->val && *o->val && rule(o->keyword, o->val)) {
                        snprintf(why, why_size, "%s", o->keyword);
                        rc = QL_PG_CONNINFO_REFUSED;
                        break;
                }
        PQconninfoFree(opts);
        return rc;
}

int ql_pg_params_set(ql_pg_params_t *p, const ql_pg_param_t *before,
                     size_t nbefore, const char *conninfo,
                     const ql_pg_param_t *after, size_t nafter)
{
        memset(p, 0, sizeof(*p));
        if (nbefore + 1 + nafter > QL_PG_PARAMS_MAX)
                return -1;
        size_t n = 0;
        for (size_t i = 0; i < nbefore; i++, n++) {
                p->keys[n] = before[i].key;
                p->values[n] = before[i].value;
        }
        p->keys[n] = "dbname";
        p->values[n++] = conninfo;
        for (size_t i = 0; i < nafter; i++, n++) {
                p->keys[n] = after[i].key;
                p->values[n] = after[i].value;
        }
        return 0;
}

PGconn *ql_pg_connect(const ql_pg_params_t *p)
{
        return PQconnectdbParams(p->keys, p->values, 1);
}

PGconn *ql_pg_connect_start(const ql_pg_params_t *p)
{
        return PQconnectStartParams(p->keys, p->values, 1);
}

int ql_pg_ping(const ql_pg_params_t *p)
{
        return PQpingParams(p->keys, p->values, 1) == PQPING_OK;
}
