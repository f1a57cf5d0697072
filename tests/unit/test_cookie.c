/* test_cookie.c — the Cookie header parser against what shared hosts and attackers send
 * (other applications' malformed cookies, planted duplicates, oversized headers and values,
 * quoting, whitespace variants) and the Set-Cookie formatter (attributes, deletion, the
 * __Host-/__Secure- prefixes, refusal of header-splitting bytes). Pure parsing: no daemon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "http/cookie.h"
#include "t.h"

#define PARSE(lit, jar) cookie_parse(lit, sizeof(lit) - 1, jar)

static void
test_pairs_are_split_at_semicolons(void)
{
    struct cookie_jar jar;
    size_t len = 99;

    T_EQ_INT(PARSE("a=1; b=two; c=", &jar), GH_OK);
    T_EQ_INT(jar.n, 3);
    T_EQ_STR(cookie_get(&jar, "a", &len), "1");
    T_EQ_INT(len, 1);
    T_EQ_STR(cookie_get(&jar, "b", NULL), "two");
    T_EQ_STR(cookie_get(&jar, "c", &len), "");   /* present, empty */
    T_EQ_INT(len, 0);
    T_ASSERT(cookie_get(&jar, "d", &len) == NULL);
    T_EQ_INT(len, 0);
    cookie_jar_free(&jar);
}

static void
test_missing_space_tabs_and_padding_are_tolerated(void)
{
    struct cookie_jar jar;

    T_EQ_INT(PARSE("a=1;b=2;\tc=3 ;  d = 4\t;e=5;", &jar), GH_OK);
    T_EQ_INT(jar.n, 5);
    T_EQ_STR(cookie_get(&jar, "a", NULL), "1");
    T_EQ_STR(cookie_get(&jar, "b", NULL), "2");
    T_EQ_STR(cookie_get(&jar, "c", NULL), "3");
    T_EQ_STR(cookie_get(&jar, "d", NULL), "4");
    T_EQ_STR(cookie_get(&jar, "e", NULL), "5");
    cookie_jar_free(&jar);
}

static void
test_foreign_malformed_pairs_are_skipped(void)
{
    struct cookie_jar jar;

    /* on a shared host other applications' cookies arrive too: none of them may stop ours */
    T_EQ_INT(PARSE("junk; x=\"open; y=a b; =noname; bad name=1; v=a,b; w=back\\slash; "
                   "q=\"x\"y\"; u=caf\xc3\xa9; ctl=a\x01; __Host-gh_sid=abc_DEF-123; z=ok",
                 &jar),
        GH_OK);
    T_EQ_INT(jar.n, 2);
    T_EQ_STR(cookie_get(&jar, "__Host-gh_sid", NULL), "abc_DEF-123");
    T_EQ_STR(cookie_get(&jar, "z", NULL), "ok");
    T_ASSERT(cookie_get(&jar, "x", NULL) == NULL);
    T_ASSERT(cookie_get(&jar, "y", NULL) == NULL);
    T_ASSERT(cookie_get(&jar, "junk", NULL) == NULL);
    T_ASSERT(cookie_get(&jar, "", NULL) == NULL);
    T_ASSERT(cookie_get(&jar, "u", NULL) == NULL);
    cookie_jar_free(&jar);
}

static void
test_nul_inside_the_header_does_not_truncate(void)
{
    struct cookie_jar jar;
    static const char h[] = "a=1\0x; b=2";

    T_EQ_INT(cookie_parse(h, sizeof(h) - 1, &jar), GH_OK);
    T_ASSERT(cookie_get(&jar, "a", NULL) == NULL);   /* "1\0x" is not a cookie value */
    T_EQ_STR(cookie_get(&jar, "b", NULL), "2");
    cookie_jar_free(&jar);
}

