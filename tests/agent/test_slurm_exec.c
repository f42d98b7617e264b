/* SPDX-License-Identifier: Apache-2.0 */
/* The Slurm executor against a real single-node Slurm that the test starts itself with
 * tests/agent/slurm-up.sh (or the one CPNET_SLURM_CONF names): discovery of the partitions as
 * pools, submit and follow to completion with the exit code, a failing job, cancel, a planned
 * start that waits with Reason=BeginTime (relative and absolute), GPUs, submitting twice and
 * after a restart or a lost marker (one Slurm job each time), requeue-in-hold and release at slot
 * boundaries, and a refused sbatch. Without root or apt-get every test is skipped with the
 * reason slurm-up.sh gave. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cpnet/agent.h"
#include "harness.h"

struct ctx {
    bool up;         /* a cluster is there */
    bool ours;       /* this test started it (and stops it) */
    int up_rc;       /* slurm-up.sh exit status: 3 = Slurm cannot be had here */
    char skip[1200]; /* why not, when !up */
    char dir[300];   /* slurm-up directory */
    char state[300]; /* executor state directory */
    char conf[400];
    char pfx[32]; /* job id prefix of this run */
    struct cpn_executor *x;
};

static struct ctx C; /* test-only state */

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Runs a shell command and returns the first line of its output in out. */
static int sh_line(const char *cmd, char *out, size_t size)
{
    FILE *f = popen(cmd, "r");
    int rc;
    if (!f)
        return -1;
    out[0] = '\0';
    if (!fgets(out, (int)size, f))
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    while (fgetc(f) != EOF) {
    }
    rc = pclose(f);
    return rc;
}

static void setup(void)
{
    const char *conf = getenv("CPNET_SLURM_CONF");
    const char *b = getenv("CPNET_BUILD");
    char cmd[2048], log[320];
    snprintf(C.pfx, sizeof C.pfx, "t%ld", (long)getpid());
    snprintf(C.state, sizeof C.state, "%s/slurm-exec-%ld/state", b ? b : "build", (long)getpid());
    if (conf && *conf) {
        snprintf(C.conf, sizeof C.conf, "%s", conf);
        C.up = true;
    } else {
        int rc;
        snprintf(C.dir, sizeof C.dir, "%s/slurm-exec-%ld/slurm", b ? b : "build", (long)getpid());
        snprintf(log, sizeof log, "%s.log", C.dir);
        snprintf(cmd, sizeof cmd,
                 "mkdir -p '%s' && bash tests/agent/slurm-up.sh '%s' >/dev/null 2>'%s'", C.dir,
                 C.dir, log);
        rc = system(cmd);
        rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
        C.ours = true;
        if (rc == 0) {
            snprintf(C.conf, sizeof C.conf, "%s/slurm.conf", C.dir);
            C.up = true;
        } else {
            char last[360] = "";
            snprintf(cmd, sizeof cmd, "tail -n 1 '%s'", log);
            sh_line(cmd, last, sizeof last);
            C.up_rc = rc;
            if (rc == 3)
                snprintf(C.skip, sizeof C.skip, "%s", last[0] ? last : "no reason given");
            else
                snprintf(C.skip, sizeof C.skip, "tests/agent/slurm-up.sh exit %d: %s (log %s)", rc,
                         last[0] ? last : "no reason given", log);
            if (rc != 3) {
                /* Slurm is installed but did not come up: that is a failure, not a skip */
                snprintf(cmd, sizeof cmd, "tail -n 30 '%s'", log);
                if (system(cmd) != 0)
                    printf("(no log)\n");
            }
        }
    }
    if (C.up)
        setenv("SLURM_CONF", C.conf, 1);
}

