/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of src/store and the digests and randomness it uses: SHA-256 against the FIPS 180-4
 * examples, reopen keeps jobs, docs and tokens, idempotency uniqueness, rollback, keyset
 * pagination against a naive filter, tokens, the v1 -> v2 migration, damaged files, allocation
 * failures, and kill -9 of a committing child process (every acknowledged commit must survive).
 * It also prints, without asserting, how fast puts and durable commits are on this disk. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpnet/store.h"
#include "harness.h"
#include "store/store_int.h"

#define DOC_SAMPLE                                                                                 \
    "{\"id\":\"%s\",\"tenant\":\"acme\",\"class\":\"intelligent\",\"device\":\"H800\","            \
    "\"units\":8,\"duration_s\":14400,\"earliest_start\":\"2025-03-01T08:00:00Z\","                \
    "\"deadline\":\"2025-03-02T08:00:00Z\",\"origin\":\"shanghai\",\"max_latency_ms\":40,"         \
    "\"interruptible\":false,\"price_ceiling_fen\":5000000,\"placement\":{\"cluster\":"            \
    "\"qingyang-1\",\"pool\":\"h800\",\"start\":\"2025-03-01T13:00:00Z\",\"energy_kwh\":83.2,"     \
    "\"carbon_kg\":31.4,\"cost_fen\":1876000},\"history\":[{\"t\":\"2025-03-01T07:59:58Z\","       \
    "\"state\":\"placed\"}]}"

/* Every directory a test made, removed at the end when all tests passed (kept for a post-mortem
 * otherwise). */
static char made_dirs[64][256];
static int n_made;

static char *fresh_dir(char *buf, size_t n)
{
    snprintf(buf, n, "%s", t_tmpdir());
    if (n_made < 64)
        snprintf(made_dirs[n_made++], sizeof made_dirs[0], "%s", buf);
    return buf;
}

static void remove_dirs(void)
{
    static const char *const files[] = { "cpnet.db", "cpnet.db-wal", "cpnet.db-shm" };
    char path[300];
    for (int i = 0; i < n_made; i++) {
        for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
            snprintf(path, sizeof path, "%.255s/%s", made_dirs[i], files[f]);
            unlink(path);
        }
        rmdir(made_dirs[i]);
    }
}

static void hex(const uint8_t *h, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static struct cpn_store *open_ok(const char *dir)
{
    struct cpn_error err = { 0 };
    struct cpn_store *st = NULL;
    int rc = cpn_store_open(dir, &st, &err);
    CHECK_MSG(rc == 0, "open %s: %d %s", dir, rc, err.msg);
    return rc == 0 ? st : NULL;
}

static void make_job(struct cpn_store_job *j,
                     const char *id,
                     const char *tenant,
                     const char *idem,
                     const char *state,
                     const char *cluster,
                     int64_t t,
                     char *doc,
                     size_t docn)
{
    memset(j, 0, sizeof *j);
    cpn_strlcpy(j->id, id, sizeof j->id);
    cpn_strlcpy(j->tenant, tenant, sizeof j->tenant);
    cpn_strlcpy(j->idem_key, idem, sizeof j->idem_key);
    cpn_strlcpy(j->state, state, sizeof j->state);
    cpn_strlcpy(j->cluster, cluster, sizeof j->cluster);
    j->created_s = t;
    j->updated_s = t + 1;
    snprintf(doc, docn, DOC_SAMPLE, id);
    j->doc = doc;
}

static int put_job(struct cpn_store *st,
                   const char *id,
                   const char *tenant,
                   const char *idem,
                   const char *state,
                   const char *cluster,
                   struct cpn_error *err)
{
    char doc[1024];
    struct cpn_store_job j;
    make_job(&j, id, tenant, idem, state, cluster, 1740000000, doc, sizeof doc);
    return cpn_store_job_put(st, &j, err);
}

/* ---- digests and randomness ------------------------------------------------------------------ */

static void test_sha256_vectors(void)
{
    static const struct {
        const char *msg;
        const char *hex;
    } v[] = {
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
          "l"
          "mnopqrsmnopqrstnopqrstu",
          "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
    };
    uint8_t h[32];
    char s[65];
    char *million;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cpn_sha256(v[i].msg, strlen(v[i].msg), h);
        hex(h, 32, s);
        CHECK_MSG(!strcmp(s, v[i].hex), "sha256(\"%.20s...\") = %s, expected %s", v[i].msg, s,
                  v[i].hex);
    }
    million = malloc(1000000);
    CHECK(million != NULL);
    if (!million)
        return;
    memset(million, 'a', 1000000);
    cpn_sha256(million, 1000000, h);
    hex(h, 32, s);
    CHECK_STR(s, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

static void test_random_bytes(void)
{
    uint8_t a[32] = { 0 }, b[32] = { 0 }, zero[32] = { 0 };
    CHECK_INT(cpn_random_bytes(a, sizeof a), 0);
    CHECK_INT(cpn_random_bytes(b, sizeof b), 0);
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK(memcmp(a, zero, sizeof a) != 0);
    CHECK_INT(cpn_random_bytes(a, 0), 0);
}

/* ---- open, reopen, pragmas ------------------------------------------------------------------- */

static int pragma_value(struct cpn_store *st, const char *sql, char *out, size_t n)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(s, 0));
    else
        snprintf(out, n, "?");
    sqlite3_finalize(s);
    return rc;
}

