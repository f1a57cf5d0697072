"""Fixtures for the end-to-end tests: run them with Debian's python3,

    GATEHOUSE_BIN=./gatehouse /usr/bin/python3 -m pytest -q tests/e2e

Every test gets its own temp data location (db + keys), a clean GATEHOUSE_* environment with
fast Argon2 (the OWASP floor), and, if it asks for one, its own server on a free loopback
port that is stopped with SIGTERM (and must exit 0) when the test ends. Tests never depend on
each other or on a server started by hand.
"""
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from ghtest import Gatehouse, Server, binary_path  # noqa: E402
# GATEHOUSE_TEST_PG=1: the sqlite_only marker and the PostgreSQL fixtures (no-ops otherwise)
from conftest_pg import (pg_cluster, pytest_collection_modifyitems,  # noqa: E402,F401
                         pytest_configure)


@pytest.fixture(scope="session")
def gh_bin() -> Path:
    p = binary_path()
    if not (p.is_file() and os.access(p, os.X_OK)):
        pytest.fail(f"gatehouse binary not found at {p}: run `make` or set GATEHOUSE_BIN",
                    pytrace=False)
    return p


@pytest.fixture(scope="session")
def initialised_template(gh_bin, tmp_path_factory) -> Path:
    """One `gatehouse init` per session; tests that only need *an* initialised data location
    get a copy of it (an RSA key generation per test would double the run time)."""
    root = tmp_path_factory.mktemp("template")
    t = Gatehouse(gh_bin, root)
    t.init()
    t.as_template()
    return t.dir


@pytest.fixture
def gh(gh_bin, tmp_path, initialised_template) -> Gatehouse:
    """A fresh, uninitialised data location: gh.db, gh.keys inside gh.dir (passed to the
    binary as GATEHOUSE_DB / GATEHOUSE_KEYS); gh.run(*args, input=None) -> (rc, out, err).
    gh.init_copy() fills it with a copy of a freshly initialised one."""
    g = Gatehouse(gh_bin, tmp_path)

    def init_copy():
        g.init_from(initialised_template)
    g.init_copy = init_copy
    yield g
    g.drop()


@pytest.fixture
def run(gh):
    """run(*args, input=None, env=None) -> (rc, stdout, stderr), with a timeout."""
    return gh.run


@pytest.fixture
def ready(gh) -> Gatehouse:
    """Like gh, initialised (a copy of a data location made by `gatehouse init`)."""
    gh.init_copy()
    return gh


@pytest.fixture
def start_server(gh):
    """start_server(*serve_args, issuer=None, env=None, init=True, wait=True, tls_ca=None)
    -> Server (tls_ca: reach it over https, trusting that certificate file).
    Runs `init` first (unless init=False or the database exists) and waits for the port file
    and a 200 from /healthz. At the end of the test every server still running gets SIGTERM
    and must exit 0 within 15 s."""
    servers = []

    def start(*args, issuer=None, env=None, init=True, init_args=(), wait=True,
              listen="127.0.0.1:0", tls_ca=None):
        if init and not gh.db.exists():
            if init_args:
                gh.init(*init_args)
            else:
                gh.init_copy()
        s = Server(gh, args, env=env, listen=listen, name=f"serve{len(servers)}",
                   issuer=issuer, tls_ca=tls_ca)
        servers.append(s)
        if wait:
            s.wait_ready()
        return s

    yield start

    problems = []
    for s in servers:
        if s.stop_rc not in (None, 0):
            problems.append(f"gatehouse serve (pid {s.pid}) exited {s.stop_rc} when stopped "
                            f"by the test\nstderr:\n{s.stderr()}")
        if s.proc.poll() is None:
            try:
                rc = s.stop()
            except AssertionError as e:
                problems.append(str(e))
                continue
            if rc != 0:
                problems.append(f"gatehouse serve (pid {s.pid}) exited {rc} on SIGTERM\n"
                                f"stderr:\n{s.stderr()}")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def server(start_server) -> Server:
    """A running server on an initialised data location, default issuer."""
    return start_server()
