/* cli_db.c — `gatehouse init`: create or migrate the data location, record the issuer, and
 * (with --demo) make sure the demo user and client exist (cli_demo.c); `gatehouse db check`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "cli/cli.h"
#include "cli/cli_demo.h"
#include "core/err.h"
#include "crypto/keys.h"
#include "ep/demo.h"
#include "store/store.h"
#include "util/str.h"
#include "util/xmem.h"

/* init --demo: the demo user and client for the issuer given, configured or recorded, else the
 * one `make run` serves as (cli_demo.c does the work; serve --demo repeats it for the issuer it
 * actually serves as). */
static int
demo_init(struct cli_ctx *ctx, struct app *app, const char *issuer)
{
    struct cli_demo d;
    char *recorded = NULL, home[4200];
    int rc;

    if (!issuer)
        issuer = ctx->cfg.issuer;
    if (!issuer && store_meta_get(app->store, "issuer", &recorded) == GH_OK)
        issuer = recorded;
    if (!issuer)
        issuer = DEMO_DEFAULT_ISSUER;
    if ((rc = cli_demo_ensure(ctx, app, issuer, &d)) == CLI_OK) {
        ep_demo_url(issuer, DEMO_PATH, home, sizeof(home));
        printf("demo user: %s / %s (the password is kept in %s)\n", DEMO_USERNAME, d.password,
            d.file);
        printf("demo app: public client %s%s\n", DEMO_CLIENT_ID,
            d.client_changed ? " registered" : " exists");
        printf("Run `gatehouse serve --demo`, open %s and sign in as %s.\n", home,
            DEMO_USERNAME);
        cli_demo_clear(&d);
    }
    free(recorded);
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
    if (app.kek) {
        char kbuf[4200];
        printf("key-encryption key %s: %s\n", app_kek_path(&ctx->cfg, kbuf, sizeof(kbuf)),
            app.kek_created ? "created" : "existing");
    }
    if (store_key_list(app.store, &keys, &nkeys) == GH_OK) {
        for (size_t i = 0; i < nkeys; i++)
            printf("signing key %s %s\n", keys[i].alg, keys[i].kid);
    }
    if (issuer)
        printf("issuer: %s\n", issuer);
    rc = cli_flag(ctx, "demo") ? demo_init(ctx, &app, issuer) : CLI_OK;
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
