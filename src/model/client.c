/* client.c — the OAuth client registry's rules: client_id syntax, which redirect URIs may be
 * registered (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §2.1/§4.1), byte-exact redirect matching,
 * auth methods (RFC 8414 names), grant types, scopes (RFC 6749 §3.3), client secrets, and the
 * login-flow settings: consent page, PKCE (never optional for public clients, RFC 9700 §2.1.1)
 * and the alg the client's tokens are signed with.
 *
 * Secrets are never stored: the store keeps sec_client_secret_hash() (HMAC-SHA-256 keyed by the
 * realm secret and bound to the client_id) and, only for client_secret_jwt, where the secret is
 * the HMAC key for the client's assertions and must be recoverable, the secret sealed with
 * AES-GCM (aad = client_id). Generated secrets are 256 random bits.
 *
 * Not here: authenticating a request (oidc/client_auth.c), parsing LIST arguments (cli/). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/keys.h"
#include "crypto/rnd.h"
#include "crypto/secret.h"
#include "model/client.h"
#include "model/issuer.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/url.h"
#include "util/xmem.h"

_Static_assert(SEC_HASH_LEN == sizeof(((struct client *)0)->secret_hash),
    "secret_hash must hold sec_client_secret_hash()");

/* Indexed by enum client_auth. */
static const char *const auth_names[] = {
    [CLIENT_AUTH_NONE] = "none",
    [CLIENT_AUTH_SECRET_BASIC] = "client_secret_basic",
    [CLIENT_AUTH_SECRET_POST] = "client_secret_post",
    [CLIENT_AUTH_SECRET_JWT] = "client_secret_jwt",
    [CLIENT_AUTH_PRIVATE_KEY_JWT] = "private_key_jwt",
};
#define AUTH_COUNT (sizeof(auth_names) / sizeof(auth_names[0]))

const char *const client_grant_types_known[] = {
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    NULL,
};

/* What a client's tokens may be signed with; the first is the default. gatehouse's keys are
 * RSA (RS256, PS256) and EC P-256 (ES256); never "none" or an HMAC alg (STYLE.md §6.5). */
const char *const client_signing_algs[] = { "RS256", "ES256", "PS256", NULL };

/* char * (not const) only to match the spec's list type; never written. */
static char *const default_grants[] = { "authorization_code", "refresh_token", NULL };
static char *const default_scopes[] = { "openid", "profile", "email", NULL };

void
client_free(struct client *c)
{
    if (!c)
        return;
    free(c->client_id);
    free(c->name);
    str_list_free(c->redirect_uris);
    str_list_free(c->post_logout_redirect_uris);
    str_list_free(c->grant_types);
    str_list_free(c->scopes);
    free(c->jwks);
    free(c->jwks_uri);
    free(c->signing_alg);
    mem_wipe(c->secret_hash, sizeof(c->secret_hash));
    mem_wipe_free(c->secret_sealed, c->secret_sealed_len);
    free(c);
}

void
client_list_free(struct client **list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++)
        client_free(list[i]);
    free(list);
}

const char *
client_auth_name(enum client_auth m)
{
    if ((unsigned)m >= AUTH_COUNT)
        return NULL;
    return auth_names[m];
}

int
client_auth_parse(const char *s, enum client_auth *out)
{
    for (size_t i = 0; s && i < AUTH_COUNT; i++) {
        if (strcmp(s, auth_names[i]) == 0) {
            *out = (enum client_auth)i;
            return GH_OK;
        }
    }
    return GH_EINVAL;
}

bool
client_signing_alg_ok(const char *alg)
{
    for (size_t i = 0; alg && client_signing_algs[i]; i++) {
        if (strcmp(alg, client_signing_algs[i]) == 0)
            return true;
    }
    return false;
}

static bool
uses_secret(enum client_auth m)
{
    return m == CLIENT_AUTH_SECRET_BASIC || m == CLIENT_AUTH_SECRET_POST ||
           m == CLIENT_AUTH_SECRET_JWT;
}

/* --- syntax ------------------------------------------------------------------------------ */

