/* SPDX-License-Identifier: Apache-2.0 */
/* Forecast revisions for re-planning. The simulator keeps its own copy of the decision forecasts on
 * the horizon's slot grid; at each revision (time t, number rev) the carbon-intensity and
 * green-share forecasts of the next 24 hours are redrawn as actual + N(0, sigma_l^2) with sigma_l =
 * pct/100 x mean(actual) x min(1, lead_h / 24): the nearer a slot, the better its forecast. Slots
 * further ahead keep their previous (day-ahead) draw. As with cpn_signals_forecast_noise(), only
 * series given as actuals get noise, and prices are not perturbed. Draws depend only on seed, rev,
 * zone, kind and slot, so runs repeat. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "sim_int.h"

#define REVISE_AHEAD_S 86400

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

int sim_forecast_init(struct cpn_sim *s, struct cpn_error *err)
{
    const struct cpn_network *net = s->net;
    size_t n = (size_t)s->cfg.nslots;
    int rc = cpn_signals_create(net, &s->revised);
    if (rc)
        return cpn_errorf(err, rc, "sim: out of memory for revised forecasts");
    s->rev_sigma = cpn_calloc(net->nzones * CPN_SIG_COUNT + 1, sizeof *s->rev_sigma);
    if (!s->rev_sigma)
        return cpn_errorf(err, -ENOMEM, "sim: out of memory for revised forecasts");
    for (size_t z = 0; z < net->nzones; z++) {
        for (int k = 0; k < CPN_SIG_COUNT; k++) {
            struct cpn_series *f = &s->revised->forecast[z * CPN_SIG_COUNT + (size_t)k];
            struct cpn_series *a = &s->revised->actual[z * CPN_SIG_COUNT + (size_t)k];
            f->v = cpn_reallocarray(NULL, n, sizeof *f->v);
            a->v = cpn_reallocarray(NULL, n, sizeof *a->v);
            if (!f->v || !a->v)
                return cpn_errorf(err, -ENOMEM, "sim: out of memory for revised forecasts");
            f->t0 = a->t0 = s->cfg.t0;
            f->step_s = a->step_s = s->slot_s;
            f->n = a->n = n;
            for (size_t i = 0; i < n; i++) {
                int64_t t = s->cfg.t0 + (int64_t)i * s->slot_s;
                f->v[i] =
                    cpn_signals_value(s->actual, net, (int32_t)z, (enum cpn_signal_kind)k, t, true);
                a->v[i] = cpn_signals_value(s->actual, net, (int32_t)z, (enum cpn_signal_kind)k, t,
                                            false);
            }
            snprintf(f->source, sizeof f->source, "revised forecast (%g %% error, seed %llu)",
                     s->cfg.revise_error_pct, (unsigned long long)s->cfg.seed);
            snprintf(a->source, sizeof a->source, "actual on the horizon grid");
            if (k != CPN_SIG_PRICE && s->actual->actual[z * CPN_SIG_COUNT + (size_t)k].n) {
                double mean = 0;
                for (size_t i = 0; i < n; i++)
                    mean += a->v[i];
                mean = n ? mean / (double)n : 0.0;
                s->rev_sigma[z * CPN_SIG_COUNT + (size_t)k] =
                    s->cfg.revise_error_pct / 100.0 * fabs(mean);
            }
        }
    }
    return 0;
}

void sim_forecast_free(struct cpn_sim *s)
{
    if (s->revised)
        cpn_signals_destroy(s->revised);
    cpn_free(s->rev_sigma);
    s->revised = NULL;
    s->rev_sigma = NULL;
}

void sim_forecast_revise(struct cpn_sim *s, int64_t t, uint64_t rev)
{
    const struct cpn_network *net = s->net;
    int64_t first = cpn_floordiv(t - s->cfg.t0 + s->slot_s - 1, s->slot_s);
    int64_t last = cpn_floordiv(t + REVISE_AHEAD_S - s->cfg.t0, s->slot_s); /* exclusive */
    if (first < 0)
        first = 0;
    if (last > s->cfg.nslots)
        last = s->cfg.nslots;
    for (size_t z = 0; z < net->nzones; z++) {
        for (size_t k = 0; k < CPN_SIG_COUNT; k++) {
            size_t idx = z * CPN_SIG_COUNT + k;
            struct cpn_series *f = &s->revised->forecast[idx];
            const struct cpn_series *a = &s->revised->actual[idx];
            double sigma = s->rev_sigma[idx];
            struct cpn_rng rng;
            if (sigma <= 0)
                continue;
            cpn_rng_seed(&rng, mix64(s->cfg.seed ^ mix64(rev * 1000003ULL + idx)));
            for (int64_t i = first; i < last; i++) {
                double lead_h = (double)(s->cfg.t0 + i * s->slot_s - t) / 3600.0;
                double scale = lead_h / 24.0 < 1.0 ? lead_h / 24.0 : 1.0;
                double v = a->v[i] + sigma * scale * cpn_rng_normal(&rng);
                if (v < 0)
                    v = 0;
                if (k == CPN_SIG_GREEN && v > 1)
                    v = 1;
                f->v[i] = v;
            }
        }
    }
}
