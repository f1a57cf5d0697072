/* ratelimit.c — bounded in-memory rate limiters; the rules are in ratelimit.h. What it does not
 * do: share state between processes or survive a restart (a limit that must, like the
 * per-account sign-in count, lives in the store: model/throttle.c), or grow under load. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "crypto/rnd.h"
#include "model/ratelimit.h"
#include "util/net.h"
#include "util/xmem.h"

struct rl_slot {
    unsigned char key[RL_KEY_LEN];
    int64_t until;      /* the state counts for nothing from here on: the end of the window,
                         * or GCRA's theoretical arrival time; 0 in a slot never used */
    uint32_t count;     /* events in the window (windows only) */
};

struct rl_stripe {
    pthread_mutex_t mu;
    struct rl_slot *slot;   /* per slots, the stripe's share of one allocation */
};

struct rl_table {
    struct rl_stripe stripe[RL_STRIPES];
    struct rl_slot *slots;
    size_t per;             /* slots per stripe, a power of two >= RL_PROBE */
    uint64_t seed[3];
};

struct rl_table *
rl_table_new(size_t slots)
{
    struct rl_table *t = x_calloc(1, sizeof(*t));
    size_t per = RL_PROBE;

    while (per * RL_STRIPES < slots && per < ((size_t)1 << 24))
        per *= 2;
    t->per = per;
    /* calloc: pages no key ever touched cost no memory */
    t->slots = x_calloc(per * RL_STRIPES, sizeof(*t->slots));
    for (size_t i = 0; i < RL_STRIPES; i++) {
        pthread_mutex_init(&t->stripe[i].mu, NULL);
        t->stripe[i].slot = t->slots + i * per;
    }
    /* without the CSPRNG the seed stays fixed: the table still works and stays bounded; only
     * aiming keys at one run becomes possible (rnd_bytes logged it) */
    (void)rnd_bytes(t->seed, sizeof(t->seed));
    return t;
}

void
rl_table_free(struct rl_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < RL_STRIPES; i++)
        pthread_mutex_destroy(&t->stripe[i].mu);
    free(t->slots);
    free(t);
}

void
rl_table_reset(struct rl_table *t)
{
    for (size_t i = 0; i < RL_STRIPES; i++) {
        pthread_mutex_lock(&t->stripe[i].mu);
        memset(t->stripe[i].slot, 0, t->per * sizeof(struct rl_slot));
        pthread_mutex_unlock(&t->stripe[i].mu);
    }
}

size_t
rl_table_slots(const struct rl_table *t)
{
    return t->per * RL_STRIPES;
}

size_t
rl_table_live(struct rl_table *t, int64_t now)
{
    size_t n = 0;

    for (size_t i = 0; i < RL_STRIPES; i++) {
        pthread_mutex_lock(&t->stripe[i].mu);
        for (size_t j = 0; j < t->per; j++)
            n += t->stripe[i].slot[j].until > now;
        pthread_mutex_unlock(&t->stripe[i].mu);
    }
    return n;
}

bool
rl_key_addr(const char *ip, unsigned char key[RL_KEY_LEN])
{
    if (!ip || !*ip || !net_addr_parse(ip, strlen(ip), key))
        return false;
    if (!net_addr_is_v4(key))
        memset(key + 8, 0, 8);
    return true;
}

