/* authorize.c — GET and POST /authorize (OIDC Core §3.1.2.1: both methods must work). Parses
 * the request in the two phases of oidc/authz_req.h: while the client or its redirect_uri is
 * not established, a person sees an error page and nothing is sent anywhere (RFC 9700
 * §4.11.1, open redirectors); afterwards errors go back to the client. Then the browser's
 * session decides what follows (ep/flow.c). */
#include "app.h"
#include "core/err.h"
#include "ep/ep.h"
#include "ep/flow.h"
#include "http/req.h"
#include "model/client.h"
#include "session/session.h"
#include "store/store.h"
#include "util/clock.h"

#define SESSION_TOUCH_S 60

int
ep_authorize(struct req *rq)
{
    struct req_params ps;
    struct authz_req ar = { 0 };
    struct oauth_err oe = { 0 };
    struct client *c = NULL;
    struct session *s = NULL;
    struct store *st = app_store(rq->app);
    const char *why = NULL, *redirect_uri = NULL, *cookie;
    size_t clen = 0;
    int rc;

    req_params_init(&ps);
    if (!st) {
        rc = flow_store_unavailable(rq);
        goto out;
    }
    rc = rq->method == REQ_POST ? req_form(rq, &ps, &why) : req_query(rq, &ps, &why);
    if (rc != GH_OK) {
        rc = flow_error_page(rq, 400, "Invalid sign-in request",
            why ? why : "The application sent a malformed sign-in request.",
            "This is a problem with the application, not with your account. Go back to the "
            "application and try again; if it happens again, tell the application's owner "
            "what this page says.");
        goto out;
    }
    rc = authz_check_client(st, &ps, &c, &redirect_uri, &why);
    if (rc == GH_ENOTFOUND) {
        rc = flow_error_page(rq, 400, "Unknown application", why,
            "Check that you followed the right link. The application's owner has to register "
            "it with this sign-in service before anyone can sign in to it: contact them.");
        goto out;
    }
    if (rc == GH_EINVAL) {
        rc = flow_error_page(rq, 400, "This sign-in link does not work", why,
            "This is a problem with the application, not with your account. Go back to the "
            "application and try again; if it happens again, tell the application's owner "
            "what this page says.");
        goto out;
    }
    if (rc != GH_OK)
        goto out;
    if (authz_parse(&ps, c, rq->app->keys, rq->app->issuer, &ar, &oe) != GH_OK) {
        rc = flow_redirect_error(rq, &ar, oe.code, oe.desc, NULL);
        goto out;
    }
    cookie = req_cookie(rq, sess_cookie_name(rq->app), &clen);
    if (cookie && (rc = sess_load(rq->app, st, cookie, clen, clock_now(), &s)) != GH_OK &&
        rc != GH_ENOTFOUND)
        goto out;
    /* the idle timeout counts from the last use; a write at most once a minute per session */
    if (s && clock_now() - s->last_seen >= SESSION_TOUCH_S)
        store_session_touch(st, s->id_hash, clock_now());
    rc = flow_authorize(rq, st, c, &ar, s, 0, NULL, NULL);
out:
    if (rc == GH_ESTORE && !rq->status)
        rc = flow_store_unavailable(rq);   /* the store failed under a step: 503, not 500 */
    session_free(s);
    client_free(c);
    authz_req_free(&ar);
    req_params_free(&ps);
    return rc;
}
