/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet serve: runs the platform until SIGINT or SIGTERM. Signals are blocked in every thread and
 * taken here with sigwait, so no handler runs inside the library. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cpnet/api.h"
#include "cpnet/serve.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: cpnet serve --network FILE --data-dir DIR [--listen 127.0.0.1:8080] [--signals "
        "DIR]\n"
        "                   [--policy green] [--threads N] [--horizon-days 14]\n"
        "                   [--rate-limit REQ_PER_S] [--rate-burst N] [--telemetry-timeout S]\n"
        "                   [--default-slack-hours 48] [--clock-speed X] [--print-routes]\n"
        "Runs the platform service: REST API under /v1 (docs/openapi.yaml), /metrics, /healthz.\n"
        "On first start it writes an operator token to DIR/operator.token (mode 0600).\n");
}

static int num_arg(const char *flag, const char *v, double lo, double hi, double *out)
{
    if (cpn_parse_double(v, out) || *out < lo || *out > hi) {
        fprintf(stderr, "cpnet serve: %s '%s': expected a number from %g to %g\n", flag, v, lo, hi);
        return -1;
    }
    return 0;
}

struct fast_clock {
    int64_t start_ns;
    double speed;
};

static int64_t fast_now(void *ctx)
{
    const struct fast_clock *f = ctx;
    int64_t real = cpn_clock_real().now_ns(NULL);
    return f->start_ns + (int64_t)((double)(real - f->start_ns) * f->speed);
}

int cpn_cmd_serve(int argc, char **argv)
{
    struct fast_clock fast = { 0, 1 };
    struct cpn_serve_config cfg = { 0 };
    struct cpn_server *s = NULL;
    struct cpn_error err = { 0 };
    sigset_t set;
    int sig = 0;
    cfg.listen = "127.0.0.1:8080";
    cfg.policy = "green";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return CPN_EXIT_OK;
        }
        if (!strcmp(a, "--print-routes")) {
            size_t n;
            const struct cpn_route_info *r = cpn_routes(&n);
            for (size_t k = 0; k < n; k++)
                printf("%s %s %s\n", cpn_http_method_name(r[k].method), r[k].path, r[k].operation);
            return CPN_EXIT_OK;
        }
        if (!v) {
            fprintf(stderr, "cpnet serve: %s needs a value\n", a);
            return CPN_EXIT_USAGE;
        }
        i++;
        if (!strcmp(a, "--network"))
            cfg.network_path = v;
        else if (!strcmp(a, "--data-dir"))
            cfg.data_dir = v;
        else if (!strcmp(a, "--signals"))
            cfg.signals_dir = v;
        else if (!strcmp(a, "--listen"))
            cfg.listen = v;
        else if (!strcmp(a, "--policy"))
            cfg.policy = v;
        else if (!strcmp(a, "--threads")) {
            if (num_arg(a, v, 1, 256, &d))
                return CPN_EXIT_USAGE;
            cfg.http_threads = (unsigned)d;
        } else if (!strcmp(a, "--horizon-days")) {
            if (num_arg(a, v, 1, 366, &d))
                return CPN_EXIT_USAGE;
            cfg.horizon_days = (int)d;
        } else if (!strcmp(a, "--rate-limit")) {
            if (num_arg(a, v, 0, 1e9, &cfg.rate_per_s))
                return CPN_EXIT_USAGE;
        } else if (!strcmp(a, "--rate-burst")) {
            if (num_arg(a, v, 1, 1e9, &cfg.rate_burst))
                return CPN_EXIT_USAGE;
        } else if (!strcmp(a, "--clock-speed")) {
            if (num_arg(a, v, 1, 1e6, &cfg.clock_speed))
                return CPN_EXIT_USAGE;
        } else if (!strcmp(a, "--default-slack-hours")) {
            if (num_arg(a, v, 0.01, 24 * 366, &cfg.default_slack_h))
                return CPN_EXIT_USAGE;
        } else if (!strcmp(a, "--telemetry-timeout")) {
            if (num_arg(a, v, 1, 86400 * 7, &d))
                return CPN_EXIT_USAGE;
            cfg.telemetry_timeout_s = (int)d;
        } else {
            fprintf(stderr, "cpnet serve: unknown option '%s'\n", a);
            usage(stderr);
            return CPN_EXIT_USAGE;
        }
    }
    if (!cfg.network_path || !cfg.data_dir) {
        fprintf(stderr, "cpnet serve: --network FILE and --data-dir DIR are required\n");
        usage(stderr);
        return CPN_EXIT_USAGE;
    }
    if (cfg.clock_speed > 1) { /* demos: platform time runs clock_speed times faster */
        fast.start_ns = cpn_clock_real().now_ns(NULL);
        fast.speed = cfg.clock_speed;
        cfg.clock.now_ns = fast_now;
        cfg.clock.ctx = &fast;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (cpn_server_start(&cfg, &s, &err)) {
        fprintf(stderr, "cpnet serve: %s\n", err.msg);
        return CPN_EXIT_FAIL;
    }
    sigdelset(&set, SIGPIPE);
    while (sigwait(&set, &sig) == 0 && sig != SIGINT && sig != SIGTERM)
        ;
    fprintf(stderr, "cpnet serve: signal %d: stopping\n", sig);
    cpn_server_stop(s);
    return CPN_EXIT_OK;
}
