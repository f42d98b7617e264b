/* SPDX-License-Identifier: Apache-2.0 */
/* The network as the service sees it: read-only views (hubs, sites, clusters, pools), cluster
 * registration by providers or the operator, telemetry and health. The network is kept as its JSON
 * document too (the base file plus registered clusters, which are stored as overlays), so a
 * registration is validated by the same loader as the file, with the same messages. A new network
 * gets new signals and a new engine; placements move over by cluster and pool id. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "decode.h"
#include "serve_int.h"

static json_t *cluster_summary(const struct cpn_server *s, size_t c, bool pools)
{
    const struct cpn_network *net = s->net;
    const struct cpn_cluster *cl = &net->clusters[c];
    const struct srv_cluster_state *st = &s->cl[c];
    int64_t now = srv_now_s(s);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(cl->id));
    json_object_set_new(o, "name", json_string(cl->name));
    json_object_set_new(o, "hub", json_string(net->hubs[cl->hub].id));
    json_object_set_new(o, "zone", json_string(net->zones[cl->zone].id));
    json_object_set_new(o, "province", json_string(cl->province));
    json_object_set_new(o, "owner", json_string(cl->owner));
    json_object_set_new(o, "lon", json_real(cl->lon));
    json_object_set_new(o, "lat", json_real(cl->lat));
    json_object_set_new(o, "pue", json_real(cl->pue));
    if (cl->power_cap_kw > 0)
        json_object_set_new(o, "power_cap_kw", json_real(cl->power_cap_kw));
    json_object_set_new(o, "health",
                        json_string(st->down            ? "down"
                                    : st->last_report_s ? "up"
                                                        : "unreported"));
    if (st->have_telemetry) {
        char b[CPN_TIME_STRLEN];
        json_t *t = json_object();
        cpn_time_format(st->last_report_s, b);
        json_object_set_new(t, "time", json_string(b));
        json_object_set_new(t, "age_s", json_integer(now - st->last_report_s));
        json_object_set_new(t, "utilisation", json_real(st->utilisation));
        json_object_set_new(t, "power_kw", json_real(st->power_kw));
        if (st->measured_pue > 0)
            json_object_set_new(t, "pue", json_real(st->measured_pue));
        json_object_set_new(o, "telemetry", t);
    }
    json_object_set_new(o, "carbon_intensity_gco2_per_kwh",
                        json_real(cpn_signals_effective_ci(s->sig, net, cl->zone, now, false)));
    if (pools) {
        json_t *a = json_array();
        int32_t slot = (int32_t)cpn_floordiv(now - cpn_engine_t0(s->eng), net->slot_s);
        for (int32_t k = 0; k < cl->pool_count; k++) {
            int32_t p = cl->pool_first + k;
            const struct cpn_pool *pool = &net->pools[p];
            json_t *x = json_object();
            json_object_set_new(x, "id", json_string(pool->id));
            json_object_set_new(x, "class", json_string(cpn_class_name(pool->cls)));
            json_object_set_new(x, "device", json_string(pool->device));
            if (pool->units == CPN_UNLIMITED)
                json_object_set_new(x, "units", json_string("unlimited"));
            else
                json_object_set_new(x, "units", json_integer(pool->units));
            if (pool->units != CPN_UNLIMITED)
                json_object_set_new(x, "free_now",
                                    json_integer(cpn_engine_free_units(s->eng, p, slot)));
            if (s->pool_available[p] >= 0)
                json_object_set_new(x, "available_reported", json_integer(s->pool_available[p]));
            json_object_set_new(x, "tflops", json_real(pool->tflops_per_unit));
            json_object_set_new(x, "watts_idle", json_real(pool->watts_idle));
            json_object_set_new(x, "watts_busy", json_real(pool->watts_busy));
            json_object_set_new(x, "mem_gib", json_real(pool->mem_gib_per_unit));
            json_object_set_new(x, "price_cny_per_unit_hour",
                                json_real((double)pool->price_ucny_per_unit_h / CPN_UCNY_PER_CNY));
            json_array_append_new(a, x);
        }
        json_object_set_new(o, "pools", a);
    }
    return o;
}

void srv_hubs(struct cpn_server *s, struct srv_cmd *c)
{
    json_t *a = json_array(), *o = json_object();
    for (size_t h = 0; h < s->net->nhubs; h++) {
        json_t *x = json_object(), *cl = json_array();
        json_object_set_new(x, "id", json_string(s->net->hubs[h].id));
        json_object_set_new(x, "name", json_string(s->net->hubs[h].name));
        json_object_set_new(
            x, "region", json_string(s->net->hubs[h].region == CPN_REGION_WEST ? "west" : "east"));
        for (size_t k = 0; k < s->net->nclusters; k++)
            if ((size_t)s->net->clusters[k].hub == h)
                json_array_append_new(cl, json_string(s->net->clusters[k].id));
        json_object_set_new(x, "clusters", cl);
        json_array_append_new(a, x);
    }
    json_object_set_new(o, "hubs", a);
    srv_json(c, 200, o);
}

void srv_sites(struct cpn_server *s, struct srv_cmd *c)
{
    json_t *a = json_array(), *o = json_object();
    for (size_t i = 0; i < s->net->nsites; i++) {
        json_t *x = json_object(), *rtt = json_object();
        json_object_set_new(x, "id", json_string(s->net->sites[i].id));
        json_object_set_new(x, "name", json_string(s->net->sites[i].name));
        json_object_set_new(x, "lon", json_real(s->net->sites[i].lon));
        json_object_set_new(x, "lat", json_real(s->net->sites[i].lat));
        for (size_t k = 0; k < s->net->nclusters; k++)
            json_object_set_new(rtt, s->net->clusters[k].id,
                                json_real(cpn_network_rtt(s->net, (int32_t)i, (int32_t)k)));
        json_object_set_new(x, "rtt_ms", rtt);
        json_array_append_new(a, x);
    }
    json_object_set_new(o, "sites", a);
    srv_json(c, 200, o);
}

void srv_clusters_list(struct cpn_server *s, struct srv_cmd *c)
{
    json_t *a = json_array(), *o = json_object();
    for (size_t k = 0; k < s->net->nclusters; k++)
        json_array_append_new(a, cluster_summary(s, k, false));
    json_object_set_new(o, "clusters", a);
    srv_json(c, 200, o);
}

static int32_t cluster_param(struct cpn_server *s, struct srv_cmd *c)
{
    int32_t k = cpn_network_cluster(s->net, c->req->match.params[0]);
    if (k < 0)
        srv_problem(c, 404, "id", "no cluster '%s'", c->req->match.params[0]);
    return k;
}

void srv_cluster_get(struct cpn_server *s, struct srv_cmd *c)
{
    int32_t k = cluster_param(s, c);
    if (k >= 0)
        srv_json(c, 200, cluster_summary(s, (size_t)k, true));
}

void srv_cluster_pools(struct cpn_server *s, struct srv_cmd *c)
{
    int32_t k = cluster_param(s, c);
    json_t *o;
    if (k < 0)
        return;
    o = cluster_summary(s, (size_t)k, true);
    srv_json(c, 200, json_pack("{s:O}", "pools", json_object_get(o, "pools")));
    json_decref(o);
}

/* ---- network replacement ----------------------------------------------------------------------
 */

