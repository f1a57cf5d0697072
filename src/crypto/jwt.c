/* jwt.c — signs gatehouse's JWTs (access tokens, RFC 9068; id_tokens, OIDC Core §2) and verifies
 * the ones presented back to it, JWS compact serialisation only (RFC 7515 §7.1), with OpenSSL
 * EVP on the keys the ring parsed at load: nothing but the token is parsed per call. Each key
 * also keeps, from load, its initialised signing context (copied per token) and its encoded
 * protected headers for the typs in cry_jws_typs, so signing a token serialises only its claims.
 * Verification is deliberately narrow (RFC 8725 §2.1, §3.1): the header is decoded and parsed
 * here first and may hold only alg, kid and typ; alg must be RS256, PS256 or ES256 and equal the
 * alg of the ring key its kid names, so "none", HS* (an HMAC keyed with our public key), alg
 * switching and embedded or remote keys (jwk, jku, x5u, x5c, crit) are refused before any
 * signature work. ES256 signatures are the 64-byte JWS form R||S (RFC 7518 §3.4), never DER,
 * and low-S only, which our signer guarantees, so a token has exactly one valid signature.
 * The payload is parsed only after the signature verified.
 *
 * JWTs signed by clients (assertions, RFC 7523) have their own path: jwt_parse_unverified()
 * decodes them (the claims must be read before verification, since they name the client whose
 * key verifies), then jwt_verify_hmac() with the client's secret (HS256/384/512) or
 * jwt_verify_jwks() with its registered JWKS (RS256, PS256, ES256) checks the signature. Each
 * verifier accepts only its own alg family, so "none" and an HMAC keyed with a public key are
 * impossible by construction; keys come only from the registration, never from the token.
 * It does not do JWE, unsecured or nested JWTs, or unencoded payloads (RFC 7797). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/digest.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "crypto/ossl.h"
#include "util/b64url.h"
#include "util/str.h"
#include "util/xmem.h"

#define JWT_HDR_MAX     512 /* decoded header bytes; ours are about 110 */
#define JWT_PAYLOAD_MAX (GH_MAX_JWT_LEN / 4 * 3)
#define ES256_COORD     32 /* RFC 7518 §3.4: R and S, 32 bytes each */
#define ES256_SIG_LEN   (2 * ES256_COORD)
#define ES256_DER_MAX   72 /* SEQUENCE { INTEGER r, INTEGER s }, each at most 2 + 33 bytes */

/* The order n of P-256 and floor(n / 2) (SEC 2 §2.4.2). ECDSA accepts S and n - S alike; our
 * signer emits only the S <= n / 2 of the pair and the verifier refuses the other, so nobody
 * can turn one of our tokens into a second valid spelling of itself. */
static const unsigned char p256_order[ES256_COORD] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51
};
static const unsigned char p256_half_order[ES256_COORD] = {
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8
};

/* --- signatures ------------------------------------------------------------------------- */

/* An EVP_MD_CTX ready to sign or verify with pkey: SHA-256 for all our algs; with pss,
 * RSASSA-PSS with MGF1-SHA-256 and a 32-byte salt (RFC 7518 §3.5: salt length = hash length),
 * which the verifier insists on. NULL on a library failure, with the errors left queued. */
EVP_MD_CTX *
cry_md_ctx_new(EVP_PKEY *pkey, bool pss, bool sign)
{
    EVP_PKEY_CTX *pctx = NULL; /* owned by mctx */
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    bool ok;

    if (!mctx)
        return NULL;
    ok = (sign ? EVP_DigestSignInit(mctx, &pctx, EVP_sha256(), NULL, pkey)
               : EVP_DigestVerifyInit(mctx, &pctx, EVP_sha256(), NULL, pkey)) == 1;
    if (ok && pss)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    if (!ok) {
        EVP_MD_CTX_free(mctx);
        return NULL;
    }
    return mctx;
}

/* X.690 §8.3: the DER INTEGER of a 32-byte unsigned big-endian value: minimal length, a 0x00
 * in front when the top bit is set. Returns the bytes written (at most 35). */
static size_t
der_uint(unsigned char *out, const unsigned char v[ES256_COORD])
{
    size_t i = 0, n;

    while (i < ES256_COORD - 1 && v[i] == 0)
        i++;
    n = ES256_COORD - i;
    out[0] = 0x02;
    if (v[i] & 0x80) {
        out[1] = (unsigned char)(n + 1);
        out[2] = 0x00;
        memcpy(out + 3, v + i, n);
        return n + 3;
    }
    out[1] = (unsigned char)n;
    memcpy(out + 2, v + i, n);
    return n + 2;
}

/* JWS R||S (RFC 7518 §3.4) -> the DER Ecdsa-Sig-Value OpenSSL verifies (RFC 3279 §2.2.3).
 * Canonical by construction, so OpenSSL's own re-encoding check always passes. */
static size_t
es256_raw_to_der(const unsigned char raw[ES256_SIG_LEN], unsigned char der[ES256_DER_MAX])
{
    size_t o = 2;

    o += der_uint(der + o, raw);
    o += der_uint(der + o, raw + ES256_COORD);
    der[0] = 0x30;
    der[1] = (unsigned char)(o - 2); /* <= 70: short-form length */
    return o;
}

