/*
 * Unit tests for ql_log: what reaches stderr for messages carrying text from
 * outside.  A file name holding a newline and a whole forged line comes out
 * as one line; control bytes, invisible characters and bytes that are not
 * UTF-8 never reach the output raw; values with spaces, '=' or quotes are
 * quoted.  Then, for thousands of generated messages of hostile bytes, the
 * text line is parsed back as logfmt by the parser below (exactly the four
 * fields, the message restored byte for byte) and the JSON line by jansson
 * (valid JSON, the message restored where it was UTF-8).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ql_log.h"

/* Everything one ql_log call writes to fd 2, NUL-terminated; free it. */
static char *capture(ql_log_t *lg, ql_log_level_t level, const char *msg,
                     size_t *len)
{
        FILE *tmp = tmpfile();
        assert_non_null(tmp);
        fflush(stderr);
        int saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
        ql_log(lg, level, "%s", msg);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        long n = ftell(tmp);
        assert_true(n >= 0);
        char *buf = malloc((size_t)n + 1);
        assert_non_null(buf);
        rewind(tmp);
        assert_int_equal(fread(buf, 1, (size_t)n, tmp), (size_t)n);
        buf[n] = '\0';
        fclose(tmp);
        *len = (size_t)n;
        return buf;
}

static size_t count_char(const char *s, size_t n, char c)
{
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                k += s[i] == c;
        return k;
}

/* One line, ended by its only newline, with no other control byte. */
static void assert_one_clean_line(const char *s, size_t n)
{
        assert_true(n > 0);
        assert_int_equal(s[n - 1], '\n');
        assert_int_equal(count_char(s, n, '\n'), 1);
        for (size_t i = 0; i + 1 < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x20 || c == 0x7F)
                        fail_msg("raw control byte 0x%02x at %zu in %s", c, i,
                                 s);
        }
}

/* The text line without its "ts=... " field (the time varies). */
static const char *after_ts(const char *line)
{
        assert_true(!strncmp(line, "ts=", 3));
        const char *sp = strchr(line, ' ');
        assert_non_null(sp);
        return sp + 1;
}

static void test_forged_line(void **state)
{
        ql_log_t *lg = ql_log_new("ql-spool", QL_LOG_INFO, QL_LOG_TEXT);
        char msg[256];
        snprintf(msg, sizeof(msg), "file %s: published 3",
                 "a\nts=2026-01-01T00:00:00.000Z level=error prog=ql-spool "
                 "msg=forged.csv");
        size_t n;
        char *out = capture(lg, QL_LOG_INFO, msg, &n);
        assert_one_clean_line(out, n);
        assert_string_equal(
            after_ts(out),
            "level=info prog=ql-spool msg=\"file a\\nts=2026-01-01T00:00:00."
            "000Z level=error prog=ql-spool msg=forged.csv: published 3\"\n");
        free(out);

        /* A carriage return would let a terminal overwrite the line. */
        out = capture(lg, QL_LOG_WARN, "x\rlevel=error msg=forged", &n);
        assert_one_clean_line(out, n);
        assert_string_equal(after_ts(out),
                            "level=warn prog=ql-spool "
                            "msg=\"x\\rlevel=error msg=forged\"\n");
        free(out);
        ql_log_destroy(lg);
}

static void test_text_escapes(void **state)
{
        ql_log_t *lg = ql_log_new("ql-spool", QL_LOG_DEBUG, QL_LOG_TEXT);
        static const struct {
                const char *in, *want;
        } cases[] = {
            {"ok", "msg=ok\n"},
            {"", "msg=\"\"\n"},
            {"a=b", "msg=\"a=b\"\n"},
            {"say \"hi\"", "msg=\"say \\\"hi\\\"\"\n"},
            {"back\\slash", "msg=\"back\\\\slash\"\n"},
            {"tab\there", "msg=\"tab\\there\"\n"},
            {"esc\x1b[31mred", "msg=\"esc\\x1b[31mred\"\n"},
            {"bell\x07 del\x7f nul-ish\x01", "msg=\"bell\\x07 del\\x7f "
                                             "nul-ish\\x01\"\n"},
            {"bad \xff\xfe utf8", "msg=\"bad \\xff\\xfe utf8\"\n"},
            {"cut \xe6\x96", "msg=\"cut \\xe6\\x96\"\n"},
            {"overlong\xc0\xaf", "msg=\"overlong\\xc0\\xaf\"\n"},
            {"surrogate\xed\xa0\x80", "msg=\"surrogate\\xed\\xa0\\x80\"\n"},
            /* Chinese text stays readable; a space still quotes. */
            {"文件.csv", "msg=文件.csv\n"},
            {"文件 已发布", "msg=\"文件 已发布\"\n"},
            {"全角\u3000空格", "msg=\"全角\u3000空格\"\n"},
            /* C1 CSI, right-to-left override, line separator, BOM */
            {"c1\xc2\x9b"
             "2J",
             "msg=\"c1\\u009b2J\"\n"},
            {"evil\u202etxt.csv", "msg=\"evil\\u202etxt.csv\"\n"},
            {"ls\u2028x", "msg=\"ls\\u2028x\"\n"},
            {"\ufeffbom", "msg=\"\\ufeffbom\"\n"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t n;
                char *out = capture(lg, QL_LOG_DEBUG, cases[i].in, &n);
                assert_one_clean_line(out, n);
                const char *m = strstr(out, " msg=");
                assert_non_null(m);
                if (strcmp(m + 1, cases[i].want))
                        fail_msg("case %zu: got %s want %s", i, m + 1,
                                 cases[i].want);
                free(out);
        }
        ql_log_destroy(lg);
}

static void test_prog_and_levels(void **state)
{
        ql_log_t *lg = ql_log_new("ql triage\n", QL_LOG_WARN, QL_LOG_TEXT);
        size_t n;
        char *out = capture(lg, QL_LOG_INFO, "hidden", &n);
        assert_int_equal(n, 0); /* below the level */
        free(out);
        out = capture(lg, QL_LOG_ERROR, "shown", &n);
        assert_one_clean_line(out, n);
        assert_string_equal(after_ts(out),
                            "level=error prog=\"ql triage\\n\" msg=shown\n");
        free(out);
        ql_log_destroy(lg);
}

/* ---- a logfmt reader, to parse the text lines back ---- */

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

static size_t utf8_put(uint32_t cp, char *out)
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xC0 | (cp >> 6));
                out[1] = (char)(0x80 | (cp & 0x3F));
                return 2;
        }
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
}

