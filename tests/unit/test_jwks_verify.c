/* test_jwks_verify.c — access-token verification against a JWK Set (crypto/jwks_verify.c), as
 * `gatehouse token verify` and a resource server do it. Tokens are signed here with OpenSSL
 * directly (not by jwt.c) and the JWKS is built here from the keys, so each refusal is caused
 * only by the property under test; every attack has a control that verifies. Covers the RFC 8725
 * list (alg allow-list, none/HS256 with the public key as secret, alg/key mismatch, kid
 * handling, keys carried in the header), RFC 9068 §4 (typ at+jwt, iss, aud, exp) and the JWKS
 * loader's rules (skipped and refused keys, bounds). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/jwks_verify.h"
#include "util/b64url.h"
#include "t.h"

#define NOW 1700000000LL
#define ISS "https://id.example"
#define AUD "https://api.example/"

static EVP_PKEY *rsa_a, *rsa_b, *ec_a, *rsa_weak, *foreign;

/* --- keys and JWKs ---------------------------------------------------------------------- */

static void
set_bn(json_t *o, const char *member, const EVP_PKEY *k, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int n;
    char *s;

    if (EVP_PKEY_get_bn_param(k, param, &bn) != 1)
        abort();
    n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
    BN_free(bn);
    s = b64url_encode_new(buf, (size_t)n);
    json_object_set_new(o, member, json_string(s));
    free(s);
}

/* The public JWK of k; kid and alg left out when NULL. */
static json_t *
jwk_of(const EVP_PKEY *k, const char *kid, const char *alg)
{
    json_t *o = json_object();

    if (EVP_PKEY_is_a(k, "RSA")) {
        json_object_set_new(o, "kty", json_string("RSA"));
        set_bn(o, "n", k, OSSL_PKEY_PARAM_RSA_N, 0);
        set_bn(o, "e", k, OSSL_PKEY_PARAM_RSA_E, 0);
    } else {
        json_object_set_new(o, "kty", json_string("EC"));
        json_object_set_new(o, "crv", json_string("P-256"));
        set_bn(o, "x", k, OSSL_PKEY_PARAM_EC_PUB_X, 32);
        set_bn(o, "y", k, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    }
    json_object_set_new(o, "use", json_string("sig"));
    if (kid)
        json_object_set_new(o, "kid", json_string(kid));
    if (alg)
        json_object_set_new(o, "alg", json_string(alg));
    return o;
}

/* {"keys":[...]} from NULL-terminated JWKs (consumed). */
static json_t *
set_of(json_t *first, ...)
{
    json_t *arr = json_array(), *o = json_object();
    va_list ap;

    va_start(ap, first);
    for (json_t *k = first; k; k = va_arg(ap, json_t *))
        json_array_append_new(arr, k);
    va_end(ap);
    json_object_set_new(o, "keys", arr);
    return o;
}

/* The realm's set: rsa_a for RS256 ("rs"), rsa_b for PS256 ("ps"), ec_a for ES256 ("es"). */
static struct jwks *
realm(void)
{
    struct jwks *ks = NULL;
    json_t *s = set_of(jwk_of(rsa_a, "rs", "RS256"), jwk_of(rsa_b, "ps", "PS256"),
        jwk_of(ec_a, "es", "ES256"), NULL);
    char why[JWKS_WHY_MAX];

    if (jwks_load(s, &ks, why, sizeof(why)) != GH_OK) {
        fprintf(stderr, "realm: %s\n", why);
        abort();
    }
    json_decref(s);
    return ks;
}

/* --- tokens ----------------------------------------------------------------------------- */

static char *
b64_json(const json_t *j)
{
    char *txt = json_dumps(j, JSON_COMPACT), *s;

    s = b64url_encode_new((const unsigned char *)txt, strlen(txt));
    free(txt);
    return s;
}

/* Sign h64.c64 with k as how ("RS256", "PS256", "ES256", "ES256-DER"). Returns the base64url
 * signature. */
static char *
sig_of(EVP_PKEY *k, const char *how, const char *input)
{
    unsigned char sig[1024], raw[64];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;

    if (EVP_DigestSignInit(m, &pc, EVP_sha256(), NULL, k) != 1)
        abort();
    if (!strcmp(how, "PS256") &&
        (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) != 1))
        abort();
    if (EVP_DigestSign(m, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1)
        abort();
    EVP_MD_CTX_free(m);
    if (!strcmp(how, "ES256")) {
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
        const BIGNUM *r, *s;

        ECDSA_SIG_get0(es, &r, &s);
        BN_bn2binpad(r, raw, 32);
        BN_bn2binpad(s, raw + 32, 32);
        ECDSA_SIG_free(es);
        return b64url_encode_new(raw, 64);
    }
    return b64url_encode_new(sig, siglen);
}

/* A token with header h and claims c (both consumed), signed with k as how; k NULL: the
 * signature is HMAC-SHA256 keyed with `secret` (alg confusion) or empty (secret NULL). */
static char *
token(json_t *h, json_t *c, EVP_PKEY *k, const char *how, const char *secret)
{
    char *h64 = b64_json(h), *c64 = b64_json(c), *input, *sig, *out;
    size_t n = strlen(h64) + strlen(c64) + 2;

    input = malloc(n);
    snprintf(input, n, "%s.%s", h64, c64);
    if (k) {
        sig = sig_of(k, how, input);
    } else if (secret) {
        unsigned char mac[32];
        unsigned int ml = 0;

        HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)input,
            strlen(input), mac, &ml);
        sig = b64url_encode_new(mac, ml);
    } else {
        sig = calloc(1, 1);
    }
    n = strlen(input) + strlen(sig) + 2;
    out = malloc(n);
    snprintf(out, n, "%s.%s", input, sig);
    free(h64);
    free(c64);
    free(input);
    free(sig);
    json_decref(h);
    json_decref(c);
    return out;
}

