"""oidc.py — helpers for the browser single-sign-on tests (tests/e2e/test_flow_*.py).

A test reads like the flow it drives:

    def test_x(op):                  # the fixture: pytest_plugins = ["oidc"] in the module
        shop = op.client("shop")             # `gatehouse client add shop …`, secret captured
        alice = op.user("alice")             # a user with a password, e-mail, name and sub
        b = op.browser()                     # its own cookie jar, never follows redirects
        a = b.authorize(shop)                # GET /authorize with state, nonce, PKCE S256
        r = b.login(a.r, alice)              # fills and posts the login form of that page
        code = a.code(r)                     # checks the redirect (state, iss) -> the code
        tok = shop.redeem_ok(code, a.verifier)   # POST /token as the client: 200, the JSON

b.sign_in(client, user) and b.tokens(client, user) do the whole dance; Client.redeem /
refresh / token return the raw response for the tests of errors.

The Browser keeps its own cookie jar (name -> value, from raw Set-Cookie headers, honouring
Max-Age=0) so that tests can look at every Set-Cookie exactly as sent and can add, drop or
forge cookies. Back-channel calls (token, userinfo) never carry the browser's cookies.
"""
import base64
import dataclasses
import hashlib
import hmac
import json
import secrets
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookiejar import DefaultCookiePolicy

import pytest
import requests

from ghtest import PASSWORD, SLOW, Gatehouse, b64url_decode

RP = "https://rp.example/cb"                 # registered redirect_uri of every test client
RP_LOGOUT = "https://rp.example/signed-out"  # post_logout_redirect_uri where one is registered
TIMEOUT = 10 * SLOW                          # GATEHOUSE_TEST_SLOW scales it (ghtest.py)

HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

try:  # signature checks by a third-party library when Debian's python3-jwt is installed
    import jwt as pyjwt
    from cryptography.hazmat.primitives import serialization as _ser
    HAVE_PYJWT = True
except ImportError:  # pragma: no cover - depends on the machine
    pyjwt = None
    _ser = None
    HAVE_PYJWT = False


