/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the placement engine: targeted cases for every hard constraint and policy, the
 * explanation of a decision, commit and release, and a differential test against a brute-force
 * search (direct summation over every pool and start, written independently of the engine) on
 * hundreds of small random instances, with integer-valued signals so that exact ties occur. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/sched.h"
#include "harness.h"
#include "sched/testnet.h"

#define T0   1577836800LL /* 2020-01-01T00:00:00Z */
#define SLOT 900LL

static struct cpn_engine *mk_engine(const struct cpn_network *n,
                                    const struct cpn_signals *s,
                                    const char *policy,
                                    int32_t nslots)
{
    struct cpn_engine_config cfg = { .net = n, .signals = s, .t0 = T0, .nslots = nslots };
    struct cpn_engine *e = NULL;
    struct cpn_error err = { 0 };
    CHECK(cpn_policy_lookup(policy, &cfg.policy) == 0);
    CHECK_MSG(cpn_engine_create(&cfg, &e, &err) == 0, "create: %s", err.msg);
    return e;
}

/* Two clusters: c0 near site 0 with dirty power, c1 far with clean power. */
static struct cpn_network *two_clusters(void)
{
    struct cpn_network *n = tnet_new(2, 2, 1, 1, SLOT);
    n->rtt_ms[0] = 2.0;  /* s0 -> c0 */
    n->rtt_ms[1] = 20.0; /* s0 -> c1 */
    n->zones[0].grid_gco2_per_kwh = 700;
    n->zones[1].grid_gco2_per_kwh = 100;
    return n;
}

static void test_policies_space(void)
{
    struct cpn_network *n = two_clusters();
    struct cpn_job j = tjob("j1", 0, 1, 3600, T0, CPN_NO_DEADLINE);
    struct cpn_placement p;
    struct cpn_error err = { 0 };
    struct cpn_engine *near = mk_engine(n, NULL, "nearest", 96);
    struct cpn_engine *green = mk_engine(n, NULL, "green", 96);
    struct cpn_engine *gnow = mk_engine(n, NULL, "greenest-now", 96);
    CHECK(cpn_engine_decide(near, NULL, &j, T0, &p, NULL, &err) == 0);
    CHECK_INT(p.cluster, 0);
    CHECK_INT(p.start_s, T0);
    CHECK_NEAR(p.latency_ms, 2.0, 1e-12);
    CHECK_NEAR(p.energy_kwh, 1.0, 1e-12); /* 1 kW x 1 h, PUE 1 */
    CHECK_NEAR(p.carbon_kg, 0.7, 1e-9);   /* 700 g/kWh */
    CHECK_INT(p.cost_ucny, 500000);       /* 1 kWh x 0.5 CNY */
    CHECK(cpn_engine_decide(green, NULL, &j, T0, &p, NULL, &err) == 0);
    CHECK_INT(p.cluster, 1);
    CHECK_NEAR(p.carbon_kg, 0.1, 1e-9);
    CHECK(cpn_engine_decide(gnow, NULL, &j, T0, &p, NULL, &err) == 0);
    CHECK_INT(p.cluster, 1);
    /* a latency bound keeps the job near */
    j.max_rtt_ms = 5;
    CHECK(cpn_engine_decide(green, NULL, &j, T0, &p, NULL, &err) == 0);
    CHECK_INT(p.cluster, 0);
    /* residency to hub 1 (cluster 1) overrides */
    j.max_rtt_ms = 0;
    j.allowed_hubs = 1ull << 0;
    CHECK(cpn_engine_decide(green, NULL, &j, T0, &p, NULL, &err) == 0);
    CHECK_INT(p.cluster, 0);
    cpn_engine_destroy(near);
    cpn_engine_destroy(green);
    cpn_engine_destroy(gnow);
    tnet_free(n);
}

