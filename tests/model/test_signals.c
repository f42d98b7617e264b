/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of per-zone signals: fallbacks (forecast -> actual -> zone defaults, time-of-use price by
 * UTC hour), loading a directory of <zone>.<kind>.csv files as actual or forecast, all-or-nothing
 * loading with messages naming the file, seeded forecast noise of the documented size, effective
 * carbon intensity, and allocation failures. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpnet/model.h"
#include "harness.h"

static const char net_json[] =
    "{\"name\": \"sig\", \"slot_minutes\": 60,\n"
    " \"hubs\": [{\"id\": \"h\", \"region\": \"west\"}],\n"
    " \"zones\": [{\"id\": \"nm\", \"grid_gco2_per_kwh\": 600, \"green_share\": 0.5, "
    "\"price_cny_per_kwh\": 0.3},\n"
    "           {\"id\": \"cn.hebei\", \"grid_gco2_per_kwh\": 700, \"green_share\": 0.2,\n"
    "            \"price_cny_per_kwh\": [1,1,1,1,1,1,1,1,2,2,2,2,2,2,2,2,2,2,3,3,3,3,1,1]}],\n"
    " \"clusters\": [{\"id\": \"c\", \"hub\": \"h\", \"zone\": \"nm\", \"lon\": 111, \"lat\": 40, "
    "\"pue\": 1.2,\n"
    "   \"pools\": [{\"id\": \"p\", \"class\": \"general\", \"units\": 10, \"tflops\": 1, "
    "\"watts_idle\": 1, \"watts_busy\": 2, \"price_cny_per_unit_hour\": 1}]}],\n"
    " \"sites\": [{\"id\": \"s\", \"lon\": 116, \"lat\": 40}]}\n";

#define T0 1735689600 /* 2025-01-01T00:00:00Z */

static struct cpn_network *load_net(void)
{
    struct cpn_network *net = NULL;
    struct cpn_error err = { 0 };
    int rc = cpn_network_parse(net_json, strlen(net_json), "sig.json", &net, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    return net;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f) {
        CHECK_MSG(0, "cannot write %s", path);
        return;
    }
    fputs(text, f);
    fclose(f);
}

static void clean_dir(const char *dir, const char *const *names)
{
    char path[512];
    for (; *names; names++) {
        snprintf(path, sizeof path, "%s/%s", dir, *names);
        remove(path);
    }
    rmdir(dir);
}

static void test_defaults(void)
{
    struct cpn_network *net = load_net();
    struct cpn_signals *sig = NULL;
    if (!net)
        return;
    CHECK_INT(cpn_signals_create(net, &sig), 0);
    CHECK_INT(sig->nzones, 2);
    CHECK_INT(sig->step_s, 3600);
    CHECK_NEAR(cpn_signals_value(sig, net, 0, CPN_SIG_CI, T0, false), 600, 0);
    CHECK_NEAR(cpn_signals_value(sig, net, 0, CPN_SIG_CI, T0, true), 600, 0);
    CHECK_NEAR(cpn_signals_value(sig, net, 0, CPN_SIG_GREEN, T0, true), 0.5, 0);
    CHECK_NEAR(cpn_signals_value(sig, net, 0, CPN_SIG_PRICE, T0, false), 0.3, 0);
    /* cn.hebei: local (+08:00) 18:00-22:00 costs 3, i.e. UTC 10:00-14:00. */
    CHECK_NEAR(cpn_signals_value(sig, net, 1, CPN_SIG_PRICE, T0 + 10 * 3600, false), 3, 0);
    CHECK_NEAR(cpn_signals_value(sig, net, 1, CPN_SIG_PRICE, T0 + 9 * 3600 + 3599, false), 2, 0);
    CHECK_NEAR(cpn_signals_value(sig, net, 1, CPN_SIG_PRICE, T0 - 3600, false), 1, 0);
    CHECK_NEAR(cpn_signals_value(NULL, net, 1, CPN_SIG_CI, T0, false), 700, 0);
    CHECK_NEAR(cpn_signals_effective_ci(sig, net, 0, T0, false), 300, 1e-9);
    CHECK_NEAR(cpn_signals_effective_ci(sig, net, 1, T0, true), 560, 1e-9);
    cpn_signals_destroy(sig);
    cpn_signals_destroy(NULL);
    cpn_network_destroy(net);
}

