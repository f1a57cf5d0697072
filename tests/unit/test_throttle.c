/* test_throttle.c — limits on password guessing (model/throttle.c, SECURITY.md S14–S16)
 * against a real SQLite file: the free attempts, the doubling wait and its cap, the lock and
 * its end, a success clearing the count, names no user has counted like any other, the
 * per-address window (IPv6 by /64), and concurrent attempts at one name letting through no
 * more than the free ones (S15). Every time is an explicit `now`. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/limits.h"
#include "model/throttle.h"
#include "store/store.h"
#include "t.h"

static char tmpdir[64];
static int seq;

/* 3 free attempts, then 1, 2, 4, 4 … s; the 8th failure locks for 1000 s; 5 per address. */
static const struct throttle_policy pol = { .free = 3, .max_delay = 4, .lock_failures = 8,
    .lock_time = 1000, .ip_failures = 5 };

static struct store *
fresh(void)
{
    char path[128], err[256];
    struct store *st = NULL;

    snprintf(path, sizeof(path), "%s/t%d.db", tmpdir, ++seq);
    if (store_open(path, STORE_CREATE, &st, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "  open %s: %s\n", path, err);
        return NULL;
    }
    throttle_ip_reset();
    return st;
}

/* One failed attempt at name from ip at now: the begin result (retry in *wait). */
static int
fail_once(struct store *st, const char *name, const char *ip, int64_t now, int64_t *wait)
{
    int rc = throttle_login_begin(&pol, st, name, ip, now, wait);

    if (rc == GH_OK)
        throttle_login_done(st, name, ip, false);
    return rc;
}

static void
test_free_attempts_then_doubling_waits_capped(void)
{
    struct store *st = fresh();
    int64_t now = 1000, wait = -1;
    /* each failure's wait before the next try, from the 3rd on (the 3rd is the last free) */
    static const int64_t want[] = { 0, 0, 1, 2, 4, 4, 4 };

    T_ASSERT(st);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        T_EQ_INT(fail_once(st, "alice", "", now, &wait), GH_OK);
        if (want[i]) {
            /* too early: refused, and told how long to wait */
            T_EQ_INT(throttle_login_begin(&pol, st, "alice", "", now + want[i] - 1, &wait),
                GH_ELIMIT);
            T_EQ_INT(wait, 1);
            T_EQ_INT(throttle_login_begin(&pol, st, "alice", "", now, &wait), GH_ELIMIT);
            T_EQ_INT(wait, want[i]);
        }
        now += want[i];
    }
    store_close(st);
}

static void
test_lock_at_the_ceiling_lasts_lock_time_and_unlock_ends_it(void)
{
    struct store *st = fresh();
    struct login_count lc;
    int64_t now = 5000, wait = 0;

    T_ASSERT(st);
    for (int i = 0; i < 8; i++) {
        T_EQ_INT(fail_once(st, "bob", "", now, &wait), GH_OK);
        now += 4;   /* always wait long enough */
    }
    T_EQ_INT(throttle_login_begin(&pol, st, "bob", "", now, &wait), GH_ELIMIT);
    T_EQ_INT(wait, 1000 - 4);
    /* a refused attempt is not counted and does not extend the lock */
    T_EQ_INT(store_login_get(st, "bob", now, &lc), GH_OK);
    T_EQ_INT(lc.failures, 8);
    T_EQ_INT(lc.locked_until, now - 4 + 1000);
    /* no permanent lockout (S16): after lock_time the name may try again */
    T_EQ_INT(throttle_login_begin(&pol, st, "bob", "", now - 4 + 1000, &wait), GH_OK);
    throttle_login_done(st, "bob", "", false);
    /* the CLI's unlock */
    T_EQ_INT(store_login_reset(st, "bob"), GH_OK);
    T_EQ_INT(throttle_login_begin(&pol, st, "bob", "", now + 1000, &wait), GH_OK);
    store_close(st);
}

static void
test_success_clears_the_count(void)
{
    struct store *st = fresh();
    struct login_count lc;
    int64_t wait = 0;

    T_ASSERT(st);
    T_EQ_INT(fail_once(st, "carol", "", 100, &wait), GH_OK);
    T_EQ_INT(fail_once(st, "carol", "", 100, &wait), GH_OK);
    T_EQ_INT(throttle_login_begin(&pol, st, "carol", "", 100, &wait), GH_OK);
    throttle_login_done(st, "carol", "", true);
    T_EQ_INT(store_login_get(st, "carol", 100, &lc), GH_OK);
    T_EQ_INT(lc.failures, 0);
    /* three free attempts again */
    for (int i = 0; i < 3; i++)
        T_EQ_INT(fail_once(st, "carol", "", 100, &wait), GH_OK);
    T_EQ_INT(throttle_login_begin(&pol, st, "carol", "", 100, &wait), GH_ELIMIT);
    store_close(st);
}

static void
test_count_is_forgotten_after_the_reset_time(void)
{
    struct store *st = fresh();
    int64_t wait = 0;

    T_ASSERT(st);
    for (int i = 0; i < 3; i++)
        T_EQ_INT(fail_once(st, "dave", "", 100, &wait), GH_OK);
    T_EQ_INT(throttle_login_begin(&pol, st, "dave", "", 100, &wait), GH_ELIMIT);
    /* 12 h later the count starts over: three free attempts */
    for (int i = 0; i < 3; i++)
        T_EQ_INT(fail_once(st, "dave", "", 100 + GH_LOGIN_RESET_S, &wait), GH_OK);
    T_EQ_INT(throttle_login_begin(&pol, st, "dave", "", 100 + GH_LOGIN_RESET_S, &wait),
        GH_ELIMIT);
    /* and purge removes what is forgotten */
    size_t removed = 0;
    T_EQ_INT(store_purge(st, 100 + 2 * GH_LOGIN_RESET_S + 10, 0, &removed), GH_OK);
    T_ASSERT(removed >= 1);
    store_close(st);
}