int
client_id_check(const char *client_id, const char **why)
{
    size_t n;

    *why = NULL;
    if (!client_id) {
        *why = "client_id is missing";
        return GH_EINVAL;
    }
    n = strnlen(client_id, GH_MAX_CLIENT_ID + 1);
    if (n == 0 || n > GH_MAX_CLIENT_ID) {
        *why = "client_id must be 1 to 128 characters";
        return GH_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = client_id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '~' || c == '-')) {
            *why = "client_id may contain only letters, digits and . _ ~ -";
            return GH_EINVAL;
        }
    }
    return GH_OK;
}

/* Schemes that execute or read locally in a browser: never a redirect target. */
static const char *const bad_schemes[] = {
    "javascript", "data", "file", "vbscript", "about", "blob", "filesystem", NULL,
};

/* "." and ".." path segments: the byte-exact match would still hold, but such a URI means
 * something else to every normalising party on the way (RFC 3986 §5.2.4). */
static bool
has_dot_segment(const char *uri)
{
    const char *end = uri + strcspn(uri, "?");

    for (const char *p = strchr(uri, '/'); p && p < end; p = strchr(p + 1, '/')) {
        size_t seg = strcspn(p + 1, "/?");
        if ((seg == 1 && p[1] == '.') || (seg == 2 && p[1] == '.' && p[2] == '.'))
            return true;
    }
    return false;
}

int
client_redirect_uri_check(const char *uri, bool is_public, const char **why)
{
    struct url u;
    int rc;

    *why = NULL;
    if (!uri) {
        *why = "redirect URI is missing";
        return GH_EINVAL;
    }
    /* url_parse rejects fragments (RFC 6749 §3.1.2), userinfo, spaces, controls, backslashes
     * and raw non-ASCII. */
    if ((rc = url_parse(uri, &u, why)) != GH_OK)
        return rc;
    for (size_t i = 0; bad_schemes[i]; i++) {
        if (strcmp(u.scheme, bad_schemes[i]) == 0) {
            *why = "this URI scheme can never be a redirect target";
            return GH_EINVAL;
        }
    }
    if (strcmp(u.scheme, "https") == 0) {
        if (!u.has_authority || !u.host[0]) {
            *why = "https redirect URI has no host";
            return GH_EINVAL;
        }
    } else if (strcmp(u.scheme, "http") == 0) {
        /* RFC 9700 §2.1 / RFC 8252 §7.3: plain http only where it never leaves the machine. */
        if (!u.has_authority || !url_host_is_loopback(u.host)) {
            *why = "http redirect URIs are allowed only for loopback hosts (use https)";
            return GH_EINVAL;
        }
    } else {
        /* RFC 8252 §7.1: private-use schemes are reverse domain names, for native apps. */
        if (!strchr(u.scheme, '.')) {
            *why = "custom URI schemes must be reverse domain names (com.example.app:/cb)";
            return GH_EINVAL;
        }
        if (!is_public) {
            *why = "private-use URI schemes are only for public (native) clients";
            return GH_EINVAL;
        }
    }
    if (has_dot_segment(uri)) {
        *why = "redirect URI path has . or .. segments";
        return GH_EINVAL;
    }
    return GH_OK;
}

/* RFC 9700 §2.1 and OIDC Core §3.1.2.1: compare with simple string comparison, no
 * normalisation of case, ports, percent-encoding or trailing slashes. Every "lenient" matcher
 * at other IdPs (prefix, wildcard, path normalisation) has become an open redirect or a code
 * leak, so only the byte-identical registered string matches. */
static bool
list_has_exact(char *const *list, const char *uri)
{
    if (!uri)
        return false;
    for (size_t i = 0; list && list[i]; i++) {
        if (strcmp(list[i], uri) == 0)
            return true;
    }
    return false;
}

bool
client_redirect_ok(const struct client *c, const char *uri)
{
    return c && list_has_exact(c->redirect_uris, uri);
}

bool
client_post_logout_redirect_ok(const struct client *c, const char *uri)
{
    return c && list_has_exact(c->post_logout_redirect_uris, uri);
}

/* RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
static bool
scope_token_ok(const char *s)
{
    size_t n = strnlen(s, GH_MAX_SCOPE_LEN + 1);

    if (n == 0 || n > GH_MAX_SCOPE_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == 0x22 || c == 0x5c)
            return false;
    }
    return true;
}

/* Operator-supplied secret: visible ASCII without spaces (RFC 6749 App. A.2 VSCHAR minus
 * space, so it survives copying and form encoding), GH_MIN..GH_MAX_CLIENT_SECRET chars. */
