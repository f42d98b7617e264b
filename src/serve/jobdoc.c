/* SPDX-License-Identifier: Apache-2.0 */
/* A job as JSON: the document stored in the store and returned by the API. The spec is written in
 * the job input format (docs/formats.md#jobs), so it decodes back with the same loader on restart;
 * the placement carries cluster and pool ids (not indexes) and absolute times, so it survives a
 * network change or a new planning horizon. */
#include <math.h>
#include <string.h>

#include "serve_int.h"

static json_t *time_json(int64_t t)
{
    char b[CPN_TIME_STRLEN];
    cpn_time_format(t, b);
    return json_string(b);
}

static void set_time(json_t *o, const char *k, int64_t t)
{
    json_object_set_new(o, k, time_json(t));
}

static json_t *spec_json(const struct cpn_server *s, const struct srv_job *j)
{
    const struct cpn_job *p = &j->spec;
    const struct cpn_network *net = s->net;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(j->id));
    json_object_set_new(o, "tenant", json_string(j->tenant));
    json_object_set_new(o, "origin", json_string(net->sites[p->site].id));
    json_object_set_new(o, "class", json_string(cpn_class_name((enum cpn_class)p->cls)));
    if (p->device[0])
        json_object_set_new(o, "device", json_string(p->device));
    if (p->min_tflops > 0)
        json_object_set_new(o, "min_tflops", json_real(p->min_tflops));
    json_object_set_new(o, "units", json_integer(p->units));
    if (p->duration_s > 0)
        json_object_set_new(o, "duration", json_integer(p->duration_s));
    if (p->work_pflop_h > 0)
        json_object_set_new(o, "work_pflop_h", json_real(p->work_pflop_h));
    set_time(o, "submit", p->submit_s);
    set_time(o, "earliest", p->earliest_s);
    if (p->deadline_s != CPN_NO_DEADLINE)
        set_time(o, "deadline", p->deadline_s);
    json_object_set_new(o, "interruptible", json_boolean(p->interruptible));
    if (p->max_rtt_ms > 0)
        json_object_set_new(o, "max_rtt_ms", json_real(p->max_rtt_ms));
    if (p->data_gb > 0)
        json_object_set_new(o, "data_gb", json_real(p->data_gb));
    if (p->data_site >= 0)
        json_object_set_new(o, "data_site", json_string(net->sites[p->data_site].id));
    if (p->allowed_hubs || p->n_allowed) {
        json_t *a = json_array();
        for (size_t h = 0; h < net->nhubs && h < 64; h++)
            if (p->allowed_hubs & (1ull << h)) {
                char b[CPN_ID_MAX + 8];
                snprintf(b, sizeof b, "hub:%s", net->hubs[h].id);
                json_array_append_new(a, json_string(b));
            }
        for (uint32_t i = 0; i < p->n_allowed; i++) {
            char b[CPN_ID_MAX + 8];
            snprintf(b, sizeof b, "cluster:%s", net->clusters[j->allowed[i]].id);
            json_array_append_new(a, json_string(b));
        }
        json_object_set_new(o, "allowed", a);
    }
    if (p->price_ceiling_ucny > 0)
        json_object_set_new(o, "price_ceiling_cny",
                            json_real((double)p->price_ceiling_ucny / CPN_UCNY_PER_CNY));
    if (p->priority)
        json_object_set_new(o, "priority", json_integer(p->priority));
    return o;
}

