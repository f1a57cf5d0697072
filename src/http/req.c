/* req.c — the request as handlers see it: the raw request target (copied from MHD's URI log
 * callback before MHD splits and unescapes it in place), header lookups, the bounded body,
 * and the strict application/x-www-form-urlencoded decoder (WHATWG URL §5.1 syntax with
 * RFC 6749 §3.1's "no repeated parameters"). This is the only file that calls MHD lookup
 * functions. It does not interpret parameters: endpoints turn them into typed structs.
 * Deliberately strict: a malformed escape, NUL, control character or invalid UTF-8 rejects
 * the whole input instead of being repaired or truncated. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "core/err.h"
#include "core/limits.h"
#include "http/req.h"
#include "util/str.h"
#include "http/router.h"
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
    /* the query can hold codes or credentials */
    if (rq->query)
        mem_wipe(rq->uri, rq->path_len + 1 + rq->query_len);
    free(rq);
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
        /* a value cannot shrink below a third of its encoding: check before decoding */
        if (nlen_raw > 3 * (size_t)GH_MAX_PARAM_LEN || vlen_raw > 3 * (size_t)GH_MAX_PARAM_LEN) {
            *why = "a request parameter is too long";
            rc = GH_ETOOBIG;
            goto out;
        }
        if (pct_decode(name, nlen_raw, name, &nlen) != GH_OK ||
            pct_decode(val, vlen_raw, val, &vlen) != GH_OK) {
            *why = "malformed percent-encoding in a request parameter";
            rc = GH_EINVAL;
            goto out;
        }
        if (nlen > GH_MAX_PARAM_LEN || vlen > GH_MAX_PARAM_LEN) {
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
