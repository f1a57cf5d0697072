"""Signing keys shared through PostgreSQL (issue 7; GATEHOUSE_TEST_PG=1 only).

With a PostgreSQL database the private signing keys live in the database, sealed with
AES-256-GCM under the key-encryption key (KEK) of --kek-file, and never on disk. Two
`gatehouse serve` on one DSN that share the KEK file (and nothing else of a keys directory: the
realm secret is sealed in the database too) publish the same JWKS, verify each other's tokens
and each other's client secrets; `gatehouse keys rotate`
run once reaches both within key_poll_interval, without SIGHUP or restart; two instances
rotating automatically at the same moment add one key between them, not two. The threats: a
wrong or leaked-readable KEK file, and a sealed row that was altered or moved onto another key's
row, must stop the server with one clear line instead of signing with something else.

Time is faked with GATEHOUSE_FAKE_NOW_FILE (util/clock.c), shared by both servers and the CLI,
as in test_keys_rotation.py.
"""
import base64
import json
import os
import re
import signal
import stat
import threading
import time

import pytest

pytest.register_assert_rewrite("oidc")
from ghtest import FakeClock  # noqa: E402
from oidc import OP, jwt_parts  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: users_template

pytestmark = pytest.mark.pg_only

ISSUER = "http://127.0.0.1:9"   # one realm behind a balancer: one issuer for both instances
API = "https://api.example/"
POLL = 1                  # key_poll_interval of the servers under test: the pickup bound
SLACK = 4                 # seconds of scheduling slack on a loaded machine, on top of POLL
MAX_AGE = 60              # cache_max_age: a next key signs MAX_AGE + 120 s after `keys rotate`
LEAD = MAX_AGE + 120
WRONG_KEK = "the key-encryption key does not open signing key"
WRONG_KEK_SECRET = "the key-encryption key does not open the realm secret in"


@pytest.fixture
def clock(gh):
    c = FakeClock(gh, int(time.time()) + 1000)
    gh.env["GATEHOUSE_CACHE_MAX_AGE"] = str(MAX_AGE)
    gh.env["GATEHOUSE_KEY_POLL_INTERVAL"] = str(POLL)
    return c


def other_keys_dir(gh):
    """Instance B's keys directory: empty. The realm secret (client secrets are hashed with
    it, form tokens made with it) and the signing keys come from the database, the KEK from
    --kek-file."""
    d = gh.root / "b-keys"
    d.mkdir(mode=0o700)
    return d


def two_ops(gh, start_server, users_template, *serve_args):
    """A on the data location, B on the same DSN with a keys directory of its own and A's KEK
    file; a client_credentials client for tokens."""
    src, users = users_template
    gh.init_from(src)
    a = OP(gh, start_server(*serve_args, issuer=ISSUER))
    a.premade = dict(users)
    b_keys = other_keys_dir(gh)
    b = OP(gh, start_server(*serve_args, issuer=ISSUER, env={
        "GATEHOUSE_KEYS": str(b_keys), "GATEHOUSE_KEK_FILE": str(gh.kek_file)}))
    gh.ok("resource", "add", API, "--scopes", "read")
    svc = a.client("svc", "--grant-types", "client_credentials", redirect_uri=None)
    gh.ok("resource", "allow", API, "svc", "--scopes", "read")
    return a, b, svc, b_keys


def token(svc, op) -> str:
    r = svc.at(op).token({"grant_type": "client_credentials", "resource": API, "scope": "read"})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def kid_of(tok) -> str:
    return jwt_parts(tok)[0]["kid"]


def jwks(op) -> dict:
    r = op.get("/jwks.json")
    assert r.status_code == 200, r.text
    return r.json()


def kids(op) -> set:
    return {k["kid"] for k in jwks(op)["keys"]}


def verifies(gh, tok, jwks_doc) -> bool:
    """`gatehouse token verify` against a saved copy of a JWKS: a real signature check."""
    path = gh.root / "jwks-copy.json"
    path.write_text(json.dumps(jwks_doc))
    rc, _, _ = gh.run("token", "verify", "--jwks", str(path), "--issuer", ISSUER, tok)
    return rc == 0


def assert_no_private_key_files(*dirs):
    for d in dirs:
        pems = sorted(p.name for p in d.iterdir() if p.suffix == ".pem" or "PRIVATE KEY" in
                      p.read_text("latin-1"))
        assert pems == [], f"private key material on disk in {d}: {pems}"


