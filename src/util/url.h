/* url.h — strict parser for the absolute URIs gatehouse stores (issuer, redirect URIs).
 * RFC 3986 §3 syntax subset: no userinfo, no fragment, no whitespace or control bytes,
 * no raw non-ASCII. Comparison of URIs elsewhere is byte-exact; this only validates. */
#ifndef GH_UTIL_URL_H
#define GH_UTIL_URL_H

#include <stdbool.h>

struct url {
    char scheme[33];    /* lower-cased */
    char host[256];     /* as written, without [] for IPv6; empty when there is no authority */
    unsigned port;      /* 0 when absent */
    bool has_authority; /* "//" followed the scheme */
    bool has_query;
    bool path_empty;    /* nothing between authority and ?/end */
};

/* Parse s. GH_OK, or GH_EINVAL with *why set to a short static reason. */
int  url_parse(const char *s, struct url *u, const char **why);
/* true for "localhost", 127.0.0.0/8 and ::1 */
bool url_host_is_loopback(const char *host);

struct buf;
/* Append "?name=value" (or "&name=value" when b already holds a query) to the URI in b, the
 * value percent-encoded except for RFC 3986 unreserved characters. GH_OK or GH_ETOOBIG. */
int  url_query_add(struct buf *b, const char *name, const char *value);

#endif
