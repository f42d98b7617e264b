/* SPDX-License-Identifier: Apache-2.0 */
/* The data of the LP bound: per-zone signal series on the horizon with prefix sums (read once, so
 * that a window's cost is O(1)), and per job its options, one per pool that passes every hard
 * constraint that does not depend on other jobs (docs/engine.md). Where the exact rule cannot be
 * written as a linear constraint (the price ceiling and the fractional last slot of an
 * interruptible job) the option keeps a relaxation of it, so the LP stays a lower bound. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched/lp_int.h"

/* Slots beyond this do not fit the (opt, start, kind) key of the column set. */
#define LP_MAX_SLOTS (1 << 24)
/* Slack of the release, deadline and slot-count roundings, in slots: the LP errs on the
 * permissive side so that it never excludes what the engine allows. */
#define LP_ROUND_EPS 1e-9

static int load_signals(struct lp *L, const struct cpn_signals *sig)
{
    size_t nz = L->net->nzones, n = (size_t)L->nslots;
    L->ci = cpn_calloc(nz * n + 1, sizeof *L->ci);
    L->price = cpn_calloc(nz * n + 1, sizeof *L->price);
    L->rate = cpn_calloc(nz * n + 1, sizeof *L->rate);
    L->ci_pre = cpn_calloc(nz * (n + 1) + 1, sizeof *L->ci_pre);
    L->price_pre = cpn_calloc(nz * (n + 1) + 1, sizeof *L->price_pre);
    L->rate_pre = cpn_calloc(nz * (n + 1) + 1, sizeof *L->rate_pre);
    if (!L->ci || !L->price || !L->rate || !L->ci_pre || !L->price_pre || !L->rate_pre)
        return -ENOMEM;
    for (size_t z = 0; z < nz; z++) {
        double *ci = L->ci + z * n, *pr = L->price + z * n, *rt = L->rate + z * n;
        long double *cp = L->ci_pre + z * (n + 1), *pp = L->price_pre + z * (n + 1),
                    *rp = L->rate_pre + z * (n + 1);
        for (size_t t = 0; t < n; t++) {
            int64_t at = L->t0 + (int64_t)t * (int64_t)L->slot_s;
            /* with sig NULL these give the zones' defaults */
            ci[t] = cpn_signals_effective_ci(sig, L->net, (int32_t)z, at, false);
            pr[t] = cpn_signals_value(sig, L->net, (int32_t)z, CPN_SIG_PRICE, at, false);
            rt[t] = L->money_weight * pr[t] + L->carbon_cny_per_kg * ci[t] / 1000.0;
            cp[t + 1] = cp[t] + ci[t];
            pp[t + 1] = pp[t] + pr[t];
            rp[t + 1] = rp[t] + rt[t];
        }
    }
    return 0;
}

long double lp_window_rate(const struct lp *L, const struct lp_opt *o, int32_t s)
{
    size_t n = (size_t)L->nslots;
    const long double *p = L->rate_pre + (size_t)o->zone * (n + 1);
    int32_t l = s + o->k - 1;
    return p[l] - p[s] + (long double)o->w * L->rate[(size_t)o->zone * n + (size_t)l];
}

long double lp_window_money(const struct lp *L, const struct lp_opt *o, int32_t s)
{
    size_t n = (size_t)L->nslots;
    const long double *p = L->price_pre + (size_t)o->zone * (n + 1);
    int32_t l = s + o->k - 1;
    return p[l] - p[s] + (long double)o->w * L->price[(size_t)o->zone * n + (size_t)l];
}

void lp_runs_costs(const struct lp *L,
                   int32_t opt,
                   const struct cpn_slot_run *runs,
                   uint32_t nruns,
                   struct lp_col *out)
{
    const struct lp_opt *o = &L->opts[opt];
    size_t n = (size_t)L->nslots;
    const double *ci = L->ci + (size_t)o->zone * n, *pr = L->price + (size_t)o->zone * n;
    double cs = 0, ps = 0, wsum = 0;
    for (uint32_t r = 0; r < nruns; r++) {
        for (int32_t t = runs[r].start; t < runs[r].start + runs[r].len; t++) {
            double wi = r == nruns - 1 && t == runs[r].start + runs[r].len - 1 ? o->w : 1.0;
            cs += wi * ci[t];
            ps += wi * pr[t];
            wsum += wi;
        }
    }
    out->energy_kwh = o->e_kwh * wsum;
    out->carbon_kg = o->e_kwh * cs / 1000.0;
    out->money_cny = o->fixed_money + o->e_kwh * ps;
    out->obj = L->money_weight * out->money_cny + L->carbon_cny_per_kg * out->carbon_kg;
}

