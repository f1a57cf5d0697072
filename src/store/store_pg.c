/* store_pg.c — the PostgreSQL backend of store.h (libpq): its statements, connecting,
 * migrating and checking, transactions, and the helpers of store_pg_{accounts,signin,s2s}.c
 * (store_pg_int.h). Only these files include <libpq-fe.h>.
 *
 * The DSN is libpq's: the whole "postgresql://…" or "postgres://…" URI is the conninfo. One
 * PGconn per handle (each worker thread has its own handle, so a process holds one connection
 * per worker). Every statement is prepared once per connection (PQprepare right after
 * connecting, again after a reconnect) and run with PQexecPrepared; data only ever travels as
 * bound parameters — text and integers as text, hashes and sealed secrets as binary bytea —
 * never formatted into SQL. The schema is the numbered files in schema/pg/, compiled in; the
 * version applied is the one row of gatehouse_schema, and each pending file runs in its own
 * transaction together with the version bump, under a transaction-level advisory lock, so two
 * instances starting at once apply each file once.
 *
 * Transactions: a write of one statement is that statement (PostgreSQL runs it atomically);
 * anything larger is one BEGIN … COMMIT at READ COMMITTED, rolled back on any error. Where
 * SQLite's single writer serialises everything, here concurrency is decided row by row: a
 * single-use object is read with SELECT … FOR UPDATE (or deleted with DELETE … RETURNING, or
 * inserted with ON CONFLICT DO NOTHING and its row count checked) inside the transaction that
 * spends it, so of two instances redeeming one code or one refresh token at once the second
 * waits for the first, then sees the row as the first left it, and is refused as a replay
 * (RFC 6749 §4.1.2, RFC 9700 §4.14.2). Durability: a commit is on disk when COMMIT returns
 * (synchronous_commit on, the server's default), so the group-commit tickets of store.h are
 * trivial here. Reads of several statements (a client and its URIs) share one REPEATABLE READ
 * READ ONLY transaction; store_read_begin opens one for the reads of a request (see
 * pg_read_begin for why it is not a no-op).
 *
 * Errors: SQLSTATE 23505 (unique violation, also raised by the retired-sub trigger) is
 * GH_EEXIST; 23503 (the user, client or grant a row refers to is gone) is GH_ENOTFOUND;
 * everything else is GH_ESTORE, logged here once as `store_error op=… db=… state=… msg=…`. A
 * lost connection is re-established (PQreset, then every statement prepared again) by the
 * next call, so a restarted database server is survived; the call that found it dead fails
 * (GH_ESTORE) unless it was a BEGIN or a read outside a transaction, which are sent again.
 *
 * Readiness (/readyz, pg_ping) is bounded in time whatever the network does: the query is sent
 * and awaited with poll(2), a reconnect made with libpq's non-blocking calls.
 *
 * Not here: a connection pool beyond one connection per handle (each worker thread keeps its
 * own), LISTEN/NOTIFY (instances poll the key list instead). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "store/store_pg_int.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

/* Generated from the files in schema/pg/ by schema/embed.sh (see the Makefile). */
extern const char *const store_pg_migrations[];
extern const size_t store_pg_migration_count;

/* pg_advisory_xact_lock key of migrations: "GHSE" and 1. */
#define MIGRATE_LOCK     "4775222467645440001"
/* pg_advisory_xact_lock key of signing-key additions (store_key_insert): "GHSE" and 2. */
#define KEYS_LOCK        "4775222467645440002"
#define CHECK_REPORT_MAX (64 * 1024)
#define CONNECT_TIMEOUT  "10"   /* seconds; a DSN's own connect_timeout wins */
#define LOCK_TIMEOUT     "5s"   /* store_sqlite.c's BUSY_TIMEOUT_MS; a DSN's or role's wins */

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
/* Lists are ordered by byte value whatever the database's collation (store.h). */
#define BYTES        " COLLATE \"C\""

