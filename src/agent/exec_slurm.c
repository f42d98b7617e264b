/* SPDX-License-Identifier: Apache-2.0 */
/* The Slurm executor: runs a cluster's cpnet jobs through Slurm's own commands (sbatch, squeue,
 * scontrol, scancel; no libslurm, so it works with any release that prints the same text). Each
 * job is one batch job named "cpnet-<job id>" with the job id as its comment, so a restarted
 * agent finds its jobs by name. A marker file DIR/slurm/<job>.job, written before and after
 * sbatch, and the name lookup together make sure nothing is submitted twice; the marker also
 * keeps the final state and exit code once Slurm reported them, so they survive Slurm purging
 * the job (MinJobAge). Status comes from one squeue listing of this user's jobs, refreshed at
 * most every 250 ms, so following hundreds of jobs costs one command per agent round; a job
 * missing from a listing is looked up by id (scontrol, then the jobcomp file) before it is
 * called lost. Every command runs with TZ=UTC and SLURM_TIME_FORMAT=standard so that times parse
 * as UTC, and with a reduced environment (no agent token). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/exec_slurm_int.h"

extern char **environ;

#define SX_SNAP_MAX_AGE_NS (250LL * 1000000) /* a listing serves status calls this long */
#define SX_CMD_TIMEOUT_MS  60000             /* a Slurm command that takes longer is killed */
#define SX_OUT_LIMIT       (64u << 20)       /* cap on what one command may print */
#define SX_PARTS_MAX       64
#define SX_ENV_MAX         64

/* What DIR/slurm/<job>.job holds. */
struct marker {
    bool exists;
    char slurm_id[32]; /* "" while sbatch runs */
    int64_t units;
    double scale; /* executor seconds per platform second; 0 = unknown */
    bool gpu;
    bool final; /* the fields below are Slurm's last word */
    char state[32];
    char reason[128];
    int exit_status, exit_sig;
    int64_t start_s, end_s;
};

struct sx_part {
    char name[64];
    struct agt_slurm_use use;
    int64_t max_cpus_per_node;
};

struct sx {
    struct cpn_executor x;
    char dir[PATH_MAX];  /* state directory (absolute) */
    char mdir[PATH_MAX]; /* DIR/slurm: markers */
    char uid[24];
    char *env[SX_ENV_MAX + 1];
    size_t nenv;
    /* the last squeue listing of this user's cpnet jobs */
    struct agt_slurm_job *snap;
    size_t nsnap, capsnap;
    int64_t snap_ns;
    bool snap_ok;
    bool no_squeue_o; /* squeue refused -O exit_code: use -o and scontrol */
    /* partitions as the last discovery saw them */
    struct sx_part parts[SX_PARTS_MAX];
    size_t nparts;
    bool have_parts;
    /* the pools the agent works with (after its config file refined them), from usage() */
    struct cpn_agent_pool pools[SX_PARTS_MAX];
    size_t npools;
    char path[4096];       /* PATH at creation: where the commands are looked up */
    char bin[8][PATH_MAX]; /* commands found there, "name\0" then the full path */
    size_t nbin;
    char jobcomp[PATH_MAX]; /* jobcomp/filetxt location, "" when none */
    bool jobcomp_known;
};

static const struct cpn_executor_ops sx_ops;

/* ---- running commands ---------------------------------------------------------------------- */

static int set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    return fl < 0 ? -errno : (fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0 ? -errno : 0);
}

/* The full path of a command in the executor's PATH (not the process's, which may change after
 * creation), remembered once found. NULL when it is nowhere. */
static const char *resolve(struct sx *s, const char *name)
{
    static const size_t slot = PATH_MAX;
    const char *p = s->path;
    if (strchr(name, '/'))
        return name;
    for (size_t i = 0; i < s->nbin; i++)
        if (!strcmp(s->bin[i], name))
            return s->bin[i] + strlen(name) + 1;
    while (*p) {
        size_t n = strcspn(p, ":");
        char full[PATH_MAX];
        if (n > 0 &&
            (size_t)snprintf(full, sizeof full, "%.*s/%s", (int)n, p, name) < sizeof full &&
            access(full, X_OK) == 0) {
            if (s->nbin < sizeof s->bin / sizeof s->bin[0] &&
                strlen(name) + 1 + strlen(full) + 1 <= slot) {
                char *b = s->bin[s->nbin++];
                memcpy(b, name, strlen(name) + 1);
                memcpy(b + strlen(name) + 1, full, strlen(full) + 1);
                return b + strlen(name) + 1;
            }
            return NULL; /* cache full: cannot happen with the five commands used here */
        }
        p += n;
        if (*p == ':')
            p++;
    }
    return NULL;
}

