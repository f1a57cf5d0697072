"""A real browser against gatehouse (issue 6): Debian's headless Chromium, driven by Selenium,
signs in to small web apps that use gatehouse the way a real one would.

Each app (App below) is a relying party on its own loopback port, in a thread of this test: it
starts the authorization code flow with state, nonce and PKCE S256, checks state (against a
cookie of its own) and iss on the way back, redeems the code at /token with its client
secret, verifies the ID token (signature against the JWKS, iss, aud, nonce), asks /userinfo
for the name and shows who is signed in. Its sign-out link is RP-initiated logout
(id_token_hint, post_logout_redirect_uri, state).

The apps live on http://localhost:PORT and gatehouse on http://127.0.0.1:PORT: two different
sites for the browser, so its cookie rules (SameSite=Lax, no cookie sharing) apply as they
would between https://shop.example and https://id.example.

Screenshots of the login page, the wrong-password error, the consent page and the signed-out
page are saved into $GATEHOUSE_SCREENSHOTS when it is set (`make screenshots` sets it to
docs/screenshots) and into the test's temp directory otherwise.
"""
import html
import http.server
import os
import secrets
import struct
import threading
import urllib.parse
from pathlib import Path

import pytest

pytest.register_assert_rewrite("oidc", "chrome")   # before the imports: asserts in helpers
import chrome  # noqa: E402
from ghtest import free_port  # noqa: E402
from oidc import OP, basic_auth, http_session, pkce_pair, start_op  # noqa: E402

try:
    import jwt as pyjwt
except ImportError:  # pragma: no cover - python3-jwt is a test dependency
    pyjwt = None

pytest_plugins = ["oidc"]   # fixtures: users_template

WRONG_PASSWORD = "this is not the right password"


# --- a relying party -----------------------------------------------------------------------

