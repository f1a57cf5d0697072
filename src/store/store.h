/* store.h — what the rest of gatehouse sees of storage (STYLE.md §7). An opaque handle per
 * thread; the backend is chosen by the DSN ("./gatehouse.db" or "sqlite:FILE" today, a
 * "postgresql://" backend can sit beside it). Every function returns GH_OK or a negative
 * gh_err; GH_ESTORE means the backend failed (logged once, where it happened). */
#ifndef GH_STORE_STORE_H
#define GH_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/client.h"
#include "model/user.h"

struct store;

enum store_flags {
    STORE_CREATE = 1,     /* create the database when it does not exist */
    STORE_READONLY = 2,   /* open for reading only; never migrates */
    STORE_WORKER = 4,     /* one more handle on a database this process already opened and
                           * checked: no quick_check (it reads the whole file), no migration */
};

/* Open dsn, apply PRAGMAs, check it (quick_check) and migrate an older schema. A schema newer
 * than this build, a missing file (without STORE_CREATE), a corrupt or unwritable database:
 * GH_ESTORE / GH_ENOTFOUND / GH_EINVAL with one line for the operator in err. */
int  store_open(const char *dsn, unsigned flags, struct store **out, char *err, size_t errsz);
void store_close(struct store *st);   /* NULL is a no-op */
int  store_schema_version(struct store *st, int *current, int *supported);
/* true for a backend that several gatehouse instances share (PostgreSQL): signing keys are then
 * sealed in the database instead of kept as files of one instance (app.c). */
bool store_shared(const struct store *st);
/* A cheap read that proves the database answers on this handle (readiness, /readyz): waits at
 * most timeout_ms for a lock held by another process. GH_OK, or GH_ESTORE (also when the file
 * was removed or replaced under the open handle; noted as a storage fault). */
int  store_ping(struct store *st, unsigned timeout_ms);
/* PRAGMA integrity_check (full) or quick_check; *report gets "ok" or the findings (caller frees). */
int  store_check(struct store *st, bool full, char **report);

/* Storage faults (store_fault.c). A backend that fails because of the environment rather than
 * the request reports the kind; this process then is in a fault episode until an operation of
 * the kind that failed (a write for a write fault) succeeds again. The server logs one
 * `store_fault` line per episode (err; a reminder at most once a minute while it lasts) and one
 * `store_recovered` line (info) at its end. */
enum store_fault {
    STORE_FAULT_NONE = 0,
    STORE_FAULT_LOCKED,     /* another process held the write lock past the busy timeout */
    STORE_FAULT_READONLY,   /* the file, its directory or the file system cannot be written */
    STORE_FAULT_FULL,       /* no space left (ENOSPC, quota, file size limit) */
    STORE_FAULT_IO,         /* another I/O error */
    STORE_FAULT_CORRUPT,    /* the file is damaged or not a database */
};
/* The fault in force (STORE_FAULT_NONE: none) and, into msg (may be NULL), one sentence for a
 * person naming the database, e.g. "database ./gatehouse.db is locked by another process; try
 * again". */
enum store_fault store_fault_now(char *msg, size_t msgsz);
/* "locked", "read_only", "full", "io_error", "corrupt" ("none"): the kind= of the log line. */
const char *store_fault_name(enum store_fault kind);
/* on (the default): fault episodes are logged. off: they are only kept for store_fault_now
 * (a CLI command prints its own one line). Call before threads start. */
void store_fault_log(bool on);

/* Realm settings (e.g. the issuer recorded by `gatehouse init`). get: GH_ENOTFOUND if unset. */
/* A read snapshot for the reads of one request: from store_read_begin until store_read_end,
 * or the next write on this handle (which ends it first), reads see one state of the database
 * and share one read transaction, which is cheaper than one each. Begin while one is open is
 * a no-op; end without one too. Keep it short: it holds back checkpoints. */
int  store_read_begin(struct store *st);
void store_read_end(struct store *st);

/* Durable writes return once they are on disk (group commit). A caller that can wait without
 * holding a thread (the token endpoint parks the request, http/req.h req_park) turns that off
 * for its handle with store_sync_defer(st, true): commits then return at once, and the caller
 * takes the ticket of the last one (store_sync_take: 0 when there was none) and must not tell
 * anyone of the writes before store_sync_wait(st, ticket) returned GH_OK (GH_ESTORE: the sync
 * failed; the writes may be lost). Tickets are per process, so any handle may wait for one. */