static json_t *
hdr(const char *alg, const char *kid, const char *typ)
{
    json_t *h = json_pack("{s:s}", "alg", alg);

    if (kid)
        json_object_set_new(h, "kid", json_string(kid));
    if (typ)
        json_object_set_new(h, "typ", json_string(typ));
    return h;
}

static json_t *
claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "iss", ISS, "sub", "svc-a",
        "aud", AUD, "client_id", "svc-a", "scope", "read", "iat", (json_int_t)(NOW - 10),
        "exp", (json_int_t)(NOW + 300), "jti", "j1");
}

static json_t *
claims_with(const char *name, json_t *v)
{
    json_t *c = claims();

    if (v)
        json_object_set_new(c, name, v);
    else
        json_object_del(c, name);
    return c;
}

/* Verify tok against ks with the default expectations; returns the result, frees tok. */
static int
check(const struct jwks *ks, char *tok, const char *aud, char *why)
{
    struct jwks_expect ex = { .iss = ISS, .aud = aud, .now = NOW, .leeway = 60 };
    json_t *c = NULL;
    int rc = jwks_verify_at(ks, tok, strlen(tok), &ex, &c, why, JWKS_WHY_MAX);

    if (rc == GH_OK && !json_is_object(c))
        rc = GH_EINTERNAL;
    if (rc != GH_OK && c)
        rc = GH_EINTERNAL; /* claims only on success */
    json_decref(c);
    free(tok);
    return rc;
}

#define AT(alg, kid) hdr(alg, kid, "at+jwt")

/* --- the accepted cases ------------------------------------------------------------------ */

static void
test_valid_tokens_of_each_alg_verify(void)
{
    struct jwks *ks = realm();
    char why[JWKS_WHY_MAX];
    struct jwks_expect ex = { .iss = ISS, .aud = AUD, .now = NOW, .leeway = 60 };
    json_t *c = NULL;
    char *tok = token(AT("RS256", "rs"), claims(), rsa_a, "RS256", NULL);

    T_EQ_INT(jwks_verify_at(ks, tok, strlen(tok), &ex, &c, why, sizeof(why)), GH_OK);
    T_EQ_STR(json_string_value(json_object_get(c, "sub")), "svc-a");
    json_decref(c);
    free(tok);
    T_EQ_INT(check(ks, token(AT("PS256", "ps"), claims(), rsa_b, "PS256", NULL), AUD, why),
        GH_OK);
    T_EQ_INT(check(ks, token(AT("ES256", "es"), claims(), ec_a, "ES256", NULL), AUD, why),
        GH_OK);
    /* no --audience: aud is not checked */
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims(), rsa_a, "RS256", NULL), NULL, why),
        GH_OK);
    T_EQ_INT(jwks_count(ks), 3);
    jwks_free(ks);
}

