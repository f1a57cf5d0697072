/* b64url.c — strict base64url (RFC 4648 §5) without padding, as JOSE uses it. */
#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "util/b64url.h"
#include "util/xmem.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64url_enc_len(size_t n)
{
    return (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0);
}

int
b64url_encode(const unsigned char *in, size_t n, char *out, size_t outsz)
{
    size_t i, o = 0;

    if (outsz < b64url_enc_len(n) + 1)
        return GH_ETOOBIG;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
    return GH_OK;
}

char *
b64url_encode_new(const unsigned char *in, size_t n)
{
    size_t sz = b64url_enc_len(n) + 1;
    char *out = x_malloc(sz);

    b64url_encode(in, n, out, sz);
    return out;
}

static int
val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int
b64url_decode(const char *in, size_t len, unsigned char *out, size_t outsz, size_t *outlen)
{
    size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0), o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;

    *outlen = 0;
    if (len % 4 == 1)
        return GH_EINVAL;
    if (need > outsz)
        return GH_ETOOBIG;
    for (size_t i = 0; i < len; i++) {
        int v = val((unsigned char)in[i]);
        if (v < 0)
            return GH_EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-canonical: leftover bits must be zero */
        return GH_EINVAL;
    *outlen = o;
    return GH_OK;
}
