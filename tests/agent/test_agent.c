/* SPDX-License-Identifier: Apache-2.0 */
/* The agent: the local executor on its own (output and exit status captured, failures, cancel of
 * a whole process group, never twice, a restart that finds its tasks, planned starts and the
 * concurrency limit), the config file (good and bad, with messages naming the key), the pure
 * decisions (damping, backoff, power), RAPL from a fake sysfs tree, the outbox across a reopen,
 * and the agent end to end against an in-process platform on a test clock: a job runs on the
 * local executor and its completion and usage come back in the job record, a cancel on the
 * platform stops a running task, a task the platform does not know is cancelled, and --register
 * puts a new cluster with its discovered pool on the platform. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "cpnet/agent.h"
#include "cpnet/serve.h"
#include "cpnet/store.h"
#include "harness.h"

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static void read_text(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    out[0] = '\0';
    if (!f)
        return;
    n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
}

static struct cpn_agent_task task_of(const char *job, const char *cmd)
{
    struct cpn_agent_task t;
    memset(&t, 0, sizeof t);
    snprintf(t.job_id, sizeof t.job_id, "%s", job);
    snprintf(t.pool, sizeof t.pool, "cpu");
    snprintf(t.command, sizeof t.command, "%s", cmd);
    t.units = 1;
    t.time_scale = 1;
    return t;
}

/* Polls the status of job until it is final (or about 5 s pass). */
static struct cpn_task_status wait_final(struct cpn_executor *x, const char *job)
{
    struct cpn_task_status st;
    struct cpn_error err = { 0 };
    memset(&st, 0, sizeof st);
    for (int i = 0; i < 250; i++) {
        if (x->ops->status(x, job, &st, &err) != 0)
            break;
        if (st.state != CPN_TASK_PENDING && st.state != CPN_TASK_RUNNING)
            break;
        nap_ms(20);
    }
    return st;
}

static struct cpn_executor *local_in(const char *dir)
{
    struct cpn_executor *x = NULL;
    struct cpn_error err = { 0 };
    if (cpn_executor_local_create(dir, 4, &x, &err) != 0)
        t_fail(__FILE__, __LINE__, "local executor: %s", err.msg);
    return x;
}

/* ---- the local executor ------------------------------------------------------------------------
 */

static void test_local_runs_and_captures(void)
{
    const char *dir = t_tmpdir();
    struct cpn_executor *x = local_in(dir);
    struct cpn_agent_task t = task_of("job-ok", "echo to-out; echo to-err >&2; sleep 0.2");
    struct cpn_task_status st;
    struct cpn_error err = { 0 };
    char path[512], text[256];
    if (!x)
        return;
    CHECK_STR(x->ops->name, "local");
    CHECK_INT(x->ops->submit(x, &t, &st, &err), 0);
    CHECK(st.state == CPN_TASK_PENDING || st.state == CPN_TASK_RUNNING);
    CHECK_INT(x->ops->status(x, "job-ok", &st, &err), 0);
    CHECK_INT(st.state, CPN_TASK_RUNNING);
    CHECK(!strncmp(st.executor_id, "local:", 6));
    st = wait_final(x, "job-ok");
    CHECK_INT(st.state, CPN_TASK_COMPLETED);
    CHECK_INT(st.exit_code, 0);
    CHECK(st.started_s > 0 && st.ended_s >= st.started_s);
    CHECK(st.unit_hours > 0 && st.unit_hours < 0.01);
    CHECK(!st.energy_measured);
    snprintf(path, sizeof path, "%s/job-ok.out", dir);
    read_text(path, text, sizeof text);
    CHECK_CONTAINS(text, "to-out");
    CHECK_CONTAINS(text, "to-err");
    CHECK_STR(cpn_task_state_name(st.state), "completed");
    cpn_executor_destroy(x);
}

