/*
 * gw_body: parsing and judging a push request's body.  The order of the
 * checks is the order of the answers' precedence: not JSON (415), JSON the
 * gateway will not take apart (400), too many records (413), invalid
 * records (400, every problem of every record), records of another lab
 * (403).  Validation runs without a lab restriction first so that a lab
 * sending another lab's records learns about their other problems too, and
 * the 403 then names each foreign record.
 */
#include "gw_body.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ql_result.h"

/* Replace with '?' every byte of s that does not start a valid UTF-8
 * character: jansson quotes the offending token of a syntax error byte by
 * byte, and a "%.64s" or a full buffer may cut a character in two, so text
 * may hold invalid UTF-8 or end inside a character, and a JSON reply
 * cannot carry either (jansson refuses such a string). */
static void utf8_scrub(char *s)
{
        size_t len = strlen(s);
        for (size_t i = 0; i < len;) {
                size_t n = 1;
                while (n <= 4 && i + n <= len &&
                       !ql_result_utf8_valid(s + i, n))
                        n++;
                if (n > 4 || i + n > len)
                        s[i++] = '?';
                else
                        i += n;
        }
}

json_t *gw_body_message(const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        utf8_scrub(msg);
        return json_pack("{s:s}", "message", msg);
}

void gw_body_result_clear(gw_body_result_t *r)
{
        if (!r)
                return;
        json_decref(r->records);
        json_decref(r->reply);
        json_decref(r->warnings);
        memset(r, 0, sizeof(*r));
}

/* {"index": i or null, "field": f, kind: text} appended to list. */
static void add_problem(json_t *list, long index, const char *field,
                        const char *kind, const char *text)
{
        json_t *p = json_object();
        if (!p)
                return;
        json_object_set_new(p, "index",
                            index < 0 ? json_null() : json_integer(index));
        json_object_set_new(p, "field", json_string(field));
        json_object_set_new(p, kind, json_string(text));
        json_array_append_new(list, p);
}

static void fail(gw_body_result_t *out, int status, json_t *reply)
{
        out->status = status;
        json_decref(out->reply);
        out->reply = reply;
        json_decref(out->records);
        out->records = NULL;
        json_decref(out->warnings);
        out->warnings = NULL;
}

/* A 400 about the body as a whole, with the one problem in "errors". */
static void fail_body(gw_body_result_t *out, const char *message,
                      const char *error)
{
        json_t *reply = gw_body_message("%s", message);
        json_t *errors = json_array();
        add_problem(errors, -1, "", "error", error);
        json_object_set_new(reply, "errors", errors);
        out->nerrors = 1;
        fail(out, 400, reply);
}

static void parse_error(gw_body_result_t *out, const json_error_t *e)
{
        char where[JSON_ERROR_TEXT_LENGTH + 64];
        snprintf(where, sizeof(where), "%s at line %d, column %d", e->text,
                 e->line, e->column);
        utf8_scrub(where);
        switch (json_error_code(e)) {
        case json_error_stack_overflow:
                fail_body(out,
                          "the body nests arrays or objects too deeply; "
                          "nothing was published",
                          where);
                return;
        case json_error_duplicate_key:
                fail_body(out,
                          "an object in the body has the same key twice, so "
                          "its meaning is ambiguous; nothing was published",
                          where);
                return;
        case json_error_null_character:
        case json_error_null_byte_in_key:
                fail_body(out,
                          "a string in the body holds a NUL character "
                          "(\\u0000); nothing was published",
                          where);
                return;
        case json_error_numeric_overflow:
                fail_body(out,
                          "a number in the body is too large; nothing was "
                          "published",
                          where);
                return;
        case json_error_out_of_memory:
                fail(out, 503,
                     gw_body_message("the gateway ran out of memory; the "
                                     "request may be retried as it is"));
                return;
        case json_error_invalid_utf8:
                fail(out, 415,
                     gw_body_message("the body is not JSON: JSON text must "
                                     "be UTF-8 (%s)",
                                     where));
                return;
        default:
                fail(out, 415,
                     gw_body_message("the body is not JSON (%s); send one "
                                     "result document or an array of them "
                                     "with Content-Type: application/json",
                                     where));
                return;
        }
}

