/* SPDX-License-Identifier: Apache-2.0 */
/* The local executor: runs each task as its own session and process group under /bin/sh, with
 * RLIMIT_CPU and RLIMIT_AS when configured, output in DIR/<job>.out. The command runs inside a
 * tiny wrapper that writes its exit status to DIR/<job>.exit, and each task's record (pid, times,
 * state) is kept in DIR/<job>.task, so a restarted agent finds its tasks, still running or
 * finished, and their exit status: a process that is gone without an exit record is lost. Tasks
 * with a planned start wait as pending, and at most max_jobs run at once; a due task starts when
 * the agent next asks for a status (it asks every few seconds, and at planned starts), so nothing
 * here sleeps or makes a thread. It is the embedded default for the demo and for tests. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_int.h"

#define LOCAL_RETAIN_NS (7LL * 86400 * 1000000000) /* finished records kept a week */

/* The wrapper: $1 is the command, $2 the exit record. The command runs in its own shell so that
 * an "exit" in it ends only that shell, and the record appears complete or not at all. */
static const char wrapper[] = "/bin/sh -c \"$1\"; echo $? > \"$2.tmp\" && mv -f \"$2.tmp\" \"$2\"";

enum lstate {
    L_PENDING,
    L_RUNNING,
    L_DONE, /* exit code known */
    L_CANCELLED,
    L_LOST
};
static const char *const lstate_names[] = { "pending", "running", "done", "cancelled", "lost" };

struct ltask {
    char job[CPN_AGENT_JOB_ID_MAX];
    char pool[CPN_ID_MAX];
    int64_t units;
    char *cmd;
    double time_scale;
    int64_t begin_ns, start_ns, end_ns; /* wall clock */
    enum lstate state;
    pid_t pid;
    int exit_code;
    char message[200];
};

struct lexec {
    struct cpn_executor x;
    char dir[3500];
    int64_t cores;
    struct cpn_local_options o;
    struct cpn_clock clk;
    struct ltask *t;
    size_t n, cap;
    struct agt_nvml *gpu;
};

static const struct cpn_executor_ops local_ops;

static int64_t wall_ns(const struct lexec *L)
{
    return L->clk.now_ns(L->clk.ctx);
}

static void path_of(const struct lexec *L, const char *job, const char *ext, char *out, size_t size)
{
    snprintf(out, size, "%s/%s.%s", L->dir, job, ext);
}

static struct ltask *find(struct lexec *L, const char *job)
{
    for (size_t i = 0; i < L->n; i++)
        if (!strcmp(L->t[i].job, job))
            return &L->t[i];
    return NULL;
}

/* ---- persistence ----------------------------------------------------------------------------- */

static int save(struct lexec *L, const struct ltask *t, struct cpn_error *err)
{
    char path[4096];
    json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:f,s:I,s:I,s:I,s:s,s:I,s:i,s:s}", "job", t->job,
                          "pool", t->pool, "units", (json_int_t)t->units, "command", t->cmd,
                          "time_scale", t->time_scale, "begin_ns", (json_int_t)t->begin_ns,
                          "start_ns", (json_int_t)t->start_ns, "end_ns", (json_int_t)t->end_ns,
                          "state", lstate_names[t->state], "pid", (json_int_t)t->pid, "exit_code",
                          t->exit_code, "message", t->message);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int rc;
    json_decref(o);
    if (!text)
        return cpn_errorf(err, -ENOMEM, "local executor: out of memory");
    path_of(L, t->job, "task", path, sizeof path);
    rc = agt_write_file(path, text, err);
    free(text);
    return rc;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int load_one(struct lexec *L, const char *path)
{
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    struct ltask t = { 0 };
    const char *job = json_string_value(json_object_get(o, "job"));
    const char *st = json_string_value(json_object_get(o, "state"));
    const char *cmd = json_string_value(json_object_get(o, "command"));
    int rc = 0;
    if (!job || !agt_job_id_ok(job) || !st || !cmd || find(L, job)) {
        json_decref(o);
        return 0; /* not one of ours, or damaged: ignored rather than fatal */
    }
    cpn_strlcpy(t.job, job, sizeof t.job);
    cpn_strlcpy(t.pool, jstr(o, "pool"), sizeof t.pool);
    t.units = json_integer_value(json_object_get(o, "units"));
    t.time_scale = json_number_value(json_object_get(o, "time_scale"));
    if (!(t.time_scale > 0))
        t.time_scale = 1;
    t.begin_ns = json_integer_value(json_object_get(o, "begin_ns"));
    t.start_ns = json_integer_value(json_object_get(o, "start_ns"));
    t.end_ns = json_integer_value(json_object_get(o, "end_ns"));
    t.pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
    t.exit_code = (int)json_integer_value(json_object_get(o, "exit_code"));
    cpn_strlcpy(t.message, jstr(o, "message"), sizeof t.message);
    t.state = L_LOST;
    for (int k = 0; k <= L_LOST; k++)
        if (!strcmp(st, lstate_names[k]))
            t.state = (enum lstate)k;
    t.cmd = cpn_strdup(cmd);
    if (!t.cmd || cpn_grow(&L->t, &L->cap, L->n + 1, sizeof *L->t)) {
        cpn_free(t.cmd);
        rc = -ENOMEM;
    } else {
        L->t[L->n++] = t;
    }
    json_decref(o);
    return rc;
}

