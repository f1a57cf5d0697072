/* test_issuer.c — trusted issuers of the JWT-bearer grant: the rules of model/issuer.c, the
 * SQLite records (0005_issuers.sql) with their cascades, the grant's re-check at issuance
 * (store_jwt_grant_check: each thing that may have changed, alone), the URL limits of
 * util/fetch.c, and the claims rules of assertion_parse_grant (oidc/assertion.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/err.h"
#include "core/limits.h"
#include "model/client.h"
#include "model/issuer.h"
#include "model/user.h"
#include "oidc/assertion.h"
#include "store/store.h"
#include "util/b64url.h"
#include "util/fetch.h"
#include "t.h"

#define GT      "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define OURS    "https://id.example"
#define NOW     1800000000

/* a P-256 public key */
static const char *const EC_JWKS =
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\","
    "\"x\":\"4AiF9KtXQDTTbMggJ676cofa3DvFOH5mkI2M2iPQtuk\","
    "\"y\":\"ki3-vphG94-b_2---GAkdXqh0-UQH3XZCvSWk95Ts0s\"}]}";

static char tmpdir[64];
static int seq;

static struct store *
open_new(void)
{
    struct store *st = NULL;
    char path[128], err[256];

    snprintf(path, sizeof(path), "%s/t%d.db", tmpdir, ++seq);
    if (store_open(path, STORE_CREATE, &st, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "  open %s: %s\n", path, err);
        return NULL;
    }
    return st;
}

static char *grants_jb[] = { GT, NULL };
static char *grants_cc[] = { "client_credentials", NULL };
static char *no_list[] = { NULL };

static void
add_client(struct store *st, const char *id, bool public, char **grants)
{
    struct client c = { .client_id = (char *)(uintptr_t)id, .name = "svc", .is_public = public,
        .auth_method = public ? CLIENT_AUTH_NONE : CLIENT_AUTH_SECRET_BASIC,
        .redirect_uris = no_list, .post_logout_redirect_uris = no_list, .grant_types = grants,
        .scopes = no_list, .has_secret = !public, .pkce_required = true, .created_at = 1,
        .updated_at = 1 };

    T_EQ_INT(store_client_add(st, &c), GH_OK);
}

static void
add_user(struct store *st, const char *sub, const char *name)
{
    struct user u = { .sub = (char *)(uintptr_t)sub, .username = (char *)(uintptr_t)name,
        .password_hash = "$argon2id$x", .created_at = 1, .updated_at = 1 };

    T_EQ_INT(store_user_add(st, &u), GH_OK);
}

/* An issuer row with clients, through the model. */
static int
create(struct store *st, const char *iss, const char *uri, char *const *clients)
{
    struct issuer_spec spec = { .issuer = iss, .jwks = uri ? NULL : EC_JWKS,
        .jwks_len = uri ? 0 : strlen(EC_JWKS), .jwks_uri = uri, .clients = clients,
        .ours = OURS };
    char err[256] = "";

    return issuer_create(st, &spec, 100, NULL, err, sizeof(err));
}

/* --- model/issuer.c ----------------------------------------------------------------------- */

static void
test_issuer_id_rules(void)
{
    const char *why = NULL;

    T_EQ_INT(issuer_id_check("https://idp.example", OURS, &why), GH_OK);
    T_EQ_INT(issuer_id_check("urn:example:idp", OURS, &why), GH_OK);
    T_EQ_INT(issuer_id_check("idp-1", NULL, &why), GH_OK);
    T_EQ_INT(issuer_id_check("", OURS, &why), GH_EINVAL);
    T_EQ_INT(issuer_id_check("bad\nissuer", OURS, &why), GH_EINVAL);
    T_EQ_INT(issuer_id_check("bad\x7fissuer", OURS, &why), GH_EINVAL);
    T_EQ_INT(issuer_id_check("two words", OURS, &why), GH_EINVAL);
    T_EQ_INT(issuer_id_check("\xff\xfe", OURS, &why), GH_EINVAL);
    T_EQ_INT(issuer_id_check("https://user@idp.example", OURS, &why), GH_EINVAL);
    /* our own issuer, also with or without a trailing slash */
    T_EQ_INT(issuer_id_check(OURS, OURS, &why), GH_EINVAL);
    T_EQ_INT(issuer_id_check(OURS "/", OURS, &why), GH_EINVAL);
    T_EQ_INT(issuer_id_check("https://id.example.evil", OURS, &why), GH_OK);
    {
        char big[GH_MAX_URI + 2];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        T_EQ_INT(issuer_id_check(big, OURS, &why), GH_EINVAL);
        big[GH_MAX_URI] = '\0';
        T_EQ_INT(issuer_id_check(big, OURS, &why), GH_OK);
    }
}

