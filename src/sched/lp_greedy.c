/* SPDX-License-Identifier: Apache-2.0 */
/* The starting columns of the LP bound: a capacity-feasible placement built one job after another,
 * least flexible first, each at its cheapest window that still fits the pool's units and the
 * cluster's power cap. With these columns next to each job's cheapest option, the first solves
 * place every job they can instead of paying the unplaced penalty, so the duals guide pricing
 * from the first round. The placement only seeds the LP: the bound does not depend on it. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched/lp_int.h"

struct order {
    int64_t flex; /* start choices of the most flexible option */
    size_t job;
};

static int order_cmp(const void *a, const void *b)
{
    const struct order *x = a, *y = b;
    if (x->flex != y->flex)
        return x->flex < y->flex ? -1 : 1;
    return (x->job > y->job) - (x->job < y->job);
}

static bool blocked(const struct lp *L, const struct lp_opt *o, int32_t t)
{
    size_t ns = (size_t)L->nslots, r[2];
    double coef[2];
    lp_opt_res(L, o, r, coef);
    for (int q = 0; q < 2; q++) {
        double lim = lp_res_limit(L, r[q]);
        if (lim > 0 && L->use[r[q] * ns + (size_t)t] + coef[q] > lim * (1 + 1e-12))
            return true;
    }
    return false;
}

static void occupy(struct lp *L, const struct lp_opt *o, int32_t t)
{
    size_t ns = (size_t)L->nslots, r[2];
    double coef[2];
    lp_opt_res(L, o, r, coef);
    L->use[r[0] * ns + (size_t)t] += coef[0];
    L->use[r[1] * ns + (size_t)t] += coef[1];
}

/* Cheapest free window of a contiguous option; -1 when none. */
static int32_t best_window(const struct lp *L, int32_t oi, double ceiling, double *cost)
{
    const struct lp_opt *o = &L->opts[oi];
    int32_t last_bad = o->lo - 1, best = -1;
    for (int32_t t = o->lo; t < o->hi + o->k; t++) {
        int32_t s = t - o->k + 1;
        double c;
        if (blocked(L, o, t))
            last_bad = t;
        if (s < o->lo || last_bad >= s)
            continue;
        c = o->fixed_obj + o->e_kwh * (double)lp_window_rate(L, o, s);
        if (ceiling > 0 && (o->fixed_money + o->e_kwh * (double)lp_window_money(L, o, s)) * 1e6 >
                               ceiling * 1e6 + 0.5)
            continue;
        if (best < 0 || c < *cost) {
            best = s;
            *cost = c;
        }
    }
    return best;
}

static int slot_cmp(const void *a, const void *b)
{
    const struct lp_slot *x = a, *y = b;
    if (x->c != y->c)
        return x->c < y->c ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}

static int slot_t_cmp(const void *a, const void *b)
{
    const struct lp_slot *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

/* The k cheapest free slots of an interruptible option, left sorted by time in L->slots; false
 * when fewer are free. *cost is the objective of that set. */
static bool best_slots(struct lp *L, int32_t oi, double *cost)
{
    const struct lp_opt *o = &L->opts[oi];
    const double *rt = L->rate + (size_t)o->zone * (size_t)L->nslots;
    size_t cnt = 0;
    double sum = 0;
    for (int32_t t = o->lo; t < o->hi; t++) {
        if (blocked(L, o, t))
            continue;
        L->slots[cnt].c = o->e_kwh * rt[t];
        L->slots[cnt].t = t;
        cnt++;
    }
    if (cnt < (size_t)o->k)
        return false;
    qsort(L->slots, cnt, sizeof *L->slots, slot_cmp);
    qsort(L->slots, (size_t)o->k, sizeof *L->slots, slot_t_cmp);
    for (int32_t i = 0; i < o->k; i++)
        sum += (i == o->k - 1 ? o->w : 1.0) * L->slots[i].c;
    *cost = o->fixed_obj + sum;
    return true;
}

static int add_run(struct lp *L, int32_t start, int32_t len)
{
    if (cpn_grow(&L->cruns, &L->cruns_cap, L->ncruns + 1, sizeof *L->cruns))
        return -ENOMEM;
    L->cruns[L->ncruns].start = start;
    L->cruns[L->ncruns].len = len;
    L->ncruns++;
    return 0;
}

/* Places job j at its cheapest free option, if any, and appends its column. */
static int place(struct lp *L, size_t j, size_t *n)
{
    const struct lp_job *jb = &L->jobs[j];
    const struct lp_opt *o;
    double best = INFINITY;
    int32_t best_o = -1, best_s = -1;
    uint32_t off = (uint32_t)L->ncruns, nr = 0;
    for (int32_t i = 0; i < jb->opt_count; i++) {
        int32_t oi = jb->opt_first + i;
        double c = 0;
        if (!jb->intr) {
            int32_t s = best_window(L, oi, jb->ceiling, &c);
            if (s >= 0 && c < best) {
                best = c;
                best_o = oi;
                best_s = s;
            }
        } else if (best_slots(L, oi, &c) && c < best) {
            best = c;
            best_o = oi;
        }
    }
    if (best_o < 0)
        return 0;
    o = &L->opts[best_o];
    if (!jb->intr) {
        for (int32_t t = best_s; t < best_s + o->k; t++)
            occupy(L, o, t);
        if (add_run(L, best_s, o->k))
            return -ENOMEM;
        return lp_push(L, n, 0, best_o, off, 1);
    }
    best_slots(L, best_o, &best);
    for (int32_t i = 0; i < o->k; i++) {
        int32_t t = L->slots[i].t;
        occupy(L, o, t);
        if (nr && L->cruns[L->ncruns - 1].start + L->cruns[L->ncruns - 1].len == t) {
            L->cruns[L->ncruns - 1].len++;
            continue;
        }
        if (add_run(L, t, 1))
            return -ENOMEM;
        nr++;
    }
    return lp_push(L, n, 0, best_o, off, nr);
}

int lp_greedy(struct lp *L, size_t *n)
{
    struct order *ord = cpn_calloc(L->njobs + 1, sizeof *ord);
    int rc = 0;
    if (!ord)
        return -ENOMEM;
    memset(L->use, 0, L->nres * (size_t)L->nslots * sizeof *L->use);
    for (size_t j = 0; j < L->njobs; j++) {
        const struct lp_job *jb = &L->jobs[j];
        ord[j].job = j;
        ord[j].flex = 0;
        for (int32_t i = 0; i < jb->opt_count; i++) {
            const struct lp_opt *o = &L->opts[jb->opt_first + i];
            int64_t f =
                jb->intr ? (int64_t)(o->hi - o->lo - o->k + 1) : (int64_t)(o->hi - o->lo + 1);
            if (f > ord[j].flex)
                ord[j].flex = f;
        }
    }
    qsort(ord, L->njobs, sizeof *ord, order_cmp);
    for (size_t i = 0; i < L->njobs && rc == 0; i++)
        rc = place(L, ord[i].job, n);
    cpn_free(ord);
    return rc;
}
