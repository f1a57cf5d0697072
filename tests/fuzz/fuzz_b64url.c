/* fuzz_b64url.c — the strict base64url decoder (util/b64url.c). The decoder accepts one
 * encoding per value, so decode-then-encode must give the input back whenever decode
 * succeeds; and any bytes must survive encode-then-decode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "fuzz.h"
#include "util/b64url.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap = size * 3 / 4 + 1, outlen = 0, n2 = 0;
    unsigned char *out = malloc(cap), *back;
    char *enc;
    int rc;

    if (!out)
        return 0;
    rc = b64url_decode((const char *)data, size, out, cap, &outlen);
    FUZZ_CHECK(rc == GH_OK || rc == GH_EINVAL);
    if (rc == GH_OK) {
        FUZZ_CHECK(outlen <= cap);
        enc = b64url_encode_new(out, outlen);
        FUZZ_CHECK(enc != NULL);
        FUZZ_CHECK(strlen(enc) == size && memcmp(enc, data, size) == 0);
        FUZZ_CHECK(b64url_enc_len(outlen) == size);
        free(enc);
        /* too small an output buffer is refused, never overrun */
        if (outlen > 0) {
            unsigned char *small = malloc(outlen - 1 ? outlen - 1 : 1);
            if (small) {
                FUZZ_CHECK(b64url_decode((const char *)data, size, small, outlen - 1, &n2)
                    == GH_ETOOBIG);
                free(small);
            }
        }
    }
    free(out);

    /* the other direction: raw bytes -> text -> the same bytes */
    enc = b64url_encode_new(data, size);
    FUZZ_CHECK(enc != NULL);
    back = malloc(size + 1);
    if (back) {
        FUZZ_CHECK(b64url_decode(enc, strlen(enc), back, size + 1, &n2) == GH_OK);
        FUZZ_CHECK(n2 == size && memcmp(back, data, size) == 0);
        free(back);
    }
    free(enc);
    return 0;
}