# --- encoding ------------------------------------------------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def pkce_pair():
    """(code_verifier, S256 code_challenge) per RFC 7636 §4.1-4.2."""
    verifier = b64url(secrets.token_bytes(32))
    return verifier, b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def basic_auth(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: both parts application/x-www-form-urlencoded, then RFC 7617 Basic."""
    raw = urllib.parse.quote_plus(client_id) + ":" + urllib.parse.quote_plus(secret)
    return "Basic " + base64.b64encode(raw.encode("utf-8")).decode("ascii")


def jwt_parts(token: str):
    """(header, claims) of a compact JWS, without checking anything."""
    parts = token.split(".")
    assert len(parts) == 3, f"not a compact JWS: {token[:40]}…"
    return json.loads(b64url_decode(parts[0])), json.loads(b64url_decode(parts[1]))


def jwt_build(header: dict, claims: dict, key: bytes = None, signature: bytes = b"") -> str:
    """A compact JWS from parts; with key, an HS256 signature over it."""
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    c = b64url(json.dumps(claims, separators=(",", ":")).encode())
    if key is not None:
        signature = hmac.new(key, f"{h}.{c}".encode(), hashlib.sha256).digest()
    return f"{h}.{c}.{b64url(signature)}"


def resign_rs256(token: str, pem_path, header=None, claims=None) -> str:
    """token with header/claims members replaced (None removes one), signed again with the
    RS256 private key in pem_path (the server's own, from its data location) by the openssl
    CLI: a token that differs from a genuine one only where a test says."""
    h, c = jwt_parts(token)
    for part, changes in ((h, header), (c, claims)):
        for k, v in (changes or {}).items():
            if v is None:
                part.pop(k, None)
            else:
                part[k] = v
    assert h["alg"] == "RS256", h
    signing_input = (b64url(json.dumps(h, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(c, separators=(",", ":")).encode()))
    p = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(pem_path)],
                       input=signing_input.encode(), capture_output=True, check=True)
    return signing_input + "." + b64url(p.stdout)


def half_hash(token: str, alg: str) -> str:
    """OIDC Core §3.1.3.6 at_hash: base64url of the left half of the hash of the ASCII token
    (SHA-256 for RS256/ES256/PS256)."""
    assert alg.endswith("256"), alg
    d = hashlib.sha256(token.encode("ascii")).digest()
    return b64url(d[: len(d) // 2])


def verify_signature(token: str, jwks: dict) -> dict:
    """Check the JWS signature with the JWKS key named by kid (PyJWT, when installed) and return
    the claims. Without PyJWT only the kid/alg pairing is checked."""
    header, claims = jwt_parts(token)
    keys = [k for k in jwks["keys"] if k["kid"] == header.get("kid")]
    assert len(keys) == 1, f"kid {header.get('kid')!r} is not in the published JWKS"
    assert header["alg"] in ("RS256", "PS256", "ES256"), header
    kty = keys[0]["kty"]
    assert kty == ("EC" if header["alg"] == "ES256" else "RSA"), (header, keys[0])
    if HAVE_PYJWT:
        key = pyjwt.PyJWK(keys[0], algorithm=header["alg"]).key
        return pyjwt.decode(token, key, algorithms=[header["alg"]],
                            options={"verify_aud": False, "verify_exp": False,
                                     "verify_iat": False, "verify_nbf": False})
    return claims


def rsa_public_key_encodings(jwk: dict, pem_path=None) -> list:
    """Byte strings an attacker may use as an HMAC key in the RS256 -> HS256 confusion attack:
    the SubjectPublicKeyInfo and PKCS#1 PEM (with and without the final newline), DER, the
    JWK JSON and the raw modulus."""
    out = [json.dumps(jwk).encode(), json.dumps(jwk, separators=(",", ":")).encode(),
           b64url_decode(jwk["n"])]
    if HAVE_PYJWT:
        pub = pyjwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
        for enc, fmt in ((_ser.Encoding.PEM, _ser.PublicFormat.SubjectPublicKeyInfo),
                         (_ser.Encoding.PEM, _ser.PublicFormat.PKCS1),
                         (_ser.Encoding.DER, _ser.PublicFormat.SubjectPublicKeyInfo)):
            b = pub.public_bytes(enc, fmt)
            out += [b, b.rstrip(b"\n")]
    elif pem_path is not None:
        p = subprocess.run(["openssl", "pkey", "-in", str(pem_path), "-pubout"],
                           capture_output=True, check=True)
        out += [p.stdout, p.stdout.rstrip(b"\n")]
    return out


def query_of(location: str) -> dict:
    """The query parameters of a redirect, each exactly once."""
    pairs = urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query,
                                   keep_blank_values=True, strict_parsing=True)
    names = [k for k, _ in pairs]
    assert len(names) == len(set(names)), f"a parameter repeats in {location}"
    return dict(pairs)


def base_of(location: str) -> str:
    """scheme://host/path of a URL (no query or fragment)."""
    u = urllib.parse.urlsplit(location)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, u.path, "", ""))


# --- HTML ----------------------------------------------------------------------------------

