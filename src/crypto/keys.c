/* keys.c — our signing keys and the public JWKS. Keys are generated here (RSA-2048 for RS256
 * and, separately, for PS256, since a published JWK names one alg (RFC 7517 §4.4); P-256 for
 * ES256), written as PKCS#8 PEM to <keys_dir>/<kid>.pem (0600, atomically), and named
 * by their RFC 7638 JWK thumbprint, so a file's name is checked against its content (or, for a
 * database several instances share, handed to the caller in memory to be sealed into the store:
 * keys_generate_pem / keys_ring_load_pems). At start-up the ring loads exactly the keys the
 * store lists: each file is checked (regular, ours, no
 * group/other bits, bounded size — SECURITY.md J16), parsed once with OpenSSL 3 EVP, turned into
 * a public JWK (RFC 7517/7518 §6: only n, e / crv, x, y) and a private cjose JWK, and proven by a
 * sign + verify self-test against the published JWK; the EVP_PKEY is kept for jwt.c, which
 * signs and verifies with it directly. Any failure refuses the whole ring.
 * Nothing here runs per request except copying the prebuilt JWKS. Also validates clients' JWKS
 * documents (public signing keys only). It does not decide which keys exist or when they
 * activate (the store's key_meta, the CLI and the server's reloader do); from those dates it says
 * which state each key is in at a given time (keys_state_at) and so which key signs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/ossl.h"
#include "crypto/rnd.h"
#include "util/b64url.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

#define KEYS_PATH_MAX   4096
#define EC_COORD_LEN    32   /* P-256 field element, RFC 7518 §6.2.1.2 */
#define RSA_N_MAX_BYTES 1024 /* client keys: 8192-bit modulus at most */
#define RSA_E_MAX_BYTES 8
#define JWK_KID_MAX     256  /* client-supplied kid */

static const char selftest_payload[] = "gatehouse key self-test";

struct key {
    char kid[KEYS_KID_MAX + 1];
    enum key_alg alg;
    int64_t created_at;
    json_t *jwk;               /* public JWK: kty, use, alg, kid, n, e | crv, x, y */
    cjose_jwk_t *cjwk;         /* private key as cjose sees it (self-test, keys_cjose_jwk) */
    EVP_PKEY *pkey;            /* private key as parsed at load: jwt.c signs and verifies */
    EVP_MD_CTX *sign_ctx;      /* signing context for pkey, initialised once (keys_sign_ctx) */
    char *hdr64[CRY_JWS_TYPS]; /* encoded JWS headers (keys_jws_header64) */
};

struct keyring {
    struct key *keys;
    struct key_ref *refs; /* refs[i] describes keys[i] (kid points into it): states by time */
    size_t n;
    int64_t hold;         /* seconds a retired key stays published (keys_state_at) */
    json_t *jwks;         /* {"keys":[...]}, built once */
};

/* Big-endian key parameters pulled out of an EVP_PKEY. RSA uses all eight slots; EC uses
 * X, Y (and D_EC for the private scalar), each left-padded to 32 bytes. */
enum { P_N, P_E, P_D, P_P, P_Q, P_DP, P_DQ, P_QI, P_COUNT };
enum { P_X = 0, P_Y = 1, P_D_EC = 2 };

struct bnbuf {
    unsigned char *p;
    size_t len;
};

struct parts {
    struct bnbuf v[P_COUNT];
};

static const char *const rsa_names[P_COUNT] = {
    OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,         OSSL_PKEY_PARAM_RSA_D,
    OSSL_PKEY_PARAM_RSA_FACTOR1,   OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
    OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};

const char *
keys_alg_name(enum key_alg alg)
{
    switch (alg) {
    case KEY_RS256: return "RS256";
    case KEY_ES256: return "ES256";
    case KEY_PS256: return "PS256";
    }
    return "?";
}

int
keys_alg_parse(const char *s, enum key_alg *out)
{
    if (str_eq(s, "RS256"))
        *out = KEY_RS256;
    else if (str_eq(s, "ES256"))
        *out = KEY_ES256;
    else if (str_eq(s, "PS256"))
        *out = KEY_PS256;
    else
        return GH_EINVAL;
    return GH_OK;
}

/* RS256 and PS256 both use an RSA key (RFC 7518 §3.3, §3.5); ES256 a P-256 key (§3.4). */
static bool
alg_is_rsa(enum key_alg alg)
{
    return alg == KEY_RS256 || alg == KEY_PS256;
}

/* A kid becomes part of a file name: only the base64url alphabet, 1..KEYS_KID_MAX chars, so
 * no '/', '.', or NUL can reach the filesystem (SECURITY.md J3). */
static bool
kid_ok(const char *kid)
{
    size_t n = kid ? strnlen(kid, KEYS_KID_MAX + 1) : 0;

    if (n == 0 || n > KEYS_KID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = kid[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_'))
            return false;
    }
    return true;
}

static int
key_path(char *out, size_t outsz, const char *dir, const char *prefix, const char *kid,
    const char *suffix)
{
    size_t dl = strlen(dir);
    const char *sep = (dl > 0 && dir[dl - 1] == '/') ? "" : "/";
    int n = snprintf(out, outsz, "%s%s%s%s%s", dir, sep, prefix, kid, suffix);

    return (n < 0 || (size_t)n >= outsz) ? GH_ETOOBIG : GH_OK;
}

/* --- thumbprints and public JWKs ------------------------------------------------------ */

int
keys_thumbprint_jwk(const json_t *jwk, char out[KEYS_KID_MAX + 1])
{
    static const char *const rsa_req[] = { "e", "kty", "n", NULL };
    static const char *const ec_req[] = { "crv", "kty", "x", "y", NULL };
    const char *const *req;
    const char *kty;
    unsigned char dig[DIG_SHA256_LEN];
    json_t *canon = NULL;
    char *txt = NULL;
    int rc = GH_EINVAL;

    out[0] = '\0';
    kty = json_string_value(json_object_get(jwk, "kty"));
    if (str_eq(kty, "RSA"))
        req = rsa_req;
    else if (str_eq(kty, "EC"))
        req = ec_req;
    else
        return GH_EINVAL;
    /* RFC 7638 §3.2: only the required members, keys sorted, no whitespace. The lists above
     * are already in lexicographic order; JSON_SORT_KEYS keeps that true if they change. */
    canon = json_object();
    for (size_t i = 0; req[i]; i++) {
        const char *v = json_string_value(json_object_get(jwk, req[i]));
        if (!v)
            goto out;
        json_object_set_new(canon, req[i], json_string(v));
    }
    if (!(txt = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS))) {
        rc = GH_EINTERNAL;
        goto out;
    }
    dig_sha256(txt, strlen(txt), dig);
    if (b64url_encode(dig, sizeof(dig), out, KEYS_KID_MAX + 1) != GH_OK) {
        rc = GH_EINTERNAL;
        goto out;
    }
    rc = GH_OK;
out:
    free(txt);
    json_decref(canon);
    return rc;
}

