"""`gatehouse migrate --from DSN --to DSN`: a realm copied into an empty database of either
backend (issue 7: "copies a realm, verifying counts").

The property that matters is that nothing is lost and everything keeps working: after a move
from SQLite to PostgreSQL the users sign in with their passwords, a browser that was signed in
still is, refresh tokens and access tokens issued before the move still work, the confidential
clients' secrets still authenticate and the JWKS is the same. A round trip SQLite ->
PostgreSQL -> SQLite gives back the same database, byte for byte in its dump, and the same key
files. And a migration that cannot finish changes nothing: no row, no file left behind.

The source realm is always a SQLite file made here (paths of its own, whatever the mode of the
suite); the PostgreSQL side needs GATEHOUSE_TEST_PG=1 (the pg_cluster fixture skips without).
"""
import os
import re
import sqlite3
import stat

import pytest

pytest.register_assert_rewrite("oidc")
from oidc import OP, http_session, is_login_page, jwt_parts  # noqa: E402

pytest_plugins = ["oidc"]

ISSUER = "http://127.0.0.1:9"     # recorded by init: tokens stay valid whatever port serves
API = "https://api.example/"
COUNT_RE = re.compile(r"^  ([a-z_]+) +(\d+)", re.M)
TABLES = ("meta", "users", "retired_subs", "clients", "client_uris", "signing_keys",
          "interactions", "sessions", "auth_codes", "grants", "refresh_tokens", "consents",
          "revoked_tokens", "resources", "resource_clients", "used_jtis", "trusted_issuers",
          "issuer_clients", "login_failures")


def mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def use(gh, db, keys):
    """Point gh's commands and servers at this data location."""
    gh.env["GATEHOUSE_DB"] = str(db)
    gh.env["GATEHOUSE_KEYS"] = str(keys)


