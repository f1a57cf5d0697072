/* resp.h — every response gatehouse sends goes through here, so every one carries the same
 * security headers: X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer,
 * X-Frame-Options: DENY, Content-Security-Policy: default-src 'none'; frame-ancestors 'none'
 * and X-Request-Id. Errors use one JSON shape,
 * {"error": code, "error_description": text} (RFC 6749 §5.2), with Cache-Control: no-store.
 * All functions return GH_OK once a response is queued, GH_EINTERNAL if MHD refused it. */
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
int resp_json(struct req *rq, unsigned status, const json_t *body);
/* A constant JSON text (a string literal or other bytes that outlive the daemon);
 * Cache-Control: no-store. No copy of the body is made. */
int resp_json_static(struct req *rq, unsigned status, const char *body, size_t len);
/* {"error": code, "error_description": desc} (desc may be NULL: then omitted). desc is
 * shown to the client: a short fixed text, never internals or echoed input. */
int resp_error(struct req *rq, unsigned status, const char *code, const char *desc);
/* The same plus one extra header (Allow for 405, WWW-Authenticate for 401, Connection:
 * close after an unread body). hname NULL: none. */
int resp_error_hdr(struct req *rq, unsigned status, const char *code, const char *desc,
    const char *hname, const char *hval);

/* A static document: the body is copied once into a buffer owned by the doc, its strong ETag
 * ("<base64url SHA-256 of the body>") computed and its header values (Content-Type ctype,
 * ETag, Cache-Control: public, max-age=<max_age>) formatted. Sending builds a response that
 * points at that buffer (no copy, no serialisation) with those headers, the security headers
 * and the request's X-Request-Id. Free only after the daemon stopped. GH_OK or GH_EINTERNAL. */
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
