/* conn_limit.c — see conn_limit.h. Linear probing on a table of a power-of-two size with at
 * least 2 * max_connections slots; a slot is empty when its count is 0 (Knuth's backward-shift
 * deletion keeps every probe run unbroken, so no tombstones build up). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/conn_limit.h"
#include "util/net.h"
#include "util/xmem.h"

struct slot {
    unsigned char addr[16];
    unsigned count;            /* 0: empty */
};

struct conn_limit {
    pthread_mutex_t mu;
    unsigned per_ip;
    const struct net_list *exempt;
    size_t mask;               /* slots - 1 */
    struct slot *slots;
};

/* FNV-1a over the 16 bytes: addresses are chosen by clients, but a collision only lengthens a
 * probe run in a table that is at most half full. */
static size_t
home(const struct conn_limit *cl, const unsigned char a[16])
{
    uint64_t h = 1469598103934665603ULL;

    for (int i = 0; i < 16; i++)
        h = (h ^ a[i]) * 1099511628211ULL;
    return (size_t)h & cl->mask;
}

/* The slot of a, or the empty slot where it would go. */
static size_t
find(const struct conn_limit *cl, const unsigned char a[16])
{
    size_t i = home(cl, a);

    while (cl->slots[i].count && memcmp(cl->slots[i].addr, a, 16) != 0)
        i = (i + 1) & cl->mask;
    return i;
}

struct conn_limit *
cl_new(unsigned max_connections, unsigned per_ip, const struct net_list *exempt)
{
    struct conn_limit *cl;
    size_t n = 16;

    if (!max_connections || !per_ip)
        return NULL;
    while (n < 2 * (size_t)max_connections)
        n *= 2;
    cl = x_calloc(1, sizeof(*cl));
    pthread_mutex_init(&cl->mu, NULL);
    cl->per_ip = per_ip;
    cl->exempt = exempt;
    cl->mask = n - 1;
    cl->slots = x_calloc(n, sizeof(*cl->slots));
    return cl;
}

void
cl_free(struct conn_limit *cl)
{
    if (!cl)
        return;
    pthread_mutex_destroy(&cl->mu);
    free(cl->slots);
    free(cl);
}

static bool
exempt(const struct conn_limit *cl, const unsigned char a[16])
{
    return cl->exempt && net_list_has(cl->exempt, a);
}

bool
cl_admit(struct conn_limit *cl, const unsigned char addr[16])
{
    bool ok;

    if (exempt(cl, addr))
        return true;
    pthread_mutex_lock(&cl->mu);
    ok = cl->slots[find(cl, addr)].count < cl->per_ip;
    pthread_mutex_unlock(&cl->mu);
    return ok;
}

void
cl_opened(struct conn_limit *cl, const unsigned char addr[16])
{
    struct slot *s;

    if (exempt(cl, addr))
        return;
    pthread_mutex_lock(&cl->mu);
    s = &cl->slots[find(cl, addr)];
    if (!s->count)
        memcpy(s->addr, addr, 16);
    s->count++;   /* never more than max_connections at once: MHD refuses the rest */
    pthread_mutex_unlock(&cl->mu);
}

void
cl_closed(struct conn_limit *cl, const unsigned char addr[16])
{
    size_t i, j;

    if (exempt(cl, addr))
        return;
    pthread_mutex_lock(&cl->mu);
    i = find(cl, addr);
    if (cl->slots[i].count > 1) {
        cl->slots[i].count--;
    } else if (cl->slots[i].count == 1) {
        /* empty the slot, then move back each later entry of the run that may live here:
         * one whose home is not cyclically within (i, j] */
        cl->slots[i].count = 0;
        for (j = (i + 1) & cl->mask; cl->slots[j].count; j = (j + 1) & cl->mask) {
            size_t h = home(cl, cl->slots[j].addr);

            if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
                continue;
            cl->slots[i] = cl->slots[j];
            cl->slots[j].count = 0;
            i = j;
        }
    }
    pthread_mutex_unlock(&cl->mu);
}

unsigned
cl_count(struct conn_limit *cl, const unsigned char addr[16])
{
    unsigned n;

    pthread_mutex_lock(&cl->mu);
    n = cl->slots[find(cl, addr)].count;
    pthread_mutex_unlock(&cl->mu);
    return n;
}
