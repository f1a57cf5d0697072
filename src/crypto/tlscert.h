/* tlscert.h — the certificate and private key of native HTTPS (--tls-cert, --tls-key), read
 * and checked once at start-up, kept as PEM text for the HTTP server's TLS library. */
#ifndef GH_CRYPTO_TLSCERT_H
#define GH_CRYPTO_TLSCERT_H

#include <stddef.h>

/* Fields are read-only for callers. cert and key are NUL-terminated PEM text without a NUL
 * inside (libmicrohttpd measures them with strlen). */
struct tls_pem {
    char *cert;
    size_t cert_len;
    char *key;
    size_t key_len;
};

/* Read cert_path (a regular file of at most GH_MAX_TLS_CERT_FILE bytes, starting with a PEM
 * certificate: the leaf, optionally followed by intermediates) and key_path (an unencrypted
 * PEM private key of at most GH_MAX_KEY_FILE bytes, owned by us, no group/other permission
 * bits), and check that the key belongs to the leaf certificate. GH_OK: *out is the caller's
 * (tlscert_free). Otherwise *out is NULL and err holds one line naming the file and the fix:
 * GH_ENOTFOUND, GH_EDENIED (mode, owner), GH_EINVAL (not PEM, wrong key), GH_ETOOBIG, GH_EIO.
 * Logs a warning when the leaf certificate has expired or is not yet valid. */
int  tlscert_load(const char *cert_path, const char *key_path, struct tls_pem **out, char *err,
         size_t errsz);
/* Wipe the key text, free everything; NULL is a no-op. */
void tlscert_free(struct tls_pem *p);

#endif
