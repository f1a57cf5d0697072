/* flow.c — the browser side of the authorization code flow (OIDC Core §3.1.2.3-6): is a
 * sign-in needed (no session, prompt=login, max_age exceeded, an id_token_hint for someone
 * else), is consent needed (client setting, prompt=consent, nothing remembered), or can a
 * code be issued. prompt=none never shows a page: it answers login_required or
 * consent_required to the client (§3.1.2.6).
 *
 * While the user signs in, the validated request waits in an interaction record (15 minutes);
 * the login and consent forms carry only its id and a CSRF token that binds id, form purpose
 * and the browser's binding cookie. Issuing the code spends the interaction, so a form posted
 * twice yields one code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/digest.h"
#include "ep/ep.h"
#include "ep/flow.h"
#include "ep/pages.h"
#include "http/req.h"
#include "http/resp.h"
#include "model/client.h"
#include "model/user.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/url.h"
#include "util/xmem.h"

#define PAGE_MAX (256 * 1024)

static int
send_page_hdr(struct req *rq, unsigned status, enum page_id id, const struct tmpl_var *vars,
    size_t n, const char *cookie1, const char *cookie2, const char *hname, const char *hval)
{
    const char *cookies[3] = { NULL, NULL, NULL };
    size_t nc = 0;
    struct buf b;
    int rc;

    if (cookie1)
        cookies[nc++] = cookie1;
    if (cookie2)
        cookies[nc++] = cookie2;
    buf_init(&b, PAGE_MAX);
    if ((rc = pages_render(rq->app->docs->pages, id, vars, n, &b)) != GH_OK) {
        log_err("page_error", "rid=%s page %d: %s", req_rid(rq), (int)id, gh_strerror(rc));
        buf_free(&b);
        return GH_EINTERNAL;
    }
    rc = resp_html_hdr(rq, status, buf_str(&b), b.len, cookies, hname, hval);
    buf_free(&b);
    return rc;
}

static int
send_page(struct req *rq, unsigned status, enum page_id id, const struct tmpl_var *vars,
    size_t n, const char *cookie1, const char *cookie2)
{
    return send_page_hdr(rq, status, id, vars, n, cookie1, cookie2, NULL, NULL);
}

static int
error_page(struct req *rq, unsigned status, const char *title, const char *message,
    const char *hint, const char *retry_after)
{
    struct tmpl_var v[] = {
        { "title", title },
        { "error_title", title },
        { "error_message", message },
        { "error_hint", hint },
        { "request_id", req_rid(rq) },
    };

    return send_page_hdr(rq, status, PAGE_ERROR, v, sizeof(v) / sizeof(v[0]), NULL, NULL,
        retry_after ? "Retry-After" : NULL, retry_after);
}

int
flow_error_page(struct req *rq, unsigned status, const char *title, const char *message,
    const char *hint)
{
    return error_page(rq, status, title, message, hint, NULL);
}

int
flow_busy_page(struct req *rq)
{
    return error_page(rq, 503, "Too many sign-ins right now", "The sign-in service is busy.",
        "Wait a few seconds and try again.", "5");
}

int
flow_store_unavailable(struct req *rq)
{
    return error_page(rq, 503, "Service unavailable",
        "The sign-in service cannot use its database right now.",
        "Wait a few seconds and try again.", RESP_STORE_RETRY_AFTER);
}

static unsigned
redirect_status(const struct req *rq)
{
    /* 303 turns the browser's POST into a GET at the client (RFC 9110 §15.4.4) */
    return rq->method == REQ_POST ? 303 : 302;
}

