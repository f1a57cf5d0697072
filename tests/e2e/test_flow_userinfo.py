"""GET/POST /userinfo (OIDC Core §5.3, RFC 6750): the claims the scope allows, and 401 with
WWW-Authenticate: Bearer error="invalid_token" for anything but a live access token of this
gatehouse: tampered, alg none, HS256 keyed with the public key, an ID token, a token of
another instance, an expired one, a revoked one."""
import json
import time

import pytest

from ghtest import Gatehouse, Server

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import (  # noqa: E402
    OP, b64url, jwt_build, jwt_parts, resign_rs256, rsa_public_key_encodings, start_op)

pytest_plugins = ["oidc"]   # fixtures: op, users_template

ISSUER = "http://127.0.0.1:1"


def login(op, scope="openid profile email", **kw):
    shop = op.client("shop", **kw)
    alice = op.user("alice", email="alice@example.test", name="Alice Example")
    return shop, alice, op.browser().tokens(shop, alice, scope=scope)


def assert_invalid_token(r):
    assert r.status_code == 401, f"want 401, got {r.status_code}: {r.text[:300]}"
    www = r.headers.get("WWW-Authenticate", "")
    assert www.startswith("Bearer"), r.headers
    assert 'error="invalid_token"' in www, www
    assert "no-store" in r.headers.get("Cache-Control", "")


# --- the claims ----------------------------------------------------------------------------

def test_userinfo_get_with_bearer_gives_profile_and_email_claims(op):
    _, alice, t = login(op)
    r = op.userinfo(t["access_token"])
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert "no-store" in r.headers["Cache-Control"]
    u = r.json()
    assert u["sub"] == alice.sub
    assert u["name"] == "Alice Example"
    assert u["preferred_username"] == "alice"
    assert isinstance(u["updated_at"], int) and abs(u["updated_at"] - time.time()) < 3600
    assert u["email"] == "alice@example.test"
    assert isinstance(u["email_verified"], bool)


def test_userinfo_post_with_form_token(op):
    _, alice, t = login(op)
    r = op.userinfo(t["access_token"], method="POST")
    assert r.status_code == 200, r.text
    assert r.json()["sub"] == alice.sub


def test_bearer_scheme_is_case_insensitive(op):
    _, alice, t = login(op)
    r = op.get("/userinfo", headers={"Authorization": "bearer " + t["access_token"]})
    assert r.status_code == 200 and r.json()["sub"] == alice.sub


def test_userinfo_sub_matches_the_id_token(op):
    _, _, t = login(op)
    assert op.userinfo(t["access_token"]).json()["sub"] == jwt_parts(t["id_token"])[1]["sub"]


def test_openid_scope_alone_gives_only_sub(op):
    _, alice, t = login(op, scope="openid")
    u = op.userinfo(t["access_token"]).json()
    assert u == {"sub": alice.sub}


def test_profile_scope_without_email_gives_no_email(op):
    _, _, t = login(op, scope="openid profile")
    u = op.userinfo(t["access_token"]).json()
    assert "email" not in u and "email_verified" not in u
    assert u["preferred_username"] == "alice"


def test_email_scope_without_profile_gives_no_name(op):
    _, _, t = login(op, scope="openid email")
    u = op.userinfo(t["access_token"]).json()
    assert u["email"] == "alice@example.test"
    assert not {"name", "preferred_username", "updated_at"} & set(u)


# --- no token, bad tokens --------------------------------------------------------------------

def test_no_token_is_401_with_a_bearer_challenge_without_error(op):
    r = op.get("/userinfo")
    assert r.status_code == 401
    www = r.headers.get("WWW-Authenticate", "")
    assert www.startswith("Bearer realm="), www
    assert "error=" not in www, "RFC 6750 §3.1: no error code when no token was sent"


def test_token_in_the_query_is_not_accepted(op):
    _, _, t = login(op)
    r = op.get("/userinfo", params={"access_token": t["access_token"]})
    assert r.status_code == 401, "RFC 9700 §4.3.2: no access tokens in URLs"


def test_garbage_token_is_invalid_token(op):
    assert_invalid_token(op.userinfo("not-a-jwt"))


