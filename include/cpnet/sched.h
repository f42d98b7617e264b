/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet/sched.h: the placement engine. A pure library: the caller gives it a network, the decision
 * signals (forecasts) and its commitments; it answers where and when a job should run and why. It
 * never reads a clock, a file or a socket; `cpn sim` drives it on virtual time and `cpn serve` on
 * the real clock, so what is simulated is what runs.
 *
 * Time inside is a slot index on the horizon [t0, t0 + nslots * slot_s). A job occupies whole slots
 * for capacity; energy, carbon and money are computed for its exact duration.
 * Thread: an engine is used by one thread at a time. */
#ifndef CPNET_SCHED_H
#define CPNET_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "cpnet/model.h"

/* How a policy ranks the feasible options. */
enum cpn_rank {
    CPN_RANK_OBJECTIVE, /* lowest money + carbon price x carbon; ties: earliest start, then id */
    CPN_RANK_START_LATENCY, /* earliest start, then lowest latency (today's practice) */
};

/* A policy is a parameter set of the one objective. */
struct cpn_policy {
    char name[24];
    enum cpn_rank rank;
    double money_weight;      /* 0 or 1: whether money counts in the objective */
    double carbon_cny_per_kg; /* shadow carbon price */
    bool shift_time;          /* may start later than the earliest feasible slot */
    bool choose_space;        /* may choose among all feasible clusters */
};
/* Names: nearest, cheapest, greenest-now, green (default), optimal (an LP bound, see cpn_lp_*).
 * Fills out with the policy's parameters; -EINVAL for an unknown name. */
int cpn_policy_lookup(const char *name, struct cpn_policy *out);

/* Why an option was excluded. */
enum cpn_why {
    CPN_WHY_OK,
    CPN_WHY_CLASS,     /* pool of another class, device or too slow */
    CPN_WHY_SIZE,      /* pool smaller than the job's units */
    CPN_WHY_LATENCY,   /* RTT from the origin above the job's bound */
    CPN_WHY_RESIDENCY, /* hub/cluster not allowed for the job */
    CPN_WHY_DOWN,      /* cluster marked down */
    CPN_WHY_DEADLINE,  /* the window is too short even when idle (or beyond the horizon) */
    CPN_WHY_CAPACITY,  /* no free window of enough units before the deadline */
    CPN_WHY_POWER,     /* the cluster's power cap leaves no window */
    CPN_WHY_PRICE,     /* cheapest feasible window above the job's price ceiling */
    CPN_WHY_COUNT
};
const char *cpn_why_name(enum cpn_why w); /* "ok", "class", "size", "latency", ... */

/* A run of consecutive slots [start, start + len). */
struct cpn_slot_run {
    int32_t start;
    int32_t len;
};

struct cpn_placement {
    int32_t cluster;
    int32_t pool;
    int64_t start_s; /* first slot start (after data transfer) */
    int64_t end_s;   /* start of the last slot + the remaining duration */
    int32_t start_slot;
    int32_t nslots;                  /* slots occupied */
    uint32_t nruns;                  /* 1 for a contiguous job; more for an interruptible one */
    const struct cpn_slot_run *runs; /* borrowed: valid until the next decide on this engine */
    double duration_s;               /* exact run time on this pool */
    double energy_kwh;               /* facility energy: IT energy x PUE */
    double carbon_kg;  /* by the decision signals (the simulator re-accounts with actuals) */
    int64_t cost_ucny; /* rental + electricity + transfer */
    double objective;  /* the policy's objective value, CNY */
    double latency_ms; /* RTT origin -> cluster */
    double transfer_s; /* time to move the input data */
};

/* One scored option per cluster, for explanations. */
struct cpn_option {
    int32_t cluster;
    int32_t pool; /* -1 when the cluster has no pool of the class */
    enum cpn_why why;
    int64_t start_s;
    double objective;
    double carbon_kg;
    int64_t cost_ucny;
    double latency_ms;
};

#define CPN_EXPLAIN_MAX 128
struct cpn_explain {
    enum cpn_why why; /* CPN_WHY_OK when placed, else the reason of the best cluster */
    char detail[256]; /* one sentence, e.g. "no cluster within 5 ms has 64 free H800" */
    uint32_t n;
    struct cpn_option opts[CPN_EXPLAIN_MAX]; /* feasible first, by rank; then excluded */
};

