/*
 * Unit tests for ql-triage's pure logic: the batch (COPY text, array
 * literals, per-partition start and end, duplicate marking, rejects made
 * from rows and undone, gaps of expired offsets), the partition table (which
 * records are taken, what a commit and a rewind do, when the consumer is caught
 * up, the lag series) and the record step (decode + validate + columns).  The
 * modules are ql-triage's: this test links ql_triage_core.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch.h"
#include "partitions.h"
#include "record.h"

/*------------------------------------------------------------------------
 * Text helpers
 */

static void test_copy_field(void **state)
{
        triage_buf_t t = {0};
        assert_int_equal(triage_buf_copy_field(&t, "a\\b\tc\nd\re 汉字"), 0);
        assert_string_equal(t.buf, "a\\\\b\\tc\\nd\\re 汉字");
        t.len = 0;
        assert_int_equal(triage_buf_copy_field(&t, NULL), 0);
        assert_string_equal(t.buf, "\\N");
        t.len = 0;
        assert_int_equal(triage_buf_copy_field(&t, ""), 0);
        assert_string_equal(t.buf, "");
        triage_buf_free(&t);
}

static void test_array_literal(void **state)
{
        triage_buf_t t = {0};
        const char *v[] = {"plain", "quo\"te", "back\\slash", "", "a,b {c}"};
        assert_int_equal(triage_buf_array_literal(&t, v, 5), 0);
        assert_string_equal(
            t.buf,
            "{\"plain\",\"quo\\\"te\",\"back\\\\slash\",\"\",\"a,b {c}\"}");
        t.len = 0;
        assert_int_equal(triage_buf_array_literal(&t, v, 0), 0);
        assert_string_equal(t.buf, "{}");
        triage_buf_free(&t);
}

/* What triage_buf_copy_json() must write for v: jansson's compact text
 * put through the COPY field escaping. */
static void check_copy_json(const json_t *v)
{
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        assert_non_null(text);
        triage_buf_t want = {0}, got = {0};
        assert_int_equal(triage_buf_copy_field(&want, text), 0);
        assert_int_equal(triage_buf_append(&got, "x\t", 2), 0);
        assert_int_equal(triage_buf_copy_json(&got, v), 0);
        assert_string_equal(got.buf + 2, want.buf);
        assert_int_equal(got.len, want.len + 2);
        free(text);
        triage_buf_free(&want);
        triage_buf_free(&got);
}

static void test_copy_json(void **state)
{
        /* Every byte below 0x80 in a value and in a key. */
        char all[128];
        for (int i = 1; i < 128; i++)
                all[i - 1] = (char)i;
        all[127] = '\0';
        json_t *doc = json_pack(
            "{s:s, s:s, s:s, s:i, s:I, s:f, s:f, s:b, s:b, s:n, s:[], s:{},"
            " s:[s, i, {s:[n, b]}], s:{s:{s:s}}}",
            "plain", "abc", "escapes",
            "q\" b\\ t\t n\n r\r f\f b\b "
            "x\x01\x1f\x7f /",
            "non-ascii", "不合格 – ✓ 𝄞", "int", -42, "big",
            (json_int_t)9007199254740993LL, "real", 0.1, "whole", 2.0, "yes", 1,
            "no", 0, "nothing", "empty array", "empty object", "mixed", "a", 7,
            "deep", 0, "nested", "k", "k\"\\", "v");
        assert_non_null(doc);
        assert_int_equal(json_object_set_new(doc, all, json_string(all)), 0);
        assert_int_equal(
            json_object_set_new(doc, "nul", json_stringn("a\0b", 3)), 0);
        check_copy_json(doc);
        /* A scalar on its own, and an empty document. */
        json_t *s = json_string("tab\there");
        check_copy_json(s);
        json_decref(s);
        json_t *e = json_object();
        check_copy_json(e);
        json_decref(e);
        json_decref(doc);

        triage_buf_t t = {0};
        assert_int_equal(triage_buf_copy_json(&t, NULL), 0);
        assert_string_equal(t.buf, "\\N");
        triage_buf_free(&t);
}

