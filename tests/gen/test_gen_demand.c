/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the demand generator: determinism by seed, the class and kind mix, interruptible
 * shares, latency-bound work only from eastern sites, durations whose medians match the fitted
 * tables, the offered load against the target, valid jobs, and CSV / JSON output that the real
 * jobs loader reads back to the same jobs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/gen.h"
#include "cpnet/model.h"
#include "gen/gen_int.h"
#include "harness.h"

#define REF_NET "data/china/network.json"

/* The reference network plus a western demand site (Yinchuan, next to Zhongwei). */
static struct cpn_network *load_net(bool west_site)
{
    struct cpn_network *net = NULL;
    struct cpn_error err = { 0 };
    struct cpn_buf b = { 0 }, t = { 0 };
    const char *mark;
    int rc = cpn_buf_read_file(&b, REF_NET, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc)
        return NULL;
    mark = strstr(b.data, "\"sites\": [");
    CHECK(mark != NULL);
    if (west_site && mark) {
        size_t pre = (size_t)(mark - b.data) + strlen("\"sites\": [");
        cpn_buf_append(&t, b.data, pre);
        cpn_buf_puts(&t, "{\"id\": \"yinchuan\", \"lon\": 106.23, \"lat\": 38.49},");
        cpn_buf_puts(&t, b.data + pre);
        rc = cpn_network_parse(t.data, t.len, "ref+yinchuan", &net, &err);
    } else {
        rc = cpn_network_parse(b.data, b.len, REF_NET, &net, &err);
    }
    CHECK_MSG(rc == 0, "%s", err.msg);
    cpn_buf_free(&b);
    cpn_buf_free(&t);
    return rc ? NULL : net;
}

static struct cpn_jobset *gen(const struct cpn_network *net,
                              uint64_t seed,
                              int days,
                              int64_t jpd,
                              enum cpn_gen_kind **kinds,
                              struct cpn_gen_demand_stats *st)
{
    struct cpn_gen_demand_opts o;
    struct cpn_jobset *js = NULL;
    struct cpn_error err = { 0 };
    int rc;
    cpn_gen_demand_defaults(&o);
    o.seed = seed;
    o.days = days;
    o.jobs_per_day = jpd;
    rc = cpn_gen_demand(net, &o, &js, kinds, st, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    return rc ? NULL : js;
}

static bool jobs_equal(const struct cpn_job *a, const struct cpn_job *b)
{
    return !strcmp(a->id, b->id) && !strcmp(a->tenant, b->tenant) &&
           !strcmp(a->device, b->device) && a->site == b->site && a->data_site == b->data_site &&
           a->cls == b->cls && a->priority == b->priority && a->interruptible == b->interruptible &&
           a->min_tflops == b->min_tflops && a->units == b->units &&
           a->duration_s == b->duration_s && a->work_pflop_h == b->work_pflop_h &&
           a->submit_s == b->submit_s && a->earliest_s == b->earliest_s &&
           a->deadline_s == b->deadline_s && a->max_rtt_ms == b->max_rtt_ms &&
           a->data_gb == b->data_gb && a->allowed_hubs == b->allowed_hubs &&
           a->n_allowed == b->n_allowed && a->price_ceiling_ucny == b->price_ceiling_ucny;
}

static void test_deterministic(void)
{
    struct cpn_network *net = load_net(false);
    struct cpn_jobset *a, *b, *c;
    size_t same = 0;
    if (!net)
        return;
    a = gen(net, 11, 2, 3000, NULL, NULL);
    b = gen(net, 11, 2, 3000, NULL, NULL);
    c = gen(net, 12, 2, 3000, NULL, NULL);
    if (a && b && c) {
        CHECK_INT(a->n, 6000);
        CHECK_INT(b->n, a->n);
        for (size_t i = 0; i < a->n && i < b->n; i++)
            CHECK_MSG(jobs_equal(&a->v[i], &b->v[i]), "job %zu differs with the same seed", i);
        for (size_t i = 0; i < a->n && i < c->n; i++)
            same += jobs_equal(&a->v[i], &c->v[i]);
        CHECK_MSG(same < a->n / 100, "%zu of %zu jobs equal with another seed", same, a->n);
    }
    cpn_jobset_destroy(a);
    cpn_jobset_destroy(b);
    cpn_jobset_destroy(c);
    cpn_network_destroy(net);
}

static double median_of(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    return n ? (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2])) : 0;
}

