/* assertion.c — the rules for JWT client assertions (RFC 7523 §2.2 and §3, RFC 7521 §4.2,
 * OIDC Core §9 client_secret_jwt / private_key_jwt): who the assertion names, for whom it is
 * meant, how long it lives, which credential of the client verifies it and that it is used
 * once. The JWT-bearer authorization grant (RFC 7523 §2.1) uses the same checks through
 * assertion_parse_grant(), where iss and sub may differ (oidc/grant_jwt.c decides which
 * pairs it accepts). Parsing and signatures are crypto/jwt.c's; this file picks the key source from the
 * client's registered method, so the alg family is fixed by the registration, not by the
 * token (RFC 8725 §3.1). Claims are checked before the client is looked up, because they name
 * it; nothing in them is trusted until assertion_verify() succeeds, and the jti is spent only
 * after that. It does not answer the client (oidc/client_auth.c and oidc/grant_jwt.c do, with
 * one error for every failure).
 *
 * Performance: per call, one JSON parse of the token, and for private_key_jwt one parse of
 * the client's JWKS and one EVP_PKEY built from it (a cache keyed by client could drop both;
 * not needed yet). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/jwt.h"
#include "crypto/secret.h"
#include "model/client.h"
#include "oidc/assertion.h"
#include "store/store.h"
#include "util/str.h"
#include "util/xmem.h"



/* RFC 7523 §3 item 3: the token endpoint URL; the issuer too (RFC 7523 §3: "the authorization
 * server ... MAY be identified by the issuer"; OIDC Core §9 asks for the token endpoint). */
#define TOKEN_PATH "/token"

struct assertion {
    struct jwt_unverified *jwt;
    const char *client_id, *jti;   /* borrowed from jwt's claims; client_id is iss */
    const char *sub;               /* borrowed; = client_id for a client assertion */
    int64_t exp;
    int64_t skew;                  /* the clock skew it was checked with */
};

void
assertion_free(struct assertion *a)
{
    if (!a)
        return;
    jwt_unverified_free(a->jwt);
    free(a);
}

const char *
assertion_client_id(const struct assertion *a)
{
    return a->client_id;
}

const char *
assertion_sub(const struct assertion *a)
{
    return a->sub;
}

const char *
assertion_kid(const struct assertion *a)
{
    return jwt_unverified_kid(a->jwt);
}

const char *
assertion_jti(const struct assertion *a)
{
    return a->jti;
}

const char *
assertion_alg(const struct assertion *a)
{
    return jwt_alg_name(jwt_unverified_alg(a->jwt));
}

/* RFC 8725 §3.11: a typed JWT of another kind (at+jwt, logout+jwt …) is not an assertion;
 * untyped ones are what RFC 7523 clients send; "client-authentication+jwt" is the explicit
 * type draft-ietf-oauth-rfc7523bis introduces. */
static bool
typ_ok(const char *typ, bool grant)
{
    /* a grant assertion is never a client-authentication JWT: each kind serves one purpose */
    if (grant)
        return !typ || jwt_typ_eq(typ, "JWT");
    return !typ || jwt_typ_eq(typ, "JWT") || jwt_typ_eq(typ, "client-authentication+jwt");
}

static bool
aud_names_us(const json_t *aud, const char *issuer, const char *token_ep, const char **why)
{
    const json_t *v;
    size_t i;
    bool found = false;

    if (json_is_string(aud))
        return str_eq(json_string_value(aud), token_ep) || str_eq(json_string_value(aud), issuer);
    if (!json_is_array(aud)) {
        *why = "aud missing or neither a string nor an array";
        return false;
    }
    json_array_foreach(aud, i, v) {
        if (!json_is_string(v)) {
            *why = "aud array holds a non-string";
            return false;
        }
        found = found || str_eq(json_string_value(v), token_ep) ||
                str_eq(json_string_value(v), issuer);
    }
    return found;
}

/* NumericDate (RFC 7519 §2) as an integer: what every JWT library writes for exp/iat/nbf.
 * Floats, strings and out-of-range numbers (jansson refuses integers beyond int64) fail. */
static bool
int_claim(const json_t *c, const char *name, bool required, int64_t *out, const char **why)
{
    const json_t *v = json_object_get(c, name);

    if (!v) {
        if (required)
            *why = "a required time claim is missing";
        return !required;
    }
    if (!json_is_integer(v)) {
        *why = "a time claim is not an integer";
        return false;
    }
    *out = (int64_t)json_integer_value(v);
    return true;
}

