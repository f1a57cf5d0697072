"""`gatehouse issuer …` (issue 4): trusted issuers of JWT-bearer grant assertions (RFC 7523
§2.1). Covers add with an inline JWKS or a jwks_uri (https, or http only to a loopback host),
the issuer identifier rules (never our own issuer, no control characters), the JWKS rules
(public RSA or P-256 signing keys), the listed clients (existing and confidential), list/show
in text and --json, disable/enable/delete, exit codes (1 failure, 2 usage) with one line on
stderr, that a refused command changes nothing, and the cascade when a client is deleted."""
import json

import pytest

from ghtest import RFC3339_UTC

GT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
IDP = "https://idp.example"
EC_JWK = {"kty": "EC", "crv": "P-256", "kid": "k1",
          "x": "4AiF9KtXQDTTbMggJ676cofa3DvFOH5mkI2M2iPQtuk",
          "y": "ki3-vphG94-b_2---GAkdXqh0-UQH3XZCvSWk95Ts0s"}
KEYS = {"issuer", "disabled", "clients", "created_at", "updated_at"}


@pytest.fixture
def gh(ready):
    """An initialised data location (issuer https://id.example recorded) with confidential
    clients svc and svc2 and a public one (spa)."""
    ready.ok("client", "add", "svc", "--grant-types", GT)
    ready.ok("client", "add", "svc2", "--grant-types", GT)
    ready.ok("client", "add", "spa", "--public", "--redirect-uri", "https://rp.example/cb")
    ready.sql("INSERT INTO meta (name, value) VALUES ('issuer', 'https://id.example') "
              "ON CONFLICT (name) DO UPDATE SET value = excluded.value")   # SQLite and PG
    return ready


@pytest.fixture
def jwks(tmp_path):
    f = tmp_path / "idp.jwks"
    f.write_text(json.dumps({"keys": [EC_JWK]}))
    return f


def count(gh, sql):
    return int(gh.sql(sql).strip())


def test_add_with_inline_jwks_and_show_round_trips(gh, jwks):
    out = gh.ok("issuer", "add", IDP, "--jwks", jwks, "--client", "svc", "--client", "svc2")
    assert out == f"added issuer {IDP}\n"
    j = gh.json("issuer", "show", IDP)
    assert KEYS <= set(j) and j["issuer"] == IDP and j["disabled"] is False
    assert j["clients"] == ["svc", "svc2"]
    assert j["jwks"] == {"keys": [EC_JWK]} and "jwks_uri" not in j
    assert RFC3339_UTC.match(j["created_at"])
    text = gh.ok("issuer", "show", IDP)
    assert "enabled" in text and "svc svc2" in text and "inline JWKS" in text
    assert [i["issuer"] for i in gh.json("issuer", "list")] == [IDP]
    assert IDP in gh.ok("issuer", "list")


def test_add_json_prints_the_record(gh, jwks):
    j = gh.json("issuer", "add", "urn:example:idp", "--jwks", jwks, "--client", "svc")
    assert j["issuer"] == "urn:example:idp" and j["clients"] == ["svc"]


def test_add_with_jwks_uri_https_or_loopback_http(gh):
    for i, uri in enumerate(("https://idp.example/jwks.json", "http://127.0.0.1:8080/jwks",
                             "http://[::1]:8080/jwks")):
        j = gh.json("issuer", "add", f"https://idp{i}.example", "--jwks-uri", uri,
                    "--client", "svc")
        assert j["jwks_uri"] == uri and "jwks" not in j


@pytest.mark.parametrize("uri", [
    "http://idp.example/jwks.json", "http://10.0.0.1/jwks", "ftp://idp.example/jwks",
    "file:///etc/passwd", "https://idp.example/jwks#frag", "https://user@idp.example/jwks",
    "jwks.json"])
def test_jwks_uri_refused_outside_the_ssrf_limits(gh, uri):
    gh.fails("issuer", "add", IDP, "--jwks-uri", uri, "--client", "svc")
    assert count(gh, "SELECT count(*) FROM trusted_issuers") == 0


@pytest.mark.parametrize("iss", ["https://id.example", "https://id.example/", "",
                                 "bad\nissuer", "two words", "https://x.example/\x1b[31m"])
def test_bad_or_own_issuer_refused(gh, jwks, iss):
    gh.fails("issuer", "add", iss, "--jwks", jwks, "--client", "svc")
    assert count(gh, "SELECT count(*) FROM trusted_issuers") == 0


