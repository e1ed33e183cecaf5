"""A workflow's timeline: the engine's projection, and the rebuilt state arranged as a tree.

Both come from one read of the workflow's events (the state is rebuilt as of the last
sequence read), so the tree and the engine's entries never disagree about what happened.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..events.base import Event, EventType
from ..events.projections.timeline import (
    FAILURE_EVENTS,
    TimelineEntry,
    WorkflowTimeline,
    WorkflowTimelineProjection,
    whole_ms,
)
from ..events.state import apply_event, apply_retry, empty_state
from ..events.store import AuditableStore, ElidedPayload, Elision
from ..events.timeutil import format_timestamp, parse_timestamp
from ..runs.attempts import Attempt, AttemptSplitter
from ..runs.cause import Cause, leftover_cause, stage_cause, task_cause
from ..runs.model import Pause, RunRow, StageRow, TaskRow
from .run_facts import GAP_THRESHOLD, Gap, RunFacts, RunWatch, run_facts
from .runs import load_run

__all__ = [
    "GAP_THRESHOLD",
    "Gap",
    "RunFacts",
    "StageLine",
    "TaskLine",
    "TimelineEntries",
    "TimelineResult",
]

FAILED_STATUSES = frozenset({"TERMINAL", "FAILED_CONTINUE", "STOPPED", "CANCELED"})
_FAILURES_AND_STARTS = FAILURE_EVENTS | {
    EventType.WORKFLOW_STARTED,
    EventType.STAGE_STARTED,
    EventType.TASK_STARTED,
}
GENERIC_ERRORS = frozenset({"Task failed", "Unknown error"})
"""What the events say when the real text is in the engine's tables."""
_CLOSING = frozenset({"stage.completed", "stage.failed", "stage.canceled", "stage.skipped"})
_RECORDING = frozenset({"stage.completed", "stage.failed", "task.completed", "task.failed"})
_WORKFLOW_ENDS = frozenset({"workflow.completed", "workflow.failed", "workflow.canceled"})
RETRIES = Elision.of(
    {EventType.TASK_RETRIED},
    # what the fold below reads of a task.retried payload: the state's task (its name
    # and stage when the task is new, the retry count)
    {"name", "stage_id", "retry_count"},
)
"""A retry adds one to a count at a time: a million of them need not be decoded (nor
redacted, as nothing of them is shown but their time and ids) when none holds a key the
fold reads."""
RETRY_ENTRIES = Elision.of(
    RETRIES.event_types, RETRIES.read_keys | {"ref_id", "status", "duration_ms"}
)
"""With every entry kept, the projection's entry reads these too."""


def _time(value: object) -> datetime | None:
    """A state time (ISO 8601 text) as a datetime; anything unreadable is unknown."""
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def _ms(start: datetime | None, end: datetime | None) -> int | None:
    return None if start is None or end is None else whole_ms(start, end)


def _one_duration(recorded: Any, start: datetime | None, end: datetime | None) -> Any:
    """The engine's recorded ``duration_ms`` where it wrote one (the same number the
    entries and metrics show), else the time between start and end."""
    number = isinstance(recorded, int | float) and not isinstance(recorded, bool)
    if number and math.isfinite(recorded) and recorded >= 0:
        return recorded
    return _ms(start, end)


def _duration_from(recorded: Any, duration: Any) -> str | None:
    """Which figure ``duration_ms`` is: the engine's record or the timestamps."""
    if duration is None:
        return None
    return "recorded" if duration is recorded else "timestamps"


def _sequence_keys(sequences: tuple[int, int] | None) -> dict[str, int | None]:
    first, last = sequences or (None, None)
    return {"first_sequence": first, "last_sequence": last}


