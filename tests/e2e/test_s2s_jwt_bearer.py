"""The JWT-bearer authorization grant (RFC 7523 §2.1, §3): a client presents an assertion
from a trusted issuer — itself, or an issuer registered with `gatehouse issuer add` — and gets
an access token for the assertion's subject.

Subject policy: a self-issued assertion (iss = the presenting client, signed with its own
registered credential) may only name the client; a trusted issuer's assertion may name an
existing, enabled user (by sub) or the presenting client, and only clients the issuer lists
may present it. Every refused assertion is 400 invalid_grant with one description. Each attack
has a control that is accepted, so every test can fail. Keys for jwks_uri issuers are served by
a loopback HTTP server in the test."""
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import (  # noqa: E402
    assert_oauth_error, b64url, jwt_parts, start_op, verify_signature)

import jwt as pyjwt  # noqa: E402  (Debian's python3-jwt)
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: op, users_template

GT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
API = "https://api.example/"
IDP = "https://idp.example"
DESC = "the assertion is not acceptable"
SECRET64 = "e2e-jwt-bearer-secret-" + "0123456789abcdef" * 3 + "0123456789"


# --- keys --------------------------------------------------------------------------------

class Key:
    def __init__(self, kind, kid):
        self.kid = kid
        if kind == "RSA":
            self.priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS256"
            jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(self.priv.public_key()))
        else:
            self.priv = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
            jwk = json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(self.priv.public_key()))
        jwk["kid"] = kid
        jwk["use"] = "sig"
        self.jwk = jwk
        self.public_pem = self.priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def keys():
    return {"a": Key("RSA", "idp-a"), "b": Key("RSA", "idp-b"), "ec": Key("EC", "idp-ec"),
            "client": Key("RSA", "svc-key")}


def jwks_of(*ks) -> dict:
    return {"keys": [k.jwk for k in ks]}


def assertion(op, iss, sub, key=None, alg=None, kid="default", header=None, claims=None,
              secret=None):
    """A signed assertion: aud our token endpoint, 2 minutes, a fresh jti; claims updates
    (None deletes a member). key: a Key (its alg and kid unless given), or secret for HS*."""
    now = int(time.time())
    c = {"iss": iss, "sub": sub, "aud": op.issuer + "/token", "iat": now, "exp": now + 120,
         "jti": uuid.uuid4().hex}
    for k, v in (claims or {}).items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    h = dict(header or {})
    if key is not None:
        if kid == "default":
            kid = key.kid
        if kid is not None:
            h["kid"] = kid
        return pyjwt.encode(c, key.priv, algorithm=alg or key.alg, headers=h)
    return pyjwt.encode(c, secret, algorithm=alg or "HS256", headers=h)


def unsigned(header, claims) -> str:
    enc = lambda o: b64url(json.dumps(o, separators=(",", ":")).encode())  # noqa: E731
    return f"{enc(header)}.{enc(claims)}."


def bearer(client, a, **params):
    data = {"grant_type": GT, "assertion": a, "resource": API}
    data.update(params)
    return client.token(data)


def bearer_ok(client, a, **params) -> dict:
    r = bearer(client, a, **params)
    assert r.status_code == 200, f"jwt-bearer: {r.status_code} {r.text}"
    assert "no-store" in r.headers["Cache-Control"]
    return r.json()


def refused(r):
    assert_oauth_error(r, 400, "invalid_grant")
    assert r.json().get("error_description") == DESC, r.text


def service(op, client_id, *args, **kw):
    c = op.client(client_id, "--grant-types", GT, *args, redirect_uri=None, **kw)
    op.gh.ok("resource", "allow", API, client_id, "--scopes", "read")
    return c


def pk_service(op, client_id, jwks_file):
    """A private_key_jwt client with the grant (it has no secret, so not op.client)."""
    op.gh.ok("client", "add", client_id, "--auth-method", "private_key_jwt", "--grant-types",
             GT, "--jwks", jwks_file)
    op.gh.ok("resource", "allow", API, client_id, "--scopes", "read")


@pytest.fixture
def s2s(op, keys, tmp_path):
    """API (read, write); svc (client_secret_basic, the jwt-bearer grant, read at API); the
    trusted issuer IDP with keys a and ec (inline), listing svc; alice."""
    op.gh.ok("resource", "add", API, "--scopes", "read,write")
    svc = service(op, "svc")
    f = tmp_path / "idp.jwks"
    f.write_text(json.dumps(jwks_of(keys["a"], keys["ec"])))
    op.gh.ok("issuer", "add", IDP, "--jwks", f, "--client", "svc")
    return svc, op.user("alice")


