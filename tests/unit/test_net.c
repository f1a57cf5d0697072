/* test_net.c — util/net.c: addresses, trusted-proxy lists and the client named by
 * X-Forwarded-For (only behind a trusted proxy, from the right, never what the client wrote
 * further left). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "core/err.h"
#include "t.h"
#include "util/net.h"

static void
addr(const char *s, unsigned char out[16])
{
    if (!net_addr_parse(s, strlen(s), out)) {
        fprintf(stderr, "  not an address: %s\n", s);
        abort();
    }
}

static const char *
text(const unsigned char a[16])
{
    static char buf[NET_ADDR_TEXT];

    net_addr_text(a, buf);
    return buf;
}

static void
test_addresses_parse_and_print(void)
{
    unsigned char a[16], b[16];

    addr("192.0.2.7", a);
    T_ASSERT(net_addr_is_v4(a));
    T_EQ_STR(text(a), "192.0.2.7");
    addr("::ffff:192.0.2.7", b);
    T_ASSERT(memcmp(a, b, 16) == 0);
    addr("2001:DB8::1", a);
    T_ASSERT(!net_addr_is_v4(a));
    T_EQ_STR(text(a), "2001:db8::1");
    static const char *bad[] = { "", "192.0.2", "192.0.2.256", "192.0.2.7:80", "[::1]",
        "fe80::1%eth0", "1.2.3.4 ", " 1.2.3.4", "example.com", "::g",
        "1111:2222:3333:4444:5555:6666:7777:8888:9999" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        T_ASSERT(!net_addr_parse(bad[i], strlen(bad[i]), a));
}

static void
test_lists_parse_networks_and_refuse_host_bits(void)
{
    struct net_list l;
    const char *why = NULL;
    unsigned char a[16];

    T_EQ_INT(net_list_parse("10.0.0.0/8, 127.0.0.1 ::1,fd00::/8", &l, &why), GH_OK);
    T_EQ_INT(l.n, 4);
    addr("10.200.3.4", a);
    T_ASSERT(net_list_has(&l, a));
    addr("11.0.0.1", a);
    T_ASSERT(!net_list_has(&l, a));
    addr("127.0.0.1", a);
    T_ASSERT(net_list_has(&l, a));
    addr("127.0.0.2", a);
    T_ASSERT(!net_list_has(&l, a));
    addr("fd12:3456::1", a);
    T_ASSERT(net_list_has(&l, a));
    addr("fe80::1", a);
    T_ASSERT(!net_list_has(&l, a));
    T_EQ_INT(net_list_parse("172.16.0.0/12", &l, &why), GH_OK);
    addr("172.31.255.255", a);
    T_ASSERT(net_list_has(&l, a));
    addr("172.32.0.0", a);
    T_ASSERT(!net_list_has(&l, a));
    T_EQ_INT(net_list_parse("0.0.0.0/0", &l, &why), GH_OK);   /* every IPv4 address */
    addr("203.0.113.9", a);
    T_ASSERT(net_list_has(&l, a));
    addr("2001:db8::1", a);
    T_ASSERT(!net_list_has(&l, a));
    T_EQ_INT(net_list_parse("", &l, &why), GH_OK);
    T_EQ_INT(l.n, 0);
    static const char *bad[] = { "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1",
        "::1/129", "fd00::1/8", "localhost", "10.0.0.0/8 bogus" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        T_EQ_INT(net_list_parse(bad[i], &l, &why), GH_EINVAL);
        T_ASSERT(why != NULL);
        T_EQ_INT(l.n, 0);
    }
}

/* The client for peer and header, given proxies 10.0.0.0/8 and 2001:db8:ff::/48. */
static const char *
client(const char *peer, const char *xff)
{
    static struct net_list l;
    const char *why = NULL;
    unsigned char p[16], out[16];

    if (net_list_parse("10.0.0.0/8 2001:db8:ff::/48", &l, &why) != GH_OK)
        abort();
    addr(peer, p);
    net_forwarded_client(p, xff, &l, out);
    return text(out);
}

