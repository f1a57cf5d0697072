/* jwks_verify.c — verifies access tokens (RFC 9068) against a JWK Set of public keys, as a
 * resource server does, for `gatehouse token verify`. The set is parsed once into OpenSSL public
 * keys (RFC 7518 §6.2, §6.3: n, e / crv, x, y, each checked by OpenSSL's public-key checks); a
 * token is then checked in the order RFC 8725 §3 asks for: a strictly encoded header holding
 * only alg, kid and typ, alg on the allow-list (RS256, PS256, ES256: never "none" or HS*, so an
 * HMAC keyed with a public key cannot arise), typ at+jwt (RFC 9068 §4, RFC 8725 §3.11), the key
 * its kid names, which must fit the alg (kty, crv, and the JWK's own alg when it has one), the
 * signature, and only then the payload: iss, aud, exp, nbf, iat (RFC 7519 §4.1).
 *
 * It does not fetch anything (the CLI does), trust a key or a URL carried by the token (jwk,
 * jku, x5u, x5c are refused), do JWE, nested or unsecured JWTs, or check that the token was not
 * revoked (that is introspection's job, RFC 7662). jwt.c keeps its own verifier for tokens
 * checked against our private ring (userinfo, id_token_hint); the two follow the same rules,
 * except that here a JWK without an "alg" verifies any alg of its kty, and an ES256 signature
 * with a high S is accepted (it authenticates the same claims; only our own signer promises low
 * S, and jwt.c relies on that). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/jwks_verify.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "crypto/ossl.h"
#include "util/b64url.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

#define HDR_MAX      1024 /* decoded header bytes; gatehouse's are about 110 */
#define PAYLOAD_MAX  (GH_MAX_JWT_LEN / 4 * 3)
#define SIG_MAX      (KEYS_RSA_BITS_MAX / 8)
#define ES256_COORD  32 /* RFC 7518 §3.4: R and S, 32 bytes each; P-256 x and y too */
#define RSA_N_MAX    (KEYS_RSA_BITS_MAX / 8)
#define RSA_E_MAX    8
#define JWK_KID_MAX  256

struct pubkey {
    char *kid;           /* NULL when the JWK has none */
    bool rsa;            /* RSA, else EC P-256 */
    bool has_alg;        /* the JWK names its alg: only that one verifies */
    enum key_alg alg;    /* valid when has_alg */
    EVP_PKEY *pkey;
};

struct jwks {
    struct pubkey *k;
    size_t n;
};

/* --- loading the set -------------------------------------------------------------------- */

void
jwks_free(struct jwks *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++) {
        free(ks->k[i].kid);
        EVP_PKEY_free(ks->k[i].pkey);
    }
    free(ks->k);
    free(ks);
}

size_t
jwks_count(const struct jwks *ks)
{
    return ks ? ks->n : 0;
}

/* Decode a base64url member into buf (at most bufsz bytes). false if absent, not a string,
 * malformed (strictly: no padding, no stray bits), empty or too long. */
static bool
b64_member(const json_t *o, const char *name, unsigned char *buf, size_t bufsz, size_t *len)
{
    const json_t *v = json_object_get(o, name);

    return json_is_string(v) &&
           b64url_decode(json_string_value(v), json_string_length(v), buf, bufsz, len) ==
               GH_OK &&
           *len > 0;
}

/* An OpenSSL public key from params, accepted only if OpenSSL's public-key check passes (RSA:
 * SP 800-56B modulus and exponent checks; EC: a point on the curve, not infinity). */
