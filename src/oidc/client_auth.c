/* client_auth.c — token-endpoint client authentication (see client_auth.h). Every failure
 * that concerns the credentials themselves gives the same invalid_client answer, so the
 * response does not tell an unknown client from a wrong secret, or a forged assertion from a
 * replayed or expired one; the log line says which. */
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "model/client.h"
#include "oidc/assertion.h"
#include "oidc/client_auth.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/str.h"

static int
bad_client(struct oauth_err *oe)
{
    oauth_err_set(oe, 401, "invalid_client", "client authentication failed");
    return GH_EDENIED;
}

/* One log line per refused assertion: the client it claims to be (unverified, escaped) and
 * why. The client only ever sees bad_client(). */
static int
assertion_fail(const char *id, const char *why, struct oauth_err *oe)
{
    char esc[LOG_ESC_SIZE];

    if (id)
        log_warn("client_auth_fail", "client=%s reason=assertion why=\"%s\"", log_esc(id, esc),
            why);
    else
        log_warn("client_auth_fail", "reason=assertion why=\"%s\"", why);
    return bad_client(oe);
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
        return assertion_fail(NULL, "client_assertion_type is not jwt-bearer", oe);
    /* bounded before anything looks inside */
    len = strnlen(cr->assertion, GH_MAX_JWT_LEN + 1);
    if (len > GH_MAX_JWT_LEN)
        return assertion_fail(NULL, "assertion over GH_MAX_JWT_LEN", oe);
    rc = assertion_parse(cr->assertion, len, cr->issuer, clock_now(), &a, &why);
    if (rc == GH_EINTERNAL) {
        log_err("client_auth", "cannot check assertions: %s", why);
        return rc;
    }
    if (rc != GH_OK)
        return assertion_fail(NULL, why, oe);
    id = assertion_client_id(a);
    if (cr->form_id && !str_eq(cr->form_id, id)) {
        rc = assertion_fail(id, "client_id is not the assertion's iss", oe);
        goto out;
    }
    if (client_id_check(id, &why) != GH_OK) {
        rc = assertion_fail(id, "iss is not a client_id", oe);
        goto out;
    }
    rc = store_client_get(st, id, &c);
    if (rc == GH_ENOTFOUND) {
        rc = assertion_fail(id, "unknown client", oe);
        goto out;
    }
    if (rc != GH_OK)
        goto out;
    rc = assertion_verify(a, c, sec, &why);
    if (rc == GH_ECRYPTO)
        goto out;
    if (rc != GH_OK) {
        rc = assertion_fail(id, why, oe);
        goto out;
    }
    /* RFC 7523 §3 item 7: once; only a verified assertion may spend its jti */
    rc = assertion_spend(st, a);
    if (rc == GH_EEXIST) {
        char esc[LOG_ESC_SIZE];
        log_warn("client_auth_fail", "client=%s reason=assertion_replay jti=%s", id,
            log_esc(assertion_jti(a), esc));
        rc = bad_client(oe);
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
        return bad_client(oe);
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
        return bad_client(oe);
    }
    rc = store_client_get(st, id, &c);
    if (rc == GH_ENOTFOUND) {
        log_warn("client_auth_fail", "client=%s reason=unknown_client", id);
        return bad_client(oe);
    }
    if (rc != GH_OK)
        return rc;
    if (c->auth_method != method) {
        log_warn("client_auth_fail", "client=%s reason=method used=%s registered=%s", id,
            client_auth_name(method), client_auth_name(c->auth_method));
        client_free(c);
        return bad_client(oe);
    }
    /* none: a public client proves nothing here; the code's PKCE binding does */
    if (method != CLIENT_AUTH_NONE && !client_secret_ok(sec, c, secret, secret_len)) {
        log_warn("client_auth_fail", "client=%s reason=secret", id);
        client_free(c);
        return bad_client(oe);
    }
    *out = c;
    return GH_OK;
}
