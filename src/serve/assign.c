/* SPDX-License-Identifier: Apache-2.0 */
/* The agent side of the platform (docs/agent-protocol.md): assignments by long-poll and the job
 * events agents report. A cluster's assignments are derived, not stored: "run" for its placed jobs
 * not yet dispatched, "cancel" for jobs it still runs that were cancelled or moved away. A version
 * per cluster changes whenever that set may have changed; a long-poll parks in the loop (holding no
 * thread) until its cluster's version moves or its wait runs out, and is answered after the batch's
 * commit like every other request. Events move an execution forward only, so a repeated or late
 * report changes nothing. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "decode.h"
#include "serve_int.h"

static const char *const exec_names[SX_COUNT] = { "none",   "dispatched", "running", "completed",
                                                  "failed", "cancelled",  "lost" };

const char *srv_exec_name(enum srv_exec_state x)
{
    return (unsigned)x < SX_COUNT ? exec_names[x] : "none";
}

int srv_exec_parse(const char *s, enum srv_exec_state *out)
{
    for (int i = 1; i < SX_COUNT; i++)
        if (!strcmp(s, exec_names[i])) {
            *out = (enum srv_exec_state)i;
            return 0;
        }
    return -EINVAL;
}

void srv_cluster_bump(struct cpn_server *s, int32_t k)
{
    if (k < 0) {
        for (size_t i = 0; i < s->net->nclusters; i++)
            s->cl[i].version++;
    } else if ((size_t)k < s->net->nclusters) {
        s->cl[k].version++;
    }
}

static void exec_write_one(const struct cpn_server *s, const struct srv_exec *x, struct cpn_buf *b)
{
    char t[CPN_TIME_STRLEN];
    cpn_buf_printf(
        b, "{\"state\":\"%s\",\"cluster\":\"%s\",\"executor_id\":\"%s\"", srv_exec_name(x->state),
        x->cluster >= 0 && (size_t)x->cluster < s->net->nclusters ? s->net->clusters[x->cluster].id
                                                                  : "",
        x->executor_id);
    if (x->dispatched_s) {
        cpn_time_format(x->dispatched_s, t);
        cpn_buf_printf(b, ",\"dispatched\":\"%s\"", t);
    }
    if (x->started_s) {
        cpn_time_format(x->started_s, t);
        cpn_buf_printf(b, ",\"started\":\"%s\"", t);
    }
    if (x->ended_s) {
        cpn_time_format(x->ended_s, t);
        cpn_buf_printf(b, ",\"ended\":\"%s\",\"exit_code\":%d", t, x->exit_code);
    }
    if (x->message[0]) {
        json_t *m = json_string(x->message);
        char *q = m ? json_dumps(m, JSON_ENCODE_ANY) : NULL;
        if (q)
            cpn_buf_printf(b, ",\"message\":%s", q);
        free(q);
        json_decref(m);
    }
    cpn_buf_printf(b,
                   ",\"usage\":{\"unit_hours\":%.9g,\"energy_kwh\":%.9g,\"energy_source\":\"%s\"}}",
                   x->unit_hours, x->energy_kwh, x->energy_measured ? "measured" : "estimated");
}

void srv_exec_write(const struct cpn_server *s, const struct srv_job *j, struct cpn_buf *b)
{
    if (j->exec.state != SX_NONE) {
        cpn_buf_puts(b, ",\"execution\":");
        exec_write_one(s, &j->exec, b);
    }
    if (j->stale.state != SX_NONE) {
        cpn_buf_puts(b, ",\"previous_execution\":");
        exec_write_one(s, &j->stale, b);
    }
}

static bool exec_active(const struct srv_exec *x)
{
    return x->state == SX_DISPATCHED || x->state == SX_RUNNING;
}

/* Builds the assignments answer of cluster k. */
static void
answer_assignments(struct cpn_server *s, struct srv_cmd *c, int32_t k, int64_t horizon_s)
{
    struct cpn_buf b = { 0 };
    char now_t[CPN_TIME_STRLEN];
    int64_t now = srv_now_s(s);
    bool first = true;
    cpn_time_format(now, now_t);
    cpn_buf_printf(&b,
                   "{\"cluster\":\"%s\",\"version\":%llu,\"now\":\"%s\",\"clock_speed\":%.9g,"
                   "\"assignments\":[",
                   s->net->clusters[k].id, (unsigned long long)s->cl[k].version, now_t,
                   s->cfg.clock_speed > 0 ? s->cfg.clock_speed : 1.0);
    for (size_t i = 0; i < s->njobs; i++) {
        const struct srv_job *j = s->jobs[i];
        const char *action = NULL;
        if (j->state == SJ_PLACED && j->placed && j->pl.cluster == k && j->exec.state == SX_NONE &&
            (horizon_s <= 0 || j->pl.start_s <= now + horizon_s))
            action = "run";
        else if ((j->state == SJ_CANCELLED && j->exec.cluster == k && exec_active(&j->exec)) ||
                 (j->stale.cluster == k && exec_active(&j->stale)))
            action = "cancel";
        if (!action)
            continue;
        cpn_buf_printf(&b, "%s{\"action\":\"%s\",\"job\":", first ? "" : ",", action);
        srv_job_write(s, j, &b);
        cpn_buf_puts(&b, "}");
        first = false;
    }
    cpn_buf_puts(&b, "]}");
    srv_text(c, 200, b.data);
}

