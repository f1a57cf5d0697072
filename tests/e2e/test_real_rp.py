"""Clients nobody here wrote, against a running gatehouse over HTTPS (issue 6, "Proven with real
clients"):

- panva's openid-client (npm, a certified OpenID relying-party library), driven by
  tests/rp/rp.mjs: discovery, the authorization request with PKCE S256 + state + nonce, the
  callback checks (state, RFC 9207 iss), the code exchange, the library's own ID token
  validation (signature against the JWKS, iss, aud, nonce, …), userinfo, refresh,
  introspection, revocation and client_credentials. The browser part (GET /authorize, the login
  form, the redirect) is oidc.Browser; the library gets the callback URL as a web app would.
- a resource server, tests/rp/resource_server.mjs, that checks gatehouse's access tokens with
  panva's jose (createRemoteJWKSet on jwks_uri + jwtVerify with iss, aud, typ at+jwt and an
  alg allow-list): a valid token is accepted; an expired, tampered, wrong-audience, foreign-key
  or ID-token-typed one is refused with 401 and WWW-Authenticate.

The npm packages are pinned in tests/rp/package-lock.json and installed by `make test`
(`npm ci` in tests/rp); without them these tests fail, they do not skip.
"""
import json
import os
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from ghtest import REPO  # noqa: E402
from oidc import (  # noqa: E402
    OP, assert_login_page, b64url, base_of, form_of, jwt_build, jwt_parts,
    query_of, resign_rs256, start_op)

pytest_plugins = ["oidc"]   # fixtures: users_template

RP_DIR = REPO / "tests" / "rp"
NODE = "/usr/bin/node"
NODE_TIMEOUT = 60           # one library call chain; generous for the ASan server
REDIRECT = "https://rp.example/cb"
API = "https://orders.example/"
OTHER_API = "https://billing.example/"
SCOPES = "openid,profile,email,offline_access"
JWKS_FETCH = 'method=GET path="/jwks.json" status=200'    # gatehouse's access log line


# --- set-up ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def npm_packages():
    """The packages of tests/rp/package-lock.json, installed in tests/rp/node_modules."""
    if not os.access(NODE, os.X_OK):
        pytest.fail(f"{NODE} not found: install Debian's nodejs and npm", pytrace=False)
    lock = json.loads((RP_DIR / "package-lock.json").read_text())
    names = [k[len("node_modules/"):] for k in lock["packages"] if k.startswith("node_modules/")]
    assert {"openid-client", "jose", "oauth4webapi"} <= set(names), names
    for name in names:
        want = lock["packages"][f"node_modules/{name}"]["version"]
        pkg = RP_DIR / "node_modules" / name / "package.json"
        got = json.loads(pkg.read_text())["version"] if pkg.exists() else None
        if got != want:
            pytest.fail(f"npm package {name} {want} is not installed in {RP_DIR}/node_modules "
                        f"(found {got}): run `npm ci --no-audit --no-fund` in tests/rp "
                        f"(`make test` does it)", pytrace=False)


def make_cert(d: Path):
    """A self-signed P-256 certificate for 127.0.0.1 and its key (mode 0600) in d."""
    cert, key = d / "tls.crt", d / "tls.key"
    p = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-days", "1", "-keyout", str(key), "-out", str(cert)],
        capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    os.chmod(key, 0o600)
    return cert, key


@pytest.fixture
def op(npm_packages, gh, start_server, users_template, tmp_path):
    """gatehouse over HTTPS (issuer https://127.0.0.1:PORT, a self-signed certificate that node
    trusts through NODE_EXTRA_CA_CERTS) with the template users."""
    cert, key = make_cert(tmp_path)
    o = start_op(gh, start_server, users_template, tls_ca=cert,
                 env={"GATEHOUSE_TLS_CERT": cert, "GATEHOUSE_TLS_KEY": key})
    assert o.issuer == f"https://127.0.0.1:{o.server.port}", o.issuer
    o.cert, o.key = cert, key
    return o


def node_env(op, secret=None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GATEHOUSE_") and k.lower() not in
           ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "node_options")}
    env["NODE_EXTRA_CA_CERTS"] = str(op.cert)
    if secret is not None:
        env["GH_CLIENT_SECRET"] = secret
    return env


