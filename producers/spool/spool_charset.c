/*
 * spool_charset: detection of UTF-8 versus GB18030 by line votes, and the
 * streaming conversion to UTF-8 (iconv for GB18030, a BOM strip for UTF-8).
 * The sniffer walks two byte-level state machines side by side, one for
 * UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) and
 * one for the GB18030 byte structure (1, 2 or 4 bytes), and casts a line's
 * vote at its line feed.
 */
#include "spool_charset.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *spool_charset_name(spool_charset_t cs)
{
        return cs == SPOOL_CHARSET_GB18030 ? "GB18030" : "UTF-8";
}

/* ------------------------------------------------------------------------
 * Detection
 */

void spool_charset_sniff_init(spool_charset_sniff_t *s)
{
        memset(s, 0, sizeof(*s));
        s->result = SPOOL_CHARSET_UTF8;
}

static void line_reset(spool_charset_sniff_t *s)
{
        s->nonascii = s->utf8_bad = s->gb_bad = s->gb_core = 0;
        s->utf8_need = 0;
        s->gb_state = 0;
}

static void line_vote(spool_charset_sniff_t *s)
{
        if (s->utf8_need)
                s->utf8_bad = 1;
        if (s->gb_state)
                s->gb_bad = 1;
        if (s->nonascii) {
                if (!s->utf8_bad)
                        s->utf8_votes++;
                else if (!s->gb_bad && s->gb_core)
                        s->gb_votes++;
        }
        line_reset(s);
}

static void utf8_step(spool_charset_sniff_t *s, unsigned b)
{
        if (s->utf8_bad)
                return;
        if (s->utf8_need) {
                if (b >= s->utf8_lo && b <= s->utf8_hi) {
                        s->utf8_need--;
                        s->utf8_lo = 0x80;
                        s->utf8_hi = 0xBF;
                        return;
                }
                s->utf8_bad = 1;
                return;
        }
        if (b < 0x80)
                return;
        s->utf8_lo = 0x80;
        s->utf8_hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) {
                s->utf8_need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
                s->utf8_need = 2;
                if (b == 0xE0)
                        s->utf8_lo = 0xA0; /* no overlongs */
                else if (b == 0xED)
                        s->utf8_hi = 0x9F; /* no surrogates */
        } else if (b >= 0xF0 && b <= 0xF4) {
                s->utf8_need = 3;
                if (b == 0xF0)
                        s->utf8_lo = 0x90;
                else if (b == 0xF4)
                        s->utf8_hi = 0x8F; /* <= U+10FFFF */
        } else {
                s->utf8_bad = 1;
        }
}

static void gb_step(spool_charset_sniff_t *s, unsigned b)
{
        if (s->gb_bad)
                return;
        switch (s->gb_state) {
        case 0:
                if (b < 0x80)
                        return;
                if (b >= 0x81 && b <= 0xFE) {
                        s->gb_lead = (unsigned char)b;
                        s->gb_state = 1;
                        return;
                }
                break;
        case 1:
                if ((b >= 0x40 && b <= 0x7E) || (b >= 0x80 && b <= 0xFE)) {
                        if (s->gb_lead >= 0xA1 && b >= 0xA1)
                                s->gb_core = 1;
                        s->gb_state = 0;
                        return;
                }
                if (b >= 0x30 && b <= 0x39) {
                        s->gb_state = 2;
                        return;
                }
                break;
        case 2:
                if (b >= 0x81 && b <= 0xFE) {
                        s->gb_state = 3;
                        return;
                }
                break;
        case 3:
                if (b >= 0x30 && b <= 0x39) {
                        s->gb_state = 0;
                        return;
                }
                break;
        }
        s->gb_bad = 1;
}

