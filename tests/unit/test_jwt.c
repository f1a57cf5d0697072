/* test_jwt.c — JWT signing and verification (crypto/jwt.c): round trips for RS256, PS256 and
 * ES256 checked by an independent verifier (cjose against the published JWK), typ/iss/aud and
 * time checks, and the attacks RFC 8725 lists — each built with a signature that is valid
 * for what it signs (made here with OpenSSL directly, not by jwt.c), so the only reason for a
 * refusal is the property under test. Every attack has a control that verifies. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "util/b64url.h"
#include "t.h"

#define NOW 1700000000LL
#define ISS "https://id.example"
#define AUD "rp1"

static char root[64];
static struct keyring *ring;  /* RS256, PS256, ES256 (signing) + an older ES256 (published) */
static char kid_rs[KEYS_KID_MAX + 1], kid_ps[KEYS_KID_MAX + 1], kid_es[KEYS_KID_MAX + 1],
    kid_es_old[KEYS_KID_MAX + 1];

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

static EVP_PKEY *
pkey_of(const char *kid)
{
    const struct key *k = keys_ring_find(ring, kid);

    if (!k)
        return NULL;
    return keys_evp_pkey(k);
}

/* --- an independent signer -------------------------------------------------------------- */

enum sig_mode {
    SIG_RS256,        /* RSASSA-PKCS1-v1_5 SHA-256 */
    SIG_PS256,        /* RSASSA-PSS SHA-256, MGF1-SHA-256, salt 32 */
    SIG_ES256,        /* ECDSA P-256 SHA-256 as JWS R||S, low S */
    SIG_ES256_HIGH_S, /* the same signature with S replaced by n - S (still valid ECDSA) */
    SIG_ES256_DER,    /* the DER Ecdsa-Sig-Value, as OpenSSL returns it */
    SIG_HS256,        /* HMAC-SHA-256 keyed with hkey */
    SIG_NONE,         /* empty signature */
};

/* The raw signature over input, made with OpenSSL and BN arithmetic, not with jwt.c. */
static unsigned char *
raw_sign(const char *input, enum sig_mode m, EVP_PKEY *pk, const void *hkey, size_t hkeylen,
    size_t *siglen)
{
    unsigned char *sig = malloc(2048);
    size_t n = 2048;

    T_ASSERT(sig);
    *siglen = 0;
    if (m == SIG_NONE)
        return sig;
    if (m == SIG_HS256) {
        T_ASSERT(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, hkey, hkeylen,
                     (const unsigned char *)input, strlen(input), sig, 32, siglen) != NULL);
        return sig;
    }
    {
        EVP_MD_CTX *mc = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pc = NULL;

        T_ASSERT(mc && pk);
        T_ASSERT(EVP_DigestSignInit(mc, &pc, EVP_sha256(), NULL, pk) == 1);
        if (m == SIG_PS256) {
            T_ASSERT(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1);
            T_ASSERT(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32) == 1);
        }
        T_ASSERT(EVP_DigestSign(mc, sig, &n, (const unsigned char *)input, strlen(input)) == 1);
        EVP_MD_CTX_free(mc);
    }
    if (m == SIG_ES256 || m == SIG_ES256_HIGH_S) {
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
        EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
        BIGNUM *half = BN_new(), *s2 = BN_new();
        const BIGNUM *r, *s;

        T_ASSERT(es && g && half && s2);
        ECDSA_SIG_get0(es, &r, &s);
        T_ASSERT(BN_rshift1(half, EC_GROUP_get0_order(g)));
        /* pick the low S, or for SIG_ES256_HIGH_S the high one */
        if ((BN_cmp(s, half) > 0) == (m == SIG_ES256))
            T_ASSERT(BN_sub(s2, EC_GROUP_get0_order(g), s));
        else
            T_ASSERT(BN_copy(s2, s));
        T_ASSERT(BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s2, sig + 32, 32) == 32);
        n = 64;
        BN_free(half);
        BN_free(s2);
        EC_GROUP_free(g);
        ECDSA_SIG_free(es);
    }
    *siglen = n;
    return sig;
}

/* h64 + "." + p64 + "." + base64url(signature over "h64.p64"); caller frees. */
static char *
forge_raw(const char *h64, const char *p64, enum sig_mode m, EVP_PKEY *pk, const void *hkey,
    size_t hkeylen)
{
    size_t inlen = strlen(h64) + 1 + strlen(p64), siglen, n;
    char *input = malloc(inlen + 1), *tok, *s64;
    unsigned char *sig;

    T_ASSERT(input);
    snprintf(input, inlen + 1, "%s.%s", h64, p64);
    sig = raw_sign(input, m, pk, hkey, hkeylen, &siglen);
    s64 = b64url_encode_new(sig, siglen);
    n = inlen + 1 + strlen(s64) + 1;
    tok = malloc(n);
    T_ASSERT(tok);
    snprintf(tok, n, "%s.%s", input, s64);
    free(s64);
    free(sig);
    free(input);
    return tok;
}

/* Like forge_raw, from header and payload JSON text. */
static char *
forge(const char *hdr, const char *payload, enum sig_mode m, EVP_PKEY *pk)
{
    char *h64 = b64url_encode_new((const unsigned char *)hdr, strlen(hdr));
    char *p64 = b64url_encode_new((const unsigned char *)payload, strlen(payload));
    char *tok = forge_raw(h64, p64, m, pk, NULL, 0);

    free(h64);
    free(p64);
    return tok;
}

