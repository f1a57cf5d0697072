/* test_req.c — the form/query decoder against hostile input (percent-escapes, NUL, control
 * characters, invalid UTF-8, duplicates, size bounds), the request-target split, the
 * If-None-Match matcher, and the Authorization parsers: Basic client credentials (RFC 7617
 * with RFC 6749 §2.3.1's form-encoding) and Bearer tokens (RFC 6750 §2.1). Pure parsing: no
 * daemon (test_resp.c drives the same accessors through a live connection). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "http/req.h"
#include "http/resp.h"
#include "t.h"
#include "util/xmem.h"

/* Parse s (length from sizeof when it holds NULs) into a fresh list. */
static int
parse(const char *s, size_t len, struct req_params *ps)
{
    const char *why = NULL;
    int rc;

    req_params_init(ps);
    rc = req_params_add(ps, s, len, &why);
    if (rc != GH_OK && !why)
        return 12345;   /* every refusal must come with a reason */
    return rc;
}

#define PARSE(lit, ps) parse(lit, sizeof(lit) - 1, ps)

static void
test_decodes_escapes_plus_and_keeps_order(void)
{
    struct req_params ps;
    size_t len;

    T_EQ_INT(PARSE("a=1&b=x%20y+z&c=%e2%82%AC&d", &ps), GH_OK);
    T_EQ_INT(ps.n, 4);
    T_EQ_STR(ps.p[0].name, "a");
    T_EQ_STR(req_param(&ps, "a", NULL), "1");
    T_EQ_STR(req_param(&ps, "b", &len), "x y z");
    T_EQ_INT(len, 5);
    T_EQ_STR(req_param(&ps, "c", NULL), "\xe2\x82\xac");
    T_ASSERT(req_param(&ps, "d", NULL) == NULL);   /* empty value counts as absent */
    T_EQ_INT(ps.p[3].value_len, 0);
    T_ASSERT(req_param(&ps, "e", NULL) == NULL);
    req_params_free(&ps);
}

static void
test_escaped_separators_stay_data(void)
{
    struct req_params ps;

    T_EQ_INT(PARSE("redirect_uri=https%3A%2F%2Frp.example%2Fcb%3Fx%3D1%26y%3D2&a%3Db=c", &ps),
        GH_OK);
    T_EQ_INT(ps.n, 2);
    T_EQ_STR(req_param(&ps, "redirect_uri", NULL), "https://rp.example/cb?x=1&y=2");
    T_EQ_STR(req_param(&ps, "a=b", NULL), "c");
    T_EQ_STR(ps.p[0].name, "redirect_uri");
    req_params_free(&ps);
}

static void
test_empty_segments_are_skipped_and_empty_input_is_fine(void)
{
    struct req_params ps;

    T_EQ_INT(PARSE("&&a=1&&b=2&", &ps), GH_OK);
    T_EQ_INT(ps.n, 2);
    req_params_free(&ps);
    T_EQ_INT(PARSE("", &ps), GH_OK);
    T_EQ_INT(ps.n, 0);
    req_params_free(&ps);
    T_EQ_INT(PARSE("&", &ps), GH_OK);
    T_EQ_INT(ps.n, 0);
    req_params_free(&ps);
}

static void
test_value_may_contain_equals(void)
{
    struct req_params ps;

    T_EQ_INT(PARSE("state=a=b==", &ps), GH_OK);
    T_EQ_STR(req_param(&ps, "state", NULL), "a=b==");
    req_params_free(&ps);
}

static void
test_bad_percent_escapes_are_rejected(void)
{
    static const char *const bad[] = { "a=%", "a=%2", "a=%zz", "a=%2g", "a=%%41", "%=1",
        "a=1%", "a=%+1", "a=% 1", "a=%-1" };
    struct req_params ps;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        T_EQ_INT(parse(bad[i], strlen(bad[i]), &ps), GH_EINVAL);
        T_EQ_INT(ps.n, 0);
        req_params_free(&ps);
    }
}

