/* SPDX-License-Identifier: Apache-2.0 */
/* The timeline search of one prepared pool, in one pass over the slots: a contiguous job's window
 * cost is a difference of prefix sums, its feasibility the distance to the last blocked slot; an
 * interruptible job takes the k cheapest free slots (partial selection). A pool free over its whole
 * span gets its zone's best choice, found once per decision for all such pools of the zone
 * (e->zbest). Costs are screened in double and near-ties decided exactly in long double, so ties
 * still go to the earliest start. */
#include <math.h>
#include <stdlib.h>

#include "engine_int.h"

#define POWER_EPS 1e-9

static int slot_cost_cmp(const struct cpn_slot_cost *a, const struct cpn_slot_cost *b)
{
    if (a->cost != b->cost)
        return a->cost < b->cost ? -1 : 1;
    return (a->t > b->t) - (a->t < b->t);
}

/* Partially orders v so that v[0..k) are the k smallest by (cost, slot). */
static void select_k(struct cpn_slot_cost *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2, i = lo, j;
        struct cpn_slot_cost pivot, tmp;
        /* median of three as pivot, moved to hi-1 */
        size_t a = lo, b = mid, c = hi - 1, m;
        if (slot_cost_cmp(&v[a], &v[b]) > 0) {
            m = a;
            a = b;
            b = m;
        }
        if (slot_cost_cmp(&v[b], &v[c]) > 0)
            b = slot_cost_cmp(&v[a], &v[c]) > 0 ? a : c;
        m = b;
        tmp = v[m];
        v[m] = v[hi - 1];
        v[hi - 1] = tmp;
        pivot = v[hi - 1];
        for (j = lo; j < hi - 1; j++) {
            if (slot_cost_cmp(&v[j], &pivot) < 0) {
                tmp = v[i];
                v[i] = v[j];
                v[j] = tmp;
                i++;
            }
        }
        tmp = v[i];
        v[i] = v[hi - 1];
        v[hi - 1] = tmp;
        if (i == k || i + 1 == k)
            return;
        if (i > k)
            hi = i;
        else
            lo = i + 1;
    }
}

