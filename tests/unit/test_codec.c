/*
 * Unit tests for ql_codec: the specification's fingerprint vectors, the
 * Parsing Canonical Form, round trips of the full example document, every
 * truncation and random corruption of a message, hand-made hostile datums,
 * schema evolution (an older writer read as a newer schema with defaults,
 * enum symbols matched by name, promotions), the repository's version 1
 * read as the newest, and concurrent use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <unistd.h>

#include "ql_codec.h"
#include "ql_time.h"

/*------------------------------------------------------------------------
 * Helpers
 */

static const char *schema_dir(void)
{
        const char *d = getenv("QL_SCHEMA_DIR");
        return d && *d ? d : QL_SOURCE_SCHEMA_DIR;
}

static json_t *load_full_doc(void)
{
        char path[4096];
        const char *src = getenv("QL_SRC");
        if (src && *src)
                snprintf(path, sizeof(path), "%s/tests/data/result_full.json",
                         src);
        else
                snprintf(path, sizeof(path),
                         "%s/../../tests/data/result_full.json",
                         QL_SOURCE_SCHEMA_DIR);
        json_error_t jerr;
        json_t *doc = json_load_file(path, 0, &jerr);
        if (!doc)
                fail_msg("%s: %s", path, jerr.text);
        return doc;
}

/* doc in the shape of schema version 1: without the fields version 2
 * added (enterprise.address and .contact, manufacturer.address). */
static json_t *v1_shape(const json_t *doc)
{
        json_t *d = json_deep_copy(doc);
        json_t *e = json_object_get(d, "enterprise");
        json_object_del(e, "address");
        json_object_del(e, "contact");
        json_object_del(json_object_get(d, "manufacturer"), "address");
        return d;
}

/* What decoding doc should give: timestamps in UTC. */
static json_t *expected_of(const json_t *doc)
{
        json_t *e = json_deep_copy(doc);
        int64_t ms;
        char buf[40];
        assert_int_equal(
            ql_time_parse_timestamp(
                json_string_value(json_object_get(e, "reported_at")), &ms),
            0);
        ql_time_format_timestamp(ms, 0, buf, sizeof(buf));
        json_object_set_new(e, "reported_at", json_string(buf));
        return e;
}

static void assert_json_equal(const json_t *got, const json_t *want)
{
        if (!json_equal(got, want)) {
                char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
                char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
                print_error("got:  %s\nwant: %s\n", g, w);
                free(g);
                free(w);
                fail();
        }
}

static void encode_ok(const ql_codec_t *codec, const json_t *doc,
                      unsigned char **msg, size_t *len)
{
        char errstr[512] = "";
        int rc = ql_codec_encode(codec, doc, msg, len, errstr, sizeof(errstr));
        if (rc)
                fail_msg("encode: %s", errstr);
}

static json_t *decode_ok(const ql_codec_t *codec, const void *msg, size_t len)
{
        char errstr[512] = "";
        json_t *doc = NULL;
        if (ql_codec_decode(codec, msg, len, &doc, errstr, sizeof(errstr)))
                fail_msg("decode: %s", errstr);
        assert_non_null(doc);
        return doc;
}

/* Decoding must fail, with a reason containing `want` (if not NULL). */
static void decode_fails(const ql_codec_t *codec, const void *msg, size_t len,
                         const char *want)
{
        char errstr[512] = "";
        json_t *doc = (json_t *)1;
        assert_int_equal(
            ql_codec_decode(codec, msg, len, &doc, errstr, sizeof(errstr)), -1);
        assert_null(doc);
        assert_true(errstr[0] != '\0');
        if (want && !strstr(errstr, want))
                fail_msg("error \"%s\" does not mention \"%s\"", errstr, want);
}

static void encode_fails(const ql_codec_t *codec, const json_t *doc,
                         const char *want)
{
        char errstr[512] = "";
        unsigned char *msg = (unsigned char *)1;
        size_t len = 7;
        assert_int_equal(
            ql_codec_encode(codec, doc, &msg, &len, errstr, sizeof(errstr)),
            -1);
        assert_null(msg);
        if (!strstr(errstr, want))
                fail_msg("error \"%s\" does not mention \"%s\"", errstr, want);
}

static ql_codec_t *codec_ok(const char *dir)
{
        char errstr[512] = "";
        ql_codec_t *codec = ql_codec_new(dir, errstr, sizeof(errstr));
        if (!codec)
                fail_msg("ql_codec_new(%s): %s", dir, errstr);
        return codec;
}

/* A private directory of schema files, removed by tmpdir_remove(). */
typedef struct {
        char path[64];
        char files[8][64];
        int n;
} tmpdir_t;

static void tmpdir_make(tmpdir_t *t)
{
        strcpy(t->path, "/tmp/ql_test_codec.XXXXXX");
        assert_non_null(mkdtemp(t->path));
        t->n = 0;
}

static void tmpdir_write(tmpdir_t *t, const char *name, const char *text)
{
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", t->path, name);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        for (int i = 0; i < t->n; i++)
                if (strcmp(t->files[i], name) == 0)
                        return;
        snprintf(t->files[t->n++], sizeof(t->files[0]), "%s", name);
}

static void tmpdir_write_json(tmpdir_t *t, const char *name, const json_t *j)
{
        char *text = json_dumps(j, JSON_INDENT(2));
        tmpdir_write(t, name, text);
        free(text);
}

static void tmpdir_remove(tmpdir_t *t)
{
        char p[256];
        for (int i = 0; i < t->n; i++) {
                snprintf(p, sizeof(p), "%s/%s", t->path, t->files[i]);
                unlink(p);
        }
        rmdir(t->path);
}

