/*
 * gw_tls: certificate credentials, reference-counted so that a reload can
 * swap them while connections opened before it still use the old ones.  The
 * current credentials hold one reference for gw_tls_t itself and one more
 * per connection that acquired them; the last release frees them (the key's
 * PEM text is wiped first).
 */
#include "gw_tls.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PEM_MAX (1024 * 1024) /* a certificate chain or key file, at most */

struct gw_tls_cred_s {
        _Atomic unsigned refs;
        gnutls_certificate_credentials_t x509;
        char *cert_pem, *key_pem;
        size_t key_len;
        char about[512]; /* gw_tls_describe() */
};

struct gw_tls_s {
        pthread_mutex_t lock;
        gw_tls_cred_t *current;
};

static void cred_free(gw_tls_cred_t *c)
{
        if (c->x509)
                gnutls_certificate_free_credentials(c->x509);
        free(c->cert_pem);
        if (c->key_pem) {
                explicit_bzero(c->key_pem, c->key_len);
                free(c->key_pem);
        }
        free(c);
}

void gw_tls_release(gw_tls_cred_t *c)
{
        if (c && atomic_fetch_sub(&c->refs, 1) == 1)
                cred_free(c);
}

/* The whole file as a NUL-terminated string (libmicrohttpd wants one). */
static char *read_pem(const char *what, const char *path, size_t *len,
                      char *errstr, size_t errstr_size)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                snprintf(errstr, errstr_size, "%s: %s: %s", what, path,
                         strerror(errno));
                return NULL;
        }
        char *buf = malloc(PEM_MAX + 1);
        size_t n = buf ? fread(buf, 1, PEM_MAX + 1, f) : 0;
        int bad = !buf || ferror(f);
        fclose(f);
        if (bad || n == 0 || n > PEM_MAX) {
                snprintf(errstr, errstr_size, "%s: %s: %s", what, path,
                         !buf     ? "out of memory"
                         : bad    ? "cannot read"
                         : n == 0 ? "empty"
                                  : "larger than 1 MiB");
                free(buf);
                return NULL;
        }
        buf[n] = '\0';
        *len = n;
        return buf;
}

/* c->about: what the log says about the certificate. */
static void describe(gw_tls_cred_t *c)
{
        gnutls_datum_t der;
        gnutls_x509_crt_t crt = NULL;
        snprintf(c->about, sizeof(c->about), "certificate (not parsed)");
        if (gnutls_certificate_get_crt_raw(c->x509, 0, 0, &der) < 0 ||
            gnutls_x509_crt_init(&crt) < 0)
                return;
        if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) < 0) {
                gnutls_x509_crt_deinit(crt);
                return;
        }
        unsigned char serial[40], fpr[32];
        size_t serial_len = sizeof(serial), fpr_len = sizeof(fpr);
        char serial_hex[2 * sizeof(serial) + 1] = "?";
        char fpr_hex[3 * sizeof(fpr)] = "?";
        if (gnutls_x509_crt_get_serial(crt, serial, &serial_len) == 0)
                for (size_t i = 0; i < serial_len; i++)
                        snprintf(serial_hex + 2 * i, 3, "%02x", serial[i]);
        if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fpr,
                                            &fpr_len) == 0)
                for (size_t i = 0, at = 0; i < fpr_len; i++)
                        at +=
                            (size_t)snprintf(fpr_hex + at, sizeof(fpr_hex) - at,
                                             "%s%02X", i ? ":" : "", fpr[i]);
        gnutls_datum_t dn = {NULL, 0};
        gnutls_x509_crt_get_dn3(crt, &dn, 0);
        time_t until = gnutls_x509_crt_get_expiration_time(crt);
        char until_text[32] = "?";
        struct tm tm;
        if (until != (time_t)-1 && gmtime_r(&until, &tm))
                strftime(until_text, sizeof(until_text), "%Y-%m-%dT%H:%M:%SZ",
                         &tm);
        snprintf(c->about, sizeof(c->about),
                 "certificate \"%.200s\", serial %s, SHA-256 %s, valid until "
                 "%s%s",
                 dn.data ? (const char *)dn.data : "?", serial_hex, fpr_hex,
                 until_text,
                 until != (time_t)-1 && until < time(NULL) ? " (EXPIRED)" : "");
        gnutls_free(dn.data);
        gnutls_x509_crt_deinit(crt);
}

