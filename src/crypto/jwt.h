/* jwt.h — the JWTs gatehouse signs (access tokens, RFC 9068; id_tokens, OIDC Core §2) and the
 * ones it verifies that it signed itself (access tokens at userinfo, id_token_hint). JWS
 * compact serialisation only (RFC 7515 §7.1); no JWE, no unsecured JWTs.
 *
 * Verification follows RFC 8725: the algorithm comes from our allow-list, never from the
 * token alone: the header's alg must be one of RS256/PS256/ES256 *and* match the key that its
 * kid names in our ring (an RSA key verifies RS256 or PS256 only if it is published with that
 * alg; an EC key ES256 only). "none", HS*, unknown kids and embedded keys (jwk, jku, x5u, x5c,
 * crit) are refused before any signature work; so is any header member other than alg, kid
 * and typ, since our tokens carry no others. ES256 signatures are R||S (RFC 7518 §3.4) with
 * the low S (our signer normalises it), never DER. Thread-safe: the ring is only read. */
#ifndef GH_CRYPTO_JWT_H
#define GH_CRYPTO_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto/keys.h"

#define JWT_AT_HASH_LEN 22  /* base64url of 16 bytes */

/* Sign claims (a JSON object, not consumed) with the ring's signer for alg (keys_ring_signer);
 * header {"alg":alg,"kid":kid,"typ":typ} (typ: "at+jwt" for access tokens, "JWT" for id_tokens;
 * NULL leaves typ out). *out: the compact JWS, caller frees; NULL unless GH_OK.
 * GH_OK; GH_ENOTFOUND: no key for alg in the ring; GH_EINVAL: claims not an object or typ not
 * UTF-8; GH_ETOOBIG: the token would be over GH_MAX_JWT_LEN (jwt_verify would refuse it);
 * GH_ECRYPTO (logged); GH_EINTERNAL: jansson could not serialise claims. */
int  jwt_sign(const struct keyring *kr, enum key_alg alg, const char *typ, const json_t *claims,
         char **out);

/* What jwt_verify checks besides the signature. */
struct jwt_expect {
    const char *typ;      /* required header typ, compared case-insensitively, an optional
                           * "application/" prefix allowed (RFC 7515 §4.1.9); NULL: any/none */
    const char *iss;      /* required iss (exact); NULL: not checked */
    const char *aud;      /* must equal aud or be in the aud array; NULL: not checked */
    int64_t now;          /* clock_now() */
    int64_t leeway;       /* seconds of clock skew allowed on exp/nbf/iat */
    bool allow_expired;   /* id_token_hint: an expired token is still a hint */
};

/* Verify a compact JWS (len <= GH_MAX_JWT_LEN bytes, three strict base64url parts, header and
 * payload JSON objects without duplicate members; the payload is parsed only once the signature
 * verified) against the ring. Requires exp (an integer NumericDate); nbf and iat, when present,
 * must be integers not after now + leeway; iss a string and aud a string or array of strings
 * when present. A negative leeway counts as 0.
 * GH_OK: *claims is the payload (new reference).
 * GH_EINVAL: malformed (including a claim of the wrong type). GH_EDENIED: alg not allowed, kid
 * missing or unknown, alg not the key's, header member other than alg/kid/typ, bad signature,
 * wrong typ, iss or aud, nbf or iat in the future. GH_EEXPIRED: exp <= now - leeway (unless
 * allow_expired), everything else being valid. GH_ECRYPTO: the library failed (logged).
 * *claims is NULL unless GH_OK. Reasons for a refusal go to the debug log only. */
int  jwt_verify(const struct keyring *kr, const char *token, size_t len,
         const struct jwt_expect *ex, json_t **claims);

/* OIDC Core §3.1.3.6 at_hash (and §3.3.2.11 c_hash): base64url of the left half of the
 * SHA-256 of the ASCII token (all our algs use SHA-256). out gets JWT_AT_HASH_LEN chars + NUL.
 * Cannot fail. */
void jwt_half_hash(const char *token, size_t len, char out[JWT_AT_HASH_LEN + 1]);

#endif
