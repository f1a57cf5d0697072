/* test_client.c — client registry rules: client_id syntax, which redirect URIs may be
 * registered (SECURITY.md P1), byte-exact matching, client_create's validation matrix, and
 * secrets (generation, hashing, sealing for client_secret_jwt, rotation, constant-time check)
 * against a temporary store and realm secret. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/secret.h"
#include "model/client.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/xmem.h"
#include "t.h"

static char tmpdir[64];
static int seq;
static struct secrets *sec;

/* A real P-256 public key; the private half was thrown away. */
#define JWKS_EC                                                                        \
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\","                     \
    "\"x\":\"8qrjvYXV9mj3I92WNc3ms8uz2jz77z8j9pvqqTzXYnk\","                           \
    "\"y\":\"r1pdJ1zktwETU_5OCME31F1oR9D1ZfHec1PNJdqX8Nc\"}]}"

static struct store *
open_new(void)
{
    struct store *st = NULL;
    char path[128], err[256];

    snprintf(path, sizeof(path), "%s/c%d.db", tmpdir, ++seq);
    if (store_open(path, STORE_CREATE, &st, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "  open %s: %s\n", path, err);
        return NULL;
    }
    return st;
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static bool
contains(const unsigned char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(hay + i, needle, k) == 0)
            return true;
    }
    return false;
}

/* --- names and syntax -------------------------------------------------------------------- */

static void
test_auth_method_names_roundtrip(void)
{
    static const char *const names[] = { "none", "client_secret_basic", "client_secret_post",
        "client_secret_jwt", "private_key_jwt" };
    enum client_auth m;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        T_EQ_INT(client_auth_parse(names[i], &m), GH_OK);
        T_EQ_INT(m, i);
        T_EQ_STR(client_auth_name(m), names[i]);
    }
    T_EQ_INT(client_auth_parse("tls_client_auth", &m), GH_EINVAL);
    T_EQ_INT(client_auth_parse("None", &m), GH_EINVAL);
    T_EQ_INT(client_auth_parse("", &m), GH_EINVAL);
    T_ASSERT(client_auth_name((enum client_auth)99) == NULL);
}

static void
test_grant_types_known(void)
{
    size_t n = 0;

    while (client_grant_types_known[n])
        n++;
    T_EQ_INT(n, 4);
    T_EQ_STR(client_grant_types_known[0], "authorization_code");
    T_EQ_STR(client_grant_types_known[3], "urn:ietf:params:oauth:grant-type:jwt-bearer");
}

static void
test_client_id_check_table(void)
{
    static const struct {
        const char *id;
        int rc;
    } cases[] = {
        { "shop", GH_OK },
        { "Shop-2.app_~x", GH_OK },
        { "a", GH_OK },
        { "", GH_EINVAL },
        { "shop app", GH_EINVAL },
        { "shop/app", GH_EINVAL },
        { "shop:app", GH_EINVAL },
        { "shop%20", GH_EINVAL },
        { "sh\xc3\xb6p", GH_EINVAL },
        { "shop\n", GH_EINVAL },
        { "x' OR '1'='1", GH_EINVAL },
    };
    char big[GH_MAX_CLIENT_ID + 2];
    const char *why;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = client_id_check(cases[i].id, &why);
        if (rc != cases[i].rc)
            fprintf(stderr, "  case \"%s\"\n", cases[i].id);
        T_EQ_INT(rc, cases[i].rc);
    }
    memset(big, 'c', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    T_EQ_INT(client_id_check(big, &why), GH_EINVAL);
    T_EQ_INT(client_id_check(big + 1, &why), GH_OK);
}