static EVP_PKEY *
pkey_from(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL, *cctx = NULL;
    EVP_PKEY *pkey = NULL;

    if (!(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) ||
        EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1 ||
        !(cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) ||
        EVP_PKEY_public_check(cctx) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    ERR_clear_error(); /* input-driven: reported to the caller, not logged */
    EVP_PKEY_CTX_free(cctx);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

/* RFC 7518 §6.3.1. GH_OK with *pkey; GH_ENOTFOUND: a valid key we do not use (too short);
 * GH_EINVAL: malformed (*why). */
static int
rsa_key(const json_t *k, EVP_PKEY **pkey, const char **why)
{
    unsigned char n[RSA_N_MAX], e[RSA_E_MAX];
    size_t nlen = 0, elen = 0;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    int rc = GH_EINVAL;

    *pkey = NULL;
    if (!b64_member(k, "n", n, sizeof(n), &nlen)) {
        *why = "RSA key: \"n\" missing, malformed or over 8192 bits";
        return GH_EINVAL;
    }
    if (!b64_member(k, "e", e, sizeof(e), &elen)) {
        *why = "RSA key: \"e\" missing or malformed";
        return GH_EINVAL;
    }
    if (!(bn = BN_bin2bn(n, (int)nlen, NULL)) || !(be = BN_bin2bn(e, (int)elen, NULL))) {
        *why = "RSA key: cannot read the numbers";
        goto out;
    }
    /* RFC 8725 §3.5 / NIST SP 800-131A: shorter keys are skipped, not trusted */
    if (BN_num_bits(bn) < GH_RSA_BITS_MIN) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    if (!(bld = OSSL_PARAM_BLD_new()) ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1 ||
        !(*pkey = pkey_from("RSA", bld))) {
        *why = "RSA key: not a valid public key";
        goto out;
    }
    rc = GH_OK;
out:
    ERR_clear_error();
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return rc;
}

/* RFC 7518 §6.2.1, P-256 only (the caller checked crv). GH_OK with *pkey, or GH_EINVAL. */
static int
ec_key(const json_t *k, EVP_PKEY **pkey, const char **why)
{
    unsigned char pt[1 + 2 * ES256_COORD];
    size_t xl = 0, yl = 0;
    OSSL_PARAM_BLD *bld = NULL;

    *pkey = NULL;
    /* RFC 7518 §6.2.1.2-3: x and y are exactly the field size */
    if (!b64_member(k, "x", pt + 1, ES256_COORD, &xl) || xl != ES256_COORD ||
        !b64_member(k, "y", pt + 1 + ES256_COORD, ES256_COORD, &yl) || yl != ES256_COORD) {
        *why = "EC key: \"x\" and \"y\" must be 32-byte base64url values";
        return GH_EINVAL;
    }
    pt[0] = 0x04; /* SEC 1 §2.3.3 uncompressed point */
    if (!(bld = OSSL_PARAM_BLD_new()) ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) != 1 ||
        !(*pkey = pkey_from("EC", bld)))
        *why = "EC key: not a point on P-256";
    ERR_clear_error();
    OSSL_PARAM_BLD_free(bld);
    return *pkey ? GH_OK : GH_EINVAL;
}

/* key_ops (RFC 7517 §4.3): absent, or an array of strings that includes "verify". GH_OK: usable;
 * GH_ENOTFOUND: not for verifying; GH_EINVAL: malformed. */
static int
ops_allow_verify(const json_t *ops)
{
    size_t i;
    const json_t *v;
    bool found = false;

    if (!ops)
        return GH_OK;
    if (!json_is_array(ops))
        return GH_EINVAL;
    json_array_foreach(ops, i, v) {
        if (!json_is_string(v))
            return GH_EINVAL;
        found = found || str_eq(json_string_value(v), "verify");
    }
    return found ? GH_OK : GH_ENOTFOUND;
}

/* One JWK. GH_OK: *pk filled; GH_ENOTFOUND: skipped (not a key we verify with); GH_EINVAL:
 * the set is refused (*why). */
static int
load_one(const json_t *k, struct pubkey *pk, const char **why)
{
    static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k",
        NULL };
    const json_t *v;
    const char *kty, *crv, *use, *alg;
    int rc;

    memset(pk, 0, sizeof(*pk));
    if (!json_is_object(k)) {
        *why = "a key is not a JSON object";
        return GH_EINVAL;
    }
    /* a published set with private or symmetric material is broken: say so, use nothing */
    for (size_t i = 0; private_members[i]; i++) {
        if (json_object_get(k, private_members[i])) {
            *why = "a key holds private or symmetric key material";
            return GH_EINVAL;
        }
    }
    if (!(kty = json_string_value(json_object_get(k, "kty")))) {
        *why = "a key has no \"kty\" string";
        return GH_EINVAL;
    }
    if ((v = json_object_get(k, "kid")) &&
        (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) > JWK_KID_MAX ||
            strlen(json_string_value(v)) != json_string_length(v))) {
        *why = "a key's \"kid\" is not a string of 1 to 256 bytes";
        return GH_EINVAL;
    }
    if (((v = json_object_get(k, "use")) && !json_is_string(v)) ||
        ((v = json_object_get(k, "alg")) && !json_is_string(v)) ||
        ((v = json_object_get(k, "crv")) && !json_is_string(v))) {
        *why = "a key's \"use\", \"alg\" or \"crv\" is not a string";
        return GH_EINVAL;
    }
    use = json_string_value(json_object_get(k, "use"));
    alg = json_string_value(json_object_get(k, "alg"));
    crv = json_string_value(json_object_get(k, "crv"));
    if ((rc = ops_allow_verify(json_object_get(k, "key_ops"))) != GH_OK) {
        if (rc == GH_EINVAL)
            *why = "a key's \"key_ops\" is not an array of strings";
        return rc;
    }
    /* RFC 7517 §4.2: an encryption key never verifies a signature */
    if (use && !str_eq(use, "sig"))
        return GH_ENOTFOUND;
    if (str_eq(kty, "RSA")) {
        pk->rsa = true;
    } else if (str_eq(kty, "EC")) {
        if (!str_eq(crv, "P-256"))
            return GH_ENOTFOUND;
    } else {
        return GH_ENOTFOUND; /* OKP, oct, …: nothing our allow-list verifies with */
    }
    if (alg) {
        /* RFC 8725 §3.1: the key is pinned to its alg; algs off our list make it unusable */
        if (keys_alg_parse(alg, &pk->alg) != GH_OK)
            return GH_ENOTFOUND;
        if (pk->rsa != (pk->alg != KEY_ES256)) {
            *why = "a key's \"alg\" does not fit its \"kty\"";
            return GH_EINVAL;
        }
        pk->has_alg = true;
    }
    rc = pk->rsa ? rsa_key(k, &pk->pkey, why) : ec_key(k, &pk->pkey, why);
    if (rc != GH_OK)
        return rc;
    if ((v = json_object_get(k, "kid")))
        pk->kid = x_strdup(json_string_value(v));
    return GH_OK;
}

