/* SPDX-License-Identifier: Apache-2.0 */
/* The event loop of the simulator: job arrivals (by submit time, then priority descending, then
 * id), forecast revisions with re-planning of not-yet-started jobs, and cluster outages on the slot
 * grid, in time order (at one time: clusters back up, clusters down, re-planning, arrivals). What
 * each event does to the placements is in sim_place.c, the per-job bookkeeping in sim_record.c. At
 * the end every job is accounted with the actual signals and the independent checker (verify.c)
 * re-verifies the schedule. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

/* ---- events -------------------------------------------------------------------------------------
 */

static int arrive(struct cpn_sim *s, uint32_t i, struct cpn_error *err)
{
    const struct cpn_job *j = &s->js->v[i];
    int rc = sim_place(s, i, j->submit_s, "", err);
    if (rc)
        return rc;
    if (s->rec[i].pool < 0)
        return 0;
    s->rec[i].status = CPN_SIM_PLACED;
    if (s->nlive >= 2 * s->live_compacted + 4096)
        sim_live_compact(s, j->submit_s);
    rc = sim_live_push(s, i);
    return rc ? cpn_errorf(err, rc, "out of memory for %zu running jobs", s->nlive) : 0;
}

/* ---- arrival order and outage events
 * ------------------------------------------------------------- */

struct arrival {
    int64_t t;
    const struct cpn_job *job;
};

static int arrival_cmp(const void *a, const void *b)
{
    const struct arrival *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->job->priority != y->job->priority)
        return x->job->priority > y->job->priority ? -1 : 1;
    return strcmp(x->job->id, y->job->id);
}

struct outage_ev {
    int64_t t;
    int32_t cluster;
    int32_t delta; /* -1: back up, +1: down */
};

static int outage_cmp(const void *a, const void *b)
{
    const struct outage_ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->delta != y->delta)
        return x->delta < y->delta ? -1 : 1;
    return x->cluster < y->cluster ? -1 : x->cluster > y->cluster;
}

/* Outages on the slot grid: down from the slot holding start_s to the slot boundary at or after
 * end_s, clipped to the horizon. */
static int outage_events(const struct cpn_sim *s, struct outage_ev **out, size_t *n)
{
    const struct cpn_network *net = s->net;
    struct outage_ev *ev = cpn_reallocarray(NULL, 2 * net->noutages + 1, sizeof *ev);
    size_t k = 0;
    if (!ev)
        return -ENOMEM;
    for (size_t o = 0; o < net->noutages; o++) {
        const struct cpn_outage *ou = &net->outages[o];
        int64_t a = cpn_floordiv(ou->start_s - s->cfg.t0, s->slot_s) * s->slot_s + s->cfg.t0;
        int64_t b =
            (cpn_floordiv(ou->end_s - s->cfg.t0 - 1, s->slot_s) + 1) * s->slot_s + s->cfg.t0;
        if (a < s->cfg.t0)
            a = s->cfg.t0;
        if (b > s->end_s)
            b = s->end_s;
        if (b <= a || ou->cluster < 0 || (size_t)ou->cluster >= net->nclusters)
            continue;
        ev[k++] = (struct outage_ev){ a, ou->cluster, +1 };
        ev[k++] = (struct outage_ev){ b, ou->cluster, -1 };
    }
    qsort(ev, k, sizeof *ev, outage_cmp);
    *out = ev;
    *n = k;
    return 0;
}

/* ---- the run
 * ------------------------------------------------------------------------------------- */

