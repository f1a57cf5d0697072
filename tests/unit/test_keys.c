/* test_keys.c — signing keys: RFC 7638 thumbprints, generation, ring loading and its refusals
 * (mode, owner-independent checks, swapped/corrupt/wrong-type files, hostile kids), lookup by
 * kid, the public JWKS (RS256, PS256 and ES256 keys), and validation of client JWKS documents. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/keys.h"
#include "util/b64url.h"
#include "t.h"

/* RFC 7638 §3.1 example key */
#define RFC_N                                                                                 \
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B" \
    "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F" \
    "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4" \
    "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RFC_TP "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

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

/* A fresh, not yet existing directory path under root. */
static const char *
fresh_dir(void)
{
    static char p[128];
    snprintf(p, sizeof(p), "%s/k%d", root, ++seq);
    return p;
}

static void
key_file(char *out, size_t sz, const char *dir, const char *kid)
{
    snprintf(out, sz, "%s/%s.pem", dir, kid);
}

static size_t
count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void
write_file(const char *path, const void *data, size_t n, mode_t mode)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);
    T_ASSERT(fd >= 0);
    T_ASSERT(write(fd, data, n) == (ssize_t)n);
    close(fd);
    T_ASSERT(chmod(path, mode) == 0);
}

static char *
read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 65536);
    size_t n;

    T_ASSERT(f && buf);
    n = fread(buf, 1, 65535, f);
    fclose(f);
    *len = n;
    return buf;
}

/* Write pkey as PKCS#8 PEM to path, mode 0600. */
static void
write_pkey(const char *path, EVP_PKEY *pkey)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;

    T_ASSERT(b && PEM_write_bio_PKCS8PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL) == 1);
    n = BIO_get_mem_data(b, &p);
    write_file(path, p, (size_t)n, 0600);
    BIO_free(b);
}

static int
ring_load1(const char *dir, const char *kid, enum key_alg alg, char *err, size_t errsz)
{
    struct key_ref r = { .kid = kid, .alg = alg, .created_at = 1 };
    struct keyring *kr = (struct keyring *)1;
    int rc = keys_ring_load(dir, &r, 1, &kr, err, errsz);

    if (rc != GH_OK)
        T_ASSERT(kr == NULL);
    keys_ring_free(kr);
    return rc;
}

/* --- thumbprints ------------------------------------------------------------------------ */

static void
test_thumbprint_rfc7638_example(void)
{
    char tp[KEYS_KID_MAX + 1];
    json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "kty", "RSA", "n", RFC_N, "e", "AQAB", "alg",
        "RS256");

    /* members beyond the required ones (alg, kid, use) do not change the thumbprint */
    json_object_set_new(j, "kid", json_string("2011-04-29"));
    T_EQ_INT(keys_thumbprint_jwk(j, tp), GH_OK);
    T_EQ_STR(tp, RFC_TP);
    /* a different exponent gives a different thumbprint */
    json_object_set_new(j, "e", json_string("AQAC"));
    T_EQ_INT(keys_thumbprint_jwk(j, tp), GH_OK);
    T_ASSERT(strcmp(tp, RFC_TP) != 0);
    json_decref(j);
}

static void
test_thumbprint_needs_required_members(void)
{
    char tp[KEYS_KID_MAX + 1];
    json_t *j = json_pack("{s:s,s:s}", "kty", "RSA", "n", RFC_N);

    T_EQ_INT(keys_thumbprint_jwk(j, tp), GH_EINVAL);
    json_decref(j);
    j = json_pack("{s:s,s:s}", "kty", "oct", "k", "AAAA");
    T_EQ_INT(keys_thumbprint_jwk(j, tp), GH_EINVAL);
    json_decref(j);
    j = json_pack("{s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", "AAAA");
    T_EQ_INT(keys_thumbprint_jwk(j, tp), GH_EINVAL);
    json_decref(j);
}

static void
test_alg_names(void)
{
    enum key_alg a;

    T_EQ_INT(keys_alg_parse("RS256", &a), GH_OK);
    T_EQ_INT(a, KEY_RS256);
    T_EQ_INT(keys_alg_parse("ES256", &a), GH_OK);
    T_EQ_INT(a, KEY_ES256);
    T_EQ_INT(keys_alg_parse("PS256", &a), GH_OK);
    T_EQ_INT(a, KEY_PS256);
    T_EQ_STR(keys_alg_name(KEY_RS256), "RS256");
    T_EQ_STR(keys_alg_name(KEY_ES256), "ES256");
    T_EQ_STR(keys_alg_name(KEY_PS256), "PS256");
    /* every alg round-trips through its name (the store keeps names) */
    for (unsigned i = 0; i < KEY_ALG_COUNT; i++) {
        T_EQ_INT(keys_alg_parse(keys_alg_name((enum key_alg)i), &a), GH_OK);
        T_EQ_INT(a, i);
    }
    T_EQ_INT(keys_alg_parse("none", &a), GH_EINVAL);
    T_EQ_INT(keys_alg_parse("HS256", &a), GH_EINVAL);
    T_EQ_INT(keys_alg_parse("es256", &a), GH_EINVAL);
    T_EQ_INT(keys_alg_parse("ps256", &a), GH_EINVAL);
    T_EQ_INT(keys_alg_parse("PS384", &a), GH_EINVAL);
    T_EQ_INT(keys_alg_parse("RS256 ", &a), GH_EINVAL);
    T_EQ_INT(keys_alg_parse("", &a), GH_EINVAL);
}

/* --- generation and the ring ------------------------------------------------------------ */

