/* store_sqlite_int.h — what the store_sqlite*.c files share, and nothing else includes: the
 * statement ids, the connection handle, and the helpers every part uses (prepare, bind, step,
 * transactions with group commit). store_sqlite.c has the statements, opening, checking and
 * the helpers; store_sqlite_accounts.c users and clients, store_sqlite_signin.c the browser
 * sign-in records and tokens, store_sqlite_s2s.c assertion replay, resources and trusted issuers. */
#ifndef GH_STORE_STORE_SQLITE_INT_H
#define GH_STORE_STORE_SQLITE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/store_impl.h"

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
    Q_META_ADD,
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
    Q_KEY_RETIRE,
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
    Q_LOGIN_GET,
    Q_LOGIN_PUT,
    Q_LOGIN_DELETE,
    Q_PURGE_LOGINS,
    Q_RES_ADD,
    Q_RES_GET,
    Q_RES_LIST,
    Q_RES_DELETE,
    Q_RES_ALLOW,
    Q_RES_DISALLOW,
    Q_RES_CLIENT_SCOPE,
    Q_RES_CLIENTS,
    Q_CLIENT_RESOURCES,
    Q_ISS_ADD,
    Q_ISS_CLIENT_ADD,
    Q_ISS_GET,
    Q_ISS_LIST,
    Q_ISS_CLIENTS,
    Q_ISS_SET_DISABLED,
    Q_ISS_DELETE,
    Q_ISS_CLIENT_DEL,
    Q_JG_CLIENT,
    Q_JG_ISSUER,
    Q_JG_USER,
    Q_COUNT
};

struct sq {
    sqlite3 *db;                /* NULL after a reset whose reopen failed (conn_reopen) */
    char *path;                 /* for log lines */
    unsigned flags;             /* the store_open flags, for a reopen */
    sqlite3_stmt *stmt[Q_COUNT];
    sqlite3_stmt *old_stmt[Q_COUNT]; /* the previous connection's, finalized at the next reset */
    bool reset;                 /* reopen the connection when it is next idle */
    bool stuck;                 /* a transaction could not be ended: reopen even inside it */
    int reset_kind;             /* enum store_fault that caused the reset */
    int64_t reopen_us;          /* the last reopen attempt (clock_mono_us) */
    bool wlocked;               /* this handle holds writer_mu (between tx_write and the end) */
    bool light;                 /* the open write need not wait for a sync (tx_write_light) */
    bool snap;                  /* a read snapshot is open (sq_read_begin) */
    bool defer_sync;            /* durable commits leave their wait to the caller */
    uint64_t ticket;            /* the last such commit not waited for yet (0: none) */
};

/* store_sqlite.c: helpers */
int sq_fail(struct sq *b, const char *op, int rc);
/* A failed step's result: GH_EEXIST (unique), GH_ENOTFOUND (foreign key), else sq_fail. */
int sq_map_rc(struct sq *b, const char *op, int rc);
int sq_prep(struct sq *b, enum q_id id, const char *op, sqlite3_stmt **out);
void sq_done(sqlite3_stmt *s);
void sq_bind_text(sqlite3_stmt *s, int i, const char *v, int *brc);
void sq_bind_int(sqlite3_stmt *s, int i, int64_t v, int *brc);
void sq_bind_blob(sqlite3_stmt *s, int i, const void *v, size_t n, int *brc);
int sq_bound(struct sq *b, const char *op, int brc);
int sq_step_done(struct sq *b, sqlite3_stmt *s, const char *op);
int sq_step_row(struct sq *b, sqlite3_stmt *s, const char *op);
char *sq_col_str(sqlite3_stmt *s, int i);
int sq_tx_write(struct sq *b, const char *op);
int sq_tx_write_light(struct sq *b, const char *op);
void sq_tx_make_durable(struct sq *b);
int sq_tx_read(struct sq *b, const char *op);
int sq_read_begin(void *impl);
void sq_read_end(void *impl);
void sq_sync_defer(void *impl, bool on);
uint64_t sq_sync_take(void *impl);
int sq_sync_wait(void *impl, uint64_t ticket);
int sq_tx_commit(struct sq *b, const char *op);
void sq_tx_rollback(struct sq *b);
int64_t sq_sub_sat(int64_t a, int64_t b);
bool sq_col_hash(sqlite3_stmt *s, int i, unsigned char out[STORE_HASH_LEN]);
void sq_bind_hash(sqlite3_stmt *s, int i, const unsigned char *h, int *brc);
int sq_bad_row(const char *op, const char *what);
int sq_row_text(struct sq *b, enum q_id id, const char *op, const char *k1, const char *k2,
    char **out);
int sq_write_begin(struct sq *b, enum q_id id, const char *op, bool light,
    sqlite3_stmt **out);
/* must_match: GH_ENOTFOUND (rolled back) when the statement changed no row */
int sq_write_commit(struct sq *b, sqlite3_stmt *s, int brc, const char *op, bool must_match);
int sq_write_keyed(struct sq *b, enum q_id id, const char *op, const unsigned char *hash,
    const char *text, int64_t num);
/* How sq_list turns rows into elements of an array. */
struct sq_rows {
    const struct store_elems *elems;   /* what the array holds (store_impl.h) */
    bool snapshot;   /* read runs statements of its own: every row is read in one snapshot */
    /* Fill the zeroed element at slot from the current row of s. What it filled is freed with
     * the list even when it fails (GH_ESTORE: a row this build cannot have written). */
    int (*read)(struct sq *b, sqlite3_stmt *s, const char *op, void *slot);
};
/* Every row of statement id (key bound to ?1 unless NULL), in the statement's order, as a new
 * array of n elements and one zeroed after them (a NULL terminator for arrays of pointers).
 * GH_OK: *out and *n, caller frees; else *out NULL, *n 0, all read so far freed. */
