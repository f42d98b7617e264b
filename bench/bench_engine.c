/* SPDX-License-Identifier: Apache-2.0 */
/* Engine micro-benchmark: loads a network and a job trace, then decides and commits every job in
 * arrival order on one core, timing each decision with the monotonic clock. Prints decisions per
 * second and the p50/p99/max decision latency as "key value" lines for scripts/bench.sh. This is a
 * benchmark, not a test: it asserts nothing but that every decision returns. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/model.h"
#include "cpnet/sched.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_arrival(const void *a, const void *b)
{
    const struct cpn_job *x = a, *y = b;
    int64_t ta = x->submit_s < x->earliest_s ? x->submit_s : x->earliest_s;
    int64_t tb = y->submit_s < y->earliest_s ? y->submit_s : y->earliest_s;
    return (ta > tb) - (ta < tb);
}

int main(int argc, char **argv)
{
    struct cpn_error err = { 0 };
    struct cpn_network *net = NULL;
    struct cpn_jobset *js = NULL;
    struct cpn_signals *sig = NULL;
    struct cpn_engine *e = NULL;
    struct cpn_engine_config cfg = { 0 };
    const char *netf = NULL, *jobsf = NULL, *sigdir = NULL, *policy = "green";
    int64_t *lat, t_min = INT64_MAX, t_max = INT64_MIN, t_all;
    size_t placed = 0, n;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--network"))
            netf = argv[i + 1];
        else if (!strcmp(argv[i], "--jobs"))
            jobsf = argv[i + 1];
        else if (!strcmp(argv[i], "--signals"))
            sigdir = argv[i + 1];
        else if (!strcmp(argv[i], "--policy"))
            policy = argv[i + 1];
    }
    if (!netf || !jobsf) {
        fprintf(stderr, "usage: bench_engine --network F --jobs F [--signals DIR] [--policy P]\n");
        return 2;
    }
    if (cpn_network_load(netf, &net, &err) || cpn_jobs_load(jobsf, net, &js, &err) ||
        cpn_signals_create(net, &sig) ||
        (sigdir && cpn_signals_load_dir(sig, net, sigdir, false, &err))) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return 1;
    }
    n = js->n;
    qsort(js->v, n, sizeof *js->v, cmp_arrival);
    for (size_t i = 0; i < n; i++) {
        int64_t a = js->v[i].earliest_s, b = js->v[i].deadline_s;
        if (a < t_min)
            t_min = a;
        if (b == CPN_NO_DEADLINE)
            b = a + js->v[i].duration_s + 7 * 86400;
        if (b > t_max)
            t_max = b;
    }
    cfg.net = net;
    cfg.signals = sig;
    cfg.t0 = cpn_floordiv(t_min, net->slot_s) * net->slot_s;
    cfg.nslots = (int32_t)((t_max - cfg.t0) / net->slot_s + 2);
    if (cpn_policy_lookup(policy, &cfg.policy) || cpn_engine_create(&cfg, &e, &err)) {
        fprintf(stderr, "bench_engine: %s\n", err.msg[0] ? err.msg : "unknown policy");
        return 1;
    }
    lat = malloc(n * sizeof *lat);
    if (!lat)
        return 1;
    t_all = cpn_monotonic_ns();
    for (size_t i = 0; i < n; i++) {
        struct cpn_placement p;
        const struct cpn_job *j = &js->v[i];
        int64_t a = cpn_monotonic_ns();
        int rc = cpn_engine_decide(e, js, j, j->submit_s, &p, NULL, NULL);
        if (rc == 0) {
            cpn_engine_commit(e, j, &p);
            placed++;
        }
        lat[i] = cpn_monotonic_ns() - a;
    }
    t_all = cpn_monotonic_ns() - t_all;
    qsort(lat, n, sizeof *lat, cmp_i64);
    printf("jobs %zu\n", n);
    printf("placed %zu\n", placed);
    printf("clusters %zu\npools %zu\nslots %d\n", net->nclusters, net->npools, cfg.nslots);
    printf("decisions_per_s %.0f\n", (double)n / ((double)t_all / 1e9));
    printf("p50_us %.2f\n", (double)lat[n / 2] / 1e3);
    printf("p99_us %.2f\n", (double)lat[(size_t)((double)n * 0.99)] / 1e3);
    printf("max_us %.2f\n", (double)lat[n - 1] / 1e3);
    free(lat);
    cpn_engine_destroy(e);
    cpn_signals_destroy(sig);
    cpn_jobset_destroy(js);
    cpn_network_destroy(net);
    return 0;
}
