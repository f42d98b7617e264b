/* SPDX-License-Identifier: Apache-2.0 */
/* The signals of every zone: for each zone and kind (carbon intensity, green share, price) an
 * optional actual and an optional forecast series on the network's slot grid. A directory of
 * "<zone>.<kind>.csv" files fills them; a missing series falls back to the forecast's actual and
 * then to the zone's defaults from the network. Synthetic forecasts add seeded Gaussian noise to
 * the actual carbon intensity and green share, so a simulation can measure what forecast error
 * costs. Loading a directory is all or nothing. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_int.h"

int cpn_signals_create(const struct cpn_network *net, struct cpn_signals **out)
{
    struct cpn_signals *sig = cpn_calloc(1, sizeof *sig);
    if (!sig)
        return -ENOMEM;
    sig->nzones = net->nzones;
    sig->step_s = net->slot_s;
    sig->actual = cpn_calloc(net->nzones * CPN_SIG_COUNT, sizeof *sig->actual);
    sig->forecast = cpn_calloc(net->nzones * CPN_SIG_COUNT, sizeof *sig->forecast);
    if (!sig->actual || !sig->forecast) {
        cpn_signals_destroy(sig);
        return -ENOMEM;
    }
    *out = sig;
    return 0;
}

static void series_array_free(struct cpn_series *a, size_t n)
{
    if (!a)
        return;
    for (size_t i = 0; i < n; i++)
        cpn_series_free(&a[i]);
    cpn_free(a);
}

void cpn_signals_destroy(struct cpn_signals *sig)
{
    if (!sig)
        return;
    series_array_free(sig->actual, sig->nzones * CPN_SIG_COUNT);
    series_array_free(sig->forecast, sig->nzones * CPN_SIG_COUNT);
    cpn_free(sig);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of the *.csv files in dir. */
static int list_csv(const char *dir, char ***out, size_t *count, struct cpn_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    if (!d) {
        rc = -errno;
        return cpn_errorf(err, rc, "%s: cannot open directory: %s", dir, cpn_strerror(rc));
    }
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".csv") != 0)
            continue;
        if (cpn_grow(&names, &cap, n + 1, sizeof *names) || !(names[n] = cpn_strdup(e->d_name))) {
            rc = cpn_errorf(err, -ENOMEM, "%s: out of memory", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            cpn_free(names[i]);
        cpn_free(names);
        return rc;
    }
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    *out = names;
    *count = n;
    return 0;
}

/* Splits "<zone>.<kind>.csv" into a series index; zone ids may contain dots, the kind may not. */
static int name_index(const struct cpn_network *net,
                      const char *dir,
                      const char *name,
                      size_t *idx,
                      struct cpn_error *err)
{
    char base[256];
    size_t len = strlen(name) - 4;
    const char *kind;
    char *dot;
    int32_t z;
    int k;
    if (len >= sizeof base)
        len = sizeof base - 1;
    memcpy(base, name, len);
    base[len] = '\0';
    dot = strrchr(base, '.');
    if (dot)
        *dot = '\0';
    kind = dot ? dot + 1 : "";
    for (k = 0; k < CPN_SIG_COUNT; k++)
        if (strcmp(kind, cpn_signal_kind_name((enum cpn_signal_kind)k)) == 0)
            break;
    if (!dot || k == CPN_SIG_COUNT)
        return cpn_errorf(err, CPN_EFIELD,
                          "%s/%s: file name: expected <zone>.<kind>.csv with kind ci, green or "
                          "price (e.g. %s.ci.csv)",
                          dir, name, net->nzones ? net->zones[0].id : "zone");
    z = cpn_network_zone(net, base);
    if (z < 0)
        return cpn_errorf(err, CPN_EREF,
                          "%s/%s: zone \"%s\" is not in the network: expected <zone>.<kind>.csv "
                          "with the id of one of the network's zones",
                          dir, name, base);
    *idx = (size_t)z * CPN_SIG_COUNT + (size_t)k;
    return 0;
}

/* Values a kind may take: ci >= 0, green in [0, 1], price >= 0. */
static int check_values(const struct cpn_series *s,
                        enum cpn_signal_kind k,
                        const char *path,
                        struct cpn_error *err)
{
    for (size_t i = 0; i < s->n; i++) {
        double v = s->v[i];
        if (v >= 0 && (k != CPN_SIG_GREEN || v <= 1))
            continue;
        {
            char when[CPN_TIME_STRLEN];
            cpn_time_format(s->t0 + (int64_t)i * s->step_s, when);
            return cpn_errorf(err, CPN_EFIELD,
                              "%s: value %g (mean of the slot starting %s): expected %s", path, v,
                              when,
                              k == CPN_SIG_CI      ? "a carbon intensity in gCO2/kWh >= 0"
                              : k == CPN_SIG_GREEN ? "a green share between 0 and 1"
                                                   : "a price in CNY/kWh >= 0");
        }
    }
    return 0;
}

