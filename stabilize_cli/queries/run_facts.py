"""What a run holds beyond its stages: trigger and context, pause, cancel, stages that left
no event, restarts, and silences in its events (the engine writes no pause event)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..events.base import EntityType, Event, EventType
from ..events.projections.timeline import whole_ms
from ..events.timeutil import format_timestamp
from ..runs.attempts import Restart
from ..runs.model import Pause, RunRow, instant

GAP_THRESHOLD = timedelta(seconds=10)
"""A run with no event for longer than this shows the gap (a pause leaves no event)."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


@dataclass(frozen=True)
class Gap:
    """A stretch of a run with no event at all, longer than the threshold."""

    start: datetime
    end: datetime
    after_sequence: int
    before_sequence: int
    explanation: str | None
    """``paused``, ``task running`` (a long task emits nothing until it ends) or None."""

    @property
    def ms(self) -> int:
        return whole_ms(self.start, self.end)

    def to_json(self) -> dict[str, Any]:
        return {
            "start_time": _iso(self.start),
            "end_time": _iso(self.end),
            "duration_ms": self.ms,
            "after_sequence": self.after_sequence,
            "before_sequence": self.before_sequence,
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class RunFacts:
    """The run as a whole beyond its events: trigger, context, pause, cancel, restarts.

    ``tables`` says whether the engine's workflow tables were there to read; without them
    ``stages_without_events`` counts the stages ``workflow.created`` announced that left
    no event (with them, those stages are listed as NOT_STARTED instead).
    """

    tables: bool = False
    trigger: Any = None
    context: Any = None
    pause: Pause | None = None
    canceled_by: Any = None
    cancel_reason: Any = None
    stage_count: int | None = None
    stages_without_events: int | None = None
    restarts: tuple[Restart, ...] = ()
    gaps: tuple[Gap, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "tables": self.tables,
            "trigger": self.trigger,
            "context": self.context,
            "paused": None if self.pause is None else self.pause.to_json(),
            "canceled_by": self.canceled_by,
            "cancel_reason": self.cancel_reason,
            "stage_count": self.stage_count,
            "stages_without_events": self.stages_without_events,
            "restarts": [r.to_json() for r in self.restarts],
            "gaps": [g.to_json() for g in self.gaps],
        }


class RunWatch:
    """What a streamed pass over a run's events notes for its facts: the created event's
    stage count and trigger type, and silences longer than the threshold."""

    def __init__(self, threshold: timedelta, pause: Pause | None) -> None:
        self.threshold = threshold
        self.paused_at = None if pause is None else instant(pause.pause_time)
        self.created: dict[str, Any] | None = None
        self.gaps: list[Gap] = []
        self._previous: Event | None = None
        self._running: set[str] = set()

    def add(self, event: Event) -> None:
        if event.event_type is EventType.WORKFLOW_CREATED and self.created is None:
            self.created = event.data
        before, self._previous = self._previous, event
        if before is not None:
            _track_running(self._running, before)
            if event.timestamp - before.timestamp > self.threshold:
                self.gaps.append(self._gap(before, event))

    def add_retry(self, event: Event) -> None:
        """:meth:`add` for a ``task.retried`` event (not the created one)."""
        before, self._previous = self._previous, event
        if before is not None:
            _track_running(self._running, before)
            if event.timestamp - before.timestamp > self.threshold:
                self.gaps.append(self._gap(before, event))

    def _gap(self, before: Event, after: Event) -> Gap:
        """Explained when it can be: a pause recorded inside it, or a task running across it."""
        paused_at = self.paused_at
        if paused_at is not None and before.timestamp <= paused_at <= after.timestamp:
            why: str | None = "paused"
        else:
            why = "task running" if self._running else None
        return Gap(before.timestamp, after.timestamp, before.sequence, after.sequence, why)


def run_facts(
    watch: RunWatch,
    state: dict[str, Any],
    run: RunRow | None,
    canceled: tuple[Any, Any],
    restarts: list[Restart],
) -> RunFacts:
    created = watch.created or {}
    count = created.get("stage_count")
    count = count if isinstance(count, int) and not isinstance(count, bool) else None
    if run is None:
        kind = created.get("trigger_type")
        trigger = None if kind is None else {"type": kind}
        silent = None if count is None else max(0, count - len(state.get("stages", {})))
        by, reason = canceled
    else:
        trigger, silent = run.trigger, None
        by, reason = run.canceled_by, run.cancellation_reason
    return RunFacts(
        tables=run is not None,
        trigger=trigger,
        context=state.get("context") if run is None else run.context,
        pause=None if run is None else Pause.of(run.paused),
        canceled_by=by,
        cancel_reason=reason,
        stage_count=count,
        stages_without_events=silent,
        restarts=tuple(restarts),
        gaps=tuple(watch.gaps),
    )


def _track_running(running: set[str], event: Event) -> None:
    kind = event.type_name
    if kind == "task.started":
        running.add(event.entity_id)
    elif kind in ("task.completed", "task.failed"):
        running.discard(event.entity_id)
    elif event.entity_type is EntityType.WORKFLOW and kind != "workflow.started":
        running.clear()
