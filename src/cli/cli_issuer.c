/* cli_issuer.c — `gatehouse issuer …`: add, list, show, disable, enable, delete. A trusted
 * issuer is a party whose signed assertions about a subject the listed clients may exchange
 * for an access token (the JWT-bearer grant, RFC 7523 §2.1; oidc/grant_jwt.c). Its keys are an
 * inline JWKS (--jwks FILE) or a jwks_uri the server fetches and caches (--jwks-uri URL). The
 * rules are model/issuer.c's; this file parses arguments and prints.
 * JSON output: {"issuer","jwks_uri"|"jwks","disabled","clients":[…],"created_at","updated_at"}
 * for one issuer, an array of those for the list. */
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
#include "model/issuer.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

#define ERR_MAX 512

/* Quote at most QUOTE_MAX bytes of an identifier in a message, then "…". */
#define QUOTE_MAX 96
#define QUOTE(s) quote_len(s), (s), (strnlen((s), QUOTE_MAX + 1) > QUOTE_MAX ? "…" : "")

static int
quote_len(const char *s)
{
    return (int)strnlen(s, QUOTE_MAX);
}

static json_t *
issuer_json(const struct trusted_issuer *ti)
{
    char t1[32], t2[32];
    json_t *clients = json_array(), *o;

    for (size_t i = 0; ti->clients && ti->clients[i]; i++)
        json_array_append_new(clients, json_string(ti->clients[i]));
    o = json_pack("{s:s, s:b, s:o, s:s, s:s}", "issuer", ti->issuer, "disabled", ti->disabled,
        "clients", clients, "created_at", cli_time(ti->created_at, t1, sizeof(t1)),
        "updated_at", cli_time(ti->updated_at, t2, sizeof(t2)));
    if (ti->jwks_uri) {
        json_object_set_new(o, "jwks_uri", json_string(ti->jwks_uri));
    } else if (ti->jwks) {
        json_t *j = json_loads(ti->jwks, JSON_REJECT_DUPLICATES, NULL);
        json_object_set_new(o, "jwks", j ? j : json_null());
    }
    return o;
}

static int
store_failed(struct cli_ctx *ctx, int r)
{
    return cli_fail(ctx, "%s", gh_strerror(r));
}