/* RFC 7523 §3 items 1-7, everything but the signature and the replay check. */
static int
check_claims(struct assertion *a, const json_t *c, const char *issuer, int64_t now, int64_t skew,
    bool grant, const char **why)
{
    const char *iss = json_string_value(json_object_get(c, "iss"));
    const char *sub = json_string_value(json_object_get(c, "sub"));
    const json_t *jti = json_object_get(c, "jti");
    char token_ep[GH_MAX_URI + sizeof(TOKEN_PATH)];
    int64_t exp = 0, iat = 0, nbf = 0;
    int n;

    /* items 1-2: the client names itself twice (OIDC Core §9: iss and sub = client_id) */
    if (!iss || !sub) {
        *why = "iss or sub missing or not a string";
        return GH_EINVAL;
    }
    if (grant) {
        /* RFC 7523 §3 items 1-2 for the authorization grant: any issuer about any subject;
         * oidc/grant_jwt.c decides which pairs are acceptable */
        if (!*iss || !*sub || strnlen(iss, GH_MAX_URI + 1) > GH_MAX_URI ||
            strnlen(sub, GH_MAX_URI + 1) > GH_MAX_URI || str_has_ctl(iss, strlen(iss)) ||
            str_has_ctl(sub, strlen(sub))) {
            *why = "iss or sub empty, over 2048 bytes or with control characters";
            return GH_EDENIED;
        }
    } else if (!str_eq(iss, sub)) {
        *why = "iss and sub differ";
        return GH_EDENIED;
    }
    if (!grant && strnlen(iss, GH_MAX_CLIENT_ID + 1) > GH_MAX_CLIENT_ID) {
        *why = "iss longer than any client_id";
        return GH_EDENIED;
    }
    /* item 3 */
    n = snprintf(token_ep, sizeof(token_ep), "%s%s", issuer, TOKEN_PATH);
    if (n < 0 || (size_t)n >= sizeof(token_ep)) {
        *why = "issuer too long";
        return GH_EINTERNAL;
    }
    *why = "aud names neither our token endpoint nor our issuer";
    if (!aud_names_us(json_object_get(c, "aud"), issuer, token_ep, why))
        return GH_EDENIED;
    /* items 4-6; the skew allowance is for clocks only (the claims are integers well inside
     * int64: now +- a few minutes cannot overflow, and a claim far out fails either way) */
    if (!int_claim(c, "exp", true, &exp, why) || !int_claim(c, "iat", false, &iat, why) ||
        !int_claim(c, "nbf", false, &nbf, why))
        return GH_EINVAL;
    if (exp <= now - skew) {
        *why = "expired";
        return GH_EEXPIRED;
    }
    /* RFC 7523 §3 item 4 lets us bound the lifetime; a short one also bounds the jti store */
    if (exp > now + GH_ASSERTION_MAX_LIFE_S + skew) {
        *why = "exp more than 5 minutes ahead";
        return GH_EDENIED;
    }
    if (json_object_get(c, "nbf") && nbf > now + skew) {
        *why = "nbf in the future";
        return GH_EDENIED;
    }
    if (json_object_get(c, "iat") &&
        (iat > now + skew || iat < now - GH_ASSERTION_MAX_LIFE_S - skew)) {
        *why = "iat in the future or more than 5 minutes old";
        return GH_EDENIED;
    }
    /* item 7: a jti we can store and compare */
    if (!json_is_string(jti) || json_string_length(jti) == 0 ||
        json_string_length(jti) > GH_ASSERTION_JTI_MAX ||
        str_has_ctl(json_string_value(jti), json_string_length(jti))) {
        *why = "jti missing, empty, over 256 bytes or with control characters";
        return GH_EINVAL;
    }
    a->client_id = iss;
    a->sub = sub;
    a->jti = json_string_value(jti);
    a->exp = exp;
    a->skew = skew;
    return GH_OK;
}

static int
parse(const char *jwt, size_t len, const char *issuer, int64_t now, int64_t skew, bool grant,
    struct assertion **out, const char **why)
{
    struct assertion *a = NULL;
    int rc;

