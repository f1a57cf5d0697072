/* grant_jwt.h — the JWT-bearer authorization grant (RFC 7523 §2.1, §3): a client presents a
 * signed assertion about a subject and gets an access token for that subject. Who may assert
 * whom (docs/service-to-service.md, "The JWT-bearer grant"):
 *   self-issued  iss = the presenting client_id, signed with that client's own registered
 *                credential (client_secret_jwt: HS256/384/512 with its secret; private_key_jwt:
 *                RS256/PS256/ES256 with its JWKS): sub must be the client_id;
 *   trusted      iss = an enabled trusted issuer (`gatehouse issuer add`) that lists the
 *                presenting client, signed with a key of the issuer's JWKS (RS256/PS256/ES256):
 *                sub is an existing, enabled user's sub, or the presenting client_id.
 * Nothing else. The client is already authenticated (any method; a public one is refused). */
#ifndef GH_OIDC_GRANT_JWT_H
#define GH_OIDC_GRANT_JWT_H

#include <stdbool.h>

#include <jansson.h>

#include "oidc/oauth_err.h"

#define GRANT_TYPE_JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"

struct app;
struct audit_src;
struct client;
struct store;

/* The request parameters the grant reads (borrowed; NULL when absent). */
struct jwt_grant_req {
    const char *assertion;
    const char *resource;   /* RFC 8707, as for client_credentials */
    const char *scope;
    const struct audit_src *au;  /* set by the endpoint: the request, for the audit log */
};

/* Check gr->assertion (RFC 7523 §3, oidc/assertion.c assertion_parse_grant: aud our token
 * endpoint or issuer, exp at most GH_ASSERTION_MAX_LIFE_S ahead, jti once per iss) against the
 * policy above, re-check in one store snapshot right before signing that the client still has
 * the grant, the issuer is still enabled and lists it and the user still exists and is enabled,
 * and issue an access token for the subject with aud = the resource (grant.c, the token of
 * client_credentials with sub = the subject); no refresh token.
 * may_fetch false (an HTTP thread): when the issuer's jwks_uri must be fetched first, returns
 * GH_OK with *resp NULL and *need_fetch true, having spent nothing: call again with may_fetch
 * true on a thread that may block. GH_OK: *resp is the token response (new reference).
 * Errors: oe says what to answer: invalid_request (no assertion), unauthorized_client (a
 * public client), invalid_target / invalid_scope (as client_credentials), invalid_grant for
 * every problem with the assertion or its subject, with one description (the log line
 * "jwt_grant_refused" says why); GH_ESTORE (oe unset); else 500. */
int  grant_jwt_bearer(struct app *app, struct store *st, const struct client *c,
         const struct jwt_grant_req *gr, bool may_fetch, json_t **resp, bool *need_fetch,
         struct oauth_err *oe);

#endif
