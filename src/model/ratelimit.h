/* ratelimit.h — bounded in-memory rate limiters, per process (issue 5; SECURITY.md L6, L9).
 *
 * A table is a fixed array of slots, allocated once and never grown, keyed by RL_KEY_LEN bytes:
 * an address (rl_key_addr: IPv4, or the /64 of IPv6, which one subscriber usually holds whole)
 * or a name (rl_key_name: a keyed 128-bit hash). A key hashes with the table's secret seed to a
 * run of RL_PROBE slots, so nobody can aim keys at one run; when the run is full, the slot whose
 * state matters least (the window that ends first, the most idle bucket) is forgotten. So
 * memory is fixed whatever the number of distinct keys (10^6 addresses cost what 10 do), and a
 * flood of keys can only make some other key start over: limits leak under such a flood, they
 * never refuse anyone who is under them. The slots are split into RL_STRIPES stripes with a
 * mutex each, so threads rarely wait for each other; nothing is allocated after rl_table_new.
 *
 * Two ways of counting, one per table (the time unit is the caller's, the same for every call
 * on a table):
 *  - fixed windows (rl_window_*): at most `limit` events per key in a window of `window` time
 *    units that starts at the key's first event (the sign-in and client-authentication
 *    failures per address);
 *  - GCRA (rl_gcra, microseconds): `rate` events per second sustained, `burst` at once; the
 *    state per key is one time, the theoretical arrival time (the per-client request rate). */
#ifndef GH_MODEL_RATELIMIT_H
#define GH_MODEL_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RL_KEY_LEN  16
#define RL_STRIPES  16
#define RL_PROBE    8

struct rl_table;

/* A table of about `slots` slots (rounded up to a power of two, at least RL_STRIPES *
 * RL_PROBE), seeded from the CSPRNG. Never NULL (aborts on out-of-memory like x_calloc). */
struct rl_table *rl_table_new(size_t slots);
void   rl_table_free(struct rl_table *t);          /* NULL is a no-op */
void   rl_table_reset(struct rl_table *t);          /* forget every key */
size_t rl_table_slots(const struct rl_table *t);   /* the fixed size */
/* Slots holding state that still counts at now (for tests and metrics). */
size_t rl_table_live(struct rl_table *t, int64_t now);

/* The key of an address in text ("192.0.2.7", "2001:db8::1"): false when ip is not one
 * (NULL, "", garbage), and then nothing should be limited by address. */
bool   rl_key_addr(const char *ip, unsigned char key[RL_KEY_LEN]);
/* The key of a name (a client_id) of len bytes: a 128-bit hash keyed with t's seed. */
void   rl_key_name(const struct rl_table *t, const char *name, size_t len,
           unsigned char key[RL_KEY_LEN]);

/* Fixed windows. rl_window_check: GH_OK when key has fewer than limit events in its current
 * window (nothing is counted), else GH_ELIMIT with *retry_after time units (>= 1) until the
 * window ends. rl_window_take: the same, and on GH_OK counts one event (a new window starts at
 * now if none is running). rl_window_add: count one event whatever the count (the check
 * comes first, the event is only known afterwards: a failure). rl_window_undo:
 * take one back (a counted attempt that succeeded). limit 0 is no limit. */
int    rl_window_check(struct rl_table *t, const unsigned char key[RL_KEY_LEN], uint32_t limit,
           int64_t now, int64_t *retry_after);
int    rl_window_take(struct rl_table *t, const unsigned char key[RL_KEY_LEN], uint32_t limit,
           int64_t window, int64_t now, int64_t *retry_after);
uint32_t rl_window_add(struct rl_table *t, const unsigned char key[RL_KEY_LEN], int64_t window,
           int64_t now);   /* returns the count now in the window */
void   rl_window_undo(struct rl_table *t, const unsigned char key[RL_KEY_LEN]);

/* GCRA: one event for key at now_us (monotonic microseconds). GH_OK (counted), or GH_ELIMIT
 * with *retry_after_s whole seconds (>= 1, rounded up) until an event would be allowed (not
 * counted). rate: events per second (>= 1; 0 is no limit); burst: events allowed at once from a
 * rested key (0 counts as 1). */
int    rl_gcra(struct rl_table *t, const unsigned char key[RL_KEY_LEN], uint32_t rate,
           uint32_t burst, int64_t now_us, int64_t *retry_after_s);

#endif
