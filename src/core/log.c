/* log.c — line-oriented logging to stderr. Each line is formatted on the stack and written
 * whole with one write(2), so lines from worker threads never interleave; the access log may
 * instead be batched per thread (log_buffered). Values from clients are escaped by log_esc()
 * so a hostile username cannot forge a second line (CWE-117). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "util/clock.h"
#include "util/xmem.h"

static enum log_level level = LOG_INFO;
static const char *const names[] = { "err", "warn", "info", "debug" };

void
log_set_level(enum log_level lvl)
{
    level = lvl;
}

const char *
log_level_name(enum log_level lvl)
{
    return names[lvl];
}

int
log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return GH_OK;
        }
    }
    return GH_EINVAL;
}

/* Write "<time> <level> <event> " into line (sz > 64 + strlen(event)); returns its length,
 * 0 if it does not fit. No printf: this runs for every access-log line. */
static size_t
prefix(char *line, size_t sz, enum log_level lvl, const char *event)
{
    /* The timestamp only changes once a second: format it once per thread per second. */
    static _Thread_local int64_t ts_sec = -1;
    static _Thread_local char ts[32];
    static _Thread_local size_t ts_len;
    size_t nl = strlen(names[lvl]), ne = strlen(event), n = 0;
    int64_t now;

    if ((now = clock_now()) != ts_sec) {
        clock_fmt(now, ts, sizeof(ts));
        ts_len = strlen(ts);
        ts_sec = now;
    }
    if (ts_len + nl + ne + 3 >= sz)
        return 0;
    memcpy(line, ts, ts_len);
    n = ts_len;
    line[n++] = ' ';
    memcpy(line + n, names[lvl], nl);
    n += nl;
    line[n++] = ' ';
    memcpy(line + n, event, ne);
    n += ne;
    line[n++] = ' ';
    return n;
}

/* Format "<time> <level> <event> <fields>\n" into line; returns its length (0: nothing). */
static size_t
format_line(char *line, size_t sz, enum log_level lvl, const char *event, const char *fmt,
    va_list ap)
{
    size_t n = prefix(line, sz, lvl, event);
    int m;

    if (n == 0)
        return 0;
    m = vsnprintf(line + n, sz - n - 1, fmt, ap);
    if (m < 0)
        return 0;
    n += (size_t)m;
    if (n > sz - 2)
        n = sz - 2;
    line[n++] = '\n';
    return n;
}

static void
write_fd(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* a failed log write has nowhere to be reported */
        p += w;
        n -= (size_t)w;
    }
}

static void
write_all(const char *p, size_t n)
{
    write_fd(STDERR_FILENO, p, n);
}

void
log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;
    size_t n;

    if (lvl > level)
        return;
    va_start(ap, fmt);
    n = format_line(line, sizeof(line), lvl, event, fmt, ap);
    va_end(ap);
    write_all(line, n);
}

/* ---- buffered lines (the access log) -----------------------------------------------------
 * One write(2) per request line was a quarter of the cost of serving the JWKS. Between
 * log_buffer_start() and log_buffer_stop(), log_buffered() appends to a per-thread buffer that
 * is written when it fills and by a flusher thread every interval, so lines are at most that
 * late, whole, and never interleaved. Other events keep their own immediate write. */

#define LOGBUF_SIZE (16 * 1024)

struct logbuf {
    pthread_mutex_t mu;
    size_t len;
    int fd;                      /* where its lines go */
    struct logbuf *next;
    char data[LOGBUF_SIZE];
};

static struct {
    pthread_mutex_t mu;          /* guards list and running */
    struct logbuf *list;
    bool running;
    atomic_bool on;              /* read lock-free by log_buffered() */
    atomic_uint gen;             /* bumped by log_buffer_stop(): older thread pointers are stale */
    pthread_t thread;
    pthread_cond_t cond;
    unsigned interval_ms;
} lb = { .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static _Thread_local struct logbuf *mybuf[LOG_CHANNELS];
static _Thread_local unsigned mybuf_gen[LOG_CHANNELS];

static void
flush_locked(struct logbuf *b)
{
    write_fd(b->fd, b->data, b->len);
    b->len = 0;
}

static void *
flusher(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lb.mu);
    while (lb.running) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(lb.interval_ms % 1000) * 1000000L;
        ts.tv_sec += (time_t)(lb.interval_ms / 1000) + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&lb.cond, &lb.mu, &ts);
        for (struct logbuf *b = lb.list; b; b = b->next) {
            pthread_mutex_lock(&b->mu);
            flush_locked(b);
            pthread_mutex_unlock(&b->mu);
        }
    }
    pthread_mutex_unlock(&lb.mu);
    return NULL;
}

