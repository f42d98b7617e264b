/* SPDX-License-Identifier: Apache-2.0 */
/* What the LP bound's files share: the options of every job (one per feasible pool), the columns
 * generated so far (each one placement of one job: its slots as runs), the duals of the last
 * solve and the GLPK problem. lp_setup.c builds the options and the per-zone signal sums,
 * lp_greedy.c the starting placement, lp_price.c prices columns against the duals, lp.c drives
 * GLPK (rows, columns, the column-generation loop) and fills the result. */
#ifndef CPN_SCHED_LP_INT_H
#define CPN_SCHED_LP_INT_H

#include <glpk.h>

#include "cpnet/sched.h"

/* One feasible pool of one job, with everything the cost of its columns needs. */
struct lp_opt {
    int32_t job;  /* index into struct lp jobs */
    int32_t pool; /* network pool index */
    int32_t cluster;
    int32_t zone;
    int32_t k;      /* slots occupied */
    int32_t lo, hi; /* contiguous: start slots [lo, hi]; interruptible: slots [lo, hi) */
    double w;       /* weight of the last slot in time, (0, 1] */
    double e_kwh;   /* facility energy of one full slot */
    double kw;      /* facility power */
    double units;
    double fixed_obj;   /* money_weight x (rental + transfer) */
    double fixed_money; /* rental + transfer, CNY */
};

/* A job with at least one feasible option. */
struct lp_job {
    int32_t src;       /* index into the jobset */
    bool intr;         /* interruptible */
    double ceiling;    /* price ceiling, CNY; 0 = none */
    int row;           /* GLPK convexity row */
    int32_t opt_first; /* options opts[opt_first .. opt_first + opt_count) */
    int32_t opt_count;
    double penalty; /* objective of the "unplaced" slack */
};

/* A generated column: one placement of one job on one option's pool, its slots as runs sorted by
 * time (one run for a contiguous job). */
struct lp_col {
    int gcol; /* GLPK column index */
    int32_t opt;
    uint32_t run_off, nruns; /* L->runs[run_off .. run_off + nruns) */
    double obj, carbon_kg, energy_kwh, money_cny;
};

/* A candidate column found by pricing or by the greedy placement; runs in L->cruns. */
struct lp_cand {
    double d; /* reduced cost */
    int32_t opt;
    uint32_t run_off, nruns;
};

/* A slot and its cost, for choosing slots. */
struct lp_slot {
    double c;
    int32_t t;
};

struct lp {
    const struct cpn_network *net;
    const struct cpn_jobset *js;
    double money_weight, carbon_cny_per_kg;
    int64_t t0;
    int32_t nslots;
    double slot_s;

    /* Per zone and slot (row z at z * nslots): effective CI g/kWh, price CNY/kWh and the objective
     * rate CNY/kWh; prefix sums (row z at z * (nslots + 1)) in long double. */
    double *ci, *price, *rate;
    long double *ci_pre, *price_pre, *rate_pre;

    struct lp_job *jobs;
    size_t njobs, ninfeasible;
    struct lp_opt *opts;
    size_t nopts, opts_cap;

    struct lp_col *cols;
    size_t ncols, cols_cap;
    struct cpn_slot_run *runs; /* runs of the columns */
    size_t nruns, runs_cap;
    /* Map from a column's (opt, runs) hash to its index, open addressing; hash 0 marks an empty
     * slot. Equal hashes are told apart by comparing the runs. */
    uint64_t *hash;
    int32_t *hash_val;
    size_t hash_cap, hash_n;

    /* Resources: pools 0..npools-1 (units), then clusters (facility power kW). A resource whose
     * limit the solution has broken gets a chain over all slots (row r * nslots + t): a load
     * column load[t] in [0, limit] and the rows load[t] - load[t-1] = (what starts at t) - (what
     * ends at t), so a column has two entries per run and resource whatever its length.
     * 0 = no chain. */
    size_t nres;
    int *res_row, *res_load;
    /* Duals of the last solve: every row (by GLPK index; rows added since read as 0), and per
     * resource the chain duals d[t] (d[nslots] = 0): occupying [s, e) costs coef x (d[s] - d[e]).
     */
    double *rdual;
    size_t rdual_n;
    long double *res_dual;
    double *x;   /* primal values of the generated columns */
    double *use; /* resource use per slot */

