/* SPDX-License-Identifier: Apache-2.0 */
/* The platform service over real HTTP: an in-process server (cpn_server_start) on 127.0.0.1 with
 * a port picked by the kernel, a data directory under build/ and a test clock the tests move by
 * hand, driven by a small HTTP/1.1 client over plain sockets (one connection per request,
 * "Connection: close"). It checks every route, every error status, the role matrix, idempotent
 * resubmission, pagination and filters, cluster registration, telemetry and health, signal
 * uploads that re-plan, rate limits, and a restart on the same data directory. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cpnet/api.h"
#include "cpnet/serve.h"
#include "cpnet/store.h"
#include "harness.h"

/* 2025-06-01T00:00:00Z */
#define T0_S 1748736000LL

static const char network_json[] =
    "{\"name\": \"serve-test\", \"slot_minutes\": 15,\n"
    " \"hubs\": [{\"id\": \"east\", \"name\": \"East\", \"region\": \"east\"},\n"
    "          {\"id\": \"west\", \"name\": \"West\", \"region\": \"west\"}],\n"
    " \"zones\": [{\"id\": \"z-east\", \"grid_gco2_per_kwh\": 700, \"green_share\": 0.2,\n"
    "            \"price_cny_per_kwh\": 0.5},\n"
    "           {\"id\": \"z-west\", \"grid_gco2_per_kwh\": 600, \"green_share\": 0.8,\n"
    "            \"price_cny_per_kwh\": 0.5}],\n"
    " \"clusters\": [\n"
    "  {\"id\": \"alpha\", \"name\": \"Alpha\", \"hub\": \"east\", \"zone\": \"z-east\",\n"
    "   \"province\": \"Hebei\", \"owner\": \"A\", \"lon\": 114.884, \"lat\": 40.812, \"pue\": "
    "1.3,\n"
    "   \"pools\": [{\"id\": \"gpu\", \"class\": \"intelligent\", \"device\": \"A100\", \"units\": "
    "64,\n"
    "              \"tflops\": 312, \"watts_idle\": 60, \"watts_busy\": 400, \"mem_gib\": 80,\n"
    "              \"price_cny_per_unit_hour\": 5},\n"
    "             {\"id\": \"cpu\", \"class\": \"general\", \"device\": \"Xeon\", \"units\": "
    "10000,\n"
    "              \"tflops\": 0.128, \"watts_idle\": 3, \"watts_busy\": 8.8,\n"
    "              \"price_cny_per_unit_hour\": 0.07}]},\n"
    "  {\"id\": \"beta\", \"name\": \"Beta\", \"hub\": \"west\", \"zone\": \"z-west\",\n"
    "   \"province\": \"Inner Mongolia\", \"owner\": \"B\", \"lon\": 111.671, \"lat\": 40.818,\n"
    "   \"pue\": 1.3,\n"
    "   \"pools\": [{\"id\": \"gpu\", \"class\": \"intelligent\", \"device\": \"A100\", \"units\": "
    "64,\n"
    "              \"tflops\": 312, \"watts_idle\": 60, \"watts_busy\": 400, \"mem_gib\": 80,\n"
    "              \"price_cny_per_unit_hour\": 5},\n"
    "             {\"id\": \"cpu\", \"class\": \"general\", \"device\": \"Xeon\", \"units\": "
    "10000,\n"
    "              \"tflops\": 0.128, \"watts_idle\": 3, \"watts_busy\": 8.8,\n"
    "              \"price_cny_per_unit_hour\": 0.07}]}],\n"
    " \"sites\": [{\"id\": \"beijing\", \"name\": \"Beijing\", \"lon\": 116.405, \"lat\": "
    "39.905},\n"
    "           {\"id\": \"shanghai\", \"name\": \"Shanghai\", \"lon\": 121.473, \"lat\": "
    "31.230}]}\n";

/* A cluster object as in the network file's "clusters" array (hub and zone exist). */
static const char gamma_json[] =
    "{\"name\": \"Gamma\", \"hub\": \"west\", \"zone\": \"z-west\", \"province\": \"Ningxia\",\n"
    " \"owner\": \"G\", \"lon\": 105.19, \"lat\": 37.5, \"pue\": 1.15,\n"
    " \"pools\": [{\"id\": \"gpu\", \"class\": \"intelligent\", \"device\": \"H800\", \"units\": "
    "32,\n"
    "            \"tflops\": 989.5, \"watts_idle\": 100, \"watts_busy\": 700, \"mem_gib\": 80,\n"
    "            \"price_cny_per_unit_hour\": 9.5}]}";

/* ---- the test clock -------------------------------------------------------------------------- */

struct tclock {
    _Atomic int64_t ns;
};

static int64_t tclock_now(void *ctx)
{
    return atomic_load(&((struct tclock *)ctx)->ns);
}

/* ---- fixture ------------------------------------------------------------------------------------
 */

struct fixture {
    char dir[256];
    char net[320];
    char logpath[320];
    FILE *log;
    struct tclock clk;
    struct cpn_serve_config cfg;
    struct cpn_server *srv;
    int port;
    char op[CPN_TOKEN_MAX];         /* operator */
    char lab_a[CPN_TOKEN_MAX];      /* tenant lab-a */
    char lab_b[CPN_TOKEN_MAX];      /* tenant lab-b */
    char prov_beta[CPN_TOKEN_MAX];  /* provider of beta */
    char prov_gamma[CPN_TOKEN_MAX]; /* provider of gamma (not yet registered) */
};

static struct fixture F; /* the shared server of this test binary */

static int64_t now_s(void)
{
    return atomic_load(&F.clk.ns) / 1000000000;
}

static void advance_s(int64_t s)
{
    atomic_fetch_add(&F.clk.ns, s * 1000000000LL);
}

