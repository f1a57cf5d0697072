/* cookie.h — the Cookie request header (RFC 6265 §4.2.1) and Set-Cookie values (§4.1).
 *
 * Parsing is bounded and tolerant of other applications' cookies: on a shared host (e.g. apps
 * on other ports of 127.0.0.1) the browser sends their cookies too, so a malformed or oversized
 * pair is skipped, not fatal; only gatehouse's own cookies are ever looked up, and a name that
 * occurs twice is treated as absent (a second copy may be planted from a sibling domain or a
 * wider Path, so neither can be trusted). At most GH_MAX_COOKIES pairs are kept; values longer
 * than GH_MAX_COOKIE_VALUE bytes, names that are not RFC 9110 tokens, and values with bytes
 * outside RFC 6265's cookie-octet set (after removing one pair of surrounding DQUOTEs) are
 * skipped. */
#ifndef GH_HTTP_COOKIE_H
#define GH_HTTP_COOKIE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/limits.h"

struct cookie_pair {
    const char *name;     /* NUL-terminated, points into the jar's copy */
    size_t name_len;
    const char *value;
    size_t value_len;
    bool dup;             /* the name occurred more than once */
};

struct cookie_jar {
    size_t n;
    struct cookie_pair c[GH_MAX_COOKIES];
    char *mem;            /* private copy of the header */
};

/* Parse len bytes of a Cookie header value (need not be NUL-terminated) into jar, which it
 * initialises; free it with cookie_jar_free() whatever the result. hdr NULL or len 0: empty
 * jar. GH_OK (skipped pairs are not errors), or GH_ETOOBIG when len > GH_MAX_COOKIE_HEADER
 * (jar empty, nothing copied). Names and values point into the jar's own copy. */
int  cookie_parse(const char *hdr, size_t len, struct cookie_jar *jar);
/* The value of name (case-sensitive, NUL-terminated, borrowed from jar), or NULL when absent
 * or duplicated; jar may be NULL. *len (may be NULL) gets its length, 0 when NULL. */
const char *cookie_get(const struct cookie_jar *jar, const char *name, size_t *len);
void cookie_jar_free(struct cookie_jar *jar);   /* wipes the copy; safe on a zeroed jar */

/* Format a Set-Cookie value into out:
 *   name=value; Path=/; HttpOnly; SameSite=Lax[; Secure][; Max-Age=N]
 * max_age < 0: a session cookie (no Max-Age); 0: delete (Max-Age=0, value ignored — may be
 * NULL — and sent empty). name must be an RFC 9110 token, value RFC 6265 cookie-octets of at
 * most GH_MAX_COOKIE_VALUE bytes (ours are base64url): GH_EINVAL otherwise; GH_ETOOBIG if out
 * (outsz bytes) is too small. A "__Host-" or "__Secure-" name (any case) requires secure
 * (RFC 6265bis §4.1.3): GH_EINVAL without it. On error out holds "" (when outsz > 0). */
int  cookie_format(char *out, size_t outsz, const char *name, const char *value, long max_age,
         bool secure);

#endif