void     store_sync_defer(struct store *st, bool on);
uint64_t store_sync_take(struct store *st);
int      store_sync_wait(struct store *st, uint64_t ticket);

int  store_meta_get(struct store *st, const char *name, char **value);
int  store_meta_set(struct store *st, const char *name, const char *value);
/* Set name only if it is unset, atomically across processes: GH_EEXIST when it has a value
 * (two first inits of one shared realm: the second keeps the first one's). */
int  store_meta_add(struct store *st, const char *name, const char *value);

/* Users. Usernames are compared case-insensitively (callers pass them normalised). */
int  store_user_add(struct store *st, const struct user *u);   /* GH_EEXIST: username or sub taken/retired */
int  store_user_get(struct store *st, const char *username, struct user **out);
int  store_user_get_by_sub(struct store *st, const char *sub, struct user **out);
int  store_user_list(struct store *st, struct user ***out, size_t *n);  /* ordered by username */
int  store_user_set_password(struct store *st, const char *username, const char *hash, int64_t now);
int  store_user_set_disabled(struct store *st, const char *username, bool disabled, int64_t now);
int  store_user_delete(struct store *st, const char *username);  /* its sub is retired forever */

/* Clients, with their redirect URIs, written in one transaction. */
int  store_client_add(struct store *st, const struct client *c);  /* GH_EEXIST */
int  store_client_get(struct store *st, const char *client_id, struct client **out);
int  store_client_list(struct store *st, struct client ***out, size_t *n); /* ordered by client_id */
int  store_client_set_secret(struct store *st, const char *client_id,
         const unsigned char hash[32], const unsigned char *sealed, size_t sealed_len, int64_t now);
int  store_client_delete(struct store *st, const char *client_id);

/* Signing keys: which keys are part of the realm, and the dates that give each its state
 * (crypto/keys.h keys_state_at). A key's private half is the file <keys>/<kid>.pem, or with a
 * shared database (store_shared) sealed in the row itself (app.c, crypto/secret.h
 * sec_kek_seal). */
struct key_meta {
    char *kid;
    char *alg;          /* "RS256" / "ES256" / "PS256" */
    int64_t created_at;
    int64_t activate_at; /* signs from then on (until a newer key of its alg activates) */
    int64_t retire_at;   /* 0: not retired by hand (`keys retire`) */
    unsigned char *sealed; /* sealed private key, <= STORE_KEY_SEALED_MAX bytes; NULL: a file */
    size_t sealed_len;
};
#define STORE_KEY_SEALED_MAX 65536  /* the schema's CHECK on signing_keys.sealed */
#define STORE_KEY_ANY        (-1)   /* store_key_insert: whatever the keys of its alg */
/* Record k (retire_at is ignored; sealed may be NULL). alg_keys is the number of keys of
 * k->alg the caller saw in store_key_list, or STORE_KEY_ANY: when the store holds another
 * number by now (another process added one meanwhile: two instances rotating at once), nothing
 * is added and the answer is GH_EEXIST. Check and insert are atomic across processes (SQLite:
 * one write transaction; PostgreSQL: under a transaction-level advisory lock). Also GH_EEXIST
 * for a kid already listed; GH_EINVAL for sealed over STORE_KEY_SEALED_MAX; GH_ESTORE. */
int  store_key_insert(struct store *st, const struct key_meta *k, int64_t alg_keys);
/* A key file that signs at once and whatever the clock says (activate_at = 0: a clock set back
 * must not leave an alg without a signer); store_key_insert without sealed key or condition.
 * GH_EEXIST, GH_ESTORE. */
int  store_key_add(struct store *st, const char *kid, const char *alg, int64_t created_at);
/* A key file published from now on that signs from activate_at (`keys rotate`). */
int  store_key_add_at(struct store *st, const char *kid, const char *alg, int64_t created_at,
         int64_t activate_at);
/* Set a key's retire_at. GH_ENOTFOUND if no such kid, GH_ESTORE. */
int  store_key_retire(struct store *st, const char *kid, int64_t retire_at);
/* Every key with its sealed private key, if any; oldest first. */
int  store_key_list(struct store *st, struct key_meta **out, size_t *n);
/* Frees a list (sealed keys are wiped first); NULL is a no-op. */
void store_key_list_free(struct key_meta *list, size_t n);

