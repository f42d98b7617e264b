/* SPDX-License-Identifier: Apache-2.0 */
/* The commands that change a Slurm job: sbatch (each cpnet job is one batch job named
 * "cpnet-<job id>" with the job id as its comment), scancel, and the hold and release of an
 * interruptible job at its slot boundaries. The marker written before and after sbatch and the
 * name lookup together make sure nothing is submitted twice, even by an agent restarted between
 * the two. */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/exec_slurm_sx_int.h"

/* ---- submit -----------------------------------------------------------------------------------
 */

int agt_sx_submit(struct cpn_executor *x,
                  const struct cpn_agent_task *t,
                  struct cpn_task_status *st,
                  struct cpn_error *err)
{
    struct agt_sx *s = x->impl;
    struct agt_sx_marker m;
    struct agt_slurm_job *j;
    const struct agt_sx_part *pt;
    char name[96], comment[96], out_path[PATH_MAX + 80], chdir_arg[PATH_MAX + 16];
    char part_arg[96], units_arg[64], gpus_arg[128], time_arg[48], begin_arg[64];
    char wrap[4096 + 64], id[32];
    const char *argv[24];
    size_t k = 0;
    double scale = t->time_scale > 0 ? t->time_scale : 1;
    double run_s = t->duration_s > 0 ? t->duration_s * scale : 0;
    bool gpu;
    struct cpn_buf ob = { 0 }, eb = { 0 };
    int rc, status = 0;

    if (!agt_sx_job_id_ok(t->job_id))
        return cpn_errorf(err, CPN_EFIELD, "job id '%.80s': expected 1..63 of [A-Za-z0-9._:-]",
                          t->job_id);
    if (t->units < 1)
        return cpn_errorf(err, CPN_EFIELD, "job %s: units = %" PRId64 ": expected >= 1", t->job_id,
                          t->units);
    agt_sx_marker_read(s, t->job_id, &m);
    if (m.exists && m.slurm_id[0])
        return agt_sx_status_of(s, t->job_id, &m, st, err); /* submitted before: never twice */
    /* no marker with an id: any listing this executor took finds the sbatch of an earlier agent
     * that died before it could write the marker (such a job is older than the listing); an
     * intent of our own without an id (sbatch timed out) needs a listing taken now */
    if ((rc = m.exists ? agt_sx_snap_refresh(s, err) : agt_sx_snap_fresh(s, err)))
        return rc;
    if ((j = agt_sx_snap_find(s, t->job_id, NULL)) != NULL) {
        if (!m.exists) {
            m.units = t->units;
            m.scale = scale;
        }
        return agt_sx_status_of(s, t->job_id, &m, st, err);
    }
    if (!s->have_parts) {
        struct agt_slurm_node *nodes;
        struct agt_slurm_part parts[SX_PARTS_MAX];
        size_t nn, np;
        if ((rc = agt_sx_load_cluster(s, &nodes, &nn, parts, &np, err)))
            return rc;
        cpn_free(nodes);
    }
    pt = agt_sx_part_find(s, t->partition[0] ? t->partition : t->pool);
    gpu = agt_sx_pool_is_gpu(s, t->pool, pt);

    /* the intent first: a crash between sbatch and the next write leaves a marker without an
     * id, and the listing above finds the job by name */
    memset(&m, 0, sizeof m);
    m.units = t->units;
    m.scale = scale;
    m.gpu = gpu;
    if ((rc = agt_sx_marker_write(s, t->job_id, &m, err)))
        return rc;

