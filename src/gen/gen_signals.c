/* SPDX-License-Identifier: Apache-2.0 */
/* Synthetic hourly signals per zone: green share of supply from wind and solar against the zone's
 * load, grid carbon intensity around the provincial annual factor, and the time-of-use price. No
 * public hourly carbon-intensity series exists for Chinese provinces, so these series are
 * synthetic and say so in the README they are written with. Wind follows a shape fitted to real
 * GB/FR generation (gen_params.c), solar the sun's position at the zone; the contracted wind/PV
 * scale is solved so that the annual mean green share equals the zone's green_share. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gen/gen_int.h"

#define HOURS_PER_YEAR 8760
#define PI             3.14159265358979323846

/* Assumed parameters (docs/reference-data.md, "Synthetic signals"). */
#define WIND_CF_MEAN   0.30 /* annual wind capacity factor, ~2,600 full-load hours in N. China */
#define PV_PR          0.80 /* performance ratio of the PV plant */
#define PV_GAIN        1.20 /* fixed-tilt / tracking gain over horizontal irradiance */
#define KC_MEAN        0.75 /* mean clear-sky index (cloudiness) */
#define KC_STD         0.25
#define KC_PHI         0.90 /* hourly AR(1) coefficient of the clear-sky index */
#define LOAD_UTIL      0.60 /* design utilisation of the pools for the load in MW */
#define STORE_EFF      0.92 /* one-way storage efficiency (0.85 round trip) */
#define CI_SEASON_AMP  0.05 /* winter heating peak in mid-January */
#define CI_DIURNAL_AMP 0.04 /* evening peak at 20:00 local time */
#define CI_WIND_AMP    0.04 /* per standard deviation of the wind anomaly, windy = cleaner */
#define CI_NOISE_STD   0.01
#define CI_NOISE_PHI   0.80
#define CI_BAND        0.15 /* the grid factor stays within +-15 % of its annual value */

/* Direct or contracted green supply of the reference clusters (scaled copies "<id>-<k>" use their
 * original's row). Only the wind:PV ratio, the constant base and the storage matter: the wind/PV
 * scale is solved for the zone's green_share. */
struct supply {
    const char *zone;
    double wind_mw, pv_mw;
    double base_share; /* constant green supply (hydro, contracts) as a share of load */
    double storage_mw, storage_mwh;
};
static const struct supply supply_table[] = {
    /* clusters.csv: 300 MW wind + 60 MW PV direct supply, 64.8 MW / 259.2 MWh storage */
    { "helinger", 300, 60, 0, 64.8, 259.2 },
    /* assumed: wind-rich renewable demonstration zone, wind:PV 3:1 */
    { "zhangjiakou", 300, 100, 0, 0, 0 },
    /* assumed split of the 1 GW green aggregation project (clusters.csv) */
    { "qingyang", 500, 500, 0, 0, 0 },
    /* assumed split of the 2 GW green supply project (clusters.csv) */
    { "zhongwei", 800, 1200, 0, 0, 0 },
    /* assumed: hydro contracts for part of the load, the rest wind and PV */
    { "guian", 100, 100, 0.30, 0, 0 },
    { "tianfu", 50, 100, 0.20, 0, 0 },
    { "chongqing", 50, 50, 0.10, 0, 0 },
    { "shaoguan", 100, 100, 0.20, 0, 0 },
    /* assumed: offshore wind and rooftop PV */
    { "yrd-demo-zone", 100, 200, 0, 0, 0 },
    { "wuhu", 100, 200, 0, 0, 0 },
};
#define NSUPPLY (sizeof supply_table / sizeof supply_table[0])

