"""`gatehouse client …`: generated and supplied secrets (printed once, never again, never
stored in clear), redirect URI rules, LIST arguments, public clients, private_key_jwt JWKS,
the login-flow settings (consent page, PKCE, token signing alg) and the RFC 7591 JSON shape."""
import json
import re
import subprocess

import pytest

from ghtest import B64URL43, RFC3339_UTC, b64url_decode
from jwk import pem_to_jwk

CLIENT_KEYS = {"client_id", "client_name", "public", "token_endpoint_auth_method",
               "redirect_uris", "post_logout_redirect_uris", "grant_types", "scope",
               "has_secret", "consent", "pkce_required", "signing_alg", "created_at",
               "updated_at"}
RP = "https://rp.example/cb"
SECRET32 = "0123456789abcdefghijklmnopqrstuv"


def add(gh, client_id, *args, input=None):
    return gh.run("client", "add", client_id, *args, input=input)


def add_json(gh, client_id, *args, input=None):
    out = gh.ok("client", "add", client_id, *args, "--json", input=input)
    return json.loads(out)


def generated_secret_from_text(out, client_id):
    # "added client x", then "client_secret: …"; a further hint line is allowed
    m = re.match(rf"added client {re.escape(client_id)}\nclient_secret: (\S+)\n", out)
    assert m, f"unexpected `client add` output: {out!r}"
    assert out.count(m.group(1)) == 1
    return m.group(1)


def make_ec_key(tmp_path, name="rp"):
    pem = tmp_path / f"{name}.pem"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
                    "-out", str(pem)], check=True, capture_output=True)
    return pem


def write_jwks(tmp_path, private=False, name="rp"):
    jwk = pem_to_jwk(str(make_ec_key(tmp_path, name)), private=private)
    jwk.update({"kid": f"{name}-1", "use": "sig", "alg": "ES256"})
    path = tmp_path / f"{name}.jwks"
    path.write_text(json.dumps({"keys": [jwk]}))
    return path, {"keys": [jwk]}


# --- generated secrets ---------------------------------------------------------------------

def test_confidential_client_gets_a_generated_secret_printed_once(ready):
    rc, out, err = add(ready, "shop", "--redirect-uri", RP)
    assert rc == 0, err
    secret = generated_secret_from_text(out, "shop")
    assert B64URL43.match(secret), f"a 256-bit secret is 43 base64url characters: {secret!r}"
    assert len(b64url_decode(secret)) == 32
    for args in (["client", "show", "shop"], ["client", "show", "shop", "--json"],
                 ["client", "list"], ["client", "list", "--json"], ["keys", "list"]):
        out2 = ready.ok(*args)
        assert secret not in out2, f"`gatehouse {' '.join(args)}` printed the secret"


def test_add_json_gives_client_id_and_secret(ready):
    j = add_json(ready, "shop", "--redirect-uri", RP)
    assert set(j) == {"client_id", "client_secret"}
    assert j["client_id"] == "shop"
    assert B64URL43.match(j["client_secret"])


def test_generated_secrets_differ(ready):
    a = add_json(ready, "a", "--redirect-uri", RP)["client_secret"]
    b = add_json(ready, "b", "--redirect-uri", RP)["client_secret"]
    assert a != b


def test_secret_is_not_stored_in_clear(ready):
    secret = add_json(ready, "shop", "--redirect-uri", RP)["client_secret"]
    dump = ready.dump()
    assert secret not in dump
    assert b64url_decode(secret).hex() not in dump.lower()
    assert "$argon2" not in dump, "client secrets get a fast keyed hash, not a password hash"


def test_client_secret_jwt_secret_is_stored_sealed_not_in_clear(ready):
    secret = "a-client-secret-jwt-secret-0123456789"
    rc, out, err = add(ready, "hmac", "--auth-method", "client_secret_jwt", "--redirect-uri",
                       RP, "--secret-stdin", input=secret + "\n")
    assert rc == 0, err
    assert secret not in out + err
    dump = ready.dump()
    assert secret not in dump
    assert secret.encode().hex() not in dump.lower()
    assert ready.client("hmac")["token_endpoint_auth_method"] == "client_secret_jwt"


