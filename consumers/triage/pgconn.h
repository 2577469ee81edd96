/*
 * pgconn: how ql-triage reaches PostgreSQL, in one place for the store, the
 * migrations and the re-drive.  It turns the configuration (QL_PG, and the
 * password file QL_PG_PASSWORD_FILE read once at start) into libpq keyword
 * and value arrays:
 *
 *     connect_timeout=5  fallback_application_name=ql-triage
 *     keepalives=1  keepalives_idle=10  keepalives_interval=5
 *     keepalives_count=3  tcp_user_timeout=30000     (a dead peer is
 *                        noticed in about 25 s, not after the kernel's hours)
 *     dbname=<QL_PG, expanded>                        (overrides the above)
 *     password=<the password file>                    (overrides QL_PG's)
 *
 * It also refuses, at start, placeholder passwords (anything starting with
 * "change-me"), in the connection string or in the password file.  The
 * password is never logged.
 */
#ifndef TRIAGE_PGCONN_H
#define TRIAGE_PGCONN_H

#include <stddef.h>

#include <libpq-fe.h>

#include "ql_pg.h"
#include "triage_config.h"

typedef struct triage_pgconn_s triage_pgconn_t;

/* The connection parameters of cfg: the password file read, both passwords
 * checked for the placeholder.  NULL with errstr naming the setting ("pg:
 * ..." or "pg_password_file: ...") when the configuration cannot be used;
 * the caller stops the program then. */
triage_pgconn_t *triage_pgconn_new(const triage_config_t *cfg, char *errstr,
                                   size_t errstr_size);
void triage_pgconn_destroy(triage_pgconn_t *p); /* accepts NULL */

/* The keyword and value arrays (ql_pg.h), for ql_pg_connect_start; borrowed
 * from p. */
const ql_pg_params_t *triage_pgconn_params(const triage_pgconn_t *p);

/* A blocking connection (bounded by connect_timeout), for the one-shot
 * uses: NULL only when memory ran out; check PQstatus. */
PGconn *triage_pgconn_connect(const triage_pgconn_t *p);

#endif
