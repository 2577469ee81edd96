/*
 * simlab_out: the JSONL and CSV writers.  A line is built in a growable
 * buffer (CSV fields quoted by libcsv when they need it), converted to
 * GB18030 with iconv when asked, and written with one fwrite.
 */
#include "simlab_out.h"

#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
        char *p;
        size_t len, cap;
} buf_t;

struct simlab_out_s {
        FILE *fp;
        simlab_format_t format;
        ql_csv_lang_t headers;
        int bom;
        iconv_t cd; /* (iconv_t)-1 for UTF-8 */
        int started;
        buf_t line, conv;
};

static int buf_reserve(buf_t *b, size_t more)
{
        if (b->len + more <= b->cap)
                return 0;
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + more)
                cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
                return -1;
        b->p = p, b->cap = cap;
        return 0;
}

static int buf_add(buf_t *b, const char *s, size_t n)
{
        if (buf_reserve(b, n))
                return -1;
        memcpy(b->p + b->len, s, n);
        b->len += n;
        return 0;
}

/* A field needs quotes when it holds a separator, a quote, a line break, or
 * blanks at its ends that a reader would trim. */
static int needs_quotes(const char *s, size_t n)
{
        if (n && (s[0] == ' ' || s[n - 1] == ' '))
                return 1;
        return strcspn(s, ",\"\r\n") < n;
}

static int add_field(buf_t *b, const char *s, int first)
{
        size_t n = strlen(s);
        if (!first && buf_add(b, ",", 1))
                return -1;
        if (!needs_quotes(s, n))
                return buf_add(b, s, n);
        size_t need = csv_write(NULL, 0, s, n);
        if (buf_reserve(b, need))
                return -1;
        b->len += csv_write(b->p + b->len, need, s, n);
        return 0;
}

simlab_out_t *simlab_out_new(FILE *fp, simlab_format_t format,
                             ql_csv_lang_t headers, simlab_encoding_t encoding,
                             int bom, char *errstr, size_t errstr_size)
{
        simlab_out_t *o = calloc(1, sizeof(*o));
        if (!o) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        o->fp = fp;
        o->format = format;
        o->headers = headers;
        o->bom = bom && encoding == SIMLAB_UTF8;
        o->cd = (iconv_t)-1;
        if (encoding == SIMLAB_GB18030) {
                o->cd = iconv_open("GB18030", "UTF-8");
                if (o->cd == (iconv_t)-1) {
                        snprintf(errstr, errstr_size,
                                 "iconv cannot convert UTF-8 to GB18030: %s",
                                 strerror(errno));
                        free(o);
                        return NULL;
                }
        }
        return o;
}

/* Convert o->line to GB18030 in o->conv. */
static int convert(simlab_out_t *o, char *errstr, size_t errstr_size)
{
        o->conv.len = 0;
        char *in = o->line.p;
        size_t inleft = o->line.len;
        while (inleft) {
                if (buf_reserve(&o->conv, inleft * 2 + 16)) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                char *out = o->conv.p + o->conv.len;
                size_t outleft = o->conv.cap - o->conv.len;
                size_t rc = iconv(o->cd, &in, &inleft, &out, &outleft);
                o->conv.len = (size_t)(out - o->conv.p);
                if (rc == (size_t)-1 && errno != E2BIG) {
                        snprintf(errstr, errstr_size,
                                 "cannot convert to GB18030: %s",
                                 strerror(errno));
                        return -1;
                }
        }
        return 0;
}

/* Write o->line, converted if need be, and empty it. */
static int flush_line(simlab_out_t *o, char *errstr, size_t errstr_size)
{
        buf_t *b = &o->line;
        if (o->cd != (iconv_t)-1) {
                if (convert(o, errstr, errstr_size))
                        return -1;
                b = &o->conv;
        }
        if (b->len && fwrite(b->p, 1, b->len, o->fp) != b->len) {
                snprintf(errstr, errstr_size, "write failed: %s",
                         strerror(errno));
                return -1;
        }
        o->line.len = 0;
        return 0;
}

static int start(simlab_out_t *o, char *errstr, size_t errstr_size)
{
        if (o->started)
                return 0;
        o->started = 1;
        if (o->bom && buf_add(&o->line, "\xEF\xBB\xBF", 3))
                goto oom;
        if (o->format == SIMLAB_CSV) {
                for (int i = 0; i < QL_CSV_NCOLUMNS; i++) {
                        const ql_csv_column_t *c =
                            ql_csvmap_column((ql_csv_col_t)i);
                        if (add_field(&o->line,
                                      o->headers == QL_CSV_ZH ? c->zh[0]
                                                              : c->en,
                                      i == 0))
                                goto oom;
                }
                if (buf_add(&o->line, "\r\n", 2))
                        goto oom;
        }
        return flush_line(o, errstr, errstr_size);
oom:
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
}

/* One CSV row: the cells of doc and item (NULL for a result without items). */
static int csv_row(simlab_out_t *o, const json_t *doc, const json_t *item,
                   char *errstr, size_t errstr_size)
{
        for (int i = 0; i < QL_CSV_NCOLUMNS; i++) {
                const ql_csv_column_t *c = ql_csvmap_column((ql_csv_col_t)i);
                const char *cell = ql_csvmap_cell(c, o->headers, doc, item);
                if (!cell) {
                        snprintf(errstr, errstr_size,
                                 "result %s: %s has no CSV form",
                                 json_string_value(
                                     json_object_get(doc, "result_id")),
                                 c->path);
                        return -1;
                }
                if (add_field(&o->line, cell, i == 0)) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
        }
        if (buf_add(&o->line, "\r\n", 2)) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

int simlab_out_write(simlab_out_t *o, const json_t *doc, char *errstr,
                     size_t errstr_size)
{
        if (start(o, errstr, errstr_size))
                return -1;
        if (o->format == SIMLAB_JSONL) {
                char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
                int rc = s ? buf_add(&o->line, s, strlen(s)) : -1;
                free(s);
                if (rc || buf_add(&o->line, "\n", 1)) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                return flush_line(o, errstr, errstr_size);
        }
        /* All rows of a report go out together, so they stay consecutive. */
        json_t *items = json_object_get(doc, "items");
        if (json_array_size(items) == 0) {
                if (csv_row(o, doc, NULL, errstr, errstr_size))
                        return -1;
        }
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item)
        {
                if (csv_row(o, doc, item, errstr, errstr_size))
                        return -1;
        }
        return flush_line(o, errstr, errstr_size);
}

int simlab_out_finish(simlab_out_t *o, char *errstr, size_t errstr_size)
{
        if (start(o, errstr, errstr_size))
                return -1;
        if (fflush(o->fp)) {
                snprintf(errstr, errstr_size, "write failed: %s",
                         strerror(errno));
                return -1;
        }
        return 0;
}

void simlab_out_destroy(simlab_out_t *o)
{
        if (!o)
                return;
        if (o->cd != (iconv_t)-1)
                iconv_close(o->cd);
        free(o->line.p);
        free(o->conv.p);
        free(o);
}