static void
test_nul_is_rejected_not_truncated(void)
{
    struct req_params ps;
    static const char raw_nul[] = "redirect_uri=https://rp.example/cb\0.evil.com";

    /* SECURITY.md I2: https://rp.example/cb%00.evil must not turn into .../cb */
    T_EQ_INT(PARSE("redirect_uri=https%3A%2F%2Frp.example%2Fcb%00.evil.com", &ps), GH_EINVAL);
    req_params_free(&ps);
    T_EQ_INT(PARSE("a%00b=1", &ps), GH_EINVAL);
    req_params_free(&ps);
    T_EQ_INT(parse(raw_nul, sizeof(raw_nul) - 1, &ps), GH_EINVAL);
    req_params_free(&ps);
}

static void
test_control_characters_are_rejected(void)
{
    static const char *const bad[] = { "state=a%0d%0aSet-Cookie:x=y", "a=%09", "a=%7f",
        "a=%1b%5b2J", "a=\x01", "a%0a=1", "a=%c2%85", "a=%c2%9f" };
    struct req_params ps;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        T_EQ_INT(parse(bad[i], strlen(bad[i]), &ps), GH_EINVAL);
        req_params_free(&ps);
    }
    /* U+00A0 (C2 A0) is printable */
    T_EQ_INT(PARSE("a=%c2%a0", &ps), GH_OK);
    req_params_free(&ps);
}

static void
test_invalid_utf8_is_rejected(void)
{
    static const char *const bad[] = { "a=%c0%af", "a=%e0%80%af", "a=%ed%a0%80", "a=%ff",
        "a=%80", "a=%e2%82", "a=%f4%90%80%80", "a=\xc3", "%c3=1" };
    struct req_params ps;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        T_EQ_INT(parse(bad[i], strlen(bad[i]), &ps), GH_EINVAL);
        req_params_free(&ps);
    }
    T_EQ_INT(PARSE("a=%f0%9f%98%80", &ps), GH_OK);   /* U+1F600 */
    req_params_free(&ps);
}

static void
test_duplicate_names_are_rejected(void)
{
    struct req_params ps;

    /* RFC 6749 §3.1, SECURITY.md P27 */
    T_EQ_INT(PARSE("client_id=a&client_id=a", &ps), GH_EINVAL);
    req_params_free(&ps);
    T_EQ_INT(PARSE("scope=&scope=openid", &ps), GH_EINVAL);
    req_params_free(&ps);
    T_EQ_INT(PARSE("code=1&cod%65=2", &ps), GH_EINVAL);   /* same name once decoded */
    req_params_free(&ps);
    T_EQ_INT(PARSE("a+b=1&a%20b=2", &ps), GH_EINVAL);
    req_params_free(&ps);
    /* names are case-sensitive */
    T_EQ_INT(PARSE("state=1&State=2", &ps), GH_OK);
    req_params_free(&ps);
}

static void
test_duplicates_across_query_and_body_are_rejected(void)
{
    struct req_params ps;
    const char *why;

    req_params_init(&ps);
    T_EQ_INT(req_params_add(&ps, "client_id=a&x=1", 15, &why), GH_OK);
    T_EQ_INT(req_params_add(&ps, "code=1&client_id=b", 18, &why), GH_EINVAL);
    T_ASSERT(why != NULL);
    /* the failed source left the list as it was */
    T_EQ_INT(ps.n, 2);
    T_ASSERT(req_param(&ps, "code", NULL) == NULL);
    T_EQ_STR(req_param(&ps, "x", NULL), "1");
    T_EQ_INT(req_params_add(&ps, "code=1", 6, &why), GH_OK);
    T_EQ_INT(ps.n, 3);
    /* at most REQ_PARAMS_MAX_SRC sources */
    T_EQ_INT(req_params_add(&ps, "y=1", 3, &why), GH_EINVAL);
    req_params_free(&ps);
}

static void
test_empty_names_are_rejected(void)
{
    struct req_params ps;

    T_EQ_INT(PARSE("=x", &ps), GH_EINVAL);
    req_params_free(&ps);
    T_EQ_INT(PARSE("a=1&=", &ps), GH_EINVAL);
    req_params_free(&ps);
}

