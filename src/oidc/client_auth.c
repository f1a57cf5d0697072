/* client_auth.c — token-endpoint client authentication (see client_auth.h). Every failure
 * that concerns the credentials themselves gives the same invalid_client answer, so the
 * response does not tell an unknown client from a wrong secret, or a forged assertion from a
 * replayed or expired one; the log line says which. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "model/client.h"
#include "oidc/assertion.h"
#include "oidc/client_auth.h"
#include "oidc/issuer_keys.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

/* invalid_client, and the audit event naming the client claimed (unverified) and why */
static int
bad_client(const struct client_creds *cr, const char *id, const char *reason,
    const char *detail, struct oauth_err *oe)
{
    audit_event(cr->audit, "client_auth_failure", NULL, id, "reason", reason, "detail", detail,
        NULL);
    oauth_err_set(oe, 401, "invalid_client", "client authentication failed");
    return GH_EDENIED;
}

/* One log line per refused assertion: the client it claims to be (unverified, escaped) and
 * why. The client only ever sees bad_client(). */
static int
assertion_fail(const struct client_creds *cr, const char *id, const char *why,
    struct oauth_err *oe)
{
    char esc[LOG_ESC_SIZE];

    if (id)
        log_warn("client_auth_fail", "client=%s reason=assertion why=\"%s\"", log_esc(id, esc),
            why);
    else
        log_warn("client_auth_fail", "reason=assertion why=\"%s\"", why);
    return bad_client(cr, id, "assertion", why, oe);
}

void
client_key_fetch_clear(struct client_key_fetch *f)
{
    if (!f)
        return;
    free(f->name);
    free(f->uri);
    free(f->kid);
    memset(f, 0, sizeof(*f));
}

/* A private_key_jwt client registered with a jwks_uri: verify with its key set from the cache,
 * which is never fetched here. GH_OK with *due set: a fetch must come first (cr->fetch filled
 * in). The method was checked by the registration (store CHECK) and is checked again here. */
static int
verify_fetched(const struct client_creds *cr, const struct assertion *a, const struct client *c,
    bool *due, const char **why)
{
    char name[sizeof(CLIENT_KEYS_PREFIX) + GH_MAX_CLIENT_ID], *jwks = NULL;
    bool need_fetch = false;
    const char *kid = assertion_kid(a);
    int n, rc;

    *due = false;
    if (c->auth_method != CLIENT_AUTH_PRIVATE_KEY_JWT) {
        *why = "client with a jwks_uri is not registered for private_key_jwt";
        return GH_EDENIED;
    }
    n = snprintf(name, sizeof(name), "%s%s", CLIENT_KEYS_PREFIX, c->client_id);
    if (n < 0 || (size_t)n >= sizeof(name)) {
        *why = "client_id too long for the key cache";
        return GH_EDENIED;
    }
    if (!cr->keys) {
        *why = "no cache for jwks_uri keys";
        return GH_EDENIED;
    }
    rc = issuer_keys_get(cr->keys, name, c->jwks_uri, kid, false, &jwks, &need_fetch);
    if (rc == GH_OK && need_fetch) {
        if (!cr->fetch) {
            *why = "the client's jwks_uri keys are still being fetched";
            return GH_EDENIED;
        }
        client_key_fetch_clear(cr->fetch);
        cr->fetch->name = x_strdup(name);
        cr->fetch->uri = x_strdup(c->jwks_uri);
        cr->fetch->kid = kid ? x_strdup(kid) : NULL;
        cr->fetch->due = true;
        *due = true;
        return GH_OK;
    }
    if (rc != GH_OK) {
        *why = "no keys for the client (its jwks_uri could not be fetched)";
        return GH_EDENIED;
    }
    rc = assertion_verify_keys(a, jwks, strlen(jwks), why);
    free(jwks);
    return rc;
}

/* RFC 7523 §2.2 / OIDC Core §9: client_secret_jwt and private_key_jwt. The assertion names the
 * client (iss = sub = client_id); a client_id parameter, if sent, must name the same one. */
static int
assertion_auth(struct store *st, const struct secrets *sec, const struct client_creds *cr,
    struct client **out, struct oauth_err *oe)
{
    struct assertion *a = NULL;
    struct client *c = NULL;
    const char *why = NULL, *id;
    size_t len;
    int rc;

