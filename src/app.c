/* app.c — opening a data location: database (created and migrated when asked), the realm
 * secret, and the signing keys (generated on first init, then parsed once into the key ring).
 * With a database several instances share (PostgreSQL, store_shared) neither the realm secret
 * nor the private keys are files: they are sealed (crypto/secret.h sec_kek_seal, with what they
 * are as associated data) into their store rows under the key-encryption key of kek_file, and
 * opened from there at load, so that KEK file is all the instances of a realm share.
 * Also the per-thread store handles: SQLite connections are not shared between threads, so
 * each worker opens its own on first use and it is closed when the thread exits. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
#include "util/b64url.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

static void
tls_store_close(void *p)
{
    store_close(p);
}

/* The associated data of a sealed signing key: its kid and alg, so a sealed key copied onto
 * another row (another kid, or the same key presented as another alg) does not open. */
static void
seal_aad(char *buf, size_t sz, const char *kid, const char *alg)
{
    snprintf(buf, sz, "gatehouse signing key kid=%s alg=%s", kid, alg);
}

/* The realm secret of a shared database: meta row APP_META_SECRET, the base64url text of its
 * 32 bytes sealed under the KEK with this associated data. */
static const char secret_aad[] = "gatehouse realm secret";
#define SEALED_SECRET_MAX 256   /* nonce + 32 bytes + tag is 60; anything longer is not ours */

int
app_key_seal(const struct kek *kek, const char *kid, const char *alg, const unsigned char *pem,
    size_t len, unsigned char **out, size_t *outlen)
{
    char aad[160];

    seal_aad(aad, sizeof(aad), kid, alg);
    return sec_kek_seal(kek, aad, pem, len, out, outlen);
}

int
app_key_unseal(const struct kek *kek, const struct key_meta *m, unsigned char **pem,
    size_t *len)
{
    char aad[160];

    seal_aad(aad, sizeof(aad), m->kid, m->alg);
    return sec_kek_open(kek, aad, m->sealed, m->sealed_len, pem, len);
}

int
app_secret_seal(const struct kek *kek, const struct secrets *s, char **text)
{
    unsigned char raw[SEC_RAW_LEN], *sealed = NULL;
    size_t sealed_len = 0;
    int rc;

    *text = NULL;
    sec_raw(s, raw);
    rc = sec_kek_seal(kek, secret_aad, raw, sizeof(raw), &sealed, &sealed_len);
    mem_wipe(raw, sizeof(raw));
    if (rc == GH_OK)
        *text = b64url_encode_new(sealed, sealed_len);
    free(sealed);
    return rc;
}

int
app_secret_put(struct store *st, const struct kek *kek, const struct secrets *s)
{
    char *text = NULL;
    int rc;

    if ((rc = app_secret_seal(kek, s, &text)) == GH_OK)
        rc = store_meta_add(st, APP_META_SECRET, text);
    free(text);
    return rc;
}

int
app_secret_get(struct store *st, const struct kek *kek, struct secrets **out)
{
    unsigned char sealed[SEALED_SECRET_MAX], *raw = NULL;
    size_t sealed_len = 0, len = 0;
    char *text = NULL;
    int rc;

    *out = NULL;
    if ((rc = store_meta_get(st, APP_META_SECRET, &text)) != GH_OK)
        return rc;
    rc = b64url_decode(text, strlen(text), sealed, sizeof(sealed), &sealed_len);
    free(text);
    if (rc != GH_OK)
        return GH_EDENIED;     /* not a sealed secret: opens under no KEK */
    if ((rc = sec_kek_open(kek, secret_aad, sealed, sealed_len, &raw, &len)) != GH_OK)
        return rc;
    rc = len == SEC_RAW_LEN ? sec_from_raw(raw, out) : GH_EDENIED;
    mem_wipe_free(raw, len);
    return rc;
}

const char *
app_kek_path(const struct cfg *cfg, char *buf, size_t sz)
{
    size_t dl;

    if (cfg->kek_file)
        return cfg->kek_file;
    dl = strlen(cfg->keys_dir);
    snprintf(buf, sz, "%s%s%s", cfg->keys_dir, dl && cfg->keys_dir[dl - 1] == '/' ? "" : "/",
        SEC_KEK_FILE);
    return buf;
}

/* app->kek, loaded on first use (main thread only: start-up, the CLI, serve's reloader);
 * with create, the file is made when absent (init). */
