/* SPDX-License-Identifier: Apache-2.0 */
/* A job as JSON: the document stored in the store and returned by the API. The spec is written in
 * the job input format (docs/formats.md#jobs), so it decodes back with the same loader on restart;
 * the placement carries cluster and pool ids (not indexes) and absolute times, so it survives a
 * network change or a new planning horizon. */
#include <math.h>
#include <string.h>

#include "serve_int.h"

/* Writes str with JSON string escaping. */
static void buf_json_str(struct cpn_buf *b, const char *str)
{
    cpn_buf_puts(b, "\"");
    for (const char *p = str; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\')
            cpn_buf_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            cpn_buf_printf(b, "\\u%04x", ch);
        else
            cpn_buf_append(b, p, 1);
    }
    cpn_buf_puts(b, "\"");
}

/* ,"key":"<time>" */
static void buf_time(struct cpn_buf *b, const char *key, int64_t t)
{
    char v[CPN_TIME_STRLEN];
    cpn_time_format(t, v);
    cpn_buf_printf(b, ",\"%s\":\"%s\"", key, v);
}

/* ,"key":<number> with 12 significant digits (reports; the store keeps what the API shows) */
static void buf_num(struct cpn_buf *b, const char *key, double v)
{
    cpn_buf_printf(b, ",\"%s\":", key);
    cpn_buf_g(b, v, 12);
}

static void buf_key_str(struct cpn_buf *b, const char *key, const char *v)
{
    cpn_buf_printf(b, ",\"%s\":", key);
    buf_json_str(b, v);
}

/* The spec in the job input format; ids of the network are plain ([A-Za-z0-9._:-]). */
static void spec_write(const struct cpn_server *s, const struct srv_job *j, struct cpn_buf *b)
{
    const struct cpn_job *p = &j->spec;
    const struct cpn_network *net = s->net;
    cpn_buf_printf(b, "{\"id\":\"%s\"", j->id);
    buf_key_str(b, "tenant", j->tenant);
    cpn_buf_printf(b, ",\"origin\":\"%s\",\"class\":\"%s\"", net->sites[p->site].id,
                   cpn_class_name((enum cpn_class)p->cls));
    if (p->device[0])
        buf_key_str(b, "device", p->device);
    if (p->min_tflops > 0)
        buf_num(b, "min_tflops", p->min_tflops);
    cpn_buf_printf(b, ",\"units\":%lld", (long long)p->units);
    if (p->duration_s > 0)
        cpn_buf_printf(b, ",\"duration\":%lld", (long long)p->duration_s);
    if (p->work_pflop_h > 0)
        buf_num(b, "work_pflop_h", p->work_pflop_h);
    buf_time(b, "submit", p->submit_s);
    buf_time(b, "earliest", p->earliest_s);
    if (p->deadline_s != CPN_NO_DEADLINE)
        buf_time(b, "deadline", p->deadline_s);
    cpn_buf_printf(b, ",\"interruptible\":%s", p->interruptible ? "true" : "false");
    if (p->max_rtt_ms > 0)
        buf_num(b, "max_rtt_ms", p->max_rtt_ms);
    if (p->data_gb > 0)
        buf_num(b, "data_gb", p->data_gb);
    if (p->data_site >= 0)
        cpn_buf_printf(b, ",\"data_site\":\"%s\"", net->sites[p->data_site].id);
    if (p->allowed_hubs || p->n_allowed) {
        bool first = true;
        cpn_buf_puts(b, ",\"allowed\":[");
        for (size_t h = 0; h < net->nhubs && h < 64; h++)
            if (p->allowed_hubs & (1ull << h)) {
                cpn_buf_printf(b, "%s\"hub:%s\"", first ? "" : ",", net->hubs[h].id);
                first = false;
            }
        for (uint32_t i = 0; i < p->n_allowed; i++) {
            cpn_buf_printf(b, "%s\"cluster:%s\"", first ? "" : ",",
                           net->clusters[j->allowed[i]].id);
            first = false;
        }
        cpn_buf_puts(b, "]");
    }
    if (p->price_ceiling_ucny > 0)
        buf_num(b, "price_ceiling_cny", (double)p->price_ceiling_ucny / CPN_UCNY_PER_CNY);
    if (p->priority)
        cpn_buf_printf(b, ",\"priority\":%d", p->priority);
    if (j->command)
        buf_key_str(b, "command", j->command);
    cpn_buf_puts(b, "}");
}

