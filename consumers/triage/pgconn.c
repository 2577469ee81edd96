/*
 * pgconn: the keyword/value arrays of pgconn.h, built once.  libpq reads
 * the arrays in order and lets a later value win, with the connection
 * string expanded where "dbname" stands: so the defaults before it give way
 * to what the operator wrote in QL_PG, and the password file after it wins
 * over a password written there.
 */
#include "pgconn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Placeholders of example configurations start so (the deployment's
 * database roles refuse them too). */
#define PLACEHOLDER  "change-me"
#define PASSWORD_MAX 1024

#define NDEFAULTS 7

struct triage_pgconn_s {
        const char *keys[NDEFAULTS + 3];
        const char *values[NDEFAULTS + 3];
        char *conninfo;
        char *password; /* from the file, or NULL */
};

static const char *const defaults[NDEFAULTS][2] = {
    {"connect_timeout", "5"},
    {"fallback_application_name", "ql-triage"},
    /* A peer that vanished (a network partition, a host gone) is noticed
     * in idle + interval * count seconds, and data left unacknowledged for
     * tcp_user_timeout gives up the connection. */
    {"keepalives", "1"},
    {"keepalives_idle", "10"},
    {"keepalives_interval", "5"},
    {"keepalives_count", "3"},
    {"tcp_user_timeout", "30000"},
};

static int is_placeholder(const char *password)
{
        return password && !strncmp(password, PLACEHOLDER, strlen(PLACEHOLDER));
}

/* The password the connection string carries, checked; 0 or -1. */
static int check_conninfo(const char *conninfo, char *errstr,
                          size_t errstr_size)
{
        char *why = NULL;
        PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
        if (!opts) {
                char clean[256];
                snprintf(clean, sizeof(clean), "%s",
                         why ? why : "out of memory");
                clean[strcspn(clean, "\n")] = '\0';
                snprintf(errstr, errstr_size,
                         "pg: not a libpq connection string: %s", clean);
                PQfreemem(why);
                return -1;
        }
        int bad = 0;
        for (PQconninfoOption *o = opts; o->keyword; o++)
                if (!strcmp(o->keyword, "password") && is_placeholder(o->val))
                        bad = 1;
        PQconninfoFree(opts);
        if (bad) {
                snprintf(errstr, errstr_size,
                         "pg: the connection string's password is a "
                         "placeholder ('" PLACEHOLDER "...'); set a real one");
                return -1;
        }
        return 0;
}

/* Read the password file: its one line, trailing newline stripped. */
static char *read_password(const char *path, char *errstr, size_t errstr_size)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                snprintf(errstr, errstr_size, "pg_password_file: %s: %s", path,
                         strerror(errno));
                return NULL;
        }
        char *buf = malloc(PASSWORD_MAX + 1);
        if (!buf) {
                fclose(f);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        size_t n = fread(buf, 1, PASSWORD_MAX + 1, f);
        int failed = ferror(f);
        fclose(f);
        const char *why = NULL;
        if (failed)
                why = "cannot be read";
        else if (n > PASSWORD_MAX)
                why = "is longer than a password can be (1024 bytes)";
        if (!why) {
                while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                        n--;
                buf[n] = '\0';
                if (!n)
                        why = "is empty";
                else if (memchr(buf, '\0', n) || strpbrk(buf, "\r\n"))
                        why = "must hold the password alone on one line";
                else if (is_placeholder(buf))
                        why = "holds a placeholder ('" PLACEHOLDER
                              "...'); set a real password";
        }
        if (why) {
                snprintf(errstr, errstr_size, "pg_password_file: %s %s", path,
                         why);
                /* The bytes may be a real password: do not leave them in
                 * freed memory. */
                memset(buf, 0, PASSWORD_MAX + 1);
                free(buf);
                return NULL;
        }
        return buf;
}

triage_pgconn_t *triage_pgconn_new(const triage_config_t *cfg, char *errstr,
                                   size_t errstr_size)
{
        if (check_conninfo(cfg->pg, errstr, errstr_size))
                return NULL;
        triage_pgconn_t *p = calloc(1, sizeof(*p));
        if (!p || !(p->conninfo = strdup(cfg->pg))) {
                free(p);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (cfg->pg_password_file && *cfg->pg_password_file &&
            !(p->password =
                  read_password(cfg->pg_password_file, errstr, errstr_size))) {
                triage_pgconn_destroy(p);
                return NULL;
        }
        size_t n = 0;
        for (size_t i = 0; i < NDEFAULTS; i++, n++) {
                p->keys[n] = defaults[i][0];
                p->values[n] = defaults[i][1];
        }
        p->keys[n] = "dbname";
        p->values[n++] = p->conninfo;
        if (p->password) {
                p->keys[n] = "password";
                p->values[n++] = p->password;
        }
        p->keys[n] = NULL;
        p->values[n] = NULL;
        return p;
}

void triage_pgconn_destroy(triage_pgconn_t *p)
{
        if (!p)
                return;
        if (p->password) {
                memset(p->password, 0, strlen(p->password));
                free(p->password);
        }
        free(p->conninfo);
        free(p);
}

const char *const *triage_pgconn_keys(const triage_pgconn_t *p)
{
        return p->keys;
}

const char *const *triage_pgconn_values(const triage_pgconn_t *p)
{
        return p->values;
}

PGconn *triage_pgconn_connect(const triage_pgconn_t *p)
{
        return PQconnectdbParams(p->keys, p->values, 1);
}
