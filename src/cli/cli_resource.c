/* cli_resource.c — `gatehouse resource …`: add, list, show, delete, allow, disallow. A
 * resource is an API that accepts gatehouse access tokens (RFC 8707 resource indicators); its
 * identifier becomes the aud of the tokens a client obtains for it with client_credentials,
 * and `allow` decides which confidential clients may obtain them and with which of the
 * resource's scopes. The rules are model/resource.c's; this file parses arguments and prints.
 * JSON output: {"id","name","scopes":[…],"created_at","clients":[{"client_id","scopes":[…]}]}
 * for one resource, an array of those for the list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "cli/cli.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "model/resource.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/str.h"

#define ERR_MAX 512

/* Quote at most QUOTE_MAX bytes of an identifier in a message, then "…": an identifier may be
 * 2048 bytes long, a message is one line. Use as "%.*s%s", QUOTE(s). */
#define QUOTE_MAX 96
#define QUOTE(s) quote_len(s), (s), (strnlen((s), QUOTE_MAX + 1) > QUOTE_MAX ? "…" : "")

static int
quote_len(const char *s)
{
    return (int)strnlen(s, QUOTE_MAX);
}

static json_t *
str_array(char *const *list)
{
    json_t *a = json_array();

    for (size_t i = 0; list && list[i]; i++)
        json_array_append_new(a, json_string(list[i]));
    return a;
}

/* A space-separated scope column as a JSON array. */
static json_t *
scope_array(const char *scope)
{
    json_t *a = json_array();

    for (const char *p = scope; p && *p;) {
        size_t n = strcspn(p, " ");
        if (n)
            json_array_append_new(a, json_stringn(p, n));
        p += n + (p[n] == ' ');
    }
    return a;
}

static json_t *
resource_json(const struct resource *r, const struct resource_client *cl, size_t ncl)
{
    char t[32];
    json_t *clients = json_array();

    for (size_t i = 0; i < ncl; i++)
        json_array_append_new(clients, json_pack("{s:s, s:o}", "client_id", cl[i].client_id,
                                           "scopes", scope_array(cl[i].scope)));
    return json_pack("{s:s, s:s, s:o, s:s, s:o}", "id", r->id, "name", r->name, "scopes",
        str_array(r->scopes), "created_at", cli_time(r->created_at, t, sizeof(t)), "clients",
        clients);
}

/* --scopes LIST: comma- or space-separated, or absent (none). Too many or over-long items are
 * usage errors, as for `client add`; what the items may be is the model's rule. */
static int
scopes_opt(struct cli_ctx *ctx, char ***out)
{
    const char *v = cli_opt(ctx, "scopes");
    int r;

    *out = NULL;
    if (!v)
        return CLI_OK;
    r = str_split(v, GH_MAX_SCOPES, GH_MAX_SCOPE_LEN, out);
    if (r == GH_ETOOBIG)
        return cli_usage(ctx, "--scopes: at most %d scopes", GH_MAX_SCOPES);
    if (r != GH_OK)
        return cli_usage(ctx, "--scopes: a scope is longer than %d bytes", GH_MAX_SCOPE_LEN);
    return CLI_OK;
}

static int
store_failed(struct cli_ctx *ctx, int r)
{
    return cli_fail(ctx, "%s", gh_strerror(r));
}

/* Look a resource up by the IDENTIFIER argument; "no resource" is one line, exit 1. */
static int
get_resource(struct cli_ctx *ctx, struct app *app, struct resource **out)
{
    int r = store_resource_get(app->store, ctx->pos[0], out);

    if (r == GH_ENOTFOUND)
        return cli_fail(ctx, "no resource '%.*s%s'", QUOTE(ctx->pos[0]));
    if (r != GH_OK)
        return store_failed(ctx, r);
    return CLI_OK;
}

int
cli_resource_add(struct cli_ctx *ctx)
{
    struct app app;
    struct resource_spec spec = { .id = ctx->pos[0], .name = cli_opt(ctx, "name") };
    struct resource *res = NULL;
    char **scopes = NULL, err[ERR_MAX], esc[LOG_ESC_SIZE];
    const char *why = NULL;
    int rc, r;

    /* refuse bad input before the database is opened; usage errors first */
    if ((rc = scopes_opt(ctx, &scopes)) != CLI_OK)
        return rc;
    if (resource_id_check(spec.id, &why) != GH_OK) {
        rc = cli_fail(ctx, "'%.*s%s' is not a valid resource identifier: %s", QUOTE(spec.id),
            why);
        goto out_nofree;
    }
    spec.scopes = scopes;
    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        goto out_nofree;
    r = resource_create(app.store, &spec, clock_now(), &res, err, sizeof(err));
    if (r != GH_OK) {
        rc = cli_fail(ctx, "%s", err);
    } else {
        if (cli_flag(ctx, "json"))
            cli_print_json(resource_json(res, NULL, 0));
        else
            printf("added resource %s\n", res->id);
        log_info("cli_resource_added", "resource=%s", log_esc(res->id, esc));
        cli_audit("resource_added", NULL, NULL, "resource", res->id, NULL);
    }
    app_close(&app);
out_nofree:
    resource_free(res);
    str_list_free(scopes);
    return rc;
}