/* Builds the network from s->net_doc; on success swaps network, signals and engine, moving every
 * placement over by ids, and re-plans. On failure nothing changes and err says why. */
static int apply_network(struct cpn_server *s, json_t *doc, const char *why, struct cpn_error *err)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    struct cpn_network *net = NULL, *old_net = s->net;
    struct cpn_signals *sig = NULL, *old_sig = s->sig;
    struct srv_cluster_state *cl = NULL;
    int64_t *avail = NULL;
    int rc;
    if (!text)
        return cpn_errorf(err, -ENOMEM, "out of memory");
    rc = cpn_network_parse(text, strlen(text), "cluster registration", &net, err);
    free(text);
    if (rc)
        return rc;
    if (net->nhubs != old_net->nhubs || net->nsites != old_net->nsites ||
        net->slot_s != old_net->slot_s || net->nclusters < old_net->nclusters) {
        cpn_network_destroy(net);
        return cpn_errorf(err, CPN_EFIELD,
                          "a registration may add or change clusters, not hubs, "
                          "sites or the slot length");
    }
    cl = cpn_calloc(net->nclusters, sizeof *cl);
    avail = cpn_calloc(net->npools, sizeof *avail);
    if (!cl || !avail || cpn_signals_create(net, &sig)) {
        cpn_free(cl);
        cpn_free(avail);
        cpn_network_destroy(net);
        return cpn_errorf(err, -ENOMEM, "out of memory");
    }
    for (size_t p = 0; p < net->npools; p++)
        avail[p] = -1;
    for (size_t k = 0; k < old_net->nclusters; k++)
        cl[k] = s->cl[k]; /* clusters keep their index: registrations replace in place or append */
    /* move placements: pools by (cluster, pool id); a vanished pool sends its job to re-plan */
    for (size_t i = 0; i < s->njobs; i++) {
        struct srv_job *j = s->jobs[i];
        int32_t np = -1;
        if (!j->placed)
            continue;
        {
            const struct cpn_cluster *c = &net->clusters[j->pl.cluster];
            for (int32_t q = 0; q < c->pool_count; q++)
                if (!strcmp(net->pools[c->pool_first + q].id, old_net->pools[j->pl.pool].id))
                    np = c->pool_first + q;
        }
        if (np >= 0 && net->pools[np].cls == old_net->pools[j->pl.pool].cls) {
            j->pl.pool = np;
        } else {
            j->placed = false;
            if (j->state == SJ_PLACED)
                j->state = SJ_QUEUED;
            cpn_strlcpy(j->reason, "its pool left the network", sizeof j->reason);
        }
    }
    s->net = net;
    s->sig = sig;
    cpn_free(s->cl);
    cpn_free(s->pool_available);
    s->cl = cl;
    s->pool_available = avail;
    json_decref(s->net_doc);
    s->net_doc = json_incref(doc);
    if ((rc = srv_signals_load(s, err)) || (rc = srv_engine_rebuild(s, srv_now_s(s), err))) {
        fprintf(s->log, "cpnet serve: network change: %s\n", err->msg);
    }
    cpn_signals_destroy(old_sig);
    cpn_network_destroy(old_net);
    srv_cluster_bump(s, -1);
    srv_replan(s, why);
    return rc;
}