/* SECURITY.md P1 plus RFC 8252: what may be registered, for a confidential and a public client. */
static void
test_redirect_uri_check_table(void)
{
    static const struct {
        const char *uri;
        int conf, pub;   /* expected rc for a confidential / a public client */
    } cases[] = {
        { "https://rp.example/cb", GH_OK, GH_OK },
        { "https://rp.example", GH_OK, GH_OK },
        { "https://rp.example:8443/cb?x=1", GH_OK, GH_OK },
        { "HTTPS://rp.example/cb", GH_OK, GH_OK },
        { "http://rp.example/cb", GH_EINVAL, GH_EINVAL },
        { "http://127.0.0.1:9/cb", GH_OK, GH_OK },
        { "http://127.1.2.3/cb", GH_OK, GH_OK },
        { "http://[::1]:8080/cb", GH_OK, GH_OK },
        { "http://localhost/cb", GH_OK, GH_OK },
        { "http://localhost.evil.com/cb", GH_EINVAL, GH_EINVAL },
        { "http://127.0.0.1.evil.com/cb", GH_EINVAL, GH_EINVAL },
        { "https://rp.example/cb#x", GH_EINVAL, GH_EINVAL },
        { "https://rp.example/cb#", GH_EINVAL, GH_EINVAL },
        { "https://user@rp.example/cb", GH_EINVAL, GH_EINVAL },
        { "https://rp.example@evil.com/cb", GH_EINVAL, GH_EINVAL },
        { "https://a@b@rp.example/cb", GH_EINVAL, GH_EINVAL },
        { "javascript:alert(1)", GH_EINVAL, GH_EINVAL },
        { "JaVaScRiPt:alert(1)", GH_EINVAL, GH_EINVAL },
        { "data:text/html,<script>alert(1)</script>", GH_EINVAL, GH_EINVAL },
        { "data:text/html;base64,PHNjcmlwdD4", GH_EINVAL, GH_EINVAL },
        { "file:///etc/passwd", GH_EINVAL, GH_EINVAL },
        { "vbscript:msgbox", GH_EINVAL, GH_EINVAL },
        { "com.example.app:/cb", GH_EINVAL, GH_OK },
        { "com.example.app://cb", GH_EINVAL, GH_OK },
        { "myapp:/cb", GH_EINVAL, GH_EINVAL },
        { "https://rp.example/cb ", GH_EINVAL, GH_EINVAL },
        { " https://rp.example/cb", GH_EINVAL, GH_EINVAL },
        { "https://rp.example\\@evil.com/cb", GH_EINVAL, GH_EINVAL },
        { "https://rp.example/c\\b", GH_EINVAL, GH_EINVAL },
        { "https://rp.example/cb%00.evil.com", GH_OK, GH_OK },   /* only ever matched exactly */
        { "https://rp.example/cb\t", GH_EINVAL, GH_EINVAL },
        { "https://rp.example/cb/../cb", GH_EINVAL, GH_EINVAL },
        { "https://rp.example/./cb", GH_EINVAL, GH_EINVAL },
        { "https://rp.example/cb/..", GH_EINVAL, GH_EINVAL },
        { "https://rp.example/x/..;/cb", GH_OK, GH_OK },         /* "..;" is not a dot segment */
        { "https://rp.example/a..b/cb", GH_OK, GH_OK },
        { "https://rp.example/cb?next=../x", GH_OK, GH_OK },     /* query is not path */
        { "https://rp.exämple/cb", GH_EINVAL, GH_EINVAL },
        { "https:/rp.example/cb", GH_EINVAL, GH_EINVAL },
        { "//rp.example/cb", GH_EINVAL, GH_EINVAL },
        { "/cb", GH_EINVAL, GH_EINVAL },
        { "", GH_EINVAL, GH_EINVAL },
    };
    const char *why;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int c = client_redirect_uri_check(cases[i].uri, false, &why);
        int p = client_redirect_uri_check(cases[i].uri, true, &why);
        if (c != cases[i].conf || p != cases[i].pub)
            fprintf(stderr, "  case \"%s\": %d %d\n", cases[i].uri, c, p);
        T_EQ_INT(c, cases[i].conf);
        T_EQ_INT(p, cases[i].pub);
        T_ASSERT(p == GH_OK || why != NULL);
    }
    T_EQ_INT(client_redirect_uri_check(NULL, true, &why), GH_EINVAL);
    T_EQ_INT(client_redirect_uri_check("javascript:alert(1)", true, &why), GH_EINVAL);
    T_EQ_STR(why, "this URI scheme can never be a redirect target");
    T_EQ_INT(client_redirect_uri_check("http://rp.example/cb", false, &why), GH_EINVAL);
    T_EQ_STR(why, "http redirect URIs are allowed only for loopback hosts (use https)");
}