static int load_all(struct lexec *L, struct cpn_error *err)
{
    DIR *d = opendir(L->dir);
    struct dirent *e;
    int rc = 0;
    if (!d)
        return cpn_errorf(err, -errno, "local executor: cannot read %s: %s", L->dir,
                          strerror(errno));
    while (!rc && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        char path[4096];
        if (n < 6 || strcmp(e->d_name + n - 5, ".task"))
            continue;
        snprintf(path, sizeof path, "%s/%s", L->dir, e->d_name);
        rc = load_one(L, path);
    }
    closedir(d);
    return rc ? cpn_errorf(err, rc, "local executor: out of memory") : 0;
}

/* ---- processes ------------------------------------------------------------------------------- */

/* Reads DIR/<job>.exit: 0 with the code and the file's time, or -ENOENT. */
static int read_exit(const struct lexec *L, const char *job, int *code, int64_t *when_ns)
{
    char path[4096], line[32];
    struct stat sb;
    FILE *f;
    int64_t v;
    path_of(L, job, "exit", path, sizeof path);
    f = fopen(path, "r");
    if (!f)
        return -ENOENT;
    if (fgets(line, sizeof line, f))
        line[strcspn(line, "\r\n")] = '\0';
    else
        line[0] = '\0';
    if (cpn_parse_int64(line, &v)) {
        fclose(f);
        return -ENOENT;
    }
    if (fstat(fileno(f), &sb) == 0)
        *when_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    fclose(f);
    *code = (int)v;
    return 0;
}

/* In the child between fork and exec: async-signal-safe calls only (the agent may have threads,
 * as in tests), so the paths were made before the fork. */
static void
child_exec(const struct lexec *L, const struct ltask *t, const char *out, const char *exitp)
{
    sigset_t none;
    int fd;
    setsid();
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    fd = open("/dev/null", O_RDONLY);
    if (fd >= 0 && fd != 0) {
        dup2(fd, 0);
        close(fd);
    }
    fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        _exit(126);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
    for (int k = 3; k < 1024; k++) /* the agent's sockets and files are not the task's */
        close(k);
    if (L->o.cpu_s_per_unit > 0) {
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = (rlim_t)(L->o.cpu_s_per_unit * (t->units > 0 ? t->units : 1));
        setrlimit(RLIMIT_CPU, &rl);
    }
    if (L->o.as_bytes_per_unit > 0) {
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max =
            (rlim_t)(L->o.as_bytes_per_unit * (t->units > 0 ? t->units : 1));
        setrlimit(RLIMIT_AS, &rl);
    }
    execl("/bin/sh", "sh", "-c", wrapper, "cpnet-task", t->cmd, exitp, (char *)NULL);
    _exit(127);
}