@dataclass(frozen=True)
class TaskLine:
    id: str
    name: Any
    status: Any
    start: datetime | None
    end: datetime | None
    retry_count: int
    error: Any
    sequences: tuple[int, int] | None = None
    """Global sequence numbers of its first and last event (what ``diff`` takes)."""
    cause: Cause | None = None
    """The real cause from the engine's tables (an ``is_enabled`` error), when it failed."""
    attempts: tuple[Attempt, ...] = ()
    """Each run of the task, from the events; more than one after a restart."""
    recorded_ms: Any = None
    """The ``duration_ms`` its closing event recorded (the engine's own figure)."""
    no_end_event: bool = False
    """It started, the workflow ended, and no event ever ended it."""

    @property
    def duration_ms(self) -> Any:
        return _one_duration(self.recorded_ms, self.start, self.end)

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES or self.error is not None

    @property
    def failed_before_restart(self) -> bool:
        return any(a.before_restart and a.status in FAILED_STATUSES for a in self.attempts)

    def to_json(self, origin: datetime | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "start_time": _iso(self.start),
            "end_time": _iso(self.end),
            "offset_ms": _ms(origin, self.start),
            "duration_ms": self.duration_ms,
            "duration_from": _duration_from(self.recorded_ms, self.duration_ms),
            "no_end_event": self.no_end_event,
            "retry_count": self.retry_count,
            "error": self.error,
            **_sequence_keys(self.sequences),
            "cause": None if self.cause is None else self.cause.to_json(),
            "attempts": [a.to_json() for a in self.attempts],
        }


@dataclass(frozen=True)
class StageLine:
    id: str
    ref_id: Any
    name: Any
    type: Any
    status: Any
    start: datetime | None
    end: datetime | None
    """When it ended; for a canceled stage, the time of its ``stage.canceled`` event."""
    error: Any
    skip_reason: Any
    tasks: tuple[TaskLine, ...]
    sequences: tuple[int, int] | None = None
    requires: tuple[str, ...] | None = None
    """The ref_ids it waits for (``requisite_stage_ref_ids``); None without the tables."""
    cause: Cause | None = None
    """The real cause from the engine's tables, when the stage's final outcome failed."""
    attempts: tuple[Attempt, ...] = ()
    """Each run of the stage, from the events; more than one after a restart."""
    earlier_cause: Cause | None = None
    """What a failed earlier attempt left in the stage's context (it later succeeded)."""
    recorded_ms: Any = None
    no_end_event: bool = False

    @property
    def duration_ms(self) -> Any:
        return _one_duration(self.recorded_ms, self.start, self.end)

    @property
    def failed(self) -> bool:
        own = self.status in FAILED_STATUSES or self.error is not None
        return own or any(t.failed for t in self.tasks)

    @property
    def failed_before_restart(self) -> bool:
        own = any(a.before_restart and a.status in FAILED_STATUSES for a in self.attempts)
        return own or any(t.failed_before_restart for t in self.tasks)

    @property
    def restarted(self) -> bool:
        return any(a.before_restart for a in self.attempts)

    def failing_path(self) -> StageLine:
        """This stage with only its failed tasks (failed now, or before a restart)."""
        kept = tuple(t for t in self.tasks if t.failed or t.failed_before_restart)
        return replace(self, tasks=kept)

    def to_json(self, origin: datetime | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "ref_id": self.ref_id,
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "start_time": _iso(self.start),
            "end_time": _iso(self.end),
            "offset_ms": _ms(origin, self.start),
            "duration_ms": self.duration_ms,
            "duration_from": _duration_from(self.recorded_ms, self.duration_ms),
            "no_end_event": self.no_end_event,
            "error": self.error,
            "skip_reason": self.skip_reason,
            **_sequence_keys(self.sequences),
            "requires": None if self.requires is None else list(self.requires),
            "cause": None if self.cause is None else self.cause.to_json(),
            "attempts": [a.to_json() for a in self.attempts],
            "earlier_cause": None if self.earlier_cause is None else self.earlier_cause.to_json(),
            "tasks": [t.to_json(origin) for t in self.tasks],
        }


@dataclass(frozen=True)
class WorkflowEnding:
    """What the workflow's failed/canceled event says beyond its status."""

    error: Any = None
    canceled_by: Any = None
    reason: Any = None


