/* ossl.h — helpers shared inside crypto/ only: no file outside src/crypto/ includes this. The
 * prefix is cry_ because OpenSSL owns ossl_. */
#ifndef GH_CRYPTO_OSSL_H
#define GH_CRYPTO_OSSL_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "crypto/keys.h"

/* Empty the OpenSSL error queue into buf as "reason; reason; ..." (cut to sz - 1 bytes; the
 * queue is always emptied, so no stale error is left for the next caller). Returns buf, which
 * holds "no OpenSSL detail" if the queue was empty. sz > 0. */
char *cry_errs(char *buf, size_t sz);
/* Empty the OpenSSL error queue into one log_err("crypto_error") line "what: reasons". */
void  cry_log_errs(const char *what);
/* vsnprintf into err; a no-op if err is NULL or errsz 0. */
void  cry_set_err(char *err, size_t errsz, const char *fmt, ...)
          __attribute__((format(printf, 3, 4)));
/* Read a whole private file (signing key, realm secret) after checking, on the opened
 * descriptor, that it is a regular file owned by our effective uid with no group/other permission
 * bits, holding at most max bytes (min 0) or exactly max bytes (min == max; no other min).
 * GH_OK: *out (never NULL, max + 1 bytes allocated) holds *outlen bytes; the caller calls
 * mem_wipe_free(*out, *outlen). Otherwise *out is NULL, err says why and the result is
 * GH_ENOTFOUND (no such file), GH_EDENIED (open refused, wrong owner or mode), GH_EINVAL (not a
 * regular file, wrong size) or GH_EIO. */
int   cry_read_private(const char *path, size_t min, size_t max, unsigned char **out,
          size_t *outlen, char *err, size_t errsz);

/* jwt.c: GH_OK if sig (JWS form: R||S for ES256) is pkey's signature of tbs under alg (RFC 7518
 * §3.3-3.5); GH_EDENIED with *why if not; GH_ECRYPTO (logged) if the library failed.
 * low_s_only refuses the high-S twin of an ES256 signature (our own tokens). */
int   cry_verify_jws_sig(EVP_PKEY *pkey, enum key_alg alg, bool low_s_only, const char *tbs,
          size_t tbslen, const unsigned char *sig, size_t siglen, const char **why);

#endif
