"""Signing a user out everywhere (ASVS 7.4.2, 7.4.3; SECURITY.md S7, S8): `gatehouse user
passwd` and `gatehouse user disable` end the user's sessions and revoke every refresh and
access token issued to them at once, not when they expire; other users keep theirs."""
import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import assert_login_page, assert_oauth_error  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: op, users_template

NEW_PASSWORD = "a completely different passphrase 42"


def signed_in(op, shop, user):
    b = op.browser()
    return b, b.tokens(shop, user)


def assert_revoked(op, shop, b, t):
    assert_login_page(b.authorize(shop).r)              # the session is gone
    r = op.userinfo(t["access_token"])
    assert r.status_code == 401, r.text                   # the access token is revoked
    assert 'error="invalid_token"' in r.headers.get("WWW-Authenticate", "")
    assert_oauth_error(shop.refresh(t["refresh_token"]), 400, "invalid_grant")


def assert_alive(op, shop, b, t):
    assert b.authorize(shop).code(status=302)
    assert op.userinfo(t["access_token"]).status_code == 200
    assert shop.refresh(t["refresh_token"]).status_code == 200


def test_password_change_signs_the_user_out_everywhere(op):
    shop, alice, bob = op.client("shop"), op.user("alice"), op.user("bob")
    b1, t1 = signed_in(op, shop, alice)
    b2, t2 = signed_in(op, shop, alice)          # a second browser, a second family
    b3, t3 = signed_in(op, shop, bob)
    out = op.gh.ok("user", "passwd", "alice", "--password-stdin", input=NEW_PASSWORD + "\n")
    assert "revoked" in out, out
    assert_revoked(op, shop, b1, t1)
    assert_revoked(op, shop, b2, t2)
    assert_alive(op, shop, b3, t3)
    # the new password works, the old one does not
    b4 = op.browser()
    page = b4.authorize(shop).r
    r = b4.login(page, username="alice", password=alice.password)
    assert_login_page(r)
    r = b4.login(r, username="alice", password=NEW_PASSWORD)
    assert r.status_code == 303, r.text


def test_disabling_a_user_ends_sessions_and_tokens_now(op):
    shop, alice, bob = op.client("shop"), op.user("alice"), op.user("bob")
    b1, t1 = signed_in(op, shop, alice)
    b2, t2 = signed_in(op, shop, bob)
    op.gh.ok("user", "disable", "alice")
    assert_revoked(op, shop, b1, t1)
    assert_alive(op, shop, b2, t2)
    # enabling again does not bring the old tokens back
    op.gh.ok("user", "enable", "alice")
    assert op.userinfo(t1["access_token"]).status_code == 401
    assert_oauth_error(shop.refresh(t1["refresh_token"]), 400, "invalid_grant")
    assert_login_page(b1.authorize(shop).r)