static void
parts_free(struct parts *pt)
{
    for (size_t i = 0; i < P_COUNT; i++) {
        mem_wipe_free(pt->v[i].p, pt->v[i].len);
        pt->v[i].p = NULL;
        pt->v[i].len = 0;
    }
}

/* One BIGNUM parameter as big-endian bytes: minimal length, or left-padded to pad bytes. */
static bool
get_bn(const EVP_PKEY *pkey, const char *name, size_t pad, struct bnbuf *out)
{
    BIGNUM *bn = NULL;
    size_t len;
    bool ok = false;

    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
        return false;
    len = pad ? pad : (size_t)BN_num_bytes(bn);
    if (len == 0 || len > INT_MAX)
        goto out;
    out->p = x_malloc(len);
    out->len = len;
    if (pad ? BN_bn2binpad(bn, out->p, (int)pad) < 0 : BN_bn2bin(bn, out->p) != (int)len)
        goto out;
    ok = true;
out:
    BN_clear_free(bn);
    return ok;
}

/* RSA private key arithmetic, cheaply (no primality proofs, which cost ~60 ms per 2048-bit
 * key): n = p·q, d·e ≡ 1 (mod p−1) and (mod q−1), dP = d mod (p−1), dQ = d mod (q−1),
 * qInv·q ≡ 1 (mod p). Catches a damaged d, which CRT signing would never notice.
 * true if consistent. */
static bool
rsa_consistent(const EVP_PKEY *pkey)
{
    BIGNUM *v[8] = { NULL }, *t = NULL, *pm1 = NULL, *qm1 = NULL;
    BN_CTX *ctx = BN_CTX_new();
    bool ok = false;

    if (!ctx || !(t = BN_new()) || !(pm1 = BN_new()) || !(qm1 = BN_new()))
        goto out;
    for (size_t i = 0; i < 8; i++) {
        if (EVP_PKEY_get_bn_param(pkey, rsa_names[i], &v[i]) != 1)
            goto out;
    }
    /* v: 0 n, 1 e, 2 d, 3 p, 4 q, 5 dP, 6 dQ, 7 qInv */
    ok = BN_mul(t, v[3], v[4], ctx) && BN_cmp(t, v[0]) == 0 &&
         BN_sub(pm1, v[3], BN_value_one()) && BN_sub(qm1, v[4], BN_value_one()) &&
         BN_mod_mul(t, v[2], v[1], pm1, ctx) && BN_is_one(t) &&
         BN_mod_mul(t, v[2], v[1], qm1, ctx) && BN_is_one(t) &&
         BN_mod(t, v[2], pm1, ctx) && BN_cmp(t, v[5]) == 0 &&
         BN_mod(t, v[2], qm1, ctx) && BN_cmp(t, v[6]) == 0 &&
         BN_mod_mul(t, v[7], v[4], v[3], ctx) && BN_is_one(t);
out:
    for (size_t i = 0; i < 8; i++)
        BN_clear_free(v[i]);
    BN_clear_free(t);
    BN_clear_free(pm1);
    BN_clear_free(qm1);
    BN_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* Check that pkey fits alg (type, size, curve) and extract its public (and with priv, private)
 * parameters. GH_EINVAL with a reason in why. */
static int
extract_parts(const EVP_PKEY *pkey, enum key_alg alg, bool priv, struct parts *pt, char *why,
    size_t whysz)
{
    char detail[256];
    int rc = GH_EINVAL;

    memset(pt, 0, sizeof(*pt));
    if (alg_is_rsa(alg)) {
        BIGNUM *extra = NULL;
        int bits;

        /* "RSA" only: an RSA-PSS key (restricted to PSS by its parameters) is refused too,
         * it would not match the plain RSA JWK we publish */
        if (!EVP_PKEY_is_a(pkey, "RSA")) {
            str_fmt(why, whysz, "holds a key of type %s; %s needs RSA",
                EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "unknown",
                keys_alg_name(alg));
            goto out;
        }
        bits = EVP_PKEY_get_bits(pkey);
        if (bits < GH_RSA_BITS_MIN) {
            str_fmt(why, whysz, "RSA key has %d bits; at least %d are required", bits,
                GH_RSA_BITS_MIN);
            goto out;
        }
        /* jwt.c's signature buffers hold KEYS_SIG_MAX bytes */
        if (bits > KEYS_RSA_BITS_MAX) {
            str_fmt(why, whysz, "RSA key has %d bits; at most %d are supported", bits,
                KEYS_RSA_BITS_MAX);
            goto out;
        }
        /* cjose (and RFC 7518 "oth" aside, most verifiers) handle two-prime keys only */
        if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR3, &extra) == 1) {
            BN_clear_free(extra);
            str_fmt(why, whysz, "multi-prime RSA keys are not supported");
            goto out;
        }
        ERR_clear_error();
        for (size_t i = 0; i < (priv ? (size_t)P_COUNT : 2); i++) {
            if (!get_bn(pkey, rsa_names[i], 0, &pt->v[i])) {
                str_fmt(why, whysz, "cannot read RSA parameter %s (%s)", rsa_names[i],
                    cry_errs(detail, sizeof(detail)));
                goto out;
            }
        }
    } else if (alg == KEY_ES256) {
        char grp[64];
        size_t glen = 0;
        int nid;

        if (!EVP_PKEY_is_a(pkey, "EC")) {
            str_fmt(why, whysz, "holds a key of type %s; ES256 needs EC",
                EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "unknown");
            goto out;
        }
        if (EVP_PKEY_get_group_name(pkey, grp, sizeof(grp), &glen) != 1) {
            ERR_clear_error();
            str_fmt(why, whysz, "EC key has no named curve; P-256 is required");
            goto out;
        }
        nid = OBJ_sn2nid(grp);
        if (nid == NID_undef)
            nid = EC_curve_nist2nid(grp);
        if (nid != NID_X9_62_prime256v1) {
            str_fmt(why, whysz, "EC key is on curve %s; P-256 is required", grp);
            goto out;
        }
        if (!get_bn(pkey, OSSL_PKEY_PARAM_EC_PUB_X, EC_COORD_LEN, &pt->v[P_X]) ||
            !get_bn(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, EC_COORD_LEN, &pt->v[P_Y]) ||
            (priv &&
                !get_bn(pkey, OSSL_PKEY_PARAM_PRIV_KEY, EC_COORD_LEN, &pt->v[P_D_EC]))) {
            str_fmt(why, whysz, "cannot read EC key parameters (%s)",
                cry_errs(detail, sizeof(detail)));
            goto out;
        }
    } else {
        str_fmt(why, whysz, "unknown alg %d", (int)alg);
        goto out;
    }
    rc = GH_OK;