static void
test_typ_accepts_the_media_type_forms(void)
{
    struct jwks *ks = realm();
    char why[JWKS_WHY_MAX];

    T_EQ_INT(check(ks, token(hdr("RS256", "rs", "application/at+jwt"), claims(), rsa_a, "RS256",
        NULL), AUD, why), GH_OK);
    T_EQ_INT(check(ks, token(hdr("RS256", "rs", "AT+JWT"), claims(), rsa_a, "RS256", NULL), AUD,
        why), GH_OK);
    jwks_free(ks);
}

static void
test_aud_array_containing_the_audience_verifies(void)
{
    struct jwks *ks = realm();
    char why[JWKS_WHY_MAX];

    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("aud", json_pack("[s,s]",
        "https://other.example/", AUD)), rsa_a, "RS256", NULL), AUD, why), GH_OK);
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("aud", json_pack("[s]",
        "https://other.example/")), rsa_a, "RS256", NULL), AUD, why), GH_EDENIED);
    jwks_free(ks);
}

/* --- RFC 8725 §3.1: algorithms ----------------------------------------------------------- */

static void
test_alg_none_and_hs256_with_the_public_key_are_refused(void)
{
    struct jwks *ks = realm();
    json_t *jwk = jwk_of(rsa_a, "rs", "RS256");
    char why[JWKS_WHY_MAX], *pub = json_dumps(jwk, JSON_COMPACT);

    T_EQ_INT(check(ks, token(AT("none", "rs"), claims(), NULL, NULL, NULL), AUD, why),
        GH_EDENIED);
    T_ASSERT(strstr(why, "not allowed"));
    T_EQ_INT(check(ks, token(AT("HS256", "rs"), claims(), NULL, NULL, pub), AUD, why),
        GH_EDENIED);
    T_EQ_INT(check(ks, token(AT("RS512", "rs"), claims(), rsa_a, "RS256", NULL), AUD, why),
        GH_EDENIED);
    T_EQ_INT(check(ks, token(AT("rs256", "rs"), claims(), rsa_a, "RS256", NULL), AUD, why),
        GH_EDENIED);
    free(pub);
    json_decref(jwk);
    jwks_free(ks);
}

static void
test_alg_must_fit_the_key_kid_names(void)
{
    struct jwks *ks = realm();
    char why[JWKS_WHY_MAX];

    /* a valid PS256 signature by the RS256-pinned key: refused (RFC 8725 §3.1) */
    T_EQ_INT(check(ks, token(AT("PS256", "rs"), claims(), rsa_a, "PS256", NULL), AUD, why),
        GH_EDENIED);
    T_ASSERT(strstr(why, "does not fit"));
    T_EQ_INT(check(ks, token(AT("ES256", "rs"), claims(), ec_a, "ES256", NULL), AUD, why),
        GH_EDENIED);
    T_EQ_INT(check(ks, token(AT("RS256", "es"), claims(), rsa_a, "RS256", NULL), AUD, why),
        GH_EDENIED);
    jwks_free(ks);
}

static void
test_a_jwk_without_alg_verifies_its_kty_family_only(void)
{
    struct jwks *ks = NULL;
    json_t *s = set_of(jwk_of(rsa_a, "r", NULL), jwk_of(ec_a, "e", NULL), NULL);
    char why[JWKS_WHY_MAX];

    T_EQ_INT(jwks_load(s, &ks, why, sizeof(why)), GH_OK);
    T_EQ_INT(check(ks, token(AT("RS256", "r"), claims(), rsa_a, "RS256", NULL), AUD, why), GH_OK);
    T_EQ_INT(check(ks, token(AT("PS256", "r"), claims(), rsa_a, "PS256", NULL), AUD, why), GH_OK);
    T_EQ_INT(check(ks, token(AT("ES256", "r"), claims(), ec_a, "ES256", NULL), AUD, why),
        GH_EDENIED);
    T_EQ_INT(check(ks, token(AT("ES256", "e"), claims(), ec_a, "ES256", NULL), AUD, why), GH_OK);
    json_decref(s);
    jwks_free(ks);
}