static void teardown(void)
{
    char cmd[1200];
    const char *b = getenv("CPNET_BUILD");
    if (C.x)
        cpn_executor_destroy(C.x);
    C.x = NULL;
    if (C.ours && C.dir[0]) {
        snprintf(cmd, sizeof cmd, "bash tests/agent/slurm-up.sh down '%s' 2>/dev/null", C.dir);
        if (system(cmd) != 0)
            printf("warning: slurm-up.sh down failed\n");
    }
    /* the files stay for a look when something failed */
    if (t_state()->failed == 0 && !getenv("CPNET_KEEP")) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s/slurm-exec-%ld'", b ? b : "build", (long)getpid());
        if (system(cmd) != 0)
            printf("warning: %s failed\n", cmd);
    }
}

/* Skips (or fails, when Slurm is installed but broken) a test that needs the cluster. */
static bool need(void)
{
    if (C.up)
        return true;
    if (C.up_rc == 3)
        t_skip(C.skip);
    else
        t_fail(__FILE__, __LINE__, "Slurm did not come up: %s", C.skip);
    return false;
}

static void task_init(struct cpn_agent_task *t, const char *name, const char *cmd, int64_t units)
{
    memset(t, 0, sizeof *t);
    snprintf(t->job_id, sizeof t->job_id, "%s-%s", C.pfx, name);
    snprintf(t->pool, sizeof t->pool, "batch");
    snprintf(t->partition, sizeof t->partition, "batch");
    snprintf(t->command, sizeof t->command, "%s", cmd);
    t->units = units;
    t->duration_s = 300;
    t->time_scale = 1;
}

/* Polls status until the task reaches want (true) or another final state or the timeout. */
static bool
wait_state(const char *job, enum cpn_task_state want, double timeout_s, struct cpn_task_status *st)
{
    struct cpn_error e = { 0 };
    for (int i = 0; i < (int)(timeout_s * 10); i++) {
        if (C.x->ops->status(C.x, job, st, &e) != 0) {
            printf("  status %s: %s\n", job, e.msg);
            return false;
        }
        if (st->state == want)
            return true;
        if (st->state >= CPN_TASK_COMPLETED)
            return false;
        sleep_ms(100);
    }
    return false;
}

/* Number of Slurm jobs (any state) named cpnet-<job>. */
static int slurm_count(const char *job)
{
    char cmd[300], out[64];
    long n = -1;
    snprintf(cmd, sizeof cmd, "squeue -h -t all -o %%i --name=cpnet-%s | wc -l", job);
    if (sh_line(cmd, out, sizeof out) == 0)
        n = strtol(out, NULL, 10);
    return (int)n;
}

/* `scontrol show job -o` of a Slurm id ("slurm:N"), in UTC. */
static void scontrol_job(const char *executor_id, char *out, size_t size)
{
    char cmd[200];
    const char *id = strchr(executor_id, ':');
    snprintf(cmd, sizeof cmd, "TZ=UTC scontrol show job -o %s", id ? id + 1 : executor_id);
    sh_line(cmd, out, size);
}

static void test_create(void)
{
    struct cpn_error e = { 0 };
    if (!need())
        return;
    CHECK_MSG(cpn_executor_slurm_create(C.state, &C.x, &e) == 0, "create: %s", e.msg);
    if (C.x)
        CHECK_STR(C.x->ops->name, "slurm");
}

static void test_discover(void)
{
    struct cpn_agent_pool p[8];
    struct cpn_error e = { 0 };
    size_t n = 0;
    int running = -1, queued = -1;
    if (!need() || !C.x)
        return;
    CHECK_MSG(C.x->ops->discover(C.x, p, 8, &n, &e) == 0, "discover: %s", e.msg);
    CHECK_INT(n, 2);
    if (n != 2)
        return;
    CHECK_STR(p[0].id, "batch");
    CHECK_INT(p[0].cls, CPN_CLASS_GENERAL);
    CHECK_INT(p[0].total, 32);
    CHECK_STR(p[1].id, "gpu");
    CHECK_INT(p[1].cls, CPN_CLASS_INTELLIGENT);
    CHECK_STR(p[1].device, "t4");
    CHECK_INT(p[1].total, 4);
    CHECK_MSG(C.x->ops->usage(C.x, p, n, &running, &queued, &e) == 0, "usage: %s", e.msg);
    CHECK(running >= 0 && queued >= 0);
    CHECK(p[0].available > 0 && p[0].available <= 32);
    CHECK(p[1].available >= 0 && p[1].available <= 4);
}

