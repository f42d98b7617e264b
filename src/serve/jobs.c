/* SPDX-License-Identifier: Apache-2.0 */
/* Jobs in the service: submission (idempotent by key), reads with tenant isolation, listing with
 * keyset pagination, cancellation, explanations, quotes (a decision that commits nothing) and
 * re-planning. Every decision runs the engine with an explanation, which is stored with the job. A
 * job that can never run (class, latency, residency, size, deadline) is refused with 422 and the
 * reason; one that only lacks capacity now is accepted as queued and placed on a later re-plan. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "serve_int.h"

void srv_job_free(struct srv_job *j)
{
    if (!j)
        return;
    cpn_free(j->allowed);
    cpn_free(j->runs);
    cpn_free(j->command);
    cpn_free(j->explain);
    cpn_free(j);
}

/* Job ids: "job_" + 26 Crockford base32 chars of (48-bit ms time, 16-bit sequence, 64 random
 * bits), so ids sort by creation and are unique across platforms. */
static void new_job_id(struct cpn_server *s, char *out, size_t size)
{
    static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint64_t ms = (uint64_t)(s->cfg.clock.now_ns(s->cfg.clock.ctx) / 1000000);
    uint64_t hi, lo = cpn_rng_u64(&s->rng);
    char buf[27];
    if ((s->id_seq >> 16) >= ms)
        ms = s->id_seq >> 16; /* the clock went back: keep ids increasing */
    if ((s->id_seq >> 16) == ms)
        s->id_seq++;
    else
        s->id_seq = ms << 16;
    hi = s->id_seq;
    /* 128 bits -> 26 chars, most significant first (2 pad bits at the top) */
    for (int i = 25; i >= 0; i--) {
        buf[i] = b32[lo & 31];
        lo = (lo >> 5) | ((hi & 31) << 59);
        hi >>= 5;
    }
    buf[26] = '\0';
    snprintf(out, size, "job_%s", buf);
}

static struct srv_job *find_job(struct cpn_server *s, const char *id)
{
    int32_t i = cpn_strmap_get(&s->job_ids, id);
    return i < 0 ? NULL : s->jobs[i];
}

static int add_job(struct cpn_server *s, struct srv_job *j)
{
    if (cpn_grow(&s->jobs, &s->jobs_cap, s->njobs + 1, sizeof *s->jobs))
        return -ENOMEM;
    if (cpn_strmap_put(&s->job_ids, j->id, (int32_t)s->njobs))
        return -ENOMEM;
    if (j->idem[0] && cpn_strmap_put(&s->idem_ids, j->idem_key, (int32_t)s->njobs)) {
        return -ENOMEM;
    }
    s->jobs[s->njobs++] = j;
    return 0;
}

static void job_jobset(const struct srv_job *j, struct cpn_jobset *js)
{
    memset(js, 0, sizeof *js);
    js->allowed = j->allowed;
    js->nallowed = j->spec.n_allowed;
}

/* Keeps a placement: copies its runs out of the engine's scratch. */
static int keep_placement(struct srv_job *j, const struct cpn_placement *p)
{
    struct cpn_slot_run *runs = NULL;
    if (p->nruns > 1) {
        runs = cpn_calloc(p->nruns, sizeof *runs);
        if (!runs)
            return -ENOMEM;
        memcpy(runs, p->runs, p->nruns * sizeof *runs);
    }
    cpn_free(j->runs);
    j->runs = runs;
    j->pl = *p;
    j->pl.runs = runs;
    j->placed = true;
    return 0;
}

static bool dynamic_reason(enum cpn_why w)
{
    return w == CPN_WHY_CAPACITY || w == CPN_WHY_POWER || w == CPN_WHY_DOWN;
}

/* Decides (and when commit, commits) a placement for j now. Returns 0 placed, CPN_EINFEASIBLE
 * with ex filled, or -ENOMEM. */