@dataclass(frozen=True)
class TimelineResult:
    workflow_id: str
    state: dict[str, Any]
    timeline: WorkflowTimeline
    entries: tuple[TimelineEntry, ...]
    stages: tuple[StageLine, ...]
    loose_tasks: tuple[TaskLine, ...]
    """Tasks whose stage_id names no stage of the workflow."""
    ending: WorkflowEnding
    sequences: tuple[int, int] | None
    """Global sequence numbers of the workflow's first and last event."""
    last_event_at: datetime | None
    failures_only: bool
    facts: RunFacts = field(default_factory=RunFacts)

    @property
    def start(self) -> datetime | None:
        return _time(self.state.get("start_time"))

    @property
    def end(self) -> datetime | None:
        return _time(self.state.get("end_time"))

    @property
    def span_end(self) -> datetime | None:
        """The end of the Gantt span: the workflow's end, or its latest event while it runs."""
        return self.end or self.last_event_at

    def to_json(self) -> dict[str, Any]:
        return self.json_with(self.timeline, [e.to_dict() for e in self.entries])

    def json_with(self, timeline: WorkflowTimeline, entries: list[Any]) -> dict[str, Any]:
        """The document with the projection's totals and entries given (a streamed
        document writes its entries apart, see :class:`TimelineEntries`)."""
        document = timeline.to_dict()
        document["entries"] = entries
        document.update(
            workflow_status=self.state.get("status"),
            name=self.state.get("name"),
            application=self.state.get("application"),
            workflow_error=self.ending.error,
            canceled_by=self.ending.canceled_by,
            cancel_reason=self.ending.reason,
            stages=[s.to_json(self.start) for s in self.stages],
            loose_tasks=[t.to_json(self.start) for t in self.loose_tasks],
            **_sequence_keys(self.sequences),
            run=self.facts.to_json(),
        )
        return document


def workflow_timeline(
    store: AuditableStore,
    workflow_id: str,
    *,
    failures_only: bool = False,
    keep_entries: bool = True,
    gap_threshold: timedelta = GAP_THRESHOLD,
) -> TimelineResult:
    """One streamed pass over the workflow's events: the state folds, the per-entity
    sequences, attempts, gaps and the ending are taken as each event goes by, and no
    event is kept. The engine's own rows for the run (when the file has them) are read
    first: their pause explains a silence as the events go by.

    ``keep_entries=False`` (the table, which shows stages and tasks, not one line per
    event) keeps only the failure entries (and the starts their durations need): memory
    then stays that of the state, whatever the number of events.
    """
    run = load_run(store, workflow_id)
    projection = WorkflowTimelineProjection(workflow_id)
    state = empty_state(workflow_id)
    seen = _Seen({}, {})
    ending = _Ending()
    attempts = AttemptSplitter()
    watch = RunWatch(gap_threshold, None if run is None else Pause.of(run.paused))
    first: Event | None = None
    last: Event | None = None
    elide = RETRY_ENTRIES if keep_entries else RETRIES
    for event in store.iter_workflow_events(workflow_id, elide=elide):
        if type(event.data) is ElidedPayload and event.event_type is EventType.TASK_RETRIED:
            # a task's retry, read without its payload (RETRIES elides nothing else)
            if keep_entries:
                projection.apply(event)
            apply_retry(state, event)
            seen.add_retry(event)
            attempts.add_retry(event)
            watch.add_retry(event)
            if first is None:
                first = event
            last = event
            continue  # _Ending takes workflow events alone
        if keep_entries or event.event_type in _FAILURES_AND_STARTS:
            projection.apply(event)
        apply_event(state, event)
        seen.add(event)
        ending.add(event)
        attempts.add(event)
        watch.add(event)
        if first is None:
            first = event
        last = event
    keep_all = keep_entries and not failures_only
    entries = projection.get_state().entries if keep_all else projection.get_failures()
    split = attempts.result()
    stages, loose = _arrange(state, seen, split.by_entity, run)
    if failures_only:
        stages, loose = _failing(stages), tuple(t for t in loose if t.failed)
    result = ending.result
    return TimelineResult(
        workflow_id=workflow_id,
        state=state,
        timeline=projection.get_state(),
        entries=tuple(entries),
        stages=stages,
        loose_tasks=loose,
        ending=result,
        sequences=(first.sequence, last.sequence) if first and last else None,
        last_event_at=last.timestamp if last else None,
        failures_only=failures_only,
        facts=run_facts(watch, state, run, (result.canceled_by, result.reason), split.restarts),
    )