static void iso(int64_t t, char out[32])
{
    char b[CPN_TIME_STRLEN];
    cpn_time_format(t, b);
    snprintf(out, 32, "%s", b);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int read_token(const char *dir, char *out, size_t size)
{
    char path[400];
    FILE *f;
    snprintf(path, sizeof path, "%s/operator.token", dir);
    f = fopen(path, "r");
    if (!f)
        return -1;
    if (!fgets(out, (int)size, f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

/* ---- a small HTTP/1.1 client --------------------------------------------------------------------
 */

struct resp {
    int status;
    char head[8192]; /* status line and headers */
    char *body;
    size_t len;
    json_t *json; /* parsed when the body is JSON */
};

static void resp_free(struct resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The value of header name in r (case-insensitive name), or NULL. */
static const char *resp_header(const struct resp *r, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    const char *p = strstr(r->head, "\r\n");
    while (p && p[2]) {
        const char *line = p + 2, *e = strstr(line, "\r\n");
        size_t len = e ? (size_t)(e - line) : strlen(line);
        if (len > n && line[n] == ':' && strncasecmp(line, name, n) == 0) {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, size, "%.*s", (int)(len - (size_t)(v - line)), v);
            return out;
        }
        p = e;
    }
    return NULL;
}

/* Sends one request on a new connection and reads the whole answer. extra: more header lines
 * ("Name: value\r\n"). Returns the status, or -1 when the exchange failed. */
static int http_to(int port,
                   struct resp *r,
                   const char *method,
                   const char *target,
                   const char *token,
                   const char *ctype,
                   const char *body,
                   size_t blen,
                   const char *extra)
{
    struct sockaddr_in sa = { 0 };
    char head[2048];
    char *buf = NULL, *sep;
    size_t len = 0, cap = 0;
    int fd, hn;
    struct timeval tv = { 10, 0 };
    memset(r, 0, sizeof *r);
    r->status = -1;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    hn = snprintf(head, sizeof head,
                  "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s%s%s%s%s%s"
                  "Content-Length: %zu\r\n%s\r\n",
                  method, target, port, token ? "Authorization: Bearer " : "", token ? token : "",
                  token ? "\r\n" : "", ctype ? "Content-Type: " : "", ctype ? ctype : "",
                  ctype ? "\r\n" : "", body ? blen : (size_t)0, extra ? extra : "");
    if (hn < 0 || (size_t)hn >= sizeof head || send_all(fd, head, (size_t)hn) != 0) {
        close(fd);
        return -1;
    }
    if (body && blen) {
        /* A body over the limit may be refused before it is read: look for an early answer. */
        struct pollfd pfd = { fd, POLLIN, 0 };
        if (!(blen > CPN_HTTP_BODY_LIMIT && poll(&pfd, 1, 1000) == 1))
            send_all(fd, body, blen); /* errors show as a missing answer below */
    }
    for (;;) {
        ssize_t n;
        if (cap - len < 65536) {
            char *nb = realloc(buf, cap + 65536 + 1);
            if (!nb)
                break;
            buf = nb;
            cap += 65536;
        }
        n = recv(fd, buf + len, cap - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (!buf)
        return -1;
    buf[len] = '\0';
    sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
        free(buf);
        r->status = -1;
        return -1;
    }
    snprintf(r->head, sizeof r->head, "%.*s", (int)(sep - buf + 2), buf);
    r->len = len - (size_t)(sep + 4 - buf);
    r->body = malloc(r->len + 1);
    if (r->body) {
        memcpy(r->body, sep + 4, r->len);
        r->body[r->len] = '\0';
        if (r->len)
            r->json = json_loadb(r->body, r->len, 0, NULL);
    }
    free(buf);
    return r->status;
}

/* A request to the shared server; json (may be NULL) is sent as application/json. */
static int
req(struct resp *r, const char *method, const char *target, const char *token, const char *json)
{
    return http_to(F.port, r, method, target, token, json ? "application/json" : NULL, json,
                   json ? strlen(json) : 0, NULL);
}

static const char *jstr(const json_t *o, const char *path)
{
    /* path: keys separated by '.', e.g. "placement.cluster" */
    char key[64];
    const char *p = path;
    while (o && *p) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        o = json_object_get(o, key);
        p += n;
        if (*p == '.')
            p++;
    }
    return json_string_value(o);
}

/* errors[0].field of a problem+json body. */
static const char *problem_field(const struct resp *r)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(r->json, "errors"), 0), "field"));
}

static void check_problem(const struct resp *r, int status, const char *file, int line)
{
    char ct[128];
    if (r->status != status) {
        t_fail(file, line, "status %d, expected %d: %s", r->status, status, r->body ? r->body : "");
        return;
    }
    if (!resp_header(r, "Content-Type", ct, sizeof ct) || strcmp(ct, "application/problem+json"))
        t_fail(file, line, "a %d is not application/problem+json", status);
    else if (json_integer_value(json_object_get(r->json, "status")) != status ||
             !json_is_string(json_object_get(r->json, "detail")))
        t_fail(file, line, "problem body without status %d and detail: %s", status, r->body);
}
#define CHECK_PROBLEM(r, st) check_problem((r), (st), __FILE__, __LINE__)

#define CHECK_STATUS(r, st)                                                                        \
    do {                                                                                           \
        if ((r)->status != (st))                                                                   \
            t_fail(__FILE__, __LINE__, "status %d, expected %d: %.400s", (r)->status, (st),        \
                   (r)->body ? (r)->body : "");                                                    \
    } while (0)

/* A job body: one GPU unit for 2 h from Beijing, earliest `in_s` from now, plus extra fields
 * (",\"k\": v..." or ""). */
static void job_body(char *out, size_t size, int64_t in_s, const char *extra)
{
    char t[32];
    iso(now_s() + in_s, t);
    snprintf(out, size,
             "{\"origin\": \"beijing\", \"class\": \"intelligent\", \"units\": 1, \"duration\": "
             "\"2h\", \"earliest\": \"%s\"%s}",
             t, extra);
}

/* A constant series from a day ago to 20 days ahead, every 6 h: CSV text, or JSON points.
 * Returns a malloc'd body. */
static char *series_body(double value, bool json)
{
    size_t cap = 16384, len = 0;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    len += (size_t)snprintf(b + len, cap - len, "%s", json ? "{\"points\": [" : "time,value\n");
    for (int64_t t = now_s() - 86400, k = 0; t <= now_s() + 20 * 86400; t += 6 * 3600, k++) {
        char ts[32];
        iso(t, ts);
        if (json)
            len += (size_t)snprintf(b + len, cap - len, "%s{\"time\": \"%s\", \"value\": %g}",
                                    k ? ", " : "", ts, value);
        else
            len += (size_t)snprintf(b + len, cap - len, "%s,%g\n", ts, value);
    }
    if (json)
        snprintf(b + len, cap - len, "]}");
    return b;
}

/* Submits a job; returns its id in id (or "" on failure) and the status. */
static int submit(
    const char *token, const char *body, const char *idem, char *id, size_t size, struct resp *out)
{
    struct resp r;
    char extra[256] = "";
    int status;
    if (idem)
        snprintf(extra, sizeof extra, "Idempotency-Key: %s\r\n", idem);
    http_to(F.port, &r, "POST", "/v1/jobs", token, "application/json", body, strlen(body), extra);
    status = r.status;
    if (id)
        snprintf(id, size, "%s", r.status == 201 && jstr(r.json, "id") ? jstr(r.json, "id") : "");
    if (out)
        *out = r;
    else
        resp_free(&r);
    return status;
}

static int64_t job_count(void)
{
    struct resp r;
    int64_t n = -1;
    if (req(&r, "GET", "/healthz", NULL, NULL) == 200)
        n = json_integer_value(json_object_get(r.json, "jobs"));
    resp_free(&r);
    return n;
}

/* The placement cluster of job id ("" when none), by the operator. */
static void job_cluster(const char *id, char *out, size_t size)
{
    struct resp r;
    char path[160];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    req(&r, "GET", path, F.op, NULL);
    snprintf(out, size, "%s",
             jstr(r.json, "placement.cluster") ? jstr(r.json, "placement.cluster") : "");
    resp_free(&r);
}

/* ---- server start and stop ----------------------------------------------------------------------
 */

static int server_up(void)
{
    struct cpn_error err = { 0 };
    if (cpn_server_start(&F.cfg, &F.srv, &err) != 0) {
        fprintf(stderr, "server start: %s\n", err.msg);
        F.srv = NULL;
        return -1;
    }
    F.port = cpn_server_port(F.srv);
    return 0;
}

