/* store_sqlite.c — the SQLite backend of store.h: its statements, opening and checking the
 * file, transactions with group commit, and the helpers of store_sqlite_{accounts,signin,s2s}.c
 * (store_sqlite_int.h). Only these files include <sqlite3.h>.
 *
 * One connection per thread (SQLITE_OPEN_NOMUTEX), opened with the settings of SECURITY.md (d):
 * WAL, durable commits synced before they return (group commit, see group_sync: a power cut
 * must not resurrect spent codes), foreign keys on, a 5 s busy timeout, defensive mode, and a
 * quick_check before anything is trusted. The schema is the numbered files in schema/sqlite/,
 * compiled in by the Makefile; PRAGMA user_version counts the ones applied, and each pending
 * one runs in its own BEGIN IMMEDIATE transaction together with the version bump, so a crash
 * mid-migration leaves the previous version intact.
 *
 * Every statement is prepared once per connection (lazily, cached by enum q_id) and only ever
 * given data through sqlite3_bind_*; no SQL text is built from data. Every write is one
 * BEGIN IMMEDIATE … COMMIT transaction (a client and its URIs together) that is rolled back on
 * any error. Errors: UNIQUE/PRIMARY KEY violations and a retired sub are GH_EEXIST; a row whose
 * parent (user, client, grant) is gone is GH_ENOTFOUND; everything else is GH_ESTORE. A failure
 * caused by the environment (locked past the busy timeout, read-only, full, I/O, corrupt; by
 * SQLite's extended code and the errno) is a storage fault, reported to store_fault.c, which
 * logs one line per episode; anything else is logged here once as `store_error op=… rc=… msg=…`.
 * A connection SQLite made read-only, or one left in a transaction that cannot be ended, is
 * opened again (conn_reopen), so the process recovers without a restart.
 *
 * The sign-in records (0002_sso.sql) follow the rules of STYLE.md §7: a single-use object is
 * checked and spent in the same BEGIN IMMEDIATE transaction, so of two concurrent redemptions of
 * one code or one refresh token (on two connections, in two processes) exactly one wins, and the
 * loser is seen as a replay (RFC 6749 §4.1.2, RFC 9700 §4.14.2). Times are compared in C
 * against the caller's `now`; SQLite never reads a clock here.
 *
 * Not here: deciding what is valid (model/), connection pooling (callers keep one handle per
 * thread), online backup. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "model/client.h"
#include "model/user.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "store/store_sqlite_int.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

/* Generated from the files in schema/sqlite/ by schema/embed.sh (see the Makefile). */
extern const char *const store_sqlite_migrations[];
extern const size_t store_sqlite_migration_count;

#define BUSY_TIMEOUT_MS 5000
#define APPLICATION_ID  1195922245  /* "GHSE", set by 0001_init.sql */
#define CHECK_REPORT_MAX (1024 * 1024)


#define USER_COLS "sub, username, email, name, password_hash, disabled, created_at, updated_at"
#define CLIENT_COLS                                                                         \
    "id, client_id, name, public, auth_method, grant_types, scopes, jwks, secret_hash, " \
    "secret_sealed, created_at, updated_at, consent, pkce_required, signing_alg, jwks_uri"
#define IA_COLS      "id_hash, bind_hash, request, created_at, expires_at"
#define SESSION_COLS "id_hash, sid, sub, amr, auth_time, created_at, last_seen, expires_at"
#define CODE_COLS                                                                            \
    "hash, client_id, redirect_uri, scope, nonce, code_challenge, sub, sid, amr, auth_time, " \
    "created_at, expires_at"
#define GRANT_COLS                                                                           \
    "id, client_id, sub, scope, sid, amr, auth_time, created_at, expires_at, refresh_gen, "  \
    "revoked"
#define ISS_COLS     "issuer, jwks, jwks_uri, disabled, created_at, updated_at"
/* grants whose family has ended: store_purge */
#define GRANTS_ENDED "SELECT id FROM grants WHERE expires_at <= ?1"

