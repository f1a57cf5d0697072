/* app.c — opening a data location: database (created and migrated when asked), the realm
 * secret, and the signing keys (generated on first init, then parsed once into the key ring).
 * Also the per-thread store handles: SQLite connections are not shared between threads, so
 * each worker opens its own on first use and it is closed when the thread exits. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/keys.h"
#include "crypto/pw.h"
#include "crypto/secret.h"
#include "oidc/issuer_keys.h"
#include "model/ratelimit.h"
#include "model/throttle.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

static void
tls_store_close(void *p)
{
    store_close(p);
}

/* Init: one key for each algorithm that has none (RS256, ES256, PS256). Each file exists
 * before its row; a run that failed half-way is completed by the next init or serve. */
static int
generate_missing_keys(struct app *app, const struct key_meta *metas, size_t n, bool *made,
    char *err, size_t errsz)
{
    const struct cfg *cfg = app->cfg;
    int rc;

    *made = false;
    for (int a = 0; a < KEY_ALG_COUNT; a++) {
        const char *name = keys_alg_name((enum key_alg)a);
        char kid[KEYS_KID_MAX + 1];
        bool have = false;

        for (size_t i = 0; i < n && !have; i++)
            have = str_eq(metas[i].alg, name);
        if (have)
            continue;
        if ((rc = keys_generate(cfg->keys_dir, (enum key_alg)a, kid, err, errsz)) != GH_OK)
            return rc;
        if ((rc = store_key_add(app->store, kid, name, clock_now())) != GH_OK) {
            keys_remove_file(cfg->keys_dir, kid);
            snprintf(err, errsz, "%s: cannot record the new signing key: %s", cfg->db,
                gh_strerror(rc));
            return rc;
        }
        *made = true;
    }
    return GH_OK;
}

int64_t
app_key_hold(const struct cfg *cfg)
{
    uint32_t ttl = cfg->access_token_ttl > cfg->id_token_ttl ? cfg->access_token_ttl :
        cfg->id_token_ttl;

    /* verifiers we do not configure may allow more skew than we do (GH_KEY_SKEW_S) */
    return (int64_t)ttl + (cfg->clock_skew > GH_KEY_SKEW_S ? (int64_t)cfg->clock_skew :
        GH_KEY_SKEW_S);
}

int64_t
app_key_lead(const struct cfg *cfg)
{
    return (int64_t)cfg->cache_max_age + GH_KEY_ROTATE_MARGIN_S;
}

static int
load_keys(struct app *app, unsigned flags, struct keyring **out, char *err, size_t errsz)
{
    struct key_meta *metas = NULL;
    struct key_ref *refs = NULL;
    size_t n = 0;
    int rc;

    if ((rc = store_key_list(app->store, &metas, &n)) != GH_OK) {
        snprintf(err, errsz, "%s: cannot list signing keys: %s", app->cfg->db, gh_strerror(rc));
        return rc;
    }
    if (flags & APP_INIT) {
        bool made;

        if ((rc = generate_missing_keys(app, metas, n, &made, err, errsz)) != GH_OK)
            goto out;
        if (made) {
            store_key_list_free(metas, n);
            metas = NULL;
            if ((rc = store_key_list(app->store, &metas, &n)) != GH_OK)
                goto out;
        }
    }
    if (n == 0) {
        snprintf(err, errsz, "%s has no signing keys (run: gatehouse init)", app->cfg->db);
        rc = GH_ENOTFOUND;
        goto out;
    }
    if (!(refs = app_key_refs(metas, n, err, errsz))) {
        rc = GH_EINVAL;
        goto out;
    }
    rc = keys_ring_load_staged(app->cfg->keys_dir, refs, n, app_key_hold(app->cfg), out, err,
        errsz);
out:
    free(refs);
    store_key_list_free(metas, n);
    return rc;
}

