/* SPDX-License-Identifier: Apache-2.0 */
/* Crash safety of the service: the real `cpnet serve` runs as a child process on a free loopback
 * port; client threads submit jobs over keep-alive connections, each attempt with its own
 * Idempotency-Key, and record every job answered 201. At a random moment (100-800 ms) the server
 * is killed with SIGKILL and started again on the same data directory. Every acknowledged job must
 * be there with its placement (or the reason it is queued), and the full listing must hold no job
 * that was never submitted and no duplicate. Five rounds, on one data directory. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define ROUNDS  5
#define THREADS 4
#define KEY_MAX 40
#define ID_MAX  64

static const char network_json[] =
    "{\"name\": \"crash-test\", \"slot_minutes\": 15,\n"
    " \"hubs\": [{\"id\": \"east\", \"region\": \"east\"}, {\"id\": \"west\", \"region\": "
    "\"west\"}],\n"
    " \"zones\": [{\"id\": \"z-east\", \"grid_gco2_per_kwh\": 700, \"green_share\": 0.2,\n"
    "            \"price_cny_per_kwh\": 0.5},\n"
    "           {\"id\": \"z-west\", \"grid_gco2_per_kwh\": 600, \"green_share\": 0.8,\n"
    "            \"price_cny_per_kwh\": 0.4}],\n"
    " \"clusters\": [\n"
    "  {\"id\": \"alpha\", \"hub\": \"east\", \"zone\": \"z-east\", \"lon\": 114.884, \"lat\": "
    "40.812,\n"
    "   \"pue\": 1.3,\n"
    "   \"pools\": [{\"id\": \"gpu\", \"class\": \"intelligent\", \"units\": 20000, \"tflops\": "
    "312,\n"
    "              \"watts_idle\": 60, \"watts_busy\": 400, \"price_cny_per_unit_hour\": 5},\n"
    "             {\"id\": \"cpu\", \"class\": \"general\", \"units\": 1000000, \"tflops\": "
    "0.128,\n"
    "              \"watts_idle\": 3, \"watts_busy\": 8.8, \"price_cny_per_unit_hour\": 0.07}]},\n"
    "  {\"id\": \"beta\", \"hub\": \"west\", \"zone\": \"z-west\", \"lon\": 111.671, \"lat\": "
    "40.818,\n"
    "   \"pue\": 1.2,\n"
    "   \"pools\": [{\"id\": \"gpu\", \"class\": \"intelligent\", \"units\": 20000, \"tflops\": "
    "312,\n"
    "              \"watts_idle\": 60, \"watts_busy\": 400, \"price_cny_per_unit_hour\": 5},\n"
    "             {\"id\": \"cpu\", \"class\": \"general\", \"units\": 1000000, \"tflops\": "
    "0.128,\n"
    "              \"watts_idle\": 3, \"watts_busy\": 8.8, \"price_cny_per_unit_hour\": 0.07}]}],\n"
    " \"sites\": [{\"id\": \"beijing\", \"lon\": 116.405, \"lat\": 39.905},\n"
    "           {\"id\": \"shanghai\", \"lon\": 121.473, \"lat\": 31.230}]}\n";

/* ---- a keep-alive HTTP/1.1 client ---------------------------------------------------------------
 */

struct conn {
    int fd;
    char *buf;
    size_t len, cap;
};

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = 0;
}

static int conn_open(struct conn *c, int port)
{
    struct sockaddr_in sa = { 0 };
    struct timeval tv = { 10, 0 };
    int one = 1;
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        conn_close(c);
        return -1;
    }
    return 0;
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

/* Reads at least need bytes into c->buf. */
static int fill(struct conn *c, size_t need)
{
    while (c->len < need) {
        ssize_t n;
        if (c->cap - c->len < 65536) {
            char *nb = realloc(c->buf, c->cap + 65536 + 1);
            if (!nb)
                return -1;
            c->buf = nb;
            c->cap += 65536;
        }
        n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        c->len += (size_t)n;
    }
    return 0;
}

