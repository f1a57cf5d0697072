"""Demo mode (`serve --demo`, what `make run` runs): the built-in demo app at /demo, the demo
user and the public client demo-app that fit the server's issuer, and the demo password printed
on stdout at every start (kept in a 0600 file beside the database, or in the keys directory
with PostgreSQL; never in the log). Without --demo, /demo is an unknown path. The demo app's
flow is driven here like its script does it (authorize with PKCE S256 -> login -> callback ->
token as a public client -> userinfo -> RP-initiated logout back to /demo);
test_demo_browser.py runs the script itself in Chromium."""
import os
import re
import stat
import time
from html.parser import HTMLParser

import pytest

pytest.register_assert_rewrite("oidc")
from oidc import (OP, Client, assert_html_headers, assert_login_page, base_of,  # noqa: E402
                  jwt_parts, query_of)
from ghtest import REPO, lines  # noqa: E402

pytest_plugins = ["oidc"]

PRINTED = re.compile(r"^Demo mode: open (\S+) and sign in as demo / (\S+)$", re.M)


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> and <style>."""

    def __init__(self):
        super().__init__()
        self.tags, self.inline, self._in = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in and data.strip():
            self.inline.append((self._in, data))


def printed(server, timeout=10):
    """(demo URL, password) from the server's stdout; it is printed once the port is bound."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = PRINTED.search(server.stdout_path.read_text())
        if m:
            return m.group(1), m.group(2)
        time.sleep(0.05)
    raise AssertionError(f"serve --demo printed no demo line:\nstdout:\n"
                         f"{server.stdout_path.read_text()}\nstderr:\n{server.stderr()}")


def start_demo(gh, start_server, *args, **kw):
    s = start_server("--demo", *args, **kw)
    url, password = printed(s)
    return OP(gh, s), url, password


def demo_client(op) -> Client:
    return Client(op, "demo-app", None, op.issuer + "/demo/callback", True, "none")


def sign_in_as_demo(op, password):
    """The demo app's flow up to the callback: (browser, Authz, callback URL)."""
    app, b = demo_client(op), op.browser()
    a = b.authorize(app)
    assert_login_page(a.r)
    r = b.login(a.r, username="demo", password=password)
    code = a.code(r)
    assert code
    return b, a, r.headers["Location"]


# --- serving the page ---------------------------------------------------------------------

def test_without_demo_the_demo_paths_are_unknown(server):
    unknown = server.get("/no-such-path")
    for path in ("/demo", "/demo/callback", "/demo/callback?code=x&state=y"):
        r = server.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert r.json() == unknown.json(), "the same answer as any unknown path"
        assert "text/html" not in r.headers["Content-Type"]


def test_demo_page_is_served_with_the_strict_page_headers(gh, start_server):
    op, url, _ = start_demo(gh, start_server)
    assert url == op.issuer + "/demo"
    login_csp = op.browser().authorize(demo_client(op)).r.headers["Content-Security-Policy"]
    for path in ("/demo", "/demo/callback?code=Qq7codeZz&state=Qq7stateZz&iss=x"):
        r = op.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        assert r.headers["Content-Type"].startswith("text/html")
        assert_html_headers(r)
        csp = r.headers["Content-Security-Policy"]
        assert csp == login_csp, "the demo page gets the same CSP as the sign-in pages"
        assert "unsafe" not in csp and "script-src" not in csp, csp
        assert "Qq7" not in r.text, "the page never echoes the query"
    assert op.get("/demo/").status_code == 404
    assert op.request("POST", "/demo").status_code == 405


