/* ep.h — endpoint handlers (one public handler per endpoint, STYLE.md §1) and the static
 * public documents, serialised once at start-up (struct ep_docs). Handlers follow route_fn (http/router.h): queue one response through
 * resp_* and return GH_OK, or return an error without queuing (the server answers 500).
 *
 * The metadata documents describe only what is implemented (see discovery.c); a feature is
 * added to ep_docs_build() by the change that implements it, never before. */
#ifndef GH_EP_EP_H
#define GH_EP_EP_H

#include <stddef.h>

struct app;
struct req;
struct resp_doc;
struct pages;
struct keyring;

/* Built at start-up by ep_docs_build() and again by each reload (ep_docs_new; SIGHUP, key
 * rotation), read-only once published; fields private to ep/. */
struct ep_docs {
    struct resp_doc *metadata;   /* openid-configuration and oauth-authorization-server */
    struct resp_doc *jwks;
    struct pages *pages;         /* templates/ and static/ (ep/pages.h) */
};

/* Build the discovery metadata and the JWKS from app->issuer, app->keys and app->cfg into
 * app->docs (replacing nothing: app->docs must be NULL). GH_OK; GH_EINVAL (no signing key,
 * bad issuer) or GH_EINTERNAL with one line in err. Call before srv_start(). */
int  ep_docs_build(struct app *app, char *err, size_t errsz);
/* The same documents for key ring kr (and templates/static read again) into *out, leaving
 * app->docs alone: the reloader publishes them. */
int  ep_docs_new(struct app *app, const struct keyring *kr, struct ep_docs **out, char *err,
         size_t errsz);
/* NULL: no-op. Document bodies live on while MHD responses still use them (resp_doc refs). */
void ep_docs_free(struct ep_docs *d);

/* jwks.c: the JWKS document of kr, for ep_docs_new(). */
int  ep_jwks_build(struct app *app, const struct keyring *kr, struct resp_doc **out, char *err,
         size_t errsz);

/* GET /.well-known/openid-configuration, GET /.well-known/oauth-authorization-server
 * (OpenID Connect Discovery 1.0 §4, RFC 8414 §3): the metadata built at start-up, 304 on a match. */
int  ep_discovery(struct req *rq);
/* GET /jwks.json (RFC 7517 §5): the public key set built at start-up, 304 on a match. */
int  ep_jwks(struct req *rq);
/* GET|POST /authorize (OIDC Core §3.1.2, RFC 6749 §4.1.1): validate, then sign-in, consent
 * or a code sent back to the client. */
int  ep_authorize(struct req *rq);
/* POST /login: the login form (CSRF-checked, bound to the browser). */
int  ep_login(struct req *rq);
/* POST /consent: the consent form. */
int  ep_consent(struct req *rq);
/* POST /token (RFC 6749 §3.2): authorization_code, refresh_token, client_credentials
 * (RFC 6749 §4.4 with RFC 8707 resource indicators) and JWT-bearer (RFC 7523 §2.1) grants. */
int  ep_token(struct req *rq);
/* POST /introspect (RFC 7662): a confidential client asks whether a token is live. */
int  ep_introspect(struct req *rq);
/* POST /revoke (RFC 7009): a client revokes one of its refresh or access tokens. */
int  ep_revoke(struct req *rq);
/* GET|POST /userinfo (OIDC Core §5.3, RFC 6750). */
int  ep_userinfo(struct req *rq);
/* GET|POST /logout (OIDC RP-Initiated Logout 1.0). */
int  ep_logout(struct req *rq);
/* GET /static/<name>: the files of static/ from memory. */
int  ep_static(struct req *rq);
/* GET /healthz: 200 {"status":"ok"}, no-store. Says the process serves HTTP, nothing more. */
int  ep_health(struct req *rq);
/* GET /readyz: 200 {"status":"ready"} when the database answers and the keys can sign; else
 * 503 {"status":"not_ready","reason":...} with Retry-After. No-store. */
int  ep_ready(struct req *rq);

#endif
