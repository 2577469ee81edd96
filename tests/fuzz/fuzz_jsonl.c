/*
 * Fuzz target "jsonl": bytes as a lab's JSON Lines export, read by
 * spool_jsonlread (the spool's JSON parser: jansson per line, duplicate keys
 * refused, then ql_result_validate()), once in one chunk and once in small
 * chunks.  Beyond "no crash, no leak, no undefined behaviour" it checks that
 * every record is either a document that validates or a non-empty list of
 * well-formed problems, that lines strictly increase, and that the outcome
 * does not depend on how the bytes were cut.  The line limit is set low so
 * that over-long lines are reached too.
 */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fuzz_target.h"
#include "record_sink.h"
#include "spool_jsonlread.h"
#include "ql_result.h"

static int on_record(void *arg, const spool_jsonlread_rec_t *rec)
{
        record_sink_add(arg, rec->line, rec->report_no, rec->doc, rec->errors,
                        rec->warnings);
        return 0;
}

static json_t *read_jsonl(const uint8_t *data, size_t size, size_t chunk)
{
        spool_jsonlread_opts_t o = {
            .validate = {.uscc_mode = QL_USCC_WARN, .lab_code = "FJQI"},
            .max_line_bytes = 3000,
        };
        spool_jsonlread_t *r = spool_jsonlread_new(&o);
        FUZZ_CHECK(r);
        record_sink_t k = {.out = json_array(),
                           .validate = o.validate,
                           .lines_strictly_increase = 1};
        spool_jsonlread_rc_t rc = SPOOL_JSONLREAD_OK;
        for (size_t off = 0; off < size && rc == SPOOL_JSONLREAD_OK;
             off += chunk) {
                size_t n = size - off < chunk ? size - off : chunk;
                rc = spool_jsonlread_feed(r, (const char *)data + off, n,
                                          on_record, &k);
        }
        if (rc == SPOOL_JSONLREAD_OK)
                rc = spool_jsonlread_end(r, on_record, &k);
        FUZZ_CHECK(rc == SPOOL_JSONLREAD_OK);
        spool_jsonlread_destroy(r);
        return k.out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *whole = read_jsonl(data, size, size ? size : 1);
        json_t *cut = read_jsonl(data, size, 1 + size % 19);
        record_sink_same(whole, cut, "JSON Lines", 1 + size % 19);
        return 0;
}
