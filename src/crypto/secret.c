/* secret.c — the realm secret (keys/secret.key: 32 random bytes, mode 0600, owned by us) and
 * the keys derived from it with HKDF-SHA-256 (RFC 5869), one per purpose so that neither
 * use can be turned against the other: an HMAC-SHA-256 key for client-secret hashes, an
 * AES-256-GCM key for the few client secrets that must be recoverable (client_secret_jwt), and
 * an HMAC-SHA-256 key for the CSRF tokens of the login forms.
 * The file is created once, atomically and without ever replacing an existing one; it is never
 * rotated here (rotating it invalidates every stored client secret). SECURITY.md J16: a file
 * readable by others or owned by someone else is refused, not repaired.
 * Also the key-encryption key (kek_file) of the signing keys a PostgreSQL database holds: a
 * file of its own (base64url text, created the same way), from which one AES-256-GCM key is
 * derived; sealing and opening share the AEAD code with the realm secret's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "core/err.h"
#include "core/log.h"
#include "crypto/ossl.h"
#include "crypto/rnd.h"
#include "crypto/secret.h"
#include "util/b64url.h"
#include "util/str.h"
#include "util/xmem.h"

#define SEC_KEY_LEN   32
#define SEC_NONCE_LEN 12 /* NIST SP 800-38D §8.2: 96-bit random IVs */
#define SEC_TAG_LEN   16
#define SEC_PATH_MAX  4096

/* HKDF "info" labels: distinct per purpose, versioned so a future change derives new keys. */
static const char info_hash[] = "gatehouse client-secret-hash v1";
static const char info_seal[] = "gatehouse seal v1";
static const char info_form[] = "gatehouse form-token v1";
static const char info_kek[] = "gatehouse signing-key seal v1";

struct secrets {
    unsigned char raw[SEC_KEY_LEN];   /* the realm secret itself: sealed into a shared database
                                       * (app.c) or copied by `gatehouse migrate` */
    unsigned char k_hash[SEC_KEY_LEN];
    unsigned char k_seal[SEC_KEY_LEN];
    unsigned char k_form[SEC_KEY_LEN];
    /* HMAC-SHA-256 keyed with k_hash / k_form, initialised once: a fetch and key set-up per
     * use would cost more than the MAC. Never used themselves: mac2 works on a copy
     * (EVP_MAC_CTX_dup only reads them, so threads may copy them at once). */
    EVP_MAC_CTX *mac_hash, *mac_form;
};

static int
hkdf(const unsigned char *ikm, size_t ikmlen, const char *info, unsigned char out[SEC_KEY_LEN])
{
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *ctx = NULL;
    OSSL_PARAM params[4];
    int rc = GH_ECRYPTO;

    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!kdf || !(ctx = EVP_KDF_CTX_new(kdf)))
        goto out;
    /* No salt: the input is already 256 uniformly random bits (RFC 5869 §3.1). */
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm,
        ikmlen);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
        (void *)(uintptr_t)info, strlen(info));
    params[3] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(ctx, out, SEC_KEY_LEN, params) != 1)
        goto out;
    rc = GH_OK;
out:
    if (rc != GH_OK)
        cry_log_errs("HKDF-SHA-256");
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

/* An HMAC-SHA-256 context keyed with key; NULL on a library failure (errors left queued). */
static EVP_MAC_CTX *
hmac_keyed(const unsigned char key[SEC_KEY_LEN])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2];

    EVP_MAC_free(mac);   /* the context keeps its own reference */
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx && EVP_MAC_init(ctx, key, SEC_KEY_LEN, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

static void
fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return;
    /* best effort: the rename/link already happened; a failed directory sync only weakens
     * durability across a power cut, which the next start would detect as a missing file */
    if (fsync(fd) != 0)
        log_warn("secret_fsync", "fsync(%s): %s", dir, strerror(errno));
    close(fd);
}

/* Write data (n bytes) to path, a new file in the existing directory dir. The bytes go to a
 * 0600 temporary file created with O_EXCL, are fsync'd, then hard-linked to the final name:
 * link(2), unlike rename(2), fails with EEXIST instead of replacing a file another process
 * created meanwhile. GH_EEXIST then means "someone else won; load theirs". */