static int fixture_setup(void)
{
    struct cpn_store *st;
    struct cpn_error err = { 0 };
    struct cpn_token_rec rec;
    snprintf(F.dir, sizeof F.dir, "%s", t_tmpdir());
    snprintf(F.net, sizeof F.net, "%s/network.json", F.dir);
    snprintf(F.logpath, sizeof F.logpath, "%s/serve.log", F.dir);
    if (write_file(F.net, network_json))
        return -1;
    F.log = fopen(F.logpath, "w+");
    if (!F.log)
        return -1;
    atomic_store(&F.clk.ns, T0_S * 1000000000LL);
    /* tokens of the other roles, made in the store before the first start */
    if (cpn_store_open(F.dir, &st, &err) != 0) {
        fprintf(stderr, "store: %s\n", err.msg);
        return -1;
    }
    if (cpn_store_token_create(st, CPN_ROLE_TENANT, "lab-a", "test", T0_S, F.lab_a, &rec, &err) ||
        cpn_store_token_create(st, CPN_ROLE_TENANT, "lab-b", "test", T0_S, F.lab_b, &rec, &err) ||
        cpn_store_token_create(st, CPN_ROLE_PROVIDER, "beta", "test", T0_S, F.prov_beta, &rec,
                               &err) ||
        cpn_store_token_create(st, CPN_ROLE_PROVIDER, "gamma", "test", T0_S, F.prov_gamma, &rec,
                               &err)) {
        fprintf(stderr, "token: %s\n", err.msg);
        cpn_store_close(st);
        return -1;
    }
    cpn_store_close(st);
    F.cfg.network_path = F.net;
    F.cfg.data_dir = F.dir;
    F.cfg.listen = "127.0.0.1:0";
    F.cfg.policy = "green";
    F.cfg.clock.now_ns = tclock_now;
    F.cfg.clock.ctx = &F.clk;
    F.cfg.telemetry_timeout_s = 60;
    F.cfg.log = F.log;
    if (server_up())
        return -1;
    return read_token(F.dir, F.op, sizeof F.op);
}

/* ---- tests --------------------------------------------------------------------------------------
 */

static void test_operator_token_file(void)
{
    char path[400];
    struct stat st;
    snprintf(path, sizeof path, "%s/operator.token", F.dir);
    CHECK(stat(path, &st) == 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK(strncmp(F.op, "cpn_", 4) == 0);
}

static void check_cas_best(const json_t *a)
{
    CHECK(json_is_array(a) && json_array_size(a) >= 1);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *x = json_array_get(a, i);
        CHECK_STR(jstr(x, "location"), "z-west");
        CHECK(json_is_string(json_object_get(x, "time")));
        CHECK(json_is_number(json_object_get(x, "rating")));
        CHECK(json_is_string(json_object_get(x, "duration")));
    }
}

static void check_cas_forecast(const json_t *a)
{
    static const char *const keys[] = { "generatedAt",       "requestedAt", "location",
                                        "dataStartAt",       "dataEndAt",   "windowSize",
                                        "optimalDataPoints", "forecastData" };
    const json_t *x = json_array_get(a, 0);
    CHECK(json_is_array(a) && json_array_size(a) == 1);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        CHECK_MSG(json_object_get(x, keys[k]), "forecast without %s", keys[k]);
    CHECK_STR(jstr(x, "location"), "z-west");
    CHECK(json_is_array(json_object_get(x, "forecastData")) &&
          json_array_size(json_object_get(x, "forecastData")) > 0);
    CHECK(json_is_array(json_object_get(x, "optimalDataPoints")) &&
          json_array_size(json_object_get(x, "optimalDataPoints")) == 1);
    x = json_array_get(json_object_get(x, "forecastData"), 0);
    CHECK(json_is_number(json_object_get(x, "rating")) && jstr(x, "time") && jstr(x, "duration"));
}

static void test_every_route(void)
{
    size_t n;
    const struct cpn_route_info *ri = cpn_routes(&n);
    char body[512], id[80] = "", id2[80] = "", path[256], ct[128];
    struct resp r;
    job_body(body, sizeof body, 3600, "");
    CHECK_INT(submit(F.op, body, NULL, id, sizeof id, NULL), 201);
    CHECK_INT(submit(F.op, body, NULL, id2, sizeof id2, NULL), 201);
    for (size_t i = 0; i < n; i++) {
        int want = 200;
        memset(&r, 0, sizeof r);
        switch (ri[i].route) {
        case CPN_ROUTE_HEALTHZ:
            req(&r, "GET", "/healthz", NULL, NULL);
            CHECK_STR(jstr(r.json, "status"), "ok");
            break;
        case CPN_ROUTE_METRICS:
            req(&r, "GET", "/metrics", NULL, NULL);
            CHECK(resp_header(&r, "Content-Type", ct, sizeof ct) &&
                  strncmp(ct, "text/plain", 10) == 0);
            CHECK_CONTAINS(r.body, "cpnet_jobs{state=\"placed\"}");
            break;
        case CPN_ROUTE_JOBS_SUBMIT:
            want = 201;
            submit(F.op, body, NULL, NULL, 0, &r);
            CHECK(jstr(r.json, "placement.cluster") != NULL);
            CHECK(resp_header(&r, "Location", ct, sizeof ct) && strstr(ct, "/v1/jobs/job_"));
            break;
        case CPN_ROUTE_JOBS_LIST:
            req(&r, "GET", "/v1/jobs", F.op, NULL);
            CHECK(json_array_size(json_object_get(r.json, "jobs")) >= 2);
            break;
        case CPN_ROUTE_JOB_GET:
            snprintf(path, sizeof path, "/v1/jobs/%s", id);
            req(&r, "GET", path, F.op, NULL);
            CHECK_STR(jstr(r.json, "id"), id);
            CHECK_STR(jstr(r.json, "state"), "placed");
            break;
        case CPN_ROUTE_JOB_CANCEL:
            snprintf(path, sizeof path, "/v1/jobs/%s/cancel", id2);
            req(&r, "POST", path, F.op, NULL);
            CHECK_STR(jstr(r.json, "state"), "cancelled");
            break;
        case CPN_ROUTE_JOB_EXPLAIN:
            snprintf(path, sizeof path, "/v1/jobs/%s/explain", id);
            req(&r, "GET", path, F.op, NULL);
            CHECK(json_is_array(json_object_get(json_object_get(r.json, "decision"), "options")));
            break;
        case CPN_ROUTE_QUOTE:
            req(&r, "POST", "/v1/quote", F.op, body);
            CHECK(json_is_number(json_object_get(r.json, "price_cny")));
            break;
        case CPN_ROUTE_HUBS:
            req(&r, "GET", "/v1/hubs", F.op, NULL);
            CHECK_INT(json_array_size(json_object_get(r.json, "hubs")), 2);
            break;
        case CPN_ROUTE_SITES:
            req(&r, "GET", "/v1/sites", F.op, NULL);
            CHECK_INT(json_array_size(json_object_get(r.json, "sites")), 2);
            break;
        case CPN_ROUTE_CLUSTERS_LIST:
            req(&r, "GET", "/v1/clusters", F.op, NULL);
            CHECK_INT(json_array_size(json_object_get(r.json, "clusters")), 2);
            break;
        case CPN_ROUTE_CLUSTER_GET:
            req(&r, "GET", "/v1/clusters/alpha", F.op, NULL);
            CHECK_STR(jstr(r.json, "zone"), "z-east");
            break;
        case CPN_ROUTE_CLUSTER_PUT: {
            /* re-registering alpha unchanged is an update: 200 */
            json_t *net = json_loads(network_json, 0, NULL);
            char *alpha = json_dumps(json_array_get(json_object_get(net, "clusters"), 0), 0);
            req(&r, "PUT", "/v1/clusters/alpha", F.op, alpha);
            CHECK_STR(jstr(r.json, "id"), "alpha");
            free(alpha);
            json_decref(net);
            break;
        }
        case CPN_ROUTE_CLUSTER_POOLS:
            req(&r, "GET", "/v1/clusters/alpha/pools", F.op, NULL);
            CHECK_INT(json_array_size(json_object_get(r.json, "pools")), 2);
            break;
        case CPN_ROUTE_CLUSTER_TELEMETRY:
            want = 202;
            req(&r, "POST", "/v1/clusters/beta/telemetry", F.op, "{\"utilisation\": 0.25}");
            break;
        case CPN_ROUTE_SIGNALS_LIST:
            req(&r, "GET", "/v1/signals", F.op, NULL);
            CHECK_INT(json_array_size(json_object_get(r.json, "signals")), 2 * 3);
            break;
        case CPN_ROUTE_SIGNAL_GET:
            req(&r, "GET", "/v1/signals/z-east/ci", F.op, NULL);
            CHECK_INT(json_array_size(json_object_get(r.json, "points")), 96);
            CHECK_NEAR(json_number_value(json_object_get(
                           json_array_get(json_object_get(r.json, "points"), 0), "value")),
                       700, 1e-9);
            break;
        case CPN_ROUTE_SIGNAL_PUT: {
            /* the zone's own default green share, as points: changes no decision */
            char *pts = series_body(0.2, true);
            req(&r, "PUT", "/v1/signals/z-east/green", F.op, pts);
            CHECK_STR(jstr(r.json, "zone"), "z-east");
            free(pts);
            break;
        }
        case CPN_ROUTE_CAS_BEST:
            req(&r, "GET", "/emissions/bylocations/best?location=z-west", NULL, NULL);
            check_cas_best(r.json);
            break;
        case CPN_ROUTE_CAS_FORECAST:
            req(&r, "GET", "/emissions/forecasts/current?location=z-west&windowSize=60", NULL,
                NULL);
            check_cas_forecast(r.json);
            break;
        case CPN_ROUTE_CLUSTER_ASSIGNMENTS:
            req(&r, "GET", "/v1/clusters/alpha/assignments", F.op, NULL);
            CHECK(json_is_array(json_object_get(r.json, "assignments")));
            CHECK(json_is_integer(json_object_get(r.json, "version")));
            CHECK_STR(jstr(r.json, "cluster"), "alpha");
            break;
        case CPN_ROUTE_JOB_EVENTS:
            snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
            req(&r, "POST", path, F.op, "{\"state\": \"dispatched\", \"executor_id\": \"t:1\"}");
            CHECK_STR(jstr(json_object_get(r.json, "execution"), "state"), "dispatched");
            CHECK_STR(jstr(r.json, "state"), "dispatched");
            break;
        default:
            CHECK_MSG(0, "route %s %s has no case in this test", cpn_http_method_name(ri[i].method),
                      ri[i].path);
            continue;
        }
        CHECK_MSG(r.status == want, "%s %s: status %d, expected %d: %.300s",
                  cpn_http_method_name(ri[i].method), ri[i].path, r.status, want,
                  r.body ? r.body : "");
        resp_free(&r);
    }
}