static void
test_redirect_exact_match(void)
{
    char *uris[] = { "https://rp.example/cb", "http://127.0.0.1:9/cb", NULL };
    char *logout[] = { "https://rp.example/bye", NULL };
    struct client c = { .redirect_uris = uris, .post_logout_redirect_uris = logout };
    static const char *const not_equal[] = {
        "https://rp.example/cb/",
        "https://rp.example/cb?x=1",
        "https://rp.example/cb#x",
        "https://RP.example/cb",
        "HTTPS://rp.example/cb",
        "https://rp.example:443/cb",
        "https://rp.example/%63b",
        "https://rp.example/cb/../cb",
        "https://rp.example/x/..;/cb",
        "https://rp.example.evil.com/cb",
        "https://rp.example@evil.com/cb",
        "https://a@b@rp.example/cb",
        "http://rp.example/cb",
        "https://rp.example/cb%00.evil.com",
        "https://rp.example/cb ",
        "https://rp.example/c",
        "https://rp.example/cbx",
        "http://127.0.0.1:10/cb",
        "http://localhost:9/cb",
        "https://rp.example/bye",
        "",
    };

    T_ASSERT(client_redirect_ok(&c, "https://rp.example/cb"));
    T_ASSERT(client_redirect_ok(&c, "http://127.0.0.1:9/cb"));
    for (size_t i = 0; i < sizeof(not_equal) / sizeof(not_equal[0]); i++) {
        if (client_redirect_ok(&c, not_equal[i]))
            fprintf(stderr, "  matched \"%s\"\n", not_equal[i]);
        T_ASSERT(!client_redirect_ok(&c, not_equal[i]));
    }
    T_ASSERT(!client_redirect_ok(&c, NULL));
    T_ASSERT(!client_redirect_ok(NULL, "https://rp.example/cb"));
    T_ASSERT(client_post_logout_redirect_ok(&c, "https://rp.example/bye"));
    T_ASSERT(!client_post_logout_redirect_ok(&c, "https://rp.example/cb"));
    T_ASSERT(!client_post_logout_redirect_ok(&c, "https://rp.example/bye/"));
}

/* --- client_create ----------------------------------------------------------------------- */

static char *cb[] = { "https://rp.example/cb", NULL };

static void
test_create_public_client_defaults(void)
{
    struct store *st = open_new();
    struct client_spec sp = { .client_id = "spa", .is_public = true, .redirect_uris = cb };
    struct client *c = NULL;
    char *gen = (char *)"x";
    const char *why = NULL;

    T_ASSERT(st);
    T_EQ_INT(client_create(st, sec, &sp, &gen, &why), GH_OK);
    T_ASSERT(gen == NULL);
    T_EQ_INT(store_client_get(st, "spa", &c), GH_OK);
    T_EQ_STR(c->name, "spa");
    T_ASSERT(c->is_public);
    T_EQ_INT(c->auth_method, CLIENT_AUTH_NONE);
    T_ASSERT(!c->has_secret);
    T_EQ_STR(c->grant_types[0], "authorization_code");
    T_EQ_STR(c->grant_types[1], "refresh_token");
    T_ASSERT(c->grant_types[2] == NULL);
    T_EQ_STR(c->scopes[0], "openid");
    T_EQ_STR(c->scopes[1], "profile");
    T_EQ_STR(c->scopes[2], "email");
    T_ASSERT(c->scopes[3] == NULL);
    T_EQ_STR(c->redirect_uris[0], "https://rp.example/cb");
    T_ASSERT(c->post_logout_redirect_uris[0] == NULL);
    T_ASSERT(!client_secret_ok(sec, c, "", 0));
    /* login-flow defaults: no consent page, PKCE required, RS256 */
    T_ASSERT(!c->consent);
    T_ASSERT(c->pkce_required);
    T_EQ_STR(c->signing_alg, "RS256");
    client_free(c);
    T_EQ_INT(client_create(st, sec, &sp, &gen, &why), GH_EEXIST);
    T_EQ_STR(why, "client_id is already registered");
    store_close(st);
}

