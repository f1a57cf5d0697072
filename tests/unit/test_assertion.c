/* test_assertion.c — JWT client assertions (oidc/assertion.c, the client-JWT half of
 * crypto/jwt.c, and their use in oidc/client_auth.c): client_secret_jwt and private_key_jwt
 * (RFC 7523 §2.2, §3; OIDC Core §9) and the attacks of SECURITY.md J2-J8 — alg none, an HMAC
 * keyed with the client's public key in every encoding, alg/key-type mismatch, hostile or
 * foreign kids, keys named by the header, the claim matrix, jti replay, tampering, and the
 * token-endpoint rules around them (parameter conflicts, size, one answer for every failure).
 * Tokens are signed here with OpenSSL directly, never by jwt.c, so each refusal has only the
 * property under test as its cause; every attack has a control that passes. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/jwt.h"
#include "crypto/secret.h"
#include "model/client.h"
#include "oidc/assertion.h"
#include "oidc/client_auth.h"
#include "store/store.h"
#include "t.h"
#include "util/b64url.h"
#include "util/clock.h"

#define ISSUER   "https://id.example"
#define TOKEN_EP ISSUER "/token"
#define NOW      1700000000LL
#define JWT_BEARER "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
/* 64 and 43 characters: HS512 needs a 64-byte key, HS384 48, HS256 32 (RFC 7518 §3.2) */
#define SECRET64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SECRET43 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
#define SECRET_B "basic-client-secret-0123456789abcdef"

static char tmpdir[64];
static struct secrets *sec;
static struct store *st;
static EVP_PKEY *rsa1, *rsa2, *rsa_small, *ec1, *ec2;
/* pk: r1 (RSA), e1 (EC), r2 (RSA, alg RS256 only); pk1: one EC key without kid;
 * other: ec2 as "other"; small: a 1024-bit RSA key (never accepted at registration) */
static char *jwks_pk, *jwks_pk1, *jwks_other, *jwks_small;
static unsigned jti_seq;

/* --- building tokens ------------------------------------------------------------------- */

enum sg {
    SG_NONE, SG_HS256, SG_HS384, SG_HS512, SG_RS256, SG_PS256, SG_ES256, SG_ES256_HIGH_S,
    SG_ES256_DER,
};

static char *
b64(const void *p, size_t n)
{
    char *s = b64url_encode_new(p, n);

    T_ASSERT(s);
    return s;
}

/* The raw signature over input, made with OpenSSL (and BN arithmetic for the S flip). */
static unsigned char *
raw_sign(const char *input, enum sg m, EVP_PKEY *pk, const void *key, size_t keylen,
    size_t *siglen)
{
    static const char *const digests[] = { [SG_HS256] = "SHA256", [SG_HS384] = "SHA384",
        [SG_HS512] = "SHA512" };
    unsigned char *sig = calloc(1, 2048);
    size_t n = 2048;

    T_ASSERT(sig);
    *siglen = 0;
    if (m == SG_NONE)
        return sig;
    if (m == SG_HS256 || m == SG_HS384 || m == SG_HS512) {
        T_ASSERT(EVP_Q_mac(NULL, "HMAC", NULL, digests[m], NULL, key, keylen,
                     (const unsigned char *)input, strlen(input), sig, 64, siglen) != NULL);
        return sig;
    }
    {
        EVP_MD_CTX *mc = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pc = NULL;

        T_ASSERT(mc && pk);
        T_ASSERT(EVP_DigestSignInit(mc, &pc, EVP_sha256(), NULL, pk) == 1);
        if (m == SG_PS256) {
            T_ASSERT(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1);
            T_ASSERT(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32) == 1);
        }
        T_ASSERT(EVP_DigestSign(mc, sig, &n, (const unsigned char *)input, strlen(input)) == 1);
        EVP_MD_CTX_free(mc);
    }
    if (m == SG_ES256 || m == SG_ES256_HIGH_S) {
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
        EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
        BIGNUM *half = BN_new(), *s2 = BN_new();
        const BIGNUM *r, *s;
        bool high;

        T_ASSERT(es && g && half && s2);
        ECDSA_SIG_get0(es, &r, &s);
        T_ASSERT(BN_rshift1(half, EC_GROUP_get0_order(g)) == 1);
        high = BN_cmp(s, half) > 0;
        /* normalise to low S, then flip for the high-S spelling */
        if (high != (m == SG_ES256_HIGH_S))
            T_ASSERT(BN_sub(s2, EC_GROUP_get0_order(g), s) == 1);
        else
            T_ASSERT(BN_copy(s2, s) != NULL);
        T_ASSERT(BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s2, sig + 32, 32) == 32);
        n = 64;
        ECDSA_SIG_free(es);
        BN_free(half);
        BN_free(s2);
        EC_GROUP_free(g);
    }
    *siglen = n;
    return sig;
}

/* hdr (JSON text) . payload (JSON text) . signature; caller frees. */
static char *
tok_raw(const char *hdr, const char *payload, enum sg m, EVP_PKEY *pk, const void *key,
    size_t keylen)
{
    char *h = b64(hdr, strlen(hdr)), *p = b64(payload, strlen(payload)), *s, *input, *out;
    unsigned char *sig;
    size_t siglen, n = strlen(h) + strlen(p) + 2;

    input = malloc(n);
    T_ASSERT(input);
    snprintf(input, n, "%s.%s", h, p);
    sig = raw_sign(input, m, pk, key, keylen, &siglen);
    s = siglen ? b64(sig, siglen) : strdup("");
    n += strlen(s) + 1;
    out = malloc(n);
    T_ASSERT(out && s);
    snprintf(out, n, "%s.%s", input, s);
    free(h);
    free(p);
    free(s);
    free(sig);
    free(input);
    return out;
}

/* The claims a good assertion for id carries at now: a fresh jti each call. */
static json_t *
claims(const char *id, int64_t now)
{
    char jti[32];

    snprintf(jti, sizeof(jti), "jti-%u", ++jti_seq);
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", id, "sub", id, "aud", TOKEN_EP,
        "exp", (json_int_t)(now + 60), "iat", (json_int_t)now, "jti", jti);
}

/* Like tok_raw, with the claims as an object (consumed). */
static char *
tok(const char *hdr, json_t *cl, enum sg m, EVP_PKEY *pk, const char *secret)
{
    char *p = json_dumps(cl, JSON_COMPACT), *t;

    T_ASSERT(p);
    t = tok_raw(hdr, p, m, pk, secret, secret ? strlen(secret) : 0);
    free(p);
    json_decref(cl);
    return t;
}

static char *
hs(const char *id, const char *secret, int64_t now)
{
    return tok("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims(id, now), SG_HS256, NULL, secret);
}

/* --- keys and JWKS ---------------------------------------------------------------------- */

static json_t *
jwk_obj(EVP_PKEY *pk, const char *kid, const char *alg)
{
    json_t *o;

    if (EVP_PKEY_is_a(pk, "RSA")) {
        BIGNUM *n = NULL, *e = NULL;
        unsigned char nb[1024], eb[8];
        int nl, el;
        char *ns, *es;

        T_ASSERT(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
        T_ASSERT(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) == 1);
        nl = BN_bn2bin(n, nb);
        el = BN_bn2bin(e, eb);
        ns = b64(nb, (size_t)nl);
        es = b64(eb, (size_t)el);
        o = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", ns, "e", es);
        free(ns);
        free(es);
        BN_free(n);
        BN_free(e);
    } else {
        unsigned char pt[65];
        size_t pl = 0;
        char *x, *y;

        T_ASSERT(EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt),
                     &pl) == 1 && pl == 65);
        x = b64(pt + 1, 32);
        y = b64(pt + 33, 32);
        o = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", x, "y", y);
        free(x);
        free(y);
    }
    T_ASSERT(o);
    if (kid)
        json_object_set_new(o, "kid", json_string(kid));
    if (alg)
        json_object_set_new(o, "alg", json_string(alg));
    return o;
}