void cpn_gen_signals_defaults(struct cpn_gen_signals_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->start_s = CPN_GEN_DEFAULT_START;
    o->days = CPN_GEN_DEFAULT_DAYS;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Day of year (0-based) and the length of that year. */
static void day_of_year(int64_t t, int *doy, int *ylen)
{
    int64_t days = cpn_floordiv(t, 86400), y;
    unsigned m, d;
    cpn_civil_from_days(days, &y, &m, &d);
    *doy = (int)(days - cpn_days_from_civil(y, 1, 1));
    *ylen = (int)(cpn_days_from_civil(y + 1, 1, 1) - cpn_days_from_civil(y, 1, 1));
}

double cpn_gen_clear_sky_cf(double lon, double lat, int64_t t)
{
    int doy, ylen;
    double hour, g, decl, eot, solar_min, omega, phi, cosz, ghi;
    day_of_year(t, &doy, &ylen);
    hour = (double)(t - cpn_floordiv(t, 86400) * 86400) / 3600.0;
    /* Spencer (1971) series for declination and the equation of time (NOAA form). */
    g = 2 * PI / ylen * (doy + (hour - 12) / 24);
    decl = 0.006918 - 0.399912 * cos(g) + 0.070257 * sin(g) - 0.006758 * cos(2 * g) +
           0.000907 * sin(2 * g) - 0.002697 * cos(3 * g) + 0.00148 * sin(3 * g);
    eot = 229.18 * (0.000075 + 0.001868 * cos(g) - 0.032077 * sin(g) - 0.014615 * cos(2 * g) -
                    0.040849 * sin(2 * g));
    solar_min = hour * 60 + eot + 4 * lon;
    omega = (solar_min / 4 - 180) * PI / 180;
    phi = lat * PI / 180;
    cosz = sin(phi) * sin(decl) + cos(phi) * cos(decl) * cos(omega);
    if (cosz <= 0)
        return 0;
    /* Haurwitz clear-sky global horizontal irradiance, W/m2. */
    ghi = 1098 * cosz * exp(-0.057 / cosz);
    return clampd(PV_GAIN * PV_PR * ghi / 1000, 0, 1);
}

/* Monthly wind factor interpolated between mid-month points, so the shape has no steps. */
static double wind_season(int doy, int ylen)
{
    double pos = (doy + 0.5) / ylen * 12 - 0.5;
    int m0 = (int)floor(pos);
    double f = pos - m0;
    int a = ((m0 % 12) + 12) % 12, b = (a + 1) % 12;
    return cpn__wind_month[a] * (1 - f) + cpn__wind_month[b] * f;
}

/* Everything one zone needs while its series are built. */
struct zone_work {
    struct cpn_gen_zone *z;
    const struct cpn_zone *zone;
    double grid;
    size_t nh; /* hours synthesised: max(n, one year) */
    double *wind_anom;
};

static void zone_place_and_load(const struct cpn_network *net, size_t zi, struct cpn_gen_zone *z)
{
    double lon = 0, lat = 0, w = 0;
    size_t nc = 0;
    for (size_t c = 0; c < net->nclusters; c++) {
        const struct cpn_cluster *cl = &net->clusters[c];
        if ((size_t)cl->zone != zi)
            continue;
        lon += cl->lon;
        lat += cl->lat;
        nc++;
        for (int32_t p = cl->pool_first; p < cl->pool_first + cl->pool_count; p++) {
            const struct cpn_pool *pool = &net->pools[p];
            if (pool->units != CPN_UNLIMITED)
                w += (double)pool->units * pool->watts_busy * cl->pue;
        }
    }
    /* A zone without clusters sits in the middle of China. */
    z->lon = nc ? lon / (double)nc : 105.0;
    z->lat = nc ? lat / (double)nc : 35.0;
    z->load_mw = w * LOAD_UTIL / 1e6;
    if (z->load_mw < 1)
        z->load_mw = 1;
}

static void synth_wind_solar(struct zone_work *W, int64_t t0, uint64_t seed)
{
    struct cpn_gen_zone *z = W->z;
    struct cpn_rng rw, rc;
    uint64_t h = cpn_hash_str(z->zone);
    double a, kc_dev;
    const double innov = cpn__wind_anom_std * sqrt(1 - cpn__wind_anom_phi * cpn__wind_anom_phi);
    const double kc_innov = KC_STD * sqrt(1 - KC_PHI * KC_PHI);
    cpn_rng_seed(&rw, seed ^ h ^ 0x57494e44ull);
    cpn_rng_seed(&rc, seed ^ h ^ 0x434c4f55ull);
    a = cpn__wind_anom_std * cpn_rng_normal(&rw);
    kc_dev = KC_STD * cpn_rng_normal(&rc);
    for (size_t i = 0; i < W->nh; i++) {
        int64_t t = t0 + (int64_t)i * 3600;
        int doy, ylen, hs;
        double solar = 0, kc;
        day_of_year(t + (int64_t)(z->lon * 240), &doy, &ylen);
        hs = (int)(cpn_floordiv(t + (int64_t)(z->lon * 240), 3600) % 24);
        if (hs < 0)
            hs += 24;
        if (i > 0) {
            a = cpn__wind_anom_phi * a + innov * cpn_rng_normal(&rw);
            kc_dev = KC_PHI * kc_dev + kc_innov * cpn_rng_normal(&rc);
        }
        W->wind_anom[i] = a;
        z->wind_cf[i] =
            clampd(WIND_CF_MEAN * wind_season(doy, ylen) * cpn__wind_hour[hs] * (1 + a), 0, 1);
        kc = clampd(KC_MEAN + kc_dev, 0.05, 1.0);
        for (int k = 0; k < 4; k++)
            solar += cpn_gen_clear_sky_cf(z->lon, z->lat, t + 450 + k * 900);
        z->solar_cf[i] = clampd(solar / 4 * kc, 0, 1);
    }
}

/* Green share per hour for wind/PV scale s; returns the mean over the first nmean hours. Writes
 * the series into out when not NULL. */
static double
green_run(const struct cpn_gen_zone *z, double s, size_t nh, size_t nmean, double *out)
{
    double soc = 0.5 * z->storage_mwh, sum = 0;
    const double L = z->load_mw;
    for (size_t i = 0; i < nh; i++) {
        double supply =
            s * (z->wind_mw * z->wind_cf[i] + z->pv_mw * z->solar_cf[i]) + z->base_share * L;
        double g;
        if (supply >= L) {
            double c = supply - L;
            if (c > z->storage_mw)
                c = z->storage_mw;
            if (c * STORE_EFF > z->storage_mwh - soc)
                c = (z->storage_mwh - soc) / STORE_EFF;
            soc += c * STORE_EFF;
            g = 1;
        } else {
            double d = L - supply;
            if (d > z->storage_mw)
                d = z->storage_mw;
            if (d > soc * STORE_EFF)
                d = soc * STORE_EFF;
            soc -= d / STORE_EFF;
            g = (supply + d) / L;
        }
        g = clampd(g, 0, 1);
        if (out)
            out[i] = g;
        if (i < nmean)
            sum += g;
    }
    return sum / (double)nmean;
}

/* Solves the wind/PV scale so the mean green share over the first year equals the target. */
static void calibrate(struct cpn_gen_zone *z, size_t nh)
{
    double target = z->target_green, lo = 0, hi = 1;
    size_t ny = nh < HOURS_PER_YEAR ? nh : HOURS_PER_YEAR;
    if (z->base_share >= target) {
        z->base_share = target;
        z->scale = 0;
        return;
    }
    while (green_run(z, hi, nh, ny, NULL) < target && hi < 1e6)
        hi *= 2;
    for (int it = 0; it < 60; it++) {
        double mid = 0.5 * (lo + hi);
        if (green_run(z, mid, nh, ny, NULL) < target)
            lo = mid;
        else
            hi = mid;
    }
    z->scale = hi;
}

static void synth_ci(struct zone_work *W, int64_t t0, uint64_t seed, size_t n)
{
    struct cpn_gen_zone *z = W->z;
    struct cpn_rng r;
    const double e_innov = CI_NOISE_STD * sqrt(1 - CI_NOISE_PHI * CI_NOISE_PHI);
    const int32_t off = W->zone->utc_offset_min;
    double e;
    cpn_rng_seed(&r, seed ^ cpn_hash_str(z->zone) ^ 0x4349ull);
    e = CI_NOISE_STD * cpn_rng_normal(&r);
    for (size_t i = 0; i < n; i++) {
        int64_t t = t0 + (int64_t)i * 3600, tl = t + (int64_t)off * 60;
        int doy, ylen;
        double hl, f;
        day_of_year(tl, &doy, &ylen);
        hl = (double)(tl - cpn_floordiv(tl, 86400) * 86400) / 3600.0 + 0.5;
        if (i > 0)
            e = CI_NOISE_PHI * e + e_innov * cpn_rng_normal(&r);
        f = 1 + CI_SEASON_AMP * cos(2 * PI * (doy - 15) / ylen) +
            CI_DIURNAL_AMP * cos(2 * PI * (hl - 20) / 24) -
            CI_WIND_AMP * W->wind_anom[i] / cpn__wind_anom_std + e;
        z->ci[i] = W->grid * clampd(f, 1 - CI_BAND, 1 + CI_BAND);
        z->price[i] = W->zone->price_cny_per_kwh[(t - cpn_floordiv(t, 86400) * 86400) / 3600];
    }
}

void cpn_gen_signals_destroy(struct cpn_gen_signals *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nzones; i++) {
        struct cpn_gen_zone *z = &s->zones[i];
        cpn_free(z->ci);
        cpn_free(z->green);
        cpn_free(z->price);
        cpn_free(z->wind_cf);
        cpn_free(z->solar_cf);
    }
    cpn_free(s->zones);
    cpn_free(s);
}

