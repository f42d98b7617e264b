/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of series loading and resampling: 1-minute, 15-minute, hourly and daily inputs into 15, 30
 * and 60-minute slots by time-weighted mean (checked against hand-computed values and against the
 * conservation of the time integral), both CSV formats with the column recorded, errors with line
 * and column, clamped lookups, allocation failures, and the real half-hourly series in
 * ../shared/validation when it is there. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/model.h"
#include "harness.h"

static int parse(const char *csv, int64_t step, struct cpn_series *s, struct cpn_error *err)
{
    return cpn_series_parse(csv, strlen(csv), "s.csv", step, s, err);
}

static void test_hourly_to_30min(void)
{
    struct cpn_series s = { 0 };
    struct cpn_error err = { 0 };
    int rc =
        parse("time,value\n2025-01-01T00:00:00Z,100\n2025-01-01T01:00:00Z,200\n", 1800, &s, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_INT(s.n, 4);
    CHECK_INT(s.step_s, 1800);
    CHECK_INT(s.t0, 1735689600);
    if (s.n == 4) {
        CHECK_NEAR(s.v[0], 100, 1e-9);
        CHECK_NEAR(s.v[1], 100, 1e-9);
        CHECK_NEAR(s.v[2], 200, 1e-9);
        CHECK_NEAR(s.v[3], 200, 1e-9);
    }
    CHECK_STR(s.source, "s.csv: column \"value\"");
    cpn_series_free(&s);
    CHECK(s.v == NULL && s.n == 0);
}

static void test_15min_to_hourly(void)
{
    struct cpn_series s = { 0 };
    struct cpn_error err = { 0 };
    int rc = parse("Timestamp,price\n0,1\n900,2\n1800,3\n2700,4\n", 3600, &s, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_INT(s.n, 1);
    CHECK_INT(s.t0, 0);
    if (s.n)
        CHECK_NEAR(s.v[0], 2.5, 1e-12);
    CHECK_STR(s.source, "s.csv: column \"price\"");
    cpn_series_free(&s);
}

/* Builds a CSV of n samples every dt seconds from t0 with values f(i). */
static char *make_csv(int64_t t0, int64_t dt, int n, double (*f)(int))
{
    size_t cap = (size_t)n * 48 + 32, len = 0;
    char *csv = malloc(cap);
    len += (size_t)snprintf(csv, cap, "datetime,v\n");
    for (int i = 0; i < n; i++) {
        char when[CPN_TIME_STRLEN];
        cpn_time_format(t0 + i * dt, when);
        len += (size_t)snprintf(csv + len, cap - len, "%s,%.17g\n", when, f(i));
    }
    return csv;
}

static double ramp(int i)
{
    return 10.0 + i;
}

static double wave(int i)
{
    return 300 + 100 * sin(i * 0.1);
}

/* Every input resolution into every slot length: slot values equal the hand-computed means, and
 * the time integral is conserved when the input starts on a slot boundary. */
static void test_resolutions(void)
{
    static const int64_t dts[] = { 60, 900, 3600, 86400 };
    static const int64_t steps[] = { 900, 1800, 3600 };
    const int64_t t0 = 1735689600; /* 2025-01-01, a multiple of every step */
    for (size_t a = 0; a < 4; a++) {
        int n = dts[a] == 86400 ? 3 : (int)(2 * 86400 / dts[a]);
        char *csv = make_csv(t0, dts[a], n, ramp);
        for (size_t b = 0; b < 3; b++) {
            struct cpn_series s = { 0 };
            struct cpn_error err = { 0 };
            int64_t span = (int64_t)n * dts[a];
            double integral = 0, expect_int = 0;
            int rc = parse(csv, steps[b], &s, &err);
            CHECK_MSG(rc == 0, "dt %lld step %lld: %s", (long long)dts[a], (long long)steps[b],
                      err.msg);
            if (rc)
                continue;
            CHECK_INT(s.t0, t0);
            CHECK_INT(s.n, (size_t)((span + steps[b] - 1) / steps[b]));
            for (size_t k = 0; k < s.n; k++) {
                /* mean of ramp over [k*step, (k+1)*step) */
                int64_t x = (int64_t)k * steps[b], y = x + steps[b];
                double sum = 0;
                for (int64_t t = x; t < y; t += 60)
                    sum += ramp((int)(t / dts[a]));
                CHECK_NEAR(s.v[k], sum / (double)(steps[b] / 60), 1e-9);
                integral += s.v[k] * (double)steps[b];
            }
            for (int i = 0; i < n; i++)
                expect_int += ramp(i) * (double)dts[a];
            CHECK_NEAR(integral, expect_int, 1e-6 * expect_int);
            cpn_series_free(&s);
        }
        free(csv);
    }
}

/* A start off the slot grid: t0 is floored, the first slot averages over its covered part only. */
static void test_partial_slots(void)
{
    struct cpn_series s = { 0 };
    struct cpn_error err = { 0 };
    /* 15-minute samples from 00:30: slot 00:00-01:00 holds 00:30..01:00 = mean(1,2) */
    int rc = parse("time,v\n1800,1\n2700,2\n3600,3\n4500,4\n5400,5\n", 3600, &s, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_INT(s.t0, 0);
    CHECK_INT(s.n, 2);
    if (s.n == 2) {
        CHECK_NEAR(s.v[0], 1.5, 1e-12);
        CHECK_NEAR(s.v[1], 4, 1e-12); /* 3, 4, 5 over 01:00..01:45 */
    }
    cpn_series_free(&s);
    /* A gap: the sample before it holds until the next one. */
    rc = parse("time,v\n0,10\n3600,20\n10800,30\n", 3600, &s, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_INT(s.n, 4); /* median spacing 3600: the last sample holds 10800..14400 */
    if (s.n == 4) {
        CHECK_NEAR(s.v[1], 20, 0);
        CHECK_NEAR(s.v[2], 20, 0);
        CHECK_NEAR(s.v[3], 30, 0);
    }
    cpn_series_free(&s);
    /* Hourly into 15 minutes with a non-aligned, time-zoned start. */
    rc = parse("time,v\n2025-01-01T08:10:00+08:00,5\n2025-01-01T09:10:00+08:00,7\n", 900, &s, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_INT(s.t0, 1735689600);
    CHECK_INT(s.n, 9); /* 00:00 .. 02:15 UTC: covered 00:10 .. 02:10 */
    if (s.n == 9) {
        CHECK_NEAR(s.v[0], 5, 0);
        CHECK_NEAR(s.v[4], (5.0 * 10 + 7.0 * 5) / 15, 1e-12);
        CHECK_NEAR(s.v[8], 7, 0);
    }
    cpn_series_free(&s);
}

static void test_electricity_maps(void)
{
    static const char em[] =
        "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO2eq/kWh (direct),"
        "Carbon Intensity gCO2eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,"
        "Data Source,Data Estimated,Data Estimation Method\n"
        "2023-01-01 00:00:00,Germany,Germany,DE,300.5,350.25,40.1,35.2,entsoe.eu,false,\n"
        "2023-01-01 01:00:00,Germany,Germany,DE,310.5,360.25,40.1,35.2,entsoe.eu,false,\n"
        "2023-01-01 02:00:00,Germany,Germany,DE,320.5,370.25,40.1,35.2,\"entsoe.eu, x\",true,"
        "TIME_SLICER_AVERAGE\n";
    static const char em_direct[] = "Datetime (UTC),Zone Id,Carbon Intensity gCO2eq/kWh (direct)\n"
                                    "2023-01-01 00:00:00,DE,300\n2023-01-01 01:00:00,DE,310\n";
    static const char em_new[] =
        "Datetime (UTC),Carbon intensity gCO\xe2\x82\x82"
        "eq/kWh (Life cycle)\n2023-01-01 00:00:00,1\n2023-01-01 01:00:00,2\n";
    struct cpn_series s = { 0 };
    struct cpn_error err = { 0 };
    int rc = cpn_series_parse(em, strlen(em), "DE_2023_hourly.csv", 1800, &s, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_INT(s.n, 6);
    if (s.n == 6) {
        CHECK_NEAR(s.v[0], 350.25, 0);
        CHECK_NEAR(s.v[3], 360.25, 0);
        CHECK_NEAR(s.v[5], 370.25, 0);
    }
    CHECK_STR(s.source, "DE_2023_hourly.csv: column \"Carbon Intensity gCO2eq/kWh (LCA)\"");
    cpn_series_free(&s);
    rc = cpn_series_parse(em_direct, strlen(em_direct), "de.csv", 3600, &s, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_INT(s.n, 2);
    CHECK_CONTAINS(s.source, "(direct)");
    cpn_series_free(&s);
    rc = cpn_series_parse(em_new, strlen(em_new), "new.csv", 3600, &s, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_CONTAINS(s.source, "Life cycle");
    cpn_series_free(&s);
}

static void test_errors(void)
{
    static const struct {
        const char *csv;
        int64_t step;
        int code;
        const char *msg;
    } cases[] = {
        { "", 900, CPN_EPARSE, "s.csv:1: empty file" },
        { "when,value\n0,1\n", 900, CPN_EPARSE, "s.csv:1: header has 2 columns" },
        { "time,a,b\n0,1,2\n", 900, CPN_EPARSE, "expected two columns \"time,value\"" },
        { "time,value\n0,1\n60,2,3\n", 900, CPN_EPARSE, "s.csv:3: 3 fields: expected 2" },
        { "time,value\n0,1\nsoon,2\n", 900, CPN_EFIELD, "s.csv:3:1: time = \"soon\"" },
        { "time,value\n0,1\n2025-13-01,2\n", 900, CPN_EFIELD, "s.csv:3:1: time = \"2025-13-01\"" },
        { "time,value\n3600,1\n3600,2\n", 900, CPN_EFIELD,
          "s.csv:3:1: time = \"3600\": expected a "
          "time after the previous row's" },
        { "time,value\n3600,1\n0,2\n", 900, CPN_EFIELD, "strictly increase" },
        { "time,value\n0,1\n3600,x\n", 900, CPN_EFIELD,
          "s.csv:3:2: value = \"x\": expected a "
          "finite number" },
        { "time,value\n0,1\n3600,\n", 900, CPN_EFIELD, "s.csv:3:2: value = \"\"" },
        { "time,value\n0,1\n3600,inf\n", 900, CPN_EFIELD, "s.csv:3:2: value = \"inf\"" },
        { "time,value\n0,1\n3600,nan\n", 900, CPN_EFIELD, "s.csv:3:2: value = \"nan\"" },
        { "time,value\n0,1\n", 900, CPN_EFIELD, "1 data rows: expected at least two" },
        { "time,value\n0,1\n30,2\n60,3\n", 900, CPN_EFIELD, "median spacing of the rows 30 s" },
        { "time,value\n0,1\n172800,2\n", 900, CPN_EFIELD, "median spacing of the rows 172800 s" },
        { "time,value\n0,1\n60,2\n", 0, -EINVAL, "slot length 0 s" },
        { "time,value\n0,1\n60,2\n", 86401, -EINVAL, "expected 1..86400 s" },
        { "time,value\n0,1\n86400,2\n253402214400,3\n", 60, CPN_ELIMIT, "expected at most" },
        { "time,value\n-99999999999999,1\n0,2\n", 900, CPN_EFIELD, "s.csv:2:1: time = " },
        { "time,value\n0,\"1\n", 900, CPN_EPARSE, "quoted field not closed" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cpn_series s = { 0 };
        struct cpn_error err = { 0 };
        int rc;
        s.n = 12345; /* must stay untouched on error */
        rc = parse(cases[i].csv, cases[i].step, &s, &err);
        CHECK_MSG(rc == cases[i].code, "case %zu: rc %d (%s), expected %d", i, rc, err.msg,
                  cases[i].code);
        CHECK_CONTAINS(err.msg, cases[i].msg);
        CHECK_MSG(s.n == 12345 && s.v == NULL, "case %zu: output written on error", i);
    }
}

static void test_at(void)
{
    struct cpn_series s = { 0 };
    struct cpn_error err = { 0 };
    int rc = parse("time,v\n3600,1\n7200,2\n10800,3\n", 3600, &s, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_NEAR(cpn_series_at(&s, 0), 1, 0);
    CHECK_NEAR(cpn_series_at(&s, -1000000), 1, 0);
    CHECK_NEAR(cpn_series_at(&s, 3600), 1, 0);
    CHECK_NEAR(cpn_series_at(&s, 7199), 1, 0);
    CHECK_NEAR(cpn_series_at(&s, 7200), 2, 0);
    CHECK_NEAR(cpn_series_at(&s, 14399), 3, 0);
    CHECK_NEAR(cpn_series_at(&s, 1000000), 3, 0);
    CHECK_NEAR(cpn_series_at(&s, CPN_NO_DEADLINE), 3, 0);
    CHECK_NEAR(cpn_series_at(&s, INT64_MIN), 1, 0);
    cpn_series_free(&s);
    CHECK(isnan(cpn_series_at(&s, 0)));
    cpn_series_free(NULL);
}

static void test_load_file(void)
{
    struct cpn_series s = { 0 };
    struct cpn_error err = { 0 };
    char path[512], dir[256];
    FILE *f;
    int rc = cpn_series_load("/nonexistent/x.csv", 900, &s, &err);
    CHECK_INT(rc, -ENOENT);
    CHECK_CONTAINS(err.msg, "/nonexistent/x.csv");
    snprintf(dir, sizeof dir, "%s", t_tmpdir());
    snprintf(path, sizeof path, "%s/ci.csv", dir);
    f = fopen(path, "w");
    if (!f) {
        CHECK_MSG(0, "cannot write %s", path);
        return;
    }
    fputs("\xEF\xBB\xBFtime,gco2\r\n2025-01-01T00:00:00Z,500\r\n2025-01-01T00:30:00Z,300\r\n", f);
    fclose(f);
    rc = cpn_series_load(path, 3600, &s, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_INT(s.n, 1);
    if (s.n)
        CHECK_NEAR(s.v[0], 400, 1e-12);
    CHECK_CONTAINS(s.source, "ci.csv: column \"gco2\"");
    cpn_series_free(&s);
    remove(path);
    remove(dir);
}

static void test_alloc_failure(void)
{
    char *csv = make_csv(1735689600, 60, 300, wave);
    long n;
    int last = -1;
    for (n = 0; n < 1000; n++) {
        struct cpn_series s = { 0 };
        struct cpn_error err = { 0 };
        int rc;
        cpn_alloc_fail_after(n);
        rc = cpn_series_parse(csv, strlen(csv), "oom.csv", 900, &s, &err);
        cpn_alloc_fail_after(-1);
        last = rc;
        if (rc == 0) {
            CHECK_INT(s.n, 20);
            cpn_series_free(&s);
            break;
        }
        CHECK_MSG(rc == -ENOMEM, "fail after %ld: rc %d (%s)", n, rc, err.msg);
        CHECK(s.v == NULL);
    }
    CHECK_INT(last, 0);
    free(csv);
}

/* The real half-hourly GB carbon intensity: resampled to 15 and 60 minutes, the time integral is
 * conserved and the slot count matches the span. */
static void test_shared_gb(void)
{
    const char *shared = t_shared_dir();
    char path[512];
    struct cpn_series s30 = { 0 }, s60 = { 0 }, s15 = { 0 };
    struct cpn_error err = { 0 };
    double i30 = 0, i60 = 0, i15 = 0;
    int rc;
    if (!shared) {
        t_skip("../shared not present");
        return;
    }
    snprintf(path, sizeof path, "%s/validation/lwa/gb_ci.csv", shared);
    rc = cpn_series_load(path, 1800, &s30, &err);
    if (rc == -ENOENT) {
        t_skip("gb_ci.csv not present");
        return;
    }
    CHECK_MSG(rc == 0, "%s", err.msg);
    rc = cpn_series_load(path, 3600, &s60, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    rc = cpn_series_load(path, 900, &s15, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_CONTAINS(s30.source, "column \"Carbon Intensity\"");
    CHECK(s30.n > 10000);
    CHECK_INT(s15.n, 2 * s30.n);
    CHECK_INT(s60.n, (s30.n + 1) / 2);
    for (size_t i = 0; i < s30.n; i++)
        i30 += s30.v[i] * 1800;
    for (size_t i = 0; i < s60.n; i++)
        i60 += s60.v[i] * 3600;
    for (size_t i = 0; i < s15.n; i++)
        i15 += s15.v[i] * 900;
    CHECK_NEAR(i15, i30, 1e-9 * i30);
    if (s30.n % 2 == 0)
        CHECK_NEAR(i60, i30, 1e-9 * i30);
    cpn_series_free(&s30);
    cpn_series_free(&s60);
    cpn_series_free(&s15);
}

int main(void)
{
    T_RUN(test_hourly_to_30min);
    T_RUN(test_15min_to_hourly);
    T_RUN(test_resolutions);
    T_RUN(test_partial_slots);
    T_RUN(test_electricity_maps);
    T_RUN(test_errors);
    T_RUN(test_at);
    T_RUN(test_load_file);
    T_RUN(test_alloc_failure);
    T_RUN(test_shared_gb);
    return T_DONE("model_series");
}
