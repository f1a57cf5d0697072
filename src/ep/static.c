/* static.c — GET /static/<name>: the files of static/ (or --static DIR), read once at start-up
 * into memory by ep/pages.c; the request path is only ever compared with that table. */
#include "app.h"
#include "ep/ep.h"
#include "ep/pages.h"
#include "http/req.h"

int
ep_static(struct req *rq)
{
    return pages_static_send(rq->app->docs->pages, rq);
}