class TimelineEntries:
    """Every entry of the engine's projection of a workflow, one at a time, for a JSON
    document written as it goes (a million entries are never held): a second read of
    the workflow's events, up to the last one the result was built from. Once iterated,
    :attr:`timeline` holds the projection's totals (status, start, end, duration)."""

    def __init__(self, store: AuditableStore, result: TimelineResult) -> None:
        self._store = store
        self.workflow_id = result.workflow_id
        self._last = None if result.sequences is None else result.sequences[1]
        self.timeline = WorkflowTimeline(result.workflow_id)

    def __iter__(self) -> Iterator[TimelineEntry]:
        projection = WorkflowTimelineProjection(self.workflow_id, ordered=True)
        entries = projection.get_state().entries
        if self._last is not None:
            events = self._store.iter_workflow_events(
                self.workflow_id, to_sequence=self._last, elide=RETRY_ENTRIES
            )
            for event in events:
                projection.apply(event)
                if entries:
                    yield from entries
                    entries.clear()
        self.timeline = projection.get_state()


def _failing(stages: tuple[StageLine, ...]) -> tuple[StageLine, ...]:
    return tuple(s.failing_path() for s in stages if s.failed or s.failed_before_restart)


@dataclass
class _Seen:
    """Per entity: the sequences of its first and last event, and when a stage last closed."""

    sequences: dict[str, tuple[int, int]]
    closed: dict[str, datetime]
    recorded: dict[str, Any] = field(default_factory=dict)
    """Per entity, the ``duration_ms`` its last closing event recorded."""
    finished: bool = False
    """Whether the workflow ended (completed, failed or canceled)."""

    def add(self, event: Event) -> None:
        entity, sequence, kind = event.entity_id, event.sequence, event.type_name
        known = self.sequences.get(entity)
        self.sequences[entity] = (sequence if known is None else known[0], sequence)
        if kind in _CLOSING:
            self.closed[entity] = event.timestamp
        if kind in _RECORDING and "duration_ms" in event.data:
            self.recorded[entity] = event.data["duration_ms"]
        if kind in _WORKFLOW_ENDS:
            self.finished = True

    def add_retry(self, event: Event) -> None:
        """:meth:`add` for a ``task.retried`` event: it neither closes nor records."""
        entity, sequence = event.entity_id, event.sequence
        known = self.sequences.get(entity)
        self.sequences[entity] = (sequence if known is None else known[0], sequence)


def _arrange(
    state: dict[str, Any],
    seen: _Seen,
    attempts: dict[str, list[Attempt]],
    run: RunRow | None,
) -> tuple[tuple[StageLine, ...], tuple[TaskLine, ...]]:
    """Stages in the order they first appeared, each with its tasks (by the task's stage_id);
    then, from the engine's tables, the stages that never started (no event at all)."""
    rows = {} if run is None else {s.id: s for s in run.stages}
    task_rows = {t.id: t for s in rows.values() for t in s.tasks}
    tasks: dict[str, list[TaskLine]] = {}
    for task in state.get("tasks", {}).values():
        row = task_rows.get(str(task.get("id")))
        line = _task_line(task, seen, row, attempts)
        stage_id = task.get("stage_id")
        if stage_id is None and row is not None:  # failed before it ran: no task.started
            stage_id = row.stage_id
        tasks.setdefault(str(stage_id), []).append(line)
    stages = [
        _stage_line(stage, seen, tuple(tasks.pop(stage_id, ())), rows.get(stage_id), attempts)
        for stage_id, stage in state.get("stages", {}).items()
    ]
    known = set(state.get("stages", {}))
    stages += [_silent_stage(row) for row in rows.values() if row.id not in known]
    loose = tuple(t for group in tasks.values() for t in group)
    return tuple(stages), loose


