"""grant_type=client_credentials (RFC 6749 §4.4) with resource indicators (RFC 8707): a
confidential client registered for the grant gets one RFC 9068 access token for one resource
it is allowed at, with a subset of its scopes there. aud is the resource, sub the client, the
jti names no grant; no refresh token, no id_token, nothing written to the database. Public
clients, clients without the grant, unknown or foreign resources, scopes beyond the allowance
and a repeated resource are refused; userinfo never accepts such a token."""
import time

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import (  # noqa: E402
    HAVE_PYJWT, assert_oauth_error, basic_auth, jwt_parts, pyjwt, resign_rs256,
    verify_signature)

pytest_plugins = ["oidc"]   # fixtures: op, users_template

API = "https://api.example/"
OTHER = "https://billing.example/v1"


def service(op, client_id="svc", *args, **kw):
    """A confidential client with only the client_credentials grant (no redirect URI)."""
    return op.client(client_id, "--grant-types", "client_credentials", *args,
                     redirect_uri=None, **kw)


def resource(op, rid=API, scopes="read,write"):
    op.gh.ok("resource", "add", rid, *(["--scopes", scopes] if scopes else []))


def allow(op, rid, client_id, scopes=None):
    op.gh.ok("resource", "allow", rid, client_id, *(["--scopes", scopes] if scopes else []))


def cc(client, **params):
    """POST /token grant_type=client_credentials as client (None leaves a parameter out)."""
    return client.token({"grant_type": "client_credentials", **params})


def cc_ok(client, **params) -> dict:
    r = cc(client, **params)
    assert r.status_code == 200, f"client_credentials: {r.status_code} {r.text}"
    assert r.headers["Content-Type"].startswith("application/json")
    assert "no-store" in r.headers["Cache-Control"]
    return r.json()


@pytest.fixture
def svc(op):
    """svc, allowed read at API (which defines read and write)."""
    resource(op)
    s = service(op)
    allow(op, API, "svc", "read")
    return s


def row_counts(op) -> str:
    return op.gh.sql("SELECT (SELECT count(*) FROM grants), (SELECT count(*) FROM "
                     "refresh_tokens), (SELECT count(*) FROM revoked_tokens)")


# --- what is issued ------------------------------------------------------------------------

def test_token_for_the_resource_is_an_rfc9068_jwt_for_the_client(op, svc):
    t = cc_ok(svc, resource=API)
    assert t["token_type"] == "Bearer"
    assert t["expires_in"] == 600
    assert t["scope"] == "read"
    assert "refresh_token" not in t and "id_token" not in t
    h, c = jwt_parts(t["access_token"])
    assert h["typ"] == "at+jwt" and h["alg"] == "RS256"
    claims = verify_signature(t["access_token"], op.jwks())
    assert claims == c
    assert c["iss"] == op.issuer
    assert c["sub"] == "svc"                  # RFC 9068 §2.2: no end-user, the client itself
    assert c["aud"] == API                    # RFC 8707 §2: the resource, exactly
    assert c["client_id"] == "svc"
    assert c["scope"] == "read"
    assert c["exp"] - c["iat"] == t["expires_in"]
    assert abs(c["iat"] - time.time()) < 60
    assert "auth_time" not in c and "nonce" not in c
    # a random jti that names no grant
    assert "." not in c["jti"] and len(c["jti"]) >= 22
    assert set(c) == {"iss", "sub", "aud", "client_id", "scope", "iat", "exp", "jti"}


@pytest.mark.skipif(not HAVE_PYJWT, reason="needs python3-jwt")
def test_a_resource_server_verifying_aud_accepts_only_its_own_tokens(op, svc):
    resource(op, OTHER, "pay")
    allow(op, OTHER, "svc", "pay")
    tok = cc_ok(svc, resource=API)["access_token"]
    key = pyjwt.PyJWK([k for k in op.jwks()["keys"]
                       if k["kid"] == jwt_parts(tok)[0]["kid"]][0]).key
    c = pyjwt.decode(tok, key, algorithms=["RS256"], audience=API, issuer=op.issuer)
    assert c["sub"] == "svc"
    with pytest.raises(pyjwt.InvalidAudienceError):
        pyjwt.decode(tok, key, algorithms=["RS256"], audience=OTHER)
    with pytest.raises(pyjwt.InvalidAudienceError):
        pyjwt.decode(tok, key, algorithms=["RS256"], audience=op.issuer)
    other = cc_ok(svc, resource=OTHER)["access_token"]
    assert pyjwt.decode(other, key, algorithms=["RS256"], audience=OTHER)["scope"] == "pay"


