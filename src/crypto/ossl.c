/* ossl.c — what the crypto/ modules share: turning the OpenSSL error queue into text for the one
 * line that reports a failure, error-message formatting, and reading a private file (a signing
 * key, the realm secret) only after checking on the opened descriptor that it is a regular file,
 * ours and closed to group and others (SECURITY.md J16): such a file is refused, not repaired.
 * It does not parse what it reads; keys.c and secret.c do. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>

#include "core/err.h"
#include "core/log.h"
#include "crypto/ossl.h"
#include "util/str.h"
#include "util/xmem.h"

/* Empty the queue into buf; returns the text's length (0: the queue was empty). */
static size_t
drain(char *buf, size_t sz)
{
    size_t o = 0;
    unsigned long e;

    buf[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        if (o + 3 >= sz)
            continue; /* keep draining so no stale error is left behind */
        if (o > 0) {
            memcpy(buf + o, "; ", 3);
            o += 2;
        }
        ERR_error_string_n(e, buf + o, sz - o);
        o += strlen(buf + o);
    }
    return o;
}

char *
cry_errs(char *buf, size_t sz)
{
    if (drain(buf, sz) == 0)
        snprintf(buf, sz, "%s", "no OpenSSL detail");
    return buf;
}

void
cry_log_errs(const char *what)
{
    char line[512];

    log_err("crypto_error", "%s: %s", what,
        drain(line, sizeof(line)) ? line : "(no OpenSSL error)");
}

int
cry_read_private(const char *path, size_t min, size_t max, unsigned char **out, size_t *outlen,
    char *err, size_t errsz)
{
    struct stat st;
    unsigned char *buf = NULL;
    size_t len = 0;
    int fd, rc = GH_EIO;

    assert(min == 0 || min == max);
    *out = NULL;
    *outlen = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        str_fmt(err, errsz, "%s: %s", path, strerror(e));
        return e == ENOENT ? GH_ENOTFOUND : e == EACCES ? GH_EDENIED : GH_EIO;
    }
    if (fstat(fd, &st) != 0) {
        str_fmt(err, errsz, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        str_fmt(err, errsz, "%s is not a regular file", path);
        rc = GH_EINVAL;
        goto out;
    }
    /* owner before mode: someone else's file is refused whatever its mode, and only its owner
     * (or root) could follow the chmod advice */
    if (st.st_uid != geteuid()) {
        str_fmt(err, errsz, "%s is owned by uid %u, not by uid %u running gatehouse; run: "
            "chown %u %s", path, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)geteuid(),
            path);
        rc = GH_EDENIED;
        goto out;
    }
    if (st.st_mode & 077) {
        str_fmt(err, errsz, "%s is %s by group or others (mode %04o); run: chmod 600 %s",
            path, (st.st_mode & 044) ? "readable" : "accessible", (unsigned)(st.st_mode & 07777),
            path);
        rc = GH_EDENIED;
        goto out;
    }
    if ((unsigned long long)st.st_size < min || (unsigned long long)st.st_size > max) {
        if (min == max)
            str_fmt(err, errsz, "%s must hold exactly %zu bytes, has %lld", path, max,
                (long long)st.st_size);
        else
            str_fmt(err, errsz, "%s is larger than %zu bytes", path, max);
        rc = GH_EINVAL;
        goto out;
    }
    /* read at most one byte past max, so a file that changed after fstat is still caught */
    buf = x_malloc(max + 1);
    while (len <= max) {
        ssize_t r = read(fd, buf + len, max + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            str_fmt(err, errsz, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > max && min != max) {
        str_fmt(err, errsz, "%s is larger than %zu bytes", path, max);
        rc = GH_EINVAL;
        goto out;
    }
    if (len < min || len > max) {
        str_fmt(err, errsz, "%s: size changed while reading", path);
        goto out;
    }
    *out = buf;
    *outlen = len;
    buf = NULL;
    rc = GH_OK;
out:
    close(fd);
    mem_wipe_free(buf, max + 1);
    return rc;
}