/* {"keys":[...]} from up to three JWK objects (consumed); caller frees the text. */
static char *
jwks_text(json_t *a, json_t *b, json_t *c)
{
    json_t *keys = json_array(), *doc;
    char *s;

    json_array_append_new(keys, a);
    if (b)
        json_array_append_new(keys, b);
    if (c)
        json_array_append_new(keys, c);
    doc = json_pack("{s:o}", "keys", keys);
    s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    T_ASSERT(s);
    return s;
}

/* --- calling the code under test -------------------------------------------------------- */

static int
parse_rc(const char *t, int64_t now)
{
    struct assertion *a = (struct assertion *)1;
    const char *why = NULL;
    int rc = assertion_parse(t, strlen(t), ISSUER, now, 30, &a, &why);

    T_ASSERT(rc == GH_OK ? a != NULL : a == NULL && why != NULL);
    assertion_free(a);
    return rc;
}

/* Parse must pass (the claims are good), so a refusal is the signature check's. */
static int
verify_rc(const char *t, const struct client *c)
{
    struct assertion *a = NULL;
    const char *why = NULL;
    int rc;

    T_EQ_INT(assertion_parse(t, strlen(t), ISSUER, NOW, 30, &a, &why), GH_OK);
    why = NULL;
    rc = assertion_verify(a, c, sec, &why);
    T_ASSERT(rc == GH_OK || why != NULL);
    assertion_free(a);
    return rc;
}

static struct client *
hs_client(const char *id, const char *secret)
{
    struct client *c = calloc(1, sizeof(*c));

    T_ASSERT(c);
    c->client_id = strdup(id);
    c->auth_method = CLIENT_AUTH_SECRET_JWT;
    T_EQ_INT(sec_seal(sec, id, secret, strlen(secret), &c->secret_sealed, &c->secret_sealed_len),
        GH_OK);
    return c;
}

static struct client *
pk_client(const char *id, const char *jwks)
{
    struct client *c = calloc(1, sizeof(*c));

    T_ASSERT(c);
    c->client_id = strdup(id);
    c->auth_method = CLIENT_AUTH_PRIVATE_KEY_JWT;
    c->jwks = strdup(jwks);
    return c;
}

/* client_auth with an assertion only (issuer set as the endpoint sets it). */
static int
auth_assertion(const char *assertion, struct oauth_err *oe, char **got_id)
{
    struct client_creds cr = { .assertion = assertion, .assertion_type = JWT_BEARER,
        .issuer = ISSUER };
    struct client *c = NULL;
    bool basic = true;
    int rc;

    *oe = (struct oauth_err){ 0 };
    rc = client_auth(st, sec, &cr, &c, &basic, oe);
    T_ASSERT(!basic);
    T_ASSERT(rc == GH_OK ? c != NULL : c == NULL);
    if (got_id)
        *got_id = c ? strdup(c->client_id) : NULL;
    client_free(c);
    return rc;
}

#define T_INVALID_CLIENT(oe)                                                                   \
    do {                                                                                       \
        T_EQ_INT((oe).status, 401);                                                            \
        T_EQ_STR((oe).code, "invalid_client");                                                 \
        T_EQ_STR((oe).desc, "client authentication failed");                                   \
    } while (0)

/* --- structure and header --------------------------------------------------------------- */

static void
test_good_assertions_parse(void)
{
    static const char *const hdrs[] = { "{\"alg\":\"HS256\"}", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS256\",\"typ\":\"application/jwt\"}",
        "{\"alg\":\"HS256\",\"typ\":\"client-authentication+jwt\"}",
        "{\"alg\":\"HS256\",\"kid\":\"k\",\"x5t\":\"abc\",\"x5t#S256\":\"def\"}" };
    struct assertion *a = NULL;
    const char *why = NULL;
    char *t;

    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        t = tok(hdrs[i], claims("hs", NOW), SG_HS256, NULL, SECRET64);
        T_EQ_INT(parse_rc(t, NOW), GH_OK);
        free(t);
    }
    t = hs("hs", SECRET64, NOW);
    T_EQ_INT(assertion_parse(t, strlen(t), ISSUER, NOW, 30, &a, &why), GH_OK);
    T_EQ_STR(assertion_client_id(a), "hs");
    T_ASSERT(strncmp(assertion_jti(a), "jti-", 4) == 0);
    T_EQ_STR(assertion_alg(a), "HS256");
    assertion_free(a);
    free(t);
}

/* J2: none and anything off the allow-list, before any key is looked at */
static void
test_alg_none_and_unknown_algs_refused(void)
{
    static const char *const algs[] = { "none", "None", "NONE", "hs256", "RS512", "ES384",
        "ES256K", "EdDSA", "PS384", "HS1", "", "RS256 " };
    char hdr[64], *t;

    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", algs[i]);
        t = tok(hdr, claims("hs", NOW), SG_NONE, NULL, NULL);
        T_ASSERT(parse_rc(t, NOW) != GH_OK);
        free(t);
        /* with a signature that is the HMAC of the input, still refused: the alg decides */
        t = tok(hdr, claims("hs", NOW), SG_HS256, NULL, SECRET64);
        T_ASSERT(parse_rc(t, NOW) != GH_OK);
        free(t);
    }
    /* alg missing or not a string */
    t = tok("{\"typ\":\"JWT\"}", claims("hs", NOW), SG_HS256, NULL, SECRET64);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    free(t);
    t = tok("{\"alg\":256}", claims("hs", NOW), SG_HS256, NULL, SECRET64);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    free(t);
    /* control */
    t = tok("{\"alg\":\"HS256\"}", claims("hs", NOW), SG_HS256, NULL, SECRET64);
    T_EQ_INT(parse_rc(t, NOW), GH_OK);
    free(t);
}

/* J4, J8, J9: keys or key URLs in the header, crit, JWE members, anything else unknown */
static void
test_header_members_refused(void)
{
    static const char *const hdrs[] = {
        "{\"alg\":\"HS256\",\"jku\":\"https://evil.example/jwks\"}",
        "{\"alg\":\"HS256\",\"x5u\":\"https://evil.example/cert\"}",
        "{\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}",
        "{\"alg\":\"HS256\",\"x5c\":[\"MIIB\"]}",
        "{\"alg\":\"HS256\",\"crit\":[\"foo\"],\"foo\":1}",
        "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}",
        "{\"alg\":\"HS256\",\"zip\":\"DEF\"}",
        "{\"alg\":\"HS256\",\"enc\":\"A128GCM\"}",
        "{\"alg\":\"HS256\",\"cty\":\"JWT\"}",
        "{\"alg\":\"HS256\",\"p2s\":\"AAAA\",\"p2c\":1000}",
        "{\"alg\":\"HS256\",\"alg\":\"none\"}",           /* J8: duplicate member */
        "{\"alg\":\"HS256\",\"kid\":7}",                  /* J3: kid a number, object */
        "{\"alg\":\"HS256\",\"kid\":{\"a\":1}}",
        "{\"alg\":\"HS256\",\"kid\":\"\"}",
        "{\"alg\":\"HS256\",\"typ\":7}",
        "[\"alg\",\"HS256\"]",
        "\"HS256\"",
    };
    char *t;

    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        t = tok(hdrs[i], claims("hs", NOW), SG_HS256, NULL, SECRET64);
        if (parse_rc(t, NOW) == GH_OK)
            T_FAIL_("accepted header %s", hdrs[i]);
        free(t);
    }
}

