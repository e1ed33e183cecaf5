"""The engine's PostgreSQL dump (fixtures/real-pg.sql) loaded into a fresh database, and
what its workflows are (fixtures/real-pg.workflows.txt). Server handling, skips and the
CI rule are ``postgres_support``'s."""

from __future__ import annotations

from collections.abc import Iterator

from .postgres_support import REAL_PG_SQL, fresh_database, load_sql

LISTED = [
    line.split()
    for line in (REAL_PG_SQL.parent / "real-pg.workflows.txt").read_text().splitlines()
    if line.strip()
]
WORKFLOW_IDS = [workflow_id for workflow_id, _, _ in LISTED]
(FAILED,) = [workflow_id for workflow_id, _, status in LISTED if status == "TERMINAL"]


def real_pg_database() -> Iterator[str]:
    """A module fixture's body: the dump loaded, its connection string yielded."""
    with fresh_database("stabilize_runs") as url:
        load_sql(url, REAL_PG_SQL)
        yield url
