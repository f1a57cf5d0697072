/* resp.c — building and queuing responses. Every response gets the security headers of
 * STYLE.md §6.7 from one function, and errors have one JSON shape (RFC 6749 §5.2). JSON is
 * only ever produced by jansson (json_dumpb, compact). Static documents (discovery, JWKS)
 * are serialised, hashed (strong ETag) and their header values formatted once at start-up.
 * Every response carries its own X-Request-Id, and MHD 0.9.75 cannot add a header per
 * connection to a shared response, so each connection keeps the document responses it has
 * sent and swaps only that header on the next request (keep-alive clients cost three small
 * allocations per request instead of a response with eight headers). Conditional GETs get a
 * 304 (RFC 9110 §13.1.2). HTML pages (rendered by tmpl/, never here) and redirects carry
 * Set-Cookie values formatted by cookie.c. Header values that come from callers (Location,
 * Set-Cookie, the extra header) are refused when they hold a control character: a CR or LF
 * would split the header (RFC 9110 §5.5 forbids them in field values). */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "app.h"
#include "core/err.h"
#include "core/log.h"
#include "crypto/digest.h"
#include "http/req.h"
#include "http/resp.h"
#include "util/b64url.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

#define CSP_JSON "default-src 'none'; frame-ancestors 'none'"
/* Pages load our stylesheet (and images) from /static/; no framing (clickjacking, RFC 9700
 * §4.16), no <base> rewriting, no plugins. No form-action: browsers apply it to the redirect
 * that follows a login POST, which goes to the client's origin. */
#define CSP_HTML "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
#define ETAG_SIZE (2 + 43 + 1)   /* quotes + base64url(SHA-256) + NUL */
#define JSON_BODY_GUESS 4096     /* send_json: first buffer for a dynamic JSON body */

struct resp_doc {
    char *body;            /* serialised once; every response points at it (never copied) */
    size_t len;
    /* One for the owner (resp_doc_new) plus one per MHD response pointing at body: a reload
     * (SIGHUP, key rotation) frees the owner's reference while keep-alive connections may still
     * hold or be sending a response, so the body lives until MHD releases the last one. */
    atomic_uint refs;
    char etag[ETAG_SIZE];
    char cache_control[40];
    char ctype[64];
};

static const struct {
    const char *name, *value;
} sec_headers[] = {
    { MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS, "nosniff" },
    { "Referrer-Policy", "no-referrer" },
    { MHD_HTTP_HEADER_X_FRAME_OPTIONS, "DENY" },
};

static int
add_hdr(struct MHD_Response *r, const char *name, const char *value)
{
    if (MHD_add_response_header(r, name, value) != MHD_YES) {
        log_err("http", "cannot add response header %s", name);
        return GH_EINTERNAL;
    }
    return GH_OK;
}

/* Set once before serving (resp_hsts); read-only afterwards. */
static bool hsts;

void
resp_hsts(bool on)
{
    hsts = on;
}

static int
add_sec_headers(struct MHD_Response *r, const char *csp)
{
    for (size_t i = 0; i < sizeof(sec_headers) / sizeof(sec_headers[0]); i++) {
        if (add_hdr(r, sec_headers[i].name, sec_headers[i].value) != GH_OK)
            return GH_EINTERNAL;
    }
    /* RFC 6797; one year, the OWASP HTTP Headers Cheat Sheet's value. Browsers ignore it on
     * plain http, so it is sent whenever the issuer (what clients use) is https. */
    if (hsts && add_hdr(r, MHD_HTTP_HEADER_STRICT_TRANSPORT_SECURITY,
                    "max-age=31536000; includeSubDomains") != GH_OK)
        return GH_EINTERNAL;
    return add_hdr(r, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, csp);
}

/* RFC 9110 §5.6.2: a header name is a token */
static bool
hname_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                strchr("!#$%&'*+-.^_`|~", c)))
            return false;
    }
    return true;
}

/* A header value from a caller: no CR, LF or other control character (a C string cannot
 * hold a NUL, so none can cut it short either). Stricter than RFC 9110 §5.5, which allows
 * HTAB: no value of ours needs one. */
