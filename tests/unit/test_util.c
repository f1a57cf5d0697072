/* test_util.c — util/ (str, buf, b64url, url) and core/log's escaping. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "t.h"
#include "util/b64url.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/url.h"

static void
test_str_to_u64_strict(void)
{
    uint64_t v = 7;

    T_EQ_INT(str_to_u64("42", 0, 100, &v), GH_OK);
    T_EQ_INT(v, 42);
    T_EQ_INT(str_to_u64("", 0, 100, &v), GH_EINVAL);
    T_EQ_INT(str_to_u64("-1", 0, 100, &v), GH_EINVAL);
    T_EQ_INT(str_to_u64(" 1", 0, 100, &v), GH_EINVAL);
    T_EQ_INT(str_to_u64("1x", 0, 100, &v), GH_EINVAL);
    T_EQ_INT(str_to_u64("101", 0, 100, &v), GH_ETOOBIG);
    T_EQ_INT(str_to_u64("18446744073709551616", 0, UINT64_MAX, &v), GH_ETOOBIG);
    T_EQ_INT(str_to_u64("18446744073709551615", 0, UINT64_MAX, &v), GH_OK);
    T_ASSERT(v == UINT64_MAX);
}

static void
test_str_copy_truncates_and_reports(void)
{
    char b[4];

    T_EQ_INT(str_copy(b, sizeof(b), "abc"), GH_OK);
    T_EQ_STR(b, "abc");
    T_EQ_INT(str_copy(b, sizeof(b), "abcd"), GH_ETOOBIG);
    T_EQ_STR(b, "abc");
}

static void
test_utf8_rejects_overlongs_and_surrogates(void)
{
    T_ASSERT(str_utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x94\x91", 15));
    T_ASSERT(!str_utf8_valid("\xc0\xaf", 2));          /* overlong '/' */
    T_ASSERT(!str_utf8_valid("\xe0\x80\xaf", 3));      /* overlong */
    T_ASSERT(!str_utf8_valid("\xed\xa0\x80", 3));      /* surrogate U+D800 */
    T_ASSERT(!str_utf8_valid("\xf4\x90\x80\x80", 4));  /* > U+10FFFF */
    T_ASSERT(!str_utf8_valid("\xc3", 1));              /* truncated */
    T_ASSERT(!str_utf8_valid("\xff", 1));
}

static void
test_split_lists(void)
{
    char **l = NULL;

    T_EQ_INT(str_split("a, b,,c  d", 8, 16, &l), GH_OK);
    T_EQ_INT(str_list_len(l), 4);
    T_EQ_STR(l[0], "a");
    T_EQ_STR(l[3], "d");
    T_ASSERT(str_list_has(l, "c"));
    T_ASSERT(!str_list_has(l, "e"));
    char *j = str_list_join(l, " ");
    T_EQ_STR(j, "a b c d");
    free(j);
    str_list_free(l);
    T_EQ_INT(str_split("a b c", 2, 16, &l), GH_ETOOBIG);
    T_ASSERT(l == NULL);
    T_EQ_INT(str_split("abcdef", 2, 3, &l), GH_EINVAL);
    T_EQ_INT(str_split("", 2, 3, &l), GH_OK);
    T_EQ_INT(str_list_len(l), 0);
    str_list_free(l);
}

static void
test_buf_ceiling(void)
{
    struct buf b;

    buf_init(&b, 8);
    T_EQ_INT(buf_addstr(&b, "12345"), GH_OK);
    T_EQ_INT(buf_printf(&b, "%d", 678), GH_OK);
    T_EQ_STR(buf_str(&b), "12345678");
    T_EQ_INT(buf_addstr(&b, "9"), GH_ETOOBIG);
    T_EQ_INT(b.len, 0); /* emptied on overflow */
    T_EQ_STR(buf_str(&b), "");
    buf_free(&b);
}

