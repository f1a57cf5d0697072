/* token.c — POST /token (RFC 6749 §3.2, §4.1.3, §6). The body is a form; the client
 * authenticates (oidc/client_auth.c) before any grant is looked at; errors are RFC 6749 §5.2
 * JSON, never HTML, and every answer carries Cache-Control: no-store (resp_json). */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/err.h"
#include "ep/ep.h"
#include "http/req.h"
#include "http/resp.h"
#include "model/client.h"
#include "oidc/client_auth.h"
#include "oidc/grant.h"
#include "store/store.h"
#include "util/str.h"
#include "util/xmem.h"

static int
answer_error(struct req *rq, const struct oauth_err *oe, bool basic)
{
    if (!oe->status)
        return resp_error(rq, 500, "server_error", "the request could not be processed");
    if (oe->status == 401 && basic)   /* RFC 6749 §5.2 */
        return resp_error_hdr(rq, 401, oe->code, oe->desc, "WWW-Authenticate",
            "Basic realm=\"gatehouse\", charset=\"UTF-8\"");
    return resp_error(rq, oe->status, oe->code, oe->desc);
}

int
ep_token(struct req *rq)
{
    struct req_params ps;
    struct client_creds cr = { 0 };
    struct oauth_err oe = { 0 };
    struct client *c = NULL;
    struct store *st = app_store(rq->app);
    char *buser = NULL, *bpass = NULL;
    const char *why = NULL, *gt;
    json_t *resp = NULL;
    bool basic = false;
    int rc;

    req_params_init(&ps);
    if (!st) {
        rc = resp_error(rq, 503, "temporarily_unavailable", "the store is unavailable");
        goto out;
    }
    if (req_form(rq, &ps, &why) != GH_OK) {
        rc = resp_error(rq, 400, "invalid_request", why ? why : "the body must be a form");
        goto out;
    }
    rc = req_basic(rq, &buser, &bpass);
    if (rc == GH_OK) {
        cr.basic_id = buser;
        cr.basic_secret = bpass;
        cr.basic_secret_len = strlen(bpass);
    } else if (rc != GH_ENOTFOUND) {
        cr.basic_malformed = true;
    }
    cr.form_id = req_param(&ps, "client_id", NULL);
    cr.form_secret = req_param(&ps, "client_secret", &cr.form_secret_len);
    cr.assertion = req_param(&ps, "client_assertion", NULL);
    cr.assertion_type = req_param(&ps, "client_assertion_type", NULL);
    if ((rc = client_auth(st, rq->app->secrets, &cr, &c, &basic, &oe)) != GH_OK) {
        rc = rc == GH_ESTORE ? resp_error(rq, 503, "temporarily_unavailable", NULL)
                             : answer_error(rq, &oe, basic);
        goto out;
    }
    if (!(gt = req_param(&ps, "grant_type", NULL))) {
        rc = resp_error(rq, 400, "invalid_request", "grant_type is required");
        goto out;
    }
    if (strcmp(gt, "authorization_code") != 0 && strcmp(gt, "refresh_token") != 0) {
        rc = resp_error(rq, 400, "unsupported_grant_type", "this grant type is not supported");
        goto out;
    }
    if (!str_list_has(c->grant_types, gt)) {
        rc = resp_error(rq, 400, "unauthorized_client", "this client may not use this grant");
        goto out;
    }
    rc = strcmp(gt, "authorization_code") == 0 ? grant_code(rq->app, st, c, &ps, &resp, &oe)
                                               : grant_refresh(rq->app, st, c, &ps, &resp, &oe);
    if (rc == GH_OK)
        rc = resp_json(rq, 200, resp);
    else if (rc == GH_ESTORE)
        rc = resp_error(rq, 503, "temporarily_unavailable", "the store is unavailable");
    else
        rc = answer_error(rq, &oe, basic);
out:
    json_decref(resp);
    client_free(c);
    free(buser);
    if (bpass)
        str_wipe_free(bpass);
    req_params_free(&ps);
    return rc;
}
