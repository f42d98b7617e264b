/* SPDX-License-Identifier: Apache-2.0 */
/* The agent loop (docs/agent.md, docs/agent-protocol.md): one thread that reports telemetry every
 * period (damped), long-polls the platform for assignments, hands "run" and "cancel" to the
 * executor, follows every task it holds and reports each state change with metered usage. This
 * file sets the agent up, runs the loop and owns what every step shares: the log, the platform's
 * time (from its answers, advanced by the monotonic clock in between) and platform calls with
 * backoff. The loop sleeps in the long-poll or until the next period, never spinning. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_loop_int.h"

void agt_logf(struct agt_loop *a, const char *fmt, ...)
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

int64_t agt_plat_now(const struct agt_loop *a)
{
    double el;
    if (!a->have_now)
        return 0;
    el = (double)(cpn_monotonic_ns() - a->plat_mono_ns) / 1e9 * a->clock_speed;
    return a->plat_now_s + (int64_t)floor(el);
}

/* The platform time of an executor (wall) time. */
int64_t agt_plat_of_wall(const struct agt_loop *a, int64_t t)
{
    int64_t now = agt_plat_now(a), w = wall_s();
    int64_t p;
    if (!a->have_now)
        return 0;
    if (t <= 0 || t >= w)
        return now;
    p = now - (int64_t)llround((double)(w - t) * a->clock_speed);
    return p;
}

/* Sleeps until the monotonic deadline or until *stop, in short naps (a signal also ends a nap). */
void agt_sleep_until(struct agt_loop *a, int64_t deadline_ns)
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

/* ---- platform calls with backoff --------------------------------------------------------------
 */

/* 0 with an answer of any status; -EAGAIN when the platform is away (backing off), -EINTR when
 * stopped. r is always initialised. */
int agt_call(struct agt_loop *a,
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
            agt_logf(a, "platform unavailable (%s); retry %d in %.1f s", why, a->failures, d);
        agt_reply_free(r);
        a->once_failed = true;
        return -EAGAIN;
    }
    if (a->failures)
        agt_logf(a, "platform reachable again after %d failed call%s", a->failures,
                 a->failures == 1 ? "" : "s");
    a->failures = 0;
    return 0;
}

/* Logs a refusal once (until a different one comes). */
void agt_refused(struct agt_loop *a, const char *what, const struct agt_reply *r)
{
    char why[1200], line[256];
    agt_reply_why(r, why, sizeof why);
    snprintf(line, sizeof line, "%.40s: %.200s", what, why);
    if (strcmp(line, a->last_refusal))
        agt_logf(a, "%s", line);
    cpn_strlcpy(a->last_refusal, line, sizeof a->last_refusal);
    a->once_failed = true;
}

/* ---- the loop ---------------------------------------------------------------------------------
 */

static int setup(struct agt_loop *a, struct cpn_error *err)
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
    if (cfg->pools_from_platform && (rc = agt_pools_from_platform(a, err)))
        return rc;
    if ((rc = agt_setup_pools(a, err)))
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
    if ((rc = agt_jobs_load(a, err)))
        return rc;
    {
        struct cpn_error e = { 0 };
        if (a->exec->ops->list(a->exec, agt_on_known, a, &e))
            agt_logf(a, "the %s executor could not list its tasks: %s", a->exec->ops->name, e.msg);
    }
    return 0;
}

static void teardown(struct agt_loop *a)
{
    agt_http_close(a->http);
    agt_outbox_close(&a->ob);
    if (a->own_exec)
        cpn_executor_destroy(a->exec);
    agt_nvml_close(a->gpu);
    cpn_free(a->jobs);
    agt_conf_free(&a->conf);
}

