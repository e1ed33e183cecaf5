"""The story commands on PostgreSQL, through the CLI: on the engine's own dump
(fixtures/real-pg.sql) the same causes, edges and grouping as on SQLite; with
real-shapes.db's events copied in, the same restarts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events import EventQuery, PostgresEventStore, SqliteEventStore
from stabilize_cli.events.store import UNLIMITED

from ..conftest import SHAPES_DB, without_engine_tables
from ..postgres_support import fresh_database
from ..real_pg import FAILED, real_pg_database
from .conftest import Invoke


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    yield from real_pg_database()


def pg_rows(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]


def test_the_failed_run_shows_its_traceback_from_stage_executions(
    invoke: Invoke, database: str
) -> None:
    ((context,),) = pg_rows(
        database,
        "SELECT context FROM stage_executions WHERE execution_id = %s AND status = 'TERMINAL'",
        FAILED,
    )
    result = invoke("timeline", FAILED, "--json", db=database)
    assert result.exit_code == 0, result.stderr
    (failed,) = [s for s in json.loads(result.stdout)["stages"] if s["status"] == "TERMINAL"]
    assert failed["cause"]["fields"]["stderr"] == context["stderr"]
    assert failed["cause"]["source"] == "stage_executions.context"


def test_graph_edges_are_the_engines_text_arrays(invoke: Invoke, database: str) -> None:
    ((workflow_id,),) = pg_rows(
        database, "SELECT id FROM pipeline_executions WHERE name = 'analytics' ORDER BY id LIMIT 1"
    )
    expected = {
        (need, ref)
        for ref, needs in pg_rows(
            database,
            "SELECT ref_id, requisite_stage_ref_ids FROM stage_executions WHERE execution_id = %s",
            workflow_id,
        )
        for need in needs
    }
    result = invoke("graph", workflow_id, "--json", db=database)
    assert result.exit_code == 0, result.stderr
    assert {(e["from"], e["to"]) for e in json.loads(result.stdout)["edges"]} == expected


def test_failures_group_by_the_real_cause(invoke: Invoke, database: str) -> None:
    result = invoke("failures", "--json", db=database)
    assert result.exit_code == 0, result.stderr
    signatures = {g["signature"] for g in json.loads(result.stdout)}
    assert "KeyError: 'missing'" in signatures
    assert "Unknown error" not in signatures


@pytest.fixture(scope="module")
def shapes_events(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """real-shapes.db's events (restarts, cancels) in PostgreSQL and in an events-only
    SQLite copy: the same events on both backends."""
    lite = without_engine_tables(SHAPES_DB, tmp_path_factory.mktemp("shapes") / "events.db")
    with fresh_database() as url:
        with SqliteEventStore(str(lite), create_tables=False, read_only=True) as source:
            events = list(source.get_events(EventQuery(limit=UNLIMITED)))
        with PostgresEventStore(url, create_tables=True) as target:
            target.append_batch(events)
        yield lite, url


@pytest.mark.parametrize(
    "args",
    [
        ("workflows", "--json"),
        ("timeline", "latest-failed", "--json"),
        ("verify", "--json"),
    ],
    ids=" ".join,
)
def test_restarts_read_the_same_on_both_backends(
    invoke: Invoke, shapes_events: tuple[Path, str], args: tuple[str, ...]
) -> None:
    lite, url = shapes_events
    on_sqlite, on_pg = invoke(*args, db=lite), invoke(*args, db=url)
    assert on_pg.exit_code == on_sqlite.exit_code == 0, on_pg.stderr
    if args[0] == "verify":  # the same restart findings (the storage checks differ)
        pick = lambda doc: [f for f in doc["findings"] if f["code"] == "restart"]  # noqa: E731
        assert pick(json.loads(on_pg.stdout)) == pick(json.loads(on_sqlite.stdout))
        assert len(pick(json.loads(on_pg.stdout))) == 3
        return
    assert json.loads(on_pg.stdout) == json.loads(on_sqlite.stdout)