struct key_ref *
app_key_refs(const struct key_meta *metas, size_t n, char *err, size_t errsz)
{
    struct key_ref *refs = x_calloc(n ? n : 1, sizeof(*refs));

    for (size_t i = 0; i < n; i++) {
        refs[i].kid = metas[i].kid;
        refs[i].created_at = metas[i].created_at;
        refs[i].activate_at = metas[i].activate_at;
        refs[i].retire_at = metas[i].retire_at;
        if (keys_alg_parse(metas[i].alg, &refs[i].alg) != GH_OK) {
            snprintf(err, errsz, "signing key %s has unknown alg '%s'", metas[i].kid,
                metas[i].alg);
            free(refs);
            return NULL;
        }
    }
    return refs;
}

int
app_key_rotate(struct app *app, const char *alg, int64_t now, char *kid, size_t kidsz,
    int64_t *activate_at, char *err, size_t errsz)
{
    enum key_alg a;
    char newkid[KEYS_KID_MAX + 1];
    int rc;

    *activate_at = 0;
    if (kidsz)
        kid[0] = '\0';
    if (keys_alg_parse(alg, &a) != GH_OK) {
        snprintf(err, errsz, "unknown alg '%s'", alg);
        return GH_EINVAL;
    }
    if ((rc = keys_generate(app->cfg->keys_dir, a, newkid, err, errsz)) != GH_OK)
        return rc;
    *activate_at = now + app_key_lead(app->cfg);
    if ((rc = store_key_add_at(app->store, newkid, alg, now, *activate_at)) != GH_OK) {
        keys_remove_file(app->cfg->keys_dir, newkid);
        snprintf(err, errsz, "%s: cannot record the new signing key: %s", app->cfg->db,
            gh_strerror(rc));
        *activate_at = 0;
        return rc;
    }
    str_copy(kid, kidsz, newkid);
    return GH_OK;
}

int
app_keys_load(struct app *app, struct keyring **out, char *err, size_t errsz)
{
    return load_keys(app, 0, out, err, errsz);
}

int
app_resolve_issuer(struct app *app, unsigned port, char *err, size_t errsz)
{
    const char *why = NULL;
    char *stored = NULL;
    char buf[300];
    int rc;

    if (app->cfg->issuer) {
        app->issuer = x_strdup(app->cfg->issuer);
        return GH_OK;
    }
    rc = store_meta_get(app->store, "issuer", &stored);
    if (rc == GH_OK && app->cfg->tls_cert && strncmp(stored, "https://", 8) != 0) {
        /* cfg_validate refused such an explicit issuer; the recorded one is checked here */
        snprintf(err, errsz, "the issuer recorded by init (%.200s) is not https, but the server "
            "serves https (tls_cert); set --issuer", stored);
        free(stored);
        return GH_EINVAL;
    }
    if (rc == GH_OK) {
        app->issuer = stored;
        return GH_OK;
    }
    if (rc != GH_ENOTFOUND) {
        snprintf(err, errsz, "%s: cannot read the issuer: %s", app->cfg->db, gh_strerror(rc));
        return rc;
    }
    /* no issuer anywhere: the address we serve on, with the port actually bound */
    {
        const char *colon = strrchr(app->cfg->listen, ':');
        int hostlen = (int)(colon - app->cfg->listen);
        if (hostlen > 200)
            hostlen = 200;
        snprintf(buf, sizeof(buf), "%s://%.*s:%u", app->cfg->tls_cert ? "https" : "http",
            hostlen, app->cfg->listen, port);
    }
    if (cfg_issuer_check(buf, &why) != GH_OK) {
        snprintf(err, errsz, "no issuer is set and %s cannot be one (%s); set --issuer", buf,
            why);
        return GH_EINVAL;
    }
    app->issuer = x_strdup(buf);
    return GH_OK;
}

