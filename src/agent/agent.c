/* SPDX-License-Identifier: Apache-2.0 */
/* The agent loop (docs/agent.md, docs/agent-protocol.md): one thread that reports telemetry every
 * period (damped), long-polls the platform for assignments, hands "run" and "cancel" to the
 * executor, follows every task it holds and reports each state change with metered usage. Events
 * go through the outbox, so a platform that is away only delays them, and a restarted agent
 * delivers what it had and reconciles: it asks the executor what it knows and reports what really
 * ran. Time comes from the platform's answers ("now", "clock_speed"), advanced by the monotonic
 * clock in between; the loop sleeps in the long-poll or until the next period, never spinning. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_int.h"

enum jstate {
    AJ_NONE, /* not (yet) submitted */
    AJ_DISPATCHED,
    AJ_RUNNING,
    AJ_COMPLETED,
    AJ_FAILED,
    AJ_CANCELLED,
    AJ_LOST
};
static const char *const aj_names[] = { "none",   "dispatched", "running", "completed",
                                        "failed", "cancelled",  "lost" };

static int rank(enum jstate s)
{
    return s >= AJ_COMPLETED ? 3 : (int)s;
}

#define AGT_JOBS_KEEP          20000 /* finished jobs remembered (so a late "run" is not run again) */
#define AGT_SUBMIT_MAX         5     /* executor refusals of one job before it is reported failed */
#define AGT_RUNS_MAX           32    /* slot runs of an interruptible job the agent follows */
#define AGT_DEFAULT_CPU_TFLOPS 0.05