/* The JWKS file: a regular file of at most GH_MAX_JWKS bytes. */
static int
read_jwks(struct cli_ctx *ctx, const char *path, char **out, size_t *len)
{
    struct stat st;
    char *buf;
    ssize_t got;
    int fd;

    *out = NULL;
    *len = 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
        return cli_fail(ctx, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > GH_MAX_JWKS) {
        close(fd);
        return cli_fail(ctx, "%s: not a regular file of at most %d bytes", path, GH_MAX_JWKS);
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
    *len = (size_t)got;
    return CLI_OK;
}

/* Our own issuer, as far as this command can know it: --config's issuer, else the one
 * `init --issuer` recorded (*owned: caller frees). NULL when neither is set; the server refuses
 * its own issuer's assertions anyway. */
static const char *
our_issuer(const struct cli_ctx *ctx, struct app *app, char **owned)
{
    *owned = NULL;
    if (ctx->cfg.issuer)
        return ctx->cfg.issuer;
    if (store_meta_get(app->store, "issuer", owned) == GH_OK)
        return *owned;
    return NULL;
}

int
cli_issuer_add(struct cli_ctx *ctx)
{
    struct app app;
    const char *path = cli_opt(ctx, "jwks"), *uri = cli_opt(ctx, "jwks-uri");
    char *clients[CLI_MAX_ARGS + 1], *jwks = NULL, *ours_owned = NULL, err[ERR_MAX];
    char esc[LOG_ESC_SIZE];
    struct issuer_spec spec = { .issuer = ctx->pos[0] };
    struct trusted_issuer *ti = NULL;
    const char *why = NULL;
    size_t nclients, jwks_len = 0;
    int rc, r;

    /* usage errors first, then input, before the database is opened */
    if (!path == !uri)
        return cli_usage(ctx, "give exactly one of --jwks FILE and --jwks-uri URL");
    if ((path && !*path) || (uri && !*uri))
        return cli_usage(ctx, "--jwks and --jwks-uri need a value");
    nclients = cli_opt_all(ctx, "client", clients, CLI_MAX_ARGS);
    if (nclients == 0)
        return cli_usage(ctx, "give at least one --client CLIENT_ID");
    if (issuer_id_check(spec.issuer, NULL, &why) != GH_OK)
        return cli_fail(ctx, "'%.*s%s' is not a valid issuer: %s", QUOTE(spec.issuer), why);
    if (uri && issuer_jwks_uri_check(uri, &why) != GH_OK)
        return cli_fail(ctx, "--jwks-uri '%.*s%s': %s", QUOTE(uri), why);
    if (path) {
        if ((rc = read_jwks(ctx, path, &jwks, &jwks_len)) != CLI_OK)
            return rc;
        if (issuer_jwks_check(jwks, jwks_len, err, sizeof(err)) != GH_OK) {
            rc = cli_fail(ctx, "%s: %s", path, err);
            goto out_nofree;
        }
    }
    spec.jwks = jwks;
    spec.jwks_len = jwks_len;
    spec.jwks_uri = uri;
    spec.clients = clients;
    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        goto out_nofree;
    spec.ours = our_issuer(ctx, &app, &ours_owned);
    r = issuer_create(app.store, &spec, clock_now(), &ti, err, sizeof(err));
    if (r != GH_OK) {
        rc = cli_fail(ctx, "%s", err);
    } else {
        if (cli_flag(ctx, "json"))
            cli_print_json(issuer_json(ti));
        else
            printf("added issuer %s\n", ti->issuer);
        log_info("cli_issuer_added", "issuer=%s", log_esc(ti->issuer, esc));
        cli_audit("issuer_added", NULL, NULL, "issuer", ti->issuer, NULL);
    }
    app_close(&app);
out_nofree:
    trusted_issuer_free(ti);
    free(ours_owned);
    free(jwks);
    return rc;
}

int
cli_issuer_list(struct cli_ctx *ctx)
{
    struct app app;
    struct trusted_issuer **list = NULL;
    json_t *arr = NULL;
    size_t n = 0;
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_issuer_list(app.store, &list, &n)) != GH_OK) {
        rc = store_failed(ctx, r);
        goto out;
    }
    if (cli_flag(ctx, "json")) {
        arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, issuer_json(list[i]));
        cli_print_json(arr);
        goto out;
    }
    printf("%-40s %-9s %-7s %s\n", "ISSUER", "STATE", "KEYS", "CLIENTS");
    for (size_t i = 0; i < n; i++) {
        char *clients = str_list_join(list[i]->clients, ",");
        printf("%-40s %-9s %-7s %s\n", list[i]->issuer, list[i]->disabled ? "disabled" : "enabled",
            list[i]->jwks_uri ? "uri" : "inline", clients);
        free(clients);
    }
out:
    trusted_issuer_list_free(list, n);
    app_close(&app);
    return rc;
}

static int
get_issuer(struct cli_ctx *ctx, struct app *app, struct trusted_issuer **out)
{
    int r = store_issuer_get(app->store, ctx->pos[0], out);

    if (r == GH_ENOTFOUND)
        return cli_fail(ctx, "no issuer '%.*s%s'", QUOTE(ctx->pos[0]));
    if (r != GH_OK)
        return store_failed(ctx, r);
    return CLI_OK;
}

int
cli_issuer_show(struct cli_ctx *ctx)
{
    struct app app;
    struct trusted_issuer *ti = NULL;
    char t1[32], t2[32], *clients = NULL;
    int rc;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((rc = get_issuer(ctx, &app, &ti)) != CLI_OK)
        goto out;
    if (cli_flag(ctx, "json")) {
        cli_print_json(issuer_json(ti));
        goto out;
    }
    clients = str_list_join(ti->clients, " ");
    printf("%-10s %s\n%-10s %s\n%-10s %s\n%-10s %s\n%-10s %s\n%-10s %s\n", "issuer:", ti->issuer,
        "state:", ti->disabled ? "disabled" : "enabled", "keys:",
        ti->jwks_uri ? ti->jwks_uri : "inline JWKS", "clients:", clients, "created:",
        cli_time(ti->created_at, t1, sizeof(t1)), "updated:",
        cli_time(ti->updated_at, t2, sizeof(t2)));
out:
    free(clients);
    trusted_issuer_free(ti);
    app_close(&app);
    return rc;
}