def test_rotate_secret_prints_a_new_one_once(ready):
    old = add_json(ready, "shop", "--redirect-uri", RP)["client_secret"]
    rc, out, err = ready.run("client", "rotate-secret", "shop")
    assert rc == 0, err
    new = re.search(r"client_secret: (\S+)", out)
    assert new, out
    new = new.group(1)
    assert B64URL43.match(new) and new != old
    j = json.loads(ready.ok("client", "rotate-secret", "shop", "--json"))
    assert j["client_id"] == "shop" and B64URL43.match(j["client_secret"])
    assert j["client_secret"] not in (old, new)
    assert j["client_secret"] not in ready.ok("client", "show", "shop", "--json")


def test_rotate_secret_from_stdin(ready):
    add_json(ready, "shop", "--redirect-uri", RP)
    supplied = "s" * 31 + "X"
    rc, out, err = ready.run("client", "rotate-secret", "shop", "--secret-stdin",
                             input=supplied + "\n")
    assert rc == 0, err
    assert supplied not in out + err
    before = ready.dump()
    ready.fails("client", "rotate-secret", "shop", "--secret-stdin", input="s" * 31 + "\n")
    assert ready.dump() == before


def test_rotate_secret_of_public_or_unknown_client_fails(ready):
    ready.ok("client", "add", "spa", "--public", "--redirect-uri", RP)
    before = ready.dump()
    ready.fails("client", "rotate-secret", "spa")
    ready.fails("client", "rotate-secret", "nobody")
    assert ready.dump() == before


def test_no_secret_is_printed_except_the_one_just_generated(ready):
    s1 = add_json(ready, "shop", "--redirect-uri", RP)["client_secret"]
    mark = len(ready.history)
    ready.ok("client", "show", "shop")
    ready.ok("client", "show", "shop", "--json")
    ready.ok("client", "list", "--json")
    s2 = json.loads(ready.ok("client", "rotate-secret", "shop", "--json"))["client_secret"]
    ready.ok("client", "list")
    ready.fails("client", "add", "shop", "--redirect-uri", RP)     # duplicate
    ready.ok("client", "show", "shop", "--json")
    later = "\n".join(o + e for _, o, e in ready.history[mark:])
    assert s1 not in later
    assert later.count(s2) == 1, "the rotated secret must appear exactly once"


# --- operator-supplied secrets --------------------------------------------------------------

def test_supplied_secret_of_31_characters_is_rejected_32_accepted_and_not_echoed(ready):
    before = ready.dump()
    line = ready.fails("client", "add", "shop", "--redirect-uri", RP, "--secret-stdin",
                       input=SECRET32[:31] + "\n")
    assert "32" in line, line
    assert SECRET32[:31] not in line
    assert ready.dump() == before
    rc, out, err = add(ready, "shop", "--redirect-uri", RP, "--secret-stdin", "--json",
                       input=SECRET32 + "\n")
    assert rc == 0, err
    assert SECRET32 not in out + err
    assert json.loads(out) == {"client_id": "shop"}
    c = ready.client("shop")
    assert c["has_secret"] is True
    assert SECRET32 not in ready.dump()


def test_supplied_secret_text_output_has_no_secret_line(ready):
    rc, out, err = add(ready, "shop", "--redirect-uri", RP, "--secret-stdin",
                       input=SECRET32 + "\n")
    assert rc == 0, err
    assert out.strip() == "added client shop"


def test_empty_supplied_secret_is_rejected(ready):
    ready.fails("client", "add", "shop", "--redirect-uri", RP, "--secret-stdin", input="\n")
    assert ready.clients() == []


# --- the JSON shape and defaults -----------------------------------------------------------

def test_show_json_uses_rfc7591_names_and_defaults(ready):
    add_json(ready, "shop", "--redirect-uri", RP)
    c = ready.client("shop")
    assert set(c) == CLIENT_KEYS, f"unexpected members: {set(c) ^ CLIENT_KEYS}"
    assert c["client_id"] == "shop"
    assert c["client_name"] == "shop"
    assert c["public"] is False
    assert c["token_endpoint_auth_method"] == "client_secret_basic"
    assert c["redirect_uris"] == [RP]
    assert c["post_logout_redirect_uris"] == []
    assert c["grant_types"] == ["authorization_code", "refresh_token"]
    assert c["scope"] == "openid profile email"
    assert c["has_secret"] is True
    assert c["consent"] is False, "first-party apps skip the consent page by default"
    assert c["pkce_required"] is True
    assert c["signing_alg"] == "RS256"
    assert RFC3339_UTC.match(c["created_at"]) and RFC3339_UTC.match(c["updated_at"])


