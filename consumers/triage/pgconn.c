/*
 * pgconn: the keyword/value arrays of pgconn.h, built once with ql_pg:
 * the defaults before QL_PG give way to what the operator wrote there, and
 * the password file after it wins over a password written there.
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

struct triage_pgconn_s {
        ql_pg_params_t params;
        char *conninfo;
        char *password; /* from the file, or NULL */
};

static const ql_pg_param_t defaults[] = {
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

#define NDEFAULTS (sizeof(defaults) / sizeof(defaults[0]))

static int is_placeholder(const char *password)
{
        return password && !strncmp(password, PLACEHOLDER, strlen(PLACEHOLDER));
}

static int placeholder_password(const char *keyword, const char *value)
{
        return !strcmp(keyword, "password") && is_placeholder(value);
}

/* The connection string parses, and the password it may carry is no
 * placeholder; 0 or -1. */
static int check_conninfo(const char *conninfo, char *errstr,
                          size_t errstr_size)
{
        char why[256];
        switch (ql_pg_check_conninfo(conninfo, placeholder_password, why,
                                     sizeof(why))) {
        case QL_PG_CONNINFO_OK:
                return 0;
        case QL_PG_CONNINFO_SYNTAX:
                why[strcspn(why, "\n")] = '\0';
                snprintf(errstr, errstr_size,
                         "pg: not a libpq connection string: %s",
                         *why ? why : "out of memory");
                return -1;
        case QL_PG_CONNINFO_REFUSED:
                break;
        }
        snprintf(errstr, errstr_size,
                 "pg: the connection string's password is a "
                 "placeholder ('" PLACEHOLDER "...'); set a real one");
        return -1;
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
        const ql_pg_param_t password = {"password", p->password};
        if (ql_pg_params_set(&p->params, defaults, NDEFAULTS, p->conninfo,
                             &password, p->password ? 1 : 0)) {
                triage_pgconn_destroy(p);
                snprintf(errstr, errstr_size, "pg: too many parameters");
                return NULL;
        }
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

const ql_pg_params_t *triage_pgconn_params(const triage_pgconn_t *p)
{
        return &p->params;
}

PGconn *triage_pgconn_connect(const triage_pgconn_t *p)
{
        return ql_pg_connect(&p->params);
}
