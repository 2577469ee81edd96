/*
 * Fuzz target "jsonl": bytes as a lab's JSON Lines export, read by
 * ql_jsonlread (the spool's JSON parser: jansson per line, duplicate keys
 * refused, then ql_result_validate()), once in one chunk and once in small
 * chunks.  Beyond "no crash, no leak, no undefined behaviour" it checks that
 * every record is either a document that validates or a non-empty list of
 * well-formed problems, that lines strictly increase, and that the outcome
 * does not depend on how the bytes were cut.  The line limit is set low so
 * that over-long lines are reached too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_target.h"
#include "ql_jsonlread.h"
#include "ql_result.h"

typedef struct {
        json_t *out;
        size_t last_line;
        ql_result_opts_t validate;
} sink_t;

static json_t *problems_json(const ql_problems_t *p)
{
        json_t *a = json_array();
        for (size_t i = 0; p && i < p->n; i++) {
                const char *f = p->v[i].field, *m = p->v[i].message;
                FUZZ_CHECK(f && m && m[0] != '\0');
                FUZZ_CHECK(ql_result_utf8_valid(f, strlen(f)));
                FUZZ_CHECK(ql_result_utf8_valid(m, strlen(m)));
                json_array_append_new(a, json_pack("[ss]", f, m));
        }
        return a;
}

static int on_record(void *arg, const ql_jsonlread_rec_t *rec)
{
        sink_t *k = arg;
        FUZZ_CHECK(rec->line > k->last_line);
        k->last_line = rec->line;
        if (rec->report_no)
                FUZZ_CHECK(ql_result_utf8_valid(rec->report_no,
                                                strlen(rec->report_no)));
        if (rec->doc) {
                FUZZ_CHECK(!rec->errors || rec->errors->n == 0);
                FUZZ_CHECK(ql_result_validate(rec->doc, &k->validate, NULL,
                                              NULL) == 0);
        } else {
                FUZZ_CHECK(rec->errors && rec->errors->n > 0);
        }
        json_t *e =
            json_pack("{sI ss? sO? so so}", "line", (json_int_t)rec->line,
                      "report_no", rec->report_no, "doc", rec->doc, "errors",
                      problems_json(rec->errors), "warnings",
                      problems_json(rec->warnings));
        FUZZ_CHECK(e);
        json_array_append_new(k->out, e);
        return 0;
}

static json_t *read_jsonl(const uint8_t *data, size_t size, size_t chunk)
{
        ql_jsonlread_opts_t o = {
            .validate = {.uscc_mode = QL_USCC_WARN, .lab_code = "FJQI"},
            .max_line_bytes = 3000,
        };
        ql_jsonlread_t *r = ql_jsonlread_new(&o);
        FUZZ_CHECK(r);
        sink_t k = {.out = json_array(), .validate = o.validate};
        ql_jsonlread_rc_t rc = QL_JSONLREAD_OK;
        for (size_t off = 0; off < size && rc == QL_JSONLREAD_OK;
             off += chunk) {
                size_t n = size - off < chunk ? size - off : chunk;
                rc = ql_jsonlread_feed(r, (const char *)data + off, n,
                                       on_record, &k);
        }
        if (rc == QL_JSONLREAD_OK)
                rc = ql_jsonlread_end(r, on_record, &k);
        FUZZ_CHECK(rc == QL_JSONLREAD_OK);
        ql_jsonlread_destroy(r);
        return k.out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *whole = read_jsonl(data, size, size ? size : 1);
        json_t *cut = read_jsonl(data, size, 1 + size % 19);
        if (!json_equal(whole, cut)) {
                char *a = json_dumps(whole, JSON_COMPACT);
                char *b = json_dumps(cut, JSON_COMPACT);
                fprintf(stderr, "one chunk:   %s\nin %zu-byte chunks: %s\n", a,
                        1 + size % 19, b);
                free(a);
                free(b);
                FUZZ_CHECK(!"the outcome does not depend on chunking");
        }
        json_decref(whole);
        json_decref(cut);
        return 0;
}
