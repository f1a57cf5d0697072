/* test_audit.c — core/audit: every event is one line of valid JSON with time, type, sub,
 * client, ip and rid (or the CLI operator); lines from many threads stay whole, one per
 * write; hostile values are escaped and cut, never end a line; a file that cannot be written
 * (or opened) is counted and reported, never a crash. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/audit.h"
#include "core/err.h"
#include "t.h"

static char path[] = "/tmp/gh-test-audit-XXXXXX";

static void
open_tmp(void)
{
    char err[256];
    int fd;

    memcpy(path + strlen(path) - 6, "XXXXXX", 6);
    fd = mkstemp(path);
    close(fd);
    unlink(path); /* audit_open creates it */
    T_EQ_INT(audit_open(path, false, err, sizeof(err)), GH_OK);
}

/* The file's text (caller frees); closes the audit log and removes the file. */
static char *
take(size_t *len)
{
    FILE *f;
    char *text;
    long n;

    audit_close();
    f = fopen(path, "r");
    T_ASSERT(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)n + 1);
    if (fread(text, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    fclose(f);
    unlink(path);
    *len = (size_t)n;
    return text;
}

/* Every line of text as a JSON object, in out (at most max); returns the count, -1 if a line
 * does not parse, is not byte for byte what jansson prints for the object it parses to (audit.c
 * writes lines without jansson), or the text does not end in a newline. */
static int
parse_lines(char *text, json_t **out, int max)
{
    int n = 0;
    char *p = text, *nl;

    while (*p) {
        json_error_t e;
        if (!(nl = strchr(p, '\n')) || n == max)
            return -1;
        *nl = '\0';
        if (!(out[n] = json_loads(p, JSON_REJECT_DUPLICATES, &e)) || !json_is_object(out[n]))
            return -1;
        char *again = json_dumps(out[n], JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        bool same = again && strcmp(again, p) == 0;
        free(again);
        if (!same) {
            fprintf(stderr, "audit line differs from jansson's: %s\n", p);
            return -1;
        }
        n++;
        p = nl + 1;
    }
    return n;
}

static const char *
field(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void
test_event_is_one_json_line_with_the_common_fields(void)
{
    struct audit_src src = { .rid = "9f2c41d07ab3e815000000000000002a", .ip = "192.0.2.7" };
    json_t *lines[4] = { NULL };
    struct stat st;
    size_t len;
    char *text;
    const char *t;

    open_tmp();
    T_EQ_INT(stat(path, &st), 0);
    T_EQ_INT(st.st_mode & 0777, 0600);
    audit_event(&src, "token_issued", "u-42", "shop", "grant_type", "authorization_code", "jti",
        "g1.abc", "absent", NULL, NULL);
    text = take(&len);
    T_ASSERT(len > 0 && text[len - 1] == '\n');
    T_EQ_INT(parse_lines(text, lines, 4), 1);
    T_EQ_STR(field(lines[0], "type"), "token_issued");
    T_EQ_STR(field(lines[0], "sub"), "u-42");
    T_EQ_STR(field(lines[0], "client"), "shop");
    T_EQ_STR(field(lines[0], "ip"), "192.0.2.7");
    T_EQ_STR(field(lines[0], "rid"), "9f2c41d07ab3e815000000000000002a");
    T_EQ_STR(field(lines[0], "grant_type"), "authorization_code");
    T_EQ_STR(field(lines[0], "jti"), "g1.abc");
    T_ASSERT(!json_object_get(lines[0], "absent"));
    /* RFC 3339 UTC with milliseconds: 2025-03-02T10:15:04.123Z */
    t = field(lines[0], "time");
    T_ASSERT(t && strlen(t) == 24 && t[10] == 'T' && t[19] == '.' && t[23] == 'Z');
    json_decref(lines[0]);
    free(text);
}

static void
test_cli_event_names_the_operator_not_a_request(void)
{
    struct audit_src src = { .cli = true };
    json_t *lines[2] = { NULL };
    size_t len;
    char *text;

    open_tmp();
    audit_event(&src, "user_added", "u-1", NULL, "username", "alice", NULL);
    text = take(&len);
    T_EQ_INT(parse_lines(text, lines, 2), 1);
    T_EQ_STR(field(lines[0], "ip"), "cli");
    T_ASSERT(json_integer_value(json_object_get(lines[0], "operator_uid")) == (json_int_t)getuid());
    T_ASSERT(!json_object_get(lines[0], "rid"));
    T_ASSERT(!json_object_get(lines[0], "client"));
    json_decref(lines[0]);
    free(text);
}

static void
test_hostile_values_are_escaped_and_cut(void)
{
    struct audit_src src = { .rid = "r", .ip = "127.0.0.1" };
    char big[4 * AUDIT_LINE_MAX];
    json_t *lines[4] = { NULL };
    size_t len;
    char *text;

    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    open_tmp();
    audit_event(&src, "login_failure", NULL, "shop", "username",
        "eve\"}\n{\"type\":\"login_success\"}\r\x1b[31m\xff\xfe", "reason", "unknown_user", NULL);
    audit_event(&src, "login_failure", NULL, "shop", "username", big, NULL);
    /* a forged common field in the extras never replaces the real one */
    audit_event_json(&src, "logout", "u-1", NULL, json_pack("{s:s, s:i}", "type", "x", "n", 7));
    text = take(&len);
    T_ASSERT(!strchr(text, '\x1b') && !strchr(text, '\r'));
    for (size_t i = 0; i < len; i++)
        T_ASSERT((unsigned char)text[i] < 0x80);   /* JSON_ENSURE_ASCII */
    T_EQ_INT(parse_lines(text, lines, 4), 3);
    T_EQ_STR(field(lines[0], "type"), "login_failure");
    T_EQ_STR(field(lines[0], "username"), "eve\"}\n{\"type\":\"login_success\"}\r\x1b[31m??");
    T_EQ_INT(strlen(field(lines[1], "username")), AUDIT_VALUE_MAX);
    T_EQ_STR(field(lines[2], "type"), "logout");
    T_EQ_INT(json_integer_value(json_object_get(lines[2], "n")), 7);
    for (int i = 0; i < 3; i++)
        json_decref(lines[i]);
    free(text);
}

/* Every byte, and UTF-8 of every length up to the edges of the planes, comes back as
 * audit_value makes it (jansson's view of the cut, cleaned value). */
static void
test_every_byte_and_code_point_round_trips(void)
{
    static const char *const samples[] = {
        "\x01\x02\x07\x08\x09\x0a\x0b\x0c\x0d\x1b\x1f \x7f/\\\"'<>&",
        "\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf",
        "caf\xc3\xa9 \xe2\x80\xae \xf0\x9f\x94\x91 \xed\x9f\xbf",
        "\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \x80 \xe2\x82",   /* invalid: all '?' */
    };
    struct audit_src src = { .rid = "r", .ip = "127.0.0.1" };
    char bytes[256], cut[AUDIT_VALUE_MAX + 8];
    json_t *lines[8] = { NULL };
    size_t len, ns = sizeof(samples) / sizeof(samples[0]);
    char *text;
    int n;

    for (int i = 1; i < 256; i++)
        bytes[i - 1] = (char)i;
    bytes[255] = '\0';
    /* a 4-byte sequence across the cut: dropped whole, never half-written */
    memset(cut, 'x', AUDIT_VALUE_MAX - 2);
    memcpy(cut + AUDIT_VALUE_MAX - 2, "\xf0\x9f\x94\x91", 5);
    open_tmp();
    for (size_t i = 0; i < ns; i++)
        audit_event(&src, "t", NULL, NULL, "v", samples[i], NULL);
    audit_event(&src, "t", NULL, NULL, "v", bytes, NULL);
    audit_event(&src, "t", NULL, NULL, "v", cut, NULL);
    text = take(&len);
    n = parse_lines(text, lines, 8);
    T_EQ_INT(n, (int)ns + 2);
    for (int i = 0; i < n; i++) {
        const char *in = i < (int)ns ? samples[i] : i == (int)ns ? bytes : cut;
        json_t *want = audit_value(in);
        T_EQ_STR(field(lines[i], "v"), json_string_value(want));
        json_decref(want);
        json_decref(lines[i]);
    }
    free(text);
}

/* A line over AUDIT_LINE_MAX keeps the common fields and says it was cut. */
static void
test_oversized_event_keeps_its_core(void)
{
    struct audit_src src = { .rid = "r9", .ip = "192.0.2.1" };
    char ctl[AUDIT_VALUE_MAX + 1];   /* each byte escapes to six: 1.5 KiB a value */
    json_t *lines[2] = { NULL };
    size_t len;
    char *text;

    memset(ctl, 0x01, AUDIT_VALUE_MAX);
    ctl[AUDIT_VALUE_MAX] = '\0';
    open_tmp();
    audit_event(&src, "login_failure", "u-7", "shop", "a", ctl, "b", ctl, "c", ctl, "d", ctl,
        "e", ctl, "f", ctl, NULL);
    text = take(&len);
    T_ASSERT(len <= AUDIT_LINE_MAX);
    T_EQ_INT(parse_lines(text, lines, 2), 1);
    T_ASSERT(json_is_true(json_object_get(lines[0], "truncated")));
    T_EQ_STR(field(lines[0], "type"), "login_failure");
    T_EQ_STR(field(lines[0], "sub"), "u-7");
    T_EQ_STR(field(lines[0], "rid"), "r9");
    T_ASSERT(!json_object_get(lines[0], "a"));
    json_decref(lines[0]);
    free(text);
}

#define THREADS 4
#define EVENTS 500

static void *
writer(void *arg)
{
    struct audit_src src = { .rid = arg, .ip = "10.0.0.1" };
    char pad[AUDIT_VALUE_MAX + 1];

    memset(pad, 'p', AUDIT_VALUE_MAX);
    pad[AUDIT_VALUE_MAX] = '\0';
    for (int i = 0; i < EVENTS; i++)
        audit_event(&src, "token_issued", "u", "c", "pad1", pad, "pad2", pad, "pad3", pad, NULL);
    return NULL;
}

static void
test_lines_from_threads_never_interleave(void)
{
    static json_t *lines[THREADS * EVENTS + 1];
    static char rids[THREADS][3] = { "t0", "t1", "t2", "t3" };
    pthread_t th[THREADS];
    size_t len;
    char *text;
    int n, per[THREADS] = { 0 };

    open_tmp();
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, writer, rids[i]);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    T_EQ_INT(audit_failures(), 0);
    text = take(&len);
    n = parse_lines(text, lines, THREADS * EVENTS + 1);
    T_EQ_INT(n, THREADS * EVENTS);
    for (int i = 0; i < n; i++) {
        const char *rid = field(lines[i], "rid");
        T_ASSERT(rid && rid[0] == 't' && rid[1] >= '0' && rid[1] < '0' + THREADS);
        per[rid[1] - '0']++;
        json_decref(lines[i]);
    }
    for (int i = 0; i < THREADS; i++)
        T_EQ_INT(per[i], EVENTS);
    free(text);
}

static void
test_unwritable_file_is_counted_not_fatal(void)
{
    struct audit_src src = { .rid = "r", .ip = "127.0.0.1" };
    char err[256] = "";
    int saved = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY);

    /* the one report line goes to the ordinary log (stderr): keep the test output clean */
    dup2(devnull, STDERR_FILENO);
    close(devnull);
    T_EQ_INT(audit_open("/nonexistent-dir/audit.log", false, err, sizeof(err)), GH_EIO);
    T_ASSERT(strstr(err, "/nonexistent-dir/audit.log") != NULL);
    if (access("/dev/full", W_OK) == 0) {
        T_EQ_INT(audit_open("/dev/full", false, err, sizeof(err)), GH_OK);
        for (int i = 0; i < 3; i++)
            audit_event(&src, "logout", "u", NULL, NULL);
        T_EQ_INT(audit_failures(), 3);
    }
    audit_close();
    T_EQ_INT(audit_failures(), 0);
    dup2(saved, STDERR_FILENO);
    close(saved);
}

int
main(void)
{
    t_prog = "audit";
    T_RUN(test_event_is_one_json_line_with_the_common_fields);
    T_RUN(test_cli_event_names_the_operator_not_a_request);
    T_RUN(test_hostile_values_are_escaped_and_cut);
    T_RUN(test_every_byte_and_code_point_round_trips);
    T_RUN(test_oversized_event_keeps_its_core);
    T_RUN(test_lines_from_threads_never_interleave);
    T_RUN(test_unwritable_file_is_counted_not_fatal);
    return t_done();
}
