/* cli_user.c — `gatehouse user …`: add, list, show, passwd, disable, enable, unlock, delete.
 * Never prints a password or a hash; JSON output carries has_password instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "cli/cli.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/pw.h"
#include "model/user.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

static json_t *
user_json(const struct user *u)
{
    char c[32], m[32];

    return json_pack("{s:s, s:s, s:s?, s:s?, s:b, s:b, s:s, s:s}", "sub", u->sub, "username",
        u->username, "email", u->email, "name", u->name, "disabled", u->disabled,
        "has_password", u->password_hash != NULL, "created_at",
        cli_time(u->created_at, c, sizeof(c)), "updated_at", cli_time(u->updated_at, m, sizeof(m)));
}

/* The username argument, normalised as the store keeps it (so "Alice" finds "alice"). */
static int
username_arg(struct cli_ctx *ctx, char *out, size_t outsz)
{
    const char *why = NULL;

    if (str_copy(out, outsz, ctx->pos[0]) != GH_OK || user_username_normalize(out, &why) != GH_OK)
        return cli_fail(ctx, "'%s' is not a valid username: %s", ctx->pos[0],
            why ? why : "too long");
    return CLI_OK;
}

static int
not_found_or(struct cli_ctx *ctx, int r, const char *username)
{
    if (r == GH_ENOTFOUND)
        return cli_fail(ctx, "no user '%s'", username);
    return cli_fail(ctx, "%s", gh_strerror(r));
}

static int
read_password(struct cli_ctx *ctx, char **pw, size_t *len)
{
    const char *why = NULL;
    int r = cli_read_secret(cli_flag(ctx, "password-stdin"), "password", true, GH_MAX_PASSWORD,
        pw, len, &why);

    if (r == GH_ETOOBIG)
        return cli_fail(ctx, "password is longer than %d bytes", GH_MAX_PASSWORD);
    if (r != GH_OK)
        return cli_fail(ctx, "password: %s", why);
    return CLI_OK;
}

int
cli_user_add(struct cli_ctx *ctx)
{
    struct app app;
    struct pw_params pp;
    struct pw_policy pol = { .min_len = ctx->cfg.password_min_length };
    struct user *u = NULL;
    char name[GH_MAX_USERNAME + 1], *pw = NULL;
    const char *why = NULL;
    size_t pwlen = 0;
    int rc, r;

    if ((rc = username_arg(ctx, name, sizeof(name))) != CLI_OK)
        return rc;
    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    app_pw_params(&app, &pp);
    if ((rc = read_password(ctx, &pw, &pwlen)) != CLI_OK)
        goto out;
    r = user_create(app.store, &pp, &pol, name, cli_opt(ctx, "email"), cli_opt(ctx, "name"), pw,
        pwlen, &u, &why);
    if (r == GH_EEXIST)
        rc = cli_fail(ctx, "user '%s' already exists", name);
    else if (r != GH_OK)
        rc = cli_fail(ctx, "%s", why ? why : gh_strerror(r));
    else if (cli_flag(ctx, "json"))
        cli_print_json(user_json(u));
    else
        printf("added user %s (sub %s)\n", u->username, u->sub);
    if (r == GH_OK) {
        log_info("cli_user_added", "user=%s sub=%s", u->username, u->sub);
        cli_audit("user_added", u->sub, NULL, "username", u->username, NULL);
    }
out:
    str_wipe_free(pw);
    user_free(u);
    app_close(&app);
    return rc;
}

int
cli_user_list(struct cli_ctx *ctx)
{
    struct app app;
    struct user **list = NULL;
    size_t n = 0;
    int rc, r;

    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_user_list(app.store, &list, &n)) != GH_OK) {
        rc = cli_fail(ctx, "%s", gh_strerror(r));
    } else if (cli_flag(ctx, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, user_json(list[i]));
        cli_print_json(arr);
    } else {
        printf("%-24s %-44s %-9s %s\n", "USERNAME", "SUB", "STATUS", "EMAIL");
        for (size_t i = 0; i < n; i++)
            printf("%-24s %-44s %-9s %s\n", list[i]->username, list[i]->sub,
                list[i]->disabled ? "disabled" : "active", list[i]->email ? list[i]->email : "-");
    }
    user_list_free(list, n);
    app_close(&app);
    return rc;
}

int
cli_user_show(struct cli_ctx *ctx)
{
    struct app app;
    struct user *u = NULL;
    struct login_count lc;
    char name[GH_MAX_USERNAME + 1], c[32], m[32], l[32];
    int64_t now = clock_now();
    int rc, r;

    if ((rc = username_arg(ctx, name, sizeof(name))) != CLI_OK)
        return rc;
    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_user_get(app.store, name, &u)) != GH_OK ||
        (r = store_login_get(app.store, name, now, &lc)) != GH_OK) {
        rc = not_found_or(ctx, r, name);
    } else if (cli_flag(ctx, "json")) {
        json_t *o = user_json(u);
        json_object_set_new(o, "failed_logins", json_integer(lc.failures));
        json_object_set_new(o, "locked_until", lc.locked_until > now ?
            json_string(cli_time(lc.locked_until, l, sizeof(l))) : json_null());
        cli_print_json(o);
    } else {
        printf("username:  %s\nsub:       %s\nemail:     %s\nname:      %s\nstatus:    %s\n"
               "password:  %s\ncreated:   %s\nupdated:   %s\n",
            u->username, u->sub, u->email ? u->email : "-", u->name ? u->name : "-",
            u->disabled ? "disabled" : "active", u->password_hash ? "set" : "not set",
            cli_time(u->created_at, c, sizeof(c)), cli_time(u->updated_at, m, sizeof(m)));
        printf("failed:    %lld sign-in%s in a row%s%s\n", (long long)lc.failures,
            lc.failures == 1 ? "" : "s", lc.locked_until > now ? ", no attempt before " : "",
            lc.locked_until > now ? cli_time(lc.locked_until, l, sizeof(l)) : "");
    }
    user_free(u);
    app_close(&app);
    return rc;
}

