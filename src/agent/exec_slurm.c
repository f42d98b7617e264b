/* SPDX-License-Identifier: Apache-2.0 */
/* The Slurm executor: runs a cluster's cpnet jobs through Slurm's own commands (sbatch, squeue,
 * scontrol, scancel; no libslurm, so it works with any release that prints the same text). This
 * file creates the executor (its state directory, the reduced environment every command runs
 * with: TZ=UTC, SLURM_TIME_FORMAT=standard, no agent token) and discovers the cluster: its
 * partitions and nodes become pools, and their free CPUs and GPUs the pools' availability. The
 * commands run in exec_slurm_run.c, status in exec_slurm_status.c, sbatch, scancel and the holds
 * of interruptible jobs in exec_slurm_control.c. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "agent/exec_slurm_sx_int.h"

extern char **environ;

static const struct cpn_executor_ops sx_ops;

bool agt_sx_is(const struct cpn_executor *x)
{
    return x->ops == &sx_ops;
}

/* ---- discovery --------------------------------------------------------------------------------
 */

int agt_sx_load_cluster(struct agt_sx *s,
                        struct agt_slurm_node **nodes,
                        size_t *nn,
                        struct agt_slurm_part *parts,
                        size_t *np,
                        struct cpn_error *err)
{
    const char *anode[] = { "scontrol", "-d", "show", "node", "-o", NULL };
    const char *apart[] = { "scontrol", "show", "partition", "-o", NULL };
    struct cpn_buf out = { 0 };
    size_t cap = 0;
    int rc;
    *nodes = NULL;
    *nn = *np = 0;
    if ((rc = agt_sx_run_ok(s, anode, &out, err)))
        goto done;
    for (char *line = out.data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (!strncmp(line, "NodeName=", 9)) {
            if (cpn_grow(nodes, &cap, *nn + 1, sizeof **nodes)) {
                rc = cpn_errorf(err, -ENOMEM, "Slurm nodes: out of memory");
                goto done;
            }
            if ((rc = agt_slurm_parse_node(line, &(*nodes)[*nn], err)))
                goto done;
            (*nn)++;
        }
        line = nl ? nl + 1 : NULL;
    }
    if ((rc = agt_sx_run_ok(s, apart, &out, err)))
        goto done;
    for (char *line = out.data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (!strncmp(line, "PartitionName=", 14)) {
            if (*np >= SX_PARTS_MAX) {
                rc = cpn_errorf(err, CPN_ELIMIT, "Slurm has more than %d partitions", SX_PARTS_MAX);
                goto done;
            }
            if ((rc = agt_slurm_parse_part(line, &parts[*np], err)))
                goto done;
            (*np)++;
        }
        line = nl ? nl + 1 : NULL;
    }
    s->nparts = *np;
    for (size_t i = 0; i < *np; i++) {
        cpn_strlcpy(s->parts[i].name, parts[i].name, sizeof s->parts[i].name);
        s->parts[i].max_cpus_per_node = parts[i].max_cpus_per_node;
        agt_slurm_part_use(*nodes, *nn, &parts[i], &s->parts[i].use);
    }
    s->have_parts = true;
done:
    cpn_buf_free(&out);
    if (rc) {
        cpn_free(*nodes);
        *nodes = NULL;
    }
    return rc;
}

static int sx_discover(struct cpn_executor *x,
                       struct cpn_agent_pool *out,
                       size_t max,
                       size_t *n,
                       struct cpn_error *err)
{
    struct agt_sx *s = x->impl;
    struct agt_slurm_node *nodes;
    struct agt_slurm_part parts[SX_PARTS_MAX];
    size_t nn, np;
    int rc = agt_sx_load_cluster(s, &nodes, &nn, parts, &np, err);
    if (rc)
        return rc;
    rc = agt_slurm_pools(nodes, nn, parts, np, out, max, n, err);
    cpn_free(nodes);
    return rc;
}

