/* SPDX-License-Identifier: Apache-2.0 */
/* API load generator: N keep-alive HTTP/1.1 connections spread over M threads, each connection
 * with one submission in flight (closed loop), POSTing realistic job bodies (a mix of classes,
 * sizes, origins, deadlines and latency bounds on the reference network) to /v1/jobs with an
 * Idempotency-Key, for a fixed time or count. Every 201 is a durable submission: the service
 * answers only after its group commit. Prints "key value" lines (submissions per second, p50/p99
 * latency in ms, errors) for scripts/bench-api.sh. A benchmark: it asserts nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cpnet/util.h"

#define BODIES  512   /* distinct job bodies per thread, cycled */
#define RBUF    65536 /* a submission's answer is about 1 KiB */
#define MAX_CON 4096

struct opts {
    int port;
    char token[128];
    int connections, threads;
    double duration_s, warmup_s;
    int64_t count; /* 0: run for duration_s */
    bool idem;
    unsigned long long nonce; /* keeps idempotency keys of different runs apart */
};

struct bconn {
    int fd;
    char rbuf[RBUF];
    size_t rlen;
    int64_t sent_ns;
    uint64_t seq;
    bool busy;
};

struct worker {
    pthread_t th;
    int index;
    const struct opts *o;
    struct bconn *c;
    int nc;
    char *bodies[BODIES];
    uint64_t rng;
    int64_t t_measure, t_end; /* monotonic ns: count from t_measure, stop sending at t_end */
    uint32_t *lat_us;
    size_t nlat, caplat;
    uint64_t ok, errors, conn_errors, done_total, sent;
    int shown;
};

static const char *const sites[] = { "beijing",   "tianjin",  "shanghai", "hangzhou",
                                     "guangzhou", "shenzhen", "chengdu",  "chongqing" };

static uint64_t xs(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void iso(int64_t t, char out[CPN_TIME_STRLEN])
{
    cpn_time_format(t, out);
}

/* One realistic job: half GPU training or inference, a third CPU batch, the rest HPC. */
static char *make_body(uint64_t *rng, int64_t now)
{
    char e[CPN_TIME_STRLEN], d[CPN_TIME_STRLEN], extra[160] = "";
    const char *cls;
    int units, minutes, k = (int)(xs(rng) % 100);
    int64_t earliest = now + (int64_t)(xs(rng) % 12) * 900;
    char *b = malloc(512);
    if (!b)
        return NULL;
    if (k < 50) {
        cls = "intelligent";
        units = 1 << (xs(rng) % 7); /* 1..64 devices */
        minutes = 30 + (int)(xs(rng) % 24) * 30;
    } else if (k < 85) {
        cls = "general";
        units = 16 * (1 + (int)(xs(rng) % 64));
        minutes = 10 + (int)(xs(rng) % 24) * 10;
    } else {
        cls = "super";
        units = 1 + (int)(xs(rng) % 32);
        minutes = 60 + (int)(xs(rng) % 24) * 60;
    }
    iso(earliest, e);
    if (xs(rng) % 2) {
        iso(earliest + (int64_t)minutes * 60 + (6 + (int64_t)(xs(rng) % 43)) * 3600, d);
        snprintf(extra, sizeof extra, ", \"deadline\": \"%s\"", d);
    }
    if (k < 15) /* inference near its users */
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), ", \"max_rtt_ms\": 40");
    else if (xs(rng) % 3 == 0)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), ", \"data_gb\": %d",
                 (int)(xs(rng) % 500));
    snprintf(b, 512,
             "{\"tenant\": \"lab-%d\", \"origin\": \"%s\", \"class\": \"%s\", \"units\": %d, "
             "\"duration\": \"%dm\", \"earliest\": \"%s\", \"interruptible\": %s%s}",
             (int)(xs(rng) % 20), sites[xs(rng) % 8], cls, units, minutes, e,
             xs(rng) % 4 == 0 ? "true" : "false", extra);
    return b;
}

