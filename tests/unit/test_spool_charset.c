/*
 * Unit tests for spool_charset: detection by BOM and by line votes (GB18030
 * text, UTF-8 text with a few broken lines, an ASCII file with one Latin-1
 * byte), and conversion to UTF-8 at every chunk boundary, with the BOM
 * dropped and invalid sequences turned into 0xFF bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spool_charset.h"

/* "报告编号,受检单位\n厦门市湖里区乐童母婴用品商行,é€😀\n" in GB18030: 2-byte
 * hanzi and punctuation, and 4-byte sequences (the emoji). */
static const unsigned char gb_text[] = {
    0xb1, 0xa8, 0xb8, 0xe6, 0xb1, 0xe0, 0xba, 0xc5, 0x2c, 0xca, 0xdc, 0xbc,
    0xec, 0xb5, 0xa5, 0xce, 0xbb, 0x0a, 0xcf, 0xc3, 0xc3, 0xc5, 0xca, 0xd0,
    0xba, 0xfe, 0xc0, 0xef, 0xc7, 0xf8, 0xc0, 0xd6, 0xcd, 0xaf, 0xc4, 0xb8,
    0xd3, 0xa4, 0xd3, 0xc3, 0xc6, 0xb7, 0xc9, 0xcc, 0xd0, 0xd0, 0x2c, 0xa8,
    0xa6, 0xa2, 0xe3, 0x94, 0x39, 0xfc, 0x36, 0x0a,
};
static const char utf8_text[] =
    "报告编号,受检单位\n厦门市湖里区乐童母婴用品商行,é€😀\n";

static spool_charset_t detect(const void *buf, size_t len, size_t chunk)
{
        spool_charset_sniff_t s;
        spool_charset_sniff_init(&s);
        const unsigned char *p = buf;
        for (size_t off = 0; off < len; off += chunk)
                if (spool_charset_sniff_feed(
                        &s, p + off, off + chunk > len ? len - off : chunk))
                        break;
        return spool_charset_sniff_result(&s);
}

/* Convert in chunks; returns a malloc'ed NUL-terminated string. */
static char *convert(spool_charset_t cs, const void *buf, size_t len,
                     size_t chunk, size_t *invalid)
{
        char why[128];
        spool_charset_conv_t *c = spool_charset_conv_new(cs, why, sizeof(why));
        assert_non_null(c);
        char *out = calloc(1, 4 * len + 16);
        size_t n = 0;
        const unsigned char *p = buf;
        for (size_t off = 0;; off += chunk) {
                size_t take = off >= len          ? 0
                              : off + chunk > len ? len - off
                                                  : chunk;
                const char *o;
                size_t olen;
                assert_int_equal(spool_charset_conv(c, p + off, take, take == 0,
                                                    &o, &olen, why,
                                                    sizeof(why)),
                                 0);
                memcpy(out + n, o, olen);
                n += olen;
                if (take == 0)
                        break;
        }
        if (invalid)
                *invalid = spool_charset_conv_invalid(c);
        spool_charset_conv_destroy(c);
        return out;
}

static void test_gb18030_detected_and_converted(void **state)
{
        for (size_t chunk = 1; chunk <= sizeof(gb_text); chunk++) {
                assert_int_equal(detect(gb_text, sizeof(gb_text), chunk),
                                 SPOOL_CHARSET_GB18030);
                size_t invalid = 99;
                char *u = convert(SPOOL_CHARSET_GB18030, gb_text,
                                  sizeof(gb_text), chunk, &invalid);
                assert_string_equal(u, utf8_text);
                assert_int_equal(invalid, 0);
                free(u);
        }
}

static void test_utf8_detected_passed_through(void **state)
{
        assert_int_equal(detect(utf8_text, strlen(utf8_text), 7),
                         SPOOL_CHARSET_UTF8);
        char *u =
            convert(SPOOL_CHARSET_UTF8, utf8_text, strlen(utf8_text), 3, NULL);
        assert_string_equal(u, utf8_text);
        free(u);
}