static void test_401(void)
{
    struct resp r;
    char v[128];
    req(&r, "GET", "/v1/hubs", NULL, NULL);
    CHECK_PROBLEM(&r, 401);
    CHECK(resp_header(&r, "WWW-Authenticate", v, sizeof v) && strncmp(v, "Bearer", 6) == 0);
    resp_free(&r);
    /* a well-formed token that was never issued, and a wrong secret for a real id */
    req(&r, "GET", "/v1/hubs", "cpn_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        NULL);
    CHECK_PROBLEM(&r, 401);
    CHECK(resp_header(&r, "WWW-Authenticate", v, sizeof v) && strstr(v, "invalid_token"));
    resp_free(&r);
    {
        char wrong[CPN_TOKEN_MAX];
        snprintf(wrong, sizeof wrong, "%s", F.op);
        wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == 'A' ? 'B' : 'A';
        req(&r, "POST", "/v1/jobs", wrong, "{}");
        CHECK_PROBLEM(&r, 401);
        CHECK(resp_header(&r, "WWW-Authenticate", v, sizeof v) != NULL);
        resp_free(&r);
    }
    http_to(F.port, &r, "GET", "/v1/jobs", NULL, NULL, NULL, 0,
            "Authorization: Basic Zm9vOmJhcg==\r\n");
    CHECK_PROBLEM(&r, 401);
    resp_free(&r);
}

static void test_403(void)
{
    struct resp r;
    char body[512];
    int64_t before = job_count();
    job_body(body, sizeof body, 3600, "");
    submit(F.prov_beta, body, NULL, NULL, 0, &r);
    CHECK_PROBLEM(&r, 403);
    resp_free(&r);
    req(&r, "PUT", "/v1/signals/z-west/ci", F.lab_a,
        "{\"points\": [{\"time\": 0, \"value\": 1}, {\"time\": 3600, \"value\": 1}]}");
    CHECK_PROBLEM(&r, 403);
    resp_free(&r);
    req(&r, "PUT", "/v1/clusters/gamma", F.prov_beta, gamma_json);
    CHECK_PROBLEM(&r, 403);
    resp_free(&r);
    req(&r, "PUT", "/v1/clusters/gamma", F.lab_a, gamma_json);
    CHECK_PROBLEM(&r, 403);
    resp_free(&r);
    req(&r, "POST", "/v1/clusters/alpha/telemetry", F.prov_beta, "{\"utilisation\": 0.1}");
    CHECK_PROBLEM(&r, 403);
    resp_free(&r);
    /* a tenant naming another tenant in the body */
    job_body(body, sizeof body, 3600, ", \"tenant\": \"lab-b\"");
    submit(F.lab_a, body, NULL, NULL, 0, &r);
    CHECK_PROBLEM(&r, 403);
    resp_free(&r);
    req(&r, "GET", "/v1/jobs?tenant=lab-b", F.lab_a, NULL);
    CHECK_PROBLEM(&r, 403);
    resp_free(&r);
    req(&r, "GET", "/v1/jobs", F.prov_beta, NULL);
    CHECK_PROBLEM(&r, 403);
    resp_free(&r);
    CHECK_INT(job_count(), before);
}

static void test_404_other_tenant(void)
{
    struct resp r;
    char body[512], id[80], path[200];
    size_t i;
    json_t *v;
    job_body(body, sizeof body, 3600, "");
    CHECK_INT(submit(F.lab_a, body, NULL, id, sizeof id, NULL), 201);
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    req(&r, "GET", path, F.lab_a, NULL);
    CHECK_STATUS(&r, 200);
    CHECK_STR(jstr(r.json, "tenant"), "lab-a");
    resp_free(&r);
    req(&r, "GET", path, F.lab_b, NULL);
    CHECK_PROBLEM(&r, 404);
    resp_free(&r);
    req(&r, "GET", path, F.prov_beta, NULL);
    CHECK_PROBLEM(&r, 404);
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/jobs/%s/explain", id);
    req(&r, "GET", path, F.lab_b, NULL);
    CHECK_PROBLEM(&r, 404);
    resp_free(&r);
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", id);
    req(&r, "POST", path, F.lab_b, NULL);
    CHECK_PROBLEM(&r, 404);
    resp_free(&r);
    /* B's cancel changed nothing */
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    req(&r, "GET", path, F.lab_a, NULL);
    CHECK_STR(jstr(r.json, "state"), "placed");
    resp_free(&r);
    /* B's list does not show it; A's does */
    req(&r, "GET", "/v1/jobs?limit=1000", F.lab_b, NULL);
    CHECK_STATUS(&r, 200);
    json_array_foreach(json_object_get(r.json, "jobs"), i, v)
        CHECK(strcmp(jstr(v, "id"), id) != 0 && strcmp(jstr(v, "tenant"), "lab-b") == 0);
    resp_free(&r);
    req(&r, "GET", "/v1/jobs?limit=1000", F.lab_a, NULL);
    {
        bool seen = false;
        json_array_foreach(json_object_get(r.json, "jobs"), i, v)
        {
            seen |= strcmp(jstr(v, "id"), id) == 0;
            CHECK_STR(jstr(v, "tenant"), "lab-a");
        }
        CHECK(seen);
    }
    resp_free(&r);
    /* unknown objects */
    req(&r, "GET", "/v1/jobs/job_00000000000000000000000000", F.op, NULL);
    CHECK_PROBLEM(&r, 404);
    resp_free(&r);
    req(&r, "POST", "/v1/jobs/job_nope/cancel", F.op, NULL);
    CHECK_PROBLEM(&r, 404);
    resp_free(&r);
    req(&r, "GET", "/v1/clusters/nowhere", F.op, NULL);
    CHECK_PROBLEM(&r, 404);
    resp_free(&r);
    req(&r, "GET", "/v1/signals/nowhere/ci", F.op, NULL);
    CHECK_PROBLEM(&r, 404);
    resp_free(&r);
    req(&r, "GET", "/v1/nothing-here", F.op, NULL);
    CHECK_PROBLEM(&r, 404);
    resp_free(&r);
}

static void test_400(void)
{
    struct resp r;
    char body[512];
    int64_t before = job_count();
    submit(F.op, "{\"origin\": \"beijing\", ", NULL, NULL, 0, &r);
    CHECK_PROBLEM(&r, 400);
    resp_free(&r);
    job_body(body, sizeof body, 3600, ", \"bogus\": 1");
    submit(F.op, body, NULL, NULL, 0, &r);
    CHECK_PROBLEM(&r, 400);
    CHECK_STR(problem_field(&r), "bogus");
    resp_free(&r);
    submit(F.op,
           "{\"origin\": \"beijing\", \"class\": \"intelligent\", \"units\": \"eight\", "
           "\"duration\": \"2h\", \"earliest\": \"2025-06-01T06:00:00Z\"}",
           NULL, NULL, 0, &r);
    CHECK_PROBLEM(&r, 400);
    CHECK_STR(problem_field(&r), "units");
    resp_free(&r);
    submit(F.op,
           "{\"origin\": \"beijing\", \"class\": \"intelligent\", \"units\": 1, "
           "\"duration\": \"2h\", \"earliest\": \"next tuesday\"}",
           NULL, NULL, 0, &r);
    CHECK_PROBLEM(&r, 400);
    CHECK_STR(problem_field(&r), "earliest");
    resp_free(&r);
    submit(F.op, "[1, 2, 3]", NULL, NULL, 0, &r);
    CHECK_PROBLEM(&r, 400);
    resp_free(&r);
    req(&r, "GET", "/v1/jobs?limit=0", F.op, NULL);
    CHECK_PROBLEM(&r, 400);
    CHECK_STR(problem_field(&r), "limit");
    resp_free(&r);
    req(&r, "GET", "/v1/jobs?state=sleeping", F.op, NULL);
    CHECK_PROBLEM(&r, 400);
    CHECK_STR(problem_field(&r), "state");
    resp_free(&r);
    req(&r, "POST", "/v1/clusters/beta/telemetry", F.prov_beta, "{\"utilisation\": 2}");
    CHECK_PROBLEM(&r, 400);
    CHECK_STR(problem_field(&r), "utilisation");
    resp_free(&r);
    req(&r, "POST", "/v1/clusters/beta/telemetry", F.prov_beta, "{\"temperature\": 20}");
    CHECK_PROBLEM(&r, 400);
    CHECK_STR(problem_field(&r), "temperature");
    resp_free(&r);
    req(&r, "POST", "/v1/clusters/beta/telemetry", F.prov_beta, "[]");
    CHECK_PROBLEM(&r, 400);
    resp_free(&r);
    req(&r, "GET", "/emissions/bylocations/best?location=z-west&time=noon", NULL, NULL);
    CHECK_PROBLEM(&r, 400);
    CHECK_STR(problem_field(&r), "time");
    resp_free(&r);
    req(&r, "GET", "/emissions/bylocations/best?location=atlantis", NULL, NULL);
    CHECK_PROBLEM(&r, 400);
    CHECK_STR(problem_field(&r), "location");
    resp_free(&r);
    CHECK_INT(job_count(), before);
}

static void test_413(void)
{
    size_t n = 2u << 20;
    char *big = malloc(n);
    struct resp r;
    int64_t before = job_count();
    if (!big) {
        CHECK(big != NULL);
        return;
    }
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    http_to(F.port, &r, "POST", "/v1/jobs", F.op, "application/json", big, n, NULL);
    CHECK_PROBLEM(&r, 413);
    resp_free(&r);
    free(big);
    CHECK_INT(job_count(), before);
}

static void test_422(void)
{
    struct resp r;
    char body[512];
    int64_t before = job_count();
    job_body(body, sizeof body, 3600, ", \"max_rtt_ms\": 0.1");
    submit(F.op, body, NULL, NULL, 0, &r);
    CHECK_PROBLEM(&r, 422);
    resp_free(&r);
    job_body(body, sizeof body, 3600, ", \"device\": \"TPU v9\"");
    submit(F.op, body, NULL, NULL, 0, &r);
    CHECK_PROBLEM(&r, 422);
    resp_free(&r);
    CHECK_INT(job_count(), before);
}

static void test_409(void)
{
    struct resp r;
    char body[512], id[80], path[200];
    job_body(body, sizeof body, 3600, "");
    CHECK_INT(submit(F.lab_a, body, NULL, id, sizeof id, NULL), 201);
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", id);
    req(&r, "POST", path, F.lab_a, NULL);
    CHECK_STATUS(&r, 200);
    CHECK_STR(jstr(r.json, "state"), "cancelled");
    resp_free(&r);
    req(&r, "POST", path, F.lab_a, NULL);
    CHECK_PROBLEM(&r, 409);
    resp_free(&r);
}

static void test_idempotency(void)
{
    struct resp r1, r2, r3;
    char body[512], v[64];
    int64_t before = job_count();
    job_body(body, sizeof body, 3600, "");
    submit(F.lab_a, body, "order-42", NULL, 0, &r1);
    submit(F.lab_a, body, "order-42", NULL, 0, &r2);
    CHECK_STATUS(&r1, 201);
    CHECK_STATUS(&r2, 201);
    CHECK(jstr(r1.json, "id") && jstr(r2.json, "id"));
    if (jstr(r1.json, "id") && jstr(r2.json, "id"))
        CHECK_STR(jstr(r2.json, "id"), jstr(r1.json, "id"));
    CHECK(resp_header(&r1, "Idempotent-Replayed", v, sizeof v) == NULL);
    CHECK(resp_header(&r2, "Idempotent-Replayed", v, sizeof v) && strcmp(v, "true") == 0);
    CHECK_STR(jstr(r2.json, "idempotency_key"), "order-42");
    CHECK_INT(job_count(), before + 1);
    /* the same key from another tenant is another job */
    submit(F.lab_b, body, "order-42", NULL, 0, &r3);
    CHECK_STATUS(&r3, 201);
    CHECK(jstr(r3.json, "id") && jstr(r1.json, "id") &&
          strcmp(jstr(r3.json, "id"), jstr(r1.json, "id")) != 0);
    CHECK_STR(jstr(r3.json, "tenant"), "lab-b");
    CHECK(resp_header(&r3, "Idempotent-Replayed", v, sizeof v) == NULL);
    CHECK_INT(job_count(), before + 2);
    resp_free(&r1);
    resp_free(&r2);
    resp_free(&r3);
}

static void test_list_pagination_filters(void)
{
    char body[512], ids[5][80], path[300], after[80] = "";
    struct resp r;
    int seen = 0, pages = 0;
    size_t i;
    json_t *v;
    job_body(body, sizeof body, 7200, ", \"tenant\": \"pager\"");
    for (int k = 0; k < 5; k++)
        CHECK_INT(submit(F.op, body, NULL, ids[k], sizeof ids[k], NULL), 201);
    for (;;) {
        snprintf(path, sizeof path, "/v1/jobs?tenant=pager&limit=2%s%s", after[0] ? "&after=" : "",
                 after);
        req(&r, "GET", path, F.op, NULL);
        CHECK_STATUS(&r, 200);
        pages++;
        CHECK(json_array_size(json_object_get(r.json, "jobs")) <= 2);
        json_array_foreach(json_object_get(r.json, "jobs"), i, v)
        {
            CHECK(seen < 5 && strcmp(jstr(v, "id"), ids[seen < 5 ? seen : 4]) == 0);
            seen++;
        }
        if (!jstr(r.json, "next") || pages > 5) {
            resp_free(&r);
            break;
        }
        snprintf(after, sizeof after, "%s", jstr(r.json, "next"));
        resp_free(&r);
    }
    CHECK_INT(seen, 5);
    CHECK_INT(pages, 3);
    /* filters: state and cluster */
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", ids[1]);
    req(&r, "POST", path, F.op, NULL);
    CHECK_STATUS(&r, 200);
    resp_free(&r);
    req(&r, "GET", "/v1/jobs?tenant=pager&state=cancelled", F.op, NULL);
    CHECK_INT(json_array_size(json_object_get(r.json, "jobs")), 1);
    CHECK_STR(jstr(json_array_get(json_object_get(r.json, "jobs"), 0), "id"), ids[1]);
    resp_free(&r);
    req(&r, "GET", "/v1/jobs?tenant=pager&state=placed", F.op, NULL);
    CHECK_INT(json_array_size(json_object_get(r.json, "jobs")), 4);
    resp_free(&r);
    for (int c = 0; c < 2; c++) {
        const char *cl = c ? "alpha" : "beta";
        snprintf(path, sizeof path, "/v1/jobs?cluster=%s&limit=1000", cl);
        req(&r, "GET", path, F.op, NULL);
        CHECK_STATUS(&r, 200);
        json_array_foreach(json_object_get(r.json, "jobs"), i, v)
            CHECK_STR(jstr(v, "placement.cluster"), cl);
        if (!c)
            CHECK(json_array_size(json_object_get(r.json, "jobs")) >= 4);
        resp_free(&r);
    }
}

static void test_quote_changes_nothing(void)
{
    struct resp r, l1, l2;
    char body[512];
    int64_t before = job_count();
    req(&l1, "GET", "/v1/jobs?limit=1000", F.op, NULL);
    job_body(body, sizeof body, 3600, "");
    req(&r, "POST", "/v1/quote", F.lab_a, body);
    CHECK_STATUS(&r, 200);
    CHECK(jstr(r.json, "placement.cluster") != NULL);
    CHECK(json_number_value(json_object_get(r.json, "price_cny")) > 0);
    resp_free(&r);
    req(&r, "POST", "/v1/quote", F.prov_beta, body);
    CHECK_PROBLEM(&r, 403);
    resp_free(&r);
    CHECK_INT(job_count(), before);
    req(&l2, "GET", "/v1/jobs?limit=1000", F.op, NULL);
    CHECK(l1.body && l2.body && strcmp(l1.body, l2.body) == 0);
    resp_free(&l1);
    resp_free(&l2);
}

static void test_telemetry(void)
{
    struct resp r;
    req(&r, "POST", "/v1/clusters/beta/telemetry", F.prov_beta,
        "{\"utilisation\": 0.5, \"power_kw\": 120.5, \"pue\": 1.21, "
        "\"pools\": [{\"id\": \"gpu\", \"total\": 64, \"available\": 40}]}");
    CHECK_STATUS(&r, 202);
    resp_free(&r);
    req(&r, "GET", "/v1/clusters/beta", F.lab_a, NULL);
    CHECK_STATUS(&r, 200);
    CHECK_STR(jstr(r.json, "health"), "up");
    CHECK_NEAR(
        json_number_value(json_object_get(json_object_get(r.json, "telemetry"), "utilisation")),
        0.5, 1e-12);
    CHECK_NEAR(json_number_value(json_object_get(json_object_get(r.json, "telemetry"), "power_kw")),
               120.5, 1e-12);
    CHECK_INT(json_integer_value(json_object_get(
                  json_array_get(json_object_get(r.json, "pools"), 0), "available_reported")),
              40);
    resp_free(&r);
    req(&r, "POST", "/v1/clusters/nowhere/telemetry", F.op, "{\"utilisation\": 0.5}");
    CHECK_PROBLEM(&r, 404);
    resp_free(&r);
}

/* Submits n jobs allowed only on alpha and beta; they land on beta (the greener zone). */
static int beta_jobs(char ids[][80], int n, int64_t in_s)
{
    char body[512];
    int ok = 0;
    job_body(body, sizeof body, in_s, ", \"allowed\": [\"cluster:alpha\", \"cluster:beta\"]");
    for (int k = 0; k < n; k++) {
        char cl[64];
        if (submit(F.lab_a, body, NULL, ids[k], sizeof ids[k], NULL) != 201)
            continue;
        job_cluster(ids[k], cl, sizeof cl);
        ok += strcmp(cl, "beta") == 0;
    }
    return ok;
}

static void test_health_down_replaces(void)
{
    char ids[4][80], cl[64];
    struct resp r;
    CHECK_INT(beta_jobs(ids, 4, 6 * 3600), 4);
    req(&r, "POST", "/v1/clusters/beta/telemetry", F.prov_beta, "{\"utilisation\": 0.4}");
    CHECK_STATUS(&r, 202);
    resp_free(&r);
    advance_s(30);
    req(&r, "GET", "/v1/clusters/beta", F.op, NULL);
    CHECK_STR(jstr(r.json, "health"), "up");
    resp_free(&r);
    advance_s(40); /* 70 s of silence > telemetry_timeout_s = 60 */
    req(&r, "GET", "/v1/clusters/beta", F.op, NULL);
    CHECK_STR(jstr(r.json, "health"), "down");
    resp_free(&r);
    for (int k = 0; k < 4; k++) {
        job_cluster(ids[k], cl, sizeof cl);
        CHECK_STR(cl, "alpha");
    }
    req(&r, "GET", "/metrics", NULL, NULL);
    CHECK_CONTAINS(r.body, "cpnet_cluster_up{cluster=\"beta\",hub=\"west\"} 0");
    resp_free(&r);
    /* it reports again: up, and the pending jobs may go back */
    req(&r, "POST", "/v1/clusters/beta/telemetry", F.prov_beta, "{\"utilisation\": 0.4}");
    CHECK_STATUS(&r, 202);
    resp_free(&r);
    req(&r, "GET", "/v1/clusters/beta", F.op, NULL);
    CHECK_STR(jstr(r.json, "health"), "up");
    resp_free(&r);
    job_cluster(ids[0], cl, sizeof cl);
    CHECK_STR(cl, "beta");
}

static void test_signal_upload_replans(void)
{
    char ids[1][80], cl[64], *csv, *pts;
    struct resp r;
    /* keep beta reporting, so that the clock moves below do not take it down */
    req(&r, "POST", "/v1/clusters/beta/telemetry", F.prov_beta, "{\"utilisation\": 0.4}");
    resp_free(&r);
    CHECK_INT(beta_jobs(ids, 1, 8 * 3600), 1);
    /* z-west turns dirty: (1 - 0.8) x 5000 = 1000 g/kWh against alpha's 560 */
    csv = series_body(5000, false);
    pts = series_body(100, true);
    if (!csv || !pts) {
        CHECK(0);
        free(csv);
        free(pts);
        return;
    }
    http_to(F.port, &r, "PUT", "/v1/signals/z-west/ci", F.op, "text/csv", csv, strlen(csv), NULL);
    CHECK_STATUS(&r, 200);
    resp_free(&r);
    job_cluster(ids[0], cl, sizeof cl);
    CHECK_STR(cl, "alpha");
    /* and clean again, as JSON points: the job moves back */
    req(&r, "PUT", "/v1/signals/z-west/ci", F.op, pts);
    CHECK_STATUS(&r, 200);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(r.json, "series"), "points")) > 0,
              1);
    resp_free(&r);
    job_cluster(ids[0], cl, sizeof cl);
    CHECK_STR(cl, "beta");
    req(&r, "GET", "/v1/signals/z-west/ci", F.lab_a, NULL);
    CHECK_NEAR(json_number_value(
                   json_object_get(json_array_get(json_object_get(r.json, "points"), 0), "value")),
               100, 1e-9);
    resp_free(&r);
    req(&r, "PUT", "/v1/signals/z-west/ci", F.op, "{\"points\": 7}");
    CHECK_PROBLEM(&r, 400);
    resp_free(&r);
    free(csv);
    free(pts);
}

