/* cli_reload.c — serve's reloader (issue 5: staged key rotation, SIGHUP). Which key signs is
 * decided per token by time (crypto/keys.h keys_ring_signer), so a scheduled activation needs no
 * reload; what does need one is a change of the published set: a key added by `keys rotate` in
 * another process, a key retired by hand, a retired key reaching its removal date, or templates
 * edited on disk. The reloader builds a new ring and a new document set off to the side,
 * publishes them with two atomic stores (documents first, so a key never signs before the JWKS
 * the server hands out names it), and keeps the replaced pair for GH_RELOAD_GRACE_S before
 * freeing it: a request reads app->keys or app->docs once per use and is long finished by then.
 * Document bodies still queued on slow keep-alive connections are reference-counted by their
 * MHD responses (http/resp.c), so they outlive the grace period when needed. Automatic rotation
 * (key_rotation_interval) adds a next key for an alg whose active key has signed that long and
 * that has no next key yet; the next key signs cache_max_age + GH_KEY_ROTATE_MARGIN_S later.
 * With a database several instances share (PostgreSQL), every instance runs this: the key is
 * added only if no other instance added one of its alg since the list was read
 * (store_key_insert), so instances rotating at the same moment add one key between them, and
 * the others load it from the database at their next poll (key_poll_interval <= GH_KEY_POLL_S
 * < GH_KEY_ROTATE_MARGIN_S: every instance publishes a next key before it signs).
 * Runs on serve's main thread only: no locking. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli/cli_reload.h"
#include "core/audit.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/keys.h"
#include "ep/ep.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

#define GRAVE_MAX 64  /* replaced generations kept at once; beyond that, reloads are refused */

struct grave {
    struct keyring *keys;
    struct ep_docs *docs;
    int64_t since_us;  /* clock_mono_us() when replaced */
};

struct reloader {
    struct app *app;
    char *list_sig;          /* the store's key list when the ring was built */
    int64_t next_change;     /* the ring's next state change (0: none), wall seconds */
    struct grave grave[GRAVE_MAX];
    size_t ngrave;
};

/* "kid alg activate_at retire_at;" for every listed key: any change a reload must see. NULL
 * when the store cannot be read (logged). */
static char *
list_signature(struct app *app, struct key_meta **metas_out, size_t *n_out)
{
    struct key_meta *metas = NULL;
    size_t n = 0;
    struct buf b;
    char line[200];
    int rc;

    *metas_out = NULL;
    *n_out = 0;
    if ((rc = store_key_list(app->store, &metas, &n)) != GH_OK) {
        log_err("keys_reload", "cannot list signing keys: %s", gh_strerror(rc));
        return NULL;
    }
    buf_init(&b, (size_t)GH_MAX_KEYS * 4 * sizeof(line));
    for (size_t i = 0; i < n; i++) {
        snprintf(line, sizeof(line), "%s %s %lld %lld;", metas[i].kid, metas[i].alg,
            (long long)metas[i].activate_at, (long long)metas[i].retire_at);
        if (buf_addstr(&b, line) != GH_OK)
            break; /* over any sane list: the signature is truncated, still compared */
    }
    *metas_out = metas;
    *n_out = n;
    if (b.len == 0)
        buf_addstr(&b, "-");
    return buf_steal(&b);
}

static void
bury_free(struct grave *g)
{
    ep_docs_free(g->docs);
    keys_ring_free(g->keys);
    memset(g, 0, sizeof(*g));
}

/* Free replaced generations older than the grace period (all of them when all is set). */
static void
sweep(struct reloader *rl, bool all)
{
    int64_t now = clock_mono_us();
    size_t k = 0;

    for (size_t i = 0; i < rl->ngrave; i++) {
        if (all || now - rl->grave[i].since_us >= (int64_t)GH_RELOAD_GRACE_S * 1000000)
            bury_free(&rl->grave[i]);
        else
            rl->grave[k++] = rl->grave[i];
    }
    rl->ngrave = k;
}

struct reloader *
cli_reload_new(struct app *app)
{
    struct reloader *rl = x_calloc(1, sizeof(*rl));
    struct key_meta *metas = NULL;
    size_t n = 0;

    rl->app = app;
    rl->list_sig = list_signature(app, &metas, &n);
    store_key_list_free(metas, n);
    rl->next_change = keys_ring_next_change(app->keys, clock_now());
    if (app->cfg->key_rotation_interval &&
        app->cfg->key_rotation_interval < app_key_lead(app->cfg))
        log_warn("keys_rotation", "key_rotation_interval=%u is shorter than cache_max_age + %d s: "
            "every key will be replaced as soon as it signs", app->cfg->key_rotation_interval,
            GH_KEY_ROTATE_MARGIN_S);
    return rl;
}

void
cli_reload_free(struct reloader *rl)
{
    if (!rl)
        return;
    sweep(rl, true);
    free(rl->list_sig);
    free(rl);
}

