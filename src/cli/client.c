/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's HTTP client of the platform API: one libcurl easy handle per command (so a command that
 * makes several requests reuses its connection), a bearer token from a flag, a file or the
 * environment, connect and total timeouts, answers capped at 64 MiB and parsed as JSON. Errors are
 * printed in one form and mapped to exit statuses in one function, so every client subcommand
 * tells a script the same thing: usage (2), client (3), not found (4), server or connection (5).
 * Also the aligned tables and pretty JSON the subcommands print. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "cpnet/api.h"

#define TOKEN_TEXT_MAX 256

struct cpn_client {
    char cmd[64];
    char addr[1024];
    char auth[TOKEN_TEXT_MAX + 32]; /* "Authorization: Bearer <token>", "" without a token */
    long connect_timeout_s, timeout_s;
    CURL *curl;
};

int cpn_client_exit_for(long status)
{
    if (status >= 200 && status < 300)
        return CPN_EXIT_OK;
    if (status == 404)
        return CPN_EXIT_NOTFOUND;
    if (status >= 400 && status < 500)
        return CPN_EXIT_CLIENT;
    return CPN_EXIT_SERVER;
}

const char *cpn_client_addr(const struct cpn_client *c)
{
    return c->addr;
}

/* Strips surrounding blanks in place; returns the start. */
static char *trim(char *s)
{
    size_t n;
    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* A token is printable ASCII without blanks (it goes into a header line). */
static bool token_ok(const char *t)
{
    if (!*t || strlen(t) >= TOKEN_TEXT_MAX)
        return false;
    for (; *t; t++)
        if (*t < 0x21 || *t > 0x7e)
            return false;
    return true;
}

static int set_token(struct cpn_client *c, const struct cpn_client_opts *o)
{
    struct cpn_buf b = { .limit = 4096 };
    struct cpn_error err = { 0 };
    const char *from = NULL;
    char *tok = NULL;
    if (o->token) {
        from = "--token";
        tok = cpn_strdup(o->token);
    } else if (o->token_file) {
        int rc = cpn_buf_read_file(&b, o->token_file, &err);
        if (rc) {
            fprintf(stderr, "%s: --token-file %s: %s\n", c->cmd, o->token_file,
                    rc == CPN_ELIMIT ? "larger than 4 KiB: expected one token" : err.msg);
            cpn_buf_free(&b);
            return CPN_EXIT_USAGE;
        }
        from = "--token-file";
        tok = b.data ? b.data : cpn_strdup("");
        b.data = NULL;
    } else if (getenv("CPNET_TOKEN") && *getenv("CPNET_TOKEN")) {
        from = "CPNET_TOKEN";
        tok = cpn_strdup(getenv("CPNET_TOKEN"));
    } else {
        return CPN_EXIT_OK; /* no token: public routes still work; others answer 401 */
    }
    if (!tok) {
        fprintf(stderr, "%s: out of memory\n", c->cmd);
        return CPN_EXIT_SERVER;
    }
    {
        char *t = trim(tok);
        char *nl = strchr(t, '\n');
        if (nl) /* a token file may hold a comment or more after the first line */
            *nl = '\0';
        t = trim(t);
        if (!token_ok(t)) {
            fprintf(stderr,
                    "%s: %s%s%s: the token is empty, too long or holds blanks or control "
                    "characters: expected one token such as cpn_<id>_<secret>\n",
                    c->cmd, from, o->token_file && !o->token ? " " : "",
                    o->token_file && !o->token ? o->token_file : "");
            cpn_free(tok);
            return CPN_EXIT_USAGE;
        }
        snprintf(c->auth, sizeof c->auth, "Authorization: Bearer %s", t);
    }
    cpn_free(tok);
    return CPN_EXIT_OK;
}

static int set_addr(struct cpn_client *c, const char *addr, const char *from)
{
    size_t n;
    if (!*addr) {
        fprintf(stderr, "%s: %s is empty: expected an address such as %s\n", c->cmd, from,
                CPN_CLIENT_DEFAULT_ADDR);
        return CPN_EXIT_USAGE;
    }
    if (strstr(addr, "://")) {
        if (strncmp(addr, "http://", 7) != 0 && strncmp(addr, "https://", 8) != 0) {
            fprintf(stderr, "%s: %s '%s': expected an http:// or https:// address such as %s\n",
                    c->cmd, from, addr, CPN_CLIENT_DEFAULT_ADDR);
            return CPN_EXIT_USAGE;
        }
        n = (size_t)snprintf(c->addr, sizeof c->addr, "%s", addr);
    } else {
        n = (size_t)snprintf(c->addr, sizeof c->addr, "http://%s", addr);
    }
    if (n >= sizeof c->addr) {
        fprintf(stderr, "%s: %s is longer than %zu characters\n", c->cmd, from, sizeof c->addr - 8);
        return CPN_EXIT_USAGE;
    }
    while (n > 0 && c->addr[n - 1] == '/')
        c->addr[--n] = '\0';
    for (const char *p = c->addr; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            fprintf(stderr, "%s: %s '%s': an address holds no blanks or control characters\n",
                    c->cmd, from, addr);
            return CPN_EXIT_USAGE;
        }
    return CPN_EXIT_OK;
}

int cpn_client_open(const struct cpn_client_opts *o, struct cpn_client **out)
{
    struct cpn_client *c = cpn_calloc(1, sizeof *c);
    const char *env = getenv("CPNET_ADDR");
    int rc;
    if (!c) {
        fprintf(stderr, "%s: out of memory\n", o->cmd ? o->cmd : "cpnet");
        return CPN_EXIT_SERVER;
    }
    cpn_strlcpy(c->cmd, o->cmd ? o->cmd : "cpnet", sizeof c->cmd);
    c->connect_timeout_s = o->connect_timeout_s > 0 ? o->connect_timeout_s : 5;
    c->timeout_s = o->timeout_s > 0 ? o->timeout_s : 60;
    if (o->addr)
        rc = set_addr(c, o->addr, "--addr");
    else if (env && *env)
        rc = set_addr(c, env, "CPNET_ADDR");
    else
        rc = set_addr(c, CPN_CLIENT_DEFAULT_ADDR, "the default address");
    if (rc == CPN_EXIT_OK)
        rc = set_token(c, o);
    if (rc != CPN_EXIT_OK) {
        cpn_free(c);
        return rc;
    }
    /* the CLI is the program's top level: libcurl is set up once here and torn down at close */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c->curl = curl_easy_init())) {
        fprintf(stderr, "%s: libcurl could not be initialised\n", c->cmd);
        cpn_free(c);
        return CPN_EXIT_SERVER;
    }
    *out = c;
    return CPN_EXIT_OK;
}