static void
test_jwks_uri_ssrf_limits(void)
{
    const char *why = NULL;
    bool https = false;

    T_EQ_INT(issuer_jwks_uri_check("https://idp.example/jwks.json", &why), GH_OK);
    T_EQ_INT(issuer_jwks_uri_check("http://127.0.0.1:8080/jwks.json", &why), GH_OK);
    T_EQ_INT(issuer_jwks_uri_check("http://[::1]:8080/jwks.json", &why), GH_OK);
    T_EQ_INT(issuer_jwks_uri_check("http://idp.example/jwks.json", &why), GH_EINVAL);
    T_EQ_INT(issuer_jwks_uri_check("http://10.0.0.1/jwks.json", &why), GH_EINVAL);
    T_EQ_INT(issuer_jwks_uri_check("ftp://idp.example/jwks.json", &why), GH_EINVAL);
    T_EQ_INT(issuer_jwks_uri_check("file:///etc/passwd", &why), GH_EINVAL);
    T_EQ_INT(issuer_jwks_uri_check("https://idp.example/jwks.json#x", &why), GH_EINVAL);
    T_EQ_INT(issuer_jwks_uri_check("", &why), GH_EINVAL);
    T_ASSERT(fetch_url_refusal("https://idp.example/", &https) == NULL && https);
    T_ASSERT(fetch_url_refusal("gopher://127.0.0.1/", &https) != NULL);
}

static void
test_jwks_must_be_public_signing_keys(void)
{
    char err[256];
    const char *priv = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\","
                       "\"x\":\"4AiF9KtXQDTTbMggJ676cofa3DvFOH5mkI2M2iPQtuk\","
                       "\"y\":\"ki3-vphG94-b_2---GAkdXqh0-UQH3XZCvSWk95Ts0s\","
                       "\"d\":\"jpsQnnGQmL-YBIffH1136cLv1ICbeo8_tj1-DKJAAAA\"}]}";
    const char *oct = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}";

    T_EQ_INT(issuer_jwks_check(EC_JWKS, strlen(EC_JWKS), err, sizeof(err)), GH_OK);
    T_EQ_INT(issuer_jwks_check(priv, strlen(priv), err, sizeof(err)), GH_EINVAL);
    T_EQ_INT(issuer_jwks_check(oct, strlen(oct), err, sizeof(err)), GH_EINVAL);
    T_EQ_INT(issuer_jwks_check("not json", 8, err, sizeof(err)), GH_EINVAL);
    T_EQ_INT(issuer_jwks_check("{\"keys\":[]}", 11, err, sizeof(err)), GH_EINVAL);
    T_EQ_INT(issuer_jwks_check(EC_JWKS, GH_MAX_JWKS + 1, err, sizeof(err)), GH_ETOOBIG);
}

static void
test_create_needs_existing_confidential_clients(void)
{
    struct store *st = open_new();
    char *svc[] = { "svc", NULL }, *pub[] = { "pub", NULL }, *ghost[] = { "ghost", NULL };
    char *none[] = { NULL };
    struct issuer_spec both = { .issuer = "https://x.example", .jwks = EC_JWKS,
        .jwks_len = strlen(EC_JWKS), .jwks_uri = "https://x.example/jwks", .clients = svc };
    char err[256];

    T_ASSERT(st);
    add_client(st, "svc", false, grants_jb);
    add_client(st, "pub", true, grants_cc);
    T_EQ_INT(create(st, "https://idp.example", NULL, svc), GH_OK);
    T_EQ_INT(create(st, "https://idp.example", NULL, svc), GH_EEXIST);
    T_EQ_INT(create(st, "https://p.example", NULL, pub), GH_EINVAL);
    T_EQ_INT(create(st, "https://g.example", NULL, ghost), GH_ENOTFOUND);
    T_EQ_INT(create(st, "https://n.example", NULL, none), GH_EINVAL);
    T_EQ_INT(create(st, OURS, NULL, svc), GH_EINVAL);
    T_EQ_INT(create(st, "https://u.example", "http://idp.example/jwks", svc), GH_EINVAL);
    T_EQ_INT(issuer_create(st, &both, 1, NULL, err, sizeof(err)), GH_EINVAL);
    store_close(st);
}

/* --- the store ----------------------------------------------------------------------------- */

