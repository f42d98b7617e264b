/* SPDX-License-Identifier: Apache-2.0 */
/* Who is asking, and may they: bearer-token authentication against the store (hashed tokens),
 * the role matrix (operator: everything; tenant: its own jobs and quotes and the read-only
 * network; provider: its clusters' registration and telemetry and the read-only network; peer:
 * the read-only network, kept for federation), and a token bucket per token for rate limits. */
#include <string.h>

#include "serve_int.h"

static int rate_check(struct cpn_server *s, struct srv_cmd *c, const char *token_id)
{
    struct srv_bucket *b;
    int32_t i;
    int64_t now = cpn_monotonic_ns();
    double burst = s->cfg.rate_burst > 0 ? s->cfg.rate_burst : 2 * s->cfg.rate_per_s;
    if (s->cfg.rate_per_s <= 0)
        return 0;
    i = cpn_strmap_get(&s->bucket_ids, token_id);
    if (i < 0) {
        size_t n = s->nbuckets;
        if (cpn_grow(&s->buckets, &s->buckets_cap, n + 1, sizeof *s->buckets))
            return 0; /* without memory for a bucket the request is not limited */
        /* the map keeps pointers to the keys: rebuild it after the array moved */
        memset(&s->buckets[n], 0, sizeof s->buckets[n]);
        cpn_strlcpy(s->buckets[n].token_id, token_id, sizeof s->buckets[n].token_id);
        s->buckets[n].tokens = burst;
        s->buckets[n].last_ns = now;
        s->nbuckets++;
        cpn_strmap_free(&s->bucket_ids);
        for (size_t k = 0; k < s->nbuckets; k++)
            cpn_strmap_put(&s->bucket_ids, s->buckets[k].token_id, (int32_t)k);
        i = (int32_t)n;
    }
    b = &s->buckets[i];
    b->tokens += (double)(now - b->last_ns) / 1e9 * s->cfg.rate_per_s;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last_ns = now;
    if (b->tokens < 1.0) {
        double wait = (1.0 - b->tokens) / s->cfg.rate_per_s;
        int secs = (int)wait + 1;
        srv_problem(c, 429, NULL,
                    "rate limit of %.0f requests per second for this token exceeded; retry in %d s",
                    s->cfg.rate_per_s, secs);
        snprintf(c->resp.headers, sizeof c->resp.headers, "Retry-After: %d\n", secs);
        return -1;
    }
    b->tokens -= 1.0;
    return 0;
}

/* Checks a token against the store, remembering a success for SRV_TOKEN_TTL_NS. */
static int token_check(struct cpn_server *s, const char *token, struct cpn_token_rec *rec)
{
    struct srv_token_cache *e = &s->tokens[cpn_hash_str(token) % SRV_TOKEN_CACHE];
    int64_t now = cpn_monotonic_ns();
    int rc;
    if (e->checked_ns && now - e->checked_ns < SRV_TOKEN_TTL_NS && !strcmp(e->token, token)) {
        *rec = e->rec;
        return 0;
    }
    rc = cpn_store_token_check(s->store, token, rec);
    if (rc == 0 && cpn_strlcpy(e->token, token, sizeof e->token) == 0) {
        e->rec = *rec;
        e->checked_ns = now;
    }
    return rc;
}

int srv_authenticate(struct cpn_server *s, struct srv_cmd *c, struct srv_principal *who)
{
    char token[CPN_TOKEN_MAX];
    struct cpn_token_rec rec;
    if (!c->req->authorization[0]) {
        srv_problem(c, 401, "Authorization",
                    "a bearer token is required: header 'Authorization: Bearer cpn_...'");
        snprintf(c->resp.headers, sizeof c->resp.headers, "WWW-Authenticate: Bearer\n");
        return -1;
    }
    if (cpn_bearer_token(c->req->authorization, token, sizeof token) != 0 ||
        token_check(s, token, &rec) != 0) {
        srv_problem(c, 401, "Authorization",
                    "the bearer token is not valid (unknown, revoked "
                    "or malformed)");
        snprintf(c->resp.headers, sizeof c->resp.headers,
                 "WWW-Authenticate: Bearer error=\"invalid_token\"\n");
        return -1;
    }
    who->role = rec.role;
    cpn_strlcpy(who->subject, rec.subject, sizeof who->subject);
    cpn_strlcpy(who->token_id, rec.id, sizeof who->token_id);
    return rate_check(s, c, rec.id);
}

bool srv_is_operator(const struct srv_principal *who)
{
    return who->role == CPN_ROLE_OPERATOR;
}

bool srv_may_see_job(const struct srv_principal *who, const struct srv_job *j)
{
    if (who->role == CPN_ROLE_OPERATOR)
        return true;
    return who->role == CPN_ROLE_TENANT && strcmp(who->subject, j->tenant) == 0;
}

/* A provider token's subject lists the cluster ids it may manage, separated by commas. */
bool srv_provider_owns(const struct srv_principal *who, const char *cluster_id)
{
    const char *p = who->subject;
    size_t n = strlen(cluster_id);
    if (who->role == CPN_ROLE_OPERATOR)
        return true;
    if (who->role != CPN_ROLE_PROVIDER)
        return false;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, cluster_id, n) == 0)
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}
