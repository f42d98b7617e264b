/* SPDX-License-Identifier: Apache-2.0 */
/* Opening and closing the SQLite store, its pragmas, transactions, the statement cache and the one
 * mapping from SQLite result codes to cpnet codes. The database is DIR/cpnet.db in WAL mode with
 * synchronous=FULL: COMMIT returns only after the write-ahead log is fsync'ed, which is what lets
 * the service answer a request as soon as the commit of its batch returns (docs/store.md). The file
 * is created with mode 0600 (SQLite gives its -wal and -shm files the same mode) because it holds
 * tenants' jobs and the hashes of API tokens. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

#define BUSY_TIMEOUT_MS 5000
#define WAL_SIZE_LIMIT  (64 * 1024 * 1024)
#define DAMAGED_HINT                                                                               \
    " (the database file is damaged or is not a cpnet store; restore it from a backup, see "       \
    "docs/store.md)"

int cpn_store__err(sqlite3 *db, int rc, struct cpn_error *err, const char *fmt, ...)
{
    char what[256];
    const char *hint = "";
    int code;
    va_list ap;
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        code = -EEXIST;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = -EBUSY;
        break;
    case SQLITE_NOMEM:
        code = -ENOMEM;
        break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        code = -EIO;
        hint = DAMAGED_HINT;
        break;
    case SQLITE_IOERR:
    case SQLITE_PROTOCOL:
        code = -EIO;
        break;
    case SQLITE_FULL:
        code = -ENOSPC;
        break;
    case SQLITE_READONLY:
        code = -EROFS;
        break;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        code = -EACCES;
        break;
    case SQLITE_CANTOPEN:
        code = db && sqlite3_system_errno(db) > 0 ? -sqlite3_system_errno(db) : -EIO;
        break;
    case SQLITE_TOOBIG:
        code = CPN_ELIMIT;
        break;
    case SQLITE_INTERRUPT:
        code = -EINTR;
        break;
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_MISUSE:
        code = -EINVAL;
        break;
    default:
        code = -EIO;
        break;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cpn_errorf(err, code, "store: %s: %s%s", what,
                      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), hint);
}

int cpn_store__stmt(
    struct cpn_store *st, int slot, const char *sql, sqlite3_stmt **out, struct cpn_error *err)
{
    sqlite3_stmt *cached = st->stmt[slot], *s = NULL;
    int rc;
    if (cached && !sqlite3_stmt_busy(cached)) {
        *out = cached;
        return 0;
    }
    rc = sqlite3_prepare_v3(st->db, sql, -1, cached ? 0 : SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(s);
        return cpn_store__err(st->db, rc, err, "prepare \"%.120s\"", sql);
    }
    if (!cached)
        st->stmt[slot] = s;
    *out = s;
    return 0;
}

void cpn_store__release(struct cpn_store *st, int slot, sqlite3_stmt *s)
{
    if (!s)
        return;
    if (s == st->stmt[slot]) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    } else {
        sqlite3_finalize(s);
    }
}

int cpn_store__bind_text_or_null(sqlite3_stmt *s, int idx, const char *v)
{
    if (!v || !*v)
        return sqlite3_bind_null(s, idx);
    return sqlite3_bind_text(s, idx, v, -1, SQLITE_STATIC);
}

int cpn_store__col_copy(sqlite3_stmt *s, int col, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(s, col) : 0;
    if (n >= size) {
        dst[0] = '\0';
        return CPN_ELIMIT;
    }
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
    return 0;
}

/* Runs a pragma that answers one row and copies its first column as text. */
static int
pragma_text(struct cpn_store *st, const char *sql, char *out, size_t size, struct cpn_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = cpn_store__err(st->db, rc, err, "open %s: %s", st->path, sql);
        sqlite3_finalize(s);
        return rc;
    }
    out[0] = '\0';
    if (rc == SQLITE_ROW && cpn_store__col_copy(s, 0, out, size) != 0)
        out[0] = '\0';
    sqlite3_finalize(s);
    return 0;
}

static int exec_sql(struct cpn_store *st, const char *sql, struct cpn_error *err)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return cpn_store__err(st->db, rc, err, "open %s: %s", st->path, sql);
    return 0;
}

/* Creates the file with mode 0600 when absent, so that SQLite (which copies the database's mode
 * to its -wal and -shm files) never makes it world-readable under a lax umask. */
