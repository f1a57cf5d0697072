/* test_oidc.c — PKCE (RFC 7636), the authorization-request parser (phase 2), scope helpers,
 * redirect query building and the session/CSRF helpers. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "crypto/secret.h"
#include "http/req.h"
#include "model/client.h"
#include "oidc/authz_req.h"
#include "oidc/pkce.h"
#include "session/session.h"
#include "t.h"
#include "util/buf.h"
#include "util/url.h"

/* RFC 7636 Appendix B */
static const char rfc_verifier[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char rfc_challenge[] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

static void
test_pkce_rfc7636_example(void)
{
    T_ASSERT(pkce_verify(rfc_challenge, rfc_verifier, strlen(rfc_verifier)));
}

static void
test_pkce_wrong_or_malformed_verifier_fails(void)
{
    char v[200];

    strcpy(v, rfc_verifier);
    v[0] = 'e';
    T_ASSERT(!pkce_verify(rfc_challenge, v, strlen(v)));
    T_ASSERT(!pkce_verify(rfc_challenge, NULL, 0));
    T_ASSERT(!pkce_verify(rfc_challenge, "", 0));
    /* plain: the challenge itself as verifier is exactly what S256 must refuse */
    T_ASSERT(!pkce_verify(rfc_challenge, rfc_challenge, strlen(rfc_challenge)));
    /* 42 and 129 characters are outside RFC 7636 §4.1 */
    memset(v, 'a', 42);
    T_ASSERT(!pkce_verifier_ok(v, 42));
    memset(v, 'a', 129);
    T_ASSERT(!pkce_verifier_ok(v, 129));
    T_ASSERT(pkce_verifier_ok(v, 128));
    T_ASSERT(pkce_verifier_ok(v, 43));
    memcpy(v, "abc+", 4);   /* '+' is not unreserved */
    T_ASSERT(!pkce_verifier_ok(v, 43));
}

static void
test_pkce_challenge_syntax(void)
{
    T_ASSERT(pkce_challenge_ok(rfc_challenge));
    T_ASSERT(!pkce_challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"));    /* 42 */
    T_ASSERT(!pkce_challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM="));  /* 44 */
    T_ASSERT(!pkce_challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"));   /* '+' */
    T_ASSERT(!pkce_challenge_ok(NULL));
}

static void
test_scope_helpers(void)
{
    T_ASSERT(authz_scope_has("openid profile", "profile"));
    T_ASSERT(!authz_scope_has("openid profile", "prof"));
    T_ASSERT(!authz_scope_has("openid profileX", "profile"));
    T_ASSERT(authz_scope_subset("openid", "openid email"));
    T_ASSERT(authz_scope_subset("email openid", "openid email"));
    T_ASSERT(!authz_scope_subset("openid email profile", "openid email"));
    T_ASSERT(authz_scope_subset("", "openid"));
}

static void
test_url_query_add_encodes_and_keeps_existing_query(void)
{
    struct buf b;

    buf_init(&b, 4096);
    buf_addstr(&b, "https://rp.example/cb");
    T_EQ_INT(url_query_add(&b, "code", "a b&c=d/é"), GH_OK);
    T_EQ_INT(url_query_add(&b, "state", "x"), GH_OK);
    T_EQ_STR(buf_str(&b), "https://rp.example/cb?code=a%20b%26c%3Dd%2F%C3%A9&state=x");
    buf_reset(&b);
    buf_addstr(&b, "https://rp.example/cb?app=1");
    T_EQ_INT(url_query_add(&b, "code", "z"), GH_OK);
    T_EQ_STR(buf_str(&b), "https://rp.example/cb?app=1&code=z");
    buf_free(&b);
}

/* a client and a parameter list for authz_parse */
static char *uris[] = { "https://rp.example/cb", NULL };
static char *none[] = { NULL };
static char *grants[] = { "authorization_code", "refresh_token", NULL };
static char *scopes[] = { "openid", "profile", "email", NULL };

static struct client
mkclient(bool is_public, bool pkce_required)
{
    struct client c = { 0 };

    c.client_id = "rp";
    c.name = "RP";
    c.is_public = is_public;
    c.redirect_uris = uris;
    c.post_logout_redirect_uris = none;
    c.grant_types = grants;
    c.scopes = scopes;
    c.pkce_required = pkce_required;
    return c;
}

static int
parse(const char *query, const struct client *c, struct authz_req *ar, struct oauth_err *oe)
{
    struct req_params ps;
    const char *why = NULL;
    int rc;

    req_params_init(&ps);
    T_EQ_INT(req_params_add(&ps, query, strlen(query), &why), GH_OK);
    memset(oe, 0, sizeof(*oe));
    rc = authz_parse(&ps, c, NULL, "https://id.example", ar, oe);
    req_params_free(&ps);
    return rc;
}

#define GOOD "client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code" \
             "&code_challenge_method=S256&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static void
test_authz_parse_good_request(void)
{
    struct client c = mkclient(true, true);
    struct authz_req ar;
    struct oauth_err oe;

    T_EQ_INT(parse(GOOD "&scope=openid%20email%20openid&state=s1&nonce=n1&max_age=30"
                        "&prompt=login&login_hint=alice&unknown=ignored", &c, &ar, &oe), GH_OK);
    T_EQ_STR(ar.scope, "openid email");   /* duplicates removed */
    T_ASSERT(ar.openid);
    T_EQ_STR(ar.state, "s1");
    T_EQ_STR(ar.nonce, "n1");
    T_EQ_INT(ar.max_age, 30);
    T_EQ_INT(ar.prompt, PROMPT_LOGIN);
    T_EQ_STR(ar.login_hint, "alice");
    T_EQ_STR(ar.code_challenge, rfc_challenge);
    authz_req_free(&ar);
}

static void
expect_err(const char *q, const struct client *c, const char *code)
{
    struct authz_req ar;
    struct oauth_err oe;

    T_ASSERT(parse(q, c, &ar, &oe) != GH_OK);
    T_EQ_STR(oe.code, code);
    authz_req_free(&ar);
}

static void
test_authz_parse_refuses(void)
{
    struct client pub = mkclient(true, false), conf = mkclient(false, true),
                  legacy = mkclient(false, false);
    struct authz_req ar;
    struct oauth_err oe;

    expect_err("client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=token"
               "&scope=openid", &pub, "unsupported_response_type");
    expect_err(GOOD "&scope=admin%20root", &pub, "invalid_scope");      /* nothing allowed */
    expect_err(GOOD "&scope=openid%20a%22b", &pub, "invalid_scope");    /* bad token syntax */
    expect_err(GOOD, &pub, "invalid_scope");                               /* no scope */
    expect_err(GOOD "&scope=openid&request=eyJ", &pub, "request_not_supported");
    expect_err(GOOD "&scope=openid&request_uri=https%3A%2F%2Fx", &pub, "request_uri_not_supported");
    expect_err(GOOD "&scope=openid&response_mode=fragment", &pub, "invalid_request");
    expect_err(GOOD "&scope=openid&prompt=none%20login", &pub, "invalid_request");
    expect_err(GOOD "&scope=openid&max_age=-1", &pub, "invalid_request");
    /* PKCE: plain, a challenge without a method (= plain), and none at all */
    expect_err("client_id=rp&redirect_uri=x&response_type=code&scope=openid"
               "&code_challenge_method=plain&code_challenge=" "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        &pub, "invalid_request");
    expect_err("client_id=rp&redirect_uri=x&response_type=code&scope=openid"
               "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", &pub,
        "invalid_request");
    expect_err("client_id=rp&redirect_uri=x&response_type=code&scope=openid", &pub,
        "invalid_request");
    expect_err("client_id=rp&redirect_uri=x&response_type=code&scope=openid", &conf,
        "invalid_request");
    /* a confidential client registered with --pkce-optional may skip it */
    T_EQ_INT(parse("client_id=rp&redirect_uri=x&response_type=code&scope=openid", &legacy, &ar,
                 &oe), GH_OK);
    T_ASSERT(ar.code_challenge == NULL);
    authz_req_free(&ar);
    /* the state survives into the error, so the redirect can carry it */
    T_ASSERT(parse(GOOD "&state=keep&scope=nope", &pub, &ar, &oe) != GH_OK);
    T_EQ_STR(ar.state, "keep");
    authz_req_free(&ar);
}

static void
test_authz_parse_drops_scopes_the_client_may_not_have(void)
{
    struct client c = mkclient(true, true);
    struct authz_req ar;
    struct oauth_err oe;

    /* OIDC Core §3.1.2.1: ignored, never granted (the conformance suite asks for address
     * and phone) */
    T_EQ_INT(parse(GOOD "&scope=openid%20address%20email%20phone%20admin", &c, &ar, &oe), GH_OK);
    T_EQ_STR(ar.scope, "openid email");
    authz_req_free(&ar);
}

static void
test_authz_req_json_round_trip(void)
{
    struct client c = mkclient(true, true);
    struct authz_req ar, back;
    struct oauth_err oe;
    json_t *j;

    T_EQ_INT(parse(GOOD "&scope=openid&state=s&nonce=n&prompt=consent", &c, &ar, &oe), GH_OK);
    j = authz_req_to_json(&ar);
    T_ASSERT(j != NULL);
    T_EQ_INT(authz_req_from_json(j, &back), GH_OK);
    T_EQ_STR(back.redirect_uri, "https://rp.example/cb");
    T_EQ_STR(back.state, "s");
    T_EQ_STR(back.nonce, "n");
    T_EQ_INT(back.prompt, PROMPT_CONSENT);
    T_EQ_INT(back.max_age, -1);
    T_ASSERT(back.openid);
    json_object_del(j, "scope");
    authz_req_free(&back);
    T_EQ_INT(authz_req_from_json(j, &back), GH_EINVAL);
    json_decref(j);
    authz_req_free(&ar);
}

static void
test_csrf_token_binds_purpose_interaction_and_browser(void)
{
    char dir[] = "/tmp/gh-test-oidc.XXXXXX", err[256], tok[SESS_CSRF_LEN + 1];
    char i1[SESS_ID_LEN + 1], i2[SESS_ID_LEN + 1], b1[SESS_ID_LEN + 1], b2[SESS_ID_LEN + 1];
    unsigned char h[32];
    struct secrets *sec = NULL;

    T_ASSERT(mkdtemp(dir) != NULL);
    T_EQ_INT(sec_load(dir, true, &sec, err, sizeof(err)), GH_OK);
    T_EQ_INT(sess_new_id(i1, h), GH_OK);
    T_EQ_INT(sess_new_id(i2, h), GH_OK);
    T_EQ_INT(sess_new_id(b1, h), GH_OK);
    T_EQ_INT(sess_new_id(b2, h), GH_OK);
    csrf_token(sec, "login", i1, b1, tok);
    T_ASSERT(csrf_ok(sec, "login", i1, b1, tok, strlen(tok)));
    T_ASSERT(!csrf_ok(sec, "consent", i1, b1, tok, strlen(tok)));
    T_ASSERT(!csrf_ok(sec, "login", i2, b1, tok, strlen(tok)));
    T_ASSERT(!csrf_ok(sec, "login", i1, b2, tok, strlen(tok)));
    T_ASSERT(!csrf_ok(sec, "login", i1, b1, tok, strlen(tok) - 1));
    T_ASSERT(!csrf_ok(sec, "login", i1, NULL, tok, strlen(tok)));
    tok[5] ^= 1;
    T_ASSERT(!csrf_ok(sec, "login", i1, b1, tok, strlen(tok)));
    T_ASSERT(sess_id_hash(i1, strlen(i1), h));
    T_ASSERT(!sess_id_hash(i1, strlen(i1) - 1, h));
    T_ASSERT(!sess_id_hash("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", SESS_ID_LEN, h));
    sec_free(sec);
    char path[512];
    snprintf(path, sizeof(path), "%s/secret.key", dir);
    unlink(path);
    rmdir(dir);
}

int
main(void)
{
    t_init("oidc");
    T_RUN(test_pkce_rfc7636_example);
    T_RUN(test_pkce_wrong_or_malformed_verifier_fails);
    T_RUN(test_pkce_challenge_syntax);
    T_RUN(test_scope_helpers);
    T_RUN(test_url_query_add_encodes_and_keeps_existing_query);
    T_RUN(test_authz_parse_good_request);
    T_RUN(test_authz_parse_refuses);
    T_RUN(test_authz_parse_drops_scopes_the_client_may_not_have);
    T_RUN(test_authz_req_json_round_trip);
    T_RUN(test_csrf_token_binds_purpose_interaction_and_browser);
    return t_done();
}
