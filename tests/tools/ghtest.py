"""ghtest.py — helpers for the end-to-end tests in tests/e2e (imported by conftest.py).

Gatehouse: one throw-away data location (db + keys in a temp dir) and a `run()` that calls the
binary there with a clean environment, fast Argon2 and no controlling terminal.
Server: one `gatehouse serve` on a free loopback port, its stderr in a file.

With GATEHOUSE_TEST_PG=1 (opt-in; default off) every Gatehouse gets a fresh database of its own
in one throw-away PostgreSQL cluster per test session (pgtmp.py), passed as GATEHOUSE_DB; gh.db
then stands for that database (PgDb) instead of a file, and sql()/dump() go through psycopg2
(pgtmp.Cluster.psql: rows printed as sqlite3 prints them) and pg_dump. Tests that only make
sense with SQLite files carry @pytest.mark.sqlite_only.
"""
import base64
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

import pgtmp

PG_MODE = os.environ.get("GATEHOUSE_TEST_PG") == "1"
_pg_cluster = None
_pg_counter = 0
_pg_templates = {}          # data dir of a template Gatehouse -> its database name


def pg_cluster():
    """The session's throw-away cluster, started on first use and stopped at exit."""
    global _pg_cluster
    if _pg_cluster is None:
        import atexit
        _pg_cluster = pgtmp.Cluster.start()
        atexit.register(_pg_cluster.stop)
    return _pg_cluster


def pg_new_name() -> str:
    """A name for a new database in the session cluster (created when first needed)."""
    global _pg_counter
    _pg_counter += 1
    return f"gh_{os.getpid()}_{_pg_counter}"


class PgDb:
    """gh.db in PostgreSQL mode: the test's database, created when something first uses it
    (empty, or as a copy of a template: CREATE DATABASE costs about as much as a test).
    exists() is true once it has a schema, which is what `gh.db.exists()` means for a SQLite
    file: `gatehouse init` ran."""

    def __init__(self, name):
        self.name = name
        self.created = False

    @property
    def dsn(self) -> str:
        return pg_cluster().dsn(self.name)

    def __str__(self):
        return self.dsn

    def __fspath__(self):
        raise TypeError("the PostgreSQL test database is not a file (mark the test sqlite_only)")

    def ensure(self, template=None):
        """Create it (from template when given; a template replaces an existing database)."""
        c = pg_cluster()
        if self.created and template is None:
            return
        if self.created:
            c.drop_db(self.name)
        c.create_db(self.name, template)
        self.created = True

    def exists(self) -> bool:
        return self.created and pg_cluster().psql(
            "SELECT to_regclass('gatehouse_schema') IS NOT NULL", self.name).strip() == "t"

    def drop(self):
        if self.created:
            pg_cluster().drop_db_later(self.name)
            self.created = False


# OWASP floor; fast enough that a test can hash dozens of passwords.
FAST_ARGON2 = {"GATEHOUSE_ARGON2_MEMORY_KIB": "19456", "GATEHOUSE_ARGON2_ITERATIONS": "2"}
PASSWORD = "correct horse battery staple"   # 28 characters, not in the common list
CMD_TIMEOUT = 60
SERVER_READY_TIMEOUT = 15
SERVER_STOP_TIMEOUT = 15
# GATEHOUSE_TEST_SLOW=N multiplies the timeouts above, and every timeout a test passes to the
# helpers below, by N: for a binary that runs N times slower (valgrind: 20-50). Default 1.
SLOW = max(1.0, float(os.environ.get("GATEHOUSE_TEST_SLOW") or 1))

B64URL43 = re.compile(r"^[A-Za-z0-9_-]{43}$")
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def binary_path() -> Path:
    p = Path(os.environ.get("GATEHOUSE_BIN") or "./gatehouse")
    if p.is_absolute():
        return p
    if (Path.cwd() / p).exists():
        return (Path.cwd() / p).resolve()
    return (REPO / p).resolve()


REPO = Path(__file__).resolve().parents[2]


def slow(timeout):
    """A timeout a test chose for the normal binary, scaled by GATEHOUSE_TEST_SLOW."""
    return None if timeout is None else timeout * SLOW


def clean_env() -> dict:
    # GATEHOUSE_VALGRIND_* configure tests/tools/valgrind-gatehouse, not gatehouse
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GATEHOUSE_") or k.startswith("GATEHOUSE_VALGRIND_")}
    env.update(FAST_ARGON2)
    env.setdefault("LC_ALL", "C.UTF-8")
    return env


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def lines(text: str) -> list:
    return [ln for ln in text.splitlines() if ln.strip()]


