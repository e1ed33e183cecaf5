"""The PostgreSQL dialect of the RunTables read model on the engine's own PostgreSQL dump
(fixtures/real-pg.sql): the same rows as psycopg reads them directly, decoded the way the
SQLite dialect decodes its text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from stabilize_cli.audit.postgres.run_tables import PostgresRunTables
from stabilize_cli.runs.cause import stage_cause

from ..real_pg import FAILED, WORKFLOW_IDS, real_pg_database


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    yield from real_pg_database()


class Session:
    """A store's ``reading()`` over one psycopg connection: all the read model asks."""

    def __init__(self, url: str) -> None:
        import psycopg  # noqa: PLC0415

        self.conn = psycopg.connect(url, autocommit=True)

    @contextmanager
    def reading(self) -> Iterator[Any]:
        yield self.conn


@pytest.fixture
def tables(database: str) -> Iterator[PostgresRunTables]:
    session = Session(database)
    try:
        yield PostgresRunTables(session)
    finally:
        session.conn.close()


def direct(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]


def test_every_run_reads_with_its_stages_edges_and_tasks(
    tables: PostgresRunTables, database: str
) -> None:
    assert tables.present()
    for workflow_id in WORKFLOW_IDS:
        run = tables.run(workflow_id)
        assert run is not None
        expected = direct(
            database,
            "SELECT id, ref_id, status, requisite_stage_ref_ids FROM stage_executions "
            "WHERE execution_id = %s ORDER BY id",
            workflow_id,
        )
        assert [(s.id, s.ref_id, s.status, list(s.requires)) for s in run.stages] == [
            (i, r, st, list(req)) for i, r, st, req in expected
        ]
        ((status, canceled),) = direct(
            database,
            "SELECT status, is_canceled FROM pipeline_executions WHERE id = %s",
            workflow_id,
        )
        assert (run.status, run.is_canceled) == (status, canceled)
        tasks = direct(
            database,
            "SELECT count(*) FROM task_executions t JOIN stage_executions s ON s.id = t.stage_id "
            "WHERE s.execution_id = %s",
            workflow_id,
        )
        assert sum(len(s.tasks) for s in run.stages) == tasks[0][0]


def test_the_failed_run_has_its_real_cause(tables: PostgresRunTables, database: str) -> None:
    found = [(wf, stage) for wf, stage in tables.failed_stages() if wf == FAILED]
    assert len(found) == 1
    ((context,),) = direct(
        database,
        "SELECT context FROM stage_executions WHERE execution_id = %s AND status = 'TERMINAL'",
        FAILED,
    )
    cause = stage_cause(found[0][1])
    assert cause is not None
    assert cause.fields.get("stderr") == context["stderr"]
    assert cause.exit_code == context["exit_code"]


def test_a_run_that_is_not_there_is_none(tables: PostgresRunTables) -> None:
    assert tables.run("no-such-run") is None


def test_a_database_without_the_engines_tables_has_no_runs(database: str) -> None:
    session = Session(database)
    try:
        session.conn.execute("CREATE SCHEMA IF NOT EXISTS only_events")
        session.conn.execute("SET search_path TO only_events")
        empty = PostgresRunTables(session)
        assert not empty.present()
        assert empty.run(FAILED) is None
        assert empty.failed_stages() == []
    finally:
        session.conn.close()