static void test_cluster_registration(void)
{
    struct resp r;
    char body[512], id[80], cl[64];
    size_t i;
    json_t *v;
    bool seen = false;
    req(&r, "PUT", "/v1/clusters/gamma", F.prov_gamma, gamma_json);
    CHECK_STATUS(&r, 201);
    CHECK_STR(jstr(r.json, "id"), "gamma");
    CHECK_STR(jstr(r.json, "hub"), "west");
    resp_free(&r);
    req(&r, "GET", "/v1/clusters", F.lab_b, NULL);
    json_array_foreach(json_object_get(r.json, "clusters"), i, v) seen |=
        strcmp(jstr(v, "id"), "gamma") == 0;
    CHECK(seen);
    resp_free(&r);
    job_body(body, sizeof body, 3600, ", \"allowed\": [\"cluster:gamma\"]");
    CHECK_INT(submit(F.lab_b, body, NULL, id, sizeof id, NULL), 201);
    job_cluster(id, cl, sizeof cl);
    CHECK_STR(cl, "gamma");
    /* an update of its own cluster is 200; the path id wins over a different body id */
    req(&r, "PUT", "/v1/clusters/gamma", F.prov_gamma, gamma_json);
    CHECK_STATUS(&r, 200);
    resp_free(&r);
    req(&r, "PUT", "/v1/clusters/gamma", F.prov_gamma, "{\"id\": \"delta\"}");
    CHECK_PROBLEM(&r, 400);
    resp_free(&r);
    req(&r, "PUT", "/v1/clusters/gamma", F.prov_gamma, "{\"hub\": \"nowhere\"}");
    CHECK_PROBLEM(&r, 400);
    resp_free(&r);
    job_cluster(id, cl, sizeof cl);
    CHECK_STR(cl, "gamma");
}

