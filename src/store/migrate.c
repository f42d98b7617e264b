/* SPDX-License-Identifier: Apache-2.0 */
/* Versioned schema migrations. The schema version is SQLite's user_version; each step below takes
 * the database from version-1 to version, and runs in its own IMMEDIATE transaction together with
 * the user_version bump, so a crash mid-migration leaves the previous version intact. Steps are
 * append-only: a released step is never edited, a change is a new step. The application_id marks
 * the file as a cpnet store so that another program's database is refused rather than altered. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

#define CPN_STORE_APP_ID 0x63706e74 /* "cpnt" */

struct migration {
    int version;
    const char *what;
    const char *sql;
};

static const struct migration steps[] = {
    { 1, "initial schema (jobs, docs, tokens, meta)",
      "CREATE TABLE jobs(\n"
      "  id TEXT PRIMARY KEY,\n"
      "  tenant TEXT NOT NULL,\n"
      "  idem_key TEXT,\n" /* NULL when the submission had none */
      "  state TEXT NOT NULL,\n"
      "  cluster TEXT,\n" /* NULL when not placed */
      "  created_s INTEGER,\n"
      "  updated_s INTEGER,\n"
      "  doc TEXT NOT NULL);\n"
      "CREATE UNIQUE INDEX jobs_idem ON jobs(tenant, idem_key) WHERE idem_key IS NOT NULL;\n"
      "CREATE INDEX jobs_tenant ON jobs(tenant, id);\n"
      "CREATE INDEX jobs_state ON jobs(state, id);\n"
      "CREATE INDEX jobs_cluster ON jobs(cluster, id);\n"
      "CREATE TABLE docs(\n"
      "  kind TEXT NOT NULL,\n"
      "  key TEXT NOT NULL,\n"
      "  updated_s INTEGER,\n"
      "  doc TEXT NOT NULL,\n"
      "  PRIMARY KEY(kind, key));\n"
      "CREATE TABLE tokens(\n"
      "  id TEXT PRIMARY KEY,\n"
      "  role TEXT NOT NULL,\n"
      "  subject TEXT,\n"
      "  note TEXT,\n"
      "  created_s INTEGER,\n"
      "  revoked_s INTEGER,\n" /* NULL while active */
      "  hash BLOB NOT NULL);\n"
      "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);\n"
      "INSERT INTO meta(key, value) VALUES('format', 'cpnet store');\n" },
    /* Re-planning and "what changed since" listings walk jobs by update time. */
    { 2, "index jobs by update time", "CREATE INDEX jobs_updated ON jobs(updated_s, id);\n" },
};

#define N_STEPS ((int)(sizeof steps / sizeof steps[0]))

int cpn_store__latest_version(void)
{
    return steps[N_STEPS - 1].version;
}

static int pragma_int(struct cpn_store *st, const char *sql, int *out, struct cpn_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        rc = cpn_store__err(st->db, rc, err, "open %s: %s", st->path, sql);
        sqlite3_finalize(s);
        return rc;
    }
    *out = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return 0;
}

static int exec_step(struct cpn_store *st, const char *sql, int version, struct cpn_error *err)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return cpn_store__err(st->db, rc, err, "migrate %s to schema v%d", st->path, version);
    return 0;
}

static int apply(struct cpn_store *st, const struct migration *m, struct cpn_error *err)
{
    char bump[96];
    int cur, rc = exec_step(st, "BEGIN IMMEDIATE", m->version, err);
    if (rc)
        return rc;
    /* Another process may have migrated between our read and our lock. */
    rc = pragma_int(st, "PRAGMA user_version", &cur, err);
    if (!rc && cur < m->version) {
        snprintf(bump, sizeof bump, "PRAGMA user_version=%d; PRAGMA application_id=%d;", m->version,
                 CPN_STORE_APP_ID);
        rc = exec_step(st, m->sql, m->version, err);
        if (!rc)
            rc = exec_step(st, bump, m->version, err);
    }
    if (!rc)
        rc = exec_step(st, "COMMIT", m->version, err);
    if (rc) {
        cpn_error_prefix(err, rc, "(%s) ", m->what);
        if (!sqlite3_get_autocommit(st->db))
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

int cpn_store__migrate(struct cpn_store *st, int target, struct cpn_error *err)
{
    int version, app, tables, rc;
    rc = pragma_int(st, "PRAGMA user_version", &version, err);
    if (!rc)
        rc = pragma_int(st, "PRAGMA application_id", &app, err);
    if (!rc)
        rc = pragma_int(st, "SELECT count(*) FROM sqlite_schema", &tables, err);
    if (rc)
        return rc;
    if ((app != 0 && app != CPN_STORE_APP_ID) || (app == 0 && tables > 0))
        return cpn_errorf(err, CPN_EUNSUPPORTED,
                          "store: open %s: not a cpnet store (application_id 0x%08x, %d tables, "
                          "expected application_id 0x%08x or an empty file)",
                          st->path, (unsigned)app, tables, (unsigned)CPN_STORE_APP_ID);
    if (version > cpn_store__latest_version())
        return cpn_errorf(err, CPN_EUNSUPPORTED,
                          "store: open %s: schema version %d is newer than this cpnet knows (%d); "
                          "run a newer cpnet",
                          st->path, version, cpn_store__latest_version());
    for (int i = 0; i < N_STEPS; i++) {
        if (steps[i].version <= version || steps[i].version > target)
            continue;
        rc = apply(st, &steps[i], err);
        if (rc)
            return rc;
    }
    rc = pragma_int(st, "PRAGMA user_version", &version, err);
    if (rc)
        return rc;
    st->version = version;
    return 0;
}
