/* SPDX-License-Identifier: Apache-2.0 */
/* What the engine's own files share: the engine structure (horizon, per-zone decision series and
 * their prefix sums, per-pool free-capacity timelines, per-cluster power headroom, the candidate
 * index), the per-pool evaluation of a decision, and the helpers between engine.c (state) and the
 * search: decide.c (walk and ranking), decide_pool.c (per-pool checks, bounds), decide_scan.c
 * (timelines). */
#ifndef CPN_SCHED_ENGINE_INT_H
#define CPN_SCHED_ENGINE_INT_H

#include <math.h>

#include "cpnet/sched.h"

/* The chosen slots of an interruptible job: sums of the series over them (the last in time at
 * its fraction), their first and last slot, and a lower bound of the objective sum of any k slots
 * of the window (the k cheapest with the dearest of them at the fraction). */
struct slot_pick {
    long double os, cs, ps, lb;
    int32_t tmin, tmax;
};

/* A zone's best unobstructed contiguous window in the current decision (see eng_scan_contiguous),
 * and its k cheapest slots of an interruptible job's window (see eng_scan_slots). */
struct zone_best {
    uint64_t stamp; /* the decision it belongs to */
    int32_t k, r, last, s;
    double wlast;
    long double cost;
    uint64_t istamp; /* the decision of the interruptible entry */
    int32_t ik, ir, iend;
    double iwlast;
    struct slot_pick pick;
};

/* A slot with its decision cost, for choosing the cheapest slots of an interruptible job. */
struct cpn_slot_cost {
    double cost;
    int32_t t;
};

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

/* The job's window for a run time dur: slots k, first slot r, last start (contiguous) or end of
 * window (interruptible). The same for every pool when the duration does not depend on the pool. */
struct window {
    enum cpn_why why;
    int32_t k, r, hi, span_end;
    double dur, wlast, transfer_s;
};

/* A pool of the candidate index with what a decision's per-pool checks read, side by side. */
struct eng_cand {
    int32_t pool, cluster, zone, hub;
    double rtt_ms; /* from the list's origin site */
    double tflops_per_unit;
    double price_ucny_per_unit_h;
    int64_t units;
    const char *device;
    bool unlimited;
};

struct cpn_engine {
    const struct cpn_network *net;
    const struct cpn_signals *sig;
    struct cpn_policy pol;
    int64_t t0;
    int64_t slot_s;
    int32_t nslots;

    /* Per zone, per slot (row z starts at z * nslots; prefix rows at z * (nslots + 1)):
     * obj = money_weight * price + carbon_cny_per_kg * eff_ci / 1000, CNY per kWh;
     * ci = effective intensity g/kWh; price CNY/kWh. Prefix sums in long double so that window
     * sums over a year of slots keep ~1e-15 relative precision and ties stay ties. */
    double *obj;
    double *ci;
    double *price;
    long double *obj_pre;
    double *obj_pre_d; /* obj_pre rounded to double, for fast screening */
    long double *ci_pre;
    long double *price_pre;

    /* Per pool free units per slot (row p at p * nslots); unlimited pools have no row. */
    int64_t *free_units;
    bool *unlimited;
    /* Per cluster facility power headroom per slot, kW; rows only for capped clusters. */
    double *power_free;
    bool *capped;
    bool *up;

    /* Candidate index: for site s and class k, pools cand[off[s*K+k] .. off[s*K+k+1]) sorted by
     * RTT from s, then pool index. */
    struct eng_cand *cand;
    size_t *cand_off;

    /* Scratch reused by decide: runs of the last placement, slot costs. */
    struct cpn_slot_run *runs;
    size_t runs_cap;
    struct cpn_slot_cost *slots;
    size_t slots_cap;
    void *evals; /* per-pool evaluations of one decision (struct eval) */
    size_t evals_cap;
    struct zone_best *zbest; /* per zone */
    uint64_t stamp;          /* decisions made, to date the zbest entries */
    void *heap;              /* lower-bound heap of one decision (struct lb_item, decide.c) */
    size_t heap_cap;

    /* Sparse table of range minima of obj per zone: level l, slot t, zone z at
     * st[(l * nslots + t) * nzones + z] = min obj[t .. t + 2^l) (the zones of one slot side by
     * side: a decision reads the same two slots of every zone). NULL when it would be too large;
     * the lower bounds then fall back to 0 for the time-varying part. */
    double *st;
    int st_levels;
};