/* ---- browser sign-in and tokens (issue 3) ------------------------------------------------
 * Every secret a browser or client holds (interaction id, session cookie, code, refresh token)
 * is stored only as its SHA-256 (STORE_HASH_LEN bytes); the raw value never reaches the store.
 * Times are Unix seconds; "now" is always passed in (clock_now()), never read here. */
#define STORE_HASH_LEN 32

/* A pending /authorize request while the user signs in or consents (short-lived). */
struct interaction {
    unsigned char id_hash[STORE_HASH_LEN];
    unsigned char bind_hash[STORE_HASH_LEN]; /* SHA-256 of the pre-login cookie it belongs to */
    char *request;                 /* the validated request as JSON text (oidc/authz_req.c) */
    int64_t created_at, expires_at;
};
void interaction_free(struct interaction *ia);               /* NULL is a no-op */
int  store_interaction_add(struct store *st, const struct interaction *ia); /* GH_EEXIST */
/* GH_ENOTFOUND when absent or expires_at <= now. */
int  store_interaction_get(struct store *st, const unsigned char id_hash[STORE_HASH_LEN],
         int64_t now, struct interaction **out);
/* Delete it and return it, in one transaction: of two concurrent takes exactly one gets
 * GH_OK, the other GH_ENOTFOUND (also when absent or expired). out may be NULL. */
int  store_interaction_take(struct store *st, const unsigned char id_hash[STORE_HASH_LEN],
         int64_t now, struct interaction **out);

/* A signed-in browser. */
struct session {
    unsigned char id_hash[STORE_HASH_LEN];
    char *sid;                     /* public session id (id_token "sid"), base64url */
    char *sub;                     /* the user's sub (users.sub; deleting the user deletes it) */
    char *amr;                     /* space-separated methods, e.g. "pwd" */
    int64_t auth_time;
    int64_t created_at, last_seen;
    int64_t expires_at;            /* absolute end */
};
void session_free(struct session *s);
/* GH_EEXIST: id_hash or sid taken. GH_ENOTFOUND: no user with s->sub. */
int  store_session_add(struct store *st, const struct session *s);
/* GH_ENOTFOUND when absent, when now >= expires_at or when now >= last_seen + idle_s; such a
 * dead session is deleted. */
int  store_session_get(struct store *st, const unsigned char id_hash[STORE_HASH_LEN],
         int64_t now, int64_t idle_s, struct session **out);
/* last_seen = now (never moved back); GH_ENOTFOUND if absent. */
int  store_session_touch(struct store *st, const unsigned char id_hash[STORE_HASH_LEN],
         int64_t now);
int  store_session_delete(struct store *st, const unsigned char id_hash[STORE_HASH_LEN]);
                                                                 /* GH_ENOTFOUND if absent */

/* An authorization code (RFC 6749 §4.1.2): single use, short-lived, bound to everything the
 * token request must repeat. */
struct authcode {
    unsigned char hash[STORE_HASH_LEN];
    char *client_id, *redirect_uri, *scope;
    char *nonce;                   /* NULL if the request had none */
    char *code_challenge;          /* S256 challenge, NULL if the client may skip PKCE */
    char *sub, *sid, *amr;         /* sid NULL: no session */
    int64_t auth_time, created_at, expires_at;
    char *grant_id;                /* the grant its redemption created; NULL until redeemed */
};
void authcode_free(struct authcode *c);
/* Stored unspent (c->grant_id is ignored). GH_EEXIST; GH_ENOTFOUND: no such client or user. */
int  store_code_add(struct store *st, const struct authcode *c);
/* Redeem a code, in one transaction. GH_OK: it is now spent, grant_id (a fresh id made by the
 * caller) recorded with it, *out is the code (caller checks client, redirect_uri, PKCE).
 * GH_ENOTFOUND: no such code. GH_EEXPIRED: expires_at <= now (left unspent).
 * GH_EDENIED: already spent: this replay revokes the grant recorded at the first redemption
 * (a later store_grant_add of that grant_id stores it revoked), RFC 6749 §4.1.2. A replay is
 * recognised however late, until store_purge removes the code. GH_EINVAL: grant_id is NULL. */
int  store_code_take(struct store *st, const unsigned char hash[STORE_HASH_LEN], int64_t now,
         const char *grant_id, struct authcode **out);

