/* clock.h — the one source of time. Tests fake wall time with GATEHOUSE_FAKE_NOW (Unix
 * seconds), read once at start-up by clock_init(), so expiry is tested without sleeping; or
 * with GATEHOUSE_FAKE_NOW_FILE, a file holding Unix seconds that is read on every call, so a
 * running server's clock can be moved (it wins over GATEHOUSE_FAKE_NOW while readable). */
#ifndef GH_UTIL_CLOCK_H
#define GH_UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

void    clock_init(void);          /* reads GATEHOUSE_FAKE_NOW(_FILE) if set */
int64_t clock_now(void);           /* wall time, Unix seconds */
int64_t clock_now_ms(void);        /* wall time, Unix milliseconds (faked: clock_now() * 1000) */
int64_t clock_mono_us(void);       /* monotonic microseconds, for durations and timeouts */
/* Format t as RFC 3339 UTC ("2025-03-02T10:15:04Z") into out (>= 21 bytes). */
void    clock_fmt(int64_t t, char *out, size_t outsz);

#endif
