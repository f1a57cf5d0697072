/* fetch.h — one bounded HTTP GET, for key sets (JWKS) gatehouse reads from other parties:
 * `token verify --jwks URL` and the jwks_uri of a trusted issuer (oidc/issuer_keys.c).
 * The bounds are the SSRF limits of SECURITY.md (c) item 13: https, or plain http only to a
 * loopback host; no redirects; no proxy (not even one from the environment); TLS certificate
 * and host name verified; at most max bytes; connect and total time bounded. Thread-safe:
 * each call uses its own libcurl handle, and libcurl's global state is set up once. */
#ifndef GH_UTIL_FETCH_H
#define GH_UTIL_FETCH_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* Whether url may be fetched: at most GH_MAX_URI bytes, absolute with a host, no userinfo or
 * fragment (url_parse), scheme https, or http with a loopback host (127.0.0.0/8, [::1],
 * localhost). NULL if it may (*https says which scheme), else a static reason. */
const char *fetch_url_refusal(const char *url, bool *https);

/* GET url (which fetch_url_refusal accepted) into body (buf_init'ed by the caller with its
 * ceiling; a larger answer fails). Only a 200 answer counts. timeout_ms bounds the connect and,
 * separately, the whole transfer. agent is the User-Agent. GH_OK; GH_ETOOBIG: the body is over
 * body's ceiling; GH_EIO: anything else (refused URL, connection, TLS, timeout, a status other
 * than 200 — a redirect too). why (whysz bytes) gets one line naming the URL. */
int  fetch_get(const char *url, long timeout_ms, const char *agent, struct buf *body, char *why,
         size_t whysz);

#endif
