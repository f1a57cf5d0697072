"""`gatehouse keys …`: RS256 + ES256 + PS256 after init (PS256 with its own RSA key), kid =
RFC 7638 thumbprint of the PEM key, `keys generate` adds the newest (signing) key of its
algorithm. With SQLite a key is the file <keys>/<kid>.pem (0600); with PostgreSQL
(GATEHOUSE_TEST_PG=1) it is sealed in the database and no file exists (gh.key_pem opens it)."""
import json
import os
import re
import stat
import subprocess

import pytest

from ghtest import B64URL43, PG_MODE, RFC3339_UTC, b64url_decode
from jwk import pem_to_jwk, thumbprint


def pem_info(path):
    p = subprocess.run(["openssl", "pkey", "-in", str(path), "-noout", "-text_pub"],
                       capture_output=True, text=True)
    assert p.returncode == 0, f"openssl cannot read {path}: {p.stderr}"
    return p.stdout


def pem_key_oids(path):
    """The OBJECT names in the PKCS#8 AlgorithmIdentifier: ['rsaEncryption'] for a plain RSA
    key (not 'rsassaPss'), ['id-ecPublicKey', 'prime256v1'] for P-256."""
    p = subprocess.run(["openssl", "asn1parse", "-in", str(path)], capture_output=True, text=True)
    assert p.returncode == 0, f"openssl cannot parse {path}: {p.stderr}"
    return [ln.rsplit(":", 1)[1].strip() for ln in p.stdout.splitlines() if "OBJECT" in ln]


def key_file(gh, kid):
    """The PEM of signing key kid: its file (SQLite, mode 0600), or its sealed row opened
    (PostgreSQL, where no key file may exist)."""
    if PG_MODE:
        assert not (gh.keys / f"{kid}.pem").exists(), "a private key file in PostgreSQL mode"
    else:
        assert stat.S_IMODE(os.stat(gh.keys / f"{kid}.pem").st_mode) == 0o600
    return gh.key_pem(kid)


def assert_rsa_2048_e65537(pem):
    assert pem_key_oids(pem) == ["rsaEncryption"], f"{pem.name}: {pem_key_oids(pem)}"
    jwk = pem_to_jwk(str(pem))
    assert jwk["kty"] == "RSA"
    assert int.from_bytes(b64url_decode(jwk["n"]), "big").bit_length() == 2048
    assert int.from_bytes(b64url_decode(jwk["e"]), "big") == 65537
    return jwk


def test_init_makes_one_signing_key_per_alg_rs256_es256_ps256(ready):
    keys = ready.key_list()
    assert len(keys) == 3
    assert sorted(k["alg"] for k in keys) == ["ES256", "PS256", "RS256"]
    assert len({k["kid"] for k in keys}) == 3
    for k in keys:
        assert set(k) == {"kid", "alg", "state", "created_at", "activate_at", "retire_at",
                          "remove_at", "signing"}
        assert k["signing"] is True and k["state"] == "active"
        assert k["activate_at"] is None and k["retire_at"] is None   # signs since creation
        assert B64URL43.match(k["kid"]), k["kid"]
        assert RFC3339_UTC.match(k["created_at"]), k["created_at"]


def test_key_files_match_their_alg_and_kid_is_the_rfc7638_thumbprint(ready):
    for k in ready.key_list():
        pem = key_file(ready, k["kid"])
        info = pem_info(pem)
        if k["alg"] in ("RS256", "PS256"):
            assert "(2048 bit)" in info, info.splitlines()[0]
            assert_rsa_2048_e65537(pem)
        else:
            assert k["alg"] == "ES256"
            assert "prime256v1" in info or "P-256" in info
            assert pem_key_oids(pem) == ["id-ecPublicKey", "prime256v1"]
        assert thumbprint(pem_to_jwk(str(pem))) == k["kid"]


def test_ps256_has_its_own_rsa_key_not_the_rs256_one(ready):
    by_alg = {k["alg"]: k for k in ready.key_list()}
    rs = pem_to_jwk(str(key_file(ready, by_alg["RS256"]["kid"])))
    ps = pem_to_jwk(str(key_file(ready, by_alg["PS256"]["kid"])))
    assert by_alg["PS256"]["kid"] != by_alg["RS256"]["kid"]
    assert ps["n"] != rs["n"], "PS256 reuses the RS256 modulus"


def test_list_text_shows_kids_and_algs(ready):
    text = ready.ok("keys", "list")
    for k in ready.key_list():
        assert k["kid"] in text
        assert k["alg"] in text


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256"])
def test_generate_adds_the_new_signing_key_of_its_alg(ready, alg):
    before = {k["kid"]: k for k in ready.key_list()}
    out = ready.ok("keys", "generate", "--alg", alg)
    m = re.fullmatch(rf"generated {alg} key ([A-Za-z0-9_-]{{43}})\n?", out)
    assert m, f"unexpected output: {out!r}"
    kid = m.group(1)
    assert kid not in before
    after = {k["kid"]: k for k in ready.key_list()}
    assert len(after) == 4
    assert set(after) == set(before) | {kid}
    assert after[kid]["alg"] == alg and after[kid]["signing"] is True
    for old_kid, old in before.items():
        assert after[old_kid]["signing"] is (old["alg"] != alg), after[old_kid]
    pem = key_file(ready, kid)
    assert thumbprint(pem_to_jwk(str(pem))) == kid


def test_generate_json(ready):
    j = json.loads(ready.ok("keys", "generate", "--alg", "RS256", "--json"))
    assert set(j) == {"kid", "alg"}
    assert j["alg"] == "RS256"
    assert j["kid"] in {k["kid"] for k in ready.key_list()}


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_generated_rsa_key_has_a_2048_bit_modulus_and_e_65537(ready, alg):
    j = json.loads(ready.ok("keys", "generate", "--alg", alg, "--json"))
    assert j["alg"] == alg
    kid = j["kid"]
    jwk = assert_rsa_2048_e65537(key_file(ready, kid))
    assert thumbprint(jwk) == kid
    others = [pem_to_jwk(str(key_file(ready, k["kid"])))
              for k in ready.key_list() if k["kid"] != kid and k["alg"] != "ES256"]
    assert len(others) == 2
    assert all(o["n"] != jwk["n"] for o in others), "a new RSA key reuses a modulus"


@pytest.mark.parametrize("alg", ["HS256", "none", "RS512", "PS384", "ps256", ""])
def test_generate_rejects_other_algs_and_changes_nothing(ready, alg):
    before = ready.dump()
    files = sorted(os.listdir(ready.keys))
    ready.fails("keys", "generate", "--alg", alg, rc=(1, 2))
    assert ready.dump() == before
    assert sorted(os.listdir(ready.keys)) == files


def test_generate_without_alg_is_a_usage_error(ready):
    line = ready.fails("keys", "generate", rc=2)
    assert "--alg" in line
    for alg in ("RS256", "ES256", "PS256"):
        assert alg in line, line


def test_generate_help_lists_the_three_algs(ready):
    text = ready.ok("keys", "generate", "--help")
    alg_line = [ln for ln in text.splitlines() if ln.strip().startswith("--alg")]
    assert len(alg_line) == 1, text
    for alg in ("RS256", "ES256", "PS256"):
        assert alg in alg_line[0], alg_line[0]


def test_keys_are_distinct_across_data_locations(ready, gh_bin, tmp_path):
    from ghtest import Gatehouse
    (tmp_path / "other").mkdir()
    other = Gatehouse(gh_bin, tmp_path / "other")
    other.init()
    assert not {k["kid"] for k in ready.key_list()} & {k["kid"] for k in other.key_list()}
