/* req.h — one HTTP request as handlers see it. http/req.c is the only code that reads
 * libmicrohttpd (headers, the raw request target, the body); handlers use the accessors below
 * and get parsed, bounded values. Fields of struct req are private to http/ (server.c, resp.c).
 *
 * Parameters: req_params_add() is the strict application/x-www-form-urlencoded decoder used
 * for query strings and form bodies (STYLE.md §6): percent-escapes need two hex digits, '+'
 * is a space, and after decoding every name and value must be valid UTF-8 with no NUL or
 * control character (C0, DEL, C1). A name may appear once (RFC 6749 §3.1), even across
 * the query and the body when both are added to one list. Lengths are carried, never strlen. */
#ifndef GH_HTTP_REQ_H
#define GH_HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/audit.h"
#include "core/limits.h"
#include "util/buf.h"

struct app;
struct cookie_jar;
struct resp_conn;
struct route;
struct srv;
struct MHD_Connection; /* only http/ includes <microhttpd.h> */

enum req_method {
    REQ_GET = 1 << 0,
    REQ_HEAD = 1 << 1,
    REQ_POST = 1 << 2,
    REQ_PUT = 1 << 3,
    REQ_DELETE = 1 << 4,
    REQ_OPTIONS = 1 << 5,
    REQ_PATCH = 1 << 6,
    REQ_OTHER = 1 << 7,  /* anything else (CONNECT, TRACE, junk tokens) */
};

#define REQ_RID_SIZE 33  /* 16 hex prefix + up to 16 hex counter + NUL */
#define REQ_IP_SIZE 46   /* INET6_ADDRSTRLEN */

struct req {
    struct app *app;               /* read-only for handlers */
    struct MHD_Connection *conn;   /* http/ only */
    struct resp_conn *conn_ctx;    /* per-connection response cache (resp.c), may be NULL */
    enum req_method method;
    const char *path;              /* raw (not percent-decoded) path, NUL-terminated */
    size_t path_len;
    const char *query;             /* raw query without '?', or NULL when there was no '?' */
    size_t query_len;
    int64_t t0_us;                 /* clock_mono_us() when the request line was read */
    uint64_t seq;                  /* request counter; with the process prefix forms the rid */
    uint64_t rid_prefix;
    char rid[REQ_RID_SIZE];        /* formatted lazily by req_rid() */
    char method_raw[16];           /* for the access log when method == REQ_OTHER */
    struct buf body;               /* bounded by GH_MAX_BODY; wiped on free */
    unsigned status;               /* status queued, 0 until a response is queued */
    size_t bytes;                  /* body bytes of the queued response */
    bool started;                  /* the access handler has seen this request */
    int route_result;              /* enum route_result, decided on the first call */
    const struct route *route;     /* when route_result is ROUTE_FOUND */
    unsigned allow;                /* methods the path accepts, for 405 */
    bool body_too_big;             /* upload exceeded GH_MAX_BODY */
    size_t discarded;              /* bytes dropped after that, bounded (server.c) */
    bool uri_too_long;             /* path > GH_MAX_PATH_LEN or query > GH_MAX_BODY */
    char *uri;                     /* the copy path/query point into (same allocation) */
    struct cookie_jar *cookies;    /* parsed by the first req_cookie(), NULL until then */
    bool cookies_parsed;
    char *ip;                      /* -> ip_buf; req_client_ip() fills it through a const rq */
    char ip_buf[REQ_IP_SIZE];
    struct srv *srv;               /* the server that made it (server.c) */
    bool suspended;                /* req_defer() work is queued or running, or req_park()ed */
    bool suspended_here;           /* this call of the handler suspended it (HTTP thread only) */
    void *defer_arg;               /* what req_defer() was given; see req_deferred() */
    void (*defer_work)(struct app *, void *);   /* and its work; see req_deferred_by() */
    void (*defer_free)(void *);
    void *park_arg;                /* what req_park() was given; see req_parked() */
    void (*park_free)(void *);
    int park_rc;                   /* the sync's result, once resumed */
};

/* Called by server.c only. req_new copies the raw request target (NUL-terminated, as MHD
 * passes it) unless it is over the bounds, in which case uri_too_long is set. Never NULL. */
struct req *req_new(const char *uri, uint64_t rid_prefix, uint64_t seq);
void req_free(struct req *rq);      /* wipes the body and cookies; NULL is a no-op */
enum req_method req_method_parse(const char *s);
const char *req_method_name(enum req_method m); /* "GET"...; "OTHER" for REQ_OTHER */