# --- what is issued ------------------------------------------------------------------------

def test_trusted_issuer_assertion_for_a_user_gets_a_token_for_that_user(op, keys, s2s):
    svc, alice = s2s
    t = bearer_ok(svc, assertion(op, IDP, alice.sub, keys["a"]))
    assert t["token_type"] == "Bearer" and t["scope"] == "read"
    assert "refresh_token" not in t and "id_token" not in t
    h, c = jwt_parts(t["access_token"])
    assert h["typ"] == "at+jwt"
    assert verify_signature(t["access_token"], op.jwks()) == c
    assert c["sub"] == alice.sub and c["client_id"] == "svc"
    assert c["aud"] == API and c["iss"] == op.issuer and c["scope"] == "read"
    assert c["exp"] - c["iat"] == t["expires_in"]


def test_es256_issuer_key_and_issuer_as_aud_and_scope_narrowing(op, keys, s2s):
    svc, alice = s2s
    op.gh.ok("resource", "allow", API, "svc", "--scopes", "read,write")
    t = bearer_ok(svc, assertion(op, IDP, alice.sub, keys["ec"], claims={"aud": op.issuer}),
                  scope="write")
    assert jwt_parts(t["access_token"])[1]["scope"] == "write"


def test_trusted_issuer_assertion_for_the_client_itself(op, keys, s2s):
    svc, _ = s2s
    t = bearer_ok(svc, assertion(op, IDP, "svc", keys["a"]))
    assert jwt_parts(t["access_token"])[1]["sub"] == "svc"


def test_self_issued_private_key_jwt_assertion_for_the_client(op, keys, s2s, tmp_path):
    f = tmp_path / "svc.jwks"
    f.write_text(json.dumps(jwks_of(keys["client"])))
    pk_service(op, "pk", f)
    # the client authenticates with one assertion and presents another as the grant
    auth = assertion(op, "pk", "pk", keys["client"])
    r = op.post("/token", data={
        "grant_type": GT, "resource": API, "assertion": assertion(op, "pk", "pk", keys["client"]),
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": auth})
    assert r.status_code == 200, r.text
    assert jwt_parts(r.json()["access_token"])[1]["sub"] == "pk"


def test_self_issued_client_secret_jwt_hs256_assertion(op, s2s):
    svc, _ = s2s
    sj = service(op, "sj", auth_method="client_secret_jwt", secret=SECRET64)
    data = {"grant_type": GT, "resource": API, "client_id": "sj", "client_secret": None}
    a = assertion(op, "sj", "sj", secret=SECRET64.encode())
    r = op.post("/token", data={**{k: v for k, v in data.items() if v}, "assertion": a,
                                "client_assertion_type":
                                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                "client_assertion": assertion(op, "sj", "sj",
                                                              secret=SECRET64.encode())})
    assert r.status_code == 200, r.text
    del sj


def test_self_issued_assertion_naming_a_user_is_refused(op, keys, s2s, tmp_path):
    svc, alice = s2s
    # a client_secret_basic client has no signing credential: nothing self-issued verifies
    refused(bearer(svc, assertion(op, "svc", "svc", keys["a"])))
    f = tmp_path / "svc.jwks"
    f.write_text(json.dumps(jwks_of(keys["client"])))
    pk_service(op, "pk", f)

    def post(a):
        return op.post("/token", data={
            "grant_type": GT, "resource": API, "assertion": a,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion(op, "pk", "pk", keys["client"])})
    refused(post(assertion(op, "pk", alice.sub, keys["client"])))   # impersonation
    assert post(assertion(op, "pk", "pk", keys["client"])).status_code == 200   # control


# --- the assertion's rules (RFC 7523 §3) ---------------------------------------------------

def test_replayed_jti_is_refused(op, keys, s2s):
    svc, alice = s2s
    a = assertion(op, IDP, alice.sub, keys["a"])
    bearer_ok(svc, a)
    refused(bearer(svc, a))
    # another assertion with the same jti, too
    jti = jwt_parts(a)[1]["jti"]
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"], claims={"jti": jti})))


def test_missing_jti_is_refused(op, keys, s2s):
    svc, alice = s2s
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"], claims={"jti": None})))


def test_expired_and_far_future_assertions_are_refused(op, keys, s2s):
    svc, alice = s2s
    now = int(time.time())
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"],
                                  claims={"iat": now - 200, "exp": now - 100})))
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"], claims={"exp": now + 3600})))
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"], claims={"exp": None})))
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"], claims={"nbf": now + 600})))
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"], claims={"iat": now - 3600})))
    bearer_ok(svc, assertion(op, IDP, alice.sub, keys["a"], claims={"exp": now + 290}))


