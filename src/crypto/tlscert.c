/* tlscert.c — the files of native HTTPS, checked before the TLS library sees them, so that
 * every mistake an operator can make gets one line naming the file: a missing or oversized
 * file, a key readable by others (the same rule as the signing keys, SECURITY.md J16: refused,
 * not repaired), an encrypted key (no password prompt at start-up), text that is not PEM, and
 * a key that does not belong to the certificate. The certificate chain is not verified: which
 * CAs the clients trust is theirs to decide. The TLS handshake itself is libmicrohttpd's
 * (GnuTLS), configured in http/server.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/ossl.h"
#include "crypto/tlscert.h"
#include "util/str.h"
#include "util/xmem.h"

/* An encrypted key is refused rather than asked about: serve runs without a terminal. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* The certificate file is public: size and type are checked, permissions are not. */
static int
read_cert(const char *path, char **out, size_t *outlen, char *err, size_t errsz)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int fd, rc = GH_EIO;

    *out = NULL;
    *outlen = 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
        int e = errno;
        str_fmt(err, errsz, "tls_cert: %s: %s", path, strerror(e));
        return e == ENOENT ? GH_ENOTFOUND : e == EACCES ? GH_EDENIED : GH_EIO;
    }
    if (fstat(fd, &st) != 0) {
        str_fmt(err, errsz, "tls_cert: %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > GH_MAX_TLS_CERT_FILE) {
        str_fmt(err, errsz, "tls_cert: %s is not a regular file of at most %d bytes", path,
            GH_MAX_TLS_CERT_FILE);
        rc = GH_ETOOBIG;
        goto out;
    }
    /* read at most one byte past the bound, so a file that grew after fstat is still caught */
    buf = x_malloc((size_t)GH_MAX_TLS_CERT_FILE + 2);
    while (len <= GH_MAX_TLS_CERT_FILE) {
        ssize_t r = read(fd, buf + len, (size_t)GH_MAX_TLS_CERT_FILE + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            str_fmt(err, errsz, "tls_cert: %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > GH_MAX_TLS_CERT_FILE) {
        str_fmt(err, errsz, "tls_cert: %s is larger than %d bytes", path,
            GH_MAX_TLS_CERT_FILE);
        rc = GH_ETOOBIG;
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    buf = NULL;
    rc = GH_OK;
out:
    free(buf);
    close(fd);
    return rc;
}

/* A warning, not a refusal: an expired certificate still serves the clients that pin it, and
 * the operator sees the line at every start. */
static void
warn_validity(const char *path, const X509 *x)
{
    if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
        log_warn("tls_cert_expired", "path=%s the certificate has expired", path);
    else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
        log_warn("tls_cert_not_yet_valid", "path=%s the certificate is not valid yet", path);
}

int
tlscert_load(const char *cert_path, const char *key_path, struct tls_pem **out, char *err,
    size_t errsz)
{
    struct tls_pem *p = NULL;
    unsigned char *keybuf = NULL;
    size_t keylen = 0;
    BIO *bio = NULL;
    X509 *x = NULL;
    EVP_PKEY *pkey = NULL;
    char detail[256];
    int rc;

    *out = NULL;
    p = x_calloc(1, sizeof(*p));
    if ((rc = read_cert(cert_path, &p->cert, &p->cert_len, err, errsz)) != GH_OK)
        goto out;
    if ((rc = cry_read_private(key_path, 0, GH_MAX_KEY_FILE, &keybuf, &keylen, err, errsz)) !=
        GH_OK) {
        char sub[512];

        snprintf(sub, sizeof(sub), "%s", err);
        str_fmt(err, errsz, "tls_key: %s", sub);
        goto out;
    }
    keybuf[keylen] = '\0';      /* cry_read_private allocates max + 1 bytes */
    p->key = (char *)keybuf;
    p->key_len = keylen;
    keybuf = NULL;
    rc = GH_EINVAL;
    /* the TLS library reads both as C strings: a NUL inside would silently cut them */
    if (memchr(p->cert, '\0', p->cert_len) || memchr(p->key, '\0', p->key_len)) {
        str_fmt(err, errsz, "%s: the file contains a NUL byte",
            memchr(p->cert, '\0', p->cert_len) ? cert_path : key_path);
        goto out;
    }
    ERR_clear_error();
    if (!(bio = BIO_new_mem_buf(p->cert, (int)p->cert_len)) ||
        !(x = PEM_read_bio_X509(bio, NULL, no_password, NULL))) {
        str_fmt(err, errsz, "tls_cert: %s is not a PEM certificate (%s)", cert_path,
            cry_errs(detail, sizeof(detail)));
        goto out;
    }
    BIO_free(bio);
    if (!(bio = BIO_new_mem_buf(p->key, (int)p->key_len)) ||
        !(pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL))) {
        str_fmt(err, errsz, "tls_key: %s is not an unencrypted PEM private key (%s)",
            key_path, cry_errs(detail, sizeof(detail)));
        goto out;
    }
    if (X509_check_private_key(x, pkey) != 1) {
        ERR_clear_error();
        str_fmt(err, errsz, "tls_key: %s is not the private key of the certificate in %s",
            key_path, cert_path);
        goto out;
    }
    warn_validity(cert_path, x);
    *out = p;
    p = NULL;
    rc = GH_OK;
out:
    BIO_free(bio);
    X509_free(x);
    EVP_PKEY_free(pkey);
    tlscert_free(p);
    return rc;
}

void
tlscert_free(struct tls_pem *p)
{
    if (!p)
        return;
    free(p->cert);
    mem_wipe_free(p->key, p->key_len + 1);
    free(p);
}