static int
kek_need(struct app *app, bool create, char *err, size_t errsz)
{
    char buf[4200], why[4400];
    const char *path;
    int rc;

    if (app->kek)
        return GH_OK;
    path = app_kek_path(app->cfg, buf, sizeof(buf));
    rc = sec_kek_load(path, create, &app->kek, &app->kek_created, why, sizeof(why));
    if (rc == GH_ENOTFOUND)
        snprintf(err, errsz, "the realm secret and signing keys are sealed in the database "
            "under a key-encryption key (--kek-file): %s; copy the file every instance of the "
            "realm uses", why);
    else if (rc != GH_OK)
        snprintf(err, errsz, "the realm secret and signing keys are sealed in the database "
            "under a key-encryption key (--kek-file): %s", why);
    return rc;
}

/* Open the sealed private key of m (app->kek loaded): *pem (caller wipes and frees). A wrong KEK,
 * a changed blob and a blob moved from another row all fail GCM's tag the same way. */
static int
kek_open(struct app *app, const struct key_meta *m, unsigned char **pem, size_t *len, char *err,
    size_t errsz)
{
    int rc = app_key_unseal(app->kek, m, pem, len);

    if (rc == GH_EDENIED)
        snprintf(err, errsz, "the key-encryption key does not open signing key %s: "
            "wrong --kek-file?", m->kid);
    else if (rc != GH_OK)
        snprintf(err, errsz, "signing key %s: cannot unseal it: %s", m->kid, gh_strerror(rc));
    return rc;
}

/* Init of a shared database: the KEK is made when absent only while the database holds
 * nothing sealed (a new realm). With a sealed secret or key a new KEK could open none of them:
 * the file of the other instances is needed, and its absence is an error. */
