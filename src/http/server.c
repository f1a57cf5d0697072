/* server.c — the libmicrohttpd daemon and the request life cycle. We bind the listening
 * socket ourselves (clear bind errors, SO_REUSEADDR for quick restarts) and hand it to MHD,
 * which runs an internal thread pool (one epoll loop per core). Every MHD limit that defaults
 * to "unlimited" is set: connection timeout (slowloris), total and per-IP connections, and the
 * per-connection memory pool that bounds the request line and headers (MHD answers 431/414
 * itself when they do not fit). Requests: the URI log callback copies the raw request target
 * into a struct req before MHD splits and unescapes it in place; the access handler routes,
 * checks Content-Length before any body is read (413), accumulates bounded bodies, and calls
 * the handler; the completion callback writes the access log and frees the request.
 * TLS, when configured (srv_tls), is libmicrohttpd's (GnuTLS): TLS 1.2 and 1.3 only, AEAD
 * ciphers only, our preference order. Not here: HTTP/2, trusted-proxy handling. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "app.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/conn_limit.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/router.h"
#include "http/server.h"
#include "util/clock.h"
#include "util/net.h"
#include "util/str.h"
#include "util/xmem.h"

#define MAX_THREADS 256
#define DEFER_NICE  10   /* worker threads yield the CPU to the HTTP threads */
#define MAX_DISCARD (4 * (size_t)GH_MAX_BODY)  /* see on_request */

struct srv {
    struct app *app;
    struct MHD_Daemon *d;
    int fd;                         /* our listening socket; -1 once closed */
    bool v6;
    unsigned port;
    uint64_t rid_prefix;            /* random per process: request ids differ across restarts */
    atomic_uint_fast64_t seq;       /* request counter */
    atomic_uint inflight;           /* requests between the URI callback and completion */
    atomic_bool draining;           /* SIGTERM: new connections are refused */
    struct conn_limit *cl;          /* max_connections_per_ip, trusted proxies exempt */
    const char *tls_cert, *tls_key; /* srv_tls(): PEM text, borrowed; NULL: plain http */
    /* req_defer(): a bounded queue of suspended requests and the threads working it */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;             /* work queued, or stop */
    pthread_cond_t qidle;           /* the queue emptied and no job runs */
    struct job {
        struct req *rq;
        void (*work)(struct app *, void *);
    } q[GH_MAX_DEFERRED];
    size_t qhead, qlen, running;
    bool qstop, qinit;
    pthread_t workers[MAX_THREADS];
    unsigned nworkers;
    /* req_park(): requests whose answer waits for their durable writes, and the one thread
     * that syncs for all of them at once */
    pthread_mutex_t pmu;
    pthread_cond_t pcv;             /* parked, or stop */
    pthread_cond_t pidle;           /* none parked and no sync running */
    struct parked {
        struct req *rq;
        uint64_t ticket;
    } parked[GH_MAX_DEFERRED];
    size_t plen;
    bool pbusy, pstop, pinit;
    pthread_t syncer;
};

/* ---- MHD callbacks ------------------------------------------------------------------ */

/* While draining, every new connection is closed as soon as it is accepted. This, and not
 * MHD_quiesce_daemon(), stops intake: in libmicrohttpd 0.9.75 with epoll and a thread pool,
 * quiesce races the workers removing the listen socket from their epoll sets and can abort
 * the process ("Failed to remove listen FD from epoll set"). */
static enum MHD_Result
on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct srv *s = cls;
    unsigned char a[16];

    (void)addrlen;
    if (atomic_load(&s->draining))
        return MHD_NO;
    /* over max_connections_per_ip: closed at once, as libmicrohttpd's own limit did */
    if (s->cl && net_addr_from_sockaddr(addr, a) && !cl_admit(s->cl, a))
        return MHD_NO;
    return MHD_YES;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    char esc[LOG_ESC_SIZE];
    int n;

    (void)cls;
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0)
        return;
    /* MHD messages end in a newline and may quote client bytes: escape to keep one line */
    n = (int)strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    /* warn, not err (STYLE.md §8): nearly all of these are about one client's bad request */
    log_warn("http", "mhd=%s", log_esc(msg, esc));
}

/* The path and query are parsed by req.c from the raw target; MHD's own unescaping would only
 * rewrite (and for %00, truncate) a copy nobody reads. */
