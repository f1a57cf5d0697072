/* store_impl.h — the backend ops table (STYLE.md §7). Only store.c and store_*.c include this.
 * A backend implements every entry; store.c picks the table by DSN and forwards calls
 * unchanged, so the contracts are the ones in store.h. `impl` is the backend's own handle.
 * Backends log GH_ESTORE failures themselves (once) and never log GH_EEXIST/GH_ENOTFOUND. */
#ifndef GH_STORE_STORE_IMPL_H
#define GH_STORE_STORE_IMPL_H

#include "store/store.h"

struct store_ops {
    const char *scheme; /* "sqlite", "postgresql" */
    bool shared;        /* several instances use one database (store_shared) */
    /* target is the DSN without its scheme prefix (for sqlite: the file path); for postgresql
     * the whole DSN, which is libpq's conninfo URI. */
    int  (*open)(const char *target, unsigned flags, void **impl, char *err, size_t errsz);
    void (*close)(void *impl);
    int  (*schema_version)(void *impl, int *current, int *supported);
    int  (*check)(void *impl, bool full, char **report);
    /* optional (NULL: store.c uses schema_version) */
    int  (*ping)(void *impl, unsigned timeout_ms);

    int  (*meta_get)(void *impl, const char *name, char **value);
    int  (*meta_set)(void *impl, const char *name, const char *value);
    int  (*meta_add)(void *impl, const char *name, const char *value);

    int  (*user_add)(void *impl, const struct user *u);
    int  (*user_get)(void *impl, const char *username, struct user **out);
    int  (*user_get_by_sub)(void *impl, const char *sub, struct user **out);
    int  (*user_list)(void *impl, struct user ***out, size_t *n);
    int  (*user_set_password)(void *impl, const char *username, const char *hash, int64_t now);
    int  (*user_set_disabled)(void *impl, const char *username, bool disabled, int64_t now);
    int  (*user_delete)(void *impl, const char *username);

    int  (*client_add)(void *impl, const struct client *c);
    int  (*client_get)(void *impl, const char *client_id, struct client **out);
    int  (*client_list)(void *impl, struct client ***out, size_t *n);
    int  (*client_set_secret)(void *impl, const char *client_id, const unsigned char *hash,
             const unsigned char *sealed, size_t sealed_len, int64_t now);
    int  (*client_delete)(void *impl, const char *client_id);

    /* alg_keys: STORE_KEY_ANY or >= 0 (store_key_insert); sealed is NULL or checked. */
    int  (*key_add)(void *impl, const struct key_meta *k, int64_t alg_keys);
    int  (*key_retire)(void *impl, const char *kid, int64_t retire_at);
    int  (*key_list)(void *impl, struct key_meta **out, size_t *n);

    /* Browser sign-in and tokens. Hashes are STORE_HASH_LEN bytes; out-params are cleared by
     * store.c before the call. */
    int  (*interaction_add)(void *impl, const struct interaction *ia);
    int  (*interaction_get)(void *impl, const unsigned char *id_hash, int64_t now,
             struct interaction **out);
    int  (*interaction_take)(void *impl, const unsigned char *id_hash, int64_t now,
             struct interaction **out);
    int  (*session_add)(void *impl, const struct session *s);
    int  (*session_get)(void *impl, const unsigned char *id_hash, int64_t now, int64_t idle_s,
             struct session **out);
    int  (*session_touch)(void *impl, const unsigned char *id_hash, int64_t now);
    int  (*session_delete)(void *impl, const unsigned char *id_hash);
    int  (*code_add)(void *impl, const struct authcode *c);
    int  (*code_take)(void *impl, const unsigned char *hash, int64_t now, const char *grant_id,
             struct authcode **out);
    int  (*grant_add)(void *impl, const struct grant *g, const unsigned char *refresh_hash,
             int64_t refresh_idle_until);
    int  (*grant_get)(void *impl, const char *id, struct grant **out);
    int  (*grant_revoke)(void *impl, const char *id);
    int  (*user_revoke)(void *impl, const char *sub, size_t *n);
    int  (*refresh_rotate)(void *impl, const unsigned char *old_hash,
             const unsigned char *new_hash, int64_t now, int64_t new_idle_until,
             struct grant **out);
    int  (*refresh_peek)(void *impl, const unsigned char *hash, int64_t now, struct grant **out);
    int  (*token_revoke)(void *impl, const char *jti, int64_t expires_at);
    int  (*token_check)(void *impl, const char *jti, const char *grant_id);
    int  (*jti_use)(void *impl, const char *iss, const char *jti, int64_t expires_at);
    int  (*issuer_allow)(void *impl, const char *issuer, const char *client_id);
    int  (*issuer_disallow)(void *impl, const char *issuer, const char *client_id);
    int  (*read_begin)(void *impl);
    void (*read_end)(void *impl);
    void (*sync_defer)(void *impl, bool on);
    uint64_t (*sync_take)(void *impl);
    int  (*sync_wait)(void *impl, uint64_t ticket);
    int  (*login_count)(void *impl, const char *name, int64_t now, store_login_decide_fn decide,
             void *arg);
    int  (*login_get)(void *impl, const char *name, int64_t now, struct login_count *out);
    int  (*login_reset)(void *impl, const char *name);
    int  (*consent_get)(void *impl, const char *sub, const char *client_id, char **scope);
    int  (*consent_set)(void *impl, const char *sub, const char *client_id, const char *scope,
             int64_t now);
    int  (*purge)(void *impl, int64_t now, int64_t grace, size_t *removed);