def wait_for(what, cond, bound):
    """Poll cond until true; fail if that takes longer than bound seconds. Returns the time
    it took."""
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < bound, f"{what} not within {bound} s"
        time.sleep(0.05)
    return time.monotonic() - t0


def refused(server) -> str:
    """serve must exit 1 before it is ready; its last stderr line."""
    assert server.wait_exit(30) == 1, server.stderr()
    return server.stderr().strip().splitlines()[-1]


def test_two_instances_share_the_sealed_keys_and_verify_each_others_tokens(
        gh, start_server, users_template, clock):
    a, b, svc, b_keys = two_ops(gh, start_server, users_template)
    ja, jb = jwks(a), jwks(b)
    assert ja == jb and len(ja["keys"]) == 3
    ta, tb = token(svc, a), token(svc, b)
    assert kid_of(ta) == kid_of(tb)
    assert verifies(gh, ta, jb) and verifies(gh, tb, ja)
    # every key row is sealed; neither instance has a key file
    for k in gh.key_list():
        assert len(gh.sealed_key(k["kid"])) > 28, k
    assert_no_private_key_files(gh.keys, b_keys)
    assert sorted(p.name for p in b_keys.iterdir()) == []


def test_keys_rotate_on_one_host_reaches_both_instances_within_the_poll_interval(
        gh, start_server, users_template, clock):
    a, b, svc, b_keys = two_ops(gh, start_server, users_template)
    old = kid_of(token(svc, a))
    out = gh.json("keys", "rotate", "--alg", "RS256", "--json")
    new = out[0]["kid"]
    # no SIGHUP, no restart: each instance's key-list poll loads the sealed key
    for op in (a, b):
        wait_for(f"the next key {new} on {op.server.base}", lambda: new in kids(op),
                 POLL + SLACK)
        assert "reload why=key_list" in op.server.stderr()
    assert jwks(a) == jwks(b)
    assert kid_of(token(svc, a)) == old and kid_of(token(svc, b)) == old   # not signing yet
    clock.advance(LEAD)
    ta, tb = token(svc, a), token(svc, b)
    assert kid_of(ta) == new and kid_of(tb) == new
    assert verifies(gh, ta, jwks(b)) and verifies(gh, tb, jwks(a))
    # a hand retirement reaches both as well (the list changed: both reload)
    nxt = gh.json("keys", "rotate", "--alg", "ES256", "--json")[0]["kid"]
    for op in (a, b):
        wait_for(f"{nxt} on {op.server.base}", lambda: nxt in kids(op), POLL + SLACK)
    before = [op.server.stderr().count(" reload why=") for op in (a, b)]
    gh.ok("keys", "retire", "--", nxt)
    for op, n in zip((a, b), before):
        wait_for(f"a reload after `keys retire` on {op.server.base}",
                 lambda: op.server.stderr().count(" reload why=") > n, POLL + SLACK)
    assert_no_private_key_files(gh.keys, b_keys)


def test_instances_rotating_automatically_at_once_add_one_key_between_them(
        gh, start_server, users_template, clock):
    interval = 400
    a, b, _, _ = two_ops(gh, start_server, users_template, "--key-rotation-interval", interval)
    servers = (a.server, b.server)
    for rnd in range(3):
        clock.advance(interval + LEAD)     # the active keys are due, any next key signs
        seen = [s.stderr().count(" reload why=") for s in servers]
        # both wake at the same moment: both read the list, generate, and try to add
        for s in servers:
            os.kill(s.pid, signal.SIGHUP)
        for s, n in zip(servers, seen):
            wait_for("the reload after SIGHUP", lambda: s.stderr().count(" reload why=") > n,
                     30)
        listed = gh.key_list()
        nexts = sorted(k["alg"] for k in listed if k["state"] == "next")
        assert nexts == ["ES256", "PS256", "RS256"], (
            f"round {rnd}: want one next key per alg, got {nexts}:\n"
            + json.dumps(listed, indent=1))
        assert len(listed) == 3 * (rnd + 2)
        for op in (a, b):
            wait_for("the other instance's keys", lambda: kids(op) >= {
                k["kid"] for k in listed if k["state"] in ("next", "active")}, POLL + SLACK)
    text = a.server.stderr() + b.server.stderr()
    assert text.count("automatic=1") == 9, "each round adds three keys (one per alg)"
    # the race was real: the instance that lost found the winner's key, at least once
    assert "another instance added the next key first" in text


