"""`gatehouse keys …`: RS256 + ES256 after init, kid = RFC 7638 thumbprint of the PEM file,
`keys generate` adds the newest (signing) key of its algorithm."""
import json
import os
import re
import stat
import subprocess

import pytest

from ghtest import B64URL43, RFC3339_UTC, b64url_decode
from jwk import pem_to_jwk, thumbprint


def pem_info(path):
    p = subprocess.run(["openssl", "pkey", "-in", str(path), "-noout", "-text_pub"],
                       capture_output=True, text=True)
    assert p.returncode == 0, f"openssl cannot read {path}: {p.stderr}"
    return p.stdout


def test_init_makes_one_rs256_and_one_es256_signing_key(ready):
    keys = ready.key_list()
    assert len(keys) == 2
    assert sorted(k["alg"] for k in keys) == ["ES256", "RS256"]
    for k in keys:
        assert set(k) == {"kid", "alg", "created_at", "signing"}
        assert k["signing"] is True
        assert B64URL43.match(k["kid"]), k["kid"]
        assert RFC3339_UTC.match(k["created_at"]), k["created_at"]


def test_key_files_match_their_alg_and_kid_is_the_rfc7638_thumbprint(ready):
    for k in ready.key_list():
        pem = ready.keys / f"{k['kid']}.pem"
        assert pem.is_file(), f"no {pem.name}"
        assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600
        info = pem_info(pem)
        if k["alg"] == "RS256":
            assert "(2048 bit)" in info, info.splitlines()[0]
        else:
            assert "prime256v1" in info or "P-256" in info
        assert thumbprint(pem_to_jwk(str(pem))) == k["kid"]


def test_list_text_shows_kids_and_algs(ready):
    text = ready.ok("keys", "list")
    for k in ready.key_list():
        assert k["kid"] in text
        assert k["alg"] in text


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_generate_adds_the_new_signing_key_of_its_alg(ready, alg):
    before = {k["kid"]: k for k in ready.key_list()}
    out = ready.ok("keys", "generate", "--alg", alg)
    m = re.fullmatch(rf"generated {alg} key ([A-Za-z0-9_-]{{43}})\n?", out)
    assert m, f"unexpected output: {out!r}"
    kid = m.group(1)
    assert kid not in before
    after = {k["kid"]: k for k in ready.key_list()}
    assert len(after) == 3
    assert after[kid]["alg"] == alg and after[kid]["signing"] is True
    for old_kid, old in before.items():
        assert after[old_kid]["signing"] is (old["alg"] != alg), after[old_kid]
    pem = ready.keys / f"{kid}.pem"
    assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600
    assert thumbprint(pem_to_jwk(str(pem))) == kid


def test_generate_json(ready):
    j = json.loads(ready.ok("keys", "generate", "--alg", "RS256", "--json"))
    assert set(j) == {"kid", "alg"}
    assert j["alg"] == "RS256"
    assert j["kid"] in {k["kid"] for k in ready.key_list()}


def test_generated_rsa_key_has_a_2048_bit_modulus_and_e_65537(ready):
    kid = json.loads(ready.ok("keys", "generate", "--alg", "RS256", "--json"))["kid"]
    jwk = pem_to_jwk(str(ready.keys / f"{kid}.pem"))
    assert int.from_bytes(b64url_decode(jwk["n"]), "big").bit_length() == 2048
    assert int.from_bytes(b64url_decode(jwk["e"]), "big") == 65537


@pytest.mark.parametrize("alg", ["HS256", "none", "RS512", "PS256", ""])
def test_generate_rejects_other_algs_and_changes_nothing(ready, alg):
    before = ready.dump()
    files = sorted(os.listdir(ready.keys))
    ready.fails("keys", "generate", "--alg", alg, rc=(1, 2))
    assert ready.dump() == before
    assert sorted(os.listdir(ready.keys)) == files


def test_generate_without_alg_is_a_usage_error(ready):
    line = ready.fails("keys", "generate", rc=2)
    assert "--alg" in line


def test_keys_are_distinct_across_data_locations(ready, gh_bin, tmp_path):
    from ghtest import Gatehouse
    (tmp_path / "other").mkdir()
    other = Gatehouse(gh_bin, tmp_path / "other")
    other.init()
    assert not {k["kid"] for k in ready.key_list()} & {k["kid"] for k in other.key_list()}
