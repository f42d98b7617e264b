/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet/agent.h: the provider side. `cpnet agent` runs at a cluster: it discovers the cluster's
 * pools, reports telemetry, long-polls the platform for assignments, runs them through an
 * executor (the cluster's own resource manager: Slurm, or a local process executor), and reports
 * state changes and metered usage back (docs/agent-protocol.md). Time comes from the platform's
 * clock in every assignment, never from the agent's own.
 *
 * An executor is a small vtable so that Slurm, the local executor and later ones (Kubernetes,
 * HTCondor) plug into the same agent loop. All executor calls are made from the agent's one
 * thread. */
#ifndef CPNET_AGENT_H
#define CPNET_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpnet/model.h"
#include "cpnet/util.h"

#define CPN_AGENT_JOB_ID_MAX 64

/* A pool as the executor discovered it (and the operator's config file refined it). */
struct cpn_agent_pool {
    char id[CPN_ID_MAX];          /* pool id on the platform */
    char partition[CPN_NAME_MAX]; /* Slurm partition (or "" for local) */
    enum cpn_class cls;
    char device[CPN_NAME_MAX];
    int64_t total;     /* K1: installed units (cores or devices) */
    int64_t available; /* K2: free now */
    double tflops_per_unit;
    double watts_idle, watts_busy; /* per unit, for the estimated power model */
    double mem_gib_per_unit;
    double price_cny_per_unit_hour;
};

/* What the agent asks an executor to run. */
struct cpn_agent_task {
    char job_id[CPN_AGENT_JOB_ID_MAX];
    char pool[CPN_ID_MAX];
    char partition[CPN_NAME_MAX];
    char command[4096]; /* shell command; "" = the executor's placeholder (sleep) */
    int64_t units;
    int64_t begin_s;   /* planned start, platform time */
    double duration_s; /* planned run time (platform time) */
    double time_scale; /* executor seconds per platform second (1 / clock speed) */
    bool interruptible;
    int64_t now_s; /* platform time at submission (0 = unknown): the task waits
                    * (begin_s - now_s) x time_scale executor seconds before it starts */
};

enum cpn_task_state {
    CPN_TASK_PENDING, /* submitted, waiting (e.g. Slurm PENDING with --begin) */
    CPN_TASK_RUNNING,
    CPN_TASK_COMPLETED,
    CPN_TASK_FAILED,
    CPN_TASK_CANCELLED,
    CPN_TASK_LOST /* the executor no longer knows the task */
};
const char *cpn_task_state_name(enum cpn_task_state s);

struct cpn_task_status {
    enum cpn_task_state state;
    char executor_id[64]; /* e.g. "slurm:1234", "local:5678" */
    int exit_code;
    int64_t started_s, ended_s; /* executor (wall) time, 0 = unknown */
    double unit_hours;          /* metered so far */
    double energy_kwh;          /* measured when the executor can, else estimated */
    bool energy_measured;
    char message[256];
};

struct cpn_executor;
struct cpn_executor_ops {
    const char *name; /* "slurm", "local" */
    /* Discovers the pools (ids, partitions, totals). out is a caller array of max entries. */
    int (*discover)(struct cpn_executor *x,
                    struct cpn_agent_pool *out,
                    size_t max,
                    size_t *n,
                    struct cpn_error *err);
    /* Refreshes availability (K2) and running/queued counts. */
    int (*usage)(struct cpn_executor *x,
                 struct cpn_agent_pool *pools,
                 size_t n,
                 int *running,
                 int *queued,
                 struct cpn_error *err);
    /* Submits a task unless the executor already has one for this job id (then it returns the
     * existing one's status): never twice. */
    int (*submit)(struct cpn_executor *x,
                  const struct cpn_agent_task *t,
                  struct cpn_task_status *st,
                  struct cpn_error *err);
    /* Current status of the task of a job id; CPN_TASK_LOST when unknown. */
    int (*status)(struct cpn_executor *x,
                  const char *job_id,
                  struct cpn_task_status *st,
                  struct cpn_error *err);
    int (*cancel)(struct cpn_executor *x, const char *job_id, struct cpn_error *err);
    /* Lists the job ids the executor knows (after a restart), calling fn for each. */
    int (*list)(struct cpn_executor *x,
                void (*fn)(void *ctx, const char *job_id),
                void *ctx,
                struct cpn_error *err);
    void (*destroy)(struct cpn_executor *x);
};

struct cpn_executor {
    const struct cpn_executor_ops *ops;
    void *impl;
};

/* The local process executor: runs each task as a process group under /bin/sh with resource
 * limits, output in state_dir/<job>.out; the embedded default for the demo. */
int cpn_executor_local_create(const char *state_dir,
                              int64_t cores,
                              struct cpn_executor **out,
                              struct cpn_error *err);
/* The Slurm executor: sbatch/squeue/scontrol/scancel (SLURM_CONF in the environment selects the
 * cluster), job name "cpnet-<job id>" and --comment=<job id>. */
int cpn_executor_slurm_create(const char *state_dir,
                              struct cpn_executor **out,
                              struct cpn_error *err);
/* Slot boundaries of an interruptible job on Slurm (docs/agent-slurm.md). interrupt ends the
 * current run of the job's Slurm job and keeps it queued but held (scontrol requeuehold; a
 * pending job is held), so that its units are free until resume releases it and makes it
 * eligible at once (scontrol release; scontrol update StartTime=now). The job must have been
 * submitted as interruptible (--requeue). 0; CPN_EREF when Slurm has no job for the id;
 * CPN_EFIELD when the job is already finished; CPN_EUSAGE when x is not the Slurm executor. */
int cpn_executor_slurm_interrupt(struct cpn_executor *x, const char *job_id, struct cpn_error *err);
int cpn_executor_slurm_resume(struct cpn_executor *x, const char *job_id, struct cpn_error *err);
void cpn_executor_destroy(struct cpn_executor *x);

/* Options of the local executor (cpn_executor_local_configure); zero fields keep the defaults. */
struct cpn_local_options {
    int max_jobs;              /* tasks running at once; more wait as pending (default: cores) */
    int64_t cpu_s_per_unit;    /* RLIMIT_CPU of a task = this x its units (0 = no limit) */
    int64_t as_bytes_per_unit; /* RLIMIT_AS of a task = this x its units (0 = no limit) */
    int term_grace_ms;         /* cancel: SIGTERM, then SIGKILL after this (default 2000) */
};
/* Applies options to an executor made by cpn_executor_local_create. 0, or CPN_EUSAGE when x is
 * another executor. */
int cpn_executor_local_configure(struct cpn_executor *x,
                                 const struct cpn_local_options *o,
                                 struct cpn_error *err);

/* ---- the agent loop (docs/agent.md) -----------------------------------------------------------
 */
#define CPN_AGENT_VERSION "0.1.0"

struct cpn_agent_config {
    const char *platform;      /* base URL, e.g. "http://127.0.0.1:8080" */
    const char *token;         /* bearer token text (borrowed; never logged) */
    const char *cluster;       /* cluster id on the platform */
    const char *executor;      /* "local" (default) or "slurm"; ignored when exec is set */
    struct cpn_executor *exec; /* an executor made by the caller (borrowed), or NULL */
    const char *config_path;   /* the agent config file (JSON), or NULL */
    const char *state_dir;     /* outbox, job table, local executor files (created when absent) */
    double interval_s;         /* telemetry period; 0 = the config file's, else 5 */
    int poll_wait_s;           /* long-poll wait; 0 = 25 (at most 60) */
    int horizon_s;             /* assignments horizon in platform seconds; 0 = the platform's */
    bool register_cluster;     /* PUT the cluster with its pools before the first report */
    bool pools_from_platform;  /* advertise the pools the platform records for the cluster (a
                                * demo's stand-in for a reference cluster; local executor) */
    bool once;                 /* one telemetry and one assignments round, then return */
    int max_jobs;              /* local executor concurrency; 0 = from the pools' units */
    const char *powercap_dir;  /* RAPL root; NULL = /sys/class/powercap */
    FILE *log;                 /* one line per state change (stderr when NULL) */
};

/* Runs the agent until *stop becomes non-zero (or after one round with cfg->once). The platform
 * being unreachable is not an error: calls are retried with backoff and events wait in the
 * outbox in state_dir. Returns 0, or a negative code with err for what cannot work at all (a bad
 * config file, an executor that cannot start, a state directory that cannot be written; with
 * once, also a platform that did not answer). Runs on the calling thread; makes no other. */
int cpn_agent_run(const struct cpn_agent_config *cfg,
                  volatile sig_atomic_t *stop,
                  struct cpn_error *err);

#endif
