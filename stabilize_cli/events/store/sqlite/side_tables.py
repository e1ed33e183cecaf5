"""The engine's side tables: snapshots and durable-subscription positions.

Kept beside the events in the same file, as the engine keeps them; the store class
mixes these methods in so that both sides read and write the same rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from ...base import EntityType, EventType
from ...errors import SnapshotIntegrityError
from ..hashing import state_hash
from ..interface import UNLIMITED

_T = TypeVar("_T")

__all__ = ["SNAPSHOT_COLUMNS", "SUBSCRIPTION_COLUMNS", "SideTablesMixin", "state_hash"]

SNAPSHOT_COLUMNS = (
    "id",
    "entity_type",
    "entity_id",
    "workflow_id",
    "version",
    "sequence",
    "state",
    "state_hash",
    "created_at",
)
ENGINE_SNAPSHOT_KEYS = (
    "entity_type",
    "entity_id",
    "workflow_id",
    "version",
    "sequence",
    "state",
    "state_hash",
)
"""What the engine's ``get_latest_snapshot`` returns: the row without ``id``/``created_at``."""
HAS_SNAPSHOTS = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'snapshots'"
SELECT_SNAPSHOTS = f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM snapshots"
UPSERT_SNAPSHOT = """
INSERT INTO snapshots (entity_type, entity_id, workflow_id, version, sequence, state, state_hash)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(entity_type, entity_id, version) DO UPDATE SET
    workflow_id = excluded.workflow_id, sequence = excluded.sequence,
    state = excluded.state, state_hash = excluded.state_hash
"""
SUBSCRIPTION_COLUMNS = (
    "id",
    "event_types",
    "entity_filter",
    "last_sequence",
    "webhook_url",
    "created_at",
    "updated_at",
    "last_commit_cursor",
)
SELECT_SUBSCRIPTIONS = f"SELECT {', '.join(SUBSCRIPTION_COLUMNS)} FROM event_subscriptions"
UPSERT_SUBSCRIPTION = """
INSERT INTO event_subscriptions (id, event_types, entity_filter, last_sequence, webhook_url)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET
    event_types = excluded.event_types, entity_filter = excluded.entity_filter,
    last_sequence = excluded.last_sequence, webhook_url = excluded.webhook_url,
    updated_at = datetime('now', 'utc')
"""


