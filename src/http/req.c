/* req.c — the request as handlers see it: the raw request target (copied from MHD's URI log
 * callback before MHD splits and unescapes it in place), header lookups, the bounded body,
 * the strict application/x-www-form-urlencoded decoder (WHATWG URL §5.1 syntax with
 * RFC 6749 §3.1's "no repeated parameters"), the Cookie header (parsed lazily by
 * http/cookie.c), and the Authorization schemes gatehouse accepts: Basic client credentials
 * (RFC 7617 with RFC 6749 §2.3.1's form-encoding) and Bearer tokens (RFC 6750 §2.1). This is
 * the only file that calls MHD lookup functions. It does not interpret parameters, cookie
 * values or credentials: endpoints and oidc/ turn them into typed structs and check them.
 * Deliberately strict: a malformed escape, NUL, control character or invalid UTF-8 rejects
 * the whole input instead of being repaired or truncated (cookies are the one tolerant
 * parser, see cookie.c for why). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "app.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/cookie.h"
#include "http/req.h"
#include "util/str.h"
#include "http/router.h"
#include "util/net.h"
#include "util/xmem.h"

/* A query longer than a whole form body cannot be a valid set of parameters. */
#define MAX_QUERY_LEN GH_MAX_BODY

struct req *
req_new(const char *uri, uint64_t rid_prefix, uint64_t seq)
{
    struct req *rq;
    const char *q = NULL;
    size_t len = 0, plen = 0;
    bool fits = false;

    if (uri) {
        /* bound before copying: MHD's memory limit already caps the line at 64 KiB */
        len = strnlen(uri, GH_MAX_PATH_LEN + 1 + MAX_QUERY_LEN + 1);
        q = memchr(uri, '?', len);
        plen = q ? (size_t)(q - uri) : len;
        fits = plen <= GH_MAX_PATH_LEN && (!q || len - plen - 1 <= MAX_QUERY_LEN);
    }
    /* one allocation per request: the copy of the target sits right after the struct */
    rq = x_calloc(1, sizeof(*rq) + (fits ? len + 1 : 0));
    rq->rid_prefix = rid_prefix;
    rq->seq = seq;
    buf_init(&rq->body, GH_MAX_BODY);
    rq->path = "";
    rq->route_result = ROUTE_NOT_FOUND; /* until start() looks the path up */
    rq->ip = rq->ip_buf;
    if (!uri)
        return rq;
    if (!fits) {
        rq->uri_too_long = true;
        return rq;
    }
    rq->uri = (char *)(rq + 1);
    memcpy(rq->uri, uri, len + 1);
    rq->path = rq->uri;
    rq->path_len = plen;
    if (q) {
        rq->uri[plen] = '\0';
        rq->query = rq->uri + plen + 1;
        rq->query_len = len - plen - 1;
    }
    return rq;
}

void
req_free(struct req *rq)
{
    if (!rq)
        return;
    buf_free(&rq->body);
    if (rq->park_free)
        rq->park_free(rq->park_arg);
    if (rq->defer_free)
        rq->defer_free(rq->defer_arg);
    if (rq->cookies) {
        cookie_jar_free(rq->cookies);   /* wipes: session ids are bearer secrets */
        free(rq->cookies);
    }
    /* the query can hold codes or credentials */
    if (rq->query)
        mem_wipe(rq->uri, rq->path_len + 1 + rq->query_len);
    free(rq);
}

void *
req_deferred(const struct req *rq)
{
    return rq->suspended ? NULL : rq->defer_arg;
}

void *
req_deferred_by(const struct req *rq, void (*work)(struct app *, void *))
{
    return rq->defer_work == work ? req_deferred(rq) : NULL;
}

void
req_defer_clear(struct req *rq)
{
    if (rq->suspended || !rq->defer_arg)
        return;
    if (rq->defer_free)
        rq->defer_free(rq->defer_arg);
    rq->defer_arg = NULL;
    rq->defer_free = NULL;
    rq->defer_work = NULL;
}

void *
req_parked(const struct req *rq, int *rc)
{
    if (rq->suspended || !rq->park_arg)
        return NULL;
    *rc = rq->park_rc;
    return rq->park_arg;
}

static const struct {
    const char *name;
    enum req_method m;
} methods[] = {
    { "GET", REQ_GET },         { "HEAD", REQ_HEAD },       { "POST", REQ_POST },
    { "PUT", REQ_PUT },         { "DELETE", REQ_DELETE },   { "OPTIONS", REQ_OPTIONS },
    { "PATCH", REQ_PATCH },
};

