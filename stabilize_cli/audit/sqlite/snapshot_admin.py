"""SQL for administering the ``snapshots`` table: find, stream, place and prune rows.

The engine's API saves and loads snapshots per entity; the CLI also needs whole-table
questions (every row, one row by id, which rows a ``--keep N`` prune would drop).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...events.store.sqlite.side_tables import SELECT_SNAPSHOTS, SNAPSHOT_COLUMNS
from ...events.store.sqlite.store import SqliteEventStore

PAGE_SIZE = 500

SNAPSHOTS_AFTER = f"{SELECT_SNAPSHOTS} WHERE id > ? ORDER BY id LIMIT ?"
SNAPSHOTS_OF_WORKFLOW_AFTER = (
    f"{SELECT_SNAPSHOTS} WHERE workflow_id = ? AND id > ? ORDER BY id LIMIT ?"
)
SNAPSHOT_BY_ID = f"{SELECT_SNAPSHOTS} WHERE id = ?"
SNAPSHOT_ID = "SELECT id FROM snapshots WHERE entity_type = ? AND entity_id = ? AND version = ?"
WORKFLOW_POSITION = """
SELECT COUNT(*), MAX(sequence) FROM events WHERE workflow_id = ? AND sequence <= ?
"""
# Newest first within each entity: by the sequence the state reflects, then by id.
PRUNABLE = """
SELECT id, entity_type, entity_id, workflow_id, version, sequence FROM (
    SELECT id, entity_type, entity_id, workflow_id, version, sequence,
           ROW_NUMBER() OVER (
               PARTITION BY entity_type, entity_id ORDER BY sequence DESC, id DESC
           ) AS rank
    FROM snapshots
) WHERE rank > ? ORDER BY entity_type, entity_id, sequence, id
"""
DELETE_SNAPSHOT = "DELETE FROM snapshots WHERE id = ?"
PRUNED_COLUMNS = ("id", "entity_type", "entity_id", "workflow_id", "version", "sequence")


def iter_snapshot_rows(
    store: SqliteEventStore, workflow_id: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every snapshot row (state included) in id order, one page in memory at a time."""
    after = -(2**63)
    while True:
        params: tuple[Any, ...]
        if workflow_id is None:
            sql, params = SNAPSHOTS_AFTER, (after, PAGE_SIZE)
        else:
            sql, params = SNAPSHOTS_OF_WORKFLOW_AFTER, (workflow_id, after, PAGE_SIZE)
        rows = store.fetch_all(sql, params)
        for row in rows:
            yield dict(zip(SNAPSHOT_COLUMNS, row, strict=True))
        if len(rows) < PAGE_SIZE:
            return
        after = rows[-1][0]


def get_snapshot_row(store: SqliteEventStore, snapshot_id: int) -> dict[str, Any] | None:
    row = store.read(lambda conn: conn.execute(SNAPSHOT_BY_ID, (snapshot_id,)).fetchone())
    return None if row is None else dict(zip(SNAPSHOT_COLUMNS, row, strict=True))


def snapshot_id(store: SqliteEventStore, entity_type: str, entity_id: str, version: int) -> int:
    """The id of the row (entity, version): the table's unique key."""
    params = (entity_type, entity_id, version)
    row = store.read(lambda conn: conn.execute(SNAPSHOT_ID, params).fetchone())
    if row is None:
        raise LookupError(f"no snapshot of {entity_type} {entity_id} at version {version}")
    return int(row[0])


def workflow_position(
    store: SqliteEventStore, workflow_id: str, up_to: int
) -> tuple[int, int | None]:
    """(number of the workflow's events with sequence <= up_to, the last such sequence)."""
    params = (workflow_id, up_to)
    count, last = store.read(lambda conn: conn.execute(WORKFLOW_POSITION, params).fetchone())
    return int(count), (None if last is None else int(last))


def prunable_snapshots(store: SqliteEventStore, keep: int) -> list[dict[str, Any]]:
    """The rows a prune keeping the newest ``keep`` per entity would delete."""
    return _prunable(store.read(lambda conn: conn.execute(PRUNABLE, (keep,)).fetchall()))


def prune_snapshots(store: SqliteEventStore, keep: int) -> list[dict[str, Any]]:
    """Delete all but the newest ``keep`` snapshots of every entity; returns what went.

    Choosing and deleting happen in one write transaction, so a snapshot saved
    concurrently is either counted among the newest or not there yet.
    """
    with store.transaction() as conn:
        doomed = _prunable(conn.execute(PRUNABLE, (keep,)).fetchall())
        conn.executemany(DELETE_SNAPSHOT, [(row["id"],) for row in doomed])
    return doomed


def _prunable(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(PRUNED_COLUMNS, row, strict=True)) for row in rows]