static json_t *load_repo_schema(const char *name)
{
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", schema_dir(), name);
        json_t *j = json_load_file(p, 0, NULL);
        assert_non_null(j);
        return j;
}

/* The fields array of the named record type found anywhere in schema j. */
static json_t *find_record_fields(json_t *j, const char *name)
{
        if (json_is_object(j)) {
                const char *n = json_string_value(json_object_get(j, "name"));
                const char *t = json_string_value(json_object_get(j, "type"));
                if (n && t && strcmp(t, "record") == 0 && strcmp(n, name) == 0)
                        return json_object_get(j, "fields");
                const char *k;
                json_t *v;
                json_object_foreach(j, k, v)
                {
                        json_t *f = find_record_fields(v, name);
                        if (f)
                                return f;
                }
        } else if (json_is_array(j)) {
                size_t i;
                json_t *v;
                json_array_foreach(j, i, v)
                {
                        json_t *f = find_record_fields(v, name);
                        if (f)
                                return f;
                }
        }
        return NULL;
}

static json_t *find_field(json_t *fields, const char *name)
{
        size_t i;
        json_t *f;
        json_array_foreach(fields, i, f)
        {
                if (strcmp(json_string_value(json_object_get(f, "name")),
                           name) == 0)
                        return f;
        }
        return NULL;
}

/* xorshift64*: the tests' own seeded generator. */
static uint64_t rng_next(uint64_t *s)
{
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        return *s * 0x2545F4914F6CDD1DULL;
}

/*------------------------------------------------------------------------
 * Fingerprints and canonical form
 */

static void test_crc64_vectors(void **state)
{
        /* Avro specification, "Schema Fingerprints". */
        assert_true(ql_codec_crc64("\"null\"", 6) == 7195948357588979594ULL);
        assert_true((int64_t)ql_codec_crc64("\"boolean\"", 9) ==
                    -6970731678124411036LL);
        assert_true(ql_codec_crc64("\"int\"", 5) == 8247732601305521295ULL);
        assert_true((int64_t)ql_codec_crc64("\"string\"", 8) ==
                    -8142146995180207161LL);
        assert_true((int64_t)ql_codec_crc64("[]", 2) == -1241056759729112623LL);

        char errstr[256];
        char *c = ql_codec_canonical_form("{\"type\": \"boolean\"}", errstr,
                                          sizeof(errstr));
        assert_non_null(c);
        assert_string_equal(c, "\"boolean\"");
        assert_true((int64_t)ql_codec_crc64(c, strlen(c)) ==
                    -6970731678124411036LL);
        free(c);
        c = ql_codec_canonical_form(" \"null\" ", errstr, sizeof(errstr));
        assert_non_null(c);
        assert_string_equal(c, "\"null\"");
        free(c);
}

static void test_canonical_form(void **state)
{
        /* Every transformation of the specification at once: docs, aliases,
         * defaults, logical types and namespaces stripped; names made full
         * (inherited namespace, explicit namespace, dotted name); a named
         * type spelled out once and referenced after; attribute order. */
        const char *schema =
            "{ \"fields\": [\n"
            "   {\"type\": {\"type\": \"int\", \"logicalType\": \"date\"},\n"
            "    \"name\": \"a\", \"default\": 0, \"doc\": \"a date\"},\n"
            "   {\"name\": \"b\", \"type\": {\"symbols\": [\"P\", \"Q\"],\n"
            "     \"type\": \"enum\", \"name\": \"E\", \"aliases\": "
            "[\"O\"]}},\n"
            "   {\"name\": \"c\", \"type\": [\"null\", \"E\"]},\n"
            "   {\"name\": \"d\", \"type\": {\"type\": \"array\", \"items\":\n"
            "     {\"size\": 4, \"type\": \"fixed\", \"name\": \"z.F\"}}},\n"
            "   {\"name\": \"e\", \"type\": {\"values\": \"z.F\",\n"
            "     \"type\": \"map\"}},\n"
            "   {\"name\": \"f\", \"type\": {\"type\": \"record\",\n"
            "     \"name\": \"R\", \"namespace\": \"w\", \"fields\": [\n"
            "       {\"name\": \"g\", \"type\": {\"type\": \"long\",\n"
            "        \"logicalType\": \"timestamp-millis\"}},\n"
            "       {\"name\": \"h\", \"type\": {\"type\": \"x.y.E\"}}]}},\n"
            "   {\"name\": \"i\", \"type\": \"w.R\"}],\n"
            "  \"type\": \"record\", \"name\": \"Pair\", \"namespace\": "
            "\"x.y\",\n"
            "  \"doc\": \"\\u0044oc\" }";
        const char *want =
            "{\"name\":\"x.y.Pair\",\"type\":\"record\",\"fields\":["
            "{\"name\":\"a\",\"type\":\"int\"},"
            "{\"name\":\"b\",\"type\":{\"name\":\"x.y.E\",\"type\":\"enum\","
            "\"symbols\":[\"P\",\"Q\"]}},"
            "{\"name\":\"c\",\"type\":[\"null\",\"x.y.E\"]},"
            "{\"name\":\"d\",\"type\":{\"type\":\"array\",\"items\":"
            "{\"name\":\"z.F\",\"type\":\"fixed\",\"size\":4}}},"
            "{\"name\":\"e\",\"type\":{\"type\":\"map\",\"values\":\"z.F\"}},"
            "{\"name\":\"f\",\"type\":{\"name\":\"w.R\",\"type\":\"record\","
            "\"fields\":[{\"name\":\"g\",\"type\":\"long\"},"
            "{\"name\":\"h\",\"type\":\"x.y.E\"}]}},"
            "{\"name\":\"i\",\"type\":\"w.R\"}]}";
        char errstr[256];
        char *c = ql_codec_canonical_form(schema, errstr, sizeof(errstr));
        if (!c)
                fail_msg("%s", errstr);
        assert_string_equal(c, want);
        free(c);

        const char *bad[] = {
            "{\"type\": ",
            "{\"type\": \"record\", \"name\": \"R\", \"fields\": "
            "[{\"name\": \"a\", \"type\": \"Nope\"}]}",
            "[\"int\", \"int\"]",
            "{\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"A\", "
            "\"A\"]}",
            "{\"type\": \"record\", \"name\": \"9R\", \"fields\": []}",
            "{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"name\": "
            "\"a\", \"type\": \"int\", \"default\": \"x\"}]}",
            "{\"type\": \"array\"}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                errstr[0] = '\0';
                c = ql_codec_canonical_form(bad[i], errstr, sizeof(errstr));
                if (c)
                        fail_msg("accepted bad schema %zu: %s", i, c);
                assert_true(errstr[0] != '\0');
        }
}

