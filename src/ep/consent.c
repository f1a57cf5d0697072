/* consent.c — POST /consent: the user's answer on the consent page (OIDC Core §3.1.2.4). The
 * form is checked like the login form (interaction, CSRF token, binding cookie) and must come
 * from the browser's live session; "allow" remembers the approved scopes for this user and
 * client (merged with earlier approvals) and issues the code, "deny" sends access_denied to
 * the client. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/digest.h"
#include "ep/ep.h"
#include "ep/flow.h"
#include "http/req.h"
#include "model/client.h"
#include "session/session.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/str.h"

/* earlier approval ∪ this request's scopes */
static char *
merged_scope(struct store *st, const char *sub, const char *client_id, const char *scope)
{
    char *have = NULL, **list = NULL;
    struct buf b;

    buf_init(&b, 2 * GH_MAX_SCOPES * (GH_MAX_SCOPE_LEN + 1));
    if (store_consent_get(st, sub, client_id, &have) == GH_OK && have && *have)
        buf_addstr(&b, have);
    if (str_split(scope, GH_MAX_SCOPES, GH_MAX_SCOPE_LEN, &list) == GH_OK) {
        for (char **p = list; *p; p++) {
            if (!authz_scope_has(buf_str(&b), *p)) {
                if (b.len)
                    buf_add(&b, " ", 1);
                buf_addstr(&b, *p);
            }
        }
    }
    str_list_free(list);
    free(have);
    return buf_steal(&b);
}

int
ep_consent(struct req *rq)
{
    struct req_params ps;
    struct authz_req ar = { 0 };
    struct client *c = NULL;
    struct session *s = NULL;
    struct store *st = app_store(rq->app);
    const char *why = NULL, *bind = NULL, *cookie;
    size_t csrf_len = 0, clen = 0;
    int64_t created_at = 0;
    bool answered = false;
    char *scope = NULL;
    int rc;

    req_params_init(&ps);
    if (!st) {
        rc = flow_store_unavailable(rq);
        goto out;
    }
    if (req_form(rq, &ps, &why) != GH_OK) {
        rc = flow_error_page(rq, 400, "Form not accepted", why ? why : "The form is malformed.",
            "Go back to the application and start again.");
        goto out;
    }
    const char *iid = req_param(&ps, "interaction", NULL);
    const char *csrf = req_param(&ps, "csrf", &csrf_len);
    const char *decision = req_param(&ps, "decision", NULL);
    rc = flow_form_interaction(rq, st, "consent", iid, csrf, csrf_len, &ar, &c, &bind,
        &created_at, &answered);
    if (answered || rc != GH_OK)
        goto out;
    cookie = req_cookie(rq, sess_cookie_name(rq->app), &clen);
    rc = cookie ? sess_load(rq->app, st, cookie, clen, clock_now(), &s) : GH_ENOTFOUND;
    if (rc == GH_ENOTFOUND) {
        /* the session ended while the page was open: sign in again, same request */
        rc = flow_authorize(rq, st, c, &ar, NULL, 0, iid, NULL);
        goto out;
    }
    if (rc != GH_OK)
        goto out;
    if (decision && strcmp(decision, "deny") == 0) {
        unsigned char h[STORE_HASH_LEN];
        dig_sha256(iid, strlen(iid), h);
        if (store_interaction_take(st, h, clock_now(), NULL) != GH_OK) {
            rc = flow_error_page(rq, 400, "Sign-in already completed",
                "This sign-in request has already been completed or has expired.",
                "Go back to the application and start again.");
            goto out;
        }
        log_info("consent_denied", "rid=%s client=%s sub=%s", req_rid(rq), c->client_id, s->sub);
        rc = flow_redirect_error(rq, &ar, "access_denied", "the user denied access", NULL);
        goto out;
    }
    if (!decision || strcmp(decision, "allow") != 0) {
        rc = flow_error_page(rq, 400, "Form not accepted", "The form carried no decision.",
            "Go back to the application and start again.");
        goto out;
    }
    scope = merged_scope(st, s->sub, c->client_id, ar.scope);
    if ((rc = store_consent_set(st, s->sub, c->client_id, scope, clock_now())) != GH_OK)
        goto out;
    log_info("consent", "rid=%s client=%s sub=%s", req_rid(rq), c->client_id, s->sub);
    /* a sign-in made during this interaction counts for prompt=login and max_age */
    rc = flow_authorize(rq, st, c, &ar, s,
        FLOW_CONSENTED | (s->auth_time >= created_at ? FLOW_AUTHENTICATED : 0), iid, NULL);
out:
    if (rc == GH_ESTORE && !rq->status)
        rc = flow_store_unavailable(rq);   /* the store failed under a step: 503, not 500 */
    free(scope);
    session_free(s);
    client_free(c);
    authz_req_free(&ar);
    req_params_free(&ps);
    return rc;
}