static const char *const sql_text[Q_COUNT] = {
    [Q_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [Q_BEGIN_READ] = "BEGIN",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_USER_VERSION] = "PRAGMA user_version",
    [Q_QUICK_CHECK] = "PRAGMA quick_check(100)",
    [Q_INTEGRITY_CHECK] = "PRAGMA integrity_check(100)",
    [Q_FK_CHECK] = "PRAGMA foreign_key_check",
    [Q_META_GET] = "SELECT value FROM meta WHERE name = ?1",
    [Q_META_SET] = "INSERT INTO meta (name, value) VALUES (?1, ?2) "
                   "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    [Q_META_ADD] = "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
    [Q_USER_ADD] = "INSERT INTO users (" USER_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_USER_GET] = "SELECT " USER_COLS " FROM users WHERE username = ?1",
    [Q_USER_GET_BY_SUB] = "SELECT " USER_COLS " FROM users WHERE sub = ?1",
    [Q_USER_LIST] = "SELECT " USER_COLS " FROM users ORDER BY username, id",
    [Q_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ?2, updated_at = ?3 "
                            "WHERE username = ?1",
    [Q_USER_SET_DISABLED] = "UPDATE users SET disabled = ?2, updated_at = ?3 WHERE username = ?1",
    [Q_USER_DELETE] = "DELETE FROM users WHERE username = ?1",
    [Q_CLIENT_ADD] = "INSERT INTO clients (client_id, name, public, auth_method, grant_types, "
                     "scopes, jwks, secret_hash, secret_sealed, created_at, updated_at, "
                     "consent, pkce_required, signing_alg, jwks_uri) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    [Q_CLIENT_URI_ADD] = "INSERT INTO client_uris (client, kind, pos, uri) "
                         "VALUES (?1, ?2, ?3, ?4)",
    [Q_CLIENT_GET] = "SELECT " CLIENT_COLS " FROM clients WHERE client_id = ?1",
    [Q_CLIENT_LIST] = "SELECT " CLIENT_COLS " FROM clients ORDER BY client_id",
    [Q_CLIENT_URIS] = "SELECT kind, uri FROM client_uris WHERE client = ?1 ORDER BY kind, pos",
    [Q_CLIENT_SET_SECRET] = "UPDATE clients SET secret_hash = ?2, secret_sealed = ?3, "
                            "updated_at = ?4 WHERE client_id = ?1",
    [Q_CLIENT_DELETE] = "DELETE FROM clients WHERE client_id = ?1",
    /* ?6 < 0: unconditional; else only while the alg still has ?6 keys (store_key_insert):
     * the count and the insert are one statement in a write transaction */
    [Q_KEY_ADD] = "INSERT INTO signing_keys (kid, alg, created_at, activate_at, sealed) "
                  "SELECT ?1, ?2, ?3, ?4, ?5 WHERE ?6 < 0 OR "
                  "(SELECT count(*) FROM signing_keys WHERE alg = ?2) = ?6",
    [Q_KEY_LIST] = "SELECT kid, alg, created_at, activate_at, retire_at, sealed FROM signing_keys "
                   "ORDER BY created_at, rowid",
    [Q_KEY_RETIRE] = "UPDATE signing_keys SET retire_at = ?2 WHERE kid = ?1",
    [Q_IA_ADD] = "INSERT INTO interactions (" IA_COLS ") VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_IA_GET] = "SELECT " IA_COLS " FROM interactions WHERE id_hash = ?1",
    [Q_IA_DELETE] = "DELETE FROM interactions WHERE id_hash = ?1",
    [Q_SESSION_ADD] = "INSERT INTO sessions (" SESSION_COLS ") "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions WHERE id_hash = ?1",
    /* only if nobody touched it since it was found dead */
    [Q_SESSION_DELETE_DEAD] = "DELETE FROM sessions WHERE id_hash = ?1 AND last_seen = ?2",
    [Q_SESSION_TOUCH] = "UPDATE sessions SET last_seen = max(last_seen, ?2) WHERE id_hash = ?1",
    [Q_SESSION_DELETE] = "DELETE FROM sessions WHERE id_hash = ?1",
    [Q_CODE_ADD] = "INSERT INTO auth_codes (" CODE_COLS ") "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [Q_CODE_GET] = "SELECT " CODE_COLS ", grant_id, spent FROM auth_codes WHERE hash = ?1",
    [Q_CODE_SPEND] = "UPDATE auth_codes SET spent = 1, grant_id = ?2 WHERE hash = ?1 AND spent = 0",
    [Q_CODE_MARK_REPLAYED] = "UPDATE auth_codes SET replayed = 1 WHERE hash = ?1",
    /* ?1 grant id, ?2 client_id, ?3 sub: (replayed code for this grant?, subject exists?) */
    [Q_GRANT_ADD_CHECK] = "SELECT EXISTS (SELECT 1 FROM auth_codes WHERE grant_id = ?1 AND "
                          "replayed = 1), ?3 = ?2 OR EXISTS (SELECT 1 FROM users WHERE sub = ?3)",
    [Q_GRANT_ADD] = "INSERT INTO grants (id, client_id, sub, scope, sid, amr, auth_time, "
                    "created_at, expires_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                    "?9, ?10)",
    [Q_GRANT_GET] = "SELECT " GRANT_COLS " FROM grants WHERE id = ?1",
    [Q_GRANT_REVOKE] = "UPDATE grants SET revoked = 1 WHERE id = ?1",
    [Q_USER_SESSIONS_DELETE] = "DELETE FROM sessions WHERE sub = ?1",
    [Q_USER_GRANTS_REVOKE] = "UPDATE grants SET revoked = 1 WHERE sub = ?1 AND revoked = 0",
    [Q_GRANT_ADVANCE] = "UPDATE grants SET refresh_gen = refresh_gen + 1 "
                        "WHERE id = ?1 AND refresh_gen = ?2 AND revoked = 0",
    [Q_REFRESH_ADD] = "INSERT INTO refresh_tokens (hash, grant_id, gen, idle_until) "
                      "VALUES (?1, ?2, ?3, ?4)",
    [Q_REFRESH_FIND] = "SELECT r.grant_id, r.gen, r.idle_until, g.refresh_gen, g.revoked, "
                       "g.expires_at FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id "
                       "WHERE r.hash = ?1",
    /* only the family's current token, not idle: a rotated one names no live grant */
    [Q_REFRESH_PEEK] = "SELECT " GRANT_COLS " FROM grants JOIN refresh_tokens "
                       "ON refresh_tokens.grant_id = grants.id WHERE refresh_tokens.hash = ?1 "
                       "AND refresh_tokens.gen = grants.refresh_gen "
                       "AND refresh_tokens.idle_until > ?2",
    [Q_ACCESS_ADD] = "INSERT INTO revoked_tokens (jti, expires_at) VALUES (?1, ?2) "
                     "ON CONFLICT (jti) DO NOTHING",
    /* one primary-key probe per table: this runs on every /userinfo request. Always one row:
     * (on the deny list?, the grant's revoked flag or NULL when there is no such grant) */
    [Q_ACCESS_CHECK] = "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?1), "
                       "(SELECT revoked FROM grants WHERE id = ?2)",
    [Q_CONSENT_GET] = "SELECT scope FROM consents WHERE sub = ?1 AND client_id = ?2",
    [Q_CONSENT_SET] = "INSERT INTO consents (sub, client_id, scope, created_at) "
                      "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (sub, client_id) "
                      "DO UPDATE SET scope = excluded.scope, created_at = excluded.created_at",
    [Q_PURGE_INTERACTIONS] = "DELETE FROM interactions WHERE expires_at <= ?1",
    [Q_PURGE_SESSIONS] = "DELETE FROM sessions WHERE expires_at <= ?1",
    [Q_PURGE_CODES] = "DELETE FROM auth_codes WHERE expires_at <= ?1",
    [Q_PURGE_ACCESS] = "DELETE FROM revoked_tokens WHERE expires_at <= ?1",
    /* the tokens of ended grants are deleted explicitly (not by the cascade) to be counted */
    [Q_PURGE_REFRESH] = "DELETE FROM refresh_tokens WHERE grant_id IN (" GRANTS_ENDED ")",
    [Q_PURGE_GRANTS] = "DELETE FROM grants WHERE expires_at <= ?1",
    [Q_JTI_USE] = "INSERT INTO used_jtis (iss, jti, expires_at) VALUES (?1, ?2, ?3)",
    [Q_PURGE_JTIS] = "DELETE FROM used_jtis WHERE expires_at <= ?1",
    [Q_LOGIN_GET] = "SELECT failures, locked_until, expires_at FROM login_failures "
                    "WHERE name = ?1",
    [Q_LOGIN_PUT] = "INSERT INTO login_failures (name, failures, locked_until, expires_at) "
                    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET "
                    "failures = excluded.failures, locked_until = excluded.locked_until, "
                    "expires_at = excluded.expires_at",
    [Q_LOGIN_DELETE] = "DELETE FROM login_failures WHERE name = ?1",
    [Q_PURGE_LOGINS] = "DELETE FROM login_failures WHERE expires_at <= ?1",
    [Q_RES_ADD] = "INSERT INTO resources (id, name, scopes, created_at) VALUES (?1, ?2, ?3, ?4)",
    [Q_RES_GET] = "SELECT id, name, scopes, created_at FROM resources WHERE id = ?1",
    [Q_RES_LIST] = "SELECT id, name, scopes, created_at FROM resources ORDER BY id",
    [Q_RES_DELETE] = "DELETE FROM resources WHERE id = ?1",
    [Q_RES_ALLOW] = "INSERT INTO resource_clients (resource, client_id, scopes, created_at) "
                    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (resource, client_id) "
                    "DO UPDATE SET scopes = excluded.scopes, created_at = excluded.created_at",
    [Q_RES_DISALLOW] = "DELETE FROM resource_clients WHERE resource = ?1 AND client_id = ?2",
    [Q_RES_CLIENT_SCOPE] = "SELECT scopes FROM resource_clients "
                           "WHERE resource = ?1 AND client_id = ?2",
    [Q_RES_CLIENTS] = "SELECT client_id, scopes, created_at FROM resource_clients "
                      "WHERE resource = ?1 ORDER BY client_id",
    [Q_CLIENT_RESOURCES] = "SELECT resource FROM resource_clients WHERE client_id = ?1 "
                           "ORDER BY resource",
    [Q_ISS_ADD] = "INSERT INTO trusted_issuers (issuer, jwks, jwks_uri, disabled, created_at, "
                  "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    [Q_ISS_CLIENT_ADD] = "INSERT INTO issuer_clients (issuer, client_id) VALUES (?1, ?2)",
    [Q_ISS_GET] = "SELECT " ISS_COLS " FROM trusted_issuers WHERE issuer = ?1",
    [Q_ISS_LIST] = "SELECT " ISS_COLS " FROM trusted_issuers ORDER BY issuer",
    [Q_ISS_CLIENTS] = "SELECT client_id FROM issuer_clients WHERE issuer = ?1 ORDER BY client_id",
    [Q_ISS_SET_DISABLED] = "UPDATE trusted_issuers SET disabled = ?2, updated_at = ?3 "
                           "WHERE issuer = ?1",
    [Q_ISS_DELETE] = "DELETE FROM trusted_issuers WHERE issuer = ?1",
    [Q_ISS_CLIENT_DEL] = "DELETE FROM issuer_clients WHERE issuer = ?1 AND client_id = ?2",
    [Q_JG_CLIENT] = "SELECT public, auth_method, grant_types FROM clients WHERE client_id = ?1",
    [Q_JG_ISSUER] = "SELECT i.disabled, EXISTS (SELECT 1 FROM issuer_clients c "
                    "WHERE c.issuer = i.issuer AND c.client_id = ?2) "
                    "FROM trusted_issuers i WHERE i.issuer = ?1",
    [Q_JG_USER] = "SELECT disabled FROM users WHERE sub = ?1",
};