/* s <- n - s for 0 < s < n: big-endian subtraction with borrow (S is public, no secret here). */
static void
p256_negate(unsigned char s[ES256_COORD])
{
    unsigned borrow = 0;

    for (size_t i = ES256_COORD; i-- > 0;) {
        unsigned d = (unsigned)p256_order[i] - s[i] - borrow;
        s[i] = (unsigned char)d;
        borrow = (d >> 8) & 1; /* wrapped below zero: all high bits set */
    }
}

/* OpenSSL's DER signature -> JWS R||S with the low S. GH_OK or GH_ECRYPTO. */
static int
es256_der_to_raw(const unsigned char *der, size_t derlen, unsigned char raw[ES256_SIG_LEN])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    const BIGNUM *r = NULL, *s = NULL;
    int rc = GH_ECRYPTO;

    if (!sig || p != der + derlen)
        goto out;
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_bn2binpad(r, raw, ES256_COORD) != ES256_COORD ||
        BN_bn2binpad(s, raw + ES256_COORD, ES256_COORD) != ES256_COORD)
        goto out;
    if (memcmp(raw + ES256_COORD, p256_half_order, ES256_COORD) > 0)
        p256_negate(raw + ES256_COORD);
    rc = GH_OK;
out:
    ECDSA_SIG_free(sig);
    return rc;
}

/* How a public-key signature is checked (RFC 7518 §3.3, §3.4, §3.5). */
enum sig_kind { SIG_RSA_PKCS1, SIG_RSA_PSS, SIG_ECDSA_P256 };

/* GH_OK if sig is pkey's signature of tbs; GH_EDENIED (*why set) if not; GH_ECRYPTO if the
 * library failed (logged). ECDSA signatures are JWS R||S; low_s_only refuses the high-S twin
 * (our own tokens), which client assertions may carry, since their signers do not normalise. */
static int
verify_pkey(EVP_PKEY *pkey, enum sig_kind kind, bool low_s_only, const char *tbs, size_t tbslen,
    const unsigned char *sig, size_t siglen, const char **why)
{
    unsigned char der[ES256_DER_MAX];
    EVP_MD_CTX *mctx = NULL;
    int rc = GH_EDENIED;

    if (kind == SIG_ECDSA_P256) {
        /* RFC 7518 §3.4: exactly R||S; a DER signature (70-72 bytes) is not a JWS one */
        if (siglen != ES256_SIG_LEN) {
            *why = "ES256 signature is not 64 bytes";
            return GH_EDENIED;
        }
        if (low_s_only && memcmp(sig + ES256_COORD, p256_half_order, ES256_COORD) > 0) {
            *why = "ES256 signature has a high S";
            return GH_EDENIED;
        }
        siglen = es256_raw_to_der(sig, der);
        sig = der;
    } else if (siglen != (size_t)EVP_PKEY_get_size(pkey)) {
        /* RFC 8017 §8.1.2, §8.2.2: the signature is exactly as long as the modulus */
        *why = "RSA signature length is not the modulus length";
        return GH_EDENIED;
    }
    if (!(mctx = cry_md_ctx_new(pkey, kind == SIG_RSA_PSS, false))) {
        cry_log_errs("jwt: verify init");
        return GH_ECRYPTO;
    }
    if (EVP_DigestVerify(mctx, sig, siglen, (const unsigned char *)tbs, tbslen) == 1) {
        rc = GH_OK;
    } else {
        ERR_clear_error(); /* a forged token, not a fault: the caller reports it */
        *why = "bad signature";
    }
    EVP_MD_CTX_free(mctx);
    return rc;
}

int
cry_verify_jws_sig(EVP_PKEY *pkey, enum key_alg alg, bool low_s_only, const char *tbs,
    size_t tbslen, const unsigned char *sig, size_t siglen, const char **why)
{
    enum sig_kind kind = alg == KEY_ES256 ? SIG_ECDSA_P256
                         : alg == KEY_PS256 ? SIG_RSA_PSS
                                            : SIG_RSA_PKCS1;

    return verify_pkey(pkey, kind, low_s_only, tbs, tbslen, sig, siglen, why);
}

/* GH_OK if sig is k's signature of tbs under alg (one of ours: low S only). */
static int
verify_sig(const struct key *k, enum key_alg alg, const char *tbs, size_t tbslen,
    const unsigned char *sig, size_t siglen, const char **why)
{
    return cry_verify_jws_sig(keys_evp_pkey(k), alg, true, tbs, tbslen, sig, siglen, why);
}

/* --- signing ---------------------------------------------------------------------------- */

const char *const cry_jws_typs[CRY_JWS_TYPS] = { "at+jwt", "JWT" };

