/*
 * ql_codec: the Avro codec for qingling.InspectionResult.  It loads every
 * *.avsc of a schema directory, computes each schema's Parsing Canonical Form
 * and CRC-64-AVRO fingerprint, writes records with the newest schema in Avro
 * single-object encoding (C3 01, 8-byte little-endian fingerprint, binary
 * datum) and reads any known writer schema, resolved to the newest one.
 *
 * Records cross this interface as jansson documents shaped like the lab's
 * JSON (README.md, "The record"): dates "YYYY-MM-DD", timestamps ISO 8601 with
 * offset, enums as their symbol strings, nullable fields null or absent.
 * Encoding expects a document that ql_result_validate() accepted.
 *
 * Schema version order: files are sorted by name; the newest schema is the
 * last one.  Name them inspection_result.vN.avsc with N growing (v1..v9, then
 * v10 sorts after v9 because numbers are compared numerically).
 *
 * Decoding resolves the writer schema to the newest one as the Avro
 * specification's "Schema Resolution" says: fields matched by name (or the
 * reader field's aliases), a reader field the writer lacks takes its
 * default, enum symbols matched by name (else the reader enum's default),
 * numeric promotions, unions branch by branch.  Every older schema must be
 * readable as the newest; ql_codec_new() refuses a directory where one is
 * not.
 *
 * A codec is immutable after ql_codec_new() and may be used from several
 * threads at once: every call works on its own avro-c values (idle ones are
 * pooled under a lock for reuse).  Do not run ql_codec_new() concurrently
 * with other avro-c schema parsing in the process: avro-c keeps its error
 * text in one process-wide buffer.  Destroy the codec before the process
 * exits under LeakSanitizer: pooled avro-c values hold pointers at
 * addresses it does not scan, so their parts would be reported as leaks.
 */
#ifndef QL_CODEC_H
#define QL_CODEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ql_codec_s ql_codec_t;

/* Load every *.avsc in dir.  NULL on error (no schema, unparsable schema,
 * two files with the same fingerprint, an older schema that cannot be read
 * as the newest), with the reason in errstr. */
ql_codec_t *ql_codec_new(const char *dir, char *errstr, size_t errstr_size);
void ql_codec_destroy(ql_codec_t *codec); /* accepts NULL */

/* Number of schema versions loaded, and the fingerprint of the newest. */
size_t ql_codec_schema_count(const ql_codec_t *codec);
uint64_t ql_codec_newest_fingerprint(const ql_codec_t *codec);

/* Schema version i (0 = oldest, count - 1 = newest): its file's base name,
 * fingerprint and Parsing Canonical Form, borrowed until
 * ql_codec_destroy().  Any OUT pointer may be NULL.  -1 if i is out of
 * range. */
int ql_codec_schema_info(const ql_codec_t *codec, size_t i,
                         const char **file /* OUT */,
                         uint64_t *fingerprint /* OUT */,
                         const char **canonical /* OUT */);

/* Encode doc with the newest schema.  A field absent from doc takes the
 * schema's default (a nullable field without one: null); fields the schema
 * does not name are ignored.  On success returns 0 and *out is a malloc'ed
 * buffer of *out_len bytes: you now own it; free() it.  On error returns -1,
 * *out is NULL and errstr names the field ("items[2].verdict: ..."). */
int ql_codec_encode(const ql_codec_t *codec, const json_t *doc,
                    unsigned char **out /* OUT */, size_t *out_len /* OUT */,
                    char *errstr, size_t errstr_size);

/* Decode a single-object message.  On success returns 0 and *doc is a new
 * reference you own (json_decref it), shaped by the newest schema: every
 * field present, null for an empty nullable field, timestamps in UTC
 * ("2026-03-02T02:15:00.000Z"), dates "YYYY-MM-DD".  On error (bad header,
 * unknown fingerprint, truncated or trailing bytes, invalid data such as an
 * enum index out of range or a string that is not UTF-8) returns -1 with the
 * reason in errstr; never crashes, never reads past len, and allocates in
 * proportion to len (arrays of zero-byte items: 2^20 entries at most).
 * Both ways, dates and timestamps must fall in the years 1900..9999 (UTC),
 * what ql_time reads back. */
int ql_codec_decode(const ql_codec_t *codec, const void *buf, size_t len,
                    json_t **doc /* OUT */, char *errstr, size_t errstr_size);

/* CRC-64-AVRO (Rabin) fingerprint of bytes. */
uint64_t ql_codec_crc64(const void *buf, size_t len);

/* Parsing Canonical Form of a schema given as JSON text.  Returns a malloc'ed
 * string you own, or NULL with the reason in errstr. */
char *ql_codec_canonical_form(const char *schema_json, char *errstr,
                              size_t errstr_size);

#endif
