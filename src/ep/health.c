/* health.c — GET /healthz: 200 {"status":"ok"} while the process serves HTTP. It checks
 * nothing else (no store or key probe), so a load balancer never takes gatehouse out of
 * rotation for a fault a request would report better; no-store so caches never answer it. */
#include "ep/ep.h"
#include "http/resp.h"

static const char body[] = "{\"status\":\"ok\"}";

int
ep_health(struct req *rq)
{
    return resp_json_static(rq, 200, body, sizeof(body) - 1);
}