static void
test_create_confidential_generates_secret(void)
{
    struct store *st = open_new();
    struct client_spec sp = { .client_id = "shop", .name = "Shop Ä", .redirect_uris = cb };
    struct client_spec sp2 = sp;
    struct client *c = NULL, *c2 = NULL;
    char *gen = NULL, *gen2 = NULL;
    const char *why = NULL;

    T_ASSERT(st);
    T_EQ_INT(client_create(st, sec, &sp, &gen, &why), GH_OK);
    T_ASSERT(gen != NULL);
    T_EQ_INT(strlen(gen), 43);   /* 256 bits, base64url */
    T_EQ_INT(store_client_get(st, "shop", &c), GH_OK);
    T_EQ_STR(c->name, "Shop Ä");
    T_EQ_INT(c->auth_method, CLIENT_AUTH_SECRET_BASIC);
    T_ASSERT(c->has_secret);
    T_ASSERT(c->secret_sealed == NULL);   /* only client_secret_jwt keeps a sealed copy */
    T_ASSERT(c->pkce_required && !c->consent);   /* PKCE is the default for every client */
    T_EQ_STR(c->signing_alg, "RS256");
    T_ASSERT(client_secret_ok(sec, c, gen, strlen(gen)));
    T_ASSERT(!client_secret_ok(sec, c, gen, strlen(gen) - 1));
    gen[0] ^= 1;
    T_ASSERT(!client_secret_ok(sec, c, gen, strlen(gen)));
    gen[0] ^= 1;
    T_ASSERT(!client_secret_ok(NULL, c, gen, strlen(gen)));

    /* The same secret does not authenticate another client (the hash binds the client_id). */
    sp2.client_id = "shop2";
    sp2.secret = gen;
    T_EQ_INT(client_create(st, sec, &sp2, &gen2, &why), GH_OK);
    T_ASSERT(gen2 == NULL);
    T_EQ_INT(store_client_get(st, "shop2", &c2), GH_OK);
    T_ASSERT(client_secret_ok(sec, c2, gen, strlen(gen)));
    T_ASSERT(memcmp(c->secret_hash, c2->secret_hash, sizeof(c->secret_hash)) != 0);
    client_free(c);
    client_free(c2);
    str_wipe_free(gen);
    store_close(st);
}

static void
test_create_secret_jwt_seals_recoverable_secret(void)
{
    struct store *st = open_new();
    const char *secret = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
    struct client_spec sp = { .client_id = "jwtc", .auth_method_set = true,
        .auth_method = CLIENT_AUTH_SECRET_JWT, .redirect_uris = cb, .secret = secret };
    struct client *c = NULL;
    unsigned char *pt = NULL;
    size_t ptlen = 0;
    char *gen = NULL;
    const char *why = NULL;

    T_ASSERT(st);
    T_EQ_INT(client_create(st, sec, &sp, &gen, &why), GH_OK);
    T_ASSERT(gen == NULL);
    T_EQ_INT(store_client_get(st, "jwtc", &c), GH_OK);
    T_ASSERT(c->secret_sealed != NULL);
    T_ASSERT(!contains(c->secret_sealed, c->secret_sealed_len, secret));
    T_EQ_INT(sec_open(sec, "jwtc", c->secret_sealed, c->secret_sealed_len, &pt, &ptlen), GH_OK);
    T_EQ_INT(ptlen, strlen(secret));
    T_ASSERT(memcmp(pt, secret, ptlen) == 0);
    mem_wipe_free(pt, ptlen);
    /* bound to the client_id */
    T_EQ_INT(sec_open(sec, "other", c->secret_sealed, c->secret_sealed_len, &pt, &ptlen),
        GH_EDENIED);
    T_ASSERT(client_secret_ok(sec, c, secret, strlen(secret)));
    client_free(c);
    store_close(st);
}

