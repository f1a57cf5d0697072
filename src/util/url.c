/* url.c — validation of absolute URIs (RFC 3986 §3). Deliberately narrow: it accepts what a
 * registered redirect URI or an issuer may look like and rejects everything ambiguous
 * (userinfo, fragments, backslashes, spaces, raw non-ASCII, bad percent-escapes), because an
 * ambiguous URI is parsed differently by browsers and by the relying party. */
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/url.h"

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 3986 pchar minus pct-encoded (checked separately), plus '/' and '?' */
static bool
is_path_char(char c)
{
    return is_alpha(c) || is_digit(c) || (c && strchr("-._~!$&'()*+,;=:@/?", c));
}

static bool
check_pct(const char *p, const char *end, const char **why)
{
    for (; p < end; p++) {
        if (*p == '%') {
            if (end - p < 3 || !is_hex(p[1]) || !is_hex(p[2])) {
                *why = "bad percent-escape";
                return false;
            }
            p += 2;
        } else if (!is_path_char(*p)) {
            *why = "character not allowed in a URI";
            return false;
        }
    }
    return true;
}

int
url_parse(const char *s, struct url *u, const char **why)
{
    const char *p = s, *colon, *auth, *auth_end, *host_end, *rest;
    size_t n;

    memset(u, 0, sizeof(*u));
    *why = NULL;
    n = strlen(s);
    if (n == 0 || n > GH_MAX_URI) {
        *why = n ? "URI is too long" : "URI is empty";
        return GH_EINVAL;
    }
    if (str_has_ctl(s, n) || strchr(s, ' ') || strchr(s, '\\')) {
        *why = "URI contains spaces, control characters or backslashes";
        return GH_EINVAL;
    }
    for (const char *q = s; *q; q++) {
        if ((unsigned char)*q >= 0x80) {
            *why = "URI contains non-ASCII characters (percent-encode them)";
            return GH_EINVAL;
        }
    }
    if (strchr(s, '#')) {
        *why = "URI has a fragment";
        return GH_EINVAL;
    }
    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    colon = strchr(s, ':');
    if (!colon || colon == s || !is_alpha(*s) || (size_t)(colon - s) >= sizeof(u->scheme)) {
        *why = "URI has no scheme";
        return GH_EINVAL;
    }
    for (p = s; p < colon; p++) {
        if (!is_alpha(*p) && !is_digit(*p) && *p != '+' && *p != '-' && *p != '.') {
            *why = "bad character in URI scheme";
            return GH_EINVAL;
        }
        u->scheme[p - s] = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
    }
    p = colon + 1;
    if (p[0] == '/' && p[1] == '/') {
        u->has_authority = true;
        auth = p + 2;
        auth_end = auth + strcspn(auth, "/?");
        if (memchr(auth, '@', (size_t)(auth_end - auth))) {
            *why = "URI has userinfo (user@host)";
            return GH_EINVAL;
        }
        if (*auth == '[') {
            const char *rb = memchr(auth, ']', (size_t)(auth_end - auth));
            if (!rb || rb - auth - 1 <= 1 || (size_t)(rb - auth - 1) >= sizeof(u->host)) {
                *why = "bad IPv6 literal";
                return GH_EINVAL;
            }
            for (const char *q = auth + 1; q < rb; q++) {
                if (!is_hex(*q) && *q != ':' && *q != '.') {
                    *why = "bad IPv6 literal";
                    return GH_EINVAL;
                }
            }
            memcpy(u->host, auth + 1, (size_t)(rb - auth - 1));
            host_end = rb + 1;
        } else {
            host_end = auth;
            while (host_end < auth_end && *host_end != ':')
                host_end++;
            if (host_end == auth || (size_t)(host_end - auth) >= sizeof(u->host)) {
                *why = "URI has no host";
                return GH_EINVAL;
            }
            for (const char *q = auth; q < host_end; q++) {
                if (!is_alpha(*q) && !is_digit(*q) && *q != '-' && *q != '.') {
                    *why = "bad character in host name";
                    return GH_EINVAL;
                }
            }
            memcpy(u->host, auth, (size_t)(host_end - auth));
        }
        if (host_end < auth_end) {
            unsigned port = 0;
            const char *q = host_end + 1;
            if (*host_end != ':' || q == auth_end || auth_end - q > 5) {
                *why = "bad port";
                return GH_EINVAL;
            }
            for (; q < auth_end; q++) {
                if (!is_digit(*q)) {
                    *why = "bad port";
                    return GH_EINVAL;
                }
                port = port * 10 + (unsigned)(*q - '0');
            }
            if (port == 0 || port > 65535) {
                *why = "bad port";
                return GH_EINVAL;
            }
            u->port = port;
        }
        rest = auth_end;
    } else {
        rest = p;
    }
    u->path_empty = (*rest == '\0' || *rest == '?');
    u->has_query = strchr(rest, '?') != NULL;
    if (!check_pct(rest, rest + strlen(rest), why))
        return GH_EINVAL;
    if (!u->has_authority && u->path_empty) {
        *why = "URI has neither authority nor path";
        return GH_EINVAL;
    }
    return GH_OK;
}

bool
url_host_is_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return true;
    /* 127.0.0.0/8 written as a dotted quad */
    if (strncmp(host, "127.", 4) == 0) {
        int dots = 0;
        for (const char *p = host; *p; p++) {
            if (*p == '.')
                dots++;
            else if (!is_digit(*p))
                return false;
        }
        return dots == 3;
    }
    return false;
}

int
url_query_add(struct buf *b, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *s = buf_str(b);
    char sep = '?';

    /* the first parameter after an existing query starts with '&' (RFC 6749 §3.1.2: the
     * redirect URI's own query component is kept) */
    if (strchr(s, '?'))
        sep = s[b->len - 1] == '?' || s[b->len - 1] == '&' ? 0 : '&';
    if ((sep && buf_add(b, &sep, 1) != GH_OK) || buf_addstr(b, name) != GH_OK ||
        buf_add(b, "=", 1) != GH_OK)
        return GH_ETOOBIG;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
        bool plain = is_alpha((char)*p) || is_digit((char)*p) || strchr("-._~", *p);
        if (buf_add(b, plain ? (const char *)p : enc, plain ? 1 : 3) != GH_OK)
            return GH_ETOOBIG;
    }
    return GH_OK;
}
