/* SPDX-License-Identifier: Apache-2.0 */
/* What the agent tells the platform about its cluster: the pools it advertises (discovered by
 * the executor, refined by the config file or taken from the platform), the registration
 * (--register), and the telemetry report of every period (damped), with power measured (RAPL,
 * NVML) when the pools are this host's and estimated from the pools' power model otherwise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_loop_int.h"

#define AGT_DEFAULT_CPU_TFLOPS 0.05

/* ---- telemetry --------------------------------------------------------------------------------
 */

void agt_telemetry(struct agt_loop *a, bool force)
{
    struct cpn_error e = { 0 };
    struct agt_reply r;
    json_t *o, *pools;
    double util, kw = -1, watts = 0;
    const char *source = "estimated";
    char t[CPN_TIME_STRLEN], health[160];
    char *text;
    int rc;
    bool ok = true;
    rc = a->exec->ops->usage(a->exec, a->pools, a->npools, &a->running, &a->queued, &e);
    if (rc)
        snprintf(health, sizeof health, "degraded: %.140s", e.msg);
    else
        snprintf(health, sizeof health, "ok");
    if (strcmp(health, a->health)) {
        agt_logf(a, "health: %s", health);
        cpn_strlcpy(a->health, health, sizeof a->health);
    }
    util = agt_utilisation(a->pools, a->npools);
    a->periods_since++;
    if (!force &&
        !agt_damp_send(a->have_sent ? a->sent : NULL, a->pools, a->npools, a->sent_util, util,
                       a->conf.damping, a->periods_since, a->conf.heartbeat_periods))
        return;
    if (a->measure) {
        double w;
        int64_t now = cpn_monotonic_ns();
        if (a->rapl_ok && agt_rapl_watts(&a->rapl, now, &w) == 1)
            watts += w;
        else if (a->rapl_ok)
            ok = false;
        if (a->gpu && agt_nvml_watts(a->gpu, &w) == 0)
            watts += w;
        else if (a->gpu)
            ok = false;
        if (ok && (a->rapl_ok || a->gpu)) {
            kw = watts / 1000.0 * (a->pue >= 1 ? a->pue : 1);
            source = "measured";
        }
    }
    if (kw < 0)
        kw = agt_power_estimate_kw(a->pools, a->npools, a->pue);
    o = json_object();
    if (a->have_now) {
        agt_iso(agt_plat_now(a), t);
        json_object_set_new(o, "time", json_string(t));
    }
    pools = json_array();
    for (size_t i = 0; i < a->npools; i++)
        json_array_append_new(pools, json_pack("{s:s,s:I,s:I}", "id", a->pools[i].id, "total",
                                               (json_int_t)a->pools[i].total, "available",
                                               (json_int_t)a->pools[i].available));
    json_object_set_new(o, "pools", pools);
    json_object_set_new(o, "utilisation", json_real(util));
    json_object_set_new(o, "power_kw", json_real(kw));
    json_object_set_new(o, "power_source", json_string(source));
    if (a->pue >= 1)
        json_object_set_new(o, "pue", json_real(a->pue));
    json_object_set_new(o, "running_jobs", json_integer(a->running));
    json_object_set_new(o, "queued_jobs", json_integer(a->queued));
    json_object_set_new(o, "agent",
                        json_pack("{s:s,s:s,s:s}", "version", CPN_AGENT_VERSION, "executor",
                                  a->exec->ops->name, "health", a->health));
    text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (!text)
        return;
    {
        char path[160];
        snprintf(path, sizeof path, "%s/telemetry", a->base);
        rc = agt_call(a, "POST", path, text, 15, &r);
    }
    free(text);
    if (rc)
        return;
    if (r.status >= 200 && r.status < 300) {
        memcpy(a->sent, a->pools, a->npools * sizeof a->pools[0]);
        a->have_sent = true;
        a->sent_util = util;
        a->periods_since = 0;
    } else {
        agt_refused(a, "telemetry", &r);
    }
    agt_reply_free(&r);
}

/* ---- pools, platform info, registration -------------------------------------------------------
 */