/* ---- slow work off the HTTP threads ---------------------------------------------------
 * Password hashing takes tens of milliseconds of CPU; done on an HTTP thread it would stall
 * every other connection that thread serves. A handler hands such work to the server's
 * worker pool instead: req_defer() suspends the connection and queues work(app, arg) on a
 * pool thread running at a lower CPU priority, so under a login storm discovery, JWKS and
 * token requests keep their CPU. When work returns, the connection resumes and the same
 * handler runs again, now with req_deferred(rq) == arg (which it reads the result from).
 * GH_OK: the handler must return GH_OK without queuing a response. GH_ETOOBIG: the queue is
 * full (the handler should answer 503); arg is not taken. arg is freed with arg_free (may be
 * NULL) when the request ends. One deferral at a time: GH_EINVAL while one is pending or its
 * result has not been dropped with req_defer_clear(). */
int   req_defer(struct req *rq, void (*work)(struct app *app, void *arg), void *arg,
          void (*arg_free)(void *));
void *req_deferred(const struct req *rq);   /* arg after the work ran, else NULL */
/* A handler that may defer more than one kind of work (a key fetch for client authentication,
 * ep/client_req.c, then the JWT-bearer grant's own, ep/token_jwt.c) tells them apart by the
 * work function: req_deferred(rq) when the work that ran was work, else NULL. */
void *req_deferred_by(const struct req *rq, void (*work)(struct app *app, void *arg));
/* Drop the result of a finished deferral once the handler has used it: arg is freed now and
 * req_deferred() is NULL again, so the same run of the handler may req_defer() once more. A
 * no-op while the work is queued or running, or when there is none. */
void  req_defer_clear(struct req *rq);

/* An answer that must wait until the request's durable writes are on disk (store.h:
 * store_sync_defer, store_sync_take) need not hold an HTTP thread meanwhile: req_park()
 * suspends the connection with the answer in arg; one server thread syncs once for every
 * request parked meanwhile and resumes them; the same handler runs again with
 * req_parked(rq, &rc) == arg and rc the sync's result (GH_OK: send the answer; else the
 * writes may be lost: 503). GH_OK: return GH_OK without queuing a response. GH_ETOOBIG (too
 * many parked, or stopping) or GH_EINVAL: not parked, arg not taken; wait in place
 * (store_sync_wait). arg is freed with arg_free when the request ends. Once per request. */
int   req_park(struct req *rq, uint64_t ticket, void *arg, void (*arg_free)(void *));
void *req_parked(const struct req *rq, int *rc);

/* The request id, e.g. "9f2c41d07ab3e815000000000000002a": hex of a per-process random
 * 64-bit prefix and a 64-bit counter. Borrowed from rq. Not thread-safe per request (each
 * request is handled by one thread). */
const char *req_rid(struct req *rq);

/* The first value of request header name (case-insensitive), or NULL. Borrowed until the
 * request completes. *len (if non-NULL) gets the length MHD recorded. */
const char *req_header(const struct req *rq, const char *name, size_t *len);
/* Like req_header, but GH_EINVAL if the header occurs more than once (for headers where a
 * second copy would be ambiguous, e.g. Authorization). GH_ENOTFOUND if absent. */
int req_header_unique(const struct req *rq, const char *name, const char **val, size_t *len);

/* The request body bytes received so far (complete when a handler runs). Borrowed. */
const char *req_body(const struct req *rq, size_t *len);

/* The client's address as text ("192.0.2.7", "2001:db8::1"): the TCP peer, or, when the
 * peer is one of the trusted_proxies, the client X-Forwarded-For names (util/net.h). For logs
 * and the sign-in limits. "" when unknown. Borrowed from rq. */
const char *req_client_ip(const struct req *rq);

/* The TCP peer of conn as 16 bytes (IPv4 mapped, util/net.h); false when unknown. */
bool req_conn_peer(struct MHD_Connection *conn, unsigned char out[16]);

/* The request as the source of an audit event (core/audit.h): rid and client address, both
 * borrowed from rq. */
struct audit_src req_audit_src(struct req *rq);

/* ---- cookies -------------------------------------------------------------------------- */

/* The value of cookie name (case-sensitive), or NULL when it is absent, sent twice, or
 * malformed (http/cookie.h: foreign and malformed pairs are skipped). The Cookie header is
 * parsed once, on the first call, into a jar on rq that req_free() wipes. HTTP/1.1 browsers
 * send one Cookie line (RFC 6265 §5.4); if there are several (an HTTP/2 front end that did
 * not join them, RFC 9113 §8.2.3), they are joined with "; " and parsed as one, so a name in
 * two lines counts as a duplicate. A header (joined) over GH_MAX_COOKIE_HEADER bytes yields
 * no cookies at all, logged as a warning. *len (may be NULL) gets the value length. The
 * value is NUL-terminated and borrowed until the request completes. */
const char *req_cookie(struct req *rq, const char *name, size_t *len);

/* ---- Authorization -------------------------------------------------------------------- */

