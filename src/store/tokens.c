/* SPDX-License-Identifier: Apache-2.0 */
/* API tokens. A token is "cpn_<id>_<secret>": the id (8 random bytes as 16 lowercase hex) finds
 * the row, the secret (32 random bytes as 43 base64url characters) is what proves possession. Only
 * SHA-256 of the secret text is stored, so a copy of the database does not grant access; a check
 * hashes the presented secret and compares in constant time, and hashes even when the id is
 * unknown so that timing does not tell which part was wrong. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

#define ID_BYTES     8
#define SECRET_BYTES 32
#define SECRET_LEN   43 /* base64url of 32 bytes, no padding */
#define TOKEN_LEN    (4 + CPN_TOKEN_ID_LEN + 1 + SECRET_LEN)
#define TOKEN_COLS   "id, role, subject, note, created_s, revoked_s, hash"
#define CREATE_TRIES 4

static const char *const role_names[CPN_ROLE_COUNT] = { "operator", "tenant", "provider", "peer" };

const char *cpn_role_name(enum cpn_role r)
{
    return (unsigned)r < CPN_ROLE_COUNT ? role_names[r] : "unknown";
}

int cpn_role_parse(const char *s, enum cpn_role *out)
{
    for (int i = 0; s && i < CPN_ROLE_COUNT; i++)
        if (!strcmp(s, role_names[i])) {
            *out = (enum cpn_role)i;
            return 0;
        }
    return -EINVAL;
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static void b64url_encode(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
        out[o++] = a[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
    }
    out[o] = '\0';
}

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

static bool ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    volatile uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= a[i] ^ b[i];
    return d == 0;
}

static int check_text(const char *v, size_t max, const char *field, struct cpn_error *err)
{
    if (v && strnlen(v, max) >= max)
        return cpn_errorf(err, CPN_EFIELD,
                          "store: token create: %s '%.40s...' is too long, expected at most %zu "
                          "bytes",
                          field, v, max - 1);
    return 0;
}

static int insert(struct cpn_store *st, const struct cpn_token_rec *r, struct cpn_error *err)
{
    sqlite3_stmt *s;
    int rc = cpn_store__stmt(
        st, CPN_SL_TOKEN_INSERT,
        "INSERT INTO tokens(" TOKEN_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, NULL, ?6)", &s, err);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, cpn_role_name(r->role), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, r->note, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, r->created_s);
    sqlite3_bind_blob(s, 6, r->hash, sizeof r->hash, SQLITE_STATIC);
    rc = sqlite3_step(s);
    rc = rc == SQLITE_DONE ? 0 : cpn_store__err(st->db, rc, err, "token create '%s'", r->id);
    cpn_store__release(st, CPN_SL_TOKEN_INSERT, s);
    return rc;
}

int cpn_store_token_create(struct cpn_store *st,
                           enum cpn_role role,
                           const char *subject,
                           const char *note,
                           int64_t now_s,
                           char *token,
                           struct cpn_token_rec *out,
                           struct cpn_error *err)
{
    struct cpn_token_rec r;
    uint8_t idb[ID_BYTES], secret[SECRET_BYTES];
    char text[SECRET_LEN + 1];
    int rc;
    if ((unsigned)role >= CPN_ROLE_COUNT)
        return cpn_errorf(err, CPN_EFIELD,
                          "store: token create: role %d, expected operator, tenant, provider or "
                          "peer",
                          (int)role);
    if (role != CPN_ROLE_OPERATOR && (!subject || !*subject))
        return cpn_errorf(err, CPN_EFIELD,
                          "store: token create: a %s token needs a subject (%s), none given",
                          cpn_role_name(role),
                          role == CPN_ROLE_TENANT     ? "the tenant id"
                          : role == CPN_ROLE_PROVIDER ? "its cluster ids, comma-separated"
                                                      : "the peer id");
    rc = check_text(subject, sizeof r.subject, "subject", err);
    if (!rc)
        rc = check_text(note, sizeof r.note, "note", err);
    if (rc)
        return rc;
    memset(&r, 0, sizeof r);
    r.role = role;
    cpn_strlcpy(r.subject, subject ? subject : "", sizeof r.subject);
    cpn_strlcpy(r.note, note ? note : "", sizeof r.note);
    r.created_s = now_s;
    rc = -EEXIST;
    /* A colliding id (2^-64 per pair) is retried with fresh randomness. */
    for (int t = 0; t < CREATE_TRIES && rc == -EEXIST; t++) {
        rc = cpn_random_bytes(idb, sizeof idb);
        if (!rc)
            rc = cpn_random_bytes(secret, sizeof secret);
        if (rc) {
            rc = cpn_errorf(err, rc, "store: token create: getrandom: %s", cpn_strerror(rc));
            break;
        }
        hex_encode(idb, sizeof idb, r.id);
        b64url_encode(secret, sizeof secret, text);
        cpn_sha256(text, SECRET_LEN, r.hash);
        rc = insert(st, &r, err);
    }
    if (!rc) {
        snprintf(token, CPN_TOKEN_MAX, "cpn_%s_%s", r.id, text);
        if (out)
            *out = r;
    }
    wipe(secret, sizeof secret);
    wipe(text, sizeof text);
    return rc;
}

