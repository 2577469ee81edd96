/*
 * The codec of the fuzz targets that need one: loaded once per process from
 * QL_SCHEMA_DIR (CTest and tests/fuzz/fuzz-one set it) or else the source
 * tree's schemas/avro, because libFuzzer calls LLVMFuzzerTestOneInput many
 * times and gives it no context.  It is destroyed at exit: LeakSanitizer
 * cannot follow pointers inside avro-c's generic values (they sit 4 bytes
 * past an 8-byte boundary), so the codec's pool of idle values would be
 * reported as a leak if it were still alive when the leak check runs.
 * Failing to load is a broken setup, not a finding: it exits with a message.
 */
#ifndef QL_FUZZ_CODEC_ONCE_H
#define QL_FUZZ_CODEC_ONCE_H

#include <stdio.h>
#include <stdlib.h>

#include "ql_codec.h"

static ql_codec_t *codec_once_codec; /* the process's codec */

static void codec_once_destroy(void)
{
        ql_codec_destroy(codec_once_codec);
        codec_once_codec = NULL;
}

static const ql_codec_t *codec_once(void)
{
        if (!codec_once_codec) {
                const char *dir = getenv("QL_SCHEMA_DIR");
                char err[512];
                if (!dir || !*dir)
                        dir = QL_SOURCE_SCHEMA_DIR;
                codec_once_codec = ql_codec_new(dir, err, sizeof(err));
                if (!codec_once_codec) {
                        fprintf(stderr,
                                "fuzz: cannot load schemas from %s: %s\n", dir,
                                err);
                        exit(2);
                }
                atexit(codec_once_destroy);
        }
        return codec_once_codec;
}

#endif
