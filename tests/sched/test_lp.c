/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the LP bound (cpn_lp_bound): exact cases against direct enumeration, fractional
 * capacity and power-cap cases worked by hand, a differential test against a brute-force integer
 * optimum on small random instances (the LP must be below it and above the bound without
 * capacity), infeasible jobs and allocation failures. Its speed is measured by `make bench` (the
 * quality run), not here. The cost model is re-implemented here from docs/engine.md, independently
 * of src/sched. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/sched.h"
#include "harness.h"

#define SLOT    900
#define T0      ((int64_t)1699999200) /* a multiple of SLOT */
#define MAXJ    8
#define NOPTMAX 20000
#define BIG     1e9

/* ---- instances built in memory ----------------------------------------------------------------
 */

struct inst {
    struct cpn_network *net;
    struct cpn_signals *sig;
    struct cpn_jobset js;
    int32_t nslots;
    struct cpn_policy pol;
    double *ci, *pr; /* per zone and slot, as written into the signals */
};

static struct cpn_network *net_new(int nclusters, int pools_per)
{
    struct cpn_network *n = cpn_calloc(1, sizeof *n);
    snprintf(n->name, sizeof n->name, "lp-test");
    n->slot_s = SLOT;
    n->transfer_gbps = 10;
    n->transfer_ucny_per_gb = 100000;
    n->nhubs = 1;
    n->nzones = (size_t)nclusters;
    n->nclusters = (size_t)nclusters;
    n->npools = (size_t)(nclusters * pools_per);
    n->nsites = 1;
    n->hubs = cpn_calloc(1, sizeof *n->hubs);
    n->zones = cpn_calloc(n->nzones, sizeof *n->zones);
    n->clusters = cpn_calloc(n->nclusters, sizeof *n->clusters);
    n->pools = cpn_calloc(n->npools, sizeof *n->pools);
    n->sites = cpn_calloc(1, sizeof *n->sites);
    n->rtt_ms = cpn_calloc(n->nclusters, sizeof *n->rtt_ms);
    snprintf(n->hubs[0].id, sizeof n->hubs[0].id, "h0");
    snprintf(n->sites[0].id, sizeof n->sites[0].id, "s0");
    for (int c = 0; c < nclusters; c++) {
        struct cpn_cluster *cl = &n->clusters[c];
        snprintf(cl->id, sizeof cl->id, "c%d", c);
        snprintf(n->zones[c].id, sizeof n->zones[c].id, "z%d", c);
        n->zones[c].grid_gco2_per_kwh = 500;
        for (int h = 0; h < 24; h++)
            n->zones[c].price_cny_per_kwh[h] = 0.5;
        cl->zone = c;
        cl->pue = 1.0;
        cl->pool_first = c * pools_per;
        cl->pool_count = pools_per;
        n->rtt_ms[c] = 1.0;
        for (int q = 0; q < pools_per; q++) {
            struct cpn_pool *p = &n->pools[c * pools_per + q];
            snprintf(p->id, sizeof p->id, "p%d", q);
            p->cluster = c;
            p->cls = CPN_CLASS_INTELLIGENT;
            snprintf(p->device, sizeof p->device, "A");
            p->units = 4;
            p->tflops_per_unit = 100;
            p->watts_busy = 1000;
            p->price_ucny_per_unit_h = 1000000;
        }
    }
    return n;
}

static void net_free(struct cpn_network *n)
{
    if (!n)
        return;
    cpn_free(n->hubs);
    cpn_free(n->zones);
    cpn_free(n->clusters);
    cpn_free(n->pools);
    cpn_free(n->sites);
    cpn_free(n->rtt_ms);
    cpn_free(n);
}

static void
set_series(struct cpn_signals *sig, size_t z, enum cpn_signal_kind k, const double *v, int32_t n)
{
    struct cpn_series *s = &sig->actual[z * CPN_SIG_COUNT + k];
    s->t0 = T0;
    s->step_s = SLOT;
    s->n = (size_t)n;
    s->v = cpn_calloc((size_t)n, sizeof *s->v);
    memcpy(s->v, v, (size_t)n * sizeof *v);
    snprintf(s->source, sizeof s->source, "test");
}