static void
test_generate_writes_private_pkcs8_file(void)
{
    const char *dir = fresh_dir();
    char kid[KEYS_KID_MAX + 1], err[256], path[256];
    struct stat st;
    size_t len;
    char *pem;

    T_EQ_INT(keys_generate(dir, KEY_ES256, kid, err, sizeof(err)), GH_OK);
    T_EQ_INT(strlen(kid), 43);
    T_ASSERT(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
    T_EQ_INT(st.st_mode & 0777, 0700);
    key_file(path, sizeof(path), dir, kid);
    T_ASSERT(stat(path, &st) == 0 && S_ISREG(st.st_mode));
    T_EQ_INT(st.st_mode & 0777, 0600);
    T_EQ_INT(count_entries(dir), 1); /* no temporary file left behind */
    pem = read_all(path, &len);
    T_ASSERT(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
    free(pem);
    keys_remove_file(dir, kid);
    T_ASSERT(stat(path, &st) != 0 && errno == ENOENT);
}

static void
test_generate_unwritable_dir_reports_path(void)
{
    char kid[KEYS_KID_MAX + 1], err[256];

    T_EQ_INT(keys_generate("/nonexistent-gh/deeper", KEY_ES256, kid, err, sizeof(err)), GH_EIO);
    T_ASSERT(strstr(err, "/nonexistent-gh/deeper") != NULL);
    T_ASSERT(strstr(err, "No such file or directory") != NULL);
    T_EQ_STR(kid, "");
}

static void
test_generated_keys_round_trip_to_jwks(void)
{
    const char *dir = fresh_dir();
    char rs[KEYS_KID_MAX + 1], es1[KEYS_KID_MAX + 1], es2[KEYS_KID_MAX + 1],
        ps[KEYS_KID_MAX + 1], err[256];
    /* per JWKS entry, in list order */
    static const char *const want_alg[] = { "RS256", "ES256", "ES256", "PS256" };
    const char *want_kid[4];
    struct keyring *kr = NULL;
    json_t *jwks, *algs, *k;
    size_t i;

    T_EQ_INT(keys_generate(dir, KEY_RS256, rs, err, sizeof(err)), GH_OK);
    T_EQ_INT(keys_generate(dir, KEY_ES256, es1, err, sizeof(err)), GH_OK);
    T_EQ_INT(keys_generate(dir, KEY_ES256, es2, err, sizeof(err)), GH_OK);
    T_EQ_INT(keys_generate(dir, KEY_PS256, ps, err, sizeof(err)), GH_OK);
    T_ASSERT(strcmp(es1, es2) != 0);
    T_ASSERT(strcmp(rs, ps) != 0); /* PS256 has its own RSA key */
    want_kid[0] = rs;
    want_kid[1] = es1;
    want_kid[2] = es2;
    want_kid[3] = ps;
    {
        struct key_ref refs[] = { { rs, KEY_RS256, 1, 0, 0 }, { es1, KEY_ES256, 2, 0, 0 },
            { es2, KEY_ES256, 3, 0, 0 }, { ps, KEY_PS256, 4, 0, 0 } };
        T_EQ_INT(keys_ring_load(dir, refs, 4, &kr, err, sizeof(err)), GH_OK);
    }
    T_EQ_INT(keys_ring_count(kr), 4);
    /* the newest listed key of each alg signs */
    T_EQ_STR(keys_kid(keys_ring_signer(kr, KEY_ES256)), es2);
    T_EQ_STR(keys_kid(keys_ring_signer(kr, KEY_RS256)), rs);
    T_EQ_STR(keys_kid(keys_ring_signer(kr, KEY_PS256)), ps);
    T_EQ_INT(keys_alg(keys_ring_signer(kr, KEY_RS256)), KEY_RS256);
    T_EQ_INT(keys_alg(keys_ring_signer(kr, KEY_PS256)), KEY_PS256);
    T_ASSERT(keys_ring_signer(kr, (enum key_alg)KEY_ALG_COUNT) == NULL);
    T_ASSERT(keys_cjose_jwk(keys_ring_signer(kr, KEY_ES256)) != NULL);
    T_ASSERT(keys_cjose_jwk(keys_ring_signer(kr, KEY_PS256)) != NULL);

    algs = keys_ring_algs(kr);
    T_EQ_INT(json_array_size(algs), 3);
    T_EQ_STR(json_string_value(json_array_get(algs, 0)), "RS256");
    T_EQ_STR(json_string_value(json_array_get(algs, 1)), "ES256");
    T_EQ_STR(json_string_value(json_array_get(algs, 2)), "PS256");
    json_decref(algs);

    jwks = keys_ring_jwks(kr);
    T_EQ_INT(json_array_size(json_object_get(jwks, "keys")), 4);
    json_array_foreach(json_object_get(jwks, "keys"), i, k) {
        static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi", "k", "oth", NULL };
        const char *kid = json_string_value(json_object_get(k, "kid"));
        const char *kty = json_string_value(json_object_get(k, "kty"));
        bool rsa = strcmp(want_alg[i], "ES256") != 0;
        char tp[KEYS_KID_MAX + 1];

        T_ASSERT(kid && kty);
        T_EQ_STR(json_string_value(json_object_get(k, "use")), "sig");
        T_EQ_STR(json_string_value(json_object_get(k, "alg")), want_alg[i]);
        T_EQ_STR(kty, rsa ? "RSA" : "EC");
        T_EQ_STR(kid, want_kid[i]);
        for (size_t j = 0; priv[j]; j++)
            T_ASSERT(json_object_get(k, priv[j]) == NULL);
        /* exactly the public members */
        T_EQ_INT(json_object_size(k), rsa ? 6 : 7);
        T_EQ_INT(keys_thumbprint_jwk(k, tp), GH_OK);
        T_EQ_STR(tp, kid);
        if (!rsa)
            T_EQ_STR(json_string_value(json_object_get(k, "crv")), "P-256");
    }
    /* what we publish passes our own client-JWKS validation */
    {
        char *txt = json_dumps(jwks, JSON_COMPACT);
        const char *why = NULL;
        T_EQ_INT(keys_jwks_check_public(txt, strlen(txt), &why), GH_OK);
        free(txt);
    }
    /* the caller's copy is its own: changing it does not change the ring */
    json_array_clear(json_object_get(jwks, "keys"));
    json_decref(jwks);
    jwks = keys_ring_jwks(kr);
    T_EQ_INT(json_array_size(json_object_get(jwks, "keys")), 4);
    json_decref(jwks);
    keys_ring_free(kr);
}

/* An independent path: sign with the ring's cjose key, verify with a key imported from the
 * published JWKS entry. A tampered token does not verify. */
static void
test_ring_signature_verifies_with_published_jwk(void)
{
    const char *dir = fresh_dir();
    char kid[KEYS_KID_MAX + 1], err[256];
    enum key_alg algs[] = { KEY_RS256, KEY_ES256, KEY_PS256, 0, 0 };

    for (size_t a = 0; a < 3; a++) {
        struct keyring *kr = NULL;
        struct key_ref r = { kid, algs[a], 1, 0, 0 };
        cjose_err ce;
        cjose_header_t *h;
        cjose_jws_t *jws, *in, *bad;
        cjose_jwk_t *pub;
        const char *ser;
        char *pubtxt, *tampered;
        json_t *jwks;

        T_EQ_INT(keys_generate(dir, algs[a], kid, err, sizeof(err)), GH_OK);
        T_EQ_INT(keys_ring_load(dir, &r, 1, &kr, err, sizeof(err)), GH_OK);
        h = cjose_header_new(&ce);
        T_ASSERT(cjose_header_set(h, CJOSE_HDR_ALG, keys_alg_name(algs[a]), &ce));
        jws = cjose_jws_sign(keys_cjose_jwk(keys_ring_signer(kr, algs[a])), h,
            (const uint8_t *)"{\"sub\":\"u1\"}", 12, &ce);
        T_ASSERT(jws && cjose_jws_export(jws, &ser, &ce));
        jwks = keys_ring_jwks(kr);
        pubtxt = json_dumps(json_array_get(json_object_get(jwks, "keys"), 0), 0);
        pub = cjose_jwk_import(pubtxt, strlen(pubtxt), &ce);
        T_ASSERT(pub != NULL);
        in = cjose_jws_import(ser, strlen(ser), &ce);
        T_ASSERT(in && cjose_jws_verify(in, pub, &ce));
        /* flip a character of the payload */
        tampered = strdup(ser);
        {
            char *p = strchr(tampered, '.') + 1;
            *p = *p == 'A' ? 'B' : 'A';
        }
        bad = cjose_jws_import(tampered, strlen(tampered), &ce);
        T_ASSERT(!bad || !cjose_jws_verify(bad, pub, &ce));
        cjose_jws_release(bad);
        free(tampered);
        cjose_jws_release(in);
        cjose_jwk_release(pub);
        free(pubtxt);
        json_decref(jwks);
        cjose_jws_release(jws);
        cjose_header_release(h);
        keys_ring_free(kr);
    }
}

static void
test_key_file_readable_by_others_refused(void)
{
    static const mode_t bad[] = { 0644, 0640, 0604, 0620, 0660 };
    const char *dir = fresh_dir();
    char kid[KEYS_KID_MAX + 1], err[512], path[256], want[300];

    T_EQ_INT(keys_generate(dir, KEY_ES256, kid, err, sizeof(err)), GH_OK);
    key_file(path, sizeof(path), dir, kid);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        T_ASSERT(chmod(path, bad[i]) == 0);
        T_EQ_INT(ring_load1(dir, kid, KEY_ES256, err, sizeof(err)), GH_EDENIED);
        T_ASSERT(strstr(err, path) != NULL);
        snprintf(want, sizeof(want), "(mode %04o); run: chmod 600 %s", (unsigned)bad[i], path);
        T_ASSERT(strstr(err, want) != NULL);
    }
    T_ASSERT(strstr(err, "by group or others") != NULL);
    T_ASSERT(chmod(path, 0600) == 0);
    T_EQ_INT(ring_load1(dir, kid, KEY_ES256, err, sizeof(err)), GH_OK);
    /* 0400 is fine too: only group/other bits matter */
    T_ASSERT(chmod(path, 0400) == 0);
    T_EQ_INT(ring_load1(dir, kid, KEY_ES256, err, sizeof(err)), GH_OK);
}

static void
test_swapped_key_file_refused(void)
{
    const char *dir = fresh_dir();
    char a[KEYS_KID_MAX + 1], b[KEYS_KID_MAX + 1], err[512], pa[256], pb[256];

    T_EQ_INT(keys_generate(dir, KEY_ES256, a, err, sizeof(err)), GH_OK);
    T_EQ_INT(keys_generate(dir, KEY_ES256, b, err, sizeof(err)), GH_OK);
    key_file(pa, sizeof(pa), dir, a);
    key_file(pb, sizeof(pb), dir, b);
    /* b's key under a's name: a valid key, but not the one the store recorded */
    T_ASSERT(rename(pb, pa) == 0);
    T_EQ_INT(ring_load1(dir, a, KEY_ES256, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, pa) != NULL);
    T_ASSERT(strstr(err, "thumbprint") != NULL);
}

static void
test_wrong_alg_refused(void)
{
    const char *dir = fresh_dir();
    char es[KEYS_KID_MAX + 1], rs[KEYS_KID_MAX + 1], err[512];

    T_EQ_INT(keys_generate(dir, KEY_ES256, es, err, sizeof(err)), GH_OK);
    T_EQ_INT(keys_generate(dir, KEY_RS256, rs, err, sizeof(err)), GH_OK);
    T_EQ_INT(ring_load1(dir, es, KEY_RS256, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "RS256 needs RSA") != NULL);
    T_EQ_INT(ring_load1(dir, rs, KEY_ES256, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "ES256 needs EC") != NULL);
    T_EQ_INT(ring_load1(dir, es, KEY_PS256, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "PS256 needs RSA") != NULL);
    /* unknown alg values are refused, not treated as one of ours */
    T_EQ_INT(ring_load1(dir, rs, (enum key_alg)KEY_ALG_COUNT, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "unknown alg") != NULL);
}

/* An RSA-PSS key (OpenSSL's "RSA-PSS" type, restricted to PSS) is not a plain RSA key, even
 * for PS256: what we publish is a plain RSA JWK. */
static void
test_rsa_pss_typed_key_refused(void)
{
    const char *dir = fresh_dir();
    char path[256], err[512];
    EVP_PKEY_CTX *gctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
    EVP_PKEY *pss = NULL;

    T_ASSERT(gctx && EVP_PKEY_keygen_init(gctx) == 1);
    T_ASSERT(EVP_PKEY_CTX_set_rsa_keygen_bits(gctx, 2048) == 1);
    T_ASSERT(EVP_PKEY_generate(gctx, &pss) == 1 && pss);
    EVP_PKEY_CTX_free(gctx);
    T_ASSERT(EVP_PKEY_is_a(pss, "RSA-PSS"));
    T_ASSERT(mkdir(dir, 0700) == 0);
    key_file(path, sizeof(path), dir, "pss");
    write_pkey(path, pss);
    T_EQ_INT(ring_load1(dir, "pss", KEY_PS256, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "PS256 needs RSA") != NULL);
    EVP_PKEY_free(pss);
}

/* keys_ring_find: exact kid match over signing and published keys; untrusted kids are safe. */
static void
test_ring_find_by_kid(void)
{
    const char *dir = fresh_dir();
    char a[KEYS_KID_MAX + 1], b[KEYS_KID_MAX + 1], c[KEYS_KID_MAX + 1], err[256], probe[200];
    struct keyring *kr = NULL;
    struct key_ref refs[3];
    const struct key *k;

    T_EQ_INT(keys_generate(dir, KEY_ES256, a, err, sizeof(err)), GH_OK);
    T_EQ_INT(keys_generate(dir, KEY_ES256, b, err, sizeof(err)), GH_OK);
    T_EQ_INT(keys_generate(dir, KEY_PS256, c, err, sizeof(err)), GH_OK);
    refs[0] = (struct key_ref){ a, KEY_ES256, 1, 0, 0 };
    refs[1] = (struct key_ref){ b, KEY_ES256, 2, 0, 0 };
    refs[2] = (struct key_ref){ c, KEY_PS256, 3, 0, 0 };
    T_EQ_INT(keys_ring_load(dir, refs, 3, &kr, err, sizeof(err)), GH_OK);
    /* a published, no longer signing key is found too */
    T_ASSERT((k = keys_ring_find(kr, a)) != NULL);
    T_EQ_STR(keys_kid(k), a);
    T_ASSERT(keys_ring_signer(kr, KEY_ES256) != k);
    T_ASSERT((k = keys_ring_find(kr, b)) == keys_ring_signer(kr, KEY_ES256));
    T_ASSERT((k = keys_ring_find(kr, c)) != NULL);
    T_EQ_INT(keys_alg(k), KEY_PS256);
    /* the parsed key is kept for jwt.c, of the right type */
    T_ASSERT(keys_evp_pkey(k) != NULL);
    T_ASSERT(EVP_PKEY_is_a(keys_evp_pkey(k), "RSA"));
    T_ASSERT(EVP_PKEY_is_a(keys_evp_pkey(keys_ring_find(kr, a)), "EC"));
    /* near misses */
    snprintf(probe, sizeof(probe), "%.*s", (int)strlen(a) - 1, a);
    T_ASSERT(keys_ring_find(kr, probe) == NULL);
    snprintf(probe, sizeof(probe), "%sA", a);
    T_ASSERT(keys_ring_find(kr, probe) == NULL);
    snprintf(probe, sizeof(probe), "%s", a);
    probe[0] = probe[0] == 'x' ? 'y' : 'x';
    T_ASSERT(keys_ring_find(kr, probe) == NULL);
    memset(probe, 'A', sizeof(probe) - 1);
    probe[sizeof(probe) - 1] = '\0';
    T_ASSERT(keys_ring_find(kr, probe) == NULL);
    T_ASSERT(keys_ring_find(kr, "") == NULL);
    T_ASSERT(keys_ring_find(kr, NULL) == NULL);
    T_ASSERT(keys_ring_find(NULL, a) == NULL);
    keys_ring_free(kr);
}

static void
test_corrupt_pem_refused(void)
{
    const char *dir = fresh_dir();
    char kid[KEYS_KID_MAX + 1], err[512], path[256];
    char *pem;
    size_t len;

    T_EQ_INT(keys_generate(dir, KEY_RS256, kid, err, sizeof(err)), GH_OK);
    key_file(path, sizeof(path), dir, kid);
    pem = read_all(path, &len);
    /* truncated */
    write_file(path, pem, len / 2, 0600);
    T_EQ_INT(ring_load1(dir, kid, KEY_RS256, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, path) != NULL);
    /* one base64 character changed in the middle of the key */
    pem[len / 2] = pem[len / 2] == 'A' ? 'B' : 'A';
    write_file(path, pem, len, 0600);
    T_ASSERT(ring_load1(dir, kid, KEY_RS256, err, sizeof(err)) != GH_OK);
    /* not PEM at all; empty */
    write_file(path, "hello\n", 6, 0600);
    T_EQ_INT(ring_load1(dir, kid, KEY_RS256, err, sizeof(err)), GH_EINVAL);
    write_file(path, "", 0, 0600);
    T_EQ_INT(ring_load1(dir, kid, KEY_RS256, err, sizeof(err)), GH_EINVAL);
    free(pem);
}

static void
test_encrypted_pem_refused_without_prompt(void)
{
    const char *dir = fresh_dir();
    char path[256], err[512];
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;

    T_ASSERT(mkdir(dir, 0700) == 0);
    T_ASSERT(pk && b);
    T_ASSERT(PEM_write_bio_PKCS8PrivateKey(b, pk, EVP_aes_256_cbc(), "pw", 2, NULL, NULL) == 1);
    n = BIO_get_mem_data(b, &p);
    key_file(path, sizeof(path), dir, "enc");
    write_file(path, p, (size_t)n, 0600);
    T_EQ_INT(ring_load1(dir, "enc", KEY_ES256, err, sizeof(err)), GH_EINVAL);
    BIO_free(b);
    EVP_PKEY_free(pk);
}

static void
test_weak_or_wrong_curve_keys_refused(void)
{
    const char *dir = fresh_dir();
    char path[256], err[512];
    EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");

    T_ASSERT(rsa1024 && p384);
    T_ASSERT(mkdir(dir, 0700) == 0);
    key_file(path, sizeof(path), dir, "small");
    write_pkey(path, rsa1024);
    T_EQ_INT(ring_load1(dir, "small", KEY_RS256, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "1024 bits") != NULL && strstr(err, "2048") != NULL);
    key_file(path, sizeof(path), dir, "p384");
    write_pkey(path, p384);
    T_EQ_INT(ring_load1(dir, "p384", KEY_ES256, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "P-256") != NULL);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(p384);
}

static void
test_missing_key_file_refused(void)
{
    const char *dir = fresh_dir();
    char kid[KEYS_KID_MAX + 1], err[512], want[300];
    const char *ghost = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
    struct keyring *kr = (struct keyring *)1;

    T_EQ_INT(keys_generate(dir, KEY_ES256, kid, err, sizeof(err)), GH_OK);
    snprintf(want, sizeof(want), "%s/%s.pem: No such file or directory", dir, ghost);
    T_EQ_INT(ring_load1(dir, ghost, KEY_ES256, err, sizeof(err)), GH_ENOTFOUND);
    T_EQ_STR(err, want);
    /* one bad key refuses the whole ring, even after good ones */
    {
        struct key_ref refs[] = { { kid, KEY_ES256, 1, 0, 0 }, { ghost, KEY_ES256, 2, 0, 0 } };
        T_EQ_INT(keys_ring_load(dir, refs, 2, &kr, err, sizeof(err)), GH_ENOTFOUND);
        T_ASSERT(kr == NULL);
    }
}

static void
test_hostile_kids_refused(void)
{
    static const char *const kids[] = { "../../../../etc/passwd", "", "a/b", ".hidden",
        "x\ny", "' OR '1'='1", "a.pem" };
    char longkid[200], err[512];

    for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
        T_EQ_INT(ring_load1("/tmp", kids[i], KEY_ES256, err, sizeof(err)), GH_EINVAL);
    memset(longkid, 'A', sizeof(longkid) - 1);
    longkid[sizeof(longkid) - 1] = '\0';
    T_EQ_INT(ring_load1("/tmp", longkid, KEY_ES256, err, sizeof(err)), GH_EINVAL);
}

static void
test_ring_refuses_duplicates_oversize_and_too_many(void)
{
    const char *dir = fresh_dir();
    char kid[KEYS_KID_MAX + 1], err[512], path[256];
    struct keyring *kr = NULL;
    struct key_ref refs[GH_MAX_KEYS + 1];
    static char big[GH_MAX_KEY_FILE + 100];

    T_EQ_INT(keys_generate(dir, KEY_ES256, kid, err, sizeof(err)), GH_OK);
    for (size_t i = 0; i < GH_MAX_KEYS + 1; i++)
        refs[i] = (struct key_ref){ kid, KEY_ES256, (int64_t)i, 0, 0 };
    T_EQ_INT(keys_ring_load(dir, refs, 2, &kr, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "twice") != NULL);
    T_EQ_INT(keys_ring_load(dir, refs, GH_MAX_KEYS + 1, &kr, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(kr == NULL);
    memset(big, 'A', sizeof(big));
    key_file(path, sizeof(path), dir, "big");
    write_file(path, big, sizeof(big), 0600);
    T_EQ_INT(ring_load1(dir, "big", KEY_ES256, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "larger than") != NULL);
}

static void
test_empty_ring(void)
{
    struct keyring *kr = NULL;
    char err[128];
    json_t *j;

    T_EQ_INT(keys_ring_load("/nonexistent", NULL, 0, &kr, err, sizeof(err)), GH_OK);
    T_EQ_INT(keys_ring_count(kr), 0);
    T_ASSERT(keys_ring_signer(kr, KEY_ES256) == NULL);
    j = keys_ring_jwks(kr);
    T_EQ_INT(json_array_size(json_object_get(j, "keys")), 0);
    T_ASSERT(json_is_array(json_object_get(j, "keys")));
    json_decref(j);
    j = keys_ring_algs(kr);
    T_EQ_INT(json_array_size(j), 0);
    json_decref(j);
    keys_ring_free(kr);
    keys_ring_free(NULL);
}

/* --- client JWKS validation ------------------------------------------------------------- */

static int
check(const char *s, const char **why)
{
    *why = NULL;
    return keys_jwks_check_public(s, strlen(s), why);
}

#define RFC_KEY "{\"kty\":\"RSA\",\"n\":\"" RFC_N "\",\"e\":\"AQAB\""

static void
test_jwks_check_accepts_public_keys(void)
{
    const char *why;

    T_EQ_INT(check("{\"keys\":[" RFC_KEY ",\"kid\":\"a\",\"use\":\"sig\",\"alg\":\"RS256\"}]}",
                 &why), GH_OK);
    T_ASSERT(why == NULL);
    T_EQ_INT(check("{\"keys\":[" RFC_KEY ",\"alg\":\"PS256\"}," RFC_KEY ",\"kid\":\"b\"}]}",
                 &why), GH_OK);
}

static void
test_jwks_check_rejects_private_and_symmetric(void)
{
    static const char *const bad[] = {
        "{\"keys\":[" RFC_KEY ",\"d\":\"AQAB\"}]}",
        "{\"keys\":[" RFC_KEY ",\"p\":\"AQAB\"}]}",
        "{\"keys\":[" RFC_KEY ",\"qi\":\"AQAB\"}]}",
        "{\"keys\":[" RFC_KEY ",\"oth\":[]}]}",
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\"}]}",
        "{\"keys\":[{\"kty\":\"oct\"}]}",
    };
    const char *why;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        T_EQ_INT(check(bad[i], &why), GH_EINVAL);
        T_ASSERT(why != NULL);
    }
}

static void
test_jwks_check_rejects_bad_structure(void)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{}",
        "{\"keys\":{}}",
        "{\"keys\":[]}",
        "{\"keys\":[1]}",
        "{\"keys\":[{}]}",
        "{\"keys\":[" RFC_KEY "}],\"keys\":[]}",                       /* duplicate member */
        "{\"keys\":[" RFC_KEY ",\"kty\":\"EC\"}]}",                   /* duplicate kty */
        "{\"keys\":[" RFC_KEY ",\"use\":\"enc\"}]}",
        "{\"keys\":[" RFC_KEY ",\"use\":1}]}",
        "{\"keys\":[" RFC_KEY ",\"alg\":\"ES256\"}]}",                /* alg/kty mismatch */
        "{\"keys\":[" RFC_KEY ",\"alg\":\"none\"}]}",
        "{\"keys\":[" RFC_KEY ",\"alg\":\"HS256\"}]}",
        "{\"keys\":[" RFC_KEY ",\"kid\":7}]}",
        "{\"keys\":[" RFC_KEY ",\"kid\":\"a\"}," RFC_KEY ",\"kid\":\"a\"}]}", /* kid reused */
        "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"" RFC_N "\"}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"" RFC_N "=\",\"e\":\"AQAB\"}]}", /* padding */
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}]}",
    };
    const char *why;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (check(bad[i], &why) != GH_EINVAL || !why)
            T_FAIL_("accepted case %zu: %s", i, bad[i]);
    }
}

