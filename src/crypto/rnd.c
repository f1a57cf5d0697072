/* rnd.c — the one source of randomness: OpenSSL's CSPRNG (RAND_bytes), which OpenSSL 3 seeds
 * from getrandom(2). Every secret, id, salt, nonce and token in gatehouse comes from here
 * (SECURITY.md J15). It deliberately offers no seeding, no fallback and no "fast" generator:
 * if the CSPRNG fails, the caller fails. */
#include <limits.h>
#include <stdio.h>

#include <openssl/rand.h>

#include "core/err.h"
#include "core/log.h"
#include "crypto/ossl.h"
#include "crypto/rnd.h"
#include "util/b64url.h"
#include "util/xmem.h"

#define RND_TOKEN_MAX 64

int
rnd_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;

        if (RAND_bytes(p, chunk) != 1) {
            cry_log_errs("RAND_bytes");
            return GH_ECRYPTO;
        }
        p += chunk;
        n -= (size_t)chunk;
    }
    return GH_OK;
}

char *
rnd_token(size_t nbytes)
{
    unsigned char raw[RND_TOKEN_MAX];
    char *tok = NULL;

    if (nbytes == 0 || nbytes > RND_TOKEN_MAX) {
        log_err("crypto_error", "rnd_token: %zu bytes requested, allowed 1..%d", nbytes,
            RND_TOKEN_MAX);
        return NULL;
    }
    if (rnd_bytes(raw, nbytes) != GH_OK)
        return NULL;
    tok = b64url_encode_new(raw, nbytes);
    mem_wipe(raw, sizeof(raw));
    return tok;
}