static int conn_open(struct bconn *c, int port)
{
    struct sockaddr_in sa = { 0 };
    int one = 1;
    c->rlen = 0;
    c->busy = false;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static int send_req(struct worker *w, struct bconn *c)
{
    char head[1024];
    const char *body = w->bodies[c->seq % BODIES];
    size_t blen = strlen(body), off = 0, total;
    char idem[96] = "";
    char req[2048];
    int hn;
    if (w->o->idem)
        snprintf(idem, sizeof idem, "Idempotency-Key: bench-%llx-%d-%d-%llu\r\n", w->o->nonce,
                 w->index, (int)(c - w->c), (unsigned long long)c->seq);
    hn = snprintf(head, sizeof head,
                  "POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                  "Content-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                  w->o->token, idem, blen);
    if (hn < 0 || (size_t)hn + blen >= sizeof req)
        return -1;
    memcpy(req, head, (size_t)hn);
    memcpy(req + hn, body, blen);
    total = (size_t)hn + blen;
    c->sent_ns = cpn_monotonic_ns();
    while (off < total) {
        ssize_t n = send(c->fd, req + off, total - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    c->busy = true;
    c->seq++;
    w->sent++;
    return 0;
}

static void
record(struct worker *w, int64_t now, int64_t sent, int status, const char *body, size_t blen)
{
    w->done_total++;
    if (now < w->t_measure || now > w->t_end)
        return;
    if (status == 201) {
        if (w->nlat == w->caplat) {
            size_t cap = w->caplat ? 2 * w->caplat : 65536;
            uint32_t *n = realloc(w->lat_us, cap * sizeof *n);
            if (!n)
                return;
            w->lat_us = n;
            w->caplat = cap;
        }
        w->lat_us[w->nlat++] = (uint32_t)((now - sent) / 1000);
        w->ok++;
    } else {
        w->errors++;
        if (w->shown++ < 3)
            fprintf(stderr, "bench_api: status %d: %.*s\n", status, (int)(blen < 300 ? blen : 300),
                    body);
    }
}

/* Takes every complete answer out of c->rbuf. Returns the number taken, or -1 on a protocol
 * error. */
static int take_answers(struct worker *w, struct bconn *c, int64_t now)
{
    int taken = 0;
    for (;;) {
        char *e, *p;
        size_t hend, clen = 0;
        int status = 0;
        c->rbuf[c->rlen] = '\0';
        e = strstr(c->rbuf, "\r\n\r\n");
        if (!e)
            return taken;
        hend = (size_t)(e - c->rbuf) + 4;
        if (sscanf(c->rbuf, "HTTP/1.%*d %d", &status) != 1)
            return -1;
        for (p = c->rbuf; p && p < e; p = strstr(p, "\r\n")) {
            p += 2;
            if (strncasecmp(p, "Content-Length:", 15) == 0) {
                int64_t v;
                char num[24];
                size_t n = strcspn(p + 15, "\r");
                snprintf(num, sizeof num, "%.*s", (int)(n < 23 ? n : 23), p + 15);
                if (cpn_parse_int64(num + strspn(num, " "), &v) || v < 0)
                    return -1;
                clen = (size_t)v;
            }
        }
        if (hend + clen >= RBUF)
            return -1;
        if (c->rlen < hend + clen)
            return taken;
        record(w, now, c->sent_ns, status, c->rbuf + hend, clen);
        memmove(c->rbuf, c->rbuf + hend + clen, c->rlen - hend - clen);
        c->rlen -= hend + clen;
        c->busy = false;
        taken++;
    }
}

static bool more(const struct worker *w, int64_t now)
{
    if (w->o->count > 0)
        return (int64_t)w->sent <
               w->o->count / w->o->threads + (w->index < w->o->count % w->o->threads);
    return now < w->t_end;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pollfd *pf = calloc((size_t)w->nc, sizeof *pf);
    int live = 0;
    if (!pf)
        return NULL;
    for (int i = 0; i < w->nc; i++) {
        if (conn_open(&w->c[i], w->o->port) || send_req(w, &w->c[i])) {
            w->conn_errors++;
            continue;
        }
        live++;
    }
    while (live > 0) {
        int n = 0, rc;
        int64_t now;
        for (int i = 0; i < w->nc; i++) {
            pf[i].fd = w->c[i].fd >= 0 && w->c[i].busy ? w->c[i].fd : -1;
            pf[i].events = POLLIN;
            pf[i].revents = 0;
            n += pf[i].fd >= 0;
        }
        if (!n)
            break;
        rc = poll(pf, (nfds_t)w->nc, 1000);
        if (rc < 0 && errno == EINTR)
            continue;
        now = cpn_monotonic_ns();
        if (rc == 0 && now > w->t_end + 10 * 1000000000LL)
            break; /* answers that never come */
        for (int i = 0; i < w->nc; i++) {
            struct bconn *c = &w->c[i];
            ssize_t r;
            if (!(pf[i].revents & (POLLIN | POLLERR | POLLHUP)))
                continue;
            r = recv(c->fd, c->rbuf + c->rlen, RBUF - 1 - c->rlen, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r > 0)
                c->rlen += (size_t)r;
            if (r <= 0 || take_answers(w, c, now) < 0) {
                w->conn_errors++;
                close(c->fd);
                c->fd = -1;
                live--;
            }
        }
        for (int i = 0; i < w->nc; i++) {
            struct bconn *c = &w->c[i];
            if (c->fd < 0 || c->busy)
                continue;
            if (!more(w, now) || send_req(w, c)) {
                close(c->fd);
                c->fd = -1;
                live--;
            }
        }
    }
    for (int i = 0; i < w->nc; i++)
        if (w->c[i].fd >= 0)
            close(w->c[i].fd);
    free(pf);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_api --port P (--token T | --token-file F) [--connections 64]\n"
                    "                 [--threads 2] [--duration 10] [--warmup 1] [--count N]\n"
                    "                 [--no-idempotency-key]\n");
    return 2;
}

static int num(const char *flag, const char *v, double lo, double hi, double *out)
{
    if (!v || cpn_parse_double(v, out) || *out < lo || *out > hi) {
        fprintf(stderr, "bench_api: %s '%s': expected a number from %g to %g\n", flag, v ? v : "",
                lo, hi);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {
        .connections = 64, .threads = 2, .duration_s = 10, .warmup_s = 1, .idem = true
    };
    struct worker *w;
    struct timespec rt;
    uint32_t *all;
    size_t nall = 0;
    uint64_t ok = 0, errors = 0, conn_errors = 0;
    int64_t t0;
    double d, secs;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-idempotency-key")) {
            o.idem = false;
            continue;
        }
        i++;
        if (!strcmp(a, "--port")) {
            if (num(a, v, 1, 65535, &d))
                return 2;
            o.port = (int)d;
        } else if (!strcmp(a, "--token") && v) {
            snprintf(o.token, sizeof o.token, "%s", v);
        } else if (!strcmp(a, "--token-file") && v) {
            FILE *f = fopen(v, "r");
            if (!f || !fgets(o.token, sizeof o.token, f)) {
                fprintf(stderr, "bench_api: --token-file %s: cannot read a token\n", v);
                if (f)
                    fclose(f);
                return 1;
            }
            fclose(f);
            o.token[strcspn(o.token, "\r\n")] = '\0';
        } else if (!strcmp(a, "--connections")) {
            if (num(a, v, 1, MAX_CON, &d))
                return 2;
            o.connections = (int)d;
        } else if (!strcmp(a, "--threads")) {
            if (num(a, v, 1, 64, &d))
                return 2;
            o.threads = (int)d;
        } else if (!strcmp(a, "--duration")) {
            if (num(a, v, 0.1, 3600, &o.duration_s))
                return 2;
        } else if (!strcmp(a, "--warmup")) {
            if (num(a, v, 0, 600, &o.warmup_s))
                return 2;
        } else if (!strcmp(a, "--count")) {
            if (num(a, v, 1, 1e9, &d))
                return 2;
            o.count = (int64_t)d;
        } else {
            return usage();
        }
    }
    if (!o.port || !o.token[0])
        return usage();
    if (o.threads > o.connections)
        o.threads = o.connections;
    w = calloc((size_t)o.threads, sizeof *w);
    if (!w)
        return 1;
    clock_gettime(CLOCK_REALTIME, &rt);
    o.nonce = (unsigned long long)rt.tv_sec * 1000000000ull + (unsigned long long)rt.tv_nsec;
    t0 = cpn_monotonic_ns();
    for (int t = 0; t < o.threads; t++) {
        w[t].index = t;
        w[t].o = &o;
        w[t].nc = o.connections / o.threads + (t < o.connections % o.threads);
        w[t].c = calloc((size_t)w[t].nc, sizeof *w[t].c);
        w[t].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(t + 1) ^ (uint64_t)rt.tv_nsec;
        if (!w[t].c)
            return 1;
        for (int i = 0; i < w[t].nc; i++)
            w[t].c[i].fd = -1;
        for (int b = 0; b < BODIES; b++)
            if (!(w[t].bodies[b] = make_body(&w[t].rng, (int64_t)rt.tv_sec)))
                return 1;
        w[t].t_measure = o.count > 0 ? t0 : t0 + (int64_t)(o.warmup_s * 1e9);
        w[t].t_end =
            o.count > 0 ? INT64_MAX / 2 : t0 + (int64_t)((o.warmup_s + o.duration_s) * 1e9);
    }
    for (int t = 0; t < o.threads; t++)
        pthread_create(&w[t].th, NULL, worker_main, &w[t]);
    for (int t = 0; t < o.threads; t++) {
        pthread_join(w[t].th, NULL);
        ok += w[t].ok;
        errors += w[t].errors;
        conn_errors += w[t].conn_errors;
        nall += w[t].nlat;
    }
    secs = o.count > 0 ? (double)(cpn_monotonic_ns() - t0) / 1e9 : o.duration_s;
    all = malloc((nall + 1) * sizeof *all);
    if (!all)
        return 1;
    nall = 0;
    for (int t = 0; t < o.threads; t++) {
        if (w[t].nlat)
            memcpy(all + nall, w[t].lat_us, w[t].nlat * sizeof *all);
        nall += w[t].nlat;
    }
    qsort(all, nall, sizeof *all, cmp_u32);
    printf("api_connections %d\n", o.connections);
    printf("api_threads %d\n", o.threads);
    printf("api_duration_s %.3f\n", secs);
    printf("api_submissions %llu\n", (unsigned long long)ok);
    printf("api_submissions_per_s %.0f\n", (double)ok / secs);
    printf("api_p50_ms %.3f\n", nall ? all[nall / 2] / 1000.0 : 0.0);
    printf("api_p99_ms %.3f\n", nall ? all[(nall * 99) / 100] / 1000.0 : 0.0);
    printf("api_max_ms %.3f\n", nall ? all[nall - 1] / 1000.0 : 0.0);
    printf("api_errors %llu\n", (unsigned long long)(errors + conn_errors));
    for (int t = 0; t < o.threads; t++) {
        for (int b = 0; b < BODIES; b++)
            free(w[t].bodies[b]);
        free(w[t].c);
        free(w[t].lat_us);
    }
    free(all);
    free(w);
    return errors + conn_errors ? 1 : 0;
}
