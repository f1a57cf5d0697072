/* login.c — POST /login: the login form. The form must carry the interaction id and the CSRF
 * token bound to this browser's binding cookie (ep/flow.c flow_form_interaction); without
 * them nothing happens (403). Wrong username, wrong password and a disabled or password-less
 * account get the same message and the same work: an unknown user is verified against a
 * dummy hash of the configured cost (OWASP Authentication Cheat Sheet, "authentication
 * responses"). A successful login always mints a new session id (no session fixation) and
 * rehashes the password when the Argon2 parameters changed. Password guessing is limited per
 * account name and per client address before any hashing (model/throttle.h); over a limit
 * the form comes back as 429 with Retry-After. */
#include <string.h>

#include "app.h"
#include "core/audit.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "crypto/pw.h"
#include "ep/ep.h"
#include "ep/flow.h"
#include "http/req.h"
#include "model/client.h"
#include "model/user.h"
#include "session/session.h"
#include "model/throttle.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

static const char generic_error[] = "Wrong username or password.";

/* GH_OK with *out when the credentials are good; GH_EDENIED otherwise (after the same work),
 * with *reason for the audit log only (the user is told nothing more than "wrong"). */
static int
check_credentials(struct app *app, struct store *st, const char *username, const char *pw,
    size_t pwlen, struct user **out, const char **reason)
{
    char name[GH_MAX_USERNAME + 1];
    struct pw_params pp;
    struct user *u = NULL;
    const char *why = NULL;
    bool looked_up = false;
    int rc;

    *out = NULL;
    *reason = "bad_username";
    app_pw_params(app, &pp);
    if (username && str_copy(name, sizeof(name), username) == GH_OK &&
        user_username_normalize(name, &why) == GH_OK) {
        rc = store_user_get(st, name, &u);
        if (rc != GH_OK && rc != GH_ENOTFOUND)
            return rc;
        looked_up = true;
    }
    if (u && !u->disabled && u->password_hash)
        rc = pw_verify(u->password_hash, pw ? pw : "", pw ? pwlen : 0);
    else
        rc = pw_verify_dummy(&pp, pw ? pw : "", pw ? pwlen : 0);
    if (rc != GH_OK || !u || u->disabled) {
        if (looked_up)
            *reason = !u ? "unknown_user" : u->disabled ? "disabled" :
                !u->password_hash ? "no_password" : "wrong_password";
        user_free(u);
        return GH_EDENIED;
    }
    if (pw_needs_rehash(u->password_hash, &pp)) {
        char *h = NULL;
        if (pw_hash(&pp, pw, pwlen, &h) == GH_OK &&
            store_user_set_password(st, u->username, h, clock_now()) == GH_OK)
            log_info("password_rehashed", "sub=%s", u->sub);
        if (h)
            str_wipe_free(h);
    }
    *out = u;
    return GH_OK;
}

/* The password check runs on a worker thread (req_defer), never on an HTTP thread. */
struct login_job {
    char *username;
    char *name;         /* the normalised name the attempt was counted for, or NULL */
    char *pw;
    size_t pwlen;
    int rc;
    const char *reason;   /* a static string: why the check failed (audit log only) */
    struct user *user;
};

static void
login_job_free(void *arg)
{
    struct login_job *j = arg;

    if (!j)
        return;
    free(j->username);
    free(j->name);
    mem_wipe_free(j->pw, j->pwlen + 1);
    user_free(j->user);
    free(j);
}

/* The audit event of a sign-in attempt: username is what was typed (escaped by jansson, cut
 * by audit.c), reason why it failed, retry_after the wait of a throttled attempt. */
static void
audit_login(struct req *rq, const char *type, const char *sub, const struct client *c,
    const char *username, const char *reason, int64_t retry_after)
{
    struct audit_src src = req_audit_src(rq);
    json_t *f = json_object();

    if (username)
        json_object_set_new(f, "username", audit_value(username));
    if (reason)
        json_object_set_new(f, "reason", json_string(reason));
    if (retry_after > 0)
        json_object_set_new(f, "retry_after", json_integer((json_int_t)retry_after));
    json_object_set_new(f, "method", json_string("pwd"));
    audit_event_json(&src, type, sub, c->client_id, f);
}

/* The form comes back with what was typed as the username, never the password. */
static void
keep_username(struct authz_req *ar, const char *username)
{
    if (username && strlen(username) <= GH_MAX_EMAIL) {
        free(ar->login_hint);
        ar->login_hint = x_strdup(username);
    }
}

static void
login_work(struct app *app, void *arg)
{
    struct login_job *j = arg;
    struct store *st = app_store(app);

    j->rc = st ? check_credentials(app, st, j->username, j->pw, j->pwlen, &j->user, &j->reason)
               : GH_ESTORE;
}

