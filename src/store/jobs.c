/* SPDX-License-Identifier: Apache-2.0 */
/* Jobs: one row per job with the columns the service filters on (tenant, idempotency key, state,
 * cluster, times) and the job's whole record as JSON text. A put is an upsert on the id that never
 * replaces another job: a second job with a tenant's idempotency key fails with -EEXIST (the
 * unique index jobs_idem), which is how duplicate submissions are caught even across restarts.
 * Listing is keyset pagination (id > after ORDER BY id LIMIT n), one cached statement per
 * combination of filters, each served by an index ending in id. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

#define JOB_COLS "id, tenant, idem_key, state, cluster, created_s, updated_s, doc"

enum {
    F_TENANT = 1,
    F_STATE = 2,
    F_CLUSTER = 4,
    F_AFTER = 8
};

static int check_text(const char *v,
                      size_t max,
                      bool required,
                      const char *field,
                      const char *id,
                      struct cpn_error *err)
{
    if (required && (!v || !*v))
        return cpn_errorf(err, CPN_EFIELD, "store: job put '%s': %s is empty, expected a value",
                          id ? id : "", field);
    if (v && strnlen(v, max) >= max)
        return cpn_errorf(err, CPN_EFIELD,
                          "store: job put '%.64s': %s '%.64s...' is too long, expected at most %zu "
                          "bytes",
                          id ? id : "", field, v, max - 1);
    return 0;
}

static int check_job(const struct cpn_store_job *j, struct cpn_error *err)
{
    int rc = check_text(j->id, sizeof j->id, true, "id", "", err);
    if (!rc)
        rc = check_text(j->tenant, sizeof j->tenant, true, "tenant", j->id, err);
    if (!rc)
        rc = check_text(j->idem_key, sizeof j->idem_key, false, "idem_key", j->id, err);
    if (!rc)
        rc = check_text(j->state, sizeof j->state, true, "state", j->id, err);
    if (!rc)
        rc = check_text(j->cluster, sizeof j->cluster, false, "cluster", j->id, err);
    if (!rc && !j->doc)
        rc = cpn_errorf(err, CPN_EFIELD, "store: job put '%s': doc is NULL, expected JSON text",
                        j->id);
    return rc;
}

int cpn_store_job_put(struct cpn_store *st, const struct cpn_store_job *job, struct cpn_error *err)
{
    static const char sql[] =
        "INSERT INTO jobs(" JOB_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT(id) DO UPDATE SET tenant = excluded.tenant, idem_key = excluded.idem_key, "
        "state = excluded.state, cluster = excluded.cluster, created_s = excluded.created_s, "
        "updated_s = excluded.updated_s, doc = excluded.doc";
    sqlite3_stmt *s;
    int rc = check_job(job, err);
    if (rc)
        return rc;
    rc = cpn_store__stmt(st, CPN_SL_JOB_PUT, sql, &s, err);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, job->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, job->tenant, -1, SQLITE_STATIC);
    cpn_store__bind_text_or_null(s, 3, job->idem_key);
    sqlite3_bind_text(s, 4, job->state, -1, SQLITE_STATIC);
    cpn_store__bind_text_or_null(s, 5, job->cluster);
    sqlite3_bind_int64(s, 6, job->created_s);
    sqlite3_bind_int64(s, 7, job->updated_s);
    rc = sqlite3_bind_text(s, 8, job->doc, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (job->idem_key[0])
        rc = cpn_store__err(st->db, rc, err, "job put '%s' (tenant '%s', idempotency key '%s')",
                            job->id, job->tenant, job->idem_key);
    else
        rc = cpn_store__err(st->db, rc, err, "job put '%s' (tenant '%s')", job->id, job->tenant);
    cpn_store__release(st, CPN_SL_JOB_PUT, s);
    return rc;
}

/* Fills j from the current row of a JOB_COLS statement; j->doc is left to the caller. */
static int row_to_job(sqlite3_stmt *s, struct cpn_store_job *j, struct cpn_error *err)
{
    static const char *const names[] = { "id", "tenant", "idem_key", "state", "cluster" };
    char *dst[] = { j->id, j->tenant, j->idem_key, j->state, j->cluster };
    size_t size[] = { sizeof j->id, sizeof j->tenant, sizeof j->idem_key, sizeof j->state,
                      sizeof j->cluster };
    for (int c = 0; c < 5; c++)
        if (cpn_store__col_copy(s, c, dst[c], size[c]) != 0)
            return cpn_errorf(err, CPN_ELIMIT,
                              "store: job '%s': stored %s is longer than %zu bytes (written by "
                              "another program?)",
                              j->id, names[c], size[c] - 1);
    j->created_s = sqlite3_column_int64(s, 5);
    j->updated_s = sqlite3_column_int64(s, 6);
    j->doc = NULL;
    return 0;
}

/* Steps a single-row job query and copies the row, doc included, into out. */
static int get_one(struct cpn_store *st,
                   int slot,
                   sqlite3_stmt *s,
                   struct cpn_store_job *out,
                   const char *what,
                   struct cpn_error *err)
{
    struct cpn_store_job j;
    const unsigned char *doc;
    size_t n;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        rc = cpn_errorf(err, -ENOENT, "store: %s: no such job", what);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        rc = cpn_store__err(st->db, rc, err, "%s", what);
        goto out;
    }
    rc = row_to_job(s, &j, err);
    if (rc)
        goto out;
    doc = sqlite3_column_text(s, 7);
    if (!doc && sqlite3_errcode(st->db) == SQLITE_NOMEM) {
        rc = cpn_store__err(st->db, SQLITE_NOMEM, err, "%s", what);
        goto out;
    }
    n = doc ? (size_t)sqlite3_column_bytes(s, 7) : 0;
    j.doc = cpn_malloc(n + 1);
    if (!j.doc) {
        rc = cpn_errorf(err, -ENOMEM, "store: %s: out of memory for a %zu-byte document", what, n);
        goto out;
    }
    if (n)
        memcpy(j.doc, doc, n);
    j.doc[n] = '\0';
    *out = j;
    rc = 0;