static void test_time_shift_and_interruptible(void)
{
    struct cpn_network *n = tnet_new(1, 1, 1, 1, SLOT);
    struct cpn_signals *s = tsig_new(n);
    double ci[16] = {
        500, 500, 400, 100, 100, 300, 50, 500, 500, 500, 20, 500, 500, 500, 500, 500
    };
    struct cpn_placement p;
    struct cpn_error err = { 0 };
    struct cpn_engine *e;
    struct cpn_job j = tjob("j", 0, 1, 2 * SLOT, T0, T0 + 16 * SLOT);
    n->pools[0].units = CPN_UNLIMITED;
    tsig_set(s, 0, CPN_SIG_CI, false, T0, SLOT, 16, ci);
    e = mk_engine(n, s, "green", 16);
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &p, NULL, &err) == 0);
    CHECK_INT(p.start_slot, 3); /* 100 + 100 */
    CHECK_INT(p.nruns, 1);
    CHECK_NEAR(p.carbon_kg, 0.2 * 0.25 * 1.0, 1e-12); /* 200 g/kWh-slot x 0.25 kWh per slot */
    /* deadline cuts the window */
    j.deadline_s = T0 + 3 * SLOT;
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &p, NULL, &err) == 0);
    CHECK_INT(p.start_slot, 1); /* 500+400 < 500+500 */
    j.deadline_s = T0 + SLOT;
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &p, NULL, &err) == CPN_EINFEASIBLE);
    /* interruptible: the two cheapest slots anywhere */
    j.deadline_s = T0 + 16 * SLOT;
    j.interruptible = true;
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &p, NULL, &err) == 0);
    CHECK_INT(p.nruns, 2);
    CHECK_INT(p.runs[0].start, 6);
    CHECK_INT(p.runs[1].start, 10);
    CHECK_NEAR(p.carbon_kg, 0.07 * 0.25, 1e-12);
    /* a fractional last slot: 1.5 slots over the two cheapest (20 at slot 10 is later) */
    j.duration_s = SLOT + SLOT / 2;
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &p, NULL, &err) == 0);
    CHECK_NEAR(p.energy_kwh, 0.375, 1e-12);
    CHECK_NEAR(p.carbon_kg, (50 * 0.25 + 20 * 0.125) / 1000, 1e-12);
    CHECK_INT(p.end_s, T0 + 10 * SLOT + SLOT / 2);
    /* now after earliest: nothing before now */
    j.interruptible = false;
    j.duration_s = SLOT;
    CHECK(cpn_engine_decide(e, NULL, &j, T0 + 7 * SLOT, &p, NULL, &err) == 0);
    CHECK_INT(p.start_slot, 10);
    cpn_engine_destroy(e);
    tsig_free(s);
    tnet_free(n);
}

static void test_capacity_commit_release(void)
{
    struct cpn_network *n = two_clusters();
    struct cpn_job j = tjob("big", 0, 3, 3600, T0, CPN_NO_DEADLINE);
    struct cpn_placement p, q;
    struct cpn_error err = { 0 };
    struct cpn_engine *e = mk_engine(n, NULL, "nearest", 96);
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &p, NULL, &err) == 0);
    CHECK_INT(p.cluster, 0);
    CHECK(cpn_engine_commit(e, &j, &p) == 0);
    CHECK_INT(cpn_engine_free_units(e, 0, 0), 1);
    CHECK_INT(cpn_engine_free_units(e, 0, 3), 1);
    CHECK_INT(cpn_engine_free_units(e, 0, 4), 4);
    /* the next job of 3 units starts at once on the far cluster (nearest: start first) */
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &q, NULL, &err) == 0);
    CHECK_INT(q.cluster, 1);
    CHECK_INT(q.start_slot, 0);
    CHECK(cpn_engine_commit(e, &j, &q) == 0);
    /* a third waits for the first to end */
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &q, NULL, &err) == 0);
    CHECK_INT(q.cluster, 0);
    CHECK_INT(q.start_slot, 4);
    /* releasing the first from slot 2 frees slots 2.. */
    cpn_engine_release(e, &j, &p, 2);
    CHECK_INT(cpn_engine_free_units(e, 0, 1), 1);
    CHECK_INT(cpn_engine_free_units(e, 0, 2), 4);
    /* a job larger than any pool: size */
    j.units = 5;
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &q, NULL, &err) == CPN_EINFEASIBLE);
    cpn_engine_destroy(e);
    tnet_free(n);
}

