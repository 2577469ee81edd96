/*
 * spool_charset: the character encoding of a lab's export file and its
 * conversion to UTF-8, streaming, in chunks of any size.  Labs export UTF-8
 * (with or without a byte-order mark) or, from Chinese Excel, GB18030; the
 * file says neither, so the encoding is detected from its bytes:
 *
 *   - a UTF-8 BOM (EF BB BF) means UTF-8, a GB18030 BOM (84 31 95 33)
 *     GB18030;
 *   - otherwise lines vote.  A line with non-ASCII bytes votes UTF-8 if it is
 *     valid UTF-8; it votes GB18030 if it is not valid UTF-8, is well-formed
 *     GB18030 and holds at least one two-byte character from the GB2312
 *     range (both bytes A1..FE: every common hanzi and CJK punctuation).  A
 *     line that is neither does not vote.  The sniffer decides once
 *     SPOOL_CHARSET_VOTES lines voted, or SPOOL_CHARSET_SNIFF_MAX bytes were
 * seen and at least one line voted, or the input ended: GB18030 if it has more
 * votes than UTF-8, else UTF-8.  (A long ASCII head is read past until a line
 * votes.)
 *
 * So a UTF-8 file with a few broken rows stays UTF-8 (the broken rows are
 * rejected by whoever reads them, with their lines) and a Latin-1 byte in an
 * ASCII file is never read as a Chinese character.  Conversion never
 * replaces text silently: a byte sequence that is not valid in the source
 * encoding comes out as the byte 0xFF, which is never valid UTF-8, so a
 * reader that checks its fields for UTF-8 rejects exactly the rows holding
 * one.  Line feeds are kept, so line numbers in the output are line numbers
 * of the file.  A BOM at the start is dropped.
 *
 * Pure logic (plus iconv): no file I/O.
 */
#ifndef SPOOL_CHARSET_H
#define SPOOL_CHARSET_H

#include <stddef.h>

typedef enum { SPOOL_CHARSET_UTF8 = 0, SPOOL_CHARSET_GB18030 } spool_charset_t;

#define SPOOL_CHARSET_VOTES     256
#define SPOOL_CHARSET_SNIFF_MAX (4u << 20) /* bytes */

/* "UTF-8" / "GB18030". */
const char *spool_charset_name(spool_charset_t cs);

/*
 * Detection.  Zero-initialise with spool_charset_sniff_init(), feed the start
 * of the file until spool_charset_sniff_feed() returns 1 (decided) or the input
 * ends, then read spool_charset_sniff_result().  The members are private.
 */
typedef struct {
        size_t seen; /* bytes fed */
        size_t utf8_votes, gb_votes;
        int decided;
        int result;            /* spool_charset_t once decided */
        unsigned char head[4]; /* first bytes, for the BOM */
        size_t head_n;
        /* the current line */
        int nonascii, utf8_bad, gb_bad, gb_core;
        unsigned utf8_need;        /* continuation bytes still due */
        unsigned utf8_lo, utf8_hi; /* allowed range of the next one */
        unsigned gb_state;         /* bytes of a GB18030 character seen */
        unsigned char gb_lead;
} spool_charset_sniff_t;

void spool_charset_sniff_init(spool_charset_sniff_t *s);
/* Feed len bytes.  Returns 1 once the encoding is decided (later calls do
 * nothing), 0 while more input would help. */
int spool_charset_sniff_feed(spool_charset_sniff_t *s, const void *buf,
                             size_t len);
/* The decision; at the end of the input it counts the last line too. */
spool_charset_t spool_charset_sniff_result(spool_charset_sniff_t *s);

/*
 * Conversion to UTF-8.
 */
typedef struct spool_charset_conv_s spool_charset_conv_t;

/* A converter from cs.  NULL with errstr if iconv has no such converter. */
spool_charset_conv_t *spool_charset_conv_new(spool_charset_t cs, char *errstr,
                                             size_t errstr_size);
void spool_charset_conv_destroy(spool_charset_conv_t *c); /* accepts NULL */

/* Convert the next len bytes of the stream.  *out (OUT) points at the UTF-8
 * produced, *out_len (OUT) bytes; it stays valid until the next call.  A
 * character split across calls is completed by the next call; with final=1
 * an incomplete one at the end counts as invalid.  Returns 0, or -1 if
 * memory ran out (errstr). */
int spool_charset_conv(spool_charset_conv_t *c, const void *in, size_t len,
                       int final, const char **out, size_t *out_len,
                       char *errstr, size_t errstr_size);

/* Invalid sequences met so far (each became one 0xFF byte). */
size_t spool_charset_conv_invalid(const spool_charset_conv_t *c);

#endif
