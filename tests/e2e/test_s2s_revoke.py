"""POST /revoke (RFC 7009): a client authenticated as at /token revokes one of its tokens. A
refresh token revokes its whole grant (every refresh and access token from it); an access token
goes on the deny list until it expires. Userinfo, introspection and the token endpoint honour
it at once. A token of another client, an unknown, malformed or already revoked one: 200 and
nothing happens (§2.2). The answer is always 200 with the body "{}"."""
import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import assert_oauth_error, basic_auth, jwt_parts  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: op, users_template

API = "https://api.example/"


def service(op, client_id, *args, **kw):
    return op.client(client_id, "--grant-types", "client_credentials", *args,
                     redirect_uri=None, **kw)


def cc_token(client, **params) -> str:
    r = client.token({"grant_type": "client_credentials", **params})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def post_as(client, path, data, auth=True):
    data = {k: v for k, v in data.items() if v is not None}
    headers = {}
    if auth:
        client.auth(data, headers)
    return client.op.post(path, data=data, headers=headers)


def revoke(client, token, **extra):
    """/revoke as client: must answer 200 "{}" whatever the token."""
    r = post_as(client, "/revoke", {"token": token, **extra})
    assert r.status_code == 200, f"revoke: {r.status_code} {r.text}"
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    assert "no-store" in r.headers["Cache-Control"], r.headers
    assert r.content == b"{}", r.content
    return r


def active(introspector, token) -> bool:
    r = post_as(introspector, "/introspect", {"token": token})
    assert r.status_code == 200, r.text
    return r.json()["active"]


@pytest.fixture
def s2s(op):
    """(svc: client_credentials at API with read, rs: a confidential client that introspects)."""
    op.gh.ok("resource", "add", API, "--scopes", "read,write")
    svc = service(op, "svc")
    op.gh.ok("resource", "allow", API, "svc", "--scopes", "read")
    return svc, service(op, "api-rs")


def user_tokens(op, client=None, user="alice"):
    """(client, the token response of a fresh sign-in of user at it); shop by default."""
    shop = client or op.client("shop")
    users = op.__dict__.setdefault("s2s_users", {})   # op.user() makes each user once
    if user not in users:
        users[user] = op.user(user)
    return shop, op.browser().tokens(shop, users[user])


def assert_userinfo_401(op, token):
    r = op.userinfo(token)
    assert r.status_code == 401, r.text
    assert 'error="invalid_token"' in r.headers.get("WWW-Authenticate", "")


# --- refresh tokens ------------------------------------------------------------------------

def test_revoking_a_refresh_token_revokes_its_grant(op, s2s):
    _, rs = s2s
    shop, t = user_tokens(op)
    t2 = shop.refresh(t["refresh_token"]).json()             # a second generation
    assert op.userinfo(t2["access_token"]).status_code == 200
    revoke(shop, t2["refresh_token"])
    assert_oauth_error(shop.refresh(t2["refresh_token"]), 400, "invalid_grant")
    # every access token of the grant, old and new
    for at in (t["access_token"], t2["access_token"]):
        assert_userinfo_401(op, at)
        assert not active(rs, at)
    assert not active(shop, t2["refresh_token"])


def test_revoking_a_refresh_token_spares_other_grants(op, s2s):
    shop, t1 = user_tokens(op)
    _, t2 = user_tokens(op, client=shop)                      # a second login, same user
    revoke(shop, t1["refresh_token"])
    assert op.userinfo(t2["access_token"]).status_code == 200
    assert shop.refresh(t2["refresh_token"]).status_code == 200


def test_public_client_revokes_its_own_refresh_token(op):
    spa = op.client("spa", public=True)
    _, t = user_tokens(op, client=spa)
    revoke(spa, t["refresh_token"])
    assert_oauth_error(spa.refresh(t["refresh_token"]), 400, "invalid_grant")
    assert_userinfo_401(op, t["access_token"])


# --- access tokens -------------------------------------------------------------------------

def test_revoking_a_users_access_token_denies_it_alone(op, s2s):
    _, rs = s2s
    shop, t = user_tokens(op)
    _, other = user_tokens(op, client=shop)
    revoke(shop, t["access_token"])
    assert_userinfo_401(op, t["access_token"])
    assert_userinfo_401(op, t["access_token"])               # and it stays so
    assert not active(rs, t["access_token"])
    # the deny list holds that jti only: the grant, its refresh token and other tokens live
    assert op.userinfo(other["access_token"]).status_code == 200
    t2 = shop.refresh(t["refresh_token"])
    assert t2.status_code == 200, t2.text
    assert op.userinfo(t2.json()["access_token"]).status_code == 200


