/* clock.c — wall and monotonic time. Wall time may be pinned by GATEHOUSE_FAKE_NOW for tests;
 * durations always use CLOCK_MONOTONIC so a stepped clock cannot stretch a timeout. */
#include <stdlib.h>
#include <time.h>

#include "util/clock.h"
#include "util/str.h"

static int64_t fake_now; /* set once before threads start; read-only afterwards */

void
clock_init(void)
{
    const char *s = getenv("GATEHOUSE_FAKE_NOW");
    uint64_t v;

    if (s && str_to_u64(s, 1, INT64_MAX, &v) == 0)
        fake_now = (int64_t)v;
}

int64_t
clock_now(void)
{
    if (fake_now)
        return fake_now;
    return (int64_t)time(NULL);
}

int64_t
clock_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
clock_fmt(int64_t t, char *out, size_t outsz)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    if (strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && outsz)
        out[0] = '\0';
}