static void test_open_pragmas(void)
{
    char dir[256], path[300], v[32];
    struct cpn_store *st;
    struct cpn_error err = { 0 };
    struct stat sb;
    st = open_ok(fresh_dir(dir, sizeof dir));
    if (!st)
        return;
    CHECK_INT(cpn_store_schema_version(st), 2);
    pragma_value(st, "PRAGMA journal_mode", v, sizeof v);
    CHECK_STR(v, "wal");
    pragma_value(st, "PRAGMA synchronous", v, sizeof v);
    CHECK_STR(v, "2"); /* FULL */
    pragma_value(st, "PRAGMA foreign_keys", v, sizeof v);
    CHECK_STR(v, "1");
    cpn_store_close(st);
    snprintf(path, sizeof path, "%s/cpnet.db", dir);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    CHECK_INT(cpn_store_open("build/no/such/dir", &st, &err), -ENOENT);
    CHECK_CONTAINS(err.msg, "build/no/such/dir");
    cpn_store_close(NULL);
}

static int count_token(void *ctx, const struct cpn_token_rec *r)
{
    (void)r;
    ++*(int *)ctx;
    return 0;
}

static void test_reopen_keeps_data(void)
{
    char dir[256], token[CPN_TOKEN_MAX], *doc = NULL;
    struct cpn_error err = { 0 };
    struct cpn_token_rec rec, chk;
    struct cpn_store_job j = { 0 };
    struct cpn_store *st = open_ok(fresh_dir(dir, sizeof dir));
    int n = 0;
    if (!st)
        return;
    CHECK_INT(put_job(st, "job-1", "acme", "k1", "placed", "qingyang-1", &err), 0);
    CHECK_INT(cpn_store_doc_put(st, "cluster", "qingyang-1", 1740000000, "{\"pue\":1.2}", &err), 0);
    CHECK_INT(
        cpn_store_token_create(st, CPN_ROLE_TENANT, "acme", "ci", 1740000000, token, &rec, &err),
        0);
    cpn_store_close(st);
    st = open_ok(dir);
    if (!st)
        return;
    CHECK_INT(cpn_store_job_get(st, "job-1", &j, &err), 0);
    CHECK_STR(j.tenant, "acme");
    CHECK_STR(j.idem_key, "k1");
    CHECK_STR(j.state, "placed");
    CHECK_STR(j.cluster, "qingyang-1");
    CHECK_INT(j.created_s, 1740000000);
    CHECK_INT(j.updated_s, 1740000001);
    CHECK_CONTAINS(j.doc, "\"id\":\"job-1\"");
    cpn_store_job_clear(&j);
    CHECK(j.doc == NULL);
    CHECK_INT(cpn_store_doc_get(st, "cluster", "qingyang-1", &doc, &err), 0);
    CHECK_STR(doc, "{\"pue\":1.2}");
    cpn_free(doc);
    CHECK_INT(cpn_store_token_check(st, token, &chk), 0);
    CHECK_STR(chk.id, rec.id);
    CHECK_INT(chk.role, CPN_ROLE_TENANT);
    CHECK_STR(chk.subject, "acme");
    CHECK_INT(cpn_store_tokens_each(st, count_token, &n, &err), 0);
    CHECK_INT(n, 1);
    cpn_store_close(st);
}

/* ---- jobs ------------------------------------------------------------------------------------ */

static void test_idempotency_unique(void)
{
    char dir[256];
    struct cpn_error err = { 0 };
    struct cpn_store_job j = { 0 };
    struct cpn_store *st = open_ok(fresh_dir(dir, sizeof dir));
    if (!st)
        return;
    CHECK_INT(put_job(st, "a", "acme", "key-1", "placed", "", &err), 0);
    CHECK_INT(put_job(st, "b", "acme", "key-1", "placed", "", &err), -EEXIST);
    CHECK_CONTAINS(err.msg, "job put 'b'");
    CHECK_CONTAINS(err.msg, "idempotency key 'key-1'");
    CHECK_INT(put_job(st, "c", "other", "key-1", "placed", "", &err), 0);
    /* No key: any number of jobs. */
    CHECK_INT(put_job(st, "d", "acme", "", "queued", "", &err), 0);
    CHECK_INT(put_job(st, "e", "acme", "", "queued", "", &err), 0);
    /* Updating a job keeps its own key. */
    CHECK_INT(put_job(st, "a", "acme", "key-1", "running", "c1", &err), 0);
    CHECK_INT(cpn_store_job_by_idem(st, "acme", "key-1", &j, &err), 0);
    CHECK_STR(j.id, "a");
    CHECK_STR(j.state, "running");
    cpn_store_job_clear(&j);
    CHECK_INT(cpn_store_job_by_idem(st, "acme", "key-2", &j, &err), -ENOENT);
    CHECK_CONTAINS(err.msg, "key-2");
    CHECK_INT(cpn_store_job_by_idem(st, "acme", "", &j, &err), -ENOENT);
    /* "b" was never stored. */
    CHECK_INT(cpn_store_job_get(st, "b", &j, &err), -ENOENT);
    cpn_store_close(st);
}

