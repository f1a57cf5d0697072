/* cookie.c — the Cookie request header (RFC 6265 §4.2.1, §5.4) and Set-Cookie values
 * (RFC 6265 §4.1, with RFC 6265bis's SameSite and name prefixes). Parsing is bounded (at most
 * GH_MAX_COOKIE_HEADER bytes in, GH_MAX_COOKIES pairs kept, values up to GH_MAX_COOKIE_VALUE)
 * and tolerant, as browsers are: pairs are split at ';', spaces and tabs around pairs, names
 * and values are ignored, and a pair that is not name=value with a token name and cookie-octet
 * value is skipped rather than failing the whole header (it is usually another application's
 * cookie on the same host). A name seen twice is marked and never returned: one of the copies
 * may be planted (RFC 6265 §8.6, §8.7), and we cannot tell which. Only parsing and formatting
 * live here: which cookies gatehouse sets, and what their values mean, is session/'s business.
 * No percent-decoding, no attribute parsing (a Cookie header carries none), no Domain
 * attribute ever (host-only cookies, RFC 6265 §5.3 step 6). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/limits.h"
#include "http/cookie.h"
#include "util/xmem.h"

/* RFC 9110 §5.6.2: tchar */
static bool
is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 6265 §4.1.1: cookie-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
 * (US-ASCII without CTLs, whitespace, DQUOTE, comma, semicolon and backslash) */
static bool
is_cookie_octet(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

static bool
is_token(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!is_tchar((unsigned char)s[i]))
            return false;
    }
    return true;
}

static bool
is_cookie_value(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!is_cookie_octet((unsigned char)s[i]))
            return false;
    }
    return true;
}

static bool
is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Record name=value, or mark an earlier pair of the same name as duplicated. A repeat is
 * detected even once the jar is full, so a second copy can never slip past the limit. */
static void
jar_add(struct cookie_jar *jar, const char *name, size_t nlen, const char *val, size_t vlen)
{
    for (size_t i = 0; i < jar->n; i++) {
        struct cookie_pair *p = &jar->c[i];
        if (p->name_len == nlen && memcmp(p->name, name, nlen) == 0) {
            p->dup = true;
            return;
        }
    }
    if (jar->n == GH_MAX_COOKIES)
        return;   /* later pairs are dropped: ours are looked up, never enumerated */
    jar->c[jar->n].name = name;
    jar->c[jar->n].name_len = nlen;
    jar->c[jar->n].value = val;
    jar->c[jar->n].value_len = vlen;
    jar->c[jar->n].dup = false;
    jar->n++;
}

/* The copy carries its size in front so cookie_jar_free can wipe it without a length field. */
static char *
copy_new(const char *s, size_t len)
{
    unsigned char *base = x_malloc(sizeof(size_t) + len + 1);
    size_t n = len + 1;

    memcpy(base, &n, sizeof(n));
    memcpy(base + sizeof(size_t), s, len);
    base[sizeof(size_t) + len] = '\0';
    return (char *)base + sizeof(size_t);
}

