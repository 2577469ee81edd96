/*
 * What the streaming-reader targets (csv, jsonl) check of every record a
 * reader hands out, and the record kept as JSON, so that the outcome of one
 * reading can be compared with another of the same bytes cut differently.
 * spool_csvread and spool_jsonlread give records of the same shape (line,
 * report number, document or errors, warnings); each target's callback passes
 * the fields on.
 */
#ifndef QL_FUZZ_RECORD_SINK_H
#define QL_FUZZ_RECORD_SINK_H

#include <stddef.h>

#include <jansson.h>

#include "ql_result.h"

typedef struct {
        json_t *out;                 /* array: one entry per record; owned */
        size_t last_line;            /* line of the previous record */
        ql_result_opts_t validate;   /* what the reader validated with */
        int lines_strictly_increase; /* 1: one record per line (JSON Lines);
                                        0: lines only never go back */
} record_sink_t;

/* Problems as a JSON array of [field, message]; each checked to be
 * well-formed UTF-8 with a message.  The caller owns the array. */
json_t *record_sink_problems(const ql_problems_t *p);

/* Check one record (line order; a document that validates and no errors,
 * or no document and errors) and append it to k->out. */
void record_sink_add(record_sink_t *k, size_t line, const char *report_no,
                     json_t *doc, const ql_problems_t *errors,
                     const ql_problems_t *warnings);

/* Check that reading in one chunk and in cut_chunk-byte chunks gave the
 * same outcome, printing both (labelled what) before aborting if not.
 * Takes both references. */
void record_sink_same(json_t *whole, json_t *cut, const char *what,
                      size_t cut_chunk);

#endif
