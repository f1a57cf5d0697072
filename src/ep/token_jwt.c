/* token_jwt.c — the JWT-bearer grant at POST /token (see token_jwt.h). oidc/grant_jwt.c does
 * the work; this file runs it on the HTTP thread and, when it says a trusted issuer's keys
 * must be fetched first, once more on a worker thread (req_defer: the connection is
 * suspended meanwhile and the handler runs again to answer). The worker run is the whole
 * grant again, with the already authenticated client handed over: client authentication is
 * not repeated (its assertion's jti is spent). Nothing is spent by the first run when it asks
 * for a fetch. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/err.h"
#include "ep/client_req.h"
#include "ep/token_jwt.h"
#include "http/req.h"
#include "http/resp.h"
#include "model/client.h"
#include "oidc/grant_jwt.h"
#include "store/store.h"
#include "util/xmem.h"

struct jwt_job {
    struct client *c;
    char *assertion, *resource, *scope;
    bool basic;
    struct audit_src au;   /* borrowed from the request, which outlives the job */
    int rc;
    json_t *resp;
    struct oauth_err oe;
};

static char *
dup_or_null(const char *s)
{
    return s ? x_strdup(s) : NULL;
}

static void
job_free(void *arg)
{
    struct jwt_job *j = arg;

    if (!j)
        return;
    client_free(j->c);
    free(j->assertion);
    free(j->resource);
    free(j->scope);
    json_decref(j->resp);
    free(j);
}

static void
job_work(struct app *app, void *arg)
{
    struct jwt_job *j = arg;
    struct store *st = app_store(app);
    struct jwt_grant_req gr = { .assertion = j->assertion, .resource = j->resource,
                                .scope = j->scope, .au = &j->au };
    bool need_fetch = false;

    j->rc = st ? grant_jwt_bearer(app, st, j->c, &gr, true, &j->resp, &need_fetch, &j->oe)
               : GH_ESTORE;
    if (j->rc == GH_OK && !j->resp) {
        /* may_fetch is true, so this cannot happen; answer 500 rather than nothing */
        j->rc = GH_EINTERNAL;
        oauth_err_set(&j->oe, 500, "server_error", "the token could not be issued");
    }
}

static int
answer(struct req *rq, int rc, json_t *resp, const struct oauth_err *oe, bool basic)
{
    if (rc == GH_OK)
        return resp_json(rq, 200, resp);
    if (rc == GH_ESTORE)
        return resp_store_unavailable(rq);
    return client_req_error(rq, oe, basic);
}

int
ep_token_jwt_bearer(struct req *rq, struct store *st, struct client_req *cq)
{
    struct audit_src au = req_audit_src(rq);
    struct jwt_grant_req gr = {
        .assertion = req_param(&cq->ps, "assertion", NULL),
        .resource = req_param(&cq->ps, "resource", NULL),
        .scope = req_param(&cq->ps, "scope", NULL),
        .au = &au,
    };
    struct oauth_err oe = { 0 };
    struct jwt_job *j;
    json_t *resp = NULL;
    bool need_fetch = false;
    int rc;

    rc = grant_jwt_bearer(rq->app, st, cq->c, &gr, false, &resp, &need_fetch, &oe);
    if (!(rc == GH_OK && need_fetch)) {
        rc = answer(rq, rc, resp, &oe, cq->basic);
        json_decref(resp);
        return rc;
    }
    j = x_calloc(1, sizeof(*j));
    j->c = cq->c;
    cq->c = NULL;
    j->assertion = dup_or_null(gr.assertion);
    j->resource = dup_or_null(gr.resource);
    j->scope = dup_or_null(gr.scope);
    j->basic = cq->basic;
    j->au = au;
    rc = req_defer(rq, job_work, j, job_free);
    if (rc != GH_OK) {
        job_free(j);
        if (rc == GH_ETOOBIG)
            return resp_error(rq, 503, "temporarily_unavailable", "the server is busy");
        return rc;
    }
    return GH_OK;   /* the handler runs again when the worker is done */
}

int
ep_token_jwt_resume(struct req *rq)
{
    struct jwt_job *j = req_deferred(rq);

    return answer(rq, j->rc, j->resp, &j->oe, j->basic);
}
