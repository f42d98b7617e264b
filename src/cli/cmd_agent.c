/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet agent: runs a cluster's agent (docs/agent.md) until SIGINT or SIGTERM, or for one round
 * with --once. The token is read from a file (--token FILE) or CPNET_TOKEN and goes only to the
 * platform; it is never printed. The signal handler only sets the stop flag the loop checks; it
 * is installed without SA_RESTART so that a nap in the loop ends at once. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cpnet/agent.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cpnet agent --platform URL --token FILE --cluster ID [--executor local|slurm]\n"
            "                   [--config FILE] [--state-dir DIR] [--interval S] [--poll-wait S]\n"
            "                   [--horizon S] [--max-jobs N] [--register] [--pools-from-platform]\n"
            "                   [--once]\n"
            "Runs the agent of cluster ID: reports telemetry to the platform, long-polls it for\n"
            "assignments, runs them through the executor and reports their state and usage.\n"
            "  --platform URL   the platform (default: CPNET_ADDR)\n"
            "  --token FILE     a file holding a provider token of the cluster (default: the\n"
            "                   token in CPNET_TOKEN)\n"
            "  --executor E     local (processes on this host; default) or slurm\n"
            "  --config FILE    pools, telemetry period and damping, registration (docs/agent.md)\n"
            "  --state-dir DIR  outbox and task records (default /var/lib/cpnet-agent/ID)\n"
            "  --interval S     telemetry period in seconds (default 5, or the config's)\n"
            "  --poll-wait S    long-poll wait in seconds, 1..60 (default 25)\n"
            "  --horizon S      take run assignments starting within S platform seconds "
            "(default 300)\n"
            "  --max-jobs N     local executor: tasks at once (default: the pools' units, <= "
            "256)\n"
            "  --register       register the cluster and its pools (PUT /v1/clusters/ID) first\n"
            "  --pools-from-platform  advertise the pools the platform records for the cluster\n"
            "  --once           one assignments round and one telemetry report, then exit\n");
}

static volatile sig_atomic_t *stop_flag(void)
{
    static volatile sig_atomic_t stop; /* the one flag a signal handler may touch */
    return &stop;
}

static void on_signal(int sig)
{
    (void)sig;
    *stop_flag() = 1;
}

static int num_arg(const char *flag, const char *v, double lo, double hi, double *out)
{
    if (cpn_parse_double(v, out) || *out < lo || *out > hi) {
        fprintf(stderr, "cpnet agent: %s '%s': expected a number from %g to %g\n", flag, v, lo, hi);
        return -1;
    }
    return 0;
}

