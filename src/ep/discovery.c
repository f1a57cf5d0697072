/* discovery.c — the authorization server metadata (OpenID Connect Discovery 1.0 §3-4,
 * RFC 8414 §2-3) and the start-up build of every static public document (struct ep_docs).
 * The metadata lists only what gatehouse implements now: the authorization code flow with
 * PKCE S256, client_credentials, client authentication by secret or JWT assertion
 * (RFC 7523), the token, userinfo, end-session, introspection (RFC 7662) and revocation
 * (RFC 7009) endpoints, and RFC 9207's iss parameter;
 * userinfo answers are plain JSON, never signed. Endpoints and their
 * *_supported values are added here by the change that implements them, so a client never
 * discovers a feature that does not exist. One document serves both well-known paths (same
 * bytes, same ETag). The issuer comes only from configuration, never from Host or
 * X-Forwarded-* headers (OIDC Discovery §4.3: it must equal the configured value). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "core/err.h"
#include "core/limits.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "ep/ep.h"
#include "ep/pages.h"
#include "http/req.h"
#include "http/resp.h"
#include "util/buf.h"
#include "util/xmem.h"

/* issuer + "/jwks.json" without doubling a slash: the issuer is validated to have no trailing
 * slash, but a "https://x/" must still not yield "https://x//jwks.json". */
static int
issuer_url(const char *issuer, const char *suffix, char **out)
{
    size_t n = strlen(issuer);
    struct buf b;

    *out = NULL;
    while (n > 0 && issuer[n - 1] == '/')
        n--;
    buf_init(&b, GH_MAX_URI);
    if (buf_add(&b, issuer, n) != GH_OK || buf_addstr(&b, suffix) != GH_OK) {
        buf_free(&b);
        return GH_ETOOBIG;
    }
    *out = buf_steal(&b);
    return GH_OK;
}

/* issuer + suffix as a JSON string member of doc */
static int
set_url(json_t *doc, const char *name, const char *issuer, const char *suffix)
{
    char *u = NULL;
    int rc = issuer_url(issuer, suffix, &u);

    if (rc == GH_OK && json_object_set_new(doc, name, json_string(u)) != 0)
        rc = GH_EINTERNAL;
    free(u);
    return rc;
}