    /* RFC 7521 §4.2: the two parameters travel together */
    if (!cr->assertion || !cr->assertion_type) {
        oauth_err_set(oe, 400, "invalid_request",
            "client_assertion and client_assertion_type go together");
        return GH_EINVAL;
    }
    /* RFC 6749 §2.3: one method per request */
    if (cr->basic_id || cr->form_secret) {
        oauth_err_set(oe, 400, "invalid_request", "use one client authentication method");
        return GH_EINVAL;
    }
    if (!str_eq(cr->assertion_type, ASSERTION_TYPE_JWT_BEARER))
        return assertion_fail(cr, NULL, "client_assertion_type is not jwt-bearer", oe);
    /* bounded before anything looks inside */
    len = strnlen(cr->assertion, GH_MAX_JWT_LEN + 1);
    if (len > GH_MAX_JWT_LEN)
        return assertion_fail(cr, NULL, "assertion over GH_MAX_JWT_LEN", oe);
    rc = assertion_parse(cr->assertion, len, cr->issuer, clock_now(), cr->skew, &a, &why);
    if (rc == GH_EINTERNAL) {
        log_err("client_auth", "cannot check assertions: %s", why);
        return rc;
    }
    if (rc != GH_OK)
        return assertion_fail(cr, NULL, why, oe);
    id = assertion_client_id(a);
    if (cr->form_id && !str_eq(cr->form_id, id)) {
        rc = assertion_fail(cr, id, "client_id is not the assertion's iss", oe);
        goto out;
    }
    if (client_id_check(id, &why) != GH_OK) {
        rc = assertion_fail(cr, id, "iss is not a client_id", oe);
        goto out;
    }
    rc = store_client_get(st, id, &c);
    if (rc == GH_ENOTFOUND) {
        rc = assertion_fail(cr, id, "unknown client", oe);
        goto out;
    }
    if (rc != GH_OK)
        goto out;
    if (c->jwks_uri) {
        bool due = false;

        rc = verify_fetched(cr, a, c, &due, &why);
        if (rc == GH_OK && due)
            goto out;   /* *out stays NULL: the caller fetches, then asks again */
    } else {
        rc = assertion_verify(a, c, sec, &why);
    }
    if (rc == GH_ECRYPTO)
        goto out;
    if (rc != GH_OK) {
        rc = assertion_fail(cr, id, why, oe);
        goto out;
    }
    /* RFC 7523 §3 item 7: once; only a verified assertion may spend its jti */
    rc = assertion_spend(st, a);
    if (rc == GH_EEXIST) {
        char esc[LOG_ESC_SIZE];
        log_warn("client_auth_fail", "client=%s reason=assertion_replay jti=%s", id,
            log_esc(assertion_jti(a), esc));
        rc = bad_client(cr, id, "assertion_replay", assertion_jti(a), oe);
        goto out;
    }
    if (rc != GH_OK)
        goto out;
    *out = c;
    c = NULL;
out:
    client_free(c);
    assertion_free(a);
    return rc;
}

int
client_auth(struct store *st, const struct secrets *sec, const struct client_creds *cr,
    struct client **out, bool *basic_used, struct oauth_err *oe)
{
    enum client_auth method;
    const char *id, *secret = NULL;
    size_t secret_len = 0;
    struct client *c = NULL;
    int rc;

    *out = NULL;
    *basic_used = cr->basic_id != NULL || cr->basic_malformed;
    if (cr->basic_malformed) {
        log_warn("client_auth_fail", "reason=malformed_basic");
        return bad_client(cr, NULL, "malformed_basic", NULL, oe);
    }
    if (cr->assertion || cr->assertion_type)
        return assertion_auth(st, sec, cr, out, oe);
    if (cr->basic_id) {
        if (cr->form_secret) {
            oauth_err_set(oe, 400, "invalid_request", "use one client authentication method");
            return GH_EINVAL;
        }
        if (cr->form_id && strcmp(cr->form_id, cr->basic_id) != 0) {
            oauth_err_set(oe, 400, "invalid_request", "client_id does not match the credentials");
            return GH_EINVAL;
        }
        method = CLIENT_AUTH_SECRET_BASIC;
        id = cr->basic_id;
        secret = cr->basic_secret;
        secret_len = cr->basic_secret_len;
    } else if (cr->form_secret) {
        method = CLIENT_AUTH_SECRET_POST;
        id = cr->form_id;
        secret = cr->form_secret;
        secret_len = cr->form_secret_len;
    } else {
        method = CLIENT_AUTH_NONE;
        id = cr->form_id;
    }
    if (!id) {
        oauth_err_set(oe, 401, "invalid_client", "client authentication is required");
        return GH_EDENIED;
    }
    const char *why = NULL;
    if (client_id_check(id, &why) != GH_OK) {
        log_warn("client_auth_fail", "reason=bad_client_id");
        return bad_client(cr, id, "bad_client_id", NULL, oe);
    }
    rc = store_client_get(st, id, &c);
    if (rc == GH_ENOTFOUND) {
        log_warn("client_auth_fail", "client=%s reason=unknown_client", id);
        return bad_client(cr, id, "unknown_client", NULL, oe);
    }
    if (rc != GH_OK)
        return rc;
    if (c->auth_method != method) {
        log_warn("client_auth_fail", "client=%s reason=method used=%s registered=%s", id,
            client_auth_name(method), client_auth_name(c->auth_method));
        client_free(c);
        return bad_client(cr, id, "method", client_auth_name(method), oe);
    }
    /* none: a public client proves nothing here; the code's PKCE binding does */
    if (method != CLIENT_AUTH_NONE && !client_secret_ok(sec, c, secret, secret_len)) {
        log_warn("client_auth_fail", "client=%s reason=secret", id);
        client_free(c);
        return bad_client(cr, id, "secret", NULL, oe);
    }
    *out = c;
    return GH_OK;
}
