/* app.h — struct app: everything a request or command needs, built once at start and passed
 * explicitly (no mutable globals). Read-only after app_open() except per-thread store handles
 * and the two pointers a reload replaces (keys, docs): serve's main thread publishes a new ring
 * and document set atomically and frees the old ones only after GH_RELOAD_GRACE_S (cli_reload.c),
 * so a request reads each pointer once per use and never keeps it beyond the request. */
#ifndef GH_APP_H
#define GH_APP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cfg.h"
#include "util/net.h"

struct keyring;
struct secrets;
struct kek;
struct store;
struct ep_docs;
struct issuer_keys;
struct pw_params;
struct rl_table;

enum app_flags {
    APP_INIT = 1,        /* create the database, secret and signing keys when absent */
    APP_NO_KEYS = 2,     /* do not load signing keys (user/client commands) */
};

struct app {
    const struct cfg *cfg;
    char *issuer;              /* effective issuer, set by app_resolve_issuer() */
    struct keyring *_Atomic keys;
    struct secrets *secrets;
    /* the key-encryption key of sealed signing keys (crypto/secret.h), loaded when first needed
     * by the main thread (start-up, CLI, serve's reloader); never read by workers */
    struct kek *kek;
    bool kek_created;          /* this process made the KEK file (init) */
    struct store *store;       /* the opening thread's handle (CLI, start-up) */
    struct ep_docs *_Atomic docs; /* prebuilt discovery and JWKS responses, owned by ep/ */
    pthread_key_t tls_store;   /* worker threads' own handles, closed at thread exit */
    struct net_list trusted_proxies; /* cfg->trusted_proxies, parsed (util/net.h) */
    struct issuer_keys *issuer_keys; /* trusted issuers' jwks_uri key sets (thread-safe) */
    struct rl_table *client_rates;   /* client_rate per client_id (model/ratelimit.h) */
    struct rl_table *client_auth_fails; /* client_auth_ip_failures per address */
    struct ep_demo *demo;      /* serve --demo: the built-in demo app (ep/demo.h); NULL: off */
};

/* Open the data location named by cfg (see enum app_flags). On failure err holds one line for
 * the operator and everything opened so far is closed. */
int  app_open(struct app *app, const struct cfg *cfg, unsigned flags, char *err, size_t errsz);
void app_close(struct app *app);
/* Settle app->issuer: flag/env/config, else the one `init --issuer` recorded, else
 * http://<listen host>:<port> (https:// with tls_cert; port: the one actually bound). GH_EINVAL
 * with err when that default is not a valid issuer (e.g. listening on 0.0.0.0 without
 * --issuer), or when TLS is on and the recorded issuer is not https. */
int  app_resolve_issuer(struct app *app, unsigned port, char *err, size_t errsz);
/* Seconds a retired signing key stays published: the longest token lifetime (access, ID) plus
 * max(GH_KEY_SKEW_S, clock_skew), so every token it signed has expired for every verifier
 * first. */
int64_t app_key_hold(const struct cfg *cfg);
/* Seconds from `keys rotate` until the new key signs: cache_max_age + GH_KEY_ROTATE_MARGIN_S, so
 * a verifier caching the JWKS for the advertised max-age has fetched it before it is needed. */
int64_t app_key_lead(const struct cfg *cfg);
/* The store's key list as keys_state_at() input (crypto/keys.h struct key_ref; kids borrowed
 * from metas): a new array (free()), or NULL with err when a row names an unknown alg. */
struct key_meta;
struct key_ref *app_key_refs(const struct key_meta *metas, size_t n, char *err, size_t errsz);
/* Sealing under the KEK (crypto/secret.h) what a shared database holds; the associated data
 * names what is sealed, so nothing opens in another place. A signing key's PEM, bound to its
 * kid and alg: *out (free()). Unseal m->sealed into *pem (wipe and free): GH_EDENIED under
 * another KEK or for a blob changed or moved. */
int  app_key_seal(const struct kek *kek, const char *kid, const char *alg,
         const unsigned char *pem, size_t len, unsigned char **out, size_t *outlen);
struct key_meta;
int  app_key_unseal(const struct kek *kek, const struct key_meta *m, unsigned char **pem,
         size_t *len);
/* The realm secret, as meta row APP_META_SECRET: put adds it only when there is none
 * (store_meta_add: GH_EEXIST); get opens it (GH_ENOTFOUND without one, GH_EDENIED under another
 * KEK). */
#define APP_META_SECRET "realm_secret"
int  app_secret_put(struct store *st, const struct kek *kek, const struct secrets *s);
/* The row's value for s: *text (free()), the sealed secret as base64url. */
int  app_secret_seal(const struct kek *kek, const struct secrets *s, char **text);
int  app_secret_get(struct store *st, const struct kek *kek, struct secrets **out);
/* The KEK file: cfg->kek_file, else <keys_dir>/kek.key (written into buf). */
const char *app_kek_path(const struct cfg *cfg, char *buf, size_t sz);
/* Generate a key for alg ("RS256") and record it, created at now, signing from activate_at (0:
 * at once). With a shared database (store_shared) it is sealed under the KEK into its row and
 * never written to disk; otherwise it is the file <keys>/<kid>.pem, written before its row and
 * removed again when the row cannot be written. alg_keys: the number of keys of alg the caller
 * saw, or STORE_KEY_ANY (store_key_insert): GH_EEXIST when another process added one meanwhile.
 * kid (>= 65 bytes) gets the new kid. GH_OK, or an error with one line in err. */
int  app_key_new(struct app *app, const char *alg, int64_t now, int64_t activate_at,
         int64_t alg_keys, char *kid, size_t kidsz, char *err, size_t errsz);
/* `keys rotate` for one alg: app_key_new signing from now + app_key_lead(); *activate_at gets
 * that date (0 on failure). */
int  app_key_rotate(struct app *app, const char *alg, int64_t now, int64_t alg_keys, char *kid,
         size_t kidsz, int64_t *activate_at, char *err, size_t errsz);
/* Build a key ring from the store's list (no key generation): what serve's reloader swaps in.
 * GH_OK with *out, or an error with one line in err. */
int  app_keys_load(struct app *app, struct keyring **out, char *err, size_t errsz);
/* This thread's store handle, opened on first use; NULL (logged) if it cannot be opened. */
struct store *app_store(struct app *app);
/* Wait until the durable commits up to ticket are on disk (store_sync_wait on this thread's
 * handle): GH_OK or GH_ESTORE. */
int  app_store_sync(struct app *app, uint64_t ticket);
/* The password hashing parameters and policy from cfg. */
void app_pw_params(const struct app *app, struct pw_params *pp);
/* The password-guessing limits from cfg. */
struct throttle_policy;
void app_throttle_policy(const struct app *app, struct throttle_policy *tp);

#endif
