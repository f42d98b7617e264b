/* SPDX-License-Identifier: Apache-2.0 */
/* What the files of src/store share: the store struct, its cache of prepared statements, the one
 * function that maps SQLite result codes to cpnet codes, and the migration entry point. Every
 * statement is prepared once per connection (SQLITE_PREPARE_PERSISTENT) and reset after each use,
 * so that no statement keeps a read transaction open (which would stall WAL checkpoints). */
#ifndef CPN_STORE_INT_H
#define CPN_STORE_INT_H

#include <sqlite3.h>

#include "cpnet/store.h"

/* The statement slots. The job walk has one slot per combination of its four optional filters. */
enum cpn_store_slot {
    CPN_SL_BEGIN,
    CPN_SL_COMMIT,
    CPN_SL_ROLLBACK,
    CPN_SL_JOB_PUT,
    CPN_SL_JOB_GET,
    CPN_SL_JOB_BY_IDEM,
    CPN_SL_JOB_COUNT,
    CPN_SL_JOB_COUNT_ALL,
    CPN_SL_JOBS_EACH, /* + filter mask (0..15) */
    CPN_SL_DOC_PUT = CPN_SL_JOBS_EACH + 16,
    CPN_SL_DOC_GET,
    CPN_SL_DOC_DELETE,
    CPN_SL_DOCS_EACH,
    CPN_SL_TOKEN_INSERT,
    CPN_SL_TOKEN_GET,
    CPN_SL_TOKEN_REVOKE,
    CPN_SL_TOKEN_REVOKED,
    CPN_SL_TOKENS_EACH,
    CPN_SL_COUNT
};

struct cpn_store {
    sqlite3 *db;
    char *path; /* DIR/cpnet.db, for messages */
    int version;
    sqlite3_stmt *stmt[CPN_SL_COUNT];
};

/* The newest schema version this build knows (the number of migration steps). */
int cpn_store__latest_version(void);
/* Migrates the open database to target (<= latest), one transaction per step. */
int cpn_store__migrate(struct cpn_store *st, int target, struct cpn_error *err);
/* cpn_store_open() that stops migrating at target: a test hook for the migration path. */
int cpn_store__open_at(const char *dir, int target, struct cpn_store **out, struct cpn_error *err);

/* The single mapping from a SQLite result code to a cpnet code (SQLITE_CONSTRAINT -> -EEXIST,
 * SQLITE_BUSY/LOCKED -> -EBUSY, SQLITE_NOMEM -> -ENOMEM, SQLITE_CORRUPT/NOTADB/IOERR -> -EIO, ...).
 * Writes "store: <what>: <sqlite3_errmsg>" into err, where fmt names the operation and the key.
 * Call it before the failing statement is reset. Returns the cpnet code. */
int cpn_store__err(sqlite3 *db, int rc, struct cpn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The cached statement of slot, prepared from sql on first use. When the cached statement is in
 * use by an enclosing walk (a callback that queries the same thing), a fresh one is prepared.
 * Give it back with cpn_store__release(), which resets it (or finalizes the fresh one). */
int cpn_store__stmt(
    struct cpn_store *st, int slot, const char *sql, sqlite3_stmt **out, struct cpn_error *err);
void cpn_store__release(struct cpn_store *st, int slot, sqlite3_stmt *s);

/* Binds text, or NULL when s is NULL or empty. */
int cpn_store__bind_text_or_null(sqlite3_stmt *s, int idx, const char *v);
/* Copies column col as text into dst[size] ("" for NULL); CPN_ELIMIT when it does not fit. */
int cpn_store__col_copy(sqlite3_stmt *s, int col, char *dst, size_t size);

#endif