static inline int64_t *eng_free_row(const struct cpn_engine *e, int32_t pool)
{
    return e->free_units + (size_t)pool * (size_t)e->nslots;
}

static inline double *eng_power_row(const struct cpn_engine *e, int32_t cluster)
{
    return e->power_free + (size_t)cluster * (size_t)e->nslots;
}

/* Minimum of obj over slots [a, b) of zone z (a < b), or 0 without a sparse table. */
static inline double eng_range_min(const struct cpn_engine *e, int32_t z, int32_t a, int32_t b)
{
    int l;
    const double *lv;
    double x, y;
    if (!e->st || b <= a)
        return 0;
    l = 31 - __builtin_clz((unsigned)(b - a));
    lv = e->st + (size_t)l * (size_t)e->nslots * e->net->nzones + (size_t)z;
    x = lv[(size_t)a * e->net->nzones];
    y = lv[(size_t)(b - (1 << l)) * e->net->nzones];
    return x < y ? x : y;
}

#define TIE_REL 1e-12

/* Whether a and b are equal up to rounding: ties of objectives go to the earliest start. */
static inline bool eng_tie(double a, double b)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= TIE_REL * m;
}

/* Pool p as a candidate for jobs from site (engine.c). */
void eng_cand_fill(const struct cpn_engine *e, int32_t site, int32_t p, struct eng_cand *cd);

/* Recomputes per-zone series and prefix sums from the decision signals (engine.c). */
int eng_load_signals(struct cpn_engine *e, struct cpn_error *err);

/* The job's window on a pool where it runs dur seconds, released at release_t (decide_pool.c). */
void eng_job_window(const struct cpn_engine *e,
                    const struct cpn_job *job,
                    double dur,
                    int64_t release_t,
                    struct window *w);

/* Applies the constraints that do not depend on the timelines to candidate cd and fills ev with
 * the job's window on it (shared, when not NULL, for every pool). CPN_WHY_OK when a search is due
 * (decide_pool.c). */
enum cpn_why eng_prep_pool(const struct cpn_engine *e,
                           const struct cpn_jobset *js,
                           const struct cpn_job *job,
                           const struct eng_cand *cd,
                           int64_t release_t,
                           const struct window *shared,
                           struct eval *ev);

/* The timeline search of a pool prepared in ev, then the price ceiling; with nruns != NULL the
 * chosen slots are left as runs in e->runs (decide_pool.c). */
enum cpn_why
eng_search_pool(struct cpn_engine *e, const struct cpn_job *job, struct eval *ev, uint32_t *nruns);

/* Prepares and searches pool p in one go (decide_pool.c). */
enum cpn_why eng_eval_pool(struct cpn_engine *e,
                           const struct cpn_jobset *js,
                           const struct cpn_job *job,
                           int32_t p,
                           int64_t release_t,
                           struct eval *ev,
                           uint32_t *nruns);

/* A lower bound of the objective of prepared pool ev (decide_pool.c). */
double eng_lower_bound(const struct cpn_engine *e,
                       const struct cpn_job *job,
                       const struct eng_cand *cd,
                       const struct eval *ev);

/* Whether prepared pool pe provably cannot beat best (decide_pool.c). */
bool eng_cannot_win(const struct cpn_engine *e,
                    const struct cpn_job *job,
                    const struct eval *pe,
                    const struct eval *best);

/* Best contiguous window of pool p with k = ev->k slots starting in [r, last]; fills ev or returns
 * the reason (decide_scan.c). */
enum cpn_why eng_scan_contiguous(struct cpn_engine *e,
                                 const struct cpn_job *job,
                                 int32_t p,
                                 int32_t r,
                                 int32_t last,
                                 double kw,
                                 struct eval *ev);

/* The ev->k cheapest free slots of pool p in [r, D); with nruns != NULL also writes them as runs
 * in e->runs and their count (decide_scan.c). */
enum cpn_why eng_scan_slots(struct cpn_engine *e,
                            const struct cpn_job *job,
                            int32_t p,
                            int32_t r,
                            int32_t D,
                            double kw,
                            struct eval *ev,
                            uint32_t *nruns);

#endif
