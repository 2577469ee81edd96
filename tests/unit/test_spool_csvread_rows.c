/*
 * Unit tests for spool_csvread's pass 2 on two threads' worth of readers: one
 * reader scans and parses pass 2 into rows, a second adopts the scan and
 * builds the reports from the rows.  For files with good reports, split
 * reports, disagreeing rows, stray cells, bad words, quoted line breaks,
 * CRLF and blank lines, the reports (line, report number, document, errors
 * and warnings) must be exactly those of one reader's feed(), however the
 * bytes are sliced; the builder's stop must stop it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spool_csvread.h"
#include "seen.h"

static const char header[] =
    "report_no,lab_code,lab_name,plan_id,level,kind,refers_to,stage,"
    "sampled_on,reported_at,enterprise_credit_code,enterprise_name,"
    "enterprise_region_code,enterprise_role,product_category,product_name,"
    "item_name,item_importance,item_safety,item_verdict,verdict\n";

#define ROW(report, cc, item, iv, verdict)                                              \
        report ",XMQI,厦门市产品质量监督检验院,P-1,DISTRICT,SUPERVISION,/," \
               "CIRCULATION,2026-02-10,2026-03-02T10:15:00+08:00," cc                   \
               ",厦门某某有限公司,350206,SELLER,儿童用品,积木," item                    \
               ",A,true," iv "," verdict "\n"

#define CC1 "91350200MA2YJ1XR9G"
#define CC2 "914403001922038216"

static const char body[] =
    "\n" ROW("R1", CC1, "小零件", "PASS", "CONFORMING")       /* */
    ROW("R1", CC1, "标识", "PASS", "CONFORMING")              /* */
    ROW("R2", CC2, "\"锐利\n边缘\"", "FAIL", "NONCONFORMING") /* */
    "\r\n" ROW("R3", CC1, "甲醛", "PASS", "CONFORMING")       /* */
    ROW("R2", CC2, "阻燃", "FAIL", "NONCONFORMING")           /* split */
    ROW("R4", CC1, "铅", "PASS", "CONFORMING")                /* */
    ROW("R4", CC2, "镉", "PASS", "CONFORMING")                /* disagree */
    ROW("R5", CC1, "温升", "良好", "CONFORMING")              /* bad word */
    "R6,XMQI,x,P-1,DISTRICT,SUPERVISION,/,CIRCULATION,2026-02-10,"
    "2026-03-02T10:15:00+08:00," CC1 ",y,350206,SELLER,c,n,i,A,true,PASS,"
    "CONFORMING,stray\n"                                             /* */
    ROW("R7", "914403001922038217", "接地", "FAIL", "NONCONFORMING") /* */
    "  \n" ROW("R8", CC2, "泄漏电流", "PASS", "CONFORMING");

/* Every report as one line of text (seen.h). */
static int record(void *arg, const spool_csvread_rec_t *rec)
{
        return seen_log_add(arg, rec->line, rec->report_no, rec->doc,
                            rec->errors, rec->warnings);
}

static const spool_csvread_opts_t opts = {.validate = {QL_USCC_STRICT, "XMQI"}};

static char *one_reader(const char *csv, size_t stop_after)
{
        seen_log_t lg = {.stop_after = stop_after};
        spool_csvread_t *r = spool_csvread_new(&opts);
        size_t len = strlen(csv);
        assert_int_equal(spool_csvread_scan(r, csv, len), SPOOL_CSVREAD_OK);
        assert_int_equal(spool_csvread_scan_end(r), SPOOL_CSVREAD_OK);
        if (spool_csvread_feed(r, csv, len, record, &lg) == SPOOL_CSVREAD_OK)
                spool_csvread_end(r, record, &lg);
        spool_csvread_destroy(r);
        return lg.text;
}

