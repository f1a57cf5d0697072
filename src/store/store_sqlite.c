/* store_sqlite.c — the SQLite backend of store.h, and the only file that includes <sqlite3.h>.
 *
 * One connection per thread (SQLITE_OPEN_NOMUTEX), opened with the settings of SECURITY.md (d):
 * WAL, synchronous=FULL (a power cut must not resurrect spent codes), foreign keys on, a 5 s
 * busy timeout, defensive mode, and a quick_check before anything is trusted. The schema is the
 * numbered files in schema/sqlite/, compiled in by the Makefile; PRAGMA user_version counts the
 * ones applied, and each pending one runs in its own BEGIN IMMEDIATE transaction together with
 * the version bump, so a crash mid-migration leaves the previous version intact.
 *
 * Every statement is prepared once per connection (lazily, cached by enum q_id) and only ever
 * given data through sqlite3_bind_*; no SQL text is built from data. Every write is one
 * BEGIN IMMEDIATE … COMMIT transaction (a client and its URIs together) that is rolled back on
 * any error. Errors: UNIQUE/PRIMARY KEY violations and a retired sub are GH_EEXIST; a row whose
 * parent (user, client, grant) is gone is GH_ENOTFOUND; everything else is GH_ESTORE, logged
 * here once as `store_error op=… rc=… msg=…`.
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
#include "model/client.h"
#include "model/user.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "util/str.h"
#include "util/xmem.h"

/* Generated from the files in schema/sqlite/ by schema/embed.sh (see the Makefile). */
extern const char *const store_sqlite_migrations[];
extern const size_t store_sqlite_migration_count;

#define BUSY_TIMEOUT_MS 5000
#define APPLICATION_ID  1195922245  /* "GHSE", set by 0001_init.sql */
#define URI_REDIRECT    0           /* client_uris.kind */
#define URI_POST_LOGOUT 1
#define CHECK_REPORT_MAX (1024 * 1024)

enum q_id {
    Q_BEGIN_WRITE,
    Q_BEGIN_READ,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_USER_VERSION,
    Q_QUICK_CHECK,
    Q_INTEGRITY_CHECK,
    Q_FK_CHECK,
    Q_META_GET,
    Q_META_SET,
    Q_USER_ADD,
    Q_USER_GET,
    Q_USER_GET_BY_SUB,
    Q_USER_LIST,
    Q_USER_SET_PASSWORD,
    Q_USER_SET_DISABLED,
    Q_USER_DELETE,
    Q_CLIENT_ADD,
    Q_CLIENT_URI_ADD,
    Q_CLIENT_GET,
    Q_CLIENT_LIST,
    Q_CLIENT_URIS,
    Q_CLIENT_SET_SECRET,
    Q_CLIENT_DELETE,
    Q_KEY_ADD,
    Q_KEY_LIST,
    Q_IA_ADD,
    Q_IA_GET,
    Q_IA_DELETE,
    Q_SESSION_ADD,
    Q_SESSION_GET,
    Q_SESSION_DELETE_DEAD,
    Q_SESSION_TOUCH,
    Q_SESSION_DELETE,
    Q_CODE_ADD,
    Q_CODE_GET,
    Q_CODE_SPEND,
    Q_CODE_MARK_REPLAYED,
    Q_GRANT_ADD_CHECK,
    Q_GRANT_ADD,
    Q_GRANT_GET,
    Q_GRANT_REVOKE,
    Q_USER_SESSIONS_DELETE,
    Q_USER_GRANTS_REVOKE,
    Q_GRANT_ADVANCE,
    Q_REFRESH_ADD,
    Q_REFRESH_FIND,
    Q_REFRESH_PEEK,
    Q_ACCESS_ADD,
    Q_ACCESS_CHECK,
    Q_CONSENT_GET,
    Q_CONSENT_SET,
    Q_PURGE_INTERACTIONS,
    Q_PURGE_SESSIONS,
    Q_PURGE_CODES,
    Q_PURGE_ACCESS,
    Q_PURGE_REFRESH,
    Q_PURGE_GRANTS,
    Q_JTI_USE,
    Q_PURGE_JTIS,
    Q_SYNC_NORMAL,
    Q_SYNC_FULL,
    Q_RES_ADD,
    Q_RES_GET,
    Q_RES_LIST,
    Q_RES_DELETE,
    Q_RES_ALLOW,
    Q_RES_DISALLOW,
    Q_RES_CLIENT_SCOPE,
    Q_RES_CLIENTS,
    Q_CLIENT_RESOURCES,
    Q_COUNT
};

#define USER_COLS "sub, username, email, name, password_hash, disabled, created_at, updated_at"
#define CLIENT_COLS                                                                         \
    "id, client_id, name, public, auth_method, grant_types, scopes, jwks, secret_hash, " \
    "secret_sealed, created_at, updated_at, consent, pkce_required, signing_alg"
#define IA_COLS      "id_hash, bind_hash, request, created_at, expires_at"
#define SESSION_COLS "id_hash, sid, sub, amr, auth_time, created_at, last_seen, expires_at"
#define CODE_COLS                                                                            \
    "hash, client_id, redirect_uri, scope, nonce, code_challenge, sub, sid, amr, auth_time, " \
    "created_at, expires_at"
#define GRANT_COLS                                                                           \
    "id, client_id, sub, scope, sid, amr, auth_time, created_at, expires_at, refresh_gen, "  \
    "revoked"
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
                     "consent, pkce_required, signing_alg) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [Q_CLIENT_URI_ADD] = "INSERT INTO client_uris (client, kind, pos, uri) "
                         "VALUES (?1, ?2, ?3, ?4)",
    [Q_CLIENT_GET] = "SELECT " CLIENT_COLS " FROM clients WHERE client_id = ?1",
    [Q_CLIENT_LIST] = "SELECT " CLIENT_COLS " FROM clients ORDER BY client_id",
    [Q_CLIENT_URIS] = "SELECT kind, uri FROM client_uris WHERE client = ?1 ORDER BY kind, pos",
    [Q_CLIENT_SET_SECRET] = "UPDATE clients SET secret_hash = ?2, secret_sealed = ?3, "
                            "updated_at = ?4 WHERE client_id = ?1",
    [Q_CLIENT_DELETE] = "DELETE FROM clients WHERE client_id = ?1",
    [Q_KEY_ADD] = "INSERT INTO signing_keys (kid, alg, created_at) VALUES (?1, ?2, ?3)",
    [Q_KEY_LIST] = "SELECT kid, alg, created_at FROM signing_keys ORDER BY created_at, rowid",
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
    [Q_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [Q_SYNC_FULL] = "PRAGMA synchronous = FULL",
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
};

struct sq {
    sqlite3 *db;
    char *path;                 /* for log lines */
    sqlite3_stmt *stmt[Q_COUNT];
    bool wlocked;               /* this handle holds writer_mu (between tx_write and the end) */
    bool light;                 /* the open write runs with synchronous=NORMAL (tx_write_light) */
};

/* Writers of this process take turns here before BEGIN IMMEDIATE. SQLite's own wait for a
 * busy write lock sleeps 1 to 100 ms between retries, which under concurrent logins made
 * requests wait tens of milliseconds for a lock held for well under one; queueing on a mutex
 * costs microseconds. Other processes (the CLI) still meet busy_timeout. One per process, not
 * per database: handles of one process write to one realm. */
static pthread_mutex_t writer_mu = PTHREAD_MUTEX_INITIALIZER;

/* --- errors ------------------------------------------------------------------------------ */

/* Log a backend failure once and turn it into GH_ESTORE. */
static int
fail(struct sq *b, const char *op, int rc)
{
    char msg[LOG_ESC_SIZE];

    log_err("store_error", "op=%s rc=%d msg=%s", op, rc, log_esc(sqlite3_errmsg(b->db), msg));
    return GH_ESTORE;
}

/* Map the result of a failed step. Call before anything else touches the connection, so the
 * error message is still the step's. */
static int
map_rc(struct sq *b, const char *op, int rc)
{
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return GH_EEXIST;
    /* The user, client or grant a new row refers to is gone (deleted meanwhile). */
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return GH_ENOTFOUND;
    /* RAISE(ABORT, 'sub is retired') in users_sub_not_retired (0001_init.sql) */
    if (rc == SQLITE_CONSTRAINT_TRIGGER && strcmp(sqlite3_errmsg(b->db), "sub is retired") == 0)
        return GH_EEXIST;
    return fail(b, op, rc);
}

