/* audit.c — the audit log: one JSON object per line (jansson, STYLE.md §6), each written with
 * a single write(2) to a descriptor opened O_APPEND, so lines from worker threads, and from a
 * CLI command appending to the file the server writes, never interleave (POSIX: an O_APPEND
 * write positions and writes atomically; lines are bounded by AUDIT_LINE_MAX). Values are cut
 * to AUDIT_VALUE_MAX bytes and made valid UTF-8; jansson escapes quotes and control characters
 * and, with JSON_ENSURE_ASCII, everything else outside ASCII, so a hostile username can neither
 * end the line nor smuggle terminal escapes. A failed or short write is counted, reported once
 * in the ordinary log, and otherwise ignored: auditing never takes a request down. What this
 * does not do: rotate or fsync the file (logrotate with copytruncate, or a restart, does). */
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

/* A JSON string for s: at most AUDIT_VALUE_MAX bytes (not splitting a UTF-8 sequence), bytes
 * of invalid UTF-8 replaced by '?'. New reference. */
json_t *
audit_value(const char *s)
{
    char buf[AUDIT_VALUE_MAX + 1];
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
    /* valid UTF-8 now, without NUL (s was a C string): jansson's own check would repeat ours */
    return json_stringn_nocheck(buf, n);
}

static void
set_str(json_t *o, const char *key, const char *s)
{
    if (s)
        json_object_set_new(o, key, audit_value(s));
}

static void
failed(const char *why)
{
    atomic_fetch_add(&failures, 1);
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

static void
add_source(json_t *o, const struct audit_src *src)
{
    if (!src)
        return;
    if (src->cli) {
        struct passwd pw, *res = NULL;
        char buf[1024];
        uid_t uid = getuid();

        json_object_set_new(o, "ip", json_string("cli"));
        json_object_set_new(o, "operator_uid", json_integer((json_int_t)uid));
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
            set_str(o, "operator", res->pw_name);
        return;
    }
    set_str(o, "ip", src->ip);
    set_str(o, "rid", src->rid);
}

/* A new event object with the common fields (NULL when the audit log is off). */
static json_t *
event_start(const struct audit_src *src, const char *type, const char *sub, const char *client)
{
    char ts[40];
    json_t *o;

    if (audit_fd == AUDIT_OFF)
        return NULL;
    o = json_object();
    fmt_time(ts, sizeof(ts));
    json_object_set_new(o, "time", json_string(ts));
    set_str(o, "type", type);
    set_str(o, "sub", sub);
    set_str(o, "client", client);
    add_source(o, src);
    return o;
}

/* Add one type-specific field; the common ones are never overridden. */
static void
event_add(json_t *o, const char *key, json_t *v)
{
    if (json_object_get(o, key))
        return;
    if (json_is_string(v))
        json_object_set_new(o, key, audit_value(json_string_value(v)));
    else
        json_object_set(o, key, v);
}

/* Serialise o (consumed) as one line and write it. */
static void
event_finish(json_t *o, const char *type)
{
    char line[AUDIT_LINE_MAX];
    json_t *v;
    size_t n;

    n = json_dumpb(o, line, sizeof(line) - 1, JSON_COMPACT | JSON_PRESERVE_ORDER |
        JSON_ENSURE_ASCII);
    if (n == 0 || n > sizeof(line) - 1) {
        /* too long even with every value cut: keep what identifies the event */
        json_t *core = json_object();
        const char *keep[] = { "time", "type", "sub", "client", "ip", "rid" };

        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
            if ((v = json_object_get(o, keep[i])))
                json_object_set(core, keep[i], v);
        }
        json_object_set_new(core, "truncated", json_true());
        n = json_dumpb(core, line, sizeof(line) - 1, JSON_COMPACT | JSON_PRESERVE_ORDER |
            JSON_ENSURE_ASCII);
        json_decref(core);
        if (n > sizeof(line) - 1)
            n = 0;
    }
    json_decref(o);
    if (n == 0) {
        failed("event does not fit a line"); /* cannot happen with bounded values */
        return;
    }
    line[n++] = '\n';
    emit(line, n, strcmp(type, "token_issued") == 0);
}

void
audit_event_json(const struct audit_src *src, const char *type, const char *sub,
    const char *client, json_t *fields)
{
    json_t *o = event_start(src, type, sub, client), *v;
    const char *key;

    if (o) {
        json_object_foreach(fields, key, v)
            event_add(o, key, v);
        event_finish(o, type);
    }
    json_decref(fields);
}

void
audit_eventv(const struct audit_src *src, const char *type, const char *sub,
    const char *client, va_list ap)
{
    json_t *o = event_start(src, type, sub, client);
    const char *key, *val;

    if (!o)
        return;
    while ((key = va_arg(ap, const char *))) {
        val = va_arg(ap, const char *);
        if (val && !json_object_get(o, key))
            json_object_set_new(o, key, audit_value(val));
    }
    event_finish(o, type);
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