    snprintf(name, sizeof name, "--job-name=" AGT_SLURM_NAME_PREFIX "%s", t->job_id);
    snprintf(comment, sizeof comment, "--comment=%s", t->job_id);
    snprintf(out_path, sizeof out_path, "--output=%s/%s.out", s->dir, t->job_id);
    snprintf(chdir_arg, sizeof chdir_arg, "--chdir=%s", s->dir);
    argv[k++] = "sbatch";
    argv[k++] = "--parsable";
    argv[k++] = name;
    argv[k++] = comment;
    argv[k++] = out_path;
    argv[k++] = chdir_arg;
    argv[k++] = t->interruptible ? "--requeue" : "--no-requeue";
    if (t->partition[0] || pt) {
        snprintf(part_arg, sizeof part_arg, "--partition=%s",
                 t->partition[0] ? t->partition : pt->name);
        argv[k++] = part_arg;
    }
    if (gpu) {
        argv[k++] = "--ntasks=1";
        if (pt && pt->use.gpu_type[0])
            snprintf(gpus_arg, sizeof gpus_arg, "--gpus=%s:%" PRId64, pt->use.gpu_type, t->units);
        else
            snprintf(gpus_arg, sizeof gpus_arg, "--gpus=%" PRId64, t->units);
        argv[k++] = gpus_arg;
    } else {
        snprintf(units_arg, sizeof units_arg, "--ntasks=%" PRId64, t->units);
        argv[k++] = units_arg;
    }
    if (run_s > 0) {
        snprintf(time_arg, sizeof time_arg, "--time=%" PRId64, agt_slurm_minutes(run_s));
        argv[k++] = time_arg;
    }
    if (t->begin_s > 0 && t->now_s > 0) {
        /* relative to Slurm's own clock: the platform's time may run faster than the wall */
        double wait = (double)(t->begin_s - t->now_s) * scale;
        if (wait >= 1) {
            snprintf(begin_arg, sizeof begin_arg, "--begin=now+%.0f", ceil(wait));
            argv[k++] = begin_arg;
        }
    } else if (t->begin_s > 0) {
        char iso[CPN_TIME_STRLEN];
        cpn_time_format(t->begin_s, iso); /* "...Z"; Slurm wants no zone: TZ=UTC says it */
        iso[strcspn(iso, "Z")] = '\0';
        snprintf(begin_arg, sizeof begin_arg, "--begin=%s", iso);
        argv[k++] = begin_arg;
    }
    argv[k++] = "--wrap";
    if (t->command[0])
        snprintf(wrap, sizeof wrap, "%s", t->command);
    else if (run_s > 0)
        snprintf(wrap, sizeof wrap, "sleep %.3f", run_s);
    else
        snprintf(wrap, sizeof wrap, "true");
    argv[k++] = wrap;
    argv[k] = NULL;

    rc = agt_sx_run(s, argv, &ob, &eb, &status, err);
    if (!rc && status != 0) {
        char l[300];
        char path[PATH_MAX + 80];
        /* sbatch refused it: no Slurm job exists, so the intent goes too */
        agt_sx_marker_path(s, t->job_id, path, sizeof path);
        unlink(path);
        rc = cpn_errorf(err, CPN_EFIELD, "sbatch for job %s: exit %d: %s", t->job_id, status,
                        agt_sx_first_line(&eb, l, sizeof l));
    }
    if (!rc)
        rc = agt_slurm_parse_sbatch(ob.data, id, sizeof id, err);
    cpn_buf_free(&ob);
    cpn_buf_free(&eb);
    if (rc)
        return rc;
    cpn_strlcpy(m.slurm_id, id, sizeof m.slurm_id);
    if ((rc = agt_sx_marker_write(s, t->job_id, &m, err)))
        return rc;
    {
        /* the listing learns the job now, so status calls before the next refresh find it */
        struct agt_slurm_job nj;
        memset(&nj, 0, sizeof nj);
        cpn_strlcpy(nj.id, id, sizeof nj.id);
        snprintf(nj.name, sizeof nj.name, AGT_SLURM_NAME_PREFIX "%s", t->job_id);
        cpn_strlcpy(nj.comment, t->job_id, sizeof nj.comment);
        cpn_strlcpy(nj.state, "PENDING", sizeof nj.state);
        cpn_strlcpy(nj.reason, "Submitted", sizeof nj.reason);
        if (agt_sx_snap_add(s, &nj))
            s->snap_ok = false;
    }
    agt_sx_fill_status(&m, id, "PENDING", "Submitted", false, 0, 0, 0, 0, t->units, st);
    return 0;
}

/* ---- cancel ------------------------------------------------------------------------------------
 */

/* The Slurm id of a cpnet job (marker, else listing); CPN_EREF when there is none. */
static int slurm_id_of(struct agt_sx *s,
                       const char *job,
                       struct agt_sx_marker *m,
                       char *id,
                       size_t size,
                       struct cpn_error *err)
{
    struct agt_slurm_job *j;
    int rc;
    if (!agt_sx_job_id_ok(job))
        return cpn_errorf(err, CPN_EFIELD, "job id '%.80s': expected 1..63 of [A-Za-z0-9._:-]",
                          job);
    agt_sx_marker_read(s, job, m);
    if ((rc = agt_sx_snap_fresh(s, err)))
        return rc;
    j = agt_sx_snap_find(s, job, m->slurm_id);
    if (j) {
        cpn_strlcpy(id, j->id, size);
        return 0;
    }
    if (m->slurm_id[0]) {
        cpn_strlcpy(id, m->slurm_id, size);
        return 0;
    }
    return cpn_errorf(err, CPN_EREF, "job %s: no Slurm job is named " AGT_SLURM_NAME_PREFIX "%s",
                      job, job);
}

