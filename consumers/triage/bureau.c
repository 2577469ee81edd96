/*
 * bureau: the bureau's region recorded at start (see bureau.h).  A one-shot
 * blocking connection, like the migrations': it runs before the group is
 * joined, so nothing waits on it but the start.
 */
#include "bureau.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

int triage_bureau_set(const triage_pgconn_t *pg, const char *region,
                      int *changed, char *errstr, size_t errstr_size)
{
        *changed = 0;
        PGconn *c = triage_pgconn_connect(pg);
        if (!c || PQstatus(c) != CONNECTION_OK) {
                snprintf(errstr, errstr_size, "bureau_region: %s",
                         c ? PQerrorMessage(c) : "out of memory");
                errstr[strcspn(errstr, "\n")] = '\0';
                PQfinish(c);
                return -1;
        }
        const char *params[] = {region};
        PGresult *r = PQexecParams(c, "SELECT ql.set_bureau($1)", 1, NULL,
                                   params, NULL, NULL, 0);
        int rc = 0;
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
                const char *msg =
                    PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
                snprintf(errstr, errstr_size,
                         "bureau_region: ql.set_bureau: %s",
                         msg ? msg : PQerrorMessage(c));
                errstr[strcspn(errstr, "\n")] = '\0';
                rc = -1;
        } else {
                *changed = !strcmp(PQgetvalue(r, 0, 0), "t");
        }
        PQclear(r);
        PQfinish(c);
        return rc;
}
