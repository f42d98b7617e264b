/* SPDX-License-Identifier: Apache-2.0 */
/* What the engine's own files share: the engine structure (horizon, per-zone decision series and
 * their prefix sums, per-pool free-capacity timelines, per-cluster power headroom, the candidate
 * index) and the helpers between engine.c (state), timeline.c (capacity) and decide.c (search). */
#ifndef CPN_SCHED_ENGINE_INT_H
#define CPN_SCHED_ENGINE_INT_H

#include "cpnet/sched.h"

/* The chosen slots of an interruptible job: sums of the series over them (the last in time at
 * its fraction), their first and last slot, and a lower bound of the objective sum of any k slots
 * of the window (the k cheapest with the dearest of them at the fraction). */
struct slot_pick {
    long double os, cs, ps, lb;
    int32_t tmin, tmax;
};

/* A zone's best unobstructed contiguous window in the current decision (see scan_contiguous),
 * and its k cheapest slots of an interruptible job's window (see scan_slots). */
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
    void *evals; /* per-pool evaluations of one decision (struct eval, decide.c) */
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

/* Pool p as a candidate for jobs from site (engine.c). */
void eng_cand_fill(const struct cpn_engine *e, int32_t site, int32_t p, struct eng_cand *cd);

/* Recomputes per-zone series and prefix sums from the decision signals (engine.c). */
int eng_load_signals(struct cpn_engine *e, struct cpn_error *err);

#endif