static size_t
no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct srv *s = cls;
    const union MHD_ConnectionInfo *ci;
    struct req *rq;

    rq = req_new(uri, s->rid_prefix, atomic_fetch_add_explicit(&s->seq, 1, memory_order_relaxed));
    rq->app = s->app;
    rq->srv = s;
    rq->conn = conn;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    rq->conn_ctx = ci ? ci->socket_context : NULL;
    rq->t0_us = clock_mono_us();
    atomic_fetch_add_explicit(&s->inflight, 1, memory_order_relaxed);
    return rq;
}

/* One response cache per connection (resp.h), alive as long as the connection; and the
 * connection counted against its address's max_connections_per_ip while it lives (a peer
 * that cannot be read is not counted, on open and close alike). */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
    struct srv *s = cls;
    unsigned char a[16];

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = resp_conn_new();
        if (s->cl && req_conn_peer(conn, a))
            cl_opened(s->cl, a);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        resp_conn_free(*socket_context);
        *socket_context = NULL;
        if (s->cl && req_conn_peer(conn, a))
            cl_closed(s->cl, a);
    }
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
    struct srv *s = cls;
    struct req *rq = *con_cls;
    static const char *const ends[] = {
        [MHD_REQUEST_TERMINATED_COMPLETED_OK] = NULL,
        [MHD_REQUEST_TERMINATED_WITH_ERROR] = "error",
        [MHD_REQUEST_TERMINATED_TIMEOUT_REACHED] = "timeout",
        [MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN] = "shutdown",
        [MHD_REQUEST_TERMINATED_READ_ERROR] = "read_error",
        [MHD_REQUEST_TERMINATED_CLIENT_ABORT] = "client_abort",
    };

    if (!rq)
        return;
    if (!rq->status) {
        /* MHD answered on its own (431, 400 for a malformed request...) */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);
        if (ci)
            rq->status = ci->http_status;
    }
    resp_log_access(rq, (unsigned)toe < sizeof(ends) / sizeof(ends[0]) ? ends[toe] : "other");
    met_request(route_index(rq->route), rq->status, clock_mono_us() - rq->t0_us);
    req_free(rq);
    *con_cls = NULL;
    atomic_fetch_sub_explicit(&s->inflight, 1, memory_order_relaxed);
}

/* MHD_YES once a response is queued; MHD_NO (MHD closes the connection) otherwise. */
static enum MHD_Result
queued(struct req *rq)
{
    return rq->status ? MHD_YES : MHD_NO;
}

static enum MHD_Result
dispatch(struct req *rq, const struct route *r)
{
    int rc;

    rq->suspended_here = false;
    rc = r->fn(rq);
    /* req_defer(), req_park(): the handler runs again once resumed. Not rq->suspended, which
     * the resuming thread may already have cleared */
    if (rq->suspended_here && rc == GH_OK && !rq->status)
        return MHD_YES;
    if (!rq->status) {
        if (rc == GH_OK)
            rc = GH_EINTERNAL;   /* a handler that queued nothing is a bug */
        if (rc == GH_ESTORE) {
            resp_store_unavailable(rq);   /* the store logged the fault; retrying may work */
        } else {
            log_err("http", "rid=%s handler failed: %s", req_rid(rq), gh_strerror(rc));
            resp_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error",
                "the server could not handle the request");
        }
    }
    return queued(rq);
}

/* 413 and close: the rest of the body is never read, so the connection cannot be reused. */
static enum MHD_Result
too_big(struct req *rq)
{
    resp_error_hdr(rq, MHD_HTTP_CONTENT_TOO_LARGE, "invalid_request",
        "the request body is too large", MHD_HTTP_HEADER_CONNECTION, "close");
    return queued(rq);
}