static int slot_t_cmp(const void *a, const void *b)
{
    const struct cpn_slot_cost *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

/* Money and carbon of the chosen slots, from the sums of the per-slot series. */
static void finish_eval(const struct cpn_engine *e,
                        const struct cpn_job *job,
                        const struct cpn_pool *pool,
                        double kw,
                        long double obj_sum,
                        long double ci_sum,
                        long double price_sum,
                        struct eval *ev)
{
    double slot_h = (double)e->slot_s / 3600.0;
    double e_slot = kw * slot_h;
    double rental =
        (double)job->units * (double)pool->price_ucny_per_unit_h / 1e6 * ev->dur_s / 3600.0;
    double transfer = job->data_gb * (double)e->net->transfer_ucny_per_gb / 1e6;
    double elec = e_slot * (double)price_sum;
    double money = rental + elec + transfer;
    ev->energy_kwh = kw * ev->dur_s / 3600.0;
    ev->carbon_kg = e_slot * (double)ci_sum / 1000.0;
    ev->cost_ucny = llround(money * 1e6);
    ev->objective = e_slot * (double)obj_sum + e->pol.money_weight * (rental + transfer);
}

/* Zone z's best contiguous window of k slots starting in [r, last] with the last slot at wl,
 * ignoring capacity, in e->zbest[z]: found once per decision for all the pools of the zone. */
static void
zone_window(struct cpn_engine *e, int32_t z, int32_t k, int32_t r, int32_t last, double wl)
{
    size_t n = (size_t)e->nslots;
    const long double *op = e->obj_pre + (size_t)z * (n + 1);
    const double *opd = e->obj_pre_d + (size_t)z * (n + 1);
    const double *ov = e->obj + (size_t)z * n;
    struct zone_best *zb = &e->zbest[z];
    int32_t best_s = -1;
    long double best_cost = 0;
    double best_d = 0;
    if (zb->stamp == e->stamp && zb->k == k && zb->r == r && zb->last == last && zb->wlast == wl)
        return;
    /* Screen in double (prefix sums rounded to double: ~1e-15 relative error), and decide
     * near-ties exactly in long double, so ties still go to the earliest start. */
    for (int32_t s0 = r; s0 <= last; s0++) {
        double cd = opd[s0 + k - 1] - opd[s0] + wl * ov[s0 + k - 1];
        if (best_s >= 0 && cd > best_d + 1e-9 * (fabs(best_d) + 1))
            continue;
        {
            long double cost = op[s0 + k - 1] - op[s0] + (long double)wl * ov[s0 + k - 1];
            if (best_s < 0 || (!eng_tie((double)cost, (double)best_cost) && cost < best_cost)) {
                best_s = s0;
                best_cost = cost;
                best_d = cd;
            }
        }
    }
    zb->stamp = e->stamp;
    zb->k = k;
    zb->r = r;
    zb->last = last;
    zb->wlast = wl;
    zb->s = best_s;
    zb->cost = best_cost;
}

/* Best contiguous window of pool p in [r, last]; fills ev or returns the reason. */
enum cpn_why eng_scan_contiguous(struct cpn_engine *e,
                                 const struct cpn_job *job,
                                 int32_t p,
                                 int32_t r,
                                 int32_t last,
                                 double kw,
                                 struct eval *ev)
{
    const struct cpn_pool *pool = &e->net->pools[p];
    int32_t c = pool->cluster, k = ev->k, z = e->net->clusters[c].zone;
    size_t n = (size_t)e->nslots;
    const int64_t *row = e->unlimited[p] ? NULL : eng_free_row(e, p);
    const double *prow = e->capped[c] ? eng_power_row(e, c) : NULL;
    const long double *op = e->obj_pre + (size_t)z * (n + 1);
    const double *ov = e->obj + (size_t)z * n;
    int32_t last_bad = r - 1, best_s = -1, hi = last + k;
    long double best_cost = 0;
    bool cap_blocked = false, pow_blocked = false, blocked = false;
    struct zone_best *zb = &e->zbest[z];
    const double *opd = e->obj_pre_d + (size_t)z * (n + 1);
    double best_d = 0;
    /* A pool whose span is free everywhere has its zone's best window: find it once per
     * decision for all such pools of the zone (same k, fraction and span for every pool). */
    for (int32_t t = r; t < hi && !blocked; t++)
        blocked = (row && row[t] < job->units) || (prow && prow[t] + POWER_EPS < kw);
    if (!blocked) {
        if (!e->pol.shift_time) {
            best_s = r;
            best_cost = op[r + k - 1] - op[r] + (long double)ev->wlast * ov[r + k - 1];
        } else {
            zone_window(e, z, k, r, last, ev->wlast);
            best_s = zb->s;
            best_cost = zb->cost;
        }
    }
    for (int32_t t = r; blocked && t < hi; t++) {
        int32_t s = t - k + 1;
        long double cost;
        double cd;
        if (row && row[t] < job->units) {
            last_bad = t;
            cap_blocked = true;
        } else if (prow && prow[t] + POWER_EPS < kw) {
            last_bad = t;
            pow_blocked = true;
        }
        if (s < r || last_bad >= s)
            continue;
        cd = opd[s + k - 1] - opd[s] + ev->wlast * ov[s + k - 1];
        if (best_s >= 0 && cd > best_d + 1e-9 * (fabs(best_d) + 1))
            continue; /* screened in double; near-ties are decided exactly below */
        cost = op[s + k - 1] - op[s] + (long double)ev->wlast * ov[s + k - 1];
        if (best_s < 0) {
            best_s = s;
            best_cost = cost;
            best_d = cd;
            if (!e->pol.shift_time)
                break;
            continue;
        }
        if (!eng_tie((double)cost, (double)best_cost) && cost < best_cost) {
            best_s = s;
            best_cost = cost;
            best_d = cd;
        }
    }
    if (best_s < 0)
        return pow_blocked && !cap_blocked ? CPN_WHY_POWER : CPN_WHY_CAPACITY;
    {
        const long double *cp = e->ci_pre + (size_t)z * (n + 1);
        const long double *pp = e->price_pre + (size_t)z * (n + 1);
        const double *cv = e->ci + (size_t)z * n, *pv = e->price + (size_t)z * n;
        int32_t l = best_s + k - 1;
        ev->start = best_s;
        ev->last = l;
        finish_eval(e, job, pool, kw, best_cost,
                    cp[l] - cp[best_s] + (long double)ev->wlast * cv[l],
                    pp[l] - pp[best_s] + (long double)ev->wlast * pv[l], ev);
    }
    return CPN_WHY_OK;
}

/* Sums of the series of zone z over the chosen slots v[0..k) into *o. */
static void sum_pick(const struct cpn_engine *e,
                     int32_t z,
                     const struct cpn_slot_cost *v,
                     int32_t k,
                     double wl,
                     struct slot_pick *o)
{
    size_t n = (size_t)e->nslots;
    const double *ov = e->obj + (size_t)z * n, *cv = e->ci + (size_t)z * n,
                 *pv = e->price + (size_t)z * n;
    long double os = 0, cs = 0, ps = 0;
    double dearest = ov[v[0].t];
    int32_t tmax = -1, tmin = INT32_MAX;
    for (int32_t i = 0; i < k; i++) {
        int32_t t = v[i].t;
        os += ov[t];
        cs += cv[t];
        ps += pv[t];
        if (t > tmax)
            tmax = t;
        if (t < tmin)
            tmin = t;
        if (ov[t] > dearest)
            dearest = ov[t];
    }
    o->lb = os - (long double)(1.0 - wl) * dearest;
    /* the last slot in time runs only the remaining fraction */
    o->os = os - (long double)(1.0 - wl) * ov[tmax];
    o->cs = cs - (long double)(1.0 - wl) * cv[tmax];
    o->ps = ps - (long double)(1.0 - wl) * pv[tmax];
    o->tmin = tmin;
    o->tmax = tmax;
}

/* Zone z's k cheapest slots of [r, D) with the last at wl, ignoring capacity, in e->zbest[z]:
 * found once per decision for all the pools of the zone. With filled, e->slots already holds
 * every slot of [r, D) in order. */
static const struct slot_pick *
zone_slots(struct cpn_engine *e, int32_t z, int32_t k, int32_t r, int32_t D, double wl, bool filled)
{
    struct zone_best *zb = &e->zbest[z];
    struct cpn_slot_cost *v = e->slots;
    const double *ov = e->obj + (size_t)z * (size_t)e->nslots;
    if (zb->istamp == e->stamp && zb->ik == k && zb->ir == r && zb->iend == D && zb->iwlast == wl)
        return &zb->pick;
    if (!filled) {
        for (int32_t t = r; t < D; t++) {
            v[t - r].cost = ov[t];
            v[t - r].t = t;
        }
    }
    if (D - r > k)
        select_k(v, (size_t)(D - r), (size_t)k);
    sum_pick(e, z, v, k, wl, &zb->pick);
    zb->istamp = e->stamp;
    zb->ik = k;
    zb->ir = r;
    zb->iend = D;
    zb->iwlast = wl;
    return &zb->pick;
}

/* The k cheapest free slots of pool p in [r, D) (the first k when the policy does not shift in
 * time). With runs != NULL, also writes the chosen slots as runs and their count. */
enum cpn_why eng_scan_slots(struct cpn_engine *e,
                            const struct cpn_job *job,
                            int32_t p,
                            int32_t r,
                            int32_t D,
                            double kw,
                            struct eval *ev,
                            uint32_t *nruns)
{
    const struct cpn_pool *pool = &e->net->pools[p];
    int32_t c = pool->cluster, k = ev->k, z = e->net->clusters[c].zone;
    size_t n = (size_t)e->nslots, cnt = 0;
    const int64_t *row = e->unlimited[p] ? NULL : eng_free_row(e, p);
    const double *prow = e->capped[c] ? eng_power_row(e, c) : NULL;
    const double *ov = e->obj + (size_t)z * n;
    bool cap_blocked = false, pow_blocked = false;
    struct slot_pick own;
    const struct slot_pick *pk = &own;
    struct cpn_slot_cost *v = e->slots;
    for (int32_t t = r; t < D; t++) {
        if (row && row[t] < job->units) {
            cap_blocked = true;
            continue;
        }
        if (prow && prow[t] + POWER_EPS < kw) {
            pow_blocked = true;
            continue;
        }
        v[cnt].cost = ov[t];
        v[cnt].t = t;
        cnt++;
        if (!e->pol.shift_time && cnt == (size_t)k)
            break;
    }
    if (cnt < (size_t)k)
        return pow_blocked && !cap_blocked ? CPN_WHY_POWER : CPN_WHY_CAPACITY;
    if (e->pol.shift_time && !nruns && cnt == (size_t)(D - r)) {
        pk = zone_slots(e, z, k, r, D, ev->wlast, true); /* free everywhere: the zone's pick */
    } else {
        if (e->pol.shift_time && cnt > (size_t)k)
            select_k(v, cnt, (size_t)k);
        sum_pick(e, z, v, k, ev->wlast, &own);
    }
    ev->start = pk->tmin;
    ev->last = pk->tmax;
    finish_eval(e, job, pool, kw, pk->os, pk->cs, pk->ps, ev);
    if (nruns) {
        uint32_t nr = 0;
        qsort(v, (size_t)k, sizeof *v, slot_t_cmp);
        for (int32_t i = 0; i < k; i++) {
            if (nr && e->runs[nr - 1].start + e->runs[nr - 1].len == v[i].t) {
                e->runs[nr - 1].len++;
            } else {
                e->runs[nr].start = v[i].t;
                e->runs[nr].len = 1;
                nr++;
            }
        }
        *nruns = nr;
    }
    return CPN_WHY_OK;
}
