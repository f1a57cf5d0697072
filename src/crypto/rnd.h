/* rnd.h — the CSPRNG (OpenSSL RAND_bytes). Every secret, id, salt and token comes from here. */
#ifndef GH_CRYPTO_RND_H
#define GH_CRYPTO_RND_H

#include <stddef.h>

int  rnd_bytes(void *buf, size_t n);          /* GH_OK or GH_ECRYPTO (logged) */
/* A new base64url string of nbytes random bytes (nbytes <= 64); caller frees (wipe: str_wipe_free).
 * NULL only if the CSPRNG failed. */
char *rnd_token(size_t nbytes);

#endif
