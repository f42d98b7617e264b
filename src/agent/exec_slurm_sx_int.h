/* SPDX-License-Identifier: Apache-2.0 */
/* What the Slurm executor's own files share (exec_slurm.c creation and discovery,
 * exec_slurm_run.c running commands, exec_slurm_status.c markers, the squeue listing and status,
 * exec_slurm_control.c sbatch, scancel and holds): the executor's state and the steps they call
 * of each other. The pure parsers are in exec_slurm_int.h. Everything here runs on the agent's
 * one thread. */
#ifndef CPN_EXEC_SLURM_SX_INT_H
#define CPN_EXEC_SLURM_SX_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/exec_slurm_int.h"
#include "cpnet/agent.h"

#define SX_SNAP_MAX_AGE_NS (250LL * 1000000) /* a listing serves status calls this long */
#define SX_CMD_TIMEOUT_MS  60000             /* a Slurm command that takes longer is killed */
#define SX_OUT_LIMIT       (64u << 20)       /* cap on what one command may print */
#define SX_PARTS_MAX       64
#define SX_ENV_MAX         64

/* What DIR/slurm/<job>.job holds. */
struct agt_sx_marker {
    bool exists;
    char slurm_id[32]; /* "" while sbatch runs */
    int64_t units;
    double scale; /* executor seconds per platform second; 0 = unknown */
    bool gpu;
    bool final; /* the fields below are Slurm's last word */
    char state[32];
    char reason[128];
    int exit_status, exit_sig;
    int64_t start_s, end_s;
};

struct agt_sx_part {
    char name[64];
    struct agt_slurm_use use;
    int64_t max_cpus_per_node;
};

struct agt_sx {
    struct cpn_executor x;
    char dir[PATH_MAX];  /* state directory (absolute) */
    char mdir[PATH_MAX]; /* DIR/slurm: markers */
    char uid[24];
    char *env[SX_ENV_MAX + 1];
    size_t nenv;
    /* the last squeue listing of this user's cpnet jobs */
    struct agt_slurm_job *snap;
    size_t nsnap, capsnap;
    int64_t snap_ns;
    bool snap_ok;
    bool no_squeue_o; /* squeue refused -O exit_code: use -o and scontrol */
    /* partitions as the last discovery saw them */
    struct agt_sx_part parts[SX_PARTS_MAX];
    size_t nparts;
    bool have_parts;
    /* the pools the agent works with (after its config file refined them), from usage() */
    struct cpn_agent_pool pools[SX_PARTS_MAX];
    size_t npools;
    char path[4096];       /* PATH at creation: where the commands are looked up */
    char bin[8][PATH_MAX]; /* commands found there, "name\0" then the full path */
    size_t nbin;
    char jobcomp[PATH_MAX]; /* jobcomp/filetxt location, "" when none */
    bool jobcomp_known;
};

/* ---- exec_slurm.c: the executor, discovery --------------------------------------------------- */
/* True when x is a Slurm executor. */
bool agt_sx_is(const struct cpn_executor *x);
/* Reads nodes (cpn_malloc'd, the caller frees them; NULL on failure) and partitions (at most
 * SX_PARTS_MAX) and remembers the partitions' use in s. */
int agt_sx_load_cluster(struct agt_sx *s,
                        struct agt_slurm_node **nodes,
                        size_t *nn,
                        struct agt_slurm_part *parts,
                        size_t *np,
                        struct cpn_error *err);
const struct agt_sx_part *agt_sx_part_find(const struct agt_sx *s, const char *name);
/* Whether a pool's units are GPUs: the agent's pool class when it named the pool, else what
 * discovery made of the partition. */
bool agt_sx_pool_is_gpu(const struct agt_sx *s, const char *pool, const struct agt_sx_part *pt);

/* ---- exec_slurm_run.c: running commands ------------------------------------------------------ */
/* Runs argv (argv[0] looked up in the executor's PATH) with the executor's environment; stdout and
 * stderr into out and errb (which are reset), exit status into *status (128 + signal when killed).
 * 0 when it ran, -errno when it could not be started or timed out (then err says so). */
int agt_sx_run(struct agt_sx *s,
               const char *const argv[],
               struct cpn_buf *out,
               struct cpn_buf *errb,
               int *status,
               struct cpn_error *err);
/* Runs argv and requires exit status 0; out holds stdout. */
int agt_sx_run_ok(struct agt_sx *s,
                  const char *const argv[],
                  struct cpn_buf *out,
                  struct cpn_error *err);
/* The first line of a command's stderr, for messages. */
const char *agt_sx_first_line(const struct cpn_buf *b, char *out, size_t size);

/* ---- exec_slurm_status.c: markers, the listing, status --------------------------------------- */
bool agt_sx_job_id_ok(const char *id);
void agt_sx_marker_path(const struct agt_sx *s, const char *job, char *out, size_t size);
void agt_sx_marker_read(const struct agt_sx *s, const char *job, struct agt_sx_marker *m);
int agt_sx_marker_write(const struct agt_sx *s,
                        const char *job,
                        const struct agt_sx_marker *m,
                        struct cpn_error *err);
int agt_sx_snap_add(struct agt_sx *s, const struct agt_slurm_job *j);
/* Lists this user's cpnet jobs into the snapshot now; agt_sx_snap_fresh only when it is older
 * than SX_SNAP_MAX_AGE_NS. */
int agt_sx_snap_refresh(struct agt_sx *s, struct cpn_error *err);
int agt_sx_snap_fresh(struct agt_sx *s, struct cpn_error *err);
/* The listed Slurm job of a cpnet job: the marker's id when listed, else the unfinished one of
 * that name, else the newest of that name. */
struct agt_slurm_job *agt_sx_snap_find(struct agt_sx *s, const char *job, const char *slurm_id);
/* scontrol show job -o ID, then the jobcomp file. 1 found (with the expected name), 0 Slurm does
 * not know it, negative when scontrol could not be asked. */
int agt_sx_lookup_id(struct agt_sx *s,
                     const char *id,
                     const char *job,
                     struct agt_slurm_job *j,
                     struct cpn_error *err);
void agt_sx_fill_status(const struct agt_sx_marker *m,
                        const char *slurm_id,
                        const char *state,
                        const char *reason,
                        bool has_exit,
                        int exit_status,
                        int exit_sig,
                        int64_t start_s,
                        int64_t end_s,
                        int64_t cpus,
                        struct cpn_task_status *st);
int agt_sx_status_of(struct agt_sx *s,
                     const char *job,
                     struct agt_sx_marker *m,
                     struct cpn_task_status *st,
                     struct cpn_error *err);

/* ---- the executor's operations (struct cpn_executor_ops) ------------------------------------- */
int agt_sx_status(struct cpn_executor *x,
                  const char *job,
                  struct cpn_task_status *st,
                  struct cpn_error *err);
int agt_sx_list(struct cpn_executor *x,
                void (*fn)(void *ctx, const char *job_id),
                void *ctx,
                struct cpn_error *err);
int agt_sx_submit(struct cpn_executor *x,
                  const struct cpn_agent_task *t,
                  struct cpn_task_status *st,
                  struct cpn_error *err);
int agt_sx_cancel(struct cpn_executor *x, const char *job, struct cpn_error *err);

#endif
