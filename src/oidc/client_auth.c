/* client_auth.c — token-endpoint client authentication (see client_auth.h). Every failure
 * that concerns the credentials themselves gives the same invalid_client answer, so the
 * response does not tell an unknown client from a wrong secret; the log line says which. */
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "model/client.h"
#include "oidc/client_auth.h"
#include "store/store.h"
#include "util/str.h"

static int
bad_client(struct oauth_err *oe)
{
    oauth_err_set(oe, 401, "invalid_client", "client authentication failed");
    return GH_EDENIED;
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
    if (cr->assertion || cr->assertion_type) {
        oauth_err_set(oe, 401, "invalid_client",
            "client assertions (client_secret_jwt, private_key_jwt) are not supported yet");
        return GH_EDENIED;
    }
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