static void
test_create_private_key_jwt(void)
{
    struct store *st = open_new();
    char *grants[] = { "client_credentials", NULL };
    struct client_spec sp = { .client_id = "svc", .auth_method_set = true,
        .auth_method = CLIENT_AUTH_PRIVATE_KEY_JWT, .grant_types = grants, .jwks = JWKS_EC };
    struct client *c = NULL;
    char *gen = NULL;
    const char *why = NULL;

    T_ASSERT(st);
    T_EQ_INT(client_create(st, sec, &sp, &gen, &why), GH_OK);
    T_ASSERT(gen == NULL);
    T_EQ_INT(store_client_get(st, "svc", &c), GH_OK);
    T_EQ_STR(c->jwks, JWKS_EC);
    T_ASSERT(!c->has_secret);
    T_ASSERT(c->redirect_uris[0] == NULL);
    client_free(c);
    store_close(st);
}

/* Every rule of client_create, one rejected spec each; nothing is stored for any of them. */
static void
test_create_validation_matrix(void)
{
    struct store *st = open_new();
    char *cc[] = { "client_credentials", NULL }, *unknown[] = { "password", NULL };
    char *implicit[] = { "implicit", NULL }, *nogrants[] = { NULL };
    char *dupg[] = { "authorization_code", "authorization_code", NULL };
    char *ac_only[] = { "authorization_code", NULL };
    char *badscope[] = { "openid", "a b", NULL }, *quote[] = { "a\"b", NULL };
    char *bslash[] = { "a\\b", NULL }, *dups[] = { "openid", "openid", NULL };
    char *emptyscope[] = { "", NULL }, *utf8scope[] = { "\xc3\xa9", NULL };
    char *badcb[] = { "http://rp.example/cb", NULL }, *dupcb[] = { cb[0], cb[0], NULL };
    char *native[] = { "com.example.app:/cb", NULL }, *badlogout[] = { "javascript:x", NULL };
    char *many[GH_MAX_REDIRECT_URIS + 2], *manyscopes[GH_MAX_SCOPES + 2];
    char longscope[GH_MAX_SCOPE_LEN + 2], *longscopes[] = { longscope, NULL };
    char uribuf[GH_MAX_REDIRECT_URIS + 1][40], scopebuf[GH_MAX_SCOPES + 1][16];
    char short_secret[GH_MIN_CLIENT_SECRET], long_secret[GH_MAX_CLIENT_SECRET + 2];
    struct client_spec base = { .client_id = "c", .redirect_uris = cb };
    struct {
        const char *what;
        struct client_spec sp;
    } cases[] = {
        { "bad client_id", { .client_id = "a b", .redirect_uris = cb } },
        { "missing client_id", { .redirect_uris = cb } },
        { "empty name", { .client_id = "c", .name = "", .redirect_uris = cb } },
        { "name with newline", { .client_id = "c", .name = "a\nb", .redirect_uris = cb } },
        { "name not UTF-8", { .client_id = "c", .name = "\xff", .redirect_uris = cb } },
        { "public with auth method", { .client_id = "c", .is_public = true,
            .auth_method_set = true, .auth_method = CLIENT_AUTH_SECRET_BASIC,
            .redirect_uris = cb } },
        { "public with secret", { .client_id = "c", .is_public = true, .redirect_uris = cb,
            .secret = "0123456789abcdefghijklmnopqrstuvwxyz" } },
        { "public with client_credentials", { .client_id = "c", .is_public = true,
            .grant_types = cc } },
        { "public with jwks", { .client_id = "c", .is_public = true, .redirect_uris = cb,
            .jwks = JWKS_EC } },
        { "confidential with none", { .client_id = "c", .auth_method_set = true,
            .auth_method = CLIENT_AUTH_NONE, .redirect_uris = cb } },
        { "unknown auth method", { .client_id = "c", .auth_method_set = true,
            .auth_method = (enum client_auth)42, .redirect_uris = cb } },
        { "private_key_jwt without jwks", { .client_id = "c", .auth_method_set = true,
            .auth_method = CLIENT_AUTH_PRIVATE_KEY_JWT, .redirect_uris = cb } },
        { "private_key_jwt with secret", { .client_id = "c", .auth_method_set = true,
            .auth_method = CLIENT_AUTH_PRIVATE_KEY_JWT, .redirect_uris = cb, .jwks = JWKS_EC,
            .secret = "0123456789abcdefghijklmnopqrstuvwxyz" } },
        { "private_key_jwt with bad jwks", { .client_id = "c", .auth_method_set = true,
            .auth_method = CLIENT_AUTH_PRIVATE_KEY_JWT, .redirect_uris = cb,
            .jwks = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}" } },
        { "jwks with client_secret_basic", { .client_id = "c", .redirect_uris = cb,
            .jwks = JWKS_EC } },
        { "unknown grant", { .client_id = "c", .redirect_uris = cb, .grant_types = unknown } },
        { "implicit grant", { .client_id = "c", .redirect_uris = cb, .grant_types = implicit } },
        { "no grants", { .client_id = "c", .redirect_uris = cb, .grant_types = nogrants } },
        { "duplicate grant", { .client_id = "c", .redirect_uris = cb, .grant_types = dupg } },
        { "code without redirect URI", { .client_id = "c", .grant_types = ac_only } },
        { "http redirect URI", { .client_id = "c", .redirect_uris = badcb } },
        { "duplicate redirect URI", { .client_id = "c", .redirect_uris = dupcb } },
        { "native URI for confidential", { .client_id = "c", .redirect_uris = native } },
        { "bad post-logout URI", { .client_id = "c", .redirect_uris = cb,
            .post_logout_redirect_uris = badlogout } },
        { "too many redirect URIs", { .client_id = "c", .redirect_uris = many } },
        { "scope with space", { .client_id = "c", .redirect_uris = cb, .scopes = badscope } },
        { "scope with quote", { .client_id = "c", .redirect_uris = cb, .scopes = quote } },
        { "scope with backslash", { .client_id = "c", .redirect_uris = cb, .scopes = bslash } },
        { "empty scope", { .client_id = "c", .redirect_uris = cb, .scopes = emptyscope } },
        { "non-ASCII scope", { .client_id = "c", .redirect_uris = cb, .scopes = utf8scope } },
        { "duplicate scope", { .client_id = "c", .redirect_uris = cb, .scopes = dups } },
        { "scope too long", { .client_id = "c", .redirect_uris = cb, .scopes = longscopes } },
        { "too many scopes", { .client_id = "c", .redirect_uris = cb, .scopes = manyscopes } },
        { "secret too short", { .client_id = "c", .redirect_uris = cb,
            .secret = short_secret } },
        { "secret too long", { .client_id = "c", .redirect_uris = cb, .secret = long_secret } },
        { "secret with space", { .client_id = "c", .redirect_uris = cb,
            .secret = "0123456789abcdef 0123456789abcdef" } },
        { "public without PKCE", { .client_id = "c", .is_public = true, .redirect_uris = cb,
            .pkce_optional = true } },
        { "signing alg none", { .client_id = "c", .redirect_uris = cb, .signing_alg = "none" } },
        { "signing alg HMAC", { .client_id = "c", .redirect_uris = cb, .signing_alg = "HS256" } },
        { "signing alg lower case", { .client_id = "c", .redirect_uris = cb,
            .signing_alg = "rs256" } },
        { "signing alg empty", { .client_id = "c", .redirect_uris = cb, .signing_alg = "" } },
        { "signing alg unsupported", { .client_id = "c", .redirect_uris = cb,
            .signing_alg = "EdDSA" } },
    };
    struct client **list = NULL;
    size_t n = 0;
    char *gen = NULL;
    const char *why = NULL;

    T_ASSERT(st);
    for (size_t i = 0; i <= GH_MAX_REDIRECT_URIS; i++) {
        snprintf(uribuf[i], sizeof(uribuf[i]), "https://rp.example/cb%zu", i);
        many[i] = uribuf[i];
    }
    many[GH_MAX_REDIRECT_URIS + 1] = NULL;
    for (size_t i = 0; i <= GH_MAX_SCOPES; i++) {
        snprintf(scopebuf[i], sizeof(scopebuf[i]), "s%zu", i);
        manyscopes[i] = scopebuf[i];
    }
    manyscopes[GH_MAX_SCOPES + 1] = NULL;
    memset(longscope, 's', sizeof(longscope) - 1);
    longscope[sizeof(longscope) - 1] = '\0';
    memset(short_secret, 'x', sizeof(short_secret) - 1);
    short_secret[sizeof(short_secret) - 1] = '\0';
    memset(long_secret, 'x', sizeof(long_secret) - 1);
    long_secret[sizeof(long_secret) - 1] = '\0';

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = client_create(st, sec, &cases[i].sp, &gen, &why);
        if (rc != GH_EINVAL)
            fprintf(stderr, "  case \"%s\": %d\n", cases[i].what, rc);
        T_EQ_INT(rc, GH_EINVAL);
        T_ASSERT(why != NULL);
        T_ASSERT(gen == NULL);
    }
    T_EQ_INT(store_client_list(st, &list, &n), GH_OK);
    T_EQ_INT(n, 0);
    client_list_free(list, n);

    /* The bounds themselves are accepted. */
    many[GH_MAX_REDIRECT_URIS] = NULL;
    manyscopes[GH_MAX_SCOPES] = NULL;
    longscope[GH_MAX_SCOPE_LEN] = '\0';
    base.redirect_uris = many;
    base.scopes = manyscopes;
    base.secret = long_secret + 1;
    T_EQ_INT(client_create(st, sec, &base, &gen, &why), GH_OK);
    base.client_id = "c2";
    base.scopes = longscopes;
    T_EQ_INT(client_create(st, sec, &base, &gen, &why), GH_OK);
    store_close(st);
}

