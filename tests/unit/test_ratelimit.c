/* test_ratelimit.c — the bounded in-memory limiters (model/ratelimit.c; issue 5, SECURITY.md
 * L6, L9): fixed windows (count, refuse with the time left, forget at the window's end, take
 * back), GCRA (burst, then one per interval, refusals not counted, keys apart), address keys
 * (IPv6 by /64, IPv4-mapped alike), name keys, a table that stays the same size under 10^6
 * distinct keys and still limits afterwards, and concurrent takes on one key letting exactly
 * the limit through. Every time is an explicit `now`. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/err.h"
#include "model/ratelimit.h"
#include "t.h"

static void
addr(const char *ip, unsigned char key[RL_KEY_LEN])
{
    if (!rl_key_addr(ip, key)) {
        fprintf(stderr, "  not an address: %s\n", ip);
        memset(key, 0xee, RL_KEY_LEN);
    }
}

static void
test_window_take_counts_to_the_limit_then_refuses_until_the_end(void)
{
    struct rl_table *t = rl_table_new(1024);
    unsigned char k[RL_KEY_LEN];
    int64_t wait = -1;

    addr("192.0.2.7", k);
    for (int i = 0; i < 3; i++)
        T_EQ_INT(rl_window_take(t, k, 3, 60, 1000 + i, &wait), GH_OK);
    T_EQ_INT(rl_window_take(t, k, 3, 60, 1010, &wait), GH_ELIMIT);
    T_EQ_INT(wait, 50);                 /* the window began at 1000 */
    /* refused takes are not counted and do not move the window */
    T_EQ_INT(rl_window_take(t, k, 3, 60, 1059, &wait), GH_ELIMIT);
    T_EQ_INT(wait, 1);
    T_EQ_INT(rl_window_take(t, k, 3, 60, 1060, &wait), GH_OK);   /* a new window */
    /* a success takes its attempt back */
    T_EQ_INT(rl_window_take(t, k, 3, 60, 1061, &wait), GH_OK);
    T_EQ_INT(rl_window_take(t, k, 3, 60, 1061, &wait), GH_OK);
    T_EQ_INT(rl_window_take(t, k, 3, 60, 1061, &wait), GH_ELIMIT);
    rl_window_undo(t, k);
    T_EQ_INT(rl_window_take(t, k, 3, 60, 1061, &wait), GH_OK);
    /* limit 0: no limit, nothing stored */
    for (int i = 0; i < 100; i++)
        T_EQ_INT(rl_window_take(t, k, 0, 60, 1061, &wait), GH_OK);
    rl_table_free(t);
}

static void
test_window_check_and_add_count_failures_only(void)
{
    struct rl_table *t = rl_table_new(1024);
    unsigned char k[RL_KEY_LEN], other[RL_KEY_LEN];
    int64_t wait = -1;

    addr("198.51.100.1", k);
    addr("198.51.100.2", other);
    /* checks alone count nothing */
    for (int i = 0; i < 50; i++)
        T_EQ_INT(rl_window_check(t, k, 2, 500, &wait), GH_OK);
    T_EQ_INT(rl_window_add(t, k, 60, 500), 1);
    T_EQ_INT(rl_window_check(t, k, 2, 501, &wait), GH_OK);
    T_EQ_INT(rl_window_add(t, k, 60, 501), 2);
    T_EQ_INT(rl_window_check(t, k, 2, 502, &wait), GH_ELIMIT);
    T_EQ_INT(wait, 58);
    /* add keeps counting (the failures found after a check let them through) */
    T_EQ_INT(rl_window_add(t, k, 60, 502), 3);
    /* another address is untouched */
    T_EQ_INT(rl_window_check(t, other, 2, 502, &wait), GH_OK);
    /* the window ends */
    T_EQ_INT(rl_window_check(t, k, 2, 560, &wait), GH_OK);
    T_EQ_INT(rl_window_add(t, k, 60, 560), 1);
    rl_table_free(t);
}