static void
test_jwks_check_rejects_weak_or_bogus_numbers(void)
{
    unsigned char n[256];
    char nb[400], doc[800];
    const char *why;

    /* 1024-bit modulus */
    memset(n, 0xC3, 128);
    b64url_encode(n, 128, nb, sizeof(nb));
    snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", nb);
    T_EQ_INT(check(doc, &why), GH_EINVAL);
    T_ASSERT(strstr(why, "2048") != NULL);
    /* 2048-bit, but even / with small factors: not an RSA modulus */
    memset(n, 0xC2, sizeof(n));
    b64url_encode(n, sizeof(n), nb, sizeof(nb));
    snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", nb);
    T_EQ_INT(check(doc, &why), GH_EINVAL);
    memset(n, 0xC3, sizeof(n));
    b64url_encode(n, sizeof(n), nb, sizeof(nb));
    snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", nb);
    T_EQ_INT(check(doc, &why), GH_EINVAL);
    /* even public exponent */
    T_EQ_INT(check("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"" RFC_N "\",\"e\":\"AQAA\"}]}", &why),
        GH_EINVAL);
}

static void
test_jwks_check_ec_points(void)
{
    const char *dir = fresh_dir();
    char kid[KEYS_KID_MAX + 1], err[256], *txt;
    struct keyring *kr = NULL;
    struct key_ref r = { kid, KEY_ES256, 1, 0, 0 };
    json_t *jwks, *k;
    const char *why;
    char ygood[64], ybad[64];

    T_EQ_INT(keys_generate(dir, KEY_ES256, kid, err, sizeof(err)), GH_OK);
    T_EQ_INT(keys_ring_load(dir, &r, 1, &kr, err, sizeof(err)), GH_OK);
    jwks = keys_ring_jwks(kr);
    k = json_array_get(json_object_get(jwks, "keys"), 0);
    txt = json_dumps(jwks, 0);
    T_EQ_INT(check(txt, &why), GH_OK);
    free(txt);
    /* move the point off the curve */
    snprintf(ygood, sizeof(ygood), "%s", json_string_value(json_object_get(k, "y")));
    T_EQ_INT(strlen(ygood), 43);
    snprintf(ybad, sizeof(ybad), "%s", ygood);
    ybad[5] = ybad[5] == 'Q' ? 'R' : 'Q';
    json_object_set_new(k, "y", json_string(ybad));
    txt = json_dumps(jwks, 0);
    T_EQ_INT(check(txt, &why), GH_EINVAL);
    free(txt);
    /* short coordinate, wrong curve, RSA alg on EC */
    json_object_set_new(k, "y", json_string("AQAB"));
    txt = json_dumps(jwks, 0);
    T_EQ_INT(check(txt, &why), GH_EINVAL);
    free(txt);
    json_object_set_new(k, "y", json_string(ygood));
    json_object_set_new(k, "crv", json_string("P-384"));
    txt = json_dumps(jwks, 0);
    T_EQ_INT(check(txt, &why), GH_EINVAL);
    free(txt);
    json_object_set_new(k, "crv", json_string("P-256"));
    json_object_set_new(k, "alg", json_string("RS256"));
    txt = json_dumps(jwks, 0);
    T_EQ_INT(check(txt, &why), GH_EINVAL);
    free(txt);
    json_object_set_new(k, "alg", json_string("ES256"));
    txt = json_dumps(jwks, 0);
    T_EQ_INT(check(txt, &why), GH_OK);
    free(txt);
    json_decref(jwks);
    keys_ring_free(kr);
}