int
cry_jws_header64(const struct key *k, const char *typ, char **out)
{
    json_t *hdr = NULL;
    char *htxt = NULL;
    size_t hn;
    int rc = GH_EINVAL;

    *out = NULL;
    /* RFC 7515 §4.1: exactly alg, kid and typ, which is all jwt_verify accepts */
    hdr = json_pack("{s:s, s:s}", "alg", keys_alg_name(keys_alg(k)), "kid", keys_kid(k));
    if (!hdr || (typ && json_object_set_new(hdr, "typ", json_string(typ)) != 0))
        goto out; /* typ is not UTF-8 */
    rc = GH_EINTERNAL;
    if (!(htxt = json_dumps(hdr, JSON_COMPACT)))
        goto out;
    hn = strlen(htxt);
    /* a token jwt_verify would refuse is no use to anyone */
    if (hn > JWT_HDR_MAX) {
        rc = GH_ETOOBIG;
        goto out;
    }
    *out = b64url_encode_new((const unsigned char *)htxt, hn);
    rc = GH_OK;
out:
    free(htxt);
    json_decref(hdr);
    return rc;
}

int
jwt_sign(const struct keyring *kr, enum key_alg alg, const char *typ, const json_t *claims,
    char **out)
{
    const struct key *k;
    const char *h64 = NULL;
    char *own_h64 = NULL, *ptxt = NULL, *tok = NULL;
    unsigned char sig[KEYS_SIG_MAX], raw[ES256_SIG_LEN];
    const unsigned char *sp = sig;
    size_t pn, hl, pl, sl, total, o, siglen = sizeof(sig);
    EVP_MD_CTX *mctx = NULL;
    int rc = GH_EINVAL;

    *out = NULL;
    if (!json_is_object(claims))
        return GH_EINVAL;
    if (!(k = keys_ring_signer(kr, alg)))
        return GH_ENOTFOUND;
    /* the header of our usual typs was encoded when the key was loaded */
    for (size_t i = 0; typ && !h64 && i < CRY_JWS_TYPS; i++) {
        if (strcmp(typ, cry_jws_typs[i]) == 0)
            h64 = keys_jws_header64(k, i);
    }
    if (!h64) {
        if ((rc = cry_jws_header64(k, typ, &own_h64)) != GH_OK)
            goto out;
        h64 = own_h64;
    }
    rc = GH_EINTERNAL;
    if (!(ptxt = json_dumps(claims, JSON_COMPACT)))
        goto out;
    pn = strlen(ptxt);
    hl = strlen(h64);
    pl = b64url_enc_len(pn);
    sl = b64url_enc_len(alg == KEY_ES256 ? ES256_SIG_LEN
                                         : (size_t)EVP_PKEY_get_size(keys_evp_pkey(k)));
    total = hl + 1 + pl + 1 + sl;
    /* a token jwt_verify would refuse is no use to anyone */
    if (total > GH_MAX_JWT_LEN) {
        rc = GH_ETOOBIG;
        goto out;
    }
    tok = x_malloc(total + 1);
    memcpy(tok, h64, hl);
    tok[hl] = '.';
    if (b64url_encode((const unsigned char *)ptxt, pn, tok + hl + 1, pl + 1) != GH_OK)
        goto out;
    o = hl + 1 + pl;
    rc = GH_ECRYPTO;
    /* A copy of the key's context, initialised once at load: EVP_DigestSignInit would look up
     * the digest and signature algorithms again for every token. FINALISE: the copy signs
     * once, so OpenSSL need not keep it reusable (it would duplicate it again inside). */
    if (!(mctx = EVP_MD_CTX_new()) || EVP_MD_CTX_copy_ex(mctx, keys_sign_ctx(k)) != 1) {
        cry_log_errs("jwt: sign");
        goto out;
    }
    EVP_MD_CTX_set_flags(mctx, EVP_MD_CTX_FLAG_FINALISE);
    /* RFC 7515 §5.1: the signing input is ASCII(header64 || '.' || payload64) */
    if (EVP_DigestSign(mctx, sig, &siglen, (const unsigned char *)tok, o) != 1) {
        cry_log_errs("jwt: sign");
        goto out;
    }
    if (alg == KEY_ES256) {
        if (es256_der_to_raw(sig, siglen, raw) != GH_OK) {
            cry_log_errs("jwt: ES256 signature conversion");
            goto out;
        }
        sp = raw;
        siglen = sizeof(raw);
    }
    if (b64url_enc_len(siglen) != sl) {
        log_err("jwt_sign", "unexpected %s signature length %zu", keys_alg_name(alg), siglen);
        goto out;
    }
    tok[o++] = '.';
    if (b64url_encode(sp, siglen, tok + o, total + 1 - o) != GH_OK)
        goto out;
    *out = tok;
    tok = NULL;
    rc = GH_OK;
out:
    EVP_MD_CTX_free(mctx);
    free(tok);
    free(ptxt);
    free(own_h64);
    return rc;
}

/* --- verification ----------------------------------------------------------------------- */

static bool
ascii_case_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return *a == *b;
}

/* RFC 7515 §4.1.9: typ is a media type, compared case-insensitively (RFC 2045 §5.1), and a value
 * without '/' means "application/" + value. Returns the part to compare: without the prefix
 * when the rest has no '/', so "application/at+jwt" and "AT+JWT" compare equal. */
