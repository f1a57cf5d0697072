/* buf.c — bounded growable byte buffer. Content is always NUL-terminated past len so text
 * can be borrowed as a C string; the terminator does not count against max. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "util/buf.h"
#include "util/xmem.h"

void
buf_init(struct buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static int
reserve(struct buf *b, size_t extra)
{
    size_t need, cap;

    if (extra > b->max || b->len > b->max - extra) {
        buf_free(b);
        return GH_ETOOBIG;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return GH_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    b->p = x_realloc(b->p, cap);
    b->cap = cap;
    return GH_OK;
}

int
buf_add(struct buf *b, const void *src, size_t n)
{
    int rc;

    if ((rc = reserve(b, n)) != GH_OK)
        return rc;
    if (n)
        memcpy(b->p + b->len, src, n);
    b->len += n;
    b->p[b->len] = '\0';
    return GH_OK;
}

int
buf_addstr(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return GH_EINVAL;
    if ((rc = reserve(b, (size_t)n)) != GH_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return GH_OK;
}

const char *
buf_str(const struct buf *b)
{
    return b->p ? (const char *)b->p : "";
}

char *
buf_steal(struct buf *b)
{
    char *p = b->p ? (char *)b->p : x_strdup("");

    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void
buf_reset(struct buf *b)
{
    if (b->p)
        mem_wipe(b->p, b->len);
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void
buf_free(struct buf *b)
{
    mem_wipe_free(b->p, b->cap);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}