out:
    if (rc != GH_OK)
        parts_free(pt);
    return rc;
}

static void
set_b64(json_t *o, const char *name, const struct bnbuf *b)
{
    char *s = b64url_encode_new(b->p, b->len);

    json_object_set_new(o, name, json_string(s));
    free(s);
}

/* The public JWK for pt; with kid == NULL the "kid" member is left out. */
static json_t *
public_jwk(enum key_alg alg, const struct parts *pt, const char *kid)
{
    json_t *o = json_object();

    json_object_set_new(o, "kty", json_string(alg_is_rsa(alg) ? "RSA" : "EC"));
    json_object_set_new(o, "use", json_string("sig"));
    json_object_set_new(o, "alg", json_string(keys_alg_name(alg)));
    if (kid)
        json_object_set_new(o, "kid", json_string(kid));
    if (alg_is_rsa(alg)) {
        set_b64(o, "n", &pt->v[P_N]);
        set_b64(o, "e", &pt->v[P_E]);
    } else {
        json_object_set_new(o, "crv", json_string("P-256"));
        set_b64(o, "x", &pt->v[P_X]);
        set_b64(o, "y", &pt->v[P_Y]);
    }
    return o;
}

static cjose_jwk_t *
private_cjose(enum key_alg alg, struct parts *pt, cjose_err *cerr)
{
    if (alg_is_rsa(alg)) {
        cjose_jwk_rsa_keyspec rs = {
            .n = pt->v[P_N].p, .nlen = pt->v[P_N].len,
            .e = pt->v[P_E].p, .elen = pt->v[P_E].len,
            .d = pt->v[P_D].p, .dlen = pt->v[P_D].len,
            .p = pt->v[P_P].p, .plen = pt->v[P_P].len,
            .q = pt->v[P_Q].p, .qlen = pt->v[P_Q].len,
            .dp = pt->v[P_DP].p, .dplen = pt->v[P_DP].len,
            .dq = pt->v[P_DQ].p, .dqlen = pt->v[P_DQ].len,
            .qi = pt->v[P_QI].p, .qilen = pt->v[P_QI].len,
        };
        return cjose_jwk_create_RSA_spec(&rs, cerr);
    } else {
        cjose_jwk_ec_keyspec es = {
            .crv = CJOSE_JWK_EC_P_256,
            .d = pt->v[P_D_EC].p, .dlen = pt->v[P_D_EC].len,
            .x = pt->v[P_X].p, .xlen = pt->v[P_X].len,
            .y = pt->v[P_Y].p, .ylen = pt->v[P_Y].len,
        };
        return cjose_jwk_create_EC_spec(&es, cerr);
    }
}

/* Sign a small payload with the private cjose key and verify it with a key imported from the
 * public JWK we are about to publish: proves the pair matches and both libraries agree. */
static int
selftest(const struct key *k, char *why, size_t whysz)
{
    cjose_err cerr = { 0 };
    cjose_header_t *hdr = NULL;
    cjose_jws_t *jws = NULL, *jws2 = NULL;
    cjose_jwk_t *pub = NULL;
    const char *ser = NULL;
    char *pubtxt = NULL;
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    int rc = GH_ECRYPTO;

    if (!(hdr = cjose_header_new(&cerr)) ||
        !cjose_header_set(hdr, CJOSE_HDR_ALG, keys_alg_name(k->alg), &cerr) ||
        !(jws = cjose_jws_sign(k->cjwk, hdr, (const uint8_t *)selftest_payload,
              sizeof(selftest_payload) - 1, &cerr)) ||
        !cjose_jws_export(jws, &ser, &cerr)) {
        str_fmt(why, whysz, "self-test: cannot sign (cjose: %s)",
            cerr.message ? cerr.message : "?");
        goto out;
    }
    if (!(pubtxt = json_dumps(k->jwk, JSON_COMPACT)) ||
        !(pub = cjose_jwk_import(pubtxt, strlen(pubtxt), &cerr)) ||
        !(jws2 = cjose_jws_import(ser, strlen(ser), &cerr)) ||
        !cjose_jws_verify(jws2, pub, &cerr) ||
        !cjose_jws_get_plaintext(jws2, &pt, &ptlen, &cerr) ||
        ptlen != sizeof(selftest_payload) - 1 || memcmp(pt, selftest_payload, ptlen) != 0) {
        str_fmt(why, whysz, "self-test: signature does not verify with the public key "
            "(cjose: %s)", cerr.message ? cerr.message : "payload mismatch");
        goto out;
    }
    rc = GH_OK;
out:
    ERR_clear_error(); /* cjose leaves OpenSSL errors behind; what matters is in why */
    cjose_jws_release(jws2);
    cjose_jws_release(jws);
    cjose_jwk_release(pub);
    cjose_header_release(hdr);
    free(pubtxt);
    return rc;
}

