/*
 * Fuzz target "roundtrip": a lab's JSON body (one document or an array, as
 * the producers take it); every document that ql_result_validate() accepts
 * (in WARN mode, the most a producer accepts) must encode, decode, validate
 * again and come back equal: the same members, with null and absent
 * nullable fields taken as the same and reported_at compared as the instant
 * it names (the decoder writes it in UTC, to the millisecond, as the schema's
 * timestamp-millis keeps it).  Encoding the decoded document again must give
 * the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec_once.h"
#include "fuzz_target.h"
#include "ql_codec.h"
#include "ql_result.h"
#include "ql_time.h"

/* Drop null members of v and of everything in it.  Valid documents are
 * three levels deep, so recursion is bounded. */
static void strip_nulls(json_t *v)
{
        const char *key;
        void *tmp;
        json_t *m;
        size_t i;
        if (json_is_object(v)) {
                json_object_foreach_safe(v, tmp, key, m)
                {
                        if (json_is_null(m))
                                json_object_del(v, key);
                        else
                                strip_nulls(m);
                }
        } else if (json_is_array(v)) {
                json_array_foreach(v, i, m)
                {
                        strip_nulls(m);
                }
        }
}

/* A deep copy of doc without null members, reported_at as milliseconds. */
static json_t *normalized(const json_t *doc)
{
        json_t *copy = json_deep_copy(doc);
        FUZZ_CHECK(copy);
        strip_nulls(copy);
        int64_t ms;
        const char *ts =
            json_string_value(json_object_get(copy, "reported_at"));
        FUZZ_CHECK(ts && ql_time_parse_timestamp(ts, &ms) == 0);
        json_object_set_new(copy, "reported_at", json_integer(ms));
        return copy;
}

static void roundtrip(const ql_codec_t *codec, const json_t *doc)
{
        ql_result_opts_t warn = {.uscc_mode = QL_USCC_WARN};
        if (ql_result_validate(doc, &warn, NULL, NULL) != 0)
                return;

        char err[512] = "";
        unsigned char *msg = NULL, *msg2 = NULL;
        size_t len = 0, len2 = 0;
        json_t *back = NULL;
        if (ql_codec_encode(codec, doc, &msg, &len, err, sizeof(err)) != 0) {
                fprintf(stderr, "encode refused a valid document: %s\n", err);
                FUZZ_CHECK(!"a valid document encodes");
        }
        if (ql_codec_decode(codec, msg, len, &back, err, sizeof(err)) != 0) {
                fprintf(stderr, "decode refused its own message: %s\n", err);
                FUZZ_CHECK(!"an encoded document decodes");
        }
        FUZZ_CHECK(ql_result_validate(back, &warn, NULL, NULL) == 0);

        json_t *a = normalized(doc), *b = normalized(back);
        if (!json_equal(a, b)) {
                char *sa = json_dumps(a, JSON_SORT_KEYS | JSON_ENSURE_ASCII);
                char *sb = json_dumps(b, JSON_SORT_KEYS | JSON_ENSURE_ASCII);
                fprintf(stderr, "sent:     %s\ndecoded:  %s\n", sa, sb);
                free(sa);
                free(sb);
                FUZZ_CHECK(!"the decoded document equals the sent one");
        }
        FUZZ_CHECK(
            ql_codec_encode(codec, back, &msg2, &len2, err, sizeof(err)) == 0);
        FUZZ_CHECK(len2 == len && memcmp(msg, msg2, len) == 0);

        json_decref(a);
        json_decref(b);
        json_decref(back);
        free(msg);
        free(msg2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const ql_codec_t *codec = codec_once();
        json_t *doc = json_loadb((const char *)data, size,
                                 JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (!doc)
                return 0;
        if (json_is_array(doc)) {
                size_t i;
                json_t *el;
                json_array_foreach(doc, i, el)
                {
                        roundtrip(codec, el);
                }
        } else {
                roundtrip(codec, doc);
        }
        json_decref(doc);
        return 0;
}
