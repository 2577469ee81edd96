/*
 * bureau: record the bureau's region (QL_BUREAU_REGION) in the database at
 * start, where the case derivation reads it (ql.bureau, migration 015): a
 * seller's product made outside the region gets NOTIFY_PRODUCER_BUREAU
 * (SAMR Order No. 18, Art. 44 para. 2).  ql.set_bureau derives every plan
 * again when the region changes, so a changed setting reaches the whole
 * database at the first start after it; an unchanged one costs one call.
 */
#ifndef TRIAGE_BUREAU_H
#define TRIAGE_BUREAU_H

#include <stddef.h>

#include "pgconn.h"

/* Record `region` (a GB/T 2260 prefix, validated by the configuration).
 * 0, with *changed set when the database held another region; -1 with
 * errstr when the database cannot be reached or refuses. */
int triage_bureau_set(const triage_pgconn_t *pg, const char *region,
                      int *changed /* OUT */, char *errstr, size_t errstr_size);

#endif