const struct agt_sx_part *agt_sx_part_find(const struct agt_sx *s, const char *name)
{
    for (size_t i = 0; i < s->nparts; i++)
        if (!strcmp(s->parts[i].name, name))
            return &s->parts[i];
    return NULL;
}

/* Whether a pool's units are GPUs: the agent's pool class when it named the pool, else what
 * discovery made of the partition. */
bool agt_sx_pool_is_gpu(const struct agt_sx *s, const char *pool, const struct agt_sx_part *pt)
{
    for (size_t i = 0; i < s->npools; i++)
        if (!strcmp(s->pools[i].id, pool))
            return s->pools[i].cls == CPN_CLASS_INTELLIGENT;
    return pt && pt->use.gpus > 0 && pt->max_cpus_per_node == 0;
}

static int sx_usage(struct cpn_executor *x,
                    struct cpn_agent_pool *pools,
                    size_t n,
                    int *running,
                    int *queued,
                    struct cpn_error *err)
{
    struct agt_sx *s = x->impl;
    struct agt_slurm_node *nodes;
    struct agt_slurm_part parts[SX_PARTS_MAX];
    size_t nn, np;
    const char *aq[] = { "squeue", "-h", "-o", "%T", NULL };
    struct cpn_buf out = { 0 };
    int rc = agt_sx_load_cluster(s, &nodes, &nn, parts, &np, err);
    if (rc)
        return rc;
    cpn_free(nodes);
    s->npools = 0;
    for (size_t i = 0; i < n; i++) {
        const struct agt_sx_part *pt =
            agt_sx_part_find(s, pools[i].partition[0] ? pools[i].partition : pools[i].id);
        int64_t avail;
        if (s->npools < SX_PARTS_MAX)
            s->pools[s->npools++] = pools[i];
        if (!pt)
            continue;
        avail = pools[i].cls == CPN_CLASS_INTELLIGENT ? pt->use.gpus_free : pt->use.cpus_free;
        if (pools[i].total > 0 && avail > pools[i].total)
            avail = pools[i].total;
        pools[i].available = avail;
    }
    /* running and queued jobs of the whole cluster, every user */
    if ((rc = agt_sx_run_ok(s, aq, &out, err)) == 0) {
        int r = 0, q = 0;
        for (char *line = out.data; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            if (*line) {
                enum cpn_task_state ts = agt_slurm_state(line, NULL);
                r += ts == CPN_TASK_RUNNING;
                q += ts == CPN_TASK_PENDING;
            }
            line = nl ? nl + 1 : NULL;
        }
        *running = r;
        *queued = q;
    }
    cpn_buf_free(&out);
    return rc;
}

/* ---- create, destroy --------------------------------------------------------------------------
 */

static void sx_destroy(struct cpn_executor *x)
{
    struct agt_sx *s;
    if (!x)
        return;
    s = x->impl;
    for (size_t i = 0; i < s->nenv; i++)
        cpn_free(s->env[i]);
    cpn_free(s->snap);
    cpn_free(s);
}

static const struct cpn_executor_ops sx_ops = {
    .name = "slurm",
    .discover = sx_discover,
    .usage = sx_usage,
    .submit = agt_sx_submit,
    .status = agt_sx_status,
    .cancel = agt_sx_cancel,
    .list = agt_sx_list,
    .destroy = sx_destroy,
};

static int env_add(struct agt_sx *s, const char *k, const char *v)
{
    size_t n = strlen(k) + strlen(v) + 2;
    char *e;
    if (s->nenv >= SX_ENV_MAX)
        return 0;
    if (!(e = cpn_malloc(n)))
        return -ENOMEM;
    snprintf(e, n, "%s=%s", k, v);
    s->env[s->nenv++] = e;
    s->env[s->nenv] = NULL;
    return 0;
}

/* The commands' environment: what Slurm's clients need (PATH, HOME, USER, SLURM_CONF,
 * SLURM_JWT, the operator's SBATCH_* defaults), UTC and Slurm's standard time format, and
 * nothing else of the agent's (its token stays out of every job). */
