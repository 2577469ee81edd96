/*
 * ql_log: one line per event on stderr, as text or JSON, filtered by level.
 * A logger belongs to its binary's main(), which creates it once and passes it
 * down; modules never own one.  Lines are written with a single write(2) so
 * threads do not interleave within a line.  Never pass a token or password.
 *
 * Text lines are logfmt (ts=... level=info prog=ql-spool msg="..."): a value
 * with a space, '=', '"', '\\', a control character, an invisible
 * character or a byte that is not UTF-8 is quoted and escaped (\" \\ \n \r
 * \t \xNN \uXXXX).  JSON lines are valid JSON whatever the bytes (a byte
 * that is not UTF-8 becomes the text \xNN).  So a message may carry text
 * from outside (a file name, a lab's value) through %s: it can never end
 * the line, forge a field or a line, or reach a terminal as a control
 * sequence.  Messages longer than 4095 bytes are cut.
 */
#ifndef QL_LOG_H
#define QL_LOG_H

#include <stdarg.h>

typedef enum {
        QL_LOG_DEBUG = 0,
        QL_LOG_INFO,
        QL_LOG_WARN,
        QL_LOG_ERROR,
} ql_log_level_t;

typedef enum { QL_LOG_TEXT = 0, QL_LOG_JSON } ql_log_format_t;

typedef struct ql_log_s ql_log_t;

/* A logger for program `prog` (e.g. "ql-spool") writing to fd 2. */
ql_log_t *ql_log_new(const char *prog, ql_log_level_t level,
                     ql_log_format_t format);
void ql_log_destroy(ql_log_t *lg); /* accepts NULL */

/* Change level/format at run time (SIGHUP); safe against concurrent logging. */
void ql_log_configure(ql_log_t *lg, ql_log_level_t level,
                      ql_log_format_t format);
int ql_log_enabled(const ql_log_t *lg, ql_log_level_t level);

/* "debug".."error" / "text","json" -> enum; -1 if unknown. */
int ql_log_level_parse(const char *s);
int ql_log_format_parse(const char *s);

/* Log one event.  lg may be NULL (then nothing is written).  The message is
 * printf-formatted; a trailing newline is added. */
void ql_log(ql_log_t *lg, ql_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ql_logv(ql_log_t *lg, ql_log_level_t level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define ql_debug(lg, ...) ql_log((lg), QL_LOG_DEBUG, __VA_ARGS__)
#define ql_info(lg, ...)  ql_log((lg), QL_LOG_INFO, __VA_ARGS__)
#define ql_warn(lg, ...)  ql_log((lg), QL_LOG_WARN, __VA_ARGS__)
#define ql_error(lg, ...) ql_log((lg), QL_LOG_ERROR, __VA_ARGS__)

#endif
