/*
 * ql_time: the calendar arithmetic the record needs.  Dates are "YYYY-MM-DD"
 * and travel in Avro as days since 1970-01-01; timestamps are ISO 8601 with
 * an offset ("2026-03-01T09:30:00+08:00", "...Z", optional ".sss") and travel
 * as milliseconds since the epoch.  Pure functions, no I/O, no locale.
 */
#ifndef QL_TIME_H
#define QL_TIME_H

#include <stddef.h>
#include <stdint.h>

/* China Standard Time, the zone every due date is counted in. */
#define QL_TIME_CST_OFFSET_MS (8LL * 3600 * 1000)

/* Parse "YYYY-MM-DD" (a real calendar date).  0 on success, -1 otherwise. */
int ql_time_parse_date(const char *s, int32_t *days /* OUT */);

/* Format days since the epoch as "YYYY-MM-DD" into buf (>= 11 bytes). */
void ql_time_format_date(int32_t days, char *buf, size_t buf_size);

/* The instants a timestamp may name: years 1900..9999 in UTC, the years of
 * ql_time_parse_date(), so that every parsed timestamp can be written in UTC
 * and parsed again. */
#define QL_TIME_MIN_MS (-2208988800000LL) /* 1900-01-01T00:00:00.000Z */
#define QL_TIME_MAX_MS 253402300799999LL  /* 9999-12-31T23:59:59.999Z */

/* Parse an ISO 8601 timestamp that carries an offset (Z or +hh:mm / +hhmm),
 * seconds and fraction optional, naming an instant within QL_TIME_MIN_MS ..
 * QL_TIME_MAX_MS.  0 on success, -1 otherwise. */
int ql_time_parse_timestamp(const char *s, int64_t *ms /* OUT */);

/* Format ms since the epoch as ISO 8601 with the given offset in minutes
 * ("2026-03-01T09:30:00.000+08:00"; offset 0 gives "...Z") into buf
 * (>= 32 bytes). */
void ql_time_format_timestamp(int64_t ms, int offset_minutes, char *buf,
                              size_t buf_size);

/* Days since the epoch <-> civil date. */
int32_t ql_time_days_from_civil(int y, unsigned m, unsigned d);
void ql_time_civil_from_days(int32_t days, int *y, unsigned *m, unsigned *d);

#endif
