/*
 * spool_jsonlread: lines -> documents.  A line that arrives whole inside one
 * chunk is parsed where it lies; only a line split across chunks is copied
 * into the line buffer, which never grows past max_line_bytes.
 */
#include "spool_jsonlread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool_grow.h"

#define DEFAULT_MAX_LINE (4u << 20)

struct spool_jsonlread_s {
        spool_jsonlread_opts_t o;
        size_t line; /* of the next byte */
        char *buf;   /* a line begun in an earlier chunk */
        size_t buf_n, buf_cap;
        size_t over; /* bytes of the current line, once it is too long */
        ql_problems_t errors, warnings;
        spool_jsonlread_lines_t *lines_out; /* splitting: lines go here */
};

/* Lines split off by one reader for another to read: each line's number,
 * its text (NUL-free of meaning: offsets and lengths), and for a line too
 * long to hold only that it was. */
typedef struct {
        size_t line, off, len, over;
} line_t;

struct spool_jsonlread_lines_s {
        char *text;
        size_t text_n, text_cap;
        line_t *v;
        size_t n, cap;
};

spool_jsonlread_t *spool_jsonlread_new(const spool_jsonlread_opts_t *opts)
{
        spool_jsonlread_t *r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        if (opts)
                r->o = *opts;
        if (!r->o.charset)
                r->o.charset = "UTF-8";
        if (!r->o.max_line_bytes)
                r->o.max_line_bytes = DEFAULT_MAX_LINE;
        r->line = 1;
        return r;
}

void spool_jsonlread_destroy(spool_jsonlread_t *r)
{
        if (!r)
                return;
        free(r->buf);
        ql_problems_clear(&r->errors);
        ql_problems_clear(&r->warnings);
        free(r);
}

/* Byte offset of the first invalid UTF-8 sequence in s (len if none). */
static size_t utf8_bad_at(const char *s, size_t len)
{
        size_t i = 0;
        while (i < len) {
                unsigned c = (unsigned char)s[i];
                size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
                if (n > len - i || !ql_result_utf8_valid(s + i, n))
                        return i;
                i += n;
        }
        return len;
}

static int blank(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
                        return 0;
        return 1;
}

/* Splitting: the line appended to lines_out.  -1 if memory ran out. */
static int put_line(spool_jsonlread_t *r, const char *s, size_t len)
{
        spool_jsonlread_lines_t *out = r->lines_out;
        if (r->over)
                len = 0; /* not held: only its number and that it was long */
        if (spool_grow(&out->v, &out->cap, out->n + 1, sizeof(*out->v)) ||
            spool_grow(&out->text, &out->text_cap, out->text_n + len, 1))
                return -1;
        out->v[out->n++] = (line_t){r->line, out->text_n, len, r->over};
        if (len)
                memcpy(out->text + out->text_n, s, len);
        out->text_n += len;
        return 0;
}

/* One whole line (without its line feed).  Returns fn's verdict, or -1
 * when splitting ran out of memory. */
static int take_line(spool_jsonlread_t *r, const char *s, size_t len,
                     spool_jsonlread_fn fn, void *arg)
{
        if (r->lines_out)
                return put_line(r, s, len);
        size_t line = r->line;
        json_t *doc = NULL;
        if (r->over) {
                ql_problems_add(&r->errors, "",
                                "line longer than %zu bytes; not read",
                                r->o.max_line_bytes);
        } else if (blank(s, len)) {
                return 0;
        } else if (!ql_result_utf8_valid(s, len)) {
                ql_problems_add(&r->errors, "",
                                "not valid %s text (at byte %zu of the line)",
                                r->o.charset, utf8_bad_at(s, len) + 1);
        } else {
                json_error_t jerr;
                doc = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
                if (!doc) {
                        ql_problems_add(&r->errors, "",
                                        "not valid JSON: %s (column %d)",
                                        jerr.text, jerr.column);
                } else if (!json_is_object(doc)) {
                        ql_problems_add(&r->errors, "",
                                        "a result must be a JSON object");
                } else {
                        ql_result_validate(doc, &r->o.validate, &r->errors,
                                           &r->warnings);
                }
        }
        const char *report_no =
            doc && json_is_object(doc) ? ql_result_str(doc, "report_no") : NULL;
        spool_jsonlread_rec_t rec = {
            .line = line,
            .report_no = report_no,
            .doc = r->errors.n ? NULL : doc,
            .errors = &r->errors,
            .warnings = &r->warnings,
        };
        int stop = fn ? fn(arg, &rec) : 0;
        json_decref(doc);
        ql_problems_clear(&r->errors);
        ql_problems_clear(&r->warnings);
        return stop;
}