static void
test_duplicate_names_are_absent(void)
{
    struct cookie_jar jar;

    /* RFC 6265 §8.6: a sibling domain can plant a second copy; neither is trusted */
    T_EQ_INT(PARSE("sid=attacker; other=1; sid=real", &jar), GH_OK);
    T_ASSERT(cookie_get(&jar, "sid", NULL) == NULL);
    T_EQ_STR(cookie_get(&jar, "other", NULL), "1");
    cookie_jar_free(&jar);
    /* the same value twice is still two cookies */
    T_EQ_INT(PARSE("sid=a;sid=a", &jar), GH_OK);
    T_ASSERT(cookie_get(&jar, "sid", NULL) == NULL);
    cookie_jar_free(&jar);
    /* a malformed copy is skipped, not counted: it could never be used */
    T_EQ_INT(PARSE("sid=\"bad value\"; sid=good", &jar), GH_OK);
    T_EQ_STR(cookie_get(&jar, "sid", NULL), "good");
    cookie_jar_free(&jar);
    /* names are case-sensitive */
    T_EQ_INT(PARSE("SID=1; sid=2", &jar), GH_OK);
    T_EQ_STR(cookie_get(&jar, "sid", NULL), "2");
    T_EQ_STR(cookie_get(&jar, "SID", NULL), "1");
    cookie_jar_free(&jar);
}

static void
test_quoted_values_lose_one_pair_of_quotes(void)
{
    struct cookie_jar jar;
    size_t len = 9;

    T_EQ_INT(PARSE("a=\"xyz\"; b=\"\"; c=\"; d=\"\"\"\"; e=x\"", &jar), GH_OK);
    T_EQ_STR(cookie_get(&jar, "a", &len), "xyz");
    T_EQ_INT(len, 3);
    T_EQ_STR(cookie_get(&jar, "b", &len), "");
    T_EQ_INT(len, 0);
    T_ASSERT(cookie_get(&jar, "c", NULL) == NULL);
    T_ASSERT(cookie_get(&jar, "d", NULL) == NULL);
    T_ASSERT(cookie_get(&jar, "e", NULL) == NULL);
    cookie_jar_free(&jar);
}

static void
test_values_may_hold_equals_signs(void)
{
    struct cookie_jar jar;

    T_EQ_INT(PARSE("a=b=c==", &jar), GH_OK);
    T_EQ_STR(cookie_get(&jar, "a", NULL), "b=c==");
    cookie_jar_free(&jar);
}

static void
test_empty_and_absent_headers(void)
{
    struct cookie_jar jar;

    T_EQ_INT(cookie_parse(NULL, 0, &jar), GH_OK);
    T_EQ_INT(jar.n, 0);
    T_ASSERT(jar.mem == NULL);
    T_ASSERT(cookie_get(&jar, "a", NULL) == NULL);
    cookie_jar_free(&jar);
    T_EQ_INT(PARSE("", &jar), GH_OK);
    T_EQ_INT(jar.n, 0);
    cookie_jar_free(&jar);
    T_EQ_INT(PARSE(";;; ; \t;", &jar), GH_OK);
    T_EQ_INT(jar.n, 0);
    cookie_jar_free(&jar);
    T_ASSERT(cookie_get(NULL, "a", NULL) == NULL);
}

static void
test_pair_count_is_bounded_but_duplicates_still_count(void)
{
    struct cookie_jar jar;
    char h[GH_MAX_COOKIES * 16 + 64];
    size_t o = 0;

    for (int i = 0; i < GH_MAX_COOKIES + 1; i++)
        o += (size_t)snprintf(h + o, sizeof(h) - o, "c%d=%d; ", i, i);
    T_EQ_INT(cookie_parse(h, o, &jar), GH_OK);
    T_EQ_INT(jar.n, GH_MAX_COOKIES);
    T_EQ_STR(cookie_get(&jar, "c0", NULL), "0");
    T_ASSERT(cookie_get(&jar, "c15", NULL) != NULL);
    T_ASSERT(cookie_get(&jar, "c16", NULL) == NULL);   /* dropped */
    cookie_jar_free(&jar);
    /* a second copy arriving after the jar is full still voids the first */
    o += (size_t)snprintf(h + o, sizeof(h) - o, "c3=planted");
    T_EQ_INT(cookie_parse(h, o, &jar), GH_OK);
    T_ASSERT(cookie_get(&jar, "c3", NULL) == NULL);
    cookie_jar_free(&jar);
}

