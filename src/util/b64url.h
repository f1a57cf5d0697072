/* b64url.h — base64url without padding (RFC 4648 §5, RFC 7515 §2). Strict decoder:
 * no padding, no whitespace, no characters outside the alphabet, no length ≡ 1 (mod 4),
 * and unused trailing bits must be zero (one encoding per value). */
#ifndef GH_UTIL_B64URL_H
#define GH_UTIL_B64URL_H

#include <stddef.h>

/* Output length without NUL for n input bytes. */
size_t b64url_enc_len(size_t n);
/* Encode n bytes into out (outsz >= b64url_enc_len(n)+1). GH_ETOOBIG if it does not fit. */
int    b64url_encode(const unsigned char *in, size_t n, char *out, size_t outsz);
/* Encode into a new string (caller frees). */
char  *b64url_encode_new(const unsigned char *in, size_t n);
/* Decode len chars into out (outsz bytes); *outlen gets the byte count.
 * GH_EINVAL on any malformed input, GH_ETOOBIG if out is too small. */
int    b64url_decode(const char *in, size_t len, unsigned char *out, size_t outsz,
           size_t *outlen);

#endif