/* --- statements -------------------------------------------------------------------------- */

static int
prep(struct sq *b, enum q_id id, const char *op, sqlite3_stmt **out)
{
    int rc;

    *out = NULL;
    if (!b->stmt[id]) {
        rc = sqlite3_prepare_v3(b->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
            &b->stmt[id], NULL);
        if (rc != SQLITE_OK) {
            b->stmt[id] = NULL;
            return fail(b, op, rc);
        }
    }
    *out = b->stmt[id];
    return GH_OK;
}

/* Return a cached statement to its initial state; NULL is a no-op. */
static void
done(sqlite3_stmt *s)
{
    if (!s)
        return;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Binders: the first failure sticks in *brc, so a run of binds is checked once. NULL text or
 * blob binds SQL NULL. */
static void
bind_text(sqlite3_stmt *s, int i, const char *v, int *brc)
{
    if (*brc == SQLITE_OK)
        *brc = v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

static void
bind_int(sqlite3_stmt *s, int i, int64_t v, int *brc)
{
    if (*brc == SQLITE_OK)
        *brc = sqlite3_bind_int64(s, i, v);
}

static void
bind_blob(sqlite3_stmt *s, int i, const void *v, size_t n, int *brc)
{
    if (*brc != SQLITE_OK)
        return;
    if (!v || n > INT_MAX)
        *brc = v ? SQLITE_TOOBIG : sqlite3_bind_null(s, i);
    else
        *brc = sqlite3_bind_blob(s, i, v, (int)n, SQLITE_STATIC);
}

static int
bound(struct sq *b, const char *op, int brc)
{
    return brc == SQLITE_OK ? GH_OK : fail(b, op, brc);
}

/* Step a statement that returns no rows. */
static int
step_done(struct sq *b, sqlite3_stmt *s, const char *op)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_DONE)
        return GH_OK;
    return map_rc(b, op, rc);
}

/* Step a statement that returns at most one row: GH_OK with a row, GH_ENOTFOUND without. */
static int
step_row(struct sq *b, sqlite3_stmt *s, const char *op)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        return GH_OK;
    if (rc == SQLITE_DONE)
        return GH_ENOTFOUND;
    return map_rc(b, op, rc);
}

static int
run(struct sq *b, enum q_id id, const char *op)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = prep(b, id, op, &s)) == GH_OK)
        rc = step_done(b, s, op);
    done(s);
    return rc;
}

static char *
col_str(sqlite3_stmt *s, int i)
{
    return x_strdup((const char *)sqlite3_column_text(s, i));
}

/* --- transactions ------------------------------------------------------------------------ */

/* Writers take the write lock up front (SECURITY.md (d)): a deferred transaction that upgrades
 * later can fail with SQLITE_BUSY without waiting for busy_timeout. */
static int
tx_write(struct sq *b, const char *op)
{
    int rc;

    pthread_mutex_lock(&writer_mu);
    b->wlocked = true;
    if ((rc = run(b, Q_BEGIN_WRITE, op)) != GH_OK) {
        b->wlocked = false;
        pthread_mutex_unlock(&writer_mu);
    }
    return rc;
}

static void
writer_release(struct sq *b)
{
    if (b->light) {
        b->light = false;
        (void)run(b, Q_SYNC_FULL, "sync_full");
    }
    if (b->wlocked) {
        b->wlocked = false;
        pthread_mutex_unlock(&writer_mu);
    }
}

/* A write whose loss in a power cut harms nobody: creating short-lived browser state (a
 * pending login, a session, an authorization code not yet used, a session's last use). With
 * synchronous=NORMAL in WAL mode the commit survives a crash of the process but waits for no
 * fsync; it becomes durable with the next FULL commit or checkpoint. A power cut may lose it:
 * the user signs in again. Everything that spends or revokes (codes taken, refresh rotation,
 * logout, revocation) and every token grant stays FULL (issue 2: a used code or a revoked
 * token must not come back after a power loss). Spending a code or an interaction is light
 * too: no token exists for it until the FULL commit of its grant, and WAL frames are synced in
 * order, so that commit makes the spend durable with it. An SSO flow costs one fsync. */
static int
tx_write_light(struct sq *b, const char *op)
{
    int rc;

    pthread_mutex_lock(&writer_mu);
    b->wlocked = true;
    if ((rc = run(b, Q_SYNC_NORMAL, op)) == GH_OK) {
        b->light = true;
        rc = run(b, Q_BEGIN_WRITE, op);
    }
    if (rc != GH_OK)
        writer_release(b);
    return rc;
}

/* Reads of several statements (a client and its URIs) see one snapshot. */
static int
tx_read(struct sq *b, const char *op)
{
    return run(b, Q_BEGIN_READ, op);
}

static int
tx_commit(struct sq *b, const char *op)
{
    int rc = run(b, Q_COMMIT, op);

    if (rc == GH_OK || sqlite3_get_autocommit(b->db))
        writer_release(b);   /* a failed COMMIT leaves the transaction open for tx_rollback */
    return rc;
}

/* Undo an open transaction, if any (SQLite may already have rolled it back itself). */
static void
tx_rollback(struct sq *b)
{
    if (!sqlite3_get_autocommit(b->db))
        (void)run(b, Q_ROLLBACK, "rollback");
    writer_release(b);
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
            *out = col_str(s, 0);
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
    /* SECURITY.md (d): NORMAL may lose the last commits on power loss, which would bring spent
     * codes and rotated refresh tokens back. */
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

static int
sq_open(const char *path, unsigned flags, void **impl, char *err, size_t errsz)
{
    bool ro = (flags & STORE_READONLY) != 0;
    bool create = (flags & STORE_CREATE) != 0 && !ro;
    struct sq *b = NULL;
    sqlite3 *db = NULL;
    struct stat sb;
    char dir[PATH_MAX];
    int oflags, rc;

    *impl = NULL;
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
    b = x_calloc(1, sizeof(*b));
    b->db = db;
    b->path = x_strdup(path);
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
    tx_rollback(b);   /* a transaction left open is a bug; never keep writer_mu with it */
    for (size_t i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(b->stmt[i]);
    if ((rc = sqlite3_close(b->db)) != SQLITE_OK)
        fail(b, "close", rc);
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
    if ((rc = prep(b, Q_USER_VERSION, "schema_version", &s)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, "schema_version")) != GH_OK)
        goto out;
    *current = sqlite3_column_int(s, 0);
out:
    done(s);
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
    if ((rc = prep(b, full ? Q_INTEGRITY_CHECK : Q_QUICK_CHECK, "check", &s)) != GH_OK)
        goto out;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(s, 0);
        if (t && strcmp(t, "ok") == 0)
            continue;
        ok = false;
        report_add(&rep, &len, t ? t : "(null)");
    }
    if (src != SQLITE_DONE && (src & 0xff) != SQLITE_CORRUPT) {
        rc = fail(b, "check", src);
        goto out;
    }
    if (src != SQLITE_DONE) {
        ok = false;
        report_add(&rep, &len, sqlite3_errmsg(b->db));
    }
    done(s);
    s = NULL;
    /* integrity_check does not look at foreign keys. */
    if (full) {
        if ((rc = prep(b, Q_FK_CHECK, "check", &s)) != GH_OK)
            goto out;
        while ((src = sqlite3_step(s)) == SQLITE_ROW) {
            ok = false;
            snprintf(line, sizeof(line), "foreign key violation: %s row %lld refers to %s",
                (const char *)sqlite3_column_text(s, 0), (long long)sqlite3_column_int64(s, 1),
                (const char *)sqlite3_column_text(s, 2));
            report_add(&rep, &len, line);
        }
        if (src != SQLITE_DONE) {
            rc = fail(b, "check", src);
            goto out;
        }
    }
    if (ok)
        report_add(&rep, &len, "ok");
    *report = rep;
    rep = NULL;
    rc = GH_OK;
out:
    done(s);
    free(rep);
    return rc;
}

/* --- meta -------------------------------------------------------------------------------- */

static int
sq_meta_get(void *impl, const char *name, char **value)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    *value = NULL;
    if ((rc = prep(b, Q_META_GET, "meta_get", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, name, &brc);
    if ((rc = bound(b, "meta_get", brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, "meta_get")) != GH_OK)
        goto out;
    *value = col_str(s, 0);
out:
    done(s);
    return rc;
}

static int
sq_meta_set(void *impl, const char *name, const char *value)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "meta_set")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_META_SET, "meta_set", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, name, &brc);
    bind_text(s, 2, value, &brc);
    if ((rc = bound(b, "meta_set", brc)) != GH_OK)
        goto out;
    if ((rc = step_done(b, s, "meta_set")) != GH_OK)
        goto out;
    done(s);
    s = NULL;
    rc = tx_commit(b, "meta_set");
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    return rc;
}