struct ajob {
    char id[CPN_AGENT_JOB_ID_MAX];
    char pool[CPN_ID_MAX];
    int64_t units;
    int64_t begin_s; /* planned start, platform time */
    double time_scale;
    enum jstate reported;
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

struct agent {
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
    struct ajob *jobs;
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

static void logf_(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(struct agent *a, const char *fmt, ...)
{
    va_list ap;
    fprintf(a->log, "cpnet agent %s: ", a->cfg->cluster);
    va_start(ap, fmt);
    vfprintf(a->log, fmt, ap);
    va_end(ap);
    fputc('\n', a->log);
    fflush(a->log);
}

/* ---- time ------------------------------------------------------------------------------------ */

static int64_t wall_s(void)
{
    struct cpn_clock c = cpn_clock_real();
    return c.now_ns(c.ctx) / 1000000000;
}

static int64_t plat_now(const struct agent *a)
{
    double el;
    if (!a->have_now)
        return 0;
    el = (double)(cpn_monotonic_ns() - a->plat_mono_ns) / 1e9 * a->clock_speed;
    return a->plat_now_s + (int64_t)floor(el);
}

/* The platform time of an executor (wall) time. */
static int64_t plat_of_wall(const struct agent *a, int64_t t)
{
    int64_t now = plat_now(a), w = wall_s();
    int64_t p;
    if (!a->have_now)
        return 0;
    if (t <= 0 || t >= w)
        return now;
    p = now - (int64_t)llround((double)(w - t) * a->clock_speed);
    return p;
}

/* Sleeps until the monotonic deadline or until *stop, in short naps (a signal also ends a nap). */
static void sleep_until(struct agent *a, int64_t deadline_ns)
{
    while (!*a->stop) {
        int64_t left = deadline_ns - cpn_monotonic_ns();
        struct timespec ts;
        if (left <= 0)
            return;
        if (left > 200000000)
            left = 200000000;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left;
        nanosleep(&ts, NULL);
    }
}

/* ---- the job table (DIR/jobs.json) ------------------------------------------------------------
 */

static struct ajob *job_find(struct agent *a, const char *id)
{
    for (size_t i = 0; i < a->njobs; i++)
        if (!strcmp(a->jobs[i].id, id))
            return &a->jobs[i];
    return NULL;
}

static struct ajob *job_add(struct agent *a, const char *id)
{
    struct ajob *j = job_find(a, id);
    if (j)
        return j;
    if (a->njobs >= AGT_JOBS_KEEP) { /* forget the oldest finished one */
        for (size_t i = 0; i < a->njobs; i++)
            if (rank(a->jobs[i].reported) == 3) {
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

static void jobs_save(struct agent *a)
{
    json_t *arr = json_array();
    struct cpn_error e = { 0 };
    char *text;
    for (size_t i = 0; arr && i < a->njobs; i++) {
        const struct ajob *j = &a->jobs[i];
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:I,s:I,s:f,s:s,s:b,s:s}", "id", j->id, "pool", j->pool,
                           "units", (json_int_t)j->units, "begin", (json_int_t)j->begin_s,
                           "time_scale", j->time_scale, "state", aj_names[j->reported], "reconcile",
                           j->reconcile, "executor_id", j->executor_id));
    }
    text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!text || agt_write_file(a->jobs_path, text, &e))
        logf_(a, "cannot save the job table: %s", text ? e.msg : "out of memory");
    free(text);
}

static int jobs_load(struct agent *a, struct cpn_error *err)
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
        struct ajob *j;
        if (!id || !agt_job_id_ok(id) || !st)
            continue;
        if (!(j = job_add(a, id))) {
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
                j->reported = (enum jstate)k;
    }
    json_decref(arr);
    return 0;
}

/* ---- platform calls with backoff --------------------------------------------------------------
 */

/* 0 with an answer of any status; -EAGAIN when the platform is away (backing off), -EINTR when
 * stopped. r is always initialised. */
static int call(struct agent *a,
                const char *method,
                const char *path,
                const char *body,
                long timeout_s,
                struct agt_reply *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    if (a->failures && cpn_monotonic_ns() < a->retry_at_ns)
        return -EAGAIN;
    rc = agt_http_call(a->http, method, path, body, timeout_s, r);
    if (rc == -EINTR)
        return rc;
    if (agt_retryable(rc, r)) {
        char why[1200];
        double d;
        agt_reply_why(r, why, sizeof why);
        a->failures++;
        d = agt_backoff_s(a->failures, cpn_rng_uniform(&a->rng));
        a->retry_at_ns = cpn_monotonic_ns() + (int64_t)(d * 1e9);
        if (a->failures == 1 || (a->failures & (a->failures - 1)) == 0)
            logf_(a, "platform unavailable (%s); retry %d in %.1f s", why, a->failures, d);
        agt_reply_free(r);
        a->once_failed = true;
        return -EAGAIN;
    }
    if (a->failures)
        logf_(a, "platform reachable again after %d failed call%s", a->failures,
              a->failures == 1 ? "" : "s");
    a->failures = 0;
    return 0;
}

/* Logs a refusal once (until a different one comes). */
static void refused(struct agent *a, const char *what, const struct agt_reply *r)
{
    char why[1200], line[256];
    agt_reply_why(r, why, sizeof why);
    snprintf(line, sizeof line, "%.40s: %.200s", what, why);
    if (strcmp(line, a->last_refusal))
        logf_(a, "%s", line);
    cpn_strlcpy(a->last_refusal, line, sizeof a->last_refusal);
    a->once_failed = true;
}

/* ---- events -----------------------------------------------------------------------------------
 */

static void iso(int64_t t, char out[CPN_TIME_STRLEN])
{
    cpn_time_format(t, out);
}

static const struct cpn_agent_pool *pool_find(const struct agent *a, const char *id)
{
    for (size_t i = 0; i < a->npools; i++)
        if (!strcmp(a->pools[i].id, id))
            return &a->pools[i];
    return NULL;
}

/* Queues the event of job j moving to state s (with the executor's status st when known). */
static void report(struct agent *a, struct ajob *j, enum jstate s, const struct cpn_task_status *st)
{
    json_t *o = json_object();
    struct cpn_error e = { 0 };
    char t[CPN_TIME_STRLEN];
    char *text;
    int64_t when = plat_now(a);
    if (st && s == AJ_RUNNING && st->started_s)
        when = plat_of_wall(a, st->started_s);
    else if (st && rank(s) == 3 && st->ended_s)
        when = plat_of_wall(a, st->ended_s);
    json_object_set_new(o, "state", json_string(aj_names[s]));
    if (when > 0) {
        iso(when, t);
        json_object_set_new(o, "time", json_string(t));
    }
    if (st && st->executor_id[0])
        cpn_strlcpy(j->executor_id, st->executor_id, sizeof j->executor_id);
    if (j->executor_id[0])
        json_object_set_new(o, "executor_id", json_string(j->executor_id));
    if (st && rank(s) == 3 && s != AJ_CANCELLED && s != AJ_LOST)
        json_object_set_new(o, "exit_code", json_integer(st->exit_code));
    if (st && st->message[0])
        json_object_set_new(o, "message", json_string(st->message));
    if (st && rank(s) == 3 && st->started_s) {
        const struct cpn_agent_pool *p = pool_find(a, j->pool);
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
        logf_(a, "job %s: the %s event could not be queued: %s", j->id, aj_names[s],
              text ? e.msg : "out of memory");
        free(text);
        return;
    }
    free(text);
    j->reported = s;
    j->reconcile = false;
    jobs_save(a);
    if (st && (s == AJ_COMPLETED || s == AJ_FAILED))
        logf_(a, "job %s: %s (exit %d%s%s)", j->id, aj_names[s], st->exit_code,
              st->message[0] ? ", " : "", st->message);
    else if (st && s == AJ_LOST)
        logf_(a, "job %s: lost (%s)", j->id, st->message[0] ? st->message : "no reason given");
    else
        logf_(a, "job %s: %s%s%s", j->id, aj_names[s], j->executor_id[0] ? " as " : "",
              j->executor_id);
}

/* The platform does not have this job here (it refused the report as another cluster's, or does
 * not know the job): a task that has not ended is cancelled, so that nothing runs where the
 * platform does not expect it (the job may have moved before our "dispatched" arrived). */
static void abandon(struct agent *a, const char *id)
{
    struct ajob *j = job_find(a, id);
    struct cpn_error e = { 0 };
    if (!j || rank(j->reported) == 3)
        return;
    if (a->exec->ops->cancel(a->exec, id, &e) && e.code != CPN_EREF)
        logf_(a, "job %s: cancel: %s", id, e.msg);
    j->reported = AJ_CANCELLED;
    j->reconcile = false;
    jobs_save(a);
    logf_(a, "job %s: not this cluster's on the platform: its local task is cancelled", id);
}

/* Sends the outbox in order; stops at the first call that does not get through. */
static void deliver(struct agent *a)
{
    while (a->ob.n && !*a->stop) {
        const struct agt_event *ev = &a->ob.ev[0];
        char path[160], why[1200];
        struct agt_reply r;
        struct cpn_error e = { 0 };
        int rc;
        snprintf(path, sizeof path, "/v1/jobs/%s/events", ev->job);
        rc = call(a, "POST", path, ev->body, 30, &r);
        if (rc)
            return;
        if (r.status < 200 || r.status >= 300) {
            agt_reply_why(&r, why, sizeof why);
            if (r.status == 409)
                logf_(a, "job %s: the platform has a later state (%s): event dropped", ev->job,
                      why);
            else
                logf_(a, "job %s: event %s refused for good (%s): dropped", ev->job, ev->body, why);
            if (r.status == 403 || r.status == 404)
                abandon(a, ev->job);
        }
        agt_reply_free(&r);
        if (agt_outbox_pop(&a->ob, &e)) {
            logf_(a, "outbox: %s", e.msg);
            return;
        }
    }
}

/* ---- assignments ------------------------------------------------------------------------------
 */

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The slot runs of an interruptible placement, for holding the job between them (Slurm only:
 * the local executor has no way to pause a task at a boundary). */
static void
take_runs(struct agent *a, struct ajob *j, const struct cpn_agent_task *t, const json_t *pl)
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
        if (!jstr(r, "start") || cpn_time_parse(jstr(r, "start"), &st))
            return;
        j->run_start[i] = st;
        j->run_end[i] = st + json_integer_value(json_object_get(r, "slots")) * slot;
    }
    j->nruns = (int)n;
    logf_(a, "job %s: interruptible, %d runs: held between them", j->id, j->nruns);
}

