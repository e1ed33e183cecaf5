"""Administering the ``snapshots`` table on PostgreSQL: rows as the SQLite admin gives
them (``state`` as JSON text, ``created_at`` as ISO text), and the prune in one
transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...events.store.postgres import PostgresEventStore
from ...events.store.postgres.side_tables import SELECT_SNAPSHOTS, snapshot_row
from .catalog import rows

PAGE_SIZE = 500
SNAPSHOTS_AFTER = f"{SELECT_SNAPSHOTS} WHERE id > %s ORDER BY id LIMIT %s"
SNAPSHOTS_OF_WORKFLOW_AFTER = (
    f"{SELECT_SNAPSHOTS} WHERE workflow_id = %s AND id > %s ORDER BY id LIMIT %s"
)
SNAPSHOT_BY_ID = f"{SELECT_SNAPSHOTS} WHERE id = %s"
SNAPSHOT_ID = "SELECT id FROM snapshots WHERE entity_type = %s AND entity_id = %s AND version = %s"
WORKFLOW_POSITION = (
    "SELECT COUNT(*), MAX(sequence) FROM events WHERE workflow_id = %s AND sequence <= %s"
)
PRUNABLE = """
SELECT id, entity_type, entity_id, workflow_id, version, sequence FROM (
    SELECT id, entity_type, entity_id, workflow_id, version, sequence,
           ROW_NUMBER() OVER (
               PARTITION BY entity_type, entity_id ORDER BY sequence DESC, id DESC
           ) AS rank
    FROM snapshots
) AS ranked WHERE rank > %s
ORDER BY entity_type COLLATE "C", entity_id COLLATE "C", sequence, id
"""
PRUNED_COLUMNS = ("id", "entity_type", "entity_id", "workflow_id", "version", "sequence")


class PostgresSnapshotAdmin:
    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store

    def iter_snapshot_rows(self, workflow_id: str | None = None) -> Iterator[dict[str, Any]]:
        after = -(2**31)
        while True:
            params: tuple[Any, ...]
            if workflow_id is None:
                sql, params = SNAPSHOTS_AFTER, (after, PAGE_SIZE)
            else:
                sql, params = SNAPSHOTS_OF_WORKFLOW_AFTER, (workflow_id, after, PAGE_SIZE)
            page = rows(self.store, sql, params)
            for row in page:
                yield snapshot_row(row)
            if len(page) < PAGE_SIZE:
                return
            after = page[-1][0]

    def get_snapshot_row(self, snapshot_id: int) -> dict[str, Any] | None:
        if not -(2**31) <= snapshot_id < 2**31:
            return None  # beyond the SERIAL column's range: no such row
        found = rows(self.store, SNAPSHOT_BY_ID, (snapshot_id,))
        return snapshot_row(found[0]) if found else None

    def snapshot_id(self, entity_type: str, entity_id: str, version: int) -> int:
        found = rows(self.store, SNAPSHOT_ID, (entity_type, entity_id, version))
        if not found:
            raise LookupError(f"no snapshot of {entity_type} {entity_id} at version {version}")
        return int(found[0][0])

    def workflow_position(self, workflow_id: str, up_to: int) -> tuple[int, int | None]:
        count, last = rows(self.store, WORKFLOW_POSITION, (workflow_id, up_to))[0]
        return int(count), (None if last is None else int(last))

    def prunable_snapshots(self, keep: int) -> list[dict[str, Any]]:
        return _pruned(rows(self.store, PRUNABLE, (keep,)))

    def prune_snapshots(self, keep: int) -> list[dict[str, Any]]:
        """Choose and delete in one transaction (rows locked as chosen), so a snapshot
        saved meanwhile is either among the newest or not there yet."""
        with self.store.transaction() as conn:
            conn.execute("LOCK TABLE snapshots IN SHARE ROW EXCLUSIVE MODE")
            doomed = _pruned(conn.execute(PRUNABLE, (keep,)).fetchall())
            conn.execute(
                "DELETE FROM snapshots WHERE id = ANY(%s)", ([row["id"] for row in doomed],)
            )
        return doomed


def _pruned(found: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(PRUNED_COLUMNS, row, strict=True)) for row in found]
