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
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PGBIN = Path(os.environ.get("GATEHOUSE_PGBIN", "/usr/lib/postgresql/15/bin"))
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
        self._lock = threading.RLock()
        self._conns = {}            # database name -> cached autocommit psycopg2 connection
        self._worker = None         # the thread of _background(), started on first use
        self._jobs = None

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
                            # skip initdb's final sync of the new files (about 1 s): the
                            # cluster is thrown away with the machine's page cache anyway;
                            # the running server keeps fsync on
                            "--no-sync", "--no-instructions"],
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
        import psycopg2
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            proc = getattr(self, "_proc", None)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"postgres exited {proc.returncode}:\n{self.log()}")
            try:
                self._conn("postgres")
                return
            except psycopg2.OperationalError:     # not accepting connections yet
                time.sleep(0.05)
        raise RuntimeError(f"postgres not ready within {READY_TIMEOUT} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return (self.root / "postgres.log").read_text("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def stop(self):
        """Fast shutdown of our postmaster (by PID only), then remove the directory."""
        if self._worker is not None:
            self._jobs.put(None)        # after the jobs queued so far
            self._worker.join(10)
        with self._lock:
            conns, self._conns = list(self._conns.values()), {}
        for c in conns:
            c.close()
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
    # Statements go over psycopg2, not /usr/bin/psql: psql is a Perl wrapper that costs about
    # 0.1 s to start, and the suite ran it several times per test (CREATE DATABASE, the
    # exists() check, every gh.sql, the DROP). One autocommit connection per database is opened
    # on first use and kept (to "postgres" for CREATE/DROP DATABASE, to a test's database for
    # its queries); it is closed before that database is copied (CREATE DATABASE … TEMPLATE
    # refuses a source with other sessions) or dropped.
    def dsn(self, db: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{db}"

    def _conn(self, db: str):
        with self._lock:
            c = self._conns.get(db)
            if c is not None and not c.closed:
                return c
            import psycopg2
            c = psycopg2.connect(self.dsn(db), connect_timeout=10,
                                 application_name="pgtmp")
            c.autocommit = True
            # every value as PostgreSQL's text output prints it (t/f, NULL as "", timestamps
            # with their zone), which is what `psql -A -t` printed and what the tests compare
            ext = psycopg2.extensions
            ext.register_type(ext.new_type(tuple(ext.string_types), "PGTMP_TEXT",
                                           lambda v, cur: v), c)
            self._conns[db] = c
            return c

    def _close(self, db: str):
        with self._lock:
            c = self._conns.pop(db, None)
        if c is not None:
            c.close()

    def query(self, sql: str, db: str = "postgres") -> list:
        """Run sql (one statement, or several: one implicit transaction) in db; the rows of
        the last result as lists of text (None for NULL), [] if it returns none."""
        import psycopg2
        c = self._conn(db)
        try:
            with self._lock, c.cursor() as cur:
                cur.execute(sql)
                return [list(r) for r in cur.fetchall()] if cur.description else []
        except psycopg2.Error as e:
            if c.closed:
                self._close(db)
            raise RuntimeError(f"{sql!r} on {db}: {e}") from None

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Rows as `psql -A -t` prints them: fields joined by |, NULL as "", one per line.
        (The name stays: tests call it; psql itself no longer runs.)"""
        return "".join("|".join("" if v is None else v for v in r) + "\n"
                       for r in self.query(sql, db))

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
        against NAME_RE, so they need no quoting. A copy costs about 0.2 s of CPU whatever the
        template (PostgreSQL copies its ~8 MB of catalogs; STRATEGY FILE_COPY, or making the
        next copy ahead in the background, measured no faster on two busy cores)."""
        for n in (name, template):
            if n is not None and not NAME_RE.match(n):
                raise ValueError(f"bad database name {n!r}")
        if template:
            self._close(template)       # the source of a copy must have no other session
        self.query(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return self.dsn(name)

    def drop_db_later(self, name: str):
        """DROP DATABASE in the background (about 0.1 s with fsync on): nobody needs to wait
        for it."""
        if not NAME_RE.match(name):
            raise ValueError(f"bad database name {name!r}")
        self._close(name)
        self._background(lambda cur: cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def _background(self, job):
        """Queue job(cursor) for the worker thread, which has a connection of its own to
        "postgres" and runs jobs in order; stop() waits for it (briefly) before the server
        goes."""
        with self._lock:
            if self._worker is None:
                self._jobs = queue.Queue()
                self._worker = threading.Thread(target=self._work, daemon=True,
                                                name="pgtmp-worker")
                self._worker.start()
        self._jobs.put(job)

    def _work(self):
        import psycopg2
        c = None
        while True:
            job = self._jobs.get()
            if job is None:
                break
            try:
                if c is None or c.closed:
                    c = psycopg2.connect(self.dsn("postgres"), connect_timeout=10,
                                         application_name="pgtmp-worker")
                    c.autocommit = True
                with c.cursor() as cur:
                    job(cur)
            except psycopg2.Error:
                pass        # a database not dropped goes with the cluster
        if c is not None:
            c.close()

    def drop_db(self, name: str):
        if not NAME_RE.match(name):
            raise ValueError(f"bad database name {name!r}")
        self._close(name)
        self.query(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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
