/* Unit tests for ql_time: civil dates, ISO 8601 timestamps with offsets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ql_time.h"

static void test_dates(void **state)
{
        int32_t d;
        assert_int_equal(ql_time_parse_date("1970-01-01", &d), 0);
        assert_int_equal(d, 0);
        assert_int_equal(ql_time_parse_date("2024-02-29", &d), 0);
        char buf[16];
        ql_time_format_date(d, buf, sizeof(buf));
        assert_string_equal(buf, "2024-02-29");
        assert_int_equal(ql_time_parse_date("2025-02-29", &d), -1);
        assert_int_equal(ql_time_parse_date("2025-13-01", &d), -1);
        assert_int_equal(ql_time_parse_date("2025-1-01", &d), -1);
        assert_int_equal(ql_time_parse_date("2025-01-01x", &d), -1);
        assert_int_equal(ql_time_parse_date("", &d), -1);
        /* Every day of several years round-trips. */
        for (int32_t x = 18000; x < 21000; x++) {
                ql_time_format_date(x, buf, sizeof(buf));
                assert_int_equal(ql_time_parse_date(buf, &d), 0);
                assert_int_equal(d, x);
        }
}

static void test_timestamps(void **state)
{
        int64_t ms, ms2;
        assert_int_equal(
            ql_time_parse_timestamp("2026-03-02T10:15:00+08:00", &ms), 0);
        assert_int_equal(ql_time_parse_timestamp("2026-03-02T02:15:00Z", &ms2),
                         0);
        assert_true(ms == ms2);
        assert_int_equal(
            ql_time_parse_timestamp("2026-03-02T02:15:00.250Z", &ms2), 0);
        assert_true(ms2 == ms + 250);
        assert_int_equal(ql_time_parse_timestamp("2026-03-02T10:15+0800", &ms2),
                         0);
        assert_true(ms2 == ms);
        /* No offset: ambiguous, rejected. */
        assert_int_equal(ql_time_parse_timestamp("2026-03-02T10:15:00", &ms2),
                         -1);
        assert_int_equal(ql_time_parse_timestamp("2026-03-02T25:15:00Z", &ms2),
                         -1);
        assert_int_equal(
            ql_time_parse_timestamp("2026-03-02T10:15:00+08:00junk", &ms2), -1);
        char buf[40];
        ql_time_format_timestamp(ms, 0, buf, sizeof(buf));
        assert_string_equal(buf, "2026-03-02T02:15:00.000Z");
        ql_time_format_timestamp(ms, 480, buf, sizeof(buf));
        assert_string_equal(buf, "2026-03-02T10:15:00.000+08:00");
        ql_time_format_timestamp(-1, 0, buf, sizeof(buf));
        assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_dates),
            cmocka_unit_test(test_timestamps),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