/* Each login-flow setting reaches the store; PKCE may be dropped only by a confidential client,
 * for which it stays the default. */
static void
test_create_login_flow_settings(void)
{
    struct store *st = open_new();
    struct client_spec conf = { .client_id = "erp", .redirect_uris = cb, .consent = true,
        .pkce_optional = true, .signing_alg = "PS256" };
    struct client_spec pub = { .client_id = "spa", .is_public = true, .redirect_uris = cb,
        .consent = true, .signing_alg = "ES256" };
    struct client_spec bad = pub;
    struct client *c = NULL;
    char *gen = NULL;
    const char *why = NULL;

    T_ASSERT(st);
    T_EQ_INT(client_create(st, sec, &conf, &gen, &why), GH_OK);
    str_wipe_free(gen);
    gen = NULL;
    T_EQ_INT(store_client_get(st, "erp", &c), GH_OK);
    T_ASSERT(c->consent);
    T_ASSERT(!c->pkce_required);
    T_EQ_STR(c->signing_alg, "PS256");
    client_free(c);

    T_EQ_INT(client_create(st, sec, &pub, &gen, &why), GH_OK);
    T_EQ_INT(store_client_get(st, "spa", &c), GH_OK);
    T_ASSERT(c->consent);
    T_ASSERT(c->pkce_required);
    T_EQ_STR(c->signing_alg, "ES256");
    client_free(c);

    bad.client_id = "spa2";
    bad.pkce_optional = true;
    T_EQ_INT(client_create(st, sec, &bad, &gen, &why), GH_EINVAL);
    T_EQ_STR(why, "public clients always need PKCE; only a confidential client may skip it");
    T_EQ_INT(store_client_get(st, "spa2", &c), GH_ENOTFOUND);
    store_close(st);
}

