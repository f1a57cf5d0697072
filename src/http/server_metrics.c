/* server_metrics.c — the metrics listener: GET /metrics in the Prometheus text format
 * (core/metrics.c builds it at each scrape) on the address of metrics_listen, never on the main
 * listener, so an operator decides who can read it (loopback, a management network) instead of
 * it being public with the issuer. A second, deliberately small libmicrohttpd daemon: one
 * thread, a handful of connections, short timeouts and a small per-connection memory pool; a
 * scraper makes one request every few seconds. Anything but GET/HEAD /metrics is 404/405, and
 * a request with a body is refused before it is read. No TLS: bind it to loopback or a private
 * address (docs/deployment.md). */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/err.h"
#include "core/metrics.h"
#include "http/server.h"
#include "util/buf.h"
#include "util/xmem.h"

#define METRICS_MAX_BYTES   (1024 * 1024)   /* the exposition is a few KiB; a ceiling anyway */
#define METRICS_CONNECTIONS 16
#define METRICS_PER_IP      8
#define METRICS_TIMEOUT_S   10
#define METRICS_CONN_MEMORY (16 * 1024)     /* request line and headers of a scraper */
#define CONTENT_TYPE        "text/plain; version=0.0.4; charset=utf-8"

struct srv_metrics {
    struct MHD_Daemon *d;
    struct srv *main;
    int fd;
};

static enum MHD_Result
send_text(struct MHD_Connection *c, unsigned status, const char *text, const char *allow)
{
    struct MHD_Response *r;
    enum MHD_Result ok;

    r = MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
        MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result
scrape(struct srv_metrics *m, struct MHD_Connection *c)
{
    struct met_gauges g;
    struct MHD_Response *r;
    struct buf b;
    enum MHD_Result ok;
    size_t len;
    char *text;

    srv_gauges(m->main, &g);
    buf_init(&b, METRICS_MAX_BYTES);
    if (met_render(&b, &g) != GH_OK) {
        buf_free(&b);
        return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "the metrics do not fit\n", NULL);
    }
    len = b.len;
    text = buf_steal(&b);
    r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    static int seen;   /* *con_cls marker: the first call for this request is over */
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;

    (void)version;
    (void)upload;
    if (!*con_cls) {
        *con_cls = &seen;
        if (!get && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
            return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "GET, HEAD");
        /* a scrape has no body: refuse one before reading it (MHD then closes) */
        if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) ||
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
            return send_text(c, MHD_HTTP_BAD_REQUEST, "a request body is not accepted\n", NULL);
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;   /* cannot happen: refused above */
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") != 0)
        return send_text(c, MHD_HTTP_NOT_FOUND, "not found; the metrics are at /metrics\n", NULL);
    return scrape(cls, c);
}

int
srv_metrics_start(struct srv *main, const char *listen_s, struct srv_metrics **out,
    unsigned *port, char *err, size_t errsz)
{
    struct srv_metrics *m = x_calloc(1, sizeof(*m));
    bool v6 = false;
    int rc;

    *out = NULL;
    m->main = main;
    if ((rc = srv_bind(listen_s, &m->fd, &v6, port, err, errsz)) != GH_OK) {
        free(m);
        return rc;
    }
    m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            (v6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, on_request, m,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)m->fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_PER_IP,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_CONN_MEMORY,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_END);
    if (!m->d) {
        snprintf(err, errsz, "metrics_listen %s: cannot start the metrics listener", listen_s);
        /* whether a failed start closed the socket differs between versions (server.c) */
        if (fcntl(m->fd, F_GETFD) >= 0)
            close(m->fd);
        free(m);
        return GH_EINTERNAL;
    }
    *out = m;
    return GH_OK;
}

void
srv_metrics_stop(struct srv_metrics *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->d);   /* closes the listening socket it was given */
    free(m);
}
