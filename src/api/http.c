/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP server: libmicrohttpd with a pool of epoll threads. A worker thread reads a request,
 * routes it, answers 404/405/413/414/415/400 itself, accumulates the body under a hard cap and
 * hands the request to the service's handler, then suspends the connection; cpn_http_respond
 * (any thread) stores the answer and resumes it, and the worker queues it. Each request's state
 * is shared by MHD and the handler and counted (one reference each), so whichever lets go last
 * frees it: a client that disconnects, or a server that stops, while the handler still holds the
 * request leaves the handler's reference valid until it answers (docs/api-http.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api_int.h"

#define DEFAULT_THREADS     2u
#define DEFAULT_CONNECTIONS 1000u /* below the usual 1024 descriptors a process may open */
#define DEFAULT_TIMEOUT_S   30u
/* After a body went over the limit, this many times the limit is read and dropped (so the client
 * sees the 413) before the connection is cut. */
#define DISCARD_FACTOR 4u

struct cpn_http {
    struct MHD_Daemon *d;
    cpn_http_handler_fn handler;
    void *ctx;
    size_t body_limit;
    int port;
    atomic_bool stopping;
    pthread_mutex_t mu;         /* guards live */
    struct cpn_http_conn *live; /* requests MHD still holds */
};

/* One request. Lock order: srv->mu before mu. */
struct cpn_http_conn {
    pthread_mutex_t mu;
    struct cpn_http_conn *prev, *next; /* in srv->live while MHD holds the request */
    struct MHD_Connection *mc;         /* NULL once MHD let go (completion ran) */
    int refs;                          /* MHD's, plus the handler's from its call to respond */
    bool started, handed, suspended, answered, dropped;
    bool uri_too_long, too_large, oom;
    size_t discarded;
    struct cpn_buf body;
    struct cpn_http_response resp; /* the handler's answer, until queued */
    char empty[1];                 /* the body of a request without one */
    struct cpn_http_request req;
};

static void conn_free(struct cpn_http_conn *c)
{
    cpn_buf_free(&c->body);
    cpn_free(c->resp.body);
    pthread_mutex_destroy(&c->mu);
    cpn_free(c);
}

/* Drops one reference; frees on the last. Called without c->mu held. */
static void conn_unref(struct cpn_http_conn *c)
{
    bool last;
    pthread_mutex_lock(&c->mu);
    last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last)
        conn_free(c);
}

/* ---- responses ------------------------------------------------------------------------------- */

static bool header_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s)))
            return false;
    return true;
}

static bool header_value_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return false;
    return true;
}

/* Adds the "Name: value" lines of resp->headers; malformed lines are skipped, since a header
 * smuggled through a line break must never reach the wire. */
static void add_headers(struct MHD_Response *mr, const char *lines, size_t size)
{
    char line[sizeof((struct cpn_http_response *)0)->headers + 1];
    const char *p = lines, *end = memchr(lines, '\0', size);
    if (!end)
        end = lines + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        memcpy(line, p, n);
        line[n] = '\0';
        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        char *colon = strchr(line, ':');
        if (colon) {
            char *v = colon + 1;
            *colon = '\0';
            while (*v == ' ' || *v == '\t')
                v++;
            if (header_name_ok(line) && header_value_ok(v))
                MHD_add_response_header(mr, line, v);
        }
        p += (size_t)(nl ? nl - p + 1 : end - p);
    }
}

