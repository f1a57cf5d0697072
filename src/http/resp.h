/* resp.h — every response gatehouse sends goes through here, so every one carries the same
 * security headers: X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer,
 * X-Frame-Options: DENY, a Content-Security-Policy and X-Request-Id. The CSP is
 * "default-src 'none'; frame-ancestors 'none'" on everything but HTML pages, which get
 * "default-src 'self'; frame-ancestors 'none'" (their stylesheet is ours). Dynamic responses
 * (JSON, HTML, redirects, errors) also carry Cache-Control: no-store. Errors use one JSON
 * shape, {"error": code, "error_description": text} (RFC 6749 §5.2).
 * All functions return GH_OK once a response is queued, GH_EINTERNAL if MHD refused it, and
 * those taking header values from the caller GH_EINVAL (nothing queued) when a value holds a
 * control character (CR, LF, NUL, ...: header injection) or a name is not a token. Queue at
 * most one response per request. */
#ifndef GH_HTTP_RESP_H
#define GH_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct req;
struct resp_doc;
struct resp_conn;

/* body serialised compactly (JSON_COMPACT); Cache-Control: no-store. The serialised copy is
 * wiped when MHD is done with it (it may hold tokens). body is not consumed. */
/* Send Strict-Transport-Security on every response from now on (the issuer is https). Call
 * before the first response or document is made. */
void resp_hsts(bool on);

int resp_json(struct req *rq, unsigned status, const json_t *body);
/* The same plus one extra header hname: hval (hname NULL: none), e.g. "Pragma: no-cache" on
 * token responses (RFC 6749 §5.1). GH_EINVAL (nothing queued) for a bad name or value. */
int resp_json_hdr(struct req *rq, unsigned status, const json_t *body, const char *hname,
    const char *hval);
/* A constant JSON text (a string literal or other bytes that outlive the daemon);
 * Cache-Control: no-store. No copy of the body is made. */
int resp_json_static(struct req *rq, unsigned status, const char *body, size_t len);
/* {"error": code, "error_description": desc} (desc may be NULL: then omitted). desc is
 * shown to the client: a short fixed text, never internals or echoed input. */
int resp_error(struct req *rq, unsigned status, const char *code, const char *desc);
/* The same plus one extra header (Allow for 405, WWW-Authenticate for 401, Connection:
 * close after an unread body). hname NULL: none. GH_EINVAL (nothing queued) for a bad name
 * or value. A request without any credentials gets a bare challenge (RFC 6750 §3.1: no error
 * information): resp_error_hdr(rq, 401, "invalid_request", desc, "WWW-Authenticate",
 * "Bearer"). */
int resp_error_hdr(struct req *rq, unsigned status, const char *code, const char *desc,
    const char *hname, const char *hval);
/* The database failed (locked by another process, read-only, full...: the store logged which,
 * once per episode): 503 {"error": "temporarily_unavailable", "error_description": "the store
 * is unavailable"} with Retry-After: RESP_STORE_RETRY_AFTER (RFC 9110 §10.2.3) and
 * Cache-Control: no-store. temporarily_unavailable is RFC 6749 §4.1.2.1's code for this; the
 * client may retry the same request. The browser endpoints answer with a page instead
 * (ep/flow.h flow_store_unavailable). */
#define RESP_STORE_RETRY_AFTER "5"
int resp_store_unavailable(struct req *rq);
/* An RFC 6750 §3 error for a protected resource (userinfo): the JSON error body plus
 * WWW-Authenticate: Bearer realm="gatehouse", error="code"[, error_description="desc"]
 * (code e.g. "invalid_token" with 401, "insufficient_scope" with 403; desc may be NULL).
 * code NULL: the request had no token, so 401 with just Bearer realm="gatehouse" (§3.1).
 * code and desc must be printable ASCII without '"' and '\' (§3: NQSCHAR): GH_EINVAL (nothing
 * queued) otherwise. */
