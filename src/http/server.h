/* server.h — the libmicrohttpd daemon: internal thread pool (one per core), epoll, connection
 * limits overall and per IP, per-connection timeout and memory limit, bounded bodies.
 * Two steps, so the issuer and the prebuilt documents can use the port actually bound:
 * srv_listen() binds, srv_start() starts serving on that socket. */
#ifndef GH_HTTP_SERVER_H
#define GH_HTTP_SERVER_H

#include <stddef.h>

#include <stdbool.h>

struct app;
struct srv;
struct srv_metrics;
struct met_gauges;

/* Bind app->cfg->listen ("ADDR:PORT" or "[V6]:PORT"; port 0 = any free port) and listen.
 * *port gets the bound port. GH_OK, or GH_EIO / GH_EINVAL with one line in err
 * ("127.0.0.1:8080: Address already in use"). Nothing is served yet. */
int      srv_listen(struct app *app, struct srv **out, unsigned *port, char *err, size_t errsz);
/* Parse listen_s ("ADDR:PORT" or "[V6]:PORT"), bind and listen: *fd (close-on-exec,
 * non-blocking), *v6 and the bound *port. GH_OK, or GH_EIO / GH_EINVAL with one line in err. */
int      srv_bind(const char *listen_s, int *fd, bool *v6, unsigned *port, char *err,
             size_t errsz);
/* Serve https: cert_pem and key_pem are NUL-terminated PEM text (crypto/tlscert.h), borrowed
 * until srv_drain_and_stop() returns, since libmicrohttpd keeps the pointers. Call between
 * srv_listen() and srv_start(). GH_EINVAL with err when this libmicrohttpd lacks TLS. */
int      srv_tls(struct srv *s, const char *cert_pem, const char *key_pem, char *err,
             size_t errsz);
/* Start the daemon on the bound socket. On failure the srv is still to be stopped. */
int      srv_start(struct srv *s, char *err, size_t errsz);
/* Stop taking connections, wait up to timeout_s for in-flight requests, then stop
 * and free s. Returns the number of connections that were still open and got cut.
 * Also frees a srv that was listened but never started. */
unsigned srv_drain_and_stop(struct srv *s, unsigned timeout_s);

/* The gauges of /metrics at this moment (requests in flight, deferred-work queue); s may be
 * NULL (all zero). Takes the queue's lock briefly: for scrapes, not for the request path. */
void     srv_gauges(struct srv *s, struct met_gauges *g);

/* server_metrics.c — GET /metrics (core/metrics.h met_render) on its own listen address
 * (metrics_listen), served by a small daemon with one thread, apart from the main listener so
 * it is never public by accident. main gives the gauges (may be NULL). Binds listen_s; *port
 * gets the bound port. GH_OK, or GH_EIO / GH_EINVAL / GH_EINTERNAL with one line in err. */
int      srv_metrics_start(struct srv *main, const char *listen_s, struct srv_metrics **out,
             unsigned *port, char *err, size_t errsz);
/* Stop the daemon and free m (NULL: no-op). Call before srv_drain_and_stop(main). */
void     srv_metrics_stop(struct srv_metrics *m);

#endif