/* Reads the token (the first line of the file, trimmed) into out. */
static int read_token(const char *path, char *out, size_t size)
{
    struct cpn_buf b = { .limit = 4096 };
    struct cpn_error err = { 0 };
    char *t, *end;
    int rc = cpn_buf_read_file(&b, path, &err);
    if (rc) {
        fprintf(stderr, "cpnet agent: --token %s: %s\n", path,
                rc == CPN_ELIMIT ? "larger than 4 KiB: expected one token" : err.msg);
        cpn_buf_free(&b);
        return -1;
    }
    t = b.data;
    while (*t == ' ' || *t == '\t' || *t == '\r' || *t == '\n')
        t++;
    end = t + strcspn(t, "\r\n");
    while (end > t && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = '\0';
    rc = *t && strlen(t) < size ? 0 : -1;
    if (!rc)
        cpn_strlcpy(out, t, size);
    else
        fprintf(stderr, "cpnet agent: --token %s: the file holds no token on its first line\n",
                path);
    cpn_buf_free(&b);
    return rc;
}

int cpn_cmd_agent(int argc, char **argv)
{
    struct cpn_agent_config cfg = { 0 };
    struct cpn_error err = { 0 };
    struct sigaction sa;
    const char *token_file = NULL;
    char token[512] = "", state_dir[1024], platform[1024];
    int rc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return CPN_EXIT_OK;
        }
        if (!strcmp(a, "--register")) {
            cfg.register_cluster = true;
            continue;
        }
        if (!strcmp(a, "--pools-from-platform")) {
            cfg.pools_from_platform = true;
            continue;
        }
        if (!strcmp(a, "--once")) {
            cfg.once = true;
            continue;
        }
        if (a[0] != '-') {
            fprintf(stderr, "cpnet agent: unexpected argument '%s'\n", a);
            usage(stderr);
            return CPN_EXIT_USAGE;
        }
        if (!v) {
            fprintf(stderr, "cpnet agent: %s needs a value\n", a);
            return CPN_EXIT_USAGE;
        }
        i++;
        if (!strcmp(a, "--platform"))
            cfg.platform = v;
        else if (!strcmp(a, "--token"))
            token_file = v;
        else if (!strcmp(a, "--cluster"))
            cfg.cluster = v;
        else if (!strcmp(a, "--executor"))
            cfg.executor = v;
        else if (!strcmp(a, "--config"))
            cfg.config_path = v;
        else if (!strcmp(a, "--state-dir"))
            cfg.state_dir = v;
        else if (!strcmp(a, "--interval")) {
            if (num_arg(a, v, 0.1, 86400, &cfg.interval_s))
                return CPN_EXIT_USAGE;
        } else if (!strcmp(a, "--poll-wait")) {
            if (num_arg(a, v, 1, 60, &d))
                return CPN_EXIT_USAGE;
            cfg.poll_wait_s = (int)d;
        } else if (!strcmp(a, "--horizon")) {
            if (num_arg(a, v, 1, 86400 * 366, &d))
                return CPN_EXIT_USAGE;
            cfg.horizon_s = (int)d;
        } else if (!strcmp(a, "--max-jobs")) {
            if (num_arg(a, v, 1, 100000, &d))
                return CPN_EXIT_USAGE;
            cfg.max_jobs = (int)d;
        } else {
            fprintf(stderr, "cpnet agent: unknown option '%s'\n", a);
            usage(stderr);
            return CPN_EXIT_USAGE;
        }
    }
    if (!cfg.platform && getenv("CPNET_ADDR") && *getenv("CPNET_ADDR"))
        cfg.platform = getenv("CPNET_ADDR");
    if (!cfg.platform || !cfg.cluster) {
        fprintf(stderr, "cpnet agent: --platform URL (or CPNET_ADDR) and --cluster ID are "
                        "required\n");
        usage(stderr);
        return CPN_EXIT_USAGE;
    }
    if (!strstr(cfg.platform, "://")) { /* "127.0.0.1:8080" as the other commands take it */
        snprintf(platform, sizeof platform, "http://%s", cfg.platform);
        cfg.platform = platform;
    }
    if (cfg.executor && strcmp(cfg.executor, "local") && strcmp(cfg.executor, "slurm")) {
        fprintf(stderr, "cpnet agent: --executor '%s': expected local or slurm\n", cfg.executor);
        return CPN_EXIT_USAGE;
    }
    if (token_file) {
        if (read_token(token_file, token, sizeof token))
            return CPN_EXIT_USAGE;
    } else if (getenv("CPNET_TOKEN") && *getenv("CPNET_TOKEN")) {
        if (cpn_strlcpy(token, getenv("CPNET_TOKEN"), sizeof token)) {
            fprintf(stderr, "cpnet agent: CPNET_TOKEN is longer than %zu bytes\n",
                    sizeof token - 1);
            return CPN_EXIT_USAGE;
        }
    } else {
        fprintf(stderr, "cpnet agent: --token FILE (or CPNET_TOKEN) is required: a provider "
                        "token of the cluster (cpnet token create --role provider --subject ID)\n");
        return CPN_EXIT_USAGE;
    }
    cfg.token = token;
    if (!cfg.state_dir) {
        snprintf(state_dir, sizeof state_dir, "/var/lib/cpnet-agent/%s", cfg.cluster);
        cfg.state_dir = state_dir;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    rc = cpn_agent_run(&cfg, stop_flag(), &err);
    memset(token, 0, sizeof token);
    if (rc) {
        fprintf(stderr, "cpnet agent: %s\n", err.msg);
        return rc == CPN_EUSAGE ? CPN_EXIT_USAGE : CPN_EXIT_FAIL;
    }
    return CPN_EXIT_OK;
}
