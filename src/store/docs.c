/* SPDX-License-Identifier: Apache-2.0 */
/* Keyed JSON documents by kind: cluster registrations, the latest telemetry per cluster, signal
 * series, settings. The store does not look inside a document, so a component can add fields
 * without a migration; the key is unique within its kind and a put replaces. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

static int check_key(const char *op, const char *kind, const char *key, struct cpn_error *err)
{
    if (!kind || !*kind || !key || !*key)
        return cpn_errorf(err, CPN_EFIELD,
                          "store: doc %s '%s/%s': kind and key must both be non-empty", op,
                          kind ? kind : "", key ? key : "");
    return 0;
}

int cpn_store_doc_put(struct cpn_store *st,
                      const char *kind,
                      const char *key,
                      int64_t updated_s,
                      const char *doc,
                      struct cpn_error *err)
{
    sqlite3_stmt *s;
    int rc = check_key("put", kind, key, err);
    if (rc)
        return rc;
    if (!doc)
        return cpn_errorf(err, CPN_EFIELD,
                          "store: doc put '%s/%s': doc is NULL, expected JSON text", kind, key);
    rc = cpn_store__stmt(st, CPN_SL_DOC_PUT,
                         "INSERT INTO docs(kind, key, updated_s, doc) VALUES(?1, ?2, ?3, ?4) "
                         "ON CONFLICT(kind, key) DO UPDATE SET updated_s = excluded.updated_s, "
                         "doc = excluded.doc",
                         &s, err);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, updated_s);
    rc = sqlite3_bind_text(s, 4, doc, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    rc = rc == SQLITE_DONE ? 0 : cpn_store__err(st->db, rc, err, "doc put '%s/%s'", kind, key);
    cpn_store__release(st, CPN_SL_DOC_PUT, s);
    return rc;
}

int cpn_store_doc_get(
    struct cpn_store *st, const char *kind, const char *key, char **doc, struct cpn_error *err)
{
    sqlite3_stmt *s;
    const unsigned char *t;
    char *copy;
    size_t n;
    int rc = check_key("get", kind, key, err);
    if (rc)
        return rc;
    rc = cpn_store__stmt(st, CPN_SL_DOC_GET, "SELECT doc FROM docs WHERE kind = ?1 AND key = ?2",
                         &s, err);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        rc = cpn_errorf(err, -ENOENT, "store: doc get '%s/%s': no such document", kind, key);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        rc = cpn_store__err(st->db, rc, err, "doc get '%s/%s'", kind, key);
        goto out;
    }
    t = sqlite3_column_text(s, 0);
    if (!t && sqlite3_errcode(st->db) == SQLITE_NOMEM) {
        rc = cpn_store__err(st->db, SQLITE_NOMEM, err, "doc get '%s/%s'", kind, key);
        goto out;
    }
    n = t ? (size_t)sqlite3_column_bytes(s, 0) : 0;
    copy = cpn_malloc(n + 1);
    if (!copy) {
        rc = cpn_errorf(err, -ENOMEM, "store: doc get '%s/%s': out of memory", kind, key);
        goto out;
    }
    if (n)
        memcpy(copy, t, n);
    copy[n] = '\0';
    *doc = copy;
    rc = 0;
out:
    cpn_store__release(st, CPN_SL_DOC_GET, s);
    return rc;
}

int cpn_store_doc_delete(struct cpn_store *st,
                         const char *kind,
                         const char *key,
                         struct cpn_error *err)
{
    sqlite3_stmt *s;
    int rc = check_key("delete", kind, key, err);
    if (rc)
        return rc;
    rc = cpn_store__stmt(st, CPN_SL_DOC_DELETE, "DELETE FROM docs WHERE kind = ?1 AND key = ?2", &s,
                         err);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        rc = cpn_store__err(st->db, rc, err, "doc delete '%s/%s'", kind, key);
    else if (sqlite3_changes(st->db) == 0)
        rc = cpn_errorf(err, -ENOENT, "store: doc delete '%s/%s': no such document", kind, key);
    else
        rc = 0;
    cpn_store__release(st, CPN_SL_DOC_DELETE, s);
    return rc;
}

int cpn_store_docs_each(
    struct cpn_store *st, const char *kind, cpn_store_doc_fn fn, void *ctx, struct cpn_error *err)
{
    sqlite3_stmt *s;
    int rc;
    if (!kind || !*kind)
        return cpn_errorf(err, CPN_EFIELD, "store: docs list: kind is empty, expected a kind");
    rc = cpn_store__stmt(st, CPN_SL_DOCS_EACH,
                         "SELECT key, updated_s, doc FROM docs WHERE kind = ?1 ORDER BY key", &s,
                         err);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    for (;;) {
        const unsigned char *key, *doc;
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
            rc = 0;
            break;
        }
        if (rc != SQLITE_ROW) {
            rc = cpn_store__err(st->db, rc, err, "docs list of kind '%s'", kind);
            break;
        }
        key = sqlite3_column_text(s, 0);
        doc = sqlite3_column_text(s, 2);
        if (!key || !doc) {
            rc = cpn_store__err(st->db, SQLITE_NOMEM, err, "docs list of kind '%s'", kind);
            break;
        }
        rc = fn(ctx, (const char *)key, sqlite3_column_int64(s, 1), (const char *)doc);
        if (rc)
            break;
    }
    cpn_store__release(st, CPN_SL_DOCS_EACH, s);
    return rc;
}
