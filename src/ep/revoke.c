/* revoke.c — POST /revoke, token revocation (RFC 7009). The caller authenticates like a client
 * at /token (ep/client_req.c); a public client names itself (§2.1 lets it revoke its own
 * tokens). A refresh token of the caller revokes its grant, and with it every refresh and
 * access token issued from that grant (store_grant_revoke). An access token of the caller
 * (its client_id claim) goes on the deny list until it expires (store_token_revoke); access
 * tokens are JWTs that are not stored, so this is the only way to end one before exp, and a
 * resource server that only checks the signature will not see it (introspection and userinfo
 * do). token_type_hint is ignored: both kinds are recognised by shape (§2.1).
 *
 * §2.2: an invalid, unknown, expired or already revoked token, or one of another client, is
 * not an error: the answer is 200 "{}" whatever happened, so it says nothing about the token
 * (the log does). Only a failed store is 503 (§2.2.1: the client may retry). */
#include <string.h>

#include "app.h"
#include "core/audit.h"
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

static const char done[] = "{}";

static int
revoke_refresh(struct store *st, const struct audit_src *au, const struct client *c,
    const struct grant *g)
{
    int rc;

    if (strcmp(g->client_id, c->client_id) != 0) {
        log_warn("revoke_foreign", "client=%s presented a refresh token of client %s; nothing "
            "revoked", c->client_id, g->client_id);
        return GH_OK;
    }
    rc = store_grant_revoke(st, g->id);
    if (rc == GH_OK) {
        log_info("token_revoked", "client=%s grant=%s kind=refresh_token", c->client_id, g->id);
        audit_event(au, "token_revoked", g->sub, c->client_id, "kind", "refresh_token", "grant",
            g->id, NULL);
    }
    return rc == GH_ESTORE ? rc : GH_OK;
}

static int
revoke_access(struct store *st, const struct audit_src *au, const struct client *c,
    const json_t *claims)
{
    const char *jti = json_string_value(json_object_get(claims, "jti"));
    const char *owner = json_string_value(json_object_get(claims, "client_id"));
    json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
    int rc;

    if (strcmp(owner, c->client_id) != 0) {
        log_warn("revoke_foreign", "client=%s presented an access token of client %s; nothing "
            "revoked", c->client_id, owner);
        return GH_OK;
    }
    rc = store_token_revoke(st, jti, (int64_t)exp);
    if (rc == GH_OK)
        log_info("token_revoked", "client=%s jti=%s kind=access_token", c->client_id, jti);
    if (rc == GH_OK)
        audit_event(au, "token_revoked", json_string_value(json_object_get(claims, "sub")),
            c->client_id, "kind", "access_token", "jti", jti, NULL);
    return rc == GH_ESTORE ? rc : GH_OK;
}

int
ep_revoke(struct req *rq)
{
    struct client_req cq = { 0 };
    struct store *st = app_store(rq->app);
    struct grant *g = NULL;
    json_t *claims = NULL;
    const char *tok;
    size_t len = 0;
    int rc;

    if (!st) {
        rc = resp_store_unavailable(rq);
        goto out;
    }
    if (!client_req_auth(rq, st, 0, &cq, &rc))
        goto out;
    if (!(tok = req_param(&cq.ps, "token", &len))) {
        rc = resp_error(rq, 400, "invalid_request", "token is required");
        goto out;
    }
    struct audit_src au = req_audit_src(rq);
    rc = grant_refresh_find(st, tok, len, clock_now(), &g);
    if (rc == GH_OK) {
        rc = revoke_refresh(st, &au, cq.c, g);
    } else if (rc == GH_ENOTFOUND) {
        rc = grant_access_check(rq->app, st, tok, len, &claims);
        if (rc == GH_OK)
            rc = revoke_access(st, &au, cq.c, claims);
    }
    if (rc == GH_ESTORE) {
        rc = resp_store_unavailable(rq);
        goto out;
    }
    if (rc != GH_OK)
        log_debug("revoke", "client=%s: not a live token of ours (%s); nothing revoked",
            cq.c->client_id, gh_strerror(rc));
    rc = resp_json_static(rq, 200, done, sizeof(done) - 1);
out:
    json_decref(claims);
    grant_free(g);
    client_req_free(&cq);
    return rc;
}