static void test_power_cap_and_price_ceiling(void)
{
    struct cpn_network *n = two_clusters();
    struct cpn_job j = tjob("j", 0, 2, 3600, T0, CPN_NO_DEADLINE);
    struct cpn_placement p;
    struct cpn_error err = { 0 };
    struct cpn_engine *e;
    struct cpn_explain *ex = cpn_calloc(1, sizeof *ex);
    n->clusters[1].power_cap_kw = 3.0; /* room for one 2 kW job at a time */
    e = mk_engine(n, NULL, "green", 96);
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &p, NULL, &err) == 0);
    CHECK_INT(p.cluster, 1);
    CHECK(cpn_engine_commit(e, &j, &p) == 0);
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &p, ex, &err) == 0);
    /* cluster 1 can only take it after the first job: green waits (cleaner) */
    CHECK_INT(p.cluster, 1);
    CHECK_INT(p.start_slot, 4);
    /* a deadline that forbids waiting sends it to the dirty cluster */
    j.deadline_s = T0 + 3600;
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &p, ex, &err) == 0);
    CHECK_INT(p.cluster, 0);
    CHECK(ex->n == 2);
    CHECK_INT(ex->opts[0].cluster, 0);
    CHECK_INT(ex->opts[1].why, CPN_WHY_POWER);
    /* a price ceiling below the cost: infeasible, explained */
    j.price_ceiling_ucny = 100000; /* 0.1 CNY; the cheapest costs 1.0 */
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &p, ex, &err) == CPN_EINFEASIBLE);
    CHECK_INT(ex->why, CPN_WHY_PRICE);
    CHECK_CONTAINS(ex->detail, "price (1)");
    CHECK_CONTAINS(err.msg, "no feasible placement");
    cpn_engine_destroy(e);
    cpn_free(ex);
    tnet_free(n);
}

static void test_explain_reasons(void)
{
    struct cpn_network *n = tnet_new(2, 4, 1, 1, SLOT);
    struct cpn_job j = tjob("x", 0, 2, 3600, T0, CPN_NO_DEADLINE);
    struct cpn_placement p;
    struct cpn_error err = { 0 };
    struct cpn_explain *ex = cpn_calloc(1, sizeof *ex);
    struct cpn_engine *e;
    n->rtt_ms[0] = 1;
    n->rtt_ms[1] = 30; /* latency */
    n->rtt_ms[2] = 2;
    n->rtt_ms[3] = 3;
    n->pools[2].cls = CPN_CLASS_GENERAL; /* class */
    n->pools[3].units = 1;               /* size */
    j.max_rtt_ms = 10;
    e = mk_engine(n, NULL, "green", 96);
    cpn_engine_set_cluster_up(e, 0, false); /* down */
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &p, ex, &err) == CPN_EINFEASIBLE);
    CHECK_INT(ex->n, 4);
    for (uint32_t i = 0; i < ex->n; i++) {
        static const enum cpn_why want[4] = { CPN_WHY_DOWN, CPN_WHY_LATENCY, CPN_WHY_CLASS,
                                              CPN_WHY_SIZE };
        CHECK_INT(ex->opts[i].why, want[ex->opts[i].cluster]);
    }
    CHECK_INT(ex->why, CPN_WHY_DOWN);
    cpn_engine_set_cluster_up(e, 0, true);
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &p, ex, &err) == 0);
    CHECK_INT(ex->why, CPN_WHY_OK);
    CHECK_INT(ex->opts[0].cluster, 0);
    CHECK_CONTAINS(ex->detail, "placed on c0/p0");
    cpn_engine_destroy(e);
    cpn_free(ex);
    tnet_free(n);
}

