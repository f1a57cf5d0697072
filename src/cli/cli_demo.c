/* cli_demo.c — demo mode's data: the user "demo" and the public client "demo-app" that the
 * built-in demo app (ep/demo.c) signs in as, kept matching the server's issuer, and the demo
 * password kept in a file beside the database (mode 0600, like the database itself) so that
 * `make run` can print it at every start, not only the first. Demo mode records in the meta
 * table which user and client it made and never touches a same-named user or client it did
 * not make (a real account called "demo" must not have its password reset by a typo'd flag).
 * An older `init --demo` made a confidential demo-app with the redirect URI
 * http://127.0.0.1:8081/callback and printed the password once; both are recognised by those
 * settings and adopted: the client is re-registered, the user gets a new password. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "cli/cli.h"
#include "cli/cli_demo.h"
#include "core/err.h"
#include "crypto/pw.h"
#include "crypto/rnd.h"
#include "ep/demo.h"
#include "model/client.h"
#include "model/user.h"
#include "store/store.h"
#include "util/str.h"
#include "util/xmem.h"

#define META_USER "demo_user"      /* the sub of the user demo mode made */
#define META_CLIENT "demo_client"  /* the client_id of the client demo mode made */
#define DEMO_NAME "Demo User"
#define DEMO_CLIENT_NAME "Demo app"
#define LEGACY_REDIRECT "http://127.0.0.1:8081/callback"   /* made by init --demo before */
#define LEGACY_CLIENT_NAME "Demo application"
#define PW_FILE_MAX 1024
#define PW_BYTES 18                /* 24 base64url characters, 144 bits */

/* Where the demo password is kept: beside a SQLite database, the path with a final ".db"
 * replaced by ".demo" (else ".demo" appended); for a database that is not a file (a
 * postgresql:// URI), demo.password in the keys directory. */
static int
demo_file(const struct cfg *cfg, char *out, size_t outsz)
{
    const char *db = cfg->db;
    size_t n;
    int w;

    if (strstr(db, "://")) {
        w = snprintf(out, outsz, "%s/demo.password", cfg->keys_dir);
        return w > 0 && (size_t)w < outsz ? GH_OK : GH_ETOOBIG;
    }
    if (strncmp(db, "sqlite:", 7) == 0)
        db += 7;
    n = strlen(db);
    if (n > 3 && strcmp(db + n - 3, ".db") == 0)
        n -= 3;
    if (n > 4000)
        return GH_ETOOBIG;
    w = snprintf(out, outsz, "%.*s.demo", (int)n, db);
    return w > 0 && (size_t)w < outsz ? GH_OK : GH_ETOOBIG;
}

/* The kept password: the first line of the file, printable, non-empty. GH_ENOTFOUND when the
 * file is absent, GH_EINVAL when it is not a small regular file holding one. */
static int
pw_file_read(const char *path, char **out)
{
    char buf[PW_FILE_MAX + 1];
    struct stat st;
    size_t got = 0, n;
    ssize_t r;
    int fd, rc = GH_EINVAL;

    *out = NULL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
        return errno == ENOENT ? GH_ENOTFOUND : GH_EINVAL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > PW_FILE_MAX)
        goto out;
    while (got < sizeof(buf) - 1) {
        r = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    n = strcspn(buf, "\n");
    buf[n] = '\0';
    if (n == 0 || str_has_ctl(buf, n) || !str_utf8_valid(buf, n))
        goto out;
    *out = x_strdup(buf);
    rc = GH_OK;
out:
    mem_wipe(buf, sizeof(buf));
    close(fd);
    return rc;
}

/* Write the password as one line, atomically (a temporary file renamed into place), 0600. */
static int
pw_file_write(const struct cli_ctx *ctx, const char *path, const char *pw)
{
    char tmp[4200];
    size_t len = strlen(pw);
    int fd, n;
    bool ok;

    n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return cli_fail(ctx, "%s: path is too long", path);
    unlink(tmp); /* left by a crash; O_EXCL below then creates it afresh */
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        return cli_fail(ctx, "%s: %s", tmp, strerror(errno));
    ok = write(fd, pw, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return cli_fail(ctx, "%s: %s", path, strerror(e));
    }
    return CLI_OK;
}