enum req_method
req_method_parse(const char *s)
{
    /* RFC 9110 §9.1: method names are case-sensitive */
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (s && strcmp(s, methods[i].name) == 0)
            return methods[i].m;
    }
    return REQ_OTHER;
}

const char *
req_method_name(enum req_method m)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (methods[i].m == m)
            return methods[i].name;
    }
    return "OTHER";
}

const char *
req_rid(struct req *rq)
{
    static const char hex[] = "0123456789abcdef";
    char *o = rq->rid;
    int bits = 60;

    if (rq->rid[0])
        return rq->rid;
    /* 16 hex digits of the prefix, then the counter with at least 8: by hand, it runs on
     * every request */
    for (int i = 60; i >= 0; i -= 4)
        *o++ = hex[(rq->rid_prefix >> i) & 15];
    while (bits > 28 && !(rq->seq >> bits))
        bits -= 4;
    for (; bits >= 0; bits -= 4)
        *o++ = hex[(rq->seq >> bits) & 15];
    *o = '\0';
    return rq->rid;
}

const char *
req_header(const struct req *rq, const char *name, size_t *len)
{
    const char *v = NULL;
    size_t n = 0;

    if (len)
        *len = 0;
    if (!rq->conn)
        return NULL;
    if (MHD_lookup_connection_value_n(rq->conn, MHD_HEADER_KIND, name, strlen(name), &v, &n) !=
        MHD_YES)
        return NULL;
    if (len)
        *len = n;
    return v;
}

struct hdr_count {
    const char *name;
    size_t name_len;
    unsigned count;
    const char *val;
    size_t val_len;
};

static enum MHD_Result
count_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
    const char *value, size_t value_size)
{
    struct hdr_count *hc = cls;

    (void)kind;
    if (key_size == hc->name_len && strncasecmp(key, hc->name, key_size) == 0) {
        if (hc->count++ == 0) {
            hc->val = value;
            hc->val_len = value_size;
        }
    }
    return MHD_YES;
}

int
req_header_unique(const struct req *rq, const char *name, const char **val, size_t *len)
{
    struct hdr_count hc = { .name = name, .name_len = strlen(name) };

    *val = NULL;
    if (len)
        *len = 0;
    if (!rq->conn)
        return GH_ENOTFOUND;
    MHD_get_connection_values_n(rq->conn, MHD_HEADER_KIND, count_header, &hc);
    if (hc.count == 0)
        return GH_ENOTFOUND;
    if (hc.count > 1)
        return GH_EINVAL;
    *val = hc.val ? hc.val : "";
    if (len)
        *len = hc.val_len;
    return GH_OK;
}

const char *
req_body(const struct req *rq, size_t *len)
{
    *len = rq->body.len;
    return buf_str(&rq->body);
}

/* ---- application/x-www-form-urlencoded ---------------------------------------------- */

void
req_params_init(struct req_params *ps)
{
    memset(ps, 0, sizeof(*ps));
}

void
req_params_free(struct req_params *ps)
{
    for (size_t i = 0; i < REQ_PARAMS_MAX_SRC; i++) {
        mem_wipe_free(ps->mem[i], ps->memlen[i]);
        ps->mem[i] = NULL;
        ps->memlen[i] = 0;
    }
    ps->n = 0;
}

static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode s[0..len) into out (room for len bytes); '+' is a space. *outlen gets the decoded
 * length. GH_EINVAL on a '%' not followed by two hex digits. */
static int
pct_decode(const char *s, size_t len, char *out, size_t *outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (len - i < 3)
                return GH_EINVAL;
            hi = hexval((unsigned char)s[i + 1]);
            lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return GH_EINVAL;
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+') {
            out[o++] = ' ';
        } else {
            out[o++] = (char)c;
        }
    }
    *outlen = o;
    return GH_OK;
}

/* NUL, C0 controls and DEL are caught by str_has_ctl; C1 controls (U+0080..U+009F, encoded
 * as C2 80..C2 9F) have no business in a parameter either. */
static bool
text_ok(const char *s, size_t len)
{
    if (str_has_ctl(s, len) || !str_utf8_valid(s, len))
        return false;
    for (size_t i = 0; i + 1 < len; i++) {
        if ((unsigned char)s[i] == 0xc2 && (unsigned char)s[i + 1] < 0xa0)
            return false;
    }
    return true;
}