static char *all_jobs(void)
{
    json_t *all = json_array();
    char after[80] = "", path[200];
    char *out;
    for (int guard = 0; guard < 100; guard++) {
        struct resp r;
        size_t i;
        json_t *v;
        snprintf(path, sizeof path, "/v1/jobs?limit=1000%s%s", after[0] ? "&after=" : "", after);
        if (req(&r, "GET", path, F.op, NULL) != 200) {
            resp_free(&r);
            break;
        }
        json_array_foreach(json_object_get(r.json, "jobs"), i, v) json_array_append_new(
            all,
            json_pack("{s:O,s:O,s:O*,s:O}", "id", json_object_get(v, "id"), "state",
                      json_object_get(v, "state"), "placement", json_object_get(v, "placement"),
                      "tenant", json_object_get(v, "tenant")));
        if (!jstr(r.json, "next")) {
            resp_free(&r);
            break;
        }
        snprintf(after, sizeof after, "%s", jstr(r.json, "next"));
        resp_free(&r);
    }
    out = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(all);
    return out;
}

static void test_restart_keeps_state(void)
{
    char *before = all_jobs(), *after;
    int64_t n = job_count();
    struct resp r;
    size_t i;
    json_t *v;
    bool seen = false;
    CHECK(n > 10);
    cpn_server_stop(F.srv);
    F.srv = NULL;
    /* the clock stands still over the restart: new ids must still sort after the stored ones */
    CHECK_INT(server_up(), 0);
    if (!F.srv)
        return;
    CHECK_INT(job_count(), n);
    after = all_jobs();
    CHECK(before && after && strcmp(before, after) == 0);
    free(before);
    free(after);
    /* tokens: every role still works */
    req(&r, "GET", "/v1/jobs", F.lab_a, NULL);
    CHECK_STATUS(&r, 200);
    resp_free(&r);
    req(&r, "POST", "/v1/clusters/gamma/telemetry", F.prov_gamma, "{\"utilisation\": 0.1}");
    CHECK_STATUS(&r, 202);
    resp_free(&r);
    /* the registered cluster and the uploaded signal */
    req(&r, "GET", "/v1/clusters", F.op, NULL);
    json_array_foreach(json_object_get(r.json, "clusters"), i, v) seen |=
        strcmp(jstr(v, "id"), "gamma") == 0;
    CHECK(seen);
    resp_free(&r);
    req(&r, "GET", "/v1/signals/z-west/ci", F.op, NULL);
    CHECK_NEAR(json_number_value(
                   json_object_get(json_array_get(json_object_get(r.json, "points"), 0), "value")),
               100, 1e-9);
    resp_free(&r);
    /* new submissions after the restart sort after the old ones */
    {
        char body[512], id[80];
        job_body(body, sizeof body, 3600, ", \"tenant\": \"late\"");
        CHECK_INT(submit(F.op, body, NULL, id, sizeof id, NULL), 201);
        req(&r, "GET", "/v1/jobs?limit=1000", F.op, NULL);
        v = json_object_get(r.json, "jobs");
        CHECK_STR(jstr(json_array_get(v, json_array_size(v) - 1), "id"), id);
        for (i = 1; i < json_array_size(v); i++)
            CHECK_MSG(
                strcmp(jstr(json_array_get(v, i - 1), "id"), jstr(json_array_get(v, i), "id")) < 0,
                "job ids out of order at %zu", i);
        resp_free(&r);
    }
}