static void test_repo_schemas(void **state)
{
        ql_codec_t *codec = codec_ok(schema_dir());
        size_t n = ql_codec_schema_count(codec);
        assert_true(n >= 1);
        for (size_t i = 0; i < n; i++) {
                const char *file, *canonical;
                uint64_t fp;
                assert_int_equal(
                    ql_codec_schema_info(codec, i, &file, &fp, &canonical), 0);
                assert_true(fp == ql_codec_crc64(canonical, strlen(canonical)));
                /* The canonical form is itself a schema with that form. */
                char errstr[256];
                char *again =
                    ql_codec_canonical_form(canonical, errstr, sizeof(errstr));
                assert_non_null(again);
                assert_string_equal(again, canonical);
                free(again);
                if (i == n - 1)
                        assert_true(fp == ql_codec_newest_fingerprint(codec));
        }
        assert_int_equal(ql_codec_schema_info(codec, n, NULL, NULL, NULL), -1);
        ql_codec_destroy(codec);
}

/*------------------------------------------------------------------------
 * Round trips
 */

static void test_round_trip(void **state)
{
        ql_codec_t *codec = codec_ok(schema_dir());
        json_t *doc = load_full_doc();
        unsigned char *msg;
        size_t len;

        /* The example as it is: manufacturer given, several items. */
        assert_true(json_object_get(json_object_get(doc, "manufacturer"),
                                    "name") != NULL);
        assert_true(json_array_size(json_object_get(doc, "items")) >= 2);
        encode_ok(codec, doc, &msg, &len);
        assert_true(len > 10);
        assert_int_equal(msg[0], 0xC3);
        assert_int_equal(msg[1], 0x01);
        uint64_t fp = 0;
        for (int i = 0; i < 8; i++)
                fp |= (uint64_t)msg[2 + i] << (8 * i);
        assert_true(fp == ql_codec_newest_fingerprint(codec));
        json_t *got = decode_ok(codec, msg, len);
        json_t *want = expected_of(doc);
        assert_json_equal(got, want);
        assert_string_equal(
            json_string_value(json_object_get(got, "reported_at")),
            "2026-03-02T02:15:00.000Z");
        /* Decoded documents encode to the same bytes. */
        unsigned char *msg2;
        size_t len2;
        encode_ok(codec, got, &msg2, &len2);
        assert_int_equal(len2, len);
        assert_memory_equal(msg2, msg, len);
        free(msg2);
        json_decref(got);
        json_decref(want);
        free(msg);

        /* Manufacturer null, a recheck that refers to a result, a timestamp
         * with another offset and milliseconds, a manufacturer without
         * credit code. */
        json_t *d2 = json_deep_copy(doc);
        json_object_set_new(d2, "manufacturer", json_null());
        json_object_set_new(d2, "kind", json_string("RECHECK"));
        json_object_set_new(d2, "refers_to", json_string("XMQI:XMQI-1"));
        json_object_set_new(d2, "reported_at",
                            json_string("2026-12-31T23:59:59.987-05:30"));
        encode_ok(codec, d2, &msg, &len);
        got = decode_ok(codec, msg, len);
        want = expected_of(d2);
        assert_json_equal(got, want);
        assert_string_equal(
            json_string_value(json_object_get(got, "reported_at")),
            "2027-01-01T05:29:59.987Z");
        json_decref(got);
        json_decref(want);
        free(msg);

        json_object_set_new(d2, "manufacturer",
                            json_pack("{s:n, s:s, s:n, s:n}", "credit_code",
                                      "name", "某某厂", "region_code",
                                      "address"));
        encode_ok(codec, d2, &msg, &len);
        got = decode_ok(codec, msg, len);
        want = expected_of(d2);
        assert_json_equal(got, want);
        json_decref(got);
        json_decref(want);
        free(msg);

        /* Absent nullable fields decode as null; no items is an empty
         * array; fields the schema does not know are ignored. */
        json_t *d3 = json_deep_copy(doc);
        json_object_del(d3, "manufacturer");
        json_object_del(d3, "remarks");
        json_object_del(d3, "refers_to");
        json_object_del(json_object_get(d3, "product"), "brand");
        json_object_del(json_object_get(d3, "enterprise"), "address");
        json_object_set_new(d3, "items", json_array());
        json_object_set_new(d3, "x_lab_internal", json_string("ignored"));
        encode_ok(codec, d3, &msg, &len);
        got = decode_ok(codec, msg, len);
        assert_true(json_is_null(json_object_get(got, "manufacturer")));
        assert_true(json_is_null(json_object_get(got, "remarks")));
        assert_true(json_is_null(json_object_get(got, "refers_to")));
        assert_true(json_is_null(
            json_object_get(json_object_get(got, "product"), "brand")));
        assert_true(json_is_null(
            json_object_get(json_object_get(got, "enterprise"), "address")));
        assert_int_equal(json_array_size(json_object_get(got, "items")), 0);
        assert_null(json_object_get(got, "x_lab_internal"));
        json_decref(got);
        free(msg);

        json_decref(d3);
        json_decref(d2);
        json_decref(doc);
        ql_codec_destroy(codec);
}

