/* SPDX-License-Identifier: Apache-2.0 */
/* The engine's state: creation (horizon, decision series and prefix sums per zone, capacity and
 * power timelines, the candidate index), signal refresh, cluster health, commit and release.
 * Memory is O(zones x slots + pools x slots), allocated once; decisions allocate nothing after the
 * scratch arrays have grown to the largest window seen. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

void cpn_engine_destroy(struct cpn_engine *e)
{
    if (!e)
        return;
    cpn_free(e->obj);
    cpn_free(e->ci);
    cpn_free(e->price);
    cpn_free(e->obj_pre);
    cpn_free(e->obj_pre_d);
    cpn_free(e->ci_pre);
    cpn_free(e->price_pre);
    cpn_free(e->free_units);
    cpn_free(e->unlimited);
    cpn_free(e->power_free);
    cpn_free(e->capped);
    cpn_free(e->up);
    cpn_free(e->cand);
    cpn_free(e->cand_off);
    cpn_free(e->runs);
    cpn_free(e->slots);
    cpn_free(e->evals);
    cpn_free(e->heap);
    cpn_free(e->zbest);
    cpn_free(e->st);
    cpn_free(e);
}

/* Range-minimum table over each zone's per-slot objective, for the lower bounds that let a
 * decision skip pools that cannot win. Skipped (bounds fall back to the fixed costs) when it would
 * take more than 256 MiB. */
#define ST_MAX_BYTES (256u << 20)
static void build_sparse_table(struct cpn_engine *e)
{
    size_t n = (size_t)e->nslots, nz = e->net->nzones;
    int levels = 1;
    while ((1u << levels) <= n)
        levels++;
    if (!e->st) {
        if ((size_t)levels * nz * n > ST_MAX_BYTES / sizeof(double))
            return;
        e->st = cpn_malloc((size_t)levels * nz * n * sizeof *e->st);
        if (!e->st)
            return; /* the bound is an optimisation: without it decisions stay exact */
        e->st_levels = levels;
    }
    for (size_t z = 0; z < nz; z++)
        for (size_t t = 0; t < n; t++)
            e->st[t * nz + z] = e->obj[z * n + t];
    for (int l = 1; l < e->st_levels; l++) {
        const double *prev = e->st + (size_t)(l - 1) * n * nz;
        double *cur = e->st + (size_t)l * n * nz;
        size_t half = (size_t)1 << (l - 1);
        for (size_t t = 0; t + 2 * half <= n; t++) {
            for (size_t z = 0; z < nz; z++) {
                double x = prev[t * nz + z], y = prev[(t + half) * nz + z];
                cur[t * nz + z] = x < y ? x : y;
            }
        }
    }
}

int eng_load_signals(struct cpn_engine *e, struct cpn_error *err)
{
    const struct cpn_network *net = e->net;
    size_t n = (size_t)e->nslots;
    for (size_t z = 0; z < net->nzones; z++) {
        double *obj = e->obj + z * n, *ci = e->ci + z * n, *price = e->price + z * n;
        long double *op = e->obj_pre + z * (n + 1), *cp = e->ci_pre + z * (n + 1),
                    *pp = e->price_pre + z * (n + 1);
        op[0] = cp[0] = pp[0] = 0;
        for (size_t t = 0; t < n; t++) {
            int64_t at = e->t0 + (int64_t)t * e->slot_s;
            double c, p;
            if (e->sig) {
                c = cpn_signals_effective_ci(e->sig, net, (int32_t)z, at, true);
                p = cpn_signals_value(e->sig, net, (int32_t)z, CPN_SIG_PRICE, at, true);
            } else {
                int hour = (int)(cpn_floordiv(at, 3600) % 24);
                c = (1.0 - net->zones[z].green_share) * net->zones[z].grid_gco2_per_kwh;
                p = net->zones[z].price_cny_per_kwh[hour < 0 ? hour + 24 : hour];
            }
            if (!isfinite(c) || !isfinite(p))
                return cpn_errorf(err, -EINVAL,
                                  "zone %s: decision signal at slot %zu is not a finite number",
                                  net->zones[z].id, t);
            ci[t] = c;
            price[t] = p;
            obj[t] = e->pol.money_weight * p + e->pol.carbon_cny_per_kg * c / 1000.0;
            op[t + 1] = op[t] + obj[t];
            e->obj_pre_d[z * (n + 1) + t + 1] = (double)op[t + 1];
            cp[t + 1] = cp[t] + c;
            pp[t + 1] = pp[t] + p;
        }
    }
    build_sparse_table(e);
    return 0;
}

int cpn_engine_refresh_signals(struct cpn_engine *e, struct cpn_error *err)
{
    return eng_load_signals(e, err);
}

struct cand_sort {
    const struct cpn_network *net;
    int32_t site;
};