static const char *
typ_core(const char *t)
{
    static const char app[] = "application/";
    size_t n = sizeof(app) - 1;
    char head[sizeof(app)];

    if (strnlen(t, n) < n)
        return t;
    memcpy(head, t, n);
    head[n] = '\0';
    if (ascii_case_eq(head, app) && !strchr(t + n, '/'))
        return t + n;
    return t;
}

bool
jwt_typ_eq(const char *got, const char *want)
{
    return ascii_case_eq(typ_core(got), typ_core(want));
}

/* The protected header: only alg, kid, typ (what jwt_sign writes), alg on our allow-list, typ
 * as expected. *alg and *kid (borrowed from h) are set on GH_OK. */
static int
check_header(json_t *h, const struct jwt_expect *ex, enum key_alg *alg, const char **kid,
    const char **why)
{
    const char *name, *a;
    json_t *v;

    if (!json_is_object(h)) {
        *why = "header is not a JSON object";
        return GH_EINVAL;
    }
    json_object_foreach(h, name, v) {
        if (str_eq(name, "alg") || str_eq(name, "kid") || str_eq(name, "typ"))
            continue;
        /* RFC 8725 §3.10: never take a key (jwk, x5c) or a place to fetch one (jku, x5u) from
         * the token; crit (RFC 7515 §4.1.11) would oblige us to extensions we do not know */
        if (str_eq(name, "jwk") || str_eq(name, "jku") || str_eq(name, "x5u") ||
            str_eq(name, "x5c") || str_eq(name, "crit"))
            *why = "header names a key or critical extensions";
        else
            *why = "header has a member we never write";
        return GH_EDENIED;
    }
    if (!(a = json_string_value(json_object_get(h, "alg")))) {
        *why = "alg missing or not a string";
        return GH_EINVAL;
    }
    /* RFC 8725 §3.1: only our algorithms; "none", HS256, "rs256" etc. are not */
    if (keys_alg_parse(a, alg) != GH_OK) {
        *why = "alg not allowed";
        return GH_EDENIED;
    }
    if (!(v = json_object_get(h, "kid"))) {
        *why = "kid missing";
        return GH_EDENIED;
    }
    if (!(*kid = json_string_value(v))) {
        *why = "kid not a string";
        return GH_EINVAL;
    }
    v = json_object_get(h, "typ");
    if (v && !json_is_string(v)) {
        *why = "typ not a string";
        return GH_EINVAL;
    }
    /* RFC 8725 §3.11: explicit typing keeps an id_token from passing as an access token */
    if (ex->typ && (!v || !jwt_typ_eq(json_string_value(v), ex->typ))) {
        *why = "typ not as expected";
        return GH_EDENIED;
    }
    return GH_OK;
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

/* RFC 7519 §4.1.3: aud is one string or an array of strings. */
static int
check_aud(const json_t *aud, const char *want, const char **why)
{
    size_t i;
    const json_t *v;
    bool found = false;

    if (!aud) {
        if (!want)
            return GH_OK;
        *why = "aud missing";
        return GH_EDENIED;
    }
    if (json_is_string(aud)) {
        found = want && str_eq(json_string_value(aud), want);
    } else if (json_is_array(aud)) {
        json_array_foreach(aud, i, v) {
            if (!json_is_string(v)) {
                *why = "aud array holds a non-string";
                return GH_EINVAL;
            }
            found = found || (want && str_eq(json_string_value(v), want));
        }
    } else {
        *why = "aud neither a string nor an array";
        return GH_EINVAL;
    }
    if (want && !found) {
        *why = "aud does not name us";
        return GH_EDENIED;
    }
    return GH_OK;
}

/* RFC 7519 §4.1: types first (GH_EINVAL), then iss and aud (GH_EDENIED), then time. */
static int
check_claims(const json_t *c, const struct jwt_expect *ex, const char **why)
{
    const json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
    const json_t *iat = json_object_get(c, "iat"), *iss = json_object_get(c, "iss");
    int64_t leeway = ex->leeway > 0 ? ex->leeway : 0;
    int64_t late = sat_add(ex->now, leeway), early = sat_sub(ex->now, leeway);
    int rc;

    /* every token we issue expires (RFC 9068 §2.2, OIDC Core §2); NumericDate as an integer,
     * which is all we write */
    if (!json_is_integer(exp)) {
        *why = "exp missing or not an integer";
        return GH_EINVAL;
    }
    if ((nbf && !json_is_integer(nbf)) || (iat && !json_is_integer(iat))) {
        *why = "nbf or iat not an integer";
        return GH_EINVAL;
    }
    if (iss && !json_is_string(iss)) {
        *why = "iss not a string";
        return GH_EINVAL;
    }
    if ((rc = check_aud(json_object_get(c, "aud"), ex->aud, why)) != GH_OK)
        return rc;
    if (ex->iss && !str_eq(json_string_value(iss), ex->iss)) {
        *why = "iss is not us";
        return GH_EDENIED;
    }
    /* RFC 7519 §4.1.5: not before nbf; iat in the future means a clock or a forger is off */
    if (nbf && (int64_t)json_integer_value(nbf) > late) {
        *why = "nbf in the future";
        return GH_EDENIED;
    }
    if (iat && (int64_t)json_integer_value(iat) > late) {
        *why = "iat in the future";
        return GH_EDENIED;
    }
    /* RFC 7519 §4.1.4: only before exp (plus leeway) */
    if (!ex->allow_expired && (int64_t)json_integer_value(exp) <= early) {
        *why = "expired";
        return GH_EEXPIRED;
    }
    return GH_OK;
}

int
jwt_verify(const struct keyring *kr, const char *token, size_t len,
    const struct jwt_expect *ex, json_t **claims)
{
    unsigned char hbuf[JWT_HDR_MAX], pbuf[JWT_PAYLOAD_MAX], sig[KEYS_SIG_MAX];
    size_t hlen = 0, plen = 0, siglen = 0;
    const char *d1, *d2, *kid = NULL, *why = "malformed";
    const struct key *k;
    enum key_alg alg;
    json_t *hdr = NULL, *pl = NULL;
    int rc = GH_EINVAL, drc;

    *claims = NULL;
    if (!token || !ex || len == 0 || len > GH_MAX_JWT_LEN) {
        why = "empty or over GH_MAX_JWT_LEN";
        goto out;
    }
    /* RFC 7515 §7.1: exactly three parts; '.' is outside the base64url alphabet */
    if (!(d1 = memchr(token, '.', len)) ||
        !(d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) ||
        memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token))) {
        why = "not three parts";
        goto out;
    }
    /* strict base64url (no padding, whitespace or stray bits), then JSON without duplicate
     * members (RFC 7515 §4, RFC 8725 §3.9: no room for parser differentials) */
    if (b64url_decode(token, (size_t)(d1 - token), hbuf, sizeof(hbuf), &hlen) != GH_OK ||
        !(hdr = json_loadb((const char *)hbuf, hlen, JSON_REJECT_DUPLICATES, NULL))) {
        why = "header not base64url JSON";
        goto out;
    }
    if ((rc = check_header(hdr, ex, &alg, &kid, &why)) != GH_OK)
        goto out;
    /* RFC 8725 §3.1: the key is ours and its alg must be the header's (no RS256 -> PS256) */
    rc = GH_EDENIED;
    if (!(k = keys_ring_find(kr, kid))) {
        why = "unknown kid";
        goto out;
    }
    if (keys_alg(k) != alg) {
        why = "alg is not the alg of the key kid names";
        goto out;
    }
    rc = GH_EINVAL;
    if (b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), pbuf, sizeof(pbuf), &plen) != GH_OK) {
        why = "payload not base64url";
        goto out;
    }
    drc = b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), sig, sizeof(sig), &siglen);
    if (drc == GH_ETOOBIG) {
        /* longer than any of our keys makes: a wrong length, refused like a wrong signature */
        rc = GH_EDENIED;
        why = "signature longer than any of ours";
        goto out;
    }
    if (drc != GH_OK || siglen == 0) {
        why = "signature not base64url or empty";
        goto out;
    }
    if ((rc = verify_sig(k, alg, token, (size_t)(d2 - token), sig, siglen, &why)) != GH_OK)
        goto out;
    rc = GH_EINVAL;
    if (!(pl = json_loadb((const char *)pbuf, plen, JSON_REJECT_DUPLICATES, NULL)) ||
        !json_is_object(pl)) {
        why = "payload not a JSON object";
        goto out;
    }
    if ((rc = check_claims(pl, ex, &why)) != GH_OK)
        goto out;
    *claims = pl;
    pl = NULL;
    rc = GH_OK;
