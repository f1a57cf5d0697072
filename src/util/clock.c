/* clock.c — wall and monotonic time. Wall time may be pinned by GATEHOUSE_FAKE_NOW for tests,
 * or read from the file GATEHOUSE_FAKE_NOW_FILE names on every call, so a test can move a
 * running server's clock (key rotation); durations always use CLOCK_MONOTONIC so a stepped
 * clock cannot stretch a timeout. */
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/str.h"

static int64_t fake_now;          /* set once before threads start; read-only afterwards */
static const char *fake_now_file; /* likewise; the file's content may change at any time */

void
clock_init(void)
{
    const char *s = getenv("GATEHOUSE_FAKE_NOW");
    uint64_t v;

    if (s && str_to_u64(s, 1, INT64_MAX, &v) == 0)
        fake_now = (int64_t)v;
    s = getenv("GATEHOUSE_FAKE_NOW_FILE");
    if (s && *s)
        fake_now_file = s;
}

/* The Unix seconds in fake_now_file ("1700000000\n"); 0 if unreadable or malformed. */
static int64_t
read_fake_file(void)
{
    char buf[32];
    ssize_t n;
    uint64_t v;
    int fd = open(fake_now_file, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    return str_to_u64(buf, 1, INT64_MAX, &v) == 0 ? (int64_t)v : 0;
}

int64_t
clock_now(void)
{
    if (fake_now_file) {
        int64_t t = read_fake_file();
        if (t)
            return t;
    }
    if (fake_now)
        return fake_now;
    return (int64_t)time(NULL);
}

int64_t
clock_now_ms(void)
{
    struct timespec ts;

    if (fake_now)
        return fake_now * 1000;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
