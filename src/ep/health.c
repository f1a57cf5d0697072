/* health.c — the probes. GET /healthz: 200 {"status":"ok"} while the process serves HTTP. It
 * checks nothing else (no store or key probe), so an orchestrator never restarts gatehouse for
 * a fault a request would report better. GET /readyz: 200 {"status":"ready"} when this
 * thread's database handle answers a cheap read within GH_READY_DB_TIMEOUT_MS and the key ring
 * can sign with every alg in use; otherwise 503 {"status":"not_ready","reason":...} with
 * Retry-After, so a load balancer sends requests elsewhere meanwhile. The reason is one plain
 * sentence; what failed in detail is in the log (the store reports its faults once per episode).
 * Both are no-store, so no cache answers for them. */
#include <jansson.h>

#include "app.h"
#include "core/err.h"
#include "core/limits.h"
#include "crypto/keys.h"
#include "ep/ep.h"
#include "http/req.h"
#include "http/resp.h"
#include "store/store.h"
#include "util/clock.h"

#define READY_RETRY_AFTER "5"

static const char ok_body[] = "{\"status\":\"ok\"}";
static const char ready_body[] = "{\"status\":\"ready\"}";

int
ep_health(struct req *rq)
{
    return resp_json_static(rq, 200, ok_body, sizeof(ok_body) - 1);
}

int
ep_ready(struct req *rq)
{
    struct store *st = app_store(rq->app);
    const char *why = NULL;
    json_t *o;
    int rc;

    if (!st || store_ping(st, GH_READY_DB_TIMEOUT_MS) != GH_OK)
        why = "the database does not answer";
    else if (!keys_ring_ready(rq->app->keys, clock_now()))
        why = "no signing key is active for an algorithm in use";
    if (!why)
        return resp_json_static(rq, 200, ready_body, sizeof(ready_body) - 1);
    if (!(o = json_pack("{s:s, s:s}", "status", "not_ready", "reason", why)))
        return GH_EINTERNAL;
    rc = resp_json_hdr(rq, 503, o, "Retry-After", READY_RETRY_AFTER);
    json_decref(o);
    return rc;
}
