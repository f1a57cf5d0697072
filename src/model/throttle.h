/* throttle.h — limits on password guessing (issue 5; SECURITY.md S14–S17, (d) "Brute force").
 *
 * Per account name: every attempt is counted before its password is checked, in the same
 * write transaction that reads the count (store_login_count), and a success clears the count.
 * So N concurrent guesses at one account cost at most the free attempts in password hashes
 * (S15), whatever the timing. After `free` consecutive failures each further attempt must wait
 * 1 s, 2 s, 4 s … up to `max_delay` after the previous one; at `lock_failures` the name is
 * locked for `lock_time` (NIST SP 800-63B: at most 100 consecutive failures) unless
 * `gatehouse user unlock` clears it. A count is forgotten GH_LOGIN_RESET_S after the last
 * failure. The name is the normalised username as typed, whether or not such a user exists
 * (S14: the limiter must not reveal which accounts exist); the count lives in the database, so
 * it survives restarts and is shared by instances on one database.
 *
 * Per client address (IPv4, or the /64 of IPv6), in memory per process: at most `ip_failures`
 * failed sign-ins in a GH_LOGIN_IP_WINDOW_S window, whatever the names (password spraying),
 * counted the same way (before the check, undone by a success), in a fixed-size table of
 * model/ratelimit.h that forgets its oldest windows first. */
#ifndef GH_SESSION_THROTTLE_H
#define GH_SESSION_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

struct store;

struct throttle_policy {
    uint32_t free;            /* failures before delays begin (0: delays from the first) */
    uint32_t max_delay;       /* seconds, the longest progressive delay */
    uint32_t lock_failures;   /* consecutive failures that lock the name for lock_time */
    uint32_t lock_time;       /* seconds */
    uint32_t ip_failures;     /* failed sign-ins per address per window; 0: no limit */
};

/* Before checking a password for name (normalised; NULL or "" when what was typed cannot be
 * a username: then only the address is limited) from ip (text from req_client_ip; "" when
 * unknown: then only the name is limited). GH_OK: go on, the attempt is counted; report the
 * outcome with throttle_login_done. GH_ELIMIT: refuse without checking; *retry_after
 * seconds (>= 1) until an attempt may be made. GH_ESTORE. */
int  throttle_login_begin(const struct throttle_policy *p, struct store *st, const char *name,
         const char *ip, int64_t now, int64_t *retry_after);
/* After a checked attempt that throttle_login_begin let through: ok clears name's count and
 * takes the attempt off ip's. */
void throttle_login_done(struct store *st, const char *name, const char *ip, bool ok);

/* S17: whether name is locked (lock_failures failures in a row and the lock not over), for
 * the ways in that check no password but must honour a lock: GH_OK (not locked), GH_ELIMIT,
 * GH_ESTORE. The short waits before the lock do not count here. */
int  throttle_account_locked(const struct throttle_policy *p, struct store *st, const char *name,
         int64_t now);

/* Forget every address count (tests, and a process that reloads its settings). */
void throttle_ip_reset(void);

#endif