/* {"alg":alg,"kid":kid,"typ":"at+jwt"} */
static char *
hdr_of(const char *alg, const char *kid)
{
    static char h[256];

    snprintf(h, sizeof(h), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", alg, kid);
    return h;
}

/* claims valid at NOW for ISS/AUD */
static const char *
good_payload(void)
{
    static char p[256];

    snprintf(p, sizeof(p),
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"u1\",\"iat\":%lld,\"nbf\":%lld,"
        "\"exp\":%lld}", NOW, NOW, NOW + 300);
    return p;
}

static struct jwt_expect
expect(void)
{
    struct jwt_expect ex = { .typ = "at+jwt", .iss = ISS, .aud = AUD, .now = NOW, .leeway = 0 };
    return ex;
}

/* jwt_verify on a NUL-terminated token; checks the *claims contract and frees them. */
static int
vfy_ex(const char *tok, const struct jwt_expect *ex)
{
    json_t *c = (json_t *)1;
    int rc = jwt_verify(ring, tok, strlen(tok), ex, &c);

    if (rc == GH_OK)
        T_ASSERT(json_is_object(c));
    else
        T_ASSERT(c == NULL);
    json_decref(c);
    return rc;
}

static int
vfy(const char *tok)
{
    struct jwt_expect ex = expect();
    return vfy_ex(tok, &ex);
}

/* Verify a forged token and free it. */
static int
vfy_free(char *tok)
{
    int rc = vfy(tok);
    free(tok);
    return rc;
}

/* --- round trips ------------------------------------------------------------------------ */

/* cjose, against the JWK we publish for kid: a second implementation agrees with jwt_sign. */
static bool
cjose_verifies(const char *tok, const char *kid)
{
    json_t *jwks = keys_ring_jwks(ring), *k;
    size_t i;
    char *txt = NULL;
    cjose_err ce;
    cjose_jwk_t *pub = NULL;
    cjose_jws_t *jws = NULL;
    bool ok = false;

    json_array_foreach(json_object_get(jwks, "keys"), i, k) {
        if (strcmp(json_string_value(json_object_get(k, "kid")), kid) == 0)
            txt = json_dumps(k, JSON_COMPACT);
    }
    if (txt && (pub = cjose_jwk_import(txt, strlen(txt), &ce)) &&
        (jws = cjose_jws_import(tok, strlen(tok), &ce)))
        ok = cjose_jws_verify(jws, pub, &ce);
    ERR_clear_error();
    cjose_jws_release(jws);
    cjose_jwk_release(pub);
    free(txt);
    json_decref(jwks);
    return ok;
}

static json_t *
decode_part(const char *tok, int part)
{
    const char *s = tok, *e;
    unsigned char buf[8192];
    size_t n;

    for (int i = 0; i < part; i++)
        s = strchr(s, '.') + 1;
    e = strchr(s, '.');
    if (!e)
        e = s + strlen(s);
    T_EQ_INT(b64url_decode(s, (size_t)(e - s), buf, sizeof(buf), &n), GH_OK);
    return json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
}

static void
test_round_trip_each_alg(void)
{
    static const enum key_alg algs[] = { KEY_RS256, KEY_PS256, KEY_ES256, 0, 0 };
    static const char *const kids[] = { kid_rs, kid_ps, kid_es };
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", ISS, "aud", AUD, "sub",
        "u1", "iat", (json_int_t)NOW, "exp", (json_int_t)(NOW + 300));

    for (size_t a = 0; a < 3; a++) {
        struct jwt_expect ex = expect();
        char *tok = NULL;
        json_t *got = NULL, *hdr;
        const char *sig64;
        unsigned char sig[1024];
        size_t siglen;

        T_EQ_INT(jwt_sign(ring, algs[a], "at+jwt", claims, &tok), GH_OK);
        T_ASSERT(tok != NULL);
        /* header is exactly {"alg","kid","typ"} with the signer's kid */
        hdr = decode_part(tok, 0);
        T_ASSERT(hdr != NULL);
        T_EQ_INT(json_object_size(hdr), 3);
        T_EQ_STR(json_string_value(json_object_get(hdr, "alg")), keys_alg_name(algs[a]));
        T_EQ_STR(json_string_value(json_object_get(hdr, "kid")), kids[a]);
        T_EQ_STR(json_string_value(json_object_get(hdr, "typ")), "at+jwt");
        json_decref(hdr);
        /* RFC 7518 §3.4: ES256 is R||S, 64 bytes; RSA is modulus-sized */
        sig64 = strrchr(tok, '.') + 1;
        T_EQ_INT(b64url_decode(sig64, strlen(sig64), sig, sizeof(sig), &siglen), GH_OK);
        T_EQ_INT(siglen, algs[a] == KEY_ES256 ? 64 : 256);
        T_ASSERT(cjose_verifies(tok, kids[a]));

        T_EQ_INT(jwt_verify(ring, tok, strlen(tok), &ex, &got), GH_OK);
        T_EQ_STR(json_string_value(json_object_get(got, "sub")), "u1");
        T_EQ_INT(json_integer_value(json_object_get(got, "exp")), NOW + 300);
        json_decref(got);
        free(tok);
    }
    json_decref(claims);
}

/* The signing key's published JWK has the same alg the token names. */
static void
test_jwks_alg_matches_signing_alg(void)
{
    json_t *jwks = keys_ring_jwks(ring), *k;
    size_t i, seen = 0;

    json_array_foreach(json_object_get(jwks, "keys"), i, k) {
        const char *kid = json_string_value(json_object_get(k, "kid"));
        const char *alg = json_string_value(json_object_get(k, "alg"));
        if (!strcmp(kid, kid_ps)) {
            T_EQ_STR(alg, "PS256");
            T_EQ_STR(json_string_value(json_object_get(k, "kty")), "RSA");
            seen++;
        } else if (!strcmp(kid, kid_rs)) {
            T_EQ_STR(alg, "RS256");
            seen++;
        }
    }
    T_EQ_INT(seen, 2);
    json_decref(jwks);
}

/* Our ES256 signatures carry the low S (so no second valid spelling exists): with random
 * nonces a signer that did not normalise would give a high S half of the time. */
static void
test_es256_signatures_are_low_s(void)
{
    static const unsigned char half[32] = { 0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42,
        0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8 };
    json_t *claims = json_pack("{s:I}", "exp", (json_int_t)(NOW + 300));

    for (int i = 0; i < 40; i++) {
        char *tok = NULL;
        unsigned char sig[64];
        size_t n;
        const char *s64;

        T_EQ_INT(jwt_sign(ring, KEY_ES256, "at+jwt", claims, &tok), GH_OK);
        s64 = strrchr(tok, '.') + 1;
        T_EQ_INT(b64url_decode(s64, strlen(s64), sig, sizeof(sig), &n), GH_OK);
        T_EQ_INT(n, 64);
        T_ASSERT(memcmp(sig + 32, half, 32) <= 0);
        T_ASSERT(cjose_verifies(tok, kid_es));
        free(tok);
    }
    json_decref(claims);
}

/* A key that no longer signs but is still published verifies what it signed (rotation). */
static void
test_rotated_key_still_verifies(void)
{
    T_ASSERT(strcmp(keys_kid(keys_ring_signer(ring, KEY_ES256)), kid_es) == 0);
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", kid_es_old), good_payload(), SIG_ES256,
                 pkey_of(kid_es_old))), GH_OK);
    /* and the independent signer agrees with jwt_verify on the current keys */
    T_EQ_INT(vfy_free(forge(hdr_of("RS256", kid_rs), good_payload(), SIG_RS256,
                 pkey_of(kid_rs))), GH_OK);
    T_EQ_INT(vfy_free(forge(hdr_of("PS256", kid_ps), good_payload(), SIG_PS256,
                 pkey_of(kid_ps))), GH_OK);
}

