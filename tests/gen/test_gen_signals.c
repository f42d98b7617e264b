/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the synthetic signals: the same seed writes the same bytes and another seed other
 * bytes, a short run is the prefix of a long one, the green share's annual mean meets the zone's
 * target, solar output is zero at night and positive at noon, carbon intensity stays in its band,
 * prices follow the zone's table, and the written files load with the real signals loader. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/gen.h"
#include "cpnet/model.h"
#include "gen/gen_int.h"
#include "harness.h"

#define REF_NET "data/china/network.json"

static struct cpn_network *load_ref(void)
{
    struct cpn_network *net = NULL;
    struct cpn_error err = { 0 };
    int rc = cpn_network_load(REF_NET, &net, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    return rc ? NULL : net;
}

static struct cpn_gen_signals *gen(const struct cpn_network *net, uint64_t seed, int days)
{
    struct cpn_gen_signals_opts o;
    struct cpn_gen_signals *s = NULL;
    struct cpn_error err = { 0 };
    int rc;
    cpn_gen_signals_defaults(&o);
    o.seed = seed;
    o.days = days;
    rc = cpn_gen_signals(net, &o, &s, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    return rc ? NULL : s;
}

static char *slurp(const char *path, size_t *len)
{
    struct cpn_buf b = { 0 };
    if (cpn_buf_read_file(&b, path, NULL)) {
        *len = 0;
        return NULL;
    }
    *len = b.len;
    return b.data;
}

static bool same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    bool same = x && y && la == lb && memcmp(x, y, la) == 0;
    cpn_free(x);
    cpn_free(y);
    return same;
}

static void test_deterministic_files(void)
{
    struct cpn_network *net = load_ref();
    struct cpn_gen_signals *a, *b, *c;
    struct cpn_error err = { 0 };
    char d1[256], d2[256], d3[256], p1[512], p2[512], p3[512];
    if (!net)
        return;
    a = gen(net, 42, 20);
    b = gen(net, 42, 20);
    c = gen(net, 43, 20);
    snprintf(d1, sizeof d1, "%s", t_tmpdir());
    snprintf(d2, sizeof d2, "%s", t_tmpdir());
    snprintf(d3, sizeof d3, "%s", t_tmpdir());
    CHECK(a && b && c);
    if (a && b && c) {
        CHECK_MSG(cpn_gen_signals_write(a, d1, &err) == 0, "%s", err.msg);
        CHECK_MSG(cpn_gen_signals_write(b, d2, &err) == 0, "%s", err.msg);
        CHECK_MSG(cpn_gen_signals_write(c, d3, &err) == 0, "%s", err.msg);
        for (size_t z = 0; z < net->nzones; z++) {
            static const char *const kinds[] = { "ci", "green", "price" };
            for (int k = 0; k < 3; k++) {
                snprintf(p1, sizeof p1, "%s/%s.%s.csv", d1, net->zones[z].id, kinds[k]);
                snprintf(p2, sizeof p2, "%s/%s.%s.csv", d2, net->zones[z].id, kinds[k]);
                CHECK_MSG(same_file(p1, p2), "%s differs between two runs with seed 42", p1);
            }
            snprintf(p1, sizeof p1, "%s/%s.green.csv", d1, net->zones[z].id);
            snprintf(p3, sizeof p3, "%s/%s.green.csv", d3, net->zones[z].id);
            CHECK_MSG(!same_file(p1, p3), "%s: seeds 42 and 43 gave the same series", p1);
        }
        snprintf(p1, sizeof p1, "%s/README.txt", d1);
        snprintf(p2, sizeof p2, "%s/README.txt", d2);
        CHECK(same_file(p1, p2));
        {
            size_t n;
            char *r = slurp(p1, &n);
            CHECK_CONTAINS(r, "SYNTHETIC");
            CHECK_CONTAINS(r, "seed: 42");
            cpn_free(r);
        }
    }
    cpn_gen_signals_destroy(a);
    cpn_gen_signals_destroy(b);
    cpn_gen_signals_destroy(c);
    cpn_network_destroy(net);
}

static void test_prefix(void)
{
    struct cpn_network *net = load_ref();
    struct cpn_gen_signals *a, *b;
    if (!net)
        return;
    a = gen(net, 5, 7);
    b = gen(net, 5, 60);
    CHECK(a && b);
    if (a && b) {
        CHECK_INT(a->n, 7 * 24);
        CHECK_INT(b->n, 60 * 24);
        for (size_t z = 0; z < a->nzones; z++) {
            CHECK(memcmp(a->zones[z].green, b->zones[z].green, a->n * sizeof(double)) == 0);
            CHECK(memcmp(a->zones[z].ci, b->zones[z].ci, a->n * sizeof(double)) == 0);
        }
    }
    cpn_gen_signals_destroy(a);
    cpn_gen_signals_destroy(b);
    cpn_network_destroy(net);
}

static void test_green_mean_and_bands(void)
{
    struct cpn_network *net = load_ref();
    struct cpn_gen_signals *s;
    if (!net)
        return;
    s = gen(net, 1, 365);
    if (s) {
        for (size_t z = 0; z < s->nzones; z++) {
            const struct cpn_gen_zone *g = &s->zones[z];
            const struct cpn_zone *zone = &net->zones[z];
            double gm = 0, wm = 0, sm = 0;
            for (size_t i = 0; i < s->n; i++) {
                int64_t t = s->t0 + (int64_t)i * 3600;
                gm += g->green[i] / (double)s->n;
                wm += g->wind_cf[i] / (double)s->n;
                sm += g->solar_cf[i] / (double)s->n;
                CHECK(g->green[i] >= 0 && g->green[i] <= 1);
                CHECK_MSG(fabs(g->ci[i] / zone->grid_gco2_per_kwh - 1) <= 0.15 + 1e-9,
                          "%s hour %zu: ci %g outside +-15 %% of %g", zone->id, i, g->ci[i],
                          zone->grid_gco2_per_kwh);
                CHECK(g->price[i] == zone->price_cny_per_kwh[(t % 86400) / 3600]);
            }
            CHECK_MSG(fabs(gm - zone->green_share) <= 0.05, "%s: mean green %.3f, target %.3f",
                      zone->id, gm, zone->green_share);
            CHECK_MSG(fabs(wm - 0.30) <= 0.06, "%s: mean wind CF %.3f, expected about 0.30",
                      zone->id, wm);
            CHECK_MSG(sm > 0.08 && sm < 0.30, "%s: mean solar CF %.3f", zone->id, sm);
        }
        /* Helinger: 86 % green on average but not every hour (wind calms exist). */
        {
            int32_t z = cpn_network_zone(net, "helinger");
            double lo = 1;
            CHECK(z >= 0);
            for (size_t i = 0; z >= 0 && i < s->n; i++)
                lo = fmin(lo, s->zones[z].green[i]);
            CHECK_MSG(lo < 0.6, "helinger: lowest hourly green share %.2f", lo);
            CHECK_NEAR(s->zones[z].storage_mw, 64.8, 1e-9);
        }
    }
    cpn_gen_signals_destroy(s);
    cpn_network_destroy(net);
}

static void test_solar_night_and_noon(void)
{
    const double lon = 111.671, lat = 40.818; /* Helinger */
    /* 2025-06-21: local solar noon at about 12:00 - lon/15 h UTC; midnight 12 h later. */
    int64_t day = cpn_days_from_civil(2025, 6, 21) * 86400;
    int64_t noon = day + (int64_t)((12 - lon / 15) * 3600);
    int64_t midnight = noon + 12 * 3600;
    int64_t winter = cpn_days_from_civil(2025, 12, 21) * 86400 + (int64_t)((12 - lon / 15) * 3600);
    CHECK(cpn_gen_clear_sky_cf(lon, lat, midnight) == 0);
    CHECK(cpn_gen_clear_sky_cf(lon, lat, midnight - 3 * 3600) == 0);
    CHECK(cpn_gen_clear_sky_cf(lon, lat, midnight + 3 * 3600) == 0);
    CHECK_MSG(cpn_gen_clear_sky_cf(lon, lat, noon) > 0.7, "summer noon %g",
              cpn_gen_clear_sky_cf(lon, lat, noon));
    CHECK(cpn_gen_clear_sky_cf(lon, lat, winter) > 0.3);
    CHECK(cpn_gen_clear_sky_cf(lon, lat, winter) < cpn_gen_clear_sky_cf(lon, lat, noon));
    /* the series: zero in every hour whose four quarter-hour samples are all below the horizon */
    {
        struct cpn_network *net = load_ref();
        struct cpn_gen_signals *s = net ? gen(net, 9, 30) : NULL;
        size_t dark = 0;
        for (size_t z = 0; s && z < s->nzones; z++) {
            const struct cpn_gen_zone *g = &s->zones[z];
            for (size_t i = 0; i < s->n; i++) {
                int64_t t = s->t0 + (int64_t)i * 3600;
                double m = 0;
                for (int k = 0; k < 4; k++)
                    m += cpn_gen_clear_sky_cf(g->lon, g->lat, t + 450 + k * 900);
                if (m == 0) {
                    dark++;
                    CHECK_MSG(g->solar_cf[i] == 0, "%s hour %zu: solar %g at night", g->zone, i,
                              g->solar_cf[i]);
                }
            }
        }
        CHECK(dark > 0);
        cpn_gen_signals_destroy(s);
        cpn_network_destroy(net);
    }
}

static void test_loads_with_signals_loader(void)
{
    struct cpn_network *net = load_ref();
    struct cpn_gen_signals *s;
    struct cpn_signals *sig = NULL;
    struct cpn_error err = { 0 };
    char dir[256];
    if (!net)
        return;
    s = gen(net, 3, 10);
    snprintf(dir, sizeof dir, "%s", t_tmpdir());
    if (s && cpn_gen_signals_write(s, dir, &err) == 0 && cpn_signals_create(net, &sig) == 0) {
        int rc = cpn_signals_load_dir(sig, net, dir, false, &err);
        CHECK_MSG(rc == 0, "%s", err.msg);
        if (rc == 0) {
            int32_t z = cpn_network_zone(net, "zhongwei");
            int64_t t = s->t0 + 36 * 3600 + 900; /* a quarter past noon UTC, day 2 */
            double v = cpn_signals_value(sig, net, z, CPN_SIG_GREEN, t, false);
            CHECK_NEAR(v, s->zones[z].green[36], 1e-4);
            v = cpn_signals_value(sig, net, z, CPN_SIG_CI, t, false);
            CHECK_NEAR(v, s->zones[z].ci[36], 0.01);
            v = cpn_signals_value(sig, net, z, CPN_SIG_PRICE, t, false);
            CHECK_NEAR(v, s->zones[z].price[36], 1e-4);
        }
    } else {
        CHECK_MSG(false, "generating or writing failed: %s", err.msg);
    }
    cpn_signals_destroy(sig);
    cpn_gen_signals_destroy(s);
    cpn_network_destroy(net);
}

static void test_bad_options(void)
{
    struct cpn_network *net = load_ref();
    struct cpn_gen_signals_opts o;
    struct cpn_gen_signals *s = NULL;
    struct cpn_error err = { 0 };
    if (!net)
        return;
    cpn_gen_signals_defaults(&o);
    o.days = 0;
    CHECK_INT(cpn_gen_signals(net, &o, &s, &err), CPN_EUSAGE);
    CHECK_CONTAINS(err.msg, "days");
    CHECK(s == NULL);
    cpn_network_destroy(net);
}

int main(void)
{
    T_RUN(test_deterministic_files);
    T_RUN(test_prefix);
    T_RUN(test_green_mean_and_bands);
    T_RUN(test_solar_night_and_noon);
    T_RUN(test_loads_with_signals_loader);
    T_RUN(test_bad_options);
    return T_DONE("gen_signals");
}
