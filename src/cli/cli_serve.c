/* cli_serve.c — `gatehouse serve`: open (and on first start initialise) the data location,
 * bind, settle the issuer, prebuild discovery and JWKS, serve until SIGTERM/SIGINT, then stop
 * taking connections, drain in-flight requests (http/server.c) and exit 0. Signals are blocked
 * in every thread and taken synchronously here with sigtimedwait(), so no handler ever runs
 * inside a request; between signals this thread deletes expired sessions, codes and tokens
 * every PURGE_EVERY_S seconds. */
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
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
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
    sigset_t set;
    char err[512];
    unsigned port = 0, cut;
    int sig = 0, rc;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread starts: they inherit it */

    if ((rc = cli_app_open(ctx, &app, APP_INIT)) != CLI_OK)
        return rc;
    rc = CLI_FAIL;
    if (srv_listen(&app, &srv, &port, err, sizeof(err)) != GH_OK ||
        app_resolve_issuer(&app, port, err, sizeof(err)) != GH_OK) {
        cli_fail(ctx, "%s", err);
        goto out;
    }
    resp_hsts(sess_cookie_secure(&app));   /* https issuer */
    if (ep_docs_build(&app, err, sizeof(err)) != GH_OK || srv_start(srv, err, sizeof(err)) != GH_OK) {
        cli_fail(ctx, "%s", err);
        goto out;
    }
    if (ctx->cfg.port_file && write_port_file(ctx->cfg.port_file, port, err, sizeof(err)) != GH_OK) {
        cli_fail(ctx, "%s", err);
        goto out;
    }
    if (log_buffer_start(LOG_FLUSH_MS) != GH_OK)
        log_warn("log", "cannot start the access-log flusher; writing lines one by one");
    log_info("serve_started", "listen=%s port=%u issuer=%s", ctx->cfg.listen, port, app.issuer);
    purge(&app);
    for (;;) {
        struct timespec ts = { PURGE_EVERY_S, 0 };
        if ((sig = sigtimedwait(&set, NULL, &ts)) < 0) {
            if (errno == EAGAIN)
                purge(&app);
            continue;
        }
        if (sig == SIGHUP) {
            log_info("sighup", "nothing to reload: keys and settings are read at start");
            continue;
        }
        break;
    }
    log_info("serve_stopping", "signal=%s drain_timeout=%ds", sig == SIGINT ? "INT" : "TERM",
        GH_DRAIN_TIMEOUT_S);
    cut = srv_drain_and_stop(srv, GH_DRAIN_TIMEOUT_S);
    srv = NULL;
    log_buffer_stop();
    log_info("serve_stopped", "cut_connections=%u", cut);
    rc = CLI_OK;
out:
    if (srv)
        srv_drain_and_stop(srv, 0);
    ep_docs_free(app.docs);
    app.docs = NULL;
    app_close(&app);
    return rc;
}