static void check_bom(spool_charset_sniff_t *s)
{
        static const unsigned char utf8_bom[] = {0xEF, 0xBB, 0xBF};
        static const unsigned char gb_bom[] = {0x84, 0x31, 0x95, 0x33};
        if (s->head_n >= 3 && !memcmp(s->head, utf8_bom, 3)) {
                s->decided = 1;
                s->result = SPOOL_CHARSET_UTF8;
        } else if (s->head_n >= 4 && !memcmp(s->head, gb_bom, 4)) {
                s->decided = 1;
                s->result = SPOOL_CHARSET_GB18030;
        }
}

static void decide(spool_charset_sniff_t *s)
{
        s->decided = 1;
        s->result = s->gb_votes > s->utf8_votes ? SPOOL_CHARSET_GB18030
                                                : SPOOL_CHARSET_UTF8;
}

int spool_charset_sniff_feed(spool_charset_sniff_t *s, const void *buf,
                             size_t len)
{
        const unsigned char *p = buf;
        for (size_t i = 0; i < len && !s->decided; i++) {
                unsigned b = p[i];
                if (s->head_n < sizeof(s->head)) {
                        s->head[s->head_n++] = (unsigned char)b;
                        check_bom(s);
                        if (s->decided)
                                break;
                }
                s->seen++;
                if (b == '\n') {
                        line_vote(s);
                        if (s->utf8_votes + s->gb_votes >=
                                SPOOL_CHARSET_VOTES ||
                            (s->seen >= SPOOL_CHARSET_SNIFF_MAX &&
                             s->utf8_votes + s->gb_votes > 0))
                                decide(s);
                        continue;
                }
                if (b >= 0x80)
                        s->nonascii = 1;
                utf8_step(s, b);
                gb_step(s, b);
                /* Past the limit, the first vote decides: a long ASCII
                 * head must not hide the encoding of what follows. */
                if (s->seen >= SPOOL_CHARSET_SNIFF_MAX &&
                    s->utf8_votes + s->gb_votes > 0)
                        decide(s);
        }
        return s->decided;
}

spool_charset_t spool_charset_sniff_result(spool_charset_sniff_t *s)
{
        if (!s->decided) {
                line_vote(s);
                decide(s);
        }
        return (spool_charset_t)s->result;
}

/* ------------------------------------------------------------------------
 * Conversion
 */

struct spool_charset_conv_s {
        spool_charset_t cs;
        iconv_t cd;
        int at_start;          /* no output produced yet: a BOM may follow */
        unsigned char pend[4]; /* UTF-8: BOM prefix held back; GB18030: an
                                  incomplete character carried over */
        size_t pend_n;
        char *in, *out; /* GB18030: joined input, output */
        size_t in_cap, out_cap;
        size_t invalid;
};

spool_charset_conv_t *spool_charset_conv_new(spool_charset_t cs, char *errstr,
                                             size_t errstr_size)
{
        spool_charset_conv_t *c = calloc(1, sizeof(*c));
        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        c->cs = cs;
        c->at_start = 1;
        c->cd = (iconv_t)-1;
        if (cs == SPOOL_CHARSET_GB18030) {
                c->cd = iconv_open("UTF-8", "GB18030");
                if (c->cd == (iconv_t)-1) {
                        snprintf(errstr, errstr_size,
                                 "iconv GB18030 to UTF-8: %s", strerror(errno));
                        free(c);
                        return NULL;
                }
        }
        return c;
}

void spool_charset_conv_destroy(spool_charset_conv_t *c)
{
        if (!c)
                return;
        if (c->cd != (iconv_t)-1)
                iconv_close(c->cd);
        free(c->in);
        free(c->out);
        free(c);
}

size_t spool_charset_conv_invalid(const spool_charset_conv_t *c)
{
        return c->invalid;
}

static int reserve(char **buf, size_t *cap, size_t need)
{
        if (*cap >= need)
                return 0;
        size_t n = *cap ? *cap : 4096;
        while (n < need)
                n *= 2;
        char *b = realloc(*buf, n);
        if (!b)
                return -1;
        *buf = b;
        *cap = n;
        return 0;
}