static void test_complete(void)
{
    struct cpn_agent_task t;
    struct cpn_task_status st;
    struct cpn_error e = { 0 };
    char path[700], out[256] = "";
    FILE *f;
    if (!need() || !C.x)
        return;
    task_init(&t, "ok", "echo hello from $SLURM_JOB_ID; sleep 1", 2);
    CHECK_MSG(C.x->ops->submit(C.x, &t, &st, &e) == 0, "submit: %s", e.msg);
    CHECK_INT(st.state, CPN_TASK_PENDING);
    CHECK(!strncmp(st.executor_id, "slurm:", 6));
    CHECK_MSG(wait_state(t.job_id, CPN_TASK_COMPLETED, 20, &st), "state %s: %s",
              cpn_task_state_name(st.state), st.message);
    CHECK_INT(st.exit_code, 0);
    CHECK(st.started_s > 0 && st.ended_s >= st.started_s);
    CHECK(st.unit_hours > 0 && st.unit_hours < 2 * 10.0 / 3600); /* 2 units, about 1 s */
    snprintf(path, sizeof path, "%s/%s.out", C.state, t.job_id);
    if ((f = fopen(path, "r")) != NULL) {
        if (!fgets(out, sizeof out, f))
            out[0] = '\0';
        fclose(f);
    }
    CHECK_CONTAINS(out, "hello from ");
    {
        /* the final state now comes from the marker: the same answer */
        struct cpn_task_status again;
        CHECK(C.x->ops->status(C.x, t.job_id, &again, &e) == 0);
        CHECK_INT(again.state, CPN_TASK_COMPLETED);
        CHECK_STR(again.executor_id, st.executor_id);
        CHECK_INT(again.ended_s, st.ended_s);
    }
}

static void test_failed(void)
{
    struct cpn_agent_task t;
    struct cpn_task_status st;
    struct cpn_error e = { 0 };
    if (!need() || !C.x)
        return;
    task_init(&t, "exit3", "exit 3", 1);
    CHECK_MSG(C.x->ops->submit(C.x, &t, &st, &e) == 0, "submit: %s", e.msg);
    CHECK_MSG(wait_state(t.job_id, CPN_TASK_FAILED, 20, &st), "state %s: %s",
              cpn_task_state_name(st.state), st.message);
    CHECK_INT(st.exit_code, 3);
    CHECK_CONTAINS(st.message, "NonZeroExitCode");
}

static void test_cancel(void)
{
    struct cpn_agent_task t;
    struct cpn_task_status st;
    struct cpn_error e = { 0 };
    char line[4096];
    if (!need() || !C.x)
        return;
    task_init(&t, "cancel", "sleep 120", 1);
    CHECK_MSG(C.x->ops->submit(C.x, &t, &st, &e) == 0, "submit: %s", e.msg);
    CHECK_MSG(wait_state(t.job_id, CPN_TASK_RUNNING, 20, &st), "state %s: %s",
              cpn_task_state_name(st.state), st.message);
    CHECK_MSG(C.x->ops->cancel(C.x, t.job_id, &e) == 0, "cancel: %s", e.msg);
    CHECK_MSG(wait_state(t.job_id, CPN_TASK_CANCELLED, 20, &st), "state %s: %s",
              cpn_task_state_name(st.state), st.message);
    scontrol_job(st.executor_id, line, sizeof line);
    CHECK_CONTAINS(line, "JobState=CANCELLED");
    /* cancelling again is fine; an unknown job is CPN_EREF */
    CHECK(C.x->ops->cancel(C.x, t.job_id, &e) == 0);
    CHECK_INT(C.x->ops->cancel(C.x, "never-submitted", &e), CPN_EREF);
}

