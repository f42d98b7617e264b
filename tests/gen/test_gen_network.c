/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the reference network (data/china/network.json: its counts, regions, latency anchors,
 * that every object names its source, that the west is greener and cheaper but farther) and of
 * the scaled copies (counts for --scale 10, ids, hubs, jittered coordinates, zone copies,
 * determinism, and that a scaled network takes signals and demand through the real loaders). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/gen.h"
#include "cpnet/model.h"
#include "harness.h"

#define REF_NET "data/china/network.json"

static char *ref_text(size_t *len)
{
    struct cpn_buf b = { 0 };
    struct cpn_error err = { 0 };
    int rc = cpn_buf_read_file(&b, REF_NET, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    *len = b.len;
    return rc ? NULL : b.data;
}

static struct cpn_network *parse(const char *text, size_t len)
{
    struct cpn_network *net = NULL;
    struct cpn_error err = { 0 };
    int rc = cpn_network_parse(text, len, "net", &net, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    return rc ? NULL : net;
}

static double cluster_rtt(const struct cpn_network *net, const char *site, const char *cl)
{
    int32_t s = cpn_network_site(net, site), c = cpn_network_cluster(net, cl);
    CHECK_MSG(s >= 0 && c >= 0, "%s or %s missing", site, cl);
    return s >= 0 && c >= 0 ? cpn_network_rtt(net, s, c) : -1;
}

static void test_reference_network(void)
{
    size_t len;
    char *text = ref_text(&len);
    struct cpn_network *net = text ? parse(text, len) : NULL;
    double east_ci = 0, west_ci = 0, east_p = 0, west_p = 0;
    int ne = 0, nw = 0;
    if (!net) {
        cpn_free(text);
        return;
    }
    CHECK_INT(net->nhubs, 8);
    CHECK_INT(net->nclusters, 10);
    CHECK_INT(net->nzones, 10);
    CHECK_INT(net->nsites, 8);
    CHECK_INT(net->slot_s, 900);
    CHECK(net->npools >= 50);
    CHECK_NEAR(net->route_factor, 1.3, 1e-12);
    CHECK_NEAR(net->fibre_us_per_km, 4.9, 1e-12);
    CHECK_NEAR(net->equipment_ms, 0.5, 1e-12);
    /* published anchors of the latency model (reference README) */
    CHECK_NEAR(cluster_rtt(net, "beijing", "zhangjiakou"), 3.1, 0.1);
    CHECK_NEAR(cluster_rtt(net, "beijing", "helinger"), 6.3, 0.1);
    CHECK_NEAR(cluster_rtt(net, "shanghai", "yrd-demo-zone"), 2.0, 0.1);
    CHECK_NEAR(cluster_rtt(net, "shanghai", "zhongwei"), 22.0, 0.1);
    CHECK_NEAR(cluster_rtt(net, "guangzhou", "helinger"), 26.1, 0.1);
    for (size_t c = 0; c < net->nclusters; c++) {
        const struct cpn_cluster *cl = &net->clusters[c];
        const struct cpn_zone *z = &net->zones[cl->zone];
        bool has[CPN_CLASS_COUNT] = { false };
        double eff = (1 - z->green_share) * z->grid_gco2_per_kwh, price = 0;
        for (int h = 0; h < 24; h++)
            price += z->price_cny_per_kwh[h] / 24;
        for (int32_t p = cl->pool_first; p < cl->pool_first + cl->pool_count; p++)
            has[net->pools[p].cls] = true;
        CHECK_MSG(has[0] && has[1] && has[2], "%s lacks a class", cl->id);
        if (net->hubs[cl->hub].region == CPN_REGION_EAST) {
            east_ci += eff, east_p += price, ne++;
        } else {
            west_ci += eff, west_p += price, nw++;
        }
    }
    CHECK_INT(ne, 6);
    CHECK_INT(nw, 4);
    CHECK_MSG(west_ci / nw < 0.5 * east_ci / ne, "west %.0f vs east %.0f gCO2/kWh", west_ci / nw,
              east_ci / ne);
    CHECK_MSG(west_p / nw < 0.7 * east_p / ne && west_p / nw > 0.5 * east_p / ne,
              "west %.3f vs east %.3f CNY/kWh", west_p / nw, east_p / ne);
    CHECK_NEAR(net->zones[cpn_network_zone(net, "helinger")].green_share, 0.86, 1e-12);
    CHECK_NEAR(net->zones[cpn_network_zone(net, "zhangjiakou")].grid_gco2_per_kwh, 725.2, 1e-9);
    /* every hub, zone, cluster, pool and site says where its numbers come from */
    {
        json_error_t je;
        json_t *root = json_loadb(text, len, 0, &je);
        static const char *const arrays[] = { "hubs", "zones", "clusters", "sites" };
        CHECK(root != NULL);
        for (size_t a = 0; root && a < 4; a++) {
            json_t *arr = json_object_get(root, arrays[a]);
            for (size_t i = 0; i < json_array_size(arr); i++) {
                json_t *o = json_array_get(arr, i), *pools = json_object_get(o, "pools");
                CHECK_MSG(json_is_string(json_object_get(o, "source")), "%s/%zu has no source",
                          arrays[a], i);
                for (size_t p = 0; p < json_array_size(pools); p++)
                    CHECK_MSG(json_is_string(json_object_get(json_array_get(pools, p), "source")),
                              "%s/%zu/pools/%zu has no source", arrays[a], i, p);
            }
        }
        json_decref(root);
    }
    cpn_network_destroy(net);
    cpn_free(text);
}

static char *scale(const char *text, size_t len, int k, uint64_t seed, size_t *out_len)
{
    struct cpn_gen_scale_opts o;
    struct cpn_error err = { 0 };
    char *out = NULL;
    int rc;
    cpn_gen_scale_defaults(&o);
    o.scale = k;
    o.seed = seed;
    rc = cpn_gen_scale_network(text, len, "ref", &o, &out, out_len, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    return rc ? NULL : out;
}

static void test_scale_ten(void)
{
    size_t len, n10 = 0;
    char *text = ref_text(&len), *big = text ? scale(text, len, 10, 7, &n10) : NULL;
    struct cpn_network *ref = text ? parse(text, len) : NULL;
    struct cpn_network *net = big ? parse(big, n10) : NULL;
    if (ref && net) {
        CHECK_INT(net->nclusters, 100);
        CHECK_INT(net->nzones, 100);
        CHECK_INT(net->npools, ref->npools * 10);
        CHECK_MSG(net->npools >= 550 && net->npools <= 650, "%zu pools", net->npools);
        CHECK_INT(net->nsites, ref->nsites);
        CHECK_INT(net->nhubs, ref->nhubs);
        for (size_t c = 0; c < ref->nclusters; c++) {
            const struct cpn_cluster *o = &ref->clusters[c];
            CHECK_STR(net->clusters[c].id, o->id);
            for (int k = 1; k < 10; k++) {
                char id[CPN_ID_MAX + 16], zid[CPN_ID_MAX + 16];
                int32_t i;
                snprintf(id, sizeof id, "%s-%d", o->id, k);
                snprintf(zid, sizeof zid, "%s-%d", ref->zones[o->zone].id, k);
                i = cpn_network_cluster(net, id);
                CHECK_MSG(i >= 0, "no cluster %s", id);
                if (i < 0)
                    continue;
                {
                    const struct cpn_cluster *cp = &net->clusters[i];
                    const struct cpn_zone *zc = &net->zones[cp->zone], *zo = &ref->zones[o->zone];
                    CHECK_STR(net->hubs[cp->hub].id, ref->hubs[o->hub].id);
                    CHECK_STR(zc->id, zid);
                    CHECK(fabs(cp->lon - o->lon) <= 0.5005 && fabs(cp->lat - o->lat) <= 0.5005);
                    CHECK(zc->green_share == zo->green_share);
                    CHECK(memcmp(zc->price_cny_per_kwh, zo->price_cny_per_kwh,
                                 sizeof zc->price_cny_per_kwh) == 0);
                    CHECK_INT(cp->pool_count, o->pool_count);
                    CHECK(cp->pue == o->pue);
                    for (int32_t p = 0; p < o->pool_count && p < cp->pool_count; p++) {
                        const struct cpn_pool *a = &ref->pools[o->pool_first + p];
                        const struct cpn_pool *b = &net->pools[cp->pool_first + p];
                        CHECK_INT(a->units, b->units);
                        CHECK_STR(a->device, b->device);
                        CHECK(a->tflops_per_unit == b->tflops_per_unit);
                    }
                }
            }
        }
    }
    cpn_network_destroy(ref);
    cpn_network_destroy(net);
    cpn_free(big);
    cpn_free(text);
}

static void test_scale_deterministic(void)
{
    size_t len, la = 0, lb = 0, lc = 0, l1 = 0;
    char *text = ref_text(&len);
    char *a = text ? scale(text, len, 3, 5, &la) : NULL;
    char *b = text ? scale(text, len, 3, 5, &lb) : NULL;
    char *c = text ? scale(text, len, 3, 6, &lc) : NULL;
    char *one = text ? scale(text, len, 1, 5, &l1) : NULL;
    struct cpn_network *n1 = one ? parse(one, l1) : NULL;
    CHECK(a && b && c);
    if (a && b && c) {
        CHECK(la == lb && memcmp(a, b, la) == 0);
        CHECK(la != lc || memcmp(a, c, la) != 0);
    }
    if (n1) {
        CHECK_INT(n1->nclusters, 10);
        CHECK_INT(n1->nzones, 10);
    }
    cpn_network_destroy(n1);
    cpn_free(a);
    cpn_free(b);
    cpn_free(c);
    cpn_free(one);
    cpn_free(text);
}

static void test_scale_errors(void)
{
    struct cpn_gen_scale_opts o;
    struct cpn_error err = { 0 };
    char *out = NULL;
    size_t n = 0;
    static const char bad[] = "{\"name\": \"x\", \"hubs\": []}";
    static const char unknown[] = "{\"name\": \"x\", \"colour\": 1}";
    cpn_gen_scale_defaults(&o);
    o.scale = 0;
    CHECK_INT(cpn_gen_scale_network(bad, sizeof bad - 1, "bad", &o, &out, &n, &err), CPN_EUSAGE);
    CHECK_CONTAINS(err.msg, "scale");
    o.scale = 2;
    CHECK(cpn_gen_scale_network(bad, sizeof bad - 1, "bad.json", &o, &out, &n, &err) < 0);
    CHECK_CONTAINS(err.msg, "bad.json");
    CHECK(cpn_gen_scale_network(unknown, sizeof unknown - 1, "u.json", &o, &out, &n, &err) < 0);
    CHECK_CONTAINS(err.msg, "colour");
    CHECK(out == NULL);
}

/* A scaled network takes generated signals and demand through the real loaders. */
static void test_scaled_pipeline(void)
{
    size_t len, n2 = 0;
    char *text = ref_text(&len), *big = text ? scale(text, len, 2, 1, &n2) : NULL;
    struct cpn_network *net = big ? parse(big, n2) : NULL;
    struct cpn_gen_signals_opts so;
    struct cpn_gen_signals *sig = NULL;
    struct cpn_signals *loaded = NULL;
    struct cpn_gen_demand_opts dopt;
    struct cpn_gen_jobs_writer *w = NULL;
    struct cpn_jobset *js = NULL, *back = NULL;
    struct cpn_error err = { 0 };
    char dir[256], path[320];
    int rc;
    if (!net)
        goto out;
    snprintf(dir, sizeof dir, "%s", t_tmpdir());
    cpn_gen_signals_defaults(&so);
    so.days = 3;
    rc = cpn_gen_signals(net, &so, &sig, &err);
    if (!rc)
        rc = cpn_gen_signals_write(sig, dir, &err);
    if (!rc)
        rc = cpn_signals_create(net, &loaded);
    if (!rc)
        rc = cpn_signals_load_dir(loaded, net, dir, false, &err);
    CHECK_MSG(rc == 0, "signals: %s", err.msg);
    cpn_gen_demand_defaults(&dopt);
    dopt.days = 1;
    dopt.jobs_per_day = 2000;
    rc = cpn_gen_demand(net, &dopt, &js, NULL, NULL, &err);
    snprintf(path, sizeof path, "%s/jobs.csv", dir);
    if (!rc)
        rc = cpn_gen_jobs_writer_open(path, net, false, &w, &err);
    for (size_t i = 0; !rc && i < js->n; i++)
        rc = cpn_gen_jobs_writer_put(w, &js->v[i], NULL, 0, &err);
    if (w)
        rc |= cpn_gen_jobs_writer_close(w, &err);
    if (!rc)
        rc = cpn_jobs_load(path, net, &back, &err);
    CHECK_MSG(rc == 0, "demand: %s", err.msg);
    if (!rc)
        CHECK_INT(back->n, 2000);
out:
    cpn_jobset_destroy(back);
    cpn_jobset_destroy(js);
    cpn_signals_destroy(loaded);
    cpn_gen_signals_destroy(sig);
    cpn_network_destroy(net);
    cpn_free(big);
    cpn_free(text);
}

int main(void)
{
    T_RUN(test_reference_network);
    T_RUN(test_scale_ten);
    T_RUN(test_scale_deterministic);
    T_RUN(test_scale_errors);
    T_RUN(test_scaled_pipeline);
    return T_DONE("gen_network");
}
