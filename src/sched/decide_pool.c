/* SPDX-License-Identifier: Apache-2.0 */
/* A decision's work on one candidate pool around the timeline search. The hard constraints that do
 * not depend on the timelines are applied in a fixed order (class, size, latency, residency,
 * cluster up, the job's window, power cap), so an explanation names the first that fails; the price
 * ceiling follows the search. The job's window (slots, first slot, last start or end) is computed
 * per pool, or once per decision when the run time does not depend on the pool. Lower bounds of a
 * prepared pool's objective let the search skip the pools that cannot win. */
#include <math.h>
#include <string.h>

#include "engine_int.h"

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

void eng_job_window(const struct cpn_engine *e,
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
enum cpn_why eng_prep_pool(const struct cpn_engine *e,
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
        eng_job_window(e, job, cpn_job_duration_on(job, &net->pools[cd->pool]), release_t, &own);
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
enum cpn_why
eng_search_pool(struct cpn_engine *e, const struct cpn_job *job, struct eval *ev, uint32_t *nruns)
{
    if (!job->interruptible) {
        ev->why = eng_scan_contiguous(e, job, ev->pool, ev->r, ev->hi, ev->kw, ev);
        if (ev->why == CPN_WHY_OK && nruns) {
            e->runs[0].start = ev->start;
            e->runs[0].len = ev->k;
            *nruns = 1;
        }
    } else {
        ev->why = eng_scan_slots(e, job, ev->pool, ev->r, ev->hi, ev->kw, ev, nruns);
    }
    if (ev->why == CPN_WHY_OK && job->price_ceiling_ucny > 0 &&
        ev->cost_ucny > job->price_ceiling_ucny)
        ev->why = CPN_WHY_PRICE;
    return ev->why;
}

enum cpn_why eng_eval_pool(struct cpn_engine *e,
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
    ev->why = eng_prep_pool(e, js, job, &cd, release_t, NULL, ev);
    if (ev->why != CPN_WHY_OK)
        return ev->why;
    return eng_search_pool(e, job, ev, nruns);
}

/* A lower bound of a prepared pool's objective: every slot of its span costs at least the span's
 * cheapest slot (sparse-table range minimum), plus the fixed rental and transfer. */
double eng_lower_bound(const struct cpn_engine *e,
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
bool eng_cannot_win(const struct cpn_engine *e,
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