static int run_events(struct cpn_sim *s, struct cpn_error *err)
{
    struct arrival *arr = NULL;
    struct outage_ev *ev = NULL;
    int32_t *depth = NULL;
    struct cpn_slot_run *scratch = NULL;
    size_t scap = 0, narr = 0, nev = 0, ia = 0, ie = 0;
    int64_t every = s->cfg.replan_every_s, next_replan = INT64_MAX;
    uint64_t rev = 0;
    int rc;

    arr = cpn_reallocarray(NULL, s->js->n ? s->js->n : 1, sizeof *arr);
    depth = cpn_calloc(s->net->nclusters ? s->net->nclusters : 1, sizeof *depth);
    if (!arr || !depth || outage_events(s, &ev, &nev)) {
        rc = cpn_errorf(err, -ENOMEM, "out of memory for %zu jobs", s->js->n);
        goto out;
    }
    for (size_t i = 0; i < s->js->n; i++)
        if (cpn_sim_selected(&s->js->v[i], &s->cfg.window))
            arr[narr++] = (struct arrival){ s->js->v[i].submit_s, &s->js->v[i] };
    qsort(arr, narr, sizeof *arr, arrival_cmp);
    if (every > 0)
        next_replan = s->cfg.t0 + every;

    while (ia < narr || (ie < nev && ev[ie].t < s->end_s) || next_replan < s->end_s) {
        int64_t t = INT64_MAX;
        if (ia < narr)
            t = arr[ia].t;
        if (ie < nev && ev[ie].t < t)
            t = ev[ie].t;
        if (next_replan < t)
            t = next_replan;
        if (t >= s->end_s && ia >= narr)
            break;
        while (ie < nev && ev[ie].t == t) {
            int32_t c = ev[ie].cluster;
            if (ev[ie].delta > 0) {
                if (depth[c]++ == 0) {
                    s->ndown++;
                    if ((rc = sim_outage_start(s, c, t, &scratch, &scap, err)))
                        goto out;
                }
            } else if (--depth[c] == 0) {
                s->ndown--;
                cpn_engine_set_cluster_up(s->engine, c, true);
                if ((rc = sim_retry_deferred(s, t, err)))
                    goto out;
            }
            ie++;
        }
        if (next_replan == t) {
            size_t pending = 0;
            if (s->revised) {
                sim_forecast_revise(s, t, ++rev);
                rc = cpn_engine_refresh_signals(s->engine, err);
                if (rc)
                    goto out;
            }
            rc = sim_replan(s, t, &scratch, &scap, &pending, err);
            if (rc)
                goto out;
            next_replan = (ia >= narr && pending == 0) ? INT64_MAX : t + every;
        }
        while (ia < narr && arr[ia].t == t) {
            rc = arrive(s, (uint32_t)(arr[ia].job - s->js->v), err);
            if (rc)
                goto out;
            ia++;
        }
        if (ia >= narr && next_replan != INT64_MAX && every > 0 && next_replan > t) {
            /* keep ticking only while something may still move */
            bool any = false;
            for (size_t n = 0; n < s->nlive && !any; n++) {
                const struct sim_rec *r = &s->rec[s->live[n]];
                any = r->pool >= 0 && r->start_s >= next_replan;
            }
            if (!any)
                next_replan = INT64_MAX;
        }
    }
    s->sum.jobs = narr;
    rc = 0;
out:
    cpn_free(arr);
    cpn_free(ev);
    cpn_free(depth);
    cpn_free(scratch);
    return rc;
}

static int finish(struct cpn_sim *s, struct cpn_error *err)
{
    struct sim_acct a, loc;
    struct cpn_sim_schedule sch;
    struct cpn_sim_verify_input vin;
    double wait_sum = 0;
    int64_t cost_ucny = 0;
    size_t placed = 0, rejected = 0, v;
    char first[256] = "";

    memset(&a, 0, sizeof a);
    for (size_t i = 0; i < s->js->n; i++) {
        struct sim_rec *r = &s->rec[i];
        const struct cpn_job *j = &s->js->v[i];
        if (!cpn_sim_selected(j, &s->cfg.window))
            continue;
        sim_account_job(s, (uint32_t)i, &loc, NULL);
        r->energy_kwh = loc.energy_kwh;
        r->carbon_kg = loc.carbon_kg;
        r->cost_ucny = sim_acct_cost_ucny(&loc);
        a.energy_kwh += loc.energy_kwh;
        a.carbon_kg += loc.carbon_kg;
        a.elec_cny += loc.elec_cny;
        a.green_kwh += loc.green_kwh;
        a.west_kwh += loc.west_kwh;
        cost_ucny += r->cost_ucny;
        if (r->pool >= 0) {
            struct cpn_sim_job res;
            cpn_sim_job(s, i, &res);
            placed++;
            wait_sum += res.wait_h;
        } else {
            rejected++;
        }
    }
    s->sum.placed = (double)placed;
    s->sum.rejected = (double)rejected;
    s->sum.energy_kwh = a.energy_kwh;
    s->sum.carbon_kg = a.carbon_kg;
    s->sum.cost_cny = (double)cost_ucny / (double)CPN_UCNY_PER_CNY;
    s->sum.mean_wait_h = placed ? wait_sum / (double)placed : 0.0;
    s->sum.green_share = a.energy_kwh > 0 ? a.green_kwh / a.energy_kwh : 0.0;
    s->sum.west_share = a.energy_kwh > 0 ? a.west_kwh / a.energy_kwh : 0.0;
    s->sum.decisions_per_s =
        s->decide_ns > 0 ? (double)s->sum.decisions / ((double)s->decide_ns / 1e9) : 0.0;
    s->sum.decision_p50_us = sim_lat_quantile_us(s, 0.50);
    s->sum.decision_p99_us = sim_lat_quantile_us(s, 0.99);

    if (cpn_sim_schedule(s, &sch))
        return cpn_errorf(err, -ENOMEM, "out of memory while building the schedule to verify");
    vin =
        (struct cpn_sim_verify_input){ s->net, s->decision, s->js, s->cfg.t0, s->cfg.nslots, &sch };
    v = cpn_sim_verify(&vin, NULL, first, sizeof first);
    cpn_sim_schedule_free(&sch);
    if (v == SIZE_MAX)
        return cpn_errorf(err, -ENOMEM, "out of memory while verifying the schedule");
    s->sum.violations = v;
    return 0;
}