static bool
hval_ok(const char *v)
{
    return v && !str_has_ctl(v, strlen(v));
}

/* set_cookies: NULL, or a NULL-terminated list of non-empty, control-free values. */
static bool
cookies_ok(const char *const *set_cookies)
{
    for (size_t i = 0; set_cookies && set_cookies[i]; i++) {
        if (!set_cookies[i][0] || !hval_ok(set_cookies[i]))
            return false;
    }
    return true;
}

static int
add_cookies(struct MHD_Response *r, const char *const *set_cookies)
{
    for (size_t i = 0; set_cookies && set_cookies[i]; i++) {
        if (add_hdr(r, MHD_HTTP_HEADER_SET_COOKIE, set_cookies[i]) != GH_OK)
            return GH_EINTERNAL;
    }
    return GH_OK;
}

/* Queue r (always destroyed here: MHD keeps its own reference) and record status and size
 * for the access log. */
static int
queue(struct req *rq, unsigned status, struct MHD_Response *r, size_t bytes)
{
    enum MHD_Result ok = MHD_queue_response(rq->conn, status, r);

    MHD_destroy_response(r);
    if (ok != MHD_YES) {
        log_err("http", "rid=%s cannot queue a %u response", req_rid(rq), status);
        return GH_EINTERNAL;
    }
    rq->status = status;
    rq->bytes = rq->method == REQ_HEAD ? 0 : bytes;
    return GH_OK;
}

/* The headers of a dynamic response: security headers with csp, Content-Type ctype (NULL:
 * none, for an empty body), Cache-Control: no-store, X-Request-Id. */