static int
kek_init(struct app *app, char *err, size_t errsz)
{
    struct key_meta *metas = NULL;
    char *secret = NULL;
    size_t n = 0;
    bool sealed;
    int rc;

    rc = store_meta_get(app->store, APP_META_SECRET, &secret);
    free(secret);
    sealed = rc == GH_OK;
    if (rc == GH_ENOTFOUND)
        rc = store_key_list(app->store, &metas, &n);
    if (rc != GH_OK && !sealed) {
        snprintf(err, errsz, "%s: cannot read the realm: %s", app->cfg->db, gh_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < n && !sealed; i++)
        sealed = metas[i].sealed != NULL;
    store_key_list_free(metas, n);
    /* keys/ as with a SQLite realm (0700): the default home of the KEK, and of demo.password */
    if (mkdir(app->cfg->keys_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errsz, "%s: %s", app->cfg->keys_dir, strerror(errno));
        return GH_EIO;
    }
    return kek_need(app, !sealed, err, errsz);
}

/* The realm secret of a shared database (see app_secret_get). Init makes it when there is
 * none, with store_meta_add: of two first inits at once, the second reads the first one's, and
 * with another KEK fails to open it instead of splitting the realm in two. */
static int
shared_secret(struct app *app, bool create, char *err, size_t errsz)
{
    struct secrets *fresh = NULL;
    int rc;

    if ((rc = kek_need(app, false, err, errsz)) != GH_OK)
        return rc;
    rc = app_secret_get(app->store, app->kek, &app->secrets);
    if (rc == GH_ENOTFOUND && create) {
        if ((rc = sec_generate(&fresh)) == GH_OK)
            rc = app_secret_put(app->store, app->kek, fresh);
        sec_free(fresh);
        if (rc == GH_OK || rc == GH_EEXIST)
            rc = app_secret_get(app->store, app->kek, &app->secrets);
    }
    if (rc == GH_ENOTFOUND)
        snprintf(err, errsz, "%s holds no realm secret (run: gatehouse init)", app->cfg->db);
    else if (rc == GH_EDENIED)
        snprintf(err, errsz, "the key-encryption key does not open the realm secret in %s: "
            "wrong --kek-file? (every instance of a realm needs the same file)", app->cfg->db);
    else if (rc != GH_OK)
        snprintf(err, errsz, "%s: cannot read the realm secret: %s", app->cfg->db,
            gh_strerror(rc));
    return rc;
}

int
app_key_new(struct app *app, const char *alg, int64_t now, int64_t activate_at,
    int64_t alg_keys, char *kid, size_t kidsz, char *err, size_t errsz)
{
    struct key_meta k = { 0 };
    enum key_alg a;
    unsigned char *pem = NULL;
    size_t pemlen = 0;
    char newkid[KEYS_KID_MAX + 1];
    bool file = !store_shared(app->store);
    int rc;

    if (kidsz)
        kid[0] = '\0';
    if (keys_alg_parse(alg, &a) != GH_OK) {
        snprintf(err, errsz, "unknown alg '%s'", alg);
        return GH_EINVAL;
    }
    if (file) {
        /* the file exists before its row: the store never names a missing file */
        if ((rc = keys_generate(app->cfg->keys_dir, a, newkid, err, errsz)) != GH_OK)
            return rc;
    } else {
        /* a shared database: the key is sealed into its row and never touches the disk, under
         * the KEK app_open proved by opening the realm secret with it (shared_secret): a key
         * sealed under another KEK would be one no instance of the realm could open */
        if ((rc = kek_need(app, false, err, errsz)) != GH_OK)
            return rc;
        if ((rc = keys_generate_pem(a, newkid, &pem, &pemlen, err, errsz)) != GH_OK)
            return rc;
        rc = app_key_seal(app->kek, newkid, alg, pem, pemlen, &k.sealed, &k.sealed_len);
        if (rc != GH_OK) {
            snprintf(err, errsz, "cannot seal the new %s key", alg);
            goto out;
        }
    }
    k.kid = newkid;
    k.alg = (char *)(uintptr_t)alg;
    k.created_at = now;
    k.activate_at = activate_at;
    if ((rc = store_key_insert(app->store, &k, alg_keys)) != GH_OK) {
        if (file)
            keys_remove_file(app->cfg->keys_dir, newkid);
        if (rc == GH_EEXIST)
            snprintf(err, errsz, "another process added a %s key meanwhile; nothing was added "
                "(see: gatehouse keys list)", alg);
        else
            snprintf(err, errsz, "%s: cannot record the new signing key: %s", app->cfg->db,
                gh_strerror(rc));
        goto out;
    }
    if (!file)
        log_info("key_generated", "kid=%s alg=%s sealed=1", newkid, alg);
    str_copy(kid, kidsz, newkid);
out:
    mem_wipe_free(pem, pemlen);
    free(k.sealed);
    return rc;
}

/* Init: one key for each algorithm that has none (RS256, ES256, PS256). A run that failed
 * half-way is completed by the next init; two inits at once add one key per alg between them
 * (the second finds the count changed: GH_EEXIST, and takes the first one's key). */
static int
generate_missing_keys(struct app *app, const struct key_meta *metas, size_t n, bool *made,
    char *err, size_t errsz)
{
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
        rc = app_key_new(app, name, clock_now(), 0, 0, kid, sizeof(kid), err, errsz);
        if (rc != GH_OK && rc != GH_EEXIST)
            return rc;
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

/* The private keys of the sealed rows into pems[i] (caller wipes and frees them). Keys that
 * are removed by now are skipped (keys_ring_load_pems does not load them either). */
static int
unseal_keys(struct app *app, const struct key_meta *metas, const struct key_ref *refs,
    struct key_pem *pems, size_t n, char *err, size_t errsz)
{
    int64_t now = clock_now(), hold = app_key_hold(app->cfg);
    int rc;

    for (size_t i = 0; i < n; i++) {
        unsigned char *pem = NULL;
        size_t len = 0;

        if (!metas[i].sealed || keys_state_at(refs, n, i, now, hold, NULL) == KEY_REMOVED)
            continue;
        if ((rc = kek_need(app, false, err, errsz)) != GH_OK ||
            (rc = kek_open(app, &metas[i], &pem, &len, err, errsz)) != GH_OK)
            return rc;
        pems[i].p = pem;
        pems[i].len = len;
    }
    return GH_OK;
}

static int
load_keys(struct app *app, unsigned flags, struct keyring **out, char *err, size_t errsz)
{
    struct key_meta *metas = NULL;
    struct key_ref *refs = NULL;
    struct key_pem *pems = NULL;
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
    pems = x_calloc(n ? n : 1, sizeof(*pems));
    if ((rc = unseal_keys(app, metas, refs, pems, n, err, errsz)) != GH_OK)
        goto out;
    rc = keys_ring_load_pems(app->cfg->keys_dir, refs, pems, n, app_key_hold(app->cfg), out, err,
        errsz);
out:
    for (size_t i = 0; pems && i < n; i++)
        mem_wipe_free((void *)(uintptr_t)pems[i].p, pems[i].len);
    free(pems);
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
app_key_rotate(struct app *app, const char *alg, int64_t now, int64_t alg_keys, char *kid,
    size_t kidsz, int64_t *activate_at, char *err, size_t errsz)
{
    int64_t at = now + app_key_lead(app->cfg);
    int rc;

    *activate_at = 0;
    if ((rc = app_key_new(app, alg, now, at, alg_keys, kid, kidsz, err, errsz)) == GH_OK)
        *activate_at = at;
    return rc;
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
    if (!store_shared(app->store))
        rc = sec_load(cfg->keys_dir, flags & APP_INIT, &app->secrets, err, errsz);
    else if (!(flags & APP_INIT) || (rc = kek_init(app, err, errsz)) == GH_OK)
        /* init makes the key-encryption key of a new realm, and reads an existing one */
        rc = shared_secret(app, flags & APP_INIT, err, errsz);
    if (rc != GH_OK)
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
    sec_kek_free(app->kek);
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