static void
test_sign_refusals(void)
{
    json_t *claims = json_pack("{s:I}", "exp", (json_int_t)(NOW + 300));
    json_t *arr = json_array(), *big;
    char *tok = (char *)1, pad[GH_MAX_JWT_LEN];
    struct keyring *empty = NULL;
    char err[64];

    T_EQ_INT(keys_ring_load("/nonexistent", NULL, 0, &empty, err, sizeof(err)), GH_OK);
    T_EQ_INT(jwt_sign(empty, KEY_RS256, "JWT", claims, &tok), GH_ENOTFOUND);
    T_ASSERT(tok == NULL);
    tok = (char *)1;
    T_EQ_INT(jwt_sign(ring, KEY_ES256, "JWT", arr, &tok), GH_EINVAL);
    T_ASSERT(tok == NULL);
    T_EQ_INT(jwt_sign(ring, (enum key_alg)7, "JWT", claims, &tok), GH_ENOTFOUND);
    /* a token jwt_verify would refuse for its size is not made */
    memset(pad, 'a', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    big = json_pack("{s:I, s:s}", "exp", (json_int_t)(NOW + 300), "pad", pad);
    T_EQ_INT(jwt_sign(ring, KEY_ES256, "JWT", big, &tok), GH_ETOOBIG);
    T_ASSERT(tok == NULL);
    /* typ NULL: no typ member */
    T_EQ_INT(jwt_sign(ring, KEY_ES256, NULL, claims, &tok), GH_OK);
    {
        json_t *h = decode_part(tok, 0);
        T_EQ_INT(json_object_size(h), 2);
        T_ASSERT(json_object_get(h, "typ") == NULL);
        json_decref(h);
    }
    free(tok);
    keys_ring_free(empty);
    json_decref(big);
    json_decref(arr);
    json_decref(claims);
}

/* --- typ, iss, aud ---------------------------------------------------------------------- */

static int
vfy_typ(const char *typ_member, const char *want)
{
    char h[256];
    struct jwt_expect ex = expect();

    snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%s\"%s}", kid_es, typ_member);
    ex.typ = want;
    {
        char *tok = forge(h, good_payload(), SIG_ES256, pkey_of(kid_es));
        int rc = vfy_ex(tok, &ex);
        free(tok);
        return rc;
    }
}

static void
test_typ_checked_per_rfc7515(void)
{
    /* RFC 7515 §4.1.9: case-insensitive, "application/" may be left out */
    T_EQ_INT(vfy_typ(",\"typ\":\"at+jwt\"", "at+jwt"), GH_OK);
    T_EQ_INT(vfy_typ(",\"typ\":\"application/at+jwt\"", "at+jwt"), GH_OK);
    T_EQ_INT(vfy_typ(",\"typ\":\"AT+JWT\"", "at+jwt"), GH_OK);
    T_EQ_INT(vfy_typ(",\"typ\":\"Application/At+Jwt\"", "at+jwt"), GH_OK);
    T_EQ_INT(vfy_typ(",\"typ\":\"at+jwt\"", "application/at+jwt"), GH_OK);
    /* an id_token is not an access token (RFC 9068 §4, RFC 8725 §3.11) */
    T_EQ_INT(vfy_typ(",\"typ\":\"JWT\"", "at+jwt"), GH_EDENIED);
    T_EQ_INT(vfy_typ("", "at+jwt"), GH_EDENIED);
    T_EQ_INT(vfy_typ(",\"typ\":\"text/at+jwt\"", "at+jwt"), GH_EDENIED);
    T_EQ_INT(vfy_typ(",\"typ\":\"application/at+jwt/x\"", "at+jwt"), GH_EDENIED);
    /* only a value without '/' has "application/" implied: application/x/y is not x/y */
    T_EQ_INT(vfy_typ(",\"typ\":\"application/x/y\"", "x/y"), GH_EDENIED);
    T_EQ_INT(vfy_typ(",\"typ\":\"X/Y\"", "x/y"), GH_OK);
    T_EQ_INT(vfy_typ(",\"typ\":\"at+jwtx\"", "at+jwt"), GH_EDENIED);
    T_EQ_INT(vfy_typ(",\"typ\":\"applicatio/at+jwt\"", "at+jwt"), GH_EDENIED);
    T_EQ_INT(vfy_typ(",\"typ\":\"\"", "at+jwt"), GH_EDENIED);
    T_EQ_INT(vfy_typ(",\"typ\":1", "at+jwt"), GH_EINVAL);
    /* no expectation: any typ or none, but still a string */
    T_EQ_INT(vfy_typ("", NULL), GH_OK);
    T_EQ_INT(vfy_typ(",\"typ\":\"JWT\"", NULL), GH_OK);
    T_EQ_INT(vfy_typ(",\"typ\":null", NULL), GH_EINVAL);
}

static int
vfy_payload(const char *payload, const struct jwt_expect *ex)
{
    char *tok = forge(hdr_of("ES256", kid_es), payload, SIG_ES256, pkey_of(kid_es));
    int rc = vfy_ex(tok, ex);

    free(tok);
    return rc;
}

/* payload with exp = NOW + 300 and the given extra members (JSON text without braces) */
static int
vfy_claims(const char *members, const struct jwt_expect *ex)
{
    char p[512];

    snprintf(p, sizeof(p), "{%s%s\"exp\":%lld}", members, members[0] ? "," : "", NOW + 300);
    return vfy_payload(p, ex);
}

static void
test_iss_checked_exactly(void)
{
    struct jwt_expect ex = expect();

    ex.aud = NULL;
    T_EQ_INT(vfy_claims("\"iss\":\"" ISS "\"", &ex), GH_OK);
    T_EQ_INT(vfy_claims("\"iss\":\"" ISS "/\"", &ex), GH_EDENIED);
    T_EQ_INT(vfy_claims("\"iss\":\"HTTPS://id.example\"", &ex), GH_EDENIED);
    T_EQ_INT(vfy_claims("\"iss\":\"https://evil.example\"", &ex), GH_EDENIED);
    T_EQ_INT(vfy_claims("", &ex), GH_EDENIED);
    T_EQ_INT(vfy_claims("\"iss\":[\"" ISS "\"]", &ex), GH_EINVAL);
    ex.iss = NULL;
    T_EQ_INT(vfy_claims("\"iss\":\"https://other.example\"", &ex), GH_OK);
    T_EQ_INT(vfy_claims("", &ex), GH_OK);
}

static void
test_aud_string_or_array(void)
{
    struct jwt_expect ex = expect();

    ex.iss = NULL;
    T_EQ_INT(vfy_claims("\"aud\":\"" AUD "\"", &ex), GH_OK);
    T_EQ_INT(vfy_claims("\"aud\":[\"x\",\"" AUD "\"]", &ex), GH_OK);
    T_EQ_INT(vfy_claims("\"aud\":[\"" AUD "\"]", &ex), GH_OK);
    T_EQ_INT(vfy_claims("\"aud\":\"rp2\"", &ex), GH_EDENIED);
    T_EQ_INT(vfy_claims("\"aud\":\"rp1 \"", &ex), GH_EDENIED);
    T_EQ_INT(vfy_claims("\"aud\":[\"x\",\"y\"]", &ex), GH_EDENIED);
    T_EQ_INT(vfy_claims("\"aud\":[]", &ex), GH_EDENIED);
    T_EQ_INT(vfy_claims("", &ex), GH_EDENIED);
    T_EQ_INT(vfy_claims("\"aud\":1", &ex), GH_EINVAL);
    T_EQ_INT(vfy_claims("\"aud\":[\"" AUD "\",1]", &ex), GH_EINVAL);
    T_EQ_INT(vfy_claims("\"aud\":{\"" AUD "\":1}", &ex), GH_EINVAL);
    ex.aud = NULL;
    T_EQ_INT(vfy_claims("\"aud\":\"anyone\"", &ex), GH_OK);
    T_EQ_INT(vfy_claims("", &ex), GH_OK);
}