static int
redirect_to_client(struct req *rq, const struct authz_req *ar, const char *k1, const char *v1,
    const char *k2, const char *v2, const char *set_cookie)
{
    const char *cookies[2] = { set_cookie, NULL };
    struct buf b;
    int rc = GH_ETOOBIG;

    buf_init(&b, GH_MAX_URI + 4 * (GH_MAX_STATE + 512));
    if (buf_addstr(&b, ar->redirect_uri) != GH_OK || url_query_add(&b, k1, v1) != GH_OK ||
        (k2 && v2 && url_query_add(&b, k2, v2) != GH_OK) ||
        (ar->state && url_query_add(&b, "state", ar->state) != GH_OK) ||
        url_query_add(&b, "iss", rq->app->issuer) != GH_OK)   /* RFC 9207 §2 */
        goto out;
    rc = resp_redirect(rq, redirect_status(rq), buf_str(&b), set_cookie ? cookies : NULL);
out:
    buf_free(&b);
    return rc;
}

int
flow_redirect_error(struct req *rq, const struct authz_req *ar, const char *code,
    const char *desc, const char *set_cookie)
{
    log_info("authorize_error", "rid=%s client=%s error=%s", req_rid(rq), ar->client_id, code);
    return redirect_to_client(rq, ar, "error", code, "error_description", desc, set_cookie);
}

/* The binding cookie of this browser, or a new one (then *set_bind gets its Set-Cookie). */
static int
bind_get_or_new(struct req *rq, char bind[SESS_ID_LEN + 1], char set_bind[SESS_COOKIE_MAX],
    bool *is_new)
{
    unsigned char h[STORE_HASH_LEN];
    size_t len = 0;
    const char *v = req_cookie(rq, sess_bind_cookie_name(rq->app), &len);
    int rc;

    *is_new = false;
    if (v && sess_id_hash(v, len, h))
        return str_copy(bind, SESS_ID_LEN + 1, v);
    if ((rc = sess_new_id(bind, h)) != GH_OK)
        return rc;
    *is_new = true;
    return sess_bind_cookie(rq->app, bind, set_bind);
}

/* Store a new interaction for ar, bound to bind. iid gets its id. */
static int
interaction_new(struct store *st, const struct authz_req *ar, const char *bind,
    char iid[SESS_ID_LEN + 1])
{
    struct interaction ia = { 0 };
    json_t *j = NULL;
    int64_t now = clock_now();
    int rc = GH_EINTERNAL;

    if ((rc = sess_new_id(iid, ia.id_hash)) != GH_OK)
        return rc;
    dig_sha256(bind, strlen(bind), ia.bind_hash);
    if (!(j = authz_req_to_json(ar)) || !(ia.request = json_dumps(j, JSON_COMPACT))) {
        rc = GH_EINTERNAL;
        goto out;
    }
    ia.created_at = now;
    ia.expires_at = now + GH_INTERACTION_TTL_S;
    rc = store_interaction_add(st, &ia);
out:
    free(ia.request);
    json_decref(j);
    return rc;
}

/* The login form; retry_after (seconds, as text) makes it a 429 with Retry-After. */
static int
login_page(struct req *rq, const struct client *c, const struct authz_req *ar, const char *iid,
    const char *bind, const char *error, const char *set_cookie, const char *retry_after)
{
    char csrf[SESS_CSRF_LEN + 1];

    csrf_token(rq->app->secrets, "login", iid, bind, csrf);
    struct tmpl_var v[] = {
        { "title", "Sign in" },
        { "client_name", c->name },
        { "action", "/login" },
        { "interaction", iid },
        { "csrf", csrf },
        { "username", ar->login_hint },
        { "error", error },
        { "request_id", req_rid(rq) },
    };
    /* a failed attempt is not an HTTP error for the browser; 200 keeps the form usable. Too
     * many is (RFC 6585 §4), and the form stays for when the wait is over. */
    return send_page_hdr(rq, retry_after ? 429 : 200, PAGE_LOGIN, v, sizeof(v) / sizeof(v[0]),
        set_cookie, NULL, retry_after ? "Retry-After" : NULL, retry_after);
}

int
flow_login_page(struct req *rq, const struct client *c, const struct authz_req *ar,
    const char *iid, const char *bind, const char *error, const char *set_cookie)
{
    return login_page(rq, c, ar, iid, bind, error, set_cookie, NULL);
}