/* --- files ------------------------------------------------------------------------------ */

static int
write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* dir/<kid>.pem <- data, mode 0600: O_EXCL temporary file, fsync, rename, fsync the directory.
 * The directory is created 0700 if missing. */
static int
write_key_file(const char *dir, const char *kid, const unsigned char *data, size_t n,
    char *err, size_t errsz)
{
    char path[KEYS_PATH_MAX], tmp[KEYS_PATH_MAX], prefix[KEYS_KID_MAX + 8];
    char *rnd = NULL;
    int fd = -1, dfd = -1, rc = GH_EIO;
    bool tmp_made = false, renamed = false;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        str_fmt(err, errsz, "%s: %s", dir, strerror(errno));
        return GH_EIO;
    }
    if (!(rnd = rnd_token(9))) {
        str_fmt(err, errsz, "cannot name a temporary file: CSPRNG failed");
        return GH_ECRYPTO;
    }
    if (snprintf(prefix, sizeof(prefix), ".%s.", rnd) < 0 ||
        key_path(path, sizeof(path), dir, "", kid, ".pem") != GH_OK ||
        key_path(tmp, sizeof(tmp), dir, prefix, kid, ".pem.tmp") != GH_OK) {
        str_fmt(err, errsz, "%s: path too long", dir);
        rc = GH_EINVAL;
        goto out;
    }
    fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        str_fmt(err, errsz, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    tmp_made = true;
    if (write_all(fd, data, n) != 0 || fsync(fd) != 0) {
        str_fmt(err, errsz, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        str_fmt(err, errsz, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        str_fmt(err, errsz, "%s: %s", path, strerror(errno));
        goto out;
    }
    tmp_made = false;
    renamed = true;
    /* the rename is durable only once the directory entry is */
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) != 0) {
        str_fmt(err, errsz, "%s: %s", dir, strerror(errno));
        goto out;
    }
    rc = GH_OK;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp_made && unlink(tmp) != 0)
        log_warn("key_tmp", "unlink(%s): %s", tmp, strerror(errno));
    if (rc != GH_OK && renamed && unlink(path) != 0)
        log_warn("key_tmp", "unlink(%s): %s", path, strerror(errno));
    free(rnd);
    return rc;
}

/* Never prompt: an encrypted key file is simply not usable unattended. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* --- generation ------------------------------------------------------------------------- */

int
keys_generate_pem(enum key_alg alg, char kid[KEYS_KID_MAX + 1], unsigned char **out,
    size_t *outlen, char *err, size_t errsz)
{
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    struct parts pt;
    json_t *jwk = NULL;
    char tkid[KEYS_KID_MAX + 1], why[256], detail[256];
    char *pem = NULL;
    long pemlen;
    int rc = GH_ECRYPTO;

    memset(&pt, 0, sizeof(pt));
    kid[0] = '\0';
    *out = NULL;
    *outlen = 0;
    if (err && errsz)
        err[0] = '\0';
    ERR_clear_error();
    if (alg_is_rsa(alg))
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)GH_RSA_BITS_DEFAULT);
    else if (alg == KEY_ES256)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else {
        str_fmt(err, errsz, "unknown key alg %d", (int)alg);
        return GH_EINVAL;
    }
    if (!pkey) {
        str_fmt(err, errsz, "cannot generate a %s key (%s)", keys_alg_name(alg),
            cry_errs(detail, sizeof(detail)));
        goto out;
    }
    if (extract_parts(pkey, alg, false, &pt, why, sizeof(why)) != GH_OK) {
        str_fmt(err, errsz, "generated %s key: %s", keys_alg_name(alg), why);
        goto out;
    }
    jwk = public_jwk(alg, &pt, NULL);
    if ((rc = keys_thumbprint_jwk(jwk, tkid)) != GH_OK) {
        str_fmt(err, errsz, "cannot compute the thumbprint of the new key");
        goto out;
    }
    rc = GH_ECRYPTO;
    /* secure-memory BIO: the PEM text is cleansed when the BIO is freed */
    if (!(bio = BIO_new(BIO_s_secmem())) ||
        PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
        (pemlen = BIO_get_mem_data(bio, &pem)) <= 0 || !pem) {
        str_fmt(err, errsz, "cannot encode the new key as PKCS#8 (%s)",
            cry_errs(detail, sizeof(detail)));
        goto out;
    }
    *out = x_malloc((size_t)pemlen);
    memcpy(*out, pem, (size_t)pemlen);
    *outlen = (size_t)pemlen;
    str_copy(kid, KEYS_KID_MAX + 1, tkid);
    rc = GH_OK;
out:
    BIO_free(bio);
    json_decref(jwk);
    parts_free(&pt);
    EVP_PKEY_free(pkey);
    return rc;
}

int
keys_generate(const char *dir, enum key_alg alg, char kid[KEYS_KID_MAX + 1], char *err,
    size_t errsz)
{
    unsigned char *pem = NULL;
    size_t pemlen = 0;
    char tkid[KEYS_KID_MAX + 1];
    int rc;

    kid[0] = '\0';
    if ((rc = keys_generate_pem(alg, tkid, &pem, &pemlen, err, errsz)) != GH_OK)
        return rc;
    if ((rc = write_key_file(dir, tkid, pem, pemlen, err, errsz)) == GH_OK) {
        str_copy(kid, KEYS_KID_MAX + 1, tkid);
        log_info("key_generated", "kid=%s alg=%s dir=%s", tkid, keys_alg_name(alg), dir);
    }
    mem_wipe_free(pem, pemlen);
    return rc;
}

int
keys_read_pem(const char *dir, const char *kid, unsigned char **pem, size_t *len, char *err,
    size_t errsz)
{
    char path[KEYS_PATH_MAX];

    *pem = NULL;
    *len = 0;
    if (!kid_ok(kid) || key_path(path, sizeof(path), dir, "", kid, ".pem") != GH_OK) {
        str_fmt(err, errsz, "%s: not a key file name (or the path is too long)", kid);
        return GH_EINVAL;
    }
    return cry_read_private(path, 0, GH_MAX_KEY_FILE, pem, len, err, errsz);
}

