/*
 * gw_tokens: parsing the token file into an immutable table and matching a
 * presented bearer token against it.  Parsing is strict -- a line that is not
 * exactly a lab code and 64 hex digits stops the load with the line's number
 * -- because a silently skipped line would lock a lab out without a word.
 * Matching hashes the token with SHA-256 (OpenSSL EVP) and compares the
 * digest with every entry using CRYPTO_memcmp, folding the result without a
 * branch on the data.
 */
#include "gw_tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIGEST_LEN   32
#define LINE_MAX_LEN 1024

typedef struct {
        char lab[GW_LAB_MAX + 1];
        unsigned char hash[DIGEST_LEN];
        unsigned line;
        ql_counter_t *requests;
} entry_t;

struct gw_tokens_s {
        entry_t *v;
        size_t n;
        size_t labs;
};

void gw_tokens_destroy(gw_tokens_t *t)
{
        if (!t)
                return;
        if (t->v)
                OPENSSL_cleanse(t->v, t->n * sizeof(*t->v));
        free(t->v);
        free(t);
}

static int is_lab_char(int c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
               (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static int hex_value(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int is_space(int c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Split off the next whitespace-separated word of *p; NULL at the end. */
static char *next_word(char **p, size_t *len)
{
        char *s = *p;
        while (*s && is_space((unsigned char)*s))
                s++;
        if (!*s)
                return NULL;
        char *e = s;
        while (*e && !is_space((unsigned char)*e))
                e++;
        *len = (size_t)(e - s);
        *p = e;
        return s;
}

/* Parse one line into *e.  Returns 1 for an entry, 0 for a blank or
 * comment line, -1 with why filled. */
static int parse_line(char *line, entry_t *e, char *why, size_t why_size)
{
        char *p = line;
        size_t lab_len, hex_len, rest_len;
        char *lab = next_word(&p, &lab_len);
        if (!lab || *lab == '#')
                return 0;
        char *hex = next_word(&p, &hex_len);
        char *rest = next_word(&p, &rest_len);
        if (!hex || (rest && *rest != '#')) {
                snprintf(why, why_size,
                         "expected 'LAB_CODE SHA256_HEX' (two words)");
                return -1;
        }
        if (lab_len > GW_LAB_MAX) {
                snprintf(why, why_size, "lab code longer than %d characters",
                         GW_LAB_MAX);
                return -1;
        }
        for (size_t i = 0; i < lab_len; i++)
                if (!is_lab_char((unsigned char)lab[i])) {
                        snprintf(why, why_size,
                                 "lab code may only hold letters, digits, "
                                 "'.', '_' and '-'");
                        return -1;
                }
        if (hex_len != 2 * DIGEST_LEN) {
                snprintf(why, why_size,
                         "the hash must be 64 hex digits (SHA-256), not %zu "
                         "characters",
                         hex_len);
                return -1;
        }
        for (size_t i = 0; i < DIGEST_LEN; i++) {
                int hi = hex_value((unsigned char)hex[2 * i]);
                int lo = hex_value((unsigned char)hex[2 * i + 1]);
                if (hi < 0 || lo < 0) {
                        snprintf(why, why_size,
                                 "the hash must be 64 hex digits (SHA-256)");
                        return -1;
                }
                e->hash[i] = (unsigned char)(hi << 4 | lo);
        }
        memcpy(e->lab, lab, lab_len);
        e->lab[lab_len] = '\0';
        return 1;
}

static int append(gw_tokens_t *t, size_t *cap, const entry_t *e)
{
        if (t->n == *cap) {
                size_t ncap = *cap ? 2 * *cap : 16;
                entry_t *v = realloc(t->v, ncap * sizeof(*v));
                if (!v)
                        return -1;
                t->v = v;
                *cap = ncap;
        }
        t->v[t->n++] = *e;
        return 0;
}

/* Check the file's mode on the open descriptor (no race with a rename). */
static int check_mode(int fd, const char *path, char *warn, size_t warn_size,
                      char *errstr, size_t errstr_size)
{
        struct stat st;
        if (fstat(fd, &st) != 0) {
                snprintf(errstr, errstr_size, "token file %s: %s", path,
                         strerror(errno));
                return -1;
        }
        if (!S_ISREG(st.st_mode)) {
                snprintf(errstr, errstr_size,
                         "token file %s: not a regular file", path);
                return -1;
        }
        if (st.st_mode & S_IWOTH) {
                snprintf(errstr, errstr_size,
                         "token file %s: writable by others (mode %04o); "
                         "anyone could add a token: chmod 600 it",
                         path, (unsigned)(st.st_mode & 07777));
                return -1;
        }
        if (warn && warn_size) {
                warn[0] = '\0';
                if (st.st_mode & (S_IRWXG | S_IRWXO))
                        snprintf(warn, warn_size,
                                 "token file %s is accessible by group or "
                                 "others (mode %04o); chmod 600 is advised",
                                 path, (unsigned)(st.st_mode & 07777));
        }
        return 0;
}

gw_tokens_t *gw_tokens_load(const char *path, ql_metrics_t *m, char *warn,
                            size_t warn_size, char *errstr, size_t errstr_size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                snprintf(errstr, errstr_size, "token file %s: %s", path,
                         strerror(errno));
                return NULL;
        }
        if (check_mode(fd, path, warn, warn_size, errstr, errstr_size)) {
                close(fd);
                return NULL;
        }
        FILE *f = fdopen(fd, "r");
        if (!f) {
                snprintf(errstr, errstr_size, "token file %s: %s", path,
                         strerror(errno));
                close(fd);
                return NULL;
        }
        /* fdopen() owns fd now. */
        gw_tokens_t *t = calloc(1, sizeof(*t));
        size_t cap = 0;
        char *line = NULL;
        size_t line_cap = 0;
        ssize_t got;
        unsigned lineno = 0;
        int failed = !t;
        if (!t)
                snprintf(errstr, errstr_size, "token file %s: out of memory",
                         path);
        while (!failed && (got = getline(&line, &line_cap, f)) >= 0) {
                size_t len = (size_t)got;
                lineno++;
                if (len && line[len - 1] == '\n')
                        line[--len] = '\0';
                if (len > LINE_MAX_LEN) {
                        snprintf(errstr, errstr_size,
                                 "token file %s:%u: line longer than %d bytes",
                                 path, lineno, LINE_MAX_LEN);
                        failed = 1;
                } else if (strlen(line) != len) {
                        snprintf(errstr, errstr_size,
                                 "token file %s:%u: NUL byte", path, lineno);
                        failed = 1;
                }
                entry_t e = {.line = lineno};
                char why[160];
                int rc = failed ? 0 : parse_line(line, &e, why, sizeof(why));
                if (rc < 0) {
                        snprintf(errstr, errstr_size, "token file %s:%u: %s",
                                 path, lineno, why);
                        failed = 1;
                } else if (rc > 0) {
                        for (size_t i = 0; i < t->n && !failed; i++)
                                if (!memcmp(t->v[i].hash, e.hash, DIGEST_LEN)) {
                                        snprintf(errstr, errstr_size,
                                                 "token file %s:%u: the same "
                                                 "token hash as line %u",
                                                 path, lineno, t->v[i].line);
                                        failed = 1;
                                }
                        if (!failed && append(t, &cap, &e)) {
                                snprintf(errstr, errstr_size,
                                         "token file %s: out of memory", path);
                                failed = 1;
                        }
                }
        }
        if (line) {
                OPENSSL_cleanse(line, line_cap);
                free(line);
        }
        if (!failed && ferror(f)) {
                snprintf(errstr, errstr_size, "token file %s: read error",
                         path);
                failed = 1;
        }
        fclose(f);
        if (!failed && t->n == 0) {
                snprintf(errstr, errstr_size,
                         "token file %s: no tokens (lines 'LAB_CODE "
                         "SHA256_HEX')",
                         path);
                failed = 1;
        }
        if (failed) {
                gw_tokens_destroy(t);
                return NULL;
        }
        for (size_t i = 0; i < t->n; i++) {
                int first = 1;
                for (size_t j = 0; j < i && first; j++)
                        first = strcmp(t->v[i].lab, t->v[j].lab) != 0;
                t->labs += (size_t)first;
                if (m) {
                        char labels[GW_LAB_MAX + 16];
                        snprintf(labels, sizeof(labels), "lab=\"%s\"",
                                 t->v[i].lab);
                        t->v[i].requests = ql_metrics_counter(
                            m, "ql_gateway_requests_by_lab_total",
                            "Authenticated push requests, by lab.", labels);
                }
        }
        return t;
}

size_t gw_tokens_count(const gw_tokens_t *t)
{
        return t ? t->n : 0;
}

size_t gw_tokens_labs(const gw_tokens_t *t)
{
        return t ? t->labs : 0;
}

int gw_tokens_match(const gw_tokens_t *t, const char *token, size_t len)
{
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int dlen = 0;
        if (!t || !EVP_Digest(token, len, digest, &dlen, EVP_sha256(), NULL) ||
            dlen != DIGEST_LEN)
                return -1;
        /* found starts as all ones (-1); each equal entry's index is folded
         * in with a mask, so every entry costs the same whatever matches. */
        uint32_t found = UINT32_MAX;
        for (size_t i = 0; i < t->n; i++) {
                uint32_t eq = (uint32_t)(CRYPTO_memcmp(digest, t->v[i].hash,
                                                       DIGEST_LEN) == 0);
                uint32_t mask = 0u - eq;
                found = (found & ~mask) | ((uint32_t)i & mask);
        }
        OPENSSL_cleanse(digest, sizeof(digest));
        return found == UINT32_MAX ? -1 : (int)found;
}

const char *gw_tokens_lab(const gw_tokens_t *t, int i)
{
        return t && i >= 0 && (size_t)i < t->n ? t->v[i].lab : NULL;
}

ql_counter_t *gw_tokens_counter(const gw_tokens_t *t, int i)
{
        return t && i >= 0 && (size_t)i < t->n ? t->v[i].requests : NULL;
}