def test_wrong_aud_is_refused(op, keys, s2s):
    svc, alice = s2s
    for aud in ("https://other.example/token", op.issuer + "/userinfo", API, [API]):
        refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"], claims={"aud": aud})))
    bearer_ok(svc, assertion(op, IDP, alice.sub, keys["a"], claims={"aud": [API, op.issuer]}))


def test_alg_none_is_refused(op, keys, s2s):
    svc, alice = s2s
    now = int(time.time())
    c = {"iss": IDP, "sub": alice.sub, "aud": op.issuer + "/token", "iat": now,
         "exp": now + 60, "jti": uuid.uuid4().hex}
    refused(bearer(svc, unsigned({"alg": "none", "kid": "idp-a"}, c)))
    refused(bearer(svc, unsigned({"alg": "none"}, c)))


def test_hs256_keyed_with_the_issuers_public_key_is_refused(op, keys, s2s):
    svc, alice = s2s
    k = keys["a"]
    # PyJWT refuses PEM keys for HMAC itself; sign by hand
    for secret in (k.public_pem, json.dumps(k.jwk).encode(), k.jwk["n"].encode()):
        now = int(time.time())
        h = {"alg": "HS256", "kid": k.kid}
        c = {"iss": IDP, "sub": alice.sub, "aud": op.issuer + "/token", "iat": now,
             "exp": now + 60, "jti": uuid.uuid4().hex}
        si = unsigned(h, c)[:-1]
        sig = hmac.new(secret, si.encode(), hashlib.sha256).digest()
        refused(bearer(svc, f"{si}.{b64url(sig)}"))


def test_unknown_kid_and_wrong_key_are_refused(op, keys, s2s):
    svc, alice = s2s
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["b"])))                  # not listed
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["b"], kid="idp-a")))     # wrong key
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"], kid=None)))  # no kid, 2 keys
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"], alg="PS256", kid="idp-ec")))


def test_oversized_assertion_is_refused(op, keys, s2s):
    # an assertion may be up to GH_MAX_JWT_LEN (8 KiB; the form parser's bound for the
    # parameters that carry a JWT, 2 KiB for the others); beyond, the request is malformed
    svc, alice = s2s
    big = assertion(op, IDP, alice.sub, keys["a"], claims={"pad": "x" * 1900})
    assert 2048 < len(big) < 8192
    bearer_ok(svc, big)
    huge = assertion(op, IDP, alice.sub, keys["a"], claims={"pad": "x" * 9000})
    assert len(huge) > 8192
    r = bearer(svc, huge)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    bearer_ok(svc, assertion(op, IDP, alice.sub, keys["a"], claims={"pad": "x" * 1000}))


def test_client_authentication_typed_jwt_is_not_a_grant(op, keys, s2s):
    svc, alice = s2s
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"],
                                  header={"typ": "client-authentication+jwt"})))
    bearer_ok(svc, assertion(op, IDP, alice.sub, keys["a"], header={"typ": "JWT"}))


def test_assertion_from_our_own_issuer_is_refused(op, keys, s2s):
    svc, alice = s2s
    refused(bearer(svc, assertion(op, op.issuer, alice.sub, keys["a"])))


# --- who may assert whom -----------------------------------------------------------------

def test_issuer_not_listing_the_client_is_refused(op, keys, s2s):
    svc, alice = s2s
    other = service(op, "other")
    refused(bearer(other, assertion(op, IDP, alice.sub, keys["a"])))
    refused(bearer(other, assertion(op, IDP, "other", keys["a"])))
    bearer_ok(svc, assertion(op, IDP, alice.sub, keys["a"]))


def test_client_removed_from_the_issuer_is_refused(op, keys, s2s):
    svc, alice = s2s
    bearer_ok(svc, assertion(op, IDP, alice.sub, keys["a"]))
    op.gh.ok("issuer", "disallow", IDP, "svc")      # the running server sees it at once
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"])))
    op.gh.ok("issuer", "allow", IDP, "svc")
    bearer_ok(svc, assertion(op, IDP, alice.sub, keys["a"]))


def test_unknown_issuer_is_refused(op, keys, s2s):
    svc, alice = s2s
    refused(bearer(svc, assertion(op, "https://evil.example", alice.sub, keys["a"])))


def test_disabled_issuer_is_refused_until_enabled(op, keys, s2s):
    svc, alice = s2s
    op.gh.ok("issuer", "disable", IDP)
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"])))
    op.gh.ok("issuer", "enable", IDP)
    bearer_ok(svc, assertion(op, IDP, alice.sub, keys["a"]))
    op.gh.ok("issuer", "delete", IDP)
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"])))


