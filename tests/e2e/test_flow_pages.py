"""The pages people see during sign-in: every HTML answer carries the CSP, framing, referrer,
nosniff and no-store headers, and the stylesheet they link is served for a year with an
ETag (304 on If-None-Match). The error pages a person may meet (unknown application, a return
address that is not registered, a sign-in page left open too long) say what happened and what
to do in plain words, and show no internals and nothing of the request."""
import html
import re
import time

import pytest

from ghtest import FakeClock, raw_http

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import (assert_html_error, assert_html_headers, form_of, set_cookies,  # noqa: E402
                  start_op)

pytest_plugins = ["oidc"]   # fixtures: op, users_template

CSS = "/static/gatehouse.css"


def test_every_html_page_of_the_flow_carries_the_security_headers(op):
    shop = op.client("shop", "--consent")
    alice = op.user("alice")
    b = op.browser()
    pages = {}
    pages["error"] = b.get("/authorize", params={"client_id": "nobody"})
    a = b.authorize(shop)
    pages["login"] = a.r
    pages["login failed"] = b.login(a.r, username="alice", password="not the password!!")
    pages["consent"] = b.login(pages["login failed"], alice)
    form_of(pages["consent"], "/consent")
    pages["logout question"] = b.get("/logout")
    pages["forbidden form"] = b.post("/login", {"interaction": "x", "csrf": "y"})
    pages["logged out"] = op.browser().get("/logout")
    for name, r in pages.items():
        assert r.headers.get("Content-Type", "").startswith("text/html"), (name, r.headers)
        assert_html_headers(r)


def test_pages_use_no_inline_script_or_style(op):
    a = op.browser().authorize(op.client("shop"))
    text = a.r.text.lower()
    assert "<script" not in text and "<style" not in text and " style=" not in text
    assert not re.search(r"\son[a-z]+=", text), "no inline event handlers"


def test_stylesheet_linked_from_the_login_page_is_served(op):
    a = op.browser().authorize(op.client("shop"))
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', a.r.text)
    assert len(links) == 1 and links[0].startswith(CSS), links
    r = op.get(links[0])
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/css")


def test_stylesheet_is_cached_for_a_year_with_an_etag(op):
    r = op.get(CSS)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/css")
    cc = [v.strip() for v in r.headers["Cache-Control"].split(",")]
    assert "public" in cc and "max-age=31536000" in cc, cc
    etag = r.headers["ETag"]
    assert re.match(r'^(W/)?"[^"]+"$', etag), etag
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    r2 = op.get(CSS, headers={"If-None-Match": etag})
    assert r2.status_code == 304
    assert r2.content == b""
    assert r2.headers.get("ETag") == etag
    r3 = op.get(CSS, headers={"If-None-Match": '"something-else"'})
    assert r3.status_code == 200 and r3.content == r.content


def test_static_paths_do_not_escape_the_static_directory(op):
    # sent byte for byte (an HTTP library would remove the dot segments first)
    for path in ("/static/../templates/login.html", "/static/%2e%2e/templates/login.html",
                 "/static/..%2ftemplates%2flogin.html", "/static/", "/static/nope.css",
                 "/static/GATEHOUSE.CSS"):
        req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        status, raw = raw_http(op.server.port, req.encode(), read_all=True)
        assert status in (400, 404), (path, status)
        assert b"{{" not in raw and b"<form" not in raw, path


# --- error pages a person may meet: what happened and what to do, in plain words -----------

INTERNALS = ("sqlite", "select ", "insert ", ".c:", "/tmp/", "/work/", "gh_e", "errno",
             "invalid_request", "invalid_client", "unauthorized_client", "server_error",
             "traceback", "null", "(nil)", "segfault")


def page_text(r) -> str:
    """The visible text of a page, whitespace collapsed."""
    text = re.sub(r"<[^>]+>", " ", r.text)
    return " ".join(html.unescape(text).split())


def assert_plain_error_page(r, *phrases, status=400, gone=()):
    assert_html_error(r, status)
    assert_html_headers(r)
    text = page_text(r)
    for p in phrases:
        assert p in text, f"the page should say {p!r}:\n{text}"
    assert "What you can do:" in text, text
    assert re.search(r"Reference: [0-9a-f]{8,}", text), text
    low = text.lower()
    for word in INTERNALS:
        assert word not in low, f"the page shows an internal detail ({word!r}):\n{text}"
    for value in gone:
        assert value not in r.text, f"the page echoes {value!r}"
    return text


def test_unknown_application_page_says_so_and_whom_to_ask(op):
    shop = op.client("shop")
    b = op.browser()
    r = b.get("/authorize", params={"client_id": "Call-555-0100-now", "response_type": "code",
                                    "redirect_uri": "https://rp.example/cb", "scope": "openid",
                                    "state": "s"})
    text = assert_plain_error_page(r, "Unknown application",
                                   "This application is not registered with this sign-in "
                                   "service", "contact them", gone=("Call-555-0100-now",))
    assert shop.secret not in text
    r = b.get("/authorize", params={"response_type": "code", "scope": "openid"})
    assert_plain_error_page(r, "does not say which application")


def test_unregistered_redirect_page_says_nobody_was_sent_anywhere(op):
    shop = op.client("shop")
    evil = "https://evil.example/steal"
    a = op.browser().authorize(shop, redirect_uri=evil)
    assert_plain_error_page(a.r, "This sign-in link does not work",
                            "an address that is not registered for it",
                            "you were not sent there", "not with your account",
                            "tell the application's owner", gone=(evil, "evil.example"))
    a = op.browser().authorize(shop, redirect_uri=None)
    assert_plain_error_page(a.r, "did not say where to send you back")


def test_expired_sign_in_page_says_to_start_again_from_the_application(gh, start_server,
                                                                       users_template):
    now = int(time.time())
    clock = FakeClock(gh, now)
    op = start_op(gh, start_server, users_template)
    shop, alice = op.client("shop"), op.user("alice")
    b1, b2 = op.browser(), op.browser()
    a1, a2 = b1.authorize(shop), b2.authorize(shop)
    clock.set(now + 14 * 60)       # within the 15 minutes: still works
    a1.code(b1.login(a1.r, alice))
    clock.set(now + 16 * 60)       # past them
    r = b2.login(a2.r, alice)
    assert_plain_error_page(r, "Sign-in expired", "left open too long",
                            "Go back to the application and sign in again",
                            gone=(alice.password,))
    assert "gh_session" not in set_cookies(r)
