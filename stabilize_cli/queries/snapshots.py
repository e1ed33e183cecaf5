"""Snapshots: list, show, check, create and prune rows of the ``snapshots`` table.

Every row shown is checked against its ``state_hash`` (a row that fails is never used by
replay, so a user must see it). Only :func:`create_snapshot` and :func:`prune` write.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..audit import read_models_for
from ..events.base import EntityType
from ..events.replay import EventReplayer
from ..events.snapshots import SnapshotStore, check_snapshot_row
from ..events.store import UNLIMITED, AuditableStore
from ..events.timeutil import format_timestamp, parse_timestamp
from ..redaction import Redactor
from .errors import InvalidInputError, NotFoundError
from .redacting import redact_state
from .workflows import resolve_workflow


@dataclass(frozen=True)
class SnapshotInfo:
    """A snapshot row without its state, and whether the state matches its hash."""

    id: int
    entity_type: Any
    entity_id: Any
    workflow_id: Any
    version: Any
    sequence: Any
    created_at: Any
    state_hash: Any
    problem: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SnapshotInfo:
        return cls(
            id=row["id"],
            entity_type=row["entity_type"],
            entity_id=row["entity_id"],
            workflow_id=row["workflow_id"],
            version=row["version"],
            sequence=row["sequence"],
            created_at=iso_time(row["created_at"]),
            state_hash=row["state_hash"],
            problem=check_snapshot_row(row),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "workflow_id": self.workflow_id,
            "version": self.version,
            "sequence": self.sequence,
            "created_at": self.created_at,
            "state_hash": self.state_hash,
            "ok": self.problem is None,
            "problem": self.problem,
        }


def iso_time(value: Any) -> Any:
    """SQLite's ``datetime('now')`` text (UTC, no offset) as ISO 8601; other values as stored."""
    if not isinstance(value, str):
        return value
    try:
        return format_timestamp(parse_timestamp(value.replace(" ", "T", 1)))
    except ValueError:
        return value


@dataclass(frozen=True)
class SnapshotList:
    snapshots: tuple[SnapshotInfo, ...]

    def records(self) -> Iterable[dict[str, Any]]:
        return (s.to_json() for s in self.snapshots)


def list_snapshots(store: AuditableStore, workflow: str | None = None) -> SnapshotList:
    workflow_id = None if workflow is None else resolve_workflow(store, workflow)
    return SnapshotList(tuple(SnapshotInfo.from_row(row) for row in _rows(store, workflow_id)))


def _rows(store: AuditableStore, workflow_id: str | None = None) -> Iterable[dict[str, Any]]:
    """A store without a snapshots table (events only) simply has no snapshots."""
    audit = read_models_for(store)
    if not audit.integrity.has_table("snapshots"):
        return ()
    return audit.snapshots.iter_snapshot_rows(workflow_id)


@dataclass(frozen=True)
class SnapshotDetail:
    info: SnapshotInfo
    state: Any
    """The parsed state; None when ``state_raw`` could not be parsed."""
    state_raw: str | None

    def to_json(self) -> dict[str, Any]:
        return {**self.info.to_json(), "state": self.state, "state_raw": self.state_raw}


def show_snapshot(
    store: AuditableStore, snapshot_id_: int, redactor: Redactor | None = None
) -> SnapshotDetail:
    """The row, its hash checked on the state as stored, then the state redacted."""
    if snapshot_id_ < 1:
        raise InvalidInputError(f"a snapshot id is a positive integer (got {snapshot_id_})")
    audit = read_models_for(store)
    present = audit.integrity.has_table("snapshots")
    row = audit.snapshots.get_snapshot_row(snapshot_id_) if present else None
    if row is None:
        raise NotFoundError(f"no snapshot {snapshot_id_} in the store")
    redactor = Redactor() if redactor is None else redactor
    info, raw, workflow_id = SnapshotInfo.from_row(row), row["state"], row["workflow_id"]
    try:
        state = json.loads(raw)
    except (TypeError, ValueError, RecursionError):
        shown = None if raw is None else redact_state(store, redactor, workflow_id, str(raw))
        return SnapshotDetail(info, None, shown)
    return SnapshotDetail(info, redact_state(store, redactor, workflow_id, state), None)


