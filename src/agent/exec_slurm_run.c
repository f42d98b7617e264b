/* SPDX-License-Identifier: Apache-2.0 */
/* How the Slurm executor runs Slurm's commands: posix_spawn of the command found in the PATH the
 * executor was created with, with the executor's reduced environment, stdout and stderr read
 * through pipes up to a cap (the rest is read and dropped, so the child never blocks) and a
 * timeout after which the command is killed. Commands run one at a time on the agent's thread. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/exec_slurm_sx_int.h"

/* ---- running commands ---------------------------------------------------------------------- */

static int set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    return fl < 0 ? -errno : (fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0 ? -errno : 0);
}

/* The full path of a command in the executor's PATH (not the process's, which may change after
 * creation), remembered once found. NULL when it is nowhere. */
static const char *resolve(struct agt_sx *s, const char *name)
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
int agt_sx_run(struct agt_sx *s,
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
const char *agt_sx_first_line(const struct cpn_buf *b, char *out, size_t size)
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
int agt_sx_run_ok(struct agt_sx *s,
                  const char *const argv[],
                  struct cpn_buf *out,
                  struct cpn_error *err)
{
    struct cpn_buf eb = { 0 };
    int st = 0, rc = agt_sx_run(s, argv, out, &eb, &st, err);
    if (!rc && st != 0) {
        char l[300];
        rc = cpn_errorf(err, CPN_EUNSUPPORTED, "%s %s: exit %d: %s", argv[0],
                        argv[1] ? argv[1] : "", st, agt_sx_first_line(&eb, l, sizeof l));
    }
    cpn_buf_free(&eb);
    return rc;
}