static int
create_file(const char *dir, const char *path, const void *data, size_t n, char *err,
    size_t errsz)
{
    char tmp[SEC_PATH_MAX];
    const char *base = strrchr(path, '/');
    char *suffix = NULL;
    int fd = -1, len, rc = GH_EIO;
    bool made = false;

    base = base ? base + 1 : path;
    if (!(suffix = rnd_token(9))) {
        rc = GH_ECRYPTO;
        goto out;
    }
    len = snprintf(tmp, sizeof(tmp), "%s/.%s.%s.tmp", dir, base, suffix);
    if (len < 0 || (size_t)len >= sizeof(tmp)) {
        str_fmt(err, errsz, "%s: path too long", dir);
        rc = GH_EINVAL;
        goto out;
    }
    fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        str_fmt(err, errsz, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    made = true;
    errno = 0;
    if (write(fd, data, n) != (ssize_t)n || fsync(fd) != 0) {
        str_fmt(err, errsz, "%s: %s", tmp, errno ? strerror(errno) : "short write");
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        str_fmt(err, errsz, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (link(tmp, path) != 0) {
        if (errno == EEXIST) {
            rc = GH_EEXIST;
            goto out;
        }
        str_fmt(err, errsz, "%s: %s", path, strerror(errno));
        goto out;
    }
    fsync_dir(dir);
    log_info("secret_created", "path=%s", path);
    rc = GH_OK;
out:
    if (fd >= 0)
        close(fd);
    if (made && unlink(tmp) != 0)
        log_warn("secret_tmp", "unlink(%s): %s", tmp, strerror(errno));
    free(suffix);
    return rc;
}

/* Write key as dir/secret.key (create_file), making dir (0700) when absent. */
static int
create_secret(const char *dir, const char *path, const unsigned char key[SEC_KEY_LEN], char *err,
    size_t errsz)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        str_fmt(err, errsz, "%s: %s", dir, strerror(errno));
        return GH_EIO;
    }
    return create_file(dir, path, key, SEC_KEY_LEN, err, errsz);
}

/* Read exactly SEC_KEY_LEN bytes from path; cry_read_private checks type, owner and mode on the
 * opened descriptor (so the checks and the read concern the same file). */
static int
read_secret(const char *path, unsigned char key[SEC_KEY_LEN], char *err, size_t errsz)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc;

    rc = cry_read_private(path, SEC_KEY_LEN, SEC_KEY_LEN, &buf, &len, err, errsz);
    if (rc == GH_OK)
        memcpy(key, buf, SEC_KEY_LEN);
    mem_wipe_free(buf, len);
    return rc;
}

static int
secret_path(const char *keys_dir, char path[SEC_PATH_MAX], char *err, size_t errsz)
{
    int n = snprintf(path, SEC_PATH_MAX, "%s/%s", keys_dir, SEC_FILE);

    if (n < 0 || n >= SEC_PATH_MAX) {
        str_fmt(err, errsz, "%s: path too long", keys_dir);
        return GH_EINVAL;
    }
    return GH_OK;
}

int
sec_from_raw(const unsigned char raw[SEC_RAW_LEN], struct secrets **out)
{
    struct secrets *s = x_calloc(1, sizeof(*s));

    *out = NULL;
    memcpy(s->raw, raw, SEC_KEY_LEN);
    if (hkdf(raw, SEC_KEY_LEN, info_hash, s->k_hash) != GH_OK ||
        hkdf(raw, SEC_KEY_LEN, info_seal, s->k_seal) != GH_OK ||
        hkdf(raw, SEC_KEY_LEN, info_form, s->k_form) != GH_OK ||
        !(s->mac_hash = hmac_keyed(s->k_hash)) || !(s->mac_form = hmac_keyed(s->k_form))) {
        sec_free(s);
        return GH_ECRYPTO;
    }
    *out = s;
    return GH_OK;
}