/* A grant: what one authorization produced, i.e. a refresh-token family (RFC 9700 §4.14.2)
 * and the access tokens issued from it. Revoking it kills all of them. */
struct grant {
    char *id;                      /* random base64url, made by the caller */
    char *client_id, *sub, *scope;
    char *sid;                     /* the browser session it came from, or NULL */
    char *amr;
    int64_t auth_time;
    int64_t created_at;
    int64_t expires_at;            /* absolute end of the refresh-token family */
    int64_t refresh_gen;           /* generation of the current refresh token (0 first) */
    bool revoked;
};
void grant_free(struct grant *g);
/* Insert g and, when refresh_hash is non-NULL, its first refresh token (generation 0, idle
 * end refresh_idle_until), in one transaction. g->refresh_gen and g->revoked are ignored: a new
 * grant starts at generation 0, not revoked. g->sub is a user's sub, or g->client_id itself
 * (client_credentials). When a code redeemed with this grant_id has been replayed in the
 * meantime the grant is stored revoked (GH_OK: the racing first redemption gets its answer,
 * its tokens never work); GH_EEXIST (id or refresh hash taken); GH_ENOTFOUND: no such
 * client or subject. Deleting the user or the client deletes the grant and its tokens. */
int  store_grant_add(struct store *st, const struct grant *g,
         const unsigned char refresh_hash[STORE_HASH_LEN], int64_t refresh_idle_until);
int  store_grant_get(struct store *st, const char *id, struct grant **out); /* GH_ENOTFOUND */
int  store_grant_revoke(struct store *st, const char *id);
/* End every session and revoke every grant of user sub (after a password change or when the
 * account is disabled), in one transaction. *n (may be NULL): rows changed. */
int  store_user_revoke(struct store *st, const char *sub, size_t *n);  /* idempotent; GH_ENOTFOUND */
/* Rotate a refresh token: one transaction that checks and advances the family's generation,
 * so of N concurrent requests with one token exactly one succeeds.
 * GH_OK: old_hash was the family's current token; the generation advanced, new_hash stored as
 * the current token with idle end new_idle_until; *out is the grant after the advance.
 * GH_ENOTFOUND: unknown token, or its user/client is gone.
 * GH_EEXPIRED: grant past expires_at, or the token past its idle end.
 * GH_EDENIED: the grant is revoked, or old_hash is an earlier generation (reuse): the grant is
 * revoked in the same transaction. */
int  store_refresh_rotate(struct store *st, const unsigned char old_hash[STORE_HASH_LEN],
         const unsigned char new_hash[STORE_HASH_LEN], int64_t now, int64_t new_idle_until,
         struct grant **out);

/* The grant of a refresh token without spending it (a narrowed scope is checked first;
 * introspection). GH_ENOTFOUND unless it is its family's current token and not idle past now;
 * the grant's revocation and end are the caller's to check. */
int  store_refresh_peek(struct store *st, const unsigned char hash[STORE_HASH_LEN],
         int64_t now, struct grant **out);

/* Access tokens are JWTs and are not stored (a write per token would make issuance wait on
 * the disk). The jti of a token issued from a grant is "<grant id>.<random>", so revoking the
 * grant revokes the token; a token revoked on its own goes on a deny list until expires_at.
 * revoke: GH_OK (also when already listed). check: GH_OK when the jti is not listed and, if
 * grant_id is given, that grant exists and is not revoked; GH_EDENIED: listed, or the grant
 * is revoked; GH_ENOTFOUND: no such grant (purged, or its user or client deleted). Two
 * primary-key probes; the JWT's exp is the caller's check. */
int  store_token_revoke(struct store *st, const char *jti, int64_t expires_at);
int  store_token_check(struct store *st, const char *jti, const char *grant_id);

/* Remembered consent (OIDC Core §3.1.2.4): the scopes a user approved for a client. get:
 * GH_ENOTFOUND if none (*scope: caller frees). set replaces an earlier approval; GH_ENOTFOUND:
 * no such user or client. Deleting either deletes the consent. */
int  store_consent_get(struct store *st, const char *sub, const char *client_id, char **scope);
int  store_consent_set(struct store *st, const char *sub, const char *client_id,
         const char *scope, int64_t now);

/* ---- service-to-service (issue 4) --------------------------------------------------------- */

/* An API that accepts gatehouse access tokens (RFC 8707): its id (an absolute URI) is the aud
 * of the tokens issued for it. */