static void
test_jwks_check_bounds(void)
{
    static char big[GH_MAX_JWKS + 2];
    char doc[32768];
    size_t o;
    const char *why;

    memset(big, ' ', sizeof(big) - 1);
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    T_EQ_INT(keys_jwks_check_public(big, sizeof(big) - 1, &why), GH_EINVAL);
    T_ASSERT(strstr(why, "large") != NULL);
    /* 17 keys */
    o = (size_t)snprintf(doc, sizeof(doc), "{\"keys\":[");
    for (int i = 0; i < GH_MAX_JWKS_KEYS + 1; i++)
        o += (size_t)snprintf(doc + o, sizeof(doc) - o, "%s" RFC_KEY ",\"kid\":\"k%d\"}",
            i ? "," : "", i);
    snprintf(doc + o, sizeof(doc) - o, "]}");
    T_EQ_INT(check(doc, &why), GH_EINVAL);
    /* 16 are fine */
    o = (size_t)snprintf(doc, sizeof(doc), "{\"keys\":[");
    for (int i = 0; i < GH_MAX_JWKS_KEYS; i++)
        o += (size_t)snprintf(doc + o, sizeof(doc) - o, "%s" RFC_KEY ",\"kid\":\"k%d\"}",
            i ? "," : "", i);
    snprintf(doc + o, sizeof(doc) - o, "]}");
    T_EQ_INT(check(doc, &why), GH_OK);
}