/* Puts cluster object obj (its "id" set) into doc's clusters, replacing one with the same id. */
static void doc_put_cluster(json_t *doc, json_t *obj)
{
    json_t *arr = json_object_get(doc, "clusters");
    const char *id = json_string_value(json_object_get(obj, "id"));
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *vid = json_string_value(json_object_get(v, "id"));
        if (vid && id && !strcmp(vid, id)) {
            json_array_set(arr, i, obj);
            return;
        }
    }
    json_array_append(arr, obj);
}

void srv_cluster_put(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who)
{
    const char *id = c->req->match.params[0];
    json_t *obj, *doc, *zone;
    struct cpn_error err = { 0 };
    char *text;
    int32_t k;
    if (!srv_provider_owns(who, id)) {
        srv_problem(c, 403, "id",
                    "this token may not register cluster '%s' (operator tokens, or "
                    "provider tokens naming the cluster, may)",
                    id);
        return;
    }
    if (!json_is_object(c->body)) {
        srv_problem(c, 400, "body",
                    "expected a cluster object as in the network file's "
                    "\"clusters\" array (docs/formats.md#network)");
        return;
    }
    obj = json_deep_copy(c->body);
    zone = json_object_get(obj, "zone");
    if (json_object_get(obj, "id") && (!json_is_string(json_object_get(obj, "id")) ||
                                       strcmp(json_string_value(json_object_get(obj, "id")), id))) {
        json_decref(obj);
        srv_problem(c, 400, "id", "the body's id must equal the path's '%s' (or be left out)", id);
        return;
    }
    json_object_set_new(obj, "id", json_string(id));
    doc = json_deep_copy(s->net_doc);
    if (json_is_object(zone)) { /* a new energy zone, defined inline */
        json_array_append(json_object_get(doc, "zones"), zone);
        json_object_set(obj, "zone", json_object_get(zone, "id"));
    }
    doc_put_cluster(doc, obj);
    k = cpn_network_cluster(s->net, id);
    if (apply_network(s, doc, "a cluster registration", &err)) {
        int st = err.code == -ENOMEM ? 500 : 400;
        srv_problem(c, st, "body", "%s", err.msg);
        json_decref(obj);
        json_decref(doc);
        return;
    }
    text = json_dumps(obj, JSON_COMPACT);
    if (json_is_object(zone)) {
        json_t *both = json_pack("{s:O,s:O}", "cluster", obj, "zone", zone);
        free(text);
        text = json_dumps(both, JSON_COMPACT);
        json_decref(both);
    }
    if (!text || cpn_store_doc_put(s->store, "cluster", id, srv_now_s(s), text, &err))
        srv_problem(c, 500, NULL, "the registration could not be stored: %s", err.msg);
    else
        srv_json(c, k < 0 ? 201 : 200,
                 cluster_summary(s, (size_t)cpn_network_cluster(s->net, id), true));
    free(text);
    json_decref(obj);
    json_decref(doc);
}