/* Writers of this process take turns here before BEGIN IMMEDIATE. SQLite's own wait for a
 * busy write lock sleeps 1 to 100 ms between retries, which under concurrent logins made
 * requests wait tens of milliseconds for a lock held for well under one; queueing on a mutex
 * costs microseconds. Other processes (the CLI) still meet busy_timeout. One per process, not
 * per database: handles of one process write to one realm. */
static pthread_mutex_t writer_mu = PTHREAD_MUTEX_INITIALIZER;

/* --- errors ------------------------------------------------------------------------------ */

/* The errno a file of SQLite's default VFS kept from its last failed call; 0 if none. */
static int
file_errno(sqlite3_file *f)
{
    int e = 0;

    if (!f || !f->pMethods || f->pMethods->xFileControl(f, SQLITE_FCNTL_LAST_ERRNO, &e) !=
        SQLITE_OK)
        return 0;
    return e;
}

/* The errno behind a failed call: the one the WAL file kept (writes go there), else the
 * database file's, else the thread's errno SQLite saw last (often overwritten by then). */
static int
fault_errno(sqlite3 *db)
{
    sqlite3_file *f = NULL;
    int e = 0;

    if (!db)
        return 0;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) == SQLITE_OK)
        e = file_errno(f);
    f = NULL;
    if (e == 0 && sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK)
        e = file_errno(f);
    return e ? e : sqlite3_system_errno(db);
}

/* Which storage fault a failed call's extended result code (and the errno SQLite kept for it)
 * is; STORE_FAULT_NONE for what is not the environment's doing (a bug, a constraint, memory).
 * A write(2) that fails other than with ENOSPC comes back as SQLITE_IOERR_WRITE: its errno
 * tells a full disk (EDQUOT, EFBIG: a quota or RLIMIT_FSIZE) and a file that may not be written
 * (EROFS, EPERM: chattr +i, EACCES) from a failing disk. */
static enum store_fault
fault_kind(sqlite3 *db, int rc)
{
    int e = fault_errno(db);

    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return STORE_FAULT_LOCKED;
    case SQLITE_READONLY:
        return STORE_FAULT_READONLY;
    case SQLITE_FULL:
        return STORE_FAULT_FULL;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return STORE_FAULT_CORRUPT;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        if (rc == SQLITE_IOERR_NOMEM)
            return STORE_FAULT_NONE;
        if (e == ENOSPC || e == EDQUOT || e == EFBIG)
            return STORE_FAULT_FULL;
        if (e == EROFS || e == EPERM || e == EACCES)
            return STORE_FAULT_READONLY;
        return STORE_FAULT_IO;
    default:
        return STORE_FAULT_NONE;
    }
}

/* Report a failure met by a write (write) or a read, once, and turn it into GH_ESTORE: a
 * storage fault goes to the fault episode (store_fault.c), anything else is logged here. A
 * connection that SQLite made read-only (the file was replaced or moved: READONLY_DBMOVED, or
 * its -shm could not be written) stays so until it is opened again: it is reset when next idle
 * (conn_idle). */
static int
fail_rw(struct sq *b, const char *op, int rc, bool write)
{
    char msg[LOG_ESC_SIZE], detail[256];
    const char *m = b->db ? sqlite3_errmsg(b->db) : "no connection";
    enum store_fault k = fault_kind(b->db, rc);
    int e = fault_errno(b->db);
    const char *es;
    bool same;

    if (k == STORE_FAULT_NONE) {
        met_inc(MET_STORE_OTHER);
        log_err("store_error", "op=%s rc=%d msg=%s", op, rc, log_esc(m, msg));
        return GH_ESTORE;
    }
    if ((rc & 0xff) == SQLITE_READONLY) {
        b->reset = true;
        b->reset_kind = k;
    }
    es = sqlite3_errstr(rc);
    same = strcmp(m, es) == 0;
    if (e != 0 && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL ||
                   (rc & 0xff) == SQLITE_CANTOPEN)) {
        if (same)
            snprintf(detail, sizeof(detail), "%s (%s)", m, strerror(e));
        else
            snprintf(detail, sizeof(detail), "%s (%s: %s)", m, es, strerror(e));
    } else if (same) {
        snprintf(detail, sizeof(detail), "%s", m);
    } else {
        snprintf(detail, sizeof(detail), "%s (%s)", m, es);
    }
    store_fault_note(k, write, b->path, op, rc, detail);
    return GH_ESTORE;
}

int
sq_fail(struct sq *b, const char *op, int rc)
{
    return fail_rw(b, op, rc, b->wlocked);
}

/* Map the result of a failed step. Call before anything else touches the connection, so the
 * error message is still the step's. */
int
sq_map_rc(struct sq *b, const char *op, int rc)
{
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return GH_EEXIST;
    /* The user, client or grant a new row refers to is gone (deleted meanwhile). */
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return GH_ENOTFOUND;
    /* RAISE(ABORT, 'sub is retired') in users_sub_not_retired (0001_init.sql) */
    if (rc == SQLITE_CONSTRAINT_TRIGGER && strcmp(sqlite3_errmsg(b->db), "sub is retired") == 0)
        return GH_EEXIST;
    return sq_fail(b, op, rc);
}

/* --- statements -------------------------------------------------------------------------- */

static int conn_open(const char *path, unsigned flags, sqlite3 **out, char *err, size_t errsz);

/* --- connection reset ---------------------------------------------------------------------
 * A connection is opened again (the path may hold a new file by now) when SQLite made it
 * read-only (fail_rw), when a transaction could not be ended (it would keep the write lock, or
 * a stale snapshot, for good), and while a reopen fails. Only when it is idle: no statement
 * running and no transaction, unless that transaction is the stuck one. Statements of the old
 * connection stay valid one reset longer (a caller may still sq_done one; sqlite3_close_v2 keeps
 * the old connection until they are finalized). At most one attempt a second per handle: while
 * it fails every operation fails at once with the fault that caused it. */
static bool
conn_idle(struct sq *b)
{
    if (!b->db)
        return true;
    if (b->wlocked || (b->snap && !b->stuck) || (!b->stuck && !sqlite3_get_autocommit(b->db)))
        return false;
    for (sqlite3_stmt *p = sqlite3_next_stmt(b->db, NULL); p; p = sqlite3_next_stmt(b->db, p)) {
        if (sqlite3_stmt_busy(p))
            return false;
    }
    return true;
}

static int
conn_reopen(struct sq *b, const char *op)
{
    char err[512], esc[LOG_ESC_SIZE];
    int64_t now = clock_mono_us();
    sqlite3 *db = NULL;

    if (!conn_idle(b))
        return GH_OK;   /* the next idle moment */
    if (b->reopen_us && now - b->reopen_us < 1000000) {
        if (b->db)
            return GH_OK;
        store_fault_note((enum store_fault)b->reset_kind, true, b->path, op, SQLITE_CANTOPEN,
            "the database could not be opened again (see the first line of this fault)");
        return GH_ESTORE;
    }
    b->reopen_us = now;
    for (size_t i = 0; i < Q_COUNT; i++) {
        sqlite3_finalize(b->old_stmt[i]);
        b->old_stmt[i] = b->stmt[i];
        b->stmt[i] = NULL;
        /* a zombie connection keeps its transaction, and the lock, until its last statement
         * is gone: the stuck one goes now (nobody holds its statements: the operation that
         * could not end it has returned) */
        if (b->stuck) {
            sqlite3_finalize(b->old_stmt[i]);
            b->old_stmt[i] = NULL;
        }
    }
    sqlite3_close_v2(b->db);   /* a transaction still open is rolled back */
    b->db = NULL;
    b->snap = b->stuck = false;
    /* never STORE_CREATE: a new empty file in place of a missing database would hide it */
    if (conn_open(b->path, (b->flags & ~(unsigned)STORE_CREATE) | STORE_WORKER, &db, err,
            sizeof(err)) != GH_OK) {
        store_fault_note((enum store_fault)b->reset_kind, true, b->path, op, SQLITE_CANTOPEN,
            err);
        return GH_ESTORE;
    }
    b->db = db;
    b->reset = false;
    log_info("store_reopened", "db=%s op=%s", log_esc(b->path, esc), op);
    return GH_OK;
}