static void
test_signing_algs(void)
{
    size_t n = 0;

    while (client_signing_algs[n])
        n++;
    T_EQ_INT(n, 3);
    T_EQ_STR(client_signing_algs[0], "RS256");   /* the default */
    T_ASSERT(client_signing_alg_ok("RS256"));
    T_ASSERT(client_signing_alg_ok("ES256"));
    T_ASSERT(client_signing_alg_ok("PS256"));
    T_ASSERT(!client_signing_alg_ok("none"));
    T_ASSERT(!client_signing_alg_ok("HS256"));
    T_ASSERT(!client_signing_alg_ok("RS256 "));
    T_ASSERT(!client_signing_alg_ok("Rs256"));
    T_ASSERT(!client_signing_alg_ok(""));
    T_ASSERT(!client_signing_alg_ok(NULL));
}

static void
test_create_native_public_client(void)
{
    struct store *st = open_new();
    char *uris[] = { "com.example.app:/cb", "http://127.0.0.1:53123/cb", NULL };
    struct client_spec sp = { .client_id = "app", .is_public = true, .redirect_uris = uris };
    char *gen = NULL;
    const char *why = NULL;

    T_ASSERT(st);
    T_EQ_INT(client_create(st, sec, &sp, &gen, &why), GH_OK);
    store_close(st);
}

