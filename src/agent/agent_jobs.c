/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's jobs and their events: the job table (DIR/jobs.json, so that a restarted agent
 * neither runs a job twice nor forgets one), the state events queued in the outbox and delivered
 * in order, and reconciliation: the tasks an executor still knows after a restart are followed
 * and reported as they really ran. Events go through the outbox, so a platform that is away only
 * delays them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_loop_int.h"

#define AGT_JOBS_KEEP 20000 /* finished jobs remembered (so a late "run" is not run again) */

static const char *const aj_names[] = { "none",   "dispatched", "running", "completed",
                                        "failed", "cancelled",  "lost" };

/* ---- the job table (DIR/jobs.json) ------------------------------------------------------------
 */

struct agt_job *agt_job_find(struct agt_loop *a, const char *id)
{
    for (size_t i = 0; i < a->njobs; i++)
        if (!strcmp(a->jobs[i].id, id))
            return &a->jobs[i];
    return NULL;
}

struct agt_job *agt_job_add(struct agt_loop *a, const char *id)
{
    struct agt_job *j = agt_job_find(a, id);
    if (j)
        return j;
    if (a->njobs >= AGT_JOBS_KEEP) { /* forget the oldest finished one */
        for (size_t i = 0; i < a->njobs; i++)
            if (agt_rank(a->jobs[i].reported) == 3) {
                memmove(&a->jobs[i], &a->jobs[i + 1], (a->njobs - i - 1) * sizeof *a->jobs);
                a->njobs--;
                break;
            }
    }
    if (cpn_grow(&a->jobs, &a->jobs_cap, a->njobs + 1, sizeof *a->jobs))
        return NULL;
    j = &a->jobs[a->njobs++];
    memset(j, 0, sizeof *j);
    cpn_strlcpy(j->id, id, sizeof j->id);
    j->units = 1;
    j->time_scale = 1;
    return j;
}

void agt_jobs_save(struct agt_loop *a)
{
    json_t *arr = json_array();
    struct cpn_error e = { 0 };
    char *text;
    for (size_t i = 0; arr && i < a->njobs; i++) {
        const struct agt_job *j = &a->jobs[i];
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:I,s:I,s:f,s:s,s:b,s:s}", "id", j->id, "pool", j->pool,
                           "units", (json_int_t)j->units, "begin", (json_int_t)j->begin_s,
                           "time_scale", j->time_scale, "state", aj_names[j->reported], "reconcile",
                           j->reconcile, "executor_id", j->executor_id));
    }
    text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!text || agt_write_file(a->jobs_path, text, &e))
        agt_logf(a, "cannot save the job table: %s", text ? e.msg : "out of memory");
    free(text);
}

int agt_jobs_load(struct agt_loop *a, struct cpn_error *err)
{
    json_error_t je;
    json_t *arr = json_load_file(a->jobs_path, 0, &je);
    size_t i;
    json_t *o;
    if (!arr) {
        FILE *f = fopen(a->jobs_path, "r");
        if (!f)
            return 0; /* first start */
        fclose(f);
        return cpn_errorf(err, CPN_EPARSE, "%s:%d:%d: %s", a->jobs_path, je.line, je.column,
                          je.text);
    }
    json_array_foreach(arr, i, o)
    {
        const char *id = json_string_value(json_object_get(o, "id"));
        const char *st = json_string_value(json_object_get(o, "state"));
        struct agt_job *j;
        if (!id || !agt_job_id_ok(id) || !st)
            continue;
        if (!(j = agt_job_add(a, id))) {
            json_decref(arr);
            return cpn_errorf(err, -ENOMEM, "out of memory");
        }
        cpn_strlcpy(j->pool,
                    json_string_value(json_object_get(o, "pool"))
                        ? json_string_value(json_object_get(o, "pool"))
                        : "",
                    sizeof j->pool);
        j->units = json_integer_value(json_object_get(o, "units"));
        j->begin_s = json_integer_value(json_object_get(o, "begin"));
        j->time_scale = json_number_value(json_object_get(o, "time_scale"));
        if (!(j->time_scale > 0))
            j->time_scale = 1;
        j->reconcile = json_is_true(json_object_get(o, "reconcile"));
        if (json_string_value(json_object_get(o, "executor_id")))
            cpn_strlcpy(j->executor_id, json_string_value(json_object_get(o, "executor_id")),
                        sizeof j->executor_id);
        for (int k = 0; k <= AJ_LOST; k++)
            if (!strcmp(st, aj_names[k]))
                j->reported = (enum agt_jstate)k;
    }
    json_decref(arr);
    return 0;
}

