/* audit.h — the audit log (STYLE.md §8 audit events, as structured data): one JSON object per
 * line (as jansson would print it), written with one write(2) to a file opened O_APPEND (or
 * stderr), so a line never interleaves with another even across processes (serve and the CLI
 * appending to the same file). Every line has "time" (RFC 3339 UTC, milliseconds), "type", and when known
 * "sub", "client", "ip" and "rid"; CLI events have "ip":"cli" and the operator's uid and name.
 * Never pass a password, secret, code, token, session id or cookie value: a jti or kid is the
 * way to name a token or key. Write failures are counted and reported once in the ordinary
 * log; they never stop the caller. docs/configuration.md "Audit log" lists the events. */
#ifndef GH_CORE_AUDIT_H
#define GH_CORE_AUDIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Where an event comes from: a request (its id and client address, both borrowed), or the
 * admin CLI (cli true: "ip":"cli" plus the operator). All NULL/false: neither is written. */
struct audit_src {
    const char *rid;
    const char *ip;
    bool cli;
};

#define AUDIT_LINE_MAX  8192  /* a longer event is cut to its core fields + "truncated":true */
#define AUDIT_VALUE_MAX 256   /* string values are cut to this many bytes */

/* Open path for appending (O_APPEND|O_CREAT|O_CLOEXEC, mode 0600); when path is NULL, use
 * stderr if to_stderr (the server, whose stderr is its log), else write nothing (an admin
 * command on a terminal: set audit_log in the config file that the server and the commands
 * share, and both append to it). Call before threads start; GH_OK, or GH_EIO with one line in
 * err. Re-opening closes the previous file. */
int  audit_open(const char *path, bool to_stderr, char *err, size_t errsz);
/* Close the file (not stderr); reports the number of failed writes, if any, in the log. */
void audit_close(void);
/* Write one event. sub and client may be NULL (omitted). The variadic part is pairs of
 * (const char *key, const char *value) ended by a NULL key; a NULL value omits its field.
 * Values are cut to AUDIT_VALUE_MAX bytes; invalid UTF-8 bytes become '?'. */
void audit_event(const struct audit_src *src, const char *type, const char *sub,
         const char *client, ...) __attribute__((sentinel));
void audit_eventv(const struct audit_src *src, const char *type, const char *sub,
         const char *client, va_list ap);
/* Like audit_event with the extra fields as an object (consumed; NULL: none). Non-string
 * values (numbers, booleans) are kept as they are. */
void audit_event_json(const struct audit_src *src, const char *type, const char *sub,
         const char *client, json_t *fields);
/* A JSON string of s as audit values are stored (cut, valid UTF-8); new reference. For
 * building the fields of audit_event_json from untrusted text. */
json_t *audit_value(const char *s);
/* Writes that failed (or were short) since start; for tests and the exit report. */
unsigned long audit_failures(void);

#endif
