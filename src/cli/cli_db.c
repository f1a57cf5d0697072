/* cli_db.c — `gatehouse init`: create or migrate the data location, record the issuer, and
 * (with --demo) create a demo user and client exactly once; `gatehouse db check`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "cli/cli.h"
#include "core/err.h"
#include "crypto/keys.h"
#include "crypto/pw.h"
#include "crypto/rnd.h"
#include "model/client.h"
#include "model/user.h"
#include "store/store.h"
#include "util/str.h"
#include "util/xmem.h"

#define DEMO_USER "demo"
#define DEMO_CLIENT "demo-app"
#define DEMO_REDIRECT "http://127.0.0.1:8081/callback"

static int
demo_create(struct cli_ctx *ctx, struct app *app)
{
    struct pw_params pp;
    struct pw_policy pol = { .min_len = ctx->cfg.password_min_length };
    struct user *u = NULL;
    struct client *c = NULL;
    char *password = NULL, *secret = NULL;
    char *uris[] = { DEMO_REDIRECT, NULL };
    const char *why = NULL;
    int rc = CLI_FAIL, r;
    bool made = false;

    app_pw_params(app, &pp);
    r = store_user_get(app->store, DEMO_USER, &u);
    if (r == GH_ENOTFOUND) {
        if (!(password = rnd_token(18)))
            goto out;
        r = user_create(app->store, &pp, &pol, DEMO_USER, NULL, "Demo User", password,
            strlen(password), NULL, &why);
        if (r != GH_OK) {
            cli_fail(ctx, "cannot create the demo user: %s", why ? why : gh_strerror(r));
            goto out;
        }
        printf("demo user:   %s / %s\n", DEMO_USER, password);
        made = true;
    } else if (r != GH_OK) {
        cli_fail(ctx, "%s", gh_strerror(r));
        goto out;
    }
    r = store_client_get(app->store, DEMO_CLIENT, &c);
    if (r == GH_ENOTFOUND) {
        struct client_spec spec = {
            .client_id = DEMO_CLIENT,
            .name = "Demo application",
            .redirect_uris = uris,
        };
        r = client_create(app->store, app->secrets, &spec, &secret, &why);
        if (r != GH_OK) {
            cli_fail(ctx, "cannot create the demo client: %s", why ? why : gh_strerror(r));
            goto out;
        }
        printf("demo client: %s / %s (client_secret_basic, redirect URI %s)\n", DEMO_CLIENT,
            secret, DEMO_REDIRECT);
        made = true;
    } else if (r != GH_OK) {
        cli_fail(ctx, "%s", gh_strerror(r));
        goto out;
    }
    if (made)
        printf("These credentials are shown only now.\n");
    else
        printf("demo user '%s' and client '%s' exist (their credentials were printed when they "
               "were created)\n", DEMO_USER, DEMO_CLIENT);
    rc = CLI_OK;
out:
    str_wipe_free(password);
    str_wipe_free(secret);
    user_free(u);
    client_free(c);
    return rc;
}

int
cli_init(struct cli_ctx *ctx)
{
    struct app app;
    struct key_meta *keys = NULL;
    const char *issuer = cli_opt(ctx, "issuer"), *why = NULL;
    char err[512];
    struct stat st;
    size_t nkeys = 0;
    int cur = 0, sup = 0, rc;
    bool existed;

    if (issuer && cfg_issuer_check(issuer, &why) != GH_OK)
        return cli_usage(ctx, "--issuer '%s': %s", issuer, why);
    existed = stat(ctx->cfg.db, &st) == 0;
    if ((rc = app_open(&app, &ctx->cfg, APP_INIT, err, sizeof(err))) != GH_OK)
        return cli_fail(ctx, "%s", err);
    rc = CLI_FAIL;
    if (issuer && store_meta_set(app.store, "issuer", issuer) != GH_OK) {
        cli_fail(ctx, "%s: cannot record the issuer", ctx->cfg.db);
        goto out;
    }
    store_schema_version(app.store, &cur, &sup);
    printf("database %s: %s (schema %d)\n", ctx->cfg.db, existed ? "up to date" : "created", cur);
    if (store_key_list(app.store, &keys, &nkeys) == GH_OK) {
        for (size_t i = 0; i < nkeys; i++)
            printf("signing key %s %s\n", keys[i].alg, keys[i].kid);
    }
    if (issuer)
        printf("issuer: %s\n", issuer);
    rc = cli_flag(ctx, "demo") ? demo_create(ctx, &app) : CLI_OK;
out:
    store_key_list_free(keys, nkeys);
    app_close(&app);
    return rc;
}

int
cli_db_check(struct cli_ctx *ctx)
{
    struct app app;
    char *report = NULL;
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_check(app.store, true, &report)) != GH_OK)
        rc = cli_fail(ctx, "%s: the check could not run: %s", ctx->cfg.db, gh_strerror(r));
    else if (!str_eq(report, "ok")) {
        printf("%s\n", report);
        rc = cli_fail(ctx, "%s is damaged (findings above)", ctx->cfg.db);
    }
    else
        printf("%s: ok\n", ctx->cfg.db);
    free(report);
    app_close(&app);
    return rc;
}