/* One exchange on an open connection. *body gets a malloc'd copy of the answer's body. Returns
 * the status, or -1 when the connection failed (it is closed then). */
static int conn_req(struct conn *c,
                    const char *method,
                    const char *path,
                    const char *token,
                    const char *idem,
                    const char *json,
                    char **body)
{
    char head[1024];
    int hn, status = -1;
    size_t hend = 0, clen = 0;
    const char *p;
    *body = NULL;
    hn = snprintf(head, sizeof head,
                  "%s %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n%s%s%s%s"
                  "Content-Length: %zu\r\n\r\n",
                  method, path, token, idem ? "Idempotency-Key: " : "", idem ? idem : "",
                  idem ? "\r\n" : "", json ? "Content-Type: application/json\r\n" : "",
                  json ? strlen(json) : (size_t)0);
    if (hn < 0 || (size_t)hn >= sizeof head || send_all(c->fd, head, (size_t)hn) ||
        (json && send_all(c->fd, json, strlen(json)))) {
        conn_close(c);
        return -1;
    }
    for (;;) {
        char *e;
        if (c->len) {
            c->buf[c->len] = '\0';
            e = strstr(c->buf, "\r\n\r\n");
            if (e) {
                hend = (size_t)(e - c->buf) + 4;
                break;
            }
        }
        if (fill(c, c->len + 1)) {
            conn_close(c);
            return -1;
        }
    }
    if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1) {
        conn_close(c);
        return -1;
    }
    for (p = c->buf; p && p < c->buf + hend; p = strstr(p, "\r\n")) {
        p += 2;
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            clen = (size_t)strtoull(p + 15, NULL, 10);
    }
    if (fill(c, hend + clen)) {
        conn_close(c);
        return -1;
    }
    *body = malloc(clen + 1);
    if (*body) {
        memcpy(*body, c->buf + hend, clen);
        (*body)[clen] = '\0';
    }
    memmove(c->buf, c->buf + hend + clen, c->len - hend - clen);
    c->len -= hend + clen;
    return status;
}

/* ---- the server as a child process --------------------------------------------------------------
 */

struct server {
    char dir[256];
    char net[320];
    char log[320];
    char token[128];
    int port;
    pid_t pid;
};

static int free_port(void)
{
    struct sockaddr_in sa = { 0 };
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Starts the server and waits until /healthz answers; 0 or -1. */
static int server_start(struct server *s)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(t_cpnet_bin(), t_cpnet_bin(), "serve", "--network", s->net, "--data-dir", s->dir,
              "--listen", listen, "--rate-limit", "0", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300; i++) {
        struct conn c = { .fd = -1 };
        int st = -1, wst;
        if (waitpid(s->pid, &wst, WNOHANG) == s->pid) {
            s->pid = -1;
            return -1;
        }
        if (conn_open(&c, s->port) == 0) {
            char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
            if (send_all(c.fd, get, strlen(get)) == 0 && fill(&c, 12) == 0)
                sscanf(c.buf, "HTTP/1.%*d %d", &st);
            conn_close(&c);
        }
        free(c.buf);
        if (st == 200)
            return 0;
        sleep_ms(50);
    }
    return -1;
}

static void server_kill(struct server *s, int sig)
{
    int wst;
    if (s->pid <= 0)
        return;
    kill(s->pid, sig);
    waitpid(s->pid, &wst, 0);
    s->pid = -1;
}

/* ---- load
 * ---------------------------------------------------------------------------------------- */

struct record {
    char key[KEY_MAX];
    char id[ID_MAX];
};

struct loader {
    pthread_t th;
    const struct server *srv;
    int round, index;
    atomic_bool *stop;
    /* attempts (every key sent) and acknowledgements (201 with an id) */
    char (*tried)[KEY_MAX];
    size_t ntried, cap_tried;
    struct record *acked;
    size_t nacked, cap_acked;
    int errors;
};

