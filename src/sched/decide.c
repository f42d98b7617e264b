/* SPDX-License-Identifier: Apache-2.0 */
/* The placement search. For one job it walks the candidate pools of the job's origin and class
 * (sorted by RTT, so a latency bound ends the walk), applies the hard constraints in a fixed order,
 * and finds each pool's best window in one pass over the slots: a contiguous job's window cost is a
 * difference of prefix sums, its feasibility the distance to the last blocked slot; an
 * interruptible job takes the k cheapest free slots (partial selection). The best pool wins by the
 * policy's rank; ties go to the earliest start, then the lower pool index. Nothing here changes a
 * commitment; cpn_engine_commit() does. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

#define TIE_REL   1e-12
#define POWER_EPS 1e-9

/* One pool's best option. */
struct eval {
    enum cpn_why why;
    int32_t pool;
    int32_t start; /* first slot */
    int32_t last;  /* last slot occupied */
    int32_t k;     /* slots */
    double dur_s;
    double wlast;
    double objective; /* CNY */
    double energy_kwh;
    double carbon_kg;
    int64_t cost_ucny;
    double rtt_ms;
    double transfer_s;
    int32_t r;        /* first slot the job may use */
    int32_t hi;       /* last start (contiguous) or end of window (interruptible) */
    int32_t span_end; /* end of the slots the job may occupy */
    double kw;        /* facility power */
};

/* A pool's lower bound in the search heap. */
struct lb_item {
    double lb;
    int32_t pool;
    uint32_t idx;
};

static bool lb_less(const struct lb_item *a, const struct lb_item *b)
{
    return a->lb < b->lb || (a->lb == b->lb && a->pool < b->pool);
}

static void heap_down(struct lb_item *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        struct lb_item t;
        if (l < n && lb_less(&h[l], &h[m]))
            m = l;
        if (l + 1 < n && lb_less(&h[l + 1], &h[m]))
            m = l + 1;
        if (m == i)
            return;
        t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static bool tie(double a, double b)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= TIE_REL * m;
}

/* Whether a beats b under the policy's rank. Both are feasible. */
static bool better(const struct cpn_engine *e, const struct eval *a, const struct eval *b)
{
    if (e->pol.rank == CPN_RANK_START_LATENCY) {
        if (a->start != b->start)
            return a->start < b->start;
        if (a->rtt_ms != b->rtt_ms)
            return a->rtt_ms < b->rtt_ms;
        return a->pool < b->pool;
    }
    if (!tie(a->objective, b->objective))
        return a->objective < b->objective;
    if (a->start != b->start)
        return a->start < b->start;
    return a->pool < b->pool;
}

static bool
residency_ok(const struct cpn_jobset *js, const struct cpn_job *job, int32_t hub, int32_t c)
{
    if (job->allowed_hubs && !(job->allowed_hubs & (1ull << hub)))
        return false;
    if (job->n_allowed) {
        if (!js)
            return false;
        for (uint32_t i = 0; i < job->n_allowed; i++)
            if (js->allowed[job->allowed_off + i] == c)
                return true;
        return false;
    }
    return true;
}

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

