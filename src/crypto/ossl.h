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
/* Read a whole private file (signing key, realm secret) after checking, on the opened
 * descriptor, that it is a regular file owned by our effective uid with no group/other permission
 * bits, holding at most max bytes (min 0) or exactly max bytes (min == max; no other min).
 * GH_OK: *out (never NULL, max + 1 bytes allocated) holds *outlen bytes; the caller calls
 * mem_wipe_free(*out, *outlen). Otherwise *out is NULL, err says why and the result is
 * GH_ENOTFOUND (no such file), GH_EDENIED (open refused, wrong owner or mode), GH_EINVAL (not a
 * regular file, wrong size) or GH_EIO. */
int   cry_read_private(const char *path, size_t min, size_t max, unsigned char **out,
          size_t *outlen, char *err, size_t errsz);

/* jwt.c: an EVP_MD_CTX ready to sign (sign) or verify with pkey: SHA-256; with pss,
 * RSASSA-PSS with MGF1-SHA-256 and a 32-byte salt (RFC 7518 §3.5). NULL on a library failure,
 * with the errors left queued. Caller frees with EVP_MD_CTX_free. */
EVP_MD_CTX *cry_md_ctx_new(EVP_PKEY *pkey, bool pss, bool sign);
/* keys.c: the signing context of k, initialised once at load (cry_md_ctx_new). Never used
 * itself: jwt_sign copies it (EVP_MD_CTX_copy_ex only reads it, so threads may copy it at
 * once). Borrowed for the ring's lifetime. */
const EVP_MD_CTX *keys_sign_ctx(const struct key *k);

/* jwt.c: the typ values whose protected header each key encodes once at load, and
 * cry_jws_header64: base64url of the protected header {"alg","kid"[,"typ"]} jwt_sign writes
 * for k (typ NULL: none). GH_OK and *out (caller frees); GH_EINVAL: typ is not UTF-8;
 * GH_ETOOBIG: longer than jwt_verify accepts; GH_EINTERNAL. */
#define CRY_JWS_TYPS 2
extern const char *const cry_jws_typs[CRY_JWS_TYPS];
int   cry_jws_header64(const struct key *k, const char *typ, char **out);
/* keys.c: cry_jws_header64(k, cry_jws_typs[i]), made at load (i < CRY_JWS_TYPS). Borrowed. */
const char *keys_jws_header64(const struct key *k, size_t i);

/* jwt.c: GH_OK if sig (JWS form: R||S for ES256) is pkey's signature of tbs under alg (RFC 7518
 * §3.3-3.5); GH_EDENIED with *why if not; GH_ECRYPTO (logged) if the library failed.
 * low_s_only refuses the high-S twin of an ES256 signature (our own tokens). */
int   cry_verify_jws_sig(EVP_PKEY *pkey, enum key_alg alg, bool low_s_only, const char *tbs,
          size_t tbslen, const unsigned char *sig, size_t siglen, const char **why);

#endif