/* --- staged rotation ------------------------------------------------------------------ */

#define HOLD 4000 /* seconds a retired key stays published in these tests */

/* old (active since 100) and nxt (rotated at 1000, activating at 5000): the timeline of
 * `keys rotate` with cache_max_age + margin = 4000. */
static void
test_state_follows_the_rotation_timeline(void)
{
    struct key_ref r[] = { { "old", KEY_ES256, 100, 100, 0 }, { "nxt", KEY_ES256, 1000, 5000, 0 },
        { "rs", KEY_RS256, 100, 100, 0 } };
    struct key_dates d;

    T_EQ_INT(keys_state_at(r, 3, 0, 99, HOLD, NULL), KEY_NEXT);
    T_EQ_INT(keys_state_at(r, 3, 0, 1000, HOLD, &d), KEY_ACTIVE);
    T_EQ_INT(d.activate_at, 100);
    T_EQ_INT(d.retire_at, 5000);        /* scheduled by the next key */
    T_EQ_INT(d.remove_at, 5000 + HOLD);
    T_EQ_INT(keys_state_at(r, 3, 1, 1000, HOLD, &d), KEY_NEXT);
    T_EQ_INT(d.retire_at, 0);
    T_EQ_INT(d.remove_at, 0);
    T_EQ_INT(keys_state_at(r, 3, 1, 4999, HOLD, NULL), KEY_NEXT);
    T_EQ_INT(keys_state_at(r, 3, 0, 4999, HOLD, NULL), KEY_ACTIVE);
    /* the switch happens at one instant for both keys */
    T_EQ_INT(keys_state_at(r, 3, 1, 5000, HOLD, NULL), KEY_ACTIVE);
    T_EQ_INT(keys_state_at(r, 3, 0, 5000, HOLD, NULL), KEY_RETIRED);
    T_EQ_INT(keys_state_at(r, 3, 0, 5000 + HOLD - 1, HOLD, NULL), KEY_RETIRED);
    T_EQ_INT(keys_state_at(r, 3, 0, 5000 + HOLD, HOLD, NULL), KEY_REMOVED);
    /* another alg is untouched */
    T_EQ_INT(keys_state_at(r, 3, 2, 100000, HOLD, NULL), KEY_ACTIVE);
    T_EQ_INT(keys_next_change(r, 3, 1000, HOLD), 5000);
    T_EQ_INT(keys_next_change(r, 3, 5000, HOLD), 5000 + HOLD);
    T_EQ_INT(keys_next_change(r, 3, 5000 + HOLD, HOLD), 0);
}