int
keys_save_pem(const char *dir, const char *kid, const unsigned char *pem, size_t len, char *err,
    size_t errsz)
{
    if (!kid_ok(kid)) {
        str_fmt(err, errsz, "%s: not a key file name", kid);
        return GH_EINVAL;
    }
    return write_key_file(dir, kid, pem, len, err, errsz);
}

void
keys_remove_file(const char *dir, const char *kid)
{
    char path[KEYS_PATH_MAX];

    if (!kid_ok(kid) || key_path(path, sizeof(path), dir, "", kid, ".pem") != GH_OK) {
        log_err("key_remove", "refusing to remove a key file for an invalid kid");
        return;
    }
    if (unlink(path) != 0 && errno != ENOENT)
        log_err("key_remove", "unlink(%s): %s", path, strerror(errno));
}

/* --- rotation states ---------------------------------------------------------------------- */

const char *
keys_state_name(enum key_state st)
{
    switch (st) {
    case KEY_NEXT: return "next";
    case KEY_ACTIVE: return "active";
    case KEY_RETIRED: return "retired";
    case KEY_REMOVED: return "removed";
    }
    return "?";
}

static int64_t
add_sat(int64_t a, int64_t b)
{
    return (b > 0 && a > INT64_MAX - b) ? INT64_MAX : a + b;
}

/* Whether refs[j] supersedes refs[i] once it activates: same alg, newer (later activation, or
 * the same one and listed later), and not retired by hand before it activated (such a key never
 * signs, so the key before it keeps signing). */
static bool
supersedes(const struct key_ref *refs, size_t j, size_t i)
{
    const struct key_ref *a = &refs[i], *b = &refs[j];

    if (j == i || b->alg != a->alg)
        return false;
    if (b->activate_at < a->activate_at || (b->activate_at == a->activate_at && j < i))
        return false;
    /* >=: a key retired in the very second it activated did supersede (a retired key must
     * never become active again) */
    return b->retire_at == 0 || b->retire_at >= b->activate_at;
}

/* When refs[j] takes over from the keys it supersedes: its activation, or for a key that
 * signs at once (activate_at 0: init, `keys generate`) its creation. */
static int64_t
takeover_at(const struct key_ref *refs, size_t j)
{
    return refs[j].activate_at ? refs[j].activate_at : refs[j].created_at;
}

enum key_state
keys_state_at(const struct key_ref *refs, size_t n, size_t i, int64_t now, int64_t hold,
    struct key_dates *d)
{
    int64_t ret = refs[i].retire_at, rm = 0;
    bool retires = ret != 0, removes = false; /* dates may be 0 (keys_ring_load callers) */

    for (size_t j = 0; j < n; j++) {
        if (supersedes(refs, j, i) && (!retires || takeover_at(refs, j) < ret)) {
            ret = takeover_at(refs, j);
            retires = true;
        }
    }
    if (retires && hold != KEYS_HOLD_FOREVER) {
        rm = add_sat(ret, hold < 0 ? 0 : hold);
        removes = true;
    }
    if (d) {
        d->activate_at = refs[i].activate_at;
        d->retire_at = retires ? ret : 0;
        d->remove_at = removes ? rm : 0;
    }
    if (retires && now >= ret)
        return (removes && now >= rm) ? KEY_REMOVED : KEY_RETIRED;
    return now < refs[i].activate_at ? KEY_NEXT : KEY_ACTIVE;
}

int64_t
keys_next_change(const struct key_ref *refs, size_t n, int64_t now, int64_t hold)
{
    int64_t best = 0;

    for (size_t i = 0; i < n; i++) {
        struct key_dates d;
        int64_t t[3];

        keys_state_at(refs, n, i, now, hold, &d);
        t[0] = d.activate_at;
        t[1] = d.retire_at;
        t[2] = d.remove_at;
        for (size_t k = 0; k < 3; k++) {
            if (t[k] > now && (best == 0 || t[k] < best))
                best = t[k];
        }
    }
    return best;
}

/* --- the ring --------------------------------------------------------------------------- */

static void
key_clear(struct key *k)
{
    json_decref(k->jwk);
    k->jwk = NULL;
    if (k->cjwk)
        cjose_jwk_release(k->cjwk);
    k->cjwk = NULL;
    EVP_MD_CTX_free(k->sign_ctx);
    k->sign_ctx = NULL;
    for (size_t i = 0; i < CRY_JWS_TYPS; i++) {
        free(k->hdr64[i]);
        k->hdr64[i] = NULL;
    }
    EVP_PKEY_free(k->pkey);
    k->pkey = NULL;
}