int
sec_generate(struct secrets **out)
{
    unsigned char key[SEC_KEY_LEN];
    int rc;

    *out = NULL;
    if ((rc = rnd_bytes(key, sizeof(key))) == GH_OK)
        rc = sec_from_raw(key, out);
    mem_wipe(key, sizeof(key));
    return rc;
}

void
sec_raw(const struct secrets *s, unsigned char out[SEC_RAW_LEN])
{
    memcpy(out, s->raw, SEC_KEY_LEN);
}

int
sec_save(const struct secrets *s, const char *keys_dir, char *err, size_t errsz)
{
    char path[SEC_PATH_MAX];
    int rc;

    if ((rc = secret_path(keys_dir, path, err, errsz)) != GH_OK)
        return rc;
    rc = create_secret(keys_dir, path, s->raw, err, errsz);
    if (rc == GH_EEXIST)
        str_fmt(err, errsz, "%s exists already", path);
    return rc;
}

int
sec_load(const char *keys_dir, bool create, struct secrets **out, char *err, size_t errsz)
{
    unsigned char key[SEC_KEY_LEN];
    char path[SEC_PATH_MAX];
    struct secrets *fresh = NULL;
    int rc;

    *out = NULL;
    if (err && errsz)
        err[0] = '\0';
    if ((rc = secret_path(keys_dir, path, err, errsz)) != GH_OK)
        return rc;
    rc = read_secret(path, key, err, errsz);
    if (rc == GH_ENOTFOUND && create) {
        if ((rc = sec_generate(&fresh)) != GH_OK) {
            str_fmt(err, errsz, "cannot generate %s: CSPRNG failed", path);
            goto out;
        }
        rc = create_secret(keys_dir, path, fresh->raw, err, errsz);
        /* GH_EEXIST: another process made it first; read theirs */
        if (rc == GH_OK || rc == GH_EEXIST)
            rc = read_secret(path, key, err, errsz);
    }
    if (rc != GH_OK)
        goto out;
    if ((rc = sec_from_raw(key, out)) != GH_OK) {
        str_fmt(err, errsz, "%s: key derivation failed", path);
        goto out;
    }
    if (err && errsz)
        err[0] = '\0'; /* a "not found" from before creating the file is no longer news */
out:
    mem_wipe(key, sizeof(key));
    sec_free(fresh);
    return rc;
}

void
sec_free(struct secrets *s)
{
    if (!s)
        return;
    EVP_MAC_CTX_free(s->mac_hash);   /* OpenSSL cleanses the key it holds */
    EVP_MAC_CTX_free(s->mac_form);
    mem_wipe_free(s, sizeof(*s));
}

/* HMAC-SHA-256(key, a || NUL || b), on a copy of keyed (the key's context, see struct
 * secrets). Aborts if the library fails: an unfilled MAC could match another unfilled MAC;
 * there is no safe degraded answer for a function that cannot report failure, and HMAC over
 * memory only fails if the library is broken. */
static void
mac2(const EVP_MAC_CTX *keyed, const char *what, const void *a, size_t alen, const void *b,
    size_t blen, unsigned char out[SEC_HASH_LEN])
{
    static const unsigned char sep = 0;
    EVP_MAC_CTX *ctx = NULL;
    size_t len = 0;
    bool ok = false;

    if (!keyed || !(ctx = EVP_MAC_CTX_dup(keyed)))
        goto out;
    if (EVP_MAC_update(ctx, (const unsigned char *)a, alen) != 1 ||
        EVP_MAC_update(ctx, &sep, 1) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)b, blen) != 1 ||
        EVP_MAC_final(ctx, out, &len, SEC_HASH_LEN) != 1 || len != SEC_HASH_LEN)
        goto out;
    ok = true;
out:
    EVP_MAC_CTX_free(ctx);
    if (!ok) {
        cry_log_errs(what);
        abort();
    }
}

void
sec_client_secret_hash(const struct secrets *s, const char *client_id, const char *secret,
    size_t secret_len, unsigned char out[SEC_HASH_LEN])
{
    mac2(s->mac_hash, "HMAC-SHA-256(client secret)", client_id, strlen(client_id), secret,
        secret_len, out);
}

