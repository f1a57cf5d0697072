"""private_key_jwt clients registered with a jwks_uri (`client add --jwks-uri URL`): the
server fetches the client's JWKS (util/fetch.c bounds: https, or http only to loopback; size,
time, no redirects), caches it (oidc/issuer_keys.c, under "client:" + client_id), fetches again
early only for an unknown kid and then at most once per issuer_jwks_refetch_interval, and never
on an HTTP thread: the request is suspended while a worker fetches, then runs again from the
start (ep/client_req.c). A fetch that fails or a kid that stays unknown is the one 401
invalid_client of any bad assertion.

The keys are served by a loopback HTTP server in the test that counts requests per path; each
refusal has an accepted control, so every test can fail."""
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import jwt_parts  # noqa: E402

import jwt as pyjwt  # noqa: E402  (Debian's python3-jwt)
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: op, users_template

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GT_JWT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
API = "https://api.example/"
DESC = "client authentication failed"
REFETCH_S = 2


class Key:
    def __init__(self, kind, kid):
        self.kid = kid
        if kind == "EC":
            self.priv = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
            jwk = json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(self.priv.public_key()))
        else:
            self.priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS256"
            jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(self.priv.public_key()))
        jwk["kid"] = kid
        jwk["use"] = "sig"
        self.jwk = jwk


@pytest.fixture(scope="module")
def keys():
    return {"a": Key("RSA", "svc-a"), "b": Key("RSA", "svc-b"), "ec": Key("EC", "svc-ec"),
            "other": Key("RSA", "other"), "other-ec": Key("EC", "other-ec")}


def jwks_of(*ks) -> bytes:
    return json.dumps({"keys": [k.jwk for k in ks]}).encode()


class KeyServer:
    """A loopback HTTP server: self.bodies[path] is served (after self.delay[path] seconds);
    /redirect answers 302 to /a.json; /big answers 100 KiB. Counts requests per path."""

    def __init__(self):
        self.bodies = {}
        self.delay = {}
        self.hits = {}
        self.lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                with outer.lock:
                    outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/a.json")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                time.sleep(outer.delay.get(self.path, 0))
                if self.path == "/big":
                    body = json.dumps({"keys": [], "pad": "x" * (100 * 1024)}).encode()
                elif self.path in outer.bodies:
                    body = outer.bodies[self.path]
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
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

    def n(self, path) -> int:
        with self.lock:
            return self.hits.get(path, 0)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def keysrv():
    s = KeyServer()
    yield s
    s.close()


@pytest.fixture
def uop(gh, start_server, users_template):
    """An OP that fetches a jwks_uri again at most every REFETCH_S seconds."""
    from oidc import start_op
    return start_op(gh, start_server, users_template,
                    env={"GATEHOUSE_ISSUER_JWKS_REFETCH_INTERVAL": str(REFETCH_S)})


def add_client(op, cid, uri, grants="client_credentials"):
    op.gh.ok("client", "add", cid, "--auth-method", "private_key_jwt", "--grant-types", grants,
             "--jwks-uri", uri)
    op.gh.ok("resource", "allow", API, cid, "--scopes", "read")


@pytest.fixture
def svc(uop, keysrv, keys):
    """Client svc whose keys (a, ec) are at keysrv /a.json."""
    keysrv.bodies["/a.json"] = jwks_of(keys["a"], keys["ec"])
    uop.gh.ok("resource", "add", API, "--scopes", "read")
    add_client(uop, "svc", keysrv.url + "/a.json")
    return uop


def assertion(op, cid, key, kid="default", alg=None) -> str:
    now = int(time.time())
    c = {"iss": cid, "sub": cid, "aud": op.issuer + "/token", "iat": now, "exp": now + 120,
         "jti": uuid.uuid4().hex}
    h = {"kid": key.kid if kid == "default" else kid}
    return pyjwt.encode(c, key.priv, algorithm=alg or key.alg, headers=h)


def auth(op, cid, key, **kw) -> dict:
    return {"client_assertion_type": JWT_BEARER,
            "client_assertion": assertion(op, cid, key, **kw)}


