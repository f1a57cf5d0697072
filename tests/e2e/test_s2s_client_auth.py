"""Client authentication with JWT assertions at the token endpoint (RFC 7523 §2.2 and §3,
OIDC Core §9): client_secret_jwt (HS256/HS384/HS512 keyed with the client secret) and
private_key_jwt (RS256, PS256, ES256 with a key from the client's registered JWKS).

Good assertions get a client_credentials token; every attack of SECURITY.md J2-J8 gets 401
invalid_client with one and the same error_description, so the answer tells nothing about
why. Assertions are signed here with Python's hmac and the openssl CLI (no third-party
Python library), so a refusal is caused only by the property each case changes; every
attack has a control that is accepted."""
import base64
import hashlib
import hmac
import json
import subprocess
import time
import uuid

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from jwk import pem_to_jwk  # noqa: E402
from oidc import b64url, basic_auth, jwt_parts, rsa_public_key_encodings  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: op, users_template

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
API = "https://api.example/"
SECRET64 = "e2e-client-secret-jwt-" + "0123456789abcdef" * 3 + "0123456789"   # 80 characters
BASIC_SECRET = "basic-client-secret-0123456789abcdef"
DESC = "client authentication failed"   # the one error_description of every refusal
HMAC_HASH = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


# --- keys and signatures (openssl CLI) -----------------------------------------------------

def openssl(*args, data=None) -> bytes:
    p = subprocess.run(["openssl", *map(str, args)], input=data, capture_output=True,
                       check=False)
    assert p.returncode == 0, f"openssl {' '.join(map(str, args))}: {p.stderr.decode()}"
    return p.stdout


class Keys:
    """Private keys in PEM files and their public JWKs."""

    def __init__(self, d):
        self.rsa = d / "rsa.pem"
        self.rsa2 = d / "rsa2.pem"
        self.ec = d / "ec.pem"
        self.ec2 = d / "ec2.pem"
        for p in (self.rsa, self.rsa2):
            openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", p)
        for p in (self.ec, self.ec2):
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", p)
        self.jwk = {p: pem_to_jwk(str(p)) for p in (self.rsa, self.rsa2, self.ec, self.ec2)}


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> Keys:
    return Keys(tmp_path_factory.mktemp("s2s-client-keys"))