/* The green share of the supply over the placement's slots (by the decision signals), and the
 * carbon of the lowest-latency feasible option of the decision: today's practice, the baseline
 * the platform reports its savings against. */
static void
placement_green(const struct cpn_server *s, struct srv_job *j, const struct cpn_explain *ex)
{
    const struct cpn_placement *p = &j->pl;
    int64_t t0 = cpn_engine_t0(s->eng), slot = s->net->slot_s;
    int32_t z = s->net->clusters[p->cluster].zone;
    struct cpn_slot_run one = { p->start_slot, p->nslots };
    const struct cpn_slot_run *runs = p->nruns > 1 ? p->runs : &one;
    uint32_t nr = p->nruns > 1 ? p->nruns : 1;
    double sum = 0, n = 0, best_lat = 0;
    for (uint32_t r = 0; r < nr; r++)
        for (int32_t t = runs[r].start; t < runs[r].start + runs[r].len; t++) {
            sum +=
                cpn_signals_value(s->sig, s->net, z, CPN_SIG_GREEN, t0 + (int64_t)t * slot, true);
            n++;
        }
    j->green_share = n > 0 ? sum / n : 0;
    j->nearest_carbon_kg = p->carbon_kg;
    for (uint32_t i = 0; ex && i < ex->n; i++)
        if (ex->opts[i].why == CPN_WHY_OK && (best_lat == 0 || ex->opts[i].latency_ms < best_lat)) {
            best_lat = ex->opts[i].latency_ms;
            j->nearest_carbon_kg = ex->opts[i].carbon_kg;
        }
}

static int place(struct cpn_server *s,
                 struct srv_job *j,
                 struct cpn_explain *ex,
                 bool commit,
                 struct cpn_placement *out)
{
    struct cpn_jobset js;
    struct cpn_error err = { 0 };
    int64_t a = cpn_monotonic_ns();
    int rc;
    job_jobset(j, &js);
    rc = cpn_engine_decide(s->eng, &js, &j->spec, srv_now_s(s), out, ex, &err);
    srv_observe_decision(s, (double)(cpn_monotonic_ns() - a) / 1e9);
    if (rc == 0 && commit) {
        cpn_engine_commit(s->eng, &j->spec, out);
        if (keep_placement(j, out))
            return -ENOMEM;
        placement_green(s, j, ex);
    }
    return rc;
}

static void set_explain(struct srv_job *j, const struct cpn_server *s, const struct cpn_explain *ex)
{
    cpn_free(j->explain);
    j->explain = srv_explain_text(s, ex);
}

static int job_store(struct cpn_server *s, struct srv_job *j, char **plain, struct cpn_error *err);

int srv_job_store(struct cpn_server *s, struct srv_job *j, struct cpn_error *err)
{
    return job_store(s, j, NULL, err);
}

/* Stores j; with plain, also hands back the job's JSON without the explanation (the API's
 * representation, cpn_malloc'd), so a submission serialises the job once. */
static int job_store(struct cpn_server *s, struct srv_job *j, char **plain, struct cpn_error *err)
{
    struct cpn_store_job r;
    char *text = srv_job_text(s, j);
    int rc;
    if (!text)
        return cpn_errorf(err, -ENOMEM, "job %s: out of memory", j->id);
    if (plain && !(*plain = cpn_strdup(text))) {
        cpn_free(text);
        return cpn_errorf(err, -ENOMEM, "job %s: out of memory", j->id);
    }
    if (j->explain) { /* splice the stored explanation text in: no re-parse */
        size_t n = strlen(text), m = strlen(j->explain);
        char *both = cpn_malloc(n + m + 16);
        if (!both) {
            cpn_free(text);
            if (plain) {
                cpn_free(*plain);
                *plain = NULL;
            }
            return cpn_errorf(err, -ENOMEM, "job %s: out of memory", j->id);
        }
        memcpy(both, text, n - 1);
        memcpy(both + n - 1, ",\"explain\":", 11);
        memcpy(both + n + 10, j->explain, m);
        memcpy(both + n + 10 + m, "}", 2);
        cpn_free(text);
        text = both;
    }
    memset(&r, 0, sizeof r);
    cpn_strlcpy(r.id, j->id, sizeof r.id);
    cpn_strlcpy(r.tenant, j->tenant, sizeof r.tenant);
    cpn_strlcpy(r.idem_key, j->idem, sizeof r.idem_key);
    cpn_strlcpy(r.state,
                j->state == SJ_QUEUED      ? "queued"
                : j->state == SJ_CANCELLED ? "cancelled"
                                           : "placed",
                sizeof r.state);
    if (j->placed)
        cpn_strlcpy(r.cluster, s->net->clusters[j->pl.cluster].id, sizeof r.cluster);
    r.created_s = j->created_s;
    r.updated_s = j->updated_s;
    r.doc = text;
    rc = cpn_store_job_put(s->store, &r, err);
    cpn_free(text);
    return rc;
}