static void
test_parameter_count_is_bounded(void)
{
    struct req_params ps;
    char s[GH_MAX_PARAMS * 8 + 16];
    size_t o = 0;

    for (int i = 0; i < GH_MAX_PARAMS; i++)
        o += (size_t)snprintf(s + o, sizeof(s) - o, "p%d=1&", i);
    T_EQ_INT(parse(s, o, &ps), GH_OK);
    T_EQ_INT(ps.n, GH_MAX_PARAMS);
    req_params_free(&ps);
    o += (size_t)snprintf(s + o, sizeof(s) - o, "one=more");
    T_EQ_INT(parse(s, o, &ps), GH_ETOOBIG);
    T_EQ_INT(ps.n, 0);
    req_params_free(&ps);
}

static void
test_parameter_length_is_bounded_after_decoding(void)
{
    struct req_params ps;
    size_t n = 2 + 3 * (GH_MAX_PARAM_LEN + 1);
    char *s = malloc(n + 1);

    /* exactly GH_MAX_PARAM_LEN decoded bytes from three times as many encoded ones: fine */
    memcpy(s, "a=", 2);
    for (size_t i = 0; i < GH_MAX_PARAM_LEN; i++)
        memcpy(s + 2 + 3 * i, "%41", 3);
    T_EQ_INT(parse(s, 2 + 3 * GH_MAX_PARAM_LEN, &ps), GH_OK);
    T_EQ_INT(ps.p[0].value_len, GH_MAX_PARAM_LEN);
    req_params_free(&ps);
    /* one more decoded byte: too long */
    memcpy(s + 2 + 3 * GH_MAX_PARAM_LEN, "%41", 3);
    T_EQ_INT(parse(s, n, &ps), GH_ETOOBIG);
    req_params_free(&ps);
    /* the same for a name */
    memset(s, 'n', GH_MAX_PARAM_LEN + 1);
    s[GH_MAX_PARAM_LEN + 1] = '=';
    T_EQ_INT(parse(s, GH_MAX_PARAM_LEN + 2, &ps), GH_ETOOBIG);
    req_params_free(&ps);
    free(s);
}

/* Parameters that carry a JWT may be GH_MAX_JWT_LEN long (an RS256 assertion with a 4096-bit
 * key and a few claims is over 2 KiB); every other stays at GH_MAX_PARAM_LEN. */
static void
test_jwt_parameters_may_be_longer(void)
{
    static const char *const names[] = { "assertion", "client_assertion", "token",
        "id_token_hint" };
    struct req_params ps;
    char *s = malloc(32 + GH_MAX_JWT_LEN + 2);

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t nl = strlen(names[i]);
        memcpy(s, names[i], nl);
        s[nl] = '=';
        memset(s + nl + 1, 'e', GH_MAX_JWT_LEN + 1);
        T_EQ_INT(parse(s, nl + 1 + GH_MAX_JWT_LEN, &ps), GH_OK);
        T_EQ_INT(ps.p[0].value_len, GH_MAX_JWT_LEN);
        req_params_free(&ps);
        T_EQ_INT(parse(s, nl + 2 + GH_MAX_JWT_LEN, &ps), GH_ETOOBIG);
        req_params_free(&ps);
    }
    memcpy(s, "code=", 5);
    memset(s + 5, 'e', GH_MAX_PARAM_LEN + 1);
    T_EQ_INT(parse(s, 5 + GH_MAX_PARAM_LEN + 1, &ps), GH_ETOOBIG);
    req_params_free(&ps);
    T_EQ_INT(req_param_max("assertionx", 10), GH_MAX_PARAM_LEN);
    T_EQ_INT(req_param_max("assertion", 8), GH_MAX_PARAM_LEN);   /* "assertio" */
    free(s);
}

static void
test_total_length_is_bounded_before_allocating(void)
{
    struct req_params ps;
    char *s = malloc(GH_MAX_BODY + 1);

    memset(s, '&', GH_MAX_BODY + 1);
    T_EQ_INT(parse(s, GH_MAX_BODY, &ps), GH_OK);
    req_params_free(&ps);
    T_EQ_INT(parse(s, GH_MAX_BODY + 1, &ps), GH_ETOOBIG);
    req_params_free(&ps);
    free(s);
}