static void
test_state_hand_retirement(void)
{
    /* a active, b active later and retired by hand at 3000: a stays retired (never revived) */
    struct key_ref r[] = { { "a", KEY_RS256, 1, 1, 0 }, { "b", KEY_RS256, 2, 2000, 3000 },
        { "c", KEY_RS256, 3, 2500, 0 } };
    /* a next key retired before it activated supersedes nothing */
    struct key_ref q[] = { { "a", KEY_RS256, 1, 1, 0 }, { "n", KEY_RS256, 2, 5000, 3000 } };

    T_EQ_INT(keys_state_at(r, 3, 1, 2200, HOLD, NULL), KEY_ACTIVE);
    T_EQ_INT(keys_state_at(r, 3, 2, 2600, HOLD, NULL), KEY_ACTIVE);
    T_EQ_INT(keys_state_at(r, 3, 1, 2600, HOLD, NULL), KEY_RETIRED);
    T_EQ_INT(keys_state_at(r, 3, 0, 2600, HOLD, NULL), KEY_RETIRED);
    T_EQ_INT(keys_state_at(q, 2, 1, 2999, HOLD, NULL), KEY_NEXT);
    T_EQ_INT(keys_state_at(q, 2, 1, 3000, HOLD, NULL), KEY_RETIRED);
    T_EQ_INT(keys_state_at(q, 2, 0, 6000, HOLD, NULL), KEY_ACTIVE);
    T_EQ_INT(keys_state_at(q, 2, 1, 3000 + HOLD, HOLD, NULL), KEY_REMOVED);
    /* retired in the second it activated: the key before it is not revived */
    q[1].retire_at = 5000;
    T_EQ_INT(keys_state_at(q, 2, 0, 5000, HOLD, NULL), KEY_RETIRED);
    T_EQ_INT(keys_state_at(q, 2, 1, 5000, HOLD, NULL), KEY_RETIRED);
}