def test_disabled_and_deleted_users_are_refused(op, keys, s2s):
    svc, alice = s2s
    bob = op.user("bob")
    op.gh.ok("user", "disable", "alice")
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"])))
    op.gh.ok("user", "enable", "alice")
    bearer_ok(svc, assertion(op, IDP, alice.sub, keys["a"]))
    op.gh.ok("user", "delete", "bob")
    refused(bearer(svc, assertion(op, IDP, bob.sub, keys["a"])))


def test_a_user_locked_by_failed_sign_ins_gets_no_token_this_way(gh, start_server,
                                                                users_template, keys, tmp_path):
    """SECURITY.md S17: the sign-in lock holds on every way in, not only the login form."""
    op = start_op(gh, start_server, users_template,
                  env={"GATEHOUSE_LOGIN_LOCK_FAILURES": "1"})   # the first failure locks
    op.gh.ok("resource", "add", API, "--scopes", "read,write")
    svc = service(op, "svc")
    f = tmp_path / "idp.jwks"
    f.write_text(json.dumps(jwks_of(keys["a"])))
    op.gh.ok("issuer", "add", IDP, "--jwks", f, "--client", "svc")
    alice = op.user("alice")
    bearer_ok(svc, assertion(op, IDP, alice.sub, keys["a"]))
    b = op.browser()
    r = b.login(b.authorize(op.client("shop")).r, username="alice", password="wrong, wrong")
    assert r.status_code == 200
    refused(bearer(svc, assertion(op, IDP, alice.sub, keys["a"])))
    bearer_ok(svc, assertion(op, IDP, "svc", keys["a"]))   # the client itself is not locked
    op.gh.ok("user", "unlock", "alice")
    bearer_ok(svc, assertion(op, IDP, alice.sub, keys["a"]))


def test_unknown_subject_is_refused(op, keys, s2s):
    svc, alice = s2s
    for sub in ("nobody", "alice", "other-client"):   # a username is not a sub
        refused(bearer(svc, assertion(op, IDP, sub, keys["a"])))


def test_every_refusal_has_the_same_description(op, keys, s2s):
    svc, alice = s2s
    seen = set()
    for a in (assertion(op, IDP, "nobody", keys["a"]), assertion(op, IDP, alice.sub, keys["b"]),
              assertion(op, "https://evil.example", alice.sub, keys["a"]), "not.a.jwt"):
        r = bearer(svc, a)
        assert r.status_code == 400
        seen.add(r.text)
    assert len(seen) == 1, seen


# --- the request around it ----------------------------------------------------------------

def test_client_without_the_grant_type_is_unauthorized(op, keys, s2s):
    _, alice = s2s
    cc = op.client("cc", "--grant-types", "client_credentials", redirect_uri=None)
    op.gh.ok("issuer", "delete", IDP)
    r = bearer(cc, assertion(op, IDP, alice.sub, keys["a"]))
    assert_oauth_error(r, 400, "unauthorized_client")


def test_missing_assertion_is_invalid_request(op, s2s):
    svc, _ = s2s
    assert_oauth_error(svc.token({"grant_type": GT, "resource": API}), 400, "invalid_request")


def test_unknown_resource_or_scope_does_not_spend_the_assertion(op, keys, s2s):
    svc, alice = s2s
    a = assertion(op, IDP, alice.sub, keys["a"])
    assert_oauth_error(bearer(svc, a, resource="https://nope.example/"), 400, "invalid_target")
    assert_oauth_error(bearer(svc, a, scope="write"), 400, "invalid_scope")
    bearer_ok(svc, a)


def test_user_token_stops_at_introspection_when_the_user_is_disabled(op, keys, s2s):
    svc, alice = s2s
    t = bearer_ok(svc, assertion(op, IDP, alice.sub, keys["a"]))["access_token"]
    api = op.client("api", "--grant-types", "client_credentials", redirect_uri=None)
    intro = lambda: api.op.post("/introspect", data={"token": t},  # noqa: E731
                                headers={"Authorization": __import__("oidc").basic_auth(
                                    "api", api.secret)}).json()
    j = intro()
    assert j["active"] is True and j["sub"] == alice.sub
    op.gh.ok("user", "disable", "alice")
    assert intro() == {"active": False}


def test_discovery_lists_the_grant(op):
    d = op.get("/.well-known/openid-configuration").json()
    assert GT in d["grant_types_supported"]


# --- jwks_uri issuers ---------------------------------------------------------------------