static void
test_input_need_not_be_terminated(void)
{
    struct req_params ps;
    const char s[] = { 'a', '=', '1', '&', 'b', '=', '2' };   /* no NUL */

    T_EQ_INT(parse(s, 5, &ps), GH_OK);   /* only "a=1&b" */
    T_EQ_INT(ps.n, 2);
    T_ASSERT(req_param(&ps, "b", NULL) == NULL);
    T_EQ_INT(ps.p[1].name_len, 1);
    req_params_free(&ps);
}

static void
test_request_target_is_split_raw(void)
{
    struct req *rq = req_new("/authorize?a=%41&b=c%00", 1, 2);

    T_ASSERT(!rq->uri_too_long);
    T_EQ_STR(rq->path, "/authorize");
    T_EQ_INT(rq->path_len, 10);
    T_EQ_STR(rq->query, "a=%41&b=c%00");
    T_EQ_INT(rq->query_len, 12);
    req_free(rq);

    rq = req_new("/jwks%2ejson", 1, 2);
    T_EQ_STR(rq->path, "/jwks%2ejson");   /* never decoded: the router sees the raw bytes */
    T_ASSERT(rq->query == NULL);
    req_free(rq);

    rq = req_new("/x?", 1, 2);
    T_ASSERT(rq->query != NULL);
    T_EQ_INT(rq->query_len, 0);
    req_free(rq);
}

static void
test_request_target_bounds(void)
{
    char *s = malloc(GH_MAX_PATH_LEN + GH_MAX_BODY + 8);
    struct req *rq;

    memset(s, 'a', GH_MAX_PATH_LEN + 1);
    s[0] = '/';
    s[GH_MAX_PATH_LEN] = '\0';
    rq = req_new(s, 0, 0);
    T_ASSERT(!rq->uri_too_long);
    req_free(rq);
    s[GH_MAX_PATH_LEN] = 'a';
    s[GH_MAX_PATH_LEN + 1] = '\0';
    rq = req_new(s, 0, 0);
    T_ASSERT(rq->uri_too_long);
    T_ASSERT(rq->uri == NULL);
    req_free(rq);

    memcpy(s, "/x?", 3);
    memset(s + 3, 'q', GH_MAX_BODY);
    s[3 + GH_MAX_BODY] = '\0';
    rq = req_new(s, 0, 0);
    T_ASSERT(!rq->uri_too_long);
    req_free(rq);
    s[3 + GH_MAX_BODY] = 'q';
    s[4 + GH_MAX_BODY] = '\0';
    rq = req_new(s, 0, 0);
    T_ASSERT(rq->uri_too_long);
    req_free(rq);
    free(s);
}

static void
test_query_parse_through_req(void)
{
    struct req *rq = req_new("/cb?code=abc&state=x%2By", 0, 0);
    struct req_params ps;
    const char *why;

    req_params_init(&ps);
    T_EQ_INT(req_query(rq, &ps, &why), GH_OK);
    T_EQ_STR(req_param(&ps, "state", NULL), "x+y");
    req_params_free(&ps);
    req_free(rq);

    rq = req_new("/cb", 0, 0);
    req_params_init(&ps);
    T_EQ_INT(req_query(rq, &ps, &why), GH_OK);
    T_EQ_INT(ps.n, 0);
    req_params_free(&ps);
    req_free(rq);
}

static void
test_methods_are_case_sensitive(void)
{
    T_EQ_INT(req_method_parse("GET"), REQ_GET);
    T_EQ_INT(req_method_parse("HEAD"), REQ_HEAD);
    T_EQ_INT(req_method_parse("get"), REQ_OTHER);
    T_EQ_INT(req_method_parse("GET "), REQ_OTHER);
    T_EQ_INT(req_method_parse(""), REQ_OTHER);
    T_EQ_INT(req_method_parse(NULL), REQ_OTHER);
    T_EQ_STR(req_method_name(REQ_POST), "POST");
}