struct resource {
    char *id;
    char *name;
    char **scopes;                 /* NULL-terminated, never NULL itself: the scopes it defines */
    int64_t created_at;
};
/* A client allowed to obtain tokens for a resource, with which of its scopes. */
struct resource_client {
    char *client_id;
    char *scope;                   /* space-separated subset of the resource's scopes; "" none */
    int64_t created_at;
};
/* The store checks nothing about ids, names or scopes: model/resource.c decides what is
 * stored. Ids are compared byte for byte; lists are ordered by byte value. NULL is a no-op
 * for the _free functions. */
void resource_free(struct resource *r);
void resource_list_free(struct resource **list, size_t n);
void resource_client_list_free(struct resource_client *list, size_t n);
int  store_resource_add(struct store *st, const struct resource *r);           /* GH_EEXIST */
int  store_resource_get(struct store *st, const char *id, struct resource **out); /* GH_ENOTFOUND */
int  store_resource_list(struct store *st, struct resource ***out, size_t *n);  /* by id */
/* GH_ENOTFOUND if absent; its client rows go with it (as they do when the client is deleted). */
int  store_resource_delete(struct store *st, const char *id);
/* Let client_id obtain tokens for resource with scope ("" or NULL: none), replacing an earlier
 * row, in one transaction. GH_ENOTFOUND: no such resource or client. */
int  store_resource_allow(struct store *st, const char *resource, const char *client_id,
         const char *scope, int64_t now);
/* GH_ENOTFOUND when client_id was not allowed at resource (or either does not exist). */
int  store_resource_disallow(struct store *st, const char *resource, const char *client_id);
/* The scope client_id may have at resource: GH_OK and *scope (caller frees; may be ""), or
 * GH_ENOTFOUND when the client may not use the resource. One primary-key probe. */
int  store_resource_client_scope(struct store *st, const char *resource,
         const char *client_id, char **scope);
/* The clients allowed at resource, by client_id (*out: an array of *n, caller frees with
 * resource_client_list_free) / the ids of the resources a client may use, by id (*ids:
 * NULL-terminated, never NULL on GH_OK, caller frees with str_list_free). An unknown resource
 * or client has none: GH_OK with *n = 0. */
int  store_resource_clients(struct store *st, const char *resource,
         struct resource_client **out, size_t *n);
int  store_client_resources(struct store *st, const char *client_id, char ***ids, size_t *n);

/* Assertion replay (RFC 7523 §3 item 7): record (iss, jti) until expires_at. GH_OK the first
 * time; GH_EEXIST when it was seen before (a replay). One transaction. */
int  store_jti_use(struct store *st, const char *iss, const char *jti, int64_t expires_at);

/* Failed sign-ins per account name (SECURITY.md S14–S16): name is the normalised username as
 * typed, whether or not such a user exists; model/throttle.c decides the numbers. A row
 * whose expires_at has passed counts as none (all zero).
 * count: read name's row under the write lock, let decide() change it, and store the result,
 * in one transaction, so concurrent attempts never see the same count; decide returns GH_OK
 * to store *c, anything else to store nothing, and that code is returned. Light: a power cut
 * may lose the last counts, a crash of the process does not.
 * get: the row (zeros when none). reset: forget it (GH_OK also when there is none). */
struct login_count {
    int64_t failures;       /* consecutive failures counted */
    int64_t locked_until;   /* no attempt before this time; 0: none */
    int64_t expires_at;     /* the row may be forgotten from this time */
};
typedef int (*store_login_decide_fn)(void *arg, struct login_count *c);
int  store_login_count(struct store *st, const char *name, int64_t now,
         store_login_decide_fn decide, void *arg);
int  store_login_get(struct store *st, const char *name, int64_t now, struct login_count *out);
int  store_login_reset(struct store *st, const char *name);

/* A trusted issuer of JWT-bearer grant assertions (RFC 7523 §2.1, 0005_issuers.sql): its iss
 * value, its keys (exactly one of jwks / jwks_uri is set) and the clients that may present its
 * assertions. model/issuer.c decides what may be stored. */
struct trusted_issuer {
    char *issuer;
    char *jwks;                    /* inline JWKS text, or NULL */
    char *jwks_uri;                /* URL of the JWKS, or NULL */
    bool disabled;
    char **clients;                /* NULL-terminated client_ids, never NULL; sorted */
    int64_t created_at, updated_at;
};
void trusted_issuer_free(struct trusted_issuer *ti);                     /* NULL: no-op */
void trusted_issuer_list_free(struct trusted_issuer **list, size_t n);
/* Store ti with its clients in one transaction. GH_EEXIST: issuer taken; GH_ENOTFOUND: a
 * listed client does not exist (nothing is stored). */