int
flow_login_page_wait(struct req *rq, const struct client *c, const struct authz_req *ar,
    const char *iid, const char *bind, int64_t retry_after)
{
    char msg[160], secs[24];
    int64_t min;

    if (retry_after < 1)
        retry_after = 1;
    min = (retry_after + 59) / 60;
    if (retry_after < 60)
        snprintf(msg, sizeof(msg), "Too many failed sign-in attempts. Try again in %lld "
            "second%s.", (long long)retry_after, retry_after == 1 ? "" : "s");
    else
        snprintf(msg, sizeof(msg), "Too many failed sign-in attempts. Try again in %lld "
            "minute%s.", (long long)min, min == 1 ? "" : "s");
    snprintf(secs, sizeof(secs), "%lld", (long long)retry_after);
    return login_page(rq, c, ar, iid, bind, msg, NULL, secs);
}

static int
consent_page(struct req *rq, struct store *st, const struct client *c,
    const struct authz_req *ar, const struct session *s, const char *iid, const char *bind,
    const char *set_cookie)
{
    static const char *const known[] = { "openid", "profile", "email", "offline_access" };
    char csrf[SESS_CSRF_LEN + 1];
    struct user *u = NULL;
    struct buf other;
    char **list = NULL;
    int rc;

    if ((rc = store_user_get_by_sub(st, s->sub, &u)) != GH_OK)
        return rc;
    buf_init(&other, GH_MAX_SCOPES * (GH_MAX_SCOPE_LEN + 1));
    if (str_split(ar->scope, GH_MAX_SCOPES, GH_MAX_SCOPE_LEN, &list) == GH_OK) {
        for (char **p = list; *p; p++) {
            bool k = false;
            for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                k = k || strcmp(*p, known[i]) == 0;
            if (!k && ((other.len && buf_add(&other, " ", 1) != GH_OK) ||
                          buf_addstr(&other, *p) != GH_OK))
                break;
        }
    }
    csrf_token(rq->app->secrets, "consent", iid, bind, csrf);
    struct tmpl_var v[] = {
        { "title", "Allow access" },
        { "client_name", c->name },
        { "action", "/consent" },
        { "interaction", iid },
        { "csrf", csrf },
        { "username", u->username },
        { "scope_openid", authz_scope_has(ar->scope, "openid") ? "1" : NULL },
        { "scope_profile", authz_scope_has(ar->scope, "profile") ? "1" : NULL },
        { "scope_email", authz_scope_has(ar->scope, "email") ? "1" : NULL },
        { "scope_offline_access", authz_scope_has(ar->scope, "offline_access") ? "1" : NULL },
        { "scope_other", other.len ? buf_str(&other) : NULL },
        { "request_id", req_rid(rq) },
    };
    rc = send_page(rq, 200, PAGE_CONSENT, v, sizeof(v) / sizeof(v[0]), set_cookie, NULL);
    str_list_free(list);
    buf_free(&other);
    user_free(u);
    return rc;
}

static int
issue_code(struct req *rq, struct store *st, const struct authz_req *ar,
    const struct session *s, const char *iid, const char *set_cookie)
{
    char code[SESS_ID_LEN + 1];
    struct authcode ac = { 0 };
    int64_t now = clock_now();
    int rc;

    if (iid) {
        unsigned char h[STORE_HASH_LEN];
        dig_sha256(iid, strlen(iid), h);
        rc = store_interaction_take(st, h, now, NULL);
        if (rc == GH_ENOTFOUND)
            return flow_error_page(rq, 400, "Sign-in already completed",
                "This sign-in request has already been completed, or it has expired.",
                "Go back to the application and sign in again from there.");
        if (rc != GH_OK)
            return rc;
    }
    if ((rc = sess_new_id(code, ac.hash)) != GH_OK)
        return rc;
    ac.client_id = ar->client_id;
    ac.redirect_uri = ar->redirect_uri;
    ac.scope = ar->scope;
    ac.nonce = ar->nonce;
    ac.code_challenge = ar->code_challenge;
    ac.sub = s->sub;
    ac.sid = s->sid;
    ac.amr = s->amr;
    ac.auth_time = s->auth_time;
    ac.created_at = now;
    ac.expires_at = now + GH_CODE_TTL_S;
    if ((rc = store_code_add(st, &ac)) != GH_OK)
        goto out;
    log_info("code_issued", "rid=%s client=%s sub=%s", req_rid(rq), ar->client_id, s->sub);
    rc = redirect_to_client(rq, ar, "code", code, NULL, NULL, set_cookie);
out:
    mem_wipe(code, sizeof(code));
    return rc;
}