/* Parse key=value pairs of one line (without its newline) into keys[] and
 * vals[] (unescaped, with their lengths).  Returns the number of pairs, or
 * -1 if the line is not well-formed logfmt of this writer's kind. */
static int logfmt_parse(const char *s, char keys[][16], char vals[][20000],
                        size_t *vlen, int max)
{
        int k = 0;
        while (*s) {
                if (k == max)
                        return -1;
                const char *eq = strchr(s, '=');
                if (!eq || eq == s || eq - s >= 16)
                        return -1;
                memcpy(keys[k], s, (size_t)(eq - s));
                keys[k][eq - s] = '\0';
                for (const char *p = s; p < eq; p++)
                        if (*p == ' ' || *p == '"')
                                return -1;
                s = eq + 1;
                size_t n = 0;
                if (*s == '"') {
                        s++;
                        for (;;) {
                                if (!*s)
                                        return -1; /* unterminated */
                                if (*s == '"') {
                                        s++;
                                        break;
                                }
                                if (*s != '\\') {
                                        vals[k][n++] = *s++;
                                        continue;
                                }
                                s++;
                                switch (*s) {
                                case '"':
                                case '\\':
                                        vals[k][n++] = *s++;
                                        break;
                                case 'n':
                                        vals[k][n++] = '\n', s++;
                                        break;
                                case 'r':
                                        vals[k][n++] = '\r', s++;
                                        break;
                                case 't':
                                        vals[k][n++] = '\t', s++;
                                        break;
                                case 'x': {
                                        int h = hexval(s[1]), l = hexval(s[2]);
                                        if (h < 0 || l < 0)
                                                return -1;
                                        vals[k][n++] = (char)(h * 16 + l);
                                        s += 3;
                                        break;
                                }
                                case 'u': {
                                        uint32_t cp = 0;
                                        for (int i = 1; i <= 4; i++) {
                                                int v = hexval(s[i]);
                                                if (v < 0)
                                                        return -1;
                                                cp = cp * 16 + (uint32_t)v;
                                        }
                                        n += utf8_put(cp, vals[k] + n);
                                        s += 5;
                                        break;
                                }
                                default:
                                        return -1;
                                }
                        }
                } else {
                        while (*s && *s != ' ') {
                                if (*s == '"' || *s == '=' || *s == '\\')
                                        return -1; /* must have been quoted */
                                vals[k][n++] = *s++;
                        }
                        if (n == 0)
                                return -1;
                }
                vlen[k++] = n;
                if (*s == ' ')
                        s++;
                else if (*s)
                        return -1;
        }
        return k;
}

/* Deterministic hostile messages: bytes drawn mostly from the ones that
 * matter (space, '=', quotes, backslash, controls, UTF-8 pieces). */
static uint32_t rng = 12345;
static unsigned next_rand(void)
{
        rng = rng * 1103515245u + 12345u;
        return (rng >> 16) & 0x7FFF;
}