static void test_encode_errors(void **state)
{
        ql_codec_t *codec = codec_ok(schema_dir());
        json_t *doc = load_full_doc();
        json_t *d;

        d = json_deep_copy(doc);
        json_object_del(json_object_get(d, "enterprise"), "credit_code");
        encode_fails(codec, d, "enterprise.credit_code: missing");
        json_decref(d);

        d = json_deep_copy(doc);
        json_object_set_new(json_array_get(json_object_get(d, "items"), 1),
                            "verdict", json_string("MAYBE"));
        encode_fails(codec, d, "items[1].verdict");
        json_decref(d);

        d = json_deep_copy(doc);
        json_object_set_new(d, "sampled_on", json_string("2026-02-30"));
        encode_fails(codec, d, "sampled_on");
        json_decref(d);

        d = json_deep_copy(doc);
        json_object_set_new(d, "reported_at",
                            json_string("2026-03-02T10:15:00"));
        encode_fails(codec, d, "reported_at");
        json_decref(d);

        d = json_deep_copy(doc);
        json_object_set_new(json_array_get(json_object_get(d, "items"), 0),
                            "safety", json_string("yes"));
        encode_fails(codec, d, "items[0].safety");
        json_decref(d);

        d = json_deep_copy(doc);
        json_object_set_new(d, "refers_to", json_integer(5));
        encode_fails(codec, d, "refers_to: expected null or string");
        json_decref(d);

        d = json_deep_copy(doc);
        json_object_set_new(d, "lab", json_null());
        encode_fails(codec, d, "lab");
        json_decref(d);

        d = json_string("not a record");
        encode_fails(codec, d, "expected an object");
        json_decref(d);

        json_decref(doc);
        ql_codec_destroy(codec);
}

/*------------------------------------------------------------------------
 * Damaged messages
 */

static void test_truncations(void **state)
{
        ql_codec_t *codec = codec_ok(schema_dir());
        json_t *doc = load_full_doc();
        unsigned char *msg;
        size_t len;
        encode_ok(codec, doc, &msg, &len);
        /* Each prefix in its own allocation, so ASan sees any over-read. */
        for (size_t cut = 0; cut < len; cut++) {
                unsigned char *p = malloc(cut ? cut : 1);
                memcpy(p, msg, cut);
                decode_fails(codec, p, cut, NULL);
                free(p);
        }
        decode_fails(codec, msg, 10, "truncated");
        unsigned char *longer = malloc(len + 1);
        memcpy(longer, msg, len);
        longer[len] = 0;
        decode_fails(codec, longer, len + 1, "1 trailing byte");
        free(longer);
        free(msg);
        json_decref(doc);
        ql_codec_destroy(codec);
}

static void test_header_and_fingerprint(void **state)
{
        ql_codec_t *codec = codec_ok(schema_dir());
        json_t *doc = load_full_doc();
        unsigned char *msg;
        size_t len;
        encode_ok(codec, doc, &msg, &len);

        msg[1] = 0x02;
        decode_fails(codec, msg, len, "single-object");
        msg[1] = 0x01;
        msg[0] = 0x00;
        decode_fails(codec, msg, len, "single-object");
        msg[0] = 0xC3;
        msg[5] ^= 0x40;
        decode_fails(codec, msg, len, "unknown writer schema fingerprint");
        msg[5] ^= 0x40;
        decode_fails(codec, msg, 7, "shorter than");
        decode_fails(codec, NULL, 0, NULL);
        json_t *ok = decode_ok(codec, msg, len);
        json_decref(ok);

        free(msg);
        json_decref(doc);
        ql_codec_destroy(codec);
}

/* Random damage: every outcome is an error with a reason or a document
 * that encodes again and decodes to itself. */
static void test_random_damage(void **state)
{
        ql_codec_t *codec = codec_ok(schema_dir());
        json_t *doc = load_full_doc();
        unsigned char *msg;
        size_t len;
        encode_ok(codec, doc, &msg, &len);
        uint64_t seed = 0x9E3779B97F4A7C15ULL;
        int decoded = 0, rejected = 0;
        unsigned char *p = malloc(len + 16);
        for (int iter = 0; iter < 20000; iter++) {
                size_t plen = len;
                memcpy(p, msg, len);
                int nflips = 1 + (int)(rng_next(&seed) % 3);
                for (int k = 0; k < nflips; k++) {
                        /* Mostly inside the datum; sometimes the header. */
                        size_t at = rng_next(&seed) % 16 == 0
                                        ? rng_next(&seed) % 10
                                        : 10 + rng_next(&seed) % (len - 10);
                        uint64_t r = rng_next(&seed);
                        if (r % 4 == 0)
                                p[at] = (unsigned char)(r >> 8);
                        else
                                p[at] ^= (unsigned char)(1u << (r >> 8) % 8);
                }
                if (rng_next(&seed) % 8 == 0) /* and sometimes a cut */
                        plen = 10 + rng_next(&seed) % (len - 10);
                char errstr[512] = "";
                json_t *got = NULL;
                if (ql_codec_decode(codec, p, plen, &got, errstr,
                                    sizeof(errstr)) == 0) {
                        decoded++;
                        unsigned char *again;
                        size_t alen;
                        encode_ok(codec, got, &again, &alen);
                        json_t *back = decode_ok(codec, again, alen);
                        assert_json_equal(back, got);
                        json_decref(back);
                        free(again);
                        json_decref(got);
                } else {
                        rejected++;
                        assert_null(got);
                        assert_true(errstr[0] != '\0');
                }
        }
        /* Flipped string bytes often leave a valid record; flipped lengths,
         * indexes and the header do not. */
        assert_true(decoded > 100);
        assert_true(rejected > 100);
        free(p);
        free(msg);
        json_decref(doc);
        ql_codec_destroy(codec);
}