/* Whether meta name holds value (a missing or unreadable entry does not). */
static bool
meta_is(struct store *st, const char *name, const char *value)
{
    char *v = NULL;
    bool yes = store_meta_get(st, name, &v) == GH_OK && str_eq(v, value);

    free(v);
    return yes;
}

static bool
list_is(char *const *list, const char *only)
{
    return list && list[0] && str_eq(list[0], only) && !list[1];
}

static char *
new_password(const struct cli_ctx *ctx)
{
    size_t nbytes = PW_BYTES;

    /* a stricter --password-min-length than 24 characters gets a longer password */
    if (ctx->cfg.password_min_length > 24)
        nbytes = (ctx->cfg.password_min_length * 3 + 3) / 4 + 1;
    return rnd_token(nbytes);
}

static int
ensure_user(const struct cli_ctx *ctx, struct app *app, struct cli_demo *d)
{
    struct pw_params pp;
    struct pw_policy pol = { .min_len = ctx->cfg.password_min_length };
    struct user *u = NULL;
    const char *why = NULL;
    char *pw = NULL;
    int rc = CLI_FAIL, r;

    app_pw_params(app, &pp);
    r = store_user_get(app->store, DEMO_USERNAME, &u);
    if (r == GH_ENOTFOUND) {
        if (!(pw = new_password(ctx)))
            goto out;
        r = user_create(app->store, &pp, &pol, DEMO_USERNAME, NULL, DEMO_NAME, pw, strlen(pw),
            &u, &why);
        if (r != GH_OK) {
            cli_fail(ctx, "cannot create the demo user: %s", why ? why : gh_strerror(r));
            goto out;
        }
        cli_audit("user_added", u->sub, NULL, "username", u->username, NULL);
        if (store_meta_set(app->store, META_USER, u->sub) != GH_OK) {
            cli_fail(ctx, "cannot record the demo user");
            goto out;
        }
        if (pw_file_write(ctx, d->file, pw) != CLI_OK)
            goto out;
        d->user_made = true;
        d->password = pw;
        pw = NULL;
        rc = CLI_OK;
        goto out;
    }
    if (r != GH_OK) {
        cli_fail(ctx, "%s: %s", ctx->cfg.db, gh_strerror(r));
        goto out;
    }
    if (!meta_is(app->store, META_USER, u->sub)) {
        /* made by an older init --demo, or someone else's account */
        if (!str_eq(u->name, DEMO_NAME) || u->email) {
            cli_fail(ctx, "a user '%s' exists that demo mode did not create; it is left alone "
                          "(use another --db for the demo)", DEMO_USERNAME);
            goto out;
        }
        if (store_meta_set(app->store, META_USER, u->sub) != GH_OK) {
            cli_fail(ctx, "cannot record the demo user");
            goto out;
        }
    }
    r = pw_file_read(d->file, &pw);
    if (r == GH_OK && u->password_hash && pw_verify(u->password_hash, pw, strlen(pw)) == GH_OK) {
        d->password = pw;
        pw = NULL;
        rc = CLI_OK;
        goto out;
    }
    /* no kept password, or it was changed with `user passwd`: make the printed one true */
    str_wipe_free(pw);
    if (!(pw = new_password(ctx)))
        goto out;
    r = user_set_password(app->store, &pp, &pol, DEMO_USERNAME, pw, strlen(pw), &why);
    if (r != GH_OK) {
        cli_fail(ctx, "cannot set the demo user's password: %s", why ? why : gh_strerror(r));
        goto out;
    }
    cli_audit("user_password_changed", u->sub, NULL, "username", u->username, NULL);
    if (pw_file_write(ctx, d->file, pw) != CLI_OK)
        goto out;
    d->password_reset = true;
    d->password = pw;
    pw = NULL;
    rc = CLI_OK;
out:
    str_wipe_free(pw);
    user_free(u);
    return rc;
}