void srv_placement_write(const struct cpn_server *s,
                         const struct cpn_placement *p,
                         struct cpn_buf *b)
{
    const struct cpn_network *net = s->net;
    int64_t t0 = cpn_engine_t0(s->eng), slot = net->slot_s;
    const struct cpn_cluster *c = &net->clusters[p->cluster];
    char v[CPN_TIME_STRLEN];
    cpn_buf_printf(b, "{\"cluster\":\"%s\",\"pool\":\"%s\",\"hub\":\"%s\"", c->id,
                   net->pools[p->pool].id, net->hubs[c->hub].id);
    buf_key_str(b, "device", net->pools[p->pool].device);
    buf_time(b, "start", p->start_s);
    buf_time(b, "end", p->end_s);
    cpn_buf_puts(b, ",\"runs\":[");
    if (p->nruns > 1) {
        for (uint32_t r = 0; r < p->nruns; r++) {
            cpn_time_format(t0 + (int64_t)p->runs[r].start * slot, v);
            cpn_buf_printf(b, "%s{\"start\":\"%s\",\"slots\":%d}", r ? "," : "", v, p->runs[r].len);
        }
    } else {
        cpn_time_format(p->start_s, v);
        cpn_buf_printf(b, "{\"start\":\"%s\",\"slots\":%d}", v, p->nslots);
    }
    cpn_buf_printf(b, "],\"slot_s\":%lld", (long long)slot);
    buf_num(b, "duration_s", p->duration_s);
    buf_num(b, "energy_kwh", p->energy_kwh);
    buf_num(b, "carbon_kg", p->carbon_kg);
    buf_num(b, "cost_cny", (double)p->cost_ucny / CPN_UCNY_PER_CNY);
    buf_num(b, "objective_cny", p->objective);
    buf_num(b, "latency_ms", p->latency_ms);
    buf_num(b, "transfer_s", p->transfer_s);
    cpn_buf_puts(b, "}");
}

json_t *srv_placement_json(const struct cpn_server *s, const struct cpn_placement *p)
{
    struct cpn_buf b = { 0 };
    json_t *o;
    srv_placement_write(s, p, &b);
    o = b.data ? json_loads(b.data, 0, NULL) : NULL;
    cpn_buf_free(&b);
    return o;
}

const char *srv_job_state(const struct cpn_server *s, const struct srv_job *j)
{
    int64_t now = srv_now_s(s);
    switch (j->state) {
    case SJ_QUEUED:
        return "queued";
    case SJ_CANCELLED:
        return "cancelled";
    default:
        break;
    }
    if (j->exec.state != SX_NONE)
        return srv_exec_name(j->exec.state);
    if (j->placed && s->cl[j->pl.cluster].have_telemetry)
        return "placed"; /* a cluster with an agent: running only when its agent says so */
    if (now >= j->pl.end_s)
        return "completed";
    if (now >= j->pl.start_s)
        return "running";
    return "placed";
}