static void log_start(struct agt_loop *a)
{
    char pools[512];
    size_t n = 0;
    pools[0] = '\0';
    for (size_t i = 0; i < a->npools && n < sizeof pools; i++)
        n += (size_t)snprintf(pools + n, sizeof pools - n, "%s%s (%s, %lld units)", i ? ", " : "",
                              a->pools[i].id, cpn_class_name(a->pools[i].cls),
                              (long long)a->pools[i].total);
    agt_logf(a,
             "version %s, %s executor, platform %s, state %s, telemetry every %g s; pools: %s; "
             "power %s; %zu undelivered event%s",
             CPN_AGENT_VERSION, a->exec->ops->name, a->cfg->platform, a->cfg->state_dir,
             a->interval_s, pools,
             a->measure && (a->rapl_ok || a->gpu) ? "measured (RAPL/NVML)" : "estimated", a->ob.n,
             a->ob.n == 1 ? "" : "s");
}

static int run_once(struct agt_loop *a, struct cpn_error *err)
{
    if (agt_poll_assignments(a, 0) == 0)
        agt_follow_tasks(a);
    agt_telemetry(a, true);
    agt_deliver(a);
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
static int64_t next_begin_ns(const struct agt_loop *a)
{
    int64_t best = INT64_MAX, now = agt_plat_now(a), mono = cpn_monotonic_ns();
    for (size_t i = 0; a->have_now && i < a->njobs; i++) {
        const struct agt_job *j = &a->jobs[i];
        int64_t at;
        if (j->reported != AJ_DISPATCHED || j->begin_s <= now)
            continue;
        at = mono + (int64_t)((double)(j->begin_s - now) / a->clock_speed * 1e9) + 50000000;
        if (at < best)
            best = at;
    }
    return best;
}

static void run_loop(struct agt_loop *a)
{
    int64_t period = (int64_t)(a->interval_s * 1e9);
    int64_t next_tel = cpn_monotonic_ns();
    while (!*a->stop) {
        int64_t now = cpn_monotonic_ns(), left, wake;
        int wait_s = 0, rc = -EAGAIN;
        if (now >= next_tel) {
            agt_telemetry(a, false);
            next_tel += period;
            if (next_tel <= now)
                next_tel = now + period;
        }
        if (!a->have_info)
            agt_fetch_info(a);
        wake = next_begin_ns(a);
        if (agt_next_boundary_ns(a) < wake)
            wake = agt_next_boundary_ns(a);
        if (wake > next_tel)
            wake = next_tel;
        if (!(a->failures && cpn_monotonic_ns() < a->retry_at_ns)) {
            left = wake - cpn_monotonic_ns();
            wait_s = left > 0 ? (int)(left / 1000000000) : 0;
            if (wait_s > a->poll_wait_s)
                wait_s = a->poll_wait_s;
            rc = agt_poll_assignments(a, wait_s);
        }
        /* tasks are followed even while the platform is away; their events wait in the outbox */
        if (a->synced) {
            agt_follow_tasks(a);
            agt_slot_boundaries(a);
        }
        agt_deliver(a);
        if (*a->stop)
            break;
        /* a long-poll that was answered has waited already (or brings news); anything else waits
         * for the next period, or the end of the backoff when that comes first */
        if (rc != 0 || wait_s == 0) {
            int64_t until = next_begin_ns(a) < wake ? next_begin_ns(a) : wake;
            if (a->failures && a->retry_at_ns < until)
                until = a->retry_at_ns;
            agt_sleep_until(a, until);
        }
    }
}

int cpn_agent_run(const struct cpn_agent_config *cfg,
                  volatile sig_atomic_t *stop,
                  struct cpn_error *err)
{
    struct agt_loop *a = cpn_calloc(1, sizeof *a);
    int rc;
    if (!a)
        return cpn_errorf(err, -ENOMEM, "out of memory");
    a->cfg = cfg;
    a->stop = stop ? stop : &a->never;
    a->log = cfg->log ? cfg->log : stderr;
    agt_conf_init(&a->conf);
    rc = setup(a, err);
    if (!rc && cfg->register_cluster)
        rc = agt_register_cluster(a, err);
    if (!rc) {
        agt_fetch_info(a);
        log_start(a);
        if (cfg->once)
            rc = run_once(a, err);
        else
            run_loop(a);
    }
    if (!rc && !cfg->once)
        agt_logf(a, "stopping; %zu undelivered event%s kept in %s", a->ob.n,
                 a->ob.n == 1 ? "" : "s", cfg->state_dir);
    teardown(a);
    cpn_free(a);
    return rc;
}