int
sq_prep(struct sq *b, enum q_id id, const char *op, sqlite3_stmt **out)
{
    int rc;

    *out = NULL;
    if ((b->reset || !b->db) && (rc = conn_reopen(b, op)) != GH_OK)
        return rc;
    if (!b->db)
        return GH_ESTORE;   /* not idle and no connection: cannot happen */
    if (!b->stmt[id]) {
        rc = sqlite3_prepare_v3(b->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
            &b->stmt[id], NULL);
        if (rc != SQLITE_OK) {
            b->stmt[id] = NULL;
            return sq_fail(b, op, rc);
        }
    }
    *out = b->stmt[id];
    return GH_OK;
}

/* Return a cached statement to its initial state; NULL is a no-op. */
void
sq_done(sqlite3_stmt *s)
{
    if (!s)
        return;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Binders: the first failure sticks in *brc, so a run of binds is checked once. NULL text or
 * blob binds SQL NULL. */
void
sq_bind_text(sqlite3_stmt *s, int i, const char *v, int *brc)
{
    if (*brc == SQLITE_OK)
        *brc = v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

void
sq_bind_int(sqlite3_stmt *s, int i, int64_t v, int *brc)
{
    if (*brc == SQLITE_OK)
        *brc = sqlite3_bind_int64(s, i, v);
}

void
sq_bind_blob(sqlite3_stmt *s, int i, const void *v, size_t n, int *brc)
{
    if (*brc != SQLITE_OK)
        return;
    if (!v || n > INT_MAX)
        *brc = v ? SQLITE_TOOBIG : sqlite3_bind_null(s, i);
    else
        *brc = sqlite3_bind_blob(s, i, v, (int)n, SQLITE_STATIC);
}

int
sq_bound(struct sq *b, const char *op, int brc)
{
    return brc == SQLITE_OK ? GH_OK : sq_fail(b, op, brc);
}

/* Step a statement that returns no rows. */
int
sq_step_done(struct sq *b, sqlite3_stmt *s, const char *op)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_DONE) {
        if (!b->wlocked)
            store_fault_ok(false);   /* a read works (again) */
        return GH_OK;
    }
    return sq_map_rc(b, op, rc);
}

/* Step a statement that returns at most one row: GH_OK with a row, GH_ENOTFOUND without. */
int
sq_step_row(struct sq *b, sqlite3_stmt *s, const char *op)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        if (!b->wlocked)
            store_fault_ok(false);
        return rc == SQLITE_ROW ? GH_OK : GH_ENOTFOUND;
    }
    return sq_map_rc(b, op, rc);
}

static int
run(struct sq *b, enum q_id id, const char *op)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = sq_prep(b, id, op, &s)) == GH_OK)
        rc = sq_step_done(b, s, op);
    sq_done(s);
    return rc;
}

char *
sq_col_str(sqlite3_stmt *s, int i)
{
    return x_strdup((const char *)sqlite3_column_text(s, i));
}

/* --- transactions ------------------------------------------------------------------------ */

/* Group commit. Every handle runs with synchronous=NORMAL, so COMMIT appends the transaction's
 * WAL frames with write(2) and syncs nothing; a durable write then waits, after COMMIT and
 * outside writer_mu, until an fdatasync of the WAL file that began after its commit has
 * returned. Whoever finds no sync running starts one for every commit made so far; the others
 * wait for it (or for the next one). Concurrent token requests therefore share one sync instead
 * of taking turns with one each under the write lock, as synchronous=FULL makes them do. What
 * reaches the caller is exactly as durable as with FULL: the sync covers the whole file, so all
 * frames up to our commit frame, and a checkpoint (which may let later writers overwrite them)
 * syncs the WAL and then the database first. Counters are per process: another process (the
 * CLI) syncs its own commits. */
static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cv = PTHREAD_COND_INITIALIZER;
static uint64_t sync_committed;   /* durable commits made, numbered in commit order */
static uint64_t sync_done;        /* commits up to this one are on disk */
static uint64_t sync_failed;      /* a sync covering commits up to this one failed */
static bool sync_running;

/* The WAL file through this connection's own handle (SQLITE_FCNTL_JOURNAL_POINTER); only the
 * thread using the connection calls this. No WAL (an in-memory database): nothing to sync. */
static int
wal_sync(struct sq *b)
{
    sqlite3_file *f = NULL;
    int rc = sqlite3_file_control(b->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f);

    if (rc != SQLITE_OK)
        return rc;
    /* every handle read the file when it was opened, which opened the WAL; without one nothing
     * could be synced, and saying so is the only safe answer */
    if (!f || !f->pMethods)
        return SQLITE_IOERR_FSYNC;
    return f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
}

/* Wait until commit number seq is on disk, syncing it ourselves if nobody is. */
static int
group_sync(struct sq *b, uint64_t seq, const char *op)
{
    uint64_t upto;
    int rc = SQLITE_OK;

    pthread_mutex_lock(&sync_mu);
    while (sync_done < seq && sync_failed < seq) {
        if (sync_running) {
            pthread_cond_wait(&sync_cv, &sync_mu);
            continue;
        }
        sync_running = true;
        upto = sync_committed;
        pthread_mutex_unlock(&sync_mu);
        rc = wal_sync(b);
        pthread_mutex_lock(&sync_mu);
        sync_running = false;
        /* After a failed fsync the kernel may have dropped the dirty pages: a later sync that
         * succeeds proves nothing for these commits, so they stay failed. */
        if (rc == SQLITE_OK)
            sync_done = upto > sync_done ? upto : sync_done;
        else
            sync_failed = upto > sync_failed ? upto : sync_failed;
        pthread_cond_broadcast(&sync_cv);
    }
    rc = sync_failed >= seq ? SQLITE_IOERR_FSYNC : SQLITE_OK;
    pthread_mutex_unlock(&sync_mu);
    return rc == SQLITE_OK ? GH_OK : fail_rw(b, op, rc, true);
}

/* Writers take the write lock up front (SECURITY.md (d)): a deferred transaction that upgrades
 * later can fail with SQLITE_BUSY without waiting for busy_timeout. A write is durable (its
 * tx_commit returns once it is on disk) unless it was begun with tx_write_light. */