static void apply_conf_pool(struct cpn_agent_pool *p, const struct agt_pool_conf *c)
{
    if (c->set & AGT_PF_PARTITION)
        cpn_strlcpy(p->partition, c->p.partition, sizeof p->partition);
    if (c->set & AGT_PF_CLASS)
        p->cls = c->p.cls;
    if (c->set & AGT_PF_DEVICE)
        cpn_strlcpy(p->device, c->p.device, sizeof p->device);
    if (c->set & AGT_PF_TFLOPS)
        p->tflops_per_unit = c->p.tflops_per_unit;
    if (c->set & AGT_PF_WATTS_IDLE)
        p->watts_idle = c->p.watts_idle;
    if (c->set & AGT_PF_WATTS_BUSY)
        p->watts_busy = c->p.watts_busy;
    if (c->set & AGT_PF_MEM)
        p->mem_gib_per_unit = c->p.mem_gib_per_unit;
    if (c->set & AGT_PF_PRICE)
        p->price_cny_per_unit_hour = c->p.price_cny_per_unit_hour;
    if (c->set & AGT_PF_UNITS)
        p->total = p->available = c->p.total;
}

static void fill_from_platform(struct cpn_agent_pool *p, unsigned set, const json_t *v);

/* --pools-from-platform: the pools the platform records for this cluster become the pools the
 * agent advertises (as if a config file named them), so one host can stand in for a reference
 * cluster in a demo. Waits for the platform (with the usual backoff) until it answers. */