/* Build a new ring and documents and publish them. */
static void
reload(struct reloader *rl, const char *why)
{
    struct app *app = rl->app;
    struct keyring *kr = NULL, *old_keys;
    struct ep_docs *docs = NULL, *old_docs;
    struct key_meta *metas = NULL;
    size_t n = 0;
    char err[512], *sig;
    int64_t t0 = clock_mono_us();

    sweep(rl, false);
    if (rl->ngrave == GRAVE_MAX) {
        log_err("reload", "why=%s refused: %d reloads within %d s", why, GRAVE_MAX,
            GH_RELOAD_GRACE_S);
        return;
    }
    sig = list_signature(app, &metas, &n);
    store_key_list_free(metas, n);
    if (!sig)
        return;
    if (app_keys_load(app, &kr, err, sizeof(err)) != GH_OK ||
        ep_docs_new(app, kr, &docs, err, sizeof(err)) != GH_OK) {
        log_err("reload", "why=%s failed, still serving the previous keys and pages: %s", why,
            err);
        keys_ring_free(kr);
        free(sig);
        return;
    }
    old_docs = app->docs;
    old_keys = app->keys;
    app->docs = docs;  /* atomic stores (struct app): documents first, see the file comment */
    app->keys = kr;
    rl->grave[rl->ngrave++] = (struct grave){ old_keys, old_docs, clock_mono_us() };
    free(rl->list_sig);
    rl->list_sig = sig;
    rl->next_change = keys_ring_next_change(kr, clock_now());
    log_info("reload", "why=%s keys=%zu ms=%lld", why, keys_ring_count(kr),
        (long long)((clock_mono_us() - t0) / 1000));
}

/* key_rotation_interval: a next key for each alg whose active key has signed that long and
 * that has none yet. true if a key was added. */
static bool
auto_rotate(struct reloader *rl)
{
    struct app *app = rl->app;
    struct key_meta *metas = NULL;
    struct key_ref *refs = NULL;
    size_t n = 0;
    int64_t now = clock_now(), hold = app_key_hold(app->cfg);
    bool added = false;
    char err[512];
    int rc;

    if (!app->cfg->key_rotation_interval)
        return false;
    if ((rc = store_key_list(app->store, &metas, &n)) != GH_OK) {
        log_err("keys_rotation", "cannot list signing keys: %s", gh_strerror(rc));
        return false;
    }
    if (!(refs = app_key_refs(metas, n, err, sizeof(err)))) {
        log_err("keys_rotation", "%s", err);
        goto out;
    }
    for (int a = 0; a < KEY_ALG_COUNT; a++) {
        int64_t active_since = -1, at, count = 0;
        bool has_next = false;
        char kid[KEYS_KID_MAX + 1];

        for (size_t i = 0; i < n; i++) {
            enum key_state st;
            if (refs[i].alg != (enum key_alg)a)
                continue;
            count++;
            st = keys_state_at(refs, n, i, now, hold, NULL);
            if (st == KEY_NEXT)
                has_next = true;
            else if (st == KEY_ACTIVE) /* a key that signs at once (activate_at 0): created */
                active_since = refs[i].activate_at ? refs[i].activate_at : refs[i].created_at;
        }
        if (active_since < 0 || has_next ||
            now - active_since < (int64_t)app->cfg->key_rotation_interval)
            continue;
        rc = app_key_rotate(app, keys_alg_name((enum key_alg)a), now, count, kid, sizeof(kid),
            &at, err, sizeof(err));
        if (rc == GH_EEXIST) {
            /* another instance of the realm rotated first: its key is the next one, and the
             * key list poll loads it */
            log_info("keys_rotation", "alg=%s another instance added the next key first",
                keys_alg_name((enum key_alg)a));
            added = true;
            continue;
        }
        if (rc != GH_OK) {
            log_err("keys_rotation", "alg=%s %s", keys_alg_name((enum key_alg)a), err);
            continue;
        }
        log_info("key_rotated", "alg=%s kid=%s activate_at=%lld automatic=1",
            keys_alg_name((enum key_alg)a), kid, (long long)at);
        audit_event(&(struct audit_src){ 0 }, "key_rotated", NULL, NULL, "kid", kid, "alg",
            keys_alg_name((enum key_alg)a), "automatic", "true", (const char *)NULL);
        added = true;
    }
out:
    free(refs);
    store_key_list_free(metas, n);
    return added;
}

void
cli_reload_now(struct reloader *rl)
{
    auto_rotate(rl);
    reload(rl, "sighup");
}

void
cli_reload_tick(struct reloader *rl)
{
    struct key_meta *metas = NULL;
    size_t n = 0;
    char *sig;

    sweep(rl, false);
    if (auto_rotate(rl)) {
        reload(rl, "rotation");
        return;
    }
    if (rl->next_change && clock_now() >= rl->next_change) {
        reload(rl, "key_state");
        return;
    }
    if (!(sig = list_signature(rl->app, &metas, &n)))
        return;
    store_key_list_free(metas, n);
    if (!rl->list_sig || !str_eq(sig, rl->list_sig))
        reload(rl, "key_list");
    free(sig);
}
