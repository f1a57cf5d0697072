/* grant.c — the authorization_code, refresh_token and client_credentials grants, the tokens
 * they issue, and the checks introspection and revocation make on tokens presented back.
 *
 * Access tokens are RFC 9068 JWTs (typ at+jwt; iss, sub, aud, client_id, scope, iat, exp, jti,
 * auth_time). A user's token has the issuer as audience (gatehouse's own userinfo endpoint:
 * the code flow takes no resource parameter yet) and the jti "<grant id>.<random>", so revoking
 * the grant revokes it at userinfo and introspection without a row per token. ID tokens follow OIDC Core §2 and §3.1.3.6 (at_hash, azp, amr,
 * sid, nonce). Refresh tokens are 256-bit random strings stored hashed; each use rotates the
 * token inside one store transaction (store_refresh_rotate), and a rotated token presented
 * again revokes its family (RFC 9700 §4.14.2). The signing algorithm is the client's.
 *
 * client_credentials (RFC 6749 §4.4) issues one access token for one resource (RFC 8707): aud is
 * the resource id, sub the client itself, the jti random without a '.' (it names no grant), and
 * nothing is written to the store per token; revocation puts the jti on the deny list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/audit.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
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
#include "util/buf.h"
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
 * (which may be narrower than g->scope) and build the token response; audited as
 * token_issued with grant_type gt. */
static int
issue(struct app *app, const struct client *c, const struct grant *g,
    const char *scope, const char *nonce, const char *refresh_token, const char *gt,
    const struct audit_src *au, json_t **resp, struct oauth_err *oe)
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
    /* buffered like the access log: one write(2) per token would cost more than the token */
    log_buffered(LOG_INFO, "token_issued", "client=%s jti=%s grant=%s", c->client_id, jti, g->id);
    audit_event(au, "token_issued", g->sub, c->client_id, "grant_type", gt, "jti", jti,
        "grant", g->id, "scope", scope, "id_token", id_token ? "yes" : "no",
        "refresh_token", refresh_token ? "yes" : "no", NULL);
    met_token_issued(gt);
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
    const struct req_params *ps, const struct audit_src *au, json_t **resp, struct oauth_err *oe)
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
        audit_event(au, "code_replay", NULL, c->client_id, "grant_type", "authorization_code",
            "action", "grant_revoked", NULL);
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
    rc = issue(app, c, &g, ac->scope, ac->nonce, refresh, "authorization_code", au, resp, oe);
out:
    authcode_free(ac);
    free(gid);
    if (refresh)
        str_wipe_free(refresh);
    return rc;
}

int
grant_refresh(struct app *app, struct store *st, const struct client *c,
    const struct req_params *ps, const struct audit_src *au, json_t **resp, struct oauth_err *oe)
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
        rc = store_refresh_peek(st, h, now, &cur);
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
        audit_event(au, "refresh_reuse", NULL, c->client_id, "grant_type", "refresh_token",
            "action", "family_revoked", NULL);
        met_inc(MET_REFRESH_REUSE);
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
        audit_event(au, "refresh_reuse", g->sub, c->client_id, "grant_type", "refresh_token",
            "reason", "wrong_client", "owner", g->client_id, "grant", g->id,
            "action", "family_revoked", NULL);
        met_inc(MET_REFRESH_REUSE);
        store_grant_revoke(st, g->id);
        rc = invalid_grant(oe, "the refresh token is invalid, expired or revoked");
        goto out;
    }
    if (!user_active(st, g->sub)) {
        store_grant_revoke(st, g->id);
        rc = invalid_grant(oe, "the user is no longer active");
        goto out;
    }
    rc = issue(app, c, g, scope ? scope : g->scope, NULL, fresh, "refresh_token", au, resp, oe);
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

/* ---- client_credentials (RFC 6749 §4.4, RFC 8707) ------------------------------------- */

static int
invalid_target(struct oauth_err *oe, const char *desc)
{
    oauth_err_set(oe, 400, "invalid_target", desc);   /* RFC 8707 §2 */
    return GH_EDENIED;
}

/* RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
static bool
scope_token_ok(const char *s, size_t n)
{
    if (n == 0 || n > GH_MAX_SCOPE_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x21 || ch > 0x7e || ch == 0x22 || ch == 0x5c)
            return false;
    }
    return true;
}

/* Whether the space-separated list scope holds the n-byte token tok. */
static bool
scope_has_n(const char *scope, const char *tok, size_t n)
{
    const char *s = scope;

    while (s && *s) {
        const char *e;
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        e = strchr(s, ' ');
        if (!e)
            e = s + strlen(s);
        if ((size_t)(e - s) == n && memcmp(s, tok, n) == 0)
            return true;
        s = e;
    }
    return false;
}

/* The scope a client asked for (want, as sent: RFC 6749 §3.3 scope-tokens separated by single
 * spaces), each token once, checked against have. GH_OK: *out (caller frees). GH_EINVAL:
 * malformed (an empty token, a bad character, more than GH_MAX_SCOPES tokens). GH_EDENIED: a
 * token not in have (RFC 6749 §5.2 invalid_scope: nothing is silently dropped for a client
 * that asked for a specific scope). */
static int
scope_narrow(const char *want, const char *have, char **out)
{
    struct buf b;
    size_t count = 0;
    const char *s = want;
    int rc = GH_EINVAL;

    *out = NULL;
    buf_init(&b, (size_t)GH_MAX_SCOPES * (GH_MAX_SCOPE_LEN + 1));
    for (;;) {
        const char *e = strchr(s, ' ');
        size_t n = e ? (size_t)(e - s) : strlen(s);

        if (!scope_token_ok(s, n) || ++count > GH_MAX_SCOPES) {
            rc = GH_EINVAL;
            goto out;
        }
        if (!scope_has_n(have, s, n)) {
            rc = GH_EDENIED;
            goto out;
        }
        if (!scope_has_n(buf_str(&b), s, n) &&
            ((b.len && buf_add(&b, " ", 1) != GH_OK) || buf_add(&b, s, n) != GH_OK)) {
            rc = GH_EINVAL;
            goto out;
        }
        if (!e)
            break;
        s = e + 1;
    }
    *out = buf_steal(&b);
    rc = GH_OK;
out:
    buf_free(&b);
    return rc;
}

int
grant_resource_scope(struct store *st, const struct client *c, const char *resource,
    const char *want, char **resource_out, char **scope_out, struct oauth_err *oe)
{
    char **ids = NULL, *allowed = NULL, *scope = NULL;
    char esc[LOG_ESC_SIZE];
    size_t nids = 0;
    int rc = GH_EDENIED;

    *resource_out = NULL;
    *scope_out = NULL;
    /* RFC 8707 §2: without a resource the server may pick a default; the only unambiguous one
     * is the single resource this client may use. One resource per request: the form parser
     * refuses a repeated parameter. */
    if (!resource) {
        if ((rc = store_client_resources(st, c->client_id, &ids, &nids)) != GH_OK)
            goto out;
        if (nids != 1) {
            rc = invalid_target(oe, "resource is required");
            goto out;
        }
        resource = ids[0];
    }
    rc = store_resource_client_scope(st, resource, c->client_id, &allowed);
    if (rc == GH_ENOTFOUND || rc == GH_EINVAL) {
        log_warn("token_refused", "client=%s resource=%s: unknown or not allowed",
            c->client_id, log_esc(resource, esc));
        rc = invalid_target(oe, "the resource is unknown or not allowed for this client");
        goto out;
    }
    if (rc != GH_OK)
        goto out;
    if (want) {
        rc = scope_narrow(want, allowed, &scope);
        if (rc != GH_OK) {
            oauth_err_set(oe, 400, "invalid_scope",
                rc == GH_EINVAL ? "the scope is malformed"
                                : "the scope exceeds what this client may have at the resource");
            goto out;
        }
    } else {
        scope = allowed;   /* RFC 6749 §3.3: the default is everything allowed */
        allowed = NULL;
    }
    *resource_out = x_strdup(resource);
    *scope_out = scope;
    scope = NULL;
    rc = GH_OK;
out:
    if (rc != GH_OK && rc != GH_ESTORE && !oe->status)
        oauth_err_set(oe, 500, "server_error", "the token could not be issued");
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    free(ids);
    free(allowed);
    free(scope);
    return rc;
}