def test_demo_page_has_no_inline_script_or_style_and_its_assets_are_served(gh, start_server):
    op, _, _ = start_demo(gh, start_server)
    r = op.get("/demo")
    t = Tags()
    t.feed(r.text)
    assert not t.inline, f"inline script or style: {t.inline}"
    assert not re.search(r"\son[a-z]+=", r.text, re.I), "no inline event handlers"
    assert " style=" not in r.text.lower()
    scripts = [a.get("src") for tag, a in t.tags if tag == "script"]
    sheets = [a["href"] for tag, a in t.tags if tag == "link" and a.get("rel") == "stylesheet"]
    assert len(scripts) == 1 and scripts[0].startswith("/static/demo.js?v="), scripts
    assert {s.split("?")[0] for s in sheets} == {"/static/gatehouse.css", "/static/demo.css"}
    for url, ctype, name in [(scripts[0], "text/javascript", "demo.js")] + \
            [(s, "text/css", s.split("?")[0].rsplit("/", 1)[1]) for s in sheets]:
        a = op.get(url)
        assert a.status_code == 200, url
        assert a.headers["Content-Type"].startswith(ctype), (url, a.headers["Content-Type"])
        assert a.content == (REPO / "static" / name).read_bytes()
        assert a.headers["X-Content-Type-Options"] == "nosniff"
    # the client's settings reach the script as data- attributes, escaped by the template
    main = [a for tag, a in t.tags if tag == "main"][0]
    assert main["data-issuer"] == op.issuer
    assert main["data-client-id"] == "demo-app"
    assert main["data-redirect-uri"] == op.issuer + "/demo/callback"
    assert main["data-home-uri"] == op.issuer + "/demo"


def test_demo_without_its_template_is_a_clear_start_up_error(gh, start_server, tmp_path):
    t = tmp_path / "templates"
    t.mkdir()
    for f in (REPO / "templates").iterdir():
        if f.name != "demo.html":
            (t / f.name).write_bytes(f.read_bytes())
    gh.init_copy()
    s = start_server("--demo", wait=False, env={"GATEHOUSE_TEMPLATES": str(t)})
    assert s.wait_exit(20) == 1
    err = lines(s.stderr())
    assert "demo.html" in err[-1], err[-1]
    # the same directory without --demo serves
    start_server(env={"GATEHOUSE_TEMPLATES": str(t)})


# --- the demo user, its password, the demo client -----------------------------------------

def test_serve_demo_prints_where_to_click_and_a_password_that_works(gh, start_server):
    op, url, password = start_demo(gh, start_server)
    out = op.server.stdout_path.read_text()
    assert url == f"http://127.0.0.1:{op.server.port}/demo", out
    f = gh.demo_file
    assert f.read_text() == password + "\n"
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    assert password not in op.server.stderr(), "the demo password reached the log"
    assert gh.user("demo")["has_password"]
    sign_in_as_demo(op, password)


def test_restart_prints_the_same_password_and_writes_nothing(gh, start_server):
    op, _, password = start_demo(gh, start_server, issuer="http://127.0.0.1:1")
    assert op.server.stop() == 0
    before = gh.dump()
    op2, _, again = start_demo(gh, start_server, issuer="http://127.0.0.1:1")
    assert again == password
    assert gh.dump() == before, "a second start changed the database"
    sign_in_as_demo(op2, again)


def test_changed_or_missing_password_file_gets_a_new_password_that_works(gh, start_server):
    op, _, first = start_demo(gh, start_server, issuer="http://127.0.0.1:1")
    assert op.server.stop() == 0
    gh.ok("user", "passwd", "demo", "--password-stdin", input="someone changed this one\n")
    op, _, second = start_demo(gh, start_server, issuer="http://127.0.0.1:1")
    assert second != first
    sign_in_as_demo(op, second)
    assert op.server.stop() == 0
    gh.demo_file.unlink()
    op, _, third = start_demo(gh, start_server, issuer="http://127.0.0.1:1")
    assert third not in (first, second)
    assert gh.demo_file.read_text() == third + "\n"
    sign_in_as_demo(op, third)


