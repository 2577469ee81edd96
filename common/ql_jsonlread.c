/*
 * ql_jsonlread: lines -> documents.  A line that arrives whole inside one
 * chunk is parsed where it lies; only a line split across chunks is copied
 * into the line buffer, which never grows past max_line_bytes.
 */
#include "ql_jsonlread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_LINE (4u << 20)

struct ql_jsonlread_s {
        ql_jsonlread_opts_t o;
        size_t line; /* of the next byte */
        char *buf;   /* a line begun in an earlier chunk */
        size_t buf_n, buf_cap;
        size_t over; /* bytes of the current line, once it is too long */
        ql_problems_t errors, warnings;
};

ql_jsonlread_t *ql_jsonlread_new(const ql_jsonlread_opts_t *opts)
{
        ql_jsonlread_t *r = calloc(1, sizeof(*r));
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

void ql_jsonlread_destroy(ql_jsonlread_t *r)
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

/* One whole line (without its line feed).  Returns fn's verdict. */
static int take_line(ql_jsonlread_t *r, const char *s, size_t len,
                     ql_jsonlread_fn fn, void *arg)
{
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
                } else if (!r->o.unvalidated) {
                        ql_result_validate(doc, &r->o.validate, &r->errors,
                                           &r->warnings);
                }
        }
        const char *report_no =
            doc && json_is_object(doc) ? ql_result_str(doc, "report_no") : NULL;
        ql_jsonlread_rec_t rec = {
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
static int hold(ql_jsonlread_t *r, const char *s, size_t len)
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

ql_jsonlread_rc_t ql_jsonlread_feed(ql_jsonlread_t *r, const char *buf,
                                    size_t len, ql_jsonlread_fn fn, void *arg)
{
        while (len > 0) {
                const char *nl = memchr(buf, '\n', len);
                if (!nl)
                        return hold(r, buf, len) ? QL_JSONLREAD_NOMEM
                                                 : QL_JSONLREAD_OK;
                size_t n = (size_t)(nl - buf);
                int stop;
                if (r->buf_n || r->over) {
                        if (hold(r, buf, n))
                                return QL_JSONLREAD_NOMEM;
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
                if (stop)
                        return QL_JSONLREAD_STOPPED;
        }
        return QL_JSONLREAD_OK;
}

ql_jsonlread_rc_t ql_jsonlread_end(ql_jsonlread_t *r, ql_jsonlread_fn fn,
                                   void *arg)
{
        if (!r->buf_n && !r->over)
                return QL_JSONLREAD_OK;
        int stop = take_line(r, r->buf, r->buf_n, fn, arg);
        r->buf_n = 0;
        r->over = 0;
        r->line++;
        return stop ? QL_JSONLREAD_STOPPED : QL_JSONLREAD_OK;
}