/* --- time ------------------------------------------------------------------------------- */

static int
vfy_times(const char *members, int64_t leeway, bool allow_expired)
{
    struct jwt_expect ex = { .now = NOW, .leeway = leeway, .allow_expired = allow_expired };
    char p[512];

    snprintf(p, sizeof(p), "{%s}", members);
    return vfy_payload(p, &ex);
}

static void
test_exp_required_and_checked_with_leeway(void)
{
    char m[128];

    /* RFC 7519 §4.1.4: valid only while now < exp */
    snprintf(m, sizeof(m), "\"exp\":%lld", NOW + 1);
    T_EQ_INT(vfy_times(m, 0, false), GH_OK);
    snprintf(m, sizeof(m), "\"exp\":%lld", NOW);
    T_EQ_INT(vfy_times(m, 0, false), GH_EEXPIRED);
    T_EQ_INT(vfy_times(m, 1, false), GH_OK);
    snprintf(m, sizeof(m), "\"exp\":%lld", NOW - 59);
    T_EQ_INT(vfy_times(m, 60, false), GH_OK);
    snprintf(m, sizeof(m), "\"exp\":%lld", NOW - 60);
    T_EQ_INT(vfy_times(m, 60, false), GH_EEXPIRED);
    /* a negative leeway is no leeway: neither a shorter nor a longer lifetime */
    snprintf(m, sizeof(m), "\"exp\":%lld", NOW + 1);
    T_EQ_INT(vfy_times(m, -100, false), GH_OK);
    snprintf(m, sizeof(m), "\"exp\":%lld", NOW - 50);
    T_EQ_INT(vfy_times(m, -100, false), GH_EEXPIRED);
    T_EQ_INT(vfy_times(m, INT64_MIN, false), GH_EEXPIRED);
    /* id_token_hint: expired is still a hint */
    snprintf(m, sizeof(m), "\"exp\":%lld", NOW - 86400 * 365);
    T_EQ_INT(vfy_times(m, 0, false), GH_EEXPIRED);
    T_EQ_INT(vfy_times(m, 0, true), GH_OK);
    /* exp is required and an integer */
    T_EQ_INT(vfy_times("\"sub\":\"u1\"", 0, true), GH_EINVAL);
    T_EQ_INT(vfy_times("\"exp\":\"1800000000\"", 0, false), GH_EINVAL);
    T_EQ_INT(vfy_times("\"exp\":1800000000.5", 0, false), GH_EINVAL);
    T_EQ_INT(vfy_times("\"exp\":null", 0, false), GH_EINVAL);
    /* extreme values neither overflow nor pass */
    T_EQ_INT(vfy_times("\"exp\":-9223372036854775808", 0, false), GH_EEXPIRED);
    T_EQ_INT(vfy_times("\"exp\":9223372036854775807", INT64_MAX, false), GH_OK);
    T_EQ_INT(vfy_times("\"exp\":99999999999999999999", 0, false), GH_EINVAL);
}

static void
test_nbf_iat_checked_with_leeway(void)
{
    char m[128];

    snprintf(m, sizeof(m), "\"exp\":%lld,\"nbf\":%lld", NOW + 300, NOW);
    T_EQ_INT(vfy_times(m, 0, false), GH_OK);
    snprintf(m, sizeof(m), "\"exp\":%lld,\"nbf\":%lld", NOW + 300, NOW + 1);
    T_EQ_INT(vfy_times(m, 0, false), GH_EDENIED);
    snprintf(m, sizeof(m), "\"exp\":%lld,\"nbf\":%lld", NOW + 300, NOW + 60);
    T_EQ_INT(vfy_times(m, 60, false), GH_OK);
    snprintf(m, sizeof(m), "\"exp\":%lld,\"nbf\":%lld", NOW + 300, NOW + 61);
    T_EQ_INT(vfy_times(m, 60, false), GH_EDENIED);
    /* allow_expired does not excuse a token that is not valid yet */
    T_EQ_INT(vfy_times(m, 60, true), GH_EDENIED);
    snprintf(m, sizeof(m), "\"exp\":%lld,\"iat\":%lld", NOW + 300, NOW + 60);
    T_EQ_INT(vfy_times(m, 60, false), GH_OK);
    snprintf(m, sizeof(m), "\"exp\":%lld,\"iat\":%lld", NOW + 300, NOW + 61);
    T_EQ_INT(vfy_times(m, 60, false), GH_EDENIED);
    T_EQ_INT(vfy_times(m, 60, true), GH_EDENIED);
    snprintf(m, sizeof(m), "\"exp\":%lld,\"iat\":%lld", NOW + 300, NOW - 86400);
    T_EQ_INT(vfy_times(m, 0, false), GH_OK);
    snprintf(m, sizeof(m), "\"exp\":%lld,\"nbf\":\"%lld\"", NOW + 300, NOW);
    T_EQ_INT(vfy_times(m, 0, false), GH_EINVAL);
    snprintf(m, sizeof(m), "\"exp\":%lld,\"iat\":%lld.0", NOW + 300, NOW);
    T_EQ_INT(vfy_times(m, 0, false), GH_EINVAL);
}

/* --- attacks ---------------------------------------------------------------------------- */

/* Change one base64url character of part (0..2) of tok, keeping it valid base64url. */
static void
flip_char(char *tok, int part, size_t off)
{
    char *s = tok;

    for (int i = 0; i < part; i++)
        s = strchr(s, '.') + 1;
    s[off] = s[off] == 'A' ? 'Q' : 'A'; /* differs in the high bits: never a stray-bit case */
}

