"""Issue 5 (hardening): storage faults. With the database locked by another process, not
writable, or on a full disk, the server answers what needs a write with 503 + Retry-After
(JSON temporarily_unavailable at the back channel, an HTML page in the browser), keeps answering
what only reads, writes one clear log line per fault (not one per request), does not crash,
and works again in the same process once the fault is gone; `gatehouse user add` says in one
line what is wrong and exits 1. Afterwards `PRAGMA integrity_check` is ok and nothing the server
acknowledged is lost.

The faults are real, not mocks:
- locked: a second process (python's sqlite3) holds BEGIN EXCLUSIVE longer than the 5 s busy
  timeout. (That parallel writers each give up after about the busy timeout, instead of queueing
  behind each other, is checked in unit test_store_fault.c: over HTTP two connections may share
  one server thread, which would make that timing depend on the scheduler.) With PostgreSQL
  (GATEHOUSE_TEST_PG=1) another session holds EXCLUSIVE locks on every table (readers pass,
  writers wait) and gatehouse's own default lock_timeout (the same 5 s, unless the DSN or the
  role sets one) ends a write that waits; it is SQLSTATE 55P03, the same fault kind "locked".
The full-disk and read-only cases act on the SQLite file and its directory and are SQLite-only:
a PostgreSQL server's storage is the server's (and here shared by the whole session's tests).
- full: the data directory is a small tmpfs filled up by a filler file (needs root or
  CAP_SYS_ADMIN). Without mount rights the test falls back to RLIMIT_FSIZE on the running
  server (prlimit), which makes its writes fail with EFBIG, the same kind ("full"); which one
  ran is printed.
- read-only: `chattr +i` (needs root and a file system with the immutable flag) on the database
  and its -wal file while the server runs: its writes then fail with EPERM, as on a file system
  the kernel turned read-only. Linux refuses to remount a file system read-only while files are
  open for writing (EBUSY), so this is the way to make a running server's files unwritable.
  Without root the test only covers the start-up check (chmod 0444 database, 0555 directory:
  the server refuses to start and the CLI says the database is read-only).
"""
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest

pytest.register_assert_rewrite("oidc")
from oidc import (  # noqa: E402
    PASSWORD, assert_html_error, assert_login_page, start_op)
from ghtest import PG_MODE  # noqa: E402

pytest_plugins = ["oidc"]

BUSY_S = 5            # BUSY_TIMEOUT_MS of store_sqlite.c; with PostgreSQL the DSN's lock_timeout
SQLITE_FILE = "it makes the SQLite file or its file system fail; PostgreSQL's storage belongs to " \
              "the server (test_pg_backend.py covers a lost server)"


def fault_lines(server, kind):
    return [ln for ln in server.stderr().splitlines()
            if " store_fault " in ln and f"kind={kind} " in ln]


def recovered_lines(server, kind):
    return [ln for ln in server.stderr().splitlines()
            if " store_recovered " in ln and f"kind={kind} " in ln]


def assert_json_503(r):
    """The store-unavailable answer of the back channel."""
    assert r.status_code == 503, f"want 503, got {r.status_code} {r.text[:500]}"
    assert r.json()["error"] == "temporarily_unavailable", r.text
    assert int(r.headers["Retry-After"]) > 0, r.headers
    assert r.headers.get("Cache-Control") == "no-store", r.headers


def assert_page_503(r):
    assert_html_error(r, 503)
    assert int(r.headers["Retry-After"]) > 0, r.headers
    assert "database" in r.text, r.text[:1000]


def login_page(op, client):
    """A browser at the login form of client (reads and a light write: before the fault)."""
    b = op.browser()
    a = b.authorize(client)
    assert_login_page(a.r)
    return b, a


def finish_login(b, a, page, user):
    r = b.login(page, user)
    if r.status_code == 200 and "/consent" in r.text:
        r = b.consent(r, "allow")
    return a.code(r)


def introspect(client, token):
    data, headers = {"token": token}, {}
    client.auth(data, headers)
    return client.op.post("/introspect", data=data, headers=headers)