static int create_private(const char *path, struct cpn_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return cpn_errorf(err, -errno, "store: open %s: %s", path, strerror(errno));
    close(fd);
    return 0;
}

static int configure(struct cpn_store *st, struct cpn_error *err)
{
    char mode[16];
    int rc;
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    /* The first statement reads the header: a file that is not a database fails here. */
    rc = pragma_text(st, "PRAGMA journal_mode=WAL", mode, sizeof mode, err);
    if (rc)
        return rc;
    if (strcmp(mode, "wal") != 0)
        return cpn_errorf(err, CPN_EUNSUPPORTED,
                          "store: open %s: journal_mode is '%s', expected 'wal' (the file system "
                          "must support shared memory and file locks)",
                          st->path, mode);
    rc = exec_sql(st, "PRAGMA synchronous=FULL", err);
    if (!rc)
        rc = exec_sql(st, "PRAGMA foreign_keys=ON", err);
    if (!rc) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA journal_size_limit=%d", WAL_SIZE_LIMIT);
        rc = exec_sql(st, sql, err);
    }
    return rc;
}

int cpn_store__open_at(const char *dir, int target, struct cpn_store **out, struct cpn_error *err)
{
    struct cpn_store *st;
    struct stat sb;
    size_t n;
    int rc;
    if (!dir || !*dir)
        return cpn_errorf(err, -EINVAL, "store: open: no data directory given");
    if (stat(dir, &sb) != 0)
        return cpn_errorf(err, -errno, "store: data directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return cpn_errorf(err, -ENOTDIR, "store: data directory %s: not a directory", dir);
    st = cpn_calloc(1, sizeof *st);
    if (!st)
        return cpn_errorf(err, -ENOMEM, "store: open %s: out of memory", dir);
    n = strlen(dir) + sizeof "/cpnet.db";
    st->path = cpn_malloc(n);
    if (!st->path) {
        cpn_free(st);
        return cpn_errorf(err, -ENOMEM, "store: open %s: out of memory", dir);
    }
    snprintf(st->path, n, "%s/cpnet.db", dir);
    rc = create_private(st->path, err);
    if (rc) {
        cpn_store_close(st);
        return rc;
    }
    rc = sqlite3_open_v2(st->path, &st->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = cpn_store__err(st->db, rc, err, "open %s", st->path);
        cpn_store_close(st);
        return rc;
    }
    rc = configure(st, err);
    if (!rc)
        rc = cpn_store__migrate(st, target, err);
    if (rc) {
        cpn_store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

int cpn_store_open(const char *dir, struct cpn_store **out, struct cpn_error *err)
{
    return cpn_store__open_at(dir, cpn_store__latest_version(), out, err);
}

void cpn_store_close(struct cpn_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < CPN_SL_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    /* Rolls back an open transaction; the last connection also checkpoints and removes the WAL. */
    sqlite3_close(st->db);
    cpn_free(st->path);
    cpn_free(st);
}

int cpn_store_schema_version(struct cpn_store *st)
{
    return st->version;
}

/* Steps a cached transaction-control statement once. */
static int step_once(struct cpn_store *st, int slot, const char *sql, struct cpn_error *err)
{
    sqlite3_stmt *s;
    int rc = cpn_store__stmt(st, slot, sql, &s, err);
    if (rc)
        return rc;
    rc = sqlite3_step(s);
    rc = rc == SQLITE_DONE ? 0 : cpn_store__err(st->db, rc, err, "%s", sql);
    cpn_store__release(st, slot, s);
    return rc;
}

int cpn_store_begin(struct cpn_store *st, struct cpn_error *err)
{
    if (!sqlite3_get_autocommit(st->db))
        return cpn_errorf(err, -EINVAL, "store: begin: a transaction is already open");
    return step_once(st, CPN_SL_BEGIN, "BEGIN IMMEDIATE", err);
}

int cpn_store_commit(struct cpn_store *st, struct cpn_error *err)
{
    int rc;
    if (sqlite3_get_autocommit(st->db))
        return cpn_errorf(err, -EINVAL, "store: commit: no transaction is open");
    rc = step_once(st, CPN_SL_COMMIT, "COMMIT", err);
    /* A failed commit leaves nothing of the batch durable: make that explicit. */
    if (rc && !sqlite3_get_autocommit(st->db))
        cpn_store_rollback(st);
    return rc;
}

void cpn_store_rollback(struct cpn_store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        (void)step_once(st, CPN_SL_ROLLBACK, "ROLLBACK", NULL);
}
