"""POST /introspect (RFC 7662): a confidential client authenticated as at /token asks whether a
token is live. Our access tokens (client_credentials and users') and a client's own refresh
tokens answer active with the RFC 7662 members; anything else — unknown, malformed, expired,
revoked, tampered, signed by someone else, an id_token, another client's refresh token — is
exactly {"active":false} with 200, indistinguishable. Unauthenticated and public callers get
401 invalid_client."""
import secrets
import time

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import (  # noqa: E402
    OP, assert_oauth_error, b64url, basic_auth, jwt_build, jwt_parts, resign_rs256, start_op)

pytest_plugins = ["oidc"]   # fixtures: op, users_template

API = "https://api.example/"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
INACTIVE = {"active": False}
MEMBERS = {"active", "scope", "client_id", "sub", "aud", "iss", "exp", "iat", "token_type"}


def service(op, client_id, *args, **kw):
    return op.client(client_id, "--grant-types", "client_credentials", *args,
                     redirect_uri=None, **kw)


def cc_token(client, **params) -> str:
    r = client.token({"grant_type": "client_credentials", **params})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def introspect(client, token, auth=True, **extra):
    data = {"token": token, **extra}
    data = {k: v for k, v in data.items() if v is not None}
    headers = {}
    if auth:
        client.auth(data, headers)
    return client.op.post("/introspect", data=data, headers=headers)


def answer(client, token, **extra) -> dict:
    r = introspect(client, token, **extra)
    assert r.status_code == 200, f"introspect: {r.status_code} {r.text}"
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    assert "no-store" in r.headers["Cache-Control"], r.headers
    return r.json()


def assert_inactive(client, token, **extra):
    r = introspect(client, token, **extra)
    assert r.status_code == 200, f"introspect: {r.status_code} {r.text}"
    assert r.json() == INACTIVE, r.text
    assert r.content == b'{"active":false}', r.content   # the same bytes whatever the reason


@pytest.fixture
def s2s(op):
    """(svc: a client_credentials client allowed read at API, rs: the API's own confidential
    client, which introspects)."""
    op.gh.ok("resource", "add", API, "--scopes", "read,write")
    svc = service(op, "svc")
    op.gh.ok("resource", "allow", API, "svc", "--scopes", "read")
    rs = service(op, "api-rs")
    return svc, rs


def user_tokens(op, client=None):
    shop = client or op.client("shop")
    alice = op.user("alice")
    return shop, alice, op.browser().tokens(shop, alice)


def resign(op, token, **kw):
    kid = jwt_parts(token)[0]["kid"]
    return resign_rs256(token, op.gh.key_pem(kid), **kw)


# --- live tokens ---------------------------------------------------------------------------

