/* test_router.c — route lookup: exact byte-for-byte paths, HEAD wherever GET, 404 vs 405 with
 * the Allow set, 414 for over-long paths, and gatehouse's own table. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "http/req.h"
#include "http/router.h"
#include "t.h"

static int
h_a(struct req *rq)
{
    (void)rq;
    return GH_OK;
}

static int
h_b(struct req *rq)
{
    (void)rq;
    return GH_OK;
}

static const struct route table[] = {
    { REQ_GET, "/a", h_a, 0 },
    { REQ_POST, "/a", h_b, ROUTE_BODY },
    { REQ_POST, "/token", h_b, ROUTE_BODY },
    { REQ_GET | REQ_POST, "/both", h_a, ROUTE_BODY },
};
#define N (sizeof(table) / sizeof(table[0]))

static enum route_result
look(unsigned method, const char *path, const struct route **r, unsigned *allow)
{
    return route_lookup_in(table, N, method, path, strlen(path), r, allow);
}

static void
test_exact_match_only(void)
{
    static const char *const misses[] = { "/a/", "/A", "/a?", "/a%2f", "//a", "/a/.", "/./a",
        "a", "", "/", "/a ", "/ab", "/%61" };
    const struct route *r;
    unsigned allow;

    T_EQ_INT(look(REQ_GET, "/a", &r, &allow), ROUTE_FOUND);
    T_ASSERT(r == &table[0]);
    for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
        T_EQ_INT(look(REQ_GET, misses[i], &r, &allow), ROUTE_NOT_FOUND);
        T_ASSERT(r == NULL);
        T_EQ_INT(allow, 0);
    }
}

static void
test_length_is_honoured_not_strlen(void)
{
    const struct route *r;
    unsigned allow;
    static const char p[] = "/a\0/evil";

    /* a path with an embedded NUL is a different path, never a prefix match */
    T_EQ_INT(route_lookup_in(table, N, REQ_GET, p, sizeof(p) - 1, &r, &allow), ROUTE_NOT_FOUND);
    T_EQ_INT(route_lookup_in(table, N, REQ_GET, "/ab", 2, &r, &allow), ROUTE_FOUND);
}

static void
test_head_allowed_wherever_get_is(void)
{
    const struct route *r;
    unsigned allow;

    T_EQ_INT(look(REQ_HEAD, "/a", &r, &allow), ROUTE_FOUND);
    T_ASSERT(r == &table[0]);
    T_EQ_INT(look(REQ_HEAD, "/token", &r, &allow), ROUTE_BAD_METHOD);
    T_EQ_INT(allow, REQ_POST);
}

static void
test_method_picks_the_route(void)
{
    const struct route *r;
    unsigned allow;

    T_EQ_INT(look(REQ_POST, "/a", &r, &allow), ROUTE_FOUND);
    T_ASSERT(r == &table[1]);
    T_EQ_INT(allow, REQ_GET | REQ_HEAD | REQ_POST);
    T_EQ_INT(look(REQ_POST, "/both", &r, &allow), ROUTE_FOUND);
    T_ASSERT(r == &table[3]);
}

static void
test_wrong_method_is_405_with_allow(void)
{
    const struct route *r;
    unsigned allow;
    char s[64];

    T_EQ_INT(look(REQ_DELETE, "/a", &r, &allow), ROUTE_BAD_METHOD);
    T_ASSERT(r == NULL);
    T_EQ_STR(route_allow_str(allow, s, sizeof(s)), "GET, HEAD, POST");
    T_EQ_INT(look(REQ_OTHER, "/token", &r, &allow), ROUTE_BAD_METHOD);
    T_EQ_STR(route_allow_str(allow, s, sizeof(s)), "POST");
    T_EQ_INT(look(REQ_GET, "/token", &r, &allow), ROUTE_BAD_METHOD);
}

static void
test_allow_string_never_overflows(void)
{
    char s[12];

    T_EQ_STR(route_allow_str(REQ_GET | REQ_HEAD | REQ_POST, s, sizeof(s)), "GET, HEAD");
    T_EQ_STR(route_allow_str(0, s, sizeof(s)), "");
    T_EQ_STR(route_allow_str(REQ_OPTIONS, s, 4), "");
}

static void
test_long_paths_are_414(void)
{
    char *p = malloc(GH_MAX_PATH_LEN + 2);
    const struct route *r;
    unsigned allow;

    memset(p, 'a', GH_MAX_PATH_LEN + 1);
    p[0] = '/';
    T_EQ_INT(route_lookup_in(table, N, REQ_GET, p, GH_MAX_PATH_LEN, &r, &allow),
        ROUTE_NOT_FOUND);
    T_EQ_INT(route_lookup_in(table, N, REQ_GET, p, GH_MAX_PATH_LEN + 1, &r, &allow),
        ROUTE_TOO_LONG);
    free(p);
}