int srv_clusters_load(struct cpn_server *s, struct cpn_error *err);

struct load_ctx {
    json_t *doc;
    struct cpn_error *err;
};

static int load_one(void *ctx, const char *key, int64_t updated_s, const char *text)
{
    struct load_ctx *L = ctx;
    json_t *v = json_loads(text, 0, NULL), *cl, *zone;
    (void)updated_s;
    if (!v)
        return cpn_errorf(L->err, CPN_EPARSE, "stored registration of cluster %s is not JSON", key);
    cl = json_object_get(v, "cluster");
    zone = json_object_get(v, "zone");
    if (cl && zone) {
        json_array_append(json_object_get(L->doc, "zones"), zone);
        doc_put_cluster(L->doc, cl);
    } else {
        doc_put_cluster(L->doc, v);
    }
    json_decref(v);
    return 0;
}

/* Applies stored registrations to s->net_doc (called at start, before the network is built). */
int srv_clusters_load(struct cpn_server *s, struct cpn_error *err)
{
    struct load_ctx L = { s->net_doc, err };
    return cpn_store_docs_each(s->store, "cluster", load_one, &L, err);
}

/* ---- telemetry and health
 * ------------------------------------------------------------------------- */

void srv_telemetry(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who)
{
    const char *id = c->req->match.params[0];
    int32_t k = cpn_network_cluster(s->net, id);
    struct srv_cluster_state *st;
    const json_t *pools;
    struct cpn_error err = { 0 };
    char *text;
    int64_t now = srv_now_s(s);
    bool changed_units = false;
    json_t *doc = NULL;
    if (k < 0) {
        srv_problem(c, 404, "id", "no cluster '%s'", id);
        return;
    }
    if (!srv_provider_owns(who, id)) {
        srv_problem(c, 403, "id", "this token may not report telemetry for cluster '%s'", id);
        return;
    }
    {
        char field[64], msg[300];
        if (srv_check_telemetry(s->net, k, c->body, field, sizeof field, msg, sizeof msg)) {
            srv_problem(c, 400, field, "%s", msg);
            return;
        }
    }
    pools = json_object_get(c->body, "pools");
    st = &s->cl[k];
    st->have_telemetry = true;
    st->last_report_s = now;
    st->utilisation = json_number_value(json_object_get(c->body, "utilisation"));
    st->power_kw = json_number_value(json_object_get(c->body, "power_kw"));
    st->measured_pue = json_number_value(json_object_get(c->body, "pue"));
    for (size_t i = 0; pools && i < json_array_size(pools); i++) {
        const json_t *p = json_array_get(pools, i);
        const char *pid = json_string_value(json_object_get(p, "id"));
        const struct cpn_cluster *cl = &s->net->clusters[k];
        for (int32_t q = 0; q < cl->pool_count; q++) {
            int32_t pi = cl->pool_first + q;
            json_int_t total = json_integer_value(json_object_get(p, "total"));
            if (strcmp(s->net->pools[pi].id, pid))
                continue;
            s->pool_available[pi] = json_integer_value(json_object_get(p, "available"));
            if (s->net->pools[pi].units != CPN_UNLIMITED && total != s->net->pools[pi].units)
                changed_units = true;
        }
    }
    text = json_dumps(c->body, JSON_COMPACT);
    if (!text || cpn_store_doc_put(s->store, "telemetry", id, now, text, &err)) {
        free(text);
        srv_problem(c, 500, NULL, "telemetry could not be stored: %s", err.msg);
        return;
    }
    free(text);
    if (st->down) {
        st->down = false;
        cpn_engine_set_cluster_up(s->eng, k, true);
        fprintf(s->log, "cpnet serve: cluster %s reports again: up\n", id);
        srv_replan(s, "a cluster came back");
    }
    if (changed_units) { /* total capacity (K1) changed: the network changes with it */
        json_t *cls = json_object_get(s->net_doc, "clusters"), *cobj = NULL, *x;
        size_t i;
        doc = json_deep_copy(s->net_doc);
        cls = json_object_get(doc, "clusters");
        json_array_foreach(cls, i, x) if (!strcmp(json_string_value(json_object_get(x, "id")), id))
            cobj = x;
        for (size_t pi = 0; cobj && pi < json_array_size(pools); pi++) {
            const json_t *p = json_array_get(pools, pi);
            json_t *cp;
            size_t q;
            json_array_foreach(json_object_get(cobj, "pools"), q,
                               cp) if (!strcmp(json_string_value(json_object_get(cp, "id")),
                                               json_string_value(json_object_get(p, "id"))))
                json_object_set(cp, "units", json_object_get(p, "total"));
        }
        if (cobj) {
            char *ctext = json_dumps(cobj, JSON_COMPACT);
            if (apply_network(s, doc, "a capacity change", &err) == 0 && ctext)
                cpn_store_doc_put(s->store, "cluster", id, now, ctext, &err);
            free(ctext);
        }
        json_decref(doc);
    }
    srv_json(c, 202, json_pack("{s:s,s:s}", "cluster", id, "health", "up"));
}

