/*
 * ql_uscc: GB 32100 unified social credit code checks.  The code's alphabet
 * (31 characters, no I O S V Z) values characters 0..30; the organisation
 * code inside it (characters 9-17) is checked by GB 11714 over 0-9 and
 * A=10..Z=35.  Both checks and the generator that completes a code live here
 * so that the producers, the triage and ql-simlab agree on one definition.
 */
#include "ql_uscc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* Value of c in the GB 32100 alphabet, or -1. */
static int uscc_value(char c)
{
        const char *p = c ? strchr(uscc_alphabet, c) : NULL;
        return p ? (int)(p - uscc_alphabet) : -1;
}

/* Value of c for GB 11714 (0-9, A=10..Z=35), or -1. */
static int org_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'Z')
                return c - 'A' + 10;
        return -1;
}

/* GB 11714 check character over the 8 characters at s. */
static char org_check(const char *s)
{
        static const int w[8] = {3, 7, 9, 10, 5, 8, 4, 2};
        int sum = 0;
        for (int i = 0; i < 8; i++)
                sum += org_value(s[i]) * w[i];
        int c = 11 - sum % 11;
        return c == 10 ? 'X' : c == 11 ? '0' : (char)('0' + c);
}

/* GB 32100 check character over the 17 characters at s. */
static char uscc_check_char(const char *s)
{
        int sum = 0, w = 1;
        for (int i = 0; i < 17; i++) {
                sum += uscc_value(s[i]) * w;
                w = w * 3 % 31;
        }
        int c = 31 - sum % 31;
        return uscc_alphabet[c == 31 ? 0 : c];
}

static ql_uscc_status_t fail(ql_uscc_status_t st, char *errstr, size_t size,
                             const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static ql_uscc_status_t fail(ql_uscc_status_t st, char *errstr, size_t size,
                             const char *fmt, ...)
{
        if (errstr && size) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(errstr, size, fmt, ap);
                va_end(ap);
        }
        return st;
}

/* Structure only: length, alphabet, digits at 3-8. */
static int well_formed(const char *code, size_t n, char *errstr, size_t size)
{
        for (size_t i = 0; i < n; i++) {
                if (uscc_value(code[i]) < 0) {
                        fail(QL_USCC_BAD_FORMAT, errstr, size,
                             "credit code %s: character %d is not in the "
                             "GB 32100 alphabet",
                             code, (int)i + 1);
                        return 0;
                }
                if (i >= 2 && i <= 7 && (code[i] < '0' || code[i] > '9')) {
                        fail(QL_USCC_BAD_FORMAT, errstr, size,
                             "credit code %s: character %d must be a digit "
                             "(registration region)",
                             code, (int)i + 1);
                        return 0;
                }
        }
        return 1;
}

ql_uscc_status_t ql_uscc_check(const char *code, char *errstr,
                               size_t errstr_size)
{
        if (!code)
                return fail(QL_USCC_BAD_FORMAT, errstr, errstr_size,
                            "credit code missing");
        size_t n = strlen(code);
        if (n != 18) {
                if (errstr && errstr_size)
                        snprintf(errstr, errstr_size,
                                 "credit code has %zu characters, "
                                 "GB 32100 requires 18",
                                 n);
                return QL_USCC_BAD_FORMAT;
        }
        if (!well_formed(code, n, errstr, errstr_size))
                return QL_USCC_BAD_FORMAT;
        char oc = org_check(code + 8);
        if (code[16] != oc) {
                if (errstr && errstr_size)
                        snprintf(errstr, errstr_size,
                                 "credit code %s: organisation code check "
                                 "character (17th) should be %c",
                                 code, oc);
                return QL_USCC_BAD_ORG_CHECK;
        }
        char uc = uscc_check_char(code);
        if (code[17] != uc) {
                if (errstr && errstr_size)
                        snprintf(errstr, errstr_size,
                                 "credit code %s: check character (18th) "
                                 "should be %c",
                                 code, uc);
                return QL_USCC_BAD_CHECK;
        }
        return QL_USCC_OK;
}

int ql_uscc_mode_parse(const char *s)
{
        if (s && !strcmp(s, "strict"))
                return QL_USCC_STRICT;
        if (s && !strcmp(s, "warn"))
                return QL_USCC_WARN;
        return -1;
}

int ql_uscc_complete(char code[19])
{
        if (!well_formed(code, 16, NULL, 0))
                return -1;
        code[16] = org_check(code + 8);
        /* The organisation check may be X, which the GB 32100 alphabet
         * admits, so the overall check is always computable. */
        code[17] = uscc_check_char(code);
        code[18] = '\0';
        return 0;
}