static int zone_build(const struct cpn_network *net,
                      size_t zi,
                      const struct cpn_gen_signals *s,
                      struct cpn_gen_zone *z)
{
    const struct cpn_zone *zone = &net->zones[zi];
    struct zone_work W;
    const char *names[NSUPPLY];
    int row;
    memset(&W, 0, sizeof W);
    W.z = z;
    W.zone = zone;
    W.grid = zone->grid_gco2_per_kwh;
    W.nh = s->n > HOURS_PER_YEAR ? s->n : HOURS_PER_YEAR;
    cpn_strlcpy(z->zone, zone->id, sizeof z->zone);
    z->target_green = zone->green_share;
    zone_place_and_load(net, zi, z);
    for (size_t i = 0; i < NSUPPLY; i++)
        names[i] = supply_table[i].zone;
    row = cpn__gen_base_lookup(zone->id, names, NSUPPLY);
    if (row >= 0) {
        const struct supply *sp = &supply_table[row];
        z->wind_mw = sp->wind_mw;
        z->pv_mw = sp->pv_mw;
        z->base_share = sp->base_share;
        z->storage_mw = sp->storage_mw;
        z->storage_mwh = sp->storage_mwh;
    } else {
        /* assumed for zones outside the reference table: wind and PV alike, no base */
        z->wind_mw = 0.5 * z->load_mw;
        z->pv_mw = 0.5 * z->load_mw;
    }
    z->ci = cpn_calloc(W.nh, sizeof *z->ci);
    z->green = cpn_calloc(W.nh, sizeof *z->green);
    z->price = cpn_calloc(W.nh, sizeof *z->price);
    z->wind_cf = cpn_calloc(W.nh, sizeof *z->wind_cf);
    z->solar_cf = cpn_calloc(W.nh, sizeof *z->solar_cf);
    W.wind_anom = cpn_calloc(W.nh, sizeof *W.wind_anom);
    if (!z->ci || !z->green || !z->price || !z->wind_cf || !z->solar_cf || !W.wind_anom) {
        cpn_free(W.wind_anom);
        return -ENOMEM;
    }
    synth_wind_solar(&W, s->t0, s->seed);
    calibrate(z, W.nh);
    z->mean_green =
        green_run(z, z->scale, W.nh, W.nh < HOURS_PER_YEAR ? W.nh : HOURS_PER_YEAR, z->green);
    z->wind_mw *= z->scale;
    z->pv_mw *= z->scale;
    synth_ci(&W, s->t0, s->seed, W.nh);
    cpn_free(W.wind_anom);
    return 0;
}

