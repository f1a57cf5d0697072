/* client_auth.h — who is calling the token endpoint (RFC 6749 §2.3, §3.2.1; OIDC Core §9).
 * Methods: client_secret_basic, client_secret_post, and none for public clients (which must
 * then prove possession of the code with PKCE). A client uses exactly the method it was
 * registered with (RFC 8414 token_endpoint_auth_method); presenting two methods at once is
 * invalid_request (RFC 6749 §2.3). client_secret_jwt and private_key_jwt arrive with the
 * service-to-service work: the credentials struct already carries the assertion. */
#ifndef GH_OIDC_CLIENT_AUTH_H
#define GH_OIDC_CLIENT_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "oidc/oauth_err.h"

struct client;
struct secrets;
struct store;

/* What the request presented, as parsed by the endpoint (borrowed strings, NULL if absent). */
struct client_creds {
    const char *basic_id, *basic_secret;      /* Authorization: Basic, already decoded */
    size_t basic_secret_len;
    bool basic_malformed;                     /* an Authorization: Basic header we could not decode */
    const char *form_id, *form_secret;        /* client_id / client_secret in the body */
    size_t form_secret_len;
    const char *assertion, *assertion_type;   /* client_assertion(_type) */
};

/* GH_OK: *out is the authenticated client (caller frees). Otherwise oe is set:
 * invalid_request (400) for conflicting or missing credentials, invalid_client (401) for an
 * unknown client, a wrong secret or the wrong method; *basic_used tells the caller to add
 * WWW-Authenticate: Basic (RFC 6749 §5.2). */
int  client_auth(struct store *st, const struct secrets *sec, const struct client_creds *cr,
         struct client **out, bool *basic_used, struct oauth_err *oe);

#endif
