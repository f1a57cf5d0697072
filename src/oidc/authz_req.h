/* authz_req.h — the authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636 §4.3)
 * parsed from its parameters into a typed, validated struct, in the two phases the specs
 * require:
 *   1. client_id and redirect_uri. Until both are known good, nothing may be sent to the
 *      redirect_uri (RFC 6749 §4.1.2.1, RFC 9700 §4.11.1): the caller shows an error page.
 *   2. everything else. Errors now go back to the client's redirect_uri (authz_err).
 * The validated request is kept server-side while the user signs in (as JSON, in the
 * interaction record), so the login form carries only ids. */
#ifndef GH_OIDC_AUTHZ_REQ_H
#define GH_OIDC_AUTHZ_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "oidc/oauth_err.h"

struct client;
struct keyring;
struct req_params;
struct store;

enum authz_prompt {
    PROMPT_NONE = 1,
    PROMPT_LOGIN = 2,     /* also select_account: there is one account per browser */
    PROMPT_CONSENT = 4,
};

struct authz_req {
    char *client_id;
    char *redirect_uri;
    char *scope;            /* the requested scopes the client may have, space-separated,
                             * duplicates removed (others are dropped: OIDC Core §3.1.2.1) */
    bool openid;            /* scope contains "openid": an OpenID Connect request */
    char *state;            /* NULL if absent; echoed verbatim */
    char *nonce;
    char *code_challenge;   /* S256; NULL when the client may and did skip PKCE */
    unsigned prompt;        /* enum authz_prompt bits */
    int64_t max_age;        /* seconds; -1 when absent */
    char *login_hint;
    char *hint_sub;         /* the sub of a valid id_token_hint, or NULL */
};

void authz_req_free(struct authz_req *ar);   /* frees the fields, not ar; NULL: no-op */

/* Phase 1. GH_OK: *client (caller frees) is the registered client and *redirect_uri
 * (borrowed from ps) one of its registered redirect URIs, byte for byte. Otherwise GH_EINVAL /
 * GH_ENOTFOUND with *why, a plain-words reason for the error page; GH_ESTORE. */
int  authz_check_client(struct store *st, const struct req_params *ps, struct client **client,
         const char **redirect_uri, const char **why);

/* Phase 2, for a client that passed phase 1. kr/issuer check an id_token_hint (our own
 * id_token, expired or not). GH_OK fills *ar (caller calls authz_req_free); otherwise oe holds
 * the error for the redirect (invalid_request, unsupported_response_type, invalid_scope,
 * request_not_supported, request_uri_not_supported) and *ar holds at least client_id,
 * redirect_uri and state, so the error can be sent. */
int  authz_parse(const struct req_params *ps, const struct client *c, const struct keyring *kr,
         const char *issuer, struct authz_req *ar, struct oauth_err *oe);

/* The request as a JSON object (new reference) and back; from_json validates the shape
 * (it comes from our own store, but is checked anyway). GH_OK or GH_EINVAL. */
json_t *authz_req_to_json(const struct authz_req *ar);
int  authz_req_from_json(const json_t *j, struct authz_req *ar);

/* true if every space-separated scope in `want` is in `have` (also space-separated). */
bool authz_scope_subset(const char *want, const char *have);
/* true if scope (space-separated) contains s. */
bool authz_scope_has(const char *scope, const char *s);

#endif
