"""Verifying access tokens offline, as a resource server does (RFC 8725, RFC 9068 §4), with the
three verifiers docs/service-to-service.md offers: `gatehouse token verify` (against the data
location's keys, a JWKS file or a JWKS URL) and the examples docs/examples/verify_token.c
(compiled here with cc and pkg-config) and docs/examples/verify_token.py (python3-jwt).

Each verifier must accept a genuine client_credentials token for its resource (and a browser
flow access token, whose audience is the issuer) and print its claims, and refuse, with exit 1
and one line on stderr: an expired token, a tampered one, one for another audience, an ID token
(typ JWT), one signed by a key that is not the realm's (under the realm's kid or its own),
alg none and HS256 keyed with the public key. Then the CLI's own contract: the token on stdin,
the issuer default, its JWKS fetch bounds (loopback-only http, no redirects, no environment
proxy, 64 KiB, 5 s) and the fact that it does not see revocation (introspection does)."""
import http.server
import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from ghtest import REPO, lines  # noqa: E402
from oidc import HAVE_PYJWT, b64url, basic_auth, jwt_build, jwt_parts, resign_rs256  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: op, users_template

API = "https://api.example/"
EXAMPLES = REPO / "docs" / "examples"
PYTHON = "/usr/bin/python3"


# --- set-up ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def c_verifier(tmp_path_factory) -> Path:
    """docs/examples/verify_token.c, compiled as its header comment says (warnings are errors)."""
    if not shutil.which("cc") or not shutil.which("pkg-config"):
        pytest.fail("cc and pkg-config are needed to build docs/examples/verify_token.c")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "openssl", "jansson"],
                           capture_output=True, text=True, check=True).stdout.split()
    exe = tmp_path_factory.mktemp("verify_token_c") / "verify_token"
    p = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Wshadow", "-Wformat=2",
                        "-Werror", "-o", str(exe), str(EXAMPLES / "verify_token.c"), *flags],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"docs/examples/verify_token.c does not build:\n{p.stderr}"
    return exe


@pytest.fixture(scope="session")
def foreign_pem(tmp_path_factory) -> Path:
    """An RSA key that is not the realm's."""
    pem = tmp_path_factory.mktemp("foreign") / "foreign.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", str(pem)], check=True, capture_output=True)
    return pem


class S2S:
    """A realm with an API (resource), a service allowed to call it, and tokens."""

    def __init__(self, op, tmp_path):
        self.op = op
        self.gh = op.gh
        self.tmp = tmp_path
        self.gh.ok("resource", "add", API, "--scopes", "read,write")
        self.svc = op.client("svc-a", "--grant-types", "client_credentials", redirect_uri=None)
        self.gh.ok("resource", "allow", API, "svc-a", "--scopes", "read")
        self.jwks_url = op.server.base + "/jwks.json"
        self.jwks_file = tmp_path / "jwks.json"
        r = op.get("/jwks.json")
        assert r.status_code == 200, r.text
        self.jwks_file.write_text(r.text)

    def cc_token(self, **params) -> str:
        """A client_credentials access token of svc-a for API (HTTP Basic)."""
        r = self.op.post("/token", data={"grant_type": "client_credentials", "resource": API,
                                         **params},
                         headers={"Authorization": basic_auth("svc-a", self.svc.secret)})
        assert r.status_code == 200, f"client_credentials: {r.status_code} {r.text}"
        return r.json()["access_token"]

    def pem_of(self, token) -> Path:
        """The realm's private key file that signed token."""
        return self.gh.key_pem(jwt_parts(token)[0]["kid"])


@pytest.fixture
def s2s(op, tmp_path) -> S2S:
    return S2S(op, tmp_path)


# --- the three verifiers ----------------------------------------------------------------------

# name -> (stderr prefix, how to run it)
VERIFIERS = ("cli", "cli-jwks-file", "cli-jwks-url", "c", "python", "python-jwks-url")
PREFIX = {"cli": "gatehouse token verify: ", "c": "verify_token: ", "python": "verify_token.py: "}


