/* SPDX-License-Identifier: Apache-2.0 */
/* UTC time: ISO 8601 parsing and formatting without the C library's time-zone machinery (which
 * reads the environment), civil-date arithmetic (Howard Hinnant's days-from-civil algorithm) and
 * the clocks that components receive injected. */
#include "cpnet/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t cpn_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void cpn_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int cpn_weekday(int64_t t)
{
    int64_t days = cpn_floordiv(t, 86400);
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -EINVAL;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

int cpn_time_parse(const char *s, int64_t *out)
{
    const char *p;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t t;
    while (*s == ' ' || *s == '\t')
        s++;
    p = s;
    /* Plain integer seconds (possibly negative). */
    if (*p == '-' || isdigit((unsigned char)*p)) {
        const char *q = p + (*p == '-');
        while (isdigit((unsigned char)*q))
            q++;
        if (*q == '\0' || ((*q == ' ' || *q == '\t') && q > p)) {
            int64_t v;
            if (cpn_parse_int64(p, &v) == 0) {
                *out = v;
                return 0;
            }
        }
    }
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -EINVAL;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
            return -EINVAL;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec))
                return -EINVAL;
            if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                    return -EINVAL;
                while (isdigit((unsigned char)*p))
                    p++; /* fractions of a second are dropped: times are whole seconds */
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return -EINVAL;
    }
    t = cpn_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;
        p++;
        if (digits(&p, 2, &oh))
            return -EINVAL;
        if (*p == ':')
            p++;
        if (isdigit((unsigned char)*p) && digits(&p, 2, &om))
            return -EINVAL;
        if (oh > 23 || om > 59)
            return -EINVAL;
        t -= sign * (oh * 3600 + om * 60);
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return -EINVAL;
    *out = t;
    return 0;
}

void cpn_time_format(int64_t t, char *out)
{
    int64_t days = cpn_floordiv(t, 86400), y;
    int64_t rem = t - days * 86400;
    unsigned m, d;
    cpn_civil_from_days(days, &y, &m, &d);
    snprintf(out, CPN_TIME_STRLEN, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

static int64_t real_now_ns(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct cpn_clock cpn_clock_real(void)
{
    struct cpn_clock c = { real_now_ns, NULL };
    return c;
}

int64_t cpn_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