class _Forms(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.inputs = {}          # id or name -> attrs of every <input>, inside forms or not
        self.alerts = []
        self._form = None
        self._alert = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action"), "method": a.get("method", "get").lower(),
                          "fields": {}, "buttons": [], "inputs": []}
            self.forms.append(self._form)
        elif tag == "input":
            self.inputs[a.get("id") or a.get("name")] = a
            if self._form is not None:
                self._form["inputs"].append(a)
                if a.get("name") and a.get("type", "text") not in ("submit", "button"):
                    self._form["fields"][a["name"]] = a.get("value", "")
        elif tag == "button" and self._form is not None:
            self._form["buttons"].append((a.get("name"), a.get("value")))
        if a.get("role") == "alert":
            self._alert = [tag, ""]

    def handle_data(self, data):
        if self._alert is not None:
            self._alert[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        if self._alert is not None and tag == self._alert[0]:
            self.alerts.append(self._alert[1].strip())
            self._alert = None


def parse_html(text: str) -> _Forms:
    p = _Forms()
    p.feed(text)
    p.close()
    return p


def form_of(r, action: str) -> dict:
    """The one form posting to action in an HTML response."""
    forms = [f for f in parse_html(r.text).forms if f["action"] == action]
    assert len(forms) == 1, (f"want one form with action={action!r}, got {len(forms)} "
                             f"(status {r.status_code}):\n{r.text[:2000]}")
    assert forms[0]["method"] == "post", forms[0]
    return forms[0]


def alert_of(r) -> str:
    alerts = parse_html(r.text).alerts
    return alerts[0] if alerts else None


def is_login_page(r) -> bool:
    return r.status_code == 200 and any(f["action"] == "/login"
                                        for f in parse_html(r.text).forms)


def assert_login_page(r):
    assert r.status_code == 200, f"want the login page (200), got {r.status_code} " \
                                 f"{r.headers.get('Location')}\n{r.text[:1000]}"
    assert r.headers.get("Content-Type", "").startswith("text/html"), r.headers
    assert "Location" not in r.headers
    f = form_of(r, "/login")
    assert set(f["fields"]) >= {"interaction", "csrf", "username", "password"}, f["fields"]
    return f


def assert_html_error(r, status=400):
    """An error page for a person: status, text/html, and nothing sent anywhere."""
    assert r.status_code == status, f"want {status}, got {r.status_code} " \
                                    f"{r.headers.get('Location')}\n{r.text[:1000]}"
    assert r.headers.get("Content-Type", "").startswith("text/html"), r.headers
    assert "Location" not in r.headers, f"an error page must not redirect: {r.headers}"


def assert_html_headers(r):
    for name, want in HTML_HEADERS.items():
        got = r.headers.get(name)
        assert got is not None, f"{name} missing on {r.request.method} {r.request.url}"
        if name == "Content-Security-Policy":
            directives = {d.strip() for d in got.split(";") if d.strip()}
            assert directives >= {"default-src 'self'", "frame-ancestors 'none'"}, got
        elif name == "Cache-Control":
            assert "no-store" in [v.strip() for v in got.split(",")], got
        else:
            assert got == want, f"{name}: {got!r}, want {want!r}"


def assert_oauth_error(r, status, error):
    """RFC 6749 §5.2 JSON error: exact status and error code, JSON, never HTML, no-store."""
    ct = r.headers.get("Content-Type", "")
    assert r.status_code == status and ct.startswith("application/json"), \
        f"want {status} {error} as JSON, got {r.status_code} {ct}\n{r.text[:500]}"
    assert r.json().get("error") == error, r.text
    assert "no-store" in r.headers.get("Cache-Control", ""), r.headers


# --- cookies -------------------------------------------------------------------------------

@dataclass
class SetCookie:
    name: str
    value: str
    attrs: dict                 # lower-case attribute name -> value ("" for flags)
    raw: str

    @property
    def cleared(self) -> bool:
        return self.attrs.get("max-age") == "0" or self.value == "" and "expires" in self.attrs


def parse_set_cookie(raw: str) -> SetCookie:
    parts = [p.strip() for p in raw.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip()
    return SetCookie(name.strip(), value.strip(), attrs, raw)


def set_cookies(r) -> dict:
    """Every Set-Cookie of a response, by cookie name (each name at most once)."""
    raws = r.raw.headers.getlist("Set-Cookie") if r.raw is not None else []
    out = {}
    for raw in raws:
        c = parse_set_cookie(raw)
        assert c.name not in out, f"two Set-Cookie for {c.name}: {raws}"
        out[c.name] = c
    return out


def assert_cookie_attrs(c: SetCookie):
    assert "httponly" in c.attrs, c.raw
    assert c.attrs.get("samesite", "").lower() == "lax", c.raw
    assert c.attrs.get("path") == "/", c.raw
    assert "domain" not in c.attrs, c.raw


# --- the parties ---------------------------------------------------------------------------

def http_session(server=None) -> requests.Session:
    """A session for server (an https one: its certificate is trusted, see Server.tls_ca)."""
    s = requests.Session()
    s.trust_env = False                                          # never a proxy
    s.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # our own jar only
    if server is not None and server.tls_ca:
        s.verify = server.tls_ca
    return s


@dataclass
class User:
    username: str
    password: str
    sub: str
    email: str = None
    name: str = None


@dataclass
class Client:
    op: "OP"
    client_id: str
    secret: str
    redirect_uri: str
    public: bool
    auth_method: str

    def at(self, op: "OP") -> "Client":
        """The same client talking to another server (on the same data location)."""
        return dataclasses.replace(self, op=op)

    # back channel ----------------------------------------------------------------------
    def auth(self, data: dict, headers: dict):
        """Add this client's registered authentication to a token request."""
        if self.auth_method == "client_secret_basic":
            headers["Authorization"] = basic_auth(self.client_id, self.secret)
        elif self.auth_method == "client_secret_post":
            data["client_id"] = self.client_id
            data["client_secret"] = self.secret
        else:
            data["client_id"] = self.client_id

    def token(self, data: dict, auth=True, headers=None, session=None):
        """POST /token with form data (values of None are left out), as this client."""
        data = {k: v for k, v in data.items() if v is not None}
        headers = dict(headers or {})
        if auth:
            self.auth(data, headers)
        return self.op.post("/token", data=data, headers=headers, session=session)

    def redeem(self, code, verifier, redirect_uri=None, **extra):
        """POST /token grant_type=authorization_code; returns the response."""
        session = extra.pop("session", None)
        data = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect_uri or self.redirect_uri, "code_verifier": verifier}
        data.update(extra)
        return self.token(data, session=session)

    def redeem_ok(self, code, verifier, **extra) -> dict:
        r = self.redeem(code, verifier, **extra)
        assert r.status_code == 200, f"token request: {r.status_code} {r.text}"
        return r.json()

    def refresh(self, refresh_token, session=None, **extra):
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        data.update(extra)
        return self.token(data, session=session)


class Authz:
    """One authorization request a browser sent: its parameters and the answer."""

    def __init__(self, browser, client, params, verifier, r):
        self.browser = browser
        self.client = client
        self.params = params
        self.verifier = verifier
        self.r = r

    @property
    def state(self):
        return self.params.get("state")

    @property
    def nonce(self):
        return self.params.get("nonce")

    def code(self, r=None, status=None) -> str:
        """The code of a redirect to the client (this request's r by default), after checking
        the redirect target, state and iss."""
        r = self.r if r is None else r
        want = (status,) if status else (302, 303)
        assert r.status_code in want, (f"want a redirect with a code ({want}), got "
                                       f"{r.status_code}\n{r.text[:1500]}")
        loc = r.headers["Location"]
        assert base_of(loc) == self.params["redirect_uri"], loc
        q = query_of(loc)
        assert "error" not in q, f"error redirect: {q}"
        assert q.get("state") == self.state, q
        assert q.get("iss") == self.browser.op.issuer, q
        assert q.get("code"), q
        return q["code"]

    def error(self, r=None, status=302) -> dict:
        """The query of an error redirect to the client (error, error_description, state, iss
        checked)."""
        r = self.r if r is None else r
        assert r.status_code == status, (f"want an error redirect ({status}), got "
                                         f"{r.status_code}\n{r.text[:1500]}")
        loc = r.headers["Location"]
        assert base_of(loc) == self.params["redirect_uri"], loc
        q = query_of(loc)
        assert q.get("error"), q
        assert "code" not in q, q
        assert q.get("error_description"), f"no error_description: {q}"
        assert q.get("iss") == self.browser.op.issuer, q
        if self.state is not None:
            assert q.get("state") == self.state, q
        else:
            assert "state" not in q, q
        return q


class Browser:
    """A browser: a cookie jar, no redirects followed, forms filled from the HTML."""

    def __init__(self, op):
        self.op = op
        self.http = http_session(op.server)
        self.cookies = {}
        self.last_set_cookies = {}

    def request(self, method, path, cookies=True, **kw):
        headers = dict(kw.pop("headers", None) or {})
        if cookies and self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        r = self.http.request(method, self.op.server.url(path), headers=headers, **kw)
        self.last_set_cookies = set_cookies(r)
        for name, c in self.last_set_cookies.items():
            if c.cleared:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = c.value
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, data, **kw):
        return self.request("POST", path, data=data, **kw)

    # the steps ---------------------------------------------------------------------------
    def authorize(self, client, method="GET", pkce=True, **params) -> Authz:
        """An authorization request of client with state, nonce and (pkce=True) an S256
        challenge; params add or override (None leaves a parameter out)."""
        verifier = challenge = None
        if pkce:
            verifier, challenge = pkce_pair()
        p = {"client_id": client.client_id, "redirect_uri": client.redirect_uri,
             "response_type": "code", "scope": "openid profile email",
             "state": b64url(secrets.token_bytes(12)), "nonce": b64url(secrets.token_bytes(12))}
        if pkce:
            p.update(code_challenge=challenge, code_challenge_method="S256")
        p.update(params)
        p = {k: v for k, v in p.items() if v is not None}
        if method == "GET":
            r = self.get("/authorize", params=p)
        else:
            r = self.post("/authorize", data=p)
        return Authz(self, client, p, verifier, r)

    def login(self, page, user=None, username=None, password=None, **override):
        """Fill the login form of page (a response) and post it; override replaces form fields
        (None drops one)."""
        f = form_of(page, "/login")
        data = dict(f["fields"])
        data["username"] = username if username is not None else user.username
        data["password"] = password if password is not None else user.password
        data.update(override)
        return self.post("/login", {k: v for k, v in data.items() if v is not None})

    def consent(self, page, decision="allow", **override):
        f = form_of(page, "/consent")
        assert ("decision", decision) in f["buttons"], f["buttons"]
        data = dict(f["fields"])
        data["decision"] = decision
        data.update(override)
        return self.post("/consent", {k: v for k, v in data.items() if v is not None})

    def sign_in(self, client, user, **params):
        """authorize -> login (-> consent allow) -> (Authz, code)."""
        a = self.authorize(client, **params)
        r = a.r
        if is_login_page(r):
            r = self.login(r, user)
        if r.status_code == 200 and "/consent" in r.text:
            r = self.consent(r, "allow")
        return a, a.code(r)

    def tokens(self, client, user, **params) -> dict:
        """A whole sign-in and code redemption; the token response plus the Authz as "_a"."""
        a, code = self.sign_in(client, user, **params)
        t = client.redeem_ok(code, a.verifier)
        t["_a"] = a
        return t