@pytest.mark.parametrize("doc", [
    "not json", {"keys": []}, {"keys": [{**EC_JWK, "d": "AAAA"}]},
    {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, {"keys": [{**EC_JWK, "x": "AAAA"}]}])
def test_bad_jwks_refused(gh, tmp_path, doc):
    f = tmp_path / "bad.jwks"
    f.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    gh.fails("issuer", "add", IDP, "--jwks", f, "--client", "svc")
    assert count(gh, "SELECT count(*) FROM trusted_issuers") == 0


def test_clients_must_exist_and_be_confidential(gh, jwks):
    assert "no client" in gh.fails("issuer", "add", IDP, "--jwks", jwks, "--client", "ghost")
    assert "public" in gh.fails("issuer", "add", IDP, "--jwks", jwks, "--client", "spa")
    gh.fails("issuer", "add", IDP, "--jwks", jwks, "--client", "svc", "--client", "ghost")
    assert count(gh, "SELECT count(*) FROM trusted_issuers") == 0
    assert count(gh, "SELECT count(*) FROM issuer_clients") == 0


def test_allow_and_disallow_edit_the_client_list(gh, jwks):
    gh.ok("issuer", "add", IDP, "--jwks", jwks, "--client", "svc")
    assert gh.ok("issuer", "allow", IDP, "svc2") == f"client svc2 may present assertions of {IDP}\n"
    assert gh.json("issuer", "show", IDP)["clients"] == ["svc", "svc2"]
    assert "already" in gh.ok("issuer", "allow", IDP, "svc2")          # idempotent
    assert "public" in gh.fails("issuer", "allow", IDP, "spa")
    assert "no client" in gh.fails("issuer", "allow", IDP, "ghost")
    assert "no issuer" in gh.fails("issuer", "allow", "https://nobody.example", "svc")
    out = gh.ok("issuer", "disallow", IDP, "svc")
    assert out == f"client svc may no longer present assertions of {IDP}\n"
    assert gh.json("issuer", "show", IDP)["clients"] == ["svc2"]
    assert "not listed" in gh.fails("issuer", "disallow", IDP, "svc")
    gh.fails("issuer", "allow", IDP, rc=2)                                # CLIENT_ID missing
    assert count(gh, "SELECT count(*) FROM issuer_clients") == 1


def test_usage_errors_exit_2(gh, jwks):
    gh.fails("issuer", "add", IDP, "--jwks", jwks, rc=2)                       # no client
    gh.fails("issuer", "add", IDP, "--client", "svc", rc=2)                    # no keys
    gh.fails("issuer", "add", IDP, "--jwks", jwks, "--jwks-uri", "https://x.example/j",
             "--client", "svc", rc=2)                                           # both
    gh.fails("issuer", "add", "--jwks", jwks, "--client", "svc", rc=2)         # no ISSUER
    gh.fails("issuer", "show", rc=2)
    gh.fails("issuer", "add", IDP, "--jwks", jwks, "--client", "svc", "--bogus", rc=2)


def test_duplicate_and_unknown(gh, jwks):
    gh.ok("issuer", "add", IDP, "--jwks", jwks, "--client", "svc")
    assert "already" in gh.fails("issuer", "add", IDP, "--jwks", jwks, "--client", "svc2")
    for cmd in ("show", "disable", "enable", "delete"):
        assert "no issuer" in gh.fails("issuer", cmd, "https://nope.example")


def test_disable_enable_delete(gh, jwks):
    gh.ok("issuer", "add", IDP, "--jwks", jwks, "--client", "svc")
    assert gh.ok("issuer", "disable", IDP) == f"disabled issuer {IDP}\n"
    assert gh.json("issuer", "show", IDP)["disabled"] is True
    assert "disabled" in gh.ok("issuer", "list")
    gh.ok("issuer", "enable", IDP)
    assert gh.json("issuer", "show", IDP)["disabled"] is False
    assert gh.ok("issuer", "delete", IDP) == f"deleted issuer {IDP}\n"
    assert gh.json("issuer", "list") == []
    assert count(gh, "SELECT count(*) FROM issuer_clients") == 0


def test_deleting_a_client_removes_it_from_issuers(gh, jwks):
    gh.ok("issuer", "add", IDP, "--jwks", jwks, "--client", "svc", "--client", "svc2")
    gh.ok("client", "delete", "svc")
    assert gh.json("issuer", "show", IDP)["clients"] == ["svc2"]


def test_public_client_cannot_have_the_grant(gh):
    gh.fails("client", "add", "pub2", "--public", "--redirect-uri", "https://rp.example/cb",
             "--grant-types", f"authorization_code,{GT}")


def test_help_lists_the_commands(gh):
    out = gh.ok("issuer", "--help")
    for c in ("add", "list", "show", "disable", "enable", "delete"):
        assert f"gatehouse issuer {c}" in out, out
    out = gh.ok("issuer", "add", "--help")
    for o in ("--jwks", "--jwks-uri", "--client", "--json"):
        assert o in out


def test_error_lines_neutralise_control_characters(gh):
    line = gh.fails("issuer", "show", "https://x.example/\n\x1b[31mfake")
    assert "\x1b" not in line