class Gatehouse:
    """A data location of its own and a way to run the CLI against it."""

    def __init__(self, binary: Path, root: Path):
        self.binary = binary
        self.root = root                      # also the working directory of every command
        self.dir = root / "data"
        self.dir.mkdir(mode=0o700)
        self.db = self.dir / "gatehouse.db"
        if PG_MODE:
            self.db = PgDb(pg_new_name())
        self.keys = self.dir / "keys"
        self.env = clean_env()
        self.env["GATEHOUSE_DB"] = str(self.db)
        self.env["GATEHOUSE_KEYS"] = str(self.keys)
        # commands run in a temp dir: point the server at the checkout's pages
        self.env["GATEHOUSE_TEMPLATES"] = str(REPO / "templates")
        self.env["GATEHOUSE_STATIC"] = str(REPO / "static")
        self.history = []                      # (args, stdout, stderr) of every command

    def cmd_env(self, env=None) -> dict:
        e = dict(self.env)
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = str(v)
        return e

    def run(self, *args, input=None, env=None, timeout=CMD_TIMEOUT, cwd=None):
        """Run `gatehouse ARGS...`; returns (rc, stdout, stderr). Without input, stdin is
        /dev/null; there is never a controlling terminal (new session)."""
        kw = {}
        if PG_MODE and isinstance(self.db, PgDb):
            self.db.ensure()
        if input is None:
            kw["stdin"] = subprocess.DEVNULL
        else:
            kw["input"] = input.encode("utf-8") if isinstance(input, str) else input
        p = subprocess.run([str(self.binary), *map(str, args)], capture_output=True,
                           env=self.cmd_env(env), cwd=str(cwd or self.root),
                           timeout=slow(timeout),
                           start_new_session=True, **kw)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        self.history.append((args, out, err))
        # No command ever prints a password hash (issue: Admin CLI).
        assert "$argon2" not in out + err, \
            f"`gatehouse {' '.join(map(str, args))}` printed a password hash:\n{out}{err}"
        return p.returncode, out, err

    def ok(self, *args, **kw) -> str:
        rc, out, err = self.run(*args, **kw)
        assert rc == 0, (f"`gatehouse {' '.join(map(str, args))}` exited {rc}\n"
                         f"stdout: {out}\nstderr: {err}")
        return out

    def json(self, *args, **kw):
        out = self.ok(*args, "--json", **kw)
        try:
            return json.loads(out)
        except ValueError as e:
            raise AssertionError(f"`gatehouse {' '.join(map(str, args))} --json` printed "
                                 f"something that is not JSON ({e}):\n{out}")

    def fails(self, *args, rc=1, **kw) -> str:
        """Run a command that must fail with exit code rc (an int or a tuple of ints) and one
        line on stderr; returns that line."""
        got, out, err = self.run(*args, **kw)
        want = rc if isinstance(rc, tuple) else (rc,)
        assert got in want, (f"`gatehouse {' '.join(map(str, args))}` exited {got}, "
                             f"want {rc}\nstdout: {out}\nstderr: {err}")
        errl = lines(err)
        assert len(errl) == 1, f"want one line on stderr, got {len(errl)}:\n{err}"
        return errl[0]

    # shortcuts --------------------------------------------------------------------------
    def init(self, *args) -> str:
        return self.ok("init", *args)

    def add_user(self, username, password=PASSWORD, *args) -> str:
        return self.ok("user", "add", username, "--password-stdin", *args,
                       input=password + "\n")

    def user(self, username) -> dict:
        return self.json("user", "show", username)

    def users(self) -> list:
        return self.json("user", "list")

    def client(self, client_id) -> dict:
        return self.json("client", "show", client_id)

    def clients(self) -> list:
        return self.json("client", "list")

    def key_list(self) -> list:
        return self.json("keys", "list")

    @property
    def kek_file(self) -> Path:
        """The key-encryption key of sealed signing keys (PostgreSQL mode): --kek-file, else
        the default <keys>/kek.key."""
        return Path(self.env.get("GATEHOUSE_KEK_FILE") or self.keys / "kek.key")

    @property
    def db_label(self) -> str:
        """How gatehouse names the database in its messages: the file's path, or for
        PostgreSQL "dbname@host:port" (src/store/store_pg.c make_label; never a password)."""
        if PG_MODE:
            return f"{self.db.name}@127.0.0.1:{pg_cluster().port}"
        return str(self.db)

    @property
    def demo_file(self) -> Path:
        """Where `serve --demo` keeps the demo password (src/cli/cli_demo.c): beside a SQLite
        file (<db without .db>.demo), or demo.password in the keys directory for a database
        that is not a file (PostgreSQL)."""
        if PG_MODE:
            return self.keys / "demo.password"
        return self.db.with_suffix(".demo")

    def sealed_key(self, kid) -> bytes:
        """The signing_keys.sealed bytes of kid (b"" for NULL: a key kept as a file)."""
        if PG_MODE:
            return bytes.fromhex(self.sql(
                f"SELECT encode(sealed, 'hex') FROM signing_keys WHERE kid = '{kid}'").strip())
        return bytes.fromhex(self.sql(
            f"SELECT hex(sealed) FROM signing_keys WHERE kid = '{kid}'").strip())

    def key_pem(self, kid) -> Path:
        """A PEM file of signing key kid: <keys>/<kid>.pem, or in PostgreSQL mode the sealed
        row opened here, independently of gatehouse, the way docs/postgresql.md describes it
        (HKDF-SHA-256 of the KEK, AES-256-GCM, kid and alg as associated data), written to a
        0600 file outside the keys directory."""
        if not PG_MODE:
            return self.keys / f"{kid}.pem"
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
        alg = self.sql(f"SELECT alg FROM signing_keys WHERE kid = '{kid}'").strip()
        blob = self.sealed_key(kid)
        assert alg and len(blob) > 28, f"signing key {kid} is not sealed in the database"
        kek = b64url_decode(self.kek_file.read_text().strip())
        assert len(kek) == 32
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"gatehouse signing-key seal v1").derive(kek)
        aad = f"gatehouse signing key kid={kid} alg={alg}".encode()
        pem = AESGCM(key).decrypt(blob[:12], blob[12:], aad)
        out = self.root / "unsealed"
        out.mkdir(mode=0o700, exist_ok=True)
        path = out / f"{kid}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return path

    def init_from(self, template_dir: Path):
        """Fill the data location with a copy of an initialised one (keys, and the database:
        the file, or in PostgreSQL mode a copy made with CREATE DATABASE … TEMPLATE)."""
        import shutil
        shutil.copytree(template_dir, self.dir, dirs_exist_ok=True)   # keeps modes
        if PG_MODE:
            self.db.ensure(template=_pg_templates[str(template_dir)])

    def as_template(self):
        """Remember this (initialised) data location's database as a template (PG mode)."""
        if PG_MODE:
            _pg_templates[str(self.dir)] = self.db.name

    def drop(self):
        """PG mode: drop the database (at the end of the test); no-op for SQLite."""
        if PG_MODE and self.db.name not in _pg_templates.values():
            self.db.drop()

    def sql(self, statement: str) -> str:
        if PG_MODE:
            self.db.ensure()
            return pg_cluster().psql(statement, self.db.name)
        p = subprocess.run(["sqlite3", str(self.db), statement], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, f"sqlite3 {statement!r}: {p.stderr}"
        return p.stdout

    def dump(self) -> str:
        """The whole database as SQL text (to prove a failed command changed nothing). In PG
        mode pg_dump --inserts, without the sequences' positions (a failed INSERT consumes an
        identity value in PostgreSQL, which changes no row) and pg_dump's random per-run
        \\restrict key."""
        if PG_MODE:
            self.db.ensure()
            text = pg_cluster().dump(self.db.name)
            return "\n".join(ln for ln in text.splitlines()
                             if not ln.startswith(("SELECT pg_catalog.setval(", "\\restrict",
                                                   "\\unrestrict")))
        return self.sql(".dump")

    def all_output(self) -> str:
        return "\n".join(o + "\n" + e for _, o, e in self.history)


class Server:
    """`gatehouse serve --listen 127.0.0.1:0 --port-file F ARGS` in the background. With
    tls_ca (the path of a CA or self-signed certificate) the server is reached over https and
    its certificate verified against that file; the --tls-cert/--tls-key flags are in ARGS."""

    def __init__(self, gh: Gatehouse, args, env=None, listen="127.0.0.1:0", name="serve",
                 issuer=None, tls_ca=None):
        self.gh = gh
        self.issuer = issuer
        self.tls_ca = str(tls_ca) if tls_ca else None
        self.port_file = gh.root / f"{name}.port"
        self.stderr_path = gh.root / f"{name}.stderr"
        self.stdout_path = gh.root / f"{name}.stdout"
        if PG_MODE and isinstance(gh.db, PgDb):
            gh.db.ensure()
        cmd = [str(gh.binary), "serve", "--listen", listen, "--port-file", str(self.port_file)]
        if issuer:
            cmd += ["--issuer", issuer]
        cmd += [str(a) for a in args]
        with open(self.stderr_path, "wb") as ef, open(self.stdout_path, "wb") as of:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=of, stderr=ef,
                                         env=gh.cmd_env(env), cwd=str(gh.root),
                                         start_new_session=True)
        self.pid = self.proc.pid
        self.port = None
        self.host = "[::1]" if listen.startswith("[") else "127.0.0.1"
        self.session = requests.Session()
        self.session.trust_env = False         # never a proxy
        if self.tls_ca:
            self.session.verify = self.tls_ca
        self.stop_rc = None

    @property
    def base(self) -> str:
        return f"{'https' if self.tls_ca else 'http'}://{self.host}:{self.port}"

    def stderr(self) -> str:
        return self.stderr_path.read_text("utf-8", "replace")

    def _died(self, what):
        raise AssertionError(f"gatehouse serve exited {self.proc.returncode} {what}\n"
                             f"stderr:\n{self.stderr()}")

    def wait_ready(self, timeout=SERVER_READY_TIMEOUT):
        timeout = slow(timeout)
        deadline = time.monotonic() + timeout
        last = "no port file"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._died("before it was ready")
            if self.port is None and self.port_file.exists():
                text = self.port_file.read_text()
                if text.endswith("\n") and text.strip().isdigit():
                    self.port = int(text)
            if self.port is not None:
                try:
                    r = self.session.get(self.base + "/healthz", timeout=slow(2))
                    if r.status_code == 200:
                        return self
                    last = f"GET /healthz answered {r.status_code}"
                except requests.RequestException as e:
                    last = f"GET /healthz: {e}"
            time.sleep(0.02)
        raise AssertionError(f"gatehouse serve not ready within {timeout} s ({last})\n"
                             f"stderr:\n{self.stderr()}")

    def wait_exit(self, timeout=10):
        """For a serve that must refuse to start: its exit code, or None if it is running."""
        try:
            return self.proc.wait(slow(timeout))
        except subprocess.TimeoutExpired:
            return None

    def url(self, path_or_url: str) -> str:
        """An absolute URL for a path, or an issuer-based URL mapped onto this server."""
        if path_or_url.startswith("/"):
            return self.base + path_or_url
        if self.issuer and path_or_url.startswith(self.issuer):
            return self.base + path_or_url[len(self.issuer):]
        return path_or_url

    def request(self, method, path, **kw):
        kw["timeout"] = slow(kw.get("timeout", 10))
        kw.setdefault("allow_redirects", False)
        return self.session.request(method, self.url(path), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def alive(self) -> bool:
        """The process runs and answers /healthz with 200 on a fresh connection."""
        if self.proc.poll() is not None:
            return False
        try:
            with requests.Session() as s:
                s.trust_env = False
                if self.tls_ca:
                    s.verify = self.tls_ca
                return s.get(self.base + "/healthz", timeout=slow(5)).status_code == 200
        except requests.RequestException:
            return False

    def stop(self, sig=signal.SIGTERM, timeout=SERVER_STOP_TIMEOUT):
        """Send sig and wait; returns the exit code. Kills (only this pid) after timeout."""
        timeout = slow(timeout)
        self.session.close()
        if self.proc.poll() is None:
            os.kill(self.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
                raise AssertionError(f"gatehouse serve did not exit within {timeout} s of "
                                     f"{signal.Signals(sig).name}; killed\n"
                                     f"stderr:\n{self.stderr()}")
        self.stop_rc = self.proc.returncode
        return self.stop_rc


def raw_http(port, data: bytes, timeout=10, host="127.0.0.1", read_all=False):
    """Send raw bytes; return (status or None if the connection closed without an answer,
    the bytes received). Connection resets count as a close."""
    got = b""
    try:
        with socket.create_connection((host, port), timeout=slow(timeout)) as s:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                    if not read_all and b"\r\n\r\n" in got:
                        break
            except (ConnectionResetError, socket.timeout):
                pass
    except ConnectionRefusedError:
        return None, b""
    m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
    return (int(m.group(1)) if m else None), got


class FakeClock:
    """The clock a gatehouse of this data location reads: GATEHOUSE_FAKE_NOW_FILE (honoured for
    tests only) names a file holding Unix seconds, read on every use. set() replaces the file
    in one rename, so a running server never reads a half-written time."""

    def __init__(self, gh: "Gatehouse", now: int):
        self.path = gh.root / "now"
        self.set(now)
        gh.env["GATEHOUSE_FAKE_NOW_FILE"] = str(self.path)

    def set(self, now: int):
        self.now = int(now)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(f"{self.now}\n")
        os.replace(tmp, self.path)

    def advance(self, seconds: int):
        self.set(self.now + seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