static void test_mix_and_shapes(void)
{
    static const double expect_mix[CPN_GEN_KIND_COUNT] = { 0.30, 0.15, 0.10, 0.10, 0.30, 0.05 };
    struct cpn_network *net = load_net(true);
    struct cpn_gen_demand_stats st;
    enum cpn_gen_kind *kinds = NULL;
    struct cpn_jobset *js;
    int32_t west = net ? cpn_network_site(net, "yinchuan") : -1;
    size_t nkind[CPN_GEN_KIND_COUNT] = { 0 }, flex = 0, intr = 0, from_west = 0;
    double *inf_d, *batch_d;
    size_t ninf = 0, nbatch = 0;
    if (!net)
        return;
    js = gen(net, 2, 3, 8000, &kinds, &st);
    if (!js) {
        cpn_network_destroy(net);
        return;
    }
    inf_d = calloc(js->n, sizeof *inf_d);
    batch_d = calloc(js->n, sizeof *batch_d);
    CHECK(west >= 0);
    CHECK_INT(st.jobs, (long long)js->n);
    for (size_t i = 0; i < js->n; i++) {
        const struct cpn_job *j = &js->v[i];
        struct cpn_error err = { 0 };
        enum cpn_gen_kind k = kinds[i];
        bool lat = k == CPN_GEN_INFERENCE || k == CPN_GEN_INTERACTIVE;
        nkind[k]++;
        CHECK_MSG(cpn_job_validate(j, net, &err) == 0, "%s", err.msg);
        if (i > 0)
            CHECK(js->v[i - 1].submit_s <= j->submit_s);
        if (lat) {
            CHECK_MSG(j->site != west, "latency-bound job %s from the western site", j->id);
            CHECK(j->max_rtt_ms >= 5 && j->max_rtt_ms <= 10);
            CHECK(!j->interruptible);
            CHECK_INT(j->deadline_s, j->earliest_s + j->duration_s + net->slot_s);
            CHECK(net->hubs[0].region == CPN_REGION_EAST);
        } else {
            flex++;
            intr += j->interruptible;
            from_west += j->site == west;
            CHECK(j->max_rtt_ms == 0);
        }
        if (k == CPN_GEN_INFERENCE)
            inf_d[ninf++] = (double)j->duration_s;
        if (k == CPN_GEN_BATCH)
            batch_d[nbatch++] = (double)j->duration_s;
        CHECK((int)j->cls == (k == CPN_GEN_INTERACTIVE || k == CPN_GEN_BATCH ? CPN_CLASS_GENERAL
                              : k == CPN_GEN_HPC                             ? CPN_CLASS_SUPER
                                                 : CPN_CLASS_INTELLIGENT));
    }
    for (int k = 0; k < CPN_GEN_KIND_COUNT; k++)
        CHECK_MSG(fabs((double)nkind[k] / (double)js->n - expect_mix[k]) < 0.015,
                  "%s: share %.3f, expected %.2f", cpn_gen_kind_name((enum cpn_gen_kind)k),
                  (double)nkind[k] / (double)js->n, expect_mix[k]);
    /* expected interruptible share of flexible work: (0.1*0.8 + 0.1*0.9 + 0.3*0.3 + 0.05*0.2)/0.55
     */
    CHECK_NEAR((double)intr / (double)flex, 0.27 / 0.55, 0.02);
    CHECK_MSG(from_west > 0, "no flexible job from the western site");
    {
        double m = median_of(inf_d, ninf), want = cpn__q_pai1k_length_s[CPN_GEN_QMEDIAN];
        CHECK_MSG(fabs(m / want - 1) < 0.2, "inference median %.0f s, fitted %.0f s", m, want);
        m = median_of(batch_d, nbatch);
        want = cpn__q_azure100k_length_s[CPN_GEN_QMEDIAN];
        CHECK_MSG(fabs(m / want - 1) < 0.2, "batch median %.0f s, fitted %.0f s", m, want);
    }
    for (int c = 0; c < CPN_CLASS_COUNT; c++) {
        double load = st.offered_unit_h[c] / st.capacity_unit_h[c];
        CHECK_MSG(fabs(load - CPN_GEN_DEFAULT_LOAD) < 0.06, "%s: offered load %.3f",
                  cpn_class_name((enum cpn_class)c), load);
        CHECK(st.gang_scale[c] >= 1);
        if (c != CPN_CLASS_SUPER) {
            load = st.offered_latency_unit_h[c] / st.capacity_east_unit_h[c];
            CHECK_MSG(fabs(load - CPN_GEN_DEFAULT_LATENCY_LOAD) < 0.06,
                      "%s: latency-bound load %.3f of the eastern capacity",
                      cpn_class_name((enum cpn_class)c), load);
        }
    }
    free(inf_d);
    free(batch_d);
    cpn_free(kinds);
    cpn_jobset_destroy(js);
    cpn_network_destroy(net);
}

