"""Rebuilding workflow state from events: now, as of a sequence, or as of a time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import base
from .base import CURRENT_SCHEMA_VERSION, EntityType, Event, EventType, get_event_migrator
from .state import WorkflowState, apply_event, copy_state, empty_state, resumable
from .store.interface import UNLIMITED, EventQuery, EventStore

if TYPE_CHECKING:  # a replay without snapshots (timeline, history) need not load them
    from .snapshots import Snapshot, SnapshotStore

log = logging.getLogger(__name__)

# The names the engine's ``stabilize.events.replay`` offers, so code importing them from
# this path needs only its package prefix changed.
__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "EntityType",
    "Event",
    "EventReplayer",
    "EventType",
    "ReplayResult",
    "WorkflowState",
    "get_event_migrator",
]

CONTINUE_WITHIN = 10_000
"""``compare_states`` folds the later state on from the earlier one when they are at most
this many sequences apart (a second replay would fold every earlier event again);
further apart, a snapshot near the later one may be the shorter way."""


@dataclass
class ReplayResult:
    """A rebuilt state and how it was reached (from a snapshot or from the first event)."""

    entity_type: EntityType
    entity_id: str
    final_state: dict[str, Any] = field(default_factory=dict)
    events_replayed: int = 0
    from_snapshot: bool = False
    snapshot_sequence: int = 0


class EventReplayer:
    """Reconstructs state by folding events, starting from a sound snapshot when one fits."""

    def __init__(
        self, event_store: EventStore, snapshot_store: SnapshotStore | None = None
    ) -> None:
        self.event_store = event_store
        self.snapshot_store = snapshot_store

    def replay_workflow(self, workflow_id: str, as_of_sequence: int | None = None) -> ReplayResult:
        """Like :meth:`rebuild_workflow_state`, also saying how many events it folded."""
        result = ReplayResult(EntityType.WORKFLOW, workflow_id, empty_state(workflow_id))
        snapshot = None
        if self.snapshot_store is not None:
            snapshot = self.snapshot_store.get_snapshot_at(
                EntityType.WORKFLOW, workflow_id, as_of_sequence
            )
        if snapshot is not None and not _resumes(snapshot):
            snapshot = None
        if snapshot is not None:
            result.final_state = copy_state(snapshot.state)
            result.from_snapshot = True
            result.snapshot_sequence = snapshot.sequence
        events = self._events(workflow_id, result.snapshot_sequence, as_of_sequence)
        result.events_replayed = _fold(result.final_state, events)
        return result

    def rebuild_workflow_state(
        self, workflow_id: str, as_of_sequence: int | None = None
    ) -> dict[str, Any]:
        return self.replay_workflow(workflow_id, as_of_sequence).final_state

    def time_travel_query(self, workflow_id: str, as_of_time: datetime) -> dict[str, Any]:
        """State from every event of the workflow stamped at or before ``as_of_time``."""
        state = empty_state(workflow_id)
        _fold(state, self._events(workflow_id, 0, None, as_of_time))
        return state

    def replay_workflow_from_checkpoint(
        self, workflow_id: str, checkpoint_sequence: int, event_handler: Callable[[Event], None]
    ) -> None:
        """Hand every event after ``checkpoint_sequence`` to ``event_handler``, in order."""
        for event in self._events(workflow_id, checkpoint_sequence, None):
            if event.schema_version != base.CURRENT_SCHEMA_VERSION:
                event = get_event_migrator().migrate(event, strict=False)  # noqa: PLW2901
            event_handler(event)

    def _events(
        self,
        workflow_id: str,
        after: int,
        upto: int | None,
        until_time: datetime | None = None,
    ) -> Iterable[Event]:
        """The workflow's events after ``after`` up to ``upto`` (and ``until_time``).

        A store of this library is asked with one bounded query. Any other store (the
        engine's, or a caller's stand-in) only through ``get_events_for_workflow``, the
        one read the engine's replayer relies on."""
        if isinstance(self.event_store, EventStore):
            query = EventQuery(
                workflow_id=workflow_id,
                from_sequence=after,
                to_sequence=upto,
                to_timestamp=until_time,
                limit=UNLIMITED,
            )
            return self.event_store.get_events(query)
        events: Iterable[Event] = self.event_store.get_events_for_workflow(workflow_id, after)
        if upto is not None:
            events = (e for e in events if e.sequence <= upto)
        if until_time is not None:
            events = (e for e in events if e.timestamp <= until_time)
        return events

    def _apply_event(self, state: WorkflowState, event: Event) -> None:
        """Fold one event into a typed state in place, as the engine's replayer does
        (upcast first; skipped when newer than this build)."""
        folded = state.to_dict()
        apply_event(folded, event)
        for name, value in vars(WorkflowState.from_dict(folded)).items():
            setattr(state, name, value)

    def get_entity_history(self, entity_type: EntityType, entity_id: str) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.event_store.get_events_for_entity(entity_type, entity_id)]

    def compare_states(self, workflow_id: str, sequence1: int, sequence2: int) -> dict[str, Any]:
        """Both states, as the engine returns them, plus the structural ``changes`` between."""
        from .diff import diff_values  # noqa: PLC0415 - only diffs need it

        before = self.rebuild_workflow_state(workflow_id, sequence1)
        if 0 <= sequence2 - sequence1 <= CONTINUE_WITHIN:
            after = copy_state(before)
            _fold(after, self._events(workflow_id, sequence1, sequence2))
        else:
            after = self.rebuild_workflow_state(workflow_id, sequence2)
        return {
            "before": before,
            "after": after,
            "sequence_range": {"from": sequence1, "to": sequence2},
            "changes": [c.to_dict() for c in diff_values(before, after)],
        }


def _resumes(snapshot: Snapshot) -> bool:
    """A sound hash proves the row is as it was written, not that a workflow state was
    written: replay from the first event rather than crash on it."""
    if resumable(snapshot.state):
        return True
    log.warning(
        "ignoring snapshot of workflow %s (sequence %s): not a workflow state to resume from",
        snapshot.entity_id,
        snapshot.sequence,
    )
    return False


def _fold(state: dict[str, Any], events: Iterable[Event]) -> int:
    applied = 0
    for event in events:
        applied += apply_event(state, event)
    return applied
