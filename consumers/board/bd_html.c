/*
 * bd_html: escaping for element content, attribute values and URL
 * components (see bd_html.h).  Text is walked one UTF-8 sequence at a time;
 * what cannot be shown as it is becomes an entity or U+FFFD.
 */
#include "bd_html.h"

#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
        unsigned c = s[0];
        size_t len;
        unsigned min;
        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF) {
                len = 2;
                min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                min = 0x10000;
        } else {
                return 0;
        }
        if (len > n)
                return 0;
        unsigned cp = c & (0xFF >> (len + 1));
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        return len;
}

int bd_html_valid_utf8(const char *s, size_t n)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;
        while (i < n) {
                if (p[i] == 0)
                        return 0;
                size_t l = utf8_len(p + i, n - i);
                if (!l)
                        return 0;
                i += l;
        }
        return 1;
}

/* Escape for content (attr = 0) or a double- or single-quoted attribute
 * (attr = 1); both escape all five characters, so the two differ only in
 * how newlines are kept. */
static void escape(bd_buf_t *b, const char *s, size_t n, int attr)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0, run = 0; /* bytes [i - run, i) are safe as they are */
        while (i < n) {
                const char *rep = NULL;
                size_t l = 1;
                unsigned c = p[i];
                switch (c) {
                case '&':
                        rep = "&amp;";
                        break;
                case '<':
                        rep = "&lt;";
                        break;
                case '>':
                        rep = "&gt;";
                        break;
                case '"':
                        rep = "&quot;";
                        break;
                case '\'':
                        rep = "&#39;";
                        break;
                case '\t':
                        break;
                case '\n':
                        if (attr)
                                rep = "&#10;";
                        break;
                default:
                        if (c < 0x20 || c == 0x7F) {
                                rep = REPLACEMENT;
                        } else if (c >= 0x80) {
                                l = utf8_len(p + i, n - i);
                                if (!l) {
                                        rep = REPLACEMENT;
                                        l = 1;
                                }
                        }
                }
                if (rep) {
                        bd_buf_putn(b, s + i - run, run);
                        bd_buf_puts(b, rep);
                        run = 0;
                        i += l;
                } else {
                        run += l;
                        i += l;
                }
        }
        bd_buf_putn(b, s + n - run, run);
}

void bd_html_txtn(bd_buf_t *b, const char *s, size_t n)
{
        if (s)
                escape(b, s, n, 0);
}

void bd_html_txt(bd_buf_t *b, const char *s)
{
        if (s)
                escape(b, s, strlen(s), 0);
}

void bd_html_attr(bd_buf_t *b, const char *s)
{
        if (s)
                escape(b, s, strlen(s), 1);
}

void bd_html_url_arg(bd_buf_t *b, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        if (!s)
                return;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                unsigned c = *p;
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    c == '.' || c == '~') {
                        bd_buf_putc(b, (char)c);
                } else {
                        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
                        bd_buf_putn(b, e, 3);
                }
        }
}