static int
load_one(const char *dir, const struct key_ref *ref, const struct key_pem *kp, struct key *k,
    char *err, size_t errsz)
{
    char path[KEYS_PATH_MAX], why[256], detail[256], tp[KEYS_KID_MAX + 1];
    unsigned char *pem = NULL;
    size_t pemlen = 0;
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *cctx = NULL;
    struct parts pt;
    json_t *tmp = NULL;
    cjose_err cerr = { 0 };
    int rc = GH_EINVAL;

    memset(&pt, 0, sizeof(pt));
    if (!kid_ok(ref->kid)) {
        str_fmt(err, errsz, "invalid kid in the key list (only base64url characters allowed)");
        return GH_EINVAL;
    }
    if ((unsigned)ref->alg >= KEY_ALG_COUNT) {
        str_fmt(err, errsz, "key %s: unknown alg %d", ref->kid, (int)ref->alg);
        return GH_EINVAL;
    }
    if (kp && kp->p) {
        /* unsealed from the store by the caller: error lines name the key, not a file */
        str_fmt(path, sizeof(path), "signing key %s", ref->kid);
        if (kp->len == 0 || kp->len > GH_MAX_KEY_FILE) {
            str_fmt(err, errsz, "%s: %zu bytes of key; 1 to %d are allowed", path, kp->len,
                GH_MAX_KEY_FILE);
            return GH_EINVAL;
        }
        pem = x_malloc(kp->len);
        memcpy(pem, kp->p, kp->len);
        pemlen = kp->len;
    } else {
        if (key_path(path, sizeof(path), dir, "", ref->kid, ".pem") != GH_OK) {
            str_fmt(err, errsz, "%s: path too long", dir);
            return GH_EINVAL;
        }
        if ((rc = cry_read_private(path, 0, GH_MAX_KEY_FILE, &pem, &pemlen, err, errsz)) !=
            GH_OK)
            goto out;
    }
    rc = GH_EINVAL;
    ERR_clear_error();
    if (!(bio = BIO_new_mem_buf(pem, (int)pemlen)) ||
        !(pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL))) {
        str_fmt(err, errsz, "%s: not a readable unencrypted PEM private key (%s)", path,
            cry_errs(detail, sizeof(detail)));
        goto out;
    }
    if (extract_parts(pkey, ref->alg, true, &pt, why, sizeof(why)) != GH_OK) {
        str_fmt(err, errsz, "%s: listed as %s but %s", path, keys_alg_name(ref->alg), why);
        goto out;
    }
    /* Consistency. EC: the public point is d*G on the curve (EVP_PKEY_check, cheap). RSA:
     * EVP_PKEY_check would prove p and q prime, ~60 ms per 2048-bit key, three times the
     * start-up budget; rsa_consistent() checks the arithmetic instead, and the self-test below
     * proves the key signs what the published JWK verifies. */
    if (!(cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) ||
        (ref->alg == KEY_ES256 ? EVP_PKEY_check(cctx) != 1 : !rsa_consistent(pkey))) {
        str_fmt(err, errsz, "%s: the private key is inconsistent or damaged (%s)", path,
            cry_errs(detail, sizeof(detail)));
        goto out;
    }
    tmp = public_jwk(ref->alg, &pt, NULL);
    if (keys_thumbprint_jwk(tmp, tp) != GH_OK || !str_eq(tp, ref->kid)) {
        str_fmt(err, errsz, "%s: the key's thumbprint is %s, not %s; the file was replaced or "
            "renamed", path, tp, ref->kid);
        goto out;
    }
    str_copy(k->kid, sizeof(k->kid), ref->kid);
    k->alg = ref->alg;
    k->created_at = ref->created_at;
    k->jwk = public_jwk(ref->alg, &pt, ref->kid);
    rc = GH_ECRYPTO;
    if (!(k->cjwk = private_cjose(ref->alg, &pt, &cerr))) {
        ERR_clear_error();
        str_fmt(err, errsz, "%s: cjose refused the key (%s)", path,
            cerr.message ? cerr.message : "?");
        goto out;
    }
    if (selftest(k, why, sizeof(why)) != GH_OK) {
        str_fmt(err, errsz, "%s: %s", path, why);
        goto out;
    }
    if (!(k->sign_ctx = cry_md_ctx_new(pkey, ref->alg == KEY_PS256, true))) {
        str_fmt(err, errsz, "%s: cannot prepare signing (%s)", path,
            cry_errs(detail, sizeof(detail)));
        goto out;
    }
    for (size_t i = 0; i < CRY_JWS_TYPS; i++) {
        if (cry_jws_header64(k, cry_jws_typs[i], &k->hdr64[i]) != GH_OK) {
            str_fmt(err, errsz, "%s: cannot encode a JWS header", path);
            goto out;
        }
    }
    k->pkey = pkey;
    pkey = NULL; /* handed over: the ring frees it */
    rc = GH_OK;
out:
    if (rc != GH_OK)
        key_clear(k);
    json_decref(tmp);
    parts_free(&pt);
    EVP_PKEY_CTX_free(cctx);
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    mem_wipe_free(pem, pemlen);
    return rc;
}

int
keys_ring_load(const char *dir, const struct key_ref *refs, size_t n, struct keyring **out,
    char *err, size_t errsz)
{
    return keys_ring_load_staged(dir, refs, n, KEYS_HOLD_FOREVER, out, err, errsz);
}

int
keys_ring_load_staged(const char *dir, const struct key_ref *refs, size_t n, int64_t hold,
    struct keyring **out, char *err, size_t errsz)
{
    return keys_ring_load_pems(dir, refs, NULL, n, hold, out, err, errsz);
}

int
keys_ring_load_pems(const char *dir, const struct key_ref *refs, const struct key_pem *pems,
    size_t n, int64_t hold, struct keyring **out, char *err, size_t errsz)
{
    struct keyring *kr = NULL;
    json_t *arr = NULL;
    int64_t now = clock_now();
    size_t live = 0;
    int rc = GH_EINVAL;

    *out = NULL;
    if (err && errsz)
        err[0] = '\0';
    /* removed keys first: they are no part of the ring, and only the rest count */
    for (size_t i = 0; i < n; i++)
        live += keys_state_at(refs, n, i, now, hold, NULL) != KEY_REMOVED;
    if (live > GH_MAX_KEYS) {
        str_fmt(err, errsz, "%zu keys listed; at most %d are allowed", live, GH_MAX_KEYS);
        return GH_EINVAL;
    }
    kr = x_calloc(1, sizeof(*kr));
    kr->keys = x_calloc(live ? live : 1, sizeof(*kr->keys));
    kr->refs = x_calloc(live ? live : 1, sizeof(*kr->refs));
    kr->hold = hold;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (str_eq(refs[i].kid, refs[j].kid)) {
                str_fmt(err, errsz, "key %s is listed twice", kid_ok(refs[i].kid) ?
                    refs[i].kid : "(invalid)");
                rc = GH_EINVAL;
                goto out;
            }
        }
        /* dropping removed keys changes no other key's state: only newer keys supersede,
         * and a key superseded by a removed one was retired no later than it */
        if (keys_state_at(refs, n, i, now, hold, NULL) == KEY_REMOVED)
            continue;
        if ((rc = load_one(dir, &refs[i], pems ? &pems[i] : NULL, &kr->keys[kr->n], err,
                 errsz)) != GH_OK)
            goto out;
        kr->refs[kr->n] = refs[i];
        kr->refs[kr->n].kid = kr->keys[kr->n].kid;
        kr->n++;
    }
    /* next, active and retired keys are all published */
    arr = json_array();
    for (size_t i = 0; i < kr->n; i++)
        json_array_append_new(arr, json_deep_copy(kr->keys[i].jwk));
    kr->jwks = json_object();
    json_object_set_new(kr->jwks, "keys", arr);
    *out = kr;
    kr = NULL;
    rc = GH_OK;