/* J3: a kid of 257 bytes or of 10 KB is refused; 256 is allowed */
static void
test_kid_length_bounded(void)
{
    char hdr[11000], *t;
    int n;

    n = snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%0256d\"}", 0);
    T_ASSERT(n > 0);
    t = tok(hdr, claims("hs", NOW), SG_HS256, NULL, SECRET64);
    T_EQ_INT(parse_rc(t, NOW), GH_OK);
    free(t);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%0257d\"}", 0);
    t = tok(hdr, claims("hs", NOW), SG_HS256, NULL, SECRET64);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    free(t);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%010000d\"}", 0);
    t = tok(hdr, claims("hs", NOW), SG_HS256, NULL, SECRET64);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    free(t);
}

/* J10 / RFC 8725 §3.11: a JWT typed as something else is not an assertion */
static void
test_typ_of_other_jwts_refused(void)
{
    static const char *const typs[] = { "at+jwt", "application/at+jwt", "logout+jwt",
        "secevent+jwt", "dpop+jwt", "JOSE" };
    char hdr[96], *t;

    for (size_t i = 0; i < sizeof(typs) / sizeof(typs[0]); i++) {
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":\"%s\"}", typs[i]);
        t = tok(hdr, claims("hs", NOW), SG_HS256, NULL, SECRET64);
        T_EQ_INT(parse_rc(t, NOW), GH_EDENIED);
        free(t);
    }
}

/* J7: the compact form is strict; over GH_MAX_JWT_LEN is refused before parsing */
static void
test_structure_tampering_refused(void)
{
    char *good = hs("hs", SECRET64, NOW), *t, *d2;
    size_t n = strlen(good), big = GH_MAX_JWT_LEN + 1;
    struct assertion *a = NULL;
    const char *why = NULL;

    T_EQ_INT(parse_rc(good, NOW), GH_OK);
    t = malloc(n + 16);
    T_ASSERT(t);
    /* 2 parts */
    d2 = strrchr(good, '.');
    memcpy(t, good, (size_t)(d2 - good));
    t[d2 - good] = '\0';
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    /* 4 and 5 parts; trailing dot */
    snprintf(t, n + 16, "%s.", good);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    snprintf(t, n + 16, "%s.AAAA", good);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    snprintf(t, n + 16, "%s.AAAA.AAAA", good);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    /* padding, whitespace, standard-alphabet characters, empty signature */
    snprintf(t, n + 16, "%s=", good);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    snprintf(t, n + 16, " %s", good);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    snprintf(t, n + 16, "%.*s\n%s", 5, good, good + 5);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    snprintf(t, n + 16, "%.*s+/", (int)(n - 2), good);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    snprintf(t, n + 16, "%.*s", (int)(d2 - good + 1), good);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    free(t);
    free(good);
    /* payload not an object; header/payload not JSON */
    t = tok_raw("{\"alg\":\"HS256\"}", "[1,2]", SG_HS256, NULL, SECRET64, 64);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    free(t);
    t = tok_raw("{\"alg\":\"HS256\"}", "{\"iss\":", SG_HS256, NULL, SECRET64, 64);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    free(t);
    /* the size bound comes first: any byte over it, even garbage */
    t = malloc(big + 1);
    T_ASSERT(t);
    memset(t, 'A', big);
    t[big] = '\0';
    T_EQ_INT(assertion_parse(t, big, ISSUER, NOW, 30, &a, &why), GH_ETOOBIG);
    T_ASSERT(a == NULL);
    free(t);
}

/* --- claims (RFC 7523 §3, SECURITY.md J5) ----------------------------------------------- */

static int
claims_rc(json_t *cl, int64_t now)
{
    char *t = tok("{\"alg\":\"HS256\"}", cl, SG_HS256, NULL, SECRET64);
    int rc = parse_rc(t, now);

    free(t);
    return rc;
}

static json_t *
with(json_t *cl, const char *name, json_t *v)
{
    if (v)
        json_object_set_new(cl, name, v);
    else
        json_object_del(cl, name);
    return cl;
}

static void
test_claims_iss_sub_must_both_name_the_client(void)
{
    char longid[GH_MAX_CLIENT_ID + 2];

    T_EQ_INT(claims_rc(claims("hs", NOW), NOW), GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "iss", NULL), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "sub", NULL), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "sub", json_string("pk")), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "iss", json_string("HS")), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "iss", json_integer(1)), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "iss", json_null()), NOW) != GH_OK);
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    T_ASSERT(claims_rc(claims(longid, NOW), NOW) != GH_OK);
}

static void
test_claims_aud_must_name_us(void)
{
    /* accepted: the token endpoint or the issuer, alone or in an array */
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "aud", json_string(ISSUER)), NOW), GH_OK);
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "aud",
                           json_pack("[s,s]", "https://other.example", TOKEN_EP)), NOW), GH_OK);
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "aud", json_pack("[s]", ISSUER)), NOW), GH_OK);
    /* refused */
    T_ASSERT(claims_rc(with(claims("hs", NOW), "aud", NULL), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "aud", json_string("")), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "aud", json_string(TOKEN_EP "/")), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "aud", json_string(ISSUER "/")), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "aud", json_string("http://id.example/token")),
                 NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "aud", json_string("HTTPS://ID.EXAMPLE/token")),
                 NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "aud", json_string(ISSUER "/introspect")),
                 NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "aud", json_array()), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "aud", json_pack("[s]", "https://x.example")),
                 NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "aud", json_pack("[s,i]", TOKEN_EP, 1)), NOW) !=
             GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "aud", json_integer(1)), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "aud", json_pack("{s:s}", "a", TOKEN_EP)), NOW) !=
             GH_OK);
}

static void
test_claims_exp_window(void)
{
    char *t;

    /* exp > now - 30 and <= now + 300 + 30 */
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "exp", json_integer(NOW - 29)), NOW), GH_OK);
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "exp", json_integer(NOW - 30)), NOW),
        GH_EEXPIRED);
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "exp", json_integer(NOW - 3600)), NOW),
        GH_EEXPIRED);
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "exp", json_integer(NOW + 330)), NOW), GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "exp", json_integer(NOW + 331)), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "exp", json_integer(INT64_MAX)), NOW) != GH_OK);
    /* J5: missing, string, float, negative, 1e308, 2^63 */
    T_ASSERT(claims_rc(with(claims("hs", NOW), "exp", NULL), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "exp", json_string("1700000060")), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "exp", json_real(1700000060.0)), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "exp", json_real(1e308)), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "exp", json_integer(-1)), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "exp", json_true()), NOW) != GH_OK);
    t = tok_raw("{\"alg\":\"HS256\"}",
        "{\"iss\":\"hs\",\"sub\":\"hs\",\"aud\":\"" TOKEN_EP "\",\"jti\":\"x\","
        "\"exp\":9223372036854775808}",
        SG_HS256, NULL, SECRET64, 64);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    free(t);
    /* J8 for claims: a duplicate exp */
    t = tok_raw("{\"alg\":\"HS256\"}",
        "{\"iss\":\"hs\",\"sub\":\"hs\",\"aud\":\"" TOKEN_EP "\",\"jti\":\"x\","
        "\"exp\":1700000060,\"exp\":1700000060}",
        SG_HS256, NULL, SECRET64, 64);
    T_ASSERT(parse_rc(t, NOW) != GH_OK);
    free(t);
}

