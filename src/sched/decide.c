/* SPDX-License-Identifier: Apache-2.0 */
/* The placement search. For one job it walks the candidate pools of the job's origin and class
 * (sorted by RTT, so a latency bound ends the walk), prepares each (decide_pool.c) and searches the
 * timelines of the prepared ones (decide_scan.c); under the objective rank in order of a lower
 * bound, so the walk stops once no pool left can win. The best pool wins by the policy's rank; ties
 * go to the earliest start, then the lower pool index. With an explanation every pool is evaluated
 * and the best option of each cluster kept. Nothing here changes a commitment; cpn_engine_commit()
 * does. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine_int.h"

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
    if (!eng_tie(a->objective, b->objective))
        return a->objective < b->objective;
    if (a->start != b->start)
        return a->start < b->start;
    return a->pool < b->pool;
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
        if (eng_search_pool(e, job, pe, NULL) == CPN_WHY_OK) {
            *best = *pe;
            have = true;
        }
    }
    hn = prune_heapify(h, hn, have, have ? best->objective : 0);
    while (hn > 0) {
        struct lb_item top = h[0];
        struct eval *pe = &cv[top.idx];
        if (have && top.lb > best->objective && !eng_tie(top.lb, best->objective))
            break; /* no pool left can win */
        h[0] = h[--hn];
        heap_down(h, hn, 0);
        if (have && eng_cannot_win(e, job, pe, best))
            continue;
        if (eng_search_pool(e, job, pe, NULL) == CPN_WHY_OK && (!have || better(e, pe, best))) {
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
            if (eng_eval_pool(e, js, job, list[i].pool, release_t, &ev, NULL) == CPN_WHY_OK &&
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
            eng_job_window(e, job, (double)job->duration_s, release_t, &win);
            shared = &win;
        }
        bool by_bound = e->pol.rank == CPN_RANK_OBJECTIVE;
        struct lb_item *h = e->heap;
        for (size_t i = 0; i < nlist; i++) {
            enum cpn_why why = eng_prep_pool(e, js, job, &list[i], release_t, shared, &cv[nc]);
            if (why == CPN_WHY_LATENCY)
                break; /* the list is sorted by RTT: every further pool is farther */
            if (why != CPN_WHY_OK)
                continue;
            if (by_bound) {
                h[nc].lb = eng_lower_bound(e, job, &list[i], &cv[nc]);
                h[nc].pool = cv[nc].pool;
                h[nc].idx = (uint32_t)nc;
            }
            nc++;
        }
        if (by_bound) {
            have = search_by_bound(e, job, cv, nc, &best);
        } else {
            for (size_t i = 0; i < nc; i++) {
                if (eng_search_pool(e, job, &cv[i], NULL) != CPN_WHY_OK)
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
    eng_eval_pool(e, js, job, best.pool, release_t, &ev, &nruns);
    fill_placement(e, &ev, nruns, out);
    if (ex)
        explain_finish(e, &x, job, true, ex);
    cpn_free(x.per_cluster);
    cpn_free(x.best_eval);
    return 0;
}
