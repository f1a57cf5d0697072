/* test_crypto.c — the CSPRNG wrappers, SHA-256/HMAC-SHA-256 against published vectors, and the
 * realm secret: file creation and refusals, client-secret hashing, AES-GCM sealing. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "crypto/digest.h"
#include "crypto/rnd.h"
#include "crypto/secret.h"
#include "util/xmem.h"
#include "t.h"

static char root[64];
static int seq;

static void
rm_rf(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;

    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode) && (d = opendir(path))) {
        while ((e = readdir(d))) {
            char sub[1024];
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        closedir(d);
        rmdir(path);
        return;
    }
    unlink(path);
}

static const char *
fresh_dir(void)
{
    static char p[128];
    snprintf(p, sizeof(p), "%s/s%d", root, ++seq);
    return p;
}

static void
hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* --- rnd -------------------------------------------------------------------------------- */

static void
test_rnd_bytes_differ(void)
{
    unsigned char a[32], b[32], z[32] = { 0 };

    T_EQ_INT(rnd_bytes(a, sizeof(a)), GH_OK);
    T_EQ_INT(rnd_bytes(b, sizeof(b)), GH_OK);
    T_ASSERT(memcmp(a, b, sizeof(a)) != 0);
    T_ASSERT(memcmp(a, z, sizeof(a)) != 0);
    T_EQ_INT(rnd_bytes(a, 0), GH_OK);
}