static void
test_request_ids_are_hex_and_distinct(void)
{
    struct req *a = req_new("/", 0x0123456789abcdefULL, 1);
    struct req *b = req_new("/", 0x0123456789abcdefULL, 2);

    T_EQ_STR(req_rid(a), "0123456789abcdef00000001");
    T_ASSERT(strcmp(req_rid(a), req_rid(b)) != 0);
    req_free(a);
    req_free(b);
    a = req_new("/", 0xffffffffffffffffULL, 0x123456789ULL);
    T_EQ_STR(req_rid(a), "ffffffffffffffff123456789");
    req_free(a);
    a = req_new("/", 0, UINT64_MAX);
    T_EQ_STR(req_rid(a), "0000000000000000ffffffffffffffff");
    T_ASSERT(strlen(req_rid(a)) < REQ_RID_SIZE);
    req_free(a);
}

static void
test_if_none_match(void)
{
    const char *et = "\"abc\"";

#define INM(s) resp_inm_match(s, strlen(s), et)
    T_ASSERT(INM("\"abc\""));
    T_ASSERT(INM("*"));
    T_ASSERT(INM(" * "));
    T_ASSERT(INM("\"x\", \"abc\""));
    T_ASSERT(INM("\"x\",\"abc\",\"y\""));
    T_ASSERT(INM("W/\"abc\""));           /* weak comparison (RFC 9110 §13.1.2) */
    T_ASSERT(INM(",,\"abc\""));
    T_ASSERT(!INM("\"abcd\""));
    T_ASSERT(!INM("\"ab\""));
    T_ASSERT(!INM("abc"));
    T_ASSERT(!INM("\"abc"));
    T_ASSERT(!INM(""));
    T_ASSERT(!INM("\"x\" junk, \"abc\""));   /* malformed list: no match, full 200 */
    T_ASSERT(!INM("**"));
    T_ASSERT(!INM("w/\"abc\""));
    T_ASSERT(!resp_inm_match("\"abc\"", 4, et));   /* length is honoured */
#undef INM
}