def test_keys_rotate_raced_from_two_hosts_adds_one_key(gh, start_server, users_template,
                                                       clock):
    gh.init_copy()
    results = [None, None]
    go = threading.Barrier(2)

    def run(i):
        go.wait()
        results[i] = gh.run("keys", "rotate", "--alg", "RS256")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    rcs = sorted(r[0] for r in results)
    assert rcs == [0, 1], results
    loser = [r for r in results if r[0] == 1][0][2]
    assert ("another process added a RS256 key meanwhile" in loser
            or "already has a next key" in loser), loser
    assert [k["alg"] for k in gh.key_list() if k["state"] == "next"] == ["RS256"]


def test_wrong_kek_file_stops_serve_with_one_clear_line(gh, start_server, users_template,
                                                      clock):
    gh.init_copy()
    wrong = gh.root / "wrong.kek"
    wrong.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=") + "\n")
    os.chmod(wrong, 0o600)
    s = start_server(env={"GATEHOUSE_KEK_FILE": str(wrong)}, wait=False)
    line = refused(s)
    assert WRONG_KEK_SECRET in line and line.endswith("wrong --kek-file? (every instance of a "
                                                     "realm needs the same file)"), line
    # nor does the CLI seal a new key (or hash a client secret) under it: no instance of the
    # realm could open that key, nor check that secret
    before, clients = gh.key_list(), gh.clients()
    wrong_env = {"GATEHOUSE_KEK_FILE": str(wrong)}
    for cmd in (("keys", "rotate", "--alg", "ES256"), ("keys", "generate", "--alg", "ES256"),
                ("client", "add", "evil", "--redirect-uri", "https://evil.example/cb")):
        line = gh.fails(*cmd, env=wrong_env)
        assert WRONG_KEK_SECRET in line, line
    assert gh.key_list() == before and gh.clients() == clients
    # a missing KEK file: a clear line too, and no new KEK is made over an existing realm
    s = start_server(env={"GATEHOUSE_KEK_FILE": str(gh.root / "missing.kek")}, wait=False)
    line = refused(s)
    assert "missing.kek: No such file or directory" in line, line
    assert not (gh.root / "missing.kek").exists()


def test_group_readable_kek_file_is_refused(gh, start_server, users_template, clock):
    gh.init_copy()
    os.chmod(gh.kek_file, 0o640)
    line = refused(start_server(wait=False))
    assert "readable by group or others" in line and "chmod 600" in line, line
    line = gh.fails("keys", "rotate", "--alg", "ES256")
    assert "readable by group or others" in line, line
    os.chmod(gh.kek_file, 0o600)
    assert [k for k in gh.key_list() if k["state"] == "next"] == []


def test_tampered_or_moved_sealed_key_is_refused(gh, start_server, users_template, clock):
    gh.init_copy()
    by_alg = {k["alg"]: k["kid"] for k in gh.key_list()}
    es = by_alg["ES256"]
    good = gh.sealed_key(es)
    # one bit of the ciphertext flipped: the GCM tag no longer verifies
    bad = bytearray(good)
    bad[40] ^= 1
    gh.sql(f"UPDATE signing_keys SET sealed = '\\x{bytes(bad).hex()}' WHERE kid = '{es}'")
    line = refused(start_server(wait=False))
    assert line.endswith(f"{WRONG_KEK} {es}: wrong --kek-file?"), line
    gh.sql(f"UPDATE signing_keys SET sealed = '\\x{good.hex()}' WHERE kid = '{es}'")
    # an intact sealed key moved onto another key's row: kid and alg are its associated data
    rs, ps = by_alg["RS256"], by_alg["PS256"]
    gh.sql(f"UPDATE signing_keys SET sealed = '\\x{gh.sealed_key(rs).hex()}' WHERE kid = '{ps}'")
    line = refused(start_server(wait=False))
    assert line.endswith(f"{WRONG_KEK} {ps}: wrong --kek-file?"), line


