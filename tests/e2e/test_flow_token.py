"""POST /token, grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core
§3.1.3): the token response and its JWTs, client authentication, and the attacks on a code:
PKCE failures and downgrade, replay (which revokes what the first use produced), another
client or redirect_uri, made-up codes, and 50 parallel redemptions."""
import threading
import time
import urllib.parse

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import (  # noqa: E402
    HAVE_PYJWT, OP, assert_oauth_error, basic_auth, half_hash, http_session, jwt_parts,
    pkce_pair, start_op, verify_signature)

pytest_plugins = ["oidc"]   # fixtures: op, users_template


def signed_in(op, client_args=(), public=False, **authz):
    """A client, a user, and a code for them: (client, user, authz, code)."""
    c = op.client("shop", *client_args, public=public)
    u = op.user("alice")
    b = op.browser()
    a, code = b.sign_in(c, u, **authz)
    return c, u, a, code


# --- the token response ------------------------------------------------------------------

def test_token_response_has_the_tokens_and_is_not_cached(op):
    shop, alice, a, code = signed_in(op)
    r = shop.redeem(code, a.verifier)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert "no-store" in r.headers["Cache-Control"]
    t = r.json()
    assert t["token_type"] == "Bearer"
    assert isinstance(t["expires_in"], int) and 0 < t["expires_in"] <= 86400
    assert set(t["scope"].split()) == {"openid", "profile", "email"}
    assert t["access_token"] and t["id_token"] and t["refresh_token"]
    assert len({t["access_token"], t["id_token"], t["refresh_token"], code}) == 4


def test_access_token_is_an_at_jwt_for_the_user(op):
    shop, alice, a, code = signed_in(op)
    t = shop.redeem_ok(code, a.verifier)
    h, c = jwt_parts(t["access_token"])
    assert h["typ"] == "at+jwt"
    assert h["alg"] == "RS256" and h["kid"]
    assert c["iss"] == op.issuer and c["sub"] == alice.sub and c["client_id"] == "shop"
    assert set(c["scope"].split()) == {"openid", "profile", "email"}
    assert c["exp"] - c["iat"] == t["expires_in"]
    assert abs(c["iat"] - time.time()) < 60
    assert c["jti"]
    verify_signature(t["access_token"], op.jwks())


def test_id_token_claims(op):
    shop, alice, a, code = signed_in(op)
    t = shop.redeem_ok(code, a.verifier)
    h, c = jwt_parts(t["id_token"])
    assert h["alg"] == "RS256" and h.get("typ", "JWT") == "JWT"
    assert c["iss"] == op.issuer
    assert c["sub"] == alice.sub
    assert c["aud"] == "shop" or c["aud"] == ["shop"]
    assert c["azp"] == "shop"
    assert c["nonce"] == a.nonce
    assert isinstance(c["exp"], int) and isinstance(c["iat"], int) and c["exp"] > c["iat"]
    assert abs(c["iat"] - time.time()) < 60
    assert c["iat"] - 60 <= c["auth_time"] <= c["iat"]
    assert c["at_hash"] == half_hash(t["access_token"], h["alg"])
    assert isinstance(c["amr"], list) and "pwd" in c["amr"], c.get("amr")
    assert isinstance(c["sid"], str) and c["sid"]
    assert verify_signature(t["id_token"], op.jwks())["sub"] == alice.sub


def test_id_token_without_nonce_has_no_nonce(op):
    shop, _, a, code = signed_in(op, nonce=None)
    c = jwt_parts(shop.redeem_ok(code, a.verifier)["id_token"])[1]
    assert "nonce" not in c


@pytest.mark.skipif(not HAVE_PYJWT, reason="needs python3-jwt for the signature check")
@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256"])
def test_client_signing_alg_is_used_and_verifies_against_the_jwks(op, alg):
    shop, alice, a, code = signed_in(op, client_args=("--signing-alg", alg))
    t = shop.redeem_ok(code, a.verifier)
    for tok in (t["id_token"], t["access_token"]):
        h, c = jwt_parts(tok)
        assert h["alg"] == alg
        assert verify_signature(tok, op.jwks())["sub"] == alice.sub
    idc = jwt_parts(t["id_token"])[1]
    assert idc["at_hash"] == half_hash(t["access_token"], alg)


def test_no_id_token_without_openid_scope(op):
    shop, _, a, code = signed_in(op, scope="profile email")
    t = shop.redeem_ok(code, a.verifier)
    assert "id_token" not in t
    assert t["access_token"] and set(t["scope"].split()) == {"profile", "email"}