int
sq_tx_write(struct sq *b, const char *op)
{
    struct timespec dl;
    int64_t t0 = clock_mono_us(), waited_ms;
    int rc;

    sq_read_end(b);   /* a write ends the read snapshot first */
    if ((b->reset || !b->db) && (rc = conn_reopen(b, op)) != GH_OK)
        return rc;
    /* The busy timeout bounds the whole wait for the write lock, the queue behind this
     * process's own writers included: while another process holds the lock, every write must
     * fail after about that long, not queue behind the ones that are waiting out theirs (a
     * queue that grows with every request, and requests that hang for minutes). */
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += BUSY_TIMEOUT_MS / 1000;
    dl.tv_nsec += (long)(BUSY_TIMEOUT_MS % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    if (pthread_mutex_timedlock(&writer_mu, &dl) != 0) {
        store_fault_note(STORE_FAULT_LOCKED, true, b->path, op, SQLITE_BUSY,
            "database is locked (this process's writers queued behind one that waited for it)");
        return GH_ESTORE;
    }
    b->wlocked = true;
    b->light = false;
    waited_ms = (clock_mono_us() - t0) / 1000;
    if (waited_ms > 0)
        (void)sqlite3_busy_timeout(b->db,
            waited_ms < BUSY_TIMEOUT_MS ? BUSY_TIMEOUT_MS - (int)waited_ms : 1);
    rc = run(b, Q_BEGIN_WRITE, op);
    if (waited_ms > 0)
        (void)sqlite3_busy_timeout(b->db, BUSY_TIMEOUT_MS);
    if (rc != GH_OK) {
        b->wlocked = false;
        pthread_mutex_unlock(&writer_mu);
    }
    return rc;
}

/* A write whose loss in a power cut harms nobody: creating short-lived browser state (a
 * pending login, a session, an authorization code not yet used, a session's last use). Its
 * commit survives a crash of the process but waits for no sync; it becomes durable with the
 * next sync of a durable commit or a checkpoint. A power cut may lose it: the user signs in
 * again. Everything that spends or revokes (codes taken, refresh rotation, logout, revocation)
 * and every token grant is durable (issue 2: a used code or a revoked token must not come back
 * after a power loss). Spending a code or an interaction is light too: no token exists for it
 * until the durable commit of its grant, whose sync covers the earlier frames. A transaction
 * that turns out to revoke something is made durable before its commit (tx_make_durable). An
 * SSO flow waits for one sync, shared with the flows committing beside it. */
int
sq_tx_write_light(struct sq *b, const char *op)
{
    int rc = sq_tx_write(b, op);

    if (rc == GH_OK)
        b->light = true;
    return rc;
}

void
sq_tx_make_durable(struct sq *b)
{
    b->light = false;
}

static void
writer_release(struct sq *b)
{
    b->light = false;
    if (b->wlocked) {
        b->wlocked = false;
        pthread_mutex_unlock(&writer_mu);
    }
}

/* Reads of several statements (a client and its URIs) see one snapshot. */
int
sq_tx_read(struct sq *b, const char *op)
{
    return b->snap ? GH_OK : run(b, Q_BEGIN_READ, op);
}

/* store_read_begin: one read transaction for the reads that follow, until sq_read_end or the
 * next write. Each read transaction in WAL mode takes and drops a read mark in the -shm file
 * (two fcntl calls under a process-wide mutex of SQLite's): a token request's client lookup and
 * resource check now share one. */
int
sq_read_begin(void *impl)
{
    struct sq *b = impl;
    int rc;

    if (b->snap || b->wlocked || (b->db && !sqlite3_get_autocommit(b->db)))
        return GH_OK;
    if ((rc = run(b, Q_BEGIN_READ, "read_begin")) == GH_OK)
        b->snap = true;
    return rc;
}

void
sq_read_end(void *impl)
{
    struct sq *b = impl;

    if (!b->snap)
        return;
    b->snap = false;
    if (!b->db || sqlite3_get_autocommit(b->db))
        return;
    /* A snapshot that stayed open would show this thread an old state of the database (a
     * revoked token still live) and hold back every checkpoint. */
    if (run(b, Q_COMMIT, "read_end") != GH_OK && !sqlite3_get_autocommit(b->db))
        (void)run(b, Q_ROLLBACK, "read_end");
    if (!sqlite3_get_autocommit(b->db)) {
        b->stuck = b->reset = true;
        b->reset_kind = STORE_FAULT_IO;
    }
}

int
sq_tx_commit(struct sq *b, const char *op)
{
    bool durable = b->wlocked && !b->light, write = b->wlocked;
    uint64_t seq = 0;
    int rc;

    if (b->snap && !b->wlocked)
        return GH_OK;   /* a read inside the snapshot: sq_read_end commits */
    rc = run(b, Q_COMMIT, op);

    if (rc == GH_OK && durable) {
        pthread_mutex_lock(&sync_mu);   /* numbered under writer_mu: in commit order */
        seq = ++sync_committed;
        pthread_mutex_unlock(&sync_mu);
    }
    if (rc == GH_OK || sqlite3_get_autocommit(b->db))
        writer_release(b);   /* a failed COMMIT leaves the transaction open for tx_rollback */
    if (seq && b->defer_sync)
        b->ticket = seq;   /* the caller waits for it later (store_sync_take) */
    else if (seq)
        rc = group_sync(b, seq, op);
    if (rc == GH_OK)
        store_fault_ok(write);   /* the kind of operation that failed works again */
    return rc;
}

void
sq_sync_defer(void *impl, bool on)
{
    struct sq *b = impl;

    b->defer_sync = on;
}

uint64_t
sq_sync_take(void *impl)
{
    struct sq *b = impl;
    uint64_t t = b->ticket;

    b->ticket = 0;
    return t;
}

int
sq_sync_wait(void *impl, uint64_t ticket)
{
    return ticket ? group_sync(impl, ticket, "sync_wait") : GH_OK;
}

/* Undo an open transaction, if any (SQLite may already have rolled it back itself). */
void
sq_tx_rollback(struct sq *b)
{
    if (b->snap && !b->wlocked)
        return;         /* a read inside the snapshot failed; the snapshot stays */
    if (b->db && !sqlite3_get_autocommit(b->db)) {
        (void)run(b, Q_ROLLBACK, "rollback");
        /* still open: it would keep SQLite's write lock once writer_mu is released, and every
         * later write of every process would wait for it; the connection goes instead */
        if (!sqlite3_get_autocommit(b->db)) {
            b->stuck = b->reset = true;
            b->reset_kind = STORE_FAULT_IO;
        }
    }
    writer_release(b);
    if (b->stuck)
        (void)conn_reopen(b, "rollback");   /* now: this thread may not write again soon */
}

/* --- open, migrate, check ---------------------------------------------------------------- */

static int
exec_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(s, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

/* Run a PRAGMA that answers with one text row; *out gets a copy (caller frees). */
static int
exec_text(sqlite3 *db, const char *sql, char **out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

    *out = NULL;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *out = sq_col_str(s, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

/* The first error of an open: one line for the operator. */
static int
open_err(char *err, size_t errsz, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
open_err(char *err, size_t errsz, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err && errsz) {
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
        /* SQLite reports may span lines (quick_check); the operator gets one. */
        for (char *p = err; *p; p++) {
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        }
    }
    return rc;
}

/* Apply the pending migrations, each with its version bump in one BEGIN IMMEDIATE transaction.
 * user_version is read again under the write lock, so two processes starting at once do not
 * both apply the same file. */
static int
migrate(sqlite3 *db, const char *path, char *err, size_t errsz)
{
    int64_t v = 0;
    char bump[64], esc[LOG_ESC_SIZE];

    for (;;) {
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
            exec_int(db, "PRAGMA user_version", &v) != SQLITE_OK)
            goto fail;
        if (v < 0 || (uint64_t)v >= store_sqlite_migration_count) {
            if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                goto fail;
            return GH_OK;
        }
        /* PRAGMA takes no parameters; this is our own integer, not data. */
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %lld", (long long)(v + 1));
        if (sqlite3_exec(db, store_sqlite_migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, bump, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            goto fail;
        log_info("store_migrated", "db=%s version=%lld", log_esc(path, esc), (long long)(v + 1));
    }
fail:
    open_err(err, errsz, 0, "migrating %s to schema version %lld failed: %s", path,
        (long long)(v + 1), sqlite3_errmsg(db));
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return GH_ESTORE;
}

/* The directory part of path ("." for a bare name), into out. */
static void
dir_of(const char *path, char *out, size_t outsz)
{
    const char *slash = strrchr(path, '/');

    if (!slash) {
        snprintf(out, outsz, ".");
    } else if (slash == path) {
        snprintf(out, outsz, "/");
    } else {
        snprintf(out, outsz, "%.*s", (int)(slash - path), path);
    }
}

/* Everything an open checks before the handle is handed out; db is open. */
static int
open_checks(sqlite3 *db, const char *path, bool ro, bool worker, char *err, size_t errsz)
{
    int64_t objects = 0, appid = 0, version = 0;
    int64_t count = (int64_t)store_sqlite_migration_count;
    char *text = NULL;
    int rc;

    /* Hardening: no writable_schema tricks, no schema functions with side effects, and
     * "double-quoted strings" are identifiers only. */
    if (sqlite3_extended_result_codes(db, 1) != SQLITE_OK ||
        sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) != SQLITE_OK ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) != SQLITE_OK ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, NULL) != SQLITE_OK ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL) != SQLITE_OK)
        return open_err(err, errsz, GH_ESTORE, "cannot configure the SQLite connection: %s",
            sqlite3_errmsg(db));
    /* SQLite silently falls back to read-only when the file is not writable. */
    if (!ro && sqlite3_db_readonly(db, "main") == 1)
        return open_err(err, errsz, GH_ESTORE,
            "%s is read-only (gatehouse needs to write it and its directory)", path);

    /* The first read: a file that is not SQLite fails here. */
    rc = exec_int(db, "SELECT count(*) FROM sqlite_schema", &objects);
    if (rc == SQLITE_NOTADB)
        return open_err(err, errsz, GH_ESTORE, "%s is not a SQLite database", path);
    if ((rc & 0xff) == SQLITE_CORRUPT)
        return open_err(err, errsz, GH_ESTORE, "%s is corrupt: %s", path, sqlite3_errmsg(db));
    if (rc != SQLITE_OK)
        return open_err(err, errsz, GH_ESTORE, "cannot read %s: %s", path, sqlite3_errmsg(db));

    if (!ro) {
        if ((rc = exec_text(db, "PRAGMA journal_mode = WAL", &text)) != SQLITE_OK)
            goto sqlerr;
        if (!text || (strcmp(text, "wal") != 0 && strcmp(text, "memory") != 0)) {
            open_err(err, errsz, GH_ESTORE, "%s: cannot switch to WAL mode (journal_mode is %s)",
                path, text ? text : "unknown");
            free(text);
            return GH_ESTORE;
        }
        free(text);
        text = NULL;
    }
    /* SECURITY.md (d): NORMAL alone may lose the last commits on power loss, which would
     * bring spent codes and rotated refresh tokens back. Migrations commit with FULL; sq_open
     * then switches to group commit (group_sync). */
    if ((rc = sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL)) != SQLITE_OK)
        goto sqlerr;
    if ((rc = sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL)) != SQLITE_OK)
        goto sqlerr;

    /* Once per process, by the first handle: a worker's quick_check would re-read the file. */
    if (!worker) {
        rc = exec_text(db, "PRAGMA quick_check(1)", &text);
        if ((rc & 0xff) == SQLITE_CORRUPT ||
            (rc == SQLITE_OK && (!text || strcmp(text, "ok") != 0))) {
            open_err(err, errsz, GH_ESTORE, "%s is corrupt: %s (see: gatehouse db check)", path,
                rc == SQLITE_OK && text ? text : sqlite3_errmsg(db));
            free(text);
            return GH_ESTORE;
        }
        free(text);
        text = NULL;
        if (rc != SQLITE_OK)
            goto sqlerr;
    }

    if ((rc = exec_int(db, "PRAGMA user_version", &version)) != SQLITE_OK)
        goto sqlerr;
    if ((rc = exec_int(db, "PRAGMA application_id", &appid)) != SQLITE_OK)
        goto sqlerr;
    if (version > count)
        return open_err(err, errsz, GH_EINVAL,
            "%s has schema version %lld, newer than this gatehouse supports (%lld); "
            "upgrade gatehouse", path, (long long)version, (long long)count);
    /* Never lay our schema over another application's tables. */
    if ((version > 0 && appid != APPLICATION_ID) || (appid != 0 && appid != APPLICATION_ID) ||
        (version == 0 && objects > 0))
        return open_err(err, errsz, GH_EINVAL, "%s is not a gatehouse database", path);
    if (version < count && ro)
        return open_err(err, errsz, GH_EINVAL,
            "%s has schema version %lld, older than this gatehouse (%lld); open it once "
            "read-write to upgrade it", path, (long long)version, (long long)count);
    if (version < count && worker)
        return open_err(err, errsz, GH_EINVAL, "%s: schema changed under a running gatehouse",
            path);
    if (version < count)
        return migrate(db, path, err, errsz);
    return GH_OK;