/* --- users ------------------------------------------------------------------------------- */

static struct user *
row_user(sqlite3_stmt *s)
{
    struct user *u = x_calloc(1, sizeof(*u));

    u->sub = col_str(s, 0);
    u->username = col_str(s, 1);
    u->email = col_str(s, 2);
    u->name = col_str(s, 3);
    u->password_hash = col_str(s, 4);
    u->disabled = sqlite3_column_int(s, 5) != 0;
    u->created_at = sqlite3_column_int64(s, 6);
    u->updated_at = sqlite3_column_int64(s, 7);
    return u;
}

static int
sq_user_add(void *impl, const struct user *u)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "user_add")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_USER_ADD, "user_add", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, u->sub, &brc);
    bind_text(s, 2, u->username, &brc);
    bind_text(s, 3, u->email, &brc);
    bind_text(s, 4, u->name, &brc);
    bind_text(s, 5, u->password_hash, &brc);
    bind_int(s, 6, u->disabled ? 1 : 0, &brc);
    bind_int(s, 7, u->created_at, &brc);
    bind_int(s, 8, u->updated_at, &brc);
    if ((rc = bound(b, "user_add", brc)) != GH_OK)
        goto out;
    if ((rc = step_done(b, s, "user_add")) != GH_OK)
        goto out;
    done(s);
    s = NULL;
    rc = tx_commit(b, "user_add");
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    return rc;
}

static int
user_get_by(struct sq *b, enum q_id id, const char *key, struct user **out, const char *op)
{
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = prep(b, id, op, &s)) != GH_OK)
        goto out;
    bind_text(s, 1, key, &brc);
    if ((rc = bound(b, op, brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, op)) != GH_OK)
        goto out;
    *out = row_user(s);
out:
    done(s);
    return rc;
}

static int
sq_user_get(void *impl, const char *username, struct user **out)
{
    return user_get_by(impl, Q_USER_GET, username, out, "user_get");
}

static int
sq_user_get_by_sub(void *impl, const char *sub, struct user **out)
{
    return user_get_by(impl, Q_USER_GET_BY_SUB, sub, out, "user_get_by_sub");
}

static int
sq_user_list(void *impl, struct user ***out, size_t *n)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct user **list = NULL;
    size_t len = 0, cap = 0;
    int rc, src;

    *out = NULL;
    *n = 0;
    if ((rc = prep(b, Q_USER_LIST, "user_list", &s)) != GH_OK)
        goto out;
    list = x_calloc(1, sizeof(*list));
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (len + 1 >= cap) {
            cap = cap ? cap * 2 : 16;
            list = x_realloc(list, cap * sizeof(*list));
        }
        list[len++] = row_user(s);
        list[len] = NULL;
    }
    if (src != SQLITE_DONE) {
        rc = fail(b, "user_list", src);
        goto out;
    }
    *out = list;
    *n = len;
    list = NULL;
out:
    done(s);
    user_list_free(list, len);
    return rc;
}

/* One UPDATE/DELETE of a user row by username in its own write transaction;
 * GH_ENOTFOUND when no row matched. */
static int
user_write(struct sq *b, enum q_id id, const char *op, const char *username, bool with_text,
    const char *text, int64_t num, int64_t now)
{
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, op)) != GH_OK)
        return rc;
    if ((rc = prep(b, id, op, &s)) != GH_OK)
        goto out;
    bind_text(s, 1, username, &brc);
    if (id != Q_USER_DELETE) {
        if (with_text)
            bind_text(s, 2, text, &brc);
        else
            bind_int(s, 2, num, &brc);
        bind_int(s, 3, now, &brc);
    }
    if ((rc = bound(b, op, brc)) != GH_OK)
        goto out;
    if ((rc = step_done(b, s, op)) != GH_OK)
        goto out;
    if (sqlite3_changes(b->db) == 0) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    done(s);
    s = NULL;
    rc = tx_commit(b, op);
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    return rc;
}

static int
sq_user_set_password(void *impl, const char *username, const char *hash, int64_t now)
{
    return user_write(impl, Q_USER_SET_PASSWORD, "user_set_password", username, true, hash, 0,
        now);
}

static int
sq_user_set_disabled(void *impl, const char *username, bool disabled, int64_t now)
{
    return user_write(impl, Q_USER_SET_DISABLED, "user_set_disabled", username, false, NULL,
        disabled ? 1 : 0, now);
}

/* The users_retire_sub trigger records the sub in the same transaction. */
static int
sq_user_delete(void *impl, const char *username)
{
    return user_write(impl, Q_USER_DELETE, "user_delete", username, false, NULL, 0, 0);
}

/* --- clients ----------------------------------------------------------------------------- */

struct strvec {
    char **v;
    size_t n, cap;
};

static void
strvec_push(struct strvec *sv, const char *s)
{
    if (sv->n + 1 >= sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 8;
        sv->v = x_realloc(sv->v, sv->cap * sizeof(*sv->v));
    }
    sv->v[sv->n++] = x_strdup(s);
    sv->v[sv->n] = NULL;
}

/* The NULL-terminated list (never NULL itself); sv is reset. */
static char **
strvec_take(struct strvec *sv)
{
    char **v = sv->v ? sv->v : x_calloc(1, sizeof(*v));

    sv->v = NULL;
    sv->n = sv->cap = 0;
    return v;
}

/* A space-separated column into a NULL-terminated list. */
static char **
split_spaces(const char *s)
{
    struct strvec sv = { 0 };

    while (s && *s) {
        size_t n;
        char *item;
        if (*s == ' ') {
            s++;
            continue;
        }
        n = strcspn(s, " ");
        item = x_strndup(s, n);
        strvec_push(&sv, item);
        free(item);
        s += n;
    }
    return strvec_take(&sv);
}

/* A client row (CLIENT_COLS) into a new struct client without URIs; *id gets the row id.
 * GH_ESTORE for a row this build cannot have written. */
static int
row_client(sqlite3_stmt *s, const char *op, struct client **out, int64_t *id)
{
    struct client *c = x_calloc(1, sizeof(*c));
    const void *blob;
    int n, rc = GH_ESTORE;

    *out = NULL;
    *id = sqlite3_column_int64(s, 0);
    c->client_id = col_str(s, 1);
    c->name = col_str(s, 2);
    c->is_public = sqlite3_column_int(s, 3) != 0;
    if (!sqlite3_column_text(s, 4) ||
        client_auth_parse((const char *)sqlite3_column_text(s, 4), &c->auth_method) != GH_OK) {
        log_err("store_error", "op=%s rc=0 msg=\"client row %lld: unknown auth_method\"", op,
            (long long)*id);
        goto out;
    }
    c->grant_types = split_spaces((const char *)sqlite3_column_text(s, 5));
    c->scopes = split_spaces((const char *)sqlite3_column_text(s, 6));
    c->jwks = col_str(s, 7);
    blob = sqlite3_column_blob(s, 8);
    n = sqlite3_column_bytes(s, 8);
    if (blob) {
        if (n != (int)sizeof(c->secret_hash)) {
            log_err("store_error", "op=%s rc=0 msg=\"client row %lld: bad secret_hash\"", op,
                (long long)*id);
            goto out;
        }
        memcpy(c->secret_hash, blob, sizeof(c->secret_hash));
        c->has_secret = true;
    }
    blob = sqlite3_column_blob(s, 9);
    n = sqlite3_column_bytes(s, 9);
    if (blob && n > 0) {
        c->secret_sealed = x_malloc((size_t)n);
        memcpy(c->secret_sealed, blob, (size_t)n);
        c->secret_sealed_len = (size_t)n;
    }
    c->created_at = sqlite3_column_int64(s, 10);
    c->updated_at = sqlite3_column_int64(s, 11);
    c->consent = sqlite3_column_int(s, 12) != 0;
    c->pkce_required = sqlite3_column_int(s, 13) != 0;
    c->signing_alg = col_str(s, 14);
    if (!client_signing_alg_ok(c->signing_alg)) {
        log_err("store_error", "op=%s rc=0 msg=\"client row %lld: unknown signing_alg\"", op,
            (long long)*id);
        goto out;
    }
    *out = c;
    c = NULL;
    rc = GH_OK;
out:
    client_free(c);
    return rc;
}

