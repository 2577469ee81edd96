/*
 * migrate: schema migrations under an advisory lock.  The lock is a session
 * lock on a constant key, taken before ql.schema_migrations is created, so
 * even the first creation cannot race.  A failed file rolls back alone; the
 * ones before it stay applied.
 */
#include "migrate.h"
#include "ql_util.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "ql_migr" as a number: the advisory lock every ql-triage agrees on. */
#define MIGRATE_LOCK_KEY "31925829481621362"

int triage_migrate_is_file(const char *name)
{
        size_t n = strlen(name);
        if (n < 9 || strcmp(name + n - 4, ".sql") != 0)
                return 0;
        for (int i = 0; i < 3; i++)
                if (name[i] < '0' || name[i] > '9')
                        return 0;
        return name[3] == '_';
}

static int by_name(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* The migration file names of dir, sorted.  0, or -1 with errstr. */
static int list_files(const char *dir, char ***out, size_t *count, char *errstr,
                      size_t errstr_size)
{
        DIR *d = opendir(dir);
        if (!d) {
                snprintf(errstr, errstr_size, "sql_dir %s: %s", dir,
                         strerror(errno));
                return -1;
        }
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
                if (!triage_migrate_is_file(e->d_name))
                        continue;
                if (n == cap) {
                        cap = cap ? 2 * cap : 16;
                        char **v = realloc(names, cap * sizeof(*v));
                        if (!v)
                                goto oom;
                        names = v;
                }
                if (!(names[n] = strdup(e->d_name)))
                        goto oom;
                n++;
        }
        closedir(d);
        if (n)
                qsort(names, n, sizeof(*names), by_name);
        *out = names;
        *count = n;
        return 0;
oom:
        closedir(d);
        free_names(names, n);
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
}

/* Run sql expecting `want`; on failure the message in errstr. */
static int exec_ok(PGconn *c, const char *sql, ExecStatusType want,
                   char *errstr, size_t errstr_size)
{
        PGresult *r = PQexec(c, sql);
        int ok = r && PQresultStatus(r) == want;
        if (!ok) {
                snprintf(errstr, errstr_size, "%s", PQerrorMessage(c));
                errstr[strcspn(errstr, "\n")] = '\0';
        }
        PQclear(r);
        return ok ? 0 : -1;
}

/* The line of text holding character `pos` (1-based, as PostgreSQL counts
 * characters of a UTF-8 text). */
static int line_of(const char *text, long pos)
{
        int line = 1;
        long chars = 0;
        for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
                if ((*p & 0xC0) != 0x80 && ++chars >= pos)
                        break;
                if (*p == '\n')
                        line++;
        }
        return line;
}

static int apply_one(PGconn *c, const char *dir, const char *name, char *errstr,
                     size_t errstr_size)
{
        char path[4096], version[256];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        snprintf(version, sizeof(version), "%.*s", (int)(strlen(name) - 4),
                 name);
        char *sql = ql_util_read_file(path, 0, NULL, errstr, errstr_size);
        if (!sql)
                return -1;
        char why[512];
        if (exec_ok(c, "BEGIN", PGRES_COMMAND_OK, why, sizeof(why))) {
                snprintf(errstr, errstr_size, "migration %s: %s", name, why);
                free(sql);
                return -1;
        }
        PGresult *r = PQexec(c, sql);
        int rc = 0;
        if (!r || (PQresultStatus(r) != PGRES_COMMAND_OK &&
                   PQresultStatus(r) != PGRES_TUPLES_OK)) {
                const char *pos =
                    r ? PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION)
                      : NULL;
                const char *msg =
                    r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
                snprintf(why, sizeof(why), "%s", msg ? msg : PQerrorMessage(c));
                why[strcspn(why, "\n")] = '\0';
                if (pos)
                        snprintf(errstr, errstr_size,
                                 "migration %s line %d: %s", name,
                                 line_of(sql, strtol(pos, NULL, 10)), why);
                else
                        snprintf(errstr, errstr_size, "migration %s: %s", name,
                                 why);
                rc = -1;
        }
        PQclear(r);
        free(sql);
        if (!rc) {
                const char *params[] = {version};
                r = PQexecParams(c,
                                 "INSERT INTO ql.schema_migrations (version)"
                                 " VALUES ($1)",
                                 1, NULL, params, NULL, NULL, 0);
                if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                        snprintf(errstr, errstr_size, "migration %s: %s", name,
                                 PQerrorMessage(c));
                        errstr[strcspn(errstr, "\n")] = '\0';
                        rc = -1;
                }
                PQclear(r);
        }
        if (!rc && exec_ok(c, "COMMIT", PGRES_COMMAND_OK, why, sizeof(why))) {
                snprintf(errstr, errstr_size, "migration %s: %s", name, why);
                rc = -1;
        }
        if (rc)
                exec_ok(c, "ROLLBACK", PGRES_COMMAND_OK, why, sizeof(why));
        return rc;
}

