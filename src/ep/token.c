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

int
ep_token(struct req *rq)
{
    struct client_req cq = { 0 };
    struct oauth_err oe = { 0 };
    struct store *st = app_store(rq->app);
    const char *gt;
    json_t *resp = NULL;
    int rc;

    if (req_deferred(rq))   /* the JWT-bearer grant ran on a worker (ep/token_jwt.c) */
        return ep_token_jwt_resume(rq);
    if (!st) {
        rc = resp_error(rq, 503, "temporarily_unavailable", "the store is unavailable");
        goto out;
    }
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
        rc = ep_token_jwt_bearer(rq, st, &cq);
        goto out;
    }
    if (strcmp(gt, "authorization_code") == 0)
        rc = grant_code(rq->app, st, cq.c, &cq.ps, &resp, &oe);
    else if (strcmp(gt, "refresh_token") == 0)
        rc = grant_refresh(rq->app, st, cq.c, &cq.ps, &resp, &oe);
    else
        rc = grant_client_credentials(rq->app, st, cq.c, &cq.ps, &resp, &oe);
    if (rc == GH_OK)
        rc = resp_json(rq, 200, resp);
    else if (rc == GH_ESTORE)
        rc = resp_error(rq, 503, "temporarily_unavailable", "the store is unavailable");
    else
        rc = client_req_error(rq, &oe, cq.basic);
out:
    json_decref(resp);
    client_req_free(&cq);
    return rc;
}