static void test_rate_limit(void)
{
    struct cpn_serve_config cfg = F.cfg;
    struct cpn_server *s = NULL;
    struct cpn_error err = { 0 };
    char dir[256], op[CPN_TOKEN_MAX], v[32];
    int ok = 0, limited = 0, port, first429 = -1;
    snprintf(dir, sizeof dir, "%s", t_tmpdir());
    cfg.data_dir = dir;
    cfg.rate_per_s = 5;
    cfg.rate_burst = 5;
    cfg.log = F.log;
    if (cpn_server_start(&cfg, &s, &err) != 0) {
        CHECK_MSG(0, "start: %s", err.msg);
        return;
    }
    port = cpn_server_port(s);
    CHECK_INT(read_token(dir, op, sizeof op), 0);
    for (int i = 0; i < 20; i++) {
        struct resp r;
        http_to(port, &r, "GET", "/v1/hubs", op, NULL, NULL, 0, NULL);
        if (r.status == 200)
            ok++;
        else if (r.status == 429) {
            CHECK_PROBLEM(&r, 429);
            CHECK(resp_header(&r, "Retry-After", v, sizeof v) && strtol(v, NULL, 10) >= 1);
            if (first429 < 0)
                first429 = i;
            limited++;
        }
        resp_free(&r);
    }
    CHECK_MSG(ok >= 5 && ok <= 8, "%d of 20 answered 200 with 5/s, burst 5", ok);
    CHECK_INT(ok + limited, 20);
    CHECK_INT(first429, 5);
    /* unauthenticated routes are not limited */
    for (int i = 0; i < 10; i++) {
        struct resp r;
        http_to(port, &r, "GET", "/healthz", NULL, NULL, NULL, 0, NULL);
        CHECK_STATUS(&r, 200);
        resp_free(&r);
    }
    cpn_server_stop(s);
}