static void
test_forwarded_for_counts_only_behind_a_trusted_proxy(void)
{
    /* from anyone else the header is ignored */
    T_EQ_STR(client("198.51.100.1", "203.0.113.9"), "198.51.100.1");
    /* behind our proxy: the address it appended */
    T_EQ_STR(client("10.0.0.2", "203.0.113.9"), "203.0.113.9");
    /* the client wrote an entry itself: the rightmost untrusted one counts, not the leftmost */
    T_EQ_STR(client("10.0.0.2", "1.2.3.4, 203.0.113.9"), "203.0.113.9");
    /* two of our proxies in a row */
    T_EQ_STR(client("10.0.0.2", "6.6.6.6, 203.0.113.9, 10.1.1.1"), "203.0.113.9");
    T_EQ_STR(client("2001:db8:ff::2", "2001:db8:1::7,2001:db8:ff:1::1"), "2001:db8:1::7");
    /* only proxies: the leftmost */
    T_EQ_STR(client("10.0.0.2", "10.9.9.9, 10.1.1.1"), "10.9.9.9");
    /* malformed entries end the walk at the last good address */
    T_EQ_STR(client("10.0.0.2", "203.0.113.9, junk"), "10.0.0.2");
    T_EQ_STR(client("10.0.0.2", "junk, 203.0.113.9"), "203.0.113.9");
    T_EQ_STR(client("10.0.0.2", "6.6.6.6, junk, 10.1.1.1"), "10.1.1.1");
    T_EQ_STR(client("10.0.0.2", ""), "10.0.0.2");
    T_EQ_STR(client("10.0.0.2", " , "), "10.0.0.2");
    T_EQ_STR(client("10.0.0.2", "203.0.113.9:443"), "10.0.0.2");
    T_EQ_STR(client("10.0.0.2", NULL), "10.0.0.2");
    /* spaces and tabs around entries are fine */
    T_EQ_STR(client("10.0.0.2", "\t203.0.113.9 ,  10.3.3.3 "), "203.0.113.9");
    /* an oversized header is ignored */
    char big[NET_MAX_XFF + 32];
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big + sizeof(big) - 12, "203.0.113.9", 11);
    T_EQ_STR(client("10.0.0.2", big), "10.0.0.2");
}

/* The peer address libmicrohttpd hands over, as the 16 bytes every check uses: IPv4 mapped,
 * IPv6 as is, anything else refused. */
static void
test_socket_addresses_convert(void)
{
    struct sockaddr_in v4 = { .sin_family = AF_INET };
    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    unsigned char got[16], want[16];

    T_ASSERT(inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr) == 1);
    T_ASSERT(net_addr_from_sockaddr((const struct sockaddr *)&v4, got));
    T_ASSERT(net_addr_parse("::ffff:192.0.2.7", 16, want));
    T_ASSERT(memcmp(got, want, 16) == 0 && net_addr_is_v4(got));
    T_ASSERT(inet_pton(AF_INET6, "2001:db8::7", &v6.sin6_addr) == 1);
    T_ASSERT(net_addr_from_sockaddr((const struct sockaddr *)&v6, got));
    T_ASSERT(net_addr_parse("2001:db8::7", 11, want));
    T_ASSERT(memcmp(got, want, 16) == 0 && !net_addr_is_v4(got));
    T_ASSERT(!net_addr_from_sockaddr((const struct sockaddr *)&un, got));
    T_ASSERT(!net_addr_from_sockaddr(NULL, got));
}

int
main(void)
{
    t_prog = "net";
    T_RUN(test_addresses_parse_and_print);
    T_RUN(test_socket_addresses_convert);
    T_RUN(test_lists_parse_networks_and_refuse_host_bits);
    T_RUN(test_forwarded_for_counts_only_behind_a_trusted_proxy);
    return t_done();
}