static bool
consent_remembered(struct store *st, const char *sub, const char *client_id, const char *scope)
{
    char *have = NULL;
    bool ok = store_consent_get(st, sub, client_id, &have) == GH_OK &&
              authz_scope_subset(scope, have);

    free(have);
    return ok;
}

int
flow_authorize(struct req *rq, struct store *st, const struct client *c, struct authz_req *ar,
    const struct session *s, unsigned done, const char *iid, const char *set_cookie)
{
    char set_bind[SESS_COOKIE_MAX], bind[SESS_ID_LEN + 1], new_iid[SESS_ID_LEN + 1];
    int64_t now = clock_now();
    bool need_login, need_consent, bind_new = false;
    int rc;

    /* OIDC Core §3.1.2.3: re-authenticate for prompt=login, for an auth_time older than
     * max_age, and when the id_token_hint names someone else than the session's user */
    need_login = !(done & FLOW_AUTHENTICATED) &&
                 (!s || (ar->prompt & PROMPT_LOGIN) ||
                     (ar->max_age >= 0 && now - s->auth_time > ar->max_age) ||
                     (ar->hint_sub && strcmp(ar->hint_sub, s->sub) != 0));
    if (!need_login && s && !(done & FLOW_AUTHENTICATED)) {
        struct user *u = NULL;
        need_login = store_user_get_by_sub(st, s->sub, &u) != GH_OK || u->disabled;
        user_free(u);
    }
    if (need_login) {
        if (ar->prompt & PROMPT_NONE)
            return flow_redirect_error(rq, ar, "login_required", "the user must sign in",
                set_cookie);
        if ((rc = bind_get_or_new(rq, bind, set_bind, &bind_new)) != GH_OK)
            return rc;
        if (!iid) {
            if ((rc = interaction_new(st, ar, bind, new_iid)) != GH_OK)
                return rc;
            iid = new_iid;
        }
        return flow_login_page(rq, c, ar, iid, bind, NULL, bind_new ? set_bind : NULL);
    }
    need_consent = !(done & FLOW_CONSENTED) &&
                   ((ar->prompt & PROMPT_CONSENT) ||
                       (c->consent && !consent_remembered(st, s->sub, c->client_id, ar->scope)));
    if (need_consent) {
        if (ar->prompt & PROMPT_NONE)
            return flow_redirect_error(rq, ar, "consent_required",
                "the user must approve this application", set_cookie);
        if ((rc = bind_get_or_new(rq, bind, set_bind, &bind_new)) != GH_OK)
            return rc;
        if (!iid || bind_new) {
            if ((rc = interaction_new(st, ar, bind, new_iid)) != GH_OK)
                return rc;
            iid = new_iid;
        }
        /* at most one of set_cookie (a new session) and set_bind applies here: a new session
         * comes from the login form, which already had the binding cookie */
        return consent_page(rq, st, c, ar, s, iid, bind,
            set_cookie ? set_cookie : (bind_new ? set_bind : NULL));
    }
    return issue_code(rq, st, ar, s, iid, set_cookie);
}