static int push_key(struct loader *L, const char *key)
{
    if (L->ntried == L->cap_tried) {
        size_t cap = L->cap_tried ? 2 * L->cap_tried : 1024;
        char(*n)[KEY_MAX] = realloc(L->tried, cap * sizeof *n);
        if (!n)
            return -1;
        L->tried = n;
        L->cap_tried = cap;
    }
    snprintf(L->tried[L->ntried++], KEY_MAX, "%s", key);
    return 0;
}

static int push_ack(struct loader *L, const char *key, const char *id)
{
    if (L->nacked == L->cap_acked) {
        size_t cap = L->cap_acked ? 2 * L->cap_acked : 1024;
        struct record *n = realloc(L->acked, cap * sizeof *n);
        if (!n)
            return -1;
        L->acked = n;
        L->cap_acked = cap;
    }
    snprintf(L->acked[L->nacked].key, KEY_MAX, "%s", key);
    snprintf(L->acked[L->nacked].id, ID_MAX, "%s", id);
    L->nacked++;
    return 0;
}

static void *load_main(void *arg)
{
    struct loader *L = arg;
    struct conn c = { .fd = -1 };
    unsigned seq = 0;
    while (!atomic_load(L->stop)) {
        char key[KEY_MAX], json[512], *body = NULL;
        int st;
        if (c.fd < 0 && conn_open(&c, L->srv->port) != 0) {
            sleep_ms(5); /* the server is gone or not up: wait for the stop */
            continue;
        }
        snprintf(key, sizeof key, "r%d-t%d-%06u", L->round, L->index, seq);
        snprintf(json, sizeof json,
                 "{\"tenant\": \"t%d\", \"origin\": \"%s\", \"class\": \"%s\", \"units\": %u, "
                 "\"duration\": \"%uh\", \"earliest\": %lld, \"interruptible\": %s}",
                 L->index, seq % 2 ? "beijing" : "shanghai", seq % 3 ? "general" : "intelligent",
                 1 + seq % 8, 1 + seq % 6, (long long)time(NULL) + (long long)(seq % 48) * 1800,
                 seq % 5 ? "false" : "true");
        seq++;
        if (push_key(L, key))
            break;
        st = conn_req(&c, "POST", "/v1/jobs", L->srv->token, key, json, &body);
        if (st == 201) {
            json_t *j = body ? json_loads(body, 0, NULL) : NULL;
            const char *id = json_string_value(json_object_get(j, "id"));
            if (id)
                push_ack(L, key, id);
            else
                L->errors++;
            json_decref(j);
        } else if (st > 0) {
            L->errors++; /* any answer but 201 under this load is wrong */
        }
        free(body);
    }
    conn_close(&c);
    free(c.buf);
    return NULL;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* ---- checks
 * -------------------------------------------------------------------------------------- */

struct tally {
    char (*tried)[KEY_MAX]; /* sorted */
    size_t ntried;
    struct record *acked;
    size_t nacked;
};

/* Every acknowledged job is there, with a placement or a queued reason. */
static void check_acked(const struct server *s, const struct tally *T)
{
    struct conn c = { .fd = -1 };
    size_t missing = 0, bad = 0;
    if (conn_open(&c, s->port) != 0) {
        CHECK_MSG(0, "cannot connect after restart");
        return;
    }
    for (size_t i = 0; i < T->nacked; i++) {
        char path[128], *body = NULL;
        int st;
        json_t *j;
        const char *state;
        snprintf(path, sizeof path, "/v1/jobs/%s", T->acked[i].id);
        st = conn_req(&c, "GET", path, s->token, NULL, NULL, &body);
        if (st < 0 && conn_open(&c, s->port) == 0)
            st = conn_req(&c, "GET", path, s->token, NULL, NULL, &body);
        if (st != 200) {
            if (missing++ < 5)
                CHECK_MSG(0, "acknowledged job %s (key %s) is gone: status %d", T->acked[i].id,
                          T->acked[i].key, st);
            free(body);
            continue;
        }
        j = json_loads(body, 0, NULL);
        state = json_string_value(json_object_get(j, "state"));
        if (!state || json_object_get(j, "idempotency_key") == NULL ||
            strcmp(json_string_value(json_object_get(j, "idempotency_key")), T->acked[i].key) ||
            (strcmp(state, "queued") == 0
                 ? !json_is_string(json_object_get(j, "reason"))
                 : !json_is_string(json_object_get(json_object_get(j, "placement"), "cluster")))) {
            if (bad++ < 5)
                CHECK_MSG(0, "job %s after restart: %.300s", T->acked[i].id, body);
        }
        json_decref(j);
        free(body);
    }
    CHECK_INT(missing, 0);
    CHECK_INT(bad, 0);
    conn_close(&c);
    free(c.buf);
}

/* The listing holds only submitted jobs, each once. Returns the number of jobs. */
static size_t check_listing(const struct server *s, const struct tally *T)
{
    struct conn c = { .fd = -1 };
    char after[ID_MAX] = "", (*keys)[KEY_MAX] = NULL;
    size_t n = 0, cap = 0, unknown = 0, dups = 0;
    if (conn_open(&c, s->port) != 0) {
        CHECK_MSG(0, "cannot connect after restart");
        return 0;
    }
    for (int page = 0; page < 1000; page++) {
        char path[160], *body = NULL;
        json_t *j, *v;
        size_t i;
        const char *next;
        snprintf(path, sizeof path, "/v1/jobs?limit=1000%s%s", after[0] ? "&after=" : "", after);
        if (conn_req(&c, "GET", path, s->token, NULL, NULL, &body) != 200) {
            CHECK_MSG(0, "listing failed: %.200s", body ? body : "");
            free(body);
            break;
        }
        j = json_loads(body, 0, NULL);
        free(body);
        json_array_foreach(json_object_get(j, "jobs"), i, v)
        {
            const char *k = json_string_value(json_object_get(v, "idempotency_key"));
            if (n == cap) {
                char(*nk)[KEY_MAX];
                cap = cap ? 2 * cap : 4096;
                nk = realloc(keys, cap * sizeof *nk);
                if (!nk)
                    break;
                keys = nk;
            }
            snprintf(keys[n++], KEY_MAX, "%s", k ? k : "");
        }
        next = json_string_value(json_object_get(j, "next"));
        if (next)
            snprintf(after, sizeof after, "%s", next);
        json_decref(j);
        if (!next)
            break;
    }
    if (keys)
        qsort(keys, n, sizeof *keys, cmp_key);
    for (size_t i = 0; i < n; i++) {
        if (i && strcmp(keys[i - 1], keys[i]) == 0 && dups++ < 5)
            CHECK_MSG(0, "key %s is listed twice", keys[i]);
        if (!bsearch(keys[i], T->tried, T->ntried, sizeof *T->tried, cmp_key) && unknown++ < 5)
            CHECK_MSG(0, "listed job with key '%s' was never submitted", keys[i]);
    }
    CHECK_INT(dups, 0);
    CHECK_INT(unknown, 0);
    CHECK_MSG(n >= T->nacked, "%zu jobs listed, %zu acknowledged", n, T->nacked);
    free(keys);
    conn_close(&c);
    free(c.buf);
    return n;
}

static int tally_add(struct tally *T, const struct loader *L)
{
    char(*nt)[KEY_MAX] = realloc(T->tried, (T->ntried + L->ntried + 1) * sizeof *nt);
    struct record *na = realloc(T->acked, (T->nacked + L->nacked + 1) * sizeof *na);
    if (nt)
        T->tried = nt;
    if (na)
        T->acked = na;
    if (!nt || !na)
        return -1;
    if (L->ntried)
        memcpy(T->tried + T->ntried, L->tried, L->ntried * sizeof *nt);
    if (L->nacked)
        memcpy(T->acked + T->nacked, L->acked, L->nacked * sizeof *na);
    T->ntried += L->ntried;
    T->nacked += L->nacked;
    return 0;
}

static void test_kill9_rounds(void)
{
    struct server s = { .pid = -1 };
    struct tally T = { 0 };
    unsigned long long rnd =
        (unsigned long long)getpid() * 0x9E3779B97F4A7C15ull ^ (unsigned long long)time(NULL);
    FILE *f;
    struct stat st;
    if (stat(t_cpnet_bin(), &st) != 0) {
        t_skip("the cpnet binary is not built");
        return;
    }
    snprintf(s.dir, sizeof s.dir, "%s/data", t_tmpdir());
    snprintf(s.net, sizeof s.net, "%s.network.json", s.dir);
    snprintf(s.log, sizeof s.log, "%s.log", s.dir);
    f = fopen(s.net, "w");
    if (!f || fputs(network_json, f) < 0 || fclose(f)) {
        CHECK_MSG(0, "cannot write %s", s.net);
        return;
    }
    s.port = free_port();
    if (server_start(&s)) {
        CHECK_MSG(0, "the server did not start (log: %s)", s.log);
        return;
    }
    {
        char path[400];
        snprintf(path, sizeof path, "%s/operator.token", s.dir);
        f = fopen(path, "r");
        if (!f || !fgets(s.token, sizeof s.token, f)) {
            CHECK_MSG(0, "no operator token in %s", path);
            if (f)
                fclose(f);
            server_kill(&s, SIGKILL);
            return;
        }
        fclose(f);
        s.token[strcspn(s.token, "\r\n")] = '\0';
    }
    for (int round = 0; round < ROUNDS; round++) {
        struct loader L[THREADS];
        atomic_bool stop;
        long delay;
        size_t acked_round = 0, listed;
        int errors = 0;
        rnd ^= rnd << 13;
        rnd ^= rnd >> 7;
        rnd ^= rnd << 17;
        delay = 100 + (long)(rnd % 701);
        atomic_init(&stop, false);
        memset(L, 0, sizeof L);
        for (int t = 0; t < THREADS; t++) {
            L[t].srv = &s;
            L[t].round = round;
            L[t].index = t;
            L[t].stop = &stop;
            pthread_create(&L[t].th, NULL, load_main, &L[t]);
        }
        sleep_ms(delay);
        server_kill(&s, SIGKILL);
        atomic_store(&stop, true);
        for (int t = 0; t < THREADS; t++) {
            pthread_join(L[t].th, NULL);
            acked_round += L[t].nacked;
            errors += L[t].errors;
            if (tally_add(&T, &L[t]))
                CHECK_MSG(0, "out of memory");
            free(L[t].tried);
            free(L[t].acked);
        }
        CHECK_INT(errors, 0);
        qsort(T.tried, T.ntried, sizeof *T.tried, cmp_key);
        if (server_start(&s)) {
            CHECK_MSG(0, "round %d: the server did not restart after kill -9 (log: %s)", round,
                      s.log);
            break;
        }
        check_acked(&s, &T);
        listed = check_listing(&s, &T);
        printf("# round %d: killed after %ld ms; %zu acknowledged (%zu in all), %zu jobs listed\n",
               round + 1, delay, acked_round, T.nacked, listed);
        fflush(stdout);
    }
    CHECK_MSG(T.nacked > 0, "no job was acknowledged before any of the kills");
    server_kill(&s, SIGTERM);
    free(T.tried);
    free(T.acked);
}

int main(void)
{
    T_RUN(test_kill9_rounds);
    return T_DONE("crash");
}