void cpn_client_close(struct cpn_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    curl_global_cleanup();
    cpn_free(c);
}

struct sink {
    struct cpn_buf *b;
    bool too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct sink *s = ctx;
    if (cpn_buf_append(s->b, p, size * n) != 0) {
        s->too_big = true;
        return 0; /* stops the transfer */
    }
    return size * n;
}

static struct curl_slist *add_header(struct curl_slist *h, const char *line, bool *fail)
{
    struct curl_slist *n = curl_slist_append(h, line);
    if (!n) {
        *fail = true;
        return h;
    }
    return n;
}

static int exchange(struct cpn_client *c,
                    const char *method,
                    const char *path,
                    const char *json,
                    const char *ctype,
                    const char *idem_key,
                    struct cpn_reply *r)
{
    char url[2048 + 1024], errbuf[CURL_ERROR_SIZE] = "", idem[256], ct[160];
    struct curl_slist *h = NULL;
    struct sink sink;
    bool fail = false;
    CURLcode cc;
    memset(r, 0, sizeof *r);
    r->body.limit = CPN_CLIENT_BODY_MAX;
    sink.b = &r->body;
    sink.too_big = false;
    if ((size_t)snprintf(url, sizeof url, "%s%s", c->addr, path) >= sizeof url) {
        snprintf(r->error, sizeof r->error, "the request URL is longer than %zu characters",
                 sizeof url - 1);
        return CPN_EXIT_USAGE;
    }
    h = add_header(h, "Accept: application/json, application/problem+json", &fail);
    h = add_header(h, "Expect:", &fail); /* no 100-continue round trip for bodies */
    if (c->auth[0])
        h = add_header(h, c->auth, &fail);
    if (json) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
        h = add_header(h, ct, &fail);
    }
    if (idem_key) {
        snprintf(idem, sizeof idem, "Idempotency-Key: %s", idem_key);
        h = add_header(h, idem, &fail);
    }
    if (fail) {
        curl_slist_free_all(h);
        snprintf(r->error, sizeof r->error, "out of memory");
        return CPN_EXIT_SERVER;
    }
    curl_easy_reset(c->curl); /* keeps the open connection for the next request */
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, c->connect_timeout_s);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, c->timeout_s);
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "cpnet-cli");
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (json) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    } else {
        curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    }
    cc = curl_easy_perform(c->curl);
    curl_slist_free_all(h);
    if (cc != CURLE_OK) {
        r->status = 0;
        if (sink.too_big)
            snprintf(r->error, sizeof r->error, "%s %.300s: the answer is larger than %u MiB",
                     method, path, CPN_CLIENT_BODY_MAX >> 20);
        else if (cc == CURLE_OPERATION_TIMEDOUT)
            snprintf(r->error, sizeof r->error, "%s %.300s%.300s: no answer within %ld s (%.200s)",
                     method, c->addr, path, c->timeout_s,
                     errbuf[0] ? errbuf : curl_easy_strerror(cc));
        else
            snprintf(r->error, sizeof r->error,
                     "cannot reach %.300s (%s %.300s): %.200s; is `cpnet serve` running there? "
                     "(--addr or "
                     "CPNET_ADDR)",
                     c->addr, method, path, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return CPN_EXIT_SERVER;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->body.len > 0) {
        json_error_t je;
        r->json = json_loadb(r->body.data, r->body.len, 0, &je);
        if (!r->json && r->status >= 200 && r->status < 300) {
            snprintf(r->error, sizeof r->error,
                     "%s %.300s: %ld answer is not JSON: %.200s at line %d, column %d", method,
                     path, r->status, je.text, je.line, je.column);
            return CPN_EXIT_SERVER;
        }
    } else if (r->status >= 200 && r->status < 300) {
        snprintf(r->error, sizeof r->error, "%s %.300s: %ld answer has no body: expected JSON",
                 method, path, r->status);
        return CPN_EXIT_SERVER;
    }
    return cpn_client_exit_for(r->status);
}