/* Whether the pool passes the job-only constraints; fills k, w, power and the fixed costs. */
static bool pool_ok(const struct lp *L, const struct cpn_job *job, int32_t p, struct lp_opt *o)
{
    const struct cpn_network *net = L->net;
    const struct cpn_pool *pool = &net->pools[p];
    const struct cpn_cluster *cl;
    double dur, kf, transfer;
    if (pool->cluster < 0 || (size_t)pool->cluster >= net->nclusters)
        return false;
    cl = &net->clusters[pool->cluster];
    if ((int)pool->cls != (int)job->cls)
        return false;
    if (job->device[0] && strcmp(job->device, pool->device) != 0)
        return false;
    if (job->min_tflops > 0 && pool->tflops_per_unit < job->min_tflops)
        return false;
    if (job->units <= 0 || job->units > pool->units)
        return false;
    if (job->max_rtt_ms > 0) {
        if (job->site < 0 || (size_t)job->site >= net->nsites || !net->rtt_ms)
            return false;
        if (cpn_network_rtt(net, job->site, pool->cluster) > job->max_rtt_ms)
            return false;
    }
    if (!cpn_job_allows_cluster(L->js, job, net, pool->cluster))
        return false;
    dur = cpn_job_duration_on(job, pool);
    if (!(dur > 0) || !isfinite(dur) || dur > (double)L->nslots * L->slot_s)
        return false;
    kf = ceil(dur / L->slot_s - LP_ROUND_EPS);
    o->k = kf < 1 ? 1 : (int32_t)kf;
    o->w = dur / L->slot_s - (double)(o->k - 1);
    if (o->w > 1)
        o->w = 1;
    o->kw = cpn_job_power_kw(job, pool, cl);
    if (cl->power_cap_kw > 0 && o->kw > cl->power_cap_kw * (1 + 1e-12))
        return false;
    o->pool = p;
    o->cluster = pool->cluster;
    o->zone = cl->zone;
    if (o->zone < 0 || (size_t)o->zone >= net->nzones)
        return false;
    o->units = (double)job->units;
    o->e_kwh = o->kw * L->slot_s / 3600.0;
    transfer = job->data_gb * (double)net->transfer_ucny_per_gb / 1e6;
    o->fixed_money =
        (double)job->units * (double)pool->price_ucny_per_unit_h / 1e6 * dur / 3600.0 + transfer;
    o->fixed_obj = L->money_weight * o->fixed_money;
    return true;
}

/* Start window of a contiguous option; false when empty or above the price ceiling everywhere.
 * *worst receives the highest objective of its columns. */
static bool window_ok(const struct lp *L,
                      const struct cpn_job *job,
                      int32_t r,
                      double ceiling,
                      struct lp_opt *o,
                      double *worst)
{
    double dur = (o->w + (double)(o->k - 1)) * L->slot_s;
    int64_t last = (int64_t)L->nslots - o->k;
    bool any = false;
    if (job->deadline_s != CPN_NO_DEADLINE) {
        double ls =
            floor(((double)job->deadline_s - (double)L->t0 - dur) / L->slot_s + LP_ROUND_EPS);
        if (ls < (double)last)
            last = ls < -1 ? -1 : (int64_t)ls;
    }
    if (last < r)
        return false;
    o->lo = r;
    o->hi = (int32_t)last;
    *worst = -INFINITY;
    for (int32_t s = o->lo; s <= o->hi; s++) {
        double m = o->fixed_money + o->e_kwh * (double)lp_window_money(L, o, s);
        double c = o->fixed_obj + o->e_kwh * (double)lp_window_rate(L, o, s);
        if (ceiling > 0 && m * 1e6 > ceiling * 1e6 + 0.5)
            continue;
        any = true;
        if (c > *worst)
            *worst = c;
    }
    return any;
}

/* Slot window of an interruptible option. The price ceiling is checked against the set of k slots
 * with the least money: a relaxation (the LP's columns are not held to it one by one), so the
 * bound stays below any placement that meets the ceiling. */