    *out = NULL;
    *why = "no issuer";
    if (!issuer)
        return GH_EINTERNAL;
    if (skew < 0 || skew > GH_CLOCK_SKEW_MAX_S)
        skew = skew < 0 ? 0 : GH_CLOCK_SKEW_MAX_S;
    if (len > GH_MAX_JWT_LEN) {
        *why = "over GH_MAX_JWT_LEN";
        return GH_ETOOBIG;
    }
    a = x_calloc(1, sizeof(*a));
    if ((rc = jwt_parse_unverified(jwt, len, &a->jwt, why)) != GH_OK)
        goto out;
    if (!typ_ok(jwt_unverified_typ(a->jwt), grant)) {
        *why = "typ names another kind of JWT";
        rc = GH_EDENIED;
        goto out;
    }
    rc = check_claims(a, jwt_unverified_claims_borrow(a->jwt), issuer, now, skew, grant, why);
    if (rc != GH_OK)
        goto out;
    *out = a;
    a = NULL;
out:
    assertion_free(a);
    return rc;
}

int
assertion_parse(const char *jwt, size_t len, const char *issuer, int64_t now, int64_t skew,
    struct assertion **out, const char **why)
{
    return parse(jwt, len, issuer, now, skew, false, out, why);
}

int
assertion_parse_grant(const char *jwt, size_t len, const char *issuer, int64_t now,
    int64_t skew, struct assertion **out, const char **why)
{
    return parse(jwt, len, issuer, now, skew, true, out, why);
}

/* client_secret_jwt: the HMAC key is the secret's bytes (OIDC Core §16.19), held sealed
 * because, unlike the other secret methods, it must be recovered, not just compared. */
static int
verify_secret_jwt(const struct assertion *a, const struct client *c, const struct secrets *sec,
    const char **why)
{
    unsigned char *key = NULL;
    size_t keylen = 0;
    int rc;

    if (!sec || !c->secret_sealed || c->secret_sealed_len == 0) {
        *why = "client_secret_jwt client without a sealed secret";
        return GH_EDENIED;
    }
    /* model/client.c seals with the client_id as associated data */
    if ((rc = sec_open(sec, c->client_id, c->secret_sealed, c->secret_sealed_len, &key,
             &keylen)) != GH_OK) {
        *why = "the sealed secret does not open";
        return rc == GH_EDENIED ? GH_EDENIED : GH_ECRYPTO;
    }
    rc = jwt_verify_hmac(a->jwt, key, keylen, why);
    mem_wipe_free(key, keylen);
    return rc;
}

int
assertion_verify(const struct assertion *a, const struct client *c, const struct secrets *sec,
    const char **why)
{
    bool hmac = jwt_alg_is_hmac(jwt_unverified_alg(a->jwt));

    if (!str_eq(c->client_id, a->client_id)) {
        *why = "the assertion names another client";
        return GH_EDENIED;
    }
    /* the registered method decides the alg family and the key source, never the header */
    switch (c->auth_method) {
    case CLIENT_AUTH_SECRET_JWT:
        if (!hmac) {
            *why = "client_secret_jwt client sent a public-key alg";
            return GH_EDENIED;
        }
        return verify_secret_jwt(a, c, sec, why);
    case CLIENT_AUTH_PRIVATE_KEY_JWT:
        if (hmac) {
            *why = "private_key_jwt client sent an HMAC alg";
            return GH_EDENIED;
        }
        if (!c->jwks) {
            *why = "private_key_jwt client without a JWKS";
            return GH_EDENIED;
        }
        return jwt_verify_jwks(a->jwt, c->jwks, strlen(c->jwks), why);
    case CLIENT_AUTH_NONE:
    case CLIENT_AUTH_SECRET_BASIC:
    case CLIENT_AUTH_SECRET_POST:
        break;
    }
    *why = "client is not registered for a JWT method";
    return GH_EDENIED;
}

int
assertion_verify_keys(const struct assertion *a, const char *jwks, size_t len, const char **why)
{
    /* public keys verify public-key algs only (jwt_verify_jwks refuses HS* before any MAC) */
    if (jwt_alg_is_hmac(jwt_unverified_alg(a->jwt))) {
        *why = "HMAC alg for public keys";
        return GH_EDENIED;
    }
    return jwt_verify_jwks(a->jwt, jwks, len, why);
}

int
assertion_spend(struct store *st, const struct assertion *a)
{
    /* accepted until exp + skew, so remembered as long: a purge at exp would let a replay
     * through in the skew window */
    return store_jti_use(st, a->client_id, a->jti, a->exp + a->skew);
}
