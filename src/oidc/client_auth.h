/* client_auth.h — who is calling the token endpoint (RFC 6749 §2.3, §3.2.1; OIDC Core §9).
 * Methods: client_secret_basic, client_secret_post, client_secret_jwt and private_key_jwt (a
 * JWT assertion, RFC 7523 §2.2; oidc/assertion.c), and none for public clients (which must
 * then prove possession of the code with PKCE). A client uses exactly the method it was
 * registered with (RFC 8414 token_endpoint_auth_method); presenting two methods at once is
 * invalid_request (RFC 6749 §2.3). */
#ifndef GH_OIDC_CLIENT_AUTH_H
#define GH_OIDC_CLIENT_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oidc/oauth_err.h"

struct client;
struct audit_src;
struct issuer_keys;
struct secrets;
struct store;

/* The cache name of a client's jwks_uri key set (oidc/issuer_keys.h) is this prefix followed by
 * its client_id, so it is kept apart from the trusted issuers'. */
#define CLIENT_KEYS_PREFIX "client:"

/* A key fetch client_auth() needs before it can decide (see client_creds.fetch): the arguments
 * for issuer_keys_get(), owned (client_key_fetch_clear frees them). */
struct client_key_fetch {
    bool due;          /* set by client_auth: fetch, then authenticate again */
    char *name;        /* CLIENT_KEYS_PREFIX client_id */
    char *uri;         /* the client's jwks_uri */
    char *kid;         /* the assertion's kid, or NULL */
};
void client_key_fetch_clear(struct client_key_fetch *f);   /* frees, zeroes; NULL-safe */

/* What the request presented, as parsed by the endpoint (borrowed strings, NULL if absent). */
struct client_creds {
    const char *basic_id, *basic_secret;      /* Authorization: Basic, already decoded */
    size_t basic_secret_len;
    bool basic_malformed;                     /* an Authorization: Basic header we could not decode */
    const char *form_id, *form_secret;        /* client_id / client_secret in the body */
    size_t form_secret_len;
    const char *assertion, *assertion_type;   /* client_assertion(_type) */
    /* Set by the endpoint, not from the request: our issuer (app->issuer). An assertion's aud
     * must name issuer + "/token" or the issuer; NULL refuses every assertion (500). */
    const char *issuer;
    /* Set by the endpoint: seconds of clock skew allowed on an assertion's exp, nbf and iat
     * (the clock_skew setting; oidc/assertion.h). */
    int64_t skew;
    /* Set by the endpoint: the cache of fetched key sets (app->issuer_keys) for private_key_jwt
     * clients registered with a jwks_uri; NULL refuses their assertions. client_auth() only
     * looks in it, never fetches (may_fetch false): it may run on an HTTP thread. */
    struct issuer_keys *keys;
    /* Out, may be NULL. When a fetch of the client's keys is due (none cached, or the kid is
     * unknown and the refetch interval has passed), client_auth() returns GH_OK with *out NULL
     * and fills this in; nothing was spent (the jti is spent only after a verification). The
     * caller has the fetch made off the HTTP threads and calls client_auth() again, with fetch
     * NULL: then a fetch still due (another thread's is in flight) refuses the assertion. */
    struct client_key_fetch *fetch;
    /* Set by the endpoint: the request, for the client_auth_failure audit event
     * (core/audit.h; NULL: an event without rid and ip). */
    const struct audit_src *audit;
};

/* GH_OK: *out is the authenticated client (caller frees), or NULL when cr->fetch->due (above).
 * Otherwise oe is set:
 * invalid_request (400) for conflicting or missing credentials (an assertion with a secret or
 * Basic, client_assertion without client_assertion_type or the reverse), invalid_client (401)
 * for an unknown client, a wrong secret, the wrong method, or any problem with an assertion
 * (wrong type, too long, malformed, bad claims, signature or key, replayed jti, client_id
 * other than its iss, a jwks_uri that could not be fetched or lacks the kid) — all with the same description; the log line "client_auth_fail" says
 * which. GH_ESTORE: the store failed (oe unset); GH_EINTERNAL/GH_ECRYPTO: oe unset (500).
 * *basic_used tells the caller to add WWW-Authenticate: Basic (RFC 6749 §5.2). */
int  client_auth(struct store *st, const struct secrets *sec, const struct client_creds *cr,
         struct client **out, bool *basic_used, struct oauth_err *oe);

#endif
