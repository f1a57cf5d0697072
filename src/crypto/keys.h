/* keys.h — signing keys: generation, loading (parsed once), RFC 7638 thumbprints as kid, and
 * the public JWKS. Private keys are PKCS#8 PEM files named <kid>.pem in the keys directory
 * (directory 0700, files 0600, owned by us), or PEM text the caller hands over (keys a shared
 * database holds sealed, app.c); which keys exist and when they were made is
 * recorded by the store (struct key_meta), so a stray file never becomes a signing key. */
#ifndef GH_CRYPTO_KEYS_H
#define GH_CRYPTO_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define KEYS_KID_MAX 64  /* a base64url SHA-256 thumbprint is 43 characters */
#define KEYS_RSA_BITS_MAX 8192  /* larger RSA keys are refused at load (as in client JWKS) */
#define KEYS_SIG_MAX (KEYS_RSA_BITS_MAX / 8)  /* bytes: the longest signature a ring key makes */

/* One JWS alg per key (RFC 7518 §3.1): a published JWK carries one "alg", so RS256 and PS256
 * each have their own RSA key. The store records names (keys_alg_name), never these numbers;
 * their order is the order of keys_ring_algs() and of key generation at init. */
enum key_alg { KEY_RS256 = 0, KEY_ES256 = 1, KEY_PS256 = 2 };
#define KEY_ALG_COUNT 3

const char *keys_alg_name(enum key_alg alg);              /* "RS256" / "ES256" / "PS256" */
int  keys_alg_parse(const char *s, enum key_alg *out);    /* exact, case-sensitive; GH_EINVAL
                                                           * for anything else (none, HS256…) */

/* RFC 7638 JWK thumbprint of an RSA (e, kty, n) or EC (crv, kty, x, y) JWK: SHA-256 over the
 * required members as compact JSON with sorted keys, base64url (43 characters) into out.
 * Other members are ignored. GH_OK, or GH_EINVAL if kty is unsupported or a member is missing. */
int  keys_thumbprint_jwk(const json_t *jwk, char out[KEYS_KID_MAX + 1]);

/* Generate a key for alg (RSA-2048 for RS256 and PS256, P-256 for ES256), write dir/<kid>.pem
 * with mode 0600 via a temporary file and rename, creating dir with 0700 if needed. kid gets
 * the thumbprint. GH_OK, GH_EIO (err says which path and why), GH_ECRYPTO. */
int  keys_generate(const char *dir, enum key_alg alg, char kid[KEYS_KID_MAX + 1],
         char *err, size_t errsz);
/* Generate a key for alg as keys_generate does, into memory: *out (caller frees with
 * mem_wipe_free(*out, *outlen)) is its PKCS#8 PEM, kid its thumbprint. Nothing is written or
 * logged. GH_OK, GH_ECRYPTO, GH_EINVAL. */
int  keys_generate_pem(enum key_alg alg, char kid[KEYS_KID_MAX + 1], unsigned char **out,
         size_t *outlen, char *err, size_t errsz);
/* Remove dir/<kid>.pem (used to undo keys_generate when recording it fails). */
void keys_remove_file(const char *dir, const char *kid);
/* The bytes of dir/<kid>.pem, read with the checks of a key file (regular, ours, not readable
 * by others, at most GH_MAX_KEY_FILE bytes): *pem (mem_wipe_free). Its content is checked only
 * when a ring loads it. Write pem as dir/<kid>.pem (mode 0600, dir made 0700; written whole,
 * then renamed into place). Both: GH_EINVAL for a kid that is not a file name we make, else as
 * cry_read_private / keys_generate, with err. (`gatehouse migrate` moves keys between files and
 * a database.) */
int  keys_read_pem(const char *dir, const char *kid, unsigned char **pem, size_t *len,
         char *err, size_t errsz);
int  keys_save_pem(const char *dir, const char *kid, const unsigned char *pem, size_t len,
         char *err, size_t errsz);

struct key;      /* one loaded private key */
struct keyring;  /* the keys gatehouse signs with and publishes; read-only once loaded */

/* One entry per key the store lists, oldest first (ties in activate_at: the later entry is
 * the newer key). activate_at 0 and retire_at 0 give the behaviour before staged rotation: the
 * newest key of an alg signs. */
struct key_ref {
    const char *kid;
    enum key_alg alg;
    int64_t created_at;
    int64_t activate_at;   /* signs from then on, until superseded or retired */
    int64_t retire_at;     /* 0: not retired by hand */
};
/* A key handed over as PKCS#8 PEM text (e.g. unsealed from the store) instead of a file. */
struct key_pem {
    const unsigned char *p;  /* NULL: the key is the file <dir>/<kid>.pem */
    size_t len;              /* at most GH_MAX_KEY_FILE */
};

/* Staged rotation: next (published, not signing) → active (signing) → retired (published, not
 * signing) → removed (not published). A key is superseded when a newer key of its alg
 * activates (a newer key retired by hand before it activated supersedes nothing); it retires
 * at the earlier of that time and its retire_at, and is removed hold seconds later (the longest
 * token lifetime plus clock skew: every token it signed has expired by then). At any time at
 * most one key per alg is active. */
enum key_state { KEY_NEXT, KEY_ACTIVE, KEY_RETIRED, KEY_REMOVED };
#define KEYS_HOLD_FOREVER INT64_MAX  /* retired keys are never removed */