/* --- kid ------------------------------------------------------------------------------- */

static void
test_unknown_kid_is_notfound_so_a_cache_can_refetch(void)
{
    struct jwks *ks = realm();
    char why[JWKS_WHY_MAX];

    T_EQ_INT(check(ks, token(AT("RS256", "new"), claims(), rsa_a, "RS256", NULL), AUD, why),
        GH_ENOTFOUND);
    T_ASSERT(strstr(why, "no key"));
    jwks_free(ks);
}

static void
test_token_without_kid_needs_a_single_key_set(void)
{
    struct jwks *ks = realm(), *one = NULL;
    json_t *s = set_of(jwk_of(rsa_a, "only", "RS256"), NULL);
    char why[JWKS_WHY_MAX];

    T_EQ_INT(check(ks, token(AT("RS256", NULL), claims(), rsa_a, "RS256", NULL), AUD, why),
        GH_EDENIED);
    T_ASSERT(strstr(why, "no kid"));
    T_EQ_INT(jwks_load(s, &one, why, sizeof(why)), GH_OK);
    T_EQ_INT(check(one, token(AT("RS256", NULL), claims(), rsa_a, "RS256", NULL), AUD, why),
        GH_OK);
    T_EQ_INT(check(one, token(AT("PS256", NULL), claims(), rsa_a, "PS256", NULL), AUD, why),
        GH_EDENIED);
    json_decref(s);
    jwks_free(one);
    jwks_free(ks);
}

static void
test_a_kid_shared_by_an_rsa_and_an_ec_key_picks_by_alg(void)
{
    struct jwks *ks = NULL;
    json_t *s = set_of(jwk_of(rsa_a, "k", NULL), jwk_of(ec_a, "k", NULL), NULL);
    json_t *s2 = set_of(jwk_of(rsa_a, "k", NULL), jwk_of(rsa_b, "k", NULL), NULL);
    char why[JWKS_WHY_MAX];

    T_EQ_INT(jwks_load(s, &ks, why, sizeof(why)), GH_OK);
    T_EQ_INT(check(ks, token(AT("ES256", "k"), claims(), ec_a, "ES256", NULL), AUD, why), GH_OK);
    T_EQ_INT(check(ks, token(AT("RS256", "k"), claims(), rsa_a, "RS256", NULL), AUD, why), GH_OK);
    jwks_free(ks);
    ks = NULL;
    /* two RSA keys under one kid: ambiguous, refused even with a valid signature */
    T_EQ_INT(jwks_load(s2, &ks, why, sizeof(why)), GH_OK);
    T_EQ_INT(check(ks, token(AT("RS256", "k"), claims(), rsa_a, "RS256", NULL), AUD, why),
        GH_EDENIED);
    json_decref(s);
    json_decref(s2);
    jwks_free(ks);
}

/* --- RFC 8725 §3.10: keys and URLs carried by the token ----------------------------------- */

static void
test_header_members_beyond_alg_kid_typ_are_refused(void)
{
    static const char *const members[] = { "jku", "jwk", "x5u", "x5c", "crit", "cty", "zip",
        NULL };
    struct jwks *ks = realm();
    char why[JWKS_WHY_MAX];

    for (size_t i = 0; members[i]; i++) {
        json_t *h = AT("RS256", "rs");

        json_object_set_new(h, members[i], json_string("https://evil.example/keys"));
        T_EQ_INT(check(ks, token(h, claims(), rsa_a, "RS256", NULL), AUD, why), GH_EDENIED);
    }
    jwks_free(ks);
}

/* --- RFC 9068 §4: typ, iss, aud, time ------------------------------------------------------ */