static void
test_claims_iat_and_nbf(void)
{
    json_t *cl;

    /* iat: not after now + 30, not before now - 330; optional */
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "iat", NULL), NOW), GH_OK);
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "iat", json_integer(NOW + 30)), NOW), GH_OK);
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "iat", json_integer(NOW + 31)), NOW), GH_EDENIED);
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "iat", json_integer(NOW - 330)), NOW), GH_OK);
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "iat", json_integer(NOW - 331)), NOW), GH_EDENIED);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "iat", json_string("now")), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "iat", json_real(1.5)), NOW) != GH_OK);
    /* nbf: not after now + 30; optional */
    cl = with(claims("hs", NOW), "nbf", json_integer(NOW - 10));
    T_EQ_INT(claims_rc(cl, NOW), GH_OK);
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "nbf", json_integer(NOW + 30)), NOW), GH_OK);
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "nbf", json_integer(NOW + 31)), NOW), GH_EDENIED);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "nbf", json_string("0")), NOW) != GH_OK);
}

static void
test_claims_jti_required_and_bounded(void)
{
    char jti[300];

    T_ASSERT(claims_rc(with(claims("hs", NOW), "jti", NULL), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "jti", json_string("")), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "jti", json_integer(42)), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "jti", json_string("a\nb")), NOW) != GH_OK);
    T_ASSERT(claims_rc(with(claims("hs", NOW), "jti", json_string("a\x7f")), NOW) != GH_OK);
    memset(jti, 'j', 256);
    jti[256] = '\0';
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "jti", json_string(jti)), NOW), GH_OK);
    jti[256] = 'j';
    jti[257] = '\0';
    T_ASSERT(claims_rc(with(claims("hs", NOW), "jti", json_string(jti)), NOW) != GH_OK);
    /* hostile text is only data */
    T_EQ_INT(claims_rc(with(claims("hs", NOW), "jti", json_string("' OR '1'='1")), NOW), GH_OK);
}

/* --- signatures ------------------------------------------------------------------------- */

static void
test_hmac_algs_verify_with_the_client_secret(void)
{
    struct client *c = hs_client("hs", SECRET64), *c43 = hs_client("hs", SECRET43);
    char *t;

    t = tok("{\"alg\":\"HS256\"}", claims("hs", NOW), SG_HS256, NULL, SECRET64);
    T_EQ_INT(verify_rc(t, c), GH_OK);
    T_EQ_INT(verify_rc(t, c43), GH_EDENIED); /* another secret */
    free(t);
    t = tok("{\"alg\":\"HS384\"}", claims("hs", NOW), SG_HS384, NULL, SECRET64);
    T_EQ_INT(verify_rc(t, c), GH_OK);
    free(t);
    t = tok("{\"alg\":\"HS512\"}", claims("hs", NOW), SG_HS512, NULL, SECRET64);
    T_EQ_INT(verify_rc(t, c), GH_OK);
    free(t);
    /* the header says HS512 but the MAC is HS256: refused */
    t = tok("{\"alg\":\"HS512\"}", claims("hs", NOW), SG_HS256, NULL, SECRET64);
    T_EQ_INT(verify_rc(t, c), GH_EDENIED);
    free(t);
    /* RFC 7518 §3.2: a 43-byte secret keys HS256 only */
    t = tok("{\"alg\":\"HS256\"}", claims("hs", NOW), SG_HS256, NULL, SECRET43);
    T_EQ_INT(verify_rc(t, c43), GH_OK);
    free(t);
    t = tok("{\"alg\":\"HS384\"}", claims("hs", NOW), SG_HS384, NULL, SECRET43);
    T_EQ_INT(verify_rc(t, c43), GH_EDENIED);
    free(t);
    t = tok("{\"alg\":\"HS512\"}", claims("hs", NOW), SG_HS512, NULL, SECRET43);
    T_EQ_INT(verify_rc(t, c43), GH_EDENIED);
    free(t);
    client_free(c);
    client_free(c43);
}

