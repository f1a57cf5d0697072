/* store_pg_int.h — what the store_pg*.c files share, and nothing else includes: the statement
 * ids, the connection handle, and the helpers every part uses (parameters, running a prepared
 * statement, reading columns, transactions). store_pg.c has the statements, connecting,
 * migrating, checking and the helpers; store_pg_accounts.c users and clients,
 * store_pg_signin.c the browser sign-in records and tokens, store_pg_s2s.c assertion replay,
 * resources and trusted issuers. */
#ifndef GH_STORE_STORE_PG_INT_H
#define GH_STORE_STORE_PG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store/store.h"
#include "store/store_impl.h"

enum pq_id {
    P_BEGIN,
    P_BEGIN_SNAP,
    P_COMMIT,
    P_ROLLBACK,
    P_SCHEMA_VERSION,
    P_TABLE_EXISTS,
    P_META_GET,
    P_META_SET,
    P_META_ADD,
    P_USER_ADD,
    P_USER_GET,
    P_USER_GET_BY_SUB,
    P_USER_LIST,
    P_USER_SET_PASSWORD,
    P_USER_SET_DISABLED,
    P_USER_DELETE,
    P_CLIENT_ADD,
    P_CLIENT_URI_ADD,
    P_CLIENT_GET,
    P_CLIENT_LIST,
    P_CLIENT_URIS,
    P_CLIENT_SET_SECRET,
    P_CLIENT_DELETE,
    P_KEY_LOCK,
    P_KEY_ADD,
    P_KEY_LIST,
    P_KEY_RETIRE,
    P_IA_ADD,
    P_IA_GET,
    P_IA_TAKE,
    P_SESSION_ADD,
    P_SESSION_GET,
    P_SESSION_DELETE_DEAD,
    P_SESSION_TOUCH,
    P_SESSION_DELETE,
    P_CODE_ADD,
    P_CODE_LOCK,
    P_CODE_SPEND,
    P_CODE_MARK_REPLAYED,
    P_GRANT_SUBJECT,
    P_GRANT_CODE_LOCK,
    P_GRANT_ADD,
    P_GRANT_GET,
    P_GRANT_REVOKE,
    P_USER_SESSIONS_DELETE,
    P_USER_GRANTS_REVOKE,
    P_GRANT_ADVANCE,
    P_REFRESH_ADD,
    P_REFRESH_LOCK,
    P_REFRESH_PEEK,
    P_ACCESS_ADD,
    P_ACCESS_CHECK,
    P_CONSENT_GET,
    P_CONSENT_SET,
    P_PURGE_INTERACTIONS,
    P_PURGE_SESSIONS,
    P_PURGE_CODES,
    P_PURGE_ACCESS,
    P_PURGE_REFRESH,
    P_PURGE_GRANTS,
    P_JTI_USE,
    P_PURGE_JTIS,
    P_LOGIN_GET,
    P_LOGIN_ENSURE,
    P_LOGIN_LOCK,
    P_LOGIN_PUT,
    P_LOGIN_DELETE,
    P_PURGE_LOGINS,
    P_RES_ADD,
    P_RES_GET,
    P_RES_LIST,
    P_RES_DELETE,
    P_RES_ALLOW,
    P_RES_DISALLOW,
    P_RES_CLIENT_SCOPE,
    P_RES_CLIENTS,
    P_CLIENT_RESOURCES,
    P_ISS_ADD,
    P_ISS_CLIENT_ADD,
    P_ISS_CLIENT_ADD_ONCE,
    P_ISS_GET,
    P_ISS_LIST,
    P_ISS_CLIENTS,
    P_ISS_SET_DISABLED,
    P_ISS_DELETE,
    P_ISS_CLIENT_DEL,
    P_JG_CLIENT,
    P_JG_ISSUER,
    P_JG_USER,
    P_COUNT
};

enum pg_tx {
    PG_TX_NONE,
    PG_TX_WRITE,  /* pg_tx_write: READ COMMITTED, row locks taken explicitly (FOR UPDATE) */
    PG_TX_READ,   /* pg_tx_read: a REPEATABLE READ READ ONLY snapshot for one operation */
    PG_TX_SNAP,   /* pg_read_begin: the same, kept open for the reads of a request */
};

struct pg {
    PGconn *conn;
    char *label;                /* "dbname@host:port" for log lines: never the password */
    bool prepared;              /* the statements are prepared on this connection */
    bool stale;                 /* a ping gave up with its query in flight: reconnect first */
    bool ro;                    /* opened STORE_READONLY (a session setting, kept on reconnect) */
    enum pg_tx tx;
};

/* Parameters of one statement. Text and integers go as text, bytes (hashes, sealed secrets)
 * in binary format: binary-safe, never formatted into SQL. */