int
flow_form_interaction(struct req *rq, struct store *st, const char *purpose, const char *iid,
    const char *csrf, size_t csrf_len, struct authz_req *ar, struct client **c,
    const char **bind, int64_t *created_at, bool *answered)
{
    unsigned char h[STORE_HASH_LEN], bh[STORE_HASH_LEN];
    struct interaction *ia = NULL;
    json_t *j = NULL;
    size_t blen = 0;
    const char *b = req_cookie(rq, sess_bind_cookie_name(rq->app), &blen);
    int rc;

    *c = NULL;
    *bind = NULL;
    *answered = true;
    memset(ar, 0, sizeof(*ar));
    /* Fetch Metadata (SECURITY.md S9): a browser says when another site submits the form;
     * the CSRF token below stops it anyway, this stops it before any lookup */
    const char *sfs = req_header(rq, "Sec-Fetch-Site", NULL);
    if (sfs && strcmp(sfs, "cross-site") == 0) {
        log_warn("form_refused", "rid=%s form=%s reason=cross_site", req_rid(rq), purpose);
        return flow_error_page(rq, 403, "Form not accepted",
            "This form was sent from another website.",
            "Go back to the application and start again.");
    }
    if (!b || !sess_id_hash(b, blen, bh)) {
        log_warn("form_refused", "rid=%s form=%s reason=no_binding_cookie", req_rid(rq), purpose);
        return flow_error_page(rq, 403, "Cookies needed",
            "Your browser did not send the cookie this form needs.",
            "Allow cookies for this site, then go back to the application and start again.");
    }
    if (!iid || !csrf || !csrf_ok(rq->app->secrets, purpose, iid, b, csrf, csrf_len)) {
        log_warn("form_refused", "rid=%s form=%s reason=csrf", req_rid(rq), purpose);
        return flow_error_page(rq, 403, "Form not accepted",
            "This form was not sent from the sign-in page it belongs to.",
            "Go back to the application and start again.");
    }
    dig_sha256(iid, strlen(iid), h);
    rc = store_interaction_get(st, h, clock_now(), &ia);
    if (rc == GH_ENOTFOUND)
        return flow_error_page(rq, 400, "Sign-in expired",
            "This sign-in page was left open too long, or it was already used to sign in. "
            "For your safety a sign-in page works only once and only for a few minutes.",
            "Go back to the application and sign in again from there. Nothing has changed in "
            "your account.");
    if (rc != GH_OK) {
        *answered = false;
        return rc;
    }
    /* the CSRF token already binds the cookie; checking the stored binding as well means a
     * leaked form key alone is not enough */
    if (!str_ct_eq(ia->bind_hash, bh, STORE_HASH_LEN)) {
        interaction_free(ia);
        return flow_error_page(rq, 403, "Form not accepted",
            "This form belongs to another browser.",
            "Go back to the application and start again.");
    }
    if (!(j = json_loads(ia->request, JSON_REJECT_DUPLICATES, NULL)) ||
        authz_req_from_json(j, ar) != GH_OK) {
        log_err("interaction_error", "rid=%s: stored request does not parse", req_rid(rq));
        json_decref(j);
        interaction_free(ia);
        *answered = false;
        return GH_EINTERNAL;
    }
    json_decref(j);
    *created_at = ia->created_at;
    interaction_free(ia);
    rc = store_client_get(st, ar->client_id, c);
    if (rc == GH_OK && !client_redirect_ok(*c, ar->redirect_uri)) {
        client_free(*c);
        *c = NULL;
        rc = GH_ENOTFOUND;
    }
    if (rc == GH_ENOTFOUND) {
        authz_req_free(ar);
        return flow_error_page(rq, 400, "Application not available",
            "The application you were signing in to is no longer registered with this sign-in "
            "service.",
            "Contact the application's owner.");
    }
    if (rc != GH_OK) {
        authz_req_free(ar);
        *answered = false;
        return rc;
    }
    *bind = b;
    *answered = false;
    return GH_OK;
}