/*------------------------------------------------------------------------
 * Hand-made datums on a schema with every kind of type
 */

static const char *all_types_v1 =
    "{\"type\": \"record\", \"name\": \"T\", \"namespace\": \"t\", "
    "\"fields\": ["
    "{\"name\": \"s\", \"type\": \"string\"},"
    "{\"name\": \"e\", \"type\": {\"type\": \"enum\", \"name\": \"E\", "
    "\"symbols\": [\"A\", \"B\"]}},"
    "{\"name\": \"u\", \"type\": [\"null\", \"int\"]},"
    "{\"name\": \"a\", \"type\": {\"type\": \"array\", \"items\": \"null\"}},"
    "{\"name\": \"m\", \"type\": {\"type\": \"map\", \"values\": "
    "\"boolean\"}},"
    "{\"name\": \"b\", \"type\": \"bytes\"},"
    "{\"name\": \"f\", \"type\": {\"type\": \"fixed\", \"name\": \"F\", "
    "\"size\": 2}},"
    "{\"name\": \"l\", \"type\": \"long\"},"
    "{\"name\": \"d\", \"type\": \"double\"}]}";

/* s="hi" e=B u=5 a=[null,null] m={"k":true} b="\0\xff" f="ab" l=-1 d=1.5 */
static const unsigned char all_types_datum[] = {
    0x04, 'h',  'i',  0x02, 0x02, 0x0A, 0x04, 0x00, 0x02,
    0x02, 'k',  0x01, 0x00, 0x04, 0x00, 0xFF, 'a',  'b',
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF8, 0x3F};

/* header of codec's newest schema + datum. */
static size_t make_msg(const ql_codec_t *codec, const unsigned char *datum,
                       size_t n, unsigned char *out)
{
        uint64_t fp = ql_codec_newest_fingerprint(codec);
        out[0] = 0xC3;
        out[1] = 0x01;
        for (int i = 0; i < 8; i++)
                out[2 + i] = (unsigned char)(fp >> (8 * i));
        memcpy(out + 10, datum, n);
        return 10 + n;
}

/* all_types_datum with bytes [at, at+cut) replaced by rep. */
static size_t splice(unsigned char *out, size_t at, size_t cut,
                     const unsigned char *rep, size_t n)
{
        memcpy(out, all_types_datum, at);
        memcpy(out + at, rep, n);
        memcpy(out + at + n, all_types_datum + at + cut,
               sizeof(all_types_datum) - at - cut);
        return sizeof(all_types_datum) - cut + n;
}

