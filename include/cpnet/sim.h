/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet/sim.h: the discrete-event simulator. It drives the placement engine (cpnet/sched.h) on a
 * virtual clock over a demand trace: job arrivals, forecast revisions with re-planning and cluster
 * outages; decisions use the decision (forecast) signals, the emissions and money of what ran are
 * accounted with the actual signals. An independent checker re-verifies every placement against the
 * hard constraints from the raw inputs. docs/sim.md describes the event model.
 * Thread: a simulation is used by one thread at a time. */
#ifndef CPNET_SIM_H
#define CPNET_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpnet/model.h"
#include "cpnet/sched.h"

/* ---- horizon ------------------------------------------------------------------------------------
 */
/* Which jobs a run takes (arrivals in [start_s, end_s)) and how long its horizon is. */
struct cpn_sim_window {
    int64_t start_s;     /* INT64_MIN: from the first arrival */
    int64_t end_s;       /* INT64_MAX: to the last arrival */
    double horizon_days; /* 0: long enough for every job (docs/sim.md#horizon) */
};
/* Whether job js->v[i] arrives inside w (its arrival is submit_s). */
bool cpn_sim_selected(const struct cpn_job *job, const struct cpn_sim_window *w);
/* Computes the horizon of a run: t0 = the earliest arrival or earliest start of the selected jobs,
 * floored to the slot; the end covers every finite deadline and earliest + duration, and at least
 * 7 days past the last earliest start (or t0 + horizon_days when given). 0, or CPN_EFIELD when no
 * job is selected or the horizon exceeds the slot index range. */
int cpn_sim_horizon(const struct cpn_network *net,
                    const struct cpn_jobset *js,
                    const struct cpn_sim_window *w,
                    int64_t *t0,
                    int32_t *nslots,
                    struct cpn_error *err);

/* ---- a run --------------------------------------------------------------------------------------
 */
struct cpn_sim_config {
    const struct cpn_network *net;
    const struct cpn_signals *signals; /* actual series, and forecasts for decisions where given */
    const struct cpn_jobset *jobs;
    struct cpn_policy policy;
    struct cpn_sim_window window;
    int64_t t0; /* from cpn_sim_horizon */
    int32_t nslots;
    int64_t replan_every_s; /* > 0: re-plan not-yet-started jobs at t0 + k * replan_every_s */
    /* > 0 together with replan_every_s: at each re-plan the decision forecast of the next 24 h is
     * redrawn as actual + N(0, (pct/100 x mean(actual) x min(1, lead_h / 24))^2). */
    double revise_error_pct;
    uint64_t seed;
    bool keep_reasons; /* keep each rejection's message for the per-job output */
};

struct cpn_sim_summary {
    char policy[24];
    size_t jobs;   /* selected jobs */
    double placed; /* jobs placed (fractional only for an LP bound) */
    double rejected;
    size_t violations;    /* by the independent checker */
    size_t restarts;      /* running non-interruptible jobs restarted after an outage */
    size_t replans;       /* placements moved by a re-plan */
    size_t decisions;     /* calls of cpn_engine_decide */
    double energy_kwh;    /* facility energy of everything that ran, wasted partial runs included */
    double carbon_kg;     /* by the actual signals */
    double cost_cny;      /* rental + electricity (actual price) + transfer */
    double objective_cny; /* the policy's objective: money weight x cost + carbon price x carbon */
    double objective_bound_cny; /* LP bound only: a lower bound on objective_cny; else NAN */
    double mean_wait_h;         /* placed jobs: first start - max(submit, earliest) */
    double green_share;         /* energy-weighted green share of the supply */
    double west_share;          /* share of the energy drawn in hubs of region west */
    double decisions_per_s;
    double decision_p50_us;
    double decision_p99_us;
    bool lp_bound; /* figures of cpn_lp_bound, not of a run: no per-job results */
};

struct cpn_sim;
/* Runs one policy over the selected jobs. Borrowed: everything in cfg must outlive the result.
 * 0, -ENOMEM, -EINVAL or CPN_EFIELD (err says why). Free with cpn_sim_destroy(). */
int cpn_sim_run(const struct cpn_sim_config *cfg, struct cpn_sim **out, struct cpn_error *err);
void cpn_sim_destroy(struct cpn_sim *s);
const struct cpn_sim_summary *cpn_sim_summary(const struct cpn_sim *s);

enum cpn_sim_status {
    CPN_SIM_SKIPPED,   /* not selected by the window */
    CPN_SIM_PLACED,    /* placed once and ran as planned */
    CPN_SIM_RESTARTED, /* restarted from scratch after an outage cut its run */
    CPN_SIM_RESUMED,   /* interruptible: kept what ran before an outage, the rest re-placed */
    CPN_SIM_REJECTED,  /* no feasible placement (at arrival, or after an outage) */
};
const char *cpn_sim_status_name(enum cpn_sim_status s);