static void test_bom(void **state)
{
        char with_bom[256];
        snprintf(with_bom, sizeof(with_bom), "\xEF\xBB\xBF%s", utf8_text);
        assert_int_equal(detect(with_bom, strlen(with_bom), 1),
                         SPOOL_CHARSET_UTF8);
        for (size_t chunk = 1; chunk < 6; chunk++) {
                char *u = convert(SPOOL_CHARSET_UTF8, with_bom,
                                  strlen(with_bom), chunk, NULL);
                assert_string_equal(u, utf8_text);
                free(u);
        }
        /* A BOM prefix that is not a BOM is kept. */
        char *u = convert(SPOOL_CHARSET_UTF8,
                          "\xEF\xBB"
                          "A",
                          3, 1, NULL);
        assert_string_equal(u, "\xEF\xBB"
                               "A");
        free(u);
        /* GB18030's BOM wins over the votes and is dropped too. */
        unsigned char gb_bom[sizeof(gb_text) + 4] = {0x84, 0x31, 0x95, 0x33};
        memcpy(gb_bom + 4, gb_text, sizeof(gb_text));
        assert_int_equal(detect(gb_bom, sizeof(gb_bom), 2),
                         SPOOL_CHARSET_GB18030);
        u = convert(SPOOL_CHARSET_GB18030, gb_bom, sizeof(gb_bom), 64, NULL);
        assert_string_equal(u, utf8_text);
        free(u);
}

/* A UTF-8 file with one broken line is still UTF-8. */
static void test_utf8_with_a_broken_line(void **state)
{
        char text[512];
        snprintf(text, sizeof(text), "%s%s坏\xff\xfe行\n%s", utf8_text, "报告,",
                 utf8_text);
        assert_int_equal(detect(text, strlen(text), 16), SPOOL_CHARSET_UTF8);
        /* Passed through unchanged: the reader rejects the line. */
        char *u = convert(SPOOL_CHARSET_UTF8, text, strlen(text), 16, NULL);
        assert_string_equal(u, text);
        free(u);
}

/* A Latin-1 byte in ASCII text never reads as a Chinese character. */
static void test_latin1_not_gb(void **state)
{
        const char text[] = "name,city\ncaf\xe9t,Paris\nfoo,bar\n";
        assert_int_equal(detect(text, strlen(text), 4), SPOOL_CHARSET_UTF8);
        const char only_ascii[] = "a,b\nc,d\n";
        assert_int_equal(detect(only_ascii, strlen(only_ascii), 4),
                         SPOOL_CHARSET_UTF8);
        assert_int_equal(detect("", 0, 1), SPOOL_CHARSET_UTF8);
}

/* A head of ASCII longer than the sniffing limit does not decide alone. */
static void test_long_ascii_head(void **state)
{
        size_t head = SPOOL_CHARSET_SNIFF_MAX + 100, n = head + sizeof(gb_text);
        unsigned char *buf = malloc(n);
        assert_non_null(buf);
        for (size_t i = 0; i < head; i++)
                buf[i] = i % 64 == 63 ? '\n' : 'a';
        memcpy(buf + head, gb_text, sizeof(gb_text));
        assert_int_equal(detect(buf, n, 65536), SPOOL_CHARSET_GB18030);
        free(buf);
}

static void test_invalid_gb18030_marked(void **state)
{
        /* 0x80 and 0xFF are never valid; a lead byte before ',' is not a
         * character either; a lead byte at the very end is incomplete. */
        unsigned char bad[] = {0xb1, 0xa8, 0x80, 'a', 0xff,
                               0x81, ',',  'b',  0xb1};
        size_t invalid;
        char *u = convert(SPOOL_CHARSET_GB18030, bad, sizeof(bad), 1, &invalid);
        assert_string_equal(u, "报\xff"
                               "a\xff\xff,b\xff");
        assert_int_equal(invalid, 4);
        free(u);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_gb18030_detected_and_converted),
            cmocka_unit_test(test_utf8_detected_passed_through),
            cmocka_unit_test(test_bom),
            cmocka_unit_test(test_utf8_with_a_broken_line),
            cmocka_unit_test(test_latin1_not_gb),
            cmocka_unit_test(test_long_ascii_head),
            cmocka_unit_test(test_invalid_gb18030_marked),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
