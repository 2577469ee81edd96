/*
 * bd_buf: the growable byte buffer every ql-board answer is built in.  A
 * page, a CSV export or a JSON document is appended piece by piece and
 * handed to the HTTP server whole.  Running out of memory is sticky: later
 * appends do nothing and bd_buf_failed() says so, so a page is built without
 * checking every append and the server answers 500 once at the end.
 *
 * Only trusted text (markup written in our own code, numbers) goes in with
 * bd_buf_puts()/bd_buf_printf(); anything from the database or the request
 * goes through bd_html (pages) or bd_csv (exports).
 */
#ifndef BD_BUF_H
#define BD_BUF_H

#include <stddef.h>

typedef struct {
        char *data; /* NUL-terminated when not NULL */
        size_t len, cap;
        int failed; /* an allocation failed; contents are incomplete */
} bd_buf_t;

/* Append n bytes / a NUL-terminated string / formatted text. */
void bd_buf_putn(bd_buf_t *b, const char *s, size_t n);
void bd_buf_puts(bd_buf_t *b, const char *s);
void bd_buf_putc(bd_buf_t *b, char c);
void bd_buf_printf(bd_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int bd_buf_failed(const bd_buf_t *b);

/* Hand the contents over: returns the malloc'ed data (you own it; "" for an
 * empty buffer) and its length in *len, and leaves the buffer empty.  NULL
 * when an append failed (the buffer is freed then too). */
char *bd_buf_take(bd_buf_t *b, size_t *len /* OUT */);

void bd_buf_free(bd_buf_t *b); /* frees the contents; b itself is yours */

#endif
