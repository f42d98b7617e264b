/* SPDX-License-Identifier: Apache-2.0 */
/* /metrics in the Prometheus text exposition format (version 0.0.4): jobs by state, the
 * placement-decision latency histogram, request/commit/re-plan counters, and per cluster and pool
 * the capacity, health, carbon intensity and planned carbon. Names follow the Prometheus
 * conventions: a cpnet_ prefix, base units in the name (seconds, watts, grams), _total for
 * counters. Checked with promtool in tests/serve. */
#include <math.h>
#include <string.h>

#include "serve_int.h"

static const double bucket_le[SRV_HIST_N] = { 1e-6,   5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4,
                                              2.5e-4, 5e-4, 1e-3, 5e-3,   1e-2, 1e-1 };

void srv_observe_decision(struct cpn_server *s, double seconds)
{
    int i = 0;
    while (i < SRV_HIST_N && seconds > bucket_le[i])
        i++;
    s->hist[i]++;
    s->hist_sum += seconds;
    s->hist_count++;
}

static void head(struct cpn_buf *b, const char *name, const char *type, const char *help)
{
    cpn_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values here are ids ([A-Za-z0-9._:-]), which need no escaping. */
void srv_metrics(struct cpn_server *s, struct srv_cmd *c)
{
    struct cpn_buf b = { 0 };
    const struct cpn_network *net = s->net;
    int64_t now = srv_now_s(s);
    int32_t slot = (int32_t)cpn_floordiv(now - cpn_engine_t0(s->eng), net->slot_s);
#define NSTATES 8
    uint64_t states[NSTATES] = { 0 };
    static const char *const names[NSTATES] = { "queued",    "placed", "dispatched", "running",
                                                "completed", "failed", "cancelled",  "lost" };
    double *carbon = cpn_calloc(net->nclusters + 1, sizeof *carbon);
    uint64_t cum = 0;
    for (size_t i = 0; i < s->njobs; i++) {
        const struct srv_job *j = s->jobs[i];
        const char *st = srv_job_state(s, j);
        for (int k = 0; k < NSTATES; k++)
            if (!strcmp(st, names[k]))
                states[k]++;
        if (carbon && j->placed && j->state == SJ_PLACED)
            carbon[j->pl.cluster] += j->pl.carbon_kg;
    }
    head(&b, "cpnet_jobs", "gauge", "Jobs known to the platform, by state.");
    for (int k = 0; k < NSTATES; k++)
        cpn_buf_printf(&b, "cpnet_jobs{state=\"%s\"} %llu\n", names[k],
                       (unsigned long long)states[k]);
    head(&b, "cpnet_placement_duration_seconds", "histogram",
         "Time the engine took to decide one placement.");
    for (int i = 0; i < SRV_HIST_N; i++) {
        cum += s->hist[i];
        cpn_buf_printf(&b, "cpnet_placement_duration_seconds_bucket{le=\"%g\"} %llu\n",
                       bucket_le[i], (unsigned long long)cum);
    }
    cum += s->hist[SRV_HIST_N];
    cpn_buf_printf(&b, "cpnet_placement_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                   (unsigned long long)cum);
    cpn_buf_printf(&b, "cpnet_placement_duration_seconds_sum %.9g\n", s->hist_sum);
    cpn_buf_printf(&b, "cpnet_placement_duration_seconds_count %llu\n",
                   (unsigned long long)s->hist_count);
    head(&b, "cpnet_http_requests_total", "counter", "Requests handled by the event loop.");
    cpn_buf_printf(&b, "cpnet_http_requests_total %llu\n", (unsigned long long)s->requests_total);
    head(&b, "cpnet_store_commits_total", "counter", "Group commits made durable.");
    cpn_buf_printf(&b, "cpnet_store_commits_total %llu\n", (unsigned long long)s->commits_total);
    head(&b, "cpnet_replans_total", "counter", "Re-plans of pending placements.");
    cpn_buf_printf(&b, "cpnet_replans_total %llu\n", (unsigned long long)s->replans_total);
    head(&b, "cpnet_jobs_rejected_total", "counter", "Submissions refused as never placeable.");
    cpn_buf_printf(&b, "cpnet_jobs_rejected_total %llu\n", (unsigned long long)s->rejected_total);
    head(&b, "cpnet_cluster_up", "gauge",
         "1 when the cluster is up (reporting or never "
         "expected to report).");
    for (size_t k = 0; k < net->nclusters; k++)
        cpn_buf_printf(&b, "cpnet_cluster_up{cluster=\"%s\",hub=\"%s\"} %d\n", net->clusters[k].id,
                       net->hubs[net->clusters[k].hub].id, s->cl[k].down ? 0 : 1);
    head(&b, "cpnet_cluster_carbon_intensity_grams_per_kilowatt_hour", "gauge",
         "Effective carbon intensity of the cluster's supply now (actual signal).");
    for (size_t k = 0; k < net->nclusters; k++)
        cpn_buf_printf(&b,
                       "cpnet_cluster_carbon_intensity_grams_per_kilowatt_hour{cluster=\"%s\"} "
                       "%.6g\n",
                       net->clusters[k].id,
                       cpn_signals_effective_ci(s->sig, net, net->clusters[k].zone, now, false));
    head(&b, "cpnet_cluster_planned_carbon_grams", "gauge",
         "Carbon of the placements on the cluster that have not been cancelled (planned).");
    for (size_t k = 0; k < net->nclusters; k++)
        cpn_buf_printf(&b, "cpnet_cluster_planned_carbon_grams{cluster=\"%s\"} %.6g\n",
                       net->clusters[k].id, carbon ? carbon[k] * 1000 : 0);
    head(&b, "cpnet_cluster_power_watts", "gauge", "Power the cluster last reported.");
    for (size_t k = 0; k < net->nclusters; k++)
        if (s->cl[k].have_telemetry)
            cpn_buf_printf(&b, "cpnet_cluster_power_watts{cluster=\"%s\"} %.6g\n",
                           net->clusters[k].id, s->cl[k].power_kw * 1000);
    head(&b, "cpnet_pool_units", "gauge",
         "Units of a pool: total, free now in the plan, and available as last reported.");
    for (size_t p = 0; p < net->npools; p++) {
        const struct cpn_pool *pool = &net->pools[p];
        const char *cid = net->clusters[pool->cluster].id;
        if (pool->units == CPN_UNLIMITED)
            continue;
        cpn_buf_printf(&b, "cpnet_pool_units{cluster=\"%s\",pool=\"%s\",kind=\"total\"} %lld\n",
                       cid, pool->id, (long long)pool->units);
        cpn_buf_printf(&b, "cpnet_pool_units{cluster=\"%s\",pool=\"%s\",kind=\"free\"} %lld\n", cid,
                       pool->id, (long long)cpn_engine_free_units(s->eng, (int32_t)p, slot));
        if (s->pool_available[p] >= 0)
            cpn_buf_printf(&b,
                           "cpnet_pool_units{cluster=\"%s\",pool=\"%s\",kind=\"available\"} "
                           "%lld\n",
                           cid, pool->id, (long long)s->pool_available[p]);
    }
    cpn_free(carbon);
    if (!b.data) {
        srv_problem(c, 500, NULL, "out of memory");
        return;
    }
    memset(&c->resp, 0, sizeof c->resp);
    c->resp.status = 200;
    c->resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    c->resp.body = b.data;
    c->resp.len = b.len;
}
