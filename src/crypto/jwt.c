/* jwt.c — signs gatehouse's JWTs (access tokens, RFC 9068; id_tokens, OIDC Core §2) and verifies
 * the ones presented back to it, JWS compact serialisation only (RFC 7515 §7.1), with OpenSSL
 * EVP on the keys the ring parsed at load: nothing but the token is parsed per call.
 * Verification is deliberately narrow (RFC 8725 §2.1, §3.1): the header is decoded and parsed
 * here first and may hold only alg, kid and typ; alg must be RS256, PS256 or ES256 and equal the
 * alg of the ring key its kid names, so "none", HS* (an HMAC keyed with our public key), alg
 * switching and embedded or remote keys (jwk, jku, x5u, x5c, crit) are refused before any
 * signature work. ES256 signatures are the 64-byte JWS form R||S (RFC 7518 §3.4), never DER,
 * and low-S only, which our signer guarantees, so a token has exactly one valid signature.
 * The payload is parsed only after the signature verified. It does not do JWE, unsecured or
 * nested JWTs, unencoded payloads (RFC 7797), or tokens signed by anyone but us (client
 * assertions would need their own allow-list and key source). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
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

/* An EVP_MD_CTX ready to sign or verify with k's key under alg: SHA-256 for all three; PS256
 * with MGF1-SHA-256 and a 32-byte salt (RFC 7518 §3.5: salt length = hash length), which the
 * verifier insists on. NULL on a library failure, with the errors left queued. */
static EVP_MD_CTX *
md_ctx_for(const struct key *k, enum key_alg alg, bool sign)
{
    EVP_PKEY *pkey = keys_evp_pkey(k);
    EVP_PKEY_CTX *pctx = NULL; /* owned by mctx */
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    bool ok;

    if (!mctx)
        return NULL;
    ok = (sign ? EVP_DigestSignInit(mctx, &pctx, EVP_sha256(), NULL, pkey)
               : EVP_DigestVerifyInit(mctx, &pctx, EVP_sha256(), NULL, pkey)) == 1;
    if (ok && alg == KEY_PS256)
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

/* GH_OK if sig is k's signature of tbs under alg; GH_EDENIED (*why set) if not; GH_ECRYPTO if
 * the library failed (logged). */
static int
verify_sig(const struct key *k, enum key_alg alg, const char *tbs, size_t tbslen,
    const unsigned char *sig, size_t siglen, const char **why)
{
    unsigned char der[ES256_DER_MAX];
    EVP_MD_CTX *mctx = NULL;
    int rc = GH_EDENIED;

    if (alg == KEY_ES256) {
        /* RFC 7518 §3.4: exactly R||S; a DER signature (70-72 bytes) is not a JWS one */
        if (siglen != ES256_SIG_LEN) {
            *why = "ES256 signature is not 64 bytes";
            return GH_EDENIED;
        }
        if (memcmp(sig + ES256_COORD, p256_half_order, ES256_COORD) > 0) {
            *why = "ES256 signature has a high S";
            return GH_EDENIED;
        }
        siglen = es256_raw_to_der(sig, der);
        sig = der;
    } else if (siglen != (size_t)EVP_PKEY_get_size(keys_evp_pkey(k))) {
        /* RFC 8017 §8.1.2, §8.2.2: the signature is exactly as long as the modulus */
        *why = "RSA signature length is not the modulus length";
        return GH_EDENIED;
    }
    if (!(mctx = md_ctx_for(k, alg, false))) {
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

/* --- signing ---------------------------------------------------------------------------- */

int
jwt_sign(const struct keyring *kr, enum key_alg alg, const char *typ, const json_t *claims,
    char **out)
{
    const struct key *k;
    json_t *hdr = NULL;
    char *htxt = NULL, *ptxt = NULL, *tok = NULL;
    unsigned char sig[KEYS_SIG_MAX], raw[ES256_SIG_LEN];
    const unsigned char *sp = sig;
    size_t hn, pn, hl, pl, sl, total, o, siglen = sizeof(sig);
    EVP_MD_CTX *mctx = NULL;
    int rc = GH_EINVAL;

    *out = NULL;
    if (!json_is_object(claims))
        return GH_EINVAL;
    if (!(k = keys_ring_signer(kr, alg)))
        return GH_ENOTFOUND;
    /* RFC 7515 §4.1: exactly alg, kid and typ, which is all jwt_verify accepts */
    hdr = json_pack("{s:s, s:s}", "alg", keys_alg_name(alg), "kid", keys_kid(k));
    if (!hdr || (typ && json_object_set_new(hdr, "typ", json_string(typ)) != 0))
        goto out; /* typ is not UTF-8 */
    rc = GH_EINTERNAL;
    if (!(htxt = json_dumps(hdr, JSON_COMPACT)) || !(ptxt = json_dumps(claims, JSON_COMPACT)))
        goto out;
    hn = strlen(htxt);
    pn = strlen(ptxt);
    hl = b64url_enc_len(hn);
    pl = b64url_enc_len(pn);
    sl = b64url_enc_len(alg == KEY_ES256 ? ES256_SIG_LEN
                                         : (size_t)EVP_PKEY_get_size(keys_evp_pkey(k)));
    total = hl + 1 + pl + 1 + sl;
    /* a token jwt_verify would refuse is no use to anyone */
    if (hn > JWT_HDR_MAX || total > GH_MAX_JWT_LEN) {
        rc = GH_ETOOBIG;
        goto out;
    }
    tok = x_malloc(total + 1);
    if (b64url_encode((const unsigned char *)htxt, hn, tok, hl + 1) != GH_OK)
        goto out;
    tok[hl] = '.';
    if (b64url_encode((const unsigned char *)ptxt, pn, tok + hl + 1, pl + 1) != GH_OK)
        goto out;
    o = hl + 1 + pl;
    rc = GH_ECRYPTO;
    /* RFC 7515 §5.1: the signing input is ASCII(header64 || '.' || payload64) */
    if (!(mctx = md_ctx_for(k, alg, true)) ||
        EVP_DigestSign(mctx, sig, &siglen, (const unsigned char *)tok, o) != 1) {
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
    free(htxt);
    json_decref(hdr);
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

static bool
typ_eq(const char *got, const char *want)
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
    if (ex->typ && (!v || !typ_eq(json_string_value(v), ex->typ))) {
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
