/* test_conn_limit.c — open connections per address (http/conn_limit.c): the bound per address,
 * addresses apart, a closed connection giving its place back, trusted proxies never bounded,
 * and the open-addressing table against a plain model under a long random run of opens and
 * closes over colliding addresses (backward-shift deletion must keep every count findable and
 * leave the table empty at the end). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "http/conn_limit.h"
#include "t.h"
#include "util/net.h"

static void
ip(const char *s, unsigned char a[16])
{
    if (!net_addr_parse(s, strlen(s), a)) {
        fprintf(stderr, "  not an address: %s\n", s);
        memset(a, 0xee, 16);
    }
}

static void
test_bound_per_address_and_closing_gives_the_place_back(void)
{
    struct conn_limit *cl = cl_new(64, 2, NULL);
    unsigned char a[16], b[16];

    ip("192.0.2.7", a);
    ip("2001:db8::7", b);
    T_ASSERT(cl_admit(cl, a));
    cl_opened(cl, a);
    T_ASSERT(cl_admit(cl, a));
    cl_opened(cl, a);
    T_ASSERT(!cl_admit(cl, a));         /* the third from one address */
    T_ASSERT(cl_admit(cl, b));          /* another address is not affected */
    cl_closed(cl, a);
    T_EQ_INT(cl_count(cl, a), 1);
    T_ASSERT(cl_admit(cl, a));
    cl_closed(cl, a);
    T_EQ_INT(cl_count(cl, a), 0);
    cl_closed(cl, a);                   /* a close never counted changes nothing */
    T_EQ_INT(cl_count(cl, a), 0);
    cl_free(cl);
    cl_free(NULL);
    T_ASSERT(cl_new(0, 2, NULL) == NULL && cl_new(8, 0, NULL) == NULL);
}

static void
test_trusted_proxies_are_never_bounded(void)
{
    struct net_list proxies;
    const char *why = NULL;
    struct conn_limit *cl;
    unsigned char lb[16], other[16];

    T_EQ_INT(net_list_parse("10.0.0.0/8, ::1", &proxies, &why), GH_OK);
    cl = cl_new(64, 2, &proxies);
    ip("10.1.2.3", lb);
    ip("192.0.2.9", other);
    for (int i = 0; i < 500; i++) {
        T_ASSERT(cl_admit(cl, lb));
        cl_opened(cl, lb);
    }
    T_EQ_INT(cl_count(cl, lb), 0);      /* not even counted */
    cl_opened(cl, other);
    cl_opened(cl, other);
    T_ASSERT(!cl_admit(cl, other));
    cl_free(cl);
}

/* xorshift64: a fixed sequence, so a failure repeats */
static uint64_t
next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void
test_table_matches_a_model_under_random_opens_and_closes(void)
{
    enum { ADDRS = 700, STEPS = 200000, MAXC = 512 };
    static unsigned char addrs[ADDRS][16];
    static unsigned model[ADDRS];
    struct conn_limit *cl = cl_new(MAXC, 1000000, NULL);   /* the bound never bites here */
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    unsigned open = 0;

    /* addresses that differ in one or two bytes: many share a home slot in a small table */
    for (int i = 0; i < ADDRS; i++) {
        ip("2001:db8::", addrs[i]);
        addrs[i][14] = (unsigned char)(i >> 8);
        addrs[i][15] = (unsigned char)i;
    }
    for (long step = 0; step < STEPS; step++) {
        int i = (int)(next(&seed) % ADDRS);
        bool close = (next(&seed) & 1) || open >= MAXC;

        if (close && model[i]) {
            cl_closed(cl, addrs[i]);
            model[i]--;
            open--;
        } else if (!close) {
            cl_opened(cl, addrs[i]);
            model[i]++;
            open++;
        }
        if (step % 997 == 0)
            for (int k = 0; k < ADDRS; k++)
                T_EQ_INT(cl_count(cl, addrs[k]), model[k]);
    }
    for (int k = 0; k < ADDRS; k++) {
        T_EQ_INT(cl_count(cl, addrs[k]), model[k]);
        while (model[k]--)
            cl_closed(cl, addrs[k]);
    }
    for (int k = 0; k < ADDRS; k++)
        T_EQ_INT(cl_count(cl, addrs[k]), 0);
    cl_free(cl);
}

int
main(void)
{
    t_prog = "conn_limit";
    T_RUN(test_bound_per_address_and_closing_gives_the_place_back);
    T_RUN(test_trusted_proxies_are_never_bounded);
    T_RUN(test_table_matches_a_model_under_random_opens_and_closes);
    return t_done();
}