static void
test_names_are_counted_apart_and_unknown_names_alike(void)
{
    struct store *st = fresh();
    int64_t wait = 0;

    T_ASSERT(st);
    /* no user exists in this database: every name is "unknown", all counted the same */
    for (int i = 0; i < 3; i++) {
        T_EQ_INT(fail_once(st, "erin", "", 100, &wait), GH_OK);
        T_EQ_INT(fail_once(st, "frank", "", 100, &wait), GH_OK);
    }
    T_EQ_INT(throttle_login_begin(&pol, st, "erin", "", 100, &wait), GH_ELIMIT);
    T_EQ_INT(throttle_login_begin(&pol, st, "frank", "", 100, &wait), GH_ELIMIT);
    T_EQ_INT(fail_once(st, "grace", "", 100, &wait), GH_OK);
    store_close(st);
}

static void
test_address_limit_over_many_names_and_ipv6_by_64(void)
{
    struct store *st = fresh();
    char name[32];
    int64_t wait = 0;

    T_ASSERT(st);
    /* password spraying: one address, a new name each time */
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "spray%d", i);
        T_EQ_INT(fail_once(st, name, "192.0.2.7", 100, &wait), GH_OK);
    }
    T_EQ_INT(throttle_login_begin(&pol, st, "another", "192.0.2.7", 160, &wait), GH_ELIMIT);
    T_EQ_INT(wait, GH_LOGIN_IP_WINDOW_S - 60);
    /* a refused address counts nothing for the name */
    T_EQ_INT(fail_once(st, "another", "192.0.2.8", 160, &wait), GH_OK);
    /* the same address as IPv4-mapped IPv6 is the same address */
    T_EQ_INT(throttle_login_begin(&pol, st, "x", "::ffff:192.0.2.7", 160, &wait), GH_ELIMIT);
    /* the window ends */
    T_EQ_INT(fail_once(st, "late", "192.0.2.7", 100 + GH_LOGIN_IP_WINDOW_S, &wait), GH_OK);
    /* IPv6: one /64 is one address */
    for (int i = 0; i < 5; i++) {
        char ip[64];
        snprintf(ip, sizeof(ip), "2001:db8:1:2::%x", i + 1);
        snprintf(name, sizeof(name), "six%d", i);
        T_EQ_INT(fail_once(st, name, ip, 100, &wait), GH_OK);
    }
    T_EQ_INT(throttle_login_begin(&pol, st, "six9", "2001:db8:1:2:ffff::1", 100, &wait),
        GH_ELIMIT);
    T_EQ_INT(fail_once(st, "six9", "2001:db8:1:3::1", 100, &wait), GH_OK);
    /* a success takes its attempt back */
    T_EQ_INT(throttle_login_begin(&pol, st, "ok", "198.51.100.1", 100, &wait), GH_OK);
    throttle_login_done(st, "ok", "198.51.100.1", true);
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "after%d", i);
        T_EQ_INT(fail_once(st, name, "198.51.100.1", 100, &wait), GH_OK);
    }
    T_EQ_INT(throttle_login_begin(&pol, st, "z", "198.51.100.1", 100, &wait), GH_ELIMIT);
    store_close(st);
}

#define RACERS 12

struct racer {
    const char *path;
    pthread_barrier_t *bar;
    int rc;
};

static void *
race(void *arg)
{
    struct racer *r = arg;
    struct store *st = NULL;
    char err[256];
    int64_t wait = 0;

    r->rc = store_open(r->path, STORE_WORKER, &st, err, sizeof(err));
    pthread_barrier_wait(r->bar);
    if (r->rc == GH_OK)
        r->rc = throttle_login_begin(&pol, st, "target", "", 100, &wait);
    store_close(st);
    return NULL;
}

/* S15: concurrent guesses at one name, each on its own handle: only the free attempts pass. */
static void
test_concurrent_attempts_pass_no_more_than_the_free_ones(void)
{
    char path[128];
    struct store *st;
    struct racer r[RACERS];
    pthread_t th[RACERS];
    pthread_barrier_t bar;
    int passed = 0, limited = 0;

    snprintf(path, sizeof(path), "%s/t%d.db", tmpdir, seq + 1);
    T_ASSERT((st = fresh()));
    T_EQ_INT(pthread_barrier_init(&bar, NULL, RACERS), 0);
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){ .path = path, .bar = &bar };
        if (pthread_create(&th[i], NULL, race, &r[i]) != 0)
            abort();
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    for (int i = 0; i < RACERS; i++) {
        passed += r[i].rc == GH_OK;
        limited += r[i].rc == GH_ELIMIT;
    }
    T_EQ_INT(passed, 3);
    T_EQ_INT(limited, RACERS - 3);
    store_close(st);
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

int
main(void)
{
    int rc;

    t_prog = "throttle";
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gh-throttle.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    T_RUN(test_free_attempts_then_doubling_waits_capped);
    T_RUN(test_lock_at_the_ceiling_lasts_lock_time_and_unlock_ends_it);
    T_RUN(test_success_clears_the_count);
    T_RUN(test_count_is_forgotten_after_the_reset_time);
    T_RUN(test_names_are_counted_apart_and_unknown_names_alike);
    T_RUN(test_address_limit_over_many_names_and_ipv6_by_64);
    T_RUN(test_concurrent_attempts_pass_no_more_than_the_free_ones);
    rc = t_done();
    nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return rc;
}
