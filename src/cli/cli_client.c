/* cli_client.c — `gatehouse client …`: add, list, show, delete, rotate-secret.
 * A generated secret is printed exactly once, by the command that made it; nothing else ever
 * prints a secret or its hash. JSON output uses RFC 7591 client metadata names, plus gatehouse's
 * own for what RFC 7591 has no name for (public, has_secret, consent, pkce_required,
 * signing_alg). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "cli/cli.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "model/client.h"
#include "model/issuer.h"
#include "store/store.h"
#include "util/str.h"
#include "util/xmem.h"

static json_t *
str_array(char *const *list)
{
    json_t *a = json_array();

    for (size_t i = 0; list && list[i]; i++)
        json_array_append_new(a, json_string(list[i]));
    return a;
}

static json_t *
client_json(const struct client *c)
{
    char t1[32], t2[32], *scope = str_list_join(c->scopes, " ");
    json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:o, s:o, s:o, s:s}", "client_id", c->client_id,
        "client_name", c->name, "public", c->is_public, "token_endpoint_auth_method",
        client_auth_name(c->auth_method), "redirect_uris", str_array(c->redirect_uris),
        "post_logout_redirect_uris", str_array(c->post_logout_redirect_uris), "grant_types",
        str_array(c->grant_types), "scope", scope);

    free(scope);
    if (c->jwks) {
        json_t *j = json_loads(c->jwks, JSON_REJECT_DUPLICATES, NULL);
        if (j)
            json_object_set_new(o, "jwks", j);
    }
    if (c->jwks_uri)
        json_object_set_new(o, "jwks_uri", json_string(c->jwks_uri));
    json_object_set_new(o, "has_secret", json_boolean(c->has_secret));
    json_object_set_new(o, "consent", json_boolean(c->consent));
    json_object_set_new(o, "pkce_required", json_boolean(c->pkce_required));
    json_object_set_new(o, "signing_alg", json_string(c->signing_alg));
    json_object_set_new(o, "created_at", json_string(cli_time(c->created_at, t1, sizeof(t1))));
    json_object_set_new(o, "updated_at", json_string(cli_time(c->updated_at, t2, sizeof(t2))));
    return o;
}

/* A LIST option: comma/space separated, or NULL (then the model's default applies). */
static int
list_opt(struct cli_ctx *ctx, const char *name, char ***out)
{
    const char *v = cli_opt(ctx, name);
    int r;

    *out = NULL;
    if (!v)
        return CLI_OK;
    r = str_split(v, GH_MAX_SCOPES, GH_MAX_URI, out);
    if (r != GH_OK)
        return cli_usage(ctx, "--%s: too many or too long items", name);
    return CLI_OK;
}

static int
read_file(struct cli_ctx *ctx, const char *path, size_t max, char **out)
{
    struct stat st;
    char *buf = NULL;
    ssize_t got;
    int fd;

    *out = NULL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return cli_fail(ctx, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        return cli_fail(ctx, "%s: not a regular file of at most %zu bytes", path, max);
    }
    buf = x_malloc((size_t)st.st_size + 1);
    got = read(fd, buf, (size_t)st.st_size);
    close(fd);
    if (got != st.st_size) {
        free(buf);
        return cli_fail(ctx, "%s: short read", path);
    }
    buf[got] = '\0';
    *out = buf;
    return CLI_OK;
}

static void
print_secret(struct cli_ctx *ctx, const char *client_id, const char *secret, const char *verb)
{
    if (cli_flag(ctx, "json")) {
        json_t *o = json_pack("{s:s}", "client_id", client_id);
        if (secret)
            json_object_set_new(o, "client_secret", json_string(secret));
        cli_print_json(o);
        return;
    }
    printf("%s client %s\n", verb, client_id);
    if (secret)
        printf("client_secret: %s\nThe secret is shown only now; store it safely.\n", secret);
}

static int
read_client_secret(struct cli_ctx *ctx, char **secret)
{
    const char *why = NULL;
    size_t len = 0;
    int r;

    *secret = NULL;
    if (!cli_flag(ctx, "secret-stdin"))
        return CLI_OK;
    r = cli_read_secret(true, "client secret", false, GH_MAX_CLIENT_SECRET, secret, &len, &why);
    if (r != GH_OK)
        return cli_fail(ctx, "client secret: %s", why);
    return CLI_OK;
}

