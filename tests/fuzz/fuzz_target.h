/*
 * What every fuzz target in tests/fuzz shares: the libFuzzer entry points
 * (each target defines LLVMFuzzerTestOneInput; replay.c calls it without
 * libFuzzer, for the regression and corpus replays of the normal build) and
 * FUZZ_CHECK, an assertion that stays on in release builds and aborts with
 * the failed condition, so that libFuzzer keeps the input as a crash.
 */
#ifndef QL_FUZZ_TARGET_H
#define QL_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
        do {                                                                   \
                if (!(cond)) {                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
                                __LINE__, #cond);                              \
                        abort();                                               \
                }                                                              \
        } while (0)

#endif