def test_no_refresh_token_for_a_client_without_the_refresh_grant(op):
    shop, _, a, code = signed_in(op, client_args=("--grant-types", "authorization_code"))
    t = shop.redeem_ok(code, a.verifier)
    assert "refresh_token" not in t


def test_public_client_redeems_with_client_id_only(op):
    spa, alice, a, code = signed_in(op, public=True)
    r = spa.redeem(code, a.verifier)
    assert r.status_code == 200, r.text
    assert jwt_parts(r.json()["id_token"])[1]["sub"] == alice.sub


def test_client_secret_post_client_redeems_with_the_secret_in_the_form(op):
    shop = op.client("shop", auth_method="client_secret_post")
    alice = op.user("alice")
    a, code = op.browser().sign_in(shop, alice)
    assert shop.redeem(code, a.verifier).status_code == 200


def test_basic_credentials_are_form_urlencoded_before_base64(op):
    secret = "s3cret:+&%=/?#~!'\"<>;@[]-and-more-than-32-characters"
    shop = op.client("shop", secret=secret)
    alice = op.user("alice")
    a, code = op.browser().sign_in(shop, alice)
    r = shop.redeem(code, a.verifier)           # Client.auth encodes per RFC 6749 §2.3.1
    assert r.status_code == 200, r.text


def test_token_request_with_charset_and_lower_case_basic_scheme(op):
    # what real clients send: a charset parameter, and any case for the scheme (RFC 9110 §11.1)
    shop = op.client("shop")
    a, code = op.browser().sign_in(shop, op.user("alice"))
    body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": shop.redirect_uri,
                                   "code_verifier": a.verifier})
    r = op.post("/token", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
        "Authorization": "basic " + basic_auth("shop", shop.secret).split(" ", 1)[1]})
    assert r.status_code == 200, r.text


# --- PKCE -----------------------------------------------------------------------------------

def test_wrong_verifier_is_invalid_grant(op):
    shop, _, a, code = signed_in(op)
    other, _ = pkce_pair()
    assert_oauth_error(shop.redeem(code, other), 400, "invalid_grant")


def test_absent_verifier_is_invalid_grant(op):
    shop, _, a, code = signed_in(op)
    assert_oauth_error(shop.redeem(code, None), 400, "invalid_grant")


def test_challenge_as_verifier_is_invalid_grant(op):
    shop, _, a, code = signed_in(op)
    assert_oauth_error(shop.redeem(code, a.params["code_challenge"]), 400, "invalid_grant")


def test_pkce_optional_client_without_challenge_redeems_without_verifier(op):
    shop, _, a, code = signed_in(op, client_args=("--pkce-optional",), pkce=False)
    assert "code_challenge" not in a.params
    assert shop.redeem(code, None).status_code == 200


def test_verifier_for_a_code_issued_without_challenge_is_a_downgrade(op):
    shop, _, a, code = signed_in(op, client_args=("--pkce-optional",), pkce=False)
    verifier, _ = pkce_pair()
    assert_oauth_error(shop.redeem(code, verifier), 400, "invalid_grant")


# --- the code itself -------------------------------------------------------------------------

def test_code_reuse_is_invalid_grant_and_revokes_the_first_tokens(op):
    shop, _, a, code = signed_in(op)
    t = shop.redeem_ok(code, a.verifier)
    assert op.userinfo(t["access_token"]).status_code == 200
    assert_oauth_error(shop.redeem(code, a.verifier), 400, "invalid_grant")
    r = op.userinfo(t["access_token"])
    assert r.status_code == 401, r.text
    assert 'error="invalid_token"' in r.headers.get("WWW-Authenticate", "")
    assert_oauth_error(shop.refresh(t["refresh_token"]), 400, "invalid_grant")


