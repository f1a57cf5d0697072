/* fuzz_assertion.c — client assertions (oidc/assertion.c over the client-JWT half of
 * crypto/jwt.c): assertion_parse, then assertion_verify against two fixed clients made once per
 * process — "fz-hs" (client_secret_jwt, a sealed 64-byte secret) and "fz-pk" (private_key_jwt,
 * a JWKS with an RSA key "r1" and a P-256 key "e1") — at a fixed time. Each input is used
 * three ways:
 *   A. as the assertion itself: whatever parses must never verify for either client (nobody
 *      without the secret or a private key can sign), and the out-parameter contract holds;
 *   B. as the payload, under {"alg":"HS256"} with a genuine MAC by fz-hs's secret, so the claim
 *      rules see arbitrary bytes: what parses names a client by iss = sub with a bounded jti,
 *      verifies for fz-hs exactly when it names fz-hs, and never for fz-pk (an HMAC alg);
 *   C. as the header, over good claims for fz-pk with a genuine ES256 signature by e1, so the
 *      header rules see arbitrary bytes: what verifies says ES256 and names e1 (or no kid,
 *      which a two-key JWKS refuses), and nothing verifies for fz-hs. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/jwt.h"
#include "crypto/secret.h"
#include "fuzz.h"
#include "model/client.h"
#include "oidc/assertion.h"
#include "util/b64url.h"

#define ISSUER "https://id.example"
#define NOW    1700000000
#define SECRET "fuzz-secret-0123456789abcdef0123456789abcdef0123456789abcdef0123"

static char dir[80];
static struct secrets *sec;
static struct client hs_client = { .client_id = (char *)"fz-hs",
    .auth_method = CLIENT_AUTH_SECRET_JWT };
static struct client pk_client = { .client_id = (char *)"fz-pk",
    .auth_method = CLIENT_AUTH_PRIVATE_KEY_JWT };
static EVP_PKEY *ec, *rsa;
static char *good_pk_p64; /* base64url of good claims for fz-pk, for C */

static void
cleanup(void)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/%s", dir, SEC_FILE);
    unlink(path);
    if (dir[0])
        rmdir(dir);
    sec_free(sec);
    free(hs_client.secret_sealed);
    free(pk_client.jwks);
    free(good_pk_p64);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
}

static char *
b64(const void *p, size_t n)
{
    char *s = b64url_encode_new(p, n);

    FUZZ_CHECK(s != NULL);
    return s;
}

static char *
bn_b64(EVP_PKEY *pk, const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char buf[512];
    int n;
    char *s;

    FUZZ_CHECK(EVP_PKEY_get_bn_param(pk, param, &bn) == 1);
    n = BN_bn2bin(bn, buf);
    s = b64(buf, (size_t)n);
    BN_free(bn);
    return s;
}

static void
setup(void)
{
    const char *tmp = getenv("TMPDIR");
    static const char claims[] = "{\"iss\":\"fz-pk\",\"sub\":\"fz-pk\",\"aud\":\"" ISSUER
                                 "/token\",\"exp\":1700000060,\"jti\":\"c\"}";
    unsigned char pt[65];
    size_t pl = 0;
    char err[256], *n, *e, *x, *y;
    size_t cap = 2048;
    int len;

    snprintf(dir, sizeof(dir), "%s/gh-fuzz-assertion-XXXXXX",
        tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("fuzz_assertion: mkdtemp");
        abort();
    }
    atexit(cleanup);
    if (sec_load(dir, true, &sec, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "fuzz_assertion: sec_load: %s\n", err);
        abort();
    }
    FUZZ_CHECK(sec_seal(sec, hs_client.client_id, SECRET, strlen(SECRET),
                   &hs_client.secret_sealed, &hs_client.secret_sealed_len) == GH_OK);
    FUZZ_CHECK((ec = EVP_EC_gen("P-256")) != NULL);
    FUZZ_CHECK((rsa = EVP_RSA_gen(2048)) != NULL);
    FUZZ_CHECK(EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt),
                   &pl) == 1 && pl == 65);
    n = bn_b64(rsa, OSSL_PKEY_PARAM_RSA_N);
    e = bn_b64(rsa, OSSL_PKEY_PARAM_RSA_E);
    x = b64(pt + 1, 32);
    y = b64(pt + 33, 32);
    pk_client.jwks = malloc(cap);
    FUZZ_CHECK(pk_client.jwks != NULL);
    len = snprintf(pk_client.jwks, cap,
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r1\",\"n\":\"%s\",\"e\":\"%s\"},"
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"e1\",\"x\":\"%s\",\"y\":\"%s\"}]}",
        n, e, x, y);
    FUZZ_CHECK(len > 0 && (size_t)len < cap);
    good_pk_p64 = b64(claims, strlen(claims));
    free(n);
    free(e);
    free(x);
    free(y);
}

