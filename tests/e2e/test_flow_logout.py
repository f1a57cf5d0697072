"""GET/POST /logout (OpenID Connect RP-Initiated Logout 1.0): an id_token_hint of the
session's user ends the session at once (cookie cleared, server-side session gone) and
returns to a registered post_logout_redirect_uri with state; anything else asks the user first
(CSRF-protected form); an unregistered return address is an error page, never a redirect."""
import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import (  # noqa: E402
    RP_LOGOUT, assert_html_error, assert_html_headers, assert_login_page, base_of, form_of,
    parse_html, query_of)

pytest_plugins = ["oidc"]   # fixtures: op, users_template


def signed_in(op, post_logout=True):
    args = ("--post-logout-redirect-uri", RP_LOGOUT) if post_logout else ()
    shop, alice = op.client("shop", *args), op.user("alice")
    b = op.browser()
    t = b.tokens(shop, alice)
    return shop, alice, b, t


def assert_session_alive(b, shop):
    b.authorize(shop, prompt="none").code(status=302)


def assert_session_gone(b, shop, cookie_value):
    assert_login_page(b.authorize(shop).r)
    # not only the cookie: the session id itself is dead on the server
    replay = b.op.browser()
    replay.cookies["gh_session"] = cookie_value
    assert replay.authorize(shop, prompt="none").error()["error"] == "login_required"


def assert_cookie_cleared(b):
    c = b.last_set_cookies.get("gh_session")
    assert c is not None, f"the session cookie was not cleared: {b.last_set_cookies}"
    assert c.attrs.get("max-age") == "0", c.raw
    assert c.attrs.get("path") == "/", c.raw
    assert "gh_session" not in b.cookies


def test_logout_with_hint_and_registered_uri_ends_the_session_and_returns_with_state(op):
    shop, _, b, t = signed_in(op)
    cookie = b.cookies["gh_session"]
    r = b.get("/logout", params={"id_token_hint": t["id_token"],
                                 "post_logout_redirect_uri": RP_LOGOUT, "state": "s t&a=te"})
    assert r.status_code == 302, f"{r.status_code} {r.text[:500]}"
    loc = r.headers["Location"]
    assert base_of(loc) == RP_LOGOUT
    assert query_of(loc) == {"state": "s t&a=te"}
    assert_cookie_cleared(b)
    assert_session_gone(b, shop, cookie)


def test_logout_with_hint_and_no_state_returns_without_state(op):
    shop, _, b, t = signed_in(op)
    r = b.get("/logout", params={"id_token_hint": t["id_token"],
                                 "post_logout_redirect_uri": RP_LOGOUT})
    assert r.status_code == 302
    assert r.headers["Location"] == RP_LOGOUT


def test_logout_with_hint_and_client_id_ends_the_session(op):
    shop, _, b, t = signed_in(op)
    cookie = b.cookies["gh_session"]
    r = b.get("/logout", params={"id_token_hint": t["id_token"], "client_id": "shop",
                                 "post_logout_redirect_uri": RP_LOGOUT, "state": "x"})
    assert r.status_code == 302 and base_of(r.headers["Location"]) == RP_LOGOUT
    assert_session_gone(b, shop, cookie)


def test_logout_with_hint_but_no_return_uri_shows_the_logged_out_page(op):
    shop, _, b, t = signed_in(op)
    cookie = b.cookies["gh_session"]
    r = b.get("/logout", params={"id_token_hint": t["id_token"]})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert not any(f["action"] == "/logout" for f in parse_html(r.text).forms)
    assert_html_headers(r)
    assert_cookie_cleared(b)
    assert_session_gone(b, shop, cookie)


@pytest.mark.parametrize("uri", ["https://evil.example/bye", RP_LOGOUT + "/",
                                 RP_LOGOUT + "?next=https://evil.example",
                                 "https://rp.example/cb"],
                         ids=["foreign", "trailing-slash", "extra-query", "redirect-uri"])
def test_unregistered_post_logout_uri_is_an_error_page_and_the_session_stays(op, uri):
    shop, _, b, t = signed_in(op)
    r = b.get("/logout", params={"id_token_hint": t["id_token"],
                                 "post_logout_redirect_uri": uri, "state": "x"})
    assert_html_error(r, 400)
    assert "gh_session" not in b.last_set_cookies
    assert_session_alive(b, shop)


def test_post_logout_uri_of_another_client_is_refused(op):
    shop, _, b, t = signed_in(op, post_logout=False)
    op.client("other", "--post-logout-redirect-uri", RP_LOGOUT)
    r = b.get("/logout", params={"id_token_hint": t["id_token"],
                                 "post_logout_redirect_uri": RP_LOGOUT})
    assert_html_error(r, 400)
    assert_session_alive(b, shop)


def test_post_logout_uri_without_hint_or_client_id_is_refused(op):
    shop, _, b, t = signed_in(op)
    r = b.get("/logout", params={"post_logout_redirect_uri": RP_LOGOUT})
    assert_html_error(r, 400)
    assert_session_alive(b, shop)