static void test_job_errors(void)
{
    char dir[256], doc[1024], longid[200];
    struct cpn_error err = { 0 };
    struct cpn_store_job j;
    struct cpn_store *st = open_ok(fresh_dir(dir, sizeof dir));
    if (!st)
        return;
    memset(&j, 0x5a, sizeof j);
    CHECK_INT(cpn_store_job_get(st, "missing-7", &j, &err), -ENOENT);
    CHECK_CONTAINS(err.msg, "job get 'missing-7'");
    CHECK_INT((unsigned char)j.id[0], 0x5a); /* out untouched on failure */
    make_job(&j, "x", "", "", "placed", "", 1, doc, sizeof doc);
    CHECK_INT(cpn_store_job_put(st, &j, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "tenant");
    make_job(&j, "x", "t", "", "placed", "", 1, doc, sizeof doc);
    memset(longid, 'q', sizeof longid);
    memcpy(j.id, longid, sizeof j.id); /* not terminated */
    CHECK_INT(cpn_store_job_put(st, &j, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "id");
    make_job(&j, "x", "t", "", "placed", "", 1, doc, sizeof doc);
    j.doc = NULL;
    CHECK_INT(cpn_store_job_put(st, &j, &err), CPN_EFIELD);
    cpn_store_close(st);
}

static void test_rollback(void)
{
    char dir[256];
    struct cpn_error err = { 0 };
    struct cpn_store_job j = { 0 };
    int64_t n = -1;
    struct cpn_store *st = open_ok(fresh_dir(dir, sizeof dir));
    if (!st)
        return;
    CHECK_INT(cpn_store_commit(st, &err), -EINVAL);
    CHECK_INT(cpn_store_begin(st, &err), 0);
    CHECK_INT(cpn_store_begin(st, &err), -EINVAL);
    CHECK_INT(put_job(st, "r1", "acme", "k", "placed", "", &err), 0);
    CHECK_INT(cpn_store_doc_put(st, "signal", "zone-a", 5, "[]", &err), 0);
    CHECK_INT(cpn_store_job_get(st, "r1", &j, &err), 0); /* visible inside */
    cpn_store_job_clear(&j);
    cpn_store_rollback(st);
    CHECK_INT(cpn_store_job_get(st, "r1", &j, &err), -ENOENT);
    CHECK_INT(cpn_store_job_count(st, NULL, &n, &err), 0);
    CHECK_INT(n, 0);
    {
        char *doc = NULL;
        CHECK_INT(cpn_store_doc_get(st, "signal", "zone-a", &doc, &err), -ENOENT);
    }
    cpn_store_rollback(st); /* no transaction: nothing happens */
    /* A committed batch stays. */
    CHECK_INT(cpn_store_begin(st, &err), 0);
    CHECK_INT(put_job(st, "r2", "acme", "k", "placed", "", &err), 0);
    CHECK_INT(cpn_store_commit(st, &err), 0);
    CHECK_INT(cpn_store_job_count(st, "placed", &n, &err), 0);
    CHECK_INT(n, 1);
    cpn_store_close(st);
}

#define NJOBS 60

struct walk {
    char ids[NJOBS][16];
    int n;
    int stop_at; /* stop (return 7) after this many, or -1 */
    struct cpn_store *nest;
};

static int collect(void *ctx, const struct cpn_store_job *j)
{
    struct walk *w = ctx;
    if (w->n < NJOBS)
        cpn_strlcpy(w->ids[w->n], j->id, sizeof w->ids[0]);
    w->n++;
    if (!strstr(j->doc, j->id))
        return -99;
    if (w->nest) {
        /* A callback may query the store, even the same walk (a fresh statement is used). */
        struct cpn_store_job_filter f = { .state = "placed", .limit = 2 };
        struct walk inner = { .stop_at = -1 };
        struct cpn_store_job g;
        if (cpn_store_jobs_each(w->nest, &f, collect, &inner, NULL) != 0 || inner.n != 2)
            return -98;
        if (cpn_store_job_get(w->nest, j->id, &g, NULL) != 0)
            return -97;
        cpn_store_job_clear(&g);
    }
    return w->stop_at >= 0 && w->n >= w->stop_at ? 7 : 0;
}

static void test_pagination_filters(void)
{
    static const char *const tenants[] = { NULL, "t0", "t1", "nobody" };
    static const char *const states[] = { NULL, "placed", "queued" };
    static const char *const clusters[] = { NULL, "c0", "c1", "" };
    char dir[256], id[16], ten[8], cl[8];
    struct cpn_error err = { 0 };
    struct cpn_store *st = open_ok(fresh_dir(dir, sizeof dir));
    int64_t cnt;
    if (!st)
        return;
    CHECK_INT(cpn_store_begin(st, &err), 0);
    for (int i = 0; i < NJOBS; i++) {
        snprintf(id, sizeof id, "j-%03d", (i * 37) % NJOBS); /* inserted out of order */
        int k = (i * 37) % NJOBS;
        snprintf(ten, sizeof ten, "t%d", k % 3);
        snprintf(cl, sizeof cl, k % 5 == 0 ? "" : "c%d", k % 2);
        CHECK_INT(put_job(st, id, ten, "", k % 2 ? "queued" : "placed", cl, &err), 0);
    }
    CHECK_INT(cpn_store_commit(st, &err), 0);
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 3; b++)
            for (size_t c = 0; c < 4; c++) {
                /* Naive reference. */
                char want[NJOBS][16];
                int nwant = 0;
                for (int k = 0; k < NJOBS; k++) {
                    char t[8], cc[8];
                    snprintf(t, sizeof t, "t%d", k % 3);
                    snprintf(cc, sizeof cc, k % 5 == 0 ? "" : "c%d", k % 2);
                    if ((tenants[a] && strcmp(tenants[a], t)) ||
                        (states[b] && strcmp(states[b], k % 2 ? "queued" : "placed")) ||
                        (clusters[c] && strcmp(clusters[c], cc)))
                        continue;
                    snprintf(want[nwant++], 16, "j-%03d", k);
                }
                /* Pages of 7 with keyset continuation. */
                struct walk all = { .stop_at = -1 };
                char after[16] = "";
                for (int page = 0; page < NJOBS; page++) {
                    struct walk w = { .stop_at = -1 };
                    struct cpn_store_job_filter f = { tenants[a], states[b], clusters[c],
                                                      page ? after : NULL, 7 };
                    CHECK_INT(cpn_store_jobs_each(st, &f, collect, &w, &err), 0);
                    for (int q = 0; q < w.n; q++)
                        cpn_strlcpy(all.ids[all.n++], w.ids[q], 16);
                    if (w.n < 7)
                        break;
                    cpn_strlcpy(after, w.ids[w.n - 1], sizeof after);
                }
                CHECK_MSG(all.n == nwant, "filter %s/%s/%s: %d jobs, expected %d",
                          tenants[a] ? tenants[a] : "*", states[b] ? states[b] : "*",
                          clusters[c] ? clusters[c] : "*", all.n, nwant);
                for (int q = 0; q < all.n && q < nwant; q++)
                    CHECK_STR(all.ids[q], want[q]);
            }
    /* Early stop returns the callback's value; nested queries work. */
    {
        struct walk w = { .stop_at = 3, .nest = st };
        struct cpn_store_job_filter f = { .state = "placed" };
        CHECK_INT(cpn_store_jobs_each(st, &f, collect, &w, &err), 7);
        CHECK_INT(w.n, 3);
        CHECK_INT(cpn_store_jobs_each(st, NULL, collect, &(struct walk){ .stop_at = -1 }, &err), 0);
    }
    CHECK_INT(cpn_store_job_count(st, "placed", &cnt, &err), 0);
    CHECK_INT(cnt, NJOBS / 2);
    CHECK_INT(cpn_store_job_count(st, NULL, &cnt, &err), 0);
    CHECK_INT(cnt, NJOBS);
    CHECK_INT(cpn_store_job_count(st, "cancelled", &cnt, &err), 0);
    CHECK_INT(cnt, 0);
    cpn_store_close(st);
}

/* ---- documents ------------------------------------------------------------------------------- */

struct docs_seen {
    char keys[4][16];
    int n;
};

static int collect_doc(void *ctx, const char *key, int64_t updated_s, const char *doc)
{
    struct docs_seen *d = ctx;
    (void)doc;
    if (d->n < 4)
        cpn_strlcpy(d->keys[d->n], key, 16);
    d->n++;
    return updated_s == 0 ? -1 : 0;
}

static void test_docs(void)
{
    char dir[256], *doc = NULL;
    struct cpn_error err = { 0 };
    struct docs_seen seen = { 0 };
    struct cpn_store *st = open_ok(fresh_dir(dir, sizeof dir));
    if (!st)
        return;
    CHECK_INT(cpn_store_doc_put(st, "cluster", "b", 10, "{\"v\":1}", &err), 0);
    CHECK_INT(cpn_store_doc_put(st, "cluster", "a", 11, "{\"v\":2}", &err), 0);
    CHECK_INT(cpn_store_doc_put(st, "telemetry", "a", 12, "{}", &err), 0);
    CHECK_INT(cpn_store_doc_put(st, "cluster", "b", 13, "{\"v\":3}", &err), 0); /* replaces */
    CHECK_INT(cpn_store_doc_get(st, "cluster", "b", &doc, &err), 0);
    CHECK_STR(doc, "{\"v\":3}");
    cpn_free(doc);
    CHECK_INT(cpn_store_docs_each(st, "cluster", collect_doc, &seen, &err), 0);
    CHECK_INT(seen.n, 2);
    CHECK_STR(seen.keys[0], "a");
    CHECK_STR(seen.keys[1], "b");
    CHECK_INT(cpn_store_doc_delete(st, "cluster", "a", &err), 0);
    CHECK_INT(cpn_store_doc_delete(st, "cluster", "a", &err), -ENOENT);
    CHECK_CONTAINS(err.msg, "cluster/a");
    CHECK_INT(cpn_store_doc_get(st, "cluster", "a", &doc, &err), -ENOENT);
    CHECK_INT(cpn_store_doc_get(st, "telemetry", "a", &doc, &err), 0);
    cpn_free(doc);
    CHECK_INT(cpn_store_doc_put(st, "", "a", 1, "{}", &err), CPN_EFIELD);
    cpn_store_close(st);
}

/* ---- tokens ---------------------------------------------------------------------------------- */

static bool file_contains(const char *path, const char *needle)
{
    struct cpn_buf b = { 0 };
    bool found = false;
    size_t n = strlen(needle);
    if (cpn_buf_read_file(&b, path, NULL) != 0)
        return false;
    for (size_t i = 0; i + n <= b.len && !found; i++)
        found = !memcmp(b.data + i, needle, n);
    cpn_buf_free(&b);
    return found;
}

static void test_tokens(void)
{
    char dir[256], path[300], op[CPN_TOKEN_MAX], ten[CPN_TOKEN_MAX], bad[CPN_TOKEN_MAX];
    struct cpn_error err = { 0 };
    struct cpn_token_rec rec, chk;
    struct cpn_store *st = open_ok(fresh_dir(dir, sizeof dir));
    enum cpn_role role;
    if (!st)
        return;
    CHECK_INT(cpn_store_token_create(st, CPN_ROLE_OPERATOR, NULL, NULL, 100, op, &rec, &err), 0);
    CHECK_INT(strlen(op), 64);
    CHECK(!strncmp(op, "cpn_", 4) && op[20] == '_');
    CHECK(!strncmp(op + 4, rec.id, 16));
    for (int i = 4; i < 20; i++)
        CHECK(strchr("0123456789abcdef", op[i]) != NULL);
    CHECK_INT(cpn_store_token_create(st, CPN_ROLE_TENANT, "acme", "lab", 101, ten, &rec, &err), 0);
    CHECK_INT(cpn_store_token_create(st, CPN_ROLE_TENANT, NULL, NULL, 101, bad, &rec, &err),
              CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "subject");
    CHECK_INT(cpn_store_token_check(st, op, &chk), 0);
    CHECK_INT(chk.role, CPN_ROLE_OPERATOR);
    CHECK_INT(chk.created_s, 100);
    CHECK_INT(cpn_store_token_check(st, ten, &chk), 0);
    CHECK_INT(chk.role, CPN_ROLE_TENANT);
    CHECK_STR(chk.subject, "acme");
    CHECK_STR(chk.note, "lab");
    /* Wrong secret, wrong id, malformed: all -EACCES. */
    snprintf(bad, sizeof bad, "%s", ten);
    bad[63] = bad[63] == 'A' ? 'B' : 'A';
    CHECK_INT(cpn_store_token_check(st, bad, NULL), -EACCES);
    snprintf(bad, sizeof bad, "%s", ten);
    bad[5] = bad[5] == '0' ? '1' : '0';
    CHECK_INT(cpn_store_token_check(st, bad, NULL), -EACCES);
    {
        static const char *const malformed[] = {
            "",
            "cpn_",
            "Bearer x",
            "cpn_0123456789abcdef_short",
            "cpn_0123456789ABCDEF_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "cpx_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "cpn_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        };
        for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
            CHECK_MSG(cpn_store_token_check(st, malformed[i], NULL) == -EACCES, "'%s' accepted",
                      malformed[i]);
        CHECK_INT(cpn_store_token_check(st, NULL, NULL), -EACCES);
        snprintf(bad, sizeof bad, "%.64s ", ten); /* trailing byte */
        CHECK_INT(cpn_store_token_check(st, bad, NULL), -EACCES);
    }
    /* Revoke. */
    CHECK_INT(cpn_store_token_revoke(st, "ffffffffffffffff", 200, &err), -ENOENT);
    CHECK_CONTAINS(err.msg, "no such token");
    memcpy(bad, ten + 4, 16);
    bad[16] = '\0';
    CHECK_INT(cpn_store_token_revoke(st, bad, 200, &err), 0);
    CHECK_INT(cpn_store_token_check(st, ten, &chk), -EACCES);
    CHECK_INT(cpn_store_token_revoke(st, bad, 300, &err), 0); /* again: keeps the first time */
    CHECK_INT(cpn_store_token_check(st, op, &chk), 0);
    cpn_store_close(st);
    /* Only hashes are stored. */
    snprintf(path, sizeof path, "%s/cpnet.db", dir);
    CHECK(!file_contains(path, op + 21));
    CHECK(!file_contains(path, ten + 21));
    CHECK(file_contains(path, "acme"));
    /* Roles. */
    for (int r = 0; r < CPN_ROLE_COUNT; r++) {
        CHECK_INT(cpn_role_parse(cpn_role_name((enum cpn_role)r), &role), 0);
        CHECK_INT(role, r);
    }
    CHECK_INT(cpn_role_parse("root", &role), -EINVAL);
    CHECK_STR(cpn_role_name(CPN_ROLE_COUNT), "unknown");
}

/* ---- migrations ------------------------------------------------------------------------------ */

static bool has_index(struct cpn_store *st, const char *name)
{
    sqlite3_stmt *s;
    bool found = false;
    if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM sqlite_schema WHERE type='index' AND name=?1", -1,
                           &s, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    found = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    return found;
}

static void test_migrate_v1_to_v2(void)
{
    char dir[256];
    struct cpn_error err = { 0 };
    struct cpn_store_job j = { 0 };
    struct cpn_store *st = NULL;
    CHECK_INT(cpn_store__latest_version(), 2);
    CHECK_INT(cpn_store__open_at(fresh_dir(dir, sizeof dir), 1, &st, &err), 0);
    if (!st)
        return;
    CHECK_INT(cpn_store_schema_version(st), 1);
    CHECK(!has_index(st, "jobs_updated"));
    CHECK_INT(put_job(st, "old-1", "acme", "k", "placed", "c1", &err), 0);
    cpn_store_close(st);
    st = open_ok(dir);
    if (!st)
        return;
    CHECK_INT(cpn_store_schema_version(st), 2);
    CHECK(has_index(st, "jobs_updated"));
    CHECK_INT(cpn_store_job_get(st, "old-1", &j, &err), 0);
    CHECK_STR(j.idem_key, "k");
    cpn_store_job_clear(&j);
    /* A database from a newer cpnet is refused, not altered. */
    CHECK_INT(sqlite3_exec(st->db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    cpn_store_close(st);
    st = NULL;
    CHECK_INT(cpn_store_open(dir, &st, &err), CPN_EUNSUPPORTED);
    CHECK_CONTAINS(err.msg, "schema version 99 is newer");
    CHECK(st == NULL);
}

static void test_foreign_database_refused(void)
{
    char dir[256], path[300];
    sqlite3 *db = NULL;
    struct cpn_error err = { 0 };
    struct cpn_store *st = NULL;
    snprintf(path, sizeof path, "%s/cpnet.db", fresh_dir(dir, sizeof dir));
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, "CREATE TABLE notes(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    CHECK_INT(cpn_store_open(dir, &st, &err), CPN_EUNSUPPORTED);
    CHECK_CONTAINS(err.msg, "not a cpnet store");
}

/* ---- damaged files --------------------------------------------------------------------------- */

static int write_garbage(const char *path, off_t from, size_t n)
{
    uint8_t buf[4096];
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    if (fd < 0)
        return -1;
    for (size_t done = 0; done < n; done += sizeof buf) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (uint8_t)(i * 131 + done / 7 + 0x5b);
        if (pwrite(fd, buf, sizeof buf, from + (off_t)done) != (ssize_t)sizeof buf) {
            close(fd);
            return -1;
        }
    }
    close(fd);
    return 0;
}

static int walk_noop(void *ctx, const struct cpn_store_job *j)
{
    (void)ctx;
    (void)j;
    return 0;
}

static void test_corrupt_file(void)
{
    char dir[256], path[300], id[32];
    struct cpn_error err = { 0 };
    struct cpn_store *st = NULL;
    struct cpn_store_job j;
    struct stat sb;
    int rc;
    /* A file of garbage is not a database. */
    snprintf(path, sizeof path, "%s/cpnet.db", fresh_dir(dir, sizeof dir));
    CHECK_INT(write_garbage(path, 0, 8192), 0);
    CHECK_INT(cpn_store_open(dir, &st, &err), -EIO);
    CHECK(st == NULL);
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, "not a database");
    CHECK_CONTAINS(err.msg, "restore it from a backup");
    /* A valid header over garbage pages: the first read of a damaged page fails with -EIO. */
    st = open_ok(fresh_dir(dir, sizeof dir));
    if (!st)
        return;
    CHECK_INT(cpn_store_begin(st, &err), 0);
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "job-%04d", i);
        CHECK_INT(put_job(st, id, "acme", "", "placed", "c1", &err), 0);
    }
    CHECK_INT(cpn_store_commit(st, &err), 0);
    cpn_store_close(st); /* checkpoints the WAL into cpnet.db */
    snprintf(path, sizeof path, "%s/cpnet.db", dir);
    CHECK(stat(path, &sb) == 0 && sb.st_size > 16 * 4096);
    CHECK_INT(write_garbage(path, 4096, (size_t)sb.st_size - 4096), 0);
    st = NULL;
    rc = cpn_store_open(dir, &st, &err);
    if (rc == 0) {
        rc = cpn_store_job_get(st, "job-0100", &j, &err);
        if (rc == 0) {
            cpn_store_job_clear(&j);
            rc = cpn_store_jobs_each(st, NULL, walk_noop, NULL, &err);
        }
        cpn_store_close(st);
    }
    CHECK_INT(rc, -EIO);
    CHECK_CONTAINS(err.msg, "malformed");
}