/* An instance with nclusters x pools_per pools and the given signals (NULL: constant). */
static void inst_init(struct inst *in, int nclusters, int pools_per, int32_t nslots)
{
    memset(in, 0, sizeof *in);
    in->net = net_new(nclusters, pools_per);
    in->nslots = nslots;
    in->ci = cpn_calloc((size_t)nclusters * (size_t)nslots, sizeof *in->ci);
    in->pr = cpn_calloc((size_t)nclusters * (size_t)nslots, sizeof *in->pr);
    for (size_t i = 0; i < (size_t)nclusters * (size_t)nslots; i++) {
        in->ci[i] = 500;
        in->pr[i] = 0.5;
    }
    in->js.cap = 4096;
    in->js.v = cpn_calloc(in->js.cap, sizeof *in->js.v);
    cpn_policy_lookup("optimal", &in->pol);
}

/* Writes in->ci / in->pr into a fresh signal set. */
static void inst_signals(struct inst *in)
{
    cpn_signals_destroy(in->sig);
    in->sig = NULL;
    CHECK_INT(cpn_signals_create(in->net, &in->sig), 0);
    for (size_t z = 0; z < in->net->nzones; z++) {
        set_series(in->sig, z, CPN_SIG_CI, in->ci + z * (size_t)in->nslots, in->nslots);
        set_series(in->sig, z, CPN_SIG_PRICE, in->pr + z * (size_t)in->nslots, in->nslots);
    }
}

static void inst_free(struct inst *in)
{
    cpn_signals_destroy(in->sig);
    net_free(in->net);
    cpn_free(in->js.v);
    cpn_free(in->ci);
    cpn_free(in->pr);
}

static struct cpn_job *
add_job(struct inst *in, int64_t units, int64_t dur_s, int64_t earliest, int64_t deadline)
{
    struct cpn_job *j = &in->js.v[in->js.n];
    memset(j, 0, sizeof *j);
    snprintf(j->id, sizeof j->id, "j%zu", in->js.n);
    snprintf(j->tenant, sizeof j->tenant, "t");
    j->data_site = -1;
    j->cls = CPN_CLASS_INTELLIGENT;
    j->units = units;
    j->duration_s = dur_s;
    j->earliest_s = earliest;
    j->submit_s = earliest;
    j->deadline_s = deadline;
    in->js.n++;
    return j;
}

static int solve(struct inst *in, struct cpn_lp_result *r)
{
    struct cpn_error err;
    int rc;
    memset(&err, 0, sizeof err);
    rc = cpn_lp_bound(in->net, in->sig, &in->js, &in->pol, T0, in->nslots, r, &err);
    if (rc)
        fprintf(stderr, "  cpn_lp_bound: %d %s\n", rc, err.msg);
    return rc;
}

/* ---- the cost model of docs/engine.md, written out again --------------------------------------
 */

/* One feasible pool of a job with its constants. */
struct topt {
    int pool, cluster, zone, k;
    double w, e_kwh, kw, fixed_money, ceiling;
    int lo, hi; /* contiguous: starts [lo, hi]; interruptible: slots [lo, hi) */
};

static double rate(const struct inst *in, int z, int t)
{
    size_t i = (size_t)z * (size_t)in->nslots + (size_t)t;
    return in->pol.money_weight * in->pr[i] + in->pol.carbon_cny_per_kg * in->ci[i] / 1000.0;
}

/* Objective and money of a slot set (sorted; the last one carries the weight w). */
static void set_cost(const struct inst *in,
                     const struct topt *o,
                     const int *slots,
                     int k,
                     double *obj,
                     double *money)
{
    double m = o->fixed_money, carbon = 0;
    for (int i = 0; i < k; i++) {
        size_t at = (size_t)o->zone * (size_t)in->nslots + (size_t)slots[i];
        double e = o->e_kwh * (i == k - 1 ? o->w : 1.0);
        m += e * in->pr[at];
        carbon += e * in->ci[at] / 1000.0;
    }
    *money = m;
    *obj = in->pol.money_weight * m + in->pol.carbon_cny_per_kg * carbon;
}

static bool ceiling_ok(const struct topt *o, double money)
{
    return o->ceiling <= 0 || money * 1e6 <= o->ceiling * 1e6 + 0.5;
}