static void
test_store_round_trip_and_cascades(void)
{
    struct store *st = open_new();
    char *cl[] = { "b-svc", "a-svc", NULL };
    struct trusted_issuer *ti = NULL, **list = NULL;
    size_t n = 0;

    T_ASSERT(st);
    add_client(st, "a-svc", false, grants_jb);
    add_client(st, "b-svc", false, grants_jb);
    T_EQ_INT(create(st, "https://idp.example", NULL, cl), GH_OK);
    T_EQ_INT(create(st, "https://uri.example", "https://uri.example/jwks", cl), GH_OK);
    T_EQ_INT(store_issuer_get(st, "https://idp.example", &ti), GH_OK);
    T_EQ_STR(ti->issuer, "https://idp.example");
    T_ASSERT(ti->jwks && !ti->jwks_uri && !ti->disabled);
    T_EQ_STR(ti->clients[0], "a-svc");
    T_EQ_STR(ti->clients[1], "b-svc");
    T_ASSERT(ti->clients[2] == NULL);
    trusted_issuer_free(ti);
    ti = NULL;
    T_EQ_INT(store_issuer_list(st, &list, &n), GH_OK);
    T_EQ_INT(n, 2);
    T_EQ_STR(list[1]->jwks_uri, "https://uri.example/jwks");
    trusted_issuer_list_free(list, n);
    T_EQ_INT(store_issuer_set_disabled(st, "https://idp.example", true, 5), GH_OK);
    T_EQ_INT(store_issuer_set_disabled(st, "https://nope.example", true, 5), GH_ENOTFOUND);
    T_EQ_INT(store_issuer_get(st, "https://idp.example", &ti), GH_OK);
    T_ASSERT(ti->disabled && ti->updated_at == 5);
    trusted_issuer_free(ti);
    ti = NULL;
    /* deleting a client drops it from every issuer */
    T_EQ_INT(store_client_delete(st, "a-svc"), GH_OK);
    T_EQ_INT(store_issuer_get(st, "https://uri.example", &ti), GH_OK);
    T_EQ_STR(ti->clients[0], "b-svc");
    T_ASSERT(ti->clients[1] == NULL);
    trusted_issuer_free(ti);
    ti = NULL;
    T_EQ_INT(store_issuer_delete(st, "https://uri.example"), GH_OK);
    T_EQ_INT(store_issuer_delete(st, "https://uri.example"), GH_ENOTFOUND);
    T_EQ_INT(store_issuer_get(st, "https://uri.example", &ti), GH_ENOTFOUND);
    T_ASSERT(ti == NULL);
    store_close(st);
}

/* The re-check at issuance: each change alone turns an accepted request into a refusal. */
static void
test_grant_recheck_each_change(void)
{
    struct store *st = open_new();
    char *cl[] = { "svc", NULL };
    const char *why = NULL;

    T_ASSERT(st);
    add_client(st, "svc", false, grants_jb);
    add_client(st, "cc", false, grants_cc);
    add_user(st, "sub-alice", "alice");
    T_EQ_INT(create(st, "https://idp.example", NULL, cl), GH_OK);
    T_EQ_INT(store_jwt_grant_check(st, "svc", GT, "https://idp.example", "sub-alice", &why),
        GH_OK);
    T_EQ_INT(store_jwt_grant_check(st, "svc", GT, NULL, NULL, &why), GH_OK);
    /* the client lacks the grant type; does not exist */
    T_EQ_INT(store_jwt_grant_check(st, "cc", GT, NULL, NULL, &why), GH_EDENIED);
    T_EQ_INT(store_jwt_grant_check(st, "ghost", GT, NULL, NULL, &why), GH_EDENIED);
    T_EQ_STR(why, "the client no longer exists");
    /* the user: disabled, then deleted */
    T_EQ_INT(store_user_set_disabled(st, "alice", true, 2), GH_OK);
    T_EQ_INT(store_jwt_grant_check(st, "svc", GT, "https://idp.example", "sub-alice", &why),
        GH_EDENIED);
    T_EQ_STR(why, "the user is disabled");
    T_EQ_INT(store_jwt_grant_check(st, "svc", GT, "https://idp.example", NULL, &why), GH_OK);
    T_EQ_INT(store_user_delete(st, "alice"), GH_OK);
    T_EQ_INT(store_jwt_grant_check(st, "svc", GT, "https://idp.example", "sub-alice", &why),
        GH_EDENIED);
    T_EQ_STR(why, "the user no longer exists");
    /* the issuer: disabled, not listing the client, gone */
    T_EQ_INT(store_issuer_set_disabled(st, "https://idp.example", true, 3), GH_OK);
    T_EQ_INT(store_jwt_grant_check(st, "svc", GT, "https://idp.example", NULL, &why),
        GH_EDENIED);
    T_EQ_STR(why, "the issuer is disabled");
    T_EQ_INT(store_issuer_set_disabled(st, "https://idp.example", false, 4), GH_OK);
    T_EQ_INT(store_jwt_grant_check(st, "cc", "client_credentials", "https://idp.example", NULL,
                 &why), GH_EDENIED);
    T_EQ_STR(why, "the issuer no longer lists the client");
    T_EQ_INT(store_issuer_delete(st, "https://idp.example"), GH_OK);
    T_EQ_INT(store_jwt_grant_check(st, "svc", GT, "https://idp.example", NULL, &why),
        GH_EDENIED);
    T_EQ_STR(why, "the issuer no longer exists");
    /* the client deleted last */
    T_EQ_INT(store_client_delete(st, "svc"), GH_OK);
    T_EQ_INT(store_jwt_grant_check(st, "svc", GT, NULL, NULL, &why), GH_EDENIED);
    store_close(st);
}