static int
set_disabled(struct cli_ctx *ctx, bool disabled)
{
    struct app app;
    char esc[LOG_ESC_SIZE];
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    r = store_issuer_set_disabled(app.store, ctx->pos[0], disabled, clock_now());
    if (r == GH_ENOTFOUND) {
        rc = cli_fail(ctx, "no issuer '%.*s%s'", QUOTE(ctx->pos[0]));
    } else if (r != GH_OK) {
        rc = store_failed(ctx, r);
    } else {
        printf("%s issuer %s\n", disabled ? "disabled" : "enabled", ctx->pos[0]);
        log_info(disabled ? "cli_issuer_disabled" : "cli_issuer_enabled", "issuer=%s",
            log_esc(ctx->pos[0], esc));
        cli_audit(disabled ? "issuer_disabled" : "issuer_enabled", NULL, NULL, "issuer",
            ctx->pos[0], NULL);
    }
    app_close(&app);
    return rc;
}

int
cli_issuer_disable(struct cli_ctx *ctx)
{
    return set_disabled(ctx, true);
}

int
cli_issuer_enable(struct cli_ctx *ctx)
{
    return set_disabled(ctx, false);
}

/* `issuer allow|disallow ISSUER CLIENT_ID`: takes effect at the next assertion (the grant
 * re-reads the list right before it signs). */
static int
set_client(struct cli_ctx *ctx, bool allow)
{
    struct app app;
    char err[512], esc[LOG_ESC_SIZE], esc2[LOG_ESC_SIZE];
    const char *iss = ctx->pos[0], *cid = ctx->pos[1];
    struct trusted_issuer *ti = NULL;
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_issuer_get(app.store, iss, &ti)) != GH_OK) {
        rc = r == GH_ENOTFOUND ? cli_fail(ctx, "no issuer '%.*s%s'", QUOTE(iss))
                               : store_failed(ctx, r);
        goto out;
    }
    if (allow && (r = issuer_client_check(app.store, cid, err, sizeof(err))) != GH_OK) {
        rc = cli_fail(ctx, "%s", err);
        goto out;
    }
    r = allow ? store_issuer_allow(app.store, iss, cid) : store_issuer_disallow(app.store, iss,
        cid);
    if (r == GH_EEXIST) {
        printf("client %s may already present assertions of %s\n", cid, iss);
    } else if (r == GH_ENOTFOUND) {
        rc = allow ? cli_fail(ctx, "no client '%.*s%s'", QUOTE(cid))
                   : cli_fail(ctx, "client '%.*s%s' is not listed for issuer '%.*s%s'", QUOTE(cid),
                         QUOTE(iss));
    } else if (r != GH_OK) {
        rc = store_failed(ctx, r);
    } else {
        printf("client %s %s present assertions of %s\n", cid, allow ? "may" : "may no longer",
            iss);
        log_info(allow ? "cli_issuer_allowed" : "cli_issuer_disallowed", "issuer=%s client=%s",
            log_esc(iss, esc), log_esc(cid, esc2));
        cli_audit(allow ? "issuer_allowed" : "issuer_disallowed", NULL, cid, "issuer", iss,
            NULL);
    }
out:
    trusted_issuer_free(ti);
    app_close(&app);
    return rc;
}

int
cli_issuer_allow(struct cli_ctx *ctx)
{
    return set_client(ctx, true);
}

int
cli_issuer_disallow(struct cli_ctx *ctx)
{
    return set_client(ctx, false);
}

int
cli_issuer_delete(struct cli_ctx *ctx)
{
    struct app app;
    char esc[LOG_ESC_SIZE];
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_issuer_delete(app.store, ctx->pos[0])) != GH_OK) {
        rc = r == GH_ENOTFOUND ? cli_fail(ctx, "no issuer '%.*s%s'", QUOTE(ctx->pos[0]))
                               : store_failed(ctx, r);
    } else {
        printf("deleted issuer %s\n", ctx->pos[0]);
        log_info("cli_issuer_deleted", "issuer=%s", log_esc(ctx->pos[0], esc));
        cli_audit("issuer_deleted", NULL, NULL, "issuer", ctx->pos[0], NULL);
    }
    app_close(&app);
    return rc;
}