static bool may_act_for(const struct srv_principal *who, const struct cpn_server *s, int32_t k)
{
    return srv_provider_owns(who, s->net->clusters[k].id);
}

void srv_assignments(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who)
{
    int32_t k = cpn_network_cluster(s->net, c->req->match.params[0]);
    char v[32] = "", w[32] = "", h[32] = "";
    int64_t version = -1, wait = 25, horizon = 0;
    if (k < 0) {
        srv_problem(c, 404, "id", "no cluster '%s'", c->req->match.params[0]);
        return;
    }
    if (!may_act_for(who, s, k)) {
        srv_problem(c, 403, "id", "this token may not take assignments of cluster '%s'",
                    s->net->clusters[k].id);
        return;
    }
    if (cpn_query_get(c->req->query, "version", v, sizeof v) == 1 &&
        (cpn_parse_int64(v, &version) || version < 0)) {
        srv_problem(c, 400, "version", "version is '%s': expected the integer of the last answer",
                    v);
        return;
    }
    if (cpn_query_get(c->req->query, "wait", w, sizeof w) == 1 &&
        (cpn_parse_int64(w, &wait) || wait < 0 || wait > 60)) {
        srv_problem(c, 400, "wait", "wait is '%s': expected seconds from 0 to 60", w);
        return;
    }
    if (cpn_query_get(c->req->query, "horizon", h, sizeof h) == 1 &&
        (cpn_parse_int64(h, &horizon) || horizon < 0)) {
        srv_problem(c, 400, "horizon", "horizon is '%s': expected seconds >= 0", h);
        return;
    }
    if (version >= 0 && (uint64_t)version == s->cl[k].version && wait > 0) {
        c->parked = true;
        c->wait_cluster = k;
        c->wait_version = (uint64_t)version;
        c->wait_deadline_ns = cpn_monotonic_ns() + wait * 1000000000LL;
        c->wait_horizon_s = horizon;
        return;
    }
    answer_assignments(s, c, k, horizon);
}

void srv_waiters_answer(struct cpn_server *s, bool all)
{
    struct srv_cmd **pp = &s->waiters;
    int64_t now = cpn_monotonic_ns();
    while (*pp) {
        struct srv_cmd *c = *pp;
        int32_t k = c->wait_cluster;
        bool gone = k < 0 || (size_t)k >= s->net->nclusters;
        if (!all && !gone && s->cl[k].version == c->wait_version && now < c->wait_deadline_ns) {
            pp = &c->next;
            continue;
        }
        *pp = c->next;
        if (gone || s->failed)
            srv_problem(c, 503, NULL,
                        "the platform is restarting or its network changed; poll "
                        "again");
        else
            answer_assignments(s, c, k, c->wait_horizon_s);
        cpn_http_respond(c->req, &c->resp);
        json_decref(c->body);
        cpn_free(c);
    }
}