static void test_local_failure_exit_code(void)
{
    struct cpn_executor *x = local_in(t_tmpdir());
    struct cpn_agent_task t = task_of("job-bad", "echo failing; exit 7");
    struct cpn_agent_task t2 = task_of("job-exit-in-cmd", "exit 0; echo never");
    struct cpn_task_status st;
    struct cpn_error err = { 0 };
    if (!x)
        return;
    CHECK_INT(x->ops->submit(x, &t, &st, &err), 0);
    st = wait_final(x, "job-bad");
    CHECK_INT(st.state, CPN_TASK_FAILED);
    CHECK_INT(st.exit_code, 7);
    CHECK_STR(cpn_task_state_name(st.state), "failed");
    /* an "exit" in the command ends only the command's shell: the wrapper still records it */
    CHECK_INT(x->ops->submit(x, &t2, &st, &err), 0);
    st = wait_final(x, "job-exit-in-cmd");
    CHECK_INT(st.state, CPN_TASK_COMPLETED);
    CHECK_INT(st.exit_code, 0);
    /* an unknown job is lost, and a bad job id is refused */
    CHECK_INT(x->ops->status(x, "no-such-job", &st, &err), 0);
    CHECK_INT(st.state, CPN_TASK_LOST);
    t = task_of("../escape", "true");
    CHECK_INT(x->ops->submit(x, &t, &st, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "../escape");
    cpn_executor_destroy(x);
}

static bool pid_gone(pid_t pid)
{
    char path[64], text[512];
    const char *p;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return true;
    /* a zombie waiting for its reaper is gone too: its state in /proc/PID/stat is Z */
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    read_text(path, text, sizeof text);
    p = strrchr(text, ')');
    return !text[0] || (p && p[1] == ' ' && p[2] == 'Z');
}

static void test_local_cancel_kills_group(void)
{
    const char *dir = t_tmpdir();
    struct cpn_executor *x = local_in(dir);
    struct cpn_local_options o = { .term_grace_ms = 500 };
    char cmd[600], pidfile[512], text[64];
    struct cpn_agent_task t;
    struct cpn_task_status st;
    struct cpn_error err = { 0 };
    pid_t child = 0;
    if (!x)
        return;
    CHECK_INT(cpn_executor_local_configure(x, &o, &err), 0);
    snprintf(pidfile, sizeof pidfile, "%s/child.pid", dir);
    snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > %s; wait", pidfile);
    t = task_of("job-cancel", cmd);
    CHECK_INT(x->ops->submit(x, &t, &st, &err), 0);
    for (int i = 0; i < 200 && !child; i++) {
        int64_t v = 0;
        read_text(pidfile, text, sizeof text);
        text[strcspn(text, "\n")] = '\0';
        if (text[0] && cpn_parse_int64(text, &v) == 0)
            child = (pid_t)v;
        else
            nap_ms(10);
    }
    CHECK(child > 0);
    CHECK_INT(x->ops->cancel(x, "job-cancel", &err), 0);
    CHECK_INT(x->ops->status(x, "job-cancel", &st, &err), 0);
    CHECK_INT(st.state, CPN_TASK_CANCELLED);
    for (int i = 0; i < 100 && child > 0 && !pid_gone(child); i++)
        nap_ms(10);
    CHECK_MSG(child > 0 && pid_gone(child), "the sleeping child %d outlived the cancel",
              (int)child);
    /* cancelling again, or a finished task, changes nothing */
    CHECK_INT(x->ops->cancel(x, "job-cancel", &err), 0);
    CHECK_INT(x->ops->cancel(x, "never-submitted", &err), CPN_EREF);
    cpn_executor_destroy(x);
}

static int count_lines(const char *path)
{
    char text[1024];
    int n = 0;
    read_text(path, text, sizeof text);
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

static void test_local_never_twice(void)
{
    const char *dir = t_tmpdir();
    struct cpn_executor *x = local_in(dir);
    char cmd[600], marks[512];
    struct cpn_agent_task t;
    struct cpn_task_status a, b;
    struct cpn_error err = { 0 };
    if (!x)
        return;
    snprintf(marks, sizeof marks, "%s/runs.txt", dir);
    snprintf(cmd, sizeof cmd, "echo run >> %s; sleep 0.2", marks);
    t = task_of("job-once", cmd);
    CHECK_INT(x->ops->submit(x, &t, &a, &err), 0);
    CHECK_INT(x->ops->submit(x, &t, &b, &err), 0);
    CHECK_STR(a.executor_id, b.executor_id);
    b = wait_final(x, "job-once");
    CHECK_INT(b.state, CPN_TASK_COMPLETED);
    CHECK_INT(x->ops->submit(x, &t, &b, &err), 0); /* even after it finished */
    CHECK_INT(b.state, CPN_TASK_COMPLETED);
    nap_ms(100);
    CHECK_INT(count_lines(marks), 1);
    cpn_executor_destroy(x);
}

struct names {
    int n;
    char ids[8][64];
};

static void collect(void *ctx, const char *job_id)
{
    struct names *nm = ctx;
    if (nm->n < 8)
        snprintf(nm->ids[nm->n++], sizeof nm->ids[0], "%s", job_id);
}

static void test_local_restart_finds_tasks(void)
{
    const char *dir = t_tmpdir();
    struct cpn_executor *x = local_in(dir);
    struct cpn_agent_task t = task_of("job-restart", "sleep 0.3; exit 5");
    struct cpn_task_status st;
    struct cpn_error err = { 0 };
    struct names nm = { 0 };
    char path[512];
    if (!x)
        return;
    CHECK_INT(x->ops->submit(x, &t, &st, &err), 0);
    CHECK_INT(x->ops->status(x, "job-restart", &st, &err), 0);
    CHECK_INT(st.state, CPN_TASK_RUNNING);
    cpn_executor_destroy(x); /* the agent goes away; its task goes on */
    /* a record of a process that is gone without an exit record: lost */
    snprintf(path, sizeof path, "%s/job-vanished.task", dir);
    CHECK_INT(write_text(path, "{\"job\":\"job-vanished\",\"pool\":\"cpu\",\"units\":1,"
                               "\"command\":\"true\",\"time_scale\":1,\"begin_ns\":1,"
                               "\"start_ns\":1,\"end_ns\":0,\"state\":\"running\","
                               "\"pid\":999999999,\"exit_code\":0,\"message\":\"\"}"),
              0);
    x = local_in(dir);
    if (!x)
        return;
    CHECK_INT(x->ops->list(x, collect, &nm, &err), 0);
    CHECK_INT(nm.n, 2);
    st = wait_final(x, "job-restart");
    CHECK_INT(st.state, CPN_TASK_FAILED);
    CHECK_INT(st.exit_code, 5);
    CHECK_INT(x->ops->status(x, "job-vanished", &st, &err), 0);
    CHECK_INT(st.state, CPN_TASK_LOST);
    CHECK_CONTAINS(st.message, "no exit record");
    cpn_executor_destroy(x);
    /* the exit status survives another restart without the process */
    x = local_in(dir);
    if (!x)
        return;
    CHECK_INT(x->ops->status(x, "job-restart", &st, &err), 0);
    CHECK_INT(st.state, CPN_TASK_FAILED);
    CHECK_INT(st.exit_code, 5);
    cpn_executor_destroy(x);
}

static void test_local_begin_and_max_jobs(void)
{
    struct cpn_executor *x = local_in(t_tmpdir());
    struct cpn_local_options o = { .max_jobs = 1 };
    struct cpn_agent_task a = task_of("job-a", "sleep 0.3"), b = task_of("job-b", "true");
    struct cpn_agent_task c = task_of("job-later", "");
    struct cpn_agent_pool pools[1];
    struct cpn_task_status st;
    struct cpn_error err = { 0 };
    int running = -1, queued = -1;
    if (!x)
        return;
    CHECK_INT(cpn_executor_local_configure(x, &o, &err), 0);
    a.units = 3;
    CHECK_INT(x->ops->submit(x, &a, &st, &err), 0);
    CHECK_INT(x->ops->submit(x, &b, &st, &err), 0);
    memset(pools, 0, sizeof pools);
    snprintf(pools[0].id, sizeof pools[0].id, "cpu");
    pools[0].total = 8;
    CHECK_INT(x->ops->usage(x, pools, 1, &running, &queued, &err), 0);
    CHECK_INT(running, 1);
    CHECK_INT(queued, 1);
    CHECK_INT(pools[0].available, 5);
    CHECK_INT(x->ops->status(x, "job-b", &st, &err), 0);
    CHECK_INT(st.state, CPN_TASK_PENDING);
    CHECK_STR(st.executor_id, "local:queued");
    st = wait_final(x, "job-b"); /* starts once job-a is done */
    CHECK_INT(st.state, CPN_TASK_COMPLETED);
    /* no command: sleeps duration x time_scale, after (begin - now) x time_scale */
    c.now_s = 1000000;
    c.begin_s = 1000000 + 3600; /* an hour of platform time ... */
    c.time_scale = 0.3 / 3600;  /* ... is 0.3 s here */
    c.duration_s = 3600;
    CHECK_INT(x->ops->submit(x, &c, &st, &err), 0);
    CHECK_INT(st.state, CPN_TASK_PENDING);
    nap_ms(450);
    CHECK_INT(x->ops->status(x, "job-later", &st, &err), 0);
    CHECK_INT(st.state, CPN_TASK_RUNNING);
    st = wait_final(x, "job-later");
    CHECK_INT(st.state, CPN_TASK_COMPLETED);
    /* 1 unit for about an hour of platform time */
    CHECK_NEAR(st.unit_hours, 1.0, 0.5);
    cpn_executor_destroy(x);
}

/* ---- the config file ---------------------------------------------------------------------------
 */

static void test_config_good(void)
{
    static const char text[] =
        "{\"pools\": [{\"id\": \"h800\", \"partition\": \"gpu\", \"class\": \"intelligent\",\n"
        "  \"device\": \"H800\", \"tflops\": 989.5, \"watts_idle\": 100, \"watts_busy\": 700,\n"
        "  \"mem_gib\": 80, \"price_cny_per_unit_hour\": 9.5, \"units\": 512,\n"
        "  \"note\": \"from the vendor sheet\"},\n"
        " {\"id\": \"cpu\", \"watts_busy\": 9}],\n"
        " \"telemetry_interval_s\": 2, \"damping\": 0.1, \"heartbeat_periods\": 3,\n"
        " \"max_jobs\": 4, \"limits\": {\"cpu_s_per_unit\": 3600, \"mem_gib_per_unit\": 2},\n"
        " \"cluster\": {\"name\": \"Demo\", \"hub\": \"jjj\", \"zone\": \"hebei\",\n"
        "  \"province\": \"Hebei\", \"owner\": \"A\", \"lon\": 114.9, \"lat\": 40.8, \"pue\": "
        "1.2}}";
    struct agt_conf c;
    struct cpn_error err = { 0 };
    CHECK_INT(agt_conf_parse(text, strlen(text), "agent.json", &c, &err), 0);
    CHECK_INT(c.npools, 2);
    CHECK_STR(c.pools[0].p.id, "h800");
    CHECK_STR(c.pools[0].p.partition, "gpu");
    CHECK_INT(c.pools[0].p.cls, CPN_CLASS_INTELLIGENT);
    CHECK_INT(c.pools[0].p.total, 512);
    CHECK_NEAR(c.pools[0].p.watts_busy, 700, 0);
    CHECK(c.pools[0].set & AGT_PF_UNITS);
    CHECK(!(c.pools[1].set & AGT_PF_UNITS));
    CHECK_INT(c.pools[1].set, AGT_PF_WATTS_BUSY);
    CHECK_NEAR(c.telemetry_interval_s, 2, 0);
    CHECK_NEAR(c.damping, 0.1, 0);
    CHECK_INT(c.heartbeat_periods, 3);
    CHECK_INT(c.max_jobs, 4);
    CHECK_INT(c.cpu_s_per_unit, 3600);
    CHECK_NEAR(c.mem_gib_per_unit, 2, 0);
    CHECK(c.cluster.present);
    CHECK_STR(c.cluster.hub, "jjj");
    CHECK_NEAR(c.cluster.pue, 1.2, 0);
    agt_conf_free(&c);
    /* an empty object is a valid config: defaults */
    CHECK_INT(agt_conf_parse("{}", 2, "empty.json", &c, &err), 0);
    CHECK_INT(c.npools, 0);
    CHECK_NEAR(c.damping, AGT_DAMPING_DEFAULT, 0);
    CHECK_INT(c.heartbeat_periods, AGT_HEARTBEAT_DEFAULT);
    agt_conf_free(&c);
}

static void test_config_bad(void)
{
    static const struct {
        const char *text;
        const char *needles[3];
    } cases[] = {
        { "{\"pools\": [{\"id\": \"a\", \"wats_idle\": 3}]}",
          { "agent.json", "/pools/0/wats_idle", "unknown key" } },
        { "{\"damping\": 2}", { "/damping", "2", "expected a share" } },
        { "{\"telemtry_interval_s\": 2}", { "telemtry_interval_s", "telemetry_interval_s" } },
        { "{\"pools\": [{\"id\": \"a\", \"units\": 0}]}", { "/pools/0/units", "integer >= 1" } },
        { "{\"pools\": [{\"id\": \"a\", \"units\": 2.5}]}", { "/pools/0/units", "2.5" } },
        { "{\"pools\": [{\"units\": 2}]}", { "/pools/0/id", "missing" } },
        { "{\"pools\": [{\"id\": \"a b\"}]}", { "/pools/0/id", "\"a b\"", "an id" } },
        { "{\"pools\": [{\"id\": \"a\", \"class\": \"quantum\"}]}",
          { "/pools/0/class", "quantum", "general, intelligent or super" } },
        { "{\"pools\": [{\"id\": \"a\"}, {\"id\": \"a\"}]}", { "/pools/1/id", "/pools/0" } },
        { "{\"pools\": [{\"id\": \"a\", \"watts_idle\": 9, \"watts_busy\": 3}]}",
          { "/pools/0/watts_busy", ">= watts_idle" } },
        { "{\"pools\": {\"id\": \"a\"}}", { "/pools", "an array" } },
        { "{\"cluster\": {\"hub\": \"h\", \"pue\": 0.5}}", { "/cluster/pue", "0.5" } },
        { "{\"cluster\": {\"region\": \"west\"}}", { "/cluster/region", "unknown key" } },
        { "{\"limits\": {\"cpu_s\": 5}}", { "/limits/cpu_s", "cpu_s_per_unit" } },
        { "{\"note\": 5}", { "note", "string" } },
        { "[1, 2]", { "(top level)", "an object" } },
        { "{\"pools\": [", { "agent.json:1:" } },
        { "{\"damping\": 0.1, \"damping\": 0.2}", { "agent.json:1:", "duplicate" } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct agt_conf c;
        struct cpn_error err = { 0 };
        int rc = agt_conf_parse(cases[i].text, strlen(cases[i].text), "agent.json", &c, &err);
        CHECK_MSG(rc == CPN_EFIELD || rc == CPN_EPARSE, "case %zu: rc %d", i, rc);
        for (size_t k = 0; k < 3 && cases[i].needles[k]; k++)
            CHECK_MSG(strstr(err.msg, cases[i].needles[k]) != NULL,
                      "case %zu: \"%s\" does not contain \"%s\"", i, err.msg, cases[i].needles[k]);
        CHECK_INT(c.npools, 0);
        agt_conf_free(&c);
    }
    {
        struct agt_conf c;
        struct cpn_error err = { 0 };
        CHECK(agt_conf_load("/nonexistent/agent.json", &c, &err) < 0);
        CHECK_CONTAINS(err.msg, "/nonexistent/agent.json");
    }
}

/* ---- pure decisions
 * ------------------------------------------------------------------------------ */

static struct cpn_agent_pool pool(const char *id, int64_t total, int64_t avail)
{
    struct cpn_agent_pool p;
    memset(&p, 0, sizeof p);
    snprintf(p.id, sizeof p.id, "%s", id);
    p.total = total;
    p.available = avail;
    return p;
}

static void test_damping_table(void)
{
    static const struct {
        int64_t sent_avail, cur_avail, cur_total;
        double sent_util, cur_util, damping;
        int periods, heartbeat;
        bool never_sent;
        bool want;
    } cases[] = {
        { 100, 100, 100, 0.0, 0.0, 0.05, 1, 6, true, true },   /* nothing sent yet */
        { 100, 100, 100, 0.0, 0.0, 0.05, 1, 6, false, false }, /* no change */
        { 100, 96, 100, 0.0, 0.04, 0.05, 1, 6, false, false }, /* under the threshold */
        { 100, 95, 100, 0.0, 0.05, 0.05, 2, 6, false, false }, /* at it: not more than */
        { 100, 94, 100, 0.0, 0.0, 0.05, 1, 6, false, true },   /* availability moved > 5 % */
        { 100, 100, 100, 0.1, 0.2, 0.05, 1, 6, false, true },  /* utilisation moved */
        { 100, 100, 100, 0.0, 0.0, 0.05, 5, 6, false, false }, /* 5th quiet period */
        { 100, 100, 100, 0.0, 0.0, 0.05, 6, 6, false, true },  /* every 6th regardless */
        { 100, 100, 120, 0.0, 0.0, 0.05, 1, 6, false, true },  /* a total changed */
        { 100, 100, 100, 0.0, 0.0, 0.0, 1, 6, false, true },   /* damping 0: every period */
        { 100, 99, 100, 0.0, 0.0, 0.5, 1, 1, false, true },    /* heartbeat 1 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cpn_agent_pool sent[2] = { pool("a", 100, cases[i].sent_avail), pool("b", 8, 8) };
        struct cpn_agent_pool cur[2] = { pool("a", cases[i].cur_total, cases[i].cur_avail),
                                         pool("b", 8, 8) };
        bool got = agt_damp_send(cases[i].never_sent ? NULL : sent, cur, 2, cases[i].sent_util,
                                 cases[i].cur_util, cases[i].damping, cases[i].periods,
                                 cases[i].heartbeat);
        CHECK_MSG(got == cases[i].want, "case %zu: %d, expected %d", i, got, cases[i].want);
    }
}

static void test_backoff_schedule(void)
{
    static const struct {
        int failures;
        double jitter, want;
    } cases[] = {
        { 0, 0.5, 0 },   { 1, 0.5, 0.5 }, { 2, 0.5, 1 },     { 3, 0.5, 2 },   { 4, 0.5, 4 },
        { 6, 0.5, 16 },  { 7, 0.5, 30 },  { 20, 0.5, 30 },   { 1, 0.0, 0.5 }, { 1, 1.0, 0.625 },
        { 3, 0.0, 1.5 }, { 3, 1.0, 2.5 }, { 10, 0.0, 22.5 }, { 10, 1.0, 30 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = agt_backoff_s(cases[i].failures, cases[i].jitter);
        CHECK_MSG(got > cases[i].want - 1e-9 && got < cases[i].want + 1e-9,
                  "case %zu: %d failures, jitter %g: %g s, expected %g", i, cases[i].failures,
                  cases[i].jitter, got, cases[i].want);
    }
    /* within 0.5 .. 30 whatever the jitter, and never shorter than the step before */
    for (int f = 1; f < 40; f++) {
        double d = agt_backoff_s(f, 0.999);
        CHECK(d >= 0.5 && d <= 30);
        CHECK(agt_backoff_s(f + 1, 0.5) >= agt_backoff_s(f, 0.5));
    }
}

static void test_power_model(void)
{
    struct cpn_agent_pool p[2] = { pool("gpu", 10, 5), pool("cpu", 100, 100) };
    p[0].watts_idle = 100;
    p[0].watts_busy = 500;
    p[1].watts_idle = 2;
    p[1].watts_busy = 10;
    /* gpu half busy: 10 x (100 + 400 x 0.5) = 3000 W; cpu idle: 200 W; x 1.5 PUE */
    CHECK_NEAR(agt_power_estimate_kw(p, 2, 1.5), 3.2 * 1.5, 1e-9);
    CHECK_NEAR(agt_utilisation(p, 2), 5.0 / 110.0, 1e-12);
    CHECK_NEAR(agt_utilisation(p, 0), 0, 0);
}

static void test_rapl_fake_sysfs(void)
{
    const char *dir = t_tmpdir();
    char path[512];
    struct agt_rapl r;
    double w = -1;
    snprintf(path, sizeof path, "%s/intel-rapl:0", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/intel-rapl:0:0", dir); /* a sub-domain: not counted */
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/intel-rapl:0/energy_uj", dir);
    write_text(path, "1000000\n");
    snprintf(path, sizeof path, "%s/intel-rapl:0/max_energy_range_uj", dir);
    write_text(path, "10000000\n");
    snprintf(path, sizeof path, "%s/intel-rapl:0:0/energy_uj", dir);
    write_text(path, "5\n");
    CHECK_INT(agt_rapl_open(&r, dir), 0);
    CHECK_INT(r.n, 1);
    CHECK_INT(agt_rapl_watts(&r, 1000000000LL, &w), 0); /* first read primes */
    snprintf(path, sizeof path, "%s/intel-rapl:0/energy_uj", dir);
    write_text(path, "3000000\n"); /* 2 J in 2 s */
    CHECK_INT(agt_rapl_watts(&r, 3000000000LL, &w), 1);
    CHECK_NEAR(w, 1.0, 1e-9);
    write_text(path, "1000000\n"); /* wrapped: 7 J + 1 J in 1 s */
    CHECK_INT(agt_rapl_watts(&r, 4000000000LL, &w), 1);
    CHECK_NEAR(w, 8.0, 1e-9);
    CHECK_INT(agt_rapl_open(&r, "/nonexistent-powercap"), -ENOENT);
}

static void test_outbox_reopen(void)
{
    const char *dir = t_tmpdir();
    struct agt_outbox o;
    struct cpn_error err = { 0 };
    char path[512], text[1024];
    CHECK_INT(agt_outbox_open(&o, dir, &err), 0);
    CHECK_INT(o.n, 0);
    CHECK_INT(agt_outbox_push(&o, "job-1", "{\"state\":\"dispatched\"}", &err), 0);
    CHECK_INT(agt_outbox_push(&o, "job-1", "{\"state\":\"running\"}", &err), 0);
    CHECK_INT(agt_outbox_push(&o, "job-2", "{\"state\":\"dispatched\"}", &err), 0);
    CHECK_INT(agt_outbox_push(&o, "bad/id", "{}", &err), CPN_EFIELD);
    agt_outbox_close(&o);
    CHECK_INT(agt_outbox_open(&o, dir, &err), 0);
    CHECK_INT(o.n, 3);
    if (o.n == 3) {
        CHECK_STR(o.ev[0].job, "job-1");
        CHECK_CONTAINS(o.ev[0].body, "dispatched");
        CHECK_CONTAINS(o.ev[1].body, "running");
        CHECK_STR(o.ev[2].job, "job-2");
    }
    CHECK_INT(agt_outbox_pop(&o, &err), 0);
    agt_outbox_close(&o);
    CHECK_INT(agt_outbox_open(&o, dir, &err), 0);
    CHECK_INT(o.n, 2);
    if (o.n == 2)
        CHECK_CONTAINS(o.ev[0].body, "running");
    agt_outbox_close(&o);
    snprintf(path, sizeof path, "%s/outbox.jsonl", dir);
    read_text(path, text, sizeof text);
    CHECK_CONTAINS(text, "{\"job\":\"job-1\",\"event\":{\"state\":\"running\"}}\n");
    write_text(path, "not json\n");
    CHECK_INT(agt_outbox_open(&o, dir, &err), CPN_EPARSE);
    CHECK_CONTAINS(err.msg, "outbox.jsonl:1");
}

/* ---- end to end against an in-process platform
 * --------------------------------------------------- */

/* 2025-06-01T00:00:00Z: a slot boundary, so a job may start at once */
#define T0_S 1748736000LL

static const char network_json[] =
    "{\"name\": \"agent-test\", \"slot_minutes\": 15,\n"
    " \"hubs\": [{\"id\": \"east\", \"region\": \"east\"}],\n"
    " \"zones\": [{\"id\": \"z\", \"grid_gco2_per_kwh\": 600, \"green_share\": 0.5,\n"
    "            \"price_cny_per_kwh\": 0.5}],\n"
    " \"clusters\": [{\"id\": \"alpha\", \"hub\": \"east\", \"zone\": \"z\", \"lon\": 114.9,\n"
    "   \"lat\": 40.8, \"pue\": 1.25,\n"
    "   \"pools\": [{\"id\": \"cpu\", \"class\": \"general\", \"units\": 64, \"tflops\": 0.1,\n"
    "              \"watts_idle\": 2, \"watts_busy\": 10, \"price_cny_per_unit_hour\": 0.05}]}],\n"
    " \"sites\": [{\"id\": \"beijing\", \"lon\": 116.4, \"lat\": 39.9}]}\n";

struct tclock {
    _Atomic int64_t ns;
};

static int64_t tclock_now(void *ctx)
{
    return atomic_load(&((struct tclock *)ctx)->ns);
}

struct e2e {
    char dir[256], net[320], state[320], conf[320];
    struct tclock clk;
    struct cpn_serve_config cfg;
    struct cpn_server *srv;
    FILE *log;
    char base[64];
    char op[CPN_TOKEN_MAX], prov[CPN_TOKEN_MAX];
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct cpn_buf *b = ctx;
    return cpn_buf_append(b, p, size * n) ? 0 : size * n;
}

/* One request to the platform; returns the parsed body (or NULL) and the status in *status. */
static json_t *
http(const struct e2e *E, const char *method, const char *path, const char *body, long *status)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct cpn_buf b = { 0 };
    char url[512], auth[CPN_TOKEN_MAX + 32];
    json_t *j = NULL;
    *status = 0;
    if (!c)
        return NULL;
    snprintf(url, sizeof url, "%s%s", E->base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", E->op);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        if (b.data)
            j = json_loads(b.data, 0, NULL);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    cpn_buf_free(&b);
    return j;
}

static int e2e_start(struct e2e *E)
{
    struct cpn_store *st;
    struct cpn_error err = { 0 };
    struct cpn_token_rec rec;
    char path[400];
    FILE *f;
    memset(E, 0, sizeof *E);
    snprintf(E->dir, sizeof E->dir, "%s", t_tmpdir());
    snprintf(E->net, sizeof E->net, "%s/network.json", E->dir);
    snprintf(E->state, sizeof E->state, "%s/agent-state", E->dir);
    snprintf(E->conf, sizeof E->conf, "%s/agent.json", E->dir);
    if (write_text(E->net, network_json) ||
        write_text(E->conf, "{\"pools\": [{\"id\": \"cpu\", \"units\": 64}], \"damping\": 0}"))
        return -1;
    snprintf(path, sizeof path, "%s/serve.log", E->dir);
    E->log = fopen(path, "w");
    atomic_store(&E->clk.ns, T0_S * 1000000000LL);
    if (cpn_store_open(E->dir, &st, &err) != 0)
        return -1;
    if (cpn_store_token_create(st, CPN_ROLE_PROVIDER, "alpha", "test", T0_S, E->prov, &rec, &err)) {
        cpn_store_close(st);
        return -1;
    }
    cpn_store_close(st);
    E->cfg.network_path = E->net;
    E->cfg.data_dir = E->dir;
    E->cfg.listen = "127.0.0.1:0";
    E->cfg.policy = "green";
    E->cfg.clock.now_ns = tclock_now;
    E->cfg.clock.ctx = &E->clk;
    E->cfg.telemetry_timeout_s = 600;
    E->cfg.clock_speed = 3600; /* an hour of platform time per second */
    E->cfg.log = E->log;
    if (cpn_server_start(&E->cfg, &E->srv, &err) != 0) {
        fprintf(stderr, "server: %s\n", err.msg);
        return -1;
    }
    snprintf(E->base, sizeof E->base, "http://127.0.0.1:%d", cpn_server_port(E->srv));
    snprintf(path, sizeof path, "%s/operator.token", E->dir);
    f = fopen(path, "r");
    if (!f || !fgets(E->op, sizeof E->op, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    E->op[strcspn(E->op, "\r\n")] = '\0';
    return 0;
}

static void e2e_stop(struct e2e *E)
{
    cpn_server_stop(E->srv);
    if (E->log)
        fclose(E->log);
}

static int agent_round(const struct e2e *E, FILE *log, struct cpn_error *err)
{
    struct cpn_agent_config c = { 0 };
    c.platform = E->base;
    c.token = E->prov;
    c.cluster = "alpha";
    c.config_path = E->conf;
    c.state_dir = E->state;
    c.once = true;
    c.log = log;
    c.powercap_dir = "/nonexistent-powercap";
    return cpn_agent_run(&c, NULL, err);
}

/* Submits a job restricted to alpha that may start now; returns its id in out. */
static int submit(const struct e2e *E, const char *extra, char *out, size_t size)
{
    char body[1024];
    long status;
    json_t *j;
    snprintf(body, sizeof body,
             "{\"origin\": \"beijing\", \"class\": \"general\", \"units\": 2, \"duration\": 900,"
             " \"earliest\": %lld, \"allowed\": [\"cluster:alpha\"]%s}",
             (long long)(atomic_load(&E->clk.ns) / 1000000000), extra);
    j = http(E, "POST", "/v1/jobs", body, &status);
    if (status != 201 && status != 200) {
        char *s = j ? json_dumps(j, 0) : NULL;
        t_fail(__FILE__, __LINE__, "submit: %ld %s", status, s ? s : "");
        free(s);
        json_decref(j);
        return -1;
    }
    snprintf(out, size, "%s", json_string_value(json_object_get(j, "id")));
    json_decref(j);
    return 0;
}

static json_t *execution(const struct e2e *E, const char *id)
{
    char path[160];
    long status;
    json_t *j, *x;
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    j = http(E, "GET", path, NULL, &status);
    x = json_incref(json_object_get(j, "execution"));
    json_decref(j);
    return x;
}

static const char *xstate(const json_t *x)
{
    const char *s = json_string_value(json_object_get(x, "state"));
    return s ? s : "none";
}

static const char *xid(const json_t *x)
{
    const char *s = json_string_value(json_object_get(x, "executor_id"));
    return s ? s : "";
}

/* Runs agent rounds until job id's execution reaches state (or about 6 s pass). */
static json_t *rounds_until(const struct e2e *E, FILE *log, const char *id, const char *state)
{
    json_t *x = NULL;
    for (int i = 0; i < 30; i++) {
        struct cpn_error err = { 0 };
        agent_round(E, log, &err);
        json_decref(x);
        x = execution(E, id);
        if (!strcmp(xstate(x), state))
            break;
        nap_ms(200);
    }
    return x;
}

static void test_end_to_end(void)
{
    struct e2e E;
    struct cpn_error err = { 0 };
    char job_cmd[64] = "", job_sleep[64] = "", job_cancel[64] = "", logpath[400];
    char logtext[8192];
    json_t *x, *u;
    FILE *log;
    long status;
    if (e2e_start(&E)) {
        t_fail(__FILE__, __LINE__, "the platform did not start");
        return;
    }
    snprintf(logpath, sizeof logpath, "%s/agent.log", E.dir);
    log = fopen(logpath, "w+");
    if (submit(&E, ", \"command\": \"echo e2e-ok; sleep 0.2\"", job_cmd, sizeof job_cmd) ||
        submit(&E, "", job_sleep, sizeof job_sleep) ||
        submit(&E, ", \"command\": \"sleep 30\"", job_cancel, sizeof job_cancel)) {
        fclose(log);
        e2e_stop(&E);
        return;
    }
    /* the first round takes the assignments, starts the tasks and reports them */
    CHECK_INT(agent_round(&E, log, &err), 0);
    x = execution(&E, job_cmd);
    CHECK(!strcmp(xstate(x), "dispatched") || !strcmp(xstate(x), "running") ||
          !strcmp(xstate(x), "completed"));
    CHECK_STR(json_string_value(json_object_get(x, "cluster")), "alpha");
    CHECK(!strncmp(xid(x), "local:", 6));
    json_decref(x);
    /* the command runs to completion; its usage comes back */
    x = rounds_until(&E, log, job_cmd, "completed");
    CHECK_STR(xstate(x), "completed");
    CHECK_INT(json_integer_value(json_object_get(x, "exit_code")), 0);
    u = json_object_get(x, "usage");
    /* 2 units for about 0.2 s at 3600 platform seconds per second: about 0.4 unit-hours */
    CHECK(json_number_value(json_object_get(u, "unit_hours")) > 0.2);
    CHECK(json_number_value(json_object_get(u, "unit_hours")) < 2);
    CHECK(json_number_value(json_object_get(u, "energy_kwh")) > 0);
    CHECK_STR(json_string_value(json_object_get(u, "energy_source")), "estimated");
    json_decref(x);
    {
        char out[512], text[256];
        snprintf(out, sizeof out, "%s/%s.out", E.state, job_cmd);
        read_text(out, text, sizeof text);
        CHECK_CONTAINS(text, "e2e-ok");
    }
    /* no command: 900 platform seconds of sleep = 0.25 s here */
    x = rounds_until(&E, log, job_sleep, "completed");
    CHECK_STR(xstate(x), "completed");
    json_decref(x);
    /* a cancel on the platform reaches the running task */
    x = rounds_until(&E, log, job_cancel, "running");
    CHECK_STR(xstate(x), "running");
    json_decref(x);
    {
        char path[160];
        snprintf(path, sizeof path, "/v1/jobs/%s/cancel", job_cancel);
        json_decref(http(&E, "POST", path, "{}", &status));
        CHECK_INT(status, 200);
    }
    x = rounds_until(&E, log, job_cancel, "cancelled");
    CHECK_STR(xstate(x), "cancelled");
    json_decref(x);
    /* nothing was run twice: one task record per job */
    {
        struct cpn_executor *lx = local_in(E.state);
        struct names nm = { 0 };
        if (lx) {
            lx->ops->list(lx, collect, &nm, &err);
            CHECK_INT(nm.n, 3);
            cpn_executor_destroy(lx);
        }
    }
    /* a task the platform does not know (say the job moved before our report arrived): the
     * refused report makes the agent cancel it before it could start */
    {
        struct cpn_executor *lx = local_in(E.state);
        struct cpn_agent_task ghost = task_of("job_GHOST", "echo ran");
        struct cpn_task_status st;
        if (lx) {
            ghost.now_s = 1000;
            ghost.begin_s = 1000 + 3600;
            CHECK_INT(lx->ops->submit(lx, &ghost, &st, &err), 0);
            cpn_executor_destroy(lx);
        }
        agent_round(&E, log, &err);
        lx = local_in(E.state);
        if (lx) {
            CHECK_INT(lx->ops->status(lx, "job_GHOST", &st, &err), 0);
            CHECK_INT(st.state, CPN_TASK_CANCELLED);
            cpn_executor_destroy(lx);
        }
    }
    /* the platform went away: the round fails, the agent keeps its state */
    e2e_stop(&E);
    CHECK(agent_round(&E, log, &err) < 0);
    fflush(log);
    rewind(log);
    logtext[fread(logtext, 1, sizeof logtext - 1, log)] = '\0';
    CHECK_CONTAINS(logtext, "dispatched");
    CHECK_CONTAINS(logtext, "completed");
    CHECK(!strstr(logtext, E.prov)); /* the token is never logged */
    fclose(log);
}

static void test_register_cluster(void)
{
    struct e2e E;
    struct cpn_error err = { 0 };
    struct cpn_agent_config c = { 0 };
    struct cpn_store *st;
    struct cpn_token_rec rec;
    char tok[CPN_TOKEN_MAX], conf[400], state[400];
    json_t *cl, *pools;
    long status;
    if (e2e_start(&E)) {
        t_fail(__FILE__, __LINE__, "the platform did not start");
        return;
    }
    /* a provider token for a cluster the network does not have yet (the server holds the store
     * open, and SQLite lets a second connection write) */
    if (cpn_store_open(E.dir, &st, &err) == 0) {
        CHECK_INT(
            cpn_store_token_create(st, CPN_ROLE_PROVIDER, "gamma", "test", T0_S, tok, &rec, &err),
            0);
        cpn_store_close(st);
    }
    snprintf(conf, sizeof conf, "%s/gamma.json", E.dir);
    snprintf(state, sizeof state, "%s/gamma-state", E.dir);
    write_text(conf, "{\"cluster\": {\"name\": \"Gamma\", \"hub\": \"east\", \"zone\": \"z\",\n"
                     " \"lon\": 105.2, \"lat\": 37.5, \"pue\": 1.15},\n"
                     " \"pools\": [{\"id\": \"cpu\", \"tflops\": 0.08, \"watts_idle\": 3,\n"
                     "  \"watts_busy\": 9, \"price_cny_per_unit_hour\": 0.04}]}");
    c.platform = E.base;
    c.token = tok;
    c.cluster = "gamma";
    c.config_path = conf;
    c.state_dir = state;
    c.once = true;
    c.register_cluster = true;
    c.log = E.log;
    CHECK_INT(cpn_agent_run(&c, NULL, &err), 0);
    cl = http(&E, "GET", "/v1/clusters/gamma", NULL, &status);
    CHECK_INT(status, 200);
    CHECK_STR(json_string_value(json_object_get(cl, "health")), "up");
    pools = json_object_get(cl, "pools");
    CHECK_INT(json_array_size(pools), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(pools, 0), "id")), "cpu");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(pools, 0), "units")),
              sysconf(_SC_NPROCESSORS_ONLN));
    CHECK_NEAR(json_number_value(json_object_get(json_array_get(pools, 0), "watts_busy")), 9, 1e-9);
    json_decref(cl);
    /* without the registration fields --register is a usage error that says what is missing */
    write_text(conf, "{}");
    CHECK_INT(cpn_agent_run(&c, NULL, &err), CPN_EUSAGE);
    CHECK_CONTAINS(err.msg, "\"hub\"");
    e2e_stop(&E);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    T_RUN(test_local_runs_and_captures);
    T_RUN(test_local_failure_exit_code);
    T_RUN(test_local_cancel_kills_group);
    T_RUN(test_local_never_twice);
    T_RUN(test_local_restart_finds_tasks);
    T_RUN(test_local_begin_and_max_jobs);
    T_RUN(test_config_good);
    T_RUN(test_config_bad);
    T_RUN(test_damping_table);
    T_RUN(test_backoff_schedule);
    T_RUN(test_power_model);
    T_RUN(test_rapl_fake_sysfs);
    T_RUN(test_outbox_reopen);
    T_RUN(test_end_to_end);
    T_RUN(test_register_cluster);
    return T_DONE("agent");
}
