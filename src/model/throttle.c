/* throttle.c — limits on password guessing; the rules are in throttle.h. */
#include <pthread.h>
#include <stdbool.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "model/ratelimit.h"
#include "model/throttle.h"
#include "store/store.h"

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

#define IP_SLOTS 8192   /* model/ratelimit.c: a fixed table, the oldest windows forgotten first */

static struct rl_table *ip_tab;
static pthread_once_t ip_once = PTHREAD_ONCE_INIT;

static void
ip_tab_make(void)
{
    ip_tab = rl_table_new(IP_SLOTS);   /* lives as long as the process */
}

static struct rl_table *
ips(void)
{
    pthread_once(&ip_once, ip_tab_make);
    return ip_tab;
}

static int
ip_begin(const struct throttle_policy *p, const char *ip, int64_t now, int64_t *retry_after)
{
    unsigned char key[RL_KEY_LEN];

    if (!p->ip_failures || !rl_key_addr(ip, key))
        return GH_OK;
    return rl_window_take(ips(), key, p->ip_failures, GH_LOGIN_IP_WINDOW_S, now, retry_after);
}

/* Take a counted attempt back (it succeeded). */
static void
ip_undo(const char *ip)
{
    unsigned char key[RL_KEY_LEN];

    if (rl_key_addr(ip, key))
        rl_window_undo(ips(), key);
}

void
throttle_ip_reset(void)
{
    rl_table_reset(ips());
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