int
cli_client_add(struct cli_ctx *ctx)
{
    struct app app;
    struct client_spec spec = { .client_id = ctx->pos[0] };
    char *redirect[GH_MAX_REDIRECT_URIS + 2], *post_logout[GH_MAX_REDIRECT_URIS + 2];
    const char *method = cli_opt(ctx, "auth-method"), *jwks_path = cli_opt(ctx, "jwks");
    const char *jwks_uri = cli_opt(ctx, "jwks-uri");
    const char *alg = cli_opt(ctx, "signing-alg");
    const char *why = NULL;
    char **grants = NULL, **scopes = NULL, *jwks = NULL, *secret = NULL, *generated = NULL;
    bool opened = false;
    int rc, r;

    if (cli_opt_all(ctx, "redirect-uri", redirect, GH_MAX_REDIRECT_URIS + 1) >
            GH_MAX_REDIRECT_URIS ||
        cli_opt_all(ctx, "post-logout-redirect-uri", post_logout, GH_MAX_REDIRECT_URIS + 1) >
            GH_MAX_REDIRECT_URIS)
        return cli_usage(ctx, "at most %d redirect URIs of each kind", GH_MAX_REDIRECT_URIS);
    spec.name = cli_opt(ctx, "name");
    spec.is_public = cli_flag(ctx, "public");
    if (method) {
        if (client_auth_parse(method, &spec.auth_method) != GH_OK)
            return cli_usage(ctx, "--auth-method '%s' is not one of client_secret_basic, "
                                  "client_secret_post, client_secret_jwt, private_key_jwt, none",
                method);
        spec.auth_method_set = true;
    }
    /* a private_key_jwt client's keys: inline or fetched, exactly one; nobody else has any */
    if (spec.auth_method_set && spec.auth_method == CLIENT_AUTH_PRIVATE_KEY_JWT &&
        !jwks_path == !jwks_uri)
        return cli_usage(ctx, "private_key_jwt needs exactly one of --jwks FILE and "
                              "--jwks-uri URL");
    if (jwks_uri && !(spec.auth_method_set && spec.auth_method == CLIENT_AUTH_PRIVATE_KEY_JWT))
        return cli_usage(ctx, "--jwks-uri is only for --auth-method private_key_jwt");
    if (jwks_uri && issuer_jwks_uri_check(jwks_uri, &why) != GH_OK)
        return cli_fail(ctx, "--jwks-uri '%.200s': %s", jwks_uri, why);
    spec.jwks_uri = jwks_uri;
    if (alg && !client_signing_alg_ok(alg))
        return cli_usage(ctx, "--signing-alg '%s' is not one of RS256, ES256, PS256", alg);
    spec.signing_alg = alg;
    spec.consent = cli_flag(ctx, "consent");
    spec.pkce_optional = cli_flag(ctx, "pkce-optional");
    /* RFC 9700 §2.1.1: a public client has nothing but PKCE to bind a code to itself. */
    if (spec.pkce_optional && spec.is_public)
        return cli_usage(ctx, "--pkce-optional is only for confidential clients: public clients "
                              "always need PKCE");
    if ((rc = list_opt(ctx, "grant-types", &grants)) != CLI_OK ||
        (rc = list_opt(ctx, "scopes", &scopes)) != CLI_OK)
        goto out;
    spec.redirect_uris = redirect;
    spec.post_logout_redirect_uris = post_logout;
    spec.grant_types = grants;
    spec.scopes = scopes;
    if (jwks_path && (rc = read_file(ctx, jwks_path, GH_MAX_JWKS, &jwks)) != CLI_OK)
        goto out;
    spec.jwks = jwks;
    if ((rc = read_client_secret(ctx, &secret)) != CLI_OK)
        goto out;
    spec.secret = secret;
    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        goto out;
    opened = true;
    r = client_create(app.store, app.secrets, &spec, &generated, &why);
    if (r == GH_EEXIST) {
        rc = cli_fail(ctx, "client '%s' already exists", spec.client_id);
    } else if (r != GH_OK) {
        rc = cli_fail(ctx, "%s", why ? why : gh_strerror(r));
    } else {
        print_secret(ctx, spec.client_id, generated, "added");
        log_info("cli_client_added", "client=%s", spec.client_id);
        cli_audit("client_added", NULL, spec.client_id, NULL);
    }
out:
    if (opened)
        app_close(&app);
    str_list_free(grants);
    str_list_free(scopes);
    free(jwks);
    str_wipe_free(secret);
    str_wipe_free(generated);
    return rc;
}

