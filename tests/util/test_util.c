/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of src/util: time parsing and formatting, strict number and duration parsers, the CSV
 * reader (quoting, CRLF, errors with line and column), the string map and the random generator. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpnet/util.h"
#include "harness.h"

static void test_time_parse(void)
{
    static const struct {
        const char *in;
        int rc;
        int64_t t;
    } cases[] = {
        { "1970-01-01T00:00:00Z", 0, 0 },
        { "2020-01-01T00:00:00Z", 0, 1577836800 },
        { "2020-01-01 00:30", 0, 1577838600 },
        { "2020-01-01", 0, 1577836800 },
        { "2020-01-01T08:00:00+08:00", 0, 1577836800 },
        { "2020-01-01T00:00:00.250Z", 0, 1577836800 },
        { "2024-02-29T12:00:00Z", 0, 1709208000 },
        { "1577836800", 0, 1577836800 },
        { "-60", 0, -60 },
        { "2023-02-29T00:00:00Z", -EINVAL, 0 },
        { "2020-13-01", -EINVAL, 0 },
        { "2020-01-01T24:00", -EINVAL, 0 },
        { "2020-01-01T00:00:00Zjunk", -EINVAL, 0 },
        { "", -EINVAL, 0 },
        { "yesterday", -EINVAL, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t t = 12345;
        int rc = cpn_time_parse(cases[i].in, &t);
        CHECK_MSG(rc == cases[i].rc, "parse '%s' rc %d expected %d", cases[i].in, rc, cases[i].rc);
        if (rc == 0)
            CHECK_MSG(t == cases[i].t, "parse '%s' = %lld expected %lld", cases[i].in, (long long)t,
                      (long long)cases[i].t);
        else
            CHECK_INT(t, 12345);
    }
}

static void test_time_format_roundtrip(void)
{
    char s[CPN_TIME_STRLEN];
    int64_t back;
    for (int64_t t = -86400LL * 800; t < 86400LL * 366 * 80; t += 86400LL * 37 + 3671) {
        cpn_time_format(t, s);
        CHECK(cpn_time_parse(s, &back) == 0);
        CHECK_MSG(back == t, "%lld -> %s -> %lld", (long long)t, s, (long long)back);
    }
    cpn_time_format(1577836800, s);
    CHECK_STR(s, "2020-01-01T00:00:00Z");
    CHECK_INT(cpn_weekday(1577836800), 3); /* Wednesday */
}

static void test_numbers(void)
{
    double d;
    int64_t v;
    bool b;
    CHECK(cpn_parse_double(" 1.5 ", &d) == 0 && d == 1.5);
    CHECK(cpn_parse_double("1.5x", &d) == -EINVAL);
    CHECK(cpn_parse_double("", &d) == -EINVAL);
    CHECK(cpn_parse_double("nan", &d) == -EINVAL);
    CHECK(cpn_parse_double("1e999", &d) == -EINVAL);
    CHECK(cpn_parse_int64("42", &v) == 0 && v == 42);
    CHECK(cpn_parse_int64("4.2", &v) == -EINVAL);
    CHECK(cpn_parse_int64("99999999999999999999", &v) == -EINVAL);
    CHECK(cpn_parse_bool("TRUE", &b) == 0 && b);
    CHECK(cpn_parse_bool("no", &b) == 0 && !b);
    CHECK(cpn_parse_bool("maybe", &b) == -EINVAL);
}

static void test_durations(void)
{
    static const struct {
        const char *in;
        int rc;
        int64_t s;
    } cases[] = {
        { "3600", 0, 3600 },  { "90m", 0, 5400 },        { "1.5h", 0, 5400 },
        { "2d", 0, 172800 },  { "PT2H30M", 0, 9000 },    { "P1DT1S", 0, 86401 },
        { "10 s", 0, 10 },    { "5 weeks", -EINVAL, 0 }, { "-5", -EINVAL, 0 },
        { "PT", -EINVAL, 0 }, { "P1H", -EINVAL, 0 },     { "h", -EINVAL, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t s = -1;
        int rc = cpn_parse_duration(cases[i].in, &s);
        CHECK_MSG(rc == cases[i].rc, "duration '%s' rc %d", cases[i].in, rc);
        if (!rc)
            CHECK_MSG(s == cases[i].s, "duration '%s' = %lld", cases[i].in, (long long)s);
    }
}

static void test_csv(void)
{
    const char *text = "\xEF\xBB\xBF"
                       "a,b,c\r\n"
                       "1,\"x,y\",\"he said \"\"hi\"\"\"\n"
                       "\n"
                       "2,\"multi\nline\",\n"
                       "3";
    struct cpn_csv *c;
    struct cpn_error err = { 0 };
    char **f;
    size_t n;
    CHECK(cpn_csv_from_mem(text, strlen(text), "mem.csv", &c) == 0);
    CHECK(cpn_csv_next(c, &f, &n, &err) == 1);
    CHECK_INT(n, 3);
    CHECK_STR(f[0], "a");
    CHECK(cpn_csv_next(c, &f, &n, &err) == 1);
    CHECK_INT(n, 3);
    CHECK_STR(f[1], "x,y");
    CHECK_STR(f[2], "he said \"hi\"");
    CHECK_INT(cpn_csv_line(c), 2);
    CHECK(cpn_csv_next(c, &f, &n, &err) == 1);
    CHECK_INT(cpn_csv_line(c), 4);
    CHECK_STR(f[1], "multi\nline");
    CHECK_STR(f[2], "");
    CHECK(cpn_csv_next(c, &f, &n, &err) == 1);
    CHECK_INT(n, 1);
    CHECK_STR(f[0], "3");
    CHECK_INT(cpn_csv_line(c), 6);
    CHECK(cpn_csv_next(c, &f, &n, &err) == 0);
    cpn_csv_close(c);

    const char *bad = "a,b\n1,x\"y\n";
    CHECK(cpn_csv_from_mem(bad, strlen(bad), "bad.csv", &c) == 0);
    CHECK(cpn_csv_next(c, &f, &n, &err) == 1);
    CHECK(cpn_csv_next(c, &f, &n, &err) == CPN_EPARSE);
    CHECK_CONTAINS(err.msg, "bad.csv:2:4");
    cpn_csv_close(c);

    const char *open = "a\n\"never closed\n";
    CHECK(cpn_csv_from_mem(open, strlen(open), "open.csv", &c) == 0);
    CHECK(cpn_csv_next(c, &f, &n, &err) == 1);
    CHECK(cpn_csv_next(c, &f, &n, &err) == CPN_EPARSE);
    CHECK_CONTAINS(err.msg, "open.csv:2");
    cpn_csv_close(c);
}

static void test_strmap(void)
{
    struct cpn_strmap m = { 0 };
    char keys[200][8];
    for (int i = 0; i < 200; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        CHECK(cpn_strmap_put(&m, keys[i], i) == 0);
    }
    CHECK(cpn_strmap_put(&m, "k7", 1) == -EEXIST);
    for (int i = 0; i < 200; i++)
        CHECK_INT(cpn_strmap_get(&m, keys[i]), i);
    CHECK_INT(cpn_strmap_get(&m, "nope"), -1);
    cpn_strmap_free(&m);
}

static void test_rng(void)
{
    struct cpn_rng a, b;
    double sum = 0, sq = 0;
    cpn_rng_seed(&a, 7);
    cpn_rng_seed(&b, 7);
    for (int i = 0; i < 100; i++)
        CHECK(cpn_rng_u64(&a) == cpn_rng_u64(&b));
    for (int i = 0; i < 200000; i++) {
        double z = cpn_rng_normal(&a);
        sum += z;
        sq += z * z;
    }
    CHECK_NEAR(sum / 200000, 0.0, 0.01);
    CHECK_NEAR(sq / 200000, 1.0, 0.02);
    for (int i = 0; i < 1000; i++)
        CHECK(cpn_rng_below(&a, 10) < 10);
}

static void test_buf_limit_and_alloc_failure(void)
{
    struct cpn_buf b = { .limit = 8 };
    CHECK(cpn_buf_puts(&b, "12345678") == 0);
    CHECK(cpn_buf_puts(&b, "9") == CPN_ELIMIT);
    CHECK_INT(b.len, 8);
    cpn_buf_free(&b);
    cpn_alloc_fail_after(0);
    CHECK(cpn_malloc(10) == NULL);
    void *p = cpn_malloc(10);
    CHECK(p != NULL);
    cpn_free(p);
    CHECK_STR(cpn_strerror(CPN_EPARSE), "malformed input");
    CHECK(strlen(cpn_strerror(-ENOENT)) > 0);
}

/* cpn_fmt_g against snprintf("%.*g"), byte for byte: exact ties, powers of ten, the edges of fixed
 * notation, and a million random doubles over twenty decades at every precision. */
static int fmt_same(double v, int prec)
{
    char a[CPN_FMT_G_MAX], b[CPN_FMT_G_MAX];
    int na = cpn_fmt_g(a, v, prec), nb = snprintf(b, sizeof b, "%.*g", prec, v);
    if (na == nb && strcmp(a, b) == 0)
        return 1;
    t_fail(__FILE__, __LINE__, "cpn_fmt_g(%.17g, %d) = \"%s\", snprintf gives \"%s\"", v, prec, a,
           b);
    return 0;
}

static void test_fmt_g(void)
{
    static const double fixed[] = { 0.5,
                                    1.5,
                                    2.5,
                                    0.125,
                                    0.375,
                                    1e-4,
                                    9.99995e-5,
                                    1e-5,
                                    0.1,
                                    0.3,
                                    1,
                                    10,
                                    100,
                                    999999.5,
                                    1e11,
                                    1e12,
                                    1e14,
                                    1e15,
                                    123456789012.5,
                                    2.675,
                                    1.005,
                                    0.0001,
                                    999999999999.5,
                                    5e-324,
                                    0,
                                    -0.0,
                                    -2.5,
                                    1e300,
                                    -1e-300 };
    struct cpn_rng g;
    long bad = 0;
    char t[CPN_FMT_G_MAX];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        for (int p = 1; p <= 15; p++)
            bad += !fmt_same(fixed[i], p);
    for (int p = 1; p <= 15; p++)
        for (int k = -6; k <= 16; k++) {
            bad += !fmt_same(pow(10, k), p);
            bad += !fmt_same(nextafter(pow(10, k), 0), p);
            bad += !fmt_same(nextafter(pow(10, k), INFINITY), p);
        }
    bad += !fmt_same(INFINITY, 12) + !fmt_same(-INFINITY, 6) + !fmt_same(NAN, 9);
    cpn_rng_seed(&g, 77);
    for (int i = 0; i < 1000000 && bad < 10; i++) {
        int p = 1 + (int)cpn_rng_below(&g, 15);
        double v = cpn_rng_uniform(&g) * pow(10, (double)cpn_rng_below(&g, 21) - 5.0);
        if (i % 3 == 0) /* short decimals, where exact ties live */
            v = (double)cpn_rng_below(&g, 2000000) / pow(10, (double)cpn_rng_below(&g, 7));
        if (i % 2)
            v = -v;
        bad += !fmt_same(v, p);
    }
    CHECK_INT(bad, 0);
    CHECK_INT(cpn_fmt_g(t, 1234.5, 12), 6);
    CHECK_STR(t, "1234.5");
}

int main(void)
{
    T_RUN(test_time_parse);
    T_RUN(test_time_format_roundtrip);
    T_RUN(test_numbers);
    T_RUN(test_durations);
    T_RUN(test_csv);
    T_RUN(test_strmap);
    T_RUN(test_rng);
    T_RUN(test_buf_limit_and_alloc_failure);
    T_RUN(test_fmt_g);
    return T_DONE("util");
}