/* Answer with what the first call decided. */
static enum MHD_Result
answer(struct req *rq)
{
    char allow_s[64];

    if (rq->uri_too_long || rq->route_result == ROUTE_TOO_LONG) {
        resp_error(rq, MHD_HTTP_URI_TOO_LONG, "invalid_request", "the request URI is too long");
        return queued(rq);
    }
    switch (rq->route_result) {
    case ROUTE_FOUND:
        return dispatch(rq, rq->route);
    case ROUTE_BAD_METHOD:
        route_allow_str(rq->allow, allow_s, sizeof(allow_s));
        resp_error_hdr(rq, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
            "the endpoint does not support this method", MHD_HTTP_HEADER_ALLOW, allow_s);
        return queued(rq);
    case ROUTE_NOT_FOUND:
    default:
        resp_error(rq, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint");
        return queued(rq);
    }
}

/* First call for a request: headers are complete, no body has been read. Route now; answer
 * on the next call, which MHD makes at once when there is no body. (libmicrohttpd 0.9.75
 * closes the connection after any response queued on this first call, so answering here is
 * kept for requests whose connection must close anyway.) */
static enum MHD_Result
start(struct req *rq, const char *method, const char *url, const char *version)
{
    const char *cl, *te;
    uint64_t clen = 0;
    bool has_body;

    rq->started = true;
    /* SECURITY.md I2: libmicrohttpd 0.9.75 hands the request target over as a C string, so a
     * NUL inside it silently cuts the path ("/healthz\0abc" would be routed as /healthz). MHD
     * splits the request line in place, so the version token starts one byte after the
     * target's last byte; anything further means bytes were cut off. */
    if (!rq->uri_too_long && url && version &&
        version != url + rq->path_len + (rq->query ? 1 + rq->query_len : 0) + 1) {
        resp_error_hdr(rq, MHD_HTTP_BAD_REQUEST, "invalid_request",
            "malformed request line", MHD_HTTP_HEADER_CONNECTION, "close");
        return queued(rq);
    }
    rq->method = req_method_parse(method);
    if (rq->method == REQ_OTHER)
        str_copy(rq->method_raw, sizeof(rq->method_raw), method ? method : "");
    if (!rq->uri_too_long)
        rq->route_result = (int)route_lookup(rq->method, rq->path, rq->path_len, &rq->route,
            &rq->allow);
    cl = req_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH, NULL);
    te = req_header(rq, MHD_HTTP_HEADER_TRANSFER_ENCODING, NULL);
    /* RFC 9112 §6.3: two Content-Lengths, or one with Transfer-Encoding, is how requests are
     * smuggled past a proxy that reads the framing differently (MHD 0.9.75 uses the first
     * Content-Length). Refuse and close. */
    if (cl && (te || req_header_unique(rq, MHD_HTTP_HEADER_CONTENT_LENGTH, &cl, NULL) != GH_OK)) {
        resp_error_hdr(rq, MHD_HTTP_BAD_REQUEST, "invalid_request",
            "conflicting Content-Length or Transfer-Encoding", MHD_HTTP_HEADER_CONNECTION,
            "close");
        return queued(rq);
    }
    has_body = te || (cl && !(cl[0] == '0' && cl[1] == '\0'));
    if (!has_body)
        return MHD_YES;
    /* refuse a declared oversize body before reading a byte of it (SECURITY.md I3); MHD has
     * already rejected a malformed Content-Length */
    if (!rq->uri_too_long && cl && str_to_u64(cl, 0, GH_MAX_BODY, &clen) != GH_OK)
        return too_big(rq);
    if (rq->uri_too_long || rq->route_result != ROUTE_FOUND || !(rq->route->flags & ROUTE_BODY))
        return answer(rq);   /* a body nobody will read: answer, and MHD closes */
    return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct req *rq = *con_cls;

    (void)cls;
    (void)conn;
    if (!rq)
        return MHD_NO;  /* cannot happen: on_uri runs for every request */
    if (!rq->started)
        return start(rq, method, url, version);
    if (rq->status) {
        *upload_size = 0;   /* answered early: MHD closes after the response */
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;

        *upload_size = 0;
        if (!rq->body_too_big) {
            if (buf_add(&rq->body, upload, n) == GH_OK)
                return MHD_YES;
            rq->body_too_big = true;   /* buf_add emptied (and wiped) the buffer */
        }
        /* A chunked body has no size up front, and MHD 0.9.75 cannot queue a response in
         * the middle of an upload: drop a bounded amount more so a modest overrun still
         * gets its 413 at the end, then give up and close without an answer. */
        rq->discarded += n;
        return rq->discarded <= MAX_DISCARD ? MHD_YES : MHD_NO;
    }
    if (rq->body_too_big)
        return too_big(rq);
    return answer(rq);
}

/* ---- deferred work (req_defer) -------------------------------------------------------- */

