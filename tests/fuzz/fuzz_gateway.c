/*
 * Fuzz target "gateway": bytes as the body of POST /v1/results, judged by
 * gw_body_check() -- the gateway's request handling apart from HTTP and
 * Kafka (producers/gateway/gw_body.c, compiled into this target).  The
 * headers (bearer token, Content-Type, Content-Length) are parsed inside the
 * libmicrohttpd callbacks of gw_server.c and are not reachable without a
 * server; tests/fuzz/README.md says what that would need.  Beyond "no
 * crash, no leak, no undefined behaviour" it checks the contract of
 * gw_body.h: the status is one of 0, 400, 403, 413, 415; an accepted body
 * yields exactly its valid records, all of the token's lab; a refusal
 * yields a JSON error body whose message and problems are UTF-8, with
 * indexes in range; a body whose records all validate is accepted; the
 * same accepted body is 403 for another lab and 413 under a lower record
 * limit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_target.h"
#include "gw_body.h"
#include "ql_result.h"

#define LAB         "FJQI"
#define MAX_RECORDS 3

static int utf8_string(const json_t *v)
{
        return json_is_string(v) && ql_result_utf8_valid(json_string_value(v),
                                                         json_string_length(v));
}

static void check_reply(const gw_body_result_t *r)
{
        FUZZ_CHECK(r->records == NULL && r->warnings == NULL);
        FUZZ_CHECK(json_is_object(r->reply));
        const json_t *msg = json_object_get(r->reply, "message");
        FUZZ_CHECK(utf8_string(msg) && json_string_length(msg) > 0);
        const json_t *errors = json_object_get(r->reply, "errors");
        if (errors) {
                FUZZ_CHECK(json_is_array(errors));
                FUZZ_CHECK(json_array_size(errors) <= GW_BODY_MAX_ERRORS);
                size_t i;
                const json_t *e;
                json_array_foreach(errors, i, e)
                {
                        const json_t *index = json_object_get(e, "index");
                        FUZZ_CHECK(
                            json_is_null(index) ||
                            (json_is_integer(index) &&
                             json_integer_value(index) >= 0 &&
                             (size_t)json_integer_value(index) < r->nrecords));
                        FUZZ_CHECK(utf8_string(json_object_get(e, "field")));
                        FUZZ_CHECK(utf8_string(json_object_get(e, "error")));
                }
        }
        char *text = json_dumps(r->reply, JSON_COMPACT);
        FUZZ_CHECK(text && ql_result_utf8_valid(text, strlen(text)));
        free(text);
}

static void check_accepted(const gw_body_result_t *r,
                           const gw_body_opts_t *opts)
{
        FUZZ_CHECK(r->reply == NULL);
        FUZZ_CHECK(json_is_array(r->records));
        FUZZ_CHECK(json_array_size(r->records) == r->nrecords);
        FUZZ_CHECK(r->nrecords >= 1 && r->nrecords <= opts->max_records);
        ql_result_opts_t v = {.uscc_mode = opts->uscc_mode,
                              .lab_code = opts->lab_code};
        size_t i;
        const json_t *doc;
        json_array_foreach(r->records, i, doc)
        {
                FUZZ_CHECK(ql_result_validate(doc, &v, NULL, NULL) == 0);
        }
        if (r->warnings) {
                FUZZ_CHECK(json_is_array(r->warnings));
                const json_t *w;
                json_array_foreach(r->warnings, i, w)
                {
                        const json_t *index = json_object_get(w, "index");
                        FUZZ_CHECK(json_is_integer(index) &&
                                   json_integer_value(index) >= 0 &&
                                   (size_t)json_integer_value(index) <
                                       r->nrecords);
                        FUZZ_CHECK(utf8_string(json_object_get(w, "field")));
                        FUZZ_CHECK(utf8_string(json_object_get(w, "warning")));
                }
        }
}

/* Whether every record of the body, parsed as the gateway parses it,
 * validates for opts: then the body must be accepted. */
static int all_valid(const uint8_t *data, size_t size,
                     const gw_body_opts_t *opts)
{
        json_t *doc =
            json_loadb((const char *)data, size,
                       JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
        if (!doc)
                return 0;
        ql_result_opts_t v = {.uscc_mode = opts->uscc_mode,
                              .lab_code = opts->lab_code};
        int ok;
        if (json_is_object(doc)) {
                ok = ql_result_validate(doc, &v, NULL, NULL) == 0;
        } else if (json_is_array(doc) && json_array_size(doc) > 0 &&
                   json_array_size(doc) <= opts->max_records) {
                size_t i;
                json_t *el;
                ok = 1;
                json_array_foreach(doc, i, el)
                {
                        if (!json_is_object(el) ||
                            ql_result_validate(el, &v, NULL, NULL) != 0)
                                ok = 0;
                }
        } else {
                ok = 0;
        }
        json_decref(doc);
        return ok;
}

static int judge(const uint8_t *data, size_t size, const gw_body_opts_t *opts,
                 gw_body_result_t *r)
{
        gw_body_check((const char *)data, size, opts, r);
        FUZZ_CHECK(r->status == 0 || r->status == 400 || r->status == 403 ||
                   r->status == 413 || r->status == 415);
        if (r->status == 0)
                check_accepted(r, opts);
        else
                check_reply(r);
        return r->status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        gw_body_opts_t opts = {.lab_code = LAB,
                               .uscc_mode = QL_USCC_STRICT,
                               .max_records = MAX_RECORDS};
        gw_body_result_t r;
        int status = judge(data, size, &opts, &r);
        size_t n = r.nrecords;
        gw_body_result_clear(&r);

        if (all_valid(data, size, &opts))
                FUZZ_CHECK(status == 0);

        /* WARN mode takes at least what STRICT takes. */
        gw_body_opts_t warn = opts;
        warn.uscc_mode = QL_USCC_WARN;
        int status_warn = judge(data, size, &warn, &r);
        gw_body_result_clear(&r);
        if (status == 0)
                FUZZ_CHECK(status_warn == 0);

        if (status == 0) {
                gw_body_opts_t other = opts;
                other.lab_code = "XMQI";
                FUZZ_CHECK(judge(data, size, &other, &r) == 403);
                gw_body_result_clear(&r);
                gw_body_opts_t fewer = opts;
                fewer.max_records = n - 1;
                FUZZ_CHECK(judge(data, size, &fewer, &r) == 413);
                gw_body_result_clear(&r);
        }
        return 0;
}
