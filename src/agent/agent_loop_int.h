/* SPDX-License-Identifier: Apache-2.0 */
/* What the files of the agent loop share (agent.c the loop and its platform calls, agent_jobs.c
 * the job table and events, agent_assign.c assignments, agent_cluster.c pools, registration and
 * telemetry): the loop's state and the steps the loop calls. Everything here runs on the agent's
 * one thread; nothing here is used outside the loop. */
#ifndef CPN_AGENT_LOOP_INT_H
#define CPN_AGENT_LOOP_INT_H

#include <stdio.h>

#include "agent_int.h"

enum agt_jstate {
    AJ_NONE, /* not (yet) submitted */
    AJ_DISPATCHED,
    AJ_RUNNING,
    AJ_COMPLETED,
    AJ_FAILED,
    AJ_CANCELLED,
    AJ_LOST
};

/* The order of the states of a job; every final state ranks 3. */
static inline int agt_rank(enum agt_jstate s)
{
    return s >= AJ_COMPLETED ? 3 : (int)s;
}

#define AGT_RUNS_MAX 32 /* slot runs of an interruptible job the agent follows */

/* One job the agent was assigned (or found in the executor after a restart). */
struct agt_job {
    char id[CPN_AGENT_JOB_ID_MAX];
    char pool[CPN_ID_MAX];
    int64_t units;
    int64_t begin_s; /* planned start, platform time */
    double time_scale;
    enum agt_jstate reported;
    bool reconcile; /* found in the executor after a restart: report whatever it is */
    int submit_failures;
    char executor_id[64];
    /* An interruptible job placed in several runs of slots, on an executor that can interrupt
     * (Slurm): it is held at the end of each run and released at the start of the next one.
     * Kept in memory only: after an agent restart the job runs to its end uninterrupted. */
    int nruns, cur;
    bool held;
    int64_t run_start[AGT_RUNS_MAX], run_end[AGT_RUNS_MAX]; /* platform time */
};

/* The agent: owned by cpn_agent_run, used by its one thread only. */
struct agt_loop {
    const struct cpn_agent_config *cfg;
    volatile sig_atomic_t *stop;
    volatile sig_atomic_t never; /* the stop flag when the caller gives none */
    FILE *log;
    struct agt_conf conf;
    struct cpn_executor *exec;
    bool own_exec;
    struct agt_http *http;
    struct agt_outbox ob;
    char jobs_path[4096];
    struct agt_job *jobs;
    size_t njobs, jobs_cap;

    struct cpn_agent_pool pools[AGT_POOLS_MAX];
    unsigned pset[AGT_POOLS_MAX]; /* AGT_PF_* the executor or the config file gave */
    size_t npools;
    struct cpn_agent_pool sent[AGT_POOLS_MAX];
    bool have_sent;
    double sent_util;
    int periods_since;
    int running, queued;
    char health[160];
    double pue;
    bool pue_set;
    bool have_info;
    size_t pools_cap; /* capacity of conf.pools when --pools-from-platform grows it */

    double interval_s;
    int poll_wait_s;

    bool have_now;
    int64_t plat_now_s, plat_mono_ns;
    double clock_speed;
    bool have_version;
    unsigned long long version;
    bool synced; /* an assignments answer came since the start */

    int failures;
    int64_t retry_at_ns;
    bool once_failed;
    char last_refusal[256];
    struct cpn_rng rng;

    bool measure; /* the pools are this host's: power can be measured */
    struct agt_rapl rapl;
    bool rapl_ok;
    struct agt_nvml *gpu;

    char base[128]; /* "/v1/clusters/<id>" */
};

/* ---- agent.c: log, platform time, platform calls --------------------------------------------- */
void agt_logf(struct agt_loop *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The platform's time now (0 until an answer gave it), and that of an executor (wall) time. */
int64_t agt_plat_now(const struct agt_loop *a);
int64_t agt_plat_of_wall(const struct agt_loop *a, int64_t t);
/* Sleeps until the monotonic deadline or until *stop. */
void agt_sleep_until(struct agt_loop *a, int64_t deadline_ns);
/* 0 with an answer of any status; -EAGAIN when the platform is away (backing off), -EINTR when
 * stopped. r is always initialised. */
int agt_call(struct agt_loop *a,
             const char *method,
             const char *path,
             const char *body,
             long timeout_s,
             struct agt_reply *r);
/* Logs a refusal once (until a different one comes). */
void agt_refused(struct agt_loop *a, const char *what, const struct agt_reply *r);

/* ---- agent_jobs.c: the job table, events, reconciliation ------------------------------------- */
struct agt_job *agt_job_find(struct agt_loop *a, const char *id);
/* The job of that id, added when new; NULL when out of memory. */
struct agt_job *agt_job_add(struct agt_loop *a, const char *id);
void agt_jobs_save(struct agt_loop *a);
int agt_jobs_load(struct agt_loop *a, struct cpn_error *err);
void agt_iso(int64_t t, char out[CPN_TIME_STRLEN]);
const struct cpn_agent_pool *agt_pool_find(const struct agt_loop *a, const char *id);
/* Queues the event of job j moving to state s (with the executor's status st when known). */
void agt_report(struct agt_loop *a,
                struct agt_job *j,
                enum agt_jstate s,
                const struct cpn_task_status *st);
/* Sends the outbox in order; stops at the first call that does not get through. */
void agt_deliver(struct agt_loop *a);
enum agt_jstate agt_from_task(enum cpn_task_state s);
/* Follows every task in flight and reports its changes. */
void agt_follow_tasks(struct agt_loop *a);
/* The executor's list callback (ctx is the agt_loop): a task it knows is a job to reconcile. */
void agt_on_known(void *ctx, const char *job_id);

/* ---- agent_assign.c: assignments ------------------------------------------------------------- */
const char *agt_jstr(const json_t *o, const char *key);
/* One assignments call; returns 0 when it was answered. */
int agt_poll_assignments(struct agt_loop *a, int wait_s);
/* Holds a job at the end of its current run and releases it at the start of the next. */
void agt_slot_boundaries(struct agt_loop *a);
/* The next run boundary of a held or running interruptible job, monotonic ns (INT64_MAX: none). */
int64_t agt_next_boundary_ns(const struct agt_loop *a);

/* ---- agent_cluster.c: pools, platform info, registration, telemetry -------------------------- */
/* --pools-from-platform: the platform's pools of this cluster become the config file's pools. */
int agt_pools_from_platform(struct agt_loop *a, struct cpn_error *err);
/* The pools the agent advertises: the executor's discovery refined by the config file. */
int agt_setup_pools(struct agt_loop *a, struct cpn_error *err);
/* The cluster as the platform knows it: PUE and the power model of pools nobody described. */
void agt_fetch_info(struct agt_loop *a);
/* --register: PUT /v1/clusters/{id} from the config file's registration and the pools. */
int agt_register_cluster(struct agt_loop *a, struct cpn_error *err);
/* One telemetry period: a report goes out when force or the damping says so. */
void agt_telemetry(struct agt_loop *a, bool force);

#endif