def node(op, script, *args, secret=None) -> dict:
    """Run a script of tests/rp; its one line of JSON. Exit 0 is success, 3 a refusal the
    script reports ({"ok": false, "step", "error"}); anything else fails the test."""
    p = subprocess.run([NODE, str(RP_DIR / script), *map(str, args)], cwd=str(RP_DIR),
                       env=node_env(op, secret), capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=NODE_TIMEOUT)
    assert p.returncode in (0, 3), (f"node {script} {' '.join(map(str, args))} exited "
                                    f"{p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["ok"] == (p.returncode == 0), out
    return out


class RP:
    """One web app using openid-client: begin() gives the authorization URL, complete(callback)
    runs the code exchange and everything after it."""

    def __init__(self, op, client, tmp_path, auth="basic", alg="RS256"):
        self.op, self.client = op, client
        self.state_file = tmp_path / f"rp-{client.client_id}.json"
        self.args = ["--issuer", op.issuer, "--client-id", client.client_id,
                     "--redirect-uri", client.redirect_uri, "--state-file", self.state_file,
                     "--auth", auth, "--alg", alg]

    def begin(self, *extra) -> str:
        out = node(self.op, "rp.mjs", "begin", *self.args, *extra, secret=self.client.secret)
        assert out["ok"], out
        return out["authorization_url"]

    def complete(self, callback) -> dict:
        return node(self.op, "rp.mjs", "complete", *self.args, "--callback", callback,
                    secret=self.client.secret)

    def saved(self) -> dict:
        return json.loads(self.state_file.read_text())


def refusal(out, step="code") -> dict:
    """A step the library refused: its error and the errors of its cause chain (openid-client
    wraps oauth4webapi's) merged into one dict, the outermost winning where two say the same:
    "chain" the errors from the outermost in, "messages" every message, "error" the OAuth
    error code (from an error or the answer's JSON body), "claim" the ID token claim that
    failed a check."""
    assert out["ok"] is False and out["step"] == step, f"want {step} refused, got {out}"
    chain, e = [], out["error"]
    while isinstance(e, dict):
        chain.append(e)
        e = e.get("cause")
    got = {"messages": " | ".join(str(x.get("message")) for x in chain if x.get("message")),
           "chain": chain}
    for x in reversed(chain):
        for k in ("error", "claim", "status", "challenges", "expected"):
            if x.get(k) is not None:
                got[k] = x[k]
        if isinstance(x.get("body"), dict) and x["body"].get("error"):
            got["error"] = x["body"]["error"]
    return got


def web_client(op, client_id="shop", *args, auth_method=None, alg="RS256", public=False):
    return op.client(client_id, "--scopes", SCOPES, "--signing-alg", alg, *args,
                     auth_method=auth_method, public=public)


def browse(op, url, user) -> str:
    """The browser: GET the authorization URL, sign in, return the redirect to the app."""
    b = op.browser()
    r = b.get(url)
    assert_login_page(r)
    r = b.login(r, user)
    assert r.status_code == 303, f"sign-in: {r.status_code}\n{r.text[:1000]}"
    return r.headers["Location"]


def logged(op, text, timeout=10) -> bool:
    """text appears in the server's log within timeout (the access-log line of a request is
    written when MHD reports it completed, which can be a moment after the client has its
    answer)."""
    deadline = time.monotonic() + timeout
    while text not in op.server.stderr():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def with_query(url: str, **changes) -> str:
    u = urllib.parse.urlsplit(url)
    q = query_of(url)
    q.update(changes)
    return urllib.parse.urlunsplit(u._replace(query=urllib.parse.urlencode(q)))


# --- openid-client: the relying party --------------------------------------------------------

@pytest.mark.parametrize("auth,alg", [("basic", "RS256"), ("post", "ES256"), ("basic", "PS256")])
def test_openid_client_signs_in_with_code_pkce_userinfo_refresh(op, tmp_path, auth, alg):
    shop = web_client(op, auth_method=f"client_secret_{auth}", alg=alg)
    alice = op.user("alice")
    rp = RP(op, shop, tmp_path, auth=auth, alg=alg)
    url = rp.begin()
    assert base_of(url) == op.issuer + "/authorize"
    q, saved = query_of(url), rp.saved()
    assert q["client_id"] == "shop" and q["redirect_uri"] == REDIRECT, q
    assert q["response_type"] == "code" and q["code_challenge_method"] == "S256", q
    assert q["state"] == saved["state"] and q["nonce"] == saved["nonce"], (q, saved)

    callback = browse(op, url, alice)
    assert base_of(callback) == REDIRECT
    assert JWKS_FETCH not in op.server.stderr()
    out = rp.complete(callback)
    assert out["ok"], out
    # the library fetched the JWKS to check the ID token's signature (non-repudiation checks)
    assert logged(op, JWKS_FETCH), "the library did not fetch the JWKS"
    assert out["issuer"] == op.issuer
    t = out["tokens"]
    assert t["token_type"].lower() == "bearer" and t["expires_in"] == 600
    assert set(t["scope"].split()) == set(SCOPES.split(","))
    # the claims the library validated and returned
    c = t["id_token_claims"]
    assert c["iss"] == op.issuer and c["aud"] == "shop" and c["sub"] == alice.sub, c
    assert c["nonce"] == saved["nonce"], c
    assert c["azp"] == "shop" and c["at_hash"] and c["auth_time"] <= c["iat"], c
    assert jwt_parts(t["id_token"])[0]["alg"] == alg
    assert jwt_parts(t["access_token"])[0]["alg"] == alg
    # userinfo: the library checked that its sub is the ID token's
    ui = out["userinfo"]
    assert ui["sub"] == alice.sub and ui["email"] == alice.email, ui
    assert ui["preferred_username"] == "alice" and ui["name"] == alice.name, ui
    # refresh rotates both tokens; the new access token works at userinfo
    r = out["refreshed"]
    assert r["refresh_token"] and r["refresh_token"] != t["refresh_token"]
    assert r["access_token"] and r["access_token"] != t["access_token"]
    if r["id_token_claims"] is not None:
        assert r["id_token_claims"]["sub"] == alice.sub
    assert out["userinfo_after_refresh"]["sub"] == alice.sub
    # introspection (RFC 7662) and revocation (RFC 7009) through the library
    i = out["introspection"]
    assert i["active"] is True and i["sub"] == alice.sub and i["client_id"] == "shop", i
    assert out["introspection_after_revocation"]["active"] is False, out
    assert out["refresh_after_revocation"]["ok"] is False, "refreshed after revocation"
    after = refusal({"ok": False, "step": "refresh",
                     "error": out["refresh_after_revocation"]["error"]}, "refresh")
    assert after["error"] == "invalid_grant", after


def test_openid_client_as_a_public_client_with_pkce(op, tmp_path):
    spa, bob = web_client(op, "spa", public=True), op.user("bob")
    rp = RP(op, spa, tmp_path, auth="none")
    out = rp.complete(browse(op, rp.begin(), bob))
    assert out["ok"], out
    assert out["tokens"]["id_token_claims"]["sub"] == bob.sub
    assert out["userinfo"]["sub"] == bob.sub
    assert out["refreshed"]["refresh_token"] != out["tokens"]["refresh_token"]
    assert out["userinfo_after_refresh"]["sub"] == bob.sub


def test_openid_client_with_the_wrong_secret_gets_invalid_client(op, tmp_path):
    shop, alice = web_client(op), op.user("alice")
    shop.secret = shop.secret[:-1] + ("A" if shop.secret[-1] != "A" else "B")
    rp = RP(op, shop, tmp_path)
    out = rp.complete(browse(op, rp.begin(), alice))
    assert out["ok"] is False and out["step"] == "code", out
    e = refusal(out)
    assert e["status"] == 401 and e["error"] == "invalid_client", e
    assert e["chain"][0]["name"] == "WWWAuthenticateChallengeError", e
    assert [c["scheme"].lower() for c in e["challenges"]] == ["basic"], e   # RFC 6749 §5.2


def test_openid_client_must_use_the_registered_auth_method(op, tmp_path):
    # registered for client_secret_post, the library sends the secret with Basic: refused, so
    # the post case above shows the library sent it in the body
    shop, alice = web_client(op, auth_method="client_secret_post"), op.user("alice")
    rp = RP(op, shop, tmp_path, auth="basic")
    e = refusal(rp.complete(browse(op, rp.begin(), alice)))
    assert e["status"] == 401 and e["error"] == "invalid_client", e


def test_openid_client_refuses_a_callback_with_another_state(op, tmp_path):
    shop, alice = web_client(op), op.user("alice")
    rp = RP(op, shop, tmp_path)
    callback = browse(op, rp.begin(), alice)
    out = rp.complete(with_query(callback, state=b64url(os.urandom(16))))
    assert '"state"' in refusal(out)["messages"], out
    # refused before the code was sent: the genuine callback still signs in
    good = rp.complete(callback)
    assert good["ok"], good
    assert good["tokens"]["id_token_claims"]["sub"] == alice.sub


def test_openid_client_refuses_a_callback_from_another_issuer(op, tmp_path):
    # RFC 9207: gatehouse announces authorization_response_iss_parameter_supported and sends
    # iss; a mix-up attacker's callback carries its own
    shop, alice = web_client(op), op.user("alice")
    rp = RP(op, shop, tmp_path)
    callback = browse(op, rp.begin(), alice)
    assert query_of(callback)["iss"] == op.issuer
    out = rp.complete(with_query(callback, iss="https://attacker.example"))
    assert '"iss"' in refusal(out)["messages"], out
    # without iss: the library insists on it, since the discovery document promises it
    no_iss = {k: v for k, v in query_of(callback).items() if k != "iss"}
    out = rp.complete(base_of(callback) + "?" + urllib.parse.urlencode(no_iss))
    assert '"iss"' in refusal(out)["messages"], out
    assert rp.complete(callback)["ok"]


def test_openid_client_refuses_an_id_token_for_another_nonce(op, tmp_path):
    shop, alice = web_client(op), op.user("alice")
    rp = RP(op, shop, tmp_path)
    callback = browse(op, rp.begin(), alice)
    saved = rp.saved()
    saved["nonce"] = b64url(os.urandom(16))          # the session of another sign-in
    rp.state_file.write_text(json.dumps(saved))
    e = refusal(rp.complete(callback))
    assert e.get("claim") == "nonce" and e["expected"] == saved["nonce"], e


def test_openid_client_with_another_pkce_verifier_gets_invalid_grant(op, tmp_path):
    shop, alice = web_client(op), op.user("alice")
    rp = RP(op, shop, tmp_path)
    callback = browse(op, rp.begin(), alice)
    saved = rp.saved()
    saved["codeVerifier"] = b64url(os.urandom(32))
    rp.state_file.write_text(json.dumps(saved))
    e = refusal(rp.complete(callback))
    assert e["error"] == "invalid_grant" and e["status"] == 400, e
    assert e["chain"][0]["name"] == "ResponseBodyError", e
    assert e["chain"][0]["error_description"], e


def test_openid_client_reports_a_denied_consent(op, tmp_path):
    wiki, alice = web_client(op, "wiki", "--consent"), op.user("alice")
    rp = RP(op, wiki, tmp_path)
    b = op.browser()
    r = b.login(b.get(rp.begin()), alice)
    assert r.status_code == 200 and form_of(r, "/consent"), r.text[:1000]
    r = b.consent(r, "deny")
    assert r.status_code == 303, r.text[:1000]
    e = refusal(rp.complete(r.headers["Location"]))
    assert e["error"] == "access_denied", e
    assert e["chain"][0]["name"] == "AuthorizationResponseError", e


# --- jose: a resource server checking access tokens offline -----------------------------------

class ResourceServer:
    """tests/rp/resource_server.mjs for one audience; stopped by PID at the end of the test."""

    def __init__(self, op, audience, tmp_path):
        self.port_file = tmp_path / "rs.port"
        self.stderr_path = tmp_path / "rs.stderr"
        with open(self.stderr_path, "wb") as ef:
            self.proc = subprocess.Popen(
                [NODE, str(RP_DIR / "resource_server.mjs"), "--issuer", op.issuer,
                 "--audience", audience, "--port-file", str(self.port_file)],
                cwd=str(RP_DIR), env=node_env(op), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=ef, start_new_session=True)
        self.http = requests.Session()
        self.http.trust_env = False
        deadline = time.monotonic() + NODE_TIMEOUT
        try:
            while not self.port_file.exists():
                assert self.proc.poll() is None, \
                    f"resource_server.mjs exited {self.proc.returncode}\n{self.stderr()}"
                assert time.monotonic() < deadline, \
                    f"resource_server.mjs not ready within {NODE_TIMEOUT} s\n{self.stderr()}"
                time.sleep(0.02)
        except AssertionError:
            self.stop()
            raise
        self.base = f"http://127.0.0.1:{int(self.port_file.read_text())}"

    def stderr(self) -> str:
        return self.stderr_path.read_text("utf-8", "replace")

    def get(self, token=None, path="/", header=None):
        h = {}
        if header is not None:
            h["Authorization"] = header
        elif token is not None:
            h["Authorization"] = f"Bearer {token}"
        return self.http.get(self.base + path, headers=h, timeout=NODE_TIMEOUT)

    def refuses(self, token, code, claim=None):
        """401 invalid_token with a WWW-Authenticate challenge; jose's reason is code."""
        r = self.get(token)
        assert r.status_code == 401, f"want 401, got {r.status_code}: {r.text}"
        www = r.headers.get("WWW-Authenticate", "")
        assert www.startswith("Bearer ") and 'error="invalid_token"' in www, www
        j = r.json()
        assert j["error"] == "invalid_token" and j["code"] == code, j
        if claim is not None:
            assert j["claim"] == claim, j
        return j

    def stop(self):
        self.http.close()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                raise AssertionError(f"resource_server.mjs ignored SIGTERM\n{self.stderr()}")
        return self.proc.returncode


@pytest.fixture
def api(op, tmp_path):
    """Resources API (read, write) and OTHER_API (pay), a service client svc allowed read at
    API and pay at OTHER_API, and the resource server for API."""
    op.gh.ok("resource", "add", API, "--scopes", "read,write")
    op.gh.ok("resource", "add", OTHER_API, "--scopes", "pay")
    op.svc = op.client("svc", "--grant-types", "client_credentials", redirect_uri=None)
    op.gh.ok("resource", "allow", API, "svc", "--scopes", "read")
    op.gh.ok("resource", "allow", OTHER_API, "svc", "--scopes", "pay")
    rs = ResourceServer(op, API, tmp_path)
    yield rs
    rc = rs.stop()
    assert rc == 0, f"resource_server.mjs exited {rc} on SIGTERM\n{rs.stderr()}"


def cc_token(op, resource=API, client=None) -> str:
    """An access token from client_credentials, asked for by openid-client."""
    c = client or op.svc
    out = node(op, "rp.mjs", "cc", "--issuer", op.issuer, "--client-id", c.client_id,
               "--resource", resource, secret=c.secret)
    assert out["ok"], out
    assert out["refresh_token"] is None and out["token_type"].lower() == "bearer", out
    return out["access_token"]


def own_pem(op, token) -> Path:
    return op.gh.key_pem(jwt_parts(token)[0]["kid"])


def test_resource_server_accepts_a_valid_token(op, api):
    tok = cc_token(op)
    r = api.get(tok)
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["header"]["typ"] == "at+jwt" and j["header"]["kid"], j
    c = j["claims"]
    assert c["iss"] == op.issuer and c["aud"] == API, c
    assert c["sub"] == "svc" and c["client_id"] == "svc" and c["scope"] == "read", c
    assert api.get(tok, "/scope/read").status_code == 200
    r = api.get(tok, "/scope/write")
    assert r.status_code == 403, r.text
    assert 'error="insufficient_scope"' in r.headers["WWW-Authenticate"], r.headers


def test_resource_server_accepts_tokens_of_every_published_alg(op, api):
    for alg in ("ES256", "PS256"):
        c = op.client(f"svc-{alg.lower()}", "--grant-types", "client_credentials",
                      "--signing-alg", alg, redirect_uri=None)
        op.gh.ok("resource", "allow", API, c.client_id, "--scopes", "read")
        tok = cc_token(op, client=c)
        assert jwt_parts(tok)[0]["alg"] == alg
        r = api.get(tok)
        assert r.status_code == 200, r.text
        assert r.json()["claims"]["client_id"] == c.client_id


def test_resource_server_without_a_token_answers_401_with_a_challenge(op, api):
    r = api.get()
    assert r.status_code == 401
    www = r.headers["WWW-Authenticate"]
    assert www.startswith("Bearer ") and "error=" not in www, www   # RFC 6750 §3.1
    r = api.get(header="Basic c3ZjOnNlY3JldA==")
    assert r.status_code == 401 and 'error="invalid_request"' in r.headers["WWW-Authenticate"]


def test_resource_server_refuses_an_expired_token(op, api, start_server):
    # a second server on the same data location and issuer, its clock an hour behind, issues
    # a genuine token (600 s) that is long expired for the resource server's real clock
    past = int(time.time()) - 3600
    then = OP(op.gh, start_server("--tls-cert", op.cert, "--tls-key", op.key,
                                  issuer=op.issuer, tls_ca=op.cert,
                                  env={"GATEHOUSE_FAKE_NOW": past}))
    r = op.svc.at(then).token({"grant_type": "client_credentials", "resource": API})
    assert r.status_code == 200, r.text
    tok = r.json()["access_token"]
    c = jwt_parts(tok)[1]
    assert c["exp"] < time.time() - 60 and c["aud"] == API, c
    api.refuses(tok, "ERR_JWT_EXPIRED", "exp")
    assert api.get(cc_token(op)).status_code == 200     # the same token, fresh: accepted


def test_resource_server_refuses_a_tampered_token(op, api):
    tok = cc_token(op)
    h, p, s = tok.split(".")
    claims = jwt_parts(tok)[1]
    claims["scope"] = "read write"                      # escalate, keep the signature
    forged = f"{h}.{b64url(json.dumps(claims, separators=(',', ':')).encode())}.{s}"
    api.refuses(forged, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED")
    # one payload byte flipped (still base64url)
    i = len(p) // 2
    flipped = p[:i] + ("A" if p[i] != "A" else "B") + p[i + 1:]
    api.refuses(f"{h}.{flipped}.{s}", "ERR_JWS_SIGNATURE_VERIFICATION_FAILED")
    assert api.get(tok).status_code == 200


def test_resource_server_refuses_a_token_for_another_audience(op, api):
    other = cc_token(op, resource=OTHER_API)
    assert jwt_parts(other)[1]["aud"] == OTHER_API
    api.refuses(other, "ERR_JWT_CLAIM_VALIDATION_FAILED", "aud")
    # a user's access token from a sign-in is for gatehouse's userinfo (aud = the issuer)
    shop, alice = web_client(op), op.user("alice")
    user_tok = op.browser().tokens(shop, alice)["access_token"]
    assert jwt_parts(user_tok)[1]["aud"] == op.issuer
    api.refuses(user_tok, "ERR_JWT_CLAIM_VALIDATION_FAILED", "aud")


def test_resource_server_refuses_a_token_signed_with_an_unknown_key(op, api, tmp_path):
    tok = cc_token(op)
    pem = tmp_path / "attacker.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", str(pem)], check=True, capture_output=True,
                   timeout=60)
    # the attacker's key under gatehouse's kid, and under a kid of its own
    api.refuses(resign_rs256(tok, pem), "ERR_JWS_SIGNATURE_VERIFICATION_FAILED")
    api.refuses(resign_rs256(tok, pem, header={"kid": "attacker-key"}),
                "ERR_JWKS_NO_MATCHING_KEY")