out:
    if (rc != GH_OK)
        log_debug("jwt_rejected", "why=\"%s\" rc=%s", why, gh_strerror(rc));
    json_decref(pl);
    json_decref(hdr);
    return rc;
}

void
jwt_half_hash(const char *token, size_t len, char out[JWT_AT_HASH_LEN + 1])
{
    unsigned char d[DIG_SHA256_LEN];

    /* OIDC Core §3.1.3.6: base64url of the left-most 128 bits of SHA-256 (our algs' hash) */
    dig_sha256(token, len, d);
    b64url_encode(d, DIG_SHA256_LEN / 2, out, JWT_AT_HASH_LEN + 1);
}

/* --- JWTs signed by others (client assertions) ----------------------------------------- */

#define CLIENT_HDR_MAX  1024 /* decoded header bytes: alg, a kid of up to 256, typ, x5t */
#define CLIENT_KID_MAX  256  /* as keys_jwks_check_public allows in a client JWKS */
#define HMAC_MAX        64   /* HS512 */
#define RSA_N_MAX       (KEYS_RSA_BITS_MAX / 8)
#define RSA_E_MAX       8

static const struct {
    const char *name;
    const char *digest; /* HMAC: its hash (RFC 7518 §3.2); NULL for the public-key algs */
    size_t mac_len;
} alg_tab[JWT_ALG_COUNT] = {
    [JWT_HS256] = { "HS256", "SHA256", 32 },
    [JWT_HS384] = { "HS384", "SHA384", 48 },
    [JWT_HS512] = { "HS512", "SHA512", 64 },
    [JWT_RS256] = { "RS256", NULL, 0 },
    [JWT_PS256] = { "PS256", NULL, 0 },
    [JWT_ES256] = { "ES256", NULL, 0 },
};