static const char *const sql_text[P_COUNT] = {
    [P_BEGIN] = "BEGIN",
    [P_BEGIN_SNAP] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    [P_COMMIT] = "COMMIT",
    [P_ROLLBACK] = "ROLLBACK",
    [P_SCHEMA_VERSION] = "SELECT version FROM gatehouse_schema",
    [P_TABLE_EXISTS] = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables "
                       "WHERE schemaname = current_schema() AND tablename = $1)",
    [P_META_GET] = "SELECT value FROM meta WHERE name = $1",
    [P_META_SET] = "INSERT INTO meta (name, value) VALUES ($1, $2) "
                   "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    [P_META_ADD] = "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    [P_USER_ADD] = "INSERT INTO users (" USER_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    [P_USER_GET] = "SELECT " USER_COLS " FROM users WHERE lower(username) = lower($1)",
    [P_USER_GET_BY_SUB] = "SELECT " USER_COLS " FROM users WHERE sub = $1",
    [P_USER_LIST] = "SELECT " USER_COLS " FROM users ORDER BY lower(username)" BYTES ", id",
    [P_USER_SET_PASSWORD] = "UPDATE users SET password_hash = $2, updated_at = $3 "
                            "WHERE lower(username) = lower($1)",
    [P_USER_SET_DISABLED] = "UPDATE users SET disabled = $2, updated_at = $3 "
                            "WHERE lower(username) = lower($1)",
    [P_USER_DELETE] = "DELETE FROM users WHERE lower(username) = lower($1)",
    [P_CLIENT_ADD] = "INSERT INTO clients (client_id, name, public, auth_method, grant_types, "
                     "scopes, jwks, secret_hash, secret_sealed, created_at, updated_at, "
                     "consent, pkce_required, signing_alg, jwks_uri) "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
                     "RETURNING id",
    [P_CLIENT_URI_ADD] = "INSERT INTO client_uris (client, kind, pos, uri) "
                         "VALUES ($1, $2, $3, $4)",
    [P_CLIENT_GET] = "SELECT " CLIENT_COLS " FROM clients WHERE client_id = $1",
    [P_CLIENT_LIST] = "SELECT " CLIENT_COLS " FROM clients ORDER BY client_id" BYTES,
    [P_CLIENT_URIS] = "SELECT kind, uri FROM client_uris WHERE client = $1 ORDER BY kind, pos",
    [P_CLIENT_SET_SECRET] = "UPDATE clients SET secret_hash = $2, secret_sealed = $3, "
                            "updated_at = $4 WHERE client_id = $1",
    [P_CLIENT_DELETE] = "DELETE FROM clients WHERE client_id = $1",
    [P_KEY_LOCK] = "SELECT pg_advisory_xact_lock(" KEYS_LOCK ")",
    /* $6 < 0: unconditional; else only while the alg still has $6 keys (store_key_insert).
     * Run after P_KEY_LOCK: at READ COMMITTED this statement's snapshot is taken once the lock
     * is held, so it sees the key a previous holder committed. */
    [P_KEY_ADD] = "INSERT INTO signing_keys (kid, alg, created_at, activate_at, sealed) "
                  "SELECT $1::text, $2::text, $3::bigint, $4::bigint, $5::bytea "
                  "WHERE $6::bigint < 0 OR "
                  "(SELECT count(*) FROM signing_keys WHERE alg = $2::text) = $6::bigint",
    [P_KEY_LIST] = "SELECT kid, alg, created_at, activate_at, retire_at, sealed FROM signing_keys "
                   "ORDER BY created_at, seq",
    [P_KEY_RETIRE] = "UPDATE signing_keys SET retire_at = $2 WHERE kid = $1",
    [P_IA_ADD] = "INSERT INTO interactions (" IA_COLS ") VALUES ($1, $2, $3, $4, $5)",
    [P_IA_GET] = "SELECT " IA_COLS " FROM interactions WHERE id_hash = $1",
    /* one statement reads and deletes: of two concurrent takes, one gets the row */
    [P_IA_TAKE] = "DELETE FROM interactions WHERE id_hash = $1 RETURNING " IA_COLS,
    [P_SESSION_ADD] = "INSERT INTO sessions (" SESSION_COLS ") "
                      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    [P_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions WHERE id_hash = $1",
    /* only if nobody touched it since it was found dead */
    [P_SESSION_DELETE_DEAD] = "DELETE FROM sessions WHERE id_hash = $1 AND last_seen = $2",
    [P_SESSION_TOUCH] = "UPDATE sessions SET last_seen = greatest(last_seen, $2) "
                        "WHERE id_hash = $1",
    [P_SESSION_DELETE] = "DELETE FROM sessions WHERE id_hash = $1",
    [P_CODE_ADD] = "INSERT INTO auth_codes (" CODE_COLS ") "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    /* the row lock makes a concurrent redemption wait, then see the code spent */
    [P_CODE_LOCK] = "SELECT " CODE_COLS ", grant_id, spent FROM auth_codes WHERE hash = $1 "
                    "FOR UPDATE",
    [P_CODE_SPEND] = "UPDATE auth_codes SET spent = 1, grant_id = $2 "
                     "WHERE hash = $1 AND spent = 0",
    [P_CODE_MARK_REPLAYED] = "UPDATE auth_codes SET replayed = 1 WHERE hash = $1",
    /* $1 client_id, $2 sub: the subject exists, and (a user) stays until we commit */
    [P_GRANT_SUBJECT] = "SELECT $2::text = $1::text OR EXISTS (SELECT 1 FROM users "
                        "WHERE sub = $2 FOR KEY SHARE)",
    /* the code this grant comes from, locked against a replay marking it meanwhile */
    [P_GRANT_CODE_LOCK] = "SELECT replayed FROM auth_codes WHERE grant_id = $1 FOR UPDATE",
    [P_GRANT_ADD] = "INSERT INTO grants (id, client_id, sub, scope, sid, amr, auth_time, "
                    "created_at, expires_at, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                    "$9, $10)",
    [P_GRANT_GET] = "SELECT " GRANT_COLS " FROM grants WHERE id = $1",
    [P_GRANT_REVOKE] = "UPDATE grants SET revoked = 1 WHERE id = $1",
    [P_USER_SESSIONS_DELETE] = "DELETE FROM sessions WHERE sub = $1",
    [P_USER_GRANTS_REVOKE] = "UPDATE grants SET revoked = 1 WHERE sub = $1 AND revoked = 0",
    [P_GRANT_ADVANCE] = "UPDATE grants SET refresh_gen = refresh_gen + 1 "
                        "WHERE id = $1 AND refresh_gen = $2 AND revoked = 0",
    [P_REFRESH_ADD] = "INSERT INTO refresh_tokens (hash, grant_id, gen, idle_until) "
                      "VALUES ($1, $2, $3, $4)",
    /* the grant row lock serialises rotations of one family; a waiter reads the advanced
     * generation (READ COMMITTED re-reads a row it waited for) */
    [P_REFRESH_LOCK] = "SELECT r.grant_id, r.gen, r.idle_until, g.refresh_gen, g.revoked, "
                       "g.expires_at FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id "
                       "WHERE r.hash = $1 FOR UPDATE OF g",
    [P_REFRESH_PEEK] = "SELECT g.id, g.client_id, g.sub, g.scope, g.sid, g.amr, g.auth_time, "
                       "g.created_at, g.expires_at, g.refresh_gen, g.revoked FROM grants g "
                       "JOIN refresh_tokens r ON r.grant_id = g.id WHERE r.hash = $1 "
                       "AND r.gen = g.refresh_gen AND r.idle_until > $2",
    [P_ACCESS_ADD] = "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) "
                     "ON CONFLICT (jti) DO NOTHING",
    [P_ACCESS_CHECK] = "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1), "
                       "(SELECT revoked FROM grants WHERE id = $2)",
    [P_CONSENT_GET] = "SELECT scope FROM consents WHERE sub = $1 AND client_id = $2",
    [P_CONSENT_SET] = "INSERT INTO consents (sub, client_id, scope, created_at) "
                      "VALUES ($1, $2, $3, $4) ON CONFLICT (sub, client_id) "
                      "DO UPDATE SET scope = excluded.scope, created_at = excluded.created_at",
    [P_PURGE_INTERACTIONS] = "DELETE FROM interactions WHERE expires_at <= $1",
    [P_PURGE_SESSIONS] = "DELETE FROM sessions WHERE expires_at <= $1",
    [P_PURGE_CODES] = "DELETE FROM auth_codes WHERE expires_at <= $1",
    [P_PURGE_ACCESS] = "DELETE FROM revoked_tokens WHERE expires_at <= $1",
    [P_PURGE_REFRESH] = "DELETE FROM refresh_tokens WHERE grant_id IN "
                        "(SELECT id FROM grants WHERE expires_at <= $1)",
    [P_PURGE_GRANTS] = "DELETE FROM grants WHERE expires_at <= $1",
    /* RFC 7523 §3 item 7: the row count says whether this (iss, jti) is new */
    [P_JTI_USE] = "INSERT INTO used_jtis (iss, jti, expires_at) VALUES ($1, $2, $3) "
                  "ON CONFLICT (iss, jti) DO NOTHING",
    [P_PURGE_JTIS] = "DELETE FROM used_jtis WHERE expires_at <= $1",
    [P_LOGIN_GET] = "SELECT failures, locked_until, expires_at FROM login_failures "
                    "WHERE name = $1",
    /* a row to lock even for the first failure (expires_at 0 counts as none) */
    [P_LOGIN_ENSURE] = "INSERT INTO login_failures (name, failures, locked_until, expires_at) "
                       "VALUES ($1, 0, 0, 0) ON CONFLICT (name) DO NOTHING",
    [P_LOGIN_LOCK] = "SELECT failures, locked_until, expires_at FROM login_failures "
                     "WHERE name = $1 FOR UPDATE",
    [P_LOGIN_PUT] = "UPDATE login_failures SET failures = $2, locked_until = $3, "
                    "expires_at = $4 WHERE name = $1",
    [P_LOGIN_DELETE] = "DELETE FROM login_failures WHERE name = $1",
    [P_PURGE_LOGINS] = "DELETE FROM login_failures WHERE expires_at <= $1",
    [P_RES_ADD] = "INSERT INTO resources (id, name, scopes, created_at) VALUES ($1, $2, $3, $4)",
    [P_RES_GET] = "SELECT id, name, scopes, created_at FROM resources WHERE id = $1",
    [P_RES_LIST] = "SELECT id, name, scopes, created_at FROM resources ORDER BY id" BYTES,
    [P_RES_DELETE] = "DELETE FROM resources WHERE id = $1",
    [P_RES_ALLOW] = "INSERT INTO resource_clients (resource, client_id, scopes, created_at) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (resource, client_id) "
                    "DO UPDATE SET scopes = excluded.scopes, created_at = excluded.created_at",
    [P_RES_DISALLOW] = "DELETE FROM resource_clients WHERE resource = $1 AND client_id = $2",
    [P_RES_CLIENT_SCOPE] = "SELECT scopes FROM resource_clients "
                           "WHERE resource = $1 AND client_id = $2",
    [P_RES_CLIENTS] = "SELECT client_id, scopes, created_at FROM resource_clients "
                      "WHERE resource = $1 ORDER BY client_id" BYTES,
    [P_CLIENT_RESOURCES] = "SELECT resource FROM resource_clients WHERE client_id = $1 "
                           "ORDER BY resource" BYTES,
    [P_ISS_ADD] = "INSERT INTO trusted_issuers (issuer, jwks, jwks_uri, disabled, created_at, "
                  "updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
    [P_ISS_CLIENT_ADD] = "INSERT INTO issuer_clients (issuer, client_id) VALUES ($1, $2)",
    /* issuer_add: a client listed twice is listed (an error would abort the transaction) */
    [P_ISS_CLIENT_ADD_ONCE] = "INSERT INTO issuer_clients (issuer, client_id) VALUES ($1, $2) "
                              "ON CONFLICT DO NOTHING",
    [P_ISS_GET] = "SELECT " ISS_COLS " FROM trusted_issuers WHERE issuer = $1",
    [P_ISS_LIST] = "SELECT " ISS_COLS " FROM trusted_issuers ORDER BY issuer" BYTES,
    [P_ISS_CLIENTS] = "SELECT client_id FROM issuer_clients WHERE issuer = $1 "
                      "ORDER BY client_id" BYTES,
    [P_ISS_SET_DISABLED] = "UPDATE trusted_issuers SET disabled = $2, updated_at = $3 "
                           "WHERE issuer = $1",
    [P_ISS_DELETE] = "DELETE FROM trusted_issuers WHERE issuer = $1",
    [P_ISS_CLIENT_DEL] = "DELETE FROM issuer_clients WHERE issuer = $1 AND client_id = $2",
    [P_JG_CLIENT] = "SELECT public, auth_method, grant_types FROM clients WHERE client_id = $1",
    [P_JG_ISSUER] = "SELECT i.disabled, EXISTS (SELECT 1 FROM issuer_clients c "
                    "WHERE c.issuer = i.issuer AND c.client_id = $2) "
                    "FROM trusted_issuers i WHERE i.issuer = $1",
    [P_JG_USER] = "SELECT disabled FROM users WHERE sub = $1",
};