def sqlite_counts(path) -> dict:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
        return {t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def sqlite_dump(path) -> str:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
        return "\n".join(c.iterdump())


def listing(d) -> dict:
    """name -> bytes of every file in directory d (empty dict when d does not exist)."""
    if not os.path.isdir(d):
        return {}
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def reported_counts(out) -> dict:
    return {t: int(n) for t, n in COUNT_RE.findall(out)}


def make_source(gh, start_server, tmp_path):
    """A SQLite realm with a row in most tables, made through a real server: users, a
    confidential web client with a signed-in browser, its tokens, a consent-free SSO session,
    a service client with client_credentials on a resource. Returns what the checks need; the
    server is stopped again (migrate copies a realm whose servers are stopped)."""
    db, keys = tmp_path / "src.db", tmp_path / "src-keys"
    use(gh, db, keys)
    gh.ok("init", "--issuer", ISSUER)
    a = OP(gh, start_server(init=False))
    alice, bob = a.user("alice"), a.user("bob")
    shop = a.client("shop")
    svc = a.client("svc", "--grant-types", "client_credentials", redirect_uri=None)
    gh.ok("resource", "add", API, "--scopes", "read")
    gh.ok("resource", "allow", API, "svc", "--scopes", "read")
    b = a.browser()
    t = b.tokens(shop, alice)
    cc = svc.token({"grant_type": "client_credentials", "resource": API, "scope": "read"})
    assert cc.status_code == 200, cc.text
    gh.ok("user", "delete", "bob")                     # a retired sub
    src = {"db": db, "keys": keys, "alice": alice, "bob": bob, "shop": shop, "svc": svc,
           "browser": b, "tokens": t, "jwks": a.jwks(), "cc": cc.json()["access_token"]}
    a.server.stop()
    return src


@pytest.fixture
def pg_dsn(gh, pg_cluster):
    """An empty PostgreSQL database of this test's own (the suite's gh.db is not used)."""
    name = f"mig_{os.getpid()}_{abs(hash(str(gh.root))) % 10**8}"
    pg_cluster.psql(f"DROP DATABASE IF EXISTS {name}")
    return pg_cluster.create_db(name)


def test_sqlite_realm_moves_to_postgresql_and_keeps_working(gh, start_server, tmp_path,
                                                            pg_dsn):
    src = make_source(gh, start_server, tmp_path)
    before = sqlite_dump(src["db"]), listing(src["keys"])
    counts = sqlite_counts(src["db"])
    dst_keys = tmp_path / "pg-keys"
    out = gh.ok("migrate", "--from", f"sqlite:{src['db']}", "--to", pg_dsn,
                "--from-keys", src["keys"], "--to-keys", dst_keys)
    # every table counted, each as many rows as the source (plus the sealed realm secret)
    want = dict(counts, meta=counts["meta"] + 1)
    assert reported_counts(out) == want, out
    assert "verified" in out and f"{dst_keys}/kek.key (created)" in out, out
    assert counts["users"] == 1 and counts["retired_subs"] == 1 and counts["grants"] == 1
    assert counts["sessions"] == 1 and counts["refresh_tokens"] == 1
    # the source is untouched; nothing private lands on disk on the PostgreSQL side
    assert (sqlite_dump(src["db"]), listing(src["keys"])) == before
    assert sorted(listing(dst_keys)) == ["kek.key"] and mode(dst_keys / "kek.key") == 0o600
    assert pg_dsn not in out        # a DSN may hold a password: never printed

    use(gh, pg_dsn, dst_keys)
    b_op = OP(gh, start_server(init=False))
    assert b_op.issuer == ISSUER
    assert b_op.jwks() == src["jwks"]                  # the same keys, sealed now
    t, shop = src["tokens"], src["shop"].at(b_op)
    # an access token from before the move: signature, not revoked, user found
    r = b_op.userinfo(t["access_token"])
    assert r.status_code == 200 and r.json()["sub"] == src["alice"].sub, r.text
    # the refresh token from before: its grant and family moved; it rotates once
    r = shop.refresh(t["refresh_token"])
    assert r.status_code == 200, r.text
    assert shop.refresh(t["refresh_token"]).status_code == 400     # reuse still detected
    # the signed-in browser is still signed in: no login page, a code at once
    browser = src["browser"]
    browser.op, browser.http = b_op, http_session(b_op.server)
    a = browser.authorize(shop)
    assert not is_login_page(a.r), "the session did not move: the login page again"
    assert shop.redeem(a.code(), a.verifier).status_code == 200
    # the password hash moved: a fresh browser signs in with the password
    fresh = b_op.browser().tokens(shop, src["alice"])
    assert jwt_parts(fresh["id_token"])[1]["sub"] == src["alice"].sub
    # the client secrets moved (hashed under the realm secret, which moved too)
    svc = src["svc"].at(b_op)
    r = svc.token({"grant_type": "client_credentials", "resource": API, "scope": "read"})
    assert r.status_code == 200, r.text
    # bob's sub stays retired: a new user never gets it
    assert src["bob"].sub not in [u["sub"] for u in gh.users()]
    # new rows get new ids: the identity sequences moved past the copied ones
    gh.ok("client", "add", "later", "--redirect-uri", "https://later.example/cb")
    assert gh.client("later")["client_id"] == "later"


def test_round_trip_sqlite_postgresql_sqlite_gives_the_same_realm(gh, start_server, tmp_path,
                                                                 pg_dsn):
    src = make_source(gh, start_server, tmp_path)
    mid_keys, back_keys, back = tmp_path / "mid-keys", tmp_path / "back-keys", tmp_path / "b.db"
    gh.ok("migrate", "--from", src["db"], "--to", pg_dsn, "--from-keys", src["keys"],
          "--to-keys", mid_keys)
    out = gh.ok("migrate", "--from", pg_dsn, "--to", f"sqlite:{back}", "--from-keys", mid_keys,
                "--to-keys", back_keys)
    assert reported_counts(out) == sqlite_counts(src["db"]), out
    # the same rows (the realm secret row stayed behind: it is a file again) ...
    assert sqlite_dump(back) == sqlite_dump(src["db"])
    # ... and the same secret and key files, private modes
    want = {n: v for n, v in listing(src["keys"]).items() if n.endswith(".pem") or
            n == "secret.key"}
    assert listing(back_keys) == want
    assert all(mode(back_keys / n) == 0o600 for n in want)


def test_sqlite_to_sqlite_copy_serves_the_same_realm(gh, start_server, tmp_path):
    src = make_source(gh, start_server, tmp_path)
    dst, dst_keys = tmp_path / "copy.db", tmp_path / "copy-keys"
    gh.ok("migrate", "--from", src["db"], "--to", dst, "--from-keys", src["keys"],
          "--to-keys", dst_keys)
    assert sqlite_dump(dst) == sqlite_dump(src["db"])
    use(gh, dst, dst_keys)
    c = OP(gh, start_server(init=False))
    assert c.jwks() == src["jwks"]
    r = src["shop"].at(c).refresh(src["tokens"]["refresh_token"])
    assert r.status_code == 200, r.text


def test_usage_errors_exit_2(gh, tmp_path):
    for args, why in ((("--to", tmp_path / "x.db"), "--from and --to are both required"),
                      (("--from", tmp_path / "x.db"), "--from and --to are both required"),
                      (("--from", "a.db", "--to", "a.db"), "name the same database")):
        line = gh.fails("migrate", *args, rc=2)
        assert why in line, line
    assert not (tmp_path / "x.db").exists()


def test_a_destination_with_a_realm_is_refused_and_unchanged(gh, start_server, tmp_path):
    src = make_source(gh, start_server, tmp_path)
    other, other_keys = tmp_path / "other.db", tmp_path / "other-keys"
    use(gh, other, other_keys)
    gh.ok("init")
    before = sqlite_dump(other), listing(other_keys)
    fresh_keys = tmp_path / "fresh-keys"
    line = gh.fails("migrate", "--from", src["db"], "--to", other, "--from-keys", src["keys"],
                    "--to-keys", fresh_keys)
    assert "the destination is not empty" in line and "unchanged" in line, line
    assert (sqlite_dump(other), listing(other_keys)) == before
    assert listing(fresh_keys) == {}, "files written for a migration that did not happen"
    # nor are a realm's key files taken over: a keys directory with a secret is refused first
    line = gh.fails("migrate", "--from", src["db"], "--to", tmp_path / "new.db",
                    "--from-keys", src["keys"], "--to-keys", other_keys)
    assert "secret.key exists already" in line and "--to-keys" in line, line
    assert not (tmp_path / "new.db").exists() and listing(other_keys) == before[1]


def test_a_source_key_that_is_missing_or_not_its_kid_stops_before_anything_is_written(
        gh, start_server, tmp_path):
    src = make_source(gh, start_server, tmp_path)
    pems = sorted(p for p in src["keys"].iterdir() if p.suffix == ".pem")
    dst, dst_keys = tmp_path / "d.db", tmp_path / "d-keys"
    # a key file that holds another key: its thumbprint is not its kid
    saved = pems[0].read_bytes()
    pems[0].write_bytes(pems[1].read_bytes())
    line = gh.fails("migrate", "--from", src["db"], "--to", dst, "--from-keys", src["keys"],
                    "--to-keys", dst_keys)
    assert pems[0].stem in line, line
    assert not dst.exists() and listing(dst_keys) == {}
    # a key file gone
    pems[0].unlink()
    line = gh.fails("migrate", "--from", src["db"], "--to", dst, "--from-keys", src["keys"],
                    "--to-keys", dst_keys)
    assert f"signing key {pems[0].stem} of the source" in line and "No such file" in line, line
    assert not dst.exists() and listing(dst_keys) == {}
    # back in place, with a mode others can read: refused like a server refuses it
    pems[0].write_bytes(saved)
    os.chmod(pems[0], 0o644)
    line = gh.fails("migrate", "--from", src["db"], "--to", dst, "--from-keys", src["keys"],
                    "--to-keys", dst_keys)
    assert "readable by group or others" in line, line
    os.chmod(pems[0], 0o600)
    gh.ok("migrate", "--from", src["db"], "--to", dst, "--from-keys", src["keys"],
          "--to-keys", dst_keys)
    assert sqlite_dump(dst) == sqlite_dump(src["db"])


def test_a_source_that_is_not_a_realm_is_refused(gh, tmp_path):
    line = gh.fails("migrate", "--from", tmp_path / "none.db", "--to", tmp_path / "d.db")
    assert "the source" in line, line
    assert not (tmp_path / "d.db").exists() and not (tmp_path / "none.db").exists()


def test_postgresql_destination_with_a_realm_is_refused(gh, start_server, tmp_path, pg_dsn):
    src = make_source(gh, start_server, tmp_path)
    keys = tmp_path / "pg-keys"
    gh.ok("migrate", "--from", src["db"], "--to", pg_dsn, "--from-keys", src["keys"],
          "--to-keys", keys)
    kek = (keys / "kek.key").read_bytes()
    line = gh.fails("migrate", "--from", src["db"], "--to", pg_dsn, "--from-keys", src["keys"],
                    "--to-keys", keys)
    assert "already holds a realm" in line, line
    assert (keys / "kek.key").read_bytes() == kek
    # a PostgreSQL source under the wrong KEK: refused, nothing written
    wrong = tmp_path / "wrong-keys"
    wrong.mkdir(mode=0o700)
    (wrong / "kek.key").write_text("A" * 43 + "\n")
    os.chmod(wrong / "kek.key", 0o600)
    line = gh.fails("migrate", "--from", pg_dsn, "--to", tmp_path / "back.db",
                    "--from-keys", wrong, "--to-keys", tmp_path / "back-keys")
    assert "does not open the source's realm secret" in line, line
    assert not (tmp_path / "back.db").exists() and not (tmp_path / "back-keys").exists()


def test_a_source_table_this_build_does_not_know_is_refused(gh, start_server, tmp_path):
    """Rows are never silently left behind: an extra table (a newer gatehouse's, or an
    operator's) stops the copy before anything is written."""
    src = make_source(gh, start_server, tmp_path)
    with sqlite3.connect(src["db"]) as c:
        c.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        c.execute("INSERT INTO notes (text) VALUES ('keep me')")
    line = gh.fails("migrate", "--from", src["db"], "--to", tmp_path / "d.db",
                    "--from-keys", src["keys"], "--to-keys", tmp_path / "d-keys")
    assert "a table this gatehouse does not know: notes" in line, line
    assert not (tmp_path / "d.db").exists() and listing(tmp_path / "d-keys") == {}
