/* router.c — gatehouse's route table and its lookup. Paths are compared byte-for-byte on the
 * raw request path: no percent-decoding, no case folding, no trailing-slash or dot-segment
 * normalisation, so "/jwks%2ejson", "/JWKS.json" and "/jwks.json/" are all 404 (reject
 * rather than repair; nothing here maps a path to a file: /static/<name> is looked up in a
 * table built at start-up, ep/pages.c). The table is small and static;
 * a linear scan costs less than hashing would. New endpoints add one line here. */
#include <stdint.h>
#include <string.h>

#include "core/limits.h"
#include "ep/demo.h"
#include "ep/ep.h"
#include "http/req.h"
#include "http/router.h"

static const struct route routes[] = {
    { REQ_GET, "/.well-known/openid-configuration", ep_discovery, 0 },
    { REQ_GET, "/.well-known/oauth-authorization-server", ep_discovery, 0 },
    { REQ_GET, "/jwks.json", ep_jwks, 0 },
    { REQ_GET, "/healthz", ep_health, 0 },
    { REQ_GET, "/readyz", ep_ready, 0 },
    { REQ_GET | REQ_POST, "/authorize", ep_authorize, ROUTE_BODY },
    { REQ_POST, "/login", ep_login, ROUTE_BODY },
    { REQ_POST, "/consent", ep_consent, ROUTE_BODY },
    { REQ_POST, "/token", ep_token, ROUTE_BODY },
    { REQ_POST, "/introspect", ep_introspect, ROUTE_BODY },
    { REQ_POST, "/revoke", ep_revoke, ROUTE_BODY },
    { REQ_GET | REQ_POST, "/userinfo", ep_userinfo, ROUTE_BODY },
    { REQ_GET | REQ_POST, "/logout", ep_logout, ROUTE_BODY },
    { REQ_GET, "/static/", ep_static, ROUTE_PREFIX },
    /* serve --demo only (ep/demo.c answers 404 otherwise) */
    { REQ_GET, DEMO_PATH, ep_demo, 0 },
    { REQ_GET, DEMO_CALLBACK_PATH, ep_demo, 0 },
};

enum route_result
route_lookup_in(const struct route *table, size_t n, unsigned method, const char *path,
    size_t path_len, const struct route **out, unsigned *allow)
{
    const struct route *hit = NULL;
    unsigned ok = 0;

    *out = NULL;
    *allow = 0;
    if (path_len > GH_MAX_PATH_LEN)
        return ROUTE_TOO_LONG;
    for (size_t i = 0; i < n; i++) {
        const struct route *r = &table[i];
        unsigned m = r->methods;

        size_t plen = strlen(r->path);

        /* a prefix route matches its prefix plus at least one more byte */
        if ((r->flags & ROUTE_PREFIX) ? path_len <= plen || memcmp(r->path, path, plen) != 0
                                      : plen != path_len || memcmp(r->path, path, path_len) != 0)
            continue;
        if (m & REQ_GET)
            m |= REQ_HEAD;
        ok |= m;
        if (!hit && (m & method))
            hit = r;
    }
    if (!ok)
        return ROUTE_NOT_FOUND;
    *allow = ok;
    if (!hit)
        return ROUTE_BAD_METHOD;
    *out = hit;
    return ROUTE_FOUND;
}

enum route_result
route_lookup(unsigned method, const char *path, size_t path_len, const struct route **out,
    unsigned *allow)
{
    return route_lookup_in(routes, sizeof(routes) / sizeof(routes[0]), method, path, path_len,
        out, allow);
}

size_t
route_count(void)
{
    return sizeof(routes) / sizeof(routes[0]);
}

const char *
route_path(size_t i)
{
    return i < route_count() ? routes[i].path : "other";
}

size_t
route_index(const struct route *r)
{
    /* compare addresses as integers: relational operators on pointers into different
     * objects are undefined */
    uintptr_t a = (uintptr_t)r, lo = (uintptr_t)routes;

    if (!r || a < lo || a >= lo + sizeof(routes))
        return route_count();
    return (size_t)(a - lo) / sizeof(routes[0]);
}

char *
route_allow_str(unsigned methods, char *out, size_t outsz)
{
    static const unsigned order[] = { REQ_GET, REQ_HEAD, REQ_POST, REQ_PUT, REQ_PATCH,
        REQ_DELETE, REQ_OPTIONS };
    size_t o = 0;

    if (outsz == 0)
        return out;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *name;
        size_t k;

        if (!(methods & order[i]))
            continue;
        name = req_method_name(order[i]);
        k = strlen(name);
        if (o + (o ? 2 : 0) + k + 1 > outsz)
            break;
        if (o) {
            memcpy(out + o, ", ", 2);
            o += 2;
        }
        memcpy(out + o, name, k);
        o += k;
        out[o] = '\0';
    }
    return out;
}