/* Tables `gatehouse db check` expects (the schema of the last migration). */
static const char *const expected_tables[] = {
    "gatehouse_schema", "meta", "users", "retired_subs", "clients", "client_uris",
    "signing_keys", "interactions", "sessions", "auth_codes", "grants", "refresh_tokens",
    "consents", "revoked_tokens", "resources", "resource_clients", "used_jtis",
    "trusted_issuers", "issuer_clients", "login_failures", NULL,
};

/* --- errors ------------------------------------------------------------------------------ */

/* One line of a server or libpq message: control characters (libpq ends messages with a
 * newline, DETAIL lines follow) become spaces. */
static void
flatten(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20)
            *s = ' ';
    }
}

/* The storage fault a failed call is (STORE_FAULT_NONE: not the environment's doing): a lost
 * or refused connection (SQLSTATE class 08, or none with the connection down) is an I/O fault,
 * 53100 disk full, 25006 a read-only transaction (a hot standby), 55P03 / 40P01 / 57014 lock
 * trouble (lock_timeout, deadlock, statement_timeout), class XX data corruption. */
static enum store_fault
fault_kind(struct pg *b, const char *state)
{
    if (!state)
        return b->conn && PQstatus(b->conn) == CONNECTION_OK ? STORE_FAULT_NONE : STORE_FAULT_IO;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0)
        return STORE_FAULT_IO;
    if (strcmp(state, "53100") == 0)
        return STORE_FAULT_FULL;
    if (strcmp(state, "25006") == 0)
        return STORE_FAULT_READONLY;
    if (strcmp(state, "55P03") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "57014") == 0)
        return STORE_FAULT_LOCKED;
    if (strncmp(state, "XX", 2) == 0)
        return STORE_FAULT_CORRUPT;
    return STORE_FAULT_NONE;
}

/* Report a backend failure once and turn it into GH_ESTORE: a storage fault goes to the fault
 * episode (store_fault.c, one log line per episode), anything else is logged here. */
static int
fail(struct pg *b, const char *op, const char *state, const char *msg)
{
    char esc[LOG_ESC_SIZE], buf[512];
    enum store_fault k = fault_kind(b, state);

    snprintf(buf, sizeof(buf), "%s", msg ? msg : "(no message)");
    flatten(buf);
    if (k != STORE_FAULT_NONE) {
        /* a failure inside a transaction is a write's; a lone SELECT is a read */
        store_fault_note(k, b->tx != PG_TX_NONE && b->tx != PG_TX_SNAP, b->label, op, 0, buf);
        return GH_ESTORE;
    }
    met_inc(MET_STORE_OTHER);
    log_err("store_error", "op=%s db=%s state=%s msg=%s", op, b->label, state ? state : "-",
        log_esc(buf, esc));
    return GH_ESTORE;
}

int
pg_bad_row(const char *op, const char *what)
{
    log_err("store_error", "op=%s state=- msg=\"%s\"", op, what);
    return GH_ESTORE;
}

/* The connection is gone: forget the transaction and the statements (they died with the
 * session); the next call reconnects. */
static void
lost(struct pg *b)
{
    b->tx = PG_TX_NONE;
    b->prepared = false;
}

/* --- connection -------------------------------------------------------------------------- */

/* Prepare every statement on this connection. A schema that lacks a table or column one of
 * them uses fails here, at open: *why (may be NULL) gets the server's message. */
static int
prepare_all(struct pg *b, char *why, size_t whysz)
{
    char name[16];

    for (int i = 0; i < P_COUNT; i++) {
        PGresult *r;

        snprintf(name, sizeof(name), "q%d", i);
        r = PQprepare(b->conn, name, sql_text[i], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(b->conn);
            int rc;
            if (why) {
                snprintf(why, whysz, "%s", msg);
                flatten(why);
            }
            rc = fail(b, "prepare", PQresultErrorField(r, PG_DIAG_SQLSTATE), msg);
            PQclear(r);
            return rc;
        }
        PQclear(r);
    }
    b->prepared = true;
    return GH_OK;
}

static int session_setup(PGconn *conn, bool ro, char *msg, size_t msgsz);

/* Before a call that starts talking to the server: reconnect after a loss. Inside a
 * transaction a lost connection is that transaction's failure, not something to hide. */
