/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet/store.h: durable platform state. The embedded default is one SQLite database in WAL mode
 * (DIR/cpnet.db) with synchronous=FULL, so a committed transaction survives kill -9 and power loss;
 * the schema is versioned and migrated forward on open. The service's event loop is the only
 * writer: it opens a transaction, applies a batch of writes, commits once (group commit) and only
 * then answers the requests of that batch.
 *
 * Records are small typed rows plus a JSON document (the job's spec, placement and history; a
 * cluster's registration; a telemetry report; a signal series), so that later components can add
 * fields without a migration. Thread: one thread per struct cpn_store. */
#ifndef CPNET_STORE_H
#define CPNET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpnet/util.h"

struct cpn_store;

/* Opens (creating when absent) DIR/cpnet.db, sets WAL + synchronous=FULL + foreign keys, and
 * migrates the schema to the newest version. DIR must exist. Free with cpn_store_close(). */
int cpn_store_open(const char *dir, struct cpn_store **out, struct cpn_error *err);
void cpn_store_close(struct cpn_store *st);
/* The schema version after open (PRAGMA user_version). */
int cpn_store_schema_version(struct cpn_store *st);

/* One write transaction (BEGIN IMMEDIATE .. COMMIT). Reads work inside and outside one. */
int cpn_store_begin(struct cpn_store *st, struct cpn_error *err);
int cpn_store_commit(struct cpn_store *st, struct cpn_error *err);
void cpn_store_rollback(struct cpn_store *st);

/* ---- jobs -------------------------------------------------------------------------------------
 */
#define CPN_STORE_ID_MAX    64
#define CPN_STORE_IDEM_MAX  128
#define CPN_STORE_STATE_MAX 16

struct cpn_store_job {
    char id[CPN_STORE_ID_MAX]; /* global job id */
    char tenant[CPN_STORE_ID_MAX];
    char idem_key[CPN_STORE_IDEM_MAX]; /* "" when none; (tenant, idem_key) is unique otherwise */
    char state[CPN_STORE_STATE_MAX];   /* "placed", "queued", "rejected", "cancelled", ... */
    char cluster[CPN_STORE_ID_MAX];    /* "" when not placed; for listing by cluster */
    int64_t created_s;
    int64_t updated_s;
    char *doc; /* JSON text: owned by the struct when returned by the store */
};
/* Inserts or replaces the job with this id (doc is borrowed). -EEXIST when another job of the
 * tenant has the same idem_key; CPN_EFIELD for an empty id, tenant or state, a field too long for
 * its array, or a NULL doc. */
int cpn_store_job_put(struct cpn_store *st, const struct cpn_store_job *job, struct cpn_error *err);
/* Reads a job by id; -ENOENT when absent. out->doc is allocated: cpn_store_job_clear() frees it. */
int cpn_store_job_get(struct cpn_store *st,
                      const char *id,
                      struct cpn_store_job *out,
                      struct cpn_error *err);
/* Finds a tenant's job by idempotency key; -ENOENT when absent. */
int cpn_store_job_by_idem(struct cpn_store *st,
                          const char *tenant,
                          const char *key,
                          struct cpn_store_job *out,
                          struct cpn_error *err);
void cpn_store_job_clear(struct cpn_store_job *job);

struct cpn_store_job_filter {
    const char *tenant;   /* NULL = all */
    const char *state;    /* NULL = all */
    const char *cluster;  /* NULL = all */
    const char *after_id; /* keyset pagination: ids greater than this, NULL = from the start */
    size_t limit;         /* 0 = no limit */
};
/* Calls fn for each matching job in id order; fn's job (and its doc) is borrowed for the call.
 * A non-zero return from fn stops the walk and is returned. */
typedef int (*cpn_store_job_fn)(void *ctx, const struct cpn_store_job *job);
int cpn_store_jobs_each(struct cpn_store *st,
                        const struct cpn_store_job_filter *f,
                        cpn_store_job_fn fn,
                        void *ctx,
                        struct cpn_error *err);
/* Number of jobs by state into counts (caller's array), for metrics: *out = the number of jobs in
 * state (NULL = all states); call once per state of interest. */
int cpn_store_job_count(struct cpn_store *st,
                        const char *state,
                        int64_t *out,
                        struct cpn_error *err);

/* ---- documents: clusters, telemetry, signals, settings --------------------------------------- */
/* A keyed JSON document of a kind ("cluster", "telemetry", "signal", ...); put replaces. */
int cpn_store_doc_put(struct cpn_store *st,
                      const char *kind,
                      const char *key,
                      int64_t updated_s,
                      const char *doc,
                      struct cpn_error *err);
/* -ENOENT when absent; *doc allocated (cpn_free). */
int cpn_store_doc_get(
    struct cpn_store *st, const char *kind, const char *key, char **doc, struct cpn_error *err);
/* -ENOENT when absent. */
int cpn_store_doc_delete(struct cpn_store *st,
                         const char *kind,
                         const char *key,
                         struct cpn_error *err);
typedef int (*cpn_store_doc_fn)(void *ctx, const char *key, int64_t updated_s, const char *doc);
int cpn_store_docs_each(
    struct cpn_store *st, const char *kind, cpn_store_doc_fn fn, void *ctx, struct cpn_error *err);

/* ---- tokens
 * ---------------------------------------------------------------------------------------- A token
 * is "cpn_<id>_<secret>": id (16 hex) finds the row, the secret (43 base64url chars, 256 random
 * bits from getrandom) is checked against its SHA-256, compared in constant time. Only the hash is
 * stored. */
#define CPN_TOKEN_ID_LEN 16
#define CPN_TOKEN_MAX    96

enum cpn_role {
    CPN_ROLE_OPERATOR,
    CPN_ROLE_TENANT,
    CPN_ROLE_PROVIDER,
    CPN_ROLE_PEER,
    CPN_ROLE_COUNT
};
const char *cpn_role_name(enum cpn_role r);
int cpn_role_parse(const char *s, enum cpn_role *out);

struct cpn_token_rec {
    char id[CPN_TOKEN_ID_LEN + 1];
    enum cpn_role role;
    char subject[CPN_STORE_ID_MAX]; /* tenant id, provider's cluster ids (','-separated), peer id */
    char note[128];
    int64_t created_s;
    int64_t revoked_s; /* 0 = active */
    uint8_t hash[32];
};
/* Creates a token: writes the secret token text into token[CPN_TOKEN_MAX] and stores its record
 * (the text is never stored). */
int cpn_store_token_create(struct cpn_store *st,
                           enum cpn_role role,
                           const char *subject,
                           const char *note,
                           int64_t now_s,
                           char *token,
                           struct cpn_token_rec *out,
                           struct cpn_error *err);
/* Checks a presented token: 0 and *out when it is valid and not revoked; -EACCES otherwise
 * (unknown id, wrong secret, revoked, malformed) without saying which. A storage failure is
 * returned as itself (-EIO, -EBUSY, -ENOMEM), not as -EACCES: the caller answers 5xx, not 401. */
int cpn_store_token_check(struct cpn_store *st, const char *token, struct cpn_token_rec *out);
/* -ENOENT for an unknown id; revoking a revoked token succeeds and keeps the first time. */
int cpn_store_token_revoke(struct cpn_store *st,
                           const char *id,
                           int64_t now_s,
                           struct cpn_error *err);
typedef int (*cpn_store_token_fn)(void *ctx, const struct cpn_token_rec *rec);
int cpn_store_tokens_each(struct cpn_store *st,
                          cpn_store_token_fn fn,
                          void *ctx,
                          struct cpn_error *err);

/* SHA-256 (FIPS 180-4) of n bytes; out[32]. */
void cpn_sha256(const void *data, size_t n, uint8_t out[32]);
/* n random bytes from the kernel (getrandom); 0 or -errno. */
int cpn_random_bytes(void *buf, size_t n);

#endif