#define PGP_MAX 16
struct pgp {
    int n;
    bool overflow;
    const char *v[PGP_MAX];
    int len[PGP_MAX];
    int fmt[PGP_MAX];
    char num[PGP_MAX][24];
};

/* store_pg.c: helpers */
void pgp_text(struct pgp *p, const char *s);          /* NULL: SQL NULL */
void pgp_int(struct pgp *p, int64_t v);
void pgp_bytes(struct pgp *p, const void *v, size_t n); /* NULL: SQL NULL */
void pgp_hash(struct pgp *p, const unsigned char *h);   /* STORE_HASH_LEN bytes */
/* Run prepared statement id with p. GH_OK: *res (may be NULL to discard it) is the result,
 * caller PQclear()s it; GH_EEXIST (unique violation), GH_ENOTFOUND (a row referred to is
 * gone: foreign key), GH_ESTORE (logged here once). */
int pg_exec(struct pg *b, enum pq_id id, const char *op, const struct pgp *p, PGresult **res);
/* A statement that is not one of the prepared ones (gatehouse migrate: SQL built from our own
 * table and column names, values only as parameters, binary results); errors as pg_exec. */
int pg_exec_sql(struct pg *b, const char *op, const char *sql, int n, const char *const *v,
    const int *len, const int *fmt, PGresult **res);
/* Rows one at a time (single-row mode, binary results): send, then pg_next_row until it says
 * GH_ENOTFOUND (the end) or an error; each *row is PQclear()ed by the caller. A caller that
 * stops early calls pg_drain. */
int pg_send_rows(struct pg *b, const char *op, const char *sql);
int pg_next_row(struct pg *b, const char *op, PGresult **row);
void pg_drain(struct pg *b);
/* pg_exec for a statement without rows; *changes (may be NULL): rows affected. */
int pg_cmd(struct pg *b, enum pq_id id, const char *op, const struct pgp *p, size_t *changes);
/* pg_exec that wants at least one row: GH_ENOTFOUND without (nothing to clear then). */
int pg_row(struct pg *b, enum pq_id id, const char *op, const struct pgp *p, PGresult **res);
int pg_bad_row(const char *op, const char *what);
char *pg_str(const PGresult *r, int row, int col);     /* NULL for SQL NULL; caller frees */
int64_t pg_int(const PGresult *r, int row, int col);  /* 0 for SQL NULL */
bool pg_isnull(const PGresult *r, int row, int col);
/* A bytea column (hex output) decoded into *out (caller frees), *n bytes; false if it is not
 * bytea hex text. NULL gives true with *out NULL. */
bool pg_bytes(const PGresult *r, int row, int col, unsigned char **out, size_t *n);
bool pg_hash(const PGresult *r, int row, int col, unsigned char out[STORE_HASH_LEN]);
int pg_tx_write(struct pg *b, const char *op);
int pg_tx_read(struct pg *b, const char *op);
int pg_tx_commit(struct pg *b, const char *op);
void pg_tx_rollback(struct pg *b);
int pg_write1(struct pg *b, enum pq_id id, const char *op, const struct pgp *p, bool must_match);
/* How pg_list turns rows into elements of an array. */
struct pg_rows {
    const struct store_elems *elems;   /* what the array holds (store_impl.h) */
    bool snapshot;   /* read runs statements of its own: every row is read in one snapshot */
    /* Fill the zeroed element at slot from row i of r. What it filled is freed with the list
     * even when it fails (GH_ESTORE: a row this build cannot have written). */
    int (*read)(struct pg *b, const PGresult *r, int i, const char *op, void *slot);
};
/* Every row of statement id run with p (may be NULL), in the statement's order, as a new array
 * of n elements and one zeroed after them (a NULL terminator for arrays of pointers).
 * GH_OK: *out and *n, caller frees; else *out NULL, *n 0, all read so far freed. */
int pg_list(struct pg *b, enum pq_id id, const char *op, const struct pgp *p,
    const struct pg_rows *rows, void **out, size_t *n);
int64_t pg_sub_sat(int64_t a, int64_t b);

/* store_pg_copy.c: copying a realm (the tab_ and copy_ ops of store_impl.h) */
int pg_tab_list(void *impl, char ***names, size_t *n);
int pg_tab_columns(void *impl, const char *table, char ***cols, size_t *n);
int pg_tab_count(void *impl, const char *table, int64_t *n);
int pg_tab_read(void *impl, const char *table, const char *const *cols, size_t n,
    int (*fn)(void *ctx, struct store_val *vals), void *ctx);
int pg_copy_begin(void *impl);
int pg_copy_insert(void *impl, const char *table, const char *const *cols,
    const struct store_val *vals, size_t n);
