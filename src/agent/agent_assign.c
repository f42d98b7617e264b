/* SPDX-License-Identifier: Apache-2.0 */
/* Assignments: one long-poll of the platform (GET .../assignments, which also brings the
 * platform's time and clock speed) and what its "run" and "cancel" actions do to the executor.
 * An interruptible job placed in several runs of slots is held at the end of each run and
 * released at the start of the next (Slurm only). A job already handled is never submitted
 * again: the platform learns of it from our event. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "agent_loop_int.h"

#define AGT_SUBMIT_MAX 5 /* executor refusals of one job before it is reported failed */

/* ---- assignments ------------------------------------------------------------------------------
 */

const char *agt_jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The slot runs of an interruptible placement, for holding the job between them (Slurm only:
 * the local executor has no way to pause a task at a boundary). */
static void
take_runs(struct agt_loop *a, struct agt_job *j, const struct cpn_agent_task *t, const json_t *pl)
{
    const json_t *runs = json_object_get(pl, "runs"), *r;
    int64_t slot = json_integer_value(json_object_get(pl, "slot_s"));
    size_t i, n = json_array_size(runs);
    j->nruns = 0;
    j->cur = 0;
    j->held = false;
    if (!t->interruptible || n < 2 || n > AGT_RUNS_MAX || slot <= 0 ||
        strcmp(a->exec->ops->name, "slurm") != 0)
        return;
    json_array_foreach(runs, i, r)
    {
        int64_t st = 0;
        if (!agt_jstr(r, "start") || cpn_time_parse(agt_jstr(r, "start"), &st))
            return;
        j->run_start[i] = st;
        j->run_end[i] = st + json_integer_value(json_object_get(r, "slots")) * slot;
    }
    j->nruns = (int)n;
    agt_logf(a, "job %s: interruptible, %d runs: held between them", j->id, j->nruns);
}

/* Holds a job at the end of its current run and releases it at the start of the next. */
void agt_slot_boundaries(struct agt_loop *a)
{
    int64_t now = agt_plat_now(a);
    for (size_t i = 0; a->have_now && i < a->njobs && !*a->stop; i++) {
        struct agt_job *j = &a->jobs[i];
        struct cpn_error e = { 0 };
        if (j->nruns < 2 || (j->reported != AJ_DISPATCHED && j->reported != AJ_RUNNING))
            continue;
        if (!j->held && j->cur + 1 < j->nruns && now >= j->run_end[j->cur]) {
            if (cpn_executor_slurm_interrupt(a->exec, j->id, &e) == 0) {
                j->held = true;
                agt_logf(a, "job %s: held at the end of run %d of %d", j->id, j->cur + 1, j->nruns);
            } else {
                agt_logf(a, "job %s: cannot hold it at its run boundary: %s", j->id, e.msg);
                j->nruns = 0; /* it runs on; the platform's plan is off by that much */
            }
        } else if (j->held && now >= j->run_start[j->cur + 1]) {
            if (cpn_executor_slurm_resume(a->exec, j->id, &e) == 0) {
                j->held = false;
                j->cur++;
                agt_logf(a, "job %s: released for run %d of %d", j->id, j->cur + 1, j->nruns);
            } else {
                agt_logf(a, "job %s: cannot release it: %s", j->id, e.msg);
            }
        }
    }
}

/* The next run boundary of a held or running interruptible job, monotonic ns (INT64_MAX: none). */
int64_t agt_next_boundary_ns(const struct agt_loop *a)
{
    int64_t best = INT64_MAX, now = agt_plat_now(a), mono = cpn_monotonic_ns();
    for (size_t i = 0; a->have_now && i < a->njobs; i++) {
        const struct agt_job *j = &a->jobs[i];
        int64_t t, at;
        if (j->nruns < 2 || j->cur + 1 >= j->nruns)
            continue;
        t = j->held ? j->run_start[j->cur + 1] : j->run_end[j->cur];
        at = mono + (int64_t)((double)(t > now ? t - now : 0) / a->clock_speed * 1e9) + 50000000;
        if (at < best)
            best = at;
    }
    return best;
}