/* At every second of a long run of rotations exactly one key per alg is active, and a key
 * never goes back to an earlier state. */
static void
test_state_one_active_key_and_monotonic(void)
{
    struct key_ref r[6];
    static const char *const kids[] = { "k0", "k1", "k2", "k3", "k4", "k5" };
    enum key_state last[6] = { KEY_NEXT, KEY_NEXT, KEY_NEXT, KEY_NEXT, KEY_NEXT, KEY_NEXT };

    for (int i = 0; i < 6; i++)
        r[i] = (struct key_ref){ kids[i], KEY_ES256, i * 1000, i == 0 ? 0 : i * 1000 + 500, 0 };
    r[3].retire_at = 3300; /* retired by hand before it activates at 3500 */
    for (int64_t t = 0; t < 12000; t += 50) {
        int active = 0;
        for (size_t i = 0; i < 6; i++) {
            enum key_state st = keys_state_at(r, 6, i, t, HOLD, NULL);
            active += st == KEY_ACTIVE;
            T_ASSERT(st >= last[i]);
            last[i] = st;
        }
        T_EQ_INT(active, 1);
    }
    T_EQ_INT(last[3], KEY_REMOVED);
}

static void
test_ring_signer_by_time_and_removed_keys_unpublished(void)
{
    const char *dir = fresh_dir();
    char a[KEYS_KID_MAX + 1], b[KEYS_KID_MAX + 1], c[KEYS_KID_MAX + 1], err[256];
    struct keyring *kr = NULL;
    int64_t now = time(NULL);
    json_t *jwks;

    T_EQ_INT(keys_generate(dir, KEY_ES256, a, err, sizeof(err)), GH_OK);
    T_EQ_INT(keys_generate(dir, KEY_ES256, b, err, sizeof(err)), GH_OK);
    T_EQ_INT(keys_generate(dir, KEY_ES256, c, err, sizeof(err)), GH_OK);
    {
        /* a: removed long ago (its file may be gone); b: active; c: next in 100 s */
        struct key_ref refs[] = { { a, KEY_ES256, 1, 1, 0 },
            { b, KEY_ES256, 2, now - 2 * HOLD, 0 }, { c, KEY_ES256, 3, now + 100, 0 } };
        keys_remove_file(dir, a);
        T_EQ_INT(keys_ring_load_staged(dir, refs, 3, HOLD, &kr, err, sizeof(err)), GH_OK);
    }
    T_EQ_INT(keys_ring_count(kr), 2);
    T_EQ_STR(keys_kid(keys_ring_signer_at(kr, KEY_ES256, now)), b);
    T_EQ_STR(keys_kid(keys_ring_signer(kr, KEY_ES256)), b);
    T_EQ_STR(keys_kid(keys_ring_signer_at(kr, KEY_ES256, now + 99)), b);
    T_EQ_STR(keys_kid(keys_ring_signer_at(kr, KEY_ES256, now + 100)), c);
    T_ASSERT(keys_ring_signer_at(kr, KEY_RS256, now) == NULL);
    T_ASSERT(keys_ring_find(kr, a) == NULL);
    T_ASSERT(keys_ring_find(kr, b) != NULL);
    T_ASSERT(keys_ring_find(kr, c) != NULL);   /* next keys are published */
    T_EQ_INT(keys_ring_next_change(kr, now), now + 100);
    jwks = keys_ring_jwks(kr);
    T_EQ_INT(json_array_size(json_object_get(jwks, "keys")), 2);
    T_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(jwks, "keys"), 1),
        "kid")), c);
    json_decref(jwks);
    keys_ring_free(kr);
}