/* One job's result (accounting over every piece of it that ran). */
struct cpn_sim_job {
    enum cpn_sim_status status;
    int32_t cluster; /* final placement; -1 when not placed */
    int32_t pool;
    int64_t start_s; /* final placement */
    int64_t end_s;
    int32_t nslots;
    uint32_t restarts;
    double energy_kwh;
    double carbon_kg;
    double cost_cny;
    double wait_h;      /* NaN when not placed */
    double latency_ms;  /* NaN when not placed */
    const char *reason; /* "" unless rejected (and keep_reasons) */
};
/* Result of job js->v[i]. */
void cpn_sim_job(const struct cpn_sim *s, size_t i, struct cpn_sim_job *out);

/* Writes one CSV row per selected job (header when header is true):
 * [policy,]id,status,cluster,pool,
 * start,end,slots,energy_kwh,carbon_kg,cost_cny,wait_h,latency_ms,reason. policy NULL omits the
 * column. Doubles are printed with %.17g. 0 or -errno. */
int cpn_sim_write_jobs(const struct cpn_sim *s, FILE *f, const char *policy, bool header);
/* Writes policy,cluster,hour,utilisation,power_kw,carbon_kg: one row per cluster and hour of the
 * horizon. 0, -ENOMEM or -errno. */
int cpn_sim_write_clusters(const struct cpn_sim *s, FILE *f, const char *policy, bool header);

/* ---- the independent checker --------------------------------------------------------------------
 */
/* A piece of work of one job on one pool: a whole placement, or the part of one that an outage cut.
 * Its slots are runs[run_off .. run_off + nruns) of the schedule, in time order. */
enum cpn_piece_kind {
    CPN_PIECE_FINAL,  /* the placement that completes the job */
    CPN_PIECE_KEPT,   /* an interruptible job's slots that ran before an outage */
    CPN_PIECE_WASTED, /* a non-interruptible job's partial run lost to an outage */
};
struct cpn_sim_piece {
    uint32_t job; /* index into the jobset */
    int32_t pool;
    uint32_t run_off;
    uint32_t nruns;
    int64_t not_before_s; /* when it could start at the earliest (an outage cut): 0 = none */
    double work;          /* share of the job's work it completes (0 for a wasted run) */
    enum cpn_piece_kind kind;
};
struct cpn_sim_schedule {
    struct cpn_sim_piece *pieces;
    size_t npieces;
    struct cpn_slot_run *runs;
    size_t nruns;
};
/* The pieces of a finished run (owned by the caller: cpn_sim_schedule_free). 0 or -ENOMEM. */
int cpn_sim_schedule(const struct cpn_sim *s, struct cpn_sim_schedule *out);
void cpn_sim_schedule_free(struct cpn_sim_schedule *sch);

enum cpn_check {
    CPN_CHECK_CLASS,     /* class, device, minimum TFLOPS */
    CPN_CHECK_SIZE,      /* units above the pool's */
    CPN_CHECK_LATENCY,   /* RTT above max_rtt_ms */
    CPN_CHECK_RESIDENCY, /* hub or cluster not allowed */
    CPN_CHECK_RELEASE,   /* starts before submit, earliest or its outage cut */
    CPN_CHECK_DEADLINE,  /* ends after the deadline (or the horizon) */
    CPN_CHECK_CAPACITY,  /* a pool's units exceeded in a slot */
    CPN_CHECK_POWER,     /* a cluster's power cap exceeded in a slot */
    CPN_CHECK_PRICE,     /* cost by the decision signals above the price ceiling */
    CPN_CHECK_DOWN,      /* runs on a cluster during its outage */
    CPN_CHECK_SHAPE,     /* runs malformed: outside the horizon, overlapping, wrong length, work */
    CPN_CHECK_COUNT
};
const char *cpn_check_name(enum cpn_check c);

struct cpn_sim_verify_input {
    const struct cpn_network *net;
    const struct cpn_signals *signals; /* decision signals, for the price ceiling */
    const struct cpn_jobset *jobs;
    int64_t t0;
    int32_t nslots;
    const struct cpn_sim_schedule *schedule;
};
/* Re-checks every piece against every hard constraint from the raw inputs, recomputing pool
 * occupancy and cluster power per slot from scratch. Returns the number of violations; counts
 * (when not NULL) receives them per check, and first (when not NULL) a message on the first one.
 * Returns SIZE_MAX when out of memory. */
size_t cpn_sim_verify(const struct cpn_sim_verify_input *in,
                      size_t counts[CPN_CHECK_COUNT],
                      char *first,
                      size_t first_len);

#endif
