/*
 * ql_log: event lines on stderr.  Text lines read
 *     2026-11-25T18:55:04.123Z INFO  ql-spool: file a.csv: 12 published
 * and JSON lines carry the same as {"ts":..,"level":..,"prog":..,"msg":..}
 * for log shippers.  Each line is built in a local buffer and written with
 * one write(2), so concurrent threads never interleave inside a line.
 */
#include "ql_log.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ql_time.h"

struct ql_log_s {
        char *prog;
        atomic_int level;
        atomic_int format;
};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

ql_log_t *ql_log_new(const char *prog, ql_log_level_t level,
                     ql_log_format_t format)
{
        ql_log_t *lg = calloc(1, sizeof(*lg));
        if (!lg)
                return NULL;
        lg->prog = strdup(prog ? prog : "qingling");
        if (!lg->prog) {
                free(lg);
                return NULL;
        }
        atomic_init(&lg->level, (int)level);
        atomic_init(&lg->format, (int)format);
        return lg;
}

void ql_log_destroy(ql_log_t *lg)
{
        if (!lg)
                return;
        free(lg->prog);
        free(lg);
}

void ql_log_configure(ql_log_t *lg, ql_log_level_t level,
                      ql_log_format_t format)
{
        atomic_store(&lg->level, (int)level);
        atomic_store(&lg->format, (int)format);
}

int ql_log_enabled(const ql_log_t *lg, ql_log_level_t level)
{
        return lg && (int)level >= atomic_load(&lg->level);
}

int ql_log_level_parse(const char *s)
{
        for (int i = 0; s && i < 4; i++)
                if (!strcmp(s, level_names[i]))
                        return i;
        if (s && !strcmp(s, "warning"))
                return QL_LOG_WARN;
        return -1;
}

int ql_log_format_parse(const char *s)
{
        if (s && !strcmp(s, "text"))
                return QL_LOG_TEXT;
        if (s && !strcmp(s, "json"))
                return QL_LOG_JSON;
        return -1;
}

static void write_all(const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(STDERR_FILENO, buf, len);
                if (n <= 0)
                        return; /* nowhere left to report it */
                buf += n;
                len -= (size_t)n;
        }
}

void ql_logv(ql_log_t *lg, ql_log_level_t level, const char *fmt, va_list ap)
{
        if (!ql_log_enabled(lg, level))
                return;
        char msg[4096];
        int n = vsnprintf(msg, sizeof(msg), fmt, ap);
        if (n < 0)
                return;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        char when[40];
        ql_time_format_timestamp((int64_t)ts.tv_sec * 1000 +
                                     ts.tv_nsec / 1000000,
                                 0, when, sizeof(when));
        if (atomic_load(&lg->format) == QL_LOG_JSON) {
                json_t *o =
                    json_pack("{s:s, s:s, s:s, s:s}", "ts", when, "level",
                              level_names[level], "prog", lg->prog, "msg", msg);
                /* A message that is not valid UTF-8 (a filename, a lab's
                 * bytes) must still be logged: fall back to an escaped copy. */
                if (!o) {
                        for (char *p = msg; *p; p++)
                                if ((unsigned char)*p >= 0x80)
                                        *p = '?';
                        o = json_pack("{s:s, s:s, s:s, s:s}", "ts", when,
                                      "level", level_names[level], "prog",
                                      lg->prog, "msg", msg);
                }
                char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
                json_decref(o);
                if (s) {
                        size_t len = strlen(s);
                        char *line = malloc(len + 2);
                        if (line) {
                                memcpy(line, s, len);
                                line[len] = '\n';
                                write_all(line, len + 1);
                                free(line);
                        }
                        free(s);
                }
                return;
        }
        char line[4300];
        static const char *const tags[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
        int len = snprintf(line, sizeof(line), "%s %s %s: %s\n", when,
                           tags[level], lg->prog, msg);
        if (len < 0)
                return;
        if ((size_t)len >= sizeof(line)) {
                len = sizeof(line) - 1;
                line[len - 1] = '\n';
        }
        write_all(line, (size_t)len);
}

void ql_log(ql_log_t *lg, ql_log_level_t level, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        ql_logv(lg, level, fmt, ap);
        va_end(ap);
}