/* Load the URI lists of client row id into c. */
static int
load_uris(struct sq *b, int64_t id, struct client *c, const char *op)
{
    struct strvec redir = { 0 }, logout = { 0 };
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc, src;

    if ((rc = prep(b, Q_CLIENT_URIS, op, &s)) != GH_OK)
        goto out;
    bind_int(s, 1, id, &brc);
    if ((rc = bound(b, op, brc)) != GH_OK)
        goto out;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *uri = (const char *)sqlite3_column_text(s, 1);
        if (!uri)
            continue;
        strvec_push(sqlite3_column_int(s, 0) == URI_POST_LOGOUT ? &logout : &redir, uri);
    }
    if (src != SQLITE_DONE) {
        rc = fail(b, op, src);
        goto out;
    }
    str_list_free(c->redirect_uris);
    str_list_free(c->post_logout_redirect_uris);
    c->redirect_uris = strvec_take(&redir);
    c->post_logout_redirect_uris = strvec_take(&logout);
out:
    done(s);
    str_list_free(redir.v);
    str_list_free(logout.v);
    return rc;
}

static int
sq_client_add(void *impl, const struct client *c)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    char *grants = NULL, *scopes = NULL;
    const char *method = client_auth_name(c->auth_method);
    int64_t id;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "client_add")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_CLIENT_ADD, "client_add", &s)) != GH_OK)
        goto out;
    grants = str_list_join(c->grant_types, " ");
    scopes = str_list_join(c->scopes, " ");
    bind_text(s, 1, c->client_id, &brc);
    bind_text(s, 2, c->name, &brc);
    bind_int(s, 3, c->is_public ? 1 : 0, &brc);
    bind_text(s, 4, method, &brc);
    bind_text(s, 5, grants, &brc);
    bind_text(s, 6, scopes, &brc);
    bind_text(s, 7, c->jwks, &brc);
    bind_blob(s, 8, c->has_secret ? c->secret_hash : NULL, sizeof(c->secret_hash), &brc);
    bind_blob(s, 9, c->secret_sealed, c->secret_sealed_len, &brc);
    bind_int(s, 10, c->created_at, &brc);
    bind_int(s, 11, c->updated_at, &brc);
    bind_int(s, 12, c->consent ? 1 : 0, &brc);
    bind_int(s, 13, c->pkce_required ? 1 : 0, &brc);
    bind_text(s, 14, c->signing_alg ? c->signing_alg : client_signing_algs[0], &brc);
    if ((rc = bound(b, "client_add", brc)) != GH_OK)
        goto out;
    if ((rc = step_done(b, s, "client_add")) != GH_OK)
        goto out;
    id = sqlite3_last_insert_rowid(b->db);
    done(s);
    s = NULL;
    if ((rc = prep(b, Q_CLIENT_URI_ADD, "client_add", &s)) != GH_OK)
        goto out;
    for (int kind = URI_REDIRECT; kind <= URI_POST_LOGOUT; kind++) {
        char *const *uris = kind == URI_REDIRECT ? c->redirect_uris
                                                 : c->post_logout_redirect_uris;
        for (size_t i = 0; uris && uris[i]; i++) {
            bind_int(s, 1, id, &brc);
            bind_int(s, 2, kind, &brc);
            bind_int(s, 3, (int64_t)i, &brc);
            bind_text(s, 4, uris[i], &brc);
            if ((rc = bound(b, "client_add", brc)) != GH_OK)
                goto out;
            if ((rc = step_done(b, s, "client_add")) != GH_OK)
                goto out;
            done(s);
        }
    }
    done(s);
    s = NULL;
    rc = tx_commit(b, "client_add");
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    free(grants);
    free(scopes);
    return rc;
}

static int
sq_client_get(void *impl, const char *client_id, struct client **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct client *c = NULL;
    int64_t id = 0;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = tx_read(b, "client_get")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_CLIENT_GET, "client_get", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, client_id, &brc);
    if ((rc = bound(b, "client_get", brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, "client_get")) != GH_OK)
        goto out;
    if ((rc = row_client(s, "client_get", &c, &id)) != GH_OK)
        goto out;
    done(s);
    s = NULL;
    if ((rc = load_uris(b, id, c, "client_get")) != GH_OK)
        goto out;
    if ((rc = tx_commit(b, "client_get")) != GH_OK)
        goto out;
    *out = c;
    c = NULL;
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    client_free(c);
    return rc;
}

static int
sq_client_list(void *impl, struct client ***out, size_t *n)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct client **list = NULL;
    size_t len = 0, cap = 0;
    int rc, src;

    *out = NULL;
    *n = 0;
    if ((rc = tx_read(b, "client_list")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_CLIENT_LIST, "client_list", &s)) != GH_OK)
        goto out;
    list = x_calloc(1, sizeof(*list));
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        struct client *c = NULL;
        int64_t id = 0;
        if ((rc = row_client(s, "client_list", &c, &id)) != GH_OK)
            goto out;
        if (len + 1 >= cap) {
            cap = cap ? cap * 2 : 16;
            list = x_realloc(list, cap * sizeof(*list));
        }
        list[len++] = c;
        list[len] = NULL;
        if ((rc = load_uris(b, id, c, "client_list")) != GH_OK)
            goto out;
    }
    if (src != SQLITE_DONE) {
        rc = fail(b, "client_list", src);
        goto out;
    }
    done(s);
    s = NULL;
    if ((rc = tx_commit(b, "client_list")) != GH_OK)
        goto out;
    *out = list;
    *n = len;
    list = NULL;
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    client_list_free(list, len);
    return rc;
}

static int
sq_client_set_secret(void *impl, const char *client_id, const unsigned char *hash,
    const unsigned char *sealed, size_t sealed_len, int64_t now)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "client_set_secret")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_CLIENT_SET_SECRET, "client_set_secret", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, client_id, &brc);
    bind_blob(s, 2, hash, 32, &brc);
    bind_blob(s, 3, sealed, sealed_len, &brc);
    bind_int(s, 4, now, &brc);
    if ((rc = bound(b, "client_set_secret", brc)) != GH_OK)
        goto out;
    if ((rc = step_done(b, s, "client_set_secret")) != GH_OK)
        goto out;
    if (sqlite3_changes(b->db) == 0) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    done(s);
    s = NULL;
    rc = tx_commit(b, "client_set_secret");
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    return rc;
}

/* client_uris rows go with it (ON DELETE CASCADE; foreign_keys is on for every connection). */
static int
sq_client_delete(void *impl, const char *client_id)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "client_delete")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_CLIENT_DELETE, "client_delete", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, client_id, &brc);
    if ((rc = bound(b, "client_delete", brc)) != GH_OK)
        goto out;
    if ((rc = step_done(b, s, "client_delete")) != GH_OK)
        goto out;
    if (sqlite3_changes(b->db) == 0) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    done(s);
    s = NULL;
    rc = tx_commit(b, "client_delete");
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    return rc;
}

/* --- signing keys ------------------------------------------------------------------------ */

static int
sq_key_add(void *impl, const char *kid, const char *alg, int64_t created_at)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "key_add")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_KEY_ADD, "key_add", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, kid, &brc);
    bind_text(s, 2, alg, &brc);
    bind_int(s, 3, created_at, &brc);
    if ((rc = bound(b, "key_add", brc)) != GH_OK)
        goto out;
    if ((rc = step_done(b, s, "key_add")) != GH_OK)
        goto out;
    done(s);
    s = NULL;
    rc = tx_commit(b, "key_add");
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    return rc;
}

static int
sq_key_list(void *impl, struct key_meta **out, size_t *n)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct key_meta *list = NULL;
    size_t len = 0, cap = 0;
    int rc, src;

    *out = NULL;
    *n = 0;
    if ((rc = prep(b, Q_KEY_LIST, "key_list", &s)) != GH_OK)
        goto out;
    list = x_calloc(1, sizeof(*list));
    cap = 1;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            cap *= 2;
            list = x_realloc(list, cap * sizeof(*list));
        }
        list[len].kid = col_str(s, 0);
        list[len].alg = col_str(s, 1);
        list[len].created_at = sqlite3_column_int64(s, 2);
        len++;
    }
    if (src != SQLITE_DONE) {
        rc = fail(b, "key_list", src);
        goto out;
    }
    *out = list;
    *n = len;
    list = NULL;