int agt_sx_cancel(struct cpn_executor *x, const char *job, struct cpn_error *err)
{
    struct agt_sx *s = x->impl;
    struct agt_sx_marker m;
    char id[32];
    const char *argv[] = { "scancel", id, NULL };
    struct cpn_buf ob = { 0 }, eb = { 0 };
    int rc, status = 0;
    if ((rc = slurm_id_of(s, job, &m, id, sizeof id, err)))
        return rc;
    if (m.final)
        return 0; /* Slurm is done with it already */
    rc = agt_sx_run(s, argv, &ob, &eb, &status, err);
    /* "already completing or completed" and "Invalid job id" mean there is nothing to stop */
    if (!rc && status != 0 && !strstr(eb.data, "already complet") &&
        !strstr(eb.data, "Invalid job id")) {
        char l[300];
        rc = cpn_errorf(err, CPN_EUNSUPPORTED, "scancel %s (job %s): exit %d: %s", id, job, status,
                        agt_sx_first_line(&eb, l, sizeof l));
    }
    cpn_buf_free(&ob);
    cpn_buf_free(&eb);
    s->snap_ok = false;
    return rc;
}

/* ---- slot boundaries of interruptible jobs --------------------------------------------------- */

int cpn_executor_slurm_interrupt(struct cpn_executor *x, const char *job, struct cpn_error *err)
{
    struct agt_sx *s;
    struct agt_sx_marker m;
    char id[32];
    const char *rq[] = { "scontrol", "requeuehold", id, NULL };
    const char *hold[] = { "scontrol", "hold", id, NULL };
    struct cpn_buf ob = { 0 };
    struct agt_slurm_job j;
    int rc;
    if (!x || !agt_sx_is(x))
        return cpn_errorf(err, CPN_EUSAGE, "interrupt: not the Slurm executor");
    s = x->impl;
    if ((rc = slurm_id_of(s, job, &m, id, sizeof id, err)))
        return rc;
    if ((rc = agt_sx_lookup_id(s, id, job, &j, err)) < 0)
        return rc;
    if (rc == 0)
        return cpn_errorf(err, CPN_EREF, "job %s: Slurm no longer knows job %s", job, id);
    switch (agt_slurm_state(j.state, NULL)) {
    case CPN_TASK_RUNNING:
        rc = agt_sx_run_ok(s, rq, &ob, err); /* back to pending, held, resources freed */
        break;
    case CPN_TASK_PENDING:
        rc = agt_sx_run_ok(s, hold, &ob, err);
        break;
    default:
        rc = cpn_errorf(err, CPN_EFIELD, "job %s: Slurm job %s is %s: nothing to interrupt", job,
                        id, j.state);
    }
    cpn_buf_free(&ob);
    s->snap_ok = false;
    return rc;
}

/* The StartTime update after a release failed with rc: when the scheduler already started the
 * job on the release alone (scontrol then says it is no longer pending), there is no begin time
 * left to clear and the resume succeeded; otherwise rc stands, err as it was. */
static int
started_anyway(struct agt_sx *s, const char *job, const char *id, int rc, struct cpn_error *err)
{
    struct agt_slurm_job j;
    struct cpn_error lerr = { 0, "" };
    if (agt_sx_lookup_id(s, id, job, &j, &lerr) == 1 &&
        agt_slurm_state(j.state, NULL) != CPN_TASK_PENDING) {
        memset(err, 0, sizeof *err);
        return 0;
    }
    return rc;
}

int cpn_executor_slurm_resume(struct cpn_executor *x, const char *job, struct cpn_error *err)
{
    struct agt_sx *s;
    struct agt_sx_marker m;
    char id[32], idarg[48];
    const char *rel[] = { "scontrol", "release", id, NULL };
    const char *now[] = { "scontrol", "update", idarg, "StartTime=now", NULL };
    struct cpn_buf ob = { 0 };
    int rc;
    if (!x || !agt_sx_is(x))
        return cpn_errorf(err, CPN_EUSAGE, "resume: not the Slurm executor");
    s = x->impl;
    if ((rc = slurm_id_of(s, job, &m, id, sizeof id, err)))
        return rc;
    snprintf(idarg, sizeof idarg, "JobId=%s", id);
    /* release lifts the hold; StartTime=now clears the begin time a requeue sets (about two
     * minutes ahead), so the job is eligible at the scheduler's next pass */
    if (!(rc = agt_sx_run_ok(s, rel, &ob, err)) && (rc = agt_sx_run_ok(s, now, &ob, err)))
        rc = started_anyway(s, job, id, rc, err);
    cpn_buf_free(&ob);
    s->snap_ok = false;
    return rc;
}