int agt_pools_from_platform(struct agt_loop *a, struct cpn_error *err)
{
    struct agt_reply r;
    const json_t *pools, *v;
    size_t i;
    for (;;) {
        int rc = agt_call(a, "GET", a->base, NULL, 15, &r);
        if (rc == 0 && r.status == 200)
            break;
        agt_reply_free(&r);
        if (rc == -EINTR || *a->stop)
            return cpn_errorf(err, -EINTR, "stopped before the platform answered");
        if (rc == 0)
            return cpn_errorf(err, CPN_EREF,
                              "--pools-from-platform: the platform answered %ld "
                              "for cluster %s",
                              r.status, a->cfg->cluster);
        {
            struct timespec ts = { 0, 200 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    pools = json_object_get(r.json, "pools");
    json_array_foreach(pools, i, v)
    {
        struct agt_pool_conf *c;
        enum cpn_class cls;
        const json_t *u = json_object_get(v, "units");
        if (!agt_jstr(v, "id"))
            continue;
        if (cpn_grow(&a->conf.pools, &a->pools_cap, a->conf.npools + 1, sizeof *a->conf.pools)) {
            agt_reply_free(&r);
            return cpn_errorf(err, -ENOMEM, "out of memory");
        }
        c = &a->conf.pools[a->conf.npools++];
        memset(c, 0, sizeof *c);
        cpn_strlcpy(c->p.id, agt_jstr(v, "id"), sizeof c->p.id);
        c->p.total = json_is_integer(u) ? (int64_t)json_integer_value(u) : 1000000;
        c->p.available = c->p.total;
        c->set = AGT_PF_UNITS;
        if (agt_jstr(v, "class") && cpn_class_parse(agt_jstr(v, "class"), &cls) == 0) {
            c->p.cls = cls;
            c->set |= AGT_PF_CLASS;
        }
        fill_from_platform(&c->p, c->set, v);
        c->set |= AGT_PF_DEVICE | AGT_PF_TFLOPS | AGT_PF_WATTS_IDLE | AGT_PF_WATTS_BUSY |
                  AGT_PF_MEM | AGT_PF_PRICE;
    }
    agt_reply_free(&r);
    agt_logf(a, "advertising the platform's %zu pools of cluster %s", a->conf.npools,
             a->cfg->cluster);
    return 0;
}

int agt_setup_pools(struct agt_loop *a, struct cpn_error *err)
{
    const char *file = a->cfg->config_path ? a->cfg->config_path : "the agent config";
    bool local = !strcmp(a->exec->ops->name, "local");
    size_t n = 0, ndisc;
    bool named[AGT_POOLS_MAX] = { false };
    int rc;
    rc = a->exec->ops->discover(a->exec, a->pools, AGT_POOLS_MAX, &n, err);
    if (rc)
        return cpn_error_prefix(err, rc, "%s executor: discovery: ", a->exec->ops->name);
    a->npools = ndisc = n;
    a->measure = local;
    for (size_t k = 0; k < n; k++) { /* discovery knows what it found; power and price it guesses */
        const struct cpn_agent_pool *p = &a->pools[k];
        a->pset[k] = AGT_PF_CLASS | AGT_PF_UNITS | AGT_PF_PARTITION | AGT_PF_DEVICE |
                     (p->mem_gib_per_unit > 0 ? AGT_PF_MEM : 0) |
                     (p->tflops_per_unit > 0 ? AGT_PF_TFLOPS : 0) |
                     (p->watts_busy > 0 ? AGT_PF_WATTS_IDLE | AGT_PF_WATTS_BUSY : 0) |
                     (p->price_cny_per_unit_hour > 0 ? AGT_PF_PRICE : 0);
    }
    for (size_t i = 0; i < a->conf.npools; i++) {
        const struct agt_pool_conf *c = &a->conf.pools[i];
        struct cpn_agent_pool *p = NULL;
        size_t at = a->npools;
        for (size_t k = 0; k < a->npools; k++)
            if (!strcmp(a->pools[k].id, c->p.id))
                p = &a->pools[at = k];
        if (!p) {
            a->measure = false; /* a pool that is not the host's: its power is not the host's */
            if (!(c->set & AGT_PF_UNITS))
                return cpn_errorf(err, CPN_EFIELD,
                                  "%s: /pools/%zu/units: missing: pool \"%s\" is not one the %s "
                                  "executor discovered, so the file must give its units",
                                  file, i, c->p.id, a->exec->ops->name);
            if (a->npools >= AGT_POOLS_MAX)
                return cpn_errorf(err, CPN_ELIMIT, "%s: more than %d pools", file, AGT_POOLS_MAX);
            p = &a->pools[a->npools++];
            memset(p, 0, sizeof *p);
            cpn_strlcpy(p->id, c->p.id, sizeof p->id);
            p->cls = CPN_CLASS_GENERAL;
            a->pset[at] = 0;
        }
        apply_conf_pool(p, c);
        a->pset[at] |= c->set;
        named[at] = true;
    }
    /* the local executor advertises exactly the pools a config file names (the demo runs a
     * reference cluster's pools on one host); Slurm's discovered pools stay, refined or not */
    if (local && a->conf.npools) {
        size_t w = 0;
        for (size_t k = 0; k < a->npools; k++) {
            if (k < ndisc && !named[k])
                continue;
            a->pools[w] = a->pools[k];
            a->pset[w] = a->pset[k];
            w++;
        }
        a->npools = w;
    }
    if (!a->npools)
        return cpn_errorf(err, CPN_EFIELD, "the %s executor found no pool and %s names none",
                          a->exec->ops->name, file);
    return 0;
}

/* Takes what neither the executor nor the config file said about a pool from the platform's. */
static void fill_from_platform(struct cpn_agent_pool *p, unsigned set, const json_t *v)
{
    enum cpn_class cls;
    if (!(set & AGT_PF_CLASS) && agt_jstr(v, "class") &&
        cpn_class_parse(agt_jstr(v, "class"), &cls) == 0)
        p->cls = cls;
    if (!(set & AGT_PF_DEVICE) && agt_jstr(v, "device") && *agt_jstr(v, "device"))
        cpn_strlcpy(p->device, agt_jstr(v, "device"), sizeof p->device);
    if (!(set & AGT_PF_TFLOPS))
        p->tflops_per_unit = json_number_value(json_object_get(v, "tflops"));
    if (!(set & (AGT_PF_WATTS_IDLE | AGT_PF_WATTS_BUSY))) {
        p->watts_idle = json_number_value(json_object_get(v, "watts_idle"));
        p->watts_busy = json_number_value(json_object_get(v, "watts_busy"));
    }
    if (!(set & AGT_PF_MEM))
        p->mem_gib_per_unit = json_number_value(json_object_get(v, "mem_gib"));
    if (!(set & AGT_PF_PRICE))
        p->price_cny_per_unit_hour =
            json_number_value(json_object_get(v, "price_cny_per_unit_hour"));
}

/* The cluster as the platform knows it: fills the PUE and the power model of pools that neither
 * the executor nor the config file described, and warns about pools the platform does not know. */
void agt_fetch_info(struct agt_loop *a)
{
    struct agt_reply r;
    const json_t *pools, *v;
    size_t i;
    if (agt_call(a, "GET", a->base, NULL, 15, &r))
        return;
    a->have_info = true;
    if (r.status != 200 || !json_is_object(r.json)) {
        if (!(r.status == 404 && a->cfg->register_cluster))
            agt_refused(a, "cluster information", &r);
        agt_reply_free(&r);
        return;
    }
    if (!a->pue_set && json_is_number(json_object_get(r.json, "pue")))
        a->pue = json_number_value(json_object_get(r.json, "pue"));
    pools = json_object_get(r.json, "pools");
    for (size_t k = 0; k < a->npools; k++) {
        struct cpn_agent_pool *p = &a->pools[k];
        bool known = !json_is_array(pools);
        json_array_foreach(pools, i, v)
        {
            if (!agt_jstr(v, "id") || strcmp(agt_jstr(v, "id"), p->id))
                continue;
            known = true;
            fill_from_platform(p, a->pset[k], v);
        }
        if (!known && !a->cfg->register_cluster)
            agt_logf(a,
                     "pool %s is not in cluster %s on the platform: its telemetry will be refused "
                     "(use --register, or name the platform's pools in the config file)",
                     p->id, a->cfg->cluster);
    }
    agt_reply_free(&r);
}

static char *registration(struct agt_loop *a, struct cpn_error *err)
{
    const struct agt_cluster_conf *c = &a->conf.cluster;
    const char *file = a->cfg->config_path ? a->cfg->config_path : "the agent config";
    json_t *o, *pools;
    char *text;
    if (!c->present || !c->hub[0] || !c->zone[0] || !c->has_lon || !c->has_lat || !(c->pue >= 1)) {
        cpn_errorf(err, CPN_EUSAGE,
                   "--register needs the cluster's registration in %s: \"cluster\": {\"hub\", "
                   "\"zone\", \"lon\", \"lat\", \"pue\" (and name, province, owner)}",
                   file);
        return NULL;
    }
    o = json_pack("{s:s,s:s,s:s,s:f,s:f,s:f}", "name", c->name[0] ? c->name : a->cfg->cluster,
                  "hub", c->hub, "zone", c->zone, "lon", c->lon, "lat", c->lat, "pue", c->pue);
    if (!o) {
        cpn_errorf(err, -ENOMEM, "out of memory");
        return NULL;
    }
    if (c->province[0])
        json_object_set_new(o, "province", json_string(c->province));
    if (c->owner[0])
        json_object_set_new(o, "owner", json_string(c->owner));
    if (c->power_cap_kw > 0)
        json_object_set_new(o, "power_cap_kw", json_real(c->power_cap_kw));
    pools = json_array();
    for (size_t i = 0; i < a->npools; i++) {
        const struct cpn_agent_pool *p = &a->pools[i];
        json_t *x =
            json_pack("{s:s,s:s,s:I,s:f,s:f,s:f,s:f,s:f}", "id", p->id, "class",
                      cpn_class_name(p->cls), "units", (json_int_t)p->total, "tflops",
                      p->tflops_per_unit > 0 ? p->tflops_per_unit : AGT_DEFAULT_CPU_TFLOPS,
                      "watts_idle", p->watts_idle, "watts_busy", p->watts_busy, "mem_gib",
                      p->mem_gib_per_unit, "price_cny_per_unit_hour", p->price_cny_per_unit_hour);
        if (x && p->device[0])
            json_object_set_new(x, "device", json_string(p->device));
        json_array_append_new(pools, x);
    }
    json_object_set_new(o, "pools", pools);
    text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(o);
    if (!text)
        cpn_errorf(err, -ENOMEM, "out of memory");
    return text;
}

int agt_register_cluster(struct agt_loop *a, struct cpn_error *err)
{
    char *body = registration(a, err);
    int rc = -EAGAIN;
    if (!body)
        return err ? err->code : CPN_EUSAGE;
    while (!*a->stop) {
        struct agt_reply r;
        char why[1200];
        rc = agt_call(a, "PUT", a->base, body, 30, &r);
        if (rc == -EAGAIN && !a->cfg->once) {
            agt_sleep_until(a, a->retry_at_ns);
            continue;
        }
        if (rc)
            break;
        if (r.status >= 200 && r.status < 300) {
            agt_logf(a, "registered with %zu pool%s", a->npools, a->npools == 1 ? "" : "s");
        } else {
            agt_reply_why(&r, why, sizeof why);
            rc = cpn_errorf(err, CPN_EFIELD, "registration refused: %s", why);
        }
        agt_reply_free(&r);
        break;
    }
    free(body);
    if (rc == -EAGAIN)
        rc = cpn_errorf(err, -EIO, "registration: the platform did not answer");
    return rc;
}