class OP:
    """The server under test plus the CLI of its data location."""

    def __init__(self, gh, server):
        self.gh = gh
        self.server = server
        self.http = http_session(server)
        self.issuer = self.get("/.well-known/openid-configuration").json()["issuer"]
        self._jwks = None
        self.premade = {}          # username -> User already in the data location

    def get(self, path, session=None, **kw):
        return self.request("GET", path, session=session, **kw)

    def post(self, path, session=None, **kw):
        return self.request("POST", path, session=session, **kw)

    def request(self, method, path, session=None, **kw):
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return (session or self.http).request(method, self.server.url(path), **kw)

    def jwks(self) -> dict:
        if self._jwks is None:
            r = self.get("/jwks.json")
            assert r.status_code == 200, r.text
            self._jwks = r.json()
        return self._jwks

    def browser(self) -> Browser:
        return Browser(self)

    def client(self, client_id, *args, redirect_uri=RP, public=False, auth_method=None,
               secret=None) -> Client:
        """`gatehouse client add` with --redirect-uri and args; the generated secret (or the
        one given, via --secret-stdin) is kept for the token requests."""
        cmd = ["client", "add", client_id]
        if redirect_uri:
            cmd += ["--redirect-uri", redirect_uri]
        if public:
            cmd.append("--public")
        if auth_method:
            cmd += ["--auth-method", auth_method]
        kw = {}
        if secret is not None:
            cmd.append("--secret-stdin")
            kw["input"] = secret + "\n"
        out = self.gh.ok(*cmd, *args, "--json", **kw)
        j = json.loads(out)
        assert j["client_id"] == client_id, j
        got = j.get("client_secret")
        if public:
            assert not got, f"a public client got a secret: {j}"
        else:
            assert secret is not None or got, f"no secret for a confidential client: {j}"
        method = auth_method or ("none" if public else "client_secret_basic")
        return Client(self, client_id, secret if secret is not None else got, redirect_uri,
                      public, method)

    def user(self, username, password=PASSWORD, email=None, name=None) -> User:
        """A user with that name; one of the data location's ready-made users when it has the
        same password, e-mail and name, else `gatehouse user add`."""
        u = add_user_spec(username, password, email, name)
        made = self.premade.pop(username, None)
        if made is not None and (made.password, made.email, made.name) == \
                (u.password, u.email, u.name):
            return made
        return add_user(self.gh, u)

    def userinfo(self, access_token, method="GET", session=None):
        if method == "GET":
            return self.get("/userinfo", session=session,
                            headers={"Authorization": f"Bearer {access_token}"})
        return self.post("/userinfo", session=session, data={"access_token": access_token})