int cpn_client_get(struct cpn_client *c, const char *path, struct cpn_reply *r)
{
    return exchange(c, "GET", path, NULL, NULL, NULL, r);
}

int cpn_client_post(struct cpn_client *c,
                    const char *path,
                    const char *json,
                    const char *idem_key,
                    struct cpn_reply *r)
{
    return exchange(c, "POST", path, json ? json : "", NULL, idem_key, r);
}

int cpn_client_put(struct cpn_client *c,
                   const char *path,
                   const char *body,
                   const char *ctype,
                   struct cpn_reply *r)
{
    return exchange(c, "PUT", path, body ? body : "", ctype, NULL, r);
}

void cpn_reply_free(struct cpn_reply *r)
{
    if (!r)
        return;
    json_decref(r->json);
    r->json = NULL;
    cpn_buf_free(&r->body);
}

int cpn_client_report(const struct cpn_client *c, const char *context, const struct cpn_reply *r)
{
    int code = cpn_client_exit_for(r->status);
    const char *sep = context && *context ? ": " : "";
    const char *ctx = context ? context : "";
    const json_t *j = r->json;
    if (r->error[0] && code == CPN_EXIT_OK)
        code = CPN_EXIT_SERVER; /* a 2xx that could not be read */
    if (r->status == 0 || r->error[0]) {
        fprintf(stderr, "cpnet: %s%s%s\n", ctx, sep, r->error[0] ? r->error : "no answer");
        return code;
    }
    if (json_is_object(j) && (json_object_get(j, "title") || json_object_get(j, "detail"))) {
        const char *title = cpn_jstr(j, "title"), *detail = cpn_jstr(j, "detail");
        const char *field = NULL;
        const json_t *errs = json_object_get(j, "errors");
        if (json_is_array(errs) && json_array_size(errs) > 0)
            field = cpn_jstr(json_array_get(errs, 0), "field");
        fprintf(stderr, "cpnet: %s%s%ld %s%s%s%s%s%s\n", ctx, sep, r->status,
                title ? title : cpn_http_status_text((int)r->status), detail ? ": " : "",
                detail ? detail : "", field ? " (field: " : "", field ? field : "",
                field ? ")" : "");
    } else {
        /* not problem+json (a proxy's page, say): the status and the first line of the body */
        size_t n = r->body.data ? strcspn(r->body.data, "\r\n") : 0;
        fprintf(stderr, "cpnet: %s%s%ld %s%s%.*s\n", ctx, sep, r->status,
                cpn_http_status_text((int)r->status), n ? ": " : "", (int)(n > 200 ? 200 : n),
                r->body.data ? r->body.data : "");
    }
    if (r->status == 401 && !c->auth[0])
        fprintf(stderr, "cpnet: no token was given: use --token, --token-file or CPNET_TOKEN\n");
    return code;
}

