/* cli_serve.c — `gatehouse serve`: open (and on first start initialise) the data location,
 * bind, settle the issuer, prebuild discovery and JWKS, serve until SIGTERM/SIGINT, then stop
 * taking connections, drain in-flight requests (http/server.c) and exit 0. Signals are blocked
 * in every thread and taken synchronously here with sigtimedwait(), so no handler ever runs
 * inside a request; SIGHUP reloads keys, templates and static files (cli_reload.c). Between
 * signals this thread checks the key list every key_poll_interval seconds (rotation) and deletes
 * expired sessions, codes and tokens every PURGE_EVERY_S seconds. With --demo it also makes
 * sure the demo user and client fit the issuer (cli_demo.c), serves the demo app at /demo
 * (ep/demo.c) and prints on stdout where to open it and the demo credentials. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "cli/cli.h"
#include "cli/cli_demo.h"
#include "cli/cli_reload.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "crypto/tlscert.h"
#include "ep/demo.h"
#include "ep/ep.h"
#include "http/resp.h"
#include "http/server.h"
#include "session/session.h"
#include "store/store.h"
#include "util/clock.h"

#define LOG_FLUSH_MS 200  /* access-log lines reach stderr at most this late */
#define PURGE_EVERY_S 300 /* expired sessions, codes, tokens are deleted this often */

/* Delete what has expired (store_purge) with the main thread's store handle. */
static void
purge(struct app *app)
{
    size_t n = 0;

    if (store_purge(app->store, clock_now(), GH_CODE_GRACE_S, &n) == GH_OK && n)
        log_info("purge", "removed=%zu", n);
}

static int
write_port_file(const char *path, unsigned port, char *err, size_t errsz)
{
    char tmp[4096], line[16];
    int fd, n;
    bool ok;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        snprintf(err, errsz, "port file path is too long");
        return GH_EINVAL;
    }
    n = snprintf(line, sizeof(line), "%u\n", port);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        snprintf(err, errsz, "%.400s: %s", tmp, strerror(errno));
        return GH_EIO;
    }
    ok = write(fd, line, (size_t)n) == n;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return GH_EIO;
    }
    return GH_OK;
}