static void
test_form_content_type_is_exact(void)
{
    static const char *const good[] = { "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-Urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
        "application/x-www-form-urlencoded;charset=UTF-8",
        "application/x-www-form-urlencoded ; charset=utf-8 " };
    static const char *const bad[] = { "", "text/plain", "multipart/form-data",
        "application/x-www-form-urlencodedx", "application/x-www-form-urlencoded;",
        "application/x-www-form-urlencoded; charset=latin1",
        "application/x-www-form-urlencoded; charset=utf-8; x=y",
        "application/json, application/x-www-form-urlencoded" };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        T_ASSERT(req_is_form_type(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        T_ASSERT(!req_is_form_type(bad[i], strlen(bad[i])));
    T_ASSERT(!req_is_form_type(NULL, 0));
}

/* ---- Authorization: Basic ------------------------------------------------------------ */

static int
basic(const char *hdr, char **user, char **pass)
{
    return req_basic_decode(hdr, hdr ? strlen(hdr) : 0, user, pass);
}

static void
test_basic_decodes_rfc6749_example(void)
{
    char *u = NULL, *p = NULL;

    /* RFC 6749 §2.3.1 */
    T_EQ_INT(basic("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW", &u, &p), GH_OK);
    T_EQ_STR(u, "s6BhdRkqt3");
    T_EQ_STR(p, "gX1fBat3bV");
    free(u);
    str_wipe_free(p);
}

static void
test_basic_form_decodes_both_parts(void)
{
    char *u = NULL, *p = NULL;

    /* "a%3Ab:secret": a colon in a client id travels percent-encoded */
    T_EQ_INT(basic("Basic YSUzQWI6c2VjcmV0", &u, &p), GH_OK);
    T_EQ_STR(u, "a:b");
    T_EQ_STR(p, "secret");
    free(u);
    str_wipe_free(p);
    /* "my+client:p%2Bw+d": '+' is a space, %2B a plus */
    T_EQ_INT(basic("Basic bXkrY2xpZW50OnAlMkJ3K2Q=", &u, &p), GH_OK);
    T_EQ_STR(u, "my client");
    T_EQ_STR(p, "p+w d");
    free(u);
    str_wipe_free(p);
    /* "u:a:b": split at the first colon, the password keeps the rest */
    T_EQ_INT(basic("Basic dTphOmI=", &u, &p), GH_OK);
    T_EQ_STR(u, "u");
    T_EQ_STR(p, "a:b");
    free(u);
    str_wipe_free(p);
    /* "u:": an empty secret is syntactically fine (client_auth decides) */
    T_EQ_INT(basic("Basic dTo=", &u, &p), GH_OK);
    T_EQ_STR(u, "u");
    T_EQ_STR(p, "");
    free(u);
    str_wipe_free(p);
    /* "u%C3%A9:p\xc3\xa9": UTF-8 either way */
    T_EQ_INT(basic("Basic dSVDMyVBOTpww6k=", &u, &p), GH_OK);
    T_EQ_STR(u, "u\xc3\xa9");
    T_EQ_STR(p, "p\xc3\xa9");
    free(u);
    str_wipe_free(p);
}

static void
test_basic_scheme_is_case_insensitive_spaces_are_1_or_more(void)
{
    static const char *const good[] = { "basic dXNlcjpwYXNz", "BASIC dXNlcjpwYXNz",
        "bAsIc   dXNlcjpwYXNz" };
    char *u = NULL, *p = NULL;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        T_EQ_INT(basic(good[i], &u, &p), GH_OK);
        T_EQ_STR(u, "user");
        T_EQ_STR(p, "pass");
        free(u);
        str_wipe_free(p);
    }
}

static void
test_basic_other_schemes_are_not_found(void)
{
    static const char *const other[] = { "Bearer dXNlcjpwYXNz", "Basicx dXNlcjpwYXNz",
        "Digest username=\"x\"", "Bas dXNlcjpwYXNz", "Negotiate" };
    char *u = (char *)1, *p = (char *)1;

    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        T_EQ_INT(basic(other[i], &u, &p), GH_ENOTFOUND);
        T_ASSERT(u == NULL && p == NULL);
    }
    T_EQ_INT(basic(NULL, &u, &p), GH_ENOTFOUND);
}

static void
test_basic_malformed_is_rejected(void)
{
    static const char *const bad[] = {
        "", " Basic dXNlcjpwYXNz", "Basic", "Basic ", "Basic\tdXNlcjpwYXNz",
        "Basic dXNlcjpwYXNz ", "Basic dXNlcjpwYXNz,", "Basic dXNl cjpwYXNz",
        "Basic dXNlcjpwYXM",         /* no padding: standard base64 keeps it */
        "Basic dXNlcjpwYXM=x", "Basic dXNlcjpwYXM==", "Basic ====", "Basic d===",
        "Basic =XNlcjpwYXNz", "Basic dX=lcjpwYXNz",
        "Basic YWI6Yx==",            /* non-zero pad bits: "ab:c" is YWI6Yw== */
        "Basic dTp=",                /* the same, one '=' */
        "Basic bXkrY2xpZW50OnAlMkJ3K2Q", "Basic bXkrY2xpZW50OnAlMkJ3K2Q-",
        "Basic YSUzQWI6c2VjcmV0_-",  /* base64url characters */
        "Basic dXNlcnBhc3M=",        /* "userpass": no colon */
        "Basic OnBhc3M=",            /* ":pass": empty client id */
        "Basic dXMBZXI6cGFzcw==",    /* "us\x01er:pass" */
        "Basic dXNlcjpwYSUwQXNz",    /* "user:pa%0Ass": LF after form-decoding */
        "Basic df86cA==",            /* "u\xff:p" */
        "Basic dSV6ejpw",            /* "u%zz:p" */
        "Basic dSUwMDpw",            /* "u%00:p" */
        "Basic dTpwJWZm",            /* "u:p%ff": invalid UTF-8 once decoded */
    };
    char *u = (char *)1, *p = (char *)1;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (basic(bad[i], &u, &p) != GH_EINVAL)
            T_FAIL_("\"%s\" was not refused as malformed", bad[i]);
        T_ASSERT(u == NULL && p == NULL);
    }
}