static void test_begin_later(void)
{
    struct cpn_agent_task t;
    struct cpn_task_status st;
    struct cpn_error e = { 0 };
    char line[4096];
    if (!need() || !C.x)
        return;
    /* relative: platform clock at 1e9, start an hour later */
    task_init(&t, "later", "", 1);
    t.now_s = 1000000000;
    t.begin_s = t.now_s + 3600;
    t.duration_s = 600;
    CHECK_MSG(C.x->ops->submit(C.x, &t, &st, &e) == 0, "submit: %s", e.msg);
    sleep_ms(1500); /* a few scheduler passes */
    CHECK(C.x->ops->status(C.x, t.job_id, &st, &e) == 0);
    CHECK_INT(st.state, CPN_TASK_PENDING);
    CHECK_CONTAINS(st.message, "BeginTime");
    CHECK_INT(st.started_s, 0);
    scontrol_job(st.executor_id, line, sizeof line);
    CHECK_CONTAINS(line, "Reason=BeginTime");
    CHECK_CONTAINS(line, "TimeLimit=00:10:00");
    CHECK_CONTAINS(line, "Command=(null)"); /* --wrap: the placeholder is in the script */
    CHECK(C.x->ops->cancel(C.x, t.job_id, &e) == 0);
    /* absolute (no platform clock): UTC, whatever the machine's zone */
    task_init(&t, "later-abs", "true", 1);
    t.begin_s = 1893456000; /* 2030-01-01T00:00:00Z */
    CHECK_MSG(C.x->ops->submit(C.x, &t, &st, &e) == 0, "submit: %s", e.msg);
    scontrol_job(st.executor_id, line, sizeof line);
    CHECK_CONTAINS(line, "EligibleTime=2030-01-01T00:00:00");
    CHECK_CONTAINS(line, "Reason=BeginTime");
    CHECK(C.x->ops->cancel(C.x, t.job_id, &e) == 0);
    CHECK(wait_state(t.job_id, CPN_TASK_CANCELLED, 10, &st));
}

static void test_twice(void)
{
    struct cpn_agent_task t;
    struct cpn_task_status a, b;
    struct cpn_error e = { 0 };
    char path[700];
    if (!need() || !C.x)
        return;
    task_init(&t, "twice", "sleep 30", 1);
    CHECK_MSG(C.x->ops->submit(C.x, &t, &a, &e) == 0, "submit: %s", e.msg);
    CHECK_MSG(C.x->ops->submit(C.x, &t, &b, &e) == 0, "submit again: %s", e.msg);
    CHECK_STR(b.executor_id, a.executor_id);
    CHECK_INT(slurm_count(t.job_id), 1);
    /* the agent died between sbatch and the marker: the name finds the job */
    snprintf(path, sizeof path, "%s/slurm/%s.job", C.state, t.job_id);
    CHECK(unlink(path) == 0);
    CHECK_MSG(C.x->ops->submit(C.x, &t, &b, &e) == 0, "submit without marker: %s", e.msg);
    CHECK_STR(b.executor_id, a.executor_id);
    CHECK_INT(slurm_count(t.job_id), 1);
    CHECK(access(path, F_OK) == 0); /* written again */
}

struct seen {
    char ids[64][CPN_AGENT_JOB_ID_MAX];
    int n;
};

static void on_job(void *ctx, const char *job)
{
    struct seen *s = ctx;
    if (s->n < 64)
        snprintf(s->ids[s->n++], CPN_AGENT_JOB_ID_MAX, "%s", job);
}

static bool seen_has(const struct seen *s, const char *job)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->ids[i], job))
            return true;
    return false;
}

