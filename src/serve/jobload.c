/* SPDX-License-Identifier: Apache-2.0 */
/* Restart: every job comes back from its stored document. The spec decodes through the job loader;
 * the placement is rebuilt from cluster and pool ids and absolute times, and committed to the
 * engine again when it has not ended. A document that no longer fits the network (a pool that
 * left) brings its job back as queued, to be placed by the first re-plan. */
#include <errno.h>
#include <string.h>

#include "serve_int.h"

static int64_t jtime(const json_t *o, const char *k)
{
    int64_t t = 0;
    const char *s = json_string_value(json_object_get(o, k));
    if (s)
        cpn_time_parse(s, &t);
    return t;
}

static int restore_placement(struct cpn_server *s, struct srv_job *j, const json_t *p)
{
    const struct cpn_network *net = s->net;
    int32_t c = cpn_network_cluster(net, json_string_value(json_object_get(p, "cluster")));
    const char *pid = json_string_value(json_object_get(p, "pool"));
    const json_t *runs = json_object_get(p, "runs");
    int64_t t0 = cpn_engine_t0(s->eng), slot = net->slot_s;
    struct cpn_placement *pl = &j->pl;
    int32_t pool = -1;
    size_t nr = json_array_size(runs);
    if (c < 0 || !pid || nr == 0)
        return -ENOENT;
    for (int32_t q = 0; q < net->clusters[c].pool_count; q++)
        if (!strcmp(net->pools[net->clusters[c].pool_first + q].id, pid))
            pool = net->clusters[c].pool_first + q;
    if (pool < 0)
        return -ENOENT;
    memset(pl, 0, sizeof *pl);
    pl->cluster = c;
    pl->pool = pool;
    pl->start_s = jtime(p, "start");
    pl->end_s = jtime(p, "end");
    pl->start_slot = (int32_t)cpn_floordiv(pl->start_s - t0, slot);
    pl->duration_s = json_number_value(json_object_get(p, "duration_s"));
    pl->energy_kwh = json_number_value(json_object_get(p, "energy_kwh"));
    pl->carbon_kg = json_number_value(json_object_get(p, "carbon_kg"));
    pl->cost_ucny = (int64_t)(json_number_value(json_object_get(p, "cost_cny")) * 1e6 + 0.5);
    pl->objective = json_number_value(json_object_get(p, "objective_cny"));
    pl->latency_ms = json_number_value(json_object_get(p, "latency_ms"));
    pl->transfer_s = json_number_value(json_object_get(p, "transfer_s"));
    pl->nruns = (uint32_t)nr;
    if (nr > 1) {
        j->runs = cpn_calloc(nr, sizeof *j->runs);
        if (!j->runs)
            return -ENOMEM;
    }
    for (size_t r = 0; r < nr; r++) {
        const json_t *x = json_array_get(runs, r);
        int32_t len = (int32_t)json_integer_value(json_object_get(x, "slots"));
        int32_t st = (int32_t)cpn_floordiv(jtime(x, "start") - t0, slot);
        pl->nslots += len;
        if (nr > 1) {
            j->runs[r].start = st;
            j->runs[r].len = len;
        }
    }
    pl->runs = j->runs;
    j->placed = true;
    return 0;
}

static void restore_exec(const struct cpn_server *s, struct srv_exec *x, const json_t *o)
{
    const json_t *u = json_object_get(o, "usage");
    const char *st = json_string_value(json_object_get(o, "state"));
    memset(x, 0, sizeof *x);
    x->cluster = -1;
    if (!json_is_object(o) || !st || srv_exec_parse(st, &x->state))
        return;
    x->cluster = cpn_network_cluster(s->net, json_string_value(json_object_get(o, "cluster")));
    if (json_is_string(json_object_get(o, "executor_id")))
        cpn_strlcpy(x->executor_id, json_string_value(json_object_get(o, "executor_id")),
                    sizeof x->executor_id);
    if (json_is_string(json_object_get(o, "message")))
        cpn_strlcpy(x->message, json_string_value(json_object_get(o, "message")),
                    sizeof x->message);
    x->dispatched_s = jtime(o, "dispatched");
    x->started_s = jtime(o, "started");
    x->ended_s = jtime(o, "ended");
    x->exit_code = (int)json_integer_value(json_object_get(o, "exit_code"));
    x->unit_hours = json_number_value(json_object_get(u, "unit_hours"));
    x->energy_kwh = json_number_value(json_object_get(u, "energy_kwh"));
    x->energy_measured =
        json_is_string(json_object_get(u, "energy_source")) &&
        !strcmp(json_string_value(json_object_get(u, "energy_source")), "measured");
}

struct load_ctx {
    struct cpn_server *s;
    struct cpn_error *err;
};