/* Decodes the request body into a new srv_job (not yet added). 0, or the response is filled. */
static int decode_job(struct cpn_server *s,
                      struct srv_cmd *c,
                      const struct srv_principal *who,
                      struct srv_job **out)
{
    struct cpn_jobset *js = NULL;
    struct cpn_error err = { 0 };
    struct srv_job *j;
    char id[CPN_STORE_ID_MAX];
    const json_t *tenant = json_is_object(c->body) ? json_object_get(c->body, "tenant") : NULL;
    const json_t *cid = json_is_object(c->body) ? json_object_get(c->body, "id") : NULL;
    const json_t *cmd;
    int rc;
    if (!json_is_object(c->body)) {
        srv_problem(c, 400, "body", "the request body must be a JSON object describing one job");
        return -1;
    }
    if (who->role == CPN_ROLE_TENANT && json_is_string(tenant) &&
        strcmp(json_string_value(tenant), who->subject) != 0) {
        srv_problem(c, 403, "tenant", "tenant is '%s' but this token belongs to tenant '%s'",
                    json_string_value(tenant), who->subject);
        return -1;
    }
    cmd = json_object_get(c->body, "command");
    if (cmd &&
        (!json_is_string(cmd) || json_string_length(cmd) == 0 || json_string_length(cmd) >= 4096)) {
        srv_problem(c, 400, "command",
                    "/command: expected a shell command of 1 to 4095 "
                    "characters");
        return -1;
    }
    new_job_id(s, id, sizeof id);
    if (cmd) { /* the job loader knows the placement fields; the command is the agent's */
        json_t *copy = json_copy(c->body);
        if (!copy) {
            srv_problem(c, 500, NULL, "the server is out of memory");
            return -1;
        }
        json_object_del(copy, "command");
        rc = cpn_job_decode(copy, "request body", s->net, id, &js, &err);
        json_decref(copy);
    } else {
        rc = cpn_job_decode(c->body, "request body", s->net, id, &js, &err);
    }
    if (rc) {
        const char *f = strstr(err.msg, ": /");
        char field[64] = "body";
        if (f) {
            size_t n = strcspn(f + 3, ": ");
            if (n > 0 && n < sizeof field)
                snprintf(field, sizeof field, "%.*s", (int)n, f + 3);
        }
        srv_problem(c, rc == -ENOMEM ? 500 : 400, field, "%s", err.msg);
        return -1;
    }
    j = cpn_calloc(1, sizeof *j);
    if (!j || (js->v[0].n_allowed &&
               !(j->allowed = cpn_calloc(js->v[0].n_allowed, sizeof *j->allowed)))) {
        cpn_free(j);
        cpn_jobset_destroy(js);
        srv_problem(c, 500, NULL, "the server is out of memory");
        return -1;
    }
    j->spec = js->v[0];
    if (j->spec.n_allowed)
        memcpy(j->allowed, js->allowed + js->v[0].allowed_off,
               j->spec.n_allowed * sizeof *j->allowed);
    j->spec.allowed_off = 0;
    cpn_jobset_destroy(js);
    j->exec.cluster = j->stale.cluster = -1;
    if (cmd && !(j->command = cpn_strdup(json_string_value(cmd)))) {
        srv_job_free(j);
        srv_problem(c, 500, NULL, "the server is out of memory");
        return -1;
    }
    cpn_strlcpy(j->id, id, sizeof j->id);
    cpn_strlcpy(j->spec.id, id, sizeof j->spec.id);
    if (json_is_string(cid))
        cpn_strlcpy(j->name, json_string_value(cid), sizeof j->name);
    if (who->role == CPN_ROLE_TENANT)
        cpn_strlcpy(j->tenant, who->subject, sizeof j->tenant);
    else
        cpn_strlcpy(j->tenant, j->spec.tenant[0] ? j->spec.tenant : "default", sizeof j->tenant);
    cpn_strlcpy(j->spec.tenant, j->tenant, sizeof j->spec.tenant);
    /* a submission without an earliest start may start now */
    if (!json_object_get(c->body, "submit"))
        j->spec.submit_s = srv_now_s(s);
    /* no deadline: the platform's default slack bounds how long green placement may wait */
    if (j->spec.deadline_s == CPN_NO_DEADLINE) {
        double slack = s->cfg.default_slack_h > 0 ? s->cfg.default_slack_h : 48;
        int64_t start =
            j->spec.earliest_s > j->spec.submit_s ? j->spec.earliest_s : j->spec.submit_s;
        double dur = j->spec.duration_s > 0 ? (double)j->spec.duration_s : 0;
        if (dur > 0)
            j->spec.deadline_s = start + (int64_t)dur + (int64_t)(slack * 3600);
    }
    *out = j;
    return 0;
}