/* Feasible pools of job j; returns their count. */
static int job_opts(const struct inst *in, const struct cpn_job *j, struct topt *out)
{
    const struct cpn_network *net = in->net;
    int n = 0;
    double tr = j->data_gb > 0 ? j->data_gb * 8.0 / net->transfer_gbps : 0;
    double rel =
        ((double)(j->earliest_s > j->submit_s ? j->earliest_s : j->submit_s) - (double)T0 + tr) /
        SLOT;
    int r = rel <= 0 ? 0 : (int)ceil(rel - 1e-9);
    for (size_t p = 0; p < net->npools; p++) {
        const struct cpn_pool *pool = &net->pools[p];
        const struct cpn_cluster *cl = &net->clusters[pool->cluster];
        struct topt o;
        double dur = (double)j->duration_s;
        memset(&o, 0, sizeof o);
        if (pool->cls != (enum cpn_class)j->cls || j->units > pool->units)
            continue;
        if (j->device[0] && strcmp(j->device, pool->device) != 0)
            continue;
        if (j->max_rtt_ms > 0 && net->rtt_ms[pool->cluster] > j->max_rtt_ms)
            continue;
        if (j->n_allowed) {
            bool ok = false;
            for (uint32_t a = 0; a < j->n_allowed; a++)
                ok = ok || in->js.allowed[j->allowed_off + a] == pool->cluster;
            if (!ok)
                continue;
        }
        o.pool = (int)p;
        o.cluster = pool->cluster;
        o.zone = cl->zone;
        o.k = (int)ceil(dur / SLOT - 1e-9);
        o.w = dur / SLOT - (o.k - 1);
        o.kw = (double)j->units * pool->watts_busy * cl->pue / 1000.0;
        if (cl->power_cap_kw > 0 && o.kw > cl->power_cap_kw)
            continue;
        o.e_kwh = o.kw * SLOT / 3600.0;
        o.fixed_money =
            (double)j->units * (double)pool->price_ucny_per_unit_h / 1e6 * dur / 3600.0 +
            j->data_gb * (double)net->transfer_ucny_per_gb / 1e6;
        o.ceiling = (double)j->price_ceiling_ucny / 1e6;
        o.lo = r;
        if (!j->interruptible) {
            int last = in->nslots - o.k;
            if (j->deadline_s != CPN_NO_DEADLINE) {
                int ls = (int)floor(((double)(j->deadline_s - T0) - dur) / SLOT + 1e-9);
                if (ls < last)
                    last = ls;
            }
            o.hi = last;
            if (o.hi < o.lo)
                continue;
        } else {
            int D = in->nslots;
            if (j->deadline_s != CPN_NO_DEADLINE) {
                int d = (int)floor((double)(j->deadline_s - T0) / SLOT + 1e-9);
                if (d < D)
                    D = d;
            }
            o.hi = D;
            if (o.hi - o.lo < o.k)
                continue;
        }
        out[n++] = o;
    }
    return n;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Least objective (or money, with money = true) of k slots of [lo, hi) of an interruptible
 * option, the last in time at weight w: over the last slot l, its cost at weight w plus the k - 1
 * cheapest slots before it. */
static double best_set(const struct inst *in, const struct topt *o, bool money)
{
    double best = INFINITY, v[4096];
    for (int l = o->lo + o->k - 1; l < o->hi; l++) {
        double s = 0;
        int n = 0;
        for (int t = o->lo; t < l; t++) {
            size_t at = (size_t)o->zone * (size_t)in->nslots + (size_t)t;
            v[n++] = money ? o->e_kwh * in->pr[at] : o->e_kwh * rate(in, o->zone, t);
        }
        qsort(v, (size_t)n, sizeof *v, dcmp);
        for (int q = 0; q < o->k - 1; q++)
            s += v[q];
        s += o->w * o->e_kwh *
             (money ? in->pr[(size_t)o->zone * (size_t)in->nslots + (size_t)l]
                    : rate(in, o->zone, l));
        if (s < best)
            best = s;
    }
    return best;
}

/* The job's cheapest option when capacity is ignored. An interruptible job's price ceiling is
 * checked against its least-money set of slots, as the LP does. INFINITY when it has none. */
static double free_best(const struct inst *in, const struct cpn_job *j)
{
    struct topt o[16];
    int no = job_opts(in, j, o);
    double best = INFINITY;
    for (int i = 0; i < no; i++) {
        if (!j->interruptible) {
            for (int s = o[i].lo; s <= o[i].hi; s++) {
                int slots[64];
                double obj, money;
                for (int q = 0; q < o[i].k; q++)
                    slots[q] = s + q;
                set_cost(in, &o[i], slots, o[i].k, &obj, &money);
                if (ceiling_ok(&o[i], money) && obj < best)
                    best = obj;
            }
        } else {
            double c;
            if (!ceiling_ok(&o[i], o[i].fixed_money + best_set(in, &o[i], true)))
                continue;
            c = in->pol.money_weight * o[i].fixed_money + best_set(in, &o[i], false);
            if (c < best)
                best = c;
        }
    }
    return best;
}

/* ---- brute force: the integer optimum by branch and bound --------------------------------------
 */

struct bopt {
    double cost;
    int pool, cluster;
    double units, kw;
    uint32_t mask; /* occupied slots */
};

struct brute {
    const struct inst *in;
    int nj;
    struct bopt *opts[MAXJ];
    int nopt[MAXJ];
    double restmin[MAXJ + 1];
    double use[8][32], pw[8][32];
    double best;
    long nodes;
};

static int bopt_cmp(const void *a, const void *b)
{
    const struct bopt *x = a, *y = b;
    return (x->cost > y->cost) - (x->cost < y->cost);
}

static void push_opt(struct brute *b, int j, const struct topt *o, const int *slots, int k)
{
    double obj, money;
    struct bopt *bo;
    set_cost(b->in, o, slots, k, &obj, &money);
    if (!ceiling_ok(o, money) || b->nopt[j] >= NOPTMAX)
        return;
    bo = &b->opts[j][b->nopt[j]++];
    bo->cost = obj;
    bo->pool = o->pool;
    bo->cluster = o->cluster;
    bo->units = (double)b->in->js.v[j].units;
    bo->kw = o->kw;
    bo->mask = 0;
    for (int i = 0; i < k; i++)
        bo->mask |= 1u << slots[i];
}

/* All k-subsets of [lo, hi) in increasing order. */
static void subsets(struct brute *b, int j, const struct topt *o, int *slots, int depth, int from)
{
    if (depth == o->k) {
        push_opt(b, j, o, slots, o->k);
        return;
    }
    for (int t = from; t < o->hi; t++) {
        slots[depth] = t;
        subsets(b, j, o, slots, depth + 1, t + 1);
    }
}

static bool fits(const struct brute *b, const struct bopt *o)
{
    const struct cpn_network *net = b->in->net;
    double cap = net->clusters[o->cluster].power_cap_kw;
    for (int t = 0; t < b->in->nslots; t++) {
        if (!(o->mask >> t & 1u))
            continue;
        if (b->use[o->pool][t] + o->units > (double)net->pools[o->pool].units + 1e-9)
            return false;
        if (cap > 0 && b->pw[o->cluster][t] + o->kw > cap + 1e-9)
            return false;
    }
    return true;
}

static void apply(struct brute *b, const struct bopt *o, double sign)
{
    for (int t = 0; t < b->in->nslots; t++) {
        if (o->mask >> t & 1u) {
            b->use[o->pool][t] += sign * o->units;
            b->pw[o->cluster][t] += sign * o->kw;
        }
    }
}

static void bb(struct brute *b, int j, double cost)
{
    b->nodes++;
    if (j == b->nj) {
        if (cost < b->best)
            b->best = cost;
        return;
    }
    if (cost + b->restmin[j] >= b->best)
        return;
    for (int i = 0; i < b->nopt[j]; i++) {
        const struct bopt *o = &b->opts[j][i];
        if (cost + o->cost + b->restmin[j + 1] >= b->best)
            break;
        if (!fits(b, o))
            continue;
        apply(b, o, 1);
        bb(b, j + 1, cost + o->cost);
        apply(b, o, -1);
    }
    bb(b, j + 1, cost + BIG);
}

/* The integer optimum with BIG per unplaced job. */
static double brute_force(const struct inst *in, long *nodes)
{
    struct brute b;
    memset(&b, 0, sizeof b);
    b.in = in;
    b.nj = (int)in->js.n;
    b.best = INFINITY;
    for (int j = 0; j < b.nj; j++) {
        const struct cpn_job *job = &in->js.v[j];
        struct topt o[16];
        int no = job_opts(in, job, o), slots[32];
        b.opts[j] = calloc(NOPTMAX, sizeof *b.opts[j]);
        for (int i = 0; i < no; i++) {
            if (job->interruptible) {
                subsets(&b, j, &o[i], slots, 0, o[i].lo);
                continue;
            }
            for (int s = o[i].lo; s <= o[i].hi; s++) {
                for (int q = 0; q < o[i].k; q++)
                    slots[q] = s + q;
                push_opt(&b, j, &o[i], slots, o[i].k);
            }
        }
        qsort(b.opts[j], (size_t)b.nopt[j], sizeof *b.opts[j], bopt_cmp);
    }
    for (int j = b.nj - 1; j >= 0; j--)
        b.restmin[j] = b.restmin[j + 1] + (b.nopt[j] ? b.opts[j][0].cost : BIG);
    bb(&b, 0, 0);
    for (int j = 0; j < b.nj; j++)
        free(b.opts[j]);
    *nodes = b.nodes;
    return b.best;
}

/* ---- tests
 * ----------------------------------------------------------------------------------------- */

/* One job, one unlimited pool: the bound is the best window, exactly. */
static void test_single_job_exact(void)
{
    struct inst in;
    struct cpn_rng rng;
    struct cpn_lp_result r;
    struct topt o;
    double best = INFINITY, bm = 0;
    int32_t n = 96;
    inst_init(&in, 1, 1, n);
    cpn_rng_seed(&rng, 7);
    for (int t = 0; t < n; t++) {
        in.ci[t] = 300 + 400 * cpn_rng_uniform(&rng);
        in.pr[t] = 0.3 + 0.9 * cpn_rng_uniform(&rng);
    }
    inst_signals(&in);
    in.net->pools[0].units = CPN_UNLIMITED;
    in.net->clusters[0].pue = 1.2;
    add_job(&in, 8, 5 * SLOT / 2, T0 + 5 * SLOT + 100, T0 + 60 * SLOT);
    CHECK_INT(job_opts(&in, &in.js.v[0], &o), 1);
    CHECK_INT(o.lo, 6);
    for (int s = o.lo; s <= o.hi; s++) {
        int slots[3] = { s, s + 1, s + 2 };
        double obj, money;
        set_cost(&in, &o, slots, 3, &obj, &money);
        if (obj < best) {
            best = obj;
            bm = money;
        }
    }
    CHECK_INT(solve(&in, &r), 0);
    CHECK_NEAR(r.objective, best, 1e-9 * fabs(best));
    CHECK_NEAR(r.cost_cny, bm, 1e-9 * fabs(bm));
    CHECK_NEAR(r.energy_kwh, 8 * 1.0 * 1.2 * 2.5 * 0.25, 1e-9);
    CHECK_NEAR(r.placed, 1.0, 1e-12);
    CHECK_INT(r.infeasible, 0);
    CHECK(r.iterations >= 1);
    /* an interruptible job of whole slots: exactly its k cheapest slots */
    in.js.v[0].interruptible = true;
    in.js.v[0].duration_s = 3 * SLOT;
    {
        double v[96], s = 0;
        int m = 0;
        for (int t = o.lo; t < 60; t++)
            v[m++] = rate(&in, 0, t) * 8 * 1.2 * 0.25;
        qsort(v, (size_t)m, sizeof *v, dcmp);
        s = v[0] + v[1] + v[2] + 8 * 1.0 * 3 * 0.25;
        CHECK_INT(solve(&in, &r), 0);
        CHECK_NEAR(r.objective, s, 1e-9 * s);
        CHECK_NEAR(r.placed, 1.0, 1e-12);
        CHECK_NEAR(r.energy_kwh, 8 * 1.2 * 3 * 0.25, 1e-9);
    }
    /* and of 2.5 slots: the best set with its last slot at weight 0.5, as enumerated */
    in.js.v[0].duration_s = 5 * SLOT / 2;
    {
        double s = INFINITY;
        for (int a = o.lo; a < 60; a++)
            for (int b = a + 1; b < 60; b++)
                for (int c = b + 1; c < 60; c++) {
                    int slots[3] = { a, b, c };
                    double obj, money;
                    set_cost(&in, &o, slots, 3, &obj, &money);
                    if (obj < s)
                        s = obj;
                }
        CHECK_NEAR(free_best(&in, &in.js.v[0]), s, 1e-9 * s);
        CHECK_INT(solve(&in, &r), 0);
        CHECK_NEAR(r.objective, s, 1e-9 * s);
        CHECK_NEAR(r.energy_kwh, 8 * 1.2 * 2.5 * 0.25, 1e-9);
    }
    inst_free(&in);
}

/* Capacity cases worked by hand. */
static void test_capacity_fractional(void)
{
    struct inst in;
    struct cpn_lp_result r;
    double c[4];
    inst_init(&in, 1, 1, 4);
    in.net->pools[0].units = 1;
    in.ci[0] = 100;
    in.ci[1] = 200;
    in.ci[2] = 400;
    in.ci[3] = 800;
    inst_signals(&in);
    for (int t = 0; t < 4; t++)
        c[t] = 1.0 * 0.25 * rate(&in, 0, t) + 1.0 * 0.25; /* 1 kW x 0.25 h, rental 1 CNY/h */
    /* two 1-slot jobs, one unit: the cheap slot and the next */
    add_job(&in, 1, SLOT, T0, T0 + 4 * SLOT);
    add_job(&in, 1, SLOT, T0, T0 + 4 * SLOT);
    CHECK_INT(solve(&in, &r), 0);
    CHECK_NEAR(r.objective, c[0] + c[1], 1e-9);
    CHECK_NEAR(r.placed, 2.0, 1e-9);
    CHECK(r.rows > 2);
    /* three 2-unit jobs on 3 units over 2 slots: no integer placement of all three, but the LP
     * places 1.5 jobs in each slot */
    in.js.n = 0;
    in.net->pools[0].units = 3;
    for (int i = 0; i < 3; i++)
        add_job(&in, 2, SLOT, T0, T0 + 2 * SLOT);
    CHECK_INT(solve(&in, &r), 0);
    CHECK_NEAR(r.placed, 3.0, 1e-9);
    {
        double c2[2];
        for (int t = 0; t < 2; t++)
            c2[t] = 2.0 * 0.25 * rate(&in, 0, t) + 2.0 * 0.25;
        CHECK_NEAR(r.objective, 1.5 * c2[0] + 1.5 * c2[1], 1e-9);
        CHECK_NEAR(r.energy_kwh, 3 * 2 * 0.25, 1e-9);
    }
    inst_free(&in);
}

/* The power cap binds: only 1.5 jobs' power fits in the cheap slot. */
static void test_power_cap(void)
{
    struct inst in;
    struct cpn_lp_result r;
    double c[3];
    inst_init(&in, 1, 1, 3);
    in.net->pools[0].units = CPN_UNLIMITED;
    in.net->clusters[0].power_cap_kw = 3.0; /* each job: 2 units x 1 kW */
    in.ci[0] = 100;
    in.ci[1] = 300;
    in.ci[2] = 900;
    inst_signals(&in);
    for (int t = 0; t < 3; t++)
        c[t] = 2.0 * 0.25 * rate(&in, 0, t) + 2.0 * 0.25;
    add_job(&in, 2, SLOT, T0, CPN_NO_DEADLINE);
    add_job(&in, 2, SLOT, T0, CPN_NO_DEADLINE);
    CHECK_INT(solve(&in, &r), 0);
    CHECK_NEAR(r.objective, 1.5 * c[0] + 0.5 * c[1], 1e-9);
    CHECK_NEAR(r.placed, 2.0, 1e-9);
    CHECK(r.rows >= 3); /* two job rows and at least the power row of slot 0 */
    /* without the cap both take the cheap slot */
    in.net->clusters[0].power_cap_kw = 0;
    CHECK_INT(solve(&in, &r), 0);
    CHECK_NEAR(r.objective, 2 * c[0], 1e-9);
    /* a cap below one job's power makes the job infeasible */
    in.net->clusters[0].power_cap_kw = 1.5;
    CHECK_INT(solve(&in, &r), 0);
    CHECK_INT(r.infeasible, 2);
    CHECK_NEAR(r.placed, 0, 1e-12);
    CHECK_NEAR(r.objective, 0, 1e-12);
    inst_free(&in);
}

/* Jobs with no feasible option are counted and left out. */
static void test_infeasible(void)
{
    struct inst in;
    struct cpn_lp_result r;
    struct cpn_job *j;
    inst_init(&in, 2, 1, 8);
    inst_signals(&in);
    add_job(&in, 1, SLOT, T0, CPN_NO_DEADLINE);     /* fine */
    j = add_job(&in, 1, SLOT, T0, CPN_NO_DEADLINE); /* no pool of its class */
    j->cls = CPN_CLASS_SUPER;
    add_job(&in, 1, 3 * SLOT, T0, T0 + 2 * SLOT);          /* deadline too close */
    add_job(&in, 1, SLOT, T0 + 8 * SLOT, CPN_NO_DEADLINE); /* released after the horizon */
    add_job(&in, 5, SLOT, T0, CPN_NO_DEADLINE);            /* larger than any pool */
    j = add_job(&in, 1, SLOT, T0, CPN_NO_DEADLINE);        /* device nobody has */
    snprintf(j->device, sizeof j->device, "a");
    j = add_job(&in, 1, SLOT, T0, CPN_NO_DEADLINE); /* latency */
    j->max_rtt_ms = 0.5;
    j = add_job(&in, 1, 4 * SLOT, T0, CPN_NO_DEADLINE); /* price ceiling below any window */
    j->price_ceiling_ucny = 1000000;
    j = add_job(&in, 1, 4 * SLOT, T0, CPN_NO_DEADLINE); /* interruptible, same ceiling */
    j->interruptible = true;
    j->price_ceiling_ucny = 1000000;
    CHECK_INT(solve(&in, &r), 0);
    CHECK_INT(r.infeasible, 8);
    CHECK_NEAR(r.placed, 1.0, 1e-12);
    CHECK_NEAR(r.objective, free_best(&in, &in.js.v[0]), 1e-9);
    /* an empty horizon: every job is infeasible */
    in.nslots = 0;
    CHECK_INT(solve(&in, &r), 0);
    CHECK_INT(r.infeasible, 9);
    CHECK_INT(r.columns, 0);
    inst_free(&in);
}

static void random_instance(struct inst *in, struct cpn_rng *g)
{
    int nc = 2 + (int)cpn_rng_below(g, 2), pp = 1 + (int)cpn_rng_below(g, 2);
    int32_t n = 12 + (int32_t)cpn_rng_below(g, 13);
    int nj = 4 + (int)cpn_rng_below(g, 5);
    inst_init(in, nc, pp, n);
    for (size_t i = 0; i < (size_t)nc * (size_t)n; i++) {
        in->ci[i] = 100 + 700 * cpn_rng_uniform(g);
        in->pr[i] = 0.2 + cpn_rng_uniform(g);
    }
    inst_signals(in);
    for (int c = 0; c < nc; c++) {
        in->net->clusters[c].pue = 1.1 + 0.4 * cpn_rng_uniform(g);
        in->net->rtt_ms[c] = 1 + 19 * cpn_rng_uniform(g);
        if (cpn_rng_below(g, 4) == 0)
            in->net->clusters[c].power_cap_kw = 1.0 + 2.0 * cpn_rng_uniform(g);
    }
    for (size_t p = 0; p < in->net->npools; p++) {
        struct cpn_pool *pool = &in->net->pools[p];
        pool->units = 2 + (int64_t)cpn_rng_below(g, 3);
        pool->watts_busy = 300 + 400 * cpn_rng_uniform(g);
        pool->price_ucny_per_unit_h = 500000 + (int64_t)cpn_rng_below(g, 5000000);
        pool->device[0] = cpn_rng_below(g, 2) ? 'A' : 'B';
    }
    for (int i = 0; i < nj; i++) {
        bool intr = cpn_rng_below(g, 10) < 3;
        int k = 1 + (int)cpn_rng_below(g, 3);
        int64_t frac = cpn_rng_below(g, 2) ? SLOT : (int64_t)(1 + cpn_rng_below(g, 3)) * SLOT / 4;
        int64_t dur = (k - 1) * SLOT + frac;
        int64_t e = T0 + (int64_t)cpn_rng_below(g, (uint64_t)n / 2) * SLOT;
        int64_t dl = e + dur + (int64_t)cpn_rng_below(g, 8) * SLOT;
        struct cpn_job *j;
        if (cpn_rng_below(g, 3) == 0)
            e += (int64_t)cpn_rng_below(g, SLOT);
        if (!intr && cpn_rng_below(g, 5) == 0)
            dl = CPN_NO_DEADLINE;
        if (intr)
            dl = e + (int64_t)(k + (int)cpn_rng_below(g, 9)) * SLOT;
        j = add_job(in, 1 + (int64_t)cpn_rng_below(g, 2), dur, e, dl);
        j->interruptible = intr;
        if (cpn_rng_below(g, 5) == 0)
            j->device[0] = 'B';
        if (cpn_rng_below(g, 5) == 0)
            j->max_rtt_ms = 10;
        if (cpn_rng_below(g, 5) == 0)
            j->data_gb = 50 + 100 * cpn_rng_uniform(g);
        if (cpn_rng_below(g, 8) == 0)
            j->price_ceiling_ucny = (int64_t)((1 + 4 * cpn_rng_uniform(g)) * 1e6);
    }
}

/* Differential: below the integer optimum, above the bound without capacity. */
static void test_differential(void)
{
    struct cpn_rng g;
    int allplaced = 0, gaps = 0;
    long nodes_total = 0;
    cpn_rng_seed(&g, 2024);
    for (int it = 0; it < 50; it++) {
        struct inst in;
        struct cpn_lp_result r;
        double integer, cfree = 0;
        size_t infeasible = 0;
        long nodes = 0;
        random_instance(&in, &g);
        for (size_t j = 0; j < in.js.n; j++) {
            double b = free_best(&in, &in.js.v[j]);
            if (isinf(b))
                infeasible++;
            else
                cfree += b;
        }
        integer = brute_force(&in, &nodes);
        nodes_total += nodes;
        CHECK_INT(solve(&in, &r), 0);
        CHECK_INT(r.infeasible, infeasible);
        /* the bound is below the LP solution, by at most the early-stop gap */
        CHECK_MSG(r.bound <= r.objective + 1e-9 * (1 + fabs(r.objective)) &&
                      r.bound >= r.objective - 1e-4 * fmax(1, fabs(r.objective)),
                  "instance %d: bound %.12g against LP objective %.12g", it, r.bound, r.objective);
        if (integer < BIG) {
            allplaced++;
            CHECK_MSG(r.bound <= integer + 1e-6 * (1 + fabs(integer)),
                      "instance %d: bound %.12g above the integer optimum %.12g", it, r.bound,
                      integer);
            CHECK_MSG(r.objective <= integer + 1e-4 * (1 + fabs(integer)),
                      "instance %d: LP %.12g above the integer optimum %.12g", it, r.objective,
                      integer);
            CHECK_NEAR(r.placed, (double)(in.js.n - infeasible), 1e-6);
            if (r.objective < integer - 1e-6 * (1 + fabs(integer)))
                gaps++;
        }
        if (getenv("LP_DEBUG") && r.objective < cfree - 1e-6) {
            size_t nall = in.js.n;
            for (size_t j = 0; j < nall; j++) {
                struct cpn_job keep = in.js.v[0];
                struct cpn_lp_result r1;
                in.js.v[0] = in.js.v[j];
                in.js.n = 1;
                solve(&in, &r1);
                printf("job %zu intr %d units %lld dur %lld e %lld dl %lld ceil %lld: lp %.9g free "
                       "%.9g\n",
                       j, in.js.v[0].interruptible, (long long)in.js.v[0].units,
                       (long long)in.js.v[0].duration_s, (long long)(in.js.v[0].earliest_s - T0),
                       in.js.v[0].deadline_s == CPN_NO_DEADLINE
                           ? -1LL
                           : (long long)(in.js.v[0].deadline_s - T0),
                       (long long)in.js.v[0].price_ceiling_ucny, r1.objective,
                       free_best(&in, &in.js.v[0]));
                in.js.v[0] = keep;
                in.js.n = nall;
            }
        }
        if (fabs(r.placed - (double)(in.js.n - infeasible)) < 1e-9)
            CHECK_MSG(r.objective >= cfree - 1e-6 * (1 + fabs(cfree)),
                      "instance %d: LP %.12g below the bound without capacity %.12g", it,
                      r.objective, cfree);
        inst_free(&in);
    }
    printf("  differential: %d of 50 instances place every feasible job, %d with an "
           "integrality gap, %ld branch-and-bound nodes\n",
           allplaced, gaps, nodes_total);
    CHECK(allplaced >= 25);
}

/* Every allocation failure gives -ENOMEM and leaks nothing (ASan checks the leaks). */
static void test_alloc_failures(void)
{
    struct inst in;
    struct cpn_lp_result r;
    struct cpn_rng g;
    int ok = 0;
    cpn_rng_seed(&g, 99);
    random_instance(&in, &g);
    for (long n = 0; n < 400; n++) {
        int rc;
        cpn_alloc_fail_after(n);
        rc = cpn_lp_bound(in.net, in.sig, &in.js, &in.pol, T0, in.nslots, &r, NULL);
        cpn_alloc_fail_after(-1);
        CHECK(rc == 0 || rc == -ENOMEM);
        if (rc == 0)
            ok++;
    }
    CHECK(ok > 0);
    inst_free(&in);
}

/* A larger instance, timed (printed, not asserted). */

int main(void)
{
    T_RUN(test_single_job_exact);
    T_RUN(test_capacity_fractional);
    T_RUN(test_power_cap);
    T_RUN(test_infeasible);
    T_RUN(test_differential);
    T_RUN(test_alloc_failures);
    return T_DONE("lp");
}
