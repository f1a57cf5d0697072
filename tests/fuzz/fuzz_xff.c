/* fuzz_xff.c — util/net.c on untrusted text: net_list_parse (the trusted_proxies setting) and
 * net_forwarded_client (an X-Forwarded-For header). The input is split at its first '\n' into
 * a proxy list and a header. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "fuzz.h"
#include "util/net.h"
#include "util/xmem.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = x_malloc(size + 1), *nl, *xff;
    struct net_list l, dflt;
    const char *why = NULL;
    unsigned char peer[16], out[16], again[16];
    int rc;

    memcpy(s, data, size);
    s[size] = '\0';
    nl = memchr(s, '\n', size);
    xff = nl ? nl + 1 : s;
    if (nl)
        *nl = '\0';
    rc = net_list_parse(s, &l, &why);
    FUZZ_CHECK(rc == GH_OK || rc == GH_EINVAL || rc == GH_ETOOBIG);
    FUZZ_CHECK((rc == GH_OK) == (why == NULL));
    FUZZ_CHECK(rc == GH_OK || l.n == 0);
    FUZZ_CHECK(l.n <= NET_MAX_NETS);
    if (net_list_parse("10.0.0.0/8 ::1", &dflt, &why) != GH_OK)
        abort();
    for (int i = 0; i < 2; i++) {
        const struct net_list *t = i ? &dflt : &l;
        memset(peer, 0, sizeof(peer));
        peer[10] = peer[11] = 0xff;
        peer[12] = 10;   /* 10.0.0.0: trusted by dflt */
        net_forwarded_client(peer, xff, t, out);
        /* the answer is the peer or an address written in the header, and deterministic */
        char txt[NET_ADDR_TEXT];
        net_addr_text(out, txt);
        FUZZ_CHECK(memcmp(out, peer, 16) == 0 || net_list_has(t, peer));
        FUZZ_CHECK(txt[0] != '\0');
        net_forwarded_client(peer, xff, t, again);
        FUZZ_CHECK(memcmp(out, again, 16) == 0);
        /* an untrusted peer is never replaced */
        unsigned char stranger[16] = { 0x20, 0x01, 0x0d, 0xb8 };
        net_forwarded_client(stranger, xff, t, out);
        FUZZ_CHECK(net_list_has(t, stranger) || memcmp(out, stranger, 16) == 0);
    }
    free(s);
    return 0;
}
