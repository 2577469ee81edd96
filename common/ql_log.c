/*
 * ql_log: event lines on stderr.  Text lines are logfmt,
 *   ts=2026-11-25T18:55:04.123Z level=info prog=ql-spool msg="a.csv: 12 sent"
 * and JSON lines carry the same as {"ts":..,"level":..,"prog":..,"msg":..}
 * for log shippers.  A message carries text from outside (file names, a
 * lab's values, a server's error text), so both formats escape it: a line
 * is always exactly one line, and no byte of a value can end it early,
 * start a field of its own or reach a terminal as a control sequence.
 * Each line is built in a local buffer and written with one write(2), so
 * concurrent threads never interleave inside a line.
 */
#include "ql_log.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ql_time.h"

/* The program name is short (ql-triage/12); a longer one is cut here. */
#define PROG_MAX 128
/* A message longer than this is cut (a log line is not a data channel). */
#define MSG_MAX 4096
/* Escaping widens a byte to at most 5 characters (\\xNN in JSON) and a
 * 3-byte character to 6 (\u2028): 5 per input byte bound both; plus the
 * fixed fields. */
#define QL_LOG_LINE_MAX (5 * (MSG_MAX + PROG_MAX) + 128)

struct ql_log_s {
        char *prog;
        atomic_int level;
        atomic_int format;
};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

ql_log_t *ql_log_new(const char *prog, ql_log_level_t level,
                     ql_log_format_t format)
{
        ql_log_t *lg = calloc(1, sizeof(*lg));
        if (!lg)
                return NULL;
        lg->prog = strndup(prog ? prog : "qingling", PROG_MAX);
        if (!lg->prog) {
                free(lg);
                return NULL;
        }
        atomic_init(&lg->level, (int)level);
        atomic_init(&lg->format, (int)format);
        return lg;
}

void ql_log_destroy(ql_log_t *lg)
{
        if (!lg)
                return;
        free(lg->prog);
        free(lg);
}

void ql_log_configure(ql_log_t *lg, ql_log_level_t level,
                      ql_log_format_t format)
{
        atomic_store(&lg->level, (int)level);
        atomic_store(&lg->format, (int)format);
}

int ql_log_enabled(const ql_log_t *lg, ql_log_level_t level)
{
        return lg && (int)level >= atomic_load(&lg->level);
}

int ql_log_level_parse(const char *s)
{
        for (int i = 0; s && i < 4; i++)
                if (!strcmp(s, level_names[i]))
                        return i;
        if (s && !strcmp(s, "warning"))
                return QL_LOG_WARN;
        return -1;
}

int ql_log_format_parse(const char *s)
{
        if (s && !strcmp(s, "text"))
                return QL_LOG_TEXT;
        if (s && !strcmp(s, "json"))
                return QL_LOG_JSON;
        return -1;
}

/* The length (2..4) of the well-formed UTF-8 sequence at s (n bytes left)
 * and its code point (OUT), or 0 if the lead byte s[0] >= 0x80 does not
 * start one: overlong forms, surrogates and values past U+10FFFF are not
 * well-formed (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
        unsigned char c = s[0];
        size_t len;
        uint32_t v, min;
        if (c >= 0xC2 && c <= 0xDF) {
                len = 2;
                v = c & 0x1F;
                min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                v = c & 0x0F;
                min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                v = c & 0x07;
                min = 0x10000;
        } else {
                return 0;
        }
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                v = (v << 6) | (s[i] & 0x3F);
        }
        if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
                return 0;
        *cp = v;
        return len;
}

/* Characters that show nothing but change how a line reads: C1 controls
 * (U+009B is a terminal's CSI), zero-width and bidirectional marks (text
 * that displays in another order than it is stored), the line and
 * paragraph separators, the byte-order mark.  Written as \uXXXX. */
static int invisible(uint32_t cp)
{
        return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x200B && cp <= 0x200F) ||
               (cp >= 0x2028 && cp <= 0x202E) ||
               (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF;
}

/* Spaces beyond ASCII (no-break, ideographic, ...): kept as they are, but
 * a value holding one is quoted, so a field visibly ends where it ends. */
