"""GET/POST /authorize before anyone signs in: discovery of the flow endpoints; an error page
(never a redirect) until client_id and redirect_uri are established; RFC 6749 §4.1.2.1 error
redirects (with state and RFC 9207 iss) afterwards; the login page and its binding cookie."""
import urllib.parse

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import (  # noqa: E402
    RP, assert_cookie_attrs, assert_html_error, assert_html_headers, assert_login_page,
    parse_html, pkce_pair, query_of)

pytest_plugins = ["oidc"]   # fixtures: op, users_template

ISSUER = "http://127.0.0.1:1"


def test_discovery_lists_the_flow_endpoints_and_capabilities(start_server):
    s = start_server(issuer=ISSUER)
    r = s.get("/.well-known/openid-configuration")
    assert r.status_code == 200
    d = r.json()
    assert d["authorization_endpoint"] == ISSUER + "/authorize"
    assert d["token_endpoint"] == ISSUER + "/token"
    assert d["userinfo_endpoint"] == ISSUER + "/userinfo"
    assert d["end_session_endpoint"] == ISSUER + "/logout"
    assert d["response_types_supported"] == ["code"]
    assert d["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", "refresh_token"} <= set(d["grant_types_supported"])
    assert "implicit" not in d["grant_types_supported"]
    assert {"client_secret_basic", "client_secret_post", "none"} <= \
        set(d["token_endpoint_auth_methods_supported"])
    assert d["authorization_response_iss_parameter_supported"] is True


# --- before the client and its redirect_uri are known: an error page, nothing sent away ----

BAD_TARGETS = {
    "unknown client": {"client_id": "nobody"},
    "no client_id": {"client_id": None},
    "malformed client_id": {"client_id": "shop shop"},
    "no redirect_uri": {"redirect_uri": None},
    "unregistered redirect_uri": {"redirect_uri": "https://evil.example/cb"},
    "trailing slash": {"redirect_uri": RP + "/"},
    "different case in the host": {"redirect_uri": "https://RP.example/cb"},
    "different case in the path": {"redirect_uri": "https://rp.example/CB"},
    "extra query": {"redirect_uri": RP + "?next=https://evil.example"},
    "http instead of https": {"redirect_uri": "http://rp.example/cb"},
    "explicit port": {"redirect_uri": "https://rp.example:443/cb"},
    "fragment": {"redirect_uri": RP + "#x"},
    "percent-encoded path": {"redirect_uri": "https://rp.example/%63b"},
    "path traversal": {"redirect_uri": "https://rp.example/cb/../cb"},
    "userinfo": {"redirect_uri": "https://rp.example@evil.example/cb"},
}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unestablished_client_or_redirect_uri_gets_an_error_page_never_a_redirect(op, method):
    shop = op.client("shop")
    b = op.browser()
    for what, params in BAD_TARGETS.items():
        # a request that is otherwise fine (the login page would follow), and one that also
        # carries an error the client would otherwise be told about
        for rt in ("code", "token"):
            a = b.authorize(shop, method=method, response_type=rt, **params)
            assert a.r.status_code == 400, f"{what}, {rt}: {a.r.status_code} {a.r.headers}"
            assert_html_error(a.r, 400)
            assert_html_headers(a.r)


def test_error_page_does_not_reflect_the_redirect_uri_as_a_link(op):
    op.client("shop")
    b = op.browser()
    r = b.get("/authorize", params={"client_id": "shop", "response_type": "code",
                                    "redirect_uri": "javascript:alert(1)//"})
    assert_html_error(r, 400)
    assert "javascript:" not in r.text.lower()


# --- after that: errors go back to the client ----------------------------------------------

def test_unsupported_response_type_goes_back_to_the_client(op):
    a = op.browser().authorize(op.client("shop"), response_type="token")
    assert a.error()["error"] == "unsupported_response_type"


def test_id_token_response_type_is_unsupported(op):
    a = op.browser().authorize(op.client("shop"), response_type="code id_token")
    assert a.error()["error"] == "unsupported_response_type"


def test_scope_the_client_may_not_ask_for_is_dropped_not_granted(op):
    """OIDC Core §3.1.2.1: unknown scopes SHOULD be ignored; RFC 6749 §3.3: the token
    response says what was granted."""
    shop, alice = op.client("shop", "--scopes", "openid,profile"), op.user("alice")
    b = op.browser()
    a, code = b.sign_in(shop, alice, scope="openid email address")
    t = shop.redeem_ok(code, a.verifier)
    assert t["scope"] == "openid"
    assert "email" not in op.userinfo(t["access_token"]).json()


def test_request_with_no_allowed_scope_is_invalid_scope(op):
    shop = op.client("shop", "--scopes", "openid,profile")
    a = op.browser().authorize(shop, scope="email admin")
    assert a.error()["error"] == "invalid_scope"


@pytest.mark.parametrize("public", [False, True], ids=["confidential", "public"])
def test_missing_pkce_challenge_is_invalid_request(op, public):
    c = op.client("app", public=public)
    a = op.browser().authorize(c, pkce=False)
    assert a.error()["error"] == "invalid_request"


def test_plain_pkce_method_is_invalid_request(op):
    verifier, _ = pkce_pair()
    a = op.browser().authorize(op.client("shop"), pkce=False, code_challenge=verifier,
                               code_challenge_method="plain")
    assert a.error()["error"] == "invalid_request"


def test_challenge_without_method_is_invalid_request(op):
    # RFC 7636 §4.3 would default to plain, which is not supported
    _, challenge = pkce_pair()
    a = op.browser().authorize(op.client("shop"), pkce=False, code_challenge=challenge)
    assert a.error()["error"] == "invalid_request"


