#!/usr/bin/python3
"""pgtmp.py — a throw-away PostgreSQL cluster for tests (PostgreSQL 15, Debian's binaries).

initdb into a fresh temp directory, start `postgres` listening on 127.0.0.1 only, on a free
port, with fsync on (the tests check durability; a faster cluster would prove less), wait until
it accepts connections, and hand out databases on it. Stopped by its PID (SIGINT: fast
shutdown), then the directory is removed. initdb refuses to run as root: when this runs as uid
0, initdb and postgres run as the unprivileged `postgres` user (dropped by subprocess before
exec, as `runuser -u postgres --` would), and the directory is handed to that user.

From Python (tests/e2e/conftest_pg.py):
    c = Cluster.start();  dsn = c.create_db("t1");  ...;  c.stop()
From the shell:
    python3 tests/tools/pgtmp.py start DIR      # prints the DSN of database "gatehouse"
    python3 tests/tools/pgtmp.py createdb DIR NAME   # prints that database's DSN
    python3 tests/tools/pgtmp.py stop DIR
"""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PGBIN = Path(os.environ.get("GATEHOUSE_PGBIN", "/usr/lib/postgresql/15/bin"))
PSQL = "/usr/bin/psql"
READY_TIMEOUT = 30
STOP_TIMEOUT = 30
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")   # database names we make: no quoting needed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _drop_kw() -> dict:
    """subprocess keywords that run a child as the postgres user when we are root."""
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam("postgres")
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


class Cluster:
    def __init__(self, root: Path, port: int, pid: int, owned: bool):
        self.root = root            # temp dir: data/ and the log
        self.port = port
        self.pid = pid              # the postmaster
        self.owned = owned          # started by this process (stop() removes root)
        self.user = "postgres"

    # --- life cycle -----------------------------------------------------------------------
    @classmethod
    def start(cls, root: Path = None) -> "Cluster":
        root = Path(root) if root else Path(tempfile.mkdtemp(prefix="gh-pg-"))
        root.mkdir(parents=True, exist_ok=True)
        data = root / "data"
        kw = _drop_kw()
        if kw:
            os.chown(root, kw["user"], kw["group"])
            os.chmod(root, 0o700)
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": str(root)}
        p = subprocess.run([str(PGBIN / "initdb"), "-D", str(data), "-U", "postgres",
                            "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
                            "--no-instructions"],
                           capture_output=True, text=True, env=env, cwd=str(root), **kw)
        if p.returncode != 0:
            raise RuntimeError(f"initdb failed ({p.returncode}):\n{p.stdout}{p.stderr}")
        port = _free_port()
        log = open(root / "postgres.log", "ab")
        proc = subprocess.Popen(
            [str(PGBIN / "postgres"), "-D", str(data), "-p", str(port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
             "-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on",
             "-c", "max_connections=200", "-c", "shared_buffers=32MB"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=str(root),
            start_new_session=True, **kw)
        log.close()
        c = cls(root, port, proc.pid, True)
        c._proc = proc
        (root / "pgtmp.pid").write_text(f"{proc.pid} {port}\n")
        c.wait_ready()
        return c

    @classmethod
    def attach(cls, root: Path) -> "Cluster":
        pid, port = (root / "pgtmp.pid").read_text().split()
        return cls(Path(root), int(port), int(pid), False)

    def wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            proc = getattr(self, "_proc", None)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"postgres exited {proc.returncode}:\n{self.log()}")
            r = subprocess.run([str(PGBIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p",
                                str(self.port)], capture_output=True)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres not ready within {READY_TIMEOUT} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return (self.root / "postgres.log").read_text("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def stop(self):
        """Fast shutdown of our postmaster (by PID only), then remove the directory."""
        for p in getattr(self, "_drops", []):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + STOP_TIMEOUT
        proc = getattr(self, "_proc", None)
        while time.monotonic() < deadline:
            if proc is not None:
                if proc.poll() is not None:
                    break
            else:
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    break
            time.sleep(0.05)
        else:
            os.kill(self.pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    # --- databases ------------------------------------------------------------------------
    def dsn(self, db: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{db}"

    def psql(self, sql: str, db: str = "postgres") -> str:
        p = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-d", self.dsn(db), "-c", sql],
                           capture_output=True, text=True, timeout=60,
                           env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
        if p.returncode != 0:
            raise RuntimeError(f"psql {sql!r} on {db}: {p.stderr}")
        return p.stdout

    def psql_list(self, sql: str, db: str) -> str:
        """Rows as sqlite3's default output prints them: fields joined by |, one per line."""
        return self.psql(sql, db)

    def dump(self, db: str) -> str:
        p = subprocess.run([str(PGBIN / "pg_dump"), "--inserts", "--no-owner",
                            "--no-privileges", "-d", self.dsn(db)],
                           capture_output=True, text=True, timeout=60,
                           env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
        if p.returncode != 0:
            raise RuntimeError(f"pg_dump {db}: {p.stderr}")
        return p.stdout

    def create_db(self, name: str, template: str = None) -> str:
        """CREATE DATABASE name [TEMPLATE template]; returns its DSN. Names are ours, checked
        against NAME_RE, so they need no quoting."""
        for n in (name, template):
            if n is not None and not NAME_RE.match(n):
                raise ValueError(f"bad database name {n!r}")
        sql = f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else "")
        self.psql(sql)
        return self.dsn(name)

    def drop_db_later(self, name: str):
        """DROP DATABASE in the background (it waits for a checkpoint): nobody waits for it.
        Finished drops are reaped here; stop() kills the server anyway."""
        if not NAME_RE.match(name):
            raise ValueError(f"bad database name {name!r}")
        self._drops = [p for p in getattr(self, "_drops", []) if p.poll() is None]
        self._drops.append(subprocess.Popen(
            [PSQL, "-X", "-q", "-d", self.dsn("postgres"), "-c",
             f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}))

    def drop_db(self, name: str):
        if not NAME_RE.match(name):
            raise ValueError(f"bad database name {name!r}")
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main(argv) -> int:
    if len(argv) >= 3 and argv[1] == "start":
        c = Cluster.start(Path(argv[2]))
        c._proc = None              # the postmaster outlives us (its own session)
        print(c.create_db("gatehouse"))
        return 0
    if len(argv) == 4 and argv[1] == "createdb":
        print(Cluster.attach(Path(argv[2])).create_db(argv[3]))
        return 0
    if len(argv) == 3 and argv[1] == "stop":
        Cluster.attach(Path(argv[2])).stop()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