static void test_work_and_transfer(void)
{
    struct cpn_network *n = two_clusters();
    struct cpn_job j = tjob("w", 0, 2, 0, T0, CPN_NO_DEADLINE);
    struct cpn_placement p;
    struct cpn_error err = { 0 };
    struct cpn_engine *e = mk_engine(n, NULL, "nearest", 96);
    n->transfer_ucny_per_gb = 10000; /* 0.01 CNY/GB */
    j.work_pflop_h = 0.2;            /* 0.2 PFLOP-h on 2 x 100 TFLOPS = 1 h */
    j.data_gb = 4500;                /* 4500 GB x 8 / 10 Gb/s = 3600 s of transfer */
    CHECK(cpn_engine_decide(e, NULL, &j, T0, &p, NULL, &err) == 0);
    CHECK_NEAR(p.duration_s, 3600, 1e-9);
    CHECK_NEAR(p.transfer_s, 3600, 1e-9);
    CHECK_INT(p.start_s, T0 + 3600);
    CHECK_INT(p.cost_ucny, 1000000 + 45000000); /* 2 kWh x 0.5 + 4500 GB x 0.01 */
    cpn_engine_destroy(e);
    tnet_free(n);
}

/* ---- brute force --------------------------------------------------------------------------- */

struct bf {
    const struct cpn_network *n;
    const struct cpn_signals *s;
    struct cpn_policy pol;
    int32_t nslots;
    int64_t *free_units; /* npools x nslots */
    double *pfree;       /* nclusters x nslots */
};

struct bf_choice {
    int32_t pool;
    int32_t start;
    double obj;
    double rtt;
    int32_t slots[64];
    int32_t k;
};

static double bf_obj_slot(const struct bf *b, int32_t zone, int32_t t)
{
    int64_t at = T0 + (int64_t)t * b->n->slot_s;
    double ci = cpn_signals_effective_ci(b->s, b->n, zone, at, true);
    double pr = cpn_signals_value(b->s, b->n, zone, CPN_SIG_PRICE, at, true);
    return b->pol.money_weight * pr + b->pol.carbon_cny_per_kg * ci / 1000.0;
}

static bool bf_better(const struct bf *b, const struct bf_choice *x, const struct bf_choice *y)
{
    if (b->pol.rank == CPN_RANK_START_LATENCY) {
        if (x->start != y->start)
            return x->start < y->start;
        if (x->rtt != y->rtt)
            return x->rtt < y->rtt;
        return x->pool < y->pool;
    }
    double m = fmax(fabs(x->obj), fabs(y->obj));
    if (fabs(x->obj - y->obj) > 1e-12 * m)
        return x->obj < y->obj;
    if (x->start != y->start)
        return x->start < y->start;
    return x->pool < y->pool;
}