static const unsigned char utf8_bom[3] = {0xEF, 0xBB, 0xBF};

/* UTF-8 is passed through; only a BOM at the very start is dropped, which
 * may arrive split over calls. */
static int conv_utf8(spool_charset_conv_t *c, const unsigned char *in,
                     size_t len, int final, const char **out, size_t *out_len)
{
        if (!c->at_start) {
                *out = (const char *)in;
                *out_len = len;
                return 0;
        }
        size_t i = 0;
        while (c->pend_n < 3 && i < len && in[i] == utf8_bom[c->pend_n])
                c->pend[c->pend_n++] = in[i++];
        if (c->pend_n == 3) { /* a whole BOM: drop it */
                c->at_start = 0;
                c->pend_n = 0;
                *out = (const char *)in + i;
                *out_len = len - i;
                return 0;
        }
        if (i == len && !final) { /* still a BOM prefix: wait */
                *out = (const char *)in;
                *out_len = 0;
                return 0;
        }
        /* Not a BOM: give back what was held, then the rest. */
        c->at_start = 0;
        if (c->pend_n + len - i == 0) { /* empty input: nothing to copy */
                *out = "";
                *out_len = 0;
                return 0;
        }
        if (reserve(&c->out, &c->out_cap, c->pend_n + len - i))
                return -1;
        memcpy(c->out, c->pend, c->pend_n);
        memcpy(c->out + c->pend_n, in + i, len - i);
        *out = c->out;
        *out_len = c->pend_n + len - i;
        c->pend_n = 0;
        return 0;
}

static int conv_gb(spool_charset_conv_t *c, const unsigned char *in, size_t len,
                   int final, const char **out, size_t *out_len)
{
        const char *src = (const char *)in;
        size_t left = len;
        if (c->pend_n) {
                if (reserve(&c->in, &c->in_cap, c->pend_n + len))
                        return -1;
                memcpy(c->in, c->pend, c->pend_n);
                memcpy(c->in + c->pend_n, in, len);
                src = c->in;
                left = c->pend_n + len;
                c->pend_n = 0;
        }
        /* A GB18030 character of n bytes becomes at most n+1 bytes of UTF-8
         * (2 -> 3, 4 -> 4); an invalid byte becomes one byte. */
        if (reserve(&c->out, &c->out_cap, 2 * left + 16))
                return -1;
        char *inp = (char *)src, *outp = c->out;
        size_t outleft = c->out_cap;
        while (left > 0) {
                if (iconv(c->cd, &inp, &left, &outp, &outleft) != (size_t)-1)
                        break;
                if (errno == EILSEQ) {
                        *outp++ = (char)0xFF;
                        outleft--;
                        inp++;
                        left--;
                        c->invalid++;
                } else if (errno == EINVAL) { /* incomplete at the end */
                        if (final || left > sizeof(c->pend)) {
                                *outp++ = (char)0xFF;
                                outleft--;
                                c->invalid++;
                        } else {
                                memcpy(c->pend, inp, left);
                                c->pend_n = left;
                        }
                        left = 0;
                } else { /* E2BIG cannot happen with the room reserved */
                        return -1;
                }
        }
        *out = c->out;
        *out_len = (size_t)(outp - c->out);
        if (c->at_start && *out_len > 0) {
                if (*out_len >= 3 && !memcmp(*out, utf8_bom, 3)) {
                        *out += 3;
                        *out_len -= 3;
                }
                c->at_start = 0;
        }
        return 0;
}

int spool_charset_conv(spool_charset_conv_t *c, const void *in, size_t len,
                       int final, const char **out, size_t *out_len,
                       char *errstr, size_t errstr_size)
{
        int rc = c->cs == SPOOL_CHARSET_GB18030
                     ? conv_gb(c, in, len, final, out, out_len)
                     : conv_utf8(c, in, len, final, out, out_len);
        if (rc)
                snprintf(errstr, errstr_size, "out of memory");
        return rc;
}
