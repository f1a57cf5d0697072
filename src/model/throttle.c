/* throttle.c — limits on password guessing; the rules are in throttle.h. */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/rnd.h"
#include "model/throttle.h"
#include "store/store.h"
#include "util/net.h"

/* --- per account name ----------------------------------------------------------------------- */

struct decide {
    const struct throttle_policy *p;
    int64_t now;
    int64_t retry_after;
};

/* Seconds the next attempt must wait after failure number f (1-based), 0 for none. */
static int64_t
delay_after(const struct throttle_policy *p, int64_t f)
{
    int64_t d = 1;

    if (f >= (int64_t)p->lock_failures)
        return p->lock_time;
    if (f < (int64_t)p->free)
        return 0;
    for (int64_t i = p->free; i < f && d < (int64_t)p->max_delay; i++)
        d *= 2;
    return d < (int64_t)p->max_delay ? d : (int64_t)p->max_delay;
}

/* store_login_count's callback: refuse while the name waits, else count this attempt. */
static int
decide(void *arg, struct login_count *c)
{
    struct decide *d = arg;
    int64_t wait;

    if (c->locked_until > d->now) {
        d->retry_after = c->locked_until - d->now;
        return GH_ELIMIT;   /* a refused attempt is not counted: it checked nothing */
    }
    c->failures++;
    wait = delay_after(d->p, c->failures);
    c->locked_until = wait ? d->now + wait : 0;
    c->expires_at = d->now + GH_LOGIN_RESET_S;
    if (c->locked_until > c->expires_at)
        c->expires_at = c->locked_until;
    return GH_OK;
}

/* --- per address ------------------------------------------------------------------------ */

#define IP_SLOTS 8192   /* a power of two; 40 bytes each, untouched pages cost no memory */
#define IP_PROBE 8

struct ip_slot {
    unsigned char key[16];
    bool used;
    uint32_t count;
    int64_t start;      /* the window began here */
};

static struct ip_slot ip_tab[IP_SLOTS];
static pthread_mutex_t ip_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t ip_seed;
static bool ip_seeded;

/* The key of an address: IPv4 as it is, IPv6 as its /64, which one subscriber usually holds
 * whole. false when ip is not an address. */
static bool
ip_key(const char *ip, unsigned char key[16])
{
    if (!net_addr_parse(ip, strlen(ip), key))
        return false;
    if (!net_addr_is_v4(key))
        memset(key + 8, 0, 8);
    return true;
}

/* FNV-1a over a secret seed and the key, so nobody can aim addresses at one slot. */
static size_t
ip_hash(const unsigned char key[16])
{
    uint64_t h = 14695981039346656037ULL ^ ip_seed;

    for (size_t i = 0; i < 16; i++) {
        h ^= key[i];
        h *= 1099511628211ULL;
    }
    return (size_t)(h ^ (h >> 32));
}

/* The slot for key, with its window restarted if it has ended; a free slot, or the one with
 * the oldest window among the probed, is taken over. Call under ip_mu. */
static struct ip_slot *
ip_slot(const unsigned char key[16], int64_t now)
{
    size_t h = ip_hash(key);
    struct ip_slot *victim = NULL;

    for (size_t i = 0; i < IP_PROBE; i++) {
        struct ip_slot *s = &ip_tab[(h + i) & (IP_SLOTS - 1)];
        if (s->used && memcmp(s->key, key, 16) == 0) {
            if (now - s->start >= GH_LOGIN_IP_WINDOW_S) {
                s->start = now;
                s->count = 0;
            }
            return s;
        }
        if (!s->used || now - s->start >= GH_LOGIN_IP_WINDOW_S) {
            if (!victim || victim->used)
                victim = s;
        } else if (!victim || (victim->used && s->start < victim->start)) {
            victim = s;
        }
    }
    memcpy(victim->key, key, 16);
    victim->used = true;
    victim->count = 0;
    victim->start = now;
    return victim;
}

static int
ip_begin(const struct throttle_policy *p, const char *ip, int64_t now, int64_t *retry_after)
{
    unsigned char key[16];
    struct ip_slot *s;
    int rc = GH_OK;

    if (!p->ip_failures || !ip || !ip_key(ip, key))
        return GH_OK;
    pthread_mutex_lock(&ip_mu);
    if (!ip_seeded) {
        ip_seeded = rnd_bytes(&ip_seed, sizeof(ip_seed)) == GH_OK;
    }
    s = ip_slot(key, now);
    if (s->count >= p->ip_failures) {
        *retry_after = s->start + GH_LOGIN_IP_WINDOW_S - now;
        rc = GH_ELIMIT;
    } else {
        s->count++;
    }
    pthread_mutex_unlock(&ip_mu);
    return rc;
}

/* Take a counted attempt back (it succeeded). */
static void
ip_undo(const char *ip)
{
    unsigned char key[16];
    size_t h;

    if (!ip || !ip_key(ip, key))
        return;
    pthread_mutex_lock(&ip_mu);
    h = ip_hash(key);
    for (size_t i = 0; i < IP_PROBE; i++) {
        struct ip_slot *s = &ip_tab[(h + i) & (IP_SLOTS - 1)];
        if (s->used && memcmp(s->key, key, 16) == 0) {
            if (s->count)
                s->count--;
            break;
        }
    }
    pthread_mutex_unlock(&ip_mu);
}

void
throttle_ip_reset(void)
{
    pthread_mutex_lock(&ip_mu);
    memset(ip_tab, 0, sizeof(ip_tab));
    pthread_mutex_unlock(&ip_mu);
}

/* --- both ------------------------------------------------------------------------------- */

int
throttle_login_begin(const struct throttle_policy *p, struct store *st, const char *name,
    const char *ip, int64_t now, int64_t *retry_after)
{
    struct decide d = { .p = p, .now = now };
    int rc;

    *retry_after = 0;
    if ((rc = ip_begin(p, ip, now, retry_after)) != GH_OK)
        return rc;
    if (!name || !*name)
        return GH_OK;
    rc = store_login_count(st, name, now, decide, &d);
    if (rc != GH_OK) {
        ip_undo(ip);   /* nothing was checked */
        if (rc == GH_ELIMIT)
            *retry_after = d.retry_after;
    }
    return rc;
}

int
throttle_account_locked(const struct throttle_policy *p, struct store *st, const char *name,
    int64_t now)
{
    struct login_count c;
    int rc = store_login_get(st, name, now, &c);

    if (rc != GH_OK)
        return rc;
    return c.failures >= (int64_t)p->lock_failures && c.locked_until > now ? GH_ELIMIT : GH_OK;
}

void
throttle_login_done(struct store *st, const char *name, const char *ip, bool ok)
{
    if (!ok)
        return;
    ip_undo(ip);
    if (name && *name)
        (void)store_login_reset(st, name);   /* a failure is logged by the store */
}
