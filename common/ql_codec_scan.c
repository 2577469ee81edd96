/*
 * ql_codec_scan: decoding's first pass: the bounded scan that proves a
 * datum well formed (lengths, counts, depth) before avro-c reads it.
 */
#include "ql_codec.h"

#include <avro.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_codec_private.h"
#include "ql_time.h"

/*------------------------------------------------------------------------
 * Decoding, pass 1: the bounded scan.  It accepts exactly the datums that
 * avro-c then reads without error and without trusting a length it has not
 * seen the bytes for: varints of at most 5 (int) or 10 (long) bytes that
 * fit, lengths and counts within the bytes left, enum and union indexes in
 * range, block sizes that match.
 */

static int scan_truncated(scan_t *s)
{
        return codec_walk_fail(s->w, "datum truncated at byte %zu of %zu",
                               s->pos, s->len);
}

static int scan_varint(scan_t *s, int max_bytes, uint64_t *out)
{
        uint64_t v = 0;
        for (int i = 0; i < max_bytes; i++) {
                if (s->pos >= s->len)
                        return scan_truncated(s);
                unsigned b = s->p[s->pos++];
                if (i == max_bytes - 1 &&
                    (b & 0x80 || b >> (max_bytes == 5 ? 4 : 1)))
                        return codec_walk_fail(
                            s->w, "varint too long at byte %zu", s->pos - 1);
                v |= (uint64_t)(b & 0x7F) << (7 * i);
                if (!(b & 0x80))
                        break;
        }
        *out = v;
        return 0;
}

static int scan_long(scan_t *s, int64_t *out)
{
        uint64_t v;
        if (scan_varint(s, 10, &v))
                return -1;
        *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
        return 0;
}

static int scan_int(scan_t *s, int64_t *out)
{
        uint64_t v;
        if (scan_varint(s, 5, &v))
                return -1;
        *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
        return 0;
}

static int scan_skip(scan_t *s, int64_t n, const char *what)
{
        if (n < 0)
                return codec_walk_fail(s->w, "negative %s length %" PRId64,
                                       what, n);
        if ((uint64_t)n > s->len - s->pos)
                return codec_walk_fail(s->w,
                                       "%s length %" PRId64
                                       " exceeds the %zu bytes "
                                       "left",
                                       what, n, s->len - s->pos);
        s->pos += (size_t)n;
        return 0;
}

int codec_scan_value(scan_t *s, const sch_node_t *n);

/* avro-c hands map keys on as C strings: no NUL inside. */
static int scan_map_key(scan_t *s)
{
        int64_t len;
        if (scan_long(s, &len))
                return -1;
        size_t start = s->pos;
        if (scan_skip(s, len, "map key"))
                return -1;
        if (memchr(s->p + start, 0, (size_t)len))
                return codec_walk_fail(s->w, "map key contains NUL");
        return 0;
}

/* Array and map blocks: count (negative: followed by its byte size), items,
 * until a zero count. */
static int scan_blocks(scan_t *s, const sch_node_t *n)
{
        size_t index = 0;
        for (;;) {
                int64_t count, bsize = -1;
                if (scan_long(s, &count))
                        return -1;
                if (count == 0)
                        return 0;
                if (count < 0) {
                        if (count == INT64_MIN)
                                return codec_walk_fail(s->w, "bad block count");
                        count = -count;
                        if (scan_long(s, &bsize))
                                return -1;
                        if (bsize < 0 || (uint64_t)bsize > s->len - s->pos)
                                return codec_walk_fail(
                                    s->w, "block size %" PRId64 " out of range",
                                    bsize);
                }
                /* Each entry takes a byte at least, unless it can be
                 * empty; then the total is capped instead. */
                if (n->type == SCH_MAP || !n->items->may_be_empty) {
                        if ((uint64_t)count > s->len - s->pos)
                                return codec_walk_fail(
                                    s->w,
                                    "block of %" PRId64
                                    " entries exceeds the %zu "
                                    "bytes left",
                                    count, s->len - s->pos);
                }
                if ((uint64_t)count > CODEC_MAX_ELEMENTS - s->w->elements)
                        return codec_walk_fail(s->w, "more than %u entries",
                                               CODEC_MAX_ELEMENTS);
                s->w->elements += (size_t)count;
                size_t start = s->pos;
                for (int64_t i = 0; i < count; i++, index++) {
                        if ((n->type == SCH_MAP && scan_map_key(s)) ||
                            codec_scan_value(s, n->items))
                                return codec_walk_up_index(s->w, index);
                }
                if (bsize >= 0 && (uint64_t)bsize != s->pos - start)
                        return codec_walk_fail(s->w,
                                               "block size %" PRId64
                                               " does not match its %zu bytes",
                                               bsize, s->pos - start);
        }
}

int codec_scan_value(scan_t *s, const sch_node_t *n)
{
        int64_t x;
        if (s->w->depth > CODEC_MAX_DEPTH)
                return codec_walk_fail(s->w, "value nested too deeply");
        switch (n->type) {
        case SCH_NULL:
                return 0;
        case SCH_BOOLEAN:
                if (s->pos >= s->len)
                        return scan_truncated(s);
                if (s->p[s->pos] > 1)
                        return codec_walk_fail(s->w, "boolean byte is %u",
                                               s->p[s->pos]);
                s->pos++;
                return 0;
        case SCH_INT:
                if (scan_int(s, &x))
                        return -1;
                if (x < INT32_MIN || x > INT32_MAX)
                        return codec_walk_fail(s->w, "int out of range");
                return 0;
        case SCH_LONG:
                return scan_long(s, &x);
        case SCH_FLOAT:
                return scan_skip(s, 4, "float");
        case SCH_DOUBLE:
                return scan_skip(s, 8, "double");
        case SCH_BYTES:
        case SCH_STRING:
                if (scan_long(s, &x))
                        return -1;
                return scan_skip(s, x, codec_sch_type_names[n->type]);
        case SCH_FIXED:
                return scan_skip(s, (int64_t)n->fixed_size, "fixed");
        case SCH_ENUM:
                if (scan_long(s, &x))
                        return -1;
                if (x < 0 || (uint64_t)x >= n->n_symbols)
                        return codec_walk_fail(s->w,
                                               "enum index %" PRId64
                                               " out of range (%zu symbols)",
                                               x, n->n_symbols);
                return 0;
        case SCH_UNION:
                if (scan_long(s, &x))
                        return -1;
                if (x < 0 || (uint64_t)x >= n->n_branches)
                        return codec_walk_fail(s->w,
                                               "union index %" PRId64
                                               " out of range (%zu branches)",
                                               x, n->n_branches);
                return codec_scan_value(s, n->branches[x]);
        case SCH_ARRAY:
        case SCH_MAP: {
                s->w->depth++;
                int rc = scan_blocks(s, n);
                s->w->depth--;
                return rc;
        }
        case SCH_RECORD:
                s->w->depth++;
                for (size_t i = 0; i < n->n_fields; i++) {
                        if (codec_scan_value(s, n->fields[i].type))
                                return codec_walk_up_name(s->w,
                                                          n->fields[i].name);
                }
                s->w->depth--;
                return 0;
        }
        return codec_walk_fail(s->w, "unknown schema node");
}
