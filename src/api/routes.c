/* SPDX-License-Identifier: Apache-2.0 */
/* The route table of the API and its matcher. The table is the one source of truth for methods,
 * path templates and operationIds: docs/openapi.yaml is checked against it by tests/api. Matching
 * compares the raw (still percent-encoded) path segment by segment, so an encoded '/' inside an id
 * never splits it, then decodes the {param} segments; a path that fits no template is -ENOENT
 * (404), one that fits a template of another method is -EPERM (405, with the Allow list). HEAD is
 * served by the GET routes. The table has 22 entries, so a linear scan is the fastest structure. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"

static const struct cpn_route_info routes[] = {
    { CPN_ROUTE_HEALTHZ, CPN_HTTP_GET, "/healthz", "getHealth", false },
    { CPN_ROUTE_METRICS, CPN_HTTP_GET, "/metrics", "getMetrics", false },
    { CPN_ROUTE_JOBS_SUBMIT, CPN_HTTP_POST, "/v1/jobs", "submitJob", true },
    { CPN_ROUTE_JOBS_LIST, CPN_HTTP_GET, "/v1/jobs", "listJobs", true },
    { CPN_ROUTE_JOB_GET, CPN_HTTP_GET, "/v1/jobs/{id}", "getJob", true },
    { CPN_ROUTE_JOB_CANCEL, CPN_HTTP_POST, "/v1/jobs/{id}/cancel", "cancelJob", true },
    { CPN_ROUTE_JOB_EXPLAIN, CPN_HTTP_GET, "/v1/jobs/{id}/explain", "explainJob", true },
    { CPN_ROUTE_QUOTE, CPN_HTTP_POST, "/v1/quote", "quote", true },
    { CPN_ROUTE_HUBS, CPN_HTTP_GET, "/v1/hubs", "listHubs", true },
    { CPN_ROUTE_SITES, CPN_HTTP_GET, "/v1/sites", "listSites", true },
    { CPN_ROUTE_CLUSTERS_LIST, CPN_HTTP_GET, "/v1/clusters", "listClusters", true },
    { CPN_ROUTE_CLUSTER_GET, CPN_HTTP_GET, "/v1/clusters/{id}", "getCluster", true },
    { CPN_ROUTE_CLUSTER_PUT, CPN_HTTP_PUT, "/v1/clusters/{id}", "putCluster", true },
    { CPN_ROUTE_CLUSTER_POOLS, CPN_HTTP_GET, "/v1/clusters/{id}/pools", "listClusterPools", true },
    { CPN_ROUTE_CLUSTER_TELEMETRY, CPN_HTTP_POST, "/v1/clusters/{id}/telemetry", "postTelemetry",
      true },
    { CPN_ROUTE_SIGNALS_LIST, CPN_HTTP_GET, "/v1/signals", "listSignals", true },
    { CPN_ROUTE_SIGNAL_GET, CPN_HTTP_GET, "/v1/signals/{zone}/{kind}", "getSignal", true },
    { CPN_ROUTE_SIGNAL_PUT, CPN_HTTP_PUT, "/v1/signals/{zone}/{kind}", "putSignal", true },
    { CPN_ROUTE_CAS_BEST, CPN_HTTP_GET, "/emissions/bylocations/best",
      "getEmissionsByLocationsBest", false },
    { CPN_ROUTE_CAS_FORECAST, CPN_HTTP_GET, "/emissions/forecasts/current", "getCurrentForecast",
      false },
    { CPN_ROUTE_CLUSTER_ASSIGNMENTS, CPN_HTTP_GET, "/v1/clusters/{id}/assignments",
      "getAssignments", true },
    { CPN_ROUTE_JOB_EVENTS, CPN_HTTP_POST, "/v1/jobs/{id}/events", "postJobEvent", true },
};

#define NROUTES (sizeof routes / sizeof routes[0])

const struct cpn_route_info *cpn_routes(size_t *n)
{
    *n = NROUTES;
    return routes;
}

const struct cpn_route_info *cpn_route_info(enum cpn_route r)
{
    for (size_t i = 0; i < NROUTES; i++)
        if (routes[i].route == r)
            return &routes[i];
    return NULL;
}

enum cpn__body cpn__route_body(enum cpn_route r)
{
    switch (r) {
    case CPN_ROUTE_JOBS_SUBMIT:
    case CPN_ROUTE_QUOTE:
    case CPN_ROUTE_CLUSTER_PUT:
    case CPN_ROUTE_CLUSTER_TELEMETRY:
    case CPN_ROUTE_JOB_EVENTS:
        return CPN__BODY_JSON;
    case CPN_ROUTE_SIGNAL_PUT:
        return CPN__BODY_JSON_CSV;
    case CPN_ROUTE_JOB_CANCEL:
        return CPN__BODY_JSON_OPT;
    default:
        return CPN__BODY_NONE;
    }
}

const char *cpn_http_method_name(enum cpn_http_method m)
{
    switch (m) {
    case CPN_HTTP_GET:
        return "GET";
    case CPN_HTTP_HEAD:
        return "HEAD";
    case CPN_HTTP_POST:
        return "POST";
    case CPN_HTTP_PUT:
        return "PUT";
    case CPN_HTTP_PATCH:
        return "PATCH";
    case CPN_HTTP_DELETE:
        return "DELETE";
    case CPN_HTTP_OTHER:
        break;
    }
    return "OTHER";
}

enum cpn_http_method cpn__method_parse(const char *s)
{
    static const enum cpn_http_method all[] = { CPN_HTTP_GET, CPN_HTTP_HEAD,  CPN_HTTP_POST,
                                                CPN_HTTP_PUT, CPN_HTTP_PATCH, CPN_HTTP_DELETE };
    for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, cpn_http_method_name(all[i])) == 0)
            return all[i];
    return CPN_HTTP_OTHER;
}

/* Matches the raw path against one template; decodes its params into m on success. */
static bool template_match(const char *tpl, const char *path, struct cpn_route_match *m)
{
    const char *t = tpl, *p = path;
    int np = 0;
    while (*t && *p) {
        if (*t != '/' || *p != '/')
            return false;
        t++;
        p++;
        const char *te = strchr(t, '/'), *pe = strchr(p, '/');
        size_t tl = te ? (size_t)(te - t) : strlen(t);
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        if (tl >= 2 && t[0] == '{' && t[tl - 1] == '}') {
            if (pl == 0 || np >= CPN_ROUTE_PARAMS ||
                cpn__pct_decode(p, pl, false, m->params[np], CPN_ROUTE_PARAM_MAX) != 0 ||
                m->params[np][0] == '\0')
                return false;
            np++;
        } else if (tl != pl || memcmp(t, p, tl) != 0) {
            return false;
        }
        t += tl;
        p += pl;
    }
    return *t == '\0' && *p == '\0';
}

