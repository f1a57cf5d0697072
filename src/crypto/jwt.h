/* jwt.h — the JWTs gatehouse signs (access tokens, RFC 9068; id_tokens, OIDC Core §2), the
 * ones it verifies that it signed itself (access tokens at userinfo, id_token_hint), and the
 * client assertions clients sign (below). JWS compact serialisation only (RFC 7515 §7.1); no
 * JWE, no unsecured JWTs.
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

/* RFC 7515 §4.1.9: typ values compared as media types: case-insensitively, "application/"
 * optional ("JWT" equals "application/jwt"). Neither may be NULL. */
bool jwt_typ_eq(const char *got, const char *want);

/* --- JWTs signed by others: client assertions (RFC 7523 §2.2, §3; OIDC Core §9) ----------
 *
 * Two steps, because the claims name the client whose key verifies the signature:
 *   jwt_parse_unverified()  split, decode and parse; nothing is trusted yet;
 *   jwt_verify_hmac()       client_secret_jwt: HS256/HS384/HS512 keyed with the client secret;
 *   jwt_verify_jwks()       private_key_jwt: RS256/PS256/ES256 with a key of the client's JWKS.
 * Each verifier accepts only its own alg family (RFC 8725 §3.1): an HS* token never reaches a
 * public key, and no verifier takes a key from the token. Claims are not checked here (the
 * caller knows the rules: oidc/assertion.c). Thread-safe; nothing is cached (the JWKS is parsed
 * and its key built on every jwt_verify_jwks call). */

/* The algs a client may sign with. */
enum jwt_alg { JWT_HS256 = 0, JWT_HS384, JWT_HS512, JWT_RS256, JWT_PS256, JWT_ES256 };
#define JWT_ALG_COUNT 6

const char *jwt_alg_name(enum jwt_alg a);              /* "HS256" … "ES256"; "?" if invalid */
int  jwt_alg_parse(const char *s, enum jwt_alg *out);   /* exact, case-sensitive; GH_EINVAL for
                                                         * anything else ("none", "hs256") */
bool jwt_alg_is_hmac(enum jwt_alg a);                   /* HS256, HS384, HS512 */

struct jwt_unverified;  /* a compact JWS split and decoded; its signature NOT yet checked */

/* Decode a compact JWS (len <= GH_MAX_JWT_LEN, checked first; three strict base64url parts;
 * header and payload JSON objects without duplicate members). The header may hold only alg
 * (one of enum jwt_alg), kid (a string of 1..256 bytes), typ (a string) and the x5t / x5t#S256
 * hints; jwk, jku, x5u, x5c, crit and anything else are refused.
 * GH_OK: *out (free with jwt_unverified_free). GH_ETOOBIG: over GH_MAX_JWT_LEN. GH_EINVAL:
 * malformed. GH_EDENIED: a refused alg or header member, or a signature longer than any
 * allowed alg makes. *why (static) says which; *out is NULL unless GH_OK. */
int  jwt_parse_unverified(const char *token, size_t len, struct jwt_unverified **out,
         const char **why);
void jwt_unverified_free(struct jwt_unverified *u);        /* NULL is a no-op */
enum jwt_alg jwt_unverified_alg(const struct jwt_unverified *u);
const char *jwt_unverified_kid(const struct jwt_unverified *u);  /* borrowed; NULL if absent */
const char *jwt_unverified_typ(const struct jwt_unverified *u);  /* borrowed; NULL if absent */
/* The payload object, borrowed for u's lifetime. Untrusted until a jwt_verify_* returned GH_OK. */
const json_t *jwt_unverified_claims_borrow(const struct jwt_unverified *u);

/* Check u's HMAC (RFC 7518 §3.2) under key (the client secret's bytes, OIDC Core §16.19),
 * comparing in constant time. GH_OK; GH_EDENIED (*why): alg not HS*, key shorter than the
 * hash output (32/48/64 bytes), wrong MAC; GH_ECRYPTO: the library failed (logged). */
int  jwt_verify_hmac(const struct jwt_unverified *u, const void *key, size_t keylen,
         const char **why);
/* Check u's signature with a key of jwks (the client's registered JWKS text, len bytes): the
 * key whose kid equals the header's; without a kid, the only key (several keys need a kid).
 * The key must fit the alg (RSA >= 2048 bits for RS256/PS256, EC P-256 for ES256), and its use,
 * key_ops and alg, when present, must allow it. PS256: MGF1-SHA-256, 32-byte salt. ES256: R||S,
 * either S. GH_OK; GH_EDENIED (*why): HS* alg, unusable JWKS, no such key, key unfit, bad
 * signature; GH_ECRYPTO: the library failed (logged). */
int  jwt_verify_jwks(const struct jwt_unverified *u, const char *jwks, size_t len,
         const char **why);

/* OIDC Core §3.1.3.6 at_hash (and §3.3.2.11 c_hash): base64url of the left half of the
 * SHA-256 of the ASCII token (all our algs use SHA-256). out gets JWT_AT_HASH_LEN chars + NUL.
 * Cannot fail. */
void jwt_half_hash(const char *token, size_t len, char out[JWT_AT_HASH_LEN + 1]);

#endif