static bool is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static bool well_formed(const char *t)
{
    if (!t || strnlen(t, TOKEN_LEN + 1) != TOKEN_LEN || memcmp(t, "cpn_", 4) != 0 ||
        t[4 + CPN_TOKEN_ID_LEN] != '_')
        return false;
    for (int i = 4; i < 4 + CPN_TOKEN_ID_LEN; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return false;
    for (int i = 4 + CPN_TOKEN_ID_LEN + 1; i < TOKEN_LEN; i++)
        if (!is_b64url(t[i]))
            return false;
    return true;
}

/* Fills r from a TOKEN_COLS row. */
static int
row_to_rec(struct cpn_store *st, sqlite3_stmt *s, struct cpn_token_rec *r, struct cpn_error *err)
{
    const void *h;
    memset(r, 0, sizeof *r);
    if (cpn_store__col_copy(s, 0, r->id, sizeof r->id) ||
        cpn_store__col_copy(s, 2, r->subject, sizeof r->subject) ||
        cpn_store__col_copy(s, 3, r->note, sizeof r->note))
        return cpn_errorf(err, CPN_ELIMIT, "store: token '%.16s': a stored field is too long",
                          (const char *)sqlite3_column_text(s, 0));
    if (cpn_role_parse((const char *)sqlite3_column_text(s, 1), &r->role) != 0)
        return cpn_errorf(err, CPN_EFIELD,
                          "store: token '%s': stored role '%s', expected operator, tenant, "
                          "provider or peer",
                          r->id, (const char *)sqlite3_column_text(s, 1));
    r->created_s = sqlite3_column_int64(s, 4);
    r->revoked_s = sqlite3_column_int64(s, 5);
    h = sqlite3_column_blob(s, 6);
    if (!h || sqlite3_column_bytes(s, 6) != (int)sizeof r->hash)
        return cpn_store__err(st->db, h ? SQLITE_CORRUPT : sqlite3_errcode(st->db), err,
                              "token '%s': stored hash is not 32 bytes", r->id);
    memcpy(r->hash, h, sizeof r->hash);
    return 0;
}

int cpn_store_token_check(struct cpn_store *st, const char *token, struct cpn_token_rec *out)
{
    static const uint8_t no_hash[32] = { 0 };
    struct cpn_token_rec r;
    uint8_t h[32];
    char id[CPN_TOKEN_ID_LEN + 1];
    sqlite3_stmt *s;
    bool found, ok;
    int rc;
    if (!well_formed(token))
        return -EACCES;
    memcpy(id, token + 4, CPN_TOKEN_ID_LEN);
    id[CPN_TOKEN_ID_LEN] = '\0';
    rc = cpn_store__stmt(st, CPN_SL_TOKEN_GET, "SELECT " TOKEN_COLS " FROM tokens WHERE id = ?1",
                         &s, NULL);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    found = rc == SQLITE_ROW;
    if (found)
        rc = row_to_rec(st, s, &r, NULL);
    else if (rc == SQLITE_DONE)
        rc = 0;
    else
        rc = cpn_store__err(st->db, rc, NULL, "token check '%s'", id);
    cpn_store__release(st, CPN_SL_TOKEN_GET, s);
    if (rc)
        return rc;
    cpn_sha256(token + 4 + CPN_TOKEN_ID_LEN + 1, SECRET_LEN, h);
    ok = ct_equal(h, found ? r.hash : no_hash, sizeof h);
    if (!found || !ok || r.revoked_s != 0)
        return -EACCES;
    if (out)
        *out = r;
    return 0;
}

int cpn_store_token_revoke(struct cpn_store *st,
                           const char *id,
                           int64_t now_s,
                           struct cpn_error *err)
{
    sqlite3_stmt *s;
    int rc, changed;
    rc = cpn_store__stmt(st, CPN_SL_TOKEN_REVOKE,
                         "UPDATE tokens SET revoked_s = ?2 WHERE id = ?1 AND revoked_s IS NULL", &s,
                         err);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_s);
    rc = sqlite3_step(s);
    rc = rc == SQLITE_DONE ? 0 : cpn_store__err(st->db, rc, err, "token revoke '%s'", id);
    changed = sqlite3_changes(st->db);
    cpn_store__release(st, CPN_SL_TOKEN_REVOKE, s);
    if (rc || changed)
        return rc;
    /* Nothing changed: either already revoked (keep the first time; success) or unknown. */
    rc = cpn_store__stmt(st, CPN_SL_TOKEN_REVOKED, "SELECT 1 FROM tokens WHERE id = ?1", &s, err);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = 0;
    else if (rc == SQLITE_DONE)
        rc = cpn_errorf(err, -ENOENT, "store: token revoke '%s': no such token", id);
    else
        rc = cpn_store__err(st->db, rc, err, "token revoke '%s'", id);
    cpn_store__release(st, CPN_SL_TOKEN_REVOKED, s);
    return rc;
}

int cpn_store_tokens_each(struct cpn_store *st,
                          cpn_store_token_fn fn,
                          void *ctx,
                          struct cpn_error *err)
{
    sqlite3_stmt *s;
    int rc = cpn_store__stmt(st, CPN_SL_TOKENS_EACH,
                             "SELECT " TOKEN_COLS " FROM tokens ORDER BY created_s, id", &s, err);
    if (rc)
        return rc;
    for (;;) {
        struct cpn_token_rec r;
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
            rc = 0;
            break;
        }
        if (rc != SQLITE_ROW) {
            rc = cpn_store__err(st->db, rc, err, "tokens list");
            break;
        }
        rc = row_to_rec(st, s, &r, err);
        if (!rc)
            rc = fn(ctx, &r);
        if (rc)
            break;
    }
    cpn_store__release(st, CPN_SL_TOKENS_EACH, s);
    return rc;
}