static void roundtrip(bool json)
{
    struct cpn_network *net = load_net(false);
    struct cpn_jobset *js, *back = NULL;
    struct cpn_gen_jobs_writer *w = NULL;
    struct cpn_error err = { 0 };
    char path[300];
    int rc;
    if (!net)
        return;
    js = gen(net, 4, 1, 5000, NULL, NULL);
    snprintf(path, sizeof path, "%s/jobs.%s", t_tmpdir(), json ? "json" : "csv");
    rc = js ? cpn_gen_jobs_writer_open(path, net, json, &w, &err) : -1;
    CHECK_MSG(rc == 0, "%s", err.msg);
    for (size_t i = 0; rc == 0 && i < js->n; i++)
        rc = cpn_gen_jobs_writer_put(w, &js->v[i], NULL, 0, &err);
    if (w)
        rc |= cpn_gen_jobs_writer_close(w, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    rc = cpn_jobs_load(path, net, &back, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc == 0 && js) {
        CHECK_INT(back->n, js->n);
        for (size_t i = 0; i < js->n && i < back->n; i++)
            CHECK_MSG(jobs_equal(&js->v[i], &back->v[i]), "job %s differs after %s round trip",
                      js->v[i].id, json ? "JSON" : "CSV");
    }
    cpn_jobset_destroy(back);
    cpn_jobset_destroy(js);
    cpn_network_destroy(net);
}

static void test_csv_roundtrip(void)
{
    roundtrip(false);
}

static void test_json_roundtrip(void)
{
    roundtrip(true);
}

static void test_small_network(void)
{
    /* a network with one tiny GPU pool: no general or super work, sizes stay placeable */
    static const char txt[] =
        "{\"name\":\"tiny\",\"hubs\":[{\"id\":\"h\",\"region\":\"east\"}],"
        "\"zones\":[{\"id\":\"z\",\"grid_gco2_per_kwh\":500,\"green_share\":0.2,"
        "\"price_cny_per_kwh\":0.6}],"
        "\"clusters\":[{\"id\":\"c\",\"hub\":\"h\",\"zone\":\"z\",\"lon\":116,\"lat\":40,"
        "\"pue\":1.3,\"pools\":[{\"id\":\"g\",\"class\":\"intelligent\",\"device\":\"A800\","
        "\"units\":64,\"tflops\":312,\"watts_idle\":60,\"watts_busy\":400,"
        "\"price_cny_per_unit_hour\":5}]}],"
        "\"sites\":[{\"id\":\"s\",\"lon\":116.4,\"lat\":39.9}]}";
    struct cpn_network *net = NULL;
    struct cpn_error err = { 0 };
    struct cpn_gen_demand_stats st;
    struct cpn_jobset *js;
    int rc = cpn_network_parse(txt, sizeof txt - 1, "tiny", &net, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc)
        return;
    js = gen(net, 1, 1, 200, NULL, &st);
    if (js) {
        CHECK_INT(st.by_class[CPN_CLASS_GENERAL], 0);
        CHECK_INT(st.by_class[CPN_CLASS_SUPER], 0);
        for (size_t i = 0; i < js->n; i++)
            CHECK(js->v[i].units >= 1 && js->v[i].units <= 6);
    }
    cpn_jobset_destroy(js);
    cpn_network_destroy(net);
}

static void test_bad_options(void)
{
    struct cpn_network *net = load_net(false);
    struct cpn_gen_demand_opts o;
    struct cpn_jobset *js = NULL;
    struct cpn_error err = { 0 };
    if (!net)
        return;
    cpn_gen_demand_defaults(&o);
    o.jobs_per_day = 0;
    CHECK_INT(cpn_gen_demand(net, &o, &js, NULL, NULL, &err), CPN_EUSAGE);
    CHECK_CONTAINS(err.msg, "jobs-per-day");
    cpn_gen_demand_defaults(&o);
    o.load = 0;
    CHECK_INT(cpn_gen_demand(net, &o, &js, NULL, NULL, &err), CPN_EUSAGE);
    CHECK_CONTAINS(err.msg, "load");
    CHECK(js == NULL);
    cpn_network_destroy(net);
}

static void test_alloc_failure(void)
{
    struct cpn_network *net = load_net(false);
    struct cpn_gen_demand_opts o;
    int failed = 0;
    if (!net)
        return;
    cpn_gen_demand_defaults(&o);
    o.days = 1;
    o.jobs_per_day = 50;
    for (long n = 0; n < 40; n++) {
        struct cpn_jobset *js = NULL;
        struct cpn_error err = { 0 };
        int rc;
        cpn_alloc_fail_after(n);
        rc = cpn_gen_demand(net, &o, &js, NULL, NULL, &err);
        cpn_alloc_fail_after(-1);
        if (rc) {
            failed++;
            CHECK_INT(rc, -12 /* -ENOMEM */);
            CHECK(js == NULL);
        }
        cpn_jobset_destroy(js);
    }
    CHECK(failed > 0);
    cpn_network_destroy(net);
}

int main(void)
{
    T_RUN(test_deterministic);
    T_RUN(test_mix_and_shapes);
    T_RUN(test_csv_roundtrip);
    T_RUN(test_json_roundtrip);
    T_RUN(test_small_network);
    T_RUN(test_bad_options);
    T_RUN(test_alloc_failure);
    return T_DONE("gen_demand");
}