static int cmp_cost(const void *a, const void *b)
{
    const double *x = a, *y = b; /* pairs (cost, t) */
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

static bool bf_decide(struct bf *b, const struct cpn_job *j, struct bf_choice *best)
{
    const struct cpn_network *n = b->n;
    bool have = false;
    for (size_t p = 0; p < n->npools; p++) {
        const struct cpn_pool *pool = &n->pools[p];
        const struct cpn_cluster *c = &n->clusters[pool->cluster];
        double dur = (double)j->duration_s,
               kw = (double)j->units * pool->watts_busy * c->pue / 1000;
        double eslot = kw * (double)n->slot_s / 3600.0,
               rtt = cpn_network_rtt(n, j->site, pool->cluster);
        double fixed = b->pol.money_weight * (double)j->units *
                       (double)pool->price_ucny_per_unit_h / 1e6 * dur / 3600.0;
        int32_t k = (int32_t)ceil(dur / (double)n->slot_s - 1e-9);
        double wlast = dur / (double)n->slot_s - (k - 1);
        int64_t rel = j->earliest_s - T0;
        int32_t r = (int32_t)(rel <= 0 ? 0 : (rel + n->slot_s - 1) / n->slot_s);
        if ((int)pool->cls != j->cls || j->units > pool->units)
            continue;
        if (j->max_rtt_ms > 0 && rtt > j->max_rtt_ms)
            continue;
        if (j->allowed_hubs && !(j->allowed_hubs & (1ull << c->hub)))
            continue;
        if (!j->interruptible) {
            for (int32_t s = r; s + k <= b->nslots; s++) {
                struct bf_choice ch = { (int32_t)p, s, fixed, rtt, { 0 }, k };
                bool ok = T0 + (double)s * n->slot_s + dur <= (double)j->deadline_s;
                for (int32_t i = 0; i < k && ok; i++) {
                    int32_t t = s + i;
                    ok = b->free_units[p * (size_t)b->nslots + t] >= j->units &&
                         (c->power_cap_kw <= 0 ||
                          b->pfree[pool->cluster * (size_t)b->nslots + t] + 1e-9 >= kw);
                    ch.obj += eslot * (i == k - 1 ? wlast : 1) * bf_obj_slot(b, c->zone, t);
                    ch.slots[i] = t;
                }
                if (!ok)
                    continue;
                if (!have || bf_better(b, &ch, best)) {
                    *best = ch;
                    have = true;
                }
                if (!b->pol.shift_time)
                    break;
            }
        } else {
            double pairs[2 * 256];
            int32_t cnt = 0, D = b->nslots;
            struct bf_choice ch = { (int32_t)p, 0, fixed, rtt, { 0 }, k };
            int32_t tmax = -1, tmin = 1 << 30;
            if (j->deadline_s != CPN_NO_DEADLINE && (j->deadline_s - T0) / n->slot_s < D)
                D = (int32_t)((j->deadline_s - T0) / n->slot_s);
            for (int32_t t = r; t < D; t++) {
                if (b->free_units[p * (size_t)b->nslots + t] < j->units)
                    continue;
                if (c->power_cap_kw > 0 &&
                    b->pfree[pool->cluster * (size_t)b->nslots + t] + 1e-9 < kw)
                    continue;
                pairs[2 * cnt] = bf_obj_slot(b, c->zone, t);
                pairs[2 * cnt + 1] = t;
                cnt++;
                if (!b->pol.shift_time && cnt == k)
                    break;
            }
            if (cnt < k)
                continue;
            qsort(pairs, (size_t)cnt, 2 * sizeof(double), cmp_cost);
            for (int32_t i = 0; i < k; i++) {
                int32_t t = (int32_t)pairs[2 * i + 1];
                ch.slots[i] = t;
                if (t > tmax)
                    tmax = t;
                if (t < tmin)
                    tmin = t;
            }
            for (int32_t i = 0; i < k; i++)
                ch.obj += eslot * (ch.slots[i] == tmax ? wlast : 1) * pairs[2 * i];
            ch.start = tmin;
            if (!have || bf_better(b, &ch, best)) {
                *best = ch;
                have = true;
            }
        }
    }
    return have;
}

static void bf_commit(struct bf *b, const struct cpn_job *j, const struct cpn_placement *p)
{
    const struct cpn_pool *pool = &b->n->pools[p->pool];
    double kw = (double)j->units * pool->watts_busy * b->n->clusters[p->cluster].pue / 1000;
    for (uint32_t r = 0; r < p->nruns; r++)
        for (int32_t t = p->runs[r].start; t < p->runs[r].start + p->runs[r].len; t++) {
            b->free_units[(size_t)p->pool * (size_t)b->nslots + t] -= j->units;
            b->pfree[(size_t)p->cluster * (size_t)b->nslots + t] -= kw;
        }
}

static void differential_round(struct cpn_rng *rng, const char *policy, int *compared, int *ties)
{
    int nclusters = 1 + (int)cpn_rng_below(rng, 3), pools = 1 + (int)cpn_rng_below(rng, 2);
    int32_t nslots = 8 + (int32_t)cpn_rng_below(rng, 24);
    struct cpn_network *n = tnet_new(2, nclusters, pools, 2, SLOT);
    struct cpn_signals *s = tsig_new(n);
    struct bf b = { .n = n, .s = s, .nslots = nslots };
    struct cpn_engine *e;
    bool integer = cpn_rng_below(rng, 2) == 0;
    double *v = cpn_calloc((size_t)nslots, sizeof *v);
    for (size_t c = 0; c < n->nclusters; c++) {
        n->clusters[c].pue = 1.0 + 0.1 * (double)cpn_rng_below(rng, 5);
        if (cpn_rng_below(rng, 4) == 0)
            n->clusters[c].power_cap_kw = 2.0 + (double)cpn_rng_below(rng, 6);
        for (int32_t t = 0; t < nslots; t++)
            v[t] = integer ? (double)(1 + cpn_rng_below(rng, 5)) * 100
                           : 50 + 500 * cpn_rng_uniform(rng);
        tsig_set(s, c, CPN_SIG_CI, false, T0, SLOT, (size_t)nslots, v);
        for (int32_t t = 0; t < nslots; t++)
            v[t] = integer ? (double)cpn_rng_below(rng, 3) * 0.25 : cpn_rng_uniform(rng);
        tsig_set(s, c, CPN_SIG_PRICE, false, T0, SLOT, (size_t)nslots, v);
        for (size_t si = 0; si < n->nsites; si++)
            n->rtt_ms[si * n->nclusters + c] = 1 + (double)cpn_rng_below(rng, 30);
    }
    for (size_t p = 0; p < n->npools; p++) {
        n->pools[p].units = 1 + (int64_t)cpn_rng_below(rng, 4);
        n->pools[p].watts_busy = 500 + 500 * (double)cpn_rng_below(rng, 3);
        n->pools[p].price_ucny_per_unit_h = (int64_t)cpn_rng_below(rng, 3) * 1000000;
    }
    CHECK(cpn_policy_lookup(policy, &b.pol) == 0);
    b.free_units = cpn_calloc(n->npools * (size_t)nslots, sizeof *b.free_units);
    b.pfree = cpn_calloc(n->nclusters * (size_t)nslots, sizeof *b.pfree);
    for (size_t p = 0; p < n->npools; p++)
        for (int32_t t = 0; t < nslots; t++)
            b.free_units[p * (size_t)nslots + t] = n->pools[p].units;
    for (size_t c = 0; c < n->nclusters; c++)
        for (int32_t t = 0; t < nslots; t++)
            b.pfree[c * (size_t)nslots + t] = n->clusters[c].power_cap_kw;
    e = mk_engine(n, s, policy, nslots);
    for (int i = 0; i < 10; i++) {
        struct cpn_job j;
        char id[16];
        struct bf_choice bc;
        struct cpn_placement p;
        struct cpn_error err = { 0 };
        int64_t earliest = T0 + (int64_t)cpn_rng_below(rng, (uint64_t)nslots / 2) * SLOT;
        int64_t dur =
            (int64_t)(1 + cpn_rng_below(rng, 4)) * SLOT - (int64_t)cpn_rng_below(rng, 2) * SLOT / 3;
        int64_t deadline = cpn_rng_below(rng, 3) == 0
                               ? CPN_NO_DEADLINE
                               : earliest + dur + (int64_t)cpn_rng_below(rng, 12) * SLOT;
        bool have, got;
        snprintf(id, sizeof id, "j%d", i);
        j = tjob(id, (int)cpn_rng_below(rng, 2), 1 + (int64_t)cpn_rng_below(rng, 3), dur, earliest,
                 deadline);
        j.interruptible = cpn_rng_below(rng, 3) == 0;
        if (cpn_rng_below(rng, 4) == 0)
            j.max_rtt_ms = 10;
        if (cpn_rng_below(rng, 5) == 0)
            j.allowed_hubs = 1ull << cpn_rng_below(rng, 2);
        have = bf_decide(&b, &j, &bc);
        got = cpn_engine_decide(e, NULL, &j, T0, &p, NULL, &err) == 0;
        CHECK_MSG(have == got, "%s job %s: brute force %s, engine %s (%s)", policy, j.id,
                  have ? "places" : "rejects", got ? "places" : "rejects", err.msg);
        if (!have || !got)
            continue;
        (*compared)++;
        CHECK_MSG(fabs(p.objective - bc.obj) <= 1e-9 * fmax(1, fabs(bc.obj)),
                  "%s job %s: engine objective %.17g, brute force %.17g", policy, j.id, p.objective,
                  bc.obj);
        if (p.pool != bc.pool || p.start_slot != bc.start) {
            (*ties)++;
            CHECK_MSG(fabs(p.objective - bc.obj) <= 1e-9 * fmax(1, fabs(bc.obj)),
                      "%s job %s: different choice without a tie", policy, j.id);
        }
        CHECK(cpn_engine_commit(e, &j, &p) == 0);
        bf_commit(&b, &j, &p);
    }
    /* the engine's capacity state matches the brute force's */
    for (size_t p = 0; p < n->npools; p++)
        for (int32_t t = 0; t < nslots; t++)
            CHECK(cpn_engine_free_units(e, (int32_t)p, t) == b.free_units[p * (size_t)nslots + t]);
    cpn_engine_destroy(e);
    cpn_free(b.free_units);
    cpn_free(b.pfree);
    cpn_free(v);
    tsig_free(s);
    tnet_free(n);
}

static void test_differential_brute_force(void)
{
    static const char *const pols[] = { "nearest", "cheapest", "greenest-now", "green" };
    struct cpn_rng rng;
    int compared = 0, ties = 0;
    cpn_rng_seed(&rng, 20261123);
    for (int round = 0; round < 300; round++)
        differential_round(&rng, pols[round % 4], &compared, &ties);
    printf("# differential: %d decisions compared, %d equal-cost alternatives\n", compared, ties);
    CHECK(compared > 1000);
}

static void test_errors(void)
{
    struct cpn_network *n = two_clusters();
    struct cpn_engine_config cfg = { .net = n, .t0 = T0 + 1, .nslots = 96 };
    struct cpn_engine *e = NULL;
    struct cpn_error err = { 0 };
    struct cpn_policy pol;
    CHECK(cpn_policy_lookup("bogus", &pol) == -EINVAL);
    CHECK(cpn_policy_lookup("green", &cfg.policy) == 0);
    CHECK(cpn_engine_create(&cfg, &e, &err) == -EINVAL);
    CHECK_CONTAINS(err.msg, "multiple of the slot length");
    CHECK(e == NULL);
    cfg.t0 = T0;
    cfg.nslots = 0;
    CHECK(cpn_engine_create(&cfg, &e, &err) == -EINVAL);
    CHECK_CONTAINS(err.msg, "nslots");
    /* allocation failures: every one reported, nothing leaked (ASan checks the leak) */
    cfg.nslots = 96;
    for (long i = 0; i < 40; i++) {
        int rc;
        cpn_alloc_fail_after(i);
        rc = cpn_engine_create(&cfg, &e, &err);
        cpn_alloc_fail_after(-1);
        if (rc == 0) {
            cpn_engine_destroy(e);
            break;
        }
        CHECK_INT(rc, -ENOMEM);
    }
    tnet_free(n);
}

int main(void)
{
    T_RUN(test_policies_space);
    T_RUN(test_time_shift_and_interruptible);
    T_RUN(test_capacity_commit_release);
    T_RUN(test_power_cap_and_price_ceiling);
    T_RUN(test_explain_reasons);
    T_RUN(test_work_and_transfer);
    T_RUN(test_differential_brute_force);
    T_RUN(test_errors);
    return T_DONE("engine");
}