def test_code_reuse_does_not_revoke_another_login(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    other = b.tokens(shop, alice)
    a, code = b.sign_in(shop, alice)
    shop.redeem_ok(code, a.verifier)
    assert_oauth_error(shop.redeem(code, a.verifier), 400, "invalid_grant")
    assert op.userinfo(other["access_token"]).status_code == 200
    assert shop.refresh(other["refresh_token"]).status_code == 200


def test_expired_code_is_invalid_grant(gh, start_server, users_template):
    # two more servers on the same data location, their clocks 10 s and 10 min ahead
    issuer = "http://127.0.0.1:1"
    op = start_op(gh, start_server, users_template, issuer=issuer)
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    a1, code1 = b.sign_in(shop, alice)
    a2, code2 = b.sign_in(shop, alice)
    now = int(time.time())
    soon = OP(gh, start_server(issuer=issuer, env={"GATEHOUSE_FAKE_NOW": str(now + 10)}))
    late = OP(gh, start_server(issuer=issuer, env={"GATEHOUSE_FAKE_NOW": str(now + 600)}))
    assert shop.at(soon).redeem(code1, a1.verifier).status_code == 200
    assert_oauth_error(shop.at(late).redeem(code2, a2.verifier), 400, "invalid_grant")


def test_code_redeemed_by_another_client_is_invalid_grant(op):
    shop, _, a, code = signed_in(op)
    thief = op.client("thief")
    assert_oauth_error(thief.redeem(code, a.verifier), 400, "invalid_grant")


def test_code_redeemed_by_another_public_client_is_invalid_grant(op):
    spa, _, a, code = signed_in(op, public=True)
    thief = op.client("thief", public=True)
    assert_oauth_error(thief.redeem(code, a.verifier), 400, "invalid_grant")


def test_code_with_another_redirect_uri_is_invalid_grant(op):
    shop = op.client("shop", "--redirect-uri", "https://rp.example/other")
    alice = op.user("alice")
    a, code = op.browser().sign_in(shop, alice)
    r = shop.redeem(code, a.verifier, redirect_uri="https://rp.example/other")
    assert_oauth_error(r, 400, "invalid_grant")


def test_second_registered_redirect_uri_gets_the_code_and_redeems_it(op):
    other = "https://rp.example/other"
    shop = op.client("shop", "--redirect-uri", other)
    b = op.browser()
    a = b.authorize(shop, redirect_uri=other)
    code = a.code(b.login(a.r, op.user("alice")), status=303)
    assert shop.redeem(code, a.verifier, redirect_uri=other).status_code == 200


def test_code_without_redirect_uri_is_refused(op):
    shop, _, a, code = signed_in(op)
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": a.verifier}
    r = shop.token(data)
    assert r.status_code == 400 and r.json()["error"] in ("invalid_request", "invalid_grant")


@pytest.mark.parametrize("code", ["A" * 43, "made-up", "", "A" * 4096],
                         ids=["well-formed", "short", "empty", "huge"])
def test_made_up_code_is_invalid_grant(op, code):
    shop = op.client("shop")
    r = shop.redeem(code, pkce_pair()[0])
    if code in ("", "A" * 4096):
        assert r.status_code == 400 and r.json()["error"] in ("invalid_request", "invalid_grant")
        assert r.headers["Content-Type"].startswith("application/json")
    else:
        assert_oauth_error(r, 400, "invalid_grant")


def test_fifty_parallel_redemptions_of_one_code_give_exactly_one_token(gh, start_server,
                                                                       users_template):
    op = start_op(gh, start_server, users_template,
                  env={"GATEHOUSE_MAX_CONNECTIONS_PER_IP": "256"})
    shop, alice = op.client("shop"), op.user("alice")
    a, code = op.browser().sign_in(shop, alice)
    n = 50
    sessions = [http_session() for _ in range(n)]
    results = [None] * n
    go = threading.Barrier(n)

    def redeem(i):
        go.wait()
        try:
            r = shop.redeem(code, a.verifier, session=sessions[i])
            results[i] = (r.status_code, r.json().get("error"))
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = ("exception", repr(e))

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = [r[0] for r in results]
    assert statuses.count(200) == 1, results
    assert all(r == (400, "invalid_grant") for r in results if r[0] != 200), results
    for s in sessions:
        s.close()


# --- client authentication ---------------------------------------------------------------

def code_for(op, client):
    alice = op.user("alice")
    return op.browser().sign_in(client, alice)


def test_wrong_secret_with_basic_is_invalid_client_with_www_authenticate(op):
    shop = op.client("shop")
    a, code = code_for(op, shop)
    r = op.post("/token", data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": shop.redirect_uri, "code_verifier": a.verifier},
                headers={"Authorization": basic_auth("shop", shop.secret + "x")})
    assert_oauth_error(r, 401, "invalid_client")
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic"), r.headers
    # the code was not spent by an unauthenticated request
    assert shop.redeem(code, a.verifier).status_code == 200


def test_unknown_client_with_basic_is_invalid_client(op):
    r = op.post("/token", data={"grant_type": "authorization_code", "code": "A" * 43,
                                "redirect_uri": "https://rp.example/cb"},
                headers={"Authorization": basic_auth("nobody", "x" * 43)})
    assert_oauth_error(r, 401, "invalid_client")
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic"), r.headers


def test_malformed_basic_header_is_invalid_client(op):
    op.client("shop")
    r = op.post("/token", data={"grant_type": "authorization_code", "code": "A" * 43,
                                "redirect_uri": "https://rp.example/cb"},
                headers={"Authorization": "Basic not-base64!!"})
    assert_oauth_error(r, 401, "invalid_client")
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic"), r.headers


def test_confidential_client_without_credentials_is_invalid_client(op):
    shop = op.client("shop")
    a, code = code_for(op, shop)
    r = op.post("/token", data={"grant_type": "authorization_code", "code": code,
                                "client_id": "shop", "redirect_uri": shop.redirect_uri,
                                "code_verifier": a.verifier})
    assert_oauth_error(r, 401, "invalid_client")


def test_basic_client_using_the_post_method_is_invalid_client(op):
    shop = op.client("shop")
    a, code = code_for(op, shop)
    r = op.post("/token", data={"grant_type": "authorization_code", "code": code,
                                "client_id": "shop", "client_secret": shop.secret,
                                "redirect_uri": shop.redirect_uri,
                                "code_verifier": a.verifier})
    assert_oauth_error(r, 401, "invalid_client")


def test_wrong_secret_with_post_is_invalid_client(op):
    shop = op.client("shop", auth_method="client_secret_post")
    a, code = code_for(op, shop)
    r = op.post("/token", data={"grant_type": "authorization_code", "code": code,
                                "client_id": "shop", "client_secret": shop.secret[:-1] + "x",
                                "redirect_uri": shop.redirect_uri,
                                "code_verifier": a.verifier})
    assert_oauth_error(r, 401, "invalid_client")
    assert "Basic" not in r.headers.get("WWW-Authenticate", "")


# --- grant types and the shape of errors ---------------------------------------------------

@pytest.mark.parametrize("gt", ["password", "urn:ietf:params:oauth:grant-type:device_code",
                                "urn:example:custom"])
def test_unsupported_grant_type(op, gt):
    shop = op.client("shop")
    r = shop.token({"grant_type": gt, "username": "alice", "password": "x" * 20})
    assert_oauth_error(r, 400, "unsupported_grant_type")


def test_missing_grant_type_is_invalid_request(op):
    shop = op.client("shop")
    assert_oauth_error(shop.token({"code": "A" * 43}), 400, "invalid_request")


def test_refresh_grant_not_registered_for_the_client_is_refused(op):
    shop = op.client("shop", "--grant-types", "authorization_code")
    r = shop.refresh("A" * 43)
    assert r.status_code == 400 and r.json()["error"] in ("unauthorized_client",
                                                          "invalid_grant")


def test_token_errors_are_json_even_for_a_browser(op):
    shop = op.client("shop")
    r = shop.token({"grant_type": "authorization_code", "code": "A" * 43,
                    "redirect_uri": shop.redirect_uri},
                   headers={"Accept": "text/html"})
    assert_oauth_error(r, 400, "invalid_grant")
    assert "<html" not in r.text.lower()


def test_repeated_parameter_is_invalid_request(op):
    # RFC 6749 §3.2: parameters must not be repeated; which code would count?
    shop = op.client("shop")
    a, code = op.browser().sign_in(shop, op.user("alice"))
    r = op.post("/token", data=[("grant_type", "authorization_code"), ("code", code),
                                ("code", "A" * 43), ("redirect_uri", shop.redirect_uri),
                                ("code_verifier", a.verifier)],
                headers={"Authorization": basic_auth("shop", shop.secret)})
    assert_oauth_error(r, 400, "invalid_request")


def test_token_endpoint_refuses_a_json_body(op):
    shop = op.client("shop")
    r = op.post("/token", json={"grant_type": "authorization_code", "code": "A" * 43},
                headers={"Authorization": basic_auth("shop", shop.secret)})
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/json")
    assert r.json()["error"] == "invalid_request"


def test_token_endpoint_refuses_get(op):
    r = op.get("/token", params={"grant_type": "authorization_code"})
    assert r.status_code == 405
