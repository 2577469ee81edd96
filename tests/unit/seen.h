/*
 * The records a streaming reader's unit test collects (test_csvread,
 * test_jsonlread): ql_csvread and ql_jsonlread hand out records of the same
 * shape, so each test's callback passes the fields to seen_add(), which
 * keeps copies (the reader's are borrowed for the call only) and checks that
 * a record has a document or errors, never both or neither.  Header-only:
 * included by the tests, each its own executable.
 */
#ifndef QL_TEST_SEEN_H
#define QL_TEST_SEEN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ql_result.h"

#define SEEN_MAX 32

typedef struct {
        size_t n;
        size_t line[SEEN_MAX];
        char *report_no[SEEN_MAX];
        json_t *doc[SEEN_MAX];  /* copies; NULL if rejected */
        char *errors[SEEN_MAX]; /* "field: message | ..." */
        int stop_after;         /* 0: never */
} seen_t;

/* Keep one record.  Returns what the reader's callback returns: non-zero
 * (stop) once stop_after records were seen. */
static int seen_add(seen_t *s, size_t line, const char *report_no,
                    const json_t *doc, const ql_problems_t *errors)
{
        assert_true(s->n < SEEN_MAX);
        assert_true(doc ? errors->n == 0 : errors->n > 0);
        size_t i = s->n++;
        s->line[i] = line;
        s->report_no[i] = report_no ? strdup(report_no) : NULL;
        s->doc[i] = doc ? json_deep_copy(doc) : NULL;
        char *e = strdup("");
        for (size_t k = 0; k < errors->n; k++) {
                char *old = e;
                if (asprintf(&e, "%s%s: %s | ", old, errors->v[k].field,
                             errors->v[k].message) < 0)
                        fail();
                free(old);
        }
        s->errors[i] = e;
        return s->stop_after && s->n >= (size_t)s->stop_after;
}

/* Free what was kept; s is empty again (stop_after too). */
static void seen_free(seen_t *s)
{
        for (size_t i = 0; i < s->n; i++) {
                free(s->report_no[i]);
                json_decref(s->doc[i]);
                free(s->errors[i]);
        }
        memset(s, 0, sizeof(*s));
}

#endif