static void on_notice(void *arg, const char *message)
{
        char line[512];
        snprintf(line, sizeof(line), "%s", message);
        line[strcspn(line, "\n")] = '\0';
        ql_debug(arg, "PostgreSQL: %s", line);
}

static int is_applied(PGresult *r, const char *name)
{
        size_t n = strlen(name) - 4;
        for (int i = 0; i < PQntuples(r); i++) {
                const char *v = PQgetvalue(r, i, 0);
                if (strlen(v) == n && !strncmp(v, name, n))
                        return 1;
        }
        return 0;
}

int triage_migrate(const triage_pgconn_t *pg, const char *dir, ql_log_t *lg,
                   int *fatal, char *errstr, size_t errstr_size)
{
        *fatal = 1;
        char **names = NULL;
        size_t n = 0;
        if (list_files(dir, &names, &n, errstr, errstr_size))
                return -1;
        if (!n) {
                snprintf(errstr, errstr_size, "sql_dir %s: no NNN_*.sql files",
                         dir);
                free_names(names, n);
                return -1;
        }
        PGconn *c = triage_pgconn_connect(pg);
        if (!c || PQstatus(c) != CONNECTION_OK) {
                snprintf(errstr, errstr_size, "PostgreSQL connection: %s",
                         c ? PQerrorMessage(c) : "out of memory");
                errstr[strcspn(errstr, "\n")] = '\0';
                PQfinish(c);
                free_names(names, n);
                *fatal = 0;
                return -1;
        }
        PQsetNoticeProcessor(c, on_notice, lg);
        int applied = 0;
        char why[512];
        PGresult *done = NULL;
        if (exec_ok(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
                    PGRES_TUPLES_OK, why, sizeof(why)) ||
            exec_ok(c,
                    /* Created only when missing, so a daemon that is not
                     * the schema owner (a member of ql_triage) starts
                     * against an up-to-date database. */
                    "DO $$ BEGIN"
                    " IF to_regclass('ql.schema_migrations') IS NULL THEN"
                    "  CREATE SCHEMA IF NOT EXISTS ql;"
                    "  CREATE TABLE ql.schema_migrations ("
                    "   version text PRIMARY KEY,"
                    "   applied_at timestamptz NOT NULL DEFAULT now());"
                    " END IF; END $$",
                    PGRES_COMMAND_OK, why, sizeof(why))) {
                snprintf(errstr, errstr_size, "migrations: %s", why);
                *fatal = PQstatus(c) == CONNECTION_OK;
                applied = -1;
                goto out;
        }
        done = PQexec(c, "SELECT version FROM ql.schema_migrations");
        if (PQresultStatus(done) != PGRES_TUPLES_OK) {
                snprintf(errstr, errstr_size, "migrations: %s",
                         PQerrorMessage(c));
                errstr[strcspn(errstr, "\n")] = '\0';
                applied = -1;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                if (is_applied(done, names[i]))
                        continue;
                if (apply_one(c, dir, names[i], errstr, errstr_size)) {
                        *fatal = PQstatus(c) == CONNECTION_OK;
                        applied = -1;
                        goto out;
                }
                ql_info(lg, "migration %s applied", names[i]);
                applied++;
        }
out:
        PQclear(done);
        if (PQstatus(c) == CONNECTION_OK)
                exec_ok(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")",
                        PGRES_TUPLES_OK, why, sizeof(why));
        PQfinish(c);
        free_names(names, n);
        return applied;
}