static int
ensure_conn(struct pg *b, const char *op)
{
    if (PQstatus(b->conn) != CONNECTION_OK || b->stale) {
        if (b->tx != PG_TX_NONE)
            return fail(b, op, NULL, "connection lost inside a transaction");
        char msg[256];

        PQreset(b->conn);
        if (PQstatus(b->conn) != CONNECTION_OK)
            return fail(b, op, "08006", PQerrorMessage(b->conn));
        if (session_setup(b->conn, b->ro, msg, sizeof(msg)) != GH_OK)
            return fail(b, op, "08006", msg);
        log_info("store_reconnected", "db=%s", b->label);
        b->prepared = false;
        b->stale = false;
    }
    return b->prepared ? GH_OK : prepare_all(b, NULL, 0);
}

/* Wait until the connection's socket is ready (for reading, or writing with out) or deadline
 * (clock_mono_us) passes: true when ready. */
static bool
wait_sock(struct pg *b, bool out, int64_t deadline)
{
    struct pollfd p = { .fd = PQsocket(b->conn), .events = out ? POLLOUT : POLLIN };
    int64_t left;
    int n;

    if (p.fd < 0)
        return false;
    do {
        left = (deadline - clock_mono_us()) / 1000;
        if (left <= 0)
            return false;
        n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
    } while (n < 0 && errno == EINTR);
    return n > 0;
}

/* A lost connection made again within the deadline (PQresetStart / PQresetPoll). */
static bool
reconnect_by(struct pg *b, int64_t deadline)
{
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    char msg[256];

    if (!PQresetStart(b->conn))
        return false;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        if (!wait_sock(b, st == PGRES_POLLING_WRITING, deadline))
            return false;
        st = PQresetPoll(b->conn);
    }
    /* the settings' round trip is one more, on a server that just answered */
    if (st != PGRES_POLLING_OK || session_setup(b->conn, b->ro, msg, sizeof(msg)) != GH_OK)
        return false;
    log_info("store_reconnected", "db=%s", b->label);
    b->prepared = false;
    b->stale = false;
    return true;
}

/* store_ping for /readyz: "SELECT 1" answered within timeout_ms, a lost connection made again
 * first within the same bound. Every wait is poll(2) with the time left, so a database host
 * that vanished (no RST, packets dropped) costs timeout_ms, not TCP's minutes. A query still
 * in flight at the deadline leaves the connection stale: its late answer would be read as the
 * next statement's, so the next use reconnects. A handle inside a transaction is in use by
 * its own thread's request, which is the answer: it works. */
static int
pg_ping(void *impl, unsigned timeout_ms)
{
    struct pg *b = impl;
    int64_t deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
    PGresult *r;
    bool ok = true;

    if (b->tx != PG_TX_NONE)
        return GH_OK;
    if ((PQstatus(b->conn) != CONNECTION_OK || b->stale) && !reconnect_by(b, deadline))
        return fail(b, "ping", "08006", "the database did not answer in time");
    if (!PQsendQuery(b->conn, "SELECT 1"))
        return fail(b, "ping", "08006", PQerrorMessage(b->conn));
    while (PQflush(b->conn) == 1)
        if (!wait_sock(b, true, deadline)) {
            b->stale = true;
            return fail(b, "ping", "08006", "the database did not answer in time");
        }
    for (;;) {
        if (!PQconsumeInput(b->conn)) {
            b->stale = true;
            return fail(b, "ping", "08006", PQerrorMessage(b->conn));
        }
        if (!PQisBusy(b->conn))
            break;
        if (!wait_sock(b, false, deadline)) {
            b->stale = true;
            return fail(b, "ping", "08006", "the database did not answer in time");
        }
    }
    while ((r = PQgetResult(b->conn))) {
        ok = ok && PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
    }
    if (!ok)
        return fail(b, "ping", NULL, PQerrorMessage(b->conn));
    store_fault_ok(false);
    return GH_OK;
}

/* --- parameters and statements ----------------------------------------------------------- */

static bool
pgp_slot(struct pgp *p)
{
    if (p->n >= PGP_MAX) {
        p->overflow = true;
        return false;
    }
    return true;
}

void
pgp_text(struct pgp *p, const char *s)
{
    if (!pgp_slot(p))
        return;
    p->v[p->n] = s;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

void
pgp_int(struct pgp *p, int64_t v)
{
    if (!pgp_slot(p))
        return;
    snprintf(p->num[p->n], sizeof(p->num[p->n]), "%lld", (long long)v);
    p->v[p->n] = p->num[p->n];
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

void
pgp_bytes(struct pgp *p, const void *v, size_t n)
{
    if (!pgp_slot(p))
        return;
    if (v && n > INT_MAX) {
        p->overflow = true;
        return;
    }
    p->v[p->n] = v;
    p->len[p->n] = v ? (int)n : 0;
    p->fmt[p->n] = 1;
    p->n++;
}

void
pgp_hash(struct pgp *p, const unsigned char *h)
{
    pgp_bytes(p, h, STORE_HASH_LEN);
}

/* Whether statement id may simply be sent again on a new connection when the old one turned
 * out to be dead: a BEGIN, or a read outside any transaction. Never a write: it may have
 * committed before the connection dropped, and a second run would answer wrongly (a replay
 * where there was none). */
static bool
retry_safe(const struct pg *b, enum pq_id id)
{
    if (id == P_BEGIN || id == P_BEGIN_SNAP)
        return true;
    return b->tx == PG_TX_NONE && strncmp(sql_text[id], "SELECT ", 7) == 0;
}

static int finish(struct pg *b, const char *op, PGresult *r, PGresult **res);

int
pg_exec(struct pg *b, enum pq_id id, const char *op, const struct pgp *p, PGresult **res)
{
    static const struct pgp none = { 0 };
    char name[16];
    PGresult *r;
    ExecStatusType st;
    int rc;

    if (res)
        *res = NULL;
    if (!p)
        p = &none;
    if (p->overflow)
        return fail(b, op, NULL, "too many or too large parameters");
    if ((rc = ensure_conn(b, op)) != GH_OK)
        return rc;
    snprintf(name, sizeof(name), "q%d", (int)id);
    r = PQexecPrepared(b->conn, name, p->n, p->v, p->len, p->fmt, 0);
    st = PQresultStatus(r);
    /* An idle connection the server closed (restart, idle timeout, failover) is found dead
     * only when used: reconnect and send it once more if that is safe. */
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && PQstatus(b->conn) != CONNECTION_OK &&
        retry_safe(b, id)) {
        PQclear(r);
        lost(b);
        if ((rc = ensure_conn(b, op)) != GH_OK)
            return rc;
        r = PQexecPrepared(b->conn, name, p->n, p->v, p->len, p->fmt, 0);
        st = PQresultStatus(r);
    }
    return finish(b, op, r, res);
}

/* The result r of a statement: GH_OK with *res (or cleared), or the error mapped as pg_exec
 * documents it, logged once. */
static int
finish(struct pg *b, const char *op, PGresult *r, PGresult **res)
{
    ExecStatusType st = PQresultStatus(r);
    const char *state;
    int rc;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE) {
        if (res)
            *res = r;
        else
            PQclear(r);
        store_fault_ok(st == PGRES_COMMAND_OK);   /* ends an episode; one atomic load if none */
        return GH_OK;
    }
    state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state && strcmp(state, "23505") == 0)
        rc = GH_EEXIST;
    else if (state && strcmp(state, "23503") == 0)
        rc = GH_ENOTFOUND;
    else
        rc = fail(b, op, state, r ? PQresultErrorMessage(r) : PQerrorMessage(b->conn));
    PQclear(r);
    if (PQstatus(b->conn) != CONNECTION_OK) {
        lost(b);
    } else if (b->tx == PG_TX_SNAP) {
        /* a failed statement aborts the request's snapshot: end it, later reads run alone */
        b->tx = PG_TX_NONE;
        PQclear(PQexec(b->conn, "ROLLBACK"));
    }
    return rc;
}