static bool principal_may_submit(struct srv_cmd *c, const struct srv_principal *who)
{
    if (who->role == CPN_ROLE_OPERATOR || who->role == CPN_ROLE_TENANT)
        return true;
    srv_problem(c, 403, NULL,
                "a %s token may not submit or quote jobs (tenant or operator "
                "tokens may)",
                cpn_role_name(who->role));
    return false;
}

void srv_jobs_submit(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who)
{
    struct srv_job *j = NULL;
    struct cpn_explain *ex;
    struct cpn_placement p;
    struct cpn_error err = { 0 };
    char *text = NULL;
    int rc;
    if (!principal_may_submit(c, who) || decode_job(s, c, who, &j))
        return;
    if (c->req->idempotency_key[0]) {
        int32_t i;
        if (strlen(c->req->idempotency_key) >= CPN_STORE_IDEM_MAX) {
            srv_problem(c, 400, "Idempotency-Key",
                        "the Idempotency-Key header is longer than %d "
                        "characters",
                        CPN_STORE_IDEM_MAX - 1);
            srv_job_free(j);
            return;
        }
        cpn_strlcpy(j->idem, c->req->idempotency_key, sizeof j->idem);
        snprintf(j->idem_key, sizeof j->idem_key, "%s\x1f%s", j->tenant, j->idem);
        i = cpn_strmap_get(&s->idem_ids, j->idem_key);
        if (i >= 0) {
            srv_text(c, 201, srv_job_text(s, s->jobs[i]));
            snprintf(c->resp.headers, sizeof c->resp.headers,
                     "Location: /v1/jobs/%s\nIdempotent-Replayed: true\n", s->jobs[i]->id);
            srv_job_free(j);
            return;
        }
    }
    ex = cpn_calloc(1, sizeof *ex);
    if (!ex) {
        srv_job_free(j);
        srv_problem(c, 500, NULL, "the server is out of memory");
        return;
    }
    rc = place(s, j, ex, true, &p);
    set_explain(j, s, ex);
    if (rc == CPN_EINFEASIBLE && !dynamic_reason(ex->why)) {
        s->rejected_total++;
        srv_problem(c, 422, cpn_why_name(ex->why), "%s", ex->detail);
        cpn_free(ex);
        srv_job_free(j);
        return;
    }
    if (rc == CPN_EINFEASIBLE) {
        j->state = SJ_QUEUED;
        cpn_strlcpy(j->reason, ex->detail, sizeof j->reason);
    } else if (rc) {
        cpn_free(ex);
        srv_job_free(j);
        srv_problem(c, 500, NULL, "placement failed: %s", cpn_strerror(rc));
        return;
    } else {
        j->state = SJ_PLACED;
    }
    cpn_free(ex);
    j->created_s = j->updated_s = srv_now_s(s);
    if (add_job(s, j) || job_store(s, j, &text, &err)) {
        srv_problem(c, 500, NULL, "the job could not be stored: %s", err.msg);
        return; /* the batch's commit still decides; memory keeps the job */
    }
    if (j->placed)
        srv_cluster_bump(s, j->pl.cluster);
    cpn_http_json(&c->resp, 201, text);
    snprintf(c->resp.headers, sizeof c->resp.headers, "Location: /v1/jobs/%s\n", j->id);
}

