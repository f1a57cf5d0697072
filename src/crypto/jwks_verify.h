/* jwks_verify.h — verifying an access token (RFC 9068) the way a resource server does: offline,
 * against a JWK Set of public keys (RFC 7517 §5), such as gatehouse's ISSUER/jwks.json, a copy
 * of it in a file, or keys_ring_jwks() of the local ring. Used by `gatehouse token verify`.
 *
 * The rules are RFC 8725's and RFC 9068 §4's: the JWS alg must be RS256, PS256 or ES256; the key
 * is the one the header's kid names (a token without kid is accepted only when the set holds a
 * single usable key); the key's kty (and crv) must fit the alg, and its alg, when the JWK has
 * one, must equal it; typ must be at+jwt; iss must equal the expected issuer; aud must contain
 * the expected audience when one is given; exp must be in the future and nbf and iat not in
 * the future, each within the caller's leeway (`token verify`: the clock_skew setting). Header
 * members other than alg, kid and typ (jwk, jku, x5u, x5c, crit, cty, …) are refused: gatehouse
 * writes none, and a key or a URL carried by the token must never be trusted. Thread-safe once
 * a set is loaded (read-only). */
#ifndef GH_CRYPTO_JWKS_VERIFY_H
#define GH_CRYPTO_JWKS_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define JWKS_WHY_MAX    256  /* a reason fits in this many bytes */

struct jwks; /* the usable public keys of one JWK Set; opaque, read-only once loaded */

/* Load a JWK Set from JSON text (len <= GH_MAX_JWKS bytes; parsed with JSON_REJECT_DUPLICATES)
 * or from a parsed object (not consumed). The set is an object with a "keys" array of at most
 * GH_MAX_KEYS entries. Usable keys: kty "RSA" (GH_RSA_BITS_MIN..KEYS_RSA_BITS_MAX bits) or
 * "EC" on P-256, "use" absent or "sig", "key_ops" absent or holding "verify", "alg" absent or
 * one of RS256/PS256 (RSA) and ES256 (EC). Keys of other types, curves, uses or algs, and
 * RSA keys shorter than GH_RSA_BITS_MIN, are skipped (RFC 7517 §5: unknown keys are ignored).
 * A key that is not an object, has a kid that is not a 1..256-byte string, holds private or
 * symmetric members (d, p, q, dp, dq, qi, oth, k), or whose public numbers are malformed or not
 * a valid public key makes the whole set invalid.
 * GH_OK: *out (caller frees with jwks_free), holding at least one usable key.
 * GH_ETOOBIG: over GH_MAX_JWKS bytes. GH_EINVAL: anything else; why (if not NULL) says what.
 * *out is NULL unless GH_OK. */
int    jwks_parse(const char *json, size_t len, struct jwks **out, char *why, size_t whysz);
int    jwks_load(const json_t *set, struct jwks **out, char *why, size_t whysz);
void   jwks_free(struct jwks *ks);             /* NULL is a no-op */
size_t jwks_count(const struct jwks *ks);      /* usable keys */

/* What jwks_verify_at checks besides the signature. */
struct jwks_expect {
    const char *iss;      /* required: iss must equal it exactly */
    const char *aud;      /* aud (a string or an array of strings) must contain it; NULL: any */
    int64_t now;          /* clock_now() */
    int64_t leeway;       /* seconds; negative counts as 0 */
};

/* Verify an access token: a compact JWS (1..GH_MAX_JWT_LEN bytes, three strict base64url parts,
 * header and payload JSON objects without duplicate members; the payload is parsed only once
 * the signature verified). Requires typ at+jwt (RFC 9068 §4: compared case-insensitively, the
 * "application/" prefix allowed), exp as an integer NumericDate; nbf and iat, when present,
 * integers; iss a string; aud, when present, a string or an array of strings.
 * GH_OK: *claims is the payload (new reference). Otherwise *claims is NULL, why (if not NULL)
 * holds one line of reason, and the result is GH_EINVAL (malformed, or a claim of the wrong
 * type), GH_ENOTFOUND (kid names no usable key of the set: a caller holding a cached set may
 * fetch it again, once), GH_EDENIED (alg not allowed, no kid with several keys, key does not
 * fit the alg, header member not allowed, bad signature, wrong typ, iss or aud, nbf or iat in
 * the future), GH_EEXPIRED (exp passed; everything else valid) or GH_ECRYPTO (the library
 * failed; logged). */
int    jwks_verify_at(const struct jwks *ks, const char *token, size_t len,
           const struct jwks_expect *ex, json_t **claims, char *why, size_t whysz);

#endif
