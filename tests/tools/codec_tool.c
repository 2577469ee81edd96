/*
 * codec_tool: the Avro codec from the command line, for the integration
 * tests and for looking at messages by hand.  It loads the schemas of
 * QL_SCHEMA_DIR (default: the source tree's schemas/avro) and
 *   encode        reads a JSON document on stdin, writes the message to stdout
 *   decode        reads a message on stdin, prints the document as JSON
 *   fingerprints  prints "<file> <fingerprint> <canonical form>" per schema,
 *                 oldest first, the fingerprint as an unsigned decimal
 *   canonical     reads a schema on stdin, prints its Parsing Canonical Form
 *                 and fingerprint
 *   bench N       encodes and decodes the document on stdin N times and
 *                 prints the mean CPU time of each in microseconds (decode
 *                 includes freeing the document)
 * Exit status 0 on success, 1 on a codec error (reason on stderr), 2 on
 * usage errors.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ql_codec.h"

static int usage(void)
{
        fprintf(stderr, "usage: codec_tool encode|decode|fingerprints|"
                        "canonical|bench N  (schemas from QL_SCHEMA_DIR)\n");
        return 2;
}

/* All of stdin; malloc'ed, NUL-terminated. */
static char *read_stdin(size_t *len)
{
        size_t cap = 1 << 16, n = 0;
        char *buf = malloc(cap + 1);
        while (buf) {
                size_t got = fread(buf + n, 1, cap - n, stdin);
                n += got;
                if (n < cap)
                        break;
                cap *= 2;
                char *nb = realloc(buf, cap + 1);
                if (!nb)
                        free(buf);
                buf = nb;
        }
        if (!buf || ferror(stdin)) {
                free(buf);
                return NULL;
        }
        buf[n] = '\0';
        *len = n;
        return buf;
}

static json_t *read_doc(void)
{
        json_error_t jerr;
        json_t *doc = json_loadf(stdin, 0, &jerr);
        if (!doc)
                fprintf(stderr, "codec_tool: stdin is not JSON: %s (line %d)\n",
                        jerr.text, jerr.line);
        return doc;
}

/* CPU time, so that a busy machine does not count against the codec. */
static double now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmd_encode(ql_codec_t *codec)
{
        char errstr[512];
        json_t *doc = read_doc();
        if (!doc)
                return 1;
        unsigned char *msg;
        size_t len;
        int rc =
            ql_codec_encode(codec, doc, &msg, &len, errstr, sizeof(errstr));
        json_decref(doc);
        if (rc) {
                fprintf(stderr, "codec_tool: encode: %s\n", errstr);
                return 1;
        }
        rc = fwrite(msg, 1, len, stdout) == len ? 0 : 1;
        free(msg);
        return rc;
}

static int cmd_decode(ql_codec_t *codec)
{
        char errstr[512];
        size_t len;
        char *msg = read_stdin(&len);
        if (!msg)
                return 1;
        json_t *doc;
        int rc = ql_codec_decode(codec, msg, len, &doc, errstr, sizeof(errstr));
        free(msg);
        if (rc) {
                fprintf(stderr, "codec_tool: decode: %s\n", errstr);
                return 1;
        }
        rc = json_dumpf(doc, stdout, JSON_INDENT(2)) ? 1 : 0;
        fputc('\n', stdout);
        json_decref(doc);
        return rc;
}

static int cmd_fingerprints(ql_codec_t *codec)
{
        for (size_t i = 0; i < ql_codec_schema_count(codec); i++) {
                const char *file, *canonical;
                uint64_t fp;
                ql_codec_schema_info(codec, i, &file, &fp, &canonical);
                printf("%s %" PRIu64 " %s\n", file, fp, canonical);
        }
        return 0;
}

static int cmd_canonical(void)
{
        char errstr[512];
        size_t len;
        char *schema = read_stdin(&len);
        if (!schema)
                return 1;
        char *canonical =
            ql_codec_canonical_form(schema, errstr, sizeof(errstr));
        free(schema);
        if (!canonical) {
                fprintf(stderr, "codec_tool: canonical: %s\n", errstr);
                return 1;
        }
        printf("%s\n%" PRIu64 "\n", canonical,
               ql_codec_crc64(canonical, strlen(canonical)));
        free(canonical);
        return 0;
}

static int cmd_bench(ql_codec_t *codec, long n)
{
        char errstr[512];
        json_t *doc = read_doc();
        if (!doc)
                return 1;
        unsigned char *msg = NULL;
        size_t len = 0;
        int rc = 0;
        double t0 = now_us();
        for (long i = 0; i < n && rc == 0; i++) {
                free(msg);
                rc = ql_codec_encode(codec, doc, &msg, &len, errstr,
                                     sizeof(errstr));
        }
        double t1 = now_us();
        for (long i = 0; i < n && rc == 0; i++) {
                json_t *out;
                rc = ql_codec_decode(codec, msg, len, &out, errstr,
                                     sizeof(errstr));
                json_decref(rc ? NULL : out);
        }
        double t2 = now_us();
        free(msg);
        json_decref(doc);
        if (rc) {
                fprintf(stderr, "codec_tool: bench: %s\n", errstr);
                return 1;
        }
        printf("encode %.2f us, decode %.2f us, message %zu bytes\n",
               (t1 - t0) / (double)n, (t2 - t1) / (double)n, len);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc < 2)
                return usage();
        if (strcmp(argv[1], "canonical") == 0)
                return cmd_canonical();
        const char *dir = getenv("QL_SCHEMA_DIR");
        if (!dir || !*dir)
                dir = QL_SOURCE_SCHEMA_DIR;
        char errstr[512];
        ql_codec_t *codec = ql_codec_new(dir, errstr, sizeof(errstr));
        if (!codec) {
                fprintf(stderr, "codec_tool: %s\n", errstr);
                return 1;
        }
        int rc;
        if (strcmp(argv[1], "encode") == 0)
                rc = cmd_encode(codec);
        else if (strcmp(argv[1], "decode") == 0)
                rc = cmd_decode(codec);
        else if (strcmp(argv[1], "fingerprints") == 0)
                rc = cmd_fingerprints(codec);
        else if (strcmp(argv[1], "bench") == 0 && argc == 3 &&
                 atol(argv[2]) > 0)
                rc = cmd_bench(codec, atol(argv[2]));
        else
                rc = usage();
        ql_codec_destroy(codec);
        return rc;
}
