/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet/api.h: the HTTP side of the platform. An HTTP/1.1 server (libmicrohttpd) whose worker
 * threads assemble a request (headers, a body capped at a limit), route it, and hand it to the
 * service's handler; the handler answers later, from any thread, with cpn_http_respond() — the
 * connection is suspended meanwhile, so a request can wait for its group commit without holding a
 * thread. Also here: the route table (the one source the OpenAPI document is checked against),
 * problem+json errors (RFC 9457), the mapping of error codes to HTTP statuses, query parsing and
 * Prometheus text helpers. No platform state lives here. */
#ifndef CPNET_API_H
#define CPNET_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpnet/util.h"

#define CPN_HTTP_BODY_LIMIT (1u << 20) /* 1 MiB: larger bodies get 413 before any handler */

enum cpn_http_method {
    CPN_HTTP_GET,
    CPN_HTTP_HEAD,
    CPN_HTTP_POST,
    CPN_HTTP_PUT,
    CPN_HTTP_PATCH,
    CPN_HTTP_DELETE,
    CPN_HTTP_OTHER
};
const char *cpn_http_method_name(enum cpn_http_method m);

/* Routes of the API. The table in src/api/routes.c maps each to a method and a path template. */
enum cpn_route {
    CPN_ROUTE_NONE,
    CPN_ROUTE_HEALTHZ,             /* GET  /healthz */
    CPN_ROUTE_METRICS,             /* GET  /metrics */
    CPN_ROUTE_JOBS_SUBMIT,         /* POST /v1/jobs */
    CPN_ROUTE_JOBS_LIST,           /* GET  /v1/jobs */
    CPN_ROUTE_JOB_GET,             /* GET  /v1/jobs/{id} */
    CPN_ROUTE_JOB_CANCEL,          /* POST /v1/jobs/{id}/cancel */
    CPN_ROUTE_JOB_EXPLAIN,         /* GET  /v1/jobs/{id}/explain */
    CPN_ROUTE_QUOTE,               /* POST /v1/quote */
    CPN_ROUTE_HUBS,                /* GET  /v1/hubs */
    CPN_ROUTE_SITES,               /* GET  /v1/sites */
    CPN_ROUTE_CLUSTERS_LIST,       /* GET  /v1/clusters */
    CPN_ROUTE_CLUSTER_GET,         /* GET  /v1/clusters/{id} */
    CPN_ROUTE_CLUSTER_PUT,         /* PUT  /v1/clusters/{id}  (register or update) */
    CPN_ROUTE_CLUSTER_POOLS,       /* GET  /v1/clusters/{id}/pools */
    CPN_ROUTE_CLUSTER_TELEMETRY,   /* POST /v1/clusters/{id}/telemetry */
    CPN_ROUTE_SIGNALS_LIST,        /* GET  /v1/signals */
    CPN_ROUTE_SIGNAL_GET,          /* GET  /v1/signals/{zone}/{kind} */
    CPN_ROUTE_SIGNAL_PUT,          /* PUT  /v1/signals/{zone}/{kind} */
    CPN_ROUTE_CAS_BEST,            /* GET  /emissions/bylocations/best (Carbon Aware SDK) */
    CPN_ROUTE_CAS_FORECAST,        /* GET  /emissions/forecasts/current (Carbon Aware SDK) */
    CPN_ROUTE_CLUSTER_ASSIGNMENTS, /* GET  /v1/clusters/{id}/assignments (agent long-poll) */
    CPN_ROUTE_JOB_EVENTS,          /* POST /v1/jobs/{id}/events (agent state and usage reports) */
    CPN_ROUTE_COUNT
};

struct cpn_route_info {
    enum cpn_route route;
    enum cpn_http_method method;
    const char *path;      /* template, e.g. "/v1/jobs/{id}" */
    const char *operation; /* OpenAPI operationId */
    bool auth;             /* needs a bearer token */
};
/* The route table (count in *n). Static storage. */
const struct cpn_route_info *cpn_routes(size_t *n);
/* The table entry of route r (static storage), or NULL for CPN_ROUTE_NONE / out of range. */
const struct cpn_route_info *cpn_route_info(enum cpn_route r);

#define CPN_ROUTE_PARAMS    2
#define CPN_ROUTE_PARAM_MAX 128
struct cpn_route_match {
    enum cpn_route route;
    char params[CPN_ROUTE_PARAMS][CPN_ROUTE_PARAM_MAX]; /* {id} or {zone},{kind}, decoded */
};
/* Matches method and path (no query). 0 with *m; -ENOENT when no template matches the path (404);
 * -EPERM when the path matches but not the method (405; *allow gets e.g. "GET, POST"). */
int cpn_route_match(enum cpn_http_method method,
                    const char *path,
                    struct cpn_route_match *m,
                    char *allow,
                    size_t allow_size);

/* ---- requests and responses ------------------------------------------------------------------ */
struct cpn_http_conn; /* the server's handle of a suspended connection */

struct cpn_http_request {
    enum cpn_http_method method;
    char path[512];   /* without the query */
    char query[1024]; /* raw query string, "" when none */
    char authorization[256];
    char idempotency_key[160];
    char content_type[128];
    char *body; /* NUL-terminated; owned by the server */
    size_t body_len;
    struct cpn_route_match match; /* filled by the server before the handler is called */
    struct cpn_http_conn *conn;
    int64_t received_ns; /* monotonic, for latency metrics */
};

