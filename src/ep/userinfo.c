/* userinfo.c — GET and POST /userinfo (OIDC Core §5.3). The access token comes from the
 * Authorization: Bearer header or, for POST, an access_token form field (RFC 6750 §2.1-2.2;
 * never the query, §2.3 / RFC 9700 §4.3.2), not both. It must be one of our RFC 9068 access
 * tokens: signature by a key of our ring with that key's alg, typ at+jwt (so an ID token is
 * refused), our issuer as iss and aud, not expired, its jti registered and its grant not
 * revoked; the user must still exist and be enabled. Every failure is 401 with
 * WWW-Authenticate: Bearer error="invalid_token" (RFC 6750 §3.1). */
#include <string.h>

#include "app.h"
#include "core/cfg.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/jwt.h"
#include "ep/ep.h"
#include "http/req.h"
#include "http/resp.h"
#include "model/user.h"
#include "oidc/authz_req.h"
#include "oidc/grant.h"
#include "store/store.h"
#include "util/clock.h"

int
ep_userinfo(struct req *rq)
{
    struct req_params ps;
    struct store *st = app_store(rq->app);
    struct jwt_expect ex = { .typ = "at+jwt", .iss = rq->app->issuer, .aud = rq->app->issuer,
                             .now = clock_now(), .leeway = rq->app->cfg->clock_skew };
    const char *tok = NULL, *form_tok = NULL, *why = NULL, *jti, *sub, *scope;
    json_t *claims = NULL, *out = NULL;
    struct user *u = NULL;
    size_t len = 0, flen = 0;
    int rc;

    req_params_init(&ps);
    if (!st) {
        rc = resp_store_unavailable(rq);
        goto out;
    }
    rc = req_bearer(rq, &tok, &len);
    if (rc != GH_OK && rc != GH_ENOTFOUND) {
        rc = resp_bearer_error(rq, 400, "invalid_request", "malformed Authorization header");
        goto out;
    }
    size_t blen = 0;
    req_body(rq, &blen);
    if (rq->method == REQ_POST && blen > 0) {
        if (req_form(rq, &ps, &why) != GH_OK) {
            rc = resp_bearer_error(rq, 400, "invalid_request", "the body must be a form");
            goto out;
        }
        form_tok = req_param(&ps, "access_token", &flen);
    }
    if (tok && form_tok) {
        rc = resp_bearer_error(rq, 400, "invalid_request", "send the token once");
        goto out;
    }
    if (form_tok) {
        tok = form_tok;
        len = flen;
    }
    if (!tok) {
        rc = resp_bearer_error(rq, 401, NULL, NULL);
        goto out;
    }
    rc = jwt_verify(rq->app->keys, tok, len, &ex, &claims);
    if (rc != GH_OK) {
        rc = resp_bearer_error(rq, 401, "invalid_token",
            rc == GH_EEXPIRED ? "the access token expired" : "the access token is not valid");
        goto out;
    }
    /* exp strictly, as at introspection: clock_skew is for another instance's clock on iat,
     * not a longer life for the token */
    if (json_integer_value(json_object_get(claims, "exp")) <= ex.now) {
        rc = resp_bearer_error(rq, 401, "invalid_token", "the access token expired");
        goto out;
    }
    jti = json_string_value(json_object_get(claims, "jti"));
    sub = json_string_value(json_object_get(claims, "sub"));
    scope = json_string_value(json_object_get(claims, "scope"));
    if (!jti || !sub || !scope) {
        rc = resp_bearer_error(rq, 401, "invalid_token", "the access token is not valid");
        goto out;
    }
    /* OIDC Core §5.3: userinfo is for OpenID Connect access tokens */
    if (!authz_scope_has(scope, "openid")) {
        rc = resp_bearer_error(rq, 403, "insufficient_scope", "the token has no openid scope");
        goto out;
    }
    /* A user's token has the jti "<grant id>.<random>" (oidc/grant.c): its grant must still
     * be live. A jti naming no grant was never issued for a user. */
    const char *dot = strchr(jti, '.');
    char gid[64];
    if (!dot || dot == jti || (size_t)(dot - jti) >= sizeof(gid)) {
        rc = resp_bearer_error(rq, 401, "invalid_token", "the access token is not valid");
        goto out;
    }
    memcpy(gid, jti, (size_t)(dot - jti));
    gid[dot - jti] = '\0';
    rc = store_token_check(st, jti, gid);
    if (rc == GH_EDENIED || rc == GH_ENOTFOUND) {
        rc = resp_bearer_error(rq, 401, "invalid_token", "the access token was revoked");
        goto out;
    }
    if (rc != GH_OK)
        goto out;
    /* a token for a client (client_credentials) or a deleted or disabled user has no
     * userinfo */
    rc = store_user_get_by_sub(st, sub, &u);
    if (rc == GH_ENOTFOUND || (rc == GH_OK && u->disabled)) {
        rc = resp_bearer_error(rq, 401, "invalid_token", "the access token has no active user");
        goto out;
    }
    if (rc != GH_OK)
        goto out;
    if (!(out = claims_userinfo(u, scope))) {
        rc = GH_EINTERNAL;
        goto out;
    }
    rc = resp_json(rq, 200, out);
out:
    if (rc == GH_ESTORE && !rq->status)
        rc = resp_store_unavailable(rq);   /* a token check or user lookup failed: 503 */
    json_decref(out);
    json_decref(claims);
    user_free(u);
    req_params_free(&ps);
    return rc;
}
