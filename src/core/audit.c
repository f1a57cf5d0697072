/* audit.c — the audit log: one JSON object per line, each written with a single write(2) to a
 * descriptor opened O_APPEND, so lines from worker threads, and from a CLI command appending to
 * the file the server writes, never interleave (POSIX: an O_APPEND write positions and writes
 * atomically; lines are bounded by AUDIT_LINE_MAX). Values are cut to AUDIT_VALUE_MAX bytes and
 * made valid UTF-8; quotes, backslashes and control characters are escaped and everything
 * outside ASCII is written as \uXXXX, so a hostile username can neither end the line nor
 * smuggle terminal escapes. A failed or short write is counted, reported once in the ordinary
 * log, and otherwise ignored: auditing never takes a request down. What this does not do:
 * rotate or fsync the file (logrotate with copytruncate, or a restart, does).
 *
 * The one place JSON is not built through jansson (STYLE.md §6 rule 6), because a token_issued
 * line comes with every token: building it as a jansson object cost ~37k instructions, a fifth
 * of a client_credentials request's own work; writing it in place costs ~8k. The output is the
 * byte-for-byte what json_dumpb(JSON_COMPACT | JSON_ENSURE_ASCII) prints for the same object:
 * test_audit.c checks every line it writes against jansson, and fuzz_audit does so for
 * arbitrary values. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/audit.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "util/clock.h"
#include "util/str.h"

#define AUDIT_OFF (-2)
static int audit_fd = -1;               /* -1: stderr; AUDIT_OFF: none; set before threads */
static atomic_ulong failures;
static atomic_bool reported;

int
audit_open(const char *path, bool to_stderr, char *err, size_t errsz)
{
    int fd;

    audit_close();
    if (!path) {
        audit_fd = to_stderr ? -1 : AUDIT_OFF;
        return GH_OK;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        snprintf(err, errsz, "audit log %.400s: %s", path, strerror(errno));
        return GH_EIO;
    }
    audit_fd = fd;
    return GH_OK;
}

void
audit_close(void)
{
    unsigned long n = atomic_load(&failures);

    if (n)
        log_err("audit_write_failed", "count=%lu audit events were lost", n);
    atomic_store(&failures, 0);
    atomic_store(&reported, false);
    if (audit_fd >= 0)
        close(audit_fd);
    audit_fd = -1;
}

unsigned long
audit_failures(void)
{
    return atomic_load(&failures);
}

/* s cut to at most AUDIT_VALUE_MAX bytes (not splitting a UTF-8 sequence), copied to buf
 * (AUDIT_VALUE_MAX + 1 bytes) with the bytes of invalid UTF-8 replaced by '?'; its length. */
static size_t
clean_value(const char *s, char *buf)
{
    size_t n = strlen(s);

    if (n > AUDIT_VALUE_MAX) {
        n = AUDIT_VALUE_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (!str_utf8_valid(buf, n)) {
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)buf[i] >= 0x80)
                buf[i] = '?';
        }
    }
    return n;
}

json_t *
audit_value(const char *s)
{
    char buf[AUDIT_VALUE_MAX + 1];
    size_t n = clean_value(s, buf);

    /* valid UTF-8 now, without NUL (s was a C string): jansson's own check would repeat ours */
    return json_stringn_nocheck(buf, n);
}

static void
failed(const char *why)
{
    atomic_fetch_add(&failures, 1);
    met_inc(MET_AUDIT_WRITE_FAILURES);
    /* one line, not one per event: a full disk must not flood the ordinary log */
    if (!atomic_exchange(&reported, true))
        log_err("audit_write_failed", "cannot write the audit log: %s (further failures are "
                                      "counted)", why);
}

/* One write(2) for the whole line: a short write is a failure, never completed by a second
 * write that another line could come between. */