static void
test_value_length_is_bounded(void)
{
    struct cookie_jar jar;
    char h[GH_MAX_COOKIE_VALUE + 32];

    memcpy(h, "v=", 2);
    memset(h + 2, 'x', GH_MAX_COOKIE_VALUE + 1);
    memcpy(h + 3 + GH_MAX_COOKIE_VALUE, "; w=1", 5);
    T_EQ_INT(cookie_parse(h, 8 + GH_MAX_COOKIE_VALUE, &jar), GH_OK);
    T_ASSERT(cookie_get(&jar, "v", NULL) == NULL);   /* one byte over: skipped */
    T_EQ_STR(cookie_get(&jar, "w", NULL), "1");
    cookie_jar_free(&jar);
    T_EQ_INT(cookie_parse(h, 2 + GH_MAX_COOKIE_VALUE, &jar), GH_OK);
    T_EQ_INT(strlen(cookie_get(&jar, "v", NULL)), GH_MAX_COOKIE_VALUE);
    cookie_jar_free(&jar);
}

static void
test_header_length_is_bounded_before_copying(void)
{
    struct cookie_jar jar;
    char *h = malloc(GH_MAX_COOKIE_HEADER + 1);

    memset(h, ';', GH_MAX_COOKIE_HEADER + 1);
    memcpy(h, "a=1", 3);
    T_EQ_INT(cookie_parse(h, GH_MAX_COOKIE_HEADER, &jar), GH_OK);
    T_EQ_STR(cookie_get(&jar, "a", NULL), "1");
    cookie_jar_free(&jar);
    T_EQ_INT(cookie_parse(h, GH_MAX_COOKIE_HEADER + 1, &jar), GH_ETOOBIG);
    T_EQ_INT(jar.n, 0);
    T_ASSERT(jar.mem == NULL);
    T_ASSERT(cookie_get(&jar, "a", NULL) == NULL);
    cookie_jar_free(&jar);
    free(h);
}

static void
test_input_need_not_be_terminated_and_is_copied(void)
{
    struct cookie_jar jar;
    char h[] = { 'a', '=', '1', ';', 'b', '=', '2' };

    T_EQ_INT(cookie_parse(h, 5, &jar), GH_OK);   /* "a=1;b" */
    T_EQ_STR(cookie_get(&jar, "a", NULL), "1");
    T_ASSERT(cookie_get(&jar, "b", NULL) == NULL);
    h[2] = '9';   /* the jar holds its own copy */
    T_EQ_STR(cookie_get(&jar, "a", NULL), "1");
    cookie_jar_free(&jar);
    T_EQ_INT(jar.n, 0);
    T_ASSERT(jar.mem == NULL);
    cookie_jar_free(&jar);   /* a freed (zeroed) jar may be freed again */
}

/* ---- Set-Cookie --------------------------------------------------------------------- */

static void
test_format_session_and_persistent_cookies(void)
{
    char out[256];

    T_EQ_INT(cookie_format(out, sizeof(out), "gh_sid", "abc-_1", -1, false), GH_OK);
    T_EQ_STR(out, "gh_sid=abc-_1; Path=/; HttpOnly; SameSite=Lax");
    T_EQ_INT(cookie_format(out, sizeof(out), "__Host-gh_sid", "abc", 3600, true), GH_OK);
    T_EQ_STR(out, "__Host-gh_sid=abc; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=3600");
}