/* splitmix64's finaliser: every input bit moves every output bit */
static uint64_t
mix(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

/* FNV-1a from a secret start, finalised: keyed, cheap, no allocation. Not a MAC; the names
 * hashed (client_ids, after authentication) are the operator's, not an attacker's. */
static uint64_t
keyed_hash(uint64_t seed, const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL ^ seed;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return mix(h ^ n);
}

void
rl_key_name(const struct rl_table *t, const char *name, size_t len, unsigned char key[RL_KEY_LEN])
{
    uint64_t a = keyed_hash(t->seed[0], (const unsigned char *)name, len);
    uint64_t b = keyed_hash(t->seed[1], (const unsigned char *)name, len);

    memcpy(key, &a, 8);
    memcpy(key + 8, &b, 8);
}

/* The stripe and the first slot of key's run, locked. */
static struct rl_stripe *
lock(struct rl_table *t, const unsigned char key[RL_KEY_LEN], size_t *first)
{
    uint64_t h = keyed_hash(t->seed[2], key, RL_KEY_LEN);
    struct rl_stripe *s = &t->stripe[h % RL_STRIPES];

    *first = (size_t)(h / RL_STRIPES) & (t->per - 1);
    pthread_mutex_lock(&s->mu);
    return s;
}

/* key's slot in its run (call under the stripe's lock). NULL when absent and !create; with
 * create, a slot that no longer counts or else the one that counts for the least time is
 * taken over, zeroed. A found slot whose state has run out (until <= now) is zeroed too, so
 * callers see a fresh key either way. */
static struct rl_slot *
slot_of(struct rl_table *t, struct rl_stripe *s, size_t first,
    const unsigned char key[RL_KEY_LEN], int64_t now, bool create)
{
    struct rl_slot *victim = NULL, *sl = NULL;

    for (size_t i = 0; i < RL_PROBE; i++) {
        struct rl_slot *c = &s->slot[(first + i) & (t->per - 1)];

        if (c->until != 0 && memcmp(c->key, key, RL_KEY_LEN) == 0) {
            sl = c;
            break;
        }
        if (!victim || (victim->until > now && c->until < victim->until))
            victim = c;
    }
    if (!sl && !create)
        return NULL;
    if (!sl) {
        sl = victim;
        memcpy(sl->key, key, RL_KEY_LEN);
        sl->until = 0;
    }
    if (sl->until <= now) {
        sl->until = 0;
        sl->count = 0;
    }
    return sl;
}

/* rl_window_check (take false) and rl_window_take (take true). */
static int
window_op(struct rl_table *t, const unsigned char key[RL_KEY_LEN], uint32_t limit,
    int64_t window, int64_t now, bool take, int64_t *retry_after)
{
    size_t first;
    struct rl_stripe *s;
    struct rl_slot *sl;
    int rc = GH_OK;

    *retry_after = 0;
    if (!limit)
        return GH_OK;
    s = lock(t, key, &first);
    sl = slot_of(t, s, first, key, now, take);
    if (sl && take && sl->until == 0)
        sl->until = now + (window > 0 ? window : 1);
    if (sl && sl->until > now && sl->count >= limit) {
        *retry_after = sl->until - now;
        rc = GH_ELIMIT;
    } else if (sl && take) {
        sl->count++;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int
rl_window_check(struct rl_table *t, const unsigned char key[RL_KEY_LEN], uint32_t limit,
    int64_t now, int64_t *retry_after)
{
    return window_op(t, key, limit, 0, now, false, retry_after);
}

int
rl_window_take(struct rl_table *t, const unsigned char key[RL_KEY_LEN], uint32_t limit,
    int64_t window, int64_t now, int64_t *retry_after)
{
    return window_op(t, key, limit, window, now, true, retry_after);
}

uint32_t
rl_window_add(struct rl_table *t, const unsigned char key[RL_KEY_LEN], int64_t window,
    int64_t now)
{
    size_t first;
    struct rl_stripe *s = lock(t, key, &first);
    struct rl_slot *sl = slot_of(t, s, first, key, now, true);
    uint32_t n;

    if (sl->until == 0)
        sl->until = now + (window > 0 ? window : 1);
    if (sl->count < UINT32_MAX)
        sl->count++;
    n = sl->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void
rl_window_undo(struct rl_table *t, const unsigned char key[RL_KEY_LEN])
{
    size_t first;
    struct rl_stripe *s = lock(t, key, &first);
    /* at the earliest time, so nothing found counts as run out */
    struct rl_slot *sl = slot_of(t, s, first, key, INT64_MIN, false);

    if (sl && sl->count)
        sl->count--;
    pthread_mutex_unlock(&s->mu);
}

int
rl_gcra(struct rl_table *t, const unsigned char key[RL_KEY_LEN], uint32_t rate, uint32_t burst,
    int64_t now_us, int64_t *retry_after_s)
{
    int64_t interval, tolerance, tat, next;
    size_t first;
    struct rl_stripe *s;
    struct rl_slot *sl;
    int rc = GH_OK;

    *retry_after_s = 0;
    if (!rate)
        return GH_OK;
    interval = 1000000 / (int64_t)rate;     /* time one event uses up */
    if (interval < 1)
        interval = 1;
    tolerance = interval * (int64_t)(burst ? burst : 1);
    s = lock(t, key, &first);
    sl = slot_of(t, s, first, key, now_us, true);
    tat = sl->until > now_us ? sl->until : now_us;
    next = tat + interval;
    if (next - now_us > tolerance) {
        /* allowed again when next - tolerance is reached; whole seconds, rounded up */
        int64_t wait = next - tolerance - now_us;
        *retry_after_s = (wait + 999999) / 1000000;
        if (*retry_after_s < 1)
            *retry_after_s = 1;
        rc = GH_ELIMIT;     /* not counted: a refused request used nothing */
    } else {
        sl->until = next;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}
