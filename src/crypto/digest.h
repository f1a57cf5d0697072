/* digest.h — SHA-256 and HMAC-SHA-256 (OpenSSL EVP). Used to store bearer secrets as hashes. */
#ifndef GH_CRYPTO_DIGEST_H
#define GH_CRYPTO_DIGEST_H

#include <stddef.h>

#define DIG_SHA256_LEN 32

void dig_sha256(const void *data, size_t n, unsigned char out[DIG_SHA256_LEN]);
/* GH_OK or GH_ECRYPTO */
int  dig_hmac_sha256(const unsigned char *key, size_t keylen, const void *data, size_t n,
         unsigned char out[DIG_SHA256_LEN]);

#endif