/*------------------------------------------------------------------------
 * Batch
 */

static json_t *remarks_doc(void)
{
        static json_t *doc;
        if (!doc)
                doc = json_pack("{s:s}", "remarks", "a\\b");
        return doc;
}

static triage_row_t row_of(const char *id, const char *code)
{
        return (triage_row_t){
            .result_id = id,
            .credit_code = code,
            .kind = "SUPERVISION",
            .verdict = "CONFORMING",
            .refers_to = NULL,
            .reported_at = "2026-03-02T02:15:00.000Z",
            .record = remarks_doc(),
        };
}

static void add(triage_batch_t *b, int32_t part, int64_t off, int64_t stored,
                const char *id, const char *code)
{
        triage_row_t r = row_of(id, code);
        char payload[32];
        snprintf(payload, sizeof(payload), "payload-%s", id);
        assert_int_equal(triage_batch_add_row(b, part, off, stored, code,
                                              strlen(code), payload,
                                              strlen(payload), &r),
                         0);
}

static void test_line_and_parts(void **state)
{
        triage_batch_t *b = triage_batch_new("inspection.results");
        add(b, 3, 10, 10, "L:1", "C1");
        add(b, 1, 7, -1, "L:2", "C2");
        add(b, 3, 11, 999 /* ignored: partition 3 started at 10 */, "L:3",
            "C1");
        assert_int_equal(
            triage_batch_add_reject(b, 3, 12, 999, "k", 1, "\x01\x02", 2,
                                    TRIAGE_REJECT_UNDECODABLE, NULL, "bad"),
            0);
        assert_int_equal(triage_batch_records(b), 4);
        assert_int_equal(triage_batch_rows(b), 3);
        assert_int_equal(triage_batch_part_count(b), 2);
        const triage_batch_part_t *p = triage_batch_part(b, 0);
        assert_int_equal(p->partition, 3);
        assert_int_equal(p->start, 10);
        assert_int_equal(p->end, 13);
        assert_int_equal(p->count, 3);
        p = triage_batch_part(b, 1);
        assert_int_equal(p->partition, 1);
        assert_int_equal(p->start, -1);
        assert_int_equal(p->end, 8);

        size_t len;
        const char *line = triage_batch_row_line(b, 1, &len);
        const char *want =
            "L:2\tC2\tSUPERVISION\tCONFORMING\t\\N\t"
            "2026-03-02T02:15:00.000Z\t{\"remarks\":\"a\\\\\\\\b\"}"
            "\tinspection.results\t1\t7\n";
        assert_int_equal(len, strlen(want));
        assert_memory_equal(line, want, len);
        /* Lines of consecutive rows are adjacent (the store sends runs). */
        size_t len0;
        const char *line0 = triage_batch_row_line(b, 0, &len0);
        assert_ptr_equal(line0 + len0, line);

        triage_buf_t ids = {0};
        assert_int_equal(triage_batch_id_array(b, &ids), 0);
        assert_string_equal(ids.buf, "{\"L:1\",\"L:2\",\"L:3\"}");
        triage_buf_free(&ids);

        triage_batch_reset(b);
        assert_int_equal(triage_batch_records(b), 0);
        assert_int_equal(triage_batch_part_count(b), 0);
        assert_int_equal(triage_batch_reject_count(b), 0);
        add(b, 0, 5, 5, "L:9", "C9");
        assert_int_equal(triage_batch_part(b, 0)->start, 5);
        triage_batch_destroy(b);
}