static void
test_tampered_payload_refused(void)
{
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I}", "iss", ISS, "aud", AUD, "sub", "u1",
        "exp", (json_int_t)(NOW + 300));
    static const enum key_alg algs[] = { KEY_RS256, KEY_PS256, KEY_ES256, 0, 0 };

    for (size_t a = 0; a < 3; a++) {
        char *tok = NULL, *dot1, *dot2, *swapped, *p64;
        const char *evil = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"admin\","
                           "\"exp\":1800000000}";
        size_t n;

        T_EQ_INT(jwt_sign(ring, algs[a], "at+jwt", claims, &tok), GH_OK);
        T_EQ_INT(vfy(tok), GH_OK);
        /* a payload of the attacker's choosing under our header and signature */
        dot1 = strchr(tok, '.');
        dot2 = strchr(dot1 + 1, '.');
        p64 = b64url_encode_new((const unsigned char *)evil, strlen(evil));
        n = strlen(tok) + strlen(p64) + 1;
        swapped = malloc(n);
        T_ASSERT(swapped);
        snprintf(swapped, n, "%.*s.%s%s", (int)(dot1 - tok), tok, p64, dot2);
        T_EQ_INT(vfy(swapped), GH_EDENIED);
        free(swapped);
        free(p64);
        /* one character of the payload */
        flip_char(tok, 1, 3);
        T_EQ_INT(vfy(tok), GH_EDENIED);
        free(tok);
    }
    json_decref(claims);
}

static void
test_tampered_signature_refused(void)
{
    json_t *claims = json_pack("{s:s, s:s, s:I}", "iss", ISS, "aud", AUD, "exp",
        (json_int_t)(NOW + 300));
    static const enum key_alg algs[] = { KEY_RS256, KEY_PS256, KEY_ES256, 0, 0 };

    for (size_t a = 0; a < 3; a++) {
        char *tok = NULL;

        T_EQ_INT(jwt_sign(ring, algs[a], "at+jwt", claims, &tok), GH_OK);
        T_EQ_INT(vfy(tok), GH_OK);
        flip_char(tok, 2, 10);
        T_EQ_INT(vfy(tok), GH_EDENIED);
        free(tok);
        /* the signature of another token */
        {
            char *t1 = NULL, *t2 = NULL, *mix;
            size_t n;

            T_EQ_INT(jwt_sign(ring, algs[a], "at+jwt", claims, &t1), GH_OK);
            T_EQ_INT(jwt_sign(ring, algs[a], "JWT", claims, &t2), GH_OK);
            n = strlen(t1) + strlen(t2) + 1;
            mix = malloc(n);
            T_ASSERT(mix);
            snprintf(mix, n, "%.*s%s", (int)(strrchr(t1, '.') - t1), t1, strrchr(t2, '.'));
            T_EQ_INT(vfy(mix), GH_EDENIED);
            free(mix);
            free(t1);
            free(t2);
        }
    }
    json_decref(claims);
}

/* RFC 8725 §2.1: an unsecured JWT must not pass as a signed one. */
static void
test_alg_none_refused(void)
{
    static const char *const nones[] = { "none", "None", "NONE", "nOnE" };

    for (size_t i = 0; i < 4; i++) {
        T_EQ_INT(vfy_free(forge(hdr_of(nones[i], kid_rs), good_payload(), SIG_NONE, NULL)),
            GH_EDENIED);
        /* with a real signature attached it is still not an algorithm we know */
        T_EQ_INT(vfy_free(forge(hdr_of(nones[i], kid_rs), good_payload(), SIG_RS256,
                     pkey_of(kid_rs))), GH_EDENIED);
    }
    T_EQ_INT(vfy_free(forge("{\"alg\":\"none\"}", good_payload(), SIG_NONE, NULL)), GH_EDENIED);
    /* an empty signature with a good alg is malformed */
    T_EQ_INT(vfy_free(forge(hdr_of("RS256", kid_rs), good_payload(), SIG_NONE, NULL)),
        GH_EINVAL);
}

/* RFC 8725 §2.1 (the "HMAC with the public key" attack): HS256 keyed with our RSA public key as
 * a verifier that trusts the header's alg would see it. */
static void
test_hs256_with_public_key_refused(void)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *pem = NULL, *jwk = NULL, *h64, *p64, *tok;
    long pemlen;
    json_t *jwks = keys_ring_jwks(ring), *k;
    size_t i;

    T_ASSERT(b && PEM_write_bio_PUBKEY(b, pkey_of(kid_rs)) == 1);
    pemlen = BIO_get_mem_data(b, &pem);
    T_ASSERT(pemlen > 0);
    json_array_foreach(json_object_get(jwks, "keys"), i, k) {
        if (!strcmp(json_string_value(json_object_get(k, "kid")), kid_rs))
            jwk = json_dumps(k, JSON_COMPACT);
    }
    T_ASSERT(jwk);
    h64 = b64url_encode_new((const unsigned char *)hdr_of("HS256", kid_rs),
        strlen(hdr_of("HS256", kid_rs)));
    p64 = b64url_encode_new((const unsigned char *)good_payload(), strlen(good_payload()));
    tok = forge_raw(h64, p64, SIG_HS256, NULL, pem, (size_t)pemlen);
    T_EQ_INT(vfy(tok), GH_EDENIED);
    free(tok);
    tok = forge_raw(h64, p64, SIG_HS256, NULL, jwk, strlen(jwk));
    T_EQ_INT(vfy(tok), GH_EDENIED);
    free(tok);
    free(h64);
    /* HS384/HS512 and an unknown alg, likewise */
    h64 = b64url_encode_new((const unsigned char *)hdr_of("HS512", kid_rs),
        strlen(hdr_of("HS512", kid_rs)));
    tok = forge_raw(h64, p64, SIG_HS256, NULL, pem, (size_t)pemlen);
    T_EQ_INT(vfy(tok), GH_EDENIED);
    free(tok);
    free(h64);
    T_EQ_INT(vfy_free(forge(hdr_of("RS512", kid_rs), good_payload(), SIG_RS256,
                 pkey_of(kid_rs))), GH_EDENIED);
    T_EQ_INT(vfy_free(forge(hdr_of("rs256", kid_rs), good_payload(), SIG_RS256,
                 pkey_of(kid_rs))), GH_EDENIED);
    free(p64);
    free(jwk);
    json_decref(jwks);
    BIO_free(b);
}

/* The header's alg must be the alg of the key kid names: a valid PSS signature by the RS256
 * key is not accepted as PS256, and so on. */
static void
test_alg_switch_on_key_refused(void)
{
    /* controls: right alg for the key */
    T_EQ_INT(vfy_free(forge(hdr_of("RS256", kid_rs), good_payload(), SIG_RS256,
                 pkey_of(kid_rs))), GH_OK);
    T_EQ_INT(vfy_free(forge(hdr_of("PS256", kid_ps), good_payload(), SIG_PS256,
                 pkey_of(kid_ps))), GH_OK);
    /* RS256 key, PS256 header, genuine PSS signature by that key */
    T_EQ_INT(vfy_free(forge(hdr_of("PS256", kid_rs), good_payload(), SIG_PS256,
                 pkey_of(kid_rs))), GH_EDENIED);
    T_EQ_INT(vfy_free(forge(hdr_of("RS256", kid_ps), good_payload(), SIG_RS256,
                 pkey_of(kid_ps))), GH_EDENIED);
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", kid_rs), good_payload(), SIG_ES256,
                 pkey_of(kid_es))), GH_EDENIED);
    T_EQ_INT(vfy_free(forge(hdr_of("RS256", kid_es), good_payload(), SIG_RS256,
                 pkey_of(kid_rs))), GH_EDENIED);
}