out:
    keys_ring_free(kr);
    return rc;
}

void
keys_ring_free(struct keyring *kr)
{
    if (!kr)
        return;
    for (size_t i = 0; i < kr->n; i++)
        key_clear(&kr->keys[i]);
    free(kr->keys);
    free(kr->refs);
    json_decref(kr->jwks);
    free(kr);
}

size_t
keys_ring_count(const struct keyring *kr)
{
    return kr ? kr->n : 0;
}

const struct key *
keys_ring_signer_at(const struct keyring *kr, enum key_alg alg, int64_t now)
{
    if (!kr || (unsigned)alg >= KEY_ALG_COUNT)
        return NULL;
    /* at most GH_MAX_KEYS keys: the quadratic state scan costs less than one signature */
    for (size_t i = 0; i < kr->n; i++) {
        if (kr->refs[i].alg == alg &&
            keys_state_at(kr->refs, kr->n, i, now, kr->hold, NULL) == KEY_ACTIVE)
            return &kr->keys[i];
    }
    return NULL;
}

const struct key *
keys_ring_signer(const struct keyring *kr, enum key_alg alg)
{
    return keys_ring_signer_at(kr, alg, clock_now());
}

bool
keys_ring_ready(const struct keyring *kr, int64_t now)
{
    bool used[KEY_ALG_COUNT] = { false }, signs[KEY_ALG_COUNT] = { false }, any = false;

    for (size_t i = 0; kr && i < kr->n; i++) {
        enum key_state st = keys_state_at(kr->refs, kr->n, i, now, kr->hold, NULL);

        if (st == KEY_ACTIVE || st == KEY_RETIRED)
            used[kr->refs[i].alg] = true;
        if (st == KEY_ACTIVE)
            signs[kr->refs[i].alg] = any = true;
    }
    for (unsigned a = 0; a < KEY_ALG_COUNT; a++) {
        if (used[a] && !signs[a])
            return false;
    }
    return any;
}

int64_t
keys_ring_next_change(const struct keyring *kr, int64_t now)
{
    return kr ? keys_next_change(kr->refs, kr->n, now, kr->hold) : 0;
}

const struct key *
keys_ring_find(const struct keyring *kr, const char *kid)
{
    size_t n;

    if (!kr || !kid)
        return NULL;
    /* an untrusted kid (a token header) longer than any of ours cannot match */
    n = strnlen(kid, KEYS_KID_MAX + 1);
    if (n == 0 || n > KEYS_KID_MAX)
        return NULL;
    /* at most GH_MAX_KEYS entries: a linear scan is cheaper than any index */
    for (size_t i = 0; i < kr->n; i++) {
        if (memcmp(kr->keys[i].kid, kid, n + 1) != 0)
            continue;
        /* past its removal date the key is unpublished: it verifies nothing either */
        if (keys_state_at(kr->refs, kr->n, i, clock_now(), kr->hold, NULL) == KEY_REMOVED)
            return NULL;
        return &kr->keys[i];
    }
    return NULL;
}

json_t *
keys_ring_algs(const struct keyring *kr)
{
    json_t *a = json_array();

    int64_t now = clock_now();
    bool have[KEY_ALG_COUNT] = { false };

    for (size_t i = 0; kr && i < kr->n; i++) {
        enum key_state st = keys_state_at(kr->refs, kr->n, i, now, kr->hold, NULL);
        if (st == KEY_ACTIVE || st == KEY_NEXT)
            have[kr->refs[i].alg] = true;
    }
    for (unsigned i = 0; i < KEY_ALG_COUNT; i++) {
        if (have[i])
            json_array_append_new(a, json_string(keys_alg_name((enum key_alg)i)));
    }
    return a;
}

json_t *
keys_ring_jwks(const struct keyring *kr)
{
    /* a deep copy: callers may decorate their copy; the ring stays read-only across threads */
    if (!kr || !kr->jwks) {
        json_t *o = json_object();
        json_object_set_new(o, "keys", json_array());
        return o;
    }
    return json_deep_copy(kr->jwks);
}

const char *
keys_kid(const struct key *k)
{
    return k->kid;
}

enum key_alg
keys_alg(const struct key *k)
{
    return k->alg;
}

void *
keys_cjose_jwk(const struct key *k)
{
    return k->cjwk;
}

EVP_PKEY *
keys_evp_pkey(const struct key *k)
{
    return k->pkey;
}

const EVP_MD_CTX *
keys_sign_ctx(const struct key *k)
{
    return k->sign_ctx;
}

const char *
keys_jws_header64(const struct key *k, size_t i)
{
    return i < CRY_JWS_TYPS ? k->hdr64[i] : NULL;
}

/* --- client JWKS validation ------------------------------------------------------------- */

/* Decode a base64url member into buf (at most bufsz bytes). false if absent, not a string,
 * malformed or too long. */
static bool
b64_member(const json_t *o, const char *name, unsigned char *buf, size_t bufsz, size_t *len)
{
    const char *s = json_string_value(json_object_get(o, name));

    return s && b64url_decode(s, strlen(s), buf, bufsz, len) == GH_OK && *len > 0;
}

/* Build an OpenSSL public key from the JWK's numbers and run OpenSSL's public-key checks
 * (RSA: SP 800-56B modulus/exponent checks; EC: point on P-256, not infinity). */
static int
openssl_public_check(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL, *cctx = NULL;
    EVP_PKEY *pkey = NULL;
    int rc = GH_EINVAL;

    if (!(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) ||
        EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1 ||
        !(cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) ||
        EVP_PKEY_public_check(cctx) != 1)
        goto out;
    rc = GH_OK;
out:
    ERR_clear_error(); /* input-driven failure: reported through *why, not the log */
    EVP_PKEY_CTX_free(cctx);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return rc;
}