def test_demo_client_is_public_and_fits_the_issuer(gh, start_server):
    op, _, _ = start_demo(gh, start_server, issuer="http://127.0.0.1:1")
    c = gh.client("demo-app")
    assert c["public"] is True and c["token_endpoint_auth_method"] == "none"
    assert c["has_secret"] is False
    assert c["redirect_uris"] == ["http://127.0.0.1:1/demo/callback"]
    assert c["post_logout_redirect_uris"] == ["http://127.0.0.1:1/demo"]
    assert op.server.stop() == 0
    # served under another issuer: registered again for it; the old address no longer works
    op, url, password = start_demo(gh, start_server, issuer="http://127.0.0.1:2")
    assert url == "http://127.0.0.1:2/demo"
    c = gh.client("demo-app")
    assert c["redirect_uris"] == ["http://127.0.0.1:2/demo/callback"]
    r = op.browser().get("/authorize", params={
        "client_id": "demo-app", "redirect_uri": "http://127.0.0.1:1/demo/callback",
        "response_type": "code", "scope": "openid"})
    assert r.status_code == 400 and "Location" not in r.headers
    sign_in_as_demo(op, password)


def test_demo_app_flow_end_to_end(gh, start_server):
    op, _, password = start_demo(gh, start_server)
    b, a, callback = sign_in_as_demo(op, password)
    assert base_of(callback) == op.issuer + "/demo/callback"
    page = b.get(callback)                               # the script takes it from here
    assert page.status_code == 200 and 'id="demo"' in page.text
    app = demo_client(op)
    # a public client: no secret, the PKCE verifier is the proof
    assert app.redeem(query_of(callback)["code"], "x" * 43).status_code == 400
    _, a, callback = sign_in_as_demo(op, password)
    t = app.redeem_ok(query_of(callback)["code"], a.verifier)
    header, claims = jwt_parts(t["id_token"])[:2]
    assert claims["aud"] in ("demo-app", ["demo-app"]) and claims["nonce"] == a.nonce
    assert claims["iss"] == op.issuer
    u = op.userinfo(t["access_token"])
    assert u.status_code == 200 and u.json()["sub"] == claims["sub"]
    assert u.json()["sub"] == gh.user("demo")["sub"]
    # "Sign out": RP-initiated logout straight back to the demo page
    r = b.get("/logout", params={"id_token_hint": t["id_token"], "client_id": "demo-app",
                                 "post_logout_redirect_uri": op.issuer + "/demo",
                                 "state": "signed-out"})
    assert r.status_code == 302, r.text[:300]
    assert r.headers["Location"] == op.issuer + "/demo?state=signed-out"


# --- data demo mode did not make ----------------------------------------------------------

def test_a_demo_user_demo_mode_did_not_make_is_left_alone(gh, start_server):
    gh.init_copy()
    gh.add_user("demo", "a real person's passphrase", "--email", "demo@example.test")
    before = gh.dump()
    s = start_server("--demo", wait=False)
    assert s.wait_exit(20) == 1
    err = lines(s.stderr())[-1]
    assert "demo" in err and "did not create" in err, err
    assert gh.dump() == before
    assert not gh.demo_file.exists()


def test_a_demo_client_demo_mode_did_not_make_is_left_alone(gh, start_server):
    gh.init_copy()
    gh.ok("client", "add", "demo-app", "--redirect-uri", "https://rp.example/cb")
    s = start_server("--demo", wait=False)
    assert s.wait_exit(20) == 1
    assert "did not create" in lines(s.stderr())[-1]
    assert gh.client("demo-app")["redirect_uris"] == ["https://rp.example/cb"]


def test_a_database_from_the_old_init_demo_is_adopted(gh, start_server):
    # what `init --demo` made before demo mode: a confidential demo-app with a redirect URI
    # nothing listened on, and a demo user whose password was printed once
    gh.init_copy()
    gh.ok("client", "add", "demo-app", "--name", "Demo application", "--redirect-uri",
          "http://127.0.0.1:8081/callback")
    gh.add_user("demo", "the password printed once", "--name", "Demo User")
    sub = gh.user("demo")["sub"]
    op, _, password = start_demo(gh, start_server)
    c = gh.client("demo-app")
    assert c["public"] is True and c["redirect_uris"] == [op.issuer + "/demo/callback"]
    assert gh.user("demo")["sub"] == sub, "the same user, with a new password"
    sign_in_as_demo(op, password)