def cc(op, cid, key, **kw):
    data = {"grant_type": "client_credentials", "resource": API, **auth(op, cid, key, **kw)}
    return op.post("/token", data=data)


def token_ok(r, cid) -> str:
    assert r.status_code == 200, f"{r.status_code} {r.text}"
    t = r.json()
    assert jwt_parts(t["access_token"])[1]["client_id"] == cid
    return t["access_token"]


def refused(r):
    assert r.status_code == 401, f"{r.status_code} {r.text}"
    assert r.json() == {"error": "invalid_client", "error_description": DESC}, r.text


# --- the CLI -------------------------------------------------------------------------------

def test_cli_registers_and_shows_a_jwks_uri(gh, keysrv):
    gh.init_copy()
    uri = keysrv.url + "/a.json"
    gh.ok("client", "add", "svc", "--auth-method", "private_key_jwt", "--grant-types",
          "client_credentials", "--jwks-uri", uri)
    c = json.loads(gh.ok("client", "show", "svc", "--json"))
    assert c["jwks_uri"] == uri and "jwks" not in c
    assert c["token_endpoint_auth_method"] == "private_key_jwt"
    assert any(line.split() == ["jwks_uri:", uri] for line in
               gh.ok("client", "show", "svc").splitlines())
    listed = json.loads(gh.ok("client", "list", "--json"))
    assert [x.get("jwks_uri") for x in listed] == [uri]
    assert keysrv.hits == {}   # registering does not fetch
    # https anywhere is accepted too (not fetched now)
    gh.ok("client", "add", "svc2", "--auth-method", "private_key_jwt", "--grant-types",
          "client_credentials", "--jwks-uri", "https://keys.example/jwks.json")


@pytest.mark.parametrize("args,rc,words", [
    (["--jwks-uri", "http://keys.example/jwks.json"], 1, "loopback"),
    (["--jwks-uri", "ftp://127.0.0.1/jwks.json"], 1, "jwks-uri"),
    (["--jwks-uri", "https://keys.example/jwks.json#frag"], 1, "fragment"),
    (["--jwks-uri", "https://keys.example/jwks.json", "--jwks", "JWKS"], 2, "exactly one"),
    ([], 2, "exactly one"),
    (["--jwks-uri", "https://keys.example/jwks.json", "--auth-method-override",
      "client_secret_basic"], 2, "only for"),
    (["--jwks-uri", "https://keys.example/jwks.json", "--auth-method-override",
      "client_secret_jwt"], 2, "only for"),
])
def test_cli_refusals(gh, tmp_path, keys, args, rc, words):
    gh.init_copy()
    f = tmp_path / "svc.jwks"
    f.write_bytes(jwks_of(keys["a"]))
    args = [str(f) if a == "JWKS" else a for a in args]
    method = "private_key_jwt"
    if "--auth-method-override" in args:
        i = args.index("--auth-method-override")
        method = args[i + 1]
        del args[i:i + 2]
    line = gh.fails("client", "add", "svc", "--auth-method", method, "--grant-types",
                    "client_credentials", *args, rc=rc)
    assert words in line.lower(), line
    assert json.loads(gh.ok("client", "list", "--json")) == []
    # the control: the same client with one good source of keys is accepted
    gh.ok("client", "add", "svc", "--auth-method", "private_key_jwt", "--grant-types",
          "client_credentials", "--jwks-uri", "https://keys.example/jwks.json")


def test_jwks_uri_for_a_client_without_auth_method_is_refused(gh):
    gh.init_copy()
    line = gh.fails("client", "add", "svc", "--grant-types", "client_credentials",
                    "--jwks-uri", "https://keys.example/jwks.json", rc=2)
    assert "private_key_jwt" in line, line
    gh.fails("client", "add", "spa", "--public", "--redirect-uri", "https://rp.example/cb",
             "--jwks-uri", "https://keys.example/jwks.json", rc=2)
    assert json.loads(gh.ok("client", "list", "--json")) == []


# --- tokens -------------------------------------------------------------------------------