def test_method_without_challenge_is_invalid_request(op):
    a = op.browser().authorize(op.client("shop"), pkce=False, code_challenge_method="S256")
    assert a.error()["error"] == "invalid_request"


def test_malformed_challenge_is_invalid_request(op):
    a = op.browser().authorize(op.client("shop"), code_challenge="too-short")
    assert a.error()["error"] == "invalid_request"


def test_pkce_optional_client_may_leave_out_the_challenge(op):
    shop = op.client("shop", "--pkce-optional")
    a = op.browser().authorize(shop, pkce=False)
    assert_login_page(a.r)


def test_request_object_is_request_not_supported(op):
    a = op.browser().authorize(op.client("shop"), request="eyJhbGciOiJub25lIn0.e30.")
    assert a.error()["error"] == "request_not_supported"


def test_request_uri_is_request_uri_not_supported(op):
    a = op.browser().authorize(op.client("shop"), request_uri="https://rp.example/req.jwt")
    assert a.error()["error"] == "request_uri_not_supported"


def test_prompt_none_without_a_session_is_login_required(op):
    a = op.browser().authorize(op.client("shop"), prompt="none")
    assert a.error()["error"] == "login_required"


def test_error_redirect_returns_state_exactly_and_keeps_the_registered_query(op):
    rp = "https://rp.example/cb?tenant=a%20b&x=1"
    shop = op.client("shop", redirect_uri=rp)
    state = "a b&c=d/é+%?#"
    a = op.browser().authorize(shop, response_type="token", state=state)
    assert a.r.status_code == 302
    loc = a.r.headers["Location"]
    assert loc.startswith(rp + "&"), f"the registered query must be kept verbatim: {loc}"
    q = query_of(loc)
    assert q["tenant"] == "a b" and q["x"] == "1"
    assert q["state"] == state
    assert q["error"] == "unsupported_response_type"
    assert q["iss"] == op.issuer


def test_error_redirect_without_state_carries_no_state(op):
    a = op.browser().authorize(op.client("shop"), response_type="token", state=None)
    q = a.error()
    assert "state" not in q


# --- no session: the login page ------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_without_a_session_the_login_page_is_shown(op, method):
    b = op.browser()
    a = b.authorize(op.client("shop"), method=method)
    f = assert_login_page(a.r)
    assert f["fields"]["interaction"] and f["fields"]["csrf"]
    assert f["fields"]["password"] == ""
    kinds = {i.get("name"): i.get("type") for i in parse_html(a.r.text).forms[0]["inputs"]}
    assert kinds["interaction"] == "hidden" and kinds["csrf"] == "hidden"
    assert kinds["password"] == "password"
    assert_html_headers(a.r)


def test_login_page_sets_the_binding_cookie(op):
    b = op.browser()
    a = b.authorize(op.client("shop"))
    assert_login_page(a.r)
    assert set(b.last_set_cookies) == {"gh_login"}, b.last_set_cookies
    c = b.last_set_cookies["gh_login"]
    assert_cookie_attrs(c)
    assert len(c.value) >= 32, "the binding cookie must be an unguessable random id"
    assert "gh_session" not in b.cookies


def test_binding_cookie_is_random_per_browser(op):
    shop = op.client("shop")
    b1, b2 = op.browser(), op.browser()
    b1.authorize(shop)
    b2.authorize(shop)
    assert b1.cookies["gh_login"] != b2.cookies["gh_login"]


def test_binding_cookie_is_kept_across_authorize_requests(op):
    shop = op.client("shop")
    b = op.browser()
    b.authorize(shop)
    first = b.cookies["gh_login"]
    a = b.authorize(shop)
    assert_login_page(a.r)
    assert b.cookies["gh_login"] == first


def test_login_hint_prefills_the_username(op):
    a = op.browser().authorize(op.client("shop"), login_hint="alice")
    f = assert_login_page(a.r)
    assert f["fields"]["username"] == "alice"


def test_login_hint_is_html_escaped(op):
    hint = '"><script>alert(1)</script><input name="x'
    a = op.browser().authorize(op.client("shop"), login_hint=hint)
    f = assert_login_page(a.r)
    assert f["fields"]["username"] == hint, "the hint must round-trip as an attribute value"
    assert "<script>alert(1)" not in a.r.text
    assert "x" not in f["fields"]


def test_client_name_on_the_login_page_is_html_escaped(op):
    shop = op.client("shop", "--name", "<img src=x onerror=alert(1)>")
    a = op.browser().authorize(shop)
    assert_login_page(a.r)
    assert "<img src=x" not in a.r.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in a.r.text


def test_unknown_parameters_are_ignored(op):
    a = op.browser().authorize(op.client("shop"), foo="bar", claims_locales="de")
    assert_login_page(a.r)


def test_duplicate_parameter_is_not_a_redirect_to_a_second_uri(op):
    op.client("shop")
    b = op.browser()
    _, challenge = pkce_pair()
    qs = urllib.parse.urlencode([("client_id", "shop"), ("redirect_uri", RP),
                                 ("redirect_uri", "https://evil.example/cb"),
                                 ("response_type", "code"), ("scope", "openid"),
                                 ("code_challenge", challenge),
                                 ("code_challenge_method", "S256")])
    r = b.get("/authorize?" + qs)
    assert_html_error(r, 400)


def test_error_page_has_no_login_form(op):
    b = op.browser()
    r = b.get("/authorize", params={"client_id": "nobody", "redirect_uri": RP,
                                    "response_type": "code"})
    assert_html_error(r, 400)
    assert not parse_html(r.text).forms