/* A key outside the ring cannot borrow one of our kids. */
static void
test_foreign_key_with_our_kid_refused(void)
{
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

    T_ASSERT(rsa && ec);
    T_EQ_INT(vfy_free(forge(hdr_of("RS256", kid_rs), good_payload(), SIG_RS256, rsa)),
        GH_EDENIED);
    T_EQ_INT(vfy_free(forge(hdr_of("PS256", kid_ps), good_payload(), SIG_PS256, rsa)),
        GH_EDENIED);
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", kid_es), good_payload(), SIG_ES256, ec)),
        GH_EDENIED);
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", kid_es_old), good_payload(), SIG_ES256, ec)),
        GH_EDENIED);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

static void
test_unknown_or_missing_kid_refused(void)
{
    char h[256], longkid[200];

    /* a kid we do not have, in the right shape */
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"),
                 good_payload(), SIG_ES256, pkey_of(kid_es))), GH_EDENIED);
    /* a prefix of ours, ours plus a byte, empty, over-long */
    snprintf(h, sizeof(h), "%.*s", 42, kid_es);
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", h), good_payload(), SIG_ES256, pkey_of(kid_es))),
        GH_EDENIED);
    snprintf(h, sizeof(h), "%sA", kid_es);
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", h), good_payload(), SIG_ES256, pkey_of(kid_es))),
        GH_EDENIED);
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", ""), good_payload(), SIG_ES256, pkey_of(kid_es))),
        GH_EDENIED);
    memset(longkid, 'A', sizeof(longkid) - 1);
    longkid[sizeof(longkid) - 1] = '\0';
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", longkid), good_payload(), SIG_ES256,
                 pkey_of(kid_es))), GH_EDENIED);
    /* missing; not a string */
    T_EQ_INT(vfy_free(forge("{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}", good_payload(), SIG_ES256,
                 pkey_of(kid_es))), GH_EDENIED);
    snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":[\"%s\"],\"typ\":\"at+jwt\"}", kid_es);
    T_EQ_INT(vfy_free(forge(h, good_payload(), SIG_ES256, pkey_of(kid_es))), GH_EINVAL);
    /* an empty ring knows no kid */
    {
        struct keyring *empty = NULL;
        struct jwt_expect ex = expect();
        char err[64], *tok = forge(hdr_of("ES256", kid_es), good_payload(), SIG_ES256,
                                    pkey_of(kid_es));
        json_t *c = NULL;

        T_EQ_INT(keys_ring_load("/nonexistent", NULL, 0, &empty, err, sizeof(err)), GH_OK);
        T_EQ_INT(jwt_verify(empty, tok, strlen(tok), &ex, &c), GH_EDENIED);
        T_EQ_INT(jwt_verify(NULL, tok, strlen(tok), &ex, &c), GH_EDENIED);
        T_ASSERT(c == NULL);
        keys_ring_free(empty);
        free(tok);
    }
}

/* RFC 8725 §3.10: no key or key location from the token; crit and unknown members refused. */
static void
test_header_key_members_refused(void)
{
    static const char *const extra[] = {
        ",\"jwk\":{\"kty\":\"EC\"}", ",\"jku\":\"https://evil.example/jwks\"",
        ",\"x5u\":\"https://evil.example/cert\"", ",\"x5c\":[\"MIIB\"]", ",\"crit\":[\"exp\"]",
        ",\"crit\":[]", ",\"b64\":false", ",\"cty\":\"JWT\"", ",\"zip\":\"DEF\"",
        ",\"x5t\":\"abc\"", ",\"kid2\":\"x\"", ",\"jwk\":null",
    };
    char h[512];
    json_t *jwks = keys_ring_jwks(ring), *k;
    char *jwk = NULL;
    size_t i;

    /* control */
    snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", kid_es);
    T_EQ_INT(vfy_free(forge(h, good_payload(), SIG_ES256, pkey_of(kid_es))), GH_OK);
    for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"at+jwt\"%s}",
            kid_es, extra[i]);
        if (vfy_free(forge(h, good_payload(), SIG_ES256, pkey_of(kid_es))) != GH_EDENIED)
            T_FAIL_("header member accepted: %s", extra[i]);
    }
    /* even our own public key, embedded */
    json_array_foreach(json_object_get(jwks, "keys"), i, k) {
        if (!strcmp(json_string_value(json_object_get(k, "kid")), kid_es))
            jwk = json_dumps(k, JSON_COMPACT);
    }
    T_ASSERT(jwk);
    snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"jwk\":%s}",
        kid_es, jwk);
    T_EQ_INT(vfy_free(forge(h, good_payload(), SIG_ES256, pkey_of(kid_es))), GH_EDENIED);
    free(jwk);
    json_decref(jwks);
}

/* RFC 8725 §3.9 / RFC 7515 §4: duplicate member names are refused, not resolved. */
static void
test_duplicate_members_refused(void)
{
    char h[256], p[256];

    snprintf(h, sizeof(h),
        "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"alg\":\"ES256\"}", kid_es);
    T_EQ_INT(vfy_free(forge(h, good_payload(), SIG_ES256, pkey_of(kid_es))), GH_EINVAL);
    snprintf(h, sizeof(h), "{\"alg\":\"none\",\"alg\":\"ES256\",\"kid\":\"%s\"}", kid_es);
    T_EQ_INT(vfy_free(forge(h, good_payload(), SIG_ES256, pkey_of(kid_es))), GH_EINVAL);
    /* payload: sub twice; exp twice (first one expired) */
    snprintf(p, sizeof(p), "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"u1\",\"sub\":"
        "\"admin\",\"exp\":%lld}", NOW + 300);
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", kid_es), p, SIG_ES256, pkey_of(kid_es))),
        GH_EINVAL);
    snprintf(p, sizeof(p), "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1,\"exp\":%lld}",
        NOW + 300);
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", kid_es), p, SIG_ES256, pkey_of(kid_es))),
        GH_EINVAL);
    /* control: the same payload without the duplicate */
    snprintf(p, sizeof(p), "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%lld}", NOW + 300);
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", kid_es), p, SIG_ES256, pkey_of(kid_es))), GH_OK);
}

