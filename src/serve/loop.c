/* SPDX-License-Identifier: Apache-2.0 */
/* The event loop and the door to it. HTTP threads parse a request's JSON body and push a command;
 * the loop takes every pending command at once, opens one store transaction, runs the periodic
 * work (cluster health, horizon roll) and each command in arrival order, commits once, and only
 * then answers the whole batch: a 201 is sent only for a write that is on disk. If a commit fails
 * the batch is answered 503 and the server stays failed until restarted, because memory would no
 * longer match the store (crash-only: the store is the truth on restart). */
#include <stdarg.h>
#include <string.h>

#include "serve_int.h"

void srv_http_handler(void *ctx, struct cpn_http_request *req)
{
    struct cpn_server *s = ctx;
    struct srv_cmd *c = cpn_calloc(1, sizeof *c);
    if (!c) {
        struct cpn_http_response r = { 0 };
        if (cpn_problem(&r, 503, "the server is out of memory", NULL) == 0)
            cpn_http_respond(req, &r);
        else
            cpn_http_respond(req, &(struct cpn_http_response){ .status = 503 });
        return;
    }
    c->req = req;
    if (req->body_len > 0 && !strstr(req->content_type, "csv")) {
        json_error_t je;
        c->body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
        if (!c->body)
            snprintf(c->parse_error, sizeof c->parse_error,
                     "request body is not valid JSON: %s at line %d, column %d", je.text, je.line,
                     je.column);
    }
    srv_queue_push(&s->q, c);
}

void srv_problem(struct srv_cmd *c, int status, const char *field, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    cpn_free(c->resp.body);
    memset(&c->resp, 0, sizeof c->resp);
    if (cpn_problem(&c->resp, status, detail, field) != 0)
        c->resp.status = 500;
}

void srv_json(struct srv_cmd *c, int status, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(obj);
    cpn_free(c->resp.body);
    memset(&c->resp, 0, sizeof c->resp);
    if (!text) {
        srv_problem(c, 500, NULL, "the server is out of memory");
        return;
    }
    /* jansson allocates with malloc; hand over a cpn_malloc'd copy so ownership rules hold */
    {
        size_t n = strlen(text);
        char *b = cpn_malloc(n + 1);
        if (!b) {
            free(text);
            srv_problem(c, 500, NULL, "the server is out of memory");
            return;
        }
        memcpy(b, text, n + 1);
        free(text);
        cpn_http_json(&c->resp, status, b);
    }
}

void srv_text(struct srv_cmd *c, int status, char *text)
{
    cpn_free(c->resp.body);
    memset(&c->resp, 0, sizeof c->resp);
    if (!text) {
        srv_problem(c, 500, NULL, "the server is out of memory");
        return;
    }
    cpn_http_json(&c->resp, status, text);
}

static void
need_body(struct cpn_server *s,
          struct srv_cmd *c,
          const struct srv_principal *who,
          void (*fn)(struct cpn_server *, struct srv_cmd *, const struct srv_principal *))
{
    if (c->parse_error[0]) {
        srv_problem(c, 400, "body", "%s", c->parse_error);
        return;
    }
    if (!c->body) {
        srv_problem(c, 400, "body",
                    "a JSON request body (Content-Type: application/json) is "
                    "expected");
        return;
    }
    fn(s, c, who);
}

