/*
 * Unit tests of ql_uscc: the contract's known-good and known-bad credit
 * codes, every single-character substitution of each good code (GB 32100's
 * mod-31 check with weights coprime to 31 must catch all of them), lengths,
 * the generator and the mode names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ql_uscc.h"

static const char *const valid_codes[] = {
    "914403001922038216", "91520000214434146R", "91440300708461136T",
    "91110108551385082Q", "91350200MA2YJ1XR9G",
};
#define N_VALID (sizeof(valid_codes) / sizeof(valid_codes[0]))

static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static void valid_codes_pass(void **state)
{
        (void)state;
        for (size_t i = 0; i < N_VALID; i++) {
                char err[256] = "untouched";
                assert_int_equal(
                    ql_uscc_check(valid_codes[i], err, sizeof(err)),
                    QL_USCC_OK);
        }
}

static void wrong_overall_check_fails(void **state)
{
        (void)state;
        char err[256] = "";
        assert_int_equal(ql_uscc_check("914403001922038217", err, sizeof(err)),
                         QL_USCC_BAD_CHECK);
        /* The message names the character it should have been. */
        assert_non_null(strstr(err, "18th"));
        assert_non_null(strstr(err, "should be 6"));
}

static void wrong_org_check_fails(void **state)
{
        (void)state;
        char err[256] = "";
        /* 17th character of 91350200MA2YJ1XR9G altered. */
        assert_int_equal(ql_uscc_check("91350200MA2YJ1XR8G", err, sizeof(err)),
                         QL_USCC_BAD_ORG_CHECK);
        assert_non_null(strstr(err, "should be 9"));
}

/* Each position, each other alphabet character and characters outside the
 * alphabet (letters GB 32100 leaves out, lower case, punctuation, a
 * high byte): every variant is rejected. */
static void every_substitution_is_caught(void **state)
{
        (void)state;
        static const char outside[] = "IOSVZaz-* \x80";
        size_t tried = 0;
        for (size_t k = 0; k < N_VALID; k++) {
                for (size_t pos = 0; pos < 18; pos++) {
                        char subst[64];
                        snprintf(subst, sizeof(subst), "%s%s", alphabet,
                                 outside);
                        for (const char *c = subst; *c; c++) {
                                char code[19];
                                memcpy(code, valid_codes[k], 19);
                                if (code[pos] == *c)
                                        continue;
                                code[pos] = *c;
                                ql_uscc_status_t st =
                                    ql_uscc_check(code, NULL, 0);
                                if (st == QL_USCC_OK)
                                        fail_msg("substitution %s accepted",
                                                 code);
                                tried++;
                        }
                }
        }
        /* 5 codes x 18 positions x (30 other alphabet chars + 11 outside) */
        assert_int_equal(tried, N_VALID * 18 * (30 + 11));
}

static void substitution_kinds(void **state)
{
        (void)state;
        /* A letter in the digit-only region part is a format error. */
        assert_int_equal(ql_uscc_check("91A403001922038216", NULL, 0),
                         QL_USCC_BAD_FORMAT);
        /* I, O, S, V, Z are not in the alphabet anywhere. */
        assert_int_equal(ql_uscc_check("91350200MA2YJ1XR9O", NULL, 0),
                         QL_USCC_BAD_FORMAT);
        assert_int_equal(ql_uscc_check("I1350200MA2YJ1XR9G", NULL, 0),
                         QL_USCC_BAD_FORMAT);
        /* Lower case is not accepted. */
        assert_int_equal(ql_uscc_check("91350200ma2yj1xr9g", NULL, 0),
                         QL_USCC_BAD_FORMAT);
}

static void lengths(void **state)
{
        (void)state;
        char err[256] = "";
        assert_int_equal(ql_uscc_check("91440300708461136", err, sizeof(err)),
                         QL_USCC_BAD_FORMAT);
        assert_non_null(strstr(err, "17"));
        assert_int_equal(ql_uscc_check("91440300708461136T0", err, sizeof(err)),
                         QL_USCC_BAD_FORMAT);
        assert_non_null(strstr(err, "19"));
        assert_int_equal(ql_uscc_check("", NULL, 0), QL_USCC_BAD_FORMAT);
        assert_int_equal(ql_uscc_check(NULL, err, sizeof(err)),
                         QL_USCC_BAD_FORMAT);
        /* A tiny error buffer is respected (and NUL-terminated). */
        char small[8];
        memset(small, 'x', sizeof(small));
        ql_uscc_check("914403001922038217", small, sizeof(small));
        assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void complete_produces_valid_codes(void **state)
{
        (void)state;
        /* Completing each valid code's first 16 characters gives it back. */
        for (size_t i = 0; i < N_VALID; i++) {
                char code[19];
                memcpy(code, valid_codes[i], 16);
                memset(code + 16, '?', 3);
                assert_int_equal(ql_uscc_complete(code), 0);
                assert_string_equal(code, valid_codes[i]);
        }
        /* Many generated bodies: every completion passes the check. */
        uint32_t x = 12345;
        for (int n = 0; n < 5000; n++) {
                char code[19] = "9135020";
                for (int i = 7; i < 16; i++) {
                        x = x * 1103515245u + 12345u;
                        code[i] = i == 7 ? (char)('0' + (x >> 16) % 10)
                                         : alphabet[(x >> 16) % 31];
                }
                assert_int_equal(ql_uscc_complete(code), 0);
                assert_int_equal(strlen(code), 18);
                char err[256] = "";
                if (ql_uscc_check(code, err, sizeof(err)) != QL_USCC_OK)
                        fail_msg("completed code %s rejected: %s", code, err);
        }
        /* Malformed first 16 characters are refused. */
        char bad[19] = "91A4030019220382";
        assert_int_equal(ql_uscc_complete(bad), -1);
        char bad2[19] = "913502O0MA2YJ1XR";
        assert_int_equal(ql_uscc_complete(bad2), -1);
}

static void mode_parse(void **state)
{
        (void)state;
        assert_int_equal(ql_uscc_mode_parse("strict"), QL_USCC_STRICT);
        assert_int_equal(ql_uscc_mode_parse("warn"), QL_USCC_WARN);
        assert_int_equal(ql_uscc_mode_parse("STRICT"), -1);
        assert_int_equal(ql_uscc_mode_parse(""), -1);
        assert_int_equal(ql_uscc_mode_parse("warning"), -1);
        assert_int_equal(ql_uscc_mode_parse(NULL), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(valid_codes_pass),
            cmocka_unit_test(wrong_overall_check_fails),
            cmocka_unit_test(wrong_org_check_fails),
            cmocka_unit_test(every_substitution_is_caught),
            cmocka_unit_test(substitution_kinds),
            cmocka_unit_test(lengths),
            cmocka_unit_test(complete_produces_valid_codes),
            cmocka_unit_test(mode_parse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