    /* Service-to-service: resources and the clients allowed to use them (issue 4). */
    int  (*resource_add)(void *impl, const struct resource *r);
    int  (*resource_get)(void *impl, const char *id, struct resource **out);
    int  (*resource_list)(void *impl, struct resource ***out, size_t *n);
    int  (*resource_delete)(void *impl, const char *id);
    int  (*resource_allow)(void *impl, const char *resource, const char *client_id,
             const char *scope, int64_t now);
    int  (*resource_disallow)(void *impl, const char *resource, const char *client_id);
    int  (*resource_client_scope)(void *impl, const char *resource, const char *client_id,
             char **scope);
    int  (*resource_clients)(void *impl, const char *resource, struct resource_client **out,
             size_t *n);
    int  (*client_resources)(void *impl, const char *client_id, char ***ids, size_t *n);
    /* Trusted issuers of JWT-bearer grant assertions (0005_issuers.sql). */
    int  (*issuer_add)(void *impl, const struct trusted_issuer *ti);
    int  (*issuer_get)(void *impl, const char *issuer, struct trusted_issuer **out);
    int  (*issuer_list)(void *impl, struct trusted_issuer ***out, size_t *n);
    int  (*issuer_set_disabled)(void *impl, const char *issuer, bool disabled, int64_t now);
    int  (*issuer_delete)(void *impl, const char *issuer);
    int  (*jwt_grant_check)(void *impl, const char *client_id, const char *grant_type,
             const char *issuer, const char *user_sub, const char **why);

    /* Copying a realm (store_copy.c). Table and column names come from store_copy.c's fixed
     * list and the database's own catalogue, never from input. tab_list: the database's tables
     * except the backend's own (the schema version's). tab_columns: table's
     * column names in order. tab_count: its rows. tab_read: every row, the columns cols in
     * that order, to fn (inside the caller's read snapshot); a non-GH_OK from fn stops it and
     * is returned. copy_begin / copy_insert / copy_end: one write transaction; copy_end with
     * commit also brings generated-id sequences past the ids inserted. Name lists are
     * NULL-terminated; the caller frees them with str_list_free. */
    int  (*tab_list)(void *impl, char ***names, size_t *n);
    int  (*tab_columns)(void *impl, const char *table, char ***cols, size_t *n);
    int  (*tab_count)(void *impl, const char *table, int64_t *n);
    int  (*tab_read)(void *impl, const char *table, const char *const *cols, size_t n,
             int (*fn)(void *ctx, struct store_val *vals), void *ctx);
    int  (*copy_begin)(void *impl);
    int  (*copy_insert)(void *impl, const char *table, const char *const *cols,
             const struct store_val *vals, size_t n);
    int  (*copy_end)(void *impl, bool commit);
};

/* For backends (store_fault.c): report a failed operation caused by a storage fault of kind
 * (write: it was a write; path: the database; op: the operation; code and detail: the backend's
 * code and message). Logs the episode's line when one is due, so the backend logs nothing else
 * for it. store_fault_ok: an operation succeeded (write: a write committed); ends an episode it
 * can end. Cheap (one atomic load) when there is none. Thread-safe. */
void store_fault_note(enum store_fault kind, bool write, const char *path, const char *op,
    int code, const char *detail);
void store_fault_ok(bool write);

/* A table or column name we put into SQL text (store_copy.c): 1..63 of [a-z0-9_], not starting
 * with a digit. Ours always are; anything else is refused rather than quoted. */
bool store_ident_ok(const char *s);
/* The statements of a copy into sql: "SELECT cols FROM table" (signing keys in the order they
 * were added: ORDER BY created_at, then key_seq, the backend's insertion order) and "INSERT
 * INTO table (cols) VALUES (…)" with placeholders ?N or $N (param '?' or '$'). GH_OK, or
 * GH_EINVAL for a name store_ident_ok refuses or SQL that does not fit. */
int  store_select_sql(char *sql, size_t sz, const char *table, const char *const *cols,
         size_t n, const char *key_seq);
int  store_insert_sql(char *sql, size_t sz, const char *table, const char *const *cols,
         size_t n, char param);

/* A growing NULL-terminated list of copied strings, for the backends' row readers (store.c). */
struct store_strvec {
    char **v;
    size_t n, cap;
};
void store_strvec_push(struct store_strvec *sv, const char *s);   /* a copy of s */
char **store_strvec_take(struct store_strvec *sv);   /* never NULL; caller frees; sv is reset */
char **store_split_spaces(const char *s);   /* a space-separated column; never NULL */

/* The arrays the backends' list helpers (sq_list, pg_list) build, one kind a list type: the
 * size of an element and the type's list_free, which frees n elements and the array (what was
 * read before a list failed). Defined in store.c. */
struct store_elems {
    size_t size;
    void (*free)(void *list, size_t n);
};
extern const struct store_elems store_elems_user;              /* struct user * */
extern const struct store_elems store_elems_client;            /* struct client * */
extern const struct store_elems store_elems_key;               /* struct key_meta */
extern const struct store_elems store_elems_resource;          /* struct resource * */
extern const struct store_elems store_elems_resource_client;   /* struct resource_client */
extern const struct store_elems store_elems_issuer;            /* struct trusted_issuer * */
extern const struct store_elems store_elems_text;              /* char *, NULL-terminated */

/* The handle store.h hands out (store.c, store_copy.c). */
struct store {
    const struct store_ops *ops;
    void *impl;
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

#endif
