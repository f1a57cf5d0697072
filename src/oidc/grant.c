/* grant.c — the authorization_code and refresh_token grants and the tokens they issue.
 *
 * Access tokens are RFC 9068 JWTs (typ at+jwt; iss, sub, aud, client_id, scope, iat, exp, jti,
 * auth_time) whose audience is the issuer (gatehouse's own userinfo endpoint) until resource
 * indicators exist; their jti is "<grant id>.<random>", so revoking the grant revokes them at
 * userinfo without a row per token. ID tokens follow OIDC Core §2 and §3.1.3.6 (at_hash, azp, amr,
 * sid, nonce). Refresh tokens are 256-bit random strings stored hashed; each use rotates the
 * token inside one store transaction (store_refresh_rotate), and a rotated token presented
 * again revokes its family (RFC 9700 §4.14.2). The signing algorithm is the client's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/err.h"
#include "core/log.h"
#include "crypto/digest.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "crypto/rnd.h"
#include "http/req.h"
#include "model/client.h"
#include "model/user.h"
#include "oidc/authz_req.h"
#include "oidc/grant.h"
#include "oidc/pkce.h"
#include "store/store.h"
#include "util/b64url.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

#define OPAQUE_LEN 43   /* codes and refresh tokens: base64url of 32 random bytes */

static int
invalid_grant(struct oauth_err *oe, const char *desc)
{
    oauth_err_set(oe, 400, "invalid_grant", desc);
    return GH_EDENIED;
}

/* SHA-256 of a presented code or refresh token; false when it cannot be one of ours. */
static bool
opaque_hash(const char *tok, size_t len, unsigned char h[STORE_HASH_LEN])
{
    unsigned char raw[32];
    size_t n = 0;

    if (!tok || len != OPAQUE_LEN || b64url_decode(tok, len, raw, sizeof(raw), &n) != GH_OK ||
        n != sizeof(raw))
        return false;
    dig_sha256(tok, len, h);
    return true;
}

static int
client_alg(const struct client *c, enum key_alg *alg)
{
    return keys_alg_parse(c->signing_alg ? c->signing_alg : "RS256", alg);
}

static json_t *
amr_array(const char *amr)
{
    json_t *a = json_array();
    char **list = NULL;

    if (amr && str_split(amr, 8, 32, &list) == GH_OK) {
        for (char **p = list; *p; p++)
            json_array_append_new(a, json_string(*p));
    }
    str_list_free(list);
    return a;
}

/* Sign the access token (and the ID token when the scope has openid) for grant g with scope
 * (which may be narrower than g->scope) and build the token response. */
static int
issue(struct app *app, const struct client *c, const struct grant *g,
    const char *scope, const char *nonce, const char *refresh_token, json_t **resp,
    struct oauth_err *oe)
{
    const struct cfg *cfg = app->cfg;
    int64_t now = clock_now();
    json_t *at = NULL, *idt = NULL, *r = NULL;
    char *jti = NULL, *rnd = NULL, *access = NULL, *id_token = NULL;
    char at_hash[JWT_AT_HASH_LEN + 1];
    enum key_alg alg;
    int rc = GH_EINTERNAL;

    *resp = NULL;
    if (client_alg(c, &alg) != GH_OK) {
        log_err("token_error", "client=%s: unknown signing alg", c->client_id);
        goto out;
    }
    /* the jti names the grant (store.h): revoking the grant revokes this token, with no row
     * written per token */
    if (!(rnd = rnd_token(16))) {
        rc = GH_ECRYPTO;
        goto out;
    }
    jti = x_malloc(strlen(g->id) + 1 + strlen(rnd) + 1);
    snprintf(jti, strlen(g->id) + 1 + strlen(rnd) + 1, "%s.%s", g->id, rnd);
    at = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I}", "iss", app->issuer, "sub",
        g->sub, "aud", app->issuer, "client_id", c->client_id, "scope", scope, "iat",
        (json_int_t)now, "exp", (json_int_t)(now + cfg->access_token_ttl), "jti", jti,
        "auth_time", (json_int_t)g->auth_time);
    if (!at)
        goto out;
    if ((rc = jwt_sign(app->keys, alg, "at+jwt", at, &access)) != GH_OK) {
        log_err("token_error", "client=%s: cannot sign an access token with %s (%s)",
            c->client_id, keys_alg_name(alg), gh_strerror(rc));
        rc = GH_EINTERNAL;
        goto out;
    }
    rc = GH_EINTERNAL;
    if (authz_scope_has(scope, "openid")) {
        jwt_half_hash(access, strlen(access), at_hash);
        idt = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:o}", "iss", app->issuer,
            "sub", g->sub, "aud", c->client_id, "iat", (json_int_t)now, "exp",
            (json_int_t)(now + cfg->id_token_ttl), "auth_time", (json_int_t)g->auth_time,
            "at_hash", at_hash, "azp", c->client_id, "amr", amr_array(g->amr));
        if (!idt || (nonce && json_object_set_new(idt, "nonce", json_string(nonce)) != 0) ||
            (g->sid && json_object_set_new(idt, "sid", json_string(g->sid)) != 0))
            goto out;
        if (jwt_sign(app->keys, alg, "JWT", idt, &id_token) != GH_OK)
            goto out;
    }
    r = json_pack("{s:s, s:s, s:I, s:s}", "access_token", access, "token_type", "Bearer",
        "expires_in", (json_int_t)cfg->access_token_ttl, "scope", scope);
    if (!r || (id_token && json_object_set_new(r, "id_token", json_string(id_token)) != 0) ||
        (refresh_token &&
            json_object_set_new(r, "refresh_token", json_string(refresh_token)) != 0))
        goto out;
    log_info("token_issued", "client=%s jti=%s grant=%s", c->client_id, jti, g->id);
    *resp = r;
    r = NULL;
    rc = GH_OK;
