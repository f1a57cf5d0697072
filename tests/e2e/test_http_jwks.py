"""GET /jwks.json: public parameters only, usable keys (RSA-2048 for RS256 and, separately,
for PS256; points on P-256), kid = RFC 7638 thumbprint = `keys list`, ETag / If-None-Match /
Cache-Control."""
import pytest

from ghtest import b64url_decode
from jwk import pem_to_jwk, thumbprint

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}

# P-256 (SEC 2 secp256r1)
P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b


def jwks(server):
    r = server.get("/jwks.json")
    assert r.status_code == 200, r.text
    ct = r.headers["Content-Type"]
    assert ct.startswith("application/json") or ct.startswith("application/jwk-set+json"), ct
    return r.json()


def test_every_key_has_kid_kty_use_alg_and_no_private_members(server):
    keys = jwks(server)["keys"]
    assert len(keys) == 3
    assert sorted(k["alg"] for k in keys) == ["ES256", "PS256", "RS256"]
    for k in keys:
        for m in ("kid", "kty", "use", "alg"):
            assert m in k, f"{m} missing in {k}"
        assert k["use"] == "sig"
        leaked = PRIVATE_MEMBERS & set(k)
        assert not leaked, f"private members {leaked} published"


def test_kids_match_keys_list(gh, server):
    assert {k["kid"] for k in jwks(server)["keys"]} == {k["kid"] for k in gh.key_list()}
    by_kid = {k["kid"]: k["alg"] for k in gh.key_list()}
    for k in jwks(server)["keys"]:
        assert k["alg"] == by_kid[k["kid"]]


def test_kid_is_the_rfc7638_thumbprint_and_matches_the_pem(gh, server):
    for k in jwks(server)["keys"]:
        assert thumbprint(k) == k["kid"]
        from_pem = pem_to_jwk(str(gh.key_pem(k["kid"])))
        for m in from_pem:
            assert k[m] == from_pem[m], f"{k['kid']}: {m} differs from the PEM file"


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_rsa_key_is_usable(server, alg):
    mine = [k for k in jwks(server)["keys"] if k["alg"] == alg]
    assert len(mine) == 1
    k = mine[0]
    assert k["kty"] == "RSA" and k["use"] == "sig"
    assert set(k) == {"kty", "use", "alg", "kid", "n", "e"}, sorted(k)
    assert "=" not in k["n"] + k["e"], "base64url without padding"
    n = int.from_bytes(b64url_decode(k["n"]), "big")
    e = int.from_bytes(b64url_decode(k["e"]), "big")
    assert n.bit_length() == 2048
    assert b64url_decode(k["n"])[0] != 0, "no leading zero octet (RFC 7518 §6.3.1.1)"
    assert e == 65537
    assert n % 2 == 1
    assert thumbprint(k) == k["kid"]


def test_rs256_and_ps256_are_two_rsa_keys_each_published_with_its_own_alg(server):
    rsa = [k for k in jwks(server)["keys"] if k["kty"] == "RSA"]
    assert sorted(k["alg"] for k in rsa) == ["PS256", "RS256"]
    assert rsa[0]["kid"] != rsa[1]["kid"]
    assert rsa[0]["n"] != rsa[1]["n"], "PS256 must not reuse the RS256 key"


def test_ec_key_is_a_point_on_p256(server):
    ec = [k for k in jwks(server)["keys"] if k["kty"] == "EC"]
    assert len(ec) == 1
    k = ec[0]
    assert k["alg"] == "ES256" and k["crv"] == "P-256"
    assert set(k) == {"kty", "use", "alg", "kid", "crv", "x", "y"}, sorted(k)
    xb, yb = b64url_decode(k["x"]), b64url_decode(k["y"])
    assert len(xb) == 32 and len(yb) == 32, "x and y are 32 octets each (RFC 7518 §6.2.1.2)"
    x, y = int.from_bytes(xb, "big"), int.from_bytes(yb, "big")
    assert (y * y - (x * x * x - 3 * x + P256_B)) % P256_P == 0, "not a point on P-256"


def test_etag_and_if_none_match(server):
    r = server.get("/jwks.json")
    etag = r.headers.get("ETag")
    assert etag and etag.removeprefix("W/").startswith('"') and etag.endswith('"'), etag
    assert server.get("/jwks.json").headers["ETag"] == etag, "ETag not stable"
    r304 = server.get("/jwks.json", headers={"If-None-Match": etag})
    assert r304.status_code == 304
    assert r304.content == b""
    assert r304.headers.get("ETag") == etag, "a 304 repeats the ETag (RFC 9110 §15.4.5)"
    other = server.get("/jwks.json", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.json() == r.json()


def test_if_none_match_with_a_list(server):
    etag = server.get("/jwks.json").headers["ETag"]
    r = server.get("/jwks.json", headers={"If-None-Match": f'"nope", {etag}'})
    assert r.status_code == 304


def test_discovery_and_jwks_etags_differ(server):
    a = server.get("/jwks.json").headers["ETag"]
    b = server.get("/.well-known/openid-configuration").headers["ETag"]
    assert a != b


def test_cache_control_public_max_age(server):
    cc = [p.strip() for p in server.get("/jwks.json").headers["Cache-Control"].split(",")]
    assert "public" in cc
    assert "max-age=3600" in cc


def test_cache_max_age_precedence_file_env_flag(gh, start_server):
    conf = gh.root / "gatehouse.conf"
    conf.write_text("cache_max_age = 120\n")
    s = start_server("--config", conf)
    assert "max-age=120" in s.get("/jwks.json").headers["Cache-Control"]
    s.stop()
    s = start_server("--config", conf, env={"GATEHOUSE_CACHE_MAX_AGE": "90"})
    assert "max-age=90" in s.get("/jwks.json").headers["Cache-Control"]
    s.stop()
    s = start_server("--config", conf, "--cache-max-age", "60",
                     env={"GATEHOUSE_CACHE_MAX_AGE": "90"})
    assert "max-age=60" in s.get("/jwks.json").headers["Cache-Control"]
    assert "max-age=60" in s.get("/.well-known/openid-configuration").headers["Cache-Control"]


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_new_key_is_published_after_restart_with_a_new_etag(gh, start_server, alg):
    s = start_server()
    before = s.get("/jwks.json")
    s.stop()
    kid = gh.json("keys", "generate", "--alg", alg)["kid"]
    s = start_server()
    after = s.get("/jwks.json")
    by_kid = {k["kid"]: k for k in after.json()["keys"]}
    assert kid in by_kid
    assert by_kid[kid]["alg"] == alg
    assert len(by_kid) == 4, "older keys stay published for verification"
    assert {k["kid"] for k in before.json()["keys"]} < set(by_kid)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert s.get("/jwks.json", headers={"If-None-Match": before.headers["ETag"]}) \
        .status_code == 200


def test_query_string_is_ignored(server):
    assert server.get("/jwks.json?x=1").json() == server.get("/jwks.json").json()


@pytest.mark.parametrize("path", ["/jwks.json", "/.well-known/openid-configuration"])
def test_head(server, path):
    g = server.get(path)
    h = server.request("HEAD", path)
    assert h.status_code == 200
    assert h.content == b""
    assert h.headers.get("ETag") == g.headers["ETag"]
    assert h.headers["Content-Type"] == g.headers["Content-Type"]
    if "Content-Length" in h.headers:
        assert int(h.headers["Content-Length"]) == len(g.content)