def test_all_options_round_trip(ready):
    add_json(ready, "shop", "--name", "The Shop", "--redirect-uri", RP,
             "--redirect-uri", "http://127.0.0.1:9000/cb",
             "--post-logout-redirect-uri", "https://rp.example/bye",
             "--auth-method", "client_secret_post",
             "--grant-types", "authorization_code,refresh_token,client_credentials",
             "--scopes", "openid email")
    c = ready.client("shop")
    assert c["client_name"] == "The Shop"
    assert c["redirect_uris"] == [RP, "http://127.0.0.1:9000/cb"]
    assert c["post_logout_redirect_uris"] == ["https://rp.example/bye"]
    assert c["token_endpoint_auth_method"] == "client_secret_post"
    assert c["grant_types"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert c["scope"] == "openid email"


@pytest.mark.parametrize("spelling", ["openid,email", "openid email", "openid, email",
                                      "openid  email"])
def test_list_arguments_are_comma_or_space_separated(ready, spelling):
    add_json(ready, "shop", "--redirect-uri", RP, "--scopes", spelling,
             "--grant-types", spelling.replace("openid", "authorization_code")
             .replace("email", "refresh_token"))
    c = ready.client("shop")
    assert c["scope"] == "openid email"
    assert c["grant_types"] == ["authorization_code", "refresh_token"]


def test_unknown_grant_type_is_rejected(ready):
    ready.fails("client", "add", "shop", "--redirect-uri", RP, "--grant-types",
                "authorization_code,password")
    assert ready.clients() == []


@pytest.mark.parametrize("method", ["bogus", "CLIENT_SECRET_BASIC", "tls_client_auth"])
def test_unknown_auth_method_is_rejected(ready, method):
    ready.fails("client", "add", "shop", "--redirect-uri", RP, "--auth-method", method,
                rc=(1, 2))
    assert ready.clients() == []


def test_list_text_and_json(ready):
    assert ready.clients() == []
    add_json(ready, "a", "--redirect-uri", RP)
    ready.ok("client", "add", "b", "--public", "--redirect-uri", RP)
    cs = ready.clients()
    assert sorted(c["client_id"] for c in cs) == ["a", "b"]
    for c in cs:
        assert set(c) == CLIENT_KEYS
    text = ready.ok("client", "list")
    assert "a" in text and "b" in text


def test_duplicate_client_id_fails_and_changes_nothing(ready):
    add_json(ready, "shop", "--redirect-uri", RP)
    before = ready.dump()
    line = ready.fails("client", "add", "shop", "--redirect-uri", "https://other.example/cb")
    assert line.startswith("gatehouse client add:"), line
    assert "shop" in line
    assert ready.dump() == before


@pytest.mark.parametrize("client_id", ["bad id", "a/b", "a?b", "é", "x" * 129, "",
                                       "a\nb"])
def test_invalid_client_ids_are_rejected(ready, client_id):
    before = ready.dump()
    ready.fails("client", "add", client_id, "--redirect-uri", RP)
    assert ready.dump() == before


def test_delete(ready):
    add_json(ready, "shop", "--redirect-uri", RP)
    ready.ok("client", "delete", "shop")
    ready.fails("client", "show", "shop")
    assert ready.clients() == []
    ready.fails("client", "delete", "shop")


# --- redirect URIs ------------------------------------------------------------------------

@pytest.mark.parametrize("uri,public,good", [
    ("https://rp.example/cb", False, True),
    ("https://rp.example:8443/cb?x=1", False, True),
    ("http://127.0.0.1:9000/cb", False, True),
    ("http://127.0.0.1/cb", False, True),
    ("http://localhost:9000/cb", False, True),
    ("http://[::1]:9000/cb", False, True),
    ("com.example.app:/cb", True, True),
    ("com.example.app:/cb", False, False),        # private-use scheme: native (public) only
    ("http://example.com/cb", False, False),
    ("http://example.com/cb", True, False),
    ("http://127.0.0.1.evil.example/cb", False, False),
    ("http://localhost.evil.example/cb", False, False),
    ("https://rp.example/cb#frag", False, False),
    ("https://rp.example/cb#", False, False),
    ("https://user:pw@rp.example/cb", False, False),
    ("javascript:alert(1)", False, False),
    ("javascript:alert(1)", True, False),
    ("data:text/html,hi", True, False),
    ("/cb", False, False),
    ("rp.example/cb", False, False),
    ("https://", False, False),
    ("", False, False),
])
def test_redirect_uri_rules(ready, uri, public, good):
    before = ready.dump()
    args = ["client", "add", "app", "--redirect-uri", uri] + (["--public"] if public else [])
    rc, out, err = ready.run(*args)
    if good:
        assert rc == 0, f"{uri!r} (public={public}) rejected: {err}"
        assert ready.client("app")["redirect_uris"] == [uri]
    else:
        assert rc == 1, f"{uri!r} (public={public}) gave exit {rc}: {out}{err}"
        assert len([ln for ln in err.splitlines() if ln.strip()]) == 1, err
        assert ready.dump() == before


@pytest.mark.parametrize("uri", ["http://example.com/bye", "https://rp.example/bye#x",
                                 "javascript:alert(1)"])
def test_post_logout_redirect_uris_follow_the_same_rules(ready, uri):
    before = ready.dump()
    ready.fails("client", "add", "app", "--redirect-uri", RP, "--post-logout-redirect-uri",
                uri)
    assert ready.dump() == before


def test_one_bad_redirect_uri_among_good_ones_rejects_the_client(ready):
    ready.fails("client", "add", "app", "--redirect-uri", RP, "--redirect-uri",
                "http://example.com/cb")
    assert ready.clients() == []


# --- public clients ------------------------------------------------------------------------

def test_public_client_has_no_secret_and_auth_method_none(ready):
    rc, out, err = add(ready, "spa", "--public", "--redirect-uri", RP)
    assert rc == 0, err
    assert "client_secret" not in out
    assert json.loads(ready.ok("client", "add", "spa2", "--public", "--redirect-uri", RP,
                               "--json")) == {"client_id": "spa2"}
    c = ready.client("spa")
    assert c["public"] is True
    assert c["token_endpoint_auth_method"] == "none"
    assert c["has_secret"] is False
    assert c["pkce_required"] is True


@pytest.mark.parametrize("extra,input", [
    (["--secret-stdin"], SECRET32 + "\n"),
    (["--grant-types", "client_credentials"], None),
    (["--grant-types", "authorization_code,client_credentials"], None),
    (["--auth-method", "client_secret_basic"], None),
    (["--auth-method", "private_key_jwt"], None),
])
def test_public_client_contradictions_are_rejected(ready, extra, input):
    before = ready.dump()
    rc, out, err = ready.run("client", "add", "spa", "--public", "--redirect-uri", RP, *extra,
                             input=input)
    assert rc in (1, 2), f"{extra}: exit {rc}"
    assert SECRET32 not in out + err
    assert ready.dump() == before


def test_confidential_client_credentials_client(ready):
    j = add_json(ready, "svc", "--grant-types", "client_credentials")
    assert B64URL43.match(j["client_secret"])
    assert ready.client("svc")["grant_types"] == ["client_credentials"]


# --- private_key_jwt ----------------------------------------------------------------------

def test_private_key_jwt_requires_jwks(ready):
    line = ready.fails("client", "add", "svc", "--auth-method", "private_key_jwt",
                       "--grant-types", "client_credentials", rc=2)   # a usage error
    assert "jwks" in line.lower(), line
    assert ready.clients() == []


def test_private_key_jwt_with_public_jwks(ready, tmp_path):
    path, doc = write_jwks(tmp_path)
    rc, out, err = ready.run("client", "add", "svc", "--auth-method", "private_key_jwt",
                             "--grant-types", "client_credentials", "--jwks", path, "--json")
    assert rc == 0, err
    assert json.loads(out) == {"client_id": "svc"}, "a key-based client gets no secret"
    c = ready.client("svc")
    assert set(c) == CLIENT_KEYS | {"jwks"}
    assert c["jwks"] == doc
    assert c["has_secret"] is False
    assert c["token_endpoint_auth_method"] == "private_key_jwt"
    ready.fails("client", "rotate-secret", "svc")


def test_jwks_with_a_private_key_is_rejected(ready, tmp_path):
    path, doc = write_jwks(tmp_path, private=True)
    d = doc["keys"][0]["d"]
    before = ready.dump()
    rc, out, err = ready.run("client", "add", "svc", "--auth-method", "private_key_jwt",
                             "--grant-types", "client_credentials", "--jwks", path)
    assert rc == 1, f"a JWKS with a private key was accepted: {out}{err}"
    assert d not in out + err
    assert ready.dump() == before


@pytest.mark.parametrize("content", [
    "not json",
    "{}",
    '{"keys": []}',
    '{"keys": [{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}',
    '[]',
])
def test_bad_jwks_files_are_rejected(ready, tmp_path, content):
    path = tmp_path / "bad.jwks"
    path.write_text(content)
    ready.fails("client", "add", "svc", "--auth-method", "private_key_jwt",
                "--grant-types", "client_credentials", "--jwks", path)
    assert ready.clients() == []


def test_missing_jwks_file_is_rejected(ready, tmp_path):
    line = ready.fails("client", "add", "svc", "--auth-method", "private_key_jwt",
                       "--grant-types", "client_credentials", "--jwks", tmp_path / "nope.jwks")
    assert "nope.jwks" in line, line


def test_jwks_with_duplicate_members_is_rejected(ready, tmp_path):
    path, doc = write_jwks(tmp_path)
    text = json.dumps(doc)
    # a second "keys" member would let two parsers see different keys
    path.write_text(text[:-1] + ', "keys": []}')
    ready.fails("client", "add", "svc", "--auth-method", "private_key_jwt",
                "--grant-types", "client_credentials", "--jwks", path)


def test_secret_or_password_with_a_nul_byte_is_refused(ready):
    # a NUL would silently shorten the secret in C string handling: refuse it outright
    before = ready.dump()
    line = ready.fails("client", "add", "shop", "--redirect-uri", RP, "--secret-stdin",
                       input=SECRET32 + "\0" + SECRET32 + "\n")
    assert "NUL" in line, line
    line = ready.fails("user", "add", "alice", "--password-stdin",
                       input="a long passphrase\0 with a nul\n")
    assert "NUL" in line, line
    assert ready.dump() == before


# --- login-flow settings: consent page, PKCE, token signing alg -----------------------------

@pytest.fixture
def flags(ready):
    """`ready`, for tests of the --consent, --signing-alg and --pkce-optional options of
    `client add` (which its --help must list)."""
    help_text = ready.ok("client", "add", "--help")
    for opt in ("--consent", "--signing-alg", "--pkce-optional"):
        assert opt in help_text, opt
    return ready


def test_show_text_lists_the_login_settings(ready):
    add_json(ready, "shop", "--redirect-uri", RP)
    out = ready.ok("client", "show", "shop")
    assert re.search(r"^consent page: +no$", out, re.M), out
    assert re.search(r"^PKCE: +required$", out, re.M), out
    assert re.search(r"^signing alg: +RS256$", out, re.M), out


def test_login_settings_round_trip(flags):
    add_json(flags, "erp", "--redirect-uri", RP, "--consent", "--signing-alg", "PS256",
             "--pkce-optional")
    c = flags.client("erp")
    assert (c["consent"], c["pkce_required"], c["signing_alg"]) == (True, False, "PS256")
    flags.ok("client", "add", "spa", "--public", "--redirect-uri", RP, "--consent",
             "--signing-alg", "ES256")
    c = flags.client("spa")
    assert (c["consent"], c["pkce_required"], c["signing_alg"]) == (True, True, "ES256")
    by_id = {c["client_id"]: c for c in flags.clients()}
    assert by_id["erp"]["signing_alg"] == "PS256" and by_id["spa"]["pkce_required"] is True
    out = flags.ok("client", "show", "erp")
    assert re.search(r"^consent page: +yes$", out, re.M), out
    assert re.search(r"^PKCE: +optional$", out, re.M), out
    assert re.search(r"^signing alg: +PS256$", out, re.M), out


@pytest.mark.parametrize("order", [("--public", "--pkce-optional"),
                                   ("--pkce-optional", "--public")])
def test_public_client_cannot_skip_pkce(flags, order):
    # RFC 9700 §2.1.1: a public client has nothing but PKCE to bind the code to itself
    before = flags.dump()
    line = flags.fails("client", "add", "spa", *order, "--redirect-uri", RP, rc=2)
    assert line.startswith("gatehouse client add:"), line
    assert "PKCE" in line and "public" in line, line
    assert flags.dump() == before


@pytest.mark.parametrize("alg", ["HS256", "none", "rs256", "ES512", "RS256 ", ""])
def test_unknown_signing_alg_is_a_usage_error(flags, alg):
    before = flags.dump()
    line = flags.fails("client", "add", "shop", "--redirect-uri", RP, "--signing-alg", alg,
                       rc=2)
    assert "--signing-alg" in line and "RS256, ES256, PS256" in line, line
    assert flags.dump() == before