static struct srv_job *
visible_job(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who)
{
    struct srv_job *j = find_job(s, c->req->match.params[0]);
    if (!j || !srv_may_see_job(who, j)) {
        /* another tenant's job is as absent as a missing one */
        srv_problem(c, 404, "id", "no job '%s'", c->req->match.params[0]);
        return NULL;
    }
    return j;
}

void srv_jobs_get(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who)
{
    struct srv_job *j = visible_job(s, c, who);
    if (j)
        srv_text(c, 200, srv_job_text(s, j));
}

void srv_jobs_explain(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who)
{
    struct srv_job *j = visible_job(s, c, who);
    json_t *o;
    if (!j)
        return;
    o = json_object();
    json_object_set_new(o, "id", json_string(j->id));
    json_object_set_new(o, "state", json_string(srv_job_state(s, j)));
    if (j->placed)
        json_object_set_new(o, "placement", srv_placement_json(s, &j->pl));
    if (j->explain) {
        json_t *e = json_loads(j->explain, 0, NULL);
        if (e)
            json_object_set_new(o, "decision", e);
    }
    srv_json(c, 200, o);
}

void srv_jobs_list(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who)
{
    char tenant[CPN_STORE_ID_MAX] = "", state[16] = "", cluster[CPN_STORE_ID_MAX] = "";
    char after[CPN_STORE_ID_MAX] = "", lim[16] = "";
    int64_t limit = 100;
    size_t i = 0, n = 0;
    struct cpn_buf b = { 0 };
    const char *last = NULL;
    bool more = false;
    if (cpn_query_get(c->req->query, "tenant", tenant, sizeof tenant) < 0 ||
        cpn_query_get(c->req->query, "state", state, sizeof state) < 0 ||
        cpn_query_get(c->req->query, "cluster", cluster, sizeof cluster) < 0 ||
        cpn_query_get(c->req->query, "after", after, sizeof after) < 0 ||
        cpn_query_get(c->req->query, "limit", lim, sizeof lim) < 0) {
        srv_problem(c, 400, "query", "a query parameter is too long");
        return;
    }
    if (lim[0] && (cpn_parse_int64(lim, &limit) || limit < 1 || limit > 1000)) {
        srv_problem(c, 400, "limit", "limit is '%s': expected an integer from 1 to 1000", lim);
        return;
    }
    if (state[0] && strcmp(state, "queued") && strcmp(state, "placed") &&
        strcmp(state, "running") && strcmp(state, "completed") && strcmp(state, "cancelled")) {
        srv_problem(c, 400, "state",
                    "state is '%s': expected queued, placed, running, completed or cancelled",
                    state);
        return;
    }
    if (who->role == CPN_ROLE_TENANT) {
        if (tenant[0] && strcmp(tenant, who->subject)) {
            srv_problem(c, 403, "tenant", "a tenant token lists only its own jobs");
            return;
        }
        cpn_strlcpy(tenant, who->subject, sizeof tenant);
    } else if (who->role != CPN_ROLE_OPERATOR) {
        srv_problem(c, 403, NULL, "a %s token may not list jobs", cpn_role_name(who->role));
        return;
    }
    if (after[0]) { /* ids sort by creation: binary search the first id after it */
        size_t lo = 0, hi = s->njobs;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(s->jobs[mid]->id, after) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        i = lo;
    }
    cpn_buf_puts(&b, "{\"jobs\":[");
    for (; i < s->njobs; i++) {
        const struct srv_job *j = s->jobs[i];
        if (tenant[0] && strcmp(j->tenant, tenant))
            continue;
        if (cluster[0] && (!j->placed || strcmp(s->net->clusters[j->pl.cluster].id, cluster)))
            continue;
        if (state[0] && strcmp(state, srv_job_state(s, j)))
            continue;
        if (n == (size_t)limit) {
            more = true; /* one more match exists: the page has a successor */
            break;
        }
        if (n)
            cpn_buf_puts(&b, ",");
        srv_job_write(s, j, &b);
        last = j->id;
        n++;
    }
    if (more && last)
        cpn_buf_printf(&b, "],\"next\":\"%s\"}", last);
    else
        cpn_buf_puts(&b, "],\"next\":null}");
    if (!b.data || b.data[b.len - 1] != '}') {
        cpn_buf_free(&b);
        srv_problem(c, 500, NULL, "the server is out of memory");
        return;
    }
    srv_text(c, 200, b.data);
}

