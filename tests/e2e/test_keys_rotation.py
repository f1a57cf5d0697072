"""Staged signing-key rotation (issue 5): next (published, not signing) -> active -> retired
(published, not signing) -> removed. `keys rotate` while serving + SIGHUP publishes the next key
at once and tokens keep the old kid until activate_at; after it (fake clock moved) new tokens
carry the new kid and old ones still verify against the published JWKS; a verifier that caches
the JWKS for the advertised max-age never meets an unknown kid across automatic rotations;
`keys retire` refuses the last key that can sign; SIGHUP keeps keep-alive connections open
and reloads templates.

Time is faked with GATEHOUSE_FAKE_NOW_FILE (util/clock.c), read on every clock_now(), so the
running server and the CLI share one movable clock. SIGHUP stands in for the server's 60 s
key-list poll."""
import http.client
import json
import os
import re
import shutil
import signal
import time

import pytest

pytest.register_assert_rewrite("oidc")
from oidc import OP, jwt_parts  # noqa: E402
from ghtest import REPO, FakeClock, slow  # noqa: E402

pytest_plugins = ["oidc"]

API = "https://api.example/"
MAX_AGE = 60          # cache_max_age: a next key waits MAX_AGE + 120 s
LEAD = MAX_AGE + 120
AT_TTL = 600          # access_token_ttl (id_token_ttl stays at its default, 300)
HOLD = AT_TTL + 300   # a retired key stays published this long


@pytest.fixture
def clock(gh):
    c = FakeClock(gh, int(time.time()) + 1000)
    gh.env["GATEHOUSE_CACHE_MAX_AGE"] = str(MAX_AGE)
    gh.env["GATEHOUSE_ACCESS_TOKEN_TTL"] = str(AT_TTL)
    return c


def make_op(gh, start_server, users_template, *serve_args):
    src, users = users_template
    gh.init_from(src)
    op = OP(gh, start_server(*serve_args))
    op.premade = dict(users)
    gh.ok("resource", "add", API, "--scopes", "read")
    svc = op.client("svc", "--grant-types", "client_credentials", redirect_uri=None)
    gh.ok("resource", "allow", API, "svc", "--scopes", "read")
    return op, svc


def token(svc) -> str:
    r = svc.token({"grant_type": "client_credentials", "resource": API, "scope": "read"})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def kid_of(tok) -> str:
    return jwt_parts(tok)[0]["kid"]


def jwks(op):
    r = op.get("/jwks.json")
    assert r.status_code == 200, r.text
    m = re.search(r"max-age=(\d+)", r.headers["Cache-Control"])
    return {k["kid"] for k in r.json()["keys"]}, int(m.group(1)), r.json()


def reloads(server) -> int:
    return server.stderr().count(" reload why=")


def sighup(server):
    """SIGHUP and wait until the server logged the reload it caused."""
    before = reloads(server)
    os.kill(server.pid, signal.SIGHUP)
    deadline = time.time() + slow(10)
    while reloads(server) == before:
        assert time.time() < deadline, f"no reload logged after SIGHUP:\n{server.stderr()}"
        assert server.proc.poll() is None, server.stderr()
        time.sleep(0.02)


def keys(gh) -> dict:
    return {k["kid"]: k for k in gh.json("keys", "list", "--json")}


def verifies(gh, op, tok, jwks_doc) -> bool:
    """`gatehouse token verify` against a saved copy of the published JWKS: a real signature
    check, as a resource server would do it."""
    path = gh.root / "jwks-copy.json"
    path.write_text(json.dumps(jwks_doc))
    rc, out, err = gh.run("token", "verify", "--jwks", str(path), "--issuer", op.issuer, tok)
    return rc == 0


def test_rotate_publishes_next_key_at_once_and_signs_only_from_activation(
        gh, start_server, users_template, clock):
    op, svc = make_op(gh, start_server, users_template)
    t_old = token(svc)
    old = kid_of(t_old)
    assert keys(gh)[old]["state"] == "active"
    out = gh.json("keys", "rotate", "--alg", "RS256", "--json")
    assert len(out) == 1 and out[0]["alg"] == "RS256" and out[0]["state"] == "next", out
    new = out[0]["kid"]
    k = keys(gh)
    assert k[new]["state"] == "next" and k[new]["signing"] is False
    assert k[old]["state"] == "active" and k[old]["retire_at"] == k[new]["activate_at"]
    sighup(op.server)
    kids, max_age, _ = jwks(op)
    assert max_age == MAX_AGE
    assert {old, new} <= kids                     # published before it signs
    clock.advance(LEAD - 1)
    assert kid_of(token(svc)) == old              # not yet: one second before activate_at
    clock.advance(1)
    t_new = token(svc)
    assert kid_of(t_new) == new                   # no reload needed: the signer is by time
    kids, _, doc = jwks(op)
    assert {old, new} <= kids                     # the retired key is still published
    assert verifies(gh, op, t_old, doc) and verifies(gh, op, t_new, doc)
    k = keys(gh)
    assert (k[old]["state"], k[new]["state"]) == ("retired", "active")
    # removed once every token it signed has expired, plus skew
    clock.advance(HOLD - 1)
    sighup(op.server)
    assert old in jwks(op)[0]
    clock.advance(1)
    sighup(op.server)
    kids, _, doc = jwks(op)
    assert old not in kids and new in kids
    assert keys(gh)[old]["state"] == "removed"
    assert not verifies(gh, op, t_old, doc)
    assert kid_of(token(svc)) == new