struct jwt_unverified {
    json_t *hdr, *claims;
    enum jwt_alg alg;
    const char *kid, *typ;   /* borrowed from hdr; NULL when absent */
    char *input;             /* ASCII(header64 '.' payload64), the JWS signing input */
    size_t input_len;
    unsigned char sig[KEYS_SIG_MAX];
    size_t sig_len;
};

const char *
jwt_alg_name(enum jwt_alg a)
{
    return (unsigned)a < JWT_ALG_COUNT ? alg_tab[a].name : "?";
}

int
jwt_alg_parse(const char *s, enum jwt_alg *out)
{
    for (unsigned i = 0; i < JWT_ALG_COUNT; i++) {
        if (str_eq(s, alg_tab[i].name)) {
            *out = (enum jwt_alg)i;
            return GH_OK;
        }
    }
    return GH_EINVAL;
}

bool
jwt_alg_is_hmac(enum jwt_alg a)
{
    return (unsigned)a < JWT_ALG_COUNT && alg_tab[a].digest != NULL;
}

void
jwt_unverified_free(struct jwt_unverified *u)
{
    if (!u)
        return;
    json_decref(u->claims);
    json_decref(u->hdr);
    free(u->input);
    free(u);
}

enum jwt_alg
jwt_unverified_alg(const struct jwt_unverified *u)
{
    return u->alg;
}

const char *
jwt_unverified_kid(const struct jwt_unverified *u)
{
    return u->kid;
}

const char *
jwt_unverified_typ(const struct jwt_unverified *u)
{
    return u->typ;
}

const json_t *
jwt_unverified_claims_borrow(const struct jwt_unverified *u)
{
    return u->claims;
}

/* A client's protected header: the members below and nothing else. The x5t thumbprints are
 * hints a signer may add; they never select or supply a key. */
static int
check_client_header(struct jwt_unverified *u, const char **why)
{
    const char *name;
    json_t *v, *h = u->hdr;

    if (!json_is_object(h)) {
        *why = "header is not a JSON object";
        return GH_EINVAL;
    }
    json_object_foreach(h, name, v) {
        if (str_eq(name, "alg") || str_eq(name, "kid") || str_eq(name, "typ") ||
            str_eq(name, "x5t") || str_eq(name, "x5t#S256"))
            continue;
        /* RFC 8725 §3.10: the key comes from the client's registration, never from the token
         * (jwk, x5c) or from a URL in it (jku, x5u); crit (RFC 7515 §4.1.11) would oblige us to
         * extensions we do not implement (b64, RFC 7797); zip/enc are JWE (RFC 7516) */
        if (str_eq(name, "jwk") || str_eq(name, "jku") || str_eq(name, "x5u") ||
            str_eq(name, "x5c") || str_eq(name, "crit"))
            *why = "header names a key, a key URL or critical extensions";
        else
            *why = "header has a member we do not accept";
        return GH_EDENIED;
    }
    if (!json_is_string(v = json_object_get(h, "alg"))) {
        *why = "alg missing or not a string";
        return GH_EINVAL;
    }
    /* RFC 8725 §3.1: an allow-list; "none", "hs256", RS512 etc. are not on it */
    if (jwt_alg_parse(json_string_value(v), &u->alg) != GH_OK) {
        *why = "alg not allowed";
        return GH_EDENIED;
    }
    if ((v = json_object_get(h, "kid"))) {
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) > CLIENT_KID_MAX) {
            *why = "kid not a string of 1 to 256 bytes";
            return GH_EINVAL;
        }
        u->kid = json_string_value(v);
    }
    if ((v = json_object_get(h, "typ"))) {
        if (!json_is_string(v)) {
            *why = "typ not a string";
            return GH_EINVAL;
        }
        u->typ = json_string_value(v);
    }
    return GH_OK;
}

int
jwt_parse_unverified(const char *token, size_t len, struct jwt_unverified **out,
    const char **why)
{
    unsigned char hbuf[CLIENT_HDR_MAX], pbuf[JWT_PAYLOAD_MAX];
    size_t hlen = 0, plen = 0;
    const char *d1, *d2;
    struct jwt_unverified *u = NULL;
    int rc = GH_EINVAL, drc;

    *out = NULL;
    *why = "malformed";
    if (!token || len == 0) {
        *why = "empty";
        return GH_EINVAL;
    }
    if (len > GH_MAX_JWT_LEN) {
        *why = "over GH_MAX_JWT_LEN";
        return GH_ETOOBIG;
    }
    /* RFC 7515 §7.1: exactly three parts; '.' is outside the base64url alphabet */
    if (!(d1 = memchr(token, '.', len)) ||
        !(d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) ||
        memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token))) {
        *why = "not three parts";
        return GH_EINVAL;
    }
    u = x_calloc(1, sizeof(*u));
    /* strict base64url, JSON without duplicate members (RFC 8725 §3.9) */
    if (b64url_decode(token, (size_t)(d1 - token), hbuf, sizeof(hbuf), &hlen) != GH_OK ||
        !(u->hdr = json_loadb((const char *)hbuf, hlen, JSON_REJECT_DUPLICATES, NULL))) {
        *why = "header not base64url JSON";
        goto out;
    }
    if ((rc = check_client_header(u, why)) != GH_OK)
        goto out;
    rc = GH_EINVAL;
    if (b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), pbuf, sizeof(pbuf), &plen) != GH_OK ||
        !(u->claims = json_loadb((const char *)pbuf, plen, JSON_REJECT_DUPLICATES, NULL)) ||
        !json_is_object(u->claims)) {
        *why = "payload not a base64url JSON object";
        goto out;
    }
    drc = b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), u->sig, sizeof(u->sig),
        &u->sig_len);
    if (drc == GH_ETOOBIG) {
        rc = GH_EDENIED; /* longer than any signature we check: a wrong signature */
        *why = "signature longer than any allowed alg makes";
        goto out;
    }
    if (drc != GH_OK || u->sig_len == 0) {
        *why = "signature not base64url or empty";
        goto out;
    }
    u->input_len = (size_t)(d2 - token);
    u->input = x_strndup(token, u->input_len);
    *out = u;
    u = NULL;
    rc = GH_OK;