void
sec_form_mac(const struct secrets *s, const char *purpose, const void *data, size_t n,
    unsigned char out[SEC_HASH_LEN])
{
    mac2(s->mac_form, "HMAC-SHA-256(form token)", purpose, strlen(purpose), data, n, out);
}

/* AES-256-GCM under key with a random 96-bit nonce; see sec_seal. */
static int
aead_seal(const unsigned char key[SEC_KEY_LEN], const char *aad, const void *pt, size_t n,
    unsigned char **out, size_t *outlen)
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *buf = NULL;
    size_t total = 0;
    int len = 0, fin = 0, rc = GH_ECRYPTO;

    *out = NULL;
    *outlen = 0;
    if (!aad)
        aad = "";
    if (n > (size_t)INT_MAX - SEC_NONCE_LEN - SEC_TAG_LEN || strlen(aad) > (size_t)INT_MAX)
        return GH_ETOOBIG;
    total = SEC_NONCE_LEN + n + SEC_TAG_LEN;
    buf = x_malloc(total);
    if (rnd_bytes(buf, SEC_NONCE_LEN) != GH_OK)
        goto out;
    if (!(ctx = EVP_CIPHER_CTX_new()) ||
        EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, buf, NULL) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
        EVP_EncryptUpdate(ctx, buf + SEC_NONCE_LEN, &len, pt, (int)n) != 1 ||
        EVP_EncryptFinal_ex(ctx, buf + SEC_NONCE_LEN + len, &fin) != 1 ||
        (size_t)len + (size_t)fin != n ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEC_TAG_LEN, buf + SEC_NONCE_LEN + n) != 1) {
        cry_log_errs("AES-256-GCM seal");
        goto out;
    }
    *out = buf;
    *outlen = total;
    buf = NULL;
    rc = GH_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    mem_wipe_free(buf, total);
    return rc;
}

/* Inverse of aead_seal; see sec_open. */
static int
aead_open(const unsigned char key[SEC_KEY_LEN], const char *aad, const unsigned char *in,
    size_t n, unsigned char **out, size_t *outlen)
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *pt = NULL;
    size_t ptlen = 0;
    int len = 0, fin = 0, rc = GH_ECRYPTO;

    *out = NULL;
    *outlen = 0;
    if (!aad)
        aad = "";
    /* too short to carry a nonce and a tag: cannot be something we sealed */
    if (n < SEC_NONCE_LEN + SEC_TAG_LEN)
        return GH_EDENIED;
    if (n > (size_t)INT_MAX || strlen(aad) > (size_t)INT_MAX)
        return GH_ETOOBIG;
    ptlen = n - SEC_NONCE_LEN - SEC_TAG_LEN;
    pt = x_malloc(ptlen + 1);
    if (!(ctx = EVP_CIPHER_CTX_new()) ||
        EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key, in, NULL) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
        EVP_DecryptUpdate(ctx, pt, &len, in + SEC_NONCE_LEN, (int)ptlen) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEC_TAG_LEN,
            (void *)(uintptr_t)(in + n - SEC_TAG_LEN)) != 1) {
        cry_log_errs("AES-256-GCM open");
        goto out;
    }
    /* The tag is checked here; on mismatch the plaintext above is unauthenticated and wiped. */
    if (EVP_DecryptFinal_ex(ctx, pt + len, &fin) != 1) {
        ERR_clear_error();
        rc = GH_EDENIED;
        goto out;
    }
    if ((size_t)len + (size_t)fin != ptlen) {
        log_err("crypto_error", "AES-256-GCM open: length mismatch");
        goto out;
    }
    pt[ptlen] = '\0';
    *out = pt;
    *outlen = ptlen;
    pt = NULL;
    rc = GH_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    mem_wipe_free(pt, ptlen + 1);
    return rc;
}

int
sec_seal(const struct secrets *s, const char *aad, const void *pt, size_t n,
    unsigned char **out, size_t *outlen)
{
    return aead_seal(s->k_seal, aad, pt, n, out, outlen);
}

int
sec_open(const struct secrets *s, const char *aad, const unsigned char *in, size_t n,
    unsigned char **out, size_t *outlen)
{
    return aead_open(s->k_seal, aad, in, n, out, outlen);
}

