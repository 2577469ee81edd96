/*
 * bd_form: urlencoded decoding (see bd_form.h).
 */
#include "bd_form.h"

#include <stdlib.h>
#include <string.h>

#include "bd_html.h"

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decode s[0..n) into a new string; NULL on a bad escape or invalid
 * UTF-8. */
static char *decode(const char *s, size_t n)
{
        char *out = malloc(n + 1);
        if (!out)
                return NULL;
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '+') {
                        out[o++] = ' ';
                } else if (s[i] == '%') {
                        if (n - i < 3) {
                                free(out);
                                return NULL;
                        }
                        int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
                        if (h < 0 || l < 0) {
                                free(out);
                                return NULL;
                        }
                        out[o++] = (char)(h * 16 + l);
                        i += 2;
                } else {
                        out[o++] = s[i];
                }
        }
        out[o] = '\0';
        if (!bd_html_valid_utf8(out, o)) {
                explicit_bzero(out, o);
                free(out);
                return NULL;
        }
        return out;
}

int bd_form_parse(bd_form_t *f, const char *body, size_t n)
{
        memset(f, 0, sizeof(*f));
        size_t i = 0;
        while (i < n) {
                size_t end = i;
                while (end < n && body[end] != '&')
                        end++;
                if (end > i) {
                        size_t eq = i;
                        while (eq < end && body[eq] != '=')
                                eq++;
                        if (f->n == BD_FORM_MAX_FIELDS)
                                goto bad;
                        char *name = decode(body + i, eq - i);
                        char *value = eq < end
                                          ? decode(body + eq + 1, end - eq - 1)
                                          : strdup("");
                        if (!name || !value) {
                                free(name);
                                free(value);
                                goto bad;
                        }
                        f->name[f->n] = name;
                        f->value[f->n] = value;
                        f->n++;
                }
                i = end + 1;
        }
        return 0;
bad:
        bd_form_clear(f);
        return -1;
}

const char *bd_form_get(const bd_form_t *f, const char *name)
{
        for (size_t i = 0; i < f->n; i++)
                if (!strcmp(f->name[i], name))
                        return f->value[i];
        return NULL;
}

void bd_form_clear(bd_form_t *f)
{
        for (size_t i = 0; i < f->n; i++) {
                explicit_bzero(f->value[i], strlen(f->value[i]));
                free(f->value[i]);
                free(f->name[i]);
        }
        memset(f, 0, sizeof(*f));
}
