/*
 * Unit tests for spool_grow: the first capacity, doubling, contents kept across
 * a move, no-op when there is room, and requests whose byte count overflows
 * size_t refused with the array left as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "spool_grow.h"

static void test_first_and_doubling(void **state)
{
        int *v = NULL;
        size_t cap = 0;
        assert_int_equal(spool_grow(&v, &cap, 0, sizeof(*v)), 0);
        assert_null(v); /* nothing asked, nothing allocated */
        assert_int_equal(spool_grow(&v, &cap, 1, sizeof(*v)), 0);
        assert_non_null(v);
        assert_int_equal(cap, 64);
        for (int i = 0; i < 64; i++)
                v[i] = i * 7;
        /* Room already there: the array stays where it is. */
        int *before = v;
        assert_int_equal(spool_grow(&v, &cap, 64, sizeof(*v)), 0);
        assert_ptr_equal(v, before);
        assert_int_equal(cap, 64);
        /* One more doubles; far more doubles until it fits. */
        assert_int_equal(spool_grow(&v, &cap, 65, sizeof(*v)), 0);
        assert_int_equal(cap, 128);
        assert_int_equal(spool_grow(&v, &cap, 1000, sizeof(*v)), 0);
        assert_int_equal(cap, 1024);
        for (int i = 0; i < 64; i++)
                assert_int_equal(v[i], i * 7);
        v[1023] = 1; /* the whole capacity is usable (ASan checks) */
        free(v);
}

static void test_own_start(void **state)
{
        /* A capacity the caller set up is doubled from, not reset to 64. */
        char *s = malloc(10);
        assert_non_null(s);
        size_t cap = 10;
        assert_int_equal(spool_grow(&s, &cap, 11, 1), 0);
        assert_int_equal(cap, 20);
        free(s);
}

static void test_overflow_refused(void **state)
{
        double *v = NULL;
        size_t cap = 0;
        assert_int_equal(spool_grow(&v, &cap, 100, sizeof(*v)), 0);
        double *before = v;
        /* need * size one past SIZE_MAX: would wrap to a tiny block. */
        assert_int_equal(
            spool_grow(&v, &cap, SIZE_MAX / sizeof(*v) + 1, sizeof(*v)), -1);
        assert_int_equal(spool_grow(&v, &cap, SIZE_MAX, sizeof(*v)), -1);
        assert_int_equal(spool_grow(&v, &cap, (SIZE_MAX >> 1) + 2, 2), -1);
        assert_int_equal(spool_grow(&v, &cap, 200, SIZE_MAX), -1);
        /* A zero element size is a caller's mistake, refused. */
        assert_int_equal(spool_grow(&v, &cap, 1000, 0), -1);
        assert_ptr_equal(v, before);
        assert_int_equal(cap, 128);
        free(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_first_and_doubling),
            cmocka_unit_test(test_own_start),
            cmocka_unit_test(test_overflow_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