/* Token length: GH_MAX_JWT_LEN is accepted, one byte more is not (checked before parsing). */
static void
test_oversize_token_refused(void)
{
    const char *hdr = hdr_of("ES256", kid_es);
    size_t h64 = b64url_enc_len(strlen(hdr)), s64 = b64url_enc_len(64), base, pad = 0, len;
    char *p = malloc(GH_MAX_JWT_LEN), *tok;
    int found = 0;

    T_ASSERT(p);
    /* payload {"aud":..,"exp":..,"pad":"aaa…"}: find the pad giving the longest token within
     * the bound, then one that goes over */
    base = (size_t)snprintf(p, GH_MAX_JWT_LEN, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
        "\"exp\":%lld,\"pad\":\"\"}", NOW + 300);
    for (pad = 0; pad < GH_MAX_JWT_LEN; pad++) {
        len = h64 + 1 + b64url_enc_len(base + pad) + 1 + s64;
        if (len > GH_MAX_JWT_LEN)
            break;
        found = 1;
    }
    T_ASSERT(found && pad > 0);
    for (int over = 0; over < 2; over++) {
        size_t padn = pad - 1 + (size_t)over;
        int n = snprintf(p, GH_MAX_JWT_LEN, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
            "\"exp\":%lld,\"pad\":\"%*s\"}", NOW + 300, (int)padn, "");
        T_ASSERT(n > 0 && (size_t)n < GH_MAX_JWT_LEN);
        tok = forge(hdr, p, SIG_ES256, pkey_of(kid_es));
        T_ASSERT(over ? strlen(tok) > GH_MAX_JWT_LEN : strlen(tok) <= GH_MAX_JWT_LEN);
        T_EQ_INT(vfy(tok), over ? GH_EINVAL : GH_OK);
        free(tok);
    }
    free(p);
    /* len is what counts, not the NUL: a valid token passed with a huge length */
    {
        struct jwt_expect ex = expect();
        json_t *c = NULL;
        char *big = calloc(1, 20000);

        tok = forge(hdr, good_payload(), SIG_ES256, pkey_of(kid_es));
        T_ASSERT(big);
        memcpy(big, tok, strlen(tok));
        T_EQ_INT(jwt_verify(ring, big, 20000, &ex, &c), GH_EINVAL);
        T_EQ_INT(jwt_verify(ring, tok, 0, &ex, &c), GH_EINVAL);
        /* and a NUL inside len is not base64url */
        T_EQ_INT(jwt_verify(ring, tok, strlen(tok) + 1, &ex, &c), GH_EINVAL);
        T_EQ_INT(jwt_verify(ring, tok, strlen(tok), &ex, &c), GH_OK);
        json_decref(c);
        free(big);
        free(tok);
    }
}

static void
test_wrong_number_of_parts_refused(void)
{
    char *tok = forge(hdr_of("ES256", kid_es), good_payload(), SIG_ES256, pkey_of(kid_es));
    char buf[4096];
    const char *last = strrchr(tok, '.');

    T_EQ_INT(vfy(tok), GH_OK);
    /* two parts */
    snprintf(buf, sizeof(buf), "%.*s", (int)(last - tok), tok);
    T_EQ_INT(vfy(buf), GH_EINVAL);
    /* four, five (a JWE shape), a trailing or leading dot */
    snprintf(buf, sizeof(buf), "%s.AAAA", tok);
    T_EQ_INT(vfy(buf), GH_EINVAL);
    snprintf(buf, sizeof(buf), "%s.AAAA.AAAA", tok);
    T_EQ_INT(vfy(buf), GH_EINVAL);
    snprintf(buf, sizeof(buf), "%s.", tok);
    T_EQ_INT(vfy(buf), GH_EINVAL);
    snprintf(buf, sizeof(buf), ".%s", tok);
    T_EQ_INT(vfy(buf), GH_EINVAL);
    T_EQ_INT(vfy("."), GH_EINVAL);
    T_EQ_INT(vfy(".."), GH_EINVAL);
    T_EQ_INT(vfy("..."), GH_EINVAL);
    T_EQ_INT(vfy("eyJhbGciOiJFUzI1NiJ9"), GH_EINVAL);
    free(tok);
}

static void
test_non_object_payload_refused(void)
{
    static const char *const bad[] = { "[1,2]", "\"str\"", "123", "null", "true", "",
        "{\"exp\":1800000000", "{\"exp\":1800000000} x", "\xff\xfe" };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (vfy_free(forge(hdr_of("ES256", kid_es), bad[i], SIG_ES256, pkey_of(kid_es))) !=
            GH_EINVAL)
            T_FAIL_("payload accepted: %s", bad[i]);
    }
    /* non-object header */
    T_EQ_INT(vfy_free(forge("[\"ES256\"]", good_payload(), SIG_ES256, pkey_of(kid_es))),
        GH_EINVAL);
}

/* RFC 7515 §2: base64url without padding; the standard alphabet or padding is malformed, even
 * when the signature covers exactly those characters. */
static void
test_base64url_must_be_strict(void)
{
    const char *hdr = hdr_of("ES256", kid_es);
    char *h64 = b64url_encode_new((const unsigned char *)hdr, strlen(hdr));
    char *p64 = b64url_encode_new((const unsigned char *)good_payload(), strlen(good_payload()));
    char hp[512], pp[1024], *tok;
    size_t hn = strlen(h64), pn = strlen(p64);

    T_ASSERT(hn % 4 != 0 || pn % 4 != 0);
    /* control */
    tok = forge_raw(h64, p64, SIG_ES256, pkey_of(kid_es), NULL, 0);
    T_EQ_INT(vfy(tok), GH_OK);
    /* '=' padding on the signature part */
    {
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s=", tok);
        T_EQ_INT(vfy(buf), GH_EINVAL);
        snprintf(buf, sizeof(buf), "%s==", tok);
        T_EQ_INT(vfy(buf), GH_EINVAL);
    }
    free(tok);
    /* padding on header / payload, signed as such */
    snprintf(hp, sizeof(hp), "%s%.*s", h64, (int)((4 - hn % 4) % 4), "===");
    snprintf(pp, sizeof(pp), "%s%.*s", p64, (int)((4 - pn % 4) % 4), "===");
    if (hn % 4) {
        tok = forge_raw(hp, p64, SIG_ES256, pkey_of(kid_es), NULL, 0);
        T_EQ_INT(vfy(tok), GH_EINVAL);
        free(tok);
    }
    if (pn % 4) {
        tok = forge_raw(h64, pp, SIG_ES256, pkey_of(kid_es), NULL, 0);
        T_EQ_INT(vfy(tok), GH_EINVAL);
        free(tok);
    }
    /* whitespace, and the standard alphabet's '+' */
    snprintf(pp, sizeof(pp), "%.*s %s", 4, p64, p64 + 4);
    tok = forge_raw(h64, pp, SIG_ES256, pkey_of(kid_es), NULL, 0);
    T_EQ_INT(vfy(tok), GH_EINVAL);
    free(tok);
    snprintf(pp, sizeof(pp), "%s", p64);
    pp[4] = '+';
    tok = forge_raw(h64, pp, SIG_ES256, pkey_of(kid_es), NULL, 0);
    T_EQ_INT(vfy(tok), GH_EINVAL);
    free(tok);
    free(h64);
    free(p64);
}

