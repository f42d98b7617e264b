/* SPDX-License-Identifier: Apache-2.0 */
/* Signal series from CSV, resampled to the engine's slot grid. Two formats, told apart by the
 * header: generic "time,<name>" with one value column, and the Electricity Maps export (columns
 * "Datetime (UTC)" and "Carbon Intensity gCO2eq/kWh (LCA)", or "(direct)" when that is all there
 * is). Each sample holds from its time until the next sample, the last one for the median spacing;
 * a slot's value is the time-weighted mean of what covers it. A year of 1-minute samples is half a
 * million rows, so the file is streamed and resampling is one linear sweep. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/model_int.h"

#define SERIES_MAX_SLOTS (1u << 22)
#define MIN_SPACING_S    60
#define MAX_SPACING_S    86400

struct samples {
    int64_t *t;
    double *v;
    size_t n, tcap, vcap;
};

static void samples_free(struct samples *s)
{
    cpn_free(s->t);
    cpn_free(s->v);
}

/* Compares a header cell with a name, ignoring case and writing "CO₂" as "CO2". */
static bool header_is(const char *cell, const char *name)
{
    while (*cell == ' ')
        cell++;
    while (*cell && *name) {
        if (strncmp(cell, "\xe2\x82\x82", 3) == 0) { /* U+2082 SUBSCRIPT TWO */
            if (*name != '2')
                return false;
            cell += 3;
            name++;
            continue;
        }
        if (tolower((unsigned char)*cell) != tolower((unsigned char)*name))
            return false;
        cell++;
        name++;
    }
    while (*cell == ' ')
        cell++;
    return *cell == '\0' && *name == '\0';
}

static int find_col(char **f, size_t n, const char *const *names)
{
    for (const char *const *nm = names; *nm; nm++)
        for (size_t i = 0; i < n; i++)
            if (header_is(f[i], *nm))
                return (int)i;
    return -1;
}

