/* cli_key.c — `gatehouse keys list|rotate|retire|generate`. New keys are made by app_key_new:
 * with a PostgreSQL database sealed into the store row (no file), otherwise a file written
 * before its row and removed again if the row cannot be written, so the store never names a
 * missing file. A rotation adds its key only if no other process added one of its alg since the
 * list was read (two hosts rotating at once add one key, not two). A key's state (next, active,
 * retired, removed) is never stored: it follows from its dates and the time (crypto/keys.h
 * keys_state_at), so the CLI and a running server agree without talking to each other; the
 * server re-reads the list every key_poll_interval seconds or on SIGHUP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "cli/cli.h"
#include "core/err.h"
#include "core/log.h"
#include "crypto/keys.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/str.h"

/* The store's keys with their states at now: refs (kids borrowed from *list) and states. */
struct keyview {
    struct key_meta *list;
    struct key_ref *refs;
    size_t n;
    int64_t now, hold;
};

static void
keyview_free(struct keyview *kv)
{
    free(kv->refs);
    store_key_list_free(kv->list, kv->n);
    memset(kv, 0, sizeof(*kv));
}

static int
keyview_load(struct cli_ctx *ctx, struct app *app, struct keyview *kv)
{
    char err[256];
    int r;

    memset(kv, 0, sizeof(*kv));
    kv->now = clock_now();
    kv->hold = app_key_hold(&ctx->cfg);
    if ((r = store_key_list(app->store, &kv->list, &kv->n)) != GH_OK)
        return cli_fail(ctx, "%s: cannot list signing keys: %s", ctx->cfg.db, gh_strerror(r));
    if (!(kv->refs = app_key_refs(kv->list, kv->n, err, sizeof(err)))) {
        keyview_free(kv);
        return cli_fail(ctx, "%s: %s", ctx->cfg.db, err);
    }
    return CLI_OK;
}

static enum key_state
keyview_state(const struct keyview *kv, size_t i, struct key_dates *d)
{
    return keys_state_at(kv->refs, kv->n, i, kv->now, kv->hold, d);
}

/* A date for JSON: RFC 3339 text, or null when nothing is scheduled (0). */
static json_t *
json_date(int64_t t)
{
    char b[32];

    return t ? json_string(cli_time(t, b, sizeof(b))) : json_null();
}

int
cli_keys_list(struct cli_ctx *ctx)
{
    struct app app;
    struct keyview kv;
    char t[4][32];
    int rc;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((rc = keyview_load(ctx, &app, &kv)) != CLI_OK)
        goto out;
    if (cli_flag(ctx, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < kv.n; i++) {
            struct key_dates d;
            enum key_state st = keyview_state(&kv, i, &d);
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b, s:s, s:o, s:o, s:o}",
                "kid", kv.list[i].kid, "alg", kv.list[i].alg, "state", keys_state_name(st),
                "signing", st == KEY_ACTIVE,
                "created_at", cli_time(kv.list[i].created_at, t[0], sizeof(t[0])),
                "activate_at", json_date(d.activate_at), "retire_at", json_date(d.retire_at),
                "remove_at", json_date(d.remove_at)));
        }
        cli_print_json(arr);
    } else {
        printf("%-43s %-5s %-7s %-20s %-20s %-20s %s\n", "KID", "ALG", "STATE", "CREATED",
            "ACTIVE FROM", "RETIRED FROM", "REMOVED FROM");
        for (size_t i = 0; i < kv.n; i++) {
            struct key_dates d;
            enum key_state st = keyview_state(&kv, i, &d);
            printf("%-43s %-5s %-7s %-20s %-20s %-20s %s\n", kv.list[i].kid, kv.list[i].alg,
                keys_state_name(st), cli_time(kv.list[i].created_at, t[0], sizeof(t[0])),
                d.activate_at ? cli_time(d.activate_at, t[1], sizeof(t[1])) : "-",
                d.retire_at ? cli_time(d.retire_at, t[2], sizeof(t[2])) : "-",
                d.remove_at ? cli_time(d.remove_at, t[3], sizeof(t[3])) : "-");
        }
    }
    keyview_free(&kv);
out:
    app_close(&app);
    return rc;
}

/* How many keys of alg the list has (store_key_insert's alg_keys). */
static int64_t
keyview_count(const struct keyview *kv, enum key_alg alg)
{
    int64_t c = 0;

    for (size_t i = 0; i < kv->n; i++)
        c += kv->refs[i].alg == alg;
    return c;
}

/* The key of alg in state st at kv->now (the first listed), or -1. */
static long
keyview_find_state(const struct keyview *kv, enum key_alg alg, enum key_state st)
{
    for (size_t i = 0; i < kv->n; i++) {
        if (kv->refs[i].alg == alg && keyview_state(kv, i, NULL) == st)
            return (long)i;
    }
    return -1;
}