static void do_run(struct agt_loop *a, const json_t *job)
{
    const char *id = agt_jstr(job, "id");
    const json_t *spec = json_object_get(job, "spec"), *pl = json_object_get(job, "placement");
    const char *pool = agt_jstr(pl, "pool"), *cmd = agt_jstr(spec, "command");
    const struct cpn_agent_pool *p;
    struct cpn_agent_task task;
    struct cpn_task_status st;
    struct cpn_error e = { 0 };
    struct agt_job *j;
    int64_t start = 0, end = 0;
    int rc;
    if (!id || !agt_job_id_ok(id)) {
        agt_logf(a, "a run assignment without a usable job id: ignored");
        return;
    }
    j = agt_job_find(a, id);
    if (j && (j->reported != AJ_NONE && !j->reconcile))
        return; /* handled already; the platform will see our event */
    memset(&task, 0, sizeof task);
    cpn_strlcpy(task.job_id, id, sizeof task.job_id);
    cpn_strlcpy(task.pool, pool ? pool : "", sizeof task.pool);
    p = pool ? agt_pool_find(a, pool) : NULL;
    if (p)
        cpn_strlcpy(task.partition, p->partition, sizeof task.partition);
    task.units = json_integer_value(json_object_get(spec, "units"));
    if (task.units < 1)
        task.units = 1;
    if (agt_jstr(pl, "start"))
        cpn_time_parse(agt_jstr(pl, "start"), &start);
    if (agt_jstr(pl, "end"))
        cpn_time_parse(agt_jstr(pl, "end"), &end);
    task.begin_s = start;
    task.duration_s = json_number_value(json_object_get(pl, "duration_s"));
    if (!(task.duration_s > 0) && end > start)
        task.duration_s = (double)(end - start);
    task.time_scale = 1.0 / a->clock_speed;
    task.interruptible = json_is_true(json_object_get(spec, "interruptible"));
    task.now_s = agt_plat_now(a);
    if (!(j = agt_job_add(a, id))) {
        agt_logf(a, "job %s: out of memory", id);
        return;
    }
    if (cmd && cpn_strlcpy(task.command, cmd, sizeof task.command)) {
        memset(&st, 0, sizeof st);
        st.state = CPN_TASK_FAILED;
        st.exit_code = 126;
        snprintf(st.message, sizeof st.message, "the command is longer than %zu bytes",
                 sizeof task.command - 1);
        agt_report(a, j, AJ_FAILED, &st);
        return;
    }
    rc = a->exec->ops->submit(a->exec, &task, &st, &e);
    if (rc) {
        j->submit_failures++;
        agt_logf(a, "job %s: the %s executor refused it (%d of %d): %s", id, a->exec->ops->name,
                 j->submit_failures, AGT_SUBMIT_MAX, e.msg);
        if (j->submit_failures >= AGT_SUBMIT_MAX) {
            memset(&st, 0, sizeof st);
            st.state = CPN_TASK_FAILED;
            st.exit_code = -1;
            snprintf(st.message, sizeof st.message, "executor: %.240s", e.msg);
            agt_report(a, j, AJ_FAILED, &st);
        }
        return;
    }
    cpn_strlcpy(j->pool, task.pool, sizeof j->pool);
    j->units = task.units;
    j->begin_s = task.begin_s;
    j->time_scale = task.time_scale;
    take_runs(a, j, &task, pl);
    agt_report(a, j, AJ_DISPATCHED, &st);
}

static void do_cancel(struct agt_loop *a, const json_t *job)
{
    const char *id = agt_jstr(job, "id");
    struct cpn_task_status st;
    struct cpn_error e = { 0 };
    enum agt_jstate s;
    struct agt_job *j;
    if (!id || !agt_job_id_ok(id))
        return;
    j = agt_job_find(a, id);
    if (j && agt_rank(j->reported) == 3)
        return;
    if (!j && !(j = agt_job_add(a, id)))
        return;
    if (a->exec->ops->cancel(a->exec, id, &e) && e.code != CPN_EREF)
        agt_logf(a, "job %s: cancel: %s", id, e.msg);
    memset(&st, 0, sizeof st);
    if (a->exec->ops->status(a->exec, id, &st, &e))
        st.state = CPN_TASK_CANCELLED;
    s = agt_from_task(st.state);
    /* what actually happened: a task that finished before the cancel reports its end */
    if (s != AJ_COMPLETED && s != AJ_FAILED)
        s = AJ_CANCELLED;
    agt_report(a, j, s, &st);
}

static void take_time(struct agt_loop *a, const json_t *ans)
{
    int64_t now;
    const json_t *cs = json_object_get(ans, "clock_speed");
    if (agt_jstr(ans, "now") && cpn_time_parse(agt_jstr(ans, "now"), &now) == 0) {
        a->plat_now_s = now;
        a->plat_mono_ns = cpn_monotonic_ns();
        a->have_now = true;
    }
    if (json_is_number(cs) && json_number_value(cs) > 0 && isfinite(json_number_value(cs)))
        a->clock_speed = json_number_value(cs);
}

/* One assignments call; returns 0 when it was answered. */
int agt_poll_assignments(struct agt_loop *a, int wait_s)
{
    char path[256];
    struct agt_reply r;
    const json_t *list, *v;
    size_t n = 0, i;
    int rc;
    n = (size_t)snprintf(path, sizeof path, "%s/assignments?wait=%d", a->base, wait_s);
    if (a->have_version)
        n += (size_t)snprintf(path + n, sizeof path - n, "&version=%llu", a->version);
    snprintf(path + n, sizeof path - n, "&horizon=%d",
             a->cfg->horizon_s > 0 ? a->cfg->horizon_s : 300);
    rc = agt_call(a, "GET", path, NULL, wait_s + 10, &r);
    if (rc)
        return rc;
    if (r.status != 200 || !json_is_object(r.json)) {
        agt_refused(a, "assignments", &r);
        agt_reply_free(&r);
        return -EPROTO;
    }
    take_time(a, r.json);
    v = json_object_get(r.json, "version");
    if (json_is_integer(v)) {
        a->version = (unsigned long long)json_integer_value(v);
        a->have_version = true;
    }
    a->synced = true;
    list = json_object_get(r.json, "assignments");
    json_array_foreach(list, i, v)
    {
        const char *action = agt_jstr(v, "action");
        const json_t *job = json_object_get(v, "job");
        if (*a->stop)
            break;
        if (action && !strcmp(action, "run"))
            do_run(a, job);
        else if (action && !strcmp(action, "cancel"))
            do_cancel(a, job);
    }
    agt_reply_free(&r);
    return 0;
}