int cpn_signals_load_dir(struct cpn_signals *sig,
                         const struct cpn_network *net,
                         const char *dir,
                         bool forecast,
                         struct cpn_error *err)
{
    struct cpn_series *dst = forecast ? sig->forecast : sig->actual;
    struct cpn_series *got = NULL;
    size_t *where = NULL;
    char **names = NULL;
    size_t n = 0, i;
    int rc;
    if (net->nzones != sig->nzones)
        return cpn_errorf(err, -EINVAL, "%s: signals made for %zu zones, network has %zu", dir,
                          sig->nzones, net->nzones);
    if ((rc = list_csv(dir, &names, &n, err)))
        return rc;
    got = cpn_calloc(n, sizeof *got);
    where = cpn_calloc(n, sizeof *where);
    if (!got || !where)
        rc = cpn_errorf(err, -ENOMEM, "%s: out of memory", dir);
    for (i = 0; i < n && !rc; i++) {
        struct cpn_buf path = { 0 };
        if ((rc = name_index(net, dir, names[i], &where[i], err)))
            break;
        if (cpn_buf_printf(&path, "%s/%s", dir, names[i])) {
            rc = cpn_errorf(err, -ENOMEM, "%s: out of memory", dir);
            break;
        }
        rc = cpn_series_load(path.data, sig->step_s, &got[i], err);
        if (!rc)
            rc = check_values(&got[i], (enum cpn_signal_kind)(where[i] % CPN_SIG_COUNT), path.data,
                              err);
        cpn_buf_free(&path);
    }
    if (!rc) {
        for (i = 0; i < n; i++) {
            cpn_series_free(&dst[where[i]]);
            dst[where[i]] = got[i];
            got[i].v = NULL;
            got[i].n = 0;
        }
    }
    for (i = 0; i < n; i++) {
        if (got)
            cpn_series_free(&got[i]);
        cpn_free(names[i]);
    }
    cpn_free(got);
    cpn_free(where);
    cpn_free(names);
    return rc;
}

int cpn_signals_forecast_noise(struct cpn_signals *sig,
                               const struct cpn_network *net,
                               double pct,
                               uint64_t seed,
                               struct cpn_error *err)
{
    static const enum cpn_signal_kind kinds[] = { CPN_SIG_CI, CPN_SIG_GREEN };
    size_t total = sig->nzones * CPN_SIG_COUNT;
    struct cpn_series *made;
    if (!isfinite(pct) || pct < 0)
        return cpn_errorf(err, -EINVAL, "forecast noise %g %%: expected a percentage >= 0", pct);
    if (net->nzones != sig->nzones)
        return cpn_errorf(err, -EINVAL, "signals made for %zu zones, network has %zu", sig->nzones,
                          net->nzones);
    made = cpn_calloc(total, sizeof *made);
    if (!made)
        return cpn_errorf(err, -ENOMEM, "forecast noise: out of memory");
    for (size_t z = 0; z < sig->nzones; z++) {
        for (size_t q = 0; q < sizeof kinds / sizeof kinds[0]; q++) {
            size_t idx = z * CPN_SIG_COUNT + (size_t)kinds[q];
            const struct cpn_series *a = &sig->actual[idx];
            struct cpn_series *f = &made[idx];
            struct cpn_rng rng;
            double mean = 0, sd;
            if (!a->n)
                continue;
            f->v = cpn_calloc(a->n, sizeof *f->v);
            if (!f->v) {
                series_array_free(made, total);
                return cpn_errorf(err, -ENOMEM, "forecast noise: out of memory");
            }
            for (size_t i = 0; i < a->n; i++)
                mean += a->v[i];
            mean /= (double)a->n;
            sd = pct / 100.0 * fabs(mean);
            /* One stream per zone and kind, keyed by the zone's id: adding a zone or a series
             * elsewhere does not change this one's noise. */
            cpn_rng_seed(&rng, seed ^ cpn_hash_str(net->zones[z].id) ^
                                   (0x9E3779B97F4A7C15ull * (uint64_t)(kinds[q] + 1)));
            for (size_t i = 0; i < a->n; i++) {
                double v = a->v[i] + sd * cpn_rng_normal(&rng);
                if (v < 0)
                    v = 0;
                if (kinds[q] == CPN_SIG_GREEN && v > 1)
                    v = 1;
                f->v[i] = v;
            }
            f->t0 = a->t0;
            f->step_s = a->step_s;
            f->n = a->n;
            snprintf(f->source, sizeof f->source, "synthetic: actual + %g%% noise, seed %llu", pct,
                     (unsigned long long)seed);
        }
    }
    for (size_t i = 0; i < total; i++) {
        if (!made[i].n)
            continue;
        cpn_series_free(&sig->forecast[i]);
        sig->forecast[i] = made[i];
    }
    cpn_free(made);
    return 0;
}

double cpn_signals_value(const struct cpn_signals *sig,
                         const struct cpn_network *net,
                         int32_t zone,
                         enum cpn_signal_kind kind,
                         int64_t t,
                         bool forecast)
{
    const struct cpn_zone *z = &net->zones[zone];
    if (sig && (size_t)zone < sig->nzones && (unsigned)kind < CPN_SIG_COUNT) {
        size_t idx = (size_t)zone * CPN_SIG_COUNT + (size_t)kind;
        if (forecast && sig->forecast[idx].n)
            return cpn_series_at(&sig->forecast[idx], t);
        if (sig->actual[idx].n)
            return cpn_series_at(&sig->actual[idx], t);
    }
    switch (kind) {
    case CPN_SIG_CI:
        return z->grid_gco2_per_kwh;
    case CPN_SIG_GREEN:
        return z->green_share;
    case CPN_SIG_PRICE: {
        int64_t h = cpn_floordiv(t, 3600) % 24;
        return z->price_cny_per_kwh[h < 0 ? h + 24 : h];
    }
    default:
        return NAN;
    }
}

double cpn_signals_effective_ci(const struct cpn_signals *sig,
                                const struct cpn_network *net,
                                int32_t zone,
                                int64_t t,
                                bool forecast)
{
    double ci = cpn_signals_value(sig, net, zone, CPN_SIG_CI, t, forecast);
    double green = cpn_signals_value(sig, net, zone, CPN_SIG_GREEN, t, forecast);
    return (1 - green) * ci;
}