static void test_restart(void)
{
    struct cpn_agent_task t;
    struct cpn_task_status st, st2;
    struct cpn_error e = { 0 };
    struct seen s = { .n = 0 };
    char id[CPN_AGENT_JOB_ID_MAX];
    if (!need() || !C.x)
        return;
    snprintf(id, sizeof id, "%s-twice", C.pfx);
    CHECK(C.x->ops->status(C.x, id, &st, &e) == 0);
    cpn_executor_destroy(C.x);
    C.x = NULL;
    CHECK_MSG(cpn_executor_slurm_create(C.state, &C.x, &e) == 0, "create again: %s", e.msg);
    if (!C.x)
        return;
    CHECK_MSG(C.x->ops->list(C.x, on_job, &s, &e) == 0, "list: %s", e.msg);
    CHECK(seen_has(&s, id));
    snprintf(id, sizeof id, "%s-ok", C.pfx);
    CHECK(seen_has(&s, id));
    snprintf(id, sizeof id, "%s-cancel", C.pfx);
    CHECK(seen_has(&s, id));
    /* the restarted executor submits nothing new for a known job */
    task_init(&t, "twice", "sleep 30", 1);
    CHECK(C.x->ops->submit(C.x, &t, &st2, &e) == 0);
    CHECK_STR(st2.executor_id, st.executor_id);
    CHECK_INT(slurm_count(t.job_id), 1);
    CHECK(C.x->ops->cancel(C.x, t.job_id, &e) == 0);
    /* a state directory without markers (a new machine): the names still find every job */
    cpn_executor_destroy(C.x);
    C.x = NULL;
    {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -f '%s'/slurm/*.job", C.state);
        CHECK(system(cmd) == 0);
    }
    CHECK(cpn_executor_slurm_create(C.state, &C.x, &e) == 0);
    if (!C.x)
        return;
    CHECK(C.x->ops->submit(C.x, &t, &st2, &e) == 0);
    CHECK_STR(st2.executor_id, st.executor_id);
    CHECK_INT(slurm_count(t.job_id), 1);
    snprintf(id, sizeof id, "%s-exit3", C.pfx);
    CHECK(C.x->ops->status(C.x, id, &st2, &e) == 0);
    CHECK_INT(st2.state, CPN_TASK_FAILED);
    CHECK_INT(st2.exit_code, 3);
}

static void test_gpu(void)
{
    struct cpn_agent_task t;
    struct cpn_task_status st;
    struct cpn_agent_pool p[8];
    struct cpn_error e = { 0 };
    size_t n = 0;
    int running = 0, queued = 0;
    char line[4096];
    if (!need() || !C.x)
        return;
    CHECK(C.x->ops->discover(C.x, p, 8, &n, &e) == 0);
    task_init(&t, "gpu", "echo $CUDA_VISIBLE_DEVICES; sleep 60", 2);
    snprintf(t.pool, sizeof t.pool, "gpu");
    snprintf(t.partition, sizeof t.partition, "gpu");
    CHECK_MSG(C.x->ops->submit(C.x, &t, &st, &e) == 0, "submit: %s", e.msg);
    CHECK_MSG(wait_state(t.job_id, CPN_TASK_RUNNING, 20, &st), "state %s: %s",
              cpn_task_state_name(st.state), st.message);
    scontrol_job(st.executor_id, line, sizeof line);
    CHECK_CONTAINS(line, "Partition=gpu");
    CHECK_CONTAINS(line, "gpu:t4:2");
    CHECK(C.x->ops->usage(C.x, p, n, &running, &queued, &e) == 0);
    if (n == 2) {
        CHECK_INT(p[1].available, 2);
        CHECK(running >= 1);
    }
    CHECK(C.x->ops->cancel(C.x, t.job_id, &e) == 0);
    CHECK(wait_state(t.job_id, CPN_TASK_CANCELLED, 20, &st));
}

static void test_interrupt(void)
{
    struct cpn_agent_task t;
    struct cpn_task_status st;
    struct cpn_error e = { 0 };
    char line[4096];
    if (!need() || !C.x)
        return;
    task_init(&t, "slots", "sleep 120", 1);
    t.interruptible = true;
    CHECK_MSG(C.x->ops->submit(C.x, &t, &st, &e) == 0, "submit: %s", e.msg);
    CHECK_MSG(wait_state(t.job_id, CPN_TASK_RUNNING, 20, &st), "state %s: %s",
              cpn_task_state_name(st.state), st.message);
    /* the slot ends: requeued and held, its CPU free */
    CHECK_MSG(cpn_executor_slurm_interrupt(C.x, t.job_id, &e) == 0, "interrupt: %s", e.msg);
    CHECK_MSG(wait_state(t.job_id, CPN_TASK_PENDING, 20, &st), "state %s: %s",
              cpn_task_state_name(st.state), st.message);
    CHECK_CONTAINS(st.message, "held");
    sleep_ms(1500);
    CHECK(C.x->ops->status(C.x, t.job_id, &st, &e) == 0);
    CHECK_INT(st.state, CPN_TASK_PENDING); /* stays until resumed */
    /* the next slot begins */
    CHECK_MSG(cpn_executor_slurm_resume(C.x, t.job_id, &e) == 0, "resume: %s", e.msg);
    CHECK_MSG(wait_state(t.job_id, CPN_TASK_RUNNING, 20, &st), "state %s: %s",
              cpn_task_state_name(st.state), st.message);
    scontrol_job(st.executor_id, line, sizeof line);
    CHECK_CONTAINS(line, "Restarts=1");
    CHECK(C.x->ops->cancel(C.x, t.job_id, &e) == 0);
    CHECK(wait_state(t.job_id, CPN_TASK_CANCELLED, 20, &st));
    /* not interruptible: Slurm refuses the requeue */
    task_init(&t, "noslots", "sleep 120", 1);
    CHECK(C.x->ops->submit(C.x, &t, &st, &e) == 0);
    CHECK(wait_state(t.job_id, CPN_TASK_RUNNING, 20, &st));
    CHECK(cpn_executor_slurm_interrupt(C.x, t.job_id, &e) != 0);
    CHECK(C.x->ops->cancel(C.x, t.job_id, &e) == 0);
    CHECK_INT(cpn_executor_slurm_interrupt(C.x, "never-submitted", &e), CPN_EREF);
}

static void test_time_scale(void)
{
    struct cpn_agent_task t;
    struct cpn_task_status st;
    struct cpn_error e = { 0 };
    char line[4096];
    if (!need() || !C.x)
        return;
    /* an hour of platform time at clock speed 3600: one second in Slurm */
    task_init(&t, "scaled", "", 4);
    t.duration_s = 3600;
    t.time_scale = 1.0 / 3600;
    CHECK_MSG(C.x->ops->submit(C.x, &t, &st, &e) == 0, "submit: %s", e.msg);
    scontrol_job(st.executor_id, line, sizeof line);
    CHECK_CONTAINS(line, "TimeLimit=00:01:00");
    CHECK_MSG(wait_state(t.job_id, CPN_TASK_COMPLETED, 20, &st), "state %s: %s",
              cpn_task_state_name(st.state), st.message);
    /* 4 units for 1-2 wall seconds = 4-8 platform unit-hours */
    CHECK_MSG(st.unit_hours >= 3.9 && st.unit_hours <= 12.1, "unit_hours %g", st.unit_hours);
}

static void test_refused(void)
{
    struct cpn_agent_task t;
    struct cpn_task_status st;
    struct cpn_error e = { 0 };
    char path[700];
    if (!need() || !C.x)
        return;
    task_init(&t, "nopart", "true", 1);
    snprintf(t.pool, sizeof t.pool, "nope");
    snprintf(t.partition, sizeof t.partition, "nope");
    CHECK_INT(C.x->ops->submit(C.x, &t, &st, &e), CPN_EFIELD);
    CHECK_CONTAINS(e.msg, "invalid partition");
    snprintf(path, sizeof path, "%s/slurm/%s.job", C.state, t.job_id);
    CHECK(access(path, F_OK) != 0);
    task_init(&t, "bad/id", "true", 1);
    CHECK_INT(C.x->ops->submit(C.x, &t, &st, &e), CPN_EFIELD);
    task_init(&t, "zero", "true", 0);
    CHECK_INT(C.x->ops->submit(C.x, &t, &st, &e), CPN_EFIELD);
    CHECK(C.x->ops->status(C.x, "never-submitted", &st, &e) == 0);
    CHECK_INT(st.state, CPN_TASK_LOST);
    CHECK_CONTAINS(st.message, "no Slurm job is named cpnet-never-submitted");
}

/* A squeue without -O exit_code (before 20.11 some releases lacked it): the executor falls back
 * to -o and takes exit codes from scontrol. A wrapper in front of the real squeue refuses -O. */
static void test_old_squeue(void)
{
    struct cpn_agent_task t;
    struct cpn_task_status st;
    struct cpn_error e = { 0 };
    struct cpn_executor *x2 = NULL, *keep = C.x;
    char wdir[400], path[4600], real[300], cmd[1400];
    const char *old = getenv("PATH");
    FILE *f;
    if (!need() || !C.x)
        return;
    snprintf(wdir, sizeof wdir, "%s/oldbin", C.state);
    if (sh_line("command -v squeue", real, sizeof real) != 0 || !real[0]) {
        t_fail(__FILE__, __LINE__, "no squeue in PATH");
        return;
    }
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", wdir);
    CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/squeue", wdir);
    if (!(f = fopen(path, "w"))) {
        t_fail(__FILE__, __LINE__, "cannot write %s", path);
        return;
    }
    fprintf(f,
            "#!/bin/sh\necho \"$*\" >> '%s/calls.log'\nfor a in \"$@\"; do case \"$a\" in -O) "
            "echo \"squeue: invalid option -- 'O'\" >&2; exit 1;; esac; done\n"
            "exec '%s' \"$@\"\n",
            wdir, real);
    fclose(f);
    chmod(path, 0755);
    snprintf(path, sizeof path, "%s:%s", wdir, old ? old : "/usr/bin:/bin");
    setenv("PATH", path, 1);
    CHECK_MSG(cpn_executor_slurm_create(C.state, &x2, &e) == 0, "create: %s", e.msg);
    if (old)
        setenv("PATH", old, 1);
    if (!x2)
        return;
    C.x = x2;
    task_init(&t, "oldsq", "exit 4", 1);
    CHECK_MSG(x2->ops->submit(x2, &t, &st, &e) == 0, "submit: %s", e.msg);
    CHECK_MSG(wait_state(t.job_id, CPN_TASK_FAILED, 20, &st), "state %s: %s",
              cpn_task_state_name(st.state), st.message);
    CHECK_INT(st.exit_code, 4);
    snprintf(cmd, sizeof cmd,
             "grep -q -- ' -O ' '%s/calls.log' && grep -q -- ' -o ' '%s/calls.log'", wdir, wdir);
    CHECK_MSG(system(cmd) == 0, "%s/calls.log: expected a refused -O listing, then -o ones", wdir);
    C.x = keep;
    cpn_executor_destroy(x2);
}

/* Stands for the whole suite when there is no cluster: one SKIP with the reason (or one FAIL
 * when Slurm is installed but did not come up). */
static void test_slurm_up(void)
{
    need();
}

int main(void)
{
    setup();
    if (!C.up) {
        T_RUN(test_slurm_up);
        teardown();
        return T_DONE("slurm_exec");
    }
    T_RUN(test_create);
    T_RUN(test_discover);
    T_RUN(test_complete);
    T_RUN(test_failed);
    T_RUN(test_cancel);
    T_RUN(test_begin_later);
    T_RUN(test_twice);
    T_RUN(test_restart);
    T_RUN(test_gpu);
    T_RUN(test_interrupt);
    T_RUN(test_time_scale);
    T_RUN(test_refused);
    T_RUN(test_old_squeue);
    teardown();
    return T_DONE("slurm_exec");
}
