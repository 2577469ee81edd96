/*
 * gw_tokens: the gateway's table of bearer tokens, read from the token file
 * (QL_GATEWAY_TOKENS).  The file holds one `LAB_CODE SHA256_HEX` pair a line
 * -- the lab's code and the SHA-256 of its token in hex -- with blank lines
 * and `#` comments allowed; the tokens themselves are never stored.  A lab
 * may have several lines (token rotation); one hash may not appear twice.
 * A presented token is hashed and compared with every entry in constant
 * time, so the answer's timing says nothing about which entry (if any) is
 * close.  A table is immutable once loaded and may be read from any thread;
 * reloading builds a new table and the caller swaps it in.
 */
#ifndef GW_TOKENS_H
#define GW_TOKENS_H

#include <stddef.h>

#include "ql_metrics.h"

/* Longest lab code; codes are [A-Za-z0-9._-]. */
#define GW_LAB_MAX 64

typedef struct gw_tokens_s gw_tokens_t;

/* Load the token file at path.  On success returns the table; if the file
 * is readable by group or others, warn (when not NULL) says so, else it is
 * "".  A file writable by others, an unreadable file, a bad line (named by
 * its number) or a file without any token is an error: NULL, reason in
 * errstr.  If m is not NULL a ql_gateway_requests_by_lab_total counter is
 * registered for each lab (the registry owns it). */
gw_tokens_t *gw_tokens_load(const char *path, ql_metrics_t *m, char *warn,
                            size_t warn_size, char *errstr, size_t errstr_size);
void gw_tokens_destroy(gw_tokens_t *t); /* accepts NULL */

/* Number of entries and of distinct labs. */
size_t gw_tokens_count(const gw_tokens_t *t);
size_t gw_tokens_labs(const gw_tokens_t *t);

/* The entry whose hash is SHA-256(token), or -1.  Every entry is compared,
 * in constant time, whether or not an earlier one matched. */
int gw_tokens_match(const gw_tokens_t *t, const char *token, size_t len);

/* Entry i's lab code (borrowed; lives as long as t) and its request
 * counter (owned by the metrics registry; NULL without one). */
const char *gw_tokens_lab(const gw_tokens_t *t, int i);
ql_counter_t *gw_tokens_counter(const gw_tokens_t *t, int i);

#endif
