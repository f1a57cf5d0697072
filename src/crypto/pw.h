/* pw.h — password hashing with Argon2id (libargon2), stored in the PHC encoded form
 * "$argon2id$v=19$m=65536,t=3,p=1$<salt>$<tag>" with a 16-byte salt and 32-byte tag. */
#ifndef GH_CRYPTO_PW_H
#define GH_CRYPTO_PW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pw_params {
    uint32_t m_kib;  /* memory, KiB */
    uint32_t t;      /* iterations */
    uint32_t p;      /* lanes/threads */
};

/* GH_OK, or GH_EINVAL with *why: below the OWASP floor (m=19456 KiB, t=2, p=1) or above the
 * maxima in limits.h. */
int  pw_params_check(const struct pw_params *pp, const char **why);

/* Hash pw (len bytes, len <= GH_MAX_PASSWORD else GH_ETOOBIG before any work) into a new
 * encoded string (caller frees). GH_OK, GH_ETOOBIG, GH_EINVAL (pp fails pw_params_check),
 * GH_ECRYPTO. */
int  pw_hash(const struct pw_params *pp, const char *pw, size_t len, char **out);

/* GH_OK if pw matches encoded, GH_EDENIED if not, GH_EINVAL if encoded is not an argon2id
 * PHC string, GH_ETOOBIG if len > GH_MAX_PASSWORD (checked first, no hashing). */
int  pw_verify(const char *encoded, const char *pw, size_t len);

/* Verify pw against a fixed dummy hash made with pp, so an unknown user costs the same as a
 * wrong password. Always GH_EDENIED (or GH_ETOOBIG). */
int  pw_verify_dummy(const struct pw_params *pp, const char *pw, size_t len);

/* true if encoded was made with other parameters than pp (rehash after a successful login). */
bool pw_needs_rehash(const char *encoded, const struct pw_params *pp);

/* Milliseconds one pw_hash takes here with pp (median of `runs`, 1..64; else GH_EINVAL). */
int  pw_measure_ms(const struct pw_params *pp, unsigned runs, double *ms);

#endif