static void
test_an_id_token_or_untyped_jwt_is_not_an_access_token(void)
{
    struct jwks *ks = realm();
    char why[JWKS_WHY_MAX];

    T_EQ_INT(check(ks, token(hdr("RS256", "rs", "JWT"), claims(), rsa_a, "RS256", NULL), AUD,
        why), GH_EDENIED);
    T_ASSERT(strstr(why, "not at+jwt"));
    T_EQ_INT(check(ks, token(hdr("RS256", "rs", NULL), claims(), rsa_a, "RS256", NULL), AUD,
        why), GH_EDENIED);
    T_EQ_INT(check(ks, token(hdr("RS256", "rs", "application/at+jwt/x"), claims(), rsa_a,
        "RS256", NULL), AUD, why), GH_EDENIED);
    jwks_free(ks);
}

static void
test_wrong_issuer_or_audience_is_refused(void)
{
    struct jwks *ks = realm();
    char why[JWKS_WHY_MAX];

    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("iss", json_string(ISS "/")), rsa_a,
        "RS256", NULL), AUD, why), GH_EDENIED);
    T_ASSERT(strstr(why, "iss is"));
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("iss", NULL), rsa_a, "RS256", NULL),
        AUD, why), GH_EINVAL);
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims(), rsa_a, "RS256", NULL),
        "https://api.example", why), GH_EDENIED);
    T_ASSERT(strstr(why, "aud does not contain"));
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("aud", NULL), rsa_a, "RS256", NULL),
        AUD, why), GH_EDENIED);
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("aud", json_integer(1)), rsa_a,
        "RS256", NULL), AUD, why), GH_EINVAL);
    jwks_free(ks);
}

static void
test_expiry_nbf_and_iat_with_leeway(void)
{
    struct jwks *ks = realm();
    char why[JWKS_WHY_MAX];

    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("exp", json_integer(NOW - 61)),
        rsa_a, "RS256", NULL), AUD, why), GH_EEXPIRED);
    T_ASSERT(strstr(why, "expired at"));
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("exp", json_integer(NOW - 30)),
        rsa_a, "RS256", NULL), AUD, why), GH_OK);
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("exp", NULL), rsa_a, "RS256", NULL),
        AUD, why), GH_EINVAL);
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("exp", json_real(NOW + 300.0)),
        rsa_a, "RS256", NULL), AUD, why), GH_EINVAL);
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("nbf", json_integer(NOW + 61)),
        rsa_a, "RS256", NULL), AUD, why), GH_EDENIED);
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("nbf", json_integer(NOW + 30)),
        rsa_a, "RS256", NULL), AUD, why), GH_OK);
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("iat", json_integer(NOW + 61)),
        rsa_a, "RS256", NULL), AUD, why), GH_EDENIED);
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims_with("exp", json_integer(INT64_MIN)),
        rsa_a, "RS256", NULL), AUD, why), GH_EEXPIRED);
    jwks_free(ks);
}

/* --- signatures and encoding ----------------------------------------------------------------- */

static void
test_tampered_or_foreign_signatures_are_refused(void)
{
    struct jwks *ks = realm();
    char why[JWKS_WHY_MAX], *tok, *d1, *forged;
    json_t *c = claims_with("scope", json_string("read write admin"));
    char *c64 = b64_json(c);
    size_t n;

    /* a genuine token with its payload swapped */
    tok = token(AT("RS256", "rs"), claims(), rsa_a, "RS256", NULL);
    d1 = strchr(tok, '.');
    n = strlen(tok) + strlen(c64) + 1;
    forged = malloc(n);
    snprintf(forged, n, "%.*s.%s%s", (int)(d1 - tok), tok, c64, strchr(d1 + 1, '.'));
    T_EQ_INT(check(ks, forged, AUD, why), GH_EDENIED);
    T_EQ_INT(strcmp(why, "bad signature"), 0);
    free(tok);
    free(c64);
    json_decref(c);
    /* a key of our own making under the realm's kid */
    T_EQ_INT(check(ks, token(AT("RS256", "rs"), claims(), foreign, "RS256", NULL), AUD, why),
        GH_EDENIED);
    /* ES256 as DER (70-72 bytes) is not the JWS form */
    tok = token(AT("ES256", "es"), claims(), ec_a, "ES256-DER", NULL);
    T_EQ_INT(check(ks, tok, AUD, why), GH_EDENIED);
    jwks_free(ks);
}

