/* SPDX-License-Identifier: Apache-2.0 */
/* Strict number, duration and boolean parsers: the whole field must be consumed, so "12x" or an
 * empty field is an error that the caller reports with the field's name. */
#include "cpnet/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *skip_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

int cpn_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size == 0)
        return CPN_ELIMIT;
    if (n >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        return CPN_ELIMIT;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

int cpn_parse_double(const char *s, double *out)
{
    char *end;
    double v;
    s = skip_blank(s);
    if (!*s)
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v))
        return -EINVAL;
    if (*skip_blank(end))
        return -EINVAL;
    *out = v;
    return 0;
}

int cpn_parse_int64(const char *s, int64_t *out)
{
    char *end;
    long long v;
    s = skip_blank(s);
    if (!*s)
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || errno == ERANGE)
        return -EINVAL;
    if (*skip_blank(end))
        return -EINVAL;
    *out = (int64_t)v;
    return 0;
}

int cpn_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "true", "1", "yes", "y" };
    static const char *const no[] = { "false", "0", "no", "n" };
    s = skip_blank(s);
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* ISO 8601 duration: PnDTnHnMnS (weeks and years are not accepted: their length is ambiguous). */
static int parse_iso_duration(const char *s, double *secs)
{
    bool in_time = false;
    double total = 0;
    bool any = false;
    s++; /* 'P' */
    while (*s) {
        char *end;
        double v;
        if (*s == 'T' || *s == 't') {
            if (in_time)
                return -EINVAL;
            in_time = true;
            s++;
            continue;
        }
        errno = 0;
        v = strtod(s, &end);
        if (end == s || errno || v < 0)
            return -EINVAL;
        switch (toupper((unsigned char)*end)) {
        case 'D':
            if (in_time)
                return -EINVAL;
            total += v * 86400;
            break;
        case 'H':
            if (!in_time)
                return -EINVAL;
            total += v * 3600;
            break;
        case 'M':
            if (!in_time)
                return -EINVAL;
            total += v * 60;
            break;
        case 'S':
            if (!in_time)
                return -EINVAL;
            total += v;
            break;
        default:
            return -EINVAL;
        }
        any = true;
        s = end + 1;
    }
    if (!any)
        return -EINVAL;
    *secs = total;
    return 0;
}

int cpn_parse_duration(const char *s, int64_t *out_s)
{
    char *end;
    double v, mult = 1;
    s = skip_blank(s);
    if (*s == 'P' || *s == 'p') {
        if (parse_iso_duration(s, &v))
            return -EINVAL;
    } else {
        errno = 0;
        v = strtod(s, &end);
        if (end == s || errno || !isfinite(v))
            return -EINVAL;
        if (*skip_blank(end)) {
            const char *u = skip_blank(end);
            char unit[8];
            size_t n = strlen(u);
            while (n && (u[n - 1] == ' ' || u[n - 1] == '\t'))
                n--;
            if (n == 0 || n >= sizeof unit)
                return -EINVAL;
            memcpy(unit, u, n);
            unit[n] = '\0';
            if (!strcasecmp(unit, "s"))
                mult = 1;
            else if (!strcasecmp(unit, "m") || !strcasecmp(unit, "min"))
                mult = 60;
            else if (!strcasecmp(unit, "h"))
                mult = 3600;
            else if (!strcasecmp(unit, "d"))
                mult = 86400;
            else
                return -EINVAL;
        }
        v *= mult;
    }
    if (v < 0 || v > 9.0e15)
        return -EINVAL;
    *out_s = (int64_t)llround(v);
    return 0;
}