static int load_one(void *ctx, const struct cpn_store_job *rec)
{
    struct load_ctx *L = ctx;
    struct cpn_server *s = L->s;
    json_error_t je;
    json_t *doc = json_loads(rec->doc, 0, &je), *spec, *ex;
    char *command = NULL;
    struct cpn_jobset *js = NULL;
    struct srv_job *j;
    const char *state;
    int rc;
    if (!doc)
        return cpn_errorf(L->err, CPN_EPARSE, "stored job %s: %s", rec->id, je.text);
    spec = json_object_get(doc, "spec");
    if (json_is_string(json_object_get(spec, "command")))
        command = cpn_strdup(json_string_value(json_object_get(spec, "command")));
    json_object_del(spec, "command"); /* the agent's, not the job loader's */
    if ((rc = cpn_job_decode(spec, rec->id, s->net, rec->id, &js, L->err))) {
        cpn_free(command);
        json_decref(doc);
        return rc;
    }
    j = cpn_calloc(1, sizeof *j);
    if (!j ||
        (js->v[0].n_allowed && !(j->allowed = cpn_calloc(js->v[0].n_allowed, sizeof(int32_t))))) {
        cpn_free(j);
        cpn_free(command);
        cpn_jobset_destroy(js);
        json_decref(doc);
        return cpn_errorf(L->err, -ENOMEM, "out of memory loading jobs");
    }
    j->spec = js->v[0];
    if (j->spec.n_allowed)
        memcpy(j->allowed, js->allowed + js->v[0].allowed_off, j->spec.n_allowed * sizeof(int32_t));
    j->spec.allowed_off = 0;
    cpn_jobset_destroy(js);
    j->command = command;
    restore_exec(s, &j->exec, json_object_get(doc, "execution"));
    restore_exec(s, &j->stale, json_object_get(doc, "previous_execution"));
    cpn_strlcpy(j->id, rec->id, sizeof j->id);
    cpn_strlcpy(j->tenant, rec->tenant, sizeof j->tenant);
    cpn_strlcpy(j->idem, rec->idem_key, sizeof j->idem);
    if (j->idem[0])
        snprintf(j->idem_key, sizeof j->idem_key, "%s\x1f%s", j->tenant, j->idem);
    if (json_is_string(json_object_get(doc, "name")))
        cpn_strlcpy(j->name, json_string_value(json_object_get(doc, "name")), sizeof j->name);
    if (json_is_string(json_object_get(doc, "reason")))
        cpn_strlcpy(j->reason, json_string_value(json_object_get(doc, "reason")), sizeof j->reason);
    j->green_share = json_number_value(json_object_get(doc, "green_share"));
    j->nearest_carbon_kg = json_number_value(json_object_get(doc, "nearest_carbon_kg"));
    j->created_s = rec->created_s;
    j->updated_s = rec->updated_s;
    j->cancelled_s = jtime(doc, "cancelled");
    state = rec->state;
    j->state = !strcmp(state, "cancelled") ? SJ_CANCELLED
               : !strcmp(state, "queued")  ? SJ_QUEUED
                                           : SJ_PLACED;
    ex = json_object_get(doc, "explain");
    if (ex) {
        char *t = json_dumps(ex, JSON_COMPACT | JSON_REAL_PRECISION(12));
        j->explain = t ? cpn_strdup(t) : NULL;
        free(t);
    }
    if (json_object_get(doc, "placement")) {
        rc = restore_placement(s, j, json_object_get(doc, "placement"));
        if (rc == -ENOMEM) {
            srv_job_free(j);
            json_decref(doc);
            return cpn_errorf(L->err, rc, "out of memory loading jobs");
        }
        if (rc && j->state == SJ_PLACED) {
            j->state = SJ_QUEUED;
            cpn_strlcpy(j->reason, "its pool left the network", sizeof j->reason);
        }
    }
    json_decref(doc);
    if (j->placed && j->state == SJ_PLACED && j->pl.end_s > cpn_engine_t0(s->eng))
        cpn_engine_commit(s->eng, &j->spec, &j->pl);
    if (cpn_grow(&s->jobs, &s->jobs_cap, s->njobs + 1, sizeof *s->jobs) ||
        cpn_strmap_put(&s->job_ids, j->id, (int32_t)s->njobs) ||
        (j->idem[0] && cpn_strmap_put(&s->idem_ids, j->idem_key, (int32_t)s->njobs))) {
        srv_job_free(j);
        return cpn_errorf(L->err, -ENOMEM, "out of memory loading jobs");
    }
    s->jobs[s->njobs++] = j;
    return 0;
}

/* The (48-bit ms, 16-bit sequence) half of a job id (jobs.c: new_job_id), or 0 for an id of
 * another form. */
static uint64_t id_time_seq(const char *id)
{
    static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint64_t hi = 0, lo = 0;
    if (strncmp(id, "job_", 4) || strlen(id) != 4 + 26)
        return 0;
    for (const char *p = id + 4; *p; p++) {
        const char *d = strchr(b32, *p);
        if (!d)
            return 0;
        hi = (hi << 5) | (lo >> 59);
        lo = (lo << 5) | (uint64_t)(d - b32);
    }
    return hi;
}

int srv_jobs_load(struct cpn_server *s, struct cpn_error *err)
{
    struct load_ctx L = { s, err };
    struct cpn_store_job_filter f = { 0 };
    int rc = cpn_store_jobs_each(s->store, &f, load_one, &L, err);
    /* New ids continue after the newest stored one even if the clock is now behind it, so the
     * job array stays in id order (listing's keyset pagination searches it). */
    if (rc == 0 && s->njobs) {
        uint64_t last = id_time_seq(s->jobs[s->njobs - 1]->id);
        if (last > s->id_seq)
            s->id_seq = last;
    }
    return rc;
}