int sq_list(struct sq *b, enum q_id id, const char *op, const char *key,
    const struct sq_rows *rows, void **out, size_t *n);

/* store_sqlite_copy.c: copying a realm (the tab_ and copy_ ops of store_impl.h) */
int sq_tab_list(void *impl, char ***names, size_t *n);
int sq_tab_columns(void *impl, const char *table, char ***cols, size_t *n);
int sq_tab_count(void *impl, const char *table, int64_t *n);
int sq_tab_read(void *impl, const char *table, const char *const *cols, size_t n,
    int (*fn)(void *ctx, struct store_val *vals), void *ctx);
int sq_copy_begin(void *impl);
int sq_copy_insert(void *impl, const char *table, const char *const *cols,
    const struct store_val *vals, size_t n);
int sq_copy_end(void *impl, bool commit);

/* store_sqlite_accounts.c: users and clients (the ops of store_impl.h) */
int sq_user_add(void *impl, const struct user *u);
int sq_user_get(void *impl, const char *username, struct user **out);
int sq_user_get_by_sub(void *impl, const char *sub, struct user **out);
int sq_user_list(void *impl, struct user ***out, size_t *n);
int sq_user_set_password(void *impl, const char *username, const char *hash, int64_t now);
int sq_user_set_disabled(void *impl, const char *username, bool disabled, int64_t now);
int sq_user_delete(void *impl, const char *username);
int sq_client_add(void *impl, const struct client *c);
int sq_client_get(void *impl, const char *client_id, struct client **out);
int sq_client_list(void *impl, struct client ***out, size_t *n);
int sq_client_set_secret(void *impl, const char *client_id, const unsigned char *hash,
    const unsigned char *sealed, size_t sealed_len, int64_t now);
int sq_client_delete(void *impl, const char *client_id);

/* store_sqlite_signin.c: browser sign-in and tokens (the ops of store_impl.h) */
int sq_interaction_add(void *impl, const struct interaction *ia);
int sq_interaction_get(void *impl, const unsigned char *id_hash, int64_t now,
    struct interaction **out);
int sq_interaction_take(void *impl, const unsigned char *id_hash, int64_t now,
    struct interaction **out);
int sq_session_add(void *impl, const struct session *se);
int sq_session_get(void *impl, const unsigned char *id_hash, int64_t now, int64_t idle_s,
    struct session **out);
int sq_session_touch(void *impl, const unsigned char *id_hash, int64_t now);
int sq_session_delete(void *impl, const unsigned char *id_hash);
int sq_code_add(void *impl, const struct authcode *c);
int sq_code_take(void *impl, const unsigned char *hash, int64_t now, const char *grant_id,
    struct authcode **out);
int sq_grant_add(void *impl, const struct grant *g, const unsigned char *refresh_hash,
    int64_t refresh_idle_until);
int sq_grant_get(void *impl, const char *id, struct grant **out);
int sq_refresh_peek(void *impl, const unsigned char *hash, int64_t now, struct grant **out);
int sq_grant_revoke(void *impl, const char *id);
int sq_user_revoke(void *impl, const char *sub, size_t *n);
int sq_refresh_rotate(void *impl, const unsigned char *old_hash, const unsigned char *new_hash,
    int64_t now, int64_t new_idle_until, struct grant **out);
int sq_token_revoke(void *impl, const char *jti, int64_t expires_at);
int sq_token_check(void *impl, const char *jti, const char *grant_id);
int sq_consent_get(void *impl, const char *sub, const char *client_id, char **scope);
int sq_consent_set(void *impl, const char *sub, const char *client_id, const char *scope,
    int64_t now);
int sq_purge(void *impl, int64_t now, int64_t grace, size_t *removed);
int sq_login_count(void *impl, const char *name, int64_t now, store_login_decide_fn decide,
    void *arg);
int sq_login_get(void *impl, const char *name, int64_t now, struct login_count *out);
int sq_login_reset(void *impl, const char *name);

/* store_sqlite_s2s.c: service-to-service (the ops of store_impl.h) */
int sq_jti_use(void *impl, const char *iss, const char *jti, int64_t expires_at);
int sq_issuer_allow(void *impl, const char *issuer, const char *client_id);
int sq_issuer_disallow(void *impl, const char *issuer, const char *client_id);
int sq_resource_add(void *impl, const struct resource *r);
int sq_resource_get(void *impl, const char *id, struct resource **out);
int sq_resource_list(void *impl, struct resource ***out, size_t *n);
int sq_resource_delete(void *impl, const char *id);
int sq_resource_allow(void *impl, const char *resource, const char *client_id, const char *scope,
    int64_t now);
int sq_resource_disallow(void *impl, const char *resource, const char *client_id);
int sq_resource_client_scope(void *impl, const char *resource, const char *client_id,
    char **scope);
int sq_resource_clients(void *impl, const char *resource, struct resource_client **out, size_t *n);
int sq_client_resources(void *impl, const char *client_id, char ***ids, size_t *n);
int sq_issuer_add(void *impl, const struct trusted_issuer *ti);
int sq_issuer_get(void *impl, const char *issuer, struct trusted_issuer **out);
int sq_issuer_list(void *impl, struct trusted_issuer ***out, size_t *n);
int sq_issuer_set_disabled(void *impl, const char *issuer, bool disabled, int64_t now);
int sq_issuer_delete(void *impl, const char *issuer);
int sq_jwt_grant_check(void *impl, const char *client_id, const char *grant_type,
    const char *issuer, const char *user_sub, const char **why);

#endif