static void
test_rnd_token_is_base64url(void)
{
    char *t = rnd_token(32), *u = rnd_token(32);

    T_ASSERT(t && u);
    T_EQ_INT(strlen(t), 43); /* 256 bits, unpadded */
    T_EQ_INT(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    T_ASSERT(strcmp(t, u) != 0);
    str_wipe_free(t);
    str_wipe_free(u);
    t = rnd_token(16);
    T_EQ_INT(strlen(t), 22);
    str_wipe_free(t);
    t = rnd_token(64);
    T_EQ_INT(strlen(t), 86);
    str_wipe_free(t);
    T_ASSERT(rnd_token(65) == NULL);
    T_ASSERT(rnd_token(0) == NULL);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* SECURITY.md J15: no duplicates among many 128-bit tokens */
static void
test_rnd_tokens_unique(void)
{
    enum { N = 20000 };
    char **t = calloc(N, sizeof(*t));

    T_ASSERT(t != NULL);
    for (size_t i = 0; i < N; i++)
        T_ASSERT((t[i] = rnd_token(16)) != NULL);
    qsort(t, N, sizeof(*t), cmp_str);
    for (size_t i = 1; i < N; i++)
        T_ASSERT(strcmp(t[i - 1], t[i]) != 0);
    for (size_t i = 0; i < N; i++)
        free(t[i]);
    free(t);
}

/* --- digest ----------------------------------------------------------------------------- */

static void
test_sha256_vectors(void)
{
    unsigned char d[DIG_SHA256_LEN];
    char h[2 * DIG_SHA256_LEN + 1];

    /* FIPS 180-2 appendix B.1 and the empty string */
    dig_sha256("abc", 3, d);
    hex(d, sizeof(d), h);
    T_EQ_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    dig_sha256("", 0, d);
    hex(d, sizeof(d), h);
    T_EQ_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_hmac_sha256_rfc4231(void)
{
    unsigned char key1[20], d[DIG_SHA256_LEN];
    char h[2 * DIG_SHA256_LEN + 1];

    /* RFC 4231 test case 1 */
    memset(key1, 0x0b, sizeof(key1));
    T_EQ_INT(dig_hmac_sha256(key1, sizeof(key1), "Hi There", 8, d), GH_OK);
    hex(d, sizeof(d), h);
    T_EQ_STR(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* RFC 4231 test case 2 */
    T_EQ_INT(dig_hmac_sha256((const unsigned char *)"Jefe", 4, "what do ya want for nothing?",
                 28, d), GH_OK);
    hex(d, sizeof(d), h);
    T_EQ_STR(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* --- secret.key ------------------------------------------------------------------------- */

static void
test_secret_created_0600_and_reloads_same(void)
{
    const char *dir = fresh_dir();
    char path[256], err[512];
    struct secrets *s1 = NULL, *s2 = NULL;
    unsigned char h1[SEC_HASH_LEN], h2[SEC_HASH_LEN];
    struct stat st;

    T_EQ_INT(sec_load(dir, false, &s1, err, sizeof(err)), GH_ENOTFOUND);
    T_ASSERT(s1 == NULL);
    T_ASSERT(strstr(err, "No such file or directory") != NULL);
    T_EQ_INT(sec_load(dir, true, &s1, err, sizeof(err)), GH_OK);
    T_ASSERT(stat(dir, &st) == 0);
    T_EQ_INT(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/%s", dir, SEC_FILE);
    T_ASSERT(stat(path, &st) == 0 && S_ISREG(st.st_mode));
    T_EQ_INT(st.st_mode & 0777, 0600);
    T_EQ_INT(st.st_size, 32);
    /* create=true with an existing file loads it, never replaces it */
    T_EQ_INT(sec_load(dir, true, &s2, err, sizeof(err)), GH_OK);
    sec_client_secret_hash(s1, "shop", "s3cret", 6, h1);
    sec_client_secret_hash(s2, "shop", "s3cret", 6, h2);
    T_ASSERT(memcmp(h1, h2, sizeof(h1)) == 0);
    sec_free(s2);
    s2 = NULL;
    T_EQ_INT(sec_load(dir, false, &s2, err, sizeof(err)), GH_OK);
    sec_client_secret_hash(s2, "shop", "s3cret", 6, h2);
    T_ASSERT(memcmp(h1, h2, sizeof(h1)) == 0);
    sec_free(s1);
    sec_free(s2);
    sec_free(NULL);
}

/* The raw bytes carry a realm: a secret rebuilt from them (a shared database, migrate) hashes
 * the same; sec_save writes them as a 0600 file that sec_load reads back, and never replaces
 * one that exists. */
static void
test_secret_raw_round_trip_and_save(void)
{
    char dir[128], dir2[128], path[256], err[512];
    struct secrets *s1 = NULL, *s2 = NULL, *s3 = NULL, *o = NULL;
    unsigned char raw[SEC_RAW_LEN], raw2[SEC_RAW_LEN], h1[SEC_HASH_LEN], h2[SEC_HASH_LEN];
    struct stat st;

    snprintf(dir, sizeof(dir), "%s", fresh_dir());
    snprintf(dir2, sizeof(dir2), "%s", fresh_dir());   /* not made yet */
    T_EQ_INT(sec_load(dir, true, &s1, err, sizeof(err)), GH_OK);
    sec_raw(s1, raw);
    T_EQ_INT(sec_from_raw(raw, &s2), GH_OK);
    sec_client_secret_hash(s1, "shop", "s3cret", 6, h1);
    sec_client_secret_hash(s2, "shop", "s3cret", 6, h2);
    T_ASSERT(memcmp(h1, h2, sizeof(h1)) == 0);
    sec_form_mac(s1, "login", "x", 1, h1);
    sec_form_mac(s2, "login", "x", 1, h2);
    T_ASSERT(memcmp(h1, h2, sizeof(h1)) == 0);
    /* saved elsewhere (dir2 made 0700) and loaded from there: the same realm */
    T_EQ_INT(sec_save(s2, dir2, err, sizeof(err)), GH_OK);
    T_ASSERT(stat(dir2, &st) == 0);
    T_EQ_INT(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/%s", dir2, SEC_FILE);
    T_ASSERT(stat(path, &st) == 0);
    T_EQ_INT(st.st_mode & 0777, 0600);
    T_EQ_INT(sec_load(dir2, false, &s3, err, sizeof(err)), GH_OK);
    sec_raw(s3, raw2);
    T_ASSERT(memcmp(raw, raw2, sizeof(raw)) == 0);
    /* an existing file is never replaced */
    T_EQ_INT(sec_generate(&o), GH_OK);
    sec_raw(o, raw2);
    T_ASSERT(memcmp(raw, raw2, sizeof(raw)) != 0);
    T_EQ_INT(sec_save(o, dir2, err, sizeof(err)), GH_EEXIST);
    T_ASSERT(strstr(err, "exists already") != NULL);
    sec_free(s3);
    s3 = NULL;
    T_EQ_INT(sec_load(dir2, false, &s3, err, sizeof(err)), GH_OK);
    sec_client_secret_hash(s3, "shop", "s3cret", 6, h2);
    sec_client_secret_hash(s1, "shop", "s3cret", 6, h1);
    T_ASSERT(memcmp(h1, h2, sizeof(h1)) == 0);
    sec_free(s1);
    sec_free(s2);
    sec_free(s3);
    sec_free(o);
}

static void
test_secret_hash_binds_client_id_and_secret(void)
{
    const char *dir = fresh_dir(), *dir2;
    char err[512];
    struct secrets *s = NULL, *o = NULL;
    unsigned char a[SEC_HASH_LEN], b[SEC_HASH_LEN];

    T_EQ_INT(sec_load(dir, true, &s, err, sizeof(err)), GH_OK);
    /* the NUL separator keeps ("a","bc") and ("ab","c") apart */
    sec_client_secret_hash(s, "a", "bc", 2, a);
    sec_client_secret_hash(s, "ab", "c", 1, b);
    T_ASSERT(memcmp(a, b, sizeof(a)) != 0);
    sec_client_secret_hash(s, "shop", "secret", 6, a);
    sec_client_secret_hash(s, "shop2", "secret", 6, b);
    T_ASSERT(memcmp(a, b, sizeof(a)) != 0);
    sec_client_secret_hash(s, "shop", "secreT", 6, b);
    T_ASSERT(memcmp(a, b, sizeof(a)) != 0);
    /* the length is honoured: a longer secret with the same prefix differs */
    sec_client_secret_hash(s, "shop", "secretX", 7, b);
    T_ASSERT(memcmp(a, b, sizeof(a)) != 0);
    /* another realm secret gives another hash */
    dir2 = fresh_dir();
    T_EQ_INT(sec_load(dir2, true, &o, err, sizeof(err)), GH_OK);
    sec_client_secret_hash(o, "shop", "secret", 6, b);
    T_ASSERT(memcmp(a, b, sizeof(a)) != 0);
    sec_free(s);
    sec_free(o);
}

/* Stored client-secret hashes (and form tokens in flight) must survive any rewrite of the MAC
 * code: a fixed realm secret gives the values computed independently (Python hmac/hashlib:
 * HKDF-SHA-256 without salt, then HMAC-SHA-256 over a || NUL || b). */
static void
test_secret_hash_known_answer(void)
{
    const char *dir = fresh_dir();
    char path[256], err[512], h[2 * SEC_HASH_LEN + 1];
    struct secrets *s = NULL;
    unsigned char d[SEC_HASH_LEN];
    int fd;

    T_ASSERT(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof(path), "%s/%s", dir, SEC_FILE);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    T_ASSERT(fd >= 0);
    T_ASSERT(write(fd, "0123456789abcdef0123456789abcdef", 32) == 32);
    close(fd);
    T_EQ_INT(sec_load(dir, false, &s, err, sizeof(err)), GH_OK);
    /* twice: each call works on its own copy of the keyed context */
    for (int i = 0; i < 2; i++) {
        sec_client_secret_hash(s, "shop", "s3cret", 6, d);
        hex(d, sizeof(d), h);
        T_EQ_STR(h, "0705b8fbf5ff3fac1970cc0bc7d25bba21d30ba54612aed2eb24da6eb1dadcb3");
        sec_form_mac(s, "login", "abc", 3, d);
        hex(d, sizeof(d), h);
        T_EQ_STR(h, "38b0537c43ad1868a9afcbf36ab3e7557953c1ebdc62aac972bf7252b61e8411");
    }
    sec_free(s);
}

static void
test_secret_file_refusals(void)
{
    const char *dir = fresh_dir();
    char path[128], err[512], want[400];
    struct secrets *s = NULL;
    int fd;

    T_EQ_INT(sec_load(dir, true, &s, err, sizeof(err)), GH_OK);
    sec_free(s);
    s = NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, SEC_FILE);
    T_ASSERT(chmod(path, 0644) == 0);
    T_EQ_INT(sec_load(dir, true, &s, err, sizeof(err)), GH_EDENIED);
    T_ASSERT(s == NULL);
    snprintf(want, sizeof(want),
        "%s is readable by group or others (mode 0644); run: chmod 600 %s", path, path);
    T_EQ_STR(err, want);
    T_ASSERT(chmod(path, 0620) == 0);
    T_EQ_INT(sec_load(dir, false, &s, err, sizeof(err)), GH_EDENIED);
    T_ASSERT(chmod(path, 0600) == 0);
    /* wrong size: 31 and 33 bytes */
    T_ASSERT(truncate(path, 31) == 0);
    T_EQ_INT(sec_load(dir, true, &s, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "32 bytes") != NULL);
    fd = open(path, O_WRONLY | O_TRUNC);
    T_ASSERT(fd >= 0);
    T_ASSERT(write(fd, "0123456789abcdef0123456789abcdefX", 33) == 33);
    close(fd);
    T_EQ_INT(sec_load(dir, true, &s, err, sizeof(err)), GH_EINVAL);
    /* a directory in its place */
    T_ASSERT(unlink(path) == 0 && mkdir(path, 0700) == 0);
    T_EQ_INT(sec_load(dir, true, &s, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(s == NULL);
}

static void
test_seal_open_round_trip(void)
{
    const char *dir = fresh_dir();
    char err[512];
    struct secrets *s = NULL;
    unsigned char *c1 = NULL, *c2 = NULL, *pt = NULL;
    size_t n1 = 0, n2 = 0, pn = 0;
    static const char msg[] = "client secret for client_secret_jwt";

    T_EQ_INT(sec_load(dir, true, &s, err, sizeof(err)), GH_OK);
    T_EQ_INT(sec_seal(s, "shop", msg, sizeof(msg) - 1, &c1, &n1), GH_OK);
    T_EQ_INT(n1, 12 + (sizeof(msg) - 1) + 16);
    for (size_t i = 0; i + 13 <= n1; i++)
        T_ASSERT(memcmp(c1 + i, "client secret", 13) != 0);
    /* random nonce: the same plaintext seals differently */
    T_EQ_INT(sec_seal(s, "shop", msg, sizeof(msg) - 1, &c2, &n2), GH_OK);
    T_ASSERT(n1 == n2 && memcmp(c1, c2, n1) != 0);
    T_EQ_INT(sec_open(s, "shop", c1, n1, &pt, &pn), GH_OK);
    T_EQ_INT(pn, sizeof(msg) - 1);
    T_EQ_STR((const char *)pt, msg); /* NUL-terminated */
    mem_wipe_free(pt, pn);
    pt = NULL;
    /* empty plaintext works too */
    free(c2);
    T_EQ_INT(sec_seal(s, NULL, "", 0, &c2, &n2), GH_OK);
    T_EQ_INT(n2, 28);
    T_EQ_INT(sec_open(s, "", c2, n2, &pt, &pn), GH_OK);
    T_EQ_INT(pn, 0);
    T_EQ_STR((const char *)pt, "");
    mem_wipe_free(pt, pn);
    free(c1);
    free(c2);
    sec_free(s);
}

static void
test_open_refuses_tampering_and_wrong_aad(void)
{
    const char *dir = fresh_dir(), *dir2;
    char err[512];
    struct secrets *s = NULL, *o = NULL;
    unsigned char *c = NULL, *pt = (unsigned char *)1;
    size_t n = 0, pn = 1;

    T_EQ_INT(sec_load(dir, true, &s, err, sizeof(err)), GH_OK);
    T_EQ_INT(sec_seal(s, "shop", "topsecret", 9, &c, &n), GH_OK);
    /* every single-bit flip, in nonce, ciphertext and tag, is caught */
    for (size_t i = 0; i < n; i++) {
        c[i] ^= 0x01;
        T_EQ_INT(sec_open(s, "shop", c, n, &pt, &pn), GH_EDENIED);
        T_ASSERT(pt == NULL && pn == 0);
        c[i] ^= 0x01;
    }
    T_EQ_INT(sec_open(s, "shop2", c, n, &pt, &pn), GH_EDENIED);
    T_EQ_INT(sec_open(s, "", c, n, &pt, &pn), GH_EDENIED);
    T_EQ_INT(sec_open(s, "shop", c, n - 1, &pt, &pn), GH_EDENIED); /* truncated tag */
    T_EQ_INT(sec_open(s, "shop", c, 27, &pt, &pn), GH_EDENIED);
    T_EQ_INT(sec_open(s, "shop", c, 0, &pt, &pn), GH_EDENIED);
    /* another realm's key cannot open it */
    dir2 = fresh_dir();
    T_EQ_INT(sec_load(dir2, true, &o, err, sizeof(err)), GH_OK);
    T_EQ_INT(sec_open(o, "shop", c, n, &pt, &pn), GH_EDENIED);
    /* and the original still opens */
    T_EQ_INT(sec_open(s, "shop", c, n, &pt, &pn), GH_OK);
    T_ASSERT(pn == 9 && memcmp(pt, "topsecret", 9) == 0);
    mem_wipe_free(pt, pn);
    free(c);
    sec_free(s);
    sec_free(o);
}

/* --- the key-encryption key of sealed signing keys -------------------------------------- */

static void
write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    T_ASSERT(fd >= 0);
    T_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    T_ASSERT(chmod(path, mode) == 0);
}

static void
test_kek_created_once_as_base64url_line_0600(void)
{
    const char *dir = fresh_dir();
    char path[160], err[512], text[64] = "", again[64] = "";
    struct kek *k = NULL;
    struct stat st;
    bool created = true;
    int fd;

    T_ASSERT(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof(path), "%s/%s", dir, SEC_KEK_FILE);
    T_EQ_INT(sec_kek_load(path, false, &k, &created, err, sizeof(err)), GH_ENOTFOUND);
    T_ASSERT(k == NULL && !created);
    T_EQ_INT(sec_kek_load(path, true, &k, &created, err, sizeof(err)), GH_OK);
    T_ASSERT(k != NULL && created);
    sec_kek_free(k);
    T_ASSERT(stat(path, &st) == 0);
    T_EQ_INT(st.st_mode & 0777, 0600);
    T_EQ_INT(st.st_size, 44);
    fd = open(path, O_RDONLY);
    T_ASSERT(fd >= 0 && read(fd, text, sizeof(text) - 1) == 44);
    close(fd);
    T_ASSERT(text[43] == '\n');
    for (int i = 0; i < 43; i++)
        T_ASSERT(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            text[i]) != NULL);
    /* present: reused, never replaced */
    T_EQ_INT(sec_kek_load(path, true, &k, &created, err, sizeof(err)), GH_OK);
    T_ASSERT(!created);
    sec_kek_free(k);
    fd = open(path, O_RDONLY);
    T_ASSERT(fd >= 0 && read(fd, again, sizeof(again) - 1) == 44);
    close(fd);
    T_EQ_STR(again, text);
    /* without its newline the same key */
    text[43] = '\0';
    write_text(path, text, 0600);
    T_EQ_INT(sec_kek_load(path, false, &k, NULL, err, sizeof(err)), GH_OK);
    sec_kek_free(k);
}

static void
test_kek_file_refusals(void)
{
    const char *dir = fresh_dir();
    char path[160], err[512];
    struct kek *k = NULL;

    T_ASSERT(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof(path), "%s/k", dir);
    write_text(path, "0123456789012345678901234567890123456789abc\n", 0640);
    T_EQ_INT(sec_kek_load(path, true, &k, NULL, err, sizeof(err)), GH_EDENIED);
    T_ASSERT(strstr(err, "readable by group or others") != NULL);
    /* 42, 44 characters; a character outside base64url; two lines; raw bytes; empty */
    const char *bad[] = { "012345678901234567890123456789012345678901\n",
        "01234567890123456789012345678901234567890123",
        "0123456789012345678901234567890123456789ab+",
        "0123456789012345678901234567890123456789ab\n\n", "", NULL };
    for (size_t i = 0; bad[i]; i++) {
        write_text(path, bad[i], 0600);
        T_EQ_INT(sec_kek_load(path, true, &k, NULL, err, sizeof(err)), GH_EINVAL);
        T_ASSERT(k == NULL);
        T_ASSERT(strstr(err, "not a key-encryption key") != NULL);
    }
    write_text(path, "0123456789012345678901234567890123456789abcdefgh\n", 0600);
    T_EQ_INT(sec_kek_load(path, true, &k, NULL, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(k == NULL);
}

static void
test_kek_seal_binds_aad_and_key(void)
{
    const char *dir = fresh_dir();
    char p1[160], p2[160], err[512];
    struct kek *k1 = NULL, *k2 = NULL;
    struct secrets *s = NULL;
    unsigned char *c = NULL, *pt = NULL;
    size_t n = 0, pn = 0;
    static const char pem[] = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n";

    T_ASSERT(mkdir(dir, 0700) == 0);
    snprintf(p1, sizeof(p1), "%s/a", dir);
    snprintf(p2, sizeof(p2), "%s/b", dir);
    T_EQ_INT(sec_kek_load(p1, true, &k1, NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(sec_kek_load(p2, true, &k2, NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(sec_kek_seal(k1, "kid=A alg=ES256", pem, sizeof(pem) - 1, &c, &n), GH_OK);
    T_EQ_INT(n, 12 + sizeof(pem) - 1 + 16);
    T_EQ_INT(sec_kek_open(k1, "kid=A alg=ES256", c, n, &pt, &pn), GH_OK);
    T_EQ_STR((const char *)pt, pem);
    mem_wipe_free(pt, pn);
    /* another KEK, another kid or alg, a flipped bit, a truncated blob: refused */
    T_EQ_INT(sec_kek_open(k2, "kid=A alg=ES256", c, n, &pt, &pn), GH_EDENIED);
    T_EQ_INT(sec_kek_open(k1, "kid=B alg=ES256", c, n, &pt, &pn), GH_EDENIED);
    T_EQ_INT(sec_kek_open(k1, "kid=A alg=RS256", c, n, &pt, &pn), GH_EDENIED);
    c[20] ^= 1;
    T_EQ_INT(sec_kek_open(k1, "kid=A alg=ES256", c, n, &pt, &pn), GH_EDENIED);
    c[20] ^= 1;
    T_EQ_INT(sec_kek_open(k1, "kid=A alg=ES256", c, 27, &pt, &pn), GH_EDENIED);
    T_ASSERT(pt == NULL);
    /* the realm secret's sealing key is another key, even if the bytes were the same file */
    T_EQ_INT(sec_load(dir, true, &s, err, sizeof(err)), GH_OK);
    T_EQ_INT(sec_open(s, "kid=A alg=ES256", c, n, &pt, &pn), GH_EDENIED);
    free(c);
    sec_free(s);
    sec_kek_free(k1);
    sec_kek_free(k2);
}

int
main(void)
{
    t_init("crypto");
    snprintf(root, sizeof(root), "/tmp/gh-test-crypto-XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    T_RUN(test_rnd_bytes_differ);
    T_RUN(test_rnd_token_is_base64url);
    T_RUN(test_rnd_tokens_unique);
    T_RUN(test_sha256_vectors);
    T_RUN(test_hmac_sha256_rfc4231);
    T_RUN(test_secret_created_0600_and_reloads_same);
    T_RUN(test_secret_raw_round_trip_and_save);
    T_RUN(test_secret_hash_binds_client_id_and_secret);
    T_RUN(test_secret_hash_known_answer);
    T_RUN(test_secret_file_refusals);
    T_RUN(test_seal_open_round_trip);
    T_RUN(test_open_refuses_tampering_and_wrong_aad);
    T_RUN(test_kek_created_once_as_base64url_line_0600);
    T_RUN(test_kek_file_refusals);
    T_RUN(test_kek_seal_binds_aad_and_key);
    rm_rf(root);
    return t_done();
}
