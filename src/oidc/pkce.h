/* pkce.h — Proof Key for Code Exchange (RFC 7636) with the S256 method only: "plain" gives an
 * attacker who sees the authorization request the verifier, so it is refused (RFC 9700 §2.1.1). */
#ifndef GH_OIDC_PKCE_H
#define GH_OIDC_PKCE_H

#include <stdbool.h>
#include <stddef.h>

/* A code_challenge for S256: exactly 43 base64url characters (a SHA-256, RFC 7636 §4.2). */
bool pkce_challenge_ok(const char *challenge);
/* RFC 7636 §4.1 verifier syntax: 43..128 characters of [A-Za-z0-9-._~]. */
bool pkce_verifier_ok(const char *verifier, size_t len);
/* §4.6: BASE64URL(SHA256(verifier)) == challenge, compared in constant time. false also for a
 * verifier that is not well-formed. */
bool pkce_verify(const char *challenge, const char *verifier, size_t len);

#endif