sqlerr:
    return open_err(err, errsz, GH_ESTORE, "cannot open %s: %s", path, sqlite3_errmsg(db));
}

/* Once per process, before SQLite is first used: no allocation statistics, which SQLite
 * keeps under one process-wide mutex taken on every malloc and free (a quarter of the futex
 * calls of a token request). A process that used SQLite before (a test) keeps them. */
static pthread_once_t sq_init_once = PTHREAD_ONCE_INIT;

static void
sq_init(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* Open and check one connection to path (the work of sq_open, and of conn_reopen). */
static int
conn_open(const char *path, unsigned flags, sqlite3 **out, char *err, size_t errsz)
{
    bool ro = (flags & STORE_READONLY) != 0;
    bool create = (flags & STORE_CREATE) != 0 && !ro;
    sqlite3 *db = NULL;
    struct stat sb;
    char dir[PATH_MAX];
    int oflags, rc;

    *out = NULL;
    if (strlen(path) >= PATH_MAX)
        return open_err(err, errsz, GH_EINVAL, "database path is too long");
    if (stat(path, &sb) == 0) {
        if (!S_ISREG(sb.st_mode))
            return open_err(err, errsz, GH_EINVAL, "%s is not a regular file", path);
        create = false;
        if (!ro && access(path, W_OK) != 0)
            return open_err(err, errsz, GH_ESTORE,
                "%s is read-only (%s); gatehouse needs to write it", path, strerror(errno));
    } else if (errno == ENOENT) {
        if (!create)
            return open_err(err, errsz, GH_ENOTFOUND, "no database at %s (run: gatehouse init)",
                path);
    } else {
        return open_err(err, errsz, GH_ESTORE, "cannot access %s: %s", path, strerror(errno));
    }
    /* WAL keeps path-wal and path-shm beside the database. */
    dir_of(path, dir, sizeof(dir));
    if (!ro && access(dir, W_OK | X_OK) != 0)
        return open_err(err, errsz, GH_ESTORE,
            "%s is read-only: its directory %s is not writable (%s); gatehouse keeps its "
            "-wal and -shm files there", path, dir, strerror(errno));

    pthread_once(&sq_init_once, sq_init);
    oflags = SQLITE_OPEN_NOMUTEX;
    oflags |= ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (create)
        oflags |= SQLITE_OPEN_CREATE;
    rc = sqlite3_open_v2(path, &db, oflags, NULL);
    if (rc != SQLITE_OK) {
        open_err(err, errsz, GH_ESTORE, "cannot open %s: %s", path,
            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return GH_ESTORE;
    }
    if ((rc = open_checks(db, path, ro, (flags & STORE_WORKER) != 0, err, errsz)) != GH_OK) {
        sqlite3_close(db);
        return rc;
    }
    /* Durable writes are synced by group_sync after COMMIT, before anyone hears of them: the
     * guarantee of FULL, with one sync shared by concurrent commits. */
    if (sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        open_err(err, errsz, GH_ESTORE, "cannot open %s: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return GH_ESTORE;
    }
    *out = db;
    return GH_OK;
}

static int
sq_open(const char *path, unsigned flags, void **impl, char *err, size_t errsz)
{
    struct sq *b = NULL;
    sqlite3 *db = NULL;
    int rc;

    *impl = NULL;
    if ((rc = conn_open(path, flags, &db, err, errsz)) != GH_OK)
        return rc;
    b = x_calloc(1, sizeof(*b));
    b->db = db;
    b->path = x_strdup(path);
    b->flags = flags;
    *impl = b;
    return GH_OK;
}

static void
sq_close(void *impl)
{
    struct sq *b = impl;
    int rc;

    if (!b)
        return;
    sq_tx_rollback(b);   /* a transaction left open is a bug; never keep writer_mu with it */
    for (size_t i = 0; i < Q_COUNT; i++) {
        sqlite3_finalize(b->stmt[i]);
        sqlite3_finalize(b->old_stmt[i]);
    }
    if ((rc = sqlite3_close(b->db)) != SQLITE_OK)
        sq_fail(b, "close", rc);
    free(b->path);
    free(b);
}

static int
sq_schema_version(void *impl, int *current, int *supported)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int rc;

    *current = 0;
    *supported = (int)store_sqlite_migration_count;
    if ((rc = sq_prep(b, Q_USER_VERSION, "schema_version", &s)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, "schema_version")) != GH_OK)
        goto out;
    *current = sqlite3_column_int(s, 0);
out:
    sq_done(s);
    return rc == GH_ENOTFOUND ? GH_ESTORE : rc;
}

/* PRAGMA user_version: a read transaction on the file, so a lock another process holds in
 * exclusive mode makes it wait, here at most timeout_ms instead of the busy timeout. A file
 * unlinked or renamed away under the open handle still reads (the descriptor keeps the old
 * inode) while nothing new reaches the path: SQLite's HAS_MOVED check tells. */
static int
sq_ping(void *impl, unsigned timeout_ms)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int moved = 0, rc;

    if ((rc = sq_prep(b, Q_USER_VERSION, "ping", &s)) != GH_OK)
        return rc;
    if (sqlite3_file_control(b->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK &&
        moved) {
        sq_done(s);
        store_fault_note(STORE_FAULT_READONLY, true, b->path, "ping", SQLITE_READONLY_DBMOVED,
            "the database file was removed or replaced while open");
        return GH_ESTORE;
    }
    (void)sqlite3_busy_timeout(b->db, timeout_ms < BUSY_TIMEOUT_MS ? (int)timeout_ms
                                                                  : BUSY_TIMEOUT_MS);
    rc = sq_step_row(b, s, "ping");
    (void)sqlite3_busy_timeout(b->db, BUSY_TIMEOUT_MS);
    sq_done(s);
    return rc == GH_ENOTFOUND ? GH_ESTORE : rc;
}

/* Append one report line; past CHECK_REPORT_MAX the report is cut (it is for a human). */
static void
report_add(char **rep, size_t *len, const char *line)
{
    size_t n = strlen(line);

    if (*len + n + 2 > CHECK_REPORT_MAX)
        return;
    *rep = x_realloc(*rep, *len + n + 2);
    if (*len)
        (*rep)[(*len)++] = '\n';
    memcpy(*rep + *len, line, n + 1);
    *len += n;
}

static int
sq_check(void *impl, bool full, char **report)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    char *rep = NULL, line[512];
    size_t len = 0;
    bool ok = true;
    int rc, src;

    *report = NULL;
    if ((rc = sq_prep(b, full ? Q_INTEGRITY_CHECK : Q_QUICK_CHECK, "check", &s)) != GH_OK)
        goto out;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(s, 0);
        if (t && strcmp(t, "ok") == 0)
            continue;
        ok = false;
        report_add(&rep, &len, t ? t : "(null)");
    }
    if (src != SQLITE_DONE && (src & 0xff) != SQLITE_CORRUPT) {
        rc = sq_fail(b, "check", src);
        goto out;
    }
    if (src != SQLITE_DONE) {
        ok = false;
        report_add(&rep, &len, sqlite3_errmsg(b->db));
    }
    sq_done(s);
    s = NULL;
    /* integrity_check does not look at foreign keys. */
    if (full) {
        if ((rc = sq_prep(b, Q_FK_CHECK, "check", &s)) != GH_OK)
            goto out;
        while ((src = sqlite3_step(s)) == SQLITE_ROW) {
            ok = false;
            snprintf(line, sizeof(line), "foreign key violation: %s row %lld refers to %s",
                (const char *)sqlite3_column_text(s, 0), (long long)sqlite3_column_int64(s, 1),
                (const char *)sqlite3_column_text(s, 2));
            report_add(&rep, &len, line);
        }
        if (src != SQLITE_DONE) {
            rc = sq_fail(b, "check", src);
            goto out;
        }
    }
    if (ok)
        report_add(&rep, &len, "ok");
    *report = rep;
    rep = NULL;
    rc = GH_OK;