def run_verifier(kind, s2s, c_exe, token, audience=API, issuer=None):
    """(rc, stdout, stderr) of one verifier on token."""
    issuer = issuer or s2s.op.issuer
    aud = ["--audience", audience] if audience else []
    if kind.startswith("cli"):
        jwks = {"cli": [], "cli-jwks-file": ["--jwks", s2s.jwks_file],
                "cli-jwks-url": ["--jwks", s2s.jwks_url]}[kind]
        return s2s.gh.run("token", "verify", *jwks, "--issuer", issuer, *aud, token)
    if kind == "c":
        cmd = [c_exe, "--jwks", s2s.jwks_file, "--issuer", issuer, *aud, token]
    else:
        jwks = s2s.jwks_url if kind == "python-jwks-url" else s2s.jwks_file
        cmd = [PYTHON, EXAMPLES / "verify_token.py", "--jwks", jwks, "--issuer", issuer, *aud,
               token]
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL, env=s2s.gh.cmd_env())
    return p.returncode, p.stdout, p.stderr


def prefix_of(kind):
    return PREFIX["cli" if kind.startswith("cli") else "python" if kind.startswith("python")
                  else "c"]


def accepted(kind, s2s, c_exe, token, **kw) -> dict:
    rc, out, err = run_verifier(kind, s2s, c_exe, token, **kw)
    assert rc == 0, f"{kind} refused a valid token (exit {rc}): {err}"
    return json.loads(out)


def refused(kind, s2s, c_exe, token, what, **kw) -> str:
    rc, out, err = run_verifier(kind, s2s, c_exe, token, **kw)
    assert rc == 1, f"{kind} accepted (or crashed on) {what}: exit {rc}\n{out}{err}"
    assert out == "", f"{kind} printed claims for {what}: {out}"
    errl = lines(err)
    assert len(errl) == 1, f"{kind}, {what}: want one line on stderr, got:\n{err}"
    assert errl[0].startswith(prefix_of(kind)), errl[0]
    return errl[0]


@pytest.fixture(scope="session")
def pyjwt_ok():
    if not HAVE_PYJWT:
        pytest.fail("python3-jwt is needed for docs/examples/verify_token.py (make test-deps)")