static void
test_basic_nul_in_the_header_is_not_a_terminator(void)
{
    static const char h[] = "Basic dXNlcjpwYXNz\0junk";
    char *u = NULL, *p = NULL;

    T_EQ_INT(req_basic_decode(h, sizeof(h) - 1, &u, &p), GH_EINVAL);
    T_EQ_INT(req_basic_decode(h, 18, &u, &p), GH_OK);
    T_EQ_STR(u, "user");
    free(u);
    str_wipe_free(p);
}

static void
test_basic_length_is_bounded(void)
{
    /* "Basic " + 1022 quanta = 4094 bytes: "uuu" x 1021 + "u:p" */
    size_t n = 6 + 4 * 1022;
    char *h = malloc(n + 4 + 1);
    char *u = NULL, *p = NULL;

    memcpy(h, "Basic ", 6);
    for (size_t i = 0; i < 1021; i++)
        memcpy(h + 6 + 4 * i, "dXV1", 4);
    memcpy(h + n - 4, "dTpw", 4);
    T_ASSERT(n <= GH_MAX_TOKEN_LEN);
    T_EQ_INT(req_basic_decode(h, n, &u, &p), GH_OK);
    T_EQ_INT(strlen(u), 3064);
    T_EQ_STR(p, "p");
    free(u);
    str_wipe_free(p);
    /* one more quantum is over GH_MAX_TOKEN_LEN: refused before decoding */
    memcpy(h + n - 4, "dXV1dTpw", 8);
    T_ASSERT(n + 4 > GH_MAX_TOKEN_LEN);
    T_EQ_INT(req_basic_decode(h, n + 4, &u, &p), GH_ETOOBIG);
    T_ASSERT(u == NULL && p == NULL);
    /* another scheme is not ours to measure */
    memcpy(h, "Other ", 6);
    T_EQ_INT(req_basic_decode(h, n + 4, &u, &p), GH_ENOTFOUND);
    free(h);
}

/* ---- Authorization: Bearer ----------------------------------------------------------- */

static int
bearer(const char *hdr, const char **tok, size_t *len)
{
    return req_bearer_parse(hdr, hdr ? strlen(hdr) : 0, tok, len);
}

static void
test_bearer_accepts_b64token(void)
{
    static const char *const good[] = { "Bearer mF_9.B5f-4.1JqM", "bearer mF_9.B5f-4.1JqM",
        "BEARER   mF_9.B5f-4.1JqM" };
    const char *t = NULL;
    size_t len = 0;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        T_EQ_INT(bearer(good[i], &t, &len), GH_OK);
        T_EQ_INT(len, 15);
        T_EQ_STR(t, "mF_9.B5f-4.1JqM");
    }
    T_EQ_INT(bearer("Bearer a+b/c~d==", &t, &len), GH_OK);
    T_EQ_STR(t, "a+b/c~d==");
    T_EQ_INT(bearer("Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln", &t, &len), GH_OK);
    T_EQ_INT(len, strlen("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"));
}

static void
test_bearer_malformed_is_rejected(void)
{
    static const char *const bad[] = { "", " Bearer abc", "Bearer", "Bearer ", "Bearer\tabc",
        "Bearer abc ", "Bearer abc def", "Bearer a=b", "Bearer =", "Bearer ==abc",
        "Bearer abc,", "Bearer abc, error=\"x\"", "Bearer \"abc\"", "Bearer ab%63",
        "Bearer caf\xc3\xa9", "Bearer abc\r\nX: y" };
    const char *t = (const char *)1;
    size_t len = 1;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (bearer(bad[i], &t, &len) != GH_EINVAL)
            T_FAIL_("\"%s\" was not refused as malformed", bad[i]);
        T_ASSERT(t == NULL && len == 0);
    }
    T_EQ_INT(req_bearer_parse("Bearer abc\0def", 14, &t, &len), GH_EINVAL);
}