static void
emit(const char *line, size_t n, bool buffered)
{
    int fd = audit_fd >= 0 ? audit_fd : STDERR_FILENO;
    ssize_t w;

    /* token_issued, one per token, goes the way of the access log: a per-thread buffer
     * written when full and every 200 ms (log_buffered_line; a write of its own cost ~5 us, a
     * tenth of a client_credentials request). It may be that late, and is lost with the last
     * 200 ms if the process is killed; every other event is written at once. */
    if (buffered) {
        log_buffered_line(LOG_CH_AUDIT, fd, line, n);
        return;
    }
    do {
        w = write(fd, line, n);
    } while (w < 0 && errno == EINTR);
    if (w < 0)
        failed(strerror(errno));
    else if ((size_t)w != n)
        failed("short write");
}

/* "2025-03-02T10:15:04.123Z" */
static void
fmt_time(char *out, size_t outsz)
{
    /* the seconds part is formatted once per second per thread (token events come by the
     * thousand per second) */
    static _Thread_local int64_t sec_of = -1;
    static _Thread_local char sec[32];
    static _Thread_local size_t sec_len;
    int64_t ms = clock_now_ms();
    int m;

    if (ms / 1000 != sec_of) {
        sec_of = ms / 1000;
        clock_fmt(sec_of, sec, sizeof(sec));
        sec_len = strlen(sec);
        if (sec_len > 1)
            sec[--sec_len] = '\0'; /* drop the Z */
    }
    if (outsz < sec_len + 6) {
        if (outsz)
            out[0] = '\0';
        return;
    }
    m = (int)(ms % 1000);
    memcpy(out, sec, sec_len);
    out[sec_len] = '.';
    out[sec_len + 1] = (char)('0' + m / 100);
    out[sec_len + 2] = (char)('0' + m / 10 % 10);
    out[sec_len + 3] = (char)('0' + m % 10);
    out[sec_len + 4] = 'Z';
    out[sec_len + 5] = '\0';
}

/* An event line built in place, with no allocation: the JSON jansson would print with
 * JSON_COMPACT | JSON_ENSURE_ASCII, keys in the order added (test_audit.c compares the two).
 * core is the length once the common fields are in: a line that would not fit falls back to
 * them plus "truncated":true. */
struct line {
    char b[AUDIT_LINE_MAX];
    size_t n, core;
    bool full;
    const char *keys[24];   /* the keys written so far: a later duplicate is dropped */
    unsigned nkeys;
};

static void
put(struct line *l, const char *s, size_t n)
{
    if (l->full || n > sizeof(l->b) - 2 - l->n) {   /* room for the closing brace and \n */
        l->full = true;
        return;
    }
    memcpy(l->b + l->n, s, n);
    l->n += n;
}

static void
put_u16(struct line *l, unsigned u)
{
    static const char hex[] = "0123456789ABCDEF";
    char e[6] = { '\\', 'u', hex[(u >> 12) & 15], hex[(u >> 8) & 15], hex[(u >> 4) & 15],
                  hex[u & 15] };

    put(l, e, sizeof(e));
}

/* s (n bytes of valid UTF-8) as a JSON string: ", \ and control characters escaped, and
 * everything outside ASCII as \uXXXX (a surrogate pair above U+FFFF). */
static void
put_json_str(struct line *l, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;

    put(l, "\"", 1);
    while (p < e) {
        const unsigned char *run = p;
        unsigned cp;
        int len;

        while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        put(l, (const char *)run, (size_t)(p - run));
        if (p == e)
            break;
        switch (*p) {
        case '"': put(l, "\\\"", 2); p++; continue;
        case '\\': put(l, "\\\\", 2); p++; continue;
        case '\b': put(l, "\\b", 2); p++; continue;
        case '\f': put(l, "\\f", 2); p++; continue;
        case '\n': put(l, "\\n", 2); p++; continue;
        case '\r': put(l, "\\r", 2); p++; continue;
        case '\t': put(l, "\\t", 2); p++; continue;
        default: break;
        }
        if (*p < 0x80) {
            put_u16(l, *p++);
            continue;
        }
        /* valid UTF-8 (clean_value made it so): a lead byte and its continuation bytes */
        len = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
        cp = *p & (0x7fu >> len);
        for (int i = 1; i < len && p + i < e; i++)
            cp = (cp << 6) | (p[i] & 0x3fu);
        p += len;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            put_u16(l, 0xd800 | (cp >> 10));
            put_u16(l, 0xdc00 | (cp & 0x3ff));
        } else {
            put_u16(l, cp);
        }
    }
    put(l, "\"", 1);
}