def test_cached_jwks_verifier_never_meets_an_unknown_kid_across_automatic_rotations(
        gh, start_server, users_template, clock):
    interval = 400
    op, svc = make_op(gh, start_server, users_template, "--key-rotation-interval", interval)
    cache, cache_until = None, 0
    seen, live = set(), []                          # kids used; (token, exp) still valid
    for _ in range(80):                             # 80 * 25 s: four to five rotations
        clock.advance(25)
        sighup(op.server)                           # stands in for the 60 s poll
        if cache is None or clock.now >= cache_until:
            cache, max_age, _ = jwks(op)
            cache_until = clock.now + max_age
        tok = token(svc)
        seen.add(kid_of(tok))
        live.append((tok, clock.now + AT_TTL))
        live = [(t, exp) for t, exp in live if exp > clock.now]
        for t, _ in live:
            assert kid_of(t) in cache, (
                f"a verifier caching the JWKS for max-age meets unknown kid {kid_of(t)} at "
                f"{clock.now}:\n{json.dumps(keys(gh), indent=1)}")
    assert len(seen) >= 4, f"expected several automatic rotations, saw kids {seen}"
    assert "automatic=1" in op.server.stderr()


def test_retire_refuses_the_last_key_that_can_sign(gh, start_server, users_template, clock):
    op, svc = make_op(gh, start_server, users_template)
    active = kid_of(token(svc))
    line = gh.fails("keys", "retire", "--", active)
    assert "only key that can sign RS256" in line and "keys rotate" in line, line
    gh.fails("keys", "retire", "no-such-kid")
    new = gh.json("keys", "rotate", "--alg", "RS256", "--json")[0]["kid"]
    sighup(op.server)
    line = gh.fails("keys", "retire", "--", active)     # the next key does not sign yet
    assert "only key that can sign RS256" in line and new in line, line
    line = gh.fails("keys", "rotate", "--alg", "RS256")   # one next key per alg
    assert "already has a next key" in line, line
    clock.advance(LEAD)
    assert kid_of(token(svc)) == new
    line = gh.fails("keys", "retire", "--", active)
    assert "already retired" in line, line
    gh.fails("keys", "retire", "--", new)               # now the last signer itself
    # a next key may be retired: it never signs, and the active key keeps signing
    nxt = gh.json("keys", "rotate", "--alg", "RS256", "--json")[0]["kid"]
    out = gh.ok("keys", "retire", "--", nxt)
    assert "retired RS256 key " + nxt in out, out
    assert keys(gh)[nxt]["state"] == "retired"
    clock.advance(LEAD)
    sighup(op.server)
    assert kid_of(token(svc)) == new
    assert nxt in jwks(op)[0]                      # still published until its remove date


def test_keys_list_shows_states_and_dates(gh, start_server, users_template, clock):
    gh.init_copy()
    new = gh.json("keys", "rotate", "--json")
    assert {k["alg"] for k in new} == {"RS256", "ES256", "PS256"}
    out = gh.ok("keys", "list")
    assert re.search(r"^KID +ALG +STATE +CREATED +ACTIVE FROM +RETIRED FROM +REMOVED FROM$",
                     out, re.M), out
    for k in new:
        assert re.search(rf"^{re.escape(k['kid'])} +{k['alg']} +next ", out, re.M), out
    listed = gh.json("keys", "list", "--json")
    assert len(listed) == 6
    for k in listed:
        assert set(k) == {"kid", "alg", "state", "signing", "created_at", "activate_at",
                          "retire_at", "remove_at"}
        assert k["state"] in ("next", "active")
        if k["state"] == "active":
            assert k["retire_at"] and k["remove_at"], k
        else:
            assert k["retire_at"] is None and k["remove_at"] is None, k


def test_sighup_keeps_a_keep_alive_connection_open(gh, start_server, users_template, clock):
    op, _ = make_op(gh, start_server, users_template)
    conn = http.client.HTTPConnection("127.0.0.1", op.server.port, timeout=10)
    conn.request("GET", "/jwks.json")
    r = conn.getresponse()
    body1 = r.read()
    assert r.status == 200 and r.getheader("Connection", "").lower() != "close"
    sock = conn.sock
    gh.ok("keys", "rotate", "--alg", "ES256")
    for _ in range(3):
        sighup(op.server)
    conn.request("GET", "/jwks.json")
    r = conn.getresponse()
    body2 = r.read()
    assert conn.sock is sock, "the connection was reopened: SIGHUP dropped it"
    assert r.status == 200 and body2 != body1     # same connection, the reloaded document
    conn.close()


def test_sighup_reloads_templates_and_keeps_them_when_broken(gh, start_server, users_template,
                                                             clock):
    tdir = gh.root / "templates"
    shutil.copytree(REPO / "templates", tdir)
    gh.env["GATEHOUSE_TEMPLATES"] = str(tdir)
    op, _ = make_op(gh, start_server, users_template)
    assert "Reloaded-Marker" not in op.get("/authorize").text
    err = tdir / "error.html"
    err.write_text(err.read_text() + "<p>Reloaded-Marker</p>\n")
    sighup(op.server)
    assert "Reloaded-Marker" in op.get("/authorize").text
    err.write_text("{{#unclosed}}\n")             # a broken template: the old pages stay
    sighup(op.server)
    r = op.get("/authorize")
    assert "Reloaded-Marker" in r.text and op.server.proc.poll() is None
    assert "reload why=sighup failed" in op.server.stderr()