static void test_hostile_datums(void **state)
{
        tmpdir_t t;
        tmpdir_make(&t);
        tmpdir_write(&t, "t.v1.avsc", all_types_v1);
        ql_codec_t *codec = codec_ok(t.path);
        unsigned char msg[1 << 12], d[1 << 11];
        size_t len;

        len = make_msg(codec, all_types_datum, sizeof(all_types_datum), msg);
        json_t *got = decode_ok(codec, msg, len);
        json_t *want = json_loads(
            "{\"s\":\"hi\",\"e\":\"B\",\"u\":5,\"a\":[null,null],"
            "\"m\":{\"k\":true},\"b\":\"\\u0000\\u00ff\",\"f\":\"ab\","
            "\"l\":-1,\"d\":1.5}",
            JSON_ALLOW_NUL, NULL);
        assert_json_equal(got, want);
        unsigned char *again;
        size_t alen;
        encode_ok(codec, want, &again, &alen);
        assert_int_equal(alen, len);
        assert_memory_equal(again, msg, len);
        free(again);
        json_decref(got);
        json_decref(want);

        static const struct {
                size_t at, cut;
                unsigned char rep[12];
                size_t n;
                const char *why;
        } cases[] = {
            {0, 1, {0x01}, 1, "s: negative string length"},
            {0,
             1,
             {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
             10,
             "s: string length"},
            {0, 3, {0x02, 0xFF}, 2, "s: string is not valid UTF-8"},
            {3, 1, {0x04}, 1, "e: enum index 2 out of range"},
            {3, 1, {0x01}, 1, "e: enum index -1"},
            {4, 2, {0x04}, 1, "u: union index 2 out of range"},
            {4, 2, {0x03}, 1, "u: union index -2"},
            {4, 2, {0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F}, 6, "u: varint"},
            {6,
             2,
             {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
             10,
             "a: more than"},
            {6, 1, {0x03, 0x06}, 2, "a: block size 3"},
            {6, 1, {0x03, 0x7F}, 2, "a: block size -64"},
            {9, 2, {0x02, 0x00}, 2, "m[0]: map key contains NUL"},
            {11, 1, {0x02}, 1, "m[0]: boolean byte is 2"},
            {8, 1, {0x40}, 1, "m: block of 32 entries exceeds"},
            {13, 1, {0x40}, 1, "b: bytes length 32 exceeds"},
            {18,
             1,
             {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
             11,
             "l: varint too long"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t n = splice(d, cases[i].at, cases[i].cut, cases[i].rep,
                                  cases[i].n);
                len = make_msg(codec, d, n, msg);
                decode_fails(codec, msg, len, cases[i].why);
        }

        /* A block of many zero-byte entries is fine up to the cap. */
        unsigned char many[] = {0xC0, 0x9A, 0x0C, 0x00}; /* 100000, end */
        size_t n = splice(d, 6, 2, many, sizeof(many));
        len = make_msg(codec, d, n, msg);
        got = decode_ok(codec, msg, len);
        assert_int_equal(json_array_size(json_object_get(got, "a")), 100000);
        json_decref(got);

        ql_codec_destroy(codec);
        tmpdir_remove(&t);
}

/*------------------------------------------------------------------------
 * Schema evolution
 */

static void test_evolution(void **state)
{
        tmpdir_t t;
        tmpdir_make(&t);
        json_t *v1 = load_repo_schema("inspection_result.v1.avsc");
        json_t *v2 = json_deep_copy(v1);
        /* v2: a new top-level field with a default, a new nullable item
         * field, a symbol inserted in front of Stage, remarks renamed with
         * an alias. */
        json_t *top = json_object_get(v2, "fields");
        json_array_append_new(top, json_pack("{s:s, s:s, s:s}", "name", "risk",
                                             "type", "string", "default",
                                             "UNASSESSED"));
        json_array_append_new(find_record_fields(v2, "Item"),
                              json_pack("{s:s, s:[s,s], s:n}", "name", "method",
                                        "type", "null", "string", "default"));
        json_t *stage = json_object_get(find_field(top, "stage"), "type");
        json_array_insert_new(json_object_get(stage, "symbols"), 0,
                              json_string("CROSS_BORDER"));
        json_t *remarks = find_field(top, "remarks");
        json_object_set_new(remarks, "name", json_string("remark_text"));
        json_object_set_new(remarks, "aliases", json_pack("[s]", "remarks"));

        /* Named so that only a numeric comparison puts v2 last. */
        tmpdir_t only_v1;
        tmpdir_make(&only_v1);
        tmpdir_write_json(&only_v1, "inspection_result.v1.avsc", v1);
        tmpdir_write_json(&t, "inspection_result.v9.avsc", v1);
        tmpdir_write_json(&t, "inspection_result.v10.avsc", v2);
        ql_codec_t *old = codec_ok(only_v1.path);
        ql_codec_t *both = codec_ok(t.path);
        assert_int_equal(ql_codec_schema_count(both), 2);
        const char *file;
        uint64_t fp0, fp1;
        ql_codec_schema_info(both, 0, NULL, &fp0, NULL);
        ql_codec_schema_info(both, 1, &file, &fp1, NULL);
        assert_string_equal(file, "inspection_result.v10.avsc");
        assert_true(fp0 == ql_codec_newest_fingerprint(old));
        assert_true(fp1 == ql_codec_newest_fingerprint(both));
        assert_true(fp0 != fp1);

        /* v1 bytes read as v2. */
        json_t *full = load_full_doc();
        json_t *doc = v1_shape(full);
        json_decref(full);
        unsigned char *msg;
        size_t len;
        encode_ok(old, doc, &msg, &len);
        json_t *got = decode_ok(both, msg, len);
        json_t *want = expected_of(doc);
        json_object_set_new(want, "risk", json_string("UNASSESSED"));
        json_object_set(want, "remark_text", json_object_get(want, "remarks"));
        json_object_del(want, "remarks");
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(want, "items"), i, item)
            json_object_set_new(item, "method", json_null());
        assert_json_equal(got, want);
        assert_string_equal(json_string_value(json_object_get(got, "stage")),
                            "CIRCULATION");
        free(msg);

        /* v2 bytes: round trip with v2, unknown to a v1-only codec. */
        json_object_set_new(got, "risk", json_string("HIGH"));
        json_object_set_new(got, "stage", json_string("CROSS_BORDER"));
        encode_ok(both, got, &msg, &len);
        json_t *got2 = decode_ok(both, msg, len);
        assert_json_equal(got2, got);
        decode_fails(old, msg, len, "unknown writer schema fingerprint");
        free(msg);
        json_decref(got2);
        json_decref(got);
        json_decref(want);

        /* A newest schema that adds a field without a default cannot read
         * the old one: refused at load. */
        json_array_append_new(
            top, json_pack("{s:s, s:s}", "name", "strict", "type", "string"));
        tmpdir_write_json(&t, "inspection_result.v10.avsc", v2);
        char errstr[512] = "";
        assert_null(ql_codec_new(t.path, errstr, sizeof(errstr)));
        if (!strstr(errstr, "strict"))
                fail_msg("error \"%s\" does not name the field", errstr);

        ql_codec_destroy(both);
        ql_codec_destroy(old);
        json_decref(doc);
        json_decref(v2);
        json_decref(v1);
        tmpdir_remove(&t);
        tmpdir_remove(&only_v1);
}

/* The repository's schemas: a message of version 1, written by a codec that
 * knows only version 1, reads as the newest version with the fields added
 * in version 2 null; a message with them keeps them and is unknown to the
 * version 1 codec; a lab's document of either shape encodes with the
 * newest schema. */
static void test_repo_v1_read_as_newest(void **state)
{
        ql_codec_t *repo = codec_ok(schema_dir());
        assert_true(ql_codec_schema_count(repo) >= 2);
        const char *file;
        uint64_t fp_v1;
        ql_codec_schema_info(repo, 0, &file, &fp_v1, NULL);
        assert_string_equal(file, "inspection_result.v1.avsc");
        tmpdir_t t;
        tmpdir_make(&t);
        json_t *v1 = load_repo_schema("inspection_result.v1.avsc");
        tmpdir_write_json(&t, "inspection_result.v1.avsc", v1);
        json_decref(v1);
        ql_codec_t *old = codec_ok(t.path);
        assert_true(ql_codec_newest_fingerprint(old) == fp_v1);

        json_t *full = load_full_doc();
        json_t *doc = v1_shape(full);
        json_t *want = expected_of(doc);
        json_t *e = json_object_get(want, "enterprise");
        json_object_set_new(e, "address", json_null());
        json_object_set_new(e, "contact", json_null());
        json_object_set_new(json_object_get(want, "manufacturer"), "address",
                            json_null());

        /* Written with version 1, read as the newest. */
        unsigned char *msg;
        size_t len;
        encode_ok(old, doc, &msg, &len);
        uint64_t fp = 0;
        for (int i = 0; i < 8; i++)
                fp |= (uint64_t)msg[2 + i] << (8 * i);
        assert_true(fp == fp_v1);
        json_t *got = decode_ok(repo, msg, len);
        assert_json_equal(got, want);
        json_decref(got);
        free(msg);

        /* The same without a manufacturer. */
        json_t *d2 = json_deep_copy(doc);
        json_object_set_new(d2, "manufacturer", json_null());
        encode_ok(old, d2, &msg, &len);
        got = decode_ok(repo, msg, len);
        assert_true(json_is_null(json_object_get(got, "manufacturer")));
        assert_true(json_is_null(
            json_object_get(json_object_get(got, "enterprise"), "address")));
        json_decref(got);
        json_decref(d2);
        free(msg);

        /* A version 1 document given to the newest codec: the same. */
        encode_ok(repo, doc, &msg, &len);
        fp = 0;
        for (int i = 0; i < 8; i++)
                fp |= (uint64_t)msg[2 + i] << (8 * i);
        assert_true(fp == ql_codec_newest_fingerprint(repo));
        assert_true(fp != fp_v1);
        got = decode_ok(repo, msg, len);
        assert_json_equal(got, want);
        json_decref(got);
        free(msg);

        /* With the fields set: kept, and unknown to a version 1 reader. */
        encode_ok(repo, full, &msg, &len);
        got = decode_ok(repo, msg, len);
        json_t *want_full = expected_of(full);
        assert_json_equal(got, want_full);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(got, "enterprise"), "contact")),
                            "王芳 0592-5551234");
        decode_fails(old, msg, len, "unknown writer schema fingerprint");
        json_decref(want_full);
        json_decref(got);
        free(msg);

        json_decref(want);
        json_decref(doc);
        json_decref(full);
        ql_codec_destroy(old);
        ql_codec_destroy(repo);
        tmpdir_remove(&t);
}