struct cpn_http_response {
    int status;
    const char *content_type; /* static string */
    char *body;               /* cpn_malloc'd; ownership passes to cpn_http_respond */
    size_t len;
    char headers[512]; /* extra header lines "Name: value\n", e.g. Retry-After, Location */
};

/* Handler: called on a server thread for every routed request (404/405/413 and malformed
 * requests are answered by the server itself). It must call cpn_http_respond(req, ...) exactly
 * once, now or later, from any thread. */
typedef void (*cpn_http_handler_fn)(void *ctx, struct cpn_http_request *req);

struct cpn_http_config {
    const char *listen; /* "127.0.0.1:8080"; port 0 picks a free port */
    unsigned threads;   /* server threads (0 = 2) */
    size_t body_limit;  /* 0 = CPN_HTTP_BODY_LIMIT */
    cpn_http_handler_fn handler;
    void *ctx;
    unsigned max_connections; /* open connections at once (0 = 1000) */
    unsigned timeout_s;       /* idle connection timeout, not counting a wait for an answer
                                 (0 = 30) */
};
struct cpn_http;
int cpn_http_start(const struct cpn_http_config *cfg, struct cpn_http **out, struct cpn_error *err);
/* The bound port. */
int cpn_http_port(const struct cpn_http *h);
/* Answers req (thread-safe; takes resp->body). req must not be used afterwards. */
void cpn_http_respond(struct cpn_http_request *req, struct cpn_http_response *resp);
/* Stops accepting, answers nothing more, joins the threads. Requests not yet answered are
 * dropped (their connections closed); the handler still answers each of them once with
 * cpn_http_respond(), which then only frees it (docs/api-http.md). NULL is a no-op. */
void cpn_http_stop(struct cpn_http *h);

/* ---- helpers --------------------------------------------------------------------------------- */
/* The one mapping of error codes to HTTP statuses (-EINVAL/CPN_EPARSE/CPN_EFIELD -> 400,
 * -EACCES -> 401, -EPERM -> 403, -ENOENT/CPN_EREF(unknown object) -> 404, -EEXIST -> 409,
 * CPN_ELIMIT -> 413, CPN_EINFEASIBLE -> 422, -EBUSY -> 429, -ENOMEM and others -> 500,
 * CPN_EUNSUPPORTED -> 501). */
int cpn_http_status_for(int code);
/* The reason phrase of an HTTP status ("Not Found"; RFC 9110 names). Never NULL. */
const char *cpn_http_status_text(int status);
/* Fills resp with an application/problem+json body: type "about:blank" (or a docs URI), title
 * (the status text), status, detail, and when field is not NULL an "errors" member
 * [{"field": ..., "detail": ...}]. -ENOMEM on failure (resp untouched). */
int cpn_problem(struct cpn_http_response *resp, int status, const char *detail, const char *field);
/* Fills resp with a JSON body (takes the string). */
void cpn_http_json(struct cpn_http_response *resp, int status, char *json);
/* Gets a query parameter, URL-decoded, into out[size]. 1 found, 0 absent, CPN_ELIMIT too long. */
int cpn_query_get(const char *query, const char *key, char *out, size_t size);
/* The same for the nth (0-based) occurrence of a repeated key (?location=a&location=b).
 * Both also return CPN_EPARSE when the value has a malformed %-escape or an encoded NUL. */
int cpn_query_get_nth(const char *query, const char *key, size_t nth, char *out, size_t size);
/* Extracts the token of an "Authorization: Bearer <token>" header into out; -EACCES otherwise. */
int cpn_bearer_token(const char *authorization, char *out, size_t size);

/* ---- Prometheus text exposition (format 0.0.4) ------------------------------------------------
 */
/* Writers that append to a capped buffer; each returns 0, CPN_EFIELD for a metric or label name
 * that breaks the naming rules ([a-zA-Z_:][a-zA-Z0-9_:]*, labels without ':' and not starting
 * with "__"), or the buffer's error (-ENOMEM, CPN_ELIMIT), and leaves the buffer as it was on
 * failure. Label values and HELP text are escaped as the format requires. labels is NULL or a
 * NULL-terminated list of name, value pairs. Thread-compatible (no shared state). */
#define CPN_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* "# HELP name help" and "# TYPE name type" (type: counter, gauge, histogram, summary, untyped). */
int cpn_prom_family(struct cpn_buf *b, const char *name, const char *type, const char *help);
/* One sample line: name{labels} value (NaN, +Inf, -Inf spelled as Prometheus reads them). */
int cpn_prom_sample(struct cpn_buf *b, const char *name, const char *const *labels, double value);
/* The samples of one histogram: name_bucket{...,le="b"} for each of the n upper bounds (ascending;
 * counts[i] observations fell in (bounds[i-1], bounds[i]], not cumulative: the writer sums them),
 * le="+Inf" (adding overflow, the observations above the last bound), name_sum and name_count.
 * The "# TYPE name histogram" line is the caller's (cpn_prom_family). */
int cpn_prom_histogram(struct cpn_buf *b,
                       const char *name,
                       const char *const *labels,
                       const double *bounds,
                       const uint64_t *counts,
                       size_t n,
                       double sum,
                       uint64_t overflow);

#endif
