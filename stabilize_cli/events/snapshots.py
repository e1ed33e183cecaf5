"""Snapshots of rebuilt state, so long workflows need not be replayed from their first event.

A snapshot is only a shortcut: one whose checksum does not match is never used, and
replay from a snapshot must give exactly what a full replay gives.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from .base import EntityType
from .store.hashing import state_hash
from .timeutil import format_timestamp, parse_timestamp, utc_now

log = logging.getLogger(__name__)


class SnapshotBackend(Protocol):
    """The persistence a snapshot store needs from its event store."""

    def save_snapshot(
        self,
        entity_type: EntityType,
        entity_id: str,
        workflow_id: str,
        version: int,
        sequence: int,
        state: dict[str, Any],
    ) -> None: ...

    def get_snapshots(
        self, entity_type: EntityType, entity_id: str, max_sequence: int | None = None
    ) -> Iterable[dict[str, Any]]:
        """Newest first; the first sound one is used, so the rest may be left unread."""


@dataclass
class Snapshot:
    """Entity state as of ``sequence`` (the last event it includes)."""

    entity_type: EntityType
    entity_id: str
    workflow_id: str
    version: int
    sequence: int
    state: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utc_now)

    @property
    def state_hash(self) -> str:
        return state_hash(self.state)

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity_type": self.entity_type.value,
            "entity_id": self.entity_id,
            "workflow_id": self.workflow_id,
            "version": self.version,
            "sequence": self.sequence,
            "state": self.state,
            "state_hash": self.state_hash,
            "created_at": format_timestamp(self.created_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        """As the engine: a ``state_hash`` given must be the state's, else ``ValueError``."""
        expected = data.get("state_hash")
        if expected is not None:
            actual = state_hash(data.get("state") or {})
            if expected != actual:
                raise ValueError(
                    "Snapshot state integrity check failed:"
                    f" expected {str(expected)[:16]}..., got {actual[:16]}..."
                )
        created = data.get("created_at")
        return cls(
            entity_type=EntityType(data["entity_type"]),
            entity_id=data["entity_id"],
            workflow_id=data["workflow_id"],
            version=int(data["version"]),
            sequence=int(data["sequence"]),
            state=dict(data.get("state") or {}),
            created_at=_created_at(created) if isinstance(created, str) else utc_now(),
        )


def _created_at(text: str) -> datetime:
    """SQLite's ``datetime('now')`` has a space and no offset; both forms are UTC."""
    return parse_timestamp(text.replace(" ", "T", 1))


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise _DuplicateKeyError("duplicate keys in state JSON")
    return dict(pairs)


def check_snapshot_row(row: dict[str, Any]) -> str | None:
    """Why a stored snapshot row cannot be trusted, or None when it is sound."""
    raw = row.get("state")
    try:
        state = json.loads(raw, object_pairs_hook=_no_duplicates) if isinstance(raw, str) else None
    except _DuplicateKeyError:
        return "state has duplicate keys"
    except ValueError:
        return "state is not valid JSON"
    if not isinstance(state, dict):
        return "state is not a JSON object"
    expected = row.get("state_hash")
    if expected is None:
        return "state_hash is missing"
    if state_hash(state) != expected:
        return "state_hash does not match the state"
    return None


def snapshot_from_row(row: dict[str, Any]) -> Snapshot:
    return Snapshot.from_dict({**row, "state": json.loads(row["state"])})


class SnapshotPolicy:
    """Snapshot after ``event_interval`` events, or ``time_interval_seconds`` after the last."""

    def __init__(self, event_interval: int = 100, time_interval_seconds: int = 3600) -> None:
        if event_interval < 1:
            raise ValueError("event_interval must be at least 1")
        self.event_interval = event_interval
        self.time_interval_seconds = time_interval_seconds
        self._events: dict[str, int] = {}
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def record_event(self, entity_id: str) -> None:
        with self._lock:
            self._events[entity_id] = self._events.get(entity_id, 0) + 1

    def record_snapshot(self, entity_id: str) -> None:
        with self._lock:
            self._events[entity_id] = 0
            self._last[entity_id] = time.monotonic()

    def should_snapshot(self, entity_id: str, events_since: int) -> bool:
        if events_since >= self.event_interval:
            return True
        with self._lock:
            last = self._last.get(entity_id)
        return (
            events_since > 0
            and last is not None
            and time.monotonic() - last >= self.time_interval_seconds
        )


class SnapshotStore:
    """Saves and finds snapshots in the event store's ``snapshots`` table."""

    def __init__(self, event_store: SnapshotBackend, policy: SnapshotPolicy | None = None) -> None:
        self.event_store = event_store
        self.policy = policy or SnapshotPolicy()

    def save_snapshot(self, snapshot: Snapshot) -> None:
        self.event_store.save_snapshot(
            snapshot.entity_type,
            snapshot.entity_id,
            snapshot.workflow_id,
            snapshot.version,
            snapshot.sequence,
            snapshot.state,
        )
        self.policy.record_snapshot(snapshot.entity_id)

    def get_latest_snapshot(self, entity_type: EntityType, entity_id: str) -> Snapshot | None:
        return self.get_snapshot_at(entity_type, entity_id, None)

    def get_snapshot_at(
        self, entity_type: EntityType, entity_id: str, max_sequence: int | None
    ) -> Snapshot | None:
        """The newest sound snapshot including no event after ``max_sequence``."""
        for row in self.event_store.get_snapshots(entity_type, entity_id, max_sequence):
            problem = check_snapshot_row(row)
            if problem is None:
                try:
                    return snapshot_from_row(row)
                except (TypeError, ValueError, OverflowError) as exc:  # e.g. version = inf
                    problem = f"unreadable row: {exc}"
            log.warning(
                "ignoring snapshot %s of %s %s (sequence %s): %s",
                row.get("id"),
                entity_type.value,
                entity_id,
                row.get("sequence"),
                problem,
            )
        return None

    def create_workflow_snapshot(
        self, workflow_state: dict[str, Any], workflow_id: str, version: int, sequence: int
    ) -> Snapshot:
        snapshot = Snapshot(
            entity_type=EntityType.WORKFLOW,
            entity_id=workflow_id,
            workflow_id=workflow_id,
            version=version,
            sequence=sequence,
            state=workflow_state,
        )
        self.save_snapshot(snapshot)
        return snapshot

    def record_event(self, entity_id: str) -> None:
        self.policy.record_event(entity_id)

    def should_snapshot(self, entity_id: str, events_since_snapshot: int) -> bool:
        return self.policy.should_snapshot(entity_id, events_since_snapshot)
