/* introspect.c — POST /introspect, token introspection (RFC 7662). The caller authenticates
 * like a client at /token (ep/client_req.c) and must be confidential: a public client only
 * names itself (§2.1; 401 invalid_client otherwise). The form's token is either one of our
 * refresh tokens (43 base64url characters) or one of our access tokens (an RFC 9068 JWT,
 * oidc/grant.c: grant_access_check); token_type_hint is ignored (§2.1 allows it: we recognise
 * both kinds by shape). Anything that is not a live token of ours — unknown, malformed,
 * expired, revoked, signed by someone else, a refresh token of another client — is the same
 * 200 {"active":false} (§2.2), so the answer never tells those cases apart. Only a failed store
 * is 503: a token must not look dead because the database is. A refresh token is active only
 * while it is its family's current token, not idle, and its grant live (store_refresh_peek). */
#include <string.h>

#include "app.h"
#include "core/err.h"
#include "core/log.h"
#include "ep/client_req.h"
#include "ep/ep.h"
#include "http/req.h"
#include "http/resp.h"
#include "model/client.h"
#include "oidc/grant.h"
#include "store/store.h"
#include "util/clock.h"

static const char inactive[] = "{\"active\":false}";

/* RFC 7662 §2.2 members of a live access token, copied from its claims. */
static json_t *
access_answer(const json_t *cl)
{
    static const char *const copy[] = { "client_id", "sub", "aud", "iss", "exp", "iat" };
    const char *scope = json_string_value(json_object_get(cl, "scope"));
    json_t *o = json_pack("{s:b, s:s}", "active", 1, "token_type", "Bearer");

    if (!o)
        return NULL;
    for (size_t i = 0; i < sizeof(copy) / sizeof(copy[0]); i++) {
        json_t *v = json_object_get(cl, copy[i]);
        if (v && json_object_set(o, copy[i], v) != 0)
            goto fail;
    }
    if (scope && *scope && json_object_set_new(o, "scope", json_string(scope)) != 0)
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

/* The same for a refresh token: what its grant says. exp is the family's absolute end; a
 * refresh token has no token_type of its own (RFC 6749 §7.1 types are for access tokens). */
static json_t *
refresh_answer(const struct grant *g, const char *issuer)
{
    json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:I}", "active", 1, "client_id", g->client_id,
        "sub", g->sub, "iss", issuer, "exp", (json_int_t)g->expires_at);

    if (o && g->scope && *g->scope &&
        json_object_set_new(o, "scope", json_string(g->scope)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int
ep_introspect(struct req *rq)
{
    struct client_req cq = { 0 };
    struct store *st = app_store(rq->app);
    struct grant *g = NULL;
    json_t *claims = NULL, *out = NULL;
    const char *tok;
    size_t len = 0;
    int rc;

    if (!st) {
        rc = resp_store_unavailable(rq);
        goto out;
    }
    if (!client_req_auth(rq, st, CLIENT_REQ_CONFIDENTIAL, &cq, &rc))
        goto out;
    if (!(tok = req_param(&cq.ps, "token", &len))) {
        rc = resp_error(rq, 400, "invalid_request", "token is required");
        goto out;
    }
    rc = grant_refresh_find(st, tok, len, clock_now(), &g);
    if (rc == GH_ENOTFOUND)
        rc = grant_access_check(rq->app, st, tok, len, &claims);
    if (rc == GH_ESTORE) {
        rc = resp_store_unavailable(rq);
        goto out;
    }
    /* a refresh token is only ever handled by its own client; anyone else holding one has a
     * leaked token and learns nothing from us */
    if (rc == GH_OK && g && strcmp(g->client_id, cq.c->client_id) != 0) {
        log_warn("introspect_foreign", "client=%s presented a refresh token of client %s",
            cq.c->client_id, g->client_id);
        rc = GH_EDENIED;
    }
    if (rc != GH_OK) {
        log_debug("introspect", "client=%s active=false (%s)", cq.c->client_id,
            gh_strerror(rc));
        rc = resp_json_static(rq, 200, inactive, sizeof(inactive) - 1);
        goto out;
    }
    if (!(out = g ? refresh_answer(g, rq->app->issuer) : access_answer(claims))) {
        rc = GH_EINTERNAL;
        goto out;
    }
    log_debug("introspect", "client=%s active=true", cq.c->client_id);
    rc = resp_json(rq, 200, out);
out:
    json_decref(out);
    json_decref(claims);
    grant_free(g);
    client_req_free(&cq);
    return rc;
}