static void start(struct lexec *L, struct ltask *t)
{
    char out[4096], exitp[4096];
    pid_t pid;
    path_of(L, t->job, "out", out, sizeof out);
    path_of(L, t->job, "exit", exitp, sizeof exitp);
    unlink(exitp);
    pid = fork();
    if (pid == 0)
        child_exec(L, t, out, exitp);
    if (pid < 0) {
        t->state = L_DONE;
        t->exit_code = 126;
        t->start_ns = t->end_ns = wall_ns(L);
        snprintf(t->message, sizeof t->message, "cannot start a process: %s", strerror(errno));
    } else {
        t->pid = pid;
        t->state = L_RUNNING;
        t->start_ns = wall_ns(L);
    }
    save(L, t, NULL);
}

/* Whether a task's process has ended; fills its end state when it has. */
static bool ended(struct lexec *L, struct ltask *t)
{
    int ws = 0, code = 0;
    int64_t when = 0;
    pid_t r = waitpid(t->pid, &ws, WNOHANG);
    bool child_done = r == t->pid;
    if (r == 0)
        return false;
    if (child_done) /* strays the command left in the background end with it (as in Slurm) */
        kill(-t->pid, SIGKILL);
    if (r < 0 && errno == ECHILD) {
        /* not our child (the agent restarted): alive while the leader and its group exist */
        if ((kill(t->pid, 0) == 0 || errno == EPERM) && (kill(-t->pid, 0) == 0 || errno == EPERM))
            return false;
    } else if (r < 0) {
        return false;
    }
    if (read_exit(L, t->job, &code, &when) == 0) {
        t->state = L_DONE;
        t->exit_code = code;
        t->end_ns = when && when >= t->start_ns ? when : wall_ns(L);
        if (code > 128 && code < 160)
            snprintf(t->message, sizeof t->message, "killed by signal %d", code - 128);
    } else if (child_done && WIFSIGNALED(ws)) {
        t->state = L_DONE;
        t->exit_code = 128 + WTERMSIG(ws);
        t->end_ns = wall_ns(L);
        snprintf(t->message, sizeof t->message, "killed by signal %d", WTERMSIG(ws));
    } else {
        t->state = L_LOST;
        t->end_ns = wall_ns(L);
        snprintf(t->message, sizeof t->message, "process %d is gone and left no exit record",
                 (int)t->pid);
    }
    return true;
}

/* Reaps ended tasks, starts due pending ones within max_jobs, forgets old finished records. */
static void tick(struct lexec *L, bool may_start)
{
    int64_t now = wall_ns(L);
    int running = 0;
    for (size_t i = 0; i < L->n; i++) {
        struct ltask *t = &L->t[i];
        if (t->state == L_RUNNING && ended(L, t))
            save(L, t, NULL);
        running += t->state == L_RUNNING;
    }
    while (may_start && running < L->o.max_jobs) {
        struct ltask *next = NULL;
        for (size_t i = 0; i < L->n; i++) {
            struct ltask *t = &L->t[i];
            if (t->state != L_PENDING || t->begin_ns > now)
                continue;
            if (!next || t->begin_ns < next->begin_ns ||
                (t->begin_ns == next->begin_ns && strcmp(t->job, next->job) < 0))
                next = t;
        }
        if (!next)
            break;
        start(L, next);
        running += next->state == L_RUNNING;
    }
    for (size_t i = 0; i < L->n;) {
        struct ltask *t = &L->t[i];
        if (t->state >= L_DONE && t->end_ns && now - t->end_ns > LOCAL_RETAIN_NS) {
            char path[4096];
            static const char *const exts[] = { "task", "exit", "out" };
            for (size_t k = 0; k < 3; k++) {
                path_of(L, t->job, exts[k], path, sizeof path);
                unlink(path);
            }
            cpn_free(t->cmd);
            L->t[i] = L->t[--L->n];
            continue;
        }
        i++;
    }
}