static void *
worker_main(void *arg)
{
    struct srv *s = arg;

    /* Linux nice values are per thread: only this worker yields to the HTTP threads */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), DEFER_NICE) != 0)
        log_warn("http", "cannot lower the priority of a worker thread");
    pthread_mutex_lock(&s->qmu);
    for (;;) {
        while (!s->qstop && s->qlen == 0)
            pthread_cond_wait(&s->qcv, &s->qmu);
        if (s->qlen == 0)
            break;   /* stopping, and nothing left */
        struct job j = s->q[s->qhead];
        s->qhead = (s->qhead + 1) % GH_MAX_DEFERRED;
        s->qlen--;
        s->running++;
        pthread_mutex_unlock(&s->qmu);

        j.work(s->app, j.rq->defer_arg);
        j.rq->suspended = false;
        /* MHD takes its own lock: the handler, called again on an HTTP thread, sees the
         * result written above */
        MHD_resume_connection(j.rq->conn);

        pthread_mutex_lock(&s->qmu);
        s->running--;
        if (s->qlen == 0 && s->running == 0)
            pthread_cond_broadcast(&s->qidle);
    }
    pthread_mutex_unlock(&s->qmu);
    return NULL;
}

int
req_defer(struct req *rq, void (*work)(struct app *, void *), void *arg, void (*arg_free)(void *))
{
    struct srv *s = rq->srv;

    if (!s || rq->defer_arg || rq->suspended)
        return GH_EINVAL;
    pthread_mutex_lock(&s->qmu);
    if (s->qlen == GH_MAX_DEFERRED || s->qstop) {
        pthread_mutex_unlock(&s->qmu);
        return GH_ETOOBIG;
    }
    rq->defer_arg = arg;
    rq->defer_free = arg_free;
    rq->defer_work = work;
    rq->suspended = true;
    rq->suspended_here = true;
    /* suspend before a worker can see the job, so its resume never precedes the suspend */
    MHD_suspend_connection(rq->conn);
    s->q[(s->qhead + s->qlen) % GH_MAX_DEFERRED] = (struct job){ rq, work };
    s->qlen++;
    pthread_cond_signal(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    return GH_OK;
}

/* ---- answers that wait for durable writes (req_park) -------------------------------- */

/* One sync covers every request parked meanwhile (store.h: group commit); the HTTP threads
 * never wait for the disk. */
static void *
syncer_main(void *arg)
{
    struct srv *s = arg;
    struct parked batch[GH_MAX_DEFERRED];

    pthread_mutex_lock(&s->pmu);
    for (;;) {
        while (!s->pstop && s->plen == 0)
            pthread_cond_wait(&s->pcv, &s->pmu);
        if (s->plen == 0)
            break;   /* stopping, and nothing left */
        size_t n = s->plen;
        uint64_t upto = 0;
        memcpy(batch, s->parked, n * sizeof(batch[0]));
        s->plen = 0;
        s->pbusy = true;
        pthread_mutex_unlock(&s->pmu);

        for (size_t i = 0; i < n; i++)
            upto = batch[i].ticket > upto ? batch[i].ticket : upto;
        int rc = app_store_sync(s->app, upto);
        for (size_t i = 0; i < n; i++) {
            batch[i].rq->park_rc = rc;
            batch[i].rq->suspended = false;
            MHD_resume_connection(batch[i].rq->conn);
        }

        pthread_mutex_lock(&s->pmu);
        s->pbusy = false;
        if (s->plen == 0)
            pthread_cond_broadcast(&s->pidle);
    }
    pthread_mutex_unlock(&s->pmu);
    return NULL;
}

int
req_park(struct req *rq, uint64_t ticket, void *arg, void (*arg_free)(void *))
{
    struct srv *s = rq->srv;

    if (!s || !s->pinit || rq->park_arg || rq->suspended || !ticket)
        return GH_EINVAL;
    pthread_mutex_lock(&s->pmu);
    if (s->plen == GH_MAX_DEFERRED || s->pstop) {
        pthread_mutex_unlock(&s->pmu);
        return GH_ETOOBIG;
    }
    rq->park_arg = arg;
    rq->park_free = arg_free;
    rq->suspended = true;
    rq->suspended_here = true;
    MHD_suspend_connection(rq->conn);   /* before the syncer can resume it */
    s->parked[s->plen++] = (struct parked){ rq, ticket };
    pthread_cond_signal(&s->pcv);
    pthread_mutex_unlock(&s->pmu);
    return GH_OK;
}

static int
syncer_start(struct srv *s, char *err, size_t errsz)
{
    pthread_mutex_init(&s->pmu, NULL);
    pthread_cond_init(&s->pcv, NULL);
    pthread_cond_init(&s->pidle, NULL);
    if (pthread_create(&s->syncer, NULL, syncer_main, s) != 0) {
        snprintf(err, errsz, "http: cannot start the sync thread");
        return GH_EINTERNAL;
    }
    s->pinit = true;
    return GH_OK;
}

/* Answer every parked request (a parked connection must resume before MHD stops), then end
 * the thread. */
static void
syncer_stop(struct srv *s)
{
    if (!s->pinit)
        return;
    pthread_mutex_lock(&s->pmu);
    while (s->plen || s->pbusy)
        pthread_cond_wait(&s->pidle, &s->pmu);
    s->pstop = true;
    pthread_cond_broadcast(&s->pcv);
    pthread_mutex_unlock(&s->pmu);
    pthread_join(s->syncer, NULL);
    pthread_mutex_destroy(&s->pmu);
    pthread_cond_destroy(&s->pcv);
    pthread_cond_destroy(&s->pidle);
    s->pinit = false;
}

static int
workers_start(struct srv *s, unsigned n, char *err, size_t errsz)
{
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcv, NULL);
    pthread_cond_init(&s->qidle, NULL);
    s->qinit = true;
    for (s->nworkers = 0; s->nworkers < n; s->nworkers++) {
        if (pthread_create(&s->workers[s->nworkers], NULL, worker_main, s) != 0) {
            snprintf(err, errsz, "http: cannot start worker threads");
            return GH_EINTERNAL;
        }
    }
    return GH_OK;
}