def _silent_stage(row: StageRow) -> StageLine:
    """A stage the engine's tables list but no event mentions: it never started."""
    return StageLine(
        id=row.id,
        ref_id=row.ref_id,
        name=row.name,
        type=row.type,
        status=row.status,
        start=None,
        end=None,
        error=None,
        skip_reason=None,
        tasks=tuple(_silent_task(t) for t in row.tasks),
        requires=row.requires,
    )


def _silent_task(row: TaskRow) -> TaskLine:
    return TaskLine(
        id=row.id,
        name=row.name,
        status=row.status,
        start=None,
        end=None,
        retry_count=0,
        error=None,
    )


def _task_line(
    task: dict[str, Any], seen: _Seen, row: TaskRow | None, runs: dict[str, list[Attempt]]
) -> TaskLine:
    retries = task.get("retry_count")
    task_id = str(task.get("id"))
    attempts = tuple(runs.get(task_id, ()))
    error = task.get("error")
    if len(attempts) > 1:  # restarted: the state keeps the error of an earlier attempt
        error = attempts[-1].error
    return TaskLine(
        id=task_id,
        name=task.get("name"),
        status=task.get("status"),
        start=_time(task.get("start_time")),
        end=_time(task.get("end_time")),
        retry_count=retries if isinstance(retries, int) else 0,
        error=error,
        sequences=seen.sequences.get(task_id),
        cause=None if row is None else task_cause(row),
        attempts=attempts,
        recorded_ms=seen.recorded.get(task_id),
        no_end_event=_no_end(task, seen),
    )


def _stage_line(
    stage: dict[str, Any],
    seen: _Seen,
    tasks: tuple[TaskLine, ...],
    row: StageRow | None,
    runs: dict[str, list[Attempt]],
) -> StageLine:
    stage_id = str(stage.get("id"))
    end = _time(stage.get("end_time"))
    if end is None and stage.get("status") == "CANCELED":
        end = seen.closed.get(stage_id)
    attempts = tuple(runs.get(stage_id, ()))
    error = stage.get("error")
    if len(attempts) > 1:
        error = attempts[-1].error
    restarted = any(a.before_restart for a in attempts)
    return StageLine(
        id=stage_id,
        ref_id=stage.get("ref_id"),
        name=stage.get("name"),
        type=stage.get("type"),
        status=stage.get("status"),
        start=_time(stage.get("start_time")),
        end=end,
        error=error,
        skip_reason=stage.get("skip_reason"),
        tasks=tasks,
        sequences=seen.sequences.get(stage_id),
        requires=None if row is None else row.requires,
        cause=None if row is None else stage_cause(row),
        attempts=attempts,
        earlier_cause=leftover_cause(row) if row is not None and restarted else None,
        recorded_ms=seen.recorded.get(stage_id),
        no_end_event=_no_end(stage, seen),
    )


def _no_end(entity: dict[str, Any], seen: _Seen) -> bool:
    """Started in a workflow that ended, and never ended itself: not "running"."""
    return seen.finished and entity.get("status") == "RUNNING" and entity.get("end_time") is None


class _Ending:
    """The error or cancel reason of the workflow's terminal event, if it failed or was
    canceled: the last such event, unless a ``workflow.completed`` came after it."""

    def __init__(self) -> None:
        self.result = WorkflowEnding()

    def add(self, event: Event) -> None:
        kind = event.event_type
        if kind is EventType.WORKFLOW_COMPLETED:
            self.result = WorkflowEnding()
        elif kind is EventType.WORKFLOW_FAILED:
            self.result = WorkflowEnding(error=event.data.get("error"))
        elif kind is EventType.WORKFLOW_CANCELED:
            data = event.data
            self.result = WorkflowEnding(
                canceled_by=data.get("canceled_by"), reason=data.get("reason")
            )