int
jwks_load(const json_t *set, struct jwks **out, char *why, size_t whysz)
{
    struct jwks *ks = NULL;
    const json_t *keys;
    const char *w = NULL;
    size_t n;
    int rc = GH_EINVAL;

    *out = NULL;
    if (!json_is_object(set)) {
        str_fmt(why, whysz, "the key set is not a JSON object");
        return GH_EINVAL;
    }
    keys = json_object_get(set, "keys");
    if (!json_is_array(keys)) {
        str_fmt(why, whysz, "the key set has no \"keys\" array");
        return GH_EINVAL;
    }
    if ((n = json_array_size(keys)) > GH_MAX_KEYS) {
        str_fmt(why, whysz, "the key set holds %zu keys; at most %d are accepted", n,
            GH_MAX_KEYS);
        return GH_EINVAL;
    }
    ks = x_calloc(1, sizeof(*ks));
    ks->k = x_calloc(n ? n : 1, sizeof(*ks->k));
    for (size_t i = 0; i < n; i++) {
        int r = load_one(json_array_get(keys, i), &ks->k[ks->n], &w);

        if (r == GH_ENOTFOUND)
            continue;
        if (r != GH_OK) {
            str_fmt(why, whysz, "key %zu of the key set: %s", i + 1, w ? w : "invalid");
            goto out;
        }
        ks->n++;
    }
    if (ks->n == 0) {
        str_fmt(why, whysz, "the key set holds no RSA or P-256 signing key");
        goto out;
    }
    *out = ks;
    ks = NULL;
    rc = GH_OK;
out:
    jwks_free(ks);
    return rc;
}

int
jwks_parse(const char *json, size_t len, struct jwks **out, char *why, size_t whysz)
{
    json_t *root;
    int rc;

    *out = NULL;
    if (!json || len == 0) {
        str_fmt(why, whysz, "the key set is empty");
        return GH_EINVAL;
    }
    if (len > GH_MAX_JWKS) {
        str_fmt(why, whysz, "the key set is larger than %d bytes", GH_MAX_JWKS);
        return GH_ETOOBIG;
    }
    /* RFC 8725 §3.9 spirit: no duplicate members, so no two readings of one document */
    if (!(root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL))) {
        str_fmt(why, whysz, "the key set is not valid JSON (or has duplicate members)");
        return GH_EINVAL;
    }
    rc = jwks_load(root, out, why, whysz);
    json_decref(root);
    return rc;
}