int
cli_user_passwd(struct cli_ctx *ctx)
{
    struct app app;
    struct pw_params pp;
    struct pw_policy pol = { .min_len = ctx->cfg.password_min_length };
    struct user *u = NULL;
    char name[GH_MAX_USERNAME + 1], *pw = NULL;
    const char *why = NULL;
    size_t pwlen = 0;
    int rc, r;

    if ((rc = username_arg(ctx, name, sizeof(name))) != CLI_OK)
        return rc;
    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    app_pw_params(&app, &pp);
    /* fail on an unknown user before asking for a password */
    if ((r = store_user_get(app.store, name, &u)) != GH_OK) {
        rc = not_found_or(ctx, r, name);
        goto out;
    }
    if ((rc = read_password(ctx, &pw, &pwlen)) != CLI_OK)
        goto out;
    r = user_set_password(app.store, &pp, &pol, name, pw, pwlen, &why);
    if (r == GH_ENOTFOUND)
        rc = not_found_or(ctx, r, name);
    else if (r != GH_OK)
        rc = cli_fail(ctx, "%s", why ? why : gh_strerror(r));
    else if ((r = store_user_revoke(app.store, u->sub, NULL)) != GH_OK)
        rc = cli_fail(ctx, "password changed, but signing %s out everywhere failed: %s", name,
            gh_strerror(r));
    else {
        /* ASVS 7.4.3: whoever knew the old password loses the sessions and tokens it got */
        printf("password of %s changed; every session and token of the user is revoked\n",
            name);
        log_info("cli_user_passwd", "user=%s", name);
        cli_audit("user_password_changed", u->sub, NULL, "username", name, NULL);
    }
out:
    str_wipe_free(pw);
    user_free(u);
    app_close(&app);
    return rc;
}

static int
set_disabled(struct cli_ctx *ctx, bool disabled)
{
    struct app app;
    struct user *u = NULL;
    char name[GH_MAX_USERNAME + 1];
    int rc, r;

    if ((rc = username_arg(ctx, name, sizeof(name))) != CLI_OK)
        return rc;
    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_user_get(app.store, name, &u)) == GH_OK)
        r = store_user_set_disabled(app.store, name, disabled, clock_now());
    /* ASVS 7.4.2: a disabled account's sessions and tokens end now, not when they expire */
    if (r == GH_OK && disabled)
        r = store_user_revoke(app.store, u->sub, NULL);
    if (r != GH_OK) {
        rc = not_found_or(ctx, r, name);
    } else {
        printf("user %s %s\n", name, disabled ? "disabled" : "enabled");
        log_info(disabled ? "cli_user_disabled" : "cli_user_enabled", "user=%s", name);
        cli_audit(disabled ? "user_disabled" : "user_enabled", u->sub, NULL, "username", name,
            NULL);
    }
    user_free(u);
    app_close(&app);
    return rc;
}

int
cli_user_disable(struct cli_ctx *ctx)
{
    return set_disabled(ctx, true);
}

int
cli_user_enable(struct cli_ctx *ctx)
{
    return set_disabled(ctx, false);
}

/* Also for a name no user has: throttling counts every name typed (model/throttle.h). */
int
cli_user_unlock(struct cli_ctx *ctx)
{
    struct app app;
    struct user *u = NULL;
    struct login_count lc;
    char name[GH_MAX_USERNAME + 1];
    int rc, r;

    if ((rc = username_arg(ctx, name, sizeof(name))) != CLI_OK)
        return rc;
    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    r = store_login_get(app.store, name, clock_now(), &lc);
    if (r == GH_OK && lc.failures == 0 && lc.locked_until == 0)
        r = store_user_get(app.store, name, &u);
    if (r == GH_OK)
        r = store_login_reset(app.store, name);
    if (r != GH_OK) {
        rc = not_found_or(ctx, r, name);
    } else if (lc.failures == 0 && lc.locked_until == 0) {
        printf("%s has no failed sign-ins to clear\n", name);
    } else {
        printf("%s unlocked: %lld failed sign-in%s cleared\n", name, (long long)lc.failures,
            lc.failures == 1 ? "" : "s");
        log_info("cli_user_unlocked", "user=%s failures=%lld", name, (long long)lc.failures);
        cli_audit("user_unlocked", u ? u->sub : NULL, NULL, "username", name, NULL);
    }
    user_free(u);
    app_close(&app);
    return rc;
}

int
cli_user_delete(struct cli_ctx *ctx)
{
    struct app app;
    char name[GH_MAX_USERNAME + 1];
    int rc, r;

    if ((rc = username_arg(ctx, name, sizeof(name))) != CLI_OK)
        return rc;
    if ((rc = cli_app_open(ctx, &app, APP_NO_KEYS)) != CLI_OK)
        return rc;
    if ((r = store_user_delete(app.store, name)) != GH_OK) {
        rc = not_found_or(ctx, r, name);
    } else {
        printf("user %s deleted\n", name);
        log_info("cli_user_deleted", "user=%s", name);
        cli_audit("user_deleted", NULL, NULL, "username", name, NULL);
    }
    app_close(&app);
    return rc;
}
