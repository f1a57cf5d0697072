/* assertion.h — JWT client assertions at the token endpoint: client_secret_jwt and
 * private_key_jwt (RFC 7523 §2.2, §3; RFC 7521 §4.2; OIDC Core §9). oidc/client_auth.c calls
 * these in order: parse (everything that needs no key), look the client up by the name the
 * assertion gives, verify the signature with that client's registered credentials, spend the
 * jti. Every refusal comes with a static *why for the log, never for the client. */
#ifndef GH_OIDC_ASSERTION_H
#define GH_OIDC_ASSERTION_H

#include <stdint.h>

/* RFC 7523 §2.2: the only client_assertion_type there is. */
#define ASSERTION_TYPE_JWT_BEARER "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

struct assertion;
struct client;
struct secrets;
struct store;

/* Decode jwt (len bytes; over GH_MAX_JWT_LEN is refused before anything is parsed) and check
 * what needs no key: the header (crypto/jwt.c rules; typ absent, "JWT" or
 * "client-authentication+jwt"), iss = sub (a client_id, at most GH_MAX_CLIENT_ID bytes), aud
 * naming issuer + "/token" or issuer (a string or an array of strings), exp (integer) after
 * now - skew and at most 5 minutes + skew ahead, nbf and iat (integers, when present) not
 * after now + skew, iat not more than 5 minutes + skew old, jti a string of 1..256 bytes
 * without control characters. issuer: ours, without a trailing "/token". skew: seconds of
 * clock difference allowed (the clock_skew setting; clamped to 0..GH_CLOCK_SKEW_MAX_S).
 * GH_OK: *out (free with assertion_free). Otherwise *out is NULL and *why says why:
 * GH_ETOOBIG, GH_EINVAL (malformed, a claim of the wrong type), GH_EDENIED (a value refused),
 * GH_EEXPIRED. */
int  assertion_parse(const char *jwt, size_t len, const char *issuer, int64_t now, int64_t skew,
         struct assertion **out, const char **why);
/* The same checks for an assertion presented as an authorization grant (RFC 7523 §2.1,
 * `assertion` at grant_type jwt-bearer), except: iss and sub may differ, each a string of
 * 1..GH_MAX_URI bytes without control characters; typ absent or "JWT" (never
 * "client-authentication+jwt"). */
int  assertion_parse_grant(const char *jwt, size_t len, const char *issuer, int64_t now,
         int64_t skew, struct assertion **out, const char **why);
void assertion_free(struct assertion *a);                     /* NULL is a no-op */
const char *assertion_client_id(const struct assertion *a);   /* iss (= sub); borrowed */
const char *assertion_sub(const struct assertion *a);         /* borrowed */
const char *assertion_kid(const struct assertion *a);         /* header kid; NULL if absent */
const char *assertion_jti(const struct assertion *a);         /* borrowed */
const char *assertion_alg(const struct assertion *a);         /* "HS256" …; static */

/* Verify a's signature with c's credentials: c must be the client a names and registered with
 * the method a's alg implies — client_secret_jwt for HS256/HS384/HS512 (keyed with the secret
 * sec_open() recovers, wiped after use), private_key_jwt for RS256/PS256/ES256 (a key of c's
 * JWKS). GH_OK; GH_EDENIED (*why); GH_ECRYPTO: a library failure (logged). */
int  assertion_verify(const struct assertion *a, const struct client *c,
         const struct secrets *sec, const char **why);

/* Verify a's signature with a key of jwks (len bytes; a trusted issuer's JWKS, or the one fetched
 * from a private_key_jwt client's jwks_uri, oidc/client_auth.c): RS256, PS256
 * or ES256 only (an HS* alg is refused before any key is looked at), the key its kid names
 * (without a kid: the only key). GH_OK; GH_EDENIED (*why); GH_ECRYPTO. */
int  assertion_verify_keys(const struct assertion *a, const char *jwks, size_t len,
         const char **why);

/* RFC 7523 §3 item 7: record (iss, jti) until the assertion can no longer be accepted
 * (exp + the skew it was parsed with). Call only after assertion_verify. GH_OK the first time;
 * GH_EEXIST for a replay; GH_ESTORE. */
int  assertion_spend(struct store *st, const struct assertion *a);

#endif
