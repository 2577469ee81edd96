/*
 * ql_util: the small helpers every program wrote for itself: the clocks
 * (a monotonic one for intervals and deadlines, the wall clock for
 * timestamps and for pthread_cond_timedwait), a bounded sleep, reading a
 * whole file into memory, and the name of a JSON value's type for error
 * messages.  No state; each function is safe from any thread.
 */
#ifndef QL_UTIL_H
#define QL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

/* Monotonic time, for intervals and deadlines (never jumps with the wall
 * clock). */
int64_t ql_util_mono_ms(void);
int64_t ql_util_mono_ns(void);
double ql_util_mono_s(void);

/* Wall-clock time in ms since the epoch (files' modification times, log
 * timestamps). */
int64_t ql_util_wall_ms(void);

/* The CLOCK_REALTIME instant `ms` from now, for pthread_cond_timedwait
 * (whose condition variables use the wall clock unless told otherwise). */
void ql_util_abstime(struct timespec *out /* OUT */, int64_t ms);

/* Sleep ms milliseconds (a signal may end it early). */
void ql_util_sleep_ms(int64_t ms);

/* The whole of the file at path, NUL-terminated (the terminator not
 * counted in *len; len may be NULL).  max > 0: a file longer than max
 * bytes is an error.  The caller owns the buffer: free() it.  NULL with
 * errstr ("path: reason") on failure. */
char *ql_util_read_file(const char *path, size_t max, size_t *len /* OUT */,
                        char *errstr, size_t errstr_size);

/* "an object", "an array", "a string", "a number", "a boolean" or "null"
 * (also for v == NULL), for "must be X, not Y" messages.  A jansson
 * integer and real are both "a number". */
const char *ql_util_json_type_name(const json_t *v);

#endif