static void
test_malformed_tokens_are_einval(void)
{
    static const char *const bad[] = { "", "a.b", "a.b.c.d", "e30.e30.", "e30=.e30.AAAA",
        "eyJhbGciOiJSUzI1NiIsImFsZyI6IlJTMjU2In0.e30.AAAA", "not base64!.e30.AAAA", NULL };
    struct jwks *ks = realm();
    struct jwks_expect ex = { .iss = ISS, .now = NOW };
    char why[JWKS_WHY_MAX], *big = malloc(GH_MAX_JWT_LEN + 2);
    json_t *c = NULL;

    for (size_t i = 0; bad[i]; i++) {
        T_ASSERT(jwks_verify_at(ks, bad[i], strlen(bad[i]), &ex, &c, why, sizeof(why)) !=
                 GH_OK);
        T_ASSERT(c == NULL);
    }
    memset(big, 'A', GH_MAX_JWT_LEN + 1);
    big[GH_MAX_JWT_LEN + 1] = '\0';
    T_EQ_INT(jwks_verify_at(ks, big, GH_MAX_JWT_LEN + 1, &ex, &c, why, sizeof(why)), GH_EINVAL);
    free(big);
    jwks_free(ks);
}

/* --- the JWKS loader ------------------------------------------------------------------------- */

static int
parse_text(const char *txt, char *why)
{
    struct jwks *ks = NULL;
    int rc = jwks_parse(txt, strlen(txt), &ks, why, JWKS_WHY_MAX);

    T_ASSERT((rc == GH_OK) == (ks != NULL));
    jwks_free(ks);
    return rc;
}

static int
parse_set(json_t *s, char *why)
{
    char *txt = json_dumps(s, JSON_COMPACT);
    int rc = parse_text(txt, why);

    free(txt);
    json_decref(s);
    return rc;
}

static void
test_jwks_with_private_members_or_bad_numbers_is_refused(void)
{
    char why[JWKS_WHY_MAX];
    json_t *k = jwk_of(rsa_a, "rs", "RS256");

    json_object_set_new(k, "d", json_string("AQAB"));
    T_EQ_INT(parse_set(set_of(k, NULL), why), GH_EINVAL);
    T_ASSERT(strstr(why, "private"));
    k = jwk_of(ec_a, "es", "ES256");
    json_object_set_new(k, "x", json_string("AQAB"));
    T_EQ_INT(parse_set(set_of(k, NULL), why), GH_EINVAL);
    k = jwk_of(ec_a, "es", "ES256");
    json_object_set(k, "y", json_object_get(k, "x"));
    T_EQ_INT(parse_set(set_of(k, NULL), why), GH_EINVAL); /* not on the curve */
    T_EQ_INT(parse_set(set_of(jwk_of(rsa_a, "rs", "ES256"), NULL), why), GH_EINVAL);
    k = jwk_of(rsa_a, "", "RS256");
    T_EQ_INT(parse_set(set_of(k, NULL), why), GH_EINVAL);
    T_EQ_INT(parse_text("{\"keys\":[],\"keys\":[]}", why), GH_EINVAL);
    T_EQ_INT(parse_text("[]", why), GH_EINVAL);
    T_EQ_INT(parse_text("{\"keys\":[1]}", why), GH_EINVAL);
    T_EQ_INT(parse_text("{\"keys\":[]}", why), GH_EINVAL);
}