int
main(void)
{
    t_init("keys");
    snprintf(root, sizeof(root), "/tmp/gh-test-keys-XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    T_RUN(test_thumbprint_rfc7638_example);
    T_RUN(test_thumbprint_needs_required_members);
    T_RUN(test_alg_names);
    T_RUN(test_generate_writes_private_pkcs8_file);
    T_RUN(test_generate_unwritable_dir_reports_path);
    T_RUN(test_generated_keys_round_trip_to_jwks);
    T_RUN(test_ring_signature_verifies_with_published_jwk);
    T_RUN(test_key_file_readable_by_others_refused);
    T_RUN(test_swapped_key_file_refused);
    T_RUN(test_wrong_alg_refused);
    T_RUN(test_rsa_pss_typed_key_refused);
    T_RUN(test_ring_find_by_kid);
    T_RUN(test_corrupt_pem_refused);
    T_RUN(test_encrypted_pem_refused_without_prompt);
    T_RUN(test_weak_or_wrong_curve_keys_refused);
    T_RUN(test_missing_key_file_refused);
    T_RUN(test_hostile_kids_refused);
    T_RUN(test_ring_refuses_duplicates_oversize_and_too_many);
    T_RUN(test_empty_ring);
    T_RUN(test_jwks_check_accepts_public_keys);
    T_RUN(test_jwks_check_rejects_private_and_symmetric);
    T_RUN(test_jwks_check_rejects_bad_structure);
    T_RUN(test_jwks_check_rejects_weak_or_bogus_numbers);
    T_RUN(test_jwks_check_ec_points);
    T_RUN(test_jwks_check_bounds);
    T_RUN(test_state_follows_the_rotation_timeline);
    T_RUN(test_state_hand_retirement);
    T_RUN(test_state_one_active_key_and_monotonic);
    T_RUN(test_ring_signer_by_time_and_removed_keys_unpublished);
    rm_rf(root);
    return t_done();
}