#define RESP_REALM "gatehouse"
int resp_bearer_error(struct req *rq, unsigned status, const char *code, const char *desc);

/* An HTML page (rendered by the caller through tmpl/, already escaped): Content-Type
 * text/html; charset=utf-8, Cache-Control: no-store, the security headers with the HTML CSP.
 * len bytes of body are copied; the copy is wiped when MHD is done with it (pages may echo a
 * login_hint or carry a CSRF token). set_cookies: NULL or a NULL-terminated array of
 * Set-Cookie values (cookie_format()), each sent as its own Set-Cookie header. GH_EINVAL
 * (nothing queued) when a cookie value is empty or holds a control character. */
int resp_html(struct req *rq, unsigned status, const char *body, size_t len,
    const char *const *set_cookies);
/* The same with one extra header (e.g. Retry-After); hname NULL for none. */
int resp_html_hdr(struct req *rq, unsigned status, const char *body, size_t len,
    const char *const *set_cookies, const char *hname, const char *hval);
/* A redirect with an empty body: status 302 or 303 (RFC 9110 §15.4.3/§15.4.4; 303 after a
 * POST), Location: location, Cache-Control: no-store, the security headers and set_cookies as
 * for resp_html. location is sent as given (the caller built it from a registered
 * redirect_uri). GH_EINVAL (nothing queued): another status, an empty location, or a
 * location or cookie value with a control character (CR/LF: header injection). */
int resp_redirect(struct req *rq, unsigned status, const char *location,
    const char *const *set_cookies);

/* A static document: the body is copied once into a buffer owned by the doc, its strong ETag
 * ("<base64url SHA-256 of the body>") computed and its header values (Content-Type ctype,
 * ETag, Cache-Control: public, max-age=<max_age>) formatted. Sending builds a response that
 * points at that buffer (no copy, no serialisation) with those headers, the security headers
 * and the request's X-Request-Id. Free only after the daemon stopped. GH_OK or GH_EINTERNAL. */
#define RESP_MAX_AGE_IMMUTABLE 31536000  /* a year or more: also ", immutable" (RFC 8246) */
int  resp_doc_new(const char *ctype, const void *body, size_t len, unsigned max_age,
         struct resp_doc **out);
/* The same for a JSON document, serialised compactly; Content-Type application/json. */
int  resp_doc_new_json(const json_t *doc, unsigned max_age, struct resp_doc **out);
void resp_doc_free(struct resp_doc *d);
const char *resp_doc_etag(const struct resp_doc *d);   /* borrowed, with quotes */
const char *resp_doc_body(const struct resp_doc *d, size_t *len);   /* borrowed */
/* Queue a 304 (ETag, Cache-Control, no body) when If-None-Match is "*" or lists the ETag
 * (weak comparison, RFC 9110 §13.1.2), else the 200. With a connection cache (rq->conn_ctx)
 * the response object built for the previous request on the same connection is reused and
 * only its X-Request-Id replaced. */
int  resp_doc_send(struct req *rq, const struct resp_doc *d);
/* Whether an If-None-Match value (len bytes) matches etag (a quoted strong tag). Exposed for
 * tests. */
bool resp_inm_match(const char *inm, size_t len, const char *etag);

/* Per-connection cache of document responses (server.c makes one per connection). HTTP/1.1
 * handles one request at a time per connection, and MHD releases a response when its request
 * completes, so by the next request on that connection the cached object is ours alone and
 * may be edited. resp_conn_free drops our references (MHD keeps its own while sending). */
struct resp_conn *resp_conn_new(void);
void resp_conn_free(struct resp_conn *c);   /* NULL is a no-op */

/* One access-log line for a finished request, when cfg->access_log: rid, method, path
 * (log_esc, never the query), status, body bytes, microseconds since the request line, and
 * end=<end> when the request did not complete normally (end NULL: it did). Never headers. */
void resp_log_access(struct req *rq, const char *end);

#endif