/* Enum symbols by name (and the reader's enum default), int promoted to
 * long inside a union, writer-only fields skipped. */
static void test_resolution_rules(void **state)
{
        json_t *v2 = json_loads(all_types_v1, 0, NULL);
        json_t *fields = json_object_get(v2, "fields");
        json_t *e = json_object_get(find_field(fields, "e"), "type");
        json_object_set_new(e, "symbols", json_pack("[s,s]", "B", "C"));
        json_object_set_new(e, "default", json_string("C"));
        json_object_set_new(find_field(fields, "u"), "type",
                            json_pack("[s,s]", "null", "long"));
        json_array_remove(fields, 3); /* a */

        tmpdir_t t;
        tmpdir_make(&t);
        tmpdir_write(&t, "t.v1.avsc", all_types_v1);
        tmpdir_write_json(&t, "t.v2.avsc", v2);
        ql_codec_t *codec = codec_ok(t.path);
        const char *file;
        uint64_t fp1;
        ql_codec_schema_info(codec, 0, &file, &fp1, NULL);
        assert_string_equal(file, "t.v1.avsc");

        unsigned char msg[256], d[128];
        memcpy(d, all_types_datum, sizeof(all_types_datum));
        size_t len = make_msg(codec, d, sizeof(all_types_datum), msg);
        for (int i = 0; i < 8; i++)
                msg[2 + i] = (unsigned char)(fp1 >> (8 * i));
        json_t *got = decode_ok(codec, msg, len);
        json_t *want = json_loads(
            "{\"s\":\"hi\",\"e\":\"B\",\"u\":5,"
            "\"m\":{\"k\":true},\"b\":\"\\u0000\\u00ff\",\"f\":\"ab\","
            "\"l\":-1,\"d\":1.5}",
            JSON_ALLOW_NUL, NULL);
        assert_json_equal(got, want);
        json_decref(got);
        /* Writer symbol A (index 0) is unknown to the reader: default C. */
        msg[10 + 3] = 0x00;
        got = decode_ok(codec, msg, len);
        assert_string_equal(json_string_value(json_object_get(got, "e")), "C");
        json_decref(got);
        ql_codec_destroy(codec);

        /* Without the default, A cannot be read; B still can. */
        json_object_del(e, "default");
        tmpdir_write_json(&t, "t.v2.avsc", v2);
        codec = codec_ok(t.path);
        decode_fails(codec, msg, len, "e: symbol A is unknown");
        msg[10 + 3] = 0x02;
        got = decode_ok(codec, msg, len);
        assert_json_equal(got, want);
        json_decref(got);
        ql_codec_destroy(codec);

        json_decref(want);
        json_decref(v2);
        tmpdir_remove(&t);
}

