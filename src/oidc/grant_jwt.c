/* grant_jwt.c — the JWT-bearer authorization grant (RFC 7523 §2.1, §3; see grant_jwt.h for
 * the subject policy). The assertion is checked as a client assertion is (oidc/assertion.c),
 * its key chosen by who issued it: the presenting client's own registered credential when
 * iss is the client itself, else the trusted issuer's JWKS (inline, or its jwks_uri through
 * oidc/issuer_keys.c). Then the jti is spent (per iss), and right before the token is signed
 * everything that may have changed meanwhile — a fetch can take seconds — is read again from
 * the store in one snapshot (store_jwt_grant_check): the client and its grant type, the issuer
 * enabled and listing the client, the user present and enabled. Keycloak's CVE-2026 pair was
 * exactly a grant that skipped those checks at issuance.
 *
 * Every refusal concerning the assertion or its subject answers the same invalid_grant (RFC
 * 7523 §3.1), so nothing tells an attacker which check failed; the reason goes to the log.
 * The token is client_credentials' (oidc/grant.c grant_resource_token) with the subject as sub.
 * Not here: the request deferral when a fetch is due (ep/token_jwt.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "model/client.h"
#include "model/user.h"
#include "oidc/assertion.h"
#include "oidc/client_auth.h"
#include "oidc/grant.h"
#include "oidc/grant_jwt.h"
#include "oidc/issuer_keys.h"
#include "model/throttle.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/str.h"

/* One answer for every refused assertion (RFC 7523 §3.1); why goes to the log only. */
static int
refuse(const struct client *c, const char *iss, const char *why, struct oauth_err *oe)
{
    char esc[LOG_ESC_SIZE];

    if (iss)
        log_warn("jwt_grant_refused", "client=%s iss=%s why=\"%s\"", c->client_id,
            log_esc(iss, esc), why);
    else
        log_warn("jwt_grant_refused", "client=%s why=\"%s\"", c->client_id, why);
    oauth_err_set(oe, 400, "invalid_grant", "the assertion is not acceptable");
    return GH_EDENIED;
}

/* Keys from a jwks_uri, cached under name (which may need a fetch first). */
static int
verify_fetched(struct app *app, const char *name, const char *uri, const struct assertion *a,
    bool may_fetch, bool *need_fetch, const char **why)
{
    char *jwks = NULL;
    int rc;

    if (!app->issuer_keys) {
        *why = "no jwks_uri cache";
        return GH_EDENIED;
    }
    rc = issuer_keys_get(app->issuer_keys, name, uri, assertion_kid(a), may_fetch, &jwks,
        need_fetch);
    if (rc == GH_OK && *need_fetch)
        return GH_OK;
    if (rc != GH_OK) {
        *why = "no keys for the issuer (its jwks_uri could not be fetched)";
        return GH_EDENIED;
    }
    rc = assertion_verify_keys(a, jwks, strlen(jwks), why);
    free(jwks);
    return rc;
}

/* The issuer's keys: inline, or from its jwks_uri. */
static int
verify_issuer(struct app *app, const struct trusted_issuer *ti, const struct assertion *a,
    bool may_fetch, bool *need_fetch, const char **why)
{
    if (ti->jwks)
        return assertion_verify_keys(a, ti->jwks, strlen(ti->jwks), why);
    return verify_fetched(app, ti->issuer, ti->jwks_uri, a, may_fetch, need_fetch, why);
}

/* A self-issued assertion: the client's own registered credential; a private_key_jwt client
 * registered with a jwks_uri uses the keys cached for its client authentication. */
static int
verify_self(struct app *app, const struct client *c, const struct assertion *a, bool may_fetch,
    bool *need_fetch, const char **why)
{
    char name[sizeof(CLIENT_KEYS_PREFIX) + GH_MAX_CLIENT_ID];
    int n;

    if (!c->jwks_uri)
        return assertion_verify(a, c, app->secrets, why);
    n = snprintf(name, sizeof(name), "%s%s", CLIENT_KEYS_PREFIX, c->client_id);
    if (c->auth_method != CLIENT_AUTH_PRIVATE_KEY_JWT || n < 0 || (size_t)n >= sizeof(name)) {
        *why = "client with a jwks_uri is not a private_key_jwt client";
        return GH_EDENIED;
    }
    return verify_fetched(app, name, c->jwks_uri, a, may_fetch, need_fetch, why);
}

int
grant_jwt_bearer(struct app *app, struct store *st, const struct client *c,
    const struct jwt_grant_req *gr, bool may_fetch, json_t **resp, bool *need_fetch,
    struct oauth_err *oe)
{
    struct assertion *a = NULL;
    struct trusted_issuer *ti = NULL;
    struct user *u = NULL;
    char *resource = NULL, *scope = NULL;
    const char *why = NULL, *iss = NULL, *sub, *user_sub = NULL;
    char esc[LOG_ESC_SIZE], esc2[LOG_ESC_SIZE];
    bool self;
    size_t len;
    int rc = GH_EDENIED;

