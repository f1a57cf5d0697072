/* token.c — POST /token (RFC 6749 §3.2, §4.1.3, §4.4, §6). The body is a form; the client
 * authenticates (ep/client_req.c, oidc/client_auth.c) before any grant is looked at; errors
 * are RFC 6749 §5.2 JSON, never HTML, and every answer carries Cache-Control: no-store
 * (resp_json). Grants: authorization_code, refresh_token, client_credentials and JWT-bearer
 * (RFC 7523 §2.1, ep/token_jwt.c), each only for a client registered with it. */
#include <string.h>

#include "app.h"
#include "core/err.h"
#include "ep/client_req.h"
#include "ep/ep.h"
#include "ep/token_jwt.h"
#include "http/req.h"
#include "http/resp.h"
#include "model/client.h"
#include "oidc/grant.h"
#include "oidc/grant_jwt.h"
#include "store/store.h"
#include "util/str.h"

static void
json_free(void *p)
{
    json_decref(p);
}

/* End the read snapshot and the deferred syncs: commits wait in place again, and what was
 * committed so far is on disk when this returns. */
static void
settle(struct store *st)
{
    uint64_t ticket;

    store_read_end(st);
    ticket = store_sync_take(st);
    store_sync_defer(st, false);
    (void)store_sync_wait(st, ticket);
}

/* The answer, once every durable write of the request is on disk: parked, so that no HTTP
 * thread waits for the disk and one sync serves every request parked meanwhile; else (the
 * park queue is full) waited for here. */
static int
answer(struct req *rq, struct store *st, uint64_t ticket, json_t **resp)
{
    if (ticket && req_park(rq, ticket, *resp, json_free) == GH_OK) {
        *resp = NULL;
        return GH_OK;
    }
    if (ticket && store_sync_wait(st, ticket) != GH_OK)
        return resp_store_unavailable(rq);
    return resp_json(rq, 200, *resp);
}

int
ep_token(struct req *rq)
{
    struct client_req cq = { 0 };
    struct oauth_err oe = { 0 };
    struct store *st = app_store(rq->app);
    const char *gt;
    json_t *resp = NULL;
    uint64_t ticket;
    int rc;

    if ((resp = req_parked(rq, &rc))) {   /* its writes are on disk now (or never will be) */
        if (rc == GH_OK)
            return resp_json(rq, 200, resp);
        return resp_store_unavailable(rq);
    }
    /* the JWT-bearer grant ran on a worker (ep/token_jwt.c); not client authentication's key
     * fetch, after which the request starts over (ep/client_req.c) */
    if (req_deferred(rq) && !client_req_prefetched(rq))
        return ep_token_jwt_resume(rq);
    if (!st) {
        rc = resp_store_unavailable(rq);
        goto out;
    }
    /* the client lookup and the grant's reads share one read transaction; a grant that
     * writes (a code, a refresh token, an assertion's jti) ends it there. Its durable writes
     * do not wait for the disk in place: the answer does (answer()). */
    store_sync_defer(st, true);
    (void)store_read_begin(st);
    if (!client_req_auth(rq, st, 0, &cq, &rc))
        goto out;
    if (!(gt = req_param(&cq.ps, "grant_type", NULL))) {
        rc = resp_error(rq, 400, "invalid_request", "grant_type is required");
        goto out;
    }
    if (strcmp(gt, "authorization_code") != 0 && strcmp(gt, "refresh_token") != 0 &&
        strcmp(gt, "client_credentials") != 0 && strcmp(gt, GRANT_TYPE_JWT_BEARER) != 0) {
        rc = resp_error(rq, 400, "unsupported_grant_type", "this grant type is not supported");
        goto out;
    }
    if (!str_list_has(cq.c->grant_types, gt)) {
        rc = resp_error(rq, 400, "unauthorized_client", "this client may not use this grant");
        goto out;
    }
    if (strcmp(gt, GRANT_TYPE_JWT_BEARER) == 0) {
        /* it may continue on a worker thread, and answers itself: back to waiting in place */
        settle(st);
        rc = ep_token_jwt_bearer(rq, st, &cq);
        goto out;
    }
    struct audit_src au = req_audit_src(rq);
    if (strcmp(gt, "authorization_code") == 0)
        rc = grant_code(rq->app, st, cq.c, &cq.ps, &au, &resp, &oe);
    else if (strcmp(gt, "refresh_token") == 0)
        rc = grant_refresh(rq->app, st, cq.c, &cq.ps, &au, &resp, &oe);
    else
        rc = grant_client_credentials(rq->app, st, cq.c, &cq.ps, &au, &resp, &oe);
    store_read_end(st);
    ticket = store_sync_take(st);
    store_sync_defer(st, false);
    if (rc == GH_OK) {
        rc = answer(rq, st, ticket, &resp);
        goto out;
    }
    (void)store_sync_wait(st, ticket);   /* a refusal may have revoked (code or token reuse) */
    if (rc == GH_ESTORE)
        rc = resp_store_unavailable(rq);
    else
        rc = client_req_error(rq, &oe, cq.basic);
out:
    if (st)
        settle(st);   /* the handle serves this thread's next request */
    json_decref(resp);
    client_req_free(&cq);
    return rc;
}