/* ---- allocation failures --------------------------------------------------------------------- */

static void test_alloc_failures(void)
{
    char dir[256], sentinel[] = "sentinel", *doc = sentinel;
    struct cpn_error err = { 0 };
    struct cpn_store *st = NULL;
    struct cpn_store_job j;
    int rc = -1, n;
    fresh_dir(dir, sizeof dir);
    for (n = 0; n < 100; n++) {
        st = NULL;
        cpn_alloc_fail_after(n);
        rc = cpn_store_open(dir, &st, &err);
        cpn_alloc_fail_after(-1);
        if (rc == 0)
            break;
        CHECK_MSG(rc == -ENOMEM, "open with allocation %d failing: %d %s", n, rc, err.msg);
        CHECK(st == NULL);
    }
    CHECK_MSG(rc == 0 && n > 0, "open never succeeded or never allocated (n=%d)", n);
    if (!st)
        return;
    CHECK_INT(put_job(st, "m1", "acme", "k", "placed", "", &err), 0);
    CHECK_INT(cpn_store_doc_put(st, "cluster", "c1", 1, "{\"a\":1}", &err), 0);
    for (n = 0; n < 100; n++) {
        memset(&j, 0x33, sizeof j);
        cpn_alloc_fail_after(n);
        rc = cpn_store_job_get(st, "m1", &j, &err);
        cpn_alloc_fail_after(-1);
        if (rc == 0)
            break;
        CHECK_MSG(rc == -ENOMEM, "get with allocation %d failing: %d", n, rc);
        CHECK_CONTAINS(err.msg, "job get 'm1'");
        CHECK_INT((unsigned char)j.id[0], 0x33);
    }
    CHECK_INT(rc, 0);
    cpn_store_job_clear(&j);
    cpn_alloc_fail_after(0);
    rc = cpn_store_doc_get(st, "cluster", "c1", &doc, &err);
    cpn_alloc_fail_after(-1);
    CHECK_INT(rc, -ENOMEM);
    CHECK_STR(doc, "sentinel");
    cpn_alloc_fail_after(0);
    rc = cpn_store_job_by_idem(st, "acme", "k", &j, &err);
    cpn_alloc_fail_after(-1);
    CHECK_INT(rc, -ENOMEM);
    cpn_store_close(st);
}

