/* grant.h — the token endpoint's grants (RFC 6749 §4.1.3 and §6) and the tokens they issue:
 * access tokens as JWTs (RFC 9068), ID tokens (OIDC Core §2, §3.1.3.6), opaque refresh tokens
 * rotated on every use (RFC 9700 §4.14.2). The client is already authenticated. */
#ifndef GH_OIDC_GRANT_H
#define GH_OIDC_GRANT_H

#include <jansson.h>

#include "oidc/oauth_err.h"

struct app;
struct client;
struct req_params;
struct store;

/* grant_type=authorization_code. GH_OK: *resp is the token response (new reference).
 * Otherwise oe says what to answer (invalid_request, invalid_grant, ...). */
int  grant_code(struct app *app, struct store *st, const struct client *c,
         const struct req_params *ps, json_t **resp, struct oauth_err *oe);
/* grant_type=refresh_token. */
int  grant_refresh(struct app *app, struct store *st, const struct client *c,
         const struct req_params *ps, json_t **resp, struct oauth_err *oe);

/* Userinfo claims of a user for scope (OIDC Core §5.4): sub always; profile: name,
 * preferred_username, updated_at; email: email, email_verified. New reference. */
struct user;
json_t *claims_userinfo(const struct user *u, const char *scope);

#endif