static void fill_status(const struct lexec *L, const struct ltask *t, struct cpn_task_status *st)
{
    int64_t now = wall_ns(L);
    int64_t end = t->end_ns ? t->end_ns : now;
    memset(st, 0, sizeof *st);
    switch (t->state) {
    case L_PENDING:
        st->state = CPN_TASK_PENDING;
        break;
    case L_RUNNING:
        st->state = CPN_TASK_RUNNING;
        break;
    case L_DONE:
        st->state = t->exit_code == 0 ? CPN_TASK_COMPLETED : CPN_TASK_FAILED;
        break;
    case L_CANCELLED:
        st->state = CPN_TASK_CANCELLED;
        break;
    case L_LOST:
        st->state = CPN_TASK_LOST;
        break;
    }
    if (t->pid > 0)
        snprintf(st->executor_id, sizeof st->executor_id, "local:%d", (int)t->pid);
    else
        snprintf(st->executor_id, sizeof st->executor_id, "local:queued");
    st->exit_code = t->exit_code;
    st->started_s = t->start_ns / 1000000000;
    st->ended_s = t->state >= L_DONE ? end / 1000000000 : 0;
    if (t->start_ns && end > t->start_ns)
        st->unit_hours = (double)(t->units > 0 ? t->units : 1) *
                         ((double)(end - t->start_ns) / 1e9) / t->time_scale / 3600.0;
    st->energy_measured = false;
    cpn_strlcpy(st->message, t->message, sizeof st->message);
}

/* ---- ops ------------------------------------------------------------------------------------- */

static int local_discover(struct cpn_executor *x,
                          struct cpn_agent_pool *out,
                          size_t max,
                          size_t *n,
                          struct cpn_error *err)
{
    struct lexec *L = x->impl;
    double mem_gib = 0;
    size_t k = 0;
    FILE *f;
    if (max < 1)
        return cpn_errorf(err, CPN_ELIMIT, "local executor: no room for a pool");
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    {
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        if (pages > 0 && psize > 0)
            mem_gib = (double)pages * (double)psize / (1024.0 * 1024.0 * 1024.0);
    }
#endif
    memset(&out[k], 0, sizeof out[k]);
    cpn_strlcpy(out[k].id, "cpu", sizeof out[k].id);
    out[k].cls = CPN_CLASS_GENERAL;
    out[k].total = out[k].available = L->cores;
    out[k].mem_gib_per_unit = L->cores > 0 ? mem_gib / (double)L->cores : 0;
    cpn_strlcpy(out[k].device, "cpu", sizeof out[k].device);
    f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            char *colon = strchr(line, ':');
            if (colon && !strncmp(line, "model name", 10)) {
                char *v = colon + 1;
                size_t len;
                while (*v == ' ' || *v == '\t')
                    v++;
                len = strcspn(v, "\n");
                v[len] = '\0';
                if (*v) {
                    if (len >= sizeof out[k].device) /* keep a whole UTF-8 sequence */
                        v[sizeof out[k].device - 1] = '\0';
                    cpn_strlcpy(out[k].device, v, sizeof out[k].device);
                }
                break;
            }
        }
        fclose(f);
    }
    k++;
    if (L->gpu && k < max) {
        memset(&out[k], 0, sizeof out[k]);
        cpn_strlcpy(out[k].id, "gpu", sizeof out[k].id);
        cpn_strlcpy(out[k].device, "gpu", sizeof out[k].device);
        out[k].cls = CPN_CLASS_INTELLIGENT;
        out[k].total = out[k].available = agt_nvml_count(L->gpu);
        agt_nvml_device(L->gpu, out[k].device, sizeof out[k].device, &out[k].mem_gib_per_unit);
        k++;
    }
    *n = k;
    return 0;
}