int
cli_client_list(struct cli_ctx *ctx)
{
    struct app app;
    struct client **list = NULL;
    size_t n = 0;
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_client_list(app.store, &list, &n)) != GH_OK) {
        rc = cli_fail(ctx, "%s", gh_strerror(r));
    } else if (cli_flag(ctx, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, client_json(list[i]));
        cli_print_json(arr);
    } else {
        printf("%-24s %-13s %-20s %s\n", "CLIENT_ID", "TYPE", "AUTH", "NAME");
        for (size_t i = 0; i < n; i++)
            printf("%-24s %-13s %-20s %s\n", list[i]->client_id,
                list[i]->is_public ? "public" : "confidential",
                client_auth_name(list[i]->auth_method), list[i]->name);
    }
    client_list_free(list, n);
    app_close(&app);
    return rc;
}

static void
print_list(const char *label, char *const *list)
{
    char *s = str_list_join(list, " ");

    printf("%-26s %s\n", label, *s ? s : "-");
    free(s);
}

int
cli_client_show(struct cli_ctx *ctx)
{
    struct app app;
    struct client *c = NULL;
    char t1[32], t2[32];
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_client_get(app.store, ctx->pos[0], &c)) != GH_OK) {
        rc = r == GH_ENOTFOUND ? cli_fail(ctx, "no client '%s'", ctx->pos[0])
                               : cli_fail(ctx, "%s", gh_strerror(r));
    } else if (cli_flag(ctx, "json")) {
        cli_print_json(client_json(c));
    } else {
        printf("%-26s %s\n%-26s %s\n%-26s %s\n%-26s %s\n", "client_id:", c->client_id,
            "name:", c->name, "type:", c->is_public ? "public" : "confidential",
            "auth method:", client_auth_name(c->auth_method));
        print_list("redirect URIs:", c->redirect_uris);
        print_list("post-logout redirect URIs:", c->post_logout_redirect_uris);
        print_list("grant types:", c->grant_types);
        print_list("scopes:", c->scopes);
        printf("%-26s %s\n%-26s %s\n%-26s %s\n", "consent page:", c->consent ? "yes" : "no",
            "PKCE:", c->pkce_required ? "required" : "optional", "signing alg:", c->signing_alg);
        printf("%-26s %s\n%-26s %s\n", "jwks:", c->jwks ? "set" : "-", "jwks_uri:",
            c->jwks_uri ? c->jwks_uri : "-");
        printf("%-26s %s\n%-26s %s\n%-26s %s\n",             "secret:", c->has_secret ? "set" : "-", "created:",
            cli_time(c->created_at, t1, sizeof(t1)), "updated:",
            cli_time(c->updated_at, t2, sizeof(t2)));
    }
    client_free(c);
    app_close(&app);
    return rc;
}

int
cli_client_delete(struct cli_ctx *ctx)
{
    struct app app;
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_client_delete(app.store, ctx->pos[0])) != GH_OK) {
        rc = r == GH_ENOTFOUND ? cli_fail(ctx, "no client '%s'", ctx->pos[0])
                               : cli_fail(ctx, "%s", gh_strerror(r));
    } else {
        printf("client %s deleted\n", ctx->pos[0]);
        log_info("cli_client_deleted", "client=%s", ctx->pos[0]);
        cli_audit("client_deleted", NULL, ctx->pos[0], NULL);
    }
    app_close(&app);
    return rc;
}

int
cli_client_rotate_secret(struct cli_ctx *ctx)
{
    struct app app;
    char *secret = NULL, *generated = NULL;
    const char *why = NULL;
    int rc, r;

    if ((rc = read_client_secret(ctx, &secret)) != CLI_OK)
        return rc;
    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        goto out_nofree;
    r = client_rotate_secret(app.store, app.secrets, ctx->pos[0], secret, &generated, &why);
    if (r == GH_ENOTFOUND) {
        rc = cli_fail(ctx, "no client '%s'", ctx->pos[0]);
    } else if (r != GH_OK) {
        rc = cli_fail(ctx, "%s", why ? why : gh_strerror(r));
    } else {
        print_secret(ctx, ctx->pos[0], generated, "new secret for");
        log_info("cli_client_secret_rotated", "client=%s", ctx->pos[0]);
        cli_audit("client_secret_rotated", NULL, ctx->pos[0], NULL);
    }
    app_close(&app);
out_nofree:
    str_wipe_free(secret);
    str_wipe_free(generated);
    return rc;
}