static int
secret_check(const char *s, const char **why)
{
    size_t n = strnlen(s, GH_MAX_CLIENT_SECRET + 1);

    if (n < GH_MIN_CLIENT_SECRET) {
        *why = "client secret must be at least 32 characters";
        return GH_EINVAL;
    }
    if (n > GH_MAX_CLIENT_SECRET) {
        *why = "client secret is too long (at most 512 characters)";
        return GH_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
            *why = "client secret may contain only visible ASCII characters";
            return GH_EINVAL;
        }
    }
    return GH_OK;
}

static bool
has_dup(char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(list[i], list[j]) == 0)
                return true;
        }
    }
    return false;
}

/* Bounded copy of a NULL-terminated list (never NULL). GH_ETOOBIG past max items. */
static int
list_copy(char *const *src, size_t max, char ***out)
{
    size_t n = 0;
    char **l;

    *out = NULL;
    while (src && src[n]) {
        if (++n > max)
            return GH_ETOOBIG;
    }
    l = x_calloc(n + 1, sizeof(*l));
    for (size_t i = 0; i < n; i++)
        l[i] = x_strdup(src[i]);
    *out = l;
    return GH_OK;
}

static int
check_uris(char *const *uris, bool is_public, const char **why)
{
    size_t n = str_list_len(uris);

    for (size_t i = 0; i < n; i++) {
        int rc = client_redirect_uri_check(uris[i], is_public, why);
        if (rc != GH_OK)
            return rc;
    }
    if (has_dup(uris, n)) {
        *why = "redirect URI listed twice";
        return GH_EINVAL;
    }
    return GH_OK;
}

/* Hash (and for client_secret_jwt seal) into c the secret given, already checked by
 * secret_check(), or, if given is NULL, a newly generated one that *gen then holds: the caller
 * shows it once and frees it with str_wipe_free(), also on failure. */
static int
set_secret(const struct secrets *sec, struct client *c, const char *given, char **gen,
    const char **why)
{
    const char *secret = given;
    size_t n;

    *gen = NULL;
    if (!secret) {
        if (!(*gen = rnd_token(GH_CLIENT_SECRET_BYTES))) {
            *why = "generating the client secret failed";
            return GH_ECRYPTO;
        }
        secret = *gen;
    }
    n = strlen(secret);
    if (!sec) {
        *why = "the realm secret is not loaded";
        return GH_EINTERNAL;
    }
    sec_client_secret_hash(sec, c->client_id, secret, n, c->secret_hash);
    c->has_secret = true;
    mem_wipe_free(c->secret_sealed, c->secret_sealed_len);
    c->secret_sealed = NULL;
    c->secret_sealed_len = 0;
    if (c->auth_method == CLIENT_AUTH_SECRET_JWT &&
        sec_seal(sec, c->client_id, secret, n, &c->secret_sealed, &c->secret_sealed_len) !=
            GH_OK) {
        *why = "sealing the client secret failed";
        return GH_ECRYPTO;
    }
    return GH_OK;
}

static bool
grant_known(const char *g)
{
    for (size_t i = 0; client_grant_types_known[i]; i++) {
        if (strcmp(g, client_grant_types_known[i]) == 0)
            return true;
    }
    return false;
}

/* --- create, rotate, check --------------------------------------------------------------- */

