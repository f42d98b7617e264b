/* SPDX-License-Identifier: Apache-2.0 */
/* What the Slurm executor's files share: the pure parsers of the text that sbatch, squeue,
 * scontrol and the jobcomp file print (exec_slurm_parse.c, unit-tested on lines captured from a
 * real Slurm 22.05 in tests/agent/test_slurm_parse.c) and the mapping of partitions and nodes to
 * pools. Nothing here runs a command, reads a clock or keeps state. */
#ifndef CPN_EXEC_SLURM_INT_H
#define CPN_EXEC_SLURM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpnet/agent.h"

/* The squeue formats of a listing: id, name, state, start, end, (exit status,) then the reason
 * last because it is the one field that may hold blanks and punctuation. The --Format (-O) one
 * carries the raw wait status ("768" for exit 3, "15" for SIGTERM), which spares a scontrol call
 * per finished job; the -o one is the fallback for a squeue that does not know exit_code. */
#define AGT_SLURM_SQUEUE_FMT  "%i|%j|%T|%S|%e|%r"
#define AGT_SLURM_SQUEUE_O    "JobID:|,Name:|,State:|,StartTime:|,EndTime:|,exit_code:|,Reason:|"
#define AGT_SLURM_NAME_PREFIX "cpnet-"

/* One Slurm job as squeue, `scontrol show job -o` or a jobcomp line reports it. Fields a source
 * does not give stay empty or 0. */
struct agt_slurm_job {
    char id[32];      /* "1234" */
    char name[96];    /* "cpnet-<job id>" for ours */
    char comment[96]; /* our job id */
    char state[32];   /* Slurm's word: PENDING, RUNNING, COMPLETED, ... */
    char reason[128]; /* "None", "BeginTime", "NonZeroExitCode", ... */
    char partition[64];
    bool has_exit;             /* ExitCode=a:b was present */
    int exit_status, exit_sig; /* a and b of ExitCode=a:b */
    int64_t start_s, end_s;    /* 0 = unknown ("Unknown", "N/A", "None") */
    int64_t cpus;              /* NumCPUs (scontrol) or ProcCnt (jobcomp), 0 = unknown */
    int restarts;              /* Restarts= (scontrol), times the job was requeued */
};

/* One node of `scontrol -d show node -o`. */
struct agt_slurm_node {
    char name[64];
    char partitions[256]; /* "batch,gpu" */
    char gpu_type[64];    /* first GPU type of Gres=, "" when untyped or none */
    int64_t cpus;         /* CPUEfctv (22.05+) or CPUTot */
    int64_t cpus_alloc;   /* CPUAlloc */
    int64_t gpus;         /* GPUs in Gres= */
    int64_t gpus_used;    /* GPUs in GresUsed= (-d), 0 when absent */
    bool usable;          /* takes new work: IDLE/MIXED/ALLOCATED without DOWN, DRAIN, FAIL,... */
};

/* One partition of `scontrol show partition -o`. */
struct agt_slurm_part {
    char name[64];
    int64_t max_cpus_per_node; /* MaxCPUsPerNode, 0 = UNLIMITED */
    bool is_default;
    bool up; /* State=UP */
};

/* The value of key in a `Key=value Key=value` line (scontrol -o, jobcomp). A value runs to the
 * next blank that is followed by another Key=; trailing blanks are dropped. 1 found (value
 * copied, truncated to size), 0 absent. */
int agt_slurm_kv(const char *line, const char *key, char *out, size_t size);

/* Slurm time ("2026-11-23T18:47:17", interpreted as UTC: the executor runs every command with
 * TZ=UTC) to seconds; "Unknown", "N/A", "None", "" and unparsable text give 0. */
int64_t agt_slurm_time(const char *s);

/* The job id in `sbatch --parsable` output ("123" or "123;cluster", then a newline).
 * CPN_EPARSE when there is none. */
int agt_slurm_parse_sbatch(const char *out, char *id, size_t size, struct cpn_error *err);

/* One line of squeue -h -O AGT_SLURM_SQUEUE_O (with_exit; has_exit is then set) or of squeue -h
 * -o AGT_SLURM_SQUEUE_FMT. CPN_EPARSE names the line when a field is missing. */
int agt_slurm_parse_squeue(const char *line,
                           bool with_exit,
                           struct agt_slurm_job *j,
                           struct cpn_error *err);

/* One line of `scontrol show job -o` or of a jobcomp/filetxt file (JobName= or Name=).
 * CPN_EPARSE when it has no JobId or no JobState. */
int agt_slurm_parse_job(const char *line, struct agt_slurm_job *j, struct cpn_error *err);

/* Slurm's job state word (with or without flags: "CANCELLED by 0", "COMPLETING") to a task
 * state. *final says whether Slurm is done with the job (the exit code is then known). Words
 * that are not Slurm's map to PENDING, not final. */
enum cpn_task_state agt_slurm_state(const char *state, bool *final);

/* GPUs in a GRES string ("gpu:t4:4", "gpu:4(S:0-1)", "gpu:a100:2,gpu:t4:2,shard:8",
 * "gpu:t4:2(IDX:0-1)", "(null)"): the count, and the first type in type (may be NULL). */
int64_t agt_slurm_gres_gpus(const char *gres, char *type, size_t size);

int agt_slurm_parse_node(const char *line, struct agt_slurm_node *n, struct cpn_error *err);
int agt_slurm_parse_part(const char *line, struct agt_slurm_part *p, struct cpn_error *err);

/* CPUs and GPUs of one partition, summed over its nodes: total (CPUs capped per node by
 * MaxCPUsPerNode) and free on usable nodes of an UP partition; type is the first GPU type seen
 * ("" when none). */
struct agt_slurm_use {
    int64_t cpus, cpus_free, gpus, gpus_free;
    char gpu_type[64];
};
void agt_slurm_part_use(const struct agt_slurm_node *nodes,
                        size_t nn,
                        const struct agt_slurm_part *part,
                        struct agt_slurm_use *use);

/* The pools of a cluster: one per partition (in the order of parts), id and partition = its
 * name. A partition whose nodes have GPUs is an intelligent pool of those GPUs (device = the GPU
 * type), unless it sets MaxCPUsPerNode: that is how sites share GPU nodes with a CPU partition,
 * so it is a general pool of min(MaxCPUsPerNode, CPUs) per node. Any other partition is a
 * general pool of its nodes' CPUs. available counts the free units of usable nodes. CPN_ELIMIT
 * when there are more partitions than max. */
int agt_slurm_pools(const struct agt_slurm_node *nodes,
                    size_t nn,
                    const struct agt_slurm_part *parts,
                    size_t np,
                    struct cpn_agent_pool *out,
                    size_t max,
                    size_t *n,
                    struct cpn_error *err);

/* sbatch --time in whole minutes for a run of seconds (rounded up, at least 1). */
int64_t agt_slurm_minutes(double seconds);

#endif