static void
test_gatehouse_table(void)
{
    static const char *const docs[] = { "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server", "/jwks.json", "/healthz" };
    const struct route *r;
    unsigned allow;
    char s[64];

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        T_EQ_INT(route_lookup(REQ_GET, docs[i], strlen(docs[i]), &r, &allow), ROUTE_FOUND);
        T_ASSERT(r->fn != NULL);
        T_ASSERT(!(r->flags & ROUTE_BODY));
        T_EQ_INT(route_lookup(REQ_HEAD, docs[i], strlen(docs[i]), &r, &allow), ROUTE_FOUND);
        T_EQ_INT(route_lookup(REQ_POST, docs[i], strlen(docs[i]), &r, &allow),
            ROUTE_BAD_METHOD);
        T_EQ_STR(route_allow_str(allow, s, sizeof(s)), "GET, HEAD");
    }
    T_EQ_INT(route_lookup(REQ_GET, "/jwks", 5, &r, &allow), ROUTE_NOT_FOUND);
    T_EQ_INT(route_lookup(REQ_GET, "/.well-known/openid-configuration/", 34, &r, &allow),
        ROUTE_NOT_FOUND);
}

static const struct route ptable[] = {
    { REQ_GET, "/static/", h_a, ROUTE_PREFIX },
    { REQ_GET, "/statics", h_b, 0 },
};

static void
test_prefix_route_needs_one_more_byte(void)
{
    const struct route *r;
    unsigned allow;

    T_EQ_INT(route_lookup_in(ptable, 2, REQ_GET, "/static/a.css", 13, &r, &allow), ROUTE_FOUND);
    T_ASSERT(r == &ptable[0]);
    T_EQ_INT(route_lookup_in(ptable, 2, REQ_GET, "/static/", 8, &r, &allow), ROUTE_NOT_FOUND);
    T_EQ_INT(route_lookup_in(ptable, 2, REQ_GET, "/static", 7, &r, &allow), ROUTE_NOT_FOUND);
    T_EQ_INT(route_lookup_in(ptable, 2, REQ_GET, "/statics", 8, &r, &allow), ROUTE_FOUND);
    T_ASSERT(r == &ptable[1]);
    T_EQ_INT(route_lookup_in(ptable, 2, REQ_POST, "/static/x", 9, &r, &allow), ROUTE_BAD_METHOD);
}

static void
test_flow_endpoints_are_routed(void)
{
    static const struct {
        const char *path;
        unsigned method;
        bool body;
    } want[] = {
        { "/authorize", REQ_GET, true }, { "/authorize", REQ_POST, true },
        { "/login", REQ_POST, true }, { "/consent", REQ_POST, true },
        { "/token", REQ_POST, true }, { "/userinfo", REQ_GET, true },
        { "/userinfo", REQ_POST, true }, { "/logout", REQ_GET, true },
        { "/logout", REQ_POST, true }, { "/static/gatehouse.css", REQ_GET, false },
        { "/introspect", REQ_POST, true }, { "/revoke", REQ_POST, true },
    };
    const struct route *r;
    unsigned allow;

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        T_EQ_INT(route_lookup(want[i].method, want[i].path, strlen(want[i].path), &r, &allow),
            ROUTE_FOUND);
        T_EQ_INT(!!(r->flags & ROUTE_BODY), want[i].body);
    }
    T_EQ_INT(route_lookup(REQ_GET, "/token", 6, &r, &allow), ROUTE_BAD_METHOD);
    T_EQ_INT(route_lookup(REQ_GET, "/login", 6, &r, &allow), ROUTE_BAD_METHOD);
}

static void
test_s2s_endpoints_are_post_only(void)
{
    static const char *const paths[] = { "/introspect", "/revoke" };
    static const unsigned others[] = { REQ_GET, REQ_HEAD, REQ_PUT, REQ_DELETE, REQ_OPTIONS,
        REQ_OTHER };
    const struct route *r;
    unsigned allow;
    char s[64];

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        size_t n = strlen(paths[i]);
        T_EQ_INT(route_lookup(REQ_POST, paths[i], n, &r, &allow), ROUTE_FOUND);
        T_ASSERT(r->fn != NULL);
        T_ASSERT(r->flags & ROUTE_BODY);
        T_ASSERT(!(r->flags & ROUTE_PREFIX));
        for (size_t j = 0; j < sizeof(others) / sizeof(others[0]); j++) {
            T_EQ_INT(route_lookup(others[j], paths[i], n, &r, &allow), ROUTE_BAD_METHOD);
            T_EQ_STR(route_allow_str(allow, s, sizeof(s)), "POST");
        }
    }
    /* exact paths only: no trailing slash, case or suffix variants */
    T_EQ_INT(route_lookup(REQ_POST, "/revoke/", 8, &r, &allow), ROUTE_NOT_FOUND);
    T_EQ_INT(route_lookup(REQ_POST, "/Introspect", 11, &r, &allow), ROUTE_NOT_FOUND);
    T_EQ_INT(route_lookup(REQ_POST, "/introspection", 14, &r, &allow), ROUTE_NOT_FOUND);
    T_EQ_INT(route_lookup(REQ_POST, "/revocation", 11, &r, &allow), ROUTE_NOT_FOUND);
}

int
main(void)
{
    t_init("router");
    T_RUN(test_prefix_route_needs_one_more_byte);
    T_RUN(test_flow_endpoints_are_routed);
    T_RUN(test_s2s_endpoints_are_post_only);
    T_RUN(test_exact_match_only);
    T_RUN(test_length_is_honoured_not_strlen);
    T_RUN(test_head_allowed_wherever_get_is);
    T_RUN(test_method_picks_the_route);
    T_RUN(test_wrong_method_is_405_with_allow);
    T_RUN(test_allow_string_never_overflows);
    T_RUN(test_long_paths_are_414);
    T_RUN(test_gatehouse_table);
    return t_done();
}