@pytest.mark.parametrize("kind", VERIFIERS)
def test_verifier_accepts_genuine_tokens_and_refuses_the_rest(kind, s2s, c_verifier,
                                                              foreign_pem, pyjwt_ok):
    op = s2s.op
    tok = s2s.cc_token()

    # a genuine client_credentials token: sub and client_id are the service, aud the API
    c = accepted(kind, s2s, c_verifier, tok)
    assert (c["iss"], c["sub"], c["client_id"], c["aud"], c["scope"]) == \
        (op.issuer, "svc-a", "svc-a", API, "read"), c
    assert c["exp"] > time.time() and c["jti"]
    # also without --audience (aud then is not checked)
    assert accepted(kind, s2s, c_verifier, tok, audience=None)["aud"] == API

    # a browser sign-in: the access token's audience is the issuer; its ID token is no
    # access token whatever its audience
    shop = op.client("shop")
    t = op.browser().tokens(shop, op.user("alice"))
    assert accepted(kind, s2s, c_verifier, t["access_token"], audience=op.issuer)["sub"]
    why = refused(kind, s2s, c_verifier, t["id_token"], "an ID token", audience="shop")
    assert "typ" in why, why

    now = int(time.time())
    pem = s2s.pem_of(tok)
    h, claims = jwt_parts(tok)
    cases = {
        "an expired token": resign_rs256(tok, pem, claims={"exp": now - 3600,
                                                           "iat": now - 4200}),
        "a token valid from the future (nbf)": resign_rs256(tok, pem, claims={"nbf": now + 3600}),
        "a token with another issuer": resign_rs256(tok, pem, claims={"iss": op.issuer + "/"}),
        "a token of another typ": resign_rs256(tok, pem, header={"typ": "JWT"}),
        "a token without typ": resign_rs256(tok, pem, header={"typ": None}),
        "a token carrying its own key URL": resign_rs256(
            tok, pem, header={"jku": "https://evil.example/jwks.json"}),
        "a tampered token": ".".join([tok.split(".")[0], b64url(json.dumps(
            {**claims, "scope": "read write"}, separators=(",", ":")).encode()),
            tok.split(".")[2]]),
        "a token signed by a foreign key under the realm's kid": resign_rs256(tok, foreign_pem),
        "a token signed by a foreign key with its own kid": resign_rs256(
            tok, foreign_pem, header={"kid": "foreign-1"}),
        "alg none": jwt_build({"alg": "none", "kid": h["kid"], "typ": "at+jwt"}, claims),
        "HS256 keyed with the public JWK": jwt_build(
            {"alg": "HS256", "kid": h["kid"], "typ": "at+jwt"}, claims,
            key=json.dumps([k for k in json.loads(s2s.jwks_file.read_text())["keys"]
                            if k["kid"] == h["kid"]][0]).encode()),
    }
    # control: re-signing with the realm's key alone changes nothing
    accepted(kind, s2s, c_verifier, resign_rs256(tok, pem))
    for what, bad in cases.items():
        refused(kind, s2s, c_verifier, bad, what)
    why = refused(kind, s2s, c_verifier, tok, "a token for another audience",
                  audience="https://other.example/")
    assert "aud" in why.lower(), why
    why = refused(kind, s2s, c_verifier, tok, "a token of another issuer",
                  issuer="https://id.example")
    assert "iss" in why.lower(), why


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_every_verifier_accepts_each_signing_alg(alg, s2s, c_verifier, pyjwt_ok):
    """ES256 (64-byte R||S) and PS256 (MGF1-SHA-256, 32-byte salt) as gatehouse signs them."""
    c = s2s.op.client("svc-" + alg.lower(), "--grant-types", "client_credentials",
                      "--signing-alg", alg, redirect_uri=None)
    s2s.gh.ok("resource", "allow", API, c.client_id, "--scopes", "read")
    r = s2s.op.post("/token", data={"grant_type": "client_credentials", "resource": API},
                    headers={"Authorization": basic_auth(c.client_id, c.secret)})
    assert r.status_code == 200, r.text
    tok = r.json()["access_token"]
    assert jwt_parts(tok)[0]["alg"] == alg
    for kind in VERIFIERS:
        assert accepted(kind, s2s, c_verifier, tok)["client_id"] == c.client_id, kind


# --- gatehouse token verify ---------------------------------------------------------------------

def test_cli_prints_the_claims_and_says_why_it_refuses(s2s):
    tok = s2s.cc_token()
    rc, out, err = s2s.gh.run("token", "verify", "--issuer", s2s.op.issuer, tok)
    assert rc == 0 and err == "", err
    assert out.startswith("{\n  \""), out       # pretty JSON
    assert json.loads(out)["client_id"] == "svc-a"
    line = s2s.gh.fails("token", "verify", "--issuer", s2s.op.issuer, "--audience",
                        "https://api.example", tok)
    assert line == "gatehouse token verify: aud does not contain https://api.example", line
    line = s2s.gh.fails("token", "verify", "--issuer", s2s.op.issuer, "not.a.token")
    assert line.startswith("gatehouse token verify: "), line


def test_cli_reads_the_token_from_stdin(s2s):
    tok = s2s.cc_token()
    out = s2s.gh.ok("token", "verify", "--issuer", s2s.op.issuer, "--audience", API, "-",
                    input=tok + "\n")
    assert json.loads(out)["sub"] == "svc-a"
    s2s.gh.fails("token", "verify", "--issuer", s2s.op.issuer, "-", input="A" * 9000 + "\n")