int
pg_exec_sql(struct pg *b, const char *op, const char *sql, int n, const char *const *v,
    const int *len, const int *fmt, PGresult **res)
{
    int rc;

    if (res)
        *res = NULL;
    if ((rc = ensure_conn(b, op)) != GH_OK)
        return rc;
    return finish(b, op, PQexecParams(b->conn, sql, n, NULL, v, len, fmt, 1), res);
}

int
pg_send_rows(struct pg *b, const char *op, const char *sql)
{
    int rc;

    if ((rc = ensure_conn(b, op)) != GH_OK)
        return rc;
    if (!PQsendQueryParams(b->conn, sql, 0, NULL, NULL, NULL, NULL, 1) ||
        !PQsetSingleRowMode(b->conn)) {
        rc = fail(b, op, NULL, PQerrorMessage(b->conn));
        pg_drain(b);
        return rc;
    }
    return GH_OK;
}

int
pg_next_row(struct pg *b, const char *op, PGresult **row)
{
    PGresult *r = PQgetResult(b->conn);

    *row = NULL;
    if (!r)
        return GH_ENOTFOUND;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {   /* the end: zero rows, then NULL */
        PQclear(r);
        pg_drain(b);
        return GH_ENOTFOUND;
    }
    if (PQresultStatus(r) != PGRES_SINGLE_TUPLE) {
        int rc = finish(b, op, r, NULL);

        pg_drain(b);
        return rc;
    }
    *row = r;
    return GH_OK;
}

void
pg_drain(struct pg *b)
{
    PGresult *r;

    while ((r = PQgetResult(b->conn)))
        PQclear(r);
}

int
pg_cmd(struct pg *b, enum pq_id id, const char *op, const struct pgp *p, size_t *changes)
{
    PGresult *r = NULL;
    int rc = pg_exec(b, id, op, p, &r);

    if (changes)
        *changes = 0;
    if (rc == GH_OK && changes) {
        uint64_t n = 0;
        /* "" for statements that report no count */
        if (str_to_u64(PQcmdTuples(r), 0, SIZE_MAX, &n) == GH_OK)
            *changes = (size_t)n;
    }
    PQclear(r);
    return rc;
}

int
pg_row(struct pg *b, enum pq_id id, const char *op, const struct pgp *p, PGresult **res)
{
    int rc = pg_exec(b, id, op, p, res);

    if (rc == GH_OK && PQntuples(*res) < 1) {
        PQclear(*res);
        *res = NULL;
        rc = GH_ENOTFOUND;
    }
    return rc;
}

char *
pg_str(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : x_strdup(PQgetvalue(r, row, col));
}

int64_t
pg_int(const PGresult *r, int row, int col)
{
    const char *v = PQgetvalue(r, row, col);
    uint64_t u = 0;

    if (PQgetisnull(r, row, col) || !v || !*v)
        return 0;
    /* booleans come as "t"/"f" */
    if (v[0] == 't' && v[1] == '\0')
        return 1;
    if (v[0] == 'f' && v[1] == '\0')
        return 0;
    if (v[0] == '-')
        return str_to_u64(v + 1, 0, (uint64_t)INT64_MAX + 1, &u) == GH_OK
            ? (u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u) : 0;
    return str_to_u64(v, 0, INT64_MAX, &u) == GH_OK ? (int64_t)u : 0;
}

bool
pg_isnull(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* bytea's output format is hex ("\x0a1b…") since PostgreSQL 9.0 and the default of
 * bytea_output; the session sets it anyway (pg_open). */
bool
pg_bytes(const PGresult *r, int row, int col, unsigned char **out, size_t *n)
{
    const char *v;
    size_t len;
    unsigned char *buf;

    *out = NULL;
    *n = 0;
    if (PQgetisnull(r, row, col))
        return true;
    v = PQgetvalue(r, row, col);
    len = strlen(v);
    if (len < 2 || v[0] != '\\' || v[1] != 'x' || len % 2 != 0)
        return false;
    buf = x_malloc(len / 2 > 0 ? len / 2 : 1);
    for (size_t i = 2; i < len; i += 2) {
        int hi = hexval(v[i]), lo = hexval(v[i + 1]);
        if (hi < 0 || lo < 0) {
            free(buf);
            return false;
        }
        buf[(i - 2) / 2] = (unsigned char)(hi << 4 | lo);
    }
    *out = buf;
    *n = (len - 2) / 2;
    return true;
}

bool
pg_hash(const PGresult *r, int row, int col, unsigned char out[STORE_HASH_LEN])
{
    unsigned char *p = NULL;
    size_t n = 0;
    bool ok = pg_bytes(r, row, col, &p, &n) && p && n == STORE_HASH_LEN;

    if (ok)
        memcpy(out, p, STORE_HASH_LEN);
    free(p);
    return ok;
}

/* --- transactions ------------------------------------------------------------------------ */

static void
snap_end(struct pg *b)
{
    if (b->tx != PG_TX_SNAP)
        return;
    b->tx = PG_TX_NONE;
    (void)pg_cmd(b, P_COMMIT, "read_end", NULL, NULL);
}

/* A write transaction (READ COMMITTED: the statements take the row locks they need). A write
 * ends the request's read snapshot first (store.h). */
int
pg_tx_write(struct pg *b, const char *op)
{
    int rc;

    snap_end(b);
    if ((rc = pg_cmd(b, P_BEGIN, op, NULL, NULL)) == GH_OK)
        b->tx = PG_TX_WRITE;
    return rc;
}

/* Reads of several statements see one snapshot; inside a request's snapshot, that one. */
int
pg_tx_read(struct pg *b, const char *op)
{
    int rc;

    if (b->tx == PG_TX_SNAP)
        return GH_OK;
    if ((rc = pg_cmd(b, P_BEGIN_SNAP, op, NULL, NULL)) == GH_OK)
        b->tx = PG_TX_READ;
    return rc;
}

/* Durable when it returns GH_OK (synchronous_commit). A failed COMMIT ends the transaction. */
int
pg_tx_commit(struct pg *b, const char *op)
{
    if (b->tx == PG_TX_SNAP)
        return GH_OK;   /* a read inside the snapshot: pg_read_end commits */
    b->tx = PG_TX_NONE;
    return pg_cmd(b, P_COMMIT, op, NULL, NULL);
}

void
pg_tx_rollback(struct pg *b)
{
    if (b->tx == PG_TX_SNAP || b->tx == PG_TX_NONE)
        return;        /* nothing open, or a read inside the snapshot failed: it stays */
    b->tx = PG_TX_NONE;
    if (PQstatus(b->conn) == CONNECTION_OK)
        (void)pg_cmd(b, P_ROLLBACK, "rollback", NULL, NULL);
}

/* store_read_begin: a REPEATABLE READ READ ONLY transaction until read_end or the next write.
 * Not a no-op: store.h promises that the reads of a request see one state of the database,
 * and with several instances writing, two statements outside a transaction may see two. It
 * costs a BEGIN and a COMMIT (two short round trips); it holds back vacuum as long as it is
 * open, which is why callers keep it short. */
static int
pg_read_begin(void *impl)
{
    struct pg *b = impl;
    int rc;

    if (b->tx != PG_TX_NONE)
        return GH_OK;
    if ((rc = pg_cmd(b, P_BEGIN_SNAP, "read_begin", NULL, NULL)) == GH_OK)
        b->tx = PG_TX_SNAP;
    return rc;
}

static void
pg_read_end(void *impl)
{
    snap_end(impl);
}

/* A commit is durable when COMMIT returns: nothing is ever deferred, so there are no tickets. */
static void
pg_sync_defer(void *impl, bool on)
{
    (void)impl;
    (void)on;
}

static uint64_t
pg_sync_take(void *impl)
{
    (void)impl;
    return 0;
}

static int
pg_sync_wait(void *impl, uint64_t ticket)
{
    (void)impl;
    (void)ticket;
    return GH_OK;
}

/* One statement as its own (atomic) transaction, after ending a read snapshot. must_match:
 * GH_ENOTFOUND when no row matched. */
int
pg_write1(struct pg *b, enum pq_id id, const char *op, const struct pgp *p, bool must_match)
{
    size_t n = 0;
    int rc;

    snap_end(b);
    if ((rc = pg_cmd(b, id, op, p, &n)) != GH_OK)
        return rc;
    return must_match && n == 0 ? GH_ENOTFOUND : GH_OK;
}

/* --- open, migrate, check ---------------------------------------------------------------- */

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
        flatten(err);
    }
    return rc;
}