static void
test_address_keys_ipv6_by_64_and_ipv4_mapped_alike(void)
{
    unsigned char a[RL_KEY_LEN], b[RL_KEY_LEN];

    T_ASSERT(rl_key_addr("192.0.2.7", a));
    T_ASSERT(rl_key_addr("::ffff:192.0.2.7", b));
    T_ASSERT(memcmp(a, b, RL_KEY_LEN) == 0);
    T_ASSERT(rl_key_addr("192.0.2.8", b));
    T_ASSERT(memcmp(a, b, RL_KEY_LEN) != 0);
    T_ASSERT(rl_key_addr("2001:db8:1:2::1", a));
    T_ASSERT(rl_key_addr("2001:db8:1:2:ffff:ffff:ffff:ffff", b));
    T_ASSERT(memcmp(a, b, RL_KEY_LEN) == 0);
    T_ASSERT(rl_key_addr("2001:db8:1:3::1", b));
    T_ASSERT(memcmp(a, b, RL_KEY_LEN) != 0);
    T_ASSERT(!rl_key_addr("", a));
    T_ASSERT(!rl_key_addr(NULL, a));
    T_ASSERT(!rl_key_addr("not-an-address", a));
    T_ASSERT(!rl_key_addr("192.0.2.7:80", a));
}

static void
test_name_keys_are_per_name_and_per_table(void)
{
    struct rl_table *t = rl_table_new(64), *u = rl_table_new(64);
    unsigned char a[RL_KEY_LEN], b[RL_KEY_LEN], c[RL_KEY_LEN];

    rl_key_name(t, "svc-a", 5, a);
    rl_key_name(t, "svc-a", 5, b);
    T_ASSERT(memcmp(a, b, RL_KEY_LEN) == 0);
    rl_key_name(t, "svc-b", 5, b);
    T_ASSERT(memcmp(a, b, RL_KEY_LEN) != 0);
    rl_key_name(t, "svc-a\0", 6, b);     /* the length is part of the name */
    T_ASSERT(memcmp(a, b, RL_KEY_LEN) != 0);
    rl_key_name(u, "svc-a", 5, c);        /* each table has its own secret seed */
    T_ASSERT(memcmp(a, c, RL_KEY_LEN) != 0);
    rl_table_free(t);
    rl_table_free(u);
}

#define S 1000000LL   /* microseconds */

static void
test_gcra_burst_then_one_per_interval_and_refusals_are_free(void)
{
    struct rl_table *t = rl_table_new(256);
    unsigned char a[RL_KEY_LEN], b[RL_KEY_LEN];
    int64_t now = 50 * S, wait = -1;

    rl_key_name(t, "svc-a", 5, a);
    rl_key_name(t, "svc-b", 5, b);
    /* 2 per second, 5 at once */
    for (int i = 0; i < 5; i++)
        T_EQ_INT(rl_gcra(t, a, 2, 5, now, &wait), GH_OK);
    T_EQ_INT(rl_gcra(t, a, 2, 5, now, &wait), GH_ELIMIT);
    T_EQ_INT(wait, 1);                  /* 0.5 s, rounded up to whole seconds */
    /* another client has its own budget */
    for (int i = 0; i < 5; i++)
        T_EQ_INT(rl_gcra(t, b, 2, 5, now, &wait), GH_OK);
    /* hammering while refused costs nothing: after one interval exactly one more passes */
    for (int i = 0; i < 100; i++)
        T_EQ_INT(rl_gcra(t, a, 2, 5, now + S / 4, &wait), GH_ELIMIT);
    T_EQ_INT(rl_gcra(t, a, 2, 5, now + S / 2, &wait), GH_OK);
    T_EQ_INT(rl_gcra(t, a, 2, 5, now + S / 2, &wait), GH_ELIMIT);
    /* a rested key has its whole burst again, not more */
    now += 10 * S;
    for (int i = 0; i < 5; i++)
        T_EQ_INT(rl_gcra(t, a, 2, 5, now, &wait), GH_OK);
    T_EQ_INT(rl_gcra(t, a, 2, 5, now, &wait), GH_ELIMIT);
    /* sustained: over 10 s at 2/s, 20 more pass whatever the number of tries */
    int passed = 0;
    for (int64_t x = now; x < now + 10 * S; x += S / 100)
        passed += rl_gcra(t, a, 2, 5, x, &wait) == GH_OK;
    T_ASSERT(passed >= 19 && passed <= 20);
    /* rate 0: no limit; burst 0 counts as 1 */
    for (int i = 0; i < 100; i++)
        T_EQ_INT(rl_gcra(t, b, 0, 0, now, &wait), GH_OK);
    rl_key_name(t, "svc-c", 5, b);
    T_EQ_INT(rl_gcra(t, b, 1, 0, now, &wait), GH_OK);
    T_EQ_INT(rl_gcra(t, b, 1, 0, now, &wait), GH_ELIMIT);
    T_EQ_INT(wait, 1);
    rl_table_free(t);
}