/* Picks the time and value columns from the header; fills source. */
static int read_header(struct cpn_csv *csv,
                       size_t *ncols,
                       int *tcol,
                       int *vcol,
                       char *source,
                       size_t srcsize,
                       struct cpn_error *err)
{
    static const char *const em_time[] = { "Datetime (UTC)", NULL };
    static const char *const em_lca[] = { "Carbon Intensity gCO2eq/kWh (LCA)",
                                          "Carbon Intensity gCO2eq/kWh (Life cycle)", NULL };
    static const char *const em_direct[] = { "Carbon Intensity gCO2eq/kWh (direct)", NULL };
    static const char *const gen_time[] = { "time", "timestamp", "datetime", NULL };
    const char *name = cpn_csv_name(csv);
    char **f;
    size_t n;
    int rc = cpn_csv_next(csv, &f, &n, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return cpn_errorf(err, CPN_EPARSE, "%s:1: empty file: expected a header row", name);
    *ncols = n;
    *tcol = find_col(f, n, em_time);
    if (*tcol >= 0) {
        *vcol = find_col(f, n, em_lca);
        if (*vcol < 0)
            *vcol = find_col(f, n, em_direct);
        if (*vcol >= 0) {
            snprintf(source, srcsize, "%s: column \"%s\"", name, f[*vcol]);
            return 0;
        }
    }
    if (n == 2 && find_col(f, 1, gen_time) == 0) {
        *tcol = 0;
        *vcol = 1;
        snprintf(source, srcsize, "%s: column \"%s\"", name, f[1]);
        return 0;
    }
    return cpn_errorf(err, CPN_EPARSE,
                      "%s:%ld: header has %zu columns starting with \"%.40s\": expected two "
                      "columns \"time,value\" (first named time, timestamp or datetime) or an "
                      "Electricity Maps export with \"Datetime (UTC)\" and \"Carbon Intensity "
                      "gCO2eq/kWh (LCA)\"",
                      name, cpn_csv_line(csv), n, n ? f[0] : "");
}

static int read_samples(
    struct cpn_csv *csv, struct samples *s, char *source, size_t srcsize, struct cpn_error *err)
{
    const char *name = cpn_csv_name(csv);
    size_t ncols = 0;
    int tcol = 0, vcol = 0, rc;
    char **f;
    size_t n;
    if ((rc = read_header(csv, &ncols, &tcol, &vcol, source, srcsize, err)))
        return rc;
    while ((rc = cpn_csv_next(csv, &f, &n, err)) == 1) {
        long line = cpn_csv_line(csv);
        char shown[64];
        int64_t t;
        double v;
        if (n != ncols)
            return cpn_errorf(err, CPN_EPARSE, "%s:%ld: %zu fields: expected %zu as in the header",
                              name, line, n, ncols);
        if (cpn_time_parse(f[tcol], &t) || t < CPN__T_MIN || t > CPN__T_MAX) {
            cpn__show_str(f[tcol], shown, sizeof shown);
            return cpn_errorf(err, CPN_EFIELD,
                              "%s:%ld:%d: time = %s: expected an ISO 8601 time "
                              "(2025-01-01T00:00:00Z; no offset means UTC) or integer seconds",
                              name, line, tcol + 1, shown);
        }
        if (s->n && t <= s->t[s->n - 1]) {
            cpn__show_str(f[tcol], shown, sizeof shown);
            return cpn_errorf(err, CPN_EFIELD,
                              "%s:%ld:%d: time = %s: expected a time after the previous row's "
                              "(times must strictly increase)",
                              name, line, tcol + 1, shown);
        }
        if (cpn_parse_double(f[vcol], &v)) {
            cpn__show_str(f[vcol], shown, sizeof shown);
            return cpn_errorf(err, CPN_EFIELD, "%s:%ld:%d: value = %s: expected a finite number",
                              name, line, vcol + 1, shown);
        }
        if (cpn_grow(&s->t, &s->tcap, s->n + 1, sizeof *s->t) ||
            cpn_grow(&s->v, &s->vcap, s->n + 1, sizeof *s->v))
            return cpn_errorf(err, -ENOMEM, "%s:%ld: out of memory", name, line);
        s->t[s->n] = t;
        s->v[s->n] = v;
        s->n++;
    }
    if (rc < 0)
        return rc;
    if (s->n < 2)
        return cpn_errorf(err, CPN_EFIELD,
                          "%s: %zu data rows: expected at least two (the spacing of the rows "
                          "gives the resolution)",
                          name, s->n);
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Time-weighted means of the samples over the slots of step_s. */
static int resample(const char *name,
                    const struct samples *s,
                    int64_t step_s,
                    struct cpn_series *out,
                    struct cpn_error *err)
{
    size_t m = s->n, i = 0, n;
    int64_t *gaps = cpn_calloc(m - 1, sizeof *gaps);
    int64_t med, t_end, t0;
    double *v;
    if (!gaps)
        return cpn_errorf(err, -ENOMEM, "%s: out of memory", name);
    for (size_t k = 0; k + 1 < m; k++)
        gaps[k] = s->t[k + 1] - s->t[k];
    qsort(gaps, m - 1, sizeof *gaps, cmp_i64);
    med = gaps[(m - 2) / 2];
    cpn_free(gaps);
    if (med < MIN_SPACING_S || med > MAX_SPACING_S)
        return cpn_errorf(err, CPN_EFIELD,
                          "%s: median spacing of the rows %lld s: expected a resolution from %d s "
                          "(1 minute) to %d s (1 day)",
                          name, (long long)med, MIN_SPACING_S, MAX_SPACING_S);
    t_end = s->t[m - 1] + med;
    t0 = cpn_floordiv(s->t[0], step_s) * step_s;
    if ((uint64_t)(t_end - t0) / (uint64_t)step_s >= SERIES_MAX_SLOTS)
        return cpn_errorf(err, CPN_ELIMIT,
                          "%s: the rows span %lld s: expected at most %u slots of %lld s", name,
                          (long long)(t_end - t0), SERIES_MAX_SLOTS, (long long)step_s);
    n = (size_t)((t_end - t0 + step_s - 1) / step_s);
    v = cpn_calloc(n, sizeof *v);
    if (!v)
        return cpn_errorf(err, -ENOMEM, "%s: out of memory", name);
    for (size_t k = 0; k < n; k++) {
        int64_t a = t0 + (int64_t)k * step_s, b = a + step_s;
        double sum = 0, w = 0;
        while (i < m) {
            int64_t lo = s->t[i], hi = i + 1 < m ? s->t[i + 1] : t_end;
            int64_t x = lo > a ? lo : a, y = hi < b ? hi : b;
            if (y > x) {
                sum += s->v[i] * (double)(y - x);
                w += (double)(y - x);
            }
            if (hi > b)
                break; /* this sample also covers the next slot */
            i++;
        }
        v[k] = w > 0 ? sum / w : s->v[m - 1];
    }
    out->t0 = t0;
    out->step_s = step_s;
    out->n = n;
    out->v = v;
    return 0;
}

static int
series_read(struct cpn_csv *csv, int64_t step_s, struct cpn_series *out, struct cpn_error *err)
{
    struct samples s = { 0 };
    struct cpn_series r;
    int rc;
    memset(&r, 0, sizeof r);
    rc = read_samples(csv, &s, r.source, sizeof r.source, err);
    if (!rc)
        rc = resample(cpn_csv_name(csv), &s, step_s, &r, err);
    samples_free(&s);
    if (!rc)
        *out = r;
    return rc;
}

static int check_step(const char *name, int64_t step_s, struct cpn_error *err)
{
    if (step_s < 1 || step_s > 86400)
        return cpn_errorf(err, -EINVAL, "%s: slot length %lld s: expected 1..86400 s", name,
                          (long long)step_s);
    return 0;
}

int cpn_series_parse(const char *csv,
                     size_t len,
                     const char *name,
                     int64_t step_s,
                     struct cpn_series *out,
                     struct cpn_error *err)
{
    struct cpn_csv *c;
    int rc = check_step(name, step_s, err);
    if (rc)
        return rc;
    if ((rc = cpn_csv_from_mem(csv, len, name, &c)))
        return cpn_errorf(err, rc, "%s: %s", name, cpn_strerror(rc));
    rc = series_read(c, step_s, out, err);
    cpn_csv_close(c);
    return rc;
}

int cpn_series_load(const char *path, int64_t step_s, struct cpn_series *out, struct cpn_error *err)
{
    struct cpn_csv *c;
    int rc = check_step(path, step_s, err);
    if (rc)
        return rc;
    if ((rc = cpn_csv_open(path, &c, err)))
        return rc;
    rc = series_read(c, step_s, out, err);
    cpn_csv_close(c);
    return rc;
}

void cpn_series_free(struct cpn_series *s)
{
    if (!s)
        return;
    cpn_free(s->v);
    s->v = NULL;
    s->n = 0;
}

double cpn_series_at(const struct cpn_series *s, int64_t t)
{
    uint64_t k;
    if (!s->n)
        return NAN;
    if (t <= s->t0)
        return s->v[0];
    /* unsigned difference: t may be as far as CPN_NO_DEADLINE without overflow */
    k = ((uint64_t)t - (uint64_t)s->t0) / (uint64_t)s->step_s;
    return s->v[k < s->n ? k : s->n - 1];
}