out:
    done(s);
    store_key_list_free(list, len);
    return rc;
}

/* --- browser sign-in and tokens: helpers ------------------------------------------------- */

/* a - b, saturated at the int64 range (times come from callers; never overflow in C). */
static int64_t
sub_sat(int64_t a, int64_t b)
{
    if (b > 0 && a < INT64_MIN + b)
        return INT64_MIN;
    if (b < 0 && a > INT64_MAX + b)
        return INT64_MAX;
    return a - b;
}

/* Copy a STORE_HASH_LEN blob column into out; false if it is anything else (a row this build
 * cannot have written: the schema CHECKs the length). */
static bool
col_hash(sqlite3_stmt *s, int i, unsigned char out[STORE_HASH_LEN])
{
    const void *p = sqlite3_column_blob(s, i);

    if (!p || sqlite3_column_bytes(s, i) != STORE_HASH_LEN)
        return false;
    memcpy(out, p, STORE_HASH_LEN);
    return true;
}

static void
bind_hash(sqlite3_stmt *s, int i, const unsigned char *h, int *brc)
{
    bind_blob(s, i, h, STORE_HASH_LEN, brc);
}

static int
bad_row(const char *op, const char *what)
{
    log_err("store_error", "op=%s rc=0 msg=\"%s\"", op, what);
    return GH_ESTORE;
}

/* Run s, bound (brc) and inside the write transaction the caller opened, and commit; roll back
 * on any failure. s is reset either way. For the writes that are one statement. */
static int
write_commit(struct sq *b, sqlite3_stmt *s, int brc, const char *op)
{
    int rc;

    if ((rc = bound(b, op, brc)) != GH_OK || (rc = step_done(b, s, op)) != GH_OK)
        goto out;
    done(s);
    rc = tx_commit(b, op);
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    return rc;
}

/* One UPDATE/DELETE in its own write transaction, keyed by ?1 (the hash, or text when hash is
 * NULL) and, if the statement has a ?2, num. GH_ENOTFOUND when no row matched. */
static int
write_keyed(struct sq *b, enum q_id id, const char *op, const unsigned char *hash,
    const char *text, int64_t num)
{
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, op)) != GH_OK)
        return rc;
    if ((rc = prep(b, id, op, &s)) != GH_OK)
        goto out;
    if (hash)
        bind_hash(s, 1, hash, &brc);
    else
        bind_text(s, 1, text, &brc);
    if (sqlite3_bind_parameter_count(s) >= 2)
        bind_int(s, 2, num, &brc);
    if ((rc = bound(b, op, brc)) != GH_OK)
        goto out;
    if ((rc = step_done(b, s, op)) != GH_OK)
        goto out;
    if (sqlite3_changes(b->db) == 0) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    done(s);
    s = NULL;
    rc = tx_commit(b, op);
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    return rc;
}

/* --- interactions ------------------------------------------------------------------------ */

static int
row_interaction(sqlite3_stmt *s, const char *op, struct interaction **out)
{
    struct interaction *ia = x_calloc(1, sizeof(*ia));

    *out = NULL;
    if (!col_hash(s, 0, ia->id_hash) || !col_hash(s, 1, ia->bind_hash)) {
        interaction_free(ia);
        return bad_row(op, "interaction row: bad hash");
    }
    ia->request = col_str(s, 2);
    ia->created_at = sqlite3_column_int64(s, 3);
    ia->expires_at = sqlite3_column_int64(s, 4);
    *out = ia;
    return GH_OK;
}

static int
sq_interaction_add(void *impl, const struct interaction *ia)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write_light(b, "interaction_add")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_IA_ADD, "interaction_add", &s)) != GH_OK) {
        tx_rollback(b);
        return rc;
    }
    bind_hash(s, 1, ia->id_hash, &brc);
    bind_hash(s, 2, ia->bind_hash, &brc);
    bind_text(s, 3, ia->request, &brc);
    bind_int(s, 4, ia->created_at, &brc);
    bind_int(s, 5, ia->expires_at, &brc);
    return write_commit(b, s, brc, "interaction_add");
}

static int
sq_interaction_get(void *impl, const unsigned char *id_hash, int64_t now,
    struct interaction **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = prep(b, Q_IA_GET, "interaction_get", &s)) != GH_OK)
        goto out;
    bind_hash(s, 1, id_hash, &brc);
    if ((rc = bound(b, "interaction_get", brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, "interaction_get")) != GH_OK)
        goto out;
    if (sqlite3_column_int64(s, 4) <= now) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    rc = row_interaction(s, "interaction_get", out);
out:
    done(s);
    return rc;
}

/* Read and delete under one write lock: a second take waits for the first and then finds
 * nothing. An expired interaction is deleted too, and reported as absent. */
static int
sq_interaction_take(void *impl, const unsigned char *id_hash, int64_t now,
    struct interaction **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct interaction *ia = NULL;
    bool expired;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write_light(b, "interaction_take")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_IA_GET, "interaction_take", &s)) != GH_OK)
        goto out;
    bind_hash(s, 1, id_hash, &brc);
    if ((rc = bound(b, "interaction_take", brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, "interaction_take")) != GH_OK)
        goto out;
    if ((rc = row_interaction(s, "interaction_take", &ia)) != GH_OK)
        goto out;
    expired = ia->expires_at <= now;
    done(s);
    s = NULL;
    if ((rc = prep(b, Q_IA_DELETE, "interaction_take", &s)) != GH_OK)
        goto out;
    bind_hash(s, 1, id_hash, &brc);
    if ((rc = bound(b, "interaction_take", brc)) != GH_OK)
        goto out;
    if ((rc = step_done(b, s, "interaction_take")) != GH_OK)
        goto out;
    done(s);
    s = NULL;
    if ((rc = tx_commit(b, "interaction_take")) != GH_OK)
        goto out;
    if (expired) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    if (out) {
        *out = ia;
        ia = NULL;
    }
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    interaction_free(ia);
    return rc;
}

/* --- sessions ---------------------------------------------------------------------------- */

static int
sq_session_add(void *impl, const struct session *se)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write_light(b, "session_add")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_SESSION_ADD, "session_add", &s)) != GH_OK) {
        tx_rollback(b);
        return rc;
    }
    bind_hash(s, 1, se->id_hash, &brc);
    bind_text(s, 2, se->sid, &brc);
    bind_text(s, 3, se->sub, &brc);
    bind_text(s, 4, se->amr, &brc);
    bind_int(s, 5, se->auth_time, &brc);
    bind_int(s, 6, se->created_at, &brc);
    bind_int(s, 7, se->last_seen, &brc);
    bind_int(s, 8, se->expires_at, &brc);
    return write_commit(b, s, brc, "session_add");
}

/* A plain read; only a session found dead costs a write (its deletion). */
static int
sq_session_get(void *impl, const unsigned char *id_hash, int64_t now, int64_t idle_s,
    struct session **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct session *se = NULL;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = prep(b, Q_SESSION_GET, "session_get", &s)) != GH_OK)
        goto out;
    bind_hash(s, 1, id_hash, &brc);
    if ((rc = bound(b, "session_get", brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, "session_get")) != GH_OK)
        goto out;
    se = x_calloc(1, sizeof(*se));
    if (!col_hash(s, 0, se->id_hash)) {
        rc = bad_row("session_get", "session row: bad hash");
        goto out;
    }
    se->sid = col_str(s, 1);
    se->sub = col_str(s, 2);
    se->amr = col_str(s, 3);
    se->auth_time = sqlite3_column_int64(s, 4);
    se->created_at = sqlite3_column_int64(s, 5);
    se->last_seen = sqlite3_column_int64(s, 6);
    se->expires_at = sqlite3_column_int64(s, 7);
    done(s);
    s = NULL;
    /* dead: now >= expires_at, or now >= last_seen + idle_s */
    if (se->expires_at <= now || se->last_seen <= sub_sat(now, idle_s)) {
        rc = write_keyed(b, Q_SESSION_DELETE_DEAD, "session_get", id_hash, NULL,
            se->last_seen);
        if (rc == GH_OK || rc == GH_ENOTFOUND)
            rc = GH_ENOTFOUND;
        goto out;
    }
    *out = se;
    se = NULL;
out:
    done(s);
    session_free(se);
    return rc;
}

static int
sq_session_touch(void *impl, const unsigned char *id_hash, int64_t now)
{
    return write_keyed(impl, Q_SESSION_TOUCH, "session_touch", id_hash, NULL, now);
}

