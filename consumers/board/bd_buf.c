/*
 * bd_buf: a byte buffer that doubles its capacity as it grows and remembers
 * a failed allocation instead of reporting each one (see bd_buf.h).
 */
#include "bd_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(bd_buf_t *b, size_t more)
{
        if (b->failed)
                return -1;
        if (more > ((size_t)-1) / 2 - b->len) {
                b->failed = 1;
                return -1;
        }
        size_t need = b->len + more + 1;
        if (need <= b->cap)
                return 0;
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < need)
                cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
                b->failed = 1;
                return -1;
        }
        b->data = d;
        b->cap = cap;
        return 0;
}

void bd_buf_putn(bd_buf_t *b, const char *s, size_t n)
{
        if (reserve(b, n))
                return;
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

void bd_buf_puts(bd_buf_t *b, const char *s)
{
        bd_buf_putn(b, s, strlen(s));
}

void bd_buf_putc(bd_buf_t *b, char c)
{
        bd_buf_putn(b, &c, 1);
}

void bd_buf_printf(bd_buf_t *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char small[256];
        int n = vsnprintf(small, sizeof(small), fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->failed = 1;
                return;
        }
        if ((size_t)n < sizeof(small)) {
                bd_buf_putn(b, small, (size_t)n);
                return;
        }
        if (reserve(b, (size_t)n))
                return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
}

int bd_buf_failed(const bd_buf_t *b)
{
        return b->failed;
}

char *bd_buf_take(bd_buf_t *b, size_t *len)
{
        if (b->failed) {
                bd_buf_free(b);
                *len = 0;
                return NULL;
        }
        char *d = b->data ? b->data : strdup("");
        *len = b->len;
        b->data = NULL;
        b->len = b->cap = 0;
        return d;
}

void bd_buf_free(bd_buf_t *b)
{
        if (!b)
                return;
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
        b->failed = 0;
}