static int env_build(struct agt_sx *s)
{
    static const char *const keep[] = {
        "PATH", "HOME", "USER", "LOGNAME", "SLURM_CONF", "SLURM_JWT"
    };
    int rc = 0;
    const char *path = getenv("PATH");
    cpn_strlcpy(s->path, path && *path ? path : "/usr/local/bin:/usr/bin:/bin", sizeof s->path);
    for (size_t i = 0; i < sizeof keep / sizeof keep[0] && !rc; i++) {
        const char *v = getenv(keep[i]);
        if (!strcmp(keep[i], "PATH"))
            rc = env_add(s, "PATH", s->path);
        else if (v)
            rc = env_add(s, keep[i], v);
    }
    for (char **e = environ; e && *e && !rc; e++)
        if (!strncmp(*e, "SBATCH_", 7) && s->nenv < SX_ENV_MAX) {
            if (!(s->env[s->nenv] = cpn_strdup(*e)))
                rc = -ENOMEM;
            else
                s->env[++s->nenv] = NULL;
        }
    if (!rc)
        rc = env_add(s, "TZ", "UTC");
    if (!rc)
        rc = env_add(s, "LC_ALL", "C");
    if (!rc)
        rc = env_add(s, "SLURM_TIME_FORMAT", "standard");
    return rc;
}

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    if (cpn_strlcpy(tmp, path, sizeof tmp))
        return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int cpn_executor_slurm_create(const char *state_dir,
                              struct cpn_executor **out,
                              struct cpn_error *err)
{
    struct agt_sx *s;
    char real[PATH_MAX];
    int rc;
    if (!state_dir || !*state_dir)
        return cpn_errorf(err, CPN_EUSAGE, "slurm executor: a state directory is required");
    if ((rc = mkdir_p(state_dir)))
        return cpn_errorf(err, rc, "%s: cannot create the state directory: %s", state_dir,
                          cpn_strerror(rc));
    if (state_dir[0] == '/') {
        if (cpn_strlcpy(real, state_dir, sizeof real))
            return cpn_errorf(err, -ENAMETOOLONG, "%s: path too long", state_dir);
    } else {
        /* absolute, because sbatch gets it as --output and --chdir */
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return cpn_errorf(err, -errno, "slurm executor: getcwd: %s", cpn_strerror(-errno));
        if ((size_t)snprintf(real, sizeof real, "%s/%s", cwd, state_dir) >= sizeof real)
            return cpn_errorf(err, -ENAMETOOLONG, "%s/%s: path too long", cwd, state_dir);
    }
    if (!(s = cpn_calloc(1, sizeof *s)))
        return cpn_errorf(err, -ENOMEM, "slurm executor: out of memory");
    s->x.ops = &sx_ops;
    s->x.impl = s;
    cpn_strlcpy(s->dir, real, sizeof s->dir);
    if ((size_t)snprintf(s->mdir, sizeof s->mdir, "%s/slurm", real) >= sizeof s->mdir) {
        cpn_free(s);
        return cpn_errorf(err, -ENAMETOOLONG, "%s: path too long", real);
    }
    if ((rc = mkdir_p(s->mdir))) {
        cpn_free(s);
        return cpn_errorf(err, rc, "%s: cannot create: %s", s->mdir, cpn_strerror(rc));
    }
    snprintf(s->uid, sizeof s->uid, "%u", (unsigned)getuid());
    if ((rc = env_build(s))) {
        sx_destroy(&s->x);
        return cpn_errorf(err, rc, "slurm executor: out of memory");
    }
    {
        /* fail early and clearly when the clients are missing or cannot reach slurmctld */
        const char *argv[] = { "squeue", "-h", "-u", s->uid, "-o", "%i", NULL };
        struct cpn_buf ob = { 0 };
        rc = agt_sx_run_ok(s, argv, &ob, err);
        cpn_buf_free(&ob);
        if (rc) {
            sx_destroy(&s->x);
            return cpn_error_prefix(err, rc, "slurm executor: ");
        }
    }
    *out = &s->x;
    return 0;
}