int pg_copy_end(void *impl, bool commit);

/* store_pg_accounts.c */
int pg_user_add(void *impl, const struct user *u);
int pg_user_get(void *impl, const char *username, struct user **out);
int pg_user_get_by_sub(void *impl, const char *sub, struct user **out);
int pg_user_list(void *impl, struct user ***out, size_t *n);
int pg_user_set_password(void *impl, const char *username, const char *hash, int64_t now);
int pg_user_set_disabled(void *impl, const char *username, bool disabled, int64_t now);
int pg_user_delete(void *impl, const char *username);
int pg_client_add(void *impl, const struct client *c);
int pg_client_get(void *impl, const char *client_id, struct client **out);
int pg_client_list(void *impl, struct client ***out, size_t *n);
int pg_client_set_secret(void *impl, const char *client_id, const unsigned char *hash,
    const unsigned char *sealed, size_t sealed_len, int64_t now);
int pg_client_delete(void *impl, const char *client_id);

/* store_pg_signin.c */
int pg_interaction_add(void *impl, const struct interaction *ia);
int pg_interaction_get(void *impl, const unsigned char *id_hash, int64_t now,
    struct interaction **out);
int pg_interaction_take(void *impl, const unsigned char *id_hash, int64_t now,
    struct interaction **out);
int pg_session_add(void *impl, const struct session *se);
int pg_session_get(void *impl, const unsigned char *id_hash, int64_t now, int64_t idle_s,
    struct session **out);
int pg_session_touch(void *impl, const unsigned char *id_hash, int64_t now);
int pg_session_delete(void *impl, const unsigned char *id_hash);
int pg_code_add(void *impl, const struct authcode *c);
int pg_code_take(void *impl, const unsigned char *hash, int64_t now, const char *grant_id,
    struct authcode **out);
int pg_grant_add(void *impl, const struct grant *g, const unsigned char *refresh_hash,
    int64_t refresh_idle_until);
int pg_grant_get(void *impl, const char *id, struct grant **out);
int pg_refresh_peek(void *impl, const unsigned char *hash, int64_t now, struct grant **out);
int pg_grant_revoke(void *impl, const char *id);
int pg_user_revoke(void *impl, const char *sub, size_t *n);
int pg_refresh_rotate(void *impl, const unsigned char *old_hash, const unsigned char *new_hash,
    int64_t now, int64_t new_idle_until, struct grant **out);
int pg_token_revoke(void *impl, const char *jti, int64_t expires_at);
int pg_token_check(void *impl, const char *jti, const char *grant_id);
int pg_consent_get(void *impl, const char *sub, const char *client_id, char **scope);
int pg_consent_set(void *impl, const char *sub, const char *client_id, const char *scope,
    int64_t now);
int pg_purge(void *impl, int64_t now, int64_t grace, size_t *removed);
int pg_login_count(void *impl, const char *name, int64_t now, store_login_decide_fn decide,
    void *arg);
int pg_login_get(void *impl, const char *name, int64_t now, struct login_count *out);
int pg_login_reset(void *impl, const char *name);

/* store_pg_s2s.c */
int pg_jti_use(void *impl, const char *iss, const char *jti, int64_t expires_at);
int pg_issuer_allow(void *impl, const char *issuer, const char *client_id);
int pg_issuer_disallow(void *impl, const char *issuer, const char *client_id);
int pg_resource_add(void *impl, const struct resource *r);
int pg_resource_get(void *impl, const char *id, struct resource **out);
int pg_resource_list(void *impl, struct resource ***out, size_t *n);
int pg_resource_delete(void *impl, const char *id);
int pg_resource_allow(void *impl, const char *resource, const char *client_id, const char *scope,
    int64_t now);
int pg_resource_disallow(void *impl, const char *resource, const char *client_id);
int pg_resource_client_scope(void *impl, const char *resource, const char *client_id,
    char **scope);
int pg_resource_clients(void *impl, const char *resource, struct resource_client **out, size_t *n);
int pg_client_resources(void *impl, const char *client_id, char ***ids, size_t *n);
int pg_issuer_add(void *impl, const struct trusted_issuer *ti);
int pg_issuer_get(void *impl, const char *issuer, struct trusted_issuer **out);
int pg_issuer_list(void *impl, struct trusted_issuer ***out, size_t *n);
int pg_issuer_set_disabled(void *impl, const char *issuer, bool disabled, int64_t now);
int pg_issuer_delete(void *impl, const char *issuer);
int pg_jwt_grant_check(void *impl, const char *client_id, const char *grant_type,
    const char *issuer, const char *user_sub, const char **why);

#endif