/* "dbname@host:port" from the DSN without connecting; never the password. */
static char *
make_label(const char *dsn)
{
    PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
    const char *db = NULL, *host = NULL, *port = NULL;
    char buf[256];

    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (strcmp(o->keyword, "dbname") == 0)
            db = o->val;
        else if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
    }
    snprintf(buf, sizeof(buf), "%s@%s:%s", db ? db : "(default)", host ? host : "(default)",
        port ? port : "5432");
    PQconninfoFree(opts);
    flatten(buf);
    return x_strdup(buf);
}

static int exec_simple(PGconn *conn, const char *sql, char *msg, size_t msgsz);

/* The session settings of every connection, the first and each one made again after a loss.
 * Times and text are passed as strings: no session setting may reinterpret them. A write that
 * waits for a lock another session holds gives up after LOCK_TIMEOUT, as SQLite's busy timeout
 * does (SQLSTATE 55P03: a "locked" storage fault, 503), instead of holding its request and
 * thread for as long as the other session likes; a lock_timeout the DSN or the role sets wins. */
static int
session_setup(PGconn *conn, bool ro, char *msg, size_t msgsz)
{
    int rc = exec_simple(conn, "SET client_encoding = 'UTF8'; SET bytea_output = 'hex'; "
        "SET standard_conforming_strings = on; SET synchronous_commit = on; "
        "SELECT set_config('lock_timeout', '" LOCK_TIMEOUT "', false) "
        "WHERE current_setting('lock_timeout') = '0'", msg, msgsz);

    if (rc == GH_OK && ro)
        rc = exec_simple(conn, "SET default_transaction_read_only = on", msg, msgsz);
    return rc;
}

/* Run SQL text of our own (a migration, a session setting) with the simple protocol. */
static int
exec_simple(PGconn *conn, const char *sql, char *msg, size_t msgsz)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = GH_OK;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(msg, msgsz, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
        flatten(msg);
        rc = GH_ESTORE;
    }
    PQclear(r);
    return rc;
}

/* One integer from a query of our own without parameters; -1 when it returns no row. */
static int
query_int(PGconn *conn, const char *sql, int64_t *out, char *msg, size_t msgsz)
{
    PGresult *r = PQexec(conn, sql);
    int rc = GH_OK;

    *out = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(msg, msgsz, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
        flatten(msg);
        rc = GH_ESTORE;
    } else if (PQntuples(r) > 0) {
        *out = pg_int(r, 0, 0);
    }
    PQclear(r);
    return rc;
}

/* The schema version: 0 when there is no gatehouse_schema table. */
static int
read_version(PGconn *conn, int64_t *version, char *msg, size_t msgsz)
{
    int64_t exists = 0;
    int rc;

    *version = 0;
    /* A query of the catalog, not to_regclass(): after waiting for the migration lock, the
     * name lookup may still answer from this session's cache and miss a table just made. */
    if ((rc = query_int(conn, "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = "
             "current_schema() AND tablename = 'gatehouse_schema'", &exists, msg, msgsz)) !=
        GH_OK)
        return rc;
    if (exists != 1)
        return GH_OK;
    if ((rc = query_int(conn, "SELECT version FROM gatehouse_schema", version, msg, msgsz)) !=
        GH_OK)
        return rc;
    if (*version < 0) {
        snprintf(msg, msgsz, "gatehouse_schema has no row");
        return GH_ESTORE;
    }
    return GH_OK;
}

/* Apply the pending migrations, each in its own transaction with the version bump, under a
 * transaction-level advisory lock: a second instance waits for the first and then finds the
 * version already bumped. An empty database (no tables in the schema we use) gets the version
 * table first; one with other tables is not ours and is refused. */
static int
migrate(PGconn *conn, const char *label, bool create, char *err, size_t errsz)
{
    int64_t v = 0, tables = 0, count = (int64_t)store_pg_migration_count;
    char msg[512] = "", bump[96];

    for (;;) {
        if (exec_simple(conn, "BEGIN", msg, sizeof(msg)) != GH_OK ||
            exec_simple(conn, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", msg,
                sizeof(msg)) != GH_OK ||
            read_version(conn, &v, msg, sizeof(msg)) != GH_OK)
            goto fail;
        if (v == 0) {
            if (query_int(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = "
                    "current_schema()", &tables, msg, sizeof(msg)) != GH_OK)
                goto fail;
            if (tables > 0) {
                (void)exec_simple(conn, "ROLLBACK", msg, sizeof(msg));
                return open_err(err, errsz, GH_EINVAL, "%s is not a gatehouse database "
                    "(it has tables, but no gatehouse_schema)", label);
            }
            if (!create) {
                (void)exec_simple(conn, "ROLLBACK", msg, sizeof(msg));
                return open_err(err, errsz, GH_ENOTFOUND,
                    "%s has no gatehouse schema (run: gatehouse init)", label);
            }
            if (exec_simple(conn, "CREATE TABLE gatehouse_schema (one BOOLEAN PRIMARY KEY "
                    "DEFAULT TRUE CHECK (one), version INTEGER NOT NULL); "
                    "INSERT INTO gatehouse_schema (version) VALUES (0)", msg,
                    sizeof(msg)) != GH_OK)
                goto fail;
        }
        if (v >= count) {
            if (exec_simple(conn, "COMMIT", msg, sizeof(msg)) != GH_OK)
                goto fail;
            return GH_OK;
        }
        /* our own integer, not data */
        snprintf(bump, sizeof(bump), "UPDATE gatehouse_schema SET version = %lld",
            (long long)(v + 1));
        if (exec_simple(conn, store_pg_migrations[v], msg, sizeof(msg)) != GH_OK ||
            exec_simple(conn, bump, msg, sizeof(msg)) != GH_OK ||
            exec_simple(conn, "COMMIT", msg, sizeof(msg)) != GH_OK)
            goto fail;
        log_info("store_migrated", "db=%s version=%lld", label, (long long)(v + 1));
    }
fail:
    PQclear(PQexec(conn, "ROLLBACK"));
    return open_err(err, errsz, GH_ESTORE, "migrating %s to schema version %lld failed: %s",
        label, (long long)(v + 1), msg);
}

