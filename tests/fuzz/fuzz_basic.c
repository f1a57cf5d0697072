/* fuzz_basic.c — the Authorization header parsers of http/req.c: req_basic_decode (Basic
 * client credentials, RFC 7617 + RFC 6749 §2.3.1 form-decoding) and req_bearer_parse
 * (RFC 6750 §2.1 b64token). The whole input is one header value; both run on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "fuzz.h"
#include "http/req.h"
#include "util/str.h"
#include "util/xmem.h"

static void
check_text(const char *s)
{
    size_t n = strlen(s);

    FUZZ_CHECK(!str_has_ctl(s, n) && str_utf8_valid(s, n));
}

static bool
b64token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *tok = NULL;
    char *user = NULL, *pass = NULL;
    size_t len = 0;
    int rc;

    rc = req_basic_decode(s, size, &user, &pass);
    FUZZ_CHECK(rc == GH_OK || rc == GH_EINVAL || rc == GH_ENOTFOUND || rc == GH_ETOOBIG);
    if (rc == GH_OK) {
        FUZZ_CHECK(user && pass && user[0] != '\0');
        FUZZ_CHECK(size <= GH_MAX_TOKEN_LEN);
        /* decoded text is shorter than its base64 */
        FUZZ_CHECK(strlen(user) + strlen(pass) + 1 <= size);
        check_text(user);
        check_text(pass);
        free(user);
        str_wipe_free(pass);
    } else {
        FUZZ_CHECK(user == NULL && pass == NULL);
    }

    rc = req_bearer_parse(s, size, &tok, &len);
    FUZZ_CHECK(rc == GH_OK || rc == GH_EINVAL || rc == GH_ENOTFOUND || rc == GH_ETOOBIG);
    if (rc == GH_OK) {
        FUZZ_CHECK(tok > s && len > 0 && len <= GH_MAX_JWT_LEN);
        FUZZ_CHECK(tok + len == s + size);   /* the token runs to the end of the value */
        FUZZ_CHECK(tok[0] != '=');
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK(b64token_char((unsigned char)tok[i]));
    } else {
        FUZZ_CHECK(tok == NULL && len == 0);
    }
    return 0;
}
