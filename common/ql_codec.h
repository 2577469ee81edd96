/*
 * ql_codec: the Avro codec for qingling.InspectionResult.  It loads every
 * *.avsc of a schema directory, computes each schema's Parsing Canonical Form
 * and CRC-64-AVRO fingerprint, writes records with the newest schema in Avro
 * single-object encoding (C3 01, 8-byte little-endian fingerprint, binary
 * datum) and reads any known writer schema, resolved to the newest one.
 *
 * Records cross this interface as jansson documents shaped like the lab's
 * JSON (design §3): dates "YYYY-MM-DD", timestamps ISO 8601 with offset,
 * enums as their symbol strings, nullable fields null or absent.  Encoding
 * expects a document that ql_result_validate() accepted.
 *
 * Schema version order: files are sorted by name; the newest schema is the
 * last one.  Name them inspection_result.vN.avsc with N growing (v1..v9, then
 * v10 sorts after v9 because numbers are compared numerically).
 *
 * A codec is immutable after ql_codec_new() and may be used from several
 * threads at once.
 */
#ifndef QL_CODEC_H
#define QL_CODEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ql_codec_s ql_codec_t;

/* Load every *.avsc in dir.  NULL on error (no schema, unparsable schema,
 * two files with the same fingerprint), with the reason in errstr. */
ql_codec_t *ql_codec_new(const char *dir, char *errstr, size_t errstr_size);
void ql_codec_destroy(ql_codec_t *codec); /* accepts NULL */

/* Number of schema versions loaded, and the fingerprint of the newest. */
size_t ql_codec_schema_count(const ql_codec_t *codec);
uint64_t ql_codec_newest_fingerprint(const ql_codec_t *codec);

/* Encode doc with the newest schema.  On success returns 0 and *out is a
 * malloc'ed buffer of *out_len bytes: you now own it; free() it.  On error
 * returns -1, *out is NULL and errstr names the field. */
int ql_codec_encode(const ql_codec_t *codec, const json_t *doc,
                    unsigned char **out /* OUT */, size_t *out_len /* OUT */,
                    char *errstr, size_t errstr_size);

/* Decode a single-object message.  On success returns 0 and *doc is a new
 * reference you own (json_decref it); timestamps come back in UTC ("...Z").
 * On error (bad header, unknown fingerprint, truncated or trailing bytes,
 * invalid data) returns -1 with the reason in errstr; never crashes, never
 * reads past len. */
int ql_codec_decode(const ql_codec_t *codec, const void *buf, size_t len,
                    json_t **doc /* OUT */, char *errstr, size_t errstr_size);

/* CRC-64-AVRO (Rabin) fingerprint of bytes. */
uint64_t ql_codec_crc64(const void *buf, size_t len);

/* Parsing Canonical Form of a schema given as JSON text.  Returns a malloc'ed
 * string you own, or NULL with the reason in errstr. */
char *ql_codec_canonical_form(const char *schema_json, char *errstr,
                              size_t errstr_size);

#endif