/* ---- events -----------------------------------------------------------------------------------
 */

void agt_iso(int64_t t, char out[CPN_TIME_STRLEN])
{
    cpn_time_format(t, out);
}

const struct cpn_agent_pool *agt_pool_find(const struct agt_loop *a, const char *id)
{
    for (size_t i = 0; i < a->npools; i++)
        if (!strcmp(a->pools[i].id, id))
            return &a->pools[i];
    return NULL;
}

/* Queues the event of job j moving to state s (with the executor's status st when known). */
void agt_report(struct agt_loop *a,
                struct agt_job *j,
                enum agt_jstate s,
                const struct cpn_task_status *st)
{
    json_t *o = json_object();
    struct cpn_error e = { 0 };
    char t[CPN_TIME_STRLEN];
    char *text;
    int64_t when = agt_plat_now(a);
    if (st && s == AJ_RUNNING && st->started_s)
        when = agt_plat_of_wall(a, st->started_s);
    else if (st && agt_rank(s) == 3 && st->ended_s)
        when = agt_plat_of_wall(a, st->ended_s);
    json_object_set_new(o, "state", json_string(aj_names[s]));
    if (when > 0) {
        agt_iso(when, t);
        json_object_set_new(o, "time", json_string(t));
    }
    if (st && st->executor_id[0])
        cpn_strlcpy(j->executor_id, st->executor_id, sizeof j->executor_id);
    if (j->executor_id[0])
        json_object_set_new(o, "executor_id", json_string(j->executor_id));
    if (st && agt_rank(s) == 3 && s != AJ_CANCELLED && s != AJ_LOST)
        json_object_set_new(o, "exit_code", json_integer(st->exit_code));
    if (st && st->message[0])
        json_object_set_new(o, "message", json_string(st->message));
    if (st && agt_rank(s) == 3 && st->started_s) {
        const struct cpn_agent_pool *p = agt_pool_find(a, j->pool);
        double uh = st->unit_hours;
        double kwh;
        bool measured = st->energy_measured;
        if (!(uh > 0) && st->ended_s > st->started_s)
            uh = (double)j->units * (double)(st->ended_s - st->started_s) / j->time_scale / 3600.0;
        if (!(uh >= 0))
            uh = 0;
        kwh = measured ? st->energy_kwh
                       : uh * (p ? p->watts_busy : 0) / 1000.0 * (a->pue >= 1 ? a->pue : 1);
        json_object_set_new(o, "usage",
                            json_pack("{s:f,s:f,s:s}", "unit_hours", uh, "energy_kwh", kwh,
                                      "energy_source", measured ? "measured" : "estimated"));
    }
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text || agt_outbox_push(&a->ob, j->id, text, &e)) {
        agt_logf(a, "job %s: the %s event could not be queued: %s", j->id, aj_names[s],
                 text ? e.msg : "out of memory");
        free(text);
        return;
    }
    free(text);
    j->reported = s;
    j->reconcile = false;
    agt_jobs_save(a);
    if (st && (s == AJ_COMPLETED || s == AJ_FAILED))
        agt_logf(a, "job %s: %s (exit %d%s%s)", j->id, aj_names[s], st->exit_code,
                 st->message[0] ? ", " : "", st->message);
    else if (st && s == AJ_LOST)
        agt_logf(a, "job %s: lost (%s)", j->id, st->message[0] ? st->message : "no reason given");
    else
        agt_logf(a, "job %s: %s%s%s", j->id, aj_names[s], j->executor_id[0] ? " as " : "",
                 j->executor_id);
}