static int wide_space(uint32_t cp)
{
        return cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
               cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* The line being built; a piece that does not fit is dropped whole (so an
 * escape is never cut in two) and so is everything after it. */
typedef struct {
        char *buf;
        size_t len, cap;
        int full;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
        if (o->full || n > o->cap - o->len) {
                o->full = 1;
                return;
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
}

static void puts_(out_t *o, const char *s)
{
        put(o, s, strlen(s));
}

/* prefix, then v as `digits` lower-case hex digits: \x1b, \u202e. */
static void put_hex(out_t *o, const char *prefix, unsigned v, int digits)
{
        static const char hex[] = "0123456789abcdef";
        char e[16];
        size_t n = strlen(prefix);
        memcpy(e, prefix, n);
        for (int i = digits - 1; i >= 0; i--)
                e[n++] = hex[(v >> (4 * i)) & 0xF];
        put(o, e, n);
}

/* logfmt: a value is written bare when it is non-empty printable text
 * without space, '=', '"' or '\'; otherwise in double quotes, with '"' and
 * '\' escaped by a backslash, \n \r \t, other control bytes and bytes that
 * are not UTF-8 as \xNN, invisible characters as \uXXXX. */
static int text_needs_quotes(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        if (!*p)
                return 1;
        size_t n = strlen(s);
        for (size_t i = 0; i < n;) {
                unsigned char c = p[i];
                if (c < 0x80) {
                        if (c <= ' ' || c == '=' || c == '"' || c == '\\' ||
                            c == 0x7F)
                                return 1;
                        i++;
                        continue;
                }
                uint32_t cp;
                size_t len = utf8_seq(p + i, n - i, &cp);
                if (!len || invisible(cp) || wide_space(cp))
                        return 1;
                i += len;
        }
        return 0;
}

static void put_text_value(out_t *o, const char *s)
{
        if (!text_needs_quotes(s)) {
                puts_(o, s);
                return;
        }
        const unsigned char *p = (const unsigned char *)s;
        size_t n = strlen(s);
        put(o, "\"", 1);
        for (size_t i = 0; i < n;) {
                unsigned char c = p[i];
                if (c < 0x80) {
                        if (c == '"' || c == '\\') {
                                char e[2] = {'\\', (char)c};
                                put(o, e, 2);
                        } else if (c == '\n') {
                                put(o, "\\n", 2);
                        } else if (c == '\r') {
                                put(o, "\\r", 2);
                        } else if (c == '\t') {
                                put(o, "\\t", 2);
                        } else if (c < 0x20 || c == 0x7F) {
                                put_hex(o, "\\x", c, 2);
                        } else {
                                put(o, (const char *)p + i, 1);
                        }
                        i++;
                        continue;
                }
                uint32_t cp;
                size_t len = utf8_seq(p + i, n - i, &cp);
                if (!len) {
                        put_hex(o, "\\x", c, 2);
                        i++;
                } else {
                        if (invisible(cp))
                                put_hex(o, "\\u", cp, 4);
                        else
                                put(o, (const char *)p + i, len);
                        i += len;
                }
        }
        put(o, "\"", 1);
}

/* A JSON string (RFC 8259) for any bytes: control characters and the
 * invisible ones as \uXXXX, and a byte that is not UTF-8 as the four
 * characters \xNN (written \\xNN), so the line stays valid JSON and the
 * byte's value is still readable. */
static void put_json_string(out_t *o, const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t n = strlen(s);
        put(o, "\"", 1);
        for (size_t i = 0; i < n;) {
                unsigned char c = p[i];
                if (c < 0x80) {
                        if (c == '"' || c == '\\') {
                                char e[2] = {'\\', (char)c};
                                put(o, e, 2);
                        } else if (c == '\n') {
                                put(o, "\\n", 2);
                        } else if (c == '\r') {
                                put(o, "\\r", 2);
                        } else if (c == '\t') {
                                put(o, "\\t", 2);
                        } else if (c < 0x20 || c == 0x7F) {
                                put_hex(o, "\\u", c, 4);
                        } else {
                                put(o, (const char *)p + i, 1);
                        }
                        i++;
                        continue;
                }
                uint32_t cp;
                size_t len = utf8_seq(p + i, n - i, &cp);
                if (!len) {
                        put_hex(o, "\\\\x", c, 2);
                        i++;
                } else {
                        if (invisible(cp))
                                put_hex(o, "\\u", cp, 4);
                        else
                                put(o, (const char *)p + i, len);
                        i += len;
                }
        }
        put(o, "\"", 1);
}

static void write_all(const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(STDERR_FILENO, buf, len);
                if (n <= 0)
                        return; /* nowhere left to report it */
                buf += n;
                len -= (size_t)n;
        }
}

void ql_logv(ql_log_t *lg, ql_log_level_t level, const char *fmt, va_list ap)
{
        if (!ql_log_enabled(lg, level))
                return;
        char msg[MSG_MAX];
        if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
                return;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        char when[40];
        ql_time_format_timestamp((int64_t)ts.tv_sec * 1000 +
                                     ts.tv_nsec / 1000000,
                                 0, when, sizeof(when));
        char line[QL_LOG_LINE_MAX];
        /* One byte kept back for the newline, which always ends the line. */
        out_t o = {line, 0, sizeof(line) - 1, 0};
        if (atomic_load(&lg->format) == QL_LOG_JSON) {
                puts_(&o, "{\"ts\":\"");
                puts_(&o, when);
                puts_(&o, "\",\"level\":\"");
                puts_(&o, level_names[level]);
                puts_(&o, "\",\"prog\":");
                put_json_string(&o, lg->prog);
                puts_(&o, ",\"msg\":");
                put_json_string(&o, msg);
                puts_(&o, "}");
        } else {
                puts_(&o, "ts=");
                puts_(&o, when);
                puts_(&o, " level=");
                puts_(&o, level_names[level]);
                puts_(&o, " prog=");
                put_text_value(&o, lg->prog);
                puts_(&o, " msg=");
                put_text_value(&o, msg);
        }
        if (o.full)
                return; /* cannot happen within QL_LOG_LINE_MAX; never half a
                           line */
        line[o.len++] = '\n';
        write_all(line, o.len);
}

void ql_log(ql_log_t *lg, ql_log_level_t level, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        ql_logv(lg, level, fmt, ap);
        va_end(ap);
}
