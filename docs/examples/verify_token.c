/* verify_token.c — verify a gatehouse access token offline, as a resource server does.
 *
 * A small, self-contained example (OpenSSL 3 + jansson) of the checks described in
 * docs/service-to-service.md: RFC 8725 (JWT best practices) and RFC 9068 §4 (JWT access tokens).
 *
 *   cc -std=c11 -Wall -Wextra -o verify_token verify_token.c \
 *       $(pkg-config --cflags --libs openssl jansson)
 *   curl -s https://id.example/jwks.json > jwks.json
 *   ./verify_token --jwks jwks.json --issuer https://id.example \
 *       --audience https://api.example/ "$TOKEN"
 *
 * The JWKS comes from a file, or from standard input when --jwks is "-" or absent
 * (curl -s https://id.example/jwks.json | ./verify_token --issuer … TOKEN).
 * On success the claims are printed as JSON and the exit status is 0; otherwise one line
 * "verify_token: <reason>" goes to standard error and the exit status is 1 (2: bad usage).
 *
 * What it checks, in this order:
 *   1. three base64url parts; the header is a JSON object with only alg, kid and typ
 *      (never trust a key or key URL carried by the token: jwk, jku, x5u, x5c; crit refused);
 *   2. alg is RS256, PS256 or ES256 — never "none" or HS256 (RFC 8725 §3.1);
 *   3. typ is "at+jwt" (or "application/at+jwt"): an ID token is not an access token;
 *   4. the key is the one kid names in the JWKS (a token without kid is accepted only when the
 *      set holds exactly one key); its kty/crv fit the alg, and its "alg", if any, equals it;
 *   5. the signature (ES256: the 64-byte R||S form of RFC 7518 §3.4);
 *   6. iss equals --issuer exactly, aud contains --audience (when given), exp is in the
 *      future and nbf/iat are not, each with 60 s of leeway.
 * A real service would load the JWKS once, cache it, and fetch it again (once) when a token
 * names an unknown kid; see docs/service-to-service.md. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#define MAX_TOKEN   8192
#define MAX_JWKS    (64 * 1024)
#define LEEWAY      60

static const char *prog = "verify_token";

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line "verify_token: <reason>" on standard error; returns 1 (the exit status). */
static int
fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* Strict base64url without padding (RFC 7515 §2). Returns the decoded length, or -1. */
static long
b64url_decode(const char *in, size_t len, unsigned char *out, size_t outsz)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned long acc = 0;
    size_t bits = 0, o = 0;

    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        const char *p = in[i] ? strchr(abc, in[i]) : NULL;

        if (!p)
            return -1;
        acc = (acc << 6) | (unsigned long)(p - abc);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == outsz)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (acc & ((1UL << bits) - 1)) /* leftover bits must be zero: one spelling per value */
        return -1;
    return (long)o;
}

/* A base64url JSON member decoded into a BIGNUM, or NULL. */
static BIGNUM *
bn_member(const json_t *jwk, const char *name, size_t max)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    unsigned char buf[1024];
    long n;

    if (!s || max > sizeof(buf) || (n = b64url_decode(s, strlen(s), buf, max)) <= 0)
        return NULL;
    return BN_bin2bn(buf, (int)n, NULL);
}

/* The OpenSSL public key of an RSA or EC P-256 JWK, or NULL. */
static EVP_PKEY *
jwk_to_pkey(const json_t *jwk)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *a = NULL, *b = NULL;
    unsigned char pt[65];
    bool rsa = kty && strcmp(kty, "RSA") == 0;

    if (!bld || !kty)
        goto out;
    if (rsa) {
        if (!(a = bn_member(jwk, "n", 1024)) || !(b = bn_member(jwk, "e", 8)) ||
            BN_num_bits(a) < 2048 || /* RFC 8725 §3.5: no short keys */
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, a) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, b))
            goto out;
    } else if (strcmp(kty, "EC") == 0) {
        const char *crv = json_string_value(json_object_get(jwk, "crv"));
        const char *x = json_string_value(json_object_get(jwk, "x"));
        const char *y = json_string_value(json_object_get(jwk, "y"));

        pt[0] = 0x04; /* uncompressed point */
        if (!crv || strcmp(crv, "P-256") != 0 || !x || !y ||
            b64url_decode(x, strlen(x), pt + 1, 32) != 32 ||
            b64url_decode(y, strlen(y), pt + 33, 32) != 32 ||
            !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)))
            goto out;
    } else {
        goto out;
    }
    if (!(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, rsa ? "RSA" : "EC", NULL)) ||
        EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
