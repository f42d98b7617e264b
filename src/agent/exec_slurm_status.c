/* SPDX-License-Identifier: Apache-2.0 */
/* What the Slurm executor knows of its jobs and how it maps them to task states. A marker file
 * DIR/slurm/<job>.job names each job's Slurm id and, once Slurm reported it, keeps the final
 * state and exit code, so they survive Slurm purging the job (MinJobAge). Status comes from one
 * squeue listing of this user's jobs, refreshed at most every 250 ms, so following hundreds of
 * jobs costs one command per agent round; a job missing from a listing is looked up by id
 * (scontrol, then the jobcomp file) before it is called lost. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/exec_slurm_sx_int.h"

/* ---- markers ----------------------------------------------------------------------------------
 */

bool agt_sx_job_id_ok(const char *id)
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

void agt_sx_marker_path(const struct agt_sx *s, const char *job, char *out, size_t size)
{
    snprintf(out, size, "%s/%s.job", s->mdir, job);
}

void agt_sx_marker_read(const struct agt_sx *s, const char *job, struct agt_sx_marker *m)
{
    char path[PATH_MAX + 80];
    struct cpn_buf b = { 0 };
    memset(m, 0, sizeof *m);
    agt_sx_marker_path(s, job, path, sizeof path);
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
int agt_sx_marker_write(const struct agt_sx *s,
                        const char *job,
                        const struct agt_sx_marker *m,
                        struct cpn_error *err)
{
    char path[PATH_MAX + 80], tmp[PATH_MAX + 90];
    struct cpn_buf b = { 0 };
    int fd, rc = 0;
    agt_sx_marker_path(s, job, path, sizeof path);
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

int agt_sx_snap_add(struct agt_sx *s, const struct agt_slurm_job *j)
{
    if (cpn_grow(&s->snap, &s->capsnap, s->nsnap + 1, sizeof *s->snap))
        return -ENOMEM;
    s->snap[s->nsnap++] = *j;
    return 0;
}

/* Lists this user's cpnet jobs (all states Slurm still keeps) into the snapshot: with the exit
 * status (squeue -O) unless this squeue refused that format once. */
int agt_sx_snap_refresh(struct agt_sx *s, struct cpn_error *err)
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
    rc = agt_sx_run(s, s->no_squeue_o ? with_fmt : with_o, &out, &eb, &status, err);
    if (!rc && status != 0 && !s->no_squeue_o &&
        (strstr(eb.data, "nvalid") || strstr(eb.data, "format") || strstr(eb.data, "Format"))) {
        s->no_squeue_o = true; /* an older squeue: the exit code will come from scontrol */
        rc = agt_sx_run(s, with_fmt, &out, &eb, &status, err);
    }
    if (!rc && status != 0) {
        char l[300];
        rc = cpn_errorf(err, CPN_EUNSUPPORTED, "squeue: exit %d: %s", status,
                        agt_sx_first_line(&eb, l, sizeof l));
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
                (rc = agt_sx_snap_add(s, &j))) {
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

int agt_sx_snap_fresh(struct agt_sx *s, struct cpn_error *err)
{
    if (s->snap_ok && cpn_monotonic_ns() - s->snap_ns < SX_SNAP_MAX_AGE_NS)
        return 0;
    return agt_sx_snap_refresh(s, err);
}

/* The listed Slurm job of a cpnet job: the marker's id when listed, else the unfinished one of
 * that name, else the newest of that name. */
struct agt_slurm_job *agt_sx_snap_find(struct agt_sx *s, const char *job, const char *slurm_id)
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

static void jobcomp_locate(struct agt_sx *s)
{
    const char *argv[] = { "scontrol", "show", "config", NULL };
    struct cpn_buf out = { 0 };
    char type[64] = "", loc[PATH_MAX] = "";
    if (s->jobcomp_known)
        return;
    if (agt_sx_run_ok(s, argv, &out, NULL) == 0) {
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
static int jobcomp_find(struct agt_sx *s, const char *id, const char *name, struct agt_slurm_job *j)
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
int agt_sx_lookup_id(struct agt_sx *s,
                     const char *id,
                     const char *job,
                     struct agt_slurm_job *j,
                     struct cpn_error *err)
{
    char idb[32], name[96];
    const char *argv[] = { "scontrol", "show", "job", "-o", idb, NULL };
    struct cpn_buf out = { 0 }, eb = { 0 };
    int st = 0, rc, found = 0;
    cpn_strlcpy(idb, id, sizeof idb);
    snprintf(name, sizeof name, AGT_SLURM_NAME_PREFIX "%s", job);
    rc = agt_sx_run(s, argv, &out, &eb, &st, err);
    if (!rc && st == 0) {
        struct agt_slurm_job t;
        if (agt_slurm_parse_job(out.data, &t, NULL) == 0 && !strcmp(t.name, name)) {
            *j = t;
            found = 1;
        }
    } else if (!rc && !strstr(eb.data, "Invalid job id")) {
        char l[300];
        rc = cpn_errorf(err, CPN_EUNSUPPORTED, "scontrol show job %s: exit %d: %s", id, st,
                        agt_sx_first_line(&eb, l, sizeof l));
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

void agt_sx_fill_status(const struct agt_sx_marker *m,
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

static void status_from_job(const struct agt_sx_marker *m,
                            const struct agt_slurm_job *j,
                            struct cpn_task_status *st)
{
    agt_sx_fill_status(m, j->id, j->state, j->reason, j->has_exit, j->exit_status, j->exit_sig,
                       j->start_s, j->end_s, j->cpus, st);
}

/* A job Slurm has finished: its exit code comes from the listing (squeue -O), else from
 * scontrol or the jobcomp file, and the marker keeps all of it from now on. */
static int finalize(struct agt_sx *s,
                    const char *job,
                    struct agt_sx_marker *m,
                    const struct agt_slurm_job *j,
                    struct cpn_task_status *st,
                    struct cpn_error *err)
{
    struct agt_slurm_job full = *j;
    int rc;
    if (!full.has_exit) {
        rc = agt_sx_lookup_id(s, j->id, job, &full, err);
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
    rc = agt_sx_marker_write(s, job, m, err);
    agt_sx_fill_status(m, m->slurm_id, m->state, m->reason, true, m->exit_status, m->exit_sig,
                       m->start_s, m->end_s, full.cpus, st);
    return rc;
}

int agt_sx_status_of(struct agt_sx *s,
                     const char *job,
                     struct agt_sx_marker *m,
                     struct cpn_task_status *st,
                     struct cpn_error *err)
{
    struct agt_slurm_job *j, found;
    bool fin;
    int rc;
    if (m->final) {
        agt_sx_fill_status(m, m->slurm_id, m->state, m->reason, true, m->exit_status, m->exit_sig,
                           m->start_s, m->end_s, 0, st);
        return 0;
    }
    if ((rc = agt_sx_snap_fresh(s, err)))
        return rc;
    j = agt_sx_snap_find(s, job, m->slurm_id);
    if (!j && m->slurm_id[0]) {
        /* never trust one listing's silence: ask for the job by id */
        rc = agt_sx_lookup_id(s, m->slurm_id, job, &found, err);
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
        if ((rc = agt_sx_marker_write(s, job, m, err)))
            return rc;
        m->exists = true;
    }
    agt_slurm_state(j->state, &fin);
    if (fin)
        return finalize(s, job, m, j, st, err);
    status_from_job(m, j, st);
    return 0;
}

int agt_sx_status(struct cpn_executor *x,
                  const char *job,
                  struct cpn_task_status *st,
                  struct cpn_error *err)
{
    struct agt_sx *s = x->impl;
    struct agt_sx_marker m;
    if (!agt_sx_job_id_ok(job))
        return cpn_errorf(err, CPN_EFIELD, "job id '%.80s': expected 1..63 of [A-Za-z0-9._:-]",
                          job);
    agt_sx_marker_read(s, job, &m);
    return agt_sx_status_of(s, job, &m, st, err);
}

/* ---- list ------------------------------------------------------------------------------------ */

int agt_sx_list(struct cpn_executor *x,
                void (*fn)(void *ctx, const char *job_id),
                void *ctx,
                struct cpn_error *err)
{
    struct agt_sx *s = x->impl;
    struct cpn_strmap seen = { 0 };
    size_t plen = strlen(AGT_SLURM_NAME_PREFIX);
    int rc = agt_sx_snap_refresh(s, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < s->nsnap; i++) {
        const char *job = s->snap[i].name + plen;
        if (!agt_sx_job_id_ok(job) || cpn_strmap_get(&seen, job) >= 0)
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