int  store_issuer_add(struct store *st, const struct trusted_issuer *ti);
int  store_issuer_get(struct store *st, const char *issuer, struct trusted_issuer **out);
int  store_issuer_list(struct store *st, struct trusted_issuer ***out, size_t *n); /* by iss */
/* GH_ENOTFOUND if absent. */
int  store_issuer_set_disabled(struct store *st, const char *issuer, bool disabled, int64_t now);
int  store_issuer_delete(struct store *st, const char *issuer);
/* Let client_id present issuer's assertions, or stop it. allow: GH_EEXIST (already listed),
 * GH_ENOTFOUND (no such issuer or client). disallow: GH_ENOTFOUND (not listed). */
int  store_issuer_allow(struct store *st, const char *issuer, const char *client_id);
int  store_issuer_disallow(struct store *st, const char *issuer, const char *client_id);
/* The re-check of the JWT-bearer grant right before a token is signed, in one read
 * transaction: client_id exists, is confidential and still has grant type grant_type; when
 * issuer is not NULL, that issuer exists, is enabled and lists client_id; when user_sub is not
 * NULL, that user exists and is enabled. GH_OK; GH_EDENIED with a static *why naming the first
 * check that failed; GH_ESTORE. */
int  store_jwt_grant_check(struct store *st, const char *client_id, const char *grant_type,
         const char *issuer, const char *user_sub, const char **why);

/* Delete what can no longer be used, in one transaction: interactions and sessions past
 * expires_at (sessions dead by idle time go when store_session_get finds them), codes expired
 * for more than `grace` seconds (kept that long so a late replay still revokes; a negative
 * grace counts as 0), deny-list entries past expiry, grants past expires_at with their refresh
 * tokens. Revoked grants stay until then (a reuse is then still recognised);
 * consents stay. *removed (may be NULL) gets the number of rows deleted. */
int  store_purge(struct store *st, int64_t now, int64_t grace, size_t *removed);

/* ---- copying a realm between databases (`gatehouse migrate`, store_copy.c) -------------------
 * Every row of every table, whatever the backends, as typed values: the schemas of the two
 * dialects have the same tables and columns (a backend's own bookkeeping columns aside), so a
 * row read from one is a row of the other. */
enum store_vtype { STORE_V_NULL, STORE_V_INT, STORE_V_TEXT, STORE_V_BLOB };
struct store_val {
    enum store_vtype type;
    int64_t i;                  /* STORE_V_INT */
    const unsigned char *p;     /* STORE_V_TEXT (UTF-8, not NUL-terminated) or STORE_V_BLOB */
    size_t n;
};
struct store_row {
    const char *table;
    size_t ncols;
    const char *const *cols;
    struct store_val *vals;     /* the hook may point them elsewhere (kept until it returns) */
};
/* Called with every row before it is written: GH_OK writes it, GH_ENOTFOUND skips it, anything
 * else stops the copy (err says why) and nothing is written. */
typedef int (*store_copy_hook)(void *ctx, struct store_row *row, char *err, size_t errsz);
struct store_copy_count {
    const char *table;          /* static */
    int64_t src, skipped, added, dst;   /* dst = src - skipped + added, checked */
};
/* Copy the realm in src into dst: dst must be at the same schema version and hold no row at
 * all (GH_EEXIST otherwise: never merges two realms). The rows of src are read in one
 * snapshot, passed through hook (may be NULL), written to dst in one transaction, followed by
 * the rows of extra (e.g. a realm secret sealed for dst; their tables must be in the list) and
 * counted in dst before the commit: any count that is not src - skipped + added rolls it all
 * back (GH_EINVAL). A table in src this build does not know is refused (GH_EINVAL), so no row
 * is silently left behind. On success *counts (caller frees) has one entry per table, in copy
 * order. Errors: one line in err; dst is then unchanged. */
int  store_copy(struct store *src, struct store *dst, store_copy_hook hook, void *ctx,
         const struct store_row *extra, size_t nextra, struct store_copy_count **counts,
         size_t *ncounts, char *err, size_t errsz);

#endif