void srv_jobs_cancel(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who)
{
    struct srv_job *j = visible_job(s, c, who);
    struct cpn_error err = { 0 };
    int64_t now = srv_now_s(s);
    const char *st;
    if (!j)
        return;
    st = srv_job_state(s, j);
    if (!strcmp(st, "cancelled") || !strcmp(st, "completed") || !strcmp(st, "failed") ||
        !strcmp(st, "lost")) {
        srv_problem(c, 409, "state", "job %s is %s and cannot be cancelled", j->id, st);
        return;
    }
    if (j->placed) {
        int32_t from = (int32_t)cpn_floordiv(now - cpn_engine_t0(s->eng), s->net->slot_s);
        cpn_engine_release(s->eng, &j->spec, &j->pl, from < 0 ? 0 : from + (now > j->pl.start_s));
    }
    j->state = SJ_CANCELLED;
    j->cancelled_s = j->updated_s = now;
    if (j->exec.state != SX_NONE)
        srv_cluster_bump(s, j->exec.cluster);
    else if (j->placed)
        srv_cluster_bump(s, j->pl.cluster);
    if (srv_job_store(s, j, &err)) {
        srv_problem(c, 500, NULL, "%s", err.msg);
        return;
    }
    srv_text(c, 200, srv_job_text(s, j));
}

void srv_quote(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who)
{
    struct srv_job *j = NULL;
    struct cpn_explain *ex;
    struct cpn_placement p;
    json_t *o;
    int rc;
    if (!principal_may_submit(c, who) || decode_job(s, c, who, &j))
        return;
    ex = cpn_calloc(1, sizeof *ex);
    if (!ex) {
        srv_job_free(j);
        srv_problem(c, 500, NULL, "the server is out of memory");
        return;
    }
    rc = place(s, j, ex, false, &p);
    if (rc == CPN_EINFEASIBLE) {
        srv_problem(c, 422, cpn_why_name(ex->why), "%s", ex->detail);
    } else if (rc) {
        srv_problem(c, 500, NULL, "placement failed: %s", cpn_strerror(rc));
    } else {
        o = json_object();
        json_object_set_new(o, "placement", srv_placement_json(s, &p));
        json_object_set_new(o, "price_cny", json_real((double)p.cost_ucny / CPN_UCNY_PER_CNY));
        json_object_set_new(o, "carbon_kg", json_real(p.carbon_kg));
        json_object_set_new(o, "decision", srv_explain_json(s, ex));
        srv_json(c, 200, o);
    }
    cpn_free(ex);
    srv_job_free(j);
}