static int
ensure_client(const struct cli_ctx *ctx, struct app *app, const char *issuer, struct cli_demo *d)
{
    char cb[4200], home[4200];
    char *uris[] = { cb, NULL }, *plr[] = { home, NULL };
    struct client *c = NULL;
    char *secret = NULL;
    const char *why = NULL;
    int rc = CLI_FAIL, r;

    if (ep_demo_url(issuer, DEMO_CALLBACK_PATH, cb, sizeof(cb)) != GH_OK ||
        ep_demo_url(issuer, DEMO_PATH, home, sizeof(home)) != GH_OK)
        return cli_fail(ctx, "the issuer is too long for the demo app's redirect URI");
    r = store_client_get(app->store, DEMO_CLIENT_ID, &c);
    if (r != GH_OK && r != GH_ENOTFOUND) {
        cli_fail(ctx, "%s: %s", ctx->cfg.db, gh_strerror(r));
        goto out;
    }
    if (r == GH_OK) {
        bool ours = meta_is(app->store, META_CLIENT, DEMO_CLIENT_ID);
        bool legacy = !c->is_public && list_is(c->redirect_uris, LEGACY_REDIRECT) &&
                      str_eq(c->name, LEGACY_CLIENT_NAME);

        if (!ours && !legacy) {
            cli_fail(ctx, "a client '%s' exists that demo mode did not create; it is left "
                          "alone (use another --db for the demo)", DEMO_CLIENT_ID);
            goto out;
        }
        if (ours && c->is_public && list_is(c->redirect_uris, cb) &&
            list_is(c->post_logout_redirect_uris, home)) {
            rc = CLI_OK;
            goto out;
        }
        /* registered for another issuer (or by an older init --demo): register it again */
        if ((r = store_client_delete(app->store, DEMO_CLIENT_ID)) != GH_OK) {
            cli_fail(ctx, "cannot replace the demo client: %s", gh_strerror(r));
            goto out;
        }
        cli_audit("client_deleted", NULL, DEMO_CLIENT_ID, NULL);
    }
    struct client_spec spec = {
        .client_id = DEMO_CLIENT_ID,
        .name = DEMO_CLIENT_NAME,
        .is_public = true,
        .redirect_uris = uris,
        .post_logout_redirect_uris = plr,
    };
    r = client_create(app->store, app->secrets, &spec, &secret, &why);
    if (r != GH_OK) {
        cli_fail(ctx, "cannot register the demo client: %s", why ? why : gh_strerror(r));
        goto out;
    }
    cli_audit("client_added", NULL, DEMO_CLIENT_ID, NULL);
    if (!meta_is(app->store, META_CLIENT, DEMO_CLIENT_ID) &&
        store_meta_set(app->store, META_CLIENT, DEMO_CLIENT_ID) != GH_OK) {
        cli_fail(ctx, "cannot record the demo client");
        goto out;
    }
    d->client_changed = true;
    rc = CLI_OK;
out:
    str_wipe_free(secret);
    client_free(c);
    return rc;
}

int
cli_demo_ensure(const struct cli_ctx *ctx, struct app *app, const char *issuer,
    struct cli_demo *d)
{
    memset(d, 0, sizeof(*d));
    if (demo_file(&ctx->cfg, d->file, sizeof(d->file)) != GH_OK)
        return cli_fail(ctx, "%s: path is too long", ctx->cfg.db);
    if (ensure_user(ctx, app, d) != CLI_OK || ensure_client(ctx, app, issuer, d) != CLI_OK) {
        cli_demo_clear(d);
        return CLI_FAIL;
    }
    return CLI_OK;
}

void
cli_demo_clear(struct cli_demo *d)
{
    str_wipe_free(d->password);
    d->password = NULL;
}
