/*
 * Unit tests for spool_jsonlread on several readers: one splits the input into
 * batches of whole lines, two others read alternate batches.  The records
 * (line, report number, document, errors, warnings), put back in batch
 * order, must be exactly those of one reader's feed(), however the bytes
 * are sliced: blank lines, CRLF, a line too long (not held), invalid UTF-8,
 * not JSON, not an object, an invalid result, no final line feed.
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

#define DOC(no, cc)                                                                      \
        "{\"result_id\":\"XMQI:" no "\",\"report_no\":\"" no "\","                       \
        "\"lab\":{\"code\":\"XMQI\",\"name\":\"厦门市产品质量监督检验院\"}," \
        "\"plan_id\":\"P-1\",\"level\":\"DISTRICT\",\"kind\":\"SUPERVISION\","           \
        "\"stage\":\"CIRCULATION\",\"sampled_on\":\"2026-02-10\","                       \
        "\"reported_at\":\"2026-03-02T10:15:00+08:00\",\"enterprise\":{"                 \
        "\"credit_code\":\"" cc "\",\"name\":\"厦门某某有限公司\","              \
        "\"region_code\":\"350206\",\"role\":\"SELLER\"},"                               \
        "\"product\":{\"category\":\"儿童用品\",\"name\":\"积木\"},"               \
        "\"items\":[{\"name\":\"小零件\",\"importance\":\"A\",\"safety\":"            \
        "true,\"verdict\":\"PASS\"}],\"verdict\":\"CONFORMING\"}"

/* The input, with a line of more than max_line_bytes at line 4. */
static const char input_fmt[] = DOC(
    "R1",
    "91350200MA2YJ1XR9G") "\n"
                          "   \n" DOC(
                              "R2",
                              "914403001922038217") "\r\n"
                                                    "{\"too\":\"%01200d\"}\n"
                                                    "{\"bad\":\"\xff\"}\n"
                                                    "not json\n"
                                                    "[1,2]\n"
                                                    "\n" DOC("R3",
                                                             "91440300192203821"
                                                             "6") "\n"
                                                                  "{\"report_"
                                                                  "no\":\"R4\"}"
                                                                  "\n" DOC(
                                                                      "R5",
                                                                      "91350200"
                                                                      "MA2YJ1XR"
                                                                      "9G");

static int record(void *arg, const spool_jsonlread_rec_t *rec)
{
        return seen_log_add(arg, rec->line, rec->report_no, rec->doc,
                            rec->errors, rec->warnings);
}

static const spool_jsonlread_opts_t opts = {.validate = {QL_USCC_WARN, "XMQI"},
                                            .max_line_bytes = 1000};

static char *one_reader(const char *input, size_t slice)
{
        seen_log_t lg = {0};
        spool_jsonlread_t *r = spool_jsonlread_new(&opts);
        size_t len = strlen(input);
        for (size_t off = 0; off < len; off += slice) {
                size_t n = len - off < slice ? len - off : slice;
                assert_int_equal(
                    spool_jsonlread_feed(r, input + off, n, record, &lg),
                    SPOOL_JSONLREAD_OK);
        }
        assert_int_equal(spool_jsonlread_end(r, record, &lg),
                         SPOOL_JSONLREAD_OK);
        spool_jsonlread_destroy(r);
        return lg.text;
}

static char *three_readers(const char *input, size_t slice)
{
        seen_log_t lg = {0};
        spool_jsonlread_t *s = spool_jsonlread_new(&opts);
        spool_jsonlread_t *rd[2] = {spool_jsonlread_new(&opts),
                                    spool_jsonlread_new(&opts)};
        size_t len = strlen(input), turn = 0;
        for (size_t off = 0; off <= len; off += slice) {
                size_t n = len - off < slice ? len - off : slice;
                spool_jsonlread_lines_t *lines = spool_jsonlread_lines_new();
                assert_int_equal(spool_jsonlread_split(s, input + off, n,
                                                       off + n == len, lines),
                                 SPOOL_JSONLREAD_OK);
                if (spool_jsonlread_lines_count(lines))
                        assert_int_equal(
                            spool_jsonlread_take_lines(rd[turn++ % 2], lines,
                                                       record, &lg),
                            SPOOL_JSONLREAD_OK);
                spool_jsonlread_lines_destroy(lines);
                if (off + n == len)
                        break;
        }
        spool_jsonlread_destroy(s);
        spool_jsonlread_destroy(rd[0]);
        spool_jsonlread_destroy(rd[1]);
        return lg.text;
}

static void test_same_records_any_slicing(void **state)
{
        char *input;
        if (asprintf(&input, input_fmt, 0) < 0)
                fail();
        size_t len = strlen(input);
        char *want = one_reader(input, len);
        assert_non_null(want);
        /* every kind of line is there */
        assert_non_null(strstr(want, "1|R1|{"));
        assert_non_null(strstr(want, "3|R2|{")); /* accepted, warned */
        assert_non_null(strstr(want, "4|-|-|[: line longer than 1000 bytes"));
        assert_non_null(strstr(want, "not valid UTF-8"));
        assert_non_null(strstr(want, "not valid JSON"));
        assert_non_null(strstr(want, "must be a JSON object"));
        assert_non_null(strstr(want, "9|R3|{"));
        assert_non_null(strstr(want, "10|R4|-|")); /* rejected */
        assert_non_null(strstr(want, "11|R5|{"));  /* no final line feed */
        const size_t slices[] = {1, 3, 17, 64, 101, 500, 1500, len};
        for (size_t i = 0; i < sizeof(slices) / sizeof(slices[0]); i++) {
                char *a = one_reader(input, slices[i]);
                char *b = three_readers(input, slices[i]);
                assert_string_equal(a, want);
                assert_string_equal(b, want);
                free(a);
                free(b);
        }
        free(want);
        free(input);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_same_records_any_slicing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