def test_every_token_has_its_own_jti(op, svc):
    jtis = {jwt_parts(cc_ok(svc, resource=API)["access_token"])[1]["jti"] for _ in range(5)}
    assert len(jtis) == 5


def test_nothing_is_stored_per_token(op, svc):
    before = row_counts(op)
    for _ in range(5):
        cc_ok(svc, resource=API)
    assert row_counts(op) == before


def test_client_secret_post_works_too(op):
    resource(op)
    s = service(op, "svc-post", auth_method="client_secret_post")
    allow(op, API, "svc-post", "read,write")
    assert cc_ok(s, resource=API)["scope"] == "read write"


def test_token_is_signed_with_the_clients_signing_alg(op):
    resource(op)
    s = service(op, "svc-es", "--signing-alg", "ES256")
    allow(op, API, "svc-es", "read")
    t = cc_ok(s, resource=API)
    assert jwt_parts(t["access_token"])[0]["alg"] == "ES256"
    verify_signature(t["access_token"], op.jwks())


# --- scope ---------------------------------------------------------------------------------

def test_scope_defaults_to_everything_allowed_at_the_resource(op):
    resource(op)
    s = service(op)
    allow(op, API, "svc", "read,write")
    t = cc_ok(s, resource=API)
    assert set(t["scope"].split()) == {"read", "write"}
    assert jwt_parts(t["access_token"])[1]["scope"] == t["scope"]


@pytest.mark.parametrize("want,got", [("read", "read"), ("write", "write"),
                                      ("write read", "write read"), ("read read", "read")])
def test_scope_may_be_narrowed(op, want, got):
    resource(op)
    s = service(op)
    allow(op, API, "svc", "read,write")
    t = cc_ok(s, resource=API, scope=want)
    assert t["scope"] == got
    assert jwt_parts(t["access_token"])[1]["scope"] == got


@pytest.mark.parametrize("want", ["write", "read write", "admin", "openid", "read admin"])
def test_scope_beyond_the_allowance_is_invalid_scope(op, svc, want):
    # svc may have read only; write is the resource's, but not svc's
    assert_oauth_error(cc(svc, resource=API, scope=want), 400, "invalid_scope")


@pytest.mark.parametrize("want", ["read  read", " read", "read ", 're"ad', "re\\ad"])
def test_malformed_scope_is_invalid_scope(op, svc, want):
    assert_oauth_error(cc(svc, resource=API, scope=want), 400, "invalid_scope")


def test_allowed_without_scopes_gives_a_token_without_scope(op):
    resource(op)
    s = service(op)
    allow(op, API, "svc")                       # the audience only
    t = cc_ok(s, resource=API)
    assert "scope" not in t
    assert "scope" not in jwt_parts(t["access_token"])[1]
    assert_oauth_error(cc(s, resource=API, scope="read"), 400, "invalid_scope")


# --- which resource ------------------------------------------------------------------------

def test_the_only_allowed_resource_is_the_default(op, svc):
    t = cc_ok(svc)
    assert jwt_parts(t["access_token"])[1]["aud"] == API


def test_resource_is_required_when_the_client_has_several(op, svc):
    resource(op, OTHER, "pay")
    allow(op, OTHER, "svc", "pay")
    r = cc(svc)
    assert_oauth_error(r, 400, "invalid_target")
    assert "resource" in r.json().get("error_description", "")
    assert jwt_parts(cc_ok(svc, resource=OTHER)["access_token"])[1]["aud"] == OTHER


def test_resource_is_required_when_the_client_has_none(op):
    resource(op)
    s = service(op)
    assert_oauth_error(cc(s), 400, "invalid_target")


def test_unknown_resource_is_invalid_target(op, svc):
    for rid in ("https://unknown.example/", "https://api.example", "https://API.example/",
                "https://api.example/#x", "https://api.example/x", "api.example", "x" * 2000):
        assert_oauth_error(cc(svc, resource=rid), 400, "invalid_target")