def test_cli_sees_expiry_by_the_clock(s2s):
    tok = s2s.cc_token()
    exp = jwt_parts(tok)[1]["exp"]
    args = ("token", "verify", "--issuer", s2s.op.issuer, tok)
    s2s.gh.ok(*args, env={"GATEHOUSE_FAKE_NOW": exp + 20})    # within clock_skew (30 s)
    line = s2s.gh.fails(*args, env={"GATEHOUSE_FAKE_NOW": exp + 31})
    assert "expired at" in line, line
    line = s2s.gh.fails(*args, env={"GATEHOUSE_FAKE_NOW": exp - 3600})
    assert "issued in the future" in line, line


def test_cli_issuer_defaults_to_the_recorded_one_else_is_a_usage_error(s2s):
    tok = s2s.cc_token()
    # the test server's issuer is derived from its address: nothing records it
    line = s2s.gh.fails("token", "verify", tok, rc=2)
    assert "--issuer" in line, line
    line = s2s.gh.fails("token", "verify", "--jwks", s2s.jwks_file, tok, rc=2)
    assert "--issuer" in line, line
    s2s.gh.ok("init", "--issuer", s2s.op.issuer)
    assert json.loads(s2s.gh.ok("token", "verify", tok))["sub"] == "svc-a"
    assert json.loads(s2s.gh.ok("token", "verify", "--jwks", s2s.jwks_file, tok))["sub"]
    # a config file's issuer wins over the recorded one
    cfg = s2s.tmp / "gh.conf"
    cfg.write_text("issuer = https://id.example\n")
    line = s2s.gh.fails("token", "verify", "--config", cfg, tok)
    assert "not https://id.example" in line, line


def test_cli_needs_no_data_location_with_jwks_and_issuer(s2s, tmp_path):
    tok = s2s.cc_token()
    env = {"GATEHOUSE_DB": tmp_path / "none.db", "GATEHOUSE_KEYS": tmp_path / "nokeys"}
    out = s2s.gh.ok("token", "verify", "--jwks", s2s.jwks_file, "--issuer", s2s.op.issuer, tok,
                    env=env)
    assert json.loads(out)["aud"] == API
    s2s.gh.fails("token", "verify", "--issuer", s2s.op.issuer, tok, env=env)   # no keys here
    s2s.gh.fails("token", "verify", "--jwks", s2s.jwks_file, tok, env=env, rc=2)


def test_cli_usage_errors(s2s):
    tok = s2s.cc_token()
    iss = ("--issuer", s2s.op.issuer)
    for args in (("--jwks", "http://keys.example/jwks.json"), ("--jwks", "ftp://127.0.0.1/j"),
                 ("--jwks", ""), ("--audience", ""), ("--issuer", ""), ("--bogus",)):
        line = s2s.gh.fails("token", "verify", *iss, *args, tok, rc=2)
        assert line.startswith("gatehouse token verify: "), line
    s2s.gh.fails("token", "verify", *iss, rc=2)
    s2s.gh.fails("token", "verify", *iss, tok, tok, rc=2)


def test_cli_refuses_a_jwks_file_with_private_keys_or_over_64_kib(s2s, tmp_path):
    tok = s2s.cc_token()
    iss = ("--issuer", s2s.op.issuer)
    jwks = json.loads(s2s.jwks_file.read_text())
    jwks["keys"][0]["d"] = "AQAB"
    bad = tmp_path / "private.json"
    bad.write_text(json.dumps(jwks))
    assert "private" in s2s.gh.fails("token", "verify", *iss, "--jwks", bad, tok)
    big = tmp_path / "big.json"
    big.write_text(s2s.jwks_file.read_text() + " " * 70000)
    assert "larger than" in s2s.gh.fails("token", "verify", *iss, "--jwks", big, tok)
    assert s2s.gh.fails("token", "verify", *iss, "--jwks", tmp_path / "missing.json", tok)