/* Wait until every queued job ran (their connections resumed), then end the workers.
 * Unbounded on purpose: a suspended connection must be resumed before MHD stops, and each
 * job is one password hash. */
static void
workers_stop(struct srv *s)
{
    if (!s->qinit)
        return;
    pthread_mutex_lock(&s->qmu);
    while (s->qlen || s->running)
        pthread_cond_wait(&s->qidle, &s->qmu);
    s->qstop = true;
    pthread_cond_broadcast(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    for (unsigned i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    s->nworkers = 0;
}

/* ---- listening ---------------------------------------------------------------------- */

static int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, bool *v6,
    char *err, size_t errsz)
{
    char host[64];
    const char *colon, *port_s;
    uint64_t port;
    size_t hlen;

    memset(ss, 0, sizeof(*ss));
    *v6 = false;
    if (!s || !*s)
        goto bad;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            goto bad;
        hlen = (size_t)(rb - s - 1);
        if (hlen == 0 || hlen >= sizeof(host))
            goto bad;
        memcpy(host, s + 1, hlen);
        host[hlen] = '\0';
        port_s = rb + 2;
        *v6 = true;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s)
            goto bad;
        hlen = (size_t)(colon - s);
        if (hlen >= sizeof(host))
            goto bad;
        memcpy(host, s, hlen);
        host[hlen] = '\0';
        port_s = colon + 1;
    }
    if (str_to_u64(port_s, 0, 65535, &port) != GH_OK)
        goto bad;
    if (*v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            goto bad;
        *sslen = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            goto bad;
        *sslen = sizeof(*a);
    }
    return GH_OK;
bad:
    snprintf(err, errsz, "listen: \"%s\" is not A.B.C.D:PORT or [IPv6]:PORT", s ? s : "");
    return GH_EINVAL;
}

int
srv_bind(const char *listen_s, int *fd, bool *v6, unsigned *port, char *err, size_t errsz)
{
    struct sockaddr_storage ss, bound;
    socklen_t sslen = 0, blen = sizeof(bound);
    int one = 1, s = -1, rc;

    *fd = -1;
    *port = 0;
    if ((rc = parse_listen(listen_s, &ss, &sslen, v6, err, errsz)) != GH_OK)
        return rc;
    rc = GH_EIO;
    s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) {
        snprintf(err, errsz, "%s: socket: %s", listen_s, strerror(errno));
        goto out;
    }
    /* SO_REUSEADDR: a restart may bind while old connections sit in TIME_WAIT (it does not
     * let two servers share the port; that would be SO_REUSEPORT) */
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (*v6 && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)) {
        snprintf(err, errsz, "%s: setsockopt: %s", listen_s, strerror(errno));
        goto out;
    }
    if (bind(s, (struct sockaddr *)&ss, sslen) != 0) {
        snprintf(err, errsz, "%s: %s", listen_s, strerror(errno));
        goto out;
    }
    /* we own listen(), so the backlog is set here (MHD_OPTION_LISTEN_BACKLOG_SIZE only
     * applies to sockets MHD creates) */
    if (listen(s, GH_LISTEN_BACKLOG) != 0) {
        snprintf(err, errsz, "%s: %s", listen_s, strerror(errno));
        goto out;
    }
    if (getsockname(s, (struct sockaddr *)&bound, &blen) != 0) {
        snprintf(err, errsz, "%s: getsockname: %s", listen_s, strerror(errno));
        goto out;
    }
    *port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    *fd = s;
    s = -1;
    rc = GH_OK;
