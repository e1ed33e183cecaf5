"""The engine's PostgreSQL dump (fixtures/real-pg.sql) loaded into a fresh, uniquely named
database for a test module, dropped afterwards.

The server comes from ``STABILIZE_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``); without one (or without psycopg or
psql) the tests skip with one line, and under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER = os.environ.get("STABILIZE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REAL_PG_SQL = FIXTURES / "real-pg.sql"
LISTED = [
    line.split()
    for line in (FIXTURES / "real-pg.workflows.txt").read_text().splitlines()
    if line.strip()
]
WORKFLOW_IDS = [workflow_id for workflow_id, _, _ in LISTED]
(FAILED,) = [workflow_id for workflow_id, _, status in LISTED if status == "TERMINAL"]


def _server_problem() -> str | None:
    try:
        import psycopg  # noqa: PLC0415 - the tests skip without the driver
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(SERVER, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL server ({str(exc).strip().splitlines()[0]})"
    if shutil.which("psql") is None:
        return "psql is not installed (it loads the engine's dump)"
    return None


def real_pg_database() -> Iterator[str]:
    """A module fixture's body: the dump loaded, its connection string yielded."""
    problem = _server_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {problem}", pytrace=False)
        pytest.skip(f"{problem}; set STABILIZE_TEST_POSTGRES=postgresql://USER@HOST:PORT/DB")
    import psycopg  # noqa: PLC0415
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415

    name = f"stabilize_runs_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo(SERVER, dbname=name)
    try:
        subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(REAL_PG_SQL)],
            check=True,
            capture_output=True,
        )
        yield url
    finally:
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