const char *keys_state_name(enum key_state st);  /* "next" / "active" / "retired" / "removed" */
/* The dates that make refs[i]'s state: retire_at and remove_at are 0 while nothing is
 * scheduled (no newer key, no hand retirement); remove_at is 0 with KEYS_HOLD_FOREVER. */
struct key_dates {
    int64_t activate_at, retire_at, remove_at;
};
/* refs[i]'s state at now among refs[0..n) (i < n), with its dates in *d (d may be NULL). */
enum key_state keys_state_at(const struct key_ref *refs, size_t n, size_t i, int64_t now,
    int64_t hold, struct key_dates *d);
/* The earliest date after now at which some key of refs changes state; 0 if none will. */
int64_t keys_next_change(const struct key_ref *refs, size_t n, int64_t now, int64_t hold);

/* Load every listed key from dir: checks each file's mode (no group/other bits) and owner,
 * its size (<= GH_MAX_KEY_FILE), that its type matches alg (RS256 and PS256: RSA of
 * GH_RSA_BITS_MIN..KEYS_RSA_BITS_MAX bits; ES256: EC on P-256), and that its thumbprint equals
 * kid. Any failure refuses the whole ring with one line in err
 * naming the file. GH_OK, GH_ENOTFOUND, GH_EDENIED, GH_EINVAL, GH_ECRYPTO, GH_EIO.
 * A kid must be 1..KEYS_KID_MAX base64url characters (it becomes a file name). n = 0 gives an
 * empty ring; n > GH_MAX_KEYS or a kid listed twice is GH_EINVAL. */
int  keys_ring_load(const char *dir, const struct key_ref *refs, size_t n,
         struct keyring **out, char *err, size_t errsz);
/* The same with staged rotation: retired keys stay hold seconds (keys_state_at). Keys removed
 * at load time (clock_now()) are neither loaded (their files may be gone) nor published;
 * keys_ring_load is this with KEYS_HOLD_FOREVER. */
int  keys_ring_load_staged(const char *dir, const struct key_ref *refs, size_t n, int64_t hold,
         struct keyring **out, char *err, size_t errsz);
/* keys_ring_load_staged where pems[i].p (pems may be NULL) is refs[i]'s key instead of its file;
 * such a key is checked exactly like a file's content, and error lines name "signing key KID".
 * The PEM text is not kept. */
int  keys_ring_load_pems(const char *dir, const struct key_ref *refs, const struct key_pem *pems,
         size_t n, int64_t hold, struct keyring **out, char *err, size_t errsz);
void keys_ring_free(struct keyring *kr);
size_t keys_ring_count(const struct keyring *kr);
/* The key that signs with alg at now: the one active then (keys_state_at); NULL if none.
 * keys_ring_signer uses clock_now(). Borrowed. */
const struct key *keys_ring_signer_at(const struct keyring *kr, enum key_alg alg, int64_t now);
const struct key *keys_ring_signer(const struct keyring *kr, enum key_alg alg);
/* Readiness (/readyz): true when the ring has a signer at now and every alg that has signed
 * (an active or retired key) still has one. An alg with only a next key is being introduced
 * and does not count. */
bool keys_ring_ready(const struct keyring *kr, int64_t now);
/* The earliest date after now at which a ring key changes state; 0 if none will. */
int64_t keys_ring_next_change(const struct keyring *kr, int64_t now);
/* The key named kid (signing or only published), NULL if none, if kid is NULL or if the key is
 * removed at clock_now() (a reload is late); compares at most
 * KEYS_KID_MAX + 1 bytes of kid, so kid may be untrusted (but NUL-terminated). Borrowed. */
const struct key *keys_ring_find(const struct keyring *kr, const char *kid);
/* Algs that have an active or next key at clock_now(), in enum order, as a new JSON array of
 * strings. */
json_t *keys_ring_algs(const struct keyring *kr);
/* {"keys":[...]}: every loaded key's public JWK (next, active and retired at load) with kty,
 * use "sig", alg, kid and only public members (n, e / crv, x, y). New reference. */
json_t *keys_ring_jwks(const struct keyring *kr);

const char *keys_kid(const struct key *k);               /* borrowed */
enum key_alg keys_alg(const struct key *k);
/* The private key as a cjose JWK (cjose_jwk_t *), built once at load. Borrowed. */
void *keys_cjose_jwk(const struct key *k);
/* crypto/ only (jwt.c): the private key as OpenSSL parsed it at load (EVP_PKEY *; OpenSSL's
 * own typedef names this struct, so no OpenSSL header is needed here). Borrowed for the ring's
 * lifetime; never modified after load, so threads may sign and verify with it concurrently,
 * each with its own EVP_MD_CTX. */
struct evp_pkey_st;
struct evp_pkey_st *keys_evp_pkey(const struct key *k);

/* Validate a client's JWKS document (JSON text, <= GH_MAX_JWKS bytes): an object with a
 * "keys" array of 1..GH_MAX_JWKS_KEYS public signing keys, each RSA (>= 2048 bits) or EC
 * P-256, with no private or symmetric members, kids unique when present; parsed with
 * JSON_REJECT_DUPLICATES. GH_OK or GH_EINVAL with *why. */
int  keys_jwks_check_public(const char *json, size_t len, const char **why);

#endif