@pytest.mark.parametrize("key,alg", [("a", "RS256"), ("a", "PS256"), ("ec", "ES256")])
def test_client_gets_a_token_with_keys_from_its_jwks_uri(svc, keysrv, keys, key, alg):
    op = svc
    assert keysrv.n("/a.json") == 0
    token_ok(cc(op, "svc", keys[key], alg=alg), "svc")
    assert keysrv.n("/a.json") == 1
    # a key the set does not hold, under a kid it does: refused
    other = keys["other-ec" if key == "ec" else "other"]
    refused(cc(op, "svc", other, kid=keys[key].kid, alg=alg))


def test_keys_are_fetched_once_and_cached(svc, keysrv, keys):
    op = svc
    for k in ("a", "ec", "a", "ec"):
        token_ok(cc(op, "svc", keys[k]), "svc")
    assert keysrv.n("/a.json") == 1


def test_rotation_is_picked_up_on_unknown_kid_at_most_once_per_interval(svc, keysrv, keys):
    op = svc
    token_ok(cc(op, "svc", keys["a"]), "svc")
    assert keysrv.n("/a.json") == 1
    t0 = time.monotonic()
    keysrv.bodies["/a.json"] = jwks_of(keys["a"], keys["b"])   # the client rotates in b
    # within the interval: no refetch, however many unknown kids arrive
    for kid in ("svc-b", "made-up-1", "made-up-2"):
        refused(cc(op, "svc", keys["b"], kid=kid))
    assert time.monotonic() - t0 < REFETCH_S, "too slow to test the interval"
    assert keysrv.n("/a.json") == 1
    time.sleep(REFETCH_S + 0.3)
    token_ok(cc(op, "svc", keys["b"]), "svc")          # one refetch finds b
    assert keysrv.n("/a.json") == 2
    refused(cc(op, "svc", keys["b"], kid="made-up-3"))  # within the interval again
    token_ok(cc(op, "svc", keys["a"]), "svc")          # known kids: no fetch
    token_ok(cc(op, "svc", keys["b"]), "svc")
    assert keysrv.n("/a.json") == 2


def test_a_refused_assertion_spends_nothing_and_a_replay_is_refused(svc, keysrv, keys):
    """The request that waits for the fetch is run again from the start: its jti is spent
    once, by that second run, so presenting it again is a replay."""
    op = svc
    a = assertion(op, "svc", keys["a"])
    data = {"grant_type": "client_credentials", "resource": API,
            "client_assertion_type": JWT_BEARER, "client_assertion": a}
    token_ok(op.post("/token", data=data), "svc")
    refused(op.post("/token", data=data))
    assert keysrv.n("/a.json") == 1


@pytest.mark.parametrize("path", ["/big", "/redirect", "/missing", "DOWN", "/notjwks"])
def test_unusable_jwks_uri_is_invalid_client(uop, keysrv, keys, path):
    op = uop
    op.gh.ok("resource", "add", API, "--scopes", "read")
    keysrv.bodies["/a.json"] = jwks_of(keys["a"])
    keysrv.bodies["/notjwks"] = b'{"keys": "no"}'
    if path == "DOWN":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        uri = f"http://127.0.0.1:{s.getsockname()[1]}/a.json"
        s.close()   # nothing listens there now
    else:
        uri = keysrv.url + path
    add_client(op, "bad", uri)
    add_client(op, "good", keysrv.url + "/a.json")
    refused(cc(op, "bad", keys["a"]))
    if path != "DOWN":
        assert keysrv.n(path) == 1
    assert keysrv.n("/a.json") == 0   # a redirect is not followed
    token_ok(cc(op, "good", keys["a"]), "good")   # the control


def test_slow_jwks_uri_blocks_no_other_request(svc, keysrv, keys):
    op = svc
    keysrv.bodies["/slow"] = jwks_of(keys["a"])
    keysrv.delay["/slow"] = 6
    add_client(op, "slow", keysrv.url + "/slow")
    result = {}

    def slow():
        t0 = time.monotonic()
        result["r"] = cc(op, "slow", keys["a"])
        result["t"] = time.monotonic() - t0
    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.3)
    # meanwhile other requests, a token request among them, are answered at once
    for i in range(6):
        t0 = time.monotonic()
        if i % 2:
            assert op.get("/.well-known/openid-configuration").status_code == 200
        else:
            token_ok(cc(op, "svc", keys["a"]), "svc")
        assert time.monotonic() - t0 < 1.0
    assert "r" not in result   # still waiting for its fetch
    th.join(15)
    refused(result["r"])
    assert result["t"] < 5.5, result["t"]   # the fetch gave up (the timeout), not the server
    assert keysrv.n("/slow") == 1