/* Queues r (taking r->body) on mc. */
static enum MHD_Result queue(struct MHD_Connection *mc, struct cpn_http_response *r)
{
    struct MHD_Response *mr;
    enum MHD_Result ok;
    int status = r->status >= 100 && r->status <= 999 ? r->status : 500;
    if (r->body && r->len) {
        mr = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
        if (!mr)
            cpn_free(r->body);
    } else {
        cpn_free(r->body);
        mr = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    r->body = NULL;
    if (!mr)
        return MHD_NO;
    if (r->content_type && header_value_ok(r->content_type))
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    add_headers(mr, r->headers, sizeof r->headers);
    ok = MHD_queue_response(mc, (unsigned)status, mr);
    MHD_destroy_response(mr);
    return ok;
}

/* Answers with a problem+json the server writes itself (the handler is never called). */
static enum MHD_Result reject(
    struct MHD_Connection *mc, int status, const char *detail, const char *field, const char *allow)
{
    struct cpn_http_response r = { .status = status };
    if (cpn_problem(&r, status, detail, field) != 0)
        r.status = status; /* out of memory: the status alone still tells the client */
    if (allow)
        snprintf(r.headers, sizeof r.headers, "Allow: %s\n", allow);
    return queue(mc, &r);
}

/* ---- request assembly ------------------------------------------------------------------------ */

/* MHD_OPTION_URI_LOG_CALLBACK: the first sight of a request, with its raw target (MHD decodes
 * the path it passes later, which would turn an encoded '/' in an id into a separator). The
 * result becomes the request's state. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
    struct cpn_http *h = cls;
    struct cpn_http_conn *c = cpn_calloc(1, sizeof *c);
    const char *q;
    size_t plen;
    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        cpn_free(c);
        return NULL;
    }
    c->refs = 1;
    c->mc = mc;
    c->req.conn = c;
    c->req.received_ns = cpn_monotonic_ns();
    c->body.limit = h->body_limit;
    uri = uri ? uri : "";
    q = strchr(uri, '?');
    plen = q ? (size_t)(q - uri) : strlen(uri);
    if (plen >= sizeof c->req.path || (q && strlen(q + 1) >= sizeof c->req.query))
        c->uri_too_long = true;
    else {
        memcpy(c->req.path, uri, plen);
        c->req.path[plen] = '\0';
        if (q)
            cpn_strlcpy(c->req.query, q + 1, sizeof c->req.query);
    }
    pthread_mutex_lock(&h->mu);
    c->next = h->live;
    if (h->live)
        h->live->prev = c;
    h->live = c;
    pthread_mutex_unlock(&h->mu);
    return c;
}

/* MHD_OPTION_NOTIFY_COMPLETED: MHD lets go of the request (answered, failed, client gone, stop). */
static void on_completed(void *cls,
                         struct MHD_Connection *mc,
                         void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct cpn_http *h = cls;
    struct cpn_http_conn *c = *con_cls;
    (void)mc;
    (void)toe;
    if (!c)
        return;
    *con_cls = NULL;
    pthread_mutex_lock(&h->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        h->live = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    pthread_mutex_unlock(&h->mu);
    pthread_mutex_lock(&c->mu);
    c->mc = NULL;
    pthread_mutex_unlock(&c->mu);
    conn_unref(c);
}

/* Copies header name into out[size]; 0, or CPN_ELIMIT when it is too long. */
static int copy_header(struct MHD_Connection *mc, const char *name, char *out, size_t size)
{
    const char *v = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, name);
    out[0] = '\0';
    return v ? cpn_strlcpy(out, v, size) : 0;
}

/* The first call: headers are in. Routes and checks what can be checked before the body. */
static enum MHD_Result
begin(struct cpn_http *h, struct cpn_http_conn *c, struct MHD_Connection *mc, const char *method)
{
    struct cpn_http_request *req = &c->req;
    char allow[64], detail[320];
    const char *cl, *te;
    enum cpn__body kind;
    int rc;
    bool has_body;
    unsigned long long len = 0;

    req->method = cpn__method_parse(method);
    if (c->uri_too_long) {
        snprintf(detail, sizeof detail,
                 "the request target is too long: expected a path of at most %zu bytes and a "
                 "query of at most %zu bytes",
                 sizeof req->path - 1, sizeof req->query - 1);
        return reject(mc, 414, detail, NULL, NULL);
    }
    rc = cpn_route_match(req->method, req->path, &req->match, allow, sizeof allow);
    if (rc == -EPERM) {
        snprintf(detail, sizeof detail, "%s is not allowed on %.200s: expected one of %s",
                 method ? method : "?", req->path, allow);
        return reject(mc, 405, detail, NULL, allow);
    }
    if (rc != 0) {
        snprintf(detail, sizeof detail, "no resource at %.200s", req->path);
        return reject(mc, 404, detail, NULL, NULL);
    }
    if (copy_header(mc, MHD_HTTP_HEADER_AUTHORIZATION, req->authorization,
                    sizeof req->authorization))
        return reject(mc, 401, "the Authorization header is longer than any valid token",
                      "Authorization", NULL);
    if (copy_header(mc, "Idempotency-Key", req->idempotency_key, sizeof req->idempotency_key)) {
        snprintf(detail, sizeof detail, "expected an Idempotency-Key of at most %zu bytes",
                 sizeof req->idempotency_key - 1);
        return reject(mc, 400, detail, "Idempotency-Key", NULL);
    }
    if (copy_header(mc, MHD_HTTP_HEADER_CONTENT_TYPE, req->content_type, sizeof req->content_type))
        return reject(mc, 415, "the Content-Type is too long: expected application/json",
                      "Content-Type", NULL);

    cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    te = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (cl) {
        char *end;
        errno = 0;
        len = strtoull(cl, &end, 10);
        if (errno || end == cl)
            len = ~0ull; /* MHD has checked the syntax; only an overflow gets here */
    }
    has_body = te != NULL || len > 0;
    if (len > h->body_limit) {
        snprintf(detail, sizeof detail,
                 "the request body is %llu bytes: expected at most %zu bytes (1 MiB)", len,
                 h->body_limit);
        return reject(mc, 413, detail, NULL, NULL);
    }
    kind = cpn__route_body(req->match.route);
    if (has_body && kind == CPN__BODY_NONE) {
        snprintf(detail, sizeof detail, "%s %.200s takes no request body", method, req->path);
        return reject(mc, 400, detail, NULL, NULL);
    }
    if (has_body && !cpn__content_type_json(req->content_type) &&
        !(kind == CPN__BODY_JSON_CSV && cpn__content_type_csv(req->content_type))) {
        snprintf(detail, sizeof detail, "the Content-Type is \"%.100s\": expected %s",
                 req->content_type,
                 kind == CPN__BODY_JSON_CSV ? "application/json or text/csv" : "application/json");
        return reject(mc, 415, detail, "Content-Type", NULL);
    }
    if (len > 0 && cpn_grow(&c->body.data, &c->body.cap, (size_t)len + 1, 1) != 0)
        c->oom = true;
    return MHD_YES;
}

/* Takes the next piece of the body (always consumes it all). */
static enum MHD_Result
upload(struct cpn_http *h, struct cpn_http_conn *c, const char *data, size_t *size)
{
    size_t n = *size;
    *size = 0;
    if (c->too_large || c->oom) {
        c->discarded += n;
        return c->discarded / DISCARD_FACTOR > h->body_limit ? MHD_NO : MHD_YES;
    }
    if (n > h->body_limit - c->body.len) {
        c->too_large = true;
        c->discarded = c->body.len + n;
        cpn_buf_free(&c->body);
        return MHD_YES;
    }
    if (cpn_buf_append(&c->body, data, n) != 0) {
        c->oom = true;
        cpn_buf_free(&c->body);
    }
    return MHD_YES;
}

/* The request is complete and valid: hand it over, then wait (suspended) for the answer. */
static enum MHD_Result
dispatch(struct cpn_http *h, struct cpn_http_conn *c, struct MHD_Connection *mc)
{
    struct cpn_http_request *req = &c->req;
    char detail[160];
    enum cpn__body kind = cpn__route_body(req->match.route);
    if (c->too_large) {
        snprintf(detail, sizeof detail, "the request body is over %zu bytes: expected at most %zu",
                 h->body_limit, h->body_limit);
        return reject(mc, 413, detail, NULL, NULL);
    }
    if (c->oom)
        return reject(mc, 503, "the server is out of memory for this request body", NULL, NULL);
    req->body = c->body.data ? c->body.data : c->empty;
    req->body_len = c->body.data ? c->body.len : 0;
    if (kind != CPN__BODY_NONE && memchr(req->body, '\0', req->body_len)) {
        size_t at = (size_t)((const char *)memchr(req->body, '\0', req->body_len) - req->body);
        snprintf(detail, sizeof detail,
                 "the request body has a NUL byte at offset %zu: expected %s", at,
                 kind == CPN__BODY_JSON_CSV ? "JSON or CSV text" : "a JSON document");
        return reject(mc, 400, detail, NULL, NULL);
    }
    pthread_mutex_lock(&c->mu);
    c->handed = true;
    c->refs++;
    pthread_mutex_unlock(&c->mu);

    h->handler(h->ctx, req);

    pthread_mutex_lock(&c->mu);
    if (c->answered && !c->dropped) {
        struct cpn_http_response r = c->resp;
        c->resp.body = NULL;
        pthread_mutex_unlock(&c->mu);
        return queue(mc, &r);
    }
    if (c->dropped || atomic_load(&h->stopping)) {
        c->dropped = true;
        pthread_mutex_unlock(&c->mu);
        return MHD_NO;
    }
    c->suspended = true;
    MHD_suspend_connection(mc);
    pthread_mutex_unlock(&c->mu);
    return MHD_YES;
}

static enum MHD_Result on_access(void *cls,
                                 struct MHD_Connection *mc,
                                 const char *url,
                                 const char *method,
                                 const char *version,
                                 const char *data,
                                 size_t *size,
                                 void **con_cls)
{
    struct cpn_http *h = cls;
    struct cpn_http_conn *c = *con_cls;
    (void)url;
    (void)version;
    if (!c)
        return MHD_NO; /* on_uri could not allocate: close */
    if (!c->started) {
        c->started = true;
        return begin(h, c, mc, method);
    }
    if (*size)
        return upload(h, c, data, size);
    if (!c->handed)
        return dispatch(h, c, mc);
    /* Resumed: the answer is here, or the server is stopping. */
    pthread_mutex_lock(&c->mu);
    if (c->answered && !c->dropped) {
        struct cpn_http_response r = c->resp;
        c->resp.body = NULL;
        pthread_mutex_unlock(&c->mu);
        return queue(mc, &r);
    }
    if (c->dropped || atomic_load(&h->stopping)) {
        c->dropped = true;
        pthread_mutex_unlock(&c->mu);
        return MHD_NO;
    }
    c->suspended = true; /* resumed without an answer: wait again */
    MHD_suspend_connection(mc);
    pthread_mutex_unlock(&c->mu);
    return MHD_YES;
}

void cpn_http_respond(struct cpn_http_request *req, struct cpn_http_response *resp)
{
    struct cpn_http_conn *c = req->conn;
    pthread_mutex_lock(&c->mu);
    if (c->answered) { /* a second answer: the first one stands */
        pthread_mutex_unlock(&c->mu);
        cpn_free(resp->body);
        resp->body = NULL;
        return;
    }
    c->answered = true;
    if (c->mc && !c->dropped) {
        c->resp = *resp;
        c->resp.headers[sizeof c->resp.headers - 1] = '\0';
        if (c->suspended) {
            c->suspended = false;
            MHD_resume_connection(c->mc);
        }
    } else {
        cpn_free(resp->body); /* the client or the server is gone */
    }
    resp->body = NULL;
    pthread_mutex_unlock(&c->mu);
    conn_unref(c);
}

/* ---- start and stop -------------------------------------------------------------------------- */

/* Opens a listening socket for "host:port", "[v6]:port" or ":port". */
static int listen_on(const char *spec, int *fd_out, int *port_out, bool *v6, struct cpn_error *err)
{
    char host[256] = "", port[16];
    const char *colon;
    struct addrinfo hints = { 0 }, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd, rc, one = 1;
    if (!spec || !*spec)
        spec = "127.0.0.1:8080";
    if (spec[0] == '[') {
        const char *rb = strchr(spec, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof host)
            return cpn_errorf(err, CPN_EFIELD, "listen \"%s\": expected [ipv6]:port", spec);
        memcpy(host, spec + 1, (size_t)(rb - spec - 1));
        host[rb - spec - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host)
            return cpn_errorf(err, CPN_EFIELD, "listen \"%s\": expected host:port", spec);
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
    }
    if (cpn_strlcpy(port, colon + 1, sizeof port) != 0 || !port[0] ||
        strspn(port, "0123456789") != strlen(port) || strtol(port, NULL, 10) > 65535)
        return cpn_errorf(err, CPN_EFIELD, "listen \"%s\": expected a port 0..65535 after ':'",
                          spec);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host[0] ? host : "0.0.0.0", port, &hints, &ai);
    if (rc != 0)
        return cpn_errorf(err, CPN_EFIELD, "listen \"%s\": %s: expected an address of this host",
                          spec, gai_strerror(rc));
    fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0) {
        rc = -errno;
        freeaddrinfo(ai);
        return cpn_errorf(err, rc, "listen \"%s\": socket: %s", spec, strerror(-rc));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        rc = -errno;
        close(fd);
        freeaddrinfo(ai);
        return cpn_errorf(err, rc, "listen \"%s\": %s", spec, strerror(-rc));
    }
    *v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    *port_out = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return 0;
}