struct cpn_engine_config {
    const struct cpn_network *net;
    const struct cpn_signals *signals; /* decision signals (forecast where present) */
    int64_t t0;                        /* horizon start, a multiple of net->slot_s */
    int32_t nslots;
    struct cpn_policy policy;
};

struct cpn_engine;
/* Creates an engine with empty commitments. Borrowed: net and signals must outlive it. Free with
 * cpn_engine_destroy(). 0, -ENOMEM, -EINVAL (err says which field). */
int cpn_engine_create(const struct cpn_engine_config *cfg,
                      struct cpn_engine **out,
                      struct cpn_error *err);
void cpn_engine_destroy(struct cpn_engine *e);
/* Re-reads the decision signals (after forecasts changed). */
int cpn_engine_refresh_signals(struct cpn_engine *e, struct cpn_error *err);
void cpn_engine_set_cluster_up(struct cpn_engine *e, int32_t cluster, bool up);
bool cpn_engine_cluster_up(const struct cpn_engine *e, int32_t cluster);

/* Decides a placement for job at time now_s (nothing starts before now). Changes no commitment.
 * js is the jobset the job belongs to (for its allowed clusters; may be NULL when it has none).
 * Returns 0 with *out filled, or CPN_EINFEASIBLE (err and, when ex is given, ex->detail say why).
 * When ex is not NULL it receives the scored options. */
int cpn_engine_decide(struct cpn_engine *e,
                      const struct cpn_jobset *js,
                      const struct cpn_job *job,
                      int64_t now_s,
                      struct cpn_placement *out,
                      struct cpn_explain *ex,
                      struct cpn_error *err);
/* Reserves the units (and power) of a placement. The placement must come from decide on this
 * engine with no commit in between, or be re-built with the same runs. */
int cpn_engine_commit(struct cpn_engine *e,
                      const struct cpn_job *job,
                      const struct cpn_placement *p);
/* Releases the reservation of a committed placement from slot from_slot on (to cancel or re-plan
 * a job; from_slot = 0 releases all of it). */
void cpn_engine_release(struct cpn_engine *e,
                        const struct cpn_job *job,
                        const struct cpn_placement *p,
                        int32_t from_slot);
/* Free units of a pool in a slot (CPN_UNLIMITED for unlimited pools). */
int64_t cpn_engine_free_units(const struct cpn_engine *e, int32_t pool, int32_t slot);
/* Horizon of the engine. */
int64_t cpn_engine_t0(const struct cpn_engine *e);
int32_t cpn_engine_nslots(const struct cpn_engine *e);

/* Exact run time of job on pool (from duration, or from work and the pool's speed). */
double cpn_job_duration_on(const struct cpn_job *job, const struct cpn_pool *pool);
/* Facility power of job on pool, kW: units x watts_busy x PUE / 1000. */
double cpn_job_power_kw(const struct cpn_job *job,
                        const struct cpn_pool *pool,
                        const struct cpn_cluster *c);

/* ---- the LP bound (policy "optimal") ------------------------------------------------------------
 * The LP relaxation of the time-indexed placement problem over all jobs at once, solved with GLPK
 * by column generation. Its objective is a lower bound on any policy's objective for the same
 * jobs, signals and capacities. Results per job are fractional. */
struct cpn_lp_result {
    double objective; /* CNY, by the policy weights */
    double carbon_kg; /* by the signals given */
    double energy_kwh;
    double cost_cny;
    double placed;     /* sum of job fractions placed (jobs with no feasible option excluded) */
    size_t infeasible; /* jobs with no feasible option at all */
    size_t columns;    /* columns generated */
    size_t rows;
    int iterations; /* pricing rounds */
    /* A lower bound on the objective of any placement (CNY): the LP optimum when column generation
     * converged, else the Lagrangian bound at which it stopped, within 1e-4 of objective. */
    double bound;
};
/* Solves the bound for js on net with signals sig (use the actual signals for a true bound) and
 * policy weights pol, on the horizon [t0, t0 + nslots*slot). 0, CPN_ESOLVER, -ENOMEM. */
int cpn_lp_bound(const struct cpn_network *net,
                 const struct cpn_signals *sig,
                 const struct cpn_jobset *js,
                 const struct cpn_policy *pol,
                 int64_t t0,
                 int32_t nslots,
                 struct cpn_lp_result *out,
                 struct cpn_error *err);

#endif