out:
    if (s >= 0)
        close(s);
    return rc;
}

int
srv_listen(struct app *app, struct srv **out, unsigned *port, char *err, size_t errsz)
{
    struct srv *s = NULL;
    const char *names[MET_MAX_ROUTES];
    int rc;

    *out = NULL;
    *port = 0;
    s = x_calloc(1, sizeof(*s));
    s->fd = -1;
    s->app = app;
    atomic_init(&s->seq, 0);
    atomic_init(&s->inflight, 0);
    atomic_init(&s->draining, false);
    /* request ids only need to be unique, not secret: getrandom is enough */
    if (getrandom(&s->rid_prefix, sizeof(s->rid_prefix), 0) != (ssize_t)sizeof(s->rid_prefix)) {
        snprintf(err, errsz, "getrandom: %s", strerror(errno));
        rc = GH_EIO;
        goto out;
    }
    if ((rc = srv_bind(app->cfg->listen, &s->fd, &s->v6, &s->port, err, errsz)) != GH_OK)
        goto out;
    /* the metrics' route labels: the table's paths, before any thread counts a request */
    for (size_t i = 0; i < route_count() && i < MET_MAX_ROUTES; i++)
        names[i] = route_path(i);
    met_routes(names, route_count() < MET_MAX_ROUTES ? route_count() : MET_MAX_ROUTES);
    *port = s->port;
    *out = s;
    s = NULL;
    rc = GH_OK;
out:
    if (s) {
        if (s->fd >= 0)
            close(s->fd);
        free(s);
    }
    return rc;
}

void
srv_gauges(struct srv *s, struct met_gauges *g)
{
    memset(g, 0, sizeof(*g));
    if (!s)
        return;
    g->requests_in_flight = atomic_load_explicit(&s->inflight, memory_order_relaxed);
    if (s->qinit) {
        pthread_mutex_lock(&s->qmu);   /* a scrape, not the hot path */
        g->hash_queue_depth = s->qlen;
        g->hash_in_flight = s->running;
        pthread_mutex_unlock(&s->qmu);
    }
}

static unsigned
pool_size(const struct cfg *c)
{
    long n = c->threads ? (long)c->threads : sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        n = 1;
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    return (unsigned)n;
}

/* GnuTLS priority string (gnutls_priority_init(3)): the 256-bit and 128-bit "secure" sets, then
 * only TLS 1.3 and 1.2 (BSI TR-02102-2, NIST SP 800-52r2 §3.1: nothing older), only the AEAD
 * ciphers AES-GCM and ChaCha20-Poly1305 (no CBC, so no Lucky13/POODLE-style padding oracles),
 * and the server's order rather than the client's. */
#define TLS_PRIORITIES \
    "SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:" \
    "+AES-128-GCM:+CHACHA20-POLY1305:%SERVER_PRECEDENCE"

int
srv_tls(struct srv *s, const char *cert_pem, const char *key_pem, char *err, size_t errsz)
{
    if (s->d) {
        snprintf(err, errsz, "http: TLS must be set before the server starts");
        return GH_EINVAL;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, errsz, "this libmicrohttpd was built without TLS support: serve plain http "
            "behind a TLS-terminating reverse proxy instead of tls_cert/tls_key");
        return GH_EINVAL;
    }
    s->tls_cert = cert_pem;
    s->tls_key = key_pem;
    return GH_OK;
}

/* A configured 0 would mean "unlimited" to MHD: never let it through. */
static unsigned
or_default(uint32_t v, unsigned def)
{
    return v ? v : def;
}