int
app_open(struct app *app, const struct cfg *cfg, unsigned flags, char *err, size_t errsz)
{
    const char *why = NULL;
    int rc;

    memset(app, 0, sizeof(*app));
    app->cfg = cfg;
    /* cfg_validate checked the syntax */
    if (net_list_parse(cfg->trusted_proxies, &app->trusted_proxies, &why) != GH_OK) {
        snprintf(err, errsz, "trusted_proxies: %s", why);
        return GH_EINVAL;
    }
    if (pthread_key_create(&app->tls_store, tls_store_close) != 0) {
        snprintf(err, errsz, "cannot create thread-local storage");
        return GH_EINTERNAL;
    }
    rc = store_open(cfg->db, (flags & APP_INIT) ? STORE_CREATE : 0, &app->store, err, errsz);
    if (rc != GH_OK)
        goto fail;
    if ((rc = sec_load(cfg->keys_dir, flags & APP_INIT, &app->secrets, err, errsz)) != GH_OK)
        goto fail;
    if (!(flags & APP_NO_KEYS)) {
        struct keyring *kr = NULL;

        if ((rc = load_keys(app, flags, &kr, err, errsz)) != GH_OK)
            goto fail;
        app->keys = kr;
    }
    app->issuer_keys = issuer_keys_new(cfg->issuer_jwks_cache_ttl,
        cfg->issuer_jwks_refetch_interval, GH_ISSUER_FETCH_TIMEOUT_MS);
    /* fixed tables; pages no key touches cost nothing (calloc) */
    app->client_rates = rl_table_new(GH_CLIENT_RATE_SLOTS);
    app->client_auth_fails = rl_table_new(GH_CLIENT_AUTH_IP_SLOTS);
    return GH_OK;
fail:
    app_close(app);
    return rc;
}

void
app_close(struct app *app)
{
    struct store *mine;

    if (!app->cfg)
        return;
    /* the calling thread's own worker handle, if it made one */
    mine = pthread_getspecific(app->tls_store);
    if (mine) {
        pthread_setspecific(app->tls_store, NULL);
        store_close(mine);
    }
    pthread_key_delete(app->tls_store);
    keys_ring_free(app->keys);
    issuer_keys_free(app->issuer_keys);
    rl_table_free(app->client_rates);
    rl_table_free(app->client_auth_fails);
    sec_free(app->secrets);
    store_close(app->store);
    free(app->issuer);
    memset(app, 0, sizeof(*app));
}

struct store *
app_store(struct app *app)
{
    static _Atomic int64_t logged;   /* when the last failure was logged */
    struct store *st = pthread_getspecific(app->tls_store);
    int64_t now, prev;
    char err[256];

    if (st)
        return st;
    if (store_open(app->cfg->db, STORE_WORKER, &st, err, sizeof(err)) != GH_OK) {
        /* each request on this thread tries again: one line a minute, not one a request */
        now = clock_now();
        prev = atomic_load(&logged);
        if (now - prev >= 60 && atomic_compare_exchange_strong(&logged, &prev, now))
            log_err("store_open", "thread store: %s (this line repeats at most once a minute)",
                err);
        return NULL;
    }
    pthread_setspecific(app->tls_store, st);
    return st;
}

int
app_store_sync(struct app *app, uint64_t ticket)
{
    struct store *st = app_store(app);

    return st ? store_sync_wait(st, ticket) : GH_ESTORE;
}

void
app_pw_params(const struct app *app, struct pw_params *pp)
{
    pp->m_kib = app->cfg->argon2_memory_kib;
    pp->t = app->cfg->argon2_iterations;
    pp->p = app->cfg->argon2_parallelism;
}

void
app_throttle_policy(const struct app *app, struct throttle_policy *tp)
{
    tp->free = app->cfg->login_free_failures;
    tp->max_delay = app->cfg->login_max_delay;
    tp->lock_failures = app->cfg->login_lock_failures;
    tp->lock_time = app->cfg->login_lock_time;
    tp->ip_failures = app->cfg->login_ip_failures;
}