void srv_health_tick(struct cpn_server *s, int64_t now_s)
{
    int timeout = s->cfg.telemetry_timeout_s > 0 ? s->cfg.telemetry_timeout_s : 90;
    bool changed = false;
    for (size_t k = 0; k < s->net->nclusters; k++) {
        struct srv_cluster_state *st = &s->cl[k];
        /* silence in wall seconds: a demo's fast platform clock must not shorten it */
        double speed = s->cfg.clock_speed > 1 ? s->cfg.clock_speed : 1;
        int64_t silent_s = (int64_t)((double)(now_s - st->last_report_s) / speed);
        if (!st->last_report_s || st->down || silent_s <= timeout)
            continue;
        st->down = true;
        cpn_engine_set_cluster_up(s->eng, (int32_t)k, false);
        fprintf(s->log, "cpnet serve: cluster %s silent for %lld s: down\n", s->net->clusters[k].id,
                (long long)silent_s);
        changed = true;
    }
    if (changed)
        srv_replan(s, "a cluster went down");
}

static int telemetry_one(void *ctx, const char *key, int64_t updated_s, const char *text)
{
    struct cpn_server *s = ctx;
    int32_t k = cpn_network_cluster(s->net, key);
    json_t *v;
    (void)updated_s;
    if (k < 0)
        return 0;
    v = json_loads(text, 0, NULL);
    if (!v)
        return 0;
    /* the silence timeout starts again at this start: the platform was away, not the cluster */
    s->cl[k].have_telemetry = true;
    s->cl[k].last_report_s = srv_now_s(s);
    s->cl[k].utilisation = json_number_value(json_object_get(v, "utilisation"));
    s->cl[k].power_kw = json_number_value(json_object_get(v, "power_kw"));
    s->cl[k].measured_pue = json_number_value(json_object_get(v, "pue"));
    json_decref(v);
    return 0;
}

int srv_telemetry_load(struct cpn_server *s, struct cpn_error *err)
{
    return cpn_store_docs_each(s->store, "telemetry", telemetry_one, s, err);
}
