"""conftest_pg.py — PostgreSQL mode of the end-to-end suite (imported by conftest.py).

    GATEHOUSE_TEST_PG=1 GATEHOUSE_BIN=./gatehouse /usr/bin/python3 -m pytest -q tests/e2e

runs the suite with every test's database in a throw-away PostgreSQL cluster (one per session,
tests/tools/pgtmp.py; a fresh database per test, see ghtest.py). Without the variable nothing
changes. Tests that only make sense with a SQLite file (they open it with sqlite3, check its
mode bits, kill -9 the server to test SQLite's recovery) carry

    @pytest.mark.sqlite_only("why")

and are skipped in PostgreSQL mode only, with that reason.
"""
import pytest

import ghtest


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only(reason): the test needs the SQLite backend; "
                            "skipped when GATEHOUSE_TEST_PG=1")
    config.addinivalue_line("markers", "pg_only: the test needs GATEHOUSE_TEST_PG=1")


def pytest_collection_modifyitems(config, items):
    for item in items:
        m = item.get_closest_marker("sqlite_only")
        if m is not None and ghtest.PG_MODE:
            why = m.args[0] if m.args else "SQLite-specific"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {why}"))
        if item.get_closest_marker("pg_only") is not None and not ghtest.PG_MODE:
            item.add_marker(pytest.mark.skip(reason="needs GATEHOUSE_TEST_PG=1"))


@pytest.fixture(scope="session")
def pg_cluster():
    """The session's throw-away PostgreSQL cluster (PG mode only)."""
    if not ghtest.PG_MODE:
        pytest.skip("needs GATEHOUSE_TEST_PG=1")
    return ghtest.pg_cluster()