/* assertion_parse plus the contract every result keeps. */
static int
parse(const char *t, size_t len, struct assertion **out)
{
    struct assertion *a = (struct assertion *)1;
    const char *why = NULL;
    int rc = assertion_parse(t, len, ISSUER, NOW, 30, &a, &why);

    FUZZ_CHECK(rc == GH_OK || rc == GH_EINVAL || rc == GH_EDENIED || rc == GH_EEXPIRED ||
               rc == GH_ETOOBIG);
    FUZZ_CHECK(rc == GH_OK ? a != NULL : (a == NULL && why != NULL));
    if (rc == GH_ETOOBIG)
        FUZZ_CHECK(len > GH_MAX_JWT_LEN);
    if (rc == GH_OK) {
        const char *id = assertion_client_id(a), *jti = assertion_jti(a);
        FUZZ_CHECK(id && strlen(id) > 0 && strlen(id) <= GH_MAX_CLIENT_ID);
        FUZZ_CHECK(jti && strlen(jti) > 0 && strlen(jti) <= 256);
    }
    *out = a;
    return rc;
}

static int
verify(const struct assertion *a, const struct client *c)
{
    const char *why = NULL;
    int rc = assertion_verify(a, c, sec, &why);

    FUZZ_CHECK(rc == GH_OK || rc == GH_EDENIED);
    FUZZ_CHECK(rc == GH_OK || why != NULL);
    return rc;
}

/* header64 '.' payload64 '.' signature64 (caller frees); sig over the first two parts. */
static char *
signed_token(const char *h64, const char *p64, bool hmac)
{
    size_t hl = strlen(h64), pl = strlen(p64), n = hl + 1 + pl;
    unsigned char sig[80];
    size_t siglen = sizeof(sig);
    char *t = malloc(n + 1 + 90), *s;

    FUZZ_CHECK(t != NULL);
    memcpy(t, h64, hl);
    t[hl] = '.';
    memcpy(t + hl + 1, p64, pl);
    if (hmac) {
        FUZZ_CHECK(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, SECRET, strlen(SECRET),
                       (unsigned char *)t, n, sig, sizeof(sig), &siglen) != NULL);
    } else {
        unsigned char der[80];
        size_t dl = sizeof(der);
        const unsigned char *p = der;
        EVP_MD_CTX *mc = EVP_MD_CTX_new();
        ECDSA_SIG *es;
        const BIGNUM *r, *ss;

        FUZZ_CHECK(mc && EVP_DigestSignInit(mc, NULL, EVP_sha256(), NULL, ec) == 1);
        FUZZ_CHECK(EVP_DigestSign(mc, der, &dl, (unsigned char *)t, n) == 1);
        FUZZ_CHECK((es = d2i_ECDSA_SIG(NULL, &p, (long)dl)) != NULL);
        ECDSA_SIG_get0(es, &r, &ss);
        FUZZ_CHECK(BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(ss, sig + 32, 32) == 32);
        siglen = 64;
        ECDSA_SIG_free(es);
        EVP_MD_CTX_free(mc);
    }
    s = b64(sig, siglen);
    t[n] = '.';
    memcpy(t + n + 1, s, strlen(s) + 1);
    free(s);
    return t;
}

/* A: raw bytes never verify */
static void
as_token(const uint8_t *data, size_t size)
{
    struct assertion *a = NULL;

    if (parse((const char *)data, size, &a) == GH_OK) {
        FUZZ_CHECK(verify(a, &hs_client) != GH_OK);
        FUZZ_CHECK(verify(a, &pk_client) != GH_OK);
    }
    assertion_free(a);
}

/* B: arbitrary claims under a genuine HS256 MAC */
static void
as_payload(const uint8_t *data, size_t size)
{
    static const char hdr[] = "{\"alg\":\"HS256\"}";
    struct assertion *a = NULL;
    char *h64, *p64, *t;

    if (b64url_enc_len(size) > GH_MAX_JWT_LEN)
        return;
    h64 = b64(hdr, strlen(hdr));
    p64 = b64(data, size);
    t = signed_token(h64, p64, true);
    if (parse(t, strlen(t), &a) == GH_OK) {
        bool ours = strcmp(assertion_client_id(a), "fz-hs") == 0;
        FUZZ_CHECK((verify(a, &hs_client) == GH_OK) == ours);
        FUZZ_CHECK(verify(a, &pk_client) != GH_OK);
    }
    assertion_free(a);
    free(t);
    free(p64);
    free(h64);
}

/* C: an arbitrary header over good claims with a genuine ES256 signature by e1 */
static void
as_header(const uint8_t *data, size_t size)
{
    struct assertion *a = NULL;
    char *h64, *t;

    if (b64url_enc_len(size) > 2048)
        return;
    h64 = b64(data, size);
    t = signed_token(h64, good_pk_p64, false);
    if (parse(t, strlen(t), &a) == GH_OK) {
        if (verify(a, &pk_client) == GH_OK)
            FUZZ_CHECK(strcmp(assertion_alg(a), "ES256") == 0);
        FUZZ_CHECK(verify(a, &hs_client) != GH_OK);
    }
    assertion_free(a);
    free(t);
    free(h64);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sec)
        setup();
    as_token(data, size);
    as_payload(data, size);
    as_header(data, size);
    return 0;
}