static void
test_format_max_age_zero_deletes(void)
{
    char out[256];

    T_EQ_INT(cookie_format(out, sizeof(out), "gh_sid", "secret", 0, false), GH_OK);
    T_EQ_STR(out, "gh_sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    T_EQ_INT(cookie_format(out, sizeof(out), "__Host-gh_sid", NULL, 0, true), GH_OK);
    T_EQ_STR(out, "__Host-gh_sid=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0");
}

static void
test_format_host_and_secure_prefixes_require_secure(void)
{
    char out[256];

    /* RFC 6265bis §4.1.3: the browser would drop these anyway */
    T_EQ_INT(cookie_format(out, sizeof(out), "__Host-gh_sid", "abc", -1, false), GH_EINVAL);
    T_EQ_STR(out, "");
    T_EQ_INT(cookie_format(out, sizeof(out), "__host-gh_sid", "abc", -1, false), GH_EINVAL);
    T_EQ_INT(cookie_format(out, sizeof(out), "__Secure-x", "abc", -1, false), GH_EINVAL);
    T_EQ_INT(cookie_format(out, sizeof(out), "__Host-gh_sid", "abc", 0, false), GH_EINVAL);
    T_EQ_INT(cookie_format(out, sizeof(out), "__Secure-x", "abc", -1, true), GH_OK);
}

static void
test_format_refuses_bad_names_and_values(void)
{
    static const char *const bad_values[] = { "a;b", "a b", "a\r\nSet-Cookie: x=y", "\"q\"",
        "a,b", "a\\b", "caf\xc3\xa9", "a\tb", "\x7f" };
    static const char *const bad_names[] = { "", "a=b", "a b", "a;", "a\r\n", "(x)", "\xc3\xa9",
        "a\"" };
    char out[256], *big;

    for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++)
        T_EQ_INT(cookie_format(out, sizeof(out), "n", bad_values[i], -1, true), GH_EINVAL);
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
        T_EQ_INT(cookie_format(out, sizeof(out), bad_names[i], "v", -1, true), GH_EINVAL);
    T_EQ_INT(cookie_format(out, sizeof(out), NULL, "v", -1, true), GH_EINVAL);
    T_EQ_INT(cookie_format(out, sizeof(out), "n", NULL, -1, true), GH_EINVAL);
    /* a value our own parser would skip is refused */
    big = malloc(GH_MAX_COOKIE_VALUE + 2);
    memset(big, 'x', GH_MAX_COOKIE_VALUE + 1);
    big[GH_MAX_COOKIE_VALUE + 1] = '\0';
    T_EQ_INT(cookie_format(out, sizeof(out), "n", big, -1, true), GH_EINVAL);
    free(big);
}

static void
test_format_reports_a_short_buffer(void)
{
    char out[64];
    const char *want = "n=v; Path=/; HttpOnly; SameSite=Lax";
    size_t n = strlen(want);

    T_EQ_INT(cookie_format(out, n, "n", "v", -1, false), GH_ETOOBIG);
    T_EQ_STR(out, "");
    T_EQ_INT(cookie_format(out, n + 1, "n", "v", -1, false), GH_OK);
    T_EQ_STR(out, want);
    T_EQ_INT(cookie_format(out, 0, "n", "v", -1, false), GH_ETOOBIG);
}

static void
test_formatted_cookie_parses_back(void)
{
    char out[256];
    struct cookie_jar jar;
    const char *semi;

    T_EQ_INT(cookie_format(out, sizeof(out), "__Host-gh_sid", "Zm9vYmFy_-", 60, true), GH_OK);
    semi = strchr(out, ';');
    T_EQ_INT(cookie_parse(out, (size_t)(semi - out), &jar), GH_OK);
    T_EQ_STR(cookie_get(&jar, "__Host-gh_sid", NULL), "Zm9vYmFy_-");
    cookie_jar_free(&jar);
}

int
main(void)
{
    t_init("cookie");
    T_RUN(test_pairs_are_split_at_semicolons);
    T_RUN(test_missing_space_tabs_and_padding_are_tolerated);
    T_RUN(test_foreign_malformed_pairs_are_skipped);
    T_RUN(test_nul_inside_the_header_does_not_truncate);
    T_RUN(test_duplicate_names_are_absent);
    T_RUN(test_quoted_values_lose_one_pair_of_quotes);
    T_RUN(test_values_may_hold_equals_signs);
    T_RUN(test_empty_and_absent_headers);
    T_RUN(test_pair_count_is_bounded_but_duplicates_still_count);
    T_RUN(test_value_length_is_bounded);
    T_RUN(test_header_length_is_bounded_before_copying);
    T_RUN(test_input_need_not_be_terminated_and_is_copied);
    T_RUN(test_format_session_and_persistent_cookies);
    T_RUN(test_format_max_age_zero_deletes);
    T_RUN(test_format_host_and_secure_prefixes_require_secure);
    T_RUN(test_format_refuses_bad_names_and_values);
    T_RUN(test_format_reports_a_short_buffer);
    T_RUN(test_formatted_cookie_parses_back);
    return t_done();
}
