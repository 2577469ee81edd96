/*
 * The record checks and the chunking comparison the csv and jsonl fuzz
 * targets share (record_sink.h).
 */
#include "record_sink.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"

json_t *record_sink_problems(const ql_problems_t *p)
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

void record_sink_add(record_sink_t *k, size_t line, const char *report_no,
                     json_t *doc, const ql_problems_t *errors,
                     const ql_problems_t *warnings)
{
        if (k->lines_strictly_increase)
                FUZZ_CHECK(line > k->last_line);
        else
                FUZZ_CHECK(line >= 1 && line >= k->last_line);
        k->last_line = line;
        if (report_no)
                FUZZ_CHECK(ql_result_utf8_valid(report_no, strlen(report_no)));
        if (doc) {
                FUZZ_CHECK(!errors || errors->n == 0);
                FUZZ_CHECK(ql_result_validate(doc, &k->validate, NULL, NULL) ==
                           0);
        } else {
                FUZZ_CHECK(errors && errors->n > 0);
        }
        json_t *e = json_pack("{sI ss? sO? so so}", "line", (json_int_t)line,
                              "report_no", report_no, "doc", doc, "errors",
                              record_sink_problems(errors), "warnings",
                              record_sink_problems(warnings));
        FUZZ_CHECK(e);
        json_array_append_new(k->out, e);
}

void record_sink_same(json_t *whole, json_t *cut, const char *what,
                      size_t cut_chunk)
{
        if (!json_equal(whole, cut)) {
                char *a = json_dumps(whole, JSON_COMPACT);
                char *b = json_dumps(cut, JSON_COMPACT);
                fprintf(stderr, "%s, one chunk:   %s\nin %zu-byte chunks: %s\n",
                        what, a, cut_chunk, b);
                free(a);
                free(b);
                FUZZ_CHECK(!"the outcome does not depend on chunking");
        }
        json_decref(whole);
        json_decref(cut);
}