int cpn_http_start(const struct cpn_http_config *cfg, struct cpn_http **out, struct cpn_error *err)
{
    struct cpn_http *h;
    unsigned threads = cfg->threads ? cfg->threads : DEFAULT_THREADS;
    unsigned conns = cfg->max_connections ? cfg->max_connections : DEFAULT_CONNECTIONS;
    unsigned timeout = cfg->timeout_s ? cfg->timeout_s : DEFAULT_TIMEOUT_S;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
    int fd, rc;
    bool v6 = false;
    if (!cfg->handler)
        return cpn_errorf(err, -EINVAL, "http: no handler");
    h = cpn_calloc(1, sizeof *h);
    if (!h)
        return cpn_errorf(err, -ENOMEM, "http: out of memory");
    if (pthread_mutex_init(&h->mu, NULL) != 0) {
        cpn_free(h);
        return cpn_errorf(err, -ENOMEM, "http: cannot create a mutex");
    }
    h->handler = cfg->handler;
    h->ctx = cfg->ctx;
    h->body_limit = cfg->body_limit ? cfg->body_limit : CPN_HTTP_BODY_LIMIT;
    atomic_init(&h->stopping, false);
    if ((rc = listen_on(cfg->listen, &fd, &h->port, &v6, err)) != 0) {
        pthread_mutex_destroy(&h->mu);
        cpn_free(h);
        return rc;
    }
    if (v6)
        flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_access, h, MHD_OPTION_LISTEN_SOCKET, fd,
                            MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0u,
                            MHD_OPTION_CONNECTION_LIMIT, conns, MHD_OPTION_CONNECTION_TIMEOUT,
                            timeout, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
    if (!h->d) {
        close(fd);
        pthread_mutex_destroy(&h->mu);
        cpn_free(h);
        return cpn_errorf(err, -EIO, "listen \"%s\": libmicrohttpd could not start its threads",
                          cfg->listen ? cfg->listen : "");
    }
    *out = h;
    return 0;
}

int cpn_http_port(const struct cpn_http *h)
{
    return h->port;
}

void cpn_http_stop(struct cpn_http *h)
{
    if (!h)
        return;
    /* No request may be left suspended: MHD_stop_daemon aborts on one. Those waiting for an
     * answer are resumed and closed; their handlers still answer later, into the void. */
    atomic_store(&h->stopping, true);
    pthread_mutex_lock(&h->mu);
    for (struct cpn_http_conn *c = h->live; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        if (c->handed && !c->answered)
            c->dropped = true;
        if (c->suspended) {
            c->suspended = false;
            MHD_resume_connection(c->mc);
        }
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&h->mu);
    MHD_stop_daemon(h->d);
    pthread_mutex_destroy(&h->mu);
    cpn_free(h);
}
