/* cli_token.c — `gatehouse token verify`: checks an access token the way a resource server
 * does (crypto/jwks_verify.c: RFC 8725, RFC 9068 §4) and prints its claims. The key set is the
 * realm's own, built from the local data location's key ring (what /jwks.json publishes, plus any
 * key generated since the server started), a JWKS file, or a JWKS fetched over HTTP(S).
 *
 * The fetch is deliberately narrow, since the key set decides which tokens are trusted: https,
 * or plain http only to a loopback host; at most GH_MAX_JWKS bytes; 5 s in all; no redirects;
 * and no proxy, not even one named by http_proxy/https_proxy/all_proxy in the environment (those
 * are often set for other tools, and a proxy on the path of a plain-http loopback fetch would
 * decide which keys we trust). TLS certificates and host names are verified (libcurl's defaults,
 * set explicitly); util/fetch.c does the fetch for this command and for trusted issuers' jwks_uri.
 * Nothing is cached: each run reads the keys once. It does not check
 * revocation; POST /introspect does (RFC 7662). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "cli/cli.h"
#include "core/err.h"
#include "core/limits.h"
#include "crypto/jwks_verify.h"
#include "crypto/keys.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fetch.h"
#include "util/str.h"
#include "util/url.h"
#include "util/xmem.h"

#define FETCH_TIMEOUT_MS 5000L

/* --- where the keys come from ----------------------------------------------------------- */

enum jwks_src { SRC_RING, SRC_FILE, SRC_URL };

/* "http://…" or "https://…", scheme compared case-insensitively (RFC 3986 §3.1). */
static bool
is_url(const char *s)
{
    static const char *const schemes[] = { "http://", "https://", NULL };

    for (size_t i = 0; schemes[i]; i++) {
        size_t n = strlen(schemes[i]);

        if (strlen(s) >= n && strncasecmp(s, schemes[i], n) == 0)
            return true;
    }
    return false;
}

/* Read a whole JWKS file (or FIFO) of at most GH_MAX_JWKS bytes into b. GH_OK, or GH_EIO /
 * GH_ETOOBIG with why. */
static int
read_jwks_file(const char *path, struct buf *b, char *why, size_t whysz)
{
    char chunk[4096];
    int fd, rc = GH_OK;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
        snprintf(why, whysz, "%s: %s", path, strerror(errno));
        return GH_EIO;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, whysz, "%s: %s", path, strerror(errno));
            rc = GH_EIO;
            break;
        }
        if (n == 0)
            break;
        if (buf_add(b, chunk, (size_t)n) != GH_OK) {
            snprintf(why, whysz, "%s: the key set is larger than %d bytes", path, GH_MAX_JWKS);
            rc = GH_ETOOBIG;
            break;
        }
    }
    close(fd);
    return rc;
}

/* The key set from a file or URL. CLI_OK with *out, or the exit status (message printed). */
static int
load_external(const struct cli_ctx *ctx, const char *src, bool url, struct jwks **out)
{
    struct buf body;
    char why[512] = "";
    int rc = CLI_FAIL;

    buf_init(&body, GH_MAX_JWKS);
    if (url ? fetch_get(src, FETCH_TIMEOUT_MS, "gatehouse-token-verify", &body, why,
                  sizeof(why)) != GH_OK
            : read_jwks_file(src, &body, why, sizeof(why)) != GH_OK) {
        cli_fail(ctx, "%s", why);
        goto out;
    }
    if (jwks_parse(buf_str(&body), body.len, out, why, sizeof(why)) != GH_OK) {
        cli_fail(ctx, "%s: %s", src, why);
        goto out;
    }
    rc = CLI_OK;
out:
    buf_free(&body);
    return rc;
}

/* --- the command ------------------------------------------------------------------------ */

/* The issuer to expect: --issuer, the config file's issuer, or the one `init --issuer` recorded
 * (app must be open). *out is borrowed or, when *owned, freed by the caller. */
