/* fuzz_jwks.c — validation of a client's inline JWKS (crypto/keys.c,
 * keys_jwks_check_public): JSON parsing, member checks, RSA/EC public key import. */
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "crypto/keys.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    int rc = keys_jwks_check_public((const char *)data, size, &why);

    FUZZ_CHECK(rc == GH_OK ? why == NULL : (rc == GH_EINVAL && why != NULL));
    return 0;
}
