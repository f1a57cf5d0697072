/* logout.c — GET and POST /logout, the end_session_endpoint of OpenID Connect RP-Initiated
 * Logout 1.0. Parameters: id_token_hint, client_id, post_logout_redirect_uri, state
 * (logout_hint and ui_locales are accepted and ignored).
 *
 * §2: the OP must ask the user before ending the session unless an id_token_hint names the
 * session's user; so a valid hint for the current user logs out at once, anything else shows
 * a confirmation form (CSRF token bound to the session cookie), which stops a third-party
 * page from signing people out. §3: post_logout_redirect_uri is honoured only when it is
 * registered, byte for byte, for the client named by client_id or the hint's aud; otherwise
 * an error page and no redirect. With no redirect the logged-out page is shown. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/audit.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/jwt.h"
#include "ep/ep.h"
#include "ep/flow.h"
#include "ep/pages.h"
#include "http/req.h"
#include "http/resp.h"
#include "model/client.h"
#include "session/session.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/url.h"
#include "util/xmem.h"

#define HINT_LEEWAY_S 60
#define PAGE_MAX      (256 * 1024)

static bool
aud_has(const json_t *aud, const char *id)
{
    size_t i;
    const json_t *v;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), id) == 0;
    json_array_foreach(aud, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
            return true;
    }
    return false;
}

static int
bad_request(struct req *rq, const char *message)
{
    return flow_error_page(rq, 400, "Sign-out request not valid", message,
        "You may still be signed in. Close the browser to end the session, or contact the "
        "application's administrator.");
}

static int
send_page(struct req *rq, enum page_id id, const struct tmpl_var *v, size_t n,
    const char *set_cookie)
{
    const char *cookies[2] = { set_cookie, NULL };
    struct buf b;
    int rc;

    buf_init(&b, PAGE_MAX);
    if ((rc = pages_render(rq->app->docs->pages, id, v, n, &b)) == GH_OK)
        rc = resp_html(rq, 200, buf_str(&b), b.len, set_cookie ? cookies : NULL);
    buf_free(&b);
    return rc;
}

int
ep_logout(struct req *rq)
{
    struct req_params ps;
    struct store *st = app_store(rq->app);
    struct client *c = NULL;
    struct session *s = NULL;
    json_t *hint = NULL;
    const char *why = NULL, *cookie, *v;
    const char *client_id, *plr, *state, *hint_sub = NULL;
    char set_cookie[SESS_COOKIE_MAX];
    size_t len = 0, clen = 0;
    bool confirmed = false;
    int rc;

    req_params_init(&ps);
    if (!st) {
        rc = flow_store_unavailable(rq);
        goto out;
    }
    rc = rq->method == REQ_POST ? req_form(rq, &ps, &why) : req_query(rq, &ps, &why);
    if (rc != GH_OK) {
        rc = bad_request(rq, why ? why : "The request is malformed.");
        goto out;
    }
    client_id = req_param(&ps, "client_id", NULL);
    plr = req_param(&ps, "post_logout_redirect_uri", NULL);
    state = req_param(&ps, "state", &len);
    if (state && len > GH_MAX_STATE) {
        rc = bad_request(rq, "The state parameter is too long.");
        goto out;
    }
    if ((v = req_param(&ps, "id_token_hint", &len)) != NULL) {
        struct jwt_expect ex = { .typ = "JWT", .iss = rq->app->issuer, .now = clock_now(),
                                 .leeway = HINT_LEEWAY_S, .allow_expired = true };
        if (jwt_verify(rq->app->keys, v, len, &ex, &hint) != GH_OK ||
            !(hint_sub = json_string_value(json_object_get(hint, "sub")))) {
            rc = bad_request(rq, "The ID token sent with the request is not valid here.");
            goto out;
        }
        const json_t *aud = json_object_get(hint, "aud");
        if (client_id && !aud_has(aud, client_id)) {
            rc = bad_request(rq, "The ID token was not issued to this application.");
            goto out;
        }
        if (!client_id && json_is_string(aud))
            client_id = json_string_value(aud);
        if (!client_id && json_is_array(aud) && json_array_size(aud) == 1)
            client_id = json_string_value(json_array_get(aud, 0));
    }
    if (client_id) {
        rc = store_client_get(st, client_id, &c);
        if (rc == GH_ENOTFOUND) {
            rc = bad_request(rq, "The application (client_id) is not registered here.");
            goto out;
        }
        if (rc != GH_OK)
            goto out;
    }
    if (plr && (!c || !client_post_logout_redirect_ok(c, plr))) {
        rc = bad_request(rq, "The address to return to after signing out is not registered "
                             "for this application.");
        goto out;
    }

    cookie = req_cookie(rq, sess_cookie_name(rq->app), &clen);
    if (cookie && (rc = sess_load(rq->app, st, cookie, clen, clock_now(), &s)) != GH_OK &&
        rc != GH_ENOTFOUND)
        goto out;
    if (s) {
        size_t tlen = 0;
        const char *tok = rq->method == REQ_POST ? req_param(&ps, "csrf", &tlen) : NULL;
        confirmed = (hint_sub && strcmp(hint_sub, s->sub) == 0) ||
                    (tok && csrf_ok(rq->app->secrets, "logout", cookie, cookie, tok, tlen));
        if (!confirmed) {
            char csrf[SESS_CSRF_LEN + 1];
            csrf_token(rq->app->secrets, "logout", cookie, cookie, csrf);
            struct tmpl_var tv[] = {
                { "title", "Sign out" },
                { "client_name", c ? c->name : NULL },
                { "action", "/logout" },
                { "csrf", csrf },
                { "client_id", c ? c->client_id : NULL },
                { "post_logout_redirect_uri", plr },
                { "state", state },
                { "request_id", req_rid(rq) },
            };
            rc = send_page(rq, PAGE_LOGOUT, tv, sizeof(tv) / sizeof(tv[0]), NULL);
            goto out;
        }
        unsigned char h[STORE_HASH_LEN];
        if (sess_id_hash(cookie, clen, h) && (rc = store_session_delete(st, h)) != GH_OK &&
            rc != GH_ENOTFOUND)
            goto out;
        log_info("logout", "rid=%s sub=%s client=%s", req_rid(rq), s->sub,
            c ? c->client_id : "-");
        struct audit_src au = req_audit_src(rq);
        audit_event(&au, "logout", s->sub, c ? c->client_id : NULL, NULL);
    }
    sess_clear_cookie(rq->app, set_cookie);
    if (plr) {
        const char *cookies[2] = { set_cookie, NULL };
        struct buf b;
        buf_init(&b, GH_MAX_URI + 3 * GH_MAX_STATE + 16);
        rc = buf_addstr(&b, plr);
        if (rc == GH_OK && state)
            rc = url_query_add(&b, "state", state);
        if (rc == GH_OK)
            rc = resp_redirect(rq, rq->method == REQ_POST ? 303 : 302, buf_str(&b), cookies);
        buf_free(&b);
        goto out;
    }
    struct tmpl_var tv[] = {
        { "title", "Signed out" },
        { "client_name", c ? c->name : NULL },
        { "request_id", req_rid(rq) },
    };
    rc = send_page(rq, PAGE_LOGGED_OUT, tv, sizeof(tv) / sizeof(tv[0]), set_cookie);
out:
    if (rc == GH_ESTORE && !rq->status)
        rc = flow_store_unavailable(rq);   /* the store failed under a step: 503, not 500 */
    json_decref(hint);
    session_free(s);
    client_free(c);
    req_params_free(&ps);
    return rc;
}