/* --- verifying a token ------------------------------------------------------------------ */

/* The protected header: alg, kid and typ only; alg on the allow-list; typ at+jwt. *alg and *kid
 * (borrowed from h; NULL when absent) are set on GH_OK. */
static int
check_header(json_t *h, enum key_alg *alg, const char **kid, char *why, size_t whysz)
{
    const char *name, *a;
    json_t *v;

    *kid = NULL;
    if (!json_is_object(h)) {
        str_fmt(why, whysz, "the header is not a JSON object");
        return GH_EINVAL;
    }
    json_object_foreach(h, name, v) {
        if (str_eq(name, "alg") || str_eq(name, "kid") || str_eq(name, "typ"))
            continue;
        /* RFC 8725 §3.10: never take a key (jwk, x5c) or a place to fetch one (jku, x5u) from
         * the token; crit (RFC 7515 §4.1.11) would bind us to extensions we do not know */
        if (str_eq(name, "jwk") || str_eq(name, "jku") || str_eq(name, "x5u") ||
            str_eq(name, "x5c") || str_eq(name, "crit"))
            str_fmt(why, whysz, "the header carries a key, a key URL or critical extensions");
        else
            str_fmt(why, whysz, "the header has a member other than alg, kid and typ");
        return GH_EDENIED;
    }
    if (!(a = json_string_value(json_object_get(h, "alg")))) {
        str_fmt(why, whysz, "alg missing or not a string");
        return GH_EINVAL;
    }
    /* RFC 8725 §3.1: "none", HS256, "rs256", … are not on the list */
    if (keys_alg_parse(a, alg) != GH_OK) {
        str_fmt(why, whysz, "alg %.32s is not allowed (RS256, PS256, ES256 only)", a);
        return GH_EDENIED;
    }
    if ((v = json_object_get(h, "kid"))) {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            str_fmt(why, whysz, "kid not a string");
            return GH_EINVAL;
        }
        *kid = json_string_value(v);
    }
    v = json_object_get(h, "typ");
    if (v && !json_is_string(v)) {
        str_fmt(why, whysz, "typ not a string");
        return GH_EINVAL;
    }
    /* RFC 9068 §4, RFC 8725 §3.11: explicit typing keeps an ID token (typ JWT) or any other JWT
     * signed with the same keys from passing as an access token */
    if (!v || !jwt_typ_eq(json_string_value(v), "at+jwt")) {
        str_fmt(why, whysz, "typ is %.32s, not at+jwt (not an access token)",
            v ? json_string_value(v) : "missing");
        return GH_EDENIED;
    }
    return GH_OK;
}

static bool
key_fits(const struct pubkey *k, enum key_alg alg)
{
    if (k->has_alg)
        return k->alg == alg;
    return k->rsa == (alg != KEY_ES256);
}

/* The key for (kid, alg): RFC 7515 §4.1.4, RFC 8725 §3.1. A kid naming several keys picks the one
 * that fits alg; without kid the set must hold exactly one key. */
static int
find_key(const struct jwks *ks, const char *kid, enum key_alg alg, const struct pubkey **out,
    char *why, size_t whysz)
{
    const struct pubkey *hit = NULL;
    size_t named = 0, fit = 0;

    *out = NULL;
    if (!kid) {
        if (ks->n != 1) {
            str_fmt(why, whysz, "the token has no kid and the key set holds %zu keys", ks->n);
            return GH_EDENIED;
        }
        if (!key_fits(&ks->k[0], alg)) {
            str_fmt(why, whysz, "alg %s does not fit the key", keys_alg_name(alg));
            return GH_EDENIED;
        }
        *out = &ks->k[0];
        return GH_OK;
    }
    for (size_t i = 0; i < ks->n; i++) {
        if (!str_eq(ks->k[i].kid, kid))
            continue;
        named++;
        if (key_fits(&ks->k[i], alg)) {
            fit++;
            hit = &ks->k[i];
        }
    }
    if (named == 0) {
        str_fmt(why, whysz, "no key in the key set has kid %.64s", kid);
        return GH_ENOTFOUND;
    }
    if (fit == 0) {
        str_fmt(why, whysz, "alg %s does not fit the key kid %.64s names", keys_alg_name(alg),
            kid);
        return GH_EDENIED;
    }
    if (fit > 1) {
        str_fmt(why, whysz, "kid %.64s names several keys for %s", kid, keys_alg_name(alg));
        return GH_EDENIED;
    }
    *out = hit;
    return GH_OK;
}