    /* Scratch: candidates and their runs, per-slot costs and a heap for patterns, group bounds
     * and scores of one job's candidates, index/value arrays for GLPK (1-based). */
    struct lp_cand *cand;
    size_t cand_cap;
    struct cpn_slot_run *cruns;
    size_t ncruns, cruns_cap;
    double *full, *last, *heap;
    struct lp_slot *slots;
    size_t *grp_o;
    int *ind;
    double *val;
    size_t iv_cap;

    glp_prob *prob;
};

/* Dual of GLPK row r in the last solve (0 for rows added since, and for r == 0). */
static inline double lp_dual(const struct lp *L, int r)
{
    return r > 0 && (size_t)r < L->rdual_n ? L->rdual[r] : 0.0;
}

/* Resource limit (pool units or cluster power cap); 0 = unlimited. */
static inline double lp_res_limit(const struct lp *L, size_t r)
{
    const struct cpn_network *net = L->net;
    if (r < net->npools)
        return net->pools[r].units == CPN_UNLIMITED ? 0.0 : (double)net->pools[r].units;
    return net->clusters[r - net->npools].power_cap_kw > 0
               ? net->clusters[r - net->npools].power_cap_kw
               : 0.0;
}

/* The two resources of an option and its use of each. */
static inline void
lp_opt_res(const struct lp *L, const struct lp_opt *o, size_t r[2], double coef[2])
{
    r[0] = (size_t)o->pool;
    coef[0] = o->units;
    r[1] = L->net->npools + (size_t)o->cluster;
    coef[1] = o->kw;
}

/* Reads the signals and builds jobs and options (lp_setup.c). */
int lp_setup(struct lp *L, const struct cpn_signals *sig, struct cpn_error *err);
/* Objective, carbon, energy and money of a placement of option opt on the given runs (lp_setup.c).
 * Every slot weighs 1 except the last in time, which weighs w. */
void lp_runs_costs(const struct lp *L,
                   int32_t opt,
                   const struct cpn_slot_run *runs,
                   uint32_t nruns,
                   struct lp_col *out);
/* The objective rate (or money) of the energy of a window of a contiguous option from start s. */
long double lp_window_rate(const struct lp *L, const struct lp_opt *o, int32_t s);
long double lp_window_money(const struct lp *L, const struct lp_opt *o, int32_t s);

/* Best set of k slots of an interruptible option's window [lo, hi), given the cost full[t - lo]
 * of slot t when it is not the last in time and last[t - lo] when it is: the minimum over the
 * last slot l of last[l] + the k - 1 smallest full[t], t < l (lp_price.c). Returns the value and
 * the last slot in *lastp (INFINITY and -1 when the window is shorter than k). */
double lp_best_pattern(
    struct lp *L, const struct lp_opt *o, const double *full, const double *last, int32_t *lastp);
/* Appends to L->cruns the runs of that set (the k - 1 cheapest full slots before lastp, then
 * lastp) and returns their count, or -ENOMEM. */
int lp_pattern_runs(struct lp *L, const struct lp_opt *o, const double *full, int32_t lastp);

/* The column map (lp_price.c): lp_find gives the index of the column of opt on runs, or -1;
 * lp_put records column col (0 or -ENOMEM). */
int32_t lp_find(const struct lp *L, int32_t opt, const struct cpn_slot_run *runs, uint32_t nruns);
int lp_put(struct lp *L, int32_t col);
/* Appends a candidate whose runs are L->cruns[run_off ..] (0 or -ENOMEM). */
int lp_push(struct lp *L, size_t *n, double d, int32_t opt, uint32_t run_off, uint32_t nruns);

/* Appends the candidate columns of a capacity-feasible placement built job after job, least
 * flexible first, each at its cheapest option that still fits (lp_greedy.c). 0 or -ENOMEM. */
int lp_greedy(struct lp *L, size_t *n);
/* Prices job jb against the duals in L and appends its candidate columns to L->cand from *n on:
 * per option its best column when it prices out, for the keep options with the lowest reduced
 * cost. initial = true ignores the duals and thresholds and keeps the cheapest option only: the
 * job's best placement when capacity is ignored. 0 or -ENOMEM. */
int lp_price_job(struct lp *L, size_t jb, bool initial, size_t keep, size_t *n);

#endif