/* Holds a job at the end of its current run and releases it at the start of the next. */
static void slot_boundaries(struct agent *a)
{
    int64_t now = plat_now(a);
    for (size_t i = 0; a->have_now && i < a->njobs && !*a->stop; i++) {
        struct ajob *j = &a->jobs[i];
        struct cpn_error e = { 0 };
        if (j->nruns < 2 || (j->reported != AJ_DISPATCHED && j->reported != AJ_RUNNING))
            continue;
        if (!j->held && j->cur + 1 < j->nruns && now >= j->run_end[j->cur]) {
            if (cpn_executor_slurm_interrupt(a->exec, j->id, &e) == 0) {
                j->held = true;
                logf_(a, "job %s: held at the end of run %d of %d", j->id, j->cur + 1, j->nruns);
            } else {
                logf_(a, "job %s: cannot hold it at its run boundary: %s", j->id, e.msg);
                j->nruns = 0; /* it runs on; the platform's plan is off by that much */
            }
        } else if (j->held && now >= j->run_start[j->cur + 1]) {
            if (cpn_executor_slurm_resume(a->exec, j->id, &e) == 0) {
                j->held = false;
                j->cur++;
                logf_(a, "job %s: released for run %d of %d", j->id, j->cur + 1, j->nruns);
            } else {
                logf_(a, "job %s: cannot release it: %s", j->id, e.msg);
            }
        }
    }
}

