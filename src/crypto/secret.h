/* secret.h — the realm's secret key (keys/secret.key, 32 random bytes, mode 0600) and what is
 * derived from it with HKDF-SHA-256: a key for hashing client secrets (HMAC-SHA-256) and a key
 * for sealing the client_secret_jwt secrets that must be recoverable (AES-256-GCM), and a key
 * for the form tokens (CSRF) the login pages carry.
 * Losing the file invalidates every stored client secret; it is backed up with keys/. */
#ifndef GH_CRYPTO_SECRET_H
#define GH_CRYPTO_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define SEC_FILE     "secret.key"
#define SEC_HASH_LEN 32
#define SEC_RAW_LEN  32   /* the realm secret's own length */

struct secrets;

/* Load keys_dir/secret.key; with create, make it (and keys_dir, 0700) when absent.
 * Refuses a file that is group/world-readable, not owned by us, or not exactly 32 bytes:
 * GH_EDENIED / GH_EINVAL / GH_ENOTFOUND / GH_EIO, with a one-line reason in err. */
int  sec_load(const char *keys_dir, bool create, struct secrets **out, char *err, size_t errsz);
void sec_free(struct secrets *s);   /* wipes; NULL is a no-op */
/* The realm secret from its bytes (a shared database keeps them sealed under the KEK, app.c),
 * or from 32 fresh random ones: GH_OK or GH_ECRYPTO. */
int  sec_from_raw(const unsigned char raw[SEC_RAW_LEN], struct secrets **out);
int  sec_generate(struct secrets **out);
/* Its bytes, to seal them into a shared database or to copy a realm (`gatehouse migrate`). */
void sec_raw(const struct secrets *s, unsigned char out[SEC_RAW_LEN]);
/* Write s as a new keys_dir/secret.key (keys_dir made 0700 when absent), never replacing one:
 * GH_EEXIST when the file exists; GH_EIO / GH_EINVAL with err. */
int  sec_save(const struct secrets *s, const char *keys_dir, char *err, size_t errsz);

/* HMAC-SHA-256 over client_id, a NUL, and the secret: binding the id means one client's hash
 * can never authenticate another. */
void sec_client_secret_hash(const struct secrets *s, const char *client_id, const char *secret,
         size_t secret_len, unsigned char out[SEC_HASH_LEN]);

/* HMAC-SHA-256 under a key of its own (HKDF "gatehouse form-token v1") over purpose, a NUL and
 * data: tokens a browser must echo (CSRF tokens bound to a cookie), never stored. */
void sec_form_mac(const struct secrets *s, const char *purpose, const void *data, size_t n,
         unsigned char out[SEC_HASH_LEN]);
/* AES-256-GCM with a random 96-bit nonce; aad (e.g. the client_id; NULL = "") is authenticated.
 * Output: nonce || ciphertext || 16-byte tag, caller frees. GH_OK or GH_ECRYPTO
 * (GH_ETOOBIG if n is near INT_MAX). */
int  sec_seal(const struct secrets *s, const char *aad, const void *pt, size_t n,
         unsigned char **out, size_t *outlen);
/* Inverse of sec_seal; GH_EDENIED if the tag does not verify or n is too short to hold a
 * nonce and a tag. Output is NUL-terminated
 * (not counted in *outlen); caller frees with mem_wipe_free(out, outlen). */
int  sec_open(const struct secrets *s, const char *aad, const unsigned char *in, size_t n,
         unsigned char **out, size_t *outlen);

/* The key-encryption key (KEK) of the signing keys a shared database holds (issue 7;
 * --kek-file, default <keys>/kek.key): 32 random bytes written as one line of 43 base64url
 * characters (a trailing newline is allowed), mode 0600, owned by us. The same file on every
 * instance of a realm; losing it loses the sealed keys. The AES-256-GCM key is derived from it
 * with HKDF-SHA-256 ("gatehouse signing-key seal v1"), apart from every realm-secret key. */
#define SEC_KEK_FILE "kek.key"
struct kek;

/* Load path; with create, make it when absent (*created says so; created may be NULL). The
 * directory must exist. Refuses a file that is group/world-readable, not owned by us, not a
 * regular file, or not 43 base64url characters of 32 bytes: GH_EDENIED / GH_EINVAL /
 * GH_ENOTFOUND / GH_EIO, with a one-line reason naming path in err. */
int  sec_kek_load(const char *path, bool create, struct kek **out, bool *created, char *err,
         size_t errsz);
void sec_kek_free(struct kek *k);   /* wipes; NULL is a no-op */
/* sec_seal / sec_open under the KEK (same format: nonce || ciphertext || tag); aad binds the
 * sealed text to its place (the key's kid and alg). sec_kek_open: GH_EDENIED when the tag does
 * not verify (another KEK, a changed blob or aad). */
int  sec_kek_seal(const struct kek *k, const char *aad, const void *pt, size_t n,
         unsigned char **out, size_t *outlen);
int  sec_kek_open(const struct kek *k, const char *aad, const unsigned char *in, size_t n,
         unsigned char **out, size_t *outlen);

#endif
