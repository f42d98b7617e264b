/* SPDX-License-Identifier: Apache-2.0 */
/* Pricing of the LP bound's column generation. With the job-row duals and the duals of the
 * capacity and power chains, the reduced cost of a window is O(1) per start, so a job's best
 * window on a pool costs O(window). An interruptible job's best set of k slots is found exactly
 * by sweeping its last slot in time with a heap of the k - 1 cheapest slots before it,
 * O(window log k). The generated columns are kept in a hash map, so that a column already in the
 * LP (at a bound, or within GLPK's own tolerance of optimal) is never added twice and the loop
 * ends. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched/lp_int.h"

/* A column prices out when its reduced cost is below -LP_DJ_TOL x max(1, |cost|). */
#define LP_DJ_TOL 1e-9

static double thr_of(double cost)
{
    return -LP_DJ_TOL * (fabs(cost) > 1 ? fabs(cost) : 1);
}

/* ---- the column map ----------------------------------------------------------------------------
 */

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static uint64_t runs_hash(int32_t opt, const struct cpn_slot_run *runs, uint32_t nruns)
{
    uint64_t h = mix(0x51ed270b27a8f1e3ULL, (uint64_t)(uint32_t)opt);
    for (uint32_t i = 0; i < nruns; i++)
        h = mix(h, (uint64_t)(uint32_t)runs[i].start << 32 | (uint32_t)runs[i].len);
    return h ? h : 1;
}

static bool
same(const struct lp *L, int32_t col, int32_t opt, const struct cpn_slot_run *runs, uint32_t nruns)
{
    const struct lp_col *c = &L->cols[col];
    if (c->opt != opt || c->nruns != nruns)
        return false;
    return memcmp(L->runs + c->run_off, runs, nruns * sizeof *runs) == 0;
}

int32_t lp_find(const struct lp *L, int32_t opt, const struct cpn_slot_run *runs, uint32_t nruns)
{
    uint64_t h = runs_hash(opt, runs, nruns);
    if (!L->hash_cap)
        return -1;
    for (size_t i = (size_t)h & (L->hash_cap - 1);; i = (i + 1) & (L->hash_cap - 1)) {
        if (L->hash[i] == 0)
            return -1;
        if (L->hash[i] == h && same(L, L->hash_val[i], opt, runs, nruns))
            return L->hash_val[i];
    }
}

static void hash_put(uint64_t *h, int32_t *hv, size_t cap, uint64_t key, int32_t val)
{
    size_t i = (size_t)key & (cap - 1);
    while (h[i] != 0)
        i = (i + 1) & (cap - 1);
    h[i] = key;
    hv[i] = val;
}

int lp_put(struct lp *L, int32_t col)
{
    const struct lp_col *c = &L->cols[col];
    if (2 * (L->hash_n + 1) > L->hash_cap) {
        size_t cap = L->hash_cap ? 2 * L->hash_cap : 1024;
        uint64_t *h = cpn_calloc(cap, sizeof *h);
        int32_t *hv = cpn_calloc(cap, sizeof *hv);
        if (!h || !hv) {
            cpn_free(h);
            cpn_free(hv);
            return -ENOMEM;
        }
        for (size_t i = 0; i < L->hash_cap; i++)
            if (L->hash[i])
                hash_put(h, hv, cap, L->hash[i], L->hash_val[i]);
        cpn_free(L->hash);
        cpn_free(L->hash_val);
        L->hash = h;
        L->hash_val = hv;
        L->hash_cap = cap;
    }
    hash_put(L->hash, L->hash_val, L->hash_cap, runs_hash(c->opt, L->runs + c->run_off, c->nruns),
             col);
    L->hash_n++;
    return 0;
}

/* ---- candidates
 * ---------------------------------------------------------------------------------- */

