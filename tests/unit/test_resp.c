/* test_resp.c — HTML pages, redirects and extra headers as a client receives them, and the
 * request accessors that need a live connection (Cookie lines, Authorization, peer address).
 * No endpoint uses these yet, so this file starts its own small libmicrohttpd daemon on
 * 127.0.0.1 whose handler maps a path to one resp_ / req_ call, and talks raw HTTP/1.1 to it
 * over a socket, so headers can be repeated or malformed at will. Handlers report results in
 * JSON bodies; every assertion runs on the main thread. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "core/err.h"
#include "http/req.h"
#include "http/resp.h"
#include "t.h"
#include "util/str.h"
#include "util/xmem.h"

static struct MHD_Daemon *daemon_;
static unsigned port_;
static unsigned long seq_;

static bool
path_is(const struct req *rq, const char *p)
{
    return strcmp(rq->path, p) == 0;
}

static int
reply_rc(struct req *rq, int rc)
{
    json_t *o = json_pack("{s:i}", "rc", rc);
    int r = resp_json(rq, 200, o);

    json_decref(o);
    return r;
}

/* One resp_/req_ call per path. */
static int
route(struct req *rq)
{
    static const char *const cookies[] = { "a=1; Path=/; HttpOnly; SameSite=Lax",
        "b=2; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", NULL };
    static const char *const bad_cookies[] = { "a=1", "b=2\r\nX-Evil: 1", NULL };
    static const char *const empty_cookie[] = { "", NULL };
    static const char page[] = "<!doctype html><p>hello</p>";

    if (path_is(rq, "/html"))
        return resp_html(rq, 200, page, sizeof(page) - 1, cookies);
    if (path_is(rq, "/html-plain"))
        return resp_html(rq, 400, page, sizeof(page) - 1, NULL);
    if (path_is(rq, "/html-empty"))
        return resp_html(rq, 200, NULL, 0, NULL);
    if (path_is(rq, "/redirect"))
        return resp_redirect(rq, 303, "https://rp.example/cb?code=x&state=y", cookies);
    if (path_is(rq, "/redirect-302"))
        return resp_redirect(rq, 302, "https://rp.example/cb", NULL);
    if (path_is(rq, "/json-hdr")) {
        json_t *o = json_pack("{s:s}", "access_token", "t");
        int rc = resp_json_hdr(rq, 200, o, "Pragma", "no-cache");
        json_decref(o);
        return rc;
    }
    if (strncmp(rq->path, "/json-size/", 11) == 0) {
        /* {"v":"xxx…"}: a body of exactly n bytes (n >= 8) */
        uint64_t n = 0;
        char *v;
        json_t *o;
        int rc;

        if (str_to_u64(rq->path + 11, 8, 100000, &n) != GH_OK)
            return resp_error(rq, 404, "not_found", NULL);
        v = x_malloc((size_t)n - 8 + 1);
        memset(v, 'x', (size_t)n - 8);
        v[n - 8] = '\0';
        o = json_pack("{s:s}", "v", v);
        free(v);
        rc = resp_json(rq, 200, o);
        json_decref(o);
        return rc;
    }
    if (path_is(rq, "/bearer-error"))
        return resp_bearer_error(rq, 401, "invalid_token", "the access token expired");
    if (path_is(rq, "/refusals")) {
        /* every refusal must leave the request unanswered, so one answer can still follow */
        int bad = 0;
        json_t *o = json_object();
        bad += resp_redirect(rq, 303, "https://rp.example/cb\r\nSet-Cookie: x=y", NULL) ==
            GH_EINVAL;
        bad += resp_redirect(rq, 303, "https://rp.example/cb\nX: y", NULL) == GH_EINVAL;
        bad += resp_redirect(rq, 303, "https://rp.example/\x01", NULL) == GH_EINVAL;
        bad += resp_redirect(rq, 303, "", NULL) == GH_EINVAL;
        bad += resp_redirect(rq, 303, NULL, NULL) == GH_EINVAL;
        bad += resp_redirect(rq, 301, "https://rp.example/cb", NULL) == GH_EINVAL;
        bad += resp_redirect(rq, 307, "https://rp.example/cb", NULL) == GH_EINVAL;
        bad += resp_redirect(rq, 303, "https://rp.example/cb", bad_cookies) == GH_EINVAL;
        bad += resp_redirect(rq, 303, "https://rp.example/cb", empty_cookie) == GH_EINVAL;
        bad += resp_html(rq, 200, page, sizeof(page) - 1, bad_cookies) == GH_EINVAL;
        bad += resp_json_hdr(rq, 200, o, "Pragma", "no-cache\r\nX: y") == GH_EINVAL;
        bad += resp_json_hdr(rq, 200, o, "Bad Name", "x") == GH_EINVAL;
        bad += resp_json_hdr(rq, 200, o, "X:Y", "x") == GH_EINVAL;
        bad += resp_error_hdr(rq, 401, "invalid_token", NULL, "WWW-Authenticate",
                   "Bearer\r\nX: y") == GH_EINVAL;
        bad += resp_bearer_error(rq, 401, "invalid_token", "say \"hi\"") == GH_EINVAL;
        bad += resp_bearer_error(rq, 401, "invalid_token", "a\\b") == GH_EINVAL;
        bad += resp_bearer_error(rq, 401, "invalid\"token", NULL) == GH_EINVAL;
        json_decref(o);
        if (rq->status)
            return GH_EINTERNAL;   /* something was queued: the test sees a 500 */
        return reply_rc(rq, bad);
    }
    if (path_is(rq, "/cookies")) {
        const char *a, *b, *c;
        size_t alen;
        json_t *o;
        int rc;

        a = req_cookie(rq, "a", &alen);
        b = req_cookie(rq, "b", NULL);
        c = req_cookie(rq, "c", NULL);
        o = json_pack("{s:s?,s:s?,s:s?,s:i}", "a", a, "b", b, "c", c, "alen", (int)alen);
        rc = resp_json(rq, 200, o);
        json_decref(o);
        return rc;
    }
    if (path_is(rq, "/basic")) {
        char *u = NULL, *p = NULL;
        json_t *o;
        int rc = req_basic(rq, &u, &p);

        o = json_pack("{s:i,s:s?,s:s?}", "rc", rc, "user", u, "pass", p);
        free(u);
        if (p)
            str_wipe_free(p);
        rc = resp_json(rq, 200, o);
        json_decref(o);
        return rc;
    }
    if (path_is(rq, "/bearer")) {
        const char *t = NULL;
        size_t len = 0;
        json_t *o;
        int rc = req_bearer(rq, &t, &len);

        o = json_pack("{s:i,s:s%}", "rc", rc, "tok", t ? t : "", len);
        rc = resp_json(rq, 200, o);
        json_decref(o);
        return rc;
    }
    if (path_is(rq, "/ip")) {
        const struct req *crq = rq;
        json_t *o = json_pack("{s:s,s:s}", "ip", req_client_ip(crq), "again",
            req_client_ip(crq));
        int rc = resp_json(rq, 200, o);
        json_decref(o);
        return rc;
    }
    return resp_error(rq, 404, "not_found", NULL);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct req *rq = *con_cls;

    (void)cls;
    (void)method;
    (void)version;
    (void)upload;
    if (!rq) {
        rq = req_new(url, 0x1234, ++seq_);
        rq->conn = conn;
        rq->method = REQ_GET;
        *con_cls = rq;
        return MHD_YES;
    }
    *upload_size = 0;
    if (route(rq) != GH_OK && !rq->status)
        resp_error(rq, 500, "server_error", NULL);
    return rq->status ? MHD_YES : MHD_NO;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    req_free(*con_cls);
    *con_cls = NULL;
}