/* RFC 7518 §3.4: a DER-encoded ECDSA signature is not a JWS ES256 signature. */
static void
test_es256_der_signature_refused(void)
{
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", kid_es), good_payload(), SIG_ES256,
                 pkey_of(kid_es))), GH_OK);
    T_EQ_INT(vfy_free(forge(hdr_of("ES256", kid_es), good_payload(), SIG_ES256_DER,
                 pkey_of(kid_es))), GH_EDENIED);
}

/* The other valid S for the same R: refused, so a token has only one valid spelling. */
static void
test_es256_high_s_refused(void)
{
    char *tok = forge(hdr_of("ES256", kid_es), good_payload(), SIG_ES256_HIGH_S,
        pkey_of(kid_es));

    /* it is a genuine signature (cjose does not care about S) ... */
    T_ASSERT(cjose_verifies(tok, kid_es));
    /* ... that we refuse */
    T_EQ_INT(vfy(tok), GH_EDENIED);
    free(tok);
}

/* An RSA signature one byte short (leading zero dropped) or long is not the modulus length. */
static void
test_rsa_signature_length_exact(void)
{
    char *tok = forge(hdr_of("RS256", kid_rs), good_payload(), SIG_RS256, pkey_of(kid_rs));
    char *dot = strrchr(tok, '.'), buf[2048], *s64;
    unsigned char sig[300], longer[300];
    size_t n;

    T_EQ_INT(b64url_decode(dot + 1, strlen(dot + 1), sig, sizeof(sig), &n), GH_OK);
    T_EQ_INT(n, 256);
    longer[0] = 0;
    memcpy(longer + 1, sig, n);
    s64 = b64url_encode_new(longer, n + 1);
    snprintf(buf, sizeof(buf), "%.*s.%s", (int)(dot - tok), tok, s64);
    T_EQ_INT(vfy(buf), GH_EDENIED);
    free(s64);
    s64 = b64url_encode_new(sig, n - 1);
    snprintf(buf, sizeof(buf), "%.*s.%s", (int)(dot - tok), tok, s64);
    T_EQ_INT(vfy(buf), GH_EDENIED);
    free(s64);
    free(tok);
}

/* --- at_hash / c_hash ------------------------------------------------------------------- */

static void
test_half_hash_vectors(void)
{
    char out[JWT_AT_HASH_LEN + 1];
    static const char code[] = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
    static const char at[] = "dNZX1hEZ9wBCzNL40Upu646bdzQA";

    /* OIDC Core 1.0 Appendix A.4: this code has c_hash "LDktKdoQak3Pk0cnXxCltA" (RS256) */
    jwt_half_hash(code, strlen(code), out);
    T_EQ_STR(out, "LDktKdoQak3Pk0cnXxCltA");
    /* printf %s dNZX1hEZ9wBCzNL40Upu646bdzQA | openssl dgst -sha256 -binary | head -c 16 |
     *   base64 | tr '+/' '-_' | tr -d '='   ->  wfgvmE9VxjAudsl9lc6TqA */
    jwt_half_hash(at, strlen(at), out);
    T_EQ_STR(out, "wfgvmE9VxjAudsl9lc6TqA");
    T_EQ_INT(strlen(out), JWT_AT_HASH_LEN);
    /* the same pipeline on empty input -> 47DEQpj8HBSa-_TImW-5JA */
    jwt_half_hash("", 0, out);
    T_EQ_STR(out, "47DEQpj8HBSa-_TImW-5JA");
    /* len, not the NUL, decides */
    jwt_half_hash(at, 4, out);
    T_ASSERT(strcmp(out, "wfgvmE9VxjAudsl9lc6TqA") != 0);
}

/* --- setup ------------------------------------------------------------------------------ */

static int
make_ring(void)
{
    char err[512], dir[128];
    struct key_ref refs[4];

    snprintf(dir, sizeof(dir), "%s/keys", root);
    if (keys_generate(dir, KEY_ES256, kid_es_old, err, sizeof(err)) != GH_OK ||
        keys_generate(dir, KEY_RS256, kid_rs, err, sizeof(err)) != GH_OK ||
        keys_generate(dir, KEY_PS256, kid_ps, err, sizeof(err)) != GH_OK ||
        keys_generate(dir, KEY_ES256, kid_es, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "keys_generate: %s\n", err);
        return -1;
    }
    refs[0] = (struct key_ref){ kid_es_old, KEY_ES256, 1, 0, 0 };
    refs[1] = (struct key_ref){ kid_rs, KEY_RS256, 2, 0, 0 };
    refs[2] = (struct key_ref){ kid_ps, KEY_PS256, 3, 0, 0 };
    refs[3] = (struct key_ref){ kid_es, KEY_ES256, 4, 0, 0 };
    if (keys_ring_load(dir, refs, 4, &ring, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "keys_ring_load: %s\n", err);
        return -1;
    }
    return 0;
}

int
main(void)
{
    t_init("jwt");
    snprintf(root, sizeof(root), "/tmp/gh-test-jwt-XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    if (make_ring() != 0) {
        rm_rf(root);
        printf("unit jwt: 0 passed, 1 failed\n");
        return 1;
    }
    T_RUN(test_round_trip_each_alg);
    T_RUN(test_jwks_alg_matches_signing_alg);
    T_RUN(test_es256_signatures_are_low_s);
    T_RUN(test_rotated_key_still_verifies);
    T_RUN(test_sign_refusals);
    T_RUN(test_typ_checked_per_rfc7515);
    T_RUN(test_iss_checked_exactly);
    T_RUN(test_aud_string_or_array);
    T_RUN(test_exp_required_and_checked_with_leeway);
    T_RUN(test_nbf_iat_checked_with_leeway);
    T_RUN(test_tampered_payload_refused);
    T_RUN(test_tampered_signature_refused);
    T_RUN(test_alg_none_refused);
    T_RUN(test_hs256_with_public_key_refused);
    T_RUN(test_alg_switch_on_key_refused);
    T_RUN(test_foreign_key_with_our_kid_refused);
    T_RUN(test_unknown_or_missing_kid_refused);
    T_RUN(test_header_key_members_refused);
    T_RUN(test_duplicate_members_refused);
    T_RUN(test_oversize_token_refused);
    T_RUN(test_wrong_number_of_parts_refused);
    T_RUN(test_non_object_payload_refused);
    T_RUN(test_base64url_must_be_strict);
    T_RUN(test_es256_der_signature_refused);
    T_RUN(test_es256_high_s_refused);
    T_RUN(test_rsa_signature_length_exact);
    T_RUN(test_half_hash_vectors);
    keys_ring_free(ring);
    rm_rf(root);
    return t_done();
}
