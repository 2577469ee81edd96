/*
 * bd_html: the one way a value reaches an HTML page.  Every piece of text
 * that did not come from our own code -- the database's rows, the request's
 * path and parameters, an error message -- is appended with one of these, so
 * it shows as text and can never open a tag, close an attribute or start a
 * script:
 *
 *   bd_html_txt()      element content:   <td>VALUE</td>
 *   bd_html_attr()     a quoted attribute value:  value="VALUE"
 *   bd_html_url_arg()  one component of a URL inside an attribute
 *                      (a path segment or a query value): percent-encoded
 *
 * The same rules as cgit's html.c (html_txt, html_attr, html_url_arg).  All
 * functions accept NULL (nothing is written) and bytes that are not valid
 * UTF-8 or are control characters (other than tab and newline) are written
 * as U+FFFD, so a page is always valid UTF-8.
 */
#ifndef BD_HTML_H
#define BD_HTML_H

#include <stddef.h>

#include "bd_buf.h"

void bd_html_txt(bd_buf_t *b, const char *s);
void bd_html_txtn(bd_buf_t *b, const char *s, size_t n);
void bd_html_attr(bd_buf_t *b, const char *s);
void bd_html_url_arg(bd_buf_t *b, const char *s);

/* Is s (n bytes) valid UTF-8 without NUL bytes?  1 or 0. */
int bd_html_valid_utf8(const char *s, size_t n);

#endif