/* The next run boundary of a held or running interruptible job, monotonic ns (INT64_MAX: none). */
static int64_t next_boundary_ns(const struct agent *a)
{
    int64_t best = INT64_MAX, now = plat_now(a), mono = cpn_monotonic_ns();
    for (size_t i = 0; a->have_now && i < a->njobs; i++) {
        const struct ajob *j = &a->jobs[i];
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

static void do_run(struct agent *a, const json_t *job)
{
    const char *id = jstr(job, "id");
    const json_t *spec = json_object_get(job, "spec"), *pl = json_object_get(job, "placement");
    const char *pool = jstr(pl, "pool"), *cmd = jstr(spec, "command");
    const struct cpn_agent_pool *p;
    struct cpn_agent_task task;
    struct cpn_task_status st;
    struct cpn_error e = { 0 };
    struct ajob *j;
    int64_t start = 0, end = 0;
    int rc;
    if (!id || !agt_job_id_ok(id)) {
        logf_(a, "a run assignment without a usable job id: ignored");
        return;
    }
    j = job_find(a, id);
    if (j && (j->reported != AJ_NONE && !j->reconcile))
        return; /* handled already; the platform will see our event */
    memset(&task, 0, sizeof task);
    cpn_strlcpy(task.job_id, id, sizeof task.job_id);
    cpn_strlcpy(task.pool, pool ? pool : "", sizeof task.pool);
    p = pool ? pool_find(a, pool) : NULL;
    if (p)
        cpn_strlcpy(task.partition, p->partition, sizeof task.partition);
    task.units = json_integer_value(json_object_get(spec, "units"));
    if (task.units < 1)
        task.units = 1;
    if (jstr(pl, "start"))
        cpn_time_parse(jstr(pl, "start"), &start);
    if (jstr(pl, "end"))
        cpn_time_parse(jstr(pl, "end"), &end);
    task.begin_s = start;
    task.duration_s = json_number_value(json_object_get(pl, "duration_s"));
    if (!(task.duration_s > 0) && end > start)
        task.duration_s = (double)(end - start);
    task.time_scale = 1.0 / a->clock_speed;
    task.interruptible = json_is_true(json_object_get(spec, "interruptible"));
    task.now_s = plat_now(a);
    if (!(j = job_add(a, id))) {
        logf_(a, "job %s: out of memory", id);
        return;
    }
    if (cmd && cpn_strlcpy(task.command, cmd, sizeof task.command)) {
        memset(&st, 0, sizeof st);
        st.state = CPN_TASK_FAILED;
        st.exit_code = 126;
        snprintf(st.message, sizeof st.message, "the command is longer than %zu bytes",
                 sizeof task.command - 1);
        report(a, j, AJ_FAILED, &st);
        return;
    }
    rc = a->exec->ops->submit(a->exec, &task, &st, &e);
    if (rc) {
        j->submit_failures++;
        logf_(a, "job %s: the %s executor refused it (%d of %d): %s", id, a->exec->ops->name,
              j->submit_failures, AGT_SUBMIT_MAX, e.msg);
        if (j->submit_failures >= AGT_SUBMIT_MAX) {
            memset(&st, 0, sizeof st);
            st.state = CPN_TASK_FAILED;
            st.exit_code = -1;
            snprintf(st.message, sizeof st.message, "executor: %.240s", e.msg);
            report(a, j, AJ_FAILED, &st);
        }
        return;
    }
    cpn_strlcpy(j->pool, task.pool, sizeof j->pool);
    j->units = task.units;
    j->begin_s = task.begin_s;
    j->time_scale = task.time_scale;
    take_runs(a, j, &task, pl);
    report(a, j, AJ_DISPATCHED, &st);
}

static enum jstate from_task(enum cpn_task_state s)
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

static void do_cancel(struct agent *a, const json_t *job)
{
    const char *id = jstr(job, "id");
    struct cpn_task_status st;
    struct cpn_error e = { 0 };
    enum jstate s;
    struct ajob *j;
    if (!id || !agt_job_id_ok(id))
        return;
    j = job_find(a, id);
    if (j && rank(j->reported) == 3)
        return;
    if (!j && !(j = job_add(a, id)))
        return;
    if (a->exec->ops->cancel(a->exec, id, &e) && e.code != CPN_EREF)
        logf_(a, "job %s: cancel: %s", id, e.msg);
    memset(&st, 0, sizeof st);
    if (a->exec->ops->status(a->exec, id, &st, &e))
        st.state = CPN_TASK_CANCELLED;
    s = from_task(st.state);
    /* what actually happened: a task that finished before the cancel reports its end */
    if (s != AJ_COMPLETED && s != AJ_FAILED)
        s = AJ_CANCELLED;
    report(a, j, s, &st);
}

static void take_time(struct agent *a, const json_t *ans)
{
    int64_t now;
    const json_t *cs = json_object_get(ans, "clock_speed");
    if (jstr(ans, "now") && cpn_time_parse(jstr(ans, "now"), &now) == 0) {
        a->plat_now_s = now;
        a->plat_mono_ns = cpn_monotonic_ns();
        a->have_now = true;
    }
    if (json_is_number(cs) && json_number_value(cs) > 0 && isfinite(json_number_value(cs)))
        a->clock_speed = json_number_value(cs);
}

/* One assignments call; returns 0 when it was answered. */
static int poll_assignments(struct agent *a, int wait_s)
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
    rc = call(a, "GET", path, NULL, wait_s + 10, &r);
    if (rc)
        return rc;
    if (r.status != 200 || !json_is_object(r.json)) {
        refused(a, "assignments", &r);
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
        const char *action = jstr(v, "action");
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

/* Follows every task in flight and reports its changes. */
static void follow_tasks(struct agent *a)
{
    for (size_t i = 0; i < a->njobs && !*a->stop; i++) {
        struct ajob *j = &a->jobs[i];
        struct cpn_task_status st;
        struct cpn_error e = { 0 };
        enum jstate s;
        if (rank(j->reported) == 3 || (j->reported == AJ_NONE && !j->reconcile))
            continue;
        if (a->exec->ops->status(a->exec, j->id, &st, &e)) {
            logf_(a, "job %s: status: %s", j->id, e.msg);
            continue;
        }
        s = from_task(st.state);
        if (rank(s) > rank(j->reported) || (j->reconcile && s != j->reported))
            report(a, &a->jobs[i], s, &st);
        else if (j->reconcile) {
            j->reconcile = false;
            jobs_save(a);
        }
    }
}

/* ---- telemetry --------------------------------------------------------------------------------
 */

static void telemetry(struct agent *a, bool force)
{
    struct cpn_error e = { 0 };
    struct agt_reply r;
    json_t *o, *pools;
    double util, kw = -1, watts = 0;
    const char *source = "estimated";
    char t[CPN_TIME_STRLEN], health[160];
    char *text;
    int rc;
    bool ok = true;
    rc = a->exec->ops->usage(a->exec, a->pools, a->npools, &a->running, &a->queued, &e);
    if (rc)
        snprintf(health, sizeof health, "degraded: %.140s", e.msg);
    else
        snprintf(health, sizeof health, "ok");
    if (strcmp(health, a->health)) {
        logf_(a, "health: %s", health);
        cpn_strlcpy(a->health, health, sizeof a->health);
    }
    util = agt_utilisation(a->pools, a->npools);
    a->periods_since++;
    if (!force &&
        !agt_damp_send(a->have_sent ? a->sent : NULL, a->pools, a->npools, a->sent_util, util,
                       a->conf.damping, a->periods_since, a->conf.heartbeat_periods))
        return;
    if (a->measure) {
        double w;
        int64_t now = cpn_monotonic_ns();
        if (a->rapl_ok && agt_rapl_watts(&a->rapl, now, &w) == 1)
            watts += w;
        else if (a->rapl_ok)
            ok = false;
        if (a->gpu && agt_nvml_watts(a->gpu, &w) == 0)
            watts += w;
        else if (a->gpu)
            ok = false;
        if (ok && (a->rapl_ok || a->gpu)) {
            kw = watts / 1000.0 * (a->pue >= 1 ? a->pue : 1);
            source = "measured";
        }
    }
    if (kw < 0)
        kw = agt_power_estimate_kw(a->pools, a->npools, a->pue);
    o = json_object();
    if (a->have_now) {
        iso(plat_now(a), t);
        json_object_set_new(o, "time", json_string(t));
    }
    pools = json_array();
    for (size_t i = 0; i < a->npools; i++)
        json_array_append_new(pools, json_pack("{s:s,s:I,s:I}", "id", a->pools[i].id, "total",
                                               (json_int_t)a->pools[i].total, "available",
                                               (json_int_t)a->pools[i].available));
    json_object_set_new(o, "pools", pools);
    json_object_set_new(o, "utilisation", json_real(util));
    json_object_set_new(o, "power_kw", json_real(kw));
    json_object_set_new(o, "power_source", json_string(source));
    if (a->pue >= 1)
        json_object_set_new(o, "pue", json_real(a->pue));
    json_object_set_new(o, "running_jobs", json_integer(a->running));
    json_object_set_new(o, "queued_jobs", json_integer(a->queued));
    json_object_set_new(o, "agent",
                        json_pack("{s:s,s:s,s:s}", "version", CPN_AGENT_VERSION, "executor",
                                  a->exec->ops->name, "health", a->health));
    text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (!text)
        return;
    {
        char path[160];
        snprintf(path, sizeof path, "%s/telemetry", a->base);
        rc = call(a, "POST", path, text, 15, &r);
    }
    free(text);
    if (rc)
        return;
    if (r.status >= 200 && r.status < 300) {
        memcpy(a->sent, a->pools, a->npools * sizeof a->pools[0]);
        a->have_sent = true;
        a->sent_util = util;
        a->periods_since = 0;
    } else {
        refused(a, "telemetry", &r);
    }
    agt_reply_free(&r);
}

/* ---- pools, platform info, registration -------------------------------------------------------
 */

static void apply_conf_pool(struct cpn_agent_pool *p, const struct agt_pool_conf *c)
{
    if (c->set & AGT_PF_PARTITION)
        cpn_strlcpy(p->partition, c->p.partition, sizeof p->partition);
    if (c->set & AGT_PF_CLASS)
        p->cls = c->p.cls;
    if (c->set & AGT_PF_DEVICE)
        cpn_strlcpy(p->device, c->p.device, sizeof p->device);
    if (c->set & AGT_PF_TFLOPS)
        p->tflops_per_unit = c->p.tflops_per_unit;
    if (c->set & AGT_PF_WATTS_IDLE)
        p->watts_idle = c->p.watts_idle;
    if (c->set & AGT_PF_WATTS_BUSY)
        p->watts_busy = c->p.watts_busy;
    if (c->set & AGT_PF_MEM)
        p->mem_gib_per_unit = c->p.mem_gib_per_unit;
    if (c->set & AGT_PF_PRICE)
        p->price_cny_per_unit_hour = c->p.price_cny_per_unit_hour;
    if (c->set & AGT_PF_UNITS)
        p->total = p->available = c->p.total;
}

static void fill_from_platform(struct cpn_agent_pool *p, unsigned set, const json_t *v);

/* --pools-from-platform: the pools the platform records for this cluster become the pools the
 * agent advertises (as if a config file named them), so one host can stand in for a reference
 * cluster in a demo. Waits for the platform (with the usual backoff) until it answers. */
static int pools_from_platform(struct agent *a, struct cpn_error *err)
{
    struct agt_reply r;
    const json_t *pools, *v;
    size_t i;
    for (;;) {
        int rc = call(a, "GET", a->base, NULL, 15, &r);
        if (rc == 0 && r.status == 200)
            break;
        agt_reply_free(&r);
        if (rc == -EINTR || *a->stop)
            return cpn_errorf(err, -EINTR, "stopped before the platform answered");
        if (rc == 0)
            return cpn_errorf(err, CPN_EREF,
                              "--pools-from-platform: the platform answered %ld "
                              "for cluster %s",
                              r.status, a->cfg->cluster);
        {
            struct timespec ts = { 0, 200 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    pools = json_object_get(r.json, "pools");
    json_array_foreach(pools, i, v)
    {
        struct agt_pool_conf *c;
        enum cpn_class cls;
        const json_t *u = json_object_get(v, "units");
        if (!jstr(v, "id"))
            continue;
        if (cpn_grow(&a->conf.pools, &a->pools_cap, a->conf.npools + 1, sizeof *a->conf.pools)) {
            agt_reply_free(&r);
            return cpn_errorf(err, -ENOMEM, "out of memory");
        }
        c = &a->conf.pools[a->conf.npools++];
        memset(c, 0, sizeof *c);
        cpn_strlcpy(c->p.id, jstr(v, "id"), sizeof c->p.id);
        c->p.total = json_is_integer(u) ? (int64_t)json_integer_value(u) : 1000000;
        c->p.available = c->p.total;
        c->set = AGT_PF_UNITS;
        if (jstr(v, "class") && cpn_class_parse(jstr(v, "class"), &cls) == 0) {
            c->p.cls = cls;
            c->set |= AGT_PF_CLASS;
        }
        fill_from_platform(&c->p, c->set, v);
        c->set |= AGT_PF_DEVICE | AGT_PF_TFLOPS | AGT_PF_WATTS_IDLE | AGT_PF_WATTS_BUSY |
                  AGT_PF_MEM | AGT_PF_PRICE;
    }
    agt_reply_free(&r);
    logf_(a, "advertising the platform's %zu pools of cluster %s", a->conf.npools, a->cfg->cluster);
    return 0;
}

static int setup_pools(struct agent *a, struct cpn_error *err)
{
    const char *file = a->cfg->config_path ? a->cfg->config_path : "the agent config";
    bool local = !strcmp(a->exec->ops->name, "local");
    size_t n = 0, ndisc;
    bool named[AGT_POOLS_MAX] = { false };
    int rc;
    rc = a->exec->ops->discover(a->exec, a->pools, AGT_POOLS_MAX, &n, err);
    if (rc)
        return cpn_error_prefix(err, rc, "%s executor: discovery: ", a->exec->ops->name);
    a->npools = ndisc = n;
    a->measure = local;
    for (size_t k = 0; k < n; k++) { /* discovery knows what it found; power and price it guesses */
        const struct cpn_agent_pool *p = &a->pools[k];
        a->pset[k] = AGT_PF_CLASS | AGT_PF_UNITS | AGT_PF_PARTITION | AGT_PF_DEVICE |
                     (p->mem_gib_per_unit > 0 ? AGT_PF_MEM : 0) |
                     (p->tflops_per_unit > 0 ? AGT_PF_TFLOPS : 0) |
                     (p->watts_busy > 0 ? AGT_PF_WATTS_IDLE | AGT_PF_WATTS_BUSY : 0) |
                     (p->price_cny_per_unit_hour > 0 ? AGT_PF_PRICE : 0);
    }
    for (size_t i = 0; i < a->conf.npools; i++) {
        const struct agt_pool_conf *c = &a->conf.pools[i];
        struct cpn_agent_pool *p = NULL;
        size_t at = a->npools;
        for (size_t k = 0; k < a->npools; k++)
            if (!strcmp(a->pools[k].id, c->p.id))
                p = &a->pools[at = k];
        if (!p) {
            a->measure = false; /* a pool that is not the host's: its power is not the host's */
            if (!(c->set & AGT_PF_UNITS))
                return cpn_errorf(err, CPN_EFIELD,
                                  "%s: /pools/%zu/units: missing: pool \"%s\" is not one the %s "
                                  "executor discovered, so the file must give its units",
                                  file, i, c->p.id, a->exec->ops->name);
            if (a->npools >= AGT_POOLS_MAX)
                return cpn_errorf(err, CPN_ELIMIT, "%s: more than %d pools", file, AGT_POOLS_MAX);
            p = &a->pools[a->npools++];
            memset(p, 0, sizeof *p);
            cpn_strlcpy(p->id, c->p.id, sizeof p->id);
            p->cls = CPN_CLASS_GENERAL;
            a->pset[at] = 0;
        }
        apply_conf_pool(p, c);
        a->pset[at] |= c->set;
        named[at] = true;
    }
    /* the local executor advertises exactly the pools a config file names (the demo runs a
     * reference cluster's pools on one host); Slurm's discovered pools stay, refined or not */
    if (local && a->conf.npools) {
        size_t w = 0;
        for (size_t k = 0; k < a->npools; k++) {
            if (k < ndisc && !named[k])
                continue;
            a->pools[w] = a->pools[k];
            a->pset[w] = a->pset[k];
            w++;
        }
        a->npools = w;
    }
    if (!a->npools)
        return cpn_errorf(err, CPN_EFIELD, "the %s executor found no pool and %s names none",
                          a->exec->ops->name, file);
    return 0;
}

/* Takes what neither the executor nor the config file said about a pool from the platform's. */
static void fill_from_platform(struct cpn_agent_pool *p, unsigned set, const json_t *v)
{
    enum cpn_class cls;
    if (!(set & AGT_PF_CLASS) && jstr(v, "class") && cpn_class_parse(jstr(v, "class"), &cls) == 0)
        p->cls = cls;
    if (!(set & AGT_PF_DEVICE) && jstr(v, "device") && *jstr(v, "device"))
        cpn_strlcpy(p->device, jstr(v, "device"), sizeof p->device);
    if (!(set & AGT_PF_TFLOPS))
        p->tflops_per_unit = json_number_value(json_object_get(v, "tflops"));
    if (!(set & (AGT_PF_WATTS_IDLE | AGT_PF_WATTS_BUSY))) {
        p->watts_idle = json_number_value(json_object_get(v, "watts_idle"));
        p->watts_busy = json_number_value(json_object_get(v, "watts_busy"));
    }
    if (!(set & AGT_PF_MEM))
        p->mem_gib_per_unit = json_number_value(json_object_get(v, "mem_gib"));
    if (!(set & AGT_PF_PRICE))
        p->price_cny_per_unit_hour =
            json_number_value(json_object_get(v, "price_cny_per_unit_hour"));
}

/* The cluster as the platform knows it: fills the PUE and the power model of pools that neither
 * the executor nor the config file described, and warns about pools the platform does not know. */
static void fetch_info(struct agent *a)
{
    struct agt_reply r;
    const json_t *pools, *v;
    size_t i;
    if (call(a, "GET", a->base, NULL, 15, &r))
        return;
    a->have_info = true;
    if (r.status != 200 || !json_is_object(r.json)) {
        if (!(r.status == 404 && a->cfg->register_cluster))
            refused(a, "cluster information", &r);
        agt_reply_free(&r);
        return;
    }
    if (!a->pue_set && json_is_number(json_object_get(r.json, "pue")))
        a->pue = json_number_value(json_object_get(r.json, "pue"));
    pools = json_object_get(r.json, "pools");
    for (size_t k = 0; k < a->npools; k++) {
        struct cpn_agent_pool *p = &a->pools[k];
        bool known = !json_is_array(pools);
        json_array_foreach(pools, i, v)
        {
            if (!jstr(v, "id") || strcmp(jstr(v, "id"), p->id))
                continue;
            known = true;
            fill_from_platform(p, a->pset[k], v);
        }
        if (!known && !a->cfg->register_cluster)
            logf_(a,
                  "pool %s is not in cluster %s on the platform: its telemetry will be refused "
                  "(use --register, or name the platform's pools in the config file)",
                  p->id, a->cfg->cluster);
    }
    agt_reply_free(&r);
}

static char *registration(struct agent *a, struct cpn_error *err)
{
    const struct agt_cluster_conf *c = &a->conf.cluster;
    const char *file = a->cfg->config_path ? a->cfg->config_path : "the agent config";
    json_t *o, *pools;
    char *text;
    if (!c->present || !c->hub[0] || !c->zone[0] || !c->has_lon || !c->has_lat || !(c->pue >= 1)) {
        cpn_errorf(err, CPN_EUSAGE,
                   "--register needs the cluster's registration in %s: \"cluster\": {\"hub\", "
                   "\"zone\", \"lon\", \"lat\", \"pue\" (and name, province, owner)}",
                   file);
        return NULL;
    }
    o = json_pack("{s:s,s:s,s:s,s:f,s:f,s:f}", "name", c->name[0] ? c->name : a->cfg->cluster,
                  "hub", c->hub, "zone", c->zone, "lon", c->lon, "lat", c->lat, "pue", c->pue);
    if (!o) {
        cpn_errorf(err, -ENOMEM, "out of memory");
        return NULL;
    }
    if (c->province[0])
        json_object_set_new(o, "province", json_string(c->province));
    if (c->owner[0])
        json_object_set_new(o, "owner", json_string(c->owner));
    if (c->power_cap_kw > 0)
        json_object_set_new(o, "power_cap_kw", json_real(c->power_cap_kw));
    pools = json_array();
    for (size_t i = 0; i < a->npools; i++) {
        const struct cpn_agent_pool *p = &a->pools[i];
        json_t *x =
            json_pack("{s:s,s:s,s:I,s:f,s:f,s:f,s:f,s:f}", "id", p->id, "class",
                      cpn_class_name(p->cls), "units", (json_int_t)p->total, "tflops",
                      p->tflops_per_unit > 0 ? p->tflops_per_unit : AGT_DEFAULT_CPU_TFLOPS,
                      "watts_idle", p->watts_idle, "watts_busy", p->watts_busy, "mem_gib",
                      p->mem_gib_per_unit, "price_cny_per_unit_hour", p->price_cny_per_unit_hour);
        if (x && p->device[0])
            json_object_set_new(x, "device", json_string(p->device));
        json_array_append_new(pools, x);
    }
    json_object_set_new(o, "pools", pools);
    text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(o);
    if (!text)
        cpn_errorf(err, -ENOMEM, "out of memory");
    return text;
}

static int register_cluster(struct agent *a, struct cpn_error *err)
{
    char *body = registration(a, err);
    int rc = -EAGAIN;
    if (!body)
        return err ? err->code : CPN_EUSAGE;
    while (!*a->stop) {
        struct agt_reply r;
        char why[1200];
        rc = call(a, "PUT", a->base, body, 30, &r);
        if (rc == -EAGAIN && !a->cfg->once) {
            sleep_until(a, a->retry_at_ns);
            continue;
        }
        if (rc)
            break;
        if (r.status >= 200 && r.status < 300) {
            logf_(a, "registered with %zu pool%s", a->npools, a->npools == 1 ? "" : "s");
        } else {
            agt_reply_why(&r, why, sizeof why);
            rc = cpn_errorf(err, CPN_EFIELD, "registration refused: %s", why);
        }
        agt_reply_free(&r);
        break;
    }
    free(body);
    if (rc == -EAGAIN)
        rc = cpn_errorf(err, -EIO, "registration: the platform did not answer");
    return rc;
}

/* ---- reconciliation ---------------------------------------------------------------------------
 */

static void on_known(void *ctx, const char *job_id)
{
    struct agent *a = ctx;
    struct ajob *j;
    if (!agt_job_id_ok(job_id) || job_find(a, job_id))
        return;
    if ((j = job_add(a, job_id)) != NULL)
        j->reconcile = true;
}

/* ---- the loop ---------------------------------------------------------------------------------
 */

static int setup(struct agent *a, struct cpn_error *err)
{
    const struct cpn_agent_config *cfg = a->cfg;
    int rc;
    if (!cfg->cluster || !agt_job_id_ok(cfg->cluster) || strlen(cfg->cluster) >= CPN_ID_MAX)
        return cpn_errorf(err, CPN_EUSAGE,
                          "cluster id '%s': expected 1..47 characters from A-Z a-z 0-9 . _ : -",
                          cfg->cluster ? cfg->cluster : "");
    if (!cfg->state_dir || !*cfg->state_dir)
        return cpn_errorf(err, CPN_EUSAGE, "a state directory is required");
    snprintf(a->base, sizeof a->base, "/v1/clusters/%s", cfg->cluster);
    if (cfg->config_path && (rc = agt_conf_load(cfg->config_path, &a->conf, err)))
        return rc;
    if ((rc = agt_mkdirs(cfg->state_dir, err)))
        return rc;
    if ((size_t)snprintf(a->jobs_path, sizeof a->jobs_path, "%s/jobs.json", cfg->state_dir) >=
        sizeof a->jobs_path)
        return cpn_errorf(err, CPN_ELIMIT, "state directory path too long");
    a->interval_s = cfg->interval_s > 0                ? cfg->interval_s
                    : a->conf.telemetry_interval_s > 0 ? a->conf.telemetry_interval_s
                                                       : 5;
    a->poll_wait_s = cfg->poll_wait_s > 0 ? (cfg->poll_wait_s > 60 ? 60 : cfg->poll_wait_s) : 25;
    a->clock_speed = 1;
    a->pue = a->conf.cluster.pue >= 1 ? a->conf.cluster.pue : 1;
    a->pue_set = a->conf.cluster.pue >= 1;
    snprintf(a->health, sizeof a->health, "ok");
    {
        struct cpn_clock c = cpn_clock_real();
        cpn_rng_seed(&a->rng, (uint64_t)c.now_ns(c.ctx) ^ (uint64_t)cpn_monotonic_ns() ^
                                  cpn_hash_str(cfg->cluster));
    }
    if (cfg->exec) {
        a->exec = cfg->exec;
    } else if (!cfg->executor || !strcmp(cfg->executor, "local")) {
        if ((rc = cpn_executor_local_create(cfg->state_dir, 0, &a->exec, err)))
            return rc;
        a->own_exec = true;
    } else if (!strcmp(cfg->executor, "slurm")) {
        if ((rc = cpn_executor_slurm_create(cfg->state_dir, &a->exec, err)))
            return rc;
        a->own_exec = true;
    } else {
        return cpn_errorf(err, CPN_EUSAGE, "executor '%s': expected local or slurm", cfg->executor);
    }
    if ((rc = agt_http_open(cfg->platform, cfg->token, a->stop, &a->http, err)))
        return rc;
    if (cfg->pools_from_platform && (rc = pools_from_platform(a, err)))
        return rc;
    if ((rc = setup_pools(a, err)))
        return rc;
    if (!strcmp(a->exec->ops->name, "local")) {
        struct cpn_local_options o = { 0 };
        int64_t units = 0;
        for (size_t i = 0; i < a->npools; i++)
            units += a->pools[i].total;
        o.max_jobs = cfg->max_jobs > 0      ? cfg->max_jobs
                     : a->conf.max_jobs > 0 ? a->conf.max_jobs
                     : units > 256          ? 256
                                            : (int)(units > 0 ? units : 1);
        o.cpu_s_per_unit = a->conf.cpu_s_per_unit;
        o.as_bytes_per_unit = (int64_t)(a->conf.mem_gib_per_unit * 1073741824.0);
        if ((rc = cpn_executor_local_configure(a->exec, &o, err)))
            return rc;
    }
    if (a->measure) {
        a->rapl_ok = agt_rapl_open(&a->rapl, cfg->powercap_dir) == 0;
        if (a->rapl_ok) {
            double w;
            agt_rapl_watts(&a->rapl, cpn_monotonic_ns(), &w); /* primes the counters */
        }
        if (agt_nvml_open(&a->gpu))
            a->gpu = NULL;
    }
    if ((rc = agt_outbox_open(&a->ob, cfg->state_dir, err)))
        return rc;
    if ((rc = jobs_load(a, err)))
        return rc;
    {
        struct cpn_error e = { 0 };
        if (a->exec->ops->list(a->exec, on_known, a, &e))
            logf_(a, "the %s executor could not list its tasks: %s", a->exec->ops->name, e.msg);
    }
    return 0;
}

static void teardown(struct agent *a)
{
    agt_http_close(a->http);
    agt_outbox_close(&a->ob);
    if (a->own_exec)
        cpn_executor_destroy(a->exec);
    agt_nvml_close(a->gpu);
    cpn_free(a->jobs);
    agt_conf_free(&a->conf);
}

static void log_start(struct agent *a)
{
    char pools[512];
    size_t n = 0;
    pools[0] = '\0';
    for (size_t i = 0; i < a->npools && n < sizeof pools; i++)
        n += (size_t)snprintf(pools + n, sizeof pools - n, "%s%s (%s, %lld units)", i ? ", " : "",
                              a->pools[i].id, cpn_class_name(a->pools[i].cls),
                              (long long)a->pools[i].total);
    logf_(a,
          "version %s, %s executor, platform %s, state %s, telemetry every %g s; pools: %s; "
          "power %s; %zu undelivered event%s",
          CPN_AGENT_VERSION, a->exec->ops->name, a->cfg->platform, a->cfg->state_dir, a->interval_s,
          pools, a->measure && (a->rapl_ok || a->gpu) ? "measured (RAPL/NVML)" : "estimated",
          a->ob.n, a->ob.n == 1 ? "" : "s");
}

static int run_once(struct agent *a, struct cpn_error *err)
{
    if (poll_assignments(a, 0) == 0)
        follow_tasks(a);
    telemetry(a, true);
    deliver(a);
    if (a->once_failed || a->ob.n)
        return cpn_errorf(err, -EIO,
                          "one round: the platform did not take everything (%s; %zu event%s "
                          "left)",
                          a->last_refusal[0] ? a->last_refusal : "unavailable", a->ob.n,
                          a->ob.n == 1 ? "" : "s");
    return 0;
}

/* The monotonic time at which the earliest planned start of a dispatched task comes (a little
 * after, so that the executor finds it due), or INT64_MAX: the loop wakes then to start it. */
static int64_t next_begin_ns(const struct agent *a)
{
    int64_t best = INT64_MAX, now = plat_now(a), mono = cpn_monotonic_ns();
    for (size_t i = 0; a->have_now && i < a->njobs; i++) {
        const struct ajob *j = &a->jobs[i];
        int64_t at;
        if (j->reported != AJ_DISPATCHED || j->begin_s <= now)
            continue;
        at = mono + (int64_t)((double)(j->begin_s - now) / a->clock_speed * 1e9) + 50000000;
        if (at < best)
            best = at;
    }
    return best;
}

static void run_loop(struct agent *a)
{
    int64_t period = (int64_t)(a->interval_s * 1e9);
    int64_t next_tel = cpn_monotonic_ns();
    while (!*a->stop) {
        int64_t now = cpn_monotonic_ns(), left, wake;
        int wait_s = 0, rc = -EAGAIN;
        if (now >= next_tel) {
            telemetry(a, false);
            next_tel += period;
            if (next_tel <= now)
                next_tel = now + period;
        }
        if (!a->have_info)
            fetch_info(a);
        wake = next_begin_ns(a);
        if (next_boundary_ns(a) < wake)
            wake = next_boundary_ns(a);
        if (wake > next_tel)
            wake = next_tel;
        if (!(a->failures && cpn_monotonic_ns() < a->retry_at_ns)) {
            left = wake - cpn_monotonic_ns();
            wait_s = left > 0 ? (int)(left / 1000000000) : 0;
            if (wait_s > a->poll_wait_s)
                wait_s = a->poll_wait_s;
            rc = poll_assignments(a, wait_s);
        }
        /* tasks are followed even while the platform is away; their events wait in the outbox */
        if (a->synced) {
            follow_tasks(a);
            slot_boundaries(a);
        }
        deliver(a);
        if (*a->stop)
            break;
        /* a long-poll that was answered has waited already (or brings news); anything else waits
         * for the next period, or the end of the backoff when that comes first */
        if (rc != 0 || wait_s == 0) {
            int64_t until = next_begin_ns(a) < wake ? next_begin_ns(a) : wake;
            if (a->failures && a->retry_at_ns < until)
                until = a->retry_at_ns;
            sleep_until(a, until);
        }
    }
}

int cpn_agent_run(const struct cpn_agent_config *cfg,
                  volatile sig_atomic_t *stop,
                  struct cpn_error *err)
{
    struct agent *a = cpn_calloc(1, sizeof *a);
    int rc;
    if (!a)
        return cpn_errorf(err, -ENOMEM, "out of memory");
    a->cfg = cfg;
    a->stop = stop ? stop : &a->never;
    a->log = cfg->log ? cfg->log : stderr;
    agt_conf_init(&a->conf);
    rc = setup(a, err);
    if (!rc && cfg->register_cluster)
        rc = register_cluster(a, err);
    if (!rc) {
        fetch_info(a);
        log_start(a);
        if (cfg->once)
            rc = run_once(a, err);
        else
            run_loop(a);
    }
    if (!rc && !cfg->once)
        logf_(a, "stopping; %zu undelivered event%s kept in %s", a->ob.n, a->ob.n == 1 ? "" : "s",
              cfg->state_dir);
    teardown(a);
    cpn_free(a);
    return rc;
}