static bool slots_ok(struct lp *L,
                     const struct cpn_job *job,
                     int32_t r,
                     double ceiling,
                     struct lp_opt *o,
                     double *worst)
{
    int64_t D = L->nslots;
    size_t n = (size_t)L->nslots;
    const double *pr = L->price + (size_t)o->zone * n, *rt = L->rate + (size_t)o->zone * n;
    double rmax = -INFINITY;
    if (job->deadline_s != CPN_NO_DEADLINE) {
        double d = floor(((double)job->deadline_s - (double)L->t0) / L->slot_s + LP_ROUND_EPS);
        if (d < (double)D)
            D = d < 0 ? 0 : (int64_t)d;
    }
    if (D - r < o->k)
        return false;
    o->lo = r;
    o->hi = (int32_t)D;
    for (int32_t t = o->lo; t < o->hi; t++)
        if (rt[t] > rmax)
            rmax = rt[t];
    if (ceiling > 0) {
        int32_t lastp;
        double m;
        for (int32_t t = o->lo; t < o->hi; t++) {
            L->full[t - o->lo] = o->e_kwh * pr[t];
            L->last[t - o->lo] = o->w * o->e_kwh * pr[t];
        }
        m = o->fixed_money + lp_best_pattern(L, o, L->full, L->last, &lastp);
        if (m * 1e6 > ceiling * 1e6 + 0.5)
            return false;
    }
    *worst = o->fixed_obj + o->e_kwh * (double)o->k * rmax;
    return true;
}

static int add_job(struct lp *L, size_t src)
{
    const struct cpn_job *job = &L->js->v[src];
    const struct cpn_network *net = L->net;
    int64_t rel_t = job->earliest_s > job->submit_s ? job->earliest_s : job->submit_s;
    double transfer_s =
        job->data_gb > 0 && net->transfer_gbps > 0 ? job->data_gb * 8.0 / net->transfer_gbps : 0;
    double relf = ((double)rel_t - (double)L->t0 + transfer_s) / L->slot_s;
    double ceiling = job->price_ceiling_ucny > 0 ? (double)job->price_ceiling_ucny / 1e6 : 0;
    double worst_all = 0;
    int32_t r;
    size_t first = L->nopts;
    struct lp_job *jb;
    if (!(relf < (double)L->nslots))
        goto infeasible;
    r = relf <= 0 ? 0 : (int32_t)ceil(relf - LP_ROUND_EPS);
    for (size_t p = 0; p < net->npools; p++) {
        struct lp_opt o;
        double worst = 0;
        bool ok;
        memset(&o, 0, sizeof o);
        if (!pool_ok(L, job, (int32_t)p, &o))
            continue;
        ok = job->interruptible ? slots_ok(L, job, r, ceiling, &o, &worst)
                                : window_ok(L, job, r, ceiling, &o, &worst);
        if (!ok)
            continue;
        if (fabs(worst) > worst_all)
            worst_all = fabs(worst);
        if (cpn_grow(&L->opts, &L->opts_cap, L->nopts + 1, sizeof *L->opts))
            return -ENOMEM;
        o.job = (int32_t)L->njobs;
        L->opts[L->nopts++] = o;
    }
    if (L->nopts == first)
        goto infeasible;
    jb = &L->jobs[L->njobs++];
    memset(jb, 0, sizeof *jb);
    jb->src = (int32_t)src;
    jb->intr = job->interruptible;
    jb->ceiling = ceiling;
    jb->opt_first = (int32_t)first;
    jb->opt_count = (int32_t)(L->nopts - first);
    jb->penalty = 1e6 + 10.0 * worst_all;
    return 0;
infeasible:
    L->ninfeasible++;
    return 0;
}

int lp_setup(struct lp *L, const struct cpn_signals *sig, struct cpn_error *err)
{
    size_t ns;
    int rc = 0;
    if (L->net->slot_s <= 0)
        return cpn_errorf(err, -EINVAL, "lp: network slot_s is %lld, expected > 0",
                          (long long)L->net->slot_s);
    if (L->nslots < 0 || L->nslots > LP_MAX_SLOTS)
        return cpn_errorf(err, L->nslots < 0 ? -EINVAL : CPN_ELIMIT,
                          "lp: nslots is %ld, expected 0..%d", (long)L->nslots, LP_MAX_SLOTS);
    if (sig && sig->nzones != L->net->nzones)
        return cpn_errorf(err, -EINVAL, "lp: signals have %zu zones, the network %zu", sig->nzones,
                          L->net->nzones);
    L->slot_s = (double)L->net->slot_s;
    if (load_signals(L, sig))
        goto nomem;
    ns = (size_t)L->nslots + 1;
    L->jobs = cpn_calloc(L->js->n + 1, sizeof *L->jobs);
    L->full = cpn_calloc(ns, sizeof *L->full);
    L->last = cpn_calloc(ns, sizeof *L->last);
    L->heap = cpn_calloc(ns, sizeof *L->heap);
    L->slots = cpn_calloc(ns, sizeof *L->slots);
    if (!L->jobs || !L->full || !L->last || !L->heap || !L->slots)
        goto nomem;
    for (size_t i = 0; i < L->js->n && rc == 0; i++)
        rc = add_job(L, i);
    if (rc)
        goto nomem;
    return 0;
nomem:
    return cpn_errorf(err, -ENOMEM, "lp: out of memory reading signals and options of %zu jobs",
                      L->js->n);
}
