/*
 * Unit tests for spool_jsonlread: one record per non-blank line with its line
 * number, at every chunk size; blank lines and CRLF; lines that are not
 * UTF-8, not JSON, not an object, with duplicate keys or too long; a last
 * line without a line feed; validation problems; the callback's stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spool_jsonlread.h"
#include "seen.h"

static char *valid_line(const char *report_no, const char *credit_code)
{
        char path[4096];
        const char *src = getenv("QL_SRC");
        if (src && *src)
                snprintf(path, sizeof(path), "%s/tests/data/result_full.json",
                         src);
        else
                snprintf(path, sizeof(path),
                         "%s/../../tests/data/result_full.json",
                         QL_SOURCE_SCHEMA_DIR);
        json_error_t jerr;
        json_t *doc = json_load_file(path, 0, &jerr);
        if (!doc)
                fail_msg("%s: %s", path, jerr.text);
        char rid[128];
        snprintf(rid, sizeof(rid), "XMQI:%s", report_no);
        json_object_set_new(doc, "report_no", json_string(report_no));
        json_object_set_new(doc, "result_id", json_string(rid));
        json_object_set_new(json_object_get(doc, "enterprise"), "credit_code",
                            json_string(credit_code));
        char *s = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        return s;
}

static int collect(void *arg, const spool_jsonlread_rec_t *rec)
{
        return seen_add(arg, rec->line, rec->report_no, rec->doc, rec->errors);
}

static spool_jsonlread_rc_t read_text(const char *text, size_t len,
                                      size_t chunk,
                                      const spool_jsonlread_opts_t *o,
                                      seen_t *s)
{
        spool_jsonlread_t *r = spool_jsonlread_new(o);
        assert_non_null(r);
        spool_jsonlread_rc_t rc = SPOOL_JSONLREAD_OK;
        for (size_t off = 0; off < len && rc == SPOOL_JSONLREAD_OK;
             off += chunk)
                rc = spool_jsonlread_feed(r, text + off,
                                          off + chunk > len ? len - off : chunk,
                                          collect, s);
        if (rc == SPOOL_JSONLREAD_OK)
                rc = spool_jsonlread_end(r, collect, s);
        spool_jsonlread_destroy(r);
        return rc;
}

static char *mixed_file(size_t *len)
{
        char *a = valid_line("R1", "91350200MA2YJ1XR9G");
        char *b = valid_line("R2", "914403001922038217"); /* bad check */
        char *text = NULL;
        int n = asprintf(&text,
                         "%s\n"                /* 1 valid */
                         "\n  \r\n"            /* 2, 3 blank */
                         "%s\r\n"              /* 4 bad credit code, CRLF */
                         "{\"a\": \n"          /* 5 not JSON */
                         "[1, 2]\n"            /* 6 not an object */
                         "{\"a\":1,\"a\":2}\n" /* 7 duplicate key */
                         "\"bad \xff\"\n"      /* 8 not UTF-8 */
                         "%s",                 /* 9 valid, no line feed */
                         a, b, a);
        if (n < 0)
                fail();
        *len = (size_t)n;
        free(a);
        free(b);
        return text;
}

static void test_mixed(void **state)
{
        size_t len;
        char *text = mixed_file(&len);
        for (size_t chunk = 1; chunk <= len; chunk = chunk * 3 + 1) {
                seen_t s = {0};
                assert_int_equal(read_text(text, len, chunk, NULL, &s),
                                 SPOOL_JSONLREAD_OK);
                assert_int_equal(s.n, 7);
                size_t lines[] = {1, 4, 5, 6, 7, 8, 9};
                int valid[] = {1, 0, 0, 0, 0, 0, 1};
                for (size_t i = 0; i < 7; i++) {
                        assert_int_equal(s.line[i], lines[i]);
                        assert_int_equal(s.doc[i] != NULL, valid[i]);
                }
                assert_string_equal(s.report_no[1], "R2");
                assert_non_null(strstr(s.errors[1], "enterprise.credit_code"));
                assert_non_null(strstr(s.errors[2], "not valid JSON"));
                assert_non_null(strstr(s.errors[3], "must be a JSON object"));
                assert_non_null(strstr(s.errors[4], "duplicate"));
                assert_non_null(strstr(s.errors[5], "not valid UTF-8 text "
                                                    "(at byte 6"));
                seen_free(&s);
        }
        free(text);
}

static void test_lab_and_long_line(void **state)
{
        char *a = valid_line("R1", "91350200MA2YJ1XR9G");
        char *text = NULL;
        int n = asprintf(&text, "%s\n%s\n", a, a);
        assert_true(n > 0);
        /* Another lab's code. */
        seen_t s = {0};
        spool_jsonlread_opts_t o = {.validate = {QL_USCC_STRICT, "FJQI"}};
        assert_int_equal(read_text(text, (size_t)n, 100, &o, &s),
                         SPOOL_JSONLREAD_OK);
        assert_int_equal(s.n, 2);
        assert_null(s.doc[0]);
        assert_non_null(strstr(s.errors[0], "lab.code"));
        seen_free(&s);
        /* Lines over the limit are skipped, whole or in chunks. */
        for (size_t chunk = 7; chunk <= (size_t)n; chunk *= 5) {
                spool_jsonlread_opts_t small = {.max_line_bytes = 100};
                assert_int_equal(read_text(text, (size_t)n, chunk, &small, &s),
                                 SPOOL_JSONLREAD_OK);
                assert_int_equal(s.n, 2);
                assert_int_equal(s.line[1], 2);
                assert_non_null(strstr(s.errors[1], "longer than 100"));
                seen_free(&s);
        }
        /* Stop. */
        s.stop_after = 1;
        assert_int_equal(read_text(text, (size_t)n, 1000, NULL, &s),
                         SPOOL_JSONLREAD_STOPPED);
        assert_int_equal(s.n, 1);
        assert_non_null(s.doc[0]);
        seen_free(&s);
        free(text);
        free(a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_mixed),
            cmocka_unit_test(test_lab_and_long_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