static size_t hostile(char *buf, size_t max)
{
        static const char *const pieces[] = {" ",
                                             "=",
                                             "\"",
                                             "\\",
                                             "\n",
                                             "\r",
                                             "\t",
                                             "\x1b[2J",
                                             "\x7f",
                                             "\x01",
                                             "\xff",
                                             "\xe6\x96",
                                             "文",
                                             "\xc2\x9b",
                                             "\xe2\x80\xae",
                                             "\xe2\x80\xa8",
                                             "\xef\xbb\xbf",
                                             "msg=",
                                             "level=error",
                                             "a",
                                             "\xc0\x80",
                                             "\xed\xa0\x80",
                                             "\xf4\x90\x80\x80",
                                             "ts=x"};
        size_t n = 0, parts = next_rand() % 12;
        for (size_t i = 0; i < parts; i++) {
                const char *p =
                    pieces[next_rand() % (sizeof(pieces) / sizeof(pieces[0]))];
                size_t l = strlen(p);
                if (n + l >= max)
                        break;
                memcpy(buf + n, p, l);
                n += l;
        }
        buf[n] = '\0';
        return n;
}

static char keys[8][16];
static char vals[8][20000];

static void test_text_round_trip(void **state)
{
        ql_log_t *lg = ql_log_new("ql-spool", QL_LOG_INFO, QL_LOG_TEXT);
        char msg[512];
        for (int iter = 0; iter < 3000; iter++) {
                size_t mlen = hostile(msg, sizeof(msg));
                size_t n;
                char *out = capture(lg, QL_LOG_INFO, msg, &n);
                assert_one_clean_line(out, n);
                out[n - 1] = '\0';
                size_t vlen[8];
                int k = logfmt_parse(out, keys, vals, vlen, 8);
                if (k != 4)
                        fail_msg("not 4 logfmt fields (%d): %s", k, out);
                assert_string_equal(keys[0], "ts");
                assert_string_equal(keys[1], "level");
                assert_string_equal(keys[2], "prog");
                assert_string_equal(keys[3], "msg");
                if (vlen[3] != mlen || memcmp(vals[3], msg, mlen))
                        fail_msg("message not restored from: %s", out);
                free(out);
        }
        ql_log_destroy(lg);
}

/* Where msg is valid UTF-8, JSON gives it back exactly; elsewhere each
 * byte that is not UTF-8 reads \xNN. */
static void test_json_any_bytes(void **state)
{
        ql_log_t *lg = ql_log_new("ql-gateway", QL_LOG_INFO, QL_LOG_JSON);
        char msg[512];
        for (int iter = 0; iter < 3000; iter++) {
                size_t mlen = hostile(msg, sizeof(msg));
                size_t n;
                char *out = capture(lg, QL_LOG_INFO, msg, &n);
                assert_one_clean_line(out, n);
                json_error_t err;
                json_t *o = json_loadb(out, n, 0, &err);
                if (!o)
                        fail_msg("not JSON (%s): %s", err.text, out);
                assert_int_equal(json_object_size(o), 4);
                assert_string_equal(
                    json_string_value(json_object_get(o, "level")), "info");
                assert_string_equal(
                    json_string_value(json_object_get(o, "prog")),
                    "ql-gateway");
                const char *m = json_string_value(json_object_get(o, "msg"));
                assert_non_null(m);
                json_t *probe = json_stringn(msg, mlen); /* NULL: not UTF-8 */
                if (probe)
                        assert_string_equal(m, msg);
                else
                        assert_non_null(strstr(m, "\\x"));
                json_decref(probe);
                json_decref(o);
                free(out);
        }
        /* the bytes alone, each of the 256 */
        for (int b = 1; b < 256; b++) {
                char one[2] = {(char)b, '\0'};
                size_t n;
                char *out = capture(lg, QL_LOG_INFO, one, &n);
                assert_one_clean_line(out, n);
                json_t *o = json_loadb(out, n, 0, NULL);
                if (!o)
                        fail_msg("byte 0x%02x: not JSON: %s", b, out);
                json_decref(o);
                free(out);
        }
        ql_log_destroy(lg);
}

/* The longest message of the worst bytes still makes one whole line. */
static void test_long_messages(void **state)
{
        static char msg[10000];
        memset(msg, 0xff, sizeof(msg) - 1);
        for (int f = 0; f < 2; f++) {
                ql_log_t *lg = ql_log_new("ql-spool", QL_LOG_INFO,
                                          f ? QL_LOG_JSON : QL_LOG_TEXT);
                size_t n;
                char *out = capture(lg, QL_LOG_INFO, msg, &n);
                assert_one_clean_line(out, n);
                assert_true(n > 4 * 4000); /* cut, but not dropped */
                if (f) {
                        json_t *o = json_loadb(out, n, 0, NULL);
                        assert_non_null(o);
                        json_decref(o);
                } else {
                        assert_int_equal(out[n - 2], '"');
                }
                free(out);
                ql_log_destroy(lg);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_forged_line),
            cmocka_unit_test(test_text_escapes),
            cmocka_unit_test(test_prog_and_levels),
            cmocka_unit_test(test_text_round_trip),
            cmocka_unit_test(test_json_any_bytes),
            cmocka_unit_test(test_long_messages),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