int cpn_sim_run(const struct cpn_sim_config *cfg, struct cpn_sim **out, struct cpn_error *err)
{
    struct cpn_sim *s;
    struct cpn_engine_config ec;
    int rc;

    if (!cfg || !cfg->net || !cfg->signals || !cfg->jobs || cfg->nslots <= 0)
        return cpn_errorf(err, -EINVAL, "sim: network, signals, jobs and horizon are required");
    if (cfg->jobs->n > UINT32_MAX - 1)
        return cpn_errorf(err, CPN_ELIMIT, "sim: %zu jobs exceed the limit of %u", cfg->jobs->n,
                          UINT32_MAX - 1);
    if (!strcmp(cfg->policy.name, "optimal"))
        return cpn_errorf(err, -EINVAL,
                          "sim: policy optimal is an LP bound (cpn_lp_bound), not a run");
    s = cpn_calloc(1, sizeof *s);
    if (!s)
        return cpn_errorf(err, -ENOMEM, "sim: out of memory");
    s->cfg = *cfg;
    s->net = cfg->net;
    s->js = cfg->jobs;
    s->actual = cfg->signals;
    s->decision = cfg->signals;
    s->slot_s = cfg->net->slot_s;
    s->end_s = cfg->t0 + (int64_t)cfg->nslots * s->slot_s;
    snprintf(s->sum.policy, sizeof s->sum.policy, "%s", cfg->policy.name);
    s->rec = cpn_reallocarray(NULL, cfg->jobs->n ? cfg->jobs->n : 1, sizeof *s->rec);
    if (!s->rec) {
        cpn_sim_destroy(s);
        return cpn_errorf(err, -ENOMEM, "sim: out of memory for %zu jobs", cfg->jobs->n);
    }
    for (size_t i = 0; i < cfg->jobs->n; i++) {
        s->rec[i] = (struct sim_rec){ 0 };
        s->rec[i].pool = -1;
        s->rec[i].aux = SIM_NONE;
        s->rec[i].seg = SIM_NONE;
        s->rec[i].status =
            cpn_sim_selected(&cfg->jobs->v[i], &cfg->window) ? CPN_SIM_REJECTED : CPN_SIM_SKIPPED;
    }
    if (cfg->replan_every_s > 0 && cfg->revise_error_pct > 0) {
        rc = sim_forecast_init(s, err);
        if (rc) {
            cpn_sim_destroy(s);
            return rc;
        }
        s->decision = s->revised;
    }
    ec = (struct cpn_engine_config){ cfg->net, s->decision, cfg->t0, cfg->nslots, cfg->policy };
    rc = cpn_engine_create(&ec, &s->engine, err);
    if (!rc)
        rc = run_events(s, err);
    if (!rc)
        rc = finish(s, err);
    if (rc) {
        cpn_sim_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void cpn_sim_destroy(struct cpn_sim *s)
{
    if (!s)
        return;
    cpn_engine_destroy(s->engine);
    sim_forecast_free(s);
    cpn_free(s->rec);
    cpn_free(s->runs);
    cpn_free(s->segs);
    cpn_free(s->live);
    cpn_free(s->deferred);
    cpn_buf_free(&s->reasons);
    cpn_free(s);
}

const struct cpn_sim_summary *cpn_sim_summary(const struct cpn_sim *s)
{
    return &s->sum;
}