static int
metadata_build(struct app *app, const struct keyring *kr, struct resp_doc **out, char *err,
    size_t errsz)
{
    json_t *doc = NULL, *algs = NULL, *auth = NULL, *auth_algs = NULL;
    char *jwks_uri = NULL;
    int rc = GH_EINTERNAL;

    *out = NULL;
    if (!app->issuer || !*app->issuer) {
        snprintf(err, errsz, "discovery: no issuer configured");
        rc = GH_EINVAL;
        goto out;
    }
    if ((rc = issuer_url(app->issuer, "/jwks.json", &jwks_uri)) != GH_OK) {
        snprintf(err, errsz, "discovery: issuer is too long");
        goto out;
    }
    rc = GH_EINTERNAL;
    algs = keys_ring_algs(kr);
    if (!algs || json_array_size(algs) == 0) {
        snprintf(err, errsz, "discovery: no signing key is loaded");
        rc = GH_EINVAL;
        goto out;
    }
    /* one list for the token, introspection and revocation endpoints: all three authenticate
     * clients with the same code (ep/client_req.c, oidc/client_auth.c). "none" is a public
     * client naming itself: introspection refuses it (ep/introspect.c), but RFC 8414 §2 has no
     * way to say so. The assertion algs are those crypto/jwt.c verifies for client_secret_jwt
     * (HS*) and private_key_jwt (RS256, PS256, ES256). */
    auth = json_pack("[s,s,s,s,s]", "client_secret_basic", "client_secret_post",
        "client_secret_jwt", "private_key_jwt", "none");
    auth_algs = json_array();
    for (int i = 0; auth_algs && i < JWT_ALG_COUNT; i++) {
        if (json_array_append_new(auth_algs, json_string(jwt_alg_name((enum jwt_alg)i))) != 0) {
            json_decref(auth_algs);
            auth_algs = NULL;
        }
    }
    doc = json_object();
    if (!doc || !auth || !auth_algs ||
        json_object_set_new(doc, "issuer", json_string(app->issuer)) != 0 ||
        json_object_set_new(doc, "jwks_uri", json_string(jwks_uri)) != 0 ||
        json_object_set_new(doc, "subject_types_supported", json_pack("[s]", "public")) != 0 ||
        json_object_set(doc, "id_token_signing_alg_values_supported", algs) != 0 ||
        set_url(doc, "authorization_endpoint", app->issuer, "/authorize") != GH_OK ||
        set_url(doc, "token_endpoint", app->issuer, "/token") != GH_OK ||
        set_url(doc, "userinfo_endpoint", app->issuer, "/userinfo") != GH_OK ||
        set_url(doc, "end_session_endpoint", app->issuer, "/logout") != GH_OK ||
        json_object_set_new(doc, "response_types_supported", json_pack("[s]", "code")) != 0 ||
        json_object_set_new(doc, "response_modes_supported", json_pack("[s]", "query")) != 0 ||
        json_object_set_new(doc, "grant_types_supported",
            json_pack("[s,s,s,s]", "authorization_code", "refresh_token", "client_credentials",
                "urn:ietf:params:oauth:grant-type:jwt-bearer")) != 0 ||
        json_object_set_new(doc, "code_challenge_methods_supported", json_pack("[s]", "S256")) !=
            0 ||
        json_object_set(doc, "token_endpoint_auth_methods_supported", auth) != 0 ||
        json_object_set(doc, "token_endpoint_auth_signing_alg_values_supported", auth_algs) !=
            0 ||
        set_url(doc, "introspection_endpoint", app->issuer, "/introspect") != GH_OK ||
        json_object_set(doc, "introspection_endpoint_auth_methods_supported", auth) != 0 ||
        json_object_set(doc, "introspection_endpoint_auth_signing_alg_values_supported",
            auth_algs) != 0 ||
        set_url(doc, "revocation_endpoint", app->issuer, "/revoke") != GH_OK ||
        json_object_set(doc, "revocation_endpoint_auth_methods_supported", auth) != 0 ||
        json_object_set(doc, "revocation_endpoint_auth_signing_alg_values_supported",
            auth_algs) != 0 ||
        json_object_set_new(doc, "scopes_supported",
            json_pack("[s,s,s,s]", "openid", "profile", "email", "offline_access")) != 0 ||
        json_object_set_new(doc, "claims_supported",
            json_pack("[s,s,s,s,s,s,s,s,s,s,s,s,s,s]", "sub", "iss", "aud", "exp", "iat",
                "auth_time", "nonce", "amr", "sid", "name", "preferred_username", "updated_at",
                "email", "email_verified")) != 0 ||
        json_object_set_new(doc, "prompt_values_supported",
            json_pack("[s,s,s,s]", "none", "login", "consent", "select_account")) != 0 ||
        json_object_set_new(doc, "claims_parameter_supported", json_false()) != 0 ||
        json_object_set_new(doc, "request_parameter_supported", json_false()) != 0 ||
        json_object_set_new(doc, "request_uri_parameter_supported", json_false()) != 0 ||
        json_object_set_new(doc, "authorization_response_iss_parameter_supported",
            json_true()) != 0) {
        snprintf(err, errsz, "discovery: cannot build the metadata document");
        goto out;
    }
    if ((rc = resp_doc_new_json(doc, app->cfg->cache_max_age, out)) != GH_OK)
        snprintf(err, errsz, "discovery: cannot build the HTTP response");
out:
    free(jwks_uri);
    json_decref(algs);
    json_decref(auth);
    json_decref(auth_algs);
    json_decref(doc);
    return rc;
}

int
ep_docs_new(struct app *app, const struct keyring *kr, struct ep_docs **out, char *err,
    size_t errsz)
{
    struct ep_docs *d = x_calloc(1, sizeof(*d));
    int rc;

    *out = NULL;
    if (!kr) {
        snprintf(err, errsz, "discovery: no signing keys are loaded");
        rc = GH_EINVAL;
        goto out;
    }
    if ((rc = metadata_build(app, kr, &d->metadata, err, errsz)) != GH_OK)
        goto out;
    if ((rc = ep_jwks_build(app, kr, &d->jwks, err, errsz)) != GH_OK)
        goto out;
    if ((rc = pages_load(app->cfg->templates_dir, app->cfg->static_dir, &d->pages, err,
             errsz)) != GH_OK)
        goto out;
    *out = d;
    d = NULL;
out:
    ep_docs_free(d);
    return rc;
}

int
ep_docs_build(struct app *app, char *err, size_t errsz)
{
    struct ep_docs *d = NULL;
    int rc;

    if ((rc = ep_docs_new(app, app->keys, &d, err, errsz)) == GH_OK)
        app->docs = d;
    return rc;
}

void
ep_docs_free(struct ep_docs *d)
{
    if (!d)
        return;
    resp_doc_free(d->metadata);
    resp_doc_free(d->jwks);
    pages_free(d->pages);
    free(d);
}

int
ep_discovery(struct req *rq)
{
    return resp_doc_send(rq, rq->app->docs->metadata);
}
