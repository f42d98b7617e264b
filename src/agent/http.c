/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's client of the platform: one libcurl easy handle (so successive calls reuse the
 * connection), a bearer token that goes only into the Authorization header, answers capped at
 * 16 MiB and parsed as JSON. A long-poll may block for its whole wait: a progress callback checks
 * the caller's stop flag so that SIGTERM ends the agent at once. Which answers are worth retrying
 * is decided here, in one place. */
#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#include "agent_int.h"

#define AGT_BODY_MAX (16u << 20)

struct agt_http {
    char base[1024];
    char auth[600];
    volatile sig_atomic_t *stop;
    CURL *curl;
};

int agt_http_open(const char *base,
                  const char *token,
                  volatile sig_atomic_t *stop,
                  struct agt_http **out,
                  struct cpn_error *err)
{
    struct agt_http *h;
    size_t n;
    if (!base || (strncmp(base, "http://", 7) && strncmp(base, "https://", 8)))
        return cpn_errorf(err, CPN_EUSAGE,
                          "platform address '%s': expected http://HOST:PORT or https://...",
                          base ? base : "");
    for (const char *p = token ? token : ""; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return cpn_errorf(err, CPN_EUSAGE,
                              "the token holds blanks or control characters: expected one token "
                              "such as cpn_<id>_<secret>");
    h = cpn_calloc(1, sizeof *h);
    if (!h)
        return cpn_errorf(err, -ENOMEM, "out of memory");
    n = (size_t)snprintf(h->base, sizeof h->base, "%s", base);
    if (n >= sizeof h->base) {
        cpn_free(h);
        return cpn_errorf(err, CPN_EUSAGE, "platform address longer than %zu bytes",
                          sizeof h->base - 1);
    }
    while (n > 0 && h->base[n - 1] == '/')
        h->base[--n] = '\0';
    if (token && *token &&
        (size_t)snprintf(h->auth, sizeof h->auth, "Authorization: Bearer %s", token) >=
            sizeof h->auth) {
        cpn_free(h);
        return cpn_errorf(err, CPN_EUSAGE, "the token is longer than %zu bytes",
                          sizeof h->auth - 32);
    }
    h->stop = stop;
    /* reference-counted and thread-safe in libcurl >= 7.84; paired with the cleanup in close */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        cpn_free(h);
        return cpn_errorf(err, -ENOMEM, "libcurl could not be initialised");
    }
    h->curl = curl_easy_init();
    if (!h->curl) {
        curl_global_cleanup();
        cpn_free(h);
        return cpn_errorf(err, -ENOMEM, "libcurl could not be initialised");
    }
    *out = h;
    return 0;
}

void agt_http_close(struct agt_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    curl_global_cleanup();
    memset(h->auth, 0, sizeof h->auth);
    cpn_free(h);
}

struct sink {
    struct cpn_buf b;
    bool too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct sink *s = ctx;
    if (cpn_buf_append(&s->b, p, size * n) != 0) {
        s->too_big = true;
        return 0;
    }
    return size * n;
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    volatile sig_atomic_t *stop = ctx;
    (void)dt, (void)dn, (void)ut, (void)un;
    return stop && *stop ? 1 : 0;
}

int agt_http_call(struct agt_http *h,
                  const char *method,
                  const char *path,
                  const char *body,
                  long timeout_s,
                  struct agt_reply *r)
{
    char url[2048], errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hd = NULL, *t;
    struct sink sink = { .b = { .limit = AGT_BODY_MAX } };
    const char *lines[4];
    size_t nl = 0;
    CURLcode cc;
    memset(r, 0, sizeof *r);
    if ((size_t)snprintf(url, sizeof url, "%s%s", h->base, path) >= sizeof url) {
        snprintf(r->error, sizeof r->error, "%s %.200s: URL too long", method, path);
        return -EIO;
    }
    lines[nl++] = "Accept: application/json, application/problem+json";
    lines[nl++] = "Expect:";
    if (body)
        lines[nl++] = "Content-Type: application/json";
    if (h->auth[0])
        lines[nl++] = h->auth;
    for (size_t i = 0; i < nl; i++) {
        t = curl_slist_append(hd, lines[i]);
        if (!t) {
            curl_slist_free_all(hd);
            snprintf(r->error, sizeof r->error, "out of memory");
            return -EIO;
        }
        hd = t;
    }
    curl_easy_reset(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 30L);
    curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "cpnet-agent/" CPN_AGENT_VERSION);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, (void *)(uintptr_t)h->stop);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (body) {
        curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else {
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    }
    cc = curl_easy_perform(h->curl);
    curl_slist_free_all(hd);
    if (cc != CURLE_OK) {
        int rc = cc == CURLE_ABORTED_BY_CALLBACK ? -EINTR : -EIO;
        if (sink.too_big)
            snprintf(r->error, sizeof r->error, "%s %.200s: answer larger than %u MiB", method,
                     path, AGT_BODY_MAX >> 20);
        else
            snprintf(r->error, sizeof r->error, "%.8s %.300s%.200s: %.200s", method, h->base, path,
                     errbuf[0] ? errbuf : curl_easy_strerror(cc));
        cpn_buf_free(&sink.b);
        return rc;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (sink.b.len)
        r->json = json_loadb(sink.b.data, sink.b.len, 0, NULL);
    if (!r->json && r->status >= 200 && r->status < 300)
        snprintf(r->error, sizeof r->error, "%s %.200s: %ld answer is not JSON", method, path,
                 r->status);
    cpn_buf_free(&sink.b);
    return 0;
}

void agt_reply_free(struct agt_reply *r)
{
    if (!r)
        return;
    json_decref(r->json);
    r->json = NULL;
}

bool agt_retryable(int rc, const struct agt_reply *r)
{
    if (rc)
        return rc != -EINTR;
    return r->status == 408 || r->status == 429 || r->status >= 500 || r->status < 200;
}

void agt_reply_why(const struct agt_reply *r, char *out, size_t size)
{
    const char *detail = json_string_value(json_object_get(r->json, "detail"));
    const char *title = json_string_value(json_object_get(r->json, "title"));
    if (r->error[0] && !r->status)
        snprintf(out, size, "%s", r->error);
    else if (detail || title)
        snprintf(out, size, "%ld %s%s%s", r->status, title ? title : "", detail ? ": " : "",
                 detail ? detail : "");
    else if (r->error[0])
        snprintf(out, size, "%s", r->error);
    else
        snprintf(out, size, "HTTP %ld", r->status);
}