int
ep_login(struct req *rq)
{
    struct req_params ps;
    struct authz_req ar = { 0 };
    struct client *c = NULL;
    struct user *u = NULL;
    struct session *s = NULL;
    struct store *st = app_store(rq->app);
    const char *why = NULL, *bind = NULL, *old;
    char set_cookie[SESS_COOKIE_MAX];
    char esc[LOG_ESC_SIZE];
    size_t csrf_len = 0, pwlen = 0, oldlen = 0;
    int64_t created_at = 0;
    bool answered = false;
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
    const char *username = req_param(&ps, "username", NULL);
    const char *pw = req_param(&ps, "password", &pwlen);
    rc = flow_form_interaction(rq, st, "login", iid, csrf, csrf_len, &ar, &c, &bind,
        &created_at, &answered);
    if (answered || rc != GH_OK)
        goto out;

    struct login_job *job = req_deferred(rq);
    if (!job) {
        char name[GH_MAX_USERNAME + 1];
        struct throttle_policy tp;
        int64_t wait = 0;
        bool named = username && str_copy(name, sizeof(name), username) == GH_OK &&
            user_username_normalize(name, &why) == GH_OK;
        app_throttle_policy(rq->app, &tp);
        rc = throttle_login_begin(&tp, st, named ? name : NULL, req_client_ip(rq), clock_now(),
            &wait);
        if (rc == GH_ELIMIT) {
            log_warn("login_throttled", "rid=%s client=%s username=%s ip=%s retry_after=%lld",
                req_rid(rq), c->client_id, log_esc(username ? username : "", esc),
                req_client_ip(rq), (long long)wait);
            audit_login(rq, "login_throttled", NULL, c, username, NULL, wait);
            met_inc(MET_LOGIN_THROTTLED);
            keep_username(&ar, username);
            rc = flow_login_page_wait(rq, c, &ar, iid, bind, wait);
            goto out;
        }
        if (rc != GH_OK)
            goto out;
        job = x_calloc(1, sizeof(*job));
        job->name = named ? x_strdup(name) : NULL;
        job->username = username ? x_strdup(username) : NULL;
        job->pw = x_malloc(pwlen + 1);
        memcpy(job->pw, pw ? pw : "", pwlen);
        job->pw[pwlen] = '\0';
        job->pwlen = pwlen;
        rc = req_defer(rq, login_work, job, login_job_free);
        if (rc != GH_OK) {
            /* the attempt stays counted: a flood that fills the queue must not reset counts */
            login_job_free(job);
            if (rc == GH_ETOOBIG)
                rc = flow_busy_page(rq);
        }
        goto out;   /* GH_OK: this handler runs again once the password was checked */
    }
    rc = job->rc;
    u = job->user;
    job->user = NULL;
    throttle_login_done(st, job->name, req_client_ip(rq), rc == GH_OK);
    if (rc == GH_EDENIED) {
        log_info("login_fail", "rid=%s client=%s username=%s", req_rid(rq), c->client_id,
            log_esc(username ? username : "", esc));
        audit_login(rq, "login_failure", NULL, c, username, job->reason, 0);
        met_inc(MET_LOGIN_FAILURE);
        keep_username(&ar, username);
        rc = flow_login_page(rq, c, &ar, iid, bind, generic_error, NULL);
        goto out;
    }
    if (rc != GH_OK)
        goto out;
    /* a new id at every login; the session the browser had before (maybe another user's)
     * ends here */
    old = req_cookie(rq, sess_cookie_name(rq->app), &oldlen);
    if (old) {
        unsigned char h[STORE_HASH_LEN];
        if (sess_id_hash(old, oldlen, h))
            store_session_delete(st, h);
    }
    if ((rc = sess_start(rq->app, st, u->sub, "pwd", clock_now(), &s, set_cookie)) != GH_OK)
        goto out;
    log_info("login_ok", "rid=%s client=%s sub=%s", req_rid(rq), c->client_id, u->sub);
    audit_login(rq, "login_success", u->sub, c, u->username, NULL, 0);
    met_inc(MET_LOGIN_SUCCESS);
    rc = flow_authorize(rq, st, c, &ar, s, FLOW_AUTHENTICATED, iid, set_cookie);
out:
    if (rc == GH_ESTORE && !rq->status)
        rc = flow_store_unavailable(rq);   /* the store failed under a step: 503, not 500 */
    session_free(s);
    user_free(u);
    client_free(c);
    authz_req_free(&ar);
    req_params_free(&ps);
    return rc;
}
