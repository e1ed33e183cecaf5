"""A PostgreSQL server for tests: fresh, uniquely named databases, dropped afterwards.

The server comes from ``STABILIZE_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``). Without one the tests that need it
skip with one line saying how to run them; under ``CI=true`` a missing server (or a
missing psycopg) fails them instead, so CI never passes without having run them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVER = os.environ.get("STABILIZE_TEST_POSTGRES", DEFAULT_SERVER)
HOW = (
    "PostgreSQL tests need a server: start one (see README) or set "
    "STABILIZE_TEST_POSTGRES=postgresql://USER@HOST:PORT/DB"
)
REAL_PG_SQL = Path(__file__).resolve().parent.parent / "fixtures" / "real-pg.sql"

ran_postgres_tests = [0]
"""How many tests got a database (conftest checks it under CI=true)."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@functools.cache
def server_problem() -> str | None:
    """Why no server can be used, or None."""
    try:
        import psycopg  # noqa: PLC0415 - this module loads without the driver
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    try:
        with psycopg.connect(SERVER, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL server at {_shown(SERVER)} ({str(exc).strip().splitlines()[0]})"
    return None


def require_server() -> None:
    problem = server_problem()
    if problem is None:
        return
    if in_ci():
        pytest.fail(f"CI=true but {problem}", pytrace=False)
    pytest.skip(f"{problem}. {HOW}")


def _shown(url: str) -> str:
    from stabilize_cli.events.store.postgres.dsn import redact_dsn  # noqa: PLC0415

    return redact_dsn(url)


def database_url(name: str, base: str = SERVER, **extra: str) -> str:
    """The server's connection string pointing at database ``name``."""
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415

    return make_conninfo(base, dbname=name, **extra)


def admin_execute(*statements: str) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(SERVER, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


@contextlib.contextmanager
def fresh_database(prefix: str = "stabilize_test") -> Iterator[str]:
    """A new empty database's connection string; dropped (sessions and all) on exit."""
    require_server()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_execute(f'CREATE DATABASE "{name}"')
    ran_postgres_tests[0] += 1
    try:
        yield database_url(name)
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_sql(url: str, path: Path) -> None:
    """Load a pg_dump file with psql (skips, in one line, where psql is missing)."""
    psql = shutil.which("psql")
    if psql is None:
        if in_ci():
            pytest.fail("CI=true but psql is not installed", pytrace=False)
        pytest.skip("psql is not installed: cannot load the real engine's dump")
    subprocess.run(
        [psql, "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh empty database on the test server."""
    with fresh_database() as url:
        yield url


SETTLE_SECONDS = 30.0


def settle(store: object) -> None:
    """Wait until commit order can deliver everything committed so far.

    The frontier (``pg_snapshot_xmin``) is the whole cluster's: another session's open
    transaction, on any database of a shared test server, holds it back. Readers then
    rightly wait; a test asserting what they deliver waits too. Rows ahead of the server's
    counter (a restored dump) are read in sequence order: nothing to wait for. No-op for
    SQLite.
    """
    from stabilize_cli.events import PostgresEventStore  # noqa: PLC0415

    if not isinstance(store, PostgresEventStore):
        return
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        with store.reading() as conn:
            row = conn.execute(
                "WITH top AS (SELECT max(commit_xid) AS xid FROM events) "
                "SELECT coalesce(xid < pg_snapshot_xmin(pg_current_snapshot()) "
                "OR xid >= pg_snapshot_xmax(pg_current_snapshot()), true) FROM top"
            ).fetchone()
        if row is not None and row[0]:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"commit frontier held back {SETTLE_SECONDS:g} s by a transaction")
        time.sleep(0.02)