/* Validate every record; 1 if all passed. */
static int validate_all(json_t *records, const gw_body_opts_t *opts,
                        gw_body_result_t *out)
{
        ql_result_opts_t ro = {opts->uscc_mode, NULL};
        ql_problems_t errs = {0}, warns = {0};
        json_t *errors = json_array(), *warnings = json_array();
        size_t bad_records = 0, listed = 0, i;
        json_t *doc;
        json_array_foreach(records, i, doc)
        {
                size_t n = ql_result_validate(doc, &ro, &errs, &warns);
                out->nerrors += n;
                bad_records += n > 0;
                for (size_t k = 0; k < errs.n; k++)
                        if (listed++ < GW_BODY_MAX_ERRORS)
                                add_problem(errors, (long)i, errs.v[k].field,
                                            "error", errs.v[k].message);
                for (size_t k = 0; k < warns.n; k++)
                        add_problem(warnings, (long)i, warns.v[k].field,
                                    "warning", warns.v[k].message);
                ql_problems_clear(&errs);
                ql_problems_clear(&warns);
        }
        if (out->nerrors == 0) {
                json_decref(errors);
                if (json_array_size(warnings) > 0)
                        out->warnings = warnings;
                else
                        json_decref(warnings);
                return 1;
        }
        json_decref(warnings);
        json_t *reply = gw_body_message(
            "%zu problem%s in %zu of %zu record%s%s; nothing was published: "
            "correct them and send the whole request again",
            out->nerrors, out->nerrors == 1 ? "" : "s", bad_records,
            json_array_size(records), json_array_size(records) == 1 ? "" : "s",
            listed > GW_BODY_MAX_ERRORS ? " (the first ones are listed)" : "");
        json_object_set_new(reply, "errors", errors);
        fail(out, 400, reply);
        return 0;
}

/* Every record's lab.code must be the token's lab; 1 if so. */
static int check_labs(json_t *records, const gw_body_opts_t *opts,
                      gw_body_result_t *out)
{
        json_t *errors = json_array();
        size_t foreign = 0, i;
        const char *first = NULL;
        json_t *doc;
        json_array_foreach(records, i, doc)
        {
                const char *lab = ql_result_str(doc, "lab.code");
                if (lab && !strcmp(lab, opts->lab_code))
                        continue;
                if (!first)
                        first = lab ? lab : "";
                char msg[256];
                snprintf(msg, sizeof(msg),
                         "the record is for lab \"%.64s\" but the token is "
                         "lab \"%s\"'s",
                         lab ? lab : "", opts->lab_code);
                utf8_scrub(msg);
                if (foreign++ < GW_BODY_MAX_ERRORS)
                        add_problem(errors, (long)i, "lab.code", "error", msg);
        }
        if (!foreign) {
                json_decref(errors);
                return 1;
        }
        out->nerrors = foreign;
        json_t *reply = gw_body_message(
            "%zu record%s %s not for lab \"%s\", whose token this is (the "
            "first is for \"%.64s\"); a lab may push only its own results; "
            "nothing was published",
            foreign, foreign == 1 ? "" : "s", foreign == 1 ? "is" : "are",
            opts->lab_code, first);
        json_object_set_new(reply, "errors", errors);
        fail(out, 403, reply);
        return 0;
}

void gw_body_check(const char *body, size_t len, const gw_body_opts_t *opts,
                   gw_body_result_t *out)
{
        memset(out, 0, sizeof(*out));
        /* A UTF-8 byte order mark is not JSON, but Windows tools write one;
         * it carries no meaning, so it is skipped. */
        if (len >= 3 && !memcmp(body, "\xEF\xBB\xBF", 3)) {
                body += 3;
                len -= 3;
        }
        json_error_t e;
        json_t *root =
            json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
        if (!root) {
                if (len == 0)
                        fail(out, 415,
                             gw_body_message("the body is empty; send one "
                                             "result document or an array "
                                             "of them"));
                else
                        parse_error(out, &e);
                return;
        }
        json_t *records;
        if (json_is_array(root)) {
                records = root;
        } else if (json_is_object(root)) {
                records = json_array();
                json_array_append_new(records, root);
        } else {
                json_decref(root);
                fail_body(out,
                          "the body must be one result document (a JSON "
                          "object) or an array of them",
                          "the body is a JSON scalar, not an object or array");
                return;
        }
        out->nrecords = json_array_size(records);
        if (out->nrecords == 0) {
                json_decref(records);
                fail_body(out, "the array holds no result; nothing to publish",
                          "empty array");
                return;
        }
        if (out->nrecords > opts->max_records) {
                json_decref(records);
                fail(out, 413,
                     gw_body_message("%zu records are more than the limit of "
                                     "%zu per request; split them into "
                                     "several requests",
                                     out->nrecords, opts->max_records));
                return;
        }
        if (validate_all(records, opts, out) && check_labs(records, opts, out))
                out->records = records;
        else
                json_decref(records);
}
