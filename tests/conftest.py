"""Shared fixtures: the engine-written database and what the engine reported for it."""

from __future__ import annotations

import os

# Typer reads these when it is first imported: set them before anything imports it, so
# help and tables render the same everywhere (typer-rich-notes.md).
os.environ["_TYPER_FORCE_DISABLE_TERMINAL"] = "1"
os.environ["TERMINAL_WIDTH"] = "100"
os.environ["NO_COLOR"] = "1"
os.environ["COLUMNS"] = "120"
os.environ.pop("FORCE_COLOR", None)
os.environ.pop("STABILIZE_DB", None)

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events import reset_event_bus, reset_event_recorder

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REAL_DB = FIXTURES / "real-small.db"
ENGINE_REPORT = FIXTURES / "real-small.engine.json"
ENGINE_STATUSES = FIXTURES / "real-small.workflows.txt"
SHAPES_DB = FIXTURES / "real-shapes.db"
"""Written by the engine (stabilize 0.33.1) with its workflow tables: restarts, pauses,
cancels, stages that never ran, real error text only in the tables."""
SHAPES = FIXTURES / "real-shapes.workflows.txt"


ENGINE_TABLES = ("task_executions", "stage_executions", "pipeline_executions")


def without_engine_tables(source: Path, target: Path) -> Path:
    """A copy of an engine database with only the event store: what an events-only
    deployment (the engine's event store on a file of its own) leaves."""
    shutil.copyfile(source, target)
    conn = sqlite3.connect(target)
    with conn:
        for table in ENGINE_TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.close()
    return target


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def engine_report() -> dict[str, Any]:
    """What the real engine (stabilize 0.33.1) computed on ``real-small.db``."""
    report: dict[str, Any] = json.loads(ENGINE_REPORT.read_text())
    return report


@pytest.fixture
def real_db_copy(tmp_path: Path) -> Path:
    """A private copy of the engine's database, for tests that may write."""
    target = tmp_path / "real-small.db"
    shutil.copyfile(REAL_DB, target)
    return target


@pytest.fixture(autouse=True)
def private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test keeps its metrics figures in a directory of its own, never in ~/.cache."""
    directory = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("STABILIZE_CACHE_DIR", str(directory))
    return directory


@pytest.fixture(autouse=True)
def _fresh_globals() -> Any:
    """The bus and recorder are process-wide: no test may leak them into the next."""
    yield
    reset_event_recorder()
    reset_event_bus()


from .postgres_support import in_ci, pg_url, ran_postgres_tests  # noqa: E402, F401


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI=true a run in which no PostgreSQL test got a database fails: the
    PostgreSQL path must never pass CI by being skipped."""
    if not in_ci() or session.config.option.collectonly or session.testscollected == 0:
        return
    if ran_postgres_tests[0] == 0 and any("postgres" in item.nodeid for item in session.items):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("error: CI=true but no PostgreSQL test ran", red=True)