static int cand_cmp(const void *a, const void *b, void *ctx)
{
    const struct cand_sort *cs = ctx;
    int32_t pa = *(const int32_t *)a, pb = *(const int32_t *)b;
    double ra = cpn_network_rtt(cs->net, cs->site, cs->net->pools[pa].cluster);
    double rb = cpn_network_rtt(cs->net, cs->site, cs->net->pools[pb].cluster);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    return (pa > pb) - (pa < pb);
}

/* Insertion sort with a context (qsort_r is not in C17/POSIX); lists are one class of pools. */
static void cand_sort_list(int32_t *v, size_t n, struct cand_sort *cs)
{
    for (size_t i = 1; i < n; i++) {
        int32_t x = v[i];
        size_t j = i;
        while (j > 0 && cand_cmp(&v[j - 1], &x, cs) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

void eng_cand_fill(const struct cpn_engine *e, int32_t site, int32_t p, struct eng_cand *cd)
{
    const struct cpn_network *net = e->net;
    const struct cpn_pool *pool = &net->pools[p];
    const struct cpn_cluster *c = &net->clusters[pool->cluster];
    cd->pool = p;
    cd->cluster = pool->cluster;
    cd->zone = c->zone;
    cd->hub = c->hub;
    cd->rtt_ms = cpn_network_rtt(net, site, pool->cluster);
    cd->tflops_per_unit = pool->tflops_per_unit;
    cd->price_ucny_per_unit_h = (double)pool->price_ucny_per_unit_h;
    cd->units = pool->units;
    cd->device = pool->device;
    cd->unlimited = e->unlimited[p];
}

static int build_candidates(struct cpn_engine *e)
{
    const struct cpn_network *net = e->net;
    size_t nlists = net->nsites * CPN_CLASS_COUNT, pos = 0;
    int32_t *order = cpn_calloc(net->npools + 1, sizeof *order);
    e->cand_off = cpn_calloc(nlists + 1, sizeof *e->cand_off);
    e->cand = cpn_calloc(net->npools * net->nsites + 1, sizeof *e->cand);
    if (!order || !e->cand_off || !e->cand) {
        cpn_free(order);
        return -ENOMEM;
    }
    for (size_t s = 0; s < net->nsites; s++) {
        for (int k = 0; k < CPN_CLASS_COUNT; k++) {
            struct cand_sort cs = { net, (int32_t)s };
            size_t m = 0;
            e->cand_off[s * CPN_CLASS_COUNT + (size_t)k] = pos;
            for (size_t p = 0; p < net->npools; p++)
                if ((int)net->pools[p].cls == k)
                    order[m++] = (int32_t)p;
            cand_sort_list(order, m, &cs);
            for (size_t i = 0; i < m; i++)
                eng_cand_fill(e, (int32_t)s, order[i], &e->cand[pos++]);
        }
    }
    e->cand_off[nlists] = pos;
    cpn_free(order);
    return 0;
}

int cpn_engine_create(const struct cpn_engine_config *cfg,
                      struct cpn_engine **out,
                      struct cpn_error *err)
{
    const struct cpn_network *net = cfg->net;
    struct cpn_engine *e;
    size_t n, nz;
    int rc;
    if (!net || net->slot_s <= 0)
        return cpn_errorf(err, -EINVAL, "engine: a network with a positive slot length is needed");
    if (cfg->nslots <= 0)
        return cpn_errorf(err, -EINVAL, "engine: nslots is %d, expected a positive slot count",
                          cfg->nslots);
    if (cfg->t0 % net->slot_s != 0)
        return cpn_errorf(err, -EINVAL,
                          "engine: t0 %lld is not a multiple of the slot length %lld s",
                          (long long)cfg->t0, (long long)net->slot_s);
    if ((size_t)cfg->nslots > SIZE_MAX / 16 / (net->npools + net->nzones + 1))
        return cpn_errorf(err, -ENOMEM, "engine: horizon of %d slots is too large", cfg->nslots);
    e = cpn_calloc(1, sizeof *e);
    if (!e)
        return cpn_errorf(err, -ENOMEM, "engine: out of memory");
    e->net = net;
    e->sig = cfg->signals;
    e->pol = cfg->policy;
    e->t0 = cfg->t0;
    e->slot_s = net->slot_s;
    e->nslots = cfg->nslots;
    n = (size_t)cfg->nslots;
    nz = net->nzones;
    e->obj = cpn_calloc(nz * n, sizeof *e->obj);
    e->ci = cpn_calloc(nz * n, sizeof *e->ci);
    e->price = cpn_calloc(nz * n, sizeof *e->price);
    e->obj_pre = cpn_calloc(nz * (n + 1), sizeof *e->obj_pre);
    e->obj_pre_d = cpn_calloc(nz * (n + 1), sizeof *e->obj_pre_d);
    e->ci_pre = cpn_calloc(nz * (n + 1), sizeof *e->ci_pre);
    e->price_pre = cpn_calloc(nz * (n + 1), sizeof *e->price_pre);
    e->free_units = cpn_calloc(net->npools * n, sizeof *e->free_units);
    e->unlimited = cpn_calloc(net->npools, sizeof *e->unlimited);
    e->power_free = cpn_calloc(net->nclusters * n, sizeof *e->power_free);
    e->capped = cpn_calloc(net->nclusters, sizeof *e->capped);
    e->up = cpn_calloc(net->nclusters, sizeof *e->up);
    e->zbest = cpn_calloc(nz, sizeof *e->zbest);
    if (!e->zbest || !e->obj_pre_d || !e->obj || !e->ci || !e->price || !e->obj_pre || !e->ci_pre ||
        !e->price_pre || !e->free_units || !e->unlimited || !e->power_free || !e->capped ||
        !e->up) {
        cpn_engine_destroy(e);
        return cpn_errorf(err, -ENOMEM, "engine: out of memory for %zu slots", n);
    }
    for (size_t p = 0; p < net->npools; p++) {
        int64_t *row = eng_free_row(e, (int32_t)p);
        e->unlimited[p] = net->pools[p].units == CPN_UNLIMITED;
        for (size_t t = 0; t < n; t++)
            row[t] = net->pools[p].units;
    }
    for (size_t c = 0; c < net->nclusters; c++) {
        double *row = eng_power_row(e, (int32_t)c);
        e->up[c] = true;
        e->capped[c] = net->clusters[c].power_cap_kw > 0;
        for (size_t t = 0; t < n; t++)
            row[t] = net->clusters[c].power_cap_kw;
    }
    if ((rc = build_candidates(e)) != 0) {
        cpn_engine_destroy(e);
        return cpn_errorf(err, rc, "engine: out of memory for the candidate index");
    }
    if ((rc = eng_load_signals(e, err)) != 0) {
        cpn_engine_destroy(e);
        return rc;
    }
    *out = e;
    return 0;
}

void cpn_engine_set_cluster_up(struct cpn_engine *e, int32_t cluster, bool up)
{
    if (cluster >= 0 && (size_t)cluster < e->net->nclusters)
        e->up[cluster] = up;
}

bool cpn_engine_cluster_up(const struct cpn_engine *e, int32_t cluster)
{
    return cluster >= 0 && (size_t)cluster < e->net->nclusters && e->up[cluster];
}

int64_t cpn_engine_t0(const struct cpn_engine *e)
{
    return e->t0;
}

int32_t cpn_engine_nslots(const struct cpn_engine *e)
{
    return e->nslots;
}

int64_t cpn_engine_free_units(const struct cpn_engine *e, int32_t pool, int32_t slot)
{
    if (pool < 0 || (size_t)pool >= e->net->npools || slot < 0 || slot >= e->nslots)
        return 0;
    if (e->unlimited[pool])
        return CPN_UNLIMITED;
    return eng_free_row(e, pool)[slot];
}

/* Adds sign x (units, power) to every slot of the placement at or after from_slot. */
static void apply(struct cpn_engine *e,
                  const struct cpn_job *job,
                  const struct cpn_placement *p,
                  int sign,
                  int32_t from_slot)
{
    const struct cpn_network *net = e->net;
    const struct cpn_pool *pool = &net->pools[p->pool];
    const struct cpn_cluster *c = &net->clusters[p->cluster];
    int64_t *row = e->unlimited[p->pool] ? NULL : eng_free_row(e, p->pool);
    double *prow = e->capped[p->cluster] ? eng_power_row(e, p->cluster) : NULL;
    double kw = cpn_job_power_kw(job, pool, c);
    struct cpn_slot_run whole = { p->start_slot, p->nslots };
    const struct cpn_slot_run *runs = p->nruns > 1 ? p->runs : &whole;
    uint32_t nruns = p->nruns > 1 ? p->nruns : 1;
    for (uint32_t r = 0; r < nruns; r++) {
        int32_t a = runs[r].start, b = a + runs[r].len;
        if (a < from_slot)
            a = from_slot;
        if (a < 0)
            a = 0;
        if (b > e->nslots)
            b = e->nslots;
        for (int32_t t = a; t < b; t++) {
            if (row)
                row[t] -= sign * job->units;
            if (prow)
                prow[t] -= sign * kw;
        }
    }
}

int cpn_engine_commit(struct cpn_engine *e,
                      const struct cpn_job *job,
                      const struct cpn_placement *p)
{
    if (p->pool < 0 || (size_t)p->pool >= e->net->npools ||
        p->cluster != e->net->pools[p->pool].cluster)
        return -EINVAL;
    apply(e, job, p, +1, 0);
    return 0;
}

void cpn_engine_release(struct cpn_engine *e,
                        const struct cpn_job *job,
                        const struct cpn_placement *p,
                        int32_t from_slot)
{
    if (p->pool < 0 || (size_t)p->pool >= e->net->npools)
        return;
    apply(e, job, p, -1, from_slot);
}
