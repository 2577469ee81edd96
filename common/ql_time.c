/*
 * ql_time: civil-date arithmetic and ISO 8601 parsing for the record's date
 * and timestamp fields.  The day/civil conversions are Howard Hinnant's
 * well-known proleptic-Gregorian algorithms, valid for any year in int range.
 */
#include "ql_time.h"

#include <stdio.h>
#include <string.h>

int32_t ql_time_days_from_civil(int y, unsigned m, unsigned d)
{
        y -= m <= 2;
        const int era = (y >= 0 ? y : y - 399) / 400;
        const unsigned yoe = (unsigned)(y - era * 400);
        const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return (int32_t)(era * 146097 + (int)doe - 719468);
}

void ql_time_civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d)
{
        int64_t zz = (int64_t)z + 719468;
        const int64_t era = (zz >= 0 ? zz : zz - 146096) / 146097;
        const unsigned doe = (unsigned)(zz - era * 146097);
        const unsigned yoe =
            (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        const unsigned mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (int)(yoe + era * 400) + (*m <= 2);
}

static int is_leap(int y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int y, unsigned m)
{
        static const unsigned dm[] = {31, 28, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31};
        return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Read exactly n ASCII digits. */
static int digits(const char *s, int n, int *out)
{
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return 0;
}

static int parse_ymd(const char *s, int *y, unsigned *m, unsigned *d)
{
        int yy, mm, dd;
        if (digits(s, 4, &yy) || s[4] != '-' || digits(s + 5, 2, &mm) ||
            s[7] != '-' || digits(s + 8, 2, &dd))
                return -1;
        if (yy < 1900 || mm < 1 || mm > 12 || dd < 1 ||
            (unsigned)dd > days_in_month(yy, (unsigned)mm))
                return -1;
        *y = yy;
        *m = (unsigned)mm;
        *d = (unsigned)dd;
        return 0;
}

int ql_time_parse_date(const char *s, int32_t *days)
{
        int y;
        unsigned m, d;
        if (!s || strlen(s) != 10 || parse_ymd(s, &y, &m, &d))
                return -1;
        *days = ql_time_days_from_civil(y, m, d);
        return 0;
}

void ql_time_format_date(int32_t days, char *buf, size_t buf_size)
{
        int y;
        unsigned m, d;
        ql_time_civil_from_days(days, &y, &m, &d);
        snprintf(buf, buf_size, "%04d-%02u-%02u", y, m, d);
}

int ql_time_parse_timestamp(const char *s, int64_t *ms)
{
        int y, hh, mi, ss = 0, frac = 0;
        unsigned m, d;
        if (!s || strlen(s) < 17 || parse_ymd(s, &y, &m, &d))
                return -1;
        if ((s[10] != 'T' && s[10] != ' ') || digits(s + 11, 2, &hh) ||
            s[13] != ':' || digits(s + 14, 2, &mi))
                return -1;
        const char *p = s + 16;
        if (*p == ':') {
                if (digits(p + 1, 2, &ss))
                        return -1;
                p += 3;
                if (*p == '.' || *p == ',') {
                        int n = 0, scale = 1000;
                        p++;
                        while (*p >= '0' && *p <= '9') {
                                if (n < 3) {
                                        scale /= 10;
                                        frac += (*p - '0') * scale;
                                }
                                n++;
                                p++;
                        }
                        if (n == 0 || n > 9)
                                return -1;
                }
        }
        if (hh > 23 || mi > 59 || ss > 60)
                return -1;
        int off_min;
        if (*p == 'Z' || *p == 'z') {
                off_min = 0;
                p++;
        } else if (*p == '+' || *p == '-') {
                int oh, om;
                int sign = *p == '-' ? -1 : 1;
                p++;
                if (digits(p, 2, &oh))
                        return -1;
                p += 2;
                if (*p == ':')
                        p++;
                if (digits(p, 2, &om))
                        return -1;
                p += 2;
                if (oh > 23 || om > 59)
                        return -1;
                off_min = sign * (oh * 60 + om);
        } else {
                return -1; /* an offset is required */
        }
        if (*p != '\0')
                return -1;
        int64_t days = ql_time_days_from_civil(y, m, d);
        int64_t secs =
            days * 86400 + hh * 3600 + mi * 60 + ss - (int64_t)off_min * 60;
        int64_t t = secs * 1000 + frac;
        /* The offset may move the instant out of the years dates have
         * (1900-01-01T00:00+08:00 is 1899 in UTC); such an instant could not
         * be written back in UTC and parsed again. */
        if (t < QL_TIME_MIN_MS || t > QL_TIME_MAX_MS)
                return -1;
        *ms = t;
        return 0;
}

void ql_time_format_timestamp(int64_t ms, int offset_minutes, char *buf,
                              size_t buf_size)
{
        int64_t local = ms + (int64_t)offset_minutes * 60000;
        int64_t secs = local >= 0 ? local / 1000 : -((-local + 999) / 1000);
        int frac = (int)(local - secs * 1000);
        int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
        int sod = (int)(secs - days * 86400);
        int y;
        unsigned m, d;
        ql_time_civil_from_days((int32_t)days, &y, &m, &d);
        char off[8];
        int a = offset_minutes < 0 ? -offset_minutes : offset_minutes;
        if (offset_minutes == 0)
                snprintf(off, sizeof(off), "Z");
        else
                snprintf(off, sizeof(off), "%c%02d:%02d",
                         offset_minutes < 0 ? '-' : '+', (a / 60) % 100,
                         a % 60);
        snprintf(buf, buf_size, "%04d-%02u-%02uT%02d:%02d:%02d.%03d%s", y, m, d,
                 sod / 3600, sod / 60 % 60, sod % 60, frac, off);
}