out:
    sq_done(s);
    free(rep);
    return rc;
}

/* --- meta -------------------------------------------------------------------------------- */

static int
sq_meta_get(void *impl, const char *name, char **value)
{
    return sq_row_text(impl, Q_META_GET, "meta_get", name, NULL, value);
}

/* meta_set / meta_add: one statement in its own write transaction; must_match: GH_ENOTFOUND
 * when it wrote no row. */
static int
meta_write(struct sq *b, enum q_id id, const char *op, const char *name, const char *value,
    bool must_match)
{
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, id, op, false, &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, name, &brc);
    sq_bind_text(s, 2, value, &brc);
    return sq_write_commit(b, s, brc, op, must_match);
}

static int
sq_meta_set(void *impl, const char *name, const char *value)
{
    return meta_write(impl, Q_META_SET, "meta_set", name, value, false);
}

static int
sq_meta_add(void *impl, const char *name, const char *value)
{
    int rc = meta_write(impl, Q_META_ADD, "meta_add", name, value, true);

    return rc == GH_ENOTFOUND ? GH_EEXIST : rc;   /* DO NOTHING: the name was taken */
}

/* --- signing keys ------------------------------------------------------------------------ */

static int
sq_key_add(void *impl, const struct key_meta *k, int64_t alg_keys)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, Q_KEY_ADD, "key_add", false, &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, k->kid, &brc);
    sq_bind_text(s, 2, k->alg, &brc);
    sq_bind_int(s, 3, k->created_at, &brc);
    sq_bind_int(s, 4, k->activate_at, &brc);
    sq_bind_blob(s, 5, k->sealed, k->sealed_len, &brc);
    sq_bind_int(s, 6, alg_keys, &brc);
    rc = sq_write_commit(b, s, brc, "key_add", true);
    /* nothing inserted: another process added a key of this alg first */
    return rc == GH_ENOTFOUND ? GH_EEXIST : rc;
}

/* sq_list reader: a signing_keys row (kid, alg, created_at, activate_at, retire_at, sealed). */
static int
row_key(struct sq *b, sqlite3_stmt *s, const char *op, void *slot)
{
    struct key_meta *k = slot;

    (void)b;
    (void)op;
    k->kid = sq_col_str(s, 0);
    k->alg = sq_col_str(s, 1);
    k->created_at = sqlite3_column_int64(s, 2);
    k->activate_at = sqlite3_column_int64(s, 3);
    k->retire_at = sqlite3_column_int64(s, 4); /* NULL reads as 0: never */
    if (sqlite3_column_type(s, 5) == SQLITE_BLOB) {
        int bn = sqlite3_column_bytes(s, 5);
        const void *blob = sqlite3_column_blob(s, 5);
        /* the schema's CHECK bounds it; a blob read as empty is no key */
        if (bn > 0 && bn <= STORE_KEY_SEALED_MAX && blob) {
            k->sealed = x_malloc((size_t)bn);
            memcpy(k->sealed, blob, (size_t)bn);
            k->sealed_len = (size_t)bn;
        }
    }
    return GH_OK;
}

static const struct sq_rows key_rows = { &store_elems_key, false, row_key };

static int
sq_key_list(void *impl, struct key_meta **out, size_t *n)
{
    void *list = NULL;
    int rc = sq_list(impl, Q_KEY_LIST, "key_list", NULL, &key_rows, &list, n);

    *out = list;
    return rc;
}

static int
sq_key_retire(void *impl, const char *kid, int64_t retire_at)
{
    return sq_write_keyed(impl, Q_KEY_RETIRE, "key_retire", NULL, kid, retire_at);
}

/* --- helpers of the other store_sqlite_*.c files ----------------------------------------- */

/* a - b, saturated at the int64 range (times come from callers; never overflow in C). */
int64_t
sq_sub_sat(int64_t a, int64_t b)
{
    if (b > 0 && a < INT64_MIN + b)
        return INT64_MIN;
    if (b < 0 && a > INT64_MAX + b)
        return INT64_MAX;
    return a - b;
}

/* Copy a STORE_HASH_LEN blob column into out; false if it is anything else (a row this build
 * cannot have written: the schema CHECKs the length). */
bool
sq_col_hash(sqlite3_stmt *s, int i, unsigned char out[STORE_HASH_LEN])
{
    const void *p = sqlite3_column_blob(s, i);

    if (!p || sqlite3_column_bytes(s, i) != STORE_HASH_LEN)
        return false;
    memcpy(out, p, STORE_HASH_LEN);
    return true;
}

