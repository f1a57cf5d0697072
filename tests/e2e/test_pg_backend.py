"""The PostgreSQL backend's own behaviour (GATEHOUSE_TEST_PG=1 only): migrations under a
concurrent start, a lost connection survived, a foreign database refused, `db check`."""
import contextlib
import socket
import threading
import time

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import start_op  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: users_template

pytestmark = pytest.mark.pg_only


def test_two_inits_at_once_migrate_the_empty_database_once(gh, pg_cluster):
    """pg_advisory_xact_lock: the second waits for the first and finds the schema in place
    (without the lock both would CREATE TABLE and one would fail)."""
    gh.db.ensure()
    results = [None, None]
    go = threading.Barrier(2)

    def init(i):
        go.wait()
        results[i] = gh.run("init", env={"GATEHOUSE_KEYS": gh.root / f"keys{i}",
                                         "GATEHOUSE_KEK_FILE": gh.root / "realm.kek"})

    threads = [threading.Thread(target=init, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    # Two hosts of one realm, each with its own keys directory and the same KEK file (made by
    # whichever came first, never replaced): one migration, one key per alg between them.
    for rc, out, err in results:
        assert "migrating" not in err and "not a gatehouse database" not in err, err
        assert rc == 0, f"stdout: {out}\nstderr: {err}"
    assert pg_cluster.psql("SELECT version FROM gatehouse_schema", gh.db.name).strip() == "9"
    assert pg_cluster.psql("SELECT string_agg(alg, ',' ORDER BY alg) FROM signing_keys",
                           gh.db.name).strip() == "ES256,PS256,RS256"


def test_a_database_with_other_tables_is_refused(gh, pg_cluster):
    gh.db.ensure()
    pg_cluster.psql("CREATE TABLE invoices (id integer PRIMARY KEY)", gh.db.name)
    line = gh.fails("init")
    assert "is not a gatehouse database" in line, line
    assert "gatehouse_schema" not in pg_cluster.psql(
        "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'",
        gh.db.name)


def test_commands_on_an_empty_database_ask_for_init(gh):
    gh.db.ensure()
    line = gh.fails("user", "list")
    assert "run: gatehouse init" in line, line


def test_a_password_in_the_dsn_is_never_printed(gh, pg_cluster):
    dsn = f"postgresql://postgres:s3cr3t-pw@127.0.0.1:{pg_cluster.port}/no_such_db"
    rc, out, err = gh.run("user", "list", env={"GATEHOUSE_DB": dsn})
    assert rc != 0
    assert "no_such_db@127.0.0.1" in err, err
    assert "s3cr3t-pw" not in out + err, err


def test_db_check_finds_a_missing_table(ready, pg_cluster):
    out = ready.ok("db", "check")
    assert out.strip().endswith(": ok"), out
    pg_cluster.psql("DROP TABLE consents", ready.db.name)
    rc, out, err = ready.run("db", "check")
    assert rc != 0
    # opening prepares every statement: the one that reads consents fails, and says so
    assert 'relation "consents" does not exist' in err, out + err
    assert "does not have the schema this gatehouse expects" in err, err


def terminate_backends(pg_cluster, db) -> int:
    """What a server restart or a failover does to every open connection of this database."""
    return int(pg_cluster.psql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        f"WHERE datname = '{db}' AND application_name = 'gatehouse'", "postgres").strip())


def test_lost_connections_are_reestablished(gh, start_server, users_template, pg_cluster):
    op = start_op(gh, start_server, users_template)
    shop, alice = op.client("shop"), op.user("alice")
    t = op.browser().tokens(shop, alice)
    assert terminate_backends(pg_cluster, gh.db.name) >= 1
    # Each call below begins with a BEGIN or a read outside a transaction, which is sent again
    # on a new connection: no request fails.
    r = shop.refresh(t["refresh_token"])
    assert r.status_code == 200, r.text
    assert op.userinfo(r.json()["access_token"]).status_code == 200
    assert terminate_backends(pg_cluster, gh.db.name) >= 1
    t2 = op.browser().tokens(shop, alice)
    assert op.userinfo(t2["access_token"]).status_code == 200
    assert "store_reconnected" in op.server.stderr()
    assert op.server.alive()


class FreezingProxy:
    """A TCP relay in front of the cluster that can stop relaying without closing anything:
    what a database host that vanished looks like from here (no RST, no answer)."""

    def __init__(self, target_port):
        self.target = target_port
        self.frozen = threading.Event()
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            u = socket.create_connection(("127.0.0.1", self.target))
            self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        src.settimeout(0.1)
        while not self.stop.is_set():
            if self.frozen.is_set():
                time.sleep(0.05)
                continue
            try:
                data = src.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            try:
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self):
        self.stop.set()
        self.sock.close()
        for s in self.conns:
            with contextlib.suppress(OSError):
                s.close()


def test_readyz_is_bounded_when_the_database_stops_answering(gh, start_server, users_template,
                                                            pg_cluster):
    """/readyz waits GH_READY_DB_TIMEOUT_MS (250 ms) for the database, not TCP's minutes: a
    silent database makes it 503 quickly, every time (the stale connection is made again within
    the same bound), and 200 again once the database answers."""
    src, _ = users_template
    gh.init_from(src)
    proxy = FreezingProxy(pg_cluster.port)
    try:
        dsn = f"postgresql://postgres@127.0.0.1:{proxy.port}/{gh.db.name}"
        s = start_server(init=False, env={"GATEHOUSE_DB": dsn, "GATEHOUSE_THREADS": "1"})
        assert s.get("/readyz").status_code == 200
        proxy.frozen.set()
        time.sleep(0.3)        # pumps inside a recv (0.1 s timeout) forward that one read
        for _ in range(3):
            t0 = time.monotonic()
            r = s.get("/readyz", timeout=10)
            took = time.monotonic() - t0
            assert r.status_code == 503, r.text
            assert r.json()["reason"] == "the database does not answer"
            assert took < 2.0, f"/readyz took {took:.2f} s with a silent database"
        proxy.frozen.clear()
        deadline = time.monotonic() + 15
        while s.get("/readyz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "not ready again after the database came back"
            time.sleep(0.2)
        assert s.get("/jwks.json").status_code == 200
        assert "store_reconnected" in s.stderr()
    finally:
        proxy.close()