/* Everything about spec that does not need the store; fills c (owned by the caller). */
static int
build_client(const struct client_spec *spec, struct client *c, const char **why)
{
    char *const *grants = spec->grant_types ? spec->grant_types : default_grants;
    char *const *scopes = spec->scopes ? spec->scopes : default_scopes;
    const char *name = spec->name ? spec->name : spec->client_id;
    size_t n;
    int rc;

    if ((rc = client_id_check(spec->client_id, why)) != GH_OK)
        return rc;
    n = strnlen(name, GH_MAX_NAME + 1);
    if (n == 0 || n > GH_MAX_NAME || !str_utf8_valid(name, n) || str_has_ctl(name, n)) {
        *why = "client name must be 1 to 256 bytes of UTF-8 without control characters";
        return GH_EINVAL;
    }
    c->client_id = x_strdup(spec->client_id);
    c->name = x_strdup(name);
    c->is_public = spec->is_public;
    c->auth_method = spec->auth_method_set ? spec->auth_method
                     : spec->is_public     ? CLIENT_AUTH_NONE
                                           : CLIENT_AUTH_SECRET_BASIC;
    if (!client_auth_name(c->auth_method)) {
        *why = "unknown token endpoint auth method";
        return GH_EINVAL;
    }

    /* Public clients cannot keep a secret (RFC 6749 §2.1). */
    if (c->is_public && c->auth_method != CLIENT_AUTH_NONE) {
        *why = "public clients use auth method none";
        return GH_EINVAL;
    }
    if (!c->is_public && c->auth_method == CLIENT_AUTH_NONE) {
        *why = "confidential clients need an auth method other than none";
        return GH_EINVAL;
    }
    if (spec->secret && !uses_secret(c->auth_method)) {
        *why = c->is_public ? "public clients have no secret"
                            : "this auth method does not use a client secret";
        return GH_EINVAL;
    }
    if (spec->secret && (rc = secret_check(spec->secret, why)) != GH_OK)
        return rc;
    if (c->auth_method == CLIENT_AUTH_PRIVATE_KEY_JWT && spec->jwks_uri) {
        /* fetched by the server: the same SSRF rules as a trusted issuer's (util/fetch.c) */
        if (spec->jwks) {
            *why = "give the client's JWKS or a jwks_uri, not both";
            return GH_EINVAL;
        }
        if ((rc = issuer_jwks_uri_check(spec->jwks_uri, why)) != GH_OK)
            return rc;
        c->jwks_uri = x_strdup(spec->jwks_uri);
    } else if (c->auth_method == CLIENT_AUTH_PRIVATE_KEY_JWT) {
        if (!spec->jwks) {
            *why = "private_key_jwt needs the client's public JWKS or a jwks_uri";
            return GH_EINVAL;
        }
        n = strnlen(spec->jwks, GH_MAX_JWKS + 1);
        if (n > GH_MAX_JWKS) {
            *why = "JWKS is too large (at most 64 KiB)";
            return GH_EINVAL;
        }
        if ((rc = keys_jwks_check_public(spec->jwks, n, why)) != GH_OK)
            return rc;
        c->jwks = x_strdup(spec->jwks);
    } else if (spec->jwks || spec->jwks_uri) {
        *why = spec->jwks ? "a JWKS is used only with private_key_jwt"
                          : "a jwks_uri is used only with private_key_jwt";
        return GH_EINVAL;
    }

    if (list_copy(grants, sizeof(client_grant_types_known) / sizeof(char *) - 1,
            &c->grant_types) != GH_OK) {
        *why = "too many grant types";
        return GH_EINVAL;
    }
    n = str_list_len(c->grant_types);
    if (n == 0) {
        *why = "at least one grant type is needed";
        return GH_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!grant_known(c->grant_types[i])) {
            *why = "unknown grant type";
            return GH_EINVAL;
        }
    }
    if (has_dup(c->grant_types, n)) {
        *why = "grant type listed twice";
        return GH_EINVAL;
    }
    /* RFC 6749 §4.4: client_credentials is for clients that can authenticate. */
    if (c->is_public && str_list_has(c->grant_types, "client_credentials")) {
        *why = "public clients cannot use client_credentials";
        return GH_EINVAL;
    }
    /* RFC 7523 §2.1 as gatehouse applies it: the grant binds an assertion to the client that
     * presents it, which a public client cannot prove to be */
    if (c->is_public &&
        str_list_has(c->grant_types, "urn:ietf:params:oauth:grant-type:jwt-bearer")) {
        *why = "public clients cannot use the jwt-bearer grant";
        return GH_EINVAL;
    }

    if (list_copy(spec->redirect_uris, GH_MAX_REDIRECT_URIS, &c->redirect_uris) != GH_OK ||
        list_copy(spec->post_logout_redirect_uris, GH_MAX_REDIRECT_URIS,
            &c->post_logout_redirect_uris) != GH_OK) {
        *why = "too many redirect URIs (at most 32)";
        return GH_EINVAL;
    }
    if ((rc = check_uris(c->redirect_uris, c->is_public, why)) != GH_OK)
        return rc;
    if ((rc = check_uris(c->post_logout_redirect_uris, c->is_public, why)) != GH_OK)
        return rc;
    if (str_list_has(c->grant_types, "authorization_code") && !c->redirect_uris[0]) {
        *why = "authorization_code needs at least one redirect URI";
        return GH_EINVAL;
    }

    if (list_copy(scopes, GH_MAX_SCOPES, &c->scopes) != GH_OK) {
        *why = "too many scopes (at most 64)";
        return GH_EINVAL;
    }
    n = str_list_len(c->scopes);
    for (size_t i = 0; i < n; i++) {
        if (!scope_token_ok(c->scopes[i])) {
            *why = "scope must be 1 to 128 printable ASCII characters without space, \" or \\";
            return GH_EINVAL;
        }
    }
    if (has_dup(c->scopes, n)) {
        *why = "scope listed twice";
        return GH_EINVAL;
    }

    /* RFC 9700 §2.1.1: a public client has no secret, so PKCE is what binds the code to the
     * party that started the flow; only a confidential client may be let off it. */
    if (spec->pkce_optional && c->is_public) {
        *why = "public clients always need PKCE; only a confidential client may skip it";
        return GH_EINVAL;
    }
    c->pkce_required = !spec->pkce_optional;
    c->consent = spec->consent;
    if (spec->signing_alg && !client_signing_alg_ok(spec->signing_alg)) {
        *why = "signing alg must be RS256, ES256 or PS256";
        return GH_EINVAL;
    }
    c->signing_alg = x_strdup(spec->signing_alg ? spec->signing_alg : client_signing_algs[0]);
    return GH_OK;
}