/* GH_OK if sig is k's signature of tbs under alg; GH_EDENIED (why) if not; GH_ECRYPTO (logged)
 * if the library failed. Either S of an ES256 signature is accepted: other issuers' signers
 * need not normalise. */
static int
verify_sig(const struct pubkey *k, enum key_alg alg, const char *tbs, size_t tbslen,
    const unsigned char *sig, size_t siglen, char *why, size_t whysz)
{
    const char *w = NULL;
    int rc = cry_verify_jws_sig(k->pkey, alg, false, tbs, tbslen, sig, siglen, &w);

    if (rc == GH_EDENIED)
        str_fmt(why, whysz, strcmp(w, "bad signature") == 0 ? "%s" : "bad signature (%s)", w);
    else if (rc != GH_OK)
        str_fmt(why, whysz, "the crypto library failed (see the log)");
    return rc;
}

static int64_t
sat_add(int64_t a, int64_t b) /* b >= 0 */
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int64_t
sat_sub(int64_t a, int64_t b) /* b >= 0 */
{
    return a < INT64_MIN + b ? INT64_MIN : a - b;
}

/* RFC 7519 §4.1.3: aud is one string or an array of strings; want must be one of them. */
static int
check_aud(const json_t *aud, const char *want, char *why, size_t whysz)
{
    size_t i;
    const json_t *v;
    bool found = false;

    if (!aud) {
        if (!want)
            return GH_OK;
        str_fmt(why, whysz, "the token has no aud; expected %.200s", want);
        return GH_EDENIED;
    }
    if (json_is_string(aud)) {
        found = str_eq(json_string_value(aud), want);
    } else if (json_is_array(aud)) {
        json_array_foreach(aud, i, v) {
            if (!json_is_string(v)) {
                str_fmt(why, whysz, "aud array holds a non-string");
                return GH_EINVAL;
            }
            found = found || str_eq(json_string_value(v), want);
        }
    } else {
        str_fmt(why, whysz, "aud is neither a string nor an array");
        return GH_EINVAL;
    }
    if (want && !found) {
        str_fmt(why, whysz, "aud does not contain %.200s", want);
        return GH_EDENIED;
    }
    return GH_OK;
}

/* RFC 7519 §4.1 and RFC 9068 §4: types first (GH_EINVAL), then iss and aud, then time. */
static int
check_claims(const json_t *c, const struct jwks_expect *ex, char *why, size_t whysz)
{
    const json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
    const json_t *iat = json_object_get(c, "iat"), *iss = json_object_get(c, "iss");
    int64_t leeway = ex->leeway > 0 ? ex->leeway : 0;
    int64_t late = sat_add(ex->now, leeway), early = sat_sub(ex->now, leeway);
    char t1[32], t2[32];
    int rc;

    /* RFC 9068 §2.2: exp is required; NumericDate as an integer, which is all gatehouse writes */
    if (!json_is_integer(exp)) {
        str_fmt(why, whysz, "exp missing or not an integer");
        return GH_EINVAL;
    }
    if ((nbf && !json_is_integer(nbf)) || (iat && !json_is_integer(iat))) {
        str_fmt(why, whysz, "nbf or iat not an integer");
        return GH_EINVAL;
    }
    if (!json_is_string(iss)) {
        str_fmt(why, whysz, "iss missing or not a string");
        return GH_EINVAL;
    }
    /* RFC 9068 §4: iss must match exactly (no normalisation: a trailing '/' is another issuer) */
    if (!str_eq(json_string_value(iss), ex->iss)) {
        str_fmt(why, whysz, "iss is %.120s, not %.120s", json_string_value(iss), ex->iss);
        return GH_EDENIED;
    }
    if ((rc = check_aud(json_object_get(c, "aud"), ex->aud, why, whysz)) != GH_OK)
        return rc;
    /* RFC 7519 §4.1.5: not before nbf; an iat in the future means a clock or a forger is off */
    if (nbf && (int64_t)json_integer_value(nbf) > late) {
        clock_fmt((int64_t)json_integer_value(nbf), t1, sizeof(t1));
        str_fmt(why, whysz, "not valid before %s (nbf)", t1);
        return GH_EDENIED;
    }
    if (iat && (int64_t)json_integer_value(iat) > late) {
        clock_fmt((int64_t)json_integer_value(iat), t1, sizeof(t1));
        str_fmt(why, whysz, "issued in the future (iat %s)", t1);
        return GH_EDENIED;
    }
    /* RFC 7519 §4.1.4: only before exp (plus leeway) */
    if ((int64_t)json_integer_value(exp) <= early) {
        clock_fmt((int64_t)json_integer_value(exp), t1, sizeof(t1));
        clock_fmt(ex->now, t2, sizeof(t2));
        str_fmt(why, whysz, "expired at %s (now %s)", t1, t2);
        return GH_EEXPIRED;
    }
    return GH_OK;
}