static const char *
check_rsa(const json_t *k)
{
    unsigned char n[RSA_N_MAX_BYTES], e[RSA_E_MAX_BYTES];
    size_t nlen = 0, elen = 0;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    const char *why = NULL;

    if (!b64_member(k, "n", n, sizeof(n), &nlen))
        return "RSA key: \"n\" missing, malformed or over 8192 bits";
    if (!b64_member(k, "e", e, sizeof(e), &elen))
        return "RSA key: \"e\" missing or malformed";
    if (!(bn = BN_bin2bn(n, (int)nlen, NULL)) || !(be = BN_bin2bn(e, (int)elen, NULL))) {
        why = "RSA key: cannot read the numbers";
        goto out;
    }
    if (BN_num_bits(bn) < GH_RSA_BITS_MIN) {
        why = "RSA key: modulus shorter than 2048 bits";
        goto out;
    }
    if (!(bld = OSSL_PARAM_BLD_new()) ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1 ||
        openssl_public_check("RSA", bld) != GH_OK) {
        why = "RSA key: not a valid public key";
        goto out;
    }
out:
    ERR_clear_error();
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return why;
}

static const char *
check_ec(const json_t *k)
{
    unsigned char pt[1 + 2 * EC_COORD_LEN];
    size_t xl = 0, yl = 0;
    OSSL_PARAM_BLD *bld = NULL;
    const char *why = NULL;

    if (!str_eq(json_string_value(json_object_get(k, "crv")), "P-256"))
        return "EC key: \"crv\" must be P-256";
    /* RFC 7518 §6.2.1.2/3: x and y are exactly the field size, 32 bytes for P-256 */
    if (!b64_member(k, "x", pt + 1, EC_COORD_LEN, &xl) || xl != EC_COORD_LEN ||
        !b64_member(k, "y", pt + 1 + EC_COORD_LEN, EC_COORD_LEN, &yl) || yl != EC_COORD_LEN)
        return "EC key: \"x\" and \"y\" must be 32-byte base64url values";
    pt[0] = 0x04; /* SEC 1 uncompressed point */
    if (!(bld = OSSL_PARAM_BLD_new()) ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) != 1 ||
        openssl_public_check("EC", bld) != GH_OK)
        why = "EC key: not a point on P-256";
    ERR_clear_error();
    OSSL_PARAM_BLD_free(bld);
    return why;
}

static const char *
check_one_jwk(const json_t *k)
{
    static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "k", "oth",
        NULL };
    const char *kty, *why;
    const json_t *v;
    cjose_err cerr = { 0 };
    cjose_jwk_t *cj = NULL;
    char *txt = NULL;

    if (!json_is_object(k))
        return "each key must be a JSON object";
    for (size_t i = 0; private_members[i]; i++) {
        if (json_object_get(k, private_members[i]))
            return "private or symmetric key material is not allowed";
    }
    kty = json_string_value(json_object_get(k, "kty"));
    if (!kty)
        return "\"kty\" missing";
    if (str_eq(kty, "oct"))
        return "symmetric (oct) keys are not allowed";
    if (!str_eq(kty, "RSA") && !str_eq(kty, "EC"))
        return "\"kty\" must be RSA or EC";
    if ((v = json_object_get(k, "use")) && !str_eq(json_string_value(v), "sig"))
        return "\"use\" must be sig";
    if ((v = json_object_get(k, "alg"))) {
        const char *alg = json_string_value(v);
        bool rsa = str_eq(kty, "RSA");
        if (!(rsa && (str_eq(alg, "RS256") || str_eq(alg, "PS256"))) &&
            !(!rsa && str_eq(alg, "ES256")))
            return "\"alg\" must be RS256 or PS256 for RSA keys, ES256 for EC keys";
    }
    if ((v = json_object_get(k, "kid")) &&
        (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > JWK_KID_MAX))
        return "\"kid\" must be a non-empty string of at most 256 bytes";
    why = str_eq(kty, "RSA") ? check_rsa(k) : check_ec(k);
    if (why)
        return why;
    /* the verifier (jwt.c) imports client keys with cjose: it must accept this one too */
    if (!(txt = json_dumps(k, JSON_COMPACT)) || !(cj = cjose_jwk_import(txt, strlen(txt), &cerr)))
        why = "key rejected by the JOSE library";
    ERR_clear_error();
    if (cj)
        cjose_jwk_release(cj);
    free(txt);
    return why;
}

int
keys_jwks_check_public(const char *json, size_t len, const char **why)
{
    json_error_t jerr;
    json_t *root = NULL, *keys;
    size_t n;
    int rc = GH_EINVAL;

    *why = NULL;
    if (!json || len == 0) {
        *why = "empty JWKS";
        return GH_EINVAL;
    }
    if (len > GH_MAX_JWKS) {
        *why = "JWKS larger than 64 KiB";
        return GH_EINVAL;
    }
    if (!(root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr))) {
        *why = "JWKS is not valid JSON (or has duplicate members)";
        goto out;
    }
    if (!json_is_object(root)) {
        *why = "JWKS must be a JSON object";
        goto out;
    }
    keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) {
        *why = "JWKS must have a \"keys\" array";
        goto out;
    }
    n = json_array_size(keys);
    if (n == 0 || n > GH_MAX_JWKS_KEYS) {
        *why = "JWKS must hold 1 to 16 keys";
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *k = json_array_get(keys, i);
        const char *kid;

        if ((*why = check_one_jwk(k)) != NULL)
            goto out;
        if (!(kid = json_string_value(json_object_get(k, "kid"))))
            continue;
        for (size_t j = 0; j < i; j++) {
            if (str_eq(kid, json_string_value(json_object_get(json_array_get(keys, j), "kid")))) {
                *why = "duplicate \"kid\" in JWKS";
                goto out;
            }
        }
    }
    rc = GH_OK;
out:
    json_decref(root);
    return rc;
}