/* Keep part of a line for later; past the limit only count it. */
static int hold(spool_jsonlread_t *r, const char *s, size_t len)
{
        if (r->over || r->buf_n + len > r->o.max_line_bytes) {
                r->over += r->buf_n + len;
                r->buf_n = 0;
                return 0;
        }
        if (r->buf_n + len > r->buf_cap) {
                size_t cap = r->buf_cap ? r->buf_cap : 4096;
                while (cap < r->buf_n + len)
                        cap *= 2;
                char *b = realloc(r->buf, cap);
                if (!b)
                        return -1;
                r->buf = b;
                r->buf_cap = cap;
        }
        memcpy(r->buf + r->buf_n, s, len);
        r->buf_n += len;
        return 0;
}

spool_jsonlread_rc_t spool_jsonlread_feed(spool_jsonlread_t *r, const char *buf,
                                          size_t len, spool_jsonlread_fn fn,
                                          void *arg)
{
        while (len > 0) {
                const char *nl = memchr(buf, '\n', len);
                if (!nl)
                        return hold(r, buf, len) ? SPOOL_JSONLREAD_NOMEM
                                                 : SPOOL_JSONLREAD_OK;
                size_t n = (size_t)(nl - buf);
                int stop;
                if (r->buf_n || r->over) {
                        if (hold(r, buf, n))
                                return SPOOL_JSONLREAD_NOMEM;
                        stop = take_line(r, r->buf, r->buf_n, fn, arg);
                        r->buf_n = 0;
                        r->over = 0;
                } else if (n > r->o.max_line_bytes) {
                        r->over = n;
                        stop = take_line(r, buf, n, fn, arg);
                        r->over = 0;
                } else {
                        stop = take_line(r, buf, n, fn, arg);
                }
                r->line++;
                buf += n + 1;
                len -= n + 1;
                if (stop < 0)
                        return SPOOL_JSONLREAD_NOMEM;
                if (stop)
                        return SPOOL_JSONLREAD_STOPPED;
        }
        return SPOOL_JSONLREAD_OK;
}

spool_jsonlread_rc_t spool_jsonlread_end(spool_jsonlread_t *r,
                                         spool_jsonlread_fn fn, void *arg)
{
        if (!r->buf_n && !r->over)
                return SPOOL_JSONLREAD_OK;
        int stop = take_line(r, r->buf, r->buf_n, fn, arg);
        r->buf_n = 0;
        r->over = 0;
        r->line++;
        return stop < 0 ? SPOOL_JSONLREAD_NOMEM
               : stop   ? SPOOL_JSONLREAD_STOPPED
                        : SPOOL_JSONLREAD_OK;
}

/* ------------------------------------------------------------------------
 * Lines split off for other readers
 */

spool_jsonlread_lines_t *spool_jsonlread_lines_new(void)
{
        return calloc(1, sizeof(spool_jsonlread_lines_t));
}

void spool_jsonlread_lines_destroy(spool_jsonlread_lines_t *lines)
{
        if (!lines)
                return;
        free(lines->text);
        free(lines->v);
        free(lines);
}

size_t spool_jsonlread_lines_count(const spool_jsonlread_lines_t *lines)
{
        return lines->n;
}

size_t spool_jsonlread_lines_bytes(const spool_jsonlread_lines_t *lines)
{
        return lines->text_n;
}

spool_jsonlread_rc_t spool_jsonlread_split(spool_jsonlread_t *r,
                                           const char *buf, size_t len, int end,
                                           spool_jsonlread_lines_t *out)
{
        r->lines_out = out;
        spool_jsonlread_rc_t rc = spool_jsonlread_feed(r, buf, len, NULL, NULL);
        if (rc == SPOOL_JSONLREAD_OK && end)
                rc = spool_jsonlread_end(r, NULL, NULL);
        r->lines_out = NULL;
        return rc;
}

spool_jsonlread_rc_t
spool_jsonlread_take_lines(spool_jsonlread_t *r,
                           const spool_jsonlread_lines_t *lines,
                           spool_jsonlread_fn fn, void *arg)
{
        for (size_t i = 0; i < lines->n; i++) {
                const line_t *l = &lines->v[i];
                r->line = l->line;
                r->over = l->over;
                const char *text = l->len ? lines->text + l->off : "";
                int stop = take_line(r, text, l->len, fn, arg);
                r->over = 0;
                if (stop)
                        return SPOOL_JSONLREAD_STOPPED;
        }
        return SPOOL_JSONLREAD_OK;
}