static void test_load_dir(void)
{
    static const char *const names[] = { "nm.ci.csv", "nm.green.csv", "cn.hebei.price.csv",
                                         "README.txt", NULL };
    static const char *const fnames[] = { "nm.ci.csv", NULL };
    struct cpn_network *net = load_net();
    struct cpn_signals *sig = NULL;
    struct cpn_error err = { 0 };
    char dir[256], fdir[256];
    int rc;
    if (!net)
        return;
    snprintf(dir, sizeof dir, "%s", t_tmpdir());
    snprintf(fdir, sizeof fdir, "%s", t_tmpdir());
    write_file(dir, "nm.ci.csv",
               "time,gco2\n2025-01-01T00:00:00Z,500\n2025-01-01T00:30:00Z,"
               "300\n2025-01-01T01:00:00Z,100\n2025-01-01T01:30:00Z,100\n");
    write_file(dir, "nm.green.csv",
               "time,share\n2025-01-01T00:00:00Z,0.25\n"
               "2025-01-01T01:00:00Z,0.75\n");
    write_file(dir, "cn.hebei.price.csv",
               "time,cny\n2025-01-01T00:00:00Z,0.8\n"
               "2025-01-01T01:00:00Z,0.9\n");
    write_file(dir, "README.txt", "not a series\n");
    write_file(fdir, "nm.ci.csv",
               "time,gco2\n2025-01-01T00:00:00Z,450\n2025-01-01T01:00:00Z,"
               "150\n");
    CHECK_INT(cpn_signals_create(net, &sig), 0);
    rc = cpn_signals_load_dir(sig, net, dir, false, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    rc = cpn_signals_load_dir(sig, net, fdir, true, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_INT(sig->actual[0 * CPN_SIG_COUNT + CPN_SIG_CI].n, 2);
    CHECK_CONTAINS(sig->actual[CPN_SIG_CI].source, "nm.ci.csv: column \"gco2\"");
    CHECK_NEAR(cpn_signals_value(sig, net, 0, CPN_SIG_CI, T0, false), 400, 1e-9);
    CHECK_NEAR(cpn_signals_value(sig, net, 0, CPN_SIG_CI, T0 + 3600, false), 100, 1e-9);
    CHECK_NEAR(cpn_signals_value(sig, net, 0, CPN_SIG_CI, T0 - 86400, false), 400, 1e-9);
    CHECK_NEAR(cpn_signals_value(sig, net, 0, CPN_SIG_CI, T0 + 86400, false), 100, 1e-9);
    CHECK_NEAR(cpn_signals_value(sig, net, 0, CPN_SIG_CI, T0, true), 450, 1e-9);
    CHECK_NEAR(cpn_signals_value(sig, net, 0, CPN_SIG_GREEN, T0 + 3600, true), 0.75, 0);
    CHECK_NEAR(cpn_signals_effective_ci(sig, net, 0, T0 + 3600, false), 25, 1e-9);
    CHECK_NEAR(cpn_signals_effective_ci(sig, net, 0, T0 + 3600, true), 37.5, 1e-9);
    CHECK_NEAR(cpn_signals_value(sig, net, 1, CPN_SIG_PRICE, T0 + 3600, false), 0.9, 0);
    CHECK_NEAR(cpn_signals_value(sig, net, 1, CPN_SIG_CI, T0, true), 700, 0);
    /* A failing load leaves what was loaded before (nm.ci.csv sorts before the bad file). */
    write_file(dir, "nm.ci.csv", "time,gco2\n2025-01-01T00:00:00Z,999\n2025-01-01T01:00:00Z,999\n");
    write_file(dir, "nm.green.csv",
               "time,share\n2025-01-01T00:00:00Z,0.25\n"
               "2025-01-01T01:00:00Z,1.75\n");
    rc = cpn_signals_load_dir(sig, net, dir, false, &err);
    CHECK_INT(rc, CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "nm.green.csv: value 1.75");
    CHECK_CONTAINS(err.msg, "2025-01-01T01:00:00Z");
    CHECK_CONTAINS(err.msg, "between 0 and 1");
    CHECK_NEAR(cpn_signals_value(sig, net, 0, CPN_SIG_GREEN, T0 + 3600, false), 0.75, 0);
    CHECK_NEAR(cpn_signals_value(sig, net, 0, CPN_SIG_CI, T0, false), 400, 1e-9);
    cpn_signals_destroy(sig);
    cpn_network_destroy(net);
    clean_dir(dir, names);
    clean_dir(fdir, fnames);
}

static void test_bad_dirs(void)
{
    static const struct {
        const char *file, *text;
        int code;
        const char *msg;
    } cases[] = {
        { "nm.csv", "time,v\n0,1\n3600,2\n", CPN_EFIELD,
          "nm.csv: file name: expected <zone>.<kind>.csv with kind ci, green or price" },
        { "nm.co2.csv", "time,v\n0,1\n3600,2\n", CPN_EFIELD, "nm.co2.csv: file name: expected" },
        { "hebei.ci.csv", "time,v\n0,1\n3600,2\n", CPN_EREF,
          "hebei.ci.csv: zone \"hebei\" is not in the network" },
        { "nm.ci.csv", "time,v\n0,1\n3600,oops\n", CPN_EFIELD, "nm.ci.csv:3:2: value = \"oops\"" },
        { "nm.ci.csv", "time,v\n0,1\n3600,-5\n", CPN_EFIELD, "nm.ci.csv: value -5" },
        { "nm.price.csv", "time,v\n0,1\n3600,-5\n", CPN_EFIELD, "CNY/kWh >= 0" },
    };
    struct cpn_network *net = load_net();
    if (!net)
        return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const names[] = { cases[i].file, NULL };
        struct cpn_signals *sig = NULL;
        struct cpn_error err = { 0 };
        char dir[256];
        int rc;
        snprintf(dir, sizeof dir, "%s", t_tmpdir());
        write_file(dir, cases[i].file, cases[i].text);
        CHECK_INT(cpn_signals_create(net, &sig), 0);
        rc = cpn_signals_load_dir(sig, net, dir, i % 2 == 0, &err);
        CHECK_MSG(rc == cases[i].code, "case %zu: rc %d (%s)", i, rc, err.msg);
        CHECK_CONTAINS(err.msg, dir);
        CHECK_CONTAINS(err.msg, cases[i].msg);
        for (size_t k = 0; k < net->nzones * CPN_SIG_COUNT; k++)
            CHECK(sig->actual[k].n == 0 && sig->forecast[k].n == 0);
        cpn_signals_destroy(sig);
        clean_dir(dir, names);
    }
    {
        struct cpn_signals *sig = NULL;
        struct cpn_error err = { 0 };
        CHECK_INT(cpn_signals_create(net, &sig), 0);
        CHECK_INT(cpn_signals_load_dir(sig, net, "/nonexistent/signals", false, &err), -ENOENT);
        CHECK_CONTAINS(err.msg, "/nonexistent/signals: cannot open directory");
        cpn_signals_destroy(sig);
    }
    cpn_network_destroy(net);
}

/* Puts an actual series of n hourly values into zone z, kind k. */
static void
set_actual(struct cpn_signals *sig, int z, enum cpn_signal_kind k, size_t n, double (*f)(size_t))
{
    struct cpn_series *s = &sig->actual[(size_t)z * CPN_SIG_COUNT + k];
    s->t0 = T0;
    s->step_s = 3600;
    s->n = n;
    s->v = cpn_calloc(n, sizeof *s->v);
    for (size_t i = 0; i < n; i++)
        s->v[i] = f(i);
}

static double ci_shape(size_t i)
{
    return 400 + 100 * sin((double)i * 2 * 3.14159265358979 / 24);
}

static double green_shape(size_t i)
{
    return i % 2 ? 0.98 : 0.02;
}

static void test_forecast_noise(void)
{
    struct cpn_network *net = load_net();
    struct cpn_signals *a = NULL, *b = NULL;
    struct cpn_error err = { 0 };
    const size_t n = 4000;
    double sum = 0, sum2 = 0, mean;
    bool differ = false, clamped = true;
    if (!net)
        return;
    CHECK_INT(cpn_signals_create(net, &a), 0);
    CHECK_INT(cpn_signals_create(net, &b), 0);
    set_actual(a, 0, CPN_SIG_CI, n, ci_shape);
    set_actual(a, 0, CPN_SIG_GREEN, n, green_shape);
    set_actual(b, 0, CPN_SIG_CI, n, ci_shape);
    set_actual(b, 0, CPN_SIG_GREEN, n, green_shape);
    CHECK_INT(cpn_signals_forecast_noise(a, net, 10, 42, &err), 0);
    CHECK_INT(cpn_signals_forecast_noise(b, net, 10, 42, &err), 0);
    if (a->forecast[CPN_SIG_CI].n != n || b->forecast[CPN_SIG_CI].n != n) {
        CHECK_MSG(0, "forecast series missing");
        goto out;
    }
    CHECK(memcmp(a->forecast[CPN_SIG_CI].v, b->forecast[CPN_SIG_CI].v, n * sizeof(double)) == 0);
    CHECK_INT(a->forecast[CPN_SIG_CI].t0, T0);
    CHECK_CONTAINS(a->forecast[CPN_SIG_CI].source, "synthetic");
    for (size_t i = 0; i < n; i++) {
        double e = a->forecast[CPN_SIG_CI].v[i] - a->actual[CPN_SIG_CI].v[i];
        double g = a->forecast[CPN_SIG_GREEN].v[i];
        sum += e;
        sum2 += e * e;
        clamped = clamped && g >= 0 && g <= 1;
    }
    mean = sum / (double)n;
    /* sd = 10% of the mean of the actual (400) = 40 */
    CHECK_NEAR(sqrt(sum2 / (double)n - mean * mean), 40, 3);
    CHECK_NEAR(mean, 0, 3);
    CHECK(clamped);
    CHECK(a->forecast[CPN_SIG_PRICE].n == 0); /* no actual price: nothing to perturb */
    CHECK(a->forecast[CPN_SIG_COUNT + CPN_SIG_CI].n == 0);
    CHECK_INT(cpn_signals_forecast_noise(b, net, 10, 43, &err), 0);
    for (size_t i = 0; i < n; i++)
        differ = differ || a->forecast[CPN_SIG_CI].v[i] != b->forecast[CPN_SIG_CI].v[i];
    CHECK(differ);
    CHECK_INT(cpn_signals_forecast_noise(b, net, 0, 1, &err), 0);
    CHECK(memcmp(b->forecast[CPN_SIG_CI].v, b->actual[CPN_SIG_CI].v, n * sizeof(double)) == 0);
    CHECK_INT(cpn_signals_forecast_noise(b, net, -1, 1, &err), -EINVAL);
    CHECK_CONTAINS(err.msg, "percentage >= 0");
    CHECK_INT(cpn_signals_forecast_noise(b, net, NAN, 1, &err), -EINVAL);
out:
    cpn_signals_destroy(a);
    cpn_signals_destroy(b);
    cpn_network_destroy(net);
}

static void test_alloc_failure(void)
{
    static const char *const names[] = { "nm.ci.csv", "cn.hebei.green.csv", NULL };
    struct cpn_network *net = load_net();
    char dir[256];
    long n;
    int last = -1;
    if (!net)
        return;
    snprintf(dir, sizeof dir, "%s", t_tmpdir());
    write_file(dir, "nm.ci.csv", "time,v\n0,1\n3600,2\n7200,3\n");
    write_file(dir, "cn.hebei.green.csv", "time,v\n0,0.1\n3600,0.2\n");
    for (n = 0; n < 1000; n++) {
        struct cpn_signals *sig = NULL;
        struct cpn_error err = { 0 };
        int rc;
        cpn_alloc_fail_after(n);
        rc = cpn_signals_create(net, &sig);
        if (rc == 0)
            rc = cpn_signals_load_dir(sig, net, dir, false, &err);
        if (rc == 0)
            rc = cpn_signals_forecast_noise(sig, net, 5, 7, &err);
        cpn_alloc_fail_after(-1);
        last = rc;
        if (rc == 0) {
            CHECK_INT(sig->actual[CPN_SIG_CI].n, 3);
            CHECK_INT(sig->forecast[CPN_SIG_COUNT + CPN_SIG_GREEN].n, 2);
            cpn_signals_destroy(sig);
            break;
        }
        CHECK_MSG(rc == -ENOMEM, "fail after %ld: rc %d (%s)", n, rc, err.msg);
        cpn_signals_destroy(sig);
    }
    CHECK_INT(last, 0);
    clean_dir(dir, names);
    cpn_network_destroy(net);
}

int main(void)
{
    T_RUN(test_defaults);
    T_RUN(test_load_dir);
    T_RUN(test_bad_dirs);
    T_RUN(test_forecast_noise);
    T_RUN(test_alloc_failure);
    return T_DONE("model_signals");
}