int cpn_gen_signals(const struct cpn_network *net,
                    const struct cpn_gen_signals_opts *o,
                    struct cpn_gen_signals **out,
                    struct cpn_error *err)
{
    struct cpn_gen_signals *s;
    if (o->days < 1 || o->days > CPN_GEN_MAX_DAYS)
        return cpn_errorf(err, CPN_EUSAGE, "days = %d: expected 1..%d", (int)o->days,
                          CPN_GEN_MAX_DAYS);
    if (o->start_s < -62135596800LL || o->start_s > 253402300799LL - 86400LL * CPN_GEN_MAX_DAYS)
        return cpn_errorf(err, CPN_EUSAGE, "start = %lld: expected a time in years 0001..9899",
                          (long long)o->start_s);
    s = cpn_calloc(1, sizeof *s);
    if (!s)
        return cpn_errorf(err, -ENOMEM, "signals: out of memory");
    s->t0 = cpn_floordiv(o->start_s, 3600) * 3600;
    s->step_s = 3600;
    s->n = (size_t)o->days * 24;
    s->seed = o->seed;
    s->zones = cpn_calloc(net->nzones ? net->nzones : 1, sizeof *s->zones);
    if (!s->zones) {
        cpn_free(s);
        return cpn_errorf(err, -ENOMEM, "signals: out of memory");
    }
    s->nzones = net->nzones;
    for (size_t zi = 0; zi < net->nzones; zi++) {
        if (zone_build(net, zi, s, &s->zones[zi])) {
            cpn_gen_signals_destroy(s);
            return cpn_errorf(err, -ENOMEM, "signals: out of memory");
        }
    }
    *out = s;
    return 0;
}