int
jwks_verify_at(const struct jwks *ks, const char *token, size_t len,
    const struct jwks_expect *ex, json_t **claims, char *why, size_t whysz)
{
    unsigned char hbuf[HDR_MAX], pbuf[PAYLOAD_MAX], sig[SIG_MAX];
    size_t hlen = 0, plen = 0, siglen = 0;
    const char *d1, *d2, *kid = NULL;
    const struct pubkey *k = NULL;
    enum key_alg alg;
    json_t *hdr = NULL, *pl = NULL;
    int rc = GH_EINVAL, drc;

    *claims = NULL;
    str_fmt(why, whysz, "malformed");
    if (!ks || !ex || !ex->iss) {
        str_fmt(why, whysz, "no key set or issuer to check against");
        return GH_EINVAL;
    }
    if (!token || len == 0 || len > GH_MAX_JWT_LEN) {
        str_fmt(why, whysz, "the token is empty or longer than %d bytes", GH_MAX_JWT_LEN);
        goto out;
    }
    /* RFC 7515 §7.1: exactly three parts; '.' is outside the base64url alphabet */
    if (!(d1 = memchr(token, '.', len)) ||
        !(d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) ||
        memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token))) {
        str_fmt(why, whysz, "not a JWS in compact form (three dot-separated parts)");
        goto out;
    }
    /* strict base64url, then JSON without duplicate members (RFC 8725 §3.9: no parser
     * differentials between us and whoever signed) */
    if (b64url_decode(token, (size_t)(d1 - token), hbuf, sizeof(hbuf), &hlen) != GH_OK ||
        !(hdr = json_loadb((const char *)hbuf, hlen, JSON_REJECT_DUPLICATES, NULL))) {
        str_fmt(why, whysz, "the header is not base64url-encoded JSON");
        goto out;
    }
    if ((rc = check_header(hdr, &alg, &kid, why, whysz)) != GH_OK)
        goto out;
    if ((rc = find_key(ks, kid, alg, &k, why, whysz)) != GH_OK)
        goto out;
    rc = GH_EINVAL;
    if (b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), pbuf, sizeof(pbuf), &plen) != GH_OK) {
        str_fmt(why, whysz, "the payload is not base64url");
        goto out;
    }
    drc = b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), sig, sizeof(sig), &siglen);
    if (drc == GH_ETOOBIG) {
        rc = GH_EDENIED;
        str_fmt(why, whysz, "bad signature (longer than any key makes)");
        goto out;
    }
    if (drc != GH_OK || siglen == 0) {
        str_fmt(why, whysz, "the signature is not base64url or empty");
        goto out;
    }
    /* RFC 7515 §5.2: the signing input is the first two parts as sent */
    if ((rc = verify_sig(k, alg, token, (size_t)(d2 - token), sig, siglen, why, whysz)) !=
        GH_OK)
        goto out;
    rc = GH_EINVAL;
    if (!(pl = json_loadb((const char *)pbuf, plen, JSON_REJECT_DUPLICATES, NULL)) ||
        !json_is_object(pl)) {
        str_fmt(why, whysz, "the payload is not a JSON object");
        goto out;
    }
    if ((rc = check_claims(pl, ex, why, whysz)) != GH_OK)
        goto out;
    *claims = pl;
    pl = NULL;
    rc = GH_OK;
out:
    json_decref(pl);
    json_decref(hdr);
    return rc;
}
