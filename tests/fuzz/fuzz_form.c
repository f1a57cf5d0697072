/* fuzz_form.c — the strict application/x-www-form-urlencoded decoder (http/req.c,
 * req_params_add) used for query strings and form bodies, plus req_is_form_type. The input
 * is split at its first '\n' into two sources (query + body), as one request may carry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "fuzz.h"
#include "http/req.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *why = NULL;
    const char *nl = memchr(s, '\n', size);
    size_t n1 = nl ? (size_t)(nl - s) : size;
    struct req_params ps;
    size_t before;
    int rc;

    (void)req_is_form_type(s, size);
    req_params_init(&ps);
    rc = req_params_add(&ps, s, n1, &why);
    FUZZ_CHECK(rc == GH_OK || why != NULL);
    if (rc != GH_OK)
        FUZZ_CHECK(ps.n == 0);
    if (nl) {
        before = ps.n;
        rc = req_params_add(&ps, nl + 1, size - n1 - 1, &why);
        FUZZ_CHECK(rc == GH_OK || why != NULL);
        if (rc != GH_OK)
            FUZZ_CHECK(ps.n == before); /* on error the list is left as it was */
    }
    FUZZ_CHECK(ps.n <= GH_MAX_PARAMS);
    for (size_t i = 0; i < ps.n; i++) {
        const struct req_param *p = &ps.p[i];
        size_t vlen = 0;
        const char *v;

        FUZZ_CHECK(p->name_len > 0 && p->name_len <= GH_MAX_PARAM_LEN);
        FUZZ_CHECK(p->value_len <= req_param_max(p->name, p->name_len));
        FUZZ_CHECK(strlen(p->name) == p->name_len);    /* no NUL survives decoding */
        FUZZ_CHECK(strlen(p->value) == p->value_len);
        for (size_t j = 0; j < p->name_len; j++)
            FUZZ_CHECK((unsigned char)p->name[j] >= 0x20 && p->name[j] != 0x7f);
        v = req_param(&ps, p->name, &vlen);
        FUZZ_CHECK(p->value_len == 0 ? v == NULL : (v == p->value && vlen == p->value_len));
    }
    req_params_free(&ps);
    return 0;
}