int
client_create(struct store *st, const struct secrets *sec, const struct client_spec *spec,
    char **generated_secret, const char **why)
{
    struct client *c = x_calloc(1, sizeof(*c));
    char *gen = NULL;
    int rc = GH_EINVAL;

    *generated_secret = NULL;
    *why = NULL;
    if ((rc = build_client(spec, c, why)) != GH_OK)
        goto out;
    if (uses_secret(c->auth_method) &&
        (rc = set_secret(sec, c, spec->secret, &gen, why)) != GH_OK)
        goto out;
    c->created_at = c->updated_at = clock_now();
    if ((rc = store_client_add(st, c)) != GH_OK) {
        if (rc == GH_EEXIST)
            *why = "client_id is already registered";
        goto out;
    }
    *generated_secret = gen;
    gen = NULL;
out:
    str_wipe_free(gen);
    client_free(c);
    return rc;
}

int
client_rotate_secret(struct store *st, const struct secrets *sec, const char *client_id,
    const char *new_secret, char **generated_secret, const char **why)
{
    struct client *c = NULL;
    char *gen = NULL;
    int rc = GH_EINVAL;

    *generated_secret = NULL;
    *why = NULL;
    if ((rc = client_id_check(client_id, why)) != GH_OK)
        goto out;
    if ((rc = store_client_get(st, client_id, &c)) != GH_OK) {
        if (rc == GH_ENOTFOUND)
            *why = "no such client";
        goto out;
    }
    if (c->is_public || !uses_secret(c->auth_method)) {
        *why = "this client does not authenticate with a secret";
        rc = GH_EINVAL;
        goto out;
    }
    if (new_secret && (rc = secret_check(new_secret, why)) != GH_OK)
        goto out;
    if ((rc = set_secret(sec, c, new_secret, &gen, why)) != GH_OK)
        goto out;
    rc = store_client_set_secret(st, client_id, c->secret_hash, c->secret_sealed,
        c->secret_sealed_len, clock_now());
    if (rc == GH_ENOTFOUND)
        *why = "no such client";
    if (rc != GH_OK)
        goto out;
    *generated_secret = gen;
    gen = NULL;
out:
    str_wipe_free(gen);
    client_free(c);
    return rc;
}

bool
client_secret_ok(const struct secrets *sec, const struct client *c, const char *secret,
    size_t len)
{
    unsigned char h[SEC_HASH_LEN];
    bool ok;

    if (!sec || !c || !c->has_secret || !secret || len == 0 || len > GH_MAX_CLIENT_SECRET)
        return false;
    sec_client_secret_hash(sec, c->client_id, secret, len, h);
    ok = str_ct_eq(h, c->secret_hash, sizeof(h));
    mem_wipe(h, sizeof(h));
    return ok;
}