out:
    if (rc != GH_OK && !oe->status)
        oauth_err_set(oe, 500, "server_error", "the tokens could not be issued");
    json_decref(at);
    json_decref(idt);
    json_decref(r);
    free(jti);
    free(rnd);
    if (access)
        str_wipe_free(access);
    if (id_token)
        str_wipe_free(id_token);
    return rc;
}

/* The user behind a grant must still exist and be enabled at every issuance. */
static bool
user_active(struct store *st, const char *sub)
{
    struct user *u = NULL;
    bool ok = store_user_get_by_sub(st, sub, &u) == GH_OK && !u->disabled;

    user_free(u);
    return ok;
}

int
grant_code(struct app *app, struct store *st, const struct client *c,
    const struct req_params *ps, json_t **resp, struct oauth_err *oe)
{
    const struct cfg *cfg = app->cfg;
    size_t code_len = 0, ver_len = 0;
    const char *code = req_param(ps, "code", &code_len);
    const char *redirect_uri = req_param(ps, "redirect_uri", NULL);
    const char *verifier = req_param(ps, "code_verifier", &ver_len);
    unsigned char h[STORE_HASH_LEN], rh[STORE_HASH_LEN];
    struct authcode *ac = NULL;
    struct grant g = { 0 };
    char *gid = NULL, *refresh = NULL;
    bool with_refresh = str_list_has(c->grant_types, "refresh_token");
    int64_t now = clock_now();
    int rc = GH_EINVAL;

    *resp = NULL;
    if (!code || !redirect_uri) {
        oauth_err_set(oe, 400, "invalid_request", "code and redirect_uri are required");
        goto out;
    }
    if (!opaque_hash(code, code_len, h)) {
        rc = invalid_grant(oe, "the code is invalid, expired or already used");
        goto out;
    }
    if (!(gid = rnd_token(16))) {
        rc = GH_ECRYPTO;
        goto out;
    }
    rc = store_code_take(st, h, now, gid, &ac);
    if (rc == GH_EDENIED) {
        /* RFC 6749 §4.1.2: a second use revokes what the first one produced */
        log_warn("code_replay", "client=%s: a spent code was presented again; its grant is "
            "revoked", c->client_id);
        rc = invalid_grant(oe, "the code is invalid, expired or already used");
        goto out;
    }
    if (rc == GH_ENOTFOUND || rc == GH_EEXPIRED) {
        rc = invalid_grant(oe, "the code is invalid, expired or already used");
        goto out;
    }
    if (rc != GH_OK)
        goto out;
    /* RFC 6749 §4.1.3: the code was issued to this client for this redirect_uri */
    if (strcmp(ac->client_id, c->client_id) != 0 || strcmp(ac->redirect_uri, redirect_uri) != 0) {
        log_warn("code_mismatch", "client=%s: code of another client or redirect_uri",
            c->client_id);
        rc = invalid_grant(oe, "the code was not issued for this client and redirect_uri");
        goto out;
    }
    /* RFC 7636 §4.6; RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a
     * PKCE downgrade attempt */
    if (ac->code_challenge ? !pkce_verify(ac->code_challenge, verifier, ver_len) : !!verifier) {
        rc = invalid_grant(oe, ac->code_challenge ? "code_verifier does not match"
                                                  : "code_verifier given, but no code_challenge was");
        goto out;
    }
    if (!user_active(st, ac->sub)) {
        rc = invalid_grant(oe, "the user is no longer active");
        goto out;
    }
    g.id = gid;
    g.client_id = c->client_id;
    g.sub = ac->sub;
    g.scope = ac->scope;
    g.sid = ac->sid;
    g.amr = ac->amr;
    g.auth_time = ac->auth_time;
    g.created_at = now;
    g.expires_at = now + cfg->refresh_token_lifetime;
    if (with_refresh) {
        if (!(refresh = rnd_token(32))) {
            rc = GH_ECRYPTO;
            goto out;
        }
        dig_sha256(refresh, strlen(refresh), rh);
    }
    rc = store_grant_add(st, &g, with_refresh ? rh : NULL, now + cfg->refresh_token_idle);
    if (rc != GH_OK)
        goto out;
    rc = issue(app, c, &g, ac->scope, ac->nonce, refresh, resp, oe);
out:
    authcode_free(ac);
    free(gid);
    if (refresh)
        str_wipe_free(refresh);
    return rc;
}