@dataclass(frozen=True)
class SnapshotAudit:
    checked: int
    problems: tuple[SnapshotInfo, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def records(self) -> Iterable[dict[str, Any]]:
        return (p.to_json() for p in self.problems)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "problems": list(self.records())}


def verify_snapshots(store: AuditableStore) -> SnapshotAudit:
    """Check every row's ``state_hash``; keeps only the rows that fail."""
    checked, problems = 0, []
    for row in _rows(store):
        checked += 1
        info = SnapshotInfo.from_row(row)
        if info.problem is not None:
            problems.append(info)
    return SnapshotAudit(checked, tuple(problems))


@dataclass(frozen=True)
class CreatedSnapshot:
    id: int
    workflow_id: str
    version: int
    """How many of the workflow's events the state folds (so two points never collide)."""
    sequence: int
    state_hash: str
    replaced: bool
    """A snapshot at the same point existed: its row now holds the freshly rebuilt state."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entity_type": EntityType.WORKFLOW.value,
            "entity_id": self.workflow_id,
            "workflow_id": self.workflow_id,
            "version": self.version,
            "sequence": self.sequence,
            "state_hash": self.state_hash,
            "replaced": self.replaced,
        }


def create_snapshot(store: AuditableStore, workflow: str, at: int | None = None) -> CreatedSnapshot:
    """Rebuild the workflow as of ``at`` (default: its last event) from every event, save it.

    ``version`` is the number of the workflow's events up to ``at`` and ``sequence`` the
    last of them: the state is the same for every ``at`` between two of its events.
    """
    if at is not None and at < 0:
        raise InvalidInputError(f"--at must not be negative (got {at})")
    workflow_id = resolve_workflow(store, workflow)
    version, sequence = read_models_for(store).snapshots.workflow_position(
        workflow_id, UNLIMITED if at is None else at
    )
    if sequence is None:
        raise InvalidInputError(f"workflow {workflow_id} has no events at or before sequence {at}")
    existing = _existing_id(store, workflow_id, version)
    state = EventReplayer(store).rebuild_workflow_state(workflow_id, as_of_sequence=sequence)
    saved = SnapshotStore(store).create_workflow_snapshot(state, workflow_id, version, sequence)
    new_id = read_models_for(store).snapshots.snapshot_id(
        EntityType.WORKFLOW.value, workflow_id, version
    )
    return CreatedSnapshot(
        new_id, workflow_id, version, sequence, saved.state_hash, existing is not None
    )


def _existing_id(store: AuditableStore, workflow_id: str, version: int) -> int | None:
    try:
        return read_models_for(store).snapshots.snapshot_id(
            EntityType.WORKFLOW.value, workflow_id, version
        )
    except LookupError:
        return None


@dataclass(frozen=True)
class PruneResult:
    keep: int
    dry_run: bool
    deleted: tuple[dict[str, Any], ...]
    """The rows deleted (or, in a dry run, that would be)."""

    def per_entity(self) -> list[tuple[str, str, int]]:
        counts = Counter((str(r["entity_type"]), str(r["entity_id"])) for r in self.deleted)
        return [(kind, entity, n) for (kind, entity), n in counts.items()]

    def records(self) -> Iterable[dict[str, Any]]:
        return iter(self.deleted)

    def to_json(self) -> dict[str, Any]:
        return {"keep": self.keep, "dry_run": self.dry_run, "deleted": list(self.deleted)}


def prune(store: AuditableStore, keep: int, *, dry_run: bool = False) -> PruneResult:
    """Keep the newest ``keep`` snapshots of every entity (by sequence), delete the rest."""
    if keep < 0:
        raise InvalidInputError(f"--keep must not be negative (got {keep})")
    admin = read_models_for(store).snapshots
    rows = admin.prunable_snapshots(keep) if dry_run else admin.prune_snapshots(keep)
    return PruneResult(keep, dry_run, tuple(rows))