/* Whether a re-plan may move j: queued jobs; placed jobs that have not started (and were not
 * dispatched); on a cluster that is down, dispatched jobs and running interruptible ones too
 * (a running job that cannot be interrupted waits for its cluster). */
static bool movable(const struct cpn_server *s, const struct srv_job *j, int64_t now)
{
    bool down;
    if (j->state == SJ_QUEUED)
        return true;
    if (j->state != SJ_PLACED || !j->placed)
        return false;
    down = s->cl[j->pl.cluster].down;
    switch (j->exec.state) {
    case SX_NONE:
        return j->pl.start_s > now || down;
    case SX_DISPATCHED:
        return down;
    case SX_RUNNING:
        return down && j->spec.interruptible;
    default:
        return false;
    }
}

/* Order of re-planning: priority first, then creation (ids sort by creation). */
static int replan_cmp(const void *a, const void *b)
{
    const struct srv_job *x = *(struct srv_job *const *)a, *y = *(struct srv_job *const *)b;
    if (x->spec.priority != y->spec.priority)
        return y->spec.priority - x->spec.priority;
    return strcmp(x->id, y->id);
}

void srv_replan(struct cpn_server *s, const char *why)
{
    int64_t now = srv_now_s(s);
    struct srv_job **pending = cpn_calloc(s->njobs + 1, sizeof *pending);
    struct cpn_explain *ex = cpn_calloc(1, sizeof *ex);
    size_t n = 0, moved = 0;
    if (!pending || !ex) {
        fprintf(s->log, "cpnet serve: re-plan (%s) skipped: out of memory\n", why);
        cpn_free(pending);
        cpn_free(ex);
        return;
    }
    for (size_t i = 0; i < s->njobs; i++) {
        struct srv_job *j = s->jobs[i];
        if (!movable(s, j, now))
            continue;
        if (j->state == SJ_PLACED) {
            int32_t from = (int32_t)cpn_floordiv(now - cpn_engine_t0(s->eng), s->net->slot_s);
            cpn_engine_release(s->eng, &j->spec, &j->pl, j->pl.start_s > now ? 0 : from);
            srv_cluster_bump(s, j->pl.cluster);
        }
        if (j->exec.state != SX_NONE) { /* left behind on a down cluster: its agent cancels it */
            j->stale = j->exec;
            memset(&j->exec, 0, sizeof j->exec);
            j->exec.cluster = -1;
        }
        pending[n++] = j;
    }
    qsort(pending, n, sizeof *pending, replan_cmp);
    for (size_t i = 0; i < n; i++) {
        struct srv_job *j = pending[i];
        struct cpn_placement old = j->pl, p;
        bool was = j->state == SJ_PLACED;
        struct cpn_error err = { 0 };
        int rc = place(s, j, ex, true, &p);
        set_explain(j, s, ex);
        if (rc == 0) {
            j->state = SJ_PLACED;
            j->reason[0] = '\0';
        } else {
            j->state = SJ_QUEUED;
            j->placed = false;
            cpn_strlcpy(j->reason, ex->detail, sizeof j->reason);
        }
        if (!was || j->state != SJ_PLACED || old.pool != j->pl.pool ||
            old.start_s != j->pl.start_s || old.nruns != j->pl.nruns) {
            moved++;
            if (j->placed)
                srv_cluster_bump(s, j->pl.cluster);
            j->updated_s = now;
            if (srv_job_store(s, j, &err))
                fprintf(s->log, "cpnet serve: re-plan: %s\n", err.msg);
        }
    }
    s->replans_total++;
    if (n)
        fprintf(s->log, "cpnet serve: re-planned %zu pending jobs after %s; %zu changed\n", n, why,
                moved);
    cpn_free(pending);
    cpn_free(ex);
}