static void
test_bearer_other_schemes_are_not_found(void)
{
    const char *t;
    size_t len;

    T_EQ_INT(bearer("Basic dXNlcjpwYXNz", &t, &len), GH_ENOTFOUND);
    T_EQ_INT(bearer("Bearerx abc", &t, &len), GH_ENOTFOUND);
    T_EQ_INT(bearer("DPoP abc", &t, &len), GH_ENOTFOUND);
    T_EQ_INT(bearer(NULL, &t, &len), GH_ENOTFOUND);
}

static void
test_bearer_length_is_bounded(void)
{
    size_t n = 7 + GH_MAX_JWT_LEN + 1;
    char *h = malloc(n + 1);
    const char *t;
    size_t len;

    memcpy(h, "Bearer ", 7);
    memset(h + 7, 'A', n - 7);
    h[n] = '\0';
    T_EQ_INT(req_bearer_parse(h, n, &t, &len), GH_ETOOBIG);
    T_ASSERT(t == NULL);
    T_EQ_INT(req_bearer_parse(h, n - 1, &t, &len), GH_OK);
    T_EQ_INT(len, GH_MAX_JWT_LEN);
    free(h);
}

static void
test_accessors_without_a_connection(void)
{
    struct req *rq = req_new("/userinfo", 0, 0);
    const char *t = (const char *)1;
    char *u = (char *)1, *p = (char *)1;
    size_t len = 5;

    T_EQ_INT(req_basic(rq, &u, &p), GH_ENOTFOUND);
    T_ASSERT(u == NULL && p == NULL);
    T_EQ_INT(req_bearer(rq, &t, &len), GH_ENOTFOUND);
    T_ASSERT(t == NULL && len == 0);
    T_ASSERT(req_cookie(rq, "gh_sid", &len) == NULL);
    T_EQ_INT(len, 0);
    T_ASSERT(req_cookie(rq, "gh_sid", NULL) == NULL);
    T_EQ_STR(req_client_ip(rq), "");
    req_free(rq);
}

int
main(void)
{
    t_init("req");
    T_RUN(test_decodes_escapes_plus_and_keeps_order);
    T_RUN(test_escaped_separators_stay_data);
    T_RUN(test_empty_segments_are_skipped_and_empty_input_is_fine);
    T_RUN(test_value_may_contain_equals);
    T_RUN(test_bad_percent_escapes_are_rejected);
    T_RUN(test_nul_is_rejected_not_truncated);
    T_RUN(test_control_characters_are_rejected);
    T_RUN(test_invalid_utf8_is_rejected);
    T_RUN(test_duplicate_names_are_rejected);
    T_RUN(test_duplicates_across_query_and_body_are_rejected);
    T_RUN(test_empty_names_are_rejected);
    T_RUN(test_parameter_count_is_bounded);
    T_RUN(test_parameter_length_is_bounded_after_decoding);
    T_RUN(test_jwt_parameters_may_be_longer);
    T_RUN(test_total_length_is_bounded_before_allocating);
    T_RUN(test_input_need_not_be_terminated);
    T_RUN(test_request_target_is_split_raw);
    T_RUN(test_request_target_bounds);
    T_RUN(test_query_parse_through_req);
    T_RUN(test_methods_are_case_sensitive);
    T_RUN(test_request_ids_are_hex_and_distinct);
    T_RUN(test_if_none_match);
    T_RUN(test_form_content_type_is_exact);
    T_RUN(test_basic_decodes_rfc6749_example);
    T_RUN(test_basic_form_decodes_both_parts);
    T_RUN(test_basic_scheme_is_case_insensitive_spaces_are_1_or_more);
    T_RUN(test_basic_other_schemes_are_not_found);
    T_RUN(test_basic_malformed_is_rejected);
    T_RUN(test_basic_nul_in_the_header_is_not_a_terminator);
    T_RUN(test_basic_length_is_bounded);
    T_RUN(test_bearer_accepts_b64token);
    T_RUN(test_bearer_malformed_is_rejected);
    T_RUN(test_bearer_other_schemes_are_not_found);
    T_RUN(test_bearer_length_is_bounded);
    T_RUN(test_accessors_without_a_connection);
    return t_done();
}
