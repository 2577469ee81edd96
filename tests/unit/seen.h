/*
 * The records a streaming reader's unit test collects (test_csvread,
 * test_jsonlread): spool_csvread and spool_jsonlread hand out records of the
 * same shape, so each test's callback passes the fields to seen_add(), which
 * keeps copies (the reader's are borrowed for the call only) and checks that
 * a record has a document or errors, never both or neither.  The row and
 * line tests (test_csvread_rows, test_jsonlread_lines) compare whole
 * readings instead: seen_log_add() appends each record as one line of text.
 * Header-only: included by the tests, each its own executable.
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
static inline int seen_add(seen_t *s, size_t line, const char *report_no,
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
static inline void seen_free(seen_t *s)
{
        for (size_t i = 0; i < s->n; i++) {
                free(s->report_no[i]);
                json_decref(s->doc[i]);
                free(s->errors[i]);
        }
        memset(s, 0, sizeof(*s));
}

/* Every record as one line "line|report_no|document|[errors]|[warnings]",
 * the document with sorted keys ("-" when rejected). */
typedef struct {
        char *text;
        size_t n;
        size_t stop_after; /* 0: never */
} seen_log_t;

static inline char *seen_problems_text(const ql_problems_t *p)
{
        char *s = strdup("");
        for (size_t i = 0; p && i < p->n; i++) {
                char *t;
                if (asprintf(&t, "%s[%s: %s]", s, p->v[i].field,
                             p->v[i].message) < 0)
                        fail();
                free(s);
                s = t;
        }
        return s;
}

/* Append one record.  Returns what the reader's callback returns: non-zero
 * (stop) once stop_after records were logged. */
static inline int seen_log_add(seen_log_t *lg, size_t line,
                               const char *report_no, const json_t *doc,
                               const ql_problems_t *errors,
                               const ql_problems_t *warnings)
{
        char *d = doc ? json_dumps(doc, JSON_SORT_KEYS) : NULL;
        char *e = seen_problems_text(errors), *w = seen_problems_text(warnings);
        char *t;
        if (asprintf(&t, "%s%zu|%s|%s|%s|%s\n", lg->text ? lg->text : "", line,
                     report_no ? report_no : "-", d ? d : "-", e, w) < 0)
                fail();
        free(lg->text);
        lg->text = t;
        free(d);
        free(e);
        free(w);
        return lg->stop_after && ++lg->n >= lg->stop_after;
}

#endif