# --- introspection, revocation and the JWT-bearer grant ----------------------------------

def test_introspection_and_revocation_with_a_jwks_uri_client(svc, keysrv, keys):
    op = svc
    keysrv.bodies["/rs.json"] = jwks_of(keys["b"])
    add_client(op, "rs", keysrv.url + "/rs.json")
    tok = token_ok(cc(op, "svc", keys["a"]), "svc")
    assert keysrv.n("/a.json") == 1

    def introspect():
        r = op.post("/introspect", data={"token": tok, **auth(op, "rs", keys["b"])})
        assert r.status_code == 200, r.text
        return r.json()["active"]

    # rs's keys are first needed at /introspect: fetched there, by a worker
    assert introspect() is True
    assert keysrv.n("/rs.json") == 1
    # a bad assertion at /introspect is refused like at /token
    r = op.post("/introspect", data={"token": tok, **auth(op, "rs", keys["other"],
                                                          kid="svc-b")})
    refused(r)
    # svc rotates to b; after the interval /revoke fetches it again (unknown kid)
    keysrv.bodies["/a.json"] = jwks_of(keys["b"])
    time.sleep(REFETCH_S + 0.3)
    r = op.post("/revoke", data={"token": tok, **auth(op, "svc", keys["b"])})
    assert r.status_code == 200, r.text
    assert keysrv.n("/a.json") == 2
    assert introspect() is False
    assert keysrv.n("/rs.json") == 1


def test_jwt_bearer_grant_with_two_fetches_in_one_request(uop, keysrv, keys):
    """A jwks_uri client presenting a jwks_uri issuer's assertion, both caches cold: the
    client's keys are fetched first, the request starts over, then the grant fetches the
    issuer's keys on a worker of its own."""
    op = uop
    iss = "https://uri-idp.example"
    op.gh.ok("resource", "add", API, "--scopes", "read")
    keysrv.bodies["/a.json"] = jwks_of(keys["a"])
    keysrv.bodies["/idp.json"] = jwks_of(keys["ec"])
    add_client(op, "svc", keysrv.url + "/a.json", grants=GT_JWT)
    op.gh.ok("issuer", "add", iss, "--jwks-uri", keysrv.url + "/idp.json", "--client", "svc")
    alice = op.user("alice")
    now = int(time.time())
    grant = pyjwt.encode({"iss": iss, "sub": alice.sub, "aud": op.issuer + "/token",
                          "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex},
                         keys["ec"].priv, algorithm="ES256", headers={"kid": "svc-ec"})
    data = {"grant_type": GT_JWT, "assertion": grant, "resource": API,
            **auth(op, "svc", keys["a"])}
    r = op.post("/token", data=data)
    assert r.status_code == 200, r.text
    assert jwt_parts(r.json()["access_token"])[1]["sub"] == alice.sub
    assert keysrv.n("/a.json") == 1 and keysrv.n("/idp.json") == 1
    # a self-issued grant assertion is verified with the client's fetched keys too
    self_grant = assertion(op, "svc", keys["a"])
    r = op.post("/token", data={"grant_type": GT_JWT, "assertion": self_grant,
                                "resource": API, **auth(op, "svc", keys["a"])})
    assert r.status_code == 200, r.text
    assert jwt_parts(r.json()["access_token"])[1]["sub"] == "svc"
    bad_self = assertion(op, "svc", keys["other"], kid="svc-a")
    r = op.post("/token", data={"grant_type": GT_JWT, "assertion": bad_self,
                                "resource": API, **auth(op, "svc", keys["a"])})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    assert keysrv.n("/a.json") == 1 and keysrv.n("/idp.json") == 1