out:
    cpn_store__release(st, slot, s);
    return rc;
}

int cpn_store_job_get(struct cpn_store *st,
                      const char *id,
                      struct cpn_store_job *out,
                      struct cpn_error *err)
{
    char what[128];
    sqlite3_stmt *s;
    int rc =
        cpn_store__stmt(st, CPN_SL_JOB_GET, "SELECT " JOB_COLS " FROM jobs WHERE id = ?1", &s, err);
    if (rc)
        return rc;
    snprintf(what, sizeof what, "job get '%.96s'", id);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    return get_one(st, CPN_SL_JOB_GET, s, out, what, err);
}

int cpn_store_job_by_idem(struct cpn_store *st,
                          const char *tenant,
                          const char *key,
                          struct cpn_store_job *out,
                          struct cpn_error *err)
{
    char what[224];
    sqlite3_stmt *s;
    int rc;
    snprintf(what, sizeof what, "job by idempotency key '%.96s' of tenant '%.64s'", key ? key : "",
             tenant ? tenant : "");
    if (!tenant || !key || !*key)
        return cpn_errorf(err, -ENOENT, "store: %s: no such job", what);
    rc = cpn_store__stmt(st, CPN_SL_JOB_BY_IDEM,
                         "SELECT " JOB_COLS " FROM jobs WHERE tenant = ?1 AND idem_key = ?2", &s,
                         err);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    return get_one(st, CPN_SL_JOB_BY_IDEM, s, out, what, err);
}

void cpn_store_job_clear(struct cpn_store_job *job)
{
    if (!job)
        return;
    cpn_free(job->doc);
    memset(job, 0, sizeof *job);
}

int cpn_store_jobs_each(struct cpn_store *st,
                        const struct cpn_store_job_filter *f,
                        cpn_store_job_fn fn,
                        void *ctx,
                        struct cpn_error *err)
{
    static const struct cpn_store_job_filter all = { 0 };
    char sql[384];
    sqlite3_stmt *s;
    int mask, slot, rc;
    if (!f)
        f = &all;
    mask = (f->tenant ? F_TENANT : 0) | (f->state ? F_STATE : 0) | (f->cluster ? F_CLUSTER : 0) |
           (f->after_id ? F_AFTER : 0);
    slot = CPN_SL_JOBS_EACH + mask;
    /* "cluster IS ?3" matches unplaced jobs (stored as NULL) when the filter is "", and still
     * uses the index jobs_cluster. */
    snprintf(sql, sizeof sql, "SELECT " JOB_COLS " FROM jobs WHERE 1%s%s%s%s ORDER BY id LIMIT ?5",
             mask & F_TENANT ? " AND tenant = ?1" : "", mask & F_STATE ? " AND state = ?2" : "",
             mask & F_CLUSTER ? " AND cluster IS ?3" : "", mask & F_AFTER ? " AND id > ?4" : "");
    rc = cpn_store__stmt(st, slot, sql, &s, err);
    if (rc)
        return rc;
    if (mask & F_TENANT)
        sqlite3_bind_text(s, 1, f->tenant, -1, SQLITE_STATIC);
    if (mask & F_STATE)
        sqlite3_bind_text(s, 2, f->state, -1, SQLITE_STATIC);
    if (mask & F_CLUSTER)
        cpn_store__bind_text_or_null(s, 3, f->cluster);
    if (mask & F_AFTER)
        sqlite3_bind_text(s, 4, f->after_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, f->limit == 0 || f->limit > INT64_MAX ? -1 : (int64_t)f->limit);
    for (;;) {
        struct cpn_store_job j;
        const unsigned char *doc;
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
            rc = 0;
            break;
        }
        if (rc != SQLITE_ROW) {
            rc = cpn_store__err(st->db, rc, err, "jobs list after '%.64s'",
                                f->after_id ? f->after_id : "");
            break;
        }
        rc = row_to_job(s, &j, err);
        if (rc)
            break;
        doc = sqlite3_column_text(s, 7);
        if (!doc) {
            rc = cpn_store__err(st->db, SQLITE_NOMEM, err, "jobs list at '%s'", j.id);
            break;
        }
        /* The callback gets the job as const; the doc is SQLite's row buffer, valid for the call.
         */
        j.doc = (char *)(uintptr_t)doc;
        rc = fn(ctx, &j);
        if (rc)
            break;
    }
    cpn_store__release(st, slot, s);
    return rc;
}

int cpn_store_job_count(struct cpn_store *st,
                        const char *state,
                        int64_t *out,
                        struct cpn_error *err)
{
    int slot = state ? CPN_SL_JOB_COUNT : CPN_SL_JOB_COUNT_ALL;
    sqlite3_stmt *s;
    int rc = cpn_store__stmt(st, slot,
                             state ? "SELECT count(*) FROM jobs WHERE state = ?1"
                                   : "SELECT count(*) FROM jobs",
                             &s, err);
    if (rc)
        return rc;
    if (state)
        sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        rc = 0;
    } else {
        rc = cpn_store__err(st->db, rc, err, "job count in state '%s'", state ? state : "(any)");
    }
    cpn_store__release(st, slot, s);
    return rc;
}