/* The platform does not have this job here (it refused the report as another cluster's, or does
 * not know the job): a task that has not ended is cancelled, so that nothing runs where the
 * platform does not expect it (the job may have moved before our "dispatched" arrived). */
static void abandon(struct agt_loop *a, const char *id)
{
    struct agt_job *j = agt_job_find(a, id);
    struct cpn_error e = { 0 };
    if (!j || agt_rank(j->reported) == 3)
        return;
    if (a->exec->ops->cancel(a->exec, id, &e) && e.code != CPN_EREF)
        agt_logf(a, "job %s: cancel: %s", id, e.msg);
    j->reported = AJ_CANCELLED;
    j->reconcile = false;
    agt_jobs_save(a);
    agt_logf(a, "job %s: not this cluster's on the platform: its local task is cancelled", id);
}

/* Sends the outbox in order; stops at the first call that does not get through. */
void agt_deliver(struct agt_loop *a)
{
    while (a->ob.n && !*a->stop) {
        const struct agt_event *ev = &a->ob.ev[0];
        char path[160], why[1200];
        struct agt_reply r;
        struct cpn_error e = { 0 };
        int rc;
        snprintf(path, sizeof path, "/v1/jobs/%s/events", ev->job);
        rc = agt_call(a, "POST", path, ev->body, 30, &r);
        if (rc)
            return;
        if (r.status < 200 || r.status >= 300) {
            agt_reply_why(&r, why, sizeof why);
            if (r.status == 409)
                agt_logf(a, "job %s: the platform has a later state (%s): event dropped", ev->job,
                         why);
            else
                agt_logf(a, "job %s: event %s refused for good (%s): dropped", ev->job, ev->body,
                         why);
            if (r.status == 403 || r.status == 404)
                abandon(a, ev->job);
        }
        agt_reply_free(&r);
        if (agt_outbox_pop(&a->ob, &e)) {
            agt_logf(a, "outbox: %s", e.msg);
            return;
        }
    }
}

enum agt_jstate agt_from_task(enum cpn_task_state s)
{
    switch (s) {
    case CPN_TASK_PENDING:
        return AJ_DISPATCHED;
    case CPN_TASK_RUNNING:
        return AJ_RUNNING;
    case CPN_TASK_COMPLETED:
        return AJ_COMPLETED;
    case CPN_TASK_FAILED:
        return AJ_FAILED;
    case CPN_TASK_CANCELLED:
        return AJ_CANCELLED;
    case CPN_TASK_LOST:
        return AJ_LOST;
    }
    return AJ_LOST;
}

/* Follows every task in flight and reports its changes. */
void agt_follow_tasks(struct agt_loop *a)
{
    for (size_t i = 0; i < a->njobs && !*a->stop; i++) {
        struct agt_job *j = &a->jobs[i];
        struct cpn_task_status st;
        struct cpn_error e = { 0 };
        enum agt_jstate s;
        if (agt_rank(j->reported) == 3 || (j->reported == AJ_NONE && !j->reconcile))
            continue;
        if (a->exec->ops->status(a->exec, j->id, &st, &e)) {
            agt_logf(a, "job %s: status: %s", j->id, e.msg);
            continue;
        }
        s = agt_from_task(st.state);
        if (agt_rank(s) > agt_rank(j->reported) || (j->reconcile && s != j->reported))
            agt_report(a, &a->jobs[i], s, &st);
        else if (j->reconcile) {
            j->reconcile = false;
            agt_jobs_save(a);
        }
    }
}

/* ---- reconciliation ---------------------------------------------------------------------------
 */

void agt_on_known(void *ctx, const char *job_id)
{
    struct agt_loop *a = ctx;
    struct agt_job *j;
    if (!agt_job_id_ok(job_id) || agt_job_find(a, job_id))
        return;
    if ((j = agt_job_add(a, job_id)) != NULL)
        j->reconcile = true;
}
