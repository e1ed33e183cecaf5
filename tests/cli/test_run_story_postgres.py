"""The story commands on the engine's PostgreSQL database (fixtures/real-pg.sql), through
the CLI: the same causes, edges and grouping as on SQLite. Runs once the PostgreSQL
backend is in the package (branch pg-lib); its read models must pass
``runs=PostgresRunTables(store)`` (audit/postgres/run_tables.py) for these to pass."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ..real_pg import FAILED, real_pg_database
from .conftest import Invoke

pytest.importorskip(
    "stabilize_cli.events.store.postgres",
    reason="the PostgreSQL backend (branch pg-lib) is not in this tree yet",
)


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