int
cli_resource_list(struct cli_ctx *ctx)
{
    struct app app;
    struct resource **list = NULL;
    json_t *arr = NULL;
    size_t n = 0;
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_resource_list(app.store, &list, &n)) != GH_OK) {
        rc = store_failed(ctx, r);
        goto out;
    }
    if (cli_flag(ctx, "json"))
        arr = json_array();
    else
        printf("%-40s %-24s %-30s %s\n", "IDENTIFIER", "NAME", "SCOPES", "CLIENTS");
    for (size_t i = 0; i < n; i++) {
        struct resource_client *cl = NULL;
        size_t ncl = 0;
        char *scopes;

        if ((r = store_resource_clients(app.store, list[i]->id, &cl, &ncl)) != GH_OK) {
            rc = store_failed(ctx, r);
            goto out;
        }
        if (arr) {
            json_array_append_new(arr, resource_json(list[i], cl, ncl));
        } else {
            scopes = str_list_join(list[i]->scopes, " ");
            printf("%-40s %-24s %-30s %zu\n", list[i]->id, list[i]->name, *scopes ? scopes : "-",
                ncl);
            free(scopes);
        }
        resource_client_list_free(cl, ncl);
    }
    if (arr) {
        cli_print_json(arr);
        arr = NULL;
    }
out:
    json_decref(arr);
    resource_list_free(list, n);
    app_close(&app);
    return rc;
}

int
cli_resource_show(struct cli_ctx *ctx)
{
    struct app app;
    struct resource *res = NULL;
    struct resource_client *cl = NULL;
    size_t ncl = 0;
    char t[32], *scopes = NULL;
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((rc = get_resource(ctx, &app, &res)) != CLI_OK)
        goto out;
    if ((r = store_resource_clients(app.store, res->id, &cl, &ncl)) != GH_OK) {
        rc = store_failed(ctx, r);
        goto out;
    }
    if (cli_flag(ctx, "json")) {
        cli_print_json(resource_json(res, cl, ncl));
        goto out;
    }
    scopes = str_list_join(res->scopes, " ");
    printf("%-12s %s\n%-12s %s\n%-12s %s\n%-12s %s\n%-12s %zu\n", "identifier:", res->id,
        "name:", res->name, "scopes:", *scopes ? scopes : "-", "created:",
        cli_time(res->created_at, t, sizeof(t)), "clients:", ncl);
    for (size_t i = 0; i < ncl; i++)
        printf("  %-24s %s\n", cl[i].client_id, *cl[i].scope ? cl[i].scope : "(no scopes)");
out:
    free(scopes);
    resource_client_list_free(cl, ncl);
    resource_free(res);
    app_close(&app);
    return rc;
}

int
cli_resource_delete(struct cli_ctx *ctx)
{
    struct app app;
    char esc[LOG_ESC_SIZE];
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_resource_delete(app.store, ctx->pos[0])) != GH_OK) {
        rc = r == GH_ENOTFOUND ? cli_fail(ctx, "no resource '%.*s%s'", QUOTE(ctx->pos[0]))
                               : store_failed(ctx, r);
    } else {
        printf("deleted resource %s\n", ctx->pos[0]);
        log_info("cli_resource_deleted", "resource=%s", log_esc(ctx->pos[0], esc));
        cli_audit("resource_deleted", NULL, NULL, "resource", ctx->pos[0], NULL);
    }
    app_close(&app);
    return rc;
}

int
cli_resource_allow(struct cli_ctx *ctx)
{
    struct app app;
    char **scopes = NULL, *granted = NULL, err[ERR_MAX], esc[LOG_ESC_SIZE], esc2[LOG_ESC_SIZE];
    const char *id = ctx->pos[0], *client_id = ctx->pos[1];
    int rc, r;

    if ((rc = scopes_opt(ctx, &scopes)) != CLI_OK)
        return rc;
    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        goto out_nofree;
    r = resource_allow_client(app.store, id, client_id, scopes, clock_now(), &granted, err,
        sizeof(err));
    if (r != GH_OK) {
        rc = cli_fail(ctx, "%s", err);
    } else {
        printf("client %s may now obtain tokens for %s with scopes: %s\n", client_id, id,
            *granted ? granted : "(no scopes)");
        log_info("cli_resource_allowed", "resource=%s client=%s", log_esc(id, esc),
            log_esc(client_id, esc2));
        cli_audit("resource_allowed", NULL, client_id, "resource", id, "scope", granted, NULL);
    }
    app_close(&app);
out_nofree:
    free(granted);
    str_list_free(scopes);
    return rc;
}

int
cli_resource_disallow(struct cli_ctx *ctx)
{
    struct app app;
    struct resource *res = NULL;
    char esc[LOG_ESC_SIZE], esc2[LOG_ESC_SIZE];
    const char *id = ctx->pos[0], *client_id = ctx->pos[1];
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    r = store_resource_disallow(app.store, id, client_id);
    if (r == GH_OK) {
        printf("client %s may no longer obtain tokens for %s\n", client_id, id);
        log_info("cli_resource_disallowed", "resource=%s client=%s", log_esc(id, esc),
            log_esc(client_id, esc2));
        cli_audit("resource_disallowed", NULL, client_id, "resource", id, NULL);
    } else if (r != GH_ENOTFOUND) {
        rc = store_failed(ctx, r);
    } else if (get_resource(ctx, &app, &res) != CLI_OK) {
        rc = CLI_FAIL;   /* "no resource …" printed */
    } else {
        rc = cli_fail(ctx, "client '%.*s%s' was not allowed to obtain tokens for '%.*s%s'",
            QUOTE(client_id), QUOTE(id));
    }
    resource_free(res);
    app_close(&app);
    return rc;
}