def test_resource_server_refuses_alg_none_and_hmac(op, api):
    tok = cc_token(op)
    h, c = jwt_parts(tok)
    api.refuses(jwt_build(dict(h, alg="none"), c), "ERR_JOSE_ALG_NOT_ALLOWED")
    jwk = [k for k in op.jwks()["keys"] if k["kid"] == h["kid"]][0]
    api.refuses(jwt_build(dict(h, alg="HS256"), c, key=json.dumps(jwk).encode()),
                "ERR_JOSE_ALG_NOT_ALLOWED")


def test_resource_server_refuses_a_token_that_is_not_an_access_token(op, api):
    # gatehouse's own key and claims, but typ JWT as an ID token has: RFC 9068 §4
    tok = cc_token(op)
    api.refuses(resign_rs256(tok, own_pem(op, tok), header={"typ": "JWT"}),
                "ERR_JWT_CLAIM_VALIDATION_FAILED", "typ")
    # and a genuine ID token
    shop, alice = web_client(op), op.user("alice")
    id_token = op.browser().tokens(shop, alice)["id_token"]
    api.refuses(id_token, "ERR_JWT_CLAIM_VALIDATION_FAILED", "typ")


def test_resource_server_refuses_a_token_of_another_issuer(op, api):
    tok = cc_token(op)
    api.refuses(resign_rs256(tok, own_pem(op, tok), claims={"iss": op.issuer + "/"}),
                "ERR_JWT_CLAIM_VALIDATION_FAILED", "iss")