def integrity_ok(gh):
    if PG_MODE:     # PostgreSQL checks its own pages; what we check is that the schema answers
        assert gh.ok("db", "check").strip().endswith(": ok")
        return
    assert gh.sql("PRAGMA integrity_check").strip() == "ok"


def add_user_fails(gh, name, want):
    """`gatehouse user add` during the fault: one line naming the fault, exit 1."""
    line = gh.fails("user", "add", name, "--password-stdin", input=PASSWORD + "\n")
    assert want in line, line
    assert gh.db_label in line, line
    return line


def still_works(op, shop, alice, ledger):
    """Everything acknowledged before and during the fault is still there."""
    for at in ledger["access"]:
        r = op.userinfo(at)
        assert r.status_code == 200, f"an access token handed out no longer works: {r.text}"
    for rt in ledger["refresh"]:
        r = shop.refresh(rt)
        assert r.status_code == 200, f"a refresh token handed out was lost: {r.text}"
    known = {u["username"] for u in op.gh.users()}
    assert alice.username in known


# --- locked ------------------------------------------------------------------------------

class Locker:
    """Another process's exclusive write transaction on the database (python's sqlite3 in a
    thread of this process: a connection of its own, a lock of its own). PostgreSQL: a session
    of its own in a transaction holding LOCK TABLE … IN EXCLUSIVE MODE on every table of the
    schema, which lets readers (ACCESS SHARE) pass and makes every writer wait."""

    def __init__(self, gh):
        if PG_MODE:
            import psycopg2
            self.con = psycopg2.connect(gh.db.dsn, application_name="locker")
            with self.con.cursor() as cur:      # psycopg2 opens the transaction itself
                cur.execute("SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
                            "WHERE schemaname = current_schema()")
                tables = cur.fetchone()[0]
                assert tables and "refresh_tokens" in tables, tables
                cur.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
            return
        self.con = sqlite3.connect(str(gh.db), isolation_level=None, timeout=10,
                                   check_same_thread=False)
        self.con.execute("BEGIN EXCLUSIVE")

    def release(self):
        if PG_MODE:
            self.con.rollback()
        else:
            self.con.execute("ROLLBACK")
        self.con.close()


def test_locked_database_gives_503_then_recovers(gh, start_server, users_template):
    op = start_op(gh, start_server, users_template)
    shop, alice = op.client("shop"), op.user("alice")
    t = op.browser().tokens(shop, alice)
    b, a = login_page(op, shop)
    ledger = {"access": [t["access_token"]], "refresh": []}

    lock = Locker(gh)
    try:
        # a write: refresh-token rotation waits out the busy timeout, then 503
        t0 = time.monotonic()
        r = shop.refresh(t["refresh_token"])
        took = time.monotonic() - t0
        assert_json_503(r)
        assert BUSY_S - 0.5 <= took < BUSY_S + 4, f"answered after {took:.1f} s"
        # sign-in needs a write (the attempt is counted first): an HTML 503 with Retry-After
        r = b.login(a.r, alice)
        assert_page_503(r)
        # reads need no write lock: userinfo and introspection still answer
        r = op.userinfo(t["access_token"])
        assert r.status_code == 200, r.text
        r = introspect(shop, t["access_token"])
        assert r.status_code == 200 and r.json()["active"] is True, r.text
        # the CLI says what is wrong
        line = add_user_fails(gh, "lockeduser", "is locked by another process")
        assert "try again" in line
        assert op.server.alive()
    finally:
        lock.release()

    # one line for the whole episode, though three writes failed
    lines = fault_lines(op.server, "locked")
    assert len(lines) == 1, "\n".join(lines) or op.server.stderr()
    assert gh.db_label in lines[0] and "locked by another process" in lines[0], lines[0]
    assert " err store_fault " in lines[0]
    # the same process works again: the refresh token the 503s left alone rotates, the
    # sign-in the 503 interrupted completes
    r = shop.refresh(t["refresh_token"])
    assert r.status_code == 200, r.text
    ledger["refresh"].append(r.json()["refresh_token"])
    ledger["access"].append(r.json()["access_token"])
    code = finish_login(b, a, a.r, alice)
    t2 = shop.redeem_ok(code, a.verifier)
    ledger["refresh"].append(t2["refresh_token"])
    gh.add_user("afterlock")
    assert len(recovered_lines(op.server, "locked")) == 1, op.server.stderr()
    assert len(fault_lines(op.server, "locked")) == 1
    still_works(op, shop, alice, ledger)
    assert op.server.alive()
    integrity_ok(gh)