class App:
    """A web app that signs its users in with gatehouse (a confidential client)."""

    def __init__(self, op: OP, client_id: str, name: str, *client_args, post_logout=True):
        self.op = op
        self.name = name
        self.cookie = f"app_{client_id}"         # apps on one host share a cookie jar
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.app = self
        self.port = self.httpd.server_address[1]
        self.base = f"http://localhost:{self.port}"
        self.redirect_uri = self.base + "/cb"
        self.signed_out_uri = self.base + "/signed-out"
        args = list(client_args) + ["--name", name]
        if post_logout:
            args += ["--post-logout-redirect-uri", self.signed_out_uri]
        try:
            self.client = op.client(client_id, *args, redirect_uri=self.redirect_uri)
        except BaseException:
            self.httpd.server_close()
            raise
        self.http = http_session(op.server)     # back channel: no browser cookies
        self.lock = threading.Lock()
        self.pending = {}       # state -> (nonce, code_verifier) of a sign-in under way
        self.sessions = {}      # app session id -> {"sub", "name", "email", "id_token"}
        self.logouts = set()    # state of a logout under way
        self.errors = []        # what this app refused and why (a test wants none)
        self.requests = []      # "METHOD /path" of every request, in order
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)
        self.http.close()

    # the pages --------------------------------------------------------------------------
    def home(self, h):
        s = self.session_of(h)
        if s is None:
            return h.redirect("/login")
        return h.page(f"{self.name}", f"""
<h1>{html.escape(self.name)}</h1>
<p id="who">Signed in as <strong id="name">{html.escape(s['name'])}</strong>
(<span id="email">{html.escape(s['email'])}</span>)</p>
<p>sub: <code id="sub">{html.escape(s['sub'])}</code></p>
<p><a id="logout" href="/logout">Sign out</a></p>""")

    def login(self, h):
        state = secrets.token_urlsafe(16)
        nonce = secrets.token_urlsafe(16)
        verifier, challenge = pkce_pair()
        with self.lock:
            self.pending[state] = (nonce, verifier)
        q = urllib.parse.urlencode({
            "client_id": self.client.client_id, "redirect_uri": self.redirect_uri,
            "response_type": "code", "scope": "openid profile email", "state": state,
            "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"})
        h.redirect(f"{self.op.issuer}/authorize?{q}",
                   cookie=f"{self.cookie}_tx={state}; Path=/; HttpOnly; SameSite=Lax")

    def callback(self, h, q):
        state = q.get("state", "")
        with self.lock:
            pending = self.pending.pop(state, None)
        if pending is None or h.cookies().get(f"{self.cookie}_tx") != state:
            return self.refuse(h, f"state {state!r} is not the one this browser was given")
        if q.get("iss") != self.op.issuer:
            return self.refuse(h, f"iss {q.get('iss')!r} is not {self.op.issuer!r} (RFC 9207)")
        if "error" in q:
            return h.page("Sign-in failed", f"""
<h1>{html.escape(self.name)}</h1>
<p id="error">Sign-in failed: <code>{html.escape(q['error'])}</code></p>
<p><a id="retry" href="/login">Try again</a></p>""")
        nonce, verifier = pending
        r = self.http.post(self.op.server.url("/token"), timeout=10, data={
            "grant_type": "authorization_code", "code": q.get("code", ""),
            "redirect_uri": self.redirect_uri, "code_verifier": verifier},
            headers={"Authorization": basic_auth(self.client.client_id, self.client.secret)})
        if r.status_code != 200:
            return self.refuse(h, f"token request: {r.status_code} {r.text}")
        tok = r.json()
        claims = self.verify_id_token(tok["id_token"], nonce)
        r = self.http.get(self.op.server.url("/userinfo"), timeout=10,
                          headers={"Authorization": f"Bearer {tok['access_token']}"})
        if r.status_code != 200 or r.json().get("sub") != claims["sub"]:
            return self.refuse(h, f"userinfo: {r.status_code} {r.text}")
        info = r.json()
        sid = secrets.token_urlsafe(24)
        with self.lock:
            self.sessions[sid] = {"sub": claims["sub"], "name": info.get("name", ""),
                                  "email": info.get("email", ""), "id_token": tok["id_token"]}
        h.redirect("/", status=303,
                   cookie=f"{self.cookie}={sid}; Path=/; HttpOnly; SameSite=Lax")

    def verify_id_token(self, token, nonce) -> dict:
        header = pyjwt.get_unverified_header(token)
        keys = [k for k in self.op.jwks()["keys"] if k["kid"] == header["kid"]]
        assert len(keys) == 1, f"kid {header['kid']} not in the JWKS"
        claims = pyjwt.decode(token, pyjwt.PyJWK(keys[0], algorithm=header["alg"]).key,
                              algorithms=["RS256"], audience=self.client.client_id,
                              issuer=self.op.issuer, leeway=5)
        assert claims["nonce"] == nonce, claims
        return claims

    def logout(self, h):
        sid = h.cookies().get(self.cookie)
        with self.lock:
            s = self.sessions.pop(sid, None)
        if s is None:
            return h.redirect("/")
        state = secrets.token_urlsafe(16)
        with self.lock:
            self.logouts.add(state)
        q = urllib.parse.urlencode({"id_token_hint": s["id_token"], "state": state,
                                    "post_logout_redirect_uri": self.signed_out_uri})
        h.redirect(f"{self.op.issuer}/logout?{q}",
                   cookie=f"{self.cookie}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")

    def signed_out(self, h, q):
        with self.lock:
            known = q.get("state") in self.logouts
            self.logouts.discard(q.get("state"))
        if not known:
            return self.refuse(h, f"logout state {q.get('state')!r} unknown")
        h.page("Signed out", f"""
<h1>{html.escape(self.name)}</h1>
<p id="signed-out">You are signed out of {html.escape(self.name)}.</p>
<p><a id="login" href="/login">Sign in again</a></p>""")

    # plumbing ---------------------------------------------------------------------------
    def session_of(self, h):
        with self.lock:
            return self.sessions.get(h.cookies().get(self.cookie))

    def refuse(self, h, why):
        self.errors.append(why)
        h.page("Refused", f"<h1>Refused</h1><p id='refused'>{html.escape(why)}</p>", 400)

    def handle(self, h):
        u = urllib.parse.urlsplit(h.path)
        if u.path == "/favicon.ico":             # the browser asks on its own; not a step
            return h.page("Not found", "<h1>Not found</h1>", 404)
        self.requests.append(f"{h.command} {u.path}")
        q = dict(urllib.parse.parse_qsl(u.query))
        routes = {"/": lambda: self.home(h), "/login": lambda: self.login(h),
                  "/cb": lambda: self.callback(h, q), "/logout": lambda: self.logout(h),
                  "/signed-out": lambda: self.signed_out(h, q)}
        if u.path not in routes:
            return h.page("Not found", "<h1>Not found</h1>", 404)
        try:
            routes[u.path]()
        except Exception as e:      # the test sees it in app.errors
            self.refuse(h, f"{u.path}: {type(e).__name__}: {e}")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.app.handle(self)

    def log_message(self, *args):
        pass

    def cookies(self) -> dict:
        out = {}
        for part in (self.headers.get("Cookie") or "").split(";"):
            k, sep, v = part.strip().partition("=")
            if sep:
                out[k] = v
        return out

    def redirect(self, location, status=302, cookie=None):
        self.send_response(status)
        self.send_header("Location", location)
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def page(self, title, body, status=200):
        data = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                f"<title>{html.escape(title)}</title></head><body>{body}</body></html>"
                ).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)


# --- fixtures ------------------------------------------------------------------------------