/* --- assertion_parse_grant ----------------------------------------------------------------- */

static char *
enc(const char *json)
{
    return b64url_encode_new((const unsigned char *)json, strlen(json));
}

/* header.payload.sig with a fake signature: parsing never looks at it */
static int
parse_grant(const char *hdr, const char *claims, const char **sub)
{
    char *h = enc(hdr), *c = enc(claims), tok[4096];
    struct assertion *a = NULL;
    const char *why = NULL;
    int rc;

    snprintf(tok, sizeof(tok), "%s.%s.c2ln", h, c);
    free(h);
    free(c);
    rc = assertion_parse_grant(tok, strlen(tok), OURS, NOW, 30, &a, &why);
    if (rc == GH_OK && sub) {
        static char got[256];
        snprintf(got, sizeof(got), "%s", assertion_sub(a));
        *sub = got;
    }
    assertion_free(a);
    return rc;
}

#define CLAIMS(iss, sub, extra)                                                            \
    "{\"iss\":\"" iss "\",\"sub\":\"" sub "\",\"aud\":\"" OURS "/token\",\"exp\":1800000060," \
    "\"jti\":\"j1\"" extra "}"

static void
test_grant_assertion_claims(void)
{
    const char *sub = NULL;

    T_EQ_INT(parse_grant("{\"alg\":\"RS256\"}", CLAIMS("https://idp.example", "u1", ""), &sub),
        GH_OK);
    T_EQ_STR(sub, "u1");
    T_EQ_INT(parse_grant("{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
                 CLAIMS("https://idp.example", "u1", ""), NULL), GH_OK);
    /* a client-authentication JWT is not a grant (but would be a client assertion) */
    T_EQ_INT(parse_grant("{\"alg\":\"RS256\",\"typ\":\"client-authentication+jwt\"}",
                 CLAIMS("https://idp.example", "u1", ""), NULL), GH_EDENIED);
    T_EQ_INT(parse_grant("{\"alg\":\"none\"}", CLAIMS("https://idp.example", "u1", ""), NULL),
        GH_EDENIED);
    T_EQ_INT(parse_grant("{\"alg\":\"RS256\"}", CLAIMS("https://idp.example", "", ""), NULL),
        GH_EDENIED);
    T_EQ_INT(parse_grant("{\"alg\":\"RS256\"}",
                 "{\"iss\":\"i\",\"sub\":\"u\",\"aud\":\"" OURS "/token\",\"exp\":1800000060}",
                 NULL), GH_EINVAL);   /* no jti */
    T_EQ_INT(parse_grant("{\"alg\":\"RS256\"}",
                 "{\"iss\":\"i\",\"sub\":\"u\",\"aud\":\"https://other/token\","
                 "\"exp\":1800000060,\"jti\":\"j\"}", NULL), GH_EDENIED);
    T_EQ_INT(parse_grant("{\"alg\":\"RS256\"}",
                 "{\"iss\":\"i\",\"sub\":\"u\",\"aud\":\"" OURS "\",\"exp\":1800009999,"
                 "\"jti\":\"j\"}", NULL), GH_EDENIED);   /* far future */
    T_EQ_INT(parse_grant("{\"alg\":\"RS256\"}",
                 "{\"iss\":\"i\",\"sub\":\"u\",\"aud\":\"" OURS "\",\"exp\":1799999000,"
                 "\"jti\":\"j\"}", NULL), GH_EEXPIRED);
    {
        /* over GH_MAX_JWT_LEN: refused before anything is decoded */
        static char big[GH_MAX_JWT_LEN + 2];
        struct assertion *a = NULL;
        const char *why = NULL;

        memset(big, 'A', sizeof(big) - 1);
        big[10] = '.';
        big[20] = '.';
        T_EQ_INT(assertion_parse_grant(big, sizeof(big) - 1, OURS, NOW, 30, &a, &why), GH_ETOOBIG);
        T_ASSERT(a == NULL);
    }
}

int
main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gh-test-issuer-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    t_init("issuer");
    T_RUN(test_issuer_id_rules);
    T_RUN(test_jwks_uri_ssrf_limits);
    T_RUN(test_jwks_must_be_public_signing_keys);
    T_RUN(test_create_needs_existing_confidential_clients);
    T_RUN(test_store_round_trip_and_cascades);
    T_RUN(test_grant_recheck_each_change);
    T_RUN(test_grant_assertion_claims);
    {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", tmpdir);
    }
    return t_done();
}