static int
start_daemon(void)
{
    const union MHD_DaemonInfo *di;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, NULL, MHD_OPTION_END);
    if (!daemon_)
        return -1;
    di = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    if (!di || !di->port)
        return -1;
    port_ = di->port;
    return 0;
}

/* Send a raw request (the request line and headers without the final empty line; Host and
 * Connection: close are added) and return the whole response ("" if that failed, so the
 * assertions fail rather than crash). Caller frees. */
static char *
http(const char *head)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    char req[8192 + 256];
    char *out = NULL;
    size_t n = 0, cap = 0;
    int fd, len;

    a.sin_port = htons((uint16_t)port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = snprintf(req, sizeof(req), "%s\r\nHost: localhost\r\nConnection: close\r\n\r\n", head);
    if (len < 0 || (size_t)len >= sizeof(req))
        return x_strdup("");
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return x_strdup("");
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        write(fd, req, (size_t)len) != len) {
        close(fd);
        return x_strdup("");
    }
    for (;;) {
        ssize_t k;
        if (cap - n < 4096) {
            cap += 8192;
            out = x_realloc(out, cap);
        }
        k = read(fd, out + n, cap - n - 1);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    out[n] = '\0';
    return out;
}

/* The value of header name in response r (first occurrence, case-insensitive), copied into
 * buf, or NULL. */