def add_user_spec(username, password=PASSWORD, email=None, name=None) -> User:
    if email is None:
        email = f"{username}@example.test"
    if name is None:
        name = username.capitalize() + " Example"
    return User(username, password, None, email, name)


def add_user(gh, u: User) -> User:
    out = gh.ok("user", "add", u.username, "--password-stdin", "--email", u.email,
                "--name", u.name, "--json", input=u.password + "\n")
    j = json.loads(out)
    assert j["username"] == u.username and j["sub"], j
    return User(u.username, u.password, j["sub"], u.email, u.name)


# Users every test may want. Adding one costs an Argon2 hash in a new process (~0.1 s), so
# they are added once to a copy of the initialised data location, and each test's data
# location starts as a copy of that (each test still has its own database and server).
TEMPLATE_USERS = ("alice", "bob", "mallory", "victim")


@pytest.fixture(scope="session")
def users_template(gh_bin, initialised_template, tmp_path_factory):
    """(directory, {username: User}) of an initialised data location with TEMPLATE_USERS."""
    g = Gatehouse(gh_bin, tmp_path_factory.mktemp("oidc-users"))
    g.init_from(initialised_template)
    users = {n: add_user(g, add_user_spec(n)) for n in TEMPLATE_USERS}
    g.as_template()
    return g.dir, users


def start_op(gh, start_server, users_template, **start_kw) -> OP:
    """A server on a copy of the users template (start_kw go to start_server)."""
    src, users = users_template
    gh.init_from(src)
    o = OP(gh, start_server(**start_kw))
    o.premade = dict(users)
    return o


@pytest.fixture
def op(gh, start_server, users_template):
    """An OP on a fresh data location of its own, with TEMPLATE_USERS ready to sign in."""
    return start_op(gh, start_server, users_template)


def wait_next_second():
    """Sleep until the wall clock (whole seconds, as in auth_time) has moved on by one, with a
    margin: the server's time(2) may read a coarse clock a few milliseconds behind ours."""
    time.sleep(int(time.time()) + 1.1 - time.time())
