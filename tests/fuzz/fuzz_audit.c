/* fuzz_audit.c — the audit line writer (core/audit.c), which escapes untrusted text (usernames
 * as typed, client addresses) without jansson: for any value, the line is one line of JSON that
 * is byte for byte what jansson prints for the object it parses to, and the value comes back
 * as audit_value makes it. The input up to its first NUL is the value; the rest, if any, is
 * the sub. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/audit.h"
#include "core/err.h"
#include "fuzz.h"

static char path[64];

static char *
read_all(size_t *len)
{
    FILE *f = fopen(path, "r");
    char *text = malloc(AUDIT_LINE_MAX + 2);

    FUZZ_CHECK(f && text);
    *len = fread(text, 1, AUDIT_LINE_MAX + 1, f);
    text[*len] = '\0';
    fclose(f);
    return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct audit_src src = { .rid = "r", .ip = "192.0.2.1" };
    char err[128], *in = malloc(size + 2), *text, *again;
    const char *sub = NULL;
    json_t *line, *want;
    json_error_t je;
    size_t len, vlen;

    FUZZ_CHECK(in != NULL);
    memcpy(in, data, size);
    in[size] = in[size + 1] = '\0';
    vlen = strlen(in);
    if (vlen < size)
        sub = in + vlen + 1;
    if (!path[0])
        snprintf(path, sizeof(path), "/tmp/gh-fuzz-audit-%ld", (long)getpid());
    unlink(path);
    FUZZ_CHECK(audit_open(path, false, err, sizeof(err)) == GH_OK);
    audit_event(&src, "login_failure", sub, "shop", "username", in, "reason", "x", NULL);
    audit_close();
    text = read_all(&len);
    unlink(path);
    FUZZ_CHECK(len > 1 && len <= AUDIT_LINE_MAX && text[len - 1] == '\n');
    FUZZ_CHECK(memchr(text, '\n', len - 1) == NULL);
    text[len - 1] = '\0';
    line = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    FUZZ_CHECK(line && json_is_object(line));
    again = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    FUZZ_CHECK(again && strcmp(again, text) == 0);
    want = audit_value(in);
    FUZZ_CHECK(json_equal(json_object_get(line, "username"), want));
    json_decref(want);
    if (sub) {
        want = audit_value(sub);
        FUZZ_CHECK(json_equal(json_object_get(line, "sub"), want));
        json_decref(want);
    }
    free(again);
    json_decref(line);
    free(text);
    free(in);
    return 0;
}