int
grant_resource_token(struct app *app, const struct client *c, const char *sub,
    const char *resource, const char *scope, const char *gt, const struct audit_src *au,
    json_t **resp, struct oauth_err *oe)
{
    const struct cfg *cfg = app->cfg;
    char *jti = NULL, *access = NULL;
    char esc[LOG_ESC_SIZE];
    json_t *at = NULL, *r = NULL;
    int64_t now = clock_now();
    enum key_alg alg;
    int rc = GH_EINTERNAL;

    *resp = NULL;
    rc = GH_EINTERNAL;
    if (client_alg(c, &alg) != GH_OK) {
        log_err("token_error", "client=%s: unknown signing alg", c->client_id);
        goto out;
    }
    /* the jti names no grant (no '.'): such a token is revoked only through the deny list,
     * and nothing is written per token */
    if (!(jti = rnd_token(16))) {
        rc = GH_ECRYPTO;
        goto out;
    }
    /* RFC 9068 §2.2: sub is the subject (for client_credentials, with no end-user, the client
     * itself) */
    at = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "iss", app->issuer, "sub",
        sub, "aud", resource, "client_id", c->client_id, "iat", (json_int_t)now, "exp",
        (json_int_t)(now + cfg->access_token_ttl), "jti", jti);
    if (!at || (*scope && json_object_set_new(at, "scope", json_string(scope)) != 0))
        goto out;
    if ((rc = jwt_sign(app->keys, alg, "at+jwt", at, &access)) != GH_OK) {
        log_err("token_error", "client=%s: cannot sign an access token with %s (%s)",
            c->client_id, keys_alg_name(alg), gh_strerror(rc));
        rc = GH_EINTERNAL;
        goto out;
    }
    rc = GH_EINTERNAL;
    /* RFC 6749 §4.4.3: no refresh token. The token is jwt_sign's output, base64url and dots
     * only, so jansson's UTF-8 check of it (most of the cost of this object) is skipped. */
    r = json_pack("{s:o, s:s, s:I}", "access_token", json_string_nocheck(access), "token_type",
        "Bearer", "expires_in", (json_int_t)cfg->access_token_ttl);
    if (!r || (*scope && json_object_set_new(r, "scope", json_string(scope)) != 0))
        goto out;
    log_buffered(LOG_INFO, "token_issued", "client=%s jti=%s aud=%s", c->client_id, jti,
        log_esc(resource, esc));
    audit_event(au, "token_issued", sub, c->client_id, "grant_type", gt, "jti", jti,
        "aud", resource, "scope", scope, NULL);
    met_token_issued(gt);
    *resp = r;
    r = NULL;
    rc = GH_OK;
out:
    if (rc != GH_OK && rc != GH_ESTORE && !oe->status)
        oauth_err_set(oe, 500, "server_error", "the token could not be issued");
    json_decref(at);
    json_decref(r);
    free(jti);
    if (access)
        str_wipe_free(access);
    return rc;
}

int
grant_client_credentials(struct app *app, struct store *st, const struct client *c,
    const struct req_params *ps, const struct audit_src *au, json_t **resp, struct oauth_err *oe)
{
    char *resource = NULL, *scope = NULL;
    int rc;

    *resp = NULL;
    /* RFC 6749 §4.4: only a client that can authenticate (token.c checked its grant types;
     * `client add` refuses the grant to public clients, this holds whatever the store says) */
    if (c->is_public || c->auth_method == CLIENT_AUTH_NONE) {
        oauth_err_set(oe, 400, "unauthorized_client", "this client may not use this grant");
        return GH_EDENIED;
    }
    rc = grant_resource_scope(st, c, req_param(ps, "resource", NULL), req_param(ps, "scope",
        NULL), &resource, &scope, oe);
    if (rc == GH_OK)
        rc = grant_resource_token(app, c, c->client_id, resource, scope, "client_credentials",
            au, resp, oe);
    free(resource);
    free(scope);
    return rc;
}