static const char *
hdr(const char *r, const char *name, unsigned nth, char *buf, size_t bufsz)
{
    const char *end = strstr(r, "\r\n\r\n");
    size_t nlen = strlen(name);

    if (!end)
        return NULL;
    for (const char *l = strstr(r, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n")) {
        const char *v = l + 2, *e;
        if (strncasecmp(v, name, nlen) != 0 || v[nlen] != ':')
            continue;
        if (nth-- > 0)
            continue;
        v += nlen + 1;
        while (*v == ' ')
            v++;
        e = strstr(v, "\r\n");
        if ((size_t)(e - v) >= bufsz)
            return NULL;
        memcpy(buf, v, (size_t)(e - v));
        buf[e - v] = '\0';
        return buf;
    }
    return NULL;
}

static json_t *
body_json(const char *r)
{
    const char *b = strstr(r, "\r\n\r\n");

    return b ? json_loads(b + 4, 0, NULL) : NULL;
}

#define T_HDR(r, name, want)                                                  \
    do {                                                                      \
        char hb_[512];                                                        \
        T_EQ_STR(hdr(r, name, 0, hb_, sizeof(hb_)), want);                    \
    } while (0)

static void
assert_common(const char *r)
{
    char b[64];

    T_HDR(r, "X-Content-Type-Options", "nosniff");
    T_HDR(r, "Referrer-Policy", "no-referrer");
    T_HDR(r, "X-Frame-Options", "DENY");
    T_HDR(r, "Cache-Control", "no-store");
    T_ASSERT(hdr(r, "X-Request-Id", 0, b, sizeof(b)) != NULL);
    T_ASSERT(strncmp(b, "0000000000001234", 16) == 0);
}

static void
test_html_page_headers_and_cookies(void)
{
    char *r = http("GET /html HTTP/1.1");
    char b[256];

    T_ASSERT(strncmp(r, "HTTP/1.1 200 ", 13) == 0);
    assert_common(r);
    T_HDR(r, "Content-Type", "text/html; charset=utf-8");
    T_HDR(r, "Content-Security-Policy",
        "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'");
    T_EQ_STR(hdr(r, "Set-Cookie", 0, b, sizeof(b)), "a=1; Path=/; HttpOnly; SameSite=Lax");
    T_EQ_STR(hdr(r, "Set-Cookie", 1, b, sizeof(b)),
        "b=2; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    T_ASSERT(hdr(r, "Set-Cookie", 2, b, sizeof(b)) == NULL);
    T_ASSERT(strstr(r, "\r\n\r\n<!doctype html><p>hello</p>") != NULL);
    free(r);

    r = http("GET /html-plain HTTP/1.1");
    T_ASSERT(strncmp(r, "HTTP/1.1 400 ", 13) == 0);
    assert_common(r);
    T_ASSERT(hdr(r, "Set-Cookie", 0, b, sizeof(b)) == NULL);
    free(r);

    r = http("GET /html-empty HTTP/1.1");
    T_ASSERT(strncmp(r, "HTTP/1.1 200 ", 13) == 0);
    T_HDR(r, "Content-Length", "0");
    free(r);
}

static void
test_redirect_headers(void)
{
    char *r = http("GET /redirect HTTP/1.1");
    char b[256];

    T_ASSERT(strncmp(r, "HTTP/1.1 303 ", 13) == 0);
    assert_common(r);
    T_HDR(r, "Location", "https://rp.example/cb?code=x&state=y");
    T_HDR(r, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    T_HDR(r, "Content-Length", "0");
    T_ASSERT(hdr(r, "Content-Type", 0, b, sizeof(b)) == NULL);
    T_EQ_STR(hdr(r, "Set-Cookie", 1, b, sizeof(b)),
        "b=2; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    free(r);
    r = http("GET /redirect-302 HTTP/1.1");
    T_ASSERT(strncmp(r, "HTTP/1.1 302 ", 13) == 0);
    T_HDR(r, "Location", "https://rp.example/cb");
    free(r);
}

static void
test_json_with_extra_header_keeps_the_strict_csp(void)
{
    char *r = http("GET /json-hdr HTTP/1.1");

    T_ASSERT(strncmp(r, "HTTP/1.1 200 ", 13) == 0);
    assert_common(r);
    T_HDR(r, "Pragma", "no-cache");
    T_HDR(r, "Content-Type", "application/json");
    T_HDR(r, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    T_ASSERT(strstr(r, "\r\n\r\n{\"access_token\":\"t\"}") != NULL);
    free(r);
}

/* A JSON body is serialised into a first buffer of a fixed size and again when it does not
 * fit: every size around that boundary arrives whole, with the right Content-Length. */
static void
test_json_bodies_of_any_size_arrive_whole(void)
{
    static const unsigned sizes[] = { 8, 4095, 4096, 4097, 4098, 9000, 70000 };
    char head[64], cl[32], want[32];

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *r;
        const char *b;

        snprintf(head, sizeof(head), "GET /json-size/%u HTTP/1.1", sizes[i]);
        r = http(head);
        T_ASSERT(strncmp(r, "HTTP/1.1 200 ", 13) == 0);
        snprintf(want, sizeof(want), "%u", sizes[i]);
        T_EQ_STR(hdr(r, "Content-Length", 0, cl, sizeof(cl)), want);
        b = strstr(r, "\r\n\r\n");
        T_ASSERT(b && strlen(b + 4) == sizes[i]);
        T_ASSERT(b && strncmp(b + 4, "{\"v\":\"", 6) == 0 && r[strlen(r) - 1] == '}');
        free(r);
    }
}

static void
test_bearer_error_challenge(void)
{
    char *r = http("GET /bearer-error HTTP/1.1");
    json_t *j;

    T_ASSERT(strncmp(r, "HTTP/1.1 401 ", 13) == 0);
    T_HDR(r, "WWW-Authenticate",
        "Bearer realm=\"gatehouse\", error=\"invalid_token\", "
        "error_description=\"the access token expired\"");
    j = body_json(r);
    T_EQ_STR(json_string_value(json_object_get(j, "error")), "invalid_token");
    json_decref(j);
    free(r);
}

static void
test_header_injection_is_refused_and_nothing_is_queued(void)
{
    char *r = http("GET /refusals HTTP/1.1");
    json_t *j;

    T_ASSERT(strncmp(r, "HTTP/1.1 200 ", 13) == 0);
    T_ASSERT(strstr(r, "X-Evil") == NULL && strstr(r, "Set-Cookie: x") == NULL);
    j = body_json(r);
    T_EQ_INT(json_integer_value(json_object_get(j, "rc")), 17);
    json_decref(j);
    free(r);
}

static json_t *
get_json(const char *head)
{
    char *r = http(head);
    json_t *j = body_json(r);

    free(r);
    return j;
}

#define J_STR(j, k) json_string_value(json_object_get(j, k))
#define J_INT(j, k) json_integer_value(json_object_get(j, k))

static void
test_cookie_lines_are_parsed_once_and_joined(void)
{
    json_t *j;

    j = get_json("GET /cookies HTTP/1.1\r\nCookie: x=\"bad; a=hello;b=2");
    T_EQ_STR(J_STR(j, "a"), "hello");
    T_EQ_INT(J_INT(j, "alen"), 5);
    T_EQ_STR(J_STR(j, "b"), "2");
    T_ASSERT(json_is_null(json_object_get(j, "c")));
    json_decref(j);
    /* several lines are joined: a name in two of them is a duplicate */
    j = get_json("GET /cookies HTTP/1.1\r\nCookie: a=1\r\nCookie: b=2; c=3\r\nCookie: a=4");
    T_ASSERT(json_is_null(json_object_get(j, "a")));
    T_EQ_STR(J_STR(j, "b"), "2");
    T_EQ_STR(J_STR(j, "c"), "3");
    json_decref(j);
    j = get_json("GET /cookies HTTP/1.1");
    T_ASSERT(json_is_null(json_object_get(j, "a")));
    json_decref(j);
}

static void
test_oversized_cookie_header_yields_no_cookies(void)
{
    char head[8192 + 128];
    size_t o;
    json_t *j;

    o = (size_t)snprintf(head, sizeof(head), "GET /cookies HTTP/1.1\r\nCookie: a=1; pad=");
    memset(head + o, 'x', 4000);
    o += 4000;
    o += (size_t)snprintf(head + o, sizeof(head) - o, "\r\nCookie: pad2=");
    memset(head + o, 'y', 4200);   /* the joined header is over GH_MAX_COOKIE_HEADER */
    head[o + 4200] = '\0';
    j = get_json(head);
    T_ASSERT(j != NULL);
    T_ASSERT(json_is_null(json_object_get(j, "a")));
    json_decref(j);
}

static void
test_basic_and_bearer_through_a_connection(void)
{
    json_t *j;

    j = get_json("GET /basic HTTP/1.1\r\nAuthorization:   Basic YSUzQWI6c2VjcmV0  ");
    T_EQ_INT(J_INT(j, "rc"), GH_OK);
    T_EQ_STR(J_STR(j, "user"), "a:b");
    T_EQ_STR(J_STR(j, "pass"), "secret");
    json_decref(j);
    j = get_json("GET /basic HTTP/1.1");
    T_EQ_INT(J_INT(j, "rc"), GH_ENOTFOUND);
    json_decref(j);
    j = get_json("GET /basic HTTP/1.1\r\nAuthorization: Bearer abc");
    T_EQ_INT(J_INT(j, "rc"), GH_ENOTFOUND);
    json_decref(j);
    /* a second Authorization header is ambiguous */
    j = get_json("GET /basic HTTP/1.1\r\nAuthorization: Basic YSUzQWI6c2VjcmV0\r\n"
                 "Authorization: Basic dXNlcjpwYXNz");
    T_EQ_INT(J_INT(j, "rc"), GH_EINVAL);
    T_ASSERT(json_is_null(json_object_get(j, "user")));
    json_decref(j);

    j = get_json("GET /bearer HTTP/1.1\r\nAuthorization: Bearer mF_9.B5f-4.1JqM");
    T_EQ_INT(J_INT(j, "rc"), GH_OK);
    T_EQ_STR(J_STR(j, "tok"), "mF_9.B5f-4.1JqM");
    json_decref(j);
    /* RFC 9110 §5.5: trailing whitespace is not part of the value (MHD 0.9.75 keeps it) */
    j = get_json("GET /bearer HTTP/1.1\r\nauthorization: bearer   abc== \t ");
    T_EQ_INT(J_INT(j, "rc"), GH_OK);
    T_EQ_STR(J_STR(j, "tok"), "abc==");
    json_decref(j);
    j = get_json("GET /bearer HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer a");
    T_EQ_INT(J_INT(j, "rc"), GH_EINVAL);
    json_decref(j);
    j = get_json("GET /bearer HTTP/1.1\r\nAuthorization: Basic YSUzQWI6c2VjcmV0");
    T_EQ_INT(J_INT(j, "rc"), GH_ENOTFOUND);
    json_decref(j);
}

static void
test_client_ip_is_the_peer(void)
{
    json_t *j = get_json("GET /ip HTTP/1.1");

    T_EQ_STR(J_STR(j, "ip"), "127.0.0.1");
    T_EQ_STR(J_STR(j, "again"), "127.0.0.1");
    json_decref(j);
}

int
main(void)
{
    t_init("resp");
    if (start_daemon() != 0) {
        fprintf(stderr, "cannot start a test daemon on 127.0.0.1\n");
        return 1;
    }
    T_RUN(test_html_page_headers_and_cookies);
    T_RUN(test_redirect_headers);
    T_RUN(test_json_with_extra_header_keeps_the_strict_csp);
    T_RUN(test_json_bodies_of_any_size_arrive_whole);
    T_RUN(test_bearer_error_challenge);
    T_RUN(test_header_injection_is_refused_and_nothing_is_queued);
    T_RUN(test_cookie_lines_are_parsed_once_and_joined);
    T_RUN(test_oversized_cookie_header_yields_no_cookies);
    T_RUN(test_basic_and_bearer_through_a_connection);
    T_RUN(test_client_ip_is_the_peer);
    MHD_stop_daemon(daemon_);
    return t_done();
}