def test_tampered_payload_is_invalid_token(op):
    shop, alice, t = login(op)
    bob = op.user("bob")
    h, c, s = t["access_token"].split(".")
    claims = jwt_parts(t["access_token"])[1]
    claims["sub"] = bob.sub
    forged = ".".join((h, b64url(json.dumps(claims, separators=(",", ":")).encode()), s))
    assert_invalid_token(op.userinfo(forged))


def test_tampered_signature_is_invalid_token(op):
    _, _, t = login(op)
    h, c, s = t["access_token"].split(".")
    s = ("B" if s[0] == "A" else "A") + s[1:]
    assert_invalid_token(op.userinfo(".".join((h, c, s))))


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_token_is_invalid_token(op, alg):
    _, _, t = login(op)
    header, claims = jwt_parts(t["access_token"])
    header["alg"] = alg
    forged = jwt_build(header, claims)              # empty signature
    assert forged.endswith(".")
    assert_invalid_token(op.userinfo(forged))
    assert_invalid_token(op.userinfo(forged[:-1]))  # and without the last dot


def test_hs256_token_keyed_with_the_rsa_public_key_is_invalid_token(op):
    # the RS256 -> HS256 algorithm confusion attack (RFC 8725 §2.1)
    _, _, t = login(op)
    header, claims = jwt_parts(t["access_token"])
    rsa = [k for k in op.jwks()["keys"] if k["kty"] == "RSA"][0]
    assert header["kid"] == rsa["kid"]
    header["alg"] = "HS256"
    for key in rsa_public_key_encodings(rsa, op.gh.key_pem(rsa["kid"])):
        assert_invalid_token(op.userinfo(jwt_build(header, claims, key=key)))


# The server's own key (from its data location) signs tokens that differ from a genuine one
# in one claim or header member: each must fail on that member alone.

def resign(op, token, **kw):
    kid = jwt_parts(token)[0]["kid"]
    return resign_rs256(token, op.gh.key_pem(kid), **kw)


def test_resigned_genuine_token_is_accepted(op):
    # the control for the tests below: re-signing by itself breaks nothing
    _, alice, t = login(op)
    r = op.userinfo(resign(op, t["access_token"]))
    assert r.status_code == 200 and r.json()["sub"] == alice.sub


def test_signed_token_with_typ_jwt_is_invalid_token(op):
    _, _, t = login(op)
    assert_invalid_token(op.userinfo(resign(op, t["access_token"], header={"typ": "JWT"})))
    assert_invalid_token(op.userinfo(resign(op, t["access_token"], header={"typ": None})))


def test_signed_token_past_its_exp_is_invalid_token(op):
    _, _, t = login(op)
    now = int(time.time())
    tok = resign(op, t["access_token"], claims={"iat": now - 900, "exp": now - 120})
    assert_invalid_token(op.userinfo(tok))


def test_signed_token_without_exp_is_invalid_token(op):
    _, _, t = login(op)
    assert_invalid_token(op.userinfo(resign(op, t["access_token"], claims={"exp": None})))


def test_signed_token_of_another_issuer_is_invalid_token(op):
    _, _, t = login(op)
    tok = resign(op, t["access_token"], claims={"iss": "https://evil.example"})
    assert_invalid_token(op.userinfo(tok))


def test_signed_token_for_another_audience_is_invalid_token(op):
    _, _, t = login(op)
    assert_invalid_token(op.userinfo(resign(op, t["access_token"], claims={"aud": "shop"})))


@pytest.mark.parametrize("jti", ["never-issued-0123456789", "nosuchgrant.0123456789",
                                 ".0123456789"])
def test_signed_token_with_an_unknown_jti_is_invalid_token(op, jti):
    """A user's access token names its grant in the jti; one naming no live grant was never
    issued here (or its grant is gone)."""
    _, _, t = login(op)
    tok = resign(op, t["access_token"], claims={"jti": jti})
    assert_invalid_token(op.userinfo(tok))


def test_id_token_is_not_an_access_token(op):
    _, _, t = login(op)
    assert jwt_parts(t["id_token"])[0].get("typ") != "at+jwt"
    assert_invalid_token(op.userinfo(t["id_token"]))