# --- no hint: ask first ------------------------------------------------------------------

def confirmation_page(b):
    r = b.get("/logout")
    assert r.status_code == 200, r.status_code
    assert r.headers["Content-Type"].startswith("text/html")
    assert_html_headers(r)
    f = form_of(r, "/logout")
    assert f["fields"].get("csrf"), f
    assert "gh_session" not in b.last_set_cookies, "showing the question must not sign out"
    return r, f


def test_logout_without_hint_asks_first_and_the_session_stays(op):
    shop, _, b, _ = signed_in(op)
    confirmation_page(b)
    assert_session_alive(b, shop)


def test_logout_hint_of_another_user_asks_first(op):
    shop, alice, b, _ = signed_in(op)
    bob_t = op.browser().tokens(shop, op.user("bob"))
    r = b.get("/logout", params={"id_token_hint": bob_t["id_token"]})
    assert r.status_code == 200
    form_of(r, "/logout")
    assert "gh_session" not in b.last_set_cookies
    assert_session_alive(b, shop)


@pytest.mark.parametrize("csrf", [None, "", "A" * 43], ids=["missing", "empty", "forged"])
def test_logout_post_without_the_right_csrf_keeps_the_session(op, csrf):
    shop, _, b, _ = signed_in(op)
    _, f = confirmation_page(b)
    data = dict(f["fields"])
    if csrf is None:
        del data["csrf"]
    else:
        data["csrf"] = csrf
    r = b.post("/logout", data)
    assert "gh_session" not in b.last_set_cookies or not b.last_set_cookies["gh_session"].cleared
    assert "gh_session" in b.cookies
    assert r.status_code in (200, 400, 403)
    assert_session_alive(b, shop)


def test_logout_csrf_of_another_session_keeps_the_session(op):
    # a third party gets a confirmation form for its own session and posts it from the victim
    shop, _, victim, _ = signed_in(op)
    attacker = op.browser()
    attacker.sign_in(shop, op.user("mallory"))
    _, f = confirmation_page(attacker)
    victim.post("/logout", dict(f["fields"]))
    assert "gh_session" in victim.cookies
    assert_session_alive(victim, shop)


def test_logout_post_with_the_right_csrf_ends_the_session(op):
    shop, _, b, _ = signed_in(op)
    cookie = b.cookies["gh_session"]
    _, f = confirmation_page(b)
    r = b.post("/logout", dict(f["fields"]))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert_cookie_cleared(b)
    assert_session_gone(b, shop, cookie)


def test_confirmed_logout_returns_to_the_registered_uri_with_state(op):
    shop, _, b, _ = signed_in(op)
    cookie = b.cookies["gh_session"]
    r = b.get("/logout", params={"client_id": "shop", "post_logout_redirect_uri": RP_LOGOUT,
                                 "state": "abc"})
    assert r.status_code == 200
    f = form_of(r, "/logout")
    r = b.post("/logout", dict(f["fields"]))
    assert r.status_code in (302, 303)
    assert base_of(r.headers["Location"]) == RP_LOGOUT
    assert query_of(r.headers["Location"]) == {"state": "abc"}
    assert_cookie_cleared(b)
    assert_session_gone(b, shop, cookie)


def test_logout_get_is_not_a_confirmation_even_with_the_csrf_token(op):
    shop, _, b, _ = signed_in(op)
    _, f = confirmation_page(b)
    r = b.get("/logout", params=dict(f["fields"]))
    assert r.status_code == 200
    assert "gh_session" in b.cookies
    assert_session_alive(b, shop)


# --- without a session -----------------------------------------------------------------

def test_logout_without_a_session_shows_the_logged_out_page(op):
    b = op.browser()
    r = b.get("/logout")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "Location" not in r.headers
    assert_html_headers(r)
    assert not any(f["action"] == "/logout" for f in parse_html(r.text).forms)


def test_after_logout_authorize_shows_the_login_form_and_login_works_again(op):
    shop, alice, b, t = signed_in(op)
    r = b.get("/logout", params={"id_token_hint": t["id_token"],
                                 "post_logout_redirect_uri": RP_LOGOUT})
    assert r.status_code == 302
    a = b.authorize(shop)
    assert_login_page(a.r)
    a.code(b.login(a.r, alice), status=303)


def test_tampered_id_token_hint_does_not_log_out(op):
    shop, _, b, t = signed_in(op)
    h, c, s = t["id_token"].split(".")
    forged = ".".join((h, c, ("B" if s[0] == "A" else "A") + s[1:]))
    r = b.get("/logout", params={"id_token_hint": forged,
                                 "post_logout_redirect_uri": RP_LOGOUT})
    assert "Location" not in r.headers
    assert "gh_session" in b.cookies
    assert_session_alive(b, shop)