/* Pass 2 parsed slice bytes at a time, each slice's rows a batch. */
static char *two_readers(const char *csv, size_t slice, size_t stop_after,
                         spool_csvread_rc_t *last)
{
        seen_log_t lg = {.stop_after = stop_after};
        spool_csvread_t *a = spool_csvread_new(&opts),
                        *b = spool_csvread_new(&opts);
        size_t len = strlen(csv);
        assert_int_equal(spool_csvread_scan(a, csv, len), SPOOL_CSVREAD_OK);
        assert_int_equal(spool_csvread_scan_end(a), SPOOL_CSVREAD_OK);
        spool_csvread_adopt_scan(b, a);
        spool_csvread_rows_t *rows = spool_csvread_rows_new();
        spool_csvread_rc_t rc = SPOOL_CSVREAD_OK;
        for (size_t off = 0; off < len && rc == SPOOL_CSVREAD_OK;
             off += slice) {
                size_t n = len - off < slice ? len - off : slice;
                spool_csvread_rows_clear(rows);
                assert_int_equal(spool_csvread_feed_rows(a, csv + off, n, rows),
                                 SPOOL_CSVREAD_OK);
                rc = spool_csvread_take_rows(b, rows, record, &lg);
        }
        if (rc == SPOOL_CSVREAD_OK) {
                spool_csvread_rows_clear(rows);
                assert_int_equal(spool_csvread_end_rows(a, rows),
                                 SPOOL_CSVREAD_OK);
                rc = spool_csvread_take_rows(b, rows, record, &lg);
        }
        if (rc == SPOOL_CSVREAD_OK)
                rc = spool_csvread_take_end(b, record, &lg);
        *last = rc;
        spool_csvread_rows_destroy(rows);
        spool_csvread_destroy(a);
        spool_csvread_destroy(b);
        return lg.text;
}

static char *file_text(void)
{
        char *s;
        if (asprintf(&s, "%s%s", header, body) < 0)
                fail();
        return s;
}

static void test_same_reports_any_slicing(void **state)
{
        char *csv = file_text();
        char *want = one_reader(csv, 0);
        assert_non_null(want);
        /* The file's problems are all there: a split report, rows that
         * disagree, a bad word, a stray cell, a failed check character. */
        assert_non_null(strstr(want, "are not together"));
        assert_non_null(strstr(want, "disagree"));
        assert_non_null(strstr(want, "良好"));
        assert_non_null(strstr(want, "no column header"));
        assert_non_null(strstr(want, "R8|{"));
        const size_t slices[] = {1, 2, 7, 64, 333, 100000};
        for (size_t i = 0; i < sizeof(slices) / sizeof(slices[0]); i++) {
                spool_csvread_rc_t rc;
                char *got = two_readers(csv, slices[i], 0, &rc);
                assert_int_equal(rc, SPOOL_CSVREAD_OK);
                assert_string_equal(got, want);
                free(got);
        }
        free(want);
        free(csv);
}

static void test_builder_stops(void **state)
{
        char *csv = file_text();
        char *want = one_reader(csv, 3);
        spool_csvread_rc_t rc;
        char *got = two_readers(csv, 50, 3, &rc);
        assert_int_equal(rc, SPOOL_CSVREAD_STOPPED);
        assert_string_equal(got, want);
        free(got);
        free(want);
        free(csv);
}

/* Pass 1 in two halves split at m (just after a line feed), joined, or
 * continued by the first half when they cannot be; then pass 2 on the
 * first reader.  *joined (OUT) says which.  Returns the reports, or the
 * file's problems as "BAD line N: ...". */
static char *split_scan(const char *csv, size_t m, int *joined,
                        const spool_csvread_opts_t *o)
{
        seen_log_t lg = {0};
        size_t len = strlen(csv);
        spool_csvread_t *a = spool_csvread_new(o), *c = spool_csvread_new(o);
        spool_csvread_rc_t rc = spool_csvread_scan(a, csv, m);
        /* c: the header, a line at a time, then the second half */
        for (size_t off = 0; off < len && !spool_csvread_has_header(c);) {
                const char *nl = memchr(csv + off, '\n', len - off);
                size_t n = nl ? (size_t)(nl - (csv + off)) + 1 : len - off;
                assert_int_equal(spool_csvread_scan(c, csv + off, n),
                                 SPOOL_CSVREAD_OK);
                off += n;
        }
        assert_int_equal(spool_csvread_scan_resume(c), SPOOL_CSVREAD_OK);
        if (spool_csvread_scan(c, csv + m, len - m) == SPOOL_CSVREAD_OK)
                spool_csvread_scan_end(c);
        *joined = 0;
        if (rc == SPOOL_CSVREAD_OK)
                *joined = spool_csvread_scan_join(a, c, &rc);
        if (rc == SPOOL_CSVREAD_OK && !*joined) {
                rc = spool_csvread_scan(a, csv + m, len - m);
                if (rc == SPOOL_CSVREAD_OK)
                        rc = spool_csvread_scan_end(a);
        }
        if (rc == SPOOL_CSVREAD_OK) {
                rc = spool_csvread_feed(a, csv, len, record, &lg);
                if (rc == SPOOL_CSVREAD_OK)
                        spool_csvread_end(a, record, &lg);
        }
        if (rc == SPOOL_CSVREAD_BAD_FILE) {
                size_t line;
                char *e = seen_problems_text(spool_csvread_problems(a, &line));
                free(lg.text);
                if (asprintf(&lg.text, "BAD line %zu: %s", line, e) < 0)
                        fail();
                free(e);
        }
        spool_csvread_destroy(a);
        spool_csvread_destroy(c);
        return lg.text;
}