    *resp = NULL;
    *need_fetch = false;
    /* RFC 7523 §3.1 lets an unauthenticated client use the grant; gatehouse does not: the
     * issuer's listing of the client is what binds an assertion to its presenter */
    if (c->is_public || c->auth_method == CLIENT_AUTH_NONE) {
        oauth_err_set(oe, 400, "unauthorized_client", "this client may not use this grant");
        goto out;
    }
    if (!gr->assertion) {
        oauth_err_set(oe, 400, "invalid_request", "assertion is required");
        rc = GH_EINVAL;
        goto out;
    }
    /* the audience and scope first: a request that cannot succeed does not spend the jti */
    if ((rc = grant_resource_scope(st, c, gr->resource, gr->scope, &resource, &scope, oe)) !=
        GH_OK)
        goto out;
    len = strnlen(gr->assertion, GH_MAX_JWT_LEN + 1);
    if (len > GH_MAX_JWT_LEN) {
        rc = refuse(c, NULL, "assertion over GH_MAX_JWT_LEN", oe);
        goto out;
    }
    rc = assertion_parse_grant(gr->assertion, len, app->issuer, clock_now(),
        app->cfg->clock_skew, &a, &why);
    if (rc == GH_EINTERNAL) {
        log_err("jwt_grant", "cannot check assertions: %s", why);
        goto out;
    }
    if (rc != GH_OK) {
        rc = refuse(c, NULL, why, oe);
        goto out;
    }
    iss = assertion_client_id(a);
    sub = assertion_sub(a);
    self = str_eq(iss, c->client_id);
    if (str_eq(iss, app->issuer)) {
        rc = refuse(c, iss, "iss is our own issuer", oe);
        goto out;
    }
    if (self) {
        /* (a) a client's own key speaks only for the client: it cannot impersonate users */
        if (!str_eq(sub, c->client_id)) {
            rc = refuse(c, iss, "a self-issued assertion names another subject", oe);
            goto out;
        }
        rc = verify_self(app, c, a, may_fetch, need_fetch, &why);
        if (rc == GH_OK && *need_fetch)
            goto out;   /* nothing spent: the caller asks again where a fetch may block */
    } else {
        /* (b) an issuer the operator registered, enabled, listing this client */
        rc = store_issuer_get(st, iss, &ti);
        if (rc == GH_ENOTFOUND) {
            rc = refuse(c, iss, "iss is neither the client nor a trusted issuer", oe);
            goto out;
        }
        if (rc != GH_OK)
            goto out;
        if (ti->disabled) {
            rc = refuse(c, iss, "the issuer is disabled", oe);
            goto out;
        }
        if (!str_list_has(ti->clients, c->client_id)) {
            rc = refuse(c, iss, "the issuer does not list this client", oe);
            goto out;
        }
        rc = verify_issuer(app, ti, a, may_fetch, need_fetch, &why);
        if (rc == GH_OK && *need_fetch)
            goto out;   /* nothing spent: the caller asks again where a fetch may block */
    }
    if (rc == GH_ECRYPTO)
        goto out;
    if (rc != GH_OK) {
        rc = refuse(c, iss, why, oe);
        goto out;
    }
    /* the subject: the client itself, or (trusted issuers only) a user */
    if (!str_eq(sub, c->client_id)) {
        rc = store_user_get_by_sub(st, sub, &u);
        if (rc == GH_ENOTFOUND) {
            rc = refuse(c, iss, "sub names no user", oe);
            goto out;
        }
        if (rc != GH_OK)
            goto out;
        if (u->disabled) {
            rc = refuse(c, iss, "the user is disabled", oe);
            goto out;
        }
        /* SECURITY.md S17: every way in honours the account lock of the sign-in limits */
        struct throttle_policy tp;
        app_throttle_policy(app, &tp);
        rc = throttle_account_locked(&tp, st, u->username, clock_now());
        if (rc == GH_ELIMIT) {
            rc = refuse(c, iss, "the user is locked by failed sign-ins", oe);
            goto out;
        }
        if (rc != GH_OK)
            goto out;
        user_sub = sub;
    }
    /* RFC 7523 §3 item 7: once per issuer; only a verified assertion spends its jti */
    rc = assertion_spend(st, a);
    if (rc == GH_EEXIST) {
        rc = refuse(c, iss, "replay: the jti was used before", oe);
        goto out;
    }
    if (rc != GH_OK)
        goto out;
    /* re-check at issuance, in one snapshot, whatever may have changed since the reads above */
    rc = store_jwt_grant_check(st, c->client_id, GRANT_TYPE_JWT_BEARER, self ? NULL : iss,
        user_sub, &why);
    if (rc == GH_EDENIED) {
        rc = refuse(c, iss, why, oe);
        goto out;
    }
    if (rc != GH_OK)
        goto out;
    rc = grant_resource_token(app, c, sub, resource, scope, GRANT_TYPE_JWT_BEARER, gr->au, resp,
        oe);
    if (rc == GH_OK)
        log_info("jwt_grant_issued", "client=%s iss=%s sub=%s", c->client_id,
            log_esc(iss, esc), log_esc(sub, esc2));
out:
    if (rc != GH_OK && rc != GH_ESTORE && !oe->status)
        oauth_err_set(oe, 500, "server_error", "the token could not be issued");
    free(resource);
    free(scope);
    user_free(u);
    trusted_issuer_free(ti);
    assertion_free(a);
    return rc;
}