static void
test_rotate_secret(void)
{
    struct store *st = open_new();
    struct client_spec sp = { .client_id = "shop", .redirect_uris = cb };
    struct client_spec pub = { .client_id = "spa", .is_public = true, .redirect_uris = cb };
    const char *mine = "my-own-secret-that-is-long-enough-0123";
    struct client *c = NULL;
    char *gen = NULL, *gen2 = NULL;
    const char *why = NULL;

    T_ASSERT(st);
    T_EQ_INT(client_create(st, sec, &sp, &gen, &why), GH_OK);
    T_EQ_INT(client_create(st, sec, &pub, &gen2, &why), GH_OK);
    T_EQ_INT(client_rotate_secret(st, sec, "shop", NULL, &gen2, &why), GH_OK);
    T_ASSERT(gen2 != NULL && strcmp(gen, gen2) != 0);
    T_EQ_INT(store_client_get(st, "shop", &c), GH_OK);
    T_ASSERT(!client_secret_ok(sec, c, gen, strlen(gen)));
    T_ASSERT(client_secret_ok(sec, c, gen2, strlen(gen2)));
    client_free(c);
    str_wipe_free(gen2);
    gen2 = NULL;

    T_EQ_INT(client_rotate_secret(st, sec, "shop", mine, &gen2, &why), GH_OK);
    T_ASSERT(gen2 == NULL);
    T_EQ_INT(store_client_get(st, "shop", &c), GH_OK);
    T_ASSERT(client_secret_ok(sec, c, mine, strlen(mine)));
    client_free(c);

    T_EQ_INT(client_rotate_secret(st, sec, "shop", "short", &gen2, &why), GH_EINVAL);
    T_EQ_INT(client_rotate_secret(st, sec, "spa", NULL, &gen2, &why), GH_EINVAL);
    T_ASSERT(gen2 == NULL);
    T_EQ_INT(client_rotate_secret(st, sec, "nope", NULL, &gen2, &why), GH_ENOTFOUND);
    T_EQ_INT(client_rotate_secret(st, sec, "bad id", NULL, &gen2, &why), GH_EINVAL);
    /* the failed rotations left the last good secret in place */
    T_EQ_INT(store_client_get(st, "shop", &c), GH_OK);
    T_ASSERT(client_secret_ok(sec, c, mine, strlen(mine)));
    client_free(c);
    str_wipe_free(gen);
    store_close(st);
}

int
main(void)
{
    char err[256];
    int rc;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gh-test-client-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    clock_init();
    if (sec_load(tmpdir, true, &sec, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "sec_load: %s\n", err);
        return 1;
    }
    t_init("client");
    T_RUN(test_auth_method_names_roundtrip);
    T_RUN(test_grant_types_known);
    T_RUN(test_client_id_check_table);
    T_RUN(test_redirect_uri_check_table);
    T_RUN(test_redirect_exact_match);
    T_RUN(test_create_public_client_defaults);
    T_RUN(test_create_confidential_generates_secret);
    T_RUN(test_create_secret_jwt_seals_recoverable_secret);
    T_RUN(test_create_private_key_jwt);
    T_RUN(test_create_validation_matrix);
    T_RUN(test_create_login_flow_settings);
    T_RUN(test_signing_algs);
    T_RUN(test_create_native_public_client);
    T_RUN(test_rotate_secret);
    rc = t_done();
    sec_free(sec);
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