/* ---- checking tokens we issued (introspection, revocation) --------------------------- */

int
grant_refresh_find(struct store *st, const char *tok, size_t len, int64_t now,
    struct grant **out)
{
    unsigned char h[STORE_HASH_LEN];
    struct grant *g = NULL;
    int rc;

    *out = NULL;
    if (!opaque_hash(tok, len, h))
        return GH_ENOTFOUND;
    if ((rc = store_refresh_peek(st, h, now, &g)) != GH_OK)
        return rc;
    if (g->revoked)
        rc = GH_EDENIED;
    else if (g->expires_at <= now)
        rc = GH_EEXPIRED;
    if (rc != GH_OK) {
        grant_free(g);
        return rc;
    }
    *out = g;
    return GH_OK;
}

int
grant_access_check(struct app *app, struct store *st, const char *tok, size_t len,
    json_t **claims)
{
    int64_t now = clock_now();
    struct jwt_expect ex = { .typ = "at+jwt", .iss = app->issuer, .now = now,
                             .leeway = app->cfg->clock_skew };
    const char *jti, *dot, *aud, *scope;
    json_t *cl = NULL, *exp;
    char gid[64], *allowed = NULL;
    int rc;

    *claims = NULL;
    if (!tok || len == 0 || len > GH_MAX_JWT_LEN)
        return GH_EINVAL;
    if ((rc = jwt_verify(app->keys, tok, len, &ex, &cl)) != GH_OK)
        goto out;
    /* RFC 9068 §2.2 claims, all set by issue() / grant_client_credentials(); exp strictly:
     * the clock_skew allowance is for clocks of other instances on iat, not a longer life */
    rc = GH_EINVAL;
    jti = json_string_value(json_object_get(cl, "jti"));
    aud = json_string_value(json_object_get(cl, "aud"));
    exp = json_object_get(cl, "exp");
    if (!jti || !*jti || !aud || !json_is_string(json_object_get(cl, "sub")) ||
        !json_is_string(json_object_get(cl, "client_id")) ||
        !json_is_integer(json_object_get(cl, "iat")) || !json_is_integer(exp))
        goto out;
    scope = json_string_value(json_object_get(cl, "scope"));
    if (json_object_get(cl, "scope") && !scope)
        goto out;
    if (json_integer_value(exp) <= now) {
        rc = GH_EEXPIRED;
        goto out;
    }
    /* "<grant id>.<random>": the grant must be live; no '.': a client_credentials token */
    if ((dot = strchr(jti, '.')) != NULL) {
        if (dot == jti || (size_t)(dot - jti) >= sizeof(gid))
            goto out;
        memcpy(gid, jti, (size_t)(dot - jti));
        gid[dot - jti] = '\0';
        rc = store_token_check(st, jti, gid);
        goto out;
    }
    if ((rc = store_token_check(st, jti, NULL)) != GH_OK)
        goto out;
    /* A client_credentials token lives while its client may still use its audience with its
     * scope: deleting the client or the resource, or `resource disallow`, ends it here (a
     * resource server that only checks the signature learns it at exp) */
    rc = store_resource_client_scope(st, aud, json_string_value(json_object_get(cl,
        "client_id")), &allowed);
    if (rc == GH_OK && scope && !authz_scope_subset(scope, allowed))
        rc = GH_EDENIED;
    /* a JWT-bearer grant's token for a user (sub other than the client) lives while the user
     * exists and is enabled */
    if (rc == GH_OK && !str_eq(json_string_value(json_object_get(cl, "sub")),
                           json_string_value(json_object_get(cl, "client_id"))) &&
        !user_active(st, json_string_value(json_object_get(cl, "sub"))))
        rc = GH_EDENIED;
out:
    free(allowed);
    if (rc == GH_OK) {
        *claims = cl;
        cl = NULL;
    }
    json_decref(cl);
    return rc;
}