static int
sq_session_delete(void *impl, const unsigned char *id_hash)
{
    return write_keyed(impl, Q_SESSION_DELETE, "session_delete", id_hash, NULL, 0);
}

/* --- authorization codes ----------------------------------------------------------------- */

static int
sq_code_add(void *impl, const struct authcode *c)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write_light(b, "code_add")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_CODE_ADD, "code_add", &s)) != GH_OK) {
        tx_rollback(b);
        return rc;
    }
    bind_hash(s, 1, c->hash, &brc);
    bind_text(s, 2, c->client_id, &brc);
    bind_text(s, 3, c->redirect_uri, &brc);
    bind_text(s, 4, c->scope, &brc);
    bind_text(s, 5, c->nonce, &brc);
    bind_text(s, 6, c->code_challenge, &brc);
    bind_text(s, 7, c->sub, &brc);
    bind_text(s, 8, c->sid, &brc);
    bind_text(s, 9, c->amr, &brc);
    bind_int(s, 10, c->auth_time, &brc);
    bind_int(s, 11, c->created_at, &brc);
    bind_int(s, 12, c->expires_at, &brc);
    return write_commit(b, s, brc, "code_add");
}

/* RFC 6749 §4.1.2: a code is used at most once, and a second use should revoke the tokens the
 * first one produced. Look-up, replay handling and spending share one write transaction. */
static int
sq_code_take(void *impl, const unsigned char *hash, int64_t now, const char *grant_id,
    struct authcode **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct authcode *c = NULL;
    bool spent;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if (!grant_id)   /* without it a later replay could not find what to revoke */
        return GH_EINVAL;
    if ((rc = tx_write_light(b, "code_take")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_CODE_GET, "code_take", &s)) != GH_OK)
        goto out;
    bind_hash(s, 1, hash, &brc);
    if ((rc = bound(b, "code_take", brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, "code_take")) != GH_OK)
        goto out;
    c = x_calloc(1, sizeof(*c));
    if (!col_hash(s, 0, c->hash)) {
        rc = bad_row("code_take", "auth code row: bad hash");
        goto out;
    }
    c->client_id = col_str(s, 1);
    c->redirect_uri = col_str(s, 2);
    c->scope = col_str(s, 3);
    c->nonce = col_str(s, 4);
    c->code_challenge = col_str(s, 5);
    c->sub = col_str(s, 6);
    c->sid = col_str(s, 7);
    c->amr = col_str(s, 8);
    c->auth_time = sqlite3_column_int64(s, 9);
    c->created_at = sqlite3_column_int64(s, 10);
    c->expires_at = sqlite3_column_int64(s, 11);
    c->grant_id = col_str(s, 12);
    spent = sqlite3_column_int(s, 13) != 0;
    done(s);
    s = NULL;

    if (spent) {
        /* A replay, however late (spent codes are kept for the purge grace): mark it, so a
         * grant not stored yet is stored revoked by grant_add, and revoke the one stored. A
         * revocation must survive a power cut: redo it in a FULL transaction (synchronous is
         * fixed when a transaction begins). The code cannot change meanwhile: spent is final. */
        tx_rollback(b);
        if ((rc = tx_write(b, "code_take")) != GH_OK)
            goto out;
        if ((rc = prep(b, Q_CODE_MARK_REPLAYED, "code_take", &s)) != GH_OK)
            goto out;
        bind_hash(s, 1, hash, &brc);
        if ((rc = bound(b, "code_take", brc)) != GH_OK ||
            (rc = step_done(b, s, "code_take")) != GH_OK)
            goto out;
        done(s);
        s = NULL;
        if ((rc = prep(b, Q_GRANT_REVOKE, "code_take", &s)) != GH_OK)
            goto out;
        bind_text(s, 1, c->grant_id, &brc);
        if ((rc = bound(b, "code_take", brc)) != GH_OK ||
            (rc = step_done(b, s, "code_take")) != GH_OK)
            goto out;
        done(s);
        s = NULL;
        if ((rc = tx_commit(b, "code_take")) != GH_OK)
            goto out;
        rc = GH_EDENIED;
        goto out;
    }
    if (c->expires_at <= now) {
        rc = GH_EEXPIRED;
        goto out;
    }
    if ((rc = prep(b, Q_CODE_SPEND, "code_take", &s)) != GH_OK)
        goto out;
    bind_hash(s, 1, hash, &brc);
    bind_text(s, 2, grant_id, &brc);
    if ((rc = bound(b, "code_take", brc)) != GH_OK ||
        (rc = step_done(b, s, "code_take")) != GH_OK)
        goto out;
    if (sqlite3_changes(b->db) != 1) {   /* cannot happen under the write lock */
        rc = bad_row("code_take", "auth code changed under the write lock");
        goto out;
    }
    done(s);
    s = NULL;
    if ((rc = tx_commit(b, "code_take")) != GH_OK)
        goto out;
    free(c->grant_id);
    c->grant_id = x_strdup(grant_id);
    *out = c;
    c = NULL;
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    authcode_free(c);
    return rc;
}

/* --- grants and refresh tokens ----------------------------------------------------------- */

static int
insert_refresh(struct sq *b, const unsigned char *hash, const char *grant_id, int64_t gen,
    int64_t idle_until, const char *op)
{
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = prep(b, Q_REFRESH_ADD, op, &s)) != GH_OK)
        return rc;
    bind_hash(s, 1, hash, &brc);
    bind_text(s, 2, grant_id, &brc);
    bind_int(s, 3, gen, &brc);
    bind_int(s, 4, idle_until, &brc);
    if ((rc = bound(b, op, brc)) == GH_OK)
        rc = step_done(b, s, op);
    done(s);
    return rc;
}

/* The grant selected by id (Q_GRANT_GET, key text) or by one of its refresh tokens
 * (Q_REFRESH_PEEK, key hash) into a new struct grant: GH_OK, GH_ENOTFOUND. */
static int
load_grant(struct sq *b, enum q_id id, const char *text, const unsigned char *hash,
    int64_t now, const char *op, struct grant **out)
{
    sqlite3_stmt *s = NULL;
    struct grant *g = NULL;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = prep(b, id, op, &s)) != GH_OK)
        goto out;
    if (hash)
        bind_hash(s, 1, hash, &brc);
    else
        bind_text(s, 1, text, &brc);
    if (sqlite3_bind_parameter_count(s) >= 2)
        bind_int(s, 2, now, &brc);
    if ((rc = bound(b, op, brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, op)) != GH_OK)
        goto out;
    g = x_calloc(1, sizeof(*g));
    g->id = col_str(s, 0);
    g->client_id = col_str(s, 1);
    g->sub = col_str(s, 2);
    g->scope = col_str(s, 3);
    g->sid = col_str(s, 4);
    g->amr = col_str(s, 5);
    g->auth_time = sqlite3_column_int64(s, 6);
    g->created_at = sqlite3_column_int64(s, 7);
    g->expires_at = sqlite3_column_int64(s, 8);
    g->refresh_gen = sqlite3_column_int64(s, 9);
    g->revoked = sqlite3_column_int(s, 10) != 0;
    *out = g;
out:
    done(s);
    return rc;
}

/* A new grant starts at refresh generation 0 and unrevoked, whatever g says. Its subject must
 * exist: a user (one deleted meanwhile takes its codes with it, so this closes the window
 * between code_take and grant_add) or the client itself (client_credentials). */