/* J7: any change to what was signed, or to the signature, breaks it */
static void
test_tampered_tokens_refused(void)
{
    struct client *c = hs_client("hs", SECRET64), *p = pk_client("pk", jwks_pk);
    char *toks[2], *t;

    toks[0] = hs("hs", SECRET64, NOW);
    toks[1] = tok("{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims("pk", NOW), SG_RS256, rsa1, NULL);
    T_EQ_INT(verify_rc(toks[0], c), GH_OK);
    T_EQ_INT(verify_rc(toks[1], p), GH_OK);
    for (int k = 0; k < 2; k++) {
        const struct client *cl = k ? p : c;
        size_t n = strlen(toks[k]);
        char *d2 = strrchr(toks[k], '.');
        size_t sigpos = (size_t)(d2 - toks[k]) + 1;

        t = strdup(toks[k]);
        /* the signature's first character: a different value */
        t[sigpos] = t[sigpos] == 'A' ? 'B' : 'A';
        T_EQ_INT(verify_rc(t, cl), GH_EDENIED);
        free(t);
        /* the signature one byte short, and one byte long */
        for (int d = -1; d <= 1; d += 2) {
            unsigned char sig[1100];
            size_t sl = 0;
            char *s64;

            T_EQ_INT(b64url_decode(d2 + 1, n - sigpos, sig, sizeof(sig) - 1, &sl), GH_OK);
            sig[sl] = 0;
            s64 = b64(sig, (size_t)((long)sl + d));
            t = malloc(sigpos + strlen(s64) + 1);
            T_ASSERT(t);
            memcpy(t, toks[k], sigpos);
            memcpy(t + sigpos, s64, strlen(s64) + 1);
            T_EQ_INT(verify_rc(t, cl), GH_EDENIED);
            free(t);
            free(s64);
        }
    }
    /* a different claim under the old signature */
    {
        json_t *cl = claims("hs", NOW);
        char *p1 = json_dumps(cl, JSON_COMPACT), *p2, *h, *s;
        char *good = tok_raw("{\"alg\":\"HS256\"}", p1, SG_HS256, NULL, SECRET64, 64);
        size_t n;

        json_object_set_new(cl, "exp", json_integer(NOW + 61));
        p2 = json_dumps(cl, JSON_COMPACT);
        h = b64("{\"alg\":\"HS256\"}", 15);
        s = b64(p2, strlen(p2));
        n = strlen(good) + 64;
        t = malloc(n);
        T_ASSERT(t);
        snprintf(t, n, "%s.%s%s", h, s, strrchr(good, '.'));
        T_EQ_INT(verify_rc(t, c), GH_EDENIED);
        free(t);
        free(s);
        free(h);
        free(p2);
        free(p1);
        free(good);
        json_decref(cl);
    }
    free(toks[0]);
    free(toks[1]);
    client_free(c);
    client_free(p);
}

static void
test_public_key_algs_verify_with_the_registered_jwks(void)
{
    struct client *p = pk_client("pk", jwks_pk);
    char *t;

    t = tok("{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims("pk", NOW), SG_RS256, rsa1, NULL);
    T_EQ_INT(verify_rc(t, p), GH_OK);
    free(t);
    t = tok("{\"alg\":\"PS256\",\"kid\":\"r1\"}", claims("pk", NOW), SG_PS256, rsa1, NULL);
    T_EQ_INT(verify_rc(t, p), GH_OK);
    free(t);
    t = tok("{\"alg\":\"ES256\",\"kid\":\"e1\",\"typ\":\"JWT\"}", claims("pk", NOW), SG_ES256,
        ec1, NULL);
    T_EQ_INT(verify_rc(t, p), GH_OK);
    free(t);
    /* clients' ECDSA signers do not normalise S: both spellings are valid ES256 */
    t = tok("{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims("pk", NOW), SG_ES256_HIGH_S, ec1, NULL);
    T_EQ_INT(verify_rc(t, p), GH_OK);
    free(t);
    /* RFC 7518 §3.4: R||S only, never DER */
    t = tok("{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims("pk", NOW), SG_ES256_DER, ec1, NULL);
    T_EQ_INT(verify_rc(t, p), GH_EDENIED);
    free(t);
    /* PKCS#1 v1.5 signature labelled PS256, PSS labelled RS256 */
    t = tok("{\"alg\":\"PS256\",\"kid\":\"r1\"}", claims("pk", NOW), SG_RS256, rsa1, NULL);
    T_EQ_INT(verify_rc(t, p), GH_EDENIED);
    free(t);
    t = tok("{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims("pk", NOW), SG_PS256, rsa1, NULL);
    T_EQ_INT(verify_rc(t, p), GH_EDENIED);
    free(t);
    /* signed by another key than the one kid names */
    t = tok("{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims("pk", NOW), SG_RS256, rsa2, NULL);
    T_EQ_INT(verify_rc(t, p), GH_EDENIED);
    free(t);
    client_free(p);
}

/* J2, the classic: HS256 "signed" with the client's public key in each encoding an attacker
 * could guess. Each token is a genuine HMAC under that key (control), yet never accepted,
 * because a private_key_jwt client's key source is its JWKS, and a JWKS verifies no HMAC. */
struct keybytes {
    const void *key;
    size_t len;
};

static void
test_hs256_keyed_with_the_public_key_refused(void)
{
    static const char *const hdrs[] = { "{\"alg\":\"HS256\",\"kid\":\"r1\"}",
        "{\"alg\":\"HS256\"}" };
    struct client *p = pk_client("pk", jwks_pk), *p1 = pk_client("pk1", jwks_pk1);
    unsigned char *spki = NULL, *pkcs1 = NULL, nbuf[512];
    char *pem = NULL, *jwk_txt;
    BIO *bio = BIO_new(BIO_s_mem());
    BIGNUM *n = NULL;
    struct keybytes keys[6];
    size_t nkeys = 0;
    long pemlen;
    int l;
    json_t *jo;

    T_ASSERT(bio && PEM_write_bio_PUBKEY(bio, rsa1) == 1);
    pemlen = BIO_get_mem_data(bio, &pem);
    keys[nkeys++] = (struct keybytes){ pem, (size_t)pemlen };     /* SPKI PEM */
    T_ASSERT((l = i2d_PUBKEY(rsa1, &spki)) > 0);
    keys[nkeys++] = (struct keybytes){ spki, (size_t)l };         /* SPKI DER */
    T_ASSERT((l = i2d_PublicKey(rsa1, &pkcs1)) > 0);
    keys[nkeys++] = (struct keybytes){ pkcs1, (size_t)l };        /* PKCS#1 DER */
    jo = jwk_obj(rsa1, "r1", NULL);
    jwk_txt = json_dumps(jo, JSON_COMPACT);
    json_decref(jo);
    keys[nkeys++] = (struct keybytes){ jwk_txt, strlen(jwk_txt) }; /* the JWK's text */
    keys[nkeys++] = (struct keybytes){ jwks_pk, strlen(jwks_pk) }; /* the whole JWKS */
    T_ASSERT(EVP_PKEY_get_bn_param(rsa1, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
    l = BN_bn2bin(n, nbuf);
    keys[nkeys++] = (struct keybytes){ nbuf, (size_t)l };         /* the modulus bytes */
    for (size_t i = 0; i < nkeys; i++) {
        for (size_t h = 0; h < 2; h++) {
            json_t *cl = claims(h ? "pk1" : "pk", NOW);
            char *pl = json_dumps(cl, JSON_COMPACT), *t;
            struct jwt_unverified *u = NULL;
            const char *why = NULL;

            json_decref(cl);
            t = tok_raw(hdrs[h], pl, SG_HS256, NULL, keys[i].key, keys[i].len);
            /* control: the MAC is right for that key */
            T_EQ_INT(jwt_parse_unverified(t, strlen(t), &u, &why), GH_OK);
            T_EQ_INT(jwt_verify_hmac(u, keys[i].key, keys[i].len, &why), GH_OK);
            /* the JWKS path refuses HMAC outright */
            T_EQ_INT(jwt_verify_jwks(u, jwks_pk, strlen(jwks_pk), &why), GH_EDENIED);
            jwt_unverified_free(u);
            T_EQ_INT(verify_rc(t, h ? p1 : p), GH_EDENIED);
            free(t);
            free(pl);
        }
    }
    OPENSSL_free(spki);
    OPENSSL_free(pkcs1);
    free(jwk_txt);
    BN_free(n);
    BIO_free(bio);
    client_free(p);
    client_free(p1);
}

/* J2: the registered method fixes the alg family; the header cannot switch it */
static void
test_alg_family_fixed_by_registered_method(void)
{
    struct client *h = hs_client("hs", SECRET64), *p = pk_client("hs", jwks_pk);
    struct client basic = { .client_id = "hs", .auth_method = CLIENT_AUTH_SECRET_BASIC };
    struct client none = { .client_id = "hs", .auth_method = CLIENT_AUTH_NONE };
    char *t_rs, *t_hs;

    t_rs = tok("{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims("hs", NOW), SG_RS256, rsa1, NULL);
    t_hs = hs("hs", SECRET64, NOW);
    /* controls: each verifies under the method it belongs to */
    T_EQ_INT(verify_rc(t_rs, p), GH_OK);
    T_EQ_INT(verify_rc(t_hs, h), GH_OK);
    /* crossed */
    T_EQ_INT(verify_rc(t_rs, h), GH_EDENIED);
    T_EQ_INT(verify_rc(t_hs, p), GH_EDENIED);
    /* secret-based and public clients have no JWT method */
    T_EQ_INT(verify_rc(t_hs, &basic), GH_EDENIED);
    T_EQ_INT(verify_rc(t_rs, &basic), GH_EDENIED);
    T_EQ_INT(verify_rc(t_hs, &none), GH_EDENIED);
    free(t_rs);
    free(t_hs);
    client_free(h);
    client_free(p);
}

/* J3: the kid only selects among the client's own keys */
static void
test_kid_selects_only_the_clients_keys(void)
{
    struct client *p = pk_client("pk", jwks_pk), *p1 = pk_client("pk1", jwks_pk1);
    static const char *const kids[] = { "nope", "../../../../dev/null", "' OR '1'='1",
        "r1\\u0000", "R1", "r1 " };
    char hdr[128], *t;

    for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++) {
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kids[i]);
        t = tok(hdr, claims("pk", NOW), SG_RS256, rsa1, NULL);
        if (parse_rc(t, NOW) == GH_OK && verify_rc(t, p) != GH_EDENIED)
            T_FAIL_("kid %s accepted", kids[i]);
        free(t);
    }
    /* another client's key, under its own kid */
    t = tok("{\"alg\":\"ES256\",\"kid\":\"other\"}", claims("pk", NOW), SG_ES256, ec2, NULL);
    T_EQ_INT(verify_rc(t, p), GH_EDENIED);
    free(t);
    /* several keys: a kid is required even when the signature is good */
    t = tok("{\"alg\":\"RS256\"}", claims("pk", NOW), SG_RS256, rsa1, NULL);
    T_EQ_INT(verify_rc(t, p), GH_EDENIED);
    free(t);
    /* one key: no kid needed; a kid it does not have is still refused */
    t = tok("{\"alg\":\"ES256\"}", claims("pk1", NOW), SG_ES256, ec1, NULL);
    T_EQ_INT(verify_rc(t, p1), GH_OK);
    free(t);
    t = tok("{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims("pk1", NOW), SG_ES256, ec1, NULL);
    T_EQ_INT(verify_rc(t, p1), GH_EDENIED);
    free(t);
    client_free(p);
    client_free(p1);
}

/* J2: the key's type, curve and own alg must fit the header's alg */
static void
test_key_must_fit_the_alg(void)
{
    struct client *p = pk_client("pk", jwks_pk);
    char *t;

    /* ES256 naming an RSA key, RS256/PS256 naming an EC key (signatures by the right key type
     * for the header, so only the kid's key type is wrong) */
    t = tok("{\"alg\":\"ES256\",\"kid\":\"r1\"}", claims("pk", NOW), SG_ES256, ec1, NULL);
    T_EQ_INT(verify_rc(t, p), GH_EDENIED);
    free(t);
    t = tok("{\"alg\":\"RS256\",\"kid\":\"e1\"}", claims("pk", NOW), SG_RS256, rsa1, NULL);
    T_EQ_INT(verify_rc(t, p), GH_EDENIED);
    free(t);
    /* r2 is published for RS256 only: PS256 with it is refused, RS256 accepted */
    t = tok("{\"alg\":\"PS256\",\"kid\":\"r2\"}", claims("pk", NOW), SG_PS256, rsa2, NULL);
    T_EQ_INT(verify_rc(t, p), GH_EDENIED);
    free(t);
    t = tok("{\"alg\":\"RS256\",\"kid\":\"r2\"}", claims("pk", NOW), SG_RS256, rsa2, NULL);
    T_EQ_INT(verify_rc(t, p), GH_OK);
    free(t);
    client_free(p);
}

/* J16: an RSA key under 2048 bits is never used, even if it got into a JWKS */
static void
test_short_rsa_key_refused(void)
{
    struct client *p = pk_client("small", jwks_small);
    char *t = tok("{\"alg\":\"RS256\",\"kid\":\"s\"}", claims("small", NOW), SG_RS256, rsa_small,
        NULL);

    T_EQ_INT(verify_rc(t, p), GH_EDENIED);
    free(t);
    client_free(p);
}

/* JWKS entries the verifier must not use: private members, wrong use/key_ops/alg/crv/kty, a
 * short or off-curve point */
static void
test_unfit_jwks_entries_refused(void)
{
    char *t = tok("{\"alg\":\"ES256\"}", claims("pk1", NOW), SG_ES256, ec1, NULL);
    static const struct { const char *name; const char *value; } edits[] = {
        { "use", "\"enc\"" }, { "key_ops", "[\"sign\"]" }, { "key_ops", "\"verify\"" },
        { "d", "\"AAAA\"" }, { "alg", "\"RS256\"" }, { "crv", "\"P-384\"" },
        { "kty", "\"RSA\"" }, { "y", "\"AAAA\"" },
    };
    json_t *doc = json_loads(jwks_pk1, 0, NULL);
    char *txt;
    struct client *p;

    T_ASSERT(doc);
    /* control: as registered, and with use/key_ops that allow it */
    p = pk_client("pk1", jwks_pk1);
    T_EQ_INT(verify_rc(t, p), GH_OK);
    client_free(p);
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        json_t *d = json_deep_copy(doc), *k = json_array_get(json_object_get(d, "keys"), 0);

        json_object_set_new(k, edits[i].name, json_loads(edits[i].value, JSON_DECODE_ANY, NULL));
        txt = json_dumps(d, JSON_COMPACT);
        p = pk_client("pk1", txt);
        if (verify_rc(t, p) != GH_EDENIED)
            T_FAIL_("JWK with %s=%s used", edits[i].name, edits[i].value);
        client_free(p);
        free(txt);
        json_decref(d);
    }
    {
        json_t *d = json_deep_copy(doc), *k = json_array_get(json_object_get(d, "keys"), 0);
        json_object_set_new(k, "use", json_string("sig"));
        json_object_set_new(k, "key_ops", json_pack("[s]", "verify"));
        txt = json_dumps(d, JSON_COMPACT);
        p = pk_client("pk1", txt);
        T_EQ_INT(verify_rc(t, p), GH_OK);
        client_free(p);
        free(txt);
        json_decref(d);
    }
    {
        /* y of another point: the same x with y's last bit flipped is off the curve */
        json_t *d = json_deep_copy(doc), *k = json_array_get(json_object_get(d, "keys"), 0);
        unsigned char y[32];
        size_t yl = 0;
        char *ys;
        const char *y64 = json_string_value(json_object_get(k, "y"));

        T_EQ_INT(b64url_decode(y64, strlen(y64), y, sizeof(y), &yl), GH_OK);
        y[31] ^= 1;
        ys = b64(y, 32);
        json_object_set_new(k, "y", json_string(ys));
        txt = json_dumps(d, JSON_COMPACT);
        p = pk_client("pk1", txt);
        T_EQ_INT(verify_rc(t, p), GH_EDENIED);
        client_free(p);
        free(txt);
        free(ys);
        json_decref(d);
    }
    json_decref(doc);
    free(t);
}

static void
test_verify_refuses_another_client(void)
{
    struct client *h = hs_client("other-hs", SECRET64);
    char *t = hs("hs", SECRET64, NOW);

    /* same secret, but the assertion names "hs" */
    T_EQ_INT(verify_rc(t, h), GH_EDENIED);
    free(t);
    client_free(h);
}

/* --- client_auth: the token endpoint's view --------------------------------------------- */

static void
test_client_auth_secret_jwt_once(void)
{
    struct oauth_err oe;
    char *t = hs("hs", SECRET64, clock_now()), *id = NULL;

    T_EQ_INT(auth_assertion(t, &oe, &id), GH_OK);
    T_EQ_STR(id, "hs");
    free(id);
    /* J6: the same assertion again is a replay */
    T_EQ_INT(auth_assertion(t, &oe, NULL), GH_EDENIED);
    T_INVALID_CLIENT(oe);
    free(t);
    /* a new jti is a new assertion */
    t = hs("hs", SECRET64, clock_now());
    T_EQ_INT(auth_assertion(t, &oe, NULL), GH_OK);
    free(t);
}

static void
test_client_auth_private_key_jwt(void)
{
    struct oauth_err oe;
    char *t, *id = NULL;
    int64_t now = clock_now();

    t = tok("{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims("pk", now), SG_RS256, rsa1, NULL);
    T_EQ_INT(auth_assertion(t, &oe, &id), GH_OK);
    T_EQ_STR(id, "pk");
    free(id);
    free(t);
    t = tok("{\"alg\":\"PS256\",\"kid\":\"r1\"}", claims("pk", now), SG_PS256, rsa1, NULL);
    T_EQ_INT(auth_assertion(t, &oe, NULL), GH_OK);
    free(t);
    t = tok("{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims("pk", now), SG_ES256, ec1, NULL);
    T_EQ_INT(auth_assertion(t, &oe, NULL), GH_OK);
    T_EQ_INT(auth_assertion(t, &oe, NULL), GH_EDENIED); /* replay */
    T_INVALID_CLIENT(oe);
    free(t);
    t = tok("{\"alg\":\"ES256\"}", claims("pk1", now), SG_ES256, ec1, NULL);
    T_EQ_INT(auth_assertion(t, &oe, NULL), GH_OK);
    free(t);
}

/* the jti store is per client: two clients may pick the same jti */
static void
test_client_auth_replay_is_per_client(void)
{
    struct oauth_err oe;
    int64_t now = clock_now();
    json_t *a = with(claims("hs", now), "jti", json_string("shared-jti"));
    json_t *b = with(claims("pk", now), "jti", json_string("shared-jti"));
    char *ta = tok("{\"alg\":\"HS256\"}", a, SG_HS256, NULL, SECRET64);
    char *tb = tok("{\"alg\":\"RS256\",\"kid\":\"r1\"}", b, SG_RS256, rsa1, NULL);

    T_EQ_INT(auth_assertion(ta, &oe, NULL), GH_OK);
    T_EQ_INT(auth_assertion(tb, &oe, NULL), GH_OK);
    T_EQ_INT(auth_assertion(ta, &oe, NULL), GH_EDENIED);
    T_EQ_INT(auth_assertion(tb, &oe, NULL), GH_EDENIED);
    free(ta);
    free(tb);
}

/* a refused assertion does not spend its jti: the good one with that jti still works */
static void
test_client_auth_forgery_does_not_burn_the_jti(void)
{
    struct oauth_err oe;
    int64_t now = clock_now();
    json_t *good = with(claims("hs", now), "jti", json_string("victim-jti"));
    json_t *bad = with(claims("hs", now), "jti", json_string("victim-jti"));
    char *tg = tok("{\"alg\":\"HS256\"}", good, SG_HS256, NULL, SECRET64);
    char *tb = tok("{\"alg\":\"HS256\"}", bad, SG_HS256, NULL, SECRET43 "x-wrong-key");

    T_EQ_INT(auth_assertion(tb, &oe, NULL), GH_EDENIED);
    T_EQ_INT(auth_assertion(tg, &oe, NULL), GH_OK);
    free(tg);
    free(tb);
}

static void
test_client_auth_parameter_rules(void)
{
    struct client *c = NULL;
    struct oauth_err oe = { 0 };
    bool basic = false;
    char *t = hs("hs", SECRET64, clock_now());
    struct client_creds cr;

    /* RFC 7521 §4.2: both or neither */
    cr = (struct client_creds){ .assertion = t, .issuer = ISSUER };
    T_EQ_INT(client_auth(st, sec, &cr, &c, &basic, &oe), GH_EINVAL);
    T_EQ_INT(oe.status, 400);
    T_EQ_STR(oe.code, "invalid_request");
    cr = (struct client_creds){ .assertion_type = JWT_BEARER, .issuer = ISSUER };
    T_EQ_INT(client_auth(st, sec, &cr, &c, &basic, &oe), GH_EINVAL);
    T_EQ_STR(oe.code, "invalid_request");
    /* RFC 6749 §2.3: one method: not with client_secret, not with Basic */
    cr = (struct client_creds){ .assertion = t, .assertion_type = JWT_BEARER,
        .form_id = "hs", .form_secret = SECRET64, .form_secret_len = 64, .issuer = ISSUER };
    T_EQ_INT(client_auth(st, sec, &cr, &c, &basic, &oe), GH_EINVAL);
    T_EQ_STR(oe.code, "invalid_request");
    cr = (struct client_creds){ .assertion = t, .assertion_type = JWT_BEARER,
        .basic_id = "hs", .basic_secret = SECRET64, .basic_secret_len = 64, .issuer = ISSUER };
    T_EQ_INT(client_auth(st, sec, &cr, &c, &basic, &oe), GH_EINVAL);
    T_EQ_STR(oe.code, "invalid_request");
    T_ASSERT(basic);
    /* the assertion type must be exactly jwt-bearer */
    static const char *const types[] = { "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
        "URN:IETF:PARAMS:OAUTH:CLIENT-ASSERTION-TYPE:JWT-BEARER", JWT_BEARER " ", "", "jwt" };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        cr = (struct client_creds){ .assertion = t, .assertion_type = types[i],
            .issuer = ISSUER };
        T_EQ_INT(client_auth(st, sec, &cr, &c, &basic, &oe), GH_EDENIED);
        T_INVALID_CLIENT(oe);
    }
    /* client_id, when sent, must be the assertion's iss */
    cr = (struct client_creds){ .assertion = t, .assertion_type = JWT_BEARER, .form_id = "pk",
        .issuer = ISSUER };
    T_EQ_INT(client_auth(st, sec, &cr, &c, &basic, &oe), GH_EDENIED);
    T_INVALID_CLIENT(oe);
    cr.form_id = "hs";
    T_EQ_INT(client_auth(st, sec, &cr, &c, &basic, &oe), GH_OK);
    T_EQ_STR(c->client_id, "hs");
    client_free(c);
    c = NULL;
    /* without an issuer the endpoint is misconfigured: a server error, not a client one */
    free(t);
    t = hs("hs", SECRET64, clock_now());
    cr = (struct client_creds){ .assertion = t, .assertion_type = JWT_BEARER };
    oe = (struct oauth_err){ 0 };
    T_EQ_INT(client_auth(st, sec, &cr, &c, &basic, &oe), GH_EINTERNAL);
    T_EQ_INT(oe.status, 0);
    T_ASSERT(c == NULL);
    free(t);
}

/* a valid assertion over GH_MAX_JWT_LEN is refused before parsing; one just under is fine */
static char *
padded(int64_t now, size_t padlen, const char *jti)
{
    static char pad[GH_MAX_JWT_LEN];
    json_t *cl = with(claims("hs", now), "jti", json_string(jti));

    memset(pad, 'p', padlen);
    pad[padlen] = '\0';
    return tok("{\"alg\":\"HS256\"}", with(cl, "pad", json_string(pad)), SG_HS256, NULL,
        SECRET64);
}

static void
test_client_auth_size_bound(void)
{
    struct oauth_err oe;
    int64_t now = clock_now();
    size_t lo = 0, hi = GH_MAX_JWT_LEN;
    char *t;

    /* the least padding that takes the token over the bound */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        t = padded(now, mid, "size-x");
        if (strlen(t) > GH_MAX_JWT_LEN)
            hi = mid;
        else
            lo = mid + 1;
        free(t);
    }
    T_ASSERT(lo > 0 && lo < GH_MAX_JWT_LEN);
    t = padded(now, lo - 1, "size-1");
    T_ASSERT(strlen(t) <= GH_MAX_JWT_LEN && strlen(t) + 2 >= GH_MAX_JWT_LEN);
    T_EQ_INT(auth_assertion(t, &oe, NULL), GH_OK);
    free(t);
    t = padded(now, lo, "size-2");
    T_ASSERT(strlen(t) > GH_MAX_JWT_LEN);
    T_EQ_INT(auth_assertion(t, &oe, NULL), GH_EDENIED);
    T_INVALID_CLIENT(oe);
    free(t);
}

/* every credential problem gets the same answer (no oracle) */
static void
test_client_auth_failures_look_alike(void)
{
    struct oauth_err oe;
    int64_t now = clock_now();
    char *toks[12];
    size_t n = 0;

    toks[n++] = hs("nobody", SECRET64, now);                                   /* unknown */
    toks[n++] = hs("basic", SECRET_B, now);                                    /* method */
    toks[n++] = hs("hs", SECRET43, now);                                       /* wrong key */
    toks[n++] = tok("{\"alg\":\"none\"}", claims("hs", now), SG_NONE, NULL, NULL);
    toks[n++] = tok("{\"alg\":\"HS256\"}", with(claims("hs", now), "exp",
        json_integer(now - 3600)), SG_HS256, NULL, SECRET64);                 /* expired */
    toks[n++] = tok("{\"alg\":\"HS256\"}", with(claims("hs", now), "aud",
        json_string("https://rp.example")), SG_HS256, NULL, SECRET64);        /* aud */
    toks[n++] = tok("{\"alg\":\"RS256\",\"kid\":\"zz\"}", claims("pk", now), SG_RS256, rsa1,
        NULL);                                                                 /* kid */
    toks[n++] = tok("{\"alg\":\"HS256\",\"kid\":\"r1\"}", claims("pk", now), SG_HS256, NULL,
        jwks_pk);                                                              /* HS/JWKS */
    toks[n++] = strdup("not.a.jwt");
    toks[n++] = strdup("");
    toks[n++] = hs("bad id!", SECRET64, now);                                  /* iss syntax */
    for (size_t i = 0; i < n; i++) {
        T_EQ_INT(auth_assertion(toks[i], &oe, NULL), GH_EDENIED);
        T_INVALID_CLIENT(oe);
        free(toks[i]);
    }
}

/* a basic client's secret signs an HS256 assertion: the method is wrong, so it is refused,
 * and the basic client still authenticates the way it was registered */
static void
test_client_auth_secret_clients_cannot_switch_to_jwt(void)
{
    struct oauth_err oe;
    struct client *c = NULL;
    bool basic = false;
    char *t = tok("{\"alg\":\"HS256\"}", claims("basic", clock_now()), SG_HS256, NULL, SECRET_B);
    struct client_creds cr = { .basic_id = "basic", .basic_secret = SECRET_B,
        .basic_secret_len = strlen(SECRET_B), .issuer = ISSUER };

    T_EQ_INT(auth_assertion(t, &oe, NULL), GH_EDENIED);
    T_INVALID_CLIENT(oe);
    T_EQ_INT(client_auth(st, sec, &cr, &c, &basic, &oe), GH_OK);
    client_free(c);
    /* and a client_secret_jwt client cannot use its secret as a plain secret */
    c = NULL;
    cr = (struct client_creds){ .basic_id = "hs", .basic_secret = SECRET64,
        .basic_secret_len = 64, .issuer = ISSUER };
    T_EQ_INT(client_auth(st, sec, &cr, &c, &basic, &oe), GH_EDENIED);
    T_ASSERT(c == NULL);
    free(t);
}

/* --- set-up ----------------------------------------------------------------------------- */

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int
add_client(const char *id, enum client_auth m, const char *secret, const char *jwks)
{
    static char *grants[] = { "client_credentials", NULL };
    struct client_spec sp = { .client_id = id, .auth_method_set = true, .auth_method = m,
        .grant_types = grants, .secret = secret, .jwks = jwks };
    char *gen = NULL;
    const char *why = NULL;
    int rc = client_create(st, sec, &sp, &gen, &why);

    if (rc != GH_OK)
        fprintf(stderr, "client_create %s: %s\n", id, why ? why : gh_strerror(rc));
    free(gen);
    return rc;
}

static int
setup(void)
{
    char err[256], path[128];

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gh-test-assertion-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    clock_init();
    if (sec_load(tmpdir, true, &sec, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "sec_load: %s\n", err);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/a.db", tmpdir);
    if (store_open(path, STORE_CREATE, &st, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        return 1;
    }
    rsa1 = EVP_RSA_gen(2048);
    rsa2 = EVP_RSA_gen(2048);
    rsa_small = EVP_RSA_gen(1024);
    ec1 = EVP_EC_gen("P-256");
    ec2 = EVP_EC_gen("P-256");
    if (!rsa1 || !rsa2 || !rsa_small || !ec1 || !ec2) {
        fprintf(stderr, "key generation failed\n");
        return 1;
    }
    jwks_pk = jwks_text(jwk_obj(rsa1, "r1", NULL), jwk_obj(ec1, "e1", NULL),
        jwk_obj(rsa2, "r2", "RS256"));
    jwks_pk1 = jwks_text(jwk_obj(ec1, NULL, NULL), NULL, NULL);
    jwks_other = jwks_text(jwk_obj(ec2, "other", NULL), NULL, NULL);
    jwks_small = jwks_text(jwk_obj(rsa_small, "s", NULL), NULL, NULL);
    if (add_client("hs", CLIENT_AUTH_SECRET_JWT, SECRET64, NULL) != GH_OK ||
        add_client("pk", CLIENT_AUTH_PRIVATE_KEY_JWT, NULL, jwks_pk) != GH_OK ||
        add_client("pk1", CLIENT_AUTH_PRIVATE_KEY_JWT, NULL, jwks_pk1) != GH_OK ||
        add_client("other", CLIENT_AUTH_PRIVATE_KEY_JWT, NULL, jwks_other) != GH_OK ||
        add_client("basic", CLIENT_AUTH_SECRET_BASIC, SECRET_B, NULL) != GH_OK)
        return 1;
    return 0;
}

int
main(void)
{
    int rc;

    if (setup() != 0)
        return 1;
    t_init("assertion");
    T_RUN(test_good_assertions_parse);
    T_RUN(test_alg_none_and_unknown_algs_refused);
    T_RUN(test_header_members_refused);
    T_RUN(test_kid_length_bounded);
    T_RUN(test_typ_of_other_jwts_refused);
    T_RUN(test_structure_tampering_refused);
    T_RUN(test_claims_iss_sub_must_both_name_the_client);
    T_RUN(test_claims_aud_must_name_us);
    T_RUN(test_claims_exp_window);
    T_RUN(test_claims_iat_and_nbf);
    T_RUN(test_claims_jti_required_and_bounded);
    T_RUN(test_hmac_algs_verify_with_the_client_secret);
    T_RUN(test_tampered_tokens_refused);
    T_RUN(test_public_key_algs_verify_with_the_registered_jwks);
    T_RUN(test_hs256_keyed_with_the_public_key_refused);
    T_RUN(test_alg_family_fixed_by_registered_method);
    T_RUN(test_kid_selects_only_the_clients_keys);
    T_RUN(test_key_must_fit_the_alg);
    T_RUN(test_short_rsa_key_refused);
    T_RUN(test_unfit_jwks_entries_refused);
    T_RUN(test_verify_refuses_another_client);
    T_RUN(test_client_auth_secret_jwt_once);
    T_RUN(test_client_auth_private_key_jwt);
    T_RUN(test_client_auth_replay_is_per_client);
    T_RUN(test_client_auth_forgery_does_not_burn_the_jti);
    T_RUN(test_client_auth_parameter_rules);
    T_RUN(test_client_auth_size_bound);
    T_RUN(test_client_auth_failures_look_alike);
    T_RUN(test_client_auth_secret_clients_cannot_switch_to_jwt);
    rc = t_done();
    store_close(st);
    sec_free(sec);
    EVP_PKEY_free(rsa1);
    EVP_PKEY_free(rsa2);
    EVP_PKEY_free(rsa_small);
    EVP_PKEY_free(ec1);
    EVP_PKEY_free(ec2);
    free(jwks_pk);
    free(jwks_pk1);
    free(jwks_other);
    free(jwks_small);
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