json_t *srv_placement_json(const struct cpn_server *s, const struct cpn_placement *p)
{
    const struct cpn_network *net = s->net;
    int64_t t0 = cpn_engine_t0(s->eng), slot = net->slot_s;
    json_t *o = json_object(), *runs = json_array();
    const struct cpn_cluster *c = &net->clusters[p->cluster];
    json_object_set_new(o, "cluster", json_string(c->id));
    json_object_set_new(o, "pool", json_string(net->pools[p->pool].id));
    json_object_set_new(o, "hub", json_string(net->hubs[c->hub].id));
    json_object_set_new(o, "device", json_string(net->pools[p->pool].device));
    set_time(o, "start", p->start_s);
    set_time(o, "end", p->end_s);
    if (p->nruns > 1) {
        for (uint32_t r = 0; r < p->nruns; r++) {
            json_t *x = json_object();
            set_time(x, "start", t0 + (int64_t)p->runs[r].start * slot);
            json_object_set_new(x, "slots", json_integer(p->runs[r].len));
            json_array_append_new(runs, x);
        }
    } else {
        json_t *x = json_object();
        set_time(x, "start", p->start_s);
        json_object_set_new(x, "slots", json_integer(p->nslots));
        json_array_append_new(runs, x);
    }
    json_object_set_new(o, "runs", runs);
    json_object_set_new(o, "slot_s", json_integer(slot));
    json_object_set_new(o, "duration_s", json_real(p->duration_s));
    json_object_set_new(o, "energy_kwh", json_real(p->energy_kwh));
    json_object_set_new(o, "carbon_kg", json_real(p->carbon_kg));
    json_object_set_new(o, "cost_cny", json_real((double)p->cost_ucny / CPN_UCNY_PER_CNY));
    json_object_set_new(o, "objective_cny", json_real(p->objective));
    json_object_set_new(o, "latency_ms", json_real(p->latency_ms));
    json_object_set_new(o, "transfer_s", json_real(p->transfer_s));
    return o;
}

const char *srv_state_name(const struct cpn_server *s, int st, int64_t start_s, int64_t end_s)
{
    int64_t now = srv_now_s(s);
    switch (st) {
    case SJ_QUEUED:
        return "queued";
    case SJ_CANCELLED:
        return "cancelled";
    default:
        if (now >= end_s)
            return "completed";
        if (now >= start_s)
            return "running";
        return "placed";
    }
}

json_t *srv_job_json(const struct cpn_server *s, const struct srv_job *j, bool with_explain)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(j->id));
    if (j->name[0])
        json_object_set_new(o, "name", json_string(j->name));
    json_object_set_new(o, "tenant", json_string(j->tenant));
    json_object_set_new(o, "state", json_string(srv_state_name(s, (int)j->state, j->pl.start_s,
                                                               j->pl.end_s)));
    set_time(o, "created", j->created_s);
    set_time(o, "updated", j->updated_s);
    if (j->idem[0])
        json_object_set_new(o, "idempotency_key", json_string(j->idem));
    json_object_set_new(o, "spec", spec_json(s, j));
    if (j->placed)
        json_object_set_new(o, "placement", srv_placement_json(s, &j->pl));
    if (j->reason[0])
        json_object_set_new(o, "reason", json_string(j->reason));
    if (j->state == SJ_CANCELLED)
        set_time(o, "cancelled", j->cancelled_s);
    if (with_explain && j->explain) {
        json_t *e = json_loads(j->explain, 0, NULL);
        if (e)
            json_object_set_new(o, "explain", e);
    }
    return o;
}

json_t *srv_explain_json(const struct cpn_server *s, const struct cpn_explain *ex)
{
    const struct cpn_network *net = s->net;
    json_t *o = json_object(), *a = json_array();
    json_object_set_new(o, "why", json_string(cpn_why_name(ex->why)));
    json_object_set_new(o, "detail", json_string(ex->detail));
    json_object_set_new(o, "policy", json_string(s->pol.name));
    for (uint32_t i = 0; i < ex->n; i++) {
        const struct cpn_option *op = &ex->opts[i];
        json_t *x = json_object();
        json_object_set_new(x, "cluster", json_string(net->clusters[op->cluster].id));
        if (op->pool >= 0)
            json_object_set_new(x, "pool", json_string(net->pools[op->pool].id));
        json_object_set_new(x, "feasible", json_boolean(op->why == CPN_WHY_OK));
        if (op->why != CPN_WHY_OK)
            json_object_set_new(x, "excluded_by", json_string(cpn_why_name(op->why)));
        json_object_set_new(x, "latency_ms", json_real(op->latency_ms));
        if (op->why == CPN_WHY_OK || op->why == CPN_WHY_PRICE) {
            set_time(x, "start", op->start_s);
            json_object_set_new(x, "objective_cny", json_real(op->objective));
            json_object_set_new(x, "carbon_kg", json_real(op->carbon_kg));
            json_object_set_new(x, "cost_cny",
                                json_real((double)op->cost_ucny / CPN_UCNY_PER_CNY));
        }
        json_array_append_new(a, x);
    }
    json_object_set_new(o, "options", a);
    return o;
}