class KeyServer:
    """A loopback HTTP server for a jwks_uri: /jwks.json answers self.body (after self.delay
    seconds); /redirect answers 302 to /jwks.json; /big answers 100 KiB. Counts requests."""

    def __init__(self):
        self.body = b"{}"
        self.delay = 0.0
        self.hits = {}
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/jwks.json")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/slow":
                    time.sleep(6)
                body = b"x" * (100 * 1024) if self.path == "/big" else outer.body
                if self.path == "/big":
                    body = json.dumps({"keys": [], "pad": "x" * (100 * 1024)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.t = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.t.start()

    def set(self, *ks):
        self.body = json.dumps(jwks_of(*ks)).encode()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def keysrv():
    s = KeyServer()
    yield s
    s.close()


@pytest.fixture
def uri_op(gh, start_server, users_template):
    """An OP that refetches a jwks_uri at most every 2 s."""
    from oidc import start_op
    return start_op(gh, start_server, users_template,
                    env={"GATEHOUSE_ISSUER_JWKS_REFETCH_INTERVAL": "2"})


def uri_setup(op, keysrv, path="/jwks.json", issuer="https://uri-idp.example"):
    op.gh.ok("resource", "add", API, "--scopes", "read")
    svc = service(op, "svc")
    op.gh.ok("issuer", "add", issuer, "--jwks-uri", keysrv.url + path, "--client", "svc")
    return svc, op.user("alice")


def test_jwks_uri_keys_are_fetched_once_and_cached(uri_op, keys, keysrv):
    op = uri_op
    keysrv.set(keys["a"])
    svc, alice = uri_setup(op, keysrv)
    for _ in range(3):
        bearer_ok(svc, assertion(op, "https://uri-idp.example", alice.sub, keys["a"]))
    assert keysrv.hits.get("/jwks.json") == 1


def test_jwks_uri_rotation_is_picked_up_on_unknown_kid_at_most_once_per_interval(
        uri_op, keys, keysrv):
    op = uri_op
    iss = "https://uri-idp.example"
    keysrv.set(keys["a"])
    svc, alice = uri_setup(op, keysrv)
    bearer_ok(svc, assertion(op, iss, alice.sub, keys["a"]))
    assert keysrv.hits["/jwks.json"] == 1
    keysrv.set(keys["a"], keys["b"])          # the issuer rotates in key b
    # within the interval: no refetch, however many unknown kids arrive
    for kid in ("idp-b", "made-up-1", "made-up-2"):
        refused(bearer(svc, assertion(op, iss, alice.sub, keys["b"], kid=kid)))
    assert keysrv.hits["/jwks.json"] == 1
    time.sleep(2.2)
    bearer_ok(svc, assertion(op, iss, alice.sub, keys["b"]))   # one refetch finds b
    assert keysrv.hits["/jwks.json"] == 2
    refused(bearer(svc, assertion(op, iss, alice.sub, keys["b"], kid="made-up-3")))
    bearer_ok(svc, assertion(op, iss, alice.sub, keys["a"]))   # known kids: no fetch
    assert keysrv.hits["/jwks.json"] == 2


def test_jwks_uri_answering_too_much_is_refused(uri_op, keys, keysrv):
    op = uri_op
    svc, alice = uri_setup(op, keysrv, path="/big")
    refused(bearer(svc, assertion(op, "https://uri-idp.example", alice.sub, keys["a"])))
    assert keysrv.hits.get("/big") == 1


def test_jwks_uri_redirect_is_not_followed(uri_op, keys, keysrv):
    op = uri_op
    keysrv.set(keys["a"])
    svc, alice = uri_setup(op, keysrv, path="/redirect")
    refused(bearer(svc, assertion(op, "https://uri-idp.example", alice.sub, keys["a"])))
    assert keysrv.hits.get("/redirect") == 1 and "/jwks.json" not in keysrv.hits


def test_jwks_uri_timeout_is_bounded_and_blocks_no_other_request(uri_op, keys, keysrv):
    op = uri_op
    svc, alice = uri_setup(op, keysrv, path="/slow")
    result = {}

    def slow():
        t0 = time.monotonic()
        result["r"] = bearer(svc, assertion(op, "https://uri-idp.example", alice.sub,
                                            keys["a"]))
        result["t"] = time.monotonic() - t0
    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.3)
    # meanwhile, other requests are answered at once
    for _ in range(10):
        t0 = time.monotonic()
        assert op.get("/.well-known/openid-configuration").status_code == 200
        assert time.monotonic() - t0 < 1.0
    th.join(15)
    refused(result["r"])
    assert result["t"] < 5.5, result["t"]    # the fetch gave up after about 3 s