static int
pg_open(const char *dsn, unsigned flags, void **impl, char *err, size_t errsz)
{
    bool ro = (flags & STORE_READONLY) != 0, worker = (flags & STORE_WORKER) != 0;
    const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
    const char *vals[] = { CONNECT_TIMEOUT, "gatehouse", dsn, NULL };
    int64_t version = 0, count = (int64_t)store_pg_migration_count;
    char *label = make_label(dsn), msg[512] = "";
    struct pg *b = NULL;
    PGconn *conn = NULL;
    int rc;

    *impl = NULL;
    /* expand_dbname: the DSN's own settings come after (and so override) the defaults above */
    conn = PQconnectdbParams(keys, vals, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        rc = open_err(err, errsz, GH_ESTORE, "cannot connect to %s: %s", label,
            conn ? PQerrorMessage(conn) : "out of memory");
        goto out;
    }
    if (session_setup(conn, ro, msg, sizeof(msg)) != GH_OK) {
        rc = open_err(err, errsz, GH_ESTORE, "cannot configure the connection to %s: %s",
            label, msg);
        goto out;
    }
    if ((rc = read_version(conn, &version, msg, sizeof(msg))) != GH_OK) {
        rc = open_err(err, errsz, GH_ESTORE, "cannot read %s: %s", label, msg);
        goto out;
    }
    if (version > count) {
        rc = open_err(err, errsz, GH_EINVAL, "%s has schema version %lld, newer than this "
            "gatehouse supports (%lld); upgrade gatehouse", label, (long long)version,
            (long long)count);
        goto out;
    }
    if (version < count && ro) {
        rc = open_err(err, errsz, version == 0 ? GH_ENOTFOUND : GH_EINVAL,
            "%s has schema version %lld, older than this gatehouse (%lld); open it once "
            "read-write to upgrade it", label, (long long)version, (long long)count);
        goto out;
    }
    if (version < count && worker) {
        rc = open_err(err, errsz, GH_EINVAL, "%s: schema changed under a running gatehouse",
            label);
        goto out;
    }
    if (version < count &&
        (rc = migrate(conn, label, (flags & STORE_CREATE) != 0, err, errsz)) != GH_OK)
        goto out;
    b = x_calloc(1, sizeof(*b));
    b->ro = ro;
    b->conn = conn;
    b->label = label;
    conn = NULL;
    label = NULL;
    if ((rc = prepare_all(b, msg, sizeof(msg))) != GH_OK) {
        open_err(err, errsz, GH_ESTORE, "%s does not have the schema this gatehouse expects "
            "(%s); see: gatehouse db check", b->label, msg);
        goto out;
    }
    *impl = b;
    b = NULL;
out:
    if (b) {
        PQfinish(b->conn);
        free(b->label);
        free(b);
    }
    PQfinish(conn);
    free(label);
    return rc;
}

static void
pg_close(void *impl)
{
    struct pg *b = impl;

    if (!b)
        return;
    pg_tx_rollback(b);   /* a transaction left open is a bug; end it before we go */
    PQfinish(b->conn);
    free(b->label);
    free(b);
}

static int
pg_schema_version(void *impl, int *current, int *supported)
{
    struct pg *b = impl;
    PGresult *r = NULL;
    int rc;

    *current = 0;
    *supported = (int)store_pg_migration_count;
    if ((rc = pg_row(b, P_SCHEMA_VERSION, "schema_version", NULL, &r)) == GH_OK)
        *current = (int)pg_int(r, 0, 0);
    PQclear(r);
    return rc == GH_ENOTFOUND ? GH_ESTORE : rc;
}

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

/* What PostgreSQL lets a client check without extensions (amcheck needs superuser): the
 * server answers, the schema version is the one this build has, and every table of that
 * schema is there. Opening the handle prepared every statement, which already fails on a
 * missing table or column (pg_open names it); this catches what no statement uses. Page-level
 * integrity is the server's business (data checksums, pg_amcheck run by the operator); full
 * adds nothing more. */
static int
pg_check(void *impl, bool full, char **report)
{
    struct pg *b = impl;
    PGresult *r = NULL;
    char *rep = NULL, line[256];
    size_t len = 0;
    int cur = 0, sup = 0, rc;

    (void)full;
    *report = NULL;
    if ((rc = pg_schema_version(b, &cur, &sup)) != GH_OK)
        goto out;
    if (cur != sup) {
        snprintf(line, sizeof(line), "schema version %d, this gatehouse has %d", cur, sup);
        report_add(&rep, &len, line);
    }
    for (size_t i = 0; expected_tables[i]; i++) {
        struct pgp p = { 0 };
        pgp_text(&p, expected_tables[i]);
        if ((rc = pg_row(b, P_TABLE_EXISTS, "check", &p, &r)) != GH_OK)
            goto out;
        if (pg_int(r, 0, 0) != 1) {
            snprintf(line, sizeof(line), "table %s is missing", expected_tables[i]);
            report_add(&rep, &len, line);
        }
        PQclear(r);
        r = NULL;
    }
    if (!rep)
        report_add(&rep, &len, "ok");
    *report = rep;
    rep = NULL;
out:
    PQclear(r);
    free(rep);
    return rc;
}

/* --- meta and signing keys --------------------------------------------------------------- */

static int
pg_meta_get(void *impl, const char *name, char **value)
{
    struct pgp p = { 0 };
    PGresult *r = NULL;
    int rc;

    *value = NULL;
    pgp_text(&p, name);
    if ((rc = pg_row(impl, P_META_GET, "meta_get", &p, &r)) == GH_OK)
        *value = pg_str(r, 0, 0);
    PQclear(r);
    return rc;
}

static int
pg_meta_set(void *impl, const char *name, const char *value)
{
    struct pgp p = { 0 };

    pgp_text(&p, name);
    pgp_text(&p, value);
    return pg_write1(impl, P_META_SET, "meta_set", &p, false);
}

static int
pg_meta_add(void *impl, const char *name, const char *value)
{
    struct pgp p = { 0 };
    int rc;

    pgp_text(&p, name);
    pgp_text(&p, value);
    rc = pg_write1(impl, P_META_ADD, "meta_add", &p, true);
    return rc == GH_ENOTFOUND ? GH_EEXIST : rc;
}