/* ,"key": unless key was written already (the common fields are never overridden). */
static bool
put_key(struct line *l, const char *key)
{
    for (unsigned i = 0; i < l->nkeys; i++) {
        if (strcmp(l->keys[i], key) == 0)
            return false;
    }
    if (l->nkeys == sizeof(l->keys) / sizeof(l->keys[0]))
        return false;   /* cannot happen: no event has that many fields */
    l->keys[l->nkeys++] = key;
    if (l->n > 1)
        put(l, ",", 1);
    put_json_str(l, key, strlen(key));
    put(l, ":", 1);
    return true;
}

static void
put_value(struct line *l, const char *key, const char *s)
{
    char buf[AUDIT_VALUE_MAX + 1];

    if (s && put_key(l, key))
        put_json_str(l, buf, clean_value(s, buf));
}

/* A number, boolean or null, as jansson prints it. */
static void
put_raw_json(struct line *l, const char *key, const json_t *v)
{
    char buf[64];
    size_t n = json_dumpb(v, buf, sizeof(buf), JSON_COMPACT | JSON_ENCODE_ANY);

    if (n > 0 && n <= sizeof(buf) && put_key(l, key))
        put(l, buf, n);
}

/* Starts l with the common fields; false when the audit log is off. */
static bool
line_start(struct line *l, const struct audit_src *src, const char *type, const char *sub,
    const char *client)
{
    char ts[40];

    if (audit_fd == AUDIT_OFF)
        return false;
    l->n = 0;
    l->full = false;
    l->nkeys = 0;
    put(l, "{", 1);
    fmt_time(ts, sizeof(ts));
    put_value(l, "time", ts);
    put_value(l, "type", type);
    put_value(l, "sub", sub);
    put_value(l, "client", client);
    if (src && src->cli) {
        struct passwd pw, *res = NULL;
        char buf[1024], uid[24];

        snprintf(uid, sizeof(uid), "%lu", (unsigned long)getuid());
        put_value(l, "ip", "cli");
        if (put_key(l, "operator_uid"))
            put(l, uid, strlen(uid));
        if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 && res)
            put_value(l, "operator", res->pw_name);
    } else if (src) {
        put_value(l, "ip", src->ip);
        put_value(l, "rid", src->rid);
    }
    l->core = l->full ? 0 : l->n;   /* 0: not even the common fields fit */
    return true;
}

/* Closes the line and writes it. */
static void
line_finish(struct line *l, const char *type)
{
    if (l->full && l->core) {
        /* too long even with every value cut: keep what identifies the event */
        l->n = l->core;
        l->full = false;
        put(l, ",\"truncated\":true", 17);
    }
    if (l->full) {
        failed("event does not fit a line"); /* cannot happen with bounded values */
        return;
    }
    l->b[l->n++] = '}';
    l->b[l->n++] = '\n';
    emit(l->b, l->n, strcmp(type, "token_issued") == 0);
}

void
audit_event_json(const struct audit_src *src, const char *type, const char *sub,
    const char *client, json_t *fields)
{
    struct line l;
    const char *key;
    json_t *v;

    if (line_start(&l, src, type, sub, client)) {
        json_object_foreach(fields, key, v) {
            if (json_is_string(v))
                put_value(&l, key, json_string_value(v));
            else
                put_raw_json(&l, key, v);
        }
        line_finish(&l, type);
    }
    json_decref(fields);
}

void
audit_eventv(const struct audit_src *src, const char *type, const char *sub,
    const char *client, va_list ap)
{
    struct line l;
    const char *key, *val;

    if (!line_start(&l, src, type, sub, client))
        return;
    while ((key = va_arg(ap, const char *))) {
        val = va_arg(ap, const char *);
        put_value(&l, key, val);
    }
    line_finish(&l, type);
}

void
audit_event(const struct audit_src *src, const char *type, const char *sub,
    const char *client, ...)
{
    va_list ap;

    va_start(ap, client);
    audit_eventv(src, type, sub, client, ap);
    va_end(ap);
}
