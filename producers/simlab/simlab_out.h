/*
 * simlab_out: writes result documents as a lab's export file would hold
 * them: JSONL (one compact UTF-8 JSON document per line) or CSV (a header
 * row, then one row per inspection item with the result-level columns
 * repeated, the columns and cell words of ql_csvmap, English or Chinese
 * headers, CRLF line ends).  Output is UTF-8, optionally with a BOM, or
 * GB18030 as Chinese Excel saves it (converted with iconv).  Each line is
 * assembled in memory and written whole; nothing else is kept.
 */
#ifndef SIMLAB_OUT_H
#define SIMLAB_OUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "ql_csvmap.h"

typedef enum { SIMLAB_JSONL, SIMLAB_CSV } simlab_format_t;
typedef enum { SIMLAB_UTF8, SIMLAB_GB18030 } simlab_encoding_t;

typedef struct simlab_out_s simlab_out_t;

/* A writer onto fp (borrowed: the caller closes it).  headers matters for
 * CSV only; bom for UTF-8 only.  NULL with errstr on failure. */
simlab_out_t *simlab_out_new(FILE *fp, simlab_format_t format,
                             ql_csv_lang_t headers, simlab_encoding_t encoding,
                             int bom, char *errstr, size_t errstr_size);

/* Write one document.  The BOM and the CSV header row go out before the
 * first.  -1 with errstr on a write or conversion error, or a document
 * that has no CSV form (a field of the wrong type). */
int simlab_out_write(simlab_out_t *o, const json_t *doc, char *errstr,
                     size_t errstr_size);

/* Write what is still owed (the BOM and header of an empty file) and
 * flush.  -1 with errstr on a write error. */
int simlab_out_finish(simlab_out_t *o, char *errstr, size_t errstr_size);

void simlab_out_destroy(simlab_out_t *o); /* accepts NULL */

#endif
