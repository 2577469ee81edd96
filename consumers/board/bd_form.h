/*
 * bd_form: the fields of an application/x-www-form-urlencoded body (the
 * workbench's forms) decoded into name/value pairs.  '+' is a space and %XX
 * a byte; a field that is not valid UTF-8 after decoding, a bad escape or
 * more than BD_FORM_MAX_FIELDS fields make the whole body invalid.  The
 * first field of a name wins.  Pure: no I/O, unit-tested.
 */
#ifndef BD_FORM_H
#define BD_FORM_H

#include <stddef.h>

#define BD_FORM_MAX_FIELDS 32

typedef struct {
        size_t n;
        char *name[BD_FORM_MAX_FIELDS];
        char *value[BD_FORM_MAX_FIELDS];
} bd_form_t;

/* Parse body (n bytes, not necessarily NUL-terminated) into f.  0, or -1
 * (invalid; f is cleared).  bd_form_clear() f in every case. */
int bd_form_parse(bd_form_t *f, const char *body, size_t n);

/* The value of field `name`, or NULL. */
const char *bd_form_get(const bd_form_t *f, const char *name);

/* Free the fields, wiping the values first (a password travels here). */
void bd_form_clear(bd_form_t *f);

#endif
