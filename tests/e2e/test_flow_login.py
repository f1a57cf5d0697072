"""POST /login and POST /consent: a session only for the right password, the same answer for
every wrong one (no user enumeration), forms that only count when posted from the page this
browser was given (CSRF token + binding cookie), a new session id at every login, and the
consent page (deny, allow, remembered, prompt=consent)."""
import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import (  # noqa: E402
    alert_of, assert_cookie_attrs, assert_html_error, assert_html_headers, assert_login_page,
    base_of, form_of, query_of)

pytest_plugins = ["oidc"]   # fixtures: op, users_template

GENERIC = "Wrong username or password."


def test_right_password_gives_a_session_and_a_code(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    a = b.authorize(shop)
    r = b.login(a.r, alice)
    assert r.status_code == 303, f"{r.status_code} {r.text[:500]}"
    code = a.code(r, status=303)
    assert len(code) >= 32
    assert set(b.last_set_cookies) >= {"gh_session"}, b.last_set_cookies
    c = b.last_set_cookies["gh_session"]
    assert_cookie_attrs(c)
    assert not c.cleared and len(c.value) >= 32


def test_session_cookie_is_not_the_binding_cookie(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    a = b.authorize(shop)
    b.login(a.r, alice)
    assert b.cookies["gh_session"] != b.cookies.get("gh_login")


def test_wrong_password_unknown_user_and_disabled_user_get_the_same_answer(op):
    shop, alice = op.client("shop"), op.user("alice")
    op.user("mallory")
    op.gh.ok("user", "disable", "mallory")
    answers = {}
    for who, username, password in (("wrong password", "alice", "not the right password!"),
                                    ("unknown user", "nobody", alice.password),
                                    ("disabled user", "mallory", alice.password)):
        b = op.browser()
        a = b.authorize(shop)
        r = b.login(a.r, username=username, password=password)
        assert_login_page(r)
        assert_html_headers(r)
        assert "gh_session" not in b.last_set_cookies, f"{who}: a session cookie was set"
        assert "gh_session" not in b.cookies
        assert alert_of(r) == GENERIC, f"{who}: {alert_of(r)!r}"
        assert form_of(r, "/login")["fields"]["password"] == "", "the password is never echoed"
        assert password not in r.text
        answers[who] = (r.status_code, alert_of(r))
    assert len(set(answers.values())) == 1, answers


def test_failed_login_keeps_the_typed_username(op):
    shop = op.client("shop")
    b = op.browser()
    a = b.authorize(shop)
    r = b.login(a.r, username="alice", password="wrong password, sorry!")
    assert form_of(r, "/login")["fields"]["username"] == "alice"


def test_right_password_after_a_wrong_one_on_the_same_form_works(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    a = b.authorize(shop)
    r = b.login(a.r, username="alice", password="wrong password, sorry!")
    assert_login_page(r)
    r = b.login(r, alice)
    a.code(r, status=303)


@pytest.mark.parametrize("csrf", [None, "", "forged" * 8, "A" * 43],
                         ids=["missing", "empty", "forged", "well-formed-but-wrong"])
def test_login_without_the_right_csrf_token_is_refused(op, csrf):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    a = b.authorize(shop)
    r = b.login(a.r, alice, csrf=csrf)
    assert_html_error(r, 403)
    assert_html_headers(r)
    assert "gh_session" not in b.last_set_cookies
    assert "gh_session" not in b.cookies


def test_login_without_the_binding_cookie_is_refused(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    a = b.authorize(shop)
    del b.cookies["gh_login"]
    r = b.login(a.r, alice)
    assert_html_error(r, 403)
    assert "gh_session" not in b.last_set_cookies


def test_login_with_another_binding_cookie_is_refused(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    a = b.authorize(shop)
    b.cookies["gh_login"] = "A" * 43
    r = b.login(a.r, alice)
    assert_html_error(r, 403)
    assert "gh_session" not in b.last_set_cookies


def test_login_form_of_another_browser_is_refused(op):
    # login CSRF: the attacker starts a sign-in in their browser and makes the victim's
    # browser post that form (with the victim's own binding cookie)
    shop, alice = op.client("shop"), op.user("alice")
    attacker, victim = op.browser(), op.browser()
    a = attacker.authorize(shop)
    victim.authorize(shop)                         # the victim has a binding cookie of its own
    assert victim.cookies["gh_login"] != attacker.cookies["gh_login"]
    r = victim.login(a.r, alice)
    assert_html_error(r, 403)
    assert "gh_session" not in victim.last_set_cookies


def test_csrf_token_of_one_interaction_does_not_fit_another(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    a1 = b.authorize(shop)
    a2 = b.authorize(shop)
    f1, f2 = form_of(a1.r, "/login")["fields"], form_of(a2.r, "/login")["fields"]
    assert f1["interaction"] != f2["interaction"]
    r = b.login(a1.r, alice, csrf=f2["csrf"])
    assert_html_error(r, 403)
    assert "gh_session" not in b.last_set_cookies


def test_made_up_interaction_is_refused(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    a = b.authorize(shop)
    r = b.login(a.r, alice, interaction="A" * 43)
    assert r.status_code in (400, 403), r.status_code
    assert_html_error(r, r.status_code)
    assert "gh_session" not in b.last_set_cookies


def test_login_mints_a_new_session_id_fixation_is_impossible(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    planted = "P" * 43
    b.cookies["gh_session"] = planted
    a = b.authorize(shop)
    assert_login_page(a.r)
    b.login(a.r, alice)
    assert b.cookies["gh_session"] != planted


def test_login_as_someone_else_ends_the_previous_session(op):
    shop, alice, bob = op.client("shop"), op.user("alice"), op.user("bob")
    b = op.browser()
    b.sign_in(shop, alice)
    alice_cookie = b.cookies["gh_session"]
    a = b.authorize(shop, prompt="login")
    assert_login_page(a.r)
    b.login(a.r, bob)
    assert b.cookies["gh_session"] != alice_cookie
    # the old session id is dead: a browser replaying it must sign in again
    other = op.browser()
    other.cookies["gh_session"] = alice_cookie
    assert_login_page(other.authorize(shop).r)


def test_login_get_is_not_a_form_submission(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    a = b.authorize(shop)
    f = form_of(a.r, "/login")["fields"]
    r = b.get("/login", params={**f, "username": "alice", "password": alice.password})
    assert r.status_code in (404, 405), r.status_code
    assert "gh_session" not in b.last_set_cookies


# --- consent ---------------------------------------------------------------------------

def consent_page(op, b, client, user, **params):
    a = b.authorize(client, **params)
    r = b.login(a.r, user)
    assert r.status_code == 200, f"want the consent page, got {r.status_code} " \
                                 f"{r.headers.get('Location')}"
    f = form_of(r, "/consent")
    assert set(f["fields"]) >= {"interaction", "csrf"}, f
    assert ("decision", "allow") in f["buttons"] and ("decision", "deny") in f["buttons"]
    assert_html_headers(r)
    return a, r


def test_consent_client_shows_the_consent_page_after_login(op):
    shop, alice = op.client("shop", "--consent", "--name", "The Shop"), op.user("alice")
    b = op.browser()
    _, r = consent_page(op, b, shop, alice)
    assert "The Shop" in r.text
    assert "gh_session" in b.last_set_cookies, "the login succeeded: the session starts"


def test_consent_deny_is_access_denied(op):
    shop, alice = op.client("shop", "--consent"), op.user("alice")
    b = op.browser()
    a, page = consent_page(op, b, shop, alice)
    r = b.consent(page, "deny")
    assert r.status_code == 303
    assert a.error(r, status=303)["error"] == "access_denied"


def test_consent_allow_gives_a_code_and_is_remembered(op):
    shop, alice = op.client("shop", "--consent"), op.user("alice")
    b = op.browser()
    a, page = consent_page(op, b, shop, alice)
    r = b.consent(page, "allow")
    code = a.code(r, status=303)
    shop.redeem_ok(code, a.verifier)
    # the same scopes again: straight to a code
    a2 = b.authorize(shop)
    a2.code(status=302)


def test_consent_for_fewer_scopes_is_covered_by_the_remembered_one(op):
    shop, alice = op.client("shop", "--consent"), op.user("alice")
    b = op.browser()
    a, page = consent_page(op, b, shop, alice)
    a.code(b.consent(page, "allow"))
    b.authorize(shop, scope="openid email").code(status=302)


def test_consent_for_more_scopes_asks_again(op):
    shop, alice = op.client("shop", "--consent"), op.user("alice")
    b = op.browser()
    a, page = consent_page(op, b, shop, alice, scope="openid")
    a.code(b.consent(page, "allow"))
    r = b.authorize(shop, scope="openid email").r
    assert r.status_code == 200
    form_of(r, "/consent")


def test_denied_consent_is_not_remembered(op):
    shop, alice = op.client("shop", "--consent"), op.user("alice")
    b = op.browser()
    a, page = consent_page(op, b, shop, alice)
    a.error(b.consent(page, "deny"), status=303)
    r = b.authorize(shop).r
    assert r.status_code == 200
    form_of(r, "/consent")


def test_prompt_consent_shows_the_page_again(op):
    shop, alice = op.client("shop", "--consent"), op.user("alice")
    b = op.browser()
    a, page = consent_page(op, b, shop, alice)
    a.code(b.consent(page, "allow"))
    a2 = b.authorize(shop, prompt="consent")
    assert a2.r.status_code == 200
    page2 = a2.r
    form_of(page2, "/consent")
    a2.code(b.consent(page2, "allow"), status=303)


def test_prompt_none_with_a_session_but_no_consent_is_consent_required(op):
    shop, alice = op.client("shop", "--consent"), op.user("alice")
    b = op.browser()
    a, page = consent_page(op, b, shop, alice)
    # leave the consent page unanswered, then ask silently
    a2 = b.authorize(shop, prompt="none")
    assert a2.error()["error"] == "consent_required"


def test_client_without_consent_flag_skips_the_consent_page(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    a = b.authorize(shop)
    a.code(b.login(a.r, alice), status=303)


@pytest.mark.parametrize("csrf", [None, "forged" * 8], ids=["missing", "forged"])
def test_consent_without_the_right_csrf_token_gives_no_code(op, csrf):
    shop, alice = op.client("shop", "--consent"), op.user("alice")
    b = op.browser()
    _, page = consent_page(op, b, shop, alice)
    r = b.consent(page, "allow", csrf=csrf)
    assert_html_error(r, 403)


def test_consent_form_of_another_browser_gives_no_code(op):
    shop, alice = op.client("shop", "--consent"), op.user("alice")
    attacker, victim = op.browser(), op.browser()
    _, page = consent_page(op, attacker, shop, alice)
    victim.sign_in(op.client("other"), op.user("victim"))     # the victim has cookies too
    r = victim.consent(page, "allow")
    assert_html_error(r, 403)


def test_code_redirect_goes_to_the_registered_uri_only(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    a = b.authorize(shop)
    r = b.login(a.r, alice)
    loc = r.headers["Location"]
    assert base_of(loc) == shop.redirect_uri
    assert set(query_of(loc)) == {"code", "state", "iss"}