def test_resource_the_client_may_not_use_is_invalid_target(op, svc):
    resource(op, OTHER, "pay")
    billing = service(op, "billing")
    allow(op, OTHER, "billing", "pay")
    assert_oauth_error(cc(svc, resource=OTHER), 400, "invalid_target")
    assert_oauth_error(cc(billing, resource=API), 400, "invalid_target")
    assert cc_ok(billing, resource=OTHER)["scope"] == "pay"


def test_disallowed_client_gets_no_more_tokens(op, svc):
    cc_ok(svc, resource=API)
    op.gh.ok("resource", "disallow", API, "svc")
    assert_oauth_error(cc(svc, resource=API), 400, "invalid_target")


def test_two_resource_parameters_are_invalid_request(op, svc):
    # one resource per request: the form parser refuses a repeated parameter (RFC 6749 §3.2)
    resource(op, OTHER, "pay")
    allow(op, OTHER, "svc", "pay")
    r = op.post("/token", data=[("grant_type", "client_credentials"), ("resource", API),
                                ("resource", OTHER)],
                headers={"Authorization": basic_auth("svc", svc.secret)})
    assert_oauth_error(r, 400, "invalid_request")


# --- who may use the grant -----------------------------------------------------------------

def test_public_client_is_unauthorized_client(op):
    resource(op)
    spa = op.client("spa", public=True)
    op.gh.run("resource", "allow", API, "spa", "--scopes", "read")   # whether or not the CLI
                                                                      # lets it: refused anyway
    assert_oauth_error(cc(spa, resource=API), 400, "unauthorized_client")


def test_client_without_the_grant_type_is_unauthorized_client(op):
    resource(op)
    shop = op.client("shop")                    # authorization_code refresh_token
    op.gh.run("resource", "allow", API, "shop", "--scopes", "read")   # (see above)
    assert_oauth_error(cc(shop, resource=API), 400, "unauthorized_client")


def test_client_credentials_needs_client_authentication(op, svc):
    r = op.post("/token", data={"grant_type": "client_credentials", "resource": API})
    assert_oauth_error(r, 401, "invalid_client")
    r = op.post("/token", data={"grant_type": "client_credentials", "resource": API,
                                "client_id": "svc"})
    assert_oauth_error(r, 401, "invalid_client")
    r = op.post("/token", data={"grant_type": "client_credentials", "resource": API},
                headers={"Authorization": basic_auth("svc", svc.secret[:-1] + "x")})
    assert_oauth_error(r, 401, "invalid_client")
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic")


def test_a_grant_type_not_registered_is_refused_before_the_resource_is_looked_at(op):
    # unauthorized_client whatever the resource: no oracle for which resources exist
    resource(op)
    shop = op.client("shop")
    for rid in (API, "https://unknown.example/"):
        assert_oauth_error(cc(shop, resource=rid), 400, "unauthorized_client")


# --- userinfo ------------------------------------------------------------------------------

def assert_invalid_token(r):
    assert r.status_code == 401, f"want 401, got {r.status_code}: {r.text[:300]}"
    assert 'error="invalid_token"' in r.headers.get("WWW-Authenticate", "")


def test_userinfo_refuses_a_client_credentials_token(op, svc):
    assert_invalid_token(op.userinfo(cc_ok(svc, resource=API)["access_token"]))


def test_userinfo_refuses_it_even_with_openid_scope_and_the_issuer_as_audience(op, svc):
    # `resource add` refuses the openid scope, so a client cannot get one; the strongest
    # forgery imaginable (our own signature, aud = the issuer, scope openid) still fails at
    # userinfo: its jti names no grant and its sub is no user.
    tok = cc_ok(svc, resource=API)["access_token"]
    kid = jwt_parts(tok)[0]["kid"]
    forged = resign_rs256(tok, op.gh.key_pem(kid),
                          claims={"aud": op.issuer, "scope": "openid"})
    assert_invalid_token(op.userinfo(forged))
    assert_invalid_token(op.userinfo(forged, method="POST"))


def test_discovery_lists_the_grant(op):
    d = op.get("/.well-known/openid-configuration").json()
    assert "client_credentials" in d["grant_types_supported"]
    assert "password" not in d["grant_types_supported"]