/* ---- events ------------------------------------------------------------------------------------
 */

/* Applies an event to execution x of cluster k; returns whether anything changed. */
static bool
apply_event(struct srv_exec *x, int32_t k, enum srv_exec_state st, int64_t t, const json_t *body)
{
    const json_t *u = json_object_get(body, "usage");
    const char *eid = json_string_value(json_object_get(body, "executor_id"));
    const char *msg = json_string_value(json_object_get(body, "message"));
    if (srv_exec_final(x->state) || st <= x->state)
        return false; /* forward only: a repeat or a late report changes nothing */
    if (x->state == SX_NONE)
        x->cluster = k;
    x->state = st;
    if (eid)
        cpn_strlcpy(x->executor_id, eid, sizeof x->executor_id);
    if (msg)
        cpn_strlcpy(x->message, msg, sizeof x->message);
    if (!x->dispatched_s)
        x->dispatched_s = t;
    if (st == SX_RUNNING && !x->started_s)
        x->started_s = t;
    if (srv_exec_final(st)) {
        x->ended_s = t;
        x->exit_code = (int)json_integer_value(json_object_get(body, "exit_code"));
    }
    if (json_is_object(u)) {
        x->unit_hours = json_number_value(json_object_get(u, "unit_hours"));
        x->energy_kwh = json_number_value(json_object_get(u, "energy_kwh"));
        x->energy_measured =
            json_is_string(json_object_get(u, "energy_source")) &&
            !strcmp(json_string_value(json_object_get(u, "energy_source")), "measured");
    }
    return true;
}

void srv_job_event(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who)
{
    int32_t i = cpn_strmap_get(&s->job_ids, c->req->match.params[0]);
    struct srv_job *j;
    enum srv_exec_state st;
    int64_t t;
    int32_t k = -1;
    bool changed = false;
    struct cpn_error err = { 0 };
    if (i < 0) {
        srv_problem(c, 404, "id", "no job '%s'", c->req->match.params[0]);
        return;
    }
    j = s->jobs[i];
    {
        char field[64], msg[300];
        int sv;
        if (srv_check_event(c->body, srv_now_s(s), &sv, &t, field, sizeof field, msg, sizeof msg)) {
            srv_problem(c, 400, field, "%s", msg);
            return;
        }
        st = (enum srv_exec_state)sv;
    }
    /* which execution: the reporter's cluster, among the job's current and previous ones */
    {
        int32_t cands[3] = { j->placed ? j->pl.cluster : -1, j->exec.cluster, j->stale.cluster };
        const char *named = json_string_value(json_object_get(c->body, "cluster"));
        for (int q = 0; q < 3 && k < 0; q++)
            if (cands[q] >= 0 && (size_t)cands[q] < s->net->nclusters &&
                (!named || !strcmp(named, s->net->clusters[cands[q]].id)) &&
                may_act_for(who, s, cands[q]))
                k = cands[q];
    }
    if (k < 0) {
        srv_problem(c, 403, "id",
                    "job %s is not assigned to a cluster this token may report "
                    "for",
                    j->id);
        return;
    }
    if (j->stale.state != SX_NONE && j->stale.cluster == k &&
        !(j->placed && j->pl.cluster == k && j->exec.state == SX_NONE))
        changed = apply_event(&j->stale, k, st, t, c->body); /* what ran where it moved from */
    else if (j->exec.state == SX_NONE || j->exec.cluster == k)
        changed = apply_event(&j->exec, k, st, t, c->body);
    if (changed) {
        j->updated_s = srv_now_s(s);
        srv_cluster_bump(s, k);
        if (srv_job_store(s, j, &err)) {
            srv_problem(c, 500, NULL, "%s", err.msg);
            return;
        }
        fprintf(s->log, "cpnet serve: job %s %s on %s\n", j->id, srv_exec_name(st),
                s->net->clusters[k].id);
    }
    srv_text(c, 200, srv_job_text(s, j));
}