static int
sq_grant_add(void *impl, const struct grant *g, const unsigned char *refresh_hash,
    int64_t refresh_idle_until)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    bool replayed, subject;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "grant_add")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_GRANT_ADD_CHECK, "grant_add", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, g->id, &brc);
    bind_text(s, 2, g->client_id, &brc);
    bind_text(s, 3, g->sub, &brc);
    if ((rc = bound(b, "grant_add", brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, "grant_add")) != GH_OK) {
        if (rc == GH_ENOTFOUND)
            rc = bad_row("grant_add", "check returned no row");
        goto out;
    }
    replayed = sqlite3_column_int(s, 0) != 0;
    subject = sqlite3_column_int(s, 1) != 0;
    done(s);
    s = NULL;
    /* RFC 6749 §4.1.2: the code this grant comes from was replayed while its first redemption
     * was in flight. The grant is stored revoked, exactly as if the replay had come a moment
     * later: the first redemption still gets its answer (of N racing requests exactly one
     * succeeds), and its tokens are dead. */
    if (!subject) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    if ((rc = prep(b, Q_GRANT_ADD, "grant_add", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, g->id, &brc);
    bind_text(s, 2, g->client_id, &brc);
    bind_text(s, 3, g->sub, &brc);
    bind_text(s, 4, g->scope, &brc);
    bind_text(s, 5, g->sid, &brc);
    bind_text(s, 6, g->amr, &brc);
    bind_int(s, 7, g->auth_time, &brc);
    bind_int(s, 8, g->created_at, &brc);
    bind_int(s, 9, g->expires_at, &brc);
    bind_int(s, 10, replayed ? 1 : 0, &brc);
    if ((rc = bound(b, "grant_add", brc)) != GH_OK ||
        (rc = step_done(b, s, "grant_add")) != GH_OK)
        goto out;
    done(s);
    s = NULL;
    if (refresh_hash &&
        (rc = insert_refresh(b, refresh_hash, g->id, 0, refresh_idle_until, "grant_add")) !=
            GH_OK)
        goto out;
    rc = tx_commit(b, "grant_add");
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    return rc;
}

static int
sq_grant_get(void *impl, const char *id, struct grant **out)
{
    return load_grant(impl, Q_GRANT_GET, id, NULL, 0, "grant_get", out);
}

/* A read, nothing spent and nothing checked: the caller still rotates (or not) afterwards. */
static int
sq_refresh_peek(void *impl, const unsigned char *hash, int64_t now, struct grant **out)
{
    return load_grant(impl, Q_REFRESH_PEEK, NULL, hash, now, "refresh_peek", out);
}

static int
sq_grant_revoke(void *impl, const char *id)
{
    return write_keyed(impl, Q_GRANT_REVOKE, "grant_revoke", NULL, id, 0);
}

/* ASVS 7.4.2/7.4.3: a password change or a disabled account ends every session and revokes
 * every grant (refresh tokens and access tokens) of the user, in one transaction. */
static int
sq_user_revoke(void *impl, const char *sub, size_t *n)
{
    static const enum q_id ids[] = { Q_USER_SESSIONS_DELETE, Q_USER_GRANTS_REVOKE };
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    size_t count = 0;
    int brc = SQLITE_OK, rc;

    if (n)
        *n = 0;
    if ((rc = tx_write(b, "user_revoke")) != GH_OK)
        return rc;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        if ((rc = prep(b, ids[i], "user_revoke", &s)) != GH_OK)
            goto out;
        bind_text(s, 1, sub, &brc);
        if ((rc = bound(b, "user_revoke", brc)) != GH_OK ||
            (rc = step_done(b, s, "user_revoke")) != GH_OK)
            goto out;
        count += (size_t)sqlite3_changes(b->db);
        done(s);
        s = NULL;
    }
    if ((rc = tx_commit(b, "user_revoke")) == GH_OK && n)
        *n = count;
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    return rc;
}

/* RFC 9700 §4.14.2: rotation with reuse detection. Only the newest token of a family (gen ==
 * grants.refresh_gen) rotates; an older one proves that two parties hold tokens of the family,
 * so the family (and only it) is revoked. Everything happens under one write lock, and the
 * generation advances with a compare-and-set, so two racing requests with one token cannot
 * both win: the second sees an old generation and revokes. */
static int
sq_refresh_rotate(void *impl, const unsigned char *old_hash, const unsigned char *new_hash,
    int64_t now, int64_t new_idle_until, struct grant **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    char *grant_id = NULL;
    int64_t gen, idle_until, cur_gen, expires_at;
    bool revoked;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = tx_write(b, "refresh_rotate")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_REFRESH_FIND, "refresh_rotate", &s)) != GH_OK)
        goto out;
    bind_hash(s, 1, old_hash, &brc);
    if ((rc = bound(b, "refresh_rotate", brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, "refresh_rotate")) != GH_OK)
        goto out;
    grant_id = col_str(s, 0);
    gen = sqlite3_column_int64(s, 1);
    idle_until = sqlite3_column_int64(s, 2);
    cur_gen = sqlite3_column_int64(s, 3);
    revoked = sqlite3_column_int(s, 4) != 0;
    expires_at = sqlite3_column_int64(s, 5);
    done(s);
    s = NULL;

    if (revoked) {
        rc = GH_EDENIED;
        goto out;
    }
    if (expires_at <= now || idle_until <= now) {
        rc = GH_EEXPIRED;
        goto out;
    }
    if (gen != cur_gen) {
        if ((rc = prep(b, Q_GRANT_REVOKE, "refresh_rotate", &s)) != GH_OK)
            goto out;
        bind_text(s, 1, grant_id, &brc);
        if ((rc = bound(b, "refresh_rotate", brc)) != GH_OK ||
            (rc = step_done(b, s, "refresh_rotate")) != GH_OK)
            goto out;
        done(s);
        s = NULL;
        if ((rc = tx_commit(b, "refresh_rotate")) != GH_OK)
            goto out;
        rc = GH_EDENIED;   /* RFC 9700 §4.14.2: reuse; the family is now revoked */
        goto out;
    }
    if ((rc = prep(b, Q_GRANT_ADVANCE, "refresh_rotate", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, grant_id, &brc);
    bind_int(s, 2, gen, &brc);
    if ((rc = bound(b, "refresh_rotate", brc)) != GH_OK ||
        (rc = step_done(b, s, "refresh_rotate")) != GH_OK)
        goto out;
    if (sqlite3_changes(b->db) != 1) {   /* cannot happen under the write lock */
        rc = bad_row("refresh_rotate", "grant changed under the write lock");
        goto out;
    }
    done(s);
    s = NULL;
    if ((rc = insert_refresh(b, new_hash, grant_id, gen + 1, new_idle_until,
             "refresh_rotate")) != GH_OK)
        goto out;
    if ((rc = load_grant(b, Q_GRANT_GET, grant_id, NULL, 0, "refresh_rotate", out)) != GH_OK) {
        if (rc == GH_ENOTFOUND)
            rc = bad_row("refresh_rotate", "grant vanished under the write lock");
        goto out;
    }
    if ((rc = tx_commit(b, "refresh_rotate")) != GH_OK) {
        grant_free(*out);
        *out = NULL;
    }
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    free(grant_id);
    return rc;
}

/* --- access tokens ----------------------------------------------------------------------- */

static int
sq_token_revoke(void *impl, const char *jti, int64_t expires_at)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "token_revoke")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_ACCESS_ADD, "token_revoke", &s)) != GH_OK) {
        tx_rollback(b);
        return rc;
    }
    bind_text(s, 1, jti, &brc);
    bind_int(s, 2, expires_at, &brc);
    return write_commit(b, s, brc, "token_revoke");
}

static int
sq_token_check(void *impl, const char *jti, const char *grant_id)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = prep(b, Q_ACCESS_CHECK, "token_check", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, jti, &brc);
    bind_text(s, 2, grant_id, &brc);   /* NULL binds NULL: matches no grant */
    if ((rc = bound(b, "token_check", brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, "token_check")) != GH_OK)
        goto out;
    if (sqlite3_column_int(s, 0) != 0)
        rc = GH_EDENIED;                                  /* revoked on its own */
    else if (grant_id && sqlite3_column_type(s, 1) == SQLITE_NULL)
        rc = GH_ENOTFOUND;                                /* its grant is gone */
    else if (grant_id && sqlite3_column_int(s, 1) != 0)
        rc = GH_EDENIED;                                  /* its grant was revoked */
out:
    done(s);
    return rc;
}

/* --- assertion replay ------------------------------------------------------------------ */

/* RFC 7523 §3 item 7: the primary key makes a second (iss, jti) a constraint error. */
static int
sq_jti_use(void *impl, const char *iss, const char *jti, int64_t expires_at)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "jti_use")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_JTI_USE, "jti_use", &s)) != GH_OK) {
        tx_rollback(b);
        return rc;
    }
    bind_text(s, 1, iss, &brc);
    bind_text(s, 2, jti, &brc);
    bind_int(s, 3, expires_at, &brc);
    return write_commit(b, s, brc, "jti_use");
}

/* --- consent ----------------------------------------------------------------------------- */

