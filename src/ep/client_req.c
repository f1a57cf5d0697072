/* client_req.c — form body and client authentication for the endpoints a client calls
 * directly (token, introspection, revocation; see client_req.h). The credentials are read
 * from Authorization: Basic and from the body, and oidc/client_auth.c decides; this file only
 * turns its verdict into the RFC 6749 §5.2 answer, so the three endpoints cannot drift apart.
 * It does not look at any endpoint-specific parameter.
 *
 * A private_key_jwt client registered with a jwks_uri may need its keys fetched first. No HTTP
 * thread waits for that: the request is suspended (req_defer) with a job that only fetches into
 * the cache (issuer_keys_get with may_fetch), and the handler runs again from the start; this
 * time the keys are cached and authentication goes on as for any assertion. Nothing is spent
 * before the fetch (the jti only after a verification). The second run asks for no further
 * fetch: one still due then fails like any bad assertion.
 *
 * Two limits sit here, so all three endpoints share them (issue 5; SECURITY.md L6, L9): failed
 * client authentications per client address (client_auth_ip_failures per minute; req_client_ip,
 * so trusted_proxies apply), checked before the body is even parsed, so a flood of bad secrets
 * from one address is refused without any hashing or signature check; and requests per
 * authenticated client (client_rate, client_burst; GCRA), counted after authentication, so
 * nobody can spend another client's budget by naming it. Both answer 429 with Retry-After in
 * the RFC 6749 §5.2 JSON shape (error temporarily_unavailable). Both tables are fixed-size
 * (model/ratelimit.h). A success does not reset an address's failures: a client that
 * authenticates cannot clear the count of a flood sent from the same address. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/audit.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "ep/client_req.h"
#include "http/resp.h"
#include "model/client.h"
#include "model/ratelimit.h"
#include "oidc/client_auth.h"
#include "oidc/issuer_keys.h"
#include "util/clock.h"
#include "util/xmem.h"

/* The fetch job: client_auth() said what to fetch; the answer is in the cache afterwards. */
static void
prefetch_free(void *arg)
{
    client_key_fetch_clear(arg);
    free(arg);
}

static void
prefetch_work(struct app *app, void *arg)
{
    struct client_key_fetch *f = arg;
    bool need_fetch = false;
    char *jwks = NULL;

    /* a failure is logged by the cache; the handler's second run refuses the assertion */
    (void)issuer_keys_get(app->issuer_keys, f->name, f->uri, f->kid, true, &jwks, &need_fetch);
    free(jwks);
}

bool
client_req_prefetched(const struct req *rq)
{
    return req_deferred_by(rq, prefetch_work) != NULL;
}

int
client_req_error(struct req *rq, const struct oauth_err *oe, bool basic)
{
    if (!oe->status)
        return resp_error(rq, 500, "server_error", "the request could not be processed");
    if (oe->status == 401 && basic)   /* RFC 6749 §5.2 */
        return resp_error_hdr(rq, 401, oe->code, oe->desc, "WWW-Authenticate",
            "Basic realm=\"gatehouse\", charset=\"UTF-8\"");
    return resp_error(rq, oe->status, oe->code, oe->desc);
}

/* RFC 6585 §4: 429 with Retry-After (RFC 9110 §10.2.3, whole seconds). OAuth registers no
 * error code for it at the token endpoint; temporarily_unavailable (RFC 6749 §4.1.2.1) is the
 * registered code a client library already knows as "try again later". */
static int
too_many(struct req *rq, int64_t wait, const char *desc)
{
    char ra[24];

    snprintf(ra, sizeof(ra), "%" PRId64, wait >= 1 ? wait : (int64_t)1);
    return resp_error_hdr(rq, 429, "temporarily_unavailable", desc, "Retry-After", ra);
}

/* A failed client authentication from the address keyed by ipkey (have_ip false: unknown). */
static void
count_failure(struct req *rq, const unsigned char *ipkey, bool have_ip, int64_t now)
{
    const struct cfg *cfg = rq->app->cfg;

    if (!have_ip)
        return;
    /* one warning per address and window: the refusals after it would only flood the log */
    if (rl_window_add(rq->app->client_auth_fails, ipkey, GH_CLIENT_AUTH_IP_WINDOW_S, now) ==
        cfg->client_auth_ip_failures) {
        struct audit_src au = req_audit_src(rq);

        log_warn("client_auth_limited", "rid=%s ip=%s path=%s failures=%u window=%ds",
            req_rid(rq), req_client_ip(rq), rq->path, cfg->client_auth_ip_failures,
            GH_CLIENT_AUTH_IP_WINDOW_S);
        audit_event(&au, "rate_limited", NULL, NULL, "limit", "client_auth_ip_failures",
            "detail", rq->path, NULL);
    }
}

/* The audit event of a client over client_rate: the first refusal in a second, so a runaway
 * client leaves one line a second, not one per request. */
static void
audit_client_rate(struct req *rq, const struct client *c)
{
    static _Atomic int64_t last;
    int64_t now = clock_now(), prev = atomic_load(&last);
    struct audit_src au = req_audit_src(rq);

    if (prev == now || !atomic_compare_exchange_strong(&last, &prev, now))
        return;
    audit_event(&au, "rate_limited", NULL, c->client_id, "limit", "client_rate", "detail",
        rq->path, NULL);
}