/* --- the key-encryption key of sealed signing keys ------------------------------------- */

#define KEK_TEXT_LEN 43 /* base64url of 32 bytes, no padding */

struct kek {
    unsigned char k_seal[SEC_KEY_LEN];
};

/* 43 base64url characters and an optional newline, decoding to exactly 32 bytes. */
static int
kek_parse(const unsigned char *txt, size_t len, unsigned char key[SEC_KEY_LEN])
{
    size_t n = 0;

    if (len == KEK_TEXT_LEN + 1 && txt[KEK_TEXT_LEN] == '\n')
        len--;
    if (len != KEK_TEXT_LEN)
        return GH_EINVAL;
    if (b64url_decode((const char *)txt, len, key, SEC_KEY_LEN, &n) != GH_OK ||
        n != SEC_KEY_LEN) {
        mem_wipe(key, SEC_KEY_LEN);
        return GH_EINVAL;
    }
    return GH_OK;
}

int
sec_kek_load(const char *path, bool create, struct kek **out, bool *created, char *err,
    size_t errsz)
{
    unsigned char key[SEC_KEY_LEN], *txt = NULL;
    char line[KEK_TEXT_LEN + 2];
    size_t len = 0;
    struct kek *k = NULL;
    char *dir = NULL, *slash;
    int rc;

    *out = NULL;
    if (created)
        *created = false;
    if (err && errsz)
        err[0] = '\0';
    rc = cry_read_private(path, 0, KEK_TEXT_LEN + 1, &txt, &len, err, errsz);
    if (rc == GH_ENOTFOUND && create) {
        if ((rc = rnd_bytes(key, sizeof(key))) != GH_OK) {
            str_fmt(err, errsz, "cannot generate %s: CSPRNG failed", path);
            goto out;
        }
        if (b64url_encode(key, sizeof(key), line, sizeof(line)) != GH_OK) {
            rc = GH_EINTERNAL;
            goto out;
        }
        line[KEK_TEXT_LEN] = '\n';
        dir = x_strdup(path);
        slash = strrchr(dir, '/');
        if (slash)
            slash[slash == dir ? 1 : 0] = '\0';
        rc = create_file(slash ? dir : ".", path, line, KEK_TEXT_LEN + 1, err, errsz);
        mem_wipe(line, sizeof(line));
        mem_wipe(key, sizeof(key));
        if (rc == GH_OK && created)
            *created = true;
        if (rc == GH_OK || rc == GH_EEXIST)
            rc = cry_read_private(path, 0, KEK_TEXT_LEN + 1, &txt, &len, err, errsz);
    }
    if (rc != GH_OK)
        goto out;
    if (kek_parse(txt, len, key) != GH_OK) {
        str_fmt(err, errsz, "%s: not a key-encryption key (one line of 43 base64url "
            "characters)", path);
        rc = GH_EINVAL;
        goto out;
    }
    k = x_calloc(1, sizeof(*k));
    if (hkdf(key, sizeof(key), info_kek, k->k_seal) != GH_OK) {
        str_fmt(err, errsz, "%s: key derivation failed", path);
        rc = GH_ECRYPTO;
        goto out;
    }
    *out = k;
    k = NULL;
    if (err && errsz)
        err[0] = '\0';
    rc = GH_OK;
out:
    mem_wipe(key, sizeof(key));
    mem_wipe_free(txt, len);
    free(dir);
    sec_kek_free(k);
    return rc;
}

void
sec_kek_free(struct kek *k)
{
    if (k)
        mem_wipe_free(k, sizeof(*k));
}

int
sec_kek_seal(const struct kek *k, const char *aad, const void *pt, size_t n,
    unsigned char **out, size_t *outlen)
{
    return aead_seal(k->k_seal, aad, pt, n, out, outlen);
}

int
sec_kek_open(const struct kek *k, const char *aad, const unsigned char *in, size_t n,
    unsigned char **out, size_t *outlen)
{
    return aead_open(k->k_seal, aad, in, n, out, outlen);
}
