/* cli_key.c — `gatehouse keys list|generate`. Key files are written before their store row,
 * and removed again if the row cannot be written, so the store never names a missing file. */
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

/* The newest key of an alg signs (keys.h keys_ring_signer); list is oldest first. */
static bool
is_signer(const struct key_meta *list, size_t n, size_t i)
{
    for (size_t k = i + 1; k < n; k++) {
        if (str_eq(list[k].alg, list[i].alg))
            return false;
    }
    return true;
}

int
cli_keys_list(struct cli_ctx *ctx)
{
    struct app app;
    struct key_meta *list = NULL;
    size_t n = 0;
    char t[32];
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_key_list(app.store, &list, &n)) != GH_OK) {
        rc = cli_fail(ctx, "%s", gh_strerror(r));
    } else if (cli_flag(ctx, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b}", "kid", list[i].kid,
                "alg", list[i].alg, "created_at", cli_time(list[i].created_at, t, sizeof(t)),
                "signing", is_signer(list, n, i)));
        cli_print_json(arr);
    } else {
        printf("%-44s %-6s %-21s %s\n", "KID", "ALG", "CREATED", "STATE");
        for (size_t i = 0; i < n; i++)
            printf("%-44s %-6s %-21s %s\n", list[i].kid, list[i].alg,
                cli_time(list[i].created_at, t, sizeof(t)),
                is_signer(list, n, i) ? "signing" : "published");
    }
    store_key_list_free(list, n);
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
    if ((r = keys_generate(ctx->cfg.keys_dir, alg, kid, err, sizeof(err))) != GH_OK) {
        rc = cli_fail(ctx, "%s", err);
    } else if ((r = store_key_add(app.store, kid, keys_alg_name(alg), clock_now())) != GH_OK) {
        keys_remove_file(ctx->cfg.keys_dir, kid);
        rc = cli_fail(ctx, "%s: cannot record the key: %s", ctx->cfg.db, gh_strerror(r));
    } else {
        if (cli_flag(ctx, "json"))
            cli_print_json(json_pack("{s:s, s:s}", "kid", kid, "alg", keys_alg_name(alg)));
        else
            printf("generated %s key %s\n", keys_alg_name(alg), kid);
    }
    app_close(&app);
    return rc;
}