/* ---- kill -9 while committing ---------------------------------------------------------------- */

/* The child commits transactions of 1 to 16 jobs and, after each commit returns, reports how many
 * jobs are committed so far: that is what a server would have acknowledged. */
#define CRASH_BATCH_MAX 16

static void crash_child(const char *dir, int wfd)
{
    struct cpn_store *st = NULL;
    char id[32], doc[1024];
    struct cpn_store_job j;
    int32_t done = 0;
    if (cpn_store_open(dir, &st, NULL) != 0)
        _exit(3);
    for (int tx = 0; tx < 100000; tx++) {
        int n = 1 + tx % CRASH_BATCH_MAX;
        if (cpn_store_begin(st, NULL))
            _exit(4);
        for (int k = 0; k < n; k++) {
            snprintf(id, sizeof id, "crash-%07d", (int)(done + k));
            make_job(&j, id, "acme", id, "placed", "c1", done + k, doc, sizeof doc);
            if (cpn_store_job_put(st, &j, NULL))
                _exit(4);
        }
        if (cpn_store_commit(st, NULL))
            _exit(4);
        done += n;
        if (write(wfd, &done, sizeof done) != (ssize_t)sizeof done)
            _exit(5);
    }
    _exit(0);
}

static void test_crash_durability(void)
{
    struct cpn_rng rng;
    uint64_t seed = 0;
    cpn_random_bytes(&seed, sizeof seed);
    cpn_rng_seed(&rng, seed);
    printf("# crash test seed %llu\n", (unsigned long long)seed);
    for (int round = 0; round < 5; round++) {
        char dir[256], id[32];
        struct cpn_store *st;
        struct cpn_store_job j;
        struct timespec ts;
        int fds[2], status = 0, missing = 0;
        int32_t v, acked = 0;
        int64_t stored = 0;
        long delay_ms = 20 + (long)cpn_rng_below(&rng, 300);
        pid_t pid;
        fresh_dir(dir, sizeof dir);
        CHECK_INT(pipe(fds), 0);
        fflush(stdout);
        pid = fork();
        CHECK(pid >= 0);
        if (pid < 0)
            return;
        if (pid == 0) {
            close(fds[0]);
            crash_child(dir, fds[1]);
        }
        close(fds[1]);
        /* Wait for the first acknowledgement, then kill at a random moment. */
        if (read(fds[0], &v, sizeof v) == (ssize_t)sizeof v)
            acked = v;
        ts.tv_sec = delay_ms / 1000;
        ts.tv_nsec = (delay_ms % 1000) * 1000000L;
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        while (read(fds[0], &v, sizeof v) == (ssize_t)sizeof v)
            acked = v;
        close(fds[0]);
        CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "round %d: child was not killed (status %d)", round, status);
        CHECK_MSG(acked > 0, "round %d: child acknowledged nothing", round);
        st = open_ok(dir);
        if (!st)
            return;
        for (int32_t i = 0; i < acked; i++) {
            snprintf(id, sizeof id, "crash-%07d", (int)i);
            if (cpn_store_job_get(st, id, &j, NULL) == 0)
                cpn_store_job_clear(&j);
            else
                missing++;
        }
        CHECK_INT(cpn_store_job_count(st, NULL, &stored, NULL), 0);
        cpn_store_close(st);
        printf("# crash round %d: killed after %ld ms, %d jobs acknowledged, %lld stored, %d "
               "missing\n",
               round, delay_ms, (int)acked, (long long)stored, missing);
        CHECK_INT(missing, 0);
        /* At most the one batch in flight when the kill came is stored but unacknowledged. */
        CHECK_MSG(stored >= acked && stored <= acked + CRASH_BATCH_MAX,
                  "round %d: %lld stored, %d acknowledged", round, (long long)stored, (int)acked);
    }
}