int
cli_serve(struct cli_ctx *ctx)
{
    struct app app;
    struct srv *srv = NULL;
    struct srv_metrics *msrv = NULL;   /* metrics_listen: GET /metrics */
    struct tls_pem *tls = NULL;   /* libmicrohttpd keeps pointers into it: freed after srv */
    struct reloader *rl = NULL;   /* SIGHUP and key rotation (cli_reload.c) */
    struct cli_demo demo = { .password = NULL };  /* --demo: the credentials to print */
    int64_t next_purge;
    sigset_t set;
    char err[512];
    unsigned port = 0, mport = 0, cut;
    int sig = 0, rc;

    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);   /* over a file size limit a write fails (EFBIG: 503); no exit */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread starts: they inherit it */

    /* the TLS files first: a wrong one must not leave a fresh data location behind */
    if (ctx->cfg.tls_cert &&
        tlscert_load(ctx->cfg.tls_cert, ctx->cfg.tls_key, &tls, err, sizeof(err)) != GH_OK)
        return cli_fail(ctx, "%s", err);
    if ((rc = cli_app_open(ctx, &app, APP_INIT)) != CLI_OK) {
        tlscert_free(tls);
        return rc;
    }
    rc = CLI_FAIL;
    met_init(GATEHOUSE_VERSION);
    if (srv_listen(&app, &srv, &port, err, sizeof(err)) != GH_OK ||
        (tls && srv_tls(srv, tls->cert, tls->key, err, sizeof(err)) != GH_OK) ||
        app_resolve_issuer(&app, port, err, sizeof(err)) != GH_OK) {
        cli_fail(ctx, "%s", err);
        goto out;
    }
    resp_hsts(sess_cookie_secure(&app));   /* https issuer */
    /* --demo: the demo user and client fit the issuer just settled; the page is built before
     * any thread can read app.demo */
    if (cli_flag(ctx, "demo")) {
        if (cli_demo_ensure(ctx, &app, app.issuer, &demo) != CLI_OK)
            goto out;
        if (ep_demo_new(&ctx->cfg, app.issuer, &app.demo, err, sizeof(err)) != GH_OK) {
            cli_fail(ctx, "%s", err);
            goto out;
        }
    }
    if (ep_docs_build(&app, err, sizeof(err)) != GH_OK || srv_start(srv, err, sizeof(err)) != GH_OK) {
        cli_fail(ctx, "%s", err);
        goto out;
    }
    if (ctx->cfg.metrics_listen && srv_metrics_start(srv, ctx->cfg.metrics_listen, &msrv, &mport,
                                       err, sizeof(err)) != GH_OK) {
        cli_fail(ctx, "%s", err);
        goto out;
    }
    if (ctx->cfg.port_file && write_port_file(ctx->cfg.port_file, port, err, sizeof(err)) != GH_OK) {
        cli_fail(ctx, "%s", err);
        goto out;
    }
    if (log_buffer_start(LOG_FLUSH_MS) != GH_OK)
        log_warn("log", "cannot start the access-log flusher; writing lines one by one");
    log_info("serve_started", "listen=%s port=%u issuer=%s%s", ctx->cfg.listen, port, app.issuer,
        app.demo ? " demo=on" : "");
    if (msrv)
        log_info("metrics_started", "listen=%s port=%u path=/metrics", ctx->cfg.metrics_listen,
            mport);
    if (demo.password) {
        /* stdout, for the person who started it (make run); never the log */
        char home[4200];

        ep_demo_url(app.issuer, DEMO_PATH, home, sizeof(home));
        printf("Demo mode: open %s and sign in as %s / %s\n"
               "(the password is kept in %s; Ctrl-C stops the server)\n",
            home, DEMO_USERNAME, demo.password, demo.file);
        fflush(stdout);
        cli_demo_clear(&demo);
    }
    purge(&app);
    next_purge = clock_mono_us() + (int64_t)PURGE_EVERY_S * 1000000;
    rl = cli_reload_new(&app);
    for (;;) {
        struct timespec ts = { (time_t)ctx->cfg.key_poll_interval, 0 };
        if ((sig = sigtimedwait(&set, NULL, &ts)) < 0) {
            if (errno != EAGAIN)
                continue;
            cli_reload_tick(rl);
            if (clock_mono_us() >= next_purge) {
                purge(&app);
                next_purge = clock_mono_us() + (int64_t)PURGE_EVERY_S * 1000000;
            }
            continue;
        }
        if (sig == SIGHUP) {
            cli_reload_now(rl); /* keys, templates, static files; connections stay open */
            continue;
        }
        break;
    }
    log_info("serve_stopping", "signal=%s drain_timeout=%ds", sig == SIGINT ? "INT" : "TERM",
        GH_DRAIN_TIMEOUT_S);
    srv_metrics_stop(msrv);   /* it reads srv's gauges: stopped first */
    msrv = NULL;
    cut = srv_drain_and_stop(srv, GH_DRAIN_TIMEOUT_S);
    srv = NULL;
    tlscert_free(tls);   /* the daemon is gone: wipe the key text */
    tls = NULL;
    log_buffer_stop();
    log_info("serve_stopped", "cut_connections=%u", cut);
    rc = CLI_OK;
out:
    srv_metrics_stop(msrv);
    if (srv)
        srv_drain_and_stop(srv, 0);
    tlscert_free(tls);
    cli_reload_free(rl);  /* replaced rings and documents: no request is left to use them */
    ep_docs_free(app.docs);
    app.docs = NULL;
    ep_demo_free(app.demo);
    app.demo = NULL;
    cli_demo_clear(&demo);
    app_close(&app);
    return rc;
}
