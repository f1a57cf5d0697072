/* ep.h — endpoint handlers (one public handler per endpoint, STYLE.md §1) and the static
 * public documents, serialised once at start-up (struct ep_docs). Handlers follow route_fn (http/router.h): queue one response through
 * resp_* and return GH_OK, or return an error without queuing (the server answers 500).
 *
 * The metadata documents describe only what is implemented now: issuer, jwks_uri,
 * subject_types_supported and id_token_signing_alg_values_supported. The authorization,
 * token, userinfo and end-session endpoints (and response_types_supported,
 * grant_types_supported, code_challenge_methods_supported, ...) are added to
 * ep_docs_build() by the work that implements those endpoints, never before. */
#ifndef GH_EP_EP_H
#define GH_EP_EP_H

#include <stddef.h>

struct app;
struct req;
struct resp_doc;

/* Built once at start-up by ep_docs_build(), read-only afterwards; fields private to ep/. */
struct ep_docs {
    struct resp_doc *metadata;   /* openid-configuration and oauth-authorization-server */
    struct resp_doc *jwks;
};

/* Build the discovery metadata and the JWKS from app->issuer, app->keys and app->cfg into
 * app->docs (replacing nothing: app->docs must be NULL). GH_OK; GH_EINVAL (no signing key,
 * bad issuer) or GH_EINTERNAL with one line in err. Call before srv_start(). */
int  ep_docs_build(struct app *app, char *err, size_t errsz);
/* Free after srv_drain_and_stop() (responses in flight point into the bodies). NULL: no-op. */
void ep_docs_free(struct ep_docs *d);

/* jwks.c: the JWKS document, for ep_docs_build(). */
int  ep_jwks_build(struct app *app, struct resp_doc **out, char *err, size_t errsz);

/* GET /.well-known/openid-configuration, GET /.well-known/oauth-authorization-server
 * (OpenID Connect Discovery 1.0 §4, RFC 8414 §3): the metadata built at start-up, 304 on a match. */
int  ep_discovery(struct req *rq);
/* GET /jwks.json (RFC 7517 §5): the public key set built at start-up, 304 on a match. */
int  ep_jwks(struct req *rq);
/* GET /healthz: 200 {"status":"ok"}, no-store. Says the process serves HTTP, nothing more. */
int  ep_health(struct req *rq);

#endif