static void test_mark(void **state)
{
        triage_batch_t *b = triage_batch_new("t");
        add(b, 0, 0, -1, "A", "C1");
        add(b, 0, 1, -1, "B", "C2");
        add(b, 0, 2, -1, "A", "C1"); /* second copy inside the batch */
        add(b, 0, 3, -1, "C", "C1");
        add(b, 0, 4, -1, "D", "C3");
        const char *existing[] = {"B", "X"};
        assert_int_equal(triage_batch_mark(b, existing, 2), 0);
        assert_int_equal(triage_batch_row_status(b, 0), TRIAGE_ROW_NEW);
        assert_int_equal(triage_batch_row_status(b, 1), TRIAGE_ROW_DUPLICATE);
        assert_int_equal(triage_batch_row_status(b, 2), TRIAGE_ROW_DUPLICATE);
        assert_int_equal(triage_batch_row_status(b, 3), TRIAGE_ROW_NEW);
        assert_int_equal(triage_batch_row_status(b, 4), TRIAGE_ROW_NEW);
        assert_int_equal(triage_batch_count(b, TRIAGE_ROW_NEW), 3);

        triage_buf_t codes = {0};
        size_t n;
        assert_int_equal(triage_batch_new_codes(b, &codes, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(codes.buf, "{\"C1\",\"C3\"}");
        triage_buf_free(&codes);

        /* A conflicting duplicate becomes a reject carrying the row's
         * original key and payload; unmark undoes it. */
        assert_int_equal(triage_batch_add_reject(b, 0, 5, -1, NULL, 0, NULL, 0,
                                                 TRIAGE_REJECT_INVALID, "E",
                                                 "invalid: x"),
                         0);
        assert_int_equal(triage_batch_reject_row(b, 2, TRIAGE_REJECT_CONFLICT,
                                                 "conflicting duplicate"),
                         0);
        assert_int_equal(triage_batch_row_status(b, 2), TRIAGE_ROW_REJECTED);
        assert_int_equal(triage_batch_reject_count(b), 2);
        assert_int_equal(triage_batch_records(b), 6);
        const triage_reject_t *j = triage_batch_reject(b, 1);
        assert_int_equal(j->offset, 2);
        assert_string_equal(j->result_id, "A");
        assert_int_equal(j->key_len, 2);
        assert_memory_equal(j->key, "C1", 2);
        assert_int_equal(j->len, strlen("payload-A"));
        assert_memory_equal(j->payload, "payload-A", j->len);
        j = triage_batch_reject(b, 0);
        assert_null(j->key);
        assert_null(j->payload);

        triage_batch_unmark(b);
        assert_int_equal(triage_batch_reject_count(b), 1);
        assert_string_equal(triage_batch_reject(b, 0)->result_id, "E");
        for (size_t i = 0; i < triage_batch_rows(b); i++)
                assert_int_equal(triage_batch_row_status(b, i),
                                 TRIAGE_ROW_PENDING);
        /* Marking again gives the same answer. */
        assert_int_equal(triage_batch_mark(b, existing, 2), 0);
        assert_int_equal(triage_batch_count(b, TRIAGE_ROW_DUPLICATE), 2);
        triage_batch_destroy(b);
}

static void test_many_rows(void **state)
{
        /* Enough rows to grow every buffer and the string set a few
         * times; every second id repeats an earlier one. */
        triage_batch_t *b = triage_batch_new("t");
        char id[32];
        for (int i = 0; i < 5000; i++) {
                snprintf(id, sizeof(id), "LAB:%d", i % 2 ? i - 1 : i);
                add(b, i % 6, i / 6, -1, id, "C");
        }
        assert_int_equal(triage_batch_mark(b, NULL, 0), 0);
        assert_int_equal(triage_batch_count(b, TRIAGE_ROW_NEW), 2500);
        assert_int_equal(triage_batch_count(b, TRIAGE_ROW_DUPLICATE), 2500);
        for (size_t i = 0; i < triage_batch_part_count(b); i++)
                assert_int_equal(triage_batch_part(b, i)->end, 834 - (i >= 2));
        triage_batch_destroy(b);
}

/*------------------------------------------------------------------------
 * Partitions
 */

static void emit_to_buf(void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void emit_to_buf(void *ctx, const char *fmt, ...)
{
        triage_buf_t *t = ctx;
        char line[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        triage_buf_append(t, line, strlen(line));
}

static void test_partitions(void **state)
{
        triage_partitions_t *t = triage_partitions_new("inspection.results");
        int32_t ids[] = {0, 4};
        assert_int_equal(triage_partitions_assign(t, ids, 2), 0);
        int64_t stored = 42, expected = 42;
        /* Not loaded yet: nothing is taken, nothing known ahead. */
        triage_partitions_set_watermarks(t, 0, 0, 10);
        triage_partitions_set_watermarks(t, 4, 0, 10);
        assert_int_equal(triage_partitions_ahead(t), -1);
        triage_partitions_set_watermarks(t, 0, -1, -1);
        triage_partitions_set_watermarks(t, 4, -1, -1);
        assert_int_equal(triage_partitions_accept(t, 0, 0, &stored, &expected),
                         0);
        assert_int_equal(triage_partitions_all_loaded(t), -1);
        triage_partitions_set_stored(t, 0, 100);
        triage_partitions_set_stored(t, 4, TRIAGE_OFFSET_NONE);
        assert_int_equal(triage_partitions_all_loaded(t), 0);
        /* Below the stored offset: a re-delivery, skipped. */
        assert_int_equal(triage_partitions_accept(t, 0, 99, &stored, &expected),
                         0);
        assert_int_equal(
            triage_partitions_accept(t, 0, 100, &stored, &expected), 1);
        assert_int_equal(stored, 100);
        assert_int_equal(
            triage_partitions_accept(t, 0, 100, &stored, &expected), 0);
        assert_int_equal(
            triage_partitions_accept(t, 0, 101, &stored, &expected), 1);
        assert_int_equal(expected, 101);
        /* Nothing stored: anything is taken, and offset 0 was due (a
         * record at 3 means 0..2 are gone). */
        assert_int_equal(triage_partitions_accept(t, 4, 3, &stored, &expected),
                         1);
        assert_int_equal(stored, TRIAGE_OFFSET_NONE);
        assert_int_equal(expected, 0);
        /* Not held. */
        assert_int_equal(triage_partitions_accept(t, 2, 0, &stored, &expected),
                         0);

        /* Not caught up while a watermark is unknown. */
        assert_int_equal(triage_partitions_caught_up(t), 0);
        assert_int_equal(triage_partitions_ahead(t), -1);
        triage_partitions_set_watermarks(t, 0, 0, 102);
        assert_int_equal(triage_partitions_ahead(t), -1);
        triage_partitions_set_watermarks(t, 4, 3, 4);
        assert_int_equal(triage_partitions_caught_up(t), 0);
        assert_int_equal(triage_partitions_lag(t), 2 + 1);
        /* All of it taken, none of it stored: nothing ahead. */
        assert_int_equal(triage_partitions_ahead(t), 0);
        triage_partitions_set_watermarks(t, 0, 0, 105);
        assert_int_equal(triage_partitions_ahead(t), 3);
        triage_partitions_set_watermarks(t, 0, 0, 102);

        /* A batch handed to the writer: the next one starts at its end,
         * while the stored offset waits for the commit. */
        triage_batch_t *w = triage_batch_new("inspection.results");
        add(w, 0, 100, 100, "W1", "C");
        add(w, 0, 101, 100, "W2", "C");
        triage_partitions_submit(t, w);
        assert_int_equal(
            triage_partitions_accept(t, 0, 102, &stored, &expected), 1);
        assert_int_equal(stored, 102);
        triage_partition_t q;
        assert_int_equal(triage_partitions_at(t, 0, &q), 0);
        assert_int_equal(q.stored, 100);
        assert_int_equal(q.base, 102);
        assert_int_equal(q.position, 103);
        triage_batch_destroy(w);

        /* A rewind forgets what the discarded batches took. */
        triage_partitions_rewind(t);
        assert_int_equal(triage_partitions_at(t, 0, &q), 0);
        assert_int_equal(q.base, 100);
        assert_int_equal(
            triage_partitions_accept(t, 0, 100, &stored, &expected), 1);
        assert_int_equal(stored, 100);
        assert_int_equal(
            triage_partitions_accept(t, 0, 101, &stored, &expected), 1);
        assert_int_equal(triage_partitions_accept(t, 4, 3, &stored, &expected),
                         1);

        /* Committing the batch moves the stored offsets to its end. */
        triage_batch_t *b = triage_batch_new("inspection.results");
        add(b, 0, 100, 100, "A", "C");
        add(b, 0, 101, 100, "B", "C");
        add(b, 4, 3, TRIAGE_OFFSET_NONE, "D", "C");
        triage_partitions_commit(t, b);
        triage_batch_destroy(b);
        triage_partition_t p;
        assert_int_equal(triage_partitions_at(t, 0, &p), 0);
        assert_int_equal(p.stored, 102);
        assert_int_equal(triage_partitions_at(t, 1, &p), 0);
        assert_int_equal(p.stored, 4);
        assert_int_equal(triage_partitions_at(t, 2, &p), -1);
        assert_int_equal(triage_partitions_caught_up(t), 1);
        assert_int_equal(triage_partitions_lag(t), 0);

        triage_buf_t out = {0};
        triage_partitions_emit_help(emit_to_buf, &out);
        assert_non_null(strstr(out.buf, "# TYPE ql_triage_lag gauge\n"));
        triage_buf_free(&out);
        triage_buf_t rows = {0};
        triage_partitions_emit_lag(t, emit_to_buf, &rows);
        assert_null(strstr(rows.buf, "# "));
        assert_non_null(strstr(
            rows.buf,
            "ql_triage_lag{topic=\"inspection.results\",partition=\"4\"} 0\n"));
        triage_buf_free(&rows);

        /* An empty partition with nothing stored is caught up; one with
         * records and nothing stored is not. */
        int32_t two[] = {1, 2};
        triage_partitions_assign(t, two, 2);
        triage_partitions_set_stored(t, 1, TRIAGE_OFFSET_NONE);
        triage_partitions_set_stored(t, 2, TRIAGE_OFFSET_NONE);
        triage_partitions_set_watermarks(t, 1, 0, 0);
        triage_partitions_set_watermarks(t, 2, 5, 5);
        assert_int_equal(triage_partitions_caught_up(t), 1);
        triage_partitions_set_watermarks(t, 2, 5, 9);
        assert_int_equal(triage_partitions_caught_up(t), 0);
        assert_int_equal(triage_partitions_lag(t), 4);
        /* An empty assignment is caught up. */
        triage_partitions_assign(t, NULL, 0);
        assert_int_equal(triage_partitions_caught_up(t), 1);
        triage_partitions_destroy(t);
}

/*------------------------------------------------------------------------
 * Record: decode, validate, columns
 */

static const char *schema_dir(void)
{
        const char *d = getenv("QL_SCHEMA_DIR");
        return d && *d ? d : QL_SOURCE_SCHEMA_DIR;
}

static json_t *full_doc(void)
{
        char path[4096];
        const char *src = getenv("QL_SRC");
        snprintf(path, sizeof(path), "%s/tests/data/result_full.json",
                 src && *src ? src : QL_SOURCE_SCHEMA_DIR "/../..");
        json_error_t jerr;
        json_t *doc = json_load_file(path, 0, &jerr);
        if (!doc)
                fail_msg("%s: %s", path, jerr.text);
        return doc;
}

static void decode_doc(const ql_codec_t *codec, json_t *doc,
                       ql_uscc_mode_t mode, triage_record_t *rec,
                       triage_reject_kind_t *kind, int want_rc, char *err,
                       size_t errsz)
{
        unsigned char *msg;
        size_t len;
        char why[256];
        if (ql_codec_encode(codec, doc, &msg, &len, why, sizeof(why)))
                fail_msg("encode: %s", why);
        assert_int_equal(
            triage_record_decode(codec, mode, msg, len, rec, kind, err, errsz),
            want_rc);
        free(msg);
}

/* Gaps: offsets the broker no longer had travel in the batch and move the
 * partition's end past them, with or without records; the partition
 * table's position jumps past them and a commit stores it. */
static void test_gaps(void **state)
{
        (void)state;
        triage_batch_t *b = triage_batch_new("inspection.results");
        assert_int_equal(triage_batch_pending(b), 0);
        /* A gap alone, nothing stored: 0..99 gone. */
        assert_int_equal(triage_batch_add_gap(b, 3, 0, 99, TRIAGE_OFFSET_NONE),
                         0);
        assert_int_equal(triage_batch_records(b), 0);
        assert_int_equal(triage_batch_pending(b), 1);
        assert_int_equal(triage_batch_part_count(b), 1);
        assert_int_equal(triage_batch_part(b, 0)->start, TRIAGE_OFFSET_NONE);
        assert_int_equal(triage_batch_part(b, 0)->end, 100);
        assert_int_equal(triage_batch_part(b, 0)->count, 0);
        /* A record after another gap on a partition with records. */
        add(b, 5, 10, 10, "R1", "C");
        assert_int_equal(triage_batch_add_gap(b, 5, 11, 19, 10), 0);
        add(b, 5, 20, 10, "R2", "C");
        assert_int_equal(triage_batch_part(b, 1)->start, 10);
        assert_int_equal(triage_batch_part(b, 1)->end, 21);
        assert_int_equal(triage_batch_part(b, 1)->count, 2);
        assert_int_equal(triage_batch_gap_count(b), 2);
        const triage_gap_t *g = triage_batch_gap(b, 1);
        assert_int_equal(g->partition, 5);
        assert_int_equal(g->first, 11);
        assert_int_equal(g->last, 19);
        assert_null(triage_batch_gap(b, 2));
        assert_int_equal(triage_batch_pending(b), 4);
        /* A range upside down is refused. */
        assert_int_equal(triage_batch_add_gap(b, 5, 30, 29, 10), -1);
        assert_int_equal(triage_batch_gap_count(b), 2);

        triage_partitions_t *t = triage_partitions_new("inspection.results");
        int32_t ids[] = {3, 5};
        triage_partitions_assign(t, ids, 2);
        triage_partitions_set_stored(t, 3, TRIAGE_OFFSET_NONE);
        triage_partitions_set_stored(t, 5, 10);
        /* The fetcher goes to the log start: position follows, never back. */
        triage_partitions_skip_to(t, 3, 100);
        triage_partitions_skip_to(t, 5, 5);
        triage_partition_t p;
        assert_int_equal(triage_partitions_find(t, 3, &p), 0);
        assert_int_equal(p.position, 100);
        assert_int_equal(p.stored, TRIAGE_OFFSET_NONE);
        assert_int_equal(triage_partitions_find(t, 5, &p), 0);
        assert_int_equal(p.position, 10);
        assert_int_equal(triage_partitions_find(t, 4, &p), -1);
        int64_t base, expected;
        assert_int_equal(triage_partitions_accept(t, 3, 99, &base, &expected),
                         0);
        assert_int_equal(triage_partitions_accept(t, 3, 100, &base, &expected),
                         1);
        assert_int_equal(expected, 100);
        assert_int_equal(base, TRIAGE_OFFSET_NONE);
        triage_partitions_commit(t, b);
        assert_int_equal(triage_partitions_find(t, 3, &p), 0);
        assert_int_equal(p.stored, 100);
        assert_int_equal(triage_partitions_find(t, 5, &p), 0);
        assert_int_equal(p.stored, 21);
        triage_batch_reset(b);
        assert_int_equal(triage_batch_pending(b), 0);
        assert_int_equal(triage_batch_gap_count(b), 0);
        triage_partitions_destroy(t);
        triage_batch_destroy(b);
}

static void test_record(void **state)
{
        char err[1024];
        ql_codec_t *codec = ql_codec_new(schema_dir(), err, sizeof(err));
        if (!codec)
                fail_msg("codec: %s", err);
        json_t *doc = full_doc();
        triage_record_t rec;
        triage_reject_kind_t kind;

        decode_doc(codec, doc, QL_USCC_STRICT, &rec, &kind, 0, err,
                   sizeof(err));
        assert_string_equal(rec.row.result_id, "XMQI:XMQI-2026-CC-0417");
        assert_string_equal(rec.row.credit_code, "91350200MA2YJ1XR9G");
        assert_string_equal(rec.row.kind, "SUPERVISION");
        assert_string_equal(rec.row.verdict, "NONCONFORMING");
        assert_null(rec.row.refers_to);
        assert_non_null(strstr(rec.row.reported_at, "2026-03-02T02:15:00"));
        /* The record column is the decoded document, as the fields went in. */
        assert_ptr_equal(rec.row.record, rec.doc);
        assert_string_equal(
            json_string_value(json_object_get(rec.row.record, "remarks")),
            json_string_value(json_object_get(doc, "remarks")));
        check_copy_json(rec.row.record);
        assert_null(rec.warnings);
        triage_record_clear(&rec);

        /* Not single-object Avro, or nothing at all. */
        assert_int_equal(triage_record_decode(codec, QL_USCC_STRICT, "garbage",
                                              7, &rec, &kind, err, sizeof(err)),
                         -1);
        assert_int_equal(kind, TRIAGE_REJECT_UNDECODABLE);
        assert_non_null(strstr(err, "undecodable"));
        triage_record_clear(&rec);
        assert_int_equal(triage_record_decode(codec, QL_USCC_STRICT, NULL, 0,
                                              &rec, &kind, err, sizeof(err)),
                         -1);
        assert_int_equal(kind, TRIAGE_REJECT_UNDECODABLE);
        triage_record_clear(&rec);

        /* Decodes, fails a rule: INVALID, naming the field, with the
         * result_id known. */
        json_object_set_new(json_object_get(doc, "enterprise"), "credit_code",
                            json_string("914403001922038217"));
        decode_doc(codec, doc, QL_USCC_STRICT, &rec, &kind, -1, err,
                   sizeof(err));
        assert_int_equal(kind, TRIAGE_REJECT_INVALID);
        assert_non_null(strstr(err, "enterprise.credit_code"));
        assert_string_equal(rec.row.result_id, "XMQI:XMQI-2026-CC-0417");
        triage_record_clear(&rec);

        /* In warn mode the same record is taken, with a warning. */
        decode_doc(codec, doc, QL_USCC_WARN, &rec, &kind, 0, err, sizeof(err));
        assert_non_null(rec.warnings);
        assert_non_null(strstr(rec.warnings, "enterprise.credit_code"));
        triage_record_clear(&rec);

        json_decref(doc);
        ql_codec_destroy(codec);
}

static void test_join(void **state)
{
        ql_problems_t p = {0};
        ql_problems_add(&p, "items[0].verdict", "must be PASS, FAIL or %s",
                        "NOT_JUDGED");
        ql_problems_add(&p, "", "whole document");
        char buf[256];
        triage_record_join(&p, buf, sizeof(buf));
        assert_string_equal(buf, "items[0].verdict: must be PASS, FAIL or "
                                 "NOT_JUDGED; whole document");
        /* Cut short, never inside a UTF-8 character. */
        ql_problems_clear(&p);
        ql_problems_add(&p, "f", "汉字汉字汉字");
        char small[8];
        triage_record_join(&p, small, sizeof(small));
        assert_string_equal(small, "f: 汉");
        ql_problems_clear(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_copy_field),
            cmocka_unit_test(test_array_literal),
            cmocka_unit_test(test_copy_json),
            cmocka_unit_test(test_line_and_parts),
            cmocka_unit_test(test_mark),
            cmocka_unit_test(test_many_rows),
            cmocka_unit_test(test_partitions),
            cmocka_unit_test(test_gaps),
            cmocka_unit_test(test_record),
            cmocka_unit_test(test_join),
        };
        int failed = cmocka_run_group_tests(tests, NULL, NULL);
        json_decref(remarks_doc());
        return failed;
}