/* client_rate for an authenticated client: GH_OK, or GH_ELIMIT with *wait seconds. */
static int
client_rate_take(struct req *rq, const struct client *c, int64_t *wait)
{
    const struct cfg *cfg = rq->app->cfg;
    unsigned char key[RL_KEY_LEN];

    *wait = 0;
    if (!cfg->client_rate)
        return GH_OK;
    rl_key_name(rq->app->client_rates, c->client_id, strlen(c->client_id), key);
    return rl_gcra(rq->app->client_rates, key, cfg->client_rate,
        cfg->client_burst ? cfg->client_burst : cfg->client_rate, clock_mono_us(), wait);
}

bool
client_req_auth(struct req *rq, struct store *st, unsigned flags, struct client_req *cq,
    int *rc)
{
    const struct cfg *cfg = rq->app->cfg;
    unsigned char ipkey[RL_KEY_LEN];
    int64_t now = clock_now(), wait = 0;
    bool have_ip;
    struct client_creds cr = { 0 };
    struct oauth_err oe = { 0 };
    struct client_key_fetch *f = NULL;
    struct audit_src au = req_audit_src(rq);
    const char *why = NULL;
    bool again;
    int r;

    memset(cq, 0, sizeof(*cq));
    /* L6: an address over its failures is refused before anything is parsed or checked */
    have_ip = cfg->client_auth_ip_failures && rl_key_addr(req_client_ip(rq), ipkey);
    if (have_ip && rl_window_check(rq->app->client_auth_fails, ipkey,
                       cfg->client_auth_ip_failures, now, &wait) != GH_OK) {
        log_debug("client_auth_limited", "rid=%s ip=%s retry_after=%" PRId64, req_rid(rq),
            req_client_ip(rq), wait);
        met_inc(MET_RATE_CLIENT_AUTH_IP);
        *rc = too_many(rq, wait, "too many failed client authentications from this address; "
                                 "retry after the time in Retry-After");
        return false;
    }
    /* the second run after a key fetch: the keys are cached now; the deferral is spent, so the
     * JWT-bearer grant may still defer its own work */
    again = client_req_prefetched(rq);
    if (again)
        req_defer_clear(rq);
    req_params_init(&cq->ps);
    if (req_form(rq, &cq->ps, &why) != GH_OK) {
        *rc = resp_error(rq, 400, "invalid_request", why ? why : "the body must be a form");
        return false;
    }
    r = req_basic(rq, &cq->buser, &cq->bpass);
    if (r == GH_OK) {
        cr.basic_id = cq->buser;
        cr.basic_secret = cq->bpass;
        cr.basic_secret_len = strlen(cq->bpass);
    } else if (r != GH_ENOTFOUND) {
        cr.basic_malformed = true;
    }
    cr.form_id = req_param(&cq->ps, "client_id", NULL);
    cr.form_secret = req_param(&cq->ps, "client_secret", &cr.form_secret_len);
    cr.assertion = req_param(&cq->ps, "client_assertion", NULL);
    cr.assertion_type = req_param(&cq->ps, "client_assertion_type", NULL);
    /* an assertion names our issuer or issuer + "/token" as aud, at every endpoint */
    cr.issuer = rq->app->issuer;
    cr.skew = cfg->clock_skew;
    cr.keys = rq->app->issuer_keys;
    if (!again)
        f = x_calloc(1, sizeof(*f));
    cr.fetch = f;
    cr.audit = &au;
    r = client_auth(st, rq->app->secrets, &cr, &cq->c, &cq->basic, &oe);
    if (r == GH_OK && f && f->due) {
        r = req_defer(rq, prefetch_work, f, prefetch_free);
        if (r == GH_OK) {
            *rc = GH_OK;   /* the handler runs again when the keys are fetched */
            return false;
        }
        prefetch_free(f);
        if (r == GH_ETOOBIG)
            *rc = resp_error(rq, 503, "temporarily_unavailable", "the server is busy");
        else
            *rc = r;
        return false;
    }
    prefetch_free(f);
    if (r == GH_ESTORE) {
        *rc = resp_store_unavailable(rq);
        return false;
    }
    if (r != GH_OK) {
        if (oe.status == 401)
            count_failure(rq, ipkey, have_ip, now);
        *rc = client_req_error(rq, &oe, cq->basic);
        return false;
    }
    /* RFC 7662 §2.1: the caller of introspection must authenticate; a public client only
     * names itself, which anyone can do */
    if ((flags & CLIENT_REQ_CONFIDENTIAL) &&
        (cq->c->is_public || cq->c->auth_method == CLIENT_AUTH_NONE)) {
        log_warn("client_auth_fail", "client=%s reason=public_client path=%s",
            cq->c->client_id, rq->path);
        audit_event(&au, "client_auth_failure", NULL, cq->c->client_id, "reason",
            "public_client", "detail", rq->path, NULL);
        oauth_err_set(&oe, 401, "invalid_client", "client authentication failed");
        count_failure(rq, ipkey, have_ip, now);
        *rc = client_req_error(rq, &oe, cq->basic);
        return false;
    }
    if (client_rate_take(rq, cq->c, &wait) != GH_OK) {
        log_debug("client_rate_limited", "rid=%s client=%s path=%s retry_after=%" PRId64,
            req_rid(rq), cq->c->client_id, rq->path, wait);
        audit_client_rate(rq, cq->c);
        met_inc(MET_RATE_CLIENT_RATE);
        *rc = too_many(rq, wait, "too many requests from this client; retry after the time "
                                 "in Retry-After");
        return false;
    }
    return true;
}

void
client_req_free(struct client_req *cq)
{
    client_free(cq->c);
    cq->c = NULL;
    free(cq->buser);
    cq->buser = NULL;
    if (cq->bpass)
        str_wipe_free(cq->bpass);
    cq->bpass = NULL;
    req_params_free(&cq->ps);
}