def der_ecdsa_to_raw(der: bytes) -> bytes:
    """DER Ecdsa-Sig-Value (RFC 3279 §2.2.3) -> JWS R||S, 32 bytes each (RFC 7518 §3.4)."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\x00")
        out += v.rjust(32, b"\x00")
        i += 2 + n
    return out


def sign(alg: str, data: bytes, key) -> bytes:
    """The JWS signature of data under alg: key is the HMAC key (bytes) or a PEM path."""
    if alg in HMAC_HASH:
        return hmac.new(key, data, HMAC_HASH[alg]).digest()
    if alg == "RS256":
        return openssl("dgst", "-sha256", "-sign", key, data=data)
    if alg == "PS256":
        return openssl("dgst", "-sha256", "-sign", key, "-sigopt", "rsa_padding_mode:pss",
                       "-sigopt", "rsa_pss_saltlen:32", data=data)
    if alg == "ES256":
        return der_ecdsa_to_raw(openssl("dgst", "-sha256", "-sign", key, data=data))
    if alg == "none":
        return b""
    raise ValueError(alg)


def enc(obj) -> str:
    if isinstance(obj, (bytes, str)):
        return b64url(obj.encode() if isinstance(obj, str) else obj)
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def make(op, client_id, alg, key, kid=None, header=None, claims=None, sign_as=None) -> str:
    """A compact JWS assertion for client_id: header {"alg", "kid"} plus header, good claims
    (aud: the token endpoint, 2 minutes, a fresh jti) updated by claims (None deletes a
    member), signed with key under sign_as (default: alg)."""
    now = int(time.time())
    h = {"alg": alg}
    if kid is not None:
        h["kid"] = kid
    h.update(header or {})
    c = {"iss": client_id, "sub": client_id, "aud": op.issuer + "/token", "iat": now,
         "exp": now + 120, "jti": uuid.uuid4().hex}
    for k, v in (claims or {}).items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    signing_input = f"{enc(h)}.{enc(c)}"
    sig = sign(sign_as or alg, signing_input.encode(), key)
    return f"{signing_input}.{b64url(sig)}"


# --- the server side -----------------------------------------------------------------------

@pytest.fixture
def s2s(op, keys, tmp_path):
    """Clients of every kind, each allowed at API:
    hs     client_secret_jwt, an 80-character secret (keys HS256, HS384 and HS512)
    hsgen  client_secret_jwt, a generated secret (43 characters: HS256 only, RFC 7518 §3.2)
    pk     private_key_jwt, JWKS {r1: RSA, e1: EC, r2: RSA published for RS256 only}
    pk1    private_key_jwt, one EC key without kid
    other  private_key_jwt, the ec2 key as "other"
    basic  client_secret_basic"""
    op.gh.ok("resource", "add", API, "--scopes", "read")
    op.client("hs", "--grant-types", "client_credentials", redirect_uri=None,
              auth_method="client_secret_jwt", secret=SECRET64)
    gen = op.client("hsgen", "--grant-types", "client_credentials", redirect_uri=None,
                    auth_method="client_secret_jwt")
    op.client("basic", "--grant-types", "client_credentials", redirect_uri=None,
              secret=BASIC_SECRET)
    sets = {
        "pk": [dict(keys.jwk[keys.rsa], kid="r1"), dict(keys.jwk[keys.ec], kid="e1"),
               dict(keys.jwk[keys.rsa2], kid="r2", alg="RS256")],
        "pk1": [dict(keys.jwk[keys.ec])],
        "other": [dict(keys.jwk[keys.ec2], kid="other")],
    }
    for cid, ks in sets.items():
        path = tmp_path / f"{cid}.jwks"
        path.write_text(json.dumps({"keys": ks}))
        op.gh.ok("client", "add", cid, "--auth-method", "private_key_jwt", "--grant-types",
                 "client_credentials", "--jwks", path)
    for cid in ("hs", "hsgen", "basic", "pk", "pk1", "other"):
        op.gh.ok("resource", "allow", API, cid, "--scopes", "read")
    op.hsgen_secret = gen.secret
    return op


def post(op, assertion, assertion_type=JWT_BEARER, headers=None, **extra):
    data = {"grant_type": "client_credentials", "resource": API,
            "client_assertion_type": assertion_type, "client_assertion": assertion}
    data.update(extra)
    data = {k: v for k, v in data.items() if v is not None}
    return op.post("/token", data=data, headers=headers or {})


def assert_token_for(r, client_id):
    assert r.status_code == 200, f"{r.status_code} {r.text}"
    t = r.json()
    assert t["token_type"] == "Bearer"
    assert jwt_parts(t["access_token"])[1]["client_id"] == client_id


def refused(r) -> str:
    """'' if r is the one invalid_client answer, else what is wrong with it."""
    if r.status_code != 401:
        return f"status {r.status_code}: {r.text}"
    j = r.json()
    if j.get("error") != "invalid_client":
        return f"error {j.get('error')}"
    if j.get("error_description") != DESC:
        return f"a different description: {j.get('error_description')!r}"
    if "access_token" in j:
        return "a token was issued"
    return ""


def assert_all_refused(op, cases):
    """cases: (name, assertion, extra params). Every one must be the same invalid_client."""
    bad = []
    for name, assertion, extra in cases:
        why = refused(post(op, assertion, **extra))
        if why:
            bad.append(f"{name}: {why}")
    assert not bad, "accepted or answered differently:\n" + "\n".join(bad)


# --- what works ----------------------------------------------------------------------------

@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_client_secret_jwt_gets_a_token(s2s, alg):
    r = post(s2s, make(s2s, "hs", alg, SECRET64.encode()))
    assert_token_for(r, "hs")


def test_generated_secret_keys_hs256_only(s2s):
    key = s2s.hsgen_secret.encode()
    assert len(key) == 43
    assert_token_for(post(s2s, make(s2s, "hsgen", "HS256", key)), "hsgen")
    # RFC 7518 §3.2: an HMAC key shorter than the hash output MUST NOT be used
    assert not refused(post(s2s, make(s2s, "hsgen", "HS384", key)))
    assert not refused(post(s2s, make(s2s, "hsgen", "HS512", key)))


@pytest.mark.parametrize("alg,kid", [("RS256", "r1"), ("PS256", "r1"), ("ES256", "e1"),
                                     ("RS256", "r2")])
def test_private_key_jwt_gets_a_token(s2s, keys, alg, kid):
    pem = {"r1": keys.rsa, "e1": keys.ec, "r2": keys.rsa2}[kid]
    assert_token_for(post(s2s, make(s2s, "pk", alg, pem, kid=kid)), "pk")


def test_single_key_needs_no_kid(s2s, keys):
    assert_token_for(post(s2s, make(s2s, "pk1", "ES256", keys.ec)), "pk1")


@pytest.mark.parametrize("aud", ["token_endpoint", "issuer", "array"])
def test_aud_may_be_the_token_endpoint_or_the_issuer(s2s, aud):
    value = {"token_endpoint": s2s.issuer + "/token", "issuer": s2s.issuer,
             "array": ["https://other.example", s2s.issuer + "/token"]}[aud]
    r = post(s2s, make(s2s, "hs", "HS256", SECRET64.encode(), claims={"aud": value}))
    assert_token_for(r, "hs")


def test_client_id_parameter_must_name_the_assertions_client(s2s):
    assert_token_for(post(s2s, make(s2s, "hs", "HS256", SECRET64.encode()), client_id="hs"),
                     "hs")
    assert not refused(post(s2s, make(s2s, "hs", "HS256", SECRET64.encode()), client_id="pk"))


def test_assertion_authenticates_before_the_grant_is_looked_at(s2s, keys):
    """With another grant, a good assertion gets past client authentication (the grant's own
    error), a bad one does not."""
    path = keys.rsa.parent / "web.jwks"
    path.write_text(json.dumps({"keys": [dict(keys.jwk[keys.ec], kid="w")]}))
    s2s.gh.ok("client", "add", "web", "--auth-method", "private_key_jwt", "--grant-types",
              "authorization_code", "--redirect-uri", "https://rp.example/cb", "--jwks", path)
    good = make(s2s, "web", "ES256", keys.ec, kid="w")
    r = post(s2s, good, grant_type="authorization_code", resource=None, code="bogus",
             redirect_uri="https://rp.example/cb", code_verifier="v" * 43)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    bad = make(s2s, "web", "ES256", keys.ec2, kid="w")
    r = post(s2s, bad, grant_type="authorization_code", resource=None, code="bogus",
             redirect_uri="https://rp.example/cb", code_verifier="v" * 43)
    assert not refused(r)


# --- single use (RFC 7523 §3 item 7, SECURITY.md J6) ---------------------------------------

def test_replayed_assertion_is_refused(s2s, keys):
    for a in (make(s2s, "hs", "HS256", SECRET64.encode()),
              make(s2s, "pk", "ES256", keys.ec, kid="e1")):
        assert post(s2s, a).status_code == 200
        assert not refused(post(s2s, a))
        assert not refused(post(s2s, a))


def test_refused_assertion_does_not_spend_its_jti(s2s):
    jti = uuid.uuid4().hex
    forged = make(s2s, "hs", "HS256", b"x" * 64, claims={"jti": jti})
    good = make(s2s, "hs", "HS256", SECRET64.encode(), claims={"jti": jti})
    assert not refused(post(s2s, forged))
    assert_token_for(post(s2s, good), "hs")


def test_jti_is_remembered_per_client(s2s, keys):
    jti = uuid.uuid4().hex
    assert_token_for(post(s2s, make(s2s, "hs", "HS256", SECRET64.encode(),
                                    claims={"jti": jti})), "hs")
    assert_token_for(post(s2s, make(s2s, "pk", "ES256", keys.ec, kid="e1",
                                    claims={"jti": jti})), "pk")


# --- alg and key attacks (J2, J3, J4, J8, J9) -----------------------------------------------

def test_alg_attacks_are_refused(s2s, keys):
    jwk_r1 = dict(keys.jwk[keys.rsa], kid="r1")
    cases = [
        ("alg none", make(s2s, "hs", "none", None), {}),
        ("alg none, pk", make(s2s, "pk", "none", None, kid="r1"), {}),
        ("alg None", make(s2s, "hs", "None", SECRET64.encode(), sign_as="HS256"), {}),
        ("alg hs256", make(s2s, "hs", "hs256", SECRET64.encode(), sign_as="HS256"), {}),
        ("alg RS512", make(s2s, "pk", "RS512", keys.rsa, kid="r1", sign_as="RS256"), {}),
        # a client_secret_jwt client cannot switch to a key it supplies the signature for
        ("RS256 for an HMAC client", make(s2s, "hs", "RS256", keys.rsa, kid="r1"), {}),
        ("ES256 for an HMAC client", make(s2s, "hs", "ES256", keys.ec), {}),
        # RS256 signature labelled PS256 and the reverse
        ("PKCS1 as PS256", make(s2s, "pk", "PS256", keys.rsa, kid="r1", sign_as="RS256"), {}),
        ("PSS as RS256", make(s2s, "pk", "RS256", keys.rsa, kid="r1", sign_as="PS256"), {}),
        # kty must fit the alg; r2 is published for RS256 only
        ("ES256 naming an RSA key", make(s2s, "pk", "ES256", keys.ec, kid="r1"), {}),
        ("RS256 naming an EC key", make(s2s, "pk", "RS256", keys.rsa, kid="e1"), {}),
        ("PS256 with an RS256-only key", make(s2s, "pk", "PS256", keys.rsa2, kid="r2"), {}),
        # a secret client's own secret, but registered for client_secret_basic
        ("basic client signs with its secret",
         make(s2s, "basic", "HS256", BASIC_SECRET.encode()), {}),
        ("wrong secret", make(s2s, "hs", "HS256", b"y" * 80), {}),
    ]
    # J2: HS256 keyed with the client's RSA public key, in every encoding
    for i, k in enumerate(rsa_public_key_encodings(jwk_r1, keys.rsa)):
        cases.append((f"HS256 keyed with public key encoding {i}",
                      make(s2s, "pk", "HS256", k, kid="r1"), {}))
        cases.append((f"HS256 keyed with public key encoding {i}, no kid",
                      make(s2s, "pk", "HS256", k), {}))
    assert_all_refused(s2s, cases)
    # controls
    assert_token_for(post(s2s, make(s2s, "pk", "RS256", keys.rsa2, kid="r2")), "pk")
    assert_token_for(post(s2s, make(s2s, "hs", "HS256", SECRET64.encode())), "hs")


def test_kid_attacks_are_refused(s2s, keys):
    cases = [(f"kid {kid!r}", make(s2s, "pk", "RS256", keys.rsa, kid=kid), {})
             for kid in ("../../../../dev/null", "' OR '1'='1", "r1\u0000", "%00", "R1",
                         "k" * 257, 7, {"kid": "r1"}, "", "nope")]
    cases += [
        # the key of another client, under its own kid
        ("kid of another client", make(s2s, "pk", "ES256", keys.ec2, kid="other"), {}),
        # several keys: a kid is required
        ("no kid, several keys", make(s2s, "pk", "RS256", keys.rsa), {}),
        # one key: a kid it does not carry is still refused
        ("unknown kid, one key", make(s2s, "pk1", "ES256", keys.ec, kid="e1"), {}),
        # the right kid, the wrong private key
        ("kid r1 signed by another RSA key", make(s2s, "pk", "RS256", keys.rsa2, kid="r1"), {}),
    ]
    assert_all_refused(s2s, cases)
    # a 10 KB kid does not fit a form parameter: refused before client authentication
    r = post(s2s, make(s2s, "pk", "RS256", keys.rsa, kid="k" * 10000))
    assert r.status_code in (400, 401) and "access_token" not in r.text, r.text
    assert_token_for(post(s2s, make(s2s, "pk", "RS256", keys.rsa, kid="r1")), "pk")


def test_keys_and_extensions_in_the_header_are_refused(s2s, keys):
    evil_jwk = dict(keys.jwk[keys.ec2])
    cases = [(name, make(s2s, "pk", "ES256", keys.ec2, kid="e1", header=h), {})
             for name, h in (("jku", {"jku": "http://127.0.0.1:9/jwks"}),
                             ("x5u", {"x5u": "http://127.0.0.1:9/cert"}),
                             ("jwk", {"jwk": evil_jwk}),
                             ("x5c", {"x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}))]
    # with the client's own, genuine signature: still refused for the header member
    cases += [(name, make(s2s, "pk", "ES256", keys.ec, kid="e1", header=h), {})
              for name, h in (("crit", {"crit": ["exp"]}), ("crit b64", {"crit": ["b64"],
                                                                          "b64": False}),
                              ("zip", {"zip": "DEF"}), ("enc", {"enc": "A128GCM"}),
                              ("cty", {"cty": "JWT"}), ("typ at+jwt", {"typ": "at+jwt"}),
                              ("jku, own key", {"jku": "http://127.0.0.1:9/jwks"}))]
    # J8: a duplicate alg member
    h = enc('{"alg":"ES256","kid":"e1","alg":"none"}')
    good = make(s2s, "pk", "ES256", keys.ec, kid="e1")
    p = good.split(".")[1]
    sig = sign("ES256", f"{h}.{p}".encode(), keys.ec)
    cases.append(("duplicate alg", f"{h}.{p}.{b64url(sig)}", {}))
    assert_all_refused(s2s, cases)
    assert_token_for(post(s2s, make(s2s, "pk", "ES256", keys.ec, kid="e1",
                                    header={"typ": "JWT"})), "pk")


# --- claims (J5) ----------------------------------------------------------------------------

def test_claim_matrix_is_refused(s2s):
    now = int(time.time())
    issuer = s2s.issuer
    changes = {
        "exp missing": {"exp": None},
        "exp long past": {"exp": now - 3600},
        "exp past the leeway": {"exp": now - 40},
        "exp more than 5 minutes ahead": {"exp": now + 600},
        "exp a year ahead": {"exp": now + 365 * 86400},
        "exp as a string": {"exp": str(now + 60)},
        "exp as a float": {"exp": now + 60.5},
        "exp negative": {"exp": -1},
        "exp 1e308": {"exp": 1e308},
        "nbf in the future": {"nbf": now + 120},
        "iat in the future": {"iat": now + 120},
        "iat too old": {"iat": now - 3600},
        "aud missing": {"aud": None},
        "aud another server": {"aud": "https://other.example/token"},
        "aud our userinfo": {"aud": issuer + "/userinfo"},
        "aud with a trailing slash": {"aud": issuer + "/token/"},
        "aud array without us": {"aud": ["https://other.example"]},
        "aud empty array": {"aud": []},
        "iss missing": {"iss": None},
        "sub missing": {"sub": None},
        "sub another client": {"sub": "pk"},
        "iss and sub another client": {"iss": "pk", "sub": "pk"},
        "iss and sub unknown": {"iss": "nobody", "sub": "nobody"},
        "jti missing": {"jti": None},
        "jti empty": {"jti": ""},
        "jti a number": {"jti": 12345},
        "jti too long": {"jti": "j" * 257},
    }
    cases = [(name, make(s2s, "hs", "HS256", SECRET64.encode(), claims=c), {})
             for name, c in changes.items()]
    # exp = 2^63 does not even parse as a JSON integer we accept
    h = enc({"alg": "HS256"})
    p = enc(f'{{"iss":"hs","sub":"hs","aud":"{issuer}/token","jti":"x",'
            f'"exp":9223372036854775808}}')
    cases.append(("exp 2^63", f"{h}.{p}.{b64url(sign('HS256', f'{h}.{p}'.encode(), SECRET64.encode()))}", {}))
    assert_all_refused(s2s, cases)
    # control: the edges that are still inside
    ok = make(s2s, "hs", "HS256", SECRET64.encode(),
              claims={"exp": now + 290, "iat": now - 10, "nbf": now, "jti": "j" * 256})
    assert_token_for(post(s2s, ok), "hs")


# --- tampering (J7) -------------------------------------------------------------------------

def test_tampered_assertions_are_refused(s2s, keys):
    def flip(s: str, i: int) -> str:
        c = s[i]
        return s[:i] + ("B" if c == "A" else "A") + s[i + 1:]

    good_hs = make(s2s, "hs", "HS256", SECRET64.encode())
    good_rs = make(s2s, "pk", "RS256", keys.rsa, kid="r1")
    cases = []
    for name, g in (("HS256", good_hs), ("RS256", good_rs)):
        h, p, s = g.split(".")
        raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
        cases += [
            (f"{name}: signature changed", f"{h}.{p}.{flip(s, 0)}", {}),
            (f"{name}: payload changed", f"{h}.{flip(p, 5)}.{s}", {}),
            (f"{name}: header changed", f"{flip(h, 3)}.{p}.{s}", {}),
            (f"{name}: signature one byte short", f"{h}.{p}.{b64url(raw[:-1])}", {}),
            (f"{name}: signature empty", f"{h}.{p}.", {}),
            (f"{name}: padded", g + "=", {}),
            (f"{name}: standard base64", f"{h}.{p}.{s.replace('-', '+').replace('_', '/')}"
             if ("-" in s or "_" in s) else g + "+", {}),
            (f"{name}: two parts", f"{h}.{p}", {}),
            (f"{name}: four parts", g + ".AAAA", {}),
            (f"{name}: five parts (JWE shape)", g + ".AAAA.AAAA", {}),
            (f"{name}: trailing dot", g + ".", {}),
            (f"{name}: a space inside", f"{h}. {p}.{s}", {}),
        ]
        # a control character never reaches client authentication: the form parser refuses it
        r = post(s2s, f"{h}.{p}\n.{s}")
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    # each of these is used only once, so replay cannot be what refuses them; then the originals
    assert_all_refused(s2s, cases)
    assert_token_for(post(s2s, good_hs), "hs")
    assert_token_for(post(s2s, good_rs), "pk")


# --- request rules --------------------------------------------------------------------------

def test_conflicting_or_incomplete_parameters_are_invalid_request(s2s):
    a = make(s2s, "hs", "HS256", SECRET64.encode())
    for r in (post(s2s, a, client_secret=SECRET64, client_id="hs"),
              post(s2s, a, headers={"Authorization": basic_auth("hs", SECRET64)}),
              post(s2s, a, assertion_type=None),
              post(s2s, a, assertion_type=""),     # RFC 6749 §3.1: empty = omitted
              post(s2s, None)):
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "invalid_request", r.text
    # still unused: accepted now
    assert_token_for(post(s2s, a), "hs")


@pytest.mark.parametrize("atype", [
    "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
    JWT_BEARER.upper(), JWT_BEARER + " ", "jwt-bearer"])
def test_other_assertion_types_are_invalid_client(s2s, atype):
    assert not refused(post(s2s, make(s2s, "hs", "HS256", SECRET64.encode()),
                            assertion_type=atype))


def test_oversized_assertion_is_refused_and_server_survives(s2s):
    big = make(s2s, "hs", "HS256", SECRET64.encode(), claims={"pad": "p" * 9000})
    r = post(s2s, big)
    assert r.status_code in (400, 401), r.text
    assert "access_token" not in r.text
    assert_token_for(post(s2s, make(s2s, "hs", "HS256", SECRET64.encode())), "hs")


def test_reasons_go_to_the_log_not_to_the_client(s2s, keys):
    r = post(s2s, make(s2s, "pk", "HS256", b"k" * 64, kid="r1"))
    assert not refused(r)
    assert "HMAC" not in r.text and "kid" not in r.text
    log = s2s.server.stderr()
    assert "client_auth_fail" in log and "HMAC alg" in log, log[-2000:]
    assert SECRET64 not in log