int
grant_refresh(struct app *app, struct store *st, const struct client *c,
    const struct req_params *ps, json_t **resp, struct oauth_err *oe)
{
    const struct cfg *cfg = app->cfg;
    size_t len = 0;
    const char *tok = req_param(ps, "refresh_token", &len);
    const char *scope = req_param(ps, "scope", NULL);
    unsigned char h[STORE_HASH_LEN], nh[STORE_HASH_LEN];
    struct grant *g = NULL;
    char *fresh = NULL;
    int64_t now = clock_now();
    int rc = GH_EINVAL;

    *resp = NULL;
    if (!tok) {
        oauth_err_set(oe, 400, "invalid_request", "refresh_token is required");
        goto out;
    }
    if (!opaque_hash(tok, len, h)) {
        rc = invalid_grant(oe, "the refresh token is invalid, expired or revoked");
        goto out;
    }
    /* RFC 6749 §6: the scope may be narrowed, never widened; checked before the token is
     * spent, so a client asking for too much keeps its token */
    if (scope) {
        struct grant *cur = NULL;
        rc = store_refresh_peek(st, h, &cur);
        if (rc == GH_OK && !authz_scope_subset(scope, cur->scope)) {
            grant_free(cur);
            oauth_err_set(oe, 400, "invalid_scope", "the scope exceeds the original grant");
            rc = GH_EINVAL;
            goto out;
        }
        grant_free(cur);
        if (rc != GH_OK && rc != GH_ENOTFOUND)
            goto out;
    }
    if (!(fresh = rnd_token(32))) {
        rc = GH_ECRYPTO;
        goto out;
    }
    dig_sha256(fresh, strlen(fresh), nh);
    rc = store_refresh_rotate(st, h, nh, now, now + cfg->refresh_token_idle, &g);
    if (rc == GH_EDENIED) {
        log_warn("refresh_reuse", "client=%s: a rotated or revoked refresh token was presented; "
            "its family is revoked", c->client_id);
        rc = invalid_grant(oe, "the refresh token is invalid, expired or revoked");
        goto out;
    }
    if (rc == GH_ENOTFOUND || rc == GH_EEXPIRED) {
        rc = invalid_grant(oe, "the refresh token is invalid, expired or revoked");
        goto out;
    }
    if (rc != GH_OK)
        goto out;
    if (strcmp(g->client_id, c->client_id) != 0) {
        /* RFC 6749 §6: bound to the client it was issued to. Another client holding it means it
         * leaked: the family goes. */
        log_warn("refresh_wrong_client", "client=%s presented a refresh token of client %s; its "
            "family is revoked", c->client_id, g->client_id);
        store_grant_revoke(st, g->id);
        rc = invalid_grant(oe, "the refresh token is invalid, expired or revoked");
        goto out;
    }
    if (!user_active(st, g->sub)) {
        store_grant_revoke(st, g->id);
        rc = invalid_grant(oe, "the user is no longer active");
        goto out;
    }
    rc = issue(app, c, g, scope ? scope : g->scope, NULL, fresh, resp, oe);
out:
    grant_free(g);
    if (fresh)
        str_wipe_free(fresh);
    return rc;
}

json_t *
claims_userinfo(const struct user *u, const char *scope)
{
    json_t *j = json_pack("{s:s}", "sub", u->sub);

    if (!j)
        return NULL;
    if (authz_scope_has(scope, "profile")) {
        if (u->name)
            json_object_set_new(j, "name", json_string(u->name));
        json_object_set_new(j, "preferred_username", json_string(u->username));
        json_object_set_new(j, "updated_at", json_integer(u->updated_at));
    }
    if (authz_scope_has(scope, "email") && u->email) {
        json_object_set_new(j, "email", json_string(u->email));
        /* addresses are entered by the operator; gatehouse never proved the user reads them */
        json_object_set_new(j, "email_verified", json_false());
    }
    return j;
}