/* Canonical order of methods in an Allow header. */
static void allow_add(unsigned *mask, enum cpn_http_method m)
{
    *mask |= 1u << m;
    if (m == CPN_HTTP_GET)
        *mask |= 1u << CPN_HTTP_HEAD;
}

static void allow_format(unsigned mask, char *allow, size_t allow_size)
{
    size_t len = 0;
    if (!allow || allow_size == 0)
        return;
    allow[0] = '\0';
    for (int m = CPN_HTTP_GET; m < CPN_HTTP_OTHER; m++) {
        if (!(mask & (1u << m)))
            continue;
        int n = snprintf(allow + len, allow_size - len, "%s%s", len ? ", " : "",
                         cpn_http_method_name((enum cpn_http_method)m));
        if (n < 0 || (size_t)n >= allow_size - len) {
            allow[len] = '\0'; /* keep whole names only */
            return;
        }
        len += (size_t)n;
    }
}

int cpn_route_match(enum cpn_http_method method,
                    const char *path,
                    struct cpn_route_match *m,
                    char *allow,
                    size_t allow_size)
{
    struct cpn_route_match tmp;
    unsigned mask = 0;
    enum cpn_http_method want = method == CPN_HTTP_HEAD ? CPN_HTTP_GET : method;
    if (!path || path[0] != '/')
        return -ENOENT;
    for (size_t i = 0; i < NROUTES; i++) {
        memset(&tmp, 0, sizeof tmp);
        if (!template_match(routes[i].path, path, &tmp))
            continue;
        if (routes[i].method == want) {
            tmp.route = routes[i].route;
            *m = tmp;
            return 0;
        }
        allow_add(&mask, routes[i].method);
    }
    if (!mask)
        return -ENOENT;
    allow_format(mask, allow, allow_size);
    return -EPERM;
}