/* Client credentials from "Authorization: Basic" (RFC 7617 §2) as RFC 6749 §2.3.1 defines
 * them: the client id and secret are application/x-www-form-urlencoded first, then joined by
 * ':' and base64-encoded. So: the scheme is matched case-insensitively, one or more SP, then
 * standard base64 WITH padding (RFC 4648 §4; not base64url, no whitespace, canonical: unused
 * bits zero); the decoded bytes are split at the first ':' and each part form-url-decoded with
 * the same strict decoder as parameters ('+' is a space, "%3A" a colon). Both parts, before
 * and after that decoding, must be valid UTF-8 without NUL or control characters; the user
 * (client id) must not be empty, the password (secret) may be.
 * Trailing whitespace after the credentials is not part of the header (RFC 9110 §5.5).
 * GH_OK: *user and *pass are new strings (caller frees; the password with str_wipe_free).
 * GH_ENOTFOUND: no Authorization header, or another scheme. GH_EINVAL: malformed, or the
 * header is sent twice. GH_ETOOBIG: a Basic header value over GH_MAX_TOKEN_LEN bytes
 * (checked before decoding). On error *user and *pass are NULL. */
int  req_basic(const struct req *rq, char **user, char **pass);
/* The same on a raw Authorization header value of len bytes (need not be NUL-terminated;
 * no whitespace trimmed): what req_basic() runs after looking the header up. Exposed for
 * tests and fuzzing. */
int  req_basic_decode(const char *hdr, size_t len, char **user, char **pass);

/* An access token from "Authorization: Bearer" (RFC 6750 §2.1): the scheme (any case), one
 * or more SP, then b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 * and nothing after it but trailing whitespace (RFC 9110 §5.5). GH_OK: *tok points at the
 * token inside the header value (borrowed until the request completes) and *len is its
 * length; use *len: the token is not NUL-terminated when whitespace followed it.
 * GH_ENOTFOUND: no Authorization header or another scheme. GH_EINVAL: malformed, or the
 * header is sent twice. GH_ETOOBIG: a token over GH_MAX_JWT_LEN bytes. On error *tok is NULL
 * and *len 0. */
int  req_bearer(const struct req *rq, const char **tok, size_t *len);
/* The same on a raw header value of hlen bytes (no whitespace trimmed); *tok points into
 * hdr. For tests and fuzzing. */
int  req_bearer_parse(const char *hdr, size_t hlen, const char **tok, size_t *len);

/* ---- parameters --------------------------------------------------------------------- */

struct req_param {
    const char *name;    /* decoded, NUL-terminated, name_len bytes */
    size_t name_len;
    const char *value;   /* decoded, NUL-terminated, value_len bytes (0 when "a" or "a=") */
    size_t value_len;
};

#define REQ_PARAMS_MAX_SRC 2  /* query + body */

struct req_params {
    size_t n;
    struct req_param p[GH_MAX_PARAMS];
    char *mem[REQ_PARAMS_MAX_SRC];   /* decoded copies; private */
    size_t memlen[REQ_PARAMS_MAX_SRC];
};

void req_params_init(struct req_params *ps);
/* Decode len bytes of s (need not be NUL-terminated) and append to ps. Empty segments
 * ("a=1&&b=2", a trailing '&') carry nothing and are skipped. GH_OK; GH_EINVAL (bad escape,
 * empty name, NUL/control/invalid UTF-8 after decoding, a duplicate name, more than
 * REQ_PARAMS_MAX_SRC sources); GH_ETOOBIG (len > GH_MAX_BODY, more than GH_MAX_PARAMS
 * parameters, a name over GH_MAX_PARAM_LEN decoded bytes, a value over req_param_max of its
 * name). *why gets a short static text fit for an error_description. On error ps is left as
 * it was before the call. */
int  req_params_add(struct req_params *ps, const char *s, size_t len, const char **why);
/* The longest value accepted for a parameter name (decoded bytes): GH_MAX_JWT_LEN for those
 * that carry a JWT (assertion, client_assertion, token, id_token_hint), GH_MAX_PARAM_LEN for
 * the others. */
size_t req_param_max(const char *name, size_t nlen);
/* The value of name, or NULL when it is absent or empty (RFC 6749 §3.1: parameters without
 * a value are treated as omitted). *len (if non-NULL) gets the value length. Borrowed. */
const char *req_param(const struct req_params *ps, const char *name, size_t *len);
void req_params_free(struct req_params *ps);   /* wipes the decoded copies */

/* Parse the query string of rq into ps (an empty list when there is none). */
int  req_query(const struct req *rq, struct req_params *ps, const char **why);
/* Parse the body of rq into ps; the Content-Type must be application/x-www-form-urlencoded
 * (optionally with charset=utf-8). GH_EINVAL otherwise. */
int  req_form(const struct req *rq, struct req_params *ps, const char **why);
/* The Content-Type test req_form() applies (v may be NULL). */
bool req_is_form_type(const char *v, size_t len);

#endif