out:
    BN_free(a);
    BN_free(b);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* Does the JWK fit the header's alg? kty (and crv) by family; the JWK's own alg exactly. */
static bool
jwk_fits(const json_t *jwk, const char *alg)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *kalg = json_string_value(json_object_get(jwk, "alg"));
    const char *use = json_string_value(json_object_get(jwk, "use"));
    bool want_ec = strcmp(alg, "ES256") == 0;

    if (!kty || (use && strcmp(use, "sig") != 0))
        return false;
    if (kalg && strcmp(kalg, alg) != 0)
        return false; /* RFC 8725 §3.1: a key is used with its one algorithm */
    return want_ec ? strcmp(kty, "EC") == 0 : strcmp(kty, "RSA") == 0;
}

/* Verify sig over input with pkey under alg. */
static bool
verify_sig(EVP_PKEY *pkey, const char *alg, const char *input, size_t inlen,
    const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    unsigned char *der = NULL;
    ECDSA_SIG *es = NULL;
    bool ok = false;
    int n;

    if (!m || EVP_DigestVerifyInit(m, &pc, EVP_sha256(), NULL, pkey) != 1)
        goto out;
    if (strcmp(alg, "PS256") == 0 &&
        (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) != 1))
        goto out;
    if (strcmp(alg, "ES256") == 0) {
        /* JWS carries R||S (32 + 32 bytes); OpenSSL wants DER */
        BIGNUM *r, *s;

        if (siglen != 64 || !(es = ECDSA_SIG_new()))
            goto out;
        r = BN_bin2bn(sig, 32, NULL);
        s = BN_bin2bn(sig + 32, 32, NULL);
        if (!r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
            BN_free(r);
            BN_free(s);
            goto out;
        }
        if ((n = i2d_ECDSA_SIG(es, &der)) <= 0)
            goto out;
        sig = der;
        siglen = (size_t)n;
    } else if (siglen != (size_t)EVP_PKEY_get_size(pkey)) {
        goto out;
    }
    ok = EVP_DigestVerify(m, sig, siglen, (const unsigned char *)input, inlen) == 1;
out:
    ERR_clear_error();
    ECDSA_SIG_free(es);
    OPENSSL_free(der);
    EVP_MD_CTX_free(m);
    return ok;
}

/* JSON from base64url, no duplicate members; NULL if malformed. */
static json_t *
b64_json(const char *s, size_t len)
{
    unsigned char buf[MAX_TOKEN];
    long n = b64url_decode(s, len, buf, sizeof(buf));

    return n < 0 ? NULL : json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
}

static bool
aud_contains(const json_t *aud, const char *want)
{
    size_t i;
    json_t *v;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    json_array_foreach(aud, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return true;
    }
    return false;
}