int
cli_keys_rotate(struct cli_ctx *ctx)
{
    struct app app;
    struct keyview kv;
    const char *alg_s = cli_opt(ctx, "alg");
    bool want[KEY_ALG_COUNT] = { false }, any = false;
    json_t *made = NULL;
    char err[512], when[32];
    int rc;

    if (alg_s) {
        enum key_alg a;
        if (keys_alg_parse(alg_s, &a) != GH_OK)
            return cli_usage(ctx, "--alg '%s' is not RS256, ES256 or PS256", alg_s);
        want[a] = true;
    }
    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((rc = keyview_load(ctx, &app, &kv)) != CLI_OK)
        goto out;
    /* default: every alg that has a key that signs now */
    for (int a = 0; !alg_s && a < KEY_ALG_COUNT; a++)
        want[a] = keyview_find_state(&kv, (enum key_alg)a, KEY_ACTIVE) >= 0;
    /* one next key per alg: a second would only shorten the first one's turn */
    for (int a = 0; a < KEY_ALG_COUNT; a++) {
        long i;
        if (!want[a] || (i = keyview_find_state(&kv, (enum key_alg)a, KEY_NEXT)) < 0)
            continue;
        rc = cli_fail(ctx, "%s already has a next key, %s, signing from %s; wait until then "
            "or retire it (keys retire %s)", keys_alg_name((enum key_alg)a), kv.list[i].kid,
            cli_time(kv.refs[i].activate_at, when, sizeof(when)), kv.list[i].kid);
        goto done;
    }
    made = json_array();
    for (int a = 0; a < KEY_ALG_COUNT; a++) {
        const char *name = keys_alg_name((enum key_alg)a);
        char kid[KEYS_KID_MAX + 1];
        int64_t at;

        if (!want[a])
            continue;
        any = true;
        if (app_key_rotate(&app, name, kv.now, keyview_count(&kv, (enum key_alg)a), kid,
                sizeof(kid), &at, err, sizeof(err)) != GH_OK) {
            rc = cli_fail(ctx, "%s", err);
            goto done;
        }
        cli_audit("key_rotated", NULL, NULL, "kid", kid, "alg", name, NULL);
        if (cli_flag(ctx, "json"))
            json_array_append_new(made, json_pack("{s:s, s:s, s:s, s:o}", "kid", kid, "alg",
                name, "state", "next", "activate_at", json_date(at)));
        else
            printf("next %s key %s: published now, signs from %s\n", name, kid,
                cli_time(at, when, sizeof(when)));
    }
    if (!any) {
        rc = cli_fail(ctx, "no algorithm has a signing key to rotate (run: gatehouse init)");
        goto done;
    }
    if (cli_flag(ctx, "json")) {
        cli_print_json(made);
        made = NULL;
    }
done:
    json_decref(made);
    keyview_free(&kv);
out:
    app_close(&app);
    return rc;
}

int
cli_keys_retire(struct cli_ctx *ctx)
{
    struct app app;
    struct keyview kv;
    const char *kid = ctx->pos[0];
    struct key_dates d;
    enum key_state st;
    long idx = -1;
    bool signer = false;
    char when[32];
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((rc = keyview_load(ctx, &app, &kv)) != CLI_OK)
        goto out;
    for (size_t i = 0; i < kv.n && idx < 0; i++) {
        if (str_eq(kv.list[i].kid, kid))
            idx = (long)i;
    }
    if (idx < 0) {
        rc = cli_fail(ctx, "no signing key %s (see: gatehouse keys list)", kid);
        goto done;
    }
    st = keyview_state(&kv, (size_t)idx, &d);
    if (st == KEY_RETIRED || st == KEY_REMOVED) {
        rc = cli_fail(ctx, "%s is already %s", kid, keys_state_name(st));
        goto done;
    }
    /* what the states would be: some other key of its alg must sign now */
    kv.refs[idx].retire_at = kv.now;
    for (size_t i = 0; i < kv.n && !signer; i++)
        signer = kv.refs[i].alg == kv.refs[idx].alg && keyview_state(&kv, i, NULL) == KEY_ACTIVE;
    if (!signer) {
        long nx = keyview_find_state(&kv, kv.refs[idx].alg, KEY_NEXT);
        if (nx >= 0)
            rc = cli_fail(ctx, "%s is the only key that can sign %s now; retire it after %s "
                "(when the next key %s signs)", kid, kv.list[idx].alg,
                cli_time(kv.refs[nx].activate_at, when, sizeof(when)), kv.list[nx].kid);
        else
            rc = cli_fail(ctx, "%s is the only key that can sign %s now; run `gatehouse keys "
                "rotate --alg %s` and retire it once the new key signs", kid,
                kv.list[idx].alg, kv.list[idx].alg);
        goto done;
    }
    if ((r = store_key_retire(app.store, kid, kv.now)) != GH_OK) {
        rc = cli_fail(ctx, "%s: cannot retire %s: %s", ctx->cfg.db, kid, gh_strerror(r));
        goto done;
    }
    keyview_state(&kv, (size_t)idx, &d);
    printf("retired %s key %s: published until %s\n", kv.list[idx].alg, kid,
        cli_time(d.remove_at, when, sizeof(when)));
    cli_audit("key_retired", NULL, NULL, "kid", kid, "alg", kv.list[idx].alg, NULL);
done:
    keyview_free(&kv);
out:
    app_close(&app);
    return rc;
}

int
cli_keys_generate(struct cli_ctx *ctx)
{
    struct app app;
    const char *alg_s = cli_opt(ctx, "alg");
    enum key_alg alg;
    char kid[KEYS_KID_MAX + 1], err[512];
    int rc, r;

    if (!alg_s)
        return cli_usage(ctx, "--alg RS256|ES256|PS256 is required");
    if (keys_alg_parse(alg_s, &alg) != GH_OK)
        return cli_usage(ctx, "--alg '%s' is not RS256, ES256 or PS256", alg_s);
    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = app_key_new(&app, keys_alg_name(alg), clock_now(), 0, STORE_KEY_ANY, kid,
             sizeof(kid), err, sizeof(err))) != GH_OK) {
        rc = cli_fail(ctx, "%s", err);
    } else {
        if (cli_flag(ctx, "json"))
            cli_print_json(json_pack("{s:s, s:s}", "kid", kid, "alg", keys_alg_name(alg)));
        else
            printf("generated %s key %s\n", keys_alg_name(alg), kid);
        cli_audit("key_generated", NULL, NULL, "kid", kid, "alg", keys_alg_name(alg), NULL);
    }
    app_close(&app);
    return rc;
}