static void
test_b64url_roundtrip_and_strictness(void)
{
    const unsigned char in[] = { 0xfb, 0xff, 0x00, 0x10, 0x83 };
    unsigned char out[16];
    size_t n;
    char enc[16];

    for (size_t len = 0; len <= sizeof(in); len++) {
        T_EQ_INT(b64url_encode(in, len, enc, sizeof(enc)), GH_OK);
        T_EQ_INT(strlen(enc), b64url_enc_len(len));
        T_EQ_INT(b64url_decode(enc, strlen(enc), out, sizeof(out), &n), GH_OK);
        T_EQ_INT(n, len);
        T_ASSERT(memcmp(in, out, len) == 0);
    }
    T_EQ_INT(b64url_encode(in, 3, enc, sizeof(enc)), GH_OK);
    T_EQ_STR(enc, "-_8A");
    T_EQ_INT(b64url_decode("-_8A", 4, out, sizeof(out), &n), GH_OK);
    T_EQ_INT(b64url_decode("+/8A", 4, out, sizeof(out), &n), GH_EINVAL); /* not base64url */
    T_EQ_INT(b64url_decode("QQ==", 4, out, sizeof(out), &n), GH_EINVAL); /* padding */
    T_EQ_INT(b64url_decode("QUJDR", 5, out, sizeof(out), &n), GH_EINVAL); /* len % 4 == 1 */
    T_EQ_INT(b64url_decode("QR", 2, out, sizeof(out), &n), GH_EINVAL); /* non-zero spare bits */
    T_EQ_INT(b64url_decode("QQ", 2, out, sizeof(out), &n), GH_OK);
    T_EQ_INT(b64url_decode("QU JD", 5, out, sizeof(out), &n), GH_EINVAL);
    T_EQ_INT(b64url_decode("QUJDREVG", 8, out, 5, &n), GH_ETOOBIG);
}

static void
test_url_parse_accepts(void)
{
    struct url u;
    const char *why;

    T_EQ_INT(url_parse("https://rp.example/cb?x=1", &u, &why), GH_OK);
    T_EQ_STR(u.scheme, "https");
    T_EQ_STR(u.host, "rp.example");
    T_ASSERT(u.has_query);
    T_EQ_INT(url_parse("http://[::1]:8080/cb", &u, &why), GH_OK);
    T_EQ_STR(u.host, "::1");
    T_EQ_INT(u.port, 8080);
    T_EQ_INT(url_parse("com.example.app:/oauth2redirect", &u, &why), GH_OK);
    T_ASSERT(!u.has_authority);
    T_EQ_INT(url_parse("https://rp.example/%63b", &u, &why), GH_OK);
}

static void
test_url_parse_rejects_ambiguous(void)
{
    const char *bad[] = {
        "", "rp.example/cb", "https://rp.example/cb#x", "https://user@rp.example/cb",
        "https://a@b@rp.example/cb", "https://rp.example/cb ", "https://rp.example\\cb",
        "https://rp.example/%zz", "https://rp.example/%6", "https://rp.example:0/",
        "https://rp.example:65536/", "https://rp.example:80a/", "https:///cb",
        "https://r\xc3\xa9.example/", "https://rp.example/\x01", "https://[::1/cb",
        "1http://x/", "https://rp.example/<script>",
    };
    struct url u;
    const char *why;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (url_parse(bad[i], &u, &why) != GH_EINVAL)
            T_FAIL_("accepted '%s'", bad[i]);
        T_ASSERT(why != NULL);
    }
}

static void
test_loopback_hosts(void)
{
    T_ASSERT(url_host_is_loopback("localhost"));
    T_ASSERT(url_host_is_loopback("127.0.0.1"));
    T_ASSERT(url_host_is_loopback("127.1.2.3"));
    T_ASSERT(url_host_is_loopback("::1"));
    T_ASSERT(!url_host_is_loopback("127.0.0.1.evil.com"));
    T_ASSERT(!url_host_is_loopback("localhost.evil.com"));
    T_ASSERT(!url_host_is_loopback("128.0.0.1"));
    T_ASSERT(!url_host_is_loopback("127.0.0"));
}

static void
test_log_esc_forges_no_lines(void)
{
    char out[LOG_ESC_SIZE], big[400];

    log_esc("a\r\nb\"c\\\x1b[2J", out);
    T_EQ_STR(out, "\"a\\r\\nb\\\"c\\\\\\x1b[2J\"");
    T_ASSERT(strchr(out, '\n') == NULL);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_esc(big, out);
    T_ASSERT(strlen(out) < LOG_ESC_SIZE);
    T_ASSERT(strstr(out, "...\"") != NULL);
    log_esc(NULL, out);
    T_EQ_STR(out, "-");
}

int
main(void)
{
    t_init("util");
    T_RUN(test_str_to_u64_strict);
    T_RUN(test_str_copy_truncates_and_reports);
    T_RUN(test_utf8_rejects_overlongs_and_surrogates);
    T_RUN(test_split_lists);
    T_RUN(test_buf_ceiling);
    T_RUN(test_b64url_roundtrip_and_strictness);
    T_RUN(test_url_parse_accepts);
    T_RUN(test_url_parse_rejects_ambiguous);
    T_RUN(test_loopback_hosts);
    T_RUN(test_log_esc_forges_no_lines);
    return t_done();
}
