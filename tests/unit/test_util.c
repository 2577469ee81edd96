/* Unit tests for ql_util: reading a whole file (sizes around the buffer's
 * growth steps and the max), the clocks, JSON type names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ql_util.h"

/* A temporary file of n bytes (a repeating pattern); its path in path. */
static void make_file(char *path, size_t size, size_t n)
{
        snprintf(path, size, "/tmp/ql-test-util.XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        FILE *f = fdopen(fd, "wb");
        assert_non_null(f);
        for (size_t i = 0; i < n; i++)
                fputc('a' + (int)(i % 26), f);
        assert_int_equal(fclose(f), 0);
}

static void check_read(size_t n, size_t max, int ok)
{
        char path[64], err[256] = "";
        make_file(path, sizeof(path), n);
        size_t len = (size_t)-1;
        char *buf = ql_util_read_file(path, max, &len, err, sizeof(err));
        if (ok) {
                assert_non_null(buf);
                assert_int_equal(len, n);
                assert_int_equal(buf[n], '\0');
                for (size_t i = 0; i < n; i++)
                        if (buf[i] != 'a' + (int)(i % 26))
                                fail_msg("byte %zu of %zu differs", i, n);
        } else {
                assert_null(buf);
                assert_non_null(strstr(err, "over"));
                assert_non_null(strstr(err, path));
        }
        free(buf);
        unlink(path);
}

static void test_read_file(void **state)
{
        check_read(0, 0, 1);
        check_read(1, 0, 1);
        check_read(65536, 0, 1);
        check_read(65536 + 1, 0, 1);
        check_read(3 * 65536 + 17, 0, 1);
        /* At the max, and one over. */
        check_read(100, 100, 1);
        check_read(101, 100, 0);
        check_read(70000, 70000, 1);
        check_read(70001, 70000, 0);
        check_read(200000, 70000, 0);
        /* A max between the growth steps: the whole file, not the part
         * that fitted the last step. */
        check_read(69000, 70000, 1);
}

static void test_read_missing(void **state)
{
        char err[256] = "";
        assert_null(ql_util_read_file("/nonexistent/ql-util", 0, NULL, err,
                                      sizeof(err)));
        assert_non_null(strstr(err, "/nonexistent/ql-util: "));
}

static void test_clocks(void **state)
{
        int64_t a = ql_util_mono_ms();
        ql_util_sleep_ms(20);
        int64_t b = ql_util_mono_ms();
        assert_true(b - a >= 19);
        assert_true(ql_util_wall_ms() > 1600000000000LL);
        struct timespec now, later;
        ql_util_abstime(&now, 0);
        ql_util_abstime(&later, 1500);
        int64_t d = ((int64_t)later.tv_sec - now.tv_sec) * 1000 +
                    (later.tv_nsec - now.tv_nsec) / 1000000;
        assert_true(d >= 1499 && d < 1600);
        assert_true(later.tv_nsec >= 0 && later.tv_nsec < 1000000000L);
}

static void test_json_type_name(void **state)
{
        json_t *v = json_pack("{s:[], s:s, s:i, s:f, s:b, s:n}", "a", "s", "x",
                              "i", 1, "f", 1.5, "b", 1, "n");
        assert_string_equal(ql_util_json_type_name(v), "an object");
        assert_string_equal(ql_util_json_type_name(json_object_get(v, "a")),
                            "an array");
        assert_string_equal(ql_util_json_type_name(json_object_get(v, "s")),
                            "a string");
        assert_string_equal(ql_util_json_type_name(json_object_get(v, "i")),
                            "a number");
        assert_string_equal(ql_util_json_type_name(json_object_get(v, "f")),
                            "a number");
        assert_string_equal(ql_util_json_type_name(json_object_get(v, "b")),
                            "a boolean");
        assert_string_equal(ql_util_json_type_name(json_object_get(v, "n")),
                            "null");
        assert_string_equal(ql_util_json_type_name(NULL), "null");
        json_decref(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_read_file),
            cmocka_unit_test(test_read_missing),
            cmocka_unit_test(test_clocks),
            cmocka_unit_test(test_json_type_name),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
