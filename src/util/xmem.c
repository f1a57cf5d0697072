/* xmem.c — aborting allocators and secret wiping.
 * An identity provider that runs out of memory mid-request has no safe partial answer, so
 * allocation failure aborts with a log line instead of threading NULL through every caller. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/xmem.h"

static void
oom(size_t n)
{
    fprintf(stderr, "gatehouse: fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
x_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *
x_calloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *
x_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *
x_strdup(const char *s)
{
    if (!s)
        return NULL;
    return x_strndup(s, strlen(s));
}

char *
x_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = x_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void
mem_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

void
mem_wipe_free(void *p, size_t n)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, n);
    free(p);
}

void
str_wipe_free(char *s)
{
    if (s)
        mem_wipe_free(s, strlen(s));
}
