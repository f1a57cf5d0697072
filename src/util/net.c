/* net.c — addresses, networks and X-Forwarded-For; the rules are in net.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "core/err.h"
#include "util/net.h"
#include "util/str.h"

static const unsigned char v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool
net_addr_is_v4(const unsigned char a[16])
{
    return memcmp(a, v4_prefix, sizeof(v4_prefix)) == 0;
}

bool
net_addr_from_sockaddr(const struct sockaddr *sa, unsigned char out[16])
{
    if (sa && sa->sa_family == AF_INET) {
        struct sockaddr_in a;
        memcpy(&a, sa, sizeof(a));
        memcpy(out, v4_prefix, sizeof(v4_prefix));
        memcpy(out + 12, &a.sin_addr, 4);
        return true;
    }
    if (sa && sa->sa_family == AF_INET6) {
        struct sockaddr_in6 a;
        memcpy(&a, sa, sizeof(a));
        memcpy(out, &a.sin6_addr, 16);
        return true;
    }
    return false;
}

bool
net_addr_parse(const char *s, size_t len, unsigned char out[16])
{
    char buf[NET_ADDR_TEXT];

    if (!s || len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, out + 12) == 1) {
        memcpy(out, v4_prefix, sizeof(v4_prefix));
        return true;
    }
    return inet_pton(AF_INET6, buf, out) == 1;
}

void
net_addr_text(const unsigned char a[16], char out[NET_ADDR_TEXT])
{
    const char *ok = net_addr_is_v4(a) ? inet_ntop(AF_INET, a + 12, out, NET_ADDR_TEXT)
                                       : inet_ntop(AF_INET6, a, out, NET_ADDR_TEXT);
    if (!ok)
        out[0] = '\0';
}

static bool
in_net(const struct net *n, const unsigned char a[16])
{
    unsigned full = n->prefix / 8, rest = n->prefix % 8;

    if (memcmp(n->addr, a, full) != 0)
        return false;
    return rest == 0 || ((n->addr[full] ^ a[full]) & (0xff00 >> rest) & 0xff) == 0;
}

bool
net_list_has(const struct net_list *l, const unsigned char a[16])
{
    for (size_t i = 0; l && i < l->n; i++) {
        if (in_net(&l->v[i], a))
            return true;
    }
    return false;
}

static int
parse_net(const char *item, struct net *n, const char **why)
{
    const char *slash = strchr(item, '/');
    size_t alen = slash ? (size_t)(slash - item) : strlen(item);
    uint64_t bits = 128;

    if (!net_addr_parse(item, alen, n->addr)) {
        *why = "not an IP address";
        return GH_EINVAL;
    }
    if (slash) {
        uint64_t max = net_addr_is_v4(n->addr) ? 32 : 128;
        if (str_to_u64(slash + 1, 0, max, &bits) != GH_OK) {
            *why = "the prefix length must be 0-32 (IPv4) or 0-128 (IPv6)";
            return GH_EINVAL;
        }
        if (net_addr_is_v4(n->addr))
            bits += 96;
    }
    n->prefix = (unsigned)bits;
    /* 10.0.0.1/8 is a mistake more often than a network: refuse host bits */
    for (unsigned i = n->prefix; i < 128; i++) {
        if (n->addr[i / 8] & (0x80 >> (i % 8))) {
            *why = "the address has bits set beyond the prefix length";
            return GH_EINVAL;
        }
    }
    return GH_OK;
}

int
net_list_parse(const char *s, struct net_list *out, const char **why)
{
    char **items = NULL;
    int rc;

    out->n = 0;
    *why = NULL;
    if (!s || !*s)
        return GH_OK;
    if ((rc = str_split(s, NET_MAX_NETS, 64, &items)) != GH_OK) {
        *why = rc == GH_ETOOBIG ? "too many entries" : "an entry is too long";
        return rc;
    }
    for (char **p = items; *p; p++) {
        if ((rc = parse_net(*p, &out->v[out->n], why)) != GH_OK) {
            out->n = 0;
            break;
        }
        out->n++;
    }
    str_list_free(items);
    return rc;
}

void
net_forwarded_client(const unsigned char peer[16], const char *xff,
    const struct net_list *trusted, unsigned char out[16])
{
    size_t end;

    memcpy(out, peer, 16);
    if (!xff || !net_list_has(trusted, peer) || (end = strlen(xff)) > NET_MAX_XFF)
        return;
    /* right to left over the comma-separated entries */
    while (end > 0) {
        size_t start = end, b, e;
        unsigned char a[16];
        while (start > 0 && xff[start - 1] != ',')
            start--;
        for (b = start; b < end && (xff[b] == ' ' || xff[b] == '\t'); b++)
            ;
        for (e = end; e > b && (xff[e - 1] == ' ' || xff[e - 1] == '\t'); e--)
            ;
        if (!net_addr_parse(xff + b, e - b, a))
            return;             /* malformed: the last address accepted stands */
        memcpy(out, a, 16);
        if (!net_list_has(trusted, a))
            return;             /* the first hop that is not one of our proxies */
        end = start ? start - 1 : 0;
    }
}
