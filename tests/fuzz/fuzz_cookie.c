/* fuzz_cookie.c — the Cookie header parser (http/cookie.c: cookie_parse, cookie_get) and,
 * for every pair it keeps, cookie_format followed by a parse of the result (what we set must
 * come back unchanged). The whole input is one header value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "fuzz.h"
#include "http/cookie.h"

static bool
octet_ok(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

/* cookie_format, then parse its name=value back: the same value, not a duplicate. */
static void
roundtrip(const struct cookie_pair *p)
{
    size_t outsz = p->name_len + p->value_len + 128;
    char *out = malloc(outsz);
    struct cookie_jar jar;
    const char *v, *semi;
    size_t vlen;

    if (!out)
        abort();
    FUZZ_CHECK(cookie_format(out, outsz, p->name, p->value, 60, true) == GH_OK);
    semi = strchr(out, ';');
    FUZZ_CHECK(semi != NULL);
    FUZZ_CHECK(cookie_parse(out, (size_t)(semi - out), &jar) == GH_OK);
    v = cookie_get(&jar, p->name, &vlen);
    FUZZ_CHECK(v != NULL && vlen == p->value_len && memcmp(v, p->value, vlen) == 0);
    cookie_jar_free(&jar);
    /* deleting needs no value and never fails with room to spare */
    FUZZ_CHECK(cookie_format(out, outsz, p->name, NULL, 0, true) == GH_OK);
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cookie_jar jar;
    int rc;

    rc = cookie_parse((const char *)data, size, &jar);
    if (size > GH_MAX_COOKIE_HEADER) {
        FUZZ_CHECK(rc == GH_ETOOBIG && jar.n == 0 && jar.mem == NULL);
    } else {
        FUZZ_CHECK(rc == GH_OK);
    }
    FUZZ_CHECK(jar.n <= GH_MAX_COOKIES);
    for (size_t i = 0; i < jar.n; i++) {
        const struct cookie_pair *p = &jar.c[i];
        const char *v;
        size_t vlen = 12345;

        FUZZ_CHECK(p->name_len > 0 && strlen(p->name) == p->name_len);
        FUZZ_CHECK(p->value_len <= GH_MAX_COOKIE_VALUE && strlen(p->value) == p->value_len);
        for (size_t k = 0; k < p->value_len; k++)
            FUZZ_CHECK(octet_ok((unsigned char)p->value[k]));
        for (size_t k = 0; k < p->name_len; k++)
            FUZZ_CHECK(octet_ok((unsigned char)p->name[k]) && p->name[k] != '=');
        for (size_t k = 0; k < i; k++)   /* one entry per name */
            FUZZ_CHECK(strcmp(jar.c[k].name, p->name) != 0);
        /* the value lies inside the jar's copy */
        FUZZ_CHECK(p->value >= jar.mem && p->value + p->value_len <= jar.mem + size);
        v = cookie_get(&jar, p->name, &vlen);
        if (p->dup) {
            FUZZ_CHECK(v == NULL && vlen == 0);
        } else {
            FUZZ_CHECK(v == p->value && vlen == p->value_len);
            roundtrip(p);
        }
    }
    cookie_jar_free(&jar);
    FUZZ_CHECK(jar.n == 0 && jar.mem == NULL);
    return 0;
}