@pytest.fixture
def live(gh, start_server, users_template) -> OP:
    """gatehouse with an issuer that is its real address (the browser follows its URLs)."""
    if pyjwt is None:
        pytest.fail("python3-jwt is needed (make test-deps)", pytrace=False)
    port = free_port()
    return start_op(gh, start_server, users_template, listen=f"127.0.0.1:{port}",
                    issuer=f"http://127.0.0.1:{port}")


@pytest.fixture
def apps(live):
    """apps(client_id, name, *client_add_args) -> a running App; all stopped at the end, and
    the test fails if one of them refused anything."""
    made = []

    def make(client_id, name, *args, **kw):
        a = App(live, client_id, name, *args, **kw)
        made.append(a)
        return a

    yield make
    for a in made:
        a.stop()
    errors = [f"{a.name}: {e}" for a in made for e in a.errors]
    if errors:
        pytest.fail("an app refused a step:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def browser():
    with chrome.browser(perf_log=True) as d:
        yield d


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: $GATEHOUSE_SCREENSHOTS (make screenshots) or the temp dir."""
    d = Path(os.environ.get("GATEHOUSE_SCREENSHOTS") or tmp_path / "screenshots")
    d.mkdir(parents=True, exist_ok=True)
    return d


def screenshot(driver, directory: Path, name: str) -> Path:
    """Save a PNG of the window, after checking it is one, of a readable size."""
    png = driver.get_screenshot_as_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n", f"{name}: not a PNG"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 600 and height >= 500, f"{name}: {width}x{height}"
    p = directory / name
    p.write_bytes(png)
    return p


# --- steps ---------------------------------------------------------------------------------

def at_login_form(d, op: OP, client_name=None, path="/authorize"):
    """The browser shows gatehouse's login form at path (for client_name, if given)."""
    chrome.wait_url(d, op.issuer + path)
    chrome.wait_for(d, lambda d: d.find_element("id", "password").is_displayed(),
                    what="the password field")
    text = chrome.text(d)
    assert d.title == "Sign in" and "Sign in" in text, text
    if client_name:
        assert f"to continue to {client_name}" in text, text


def fill_login(d, username, password):
    u = d.find_element("id", "username")
    u.clear()
    u.send_keys(username)
    d.find_element("id", "password").send_keys(password)
    d.find_element("css selector", "form button[type=submit]").click()


def at_app_as(d, app: App, user):
    """The browser is on app's home page, signed in as user."""
    chrome.wait_url(d, app.base + "/")
    chrome.wait_for(d, lambda d: d.find_elements("id", "sub") or d.find_elements("id",
                    "refused"), what=f"{app.name}'s page of the signed-in user")
    assert not d.find_elements("id", "refused"), chrome.text(d)
    assert chrome.path_of(d.current_url) == app.base + "/"
    assert d.find_element("id", "sub").text == user.sub
    assert d.find_element("id", "name").text == user.name
    assert d.find_element("id", "email").text == user.email


def gatehouse_pages(docs, op: OP) -> list:
    """The (url, status) of the documents gatehouse answered with a page, not a redirect."""
    return [(u, s) for u, s in docs if u.startswith(op.issuer + "/") and s not in (302, 303)]


def session_cookies(d, op: OP) -> list:
    """Names of the cookies the browser holds for gatehouse (read on one of its pages)."""
    assert d.current_url.startswith(op.issuer + "/"), d.current_url
    return sorted(c["name"] for c in d.get_cookies())


# --- tests ---------------------------------------------------------------------------------

def test_sign_in_then_single_sign_on_then_logout(live, apps, browser, shots):
    shop, blog = apps("shop", "The Shop"), apps("blog", "The Blog")
    alice = live.user("alice")
    d = browser

    # 1. the shop sends the browser to gatehouse, which shows the form
    d.get(shop.base + "/")
    at_login_form(d, live, "The Shop")
    screenshot(d, shots, "login.png")
    fill_login(d, "alice", alice.password)
    at_app_as(d, shop, alice)
    assert shop.requests == ["GET /", "GET /login", "GET /cb", "GET /"], shop.requests

    # 2. the blog: signed in without seeing the form (single sign-on)
    chrome.documents(d)                          # forget what came before
    d.get(blog.base + "/")
    at_app_as(d, blog, alice)
    docs = chrome.documents(d)
    urls = [chrome.path_of(u) for u, _ in docs]
    assert urls == [blog.base + "/", blog.base + "/login", live.issuer + "/authorize",
                    blog.base + "/cb", blog.base + "/"], docs
    assert gatehouse_pages(docs, live) == [], f"gatehouse showed a page during SSO: {docs}"
    assert not d.find_elements("id", "password")

    # 3. signing out of the shop (RP-initiated logout) ends the gatehouse session
    d.get(shop.base + "/")
    at_app_as(d, shop, alice)
    chrome.documents(d)
    d.find_element("id", "logout").click()
    chrome.wait_url(d, shop.signed_out_uri)
    assert "You are signed out of The Shop" in chrome.text(d)
    docs = chrome.documents(d)
    assert [chrome.path_of(u) for u, _ in docs] == [
        shop.base + "/logout", live.issuer + "/logout", shop.signed_out_uri], docs
    assert gatehouse_pages(docs, live) == [], f"a hint of the user needs no question: {docs}"

    # 4. ...so the shop, and any other app that starts a sign-in, gets the form again
    d.get(shop.base + "/")
    at_login_form(d, live, "The Shop")
    assert not {"gh_session", "__Host-gh_session"} & set(session_cookies(d, live))
    d.get(blog.base + "/login")
    at_login_form(d, live, "The Blog")


def test_wrong_password_shows_the_error_and_the_right_one_then_works(live, apps, browser,
                                                                   shots):
    shop, alice = apps("shop", "The Shop"), live.user("alice")
    d = browser
    d.get(shop.base + "/")
    at_login_form(d, live)
    fill_login(d, "alice", WRONG_PASSWORD)
    chrome.wait_for(d, lambda d: d.find_elements("id", "form-error"), what="the error message")
    at_login_form(d, live, "The Shop", path="/login")     # the answer to the form's POST
    err = d.find_element("id", "form-error")
    assert err.is_displayed() and err.get_attribute("role") == "alert"
    assert err.text == "Wrong username or password."
    assert "Wrong username or password." in chrome.text(d)
    assert d.find_element("id", "username").get_attribute("value") == "alice"
    assert d.find_element("id", "password").get_attribute("value") == ""
    assert shop.requests == ["GET /", "GET /login"], "the app heard nothing of the failure"
    screenshot(d, shots, "login-error.png")

    fill_login(d, "alice", alice.password)
    at_app_as(d, shop, alice)


def test_consent_page_deny_then_allow(live, apps, browser, shots):
    wiki, alice = apps("wiki", "The Wiki", "--consent"), live.user("alice")
    d = browser
    d.get(wiki.base + "/")
    at_login_form(d, live, "The Wiki")
    fill_login(d, "alice", alice.password)

    def at_consent():
        chrome.wait_for(d, lambda d: d.find_elements("css selector", "button[value=allow]"),
                        what="the consent page")
        assert d.current_url.startswith(live.issuer + "/"), d.current_url
        text = chrome.text(d)
        for want in ("Allow access?", "Signed in as alice", "The Wiki wants to:",
                     "Sign you in and know your user ID", "See your name and username",
                     "See your email address"):
            assert want in text, f"{want!r} not on the consent page:\n{text}"
        assert not d.find_elements("id", "password")

    at_consent()
    screenshot(d, shots, "consent.png")
    d.find_element("css selector", "button[value=deny]").click()
    chrome.wait_url(d, wiki.base + "/cb")
    chrome.wait_for(d, lambda d: d.find_elements("id", "error"), what="the app's error")
    assert d.find_element("id", "error").text == "Sign-in failed: access_denied"

    # asking again: still signed in at gatehouse, so the consent page and no password
    d.find_element("id", "retry").click()
    at_consent()
    d.find_element("css selector", "button[value=allow]").click()
    at_app_as(d, wiki, alice)

    # consent is remembered: the next sign-in of this app shows no page at all
    chrome.documents(d)
    d.get(wiki.base + "/login")
    at_app_as(d, wiki, alice)
    assert gatehouse_pages(chrome.documents(d), live) == []


def test_sign_out_at_gatehouse_asks_first_then_shows_the_signed_out_page(live, apps, browser,
                                                                        shots):
    shop, alice = apps("shop", "The Shop"), live.user("alice")
    d = browser
    d.get(shop.base + "/")
    at_login_form(d, live)
    fill_login(d, "alice", alice.password)
    at_app_as(d, shop, alice)

    # a plain link to /logout (no id_token_hint): gatehouse asks, so no page can sign
    # people out behind their back
    d.get(live.issuer + "/logout")
    chrome.wait_for(d, lambda d: "Sign out?" in chrome.text(d), what="the sign-out question")
    assert [c for c in session_cookies(d, live) if c.endswith("gh_session")]
    d.get(shop.base + "/login")                          # not answered: still signed in
    at_app_as(d, shop, alice)

    d.get(live.issuer + "/logout")
    chrome.wait_for(d, lambda d: "Sign out?" in chrome.text(d), what="the sign-out question")
    d.find_element("css selector", "form[action='/logout'] button[type=submit]").click()
    chrome.wait_for(d, lambda d: "You are signed out." in chrome.text(d),
                    what="the signed-out page")
    assert d.current_url.startswith(live.issuer + "/logout"), d.current_url
    assert not d.find_elements("css selector", "form")
    screenshot(d, shots, "logged-out.png")

    d.get(shop.base + "/login")
    at_login_form(d, live, "The Shop")