def test_revoking_a_client_credentials_token(op, s2s):
    svc, rs = s2s
    tok, other = cc_token(svc, resource=API), cc_token(svc, resource=API)
    assert active(rs, tok)
    revoke(svc, tok)
    assert not active(rs, tok)
    assert not active(svc, tok)
    assert active(rs, other)                                   # only that jti
    jti = jwt_parts(tok)[1]["jti"]
    assert op.gh.sql(f"SELECT count(*) FROM revoked_tokens WHERE jti = '{jti}'").strip() == "1"


def test_revoking_twice_is_fine(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    shop, t = user_tokens(op)
    revoke(svc, tok)
    revoke(svc, tok)
    revoke(shop, t["refresh_token"])
    revoke(shop, t["refresh_token"])
    assert not active(rs, tok)


def test_token_type_hint_is_ignored(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    revoke(svc, tok, token_type_hint="refresh_token")
    assert not active(rs, tok)
    shop, t = user_tokens(op)
    revoke(shop, t["refresh_token"], token_type_hint="access_token")
    assert_oauth_error(shop.refresh(t["refresh_token"]), 400, "invalid_grant")


# --- nothing happens -----------------------------------------------------------------------

def test_revoking_another_clients_tokens_does_nothing(op, s2s):
    svc, rs = s2s
    shop, t = user_tokens(op)
    thief = op.client("thief")
    tok = cc_token(svc, resource=API)
    before = op.gh.dump()
    for victim_token in (t["refresh_token"], t["access_token"], tok):
        revoke(thief, victim_token)
        revoke(rs, victim_token)
    assert op.gh.dump() == before
    assert op.userinfo(t["access_token"]).status_code == 200
    assert active(rs, tok)
    assert shop.refresh(t["refresh_token"]).status_code == 200


def test_public_client_cannot_revoke_others_tokens(op, s2s):
    svc, rs = s2s
    spa = op.client("spa", public=True)
    shop, t = user_tokens(op)
    revoke(spa, t["refresh_token"])
    revoke(spa, t["access_token"])
    assert op.userinfo(t["access_token"]).status_code == 200
    assert shop.refresh(t["refresh_token"]).status_code == 200


def test_unknown_and_malformed_tokens_are_200(op, s2s):
    svc, _ = s2s
    tok = cc_token(svc, resource=API)
    p = tok.split(".")
    before = op.gh.dump()
    for junk in ("x", "A" * 43, "A" * 44, "a.b.c", "...", "A" * 2000, p[0] + "." + p[1] + ".AAAA",
                 p[0] + "." + p[1] + "."):
        revoke(svc, junk)
    assert op.gh.dump() == before


def test_id_token_is_not_revocable(op, s2s):
    shop, t = user_tokens(op)
    before = op.gh.dump()
    revoke(shop, t["id_token"])
    assert op.gh.dump() == before
    assert op.userinfo(t["access_token"]).status_code == 200


# --- who may ask ---------------------------------------------------------------------------

def test_unauthenticated_caller_is_invalid_client(op, s2s):
    svc, rs = s2s
    tok = cc_token(svc, resource=API)
    assert_oauth_error(op.post("/revoke", data={"token": tok}), 401, "invalid_client")
    r = op.post("/revoke", data={"token": tok},
                headers={"Authorization": basic_auth("svc", svc.secret[:-1] + "x")})
    assert_oauth_error(r, 401, "invalid_client")
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic")
    r = op.post("/revoke", data={"token": tok, "client_id": "svc"})   # confidential, no secret
    assert_oauth_error(r, 401, "invalid_client")
    r = op.post("/revoke", data={"token": tok}, headers={"Authorization": f"Bearer {tok}"})
    assert_oauth_error(r, 401, "invalid_client")
    assert active(rs, tok)


def test_token_is_required(op, s2s):
    svc, _ = s2s
    assert_oauth_error(post_as(svc, "/revoke", {}), 400, "invalid_request")
    assert_oauth_error(post_as(svc, "/revoke", {"token": ""}), 400, "invalid_request")


def test_revocation_is_post_only(op, s2s):
    svc, _ = s2s
    r = op.get("/revoke", params={"token": "x"},
               headers={"Authorization": basic_auth("svc", svc.secret)})
    assert r.status_code == 405 and r.headers.get("Allow") == "POST"