int
log_buffer_start(unsigned interval_ms)
{
    int rc = GH_OK;

    pthread_mutex_lock(&lb.mu);
    if (!lb.running) {
        lb.interval_ms = interval_ms ? interval_ms : 1;
        lb.running = true;
        if (pthread_create(&lb.thread, NULL, flusher, NULL) != 0) {
            lb.running = false;
            rc = GH_EINTERNAL;
        }
    }
    atomic_store(&lb.on, lb.running);
    pthread_mutex_unlock(&lb.mu);
    return rc;
}

void
log_buffer_stop(void)
{
    struct logbuf *b, *next;
    bool was;

    pthread_mutex_lock(&lb.mu);
    was = lb.running;
    atomic_store(&lb.on, false);
    lb.running = false;
    pthread_cond_signal(&lb.cond);
    pthread_mutex_unlock(&lb.mu);
    if (was)
        pthread_join(lb.thread, NULL);
    /* callers stop every writer first (the HTTP server), so the buffers are ours now */
    pthread_mutex_lock(&lb.mu);
    for (b = lb.list; b; b = next) {
        next = b->next;
        flush_locked(b);
        pthread_mutex_destroy(&b->mu);
        free(b);
    }
    lb.list = NULL;
    atomic_fetch_add(&lb.gen, 1);
    pthread_mutex_unlock(&lb.mu);
}

void
log_buffered_line(unsigned ch, int fd, const char *line, size_t n)
{
    unsigned gen = atomic_load(&lb.gen);
    struct logbuf *b;

    if (ch >= LOG_CHANNELS || !atomic_load(&lb.on)) {
        write_fd(fd, line, n);
        return;
    }
    b = mybuf_gen[ch] == gen ? mybuf[ch] : NULL; /* freed by an earlier stop */
    if (!b) {
        b = x_calloc(1, sizeof(*b));
        b->fd = fd;
        pthread_mutex_init(&b->mu, NULL);
        pthread_mutex_lock(&lb.mu);
        b->next = lb.list;
        lb.list = b;
        pthread_mutex_unlock(&lb.mu);
        mybuf[ch] = b;
        mybuf_gen[ch] = gen;
    }
    pthread_mutex_lock(&b->mu);
    if (b->len + n > sizeof(b->data))
        flush_locked(b);
    memcpy(b->data + b->len, line, n);
    b->len += n;
    pthread_mutex_unlock(&b->mu);
}

void
log_buffered(enum log_level lvl, const char *event, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;
    size_t n;

    if (lvl > level)
        return;
    va_start(ap, fmt);
    n = format_line(line, sizeof(line), lvl, event, fmt, ap);
    va_end(ap);
    log_buffered_line(LOG_CH_LOG, STDERR_FILENO, line, n);
}

void
log_buffered_fields(enum log_level lvl, const char *event, const char *fields, size_t len)
{
    char line[LOG_LINE_MAX];
    size_t n;

    if (lvl > level)
        return;
    if (len > sizeof(line) / 2)
        len = sizeof(line) / 2;
    if ((n = prefix(line, sizeof(line) - len - 1, lvl, event)) == 0)
        return;
    memcpy(line + n, fields, len);
    n += len;
    line[n++] = '\n';
    log_buffered_line(LOG_CH_LOG, STDERR_FILENO, line, n);
}

char *
log_esc(const char *s, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    if (!s) {
        memcpy(out, "-", 2);
        return out;
    }
    out[o++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[5];
        size_t k = 0;

        if (c == '"' || c == '\\') {
            esc[k++] = '\\';
            esc[k++] = (char)c;
        } else if (c == '\n') {
            esc[k++] = '\\';
            esc[k++] = 'n';
        } else if (c == '\r') {
            esc[k++] = '\\';
            esc[k++] = 'r';
        } else if (c == '\t') {
            esc[k++] = '\\';
            esc[k++] = 't';
        } else if (c < 0x20 || c >= 0x7f) {
            esc[k++] = '\\';
            esc[k++] = 'x';
            esc[k++] = hex[c >> 4];
            esc[k++] = hex[c & 15];
        } else {
            esc[k++] = (char)c;
        }
        if (o + k > GH_LOG_FIELD_MAX) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, esc, k);
        o += k;
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}