def test_client_credentials_token_is_active_with_its_claims(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    c = jwt_parts(tok)[1]
    a = answer(rs, tok)
    assert set(a) == MEMBERS, a
    assert a["active"] is True
    assert a["token_type"] == "Bearer"
    for m in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat"):
        assert a[m] == c[m], m
    assert a["client_id"] == a["sub"] == "svc" and a["aud"] == API and a["scope"] == "read"
    # the client may introspect its own token too
    assert answer(svc, tok)["active"] is True


def test_users_access_token_is_active(op, s2s):
    _, rs = s2s
    shop, alice, t = user_tokens(op)
    a = answer(rs, t["access_token"])
    assert a["active"] is True and a["sub"] == alice.sub and a["client_id"] == "shop"
    assert a["aud"] == op.issuer and a["iss"] == op.issuer
    assert set(a["scope"].split()) == {"openid", "profile", "email"}
    assert set(a) == MEMBERS


def test_refresh_token_is_active_for_its_own_client_only(op, s2s):
    _, rs = s2s
    shop, alice, t = user_tokens(op)
    a = answer(shop, t["refresh_token"])
    assert a["active"] is True and a["client_id"] == "shop" and a["sub"] == alice.sub
    assert a["iss"] == op.issuer and a["exp"] > time.time()
    assert set(a["scope"].split()) == {"openid", "profile", "email"}
    assert "token_type" not in a
    # a refresh token is only ever handled by its own client
    assert_inactive(rs, t["refresh_token"])
    # and looking does not spend or revoke it
    assert shop.refresh(t["refresh_token"]).status_code == 200


def test_token_type_hint_is_ignored(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    for hint in ("refresh_token", "access_token", "urn:example:junk"):
        assert answer(rs, tok, token_type_hint=hint)["active"] is True


def test_introspection_writes_nothing(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    before = op.gh.dump()
    answer(rs, tok)
    assert_inactive(rs, "A" * 43)
    assert op.gh.dump() == before


# --- everything else is {"active": false} --------------------------------------------------

def test_garbage_is_inactive(op, s2s):
    _, rs = s2s
    for junk in ("x", "A" * 43, "A" * 42, "A" * 44, "a.b.c", "e30.e30.e30", "...", "A" * 2000,
                 b64url(b"\x00" * 32)):
        assert_inactive(rs, junk)


def test_tampered_and_foreign_tokens_are_inactive(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    h, c = jwt_parts(tok)
    p = tok.split(".")
    flipped = p[2][:-2] + ("A" if p[2][-2] != "A" else "B") + p[2][-1]
    assert_inactive(rs, ".".join(p[:2] + [flipped]))                        # bad signature
    assert_inactive(rs, jwt_build({"alg": "none", "typ": "at+jwt"}, c))   # unsigned
    assert_inactive(rs, jwt_build({**h, "alg": "HS256"}, c, key=b"k" * 32))
    assert_inactive(rs, jwt_build(h, {**c, "scope": "read write"}, signature=b"x" * 256))


def test_tokens_signed_by_us_but_not_access_tokens_of_ours_are_inactive(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    now = int(time.time())
    assert resign(op, tok) and answer(rs, resign(op, tok))["active"] is True   # the control
    for kw in ({"header": {"typ": "JWT"}}, {"header": {"typ": None}},
               {"claims": {"iss": "https://evil.example"}},
               {"claims": {"exp": now - 5}},            # expired: no leeway on exp here
               {"claims": {"exp": None}},
               {"claims": {"jti": None}}, {"claims": {"sub": None}},
               {"claims": {"client_id": None}}, {"claims": {"aud": None}},
               {"claims": {"iat": now + 3600}},
               {"claims": {"jti": "nosuchgrant.0123456789"}},
               {"claims": {"aud": "https://unknown.example/"}},   # svc is not allowed there
               {"claims": {"scope": "read write"}},                # more than svc may have
               {"claims": {"client_id": "api-rs"}}):              # not allowed at API
        assert_inactive(rs, resign(op, tok, **kw))


def test_id_token_is_inactive(op, s2s):
    _, rs = s2s
    _, _, t = user_tokens(op)
    assert_inactive(rs, t["id_token"])


def test_expired_token_is_inactive(gh, start_server, users_template):
    past = int(time.time()) - 3600
    then = start_op(gh, start_server, users_template, env={"GATEHOUSE_FAKE_NOW": str(past)})
    gh.ok("resource", "add", API, "--scopes", "read")
    svc = service(then, "svc")
    gh.ok("resource", "allow", API, "svc", "--scopes", "read")
    tok = cc_token(svc, resource=API)
    assert answer(svc, tok)["active"] is True         # live in its own time
    then.server.stop()
    now = OP(gh, start_server())
    assert_inactive(svc.at(now), tok)


def test_token_of_a_deleted_client_is_inactive(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    op.gh.ok("client", "delete", "svc")
    assert_inactive(rs, tok)


def test_token_of_a_client_no_longer_allowed_is_inactive(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    op.gh.ok("resource", "disallow", API, "svc")
    assert_inactive(rs, tok)


def test_token_of_a_deleted_resource_is_inactive(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    op.gh.ok("resource", "delete", API)
    assert_inactive(rs, tok)


def test_revoked_grant_makes_the_users_tokens_inactive(op, s2s):
    _, rs = s2s
    shop, _, t = user_tokens(op)
    op.gh.ok("user", "disable", "alice")
    assert_inactive(rs, t["access_token"])
    assert_inactive(shop, t["refresh_token"])


def test_refresh_family_revoked_by_reuse_is_inactive(op, s2s):
    _, rs = s2s
    shop, _, t = user_tokens(op)
    t2 = shop.refresh(t["refresh_token"]).json()
    assert_oauth_error(shop.refresh(t["refresh_token"]), 400, "invalid_grant")   # reuse
    assert_inactive(shop, t2["refresh_token"])
    assert_inactive(rs, t2["access_token"])


def test_rotated_refresh_token_is_inactive(op, s2s):
    shop, _, t = user_tokens(op)
    t2 = shop.refresh(t["refresh_token"]).json()
    assert answer(shop, t2["refresh_token"])["active"] is True
    assert_inactive(shop, t["refresh_token"])


# --- who may ask ---------------------------------------------------------------------------

def test_unauthenticated_caller_is_invalid_client(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    r = op.post("/introspect", data={"token": tok})
    assert_oauth_error(r, 401, "invalid_client")
    r = op.post("/introspect", data={"token": tok},
                headers={"Authorization": basic_auth("api-rs", rs.secret[:-1] + "x")})
    assert_oauth_error(r, 401, "invalid_client")
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic")
    r = op.post("/introspect", data={"token": tok},
                headers={"Authorization": basic_auth("nobody", rs.secret)})
    assert_oauth_error(r, 401, "invalid_client")
    r = op.post("/introspect", data={"token": tok, "client_id": "api-rs"})
    assert_oauth_error(r, 401, "invalid_client")
    r = op.post("/introspect", data={"token": tok},
                headers={"Authorization": f"Bearer {tok}"})       # a token is no credential
    assert_oauth_error(r, 401, "invalid_client")


def test_public_client_may_not_introspect(op, s2s):
    svc, _ = s2s
    spa = op.client("spa", public=True)
    _, _, t = user_tokens(op, client=spa)
    assert_oauth_error(introspect(spa, t["access_token"]), 401, "invalid_client")
    assert_oauth_error(introspect(spa, cc_token(svc, resource=API)), 401, "invalid_client")


def test_token_is_required(op, s2s):
    _, rs = s2s
    assert_oauth_error(introspect(rs, None), 400, "invalid_request")
    assert_oauth_error(introspect(rs, ""), 400, "invalid_request")


def test_repeated_token_is_invalid_request(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    r = op.post("/introspect", data=[("token", tok), ("token", "A" * 43)],
                headers={"Authorization": basic_auth("api-rs", rs.secret)})
    assert_oauth_error(r, 400, "invalid_request")


def test_introspection_is_post_with_a_form(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    r = op.get("/introspect", params={"token": tok},
               headers={"Authorization": basic_auth("api-rs", rs.secret)})
    assert r.status_code == 405 and r.headers.get("Allow") == "POST"
    r = op.post("/introspect", json={"token": tok},
                headers={"Authorization": basic_auth("api-rs", rs.secret)})
    assert_oauth_error(r, 400, "invalid_request")


def secret_jwt(client, aud) -> str:
    """A client_secret_jwt assertion (RFC 7523 §2.2, HS256 keyed with the client secret)."""
    now = int(time.time())
    return jwt_build({"alg": "HS256", "typ": "JWT"},
                     {"iss": client.client_id, "sub": client.client_id, "aud": aud,
                      "iat": now, "exp": now + 60, "jti": b64url(secrets.token_bytes(16))},
                     key=client.secret.encode())


def test_caller_may_authenticate_with_a_jwt_assertion(op, s2s):
    svc, _ = s2s
    rs = service(op, "api-jwt", auth_method="client_secret_jwt")
    tok = cc_token(svc, resource=API)
    for aud in (op.issuer, op.issuer + "/token"):
        data = {"token": tok, "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": secret_jwt(rs, aud)}
        r = op.post("/introspect", data=data)
        assert r.status_code == 200 and r.json()["active"] is True, r.text
        # RFC 7523 §3: an assertion is good once
        assert_oauth_error(op.post("/introspect", data=data), 401, "invalid_client")
    forged = secret_jwt(rs, op.issuer)
    forged = forged[:-2] + ("AA" if not forged.endswith("AA") else "BB")
    r = op.post("/introspect", data={"token": tok, "client_assertion_type": ASSERTION_TYPE,
                                     "client_assertion": forged})
    assert_oauth_error(r, 401, "invalid_client")
    # and it revokes with one too
    r = op.post("/revoke", data={"token": tok, "client_assertion_type": ASSERTION_TYPE,
                                 "client_assertion": secret_jwt(svc, op.issuer)})
    assert r.status_code == 401   # svc is registered with client_secret_basic: wrong method
    assert answer(rs, tok, auth=False, client_assertion_type=ASSERTION_TYPE,
                  client_assertion=secret_jwt(rs, op.issuer))["active"] is True


# --- discovery -----------------------------------------------------------------------------

def test_discovery_lists_introspection_and_revocation(op):
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        d = op.get(path).json()
        assert d["introspection_endpoint"] == op.issuer + "/introspect"
        assert d["revocation_endpoint"] == op.issuer + "/revoke"
        methods = d["token_endpoint_auth_methods_supported"]
        assert d["introspection_endpoint_auth_methods_supported"] == methods
        assert d["revocation_endpoint_auth_methods_supported"] == methods
        assert set(methods) == {"client_secret_basic", "client_secret_post",
                                "client_secret_jwt", "private_key_jwt", "none"}
        algs = d["token_endpoint_auth_signing_alg_values_supported"]
        assert set(algs) == {"HS256", "HS384", "HS512", "RS256", "PS256", "ES256"}
        assert d["introspection_endpoint_auth_signing_alg_values_supported"] == algs
        assert d["revocation_endpoint_auth_signing_alg_values_supported"] == algs
        assert "client_credentials" in d["grant_types_supported"]