size_t
req_param_max(const char *name, size_t nlen)
{
    /* parameters that carry a JWT: assertions (RFC 7521 §4.1, §4.2), tokens presented for
     * introspection or revocation (RFC 7662, RFC 7009) and ID token hints */
    static const char *const jwt_params[] = { "assertion", "client_assertion", "token",
        "id_token_hint" };

    for (size_t i = 0; i < sizeof(jwt_params) / sizeof(jwt_params[0]); i++) {
        if (nlen == strlen(jwt_params[i]) && memcmp(name, jwt_params[i], nlen) == 0)
            return GH_MAX_JWT_LEN;
    }
    return GH_MAX_PARAM_LEN;
}

int
req_params_add(struct req_params *ps, const char *s, size_t len, const char **why)
{
    size_t slot, n0 = ps->n, pos = 0;
    char *mem = NULL;
    int rc = GH_EINVAL;

    *why = NULL;
    if (len > GH_MAX_BODY) {
        *why = "request parameters are too long";
        return GH_ETOOBIG;
    }
    for (slot = 0; slot < REQ_PARAMS_MAX_SRC && ps->mem[slot]; slot++)
        ;
    if (slot == REQ_PARAMS_MAX_SRC) {
        *why = "too many parameter sources";
        return GH_EINVAL;
    }
    if (len == 0)
        return GH_OK;
    /* decoded text is never longer than its encoding, and every '&' or '=' (or the end)
     * leaves room for a terminator: decode in place into one copy */
    mem = x_malloc(len + 1);
    memcpy(mem, s, len);
    mem[len] = '\0';
    while (pos < len) {
        char *seg = mem + pos, *amp, *eq, *name, *val;
        size_t seglen, nlen_raw, vlen_raw, nlen, vlen;

        amp = memchr(seg, '&', len - pos);
        seglen = amp ? (size_t)(amp - seg) : len - pos;
        pos += seglen + 1;
        if (seglen == 0)
            continue;
        if (ps->n == GH_MAX_PARAMS) {
            *why = "too many parameters";
            rc = GH_ETOOBIG;
            goto out;
        }
        eq = memchr(seg, '=', seglen);
        nlen_raw = eq ? (size_t)(eq - seg) : seglen;
        vlen_raw = eq ? seglen - nlen_raw - 1 : 0;
        name = seg;
        val = eq ? eq + 1 : seg + seglen;   /* "a" alone: the value is empty */
        /* a text cannot shrink below a third of its encoding: check before decoding */
        if (nlen_raw > 3 * (size_t)GH_MAX_PARAM_LEN) {
            *why = "a request parameter is too long";
            rc = GH_ETOOBIG;
            goto out;
        }
        if (pct_decode(name, nlen_raw, name, &nlen) != GH_OK) {
            *why = "malformed percent-encoding in a request parameter";
            rc = GH_EINVAL;
            goto out;
        }
        size_t vmax = req_param_max(name, nlen);
        if (nlen > GH_MAX_PARAM_LEN || vlen_raw > 3 * vmax) {
            *why = "a request parameter is too long";
            rc = GH_ETOOBIG;
            goto out;
        }
        if (pct_decode(val, vlen_raw, val, &vlen) != GH_OK) {
            *why = "malformed percent-encoding in a request parameter";
            rc = GH_EINVAL;
            goto out;
        }
        if (vlen > vmax) {
            *why = "a request parameter is too long";
            rc = GH_ETOOBIG;
            goto out;
        }
        name[nlen] = '\0';
        if (val != seg + seglen)
            val[vlen] = '\0';
        else
            val = name + nlen;   /* the terminator just written: "" */
        if (nlen == 0) {
            *why = "a request parameter has no name";
            rc = GH_EINVAL;
            goto out;
        }
        if (!text_ok(name, nlen) || !text_ok(val, vlen)) {
            *why = "a request parameter contains invalid characters";
            rc = GH_EINVAL;
            goto out;
        }
        /* RFC 6749 §3.1: request and response parameters MUST NOT be included more than once */
        for (size_t i = 0; i < ps->n; i++) {
            if (ps->p[i].name_len == nlen && memcmp(ps->p[i].name, name, nlen) == 0) {
                *why = "a request parameter is repeated";
                rc = GH_EINVAL;
                goto out;
            }
        }
        ps->p[ps->n].name = name;
        ps->p[ps->n].name_len = nlen;
        ps->p[ps->n].value = val;
        ps->p[ps->n].value_len = vlen;
        ps->n++;
    }
    ps->mem[slot] = mem;
    ps->memlen[slot] = len + 1;
    mem = NULL;
    rc = GH_OK;
out:
    if (rc != GH_OK) {
        ps->n = n0;
        memset(&ps->p[n0], 0, (GH_MAX_PARAMS - n0) * sizeof(ps->p[0]));
    }
    mem_wipe_free(mem, len + 1);
    return rc;
}

