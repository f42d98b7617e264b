/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the HTTP layer: the route table and matcher (every route, decoded params, 404, 405 with
 * Allow), the error-to-status mapping, problem+json bodies read back with jansson, query and bearer
 * parsing, the Prometheus writers, docs/openapi.yaml against the route table, and a real server on
 * 127.0.0.1 (port 0) whose handler answers from another thread after a delay, as the service loop
 * does after a group commit, driven by a plain-socket HTTP/1.1 client: routed requests, echoed
 * bodies, the server's own 404/405/413/415/400 answers, 100 concurrent requests, a client that
 * leaves before its answer, and a stop while a request is still waiting for its answer. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cpnet/api.h"
#include "harness.h"

/* ---- routes ---------------------------------------------------------------------------------- */

/* Fills a template with concrete params ("{id}" -> first, "{zone}" -> first, "{kind}" ->
 * second).
 */
static void fill_template(const char *tpl, const char *p0, const char *p1, char *out, size_t size)
{
    size_t o = 0;
    int np = 0;
    for (const char *t = tpl; *t && o + 1 < size;) {
        if (*t == '{') {
            const char *v = np++ == 0 ? p0 : p1;
            size_t vl = strlen(v);
            if (o + vl >= size)
                break;
            memcpy(out + o, v, vl);
            o += vl;
            t = strchr(t, '}') + 1;
        } else {
            out[o++] = *t++;
        }
    }
    out[o] = '\0';
}