static int local_usage(struct cpn_executor *x,
                       struct cpn_agent_pool *pools,
                       size_t n,
                       int *running,
                       int *queued,
                       struct cpn_error *err)
{
    struct lexec *L = x->impl;
    int r = 0, q = 0;
    (void)err;
    tick(L, false); /* starts only on status: the agent asks after the platform has answered */
    for (size_t p = 0; p < n; p++)
        pools[p].available = pools[p].total;
    for (size_t i = 0; i < L->n; i++) {
        const struct ltask *t = &L->t[i];
        r += t->state == L_RUNNING;
        q += t->state == L_PENDING;
        if (t->state != L_RUNNING)
            continue;
        for (size_t p = 0; p < n; p++)
            if (!strcmp(pools[p].id, t->pool) || (n == 1 && !t->pool[0]))
                pools[p].available -= t->units > 0 ? t->units : 1;
    }
    for (size_t p = 0; p < n; p++)
        if (pools[p].available < 0)
            pools[p].available = 0;
    *running = r;
    *queued = q;
    return 0;
}

static int local_status(struct cpn_executor *x,
                        const char *job_id,
                        struct cpn_task_status *st,
                        struct cpn_error *err)
{
    struct lexec *L = x->impl;
    struct ltask *t;
    (void)err;
    tick(L, true);
    t = find(L, job_id);
    if (!t) {
        memset(st, 0, sizeof *st);
        st->state = CPN_TASK_LOST;
        snprintf(st->executor_id, sizeof st->executor_id, "local:unknown");
        snprintf(st->message, sizeof st->message, "the local executor has no task for job %.64s",
                 job_id);
        return 0;
    }
    fill_status(L, t, st);
    return 0;
}

static int local_submit(struct cpn_executor *x,
                        const struct cpn_agent_task *task,
                        struct cpn_task_status *st,
                        struct cpn_error *err)
{
    struct lexec *L = x->impl;
    struct ltask t = { 0 };
    int64_t now = wall_ns(L);
    char cmd[128];
    int rc;
    tick(L, false);
    if (!agt_job_id_ok(task->job_id))
        return cpn_errorf(err, CPN_EFIELD,
                          "local executor: job id '%.80s': expected 1..63 characters from "
                          "A-Z a-z 0-9 . _ : - not starting with a dot",
                          task->job_id);
    if (find(L, task->job_id)) /* never twice: the task it already has */
        return local_status(x, task->job_id, st, err);
    cpn_strlcpy(t.job, task->job_id, sizeof t.job);
    cpn_strlcpy(t.pool, task->pool, sizeof t.pool);
    t.units = task->units > 0 ? task->units : 1;
    t.time_scale = task->time_scale > 0 ? task->time_scale : 1;
    if (task->command[0]) {
        t.cmd = cpn_strdup(task->command);
    } else {
        double secs = task->duration_s > 0 ? task->duration_s * t.time_scale : 0;
        snprintf(cmd, sizeof cmd, "sleep %.3f", secs);
        t.cmd = cpn_strdup(cmd);
    }
    if (!t.cmd)
        return cpn_errorf(err, -ENOMEM, "local executor: out of memory");
    t.begin_ns = now;
    if (task->now_s > 0 && task->begin_s > task->now_s)
        t.begin_ns += (int64_t)llround((double)(task->begin_s - task->now_s) * t.time_scale * 1e9);
    t.state = L_PENDING;
    if ((rc = save(L, &t, err)) != 0 || cpn_grow(&L->t, &L->cap, L->n + 1, sizeof *L->t)) {
        cpn_free(t.cmd);
        return rc ? rc : cpn_errorf(err, -ENOMEM, "local executor: out of memory");
    }
    L->t[L->n++] = t;
    return local_status(x, task->job_id, st, err);
}

/* Whether any process of the group is still there (zombies of the leader are reaped here). */
static bool group_alive(struct ltask *t)
{
    int ws;
    waitpid(t->pid, &ws, WNOHANG);
    return kill(-t->pid, 0) == 0 || errno == EPERM;
}