static void dispatch(struct cpn_server *s, struct srv_cmd *c)
{
    struct srv_principal who;
    enum cpn_route r = c->req->match.route;
    s->requests_total++;
    switch (r) {
    case CPN_ROUTE_HEALTHZ: {
        json_t *o =
            json_pack("{s:s,s:I,s:I}", "status", s->failed ? "failing" : "ok", "jobs",
                      (json_int_t)s->njobs, "uptime_s", (json_int_t)(srv_now_s(s) - s->started_s));
        srv_json(c, s->failed ? 503 : 200, o);
        return;
    }
    case CPN_ROUTE_METRICS:
        srv_metrics(s, c);
        return;
    case CPN_ROUTE_CAS_BEST:
        srv_cas_best(s, c);
        return;
    case CPN_ROUTE_CAS_FORECAST:
        srv_cas_forecast(s, c);
        return;
    default:
        break;
    }
    if (srv_authenticate(s, c, &who) != 0)
        return;
    switch (r) {
    case CPN_ROUTE_JOBS_SUBMIT:
        need_body(s, c, &who, srv_jobs_submit);
        break;
    case CPN_ROUTE_QUOTE:
        need_body(s, c, &who, srv_quote);
        break;
    case CPN_ROUTE_JOBS_LIST:
        srv_jobs_list(s, c, &who);
        break;
    case CPN_ROUTE_JOB_GET:
        srv_jobs_get(s, c, &who);
        break;
    case CPN_ROUTE_JOB_CANCEL:
        srv_jobs_cancel(s, c, &who);
        break;
    case CPN_ROUTE_JOB_EXPLAIN:
        srv_jobs_explain(s, c, &who);
        break;
    case CPN_ROUTE_HUBS:
        srv_hubs(s, c);
        break;
    case CPN_ROUTE_SITES:
        srv_sites(s, c);
        break;
    case CPN_ROUTE_CLUSTERS_LIST:
        srv_clusters_list(s, c);
        break;
    case CPN_ROUTE_CLUSTER_GET:
        srv_cluster_get(s, c);
        break;
    case CPN_ROUTE_CLUSTER_POOLS:
        srv_cluster_pools(s, c);
        break;
    case CPN_ROUTE_CLUSTER_PUT:
        need_body(s, c, &who, srv_cluster_put);
        break;
    case CPN_ROUTE_CLUSTER_TELEMETRY:
        need_body(s, c, &who, srv_telemetry);
        break;
    case CPN_ROUTE_SIGNALS_LIST:
        srv_signals_list(s, c);
        break;
    case CPN_ROUTE_SIGNAL_GET:
        srv_signal_get(s, c);
        break;
    case CPN_ROUTE_SIGNAL_PUT:
        srv_signal_put(s, c, &who);
        break;
    case CPN_ROUTE_CLUSTER_ASSIGNMENTS:
        srv_assignments(s, c, &who);
        break;
    case CPN_ROUTE_JOB_EVENTS:
        need_body(s, c, &who, srv_job_event);
        break;
    default:
        srv_problem(c, 404, NULL, "no such resource");
        break;
    }
}

static void answer_all(struct cpn_server *s, struct srv_cmd *batch)
{
    while (batch) {
        struct srv_cmd *next = batch->next;
        if (batch->parked) { /* a long-poll: it waits in the loop, answered later */
            batch->next = s->waiters;
            s->waiters = batch;
            batch = next;
            continue;
        }
        if (batch->resp.status == 0)
            srv_problem(batch, 500, NULL, "the request was not answered");
        cpn_http_respond(batch->req, &batch->resp);
        json_decref(batch->body);
        cpn_free(batch);
        batch = next;
    }
}

void *srv_loop_main(void *arg)
{
    struct cpn_server *s = arg;
    size_t max = s->cfg.batch_max > 0 ? (size_t)s->cfg.batch_max : 4096;
    for (;;) {
        bool stop = false, tx = false;
        struct srv_cmd *batch = srv_queue_take(&s->q, 500, max, &stop);
        struct cpn_error err = { 0 };
        int64_t now = srv_now_s(s);
        if (!s->failed) {
            if (cpn_store_begin(s->store, &err) == 0) {
                tx = true;
            } else {
                fprintf(s->log, "cpnet serve: store: %s\n", err.msg);
                s->failed = true;
            }
        }
        if (tx) {
            srv_health_tick(s, now);
            srv_engine_tick(s, now);
        }
        for (struct srv_cmd *c = batch; c; c = c->next) {
            if (s->failed && c->req->match.route != CPN_ROUTE_HEALTHZ &&
                c->req->match.route != CPN_ROUTE_METRICS)
                srv_problem(c, 503, NULL, "the server's store failed; it must be restarted");
            else
                dispatch(s, c);
        }
        if (tx) {
            if (cpn_store_commit(s->store, &err) != 0) {
                fprintf(s->log, "cpnet serve: commit failed, answering 503 until restart: %s\n",
                        err.msg);
                cpn_store_rollback(s->store);
                s->failed = true;
                for (struct srv_cmd *c = batch; c; c = c->next)
                    if (c->resp.status < 300 && c->req->method != CPN_HTTP_GET)
                        srv_problem(c, 503, NULL, "the write could not be made durable");
            } else {
                s->commits_total++;
            }
        }
        if (stop && !batch) {
            srv_waiters_answer(s, true);
            break;
        }
        answer_all(s, batch);
        srv_waiters_answer(s, false);
    }
    return NULL;
}