class _KeyServer(http.server.BaseHTTPRequestHandler):
    """/jwks: the realm's JWKS; /redirect: 302 to it; /big: 70 KB; /slow: 7 s late; any
    absolute-form request (what a proxy receives): a foreign JWKS, noted in .proxied."""
    jwks = b""
    foreign = b""
    proxied = []

    def do_GET(self):
        if self.path.startswith("http://"):
            type(self).proxied.append(self.path)
            return self._send(200, self.foreign)
        if self.path == "/jwks":
            return self._send(200, self.jwks)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/jwks")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if self.path == "/big":
            return self._send(200, b'{"keys":[]}' + b" " * 70000)
        if self.path == "/slow":
            time.sleep(7)
            return self._send(200, self.jwks)
        return self._send(404, b"{}")

    def _send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def key_server(s2s, foreign_pem):
    from jwk import pem_to_jwk, thumbprint   # tests/tools/jwk.py
    fj = pem_to_jwk(str(foreign_pem))
    fj.update(kid=thumbprint(fj), use="sig", alg="RS256")
    _KeyServer.jwks = s2s.jwks_file.read_bytes()
    _KeyServer.foreign = json.dumps({"keys": [fj]}).encode()
    _KeyServer.proxied = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _KeyServer)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_cli_jwks_fetch_is_bounded(s2s, key_server):
    tok = s2s.cc_token()
    iss = ("--issuer", s2s.op.issuer)
    assert json.loads(s2s.gh.ok("token", "verify", *iss, "--jwks", key_server + "/jwks", tok))
    line = s2s.gh.fails("token", "verify", *iss, "--jwks", key_server + "/redirect", tok)
    assert "302" in line and "redirect" in line, line
    assert "larger than" in s2s.gh.fails("token", "verify", *iss, "--jwks", key_server + "/big",
                                         tok)
    assert "404" in s2s.gh.fails("token", "verify", *iss, "--jwks", key_server + "/nope", tok)
    t0 = time.monotonic()
    line = s2s.gh.fails("token", "verify", *iss, "--jwks", key_server + "/slow", tok)
    assert time.monotonic() - t0 < 6.5, "the 5 s fetch limit did not hold"
    assert "cannot fetch" in line, line


def test_cli_jwks_fetch_ignores_proxies_from_the_environment(s2s, key_server):
    """A proxy named in the environment would answer with its own keys; it is never asked."""
    tok = s2s.cc_token()
    proxy = {k: key_server for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                     "all_proxy", "ALL_PROXY")}
    proxy.update(no_proxy="", NO_PROXY="")
    out = s2s.gh.ok("token", "verify", "--issuer", s2s.op.issuer, "--jwks", s2s.jwks_url, tok,
                    env=proxy)
    assert json.loads(out)["sub"] == "svc-a"
    assert _KeyServer.proxied == [], _KeyServer.proxied


def test_offline_verification_does_not_see_revocation_introspection_does(s2s):
    """The trade-off docs/service-to-service.md describes: a revoked token keeps verifying
    offline until exp; POST /introspect reports it inactive at once."""
    tok = s2s.cc_token()
    auth = {"Authorization": basic_auth("svc-a", s2s.svc.secret)}
    r = s2s.op.post("/introspect", data={"token": tok}, headers=auth)
    assert r.status_code == 200 and r.json()["active"] is True, r.text
    r = s2s.op.post("/revoke", data={"token": tok}, headers=auth)
    assert r.status_code == 200, r.text
    r = s2s.op.post("/introspect", data={"token": tok}, headers=auth)
    assert r.status_code == 200 and r.json() == {"active": False}, r.text
    out = s2s.gh.ok("token", "verify", "--issuer", s2s.op.issuer, "--audience", API, tok)
    assert json.loads(out)["jti"] == jwt_parts(tok)[1]["jti"]
