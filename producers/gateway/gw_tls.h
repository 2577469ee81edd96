/*
 * gw_tls: the gateway's TLS certificate and key, and their replacement on
 * SIGHUP.  libmicrohttpd loads its certificate once, when it starts; so that
 * a renewed certificate takes effect without a restart, every new connection
 * is handed the credentials current when it opens (gw_tls_acquire() and
 * gw_tls_apply()) and keeps a reference to them until it closes.  A reload
 * loads the new files into new credentials and makes them current only if
 * both load and the key matches the certificate; otherwise the running ones
 * stay.  Credentials no longer current are freed when the last connection
 * holding them releases them.  Thread-safe.
 *
 * The TLS versions and ciphers are not here: they are libmicrohttpd's
 * priority string (tls_priorities), checked by gw_tls_check_priorities().
 */
#ifndef GW_TLS_H
#define GW_TLS_H

#include <stddef.h>

typedef struct gw_tls_s gw_tls_t;
typedef struct gw_tls_cred_s gw_tls_cred_t;

/* Load the PEM certificate (chain) and key.  NULL with errstr naming the
 * file and GnuTLS's reason when either is unreadable or they do not match. */
gw_tls_t *gw_tls_new(const char *cert_path, const char *key_path, char *errstr,
                     size_t errstr_size);

/* Free t and its current credentials.  Every credential acquired must have
 * been released first (the HTTP daemon stopped).  Accepts NULL. */
void gw_tls_destroy(gw_tls_t *t);

/* Load new files and make them current for connections opened from now
 * on.  0, or -1 with errstr; then the current credentials stay. */
int gw_tls_reload(gw_tls_t *t, const char *cert_path, const char *key_path,
                  char *errstr, size_t errstr_size);

/* One line on the current certificate for the log: subject, serial, SHA-256
 * fingerprint, expiry; and whether it has expired. */
void gw_tls_describe(gw_tls_t *t, char *buf, size_t size);

/* A reference to the current credentials; you own it: gw_tls_release(). */
gw_tls_cred_t *gw_tls_acquire(gw_tls_t *t);
void gw_tls_release(gw_tls_cred_t *c); /* accepts NULL */

/* Make a GnuTLS server session (gnutls_session_t, before its handshake) use
 * c's certificate.  c must stay acquired until the session is deinited. */
int gw_tls_apply(const gw_tls_cred_t *c, void *session);

/* The PEM texts c was loaded from (borrowed; they live as long as c). */
const char *gw_tls_cert_pem(const gw_tls_cred_t *c);
const char *gw_tls_key_pem(const gw_tls_cred_t *c);

/* 0 if GnuTLS accepts the priority string, else -1 with errstr quoting the
 * part it rejects. */
int gw_tls_check_priorities(const char *priorities, char *errstr,
                            size_t errstr_size);

#endif