static int
add_dynamic_headers(struct req *rq, struct MHD_Response *r, const char *csp, const char *ctype)
{
    if (add_sec_headers(r, csp) != GH_OK ||
        (ctype && add_hdr(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != GH_OK) ||
        add_hdr(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != GH_OK ||
        add_hdr(r, "X-Request-Id", req_rid(rq)) != GH_OK)
        return GH_EINTERNAL;
    return GH_OK;
}

/* Dynamic bodies carry their size in front so the free callback can wipe them. */
static void
wipe_free_body(void *p)
{
    unsigned char *base;
    size_t n;

    if (!p)
        return;
    base = (unsigned char *)p - sizeof(size_t);
    memcpy(&n, base, sizeof(n));
    mem_wipe_free(base, n + sizeof(size_t));
}

/* n bytes for a body that wipe_free_body() will release (all n bytes are wiped, whatever
 * part of them the body uses). */
static char *
body_alloc(size_t n)
{
    unsigned char *base = x_malloc(sizeof(size_t) + n);

    memcpy(base, &n, sizeof(n));
    return (char *)base + sizeof(size_t);
}

static int
send_json(struct req *rq, unsigned status, const json_t *body, const char *hname,
    const char *hval)
{
    struct MHD_Response *r = NULL;
    char *text;
    size_t n;

    if (hname && (!hname_ok(hname) || !hval_ok(hval))) {
        log_err("http", "rid=%s refusing a malformed extra header", req_rid(rq));
        return GH_EINVAL;
    }
    /* One pass into a buffer that fits nearly every answer (a token response is under 2 KiB);
     * only a larger body is serialised a second time, into a buffer of its exact size. */
    text = body_alloc(JSON_BODY_GUESS);
    n = json_dumpb(body, text, JSON_BODY_GUESS, JSON_COMPACT);
    if (n > JSON_BODY_GUESS) {
        wipe_free_body(text);
        text = body_alloc(n);
        if (json_dumpb(body, text, n, JSON_COMPACT) != n)
            n = 0;
    }
    if (n == 0) {
        log_err("http", "rid=%s cannot serialise a JSON response", req_rid(rq));
        wipe_free_body(text);
        return GH_EINTERNAL;
    }
    r = MHD_create_response_from_buffer_with_free_callback(n, text, wipe_free_body);
    if (!r) {
        wipe_free_body(text);
        return GH_EINTERNAL;
    }
    /* from here MHD_destroy_response() releases text through wipe_free_body */
    if (add_dynamic_headers(rq, r, CSP_JSON, "application/json") != GH_OK ||
        (hname && add_hdr(r, hname, hval) != GH_OK)) {
        MHD_destroy_response(r);
        return GH_EINTERNAL;
    }
    return queue(rq, status, r, n);
}

int
resp_json(struct req *rq, unsigned status, const json_t *body)
{
    return send_json(rq, status, body, NULL, NULL);
}

int
resp_json_hdr(struct req *rq, unsigned status, const json_t *body, const char *hname,
    const char *hval)
{
    return send_json(rq, status, body, hname, hval);
}

int
resp_json_static(struct req *rq, unsigned status, const char *body, size_t len)
{
    struct MHD_Response *r;

    /* the cast is MHD's API: PERSISTENT buffers are never written to */
    r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return GH_EINTERNAL;
    if (add_dynamic_headers(rq, r, CSP_JSON, "application/json") != GH_OK) {
        MHD_destroy_response(r);
        return GH_EINTERNAL;
    }
    return queue(rq, status, r, len);
}

int
resp_error_hdr(struct req *rq, unsigned status, const char *code, const char *desc,
    const char *hname, const char *hval)
{
    json_t *o = json_object();
    int rc = GH_EINTERNAL;

    if (!o)
        return GH_EINTERNAL;
    if (json_object_set_new(o, "error", json_string(code)) != 0)
        goto out;
    if (desc && json_object_set_new(o, "error_description", json_string(desc)) != 0)
        goto out;
    rc = send_json(rq, status, o, hname, hval);
out:
    json_decref(o);
    return rc;
}

int
resp_error(struct req *rq, unsigned status, const char *code, const char *desc)
{
    return resp_error_hdr(rq, status, code, desc, NULL, NULL);
}

int
resp_store_unavailable(struct req *rq)
{
    return resp_error_hdr(rq, 503, "temporarily_unavailable", "the store is unavailable",
        MHD_HTTP_HEADER_RETRY_AFTER, RESP_STORE_RETRY_AFTER);
}

/* RFC 6750 §3: error and error_description are quoted-strings of NQSCHAR
 * (%x20-21 / %x23-5B / %x5D-7E), so no quote or backslash can end the string early. */
static bool
nqschar_ok(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

int
resp_bearer_error(struct req *rq, unsigned status, const char *code, const char *desc)
{
    char hval[512];
    int n;

    /* §3.1: a request that carried no token gets the challenge without an error code */
    if (!code)
        return resp_error_hdr(rq, 401, "invalid_token", "an access token is required",
            MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"" RESP_REALM "\"");
    if (!*code || !nqschar_ok(code) || (desc && !nqschar_ok(desc)))
        return GH_EINVAL;
    if (desc)
        n = snprintf(hval, sizeof(hval),
            "Bearer realm=\"" RESP_REALM "\", error=\"%s\", error_description=\"%s\"", code,
            desc);
    else
        n = snprintf(hval, sizeof(hval), "Bearer realm=\"" RESP_REALM "\", error=\"%s\"", code);
    if (n < 0 || (size_t)n >= sizeof(hval))
        return GH_EINVAL;
    return resp_error_hdr(rq, status, code, desc, MHD_HTTP_HEADER_WWW_AUTHENTICATE, hval);
}

/* ---- HTML pages and redirects ------------------------------------------------------- */

int
resp_html(struct req *rq, unsigned status, const char *body, size_t len,
    const char *const *set_cookies)
{
    return resp_html_hdr(rq, status, body, len, set_cookies, NULL, NULL);
}

int
resp_html_hdr(struct req *rq, unsigned status, const char *body, size_t len,
    const char *const *set_cookies, const char *hname, const char *hval)
{
    struct MHD_Response *r;
    char *copy;

    if (!cookies_ok(set_cookies) || (hname && (!hname_ok(hname) || !hval_ok(hval)))) {
        log_err("http", "rid=%s refusing a malformed Set-Cookie value or extra header",
            req_rid(rq));
        return GH_EINVAL;
    }
    copy = body_alloc(len);
    if (len)
        memcpy(copy, body, len);
    r = MHD_create_response_from_buffer_with_free_callback(len, copy, wipe_free_body);
    if (!r) {
        wipe_free_body(copy);
        return GH_EINTERNAL;
    }
    if (add_dynamic_headers(rq, r, CSP_HTML, "text/html; charset=utf-8") != GH_OK ||
        add_cookies(r, set_cookies) != GH_OK || (hname && add_hdr(r, hname, hval) != GH_OK)) {
        MHD_destroy_response(r);
        return GH_EINTERNAL;
    }
    return queue(rq, status, r, len);
}

int
resp_redirect(struct req *rq, unsigned status, const char *location,
    const char *const *set_cookies)
{
    struct MHD_Response *r;

    if (status != MHD_HTTP_FOUND && status != MHD_HTTP_SEE_OTHER) {
        log_err("http", "rid=%s refusing a redirect with status %u", req_rid(rq), status);
        return GH_EINVAL;
    }
    if (!location || !*location || !hval_ok(location) || !cookies_ok(set_cookies)) {
        log_err("http", "rid=%s refusing a malformed Location or Set-Cookie", req_rid(rq));
        return GH_EINVAL;
    }
    r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return GH_EINTERNAL;
    /* RFC 6749 §4.1.2 puts the code in the Location: no cache may keep it */
    if (add_dynamic_headers(rq, r, CSP_JSON, NULL) != GH_OK ||
        add_hdr(r, MHD_HTTP_HEADER_LOCATION, location) != GH_OK ||
        add_cookies(r, set_cookies) != GH_OK) {
        MHD_destroy_response(r);
        return GH_EINTERNAL;
    }
    return queue(rq, status, r, 0);
}

/* ---- static documents ------------------------------------------------------------- */

int
resp_doc_new(const char *ctype, const void *body, size_t len, unsigned max_age,
    struct resp_doc **out)
{
    struct resp_doc *d = NULL;
    unsigned char dig[DIG_SHA256_LEN];
    int rc = GH_EINTERNAL, n;

    *out = NULL;
    d = x_calloc(1, sizeof(*d));
    atomic_init(&d->refs, 1);
    d->body = x_malloc(len ? len : 1);
    memcpy(d->body, body, len);
    d->len = len;
    dig_sha256(body, len, dig);
    d->etag[0] = '"';
    if (b64url_encode(dig, sizeof(dig), d->etag + 1, sizeof(d->etag) - 2) != GH_OK)
        goto out;
    memcpy(d->etag + 44, "\"", 2);
    /* RFC 8246: a year-long lifetime is only given to content-addressed URLs (the ?v= hash of
     * ep/pages.c), which never change: browsers need not revalidate them on reload */
    n = snprintf(d->cache_control, sizeof(d->cache_control), "public, max-age=%u%s", max_age,
        max_age >= RESP_MAX_AGE_IMMUTABLE ? ", immutable" : "");
    if (n < 0 || (size_t)n >= sizeof(d->cache_control))
        goto out;
    if (str_copy(d->ctype, sizeof(d->ctype), ctype) != GH_OK)
        goto out;
    *out = d;
    d = NULL;
    rc = GH_OK;
out:
    resp_doc_free(d);
    return rc;
}

int
resp_doc_new_json(const json_t *doc, unsigned max_age, struct resp_doc **out)
{
    char *text;
    size_t n;
    int rc;

    *out = NULL;
    n = json_dumpb(doc, NULL, 0, JSON_COMPACT);
    if (n == 0)
        return GH_EINTERNAL;
    text = x_malloc(n);
    if (json_dumpb(doc, text, n, JSON_COMPACT) != n) {
        free(text);
        return GH_EINTERNAL;
    }
    rc = resp_doc_new("application/json", text, n, max_age, out);
    free(text);
    return rc;
}

void
resp_doc_free(struct resp_doc *d)
{
    if (!d || atomic_fetch_sub(&d->refs, 1) != 1)
        return;
    free(d->body);
    free(d);
}

const char *
resp_doc_etag(const struct resp_doc *d)
{
    return d->etag;
}

const char *
resp_doc_body(const struct resp_doc *d, size_t *len)
{
    *len = d->len;
    return d->body;
}

/* If-None-Match = "*" / #entity-tag; entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE.
 * Weak comparison: W/"x" matches "x". Anything unparsable matches nothing (a full 200 is
 * always a safe answer). */
bool
resp_inm_match(const char *inm, size_t len, const char *etag)
{
    size_t elen = strlen(etag), i = 0;

    while (i < len) {
        size_t start;

        while (i < len && (inm[i] == ' ' || inm[i] == '\t' || inm[i] == ','))
            i++;
        if (i == len)
            break;
        if (inm[i] == '*') {
            i++;
            while (i < len && (inm[i] == ' ' || inm[i] == '\t'))
                i++;
            if (i == len || inm[i] == ',')
                return true;
            return false;
        }
        if (len - i >= 2 && inm[i] == 'W' && inm[i + 1] == '/')
            i += 2;
        if (i == len || inm[i] != '"')
            return false;
        start = i++;
        while (i < len && inm[i] != '"')
            i++;
        if (i == len)
            return false;
        i++;
        if (i - start == elen && memcmp(inm + start, etag, elen) == 0)
            return true;
        while (i < len && (inm[i] == ' ' || inm[i] == '\t'))
            i++;
        if (i < len && inm[i] != ',')
            return false;
    }
    return false;
}

/* MHD is done with a document response: drop its reference (struct resp_doc refs). */
static void
doc_release(void *cls)
{
    resp_doc_free(cls);
}

/* A document response with every header; NULL if MHD refused one. */
static struct MHD_Response *
doc_response(const struct resp_doc *cd, unsigned status, const char *rid)
{
    /* only the reference count changes; the document itself stays read-only */
    struct resp_doc *d = (struct resp_doc *)(uintptr_t)cd;
    struct MHD_Response *r;

    /* The body is never copied. The 304 gets the same buffer: MHD sends no body with a 304
     * but derives Content-Length from the size, and RFC 9110 §8.6 allows it on a 304 only
     * when it equals the 200's. */
    atomic_fetch_add(&d->refs, 1);
    r = MHD_create_response_from_buffer_with_free_callback_cls(d->len, d->body, doc_release, d);
    if (!r) {
        resp_doc_free(d);
        return NULL;
    }
    /* RFC 9110 §15.4.5: a 304 carries the ETag and Cache-Control a 200 would have */
    if (add_sec_headers(r, CSP_JSON) != GH_OK ||
        (status == MHD_HTTP_OK &&
            add_hdr(r, MHD_HTTP_HEADER_CONTENT_TYPE, d->ctype) != GH_OK) ||
        add_hdr(r, MHD_HTTP_HEADER_ETAG, d->etag) != GH_OK ||
        add_hdr(r, MHD_HTTP_HEADER_CACHE_CONTROL, d->cache_control) != GH_OK ||
        add_hdr(r, "X-Request-Id", rid) != GH_OK) {
        MHD_destroy_response(r);
        return NULL;
    }
    return r;
}

#define CONN_SLOTS 4   /* (document, status) pairs remembered per connection */

struct resp_conn {
    struct {
        const struct resp_doc *doc;
        unsigned status;
        struct MHD_Response *r;        /* our reference */
        char rid[REQ_RID_SIZE];        /* the X-Request-Id r carries now */
    } slot[CONN_SLOTS];
    unsigned next;                     /* round-robin replacement */
};

struct resp_conn *
resp_conn_new(void)
{
    return x_calloc(1, sizeof(struct resp_conn));
}

void
resp_conn_free(struct resp_conn *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < CONN_SLOTS; i++) {
        if (c->slot[i].r)
            MHD_destroy_response(c->slot[i].r);
    }
    free(c);
}

int
resp_doc_send(struct req *rq, const struct resp_doc *d)
{
    struct resp_conn *c = rq->conn_ctx;
    struct MHD_Response *r;
    const char *inm, *rid = req_rid(rq);
    size_t inmlen;
    unsigned status = MHD_HTTP_OK, i;
    size_t bytes;

    inm = req_header(rq, MHD_HTTP_HEADER_IF_NONE_MATCH, &inmlen);
    if (inm && resp_inm_match(inm, inmlen, d->etag))
        status = MHD_HTTP_NOT_MODIFIED;
    bytes = status == MHD_HTTP_OK ? d->len : 0;
    if (!c) {
        if (!(r = doc_response(d, status, rid)))
            return GH_EINTERNAL;
        return queue(rq, status, r, bytes);
    }
    for (i = 0; i < CONN_SLOTS; i++) {
        if (c->slot[i].r && c->slot[i].doc == d && c->slot[i].status == status)
            break;
    }
    if (i < CONN_SLOTS) {
        /* the previous request on this connection is complete: only we hold r now */
        r = c->slot[i].r;
        if (MHD_del_response_header(r, "X-Request-Id", c->slot[i].rid) != MHD_YES ||
            add_hdr(r, "X-Request-Id", rid) != GH_OK) {
            MHD_destroy_response(r);
            c->slot[i].r = NULL;
            return GH_EINTERNAL;
        }
    } else {
        if (!(r = doc_response(d, status, rid)))
            return GH_EINTERNAL;
        i = c->next++ % CONN_SLOTS;
        if (c->slot[i].r)
            MHD_destroy_response(c->slot[i].r);
        c->slot[i].doc = d;
        c->slot[i].status = status;
        c->slot[i].r = r;
    }
    str_copy(c->slot[i].rid, sizeof(c->slot[i].rid), rid);
    if (MHD_queue_response(rq->conn, status, r) != MHD_YES) {
        log_err("http", "rid=%s cannot queue a %u response", rid, status);
        return GH_EINTERNAL;
    }
    rq->status = status;
    rq->bytes = rq->method == REQ_HEAD ? 0 : bytes;
    return GH_OK;
}

/* ---- access log --------------------------------------------------------------------- */

/* Appending to a fixed line without printf: the access log runs for every request. */
struct line {
    char p[LOG_LINE_MAX / 2];
    size_t n;
};

static void
put(struct line *l, const char *s)
{
    size_t k = strlen(s);

    if (k > sizeof(l->p) - l->n)
        k = sizeof(l->p) - l->n;
    memcpy(l->p + l->n, s, k);
    l->n += k;
}

static void
put_u64(struct line *l, uint64_t v)
{
    char d[21];
    size_t i = sizeof(d);

    d[--i] = '\0';
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(l, d + i);
}

void
resp_log_access(struct req *rq, const char *end)
{
    char path[LOG_ESC_SIZE], meth[LOG_ESC_SIZE];
    struct line l = { .n = 0 };
    int64_t us;

    if (!rq->app || !rq->app->cfg->access_log)
        return;
    us = clock_mono_us() - rq->t0_us;
    put(&l, "rid=");
    put(&l, req_rid(rq));
    put(&l, " ip=");
    put(&l, *req_client_ip(rq) ? req_client_ip(rq) : "-");
    put(&l, " method=");
    if (!rq->started)
        put(&l, "-");   /* MHD answered (or the client left) before the request was routed */
    else if (rq->method == REQ_OTHER)
        put(&l, log_esc(rq->method_raw, meth));
    else
        put(&l, req_method_name(rq->method));
    /* the query is never logged: it can carry codes, tokens and client secrets */
    put(&l, " path=");
    put(&l, log_esc(rq->uri_too_long ? "(too long)" : rq->path, path));
    put(&l, " status=");
    if (rq->status)
        put_u64(&l, rq->status);
    else
        put(&l, "-");
    put(&l, " bytes=");
    put_u64(&l, rq->bytes);
    put(&l, " us=");
    put_u64(&l, us > 0 ? (uint64_t)us : 0);
    if (end) {
        put(&l, " end=");
        put(&l, end);
    }
    log_buffered_fields(LOG_INFO, "http", l.p, l.n);
}
