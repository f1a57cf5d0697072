/* log.c — line-oriented logging to stderr. No locks: each line is formatted on the stack and
 * written with one write(2). Values from clients are escaped by log_esc() so a hostile username
 * cannot forge a second line (CWE-117). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "util/clock.h"

static enum log_level level = LOG_INFO;
static const char *const names[] = { "err", "warn", "info", "debug" };

void
log_set_level(enum log_level lvl)
{
    level = lvl;
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

void
log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
{
    char line[2048], ts[32];
    va_list ap;
    int n, m;

    if (lvl > level)
        return;
    clock_fmt(clock_now(), ts, sizeof(ts));
    n = snprintf(line, sizeof(line), "%s %s %s ", ts, names[lvl], event);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += m;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    /* a failed log write has nowhere to be reported */
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
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
