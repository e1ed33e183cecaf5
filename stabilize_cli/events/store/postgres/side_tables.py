"""Snapshots and durable-subscription positions in the engine's PostgreSQL tables.

Rows come back in the shapes the SQLite store gives (``state`` as JSON text,
times as ISO text, ``event_types`` a list), so snapshot checks and reports are the
same code on both backends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from ...base import EntityType, EventType
from ..hashing import state_hash
from ..interface import UNLIMITED

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
"""What the engine's ``get_latest_snapshot`` returns."""
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

SELECT_SNAPSHOTS = (
    "SELECT id, entity_type, entity_id, workflow_id, version, sequence, state::text, "
    "state_hash, created_at FROM snapshots"
)
UPSERT_SNAPSHOT = """
INSERT INTO snapshots (entity_type, entity_id, workflow_id, version, sequence, state, state_hash)
VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s)
ON CONFLICT (entity_type, entity_id, version) DO UPDATE SET
    sequence = EXCLUDED.sequence, state = EXCLUDED.state,
    state_hash = EXCLUDED.state_hash, created_at = NOW()
"""
SELECT_SUBSCRIPTIONS = f"SELECT {', '.join(SUBSCRIPTION_COLUMNS)} FROM event_subscriptions"
UPSERT_SUBSCRIPTION = """
INSERT INTO event_subscriptions
    (id, event_types, entity_filter, last_sequence, webhook_url, last_commit_cursor, updated_at)
VALUES (%s, %s, %s::jsonb, %s, %s, %s, NOW())
ON CONFLICT (id) DO UPDATE SET
    event_types = EXCLUDED.event_types, entity_filter = EXCLUDED.entity_filter,
    last_sequence = EXCLUDED.last_sequence, webhook_url = EXCLUDED.webhook_url,
    last_commit_cursor = EXCLUDED.last_commit_cursor, updated_at = NOW()
"""


def _text_time(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


class PostgresSideTablesMixin:
    """Snapshot and subscription rows; the store provides the two connection scopes."""

    snapshot_filter: Callable[[dict[str, Any]], dict[str, Any]] | None

    def reading(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    # -- snapshots -----------------------------------------------------------------------

    def has_snapshot_table(self) -> bool:
        """The engine creates all three tables together; a store may still lack one."""
        with self.reading() as conn:
            row = conn.execute("SELECT to_regclass('snapshots') IS NOT NULL").fetchone()
        return bool(row[0])

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
        """The entity's snapshot rows, newest first, none past ``max_sequence``."""
        sql = (
            f"{SELECT_SNAPSHOTS} WHERE entity_type = %s AND entity_id = %s AND sequence <= %s "
            "ORDER BY sequence DESC, id DESC"
        )
        upper = UNLIMITED if max_sequence is None else max_sequence
        with self.reading() as conn:
            rows = conn.execute(sql, (EntityType(entity_type).value, entity_id, upper)).fetchall()
        filt = self.snapshot_filter
        for raw in rows:
            row = snapshot_row(raw)
            yield row if filt is None else filt(row)

    def get_latest_snapshot(self, entity_type: EntityType, entity_id: str) -> dict[str, Any] | None:
        """The engine's shape, as the SQLite store gives it: the highest-version snapshot
        without ``id``/``created_at``, ``state`` decoded, unchecked."""
        sql = (
            f"{SELECT_SNAPSHOTS} WHERE entity_type = %s AND entity_id = %s "
            "ORDER BY version DESC, id DESC LIMIT 1"
        )
        with self.reading() as conn:
            raw = conn.execute(sql, (EntityType(entity_type).value, entity_id)).fetchone()
        if raw is None:
            return None
        row = snapshot_row(raw)
        if self.snapshot_filter is not None:
            row = self.snapshot_filter(row)
        shaped = {key: row[key] for key in ENGINE_SNAPSHOT_KEYS}
        shaped["state"] = json.loads(row["state"])  # JSONB text: always JSON
        return shaped

    def list_snapshots(self, workflow_id: str | None = None) -> list[dict[str, Any]]:
        sql: str = SELECT_SNAPSHOTS
        params: tuple[str, ...] = ()
        if workflow_id is not None:
            sql, params = f"{sql} WHERE workflow_id = %s", (workflow_id,)
        with self.reading() as conn:
            rows = conn.execute(f"{sql} ORDER BY id", params).fetchall()
        return [snapshot_row(r) for r in rows]

    # -- durable subscription positions -------------------------------------------------

    def save_subscription(
        self,
        subscription_id: str,
        event_types: list[EventType] | None,
        entity_filter: dict[str, Any] | None,
        last_sequence: int,
        webhook_url: str | None = None,
        *,
        last_commit_cursor: str = "0",
    ) -> None:
        """Also writes ``last_commit_cursor`` (ours: the engine leaves it at ``'0'``, so
        its ``start_from="latest"`` replays history on the commit-ordered path)."""
        types = None if event_types is None else [EventType(t).value for t in event_types]
        filt = None if entity_filter is None else json.dumps(entity_filter)
        with self.transaction() as conn:
            conn.execute(
                UPSERT_SUBSCRIPTION,
                (subscription_id, types, filt, last_sequence, webhook_url, last_commit_cursor),
            )

    def get_subscription(self, subscription_id: str) -> dict[str, Any] | None:
        with self.reading() as conn:
            row = conn.execute(
                f"{SELECT_SUBSCRIPTIONS} WHERE id = %s", (subscription_id,)
            ).fetchone()
        return _subscription_row(row) if row else None

    def list_subscriptions(self) -> list[dict[str, Any]]:
        with self.reading() as conn:
            rows = conn.execute(f'{SELECT_SUBSCRIPTIONS} ORDER BY id COLLATE "C"').fetchall()
        return [_subscription_row(r) for r in rows]

    def update_subscription_sequence(self, subscription_id: str, last_sequence: int) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE event_subscriptions SET last_sequence = %s, updated_at = NOW() "
                "WHERE id = %s",
                (last_sequence, subscription_id),
            )

    def update_subscription_cursor(
        self, subscription_id: str, last_sequence: int, last_commit_cursor: str
    ) -> None:
        """Both delivery positions at once (the engine's method)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE event_subscriptions SET last_sequence = %s, last_commit_cursor = %s, "
                "updated_at = NOW() WHERE id = %s",
                (last_sequence, last_commit_cursor, subscription_id),
            )

    def delete_subscription(self, subscription_id: str) -> bool:
        with self.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM event_subscriptions WHERE id = %s", (subscription_id,)
            )
        return bool(cursor.rowcount > 0)


def snapshot_row(raw: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(SNAPSHOT_COLUMNS, raw, strict=True))
    row["created_at"] = _text_time(row["created_at"])
    return row


def _subscription_row(raw: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(SUBSCRIPTION_COLUMNS, raw, strict=True))
    row["created_at"] = _text_time(row["created_at"])
    row["updated_at"] = _text_time(row["updated_at"])
    return row
