/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus text exposition format 0.0.4 for /metrics: HELP and TYPE lines, samples with escaped
 * label values, and histograms whose cumulative buckets are summed here so that callers keep plain
 * per-bucket counters. Names are checked against the format's rules, since one bad name makes a
 * scraper reject the whole page; values print with the fewest digits that read back exactly. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

static bool name_ok(const char *s, bool label)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    if (label && s[0] == '_' && s[1] == '_')
        return false; /* reserved for Prometheus itself */
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || (*s == ':' && !label)))
            return false;
    return true;
}

/* Appends s with backslash and newline escaped, and '"' too when quote. */
static int put_escaped(struct cpn_buf *b, const char *s, bool quote)
{
    int rc = 0;
    const char *run = s;
    for (const char *p = s; rc == 0 && *p; p++) {
        const char *esc = *p == '\\'           ? "\\\\"
                          : *p == '\n'         ? "\\n"
                          : quote && *p == '"' ? "\\\""
                                               : NULL;
        if (!esc)
            continue;
        rc = cpn_buf_append(b, run, (size_t)(p - run));
        if (rc == 0)
            rc = cpn_buf_puts(b, esc);
        run = p + 1;
    }
    return rc ? rc : cpn_buf_puts(b, run);
}

/* Writes v as Prometheus reads it into out[40]. */
static void fmt_value(double v, char *out, size_t size)
{
    if (isnan(v)) {
        snprintf(out, size, "NaN");
    } else if (isinf(v)) {
        snprintf(out, size, "%s", v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(out, size, "%.0f", v);
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, size, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

static int put_value(struct cpn_buf *b, double v)
{
    char tmp[40];
    fmt_value(v, tmp, sizeof tmp);
    return cpn_buf_puts(b, tmp);
}

/* A failing writer leaves the buffer as it found it. */
static int undo(struct cpn_buf *b, size_t len, int rc)
{
    if (rc && b->data) {
        b->len = len;
        b->data[len] = '\0';
    }
    return rc;
}

/* name{labels[,extra_name="extra_value"]} */
static int put_series(struct cpn_buf *b,
                      const char *name,
                      const char *suffix,
                      const char *const *labels,
                      const char *extra_name,
                      const char *extra_value)
{
    int rc = cpn_buf_puts(b, name);
    bool any = false;
    if (rc == 0 && suffix)
        rc = cpn_buf_puts(b, suffix);
    for (size_t i = 0; rc == 0 && labels && labels[i]; i += 2) {
        if (!name_ok(labels[i], true) || !labels[i + 1])
            return CPN_EFIELD;
        rc = cpn_buf_printf(b, "%s%s=\"", any ? "," : "{", labels[i]);
        if (rc == 0)
            rc = put_escaped(b, labels[i + 1], true);
        if (rc == 0)
            rc = cpn_buf_puts(b, "\"");
        any = true;
    }
    if (rc == 0 && extra_name) {
        rc = cpn_buf_printf(b, "%s%s=\"%s\"", any ? "," : "{", extra_name, extra_value);
        any = true;
    }
    if (rc == 0 && any)
        rc = cpn_buf_puts(b, "}");
    return rc;
}

int cpn_prom_family(struct cpn_buf *b, const char *name, const char *type, const char *help)
{
    static const char *const types[] = { "counter", "gauge", "histogram", "summary", "untyped" };
    bool type_ok = false;
    size_t len0 = b->len;
    int rc;
    for (size_t i = 0; type && i < sizeof types / sizeof types[0]; i++)
        type_ok = type_ok || strcmp(type, types[i]) == 0;
    if (!name_ok(name, false) || !type_ok)
        return CPN_EFIELD;
    rc = cpn_buf_printf(b, "# HELP %s ", name);
    if (rc == 0)
        rc = put_escaped(b, help ? help : "", false);
    if (rc == 0)
        rc = cpn_buf_printf(b, "\n# TYPE %s %s\n", name, type);
    return undo(b, len0, rc);
}

int cpn_prom_sample(struct cpn_buf *b, const char *name, const char *const *labels, double value)
{
    size_t len0 = b->len;
    int rc;
    if (!name_ok(name, false))
        return CPN_EFIELD;
    rc = put_series(b, name, NULL, labels, NULL, NULL);
    if (rc == 0)
        rc = cpn_buf_puts(b, " ");
    if (rc == 0)
        rc = put_value(b, value);
    if (rc == 0)
        rc = cpn_buf_puts(b, "\n");
    return undo(b, len0, rc);
}

int cpn_prom_histogram(struct cpn_buf *b,
                       const char *name,
                       const char *const *labels,
                       const double *bounds,
                       const uint64_t *counts,
                       size_t n,
                       double sum,
                       uint64_t overflow)
{
    uint64_t cum = 0;
    char le[40];
    int rc = 0;
    size_t len0 = b->len;
    if (!name_ok(name, false))
        return CPN_EFIELD;
    for (size_t i = 0; rc == 0 && i <= n; i++) {
        if (i < n) {
            if (isnan(bounds[i]) || (i && !(bounds[i] > bounds[i - 1])))
                return undo(b, len0, CPN_EFIELD);
            cum += counts[i];
            fmt_value(bounds[i], le, sizeof le);
        } else {
            cum += overflow;
            cpn_strlcpy(le, "+Inf", sizeof le);
        }
        if (rc == 0)
            rc = put_series(b, name, "_bucket", labels, "le", le);
        if (rc == 0)
            rc = cpn_buf_printf(b, " %llu\n", (unsigned long long)cum);
    }
    if (rc == 0)
        rc = put_series(b, name, "_sum", labels, NULL, NULL);
    if (rc == 0)
        rc = cpn_buf_puts(b, " ");
    if (rc == 0)
        rc = put_value(b, sum);
    if (rc == 0)
        rc = cpn_buf_puts(b, "\n");
    if (rc == 0)
        rc = put_series(b, name, "_count", labels, NULL, NULL);
    if (rc == 0)
        rc = cpn_buf_printf(b, " %llu\n", (unsigned long long)cum);
    return undo(b, len0, rc);
}