static void
test_jwks_skips_keys_it_cannot_use(void)
{
    struct jwks *ks = NULL;
    char why[JWKS_WHY_MAX];
    json_t *enc = jwk_of(rsa_b, "enc", NULL), *ops = jwk_of(rsa_b, "ops", NULL);
    json_t *s;

    json_object_set_new(enc, "use", json_string("enc"));
    json_object_set_new(ops, "key_ops", json_pack("[s]", "sign"));
    s = set_of(json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", "AAAA"),
        jwk_of(rsa_weak, "weak", "RS256"), enc, ops, jwk_of(rsa_a, "rs", "RS512"),
        jwk_of(ec_a, "es", "ES256"), NULL);
    T_EQ_INT(jwks_load(s, &ks, why, sizeof(why)), GH_OK);
    T_EQ_INT(jwks_count(ks), 1);
    T_EQ_INT(check(ks, token(AT("RS256", "weak"), claims(), rsa_weak, "RS256", NULL), AUD, why),
        GH_ENOTFOUND);
    T_EQ_INT(check(ks, token(AT("RS256", "enc"), claims(), rsa_b, "RS256", NULL), AUD, why),
        GH_ENOTFOUND);
    T_EQ_INT(check(ks, token(AT("ES256", "es"), claims(), ec_a, "ES256", NULL), AUD, why), GH_OK);
    json_decref(s);
    jwks_free(ks);
    /* nothing usable at all */
    T_EQ_INT(parse_set(set_of(jwk_of(rsa_weak, "weak", NULL), NULL), why), GH_EINVAL);
}

static void
test_jwks_bounds(void)
{
    char why[JWKS_WHY_MAX], *big;
    struct jwks *ks = NULL;
    json_t *arr = json_array(), *s = json_object();

    for (int i = 0; i <= GH_MAX_KEYS; i++)
        json_array_append_new(arr, json_pack("{s:s}", "kty", "OKP"));
    json_object_set_new(s, "keys", arr);
    T_EQ_INT(parse_set(s, why), GH_EINVAL);
    big = malloc(GH_MAX_JWKS + 2);
    memset(big, ' ', GH_MAX_JWKS + 1);
    big[GH_MAX_JWKS + 1] = '\0';
    T_EQ_INT(jwks_parse(big, GH_MAX_JWKS + 1, &ks, why, sizeof(why)), GH_ETOOBIG);
    T_ASSERT(ks == NULL);
    free(big);
}

int
main(void)
{
    t_init("jwks_verify");
    json_set_alloc_funcs(malloc, free);
    rsa_a = EVP_RSA_gen(2048);
    rsa_b = EVP_RSA_gen(2048);
    foreign = EVP_RSA_gen(2048);
    rsa_weak = EVP_RSA_gen(1024);
    ec_a = EVP_EC_gen("P-256");
    if (!rsa_a || !rsa_b || !foreign || !rsa_weak || !ec_a) {
        fprintf(stderr, "cannot generate test keys\n");
        return 1;
    }
    T_RUN(test_valid_tokens_of_each_alg_verify);
    T_RUN(test_typ_accepts_the_media_type_forms);
    T_RUN(test_aud_array_containing_the_audience_verifies);
    T_RUN(test_alg_none_and_hs256_with_the_public_key_are_refused);
    T_RUN(test_alg_must_fit_the_key_kid_names);
    T_RUN(test_a_jwk_without_alg_verifies_its_kty_family_only);
    T_RUN(test_unknown_kid_is_notfound_so_a_cache_can_refetch);
    T_RUN(test_token_without_kid_needs_a_single_key_set);
    T_RUN(test_a_kid_shared_by_an_rsa_and_an_ec_key_picks_by_alg);
    T_RUN(test_header_members_beyond_alg_kid_typ_are_refused);
    T_RUN(test_an_id_token_or_untyped_jwt_is_not_an_access_token);
    T_RUN(test_wrong_issuer_or_audience_is_refused);
    T_RUN(test_expiry_nbf_and_iat_with_leeway);
    T_RUN(test_tampered_or_foreign_signatures_are_refused);
    T_RUN(test_malformed_tokens_are_einval);
    T_RUN(test_jwks_with_private_members_or_bad_numbers_is_refused);
    T_RUN(test_jwks_skips_keys_it_cannot_use);
    T_RUN(test_jwks_bounds);
    EVP_PKEY_free(rsa_a);
    EVP_PKEY_free(rsa_b);
    EVP_PKEY_free(foreign);
    EVP_PKEY_free(rsa_weak);
    EVP_PKEY_free(ec_a);
    return t_done();
}
