"""Single sign-on with the gh_session cookie (OIDC Core §3.1.2.1, §3.1.2.3): a code without a
form for any client, and the cases that must show the login form again or answer the client
without a page: prompt=login, max_age, prompt=none, id_token_hint for someone else."""
import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import (  # noqa: E402
    alert_of, assert_login_page, jwt_parts, parse_html, wait_next_second)

pytest_plugins = ["oidc"]   # fixtures: op, users_template


def test_session_gives_a_code_for_the_same_client_without_a_form(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    b.sign_in(shop, alice)
    a = b.authorize(shop)
    code = a.code(status=302)
    t = shop.redeem_ok(code, a.verifier)
    assert jwt_parts(t["id_token"])[1]["sub"] == alice.sub


def test_session_gives_a_code_for_another_client_without_a_form(op):
    shop, blog, alice = op.client("shop"), op.client("blog", public=True), op.user("alice")
    b = op.browser()
    first = b.tokens(shop, alice)
    a = b.authorize(blog)
    code = a.code(status=302)
    t = blog.redeem_ok(code, a.verifier)
    c1, c2 = jwt_parts(first["id_token"])[1], jwt_parts(t["id_token"])[1]
    assert c2["sub"] == alice.sub and c2["aud"] == "blog"
    assert c2["auth_time"] == c1["auth_time"], "SSO is not a new authentication"
    assert c2["sid"] == c1["sid"], "one browser session, one sid"


def test_sso_works_with_post_authorize(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    b.sign_in(shop, alice)
    a = b.authorize(shop, method="POST")
    a.code()   # 302, or 303 (RFC 9110 §15.4.4: the browser GETs the client's page)


def test_sso_into_a_consent_client_asks_for_consent_not_for_a_password(op):
    shop, wiki, alice = op.client("shop"), op.client("wiki", "--consent"), op.user("alice")
    b = op.browser()
    b.sign_in(shop, alice)
    a = b.authorize(wiki)
    assert a.r.status_code == 200
    assert not any(f["action"] == "/login" for f in parse_html(a.r.text).forms)
    r = b.consent(a.r, "allow")
    code = a.code(r, status=303)
    assert jwt_parts(wiki.redeem_ok(code, a.verifier)["id_token"])[1]["sub"] == alice.sub


def test_consent_page_via_sso_works_without_a_binding_cookie(op):
    # the session cookie outlived the binding cookie: the consent page sets a new one
    shop, wiki, alice = op.client("shop"), op.client("wiki", "--consent"), op.user("alice")
    b = op.browser()
    b.sign_in(shop, alice)
    del b.cookies["gh_login"]
    a = b.authorize(wiki)
    assert "gh_login" in b.last_set_cookies
    a.code(b.consent(a.r, "allow"), status=303)


def test_another_browser_does_not_share_the_session(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    b.sign_in(shop, alice)
    assert_login_page(op.browser().authorize(shop).r)


def test_forged_session_cookie_shows_the_login_form(op):
    shop = op.client("shop")
    b = op.browser()
    b.cookies["gh_session"] = "A" * 43
    assert_login_page(b.authorize(shop).r)


def test_prompt_login_forces_the_login_form(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    first = b.tokens(shop, alice)
    wait_next_second()
    a = b.authorize(shop, prompt="login")
    assert_login_page(a.r)
    code = a.code(b.login(a.r, alice), status=303)
    t = shop.redeem_ok(code, a.verifier)
    assert jwt_parts(t["id_token"])[1]["auth_time"] > jwt_parts(first["id_token"])[1]["auth_time"]


def test_max_age_0_after_a_second_forces_the_login_form(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    b.sign_in(shop, alice)
    wait_next_second()
    assert_login_page(b.authorize(shop, max_age="0").r)


def test_max_age_not_yet_exceeded_gives_a_code_and_auth_time(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    b.sign_in(shop, alice)
    a = b.authorize(shop, max_age="3600")
    code = a.code(status=302)
    claims = jwt_parts(shop.redeem_ok(code, a.verifier)["id_token"])[1]
    assert isinstance(claims["auth_time"], int)


def test_max_age_that_is_not_a_number_is_invalid_request(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    b.sign_in(shop, alice)
    assert b.authorize(shop, max_age="soon").error()["error"] == "invalid_request"


def test_prompt_none_with_a_session_gives_a_code(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    b.sign_in(shop, alice)
    b.authorize(shop, prompt="none").code(status=302)


def test_prompt_none_without_a_session_is_login_required(op):
    b = op.browser()
    a = b.authorize(op.client("shop"), prompt="none")
    assert a.error()["error"] == "login_required"
    assert "gh_session" not in b.cookies


def test_prompt_none_with_prompt_login_is_invalid_request(op):
    # OIDC Core §3.1.2.1: none with any other value is an error
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    b.sign_in(shop, alice)
    assert b.authorize(shop, prompt="none login").error()["error"] == "invalid_request"


def test_prompt_none_and_max_age_exceeded_is_login_required(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    b.sign_in(shop, alice)
    wait_next_second()
    a = b.authorize(shop, prompt="none", max_age="0")
    assert a.error()["error"] == "login_required"


def alice_and_bob_sessions(op):
    shop, alice, bob = op.client("shop"), op.user("alice"), op.user("bob")
    ba, bb = op.browser(), op.browser()
    alice_id_token = ba.tokens(shop, alice)["id_token"]
    bob_id_token = bb.tokens(shop, bob)["id_token"]
    return shop, ba, bb, alice_id_token, bob_id_token


def test_id_token_hint_of_another_user_with_prompt_none_is_login_required(op):
    shop, _, bob_browser, alice_idt, _ = alice_and_bob_sessions(op)
    a = bob_browser.authorize(shop, prompt="none", id_token_hint=alice_idt)
    assert a.error()["error"] == "login_required"


def test_id_token_hint_of_another_user_shows_the_login_form(op):
    shop, _, bob_browser, alice_idt, _ = alice_and_bob_sessions(op)
    a = bob_browser.authorize(shop, id_token_hint=alice_idt)
    assert_login_page(a.r)


def test_id_token_hint_of_the_session_user_gives_a_code(op):
    shop, _, bob_browser, _, bob_idt = alice_and_bob_sessions(op)
    bob_browser.authorize(shop, prompt="none", id_token_hint=bob_idt).code(status=302)


def test_tampered_id_token_hint_is_not_trusted(op):
    shop, alice_browser, _, alice_idt, bob_idt = alice_and_bob_sessions(op)
    # bob's header and signature around alice's claims: must not count as a hint for alice
    h, _, s = bob_idt.split(".")
    forged = ".".join((h, alice_idt.split(".")[1], s))
    a = alice_browser.authorize(shop, prompt="none", id_token_hint=forged)
    q = a.error()
    assert q["error"] in ("invalid_request", "login_required"), q


def test_session_of_a_disabled_user_gives_no_code(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    b.sign_in(shop, alice)
    op.gh.ok("user", "disable", "alice")
    a = b.authorize(shop)
    assert_login_page(a.r)
    r = b.login(a.r, alice)
    assert r.status_code == 200 and alert_of(r) == "Wrong username or password."
    assert b.authorize(shop, prompt="none").error()["error"] == "login_required"