const char *
req_param(const struct req_params *ps, const char *name, size_t *len)
{
    size_t nlen = strlen(name);

    if (len)
        *len = 0;
    for (size_t i = 0; i < ps->n; i++) {
        if (ps->p[i].name_len == nlen && memcmp(ps->p[i].name, name, nlen) == 0) {
            if (ps->p[i].value_len == 0)
                return NULL;
            if (len)
                *len = ps->p[i].value_len;
            return ps->p[i].value;
        }
    }
    return NULL;
}

int
req_query(const struct req *rq, struct req_params *ps, const char **why)
{
    *why = NULL;
    if (!rq->query)
        return GH_OK;
    return req_params_add(ps, rq->query, rq->query_len, why);
}

/* "application/x-www-form-urlencoded", optionally followed by "; charset=utf-8" (any case,
 * optional whitespace around ';'). Anything else is refused: a form parsed under the wrong
 * media type is how CSRF slips past CORS preflight rules. */
bool
req_is_form_type(const char *v, size_t len)
{
    static const char mt[] = "application/x-www-form-urlencoded";
    static const char cs[] = "charset=utf-8";
    size_t i = sizeof(mt) - 1;

    if (!v || len < i || strncasecmp(v, mt, i) != 0)
        return false;
    while (i < len && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (i == len)
        return true;
    if (v[i++] != ';')
        return false;
    while (i < len && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (len - i < sizeof(cs) - 1 || strncasecmp(v + i, cs, sizeof(cs) - 1) != 0)
        return false;
    i += sizeof(cs) - 1;
    while (i < len && (v[i] == ' ' || v[i] == '\t'))
        i++;
    return i == len;
}

int
req_form(const struct req *rq, struct req_params *ps, const char **why)
{
    const char *ct;
    size_t ctlen;

    *why = NULL;
    ct = req_header(rq, MHD_HTTP_HEADER_CONTENT_TYPE, &ctlen);
    if (!req_is_form_type(ct, ctlen)) {
        *why = "the request body must be application/x-www-form-urlencoded";
        return GH_EINVAL;
    }
    if (rq->body_too_big) {
        *why = "the request body is too large";
        return GH_ETOOBIG;
    }
    return req_params_add(ps, (const char *)rq->body.p, rq->body.len, why);
}

/* Every field line of one header, joined with sep into a bounded buffer. */
struct header_lines {
    const char *name, *sep;
    struct buf joined;
    unsigned n;
    bool too_big;
};

static enum MHD_Result
join_header_line(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
    const char *value, size_t value_size)
{
    struct header_lines *hl = cls;

    (void)kind;
    if (hl->too_big || key_size != strlen(hl->name) || strncasecmp(key, hl->name, key_size) != 0)
        return MHD_YES;
    if (hl->n++ > 0 && buf_add(&hl->joined, hl->sep, strlen(hl->sep)) != GH_OK)
        hl->too_big = true;   /* buf_add emptied (and wiped) the buffer */
    else if (value && buf_add(&hl->joined, value, value_size) != GH_OK)
        hl->too_big = true;
    return MHD_YES;
}

static void
join_header_lines(const struct req *rq, struct header_lines *hl, size_t max)
{
    buf_init(&hl->joined, max);
    if (rq->conn)
        MHD_get_connection_values_n(rq->conn, MHD_HEADER_KIND, join_header_line, hl);
}

/* ---- peer address ------------------------------------------------------------------- */

bool
req_conn_peer(struct MHD_Connection *conn, unsigned char out[16])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    return ci && net_addr_from_sockaddr(ci->client_addr, out);
}

const char *
req_client_ip(const struct req *rq)
{
    const struct net_list *trusted = rq->app ? &rq->app->trusted_proxies : NULL;
    unsigned char peer[16], client[16];

    /* rq->ip points at rq->ip_buf, so it can be filled through a const rq */
    if (!rq->ip)
        return "";
    if (rq->ip[0] || !rq->conn || !req_conn_peer(rq->conn, peer))
        return rq->ip;
    memcpy(client, peer, 16);
    if (net_list_has(trusted, peer)) {
        /* RFC 7230 §3.2.2: several X-Forwarded-For lines are one list */
        struct header_lines xl = { .name = "X-Forwarded-For", .sep = ", " };
        join_header_lines(rq, &xl, NET_MAX_XFF);
        if (xl.n && !xl.too_big)
            net_forwarded_client(peer, buf_str(&xl.joined), trusted, client);
        buf_free(&xl.joined);
    }
    net_addr_text(client, rq->ip);
    return rq->ip;
}

/* ---- cookies ------------------------------------------------------------------------ */

/* Parse every Cookie line into rq->cookies (left NULL when there is none). */
static void
parse_cookies(struct req *rq)
{
    /* RFC 9113 §8.2.3: split cookie fields are joined with "; " */
    struct header_lines cl = { .name = MHD_HTTP_HEADER_COOKIE, .sep = "; " };

    if (!rq->conn)
        return;
    join_header_lines(rq, &cl, GH_MAX_COOKIE_HEADER);
    if (cl.n == 0)
        goto out;
    rq->cookies = x_calloc(1, sizeof(*rq->cookies));
    if (cl.too_big ||
        cookie_parse((const char *)cl.joined.p, cl.joined.len, rq->cookies) != GH_OK) {
        /* a client (or a sibling application on the host) set too much: no cookie of ours
         * can be trusted to be complete, so there are none */
        log_warn("http", "rid=%s cookie header over %d bytes ignored", req_rid(rq),
            GH_MAX_COOKIE_HEADER);
    }
out:
    buf_free(&cl.joined);
}

const char *
req_cookie(struct req *rq, const char *name, size_t *len)
{
    if (len)
        *len = 0;
    if (!rq->cookies_parsed) {
        rq->cookies_parsed = true;
        parse_cookies(rq);
    }
    return cookie_get(rq->cookies, name, len);
}

/* ---- Authorization ------------------------------------------------------------------ */

/* RFC 9110 §5.6.2 tchar, for the auth-scheme */
static bool
is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Split "scheme 1*SP rest" (RFC 9110 §11.4: credentials = auth-scheme [ 1*SP ( token68 /
 * #auth-param ) ]). GH_ENOTFOUND: the scheme is not want (compared case-insensitively,
 * §11.1); GH_EINVAL: no scheme, or the scheme is followed by anything but 1*SP and at least
 * one more byte. *rest and *restlen get what follows the spaces. */
static int
auth_split(const char *hdr, size_t len, const char *want, const char **rest, size_t *restlen)
{
    size_t slen = 0, wlen = strlen(want), i;

    *rest = NULL;
    *restlen = 0;
    if (!hdr)
        return GH_ENOTFOUND;
    while (slen < len && is_tchar((unsigned char)hdr[slen]))
        slen++;
    if (slen == 0)
        return GH_EINVAL;
    if (slen != wlen || strncasecmp(hdr, want, wlen) != 0)
        return GH_ENOTFOUND;
    for (i = slen; i < len && hdr[i] == ' '; i++)
        ;
    if (i == slen || i == len)
        return GH_EINVAL;
    *rest = hdr + i;
    *restlen = len - i;
    return GH_OK;
}

static int
b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* RFC 4648 §4 base64 with padding, strictly: a multiple of 4 characters, '=' only as the
 * last one or two, nothing outside the alphabet, and unused bits zero (§3.5), so each value
 * has one encoding. out needs 3 * len / 4 bytes. */
static int
b64_decode_std(const char *in, size_t len, unsigned char *out, size_t *outlen)
{
    size_t o = 0, pad = 0;

    *outlen = 0;
    if (len == 0 || len % 4 != 0)
        return GH_EINVAL;
    if (in[len - 1] == '=')
        pad = in[len - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < len; i += 4) {
        size_t have = i + 4 == len ? 4 - pad : 4;   /* alphabet characters in this quantum */
        unsigned long w = 0;

        for (size_t k = 0; k < 4; k++) {
            int v = k < have ? b64val((unsigned char)in[i + k]) : 0;
            if (v < 0)
                return GH_EINVAL;
            w = w << 6 | (unsigned long)v;
        }
        if ((have == 2 && (w & 0xffff)) || (have == 3 && (w & 0xff)))
            return GH_EINVAL;   /* non-zero pad bits */
        out[o++] = (unsigned char)(w >> 16);
        if (have > 2)
            out[o++] = (unsigned char)(w >> 8);
        if (have > 3)
            out[o++] = (unsigned char)w;
    }
    *outlen = o;
    return GH_OK;
}

int
req_basic_decode(const char *hdr, size_t len, char **user, char **pass)
{
    const char *cred;
    unsigned char *dec = NULL;
    char *u, *p, *colon;
    size_t clen, dlen = 0, ulen, plen;
    int rc;

    *user = NULL;
    *pass = NULL;
    if ((rc = auth_split(hdr, len, "Basic", &cred, &clen)) != GH_OK)
        return rc;
    if (len > GH_MAX_TOKEN_LEN)
        return GH_ETOOBIG;   /* bounded before allocating */
    rc = GH_EINVAL;
    dec = x_malloc(clen / 4 * 3 + 1);
    if (b64_decode_std(cred, clen, dec, &dlen) != GH_OK)
        goto out;
    u = (char *)dec;
    if (!text_ok(u, dlen))
        goto out;
    /* RFC 7617 §2: the user-id cannot contain a colon, the password can: split at the first */
    colon = memchr(u, ':', dlen);
    if (!colon)
        goto out;
    p = colon + 1;
    /* RFC 6749 §2.3.1: both parts were form-urlencoded before base64; decode in place */
    if (pct_decode(u, (size_t)(colon - u), u, &ulen) != GH_OK ||
        pct_decode(p, dlen - (size_t)(p - u), p, &plen) != GH_OK)
        goto out;
    if (ulen == 0 || !text_ok(u, ulen) || !text_ok(p, plen))
        goto out;
    *user = x_strndup(u, ulen);
    *pass = x_strndup(p, plen);
    rc = GH_OK;
out:
    mem_wipe_free(dec, clen / 4 * 3 + 1);
    return rc;
}

/* RFC 9110 §5.5: a field value excludes trailing whitespace, and libmicrohttpd 0.9.75 hands
 * it over (leading whitespace it skips itself). */
static size_t
trim_ows(const char *v, size_t len)
{
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    return len;
}

int
req_basic(const struct req *rq, char **user, char **pass)
{
    const char *v;
    size_t len;
    int rc;

    *user = NULL;
    *pass = NULL;
    /* a second Authorization header is ambiguous: which one would a proxy have checked? */
    if ((rc = req_header_unique(rq, MHD_HTTP_HEADER_AUTHORIZATION, &v, &len)) != GH_OK)
        return rc;
    return req_basic_decode(v, trim_ows(v, len), user, pass);
}

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool
is_b64token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

int
req_bearer_parse(const char *hdr, size_t hlen, const char **tok, size_t *len)
{
    const char *t;
    size_t tlen, i = 0;
    int rc;

    *tok = NULL;
    *len = 0;
    if ((rc = auth_split(hdr, hlen, "Bearer", &t, &tlen)) != GH_OK)
        return rc;
    if (tlen > GH_MAX_JWT_LEN)
        return GH_ETOOBIG;
    while (i < tlen && is_b64token_char((unsigned char)t[i]))
        i++;
    if (i == 0)
        return GH_EINVAL;
    while (i < tlen && t[i] == '=')
        i++;
    if (i != tlen)
        return GH_EINVAL;   /* trailing bytes, auth-params, a second token */
    *tok = t;
    *len = tlen;
    return GH_OK;
}

int
req_bearer(const struct req *rq, const char **tok, size_t *len)
{
    const char *v;
    size_t vlen;
    int rc;

    *tok = NULL;
    *len = 0;
    if ((rc = req_header_unique(rq, MHD_HTTP_HEADER_AUTHORIZATION, &v, &vlen)) != GH_OK)
        return rc;
    return req_bearer_parse(v, trim_ows(v, vlen), tok, len);
}

struct audit_src
req_audit_src(struct req *rq)
{
    struct audit_src src = { .rid = req_rid(rq), .ip = req_client_ip(rq), .cli = false };

    return src;
}