# --- full --------------------------------------------------------------------------------

def can_mount():
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    probe = "/proc/self/status"
    with open(probe) as f:
        for ln in f:
            if ln.startswith("CapEff:"):
                return bool(int(ln.split()[1], 16) & (1 << 21))   # CAP_SYS_ADMIN
    return False


def fill(path):
    """Write path until the file system is full; the bytes written."""
    n = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n += f.write(chunk)
            except OSError:
                break
        while True:   # the last partial page
            try:
                n += f.write(b"\0" * 512)
            except OSError:
                break
    return n


def write_until_503(op, shop, ledger, t):
    """Rotate refresh tokens until one answers 503 (the WAL may still have room for a few);
    every 200 is acknowledged and goes in the ledger."""
    rt = t["refresh_token"]
    for _ in range(40):
        r = shop.refresh(rt)
        if r.status_code == 503:
            return r, rt
        assert r.status_code == 200, r.text
        rt = r.json()["refresh_token"]
        ledger["access"].append(r.json()["access_token"])
    raise AssertionError("no write failed on a full disk")


@pytest.mark.sqlite_only(SQLITE_FILE)
def test_full_disk_gives_503_then_recovers(gh, start_server, users_template, tmp_path):
    mounted = None
    filler = None
    if can_mount() and os.environ.get("GH_TEST_NO_MOUNT") != "1":
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs",
                            str(gh.dir)], capture_output=True, text=True)
        assert p.returncode == 0, f"mount tmpfs: {p.stderr}"
        mounted = str(gh.dir)
        how = "tmpfs of 16 MiB filled by a filler file"
    else:
        how = "RLIMIT_FSIZE on the server (no mount rights)"
        # SIGXFSZ would kill it (python's subprocess resets it to the default): a shell that
        # ignores it execs the server, which inherits that
        wrapper = tmp_path / "gatehouse-nofsz"
        wrapper.write_text(f"#!/bin/sh\ntrap '' XFSZ\nexec '{gh.binary}' \"$@\"\n")
        wrapper.chmod(0o755)
        gh.binary = wrapper
    print(f"full disk via {how}")
    op = None
    try:
        op = start_op(gh, start_server, users_template)
        shop, alice = op.client("shop"), op.user("alice")
        t = op.browser().tokens(shop, alice)
        b, a = login_page(op, shop)
        ledger = {"access": [t["access_token"]], "refresh": []}
        if mounted:
            filler = gh.dir / "filler"
            fill(filler)
        else:
            size = max(os.path.getsize(gh.db), os.path.getsize(str(gh.db) + "-wal"))
            resource.prlimit(op.server.pid, resource.RLIMIT_FSIZE,
                             (size, resource.RLIM_INFINITY))

        r, rt = write_until_503(op, shop, ledger, t)
        assert_json_503(r)
        r = b.login(a.r, alice)
        assert_page_503(r)
        r = op.userinfo(t["access_token"])
        assert r.status_code == 200, r.text
        if mounted:
            add_user_fails(gh, "fulluser", "is full")
        assert op.server.alive()
        lines = fault_lines(op.server, "full")
        assert len(lines) == 1, "\n".join(lines) or op.server.stderr()
        assert str(gh.db) in lines[0] and "full" in lines[0], lines[0]

        if mounted:
            os.unlink(filler)
            filler = None
        else:
            resource.prlimit(op.server.pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        r = shop.refresh(rt)
        assert r.status_code == 200, r.text
        ledger["refresh"].append(r.json()["refresh_token"])
        ledger["access"].append(r.json()["access_token"])
        code = finish_login(b, a, a.r, alice)
        ledger["refresh"].append(shop.redeem_ok(code, a.verifier)["refresh_token"])
        gh.add_user("afterfull")
        assert len(recovered_lines(op.server, "full")) == 1, op.server.stderr()
        still_works(op, shop, alice, ledger)
        assert op.server.alive()
        integrity_ok(gh)
    finally:
        if filler is not None:
            filler.unlink(missing_ok=True)
        if mounted:
            if op is not None and op.server.alive():
                op.server.stop()
            subprocess.run(["umount", mounted], check=True)


# --- read-only ---------------------------------------------------------------------------

def can_chattr(path):
    if os.geteuid() != 0 or not shutil.which("chattr"):
        return False
    p = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    if p.returncode != 0:
        return False
    subprocess.run(["chattr", "-i", str(path)], check=True)
    return True


def immutable(paths, on):
    subprocess.run(["chattr", "+i" if on else "-i", *map(str, paths)], check=True)


@pytest.mark.sqlite_only(SQLITE_FILE)
@pytest.mark.skipif(os.geteuid() != 0, reason="making a running server's files unwritable "
                    "needs chattr +i (root); the start-up case is covered below")
def test_read_only_database_gives_503_then_recovers(gh, start_server, users_template):
    op = start_op(gh, start_server, users_template)
    shop, alice = op.client("shop"), op.user("alice")
    t = op.browser().tokens(shop, alice)
    b, a = login_page(op, shop)
    ledger = {"access": [t["access_token"]], "refresh": []}
    files = [gh.db, gh.dir / "gatehouse.db-wal"]
    if not can_chattr(files[0]):
        pytest.skip("this file system has no immutable flag")
    immutable(files, True)
    try:
        r = shop.refresh(t["refresh_token"])
        assert_json_503(r)
        r = b.login(a.r, alice)
        assert_page_503(r)
        r = op.userinfo(t["access_token"])
        assert r.status_code == 200, r.text
        add_user_fails(gh, "rouser", "is read-only")
        assert op.server.alive()
    finally:
        immutable(files, False)
    lines = fault_lines(op.server, "read_only")
    assert len(lines) == 1, "\n".join(lines) or op.server.stderr()
    assert str(gh.db) in lines[0] and "cannot be written" in lines[0], lines[0]
    r = shop.refresh(t["refresh_token"])
    assert r.status_code == 200, r.text
    ledger["refresh"].append(r.json()["refresh_token"])
    code = finish_login(b, a, a.r, alice)
    ledger["refresh"].append(shop.redeem_ok(code, a.verifier)["refresh_token"])
    assert len(recovered_lines(op.server, "read_only")) == 1, op.server.stderr()
    still_works(op, shop, alice, ledger)
    integrity_ok(gh)


@pytest.mark.sqlite_only(SQLITE_FILE)
def test_server_refuses_to_start_on_a_read_only_database(gh, start_server, users_template):
    """The start-up check, which works without root: a read-only database is refused with one
    clear line, and the CLI says the same; writable again, it starts."""
    op = start_op(gh, start_server, users_template)
    op.server.stop()
    root = os.geteuid() == 0
    if root and not can_chattr(gh.db):
        pytest.skip("root ignores permission bits and this file system has no immutable flag")
    if root:
        immutable([gh.db], True)
    else:
        os.chmod(gh.db, 0o444)
        os.chmod(gh.dir, 0o555)
    try:
        s = start_server(wait=False)
        rc = s.wait_exit(15)
        assert rc not in (None, 0), "the server started on a read-only database"
        assert "is read-only" in s.stderr() and str(gh.db) in s.stderr(), s.stderr()
        add_user_fails(gh, "rouser2", "is read-only")
    finally:
        if root:
            immutable([gh.db], False)
        else:
            os.chmod(gh.dir, 0o700)
            os.chmod(gh.db, 0o600)
    s = start_server()
    assert s.get("/healthz").status_code == 200
    integrity_ok(gh)