static int
expected_issuer(const struct cli_ctx *ctx, struct app *app, bool app_open, const char **out,
    char **owned)
{
    int r;

    *out = cli_opt(ctx, "issuer");
    *owned = NULL;
    if (!*out)
        *out = ctx->cfg.issuer;
    if (*out)
        return CLI_OK;
    r = app_open ? store_meta_get(app->store, "issuer", owned) : GH_ENOTFOUND;
    if (r == GH_ENOTFOUND)
        return cli_usage(ctx, "no issuer to check against: give --issuer (none is configured or "
                              "recorded by init --issuer)");
    if (r != GH_OK)
        return cli_fail(ctx, "%s: cannot read the issuer: %s", ctx->cfg.db, gh_strerror(r));
    *out = *owned;
    return CLI_OK;
}

int
cli_token_verify(struct cli_ctx *ctx)
{
    const char *arg = ctx->pos[0], *src = cli_opt(ctx, "jwks"), *aud = cli_opt(ctx, "audience");
    const char *iss = cli_opt(ctx, "issuer"), *refusal = NULL, *rwhy = NULL;
    char *stdin_tok = NULL, *stored_iss = NULL, err[512], why[JWKS_WHY_MAX];
    struct app app;
    bool opened = false, url = false, https = false;
    struct jwks *ks = NULL;
    json_t *claims = NULL, *set = NULL;
    struct jwks_expect ex;
    const char *tok = arg;
    size_t toklen = 0;
    int rc = CLI_FAIL, r;

    /* usage first, before anything is read or opened */
    if (src && !*src)
        return cli_usage(ctx, "--jwks needs a URL or a file");
    if (iss && !*iss)
        return cli_usage(ctx, "--issuer must not be empty");
    if (aud && !*aud)
        return cli_usage(ctx, "--audience must not be empty");
    if (src && (url = is_url(src)) && (refusal = fetch_url_refusal(src, &https)))
        return cli_usage(ctx, "--jwks %s: %s", src, refusal);
    if (src && !url && strstr(src, "://"))
        return cli_usage(ctx, "--jwks %s: only http and https URLs can be fetched", src);

    /* the token: an argument, or "-" for one line of standard input (an argument shows in ps
     * and shell history; a bearer token is a credential) */
    if (str_eq(arg, "-")) {
        r = cli_read_secret(true, "token", false, GH_MAX_JWT_LEN, &stdin_tok, &toklen, &rwhy);
        if (r != GH_OK) {
            rc = cli_fail(ctx, "standard input: %s", r == GH_ETOOBIG ?
                "the token is longer than 8192 bytes" : rwhy ? rwhy : gh_strerror(r));
            goto out;
        }
        tok = stdin_tok;
    } else {
        toklen = strlen(arg);
    }

    /* the data location: for its keys (no --jwks) or its recorded issuer (no issuer known) */
    if (!src) {
        if ((rc = cli_app_open(ctx, &app, 0)) != CLI_OK)
            goto out;
        opened = true;
    } else if (!iss && !ctx->cfg.issuer) {
        if (app_open(&app, &ctx->cfg, APP_NO_KEYS, err, sizeof(err)) != GH_OK) {
            rc = cli_usage(ctx, "no issuer to check against: give --issuer (%s)", err);
            goto out;
        }
        opened = true;
    }
    if ((rc = expected_issuer(ctx, &app, opened, &iss, &stored_iss)) != CLI_OK)
        goto out;

    rc = CLI_FAIL;
    if (!src) {
        set = keys_ring_jwks(app.keys);
        if (jwks_load(set, &ks, why, sizeof(why)) != GH_OK) {
            cli_fail(ctx, "the realm's keys: %s", why);
            goto out;
        }
    } else if ((rc = load_external(ctx, src, url, &ks)) != CLI_OK) {
        goto out;
    }

    /* the clock_skew setting (--clock-skew), like the server's own checks */
    ex = (struct jwks_expect){ .iss = iss, .aud = aud, .now = clock_now(),
        .leeway = ctx->cfg.clock_skew };
    if (jwks_verify_at(ks, tok, toklen, &ex, &claims, why, sizeof(why)) != GH_OK) {
        rc = cli_fail(ctx, "%s", why);
        goto out;
    }
    cli_print_json(claims);
    claims = NULL; /* consumed */
    rc = CLI_OK;
out:
    json_decref(claims);
    json_decref(set);
    jwks_free(ks);
    free(stored_iss);
    str_wipe_free(stdin_tok);
    if (opened)
        app_close(&app);
    return rc;
}