static long
max_rss_kib(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* L9: failures from 10^6 distinct addresses (and 10^6 client names) leave the table its fixed
 * size, memory flat, and the limiter working: a key over its limit right after the flood is
 * refused, and a fresh key is not. */
static void
test_a_million_distinct_keys_keep_the_table_bounded(void)
{
    struct rl_table *t = rl_table_new(8192);
    size_t slots = rl_table_slots(t);
    unsigned char k[RL_KEY_LEN], hot[RL_KEY_LEN];
    char ip[64], name[32];
    int64_t wait = 0;
    long before = max_rss_kib();
    struct timespec t0, t1;

    T_EQ_INT(slots, 8192);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < 1000000; i++) {
        snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        addr(ip, k);
        rl_window_add(t, k, 60, 1000);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "  10^6 window adds: %.0f ns each\n",
        ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e6);
    T_EQ_INT(rl_table_slots(t), slots);
    T_ASSERT(rl_table_live(t, 1000) <= slots);
    T_ASSERT(rl_table_live(t, 1000) > slots / 2);     /* the table was really used */
    /* the limiter still works after the flood */
    addr("203.0.113.9", hot);
    for (int i = 0; i < 5; i++)
        rl_window_add(t, hot, 60, 1001);
    T_EQ_INT(rl_window_check(t, hot, 5, 1001, &wait), GH_ELIMIT);
    addr("203.0.113.10", k);
    T_EQ_INT(rl_window_check(t, k, 5, 1001, &wait), GH_OK);
    /* 10^6 client names through GCRA, likewise */
    for (unsigned i = 0; i < 1000000; i++) {
        int n = snprintf(name, sizeof(name), "client-%u", i);
        rl_key_name(t, name, (size_t)n, k);
        (void)rl_gcra(t, k, 10, 10, 5 * S, &wait);
    }
    T_EQ_INT(rl_table_slots(t), slots);
    /* the table is 8192 * 32 bytes; nothing grows with the keys (allow slack for stdio) */
    fprintf(stderr, "  max RSS grew %ld KiB\n", max_rss_kib() - before);
    T_ASSERT(max_rss_kib() - before < 4096);
    rl_table_free(t);
}

#define RACERS 8
#define TAKES  2000

struct racer {
    struct rl_table *t;
    const unsigned char *key;
    int passed;
};

static void *
race(void *arg)
{
    struct racer *r = arg;
    int64_t wait;

    for (int i = 0; i < TAKES; i++)
        r->passed += rl_window_take(r->t, r->key, 1000, 60, 7, &wait) == GH_OK;
    return NULL;
}

/* Concurrent takes at one key: exactly the limit passes (the stripe lock holds). */
static void
test_concurrent_takes_pass_exactly_the_limit(void)
{
    struct rl_table *t = rl_table_new(1024);
    unsigned char k[RL_KEY_LEN];
    struct racer r[RACERS];
    pthread_t th[RACERS];
    int passed = 0;

    addr("192.0.2.99", k);
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){ .t = t, .key = k };
        T_ASSERT(pthread_create(&th[i], NULL, race, &r[i]) == 0);
    }
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        passed += r[i].passed;
    }
    T_EQ_INT(passed, 1000);
    rl_table_free(t);
}

int
main(void)
{
    t_prog = "ratelimit";
    T_RUN(test_window_take_counts_to_the_limit_then_refuses_until_the_end);
    T_RUN(test_window_check_and_add_count_failures_only);
    T_RUN(test_address_keys_ipv6_by_64_and_ipv4_mapped_alike);
    T_RUN(test_name_keys_are_per_name_and_per_table);
    T_RUN(test_gcra_burst_then_one_per_interval_and_refusals_are_free);
    T_RUN(test_a_million_distinct_keys_keep_the_table_bounded);
    T_RUN(test_concurrent_takes_pass_exactly_the_limit);
    return t_done();
}