int
cookie_parse(const char *hdr, size_t len, struct cookie_jar *jar)
{
    size_t pos = 0;
    char *mem;

    memset(jar, 0, sizeof(*jar));
    if (!hdr || len == 0)
        return GH_OK;
    if (len > GH_MAX_COOKIE_HEADER)
        return GH_ETOOBIG;   /* bounded before copying */
    mem = jar->mem = copy_new(hdr, len);
    /* RFC 6265 §4.2.1: cookie-string = cookie-pair *( ";" SP cookie-pair ); §5.4 is what
     * browsers send, and other clients (and proxies joining lines) vary, so the SP is
     * optional and tabs are accepted */
    while (pos < len) {
        char *seg = mem + pos, *end, *semi, *eq, *name, *val;
        size_t seglen, nlen, vlen;

        semi = memchr(seg, ';', len - pos);
        seglen = semi ? (size_t)(semi - seg) : len - pos;
        pos += seglen + 1;
        end = seg + seglen;
        eq = memchr(seg, '=', seglen);
        if (!eq)
            continue;   /* "name" without "=": not a cookie-pair (RFC 6265 §5.2 step 2) */
        name = seg;
        while (name < eq && is_ws(*name))
            name++;
        nlen = (size_t)(eq - name);
        while (nlen > 0 && is_ws(name[nlen - 1]))
            nlen--;
        val = eq + 1;
        while (val < end && is_ws(*val))
            val++;
        vlen = (size_t)(end - val);
        while (vlen > 0 && is_ws(val[vlen - 1]))
            vlen--;
        /* RFC 6265 §4.1.1: cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE );
         * the quotes are not part of the value */
        if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
            val++;
            vlen -= 2;
        }
        if (!is_token(name, nlen) || vlen > GH_MAX_COOKIE_VALUE || !is_cookie_value(val, vlen))
            continue;
        /* both terminators land on bytes outside the name and value: '=', whitespace, a
         * closing quote, the ';' or the copy's final NUL */
        name[nlen] = '\0';
        val[vlen] = '\0';
        jar_add(jar, name, nlen, val, vlen);
    }
    return GH_OK;
}

const char *
cookie_get(const struct cookie_jar *jar, const char *name, size_t *len)
{
    size_t nlen;

    if (len)
        *len = 0;
    if (!jar || !name)
        return NULL;
    nlen = strlen(name);
    /* cookie names are case-sensitive (RFC 6265 §5.3 compares them byte for byte) */
    for (size_t i = 0; i < jar->n; i++) {
        const struct cookie_pair *p = &jar->c[i];
        if (p->name_len != nlen || memcmp(p->name, name, nlen) != 0)
            continue;
        if (p->dup)
            return NULL;
        if (len)
            *len = p->value_len;
        return p->value;
    }
    return NULL;
}

void
cookie_jar_free(struct cookie_jar *jar)
{
    unsigned char *base;
    size_t n;

    if (!jar)
        return;
    if (jar->mem) {
        base = (unsigned char *)jar->mem - sizeof(size_t);
        memcpy(&n, base, sizeof(n));
        mem_wipe_free(base, sizeof(size_t) + n);   /* session ids are bearer secrets */
    }
    memset(jar, 0, sizeof(*jar));
}

/* RFC 6265bis §4.1.3: user agents match the prefixes case-insensitively, so "__host-x"
 * without Secure would be dropped by the browser just the same. */
static bool
has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

int
cookie_format(char *out, size_t outsz, const char *name, const char *value, long max_age,
    bool secure)
{
    size_t vlen;
    int n;

    if (outsz > 0)
        out[0] = '\0';
    if (!name || !is_token(name, strlen(name)))
        return GH_EINVAL;
    if (max_age == 0)
        value = "";   /* deleting: the value is irrelevant and not worth sending */
    if (!value)
        return GH_EINVAL;
    vlen = strlen(value);
    /* a value our own parser would skip is a bug here, not a cookie */
    if (vlen > GH_MAX_COOKIE_VALUE || !is_cookie_value(value, vlen))
        return GH_EINVAL;
    /* RFC 6265bis §4.1.3.1/§4.1.3.2: "__Secure-" and "__Host-" cookies must be Secure
     * ("__Host-" also needs Path=/ and no Domain, which every cookie here has) */
    if (!secure && (has_prefix_ci(name, "__Host-") || has_prefix_ci(name, "__Secure-")))
        return GH_EINVAL;
    /* HttpOnly: no script reads a session id; SameSite=Lax: top-level GET navigations (the
     * redirect back from a relying party) carry it, cross-site POSTs do not (STYLE.md §6.7) */
    if (max_age < 0)
        n = snprintf(out, outsz, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s", name, value,
            secure ? "; Secure" : "");
    else
        n = snprintf(out, outsz, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s; Max-Age=%ld", name,
            value, secure ? "; Secure" : "", max_age);
    if (n < 0 || (size_t)n >= outsz) {
        if (outsz > 0)
            out[0] = '\0';
        return GH_ETOOBIG;
    }
    return GH_OK;
}
