/*
 * migrate: bring the database schema up to date before the consumer starts.
 * Every schemas/sql/NNN_*.sql not yet listed in ql.schema_migrations is
 * applied in name order, each in its own transaction together with its row
 * in ql.schema_migrations, all under a PostgreSQL advisory lock so that
 * several ql-triage processes starting together apply each file once.
 * Migrations are trusted files of this project: each is sent as one
 * multi-statement simple query.
 */
#ifndef TRIAGE_MIGRATE_H
#define TRIAGE_MIGRATE_H

#include <stddef.h>

#include "pgconn.h"
#include "ql_log.h"

/* Apply what is missing from `dir` to the database `pg` reaches.
 * Returns the number of files applied (>= 0), or -1 with errstr; *fatal is
 * set when retrying cannot help (a migration failed, the directory is
 * unreadable) and clear when the database was unreachable. */
int triage_migrate(const triage_pgconn_t *pg, const char *dir, ql_log_t *lg,
                   int *fatal /* OUT */, char *errstr, size_t errstr_size);

/* 1 if `name` is a migration file name: three digits, '_', anything,
 * ".sql". */
int triage_migrate_is_file(const char *name);

#endif