/* ---- stop under load --------------------------------------------------------------------------
 */

#define STOP_IDS 4000

struct submitter {
    pthread_t th;
    int port;
    const char *token;
    atomic_bool *stop;
    char (*ids)[64];
    int n;
};

static void *submit_main(void *arg)
{
    struct submitter *S = arg;
    char body[512];
    job_body(body, sizeof body, 3600, "");
    while (!atomic_load(S->stop) && S->n < STOP_IDS) {
        struct resp r;
        http_to(S->port, &r, "POST", "/v1/jobs", S->token, "application/json", body, strlen(body),
                NULL);
        if (r.status == 201 && jstr(r.json, "id"))
            snprintf(S->ids[S->n++], 64, "%s", jstr(r.json, "id"));
        resp_free(&r);
    }
    return NULL;
}

/* cpn_server_stop while requests are in flight: what was answered 201 is there after a start on
 * the same directory, and nothing leaks or hangs (the sanitizer build checks the leaks). */
static void test_stop_under_load(void)
{
    struct cpn_serve_config cfg = F.cfg;
    struct cpn_server *s = NULL;
    struct cpn_error err = { 0 };
    struct submitter S[4];
    atomic_bool stop;
    char dir[256], op[CPN_TOKEN_MAX];
    int total = 0, missing = 0;
    snprintf(dir, sizeof dir, "%s", t_tmpdir());
    cfg.data_dir = dir;
    if (cpn_server_start(&cfg, &s, &err) != 0) {
        CHECK_MSG(0, "start: %s", err.msg);
        return;
    }
    CHECK_INT(read_token(dir, op, sizeof op), 0);
    atomic_init(&stop, false);
    for (int t = 0; t < 4; t++) {
        S[t] = (struct submitter){ .port = cpn_server_port(s), .token = op, .stop = &stop };
        S[t].ids = calloc(STOP_IDS, sizeof *S[t].ids);
        pthread_create(&S[t].th, NULL, submit_main, &S[t]);
    }
    {
        struct timespec ts = { 0, 200 * 1000000L };
        nanosleep(&ts, NULL);
    }
    cpn_server_stop(s);
    atomic_store(&stop, true);
    for (int t = 0; t < 4; t++)
        pthread_join(S[t].th, NULL);
    if (cpn_server_start(&cfg, &s, &err) != 0) {
        CHECK_MSG(0, "restart: %s", err.msg);
    } else {
        for (int t = 0; t < 4; t++)
            for (int i = 0; i < S[t].n; i++) {
                struct resp r;
                char path[128];
                snprintf(path, sizeof path, "/v1/jobs/%s", S[t].ids[i]);
                http_to(cpn_server_port(s), &r, "GET", path, op, NULL, NULL, 0, NULL);
                missing += r.status != 200;
                total++;
                resp_free(&r);
            }
        cpn_server_stop(s);
    }
    for (int t = 0; t < 4; t++)
        free(S[t].ids);
    CHECK(total > 0);
    CHECK_INT(missing, 0);
}

static void test_log_has_no_token(void)
{
    char *text;
    long n;
    fflush(F.log);
    fseek(F.log, 0, SEEK_END);
    n = ftell(F.log);
    rewind(F.log);
    text = calloc(1, (size_t)n + 1);
    if (!text || fread(text, 1, (size_t)n, F.log) != (size_t)n) {
        CHECK(0);
        free(text);
        return;
    }
    CHECK_CONTAINS(text, "operator.token");
    CHECK_MSG(strstr(text, F.op) == NULL, "the operator token is in the log");
    /* neither is its secret part alone */
    CHECK(strstr(text, F.op + 4 + CPN_TOKEN_ID_LEN + 1) == NULL);
    free(text);
}

int main(void)
{
    if (fixture_setup() != 0) {
        printf("FAIL - setup: the server did not start\n");
        printf("serve: 0 passed, 1 failed\n");
        return 1;
    }
    T_RUN(test_operator_token_file);
    T_RUN(test_every_route);
    T_RUN(test_401);
    T_RUN(test_403);
    T_RUN(test_404_other_tenant);
    T_RUN(test_400);
    T_RUN(test_413);
    T_RUN(test_422);
    T_RUN(test_409);
    T_RUN(test_idempotency);
    T_RUN(test_list_pagination_filters);
    T_RUN(test_quote_changes_nothing);
    T_RUN(test_telemetry);
    T_RUN(test_health_down_replaces);
    T_RUN(test_signal_upload_replans);
    T_RUN(test_cluster_registration);
    T_RUN(test_restart_keeps_state);
    T_RUN(test_rate_limit);
    T_RUN(test_stop_under_load);
    T_RUN(test_log_has_no_token);
    cpn_server_stop(F.srv);
    fclose(F.log);
    return T_DONE("serve");
}