static int ensure_scratch(struct cpn_engine *e, size_t nslots)
{
    if (cpn_grow(&e->evals, &e->evals_cap, e->net->npools + 1, sizeof(struct eval)) ||
        cpn_grow(&e->heap, &e->heap_cap, e->net->npools + 1, sizeof(struct lb_item)))
        return -ENOMEM;
    if (cpn_grow(&e->slots, &e->slots_cap, nslots, sizeof *e->slots))
        return -ENOMEM;
    if (cpn_grow(&e->runs, &e->runs_cap, nslots, sizeof *e->runs))
        return -ENOMEM;
    return 0;
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
            if (best_s < 0 || (!tie((double)cost, (double)best_cost) && cost < best_cost)) {
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
static enum cpn_why scan_contiguous(struct cpn_engine *e,
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
        if (!tie((double)cost, (double)best_cost) && cost < best_cost) {
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
static enum cpn_why scan_slots(struct cpn_engine *e,
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

/* The job's window for a run time dur: slots k, first slot r, last start (contiguous) or end of
 * window (interruptible). The same for every pool when the duration does not depend on the pool. */
struct window {
    enum cpn_why why;
    int32_t k, r, hi, span_end;
    double dur, wlast, transfer_s;
};

static void job_window(const struct cpn_engine *e,
                       const struct cpn_job *job,
                       double dur,
                       int64_t release_t,
                       struct window *w)
{
    const struct cpn_network *net = e->net;
    int64_t rel, k;
    memset(w, 0, sizeof *w);
    w->why = CPN_WHY_DEADLINE;
    if (!(dur > 0) || !isfinite(dur) || dur > (double)e->nslots * (double)e->slot_s)
        return;
    k = (int64_t)ceil(dur / (double)e->slot_s - 1e-9);
    if (k < 1)
        k = 1;
    w->k = (int32_t)k;
    w->dur = dur;
    w->wlast = dur / (double)e->slot_s - (double)(k - 1);
    if (w->wlast > 1)
        w->wlast = 1;
    w->transfer_s =
        job->data_gb > 0 && net->transfer_gbps > 0 ? job->data_gb * 8.0 / net->transfer_gbps : 0;
    rel = release_t + (int64_t)ceil(w->transfer_s) - e->t0;
    rel = rel <= 0 ? 0 : (rel + e->slot_s - 1) / e->slot_s;
    if (rel >= e->nslots)
        return;
    w->r = (int32_t)rel;
    if (!job->interruptible) {
        int64_t last = e->nslots - k;
        if (job->deadline_s != CPN_NO_DEADLINE) {
            double ls = floor(((double)(job->deadline_s - e->t0) - dur) / (double)e->slot_s);
            if (ls < (double)last)
                last = ls < -1 ? -1 : (int64_t)ls;
        }
        if (last < w->r)
            return;
        w->hi = (int32_t)last;
        w->span_end = (int32_t)(last + k);
    } else {
        int64_t D = e->nslots;
        if (job->deadline_s != CPN_NO_DEADLINE) {
            int64_t d = cpn_floordiv(job->deadline_s - e->t0, e->slot_s);
            if (d < D)
                D = d;
        }
        if (D - w->r < k)
            return;
        w->hi = (int32_t)D;
        w->span_end = (int32_t)D;
    }
    w->why = CPN_WHY_OK;
}

/* The constraints that do not depend on the timelines, in order, and the job's window on pool p
 * (shared when the caller computed it once for every pool). CPN_WHY_OK when a search is due. */
static enum cpn_why prep_pool(const struct cpn_engine *e,
                              const struct cpn_jobset *js,
                              const struct cpn_job *job,
                              const struct eng_cand *cd,
                              int64_t release_t,
                              const struct window *shared,
                              struct eval *ev)
{
    const struct cpn_network *net = e->net;
    int32_t c = cd->cluster;
    struct window own;
    const struct window *w = shared;
    ev->pool = cd->pool;
    ev->why = CPN_WHY_OK;
    ev->rtt_ms = cd->rtt_ms;
    if (job->device[0] && strcmp(job->device, cd->device) != 0)
        return CPN_WHY_CLASS;
    if (job->min_tflops > 0 && cd->tflops_per_unit < job->min_tflops)
        return CPN_WHY_CLASS;
    if (!cd->unlimited && job->units > cd->units)
        return CPN_WHY_SIZE;
    if (job->max_rtt_ms > 0 && ev->rtt_ms > job->max_rtt_ms)
        return CPN_WHY_LATENCY;
    if (!residency_ok(js, job, cd->hub, c))
        return CPN_WHY_RESIDENCY;
    if (!e->up[c])
        return CPN_WHY_DOWN;
    if (!w) {
        job_window(e, job, cpn_job_duration_on(job, &net->pools[cd->pool]), release_t, &own);
        w = &own;
    }
    if (w->why != CPN_WHY_OK)
        return w->why;
    ev->k = w->k;
    ev->dur_s = w->dur;
    ev->wlast = w->wlast;
    ev->transfer_s = w->transfer_s;
    ev->r = w->r;
    ev->hi = w->hi;
    ev->span_end = w->span_end;
    ev->kw = cpn_job_power_kw(job, &net->pools[cd->pool], &net->clusters[c]);
    if (e->capped[c] && ev->kw > net->clusters[c].power_cap_kw)
        return CPN_WHY_POWER;
    return CPN_WHY_OK;
}

/* The timeline search of a prepared pool, then the price ceiling. */
static enum cpn_why
search_pool(struct cpn_engine *e, const struct cpn_job *job, struct eval *ev, uint32_t *nruns)
{
    if (!job->interruptible) {
        ev->why = scan_contiguous(e, job, ev->pool, ev->r, ev->hi, ev->kw, ev);
        if (ev->why == CPN_WHY_OK && nruns) {
            e->runs[0].start = ev->start;
            e->runs[0].len = ev->k;
            *nruns = 1;
        }
    } else {
        ev->why = scan_slots(e, job, ev->pool, ev->r, ev->hi, ev->kw, ev, nruns);
    }
    if (ev->why == CPN_WHY_OK && job->price_ceiling_ucny > 0 &&
        ev->cost_ucny > job->price_ceiling_ucny)
        ev->why = CPN_WHY_PRICE;
    return ev->why;
}

static enum cpn_why eval_pool(struct cpn_engine *e,
                              const struct cpn_jobset *js,
                              const struct cpn_job *job,
                              int32_t p,
                              int64_t release_t,
                              struct eval *ev,
                              uint32_t *nruns)
{
    struct eng_cand cd;
    eng_cand_fill(e, job->site, p, &cd);
    memset(ev, 0, sizeof *ev);
    ev->why = prep_pool(e, js, job, &cd, release_t, NULL, ev);
    if (ev->why != CPN_WHY_OK)
        return ev->why;
    return search_pool(e, job, ev, nruns);
}

/* A lower bound of a prepared pool's objective: every slot of its span costs at least the span's
 * cheapest slot (sparse-table range minimum), plus the fixed rental and transfer. */
static double lower_bound(const struct cpn_engine *e,
                          const struct cpn_job *job,
                          const struct eng_cand *cd,
                          const struct eval *ev)
{
    double fixed = e->pol.money_weight *
                   ((double)job->units * cd->price_ucny_per_unit_h / 1e6 * ev->dur_s / 3600.0 +
                    job->data_gb * (double)e->net->transfer_ucny_per_gb / 1e6);
    double e_slot = ev->kw * (double)e->slot_s / 3600.0;
    double m = eng_range_min(e, cd->zone, ev->r, ev->span_end);
    return fixed + e_slot * m * ((double)ev->k - 1.0 + ev->wlast);
}

/* Whether prepared pool pe provably cannot beat best: with its zone's optimum ignoring capacity
 * (no pool of the zone does better), when another pool of the zone has already found it in this
 * decision, its objective would still exceed the best by far more than a tie and the rounding.
 * Only for policies that shift in time (otherwise the zone's optimum is the earliest window, no
 * bound for a pool that must wait). */
static bool cannot_win(const struct cpn_engine *e,
                       const struct cpn_job *job,
                       const struct eval *pe,
                       const struct eval *best)
{
    const struct cpn_pool *pool = &e->net->pools[pe->pool];
    int32_t z = e->net->clusters[pool->cluster].zone;
    const struct zone_best *zb;
    long double sum;
    double e_slot, energy, fixed, lb;
    if (!e->pol.shift_time)
        return false;
    zb = &e->zbest[z];
    if (!job->interruptible) {
        if (zb->stamp != e->stamp || zb->k != pe->k || zb->r != pe->r || zb->last != pe->hi ||
            zb->wlast != pe->wlast)
            return false;
        sum = zb->cost;
    } else {
        if (zb->istamp != e->stamp || zb->ik != pe->k || zb->ir != pe->r || zb->iend != pe->hi ||
            zb->iwlast != pe->wlast)
            return false;
        sum = zb->pick.lb;
    }
    e_slot = pe->kw * ((double)e->slot_s / 3600.0);
    energy = e_slot * (double)sum;
    fixed = e->pol.money_weight *
            ((double)job->units * (double)pool->price_ucny_per_unit_h / 1e6 * pe->dur_s / 3600.0 +
             job->data_gb * (double)e->net->transfer_ucny_per_gb / 1e6);
    lb = energy + fixed;
    return lb - best->objective > 1e-9 * (fabs(energy) + fabs(fixed) + fabs(best->objective));
}

/* Removes and returns the least item of h[0..*hn) by (bound, pool), by a linear scan. */
static struct lb_item pop_least(struct lb_item *h, size_t *hn)
{
    size_t m = 0;
    struct lb_item top;
    for (size_t i = 1; i < *hn; i++)
        if (lb_less(&h[i], &h[m]))
            m = i;
    top = h[m];
    h[m] = h[--*hn];
    return top;
}

/* Keeps the items of h[0..hn) that can still be searched once b is the best objective, makes a
 * heap of them and returns their count. The best objective found later can exceed b only through
 * a chain of ties, each at most TIE_REL higher (at most one per pool), so an item whose bound is
 * 1e-6 relative above b would end the search before it is searched: dropping it changes nothing. */
static size_t prune_heapify(struct lb_item *h, size_t hn, bool prune, double b)
{
    size_t n = 0;
    double cut = b + 1e-6 * fabs(b);
    for (size_t i = 0; i < hn; i++)
        if (!prune || !(h[i].lb > cut))
            h[n++] = h[i];
    for (size_t i = n / 2; i-- > 0;)
        heap_down(h, n, i);
    return n;
}

/* Searches the prepared pools cv[0..nc), whose bounds are in the engine's heap array, in order
 * of (bound, pool) until the next bound exceeds the best objective found. The first pools come
 * from linear scans, so that the heap holds only the pools that the first best leaves in play.
 * Returns whether a pool is feasible, the best in *best. */
#define LINEAR_POPS 4
static bool search_by_bound(
    struct cpn_engine *e, const struct cpn_job *job, struct eval *cv, size_t nc, struct eval *best)
{
    struct lb_item *h = e->heap;
    size_t hn = nc;
    bool have = false;
    for (int i = 0; i < LINEAR_POPS && hn > 0 && !have; i++) {
        struct eval *pe = &cv[pop_least(h, &hn).idx];
        if (search_pool(e, job, pe, NULL) == CPN_WHY_OK) {
            *best = *pe;
            have = true;
        }
    }
    hn = prune_heapify(h, hn, have, have ? best->objective : 0);
    while (hn > 0) {
        struct lb_item top = h[0];
        struct eval *pe = &cv[top.idx];
        if (have && top.lb > best->objective && !tie(top.lb, best->objective))
            break; /* no pool left can win */
        h[0] = h[--hn];
        heap_down(h, hn, 0);
        if (have && cannot_win(e, job, pe, best))
            continue;
        if (search_pool(e, job, pe, NULL) == CPN_WHY_OK && (!have || better(e, pe, best))) {
            *best = *pe;
            have = true;
        }
    }
    return have;
}

static void fill_placement(const struct cpn_engine *e,
                           const struct eval *ev,
                           uint32_t nruns,
                           struct cpn_placement *out)
{
    const struct cpn_pool *pool = &e->net->pools[ev->pool];
    memset(out, 0, sizeof *out);
    out->cluster = pool->cluster;
    out->pool = ev->pool;
    out->start_slot = ev->start;
    out->nslots = ev->k;
    out->start_s = e->t0 + (int64_t)ev->start * e->slot_s;
    out->end_s =
        e->t0 + (int64_t)ev->last * e->slot_s + (int64_t)llround(ev->wlast * (double)e->slot_s);
    out->nruns = nruns;
    out->runs = e->runs;
    out->duration_s = ev->dur_s;
    out->energy_kwh = ev->energy_kwh;
    out->carbon_kg = ev->carbon_kg;
    out->cost_ucny = ev->cost_ucny;
    out->objective = ev->objective;
    out->latency_ms = ev->rtt_ms;
    out->transfer_s = ev->transfer_s;
}

/* ---- explanations ---------------------------------------------------------------------------- */

static void
option_from_eval(const struct cpn_engine *e, const struct eval *ev, struct cpn_option *o)
{
    o->pool = ev->pool;
    o->cluster = e->net->pools[ev->pool].cluster;
    o->why = ev->why;
    o->latency_ms = ev->rtt_ms;
    if (ev->why == CPN_WHY_OK || ev->why == CPN_WHY_PRICE) {
        o->start_s = e->t0 + (int64_t)ev->start * e->slot_s;
        o->objective = ev->objective;
        o->carbon_kg = ev->carbon_kg;
        o->cost_ucny = ev->cost_ucny;
    }
}

struct explain_ctx {
    struct cpn_option *per_cluster; /* best option per cluster */
    struct eval *best_eval;         /* its eval, to rank feasible ones */
};

static void explain_note(const struct cpn_engine *e, struct explain_ctx *x, const struct eval *ev)
{
    int32_t c = e->net->pools[ev->pool].cluster;
    struct cpn_option *o = &x->per_cluster[c];
    if (ev->why == CPN_WHY_OK) {
        if (o->why != CPN_WHY_OK || o->pool < 0 || better(e, ev, &x->best_eval[c])) {
            option_from_eval(e, ev, o);
            x->best_eval[c] = *ev;
        }
    } else if (o->why != CPN_WHY_OK && (o->pool < 0 || ev->why > o->why)) {
        option_from_eval(e, ev, o);
    }
}

static void explain_finish(const struct cpn_engine *e,
                           struct explain_ctx *x,
                           const struct cpn_job *job,
                           bool placed,
                           struct cpn_explain *ex)
{
    size_t nc = e->net->nclusters, nfeas = 0;
    unsigned counts[CPN_WHY_COUNT] = { 0 };
    enum cpn_why furthest = CPN_WHY_CLASS;
    int len;
    ex->n = 0;
    /* feasible clusters by rank (selection sort: at most a few hundred clusters) */
    for (;;) {
        int32_t bi = -1;
        for (size_t c = 0; c < nc; c++) {
            if (x->per_cluster[c].why != CPN_WHY_OK || x->per_cluster[c].pool < 0)
                continue;
            if (bi < 0 || better(e, &x->best_eval[c], &x->best_eval[bi]))
                bi = (int32_t)c;
        }
        if (bi < 0)
            break;
        if (ex->n < CPN_EXPLAIN_MAX)
            ex->opts[ex->n++] = x->per_cluster[bi];
        x->per_cluster[bi].pool = -2; /* taken */
        nfeas++;
    }
    for (size_t c = 0; c < nc; c++) {
        struct cpn_option *o = &x->per_cluster[c];
        if (o->pool == -2)
            continue;
        counts[o->why]++;
        if (o->why > furthest)
            furthest = o->why;
        if (ex->n < CPN_EXPLAIN_MAX)
            ex->opts[ex->n++] = *o;
    }
    ex->why = placed ? CPN_WHY_OK : furthest;
    if (placed) {
        const struct cpn_option *o = &ex->opts[0];
        snprintf(ex->detail, sizeof ex->detail,
                 "placed on %s/%s: best of %zu feasible clusters; %zu excluded",
                 e->net->clusters[o->cluster].id, e->net->pools[o->pool].id, nfeas, nc - nfeas);
        return;
    }
    len = snprintf(ex->detail, sizeof ex->detail, "job %s: no feasible placement:", job->id);
    for (int w = CPN_WHY_COUNT - 1; w > 0 && len > 0 && (size_t)len < sizeof ex->detail; w--) {
        if (counts[w])
            len += snprintf(ex->detail + len, sizeof ex->detail - (size_t)len, " %s (%u)",
                            cpn_why_name((enum cpn_why)w), counts[w]);
    }
}

int cpn_engine_decide(struct cpn_engine *e,
                      const struct cpn_jobset *js,
                      const struct cpn_job *job,
                      int64_t now_s,
                      struct cpn_placement *out,
                      struct cpn_explain *ex,
                      struct cpn_error *err)
{
    const struct cpn_network *net = e->net;
    struct explain_ctx x = { NULL, NULL };
    struct eval best, ev;
    const struct eng_cand *list;
    size_t nlist;
    int64_t release_t = job->earliest_s;
    bool have = false;
    uint32_t nruns = 0;
    if (job->site < 0 || (size_t)job->site >= net->nsites || job->cls < 0 ||
        job->cls >= CPN_CLASS_COUNT)
        return cpn_errorf(err, -EINVAL, "job %s: origin site or class out of range", job->id);
    if (job->units < 1)
        return cpn_errorf(err, -EINVAL, "job %s: units is %lld, expected at least 1", job->id,
                          (long long)job->units);
    if (ensure_scratch(e, (size_t)e->nslots))
        return cpn_errorf(err, -ENOMEM, "engine: out of memory");
    e->stamp++;
    if (job->submit_s > release_t)
        release_t = job->submit_s;
    if (now_s > release_t)
        release_t = now_s;
    if (ex) {
        x.per_cluster = cpn_calloc(net->nclusters, sizeof *x.per_cluster);
        x.best_eval = cpn_calloc(net->nclusters, sizeof *x.best_eval);
        if (!x.per_cluster || !x.best_eval) {
            cpn_free(x.per_cluster);
            cpn_free(x.best_eval);
            return cpn_errorf(err, -ENOMEM, "engine: out of memory");
        }
        for (size_t c = 0; c < net->nclusters; c++) {
            x.per_cluster[c].cluster = (int32_t)c;
            x.per_cluster[c].pool = -1;
            x.per_cluster[c].why = CPN_WHY_CLASS;
            x.per_cluster[c].latency_ms = cpn_network_rtt(net, job->site, (int32_t)c);
        }
    }
    list = e->cand + e->cand_off[(size_t)job->site * CPN_CLASS_COUNT + (size_t)job->cls];
    nlist = e->cand_off[(size_t)job->site * CPN_CLASS_COUNT + (size_t)job->cls + 1] -
            e->cand_off[(size_t)job->site * CPN_CLASS_COUNT + (size_t)job->cls];
    if (ex) {
        for (size_t i = 0; i < nlist; i++) {
            if (eval_pool(e, js, job, list[i].pool, release_t, &ev, NULL) == CPN_WHY_OK &&
                (!have || better(e, &ev, &best))) {
                best = ev;
                have = true;
            }
            explain_note(e, &x, &ev);
        }
    } else {
        struct eval *cv = e->evals;
        size_t nc = 0;
        struct window win;
        const struct window *shared = NULL;
        if (job->duration_s > 0) { /* the same window on every pool */
            job_window(e, job, (double)job->duration_s, release_t, &win);
            shared = &win;
        }
        bool by_bound = e->pol.rank == CPN_RANK_OBJECTIVE;
        struct lb_item *h = e->heap;
        for (size_t i = 0; i < nlist; i++) {
            enum cpn_why why = prep_pool(e, js, job, &list[i], release_t, shared, &cv[nc]);
            if (why == CPN_WHY_LATENCY)
                break; /* the list is sorted by RTT: every further pool is farther */
            if (why != CPN_WHY_OK)
                continue;
            if (by_bound) {
                h[nc].lb = lower_bound(e, job, &list[i], &cv[nc]);
                h[nc].pool = cv[nc].pool;
                h[nc].idx = (uint32_t)nc;
            }
            nc++;
        }
        if (by_bound) {
            have = search_by_bound(e, job, cv, nc, &best);
        } else {
            for (size_t i = 0; i < nc; i++) {
                if (search_pool(e, job, &cv[i], NULL) != CPN_WHY_OK)
                    continue;
                if (!have || better(e, &cv[i], &best)) {
                    best = cv[i];
                    have = true;
                }
                if (best.start == best.r)
                    break; /* starts at once on the nearest pool that can: nothing beats it */
            }
        }
    }
    if (!have) {
        int rc;
        if (ex) {
            explain_finish(e, &x, job, false, ex);
            rc = cpn_errorf(err, CPN_EINFEASIBLE, "%s", ex->detail);
        } else {
            rc = cpn_errorf(err, CPN_EINFEASIBLE,
                            "job %s: no feasible placement (class, latency, residency, deadline, "
                            "capacity, power or price excludes every pool; explain tells which)",
                            job->id);
        }
        cpn_free(x.per_cluster);
        cpn_free(x.best_eval);
        return rc;
    }
    /* Re-run the winner to materialise its runs in the scratch array. */
    eval_pool(e, js, job, best.pool, release_t, &ev, &nruns);
    fill_placement(e, &ev, nruns, out);
    if (ex)
        explain_finish(e, &x, job, true, ex);
    cpn_free(x.per_cluster);
    cpn_free(x.best_eval);
    return 0;
}
