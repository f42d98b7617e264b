/* SPDX-License-Identifier: Apache-2.0 */
/* What the simulator's files share: the run state and the compact per-job record, and the helpers
 * between the event loop (sim.c), what events do to placements (sim_place.c) and the bookkeeping
 * (sim_record.c). A record is 64 bytes; the slots of interruptible jobs and the pieces cut by
 * outages live in growing side arrays, so a run of millions of jobs stays within a few hundred
 * bytes per job (the jobset included). */
#ifndef CPN_SIM_INT_H
#define CPN_SIM_INT_H

#include "cpnet/sim.h"

#define SIM_NONE UINT32_MAX

/* The state of one job. start_s/end_s/pool/nslots describe the final (or current) placement; aux
 * is the first of its runs in sim->runs for an interruptible job, or the offset of the rejection
 * message in sim->reasons for a rejected one. */
struct sim_rec {
    int64_t start_s;
    int64_t end_s;
    double energy_kwh; /* every piece, by the actual signals (set when the run ends) */
    double carbon_kg;
    int64_t cost_ucny;
    int32_t pool; /* -1 when not placed */
    int32_t nslots;
    uint32_t aux;
    uint32_t nruns;
    uint32_t seg;   /* newest piece cut by an outage, or SIM_NONE */
    uint8_t status; /* enum cpn_sim_status */
    uint8_t pad;
    uint16_t restarts;
};

_Static_assert(sizeof(struct sim_rec) == 64, "the per-job record stays at 64 bytes");

/* A piece of a job that an outage cut: what ran before the cut. */
struct sim_seg {
    uint32_t job;
    int32_t pool;
    uint32_t run_off; /* in sim->runs */
    uint32_t nruns;
    int64_t cut_s;
    double work;   /* share of the job's work done; 0 for a wasted run */
    uint32_t prev; /* the older cut piece of the same job, or SIM_NONE */
    bool wasted;
};

/* Decision latencies: a log-linear histogram (16 buckets per power of two) of nanoseconds. */
#define SIM_LAT_SUB     16
#define SIM_LAT_BUCKETS (64 * SIM_LAT_SUB)

struct cpn_sim {
    struct cpn_sim_config cfg;
    const struct cpn_network *net;
    const struct cpn_jobset *js;
    const struct cpn_signals *actual;   /* cfg.signals */
    const struct cpn_signals *decision; /* cfg.signals, or the revised copy below */
    struct cpn_signals *revised;        /* owned: decision forecasts redrawn at each revision */
    double *rev_sigma;                  /* per zone: pct/100 x mean actual CI on the horizon */
    struct cpn_engine *engine;
    int64_t slot_s;
    int64_t end_s;       /* horizon end: the deadline of jobs with none */
    struct sim_rec *rec; /* one per job of the jobset */
    struct cpn_slot_run *runs;
    size_t nruns, runs_cap, runs_garbage;
    struct sim_seg *segs;
    size_t nsegs, segs_cap;
    struct cpn_buf reasons;
    uint32_t *live; /* placed jobs that may not have finished, in arrival order */
    size_t nlive, live_cap, live_compacted;
    uint32_t *deferred; /* rejected while a cluster was down: retried when one comes back */
    size_t ndeferred, deferred_cap;
    int32_t ndown; /* clusters down now */
    uint64_t lat_hist[SIM_LAT_BUCKETS];
    int64_t decide_ns;
    struct cpn_sim_summary sum;
};

static inline int32_t sim_pool_cluster(const struct cpn_sim *s, int32_t pool)
{
    return s->net->pools[pool].cluster;
}

static inline int32_t sim_slot_of(const struct cpn_sim *s, int64_t t)
{
    return (int32_t)cpn_floordiv(t - s->cfg.t0, s->slot_s);
}

/* The job as the engine must see it now: the deadline of a job with none is the horizon end; after
 * an outage cut, it starts no earlier than the cut and only the work not done remains. Returns job
 * itself when nothing changes, else tmp filled. */
const struct cpn_job *sim_job_view(const struct cpn_sim *s, uint32_t i, struct cpn_job *tmp);

/* Accounting by the actual signals of one piece: slots in runs (weights 1 except the last in time,
 * last_w), on pool. Adds to the sums given; hourly (when not NULL) receives busy unit-seconds
 * (finite pools only), energy and carbon per cluster-hour. */