/* 0 and the claims in *out, or 1 after printing why. */
static int
verify(const char *tok, const json_t *jwks, const char *iss, const char *aud, json_t **out)
{
    const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    const char *alg, *kid, *typ, *name;
    json_t *hdr = NULL, *cl = NULL, *keys = json_object_get(jwks, "keys"), *v, *jwk = NULL;
    unsigned char sig[1024];
    long siglen;
    EVP_PKEY *pkey = NULL;
    int64_t now = (int64_t)time(NULL);
    size_t i, matches = 0;
    int rc = 1;

    *out = NULL;
    if (strlen(tok) > MAX_TOKEN || !d1 || !d2 || strchr(d2 + 1, '.'))
        return fail("not a compact JWS");
    if (!(hdr = b64_json(tok, (size_t)(d1 - tok))) || !json_is_object(hdr)) {
        fail("the header is not base64url JSON");
        goto out;
    }
    json_object_foreach(hdr, name, v) {
        if (strcmp(name, "alg") != 0 && strcmp(name, "kid") != 0 && strcmp(name, "typ") != 0) {
            fail("header member %s is not allowed", name);
            goto out;
        }
    }
    alg = json_string_value(json_object_get(hdr, "alg"));
    kid = json_string_value(json_object_get(hdr, "kid"));
    typ = json_string_value(json_object_get(hdr, "typ"));
    if (!alg || (strcmp(alg, "RS256") != 0 && strcmp(alg, "PS256") != 0 &&
                    strcmp(alg, "ES256") != 0)) {
        fail("alg %s is not allowed", alg ? alg : "(missing)");
        goto out;
    }
    if (!typ || (strcasecmp(typ, "at+jwt") != 0 && strcasecmp(typ, "application/at+jwt") != 0)) {
        fail("typ %s is not at+jwt: not an access token", typ ? typ : "(missing)");
        goto out;
    }
    if (json_object_get(hdr, "kid") && !kid) {
        fail("kid is not a string");
        goto out;
    }
    /* the key: named by kid; without kid, only a one-key set is unambiguous */
    if (!kid && json_array_size(keys) != 1) {
        fail("the token has no kid and the key set does not hold exactly one key");
        goto out;
    }
    json_array_foreach(keys, i, v) {
        const char *k = json_string_value(json_object_get(v, "kid"));

        if (kid && (!k || strcmp(k, kid) != 0))
            continue;
        if (jwk_fits(v, alg)) {
            jwk = v;
            matches++;
        }
    }
    if (matches != 1) {
        fail(matches ? "kid %s names several keys" : "no key for this kid and alg: %s",
            kid ? kid : "(none)");
        goto out;
    }
    if (!(pkey = jwk_to_pkey(jwk))) {
        fail("the key for kid %s is not a valid RSA (2048+) or P-256 key", kid ? kid : "(none)");
        goto out;
    }
    if ((siglen = b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof(sig))) <= 0 ||
        !verify_sig(pkey, alg, tok, (size_t)(d2 - tok), sig, (size_t)siglen)) {
        fail("bad signature");
        goto out;
    }
    /* only now is the payload worth reading */
    if (!(cl = b64_json(d1 + 1, (size_t)(d2 - d1 - 1))) || !json_is_object(cl)) {
        fail("the payload is not a JSON object");
        goto out;
    }
    v = json_object_get(cl, "iss");
    if (!json_is_string(v) || strcmp(json_string_value(v), iss) != 0) {
        fail("iss is not %s", iss);
        goto out;
    }
    if (aud && !aud_contains(json_object_get(cl, "aud"), aud)) {
        fail("aud does not contain %s", aud);
        goto out;
    }
    v = json_object_get(cl, "exp");
    if (!json_is_integer(v) || json_integer_value(v) <= now - LEEWAY) {
        fail("expired (or no exp)");
        goto out;
    }
    v = json_object_get(cl, "nbf");
    if (v && (!json_is_integer(v) || json_integer_value(v) > now + LEEWAY)) {
        fail("not valid yet (nbf)");
        goto out;
    }
    v = json_object_get(cl, "iat");
    if (v && (!json_is_integer(v) || json_integer_value(v) > now + LEEWAY)) {
        fail("issued in the future (iat)");
        goto out;
    }
    *out = cl;
    cl = NULL;
    rc = 0;
out:
    EVP_PKEY_free(pkey);
    json_decref(cl);
    json_decref(hdr);
    return rc;
}

static json_t *
load_jwks(const char *path)
{
    FILE *f = (!path || strcmp(path, "-") == 0) ? stdin : fopen(path, "r");
    char *buf = malloc(MAX_JWKS + 1);
    size_t n = 0;
    json_t *j = NULL;

    if (!f || !buf)
        goto out;
    n = fread(buf, 1, MAX_JWKS + 1, f);
    if (n > 0 && n <= MAX_JWKS)
        j = json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL);
out:
    if (f && f != stdin)
        fclose(f);
    free(buf);
    if (j && !json_is_array(json_object_get(j, "keys"))) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

int
main(int argc, char **argv)
{
    const char *jwks_path = NULL, *iss = NULL, *aud = NULL, *tok = NULL;
    json_t *jwks, *claims = NULL;
    int rc;

    bool bad = false;

    for (int i = 1; i < argc && !bad; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--jwks") == 0)
            jwks_path = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--issuer") == 0)
            iss = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--audience") == 0)
            aud = argv[++i];
        else if (!tok && argv[i][0] != '-')
            tok = argv[i];
        else
            bad = true;
    }
    if (bad || !iss || !tok) {
        fprintf(stderr, "usage: %s [--jwks FILE|-] --issuer ISSUER [--audience AUD] TOKEN\n",
            prog);
        return 2;
    }
    if (!(jwks = load_jwks(jwks_path)))
        return fail("cannot read a JWKS of at most 64 KiB from %s",
            jwks_path ? jwks_path : "standard input");
    rc = verify(tok, jwks, iss, aud, &claims);
    if (rc == 0) {
        json_dumpf(claims, stdout, JSON_INDENT(2));
        putchar('\n');
    }
    json_decref(claims);
    json_decref(jwks);
    return rc;
}