/* Runs argv (argv[0] looked up in the executor's PATH) with the executor's environment; stdout and
 * stderr into out and errb (which are reset), exit status into *status (128 + signal when killed).
 * 0 when it ran, -errno when it could not be started or timed out (then err says so). */
static int run(struct sx *s,
               const char *const argv[],
               struct cpn_buf *out,
               struct cpn_buf *errb,
               int *status,
               struct cpn_error *err)
{
    char *av[32];
    int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, rc = 0, ws = 0;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int64_t deadline = cpn_monotonic_ns() + (int64_t)SX_CMD_TIMEOUT_MS * 1000000;
    bool timed_out = false;
    {
        /* posix_spawnp takes char *const[]; it does not write to the strings */
        size_t i = 0;
        for (; argv[i] && i + 1 < sizeof av / sizeof av[0]; i++) {
            union {
                const char *c;
                char *m;
            } u = { .c = argv[i] };
            av[i] = u.m;
        }
        av[i] = NULL;
    }
    cpn_buf_reset(out);
    cpn_buf_reset(errb);
    out->limit = errb->limit = SX_OUT_LIMIT;
    if (pipe(po) || pipe(pe)) {
        rc = -errno;
        goto fail_pipes;
    }
    if ((rc = set_cloexec(po[0])) || (rc = set_cloexec(po[1])) || (rc = set_cloexec(pe[0])) ||
        (rc = set_cloexec(pe[1])))
        goto fail_pipes;
    if ((rc = -posix_spawn_file_actions_init(&fa)))
        goto fail_pipes;
    if ((rc = -posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) ||
        (rc = -posix_spawn_file_actions_adddup2(&fa, po[1], 1)) ||
        (rc = -posix_spawn_file_actions_adddup2(&fa, pe[1], 2))) {
        posix_spawn_file_actions_destroy(&fa);
        goto fail_pipes;
    }
    {
        const char *exe = resolve(s, argv[0]);
        rc = exe ? -posix_spawn(&pid, exe, &fa, NULL, av, s->env) : -ENOENT;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;
    if (rc) {
        close(po[0]);
        close(pe[0]);
        return cpn_errorf(err, rc,
                          "%s: cannot run it: %s (is Slurm's client installed, in PATH %.200s?)",
                          argv[0], cpn_strerror(rc), s->path);
    }
    {
        struct pollfd fds[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
        int open_fds = 2;
        while (open_fds > 0) {
            int64_t left = (deadline - cpn_monotonic_ns()) / 1000000;
            int n;
            if (left <= 0) {
                timed_out = true;
                break;
            }
            n = poll(fds, 2, left > 1000 ? 1000 : (int)left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                break;
            for (int i = 0; i < 2; i++) {
                char buf[8192];
                ssize_t r;
                if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                r = read(fds[i].fd, buf, sizeof buf);
                if (r > 0) {
                    /* past the cap the rest is read and dropped, so the child never blocks */
                    cpn_buf_append(i == 0 ? out : errb, buf, (size_t)r);
                } else if (r == 0 || errno != EINTR) {
                    close(fds[i].fd);
                    fds[i].fd = -1;
                    open_fds--;
                }
            }
        }
        if (fds[0].fd >= 0)
            close(fds[0].fd);
        if (fds[1].fd >= 0)
            close(fds[1].fd);
    }
    if (timed_out)
        kill(pid, SIGKILL);
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (!out->data)
        cpn_buf_append(out, "", 0);
    if (!errb->data)
        cpn_buf_append(errb, "", 0);
    if (timed_out)
        return cpn_errorf(err, -ETIMEDOUT, "%s did not finish within %d s", argv[0],
                          SX_CMD_TIMEOUT_MS / 1000);
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    return 0;
fail_pipes:
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0)
            close(po[i]);
        if (pe[i] >= 0)
            close(pe[i]);
    }
    return cpn_errorf(err, rc, "%s: cannot start it: %s", argv[0], cpn_strerror(rc));
}

/* The first line of a command's stderr, for messages. */
static const char *first_line(const struct cpn_buf *b, char *out, size_t size)
{
    const char *p = b->data ? b->data : "";
    size_t n = strcspn(p, "\n");
    if (n >= size)
        n = size - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* Runs argv and requires exit status 0; out holds stdout. */
static int
run_ok(struct sx *s, const char *const argv[], struct cpn_buf *out, struct cpn_error *err)
{
    struct cpn_buf eb = { 0 };
    int st = 0, rc = run(s, argv, out, &eb, &st, err);
    if (!rc && st != 0) {
        char l[300];
        rc = cpn_errorf(err, CPN_EUNSUPPORTED, "%s %s: exit %d: %s", argv[0],
                        argv[1] ? argv[1] : "", st, first_line(&eb, l, sizeof l));
    }
    cpn_buf_free(&eb);
    return rc;
}

/* ---- markers ----------------------------------------------------------------------------------
 */

static bool job_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= CPN_AGENT_JOB_ID_MAX || id[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

static void marker_path(const struct sx *s, const char *job, char *out, size_t size)
{
    snprintf(out, size, "%s/%s.job", s->mdir, job);
}

static void marker_read(const struct sx *s, const char *job, struct marker *m)
{
    char path[PATH_MAX + 80];
    struct cpn_buf b = { 0 };
    memset(m, 0, sizeof *m);
    marker_path(s, job, path, sizeof path);
    b.limit = 1 << 16;
    if (cpn_buf_read_file(&b, path, NULL)) {
        cpn_buf_free(&b);
        return;
    }
    m->exists = true;
    for (char *line = b.data; line && *line;) {
        char *nl = strchr(line, '\n'), *eq;
        if (nl)
            *nl = '\0';
        eq = strchr(line, '=');
        if (eq) {
            const char *k = line, *v = eq + 1;
            int64_t x;
            double d;
            *eq = '\0';
            if (!strcmp(k, "slurm_id"))
                cpn_strlcpy(m->slurm_id, v, sizeof m->slurm_id);
            else if (!strcmp(k, "units") && !cpn_parse_int64(v, &x))
                m->units = x;
            else if (!strcmp(k, "scale") && !cpn_parse_double(v, &d) && d > 0)
                m->scale = d;
            else if (!strcmp(k, "gpu"))
                m->gpu = !strcmp(v, "1");
            else if (!strcmp(k, "final"))
                m->final = !strcmp(v, "1");
            else if (!strcmp(k, "state"))
                cpn_strlcpy(m->state, v, sizeof m->state);
            else if (!strcmp(k, "reason"))
                cpn_strlcpy(m->reason, v, sizeof m->reason);
            else if (!strcmp(k, "exit_status") && !cpn_parse_int64(v, &x))
                m->exit_status = (int)x;
            else if (!strcmp(k, "exit_sig") && !cpn_parse_int64(v, &x))
                m->exit_sig = (int)x;
            else if (!strcmp(k, "start") && !cpn_parse_int64(v, &x))
                m->start_s = x;
            else if (!strcmp(k, "end") && !cpn_parse_int64(v, &x))
                m->end_s = x;
        }
        line = nl ? nl + 1 : NULL;
    }
    m->final = m->final && m->state[0];
    cpn_buf_free(&b);
}

/* Writes the marker through a temporary file and rename: a marker is whole or absent. No fsync:
 * after a crash of the machine a lost marker is made good by the name lookup (Slurm keeps the
 * job for MinJobAge), and an fsync per write would cost more than the sbatch itself. */
static int
marker_write(const struct sx *s, const char *job, const struct marker *m, struct cpn_error *err)
{
    char path[PATH_MAX + 80], tmp[PATH_MAX + 90];
    struct cpn_buf b = { 0 };
    int fd, rc = 0;
    marker_path(s, job, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    rc = cpn_buf_printf(&b, "slurm_id=%s\nunits=%" PRId64 "\nscale=%.17g\ngpu=%d\n", m->slurm_id,
                        m->units, m->scale, m->gpu ? 1 : 0);
    if (!rc && m->final)
        rc = cpn_buf_printf(&b,
                            "final=1\nstate=%s\nreason=%s\nexit_status=%d\nexit_sig=%d\n"
                            "start=%" PRId64 "\nend=%" PRId64 "\n",
                            m->state, m->reason, m->exit_status, m->exit_sig, m->start_s, m->end_s);
    if (rc) {
        cpn_buf_free(&b);
        return cpn_errorf(err, rc, "%s: out of memory", path);
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        rc = -errno;
        cpn_buf_free(&b);
        return cpn_errorf(err, rc, "%s: cannot write: %s", tmp, cpn_strerror(rc));
    }
    if (write(fd, b.data, b.len) != (ssize_t)b.len)
        rc = -(errno ? errno : EIO);
    if (close(fd) != 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path) != 0)
        rc = -errno;
    cpn_buf_free(&b);
    if (rc) {
        unlink(tmp);
        return cpn_errorf(err, rc, "%s: cannot write: %s", path, cpn_strerror(rc));
    }
    return 0;
}

/* ---- the squeue listing ---------------------------------------------------------------------- */

static int snap_add(struct sx *s, const struct agt_slurm_job *j)
{
    if (cpn_grow(&s->snap, &s->capsnap, s->nsnap + 1, sizeof *s->snap))
        return -ENOMEM;
    s->snap[s->nsnap++] = *j;
    return 0;
}

/* Lists this user's cpnet jobs (all states Slurm still keeps) into the snapshot: with the exit
 * status (squeue -O) unless this squeue refused that format once. */
static int snap_refresh(struct sx *s, struct cpn_error *err)
{
    const char *with_o[] = { "squeue",           "-h", "-t", "all", "-u", s->uid, "-O",
                             AGT_SLURM_SQUEUE_O, NULL };
    const char *with_fmt[] = { "squeue", "-h",   "-t", "all",
                               "-u",     s->uid, "-o", AGT_SLURM_SQUEUE_FMT,
                               NULL };
    struct cpn_buf out = { 0 }, eb = { 0 };
    int rc, status = 0;
    s->snap_ok = false;
    s->nsnap = 0;
    rc = run(s, s->no_squeue_o ? with_fmt : with_o, &out, &eb, &status, err);
    if (!rc && status != 0 && !s->no_squeue_o &&
        (strstr(eb.data, "nvalid") || strstr(eb.data, "format") || strstr(eb.data, "Format"))) {
        s->no_squeue_o = true; /* an older squeue: the exit code will come from scontrol */
        rc = run(s, with_fmt, &out, &eb, &status, err);
    }
    if (!rc && status != 0) {
        char l[300];
        rc = cpn_errorf(err, CPN_EUNSUPPORTED, "squeue: exit %d: %s", status,
                        first_line(&eb, l, sizeof l));
    }
    for (char *line = rc ? NULL : out.data; line && *line;) {
        char *nl = strchr(line, '\n');
        struct agt_slurm_job j;
        if (nl)
            *nl = '\0';
        if (*line) {
            if ((rc = agt_slurm_parse_squeue(line, !s->no_squeue_o, &j, err)))
                break;
            if (!strncmp(j.name, AGT_SLURM_NAME_PREFIX, strlen(AGT_SLURM_NAME_PREFIX)) &&
                (rc = snap_add(s, &j))) {
                cpn_errorf(err, rc, "squeue listing: out of memory");
                break;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    cpn_buf_free(&out);
    cpn_buf_free(&eb);
    if (rc)
        return rc;
    s->snap_ok = true;
    s->snap_ns = cpn_monotonic_ns();
    return 0;
}

static int snap_fresh(struct sx *s, struct cpn_error *err)
{
    if (s->snap_ok && cpn_monotonic_ns() - s->snap_ns < SX_SNAP_MAX_AGE_NS)
        return 0;
    return snap_refresh(s, err);
}

/* The listed Slurm job of a cpnet job: the marker's id when listed, else the unfinished one of
 * that name, else the newest of that name. */
static struct agt_slurm_job *snap_find(struct sx *s, const char *job, const char *slurm_id)
{
    char name[96];
    struct agt_slurm_job *best = NULL;
    snprintf(name, sizeof name, AGT_SLURM_NAME_PREFIX "%s", job);
    for (size_t i = 0; i < s->nsnap; i++) {
        struct agt_slurm_job *j = &s->snap[i];
        bool fin;
        if (strcmp(j->name, name) != 0)
            continue;
        if (slurm_id && slurm_id[0] && !strcmp(j->id, slurm_id))
            return j;
        agt_slurm_state(j->state, &fin);
        if (!best || !fin)
            best = j;
    }
    return best;
}

/* ---- looking one job up by id ---------------------------------------------------------------- */

static void jobcomp_locate(struct sx *s)
{
    const char *argv[] = { "scontrol", "show", "config", NULL };
    struct cpn_buf out = { 0 };
    char type[64] = "", loc[PATH_MAX] = "";
    if (s->jobcomp_known)
        return;
    if (run_ok(s, argv, &out, NULL) == 0) {
        for (char *line = out.data; line && *line;) {
            char *nl = strchr(line, '\n'), *eq;
            if (nl)
                *nl = '\0';
            eq = strchr(line, '=');
            if (eq && (!strncmp(line, "JobCompType ", 12) || !strncmp(line, "JobCompLoc ", 11))) {
                const char *v = eq + 1;
                while (*v == ' ')
                    v++;
                cpn_strlcpy(line[7] == 'T' ? type : loc, v,
                            line[7] == 'T' ? sizeof type : sizeof loc);
            }
            line = nl ? nl + 1 : NULL;
        }
        s->jobcomp_known = true;
    }
    cpn_buf_free(&out);
    if (!strcmp(type, "jobcomp/filetxt") && loc[0] == '/')
        cpn_strlcpy(s->jobcomp, loc, sizeof s->jobcomp);
}

/* The last jobcomp line of Slurm job id named name. 1 found, 0 not. */
static int jobcomp_find(struct sx *s, const char *id, const char *name, struct agt_slurm_job *j)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    int found = 0;
    jobcomp_locate(s);
    if (!s->jobcomp[0] || !(f = fopen(s->jobcomp, "r")))
        return 0;
    while (getline(&line, &cap, f) > 0) {
        struct agt_slurm_job t;
        char key[48];
        snprintf(key, sizeof key, "JobId=%s ", id);
        if (strncmp(line, key, strlen(key)) != 0)
            continue;
        if (agt_slurm_parse_job(line, &t, NULL) == 0 && !strcmp(t.name, name)) {
            *j = t;
            found = 1;
        }
    }
    free(line);
    fclose(f);
    return found;
}

/* scontrol show job -o ID, then the jobcomp file. 1 found (with the expected name), 0 Slurm does
 * not know it, negative when scontrol could not be asked. */
static int lookup_id(
    struct sx *s, const char *id, const char *job, struct agt_slurm_job *j, struct cpn_error *err)
{
    char idb[32], name[96];
    const char *argv[] = { "scontrol", "show", "job", "-o", idb, NULL };
    struct cpn_buf out = { 0 }, eb = { 0 };
    int st = 0, rc, found = 0;
    cpn_strlcpy(idb, id, sizeof idb);
    snprintf(name, sizeof name, AGT_SLURM_NAME_PREFIX "%s", job);
    rc = run(s, argv, &out, &eb, &st, err);
    if (!rc && st == 0) {
        struct agt_slurm_job t;
        if (agt_slurm_parse_job(out.data, &t, NULL) == 0 && !strcmp(t.name, name)) {
            *j = t;
            found = 1;
        }
    } else if (!rc && !strstr(eb.data, "Invalid job id")) {
        char l[300];
        rc = cpn_errorf(err, CPN_EUNSUPPORTED, "scontrol show job %s: exit %d: %s", id, st,
                        first_line(&eb, l, sizeof l));
    }
    cpn_buf_free(&out);
    cpn_buf_free(&eb);
    if (rc)
        return rc;
    if (!found)
        found = jobcomp_find(s, id, name, j);
    return found;
}

/* ---- status -----------------------------------------------------------------------------------
 */

static void fill_status(const struct marker *m,
                        const char *slurm_id,
                        const char *state,
                        const char *reason,
                        bool has_exit,
                        int exit_status,
                        int exit_sig,
                        int64_t start_s,
                        int64_t end_s,
                        int64_t cpus,
                        struct cpn_task_status *st)
{
    bool fin;
    int64_t units = m->units > 0 ? m->units : (cpus > 0 ? cpus : 1);
    memset(st, 0, sizeof *st);
    st->state = agt_slurm_state(state, &fin);
    snprintf(st->executor_id, sizeof st->executor_id, "slurm:%s", slurm_id);
    if (fin && has_exit)
        st->exit_code = exit_sig ? 128 + exit_sig : exit_status;
    else if (fin && st->state != CPN_TASK_COMPLETED)
        st->exit_code = -1;
    /* a pending job's StartTime is Slurm's forecast, not a start */
    if (st->state != CPN_TASK_PENDING)
        st->started_s = start_s;
    if (fin) {
        st->ended_s = end_s;
        /* scale 0: a job found by name only; the agent meters it with its own time scale */
        if (end_s > start_s && start_s > 0 && m->scale > 0)
            st->unit_hours = (double)units * (double)(end_s - start_s) / m->scale / 3600.0;
    }
    if (reason && reason[0] && strcmp(reason, "None") != 0)
        snprintf(st->message, sizeof st->message, "Slurm %s (%s)", state, reason);
    else
        snprintf(st->message, sizeof st->message, "Slurm %s", state);
}

static void
status_from_job(const struct marker *m, const struct agt_slurm_job *j, struct cpn_task_status *st)
{
    fill_status(m, j->id, j->state, j->reason, j->has_exit, j->exit_status, j->exit_sig, j->start_s,
                j->end_s, j->cpus, st);
}

/* A job Slurm has finished: its exit code comes from the listing (squeue -O), else from
 * scontrol or the jobcomp file, and the marker keeps all of it from now on. */
static int finalize(struct sx *s,
                    const char *job,
                    struct marker *m,
                    const struct agt_slurm_job *j,
                    struct cpn_task_status *st,
                    struct cpn_error *err)
{
    struct agt_slurm_job full = *j;
    int rc;
    if (!full.has_exit) {
        rc = lookup_id(s, j->id, job, &full, err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            full = *j;
        if (full.start_s == 0)
            full.start_s = j->start_s;
        if (full.end_s == 0)
            full.end_s = j->end_s;
    }
    {
        bool fin;
        agt_slurm_state(full.state, &fin);
        if (!fin) /* scontrol already sees a requeued job pending again: report what it says */
            full = *j;
    }
    cpn_strlcpy(m->slurm_id, j->id, sizeof m->slurm_id);
    m->final = true;
    cpn_strlcpy(m->state, full.state, sizeof m->state);
    cpn_strlcpy(m->reason, full.reason, sizeof m->reason);
    m->exit_status = full.has_exit ? full.exit_status : (strcmp(full.state, "COMPLETED") ? -1 : 0);
    m->exit_sig = full.has_exit ? full.exit_sig : 0;
    m->start_s = full.start_s;
    m->end_s = full.end_s;
    if (m->units <= 0)
        m->units = full.cpus > 0 ? full.cpus : 1;
    rc = marker_write(s, job, m, err);
    fill_status(m, m->slurm_id, m->state, m->reason, true, m->exit_status, m->exit_sig, m->start_s,
                m->end_s, full.cpus, st);
    return rc;
}

static int status_of(struct sx *s,
                     const char *job,
                     struct marker *m,
                     struct cpn_task_status *st,
                     struct cpn_error *err)
{
    struct agt_slurm_job *j, found;
    bool fin;
    int rc;
    if (m->final) {
        fill_status(m, m->slurm_id, m->state, m->reason, true, m->exit_status, m->exit_sig,
                    m->start_s, m->end_s, 0, st);
        return 0;
    }
    if ((rc = snap_fresh(s, err)))
        return rc;
    j = snap_find(s, job, m->slurm_id);
    if (!j && m->slurm_id[0]) {
        /* never trust one listing's silence: ask for the job by id */
        rc = lookup_id(s, m->slurm_id, job, &found, err);
        if (rc < 0)
            return rc;
        if (rc == 1)
            j = &found;
    }
    if (!j) {
        memset(st, 0, sizeof *st);
        st->state = CPN_TASK_LOST;
        if (m->slurm_id[0])
            snprintf(st->executor_id, sizeof st->executor_id, "slurm:%s", m->slurm_id);
        snprintf(st->message, sizeof st->message,
                 m->slurm_id[0] ? "Slurm no longer knows job %s (" AGT_SLURM_NAME_PREFIX "%s)"
                                : "%sno Slurm job is named " AGT_SLURM_NAME_PREFIX "%s",
                 m->slurm_id, job);
        return 0;
    }
    if (!m->slurm_id[0] || strcmp(m->slurm_id, j->id) != 0) {
        cpn_strlcpy(m->slurm_id, j->id, sizeof m->slurm_id);
        if (!m->exists)
            m->units = j->cpus;
        if ((rc = marker_write(s, job, m, err)))
            return rc;
        m->exists = true;
    }
    agt_slurm_state(j->state, &fin);
    if (fin)
        return finalize(s, job, m, j, st, err);
    status_from_job(m, j, st);
    return 0;
}

static int sx_status(struct cpn_executor *x,
                     const char *job,
                     struct cpn_task_status *st,
                     struct cpn_error *err)
{
    struct sx *s = x->impl;
    struct marker m;
    if (!job_id_ok(job))
        return cpn_errorf(err, CPN_EFIELD, "job id '%.80s': expected 1..63 of [A-Za-z0-9._:-]",
                          job);
    marker_read(s, job, &m);
    return status_of(s, job, &m, st, err);
}

/* ---- discovery --------------------------------------------------------------------------------
 */

static int load_cluster(struct sx *s,
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
    if ((rc = run_ok(s, anode, &out, err)))
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
    if ((rc = run_ok(s, apart, &out, err)))
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
    struct sx *s = x->impl;
    struct agt_slurm_node *nodes;
    struct agt_slurm_part parts[SX_PARTS_MAX];
    size_t nn, np;
    int rc = load_cluster(s, &nodes, &nn, parts, &np, err);
    if (rc)
        return rc;
    rc = agt_slurm_pools(nodes, nn, parts, np, out, max, n, err);
    cpn_free(nodes);
    return rc;
}

static const struct sx_part *part_find(const struct sx *s, const char *name)
{
    for (size_t i = 0; i < s->nparts; i++)
        if (!strcmp(s->parts[i].name, name))
            return &s->parts[i];
    return NULL;
}

/* Whether a pool's units are GPUs: the agent's pool class when it named the pool, else what
 * discovery made of the partition. */
static bool pool_is_gpu(const struct sx *s, const char *pool, const struct sx_part *pt)
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
    struct sx *s = x->impl;
    struct agt_slurm_node *nodes;
    struct agt_slurm_part parts[SX_PARTS_MAX];
    size_t nn, np;
    const char *aq[] = { "squeue", "-h", "-o", "%T", NULL };
    struct cpn_buf out = { 0 };
    int rc = load_cluster(s, &nodes, &nn, parts, &np, err);
    if (rc)
        return rc;
    cpn_free(nodes);
    s->npools = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sx_part *pt =
            part_find(s, pools[i].partition[0] ? pools[i].partition : pools[i].id);
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
    if ((rc = run_ok(s, aq, &out, err)) == 0) {
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

/* ---- submit -----------------------------------------------------------------------------------
 */

static int sx_submit(struct cpn_executor *x,
                     const struct cpn_agent_task *t,
                     struct cpn_task_status *st,
                     struct cpn_error *err)
{
    struct sx *s = x->impl;
    struct marker m;
    struct agt_slurm_job *j;
    const struct sx_part *pt;
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

    if (!job_id_ok(t->job_id))
        return cpn_errorf(err, CPN_EFIELD, "job id '%.80s': expected 1..63 of [A-Za-z0-9._:-]",
                          t->job_id);
    if (t->units < 1)
        return cpn_errorf(err, CPN_EFIELD, "job %s: units = %" PRId64 ": expected >= 1", t->job_id,
                          t->units);
    marker_read(s, t->job_id, &m);
    if (m.exists && m.slurm_id[0])
        return status_of(s, t->job_id, &m, st, err); /* submitted before: never twice */
    /* no marker with an id: any listing this executor took finds the sbatch of an earlier agent
     * that died before it could write the marker (such a job is older than the listing); an
     * intent of our own without an id (sbatch timed out) needs a listing taken now */
    if ((rc = m.exists ? snap_refresh(s, err) : snap_fresh(s, err)))
        return rc;
    if ((j = snap_find(s, t->job_id, NULL)) != NULL) {
        if (!m.exists) {
            m.units = t->units;
            m.scale = scale;
        }
        return status_of(s, t->job_id, &m, st, err);
    }
    if (!s->have_parts) {
        struct agt_slurm_node *nodes;
        struct agt_slurm_part parts[SX_PARTS_MAX];
        size_t nn, np;
        if ((rc = load_cluster(s, &nodes, &nn, parts, &np, err)))
            return rc;
        cpn_free(nodes);
    }
    pt = part_find(s, t->partition[0] ? t->partition : t->pool);
    gpu = pool_is_gpu(s, t->pool, pt);

    /* the intent first: a crash between sbatch and the next write leaves a marker without an
     * id, and the listing above finds the job by name */
    memset(&m, 0, sizeof m);
    m.units = t->units;
    m.scale = scale;
    m.gpu = gpu;
    if ((rc = marker_write(s, t->job_id, &m, err)))
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

    rc = run(s, argv, &ob, &eb, &status, err);
    if (!rc && status != 0) {
        char l[300];
        char path[PATH_MAX + 80];
        /* sbatch refused it: no Slurm job exists, so the intent goes too */
        marker_path(s, t->job_id, path, sizeof path);
        unlink(path);
        rc = cpn_errorf(err, CPN_EFIELD, "sbatch for job %s: exit %d: %s", t->job_id, status,
                        first_line(&eb, l, sizeof l));
    }
    if (!rc)
        rc = agt_slurm_parse_sbatch(ob.data, id, sizeof id, err);
    cpn_buf_free(&ob);
    cpn_buf_free(&eb);
    if (rc)
        return rc;
    cpn_strlcpy(m.slurm_id, id, sizeof m.slurm_id);
    if ((rc = marker_write(s, t->job_id, &m, err)))
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
        if (snap_add(s, &nj))
            s->snap_ok = false;
    }
    fill_status(&m, id, "PENDING", "Submitted", false, 0, 0, 0, 0, t->units, st);
    return 0;
}

/* ---- cancel, list ------------------------------------------------------------------------------
 */

/* The Slurm id of a cpnet job (marker, else listing); CPN_EREF when there is none. */
static int slurm_id_of(
    struct sx *s, const char *job, struct marker *m, char *id, size_t size, struct cpn_error *err)
{
    struct agt_slurm_job *j;
    int rc;
    if (!job_id_ok(job))
        return cpn_errorf(err, CPN_EFIELD, "job id '%.80s': expected 1..63 of [A-Za-z0-9._:-]",
                          job);
    marker_read(s, job, m);
    if ((rc = snap_fresh(s, err)))
        return rc;
    j = snap_find(s, job, m->slurm_id);
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

static int sx_cancel(struct cpn_executor *x, const char *job, struct cpn_error *err)
{
    struct sx *s = x->impl;
    struct marker m;
    char id[32];
    const char *argv[] = { "scancel", id, NULL };
    struct cpn_buf ob = { 0 }, eb = { 0 };
    int rc, status = 0;
    if ((rc = slurm_id_of(s, job, &m, id, sizeof id, err)))
        return rc;
    if (m.final)
        return 0; /* Slurm is done with it already */
    rc = run(s, argv, &ob, &eb, &status, err);
    /* "already completing or completed" and "Invalid job id" mean there is nothing to stop */
    if (!rc && status != 0 && !strstr(eb.data, "already complet") &&
        !strstr(eb.data, "Invalid job id")) {
        char l[300];
        rc = cpn_errorf(err, CPN_EUNSUPPORTED, "scancel %s (job %s): exit %d: %s", id, job, status,
                        first_line(&eb, l, sizeof l));
    }
    cpn_buf_free(&ob);
    cpn_buf_free(&eb);
    s->snap_ok = false;
    return rc;
}

static int sx_list(struct cpn_executor *x,
                   void (*fn)(void *ctx, const char *job_id),
                   void *ctx,
                   struct cpn_error *err)
{
    struct sx *s = x->impl;
    struct cpn_strmap seen = { 0 };
    size_t plen = strlen(AGT_SLURM_NAME_PREFIX);
    int rc = snap_refresh(s, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < s->nsnap; i++) {
        const char *job = s->snap[i].name + plen;
        if (!job_id_ok(job) || cpn_strmap_get(&seen, job) >= 0)
            continue;
        if (cpn_strmap_put(&seen, job, 1)) {
            cpn_strmap_free(&seen);
            return cpn_errorf(err, -ENOMEM, "listing Slurm jobs: out of memory");
        }
        fn(ctx, job);
    }
    cpn_strmap_free(&seen);
    return 0;
}

/* ---- slot boundaries of interruptible jobs --------------------------------------------------- */

int cpn_executor_slurm_interrupt(struct cpn_executor *x, const char *job, struct cpn_error *err)
{
    struct sx *s;
    struct marker m;
    char id[32];
    const char *rq[] = { "scontrol", "requeuehold", id, NULL };
    const char *hold[] = { "scontrol", "hold", id, NULL };
    struct cpn_buf ob = { 0 };
    struct agt_slurm_job j;
    int rc;
    if (!x || x->ops != &sx_ops)
        return cpn_errorf(err, CPN_EUSAGE, "interrupt: not the Slurm executor");
    s = x->impl;
    if ((rc = slurm_id_of(s, job, &m, id, sizeof id, err)))
        return rc;
    if ((rc = lookup_id(s, id, job, &j, err)) < 0)
        return rc;
    if (rc == 0)
        return cpn_errorf(err, CPN_EREF, "job %s: Slurm no longer knows job %s", job, id);
    switch (agt_slurm_state(j.state, NULL)) {
    case CPN_TASK_RUNNING:
        rc = run_ok(s, rq, &ob, err); /* back to pending, held, resources freed */
        break;
    case CPN_TASK_PENDING:
        rc = run_ok(s, hold, &ob, err);
        break;
    default:
        rc = cpn_errorf(err, CPN_EFIELD, "job %s: Slurm job %s is %s: nothing to interrupt", job,
                        id, j.state);
    }
    cpn_buf_free(&ob);
    s->snap_ok = false;
    return rc;
}

int cpn_executor_slurm_resume(struct cpn_executor *x, const char *job, struct cpn_error *err)
{
    struct sx *s;
    struct marker m;
    char id[32], idarg[48];
    const char *rel[] = { "scontrol", "release", id, NULL };
    const char *now[] = { "scontrol", "update", idarg, "StartTime=now", NULL };
    struct cpn_buf ob = { 0 };
    int rc;
    if (!x || x->ops != &sx_ops)
        return cpn_errorf(err, CPN_EUSAGE, "resume: not the Slurm executor");
    s = x->impl;
    if ((rc = slurm_id_of(s, job, &m, id, sizeof id, err)))
        return rc;
    snprintf(idarg, sizeof idarg, "JobId=%s", id);
    /* release lifts the hold; StartTime=now clears the begin time a requeue sets (about two
     * minutes ahead), so the job is eligible at the scheduler's next pass */
    if (!(rc = run_ok(s, rel, &ob, err)))
        rc = run_ok(s, now, &ob, err);
    cpn_buf_free(&ob);
    s->snap_ok = false;
    return rc;
}

/* ---- create, destroy --------------------------------------------------------------------------
 */

static void sx_destroy(struct cpn_executor *x)
{
    struct sx *s;
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
    .submit = sx_submit,
    .status = sx_status,
    .cancel = sx_cancel,
    .list = sx_list,
    .destroy = sx_destroy,
};

static int env_add(struct sx *s, const char *k, const char *v)
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
static int env_build(struct sx *s)
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
    struct sx *s;
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
        rc = run_ok(s, argv, &ob, err);
        cpn_buf_free(&ob);
        if (rc) {
            sx_destroy(&s->x);
            return cpn_error_prefix(err, rc, "slurm executor: ");
        }
    }
    *out = &s->x;
    return 0;
}