static int
sq_consent_get(void *impl, const char *sub, const char *client_id, char **scope)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    *scope = NULL;
    if ((rc = prep(b, Q_CONSENT_GET, "consent_get", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, sub, &brc);
    bind_text(s, 2, client_id, &brc);
    if ((rc = bound(b, "consent_get", brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, "consent_get")) != GH_OK)
        goto out;
    *scope = col_str(s, 0);
out:
    done(s);
    return rc;
}

static int
sq_consent_set(void *impl, const char *sub, const char *client_id, const char *scope,
    int64_t now)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "consent_set")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_CONSENT_SET, "consent_set", &s)) != GH_OK) {
        tx_rollback(b);
        return rc;
    }
    bind_text(s, 1, sub, &brc);
    bind_text(s, 2, client_id, &brc);
    bind_text(s, 3, scope, &brc);
    bind_int(s, 4, now, &brc);
    return write_commit(b, s, brc, "consent_set");
}

/* --- purge ------------------------------------------------------------------------------- */

/* One write transaction; the order matters: the tokens of ended grants go before the grants so
 * that they are counted (the cascade would delete them uncounted). */
static int
sq_purge(void *impl, int64_t now, int64_t grace, size_t *removed)
{
    static const enum q_id steps[] = { Q_PURGE_JTIS, Q_PURGE_INTERACTIONS, Q_PURGE_SESSIONS,
        Q_PURGE_CODES,
        Q_PURGE_ACCESS, Q_PURGE_REFRESH, Q_PURGE_GRANTS };
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    size_t n = 0;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "purge")) != GH_OK)
        return rc;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        /* codes live `grace` seconds past expiry, so a late replay still revokes */
        int64_t cutoff = steps[i] == Q_PURGE_CODES ? sub_sat(now, grace > 0 ? grace : 0) : now;
        if ((rc = prep(b, steps[i], "purge", &s)) != GH_OK)
            goto out;
        bind_int(s, 1, cutoff, &brc);
        if ((rc = bound(b, "purge", brc)) != GH_OK || (rc = step_done(b, s, "purge")) != GH_OK)
            goto out;
        n += (size_t)sqlite3_changes(b->db);
        done(s);
        s = NULL;
    }
    if ((rc = tx_commit(b, "purge")) != GH_OK)
        goto out;
    if (removed)
        *removed = n;
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    return rc;
}

/* --- service-to-service: resources (0004_s2s.sql) ------------------------------------------ */

/* A resources row (id, name, scopes, created_at) into a new struct resource. */
static struct resource *
row_resource(sqlite3_stmt *s)
{
    struct resource *r = x_calloc(1, sizeof(*r));

    r->id = col_str(s, 0);
    r->name = col_str(s, 1);
    r->scopes = split_spaces((const char *)sqlite3_column_text(s, 2));
    r->created_at = sqlite3_column_int64(s, 3);
    return r;
}

static int
sq_resource_add(void *impl, const struct resource *r)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    char *scopes = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "resource_add")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_RES_ADD, "resource_add", &s)) != GH_OK) {
        tx_rollback(b);
        return rc;
    }
    scopes = str_list_join(r->scopes, " ");
    bind_text(s, 1, r->id, &brc);
    bind_text(s, 2, r->name, &brc);
    bind_text(s, 3, scopes, &brc);
    bind_int(s, 4, r->created_at, &brc);
    rc = write_commit(b, s, brc, "resource_add");
    free(scopes);
    return rc;
}

static int
sq_resource_get(void *impl, const char *id, struct resource **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = prep(b, Q_RES_GET, "resource_get", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, id, &brc);
    if ((rc = bound(b, "resource_get", brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, "resource_get")) != GH_OK)
        goto out;
    *out = row_resource(s);
out:
    done(s);
    return rc;
}

static int
sq_resource_list(void *impl, struct resource ***out, size_t *n)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct resource **list = NULL;
    size_t len = 0, cap = 0;
    int rc, src;

    *out = NULL;
    *n = 0;
    if ((rc = prep(b, Q_RES_LIST, "resource_list", &s)) != GH_OK)
        goto out;
    list = x_calloc(1, sizeof(*list));
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (len + 1 >= cap) {
            cap = cap ? cap * 2 : 16;
            list = x_realloc(list, cap * sizeof(*list));
        }
        list[len++] = row_resource(s);
        list[len] = NULL;
    }
    if (src != SQLITE_DONE) {
        rc = fail(b, "resource_list", src);
        goto out;
    }
    *out = list;
    *n = len;
    list = NULL;
out:
    done(s);
    resource_list_free(list, len);
    return rc;
}

/* Its resource_clients rows go with it (ON DELETE CASCADE). */
static int
sq_resource_delete(void *impl, const char *id)
{
    return write_keyed(impl, Q_RES_DELETE, "resource_delete", NULL, id, 0);
}

/* An upsert: a second allow replaces the scopes. A resource or client that does not exist
 * fails the foreign key: GH_ENOTFOUND (map_rc). */
static int
sq_resource_allow(void *impl, const char *resource, const char *client_id, const char *scope,
    int64_t now)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "resource_allow")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_RES_ALLOW, "resource_allow", &s)) != GH_OK) {
        tx_rollback(b);
        return rc;
    }
    bind_text(s, 1, resource, &brc);
    bind_text(s, 2, client_id, &brc);
    bind_text(s, 3, scope ? scope : "", &brc);
    bind_int(s, 4, now, &brc);
    return write_commit(b, s, brc, "resource_allow");
}

static int
sq_resource_disallow(void *impl, const char *resource, const char *client_id)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = tx_write(b, "resource_disallow")) != GH_OK)
        return rc;
    if ((rc = prep(b, Q_RES_DISALLOW, "resource_disallow", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, resource, &brc);
    bind_text(s, 2, client_id, &brc);
    if ((rc = bound(b, "resource_disallow", brc)) != GH_OK)
        goto out;
    if ((rc = step_done(b, s, "resource_disallow")) != GH_OK)
        goto out;
    if (sqlite3_changes(b->db) == 0) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    done(s);
    s = NULL;
    rc = tx_commit(b, "resource_disallow");
out:
    done(s);
    if (rc != GH_OK)
        tx_rollback(b);
    return rc;
}

static int
sq_resource_client_scope(void *impl, const char *resource, const char *client_id,
    char **scope)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    *scope = NULL;
    if ((rc = prep(b, Q_RES_CLIENT_SCOPE, "resource_client_scope", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, resource, &brc);
    bind_text(s, 2, client_id, &brc);
    if ((rc = bound(b, "resource_client_scope", brc)) != GH_OK)
        goto out;
    if ((rc = step_row(b, s, "resource_client_scope")) != GH_OK)
        goto out;
    *scope = col_str(s, 0);
out:
    done(s);
    return rc;
}

static int
sq_resource_clients(void *impl, const char *resource, struct resource_client **out, size_t *n)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct resource_client *list = NULL;
    size_t len = 0, cap = 0;
    int brc = SQLITE_OK, rc, src;

    *out = NULL;
    *n = 0;
    if ((rc = prep(b, Q_RES_CLIENTS, "resource_clients", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, resource, &brc);
    if ((rc = bound(b, "resource_clients", brc)) != GH_OK)
        goto out;
    list = x_calloc(1, sizeof(*list));
    cap = 1;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            cap *= 2;
            list = x_realloc(list, cap * sizeof(*list));
        }
        list[len].client_id = col_str(s, 0);
        list[len].scope = col_str(s, 1);
        list[len].created_at = sqlite3_column_int64(s, 2);
        len++;
    }
    if (src != SQLITE_DONE) {
        rc = fail(b, "resource_clients", src);
        goto out;
    }
    *out = list;
    *n = len;
    list = NULL;
out:
    done(s);
    resource_client_list_free(list, len);
    return rc;
}

static int
sq_client_resources(void *impl, const char *client_id, char ***ids, size_t *n)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct strvec sv = { 0 };
    int brc = SQLITE_OK, rc, src;

    *ids = NULL;
    *n = 0;
    if ((rc = prep(b, Q_CLIENT_RESOURCES, "client_resources", &s)) != GH_OK)
        goto out;
    bind_text(s, 1, client_id, &brc);
    if ((rc = bound(b, "client_resources", brc)) != GH_OK)
        goto out;
    while ((src = sqlite3_step(s)) == SQLITE_ROW)
        strvec_push(&sv, (const char *)sqlite3_column_text(s, 0));
    if (src != SQLITE_DONE) {
        rc = fail(b, "client_resources", src);
        goto out;
    }
    *n = sv.n;
    *ids = strvec_take(&sv);
out:
    done(s);
    str_list_free(sv.v);
    return rc;
}

const struct store_ops store_sqlite_ops = {
    .scheme = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .check = sq_check,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
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
};