static int
pg_key_add(void *impl, const struct key_meta *k, int64_t alg_keys)
{
    struct pg *b = impl;
    struct pgp p = { 0 };
    size_t n = 0;
    int rc;

    pgp_text(&p, k->kid);
    pgp_text(&p, k->alg);
    pgp_int(&p, k->created_at);
    pgp_int(&p, k->activate_at);
    pgp_bytes(&p, k->sealed, k->sealed_len);
    pgp_int(&p, alg_keys);
    /* two instances rotating at once: the second waits here, then finds the first's key and
     * adds nothing (the count it saw is stale) */
    if ((rc = pg_tx_write(b, "key_add")) != GH_OK)
        return rc;
    if ((rc = pg_cmd(b, P_KEY_LOCK, "key_add", NULL, NULL)) != GH_OK ||
        (rc = pg_cmd(b, P_KEY_ADD, "key_add", &p, &n)) != GH_OK)
        goto out;
    if (n == 0) {
        rc = GH_EEXIST;
        goto out;
    }
    rc = pg_tx_commit(b, "key_add");
out:
    if (rc != GH_OK)
        pg_tx_rollback(b);
    return rc;
}

/* pg_list reader: a signing_keys row (kid, alg, created_at, activate_at, retire_at, sealed). */
static int
row_key(struct pg *b, const PGresult *r, int i, const char *op, void *slot)
{
    struct key_meta *k = slot;

    (void)b;
    k->kid = pg_str(r, i, 0);
    k->alg = pg_str(r, i, 1);
    k->created_at = pg_int(r, i, 2);
    k->activate_at = pg_int(r, i, 3);
    k->retire_at = pg_int(r, i, 4);   /* NULL reads as 0: never */
    if (!pg_bytes(r, i, 5, &k->sealed, &k->sealed_len) || k->sealed_len > STORE_KEY_SEALED_MAX ||
        (k->sealed && k->sealed_len == 0)) {
        log_err("store_error", "op=%s state=- msg=\"signing key row %d: bad sealed\"", op, i);
        return GH_ESTORE;
    }
    return GH_OK;
}

static const struct pg_rows key_rows = { &store_elems_key, false, row_key };

static int
pg_key_list(void *impl, struct key_meta **out, size_t *n)
{
    void *list = NULL;
    int rc = pg_list(impl, P_KEY_LIST, "key_list", NULL, &key_rows, &list, n);

    *out = list;
    return rc;
}

static int
pg_key_retire(void *impl, const char *kid, int64_t retire_at)
{
    struct pgp p = { 0 };

    pgp_text(&p, kid);
    pgp_int(&p, retire_at);
    return pg_write1(impl, P_KEY_RETIRE, "key_retire", &p, true);
}

/* --- helpers of the other store_pg_*.c files --------------------------------------------- */

int64_t
pg_sub_sat(int64_t a, int64_t b)
{
    if (b > 0 && a < INT64_MIN + b)
        return INT64_MIN;
    if (b < 0 && a > INT64_MAX + b)
        return INT64_MAX;
    return a - b;
}

int
pg_list(struct pg *b, enum pq_id id, const char *op, const struct pgp *p,
    const struct pg_rows *rows, void **out, size_t *n)
{
    PGresult *r = NULL;
    unsigned char *list = NULL;
    size_t len = 0, count;
    int rc;

    *out = NULL;
    *n = 0;
    if (rows->snapshot && (rc = pg_tx_read(b, op)) != GH_OK)
        return rc;
    if ((rc = pg_exec(b, id, op, p, &r)) != GH_OK)
        goto out;
    count = (size_t)PQntuples(r);
    /* one zeroed element after the last: the terminator */
    list = x_calloc(count + 1, rows->elems->size);
    while (len < count) {
        rc = rows->read(b, r, (int)len, op, list + len * rows->elems->size);
        len++;   /* what the reader filled is freed with the list, even when it failed */
        if (rc != GH_OK)
            goto out;
    }
    if (rows->snapshot && (rc = pg_tx_commit(b, op)) != GH_OK)
        goto out;
    *out = list;
    *n = len;
    list = NULL;
out:
    PQclear(r);
    if (rc != GH_OK && rows->snapshot)
        pg_tx_rollback(b);
    if (list)
        rows->elems->free(list, len);
    return rc;
}

const struct store_ops store_pg_ops = {
    .scheme = "postgresql",
    .shared = true,
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .ping = pg_ping,
    .check = pg_check,
    .meta_get = pg_meta_get,
    .meta_set = pg_meta_set,
    .meta_add = pg_meta_add,
    .user_add = pg_user_add,
    .user_get = pg_user_get,
    .user_get_by_sub = pg_user_get_by_sub,
    .user_list = pg_user_list,
    .user_set_password = pg_user_set_password,
    .user_set_disabled = pg_user_set_disabled,
    .user_delete = pg_user_delete,
    .client_add = pg_client_add,
    .client_get = pg_client_get,
    .client_list = pg_client_list,
    .client_set_secret = pg_client_set_secret,
    .client_delete = pg_client_delete,
    .key_add = pg_key_add,
    .key_list = pg_key_list,
    .key_retire = pg_key_retire,
    .interaction_add = pg_interaction_add,
    .interaction_get = pg_interaction_get,
    .interaction_take = pg_interaction_take,
    .session_add = pg_session_add,
    .session_get = pg_session_get,
    .session_touch = pg_session_touch,
    .session_delete = pg_session_delete,
    .code_add = pg_code_add,
    .code_take = pg_code_take,
    .grant_add = pg_grant_add,
    .grant_get = pg_grant_get,
    .grant_revoke = pg_grant_revoke,
    .user_revoke = pg_user_revoke,
    .refresh_rotate = pg_refresh_rotate,
    .refresh_peek = pg_refresh_peek,
    .token_revoke = pg_token_revoke,
    .token_check = pg_token_check,
    .jti_use = pg_jti_use,
    .issuer_allow = pg_issuer_allow,
    .issuer_disallow = pg_issuer_disallow,
    .read_begin = pg_read_begin,
    .read_end = pg_read_end,
    .sync_defer = pg_sync_defer,
    .sync_take = pg_sync_take,
    .sync_wait = pg_sync_wait,
    .login_count = pg_login_count,
    .login_get = pg_login_get,
    .login_reset = pg_login_reset,
    .consent_get = pg_consent_get,
    .consent_set = pg_consent_set,
    .purge = pg_purge,
    .resource_add = pg_resource_add,
    .resource_get = pg_resource_get,
    .resource_list = pg_resource_list,
    .resource_delete = pg_resource_delete,
    .resource_allow = pg_resource_allow,
    .resource_disallow = pg_resource_disallow,
    .resource_client_scope = pg_resource_client_scope,
    .resource_clients = pg_resource_clients,
    .client_resources = pg_client_resources,
    .issuer_add = pg_issuer_add,
    .issuer_get = pg_issuer_get,
    .issuer_list = pg_issuer_list,
    .issuer_set_disabled = pg_issuer_set_disabled,
    .issuer_delete = pg_issuer_delete,
    .jwt_grant_check = pg_jwt_grant_check,
    .tab_list = pg_tab_list,
    .tab_columns = pg_tab_columns,
    .tab_count = pg_tab_count,
    .tab_read = pg_tab_read,
    .copy_begin = pg_copy_begin,
    .copy_insert = pg_copy_insert,
    .copy_end = pg_copy_end,
};