/* The same file scanned in one piece. */
static char *whole_scan(const char *csv, const spool_csvread_opts_t *o)
{
        seen_log_t lg = {0};
        size_t len = strlen(csv);
        spool_csvread_t *r = spool_csvread_new(o);
        spool_csvread_rc_t rc = spool_csvread_scan(r, csv, len);
        if (rc == SPOOL_CSVREAD_OK)
                rc = spool_csvread_scan_end(r);
        if (rc == SPOOL_CSVREAD_OK) {
                rc = spool_csvread_feed(r, csv, len, record, &lg);
                if (rc == SPOOL_CSVREAD_OK)
                        spool_csvread_end(r, record, &lg);
        }
        if (rc == SPOOL_CSVREAD_BAD_FILE) {
                size_t line;
                char *e = seen_problems_text(spool_csvread_problems(r, &line));
                free(lg.text);
                if (asprintf(&lg.text, "BAD line %zu: %s", line, e) < 0)
                        fail();
                free(e);
        }
        spool_csvread_destroy(r);
        return lg.text;
}

/* Split at every line feed: the same reports (or problems) as in one
 * piece; halves joined wherever the seam is not inside a quoted field. */
static void check_every_seam(const char *csv, const spool_csvread_opts_t *o,
                             size_t *joins, size_t *seams)
{
        char *want = whole_scan(csv, o);
        assert_non_null(want);
        for (const char *p = strchr(csv, '\n'); p; p = strchr(p + 1, '\n')) {
                size_t m = (size_t)(p - csv) + 1;
                int joined;
                char *got = split_scan(csv, m, &joined, o);
                assert_non_null(got);
                if (strcmp(got, want))
                        fail_msg("seam at %zu:\n%s\nwant\n%s", m, got, want);
                free(got);
                *joins += joined;
                ++*seams;
        }
        free(want);
}

static void test_split_scan_any_seam(void **state)
{
        size_t joins = 0, seams = 0;
        char *csv = file_text();
        check_every_seam(csv, &opts, &joins, &seams);
        /* only the seams inside the header or the quoted line break (and
         * none of a file's last line) cannot be joined */
        assert_true(joins + 3 >= seams);
        free(csv);

        /* A report in one run across the seam is not split; a report
         * whose second run is past the seam is. */
        char *two;
        if (asprintf(&two,
                     "%s" ROW("R1", CC1, "a", "PASS", "CONFORMING")
                         ROW("R1", CC1, "b", "PASS", "CONFORMING")
                             ROW("R2", CC1, "c", "PASS", "CONFORMING")
                                 ROW("R1", CC1, "d", "PASS", "CONFORMING"),
                     header) < 0)
                fail();
        check_every_seam(two, &opts, &joins, &seams);
        free(two);

        /* A row too long, and a quote never closed, past the seam: the
         * problem and its line as in one piece. */
        spool_csvread_opts_t small = opts;
        small.max_row_bytes = 400;
        char *bad;
        if (asprintf(&bad,
                     "%s" ROW("R1", CC1, "a", "PASS", "CONFORMING")
                         ROW("R2", CC1, "b", "PASS", "CONFORMING")
                             ROW("R3", CC1, "%0300d", "PASS", "CONFORMING")
                                 ROW("R4", CC1, "c", "PASS", "CONFORMING"),
                     header, 0) < 0)
                fail();
        char *want = whole_scan(bad, &small);
        assert_non_null(strstr(want, "BAD line 4: [: a row longer than"));
        free(want);
        check_every_seam(bad, &small, &joins, &seams);
        free(bad);
        if (asprintf(&bad,
                     "%s" ROW("R1", CC1, "a", "PASS", "CONFORMING")
                         ROW("R2", CC1, "b", "PASS",
                             "CONFORMING") "R3,\"never closed\n",
                     header) < 0)
                fail();
        check_every_seam(bad, &opts, &joins, &seams);
        free(bad);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_same_reports_any_slicing),
            cmocka_unit_test(test_builder_stops),
            cmocka_unit_test(test_split_scan_any_seam),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
