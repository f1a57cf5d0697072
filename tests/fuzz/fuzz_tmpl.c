/* fuzz_tmpl.c — the template compiler (tmpl/tmpl.c) and the renderer on what it accepts,
 * with a few fixed variables (one with every HTML metacharacter, one empty, one unset). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "fuzz.h"
#include "tmpl/tmpl.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct tmpl_var vars[] = {
        { "name", "<script>alert(\"x&y\")</script>'" },
        { "flag", "1" },
        { "empty", "" },
        { "unset", NULL },
        { "tag", "{{name}}{{#flag}}" },
        { NULL, "skipped" },
    };
    struct tmpl *t = NULL;
    struct buf out;
    char err[128];
    int rc;

    rc = tmpl_compile((const char *)data, size, &t, err, sizeof(err));
    FUZZ_CHECK(rc == GH_OK || rc == GH_EINVAL || rc == GH_ETOOBIG);
    if (rc != GH_OK) {
        FUZZ_CHECK(t == NULL);
        return 0;
    }
    FUZZ_CHECK(t != NULL);
    buf_init(&out, 4 * GH_MAX_TEMPLATE);
    rc = tmpl_render(t, vars, sizeof(vars) / sizeof(vars[0]), &out);
    FUZZ_CHECK(rc == GH_OK || rc == GH_ETOOBIG);
    buf_free(&out);
    /* a tiny ceiling exercises the over-max path */
    buf_init(&out, 7);
    (void)tmpl_render(t, vars, 2, &out);
    buf_free(&out);
    tmpl_free(t);
    return 0;
}
