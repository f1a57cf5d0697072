/* grant.h — the token endpoint's grants (RFC 6749 §4.1.3, §4.4 and §6) and the tokens they
 * issue: access tokens as JWTs (RFC 9068), ID tokens (OIDC Core §2, §3.1.3.6), opaque refresh
 * tokens rotated on every use (RFC 9700 §4.14.2); and the checks of a token presented back to
 * introspection (RFC 7662) and revocation (RFC 7009). The client is already authenticated. */
#ifndef GH_OIDC_GRANT_H
#define GH_OIDC_GRANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "oidc/oauth_err.h"

struct app;
struct audit_src;
struct client;
struct grant;
struct req_params;
struct store;

/* Every grant takes au, where the request came from (core/audit.h; NULL: no rid/ip): issued
 * tokens are audited as token_issued (with their jti and grant_type gt), a replayed code as
 * code_replay, a reused or leaked refresh token as refresh_reuse. */

/* grant_type=authorization_code. GH_OK: *resp is the token response (new reference).
 * Otherwise oe says what to answer (invalid_request, invalid_grant, ...). */
int  grant_code(struct app *app, struct store *st, const struct client *c,
         const struct req_params *ps, const struct audit_src *au, json_t **resp,
         struct oauth_err *oe);
/* grant_type=refresh_token. */
int  grant_refresh(struct app *app, struct store *st, const struct client *c,
         const struct req_params *ps, const struct audit_src *au, json_t **resp,
         struct oauth_err *oe);

/* grant_type=client_credentials (RFC 6749 §4.4) with an RFC 8707 resource: for confidential
 * clients only (unauthorized_client otherwise). resource absent: the one resource the client
 * may use, else invalid_target; unknown or not allowed: invalid_target (400). scope: a subset
 * of the client's scope at the resource (else invalid_scope), absent: all of it. The access
 * token has aud = resource, sub = client_id, a random jti naming no grant; no refresh token,
 * no id_token, nothing stored. GH_OK: *resp is the token response (new reference). */
int  grant_client_credentials(struct app *app, struct store *st, const struct client *c,
         const struct req_params *ps, const struct audit_src *au, json_t **resp,
         struct oauth_err *oe);

/* The two halves of grant_client_credentials, shared with the JWT-bearer grant
 * (oidc/grant_jwt.c). grant_resource_scope: the resource (NULL: the one resource the client
 * may use, else invalid_target) and the scope (want, NULL: all the client may have there;
 * else a subset, invalid_scope otherwise) the client gets; GH_OK: *resource_out and
 * *scope_out (may be "") for the caller to free. grant_resource_token: the RFC 9068 access
 * token for sub with aud = resource, client_id = c's, a random jti naming no grant, and the
 * token response without refresh token; GH_OK: *resp (new reference). Otherwise oe is set
 * (except GH_ESTORE). */
int  grant_resource_scope(struct store *st, const struct client *c, const char *resource,
         const char *want, char **resource_out, char **scope_out, struct oauth_err *oe);
int  grant_resource_token(struct app *app, const struct client *c, const char *sub,
         const char *resource, const char *scope, const char *gt, const struct audit_src *au,
         json_t **resp, struct oauth_err *oe);

/* The grant of a presented refresh token, without spending it. GH_OK: *out (caller frees) is
 * its grant, neither revoked nor past expires_at, and the token is the family's current one,
 * not idle past now. GH_ENOTFOUND: not one of ours, unknown, rotated away or idle;
 * GH_EDENIED: revoked; GH_EEXPIRED; GH_ESTORE. */
int  grant_refresh_find(struct store *st, const char *tok, size_t len, int64_t now,
         struct grant **out);

/* Whether tok (len bytes) is a live access token we issued: signed by our ring, typ at+jwt,
 * iss ours (aud not checked), exp > now (strict; iat may be up to clock_skew ahead), with string
 * jti, sub, client_id, aud and integer iat, and not revoked: a jti "<grant id>.<random>" needs
 * its grant live (store_token_check); a jti without '.' (client_credentials) must not be on
 * the deny list, and its client must still be allowed at its aud with its scope.
 * GH_OK: *claims is the payload (new reference). GH_EINVAL, GH_EDENIED, GH_EEXPIRED,
 * GH_ENOTFOUND, GH_ECRYPTO: not a live token of ours (*claims NULL). GH_ESTORE. */
int  grant_access_check(struct app *app, struct store *st, const char *tok, size_t len,
         json_t **claims);

/* Userinfo claims of a user for scope (OIDC Core §5.4): sub always; profile: name,
 * preferred_username, updated_at; email: email, email_verified. New reference. */
struct user;
json_t *claims_userinfo(const struct user *u, const char *scope);

#endif
