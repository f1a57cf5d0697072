/* digest.c — SHA-256 and HMAC-SHA-256 through OpenSSL's EVP interfaces. Bearer secrets (codes,
 * refresh tokens, session ids) are stored only as these digests (SECURITY.md J15). Comparing
 * digests is the caller's job and must use str_ct_eq / CRYPTO_memcmp (J13). */
#include <stdlib.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/log.h"
#include "crypto/digest.h"
#include "crypto/ossl.h"

void
dig_sha256(const void *data, size_t n, unsigned char out[DIG_SHA256_LEN])
{
    unsigned int len = 0;

    /* SHA-256 of memory cannot fail short of a broken library. Returning an unfilled digest
     * would make every token hash alike, so there is no safe degraded answer: stop. */
    if (EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) != 1 || len != DIG_SHA256_LEN) {
        cry_log_errs("EVP_Digest(SHA-256)");
        abort();
    }
}

int
dig_hmac_sha256(const unsigned char *key, size_t keylen, const void *data, size_t n,
    unsigned char out[DIG_SHA256_LEN])
{
    size_t len = 0;

    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, data, n, out,
            DIG_SHA256_LEN, &len) ||
        len != DIG_SHA256_LEN) {
        cry_log_errs("HMAC-SHA-256");
        return GH_ECRYPTO;
    }
    return GH_OK;
}
