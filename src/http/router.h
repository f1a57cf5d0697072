/* router.h — the static route table {methods, path, handler, flags}: exact, byte-for-byte
 * path match on the raw (not percent-decoded) path; HEAD is allowed wherever GET is. */
#ifndef GH_HTTP_ROUTER_H
#define GH_HTTP_ROUTER_H

#include <stddef.h>

struct req;

/* A handler queues exactly one response through resp_* and returns GH_OK, or returns an
 * error code without queuing anything, and server.c answers 500 server_error. */
typedef int (*route_fn)(struct req *rq);

enum route_flags {
    ROUTE_BODY = 1,   /* reads a request body (<= GH_MAX_BODY); others run before any body */
    ROUTE_PREFIX = 2, /* path is a prefix ending in '/': matches it plus one or more bytes */
};

struct route {
    unsigned methods;  /* enum req_method bits; REQ_GET implies REQ_HEAD */
    const char *path;
    route_fn fn;
    unsigned flags;
};

enum route_result {
    ROUTE_FOUND = 0,
    ROUTE_NOT_FOUND,     /* 404 */
    ROUTE_BAD_METHOD,    /* 405; *allow holds the methods the path accepts */
    ROUTE_TOO_LONG,      /* 414: path over GH_MAX_PATH_LEN */
};

/* Look up method (one enum req_method bit) and path (path_len bytes) in table[0..n).
 * *out gets the route for ROUTE_FOUND, else NULL; *allow the accepted methods (with HEAD
 * added where GET is) for ROUTE_FOUND and ROUTE_BAD_METHOD, else 0. */
enum route_result route_lookup_in(const struct route *table, size_t n, unsigned method,
    const char *path, size_t path_len, const struct route **out, unsigned *allow);
/* The same against gatehouse's own table. */
enum route_result route_lookup(unsigned method, const char *path, size_t path_len,
    const struct route **out, unsigned *allow);
/* The table's size, and the path of its entry i (i < route_count()), for the metrics labels. */
size_t route_count(void);
const char *route_path(size_t i);
/* The index of r in gatehouse's table; route_count() for NULL or a route of another table. */
size_t route_index(const struct route *r);
/* Format an Allow header value ("GET, HEAD, POST") for methods into out. Returns out. */
char *route_allow_str(unsigned methods, char *out, size_t outsz);

#endif