def test_access_token_with_another_typ_header_is_invalid_token(op):
    _, _, t = login(op)
    h, c, s = t["access_token"].split(".")
    header = jwt_parts(t["access_token"])[0]
    header["typ"] = "JWT"
    forged = ".".join((b64url(json.dumps(header).encode()), c, s))
    assert_invalid_token(op.userinfo(forged))


def test_revoked_token_after_code_reuse_is_invalid_token(op):
    shop, alice = op.client("shop"), op.user("alice")
    a, code = op.browser().sign_in(shop, alice)
    t = shop.redeem_ok(code, a.verifier)
    assert op.userinfo(t["access_token"]).status_code == 200
    assert shop.redeem(code, a.verifier).status_code == 400
    assert_invalid_token(op.userinfo(t["access_token"]))
    assert_invalid_token(op.userinfo(t["access_token"], method="POST"))


def test_token_of_a_disabled_user_is_invalid_token(op):
    _, _, t = login(op)
    op.gh.ok("user", "disable", "alice")
    assert_invalid_token(op.userinfo(t["access_token"]))


def test_token_from_another_gatehouse_instance_is_invalid_token(gh, start_server, tmp_path,
                                                                users_template):
    ours = start_op(gh, start_server, users_template, issuer=ISSUER)
    ours.client("shop")
    ours.user("alice")
    # the same issuer name, the same client and user, but its own keys
    (tmp_path / "other").mkdir()
    other_gh = Gatehouse(gh.binary, tmp_path / "other")
    other_gh.init()
    srv = Server(other_gh, [], issuer=ISSUER, name="other").wait_ready()
    try:
        theirs = OP(other_gh, srv)
        assert theirs.issuer == ours.issuer
        t = theirs.browser().tokens(theirs.client("shop"), theirs.user("alice"))
        assert theirs.userinfo(t["access_token"]).status_code == 200
        assert_invalid_token(ours.userinfo(t["access_token"]))
    finally:
        rc = srv.stop()
    assert rc == 0, f"the second gatehouse exited {rc}\n{srv.stderr()}"


def test_expired_token_is_invalid_token(gh, start_server, users_template):
    # a server whose clock is an hour behind issues a token (lifetime 600 s by default),
    # which is fine there and long expired for a server with the real time
    past = str(int(time.time()) - 3600)
    then = start_op(gh, start_server, users_template, issuer=ISSUER,
                    env={"GATEHOUSE_FAKE_NOW": past})
    t = then.browser().tokens(then.client("shop"), then.user("alice"))
    claims = jwt_parts(t["access_token"])[1]
    assert claims["exp"] < time.time() - 60, claims
    assert then.userinfo(t["access_token"]).status_code == 200
    now = OP(gh, start_server(issuer=ISSUER))
    assert_invalid_token(now.userinfo(t["access_token"]))


def test_access_token_ttl_setting_sets_the_lifetime_and_expiry(gh, start_server,
                                                               users_template):
    # GATEHOUSE_ACCESS_TOKEN_TTL shortens the lifetime; a server 31 s later refuses the token
    ttl = 30
    start = int(time.time()) - 1000
    early = start_op(gh, start_server, users_template, issuer=ISSUER,
                     env={"GATEHOUSE_FAKE_NOW": str(start), "GATEHOUSE_ACCESS_TOKEN_TTL": str(ttl)})
    t = early.browser().tokens(early.client("shop"), early.user("alice"))
    c = jwt_parts(t["access_token"])[1]
    assert c["exp"] - c["iat"] == ttl and t["expires_in"] == ttl
    late = OP(gh, start_server(issuer=ISSUER, env={"GATEHOUSE_FAKE_NOW": str(start + 600)}))
    assert_invalid_token(late.userinfo(t["access_token"]))


def test_token_sent_twice_is_refused(op):
    _, _, t = login(op)
    r = op.post("/userinfo", data={"access_token": t["access_token"]},
                headers={"Authorization": f"Bearer {t['access_token']}"})
    assert r.status_code == 400, "RFC 6750 §2: one method per request"
