/*
 * ql_util: the helpers that each program had written for itself (see
 * ql_util.h).  Kept to what two or more modules use; anything with state
 * or a policy of its own belongs in a module named for it.
 */
#include "ql_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t ql_util_mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t ql_util_mono_ms(void)
{
        return ql_util_mono_ns() / 1000000;
}

double ql_util_mono_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t ql_util_wall_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ql_util_abstime(struct timespec *out, int64_t ms)
{
        clock_gettime(CLOCK_REALTIME, out);
        if (ms <= 0)
                return;
        out->tv_sec += (time_t)(ms / 1000);
        out->tv_nsec += (long)(ms % 1000) * 1000000L;
        if (out->tv_nsec >= 1000000000L) {
                out->tv_sec++;
                out->tv_nsec -= 1000000000L;
        }
}

void ql_util_sleep_ms(int64_t ms)
{
        if (ms <= 0)
                return;
        struct timespec ts = {(time_t)(ms / 1000),
                              (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

char *ql_util_read_file(const char *path, size_t max, size_t *len, char *errstr,
                        size_t errstr_size)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
                return NULL;
        }
        char *buf = NULL;
        size_t n = 0, cap = 0;
        for (;;) {
                /* Grow while short of room, up to max + 1 bytes: one more
                 * than max is how a file over max is told. */
                if (cap - n < 4096 && !(max && cap > max)) {
                        size_t want = cap ? 2 * cap : 65536;
                        if (max && want > max + 1)
                                want = max + 1;
                        char *b = realloc(buf, want + 1);
                        if (!b) {
                                free(buf);
                                fclose(f);
                                snprintf(errstr, errstr_size, "out of memory");
                                return NULL;
                        }
                        buf = b;
                        cap = want;
                }
                if (n == cap)
                        break;
                size_t got = fread(buf + n, 1, cap - n, f);
                if (!got)
                        break;
                n += got;
        }
        int err = ferror(f);
        fclose(f);
        if (err || (max && n > max)) {
                free(buf);
                if (err)
                        snprintf(errstr, errstr_size, "%s: read error", path);
                else
                        snprintf(errstr, errstr_size, "%s: over %zu bytes",
                                 path, max);
                return NULL;
        }
        buf[n] = '\0';
        if (len)
                *len = n;
        return buf;
}

const char *ql_util_json_type_name(const json_t *v)
{
        switch (v ? json_typeof(v) : JSON_NULL) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        case JSON_NULL:
                break;
        }
        return "null";
}