void
sq_bind_hash(sqlite3_stmt *s, int i, const unsigned char *h, int *brc)
{
    sq_bind_blob(s, i, h, STORE_HASH_LEN, brc);
}

int
sq_bad_row(const char *op, const char *what)
{
    log_err("store_error", "op=%s rc=0 msg=\"%s\"", op, what);
    return GH_ESTORE;
}

/* Column 0 (text) of the single row of statement id keyed by k1 (?1) and, if the statement has
 * a ?2, k2: GH_OK with *out (caller frees), GH_ENOTFOUND without a row. */
int
sq_row_text(struct sq *b, enum q_id id, const char *op, const char *k1, const char *k2,
    char **out)
{
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = sq_prep(b, id, op, &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, k1, &brc);
    if (sqlite3_bind_parameter_count(s) >= 2)
        sq_bind_text(s, 2, k2, &brc);
    if ((rc = sq_bound(b, op, brc)) == GH_OK && (rc = sq_step_row(b, s, op)) == GH_OK)
        *out = sq_col_str(s, 0);
    sq_done(s);
    return rc;
}

/* Open a write transaction (light: sq_tx_write_light) and prepare statement id in it; on
 * failure nothing stays open. Ends with sq_write_commit. */
int
sq_write_begin(struct sq *b, enum q_id id, const char *op, bool light, sqlite3_stmt **out)
{
    int rc;

    if ((rc = light ? sq_tx_write_light(b, op) : sq_tx_write(b, op)) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, id, op, out)) != GH_OK)
        sq_tx_rollback(b);
    return rc;
}

/* Run s, bound (brc) and inside the write transaction the caller opened, and commit; roll back
 * on any failure, and (must_match) with GH_ENOTFOUND when s changed no row. s is reset either
 * way. For the writes that are one statement. */
int
sq_write_commit(struct sq *b, sqlite3_stmt *s, int brc, const char *op, bool must_match)
{
    int rc;

    if ((rc = sq_bound(b, op, brc)) != GH_OK || (rc = sq_step_done(b, s, op)) != GH_OK)
        goto out;
    if (must_match && sqlite3_changes(b->db) == 0) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    sq_done(s);
    rc = sq_tx_commit(b, op);
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    return rc;
}

/* One UPDATE/DELETE in its own write transaction, keyed by ?1 (the hash, or text when hash is
 * NULL) and, if the statement has a ?2, num. GH_ENOTFOUND when no row matched. */
int
sq_write_keyed(struct sq *b, enum q_id id, const char *op, const unsigned char *hash,
    const char *text, int64_t num)
{
    sqlite3_stmt *s = NULL;
    /* A session's last use, and removing a session already dead, harm nobody if lost. */
    bool light = id == Q_SESSION_TOUCH || id == Q_SESSION_DELETE_DEAD;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, id, op, light, &s)) != GH_OK)
        return rc;
    if (hash)
        sq_bind_hash(s, 1, hash, &brc);
    else
        sq_bind_text(s, 1, text, &brc);
    if (sqlite3_bind_parameter_count(s) >= 2)
        sq_bind_int(s, 2, num, &brc);
    return sq_write_commit(b, s, brc, op, true);
}

/* --- lists ------------------------------------------------------------------------------- */

int
sq_list(struct sq *b, enum q_id id, const char *op, const char *key,
    const struct sq_rows *rows, void **out, size_t *n)
{
    sqlite3_stmt *s = NULL;
    unsigned char *list = NULL;
    size_t size = rows->elems->size, len = 0, cap = 1;
    int brc = SQLITE_OK, rc, src;

    *out = NULL;
    *n = 0;
    if (rows->snapshot && (rc = sq_tx_read(b, op)) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, id, op, &s)) != GH_OK)
        goto out;
    if (key)
        sq_bind_text(s, 1, key, &brc);
    if ((rc = sq_bound(b, op, brc)) != GH_OK)
        goto out;
    list = x_calloc(cap, size);
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (len + 1 == cap) {   /* the element after the last stays zeroed: the terminator */
            list = x_realloc(list, 2 * cap * size);
            memset(list + cap * size, 0, cap * size);
            cap *= 2;
        }
        rc = rows->read(b, s, op, list + len * size);
        len++;   /* what the reader filled is freed with the list, even when it failed */
        if (rc != GH_OK)
            goto out;
    }
    if (src != SQLITE_DONE) {
        rc = sq_fail(b, op, src);
        goto out;
    }
    sq_done(s);
    s = NULL;
    if (rows->snapshot && (rc = sq_tx_commit(b, op)) != GH_OK)
        goto out;
    *out = list;
    *n = len;
    list = NULL;
out:
    sq_done(s);
    if (rc != GH_OK && rows->snapshot)
        sq_tx_rollback(b);
    if (list)
        rows->elems->free(list, len);
    return rc;
}

const struct store_ops store_sqlite_ops = {
    .scheme = "sqlite",
    .shared = false,
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .check = sq_check,
    .ping = sq_ping,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .meta_add = sq_meta_add,
    .user_add = sq_user_add,
    .user_get = sq_user_get,
    .user_get_by_sub = sq_user_get_by_sub,
    .user_list = sq_user_list,
    .user_set_password = sq_user_set_password,
    .user_set_disabled = sq_user_set_disabled,
    .user_delete = sq_user_delete,
    .client_add = sq_client_add,
    .client_get = sq_client_get,
    .client_list = sq_client_list,
    .client_set_secret = sq_client_set_secret,
    .client_delete = sq_client_delete,
    .key_add = sq_key_add,
    .key_list = sq_key_list,
    .key_retire = sq_key_retire,
    .interaction_add = sq_interaction_add,
    .interaction_get = sq_interaction_get,
    .interaction_take = sq_interaction_take,
    .session_add = sq_session_add,
    .session_get = sq_session_get,
    .session_touch = sq_session_touch,
    .session_delete = sq_session_delete,
    .code_add = sq_code_add,
    .code_take = sq_code_take,
    .grant_add = sq_grant_add,
    .grant_get = sq_grant_get,
    .grant_revoke = sq_grant_revoke,
    .user_revoke = sq_user_revoke,
    .refresh_rotate = sq_refresh_rotate,
    .refresh_peek = sq_refresh_peek,
    .token_revoke = sq_token_revoke,
    .token_check = sq_token_check,
    .jti_use = sq_jti_use,
    .issuer_allow = sq_issuer_allow,
    .issuer_disallow = sq_issuer_disallow,
    .read_begin = sq_read_begin,
    .read_end = sq_read_end,
    .sync_defer = sq_sync_defer,
    .sync_take = sq_sync_take,
    .sync_wait = sq_sync_wait,
    .login_count = sq_login_count,
    .login_get = sq_login_get,
    .login_reset = sq_login_reset,
    .consent_get = sq_consent_get,
    .consent_set = sq_consent_set,
    .purge = sq_purge,
    .resource_add = sq_resource_add,
    .resource_get = sq_resource_get,
    .resource_list = sq_resource_list,
    .resource_delete = sq_resource_delete,
    .resource_allow = sq_resource_allow,
    .resource_disallow = sq_resource_disallow,
    .resource_client_scope = sq_resource_client_scope,
    .resource_clients = sq_resource_clients,
    .client_resources = sq_client_resources,
    .issuer_add = sq_issuer_add,
    .issuer_get = sq_issuer_get,
    .issuer_list = sq_issuer_list,
    .issuer_set_disabled = sq_issuer_set_disabled,
    .issuer_delete = sq_issuer_delete,
    .jwt_grant_check = sq_jwt_grant_check,
    .tab_list = sq_tab_list,
    .tab_columns = sq_tab_columns,
    .tab_count = sq_tab_count,
    .tab_read = sq_tab_read,
    .copy_begin = sq_copy_begin,
    .copy_insert = sq_copy_insert,
    .copy_end = sq_copy_end,
};