class SideTablesMixin:
    """Snapshot and subscription rows; the store provides ``read`` and ``transaction``."""

    snapshot_filter: Callable[[dict[str, Any]], dict[str, Any]] | None
    """Applied to every snapshot row read (the CLI's redaction)."""

    def read(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    # -- snapshots (the engine keeps them beside the events) ----------------------------

    def has_snapshot_table(self) -> bool:
        """Whether the file has a ``snapshots`` table: a read-only audit never creates it,
        and a store written by an engine that predates snapshots simply has none."""
        return self.read(lambda conn: conn.execute(HAS_SNAPSHOTS).fetchone() is not None)

    def save_snapshot(
        self,
        entity_type: EntityType,
        entity_id: str,
        workflow_id: str,
        version: int,
        sequence: int,
        state: dict[str, Any],
    ) -> None:
        params = (
            EntityType(entity_type).value,
            entity_id,
            workflow_id,
            version,
            sequence,
            json.dumps(state, default=str),
            state_hash(state),
        )
        with self.transaction() as conn:
            conn.execute(UPSERT_SNAPSHOT, params)

    def get_snapshots(
        self, entity_type: EntityType, entity_id: str, max_sequence: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """The entity's snapshot rows, newest first, none past ``max_sequence``; the
        snapshot filter (redaction: costly on a large state) runs only on rows taken."""
        sql = (
            f"{SELECT_SNAPSHOTS} WHERE entity_type = ? AND entity_id = ? AND sequence <= ? "
            "ORDER BY sequence DESC, id DESC"
        )
        upper = UNLIMITED if max_sequence is None else max_sequence
        params = (EntityType(entity_type).value, entity_id, upper)
        rows = self.read(lambda conn: conn.execute(sql, params).fetchall())
        filt = self.snapshot_filter
        for raw in rows:
            row = dict(zip(SNAPSHOT_COLUMNS, raw, strict=True))
            yield row if filt is None else filt(row)

    def get_latest_snapshot(self, entity_type: EntityType, entity_id: str) -> dict[str, Any] | None:
        """The engine's shape: the entity's highest-version snapshot as a dict of
        ``ENGINE_SNAPSHOT_KEYS`` with ``state`` decoded, unchecked (``SnapshotStore``
        verifies hashes; the row's ``id`` and ``created_at`` are in :meth:`get_snapshots`).

        A state that is not JSON raises ``SnapshotIntegrityError`` (the engine returns
        ``{}``, which a caller would take for an empty workflow)."""
        sql = (
            f"{SELECT_SNAPSHOTS} WHERE entity_type = ? AND entity_id = ? "
            "ORDER BY version DESC, id DESC LIMIT 1"
        )
        params = (EntityType(entity_type).value, entity_id)
        raw = self.read(lambda conn: conn.execute(sql, params).fetchone())
        if raw is None:
            return None
        row = dict(zip(SNAPSHOT_COLUMNS, raw, strict=True))
        if self.snapshot_filter is not None:
            row = self.snapshot_filter(row)
        shaped = {key: row[key] for key in ENGINE_SNAPSHOT_KEYS}
        try:
            shaped["state"] = json.loads(row["state"])
        except (TypeError, ValueError) as exc:
            raise SnapshotIntegrityError(
                f"snapshot {row['id']} of {shaped['entity_type']} {entity_id}"
                f" (version {shaped['version']}): state is not JSON: {exc}"
            ) from exc
        return shaped

    def list_snapshots(self, workflow_id: str | None = None) -> list[dict[str, Any]]:
        sql: str = SELECT_SNAPSHOTS
        params: tuple[str, ...] = ()
        if workflow_id is not None:
            sql, params = f"{sql} WHERE workflow_id = ?", (workflow_id,)
        rows = self.read(lambda conn: conn.execute(f"{sql} ORDER BY id", params).fetchall())
        return [dict(zip(SNAPSHOT_COLUMNS, r, strict=True)) for r in rows]

    # -- durable subscription positions -------------------------------------------------

    def save_subscription(
        self,
        subscription_id: str,
        event_types: list[EventType] | None,
        entity_filter: dict[str, Any] | None,
        last_sequence: int,
        webhook_url: str | None = None,
    ) -> None:
        types = (
            None if event_types is None else json.dumps([EventType(t).value for t in event_types])
        )
        filt = None if entity_filter is None else json.dumps(entity_filter)
        with self.transaction() as conn:
            conn.execute(
                UPSERT_SUBSCRIPTION, (subscription_id, types, filt, last_sequence, webhook_url)
            )

    def get_subscription(self, subscription_id: str) -> dict[str, Any] | None:
        sql = f"{SELECT_SUBSCRIPTIONS} WHERE id = ?"
        row = self.read(lambda conn: conn.execute(sql, (subscription_id,)).fetchone())
        return _subscription_row(row) if row else None

    def list_subscriptions(self) -> list[dict[str, Any]]:
        sql = f"{SELECT_SUBSCRIPTIONS} ORDER BY id"
        rows = self.read(lambda conn: conn.execute(sql).fetchall())
        return [_subscription_row(r) for r in rows]

    def update_subscription_sequence(self, subscription_id: str, last_sequence: int) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE event_subscriptions SET last_sequence = ?, "
                "updated_at = datetime('now', 'utc') WHERE id = ?",
                (last_sequence, subscription_id),
            )

    def update_subscription_cursor(
        self, subscription_id: str, last_sequence: int, last_commit_cursor: str
    ) -> None:
        """Both delivery positions of a subscription at once, as the engine stores them."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE event_subscriptions SET last_sequence = ?, last_commit_cursor = ?, "
                "updated_at = datetime('now', 'utc') WHERE id = ?",
                (last_sequence, last_commit_cursor, subscription_id),
            )

    def delete_subscription(self, subscription_id: str) -> bool:
        with self.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM event_subscriptions WHERE id = ?", (subscription_id,)
            )
        return cursor.rowcount > 0


def _subscription_row(row: tuple[Any, ...]) -> dict[str, Any]:
    record = dict(zip(SUBSCRIPTION_COLUMNS, row, strict=True))
    for key in ("event_types", "entity_filter"):
        if record[key] is not None:
            record[key] = json.loads(record[key])
    return record
