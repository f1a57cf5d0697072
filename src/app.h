/* app.h — struct app: everything a request or command needs, built once at start and passed
 * explicitly (no mutable globals). Read-only after app_open() except per-thread store handles. */
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
struct store;
struct ep_docs;
struct issuer_keys;
struct pw_params;

enum app_flags {
    APP_INIT = 1,        /* create the database, secret and signing keys when absent */
    APP_NO_KEYS = 2,     /* do not load signing keys (user/client commands) */
};

struct app {
    const struct cfg *cfg;
    char *issuer;              /* effective issuer, set by app_resolve_issuer() */
    struct keyring *keys;
    struct secrets *secrets;
    struct store *store;       /* the opening thread's handle (CLI, start-up) */
    struct ep_docs *docs;      /* prebuilt discovery and JWKS responses, owned by ep/ */
    pthread_key_t tls_store;   /* worker threads' own handles, closed at thread exit */
    struct net_list trusted_proxies; /* cfg->trusted_proxies, parsed (util/net.h) */
    struct issuer_keys *issuer_keys; /* trusted issuers' jwks_uri key sets (thread-safe) */
};

/* Open the data location named by cfg (see enum app_flags). On failure err holds one line for
 * the operator and everything opened so far is closed. */
int  app_open(struct app *app, const struct cfg *cfg, unsigned flags, char *err, size_t errsz);
void app_close(struct app *app);
/* Settle app->issuer: flag/env/config, else the one `init --issuer` recorded, else
 * http://<listen host>:<port> (port: the one actually bound). GH_EINVAL with err when that
 * default is not a valid issuer (e.g. listening on 0.0.0.0 without --issuer). */
int  app_resolve_issuer(struct app *app, unsigned port, char *err, size_t errsz);
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