out:
    jwt_unverified_free(u);
    return rc;
}

int
jwt_verify_hmac(const struct jwt_unverified *u, const void *key, size_t keylen,
    const char **why)
{
    unsigned char mac[HMAC_MAX];
    size_t maclen = 0;
    int rc = GH_EDENIED;

    /* RFC 8725 §3.1: an HMAC key verifies HMAC algs only */
    if (!jwt_alg_is_hmac(u->alg)) {
        *why = "alg is not an HMAC alg";
        return GH_EDENIED;
    }
    /* RFC 7518 §3.2: a key at least as long as the hash output MUST be used */
    if (!key || keylen < alg_tab[u->alg].mac_len) {
        *why = "HMAC key shorter than the alg's hash";
        return GH_EDENIED;
    }
    if (!EVP_Q_mac(NULL, "HMAC", NULL, alg_tab[u->alg].digest, NULL, key, keylen,
            (const unsigned char *)u->input, u->input_len, mac, sizeof(mac), &maclen) ||
        maclen != alg_tab[u->alg].mac_len) {
        cry_log_errs("jwt: HMAC");
        rc = GH_ECRYPTO;
        goto out;
    }
    /* constant time: the MAC of this input is the one forgery an attacker could use */
    if (u->sig_len != maclen || CRYPTO_memcmp(u->sig, mac, maclen) != 0) {
        *why = "bad signature";
        goto out;
    }
    rc = GH_OK;
out:
    mem_wipe(mac, sizeof(mac));
    return rc;
}

/* The bytes of a base64url member: false if absent, not a string, malformed, empty or longer
 * than bufsz. */
static bool
jwk_bytes(const json_t *jwk, const char *name, unsigned char *buf, size_t bufsz, size_t *len)
{
    const json_t *v = json_object_get(jwk, name);

    return json_is_string(v) &&
           b64url_decode(json_string_value(v), json_string_length(v), buf, bufsz, len) ==
               GH_OK &&
           *len > 0;
}

/* A public key from the numbers of an RSA JWK (RFC 7518 §6.3.1): 2048..8192 bits, an odd
 * exponent above 2^16 (SP 800-56B §6.2.1, as keys_jwks_check_public requires at registration). */
static int
rsa_from_jwk(const json_t *jwk, EVP_PKEY **pk, const char **why)
{
    unsigned char n[RSA_N_MAX], e[RSA_E_MAX];
    size_t nlen = 0, elen = 0;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int rc = GH_EDENIED;

    if (!jwk_bytes(jwk, "n", n, sizeof(n), &nlen) || !jwk_bytes(jwk, "e", e, sizeof(e), &elen)) {
        *why = "RSA key: n or e missing, malformed or too long";
        return GH_EDENIED;
    }
    rc = GH_ECRYPTO;
    if (!(bn = BN_bin2bn(n, (int)nlen, NULL)) || !(be = BN_bin2bn(e, (int)elen, NULL)))
        goto out;
    rc = GH_EDENIED;
    if (BN_num_bits(bn) < GH_RSA_BITS_MIN) {
        *why = "RSA key shorter than 2048 bits";
        goto out;
    }
    if (!BN_is_odd(be) || BN_num_bits(be) < 17) {
        *why = "RSA key: exponent even or not above 2^16";
        goto out;
    }
    rc = GH_ECRYPTO;
    if (!(bld = OSSL_PARAM_BLD_new()) ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1 ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
        EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        cry_log_errs("jwt: RSA key from JWK");
        goto out;
    }
    rc = GH_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return rc;
}

/* A public key from an EC JWK on P-256 (RFC 7518 §6.2.1): x and y exactly 32 bytes each, and
 * the point on the curve, which the import itself checks (EC_POINT_oct2point refuses a point
 * off the curve; P-256 has cofactor 1, so that also puts it in the right group). */
