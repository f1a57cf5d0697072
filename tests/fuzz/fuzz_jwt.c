/* fuzz_jwt.c — JWT verification (crypto/jwt.c, jwt_verify) against a small fixed ring (RS256,
 * PS256, ES256 keys generated once per process in a temporary directory, removed at exit).
 * Each input is used three ways:
 *   A. as a token: it must never verify (nobody but us can sign), and the *claims contract holds;
 *   B. as a payload, under our ES256 header and a valid signature made here, so the code after
 *      the signature check (payload JSON, claim types, iss/aud/time) sees arbitrary bytes;
 *   C. if it is a JSON object: jwt_sign, then jwt_verify must give the same object back (or a
 *      claim-type refusal), never a signature or expiry refusal. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "fuzz.h"
#include "util/b64url.h"

static char dir[80];
static char kids[KEY_ALG_COUNT][KEYS_KID_MAX + 1];
static struct keyring *ring;
static char *es_h64; /* base64url of our ES256 header, for B */

static void
cleanup(void)
{
    for (unsigned i = 0; i < KEY_ALG_COUNT; i++) {
        if (kids[i][0])
            keys_remove_file(dir, kids[i]);
    }
    if (dir[0])
        rmdir(dir);
    keys_ring_free(ring);
    free(es_h64);
}

static void
setup(void)
{
    const char *tmp = getenv("TMPDIR");
    struct key_ref refs[KEY_ALG_COUNT];
    char err[512], hdr[160];
    int n;

    snprintf(dir, sizeof(dir), "%s/gh-fuzz-jwt-XXXXXX", tmp && strlen(tmp) < 50 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("fuzz_jwt: mkdtemp");
        abort();
    }
    atexit(cleanup);
    for (unsigned i = 0; i < KEY_ALG_COUNT; i++) {
        if (keys_generate(dir, (enum key_alg)i, kids[i], err, sizeof(err)) != GH_OK) {
            fprintf(stderr, "fuzz_jwt: keys_generate: %s\n", err);
            abort();
        }
        refs[i] = (struct key_ref){ kids[i], (enum key_alg)i, (int64_t)i, 0, 0 };
    }
    if (keys_ring_load(dir, refs, KEY_ALG_COUNT, &ring, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "fuzz_jwt: keys_ring_load: %s\n", err);
        abort();
    }
    n = snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kids[KEY_ES256]);
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof(hdr));
    es_h64 = b64url_encode_new((const unsigned char *)hdr, (size_t)n);
}

/* jwt_verify plus the contract every result must keep. */
static int
verify(const char *tok, size_t len, const struct jwt_expect *ex, json_t **out)
{
    json_t *c = (json_t *)1;
    int rc = jwt_verify(ring, tok, len, ex, &c);

    FUZZ_CHECK(rc == GH_OK || rc == GH_EINVAL || rc == GH_EDENIED || rc == GH_EEXPIRED);
    FUZZ_CHECK(rc == GH_OK ? json_is_object(c) : c == NULL);
    if (rc == GH_OK)
        FUZZ_CHECK(json_is_integer(json_object_get(c, "exp")));
    if (out)
        *out = c;
    else
        json_decref(c);
    return rc;
}

/* ES256 over input, as JWS R||S with the low S (what jwt_verify accepts), made independently of
 * jwt.c with OpenSSL and BN arithmetic. */