int
srv_start(struct srv *s, char *err, size_t errsz)
{
    const struct cfg *c = s->app->cfg;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* MHD keeps these pointers (it reads them when it starts): srv_tls() callers keep the text
     * alive until srv_drain_and_stop(). ptr_value is void * but only read, hence the casts. */
    struct MHD_OptionItem tls_opts[] = {
        { MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)(uintptr_t)s->tls_cert },
        { MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)s->tls_key },
        { MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)(uintptr_t)TLS_PRIORITIES },
        { MHD_OPTION_END, 0, NULL },
    };
    int rc;

    if (s->d || s->fd < 0) {
        snprintf(err, errsz, "http: server already started or not listening");
        return GH_EINVAL;
    }
    if (s->v6)
        flags |= MHD_USE_IPv6;
    if (s->tls_key)
        flags |= MHD_USE_TLS;
    /* counted here, not with MHD_OPTION_PER_IP_CONNECTION_LIMIT: trusted proxies are exempt */
    s->cl = cl_new(or_default(c->max_connections, GH_MAX_CONNECTIONS),
        or_default(c->max_connections_per_ip, GH_MAX_CONN_PER_IP), &s->app->trusted_proxies);
    /* one worker per core: hashing may use every core, at a lower priority */
    if ((rc = workers_start(s, (unsigned)(cores < 1 ? 1 : cores > MAX_THREADS ? MAX_THREADS : cores),
             err, errsz)) != GH_OK ||
        (rc = syncer_start(s, err, errsz)) != GH_OK)
        return rc;
    s->d = MHD_start_daemon(flags, 0, on_accept, s, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,   /* must come first (MHD says so) */
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)s->fd,
        MHD_OPTION_THREAD_POOL_SIZE, pool_size(c),
        MHD_OPTION_CONNECTION_LIMIT, or_default(c->max_connections, GH_MAX_CONNECTIONS),
        MHD_OPTION_CONNECTION_TIMEOUT, or_default(c->connection_timeout, GH_CONN_TIMEOUT_S),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)GH_CONN_MEMORY_LIMIT,
        /* RFC 9112 §3.2: reject HTTP/1.1 without Host; no spaces inside the target */
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        /* without TLS the array starts at its end marker */
        MHD_OPTION_ARRAY, s->tls_key ? tls_opts : &tls_opts[3],
        MHD_OPTION_END);
    if (!s->d) {
        /* whether a failed MHD_start_daemon closed the socket it was given differs between
         * versions; find out rather than risk closing a reused descriptor later */
        if (fcntl(s->fd, F_GETFD) < 0 && errno == EBADF)
            s->fd = -1;
        if (s->tls_key)
            snprintf(err, errsz, "%s: cannot start HTTPS with the certificate %.200s and the key "
                "%.200s (see the log above)", c->listen, c->tls_cert ? c->tls_cert : "?",
                c->tls_key ? c->tls_key : "?");
        else
            snprintf(err, errsz, "%s: cannot start the HTTP daemon (see the log above)",
                c->listen);
        return GH_EINTERNAL;
    }
    return GH_OK;
}

unsigned
srv_drain_and_stop(struct srv *s, unsigned timeout_s)
{
    int64_t deadline;
    unsigned cut = 0;

    if (!s)
        return 0;
    if (s->d) {
        atomic_store(&s->draining, true);
        deadline = clock_mono_us() + (int64_t)timeout_s * 1000000;
        for (;;) {
            const union MHD_DaemonInfo *di =
                MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
            unsigned inflight = atomic_load(&s->inflight);
            struct timespec ts = { 0, 20 * 1000 * 1000 };

            /* idle keep-alive connections hold no request: they are closed, not waited for */
            if ((di && di->num_connections == 0) || inflight == 0)
                break;
            if (clock_mono_us() >= deadline) {
                cut = inflight;
                break;
            }
            nanosleep(&ts, NULL);
        }
        workers_stop(s);         /* suspended connections must resume before MHD stops */
        syncer_stop(s);
        MHD_stop_daemon(s->d);   /* closes the listening socket it was given */
        s->d = NULL;
        s->fd = -1;
    }
    workers_stop(s);
    syncer_stop(s);
    if (s->qinit) {
        pthread_mutex_destroy(&s->qmu);
        pthread_cond_destroy(&s->qcv);
        pthread_cond_destroy(&s->qidle);
    }
    if (s->fd >= 0)
        close(s->fd);
    cl_free(s->cl);
    free(s);
    return cut;
}
