"""A workflow's story in order: what started, what ended, how long it took, what failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..base import EntityType, Event, EventType
from ..timeutil import format_timestamp
from .base import Projection

# EntityType too, as the engine's module of this name offers it.
__all__ = [
    "EntityType",
    "Event",
    "EventType",
    "Projection",
    "TimelineEntry",
    "WorkflowTimeline",
    "WorkflowTimelineProjection",
]

_NOT_ON_TIMELINE = frozenset(
    {EventType.STATUS_CHANGED, EventType.CONTEXT_UPDATED, EventType.OUTPUTS_UPDATED}
)
_STARTS = frozenset({EventType.WORKFLOW_STARTED, EventType.STAGE_STARTED, EventType.TASK_STARTED})
_ENDS_WITH_DURATION = frozenset(
    {
        EventType.WORKFLOW_COMPLETED,
        EventType.WORKFLOW_FAILED,
        EventType.STAGE_COMPLETED,
        EventType.STAGE_FAILED,
        EventType.TASK_COMPLETED,
        EventType.TASK_FAILED,
    }
)
_WORKFLOW_ENDS = frozenset(
    {EventType.WORKFLOW_COMPLETED, EventType.WORKFLOW_FAILED, EventType.WORKFLOW_CANCELED}
)
FAILURE_EVENTS = frozenset(
    {
        EventType.STAGE_FAILED,
        EventType.TASK_FAILED,
        EventType.WORKFLOW_FAILED,
        EventType.WORKFLOW_CANCELED,
    }
)
_DETAIL_KEYS: dict[EventType, tuple[str, ...]] = {
    EventType.WORKFLOW_CREATED: ("application", "type", "stage_count"),
    EventType.STAGE_STARTED: ("type", "is_synthetic", "task_count"),
    EventType.STAGE_FAILED: ("error",),
    EventType.TASK_FAILED: ("error",),
    EventType.STAGE_SKIPPED: ("reason",),
}


def whole_ms(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() * 1000)


@dataclass
class TimelineEntry:
    """One event as a line of the timeline."""

    timestamp: datetime
    event_type: str
    entity_type: str
    entity_id: str
    entity_name: str | None = None
    status: str | None = None
    duration_ms: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "timestamp": format_timestamp(self.timestamp),
            "event_type": self.event_type,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "entity_name": self.entity_name,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "details": self.details,
        }


@dataclass
class WorkflowTimeline:
    """The whole timeline of one workflow execution."""

    workflow_id: str
    entries: list[TimelineEntry] = field(default_factory=list)
    total_duration_ms: int | None = None
    status: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow_id": self.workflow_id,
            "entries": [e.to_dict() for e in self.entries],
            "total_duration_ms": self.total_duration_ms,
            "status": self.status,
            "start_time": None if self.start_time is None else format_timestamp(self.start_time),
            "end_time": None if self.end_time is None else format_timestamp(self.end_time),
        }


class WorkflowTimelineProjection(Projection):
    """Builds one workflow's timeline; events of other workflows are ignored."""

    def __init__(self, workflow_id: str, *, ordered: bool = False) -> None:
        """``ordered`` (ours): the events come as a store streams them, in increasing
        sequence order, so a repeated one is told by its sequence alone and no set of
        every sequence seen is kept (a million of them hold 60 MB)."""
        self.workflow_id = workflow_id
        self._timeline = WorkflowTimeline(workflow_id)
        self._started: dict[str, datetime] = {}
        self._seen: set[int | str] = set()
        self._ordered = ordered
        self._last = 0

    @property
    def name(self) -> str:
        return f"workflow_timeline:{self.workflow_id}"

    def handles_event_type(self, event: Event) -> bool:
        return event.event_type not in _NOT_ON_TIMELINE

    def reset(self) -> None:
        self._timeline = WorkflowTimeline(self.workflow_id)
        self._started.clear()
        self._seen.clear()
        self._last = 0

    def apply(self, event: Event) -> None:
        if event.workflow_id != self.workflow_id or not self.handles_event_type(event):
            return
        if self._ordered and event.sequence:
            if event.sequence <= self._last:
                return
            self._last = event.sequence
        else:
            key: int | str = event.sequence or event.event_id
            if key in self._seen:
                return
            self._seen.add(key)
        kind = event.event_type
        if kind in _STARTS:
            self._started[event.entity_id] = event.timestamp
        if kind is EventType.WORKFLOW_STARTED:
            self._timeline.start_time = event.timestamp
        self._timeline.entries.append(self._entry(event))
        if kind in _WORKFLOW_ENDS:
            self._finish(event)

    def _entry(self, event: Event) -> TimelineEntry:
        data = event.data
        name = data.get("name") or data.get("ref_id")
        status = data.get("status")
        return TimelineEntry(
            timestamp=event.timestamp,
            event_type=event.type_name,
            entity_type=event.entity_type.value,
            entity_id=event.entity_id,
            entity_name=None if name is None else str(name),
            status=None if status is None else str(status),
            duration_ms=self._duration(event),
            details={k: data.get(k) for k in _DETAIL_KEYS.get(event.event_type, ())},
        )

    def _duration(self, event: Event) -> int | None:
        value = event.data.get("duration_ms")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        started = self._started.get(event.entity_id)
        if event.event_type in _ENDS_WITH_DURATION and started is not None:
            return whole_ms(started, event.timestamp)
        return None

    def _finish(self, event: Event) -> None:
        timeline = self._timeline
        timeline.end_time = event.timestamp
        status = event.data.get("status")
        timeline.status = None if status is None else str(status)
        if timeline.start_time is not None:
            timeline.total_duration_ms = whole_ms(timeline.start_time, event.timestamp)

    def get_state(self) -> WorkflowTimeline:
        return self._timeline

    def get_stages(self) -> list[TimelineEntry]:
        return [e for e in self._timeline.entries if e.entity_type == "stage"]

    def get_tasks(self) -> list[TimelineEntry]:
        return [e for e in self._timeline.entries if e.entity_type == "task"]

    def get_failures(self) -> list[TimelineEntry]:
        failures = {t.value for t in FAILURE_EVENTS}
        return [e for e in self._timeline.entries if e.event_type in failures]