char *cpn_client_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0), *out;
    if (!e)
        return NULL;
    out = cpn_strdup(e);
    curl_free(e);
    return out;
}

int cpn_json_print(FILE *f, const json_t *j)
{
    /* the server writes reals with 15 significant digits: the same precision gives the same text */
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY);
    if (!s)
        return -ENOMEM;
    fprintf(f, "%s\n", s);
    free(s);
    return 0;
}

/* ---- tables ---------------------------------------------------------------------------------- */

void cpn_table_init(struct cpn_table *t, const char *const *heads, size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->heads = heads;
    t->ncols = ncols;
}

int cpn_table_row(struct cpn_table *t, const char *const *cells)
{
    size_t base = t->nrows * t->ncols;
    if (cpn_grow(&t->cells, &t->cap, base + t->ncols, sizeof *t->cells))
        return -ENOMEM;
    for (size_t i = 0; i < t->ncols; i++) {
        t->cells[base + i] = cpn_strdup(cells[i] && *cells[i] ? cells[i] : "-");
        if (!t->cells[base + i]) {
            for (size_t k = 0; k < i; k++)
                cpn_free(t->cells[base + k]);
            return -ENOMEM;
        }
    }
    t->nrows++;
    return 0;
}

/* Display width: UTF-8 code points (names of places may be Chinese; close enough for a table). */
static size_t width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

static void cell(FILE *f, const char *s, size_t w, bool right, bool last)
{
    size_t n = width(s);
    if (right)
        for (size_t i = n; i < w; i++)
            fputc(' ', f);
    fputs(s, f);
    if (!right && !last)
        for (size_t i = n; i < w; i++)
            fputc(' ', f);
    if (!last)
        fputs("  ", f);
}

void cpn_table_print(const struct cpn_table *t, FILE *f)
{
    size_t w[32] = { 0 };
    size_t nc = t->ncols < 32 ? t->ncols : 32;
    for (size_t c = 0; c < nc; c++) {
        const char *h = t->heads[c] + (t->heads[c][0] == '>');
        w[c] = width(h);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t n = width(t->cells[r * t->ncols + c]);
            if (n > w[c])
                w[c] = n;
        }
    }
    for (size_t c = 0; c < nc; c++)
        cell(f, t->heads[c] + (t->heads[c][0] == '>'), w[c], t->heads[c][0] == '>', c + 1 == nc);
    fputc('\n', f);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < nc; c++)
            cell(f, t->cells[r * t->ncols + c], w[c], t->heads[c][0] == '>', c + 1 == nc);
        fputc('\n', f);
    }
}

void cpn_table_free(struct cpn_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        cpn_free(t->cells[i]);
    cpn_free(t->cells);
    memset(t, 0, sizeof *t);
}

const char *cpn_jstr(const json_t *o, const char *key)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *cpn_jnum(const json_t *o, const char *key, int decimals, char *out, size_t size)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (json_is_integer(v))
        snprintf(out, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, size, "%.*f", decimals, json_real_value(v));
    else if (json_is_string(v))
        snprintf(out, size, "%s", json_string_value(v));
    else
        return NULL;
    return out;
}