static gw_tls_cred_t *cred_load(const char *cert_path, const char *key_path,
                                char *errstr, size_t errstr_size)
{
        gw_tls_cred_t *c = calloc(1, sizeof(*c));
        if (!c) {
                snprintf(errstr, errstr_size, "tls_cert: out of memory");
                return NULL;
        }
        atomic_init(&c->refs, 1);
        size_t cert_len;
        if (!(c->cert_pem = read_pem("tls_cert", cert_path, &cert_len, errstr,
                                     errstr_size)) ||
            !(c->key_pem = read_pem("tls_key", key_path, &c->key_len, errstr,
                                    errstr_size))) {
                cred_free(c);
                return NULL;
        }
        int rc = gnutls_certificate_allocate_credentials(&c->x509);
        if (rc == 0) {
                gnutls_datum_t cert = {(unsigned char *)c->cert_pem,
                                       (unsigned)cert_len};
                gnutls_datum_t key = {(unsigned char *)c->key_pem,
                                      (unsigned)c->key_len};
                /* GnuTLS checks here that the key is the certificate's. */
                rc = gnutls_certificate_set_x509_key_mem2(
                    c->x509, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
        }
        if (rc < 0) {
                snprintf(errstr, errstr_size,
                         "tls_cert, tls_key: %s with %s: %s", cert_path,
                         key_path, gnutls_strerror(rc));
                cred_free(c);
                return NULL;
        }
        describe(c);
        return c;
}

gw_tls_t *gw_tls_new(const char *cert_path, const char *key_path, char *errstr,
                     size_t errstr_size)
{
        gw_tls_t *t = calloc(1, sizeof(*t));
        if (!t) {
                snprintf(errstr, errstr_size, "tls_cert: out of memory");
                return NULL;
        }
        if (!(t->current =
                  cred_load(cert_path, key_path, errstr, errstr_size))) {
                free(t);
                return NULL;
        }
        pthread_mutex_init(&t->lock, NULL);
        return t;
}

void gw_tls_destroy(gw_tls_t *t)
{
        if (!t)
                return;
        gw_tls_release(t->current);
        pthread_mutex_destroy(&t->lock);
        free(t);
}

int gw_tls_reload(gw_tls_t *t, const char *cert_path, const char *key_path,
                  char *errstr, size_t errstr_size)
{
        gw_tls_cred_t *c = cred_load(cert_path, key_path, errstr, errstr_size);
        if (!c)
                return -1;
        pthread_mutex_lock(&t->lock);
        gw_tls_cred_t *old = t->current;
        t->current = c;
        pthread_mutex_unlock(&t->lock);
        gw_tls_release(old);
        return 0;
}

void gw_tls_describe(gw_tls_t *t, char *buf, size_t size)
{
        pthread_mutex_lock(&t->lock);
        snprintf(buf, size, "%s", t->current->about);
        pthread_mutex_unlock(&t->lock);
}

gw_tls_cred_t *gw_tls_acquire(gw_tls_t *t)
{
        pthread_mutex_lock(&t->lock);
        gw_tls_cred_t *c = t->current;
        atomic_fetch_add(&c->refs, 1);
        pthread_mutex_unlock(&t->lock);
        return c;
}

int gw_tls_apply(const gw_tls_cred_t *c, void *session)
{
        return gnutls_credentials_set((gnutls_session_t)session,
                                      GNUTLS_CRD_CERTIFICATE, c->x509) < 0
                   ? -1
                   : 0;
}

const char *gw_tls_cert_pem(const gw_tls_cred_t *c)
{
        return c->cert_pem;
}

const char *gw_tls_key_pem(const gw_tls_cred_t *c)
{
        return c->key_pem;
}

int gw_tls_check_priorities(const char *priorities, char *errstr,
                            size_t errstr_size)
{
        gnutls_priority_t p;
        const char *at = NULL;
        int rc = gnutls_priority_init(&p, priorities, &at);
        if (rc < 0) {
                snprintf(errstr, errstr_size,
                         "tls_priorities: GnuTLS does not accept '%.200s' "
                         "(at '%.80s'): %s",
                         priorities, at ? at : "", gnutls_strerror(rc));
                return -1;
        }
        gnutls_priority_deinit(p);
        return 0;
}