struct sim_acct {
    double energy_kwh, carbon_kg, elec_cny, green_kwh, west_kwh, run_s;
    double rental_ucny, transfer_ucny;
};
struct sim_hourly {
    int64_t t0; /* first hour start */
    size_t nhours;
    double *busy;   /* nclusters x nhours unit-seconds */
    double *energy; /* kWh */
    double *carbon; /* kg */
};
void sim_account_piece(const struct cpn_sim *s,
                       const struct cpn_job *job,
                       int32_t pool,
                       const struct cpn_slot_run *runs,
                       uint32_t nruns,
                       double last_w,
                       struct sim_acct *a,
                       struct sim_hourly *hourly);
/* Accounts every piece of job i into a (zeroed first) and, when given, into hourly. */
void sim_account_job(const struct cpn_sim *s,
                     uint32_t i,
                     struct sim_acct *a,
                     struct sim_hourly *hourly);
/* Money of an account in micro-yuan. */
int64_t sim_acct_cost_ucny(const struct sim_acct *a);

/* Redraws the decision forecasts of the 24 h after t (revision number rev). */
void sim_forecast_revise(struct cpn_sim *s, int64_t t, uint64_t rev);
/* Creates s->revised as a copy of the decision signals over the horizon. 0 or -ENOMEM. */
int sim_forecast_init(struct cpn_sim *s, struct cpn_error *err);
void sim_forecast_free(struct cpn_sim *s);

/* ---- bookkeeping (sim_record.c) ---- */

/* Share of the job's work done by the cut pieces from seg back. */
double sim_seg_done(const struct cpn_sim *s, uint32_t seg);
/* Records one decision's latency of ns nanoseconds. */
void sim_lat_record(struct cpn_sim *s, int64_t ns);
/* The q quantile of the recorded decision latencies, in microseconds (0 without any). */
double sim_lat_quantile_us(const struct cpn_sim *s, double q);
/* Appends n runs to s->runs, their offset in *off. 0 or -ENOMEM. */
int sim_runs_push(struct cpn_sim *s, const struct cpn_slot_run *r, uint32_t n, uint32_t *off);
/* Appends job i to the live list. 0 or -ENOMEM. */
int sim_live_push(struct cpn_sim *s, uint32_t i);
/* Drops jobs that are not placed or have finished by t from the live list. */
void sim_live_compact(struct cpn_sim *s, int64_t t);
/* The committed placement of job i as the engine saw it, its runs copied into scratch (room for
 * the record's runs, or one). */
void sim_rec_placement(const struct cpn_sim *s,
                       uint32_t i,
                       struct cpn_slot_run *scratch,
                       struct cpn_placement *p);
/* Stores placement p in job i's record. 0 or -ENOMEM. */
int sim_store_placement(struct cpn_sim *s, uint32_t i, const struct cpn_placement *p);
/* Marks job i not placed (its runs become garbage). */
void sim_unplace(struct cpn_sim *s, uint32_t i);

/* ---- events on placements (sim_place.c) ---- */

/* Decides and commits job i at now; on infeasibility rejects it with prefix + reason (held for a
 * retry while a cluster is down). 0 or a fatal error. */
int sim_place(
    struct cpn_sim *s, uint32_t i, int64_t now, const char *prefix, struct cpn_error *err);
/* A cluster came back at t: the held jobs are tried again. 0 or a fatal error. */
int sim_retry_deferred(struct cpn_sim *s, int64_t t, struct cpn_error *err);
/* Re-plans the placed jobs that have not started by t; the count of them in *pending. scratch
 * (capacity *cap) is grown as needed and owned by the caller. 0 or a fatal error. */
int sim_replan(struct cpn_sim *s,
               int64_t t,
               struct cpn_slot_run **scratch,
               size_t *cap,
               size_t *pending,
               struct cpn_error *err);
/* Cluster c goes down at t: pending placements on it are re-placed, running ones cut. scratch as
 * for sim_replan. 0 or a fatal error. */
int sim_outage_start(struct cpn_sim *s,
                     int32_t c,
                     int64_t t,
                     struct cpn_slot_run **scratch,
                     size_t *cap,
                     struct cpn_error *err);

#endif