static void test_route_table(void)
{
    size_t n;
    const struct cpn_route_info *r = cpn_routes(&n);
    int seen[CPN_ROUTE_COUNT] = { 0 };
    CHECK_INT(n, CPN_ROUTE_COUNT - 1);
    for (size_t i = 0; i < n; i++) {
        struct cpn_route_match m;
        char path[256], allow[64];
        int nparams = 0;
        CHECK(r[i].route > CPN_ROUTE_NONE && r[i].route < CPN_ROUTE_COUNT);
        seen[r[i].route]++;
        CHECK(cpn_route_info(r[i].route) == &r[i]);
        /* operationIds: camelCase, unique */
        CHECK_MSG(r[i].operation[0] >= 'a' && r[i].operation[0] <= 'z' &&
                      strspn(r[i].operation, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789") == strlen(r[i].operation),
                  "operationId %s is not camelCase", r[i].operation);
        for (size_t j = 0; j < i; j++)
            CHECK_MSG(strcmp(r[i].operation, r[j].operation) != 0, "duplicate %s", r[i].operation);
        /* auth: everything under /v1 */
        CHECK_INT(r[i].auth, strncmp(r[i].path, "/v1/", 4) == 0);
        for (const char *p = r[i].path; (p = strchr(p, '{')); p++)
            nparams++;
        fill_template(r[i].path, "job-1", "carbon", path, sizeof path);
        memset(&m, 0xff, sizeof m);
        int rc = cpn_route_match(r[i].method, path, &m, allow, sizeof allow);
        CHECK_MSG(rc == 0, "%s %s: %d", cpn_http_method_name(r[i].method), path, rc);
        CHECK_INT(m.route, r[i].route);
        if (nparams >= 1)
            CHECK_STR(m.params[0], "job-1");
        if (nparams >= 2)
            CHECK_STR(m.params[1], "carbon");
        if (r[i].method == CPN_HTTP_GET) {
            CHECK_INT(cpn_route_match(CPN_HTTP_HEAD, path, &m, allow, sizeof allow), 0);
            CHECK_INT(m.route, r[i].route);
        }
    }
    for (int k = CPN_ROUTE_NONE + 1; k < CPN_ROUTE_COUNT; k++)
        CHECK_MSG(seen[k] == 1, "route %d appears %d times", k, seen[k]);
    CHECK(cpn_route_info(CPN_ROUTE_NONE) == NULL);
    CHECK_STR(cpn_route_info(CPN_ROUTE_CAS_BEST)->operation, "getEmissionsByLocationsBest");
    CHECK(!cpn_route_info(CPN_ROUTE_HEALTHZ)->auth);
    CHECK(!cpn_route_info(CPN_ROUTE_METRICS)->auth);
    CHECK(!cpn_route_info(CPN_ROUTE_CAS_FORECAST)->auth);
}

static void test_route_params(void)
{
    static const struct {
        enum cpn_http_method method;
        const char *path;
        int rc;
        enum cpn_route route;
        const char *p0, *p1;
    } cases[] = {
        { CPN_HTTP_GET, "/v1/jobs/a%2Fb", 0, CPN_ROUTE_JOB_GET, "a/b", NULL },
        { CPN_HTTP_GET, "/v1/jobs/a+b", 0, CPN_ROUTE_JOB_GET, "a+b", NULL },
        { CPN_HTTP_GET, "/v1/jobs/%E4%B8%AD", 0, CPN_ROUTE_JOB_GET, "\xe4\xb8\xad", NULL },
        { CPN_HTTP_POST, "/v1/jobs/j%20%31/cancel", 0, CPN_ROUTE_JOB_CANCEL, "j 1", NULL },
        { CPN_HTTP_GET, "/v1/signals/CN-NORTH/carbon%5Fintensity", 0, CPN_ROUTE_SIGNAL_GET,
          "CN-NORTH", "carbon_intensity" },
        { CPN_HTTP_PUT, "/v1/signals/z/price", 0, CPN_ROUTE_SIGNAL_PUT, "z", "price" },
        { CPN_HTTP_POST, "/v1/clusters/c1/telemetry", 0, CPN_ROUTE_CLUSTER_TELEMETRY, "c1", NULL },
        { CPN_HTTP_GET, "/v1/clusters/c1/pools", 0, CPN_ROUTE_CLUSTER_POOLS, "c1", NULL },
        { CPN_HTTP_GET, "/emissions/bylocations/best", 0, CPN_ROUTE_CAS_BEST, NULL, NULL },
        { CPN_HTTP_GET, "/v1/jobs/%zz", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_GET, "/v1/jobs/%4", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_GET, "/v1/jobs/a%00b", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_POST, "/v1/jobs//cancel", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_GET, "/v1/jobs/", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_GET, "/v1/jobs/x/", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_GET, "/healthz/", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_GET, "/v1/signals/z", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_GET, "/v1/signals/z/k/x", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_GET, "/V1/jobs", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_GET, "v1/jobs", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_GET, "", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_GET, "/", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_GET, "/v1/nope", -ENOENT, 0, NULL, NULL },
        { CPN_HTTP_GET, "/v1/jobs/x/explain/more", -ENOENT, 0, NULL, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cpn_route_match m;
        char allow[64];
        int rc = cpn_route_match(cases[i].method, cases[i].path, &m, allow, sizeof allow);
        CHECK_MSG(rc == cases[i].rc, "%s: rc %d, expected %d", cases[i].path, rc, cases[i].rc);
        if (rc != 0 || cases[i].rc != 0)
            continue;
        CHECK_INT(m.route, cases[i].route);
        if (cases[i].p0)
            CHECK_STR(m.params[0], cases[i].p0);
        if (cases[i].p1)
            CHECK_STR(m.params[1], cases[i].p1);
    }
}

static void test_route_param_length(void)
{
    char path[1024], id[CPN_ROUTE_PARAM_MAX + 1];
    struct cpn_route_match m;
    memset(id, 'x', sizeof id);
    id[CPN_ROUTE_PARAM_MAX - 1] = '\0'; /* 127 bytes: the longest id */
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    CHECK_INT(cpn_route_match(CPN_HTTP_GET, path, &m, NULL, 0), 0);
    CHECK_INT(strlen(m.params[0]), CPN_ROUTE_PARAM_MAX - 1);
    id[CPN_ROUTE_PARAM_MAX - 1] = 'x';
    id[CPN_ROUTE_PARAM_MAX] = '\0'; /* 128 bytes */
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    CHECK_INT(cpn_route_match(CPN_HTTP_GET, path, &m, NULL, 0), -ENOENT);
    CHECK_INT(cpn_route_match(CPN_HTTP_DELETE, path, &m, NULL, 0), -ENOENT);
    /* 127 encoded bytes (381 raw) still fit */
    size_t o = (size_t)snprintf(path, sizeof path, "/v1/jobs/");
    for (int i = 0; i < CPN_ROUTE_PARAM_MAX - 1; i++)
        o += (size_t)snprintf(path + o, sizeof path - o, "%%41");
    CHECK_INT(cpn_route_match(CPN_HTTP_GET, path, &m, NULL, 0), 0);
    CHECK_INT(strlen(m.params[0]), CPN_ROUTE_PARAM_MAX - 1);
    CHECK(m.params[0][0] == 'A');
}

static void test_route_405(void)
{
    static const struct {
        enum cpn_http_method method;
        const char *path, *allow;
    } cases[] = {
        { CPN_HTTP_DELETE, "/v1/jobs", "GET, HEAD, POST" },
        { CPN_HTTP_PUT, "/v1/jobs", "GET, HEAD, POST" },
        { CPN_HTTP_PATCH, "/v1/clusters/x", "GET, HEAD, PUT" },
        { CPN_HTTP_POST, "/healthz", "GET, HEAD" },
        { CPN_HTTP_GET, "/v1/jobs/x/cancel", "POST" },
        { CPN_HTTP_HEAD, "/v1/quote", "POST" },
        { CPN_HTTP_OTHER, "/v1/signals/a/b", "GET, HEAD, PUT" },
        { CPN_HTTP_DELETE, "/emissions/forecasts/current", "GET, HEAD" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cpn_route_match m;
        char allow[64] = "unchanged";
        CHECK_INT(cpn_route_match(cases[i].method, cases[i].path, &m, allow, sizeof allow), -EPERM);
        CHECK_STR(allow, cases[i].allow);
    }
    /* A short buffer keeps whole method names only. */
    struct cpn_route_match m;
    char small[8];
    CHECK_INT(cpn_route_match(CPN_HTTP_DELETE, "/v1/jobs", &m, small, sizeof small), -EPERM);
    CHECK_STR(small, "GET");
    CHECK_INT(cpn_route_match(CPN_HTTP_DELETE, "/v1/jobs", &m, NULL, 0), -EPERM);
    CHECK_STR(cpn_http_method_name(CPN_HTTP_PATCH), "PATCH");
    CHECK_STR(cpn_http_method_name(CPN_HTTP_OTHER), "OTHER");
}

/* ---- statuses and problems ------------------------------------------------------------------- */

static void test_status_for(void)
{
    static const struct {
        int code, status;
    } cases[] = {
        { 0, 200 },           { -EINVAL, 400 },          { CPN_EPARSE, 400 },
        { CPN_EFIELD, 400 },  { CPN_EUSAGE, 400 },       { -EACCES, 401 },
        { -EPERM, 403 },      { -ENOENT, 404 },          { CPN_EREF, 404 },
        { -EEXIST, 409 },     { CPN_ELIMIT, 413 },       { CPN_EINFEASIBLE, 422 },
        { -EBUSY, 429 },      { -ENOMEM, 500 },          { -EIO, 500 },
        { CPN_ESOLVER, 500 }, { CPN_EUNSUPPORTED, 501 }, { -EAGAIN, 503 },
        { -ESHUTDOWN, 503 },  { -99999, 500 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_MSG(cpn_http_status_for(cases[i].code) == cases[i].status, "%s -> %d, expected %d",
                  cpn_strerror(cases[i].code), cpn_http_status_for(cases[i].code), cases[i].status);
    CHECK_STR(cpn_http_status_text(404), "Not Found");
    CHECK_STR(cpn_http_status_text(413), "Content Too Large");
    CHECK_STR(cpn_http_status_text(422), "Unprocessable Content");
    CHECK_STR(cpn_http_status_text(429), "Too Many Requests");
    CHECK_STR(cpn_http_status_text(499), "Client Error");
    CHECK_STR(cpn_http_status_text(599), "Server Error");
}

static void test_problem(void)
{
    struct cpn_http_response r = { 0 };
    json_error_t je;
    json_t *doc, *e;
    CHECK_INT(cpn_problem(&r, 400, "deadline \"2025-01-01\" is before earliest: expected later",
                          "/deadline"),
              0);
    CHECK_INT(r.status, 400);
    CHECK_STR(r.content_type, "application/problem+json");
    CHECK(r.body && r.len == strlen(r.body));
    doc = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, &je);
    CHECK_MSG(doc != NULL, "%s: %s", r.body, je.text);
    if (doc) {
        CHECK_STR(json_string_value(json_object_get(doc, "type")), "about:blank");
        CHECK_STR(json_string_value(json_object_get(doc, "title")), "Bad Request");
        CHECK_INT(json_integer_value(json_object_get(doc, "status")), 400);
        CHECK_STR(json_string_value(json_object_get(doc, "detail")),
                  "deadline \"2025-01-01\" is before earliest: expected later");
        e = json_array_get(json_object_get(doc, "errors"), 0);
        CHECK_STR(json_string_value(json_object_get(e, "field")), "/deadline");
        CHECK(json_string_value(json_object_get(e, "detail")) != NULL);
        json_decref(doc);
    }
    cpn_free(r.body);

    /* Control characters and backslashes survive; no field means no errors member. */
    memset(&r, 0, sizeof r);
    CHECK_INT(cpn_problem(&r, 404, "a\\b\n\x01\tc", NULL), 0);
    doc = json_loadb(r.body, r.len, 0, &je);
    CHECK_MSG(doc != NULL, "%s", r.body ? r.body : "(null)");
    if (doc) {
        CHECK_STR(json_string_value(json_object_get(doc, "detail")), "a\\b\n\x01\tc");
        CHECK(json_object_get(doc, "errors") == NULL);
        CHECK_STR(json_string_value(json_object_get(doc, "title")), "Not Found");
        json_decref(doc);
    }
    cpn_free(r.body);

    /* An allocation failure leaves the response untouched. */
    memset(&r, 0, sizeof r);
    cpn_alloc_fail_after(0);
    CHECK_INT(cpn_problem(&r, 500, "x", "y"), -ENOMEM);
    cpn_alloc_fail_after(-1);
    CHECK(r.body == NULL && r.status == 0);

    char *json = cpn_strdup("{\"a\":1}");
    cpn_http_json(&r, 201, json);
    CHECK_INT(r.status, 201);
    CHECK_STR(r.content_type, "application/json");
    CHECK_INT(r.len, 7);
    cpn_free(r.body);
    cpn_http_json(&r, 200, NULL);
    CHECK_INT(r.status, 500);
}

/* ---- query and bearer ------------------------------------------------------------------------ */

static void test_query(void)
{
    char out[16];
    const char *q = "location=eastus&time=2025-01-01T00%3A00%3A00Z&location=west+us&flag&"
                    "e=&loc%61tion=third&x=%zz&nul=a%00b";
    CHECK_INT(cpn_query_get(q, "location", out, sizeof out), 1);
    CHECK_STR(out, "eastus");
    CHECK_INT(cpn_query_get_nth(q, "location", 1, out, sizeof out), 1);
    CHECK_STR(out, "west us");
    CHECK_INT(cpn_query_get_nth(q, "location", 2, out, sizeof out), 1);
    CHECK_STR(out, "third");
    CHECK_INT(cpn_query_get_nth(q, "location", 3, out, sizeof out), 0);
    CHECK_INT(cpn_query_get(q, "flag", out, sizeof out), 1);
    CHECK_STR(out, "");
    CHECK_INT(cpn_query_get(q, "e", out, sizeof out), 1);
    CHECK_STR(out, "");
    CHECK_INT(cpn_query_get(q, "missing", out, sizeof out), 0);
    CHECK_INT(cpn_query_get(q, "loc", out, sizeof out), 0);
    CHECK_INT(cpn_query_get(q, "time", out, sizeof out), CPN_ELIMIT); /* 20 bytes > 15 */
    char big[32];
    CHECK_INT(cpn_query_get(q, "time", big, sizeof big), 1);
    CHECK_STR(big, "2025-01-01T00:00:00Z");
    CHECK_INT(cpn_query_get(q, "x", out, sizeof out), CPN_EPARSE);
    CHECK_INT(cpn_query_get(q, "nul", out, sizeof out), CPN_EPARSE);
    CHECK_INT(cpn_query_get("", "a", out, sizeof out), 0);
    CHECK_INT(cpn_query_get(NULL, "a", out, sizeof out), 0);
    CHECK_INT(cpn_query_get("&&a=1&&", "a", out, sizeof out), 1);
    CHECK_STR(out, "1");
    CHECK_INT(cpn_query_get("a=1=2", "a", out, sizeof out), 1);
    CHECK_STR(out, "1=2");
    CHECK_INT(cpn_query_get("a=%41%62", "a", out, sizeof out), 1);
    CHECK_STR(out, "Ab");
    CHECK_INT(cpn_query_get("a=123456789012345", "a", out, sizeof out), 1); /* exactly fits */
    CHECK_INT(cpn_query_get("a=1234567890123456", "a", out, sizeof out), CPN_ELIMIT);
}

static void test_bearer(void)
{
    static const struct {
        const char *header;
        int rc;
        const char *token;
    } cases[] = {
        { "Bearer abc.DEF-123_~+/", 0, "abc.DEF-123_~+/" },
        { "bearer tok==", 0, "tok==" },
        { "BEARER   tok  ", 0, "tok" },
        { " \tBearer\ttok", 0, "tok" },
        { "Bearer", -EACCES, NULL },
        { "Bearer ", -EACCES, NULL },
        { "Bearer a b", -EACCES, NULL },
        { "Bearer =abc", -EACCES, NULL },
        { "Bearer ab=c", -EACCES, NULL },
        { "Bearer a\"b", -EACCES, NULL },
        { "Basic dXNlcjpwYXNz", -EACCES, NULL },
        { "Bearertok", -EACCES, NULL },
        { "", -EACCES, NULL },
        { "Bearer 0123456789abcdef", -EACCES, NULL }, /* 16 bytes do not fit 16 */
        { "Bearer 0123456789abcde", 0, "0123456789abcde" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[16] = "";
        int rc = cpn_bearer_token(cases[i].header, out, sizeof out);
        CHECK_MSG(rc == cases[i].rc, "\"%s\": %d", cases[i].header, rc);
        if (cases[i].token && rc == 0)
            CHECK_STR(out, cases[i].token);
    }
    char out[8];
    CHECK_INT(cpn_bearer_token(NULL, out, sizeof out), -EACCES);
}

/* ---- Prometheus text ------------------------------------------------------------------------- */

static void test_promtext(void)
{
    struct cpn_buf b = { 0 };
    static const char *const labels[] = { "route", "submitJob", "code", "2\"0\\0\n", NULL };
    static const double bounds[] = { 0.001, 0.01, 0.1 };
    static const uint64_t counts[] = { 3, 0, 2 };
    CHECK_INT(cpn_prom_family(&b, "cpnet_http_requests_total", "counter", "Requests\\ by\nroute."),
              0);
    CHECK_INT(cpn_prom_sample(&b, "cpnet_http_requests_total", labels, 42), 0);
    CHECK_INT(cpn_prom_family(&b, "cpnet_up", "gauge", "1 when up."), 0);
    CHECK_INT(cpn_prom_sample(&b, "cpnet_up", NULL, 1), 0);
    CHECK_INT(cpn_prom_sample(&b, "cpnet_ratio", NULL, 0.1), 0);
    CHECK_INT(cpn_prom_sample(&b, "cpnet_nan", NULL, 0.0 / 0.0), 0);
    CHECK_INT(cpn_prom_sample(&b, "cpnet_inf", NULL, -1.0 / 0.0), 0);
    CHECK_INT(cpn_prom_family(&b, "cpnet_latency_seconds", "histogram", "Latency."), 0);
    CHECK_INT(cpn_prom_histogram(&b, "cpnet_latency_seconds", labels, bounds, counts, 3, 0.25, 1),
              0);
    CHECK_STR(
        b.data,
        "# HELP cpnet_http_requests_total Requests\\\\ by\\nroute.\n"
        "# TYPE cpnet_http_requests_total counter\n"
        "cpnet_http_requests_total{route=\"submitJob\",code=\"2\\\"0\\\\0\\n\"} 42\n"
        "# HELP cpnet_up 1 when up.\n"
        "# TYPE cpnet_up gauge\n"
        "cpnet_up 1\n"
        "cpnet_ratio 0.1\n"
        "cpnet_nan NaN\n"
        "cpnet_inf -Inf\n"
        "# HELP cpnet_latency_seconds Latency.\n"
        "# TYPE cpnet_latency_seconds histogram\n"
        "cpnet_latency_seconds_bucket{route=\"submitJob\",code=\"2\\\"0\\\\0\\n\",le=\"0.001\"} "
        "3\n"
        "cpnet_latency_seconds_bucket{route=\"submitJob\",code=\"2\\\"0\\\\0\\n\",le=\"0.01\"} "
        "3\n"
        "cpnet_latency_seconds_bucket{route=\"submitJob\",code=\"2\\\"0\\\\0\\n\",le=\"0.1\"} "
        "5\n"
        "cpnet_latency_seconds_bucket{route=\"submitJob\",code=\"2\\\"0\\\\0\\n\",le=\"+Inf\"} "
        "6\n"
        "cpnet_latency_seconds_sum{route=\"submitJob\",code=\"2\\\"0\\\\0\\n\"} 0.25\n"
        "cpnet_latency_seconds_count{route=\"submitJob\",code=\"2\\\"0\\\\0\\n\"} 6\n");
    /* Bad names change nothing. */
    size_t len = b.len;
    static const char *const bad_label[] = { "__x", "v", NULL };
    static const char *const bad_label2[] = { "a:b", "v", NULL };
    static const double bad_bounds[] = { 1, 1 };
    CHECK_INT(cpn_prom_family(&b, "1abc", "counter", ""), CPN_EFIELD);
    CHECK_INT(cpn_prom_family(&b, "abc", "countr", ""), CPN_EFIELD);
    CHECK_INT(cpn_prom_sample(&b, "a-b", NULL, 1), CPN_EFIELD);
    CHECK_INT(cpn_prom_sample(&b, "ok", bad_label, 1), CPN_EFIELD);
    CHECK_INT(cpn_prom_sample(&b, "ok", bad_label2, 1), CPN_EFIELD);
    CHECK_INT(cpn_prom_histogram(&b, "h", NULL, bad_bounds, counts, 2, 0, 0), CPN_EFIELD);
    CHECK_INT(b.len, len);
    CHECK_INT(strlen(b.data), len);
    CHECK_INT(cpn_prom_sample(&b, "ns:sub_total", NULL, 1e300), 0);
    CHECK_CONTAINS(b.data, "ns:sub_total 1e+300\n");
    cpn_buf_free(&b);
}

/* The writers' output passes `promtool check metrics` (Debian's prometheus package) when it is
 * installed: format and naming conventions both. */
static void test_promtext_promtool(void)
{
    struct cpn_buf b = { 0 };
    static const char *const labels[] = { "route", "submitJob", "code", "2\"0\\0\n", NULL };
    static const double bounds[] = { 0.001, 0.01, 0.1 };
    static const uint64_t counts[] = { 3, 0, 2 };
    const char *file = "build/tests/api/promtool-input.txt";
    FILE *f;
    int rc;
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        t_skip("promtool is not installed (apt-get install prometheus)");
        return;
    }
    CHECK_INT(cpn_prom_family(&b, "cpnet_http_requests_total", "counter", "Requests\\ by\nroute."),
              0);
    CHECK_INT(cpn_prom_sample(&b, "cpnet_http_requests_total", labels, 42), 0);
    CHECK_INT(cpn_prom_family(&b, "cpnet_store_commit_seconds", "histogram", "Group commits."), 0);
    CHECK_INT(
        cpn_prom_histogram(&b, "cpnet_store_commit_seconds", labels, bounds, counts, 3, 0.25, 1),
        0);
    CHECK_INT(cpn_prom_family(&b, "cpnet_green_share_ratio", "gauge", "Green share."), 0);
    CHECK_INT(cpn_prom_sample(&b, "cpnet_green_share_ratio", NULL, 0.0 / 0.0), 0);
    f = fopen(file, "w");
    CHECK_MSG(f != NULL, "cannot write %s (run from the repository root)", file);
    if (f) {
        fputs(b.data, f);
        fclose(f);
        rc = system("promtool check metrics < build/tests/api/promtool-input.txt");
        CHECK_MSG(rc == 0, "promtool check metrics failed (%d) on:\n%s", rc, b.data);
    }
    cpn_buf_free(&b);
}

/* ---- docs/openapi.yaml against the table ----------------------------------------------------- */

struct op {
    char path[128], method[16], id[64];
};

/* Reads the path, method and operationId of each operation under "paths:" (two-space indents). */
static int openapi_ops(const char *file, struct op *ops, int max)
{
    FILE *f = fopen(file, "r");
    char line[512], path[128] = "", method[16] = "";
    int n = 0;
    bool in_paths = false;
    static const char *const methods[] = { "get",     "put",  "post",  "delete",
                                           "options", "head", "patch", "trace" };
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        size_t ind = strspn(line, " ");
        line[strcspn(line, "\r\n")] = '\0';
        if (line[ind] == '\0' || line[ind] == '#')
            continue;
        if (ind == 0) {
            in_paths = strcmp(line, "paths:") == 0;
            continue;
        }
        if (!in_paths)
            continue;
        if (ind == 2 && line[2] == '/') {
            snprintf(path, sizeof path, "%.*s", (int)(strlen(line + 2) - 1), line + 2);
            method[0] = '\0';
        } else if (ind == 4) {
            method[0] = '\0';
            for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
                if (strncmp(line + 4, methods[i], strlen(methods[i])) == 0 &&
                    line[4 + strlen(methods[i])] == ':')
                    snprintf(method, sizeof method, "%s", methods[i]);
        } else if (ind == 6 && method[0] && strncmp(line + 6, "operationId:", 12) == 0 && n < max) {
            const char *v = line + 18;
            while (*v == ' ')
                v++;
            snprintf(ops[n].path, sizeof ops[n].path, "%s", path);
            snprintf(ops[n].method, sizeof ops[n].method, "%s", method);
            snprintf(ops[n].id, sizeof ops[n].id, "%.63s", v);
            n++;
        }
    }
    fclose(f);
    return n;
}

static void test_openapi_matches_routes(void)
{
    struct op ops[64];
    size_t n;
    const struct cpn_route_info *r = cpn_routes(&n);
    int nops = openapi_ops("docs/openapi.yaml", ops, 64);
    CHECK_MSG(nops > 0, "docs/openapi.yaml: no operations read (run from the repository root)");
    for (size_t i = 0; i < n; i++) {
        char m[16];
        bool found = false;
        snprintf(m, sizeof m, "%s", cpn_http_method_name(r[i].method));
        for (char *p = m; *p; p++)
            *p = (char)(*p - 'A' + 'a');
        for (int k = 0; k < nops; k++)
            if (strcmp(ops[k].path, r[i].path) == 0 && strcmp(ops[k].method, m) == 0) {
                found = true;
                CHECK_MSG(strcmp(ops[k].id, r[i].operation) == 0, "%s %s: operationId %s, table %s",
                          m, r[i].path, ops[k].id, r[i].operation);
            }
        CHECK_MSG(found, "docs/openapi.yaml lacks %s %s (%s)", m, r[i].path, r[i].operation);
    }
    for (int k = 0; k < nops; k++) {
        bool found = false;
        for (size_t i = 0; i < n; i++) {
            const char *mn = cpn_http_method_name(r[i].method);
            found = found || (strcmp(ops[k].path, r[i].path) == 0 &&
                              strncasecmp(ops[k].method, mn, strlen(mn) + 1) == 0);
        }
        CHECK_MSG(found, "docs/openapi.yaml has %s %s (%s), the route table does not",
                  ops[k].method, ops[k].path, ops[k].id);
    }
    CHECK_INT(nops, n);
}

/* ---- a real server --------------------------------------------------------------------------- */

/* The test's service: the handler queues each request; a responder thread waits delay_ms, then
 * answers everything queued (as the service loop answers a group commit). /healthz is answered
 * at once on the server thread; with hold set, requests are kept unanswered until the test
 * says. */
struct pending {
    struct cpn_http_request *req;
    struct pending *next;
};

struct svc {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thr;
    struct pending *queue, *held;
    int delay_ms;
    bool hold, quit;
    int handled;
};

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void answer(struct cpn_http_request *req)
{
    struct cpn_http_response resp = { 0 };
    const struct cpn_route_info *ri = cpn_route_info(req->match.route);
    if (req->method == CPN_HTTP_POST || req->method == CPN_HTTP_PUT) {
        char *body = cpn_malloc(req->body_len + 1);
        if (body) {
            memcpy(body, req->body, req->body_len + 1);
            resp.status = 201;
            resp.content_type = "application/json";
            resp.body = body;
            resp.len = req->body_len;
        } else {
            resp.status = 500;
        }
        snprintf(resp.headers, sizeof resp.headers,
                 "X-Auth: %.100s\nX-Idempotency-Key: %.100s\r\nLocation: /v1/jobs/%.100s\n"
                 "Bad Header: x\n"
                 "X-Injected: a\rb\n",
                 req->authorization, req->idempotency_key, req->match.params[0]);
    } else {
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:s}", "op", ri ? ri->operation : "?", "p0",
                      req->match.params[0], "p1", req->match.params[1], "query", req->query);
        cpn_http_json(&resp, 200, o ? json_dumps(o, JSON_COMPACT) : NULL);
        json_decref(o);
    }
    cpn_http_respond(req, &resp);
}

static void *responder(void *arg)
{
    struct svc *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->queue && !s->quit)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->queue && s->quit)
            break;
        pthread_mutex_unlock(&s->mu);
        sleep_ms(s->delay_ms); /* the "group commit" */
        pthread_mutex_lock(&s->mu);
        struct pending *batch = s->queue;
        s->queue = NULL;
        pthread_mutex_unlock(&s->mu);
        while (batch) {
            struct pending *next = batch->next;
            answer(batch->req);
            free(batch);
            batch = next;
        }
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void handler(void *ctx, struct cpn_http_request *req)
{
    struct svc *s = ctx;
    struct pending *p;
    if (req->match.route == CPN_ROUTE_HEALTHZ) {
        struct cpn_http_response resp = { 0 };
        cpn_http_json(&resp, 200, cpn_strdup("{\"status\":\"ok\"}"));
        pthread_mutex_lock(&s->mu);
        s->handled++;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        cpn_http_respond(req, &resp);
        return;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        abort();
    }
    p->req = req;
    pthread_mutex_lock(&s->mu);
    s->handled++;
    if (s->hold) {
        p->next = s->held;
        s->held = p;
    } else {
        p->next = s->queue;
        s->queue = p;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int svc_start(struct svc *s, int delay_ms, struct cpn_http **h)
{
    struct cpn_http_config cfg = {
        .listen = "127.0.0.1:0", .threads = 2, .handler = handler, .ctx = s
    };
    struct cpn_error err = { 0 };
    memset(s, 0, sizeof *s);
    s->delay_ms = delay_ms;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_create(&s->thr, NULL, responder, s);
    int rc = cpn_http_start(&cfg, h, &err);
    CHECK_MSG(rc == 0, "cpn_http_start: %s", err.msg);
    if (rc == 0)
        CHECK(cpn_http_port(*h) > 0);
    return rc;
}

static void svc_stop(struct svc *s, struct cpn_http *h)
{
    cpn_http_stop(h);
    pthread_mutex_lock(&s->mu);
    s->quit = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thr, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

/* ---- a minimal HTTP/1.1 client --------------------------------------------------------------- */

struct reply {
    int status;
    char head[4096]; /* status line and headers */
    char *body;      /* malloc'd, NUL-terminated */
    size_t len;
};

static int dial(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct timeval tv = { 10, 0 };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads until EOF and splits the reply. -1 when no status line arrived. */
static int read_reply(int fd, struct reply *r)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    memset(r, 0, sizeof *r);
    if (!buf)
        return -1;
    for (;;) {
        if (len == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*c %d", &r->status) != 1) {
        free(buf);
        return -1;
    }
    snprintf(r->head, sizeof r->head, "%.*s", (int)(sep - buf + 2), buf);
    r->len = len - (size_t)(sep + 4 - buf);
    r->body = malloc(r->len + 1);
    if (r->body) {
        memcpy(r->body, sep + 4, r->len);
        r->body[r->len] = '\0';
    }
    free(buf);
    return 0;
}

/* One request on a fresh connection (Connection: close). extra: more header lines, "" or
 * "Name: value\r\n...". */
static int call(int port,
                const char *method,
                const char *target,
                const char *extra,
                const char *body,
                size_t blen,
                struct reply *r)
{
    char head[2048];
    int fd = dial(port), rc;
    if (fd < 0)
        return -1;
    /* Content-Length or Transfer-Encoding is the caller's, in extra. */
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", method,
                      target, extra);
    send_all(fd, head, (size_t)hl);
    if (body && blen)
        send_all(fd, body, blen); /* the server may refuse early: its answer is what counts */
    rc = read_reply(fd, r);
    close(fd);
    return rc;
}

static void reply_free(struct reply *r)
{
    free(r->body);
    r->body = NULL;
}

/* The reply is a problem+json document with this status. */
static void check_problem(const struct reply *r, int status)
{
    json_error_t je;
    json_t *doc;
    CHECK_INT(r->status, status);
    CHECK_CONTAINS(r->head, "Content-Type: application/problem+json");
    doc = r->body ? json_loadb(r->body, r->len, 0, &je) : NULL;
    CHECK_MSG(doc != NULL, "not JSON: %s", r->body ? r->body : "(null)");
    if (doc) {
        CHECK_INT(json_integer_value(json_object_get(doc, "status")), status);
        CHECK_STR(json_string_value(json_object_get(doc, "title")), cpn_http_status_text(status));
        CHECK(json_string_value(json_object_get(doc, "detail")) != NULL);
        json_decref(doc);
    }
}

static void test_server_basic(void)
{
    struct svc s;
    struct cpn_http *h = NULL;
    struct reply r;
    json_t *doc;
    if (svc_start(&s, 20, &h) != 0)
        return;
    int port = cpn_http_port(h);

    /* answered synchronously on the server thread */
    CHECK_INT(call(port, "GET", "/healthz", "", NULL, 0, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "{\"status\":\"ok\"}");
    CHECK_CONTAINS(r.head, "Content-Type: application/json");
    reply_free(&r);

    /* routed GET, answered later from another thread; params decoded, query raw */
    CHECK_INT(call(port, "GET", "/v1/signals/CN%2DN/carbon?from=2025-01-01T00%3A00Z&x=1", "", NULL,
                   0, &r),
              0);
    CHECK_INT(r.status, 200);
    doc = r.body ? json_loads(r.body, 0, NULL) : NULL;
    CHECK_MSG(doc != NULL, "%s", r.body ? r.body : "(null)");
    if (doc) {
        CHECK_STR(json_string_value(json_object_get(doc, "op")), "getSignal");
        CHECK_STR(json_string_value(json_object_get(doc, "p0")), "CN-N");
        CHECK_STR(json_string_value(json_object_get(doc, "p1")), "carbon");
        CHECK_STR(json_string_value(json_object_get(doc, "query")), "from=2025-01-01T00%3A00Z&x=1");
        json_decref(doc);
    }
    reply_free(&r);

    /* HEAD is served by the GET route, without a body */
    CHECK_INT(call(port, "HEAD", "/v1/jobs/j1", "", NULL, 0, &r), 0);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.len, 0);
    reply_free(&r);

    /* POST with a body, echoed; headers passed through; malformed extra headers dropped */
    static const char job[] = "{\"id\":\"j1\",\"units\":8}";
    char extra[256];
    snprintf(extra, sizeof extra,
             "Content-Type: application/json; charset=utf-8\r\nContent-Length: %zu\r\n"
             "Authorization: Bearer t0k\r\nIdempotency-Key: k-1\r\n",
             sizeof job - 1);
    CHECK_INT(call(port, "POST", "/v1/jobs", extra, job, sizeof job - 1, &r), 0);
    CHECK_INT(r.status, 201);
    CHECK_STR(r.body, job);
    CHECK_CONTAINS(r.head, "X-Auth: Bearer t0k\r\n");
    CHECK_CONTAINS(r.head, "X-Idempotency-Key: k-1\r\n");
    CHECK_CONTAINS(r.head, "Location: /v1/jobs/\r\n");
    CHECK(strstr(r.head, "Bad Header") == NULL);
    CHECK(strstr(r.head, "X-Injected") == NULL);
    reply_free(&r);

    /* a chunked body */
    static const char chunked[] = "5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n";
    CHECK_INT(call(port, "PUT", "/v1/clusters/c1",
                   "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", chunked,
                   sizeof chunked - 1, &r),
              0);
    CHECK_INT(r.status, 201);
    CHECK_STR(r.body, "{\"a\":1}");
    reply_free(&r);

    /* a signal series may come as CSV */
    static const char csv[] = "time,value\n2025-01-01T00:00:00Z,612.5\n";
    CHECK_INT(call(port, "PUT", "/v1/signals/z1/ci?forecast=true",
                   "Content-Type: text/csv; charset=utf-8\r\nContent-Length: 38\r\n", csv,
                   sizeof csv - 1, &r),
              0);
    CHECK_INT(r.status, 201);
    CHECK_STR(r.body, csv);
    reply_free(&r);

    /* an optional body may be absent */
    CHECK_INT(call(port, "POST", "/v1/jobs/j1/cancel", "Content-Length: 0\r\n", NULL, 0, &r), 0);
    CHECK_INT(r.status, 201);
    CHECK_INT(r.len, 0);
    reply_free(&r);

    svc_stop(&s, h);
}

static void test_server_errors(void)
{
    struct svc s;
    struct cpn_http *h = NULL;
    struct reply r;
    if (svc_start(&s, 5, &h) != 0)
        return;
    int port = cpn_http_port(h);

    CHECK_INT(call(port, "GET", "/v1/nowhere", "", NULL, 0, &r), 0);
    check_problem(&r, 404);
    reply_free(&r);
    CHECK_INT(call(port, "GET", "/v1/jobs/", "", NULL, 0, &r), 0);
    check_problem(&r, 404);
    reply_free(&r);

    CHECK_INT(call(port, "DELETE", "/v1/jobs", "", NULL, 0, &r), 0);
    check_problem(&r, 405);
    CHECK_CONTAINS(r.head, "Allow: GET, HEAD, POST\r\n");
    reply_free(&r);
    CHECK_INT(call(port, "BREW", "/healthz", "", NULL, 0, &r), 0);
    check_problem(&r, 405);
    CHECK_CONTAINS(r.head, "Allow: GET, HEAD\r\n");
    reply_free(&r);

    /* a JSON route with another media type */
    CHECK_INT(call(port, "POST", "/v1/quote", "Content-Type: text/plain\r\nContent-Length: 2\r\n",
                   "{}", 2, &r),
              0);
    check_problem(&r, 415);
    CHECK_CONTAINS(r.body, "\"field\":\"Content-Type\"");
    reply_free(&r);
    CHECK_INT(call(port, "POST", "/v1/quote", "Content-Length: 2\r\n", "{}", 2, &r), 0);
    check_problem(&r, 415);
    reply_free(&r);
    CHECK_INT(call(port, "POST", "/v1/jobs", "Content-Type: text/csv\r\nContent-Length: 2\r\n",
                   "a,", 2, &r),
              0);
    check_problem(&r, 415);
    CHECK_CONTAINS(r.body, "expected application/json");
    reply_free(&r);

    /* a body where none is expected */
    CHECK_INT(call(port, "GET", "/v1/jobs",
                   "Content-Type: application/json\r\nContent-Length: 2\r\n", "{}", 2, &r),
              0);
    check_problem(&r, 400);
    reply_free(&r);

    /* a NUL inside a JSON body */
    CHECK_INT(call(port, "POST", "/v1/quote",
                   "Content-Type: application/json\r\nContent-Length: 5\r\n", "{\"\0\"}", 5, &r),
              0);
    check_problem(&r, 400);
    CHECK_CONTAINS(r.body, "offset 2");
    reply_free(&r);

    /* an over-long target */
    char target[700];
    memset(target, 'a', sizeof target - 1);
    target[0] = '/';
    target[sizeof target - 1] = '\0';
    CHECK_INT(call(port, "GET", target, "", NULL, 0, &r), 0);
    check_problem(&r, 414);
    reply_free(&r);

    /* an over-long idempotency key */
    char extra[512];
    memset(extra, 0, sizeof extra);
    memcpy(extra, "Idempotency-Key: ", 17);
    memset(extra + 17, 'k', 200);
    memcpy(extra + 217, "\r\n", 2);
    CHECK_INT(call(port, "GET", "/v1/jobs", extra, NULL, 0, &r), 0);
    check_problem(&r, 400);
    CHECK_CONTAINS(r.body, "\"field\":\"Idempotency-Key\"");
    reply_free(&r);

    pthread_mutex_lock(&s.mu);
    CHECK_INT(s.handled, 0); /* none of these reached the handler */
    pthread_mutex_unlock(&s.mu);
    svc_stop(&s, h);
}

static void test_server_body_limit(void)
{
    struct svc s;
    struct cpn_http *h = NULL;
    struct reply r;
    size_t big = 2u << 20;
    char *body = malloc(big);
    char extra[256];
    if (!body || svc_start(&s, 5, &h) != 0) {
        free(body);
        CHECK(body != NULL);
        return;
    }
    int port = cpn_http_port(h);
    memset(body, ' ', big);
    body[0] = '"';
    body[CPN_HTTP_BODY_LIMIT - 1] = '"';

    /* declared too large: answered before the body is read */
    snprintf(extra, sizeof extra, "Content-Type: application/json\r\nContent-Length: %zu\r\n", big);
    int fd = dial(port);
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n", extra);
    CHECK(fd >= 0 && send_all(fd, head, (size_t)hl));
    CHECK_INT(read_reply(fd, &r), 0);
    close(fd);
    check_problem(&r, 413);
    reply_free(&r);

    /* the same, sending the whole 2 MiB anyway */
    CHECK_INT(call(port, "POST", "/v1/jobs", extra, body, big, &r), 0);
    check_problem(&r, 413);
    reply_free(&r);

    /* chunked, no length: cut off once it passes the limit */
    {
        struct cpn_buf req = { 0 };
        size_t piece = 64u << 10;
        cpn_buf_puts(&req, "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (size_t off = 0; off < big; off += piece) {
            cpn_buf_printf(&req, "%zx\r\n", piece);
            cpn_buf_append(&req, body + off, piece);
            cpn_buf_puts(&req, "\r\n");
        }
        cpn_buf_puts(&req, "0\r\n\r\n");
        fd = dial(port);
        CHECK(fd >= 0);
        send_all(fd, req.data, req.len);
        CHECK_INT(read_reply(fd, &r), 0);
        close(fd);
        check_problem(&r, 413);
        reply_free(&r);
        cpn_buf_free(&req);
    }

    /* exactly at the limit: accepted and echoed whole */
    snprintf(extra, sizeof extra, "Content-Type: application/json\r\nContent-Length: %u\r\n",
             CPN_HTTP_BODY_LIMIT);
    CHECK_INT(call(port, "POST", "/v1/jobs", extra, body, CPN_HTTP_BODY_LIMIT, &r), 0);
    CHECK_INT(r.status, 201);
    CHECK_INT(r.len, CPN_HTTP_BODY_LIMIT);
    CHECK(r.body && memcmp(r.body, body, CPN_HTTP_BODY_LIMIT) == 0);
    reply_free(&r);

    svc_stop(&s, h);
    free(body);
}

struct client_arg {
    int port, i, status;
    bool ok;
};

static void *client_thread(void *arg)
{
    struct client_arg *a = arg;
    struct reply r;
    char target[64], want[64];
    snprintf(target, sizeof target, "/v1/jobs/job-%d", a->i);
    snprintf(want, sizeof want, "\"p0\":\"job-%d\"", a->i);
    if (call(a->port, "GET", target, "", NULL, 0, &r) == 0) {
        a->status = r.status;
        a->ok = r.body && strstr(r.body, want) != NULL;
        reply_free(&r);
    }
    return NULL;
}

static void test_server_concurrent(void)
{
    enum {
        N = 100
    };
    struct svc s;
    struct cpn_http *h = NULL;
    pthread_t t[N];
    struct client_arg a[N];
    int ok = 0;
    if (svc_start(&s, 10, &h) != 0)
        return;
    for (int i = 0; i < N; i++) {
        a[i] = (struct client_arg){ .port = cpn_http_port(h), .i = i };
        pthread_create(&t[i], NULL, client_thread, &a[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ok += a[i].status == 200 && a[i].ok;
        if (!(a[i].status == 200 && a[i].ok) && ok + 5 > i)
            printf("# request %d: status %d%s\n", i, a[i].status, a[i].ok ? "" : ", wrong body");
    }
    CHECK_INT(ok, N);
    pthread_mutex_lock(&s.mu);
    CHECK_INT(s.handled, N);
    pthread_mutex_unlock(&s.mu);
    svc_stop(&s, h);
}

/* A keep-alive connection carries several requests, each waiting for its answer in turn. */
static void test_server_keepalive(void)
{
    struct svc s;
    struct cpn_http *h = NULL;
    struct reply r;
    if (svc_start(&s, 5, &h) != 0)
        return;
    int fd = dial(cpn_http_port(h));
    static const char two[] = "GET /v1/hubs HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /v1/sites?a=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    CHECK(fd >= 0 && send_all(fd, two, sizeof two - 1));
    CHECK_INT(read_reply(fd, &r), 0);
    close(fd);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "\"op\":\"listHubs\"");
    CHECK_CONTAINS(r.body, "HTTP/1.1 200");
    CHECK_CONTAINS(r.body, "\"op\":\"listSites\"");
    reply_free(&r);
    svc_stop(&s, h);
}

/* A client that leaves before its answer: the answer goes nowhere, nothing leaks. */
static void test_server_client_gone(void)
{
    struct svc s;
    struct cpn_http *h = NULL;
    if (svc_start(&s, 50, &h) != 0)
        return;
    int fd = dial(cpn_http_port(h));
    static const char req[] = "GET /v1/clusters HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(fd >= 0 && send_all(fd, req, sizeof req - 1));
    pthread_mutex_lock(&s.mu);
    while (s.handled < 1)
        pthread_cond_wait(&s.cv, &s.mu);
    pthread_mutex_unlock(&s.mu);
    close(fd);
    sleep_ms(120); /* the answer comes after 50 ms, into a closed connection */
    struct reply r;
    CHECK_INT(call(cpn_http_port(h), "GET", "/healthz", "", NULL, 0, &r), 0);
    CHECK_INT(r.status, 200);
    reply_free(&r);
    svc_stop(&s, h);
}

struct stuck_arg {
    int port;
    int rc;
};

static void *stuck_client(void *arg)
{
    struct stuck_arg *a = arg;
    struct reply r;
    a->rc = call(a->port, "POST", "/v1/jobs",
                 "Content-Type: application/json\r\nContent-Length: 2\r\n", "{}", 2, &r);
    if (a->rc == 0)
        reply_free(&r);
    return NULL;
}

/* cpn_http_stop with requests still waiting for their answers: it returns, the connections are
 * closed, and the answers that come afterwards are dropped without a leak (ASan checks). */
static void test_server_stop_pending(void)
{
    struct svc s;
    struct cpn_http *h = NULL;
    pthread_t t[3];
    struct stuck_arg a[3];
    if (svc_start(&s, 1, &h) != 0)
        return;
    s.hold = true;
    for (int i = 0; i < 3; i++) {
        a[i] = (struct stuck_arg){ .port = cpn_http_port(h), .rc = 1 };
        pthread_create(&t[i], NULL, stuck_client, &a[i]);
    }
    pthread_mutex_lock(&s.mu);
    while (s.handled < 3)
        pthread_cond_wait(&s.cv, &s.mu);
    pthread_mutex_unlock(&s.mu);
    int64_t t0 = cpn_monotonic_ns();
    cpn_http_stop(h);
    CHECK_MSG(cpn_monotonic_ns() - t0 < 2000000000LL, "stop took %lld ms",
              (long long)((cpn_monotonic_ns() - t0) / 1000000));
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(a[i].rc, -1); /* closed without an answer */
    }
    /* the service answers after the server is gone */
    pthread_mutex_lock(&s.mu);
    struct pending *p = s.held;
    s.held = NULL;
    pthread_mutex_unlock(&s.mu);
    while (p) {
        struct pending *next = p->next;
        answer(p->req);
        free(p);
        p = next;
    }
    pthread_mutex_lock(&s.mu);
    s.quit = true;
    pthread_cond_broadcast(&s.cv);
    pthread_mutex_unlock(&s.mu);
    pthread_join(s.thr, NULL);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
}

static void test_server_start_errors(void)
{
    struct cpn_http *h = NULL, *h2 = NULL;
    struct cpn_error err = { 0 };
    struct svc s;
    struct cpn_http_config cfg = { .listen = "127.0.0.1:0", .handler = handler, .ctx = &s };
    char spec[64];
    cfg.listen = "nonsense";
    CHECK_INT(cpn_http_start(&cfg, &h, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "nonsense");
    cfg.listen = "127.0.0.1:99999";
    CHECK_INT(cpn_http_start(&cfg, &h, &err), CPN_EFIELD);
    cfg.listen = "127.0.0.1:0";
    cfg.handler = NULL;
    CHECK_INT(cpn_http_start(&cfg, &h, &err), -EINVAL);
    cfg.handler = handler;
    CHECK_INT(cpn_http_start(&cfg, &h, &err), 0);
    if (!h)
        return;
    snprintf(spec, sizeof spec, "127.0.0.1:%d", cpn_http_port(h));
    cfg.listen = spec;
    CHECK_INT(cpn_http_start(&cfg, &h2, &err), -EADDRINUSE);
    CHECK_CONTAINS(err.msg, spec);
    cpn_http_stop(h);
    cpn_http_stop(NULL);
    cfg.listen = "[::1]:0";
    if (cpn_http_start(&cfg, &h2, &err) == 0) {
        CHECK(cpn_http_port(h2) > 0);
        cpn_http_stop(h2);
    }
}

int main(void)
{
    T_RUN(test_route_table);
    T_RUN(test_route_params);
    T_RUN(test_route_param_length);
    T_RUN(test_route_405);
    T_RUN(test_status_for);
    T_RUN(test_problem);
    T_RUN(test_query);
    T_RUN(test_bearer);
    T_RUN(test_promtext);
    T_RUN(test_promtext_promtool);
    T_RUN(test_openapi_matches_routes);
    T_RUN(test_server_basic);
    T_RUN(test_server_errors);
    T_RUN(test_server_body_limit);
    T_RUN(test_server_concurrent);
    T_RUN(test_server_keepalive);
    T_RUN(test_server_client_gone);
    T_RUN(test_server_stop_pending);
    T_RUN(test_server_start_errors);
    return T_DONE("api");
}