static void
es256_sign(const char *input, size_t n, unsigned char raw[64])
{
    unsigned char der[80];
    size_t dl = sizeof(der);
    const unsigned char *p = der;
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    ECDSA_SIG *sig;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    BIGNUM *half = BN_new(), *s2 = BN_new();
    const BIGNUM *r, *s;

    FUZZ_CHECK(mc && g && half && s2);
    FUZZ_CHECK(EVP_DigestSignInit(mc, NULL, EVP_sha256(), NULL,
                   keys_evp_pkey(keys_ring_signer(ring, KEY_ES256))) == 1);
    FUZZ_CHECK(EVP_DigestSign(mc, der, &dl, (const unsigned char *)input, n) == 1);
    FUZZ_CHECK((sig = d2i_ECDSA_SIG(NULL, &p, (long)dl)) != NULL);
    ECDSA_SIG_get0(sig, &r, &s);
    FUZZ_CHECK(BN_rshift1(half, EC_GROUP_get0_order(g)));
    if (BN_cmp(s, half) > 0)
        FUZZ_CHECK(BN_sub(s2, EC_GROUP_get0_order(g), s));
    else
        FUZZ_CHECK(BN_copy(s2, s) != NULL);
    FUZZ_CHECK(BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s2, raw + 32, 32) == 32);
    ECDSA_SIG_free(sig);
    BN_free(half);
    BN_free(s2);
    EC_GROUP_free(g);
    EVP_MD_CTX_free(mc);
}

/* B: the input as the payload of a token we signed. */
static void
as_payload(const uint8_t *data, size_t size)
{
    struct jwt_expect lax = { .now = 1700000000, .leeway = 60, .allow_expired = true };
    size_t hl = strlen(es_h64), pl = b64url_enc_len(size), n;
    unsigned char raw[64];
    char *tok;
    int rc;

    if (hl + 1 + pl + 1 + b64url_enc_len(64) > GH_MAX_JWT_LEN)
        return;
    n = hl + 1 + pl;
    tok = malloc(n + 1 + b64url_enc_len(64) + 1);
    FUZZ_CHECK(tok != NULL);
    memcpy(tok, es_h64, hl);
    tok[hl] = '.';
    FUZZ_CHECK(b64url_encode(data, size, tok + hl + 1, pl + 1) == GH_OK);
    es256_sign(tok, n, raw);
    tok[n] = '.';
    FUZZ_CHECK(b64url_encode(raw, 64, tok + n + 1, b64url_enc_len(64) + 1) == GH_OK);
    rc = verify(tok, strlen(tok), &lax, NULL);
    /* the signature is good and the header ours: only the payload can be refused, and an
     * expired one is excused by allow_expired */
    FUZZ_CHECK(rc != GH_EEXPIRED);
    free(tok);
}

/* C: a JSON object through jwt_sign and back. */
static void
round_trip(const uint8_t *data, size_t size)
{
    /* now = the largest time: no nbf/iat can be in the future; expiry excused */
    struct jwt_expect lax = { .typ = "at+jwt", .now = INT64_MAX, .allow_expired = true };
    json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL), *out = NULL;
    char *tok = NULL;
    int rc;

    if (!json_is_object(in))
        goto out;
    rc = jwt_sign(ring, KEY_ES256, "at+jwt", in, &tok);
    FUZZ_CHECK(rc == GH_OK || rc == GH_ETOOBIG);
    if (rc != GH_OK)
        goto out;
    FUZZ_CHECK(strlen(tok) <= GH_MAX_JWT_LEN);
    rc = verify(tok, strlen(tok), &lax, &out);
    FUZZ_CHECK(rc == GH_OK || rc == GH_EINVAL); /* EINVAL: exp missing, a claim's type */
    if (rc == GH_OK)
        FUZZ_CHECK(json_equal(in, out));
out:
    json_decref(out);
    json_decref(in);
    free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jwt_expect strict = { .typ = "at+jwt", .iss = "https://id.example", .aud = "rp1",
        .now = 1700000000, .leeway = 0 };
    struct jwt_expect lax = { .now = 1700000000, .leeway = 60, .allow_expired = true };

    if (!ring)
        setup();
    /* A: nobody but the ring's owner can make a token that verifies */
    FUZZ_CHECK(verify((const char *)data, size, &strict, NULL) != GH_OK);
    FUZZ_CHECK(verify((const char *)data, size, &lax, NULL) != GH_OK);
    as_payload(data, size);
    round_trip(data, size);
    return 0;
}
