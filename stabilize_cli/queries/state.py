"""A workflow's rebuilt state at a point in its history, and what changed between two points."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..events.replay import EventReplayer
from ..events.snapshots import SnapshotStore
from ..events.store import AuditableStore
from ..events.store.interface import UNLIMITED
from ..events.timeutil import ensure_utc
from ..runs.cause import FAILED as FAILED_STATUSES
from ..runs.cause import Cause
from .errors import InvalidInputError
from .runs import run_causes


class Outcome(StrEnum):
    """How a workflow stands, for ``--exit-status``."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RUNNING = "running"


def outcome(state: dict[str, Any]) -> Outcome:
    """Running until a terminal event set end_time; then succeeded only as SUCCEEDED."""
    if state.get("end_time") is None:
        return Outcome.RUNNING
    return Outcome.SUCCEEDED if state.get("status") == "SUCCEEDED" else Outcome.FAILED


def check_sequence(value: int, what: str) -> int:
    """A global sequence number SQLite can hold; SQLite would misread anything else."""
    if value < 0:
        raise InvalidInputError(f"{what} must not be negative (got {value})")
    if value > UNLIMITED:
        raise InvalidInputError(f"{what} must be at most 2^63-1 (got {value})")
    return value


@dataclass(frozen=True)
class StateResult:
    workflow_id: str
    state: dict[str, Any]
    as_of_sequence: int | None = None
    as_of_time: datetime | None = None
    causes: dict[str, Cause] = field(default_factory=dict)
    """Real causes from the engine's tables, by the id of a stage failed in this state."""

    def to_json(self) -> dict[str, Any]:
        """The engine's rebuilt-state dict; a failed stage also gets its real ``cause``."""
        if not self.causes:
            return self.state
        stages = {
            sid: {**stage, "cause": self.causes[sid].to_json()} if sid in self.causes else stage
            for sid, stage in self.state.get("stages", {}).items()
        }
        return {**self.state, "stages": stages}


def _causes(store: AuditableStore, workflow_id: str, state: dict[str, Any]) -> dict[str, Cause]:
    """Causes of the stages that have failed as of this state (none before they fail)."""
    failed = [
        sid
        for sid, stage in (state.get("stages") or {}).items()
        if isinstance(stage, dict) and stage.get("status") in FAILED_STATUSES
    ]
    if not failed:
        return {}
    causes = run_causes(store, workflow_id)
    return {sid: causes.by_stage[sid] for sid in failed if sid in causes.by_stage}


def workflow_state(
    store: AuditableStore,
    workflow_id: str,
    *,
    at: int | None = None,
    at_time: datetime | None = None,
) -> StateResult:
    """The state now, as of a global sequence (``--at``) or as of a time (``--at-time``)."""
    if at is not None and at_time is not None:
        raise InvalidInputError("--at and --at-time cannot be used together")
    replayer = EventReplayer(store, _snapshots_of(store))
    if at_time is not None:
        when = ensure_utc(at_time)
        state = replayer.time_travel_query(workflow_id, when)
        return StateResult(workflow_id, state, None, when, _causes(store, workflow_id, state))
    if at is not None:
        check_sequence(at, "--at")
    state = replayer.rebuild_workflow_state(workflow_id, at)
    return StateResult(workflow_id, state, at, causes=_causes(store, workflow_id, state))


@dataclass(frozen=True)
class StateDiff:
    workflow_id: str
    from_sequence: int
    to_sequence: int
    changes: tuple[dict[str, Any], ...]
    """``{"path": [...], "op": "added" | "removed" | "changed", "before", "after"}``"""
    before: dict[str, Any]
    after: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "workflow_id": self.workflow_id,
            "from_sequence": self.from_sequence,
            "to_sequence": self.to_sequence,
            "changes": list(self.changes),
            "before": self.before,
            "after": self.after,
        }


def diff_states(
    store: AuditableStore, workflow_id: str, from_sequence: int, to_sequence: int
) -> StateDiff:
    check_sequence(from_sequence, "SEQ1")
    check_sequence(to_sequence, "SEQ2")
    if to_sequence < from_sequence:
        raise InvalidInputError(
            f"SEQ2 ({to_sequence}) is before SEQ1 ({from_sequence}): give the earlier one first"
        )
    compared = EventReplayer(store, _snapshots_of(store)).compare_states(
        workflow_id, from_sequence, to_sequence
    )
    return StateDiff(
        workflow_id=workflow_id,
        from_sequence=from_sequence,
        to_sequence=to_sequence,
        changes=tuple(compared["changes"]),
        before=compared["before"],
        after=compared["after"],
    )


def _snapshots_of(store: AuditableStore) -> SnapshotStore | None:
    """The store's snapshots (each verified against its ``state_hash`` before use)."""
    return SnapshotStore(store) if store.has_snapshot_table() else None