static int local_cancel(struct cpn_executor *x, const char *job_id, struct cpn_error *err)
{
    struct lexec *L = x->impl;
    struct ltask *t;
    tick(L, false);
    t = find(L, job_id);
    if (!t)
        return cpn_errorf(err, CPN_EREF, "local executor: no task for job %.64s", job_id);
    if (t->state == L_PENDING) {
        t->state = L_CANCELLED;
        t->end_ns = wall_ns(L);
        snprintf(t->message, sizeof t->message, "cancelled before it started");
    } else if (t->state == L_RUNNING) {
        int64_t deadline = cpn_monotonic_ns() + (int64_t)L->o.term_grace_ms * 1000000;
        struct timespec pause = { 0, 20 * 1000000 };
        kill(-t->pid, SIGTERM);
        while (group_alive(t) && cpn_monotonic_ns() < deadline)
            nanosleep(&pause, NULL);
        if (group_alive(t)) {
            kill(-t->pid, SIGKILL);
            for (int i = 0; i < 50 && group_alive(t); i++)
                nanosleep(&pause, NULL);
        }
        t->state = L_CANCELLED;
        t->end_ns = wall_ns(L);
        snprintf(t->message, sizeof t->message, "cancelled: process group %d terminated",
                 (int)t->pid);
    } else {
        return 0; /* already over: nothing to stop */
    }
    return save(L, t, err);
}

static int local_list(struct cpn_executor *x,
                      void (*fn)(void *ctx, const char *job_id),
                      void *ctx,
                      struct cpn_error *err)
{
    struct lexec *L = x->impl;
    (void)err;
    tick(L, false);
    for (size_t i = 0; i < L->n; i++)
        fn(ctx, L->t[i].job);
    return 0;
}

static void local_destroy(struct cpn_executor *x)
{
    struct lexec *L;
    if (!x)
        return;
    L = x->impl;
    for (size_t i = 0; i < L->n; i++)
        cpn_free(L->t[i].cmd);
    cpn_free(L->t);
    agt_nvml_close(L->gpu);
    cpn_free(L); /* x is embedded in L */
}

static const struct cpn_executor_ops local_ops = {
    .name = "local",
    .discover = local_discover,
    .usage = local_usage,
    .submit = local_submit,
    .status = local_status,
    .cancel = local_cancel,
    .list = local_list,
    .destroy = local_destroy,
};

int cpn_executor_local_create(const char *state_dir,
                              int64_t cores,
                              struct cpn_executor **out,
                              struct cpn_error *err)
{
    struct lexec *L;
    int rc;
    if (!state_dir || !*state_dir)
        return cpn_errorf(err, CPN_EUSAGE, "local executor: a state directory is required");
    L = cpn_calloc(1, sizeof *L);
    if (!L)
        return cpn_errorf(err, -ENOMEM, "local executor: out of memory");
    if (cpn_strlcpy(L->dir, state_dir, sizeof L->dir)) {
        cpn_free(L);
        return cpn_errorf(err, CPN_ELIMIT, "local executor: state directory path too long");
    }
    if ((rc = agt_mkdirs(L->dir, err)) != 0) {
        cpn_free(L);
        return rc;
    }
    if (cores <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cores = n > 0 ? n : 1;
    }
    L->cores = cores;
    L->o.max_jobs = cores > 100000 ? 100000 : (int)cores;
    L->o.term_grace_ms = 2000;
    L->clk = cpn_clock_real();
    L->x.ops = &local_ops;
    L->x.impl = L;
    if ((rc = load_all(L, err)) != 0) {
        local_destroy(&L->x);
        return rc;
    }
    if (agt_nvml_open(&L->gpu))
        L->gpu = NULL;
    *out = &L->x;
    return 0;
}

int cpn_executor_local_configure(struct cpn_executor *x,
                                 const struct cpn_local_options *o,
                                 struct cpn_error *err)
{
    struct lexec *L;
    if (!x || x->ops != &local_ops)
        return cpn_errorf(err, CPN_EUSAGE, "the %s executor has no local options",
                          x && x->ops ? x->ops->name : "(none)");
    L = x->impl;
    if (o->max_jobs > 0)
        L->o.max_jobs = o->max_jobs;
    if (o->cpu_s_per_unit > 0)
        L->o.cpu_s_per_unit = o->cpu_s_per_unit;
    if (o->as_bytes_per_unit > 0)
        L->o.as_bytes_per_unit = o->as_bytes_per_unit;
    if (o->term_grace_ms > 0)
        L->o.term_grace_ms = o->term_grace_ms;
    return 0;
}
