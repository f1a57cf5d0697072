"""The pages people see during sign-in: every HTML answer carries the CSP, framing, referrer,
nosniff and no-store headers, and the stylesheet they link is served for a year with an
ETag (304 on If-None-Match)."""
import re

import pytest

from ghtest import raw_http

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import assert_html_headers, form_of  # noqa: E402

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
