/* str.c — bounded copies, strict integer parsing, constant-time comparison, UTF-8 checks.
 * Deliberately no locale-dependent calls: ASCII rules only, so behaviour is the same
 * everywhere gatehouse runs. */
#include <errno.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/err.h"
#include "util/str.h"
#include "util/xmem.h"

int
str_copy(char *dst, size_t dstsz, const char *src)
{
    size_t n = strlen(src);

    if (n >= dstsz) {
        memcpy(dst, src, dstsz - 1);
        dst[dstsz - 1] = '\0';
        return GH_ETOOBIG;
    }
    memcpy(dst, src, n + 1);
    return GH_OK;
}

int
str_to_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    const char *p;

    if (!s || !*s || strlen(s) > 20)
        return GH_EINVAL;
    for (p = s; *p; p++) {
        unsigned d;
        if (*p < '0' || *p > '9')
            return GH_EINVAL;
        d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return GH_ETOOBIG;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return GH_ETOOBIG;
    *out = v;
    return GH_OK;
}

bool
str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool
str_ct_eq(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

bool
str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
str_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        size_t n;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        /* reject overlongs, UTF-16 surrogates and code points past U+10FFFF */
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

bool
str_has_ctl(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

void
str_lower_ascii(char *s)
{
    for (; *s; s++) {
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
    }
}

int
str_split(const char *s, size_t max, size_t item_max, char ***out)
{
    char **list = NULL;
    size_t n = 0;
    const char *p = s;
    int rc = GH_EINVAL;

    *out = NULL;
    list = x_calloc(max + 1, sizeof(*list));
    while (*p) {
        size_t len;
        if (*p == ',' || *p == ' ') {
            p++;
            continue;
        }
        len = strcspn(p, ", ");
        if (len > item_max) {
            rc = GH_EINVAL;
            goto out;
        }
        if (n == max) {
            rc = GH_ETOOBIG;
            goto out;
        }
        list[n++] = x_strndup(p, len);
        p += len;
    }
    *out = list;
    list = NULL;
    rc = GH_OK;
out:
    str_list_free(list);
    return rc;
}

void
str_list_free(char **list)
{
    if (!list)
        return;
    for (char **p = list; *p; p++)
        free(*p);
    free(list);
}

size_t
str_list_len(char *const *list)
{
    size_t n = 0;

    while (list && list[n])
        n++;
    return n;
}

bool
str_list_has(char *const *list, const char *s)
{
    for (size_t i = 0; list && list[i]; i++) {
        if (strcmp(list[i], s) == 0)
            return true;
    }
    return false;
}

char *
str_list_join(char *const *list, const char *sep)
{
    size_t total = 1, seplen = strlen(sep), n = str_list_len(list);
    char *out, *w;

    for (size_t i = 0; i < n; i++)
        total += strlen(list[i]) + seplen;
    out = x_malloc(total);
    w = out;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(list[i]);
        if (i) {
            memcpy(w, sep, seplen);
            w += seplen;
        }
        memcpy(w, list[i], len);
        w += len;
    }
    *w = '\0';
    return out;
}

void
str_fmt(char *out, size_t outsz, const char *fmt, ...)
{
    va_list ap;

    if (!out || outsz == 0)
        return;
    va_start(ap, fmt);
    if (vsnprintf(out, outsz, fmt, ap) < 0)
        out[0] = '\0';
    va_end(ap);
}