static void test_new_errors(void **state)
{
        char errstr[512];
        assert_null(
            ql_codec_new("/nonexistent/qingling", errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "/nonexistent/qingling"));

        tmpdir_t t;
        tmpdir_make(&t);
        assert_null(ql_codec_new(t.path, errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "no *.avsc"));

        tmpdir_write(&t, "a.v1.avsc", all_types_v1);
        tmpdir_write(&t, "a.v2.avsc", all_types_v1);
        assert_null(ql_codec_new(t.path, errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "same schema"));

        tmpdir_write(&t, "a.v2.avsc", "{\"type\": \"record\", \"name\"");
        assert_null(ql_codec_new(t.path, errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "a.v2.avsc"));

        tmpdir_write(&t, "a.v2.avsc",
                     "{\"type\": \"enum\", \"name\": \"T\", "
                     "\"symbols\": [\"A\"]}");
        assert_null(ql_codec_new(t.path, errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "cannot be read as"));
        tmpdir_remove(&t);
}

/* A recursive type: round trip, canonical form, and nesting bounded both
 * ways (the scan refuses a datum nested deeper than the codec walks). */
static void test_recursive_schema(void **state)
{
        const char *schema =
            "{\"type\": \"record\", \"name\": \"Node\", \"fields\": ["
            "{\"name\": \"v\", \"type\": \"int\"},"
            "{\"name\": \"next\", \"type\": [\"null\", \"Node\"]}]}";
        char errstr[512];
        char *c = ql_codec_canonical_form(schema, errstr, sizeof(errstr));
        assert_non_null(c);
        assert_string_equal(c, "{\"name\":\"Node\",\"type\":\"record\","
                               "\"fields\":[{\"name\":\"v\",\"type\":"
                               "\"int\"},{\"name\":\"next\",\"type\":["
                               "\"null\",\"Node\"]}]}");
        free(c);

        tmpdir_t t;
        tmpdir_make(&t);
        tmpdir_write(&t, "node.v1.avsc", schema);
        ql_codec_t *codec = codec_ok(t.path);
        json_t *doc = json_loads("{\"v\": 1, \"next\": {\"v\": -2, "
                                 "\"next\": {\"v\": 3, \"next\": null}}}",
                                 0, NULL);
        unsigned char *msg;
        size_t len;
        encode_ok(codec, doc, &msg, &len);
        json_t *got = decode_ok(codec, msg, len);
        assert_json_equal(got, doc);
        json_decref(got);
        free(msg);
        json_decref(doc);

        /* 200 levels: refused by the encoder and by the decoder's scan. */
        doc = json_pack("{s:i, s:n}", "v", 0, "next");
        for (int i = 0; i < 200; i++)
                doc = json_pack("{s:i, s:o}", "v", i, "next", doc);
        encode_fails(codec, doc, "nested too deeply");
        json_decref(doc);
        unsigned char deep[10 + 2 * 201];
        size_t n = make_msg(codec, (const unsigned char *)"", 0, deep);
        for (int i = 0; i < 200; i++) {
                deep[n++] = 0x00; /* v = 0 */
                deep[n++] = 0x02; /* next: branch Node */
        }
        deep[n++] = 0x00;
        deep[n++] = 0x00; /* next: null */
        decode_fails(codec, deep, n, "nested too deeply");
        ql_codec_destroy(codec);
        tmpdir_remove(&t);
}

/*------------------------------------------------------------------------
 * Concurrency
 */

typedef struct {
        const ql_codec_t *codec;
        const json_t *doc, *want;
        int failures;
} thread_arg_t;

static void *worker(void *p)
{
        thread_arg_t *a = p;
        for (int i = 0; i < 300; i++) {
                char errstr[256];
                unsigned char *msg;
                size_t len;
                json_t *got;
                if (ql_codec_encode(a->codec, a->doc, &msg, &len, errstr,
                                    sizeof(errstr))) {
                        a->failures++;
                        continue;
                }
                if (ql_codec_decode(a->codec, msg, len, &got, errstr,
                                    sizeof(errstr)) == 0) {
                        a->failures += !json_equal(got, a->want);
                        json_decref(got);
                } else {
                        a->failures++;
                }
                /* A damaged copy on the way: errors are per call too. */
                msg[len / 2] ^= 0x55;
                if (ql_codec_decode(a->codec, msg, len / 2 + 3, &got, errstr,
                                    sizeof(errstr)) == 0)
                        a->failures++;
                free(msg);
        }
        return NULL;
}

static void test_threads(void **state)
{
        ql_codec_t *codec = codec_ok(schema_dir());
        json_t *doc = load_full_doc();
        json_t *want = expected_of(doc);
        enum { N = 8 };
        pthread_t th[N];
        thread_arg_t args[N];
        for (int i = 0; i < N; i++) {
                args[i] = (thread_arg_t){codec, doc, want, 0};
                assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]),
                                 0);
        }
        for (int i = 0; i < N; i++) {
                pthread_join(th[i], NULL);
                assert_int_equal(args[i].failures, 0);
        }
        json_decref(want);
        json_decref(doc);
        ql_codec_destroy(codec);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_crc64_vectors),
            cmocka_unit_test(test_canonical_form),
            cmocka_unit_test(test_repo_schemas),
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_encode_errors),
            cmocka_unit_test(test_truncations),
            cmocka_unit_test(test_header_and_fingerprint),
            cmocka_unit_test(test_random_damage),
            cmocka_unit_test(test_hostile_datums),
            cmocka_unit_test(test_evolution),
            cmocka_unit_test(test_repo_v1_read_as_newest),
            cmocka_unit_test(test_resolution_rules),
            cmocka_unit_test(test_new_errors),
            cmocka_unit_test(test_recursive_schema),
            cmocka_unit_test(test_threads),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