def test_init_creates_the_kek_0600_when_absent_and_reuses_it(gh):
    out = gh.init()
    kek = gh.keys / "kek.key"
    assert f"key-encryption key {kek}: created" in out, out
    assert stat.S_IMODE(os.stat(kek).st_mode) == 0o600
    text = kek.read_text()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}\n", text), text
    out = gh.init()
    assert f"key-encryption key {kek}: existing" in out, out
    assert kek.read_text() == text
    # all three keys sealed, none on disk
    assert len(gh.key_list()) == 3
    for k in gh.key_list():
        assert len(gh.sealed_key(k["kid"])) > 28
    # nor is the realm secret: it is a row, sealed under the KEK too
    assert sorted(p.name for p in gh.keys.iterdir()) == ["kek.key"]
    sealed = gh.sql("SELECT value FROM meta WHERE name = 'realm_secret'").strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{80}", sealed), sealed   # nonce + 32 bytes + tag
    assert_no_private_key_files(gh.keys)


def test_init_with_kek_file_elsewhere_and_without_it_on_an_existing_realm(gh):
    custom = gh.root / "kek-dir" / "realm.kek"
    custom.parent.mkdir(mode=0o700)
    out = gh.ok("init", env={"GATEHOUSE_KEK_FILE": str(custom)})
    assert f"key-encryption key {custom}: created" in out, out
    assert not (gh.keys / "kek.key").exists()
    assert stat.S_IMODE(os.stat(custom).st_mode) == 0o600
    # a second host that forgot the file: init does not make a new KEK that opens nothing
    line = gh.fails("init")
    assert "kek.key: No such file or directory" in line, line
    assert not (gh.keys / "kek.key").exists()
    gh.ok("keys", "list", env={"GATEHOUSE_KEK_FILE": str(custom)})


def refused_kek(line) -> bool:
    return WRONG_KEK_SECRET in line or "kek.key: No such file or directory; copy the file" in line


def test_two_first_inits_with_different_keks_cannot_split_the_realm(gh):
    """Two hosts initialising one new database at once, each with a KEK file of its own (an
    operator who forgot to copy it): one realm comes out, under one KEK; the other init fails
    with one clear line and adds nothing; everything in the database opens under the winner's
    KEK."""
    keks = [gh.root / f"host{i}" / "kek.key" for i in range(2)]
    for k in keks:
        k.parent.mkdir(mode=0o700)
    for rnd in range(3):
        # an empty database (again), made here: the two inits must not both create it
        gh.db.ensure(template="template0" if rnd else None)
        for k in keks:
            k.unlink(missing_ok=True)
        results = [None, None]
        go = threading.Barrier(2)

        def run(i):
            go.wait()
            results[i] = gh.run("init", env={"GATEHOUSE_KEK_FILE": str(keks[i])})

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        rcs = [r[0] for r in results]
        assert sorted(rcs) == [0, 1], results
        win, lose = rcs.index(0), rcs.index(1)
        # the loser made its KEK and found the winner's secret sealed under another one, or
        # came late enough to find a sealed realm and no KEK file: no new KEK for it then
        assert refused_kek(results[lose][2]), results[lose]
        listed = gh.json("keys", "list", env={"GATEHOUSE_KEK_FILE": str(keks[win])})
        assert sorted(k["alg"] for k in listed) == ["ES256", "PS256", "RS256"], listed
        # the loser's KEK opens nothing; the winner's opens the secret and every key
        assert refused_kek(gh.fails("keys", "list", env={"GATEHOUSE_KEK_FILE": str(keks[lose])}))
        gh.ok("keys", "generate", "--alg", "ES256", env={"GATEHOUSE_KEK_FILE": str(keks[win])})


def test_tampered_or_replaced_realm_secret_is_refused(gh, start_server, users_template, clock):
    gh.init_copy()
    good = gh.sql("SELECT value FROM meta WHERE name = 'realm_secret'").strip()
    # one character of the sealed text changed, or a value that is not base64url at all
    flipped = good[:30] + ("A" if good[30] != "A" else "B") + good[31:]
    for bad in (flipped, "not-sealed!"):
        gh.sql(f"UPDATE meta SET value = '{bad}' WHERE name = 'realm_secret'")
        line = refused(start_server(wait=False))
        assert WRONG_KEK_SECRET in line, line
    # deleted: the CLI says to run init (which makes a new one)
    gh.sql("DELETE FROM meta WHERE name = 'realm_secret'")
    line = gh.fails("user", "list")
    assert "holds no realm secret (run: gatehouse init)" in line, line