/* ---- throughput (printed, not asserted) -------------------------------------------------------
 */

static double seconds_since(int64_t t0)
{
    return (double)(cpn_monotonic_ns() - t0) / 1e9;
}

static void test_throughput(void)
{
    char dir[256], id[32], doc[1024];
    struct cpn_error err = { 0 };
    struct cpn_store_job j;
    struct cpn_store *st = open_ok(fresh_dir(dir, sizeof dir));
    double put_s = 0, commit_s = 0, el;
    int seq = 0, ntx = 0, rounds = 10, batch = 100, nbatch = 0;
    int64_t t0;
    if (!st)
        return;
    /* (a) 1000 puts inside one transaction, and its commit. */
    for (int r = 0; r < rounds; r++) {
        CHECK_INT(cpn_store_begin(st, &err), 0);
        t0 = cpn_monotonic_ns();
        for (int i = 0; i < 1000; i++, seq++) {
            snprintf(id, sizeof id, "bench-%08d", seq);
            make_job(&j, id, "acme", id, "placed", "qingyang-1", seq, doc, sizeof doc);
            CHECK_INT(cpn_store_job_put(st, &j, &err), 0);
        }
        put_s += seconds_since(t0);
        t0 = cpn_monotonic_ns();
        CHECK_INT(cpn_store_commit(st, &err), 0);
        commit_s += seconds_since(t0);
    }
    printf("# store bench: %.0f job puts/s inside a transaction of 1000 (%zu-byte doc); commit of "
           "1000 puts %.2f ms; %.0f durable puts/s with commits of 1000\n",
           1000.0 * rounds / put_s, strlen(doc), 1000.0 * commit_s / rounds,
           1000.0 * rounds / (put_s + commit_s));
    /* (b) one put per committed transaction: the fsync rate. */
    t0 = cpn_monotonic_ns();
    while ((el = seconds_since(t0)) < 0.5 && ntx < 5000) {
        snprintf(id, sizeof id, "bench-%08d", seq++);
        make_job(&j, id, "acme", id, "placed", "qingyang-1", seq, doc, sizeof doc);
        CHECK_INT(cpn_store_begin(st, &err), 0);
        CHECK_INT(cpn_store_job_put(st, &j, &err), 0);
        CHECK_INT(cpn_store_commit(st, &err), 0);
        ntx++;
    }
    printf("# store bench: %.0f committed transactions/s (one put each, synchronous=FULL), %.2f ms "
           "each\n",
           ntx / el, 1000.0 * el / ntx);
    /* (c) group commit: batches of 100 puts per commit. */
    t0 = cpn_monotonic_ns();
    while ((el = seconds_since(t0)) < 0.5) {
        CHECK_INT(cpn_store_begin(st, &err), 0);
        for (int i = 0; i < batch; i++) {
            snprintf(id, sizeof id, "bench-%08d", seq++);
            make_job(&j, id, "acme", id, "placed", "qingyang-1", seq, doc, sizeof doc);
            CHECK_INT(cpn_store_job_put(st, &j, &err), 0);
        }
        CHECK_INT(cpn_store_commit(st, &err), 0);
        nbatch++;
    }
    printf("# store bench: %.0f durable job puts/s with group commits of %d\n",
           (double)nbatch * batch / el, batch);
    cpn_store_close(st);
}

int main(void)
{
    T_RUN(test_sha256_vectors);
    T_RUN(test_random_bytes);
    T_RUN(test_open_pragmas);
    T_RUN(test_reopen_keeps_data);
    T_RUN(test_idempotency_unique);
    T_RUN(test_job_errors);
    T_RUN(test_rollback);
    T_RUN(test_pagination_filters);
    T_RUN(test_docs);
    T_RUN(test_tokens);
    T_RUN(test_migrate_v1_to_v2);
    T_RUN(test_foreign_database_refused);
    T_RUN(test_corrupt_file);
    T_RUN(test_alloc_failures);
    T_RUN(test_crash_durability);
    T_RUN(test_throughput);
    if (t_state()->failed == 0)
        remove_dirs();
    return T_DONE("store");
}