int lp_push(struct lp *L, size_t *n, double d, int32_t opt, uint32_t run_off, uint32_t nruns)
{
    if (cpn_grow(&L->cand, &L->cand_cap, *n + 1, sizeof *L->cand))
        return -ENOMEM;
    L->cand[*n].d = d;
    L->cand[*n].opt = opt;
    L->cand[*n].run_off = run_off;
    L->cand[*n].nruns = nruns;
    (*n)++;
    return 0;
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

/* Capacity and power price of occupying [s, e) on the option's pool. */
static long double occ_price(const struct lp *L, const struct lp_opt *o, int32_t s, int32_t e)
{
    size_t n1 = (size_t)L->nslots + 1;
    const long double *m = L->res_dual + (size_t)o->pool * n1;
    const long double *v = L->res_dual + (L->net->npools + (size_t)o->cluster) * n1;
    return (long double)o->units * (m[s] - m[e]) + (long double)o->kw * (v[s] - v[e]);
}

/* Best window of a contiguous option not yet in the LP. */
static int price_window(struct lp *L, int32_t oi, double pi, bool initial, size_t *n)
{
    const struct lp_opt *o = &L->opts[oi];
    const struct lp_job *jb = &L->jobs[o->job];
    double best = INFINITY;
    int32_t best_s = -1;
    for (int32_t s = o->lo; s <= o->hi; s++) {
        struct cpn_slot_run run = { s, o->k };
        double c = o->fixed_obj + o->e_kwh * (double)lp_window_rate(L, o, s);
        double d = c + (initial ? 0.0 : (double)occ_price(L, o, s, s + o->k)) - pi;
        if (!(d < best) || (!initial && !(d < thr_of(c))))
            continue;
        if (jb->ceiling > 0 &&
            (o->fixed_money + o->e_kwh * (double)lp_window_money(L, o, s)) * 1e6 >
                jb->ceiling * 1e6 + 0.5)
            continue;
        if (!initial && lp_find(L, oi, &run, 1) >= 0)
            continue;
        best = d;
        best_s = s;
    }
    if (best_s < 0)
        return 0;
    if (add_run(L, best_s, o->k))
        return -ENOMEM;
    return lp_push(L, n, best, oi, (uint32_t)L->ncruns - 1, 1);
}

/* ---- sets of slots of interruptible jobs
 * --------------------------------------------------------- */

static void heap_down(double *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        double tmp;
        if (l < n && h[l] > h[m])
            m = l;
        if (r < n && h[r] > h[m])
            m = r;
        if (m == i)
            return;
        tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

static void heap_up(double *h, size_t i)
{
    while (i > 0 && h[(i - 1) / 2] < h[i]) {
        double tmp = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
}

double lp_best_pattern(
    struct lp *L, const struct lp_opt *o, const double *full, const double *last, int32_t *lastp)
{
    size_t m = (size_t)o->k - 1, hn = 0;
    long double sum = 0;
    double best = INFINITY;
    *lastp = -1;
    for (int32_t t = o->lo; t < o->hi; t++) {
        size_t i = (size_t)(t - o->lo);
        if (hn == m) {
            double v = (double)(sum + last[i]);
            if (v < best) {
                best = v;
                *lastp = t;
            }
        }
        /* slot t joins the k - 1 cheapest seen so far when it is among them */
        if (m == 0)
            continue;
        if (hn < m) {
            L->heap[hn++] = full[i];
            heap_up(L->heap, hn - 1);
            sum += full[i];
        } else if (full[i] < L->heap[0]) {
            sum += (long double)full[i] - L->heap[0];
            L->heap[0] = full[i];
            heap_down(L->heap, hn, 0);
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

int lp_pattern_runs(struct lp *L, const struct lp_opt *o, const double *full, int32_t lastp)
{
    size_t m = (size_t)o->k - 1, cnt = 0;
    uint32_t nr = 0;
    for (int32_t t = o->lo; t < lastp; t++) {
        L->slots[cnt].c = full[t - o->lo];
        L->slots[cnt].t = t;
        cnt++;
    }
    qsort(L->slots, cnt, sizeof *L->slots, slot_cmp);
    qsort(L->slots, m, sizeof *L->slots, slot_t_cmp);
    L->slots[m].t = lastp;
    for (size_t i = 0; i <= m; i++) {
        int32_t t = L->slots[i].t;
        if (nr && L->cruns[L->ncruns - 1].start + L->cruns[L->ncruns - 1].len == t) {
            L->cruns[L->ncruns - 1].len++;
            continue;
        }
        if (add_run(L, t, 1))
            return -ENOMEM;
        nr++;
    }
    return (int)nr;
}

/* Best set of k slots of an interruptible option, when it prices out and is not in the LP. */
static int price_slots(struct lp *L, int32_t oi, double pi, bool initial, size_t *n)
{
    const struct lp_opt *o = &L->opts[oi];
    const double *rt = L->rate + (size_t)o->zone * (size_t)L->nslots;
    double v, d;
    int32_t lastp;
    uint32_t off = (uint32_t)L->ncruns;
    int nr;
    for (int32_t t = o->lo; t < o->hi; t++) {
        double e = o->e_kwh * rt[t];
        double q = initial ? 0.0 : (double)occ_price(L, o, t, t + 1);
        L->full[t - o->lo] = e + q;
        L->last[t - o->lo] = o->w * e + q;
    }
    v = lp_best_pattern(L, o, L->full, L->last, &lastp);
    d = o->fixed_obj + v - pi;
    if (lastp < 0 || (!initial && !(d < thr_of(o->fixed_obj + v))))
        return 0;
    nr = lp_pattern_runs(L, o, L->full, lastp);
    if (nr < 0)
        return nr;
    if (!initial && lp_find(L, oi, L->cruns + off, (uint32_t)nr) >= 0) {
        L->ncruns = off;
        return 0;
    }
    return lp_push(L, n, d, oi, off, (uint32_t)nr);
}

/* ---- per job
 * ------------------------------------------------------------------------------------- */

/* Keeps the keep candidates of [first, *n) with the lowest reduced cost (ties: option order). */
static void keep_best(struct lp *L, size_t first, size_t *n, size_t keep)
{
    size_t ng = *n - first, *ord = L->grp_o;
    if (ng <= keep)
        return;
    for (size_t i = 0; i < ng; i++)
        ord[i] = first + i;
    for (size_t i = 0; i < keep; i++) {
        size_t b = i, tmp;
        for (size_t j = i + 1; j < ng; j++)
            if (L->cand[ord[j]].d < L->cand[ord[b]].d)
                b = j;
        tmp = ord[i];
        ord[i] = ord[b];
        ord[b] = tmp;
    }
    /* the kept ones in their original order; their runs stay where they are */
    for (size_t i = 0; i < keep; i++)
        for (size_t j = i + 1; j < keep; j++)
            if (ord[j] < ord[i]) {
                size_t tmp = ord[i];
                ord[i] = ord[j];
                ord[j] = tmp;
            }
    for (size_t i = 0; i < keep; i++)
        L->cand[first + i] = L->cand[ord[i]];
    *n = first + keep;
}

int lp_price_job(struct lp *L, size_t j, bool initial, size_t keep, size_t *n)
{
    const struct lp_job *jb = &L->jobs[j];
    double pi = initial ? 0 : lp_dual(L, jb->row);
    size_t first = *n;
    if (initial)
        keep = 1;
    for (int32_t i = 0; i < jb->opt_count; i++) {
        int32_t oi = jb->opt_first + i;
        int rc =
            jb->intr ? price_slots(L, oi, pi, initial, n) : price_window(L, oi, pi, initial, n);
        if (rc)
            return rc;
    }
    if (keep > 0)
        keep_best(L, first, n, keep);
    return 0;
}