static int
ec_from_jwk(const json_t *jwk, EVP_PKEY **pk, const char **why)
{
    unsigned char pt[1 + 2 * ES256_COORD];
    size_t xl = 0, yl = 0;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int rc = GH_EDENIED;

    if (!str_eq(json_string_value(json_object_get(jwk, "crv")), "P-256")) {
        *why = "EC key not on P-256";
        return GH_EDENIED;
    }
    if (!jwk_bytes(jwk, "x", pt + 1, ES256_COORD, &xl) || xl != ES256_COORD ||
        !jwk_bytes(jwk, "y", pt + 1 + ES256_COORD, ES256_COORD, &yl) || yl != ES256_COORD) {
        *why = "EC key: x and y must be 32 bytes";
        return GH_EDENIED;
    }
    pt[0] = 0x04; /* SEC 1 §2.3.3 uncompressed point */
    if (!(bld = OSSL_PARAM_BLD_new()) ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) != 1 ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
        EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        ERR_clear_error(); /* a point off the curve is the client's mistake, not a fault */
        *why = "EC key: not a point on P-256";
        EVP_PKEY_free(*pk);
        *pk = NULL;
        goto out;
    }
    rc = GH_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return rc;
}

/* The key of jwk if it may verify alg: kty RSA for RS256/PS256 and EC for ES256; use "sig"
 * and key_ops containing "verify" when given; its own alg, when given, the header's (RFC 8725
 * §3.1: one key, one alg); public members only. */
static int
pkey_from_jwk(const json_t *jwk, enum jwt_alg alg, EVP_PKEY **pk, const char **why)
{
    static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k",
        NULL };
    const char *kty;
    const json_t *v, *op;
    size_t i;
    bool verify = false;

    *pk = NULL;
    if (!json_is_object(jwk)) {
        *why = "JWKS entry is not an object";
        return GH_EDENIED;
    }
    for (i = 0; private_members[i]; i++) {
        if (json_object_get(jwk, private_members[i])) {
            *why = "JWK has private or symmetric members";
            return GH_EDENIED;
        }
    }
    kty = json_string_value(json_object_get(jwk, "kty"));
    if (!str_eq(kty, alg == JWT_ES256 ? "EC" : "RSA")) {
        *why = "key type does not fit the alg";
        return GH_EDENIED;
    }
    if ((v = json_object_get(jwk, "use")) && !str_eq(json_string_value(v), "sig")) {
        *why = "key use is not sig";
        return GH_EDENIED;
    }
    if ((v = json_object_get(jwk, "key_ops"))) {
        json_array_foreach(v, i, op) {
            verify = verify || str_eq(json_string_value(op), "verify");
        }
        if (!verify) {
            *why = "key_ops does not allow verify";
            return GH_EDENIED;
        }
    }
    if ((v = json_object_get(jwk, "alg")) && !str_eq(json_string_value(v), jwt_alg_name(alg))) {
        *why = "the key is registered for another alg";
        return GH_EDENIED;
    }
    return alg == JWT_ES256 ? ec_from_jwk(jwk, pk, why) : rsa_from_jwk(jwk, pk, why);
}

int
jwt_verify_jwks(const struct jwt_unverified *u, const char *jwks, size_t len, const char **why)
{
    json_t *root = NULL, *keys, *jwk = NULL, *k;
    EVP_PKEY *pk = NULL;
    size_t i, n;
    int rc = GH_EDENIED;

    /* RFC 8725 §3.1: public keys verify public-key algs only, so an HS256 token "signed" with
     * the bytes of a registered public key (PEM, DER, JWK, n) never reaches a MAC */
    if (jwt_alg_is_hmac(u->alg)) {
        *why = "HMAC alg for a key-based client";
        return GH_EDENIED;
    }
    if (!jwks || len == 0 || len > GH_MAX_JWKS ||
        !(root = json_loadb(jwks, len, JSON_REJECT_DUPLICATES, NULL)) ||
        !json_is_array(keys = json_object_get(root, "keys")) ||
        (n = json_array_size(keys)) == 0 || n > GH_MAX_JWKS_KEYS) {
        *why = "the client's JWKS is unusable";
        goto out;
    }
    if (u->kid) {
        /* the kid only selects among the client's own keys: compared, never used otherwise */
        json_array_foreach(keys, i, k) {
            if (str_eq(json_string_value(json_object_get(k, "kid")), u->kid)) {
                jwk = k;
                break;
            }
        }
        if (!jwk) {
            *why = "kid not in the client's JWKS";
            goto out;
        }
    } else if (n == 1) {
        jwk = json_array_get(keys, 0); /* one key: no doubt which is meant */
    } else {
        *why = "no kid and the client's JWKS holds several keys";
        goto out;
    }
    if ((rc = pkey_from_jwk(jwk, u->alg, &pk, why)) != GH_OK)
        goto out;
    rc = verify_pkey(pk, u->alg == JWT_ES256 ? SIG_ECDSA_P256
                         : u->alg == JWT_PS256 ? SIG_RSA_PSS
                                               : SIG_RSA_PKCS1,
        false, u->input, u->input_len, u->sig, u->sig_len, why);
out:
    EVP_PKEY_free(pk);
    json_decref(root);
    return rc;
}