void srv_job_write(const struct cpn_server *s, const struct srv_job *j, struct cpn_buf *b)
{
    cpn_buf_printf(b, "{\"id\":\"%s\"", j->id);
    if (j->name[0])
        buf_key_str(b, "name", j->name);
    buf_key_str(b, "tenant", j->tenant);
    cpn_buf_printf(b, ",\"state\":\"%s\"", srv_job_state(s, j));
    buf_time(b, "created", j->created_s);
    buf_time(b, "updated", j->updated_s);
    if (j->idem[0])
        buf_key_str(b, "idempotency_key", j->idem);
    cpn_buf_puts(b, ",\"spec\":");
    spec_write(s, j, b);
    if (j->placed) {
        cpn_buf_puts(b, ",\"placement\":");
        srv_placement_write(s, &j->pl, b);
        /* two job-level figures beside the placement (kept out of it: quotes share that shape) */
        cpn_buf_puts(b, ",\"green_share\":");
        cpn_buf_g(b, j->green_share, 6);
        cpn_buf_puts(b, ",\"nearest_carbon_kg\":");
        cpn_buf_g(b, j->nearest_carbon_kg, 9);
    }
    if (j->reason[0])
        buf_key_str(b, "reason", j->reason);
    if (j->state == SJ_CANCELLED)
        buf_time(b, "cancelled", j->cancelled_s);
    srv_exec_write(s, j, b);
    cpn_buf_puts(b, "}");
}

char *srv_job_text(const struct cpn_server *s, const struct srv_job *j)
{
    struct cpn_buf b = { 0 };
    srv_job_write(s, j, &b);
    if (cpn_buf_puts(&b, "")) {
        cpn_buf_free(&b);
        return NULL;
    }
    return b.data;
}

json_t *srv_job_json(const struct cpn_server *s, const struct srv_job *j)
{
    char *t = srv_job_text(s, j);
    json_t *o = t ? json_loads(t, 0, NULL) : NULL;
    cpn_free(t);
    return o;
}

/* The explanation as JSON text, written directly: it is made for every decision, so it skips
 * building a jansson tree. Same shape as srv_explain_json. Returns a cpn_malloc'd string. */
char *srv_explain_text(const struct cpn_server *s, const struct cpn_explain *ex)
{
    const struct cpn_network *net = s->net;
    struct cpn_buf b = { 0 };
    char t[CPN_TIME_STRLEN];
    cpn_buf_printf(&b, "{\"why\":\"%s\",\"detail\":", cpn_why_name(ex->why));
    buf_json_str(&b, ex->detail);
    cpn_buf_printf(&b, ",\"policy\":\"%s\",\"options\":[", s->pol.name);
    for (uint32_t i = 0; i < ex->n; i++) {
        const struct cpn_option *op = &ex->opts[i];
        cpn_buf_printf(&b, "%s{\"cluster\":\"%s\"", i ? "," : "", net->clusters[op->cluster].id);
        if (op->pool >= 0)
            cpn_buf_printf(&b, ",\"pool\":\"%s\"", net->pools[op->pool].id);
        cpn_buf_printf(&b, ",\"feasible\":%s", op->why == CPN_WHY_OK ? "true" : "false");
        if (op->why != CPN_WHY_OK)
            cpn_buf_printf(&b, ",\"excluded_by\":\"%s\"", cpn_why_name(op->why));
        cpn_buf_puts(&b, ",\"latency_ms\":");
        cpn_buf_g(&b, op->latency_ms, 6);
        if (op->why == CPN_WHY_OK || op->why == CPN_WHY_PRICE) {
            cpn_time_format(op->start_s, t);
            cpn_buf_printf(&b, ",\"start\":\"%s\",\"objective_cny\":", t);
            cpn_buf_g(&b, op->objective, 9);
            cpn_buf_puts(&b, ",\"carbon_kg\":");
            cpn_buf_g(&b, op->carbon_kg, 9);
            cpn_buf_puts(&b, ",\"cost_cny\":");
            cpn_buf_g(&b, (double)op->cost_ucny / CPN_UCNY_PER_CNY, 9);
        }
        cpn_buf_puts(&b, "}");
    }
    if (cpn_buf_puts(&b, "]}")) {
        cpn_buf_free(&b);
        return NULL;
    }
    return b.data;
}

json_t *srv_explain_json(const struct cpn_server *s, const struct cpn_explain *ex)
{
    char *t = srv_explain_text(s, ex);
    json_t *o = t ? json_loads(t, 0, NULL) : NULL;
    cpn_free(t);
    return o;
}
