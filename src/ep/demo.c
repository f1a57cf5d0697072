/* demo.c — GET /demo and /demo/callback in demo mode (`serve --demo`): one page, built once at
 * start-up from templates/demo.html, that acts as the public client "demo-app" in the browser
 * (static/demo.js: PKCE S256, state and nonce, the code exchanged at /token from the same
 * origin, /userinfo, RP-initiated logout) and shows the decoded tokens and the userinfo answer,
 * so a newcomer sees what an application receives without writing one. The page carries no
 * inline script or style: the HTML Content-Security-Policy of http/resp.c stays as strict as
 * for the sign-in pages, and the client's settings reach the script as data- attributes.
 * The script and stylesheets are linked with a hash of their content (as ep/pages.c does for
 * gatehouse.css), since /static/ answers are cached for a year. What this module deliberately
 * does not do: create the demo user or client (cli/cli_demo.c does), hold any secret (the
 * client is public), or reload on SIGHUP (the page is read once; restart to change it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "core/cfg.h"
#include "core/err.h"
#include "crypto/digest.h"
#include "ep/demo.h"
#include "ep/pages.h"
#include "http/req.h"
#include "http/resp.h"
#include "tmpl/tmpl.h"
#include "util/b64url.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/xmem.h"

#define DEMO_MAX_FILE (512 * 1024)  /* the bound ep/pages.c puts on a static file */
#define DEMO_MAX_PAGE (64 * 1024)
#define DEMO_HASH_CHARS 8           /* as ep/pages.c: a cache key, not a secret */
#define DEMO_URL_MAX 2048

struct ep_demo {
    char *body;   /* the rendered page */
    size_t len;
};

/* dir/name into a new buffer: a regular file (no symbolic link) of at most DEMO_MAX_FILE bytes. */
static int
read_file(const char *dir, const char *name, char **out, size_t *outlen, char *err, size_t errsz)
{
    char path[4096];
    int fd, rc, n;

    *out = NULL;
    *outlen = 0;
    n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        str_fmt(err, errsz, "%s: path is too long", name);
        return GH_ETOOBIG;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0) {
        str_fmt(err, errsz, "%s: %s (demo mode needs it)", path, strerror(errno));
        return errno == ENOENT ? GH_ENOTFOUND : GH_EIO;
    }
    rc = pages_read_fd(fd, path, DEMO_MAX_FILE, out, outlen, err, errsz);
    close(fd);
    return rc;
}

/* "/static/<name>?v=<first DEMO_HASH_CHARS of base64url(SHA-256(content))>" */
static int
static_url(const char *sdir, const char *name, char *out, size_t outsz, char *err, size_t errsz)
{
    unsigned char dig[DIG_SHA256_LEN];
    char b64[64], *body = NULL;
    size_t len = 0;
    int rc, n;

    if ((rc = read_file(sdir, name, &body, &len, err, errsz)) != GH_OK)
        return rc;
    dig_sha256(body, len, dig);
    free(body);
    if (b64url_encode(dig, sizeof(dig), b64, sizeof(b64)) != GH_OK)
        return GH_EINTERNAL;
    n = snprintf(out, outsz, "/static/%s?v=%.*s", name, DEMO_HASH_CHARS, b64);
    return n > 0 && (size_t)n < outsz ? GH_OK : GH_ETOOBIG;
}

int
ep_demo_url(const char *issuer, const char *path, char *out, size_t outsz)
{
    size_t n = strlen(issuer);
    int w;

    while (n > 0 && issuer[n - 1] == '/')
        n--;
    if (n > (size_t)DEMO_URL_MAX)
        return GH_ETOOBIG;
    w = snprintf(out, outsz, "%.*s%s", (int)n, issuer, path);
    return w > 0 && (size_t)w < outsz ? GH_OK : GH_ETOOBIG;
}

int
ep_demo_new(const struct cfg *cfg, const char *issuer, struct ep_demo **out, char *err,
    size_t errsz)
{
    char css[256], demo_css[256], js[256], home[DEMO_URL_MAX + 64], cb[DEMO_URL_MAX + 64];
    struct tmpl *t = NULL;
    struct ep_demo *d = NULL;
    struct buf b;
    int rc;

    *out = NULL;
    buf_init(&b, DEMO_MAX_PAGE);
    if (ep_demo_url(issuer, DEMO_PATH, home, sizeof(home)) != GH_OK ||
        ep_demo_url(issuer, DEMO_CALLBACK_PATH, cb, sizeof(cb)) != GH_OK) {
        str_fmt(err, errsz, "demo: the issuer is too long");
        rc = GH_ETOOBIG;
        goto out;
    }
    if ((rc = static_url(cfg->static_dir, "gatehouse.css", css, sizeof(css), err, errsz)) !=
            GH_OK ||
        (rc = static_url(cfg->static_dir, DEMO_STYLE, demo_css, sizeof(demo_css), err, errsz)) !=
            GH_OK ||
        (rc = static_url(cfg->static_dir, DEMO_SCRIPT, js, sizeof(js), err, errsz)) != GH_OK)
        goto out;
    if ((rc = tmpl_load_file(cfg->templates_dir, DEMO_TEMPLATE, &t, err, errsz)) != GH_OK)
        goto out;
    const struct tmpl_var v[] = {
        { "css_url", css },
        { "demo_css_url", demo_css },
        { "demo_js_url", js },
        { "issuer", issuer },
        { "client_id", DEMO_CLIENT_ID },
        { "redirect_uri", cb },
        { "home_uri", home },
    };
    if ((rc = tmpl_render(t, v, sizeof(v) / sizeof(v[0]), &b)) != GH_OK) {
        str_fmt(err, errsz, "%s/%s: cannot render: %s", cfg->templates_dir, DEMO_TEMPLATE,
            gh_strerror(rc));
        goto out;
    }
    d = x_calloc(1, sizeof(*d));
    d->len = b.len;
    d->body = buf_steal(&b);
    *out = d;
    rc = GH_OK;
out:
    tmpl_free(t);
    buf_free(&b);
    return rc;
}

void
ep_demo_free(struct ep_demo *d)
{
    if (!d)
        return;
    free(d->body);
    free(d);
}

int
ep_demo(struct req *rq)
{
    const struct ep_demo *d = rq->app->demo;

    if (!d) /* the same answer as any unknown path (http/server.c) */
        return resp_error(rq, 404, "not_found", "no such endpoint");
    return resp_html(rq, 200, d->body, d->len, NULL);
}
